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

/* The per-stream counts of the runs runs[0..n). */
static int read_counts(struct pg *pg, struct run_info *runs, size_t n)
{
    struct buf sql = BUF_INIT;
    struct pg_result *r = NULL;
    const char *const *row;
    int rc = runs_counts_sql(&sql, "EXTRACT(EPOCH FROM finished_at - started_at)", runs, n);
    if (!rc)
        rc = pg_query(pg, sql.data, &r);
    while (!rc && pg_result_next(r, &row, NULL) == 1)
        rc = runs_add_counts(runs, n, row, 1);
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
    while (pg_result_next(r, &row, NULL) == 1)
        runs_decode(&runs[cnt++], row);
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
