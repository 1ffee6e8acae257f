#include "pii.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

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

int pii_normalise(const char *kind, const char *value, size_t len, struct buf *out)
{
    const char *p = value;
    size_t n = len;
    trim(&p, &n);
    buf_reset(out);
    /* a value holding a NUL is never an address: "1.2.3.4\0x" must not
     * collapse onto 1.2.3.4 */
    if (strcmp(kind, "ip") == 0 && n > 0 && n < INET6_ADDRSTRLEN && !memchr(p, '\0', n)) {
        char tmp[INET6_ADDRSTRLEN];
        unsigned char addr[sizeof(struct in6_addr)];
        char canon[INET6_ADDRSTRLEN];
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        if (inet_pton(AF_INET, tmp, addr) == 1 && inet_ntop(AF_INET, addr, canon, sizeof(canon)))
            return buf_adds(out, canon);
        if (inet_pton(AF_INET6, tmp, addr) == 1 && inet_ntop(AF_INET6, addr, canon, sizeof(canon)))
            return buf_adds(out, canon);
    }
    return buf_add(out, p, n);
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
