#include "runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "db.h"
#include "error.h"
#include "lease.h"
#include "banned.h"

static void copy(char *dst, size_t sz, const char *src)
{
    snprintf(dst, sz, "%s", src ? src : "");
}

int runs_recent(const struct config *cfg, unsigned limit, struct run_info **out, size_t *n)
{
    struct db *db = NULL;
    struct db_result *r = NULL;
    struct run_info *runs = NULL;
    const char *const *row;
    char sql[2048];
    size_t cnt = 0;
    int rc;

    *out = NULL;
    *n = 0;
    rc = conn_warehouse(cfg, &db);
    if (rc)
        return rc;
    snprintf(sql, sizeof(sql),
             "SELECT r.run_id, r.started_at, r.finished_at, r.status, r.streams, r.error_text, "
             "(SELECT GROUP_CONCAT(CONCAT(s.stream, ': ', s.fetched, ' fetched, ', s.loaded, "
             "' loaded, ', s.rejected, ' rejected, ', s.surrogates_created, ' new surrogates') "
             "ORDER BY s.stream SEPARATOR '; ') FROM load_run_streams s WHERE s.run_id = "
             "r.run_id), " LEASE_STALE_SQL ", l.heartbeat_at "
             "FROM load_runs r LEFT JOIN load_run_leases l ON l.run_id = r.run_id "
             "ORDER BY r.run_id DESC LIMIT %u",
             limit);
    rc = db_query(db, sql, &r);
    if (rc) {
        err_prefix(rc, "reading load_runs (did `maskload init` run?)");
        goto out;
    }
    runs = calloc(db_result_rows(r) + 1, sizeof(*runs));
    if (!runs) {
        rc = err_set(ML_ENOMEM, "out of memory");
        goto out;
    }
    while (db_result_next(r, &row, NULL) == 1) {
        struct run_info *ri = &runs[cnt++];
        ri->run_id = strtoull(row[0], NULL, 10);
        copy(ri->started_at, sizeof(ri->started_at), row[1]);
        copy(ri->finished_at, sizeof(ri->finished_at), row[2]);
        copy(ri->status, sizeof(ri->status), row[3]);
        copy(ri->streams, sizeof(ri->streams), row[4]);
        copy(ri->error, sizeof(ri->error), row[5]);
        copy(ri->counts, sizeof(ri->counts), row[6]);
        ri->stale = row[7] ? atoi(row[7]) : 0;
        copy(ri->heartbeat_at, sizeof(ri->heartbeat_at), row[8]);
    }
    *out = runs;
    *n = cnt;
    runs = NULL;
out:
    free(runs);
    db_result_free(r);
    db_close(db);
    return rc;
}

int runs_live(struct db *db, unsigned long long *run_id)
{
    bool none = true;
    int rc =
        db_query_u64(db,
                     "SELECT MIN(r.run_id) FROM load_runs r JOIN load_run_leases l ON "
                     "l.run_id = r.run_id WHERE r.status = 'running' AND (" LEASE_STALE_SQL ") = 0",
                     run_id, &none);
    if (rc)
        return err_prefix(rc, "reading the live runs from load_runs");
    if (none)
        *run_id = 0;
    return 0;
}
