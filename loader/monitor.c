#include "monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ddlgen.h"
#include "error.h"
#include "schema.h"
#include "sqlfiles.h"
#include "wh.h"
#include "banned.h"

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

/* A generated view's threshold: an expectation's (m->strict) is its entry in
 * check.thresholds, else 0; any other's config_threshold_for. */
static long monitor_generated_threshold(const struct config *cfg, const struct ddlgen_monitor *m)
{
    if (m->strict) {
        for (size_t i = 0; i < cfg->check.nthresholds; i++)
            if (strcmp(cfg->check.thresholds[i].view, m->name) == 0)
                return cfg->check.thresholds[i].max;
        return 0;
    }
    return config_threshold_for(cfg, m->name);
}

/* Sets r->threshold and r->over (rows > threshold); counts it in *over. */
static void monitor_judge(struct monitor_result *r, long threshold, size_t *over)
{
    r->threshold = threshold;
    r->over = r->rows > (unsigned long long)r->threshold;
    if (r->over)
        (*over)++;
}

/* Zeroes *out, *n, *over and *skipped, builds the generated views into
 * *gen and allocates *res with room for every embedded and generated view.
 * On error nothing is left to free. */
static int monitor_results_new(const struct config *cfg, struct monitor_result **out, size_t *n,
                               size_t *over, size_t *skipped, struct ddlgen_monitor **gen,
                               size_t *ngen, struct monitor_result **res)
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

/* Frees gen; rc 0: *out = res, *n = cnt, else frees res and returns rc
 * prefixed with "check". */
static int monitor_results_done(int rc, struct monitor_result *res, size_t cnt,
                                struct ddlgen_monitor *gen, size_t ngen,
                                struct monitor_result **out, size_t *n)
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

/* rc 0: *out = st, *n = cfg->nstreams, else frees st and returns rc naming
 * what failed. */
static int monitor_streams_done(const struct config *cfg, int rc, struct monitor_stream *st,
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

/* One zeroed entry per configured stream, named; NULL when out of memory. */
static struct monitor_stream *monitor_streams_new(const struct config *cfg)
{
    struct monitor_stream *st = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*st));
    for (size_t i = 0; st && i < cfg->nstreams; i++)
        snprintf(st[i].stream, sizeof(st[i].stream), "%s", cfg->streams[i].name);
    return st;
}

/* Marks the entries named `stream` as run, with `seconds` (since 1970) as
 * their last success; a NULL value is ignored. */
static void monitor_streams_note(struct monitor_stream *st, size_t n, const char *stream,
                                 const char *seconds)
{
    for (size_t i = 0; stream && seconds && i < n; i++)
        if (strcmp(st[i].stream, stream) == 0) {
            st[i].ever = true;
            st[i].last_success_s = strtoll(seconds, NULL, 10);
        }
}

/* COUNT(*) of view `name` into *rows; 0 or the query's error (wh_error_*
 * tell what it was). */
static int count_rows(struct wh *w, const char *name, unsigned long long *rows)
{
    struct buf sql = BUF_INIT, v = BUF_INIT;
    bool found = false;
    int rc = buf_adds(&sql, "SELECT COUNT(*) FROM ");
    if (!rc)
        rc = wh_append_ident(wh_dialect(w), &sql, name);
    if (!rc)
        rc = wh_query_value(w, sql.data, 0, NULL, &v, &found);
    *rows = !rc && found ? strtoull(v.data, NULL, 10) : 0;
    buf_release(&sql);
    buf_release(&v);
    return rc;
}

/* Whether init skipped the view of file `f` (named `view`) because a table
 * it reads is not configured. MySQL: schema_view_skipped. PostgreSQL: its
 * statement fails with an undefined relation, tried in a transaction always
 * rolled back (the loader may not create anything, and nothing is kept). */
static int view_skipped(struct wh *w, const struct sql_file *f, const char *view, bool *skipped)
{
    struct buf stmt = BUF_INIT;
    int rc;
    *skipped = false;
    if (!wh_is_postgres(w))
        return schema_view_skipped(wh_db(w), view, skipped);
    rc = buf_add(&stmt, f->text, f->len);
    if (!rc)
        rc = wh_begin(w);
    if (!rc) {
        int trc = wh_exec(w, stmt.data);
        *skipped = trc && wh_error_undefined_table(w);
        err_clear();
        wh_rollback(w);
    }
    buf_release(&stmt);
    return rc;
}

/* Counts generated view `name` into res[*cnt] with `threshold`. A missing
 * view means init has not run since `what` declared it. */
static int count_view(struct wh *w, const char *name, long threshold, const char *what,
                      struct monitor_result *res, size_t *cnt, size_t *over)
{
    struct monitor_result *r = &res[*cnt];
    if ((size_t)snprintf(r->view, sizeof(r->view), "%s", name) >= sizeof(r->view))
        return err_set(ML_EINVAL, "view name '%s' too long", name);
    int rc = count_rows(w, r->view, &r->rows);
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
static int count_generated(const struct config *cfg, struct wh *w, const struct ddlgen_monitor *gen,
                           size_t ngen, struct monitor_result *res, size_t *cnt, size_t *over)
{
    static const char *const what[] = {[DDLGEN_MONITOR_SMALL_GROUPS] = "quasi_identifiers were",
                                       [DDLGEN_MONITOR_CHECK] = "its checks were",
                                       [DDLGEN_MONITOR_FRESHNESS] = "freshness was",
                                       [DDLGEN_MONITOR_MIN_ROWS] = "min_rows was",
                                       [DDLGEN_MONITOR_HISTORY] = "history was"};
    int rc = 0;
    for (size_t i = 0; !rc && i < ngen; i++)
        rc = count_view(w, gen[i].name, monitor_generated_threshold(cfg, &gen[i]),
                        (size_t)gen[i].kind < sizeof(what) / sizeof(what[0]) ? what[gen[i].kind]
                                                                             : "it was",
                        res, cnt, over);
    return rc;
}

/* The hand-written monitoring views of each warehouse (embedded files). */
#define MONITOR_DIR    "views/monitoring"
#define MONITOR_DIR_PG "views/postgres/monitoring"

int monitor_check(const struct config *cfg, struct monitor_result **out, size_t *n, size_t *over,
                  size_t *skipped)
{
    struct monitor_result *res = NULL;
    struct ddlgen_monitor *gen = NULL;
    struct wh *w = NULL;
    const char *dir;
    size_t cnt = 0, ngen = 0;
    int rc;

    rc = monitor_results_new(cfg, out, n, over, skipped, &gen, &ngen, &res);
    if (rc)
        return rc;
    rc = wh_connect(cfg, WH_LOADER, &w);
    dir = cfg->warehouse.kind == WAREHOUSE_POSTGRES ? MONITOR_DIR_PG : MONITOR_DIR;
    for (size_t i = 0; !rc && i < sql_files_count; i++) {
        struct monitor_result *r = &res[cnt];
        if (strcmp(sql_files[i].dir, dir) != 0)
            continue;
        rc = schema_view_name(MONITOR_DIR, sql_files[i].name, r->view, sizeof(r->view));
        if (!rc)
            rc = count_rows(w, r->view, &r->rows);
        if (rc && wh_error_undefined_table(w)) {
            /* not installed: init skips a view over a table no configured
             * stream creates; such a view is not counted */
            char why[1024];
            bool was_skipped = false;
            snprintf(why, sizeof(why), "%s", err_msg());
            rc = view_skipped(w, &sql_files[i], r->view, &was_skipped);
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
        rc = count_generated(cfg, w, gen, ngen, res, &cnt, over);
    wh_close(w);
    return monitor_results_done(rc, res, cnt, gen, ngen, out, n);
}

/* The last success per stream, as seconds since 1970 computed in UTC
 * whatever the session's time zone (PostgreSQL: finished_at holds UTC). */
static const char *const last_success_sql[] = {
    [0] = "SELECT s.stream, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', "
          "MAX(r.finished_at)) FROM load_runs AS r JOIN load_run_streams AS s ON "
          "s.run_id = r.run_id WHERE r.status = 'succeeded' AND r.finished_at IS NOT "
          "NULL GROUP BY s.stream",
    [1] = "SELECT s.stream, floor(extract(epoch FROM max(r.finished_at) AT TIME ZONE "
          "'UTC'))::bigint FROM load_runs r JOIN load_run_streams s ON s.run_id = "
          "r.run_id WHERE r.status = 'succeeded' AND r.finished_at IS NOT NULL "
          "GROUP BY s.stream",
};

int monitor_streams(const struct config *cfg, struct monitor_stream **out, size_t *n)
{
    struct monitor_stream *st;
    struct wh_result *res = NULL;
    struct wh *w = NULL;
    const char *const *row;
    int rc;
    *out = NULL;
    *n = 0;
    st = monitor_streams_new(cfg);
    if (!st)
        return err_set(ML_ENOMEM, "out of memory");
    rc = wh_connect(cfg, WH_LOADER, &w);
    if (!rc)
        rc = wh_query(w, last_success_sql[wh_is_postgres(w)], 0, NULL, NULL, &res);
    while (!rc && wh_result_next(res, &row, NULL) == 1)
        monitor_streams_note(st, cfg->nstreams, row[0], row[1]);
    wh_result_free(res);
    wh_close(w);
    return monitor_streams_done(cfg, rc, st, out, n);
}
