/* idcache.h - a run's cache of surrogate ids by digest, one table per kind.
 *
 * Keys are the keyed digests of values (CRYPTO_DIGEST_LEN bytes), never the
 * values. Each kind holds at most `limit` entries; a kind that is full is
 * emptied before the next entry goes in, so memory stays bounded by the
 * configuration (load.surrogate_cache) whatever the source holds. With
 * limit 0 there is no cache: idcache_kind returns NULL. An id is 1 or more;
 * 0 means "not known". Surrogates are resolved in autocommit, so a cached
 * id is committed whatever becomes of the batch that asked for it. One
 * cache serves one thread. */
#ifndef ML_IDCACHE_H
#define ML_IDCACHE_H

#include <stddef.h>

struct idcache;
struct idcache_kind;

/* ML_ENOMEM */
int idcache_new(size_t limit, struct idcache **out);
void idcache_free(struct idcache *c);

/* The table of `kind`, made at its first use; NULL: no cache (limit 0, or
 * no memory for it: the caller resolves without). */
struct idcache_kind *idcache_kind(struct idcache *c, const char *kind);

/* The id cached for digest d (0: not known, or k NULL). */
unsigned long long idcache_get(const struct idcache_kind *k, const unsigned char *d);

/* Remembers digest d's id (k NULL: nothing); emptied first when full. */
void idcache_put(struct idcache *c, struct idcache_kind *k, const unsigned char *d,
                 unsigned long long id);

#endif
