/* mapvalue.h - one JSON value -> one cell of a batch, with the PII action.
 *
 * A field's value is checked against its column type and its PII action
 * and becomes one cell: an integer, a literal in the batch's row arena
 * (text, decimal, date, timestamp, an HMAC digest in hex) or, for a
 * surrogate column, the normalised value as a CELL_PENDING cell the loader
 * resolves to an id. Dropped fields are never read; the full value of a
 * reduced PII field (an e-mail address, a birth date) never reaches the
 * arena, and the scratch it passed through is wiped.
 *
 * A value that does not fit is a record error: ML_ERECORD with a reason
 * that names the field and quotes the value only when the field is kept
 * (not PII), cut to REASON_VALUE_MAX bytes with control characters escaped.
 */
#ifndef ML_MAPVALUE_H
#define ML_MAPVALUE_H

#include <stddef.h>

#include "batch.h"
#include "config.h"
#include "crypto.h"
#include "json.h"
#include "streamdef.h"

/* Surrogate (and hmac) input values longer than this many bytes are rejected. */
#define MAPPING_SURROGATE_VALUE_MAX 1048576

struct map_options {
    enum birth_date_policy birth_date;
    struct crypto_mac *hmac; /* keyed MAC for `pii: hmac` columns; NULL when no digest key
                                (the config refuses hmac columns then) */
};

/* Maps value `v` of field `f` (JSON_ABSENT when missing) into cell `c` of
 * column `col`, appending its text to b's row arena. 0; ML_ERECORD with the
 * reason in err_msg() when the value is refused (nothing kept in the
 * arena then is the caller's to take back: batch_undo); ML_ENOMEM; or
 * ML_EINTERNAL for a mapping the config should have refused. `opt` may be
 * NULL (no full birth dates, no digest key). */
int mapvalue_convert(struct batch *b, const struct field_spec *f, const struct column_def *col,
                     const json_node *v, struct cell *c, const struct map_options *opt);

/* The text of a scalar for parsers: strings as they are (with their length,
 * NUL bytes included), numbers as their exact token text (never through a
 * double). NULL for other types and for unreadable strings. */
const char *mapvalue_scalar_text(const json_node *v, size_t *len);

#endif
