/* batch.h - the rows, rejects and counters of one batch of a stream.
 *
 * A batch holds what the mapping (mapping.h) made of the records read since
 * the last batch_reset(): the typed rows of the stream's main table and of
 * each of its child tables, the rejects, and the counters the loader
 * records per batch. The loader resolves the surrogates of its rows (it rewrites their
 * CELL_PENDING cells to CELL_INT ids), writes it in one transaction, then
 * resets it for the next pages.
 *
 * In-batch de-duplication: a batch holds whole pages, and when a record
 * repeats the key of an earlier accepted record of the same batch the last
 * one wins: batch_accept() marks the earlier row superseded (counted in
 * `duplicates`) and batch_compact() drops it and its rows in every child
 * table before the batch is written.
 *
 * Memory: cell texts live in the batch's row arena, which holds PII until
 * the surrogates are resolved: it is wiped on batch_reset() and
 * batch_free(), and batch_undo() wipes what it takes back. Reject texts live
 * in a reject arena of their own that never holds PII (reject.h). Every
 * array grows as needed; the only caps are the deliberate ones below.
 *
 * Invariant, per batch: records == accepted + rejected + duplicates +
 * already_processed.
 *
 * The batch is not thread-safe; one batch serves one stream at a time.
 */
#ifndef ML_BATCH_H
#define ML_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "streamdef.h"

/* At most this many distinct unknown field names are kept, from batch_new
 * on (they make one warning per stream); further ones show as "...". */
#define BATCH_UNKNOWN_NAMES_MAX 16

struct batch;

enum cell_kind { CELL_NULL = 0, CELL_INT, CELL_TEXT, CELL_PENDING };

/* CELL_INT: i. CELL_TEXT: a literal (text, decimal, date...) of len bytes in
 * the row arena (batch_text). CELL_PENDING: a normalised surrogate value of
 * len bytes in the row arena, awaiting its id. */
struct cell {
    enum cell_kind kind;
    long long i;
    size_t off, len;
};

/* The rows of one table: nrows * def->ncols cells, row by row. Callers may
 * rewrite cells (surrogate resolution); nrows, cap and def are the batch's. */
struct table_rows {
    const struct table_def *def;
    struct cell *cells;
    size_t nrows, cap;
};

/* The batch's tables are numbered: BATCH_MAIN, then BATCH_CHILD(i) for
 * child i of the definition (def->children[i], 0 <= i < def->nchildren);
 * batch_ntables() says how many there are. */
#define BATCH_MAIN     0u
#define BATCH_CHILD(i) (1u + (unsigned)(i))

/* For child tables: how many children a parent of the batch has now. */
struct child_count {
    long long parent_key;
    unsigned count;
};

/* Offsets into the reject arena (batch_rej_text); record_key may be
 * (size_t)-1: the record's key could not be read. */
struct reject {
    size_t source_ref, record_key, reason, payload;
};

/* Counters since the last batch_reset(). */
struct batch_counts {
    size_t records;         /* records seen */
    size_t accepted;        /* accepted and not superseded */
    size_t rejected;        /* rejects held (batch_reject) */
    size_t duplicates;      /* accepted records superseded by a later record of the same key */
    size_t unknown_records; /* records (accepted or rejected) carrying fields outside the mapping */
    size_t invalid_nulled;  /* values set to NULL by `on_invalid: null` in accepted records */
    size_t already_processed; /* rows and rejects dropped by batch_drop */
};

/* ---- lifetime ---- */

/* A new empty batch for stream `def`, which must outlive it; NULL when out
 * of memory. */
struct batch *batch_new(const struct stream_def *def);
/* Wipes the row arena and frees everything; NULL is a no-op. */
void batch_free(struct batch *b);
/* Empties the batch for the next pages, keeping its memory: rows, rejects,
 * child counts, counters and the key set go; the row arena is wiped. What
 * is kept per stream survives: the unknown field names and the mapping's
 * BATCH_WORK_KNOWN_SHAPE. */
void batch_reset(struct batch *b);

/* ---- reading (the loader, the writer, tests) ---- */

const struct stream_def *batch_def(const struct batch *b);
struct batch_counts batch_counts(const struct batch *b);
/* 1 + the definition's nchildren: the main table and one per child. */
unsigned batch_ntables(const struct batch *b);
/* The rows of table `table` (BATCH_MAIN or BATCH_CHILD(i)); NULL when
 * table >= batch_ntables(). */
struct table_rows *batch_rows(struct batch *b, unsigned table);
/* Reject i, 0 <= i < batch_counts().rejected. */
const struct reject *batch_reject(const struct batch *b, size_t i);
/* The counts of child `child` (0 <= child < def->nchildren) in parent
 * order, one per accepted record (superseded ones included until
 * batch_compact); *n gets their number. NULL when there are none (or no
 * such child). */
const struct child_count *batch_children(const struct batch *b, unsigned child, size_t *n);

/* Cell `col` of row `row`, and the text of a CELL_TEXT or CELL_PENDING
 * cell (NUL-terminated at len; it may hold NUL bytes before). */
struct cell *batch_cell(struct table_rows *t, size_t row, unsigned col);
const char *batch_text(const struct batch *b, const struct cell *c);
/* Resolves the CELL_PENDING cells of every surrogate column of t, a table
 * of b: per column, resolve(arg, kind, values, lens, n, ids, created) gets
 * their texts in row order and writes their ids, which then become CELL_INT
 * cells. 0, ML_ENOMEM or resolve's code (its column's cells stay pending). */
int batch_resolve_surrogates(struct batch *b, struct table_rows *t,
                             int (*resolve)(void *arg, const char *kind, const char *const *values,
                                            const size_t *lens, size_t n, unsigned long long *ids,
                                            unsigned long long *created),
                             void *arg, unsigned long long *created);
/* A text of a reject (struct reject's offsets); NULL for (size_t)-1. */
const char *batch_rej_text(const struct batch *b, size_t off);

/* How many distinct unknown field names the batch holds (see
 * batch_note_unknown_name), and those names, ", " separated and ending in
 * ", ..." when more were seen than kept, written into `out` (replacing its
 * content). 0 or ML_ENOMEM. */
size_t batch_unknown_name_count(const struct batch *b);
int batch_unknown_names(const struct batch *b, struct buf *out);

/* The batch's memory as bytes, for tests and fuzzers that check what it
 * holds: the row arena's written part [0, arena_len) within its allocation
 * [0, arena_cap) (wiped past arena_len), and the reject arena's written part.
 * Read-only; valid until the batch next changes. */
struct batch_memory {
    const char *arena;
    size_t arena_len, arena_cap;
    const char *rej_arena;
    size_t rej_arena_len;
};
struct batch_memory batch_memory(const struct batch *b);

/* ---- before writing (the loader) ---- */

/* Drops the rows of superseded records (and their rows in every child
 * table, with their child counts) so that the
 * last record of each key wins; compacting twice changes nothing. The
 * loader calls it before writing a batch. 0, or ML_ENOMEM rebuilding the
 * key set. */
int batch_compact(struct batch *b);

/* Drops the main rows with drop_rows[row] and the rejects with
 * drop_rejects[i] (either may be NULL), counting them in already_processed
 * and out of accepted / rejected. For processed_table streams, which have
 * no child tables (ML_EINTERNAL otherwise). Dropping is final: the loader
 * drops only records whose key another transaction has committed, so a
 * retried transaction may start from the smaller batch. */
int batch_drop(struct batch *b, const bool *drop_rows, const bool *drop_rejects);

/* The keys an exactly-once batch claims in its processed table
 * (stream_def.processed_table), the same for every warehouse: the key of
 * every main row (its first cell: text, or an integer as decimal text) and
 * the record key of every reject that has one (one without cannot be
 * recognised when delivered again), sorted byte-wise by key so that two
 * loaders claiming overlapping keys lock them in the same order. A key may
 * appear twice (a message delivered twice in one batch, or rejected once
 * and loaded once): the warehouse keeps the first claim and the others are
 * dropped like any already processed record. */
struct batch_claim {
    const char *key; /* NULL: the key is `num` */
    size_t len;
    bool reject;  /* a reject (else a main row) */
    size_t index; /* its row or reject number */
    char num[24]; /* the key's text when it is an integer */
};
/* The claim's key text (len bytes, not NUL-terminated when from the batch). */
const char *batch_claim_key(const struct batch_claim *c);
/* *out (free() it) gets the batch's claims, *n their number. 0 or ML_ENOMEM. */
int batch_claims(const struct batch *b, struct batch_claim **out, size_t *n);
/* Drops the claims whose dropped[i] is set (claims of `b` from batch_claims)
 * with batch_drop; *ndropped gets their number. 0 or an error. */
int batch_drop_claims(struct batch *b, const struct batch_claim *cl, size_t n, const bool *dropped,
                      size_t *ndropped);

/* Moves the main rows [from, nrows) of a compacted batch, with their rows
 * and counts in every child table, into `rest`, an empty batch of the same
 * definition (from batch_new or batch_reset): `rest` counts them as its
 * records, accepted; `b` keeps its first `from` rows, its rejects and every
 * other count. Written one after the other, the two batches write what `b`
 * would have written (the loader splits a batch too large for one
 * transaction). Cells keep their kind: resolved surrogates stay resolved.
 * 0; ML_EINVAL when 0 < from < nrows does not hold, `b` has superseded rows
 * left (batch_compact first), a child table has no count per main row, or
 * `rest` is not empty; ML_ENOMEM. On failure both batches are unchanged. */
int batch_split(struct batch *b, size_t from, struct batch *rest);

/* Turns the one record of a compacted batch (one main row) into a reject
 * with `source_ref` and `reason`: its main row, its child rows and counts
 * go, and it counts as rejected instead of accepted (the loader rejects a
 * record the server cannot store even alone). The reject's record key is
 * the row's first cell as text (an integer in decimal, or a text of at most
 * 255 bytes, valid UTF-8 without NUL bytes; else none), as batch_claims
 * would have claimed it; its payload is the main row as a JSON object of
 * the table's column names and values as the table would hold them
 * (masked: integers as numbers, text as strings; NULL, a pending surrogate
 * and a text that is not valid UTF-8 or holds a NUL byte as null), so it
 * holds no PII. 0; ML_EINVAL when the batch does not hold exactly one
 * row, which is not superseded; ML_ENOMEM (the batch then unchanged). */
int batch_reject_only_record(struct batch *b, const char *source_ref, const char *reason);

/* ---- filling (the mapping modules: mapping.c, mapvalue.c, reject.c) ----
 * Every function returns 0 or ML_ENOMEM and leaves the batch consistent. */

/* Appends a row of all-CELL_NULL cells to table `table` (< batch_ntables);
 * *row gets its number. Cell pointers stay valid until the next
 * batch_add_row of that table. */
int batch_add_row(struct batch *b, unsigned table, size_t *row);
/* Sets cell `c` to `kind` (CELL_TEXT or CELL_PENDING) with a copy of
 * s[0..len) in the row arena. */
int batch_put_text(struct batch *b, struct cell *c, enum cell_kind kind, const char *s, size_t len);

/* A point to return to: batch_undo() takes back every row, child count,
 * arena byte and invalid_nulled count added since batch_mark(), wiping the
 * arena bytes. Only the last rows may be taken back (a mark is taken
 * before a record or a value, undone before the next one). Child rows and
 * counts are taken back with the main rows they belong to: undoing to a
 * mark of main_rows rows leaves every child table as it was after the
 * record of main row main_rows - 1 was complete (each accepted record has
 * one count per child), and a mark with no main row added since (a value)
 * leaves the child tables alone. */
struct batch_mark {
    size_t arena, main_rows, invalid_nulled;
};
struct batch_mark batch_mark(const struct batch *b);
void batch_undo(struct batch *b, struct batch_mark m);

/* Counters the mapping bumps; the others move with the calls below. */
enum batch_counter { BATCH_RECORDS, BATCH_UNKNOWN_RECORDS, BATCH_INVALID_NULLED };
void batch_count(struct batch *b, enum batch_counter which);

/* Counts the record whose main row is `row` (the last one) as accepted, and
 * supersedes the earlier row of the same key, if any (the last one wins).
 * The key is the first def->table->nkey cells of the row. */
int batch_accept(struct batch *b, size_t row);
/* Records that parent `parent_key` has `count` rows in child `child`'s
 * table (the last ones added to it). */
int batch_add_child_count(struct batch *b, unsigned child, long long parent_key, unsigned count);
/* Adds a reject with copies of its texts; `record_key` may be NULL
 * (unknown). None of the texts may hold PII (reject.h sees to that). */
int batch_add_reject(struct batch *b, const char *source_ref, const char *reason,
                     const char *record_key, const char *payload);
/* Keeps `name` (printable, no PII: a field name, never a value) among the
 * unknown field names, unless it is there already or BATCH_UNKNOWN_NAMES_MAX
 * are kept. Kept across batch_reset. Failure to keep it is not an error. */
void batch_note_unknown_name(struct batch *b, const char *name);

/* Keeps the unknown field names of `src` in `dst` as batch_note_unknown_name
 * would (a stream mapped into two batches that take turns reports the
 * names of both once). */
void batch_merge_unknown_names(struct batch *dst, const struct batch *src);

/* Working buffers the mapping keeps in the batch, so that they are
 * allocated once per stream and reused from record to record. */
enum batch_work {
    BATCH_WORK_VALUE,       /* one value being converted (PII): the user wipes what it
                               wrote; wiped by batch_free */
    BATCH_WORK_SHAPE,       /* the current record's key structure (keys only: not PII) */
    BATCH_WORK_KNOWN_SHAPE, /* the key structure of the last record without unknown
                               fields; kept across batch_reset */
};
struct buf *batch_work(struct batch *b, enum batch_work which);

#endif
