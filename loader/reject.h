/* reject.h - the reject of a record: where it came from, why, and what of it
 * may be kept.
 *
 * A reject goes to load_rejects, which the steward reads and which holds no
 * PII. So its payload is the record with every field removed that the
 * stream's mapping does not keep (`pii: keep`): dropped, reduced and
 * surrogate fields and fields outside the mapping never reach it, nor do
 * strings that cannot be read or are not UTF-8 (load_rejects is utf8mb4).
 * The kept fields are written as JSON in the record's own order; of
 * duplicate keys only the one the mapping read (the last) is written; the
 * elements of each child array are written with that child's kept fields.
 * Its reason is the mapping's (mapvalue.h quotes only kept values), and its
 * record key the record's natural key when it can be read as text.
 */
#ifndef ML_REJECT_H
#define ML_REJECT_H

#include <stddef.h>

#include "batch.h"
#include "json.h"

#define RECORD_NO_INDEX ((size_t)-1)

/* The position of a record: `ref` (a URL, a file, a queue), then
 * "ref:line" when line is not 0 (a line of a file), else "ref#index" when
 * index is not RECORD_NO_INDEX (the record's index in its page). Only
 * formatted when the record is rejected. */
struct record_pos {
    const char *ref;
    size_t index;
    unsigned long line;
};

/* Adds the reject of record `rec` to batch `b`: its position `pos`, the
 * reason formatted from `fmt` (which may quote err_msg(): it is formatted
 * before anything else may overwrite it), its record key (the value at the
 * stream's key_path: a string or number of at most 255 bytes, valid UTF-8,
 * without NUL bytes; else none) and its payload. `rec` may be any JSON node,
 * or NULL for a record that is not JSON (payload "{}", no key). It does not
 * count the record (batch_count). 0 or ML_ENOMEM. */
int reject_add(struct batch *b, const json_node *rec, struct record_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
