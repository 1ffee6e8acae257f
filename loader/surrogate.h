/* surrogate.h - integer surrogates for PII values.
 *
 * The same normalised value of a kind always maps to the same id, across runs
 * and across concurrent loaders: ids live in sensitive_<kind>_ids, keyed by a
 * unique digest (pii_digest). A batch is resolved with at most a handful of
 * statements whatever its size: cache, then SELECT ... WHERE digest IN (...),
 * then INSERT IGNORE of the values still missing, then SELECT of those.
 * Resolution runs in autocommit mode, outside the batch's transaction: a
 * surrogate row is harmless on its own, and committing it at once keeps the
 * unique-key locks short when several loaders run together and keeps the
 * cache valid if the batch later rolls back.
 *
 * New values get ids in the order of their first appearance in the batch
 * (and so, batch after batch, in the order they were first loaded), never in
 * digest order. Concurrent loaders that insert the same new values in
 * different orders can deadlock on the unique digest; the server rolls back
 * one INSERT, which is retried (with the SELECTs around it) a bounded number
 * of times: the value's id is then the one the other loader created.
 *
 * The cache holds digests and ids only (no values); it is bounded by
 * `cache_entries` per kind and emptied when full.
 */
#ifndef ML_SURROGATE_H
#define ML_SURROGATE_H

#include <stddef.h>

#include "db.h"

struct surrogates;

struct surrogate_stats {
    unsigned long long lookups; /* values resolved */
    unsigned long long cache_hits;
    unsigned long long created; /* new rows inserted into sensitive_* */
    unsigned long long queries; /* statements sent */
};

int surrogates_new(const unsigned char *key, size_t key_len, size_t cache_entries,
                   struct surrogates **out);
void surrogates_free(struct surrogates *s);

/* Resolves values[i] (lens[i] bytes, already normalised, non-empty) of
 * `kind` to ids[i]. Adds the number of rows it inserted to *created.
 * ML_EDB on database failure (the caller's batch must then fail). */
int surrogate_resolve_batch(struct surrogates *s, struct db *db, const char *kind,
                            const char *const *values, const size_t *lens, size_t n,
                            unsigned long long *ids, unsigned long long *created);

/* Totals over all kinds since creation. */
struct surrogate_stats surrogates_stats(const struct surrogates *s);

#endif
