/* monitor_pg.c - monitor_pg.h. */
#include "monitor_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn_pg.h"
#include "ddlgen.h"
#include "error.h"
#include "pg.h"
#include "schema.h"
#include "sqlfiles.h"
#include "banned.h"

#define PG_MONITOR_DIR     "views/postgres/monitoring"
#define PG_UNDEFINED_TABLE "42P01"

/* COUNT(*) of view `name` into *rows; 0 or the query's error (its
 * SQLSTATE in pg_sqlstate) */
static int count_rows(struct pg *pg, const char *name, unsigned long long *rows)
{
    struct buf sql = BUF_INIT, v = BUF_INIT;
    bool found = false;
    int rc = buf_adds(&sql, "SELECT count(*) FROM ");
    if (!rc)
        rc = pg_append_ident(&sql, name);
    if (!rc)
        rc = pg_query_value(pg, sql.data, &v, &found);
    *rows = !rc && found ? strtoull(v.data, NULL, 10) : 0;
    buf_release(&sql);
    buf_release(&v);
    return rc;
}

/* Whether init skipped the view of file `f`: its statement fails with an
 * undefined relation. Tried in a transaction always rolled back. */
static int view_skipped(struct pg *pg, const struct sql_file *f, bool *skipped)
{
    struct buf stmt = BUF_INIT;
    int rc = buf_add(&stmt, f->text, f->len);
    *skipped = false;
    if (!rc)
        rc = pg_begin(pg);
    if (!rc) {
        int trc = pg_exec(pg, stmt.data);
        *skipped = trc && strcmp(pg_sqlstate(pg), PG_UNDEFINED_TABLE) == 0;
        err_clear();
        pg_rollback(pg);
    }
    buf_release(&stmt);
    return rc;
}

int monitor_pg_check(const struct config *cfg, struct monitor_result **out, size_t *n, size_t *over,
                     size_t *skipped)
{
    struct monitor_result *res = NULL;
    struct ddlgen_monitor *gen = NULL;
    struct pg *pg = NULL;
    size_t cnt = 0, ngen = 0;
    int rc = monitor_results_new(cfg, out, n, over, skipped, &gen, &ngen, &res);
    if (rc)
        return rc;
    rc = conn_pg_warehouse(cfg, &pg);
    for (size_t i = 0; !rc && i < sql_files_count; i++) {
        struct monitor_result *r = &res[cnt];
        if (strcmp(sql_files[i].dir, PG_MONITOR_DIR) != 0)
            continue;
        rc = schema_view_name("views/monitoring", sql_files[i].name, r->view, sizeof(r->view));
        if (!rc)
            rc = count_rows(pg, r->view, &r->rows);
        if (rc && strcmp(pg_sqlstate(pg), PG_UNDEFINED_TABLE) == 0) {
            char why[1024];
            bool was_skipped = false;
            snprintf(why, sizeof(why), "%s", err_msg());
            rc = view_skipped(pg, &sql_files[i], &was_skipped);
            if (!rc && was_skipped) {
                (*skipped)++;
                continue;
            }
            if (!rc)
                rc = err_set(ML_EDB, "%s", why);
        }
        if (rc) {
            err_prefix(rc, "counting '%s' (did `maskload init` run?)", r->view);
            break;
        }
        monitor_judge(r, config_threshold_for(cfg, r->view), over);
        cnt++;
    }
    for (size_t i = 0; !rc && i < ngen; i++) {
        struct monitor_result *r = &res[cnt];
        if ((size_t)snprintf(r->view, sizeof(r->view), "%s", gen[i].name) >= sizeof(r->view))
            rc = err_set(ML_EINVAL, "view name '%s' too long", gen[i].name);
        if (!rc)
            rc = count_rows(pg, r->view, &r->rows);
        if (rc) {
            err_prefix(rc, "counting '%s' (did `maskload init` run since it was declared?)",
                       r->view);
            break;
        }
        r->generated = true;
        monitor_judge(r, monitor_generated_threshold(cfg, &gen[i]), over);
        cnt++;
    }
    pg_close(pg);
    return monitor_results_done(rc, res, cnt, gen, ngen, out, n);
}

int monitor_pg_streams(const struct config *cfg, struct monitor_stream **out, size_t *n)
{
    struct monitor_stream *st = monitor_streams_new(cfg);
    struct pg_result *res = NULL;
    struct pg *pg = NULL;
    const char *const *row;
    int rc;
    *out = NULL;
    *n = 0;
    if (!st)
        return err_set(ML_ENOMEM, "out of memory");
    rc = conn_pg_warehouse(cfg, &pg);
    /* finished_at holds UTC: seconds since 1970 of it as a UTC time */
    if (!rc)
        rc = pg_query(pg,
                      "SELECT s.stream, floor(extract(epoch FROM max(r.finished_at) AT TIME ZONE "
                      "'UTC'))::bigint FROM load_runs r JOIN load_run_streams s ON s.run_id = "
                      "r.run_id WHERE r.status = 'succeeded' AND r.finished_at IS NOT NULL "
                      "GROUP BY s.stream",
                      &res);
    while (!rc && pg_result_next(res, &row, NULL) == 1)
        monitor_streams_note(st, cfg->nstreams, row[0], row[1]);
    pg_result_free(res);
    pg_close(pg);
    return monitor_streams_done(cfg, rc, st, out, n);
}
