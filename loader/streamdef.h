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
                          normalised value (readable, comparable, joinable) */
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
};

struct index_def {
    const char *name;
    const char *const *cols; /* column names */
    unsigned ncols;
};

struct table_def {
    const char *name;
    const struct column_def *cols;
    unsigned ncols;
    unsigned nkey;           /* the first nkey columns are the natural key */
    const char *description; /* the table COMMENT; may be NULL */
    const struct index_def *indexes;
    unsigned nindexes;
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
