#include "cursor.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "banned.h"

#define DURATION_MAX_S (3650LL * 86400)

int cursor_parse_duration(const char *s, long long *seconds)
{
    long long n = 0, unit;
    size_t i = 0;
    if (!s || s[0] < '0' || s[0] > '9')
        return ML_EINVAL;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        n = n * 10 + (s[i] - '0');
        if (n > DURATION_MAX_S)
            return ML_EINVAL;
    }
    switch (s[i]) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    default:
        return ML_EINVAL;
    }
    if (s[i + 1] != '\0' || n > DURATION_MAX_S / unit)
        return ML_EINVAL;
    *seconds = n * unit;
    return 0;
}

/* ---- "YYYY-MM-DD hh:mm:ss.fff" <-> milliseconds since 1970 ---- */

static bool digits_at(const char *s, size_t from, size_t n, long long *out)
{
    long long v = 0;
    for (size_t i = from; i < from + n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool datetime_ms(const char *s, long long *ms)
{
    long long y, mo, d, h, mi, se, f;
    if (strlen(s) != 23 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.')
        return false;
    if (!digits_at(s, 0, 4, &y) || !digits_at(s, 5, 2, &mo) || !digits_at(s, 8, 2, &d) ||
        !digits_at(s, 11, 2, &h) || !digits_at(s, 14, 2, &mi) || !digits_at(s, 17, 2, &se) ||
        !digits_at(s, 20, 3, &f))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
        return false;
    *ms = ((convert_days_from_civil((int)y, (int)mo, (int)d) * 24 + h) * 60 + mi) * 60000 +
          se * 1000 + f;
    return true;
}

static bool integer_value(const char *s, long long *v)
{
    char *end;
    if (!s || !*s || (s[0] != '-' && (s[0] < '0' || s[0] > '9')))
        return false;
    *v = strtoll(s, &end, 10);
    return *end == '\0' && *v != LLONG_MIN && *v != LLONG_MAX;
}

bool cursor_value_ok(enum cursor_kind kind, const char *s)
{
    long long v;
    return kind == CURSOR_INTEGER ? integer_value(s, &v) : datetime_ms(s, &v);
}

int cursor_cmp(enum cursor_kind kind, const char *a, const char *b)
{
    long long x = 0, y = 0;
    if (kind == CURSOR_INTEGER) {
        integer_value(a, &x);
        integer_value(b, &y);
        return x < y ? -1 : x > y;
    }
    return strcmp(a, b); /* fixed width, most significant first */
}

int cursor_param(enum cursor_kind kind, const char *stored, long long lookback_s,
                 char out[CURSOR_TEXT_MAX])
{
    long long v, rest;
    if (lookback_s < 0 || lookback_s > DURATION_MAX_S)
        return ML_EINVAL;
    if (kind == CURSOR_INTEGER) {
        if (!integer_value(stored, &v) || v < LLONG_MIN / 2)
            return ML_EINVAL;
        snprintf(out, CURSOR_TEXT_MAX, "%lld", v - lookback_s);
        return 0;
    }
    if (!datetime_ms(stored, &v))
        return ML_EINVAL;
    v -= lookback_s * 1000;
    if (kind == CURSOR_EPOCH_MS) {
        snprintf(out, CURSOR_TEXT_MAX, "%lld", v);
        return 0;
    }
    long long days = v >= 0 ? v / 86400000 : -((-v + 86399999) / 86400000);
    rest = v - days * 86400000;
    if (days < -800000 || days > 3000000) /* outside years 1000..9999 anyway */
        return ML_EINVAL;
    int cy, cm, cd;
    convert_civil_from_days(days, &cy, &cm, &cd);
    if (cy < 1000 || cy > 9999)
        return ML_EINVAL;
    char tmp[128];
    int n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02lld:%02lld:%02lld.%03lldZ", cy, cm, cd,
                     rest / 3600000, rest / 60000 % 60, rest / 1000 % 60, rest % 1000);
    if (n < 0 || n >= CURSOR_TEXT_MAX)
        return ML_EINVAL;
    memcpy(out, tmp, (size_t)n + 1);
    return 0;
}
