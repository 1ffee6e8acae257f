/* doctor.c - `maskload doctor` (doctor.h). */
#include "doctor.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "db.h"
#include "error.h"
#include "pg.h"
#include "pii_key.h"
#include "schema.h"
#include "source.h"
#include "wh.h"
#include "banned.h"

static int add(struct doctor_report *rep, const char *name, enum doctor_level level,
               const char *fix, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int add(struct doctor_report *rep, const char *name, enum doctor_level level,
               const char *fix, const char *fmt, ...)
{
    struct doctor_check *c;
    va_list ap;
    if (rep->n == rep->cap) {
        size_t cap = rep->cap ? 2 * rep->cap : 16;
        struct doctor_check *v = realloc(rep->checks, cap * sizeof(*v));
        if (!v)
            return err_set(ML_ENOMEM, "out of memory");
        rep->checks = v;
        rep->cap = cap;
    }
    c = &rep->checks[rep->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->level = level;
    va_start(ap, fmt);
    vsnprintf(c->finding, sizeof(c->finding), fmt, ap);
    va_end(ap);
    snprintf(c->fix, sizeof(c->fix), "%s", level == DOCTOR_OK || !fix ? "" : fix);
    rep->fails += level == DOCTOR_FAIL;
    rep->warns += level == DOCTOR_WARN;
    return 0;
}

/* One string of a one-row query into out ("" for NULL or no row). On
 * failure the check `name` is reported failed with the server's message
 * and *ok is false; the return value is ML_ENOMEM or 0. */
static int query_text(struct wh *w, const char *sql, char *out, size_t outsz,
                      struct doctor_report *rep, const char *name, bool *ok)
{
    struct buf v = BUF_INIT;
    bool found = false;
    int rc = wh_query_value(w, sql, 0, NULL, &v, &found);
    *ok = rc == 0;
    snprintf(out, outsz, "%s", !rc && found ? v.data : "");
    buf_release(&v);
    return rc ? add(rep, name, DOCTOR_FAIL, "look at the server's error log", "%s", err_msg()) : 0;
}

/* Whether the configured warehouse host is this machine (or a socket). */
static bool host_is_local(const struct config *cfg)
{
    return !cfg->warehouse.host || strcmp(cfg->warehouse.host, "127.0.0.1") == 0 ||
           strcmp(cfg->warehouse.host, "localhost") == 0 || strcmp(cfg->warehouse.host, "::1") == 0;
}

static int check_tls(struct wh *w, const struct config *cfg, struct doctor_report *rep)
{
    const char *tls = wh_tls(w);
    bool local = host_is_local(cfg);
    if (tls)
        return add(rep, "tls", DOCTOR_OK, NULL, "encrypted (%s)", tls);
    return add(rep, "tls", local ? DOCTOR_OK : DOCTOR_WARN,
               "set warehouse.tls.mode to verify_identity (with its ca) for a server "
               "reached over a network",
               "not encrypted%s", local ? " (loopback or socket)" : "");
}

/* MySQL/MariaDB: the server, local_infile, the session's sql_mode and time zone. */
static int check_server(struct wh *w, const struct config *cfg, struct doctor_report *rep)
{
    struct db *db = wh_db(w);
    char v[256];
    bool ok = true;
    int rc =
        add(rep, "server", db_is_mariadb(db) ? DOCTOR_OK : DOCTOR_WARN,
            "maskload is tested on MariaDB 10.11; other servers may differ in roles, "
            "upserts and grants",
            "%s %s", db_is_mariadb(db) ? "MariaDB" : "MySQL-compatible server", db_server_info(db));
    if (!rc)
        rc = query_text(w, "SELECT @@GLOBAL.local_infile", v, sizeof(v), rep, "local_infile", &ok);
    if (!rc && ok)
        rc = strcmp(v, "1") == 0
                 ? add(rep, "local_infile", DOCTOR_OK, NULL,
                       "ON: bulk loads use LOAD DATA LOCAL from memory")
                 : add(rep, "local_infile",
                       cfg->load.method == LOAD_METHOD_BULK ? DOCTOR_FAIL : DOCTOR_WARN,
                       "SET GLOBAL local_infile = ON (and local-infile=1 in the server's "
                       "configuration) for bulk loads",
                       "OFF: %s",
                       cfg->load.method == LOAD_METHOD_BULK
                           ? "load.method: bulk cannot work"
                           : "loads fall back to multi-row INSERT (slower)");
    if (!rc)
        rc = query_text(w, "SELECT @@SESSION.sql_mode", v, sizeof(v), rep, "sql_mode", &ok);
    if (!rc && ok)
        rc = strstr(v, "STRICT_ALL_TABLES")
                 ? add(rep, "sql_mode", DOCTOR_OK, NULL, "the loader's sessions are strict (%s)", v)
                 : add(rep, "sql_mode", DOCTOR_FAIL,
                       "the server refused the session's sql_mode; look at its error log",
                       "the loader's session is not strict (%s)", v);
    if (!rc)
        rc = query_text(w,
                        "SELECT CONCAT(@@SESSION.time_zone, ' (server: ', @@system_time_zone, ')')",
                        v, sizeof(v), rep, "time zone", &ok);
    if (!rc && ok)
        rc = strncmp(v, "+00:00", 6) == 0
                 ? add(rep, "time zone", DOCTOR_OK, NULL,
                       "sessions use UTC %s; times are stored in UTC", v)
                 : add(rep, "time zone", DOCTOR_FAIL, "the server refused SET time_zone = '+00:00'",
                       "the session time zone is %s, not UTC", v);
    return rc;
}

/* The loader's rights: it sees and writes load_runs (of the schema). */
static int check_privileges(struct wh *w, const struct config *cfg, struct doctor_report *rep)
{
    bool pg = wh_is_postgres(w);
    char v[64], where[256];
    bool ok = true;
    int rc = query_text(w,
                        pg ? "SELECT count(*) FROM pg_catalog.pg_class WHERE oid = "
                             "to_regclass('load_runs')"
                           : "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                             "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'load_runs'",
                        v, sizeof(v), rep, "loader privileges", &ok);
    if (rc || !ok)
        return rc;
    if (pg)
        snprintf(where, sizeof(where), "schema '%s' of '%s'", cfg->warehouse.schema,
                 cfg->warehouse.database);
    else
        snprintf(where, sizeof(where), "'%s'", cfg->warehouse.database);
    if (strcmp(v, "1") != 0)
        return add(rep, "loader privileges", DOCTOR_FAIL, "run `maskload init`",
                   "the loader cannot see the table load_runs in %s", where);
    rc = wh_begin(w);
    if (!rc)
        rc = wh_exec(w, "UPDATE load_runs SET run_id = run_id WHERE 1 = 0");
    wh_rollback(w); /* nothing was changed either way */
    if (rc)
        return add(rep, "loader privileges", DOCTOR_FAIL,
                   pg ? "run `maskload init` (it grants the loader role and makes the account "
                        "its member)"
                      : "run `maskload init` (it grants the loader role and makes it the "
                        "account's default role)",
                   "the loader cannot write load_runs: %s", err_msg());
    if (pg)
        snprintf(where, sizeof(where), " (schema '%s')", cfg->warehouse.schema);
    return add(rep, "loader privileges", DOCTOR_OK, NULL, "reads and writes the warehouse '%s'%s",
               cfg->warehouse.database, pg ? where : "");
}

static int check_key(struct wh *w, const struct config *cfg, struct doctor_report *rep)
{
    const char *space = config_warehouse_space(cfg);
    if (config_require_digest_key(cfg, "doctor"))
        return add(rep, "digest key", DOCTOR_FAIL,
                   "make one: openssl rand -hex 32 > F; chmod 600 F; then pii.digest_key_file: F",
                   "%s", err_msg());
    if (pii_key_wh_verify(w, space, cfg->pii.digest_key, cfg->pii.digest_key_len, false, NULL))
        return add(rep, "digest key", DOCTOR_FAIL,
                   "configure the warehouse's key, finish the pending rekey, or run `maskload "
                   "init` on a new warehouse",
                   "%s", err_msg());
    return add(rep, "digest key", cfg->pii.digest == PII_DIGEST_SHA256 ? DOCTOR_WARN : DOCTOR_OK,
               "configure pii.digest_key_file and `maskload rekey` to keyed digests", "%s",
               cfg->pii.digest == PII_DIGEST_SHA256
                   ? "unkeyed (pii.digest: sha256): surrogates can be mapped back by guessing"
                   : "present; its fingerprint is the warehouse's");
}

static int check_anonymous(const struct config *cfg, struct doctor_report *rep)
{
    struct db *db = NULL;
    struct buf hosts = BUF_INIT;
    int rc;
    if (!cfg->admin.password)
        return add(rep, "anonymous accounts", DOCTOR_WARN,
                   "add an admin section (used by init and doctor only) to check",
                   "not checked: no admin password configured");
    rc = conn_admin(cfg, false, &db);
    if (rc) {
        rc = add(rep, "anonymous accounts", DOCTOR_WARN, "check admin.user and admin.password",
                 "not checked: %s", err_msg());
        goto out;
    }
    rc = schema_anonymous_shadows(db, cfg->accounts.host, &hosts);
    if (rc)
        rc = add(rep, "anonymous accounts", DOCTOR_WARN, NULL, "not checked: %s", err_msg());
    else if (hosts.len)
        rc = add(rep, "anonymous accounts", DOCTOR_FAIL,
                 "drop them (a fresh mariadb-install-db creates them): DROP USER ''@'localhost'; "
                 "(one DROP USER per host listed)",
                 "anonymous accounts %s shadow the configured accounts ('%s'@'%s'): logins from "
                 "those hosts fail with Access denied",
                 hosts.data, cfg->warehouse.user, cfg->accounts.host);
    else
        rc = add(rep, "anonymous accounts", DOCTOR_OK, NULL, "none shadow the configured accounts");
out:
    buf_release(&hosts);
    db_close(db);
    return rc;
}

static int check_sources(const struct config *cfg, struct doctor_report *rep)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        const struct config_stream *st = &cfg->streams[i];
        const struct config_source *src = config_find_source(cfg, st->source);
        char name[48];
        unsigned long long n = 0;
        snprintf(name, sizeof(name), "stream %s", st->name);
        if (source_probe(cfg, st, &n))
            rc = add(rep, name, DOCTOR_FAIL,
                     "check the source's URL, path, credentials and that it is running", "%s",
                     err_msg());
        else if (src && src->kind == SOURCE_SQS)
            rc = add(rep, name, DOCTOR_OK, NULL, "queue answers: about %llu messages waiting", n);
        else
            rc = add(rep, name, DOCTOR_OK, NULL, "first page read: %llu records", n);
    }
    return rc;
}

/* ---- a PostgreSQL warehouse (warehouse.kind: postgres) ---- */

/* PostgreSQL: the server and the session's settings. */
static int pg_check_server(struct wh *w, const struct config *cfg, struct doctor_report *rep)
{
    char v[256];
    bool ok = true;
    int ver = pg_server_version(wh_pg(w));
    int rc = add(rep, "server", ver / 10000 == 15 ? DOCTOR_OK : DOCTOR_WARN,
                 "maskload is tested on PostgreSQL 15; other versions may differ",
                 "PostgreSQL %d.%d", ver / 10000, ver % 10000);
    (void)cfg;
    if (!rc)
        rc = query_text(w,
                        "SELECT current_setting('TimeZone') || ', ' || "
                        "current_setting('client_encoding') || ', standard_conforming_strings ' || "
                        "current_setting('standard_conforming_strings')",
                        v, sizeof(v), rep, "session", &ok);
    if (!rc && ok)
        rc = strcmp(v, "UTC, UTF8, standard_conforming_strings on") == 0
                 ? add(rep, "session", DOCTOR_OK, NULL, "sessions use %s; times are UTC", v)
                 : add(rep, "session", DOCTOR_FAIL,
                       "the server refused the session settings; look at its log",
                       "the loader's session is %s, not UTC, UTF8, standard_conforming_strings "
                       "on",
                       v);
    return rc;
}

/* PostgreSQL has no anonymous accounts; what gives every login access is
 * PUBLIC: nothing of the database, the schema or its tables may be its.
 * Read through the admin account (the loader cannot see others' grants). */
static int pg_check_public(const struct config *cfg, struct doctor_report *rep)
{
    struct wh *w = NULL;
    struct buf sql = BUF_INIT;
    char v[512];
    bool ok = true;
    int rc;
    if (!cfg->admin.password)
        return add(rep, "public access", DOCTOR_WARN,
                   "add an admin section (used by init and doctor only) to check",
                   "not checked: no admin password configured");
    if (wh_connect(cfg, WH_ADMIN, &w))
        return add(rep, "public access", DOCTOR_WARN, "check admin.user and admin.password",
                   "not checked: %s", err_msg());
    rc = buf_adds(&sql, "SELECT concat_ws(', ', CASE WHEN has_database_privilege('public', "
                        "current_database(), 'CONNECT') THEN 'CONNECT on the database' END, "
                        "CASE WHEN has_schema_privilege('public', n.oid, 'USAGE') THEN 'USAGE on "
                        "the schema' END, CASE WHEN has_schema_privilege('public', n.oid, "
                        "'CREATE') THEN 'CREATE in the schema' END, (SELECT 'SELECT on ' || "
                        "string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_catalog.pg_class c "
                        "WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'v', 'p') AND "
                        "has_table_privilege('public', c.oid, 'SELECT'))) FROM "
                        "pg_catalog.pg_namespace n WHERE n.nspname = ");
    if (!rc)
        rc = pg_append_literal(&sql, cfg->warehouse.schema, strlen(cfg->warehouse.schema));
    if (!rc)
        rc = query_text(w, sql.data, v, sizeof(v), rep, "public access", &ok);
    if (!rc && ok)
        rc = v[0] ? add(rep, "public access", DOCTOR_FAIL,
                        "run `maskload init` (it revokes everything from PUBLIC)",
                        "PUBLIC, i.e. every login, has %s", v)
                  : add(rep, "public access", DOCTOR_OK, NULL,
                        "PUBLIC has nothing of the database, the schema or its tables");
    buf_release(&sql);
    wh_close(w);
    return rc;
}

/* What differs between the warehouses: the fix of a failed connection (db_connect's
 * message says what to do about the errors a new MySQL setup meets: run
 * init, check the password), the server's checks, and the check through
 * the admin account. The other checks are the same on both. */
static const struct doctor_kind {
    const char *connect_fix;
    int (*server)(struct wh *w, const struct config *cfg, struct doctor_report *rep);
    int (*admin)(const struct config *cfg, struct doctor_report *rep);
} doctor_mysql = {"as the message says; else check warehouse.host, port or socket, and that the "
                  "server is running",
                  check_server, check_anonymous},
  doctor_pg = {"check warehouse.host, port or socket, the password, that the server is "
               "running, and that `maskload init` ran (it creates the database and the account)",
               pg_check_server, pg_check_public};

int doctor_run(const struct config *cfg, struct doctor_report *rep)
{
    const struct doctor_kind *k =
        cfg->warehouse.kind == WAREHOUSE_POSTGRES ? &doctor_pg : &doctor_mysql;
    struct wh *w = NULL;
    int rc;
    memset(rep, 0, sizeof(*rep));
    if (wh_connect(cfg, WH_LOADER, &w)) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", err_msg());
        rc = add(rep, "warehouse", DOCTOR_FAIL, k->connect_fix, "%s", msg);
    } else {
        rc = add(rep, "warehouse", DOCTOR_OK, NULL, "connected to '%s' as '%s'",
                 cfg->warehouse.database, cfg->warehouse.user);
        if (!rc)
            rc = k->server(w, cfg, rep);
        if (!rc)
            rc = check_tls(w, cfg, rep);
        if (!rc)
            rc = check_privileges(w, cfg, rep);
        if (!rc)
            rc = check_key(w, cfg, rep);
    }
    wh_close(w);
    if (!rc)
        rc = k->admin(cfg, rep);
    if (!rc)
        rc = check_sources(cfg, rep);
    return rc == ML_ENOMEM ? rc : 0;
}

void doctor_report_release(struct doctor_report *rep)
{
    free(rep->checks);
    memset(rep, 0, sizeof(*rep));
}
