/* schema_pg.h - what `maskload init` and `maskload plan` make in a
 * PostgreSQL warehouse (`warehouse.kind: postgres`): schema.h's contract,
 * in PostgreSQL (docs/postgres.md "init and plan"). The path is schema.c's
 * for both kinds (schema_int.h); schema_pg.c is PostgreSQL's entry of its
 * table (schema_kind_pg), and the statement text functions below.
 *
 * As the admin account, in this order:
 *   - the database, when missing: CREATE DATABASE (UTF-8, from template0)
 *     over a connection to the `postgres` database, as it cannot run in a
 *     transaction nor on the database it creates;
 *   - on the warehouse database: the schema (warehouse.schema), the
 *     bookkeeping tables of ddl/postgres/, the digest key's fingerprint in
 *     pii_key (pii_key.h: recorded when none is, refused when another),
 *     the stream tables of every configured stream and the sensitive tables
 *     of the surrogate kinds they use (ddlgen, DB_DIALECT_POSTGRES), each
 *     created when missing;
 *   - in one transaction, so that no reader ever sees a half state: the
 *     changes of the existing stream tables (schema.h's rules, schemadiff's
 *     decisions: one ALTER TABLE per table that differs, in
 *     schemadiff_alter_sql's PostgreSQL shape), after the views init
 *     creates over those tables are dropped (and every view over the
 *     dropped ones; for a retyped column every view over the table:
 *     PostgreSQL refuses ALTER COLUMN TYPE under a view), to be created
 *     again below; then the
 *     roles, privileges and default privileges (ddlgen_pg_access: the
 *     analyst reads the stream tables, load_runs and load_run_streams; the
 *     steward the stream tables, load_rejects, pii_access_log and
 *     pii_erasures), then the views, each security_invoker and granted
 *     SELECT to the analyst: the generated monitoring views
 *     (ddlgen_monitor_view of DB_DIALECT_POSTGRES), the current view of every history stream,
 *     the hand-written monitoring views (views/postgres/monitoring/) and the
 *     analysis views (queries/postgres/, as analysis_<name>); one of the
 *     last two that reads a relation no configured stream creates is
 *     skipped (named at info level). CREATE OR REPLACE VIEW keeps a view's
 *     columns: a definition change that renames or drops one of a view
 *     over tables init does not alter fails init (drop the view, then
 *     init);
 *   - the accounts (ddlgen_pg_account): one that is missing gets its
 *     configured password (pg_set_role_password: only a SCRAM verifier is
 *     sent); one that exists keeps it unless reset_passwords.
 *
 * Before anything is written, the stored key fingerprint is checked and
 * every existing stream table is compared with its definition
 * (schema.c): a change init may not make (schemadiff.h) is
 * ML_ECONFIG naming the mapping's file:line:col, the table and the column,
 * and so is a view that is not init's but would have to be dropped for an
 * ALTER (naming the table, the column for a retype, and the view); nothing
 * is changed on a refusal.
 *
 * Idempotent: CREATE ... IF NOT EXISTS, CREATE OR REPLACE VIEW, roles made
 * when missing, privileges restated from nothing inside the transaction,
 * an ALTER only while a table differs from its definition: a second init
 * leaves the catalogs as the first left them.
 *
 * Plan: the same path, nothing run but queries; every statement init would
 * run is appended to `out` on one line ending in ";\n" (those creating a
 * table that exists left out; the DROP VIEW, ALTER TABLE and COMMENT ON of
 * a table that differs shown; the privileges shown as they are
 * re-asserted), and
 * in "-- " lines what is not a statement (the fingerprint, the accounts,
 * never a password). Same refusals and messages as init.
 *
 * schema_init and schema_plan prefix their errors with "init" / "plan". */
#ifndef ML_SCHEMA_PG_H
#define ML_SCHEMA_PG_H

#include <stddef.h>

#include "buf.h"

/* Splits PostgreSQL text into statements: on each call, skips whitespace
 * and comments, then returns 1 with the next statement (without its ';')
 * in `stmt`/`len`, or 0 at the end. '...', "..." and $tag$...$tag$ quotes
 * and -- and C-style comments are honoured (a ';' inside them does not end
 * a statement). *pos is advanced. */
int schema_pg_next(const char *text, size_t total, size_t *pos, const char **stmt, size_t *len);

/* Appends statement `stmt` on one line: runs of whitespace and comments
 * outside quotes become one space; a '...' literal holding a line break is
 * written as an E'...' literal with \n, \r and \\ escapes, so that the
 * statement means the same. ML_ENOMEM leaves `out` as it was. */
int schema_pg_one_line(const char *stmt, size_t len, struct buf *out);

#endif
