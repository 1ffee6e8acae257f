/* schema_mysql.c - what a MySQL/MariaDB warehouse does in init's path
 * (schema_int.h; schema.h says what init makes): its database, the files
 * of ddl/ and grants/ with their placeholders, the reveal procedure, the
 * embedded views, the accounts with their account roles, and the
 * anonymous accounts that would shadow them. Over wh.h, reaching db.h
 * (wh_db) for what only MySQL has: its escaping and the server's kind. */
#include "schema.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "ddlgen.h"
#include "error.h"
#include "log.h"
#include "schema_int.h"
#include "sqlfiles.h"
#include "wh.h"
#include "banned.h"

/* Server error: a statement names a table that does not exist. */
#define ER_NO_SUCH_TABLE 1146

/* The MySQL connection under ctx->w (opened by mysql_open, never NULL after). */
#define DB(ctx) wh_db((ctx)->w)

/* ---- what exists (plan mode: a statement that would change nothing is not shown) ---- */

/* Whether column `column` of `table` exists in the warehouse database. */
static int column_exists(struct schema_ctx *ctx, const char *table, const char *column, bool *yes)
{
    const char *params[3] = {ctx->space, table, column};
    unsigned long long n = 0;
    int rc = wh_query_u64(ctx->w,
                          "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = $1 "
                          "AND TABLE_NAME = $2 AND COLUMN_NAME = $3",
                          3, params, &n, NULL);
    *yes = n > 0;
    return rc;
}

/* True when a statement of ddl/ would change nothing: CREATE TABLE IF NOT
 * EXISTS of a table that exists, or ALTER TABLE ... ADD COLUMN IF NOT
 * EXISTS ... whose columns all exist. Anything else is shown. */
static int ddl_is_noop(struct schema_ctx *ctx, const char *t, size_t len, bool *noop)
{
    struct sql_token tok;
    char table[72], col[72];
    size_t i = 0;
    bool create, exists = false;
    int rc;
    *noop = false;
    if (!ctx->space_exists)
        return 0;
    i = sqlscript_token(t, len, i, '`', &tok);
    create = sqlscript_token_is(&tok, "CREATE");
    if (!create && !sqlscript_token_is(&tok, "ALTER"))
        return 0;
    if (!sqlscript_expect(t, len, &i, '`', create ? "TABLE IF NOT EXISTS" : "TABLE"))
        return 0;
    i = sqlscript_token(t, len, i, '`', &tok);
    if (!sqlscript_token_name(&tok, table, sizeof(table)))
        return 0;
    rc = schema_table_exists(ctx, table, &exists);
    if (rc || !exists || create) {
        *noop = !rc && exists;
        return rc;
    }
    /* ALTER: every clause ADD [COLUMN] IF NOT EXISTS <existing column> ... */
    for (;;) {
        int depth = 0;
        i = sqlscript_token(t, len, i, '`', &tok);
        if (!sqlscript_token_is(&tok, "ADD"))
            return 0;
        i = sqlscript_token(t, len, i, '`', &tok);
        if (sqlscript_token_is(&tok, "COLUMN"))
            i = sqlscript_token(t, len, i, '`', &tok);
        if (!sqlscript_token_is(&tok, "IF") || !sqlscript_expect(t, len, &i, '`', "NOT EXISTS"))
            return 0;
        i = sqlscript_token(t, len, i, '`', &tok);
        if (!sqlscript_token_name(&tok, col, sizeof(col)))
            return 0;
        rc = column_exists(ctx, table, col, &exists);
        if (rc || !exists)
            return rc;
        /* to the next top-level comma, or the end */
        for (;;) {
            i = sqlscript_token(t, len, i, '`', &tok);
            if (tok.n == 0)
                break;
            if (!tok.word && tok.n == 1 && *tok.s == '(')
                depth++;
            else if (!tok.word && tok.n == 1 && *tok.s == ')')
                depth--;
            else if (!tok.word && tok.n == 1 && *tok.s == ',' && depth == 0)
                break;
        }
        if (tok.n == 0) {
            *noop = true;
            return 0;
        }
    }
}

/* Runs every statement of a file, its placeholders ({{db}} and the roles)
 * expanded (schema_run_script). */
static int run_file(struct schema_ctx *ctx, const struct sql_file *f, bool *missing_table)
{
    const struct config *cfg = ctx->cfg;
    const char *names[] = {"db", "loader_role", "analyst_role", "steward_role"};
    const char *values[] = {cfg->warehouse.database, cfg->roles.loader, cfg->roles.analyst,
                            cfg->roles.steward};
    struct buf text = BUF_INIT;
    char what[256];
    int rc = sqlscript_expand(f->text, f->len, names, values, 4, &text);
    snprintf(what, sizeof(what), "%s/%s", f->dir, f->name);
    if (rc)
        err_prefix(rc, "%s", what);
    else
        rc = schema_run_script(ctx, text.data, text.len, what, false, missing_table);
    buf_release(&text);
    return rc;
}

/* The SELECT of an embedded view file: a query file is one SELECT; a
 * monitoring view file's first statement is "CREATE ... VIEW <name> AS
 * <select>". 0, or ML_EINTERNAL when the file is not so shaped. */
static int view_select(const struct sql_file *f, const char *view, const char **sel, size_t *len)
{
    size_t pos = 0, i = 0;
    const char *stmt;
    struct sql_token tok;
    if (!sqlscript_next(f->text, f->len, &pos, &stmt, len))
        return err_set(ML_EINTERNAL, "%s/%s holds no statement", f->dir, f->name);
    *sel = stmt;
    if (strcmp(f->dir, "queries") == 0)
        return 0;
    do
        i = sqlscript_token(stmt, *len, i, '`', &tok);
    while (tok.n && !sqlscript_token_is(&tok, "VIEW"));
    if (tok.n)
        i = sqlscript_token(stmt, *len, i, '`', &tok);
    if (!sqlscript_token_is(&tok, view) || !sqlscript_expect(stmt, *len, &i, '`', "AS"))
        return err_set(ML_EINTERNAL, "%s/%s does not create view '%s'", f->dir, f->name, view);
    *sel = stmt + i;
    *len -= i;
    return 0;
}

int schema_view_skipped(struct db *db, const char *view, bool *skipped)
{
    struct buf sql = BUF_INIT;
    unsigned long long n = 0;
    const struct sql_file *f = NULL;
    const char *sel = NULL;
    size_t len = 0;
    int rc;
    *skipped = false;
    for (size_t i = 0; !f && i < sql_files_count; i++) {
        char name[128];
        if ((strcmp(sql_files[i].dir, "views/monitoring") == 0 ||
             strcmp(sql_files[i].dir, "queries") == 0) &&
            schema_view_name(sql_files[i].dir, sql_files[i].name, name, sizeof(name)) == 0 &&
            strcmp(name, view) == 0)
            f = &sql_files[i];
    }
    err_clear();
    if (!f)
        return err_set(ML_EINVAL, "no embedded view '%s'", view);
    /* init has run (it creates load_runs before any view) */
    rc = db_query_u64(db,
                      "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                      "TABLE_SCHEMA=DATABASE() AND TABLE_NAME='load_runs'",
                      &n, NULL);
    if (rc || n == 0)
        return rc;
    rc = view_select(f, view, &sel, &len);
    if (!rc)
        rc = buf_adds(&sql, "EXPLAIN ");
    if (!rc)
        rc = buf_add(&sql, sel, len);
    if (!rc) {
        rc = db_exec_len(db, sql.data, sql.len);
        if (rc && db_errno(db) == ER_NO_SUCH_TABLE) {
            *skipped = true;
            err_clear();
            rc = 0;
        }
    }
    buf_release(&sql);
    return rc;
}

/* A view that reads a table no configured stream creates (a monitoring
 * view over messages_raw in a config without messages) is skipped, not an
 * error: it is named at info level, not installed and not granted. In plan
 * mode the views are named in one comment line (whether one will be skipped
 * shows only when its statement runs). */
static int install_views(struct schema_ctx *ctx)
{
    struct buf names = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < sql_files_count; i++) {
        const struct sql_file *f = &sql_files[i];
        char view[128];
        bool missing = false;
        if (strcmp(f->dir, "views/monitoring") != 0 && strcmp(f->dir, "queries") != 0)
            continue;
        rc = schema_view_name(f->dir, f->name, view, sizeof(view));
        if (rc)
            break;
        if (ctx->plan) {
            rc = buf_addf(&names, "%s%s", names.len ? ", " : "", view);
            continue;
        }
        if (strcmp(f->dir, "queries") == 0) {
            /* a query file holds exactly one SELECT; install it as a view */
            size_t pos = 0, len;
            const char *stmt;
            if (!sqlscript_next(f->text, f->len, &pos, &stmt, &len)) {
                rc = err_set(ML_EINTERNAL, "queries/%s holds no statement", f->name);
                break;
            }
            buf_reset(&ctx->sql);
            rc = buf_addf(&ctx->sql, "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `%s` AS ", view);
            if (!rc)
                rc = buf_add(&ctx->sql, stmt, len);
            if (!rc) {
                rc = db_exec_len(DB(ctx), ctx->sql.data, ctx->sql.len);
                missing = rc && db_errno(DB(ctx)) == ER_NO_SUCH_TABLE;
            }
            if (rc && !missing) {
                err_prefix(rc, "installing view '%s' from queries/%s", view, f->name);
                break;
            }
            if (!rc)
                ctx->rep->statements++;
        } else {
            rc = run_file(ctx, f, &missing);
            if (rc && !missing)
                break;
        }
        if (missing) {
            log_info("init: view '%s' skipped: it reads a table no configured stream creates (%s)",
                     view, err_msg());
            err_clear();
            rc = 0;
            ctx->rep->views_skipped++;
            continue;
        }
        rc = schema_grant_view(ctx, view);
        if (rc)
            break;
        ctx->rep->views++;
    }
    if (!rc && ctx->plan && names.len)
        schema_note(ctx,
                    "views: init (re)creates %s, each granted to %s; one that reads a table no "
                    "configured stream creates is skipped",
                    names.data, ctx->cfg->roles.analyst);
    buf_release(&names);
    return rc;
}

static int append_account(struct buf *sql, struct db *db, const char *user, const char *host)
{
    int rc = db_append_quoted(db, sql, user, strlen(user));
    if (!rc)
        rc = buf_addc(sql, '@');
    return rc ? rc : db_append_quoted(db, sql, host, strlen(host));
}

/* The role an account logs in with: `maskload_account_<user>`. It holds
 * the per-database roles of every warehouse the account serves, so that one
 * account can read several warehouses and the init of one never takes the
 * other's rights away (MariaDB activates one default role). */
static int append_account_role(struct buf *sql, const char *user)
{
    char name[128];
    snprintf(name, sizeof(name), "maskload_account_%s", user);
    return db_append_ident(sql, name);
}

int schema_anonymous_shadows(struct db *admin, const char *accounts_host, struct buf *out)
{
    struct db_result *r = NULL;
    const char *const *row;
    bool pattern = strpbrk(accounts_host, "%_") != NULL;
    int rc = db_query(admin, "SELECT Host FROM mysql.user WHERE User = '' ORDER BY Host", &r);
    while (!rc && db_result_next(r, &row, NULL) == 1) {
        /* the server tries the most specific host first: a literal host
         * beats the configured pattern for the clients it names */
        if (!row[0] || !pattern || strpbrk(row[0], "%_"))
            continue;
        rc = buf_addf(out, "%s''@'%s'", out->len ? ", " : "", row[0]);
    }
    db_result_free(r);
    return rc ? err_prefix(rc, "reading the anonymous accounts") : 0;
}

/* Appends " FROM mysql.user WHERE User='user' AND Host='host'". */
static int append_user_row(struct buf *sql, struct db *db, const char *user, const char *host)
{
    int rc = buf_adds(sql, " FROM mysql.user WHERE User=");
    if (!rc)
        rc = db_append_quoted(db, sql, user, strlen(user));
    if (!rc)
        rc = buf_adds(sql, " AND Host=");
    return rc ? rc : db_append_quoted(db, sql, host, strlen(host));
}

/* How an existing account's password compares with the configured one,
 * read without changing it: 1 same, 0 different, -1 cannot tell (not
 * MariaDB, or not a mysql_native_password account). */
static int password_matches(struct schema_ctx *ctx, const char *user, const char *host,
                            const char *password)
{
    unsigned long long same = 0;
    bool is_null = true;
    int rc;
    if (!db_is_mariadb(DB(ctx)))
        return -1;
    buf_wipe(&ctx->sql);
    rc = buf_adds(&ctx->sql,
                  "SELECT plugin = 'mysql_native_password' AND authentication_string = PASSWORD(");
    if (!rc)
        rc = db_append_quoted(DB(ctx), &ctx->sql, password, strlen(password));
    if (!rc)
        rc = buf_addc(&ctx->sql, ')');
    if (!rc)
        rc = append_user_row(&ctx->sql, DB(ctx), user, host);
    if (!rc)
        rc = db_query_u64(DB(ctx), ctx->sql.data, &same, &is_null);
    buf_wipe(&ctx->sql);
    return rc || is_null ? -1 : same ? 1 : 0;
}

/* An anonymous account that shadows the accounts init creates makes their
 * logins fail with "Access denied" and nothing says why: refused. */
static int refuse_anonymous_shadows(struct schema_ctx *ctx)
{
    struct buf hosts = BUF_INIT;
    int rc = schema_anonymous_shadows(DB(ctx), ctx->cfg->accounts.host, &hosts);
    if (!rc && hosts.len)
        rc =
            err_set(ML_ECONFIG,
                    "the anonymous accounts %s would shadow the accounts init creates ('%s'@'%s'): "
                    "their logins from those hosts would fail with Access denied. Drop them "
                    "(a fresh mariadb-install-db creates them): DROP USER ''@'localhost'; for "
                    "each; `maskload doctor` lists them",
                    hosts.data, ctx->cfg->warehouse.user, ctx->cfg->accounts.host);
    buf_release(&hosts);
    return rc;
}

/* Creates one account when missing, or says that it leaves the password of
 * an existing one as it is (unless reset_passwords), and makes its account
 * role (above), which holds `role`, its default role. The SQL holds the
 * password: it is wiped and never logged, nor shown by plan, which names the
 * account in a comment line instead. */
static int ensure_account(struct schema_ctx *ctx, const char *user, const char *password,
                          const char *role, const char *what)
{
    const char *host = ctx->cfg->accounts.host;
    unsigned long long exists = 0;
    int rc;
    buf_reset(&ctx->sql);
    rc = buf_adds(&ctx->sql, "SELECT COUNT(*)");
    if (!rc)
        rc = append_user_row(&ctx->sql, DB(ctx), user, host);
    if (!rc)
        rc = db_query_u64(DB(ctx), ctx->sql.data, &exists, NULL);
    if (rc)
        return err_prefix(rc, "%s account '%s'@'%s'", what, user, host);
    if (ctx->plan) {
        schema_note(ctx,
                    "account '%s'@'%s' (%s): %s; its default role maskload_account_%s holds %s",
                    user, host, what,
                    !exists                ? "created with its configured password (not shown)"
                    : ctx->reset_passwords ? "exists; its password is set to the configured one"
                                           : "exists; its password is left as it is",
                    user, role);
        return 0;
    }
    if (exists && !ctx->reset_passwords) {
        int same = password_matches(ctx, user, host, password);
        if (same == 0)
            log_warn("init: the %s account '%s'@'%s' exists with a password other than the "
                     "configured one; left unchanged (`maskload init --reset-passwords` sets the "
                     "configured one)",
                     what, user, host);
        else
            log_info("init: the %s account '%s'@'%s' exists; its password is left as it is%s", what,
                     user, host, same == 1 ? " (it is the configured one)" : "");
    }
    for (int step = exists && !ctx->reset_passwords; step < 5; step++) {
        buf_wipe(&ctx->sql);
        switch (step) {
        case 0:
            rc = buf_adds(&ctx->sql, exists ? "ALTER USER " : "CREATE USER ");
            if (!rc)
                rc = append_account(&ctx->sql, DB(ctx), user, host);
            if (!rc)
                rc = buf_adds(&ctx->sql, " IDENTIFIED BY ");
            if (!rc)
                rc = db_append_quoted(DB(ctx), &ctx->sql, password, strlen(password));
            break;
        case 1:
            rc = buf_adds(&ctx->sql, "CREATE ROLE IF NOT EXISTS ");
            if (!rc)
                rc = append_account_role(&ctx->sql, user);
            break;
        case 2:
            rc = buf_addf(&ctx->sql, "GRANT %s TO ", role);
            if (!rc)
                rc = append_account_role(&ctx->sql, user);
            break;
        case 3:
            rc = buf_adds(&ctx->sql, "GRANT ");
            if (!rc)
                rc = append_account_role(&ctx->sql, user);
            if (!rc)
                rc = buf_adds(&ctx->sql, " TO ");
            if (!rc)
                rc = append_account(&ctx->sql, DB(ctx), user, host);
            break;
        default:
            rc = buf_adds(&ctx->sql, "SET DEFAULT ROLE ");
            if (!rc)
                rc = append_account_role(&ctx->sql, user);
            if (!rc)
                rc = buf_adds(&ctx->sql,
                              db_dialect(DB(ctx)) == DB_DIALECT_MYSQL8 || !db_is_mariadb(DB(ctx))
                                  ? " TO "
                                  : " FOR ");
            if (!rc)
                rc = append_account(&ctx->sql, DB(ctx), user, host);
            break;
        }
        if (!rc)
            rc = db_exec_len(DB(ctx), ctx->sql.data, ctx->sql.len);
        if (rc) {
            buf_wipe(&ctx->sql);
            return err_prefix(rc, "%s account '%s'@'%s'", what, user, host);
        }
        ctx->rep->statements++;
    }
    buf_wipe(&ctx->sql);
    ctx->rep->accounts++;
    return 0;
}

static int run_dir(struct schema_ctx *ctx, const char *dir, size_t *count)
{
    for (size_t i = 0; i < sql_files_count; i++) {
        if (strcmp(sql_files[i].dir, dir) != 0)
            continue;
        int rc = run_file(ctx, &sql_files[i], NULL);
        if (rc)
            return rc;
        if (count)
            (*count)++;
    }
    return 0;
}

/* SELECT on the derived tables (ddlgen_grants), after grants/ made the roles. */
static int grant_derived_tables(struct schema_ctx *ctx)
{
    const struct ddlgen_roles roles = {ctx->cfg->roles.analyst, ctx->cfg->roles.steward};
    struct buf grants = BUF_INIT;
    int rc = ddlgen_grants(&grants, ctx->defs, ctx->ndefs, ctx->cfg->warehouse.database, &roles,
                           db_dialect(DB(ctx)));
    if (!rc) /* ALTER, DROP on partitioned tables: `run` maintains their partitions */
        rc = ddlgen_partition_grants(&grants, ctx->defs, ctx->ndefs, ctx->cfg->warehouse.database,
                                     ctx->cfg->roles.loader, db_dialect(DB(ctx)));
    if (rc)
        rc = err_prefix(rc, "deriving the grants");
    else
        rc = schema_run_script(ctx, grants.data, grants.len, "derived grants", false, NULL);
    buf_release(&grants);
    return rc;
}

/* Audited reveal: (re)creates pii_reveal for the surrogate kinds in use,
 * run as the loader role (MariaDB; the loader account on MySQL, which takes
 * no role as a definer), so that the log is written with the loader's
 * rights and nobody else's; takes back the SELECT on sensitive_* an older
 * init gave the steward; grants EXECUTE to the definer role and the
 * steward. After grants/ (the roles and the log's grants). */
static int install_reveal(struct schema_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char *db = cfg->warehouse.database;
    const bool mariadb = db_is_mariadb(DB(ctx));
    const char **kinds = NULL;
    size_t nkinds = 0;
    struct buf revokes = BUF_INIT;
    struct db_result *res = NULL;
    const char *const *row;
    int rc = ddlgen_surrogate_kinds(ctx->defs, ctx->ndefs, &kinds, &nkinds);
    buf_reset(&ctx->sql);
    if (!rc)
        rc = ddlgen_reveal_procedure(&ctx->sql, db, kinds, nkinds,
                                     mariadb ? cfg->roles.loader : cfg->warehouse.user,
                                     mariadb ? NULL : cfg->accounts.host, db_dialect(DB(ctx)));
    if (!rc)
        rc = schema_apply(ctx, ctx->sql.data, ctx->sql.len);
    if (rc)
        err_prefix(rc, "creating the procedure 'pii_reveal'");
    /* the upgrade path: table grants of the steward on sensitive maps */
    buf_reset(&ctx->sql);
    if (!rc)
        rc = buf_adds(&ctx->sql, "SELECT Table_name FROM mysql.tables_priv WHERE Db=");
    if (!rc)
        rc = db_append_quoted(DB(ctx), &ctx->sql, db, strlen(db));
    if (!rc)
        rc = buf_adds(&ctx->sql, " AND User=");
    if (!rc)
        rc = db_append_quoted(DB(ctx), &ctx->sql, cfg->roles.steward, strlen(cfg->roles.steward));
    if (!rc)
        rc = buf_addf(&ctx->sql,
                      " AND Host='%s' AND Table_name LIKE 'sensitive\\_%%' AND "
                      "FIND_IN_SET('Select', Table_priv) > 0 ORDER BY Table_name",
                      mariadb ? "" : "%");
    if (!rc)
        rc = db_query(DB(ctx), ctx->sql.data, &res);
    while (!rc && db_result_next(res, &row, NULL) == 1) {
        if (!row[0])
            continue;
        rc = buf_adds(&revokes, "REVOKE SELECT ON `");
        if (!rc)
            rc = buf_adds(&revokes, db);
        if (!rc)
            rc = buf_adds(&revokes, "`.");
        if (!rc)
            rc = db_append_ident(&revokes, row[0]);
        if (!rc)
            rc = buf_addf(&revokes, " FROM `%s`;\n", cfg->roles.steward);
    }
    db_result_free(res);
    if (!rc && revokes.len)
        log_info("init: the steward role no longer reads sensitive tables directly (values are "
                 "revealed through pii_reveal)");
    if (!rc)
        rc = schema_run_script(ctx, revokes.data, revokes.len,
                               "revoking the steward's sensitive grants", false, NULL);
    buf_reset(&revokes);
    if (!rc)
        rc = ddlgen_reveal_grants(&revokes, db, cfg->roles.loader, cfg->roles.steward,
                                  db_dialect(DB(ctx)));
    if (!rc)
        rc = schema_run_script(ctx, revokes.data, revokes.len, "granting pii_reveal", false, NULL);
    buf_release(&revokes);
    free(kinds);
    return rc;
}

/* ---- the steps ---- */

/* The server session, no database selected: it creates the database. */
static int mysql_connect(struct schema_ctx *ctx)
{
    int rc = wh_connect(ctx->cfg, WH_ADMIN_SERVER, &ctx->w);
    if (!rc)
        snprintf(ctx->rep->server, sizeof(ctx->rep->server), "%s", db_server_info(DB(ctx)));
    return rc;
}

/* Server error: "This version of MariaDB doesn't yet support 'GET_LOCK in
 * cluster (WSREP_ON=ON)'" (a Galera node's named locks are its own). */
#define ER_NOT_SUPPORTED_YET 1235

/* GET_LOCK: the server's named lock, the session's. A Galera node's are
 * its own (an init on another node does not see it), and some MariaDB
 * releases refuse them there: SCHEMA_LOCK_NONE on a Galera node, after
 * the node's own lock is taken when it can be. */
static int mysql_try_lock(struct schema_ctx *ctx, enum schema_lock *got)
{
    const char *name = SCHEMA_INIT_LOCK;
    unsigned long long n = 0;
    bool galera = false, ready = false;
    char state[64];
    int rc = wh_query_u64(ctx->w, "SELECT GET_LOCK($1, 0)", 1, &name, &n, NULL);
    *got = SCHEMA_LOCK_BUSY;
    if (rc && db_errno(DB(ctx)) == ER_NOT_SUPPORTED_YET) { /* only ever said on a Galera node */
        err_clear();
        *got = SCHEMA_LOCK_NONE;
        return 0;
    }
    if (!rc && n == 1) /* taken: the node's own, or the server's */
        rc = db_galera_state(DB(ctx), &galera, &ready, state, sizeof(state));
    if (!rc && n == 1)
        *got = galera ? SCHEMA_LOCK_NONE : SCHEMA_LOCK_TAKEN;
    return rc;
}

static int mysql_open(struct schema_ctx *ctx)
{
    unsigned long long n = 0;
    int rc = wh_query_u64(ctx->w,
                          "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = $1",
                          1, &ctx->space, &n, NULL);
    ctx->db_exists = ctx->space_exists = n > 0;
    return rc;
}

static int mysql_create_space(struct schema_ctx *ctx)
{
    const char *db = ctx->cfg->warehouse.database;
    int rc = 0;
    if (ctx->db_exists && ctx->plan)
        return 0;
    buf_reset(&ctx->sql);
    rc = buf_addf(&ctx->sql,
                  "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE "
                  "utf8mb4_unicode_ci",
                  db);
    if (!rc)
        rc = schema_apply(ctx, ctx->sql.data, ctx->sql.len);
    if (!rc && !ctx->plan)
        rc = db_execf(DB(ctx), "USE `%s`", db);
    if (!rc && !ctx->plan)
        ctx->space_exists = true;
    return rc ? err_prefix(rc, "creating database '%s'", db) : 0;
}

static int mysql_bookkeeping(struct schema_ctx *ctx)
{
    return run_dir(ctx, "ddl", &ctx->rep->tables);
}

/* grants/ (the roles and the grants of the tables no stream describes),
 * the reveal procedure, the derived grants, then the views. */
static int mysql_access(struct schema_ctx *ctx)
{
    int rc = run_dir(ctx, "grants", NULL);
    if (!rc)
        rc = install_reveal(ctx);
    if (!rc)
        rc = grant_derived_tables(ctx);
    if (!rc)
        rc = schema_install_generated_views(ctx);
    if (!rc)
        rc = install_views(ctx);
    if (!rc)
        rc = schema_install_history_views(ctx);
    return rc;
}

const struct schema_kind schema_kind_mysql = {
    .connect = mysql_connect,
    .try_lock = mysql_try_lock,
    .open = mysql_open,
    .refuse = refuse_anonymous_shadows,
    .create_space = mysql_create_space,
    .bookkeeping = mysql_bookkeeping,
    .next = sqlscript_next,
    .unchanged = ddl_is_noop,
    .one_line = sqlscript_one_line,
    .access = mysql_access,
    .account = ensure_account,
    .close = NULL,
    .alter_with_access = false,
};
