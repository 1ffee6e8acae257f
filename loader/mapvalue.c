#include "mapvalue.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "error.h"
#include "pii.h"
#include "banned.h"

/* A value quoted in a reject reason is cut to this many bytes (a policy:
 * enough to recognise a bad value, never a whole document). */
#define REASON_VALUE_MAX 64

/* A mapping failure that becomes a reject: ML_ERECORD with the reason in err_msg(). */
static int field_error(const struct field_spec *f, const json_node *v, const char *what)
{
    size_t n;
    const char *s = json_string_len(v, &n);
    if (f->action != PII_KEEP || !s)
        return err_set(ML_ERECORD, "field '%s'%s: %s", f->path,
                       f->action != PII_KEEP ? " (PII, value not shown)" : "", what);
    size_t cut = n > REASON_VALUE_MAX ? REASON_VALUE_MAX : n;
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--; /* never split a UTF-8 sequence */
    if (!convert_utf8_valid(s, cut, NULL))
        return err_set(ML_ERECORD, "field '%s': %s (value not valid UTF-8)", f->path, what);
    /* control characters (NUL included) are shown escaped, never raw: at
     * most 6 bytes ("\u001f") for each of the `cut` bytes */
    char shown[REASON_VALUE_MAX * 6 + 1];
    size_t o = 0;
    for (size_t i = 0; i < cut; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(shown + o, sizeof(shown) - o, "\\u%04x", ch);
        else
            shown[o++] = (char)ch;
    }
    shown[o] = '\0';
    return err_set(ML_ERECORD, "field '%s': %s: '%s'%s", f->path, what, shown,
                   cut < n ? "..." : "");
}

/* True when a string value holds a NUL byte (JSON "\u0000"). */
static bool has_nul(const char *s, size_t len)
{
    return s && memchr(s, '\0', len) != NULL;
}

/* field_error with the current err_msg() as the description (copied first,
 * because err_set overwrites the message store). */
static int field_error_copy(const struct field_spec *f, const json_node *v)
{
    struct buf what = BUF_INIT;
    int rc = buf_adds(&what, err_msg());
    if (!rc)
        rc = field_error(f, v, what.data);
    buf_release(&what);
    return rc;
}

const char *mapvalue_scalar_text(const json_node *v, size_t *len)
{
    *len = 0;
    if (json_type(v) == JSON_STRING)
        return json_string_len(v, len);
    if (json_type(v) == JSON_NUMBER)
        return json_number_text(v, len);
    return NULL;
}

/* Milliseconds since 1970-01-01 UTC -> "YYYY-MM-DD hh:mm:ss.fff"; -1 outside
 * years 1970..9999. */
static int epoch_ms_text(long long ms, char out[CONVERT_DATETIME_LEN])
{
    struct tm tm;
    time_t secs;
    if (ms < 0 || ms > 253402300799999LL) /* 9999-12-31 23:59:59.999 */
        return -1;
    secs = (time_t)(ms / 1000);
    int milli = (int)(ms % 1000);
    if (!gmtime_r(&secs, &tm) ||
        strftime(out, CONVERT_DATETIME_LEN, "%Y-%m-%d %H:%M:%S", &tm) != 19)
        return -1;
    out[19] = '.';
    out[20] = (char)('0' + milli / 100);
    out[21] = (char)('0' + milli / 10 % 10);
    out[22] = (char)('0' + milli % 10);
    out[23] = '\0';
    return 0;
}

/* The text of a scalar for a surrogate or hmac input, normalised by the
 * field's `normalize` steps into `scratch` (PII: the caller wipes it). */
static int normalised_input(struct buf *scratch, const struct field_spec *f, const char *kind,
                            const json_node *v)
{
    size_t slen;
    const char *s = mapvalue_scalar_text(v, &slen);
    if (!s)
        return field_error(f, v, "must be a string or a number");
    if (!convert_utf8_valid(s, slen, NULL))
        return field_error(f, v, "not valid UTF-8");
    if (slen > MAPPING_SURROGATE_VALUE_MAX)
        return field_error(f, v, "longer than 1048576 bytes (MAPPING_SURROGATE_VALUE_MAX)");
    return pii_normalise(kind, f->normalize, s, slen, scratch);
}

/* ---- generalising actions: the exact value never reaches the arena ---- */

/* floor(x / w) * w for w >= 1: the lower bound of x's range, rounded towards
 * minus infinity (-1 with width 10 -> -10); -1 when it leaves int64. */
static int floor_to_width(long long x, unsigned w, long long *out)
{
    long long r = x % (long long)w;
    if (r < 0) {
        if (x - r < LLONG_MIN + (long long)w)
            return -1;
        r += w;
    }
    *out = x - r;
    return 0;
}

/* `pii: { bucket: N }`: an integer column gets floor(v / N) * N (a date
 * string counts as its year, so that a birth date becomes the first year of
 * its range and never more); a decimal
 * column the same on its exact value (12.34 with width 10 -> 10.00, -0.01
 * -> -10.00), written with the column's scale. The bound must fit the
 * column, as a kept value must. */
static int bucket_value(struct batch *b, const struct field_spec *f, const struct column_def *col,
                        const json_node *v, struct cell *c)
{
    enum json_type t = json_type(v);
    size_t slen = 0;
    const char *s = mapvalue_scalar_text(v, &slen);
    int rc;
    if (!s || has_nul(s, slen))
        return field_error(f, v, "must be a number");
    if (col->type != COL_DECIMAL) {
        long long ll, lo;
        int year;
        char date[CONVERT_DATE_LEN];
        rc = t == JSON_NUMBER ? json_int64(v, &ll) : convert_int64(s, &ll);
        if (rc && t == JSON_STRING && !convert_year(s, &year) && !convert_date(s, date)) {
            ll = year; /* a date counts as its year: birth dates into year ranges */
            rc = 0;
        }
        if (rc)
            return field_error(f, v, "not an integer or an ISO 8601 date");
        if (floor_to_width(ll, f->param, &lo) ||
            (col->type == COL_SMALLINT && (lo < -32768 || lo > 32767)) ||
            (col->type == COL_INT && (lo < -2147483648LL || lo > 2147483647LL)))
            return field_error(f, v, "its range's lower bound is out of the column's range");
        c->kind = CELL_INT;
        c->i = lo;
        return 0;
    }
    char exact[CONVERT_DECIMAL_LEN], out[CONVERT_DECIMAL_LEN + 2];
    if (convert_decimal(s, col->size, col->scale, exact))
        return field_error(f, v, "not a decimal number that fits the column");
    /* exact is "[-]I[.F]": I has at most 38 digits, below 2^127 */
    const char *p = exact;
    bool neg = *p == '-', frac = false;
    unsigned __int128 mag = 0;
    p += neg;
    for (; *p >= '0' && *p <= '9'; p++)
        mag = mag * 10 + (unsigned)(*p - '0');
    if (*p == '.')
        for (p++; *p; p++)
            frac = frac || *p != '0';
    unsigned r = (unsigned)(mag % f->param);
    if (!neg)
        mag -= r;
    else if (r || frac)
        mag += f->param - r; /* the magnitude of the bound below a negative value */
    mem_wipe(exact, sizeof(exact));
    char digits[48];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
    } while (mag);
    bool zero = nd == 1 && digits[0] == '0';
    if (col->size == 0 ? !zero : nd > col->size)
        return field_error(f, v, "its range's lower bound is out of the column's range");
    size_t o = 0;
    if (neg && !zero)
        out[o++] = '-';
    while (nd)
        out[o++] = digits[--nd];
    if (col->scale) {
        out[o++] = '.';
        for (unsigned i = 0; i < col->scale; i++)
            out[o++] = '0';
    }
    out[o] = '\0';
    return batch_put_text(b, c, CELL_TEXT, out, o);
}

/* `pii: { truncate: month|day|hour }`: the start of the period, in the
 * column's own form ("2024-03-01", "2024-03-17 09:00:00.000"). */
static int truncate_value(struct batch *b, const struct field_spec *f, const struct column_def *col,
                          const json_node *v, struct cell *c)
{
    char out[CONVERT_DATETIME_LEN];
    const char *s = json_string(v);
    size_t slen = 0;
    if (json_type(v) != JSON_STRING || !s || has_nul(json_string_len(v, &slen), slen))
        return field_error(f, v, "must be a date or timestamp string");
    if (col->type == COL_DATE) {
        if (convert_date(s, out))
            return field_error(f, v, "not an ISO 8601 date");
        if (f->param == TRUNCATE_MONTH)
            memcpy(out + 8, "01", 2);
        return batch_put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    if (convert_timestamp(s, out))
        return field_error(f, v, "not an ISO 8601 timestamp");
    /* "YYYY-MM-DD hh:mm:ss.fff": keep the fields down to the unit */
    static const char zero_from_month[] = "01 00:00:00.000";
    size_t keep = f->param == TRUNCATE_MONTH ? 8 : f->param == TRUNCATE_DAY ? 11 : 14;
    memcpy(out + keep, zero_from_month + (keep - 8), sizeof(zero_from_month) - (keep - 8));
    return batch_put_text(b, c, CELL_TEXT, out, strlen(out));
}

/* `pii: { prefix: N }`: the first N characters (code points) of a string or
 * of a number's text; never a cut inside a UTF-8 sequence. */
static int prefix_value(struct batch *b, const struct field_spec *f, const struct column_def *col,
                        const json_node *v, struct cell *c)
{
    size_t slen = 0, cut = 0, chars = 0;
    const char *s = mapvalue_scalar_text(v, &slen);
    (void)col;
    if (!s)
        return field_error(f, v, "must be a string or a number");
    if (!convert_utf8_valid(s, slen, NULL))
        return field_error(f, v, "not valid UTF-8");
    /* valid UTF-8: a character starts at every byte that is not 10xxxxxx */
    while (cut < slen) {
        if (((unsigned char)s[cut] & 0xc0) != 0x80 && chars++ == f->param)
            break;
        cut++;
    }
    return batch_put_text(b, c, CELL_TEXT, s, cut);
}

int mapvalue_convert(struct batch *b, const struct field_spec *f, const struct column_def *col,
                     const json_node *v, struct cell *c, const struct map_options *opt)
{
    struct buf *scratch = batch_work(b, BATCH_WORK_VALUE);
    const char *s;
    size_t slen = 0;
    int rc;
    enum json_type t = json_type(v);
    /* NUL bytes are data only where a value is stored as text (kept text
     * columns, surrogate values); a value that is parsed (numbers, dates,
     * e-mail addresses) must not hold one: a parser would stop at the NUL. */
    const char *sv = json_string_len(v, &slen);
    bool nul = has_nul(sv, slen);

    /* a string whose escapes cannot be decoded (a lone surrogate) fails the
     * record only when its value is used; a dropped field is never read */
    if (f->action != PII_DROP && json_string_problem(v))
        return err_set(ML_ERECORD, "%s in field '%s'", json_string_problem(v), f->path);
    if (t == JSON_ABSENT || t == JSON_NULL) {
        if (f->required)
            return field_error(
                f, v, t == JSON_ABSENT ? "missing required field" : "required field is null");
        c->kind = CELL_NULL;
        return 0;
    }
    switch (f->action) {
    case PII_EMAIL_DOMAIN:
        if (t != JSON_STRING)
            return field_error(f, v, "must be a string");
        if (nul)
            return field_error(f, v, "not an e-mail address (holds a NUL byte)");
        rc = pii_email_domain(json_string(v), scratch);
        if (rc == ML_ERECORD)
            return field_error(f, v, "not an e-mail address");
        if (rc)
            return rc;
        if (!convert_utf8_valid(scratch->data, scratch->len, &(size_t){0}) ||
            scratch->len > col->size)
            return field_error(f, v, "e-mail domain is not valid UTF-8 or too long");
        return batch_put_text(b, c, CELL_TEXT, scratch->data, scratch->len);
    case PII_YEAR: {
        int year;
        char date[CONVERT_DATE_LEN];
        if (t != JSON_STRING)
            return field_error(f, v, "must be a date string");
        if (nul)
            return field_error(f, v, "not an ISO 8601 date (holds a NUL byte)");
        if (convert_year(json_string(v), &year) || convert_date(json_string(v), date))
            return field_error(f, v, "not an ISO 8601 date");
        c->kind = CELL_INT;
        c->i = year;
        return 0;
    }
    case PII_DATE_IF_ALLOWED: {
        char date[CONVERT_DATE_LEN];
        if (!opt || opt->birth_date != BIRTH_DATE_DATE) {
            c->kind = CELL_NULL; /* the policy keeps no full date: never read */
            return 0;
        }
        if (t != JSON_STRING)
            return field_error(f, v, "must be a date string");
        if (nul || convert_date(json_string(v), date))
            return field_error(f, v, "not an ISO 8601 date");
        return batch_put_text(b, c, CELL_TEXT, date, strlen(date));
    }
    case PII_HMAC: {
        unsigned char d[CRYPTO_DIGEST_LEN];
        char hex[2 * CRYPTO_DIGEST_LEN + 1];
        if (!opt || !opt->hmac)
            return err_set(ML_EINTERNAL, "field '%s': pii: hmac without a digest key", f->path);
        rc = normalised_input(scratch, f, "hmac", v);
        if (rc)
            return rc;
        if (scratch->len == 0) {
            c->kind = CELL_NULL;
            return 0;
        }
        rc = pii_digest_mac(opt->hmac, "hmac", scratch->data, scratch->len, d);
        mem_wipe(scratch->data, scratch->len);
        if (rc)
            return rc;
        for (size_t i = 0; i < sizeof(d); i++)
            snprintf(hex + 2 * i, 3, "%02x", d[i]);
        return batch_put_text(b, c, CELL_TEXT, hex, 2 * CRYPTO_DIGEST_LEN);
    }
    case PII_SURROGATE:
        rc = normalised_input(scratch, f, col->kind, v);
        if (rc)
            return rc;
        if (scratch->len == 0) {
            c->kind = CELL_NULL;
            return 0;
        }
        rc = batch_put_text(b, c, CELL_PENDING, scratch->data, scratch->len);
        mem_wipe(scratch->data, scratch->len);
        return rc;
    case PII_BUCKET:
        return bucket_value(b, f, col, v, c);
    case PII_TRUNCATE:
        return truncate_value(b, f, col, v, c);
    case PII_PREFIX:
        return prefix_value(b, f, col, v, c);
    case PII_DROP:
        return 0;
    case PII_KEEP:
        break;
    }

    switch (col->type) {
    case COL_BIGINT:
    case COL_INT:
    case COL_SMALLINT: {
        long long ll;
        if (t == JSON_NUMBER)
            rc = json_int64(v, &ll); /* exact: from the token text */
        else if (t == JSON_STRING)
            rc = nul ? err_set(ML_ERECORD, "not an integer (holds a NUL byte)")
                     : convert_int64(json_string(v), &ll);
        else
            return field_error(f, v, "must be an integer");
        if (rc)
            return field_error_copy(f, v);
        if ((col->type == COL_SMALLINT && (ll < -32768 || ll > 32767)) ||
            (col->type == COL_INT && (ll < -2147483648LL || ll > 2147483647LL)))
            return field_error(f, v, "integer out of range");
        c->kind = CELL_INT;
        c->i = ll;
        return 0;
    }
    case COL_DECIMAL: {
        char out[CONVERT_DECIMAL_LEN];
        s = mapvalue_scalar_text(v, &slen);
        if (!s)
            return field_error(f, v, "must be a number or a decimal string");
        if (nul)
            return field_error(f, v, "not a decimal number (holds a NUL byte)");
        if (convert_decimal(s, col->size, col->scale, out))
            return field_error_copy(f, v);
        return batch_put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_DATETIME: {
        char out[CONVERT_DATETIME_LEN];
        if (t != JSON_STRING)
            return field_error(f, v, "must be a timestamp string");
        if (nul)
            return field_error(f, v, "not an ISO 8601 timestamp (holds a NUL byte)");
        if (convert_timestamp(json_string(v), out))
            return field_error_copy(f, v);
        return batch_put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_DATE: {
        char out[CONVERT_DATE_LEN];
        if (col->from_epoch_ms) {
            char ts[CONVERT_DATETIME_LEN];
            long long ms;
            if (t == JSON_NUMBER)
                rc = json_int64(v, &ms);
            else if (t == JSON_STRING && !nul && json_string(v)[0] >= '0' &&
                     json_string(v)[0] <= '9')
                rc = convert_int64(json_string(v), &ms);
            else
                return field_error(f, v, "must be milliseconds since 1970 (an integer)");
            if (rc || epoch_ms_text(ms, ts))
                return field_error(f, v, "not milliseconds since 1970 within years 1970..9999");
            return batch_put_text(b, c, CELL_TEXT, ts, 10); /* YYYY-MM-DD, the UTC day */
        }
        if (t != JSON_STRING)
            return field_error(f, v, "must be a date string");
        if (nul)
            return field_error(f, v, "not an ISO 8601 date (holds a NUL byte)");
        if (convert_date(json_string(v), out))
            return field_error_copy(f, v);
        return batch_put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_BOOL:
        if (t != JSON_BOOL)
            return field_error(f, v, "must be true or false");
        c->kind = CELL_INT;
        c->i = json_bool(v) ? 1 : 0;
        return 0;
    case COL_TEXT:
    case COL_LONGTEXT: {
        size_t n;
        s = json_string_len(v, &slen);
        if (!s)
            return field_error(f, v, "must be a string");
        if (!convert_utf8_valid(s, slen, &n))
            return field_error(f, v, "not valid UTF-8");
        if (col->type == COL_LONGTEXT && slen > 16777215)
            return field_error(f, v, "longer than 16777215 bytes (a text column)");
        if (col->type == COL_TEXT && n > col->size) {
            char what[64];
            snprintf(what, sizeof(what), "longer than %u characters", col->size);
            return field_error(f, v, what);
        }
        return batch_put_text(b, c, CELL_TEXT, s, slen); /* NUL bytes kept */
    }
    case COL_EPOCH_MS: {
        char out[CONVERT_DATETIME_LEN];
        long long ms;
        if (t == JSON_NUMBER)
            rc = json_int64(v, &ms);
        else if (t == JSON_STRING && !nul && json_string(v)[0] >= '0' && json_string(v)[0] <= '9')
            rc = convert_int64(json_string(v), &ms);
        else
            return field_error(f, v, "must be milliseconds since 1970 (an integer)");
        if (rc || epoch_ms_text(ms, out))
            return field_error(f, v, "not milliseconds since 1970 within years 1970..9999");
        return batch_put_text(b, c, CELL_TEXT, out, strlen(out));
    }
    case COL_VERSION_MAJOR: {
        long long major = 0;
        size_t digits = 0;
        s = json_string(v);
        if (t == JSON_NUMBER) {
            if (json_int64(v, &major) || major < 0 || major > 2147483647)
                return field_error(f, v, "not a version number");
            c->kind = CELL_INT;
            c->i = major;
            return 0;
        }
        if (!s || nul)
            return field_error(f, v, "must be a version string such as '2.3.0'");
        if (*s == 'v' || *s == 'V')
            s++;
        for (; s[digits] >= '0' && s[digits] <= '9' && digits < 10; digits++)
            major = major * 10 + (s[digits] - '0');
        if (digits == 0 || digits == 10 || major > 2147483647 ||
            (s[digits] && !strchr(".-+", s[digits])))
            return field_error(f, v, "not a version string such as '2.3.0'");
        c->kind = CELL_INT;
        c->i = major;
        return 0;
    }
    case COL_SURROGATE:
    case COL_HMAC:
    case COL_DIGEST:
        break;
    }
    return err_set(ML_EINTERNAL, "column '%s' has no mapping for its type", col->name);
}
