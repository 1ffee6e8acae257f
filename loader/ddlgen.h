/* ddlgen.h - the DDL and grants derived from stream definitions (pure text
 * building, no I/O).
 *
 * One generator driven by a table of dialects (type spellings, identifier
 * and string quoting, table options): a new warehouse adds a dialect, not a
 * generator. Every identifier is written quoted (the quote character doubled
 * inside), every COMMENT as an escaped string literal: nothing from a
 * definition is interpolated raw.
 *
 * Stream tables: the definition's columns in order, then the load metadata
 * load_run_id and loaded_at (see sqlgen.h), the natural key (the first nkey
 * columns) as primary key, one secondary key per index_def, the table
 * options of the dialect and the description as the table COMMENT. A column
 * is NOT NULL when it is required or a key column.
 *
 * Sensitive tables: `sensitive_<kind>_ids` (id, digest, value,
 * first_seen_at; DESIGN.md "Schema"), one per surrogate kind in use.
 *
 * Functions appending to `out` leave it as it was on failure. They return 0,
 * ML_EINVAL for a definition they cannot express (the message names the
 * table and the column or index), ML_ENOMEM or ML_ETOOBIG.
 */
#ifndef ML_DDLGEN_H
#define ML_DDLGEN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"
#include "streamdef.h"

/* Appends "CREATE TABLE IF NOT EXISTS ..." for `t` (no trailing ';').
 * DB_DIALECT_POSTGRES has no inline COMMENT and no KEY clause: its text is
 * several statements joined by ";\n" (CREATE TABLE, one CREATE INDEX IF
 * NOT EXISTS "<table>_<index>" per index_def, COMMENT ON TABLE and COMMENT
 * ON COLUMN), still without a trailing ';': run it as one script (pg_exec).
 * Types there: bigint, smallint, integer, numeric(p,s), varchar(n), text,
 * timestamp(3) (UTC, no time zone), date, boolean, bytea; an unsigned
 * integer takes the wider signed type; `binary` text COLLATE "C". It
 * refuses (ML_EINVAL) a name longer than 63 bytes. A partitioned table is
 * PARTITION BY RANGE (column), followed by its DEFAULT partition "CREATE
 * TABLE IF NOT EXISTS <table>_p_default PARTITION OF <table> DEFAULT"; its
 * periods are partition.h's (ddlgen_partition_add_pg). PostgreSQL names a
 * partition, a table of the schema, "<table>_<partition>" (p202503 of
 * login_events: login_events_p202503), cut to 63 bytes with a hash as
 * index names are. */
int ddlgen_create_table(struct buf *out, const struct table_def *t, enum db_dialect d);

/* Appends "CREATE TABLE IF NOT EXISTS `sensitive_<kind>_ids` ..." (no
 * trailing ';'), COMMENT 'PII: <kind>'. DB_DIALECT_POSTGRES: id bigint
 * GENERATED ALWAYS AS IDENTITY, digest bytea UNIQUE (CHECKed to be 32
 * bytes), value text, first_seen_at timestamp(3); then ";\nCOMMENT ON
 * TABLE ... IS 'PII: <kind>'". */
int ddlgen_sensitive_table(struct buf *out, const char *kind, enum db_dialect d);

/* Appends the name of kind's sensitive table, "sensitive_<kind>_ids", unquoted. */
int ddlgen_sensitive_name(struct buf *out, const char *kind);

/* The stream tables of `defs` (each main table, then its child tables),
 * without repeats (by name), in that order. *tables is a malloc'd array the
 * caller frees (NULL when *ntables is 0); the tables belong to the defs.
 * ML_EINVAL for a table named like the loader's own tables and views
 * (sensitive_*, load_*, pii_*, monitor_*, analysis_*), which
 * ddlgen_create_table refuses too. */
int ddlgen_stream_tables(const struct stream_def *const *defs, size_t ndefs,
                         const struct table_def ***tables, size_t *ntables);

/* The surrogate kinds used by the surrogate columns of `defs` (main and
 * child tables), without repeats, in first-use order. *kinds is a malloc'd
 * array the caller frees (NULL when *nkinds is 0); the strings belong to
 * the defs. ML_EINVAL for a surrogate column without a kind. */
int ddlgen_surrogate_kinds(const struct stream_def *const *defs, size_t ndefs, const char ***kinds,
                           size_t *nkinds);

struct ddlgen_roles {
    const char *analyst;
    const char *steward;
};

/* Appends the grants on the tables derived from `defs` in `database`, one
 * statement per line, each ending in ";\n": SELECT to the analyst on every
 * stream table, then to the steward on every stream table. Nobody is
 * granted a sensitive table: the steward reads values through pii_reveal
 * (below). The roles must exist. Grants on tables no stream describes (run
 * audit, rejects, the PII access log) are not derived: see the grants/
 * files. */
int ddlgen_grants(struct buf *out, const struct stream_def *const *defs, size_t ndefs,
                  const char *database, const struct ddlgen_roles *roles, enum db_dialect d);

/* ---- PostgreSQL: schema, roles, accounts and privileges ----
 * (ddlgen_grants above writes DB_DIALECT_POSTGRES too, with the schema in
 * place of `database`.) Names are refused (ML_EINVAL) when longer than 63
 * bytes or holding a '$'. */

/* Appends "CREATE SCHEMA IF NOT EXISTS "schema"" (no trailing ';'). */
int ddlgen_pg_schema(struct buf *out, const char *schema);

struct ddlgen_pg_access {
    const char *database, *schema;
    const char *loader, *analyst, *steward; /* role names */
    /* granted SELECT besides the stream tables (e.g. load_runs; views as
     * they are installed): never a sensitive_* table nor load_rejects for
     * the analyst (ML_EINVAL) */
    const char *const *analyst_tables;
    size_t nanalyst;
    const char *const *steward_tables;
    size_t nsteward;
};

/* Appends the roles and privileges of a PostgreSQL warehouse, one statement
 * per line ending in ";\n", to be run whole by the admin that owns (and
 * later creates) the schema's objects:
 *   - the loader, analyst and steward roles (NOLOGIN; created when missing);
 *   - the database: REVOKE ALL FROM PUBLIC; CONNECT to the three roles,
 *     TEMPORARY to the loader (its staging tables);
 *   - the schema: REVOKE ALL FROM PUBLIC; USAGE to the three roles;
 *   - its tables, sequences and functions: REVOKE ALL FROM PUBLIC; every
 *     table privilege of the analyst and the steward revoked, then SELECT
 *     granted on the stream tables of `defs` (ddlgen_grants) and on their
 *     extra tables; the loader SELECT, INSERT, UPDATE, DELETE on every
 *     table and USAGE, SELECT, UPDATE on every sequence (sensitive ones
 *     included);
 *   - default privileges of the role running it: tables and sequences it
 *     creates later in the schema are the loader's to write and nobody
 *     else's to read; functions it creates later are not executable
 *     through PUBLIC.
 * So the analyst reads its allow-list and nothing else, now and after
 * later tables appear. */
int ddlgen_pg_access(struct buf *out, const struct stream_def *const *defs, size_t ndefs,
                     const struct ddlgen_pg_access *a);

/* Appends the statements (each ending ";\n") making `user` a LOGIN role
 * (created when missing) that is a member of `role` and has `schema` as its
 * search_path. Its password is set apart, never in this text
 * (pg_set_role_password). */
int ddlgen_pg_account(struct buf *out, const char *user, const char *role, const char *schema);

/* ---- re-identification risk (quasi_identifiers and k of a definition) ---- */

/* The column of a small-groups view that holds a group's row count. */
#define DDLGEN_GROUP_ROWS "rows_in_group"

/* Appends "monitor_<table>_small_groups", unquoted: the monitoring view of
 * def's main table. ML_EINVAL when def declares no quasi_identifiers. */
int ddlgen_small_groups_name(struct buf *out, const struct stream_def *def);

/* Appends "CREATE OR REPLACE SQL SECURITY INVOKER VIEW" of that view (no
 * trailing ';'; any dialect, as ddlgen_monitor_view): one row per
 * combination of the quasi-identifier columns shared by fewer than k rows
 * of the main table: those columns and the count (DDLGEN_GROUP_ROWS),
 * nothing else (no key, no other column).
 * ML_EINVAL when def declares none, names a column its table lacks or
 * one called DDLGEN_GROUP_ROWS. */
int ddlgen_small_groups_view(struct buf *out, const struct stream_def *def, enum db_dialect d);

/* ---- generated monitoring views: one mechanism for every kind ----
 *
 * Every monitoring view derived from the stream definitions (the small
 * groups of quasi_identifiers, the declared column checks, the stream
 * expectations freshness and min_rows) is listed by ddlgen_monitor_views
 * and written by ddlgen_monitor_view: `init` installs and grants that list,
 * `check` counts it. Each view is SQL SECURITY INVOKER and lists no PII: a
 * check view the key columns and the checked column (all analyst-visible
 * columns of a stream table), an expectation view the stream's run
 * bookkeeping. */

enum ddlgen_monitor_kind {
    DDLGEN_MONITOR_SMALL_GROUPS, /* ddlgen_small_groups_view of `def` */
    DDLGEN_MONITOR_CHECK,        /* the rows breaking `parts` */
    DDLGEN_MONITOR_FRESHNESS,    /* one row while the stream's last success is too old */
    DDLGEN_MONITOR_MIN_ROWS,     /* one row while its last success loaded too few records */
    DDLGEN_MONITOR_HISTORY       /* the broken invariants of a `history: scd2` table */
};

/* A configured stream: its name (load_run_streams.stream) and definition. */
struct ddlgen_stream {
    const char *name;
    const struct stream_def *def;
};

struct ddlgen_check_part {
    const struct table_def *table;
    const struct check_def *check;
};

struct ddlgen_monitor {
    char name[65];
    enum ddlgen_monitor_kind kind;
    const char *stream;              /* FRESHNESS, MIN_ROWS */
    const struct stream_def *def;    /* SMALL_GROUPS, FRESHNESS, MIN_ROWS, HISTORY */
    struct ddlgen_check_part *parts; /* CHECK: nparts >= 1 (malloc'd, owned by the list) */
    size_t nparts;
    /* an expectation: `check` fails on its one row whatever
     * check.default_threshold says (an entry in check.thresholds still counts) */
    bool strict;
};

/* The generated monitoring views of `streams`, in stream order (per stream:
 * small groups, then the checks of the main table and its children in
 * declaration order, then freshness and min_rows, then for a history
 * table "monitor_<table>_history"). A table met twice (by
 * name) contributes its small groups and checks once; expectations are per
 * stream. Checks naming the same view with `monitor:` are
 * one view (their parts in that order); a check whose `references` table is
 * none of the streams' tables is left out (the config module refuses it in
 * a user's definition; a built-in's is left out when the other stream is
 * not configured). *out is malloc'd: free it with ddlgen_monitor_views_free.
 * ML_EINVAL when one name is given to two views otherwise (the message
 * names both). */
int ddlgen_monitor_views(const struct ddlgen_stream *streams, size_t n, struct ddlgen_monitor **out,
                         size_t *nout);
void ddlgen_monitor_views_free(struct ddlgen_monitor *v, size_t n);

/* Appends "CREATE OR REPLACE SQL SECURITY INVOKER VIEW" of `m` (no trailing
 * ';'). A CHECK view of one part lists the key columns of its table, then
 * the checked column (unless it is a key column), then for not_before of
 * another column that column; a view of several parts lists, per offending
 * value, table_name, record_key (the key columns joined by ':'),
 * column_name and value, the parts joined by UNION ALL. Rows: NOT_NULL the
 * NULLs; UNIQUE every row whose non-NULL value another row has too;
 * ACCEPTED a non-NULL value none of the list (compared in the column's
 * collation); RANGE a value outside [min, max]; NOT_FUTURE a value later
 * than UTC_TIMESTAMP() (a date: UTC_DATE()); NOT_BEFORE a value earlier
 * than the literal or the other column; REFERENCES a non-NULL value no row
 * of the other table holds. FRESHNESS lists (stream, last_success,
 * age_seconds, max_age_seconds) when no succeeded run has loaded the
 * stream or the last finished more than freshness_s ago; MIN_ROWS lists
 * (stream, run_id, loaded, min_rows) when there is no such run or its
 * records read and not rejected (fetched - rejected) are fewer than
 * min_rows. HISTORY lists (key columns, version, problem) per violation of
 * the history's invariants (history.h): valid_from not before valid_to;
 * is_current disagreeing with valid_to (current exactly while valid_to is
 * NULL, never deleted); more than one current version of a key; a version
 * that does not start where the previous one ended (a gap or an overlap;
 * after a deletion a later start is no gap); a first version other than 1
 * or a missing version number. Empty when the history is sound.
 * ML_EINVAL for a view it cannot write.
 *
 * Every dialect, from its entry in the dialect table of ddlgen.c: with
 * DB_DIALECT_POSTGRES "CREATE OR REPLACE VIEW "name" WITH (security_invoker
 * = true) AS ...", the same rows and columns, names in double quotes, "now"
 * the UTC time and a date the UTC date, booleans tested as booleans, the
 * long shape's record_key and value as text (UNION ALL needs one type per
 * column), the counts as bigint; a name longer than 63 bytes is refused. */
int ddlgen_monitor_view(struct buf *out, const struct ddlgen_monitor *m, enum db_dialect d);

/* The word of a check kind in the mapping language ("not_null", ...). */
const char *ddlgen_check_word(enum check_kind k);

/* Appends the derived name of a check's view, "monitor_<table>_<column>_<word>",
 * or of a stream expectation, "monitor_<stream>_freshness" / "_min_rows"
 * (column NULL, word "freshness" or "min_rows"). A name longer than 64
 * characters keeps its first 55 and ends in '_' and 8 hex digits of a hash
 * (FNV-1a, 32 bits) of the whole name: deterministic, and distinct names
 * stay distinct but for a hash collision. */
int ddlgen_monitor_name(struct buf *out, const char *table, const char *column, const char *word);

/* Audited reveal. Appends (no trailing ';') the one statement
 *   CREATE OR REPLACE DEFINER=<definer> PROCEDURE `database`.`pii_reveal`
 *     (IN p_kind VARCHAR(64), IN p_id BIGINT UNSIGNED, IN p_reason VARCHAR(1024))
 *   SQL SECURITY DEFINER ...
 * whose body holds ';' (run it whole, never through a script splitter). The
 * procedure refuses (SIGNAL SQLSTATE '45000', server error 1644) a NULL or
 * blank reason, a NULL id and a kind that is none of `kinds` (compared
 * byte for byte; the caller's string only selects one generated branch per
 * kind, it never becomes SQL); otherwise, in one transaction, it reads the
 * value of sensitive_<kind>_ids row p_id, appends (UTC now, USER() - the
 * calling account, kind, id, reason, found) to pii_access_log, commits, and
 * returns one row with one column `value` (NULL when no such id). Refused
 * calls write nothing. `definer` is a role when definer_host is NULL
 * (MariaDB), else the account 'definer'@'definer_host'. ML_EINVAL for a
 * missing database or definer or an empty kind.
 * DB_DIALECT_POSTGRES: `database` is the schema and `definer` the loader
 * role (definer_host unused): the function `schema`.pii_reveal(p_kind
 * varchar, p_id bigint, p_reason varchar) RETURNS text, plpgsql, SECURITY
 * DEFINER with search_path the schema, its body on one line, with the same
 * refusals (RAISE EXCEPTION: SQLSTATE P0001) and branches; the log row is
 * written in the caller's transaction (a function cannot commit), then the
 * value is returned; followed by ALTER FUNCTION ... OWNER TO the definer. */
int ddlgen_reveal_procedure(struct buf *out, const char *database, const char *const *kinds,
                            size_t nkinds, const char *definer, const char *definer_host,
                            enum db_dialect d);

/* Appends, one per line ending in ";\n", EXECUTE on `database`.pii_reveal
 * to the loader role (a routine's definer must hold EXECUTE on it) and to
 * the steward role. DB_DIALECT_POSTGRES (`database` the schema): EXECUTE
 * revoked from PUBLIC and granted to the steward role (the owner, the
 * loader role, keeps it). */
int ddlgen_reveal_grants(struct buf *out, const char *database, const char *loader_role,
                         const char *steward_role, enum db_dialect d);

/* ---- evolving an existing stream table (`init` after a mapping change; the
 * decisions are schemadiff's, the text is written here) ---- */

/* The load metadata columns every stream table ends with (load_run_id,
 * loaded_at), in table order; *n gets their count. Static data. */
const struct column_def *ddlgen_meta_columns(size_t *n);

/* The history columns a `history: scd2` table has after the load metadata
 * (valid_from, valid_to, version, is_current, deleted, row_hash), in table
 * order; *n gets their count. Such a table's primary key is (key...,
 * version). Static data. */
const struct column_def *ddlgen_history_columns(size_t *n);

/* Appends the type of column `c` as CREATE TABLE spells it ("BIGINT
 * UNSIGNED", "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"). */
int ddlgen_column_type(struct buf *out, const struct column_def *c, enum db_dialect d);

/* The collation a stream table's text column has when its type names none
 * (the table's default); NULL for an unknown dialect. */
const char *ddlgen_text_collation(enum db_dialect d);

enum ddlgen_alter_kind {
    DDLGEN_ADD_COLUMN,    /* `col` as the definition says, AFTER `after` (FIRST when NULL) */
    DDLGEN_MODIFY_COLUMN, /* `col` restated as the definition says: type, NULL/NOT NULL, COMMENT */
    DDLGEN_RELAX_COLUMN,  /* a column no definition declares any more: made NULL, its type,
                             character set, collation and COMMENT restated as the server
                             reports them (server_type is its COLUMN_TYPE, written verbatim;
                             refused when it holds a control character, '`' or ';') */
};

struct ddlgen_alter {
    enum ddlgen_alter_kind kind;
    const struct column_def *col; /* ADD, MODIFY */
    bool not_null;                /* ADD, MODIFY */
    const char *after;            /* ADD */
    /* MODIFY in DB_DIALECT_POSTGRES, which changes a column's parts one by
     * one: the type (ALTER COLUMN TYPE), NULL or NOT NULL, the COMMENT;
     * none set restates all three. MySQL restates the column whole. */
    bool retype, renull, recomment;
    /* RELAX */
    const char *name, *server_type, *charset, *collation, *comment; /* the last three may be NULL */
};

/* Appends one "ALTER TABLE `t`" (no trailing ';') making the `n` column
 * changes in order, then, when table_comment is not NULL, setting the table
 * COMMENT to it ("" clears it). ML_EINVAL for nothing to do, an unknown
 * dialect or a change it cannot write.
 * DB_DIALECT_POSTGRES: several statements joined by ";\n" (run them as one
 * script, as ddlgen_create_table's): one ALTER TABLE "t" of ADD COLUMN (at
 * the end: PostgreSQL places no column), ALTER COLUMN ... TYPE, SET / DROP
 * NOT NULL (RELAX: DROP NOT NULL, the rest left as it is), when a change
 * needs one; then COMMENT ON COLUMN of a new column with a description and
 * of a changed description (IS NULL when none), and COMMENT ON TABLE. */
int ddlgen_alter_table(struct buf *out, const struct table_def *t,
                       const struct ddlgen_alter *alters, size_t n, const char *table_comment,
                       enum db_dialect d);

/* ---- RANGE partitions of a partitioned main table (t->partition; which
 * partitions exist and when is partition.h's decision) ---- */

/* One partition: its name ([a-z0-9_], at most 64 characters) and its
 * exclusive upper bound "YYYY-MM-DD"; an empty bound is MAXVALUE (only
 * the last partition of a list may have it). */
struct ddlgen_partition {
    char name[65];
    char bound[11];
};

/* True when t is partitioned on a column that is not one of its key
 * columns: the primary key is then (key..., column), because the server
 * wants the partitioning column in every unique key. */
bool ddlgen_partition_key_extra(const struct table_def *t);

/* Appends "\nPARTITION BY RANGE COLUMNS(`column`) (PARTITION ... VALUES
 * LESS THAN ('YYYY-MM-DD'), ..., PARTITION ... VALUES LESS THAN
 * (MAXVALUE))" for the n partitions p, in order, to follow
 * ddlgen_create_table's text. ML_EINVAL when t is not partitioned, a name
 * or a bound is invalid, the bounds do not increase or the last partition
 * is not the MAXVALUE one. */
int ddlgen_partition_by(struct buf *out, const struct table_def *t,
                        const struct ddlgen_partition *p, size_t n, enum db_dialect d);

/* Appends "ALTER TABLE `t` REORGANIZE PARTITION `last` INTO (p...)": the
 * last (MAXVALUE) partition split into the n >= 2 partitions p, the last
 * of which is the MAXVALUE one again. Same refusals as above. */
int ddlgen_partition_split_last(struct buf *out, const struct table_def *t, const char *last,
                                const struct ddlgen_partition *p, size_t n, enum db_dialect d);

/* Appends "ALTER TABLE `t` TRUNCATE PARTITION `a`,`b`" (their rows go,
 * the partitions stay). */
int ddlgen_partition_truncate(struct buf *out, const struct table_def *t, const char *const *names,
                              size_t n, enum db_dialect d);

/* Appends "ALTER TABLE `t` REORGANIZE PARTITION `a`,`b` INTO (PARTITION
 * `into->name` VALUES LESS THAN ('into->bound'))": the first n (adjacent,
 * emptied) partitions become one. */
int ddlgen_partition_merge_first(struct buf *out, const struct table_def *t,
                                 const char *const *names, size_t n,
                                 const struct ddlgen_partition *into, enum db_dialect d);

/* Appends the PostgreSQL statements (joined by ";\n", no trailing ';')
 * adding partition p (its name as MySQL's, its exclusive bound) of table
 * t in `schema`, for [from, p->bound): the table "<t>_<p->name>" made LIKE
 * t, the rows of that range moved into it from the DEFAULT partition
 * `default_rel` (PostgreSQL refuses a range the DEFAULT partition holds rows
 * of), attached FOR VALUES FROM (from) TO (bound), and every privilege on
 * it revoked from PUBLIC and the `readers` roles: they read through t.
 * To be run in one transaction. ML_EINVAL as the others, or for an empty
 * range. */
int ddlgen_partition_add_pg(struct buf *out, const struct table_def *t, const char *schema,
                            const char *default_rel, const char *from,
                            const struct ddlgen_partition *p, const char *const *readers,
                            size_t nreaders);

/* The name of a PostgreSQL table's DEFAULT partition, after "<table>_". */
#define DDLGEN_PARTITION_DEFAULT "p_default"

/* Appends, one per line ending in ";\n", "GRANT ALTER, DROP ON
 * `database`.`t` TO `loader_role`" for the main table of every partitioned
 * stream of defs (nothing for the others): what `run` needs to keep
 * partitions ready and drop expired ones, on those tables only.
 * DB_DIALECT_POSTGRES (`database` is the schema), which has no such
 * privileges: "ALTER TABLE s.t OWNER TO loader_role" for the table and for
 * its DEFAULT partition, then, when there is one, "GRANT CREATE ON SCHEMA s
 * TO loader_role" (the loader role creates the partitions). */
int ddlgen_partition_grants(struct buf *out, const struct stream_def *const *defs, size_t ndefs,
                            const char *database, const char *loader_role, enum db_dialect d);

#endif
