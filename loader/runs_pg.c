#include "runs_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn_pg.h"
#include "error.h"
#include "lease.h"
#include "pg.h"
#include "banned.h"

/* Times as MySQL's DATETIME(3) reads: "YYYY-MM-DD hh:mm:ss.fff". */
#define PG_TIME(col) "to_char(" col ", 'YYYY-MM-DD HH24:MI:SS.MS')"

/* The columns runs.c reads, in its order; its staleness from the lease. */
/* clang-format off */
static const char runs_select[] =
    "SELECT r.run_id, " PG_TIME("r.started_at") ", " PG_TIME("r.finished_at") ", "
    "r.status, r.streams, r.error_text, " LEASE_PG_STALE_SQL ", " PG_TIME("l.heartbeat_at") " "
    "FROM load_runs r LEFT JOIN load_run_leases l ON l.run_id = r.run_id";
/* clang-format on */

static void copy(char *dst, size_t sz, const char *src)
{
    snprintf(dst, sz, "%s", src ? src : "");
}

static int read_counts(struct pg *pg, struct run_info *runs, size_t n)
{
    struct buf sql = BUF_INIT;
    struct pg_result *r = NULL;
    const char *const *row;
    int rc = buf_adds(&sql, "SELECT run_id, stream");
    for (size_t c = 0; !rc && c < RUN_NCOUNTS; c++)
        rc = buf_addf(&sql, ", %s", run_count_columns[c]);
    if (!rc)
        rc = buf_adds(&sql, ", EXTRACT(EPOCH FROM finished_at - started_at) FROM load_run_streams "
                            "WHERE run_id IN (");
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_addf(&sql, "%s%llu", i ? "," : "", runs[i].run_id);
    if (!rc)
        rc = buf_adds(&sql, ") ORDER BY run_id, stream");
    if (!rc)
        rc = pg_query(pg, sql.data, &r);
    while (!rc && pg_result_next(r, &row, NULL) == 1) {
        unsigned long long id = strtoull(row[0], NULL, 10);
        struct run_info *ri = NULL;
        struct run_stream_counts *v;
        for (size_t i = 0; i < n && !ri; i++)
            if (runs[i].run_id == id)
                ri = &runs[i];
        if (!ri)
            continue;
        v = realloc(ri->counts, (ri->ncounts + 1) * sizeof(*v));
        if (!v) {
            rc = err_set(ML_ENOMEM, "out of memory");
            break;
        }
        ri->counts = v;
        v = &ri->counts[ri->ncounts++];
        copy(v->stream, sizeof(v->stream), row[1]);
        for (size_t c = 0; c < RUN_NCOUNTS; c++)
            v->n[c] = row[2 + c] ? strtoull(row[2 + c], NULL, 10) : 0;
        v->seconds = row[2 + RUN_NCOUNTS] ? strtod(row[2 + RUN_NCOUNTS], NULL) : -1;
    }
    pg_result_free(r);
    buf_release(&sql);
    return rc ? err_prefix(rc, "reading load_run_streams (does `maskload init` need a rerun?)") : 0;
}

int runs_pg_query(const struct config *cfg, unsigned long long run_id, unsigned limit,
                  struct run_info **out, size_t *n)
{
    struct pg *pg = NULL;
    struct pg_result *r = NULL;
    struct run_info *runs = NULL;
    const char *const *row;
    char sql[1536];
    size_t cnt = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = conn_pg_warehouse(cfg, &pg);
    if (rc)
        return rc;
    snprintf(sql, sizeof(sql), "%s WHERE %s%llu ORDER BY r.run_id DESC LIMIT %u", runs_select,
             run_id ? "r.run_id = " : "0 = ", run_id, limit);
    rc = pg_query(pg, sql, &r);
    if (rc) {
        err_prefix(rc, "reading load_runs (did `maskload init` run?)");
        goto out;
    }
    runs = calloc(pg_result_rows(r) + 1, sizeof(*runs));
    if (!runs) {
        rc = err_set(ML_ENOMEM, "out of memory");
        goto out;
    }
    while (pg_result_next(r, &row, NULL) == 1) {
        struct run_info *ri = &runs[cnt++];
        ri->run_id = strtoull(row[0], NULL, 10);
        copy(ri->started_at, sizeof(ri->started_at), row[1]);
        copy(ri->finished_at, sizeof(ri->finished_at), row[2]);
        copy(ri->status, sizeof(ri->status), row[3]);
        copy(ri->streams, sizeof(ri->streams), row[4]);
        copy(ri->error, sizeof(ri->error), row[5]);
        ri->stale = row[6] ? atoi(row[6]) : 0;
        copy(ri->heartbeat_at, sizeof(ri->heartbeat_at), row[7]);
    }
    if (cnt)
        rc = read_counts(pg, runs, cnt);
    if (rc)
        goto out;
    *out = runs;
    *n = cnt;
    runs = NULL;
out:
    runs_free(runs, cnt);
    pg_result_free(r);
    pg_close(pg);
    return rc;
}
