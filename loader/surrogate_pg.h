/* surrogate_pg.h - surrogate ids in a PostgreSQL warehouse: the contract of
 * surrogate.h (one id per normalised value of a kind, across runs and
 * concurrent loaders, ids in the order of first appearance, resolved in
 * autocommit outside the batch's transaction), through pg.h.
 *
 * Per kind and batch, one statement: the values' digests (pii_digest_mac,
 * the same digest as with MySQL, in hex) and the values are bound as two
 * text[] parameters, and
 *   WITH s AS (unnest ...), ins AS (INSERT INTO sensitive_<kind>_ids
 *     (digest, value, first_seen_at) SELECT the new values, each once,
 *     ORDER BY first appearance ON CONFLICT (digest) DO NOTHING RETURNING id)
 *   SELECT each value's id from ins or the table
 * (a loader inserting the same value at the same time waits for the other's
 * row and takes it). A value committed by another loader after the
 * statement's snapshot has no id yet: the statement runs again. A deadlock
 * or lock timeout between loaders is retried too, a bounded number of
 * times. No temporary table: nothing of the catalog changes per batch.
 * With a cache (surrogate_pg_resolve_cached) only the values it does not
 * know are sent, each distinct one once. */
#ifndef ML_SURROGATE_PG_H
#define ML_SURROGATE_PG_H

#include <stddef.h>

#include "crypto.h"
#include "pg.h"

/* Resolves values[i] (lens[i] bytes, normalised) of `kind` to ids[i]
 * through `mac` (the digest key's context). Adds the rows it inserted to
 * *created. A value holding a NUL byte (which PostgreSQL text cannot hold)
 * is stored with U+FFFD in its place, with a warning; its digest is that
 * of its bytes as they came. 0 or a negative code (ML_EDB with err_msg()
 * naming the kind). */
int surrogate_pg_resolve(struct crypto_mac *mac, struct pg *pg, const char *kind,
                         const char *const *values, const size_t *lens, size_t n,
                         unsigned long long *ids, unsigned long long *created);

/* A run's cache of ids by digest (never a value), `entries` per kind
 * (load.surrogate_cache; 0: none), emptied when full. Resolution runs in
 * autocommit, so a cached id is committed whatever becomes of the batch.
 * 0 or ML_ENOMEM. */
struct surrogate_pg_cache;
int surrogate_pg_cache_new(size_t entries, struct surrogate_pg_cache **out);
void surrogate_pg_cache_free(struct surrogate_pg_cache *c);
/* Values looked up in the cache, and found there (both 0 for NULL). */
void surrogate_pg_cache_stats(const struct surrogate_pg_cache *c, unsigned long long *lookups,
                              unsigned long long *hits);

/* surrogate_pg_resolve through `c` (NULL: without): the values it knows
 * take its ids; the others are resolved in their order, a value repeated
 * among them sent once (its later appearances take the same id), and
 * stored in it. Every value counts as a lookup, a known one as a hit. */
int surrogate_pg_resolve_cached(struct surrogate_pg_cache *c, struct crypto_mac *mac, struct pg *pg,
                                const char *kind, const char *const *values, const size_t *lens,
                                size_t n, unsigned long long *ids, unsigned long long *created);

#endif
