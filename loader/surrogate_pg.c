/* surrogate_pg.c - surrogate_pg.h. */
#include "surrogate_pg.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "idcache.h"
#include "log.h"
#include "pii.h"
#include "banned.h"

#define SURROGATE_PG_TRIES 8

static int append_table(struct buf *sql, const char *kind)
{
    char name[128];
    if ((size_t)snprintf(name, sizeof(name), "sensitive_%s_ids", kind) >= sizeof(name))
        return err_set(ML_EINVAL, "surrogate kind '%.40s' is too long", kind);
    return pg_append_ident(sql, name);
}

/* A value as an element of the values' array. PostgreSQL text cannot hold
 * a NUL byte: each is stored as U+FFFD (counted in *nuls), as writer_pg
 * stores text columns, while the value's digest stays that of its bytes as
 * they came (the same as MySQL's), so that it resolves to one id. */
static int append_value(struct buf *vals, const char *s, size_t len, size_t *nuls)
{
    struct buf v = BUF_INIT;
    int rc = 0;
    if (!memchr(s, '\0', len))
        return pg_array_append_element(vals, s, len);
    for (size_t i = 0; !rc && i < len; i++) {
        if (s[i])
            rc = buf_addc(&v, s[i]);
        else {
            rc = buf_adds(&v, "\xEF\xBF\xBD");
            (*nuls)++;
        }
    }
    if (!rc)
        rc = pg_array_append_element(vals, v.data, v.len);
    buf_wipe(&v);
    return rc;
}

/* One statement: the digests (hex) and values as two text[] parameters,
 * the new values inserted once each in the order of first appearance, and
 * every value's id read back. A value another loader committed after the
 * statement's snapshot is neither inserted (ON CONFLICT waits for it and
 * skips it) nor seen: *missing counts those, and the caller runs the
 * statement again with a new snapshot. */
static int resolve_once(struct crypto_mac *mac, struct pg *pg, const char *kind,
                        const char *const *values, const size_t *lens, size_t n,
                        unsigned long long *ids, unsigned long long *created, size_t *missing,
                        size_t *nuls, struct buf *digests, struct buf *vals, struct buf *sql)
{
    struct pg_result *r = NULL;
    const char *const *row;
    const char *params[2];
    size_t got = 0;
    bool counted = false;
    int rc = 0;
    *missing = 0;
    buf_reset(digests);
    buf_wipe(vals);
    rc = buf_addc(digests, '{');
    if (!rc)
        rc = buf_addc(vals, '{');
    for (size_t i = 0; !rc && i < n; i++) {
        unsigned char d[CRYPTO_DIGEST_LEN];
        char hex[2 * CRYPTO_DIGEST_LEN + 1];
        ids[i] = 0;
        rc = pii_digest_mac(mac, kind, values[i], lens[i], d);
        if (!rc) {
            crypto_hex(d, sizeof(d), hex);
            rc = pg_array_append_element(digests, hex, 2 * CRYPTO_DIGEST_LEN);
        }
        if (!rc)
            rc = append_value(vals, values[i], lens[i], nuls);
    }
    if (!rc)
        rc = buf_addc(digests, '}');
    if (!rc)
        rc = buf_addc(vals, '}');
    buf_reset(sql);
    if (!rc)
        rc = buf_adds(sql, "WITH s AS (SELECT v.ord - 1 AS ord, decode(v.d, 'hex') AS digest, "
                           "v.value FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS "
                           "v(d, value, ord)), n AS (SELECT DISTINCT ON (digest) digest, value, "
                           "ord FROM s ORDER BY digest, ord), ins AS (INSERT INTO ");
    if (!rc)
        rc = append_table(sql, kind);
    if (!rc)
        rc = buf_adds(sql, " (digest, value, first_seen_at) SELECT n.digest, n.value, "
                           "(now() AT TIME ZONE 'UTC') FROM n WHERE NOT EXISTS (SELECT 1 FROM ");
    if (!rc)
        rc = append_table(sql, kind);
    if (!rc)
        rc = buf_adds(sql, " i WHERE i.digest = n.digest) ORDER BY n.ord ON CONFLICT (digest) DO "
                           "NOTHING RETURNING id, digest) SELECT s.ord, COALESCE(ins.id, i.id), "
                           "(SELECT count(*) FROM ins) FROM s LEFT JOIN ins ON ins.digest = "
                           "s.digest LEFT JOIN ");
    if (!rc)
        rc = append_table(sql, kind);
    if (!rc)
        rc = buf_adds(sql, " i ON i.digest = s.digest");
    params[0] = digests->data;
    params[1] = vals->data;
    if (!rc)
        rc = pg_query_params(pg, sql->data, 2, params, NULL, &r);
    buf_wipe(vals);
    while (!rc && pg_result_next(r, &row, NULL) == 1) {
        unsigned long long ord = row[0] ? strtoull(row[0], NULL, 10) : n;
        if (row[2] && !counted) { /* the same count on every row */
            *created += strtoull(row[2], NULL, 10);
            counted = true;
        }
        if (ord < n && row[1] && !ids[ord]) {
            ids[ord] = strtoull(row[1], NULL, 10);
            got++;
        }
    }
    pg_result_free_wiped(r);
    if (!rc)
        *missing = n - got;
    return rc;
}

int surrogate_pg_resolve(struct crypto_mac *mac, struct pg *pg, const char *kind,
                         const char *const *values, const size_t *lens, size_t n,
                         unsigned long long *ids, unsigned long long *created)
{
    struct buf digests = BUF_INIT, vals = BUF_INIT, sql = BUF_INIT;
    int rc = 0;
    if (!n)
        return 0;
    for (unsigned attempt = 1; attempt <= SURROGATE_PG_TRIES; attempt++) {
        unsigned long long made = 0;
        size_t missing = 0, nuls = 0;
        rc = resolve_once(mac, pg, kind, values, lens, n, ids, &made, &missing, &nuls, &digests,
                          &vals, &sql);
        if (!rc && nuls && made)
            log_warn("creating %s surrogates: %zu NUL byte(s) in the batch's values, which "
                     "PostgreSQL text cannot hold: new values stored with U+FFFD in their place",
                     kind, nuls);
        *created += made;
        if (!rc && !missing)
            break;
        if (!rc) {
            rc = err_set(ML_EDB, "%zu of %zu values have no id", missing, n);
            if (attempt < SURROGATE_PG_TRIES)
                log_debug("creating %s surrogates: %zu value(s) committed by another loader "
                          "meanwhile; reading again",
                          kind, missing);
            continue;
        }
        if (pg_error_class(pg) != DB_ERR_RETRY_TX)
            break;
        if (attempt < SURROGATE_PG_TRIES)
            log_warn("creating %s surrogates: %s; retrying (attempt %u of %u)", kind, err_msg(),
                     attempt + 1, (unsigned)SURROGATE_PG_TRIES);
    }
    buf_release(&digests);
    buf_wipe(&vals);
    buf_release(&sql);
    return rc ? err_prefix(rc, "resolving %s surrogates", kind) : 0;
}

/* ---- the cache: digest -> id per kind, for one run ---- */

struct surrogate_pg_cache {
    struct idcache *ids;
    unsigned long long lookups, hits;
};

int surrogate_pg_cache_new(size_t entries, struct surrogate_pg_cache **out)
{
    struct surrogate_pg_cache *c = calloc(1, sizeof(*c));
    *out = NULL;
    int rc;
    if (!c)
        return err_set(ML_ENOMEM, "out of memory");
    rc = idcache_new(entries, &c->ids);
    if (rc) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void surrogate_pg_cache_free(struct surrogate_pg_cache *c)
{
    if (!c)
        return;
    idcache_free(c->ids);
    free(c);
}

void surrogate_pg_cache_stats(const struct surrogate_pg_cache *c, unsigned long long *lookups,
                              unsigned long long *hits)
{
    *lookups = c ? c->lookups : 0;
    *hits = c ? c->hits : 0;
}

/* The slot of digest `d` in the open-addressing table `tab` (`mask` + 1
 * slots, each 0 or a miss's index + 1; digests are HMAC outputs, so their
 * first bytes are hash enough): the slot holding it, or the empty one
 * where it goes. */
static size_t miss_slot(const size_t *tab, size_t mask, const unsigned char (*d)[CRYPTO_DIGEST_LEN],
                        const size_t *at, const unsigned char *key)
{
    uint64_t h;
    size_t s;
    memcpy(&h, key, sizeof(h));
    for (s = (size_t)h & mask; tab[s]; s = (s + 1) & mask)
        if (memcmp(d[at[tab[s] - 1]], key, CRYPTO_DIGEST_LEN) == 0)
            break;
    return s;
}

int surrogate_pg_resolve_cached(struct surrogate_pg_cache *c, struct crypto_mac *mac, struct pg *pg,
                                const char *kind, const char *const *values, const size_t *lens,
                                size_t n, unsigned long long *ids, unsigned long long *created)
{
    struct idcache_kind *k = c && n ? idcache_kind(c->ids, kind) : NULL;
    unsigned char(*d)[CRYPTO_DIGEST_LEN] = NULL;
    const char **mv = NULL;
    size_t *ml = NULL, *at = NULL, *which = NULL, *tab = NULL, m = 0, mask = 1;
    unsigned long long *mid = NULL;
    int rc = 0;
    if (!k)
        return surrogate_pg_resolve(mac, pg, kind, values, lens, n, ids, created);
    while (mask < 2 * n)
        mask <<= 1;
    d = malloc(n * sizeof(*d));
    mv = malloc(n * sizeof(*mv));
    ml = malloc(n * sizeof(*ml));
    at = malloc(n * sizeof(*at));
    which = malloc(n * sizeof(*which));
    mid = malloc(n * sizeof(*mid));
    tab = calloc(mask, sizeof(*tab));
    mask--;
    if (!d || !mv || !ml || !at || !which || !mid || !tab)
        rc = err_set(ML_ENOMEM, "out of memory resolving %s surrogates", kind);
    /* the values the cache knows take its id; the others, in their order,
     * are resolved as without a cache, each distinct value once (a value
     * the batch repeats takes the id of its first appearance) */
    for (size_t i = 0; !rc && i < n; i++) {
        size_t slot;
        rc = pii_digest_mac(mac, kind, values[i], lens[i], d[i]);
        if (rc) {
            err_prefix(rc, "resolving %s surrogates", kind);
            break;
        }
        c->lookups++;
        ids[i] = idcache_get(k, d[i]);
        if (ids[i]) {
            c->hits++;
            continue;
        }
        slot = miss_slot(tab, mask, d, at, d[i]);
        if (!tab[slot]) {
            mv[m] = values[i];
            ml[m] = lens[i];
            at[m++] = i;
            tab[slot] = m;
        }
        which[i] = tab[slot] - 1;
    }
    if (!rc && m)
        rc = surrogate_pg_resolve(mac, pg, kind, mv, ml, m, mid, created);
    for (size_t j = 0; !rc && j < m; j++)
        idcache_put(c->ids, k, d[at[j]], mid[j]);
    for (size_t i = 0; !rc && i < n; i++)
        if (!ids[i])
            ids[i] = mid[which[i]];
    free(d);
    free(mv);
    free(ml);
    free(at);
    free(which);
    free(mid);
    free(tab);
    return rc;
}
