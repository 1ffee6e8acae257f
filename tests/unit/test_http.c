/* test_http.c - http_url_redact: what of a URL may be shown (logs, error
 * messages, tables) and what becomes ***. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "http.h"
#include "banned.h"

static void expect_shown(const char *url, const char *shown)
{
    struct buf b = BUF_INIT;
    assert_int_equal(http_url_redact(url, &b), 0);
    assert_string_equal(b.data, shown);
    buf_release(&b);
}

static void test_kept(void **state)
{
    (void)state;
    expect_shown("http://127.0.0.1:8080/v1/users", "http://127.0.0.1:8080/v1/users");
    expect_shown("https://h/users?page=3&limit=100", "https://h/users?page=3&limit=100");
    expect_shown("https://h", "https://h");
    expect_shown("", "");
    expect_shown("not a url", "not a url");
    /* an '@' in the path is no userinfo */
    expect_shown("http://h/a@b", "http://h/a@b");
}

static void test_userinfo(void **state)
{
    (void)state;
    expect_shown("http://user:S3cr3t@h:81/x?page=1", "http://***@h:81/x?page=1");
    expect_shown("https://tok@h", "https://***@h");
    expect_shown("https://u:p@ss@h/", "https://***@h/"); /* the last '@' ends it */
    expect_shown("http://h?q=a@b", "http://h?q=***");
}

static void test_query_values(void **state)
{
    (void)state;
    expect_shown("http://h/u?api_key=S3cr3t&page=2&limit=10",
                 "http://h/u?api_key=***&page=2&limit=10");
    expect_shown("http://h/u?page=2&token=abc&x=", "http://h/u?page=2&token=***&x=***");
    expect_shown("http://h/u?S3cr3t&page=1", "http://h/u?***&page=1");
    expect_shown("http://h/u?a=1=2&&b=3", "http://h/u?a=***&&b=***");
    expect_shown("http://h/u?", "http://h/u?");
    /* page and limit keep numbers only; other names are redacted whatever
     * their case */
    expect_shown("http://h/u?page=S3cr3t&limit=9", "http://h/u?page=***&limit=9");
    expect_shown("http://h/u?Page=1&LIMIT=2", "http://h/u?Page=***&LIMIT=***");
    expect_shown("http://h/u?pages=1", "http://h/u?pages=***");
}

static void test_fragment(void **state)
{
    (void)state;
    expect_shown("http://h/u#access_token=S3cr3t", "http://h/u#***");
    expect_shown("http://h/u?page=1#t=S", "http://h/u?page=1#***");
    expect_shown("http://h/u?k=v#", "http://h/u?k=***#");
    expect_shown("http://u:p@h#x", "http://***@h#***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept),
        cmocka_unit_test(test_userinfo),
        cmocka_unit_test(test_query_values),
        cmocka_unit_test(test_fragment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
