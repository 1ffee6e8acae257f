#include "convert.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "banned.h"

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

long long convert_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void convert_civil_from_days(long long z, int *y, int *m, int *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long yy = yoe + era * 400;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

struct ts {
    int y, mo, d, h, mi, s, ms;
};

static int parse_ts(const char *s, struct ts *t)
{
    const char *p = s;
    int offset_min = 0;
    memset(t, 0, sizeof(*t));
    if (!s)
        return err_set(ML_ERECORD, "missing");
    if (digits(&p, 4, &t->y) || *p++ != '-' || digits(&p, 2, &t->mo) || *p++ != '-' ||
        digits(&p, 2, &t->d))
        return err_set(ML_ERECORD, "not an ISO 8601 date");
    if (t->y < 1000 || t->mo < 1 || t->mo > 12 || t->d < 1 || t->d > days_in_month(t->y, t->mo))
        return err_set(ML_ERECORD, "date out of range");
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &t->h) || *p++ != ':' || digits(&p, 2, &t->mi))
            return err_set(ML_ERECORD, "not an ISO 8601 time");
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &t->s))
                return err_set(ML_ERECORD, "not an ISO 8601 time");
            if (*p == '.' || *p == ',') {
                int n = 0;
                p++;
                if (!isdigit((unsigned char)*p))
                    return err_set(ML_ERECORD, "empty fraction of a second");
                while (isdigit((unsigned char)*p)) {
                    if (n < 3)
                        t->ms = t->ms * 10 + (*p - '0');
                    n++;
                    p++;
                }
                for (; n < 3; n++)
                    t->ms *= 10;
            }
        }
        if (t->h > 23 || t->mi > 59 || t->s > 59)
            return err_set(ML_ERECORD, "time out of range");
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
            if (digits(&p, 2, &oh))
                return err_set(ML_ERECORD, "bad time zone offset");
            if (*p == ':') {
                p++;
                if (!*p)
                    return err_set(ML_ERECORD, "bad time zone offset");
            }
            if (*p && digits(&p, 2, &om))
                return err_set(ML_ERECORD, "bad time zone offset");
            if (oh > 18 || om > 59)
                return err_set(ML_ERECORD, "time zone offset out of range");
            offset_min = sign * (oh * 60 + om);
        }
    }
    if (*p)
        return err_set(ML_ERECORD, "unexpected text after the timestamp");
    if (offset_min) {
        long long secs = convert_days_from_civil(t->y, t->mo, t->d) * 86400LL + t->h * 3600LL +
                         t->mi * 60LL + t->s - offset_min * 60LL;
        long long days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
        long long rem = secs - days * 86400;
        convert_civil_from_days(days, &t->y, &t->mo, &t->d);
        t->h = (int)(rem / 3600);
        t->mi = (int)(rem % 3600 / 60);
        t->s = (int)(rem % 60);
        if (t->y < 1000 || t->y > 9999)
            return err_set(ML_ERECORD, "date out of range");
    }
    return 0;
}

/* v in exactly n decimal digits, zero-padded, at o; returns o + n. Only for
 * the fields parse_ts has checked (each fits its width), where printf's
 * "%0nd" would cost more than the parse. */
static char *put_digits(char *o, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + n;
}

/* "YYYY-MM-DD" at o (parse_ts's year is 1000..9999); returns its end */
static char *put_date(char *o, const struct ts *t)
{
    o = put_digits(o, t->y, 4);
    *o++ = '-';
    o = put_digits(o, t->mo, 2);
    *o++ = '-';
    return put_digits(o, t->d, 2);
}

int convert_timestamp(const char *s, char out[CONVERT_DATETIME_LEN])
{
    struct ts t;
    char *o;
    int rc = parse_ts(s, &t);
    if (rc)
        return rc;
    /* "%04d-%02d-%02d %02d:%02d:%02d.%03d" */
    o = put_date(out, &t);
    *o++ = ' ';
    o = put_digits(o, t.h, 2);
    *o++ = ':';
    o = put_digits(o, t.mi, 2);
    *o++ = ':';
    o = put_digits(o, t.s, 2);
    *o++ = '.';
    o = put_digits(o, t.ms, 3);
    *o = '\0';
    return 0;
}

int convert_date(const char *s, char out[CONVERT_DATE_LEN])
{
    struct ts t;
    int rc = parse_ts(s, &t);
    if (rc)
        return rc;
    *put_date(out, &t) = '\0';
    return 0;
}

int convert_year(const char *s, int *year)
{
    struct ts t;
    int rc = parse_ts(s, &t);
    if (rc)
        return rc;
    *year = t.y;
    return 0;
}

int convert_decimal(const char *s, unsigned int_digits, unsigned scale,
                    char out[CONVERT_DECIMAL_LEN])
{
    const char *p = s;
    bool neg = false;
    char ip[CONVERT_DECIMAL_LEN], fp[CONVERT_DECIMAL_LEN];
    size_t ni = 0, nf = 0;
    int exp10 = 0;

    if (!s || !*s)
        return err_set(ML_ERECORD, "empty number");
    if (int_digits + scale + 3 > CONVERT_DECIMAL_LEN || scale > 10)
        return err_set(ML_EINVAL, "decimal precision too large");
    if (*p == '-')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return err_set(ML_ERECORD, "not a decimal number");
    while (*p == '0' && isdigit((unsigned char)p[1]))
        p++;
    /* collect all digits into one string with the position of the point */
    char all[128];
    size_t na = 0, point = 0;
    bool seen_point = false;
    for (; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (na >= sizeof(all) - 1)
                return err_set(ML_ERECORD, "number too long");
            all[na++] = *p;
        } else if (*p == '.' && !seen_point) {
            seen_point = true;
            point = na;
        } else {
            break;
        }
    }
    if (!seen_point)
        point = na;
    if (*p == 'e' || *p == 'E') {
        char *end;
        errno = 0;
        long e = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end || errno || e > 60 || e < -60)
            return err_set(ML_ERECORD, "bad exponent");
        exp10 = (int)e;
        p = end;
    }
    if (*p)
        return err_set(ML_ERECORD, "not a decimal number");
    /* apply exponent by moving the point */
    long long pt = (long long)point + exp10;
    /* digits at positions [0, na); value = all[0..pt) . all[pt..) */
    for (long long i = 0; i < pt; i++) {
        char c = i < (long long)na ? all[i] : '0';
        if (ni == 0 && c == '0')
            continue;
        if (ni >= int_digits)
            return err_set(ML_ERECORD, "number out of range (more than %u integer digits)",
                           int_digits);
        ip[ni++] = c;
    }
    /* fraction digits: exactly `scale` of them; a non-zero digit beyond is
     * a reject, never a silent rounding (the value would change) */
    for (long long i = pt; nf < scale; i++)
        fp[nf++] = (i >= 0 && i < (long long)na) ? all[i] : '0';
    for (long long i = pt + (long long)scale; i < (long long)na; i++)
        if (i >= 0 && all[i] != '0')
            return err_set(ML_ERECORD, "more than %u decimal places (it would be rounded)", scale);
    if (ni == 0)
        ip[ni++] = '0';
    ip[ni] = '\0';
    fp[nf] = '\0';
    bool zero = true;
    for (size_t i = 0; i < ni; i++)
        zero = zero && ip[i] == '0';
    for (size_t i = 0; i < nf; i++)
        zero = zero && fp[i] == '0';
    /* ni <= int_digits and nf == scale, checked against CONVERT_DECIMAL_LEN above */
    size_t o = 0;
    if (neg && !zero)
        out[o++] = '-';
    memcpy(out + o, ip, ni);
    o += ni;
    if (nf) {
        out[o++] = '.';
        memcpy(out + o, fp, nf);
        o += nf;
    }
    out[o] = '\0';
    return 0;
}

int convert_int64(const char *s, long long *out)
{
    char *end;
    if (!s || !*s || isspace((unsigned char)*s))
        return err_set(ML_ERECORD, "not an integer");
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end)
        return err_set(ML_ERECORD, "not an integer");
    if (errno == ERANGE)
        return err_set(ML_ERECORD, "integer out of range");
    *out = v;
    return 0;
}

size_t convert_utf8_prefix(const char *s, size_t len, size_t maxchars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if ((p[i] & 0xc0) == 0x80)
            continue; /* inside a character */
        if (n == maxchars)
            return i;
        n++;
    }
    return len;
}

bool convert_utf8_valid(const char *s, size_t len, size_t *nchars)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t n = 0;
    while (p < end) {
        unsigned c = *p;
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            p++;
            n++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= k)
            return false;
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += k + 1;
        n++;
    }
    if (nchars)
        *nchars = n;
    return true;
}
