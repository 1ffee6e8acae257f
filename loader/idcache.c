/* idcache.c - idcache.h: open addressing, linear probing, at most half full. */
#include "idcache.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "error.h"
#include "banned.h"

struct slot {
    unsigned char digest[CRYPTO_DIGEST_LEN];
    unsigned long long id; /* 0: empty (ids start at 1) */
};

struct idcache_kind {
    char *kind;
    struct slot *slots;
    size_t mask; /* capacity - 1 */
    size_t used;
};

struct idcache {
    size_t limit;
    struct idcache_kind **kinds; /* pointers: a kind's table never moves */
    size_t nkinds, cap_kinds;
};

int idcache_new(size_t limit, struct idcache **out)
{
    struct idcache *c = calloc(1, sizeof(*c));
    *out = NULL;
    if (!c)
        return err_set(ML_ENOMEM, "out of memory");
    c->limit = limit;
    *out = c;
    return 0;
}

void idcache_free(struct idcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nkinds; i++) {
        free(c->kinds[i]->slots);
        free(c->kinds[i]->kind);
        free(c->kinds[i]);
    }
    free(c->kinds);
    free(c);
}

struct idcache_kind *idcache_kind(struct idcache *c, const char *kind)
{
    struct idcache_kind *k;
    size_t cap = 16;
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->nkinds; i++)
        if (strcmp(c->kinds[i]->kind, kind) == 0)
            return c->kinds[i];
    if (c->limit == 0)
        return NULL;
    if (c->nkinds == c->cap_kinds) {
        size_t ncap = c->cap_kinds ? c->cap_kinds * 2 : 8;
        struct idcache_kind **nk = realloc(c->kinds, ncap * sizeof(*nk));
        if (!nk)
            return NULL;
        c->kinds = nk;
        c->cap_kinds = ncap;
    }
    while (cap < c->limit * 2)
        cap *= 2;
    k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->slots = calloc(cap, sizeof(*k->slots));
    k->kind = strdup(kind);
    if (!k->slots || !k->kind) {
        free(k->slots);
        free(k->kind);
        free(k);
        return NULL;
    }
    k->mask = cap - 1;
    c->kinds[c->nkinds++] = k;
    return k;
}

static size_t slot_hash(const unsigned char *d)
{
    size_t h;
    memcpy(&h, d, sizeof(h)); /* a keyed digest is uniformly distributed already */
    return h;
}

unsigned long long idcache_get(const struct idcache_kind *k, const unsigned char *d)
{
    if (!k)
        return 0;
    for (size_t i = slot_hash(d) & k->mask;; i = (i + 1) & k->mask) {
        if (!k->slots[i].id)
            return 0;
        if (memcmp(k->slots[i].digest, d, CRYPTO_DIGEST_LEN) == 0)
            return k->slots[i].id;
    }
}

void idcache_put(struct idcache *c, struct idcache_kind *k, const unsigned char *d,
                 unsigned long long id)
{
    if (!k || !id)
        return;
    if (k->used >= c->limit) {
        memset(k->slots, 0, (k->mask + 1) * sizeof(*k->slots));
        k->used = 0;
    }
    for (size_t i = slot_hash(d) & k->mask;; i = (i + 1) & k->mask) {
        if (!k->slots[i].id) {
            memcpy(k->slots[i].digest, d, CRYPTO_DIGEST_LEN);
            k->slots[i].id = id;
            k->used++;
            return;
        }
        if (memcmp(k->slots[i].digest, d, CRYPTO_DIGEST_LEN) == 0)
            return;
    }
}
