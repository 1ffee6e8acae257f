/* retry.c - the retry policy; see retry.h for the rules. */
#include "retry.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "error.h"
#include "banned.h"

#define SECONDS_MAX 2147483647L

const char *retry_outcome_name(enum retry_outcome o)
{
    switch (o) {
    case RETRY_OK:
        return "ok";
    case RETRY_CONNECT:
        return "connection failed";
    case RETRY_TIMEOUT:
        return "timeout";
    case RETRY_NETWORK:
        return "network error";
    case RETRY_TRUNCATED:
        return "truncated body";
    case RETRY_BAD_BODY:
        return "unusable body";
    case RETRY_STATUS:
        return "http status";
    case RETRY_PERMANENT:
        return "permanent error";
    }
    return "unknown";
}

bool retry_status_transient(long status)
{
    return status == 429 || (status >= 500 && status <= 599);
}

bool retry_transient(enum retry_outcome o, long status)
{
    switch (o) {
    case RETRY_CONNECT:
    case RETRY_TIMEOUT:
    case RETRY_NETWORK:
    case RETRY_TRUNCATED:
    case RETRY_BAD_BODY:
        return true;
    case RETRY_STATUS:
        return retry_status_transient(status);
    case RETRY_OK:
    case RETRY_PERMANENT:
        break;
    }
    return false;
}

bool retry_should(const struct retry_policy *p, unsigned attempt, enum retry_outcome o, long status)
{
    return retry_transient(o, status) && attempt <= p->retries;
}

unsigned retry_backoff_ms(const struct retry_policy *p, unsigned attempt, uint32_t random)
{
    uint64_t cap = p->max_ms ? p->max_ms : 1;
    uint64_t d = p->base_ms ? p->base_ms : 1;
    uint64_t lo;
    /* doubling stops at the cap, so d never overflows */
    for (unsigned i = 1; i < attempt && d < cap; i++)
        d *= 2;
    if (d > cap)
        d = cap;
    lo = d / 2;
    return (unsigned)(lo + (uint64_t)random % (d - lo + 1));
}

unsigned retry_delay_ms(const struct retry_policy *p, unsigned attempt, long retry_after_s,
                        uint32_t random)
{
    unsigned delay = retry_backoff_ms(p, attempt, random);
    if (retry_after_s > 0 && p->retry_after_max_s) {
        unsigned long ra = (unsigned long)retry_after_s;
        if (ra > p->retry_after_max_s)
            ra = p->retry_after_max_s;
        /* retry_after_max_s is at most 86400 (config), so this fits */
        if (ra * 1000UL > delay)
            delay = (unsigned)(ra * 1000UL);
    }
    return delay;
}

/* ---- Retry-After ---- */

static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

/* Reads exactly `n` digits (n == 0: 1 or 2 digits). */
static bool read_num(const char **s, unsigned n, unsigned *out)
{
    unsigned v = 0, got = 0, most = n ? n : 2;
    while (got < most && (*s)[got] >= '0' && (*s)[got] <= '9') {
        v = v * 10 + (unsigned)((*s)[got] - '0');
        got++;
    }
    if (got == 0 || (n && got != n))
        return false;
    *s += got;
    *out = v;
    return true;
}

static bool read_char(const char **s, char c)
{
    if (**s != c)
        return false;
    (*s)++;
    return true;
}

static bool read_word(const char **s, const char *w)
{
    size_t n = strlen(w);
    if (strncasecmp(*s, w, n) != 0)
        return false;
    *s += n;
    return true;
}

/* A day name: the 3-letter form, or the full one when `full`. */
static bool read_day_name(const char **s, bool full)
{
    for (int i = 0; i < 7; i++) {
        if (full ? read_word(s, day_names[i]) : strncasecmp(*s, day_names[i], 3) == 0) {
            if (!full)
                *s += 3;
            return true;
        }
    }
    return false;
}

static bool read_month(const char **s, unsigned *m)
{
    for (unsigned i = 0; i < 12; i++) {
        if (read_word(s, month_names[i])) {
            *m = i + 1;
            return true;
        }
    }
    return false;
}

static bool read_time(const char **s, unsigned *h, unsigned *mi, unsigned *sec)
{
    return read_num(s, 2, h) && read_char(s, ':') && read_num(s, 2, mi) && read_char(s, ':') &&
           read_num(s, 2, sec) && *h <= 23 && *mi <= 59 && *sec <= 60;
}

/* Parses one of the three HTTP-date forms at *s into seconds since the epoch. */
static bool parse_http_date(const char **s, long long *epoch)
{
    const char *p = *s, *mark = *s;
    unsigned day = 0, mon = 0, year = 0, h = 0, mi = 0, sec = 0;
    bool ok;

    if (read_day_name(&p, true) && read_char(&p, ',')) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        unsigned yy = 0;
        ok = read_char(&p, ' ') && read_num(&p, 2, &day) && read_char(&p, '-') &&
             read_month(&p, &mon) && read_char(&p, '-') && read_num(&p, 2, &yy) &&
             read_char(&p, ' ') && read_time(&p, &h, &mi, &sec) && read_word(&p, " GMT");
        year = yy < 70 ? 2000 + yy : 1900 + yy;
    } else {
        p = mark;
        if (!read_day_name(&p, false))
            return false;
        if (read_char(&p, ',')) {
            /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            ok = read_char(&p, ' ') && read_num(&p, 2, &day) && read_char(&p, ' ') &&
                 read_month(&p, &mon) && read_char(&p, ' ') && read_num(&p, 4, &year) &&
                 read_char(&p, ' ') && read_time(&p, &h, &mi, &sec) && read_word(&p, " GMT");
        } else {
            /* asctime: Sun Nov  6 08:49:37 1994 */
            ok = read_char(&p, ' ') && read_month(&p, &mon) && read_char(&p, ' ');
            if (ok && *p == ' ')
                p++;
            ok = ok && read_num(&p, 0, &day) && read_char(&p, ' ') &&
                 read_time(&p, &h, &mi, &sec) && read_char(&p, ' ') && read_num(&p, 4, &year);
        }
    }
    if (!ok || day < 1 || day > 31 || year < 1900)
        return false;
    *epoch = days_from_civil(year, mon, day) * 86400LL + h * 3600LL + mi * 60LL + sec;
    *s = p;
    return true;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int retry_after_parse(const char *value, time_t now, long *seconds)
{
    const char *p = value;
    long long v = 0;
    if (!value)
        return ML_EINVAL;
    while (is_blank(*p))
        p++;
    if (*p >= '0' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            if (v < SECONDS_MAX)
                v = v * 10 + (*p - '0');
            p++;
        }
    } else if (parse_http_date(&p, &v)) {
        v -= (long long)now;
        if (v < 0)
            v = 0;
    } else {
        return ML_EINVAL;
    }
    while (is_blank(*p))
        p++;
    if (*p)
        return ML_EINVAL;
    *seconds = v > SECONDS_MAX ? SECONDS_MAX : (long)v;
    return 0;
}

/* ---- randomness and waiting ---- */

uint32_t retry_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (uint32_t)(z >> 32);
}

uint64_t retry_rng_seed(void)
{
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
           ((uint64_t)getpid() << 40);
}

/* lock-free, hence safe to set from a signal handler */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free");
static atomic_int stop_flag;

void retry_request_stop(void)
{
    atomic_store(&stop_flag, 1);
}

bool retry_stop_requested(void)
{
    return atomic_load(&stop_flag) != 0;
}

void retry_clear_stop(void)
{
    atomic_store(&stop_flag, 0);
}

#define SLEEP_SLICE_MS 50u

int retry_sleep_ms(unsigned ms)
{
    for (;;) {
        if (retry_stop_requested())
            return err_set(ML_EIO, "stop requested while waiting to retry");
        if (ms == 0)
            return 0;
        unsigned slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
        struct timespec ts = {0, (long)slice * 1000000L};
        /* nanosleep returns EINTR whenever a handler ran, SA_RESTART or not */
        if (nanosleep(&ts, NULL) != 0) {
            if (errno == EINTR)
                return err_set(ML_EIO, "interrupted by a signal while waiting to retry");
            return err_set(ML_EIO, "waiting %u ms to retry failed: %s", ms, strerror(errno));
        }
        ms -= slice;
    }
}
