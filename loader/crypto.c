#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <stdlib.h>

#include "error.h"
#include "banned.h"

int crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_DIGEST_LEN])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != CRYPTO_DIGEST_LEN)
        return err_set(ML_ECRYPTO, "sha256 failed");
    return 0;
}

int crypto_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                       unsigned char out[CRYPTO_DIGEST_LEN])
{
    unsigned int n = 0;
    if (key_len > 0x7fffffff)
        return err_set(ML_ECRYPTO, "hmac key too long");
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != CRYPTO_DIGEST_LEN)
        return err_set(ML_ECRYPTO, "hmac-sha256 failed");
    return 0;
}

void crypto_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int crypto_random(void *out, size_t len)
{
    if (len > 0x7fffffff || RAND_bytes(out, (int)len) != 1)
        return err_set(ML_ECRYPTO, "random bytes unavailable");
    return 0;
}

struct crypto_mac {
    EVP_MAC *mac; /* HMAC, or NULL for plain SHA-256 */
    EVP_MAC_CTX *ctx;
    EVP_MD *md; /* SHA-256, fetched once */
    EVP_MD_CTX *mdctx;
};

void crypto_mac_free(struct crypto_mac *m)
{
    if (!m)
        return;
    EVP_MAC_CTX_free(m->ctx);
    EVP_MAC_free(m->mac);
    EVP_MD_CTX_free(m->mdctx);
    EVP_MD_free(m->md);
    free(m);
}

int crypto_mac_new(const void *key, size_t key_len, struct crypto_mac **out)
{
    struct crypto_mac *m = calloc(1, sizeof(*m));
    *out = NULL;
    if (!m)
        return err_set(ML_ENOMEM, "out of memory");
    if (key_len) {
        OSSL_PARAM params[2];
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        m->ctx = m->mac ? EVP_MAC_CTX_new(m->mac) : NULL;
        if (!m->ctx || !EVP_MAC_init(m->ctx, key, key_len, params)) {
            crypto_mac_free(m);
            return err_set(ML_ECRYPTO, "hmac-sha256 unavailable");
        }
    } else {
        m->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        m->mdctx = EVP_MD_CTX_new();
        if (!m->md || !m->mdctx) {
            crypto_mac_free(m);
            return err_set(ML_ECRYPTO, "sha256 unavailable");
        }
    }
    *out = m;
    return 0;
}

int crypto_mac_digest(struct crypto_mac *m, const void *a, size_t alen, const void *b, size_t blen,
                      unsigned char out[CRYPTO_DIGEST_LEN])
{
    if (m->ctx) {
        size_t n = 0;
        /* NULL key: restart with the key given to EVP_MAC_init */
        if (!EVP_MAC_init(m->ctx, NULL, 0, NULL) || !EVP_MAC_update(m->ctx, a, alen) ||
            !EVP_MAC_update(m->ctx, b, blen) ||
            !EVP_MAC_final(m->ctx, out, &n, CRYPTO_DIGEST_LEN) || n != CRYPTO_DIGEST_LEN)
            return err_set(ML_ECRYPTO, "hmac-sha256 failed");
        return 0;
    }
    unsigned int n = 0;
    if (!EVP_DigestInit_ex(m->mdctx, m->md, NULL) || !EVP_DigestUpdate(m->mdctx, a, alen) ||
        !EVP_DigestUpdate(m->mdctx, b, blen) || !EVP_DigestFinal_ex(m->mdctx, out, &n) ||
        n != CRYPTO_DIGEST_LEN)
        return err_set(ML_ECRYPTO, "sha256 failed");
    return 0;
}
