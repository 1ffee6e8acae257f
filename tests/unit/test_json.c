/* test_json.c - unit tests of the contract in loader/json.h.
 *
 * Exact integers from the token text; strict RFC 8259 (UTF-8, raw control
 * characters, the number grammar, trailing data, nesting, the BOM); string
 * escapes, with the "skipped unread" rule for bad surrogate escapes; strings
 * and keys holding NUL bytes; duplicate keys; printing and quoting; document
 * reuse; pages of records, whose splitting checks only the array's structure
 * so that one bad record fails alone. Every guard has a must-fail case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "buf.h"
#include "error.h"
#include "json.h"
#include "banned.h"

/* A string literal as (text, length), NUL bytes inside included. */
#define LIT(s) (s), (sizeof(s) - 1)

struct text {
    const char *s;
    size_t len;
};
#define T(s)                                                                                       \
    {                                                                                              \
        (s), sizeof(s) - 1                                                                         \
    }
#define NTEXTS(a) (sizeof(a) / sizeof((a)[0]))

#define BOM "\xEF\xBB\xBF"

/* A printable rendering of `len` bytes for failure messages (static storage:
 * one at a time). */
static const char *show(const char *s, size_t len)
{
    static char out[160];
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 8 >= sizeof(out)) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
    }
    out[o] = '\0';
    return out;
}

static void expect_msg(const char *what, const char *want)
{
    const char *msg = err_msg();
    if (!strstr(msg, want))
        fail_msg("%s: message '%s' does not mention '%s'", what, msg, want);
}

static json_doc *parse_ok(const char *text, size_t len)
{
    json_doc *doc = NULL;
    int rc = json_parse(text, len, &doc);
    if (rc)
        fail_msg("'%s' does not parse (%d): %s", show(text, len), rc, err_msg());
    assert_non_null(doc);
    return doc;
}

/* Whether json_parse refuses `text` as not JSON, naming a byte offset; says
 * why not when it does not. */
static bool refused_as_not_json(const char *text, size_t len)
{
    json_doc *doc = NULL;
    int rc = json_parse(text, len, &doc);
    if (rc != ML_EJSON) {
        json_free(doc);
        print_error("'%s': expected ML_EJSON, got %d\n", show(text, len), rc);
        return false;
    }
    if (doc) {
        print_error("'%s': *out not NULL after a failure\n", show(text, len));
        return false;
    }
    if (!strstr(err_msg(), "byte")) {
        print_error("'%s': message '%s' names no byte offset\n", show(text, len), err_msg());
        return false;
    }
    return true;
}

static void expect_not_json(const char *text, size_t len)
{
    if (!refused_as_not_json(text, len))
        fail();
}

static void expect_bytes(const json_node *n, const char *want, size_t want_len)
{
    size_t len = 99;
    const char *s = json_string_len(n, &len);
    if (!s)
        fail_msg("string not readable: %s", err_msg());
    assert_int_equal(len, want_len);
    assert_memory_equal(s, want, want_len);
    assert_int_equal(s[len], '\0');
}

/* `n` is a string node that cannot be read, for a reason naming `escape`. */
static void expect_bad_escape(const json_node *n, const char *escape)
{
    size_t len = 99;
    assert_int_equal(json_type(n), JSON_STRING);
    err_clear();
    assert_null(json_string_len(n, &len));
    assert_int_equal(len, 0);
    expect_msg("json_string_len", "surrogate");
    expect_msg("json_string_len", escape);
    const char *problem = json_string_problem(n);
    assert_non_null(problem);
    if (!strstr(problem, "surrogate") || !strstr(problem, escape))
        fail_msg("problem '%s' does not name the surrogate '%s'", problem, escape);
    if (!strstr(err_msg(), problem))
        fail_msg("err_msg '%s' is not the problem '%s'", err_msg(), problem);
    assert_null(json_string(n));
}

static void expect_number_text(const json_node *n, const char *want)
{
    size_t len = 99;
    const char *s = json_number_text(n, &len);
    assert_non_null(s);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(s, want, len);
    assert_int_equal(s[len], '\0');
}

static void expect_print(const json_node *n, const char *want)
{
    struct buf out = BUF_INIT;
    assert_int_equal(json_print(n, &out), 0);
    assert_string_equal(out.data, want);
    buf_release(&out);
}

/* print -> parse -> print gives the same text. */
static void expect_round_trip(const json_node *n)
{
    struct buf a = BUF_INIT, b = BUF_INIT;
    assert_int_equal(json_print(n, &a), 0);
    json_doc *back = parse_ok(a.data, a.len);
    assert_int_equal(json_print(json_root(back), &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    json_free(back);
    buf_release(&a);
    buf_release(&b);
}

static void nested_arrays(struct buf *b, size_t depth)
{
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(buf_addc(b, '['), 0);
    for (size_t i = 0; i < depth; i++)
        assert_int_equal(buf_addc(b, ']'), 0);
}

/* ---- numbers ---- */

static void test_int64_exact(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("[9007199254740993,9223372036854775807,-9223372036854775808,"
                               "0,-0,-1,123456789012345678]"));
    const json_node *e = json_child(json_root(d));
    long long v = 42;
    assert_int_equal(json_int64(e, &v), 0);
    assert_true(v == 9007199254740993LL); /* 2^53 + 1: a double would say ...992 */
    e = json_next(e);
    assert_int_equal(json_int64(e, &v), 0);
    assert_true(v == LLONG_MAX);
    e = json_next(e);
    assert_int_equal(json_int64(e, &v), 0);
    assert_true(v == LLONG_MIN);
    e = json_next(e);
    assert_int_equal(json_int64(e, &v), 0);
    assert_true(v == 0);
    e = json_next(e);
    v = 42;
    assert_int_equal(json_int64(e, &v), 0); /* -0 is an integer */
    assert_true(v == 0);
    e = json_next(e);
    assert_int_equal(json_int64(e, &v), 0);
    assert_true(v == -1);
    e = json_next(e);
    assert_int_equal(json_int64(e, &v), 0);
    assert_true(v == 123456789012345678LL);
    json_free(d);
}

static void test_uint64_exact(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("[18446744073709551615,9223372036854775808,0,-1,"
                               "18446744073709551616,-9223372036854775809,"
                               "99999999999999999999999999]"));
    const json_node *umax = json_child(json_root(d));
    const json_node *over_signed = json_next(umax);
    const json_node *zero = json_next(over_signed);
    const json_node *minus_one = json_next(zero);
    const json_node *over_unsigned = json_next(minus_one);
    const json_node *under_signed = json_next(over_unsigned);
    const json_node *huge = json_next(under_signed);
    unsigned long long u = 42;
    long long v = 42;

    assert_int_equal(json_uint64(umax, &u), 0);
    assert_true(u == ULLONG_MAX);
    assert_int_equal(json_int64(umax, &v), ML_ERECORD);
    assert_true(v == 42);

    /* 2^63: too big for int64 (out untouched), fine for uint64 */
    err_clear();
    assert_int_equal(json_int64(over_signed, &v), ML_ERECORD);
    assert_true(v == 42);
    expect_msg("int64 of 2^63", "range");
    assert_int_equal(json_uint64(over_signed, &u), 0);
    assert_true(u == 9223372036854775808ULL);

    assert_int_equal(json_uint64(zero, &u), 0);
    assert_true(u == 0);

    u = 42;
    err_clear();
    assert_int_equal(json_uint64(minus_one, &u), ML_ERECORD);
    assert_true(u == 42);
    assert_true(err_msg()[0] != '\0');

    u = 42;
    err_clear();
    assert_int_equal(json_uint64(over_unsigned, &u), ML_ERECORD);
    assert_true(u == 42);
    expect_msg("uint64 of 2^64", "range");

    err_clear();
    assert_int_equal(json_int64(under_signed, &v), ML_ERECORD);
    assert_true(v == 42);
    expect_msg("int64 of -2^63-1", "range");
    assert_int_equal(json_uint64(under_signed, &u), ML_ERECORD);

    assert_int_equal(json_int64(huge, &v), ML_ERECORD);
    assert_int_equal(json_uint64(huge, &u), ML_ERECORD);
    assert_true(v == 42 && u == 42);
    json_free(d);
}

static void test_not_an_integer(void **state)
{
    (void)state;
    static const char *const texts[] = {"1.0",  "1e3", "12.5", "1E3", "0.0",
                                        "-0.0", "1e0", "1e+2", "5E-1"};
    for (size_t i = 0; i < NTEXTS(texts); i++) {
        json_doc *d = parse_ok(texts[i], strlen(texts[i]));
        long long v = 42;
        unsigned long long u = 42;
        err_clear();
        if (json_int64(json_root(d), &v) != ML_ERECORD)
            fail_msg("json_int64 of '%s' does not fail", texts[i]);
        assert_true(v == 42);
        expect_msg(texts[i], "not an integer");
        err_clear();
        if (json_uint64(json_root(d), &u) != ML_ERECORD)
            fail_msg("json_uint64 of '%s' does not fail", texts[i]);
        assert_true(u == 42);
        expect_msg(texts[i], "not an integer");
        json_free(d);
    }
    /* nodes that are no number at all */
    json_doc *d = parse_ok(LIT("[\"1\",true,null,[1],{\"a\":1}]"));
    for (const json_node *e = json_child(json_root(d)); e; e = json_next(e)) {
        long long v = 42;
        unsigned long long u = 42;
        assert_int_equal(json_int64(e, &v), ML_ERECORD);
        assert_int_equal(json_uint64(e, &u), ML_ERECORD);
        assert_true(v == 42 && u == 42);
        size_t len = 99;
        assert_null(json_number_text(e, &len));
    }
    json_free(d);
}

static void test_number_text_exact(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("[12.345, 1e-7 ,-0.0,-12.50e3,1E+2,9007199254740993,0,1.50,"
                               "123456789012345678901234567890.000000000000000000001]"));
    static const char *const want[] = {
        "12.345",   "1e-7", "-0.0",
        "-12.50e3", "1E+2", "9007199254740993",
        "0",        "1.50", "123456789012345678901234567890.000000000000000000001"};
    const json_node *e = json_child(json_root(d));
    for (size_t i = 0; i < NTEXTS(want); i++, e = json_next(e)) {
        assert_int_equal(json_type(e), JSON_NUMBER);
        expect_number_text(e, want[i]);
    }
    assert_null(e);
    json_free(d);
}

/* ---- strict RFC 8259 ---- */

static void test_strict_rejects(void **state)
{
    (void)state;
    static const struct text bad[] = {
        /* raw control characters inside strings */
        T("[\"a\tb\"]"),
        T("[\"a\0b\"]"),
        T("[\"a\nb\"]"),
        T("[\"a\rb\"]"),
        T("[\"\x1f\"]"),
        T("[\"\x01\"]"),
        T("{\"k\tk\":1}"),
        /* invalid UTF-8, in values and in keys */
        T("[\"\xC3\x28\"]"),
        T("[\"\xC0\xAF\"]"),
        T("[\"\xC1\xBF\"]"),
        T("[\"\xE0\x80\xAF\"]"),
        T("[\"\xED\xA0\x80\"]"),
        T("[\"\xED\xBF\xBF\"]"),
        T("[\"\xF0\x80\x80\xAF\"]"),
        T("[\"\xF4\x90\x80\x80\"]"),
        T("[\"\xF5\x80\x80\x80\"]"),
        T("[\"\xFF\"]"),
        T("[\"\x80\"]"),
        T("[\"\xC3\"]"),
        T("[\"\xE2\x82\"]"),
        T("{\"\xC3\x28\":1}"),
        T("\xC3\x28"),
        /* the number grammar */
        T("01"),
        T("[01]"),
        T("-01"),
        T("00"),
        T("1."),
        T("[1.]"),
        T(".5"),
        T("[.5]"),
        T("-"),
        T("[-]"),
        T("+1"),
        T("[+1]"),
        T("1e"),
        T("1e+"),
        T("1E-"),
        T("1.e5"),
        T("0x10"),
        T("--1"),
        T("1_000"),
        T("NaN"),
        T("[NaN]"),
        T("Infinity"),
        T("-Infinity"),
        T("[Infinity]"),
        /* structure */
        T("[1,]"),
        T("{\"a\":1,}"),
        T("[,1]"),
        T("[1,,2]"),
        T("{,}"),
        T("{\"a\"}"),
        T("{\"a\" 1}"),
        T("{\"a\":}"),
        T("{1:2}"),
        T("{a:1}"),
        T("['a']"),
        T("{'a':1}"),
        T("[\"a\" \"b\"]"),
        T("[true false]"),
        T("[1"),
        T("[1}"),
        T("{\"a\":1]"),
        T("]"),
        T("}"),
        T("\"abc"),
        T("[\"abc\\\"]"),
        T("tru"),
        T("True"),
        T("nul"),
        T("NULL"),
        /* comments */
        T("[1]//c"),
        T("//c\n[1]"),
        T("/*c*/[1]"),
        T("[1/*c*/]"),
        T("#c\n[1]"),
        /* bad escapes (not surrogates: those are the string's problem) */
        T("[\"\\x41\"]"),
        T("[\"\\u12\"]"),
        T("[\"\\u12G4\"]"),
        T("[\"\\'\"]"),
        T("[\"\\a\"]"),
        T("[\"\\U00fc\"]"),
        /* nothing, or only whitespace / a BOM */
        T(""),
        T(" \t\r\n"),
        T(BOM),
        /* trailing data after the value */
        T("[1] x"),
        T("[1][2]"),
        T("{} {}"),
        T("1 2"),
        T("[1],"),
        T("\"a\"\"b\""),
        T("[1]\0"),
        T("[1]\0[2]"),
        T("[1]\f"),
        T("[1]\v"),
        T("[1]" BOM),
        /* whitespace JSON does not know */
        T("\f[1]"),
        T("\xC2\xA0[1]"),
        T(BOM BOM "[1]"),
    };
    size_t failed = 0;
    for (size_t i = 0; i < NTEXTS(bad); i++)
        failed += !refused_as_not_json(bad[i].s, bad[i].len);
    if (failed)
        fail_msg("%zu of %zu texts not refused as they should be", failed, NTEXTS(bad));
}

static void test_strict_accepts(void **state)
{
    (void)state;
    static const struct text good[] = {
        T(" \t\r\n[1] \t\r\n"),
        T("[1]\n"),
        T(BOM "[1]"),
        T(BOM " {\"a\":1}"),
        T(BOM "\"s\""),
        T("1"),
        T("-0"),
        T(" \"s\" "),
        T("true"),
        T("false"),
        T("null"),
        T("{}"),
        T("[]"),
        T("-1.5E-2"),
        T("1e+10"),
        T("[\"\x7f\"]"),                 /* DEL is no control character in JSON */
        T("[\"\xC3\xBC\xE2\x82\xAC\"]"), /* 2 and 3 bytes */
        T("[\"\xEF\xBF\xBF\"]"),         /* U+FFFF */
        T("[\"\xF0\x90\x80\x80\"]"),     /* U+10000 */
        T("[\"\xF4\x8F\xBF\xBF\"]"),     /* U+10FFFF */
        T("{\"\xC3\xBC\":\"\xC3\xBC\"}"),
    };
    for (size_t i = 0; i < NTEXTS(good); i++)
        json_free(parse_ok(good[i].s, good[i].len));

    json_doc *d = parse_ok(LIT(BOM "{\"a\":[1]}"));
    assert_int_equal(json_array_size(json_get(json_root(d), "a")), 1);
    json_free(d);
    d = parse_ok(LIT(" 12 "));
    expect_number_text(json_root(d), "12");
    json_free(d);
}

/* err_msg names the byte where the text stops being JSON (0-based), not
 * merely some offset. */
static void test_error_offsets(void **state)
{
    (void)state;
    static const struct {
        struct text text;
        unsigned at;
    } cases[] = {
        {T("[1,]"), 3},          {T("[1,,2]"), 3},
        {T("{\"a\":1,}"), 7},    {T("{\"a\":1 \"b\":2}"), 7},
        {T("{\"a\"}"), 4},       {T("{\"a\" 1}"), 5},
        {T("{,}"), 1},           {T("{1:2}"), 1},
        {T("[1 2]"), 3},         {T("[true false]"), 6},
        {T("[\"a\" \"b\"]"), 5}, {T("{\"k\":{\"a\":1,}}"), 12},
        {T("[\"ab\tc\"]"), 4},   {T("[\"ab\xff\"]"), 4},
        {T("[1] x"), 4},         {T("[1}"), 2},
        {T("   [1,]"), 6},
    };
    size_t failed = 0;
    for (size_t i = 0; i < NTEXTS(cases); i++) {
        json_doc *d = NULL;
        char want[32];
        snprintf(want, sizeof(want), "byte %u", cases[i].at);
        int rc = json_parse(cases[i].text.s, cases[i].text.len, &d);
        const char *msg = err_msg();
        const char *hit = strstr(msg, want);
        if (rc != ML_EJSON || !hit || (hit[strlen(want)] >= '0' && hit[strlen(want)] <= '9')) {
            print_error("'%s': want '%s', got %d '%s'\n", show(cases[i].text.s, cases[i].text.len),
                        want, rc, msg);
            failed++;
        }
        json_free(d);
    }
    if (failed)
        fail_msg("%zu of %zu messages name the wrong byte", failed, NTEXTS(cases));
}

static void test_nesting_limit(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    json_doc *d;

    nested_arrays(&b, JSON_MAX_DEPTH);
    d = parse_ok(b.data, b.len);
    const json_node *n = json_root(d);
    for (int i = 1; i < JSON_MAX_DEPTH; i++)
        n = json_child(n);
    assert_int_equal(json_type(n), JSON_ARRAY);
    assert_null(json_child(n));
    json_free(d);

    buf_reset(&b);
    nested_arrays(&b, JSON_MAX_DEPTH + 1);
    expect_not_json(b.data, b.len);
    expect_msg("513 arrays", "nesting");

    /* a scalar inside the deepest array is no level of its own */
    buf_reset(&b);
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        buf_addc(&b, '[');
    buf_addc(&b, '1');
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        buf_addc(&b, ']');
    json_free(parse_ok(b.data, b.len));

    /* objects count the same way; json_path walks them all */
    struct buf path = BUF_INIT;
    buf_reset(&b);
    for (int i = 0; i < JSON_MAX_DEPTH; i++) {
        buf_adds(&b, "{\"a\":");
        buf_adds(&path, i ? ".a" : "a");
    }
    buf_addc(&b, '7');
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        buf_addc(&b, '}');
    d = parse_ok(b.data, b.len);
    long long v = 0;
    assert_int_equal(json_int64(json_path(json_root(d), path.data), &v), 0);
    assert_true(v == 7);
    json_free(d);

    buf_reset(&b);
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        buf_adds(&b, "{\"a\":");
    buf_addc(&b, '7');
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        buf_addc(&b, '}');
    expect_not_json(b.data, b.len);
    expect_msg("513 objects", "nesting");

    /* far too deep is refused the same way (no recursion to blow up) */
    buf_reset(&b);
    nested_arrays(&b, 100000);
    expect_not_json(b.data, b.len);
    expect_msg("100000 arrays", "nesting");
    buf_release(&path);
    buf_release(&b);
}

/* ---- strings ---- */

static void test_escapes_decode(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00fc\",\"\\ud83d\\ude00\","
                               "\"\\uD83D\\uDE00\",\"\\u20AC\\u20ac\",\"\\u0041bc\","
                               "\"a\\u0000b\",\"\\\\u0000\",\"\",\"plain\"]"));
    const json_node *e = json_child(json_root(d));
    expect_bytes(e, "\"\\/\b\f\n\r\t\xc3\xbc", 10);
    assert_string_equal(json_string(e), "\"\\/\b\f\n\r\t\xc3\xbc");
    assert_null(json_string_problem(e));
    e = json_next(e);
    expect_bytes(e, "\xF0\x9F\x98\x80", 4);
    e = json_next(e);
    expect_bytes(e, "\xF0\x9F\x98\x80", 4);
    e = json_next(e);
    expect_bytes(e, "\xE2\x82\xAC\xE2\x82\xAC", 6);
    e = json_next(e);
    assert_string_equal(json_string(e), "Abc");
    e = json_next(e);
    expect_bytes(e, "a\0b", 3);
    e = json_next(e);
    assert_string_equal(json_string(e), "\\u0000"); /* an escaped backslash, no NUL */
    e = json_next(e);
    expect_bytes(e, "", 0);
    assert_string_equal(json_string(e), "");
    e = json_next(e);
    assert_string_equal(json_string(e), "plain");
    assert_null(json_next(e));
    json_free(d);
}

static void test_bad_surrogate_skipped_unread(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("{\"ok1\":\"before\",\"hi\":\"\\ud800\",\"lo\":\"\\udc00\","
                               "\"rev\":\"\\udc00\\ud800\",\"nolo\":\"\\ud800\\u0041\","
                               "\"mid\":\"x\\ud800y\",\"up\":\"\\uD800\","
                               "\"n\":[1,\"\\ud83d\\ude00\"],\"ok2\":\"after\"}"));
    const json_node *r = json_root(d);
    assert_int_equal(json_type(r), JSON_OBJECT);
    /* read a good string first and last: the bad ones do not disturb them */
    assert_string_equal(json_string(json_get(r, "ok1")), "before");
    assert_null(json_string_problem(json_get(r, "ok1")));
    expect_bad_escape(json_get(r, "hi"), "\\ud800");
    expect_bad_escape(json_get(r, "lo"), "\\udc00");
    expect_bad_escape(json_get(r, "rev"), "\\udc00");
    expect_bad_escape(json_get(r, "nolo"), "\\ud800");
    expect_bad_escape(json_get(r, "mid"), "\\ud800");
    expect_bad_escape(json_get(r, "up"), "");
    expect_bytes(json_next(json_child(json_get(r, "n"))), "\xF0\x9F\x98\x80", 4);
    assert_string_equal(json_string(json_get(r, "ok2")), "after");
    assert_string_equal(json_string(json_get(r, "ok1")), "before");
    /* an unreadable string prints as null; the rest prints */
    struct buf out = BUF_INIT;
    assert_int_equal(json_print(json_get(r, "hi"), &out), 0);
    assert_string_equal(out.data, "null");
    buf_release(&out);
    expect_round_trip(r);
    json_free(d);

    /* the same strings at the root, and alone in an array */
    d = parse_ok(LIT("\"\\ud800\""));
    expect_bad_escape(json_root(d), "\\ud800");
    json_free(d);
    d = parse_ok(LIT("[\"\\ud800\"]"));
    expect_bad_escape(json_child(json_root(d)), "\\ud800");
    expect_print(json_root(d), "[null]");
    json_free(d);

    /* a bad escape in a key: kept in its JSON spelling, the record reads */
    d = parse_ok(LIT("{\"\\ud800\":1,\"k\":2}"));
    r = json_root(d);
    assert_string_equal(json_key(json_child(r)), "\\ud800");
    long long v = 0;
    assert_int_equal(json_int64(json_child(r), &v), 0);
    assert_true(v == 1);
    assert_int_equal(json_int64(json_get(r, "k"), &v), 0);
    assert_true(v == 2);
    assert_null(json_get(r, "\xED\xA0\x80"));
    json_free(d);
}

static void test_nul_strings(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("{\"s\":\"x\\u0000y\",\"t\":\"\\u0000\",\"u\":\"\\u00fc\\u0000\","
                               "\"p\":\"plain\"}"));
    const json_node *r = json_root(d);
    const json_node *s = json_get(r, "s");
    assert_int_equal(json_type(s), JSON_STRING);
    expect_bytes(s, "x\0y", 3);
    assert_null(json_string(s)); /* never handed out cut at the NUL */
    assert_null(json_string_problem(s));
    expect_bytes(json_get(r, "t"), "\0", 1);
    assert_null(json_string(json_get(r, "t")));
    expect_bytes(json_get(r, "u"), "\xC3\xBC\0", 3);
    assert_string_equal(json_string(json_get(r, "p")), "plain");
    json_free(d);
}

static void test_nul_keys_never_match(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"id\\u0000x\":\"evil\",\"id\":\"good\"}",
        "{\"id\":\"good\",\"id\\u0000x\":\"evil\"}",
    };
    for (size_t i = 0; i < NTEXTS(docs); i++) {
        json_doc *d = parse_ok(docs[i], strlen(docs[i]));
        const json_node *r = json_root(d);
        assert_string_equal(json_string(json_get(r, "id")), "good");
        const json_node *evil = i == 0 ? json_child(r) : json_next(json_child(r));
        assert_string_equal(json_key(evil), "id\\u0000x");
        assert_string_equal(json_string(evil), "evil");
        assert_ptr_equal(json_get(r, "id\\u0000x"), evil);
        json_free(d);
    }
    /* other escapes in keys decode as in values: they match the plain key */
    json_doc *d = parse_ok(LIT("{\"\\u0061\":1,\"\\u00fc\\t\":2}"));
    assert_string_equal(json_key(json_child(json_root(d))), "a");
    assert_non_null(json_get(json_root(d), "a"));
    assert_non_null(json_get(json_root(d), "\xC3\xBC\t"));
    json_free(d);

    d = parse_ok(LIT("{\"a\\u0000\":1,\"n\":{\"b\\u0000c\":2}}"));
    assert_null(json_get(json_root(d), "a"));
    assert_null(json_path(json_root(d), "n.b"));
    assert_string_equal(json_key(json_child(json_get(json_root(d), "n"))), "b\\u0000c");
    json_free(d);
}

/* ---- objects, arrays, navigation ---- */

static void test_duplicate_keys(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("{\"a\":1,\"b\":\"x\",\"a\":2,\"o\":{\"k\":1},\"o\":{\"k\":3}}"));
    const json_node *r = json_root(d);
    long long v = 0;
    assert_int_equal(json_int64(json_get(r, "a"), &v), 0);
    assert_true(v == 2); /* the last one wins */
    assert_int_equal(json_int64(json_path(r, "o.k"), &v), 0);
    assert_true(v == 3);
    assert_int_equal(json_array_size(r), 5);
    static const char *const keys[] = {"a", "b", "a", "o", "o"};
    size_t i = 0;
    for (const json_node *c = json_child(r); c; c = json_next(c), i++) {
        assert_true(i < NTEXTS(keys));
        assert_string_equal(json_key(c), keys[i]);
    }
    assert_int_equal(i, 5);
    const json_node *first = json_child(r);
    assert_int_equal(json_int64(first, &v), 0);
    assert_true(v == 1); /* iteration still visits the first */
    json_free(d);
}

static void test_navigation(void **state)
{
    (void)state;
    json_doc *d = parse_ok(LIT("{\"profile\":{\"income\":{\"band\":\"high\"},\"age\":41},"
                               "\"list\":[1,2,3],\"e\":[],\"o\":{},\"s\":\"str\",\"Case\":1}"));
    const json_node *r = json_root(d);
    long long v = 0;
    assert_string_equal(json_string(json_path(r, "profile.income.band")), "high");
    assert_int_equal(json_int64(json_path(r, "profile.age"), &v), 0);
    assert_true(v == 41);
    assert_int_equal(json_type(json_path(r, "profile")), JSON_OBJECT);
    assert_int_equal(json_type(json_path(r, "list")), JSON_ARRAY);
    assert_null(json_path(r, "profile.missing"));
    assert_null(json_path(r, "missing.band"));
    assert_null(json_path(r, "profile.age.x")); /* through a number */
    assert_null(json_path(r, "s.x"));           /* through a string */
    assert_null(json_path(r, "list.x"));        /* through an array */
    assert_null(json_get(r, "case"));           /* case-sensitive */
    assert_null(json_get(r, "band"));           /* not searched below */
    assert_null(json_get(json_get(r, "list"), "0"));

    assert_int_equal(json_array_size(json_get(r, "list")), 3);
    assert_int_equal(json_array_size(json_get(r, "e")), 0);
    assert_int_equal(json_array_size(json_get(r, "o")), 0);
    assert_int_equal(json_array_size(json_get(r, "profile")), 2);
    assert_int_equal(json_array_size(json_get(r, "s")), 0);
    assert_null(json_child(json_get(r, "e")));
    assert_null(json_child(json_get(r, "s")));

    /* keys: members have them, array elements and the root do not */
    assert_null(json_key(r));
    assert_string_equal(json_key(json_child(r)), "profile");
    assert_null(json_key(json_child(json_get(r, "list"))));
    assert_null(json_next(json_next(json_next(json_child(json_get(r, "list"))))));
    json_free(d);

    d = parse_ok(LIT("[null,true,false,1,\"s\",[],{}]"));
    static const enum json_type types[] = {JSON_NULL,   JSON_BOOL,  JSON_BOOL,  JSON_NUMBER,
                                           JSON_STRING, JSON_ARRAY, JSON_OBJECT};
    const json_node *e = json_child(json_root(d));
    for (size_t i = 0; i < NTEXTS(types); i++, e = json_next(e))
        assert_int_equal(json_type(e), types[i]);
    e = json_next(json_child(json_root(d)));
    assert_true(json_bool(e));
    assert_false(json_bool(json_next(e)));
    json_free(d);
}

static void test_type_names(void **state)
{
    (void)state;
    static const enum json_type all[] = {JSON_ABSENT, JSON_NULL,  JSON_BOOL,  JSON_NUMBER,
                                         JSON_STRING, JSON_ARRAY, JSON_OBJECT};
    for (size_t i = 0; i < NTEXTS(all); i++) {
        const char *name = json_type_name(all[i]);
        assert_non_null(name);
        assert_true(name[0] != '\0');
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(name, json_type_name(all[j]));
    }
}

static void test_null_safety(void **state)
{
    (void)state;
    size_t len = 99;
    long long v = 42;
    unsigned long long u = 42;
    assert_null(json_root(NULL));
    assert_int_equal(json_type(NULL), JSON_ABSENT);
    assert_null(json_get(NULL, "a"));
    assert_null(json_path(NULL, "a.b"));
    assert_int_equal(json_array_size(NULL), 0);
    assert_null(json_child(NULL));
    assert_null(json_next(NULL));
    assert_null(json_key(NULL));
    assert_null(json_string_len(NULL, &len));
    assert_int_equal(len, 0);
    assert_null(json_string(NULL));
    assert_null(json_string_problem(NULL));
    len = 99;
    assert_null(json_number_text(NULL, &len));
    assert_int_equal(json_int64(NULL, &v), ML_ERECORD);
    assert_int_equal(json_uint64(NULL, &u), ML_ERECORD);
    assert_true(v == 42 && u == 42);
    assert_false(json_bool(NULL));
    json_free(NULL);
    json_page_free(NULL);

    /* an absent member chained through every accessor */
    json_doc *d = parse_ok(LIT("{\"a\":1}"));
    const json_node *missing = json_get(json_root(d), "nope");
    assert_null(missing);
    assert_int_equal(json_type(json_get(missing, "x")), JSON_ABSENT);
    assert_null(json_string(json_path(json_root(d), "a.b.c")));
    /* strings that are no string */
    len = 99;
    assert_null(json_string_len(json_get(json_root(d), "a"), &len));
    assert_int_equal(len, 0);
    assert_null(json_string(json_get(json_root(d), "a")));
    assert_null(json_string_problem(json_get(json_root(d), "a")));
    assert_null(json_string_problem(json_root(d)));
    json_free(d);
}

/* ---- printing and quoting ---- */

static void test_print_compact_exact(void **state)
{
    (void)state;
    json_doc *d =
        parse_ok(LIT(" { \"n\" : [ 1.50 , 9007199254740993 , -0.0 , 1E+2 , 1e-7 ,"
                     " -9223372036854775808 ] ,\n \"b\" : [ true , false , null ] ,"
                     " \"s\" : \"q\\\"b\\\\s x\\u0000y\" , \"e\" : { } , \"a\" : [ ] } "));
    const json_node *r = json_root(d);
    expect_print(r, "{\"n\":[1.50,9007199254740993,-0.0,1E+2,1e-7,-9223372036854775808],"
                    "\"b\":[true,false,null],\"s\":\"q\\\"b\\\\s x\\u0000y\",\"e\":{},\"a\":[]}");
    expect_print(json_get(r, "n"), "[1.50,9007199254740993,-0.0,1E+2,1e-7,-9223372036854775808]");
    expect_print(json_child(json_get(r, "n")), "1.50");
    expect_print(json_get(r, "s"), "\"q\\\"b\\\\s x\\u0000y\"");
    /* json_print appends */
    struct buf out = BUF_INIT;
    buf_adds(&out, "x=");
    assert_int_equal(json_print(json_get(r, "b"), &out), 0);
    assert_string_equal(out.data, "x=[true,false,null]");
    buf_release(&out);
    expect_round_trip(r);
    json_free(d);
}

static void test_print_round_trip(void **state)
{
    (void)state;
    static const struct text docs[] = {
        T("{\"a\":\"x\\u0000y\",\"b\":[1,2.5,true,null,\"\\u0000\"],\"c\":"
          "\"\\t\\n\\r\\b\\f\\u0001\"}"),
        T("[\"\\u00fc\\ud83d\\ude00\xC3\xBC\",\"\\/\",\"\x7f\"]"),
        T("{\"id\\u0000x\":1,\"\\ud800\":\"\\udc00\",\"k\":\"\\\\u0000\"}"),
        T("[[[[[]]]],{\"a\":{\"b\":{}}}]"),
        T("\"top\""),
        T("12.5e-3"),
        T("{\"a\":1,\"a\":2}"),
    };
    for (size_t i = 0; i < NTEXTS(docs); i++) {
        json_doc *d = parse_ok(docs[i].s, docs[i].len);
        expect_round_trip(json_root(d));
        json_free(d);
    }
    /* decoded bytes survive print + parse */
    json_doc *d = parse_ok(LIT("[\"x\\u0000y\\t\\\"\\\\\\u00fc\"]"));
    struct buf out = BUF_INIT;
    assert_int_equal(json_print(json_root(d), &out), 0);
    for (size_t i = 0; i < out.len; i++)
        assert_true((unsigned char)out.data[i] >= 0x20);
    json_doc *back = parse_ok(out.data, out.len);
    expect_bytes(json_child(json_root(back)), "x\0y\t\"\\\xC3\xBC", 8);
    json_free(back);
    json_free(d);
    buf_release(&out);
}

static void test_quote(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(json_quote_len(&out, "q\"\0\x01", 4), 0);
    assert_string_equal(out.data, "\"q\\\"\\u0000\\u0001\"");

    /* appends; every control character escaped; parses back to the bytes */
    const char *s = "a\"b\\c\n\t\r\b\f\x01\x1f/\xC3\xBC\x7f";
    buf_reset(&out);
    buf_adds(&out, "k=");
    assert_int_equal(json_quote(&out, s), 0);
    assert_memory_equal(out.data, "k=\"", 3);
    assert_int_equal(out.data[out.len - 1], '"');
    for (size_t i = 0; i < out.len; i++)
        assert_true((unsigned char)out.data[i] >= 0x20);
    assert_non_null(strstr(out.data, "\\\""));
    assert_non_null(strstr(out.data, "\\\\"));
    json_doc *d = parse_ok(out.data + 2, out.len - 2);
    assert_string_equal(json_string(json_root(d)), s);
    json_free(d);

    /* all 32 control characters, NUL included */
    char ctl[32];
    for (int i = 0; i < 32; i++)
        ctl[i] = (char)i;
    buf_reset(&out);
    assert_int_equal(json_quote_len(&out, ctl, sizeof(ctl)), 0);
    for (size_t i = 0; i < out.len; i++)
        assert_true((unsigned char)out.data[i] >= 0x20);
    d = parse_ok(out.data, out.len);
    expect_bytes(json_root(d), ctl, sizeof(ctl));
    json_free(d);

    buf_reset(&out);
    assert_int_equal(json_quote(&out, ""), 0);
    assert_string_equal(out.data, "\"\"");
    buf_reset(&out);
    assert_int_equal(json_quote_len(&out, "", 0), 0);
    assert_string_equal(out.data, "\"\"");
    buf_release(&out);
}

/* ---- documents ---- */

static void test_doc_reuse(void **state)
{
    (void)state;
    json_doc *doc = json_doc_new();
    long long v = 0;
    assert_non_null(doc);
    assert_int_equal(json_type(json_root(doc)), JSON_ABSENT);

    assert_int_equal(json_doc_parse(doc, LIT("{\"a\":1,\"s\":\"old\"}")), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "a"), &v), 0);
    assert_true(v == 1);
    assert_string_equal(json_string(json_get(json_root(doc), "s")), "old");

    assert_int_equal(json_doc_parse(doc, LIT("[\"new\",2]")), 0);
    const json_node *r = json_root(doc);
    assert_int_equal(json_type(r), JSON_ARRAY);
    assert_int_equal(json_array_size(r), 2);
    assert_null(json_get(r, "a"));
    assert_null(json_get(r, "s"));
    assert_string_equal(json_string(json_child(r)), "new");

    err_clear();
    assert_int_equal(json_doc_parse(doc, LIT("[1,]")), ML_EJSON);
    assert_int_equal(json_type(json_root(doc)), JSON_ABSENT);
    assert_null(json_child(json_root(doc)));
    expect_msg("doc parse of [1,]", "byte");

    assert_int_equal(json_doc_parse(doc, LIT("{\"b\":true}")), 0);
    assert_true(json_bool(json_get(json_root(doc), "b")));

    /* the text need not be NUL-terminated: only `len` bytes count */
    assert_int_equal(json_doc_parse(doc, "[1,2]xyz", 5), 0);
    assert_int_equal(json_array_size(json_root(doc)), 2);
    assert_int_equal(json_doc_parse(doc, "123456", 3), 0);
    expect_number_text(json_root(doc), "123");
    assert_int_equal(json_doc_parse(doc, "[1,2]", 4), ML_EJSON);

    /* large, small, large again in one doc */
    struct buf big = BUF_INIT;
    for (int round = 0; round < 3; round++) {
        buf_reset(&big);
        buf_addc(&big, '[');
        for (int i = 0; i < 20000; i++)
            buf_addf(&big, "%s{\"i\":%d,\"s\":\"v%d\"}", i ? "," : "", i, i);
        buf_addc(&big, ']');
        assert_int_equal(json_doc_parse(doc, big.data, big.len), 0);
        assert_int_equal(json_array_size(json_root(doc)), 20000);
        const json_node *last = json_child(json_root(doc));
        for (int i = 1; i < 20000; i++)
            last = json_next(last);
        assert_string_equal(json_string(json_get(last, "s")), "v19999");
        assert_int_equal(json_doc_parse(doc, LIT("{\"x\":\"y\"}")), 0);
        assert_string_equal(json_string(json_get(json_root(doc), "x")), "y");
        assert_int_equal(json_array_size(json_root(doc)), 1);
    }
    buf_release(&big);
    json_free(doc);
}

static void test_doc_too_big(void **state)
{
    (void)state;
    /* JSON_DOC_MAX + 1 bytes of address space, never touched when the size
     * is checked first (zero pages: reading them costs no memory either) */
    size_t len = JSON_DOC_MAX + 1;
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        skip();
        return;
    }
    json_doc *doc = json_doc_new();
    assert_non_null(doc);
    assert_int_equal(json_doc_parse(doc, p, len), ML_ETOOBIG);
    assert_int_equal(json_type(json_root(doc)), JSON_ABSENT);
    json_doc *out = NULL;
    assert_int_equal(json_parse(p, len, &out), ML_ETOOBIG);
    assert_null(out);
    json_free(doc);
    munmap(p, len);
}

/* ---- pages ---- */

static void page_set(json_page *pg, const char *text, size_t len, int want)
{
    struct buf b = BUF_INIT;
    assert_int_equal(buf_add(&b, text, len), 0);
    int rc = json_page_set_array(pg, &b);
    if (rc != want)
        fail_msg("set_array '%s': expected %d, got %d (%s)", show(text, len), want, rc, err_msg());
    if (rc == 0) {
        assert_int_equal(b.len, 0); /* the page took the bytes */
        assert_non_null(b.data);
        assert_int_equal(b.data[0], '\0');
    }
    buf_release(&b);
}

static void expect_record_text(const json_page *pg, size_t i, const char *want, size_t want_len)
{
    size_t len = 99;
    const char *t = json_page_record_text(pg, i, &len);
    assert_non_null(t);
    if (len != want_len || memcmp(t, want, len) != 0)
        fail_msg("record %zu is '%s', want '%s'", i, show(t, len), want);
}

static void test_page_split(void **state)
{
    (void)state;
    json_page *pg = json_page_new();
    json_doc *doc = json_doc_new();
    long long v = 0;
    assert_non_null(pg);
    assert_non_null(doc);
    assert_int_equal(json_page_count(pg), 0);

    page_set(pg, LIT("[ {\"a\":1},{\"b\":[1,2]} ]"), 0);
    assert_int_equal(json_page_count(pg), 2);
    expect_record_text(pg, 0, LIT("{\"a\":1}"));
    expect_record_text(pg, 1, LIT("{\"b\":[1,2]}"));
    assert_int_equal(json_page_line(pg, 0), 0);
    assert_int_equal(json_page_line(pg, 1), 0);
    assert_int_equal(json_page_parse_record(pg, 0, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "a"), &v), 0);
    assert_true(v == 1);
    assert_int_equal(json_page_parse_record(pg, 1, doc), 0);
    assert_null(json_get(json_root(doc), "a"));
    assert_int_equal(json_array_size(json_get(json_root(doc), "b")), 2);

    /* brackets, commas and quotes inside strings do not split; the
     * whitespace around records is not theirs; any value is a record */
    page_set(pg,
             LIT(BOM " \n[\n  {\"a\" : \"],[{\\\"\"} ,\n  2 ,\"s,]\", [ [ ] ],null,"
                     "-1.5e3\t,\"\\\\\"\r\n]\r\n"),
             0);
    assert_int_equal(json_page_count(pg), 7);
    expect_record_text(pg, 0, LIT("{\"a\" : \"],[{\\\"\"}"));
    expect_record_text(pg, 1, LIT("2"));
    expect_record_text(pg, 2, LIT("\"s,]\""));
    expect_record_text(pg, 3, LIT("[ [ ] ]"));
    expect_record_text(pg, 4, LIT("null"));
    expect_record_text(pg, 5, LIT("-1.5e3"));
    expect_record_text(pg, 6, LIT("\"\\\\\""));
    assert_int_equal(json_page_parse_record(pg, 0, doc), 0);
    assert_string_equal(json_string(json_get(json_root(doc), "a")), "],[{\"");
    assert_int_equal(json_page_parse_record(pg, 6, doc), 0);
    assert_string_equal(json_string(json_root(doc)), "\\");

    /* empty arrays, a BOM before '[' */
    page_set(pg, LIT("[]"), 0);
    assert_int_equal(json_page_count(pg), 0);
    page_set(pg, LIT(" [ \n ] \n"), 0);
    assert_int_equal(json_page_count(pg), 0);
    page_set(pg, LIT(BOM "[1]"), 0);
    assert_int_equal(json_page_count(pg), 1);
    expect_record_text(pg, 0, LIT("1"));
    page_set(pg, LIT(BOM "  [ {\"a\":1} ]"), 0);
    assert_int_equal(json_page_count(pg), 1);
    expect_record_text(pg, 0, LIT("{\"a\":1}"));

    /* a second array replaces the first; reset empties */
    page_set(pg, LIT("[1,2,3]"), 0);
    page_set(pg, LIT("[4,5]"), 0);
    assert_int_equal(json_page_count(pg), 2);
    expect_record_text(pg, 0, LIT("4"));
    json_page_reset(pg);
    assert_int_equal(json_page_count(pg), 0);
    json_free(doc);
    json_page_free(pg);
}

static void test_page_set_array_rejects(void **state)
{
    (void)state;
    static const struct {
        struct text text;
        const char *msg; /* what the message must mention */
    } bad[] = {
        {T("[{\"a\":1}"), "truncated"},
        {T("[{\"a\":\"x]}"), "truncated"},
        {T("["), "truncated"},
        {T("[1,"), "truncated"},
        {T("[[1]"), "truncated"},
        {T("<html><body>502 Bad Gateway</body></html>"), "<"},
        {T("{}"), "object"},
        {T("{\"data\":[1,2]}"), "object"},
        {T("[1 2]"), "byte"},
        {T("[1] x"), "byte"},
        {T("[1]]"), "byte"},
        {T("[1],[2]"), "byte"},
        {T("[1,]"), "byte"},
        {T("[,1]"), "byte"},
        {T("[1,,2]"), "byte"},
        {T("[{\"a\":1]}"), "byte"},
        {T("[{\"a\":1}}]"), "byte"},
        {T("[1]\0"), "byte"},
        {T("1"), ""},
        {T("\"[1]\""), ""},
        {T("null"), ""},
        {T(""), ""},
        {T("  \n"), ""},
        {T(BOM), ""},
    };
    json_page *pg = json_page_new();
    assert_non_null(pg);
    for (size_t i = 0; i < NTEXTS(bad); i++) {
        page_set(pg, LIT("[1,2]"), 0);
        assert_int_equal(json_page_count(pg), 2);
        err_clear();
        page_set(pg, bad[i].text.s, bad[i].text.len, ML_EJSON);
        if (json_page_count(pg) != 0)
            fail_msg("'%s': page not empty after a failure", show(bad[i].text.s, bad[i].text.len));
        if (err_msg()[0] == '\0' || !strstr(err_msg(), bad[i].msg))
            fail_msg("'%s': message '%s' does not mention '%s'",
                     show(bad[i].text.s, bad[i].text.len), err_msg(), bad[i].msg);
    }
    json_page_free(pg);
}

static void test_page_bad_records_fail_alone(void **state)
{
    (void)state;
    json_page *pg = json_page_new();
    json_doc *doc = json_doc_new();
    long long v = 0;
    page_set(pg,
             LIT("[{\"a\":\"\\ud800\",\"ok\":\"y\"},{\"b\":\"x\\u0000\"},{\"c\":\"\t\"},"
                 "{\"d\":\"\xff\"},{\"e\":1}]"),
             0);
    assert_int_equal(json_page_count(pg), 5);
    expect_record_text(pg, 2, LIT("{\"c\":\"\t\"}"));
    expect_record_text(pg, 3, LIT("{\"d\":\"\xff\"}"));

    /* a bad escape: the record parses, only that string is unreadable */
    assert_int_equal(json_page_parse_record(pg, 0, doc), 0);
    expect_bad_escape(json_get(json_root(doc), "a"), "\\ud800");
    assert_string_equal(json_string(json_get(json_root(doc), "ok")), "y");
    /* a NUL escape: the bytes are kept */
    assert_int_equal(json_page_parse_record(pg, 1, doc), 0);
    expect_bytes(json_get(json_root(doc), "b"), "x\0", 2);
    /* bytes that are not JSON fail the whole record */
    err_clear();
    assert_int_equal(json_page_parse_record(pg, 2, doc), ML_ERECORD);
    expect_msg("raw TAB", "control");
    assert_int_equal(json_type(json_root(doc)), JSON_ABSENT);
    err_clear();
    assert_int_equal(json_page_parse_record(pg, 3, doc), ML_ERECORD);
    expect_msg("byte 0xff", "UTF-8");
    assert_int_equal(json_type(json_root(doc)), JSON_ABSENT);
    assert_int_equal(json_page_parse_record(pg, 4, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "e"), &v), 0);
    assert_true(v == 1);
    /* and again, in another order, into the same doc */
    assert_int_equal(json_page_parse_record(pg, 3, doc), ML_ERECORD);
    assert_int_equal(json_page_parse_record(pg, 1, doc), 0);
    expect_bytes(json_get(json_root(doc), "b"), "x\0", 2);

    /* the messages never quote the record's bytes (they are PII) */
    page_set(pg,
             LIT("[{\"secret\":\"hunter2\t\"},{\"secret\":\"hunter2\xC3\x28\"},"
                 "{\"secret\":\"hunter2\"} trailing]"),
             ML_EJSON);
    assert_null(strstr(err_msg(), "hunter2"));
    page_set(pg,
             LIT("[{\"secret\":\"hunter2\t\"},{\"secret\":\"hunter2\xC3\x28\"},"
                 "{\"secret\":\"hunter2\",}]"),
             0);
    assert_int_equal(json_page_count(pg), 3);
    for (size_t i = 0; i < 3; i++) {
        err_clear();
        assert_int_equal(json_page_parse_record(pg, i, doc), ML_ERECORD);
        if (strstr(err_msg(), "hunter2"))
            fail_msg("record %zu: message '%s' quotes the record", i, err_msg());
    }
    json_free(doc);
    json_page_free(pg);
}

static void test_page_deep_record(void **state)
{
    (void)state;
    json_page *pg = json_page_new();
    json_doc *doc = json_doc_new();
    struct buf b = BUF_INIT;
    long long v = 0;
    buf_adds(&b, "[{\"a\":1},");
    nested_arrays(&b, 600);
    buf_addc(&b, ',');
    nested_arrays(&b, JSON_MAX_DEPTH); /* 513 deep in the page, 512 alone */
    buf_adds(&b, ",{\"b\":2}]");
    assert_int_equal(json_page_set_array(pg, &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(json_page_count(pg), 4);
    size_t len = 0;
    assert_non_null(json_page_record_text(pg, 1, &len));
    assert_int_equal(len, 1200);
    assert_int_equal(json_page_parse_record(pg, 0, doc), 0);
    err_clear();
    assert_int_equal(json_page_parse_record(pg, 1, doc), ML_ERECORD);
    expect_msg("600 deep", "nesting deeper than 512");
    assert_int_equal(json_page_parse_record(pg, 2, doc), 0);
    assert_int_equal(json_page_parse_record(pg, 3, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "b"), &v), 0);
    assert_true(v == 2);

    /* far deeper: the splitter counts, it does not recurse */
    buf_reset(&b);
    buf_addc(&b, '[');
    nested_arrays(&b, 100000);
    buf_adds(&b, ",1]");
    assert_int_equal(json_page_set_array(pg, &b), 0);
    assert_int_equal(json_page_count(pg), 2);
    assert_int_equal(json_page_parse_record(pg, 0, doc), ML_ERECORD);
    expect_msg("100000 deep", "nesting");
    assert_int_equal(json_page_parse_record(pg, 1, doc), 0);
    buf_release(&b);
    json_free(doc);
    json_page_free(pg);
}

static void test_page_add_record(void **state)
{
    (void)state;
    json_page *pg = json_page_new();
    json_doc *doc = json_doc_new();
    long long v = 0;
    assert_int_equal(json_page_add_record(pg, LIT("{\"a\":1}"), 1), 0);
    assert_int_equal(json_page_add_record(pg, LIT(BOM "{\"b\":2}"), 2), 0);
    assert_int_equal(json_page_add_record(pg, LIT("not json"), 3), 0);
    assert_int_equal(json_page_add_record(pg, LIT("[1,2]"), 4), 0);
    assert_int_equal(json_page_add_record(pg, LIT("  {\"c\":3}\r\n"), 7), 0);
    assert_int_equal(json_page_add_record(pg, LIT("{\"d\":\"x\"}"), 0), 0);
    char src[] = "{\"k\":1}";
    assert_int_equal(json_page_add_record(pg, src, strlen(src), 9), 0);
    src[5] = '9'; /* the page holds a copy */
    assert_int_equal(json_page_count(pg), 7);

    static const unsigned long lines[] = {1, 2, 3, 4, 7, 0, 9};
    for (size_t i = 0; i < NTEXTS(lines); i++)
        assert_int_equal(json_page_line(pg, i), lines[i]);
    assert_int_equal(json_page_line(pg, 99), 0);
    expect_record_text(pg, 0, LIT("{\"a\":1}"));
    expect_record_text(pg, 1, LIT("{\"b\":2}")); /* the BOM skipped */
    expect_record_text(pg, 4, LIT("{\"c\":3}"));
    expect_record_text(pg, 6, LIT("{\"k\":1}"));

    assert_int_equal(json_page_parse_record(pg, 0, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "a"), &v), 0);
    assert_true(v == 1);
    assert_int_equal(json_page_parse_record(pg, 1, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "b"), &v), 0);
    assert_true(v == 2);
    err_clear();
    assert_int_equal(json_page_parse_record(pg, 2, doc), ML_ERECORD);
    assert_true(err_msg()[0] != '\0');
    assert_int_equal(json_type(json_root(doc)), JSON_ABSENT);
    /* an array as a record is one value, not a page */
    assert_int_equal(json_page_parse_record(pg, 3, doc), 0);
    assert_int_equal(json_type(json_root(doc)), JSON_ARRAY);
    assert_int_equal(json_array_size(json_root(doc)), 2);
    assert_int_equal(json_page_parse_record(pg, 4, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "c"), &v), 0);
    assert_true(v == 3);
    assert_int_equal(json_page_parse_record(pg, 6, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "k"), &v), 0);
    assert_true(v == 1);

    /* records that are not one JSON value */
    json_page_reset(pg);
    assert_int_equal(json_page_count(pg), 0);
    static const struct text bad[] = {
        T(""),
        T("   "),
        T("{\"a\":1} x"),
        T("{\"a\":1}{\"b\":2}"),
        T("[1,]"),
        T("{\"a\":\"\t\"}"),
        T("\"\xC0\xAF\""),
        T(BOM),
    };
    for (size_t i = 0; i < NTEXTS(bad); i++)
        assert_int_equal(json_page_add_record(pg, bad[i].s, bad[i].len, i + 1), 0);
    assert_int_equal(json_page_count(pg), NTEXTS(bad));
    for (size_t i = 0; i < NTEXTS(bad); i++) {
        int rc = json_page_parse_record(pg, i, doc);
        if (rc != ML_ERECORD)
            fail_msg("record '%s': expected ML_ERECORD, got %d", show(bad[i].s, bad[i].len), rc);
        assert_int_equal(json_page_line(pg, i), i + 1);
    }
    struct buf deep = BUF_INIT;
    nested_arrays(&deep, JSON_MAX_DEPTH + 1);
    assert_int_equal(json_page_add_record(pg, deep.data, deep.len, 50), 0);
    err_clear();
    assert_int_equal(json_page_parse_record(pg, NTEXTS(bad), doc), ML_ERECORD);
    expect_msg("513 deep record", "nesting deeper than 512");
    buf_release(&deep);

    /* reset, then reuse */
    json_page_reset(pg);
    assert_int_equal(json_page_count(pg), 0);
    assert_int_equal(json_page_add_record(pg, LIT("{\"z\":26}"), 12), 0);
    assert_int_equal(json_page_count(pg), 1);
    assert_int_equal(json_page_line(pg, 0), 12);
    assert_int_equal(json_page_parse_record(pg, 0, doc), 0);
    assert_int_equal(json_int64(json_get(json_root(doc), "z"), &v), 0);
    assert_true(v == 26);
    json_free(doc);
    json_page_free(pg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64_exact),
        cmocka_unit_test(test_uint64_exact),
        cmocka_unit_test(test_not_an_integer),
        cmocka_unit_test(test_number_text_exact),
        cmocka_unit_test(test_strict_rejects),
        cmocka_unit_test(test_strict_accepts),
        cmocka_unit_test(test_error_offsets),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_escapes_decode),
        cmocka_unit_test(test_bad_surrogate_skipped_unread),
        cmocka_unit_test(test_nul_strings),
        cmocka_unit_test(test_nul_keys_never_match),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_navigation),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_null_safety),
        cmocka_unit_test(test_print_compact_exact),
        cmocka_unit_test(test_print_round_trip),
        cmocka_unit_test(test_quote),
        cmocka_unit_test(test_doc_reuse),
        cmocka_unit_test(test_doc_too_big),
        cmocka_unit_test(test_page_split),
        cmocka_unit_test(test_page_set_array_rejects),
        cmocka_unit_test(test_page_bad_records_fail_alone),
        cmocka_unit_test(test_page_deep_record),
        cmocka_unit_test(test_page_add_record),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
