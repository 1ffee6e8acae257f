/* test_convert.c - unit tests of the convert module: ISO 8601 timestamps,
 * dates and years (zone offsets across day/month/year boundaries, leap days,
 * strict rejection of anything else), decimals (exact, never rounded: a
 * digit past the scale rejects; no negative zero, integer-digit overflow),
 * int64 and UTF-8
 * validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "banned.h"

/* ---- helpers ---- */

static void ts_ok(const char *in, const char *want)
{
    char out[CONVERT_DATETIME_LEN];
    memset(out, 'x', sizeof(out));
    err_clear();
    int rc = convert_timestamp(in, out);
    if (rc != 0)
        fail_msg("convert_timestamp('%s') failed: %d %s", in, rc, err_msg());
    if (strcmp(out, want) != 0)
        fail_msg("convert_timestamp('%s') = '%s', want '%s'", in, out, want);
}

static void ts_bad(const char *in)
{
    char out[CONVERT_DATETIME_LEN] = "";
    err_clear();
    int rc = convert_timestamp(in, out);
    if (rc != ML_ERECORD)
        fail_msg("convert_timestamp('%s') = %d ('%s'), want ML_ERECORD", in, rc, out);
    assert_true(err_msg()[0] != '\0');
}

static void date_ok(const char *in, const char *want)
{
    char out[CONVERT_DATE_LEN];
    memset(out, 'x', sizeof(out));
    int rc = convert_date(in, out);
    if (rc != 0)
        fail_msg("convert_date('%s') failed: %d %s", in, rc, err_msg());
    if (strcmp(out, want) != 0)
        fail_msg("convert_date('%s') = '%s', want '%s'", in, out, want);
}

static void dec_ok(const char *in, unsigned idig, unsigned scale, const char *want)
{
    char out[CONVERT_DECIMAL_LEN];
    memset(out, 'x', sizeof(out));
    int rc = convert_decimal(in, idig, scale, out);
    if (rc != 0)
        fail_msg("convert_decimal('%s', %u, %u) failed: %d %s", in, idig, scale, rc, err_msg());
    if (strcmp(out, want) != 0)
        fail_msg("convert_decimal('%s', %u, %u) = '%s', want '%s'", in, idig, scale, out, want);
}

static void dec_bad(const char *in, unsigned idig, unsigned scale)
{
    char out[CONVERT_DECIMAL_LEN] = "";
    err_clear();
    int rc = convert_decimal(in, idig, scale, out);
    if (rc != ML_ERECORD)
        fail_msg("convert_decimal('%s', %u, %u) = %d ('%s'), want ML_ERECORD", in, idig, scale, rc,
                 out);
    assert_true(err_msg()[0] != '\0');
}

static void int_ok(const char *in, long long want)
{
    long long v = 12345;
    int rc = convert_int64(in, &v);
    if (rc != 0)
        fail_msg("convert_int64('%s') failed: %d %s", in, rc, err_msg());
    if (v != want)
        fail_msg("convert_int64('%s') = %lld, want %lld", in, v, want);
}

static void int_bad(const char *in)
{
    long long v = 12345;
    int rc = convert_int64(in, &v);
    if (rc != ML_ERECORD)
        fail_msg("convert_int64('%s') = %d (%lld), want ML_ERECORD", in, rc, v);
    assert_int_equal(v, 12345); /* output untouched on failure */
}

static bool utf8(const char *s, size_t len, size_t *n)
{
    return convert_utf8_valid(s, len, n);
}

/* ---- convert_timestamp ---- */

static void test_ts_utc_z(void **state)
{
    (void)state;
    ts_ok("2021-10-23T07:49:58.213Z", "2021-10-23 07:49:58.213");
    ts_ok("2021-10-23T07:49:58.213z", "2021-10-23 07:49:58.213");
    ts_ok("2021-10-23t07:49:58.213Z", "2021-10-23 07:49:58.213");
    ts_ok("2021-10-23 07:49:58.213Z", "2021-10-23 07:49:58.213");
}

static void test_ts_fraction_digits(void **state)
{
    (void)state;
    ts_ok("2021-10-23T07:49:58.2Z", "2021-10-23 07:49:58.200");
    ts_ok("2021-10-23T07:49:58.21Z", "2021-10-23 07:49:58.210");
    ts_ok("2021-10-23T07:49:58.213Z", "2021-10-23 07:49:58.213");
    /* more than 3 digits: truncated, never rounded (.9999 must not become 59.000+1) */
    ts_ok("2021-10-23T07:49:58.2139Z", "2021-10-23 07:49:58.213");
    ts_ok("2021-10-23T07:49:58.21399Z", "2021-10-23 07:49:58.213");
    ts_ok("2021-10-23T07:49:58.213999Z", "2021-10-23 07:49:58.213");
    ts_ok("2021-12-31T23:59:59.999999Z", "2021-12-31 23:59:59.999");
    ts_ok("2021-10-23T07:49:58,5Z", "2021-10-23 07:49:58.500");
    ts_bad("2021-10-23T07:49:58.Z");
    ts_bad("2021-10-23T07:49:58.");
}

static void test_ts_no_fraction_no_seconds_no_zone(void **state)
{
    (void)state;
    ts_ok("2021-10-23T07:49:58Z", "2021-10-23 07:49:58.000");
    ts_ok("2021-10-23T07:49Z", "2021-10-23 07:49:00.000");
    ts_ok("2021-10-23T07:49", "2021-10-23 07:49:00.000");      /* no zone = UTC */
    ts_ok("2021-10-23T07:49:58.5", "2021-10-23 07:49:58.500"); /* no zone = UTC */
    ts_ok("2021-10-23", "2021-10-23 00:00:00.000");
    ts_ok("2021-10-23T07:49:58+00:00", "2021-10-23 07:49:58.000");
    ts_ok("2021-10-23T07:49:58-00:00", "2021-10-23 07:49:58.000");
}

static void test_ts_positive_offset(void **state)
{
    (void)state;
    ts_ok("2021-10-23T09:49:58.213+02:00", "2021-10-23 07:49:58.213");
    /* across midnight, month end and year end at once */
    ts_ok("2021-01-01T01:30:00.125+02:00", "2020-12-31 23:30:00.125");
    ts_ok("2021-03-01T00:00:00+0100", "2021-02-28 23:00:00.000");
    ts_ok("2024-03-01T00:00:00+0100", "2024-02-29 23:00:00.000"); /* leap year */
    ts_ok("2021-06-15T05:45:00+05:45", "2021-06-15 00:00:00.000");
}

static void test_ts_negative_offset(void **state)
{
    (void)state;
    ts_ok("2021-10-23T07:49:58-0530", "2021-10-23 13:19:58.000");
    ts_ok("2021-12-31T20:00:00.001-0530", "2022-01-01 01:30:00.001"); /* year */
    ts_ok("2021-02-28T20:00:00-05:30", "2021-03-01 01:30:00.000");    /* month, non-leap */
    ts_ok("2024-02-28T22:00:00-03:00", "2024-02-29 01:00:00.000");    /* into a leap day */
    ts_ok("2021-04-30T23:59:59.999-00:01", "2021-05-01 00:00:59.999");
}

static void test_ts_before_1970(void **state)
{
    (void)state;
    /* negative epoch seconds: floor division must still be right */
    ts_ok("1960-01-01T01:00:00+02:00", "1959-12-31 23:00:00.000");
    ts_ok("1969-12-31T23:00:00-02:00", "1970-01-01 01:00:00.000");
    ts_ok("1900-03-01T00:00:00+00:01", "1900-02-28 23:59:00.000"); /* 1900 not leap */
    ts_ok("1000-01-01T00:00:00Z", "1000-01-01 00:00:00.000");
    ts_ok("9999-12-31T23:59:59.999Z", "9999-12-31 23:59:59.999");
}

static void test_ts_leap_day(void **state)
{
    (void)state;
    ts_ok("2024-02-29T12:00:00Z", "2024-02-29 12:00:00.000");
    ts_ok("2000-02-29T12:00:00Z", "2000-02-29 12:00:00.000");
    ts_bad("2023-02-29T12:00:00Z");
    ts_bad("1900-02-29T12:00:00Z");
    ts_bad("2023-02-29");
}

static void test_ts_invalid(void **state)
{
    (void)state;
    ts_bad("not-a-date");
    ts_bad("");
    ts_bad(NULL);
    ts_bad("2021-10-23T07:49:58.213Zjunk"); /* trailing garbage */
    ts_bad("2021-10-23T07:49:58.213Z ");
    ts_bad("2021-10-23x");
    ts_bad("2021-10-23T24:00:00Z"); /* hour 24 */
    ts_bad("2021-10-23T23:60:00Z");
    ts_bad("2021-10-23T23:59:60Z"); /* no leap seconds */
    ts_bad("2021-13-01T00:00:00Z");
    ts_bad("2021-00-01T00:00:00Z");
    ts_bad("2021-04-31T00:00:00Z");
    ts_bad("2021-10-00T00:00:00Z");
    ts_bad("0999-12-31T00:00:00Z"); /* year < 1000 */
    ts_bad("0001-01-01");
    ts_bad("1000-01-01T00:30:00+01:00"); /* UTC result in year 999 */
    ts_bad("2021-1-23T00:00:00Z");
    ts_bad("21-10-23");
    ts_bad("2021");
    ts_bad("2021-10-23T");
    ts_bad("2021-10-23T07");
    ts_bad("2021-10-23T7:49:58Z");
    ts_bad("2021-10-23T07:49:58+2:00");
    ts_bad("2021-10-23T07:49:58+19:00"); /* offset out of range */
    ts_bad("2021-10-23T07:49:58+02:60");
    ts_bad("2021/10/23");
}

/* The zone is "Z|±hh[:]mm": a dangling colon after the hours is malformed. */
static void test_ts_offset_dangling_colon_rejected(void **state)
{
    (void)state;
    ts_bad("2021-10-23T07:49:58+02:");
}

static void test_ts_error_message_has_no_value(void **state)
{
    (void)state;
    char out[CONVERT_DATETIME_LEN];
    assert_int_equal(convert_timestamp("secret-1990-05-17", out), ML_ERECORD);
    assert_null(strstr(err_msg(), "secret"));
}

/* ---- convert_date / convert_year ---- */

static void test_date(void **state)
{
    (void)state;
    date_ok("1990-05-17", "1990-05-17");
    date_ok("1990-05-17T00:00:00.000Z", "1990-05-17");
    date_ok("1990-05-17T23:59:59.999Z", "1990-05-17");
    /* the offset moves the UTC date */
    date_ok("2021-10-23T23:30:00-02:00", "2021-10-24");
    date_ok("2021-01-01T00:30:00+01:00", "2020-12-31");
    date_ok("2024-02-29", "2024-02-29");

    char out[CONVERT_DATE_LEN];
    assert_int_equal(convert_date("2023-02-29", out), ML_ERECORD);
    assert_int_equal(convert_date("not-a-date", out), ML_ERECORD);
    assert_int_equal(convert_date("", out), ML_ERECORD);
    assert_int_equal(convert_date("1990-05-17 trailing", out), ML_ERECORD);
}

static void test_year(void **state)
{
    (void)state;
    int y = 0;
    assert_int_equal(convert_year("1990-05-17T00:00:00.000Z", &y), 0);
    assert_int_equal(y, 1990);
    assert_int_equal(convert_year("1990-05-17", &y), 0);
    assert_int_equal(y, 1990);
    assert_int_equal(convert_year("2021-01-01T00:30:00+01:00", &y), 0);
    assert_int_equal(y, 2020);
    assert_int_equal(convert_year("2020-12-31T20:00:00-05:00", &y), 0);
    assert_int_equal(y, 2021);
    y = 7;
    assert_int_equal(convert_year("1990", &y), ML_ERECORD);
    assert_int_equal(convert_year("0999-01-01", &y), ML_ERECORD);
    assert_int_equal(convert_year("nope", &y), ML_ERECORD);
    assert_int_equal(y, 7);
}

/* ---- convert_decimal ---- */

static void test_decimal_plain(void **state)
{
    (void)state;
    dec_ok("5421.50", 12, 2, "5421.50");
    dec_ok("9.99", 10, 2, "9.99");
    dec_ok("4.5", 10, 2, "4.50");
    dec_ok("42", 12, 2, "42.00");
    dec_ok("0", 12, 2, "0.00");
    dec_ok("0.1", 12, 2, "0.10");
    dec_ok("007.5", 12, 2, "7.50");
    dec_ok("-12.5", 12, 2, "-12.50");
    dec_ok("999999999999.99", 12, 2, "999999999999.99");
    dec_ok("4.500", 10, 2, "4.50"); /* zeros past the scale change nothing */
    dec_ok("5421", 12, 0, "5421");  /* scale 0: no point */
}

/* Never rounded: a digit past the column's scale rejects the value. */
static void test_decimal_never_rounded(void **state)
{
    (void)state;
    dec_bad("12.345", 12, 2);
    dec_bad("12.344", 12, 2);
    dec_bad("0.005", 12, 2);
    dec_bad("-0.005", 12, 2);
    dec_bad("9.995", 12, 2);
    dec_bad("0.10000000000000001", 12, 2); /* a double's text of 0.1 is not 0.1 */
    dec_bad("5421.5", 12, 0);
    dec_bad("1e-7", 12, 2);
    dec_bad("5e-3", 12, 2);
    dec_ok("12.340000", 12, 2, "12.34");
    dec_ok("1234e-2", 12, 2, "12.34"); /* the exponent moves the point: exact */
    dec_bad("1234.5e-2", 12, 2);       /* 12.345 */
}

static void test_decimal_no_negative_zero(void **state)
{
    (void)state;
    dec_bad("-0.004", 12, 2);
    dec_ok("-0", 12, 2, "0.00");
    dec_ok("-0.00", 12, 2, "0.00");
    dec_ok("-0e5", 12, 2, "0.00");
}

static void test_decimal_exponent(void **state)
{
    (void)state;
    dec_ok("1e3", 12, 2, "1000.00");
    dec_ok("1E3", 12, 2, "1000.00");
    dec_ok("1.5e+2", 12, 2, "150.00");
    dec_ok("125e-2", 12, 2, "1.25");
    dec_ok("1e-2", 12, 2, "0.01");
    dec_bad("1e-60", 12, 2);
    dec_ok("5.4215e3", 12, 2, "5421.50");
    dec_bad("1e", 12, 2);
    dec_bad("1e+", 12, 2);
    dec_bad("1e3x", 12, 2);
    dec_bad("1e61", 12, 2);
    dec_bad("1e13", 12, 2); /* 14 integer digits */
}

static void test_decimal_overflow(void **state)
{
    (void)state;
    dec_bad("999999999999.995", 12, 2); /* a third decimal place */
    dec_bad("1000000000000", 12, 2);
    dec_bad("-1000000000000.00", 12, 2);
    dec_bad("100", 2, 2);
    dec_ok("99.99", 2, 2, "99.99");
    dec_bad("99.994", 2, 2);
    /* leading zeros are not integer digits */
    dec_ok("000000000000099.5", 2, 2, "99.50");
}

static void test_decimal_invalid(void **state)
{
    (void)state;
    dec_bad("abc", 12, 2);
    dec_bad("", 12, 2);
    dec_bad(NULL, 12, 2);
    dec_bad("1.2.3", 12, 2);
    dec_bad("-", 12, 2);
    dec_bad(".", 12, 2);
    dec_bad(" 1", 12, 2);
    dec_bad("1 ", 12, 2);
    dec_bad("1,5", 12, 2);
    dec_bad("--1", 12, 2);
    dec_bad("0x10", 12, 2);
    dec_bad("NaN", 12, 2);
    dec_bad("Infinity", 12, 2);
}

/* The grammar is "[-]digits[.digits]" or a JSON number's text: no leading '+'. */
static void test_decimal_plus_sign_rejected(void **state)
{
    (void)state;
    dec_bad("+3", 12, 2);
}

static void test_decimal_precision_guard(void **state)
{
    (void)state;
    char out[CONVERT_DECIMAL_LEN];
    assert_int_equal(convert_decimal("1", 40, 10, out), ML_EINVAL);
    assert_int_equal(convert_decimal("1", 10, 11, out), ML_EINVAL);
}

/* ---- convert_int64 ---- */

static void test_int64(void **state)
{
    (void)state;
    int_ok("42", 42);
    int_ok("-7", -7);
    int_ok("0", 0);
    int_ok("9223372036854775807", 9223372036854775807LL);
    int_ok("-9223372036854775808", -9223372036854775807LL - 1);
    int_bad(" 1");
    int_bad("1 ");
    int_bad("1x");
    int_bad("");
    int_bad(NULL);
    int_bad("-");
    int_bad("1.0");
    int_bad("1e3");
    int_bad("0x10");
    int_bad("9223372036854775808");
    int_bad("-9223372036854775809");
    int_bad("99999999999999999999999");

    long long v;
    assert_int_equal(convert_int64("9223372036854775808", &v), ML_ERECORD);
    assert_non_null(strstr(err_msg(), "range"));
}

/* ---- convert_utf8_valid ---- */

static void test_utf8_valid(void **state)
{
    (void)state;
    size_t n = 999;
    assert_true(utf8("hello", 5, &n));
    assert_int_equal(n, 5);
    assert_true(utf8("", 0, &n));
    assert_int_equal(n, 0);
    assert_true(utf8("Z\xc3\xbcrich", 7, &n)); /* Zürich */
    assert_int_equal(n, 6);
    assert_true(utf8("\xe2\x82\xac", 3, &n)); /* € */
    assert_int_equal(n, 1);
    assert_true(utf8("a\xf0\x9f\x98\x80z", 6, &n)); /* a😀z */
    assert_int_equal(n, 3);
    assert_true(utf8("\xf4\x8f\xbf\xbf", 4, &n)); /* U+10FFFF */
    assert_int_equal(n, 1);
    assert_true(utf8("\xed\x9f\xbf", 3, &n)); /* U+D7FF, just below the surrogates */
    assert_int_equal(n, 1);
    assert_true(utf8("a\0b", 3, &n)); /* NUL is a code point; length is explicit */
    assert_int_equal(n, 3);
    assert_true(utf8("abc", 3, NULL)); /* nchars may be NULL */
}

/* ---- convert_utf8_prefix ---- */

static void test_utf8_prefix(void **state)
{
    (void)state;
    assert_int_equal(convert_utf8_prefix("hello", 5, 10), 5); /* shorter: whole */
    assert_int_equal(convert_utf8_prefix("hello", 5, 5), 5);
    assert_int_equal(convert_utf8_prefix("hello", 5, 3), 3);
    assert_int_equal(convert_utf8_prefix("hello", 5, 0), 0);
    assert_int_equal(convert_utf8_prefix("", 0, 0), 0);
    /* Zürich: the cut never lands inside the two bytes of ü */
    assert_int_equal(convert_utf8_prefix("Z\xc3\xbcrich", 7, 1), 1);
    assert_int_equal(convert_utf8_prefix("Z\xc3\xbcrich", 7, 2), 3);
    assert_int_equal(convert_utf8_prefix("Z\xc3\xbcrich", 7, 6), 7);
    /* a😀z: four bytes count as one character */
    assert_int_equal(convert_utf8_prefix("a\xf0\x9f\x98\x80z", 6, 1), 1);
    assert_int_equal(convert_utf8_prefix("a\xf0\x9f\x98\x80z", 6, 2), 5);
    assert_int_equal(convert_utf8_prefix("\xe2\x82\xac\xe2\x82\xac", 6, 1), 3); /* €€ */
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    size_t n = 999;
    assert_false(utf8("\xc0\x80", 2, &n));         /* overlong NUL */
    assert_false(utf8("\xc1\xbf", 2, &n));         /* overlong 2-byte */
    assert_false(utf8("\xe0\x80\xaf", 3, &n));     /* overlong 3-byte */
    assert_false(utf8("\xf0\x80\x80\xaf", 4, &n)); /* overlong 4-byte */
    assert_false(utf8("\x80", 1, &n));             /* lone continuation */
    assert_false(utf8("ab\xbf", 3, &n));
    assert_false(utf8("\xed\xa0\x80", 3, &n));         /* surrogate U+D800 */
    assert_false(utf8("\xed\xbf\xbf", 3, &n));         /* surrogate U+DFFF */
    assert_false(utf8("\xf4\x90\x80\x80", 4, &n));     /* > U+10FFFF */
    assert_false(utf8("\xf8\x88\x80\x80\x80", 5, &n)); /* 5-byte form */
    assert_false(utf8("\xff", 1, &n));
    assert_false(utf8("Z\xc3", 2, &n));        /* truncated 2-byte */
    assert_false(utf8("\xe2\x82", 2, &n));     /* truncated 3-byte */
    assert_false(utf8("\xf0\x9f\x98", 3, &n)); /* truncated 4-byte */
    assert_false(utf8("\xc3z", 2, &n));        /* continuation missing */
    /* the length bounds the check: a valid sequence cut by len is invalid */
    assert_false(utf8("\xc3\xbc", 1, &n));
    assert_int_equal(n, 999); /* count untouched on failure */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ts_utc_z),
        cmocka_unit_test(test_ts_fraction_digits),
        cmocka_unit_test(test_ts_no_fraction_no_seconds_no_zone),
        cmocka_unit_test(test_ts_positive_offset),
        cmocka_unit_test(test_ts_negative_offset),
        cmocka_unit_test(test_ts_before_1970),
        cmocka_unit_test(test_ts_leap_day),
        cmocka_unit_test(test_ts_invalid),
        cmocka_unit_test(test_ts_offset_dangling_colon_rejected),
        cmocka_unit_test(test_ts_error_message_has_no_value),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_year),
        cmocka_unit_test(test_decimal_plain),
        cmocka_unit_test(test_decimal_never_rounded),
        cmocka_unit_test(test_decimal_no_negative_zero),
        cmocka_unit_test(test_decimal_exponent),
        cmocka_unit_test(test_decimal_overflow),
        cmocka_unit_test(test_decimal_invalid),
        cmocka_unit_test(test_decimal_plus_sign_rejected),
        cmocka_unit_test(test_decimal_precision_guard),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_utf8_prefix),
    };
    return cmocka_run_group_tests_name("convert", tests, NULL, NULL);
}
