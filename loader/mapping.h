/* mapping.h - stream mappings: JSON record -> typed rows, with the PII policy.
 *
 * A stream definition lists, for every field of a source record, its JSON
 * path, its target column and its PII action. mapping_map_record() validates
 * one record and either appends its rows to a batch or records a reject
 * (reason + payload with every non-kept field removed). Values headed for
 * surrogate columns are kept normalised in the batch until the loader
 * resolves them (batch_set_surrogate); the batch arena holds PII and is wiped
 * on reset and free.
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
    COL_SURROGATE
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
    struct buf arena;     /* row values, PII until resolved: wiped on reset */
    struct buf rej_arena; /* reject texts (no PII) */
    struct buf scratch;   /* per-value scratch, wiped */
    size_t records;       /* records seen since the last reset */
    size_t accepted;
};

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

/* Cell access and the text of a cell. */
struct cell *batch_cell(struct table_rows *t, size_t row, unsigned col);
const char *batch_text(const struct batch *b, const struct cell *c);
const char *batch_rej_text(const struct batch *b, size_t off);

#endif
