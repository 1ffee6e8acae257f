#include "monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "db.h"
#include "ddlgen.h"
#include "monitor_pg.h"
#include "error.h"
#include "schema.h"
#include "sqlfiles.h"
#include "banned.h"

/* Server error: no such table (or view). */
#define ER_NO_SUCH_TABLE 1146

int monitor_generated_views(const struct config *cfg, struct ddlgen_monitor **out, size_t *n)
{
    struct ddlgen_stream *st = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*st));
    int rc;
    *out = NULL;
    *n = 0;
    if (!st)
        return err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->nstreams; i++) {
        const struct config_stream *cs = &cfg->streams[i];
        st[i].name = cs->name;
        st[i].def = cs->def ? cs->def : streamdef_builtin(cs->mapping ? cs->mapping : cs->name);
    }
    rc = ddlgen_monitor_views(st, cfg->nstreams, out, n);
    free(st);
    return rc;
}

long monitor_generated_threshold(const struct config *cfg, const struct ddlgen_monitor *m)
{
    if (m->strict) {
        for (size_t i = 0; i < cfg->check.nthresholds; i++)
            if (strcmp(cfg->check.thresholds[i].view, m->name) == 0)
                return cfg->check.thresholds[i].max;
        return 0;
    }
    return config_threshold_for(cfg, m->name);
}

void monitor_judge(struct monitor_result *r, long threshold, size_t *over)
{
    r->threshold = threshold;
    r->over = r->rows > (unsigned long long)r->threshold;
    if (r->over)
        (*over)++;
}

int monitor_results_new(const struct config *cfg, struct monitor_result **out, size_t *n,
                        size_t *over, size_t *skipped, struct ddlgen_monitor **gen, size_t *ngen,
                        struct monitor_result **res)
{
    int rc;
    *out = NULL;
    *n = 0;
    *over = 0;
    *skipped = 0;
    *res = NULL;
    rc = monitor_generated_views(cfg, gen, ngen);
    if (rc)
        return err_prefix(rc, "check");
    *res = calloc(sql_files_count + *ngen + 1, sizeof(**res));
    if (!*res) {
        ddlgen_monitor_views_free(*gen, *ngen);
        *gen = NULL;
        *ngen = 0;
        return err_set(ML_ENOMEM, "out of memory");
    }
    return 0;
}

int monitor_results_done(int rc, struct monitor_result *res, size_t cnt, struct ddlgen_monitor *gen,
                         size_t ngen, struct monitor_result **out, size_t *n)
{
    ddlgen_monitor_views_free(gen, ngen);
    if (rc) {
        free(res);
        return err_prefix(rc, "check");
    }
    *out = res;
    *n = cnt;
    return 0;
}

int monitor_streams_done(const struct config *cfg, int rc, struct monitor_stream *st,
                         struct monitor_stream **out, size_t *n)
{
    if (rc) {
        free(st);
        return err_prefix(rc, "check: reading the last successful runs");
    }
    *out = st;
    *n = cfg->nstreams;
    return 0;
}

struct monitor_stream *monitor_streams_new(const struct config *cfg)
{
    struct monitor_stream *st = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*st));
    for (size_t i = 0; st && i < cfg->nstreams; i++)
        snprintf(st[i].stream, sizeof(st[i].stream), "%s", cfg->streams[i].name);
    return st;
}

void monitor_streams_note(struct monitor_stream *st, size_t n, const char *stream,
                          const char *seconds)
{
    for (size_t i = 0; stream && seconds && i < n; i++)
        if (strcmp(st[i].stream, stream) == 0) {
            st[i].ever = true;
            st[i].last_success_s = strtoll(seconds, NULL, 10);
        }
}

/* Counts generated view `name` into res[*cnt] with `threshold`. A missing
 * view means init has not run since `what` declared it. */
static int count_view(struct db *db, const char *name, long threshold, const char *what,
                      struct monitor_result *res, size_t *cnt, size_t *over)
{
    struct monitor_result *r = &res[*cnt];
    char sql[sizeof(r->view) + 32];
    if ((size_t)snprintf(r->view, sizeof(r->view), "%s", name) >= sizeof(r->view))
        return err_set(ML_EINVAL, "view name '%s' too long", name);
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM `%s`", r->view);
    int rc = db_query_u64(db, sql, &r->rows, NULL);
    if (rc)
        return err_prefix(rc, "counting '%s' (did `maskload init` run since %s declared?)", r->view,
                          what);
    r->generated = true;
    monitor_judge(r, threshold, over);
    (*cnt)++;
    return 0;
}

/* The generated monitoring views (monitor_generated_views), appended to
 * res[*cnt..] (room for ngen). Their tables are always configured, so a
 * missing view means init has not run since they were declared. */
static int count_generated(const struct config *cfg, struct db *db,
                           const struct ddlgen_monitor *gen, size_t ngen,
                           struct monitor_result *res, size_t *cnt, size_t *over)
{
    static const char *const what[] = {[DDLGEN_MONITOR_SMALL_GROUPS] = "quasi_identifiers were",
                                       [DDLGEN_MONITOR_CHECK] = "its checks were",
                                       [DDLGEN_MONITOR_FRESHNESS] = "freshness was",
                                       [DDLGEN_MONITOR_MIN_ROWS] = "min_rows was",
                                       [DDLGEN_MONITOR_HISTORY] = "history was"};
    int rc = 0;
    for (size_t i = 0; !rc && i < ngen; i++)
        rc = count_view(db, gen[i].name, monitor_generated_threshold(cfg, &gen[i]),
                        (size_t)gen[i].kind < sizeof(what) / sizeof(what[0]) ? what[gen[i].kind]
                                                                             : "it was",
                        res, cnt, over);
    return rc;
}

int monitor_check(const struct config *cfg, struct monitor_result **out, size_t *n, size_t *over,
                  size_t *skipped)
{
    struct monitor_result *res = NULL;
    struct ddlgen_monitor *gen = NULL;
    struct db *db = NULL;
    size_t cnt = 0, ngen = 0;
    int rc;

    /* a PostgreSQL warehouse: monitor_pg.h */
    if (cfg->warehouse.kind == WAREHOUSE_POSTGRES)
        return monitor_pg_check(cfg, out, n, over, skipped);
    rc = monitor_results_new(cfg, out, n, over, skipped, &gen, &ngen, &res);
    if (rc)
        return rc;
    rc = conn_warehouse(cfg, &db);
    for (size_t i = 0; !rc && i < sql_files_count; i++) {
        struct monitor_result *r = &res[cnt];
        char sql[256];
        bool is_null;
        if (strcmp(sql_files[i].dir, "views/monitoring") != 0)
            continue;
        rc = schema_view_name(sql_files[i].dir, sql_files[i].name, r->view, sizeof(r->view));
        if (rc)
            break;
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM `%s`", r->view);
        rc = db_query_u64(db, sql, &r->rows, &is_null);
        if (rc && db_errno(db) == ER_NO_SUCH_TABLE) {
            /* not installed: init skips a view over a table no configured
             * stream creates; such a view is not counted */
            char why[1024];
            bool was_skipped = false;
            snprintf(why, sizeof(why), "%s", err_msg());
            rc = schema_view_skipped(db, r->view, &was_skipped);
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
    if (!rc)
        rc = count_generated(cfg, db, gen, ngen, res, &cnt, over);
    db_close(db);
    return monitor_results_done(rc, res, cnt, gen, ngen, out, n);
}

int monitor_streams(const struct config *cfg, struct monitor_stream **out, size_t *n)
{
    struct monitor_stream *st;
    struct db_result *res = NULL;
    struct db *db = NULL;
    const char *const *row;
    int rc;
    *out = NULL;
    *n = 0;
    /* a PostgreSQL warehouse: monitor_pg.h */
    if (cfg->warehouse.kind == WAREHOUSE_POSTGRES)
        return monitor_pg_streams(cfg, out, n);
    st = monitor_streams_new(cfg);
    if (!st)
        return err_set(ML_ENOMEM, "out of memory");
    rc = conn_warehouse(cfg, &db);
    /* seconds since 1970 computed in UTC whatever the session time zone */
    if (!rc)
        rc = db_query(db,
                      "SELECT s.stream, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', "
                      "MAX(r.finished_at)) FROM load_runs AS r JOIN load_run_streams AS s ON "
                      "s.run_id = r.run_id WHERE r.status = 'succeeded' AND r.finished_at IS NOT "
                      "NULL GROUP BY s.stream",
                      &res);
    while (!rc && db_result_next(res, &row, NULL) == 1)
        monitor_streams_note(st, cfg->nstreams, row[0], row[1]);
    db_result_free(res);
    db_close(db);
    return monitor_streams_done(cfg, rc, st, out, n);
}
