#include "runs.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "lease.h"
#include "log.h"
#include "version.h"
#include "wh.h"
#include "banned.h"

static void copy(char *dst, size_t sz, const char *src)
{
    snprintf(dst, sz, "%s", src ? src : "");
}

const char *const run_count_columns[RUN_NCOUNTS] = {
#define RUN_COUNT_COLUMN(col, what) #col,
    RUN_COUNTS(RUN_COUNT_COLUMN)
#undef RUN_COUNT_COLUMN
};
const char *const run_count_labels[RUN_NCOUNTS] = {
#define RUN_COUNT_LABEL(col, what) what,
    RUN_COUNTS(RUN_COUNT_LABEL)
#undef RUN_COUNT_LABEL
};

/* The query of the per-stream counts of runs[0..n): run_id, stream, the
 * run_count_columns and `duration` (an SQL expression). */
static int runs_counts_sql(struct buf *sql, const char *duration, const struct run_info *runs,
                           size_t n)
{
    int rc = buf_adds(sql, "SELECT run_id, stream");
    for (size_t c = 0; !rc && c < RUN_NCOUNTS; c++)
        rc = buf_addf(sql, ", %s", run_count_columns[c]);
    if (!rc)
        rc = buf_addf(sql, ", %s FROM load_run_streams WHERE run_id IN (", duration);
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_addf(sql, "%s%llu", i ? "," : "", runs[i].run_id);
    return rc ? rc : buf_adds(sql, ") ORDER BY run_id, stream");
}

/* Adds one row of that query to its run among runs[0..n) (a row of no such
 * run is skipped), its duration in units of 1/per_second seconds. */
static int runs_add_counts(struct run_info *runs, size_t n, const char *const *row,
                           double per_second)
{
    unsigned long long id = strtoull(row[0], NULL, 10);
    struct run_info *ri = NULL;
    struct run_stream_counts *v;
    for (size_t i = 0; i < n && !ri; i++)
        if (runs[i].run_id == id)
            ri = &runs[i];
    if (!ri)
        return 0;
    v = realloc(ri->counts, (ri->ncounts + 1) * sizeof(*v));
    if (!v)
        return err_set(ML_ENOMEM, "out of memory");
    ri->counts = v;
    v = &ri->counts[ri->ncounts++];
    copy(v->stream, sizeof(v->stream), row[1]);
    for (size_t c = 0; c < RUN_NCOUNTS; c++)
        v->n[c] = row[2 + c] ? strtoull(row[2 + c], NULL, 10) : 0;
    v->seconds = row[2 + RUN_NCOUNTS] ? strtod(row[2 + RUN_NCOUNTS], NULL) / per_second : -1;
    return 0;
}

/* Fills ri from a row of run_id, started_at, finished_at, status, streams,
 * error_text, stale, heartbeat_at (NULL values empty). */
static void runs_decode(struct run_info *ri, const char *const *row)
{
    ri->run_id = strtoull(row[0], NULL, 10);
    copy(ri->started_at, sizeof(ri->started_at), row[1]);
    copy(ri->finished_at, sizeof(ri->finished_at), row[2]);
    copy(ri->status, sizeof(ri->status), row[3]);
    copy(ri->streams, sizeof(ri->streams), row[4]);
    copy(ri->error, sizeof(ri->error), row[5]);
    ri->stale = row[6] ? atoi(row[6]) : 0;
    copy(ri->heartbeat_at, sizeof(ri->heartbeat_at), row[7]);
}

/* Times as MySQL's DATETIME(3) reads: "YYYY-MM-DD hh:mm:ss.fff". */
#define PG_TIME(col) "to_char(" col ", 'YYYY-MM-DD HH24:MI:SS.MS')"

/* What each warehouse is asked: the columns runs_decode reads, in its
 * order, with the staleness of the lease (lease.h); a stream's duration, in
 * units of 1/per_second seconds. */
static const struct runs_sql {
    const char *select, *duration;
    double per_second;
} runs_sql_mysql =
    {
        "SELECT r.run_id, r.started_at, r.finished_at, r.status, r.streams, "
        "r.error_text, " LEASE_STALE_SQL ", l.heartbeat_at "
        "FROM load_runs r LEFT JOIN load_run_leases l ON l.run_id = r.run_id",
        "TIMESTAMPDIFF(MICROSECOND, started_at, finished_at)",
        1e6,
},
  runs_sql_pg = {
      "SELECT r.run_id, " PG_TIME("r.started_at") ", " PG_TIME(
          "r.finished_at") ", "
                           "r.status, r.streams, r.error_text, " LEASE_PG_STALE_SQL ", " PG_TIME(
                               "l.heartbeat_at") " "
                                                 "FROM load_runs r LEFT JOIN load_run_leases l ON "
                                                 "l.run_id = r.run_id",
      "EXTRACT(EPOCH FROM finished_at - started_at)",
      1,
};

/* The per-stream counts of the runs runs[0..n). */
static int read_counts(struct wh *w, const struct runs_sql *q, struct run_info *runs, size_t n)
{
    struct buf sql = BUF_INIT;
    struct wh_result *r = NULL;
    const char *const *row;
    int rc = runs_counts_sql(&sql, q->duration, runs, n);
    if (!rc)
        rc = wh_query(w, sql.data, 0, NULL, NULL, &r);
    while (!rc && wh_result_next(r, &row, NULL) == 1)
        rc = runs_add_counts(runs, n, row, q->per_second);
    wh_result_free(r);
    buf_release(&sql);
    return rc ? err_prefix(rc, "reading load_run_streams (does `maskload init` need a rerun?)") : 0;
}

/* The `limit` most recent runs (run_id 0), or run `run_id` alone, newest
 * first, with their per-stream counts. */
static int runs_query(const struct config *cfg, unsigned long long run_id, unsigned limit,
                      struct run_info **out, size_t *n)
{
    struct wh *w = NULL;
    struct wh_result *r = NULL;
    struct run_info *runs = NULL;
    const struct runs_sql *q;
    const char *const *row;
    char sql[1536];
    size_t cnt = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = wh_connect(cfg, WH_LOADER, &w);
    if (rc)
        return rc;
    q = wh_is_postgres(w) ? &runs_sql_pg : &runs_sql_mysql;
    if (run_id)
        snprintf(sql, sizeof(sql), "%s WHERE r.run_id = %llu ORDER BY r.run_id DESC LIMIT %u",
                 q->select, run_id, limit);
    else
        snprintf(sql, sizeof(sql), "%s WHERE 1 = 1 ORDER BY r.run_id DESC LIMIT %u", q->select,
                 limit);
    rc = wh_query(w, sql, 0, NULL, NULL, &r);
    if (rc) {
        err_prefix(rc, "reading load_runs (did `maskload init` run?)");
        goto out;
    }
    runs = calloc(wh_result_rows(r) + 1, sizeof(*runs));
    if (!runs) {
        rc = err_set(ML_ENOMEM, "out of memory");
        goto out;
    }
    while (wh_result_next(r, &row, NULL) == 1)
        runs_decode(&runs[cnt++], row);
    if (cnt)
        rc = read_counts(w, q, runs, cnt);
    if (rc)
        goto out;
    *out = runs;
    *n = cnt;
    runs = NULL;
out:
    runs_free(runs, cnt);
    wh_result_free(r);
    wh_close(w);
    return rc;
}

int runs_recent(const struct config *cfg, unsigned limit, struct run_info **out, size_t *n)
{
    return runs_query(cfg, 0, limit, out, n);
}

int runs_get(const struct config *cfg, unsigned long long run_id, struct run_info **out)
{
    size_t n = 0;
    int rc = runs_query(cfg, run_id, 1, out, &n);
    if (!rc && n == 0) {
        runs_free(*out, 0);
        *out = NULL;
        rc = err_set(ML_EINVAL, "no run %llu in load_runs", run_id);
    }
    return rc;
}

void runs_free(struct run_info *runs, size_t n)
{
    if (!runs)
        return;
    for (size_t i = 0; i < n; i++)
        free(runs[i].counts);
    free(runs);
}

int runs_live(struct wh *w, unsigned long long *run_id)
{
    static const char *const sql[2] = {
        "SELECT MIN(r.run_id) FROM load_runs r JOIN load_run_leases l ON l.run_id = r.run_id "
        "WHERE r.status = 'running' AND (" LEASE_STALE_SQL ") = 0",
        "SELECT min(r.run_id) FROM load_runs r JOIN load_run_leases l ON l.run_id = r.run_id "
        "WHERE r.status = 'running' AND (" LEASE_PG_STALE_SQL ") = 0",
    };
    int rc = wh_query_u64(w, sql[wh_is_postgres(w)], 0, NULL, run_id, NULL);
    return rc ? err_prefix(rc, "reading the live runs from load_runs") : 0;
}

/* ---- the rows of the run itself ---- */

/* Each statement below is a pair: [0] MySQL, [1] PostgreSQL (the clock in
 * UTC, and PostgreSQL's casts of the bound text). */

int runs_start(struct wh *w, const char *streams, unsigned heartbeat_s, unsigned long long *run_id,
               char *token)
{
    static const char *const insert_sql[2] = {
        "INSERT INTO load_runs (started_at, status, streams, host, pid, version) VALUES "
        "(UTC_TIMESTAMP(3), 'running', $1, $2, $3, $4)",
        "INSERT INTO load_runs (started_at, status, streams, host, pid, version) VALUES "
        "((now() AT TIME ZONE 'UTC'), 'running', $1, $2, $3::bigint, $4) RETURNING run_id",
    };
    const bool pg = wh_is_postgres(w);
    char host[256] = "", pid[32];
    const char *p[4] = {streams, host, pid, MASKLOAD_VERSION};
    int rc;
    *run_id = 0;
    gethostname(host, sizeof(host) - 1);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    rc = wh_begin(w);
    if (!rc && pg)
        rc = wh_query_u64(w, insert_sql[1], 4, p, run_id, NULL);
    else if (!rc) {
        rc = wh_exec_params(w, insert_sql[0], 4, p, NULL);
        if (!rc)
            rc = wh_query_u64(w, "SELECT LAST_INSERT_ID()", 0, NULL, run_id, NULL);
    }
    if (!rc && !*run_id)
        rc = err_set(ML_EDB, "no run id returned");
    if (!rc)
        rc = lease_insert(w, *run_id, heartbeat_s, token);
    if (!rc)
        rc = wh_commit(w);
    if (rc) {
        wh_rollback(w);
        *run_id = 0;
        return err_prefix(rc, "recording the run in load_runs (did `maskload init` run?)");
    }
    return 0;
}

int runs_started_at(struct wh *w, unsigned long long run_id, char *out, size_t len)
{
    static const char *const sql[2] = {
        "SELECT DATE_FORMAT(started_at, '%Y-%m-%d %H:%i:%s.%f') FROM load_runs WHERE run_id = $1",
        "SELECT to_char(started_at, 'YYYY-MM-DD HH24:MI:SS.MS') FROM load_runs WHERE run_id = "
        "$1::bigint",
    };
    char run[24];
    const char *p[1] = {run};
    struct buf v = BUF_INIT;
    bool found = false;
    int rc;
    snprintf(run, sizeof(run), "%llu", run_id);
    rc = wh_query_value(w, sql[wh_is_postgres(w)], 1, p, &v, &found);
    if (!rc && !found)
        rc = err_set(ML_EINTERNAL, "run %llu has no start time", run_id);
    if (!rc) /* milliseconds: MySQL's %f has six digits */
        snprintf(out, len, "%.23s", v.data);
    buf_release(&v);
    return rc ? err_prefix(rc, "reading the run's start") : 0;
}

int runs_finish(struct wh *w, unsigned long long run_id, int status_rc, const char *error_text)
{
    static const char *const sql[2] = {
        "UPDATE load_runs SET finished_at = UTC_TIMESTAMP(3), status = $2, error_text = $3 "
        "WHERE run_id = $1",
        "UPDATE load_runs SET finished_at = (now() AT TIME ZONE 'UTC'), status = $2, error_text "
        "= $3 WHERE run_id = $1::bigint",
    };
    char run[24];
    const char *p[3] = {run, status_rc ? "failed" : "succeeded", error_text};
    int rc;
    snprintf(run, sizeof(run), "%llu", run_id);
    rc = wh_exec_params(w, sql[wh_is_postgres(w)], 3, p, NULL);
    if (!rc && lease_delete(w, run_id))
        log_debug("run %llu: lease not deleted: %s", run_id, err_msg());
    return rc;
}

/* A stream's row: [0] started, [1] ended; each [MySQL, PostgreSQL]. */
static const char *const stream_sql[2][2] = {
    {"INSERT INTO load_run_streams (run_id, started_at, stream) VALUES ($1, UTC_TIMESTAMP(3), $2)",
     "INSERT INTO load_run_streams (run_id, started_at, stream) VALUES ($1::bigint, (now() AT TIME "
     "ZONE 'UTC'), $2)"},
    {"UPDATE load_run_streams SET finished_at = UTC_TIMESTAMP(3) WHERE run_id = $1 AND stream = $2",
     "UPDATE load_run_streams SET finished_at = (now() AT TIME ZONE 'UTC') WHERE run_id = "
     "$1::bigint AND stream = $2"},
};

static int stream_row(struct wh *w, bool end, unsigned long long run_id, const char *stream)
{
    char run[24];
    const char *p[2] = {run, stream};
    int rc;
    snprintf(run, sizeof(run), "%llu", run_id);
    rc = wh_exec_params(w, stream_sql[end][wh_is_postgres(w)], 2, p, NULL);
    return rc ? err_prefix(rc, "recording the stream's %s in load_run_streams",
                           end ? "end" : "start")
              : 0;
}

int runs_stream_start(struct wh *w, unsigned long long run_id, const char *stream)
{
    return stream_row(w, false, run_id, stream);
}

int runs_stream_finish(struct wh *w, unsigned long long run_id, const char *stream)
{
    return stream_row(w, true, run_id, stream);
}

/* The counters' UPDATE of each dialect ([0] MySQL, [1] PostgreSQL): each
 * column = column + its value, $3.. in enum run_count order. Made once:
 * every batch runs it. "" when it did not fit (cannot happen with the
 * columns of RUN_COUNTS; said at the first use). */
static char add_sql[2][1024];
static pthread_once_t add_sql_once = PTHREAD_ONCE_INIT;

static void add_sql_make(void)
{
    static const char *const cast[2][2] = {{"CAST(", " AS UNSIGNED)"}, {"", "::bigint"}};
    for (int pg = 0; pg < 2; pg++) {
        char *sql = add_sql[pg];
        const size_t size = sizeof(add_sql[pg]);
        size_t len = (size_t)snprintf(sql, size, "UPDATE load_run_streams SET ");
        for (unsigned i = 0; len < size && i < RUN_NCOUNTS; i++)
            len += (size_t)snprintf(sql + len, size - len, "%s%s = %s + %s$%u%s", i ? ", " : "",
                                    run_count_columns[i], run_count_columns[i], cast[pg][0], i + 3,
                                    cast[pg][1]);
        if (len < size)
            len += (size_t)snprintf(sql + len, size - len, " WHERE run_id = $1%s AND stream = $2",
                                    pg ? "::bigint" : "");
        if (len >= size)
            sql[0] = '\0';
    }
}

int runs_stream_add(struct wh *w, unsigned long long run_id, const char *stream,
                    const unsigned long long n[RUN_NCOUNTS])
{
    const char *sql;
    char run[24], v[RUN_NCOUNTS][24];
    const char *p[2 + RUN_NCOUNTS] = {run, stream};
    int rc;
    pthread_once(&add_sql_once, add_sql_make);
    sql = add_sql[wh_is_postgres(w)];
    if (!sql[0])
        return err_set(ML_EINTERNAL, "the statement of load_run_streams' counts is too long");
    snprintf(run, sizeof(run), "%llu", run_id);
    for (unsigned i = 0; i < RUN_NCOUNTS; i++) {
        snprintf(v[i], sizeof(v[i]), "%llu", n[i]);
        p[2 + i] = v[i];
    }
    rc = wh_exec_params(w, sql, 2 + RUN_NCOUNTS, p, NULL);
    return rc ? err_prefix(rc, "stream '%s': adding to its counts", stream) : 0;
}
