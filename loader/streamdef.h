/* streamdef.h - stream definitions: what a stream's records become.
 *
 * The one registry the rest is derived from: the mapping (record -> rows,
 * mapping.c), the tables' DDL and the grants (ddlgen.c), the sensitive
 * tables (the surrogate kinds in use), the analyst's allow-list and config
 * validation. A definition is data: the built-ins are YAML files in
 * mappings/ embedded in the binary, a user's are YAML files or inline
 * mappings in the configuration; all are parsed by the config module
 * (config_mapping.c, the only place that sees libyaml) in the language of
 * README "Your own API".
 *
 * Lifetime: a definition and everything it points to live in one arena
 * owned by whoever parsed it (a struct config, or the built-in cache of
 * streamdef_builtin); they are immutable once built.
 */
#ifndef ML_STREAMDEF_H
#define ML_STREAMDEF_H

#include <stdbool.h>
#include <stddef.h>

#include "cursor.h"
#include "pii.h"

/* Column types (the mapping language's `type:` words, or implied by a PII
 * action). SQL spelling per dialect: ddlgen.c. */
enum col_type {
    COL_BIGINT,        /* bigint */
    COL_SMALLINT,      /* smallint (also the year of `pii: year`, and child positions) */
    COL_DECIMAL,       /* decimal(p,s): size = p - s integer digits, scale = s */
    COL_TEXT,          /* varchar(n): size = n characters */
    COL_DATETIME,      /* datetime: DATETIME(3), UTC */
    COL_DATE,          /* date */
    COL_BOOL,          /* boolean */
    COL_SURROGATE,     /* pii: surrogate: BIGINT UNSIGNED id in sensitive_<kind>_ids */
    COL_EPOCH_MS,      /* epoch_ms: DATETIME(3) UTC from milliseconds since 1970 (a JSON
                          integer or a string of digits), e.g. SQS's SentTimestamp */
    COL_VERSION_MAJOR, /* version_major: INT, the leading number of a version
                          string ("2.3.0" -> 2) */
    COL_INT,           /* int */
    COL_LONGTEXT,      /* text: unbounded (MEDIUMTEXT: 16 MiB) */
    COL_HMAC,          /* pii: hmac: CHAR(64) ASCII, the lower-case hex of HMAC-SHA256 of the
                          normalised value (readable, comparable, joinable); with a
                          declared `type: varchar(n)` (n >= 64, size = n) a VARCHAR(n)
                          compared byte for byte holding the same 64 characters */
    COL_DIGEST         /* BINARY(32): a raw digest (the sensitive tables' digest column) */
};

struct column_def {
    const char *name;
    enum col_type type;
    unsigned size;           /* TEXT: max characters; DECIMAL: integer digits */
    unsigned scale;          /* DECIMAL: fraction digits */
    const char *kind;        /* SURROGATE: kind, table sensitive_<kind>_ids */
    bool required;           /* NOT NULL (key columns always are) */
    bool is_unsigned;        /* SMALLINT/INT/BIGINT UNSIGNED (child positions) */
    bool binary;             /* TEXT compared byte for byte (`collation: binary`) */
    const char *description; /* the column COMMENT the analyst sees; may be NULL */
    int decl_line, decl_col; /* where it was declared (0 for derived columns) */
    /* `subject: true`: the column identifies a data subject (a person's id):
     * `maskload forget --subject ID` deletes the rows holding ID here, and a
     * run skips records whose value here is an erased subject. Only on a
     * main table's column kept as sent (pii: keep) of an integer or text
     * type; a child table's rows go with their parent's. */
    bool subject;
    /* `type: epoch_ms_date`: a DATE column whose value is the UTC day of
     * milliseconds since 1970 (a JSON integer or a string of digits), e.g.
     * the day of SQS's SentTimestamp */
    bool from_epoch_ms;
};

/* A declared data-quality check on a column (`checks:` in the mapping
 * language): init turns it into a monitoring view listing the rows that
 * break it (ddlgen_monitor_view), `maskload check` counts those rows. */
enum check_kind {
    CHECK_NOT_NULL,   /* the column is NULL */
    CHECK_UNIQUE,     /* another row has the same (non-NULL) value */
    CHECK_ACCEPTED,   /* the value is none of `values` */
    CHECK_RANGE,      /* the value is below values[0] or above values[1] (NULL: open end) */
    CHECK_NOT_FUTURE, /* the value is later than now (UTC) */
    CHECK_NOT_BEFORE, /* the value is earlier than values[0] (a date or datetime literal,
                         "YYYY-MM-DD[ HH:MM:SS]") or than column `other` of the same row */
    CHECK_REFERENCES, /* a non-NULL value with no row in ref_table.ref_column (orphans) */
    CHECK_KIND_N
};

struct check_def {
    enum check_kind kind;
    unsigned col;              /* the checked column's index in its table */
    const char *const *values; /* ACCEPTED: nvalues; RANGE: 2 (either NULL); NOT_BEFORE: 1 */
    unsigned nvalues;          /* numbers are written unquoted, anything else as a literal */
    bool numeric;              /* values compare as numbers (the column is a number type) */
    const char *other;         /* NOT_BEFORE: the other column, or NULL */
    const char *ref_table;     /* REFERENCES */
    const char *ref_column;    /* REFERENCES */
    const char *monitor;       /* `monitor:` view name, NULL = derived (ddlgen_check_name) */
    const char *file;          /* where it was declared, for messages */
    int decl_line, decl_col;
};

struct index_def {
    const char *name;
    const char *const *cols; /* column names */
    unsigned ncols;
};

/* RANGE partitioning of an append-only stream's main table (`partition:
 * { column: created_at, by: month, ahead: 3 }` and `retention: 400d`;
 * partition.h maintains the partitions). The column is a required date or
 * datetime column of the main table; it joins the primary key (after the
 * natural key) because the server wants the partitioning column in every
 * unique key. */
enum partition_unit { PARTITION_DAY = 1, PARTITION_MONTH = 2 };

struct partition_def {
    const char *column;      /* the partitioning column, one of the table's */
    enum partition_unit by;  /* one partition per day or per month */
    unsigned ahead;          /* periods kept ready after the current one (1..60) */
    unsigned retention_days; /* partitions wholly older than now - this are dropped; 0 = kept */
    int decl_line, decl_col; /* where `partition:` was declared */
};

struct table_def {
    const char *name;
    const struct column_def *cols;
    unsigned ncols;
    unsigned nkey;           /* the first nkey columns are the natural key */
    const char *description; /* the table COMMENT; may be NULL */
    const struct index_def *indexes;
    unsigned nindexes;
    const struct partition_def *partition; /* a main table's partitioning; NULL = none */
    const struct check_def *checks; /* declared checks of its columns, in declaration order */
    unsigned nchecks;
    /* `history: scd2` (the main table of such a stream): the table holds
     * versions. After the load metadata it has the history columns
     * (ddlgen_history_columns: valid_from, valid_to, version, is_current,
     * deleted, row_hash) and its primary key is (key..., version). Written
     * only by history.c's merge; see history.h. */
    bool history;
};

/* A field of the source record and what becomes of it. */
struct field_spec {
    const char *path;   /* dotted JSON path */
    const char *column; /* target column; NULL when dropped */
    enum pii_action action;
    bool required;
    bool invalid_null;       /* `on_invalid: null`: a malformed value becomes NULL (counted) */
    unsigned normalize;      /* enum normalize_flag bits (surrogate, hmac) */
    unsigned param;          /* bucket: the width; prefix: characters kept; truncate:
                                enum truncate_unit (pii.h) */
    int col;                 /* index of `column` in its table; -1 when dropped */
    int decl_line, decl_col; /* where it was declared */
};

/* Child rows from an array field of the record (subscriptions of a user,
 * the lines and the payments of an order). The child table's first column
 * is the parent's key, its second the element's 0-based position; the
 * remaining columns come from `fields`. The children of one definition have
 * distinct paths (none a prefix of another, or of a parent field) and
 * distinct tables, none named like the parent's. */
struct child_def {
    const char *path;
    const struct table_def *table;
    const struct field_spec *fields;
    unsigned nfields;
};

enum schema_mode { SCHEMA_EVOLVE = 0, SCHEMA_FREEZE = 1 };

/* `incremental: { cursor: PATH, param: NAME, lookback: DURATION, sorted: BOOL }`:
 * each run asks the source (an http source only) for the records changed
 * since the stored cursor minus the lookback, adding `param=<value>` to every
 * page request (the API must return every record whose cursor field is >=
 * the value). The cursor is the largest value of field `cursor` among the
 * committed records of the stream, kept in load_cursors. `cursor` is a field
 * of the main record mapped (pii: keep) to a datetime, epoch_ms, bigint or
 * int column; a record without it (NULL) is loaded and does not move the
 * cursor. Unsorted pages (the default): the new cursor commits with the
 * stream run's last batch, so a run killed earlier asks again from the old
 * cursor. `sorted: true` (the API serves records in ascending cursor order)
 * commits it with every batch. */
struct incremental_def {
    const char *cursor; /* the field's JSON path */
    int col;            /* its column in the main table */
    enum cursor_kind kind;
    const char *param;       /* the query parameter's name */
    long long lookback_s;    /* seconds subtracted from the stored cursor */
    bool sorted;             /* the source serves records in ascending cursor order */
    int decl_line, decl_col; /* where `incremental` was declared */
};

struct stream_def {
    const char *name;              /* the definition's name (built-in name, or the stream's) */
    const struct table_def *table; /* main table; its first nkey columns are the key */
    const struct field_spec *fields;
    unsigned nfields;
    const char *key_path;             /* JSON path of the natural key */
    const struct child_def *children; /* nchildren of them, in declaration order; NULL if none */
    unsigned nchildren;
    /* Exactly once over an at-least-once source (a queue): when set, the key
     * of every row and reject is recorded in this table (columns stream,
     * record_id, run_id, outcome, processed_at; ddl/070_load_processed_ids.sql)
     * in the batch's own transaction, and a record whose key is already there
     * is dropped from the batch (batch_drop). NULL = not recorded. Streams
     * with child tables are not supported. (`exactly_once: true`) */
    const char *processed_table;
    bool unknown_reject;     /* `unknown_fields: reject` */
    enum schema_mode schema; /* `schema: evolve | freeze` */
    const char *file;        /* where it was defined ("builtin:users", a path) */
    /* Re-identification risk (`quasi_identifiers: [..]` and `k: N`, in the
     * definition or on the stream's entry): columns of the main table, none
     * of the key, whose combination could single a person out; groups of
     * fewer than k rows sharing one combination are listed by a monitoring
     * view (ddlgen_small_groups_view). nquasi 0 = none declared (k 0). */
    const char *const *quasi;
    unsigned nquasi;
    unsigned k;
    /* Expectations on the stream's loads (`freshness: 26h`, `min_rows: N`,
     * in the definition or on the stream's entry, which wins): the last
     * successful run that loaded the stream finished at most `freshness_s`
     * seconds ago, and loaded at least `min_rows` records. 0 = not declared.
     * Each becomes a monitoring view of one row while it is not met. */
    unsigned long long freshness_s;
    unsigned long long min_rows;
    /* `incremental:` (see incremental_def); NULL = every run reads everything */
    const struct incremental_def *incremental;
};

/* The built-in definition `name` ("users", "messages", "user_logins"),
 * parsed once from its embedded YAML and kept for the process; NULL when
 * there is none. A built-in that does not parse is a build defect: the
 * message is logged and NULL returned. Thread-safe. */
const struct stream_def *streamdef_builtin(const char *name);

/* Names of the built-in definitions, NULL-terminated. */
extern const char *const streamdef_builtin_names[];

/* The arena definitions are built in (config_mapping.c); freeing it frees
 * every definition in it. */
struct streamdef_arena *streamdef_arena_new(void);
void streamdef_arena_free(struct streamdef_arena *a);

/* Column `name` of table `t`, or -1. */
int streamdef_column_index(const struct table_def *t, const char *name);

#endif
