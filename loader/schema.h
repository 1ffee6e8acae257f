/* schema.h - `maskload init`: database, tables, roles, accounts, grants,
 * monitoring and analysis views; `maskload plan`: what init would run;
 * and the check `run` makes that the tables match their definitions.
 *
 * In this order: the tables no stream describes (ddl/, embedded), the
 * tables of every configured stream and the sensitive tables of the
 * surrogate kinds they use (derived from the stream definitions by
 * ddlgen), the roles and grants (grants/; then the audited reveal
 * procedure pii_reveal for the surrogate kinds in use, run as the loader
 * role, with EXECUTE for the loader and steward roles, and the steward's
 * SELECT on sensitive tables from an older init revoked; then the derived
 * grants on the stream tables), the views (views/monitoring/, queries/),
 * the accounts. A view
 * that reads a table the configuration does not create (no such stream) is
 * skipped and named at info level; any other failure fails init.
 *
 * A stream table that exists is compared with its definition first
 * (schemadiff.h: what is compared, and which changes init may make). Every
 * table is read and compared before any statement runs: when a change is
 * refused (a narrowing or incompatible type, a new required column on a
 * table with rows, a different key, any change under `schema: freeze`)
 * init fails with ML_ECONFIG naming the mapping's file:line:col, the table,
 * the column, the old and the new type, and nothing is changed. Otherwise
 * each table that differs gets one ALTER TABLE (ADD COLUMN ... AFTER,
 * MODIFY COLUMN); a column the mapping no longer declares stays (named at
 * info level), made nullable when it is NOT NULL without a default.
 *
 * Idempotent: every statement is CREATE ... IF NOT EXISTS, CREATE OR
 * REPLACE, a GRANT, or an ALTER that a second init no longer needs.
 *
 * Accounts: one that is missing is created with its configured password;
 * one that exists keeps its password (init says so, and warns when it is
 * not the configured one) unless schema_options.reset_passwords. Roles are
 * the database's own (config.h: maskload_<db>_<job> by default); an
 * account logs in with its account role `maskload_account_<user>`, which
 * init makes its default role and gives the warehouse's role, so that one
 * account may serve several warehouses and the init of one never changes
 * what the account may do in another.
 * Runs as the admin account. Views are SQL SECURITY INVOKER, so a view can
 * never show a reader more than the reader's own grants allow.
 *
 * Two inits on one server run one after the other: init takes the
 * server's init lock before it reads anything (waiting for another init
 * that holds it, at most 300 s, then ML_EDB); plan takes none. A Galera
 * node's named locks are its own: there init goes on without one (said at
 * info level).
 *
 * This is MySQL's; a PostgreSQL warehouse's is schema_pg.h's. Both are one
 * path (schema.c, its steps in schema_int.h), each kind's part in
 * schema_mysql.c and schema_pg.c.
 */
#ifndef ML_SCHEMA_H
#define ML_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "schemadiff.h"
#include "wh.h"

struct schema_report {
    size_t statements;       /* statements executed */
    size_t tables;           /* DDL files applied */
    size_t stream_tables;    /* stream tables created or already there */
    size_t sensitive_tables; /* sensitive_<kind>_ids created or already there */
    size_t views;            /* views installed */
    size_t views_skipped;    /* views over tables no configured stream creates */
    size_t accounts;         /* accounts created or updated */
    size_t tables_altered;   /* stream tables changed by an ALTER */
    size_t columns_added;    /* ADD COLUMN */
    size_t columns_changed;  /* MODIFY COLUMN: widened, NULL changed, COMMENT */
    size_t columns_kept;     /* columns the mappings no longer declare, left in their tables */
    char server[128];        /* server version string */
};

struct schema_options {
    bool reset_passwords; /* set the configured password of accounts that exist */
};

/* Appends to `out` the anonymous accounts (''@'host', comma separated)
 * that would shadow accounts created at `accounts_host`: with a pattern
 * such as '%' there, an anonymous account of a literal host is tried first
 * for the clients of that host, and their logins as the named accounts
 * fail with Access denied. `admin` reads mysql.user. 0 or ML_EDB. init
 * refuses (ML_ECONFIG) when there is one. */
int schema_anonymous_shadows(struct db *admin, const char *accounts_host, struct buf *out);

/* opt may be NULL (all defaults). */
int schema_init(const struct config *cfg, const struct schema_options *opt,
                struct schema_report *rep);

/* `maskload plan`: connects as init does and appends to `out` every
 * statement init would run now, each on one line ending in ";\n", in
 * init's order, leaving out those that would change nothing (CREATE TABLE
 * IF NOT EXISTS of a table that exists, ADD COLUMN IF NOT EXISTS of a
 * column that exists, an unchanged stream table); the grants are shown, as
 * init re-asserts them. What is not shown as a statement is said in "-- "
 * comment lines: the views, the accounts (never a password), the columns a
 * mapping no longer declares. Runs nothing but queries. The same refusals
 * as init, with the same messages (out then unchanged); `rep` counts what
 * init would do. */
int schema_plan(const struct config *cfg, struct buf *out, struct schema_report *rep);

/* For `run`, before it fetches anything: compares the stream tables of the
 * configured streams (only `only_stream`'s when not NULL) with their
 * definitions through `w` (the loader's connection, on either warehouse:
 * it reads the catalog for its own tables). ML_ECONFIG "run `maskload
 * init` to apply: table 'x' lacks column 'y'" (or the type, NULL or
 * COMMENT that differs, or a missing table) for the first difference init
 * would apply or refuse; a column only kept by init is not one. */
int schema_check(const struct config *cfg, const char *only_stream, struct wh *w);

/* View name for an embedded view file: "monitor_x.sql" -> "monitor_x",
 * "01_messages_per_day.sql" (queries) -> "analysis_messages_per_day".
 * Writes into out (size outsz); returns 0 or ML_EINVAL. */
int schema_view_name(const char *dir, const char *file, char *out, size_t outsz);

/* For `check`, about an embedded view that is not in the database: true in
 * *skipped when init skipped it, i.e. init has run (load_runs exists) and
 * the view's query reads a table that does not exist (no configured stream
 * creates it); false when the view should be there. Runs through `db` in
 * its current database; 0, or the error of a failed query. */
int schema_view_skipped(struct db *db, const char *view, bool *skipped);

#endif
