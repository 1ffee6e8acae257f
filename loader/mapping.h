/* mapping.h - stream mappings: JSON record -> typed rows, with the PII policy.
 *
 * A stream definition lists, for every field of a source record, its JSON
 * path, its target column and its PII action. mapping_map_record() validates
 * one record and either appends its rows to a batch or records a reject
 * (reason + payload with every non-kept field removed). Values headed for
 * surrogate columns are kept normalised in the batch until the loader
 * resolves them (batch_set_surrogate); the batch arena holds PII and is wiped
 * on reset and free.
 *
 * Rules for bad and hostile input. Every record is either loaded, rejected
 * (load_rejects, with a reason) or superseded, and each outcome is counted:
 *
 * | input                                   | rule                                  | counted in |
 * |-----------------------------------------|---------------------------------------|------------------|
 * | not an object, missing required key,     | rejected, reason names the field      | rejected |
 * |   wrong JSON type, bad number            |                                       | | |
 * date/time not ISO 8601 or out of range   | rejected (years 1000..9999, real      | rejected | |
 * (month 13, Feb 30, year 999 or 10000)  |   calendar days)                      | | | text longer
 * than its column              | rejected ("longer than N characters") | rejected         | |
 * surrogate value over 1 MiB               | rejected                              | rejected | |
 * NUL byte (JSON "\u0000") in a kept text  | stored intact, byte for byte          | loaded | | or
 * surrogate value                     |                                       |                  |
 * | NUL byte in a parsed value (id, number,  | rejected ("holds a NUL byte"): a      | rejected |
 * |   date, e-mail)                          |   parser would stop at the NUL        | | | same key
 * as an earlier record of the     | the last one wins: the earlier one    | duplicates       | |
 * same batch (batches hold whole pages)  |   and its child rows are not written  | | | fields
 * outside the mapping               | accepted; the unknown fields are not  | unknown_records  | |
 * |   stored anywhere (they may be PII);  |                  | | |   their names are collected for
 * one   |                  | |                                          |   warning per stream | |
 *
 * Per batch: records == accepted + nrejects + duplicates + already_processed
 * (the last: see stream_def.processed_table).
 */
#ifndef ML_MAPPING_H
#define ML_MAPPING_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "json.h"
#include "pii.h"

enum col_type {
    COL_BIGINT,
    COL_SMALLINT,
    COL_DECIMAL,
    COL_TEXT,
    COL_DATETIME,
    COL_DATE,
    COL_BOOL,
    COL_SURROGATE,
    COL_EPOCH_MS,     /* DATETIME(3) UTC from milliseconds since 1970 (a JSON integer or a
                         string of digits), e.g. SQS's SentTimestamp */
    COL_VERSION_MAJOR /* INT: the leading number of a version string ("2.3.0" -> 2) */
};

struct column_def {
    const char *name;
    enum col_type type;
    unsigned size;    /* TEXT: max characters; DECIMAL: integer digits */
    unsigned scale;   /* DECIMAL: fraction digits */
    const char *kind; /* SURROGATE: kind, table sensitive_<kind>_ids */
};

struct table_def {
    const char *name;
    const struct column_def *cols;
    unsigned ncols;
    unsigned nkey; /* the first nkey columns are the natural key */
};

/* A field of the source record. */
struct field_spec {
    const char *path;   /* dotted JSON path */
    const char *column; /* target column; NULL when dropped */
    enum pii_action action;
    bool required;
    const char *date_column; /* PII_YEAR: column that gets the full date when
                                the policy keeps dates */
};

/* Child rows from an array field of the record (subscriptions of a user).
 * The child table's first column is the parent's key, its second the
 * element's 0-based position; the remaining columns come from `fields`. */
struct child_def {
    const char *path;
    const struct table_def *table;
    const struct field_spec *fields;
    unsigned nfields;
};

struct stream_def {
    const char *name;              /* mapping name used in the config */
    const struct table_def *table; /* main table; its first column is the key */
    const struct field_spec *fields;
    unsigned nfields;
    const char *key_path;          /* JSON path of the natural key */
    const struct child_def *child; /* may be NULL */
    /* Exactly once over an at-least-once source (a queue): when set, the key
     * of every row and reject is recorded in this table (columns stream,
     * record_id, run_id, outcome, processed_at; ddl/070_user_logins.sql) in
     * the batch's own transaction, and a record whose key is already there
     * is dropped from the batch (batch_drop). NULL = not recorded. Streams
     * with a child table are not supported. */
    const char *processed_table;
};

/* Built-in mappings by name ("users", "messages"); NULL when unknown. */
const struct stream_def *mapping_find(const char *name);

enum cell_kind { CELL_NULL = 0, CELL_INT, CELL_TEXT, CELL_PENDING };

/* CELL_INT: i. CELL_TEXT: a literal (text, decimal, date...) at arena[off..off+len).
 * CELL_PENDING: a normalised surrogate value at arena[off..off+len) awaiting an id. */
struct cell {
    enum cell_kind kind;
    long long i;
    size_t off, len;
};

struct table_rows {
    const struct table_def *def;
    struct cell *cells; /* nrows * def->ncols */
    size_t nrows, cap;
};

/* For child tables: how many children each parent in the batch has now. */
struct child_count {
    long long parent_key;
    unsigned count;
};

struct reject {
    size_t source_ref, record_key, reason,
        payload; /* offsets into rej_arena; record_key may be (size_t)-1 */
};

struct batch {
    const struct stream_def *def;
    struct table_rows main, child;
    struct child_count *children;
    size_t nchildren, children_cap;
    struct reject *rejects;
    size_t nrejects, rejects_cap;
    struct buf arena;       /* row values, PII until resolved: wiped on reset */
    struct buf rej_arena;   /* reject texts (no PII) */
    struct buf scratch;     /* per-value scratch, wiped */
    size_t records;         /* records seen since the last reset */
    size_t accepted;        /* accepted and not superseded since the last reset */
    size_t duplicates;      /* accepted records superseded by a later record with
                               the same key since the last reset */
    size_t unknown_records; /* records (accepted or rejected) carrying fields
                               outside the mapping, since the last reset */
    /* duplicate detection: superseded[row] for main rows; key_slots is an
     * open-addressing set of main rows by key (row + 1, 0 = empty) */
    bool *superseded;
    size_t superseded_cap;
    size_t *key_slots;
    size_t key_slots_cap, key_slots_used;
    /* names of unknown fields seen since batch_init (NOT reset: one warning
     * per stream), newline separated, at most MAPPING_UNKNOWN_NAMES_MAX */
    struct buf known_shape; /* key structure of the last record without unknown
                               fields (keys only, no values: not PII) */
    struct buf shape;       /* scratch for the current record's structure */
    struct buf unknown_names;
    size_t nunknown_names;
    bool unknown_names_more;  /* more distinct names than were kept */
    size_t already_processed; /* rows and rejects dropped by batch_drop (their key was
                                 recorded by an earlier transaction) since the last reset */
};

/* Surrogate values longer than this many bytes are rejected. */
#define MAPPING_SURROGATE_VALUE_MAX 1048576
#define MAPPING_UNKNOWN_NAMES_MAX   16

struct map_options {
    enum birth_date_policy birth_date;
};

int batch_init(struct batch *b, const struct stream_def *def);
void batch_reset(struct batch *b);
void batch_release(struct batch *b);

/* Maps one record. Returns 0 when the record was accepted or rejected (see
 * b->nrejects); a negative code only on resource failure. `source_ref` says
 * where the record came from (URL and position). */
int mapping_map_record(struct batch *b, const json_node *rec, const struct map_options *opt,
                       const char *source_ref);
/* The same with the position given as a page reference and the record's
 * index in the page ("page_ref#index"), or its line in a file when `line`
 * is not 0 ("page_ref:line"), formatted only for a reject. */
int mapping_map_record_at(struct batch *b, const json_node *rec, const struct map_options *opt,
                          const char *page_ref, size_t index, unsigned long line);

/* Counts a record that is not JSON (json_page_parse_record failed with
 * `reason`, which never quotes the record) and rejects it, positioned as
 * mapping_map_record_at does; its payload is "{}" and its key unknown, since
 * nothing of it can be read safely. 0 or a resource failure. */
int mapping_reject_unparsed(struct batch *b, const char *reason, const char *page_ref,
                            size_t index, unsigned long line);

/* Drops the rows of superseded records (and their child rows) so that the
 * last record of each key wins. The loader calls it before writing a batch.
 * Returns 0 (it only moves memory). */
int batch_compact(struct batch *b);

/* Drops the main rows with drop_rows[row] and the rejects with
 * drop_rejects[i] (either may be NULL), counting them in already_processed
 * and out of accepted / nrejects. For processed_table streams, which have no
 * child table (ML_EINTERNAL otherwise). Dropping is final: the loader drops
 * only records whose key another transaction has committed, so a retried
 * transaction may start from the smaller batch. */
int batch_drop(struct batch *b, const bool *drop_rows, const bool *drop_rejects);

/* The names of unknown fields seen so far, ", " separated (for the warning),
 * written into `out` (replacing its content). */
int batch_unknown_names(const struct batch *b, struct buf *out);

/* Cell access and the text of a cell. */
struct cell *batch_cell(struct table_rows *t, size_t row, unsigned col);
const char *batch_text(const struct batch *b, const struct cell *c);
const char *batch_rej_text(const struct batch *b, size_t off);

#endif
