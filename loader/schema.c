#include "schema.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "sqlfiles.h"
#include "banned.h"

struct init_ctx {
    const struct config *cfg;
    struct db *db;
    struct schema_report *rep;
    const char *names[4];
    const char *values[4];
    struct buf sql;
};

/* Runs every statement of a file, placeholders expanded. */
static int run_file(struct init_ctx *ctx, const struct sql_file *f)
{
    struct buf text = BUF_INIT;
    size_t pos = 0;
    const char *stmt;
    size_t len;
    int rc = sqlscript_expand(f->text, f->len, ctx->names, ctx->values, 4, &text);
    if (rc)
        err_prefix(rc, "%s/%s", f->dir, f->name);
    while (!rc && sqlscript_next(text.data, text.len, &pos, &stmt, &len)) {
        rc = db_exec_len(ctx->db, stmt, len);
        if (rc)
            err_prefix(rc, "%s/%s, statement %.60s", f->dir, f->name, stmt);
        ctx->rep->statements++;
    }
    buf_release(&text);
    return rc;
}

int schema_view_name(const char *dir, const char *file, char *out, size_t outsz)
{
    size_t n = strlen(file);
    const char *stem = file;
    if (n < 5 || strcmp(file + n - 4, ".sql") != 0)
        return err_set(ML_EINVAL, "'%s' is not an .sql file", file);
    n -= 4;
    if (strcmp(dir, "queries") == 0) {
        /* drop a leading "NN_" */
        size_t i = 0;
        while (i < n && isdigit((unsigned char)stem[i]))
            i++;
        if (i < n && stem[i] == '_' && i > 0)
            i++;
        else
            i = 0;
        if ((size_t)snprintf(out, outsz, "analysis_%.*s", (int)(n - i), stem + i) >= outsz)
            return err_set(ML_EINVAL, "view name too long");
    } else if ((size_t)snprintf(out, outsz, "%.*s", (int)n, stem) >= outsz) {
        return err_set(ML_EINVAL, "view name too long");
    }
    for (char *p = out; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return err_set(ML_EINVAL, "'%s' does not make a valid view name", file);
    return 0;
}

static int grant_view(struct init_ctx *ctx, const char *view)
{
    buf_reset(&ctx->sql);
    int rc = buf_addf(&ctx->sql, "GRANT SELECT ON `%s`.`%s` TO %s", ctx->cfg->warehouse.database,
                      view, ctx->cfg->roles.analyst);
    return rc ? rc : db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
}

static int install_views(struct init_ctx *ctx)
{
    for (size_t i = 0; i < sql_files_count; i++) {
        const struct sql_file *f = &sql_files[i];
        char view[128];
        int rc;
        if (strcmp(f->dir, "views/monitoring") != 0 && strcmp(f->dir, "queries") != 0)
            continue;
        rc = schema_view_name(f->dir, f->name, view, sizeof(view));
        if (rc)
            return rc;
        if (strcmp(f->dir, "queries") == 0) {
            /* a query file holds exactly one SELECT; install it as a view */
            size_t pos = 0, len;
            const char *stmt;
            if (!sqlscript_next(f->text, f->len, &pos, &stmt, &len))
                return err_set(ML_EINTERNAL, "queries/%s holds no statement", f->name);
            buf_reset(&ctx->sql);
            rc = buf_addf(&ctx->sql, "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `%s` AS ", view);
            if (!rc)
                rc = buf_add(&ctx->sql, stmt, len);
            if (!rc)
                rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
            if (rc)
                return err_prefix(rc, "installing view '%s' from queries/%s", view, f->name);
            ctx->rep->statements++;
        } else {
            rc = run_file(ctx, f);
            if (rc)
                return rc;
        }
        rc = grant_view(ctx, view);
        if (rc)
            return err_prefix(rc, "granting view '%s'", view);
        ctx->rep->views++;
    }
    return 0;
}

static int append_account(struct buf *sql, struct db *db, const char *user, const char *host)
{
    int rc = db_append_quoted(db, sql, user, strlen(user));
    if (!rc)
        rc = buf_addc(sql, '@');
    return rc ? rc : db_append_quoted(db, sql, host, strlen(host));
}

/* Creates or updates one account and gives it its role as default. The SQL
 * holds the password: it is wiped and never logged. */
static int ensure_account(struct init_ctx *ctx, const char *user, const char *password,
                          const char *role, const char *what)
{
    const char *host = ctx->cfg->accounts.host;
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
    for (int step = 0; step < 4; step++) {
        buf_wipe(&ctx->sql);
        switch (step) {
        case 0:
        case 1:
            rc = buf_adds(&ctx->sql, step == 0 ? "CREATE USER IF NOT EXISTS " : "ALTER USER ");
            if (!rc)
                rc = append_account(&ctx->sql, ctx->db, user, host);
            if (!rc)
                rc = buf_adds(&ctx->sql, " IDENTIFIED BY ");
            if (!rc)
                rc = db_append_quoted(ctx->db, &ctx->sql, password, strlen(password));
            break;
        case 2:
            rc = buf_addf(&ctx->sql, "GRANT %s TO ", role);
            if (!rc)
                rc = append_account(&ctx->sql, ctx->db, user, host);
            break;
        default:
            rc = buf_addf(
                &ctx->sql, "SET DEFAULT ROLE %s %s ", role,
                db_dialect(ctx->db) == DB_DIALECT_MYSQL8 || !db_is_mariadb(ctx->db) ? "TO" : "FOR");
            if (!rc)
                rc = append_account(&ctx->sql, ctx->db, user, host);
            break;
        }
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
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

static int run_dir(struct init_ctx *ctx, const char *dir, size_t *count)
{
    for (size_t i = 0; i < sql_files_count; i++) {
        if (strcmp(sql_files[i].dir, dir) != 0)
            continue;
        int rc = run_file(ctx, &sql_files[i]);
        if (rc)
            return rc;
        if (count)
            (*count)++;
    }
    return 0;
}

int schema_init(const struct config *cfg, struct schema_report *rep)
{
    struct init_ctx ctx = {.cfg = cfg, .rep = rep};
    const char *db = cfg->warehouse.database;
    int rc;

    memset(rep, 0, sizeof(*rep));
    buf_init(&ctx.sql, 0);
    ctx.names[0] = "db";
    ctx.values[0] = db;
    ctx.names[1] = "loader_role";
    ctx.values[1] = cfg->roles.loader;
    ctx.names[2] = "analyst_role";
    ctx.values[2] = cfg->roles.analyst;
    ctx.names[3] = "steward_role";
    ctx.values[3] = cfg->roles.steward;

    rc = conn_admin(cfg, false, &ctx.db);
    if (rc)
        return rc;
    snprintf(rep->server, sizeof(rep->server), "%s", db_server_info(ctx.db));
    rc = db_execf(
        ctx.db,
        "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", db);
    if (!rc)
        rc = db_execf(ctx.db, "USE `%s`", db);
    if (rc) {
        err_prefix(rc, "creating database '%s'", db);
        goto out;
    }
    rc = run_dir(&ctx, "ddl", &rep->tables);
    if (!rc)
        rc = run_dir(&ctx, "grants", NULL);
    if (!rc)
        rc = install_views(&ctx);
    if (!rc)
        rc = ensure_account(&ctx, cfg->warehouse.user, cfg->warehouse.password, cfg->roles.loader,
                            "loader");
    if (!rc)
        rc = ensure_account(&ctx, cfg->accounts.analyst.user, cfg->accounts.analyst.password,
                            cfg->roles.analyst, "analyst");
    if (!rc)
        rc = ensure_account(&ctx, cfg->accounts.steward.user, cfg->accounts.steward.password,
                            cfg->roles.steward, "steward");
out:
    buf_wipe(&ctx.sql);
    db_close(ctx.db);
    return rc ? err_prefix(rc, "init") : 0;
}
