/* test_rowdiff.c - unit tests of rowdiff_text, a batch value as each
 * server prints it back: integers in decimal on both; MySQL's text as it
 * is (NUL bytes included); PostgreSQL's booleans as t/f, timestamps with
 * the trailing zeros of their milliseconds dropped (the point too when
 * none is left), a digest as \x hex, and no printed form (NULL: never
 * equal) for a text holding a NUL byte or a bytea too long for the room.
 * That the forms are the servers' own is in test_52_rerun_nowrite of both
 * warehouses: every row of a rerun compares equal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "rowdiff.h"
#include "banned.h"

static struct cell int_cell(long long i)
{
    struct cell c = {CELL_INT, i, 0, 0};
    return c;
}

static struct cell text_cell(size_t len)
{
    struct cell c = {CELL_TEXT, 0, 0, len};
    return c;
}

/* the printed form of `c` (text: s), as a NUL-terminated string in out;
 * false for none */
static bool printed(enum db_dialect d, enum col_type type, struct cell c, const char *s,
                    char out[ROWDIFF_TEXT_MAX + 1])
{
    char tmp[ROWDIFF_TEXT_MAX];
    size_t len = 99;
    const char *p = rowdiff_text(d, type, &c, s, tmp, &len);
    if (!p) {
        assert_int_equal(len, 0);
        return false;
    }
    assert_true(len <= ROWDIFF_TEXT_MAX);
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

static void test_integers(void **state)
{
    char out[ROWDIFF_TEXT_MAX + 1];
    (void)state;
    assert_true(
        printed(DB_DIALECT_MARIADB, COL_BIGINT, int_cell(-9223372036854775807LL - 1), NULL, out));
    assert_string_equal(out, "-9223372036854775808");
    assert_true(printed(DB_DIALECT_POSTGRES, COL_SURROGATE, int_cell(42), NULL, out));
    assert_string_equal(out, "42");
    /* a boolean: MySQL's TINYINT(1) prints 1/0, PostgreSQL's boolean t/f */
    assert_true(printed(DB_DIALECT_MARIADB, COL_BOOL, int_cell(1), NULL, out));
    assert_string_equal(out, "1");
    assert_true(printed(DB_DIALECT_POSTGRES, COL_BOOL, int_cell(1), NULL, out));
    assert_string_equal(out, "t");
    assert_true(printed(DB_DIALECT_POSTGRES, COL_BOOL, int_cell(0), NULL, out));
    assert_string_equal(out, "f");
    /* NULL and a pending surrogate have none */
    assert_false(
        printed(DB_DIALECT_POSTGRES, COL_BIGINT, (struct cell){CELL_NULL, 0, 0, 0}, NULL, out));
    assert_false(printed(DB_DIALECT_MARIADB, COL_SURROGATE, (struct cell){CELL_PENDING, 0, 0, 3},
                         "abc", out));
}

static void test_timestamps(void **state)
{
    char out[ROWDIFF_TEXT_MAX + 1];
    const char *ts[][2] = {
        {"2024-05-06 07:08:09.000", "2024-05-06 07:08:09"},
        {"2024-05-06 07:08:09.500", "2024-05-06 07:08:09.5"},
        {"2024-05-06 07:08:09.120", "2024-05-06 07:08:09.12"},
        {"2024-05-06 07:08:09.123", "2024-05-06 07:08:09.123"},
        {"2024-05-06 07:08:09.001", "2024-05-06 07:08:09.001"},
        {"2024-05-06 00:00:00.000", "2024-05-06 00:00:00"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        assert_true(
            printed(DB_DIALECT_POSTGRES, COL_DATETIME, text_cell(strlen(ts[i][0])), ts[i][0], out));
        assert_string_equal(out, ts[i][1]);
        assert_true(
            printed(DB_DIALECT_POSTGRES, COL_EPOCH_MS, text_cell(strlen(ts[i][0])), ts[i][0], out));
        assert_string_equal(out, ts[i][1]);
        /* MySQL's DATETIME(3) prints all three digits */
        assert_true(
            printed(DB_DIALECT_MARIADB, COL_DATETIME, text_cell(strlen(ts[i][0])), ts[i][0], out));
        assert_string_equal(out, ts[i][0]);
    }
    /* another form is left as it is; a date is not a timestamp */
    assert_true(
        printed(DB_DIALECT_POSTGRES, COL_DATETIME, text_cell(19), "2024-05-06 07:08:09", out));
    assert_string_equal(out, "2024-05-06 07:08:09");
    assert_true(printed(DB_DIALECT_POSTGRES, COL_DATE, text_cell(10), "2024-05-06", out));
    assert_string_equal(out, "2024-05-06");
    /* decimals: both servers print the column's scale, as the batch has it */
    assert_true(printed(DB_DIALECT_POSTGRES, COL_DECIMAL, text_cell(4), "1.50", out));
    assert_string_equal(out, "1.50");
}

static void test_text_and_bytes(void **state)
{
    char out[ROWDIFF_TEXT_MAX + 1];
    const char nul[] = "a\0b";
    const unsigned char digest[32] = {0x00, 0x01, 0xab, 0xff, [31] = 0x7f};
    char hex[ROWDIFF_TEXT_MAX + 1] = "\\x0001abff";
    size_t h = strlen(hex);
    char tmp[ROWDIFF_TEXT_MAX];
    size_t len = 0;
    struct cell c = text_cell(3);
    (void)state;
    for (size_t i = 4; i < 31; i++, h += 2)
        memcpy(hex + h, "00", 3);
    memcpy(hex + h, "7f", 3);
    /* text as it is; a NUL byte is kept by MySQL, becomes U+FFFD in
     * PostgreSQL: never equal there */
    assert_ptr_equal(rowdiff_text(DB_DIALECT_MARIADB, COL_TEXT, &c, nul, tmp, &len), nul);
    assert_int_equal(len, 3);
    assert_false(printed(DB_DIALECT_POSTGRES, COL_TEXT, c, nul, out));
    assert_true(printed(DB_DIALECT_POSTGRES, COL_TEXT, text_cell(2), "ab", out));
    assert_string_equal(out, "ab");
    /* a digest: MySQL's BINARY(32) bytes as they are, PostgreSQL's bytea in hex */
    c = text_cell(sizeof(digest));
    assert_ptr_equal(
        rowdiff_text(DB_DIALECT_MARIADB, COL_DIGEST, &c, (const char *)digest, tmp, &len),
        (const char *)digest);
    assert_true(printed(DB_DIALECT_POSTGRES, COL_DIGEST, c, (const char *)digest, out));
    assert_string_equal(out, hex);
    /* must fail: a bytea longer than the room has no printed form */
    c = text_cell((ROWDIFF_TEXT_MAX - 2) / 2 + 1);
    assert_false(printed(DB_DIALECT_POSTGRES, COL_DIGEST, c,
                         "0123456789012345678901234567890123456789", out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_text_and_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
