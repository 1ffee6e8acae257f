#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

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
