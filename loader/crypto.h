/* crypto.h - digests (OpenSSL). The only module besides sigv4 that sees OpenSSL. */
#ifndef ML_CRYPTO_H
#define ML_CRYPTO_H

#include <stddef.h>

#define CRYPTO_DIGEST_LEN 32

/* out = SHA-256(data). Returns 0 or ML_ECRYPTO. */
int crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_DIGEST_LEN]);

/* out = HMAC-SHA256(key, data). Returns 0 or ML_ECRYPTO. */
int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[CRYPTO_DIGEST_LEN]);

/* A reusable keyed digest: HMAC-SHA256 with a fixed key, or plain SHA-256
 * when key_len is 0. The key is copied into OpenSSL's context (and cleansed
 * there on free). Not thread-safe: one per thread. */
struct crypto_mac;
int crypto_mac_new(const void *key, size_t key_len, struct crypto_mac **out);
/* out = MAC(a || b). 0 or ML_ECRYPTO. */
int crypto_mac_digest(struct crypto_mac *m, const void *a, size_t alen, const void *b, size_t blen,
                      unsigned char out[CRYPTO_DIGEST_LEN]);
void crypto_mac_free(struct crypto_mac *m);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes, NUL-terminated). */
void crypto_hex(const unsigned char *in, size_t len, char *out);

/* Fills `out` with cryptographically strong random bytes. 0 or ML_ECRYPTO. */
int crypto_random(void *out, size_t len);

#endif
