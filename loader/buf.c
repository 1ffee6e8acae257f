#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "banned.h"

char buf_empty_[1];

void buf_init(struct buf *b, size_t max)
{
    b->data = buf_empty_;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

int buf_grow(struct buf *b, size_t extra)
{
    size_t want;
    if (b->max && (extra > b->max || b->len > b->max - extra))
        return err_set(ML_ETOOBIG, "buffer would exceed its %zu byte limit", b->max);
    if (extra > ((size_t)-1) / 2 - b->len)
        return err_set(ML_ENOMEM, "buffer size overflow");
    want = b->len + extra + 1;
    if (want <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < want)
        ncap *= 2;
    char *p = b->cap ? realloc(b->data, ncap) : malloc(ncap);
    if (!p)
        return err_set(ML_ENOMEM, "out of memory growing a buffer to %zu bytes", ncap);
    if (!b->cap)
        p[0] = '\0';
    b->data = p;
    b->cap = ncap;
    return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
    int rc = buf_grow(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

const char *buf_int_text(char num[BUF_INT_LEN], long long v, size_t *len)
{
    size_t o = BUF_INT_LEN;
    /* the magnitude in unsigned arithmetic: -LLONG_MIN does not fit */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        num[--o] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        num[--o] = '-';
    *len = BUF_INT_LEN - o;
    return num + o;
}

int buf_add_int(struct buf *b, long long v)
{
    char num[BUF_INT_LEN];
    size_t len;
    const char *s = buf_int_text(num, v, &len);
    return buf_add(b, s, len);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    char small[256];
    va_copy(cp, ap);
    int n = vsnprintf(small, sizeof(small), fmt, cp);
    va_end(cp);
    if (n < 0)
        return err_set(ML_EINVAL, "bad format string");
    if ((size_t)n < sizeof(small))
        return buf_add(b, small, (size_t)n);
    int rc = buf_grow(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_truncate(struct buf *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0';
}

void buf_reset(struct buf *b)
{
    buf_truncate(b, 0);
}

void buf_release(struct buf *b)
{
    if (b->cap)
        free(b->data);
    b->data = buf_empty_;
    b->len = 0;
    b->cap = 0;
}

void mem_wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

void buf_wipe(struct buf *b)
{
    if (b->cap)
        mem_wipe(b->data, b->cap);
    buf_release(b);
}

char *buf_detach(struct buf *b, size_t *len)
{
    char *s;
    if (b->cap) {
        s = b->data;
    } else {
        s = malloc(1);
        if (s)
            s[0] = '\0';
    }
    if (len)
        *len = b->len;
    b->data = buf_empty_;
    b->len = 0;
    b->cap = 0;
    return s;
}
