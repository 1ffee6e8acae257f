/* test_partition.c - unit tests of the partition calendar (partition.h) and
 * the clock's test hook (wallclock.h): periods and their names across month,
 * year and leap-day ends; the partitions a new table gets (p_past from the
 * period of now - retention, the current one, `ahead` more, p_future); the
 * civil-date arithmetic both ways; MASKLOAD_TEST_NOW read and refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ddlgen.h"
#include "convert.h"
#include "error.h"
#include "partition.h"
#include "streamdef.h"
#include "wallclock.h"
#include "banned.h"

static partition_day day(int y, int m, int d)
{
    return convert_days_from_civil(y, m, d);
}

static void test_civil_days(void **state)
{
    (void)state;
    assert_int_equal(day(1970, 1, 1), 0);
    assert_int_equal(day(2000, 3, 1), 11017);
    assert_int_equal(day(2024, 2, 29) + 1, day(2024, 3, 1));
    assert_int_equal(day(2023, 2, 28) + 1, day(2023, 3, 1));
    assert_int_equal(day(1900, 3, 1) - day(1900, 2, 28), 1); /* 1900 is no leap year */
    /* every day from 1960 to 2100 back and forth */
    for (long long n = day(1960, 1, 1); n < day(2100, 1, 1); n++) {
        int y, m, d;
        convert_civil_from_days(n, &y, &m, &d);
        assert_int_equal(day(y, m, d), n);
        assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    }
}

static void test_periods(void **state)
{
    (void)state;
    char name[65], text[11];
    assert_int_equal(partition_floor(PARTITION_MONTH, day(2025, 3, 15)), day(2025, 3, 1));
    assert_int_equal(partition_floor(PARTITION_MONTH, day(2025, 3, 1)), day(2025, 3, 1));
    assert_int_equal(partition_floor(PARTITION_DAY, day(2025, 3, 15)), day(2025, 3, 15));
    assert_int_equal(partition_next(PARTITION_MONTH, day(2024, 12, 1)), day(2025, 1, 1));
    assert_int_equal(partition_next(PARTITION_MONTH, day(2024, 1, 1)), day(2024, 2, 1));
    assert_int_equal(partition_next(PARTITION_DAY, day(2024, 2, 28)), day(2024, 2, 29));
    assert_int_equal(partition_next(PARTITION_DAY, day(2024, 12, 31)), day(2025, 1, 1));
    partition_name(PARTITION_MONTH, day(2025, 3, 1), name);
    assert_string_equal(name, "p202503");
    partition_name(PARTITION_DAY, day(2024, 2, 29), name);
    assert_string_equal(name, "p20240229");
    partition_day_text(day(2024, 2, 9), text);
    assert_string_equal(text, "2024-02-09");
}

static void test_initial_month(void **state)
{
    (void)state;
    const struct partition_def pd = {
        .column = "created_at", .by = PARTITION_MONTH, .ahead = 3, .retention_days = 400};
    struct ddlgen_partition *p = NULL;
    size_t n = 0;
    time_t now = (time_t)(day(2025, 3, 15) * 86400); /* now - 400d = 2024-02-09 */
    assert_int_equal(partition_initial(&pd, now, &p, &n), 0);
    assert_int_equal(n, 19); /* p_past, 2024-02 .. 2025-06, p_future */
    assert_string_equal(p[0].name, "p_past");
    assert_string_equal(p[0].bound, "2024-02-01");
    assert_string_equal(p[1].name, "p202402");
    assert_string_equal(p[1].bound, "2024-03-01");
    assert_string_equal(p[14].name, "p202503");
    assert_string_equal(p[17].name, "p202506");
    assert_string_equal(p[17].bound, "2025-07-01");
    assert_string_equal(p[18].name, "p_future");
    assert_string_equal(p[18].bound, "");
    free(p);
}

static void test_initial_day_no_retention(void **state)
{
    (void)state;
    const struct partition_def pd = {.column = "d", .by = PARTITION_DAY, .ahead = 1};
    struct ddlgen_partition *p = NULL;
    size_t n = 0;
    time_t now = (time_t)(day(2024, 12, 31) * 86400 + 86399);
    assert_int_equal(partition_initial(&pd, now, &p, &n), 0);
    assert_int_equal(n, 4); /* p_past, today, tomorrow, p_future */
    assert_string_equal(p[0].bound, "2024-12-31");
    assert_string_equal(p[1].name, "p20241231");
    assert_string_equal(p[2].name, "p20250101");
    assert_string_equal(p[2].bound, "2025-01-02");
    assert_string_equal(p[3].name, "p_future");
    free(p);
}

static void test_clock_hook(void **state)
{
    (void)state;
    time_t t = 0;
    setenv("MASKLOAD_TEST_NOW", "2025-03-15T06:07:08Z", 1);
    assert_int_equal(wallclock_now(&t), 0);
    assert_int_equal((long long)t, day(2025, 3, 15) * 86400 + 6 * 3600 + 7 * 60 + 8);
    static const char *const bad[] = {"yesterday",
                                      "2025-03-15",
                                      "2025-03-15T00:00:00",
                                      "2025-02-30T00:00:00Z",
                                      "2025-13-01T00:00:00Z",
                                      "2025-03-15T24:00:00Z",
                                      "2025-03-15T00:00:00Zx",
                                      "1969-12-31T23:59:59Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("MASKLOAD_TEST_NOW", bad[i], 1);
        assert_int_equal(wallclock_now(&t), ML_ECONFIG);
        assert_non_null(strstr(err_msg(), "MASKLOAD_TEST_NOW"));
    }
    unsetenv("MASKLOAD_TEST_NOW");
    time_t before = time(NULL);
    assert_int_equal(wallclock_now(&t), 0);
    assert_true(t >= before && t <= time(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_days),    cmocka_unit_test(test_periods),
        cmocka_unit_test(test_initial_month), cmocka_unit_test(test_initial_day_no_retention),
        cmocka_unit_test(test_clock_hook),
    };
    return cmocka_run_group_tests_name("partition", tests, NULL, NULL);
}
