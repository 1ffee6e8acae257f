#include "schema_pg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn_pg.h"
#include "ddlgen.h"
#include "error.h"
#include "history.h"
#include "log.h"
#include "monitor.h"
#include "pg.h"
#include "pii_key.h"
#include "pii_key_pg.h"
#include "schema.h"
#include "sqlfiles.h"
#include "streamdef.h"
#include "wh.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The database init connects to for what cannot run on the warehouse's
 * (CREATE DATABASE) and for the cluster's roles. */
#define PG_MAINTENANCE_DB "postgres"

/* SQLSTATE undefined_table: a view reads a relation that does not exist. */
#define PG_UNDEFINED_TABLE "42P01"

/* The embedded directories of a PostgreSQL warehouse. */
#define DIR_DDL     "ddl/postgres"
#define DIR_MONITOR "views/postgres/monitoring"
#define DIR_QUERIES "queries/postgres"

/* The views, in the order they are installed: the analysis views may read
 * the monitoring views. */
static const char *const view_dirs[] = {DIR_MONITOR, DIR_QUERIES};

/* Tables no stream describes that the analyst and the steward read
 * (grants/030_analyst.sql, 040_steward.sql for MySQL). */
static const char *const analyst_tables[] = {"load_runs", "load_run_streams"};
static const char *const steward_tables[] = {"load_rejects", "pii_access_log", "pii_erasures"};

struct pg_init {
    const struct config *cfg;
    struct schema_report *rep;
    struct buf *plan;     /* plan: statements are written here instead of run */
    int plan_rc;          /* the first failure to write a plan note (sticky) */
    struct pg *server;    /* admin on the maintenance database */
    struct pg *pg;        /* admin on the warehouse database; NULL in a plan of a new one */
    bool db_exists;       /* the warehouse database exists (read before anything) */
    bool schema_exists;   /* and its schema */
    bool reset_passwords; /* schema_options.reset_passwords */
    const struct stream_def **defs;
    size_t ndefs;
    struct schema_table *tables; /* the stream tables of defs, compared before anything */
    size_t ntables;
    /* the views init creates ("\nname\n"...), and those over a table it
     * alters, dropped before the ALTER and created again after it:
     * "DROP VIEW IF EXISTS ...", or empty */
    struct buf own_views, drop_views;
    struct buf sql;
};

/* ---- PostgreSQL text ---- */

/* The end of a $tag$ opening at t[i] ('$'), or 0 when it is not one. */
static size_t dollar_tag(const char *t, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && (isalnum((unsigned char)t[j]) || t[j] == '_'))
        j++;
    return j < n && t[j] == '$' && (j == i + 1 || !isdigit((unsigned char)t[i + 1])) ? j + 1 : 0;
}

/* The index after the quoted or commented run starting at t[i], or i when
 * none starts there. */
static size_t skip_quoted(const char *t, size_t n, size_t i)
{
    size_t tag;
    if (t[i] == '\'' || t[i] == '"') {
        char q = t[i++];
        while (i < n) {
            if (t[i] == q && i + 1 < n && t[i + 1] == q)
                i += 2;
            else if (t[i++] == q)
                break;
        }
        return i;
    }
    if (t[i] == '-' && i + 1 < n && t[i + 1] == '-') {
        while (i < n && t[i] != '\n')
            i++;
        return i;
    }
    if (t[i] == '/' && i + 1 < n && t[i + 1] == '*') {
        i += 2;
        while (i + 1 < n && !(t[i] == '*' && t[i + 1] == '/'))
            i++;
        return i + 2 <= n ? i + 2 : n;
    }
    if (t[i] == '$' && (tag = dollar_tag(t, n, i)) != 0) {
        size_t tl = tag - i;
        for (size_t j = tag; j + tl <= n; j++)
            if (memcmp(t + j, t + i, tl) == 0)
                return j + tl;
        return n;
    }
    return i;
}

static bool is_comment_at(const char *t, size_t n, size_t i)
{
    return (t[i] == '-' && i + 1 < n && t[i + 1] == '-') ||
           (t[i] == '/' && i + 1 < n && t[i + 1] == '*');
}

static size_t skip_blank(const char *t, size_t n, size_t i)
{
    for (;;) {
        while (i < n && (isspace((unsigned char)t[i]) || t[i] == ';'))
            i++;
        if (i < n && is_comment_at(t, n, i))
            i = skip_quoted(t, n, i);
        else
            return i;
    }
}

int schema_pg_next(const char *text, size_t total, size_t *pos, const char **stmt, size_t *len)
{
    size_t i = skip_blank(text, total, *pos), start = i;
    if (i >= total) {
        *pos = total;
        return 0;
    }
    while (i < total && text[i] != ';') {
        size_t j = skip_quoted(text, total, i);
        i = j > i ? j : i + 1;
    }
    *stmt = text + start;
    *len = i - start;
    while (*len && isspace((unsigned char)(*stmt)[*len - 1]))
        (*len)--;
    *pos = i < total ? i + 1 : total;
    return 1;
}

int schema_pg_one_line(const char *stmt, size_t len, struct buf *out)
{
    size_t mark = out->len, i = 0;
    bool space = false;
    int rc = 0;
    while (!rc && i < len) {
        size_t j;
        if (isspace((unsigned char)stmt[i]) || is_comment_at(stmt, len, i)) {
            j = isspace((unsigned char)stmt[i]) ? i + 1 : skip_quoted(stmt, len, i);
            space = true;
            i = j;
            continue;
        }
        if (space && out->len > mark)
            rc = buf_addc(out, ' ');
        space = false;
        j = skip_quoted(stmt, len, i);
        if (j == i) {
            rc = rc ? rc : buf_addc(out, stmt[i]);
            i++;
            continue;
        }
        if (stmt[i] == '\'' && (memchr(stmt + i, '\n', j - i) || memchr(stmt + i, '\r', j - i))) {
            rc = rc ? rc : buf_adds(out, "E'");
            for (size_t k = i + 1; !rc && k + 1 < j; k++) {
                char c = stmt[k];
                rc = c == '\n'   ? buf_adds(out, "\\n")
                     : c == '\r' ? buf_adds(out, "\\r")
                     : c == '\\' ? buf_adds(out, "\\\\")
                                 : buf_addc(out, c);
            }
            rc = rc ? rc : buf_addc(out, '\'');
        } else if (!rc) {
            rc = buf_add(out, stmt + i, j - i);
        }
        i = j;
    }
    if (rc)
        buf_truncate(out, mark);
    return rc;
}

/* ---- running, or planning ---- */

static void plan_note(struct pg_init *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void plan_note(struct pg_init *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    schema_plan_vnote(ctx->plan, &ctx->plan_rc, fmt, ap);
    va_end(ap);
}

/* Runs one statement on `pg`; in plan mode writes it on a line of its own
 * ending in ';' instead. Counted in rep->statements either way. */
static int apply_on(struct pg_init *ctx, struct pg *pg, const char *stmt, size_t len)
{
    struct buf one = BUF_INIT;
    int rc;
    if (ctx->plan) {
        rc = schema_pg_one_line(stmt, len, ctx->plan);
        if (!rc)
            rc = buf_adds(ctx->plan, ";\n");
    } else {
        rc = buf_add(&one, stmt, len);
        if (!rc)
            rc = pg_exec(pg, one.data);
        buf_release(&one);
    }
    if (!rc)
        ctx->rep->statements++;
    return rc;
}

static int relation_exists(struct pg_init *ctx, const char *name, bool *yes)
{
    const char *params[2] = {ctx->cfg->warehouse.schema, name};
    struct pg_result *r = NULL;
    int rc = 0;
    *yes = false;
    if (!ctx->pg || !ctx->schema_exists)
        return 0;
    rc = pg_query_params(ctx->pg,
                         "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON "
                         "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                         2, params, NULL, &r);
    if (!rc)
        *yes = pg_result_rows(r) > 0;
    pg_result_free(r);
    return rc;
}

/* The plan leaves out a statement of a table that exists: CREATE TABLE IF
 * NOT EXISTS t, CREATE INDEX IF NOT EXISTS i ON t, COMMENT ON TABLE t,
 * COMMENT ON COLUMN t.c (init runs them as one table's script, and a table
 * that exists had them run when it was created). */
static int on_existing_table(struct pg_init *ctx, const char *t, size_t n, bool *noop)
{
    struct sql_token w;
    char name[72];
    size_t i = sqlscript_token(t, n, 0, '"', &w);
    *noop = false;
    if (sqlscript_token_is(&w, "CREATE")) {
        i = sqlscript_token(t, n, i, '"', &w);
        if (sqlscript_token_is(&w, "TABLE")) {
            if (!sqlscript_expect(t, n, &i, '"', "IF NOT EXISTS"))
                return 0;
        } else if (sqlscript_token_is(&w, "INDEX")) {
            if (!sqlscript_expect(t, n, &i, '"', "IF NOT EXISTS"))
                return 0;
            i = sqlscript_token(t, n, i, '"', &w);
            if (!sqlscript_expect(t, n, &i, '"', "ON"))
                return 0;
        } else {
            return 0;
        }
    } else if (sqlscript_token_is(&w, "COMMENT")) {
        if (!sqlscript_expect(t, n, &i, '"', "ON"))
            return 0;
        i = sqlscript_token(t, n, i, '"', &w);
        if (!sqlscript_token_is(&w, "TABLE") && !sqlscript_token_is(&w, "COLUMN"))
            return 0;
    } else {
        return 0;
    }
    sqlscript_token(t, n, i, '"', &w);
    if (!w.word || w.n >= sizeof(name))
        return 0;
    memcpy(name, w.s, w.n);
    name[w.n] = '\0';
    return relation_exists(ctx, name, noop);
}

/* Runs (or plans) every statement of a script; `what` names it in a
 * failure. With `all`, the plan shows every statement, those on a table
 * that exists included (an ALTER's COMMENT ON). */
static int run_statements(struct pg_init *ctx, const char *text, size_t total, const char *what,
                          bool all)
{
    size_t pos = 0, len;
    const char *stmt;
    int rc = 0;
    while (!rc && schema_pg_next(text, total, &pos, &stmt, &len)) {
        bool noop = false;
        if (ctx->plan && !all && (rc = on_existing_table(ctx, stmt, len, &noop)) == 0 && noop)
            continue;
        if (!rc)
            rc = apply_on(ctx, ctx->pg, stmt, len);
        if (rc)
            err_prefix(rc, "%s, statement %.60s", what, stmt);
    }
    return rc;
}

static int run_script(struct pg_init *ctx, const char *text, size_t total, const char *what)
{
    return run_statements(ctx, text, total, what, false);
}

/* ---- what is there, read before anything is written ---- */

static int query_exists(struct pg *pg, const char *sql, const char *param, bool *yes)
{
    struct pg_result *r = NULL;
    int rc = pg_query_params(pg, sql, 1, &param, NULL, &r);
    *yes = !rc && pg_result_rows(r) > 0;
    pg_result_free(r);
    return rc;
}

/* The view of an embedded file of view_dirs (schema_view_name: a
 * monitoring view's own name, analysis_<name> for a query). */
static int embedded_view_name(const struct sql_file *f, char *view, size_t size)
{
    return schema_view_name(strcmp(f->dir, DIR_QUERIES) == 0 ? "queries" : "views/monitoring",
                            f->name, view, size);
}

/* The names of the views init creates (the generated monitoring views, the
 * current views of the history streams, the embedded views) into
 * ctx->own_views, each between line breaks. */
static int collect_own_views(struct pg_init *ctx)
{
    struct ddlgen_monitor *gen = NULL;
    size_t ngen = 0;
    int rc = buf_addc(&ctx->own_views, '\n');
    if (!rc)
        rc = monitor_generated_views(ctx->cfg, &gen, &ngen);
    for (size_t i = 0; !rc && i < ngen; i++)
        rc = buf_addf(&ctx->own_views, "%s\n", gen[i].name);
    ddlgen_monitor_views_free(gen, ngen);
    for (size_t i = 0; !rc && i < ctx->ndefs; i++)
        if (ctx->defs[i]->table->history) {
            rc = history_current_name(&ctx->own_views, ctx->defs[i]);
            if (!rc)
                rc = buf_addc(&ctx->own_views, '\n');
        }
    for (size_t d = 0; !rc && d < ARRAY_LEN(view_dirs); d++)
        for (size_t i = 0; !rc && i < sql_files_count; i++) {
            char view[128];
            if (strcmp(sql_files[i].dir, view_dirs[d]) != 0)
                continue;
            rc = embedded_view_name(&sql_files[i], view, sizeof(view));
            if (!rc)
                rc = buf_addf(&ctx->own_views, "%s\n", view);
        }
    return rc;
}

/* Whether view `name` of schema `nsp` is one init creates. */
static bool own_view(const struct pg_init *ctx, const char *nsp, const char *name)
{
    size_t n = strlen(name);
    const char *p = ctx->own_views.data;
    if (strcmp(nsp, ctx->cfg->warehouse.schema) != 0)
        return false;
    while ((p = strstr(p, name)) != NULL) {
        if (p > ctx->own_views.data && p[-1] == '\n' && p[n] == '\n')
            return true;
        p += n;
    }
    return false;
}

/* A view over a stream table, directly (parent: the table) or through
 * another view (parent: that view). */
struct dep_view {
    char nsp[64], name[64];
    unsigned long oid, parent;
    bool needed;
};

/* Every view that reads table $1.$2, directly or through other views, one
 * row per (view, relation it reads): schema, name, oid, the relation's oid. */
static const char dependents_sql[] =
    "WITH RECURSIVE dep(child, parent) AS ("
    " SELECT r.ev_class, d.refobjid FROM pg_catalog.pg_depend d"
    " JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid"
    " WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass"
    " AND d.refclassid = 'pg_catalog.pg_class'::regclass AND r.ev_class <> d.refobjid"
    " AND d.refobjid = (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
    " ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2)"
    " UNION"
    " SELECT r.ev_class, d.refobjid FROM dep JOIN pg_catalog.pg_depend d ON d.refobjid = dep.child"
    " JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid"
    " WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass"
    " AND d.refclassid = 'pg_catalog.pg_class'::regclass AND r.ev_class <> d.refobjid)"
    " SELECT n.nspname, c.relname, dep.child::text, dep.parent::text FROM dep"
    " JOIN pg_catalog.pg_class c ON c.oid = dep.child"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " ORDER BY n.nspname, c.relname, dep.parent";

/* The first change of `st` that retypes a column (PostgreSQL refuses
 * ALTER COLUMN TYPE under any view that reads the column), or NULL. */
static const struct schemadiff_change *retyped(const struct schema_table *st)
{
    for (size_t i = 0; i < st->diff.nchanges; i++)
        if (st->diff.changes[i].action == SD_MODIFY && st->diff.changes[i].type_differs)
            return &st->diff.changes[i];
    return NULL;
}

/* The first column `st` gains (init's views list the mapped columns), or NULL. */
static const struct schemadiff_change *added(const struct schema_table *st)
{
    for (size_t i = 0; i < st->diff.nchanges; i++)
        if (st->diff.changes[i].action == SD_ADD)
            return &st->diff.changes[i];
    return NULL;
}

/* Adds view `name` to ctx->drop_views, once (a view may read two tables). */
static int add_view_drop(struct pg_init *ctx, const char *name)
{
    struct buf q = BUF_INIT;
    int rc = pg_append_ident(&q, name);
    if (!rc && !strstr(ctx->drop_views.data, q.data)) {
        rc = buf_adds(&ctx->drop_views, ctx->drop_views.len ? ", " : "DROP VIEW IF EXISTS ");
        if (!rc)
            rc = buf_add(&ctx->drop_views, q.data, q.len);
    }
    buf_release(&q);
    return rc;
}

/* The views to drop before the ALTER of `st` and to create again after it
 * (CREATE OR REPLACE VIEW cannot change a view's columns): when it gains a
 * column, init's own views over the table and every view over those; with
 * a retyped column, every view over the table; none for a change of NULL
 * or a COMMENT. Added to ctx->drop_views. One that is not init's would be
 * lost: refused (ML_ECONFIG), before anything is written. */
static int plan_view_drops(struct pg_init *ctx, const struct schema_table *st)
{
    const char *params[2] = {ctx->cfg->warehouse.schema, st->table->name};
    const struct schemadiff_change *retype = retyped(st), *add = added(st);
    struct pg_result *r = NULL;
    struct dep_view *v = NULL;
    const char *const *row;
    size_t n = 0;
    bool grew = true;
    int rc;
    if (!retype && !add)
        return 0;
    rc = pg_query_params(ctx->pg, dependents_sql, 2, params, NULL, &r);
    if (!rc && !(v = calloc(pg_result_rows(r) + 1, sizeof(*v))))
        rc = err_set(ML_ENOMEM, "out of memory");
    while (!rc && pg_result_next(r, &row, NULL) == 1) {
        snprintf(v[n].nsp, sizeof(v[n].nsp), "%s", row[0] ? row[0] : "");
        snprintf(v[n].name, sizeof(v[n].name), "%s", row[1] ? row[1] : "");
        v[n].oid = row[2] ? strtoul(row[2], NULL, 10) : 0;
        v[n].parent = row[3] ? strtoul(row[3], NULL, 10) : 0;
        v[n].needed = retype || own_view(ctx, v[n].nsp, v[n].name);
        n++;
    }
    pg_result_free(r);
    while (!rc && grew) { /* a view over a dropped view goes with it */
        grew = false;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; !v[i].needed && k < n; k++)
                if (v[k].needed && v[k].oid == v[i].parent)
                    grew = v[i].needed = true;
    }
    for (size_t i = 0; !rc && i < n; i++) {
        bool first_row = true;
        if (!v[i].needed)
            continue;
        for (size_t k = 0; k < i; k++)
            if (v[k].oid == v[i].oid && v[k].needed)
                first_row = false;
        if (!first_row)
            continue;
        if (!own_view(ctx, v[i].nsp, v[i].name)) {
            const struct schemadiff_change *why = retype ? retype : add;
            rc =
                err_set(ML_ECONFIG,
                        "table '%s' (%s): to %s column '%s', init drops and creates again the "
                        "views over it, and view '%s.%s' is not one of init's: drop it, run "
                        "init, then create it again (nothing was changed)",
                        st->table->name, st->def ? st->def->file : "?",
                        retype ? "change the type of" : "add", why->col->name, v[i].nsp, v[i].name);
            break;
        }
        rc = add_view_drop(ctx, v[i].name);
    }
    free(v);
    return rc;
}

/* Every stream table compared with its definition (schemadiff.h: one set
 * of rules for both warehouses), the first refused change refused, and the
 * views over the tables to alter found: all before anything is written. */
static int compare_tables(struct pg_init *ctx)
{
    struct wh *w = ctx->pg ? wh_borrow_pg(ctx->pg) : NULL;
    int rc = ctx->pg && !w ? ML_ENOMEM : 0;
    if (!rc)
        rc = schema_compare_tables(w, ctx->cfg->warehouse.schema, ctx->defs, ctx->ndefs,
                                   &ctx->tables, &ctx->ntables);
    wh_close(w);
    if (!rc)
        rc = schema_tables_refusal(ctx->tables, ctx->ntables);
    for (size_t i = 0; !rc && i < ctx->ntables; i++)
        if (!ctx->tables[i].diff.missing && schemadiff_alters(&ctx->tables[i].diff))
            rc = plan_view_drops(ctx, &ctx->tables[i]);
    return rc;
}

/* In init's transaction, before the privileges and the views: the views
 * over the tables to alter dropped (created again below), then each
 * table's ALTER (schemadiff_alter_sql: ADD COLUMN, ALTER COLUMN TYPE, SET /
 * DROP NOT NULL, COMMENT ON). */
static int evolve_tables(struct pg_init *ctx)
{
    int rc = 0;
    if (ctx->drop_views.len)
        rc = apply_on(ctx, ctx->pg, ctx->drop_views.data, ctx->drop_views.len);
    if (rc)
        return err_prefix(rc, "dropping the views over the tables to alter");
    for (size_t i = 0; !rc && i < ctx->ntables; i++) {
        const struct schema_table *st = &ctx->tables[i];
        char what[128];
        if (st->diff.missing || !schemadiff_alters(&st->diff))
            continue;
        snprintf(what, sizeof(what), "altering table '%s'", st->table->name);
        buf_reset(&ctx->sql);
        rc = schemadiff_alter_sql(&ctx->sql, &st->diff, DB_DIALECT_POSTGRES);
        if (!rc)
            rc = run_statements(ctx, ctx->sql.data, ctx->sql.len, what, true);
        else
            err_prefix(rc, "%s", what);
        if (!rc)
            schema_table_altered(ctx->rep, st, ctx->plan != NULL);
    }
    return rc;
}

static int read_state(struct pg_init *ctx)
{
    const char *db = ctx->cfg->warehouse.database;
    int rc = query_exists(ctx->server, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
                          db, &ctx->db_exists);
    if (rc)
        return err_prefix(rc, "reading the databases");
    if (!ctx->db_exists)
        return compare_tables(ctx); /* every table is missing */
    rc = conn_pg_admin(ctx->cfg, NULL, &ctx->pg);
    if (!rc)
        rc = query_exists(ctx->pg, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
                          ctx->cfg->warehouse.schema, &ctx->schema_exists);
    if (!rc)
        rc = compare_tables(ctx);
    if (!rc && ctx->schema_exists) /* another key, or a rekey pending: nothing is written */
        rc = pii_key_pg_verify(ctx->pg, ctx->cfg->warehouse.schema, ctx->cfg->pii.digest_key,
                               ctx->cfg->pii.digest_key_len, true, NULL);
    return rc;
}

/* ---- the steps ---- */

static int create_database(struct pg_init *ctx)
{
    const char *db = ctx->cfg->warehouse.database;
    int rc;
    if (ctx->db_exists)
        return 0;
    buf_reset(&ctx->sql);
    rc = buf_adds(&ctx->sql, "CREATE DATABASE ");
    if (!rc)
        rc = pg_append_ident(&ctx->sql, db);
    if (!rc)
        rc = buf_adds(&ctx->sql, " ENCODING 'UTF8' TEMPLATE template0");
    if (!rc)
        rc = apply_on(ctx, ctx->server, ctx->sql.data, ctx->sql.len);
    if (!rc && !ctx->plan)
        rc = conn_pg_admin(ctx->cfg, NULL, &ctx->pg);
    return rc ? err_prefix(rc, "creating database '%s'", db) : 0;
}

static int create_schema(struct pg_init *ctx)
{
    const char *schema = ctx->cfg->warehouse.schema;
    int rc = 0;
    if (ctx->schema_exists)
        return 0;
    buf_reset(&ctx->sql);
    rc = ddlgen_pg_schema(&ctx->sql, schema);
    if (!rc)
        rc = apply_on(ctx, ctx->pg, ctx->sql.data, ctx->sql.len);
    /* the session's search_path names it: tables are created in it */
    buf_reset(&ctx->sql);
    if (!rc && !ctx->plan)
        rc = buf_adds(&ctx->sql, "SET search_path TO ");
    if (!rc && !ctx->plan)
        rc = pg_append_ident(&ctx->sql, schema);
    if (!rc && !ctx->plan)
        rc = pg_exec(ctx->pg, ctx->sql.data);
    return rc ? err_prefix(rc, "creating schema '%s'", schema) : 0;
}

static int run_ddl_files(struct pg_init *ctx)
{
    for (size_t i = 0; i < sql_files_count; i++) {
        const struct sql_file *f = &sql_files[i];
        char what[256];
        int rc;
        if (strcmp(f->dir, DIR_DDL) != 0)
            continue;
        snprintf(what, sizeof(what), "%s/%s", f->dir, f->name);
        rc = run_script(ctx, f->text, f->len, what);
        if (rc)
            return rc;
        ctx->rep->tables++;
    }
    return 0;
}

static int record_key(struct pg_init *ctx)
{
    const struct config *cfg = ctx->cfg;
    char fp[PII_KEY_FP_BUF], shown[PII_KEY_FP_BUF];
    bool recorded = false;
    int rc = pii_key_fingerprint(cfg->pii.digest_key, cfg->pii.digest_key_len, fp);
    if (!rc && ctx->plan) {
        plan_note(ctx,
                  "key: init records the digest key's fingerprint %s in pii_key when none is "
                  "stored",
                  pii_key_show(fp, shown));
        return 0;
    }
    if (!rc) {
        struct wh *w = wh_borrow_pg(ctx->pg);
        rc = w ? pii_key_wh_record(w, cfg->warehouse.schema, cfg->pii.digest_key,
                                   cfg->pii.digest_key_len, &recorded)
               : ML_ENOMEM;
        wh_close(w);
    }
    if (!rc && recorded)
        log_info("init: recorded the digest key's fingerprint %s in pii_key",
                 pii_key_show(fp, shown));
    return rc;
}

static int create_derived_tables(struct pg_init *ctx)
{
    const char **kinds = NULL;
    size_t nkinds = 0;
    int rc = ddlgen_surrogate_kinds(ctx->defs, ctx->ndefs, &kinds, &nkinds);
    for (size_t i = 0; !rc && i < ctx->ntables; i++) {
        const struct table_def *t = ctx->tables[i].table;
        char what[128];
        ctx->rep->stream_tables++;
        if (!ctx->tables[i].diff.missing) { /* altered in the transaction (evolve_tables) */
            schema_table_kept(ctx->plan, &ctx->plan_rc, ctx->rep, &ctx->tables[i]);
            continue;
        }
        buf_reset(&ctx->sql);
        snprintf(what, sizeof(what), "creating table '%s'", t->name);
        rc = ddlgen_create_table(&ctx->sql, t, DB_DIALECT_POSTGRES);
        if (!rc)
            rc = run_script(ctx, ctx->sql.data, ctx->sql.len, what);
        else
            err_prefix(rc, "%s", what);
    }
    for (size_t i = 0; !rc && i < nkinds; i++) {
        struct buf name = BUF_INIT;
        bool exists = false;
        rc = ddlgen_sensitive_name(&name, kinds[i]);
        if (!rc)
            rc = relation_exists(ctx, name.data, &exists);
        buf_reset(&ctx->sql);
        if (!rc && !exists) {
            char what[128];
            snprintf(what, sizeof(what), "creating table '%s'", name.data);
            rc = ddlgen_sensitive_table(&ctx->sql, kinds[i], DB_DIALECT_POSTGRES);
            if (!rc)
                rc = run_script(ctx, ctx->sql.data, ctx->sql.len, what);
        }
        if (!rc)
            ctx->rep->sensitive_tables++;
        buf_release(&name);
    }
    free(kinds);
    return rc;
}

static int grant_view(struct pg_init *ctx, const char *view)
{
    int rc;
    buf_reset(&ctx->sql);
    rc = buf_adds(&ctx->sql, "GRANT SELECT ON ");
    if (!rc)
        rc = pg_append_ident(&ctx->sql, ctx->cfg->warehouse.schema);
    if (!rc)
        rc = buf_addc(&ctx->sql, '.');
    if (!rc)
        rc = pg_append_ident(&ctx->sql, view);
    if (!rc)
        rc = buf_adds(&ctx->sql, " TO ");
    if (!rc)
        rc = pg_append_ident(&ctx->sql, ctx->cfg->roles.analyst);
    if (!rc)
        rc = apply_on(ctx, ctx->pg, ctx->sql.data, ctx->sql.len);
    return rc;
}

/* The generated monitoring views of the configured streams
 * (monitor_generated_views: small groups, declared checks, freshness,
 * min_rows, history invariants), each granted to the analyst; before the
 * embedded views, which may read them. */
static int install_generated_views(struct pg_init *ctx)
{
    struct ddlgen_monitor *gen = NULL;
    size_t ngen = 0;
    int rc = monitor_generated_views(ctx->cfg, &gen, &ngen);
    for (size_t i = 0; !rc && i < ngen; i++) {
        buf_reset(&ctx->sql);
        rc = ddlgen_monitor_view(&ctx->sql, &gen[i], DB_DIALECT_POSTGRES);
        if (!rc)
            rc = apply_on(ctx, ctx->pg, ctx->sql.data, ctx->sql.len);
        if (!rc)
            rc = grant_view(ctx, gen[i].name);
        if (rc)
            err_prefix(rc, "installing view '%s'", gen[i].name);
        else
            ctx->rep->views++;
    }
    ddlgen_monitor_views_free(gen, ngen);
    return rc;
}

/* The current view `<table>_current` of every history stream (history.h:
 * the definition's columns and valid_from of the current versions), granted
 * to the analyst. */
static int install_history_views(struct pg_init *ctx)
{
    struct buf name = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < ctx->ndefs; i++) {
        const struct table_def *t = ctx->defs[i]->table;
        if (!t->history)
            continue;
        buf_reset(&name);
        buf_reset(&ctx->sql);
        rc = history_current_name(&name, ctx->defs[i]);
        if (!rc)
            rc = buf_adds(&ctx->sql, "CREATE OR REPLACE VIEW ");
        if (!rc)
            rc = pg_append_ident(&ctx->sql, name.data);
        if (!rc)
            rc = buf_adds(&ctx->sql, " WITH (security_invoker = true) AS SELECT ");
        for (unsigned c = 0; !rc && c < t->ncols; c++) {
            rc = pg_append_ident(&ctx->sql, t->cols[c].name);
            if (!rc)
                rc = buf_adds(&ctx->sql, ", ");
        }
        if (!rc)
            rc = buf_adds(&ctx->sql, "\"valid_from\" FROM ");
        if (!rc)
            rc = pg_append_ident(&ctx->sql, t->name);
        if (!rc)
            rc = buf_adds(&ctx->sql, " WHERE \"is_current\"");
        if (!rc)
            rc = apply_on(ctx, ctx->pg, ctx->sql.data, ctx->sql.len);
        if (!rc)
            rc = grant_view(ctx, name.data);
        if (rc)
            err_prefix(rc, "installing view '%s'", name.data);
        else
            ctx->rep->views++;
    }
    buf_release(&name);
    return rc;
}

/* One view: the statement of a monitoring file, or a query file's SELECT
 * made a view; under a savepoint, so that one reading a relation that does
 * not exist is skipped and the transaction goes on. */
static int install_view(struct pg_init *ctx, const struct sql_file *f)
{
    char view[128];
    size_t pos = 0, len;
    const char *stmt;
    bool query = strcmp(f->dir, DIR_QUERIES) == 0;
    int rc = embedded_view_name(f, view, sizeof(view));
    if (rc)
        return rc;
    if (!schema_pg_next(f->text, f->len, &pos, &stmt, &len))
        return err_set(ML_EINTERNAL, "%s/%s holds no statement", f->dir, f->name);
    buf_reset(&ctx->sql);
    if (query) {
        rc = buf_adds(&ctx->sql, "CREATE OR REPLACE VIEW ");
        if (!rc)
            rc = pg_append_ident(&ctx->sql, view);
        if (!rc)
            rc = buf_adds(&ctx->sql, " WITH (security_invoker = true) AS ");
    }
    if (!rc)
        rc = buf_add(&ctx->sql, stmt, len);
    if (rc)
        return rc;
    if (ctx->plan) {
        rc = apply_on(ctx, ctx->pg, ctx->sql.data, ctx->sql.len);
    } else {
        rc = pg_exec(ctx->pg, "SAVEPOINT maskload_view");
        if (!rc) {
            rc = pg_exec(ctx->pg, ctx->sql.data);
            if (rc && strcmp(pg_sqlstate(ctx->pg), PG_UNDEFINED_TABLE) == 0) {
                log_info("init: view '%s' skipped: it reads a relation no configured stream "
                         "creates (%s)",
                         view, err_msg());
                err_clear();
                ctx->rep->views_skipped++;
                return pg_exec(ctx->pg, "ROLLBACK TO SAVEPOINT maskload_view");
            }
            if (!rc)
                ctx->rep->statements++;
        }
    }
    if (!rc)
        rc = grant_view(ctx, view);
    if (rc)
        return err_prefix(rc, "installing view '%s' from %s/%s", view, f->dir, f->name);
    ctx->rep->views++;
    return 0;
}

/* Audited reveal: (re)creates the function pii_reveal for the surrogate
 * kinds in use, owned by the loader role (it reads the sensitive tables and
 * writes pii_access_log with the loader's rights and nobody else's), and
 * executable by the steward role only. */
static int install_reveal(struct pg_init *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char **kinds = NULL;
    size_t nkinds = 0;
    int rc = ddlgen_surrogate_kinds(ctx->defs, ctx->ndefs, &kinds, &nkinds);
    buf_reset(&ctx->sql);
    if (!rc)
        rc = ddlgen_reveal_procedure(&ctx->sql, cfg->warehouse.schema, kinds, nkinds,
                                     cfg->roles.loader, NULL, DB_DIALECT_POSTGRES);
    if (!rc)
        rc = ddlgen_reveal_grants(&ctx->sql, cfg->warehouse.schema, cfg->roles.loader,
                                  cfg->roles.steward, DB_DIALECT_POSTGRES);
    if (!rc)
        rc = run_script(ctx, ctx->sql.data, ctx->sql.len, "the reveal function pii_reveal");
    free(kinds);
    return rc;
}

/* Roles and privileges, then the views and their grants, in one
 * transaction: the privileges are restated from nothing (ddlgen_pg_access
 * revokes before it grants), and no reader sees the moment between. */
static int access_and_views(struct pg_init *ctx)
{
    const struct config *cfg = ctx->cfg;
    struct ddlgen_pg_access a = {
        .database = cfg->warehouse.database,
        .schema = cfg->warehouse.schema,
        .loader = cfg->roles.loader,
        .analyst = cfg->roles.analyst,
        .steward = cfg->roles.steward,
        .analyst_tables = analyst_tables,
        .nanalyst = ARRAY_LEN(analyst_tables),
        .steward_tables = steward_tables,
        .nsteward = ARRAY_LEN(steward_tables),
    };
    struct buf access = BUF_INIT;
    int rc = ddlgen_pg_access(&access, ctx->defs, ctx->ndefs, &a);
    if (!rc) /* the loader role owns the partitioned tables: `run` maintains their partitions */
        rc = ddlgen_partition_grants(&access, ctx->defs, ctx->ndefs, cfg->warehouse.schema,
                                     cfg->roles.loader, DB_DIALECT_POSTGRES);
    if (rc) {
        buf_release(&access);
        return err_prefix(rc, "deriving the privileges");
    }
    if (!ctx->plan)
        rc = pg_begin(ctx->pg);
    else
        plan_note(ctx, "in one transaction: the changes of the stream tables that exist, the "
                       "roles and privileges, then the views, each granted to the analyst role; "
                       "a view that reads a relation no configured stream creates is skipped");
    if (!rc)
        rc = evolve_tables(ctx);
    if (!rc)
        rc = run_script(ctx, access.data, access.len, "roles and privileges");
    buf_release(&access);
    if (!rc)
        rc = install_reveal(ctx);
    if (!rc)
        rc = install_generated_views(ctx);
    if (!rc)
        rc = install_history_views(ctx);
    for (size_t d = 0; !rc && d < ARRAY_LEN(view_dirs); d++)
        for (size_t i = 0; !rc && i < sql_files_count; i++)
            if (strcmp(sql_files[i].dir, view_dirs[d]) == 0)
                rc = install_view(ctx, &sql_files[i]);
    if (!rc && !ctx->plan)
        rc = pg_commit(ctx->pg);
    if (rc && !ctx->plan)
        pg_rollback(ctx->pg);
    return rc;
}

static int role_exists(struct pg_init *ctx, const char *role, bool *yes)
{
    return query_exists(ctx->server, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", role,
                        yes);
}

/* One account: a LOGIN role, member of `role`, search_path the schema; its
 * configured password when it is new (or with reset_passwords). The
 * password is never in a statement's text, nor in the plan. */
static int ensure_account(struct pg_init *ctx, const char *user, const char *password,
                          const char *role, const char *what)
{
    bool exists = false;
    int rc;
    if (!password) {
        log_warn("init: no password configured for the %s account '%s'; account not created", what,
                 user);
        return 0;
    }
    if (strcmp(user, ctx->cfg->admin.user) == 0) {
        log_warn("init: the %s account '%s' is the admin account; left as it is", what, user);
        return 0;
    }
    rc = role_exists(ctx, user, &exists);
    if (rc)
        return err_prefix(rc, "%s account '%s'", what, user);
    if (ctx->plan) {
        plan_note(ctx, "account '%s' (%s): %s; a member of %s, its search_path %s", user, what,
                  !exists                ? "created with its configured password (not shown)"
                  : ctx->reset_passwords ? "exists; its password is set to the configured one"
                                         : "exists; its password is left as it is",
                  role, ctx->cfg->warehouse.schema);
        return 0;
    }
    buf_reset(&ctx->sql);
    rc = ddlgen_pg_account(&ctx->sql, user, role, ctx->cfg->warehouse.schema);
    if (!rc)
        rc = run_script(ctx, ctx->sql.data, ctx->sql.len, "account");
    if (!rc && (!exists || ctx->reset_passwords))
        rc = pg_set_role_password(ctx->pg, user, password);
    if (rc)
        return err_prefix(rc, "%s account '%s'", what, user);
    if (exists && !ctx->reset_passwords)
        log_info("init: the %s account '%s' exists; its password is left as it is "
                 "(`maskload init --reset-passwords` sets the configured one)",
                 what, user);
    ctx->rep->accounts++;
    return 0;
}

static int ensure_accounts(struct pg_init *ctx)
{
    const struct config *cfg = ctx->cfg;
    int rc = ensure_account(ctx, cfg->warehouse.user, cfg->warehouse.password, cfg->roles.loader,
                            "loader");
    if (!rc)
        rc = ensure_account(ctx, cfg->accounts.analyst.user, cfg->accounts.analyst.password,
                            cfg->roles.analyst, "analyst");
    if (!rc)
        rc = ensure_account(ctx, cfg->accounts.steward.user, cfg->accounts.steward.password,
                            cfg->roles.steward, "steward");
    return rc;
}

static int init_or_plan(const struct config *cfg, bool reset_passwords, struct schema_report *rep,
                        struct buf *plan)
{
    struct pg_init ctx = {.cfg = cfg, .rep = rep, .plan = plan, .reset_passwords = reset_passwords};
    int rc, v;

    memset(rep, 0, sizeof(*rep));
    buf_init(&ctx.sql, 0);
    buf_init(&ctx.own_views, 0);
    buf_init(&ctx.drop_views, 0);
    rc = config_require_digest_key(cfg, plan ? "plan" : "init");
    if (!rc)
        rc = schema_stream_defs(cfg, NULL, &ctx.defs, &ctx.ndefs);
    if (!rc)
        rc = collect_own_views(&ctx);
    if (!rc)
        rc = conn_pg_admin(cfg, PG_MAINTENANCE_DB, &ctx.server);
    if (rc)
        goto out;
    v = pg_server_version(ctx.server);
    snprintf(rep->server, sizeof(rep->server), "PostgreSQL %d.%d", v / 10000, v % 10000);
    rc = read_state(&ctx);
    if (!rc)
        rc = create_database(&ctx);
    if (!rc)
        rc = create_schema(&ctx);
    if (!rc)
        rc = run_ddl_files(&ctx);
    if (!rc)
        rc = record_key(&ctx);
    if (!rc)
        rc = create_derived_tables(&ctx);
    if (!rc)
        rc = access_and_views(&ctx);
    if (!rc) { /* partitions ready ahead, expired ones dropped (schema_pg: once the
                  loader role owns the tables) */
        struct wh *w = ctx.plan ? NULL : wh_borrow_pg(ctx.pg);
        rc = schema_maintain_partitions(w, cfg, ctx.defs, ctx.ndefs, ctx.plan, &ctx.plan_rc);
        wh_close(w);
    }
    if (!rc)
        rc = ensure_accounts(&ctx);
    if (!rc)
        rc = ctx.plan_rc;
out:
    buf_wipe(&ctx.sql);
    buf_release(&ctx.own_views);
    buf_release(&ctx.drop_views);
    schema_tables_release(ctx.tables, ctx.ntables);
    free(ctx.defs);
    pg_close(ctx.pg);
    pg_close(ctx.server);
    return rc;
}

int schema_pg_init(const struct config *cfg, const struct schema_options *opt,
                   struct schema_report *rep)
{
    int rc = init_or_plan(cfg, opt && opt->reset_passwords, rep, NULL);
    return rc ? err_prefix(rc, "init") : 0;
}

int schema_pg_plan(const struct config *cfg, struct buf *out, struct schema_report *rep)
{
    size_t mark = out->len;
    int rc = init_or_plan(cfg, false, rep, out);
    if (rc)
        buf_truncate(out, mark);
    return rc ? err_prefix(rc, "plan") : 0;
}
