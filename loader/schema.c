/* schema.c - schema.h: the one path of init and plan for both warehouse
 * kinds (schema_int.h: its steps, and what each kind does in them), and
 * the check of `run`. */
#include "schema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ddlgen.h"
#include "error.h"
#include "history.h"
#include "log.h"
#include "monitor.h"
#include "partition.h"
#include "pii_key.h"
#include "retry.h"
#include "schema_int.h"
#include "schemadiff.h"
#include "streamdef.h"
#include "wh.h"
#include "banned.h"

/* ---- shared steps (schema_int.h) ---- */

enum db_dialect schema_dialect(const struct schema_ctx *ctx)
{
    return ctx->w ? wh_dialect(ctx->w) : DB_DIALECT_POSTGRES;
}

int schema_apply_on(struct schema_ctx *ctx, struct wh *w, const char *sql, size_t len)
{
    struct buf one = BUF_INIT;
    int rc;
    if (ctx->plan) {
        rc = ctx->kind->one_line(sql, len, ctx->plan);
        if (!rc)
            rc = buf_adds(ctx->plan, ";\n");
    } else if (!w) {
        rc = err_set(ML_EINTERNAL, "no connection to the warehouse");
    } else {
        rc = buf_add(&one, sql, len);
        if (!rc)
            rc = wh_exec(w, one.data);
        buf_wipe(&one);
    }
    if (!rc)
        ctx->rep->statements++;
    return rc;
}

int schema_apply(struct schema_ctx *ctx, const char *sql, size_t len)
{
    return schema_apply_on(ctx, ctx->w, sql, len);
}

int schema_run_script(struct schema_ctx *ctx, const char *text, size_t len, const char *what,
                      bool all, bool *missing_table)
{
    size_t pos = 0, n;
    const char *stmt;
    int rc = 0;
    while (!rc && ctx->kind->next(text, len, &pos, &stmt, &n)) {
        bool noop = false;
        if (ctx->plan && !all && (rc = ctx->kind->unchanged(ctx, stmt, n, &noop)) == 0 && noop)
            continue;
        if (!rc)
            rc = schema_apply(ctx, stmt, n);
        if (rc && !ctx->plan && missing_table && wh_error_undefined_table(ctx->w)) {
            *missing_table = true;
            return rc;
        }
        if (rc)
            err_prefix(rc, "%s, statement %.60s", what, stmt);
    }
    return rc;
}

void schema_note(struct schema_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    if (!ctx->plan || ctx->plan_rc)
        return;
    va_start(ap, fmt);
    ctx->plan_rc = buf_adds(ctx->plan, "-- ");
    if (!ctx->plan_rc)
        ctx->plan_rc = buf_vaddf(ctx->plan, fmt, ap);
    if (!ctx->plan_rc)
        ctx->plan_rc = buf_addc(ctx->plan, '\n');
    va_end(ap);
}

/* ---- shared with the rest of the loader (schema.h) ---- */

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

/* The definition of every configured stream, or of stream `only` alone
 * (config_load resolves them; a config built without it falls back to the
 * built-in of the stream's mapping or name), into *defs (malloc'd, room for
 * every stream; free it) and *n. ML_ECONFIG for a stream without one (*defs
 * is then still the caller's to free), ML_ENOMEM. */
static int stream_defs(const struct config *cfg, const char *only, const struct stream_def ***defs,
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

/* Reads every stream table of `defs` (ddlgen_stream_tables: each once)
 * through `w` in `space` (the MySQL database, the PostgreSQL schema) and
 * compares it with its definition (schemadiff.h); w NULL: the warehouse's
 * database does not exist, every table is missing. *tables is malloc'd
 * (NULL when none): release it with tables_release, also after a
 * failure. Errors of ddlgen_stream_tables, schemadiff_read and
 * schemadiff_compare; a refused change is not one (tables_refusal). */
static int compare_tables(struct wh *w, const char *space, const struct stream_def *const *defs,
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

static void tables_release(struct schema_table *tables, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        schemadiff_release(&tables[i].diff);
        schemadiff_live_release(&tables[i].live);
    }
    free(tables);
}

/* The first change init may not make, as ML_ECONFIG with its message
 * (the mapping's file:line:col, the table, the column, the old and the
 * new type; "nothing was changed"); 0 when there is none. */
static int tables_refusal(const struct schema_table *tables, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct schemadiff_change *ch = schemadiff_refusal(&tables[i].diff);
        if (ch)
            return err_set(ML_ECONFIG, "%s", ch->refusal);
    }
    return 0;
}

/* After the ALTER of `st` ran (or was planned): counted in rep (tables
 * altered, columns added and changed), said at info level by init. */
static void table_altered(struct schema_ctx *ctx, const struct schema_table *st)
{
    ctx->rep->tables_altered++;
    for (size_t k = 0; k < st->diff.nchanges; k++) {
        enum schemadiff_action a = st->diff.changes[k].action;
        ctx->rep->columns_added += a == SD_ADD;
        ctx->rep->columns_changed += a == SD_MODIFY || a == SD_RELAX;
    }
    if (!ctx->plan)
        log_info("init: table '%s' altered to match its mapping (%s)", st->table->name,
                 st->def ? st->def->file : "?");
}

/* init's partition maintenance (partition_maintain_all, after the tables
 * and the loader's rights on them); in a plan a note per partitioned
 * table instead. */
static int maintain_partitions(struct schema_ctx *ctx)
{
    for (size_t i = 0; ctx->plan && i < ctx->ndefs; i++)
        if (ctx->defs[i]->table->partition)
            schema_note(ctx,
                        "partitions: init adds the missing partitions of table '%s' ahead "
                        "and drops those its retention has expired",
                        ctx->defs[i]->table->name);
    if (ctx->plan)
        return 0;
    return ctx->w ? partition_maintain_all(ctx->w, ctx->cfg, ctx->defs, ctx->ndefs, 0)
                  : err_set(ML_EINTERNAL, "no connection to the warehouse");
}

/* The columns of `st` its mapping no longer declares, which stay: counted
 * in rep, each said in a plan note or at info level. */
static void table_kept(struct schema_ctx *ctx, const struct schema_table *st)
{
    for (size_t k = 0; k < st->diff.nchanges; k++) {
        const struct schemadiff_change *ch = &st->diff.changes[k];
        const char *relaxed = ch->action == SD_RELAX ? "; it becomes nullable, so that loads "
                                                       "can leave it empty"
                                                     : "";
        if (ch->action != SD_KEEP && ch->action != SD_RELAX)
            continue;
        ctx->rep->columns_kept++;
        if (ctx->plan)
            schema_note(ctx,
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

/* ---- the path ---- */

int schema_table_exists(struct schema_ctx *ctx, const char *name, bool *yes)
{
    const char *params[2] = {ctx->space, name};
    unsigned long long n = 0;
    int rc = 0;
    if (ctx->w && ctx->space_exists)
        rc = wh_query_u64(ctx->w,
                          "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 "
                          "AND table_name = $2",
                          2, params, &n, NULL);
    *yes = n > 0;
    return rc;
}

int schema_grant_view(struct schema_ctx *ctx, const char *view)
{
    enum db_dialect d = schema_dialect(ctx);
    int rc;
    buf_reset(&ctx->sql);
    rc = buf_adds(&ctx->sql, "GRANT SELECT ON ");
    if (!rc)
        rc = wh_append_qualified(d, &ctx->sql, ctx->space, view);
    if (!rc)
        rc = buf_adds(&ctx->sql, " TO ");
    if (!rc)
        rc = wh_append_ident(d, &ctx->sql, ctx->cfg->roles.analyst);
    if (!rc)
        rc = schema_apply(ctx, ctx->sql.data, ctx->sql.len);
    return rc ? err_prefix(rc, "granting view '%s'", view) : 0;
}

int schema_alter_tables(struct schema_ctx *ctx)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < ctx->ntables; i++) {
        const struct schema_table *st = &ctx->tables[i];
        char what[128];
        if (st->diff.missing || !schemadiff_alters(&st->diff))
            continue;
        snprintf(what, sizeof(what), "altering table '%s'", st->table->name);
        buf_reset(&ctx->sql);
        rc = schemadiff_alter_sql(&ctx->sql, &st->diff, schema_dialect(ctx));
        if (!rc)
            rc = schema_run_script(ctx, ctx->sql.data, ctx->sql.len, what, true, NULL);
        else
            err_prefix(rc, "%s", what);
        if (!rc)
            table_altered(ctx, st);
    }
    return rc;
}

/* The stream tables (main and children) of the configured streams: CREATE
 * for those missing, the ALTERs (unless kind->alter_with_access); then the
 * sensitive tables of the surrogate kinds they use, when missing. */
static int create_derived_tables(struct schema_ctx *ctx)
{
    enum db_dialect d = schema_dialect(ctx);
    const char **kinds = NULL;
    size_t nkinds = 0;
    int rc = ddlgen_surrogate_kinds(ctx->defs, ctx->ndefs, &kinds, &nkinds);
    for (size_t i = 0; !rc && i < ctx->ntables; i++) {
        const struct schema_table *st = &ctx->tables[i];
        char what[128];
        snprintf(what, sizeof(what), "creating table '%s'", st->table->name);
        buf_reset(&ctx->sql);
        if (st->diff.missing) {
            rc = ddlgen_create_table(&ctx->sql, st->table, d);
            /* MySQL's periods are in its CREATE; PostgreSQL's table is made
             * partitioned by ddlgen, its periods added by the maintenance */
            if (!rc && st->table->partition && d != DB_DIALECT_POSTGRES)
                rc = partition_create_clause(&ctx->sql, st->table, d);
            if (!rc)
                rc = schema_run_script(ctx, ctx->sql.data, ctx->sql.len, what, false, NULL);
            else
                err_prefix(rc, "%s", what);
        }
        if (!rc) {
            table_kept(ctx, st);
            ctx->rep->stream_tables++;
        }
    }
    if (!rc && !ctx->kind->alter_with_access)
        rc = schema_alter_tables(ctx);
    for (size_t i = 0; !rc && i < nkinds; i++) {
        struct buf name = BUF_INIT;
        bool exists = false;
        rc = ddlgen_sensitive_name(&name, kinds[i]);
        if (!rc)
            rc = schema_table_exists(ctx, name.data, &exists);
        buf_reset(&ctx->sql);
        if (!rc && !exists) {
            char what[128];
            snprintf(what, sizeof(what), "creating table '%s'", name.data);
            rc = ddlgen_sensitive_table(&ctx->sql, kinds[i], d);
            if (!rc)
                rc = schema_run_script(ctx, ctx->sql.data, ctx->sql.len, what, false, NULL);
            else
                err_prefix(rc, "%s", what);
        }
        if (!rc)
            ctx->rep->sensitive_tables++;
        buf_release(&name);
    }
    free(kinds);
    return rc;
}

int schema_install_generated_views(struct schema_ctx *ctx)
{
    struct ddlgen_monitor *gen = NULL;
    size_t ngen = 0;
    int rc = monitor_generated_views(ctx->cfg, &gen, &ngen);
    for (size_t i = 0; !rc && i < ngen; i++) {
        buf_reset(&ctx->sql);
        rc = ddlgen_monitor_view(&ctx->sql, &gen[i], schema_dialect(ctx));
        if (!rc)
            rc = schema_apply(ctx, ctx->sql.data, ctx->sql.len);
        if (!rc)
            rc = schema_grant_view(ctx, gen[i].name);
        if (rc)
            err_prefix(rc, "installing view '%s'", gen[i].name);
        else
            ctx->rep->views++;
    }
    ddlgen_monitor_views_free(gen, ngen);
    return rc;
}

int schema_install_history_views(struct schema_ctx *ctx)
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
            rc = history_current_view(&ctx->sql, def, schema_dialect(ctx));
        if (!rc)
            rc = schema_apply(ctx, ctx->sql.data, ctx->sql.len);
        if (!rc)
            rc = schema_grant_view(ctx, name.data);
        if (rc)
            err_prefix(rc, "installing view '%s'", name.data);
        else
            ctx->rep->views++;
    }
    buf_release(&name);
    return rc;
}

/* The key's fingerprint in pii_key (recorded when none is), or in a plan
 * the note that init records it. */
static int record_key(struct schema_ctx *ctx, const char *fp)
{
    const struct config *cfg = ctx->cfg;
    char shown[PII_KEY_FP_BUF];
    bool recorded = false;
    int rc;
    if (ctx->plan) {
        schema_note(ctx,
                    "key: init records the digest key's fingerprint %s in pii_key when none is "
                    "stored",
                    pii_key_show(fp, shown));
        return 0;
    }
    rc = pii_key_wh_record(ctx->w, ctx->space, cfg->pii.digest_key, cfg->pii.digest_key_len,
                           &recorded);
    if (!rc && recorded)
        log_info("init: recorded the digest key's fingerprint %s in pii_key",
                 pii_key_show(fp, shown));
    return rc;
}

/* How long init waits for another init's lock (kind->try_lock), and how
 * often it tries. */
#define INIT_LOCK_WAIT_MS 300000u
#define INIT_LOCK_POLL_MS 250u

/* Takes the server's init lock (kind->try_lock), waiting at most
 * INIT_LOCK_WAIT_MS for another init that holds it. A plan takes none: it
 * only reads. ML_EDB when another init holds it longer. */
static int init_lock(struct schema_ctx *ctx)
{
    unsigned waited = 0;
    for (;;) {
        enum schema_lock got = SCHEMA_LOCK_BUSY;
        int rc = ctx->kind->try_lock(ctx, &got);
        if (rc)
            return err_prefix(rc, "taking the init lock");
        if (got == SCHEMA_LOCK_NONE)
            log_info("init: a Galera node's locks are its own: an init through another node "
                     "of the cluster at the same time is not made to wait for this one");
        if (got != SCHEMA_LOCK_BUSY)
            return 0;
        if (waited >= INIT_LOCK_WAIT_MS)
            return err_set(ML_EDB,
                           "another maskload init on this server held its init lock for %u s: "
                           "run init again when it has finished",
                           INIT_LOCK_WAIT_MS / 1000);
        if (waited == 0)
            log_info("init: another maskload init is running on this server; waiting for it "
                     "(at most %u s)",
                     INIT_LOCK_WAIT_MS / 1000);
        rc = retry_sleep_ms(INIT_LOCK_POLL_MS);
        if (rc)
            return rc;
        waited += INIT_LOCK_POLL_MS;
    }
}

/* One account of `role` through kind->account; none without a configured
 * password, and never the admin account itself (said at warning level). */
static int ensure_account(struct schema_ctx *ctx, const char *user, const char *password,
                          const char *role, const char *what)
{
    if (!password) {
        log_warn("init: no password configured for the %s account '%s'; account not created", what,
                 user);
        return 0;
    }
    if (strcmp(user, ctx->cfg->admin.user) == 0) {
        log_warn("init: the %s account '%s' is the admin account; left as it is", what, user);
        return 0;
    }
    return ctx->kind->account(ctx, user, password, role, what);
}

/* init, or (with `plan`) the plan of init: one path for both kinds, so
 * that the plan shows what init runs (schema_int.h: the steps). Everything
 * is read and compared before anything runs: a refused change fails with
 * nothing changed. */
static int init_or_plan(const struct config *cfg, bool reset_passwords, struct schema_report *rep,
                        struct buf *plan)
{
    struct schema_ctx ctx = {
        .cfg = cfg,
        .kind = cfg->warehouse.kind == WAREHOUSE_POSTGRES ? &schema_kind_pg : &schema_kind_mysql,
        .rep = rep,
        .plan = plan,
        .space = config_warehouse_space(cfg),
        .reset_passwords = reset_passwords,
    };
    char key_fp[PII_KEY_FP_BUF];
    int rc;

    memset(rep, 0, sizeof(*rep));
    buf_init(&ctx.sql, 0);
    /* surrogate digests are keyed unless the config says otherwise */
    rc = config_require_digest_key(cfg, plan ? "plan" : "init");
    if (!rc)
        rc = pii_key_fingerprint(cfg->pii.digest_key, cfg->pii.digest_key_len, key_fp);
    if (!rc)
        rc = stream_defs(cfg, NULL, &ctx.defs, &ctx.ndefs);
    if (!rc)
        rc = ctx.kind->connect(&ctx);
    if (!rc && !plan) /* before anything is read: what it reads may be another init's half */
        rc = init_lock(&ctx);
    if (!rc)
        rc = ctx.kind->open(&ctx);
    if (!rc) /* ctx.w NULL: no database, every table is missing */
        rc = compare_tables(ctx.space_exists ? ctx.w : NULL, ctx.space, ctx.defs, ctx.ndefs,
                            &ctx.tables, &ctx.ntables);
    if (!rc)
        rc = tables_refusal(ctx.tables, ctx.ntables);
    if (!rc)
        rc = ctx.kind->refuse(&ctx);
    if (!rc && ctx.space_exists) /* another key, or a rekey pending: nothing is written */
        rc = pii_key_wh_verify(ctx.w, ctx.space, cfg->pii.digest_key, cfg->pii.digest_key_len, true,
                               NULL);
    if (!rc)
        rc = ctx.kind->create_space(&ctx);
    if (!rc)
        rc = ctx.kind->bookkeeping(&ctx);
    if (!rc)
        rc = record_key(&ctx, key_fp);
    if (!rc)
        rc = create_derived_tables(&ctx);
    if (!rc)
        rc = ctx.kind->access(&ctx);
    if (!rc) /* partitions ready ahead, expired ones dropped (once the loader role owns
                the tables and may maintain them) */
        rc = maintain_partitions(&ctx);
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
    if (ctx.kind->close)
        ctx.kind->close(&ctx);
    buf_wipe(&ctx.sql);
    tables_release(ctx.tables, ctx.ntables);
    free(ctx.defs);
    wh_close(ctx.w);
    wh_close(ctx.server);
    return rc;
}

int schema_init(const struct config *cfg, const struct schema_options *opt,
                struct schema_report *rep)
{
    int rc = init_or_plan(cfg, opt && opt->reset_passwords, rep, NULL);
    return rc ? err_prefix(rc, "init") : 0;
}

int schema_plan(const struct config *cfg, struct buf *out, struct schema_report *rep)
{
    size_t mark = out->len;
    int rc = init_or_plan(cfg, false, rep, out);
    if (rc)
        buf_truncate(out, mark);
    return rc ? err_prefix(rc, "plan") : 0;
}

int schema_check(const struct config *cfg, const char *only_stream, struct wh *w)
{
    const struct stream_def **defs = NULL;
    struct schema_table *tables = NULL;
    size_t ndefs = 0, ntables = 0;
    int rc = stream_defs(cfg, only_stream, &defs, &ndefs);
    if (!rc)
        rc = compare_tables(w, config_warehouse_space(cfg), defs, ndefs, &tables, &ntables);
    for (size_t i = 0; !rc && i < ntables; i++) {
        const struct schema_table *st = &tables[i];
        const struct schemadiff_change *ch = schemadiff_mismatch(&st->diff);
        if (st->diff.missing)
            rc = err_set(ML_ECONFIG, "run `maskload init` to apply: table '%s' does not exist",
                         st->table->name);
        else if (ch)
            rc = err_set(ML_ECONFIG, "run `maskload init` to apply: %s", ch->what);
    }
    tables_release(tables, ntables);
    free(defs);
    return rc;
}
