/* metrics.c - the run's Prometheus textfile (metrics.h). */
#include "metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

/* "YYYY-MM-DD HH:MM:SS[.mmm]" (UTC) as seconds since 1970; 0 when empty. */
static double utc_seconds(const char *t)
{
    struct tm tm = {0};
    int ms = 0;
    if (!t || sscanf(t, "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                     &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm) + ms / 1000.0;
}

/* A label value: Prometheus escapes backslash, quote and newline. */
static int add_label(struct buf *b, const char *v)
{
    int rc = 0;
    for (; !rc && *v; v++)
        rc = *v == '\\' || *v == '"' ? buf_addf(b, "\\%c", *v)
             : *v == '\n'            ? buf_adds(b, "\\n")
                                     : buf_addc(b, *v);
    return rc;
}

static int stream_metric(struct buf *b, const char *name, const char *help, const char *stream,
                         double v)
{
    int rc = help ? buf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name) : 0;
    if (!rc)
        rc = buf_addf(b, "%s{stream=\"", name);
    if (!rc)
        rc = add_label(b, stream);
    return rc ? rc : buf_addf(b, "\"} %.17g\n", v);
}

int metrics_write(const char *path, const struct run_info *run, const struct monitor_stream *last,
                  size_t nlast)
{
    static const struct {
        const char *name, *help;
        enum run_count c;
    } counts[] = {
        {"maskload_stream_records_fetched", "records read from the source in the last run",
         RUN_fetched},
        {"maskload_stream_records_loaded", "records written (or unchanged) in the last run",
         RUN_loaded},
        {"maskload_stream_records_rejected", "records sent to load_rejects in the last run",
         RUN_rejected},
        {"maskload_stream_records_duplicates", "records superseded in their batch in the last run",
         RUN_duplicates},
        {"maskload_stream_records_erased", "records of erased subjects skipped in the last run",
         RUN_erased},
    };
    struct buf b = BUF_INIT, tmp = BUF_INIT;
    int rc =
        buf_addf(&b,
                 "# HELP maskload_run_success 1 when the last run succeeded, else 0\n"
                 "# TYPE maskload_run_success gauge\nmaskload_run_success %d\n"
                 "# HELP maskload_run_id the last run's id (load_runs.run_id)\n"
                 "# TYPE maskload_run_id gauge\nmaskload_run_id %llu\n"
                 "# HELP maskload_run_finished_timestamp_seconds when the last run ended\n"
                 "# TYPE maskload_run_finished_timestamp_seconds gauge\n"
                 "maskload_run_finished_timestamp_seconds %.3f\n",
                 strcmp(run->status, "succeeded") == 0, run->run_id, utc_seconds(run->finished_at));
    for (size_t m = 0; !rc && m < sizeof(counts) / sizeof(counts[0]); m++)
        for (size_t i = 0; !rc && i < run->ncounts; i++)
            rc = stream_metric(&b, counts[m].name, i ? NULL : counts[m].help, run->counts[i].stream,
                               (double)run->counts[i].n[counts[m].c]);
    for (size_t i = 0, first = 1; !rc && i < run->ncounts; i++) {
        if (run->counts[i].seconds < 0)
            continue;
        rc = stream_metric(&b, "maskload_stream_duration_seconds",
                           first ? "seconds the stream took in the last run" : NULL,
                           run->counts[i].stream, run->counts[i].seconds);
        first = 0;
    }
    for (size_t i = 0; !rc && i < nlast; i++)
        rc = stream_metric(&b, "maskload_stream_last_success_timestamp_seconds",
                           i ? NULL : "when the last successful run that loaded the stream ended",
                           last[i].stream, (double)last[i].last_success_s);
    if (!rc)
        rc = buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if (!rc) {
        FILE *f = fopen(tmp.data, "w");
        if (!f) {
            rc = err_set(ML_EIO, "metrics file '%s': %s", tmp.data, strerror(errno));
        } else {
            bool written = fwrite(b.data, 1, b.len, f) == b.len;
            if (fclose(f) != 0 || !written)
                rc =
                    err_set(ML_EIO, "writing the metrics file '%s': %s", tmp.data, strerror(errno));
        }
        if (!rc && rename(tmp.data, path) != 0)
            rc = err_set(ML_EIO, "metrics file '%s': %s", path, strerror(errno));
        if (rc)
            unlink(tmp.data);
    }
    buf_release(&b);
    buf_release(&tmp);
    return rc;
}
