/* mapping.h - one record of a stream -> the rows of a batch, with the PII policy.
 *
 * A stream definition (streamdef.h) lists, for every field of a source
 * record, its JSON path, its target column and its PII action.
 * mapping_map_record() validates one record and either appends its rows
 * (main row, each child's rows and count) to a batch (batch.h) or, when any
 * value is refused, takes back everything it added and records a reject
 * instead (reject.h). Each value becomes a cell by mapvalue.h; values
 * headed for surrogate columns stay normalised in the batch's row arena
 * until the loader resolves them.
 *
 * Rules for bad and hostile input. Every record is either loaded, rejected
 * (load_rejects, with a reason) or superseded, and each outcome is counted
 * (struct batch_counts):
 *
 * | input                               | rule                                | counted in      |
 * |-------------------------------------|-------------------------------------|-----------------|
 * | not an object, missing required     | rejected, the reason names the      | rejected        |
 * |   key, wrong JSON type, bad number  |   field                             |                 |
 * | date/time not ISO 8601 or out of    | rejected (years 1000..9999, real    | rejected        |
 * |   range (month 13, Feb 30, year     |   calendar days)                    |                 |
 * |   999 or 10000)                     |                                     |                 |
 * | text longer than its column         | rejected ("longer than N            | rejected        |
 * |                                     |   characters")                      |                 |
 * | surrogate value over 1 MiB          | rejected                            | rejected        |
 * | NUL byte (JSON "\u0000") in a kept  | stored intact, byte for byte        | accepted        |
 * |   text or a surrogate value         |                                     |                 |
 * | NUL byte in a parsed value (id,     | rejected ("holds a NUL byte"): a    | rejected        |
 * |   number, date, e-mail)             |   parser would stop at the NUL      |                 |
 * | same key as an earlier record of    | the last one wins: the earlier one  | duplicates      |
 * |   the same batch (batches hold      |   and its child rows are not        |                 |
 * |   whole pages)                      |   written (batch_compact)           |                 |
 * | fields outside the mapping          | accepted (or rejected with          | unknown_records |
 * |                                     |   `unknown_fields: reject`); the    |                 |
 * |                                     |   unknown fields are not stored     |                 |
 * |                                     |   anywhere (they may be PII); their |                 |
 * |                                     |   names are collected for one       |                 |
 * |                                     |   warning per stream                |                 |
 *
 * Per batch: records == accepted + rejected + duplicates + already_processed
 * (the last: see stream_def.processed_table).
 *
 * Names of unknown fields are shown with their path ("profile.hobby",
 * "subscription[].coupon"), cut after 64 bytes, control characters and ','
 * escaped as \xNN.
 */
#ifndef ML_MAPPING_H
#define ML_MAPPING_H

#include <stddef.h>

#include "batch.h"
#include "json.h"
#include "mapvalue.h"
#include "streamdef.h"

/* Built-in mappings by name ("users", "messages", "user_logins"); NULL when
 * unknown. The same as streamdef_builtin(). */
const struct stream_def *mapping_find(const char *name);

/* Maps one record. Returns 0 when the record was accepted or rejected (see
 * batch_counts().rejected); a negative code only on resource failure.
 * `source_ref` says where the record came from (URL and position). */
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
int mapping_reject_unparsed(struct batch *b, const char *reason, const char *page_ref, size_t index,
                            unsigned long line);

#endif
