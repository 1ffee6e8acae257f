/* schema_pg.c - what a PostgreSQL warehouse does in init's path
 * (schema_int.h, schema_pg.h), and PostgreSQL's statement text. Over
 * wh.h, reaching pg.h (wh_pg) for what only PostgreSQL has: the server's
 * version number and a role's password as a SCRAM verifier. */
#include "schema_pg.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddlgen.h"
#include "error.h"
#include "history.h"
#include "log.h"
#include "monitor.h"
#include "pg.h"
#include "schema_int.h"
#include "sqlfiles.h"
#include "streamdef.h"
#include "wh.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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

/* The kind's state (schema_ctx.own): the views init creates
 * ("\nname\n"...), and those over a table it alters, dropped before the
 * ALTER and created again after it: "DROP VIEW IF EXISTS ...", or empty. */
struct pg_own {
    struct buf own_views, drop_views;
};
#define OWN(ctx) ((struct pg_own *)(ctx)->own)

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

/* The plan leaves out a statement of a table that exists: CREATE TABLE IF
 * NOT EXISTS t, CREATE INDEX IF NOT EXISTS i ON t, COMMENT ON TABLE t,
 * COMMENT ON COLUMN t.c (init runs them as one table's script, and a table
 * that exists had them run when it was created). */
static int on_existing_table(struct schema_ctx *ctx, const char *t, size_t n, bool *noop)
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
    if (!sqlscript_token_name(&w, name, sizeof(name)))
        return 0;
    return schema_table_exists(ctx, name, noop);
}

/* ---- the views init creates, and those an ALTER must drop ---- */

/* The view of an embedded file of view_dirs (schema_view_name: a
 * monitoring view's own name, analysis_<name> for a query). */
static int embedded_view_name(const struct sql_file *f, char *view, size_t size)
{
    return schema_view_name(strcmp(f->dir, DIR_QUERIES) == 0 ? "queries" : "views/monitoring",
                            f->name, view, size);
}

/* The names of the views init creates (the generated monitoring views, the
 * current views of the history streams, the embedded views) into
 * OWN(ctx)->own_views, each between line breaks. */
static int collect_own_views(struct schema_ctx *ctx)
{
    struct ddlgen_monitor *gen = NULL;
    size_t ngen = 0;
    int rc = buf_addc(&OWN(ctx)->own_views, '\n');
    if (!rc)
        rc = monitor_generated_views(ctx->cfg, &gen, &ngen);
    for (size_t i = 0; !rc && i < ngen; i++)
        rc = buf_addf(&OWN(ctx)->own_views, "%s\n", gen[i].name);
    ddlgen_monitor_views_free(gen, ngen);
    for (size_t i = 0; !rc && i < ctx->ndefs; i++)
        if (ctx->defs[i]->table->history) {
            rc = history_current_name(&OWN(ctx)->own_views, ctx->defs[i]);
            if (!rc)
                rc = buf_addc(&OWN(ctx)->own_views, '\n');
        }
    for (size_t d = 0; !rc && d < ARRAY_LEN(view_dirs); d++)
        for (size_t i = 0; !rc && i < sql_files_count; i++) {
            char view[128];
            if (strcmp(sql_files[i].dir, view_dirs[d]) != 0)
                continue;
            rc = embedded_view_name(&sql_files[i], view, sizeof(view));
            if (!rc)
                rc = buf_addf(&OWN(ctx)->own_views, "%s\n", view);
        }
    return rc;
}

/* Whether view `name` of schema `nsp` is one init creates. */
static bool own_view(const struct schema_ctx *ctx, const char *nsp, const char *name)
{
    size_t n = strlen(name);
    const char *p = OWN(ctx)->own_views.data;
    if (strcmp(nsp, ctx->space) != 0)
        return false;
    while ((p = strstr(p, name)) != NULL) {
        if (p > OWN(ctx)->own_views.data && p[-1] == '\n' && p[n] == '\n')
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

/* Adds view `name` to OWN(ctx)->drop_views, once (a view may read two tables). */
static int add_view_drop(struct schema_ctx *ctx, const char *name)
{
    struct buf q = BUF_INIT;
    int rc = wh_append_ident(DB_DIALECT_POSTGRES, &q, name);
    if (!rc && !strstr(OWN(ctx)->drop_views.data, q.data)) {
        rc = buf_adds(&OWN(ctx)->drop_views,
                      OWN(ctx)->drop_views.len ? ", " : "DROP VIEW IF EXISTS ");
        if (!rc)
            rc = buf_add(&OWN(ctx)->drop_views, q.data, q.len);
    }
    buf_release(&q);
    return rc;
}

/* The views to drop before the ALTER of `st` and to create again after it
 * (CREATE OR REPLACE VIEW cannot change a view's columns): when it gains a
 * column, init's own views over the table and every view over those; with
 * a retyped column, every view over the table; none for a change of NULL
 * or a COMMENT. Added to OWN(ctx)->drop_views. One that is not init's would be
 * lost: refused (ML_ECONFIG), before anything is written. */
static int plan_view_drops(struct schema_ctx *ctx, const struct schema_table *st)
{
    const char *params[2] = {ctx->space, st->table->name};
    const struct schemadiff_change *retype = retyped(st), *add = added(st);
    struct wh_result *r = NULL;
    struct dep_view *v = NULL;
    const char *const *row;
    size_t n = 0;
    bool grew = true;
    int rc;
    if (!retype && !add)
        return 0;
    rc = wh_query(ctx->w, dependents_sql, 2, params, NULL, &r);
    if (!rc && !(v = calloc(wh_result_rows(r) + 1, sizeof(*v))))
        rc = err_set(ML_ENOMEM, "out of memory");
    while (!rc && wh_result_next(r, &row, NULL) == 1) {
        snprintf(v[n].nsp, sizeof(v[n].nsp), "%s", row[0] ? row[0] : "");
        snprintf(v[n].name, sizeof(v[n].name), "%s", row[1] ? row[1] : "");
        v[n].oid = row[2] ? strtoul(row[2], NULL, 10) : 0;
        v[n].parent = row[3] ? strtoul(row[3], NULL, 10) : 0;
        v[n].needed = retype || own_view(ctx, v[n].nsp, v[n].name);
        n++;
    }
    wh_result_free(r);
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

/* ---- what is there, read before anything is written ---- */

/* The session on the maintenance database (CREATE DATABASE, the roles,
 * the init lock), and the kind's state. */
static int pg_connect_server(struct schema_ctx *ctx)
{
    struct pg_own *own = calloc(1, sizeof(*own));
    int rc, v;
    if (!own)
        return err_set(ML_ENOMEM, "out of memory");
    ctx->own = own;
    buf_init(&own->own_views, 0);
    buf_init(&own->drop_views, 0);
    rc = collect_own_views(ctx);
    if (!rc)
        rc = wh_connect(ctx->cfg, WH_ADMIN_SERVER, &ctx->server);
    if (rc)
        return rc;
    v = pg_server_version(wh_pg(ctx->server));
    snprintf(ctx->rep->server, sizeof(ctx->rep->server), "PostgreSQL %d.%d", v / 10000, v % 10000);
    return 0;
}

/* An advisory lock of the maintenance database, where every init
 * connects; the session's. */
static int pg_try_lock(struct schema_ctx *ctx, enum schema_lock *got)
{
    const char *name = SCHEMA_INIT_LOCK;
    unsigned long long n = 0;
    int rc = wh_query_u64(ctx->server, "SELECT pg_try_advisory_lock(hashtext($1))::int", 1, &name,
                          &n, NULL);
    *got = n == 1 ? SCHEMA_LOCK_TAKEN : SCHEMA_LOCK_BUSY;
    return rc;
}

static int pg_open_warehouse(struct schema_ctx *ctx)
{
    const char *db = ctx->cfg->warehouse.database;
    unsigned long long n = 0;
    int rc;
    rc = wh_query_u64(ctx->server, "SELECT COUNT(*) FROM pg_catalog.pg_database WHERE datname = $1",
                      1, &db, &n, NULL);
    if (rc)
        return err_prefix(rc, "reading the databases");
    ctx->db_exists = n > 0;
    if (!ctx->db_exists)
        return 0; /* every table is missing */
    rc = wh_connect(ctx->cfg, WH_ADMIN, &ctx->w);
    if (!rc)
        rc = wh_query_u64(ctx->w, "SELECT COUNT(*) FROM pg_catalog.pg_namespace WHERE nspname = $1",
                          1, &ctx->space, &n, NULL);
    ctx->space_exists = !rc && n > 0;
    return rc;
}

/* The views over the tables to alter, found before anything is written:
 * one that is not init's is refused (plan_view_drops). */
static int pg_refuse(struct schema_ctx *ctx)
{
    int rc = 0;
    for (size_t i = 0; !rc && ctx->space_exists && i < ctx->ntables; i++)
        if (!ctx->tables[i].diff.missing && schemadiff_alters(&ctx->tables[i].diff))
            rc = plan_view_drops(ctx, &ctx->tables[i]);
    return rc;
}

/* ---- the steps ---- */

/* The database over the maintenance connection (CREATE DATABASE runs
 * neither in a transaction nor on the database it creates), then the
 * schema; the session's search_path names it: tables are created in it. */
static int pg_create_space(struct schema_ctx *ctx)
{
    const char *db = ctx->cfg->warehouse.database;
    const char *schema = ctx->space;
    int rc = 0;
    if (!ctx->db_exists) {
        buf_reset(&ctx->sql);
        rc = buf_adds(&ctx->sql, "CREATE DATABASE ");
        if (!rc)
            rc = wh_append_ident(DB_DIALECT_POSTGRES, &ctx->sql, db);
        if (!rc)
            rc = buf_adds(&ctx->sql, " ENCODING 'UTF8' TEMPLATE template0");
        if (!rc)
            rc = schema_apply_on(ctx, ctx->server, ctx->sql.data, ctx->sql.len);
        if (!rc && !ctx->plan)
            rc = wh_connect(ctx->cfg, WH_ADMIN, &ctx->w);
        if (rc)
            return err_prefix(rc, "creating database '%s'", db);
    }
    if (ctx->space_exists)
        return 0;
    buf_reset(&ctx->sql);
    rc = ddlgen_pg_schema(&ctx->sql, schema);
    if (!rc)
        rc = schema_apply(ctx, ctx->sql.data, ctx->sql.len);
    buf_reset(&ctx->sql);
    if (!rc && !ctx->plan)
        rc = buf_adds(&ctx->sql, "SET search_path TO ");
    if (!rc && !ctx->plan)
        rc = wh_append_ident(DB_DIALECT_POSTGRES, &ctx->sql, schema);
    if (!rc && !ctx->plan)
        rc = wh_exec(ctx->w, ctx->sql.data);
    if (!rc && !ctx->plan)
        ctx->space_exists = true;
    return rc ? err_prefix(rc, "creating schema '%s'", schema) : 0;
}

static int pg_bookkeeping(struct schema_ctx *ctx)
{
    for (size_t i = 0; i < sql_files_count; i++) {
        const struct sql_file *f = &sql_files[i];
        char what[256];
        int rc;
        if (strcmp(f->dir, DIR_DDL) != 0)
            continue;
        snprintf(what, sizeof(what), "%s/%s", f->dir, f->name);
        rc = schema_run_script(ctx, f->text, f->len, what, false, NULL);
        if (rc)
            return rc;
        ctx->rep->tables++;
    }
    return 0;
}

/* One view: the statement of a monitoring file, or a query file's SELECT
 * made a view; under a savepoint, so that one reading a relation that does
 * not exist is skipped and the transaction goes on. */
static int install_view(struct schema_ctx *ctx, const struct sql_file *f)
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
            rc = wh_append_ident(DB_DIALECT_POSTGRES, &ctx->sql, view);
        if (!rc)
            rc = buf_adds(&ctx->sql, " WITH (security_invoker = true) AS ");
    }
    if (!rc)
        rc = buf_add(&ctx->sql, stmt, len);
    if (rc)
        return rc;
    if (ctx->plan) {
        rc = schema_apply(ctx, ctx->sql.data, ctx->sql.len);
    } else {
        rc = wh_exec(ctx->w, "SAVEPOINT maskload_view");
        if (!rc) {
            rc = wh_exec(ctx->w, ctx->sql.data);
            if (rc && wh_error_undefined_table(ctx->w)) {
                log_info("init: view '%s' skipped: it reads a relation no configured stream "
                         "creates (%s)",
                         view, err_msg());
                err_clear();
                ctx->rep->views_skipped++;
                return wh_exec(ctx->w, "ROLLBACK TO SAVEPOINT maskload_view");
            }
            if (!rc)
                ctx->rep->statements++;
        }
    }
    if (!rc)
        rc = schema_grant_view(ctx, view);
    if (rc)
        return err_prefix(rc, "installing view '%s' from %s/%s", view, f->dir, f->name);
    ctx->rep->views++;
    return 0;
}

/* Audited reveal: (re)creates the function pii_reveal for the surrogate
 * kinds in use, owned by the loader role (it reads the sensitive tables and
 * writes pii_access_log with the loader's rights and nobody else's), and
 * executable by the steward role only. */
static int install_reveal(struct schema_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char **kinds = NULL;
    size_t nkinds = 0;
    int rc = ddlgen_surrogate_kinds(ctx->defs, ctx->ndefs, &kinds, &nkinds);
    buf_reset(&ctx->sql);
    if (!rc)
        rc = ddlgen_reveal_procedure(&ctx->sql, ctx->space, kinds, nkinds, cfg->roles.loader, NULL,
                                     DB_DIALECT_POSTGRES);
    if (!rc)
        rc = ddlgen_reveal_grants(&ctx->sql, ctx->space, cfg->roles.loader, cfg->roles.steward,
                                  DB_DIALECT_POSTGRES);
    if (!rc)
        rc = schema_run_script(ctx, ctx->sql.data, ctx->sql.len, "the reveal function pii_reveal",
                               false, NULL);
    free(kinds);
    return rc;
}

/* In one transaction, so that no reader sees the moment between: the views
 * over the tables to alter dropped, the ALTERs, the roles and privileges
 * restated from nothing (ddlgen_pg_access revokes before it grants), the
 * reveal function, then the views and their grants. */
static int pg_access(struct schema_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    struct pg_own *own = OWN(ctx);
    struct ddlgen_pg_access a = {
        .database = cfg->warehouse.database,
        .schema = ctx->space,
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
        rc = ddlgen_partition_grants(&access, ctx->defs, ctx->ndefs, ctx->space, cfg->roles.loader,
                                     DB_DIALECT_POSTGRES);
    if (rc) {
        buf_release(&access);
        return err_prefix(rc, "deriving the privileges");
    }
    if (!ctx->plan)
        rc = wh_begin(ctx->w);
    else
        schema_note(ctx, "in one transaction: the changes of the stream tables that exist, the "
                         "roles and privileges, then the views, each granted to the analyst role; "
                         "a view that reads a relation no configured stream creates is skipped");
    if (!rc && own->drop_views.len) {
        rc = schema_apply(ctx, own->drop_views.data, own->drop_views.len);
        if (rc)
            err_prefix(rc, "dropping the views over the tables to alter");
    }
    if (!rc)
        rc = schema_alter_tables(ctx);
    if (!rc)
        rc = schema_run_script(ctx, access.data, access.len, "roles and privileges", false, NULL);
    buf_release(&access);
    if (!rc)
        rc = install_reveal(ctx);
    if (!rc)
        rc = schema_install_generated_views(ctx);
    if (!rc)
        rc = schema_install_history_views(ctx);
    for (size_t d = 0; !rc && d < ARRAY_LEN(view_dirs); d++)
        for (size_t i = 0; !rc && i < sql_files_count; i++)
            if (strcmp(sql_files[i].dir, view_dirs[d]) == 0)
                rc = install_view(ctx, &sql_files[i]);
    if (!rc && !ctx->plan)
        rc = wh_commit(ctx->w);
    if (rc && !ctx->plan)
        wh_rollback(ctx->w);
    return rc;
}

/* One account: a LOGIN role, member of `role`, search_path the schema; its
 * configured password when it is new (or with reset_passwords). The
 * password is never in a statement's text, nor in the plan. */
static int pg_account(struct schema_ctx *ctx, const char *user, const char *password,
                      const char *role, const char *what)
{
    unsigned long long exists = 0;
    int rc;
    rc = wh_query_u64(ctx->server, "SELECT COUNT(*) FROM pg_catalog.pg_roles WHERE rolname = $1", 1,
                      &user, &exists, NULL);
    if (rc)
        return err_prefix(rc, "%s account '%s'", what, user);
    if (ctx->plan) {
        schema_note(ctx, "account '%s' (%s): %s; a member of %s, its search_path %s", user, what,
                    !exists                ? "created with its configured password (not shown)"
                    : ctx->reset_passwords ? "exists; its password is set to the configured one"
                                           : "exists; its password is left as it is",
                    role, ctx->space);
        return 0;
    }
    buf_reset(&ctx->sql);
    rc = ddlgen_pg_account(&ctx->sql, user, role, ctx->space);
    if (!rc)
        rc = schema_run_script(ctx, ctx->sql.data, ctx->sql.len, "account", false, NULL);
    if (!rc && (!exists || ctx->reset_passwords))
        rc = pg_set_role_password(wh_pg(ctx->w), user, password);
    if (rc)
        return err_prefix(rc, "%s account '%s'", what, user);
    if (exists && !ctx->reset_passwords)
        log_info("init: the %s account '%s' exists; its password is left as it is "
                 "(`maskload init --reset-passwords` sets the configured one)",
                 what, user);
    ctx->rep->accounts++;
    return 0;
}

static void pg_close_own(struct schema_ctx *ctx)
{
    struct pg_own *own = OWN(ctx);
    if (!own)
        return;
    buf_release(&own->own_views);
    buf_release(&own->drop_views);
    free(own);
    ctx->own = NULL;
}

const struct schema_kind schema_kind_pg = {
    .connect = pg_connect_server,
    .try_lock = pg_try_lock,
    .open = pg_open_warehouse,
    .refuse = pg_refuse,
    .create_space = pg_create_space,
    .bookkeeping = pg_bookkeeping,
    .next = schema_pg_next,
    .unchanged = on_existing_table,
    .one_line = schema_pg_one_line,
    .access = pg_access,
    .account = pg_account,
    .close = pg_close_own,
    .alter_with_access = true,
};
