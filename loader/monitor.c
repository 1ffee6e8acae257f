#include "monitor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "db.h"
#include "ddlgen.h"
#include "error.h"
#include "history.h"
#include "schema.h"
#include "sqlfiles.h"
#include "banned.h"

/* Server error: no such table (or view). */
#define ER_NO_SUCH_TABLE 1146

/* The generated monitoring views: the small groups of every stream that
 * declares quasi_identifiers (ddlgen_small_groups_view), appended to
 * res[*cnt..], with their thresholds as for the embedded views. Their table
 * is always configured, so a missing one means init has not run since. */
static int count_small_groups(const struct config *cfg, struct db *db, struct monitor_result *res,
                              size_t *cnt, size_t *over)
{
    struct buf name = BUF_INIT, sql = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        const struct stream_def *def = cfg->streams[i].def;
        struct monitor_result *r = &res[*cnt];
        if (!def || def->nquasi == 0)
            continue;
        buf_reset(&name);
        buf_reset(&sql);
        rc = ddlgen_small_groups_name(&name, def);
        if (!rc && (size_t)snprintf(r->view, sizeof(r->view), "%s", name.data) >= sizeof(r->view))
            rc = err_set(ML_EINVAL, "view name '%s' too long", name.data);
        if (!rc)
            rc = buf_addf(&sql, "SELECT COUNT(*) FROM `%s`", r->view);
        if (!rc)
            rc = db_query_u64(db, sql.data, &r->rows, NULL);
        if (rc) {
            err_prefix(rc,
                       "counting '%s' (did `maskload init` run since quasi_identifiers were "
                       "declared?)",
                       r->view);
            break;
        }
        r->threshold = config_threshold_for(cfg, r->view);
        r->over = r->rows > (unsigned long long)r->threshold;
        if (r->over)
            (*over)++;
        (*cnt)++;
    }
    buf_release(&name);
    buf_release(&sql);
    return rc;
}

/* The generated invariant monitors of the history streams
 * (history_monitor_view), appended like the small-groups views. */
static int count_history(const struct config *cfg, struct db *db, struct monitor_result *res,
                         size_t *cnt, size_t *over)
{
    struct buf name = BUF_INIT, sql = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        const struct stream_def *def = cfg->streams[i].def;
        struct monitor_result *r = &res[*cnt];
        if (!def || !def->table->history)
            continue;
        buf_reset(&name);
        buf_reset(&sql);
        rc = history_monitor_name(&name, def);
        if (!rc && (size_t)snprintf(r->view, sizeof(r->view), "%s", name.data) >= sizeof(r->view))
            rc = err_set(ML_EINVAL, "view name '%s' too long", name.data);
        if (!rc)
            rc = buf_addf(&sql, "SELECT COUNT(*) FROM `%s`", r->view);
        if (!rc)
            rc = db_query_u64(db, sql.data, &r->rows, NULL);
        if (rc) {
            err_prefix(rc, "counting '%s' (did `maskload init` run since history was declared?)",
                       r->view);
            break;
        }
        r->threshold = config_threshold_for(cfg, r->view);
        r->over = r->rows > (unsigned long long)r->threshold;
        if (r->over)
            (*over)++;
        (*cnt)++;
    }
    buf_release(&name);
    buf_release(&sql);
    return rc;
}

int monitor_check(const struct config *cfg, struct monitor_result **out, size_t *n, size_t *over,
                  size_t *skipped)
{
    struct monitor_result *res = NULL;
    struct db *db = NULL;
    size_t cnt = 0;
    int rc;

    *out = NULL;
    *n = 0;
    *over = 0;
    *skipped = 0;
    res = calloc(sql_files_count + 2 * cfg->nstreams + 1, sizeof(*res)); /* + history monitors */
    if (!res)
        return err_set(ML_ENOMEM, "out of memory");
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
        r->threshold = config_threshold_for(cfg, r->view);
        r->over = r->rows > (unsigned long long)r->threshold;
        if (r->over)
            (*over)++;
        cnt++;
    }
    if (!rc)
        rc = count_small_groups(cfg, db, res, &cnt, over);
    if (!rc)
        rc = count_history(cfg, db, res, &cnt, over);
    db_close(db);
    if (rc) {
        free(res);
        return err_prefix(rc, "check");
    }
    *out = res;
    *n = cnt;
    return 0;
}
