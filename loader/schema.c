#include "schema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conn.h"
#include "db.h"
#include "ddlgen.h"
#include "error.h"
#include "history.h"
#include "log.h"
#include "monitor.h"
#include "partition.h"
#include "pii_key.h"
#include "schema_pg.h"
#include "schemadiff.h"
#include "sqlfiles.h"
#include "wh.h"
#include "streamdef.h"
#include "banned.h"

/* Server error: a statement names a table that does not exist. */
#define ER_NO_SUCH_TABLE 1146

struct init_ctx {
    const struct config *cfg;
    struct db *db;
    struct schema_report *rep;
    const char *names[4];
    const char *values[4];
    struct buf sql;
    const struct stream_def **defs; /* one per configured stream */
    size_t ndefs;
    /* `plan`: statements are written here, one per line, instead of run;
     * nothing is changed. NULL for init. */
    struct buf *plan;
    int plan_rc;                 /* the first failure to write a plan note (sticky) */
    bool db_exists;              /* the warehouse database exists (read before anything) */
    bool reset_passwords;        /* schema_options.reset_passwords */
    struct schema_table *tables; /* every stream table, compared with the server's */
    size_t ntables;
};

/* Runs one statement; in plan mode writes it on a line of its own ending
 * in ';' instead. Counted in rep->statements either way. */
static int apply(struct init_ctx *ctx, const char *sql, size_t len)
{
    int rc;
    if (ctx->plan) {
        rc = sqlscript_one_line(sql, len, ctx->plan);
        if (!rc)
            rc = buf_adds(ctx->plan, ";\n");
    } else {
        rc = db_exec_len(ctx->db, sql, len);
    }
    if (!rc)
        ctx->rep->statements++;
    return rc;
}

/* A comment line in the plan ("-- ..."): what init does that is not shown
 * as a statement (views, accounts) or leaves alone (kept columns). */
static void plan_note(struct init_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void plan_note(struct init_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    schema_plan_vnote(ctx->plan, &ctx->plan_rc, fmt, ap);
    va_end(ap);
}

void schema_plan_vnote(struct buf *plan, int *plan_rc, const char *fmt, va_list ap)
{
    if (!plan || *plan_rc)
        return;
    *plan_rc = buf_adds(plan, "-- ");
    if (!*plan_rc)
        *plan_rc = buf_vaddf(plan, fmt, ap);
    if (!*plan_rc)
        *plan_rc = buf_addc(plan, '\n');
}

/* ---- what exists (plan mode: a statement that would change nothing is not shown) ---- */

static int count_of(struct init_ctx *ctx, const char *from, const char *table, const char *column,
                    unsigned long long *n)
{
    const char *db = ctx->cfg->warehouse.database;
    int rc;
    buf_reset(&ctx->sql);
    rc = buf_addf(&ctx->sql, "SELECT COUNT(*) FROM information_schema.%s WHERE ", from);
    if (!rc && table) {
        rc = buf_adds(&ctx->sql, "TABLE_SCHEMA=");
        if (!rc)
            rc = db_append_quoted(ctx->db, &ctx->sql, db, strlen(db));
        if (!rc)
            rc = buf_adds(&ctx->sql, " AND TABLE_NAME=");
        if (!rc)
            rc = db_append_quoted(ctx->db, &ctx->sql, table, strlen(table));
        if (!rc && column) {
            rc = buf_adds(&ctx->sql, " AND COLUMN_NAME=");
            if (!rc)
                rc = db_append_quoted(ctx->db, &ctx->sql, column, strlen(column));
        }
    } else if (!rc) {
        rc = buf_adds(&ctx->sql, "SCHEMA_NAME=");
        if (!rc)
            rc = db_append_quoted(ctx->db, &ctx->sql, db, strlen(db));
    }
    return rc ? rc : db_query_u64(ctx->db, ctx->sql.data, n, NULL);
}

static int table_exists(struct init_ctx *ctx, const char *table, bool *yes)
{
    unsigned long long n = 0;
    int rc = ctx->db_exists ? count_of(ctx, "TABLES", table, NULL, &n) : 0;
    *yes = n > 0;
    return rc;
}

/* True when a statement of ddl/ would change nothing: CREATE TABLE IF NOT
 * EXISTS of a table that exists, or ALTER TABLE ... ADD COLUMN IF NOT
 * EXISTS ... whose columns all exist. Anything else is shown. */
static int ddl_is_noop(struct init_ctx *ctx, const char *t, size_t len, bool *noop)
{
    struct sql_token tok;
    char table[72], col[72];
    size_t i = 0;
    bool create, exists = false;
    unsigned long long n = 0;
    int rc;
    *noop = false;
    if (!ctx->db_exists)
        return 0;
    i = sqlscript_token(t, len, i, '`', &tok);
    create = sqlscript_token_is(&tok, "CREATE");
    if (!create && !sqlscript_token_is(&tok, "ALTER"))
        return 0;
    if (!sqlscript_expect(t, len, &i, '`', create ? "TABLE IF NOT EXISTS" : "TABLE"))
        return 0;
    i = sqlscript_token(t, len, i, '`', &tok);
    if (!tok.word || tok.n >= sizeof(table))
        return 0;
    memcpy(table, tok.s, tok.n);
    table[tok.n] = '\0';
    rc = table_exists(ctx, table, &exists);
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
        if (!tok.word || tok.n >= sizeof(col))
            return 0;
        memcpy(col, tok.s, tok.n);
        col[tok.n] = '\0';
        rc = count_of(ctx, "COLUMNS", table, col, &n);
        if (rc || n == 0)
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

/* Runs every statement of a script. `what` names it in messages. When
 * `missing_table` is given, a statement failing with ER_NO_SUCH_TABLE stops
 * the script with *missing_table set and the error left in err_msg(),
 * unprefixed, for the caller to report. */
static int run_script(struct init_ctx *ctx, const char *text, size_t total, const char *what,
                      bool *missing_table)
{
    size_t pos = 0;
    const char *stmt;
    size_t len;
    int rc = 0;
    while (!rc && sqlscript_next(text, total, &pos, &stmt, &len)) {
        bool noop = false;
        if (ctx->plan && (rc = ddl_is_noop(ctx, stmt, len, &noop)) == 0 && noop)
            continue;
        if (!rc)
            rc = apply(ctx, stmt, len);
        if (rc && !ctx->plan && missing_table && db_errno(ctx->db) == ER_NO_SUCH_TABLE) {
            *missing_table = true;
            return rc;
        }
        if (rc)
            err_prefix(rc, "%s, statement %.60s", what, stmt);
    }
    return rc;
}

/* Runs every statement of a file, placeholders expanded (see run_script). */
static int run_file(struct init_ctx *ctx, const struct sql_file *f, bool *missing_table)
{
    struct buf text = BUF_INIT;
    char what[256];
    int rc = sqlscript_expand(f->text, f->len, ctx->names, ctx->values, 4, &text);
    snprintf(what, sizeof(what), "%s/%s", f->dir, f->name);
    if (rc)
        err_prefix(rc, "%s", what);
    else
        rc = run_script(ctx, text.data, text.len, what, missing_table);
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

static int grant_view(struct init_ctx *ctx, const char *view)
{
    buf_reset(&ctx->sql);
    int rc = buf_addf(&ctx->sql, "GRANT SELECT ON `%s`.`%s` TO %s", ctx->cfg->warehouse.database,
                      view, ctx->cfg->roles.analyst);
    return rc ? rc : db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
}

/* A view that reads a table no configured stream creates (a monitoring
 * view over messages_raw in a config without messages) is skipped, not an
 * error: it is named at info level, not installed and not granted. In plan
 * mode the views are named in one comment line (whether one will be skipped
 * shows only when its statement runs). */
static int install_views(struct init_ctx *ctx)
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
                rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
                missing = rc && db_errno(ctx->db) == ER_NO_SUCH_TABLE;
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
        rc = grant_view(ctx, view);
        if (rc) {
            err_prefix(rc, "granting view '%s'", view);
            break;
        }
        ctx->rep->views++;
    }
    if (!rc && ctx->plan && names.len)
        plan_note(ctx,
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
static int password_matches(struct init_ctx *ctx, const char *user, const char *host,
                            const char *password)
{
    unsigned long long same = 0;
    bool is_null = true;
    int rc;
    if (!db_is_mariadb(ctx->db))
        return -1;
    buf_wipe(&ctx->sql);
    rc = buf_adds(&ctx->sql,
                  "SELECT plugin = 'mysql_native_password' AND authentication_string = PASSWORD(");
    if (!rc)
        rc = db_append_quoted(ctx->db, &ctx->sql, password, strlen(password));
    if (!rc)
        rc = buf_addc(&ctx->sql, ')');
    if (!rc)
        rc = append_user_row(&ctx->sql, ctx->db, user, host);
    if (!rc)
        rc = db_query_u64(ctx->db, ctx->sql.data, &same, &is_null);
    buf_wipe(&ctx->sql);
    return rc || is_null ? -1 : same ? 1 : 0;
}

/* An anonymous account that shadows the accounts init creates makes their
 * logins fail with "Access denied" and nothing says why: refused. */
static int refuse_anonymous_shadows(struct init_ctx *ctx)
{
    struct buf hosts = BUF_INIT;
    int rc = schema_anonymous_shadows(ctx->db, ctx->cfg->accounts.host, &hosts);
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
static int ensure_account(struct init_ctx *ctx, const char *user, const char *password,
                          const char *role, const char *what)
{
    const char *host = ctx->cfg->accounts.host;
    unsigned long long exists = 0;
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
    buf_reset(&ctx->sql);
    rc = buf_adds(&ctx->sql, "SELECT COUNT(*)");
    if (!rc)
        rc = append_user_row(&ctx->sql, ctx->db, user, host);
    if (!rc)
        rc = db_query_u64(ctx->db, ctx->sql.data, &exists, NULL);
    if (rc)
        return err_prefix(rc, "%s account '%s'@'%s'", what, user, host);
    if (ctx->plan) {
        plan_note(ctx, "account '%s'@'%s' (%s): %s; its default role maskload_account_%s holds %s",
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
                rc = append_account(&ctx->sql, ctx->db, user, host);
            if (!rc)
                rc = buf_adds(&ctx->sql, " IDENTIFIED BY ");
            if (!rc)
                rc = db_append_quoted(ctx->db, &ctx->sql, password, strlen(password));
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
                rc = append_account(&ctx->sql, ctx->db, user, host);
            break;
        default:
            rc = buf_adds(&ctx->sql, "SET DEFAULT ROLE ");
            if (!rc)
                rc = append_account_role(&ctx->sql, user);
            if (!rc)
                rc = buf_adds(&ctx->sql,
                              db_dialect(ctx->db) == DB_DIALECT_MYSQL8 || !db_is_mariadb(ctx->db)
                                  ? " TO "
                                  : " FOR ");
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
        int rc = run_file(ctx, &sql_files[i], NULL);
        if (rc)
            return rc;
        if (count)
            (*count)++;
    }
    return 0;
}

/* The definition of every configured stream, or of stream `only` alone
 * (config_load resolves them; a config built without it falls back to the
 * built-in of the stream's mapping or name). */
static int collect_definitions(struct init_ctx *ctx, const char *only)
{
    return schema_stream_defs(ctx->cfg, only, &ctx->defs, &ctx->ndefs);
}

int schema_stream_defs(const struct config *cfg, const char *only, const struct stream_def ***defs,
                       size_t *n)
{
    *n = 0;
    *defs = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(**defs));
    if (!*defs)
        return err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->nstreams; i++) {
        const struct config_stream *st = &cfg->streams[i];
        const char *name = st->mapping ? st->mapping : st->name;
        const struct stream_def *def = st->def ? st->def : streamdef_builtin(name);
        if (only && strcmp(only, st->name) != 0)
            continue;
        if (!def)
            return err_set(ML_ECONFIG, "stream '%s': no stream definition '%s'", st->name, name);
        (*defs)[(*n)++] = def;
    }
    return 0;
}

int schema_compare_tables(struct wh *w, const char *space, const struct stream_def *const *defs,
                          size_t ndefs, struct schema_table **out, size_t *nout)
{
    const struct table_def **tables = NULL;
    size_t ntables = 0;
    int rc = ddlgen_stream_tables(defs, ndefs, &tables, &ntables);
    *out = NULL;
    *nout = 0;
    if (!rc && ntables) {
        *out = calloc(ntables, sizeof(**out));
        if (!*out)
            rc = err_set(ML_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < ntables; i++) {
        struct schema_table *st = &(*out)[(*nout)++];
        st->table = tables[i];
        for (size_t k = 0; !st->def && k < ndefs; k++) {
            if (defs[k]->table == tables[i])
                st->def = defs[k];
            for (unsigned c = 0; !st->def && c < defs[k]->nchildren; c++)
                if (defs[k]->children[c].table == tables[i])
                    st->def = defs[k];
        }
        if (w) /* else no database: every table is missing */
            rc = schemadiff_read(w, space, tables[i]->name, &st->live);
        if (!rc)
            rc = schemadiff_compare(st->def, st->table, &st->live,
                                    w ? wh_dialect(w) : DB_DIALECT_POSTGRES, &st->diff);
    }
    free(tables);
    return rc;
}

void schema_tables_release(struct schema_table *tables, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        schemadiff_release(&tables[i].diff);
        schemadiff_live_release(&tables[i].live);
    }
    free(tables);
}

/* Reads every stream table of ctx->defs from the server (through ctx->db,
 * in the warehouse database) and compares it with its definition. */
static int compare_stream_tables(struct init_ctx *ctx)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? schema_compare_tables(w, ctx->cfg->warehouse.database, ctx->defs, ctx->ndefs,
                                       &ctx->tables, &ctx->ntables)
               : ML_ENOMEM;
    wh_close(w);
    return rc;
}

static void release_stream_tables(struct init_ctx *ctx)
{
    schema_tables_release(ctx->tables, ctx->ntables);
    ctx->tables = NULL;
    ctx->ntables = 0;
}

int schema_tables_refusal(const struct schema_table *tables, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct schemadiff_change *ch = schemadiff_refusal(&tables[i].diff);
        if (ch)
            return err_set(ML_ECONFIG, "%s", ch->refusal);
    }
    return 0;
}

void schema_table_altered(struct schema_report *rep, const struct schema_table *st, bool planned)
{
    rep->tables_altered++;
    for (size_t k = 0; k < st->diff.nchanges; k++) {
        enum schemadiff_action a = st->diff.changes[k].action;
        rep->columns_added += a == SD_ADD;
        rep->columns_changed += a == SD_MODIFY || a == SD_RELAX;
    }
    if (!planned)
        log_info("init: table '%s' altered to match its mapping (%s)", st->table->name,
                 st->def ? st->def->file : "?");
}

static void plan_note_of(struct buf *plan, int *plan_rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void plan_note_of(struct buf *plan, int *plan_rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    schema_plan_vnote(plan, plan_rc, fmt, ap);
    va_end(ap);
}

int schema_maintain_partitions(struct wh *w, const struct config *cfg,
                               const struct stream_def *const *defs, size_t ndefs, struct buf *plan,
                               int *plan_rc)
{
    for (size_t i = 0; plan && i < ndefs; i++)
        if (defs[i]->table->partition)
            plan_note_of(plan, plan_rc,
                         "partitions: init adds the missing partitions of table '%s' ahead "
                         "and drops those its retention has expired",
                         defs[i]->table->name);
    if (plan)
        return 0;
    return w ? partition_maintain_all(w, cfg, defs, ndefs, 0) : err_set(ML_ENOMEM, "out of memory");
}

void schema_table_kept(struct buf *plan, int *plan_rc, struct schema_report *rep,
                       const struct schema_table *st)
{
    for (size_t k = 0; k < st->diff.nchanges; k++) {
        const struct schemadiff_change *ch = &st->diff.changes[k];
        const char *relaxed = ch->action == SD_RELAX ? "; it becomes nullable, so that loads "
                                                       "can leave it empty"
                                                     : "";
        if (ch->action != SD_KEEP && ch->action != SD_RELAX)
            continue;
        rep->columns_kept++;
        if (plan)
            plan_note_of(plan, plan_rc,
                         "table '%s' keeps column '%s', which the mapping no longer declares "
                         "(data is never dropped by a mapping edit)%s",
                         st->table->name, ch->live->name, relaxed);
        else
            log_info("init: table '%s' keeps column '%s', which the mapping no longer declares: "
                     "data is never dropped by a mapping edit (drop it by hand if it should "
                     "go)%s",
                     st->table->name, ch->live->name, relaxed);
    }
}

/* Runs (or plans) the statement in ctx->sql; `what` names it in a failure. */
static int exec_generated(struct init_ctx *ctx, const char *what, const char *name)
{
    int rc = apply(ctx, ctx->sql.data, ctx->sql.len);
    return rc ? err_prefix(rc, "%s '%s'", what, name) : 0;
}

/* The stream tables (main and children) of the configured streams: CREATE
 * for those missing, one ALTER for each that differs from its definition
 * (compare_stream_tables); then the sensitive tables of the surrogate
 * kinds they use. */
static int create_derived_tables(struct init_ctx *ctx)
{
    enum db_dialect d = db_dialect(ctx->db);
    const char **kinds = NULL;
    size_t nkinds = 0;
    int rc = ddlgen_surrogate_kinds(ctx->defs, ctx->ndefs, &kinds, &nkinds);
    for (size_t i = 0; !rc && i < ctx->ntables; i++) {
        const struct schema_table *st = &ctx->tables[i];
        buf_reset(&ctx->sql);
        if (st->diff.missing) {
            rc = ddlgen_create_table(&ctx->sql, st->table, d);
            if (!rc && st->table->partition)
                rc = partition_create_clause(&ctx->sql, st->table, d);
            if (!rc)
                rc = exec_generated(ctx, "creating table", st->table->name);
        } else if (schemadiff_alters(&st->diff)) {
            rc = schemadiff_alter_sql(&ctx->sql, &st->diff, d);
            if (!rc)
                rc = exec_generated(ctx, "altering table", st->table->name);
            if (!rc)
                schema_table_altered(ctx->rep, st, ctx->plan != NULL);
        }
        if (!rc) {
            schema_table_kept(ctx->plan, &ctx->plan_rc, ctx->rep, st);
            ctx->rep->stream_tables++;
        }
    }
    for (size_t i = 0; !rc && i < nkinds; i++) {
        bool exists = false;
        if (ctx->plan) {
            struct buf name = BUF_INIT;
            rc = ddlgen_sensitive_name(&name, kinds[i]);
            if (!rc)
                rc = table_exists(ctx, name.data, &exists);
            buf_release(&name);
        }
        buf_reset(&ctx->sql);
        if (!rc && !exists)
            rc = ddlgen_sensitive_table(&ctx->sql, kinds[i], d);
        if (!rc && !exists)
            rc = exec_generated(ctx, "creating the sensitive table of kind", kinds[i]);
        if (!rc)
            ctx->rep->sensitive_tables++;
    }
    free(kinds);
    return rc;
}

/* SELECT on the derived tables (ddlgen_grants), after grants/ made the roles. */
static int grant_derived_tables(struct init_ctx *ctx)
{
    const struct ddlgen_roles roles = {ctx->cfg->roles.analyst, ctx->cfg->roles.steward};
    struct buf grants = BUF_INIT;
    int rc = ddlgen_grants(&grants, ctx->defs, ctx->ndefs, ctx->cfg->warehouse.database, &roles,
                           db_dialect(ctx->db));
    if (!rc) /* ALTER, DROP on partitioned tables: `run` maintains their partitions */
        rc = ddlgen_partition_grants(&grants, ctx->defs, ctx->ndefs, ctx->cfg->warehouse.database,
                                     ctx->cfg->roles.loader, db_dialect(ctx->db));
    if (rc)
        rc = err_prefix(rc, "deriving the grants");
    else
        rc = run_script(ctx, grants.data, grants.len, "derived grants", NULL);
    buf_release(&grants);
    return rc;
}

/* The generated monitoring views of the configured streams
 * (monitor_generated_views: small groups, declared checks, freshness,
 * min_rows, history invariants), each granted to the analyst like the embedded monitoring
 * views. Before the embedded views and queries, which may read them. In
 * plan mode the statement is shown, the grant named in a comment line. */
static int install_generated_views(struct init_ctx *ctx)
{
    struct ddlgen_monitor *gen = NULL;
    size_t ngen = 0;
    int rc = monitor_generated_views(ctx->cfg, &gen, &ngen);
    for (size_t i = 0; !rc && i < ngen; i++) {
        const char *name = gen[i].name;
        buf_reset(&ctx->sql);
        rc = ddlgen_monitor_view(&ctx->sql, &gen[i], db_dialect(ctx->db));
        if (!rc)
            rc = exec_generated(ctx, "installing view", name);
        if (!rc && ctx->plan)
            plan_note(ctx, "view '%s' is granted to %s", name, ctx->cfg->roles.analyst);
        else if (!rc) {
            rc = grant_view(ctx, name);
            if (rc)
                err_prefix(rc, "granting view '%s'", name);
        }
        if (!rc)
            ctx->rep->views++;
    }
    ddlgen_monitor_views_free(gen, ngen);
    return rc;
}

/* The current view `<table>_current` of every history stream (history.h),
 * granted to the analyst like the embedded monitoring views (the table
 * itself by the derived grants; its invariant monitor is one of the
 * generated views). In plan mode the statement is shown, the grant named. */
static int install_history_views(struct init_ctx *ctx)
{
    struct buf name = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < ctx->ndefs; i++) {
        const struct stream_def *def = ctx->defs[i];
        if (!def->table->history)
            continue;
        buf_reset(&name);
        buf_reset(&ctx->sql);
        rc = history_current_name(&name, def);
        if (!rc)
            rc = history_current_view(&ctx->sql, def);
        if (!rc)
            rc = exec_generated(ctx, "installing view", name.data);
        if (!rc && ctx->plan)
            plan_note(ctx, "view '%s' is granted to %s", name.data, ctx->cfg->roles.analyst);
        else if (!rc) {
            rc = grant_view(ctx, name.data);
            if (rc)
                err_prefix(rc, "granting view '%s'", name.data);
        }
        if (!rc)
            ctx->rep->views++;
    }
    buf_release(&name);
    return rc;
}

/* Audited reveal: (re)creates pii_reveal for the surrogate kinds in use,
 * run as the loader role (MariaDB; the loader account on MySQL, which takes
 * no role as a definer), so that the log is written with the loader's
 * rights and nobody else's; takes back the SELECT on sensitive_* an older
 * init gave the steward; grants EXECUTE to the definer role and the
 * steward. After grants/ (the roles and the log's grants). */
static int install_reveal(struct init_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    const char *db = cfg->warehouse.database;
    const bool mariadb = db_is_mariadb(ctx->db);
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
                                     mariadb ? NULL : cfg->accounts.host, db_dialect(ctx->db));
    if (!rc)
        rc = exec_generated(ctx, "creating the procedure", "pii_reveal");
    /* the upgrade path: table grants of the steward on sensitive maps */
    buf_reset(&ctx->sql);
    if (!rc)
        rc = buf_adds(&ctx->sql, "SELECT Table_name FROM mysql.tables_priv WHERE Db=");
    if (!rc)
        rc = db_append_quoted(ctx->db, &ctx->sql, db, strlen(db));
    if (!rc)
        rc = buf_adds(&ctx->sql, " AND User=");
    if (!rc)
        rc = db_append_quoted(ctx->db, &ctx->sql, cfg->roles.steward, strlen(cfg->roles.steward));
    if (!rc)
        rc = buf_addf(&ctx->sql,
                      " AND Host='%s' AND Table_name LIKE 'sensitive\\_%%' AND "
                      "FIND_IN_SET('Select', Table_priv) > 0 ORDER BY Table_name",
                      mariadb ? "" : "%");
    if (!rc)
        rc = db_query(ctx->db, ctx->sql.data, &res);
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
        rc = run_script(ctx, revokes.data, revokes.len, "revoking the steward's sensitive grants",
                        NULL);
    buf_reset(&revokes);
    if (!rc)
        rc = ddlgen_reveal_grants(&revokes, db, cfg->roles.loader, cfg->roles.steward,
                                  db_dialect(ctx->db));
    if (!rc)
        rc = run_script(ctx, revokes.data, revokes.len, "granting pii_reveal", NULL);
    buf_release(&revokes);
    free(kinds);
    return rc;
}

/* init, or (with `plan`) the plan of init: one path, so that the plan shows
 * what init runs. Everything is read and compared before anything runs: a
 * refused change fails with nothing changed. */
static int init_or_plan(const struct config *cfg, bool reset_passwords, struct schema_report *rep,
                        struct buf *plan)
{
    struct init_ctx ctx = {
        .cfg = cfg, .rep = rep, .plan = plan, .reset_passwords = reset_passwords};
    const char *db = cfg->warehouse.database;
    unsigned long long n = 0;
    char key_fp[PII_KEY_FP_BUF];
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

    /* surrogate digests are keyed unless the config says otherwise */
    rc = config_require_digest_key(cfg, plan ? "plan" : "init");
    if (!rc)
        rc = pii_key_fingerprint(cfg->pii.digest_key, cfg->pii.digest_key_len, key_fp);
    if (!rc)
        rc = conn_admin(cfg, false, &ctx.db);
    if (rc)
        return rc;
    snprintf(rep->server, sizeof(rep->server), "%s", db_server_info(ctx.db));
    rc = collect_definitions(&ctx, NULL);
    if (!rc)
        rc = count_of(&ctx, "SCHEMATA", NULL, NULL, &n);
    ctx.db_exists = n > 0;
    if (!rc)
        rc = compare_stream_tables(&ctx);
    if (!rc)
        rc = schema_tables_refusal(ctx.tables, ctx.ntables);
    if (!rc)
        rc = refuse_anonymous_shadows(&ctx);
    if (!rc && ctx.db_exists) /* another key, or a rekey pending: nothing is written */
        rc = pii_key_verify(ctx.db, db, cfg->pii.digest_key, cfg->pii.digest_key_len, true, NULL);
    if (rc)
        goto out;
    if (!ctx.db_exists || !plan) {
        buf_reset(&ctx.sql);
        rc = buf_addf(&ctx.sql,
                      "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE "
                      "utf8mb4_unicode_ci",
                      db);
        if (!rc)
            rc = apply(&ctx, ctx.sql.data, ctx.sql.len);
        if (!rc && !plan)
            rc = db_execf(ctx.db, "USE `%s`", db);
        if (rc) {
            err_prefix(rc, "creating database '%s'", db);
            goto out;
        }
    }
    rc = run_dir(&ctx, "ddl", &rep->tables);
    if (!rc && !plan) {
        bool recorded = false;
        char shown[PII_KEY_FP_BUF];
        struct wh *w = wh_borrow_db(ctx.db);
        rc = w ? pii_key_wh_record(w, db, cfg->pii.digest_key, cfg->pii.digest_key_len, &recorded)
               : ML_ENOMEM;
        wh_close(w);
        if (!rc && recorded)
            log_info("init: recorded the digest key's fingerprint %s in pii_key",
                     pii_key_show(key_fp, shown));
    } else if (!rc) {
        char shown[PII_KEY_FP_BUF];
        plan_note(&ctx,
                  "key: init records the digest key's fingerprint %s in pii_key when none "
                  "is stored",
                  pii_key_show(key_fp, shown));
    }
    if (!rc)
        rc = create_derived_tables(&ctx);
    if (!rc) { /* partitions ready ahead, expired ones dropped (schema_pg: once the
                  loader role owns the tables) */
        struct wh *w = ctx.plan ? NULL : wh_borrow_db(ctx.db);
        rc = schema_maintain_partitions(w, cfg, ctx.defs, ctx.ndefs, ctx.plan, &ctx.plan_rc);
        wh_close(w);
    }
    if (!rc)
        rc = run_dir(&ctx, "grants", NULL);
    if (!rc)
        rc = install_reveal(&ctx);
    if (!rc)
        rc = grant_derived_tables(&ctx);
    if (!rc)
        rc = install_generated_views(&ctx);
    if (!rc)
        rc = install_views(&ctx);
    if (!rc)
        rc = install_history_views(&ctx);
    if (!rc)
        rc = ensure_account(&ctx, cfg->warehouse.user, cfg->warehouse.password, cfg->roles.loader,
                            "loader");
    if (!rc)
        rc = ensure_account(&ctx, cfg->accounts.analyst.user, cfg->accounts.analyst.password,
                            cfg->roles.analyst, "analyst");
    if (!rc)
        rc = ensure_account(&ctx, cfg->accounts.steward.user, cfg->accounts.steward.password,
                            cfg->roles.steward, "steward");
    if (!rc)
        rc = ctx.plan_rc;
out:
    buf_wipe(&ctx.sql);
    release_stream_tables(&ctx);
    free(ctx.defs);
    db_close(ctx.db);
    return rc;
}

int schema_init(const struct config *cfg, const struct schema_options *opt,
                struct schema_report *rep)
{
    int rc;
    if (cfg->warehouse.kind == WAREHOUSE_POSTGRES) /* schema_pg.h */
        return schema_pg_init(cfg, opt, rep);
    rc = init_or_plan(cfg, opt && opt->reset_passwords, rep, NULL);
    return rc ? err_prefix(rc, "init") : 0;
}

int schema_plan(const struct config *cfg, struct buf *out, struct schema_report *rep)
{
    size_t mark = out->len;
    int rc;
    if (cfg->warehouse.kind == WAREHOUSE_POSTGRES) /* schema_pg.h */
        return schema_pg_plan(cfg, out, rep);
    rc = init_or_plan(cfg, false, rep, out);
    if (rc)
        buf_truncate(out, mark);
    return rc ? err_prefix(rc, "plan") : 0;
}

int schema_check(const struct config *cfg, const char *only_stream, struct wh *w)
{
    struct schema_report rep;
    struct init_ctx ctx = {.cfg = cfg, .rep = &rep};
    int rc;
    memset(&rep, 0, sizeof(rep));
    buf_init(&ctx.sql, 0);
    rc = collect_definitions(&ctx, only_stream);
    if (!rc)
        rc = schema_compare_tables(w, config_warehouse_space(cfg), ctx.defs, ctx.ndefs, &ctx.tables,
                                   &ctx.ntables);
    for (size_t i = 0; !rc && i < ctx.ntables; i++) {
        const struct schema_table *st = &ctx.tables[i];
        const struct schemadiff_change *ch = schemadiff_mismatch(&st->diff);
        if (st->diff.missing)
            rc = err_set(ML_ECONFIG, "run `maskload init` to apply: table '%s' does not exist",
                         st->table->name);
        else if (ch)
            rc = err_set(ML_ECONFIG, "run `maskload init` to apply: %s", ch->what);
    }
    release_stream_tables(&ctx);
    buf_release(&ctx.sql);
    free(ctx.defs);
    return rc;
}
