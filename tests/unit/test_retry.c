/* test_retry.c - unit tests of the retry policy: which outcomes and statuses
 * are retried, the retry budget, the jittered exponential backoff (bounds,
 * cap, no overflow, determinism under a fixed seed), Retry-After (clamp,
 * ignored when smaller than the backoff or disabled), Retry-After parsing in
 * its four forms with must-fail cases, and a sleep that a signal or a stop
 * request (from any thread) ends early. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "error.h"
#include "retry.h"
#include "banned.h"

/* Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example date) */
#define EXAMPLE_EPOCH 784111777L

static void test_status_classes(void **state)
{
    (void)state;
    static const long transient[] = {429, 500, 502, 503, 504, 599};
    static const long permanent[] = {0, 200, 204, 301, 304, 400, 401, 403, 404, 408, 410, 600};
    for (size_t i = 0; i < sizeof(transient) / sizeof(*transient); i++) {
        assert_true(retry_status_transient(transient[i]));
        assert_true(retry_transient(RETRY_STATUS, transient[i]));
    }
    for (size_t i = 0; i < sizeof(permanent) / sizeof(*permanent); i++) {
        assert_false(retry_status_transient(permanent[i]));
        assert_false(retry_transient(RETRY_STATUS, permanent[i]));
    }
}

static void test_outcome_classes(void **state)
{
    (void)state;
    assert_true(retry_transient(RETRY_CONNECT, 0));
    assert_true(retry_transient(RETRY_TIMEOUT, 0));
    assert_true(retry_transient(RETRY_NETWORK, 0));
    assert_true(retry_transient(RETRY_TRUNCATED, 200));
    assert_true(retry_transient(RETRY_BAD_BODY, 200));
    assert_false(retry_transient(RETRY_OK, 200));
    assert_false(retry_transient(RETRY_PERMANENT, 0));
    /* the status only matters for RETRY_STATUS */
    assert_false(retry_transient(RETRY_PERMANENT, 503));
    assert_string_equal(retry_outcome_name(RETRY_TRUNCATED), "truncated body");
    assert_string_equal(retry_outcome_name((enum retry_outcome)99), "unknown");
}

static void test_budget(void **state)
{
    (void)state;
    struct retry_policy p = {2, 10, 100, 5};
    assert_true(retry_should(&p, 1, RETRY_TIMEOUT, 0));
    assert_true(retry_should(&p, 2, RETRY_STATUS, 503));
    assert_false(retry_should(&p, 3, RETRY_STATUS, 503)); /* 1 attempt + 2 retries used */
    assert_false(retry_should(&p, 1, RETRY_STATUS, 404));
    assert_false(retry_should(&p, 1, RETRY_PERMANENT, 0));
    assert_false(retry_should(&p, 1, RETRY_OK, 200));
    p.retries = 0;
    assert_false(retry_should(&p, 1, RETRY_TIMEOUT, 0));
}

static void test_backoff(void **state)
{
    (void)state;
    struct retry_policy p = {5, 100, 1000, 0};
    /* d = 100, 200, 400, 800, 1000, 1000...; result in [d/2, d] */
    assert_int_equal(retry_backoff_ms(&p, 1, 0), 50);
    assert_int_equal(retry_backoff_ms(&p, 1, 50), 100);
    assert_int_equal(retry_backoff_ms(&p, 1, 51), 50); /* wraps: span is 51 values */
    assert_int_equal(retry_backoff_ms(&p, 2, 0), 100);
    assert_int_equal(retry_backoff_ms(&p, 2, 100), 200);
    assert_int_equal(retry_backoff_ms(&p, 3, 0), 200);
    assert_int_equal(retry_backoff_ms(&p, 4, 400), 800);
    assert_int_equal(retry_backoff_ms(&p, 5, 0), 500);
    assert_int_equal(retry_backoff_ms(&p, 5, 500), 1000);
    assert_int_equal(retry_backoff_ms(&p, 6, 500), 1000);
    assert_int_equal(retry_backoff_ms(&p, UINT_MAX, 500), 1000);
    /* attempt 0 is treated like the first */
    assert_int_equal(retry_backoff_ms(&p, 0, 0), 50);

    /* a huge cap: doubling stops at the cap, never overflows */
    p.base_ms = 1000;
    p.max_ms = UINT_MAX;
    unsigned prev = 0;
    for (unsigned a = 1; a < 64; a++) {
        unsigned lo = retry_backoff_ms(&p, a, 0);
        assert_true(lo >= prev);
        prev = lo;
    }
    assert_int_equal(retry_backoff_ms(&p, 200, 0), UINT_MAX / 2);

    /* base 1: the delay is 0 or 1 ms */
    p.base_ms = 1;
    p.max_ms = 1;
    assert_int_equal(retry_backoff_ms(&p, 1, 0), 0);
    assert_int_equal(retry_backoff_ms(&p, 1, 1), 1);
    assert_int_equal(retry_backoff_ms(&p, 9, UINT32_MAX), 1);

    /* an unset policy does not divide by zero */
    struct retry_policy zero = {0, 0, 0, 0};
    assert_true(retry_backoff_ms(&zero, 3, 12345) <= 1);
}

static void test_jitter_bounds_and_seed(void **state)
{
    (void)state;
    struct retry_policy p = {10, 10, 30000, 0};
    uint64_t s1 = 42, s2 = 42, s3 = 43;
    bool spread = false;
    unsigned first = 0;
    for (unsigned i = 0; i < 1000; i++) {
        unsigned a = 1 + i % 12;
        uint32_t r1 = retry_rng_next(&s1), r2 = retry_rng_next(&s2), r3 = retry_rng_next(&s3);
        unsigned d = 10u << (a - 1);
        if (d > 30000)
            d = 30000;
        unsigned v = retry_backoff_ms(&p, a, r1);
        assert_true(v >= d / 2 && v <= d);
        assert_int_equal(r1, r2); /* same seed, same sequence */
        if (a == 12) {
            if (!first)
                first = v;
            else if (v != first)
                spread = true;
        }
        (void)r3;
    }
    assert_true(spread); /* jitter does vary */
    s1 = 42;
    s3 = 43;
    assert_int_not_equal(retry_rng_next(&s1), retry_rng_next(&s3));
    assert_int_not_equal(retry_rng_seed(), 0);
}

static void test_retry_after_delay(void **state)
{
    (void)state;
    struct retry_policy p = {3, 10, 100, 5};
    /* the server's wait wins over a shorter backoff */
    assert_int_equal(retry_delay_ms(&p, 1, 1, 0), 1000);
    /* clamped to retry_after_max */
    assert_int_equal(retry_delay_ms(&p, 1, 3600, 0), 5000);
    assert_int_equal(retry_delay_ms(&p, 1, LONG_MAX, 0), 5000);
    /* absent, zero: the backoff */
    assert_int_equal(retry_delay_ms(&p, 1, -1, 0), 5);
    assert_int_equal(retry_delay_ms(&p, 1, 0, 0), 5);
    /* a backoff longer than Retry-After is kept */
    p.base_ms = 4000;
    p.max_ms = 8000;
    assert_int_equal(retry_delay_ms(&p, 2, 1, 0), 4000);
    /* retry_after_max 0: Retry-After ignored */
    p.base_ms = 10;
    p.max_ms = 100;
    p.retry_after_max_s = 0;
    assert_int_equal(retry_delay_ms(&p, 1, 30, 0), 5);
}

static void ra_ok(const char *v, time_t now, long want)
{
    long got = -7;
    int rc = retry_after_parse(v, now, &got);
    if (rc != 0 || got != want)
        fail_msg("retry_after_parse('%s') = %d, %ld; want 0, %ld", v, rc, got, want);
}

static void ra_bad(const char *v)
{
    long got = -7;
    int rc = retry_after_parse(v, EXAMPLE_EPOCH, &got);
    if (rc != ML_EINVAL || got != -7)
        fail_msg("retry_after_parse('%s') = %d, %ld; want ML_EINVAL, untouched", v, rc, got);
}

static void test_retry_after_parse(void **state)
{
    (void)state;
    ra_ok("120", 0, 120);
    ra_ok("0", 0, 0);
    ra_ok(" \t7 ", 0, 7);
    ra_ok("99999999999999999999999", 0, 2147483647L);
    /* the three HTTP-date forms, 10 s ahead of now */
    ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_EPOCH - 10, 10);
    ra_ok("Sunday, 06-Nov-94 08:49:37 GMT", EXAMPLE_EPOCH - 10, 10);
    ra_ok("Sun Nov  6 08:49:37 1994", EXAMPLE_EPOCH - 10, 10);
    ra_ok("sun, 06 nov 1994 08:49:37 gmt", EXAMPLE_EPOCH - 10, 10);
    /* a date in the past: no wait */
    ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE_EPOCH + 3600, 0);
    /* calendar: leap day, year boundary, two-digit years after 2000 */
    ra_ok("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800L - 1, 1);
    ra_ok("Fri, 01 Jan 2100 00:00:00 GMT", 4102444800L - 2, 2);
    ra_ok("Wednesday, 31-Dec-25 23:59:59 GMT", 1767225599L, 0);
    ra_ok("Thu Jan  1 00:00:05 1970", 0, 5);
    ra_ok("Mon Nov 16 08:49:37 1994", EXAMPLE_EPOCH, 10 * 86400L);

    ra_bad(NULL);
    ra_bad("");
    ra_bad("   ");
    ra_bad("-1");
    ra_bad("+5");
    ra_bad("1.5");
    ra_bad("5s");
    ra_bad("soon");
    ra_bad("Sun, 06 Foo 1994 08:49:37 GMT");   /* month */
    ra_bad("Sun, 06 Nov 1994 08:49:37");       /* zone */
    ra_bad("Sun, 06 Nov 1994 08:49:37 UTC");   /* zone */
    ra_bad("Sun, 06 Nov 1994 24:00:00 GMT");   /* hour */
    ra_bad("Sun, 06 Nov 1994 08:60:00 GMT");   /* minute */
    ra_bad("Sun, 32 Nov 1994 08:49:37 GMT");   /* day */
    ra_bad("Sun, 00 Nov 1994 08:49:37 GMT");   /* day */
    ra_bad("Sun, 6 Nov 1994 08:49:37 GMT");    /* IMF wants two digits */
    ra_bad("Sun, 06 Nov 94 08:49:37 GMT");     /* IMF wants four */
    ra_bad("Sun, 06 Nov 1994 08:49:37 GMT x"); /* trailing text */
    ra_bad("Xyz, 06 Nov 1994 08:49:37 GMT");   /* day name */
    ra_bad("Sunday, 06 Nov 1994 08:49:37 GMT");
    ra_bad("Sun Nov  6 08:49:37");           /* asctime without year */
    ra_bad("Sun, 06 Nov 1800 08:49:37 GMT"); /* before 1900 */
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_sleep(void **state)
{
    (void)state;
    assert_int_equal(retry_sleep_ms(0), 0);
    assert_int_equal(retry_sleep_ms(2), 0);

    /* a handler running during the wait ends it with ML_EIO; the timer
     * repeats, so a tick lost before the sleep starts cannot hang the test */
    struct sigaction sa, old;
    struct itimerval tick = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
    assert_int_equal(setitimer(ITIMER_REAL, &tick, NULL), 0);
    err_clear();
    int rc = retry_sleep_ms(600000);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    assert_int_equal(rc, ML_EIO);
    assert_true(alarms > 0);
    assert_non_null(strstr(err_msg(), "interrupted by a signal"));
}

static void *request_stop_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20000000L};
    nanosleep(&ts, NULL);
    retry_request_stop();
    return NULL;
}

static void test_stop_request(void **state)
{
    (void)state;
    retry_clear_stop();
    assert_false(retry_stop_requested());
    retry_request_stop();
    assert_true(retry_stop_requested());
    err_clear();
    assert_int_equal(retry_sleep_ms(600000), ML_EIO);
    assert_non_null(strstr(err_msg(), "stop requested"));
    assert_int_equal(retry_sleep_ms(0), ML_EIO); /* even a zero wait gives up */
    retry_clear_stop();
    assert_int_equal(retry_sleep_ms(1), 0);

    /* requested from another thread while this one sleeps (no signal
     * reaches the sleeper): the sleep ends early with ML_EIO, where a
     * sleep that ignored the flag would return 0 after 5 s */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, request_stop_later, NULL), 0);
    int rc = retry_sleep_ms(5000);
    pthread_join(t, NULL);
    retry_clear_stop();
    assert_int_equal(rc, ML_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_classes),
        cmocka_unit_test(test_outcome_classes),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_jitter_bounds_and_seed),
        cmocka_unit_test(test_retry_after_delay),
        cmocka_unit_test(test_retry_after_parse),
        cmocka_unit_test(test_sleep),
        cmocka_unit_test(test_stop_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
