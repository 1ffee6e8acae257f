#include "sigv4.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "error.h"
#include "banned.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

void sigv4_amz_date(time_t t, char out[SIGV4_DATE_LEN])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, SIGV4_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm) == 0)
        out[0] = '\0';
}

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

/* Appends s[0..n) percent-encoded (upper-case hex); '/' kept when keep_slash. */
static int uri_encode(struct buf *out, const char *s, size_t n, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            rc = buf_addc(out, (char)c);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = buf_add(out, e, 3);
        }
    }
    return rc;
}

/* Canonical URI: segments split on '/', empty and "." segments dropped, ".."
 * removes the previous one; a trailing '/' is kept. */
static int canonical_path(struct buf *out, const char *path)
{
    struct buf segs = BUF_INIT; /* kept segments, each followed by '\0' */
    size_t *ends = NULL, n = 0, cap = 0;
    const char *p = path && *path ? path : "/";
    size_t plen = strlen(p);
    int trailing = plen > 0 && p[plen - 1] == '/';
    int rc = 0;

    while (!rc && *p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* skip */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (n > 0) {
                n--;
                buf_truncate(&segs, n ? ends[n - 1] : 0);
            }
        } else {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                size_t *ne = realloc(ends, ncap * sizeof(*ne));
                if (!ne) {
                    rc = err_set(ML_ENOMEM, "out of memory");
                    break;
                }
                ends = ne;
                cap = ncap;
            }
            rc = buf_add(&segs, p, len);
            if (!rc)
                rc = buf_addc(&segs, '\0');
            if (!rc)
                ends[n++] = segs.len;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    if (!rc)
        rc = buf_addc(out, '/');
    for (size_t i = 0, off = 0; !rc && i < n; i++) {
        size_t len = ends[i] - off - 1;
        rc = uri_encode(out, segs.data + off, len, 0);
        if (!rc && (i + 1 < n || trailing))
            rc = buf_addc(out, '/');
        off = ends[i];
    }
    free(ends);
    buf_release(&segs);
    return rc;
}

struct kv {
    char *name, *value; /* encoded (query) or lower-cased/trimmed (headers) */
    size_t order;       /* position in the input, for a stable sort */
};

static void kv_free(struct kv *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
}

static int kv_cmp_query(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (!c)
        c = strcmp(x->value, y->value);
    return c;
}

static int kv_cmp_header(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (!c)
        c = x->order < y->order ? -1 : x->order > y->order;
    return c;
}

static char *dup_encoded(const char *s, size_t n)
{
    struct buf b = BUF_INIT;
    if (uri_encode(&b, s, n, 0))
        return NULL;
    if (b.len == 0)
        return strdup("");
    return buf_detach(&b, NULL);
}

static int canonical_query(struct buf *out, const char *query)
{
    struct kv *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    const char *p = query;
    if (!p || !*p)
        return 0;
    while (!rc && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t nlen = eq ? (size_t)(eq - p) : len;
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                struct kv *nv = realloc(v, ncap * sizeof(*nv));
                if (!nv) {
                    rc = err_set(ML_ENOMEM, "out of memory");
                    break;
                }
                v = nv;
                cap = ncap;
            }
            v[n].name = dup_encoded(p, nlen);
            v[n].value = eq ? dup_encoded(eq + 1, len - nlen - 1) : strdup("");
            v[n].order = n;
            n++;
            if (!v[n - 1].name || !v[n - 1].value)
                rc = err_set(ML_ENOMEM, "out of memory");
        }
        p += len;
        if (*p == '&')
            p++;
    }
    if (!rc && n)
        qsort(v, n, sizeof(*v), kv_cmp_query);
    for (size_t i = 0; !rc && i < n; i++)
        rc = buf_addf(out, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
    kv_free(v, n);
    return rc;
}

/* Header value: trimmed, runs of spaces and tabs collapsed to one space. */
static char *header_value(const char *s)
{
    struct buf b = BUF_INIT;
    int space = 0, rc = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    for (; !rc && *s; s++) {
        if (*s == ' ' || *s == '\t') {
            space = 1;
            continue;
        }
        if (space && b.len)
            rc = buf_addc(&b, ' ');
        space = 0;
        if (!rc)
            rc = buf_addc(&b, *s);
    }
    if (rc)
        return NULL;
    if (b.len == 0)
        return strdup("");
    return buf_detach(&b, NULL);
}

/* Appends "name:v1,v2\n" lines and fills `signed_headers`. */
static int canonical_headers(struct buf *out, struct buf *signed_headers,
                             const struct sigv4_request *r)
{
    struct kv *v = calloc(r->nheaders ? r->nheaders : 1, sizeof(*v));
    int rc = 0;
    if (!v)
        return err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < r->nheaders; i++) {
        const char *h = r->headers[i];
        const char *colon = strchr(h, ':');
        if (!colon || colon == h) {
            rc = err_set(ML_EINVAL, "sigv4: header %zu has no name", i);
            break;
        }
        size_t nlen = (size_t)(colon - h);
        while (nlen && (h[nlen - 1] == ' ' || h[nlen - 1] == '\t'))
            nlen--;
        v[i].name = strndup(h, nlen);
        v[i].value = header_value(colon + 1);
        v[i].order = i;
        if (!v[i].name || !v[i].value) {
            rc = err_set(ML_ENOMEM, "out of memory");
            break;
        }
        for (char *c = v[i].name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    }
    if (!rc)
        qsort(v, r->nheaders, sizeof(*v), kv_cmp_header);
    for (size_t i = 0; !rc && i < r->nheaders; i++) {
        int first = i == 0 || strcmp(v[i].name, v[i - 1].name) != 0;
        if (first) {
            if (i > 0)
                rc = buf_addc(out, '\n');
            if (!rc)
                rc = buf_addf(out, "%s:%s", v[i].name, v[i].value);
            if (!rc)
                rc = buf_addf(signed_headers, "%s%s", i ? ";" : "", v[i].name);
        } else {
            rc = buf_addf(out, ",%s", v[i].value);
        }
    }
    if (!rc && r->nheaders)
        rc = buf_addc(out, '\n');
    for (size_t i = 0; i < r->nheaders; i++) {
        /* values may carry the session token */
        if (v[i].value)
            mem_wipe(v[i].value, strlen(v[i].value));
    }
    kv_free(v, r->nheaders);
    return rc;
}

static int date_ok(const char *d)
{
    if (!d || strlen(d) != SIGV4_DATE_LEN - 1 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

int sigv4_canonical_request(const struct sigv4_request *r, struct buf *creq,
                            struct buf *signed_headers)
{
    unsigned char hash[CRYPTO_DIGEST_LEN];
    char hex[2 * CRYPTO_DIGEST_LEN + 1];
    int rc;
    if (!date_ok(r->amz_date))
        return err_set(ML_EINVAL, "sigv4: malformed date (want YYYYMMDDThhmmssZ)");
    rc = buf_addf(creq, "%s\n", r->method);
    if (!rc)
        rc = canonical_path(creq, r->path);
    if (!rc)
        rc = buf_addc(creq, '\n');
    if (!rc)
        rc = canonical_query(creq, r->query);
    if (!rc)
        rc = buf_addc(creq, '\n');
    if (!rc)
        rc = canonical_headers(creq, signed_headers, r);
    if (!rc)
        rc = buf_addf(creq, "\n%s\n", signed_headers->data);
    if (!rc)
        rc = crypto_sha256(r->payload_len ? r->payload : "", r->payload_len, hash);
    if (!rc) {
        crypto_hex(hash, sizeof(hash), hex);
        rc = buf_adds(creq, hex);
    }
    return rc;
}

int sigv4_string_to_sign(const struct sigv4_request *r, const char *creq, size_t creq_len,
                         struct buf *sts)
{
    unsigned char hash[CRYPTO_DIGEST_LEN];
    char hex[2 * CRYPTO_DIGEST_LEN + 1];
    if (!date_ok(r->amz_date))
        return err_set(ML_EINVAL, "sigv4: malformed date (want YYYYMMDDThhmmssZ)");
    int rc = crypto_sha256(creq, creq_len, hash);
    if (rc)
        return rc;
    crypto_hex(hash, sizeof(hash), hex);
    return buf_addf(sts, ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", r->amz_date, r->amz_date,
                    r->region, r->service, hex);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int signing_key(const char *secret, const struct sigv4_request *r,
                       unsigned char key[CRYPTO_DIGEST_LEN])
{
    struct buf k0 = BUF_INIT;
    unsigned char a[CRYPTO_DIGEST_LEN], b[CRYPTO_DIGEST_LEN];
    int rc = buf_addf(&k0, "AWS4%s", secret);
    if (!rc)
        rc = crypto_hmac_sha256(k0.data, k0.len, r->amz_date, 8, a);
    if (!rc)
        rc = crypto_hmac_sha256(a, sizeof(a), r->region, strlen(r->region), b);
    if (!rc)
        rc = crypto_hmac_sha256(b, sizeof(b), r->service, strlen(r->service), a);
    if (!rc)
        rc = crypto_hmac_sha256(a, sizeof(a), "aws4_request", 12, key);
    buf_wipe(&k0);
    mem_wipe(a, sizeof(a));
    mem_wipe(b, sizeof(b));
    return rc;
}

int sigv4_authorization(const struct sigv4_request *r, const struct sigv4_credentials *cred,
                        struct buf *authz)
{
    struct buf creq = BUF_INIT, sh = BUF_INIT, sts = BUF_INIT;
    unsigned char key[CRYPTO_DIGEST_LEN], sig[CRYPTO_DIGEST_LEN];
    char hex[2 * CRYPTO_DIGEST_LEN + 1];
    int rc;
    if (!cred || !cred->access_key_id || !*cred->access_key_id || !cred->secret_access_key ||
        !*cred->secret_access_key)
        return err_set(ML_EINVAL, "sigv4: missing access key id or secret access key");
    if (!r->region || !*r->region || !r->service || !*r->service)
        return err_set(ML_EINVAL, "sigv4: missing region or service");
    rc = sigv4_canonical_request(r, &creq, &sh);
    if (!rc)
        rc = sigv4_string_to_sign(r, creq.data, creq.len, &sts);
    if (!rc)
        rc = signing_key(cred->secret_access_key, r, key);
    if (!rc)
        rc = crypto_hmac_sha256(key, sizeof(key), sts.data, sts.len, sig);
    if (!rc) {
        crypto_hex(sig, sizeof(sig), hex);
        rc = buf_addf(authz,
                      ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, "
                                "Signature=%s",
                      cred->access_key_id, r->amz_date, r->region, r->service, sh.data, hex);
        mem_wipe(hex, sizeof(hex));
    }
    mem_wipe(key, sizeof(key));
    mem_wipe(sig, sizeof(sig));
    buf_wipe(&creq); /* holds the session token when it is signed */
    buf_release(&sh);
    buf_release(&sts);
    return rc;
}
