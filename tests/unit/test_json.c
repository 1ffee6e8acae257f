/* test_json.c - unit tests of loader/json.c beyond cJSON: strings holding NUL
 * bytes ("\u0000") keep their whole value (json_string_len), are never handed
 * out cut (json_string returns NULL), survive json_duplicate and json_print;
 * keys holding a NUL never match a plain key; nothing but whitespace may
 * follow the document. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "json.h"
#include "banned.h"

static json_doc *parse_ok(const char *text, size_t len)
{
    json_doc *doc = NULL;
    if (json_parse(text, len, &doc))
        fail_msg("does not parse: %s: %s", err_msg(), text);
    return doc;
}

static void expect_bytes(const json_node *n, const char *want, size_t want_len)
{
    size_t len = 99;
    const char *s = json_string_len(n, &len);
    assert_non_null(s);
    assert_int_equal(len, want_len);
    assert_memory_equal(s, want, want_len);
    assert_int_equal(s[len], '\0');
}

static void test_plain_strings_unchanged(void **state)
{
    (void)state;
    const char *t = "{\"a\":\"x\\\"y\",\"b\":\"\\u00fc\\ud83d\\ude00\"}";
    json_doc *d = parse_ok(t, strlen(t));
    assert_string_equal(json_string(json_get(json_root(d), "a")), "x\"y");
    expect_bytes(json_get(json_root(d), "b"), "\xc3\xbc\xf0\x9f\x98\x80", 6);
    json_free(d);
}

static void test_nul_value_kept_whole(void **state)
{
    (void)state;
    /* several strings around the NUL ones: the lengths land on the right nodes */
    const char *t = "[\"a\",{\"k\":\"b\\u0000c\",\"m\":\"\\\\u0000\"},\"\\u0000\","
                    "\"\\u00fc\\u0000\\ud83d\\ude00\\u0000\",\"plain\",[\"x\\u0000\"]]";
    json_doc *d = parse_ok(t, strlen(t));
    const json_node *e = json_child(json_root(d));
    assert_string_equal(json_string(e), "a");
    e = json_next(e);
    const json_node *k = json_get(e, "k");
    expect_bytes(k, "b\0c", 3);
    assert_null(json_string(k)); /* never handed out cut */
    assert_int_equal(json_type(k), JSON_STRING);
    /* an escaped backslash followed by u0000 is no NUL */
    assert_string_equal(json_string(json_get(e, "m")), "\\u0000");
    e = json_next(e);
    expect_bytes(e, "\0", 1);
    e = json_next(e);
    expect_bytes(e, "\xc3\xbc\0\xf0\x9f\x98\x80\0", 8);
    e = json_next(e);
    assert_string_equal(json_string(e), "plain");
    e = json_next(e);
    expect_bytes(json_child(e), "x\0", 2);
    json_free(d);
}

static void test_raw_nul_byte_in_string(void **state)
{
    (void)state;
    const char t[] = "[\"ab\0cd\",\"e\"]";
    json_doc *d = parse_ok(t, sizeof(t) - 1);
    expect_bytes(json_child(json_root(d)), "ab\0cd", 5);
    assert_string_equal(json_string(json_next(json_child(json_root(d)))), "e");
    json_free(d);
}

static void test_nul_key_never_matches(void **state)
{
    (void)state;
    const char *t =
        "{\"id\\u0000x\":\"evil\",\"id\":\"good\",\"n\":{\"a\\u0000\":1,\"v\":\"w\\u0000\"}}";
    json_doc *d = parse_ok(t, strlen(t));
    const json_node *r = json_root(d);
    assert_string_equal(json_string(json_get(r, "id")), "good");
    const json_node *first = json_child(r);
    assert_string_equal(json_key(first), "id\\u0000x");
    assert_string_equal(json_string(first), "evil");
    assert_null(json_get(json_get(r, "n"), "a"));
    assert_non_null(json_get(json_get(r, "n"), "a\\u0000"));
    expect_bytes(json_path(r, "n.v"), "w\0", 2);
    json_free(d);
}

static void test_duplicate_and_print_keep_nul(void **state)
{
    (void)state;
    const char *t = "{\"a\":\"x\\u0000y\",\"b\":[1,2.5,true,null,\"\\u0000\"],\"c\":\"\\t\"}";
    json_doc *d = parse_ok(t, strlen(t));
    json_node *dup = json_duplicate(json_root(d));
    json_node *one = json_duplicate(json_get(json_root(d), "a"));
    assert_non_null(dup);
    assert_non_null(one);
    json_free(d);
    expect_bytes(json_get(dup, "a"), "x\0y", 3);
    expect_bytes(one, "x\0y", 3);
    struct buf out = BUF_INIT;
    assert_int_equal(json_print(dup, &out), 0);
    assert_string_equal(out.data,
                        "{\"a\":\"x\\u0000y\",\"b\":[1,2.5,true,null,\"\\u0000\"],\"c\":\"\\t\"}");
    /* and what was printed parses back to the same bytes */
    json_doc *back = parse_ok(out.data, out.len);
    expect_bytes(json_get(json_root(back), "a"), "x\0y", 3);
    json_free(back);
    buf_reset(&out);
    assert_int_equal(json_quote_len(&out, "q\"\0\x01", 4), 0);
    assert_string_equal(out.data, "\"q\\\"\\u0000\\u0001\"");
    buf_release(&out);
    json_node_free(dup);
    json_node_free(one);
}

static void test_trailing_data_rejected(void **state)
{
    (void)state;
    json_doc *d = NULL;
    const char a[] = "[1] \n";
    const char b[] = "[1]\0\0";
    const char c[] = "[1]\0[2]";
    const char e[] = "[1] x";
    assert_int_equal(json_parse(a, sizeof(a) - 1, &d), 0);
    json_free(d);
    assert_int_equal(json_parse(b, sizeof(b) - 1, &d), 0); /* NUL padding */
    json_free(d);
    assert_int_equal(json_parse(c, sizeof(c) - 1, &d), ML_EJSON);
    assert_null(d);
    assert_int_equal(json_parse(e, sizeof(e) - 1, &d), ML_EJSON);
    assert_non_null(strstr(err_msg(), "trailing data"));
    assert_int_equal(json_parse("[\"\\ud800\"]", 10, &d), ML_EJSON); /* lone surrogate */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_strings_unchanged),
        cmocka_unit_test(test_nul_value_kept_whole),
        cmocka_unit_test(test_raw_nul_byte_in_string),
        cmocka_unit_test(test_nul_key_never_matches),
        cmocka_unit_test(test_duplicate_and_print_keep_nul),
        cmocka_unit_test(test_trailing_data_rejected),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
