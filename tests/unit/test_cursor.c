/* test_cursor.c - unit tests of incremental cursor values: durations (with
 * must-fail spellings), canonical values per kind, ordering, and the query
 * parameter of cursor minus lookback across day, month, year and leap-day
 * boundaries, before 1970, and out of range; a stream run's cursor
 * (cursor_run): unsorted sources store it only with the last batch (or
 * alone when that batch was empty), sorted ones with every batch; it never
 * goes backwards; a replayed transaction stores the same value; --full
 * stores an equal value; rows without a value are counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "batch.h"
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

static const struct column_def item_cols[] = {
    {.name = "id", .type = COL_BIGINT, .required = true},
    {.name = "at", .type = COL_DATETIME},
};
static const struct table_def items = {.name = "items", .cols = item_cols, .ncols = 2, .nkey = 1};
static const struct stream_def items_def = {.name = "items", .table = &items};

/* a batch of rows whose cursor column holds vals (NULL: no value) */
static struct batch *batch_of(const char *const *vals, size_t n)
{
    struct batch *b = batch_new(&items_def);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        size_t row;
        assert_int_equal(0, batch_add_row(b, BATCH_MAIN, &row));
        struct table_rows *t = batch_rows(b, BATCH_MAIN);
        struct cell *id = batch_cell(t, row, 0);
        id->kind = CELL_INT;
        id->i = (long long)i + 1;
        if (vals[i])
            assert_int_equal(
                0, batch_put_text(b, batch_cell(t, row, 1), CELL_TEXT, vals[i], strlen(vals[i])));
    }
    return b;
}

#define T6 "2024-01-01 06:00:00.000"
#define T7 "2024-01-01 07:00:00.000"
#define T8 "2024-01-01 08:00:00.000"
#define T9 "2024-01-01 09:00:00.000"

static void test_run_unsorted(void **state)
{
    (void)state;
    struct cursor_run cr;
    const char *store = "x";
    const char *v1[] = {T8, T7}, *v2[] = {"2024-01-01 05:00:00.000", NULL}, *v3[] = {T9};
    struct batch *b1 = batch_of(v1, 2), *b2 = batch_of(v2, 2), *b3 = batch_of(v3, 1);
    cursor_run_start(&cr, CURSOR_DATETIME, false, T6, false);
    cursor_run_batch(&cr, b1, 1, false, &store);
    assert_null(store);                          /* a later page may hold smaller values */
    cursor_run_batch(&cr, b1, 1, false, &store); /* a replay asks again: the same */
    assert_null(store);
    cursor_run_committed(&cr);
    assert_string_equal(cr.seen, T8);
    assert_string_equal(cursor_run_unstored(&cr), T8);
    cursor_run_batch(&cr, b2, 1, false, &store);
    assert_null(store);
    cursor_run_committed(&cr);
    assert_string_equal(cr.seen, T8); /* never backwards */
    cursor_run_batch(&cr, b3, 1, true, &store);
    assert_non_null(store);
    assert_string_equal(store, T9);
    cursor_run_committed(&cr);
    assert_null(cursor_run_unstored(&cr));
    assert_string_equal(cr.written, T9);
    assert_int_equal(1, cr.without);
    batch_free(b1);
    batch_free(b2);
    batch_free(b3);
}

static void test_run_sorted(void **state)
{
    (void)state;
    struct cursor_run cr;
    const char *store = NULL;
    const char *v1[] = {T7, T8}, *v2[] = {T7}, *v3[] = {T6};
    struct batch *b1 = batch_of(v1, 2), *b2 = batch_of(v2, 1), *b3 = batch_of(v3, 1);
    cursor_run_start(&cr, CURSOR_DATETIME, true, NULL, false);
    assert_null(cursor_run_unstored(&cr)); /* nothing seen, nothing to store */
    cursor_run_batch(&cr, b1, 1, false, &store);
    assert_non_null(store);
    assert_string_equal(store, T8);
    cursor_run_committed(&cr);
    /* an older batch stores nothing: the stored value stays */
    cursor_run_batch(&cr, b2, 1, false, &store);
    assert_null(store);
    cursor_run_committed(&cr);
    assert_string_equal(cr.written, T8);
    /* not committed (rolled back): the state is unchanged */
    cursor_run_batch(&cr, b3, 1, true, &store);
    assert_null(store);
    assert_string_equal(cr.seen, T8);
    batch_free(b1);
    batch_free(b2);
    batch_free(b3);
}

static void test_run_full(void **state)
{
    (void)state;
    struct cursor_run cr;
    const char *store = NULL;
    const char *v1[] = {T8};
    struct batch *b1 = batch_of(v1, 1);
    /* --full stores what it reached even when equal to the stored value */
    cursor_run_start(&cr, CURSOR_DATETIME, false, T8, true);
    cursor_run_batch(&cr, b1, 1, true, &store);
    assert_non_null(store);
    assert_string_equal(store, T8);
    /* without --full the same value is not stored again */
    cursor_run_start(&cr, CURSOR_DATETIME, false, T8, false);
    cursor_run_batch(&cr, b1, 1, true, &store);
    assert_null(store);
    assert_null(cursor_run_unstored(&cr));
    batch_free(b1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),  cmocka_unit_test(test_values),
        cmocka_unit_test(test_params),     cmocka_unit_test(test_run_unsorted),
        cmocka_unit_test(test_run_sorted), cmocka_unit_test(test_run_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
