#include "surrogate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "crypto.h"
#include "error.h"
#include "idcache.h"
#include "log.h"
#include "pii.h"
#include "banned.h"

#define IN_CHUNK        1000 /* digests per SELECT ... IN / INSERT statement */
#define SURROGATE_TRIES 8    /* tries of a batch's resolution that met a deadlock or lock wait */

struct surrogates {
    struct crypto_mac *mac; /* keyed once per run */
    struct idcache *cache;  /* ids by digest, per kind (idcache.h) */
    struct surrogate_stats stats;
};

int surrogates_new(const unsigned char *key, size_t key_len, size_t cache_entries,
                   struct surrogates **out)
{
    struct surrogates *s = calloc(1, sizeof(*s));
    int rc;
    *out = NULL;
    if (!s)
        return err_set(ML_ENOMEM, "out of memory");
    rc = crypto_mac_new(key, key_len, &s->mac);
    if (rc) {
        free(s);
        return rc;
    }
    rc = idcache_new(cache_entries, &s->cache);
    if (rc) {
        crypto_mac_free(s->mac);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void surrogates_free(struct surrogates *s)
{
    if (!s)
        return;
    idcache_free(s->cache);
    crypto_mac_free(s->mac);
    free(s);
}

struct surrogate_stats surrogates_stats(const struct surrogates *s)
{
    return s->stats;
}

/* A distinct digest of the batch that the cache did not know. */
struct pending {
    unsigned char digest[CRYPTO_DIGEST_LEN];
    size_t first;          /* index of its first value */
    unsigned long long id; /* 0 until resolved */
};

static int cmp_pending(const void *a, const void *b)
{
    return memcmp(((const struct pending *)a)->digest, ((const struct pending *)b)->digest,
                  CRYPTO_DIGEST_LEN);
}

/* seq[] order: by index of first appearance */
static int cmp_first(const void *a, const void *b, void *arg)
{
    const struct pending *p = arg;
    size_t i = p[*(const size_t *)a].first, j = p[*(const size_t *)b].first;
    return i < j ? -1 : i > j;
}

/* A short wait before trying again, growing with the attempt and spread by
 * bytes of a digest so that two loaders that collided do not collide again
 * in step. */
static void backoff(unsigned attempt, const unsigned char *spread)
{
    long ms = (long)(20u << (attempt < 5 ? attempt : 5)) + spread[attempt % CRYPTO_DIGEST_LEN] % 20;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static struct pending *find_pending(struct pending *p, size_t n, const unsigned char *d)
{
    struct pending key;
    memcpy(key.digest, d, CRYPTO_DIGEST_LEN);
    return bsearch(&key, p, n, sizeof(*p), cmp_pending);
}

struct value_set {
    const char *const *values;
    const size_t *lens;
};

/* Orders value indexes by (length, bytes): any total order will do. */
static int cmp_values(const void *a, const void *b, void *arg)
{
    const struct value_set *vs = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (vs->lens[i] != vs->lens[j])
        return vs->lens[i] < vs->lens[j] ? -1 : 1;
    return memcmp(vs->values[i], vs->values[j], vs->lens[i]);
}

static int append_hex_literal(struct buf *sql, const unsigned char *d)
{
    char hex[2 * CRYPTO_DIGEST_LEN + 1];
    crypto_hex(d, CRYPTO_DIGEST_LEN, hex);
    return buf_addf(sql, "x'%s'", hex);
}

/* SELECT the ids of pending[from..to) that have none yet. */
static int select_ids(struct surrogates *s, struct db *db, const char *kind, struct pending *p,
                      size_t np, struct buf *sql)
{
    size_t i = 0;
    while (i < np) {
        size_t in_stmt = 0;
        int rc;
        buf_reset(sql);
        rc = buf_addf(sql, "SELECT digest, id FROM sensitive_%s_ids WHERE digest IN (", kind);
        for (; !rc && i < np && in_stmt < IN_CHUNK; i++) {
            if (p[i].id)
                continue;
            if (in_stmt++)
                rc = buf_addc(sql, ',');
            if (!rc)
                rc = append_hex_literal(sql, p[i].digest);
        }
        if (!rc)
            rc = buf_addc(sql, ')');
        if (rc)
            return rc;
        if (!in_stmt)
            break;
        struct db_result *r;
        rc = db_query(db, sql->data, &r);
        s->stats.queries++;
        if (rc)
            return err_prefix(rc, "resolving %s surrogates", kind);
        const char *const *row;
        const unsigned long *len;
        while (db_result_next(r, &row, &len) == 1) {
            if (!row[0] || len[0] != CRYPTO_DIGEST_LEN || !row[1])
                continue;
            struct pending *hit = find_pending(p, np, (const unsigned char *)row[0]);
            if (hit)
                hit->id = strtoull(row[1], NULL, 10);
        }
        db_result_free(r);
    }
    return 0;
}

/* Inserts the pending values that have no id yet, in `seq` order (the
 * order of their first appearance in the batch): the server assigns
 * AUTO_INCREMENT ids in the order of a statement's rows, so ids follow
 * appearance and never the digests (which would let anyone who can guess
 * values and compute digests map ids back to values). Loaders that insert
 * overlapping values in different orders may deadlock on the unique key;
 * the server then rolls the statement back and the caller retries. */
static int insert_missing(struct surrogates *s, struct db *db, const char *kind, struct pending *p,
                          const size_t *seq, size_t np, const char *const *values,
                          const size_t *lens, struct buf *sql, unsigned long long *created)
{
    size_t j = 0;
    while (j < np) {
        size_t in_stmt = 0;
        int rc;
        buf_wipe(sql);
        rc = buf_addf(sql,
                      "INSERT IGNORE INTO sensitive_%s_ids (digest, value, first_seen_at) VALUES ",
                      kind);
        for (; !rc && j < np && in_stmt < IN_CHUNK; j++) {
            size_t i = seq[j];
            if (p[i].id)
                continue;
            rc = buf_adds(sql, in_stmt++ ? ",(" : "(");
            if (!rc)
                rc = append_hex_literal(sql, p[i].digest);
            if (!rc)
                rc = buf_addc(sql, ',');
            if (!rc)
                rc = db_append_quoted(db, sql, values[p[i].first], lens[p[i].first]);
            if (!rc)
                rc = buf_adds(sql, ",UTC_TIMESTAMP(3))");
        }
        if (rc)
            return rc;
        if (!in_stmt)
            break;
        rc = db_exec_len(db, sql->data, sql->len);
        s->stats.queries++;
        if (rc && db_error_is_transient(db))
            return rc; /* unprefixed: the caller retries */
        if (rc)
            return err_prefix(rc, "creating %s surrogates", kind);
        *created += db_affected_rows(db);
        s->stats.created += db_affected_rows(db);
    }
    return 0;
}

int surrogate_resolve_batch(struct surrogates *s, struct db *db, const char *kind,
                            const char *const *values, const size_t *lens, size_t n,
                            unsigned long long *ids, unsigned long long *created)
{
    struct idcache_kind *k = idcache_kind(s->cache, kind);
    struct pending *p = NULL;
    unsigned char *digests = NULL;
    struct buf sql = BUF_INIT;
    size_t *order = NULL, *seq = NULL;
    size_t np = 0;
    int rc = 0;

    if (n == 0)
        return 0;
    digests = malloc(n * CRYPTO_DIGEST_LEN);
    p = malloc(n * sizeof(*p));
    if (!digests || !p) {
        rc = err_set(ML_ENOMEM, "out of memory resolving surrogates");
        goto out;
    }
    s->stats.lookups += n;
    /* Skewed values repeat within a batch: digest each distinct value once.
     * order[] sorts the indexes by value; a run of equal values shares the
     * digest of its first member. */
    order = malloc(n * sizeof(*order));
    if (!order) {
        rc = err_set(ML_ENOMEM, "out of memory resolving surrogates");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    {
        struct value_set vs = {values, lens};
        qsort_r(order, n, sizeof(*order), cmp_values, &vs);
    }
    for (size_t j = 0; j < n; j++) {
        size_t i = order[j];
        unsigned char *d = digests + i * CRYPTO_DIGEST_LEN;
        if (j > 0 && lens[order[j - 1]] == lens[i] &&
            memcmp(values[order[j - 1]], values[i], lens[i]) == 0) {
            memcpy(d, digests + order[j - 1] * CRYPTO_DIGEST_LEN, CRYPTO_DIGEST_LEN);
        } else {
            rc = pii_digest_mac(s->mac, kind, values[i], lens[i], d);
            if (rc)
                goto out;
        }
        ids[i] = idcache_get(k, d);
        if (ids[i]) {
            s->stats.cache_hits++;
            continue;
        }
        memcpy(p[np].digest, d, CRYPTO_DIGEST_LEN);
        p[np].first = i;
        p[np].id = 0;
        np++;
    }
    if (np) {
        /* sort and keep one entry per distinct digest, with the index of
         * its first appearance (the value sort above is not stable) */
        qsort(p, np, sizeof(*p), cmp_pending);
        size_t u = 0;
        for (size_t i = 0; i < np; i++) {
            if (u == 0 || memcmp(p[u - 1].digest, p[i].digest, CRYPTO_DIGEST_LEN) != 0)
                p[u++] = p[i];
            else if (p[i].first < p[u - 1].first)
                p[u - 1].first = p[i].first;
        }
        np = u;
        /* seq: the pending entries in order of first appearance */
        seq = malloc(np * sizeof(*seq));
        if (!seq) {
            rc = err_set(ML_ENOMEM, "out of memory resolving surrogates");
            goto out;
        }
        for (size_t i = 0; i < np; i++)
            seq[i] = i;
        qsort_r(seq, np, sizeof(*seq), cmp_first, p);

        for (unsigned attempt = 0;; attempt++) {
            rc = select_ids(s, db, kind, p, np, &sql);
            if (!rc)
                rc = insert_missing(s, db, kind, p, seq, np, values, lens, &sql, created);
            if (!rc)
                rc = select_ids(s, db, kind, p, np, &sql);
            if (!rc || attempt + 1 >= SURROGATE_TRIES || !db_error_is_transient(db))
                break;
            /* a deadlock or lock wait with another loader inserting the same
             * values: the statement was rolled back; what committed is found
             * by the next SELECT */
            log_warn("creating %s surrogates: %s; retrying (attempt %u of %u)", kind, err_msg(),
                     attempt + 2, SURROGATE_TRIES);
            err_clear();
            backoff(attempt, p[0].digest);
        }
        if (rc && db_error_is_transient(db))
            err_prefix(rc, "creating %s surrogates (after %u attempts)", kind, SURROGATE_TRIES);
        if (rc)
            goto out;
        for (size_t i = 0; i < np; i++) {
            if (!p[i].id) {
                rc = err_set(ML_EDB, "surrogate for a %s value missing after insert", kind);
                goto out;
            }
            idcache_put(s->cache, k, p[i].digest, p[i].id);
        }
        for (size_t i = 0; i < n; i++) {
            if (!ids[i]) {
                struct pending *hit = find_pending(p, np, digests + i * CRYPTO_DIGEST_LEN);
                ids[i] = hit ? hit->id : 0;
            }
        }
    }
out:
    buf_wipe(&sql);
    free(seq);
    free(order);
    free(digests);
    free(p);
    return rc;
}
