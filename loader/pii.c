#include "pii.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "error.h"
#include "banned.h"

const char *pii_action_name(enum pii_action a)
{
    switch (a) {
    case PII_KEEP:
        return "keep";
    case PII_DROP:
        return "drop";
    case PII_EMAIL_DOMAIN:
        return "email_domain";
    case PII_YEAR:
        return "year";
    case PII_SURROGATE:
        return "surrogate";
    case PII_HMAC:
        return "hmac";
    case PII_DATE_IF_ALLOWED:
        return "date_if_allowed";
    case PII_BUCKET:
        return "bucket";
    case PII_TRUNCATE:
        return "truncate";
    case PII_PREFIX:
        return "prefix";
    }
    return "?";
}

static void trim(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len;
    while (n && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    while (n && isspace((unsigned char)p[n - 1]))
        n--;
    *s = p;
    *len = n;
}

int pii_email_domain(const char *email, struct buf *out)
{
    const char *p = email;
    size_t n = strlen(email);
    const char *at;
    int rc;
    trim(&p, &n);
    at = memchr(p, '@', n);
    if (!at || at == p || at == p + n - 1 || memchr(at + 1, '@', (size_t)(p + n - at - 1)))
        return err_set(ML_ERECORD, "not an e-mail address");
    buf_reset(out);
    rc = buf_add(out, at + 1, (size_t)(p + n - at - 1));
    if (rc)
        return rc;
    for (size_t i = 0; i < out->len; i++)
        out->data[i] = (char)tolower((unsigned char)out->data[i]);
    return 0;
}

/* Unicode steps (libunistring: this module is its only user). The result
 * replaces out's content; `in` may not point into `out`. */
static int unicode_step(unsigned flags, const char *in, size_t n, struct buf *out)
{
    uint8_t *r = NULL;
    size_t rlen = 0;
    const uint8_t *s = (const uint8_t *)in;
    if (u8_check(s, n) != NULL)
        return err_set(ML_ERECORD, "not valid UTF-8 (cannot normalise)");
    if (flags & NORM_LOWER)
        r = u8_tolower(s, n, NULL, (flags & NORM_NFC) ? UNINORM_NFC : NULL, NULL, &rlen);
    else
        r = u8_normalize(UNINORM_NFC, s, n, NULL, &rlen);
    if (!r)
        return errno == ENOMEM ? err_set(ML_ENOMEM, "out of memory normalising a value")
                               : err_set(ML_ERECORD, "not valid UTF-8 (cannot normalise)");
    buf_reset(out);
    int rc = buf_add(out, r, rlen);
    mem_wipe(r, rlen);
    free(r);
    return rc;
}

int pii_normalise(const char *kind, unsigned flags, const char *value, size_t len, struct buf *out)
{
    const char *p = value;
    size_t n = len;
    if (flags & NORM_TRIM)
        trim(&p, &n);
    buf_reset(out);
    if (flags & (NORM_LOWER | NORM_NFC)) {
        int rc = unicode_step(flags, p, n, out); /* `value` never lies in `out` */
        if (rc)
            return rc;
        p = NULL; /* out holds the value: the ip step below reads it from there */
        n = out->len;
    }
    /* a value holding a NUL is never an address: "1.2.3.4\0x" must not
     * collapse onto 1.2.3.4 */
    const char *v = p ? p : out->data;
    if (strcmp(kind, "ip") == 0 && n > 0 && n < INET6_ADDRSTRLEN && !memchr(v, '\0', n)) {
        char tmp[INET6_ADDRSTRLEN];
        unsigned char addr[sizeof(struct in6_addr)];
        char canon[INET6_ADDRSTRLEN];
        memcpy(tmp, v, n);
        tmp[n] = '\0';
        if (inet_pton(AF_INET, tmp, addr) == 1 && inet_ntop(AF_INET, addr, canon, sizeof(canon))) {
            buf_reset(out);
            return buf_adds(out, canon);
        }
        if (inet_pton(AF_INET6, tmp, addr) == 1 &&
            inet_ntop(AF_INET6, addr, canon, sizeof(canon))) {
            buf_reset(out);
            return buf_adds(out, canon);
        }
    }
    return p ? buf_add(out, p, n) : 0;
}

int pii_digest_mac(struct crypto_mac *m, const char *kind, const char *value, size_t len,
                   unsigned char out[CRYPTO_DIGEST_LEN])
{
    /* kind || 0x00: the kind's own terminating NUL is the separator */
    return crypto_mac_digest(m, kind, strlen(kind) + 1, value, len, out);
}

int pii_digest(const unsigned char *key, size_t key_len, const char *kind, const char *value,
               size_t len, unsigned char out[CRYPTO_DIGEST_LEN])
{
    struct crypto_mac *m;
    int rc = crypto_mac_new(key, key_len, &m);
    if (rc)
        return rc;
    rc = pii_digest_mac(m, kind, value, len, out);
    crypto_mac_free(m);
    return rc;
}
