/* test_cursor.c - unit tests of incremental cursor values: durations (with
 * must-fail spellings), canonical values per kind, ordering, and the query
 * parameter of cursor minus lookback across day, month, year and leap-day
 * boundaries, before 1970, and out of range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "cursor.h"
#include "error.h"
#include "banned.h"

static void test_durations(void **state)
{
    (void)state;
    long long s = -1;
    assert_int_equal(0, cursor_parse_duration("30s", &s));
    assert_int_equal(30, s);
    assert_int_equal(0, cursor_parse_duration("15m", &s));
    assert_int_equal(900, s);
    assert_int_equal(0, cursor_parse_duration("1h", &s));
    assert_int_equal(3600, s);
    assert_int_equal(0, cursor_parse_duration("2d", &s));
    assert_int_equal(172800, s);
    assert_int_equal(0, cursor_parse_duration("0s", &s));
    assert_int_equal(0, s);
    assert_int_equal(0, cursor_parse_duration("3650d", &s));
    static const char *const bad[] = {
        "",  "h", "1", "1H", "1 h", "-1h", "1.5h", "1hour", "1h ", "3651d", "99999999999999999999s",
        "1w"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = 7;
        assert_int_equal(ML_EINVAL, cursor_parse_duration(bad[i], &s));
        assert_int_equal(7, s); /* untouched */
    }
}

static void test_values(void **state)
{
    (void)state;
    assert_true(cursor_value_ok(CURSOR_DATETIME, "2024-01-02 03:04:05.678"));
    assert_true(cursor_value_ok(CURSOR_EPOCH_MS, "1970-01-01 00:00:00.000"));
    assert_false(cursor_value_ok(CURSOR_DATETIME, "2024-01-02T03:04:05.678"));
    assert_false(cursor_value_ok(CURSOR_DATETIME, "2024-01-02 03:04:05"));
    assert_false(cursor_value_ok(CURSOR_DATETIME, "2024-13-02 03:04:05.000"));
    assert_false(cursor_value_ok(CURSOR_DATETIME, ""));
    assert_true(cursor_value_ok(CURSOR_INTEGER, "-12"));
    assert_true(cursor_value_ok(CURSOR_INTEGER, "1700000000"));
    assert_false(cursor_value_ok(CURSOR_INTEGER, "12a"));
    assert_false(cursor_value_ok(CURSOR_INTEGER, ""));
    assert_false(cursor_value_ok(CURSOR_INTEGER, "+1"));
    assert_true(cursor_cmp(CURSOR_INTEGER, "9", "10") < 0); /* as numbers, not text */
    assert_true(cursor_cmp(CURSOR_INTEGER, "-5", "-10") > 0);
    assert_int_equal(0, cursor_cmp(CURSOR_INTEGER, "42", "42"));
    assert_true(cursor_cmp(CURSOR_DATETIME, "2024-01-02 03:04:05.678", "2024-01-02 03:04:05.679") <
                0);
    assert_true(cursor_cmp(CURSOR_DATETIME, "2025-01-01 00:00:00.000", "2024-12-31 23:59:59.999") >
                0);
}

static void expect_param(enum cursor_kind k, const char *stored, long long lookback,
                         const char *want)
{
    char out[CURSOR_TEXT_MAX];
    assert_int_equal(0, cursor_param(k, stored, lookback, out));
    assert_string_equal(want, out);
}

static void test_params(void **state)
{
    (void)state;
    expect_param(CURSOR_DATETIME, "2024-01-01 09:00:00.000", 3600, "2024-01-01T08:00:00.000Z");
    expect_param(CURSOR_DATETIME, "2024-01-02 03:04:05.678", 0, "2024-01-02T03:04:05.678Z");
    expect_param(CURSOR_DATETIME, "2024-03-01 00:30:00.001", 3600, "2024-02-29T23:30:00.001Z");
    expect_param(CURSOR_DATETIME, "2024-01-01 00:00:00.000", 1, "2023-12-31T23:59:59.000Z");
    expect_param(CURSOR_DATETIME, "2023-03-01 00:00:00.000", 86400, "2023-02-28T00:00:00.000Z");
    expect_param(CURSOR_DATETIME, "1970-01-01 00:00:00.000", 86400, "1969-12-31T00:00:00.000Z");
    expect_param(CURSOR_EPOCH_MS, "1970-01-01 00:00:01.500", 1, "500");
    expect_param(CURSOR_EPOCH_MS, "2024-01-01 00:00:00.000", 0, "1704067200000");
    expect_param(CURSOR_EPOCH_MS, "1970-01-01 00:00:00.000", 60, "-60000");
    expect_param(CURSOR_INTEGER, "1704067200", 3600, "1704063600");
    expect_param(CURSOR_INTEGER, "5", 30, "-25");
    char out[CURSOR_TEXT_MAX];
    assert_int_equal(ML_EINVAL, cursor_param(CURSOR_DATETIME, "1000-01-01 00:00:00.000", 1, out));
    assert_int_equal(ML_EINVAL, cursor_param(CURSOR_DATETIME, "garbage", 0, out));
    assert_int_equal(ML_EINVAL, cursor_param(CURSOR_INTEGER, "x", 0, out));
    assert_int_equal(ML_EINVAL, cursor_param(CURSOR_INTEGER, "1", -1, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
