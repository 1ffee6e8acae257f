/* schema_int.h - the one path of `maskload init` and `maskload plan`
 * (schema.c) and what each warehouse kind does in it (schema_mysql.c,
 * schema_pg.c). Only the schema*.c files see it.
 *
 * schema.c runs the steps in this order, over wh.h, for either kind:
 *   1. the digest key required, its fingerprint, the stream definitions;
 *   2. kind->connect: the admin session on the server and its version;
 *      then (init, not plan) the server's init lock, so that a second init
 *      waits for the first; then kind->open: whether the warehouse's
 *      database (and PostgreSQL's schema) exists, and its connection;
 *   3. every stream table read and compared with its definition
 *      (schemadiff.h), the first refused change refused, then
 *      kind->refuse (what else the kind refuses before anything is
 *      written), then the stored key fingerprint checked
 *      (pii_key_wh_verify) when the space exists;
 *   4. kind->create_space: the database (and schema) when missing;
 *   5. kind->bookkeeping: the tables no stream describes (ddl/);
 *   6. the key's fingerprint recorded in pii_key (pii_key_wh_record);
 *   7. the stream tables created when missing, altered when they differ
 *      (unless kind->alter_with_access), the sensitive tables of the
 *      surrogate kinds in use;
 *   8. kind->access: roles, privileges, the reveal routine, the views
 *      (with schema_install_generated_views and
 *      schema_install_history_views, and the alters of step 7 when
 *      kind->alter_with_access, through schema_alter_tables);
 *   9. the partitions of partitioned tables (schema_maintain_partitions);
 *  10. kind->account for the loader, analyst and steward accounts.
 * In a plan every statement goes through schema_apply, which writes it
 * instead of running it; nothing but queries runs. */
#ifndef ML_SCHEMA_INT_H
#define ML_SCHEMA_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "schema.h"
#include "schemadiff.h"
#include "wh.h"

struct stream_def;

/* A stream table of the configured streams, its definition (whose file
 * names it in messages), the table as the warehouse has it, and how the
 * two differ. */
struct schema_table {
    const struct stream_def *def;
    const struct table_def *table;
    struct schemadiff_live_table live;
    struct schemadiff diff;
};

struct schema_kind;

struct schema_ctx {
    const struct config *cfg;
    const struct schema_kind *kind;
    struct schema_report *rep;
    /* `plan`: statements are written here, one per line, instead of run;
     * nothing is changed. NULL for init. */
    struct buf *plan;
    int plan_rc; /* the first failure to write a plan note (sticky) */
    /* admin on the warehouse (kind->open, kind->create_space): its
     * database, and PostgreSQL's schema the session's search_path; NULL
     * only in a plan of a PostgreSQL database that does not exist yet */
    struct wh *w;
    /* admin on the server (WH_ADMIN_SERVER) when it is another session
     * than ctx->w (PostgreSQL: CREATE DATABASE, the roles, the init lock);
     * NULL for MySQL, whose ctx->w is that session */
    struct wh *server;
    const char *space;              /* config_warehouse_space: what names qualify */
    bool db_exists;                 /* the warehouse database exists (read before anything) */
    bool space_exists;              /* and the space (the database itself for MySQL) */
    bool reset_passwords;           /* schema_options.reset_passwords */
    const struct stream_def **defs; /* one per configured stream */
    size_t ndefs;
    struct schema_table *tables; /* every stream table, compared with the server's */
    size_t ntables;
    struct buf sql; /* scratch for one statement (wiped at the end: it may hold a password) */
    void *own;      /* the kind's own state, freed by kind->close */
};

/* The init lock (SCHEMA_INIT_LOCK names it): taken, held by another
 * session, or not the server's (a Galera node's lock is the node's own;
 * init goes on, and says so). */
enum schema_lock { SCHEMA_LOCK_TAKEN, SCHEMA_LOCK_BUSY, SCHEMA_LOCK_NONE };
#define SCHEMA_INIT_LOCK "maskload init"

/* What a warehouse kind does in init's path. Each returns 0 or an error
 * code with its message set, naming what failed. */
struct schema_kind {
    /* Opens the admin session on the server that lasts all of init
     * (ctx->server, or ctx->w when that is the same session), sets
     * rep->server. */
    int (*connect)(struct schema_ctx *ctx);
    /* Tries, without waiting, the server's lock two inits share (roles and
     * accounts are the server's: two inits at once would race on CREATE
     * ROLE / CREATE USER), on the session of `connect`: the session's, so
     * it goes with it. */
    int (*try_lock)(struct schema_ctx *ctx, enum schema_lock *got);
    /* Sets ctx->db_exists and ctx->space_exists, and opens ctx->w on the
     * warehouse when it exists. Nothing is written. */
    int (*open)(struct schema_ctx *ctx);
    /* Refusals of the kind's own, after the tables were compared: nothing
     * has been written. */
    int (*refuse)(struct schema_ctx *ctx);
    /* The database, and PostgreSQL's schema, when missing; afterwards
     * ctx->w runs in them (except in a plan). */
    int (*create_space)(struct schema_ctx *ctx);
    /* The tables no stream describes (ddl/), each file counted in
     * rep->tables. */
    int (*bookkeeping)(struct schema_ctx *ctx);
    /* Splits a script into statements (schema_run_script): the next one
     * from *pos, 1, or 0 at the end (sqlscript_next, schema_pg_next). */
    int (*next)(const char *text, size_t total, size_t *pos, const char **stmt, size_t *len);
    /* For a plan: whether a statement would change nothing (CREATE ... IF
     * NOT EXISTS of a table that exists), so that it is left out. */
    int (*unchanged)(struct schema_ctx *ctx, const char *stmt, size_t len, bool *yes);
    /* Appends one statement on one line (schema_apply's plan line). */
    int (*one_line)(const char *stmt, size_t len, struct buf *out);
    /* Privileges, the reveal routine and the views (see above). */
    int (*access)(struct schema_ctx *ctx);
    /* One account of `role`, made when missing (see schema.h); `password`
     * is set and `user` is not the admin account. */
    int (*account)(struct schema_ctx *ctx, const char *user, const char *password, const char *role,
                   const char *what);
    /* Frees ctx->own. May be NULL. */
    void (*close)(struct schema_ctx *ctx);
    /* The stream tables that differ are altered by kind->access (in its
     * transaction, after the views over them were dropped), not with the
     * tables created in step 7. */
    bool alter_with_access;
};

extern const struct schema_kind schema_kind_mysql; /* schema_mysql.c */
extern const struct schema_kind schema_kind_pg;    /* schema_pg.c */

/* ---- shared steps, for the kinds (schema.c) ---- */

/* Runs one statement on ctx->w (schema_apply_on: on `w`); in a plan
 * writes it on a line of its own ending in ';' instead. Counted in
 * rep->statements either way. */
int schema_apply(struct schema_ctx *ctx, const char *sql, size_t len);
int schema_apply_on(struct schema_ctx *ctx, struct wh *w, const char *sql, size_t len);

/* Runs (or plans) every statement of a script (kind->next splits it);
 * unless `all`, a plan leaves out those kind->unchanged says change
 * nothing. A failure is prefixed with `what` and the statement's start;
 * with `missing_table`, one on a table or view that does not exist stops
 * the script with *missing_table set and its message unprefixed, for the
 * caller to report (init skips such a view). */
int schema_run_script(struct schema_ctx *ctx, const char *text, size_t len, const char *what,
                      bool all, bool *missing_table);

/* A plan note "-- ...": what init does that is not shown as a statement. */
void schema_note(struct schema_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether table or view `name` exists in ctx->space (information_schema);
 * false while the space does not exist. */
int schema_table_exists(struct schema_ctx *ctx, const char *name, bool *yes);

/* GRANT SELECT on view `view` of the space to the analyst role. */
int schema_grant_view(struct schema_ctx *ctx, const char *view);

/* One ALTER TABLE per stream table that differs from its definition
 * (schemadiff_alter_sql in the kind's dialect), through schema_run_script. */
int schema_alter_tables(struct schema_ctx *ctx);

/* The generated monitoring views (monitor_generated_views) and the current
 * view of every history stream (history_current_view), each granted to
 * the analyst role; counted in rep->views. */
int schema_install_generated_views(struct schema_ctx *ctx);
int schema_install_history_views(struct schema_ctx *ctx);

/* The dialect init writes: the server's when connected, else PostgreSQL's
 * (only a PostgreSQL plan of a new database has no connection). */
enum db_dialect schema_dialect(const struct schema_ctx *ctx);

#endif
