/* test_wh.c - unit tests of what the warehouse interface (wh.h) decides
 * without a server: the retry class and the "no such table" test of each
 * kind's failure codes (and that the other kind's code is ignored), which
 * of them is a limit one record exceeds alone, the
 * identifier quoting of both dialects (the quote doubled inside, an empty
 * name refused with the buffer left as it was), and the placeholder
 * replacement of the MySQL implementation (not inside literals or quoted
 * names, $10 as the tenth, NULL values, lengths honoured; $0 and a
 * placeholder beyond the parameters refused). The server side is in the
 * integration tests of status, check, doctor and init of both warehouses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "wh.h"
#include "banned.h"

static void test_error_classes(void **state)
{
    (void)state;
    /* MySQL by error number; a SQLSTATE beside it is not looked at */
    assert_int_equal(wh_code_class(DB_DIALECT_MARIADB, 1213, NULL), DB_ERR_RETRY_TX);
    assert_int_equal(wh_code_class(DB_DIALECT_MYSQL8, 1205, NULL), DB_ERR_RETRY_TX);
    assert_int_equal(wh_code_class(DB_DIALECT_MARIADB, 1180, NULL), DB_ERR_SPLIT);
    assert_int_equal(wh_code_class(DB_DIALECT_MARIADB, 2013, NULL), DB_ERR_LOST);
    assert_int_equal(wh_code_class(DB_DIALECT_MARIADB, 1146, NULL), DB_ERR_FATAL);
    assert_int_equal(wh_code_class(DB_DIALECT_MARIADB, 1062, "40P01"), DB_ERR_FATAL);
    /* PostgreSQL by SQLSTATE; an error number beside it is not looked at */
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "40P01"), DB_ERR_RETRY_TX);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "40001"), DB_ERR_RETRY_TX);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "55P03"), DB_ERR_RETRY_TX);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "54000"), DB_ERR_SPLIT);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "08006"), DB_ERR_LOST);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "57P01"), DB_ERR_LOST);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 1213, "23505"), DB_ERR_FATAL);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 1213, NULL), DB_ERR_FATAL);
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, ""), DB_ERR_FATAL);
}

static void test_undefined_table(void **state)
{
    (void)state;
    assert_true(wh_code_undefined_table(DB_DIALECT_MARIADB, 1146, NULL));
    assert_true(wh_code_undefined_table(DB_DIALECT_MYSQL8, 1146, "00000"));
    assert_false(wh_code_undefined_table(DB_DIALECT_MARIADB, 1054, "42P01")); /* unknown column */
    assert_false(wh_code_undefined_table(DB_DIALECT_MARIADB, 0, "42P01"));
    assert_true(wh_code_undefined_table(DB_DIALECT_POSTGRES, 0, "42P01"));
    assert_false(wh_code_undefined_table(DB_DIALECT_POSTGRES, 1146, "42703")); /* column */
    assert_false(wh_code_undefined_table(DB_DIALECT_POSTGRES, 1146, NULL));
    assert_false(wh_code_undefined_table(DB_DIALECT_POSTGRES, 0, ""));
}

/* A limit one record exceeds alone: PostgreSQL's 54000 only; not its out of
 * memory (the server's state), nor any MySQL code (a writeset limit is the
 * operator's setting), though all of them split a batch. */
static void test_record_limit(void **state)
{
    (void)state;
    assert_true(wh_code_record_limit(DB_DIALECT_POSTGRES, 0, "54000"));
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "54000"), DB_ERR_SPLIT);
    assert_false(wh_code_record_limit(DB_DIALECT_POSTGRES, 0, "53200"));
    assert_int_equal(wh_code_class(DB_DIALECT_POSTGRES, 0, "53200"), DB_ERR_SPLIT);
    assert_false(wh_code_record_limit(DB_DIALECT_POSTGRES, 0, "54001")); /* statement too complex */
    assert_false(wh_code_record_limit(DB_DIALECT_POSTGRES, 0, NULL));
    assert_false(wh_code_record_limit(DB_DIALECT_MARIADB, 1180, "54000"));
    assert_int_equal(wh_code_class(DB_DIALECT_MARIADB, 1180, NULL), DB_ERR_SPLIT);
    assert_false(wh_code_record_limit(DB_DIALECT_MYSQL8, 8004, NULL));
}

static void test_quoting(void **state)
{
    struct buf out = BUF_INIT;
    (void)state;
    assert_int_equal(wh_append_ident(DB_DIALECT_MARIADB, &out, "orders"), 0);
    assert_string_equal(out.data, "`orders`");
    buf_reset(&out);
    assert_int_equal(wh_append_ident(DB_DIALECT_MYSQL8, &out, "a`b\"c"), 0);
    assert_string_equal(out.data, "`a``b\"c`");
    buf_reset(&out);
    assert_int_equal(wh_append_ident(DB_DIALECT_POSTGRES, &out, "a`b\"c"), 0);
    assert_string_equal(out.data, "\"a`b\"\"c\"");
    buf_reset(&out);
    assert_int_equal(wh_append_qualified(DB_DIALECT_MARIADB, &out, "dwh", "pii_key"), 0);
    assert_string_equal(out.data, "`dwh`.`pii_key`");
    buf_reset(&out);
    assert_int_equal(wh_append_qualified(DB_DIALECT_POSTGRES, &out, "Mask load", "t\""), 0);
    assert_string_equal(out.data, "\"Mask load\".\"t\"\"\"");
    /* must fail: an empty name, the buffer as it was */
    buf_reset(&out);
    assert_int_equal(buf_adds(&out, "SELECT "), 0);
    assert_int_equal(wh_append_ident(DB_DIALECT_POSTGRES, &out, ""), ML_EINVAL);
    assert_int_equal(wh_append_ident(DB_DIALECT_MARIADB, &out, NULL), ML_EINVAL);
    assert_int_equal(wh_append_qualified(DB_DIALECT_MARIADB, &out, "dwh", ""), ML_EINVAL);
    assert_int_equal(wh_append_qualified(DB_DIALECT_POSTGRES, &out, "", "t"), ML_EINVAL);
    assert_string_equal(out.data, "SELECT ");
    buf_release(&out);
}

/* A stand-in for the server's escaping: 'value' with ' doubled, and the
 * value's length in brackets (to see lengths honoured). */
static int fake_quote(void *ctx, struct buf *out, const char *s, size_t len)
{
    int rc = buf_addc(out, '\'');
    (void)ctx;
    for (size_t i = 0; !rc && i < len; i++)
        rc = s[i] == '\'' ? buf_adds(out, "''") : buf_addc(out, s[i] ? s[i] : '0');
    return rc ? rc : buf_addf(out, "'[%zu]", len);
}

static void test_bind_text(void **state)
{
    const char *const v[10] = {"a", NULL, "it's", "3", "4", "5", "6", "7", "8", "ten"};
    const size_t lens[2] = {3, 0};
    const char bin[] = {'x', '\0', 'y'};
    const char *const bv[2] = {bin, ""};
    struct buf out = BUF_INIT;
    (void)state;
    assert_int_equal(wh_bind_text(&out, "SELECT $1, $2, $3", 3, v, NULL, fake_quote, NULL), 0);
    assert_string_equal(out.data, "SELECT 'a'[1], NULL, 'it''s'[4]");
    buf_reset(&out);
    assert_int_equal(wh_bind_text(&out, "x = $10 AND y = $1", 10, v, NULL, fake_quote, NULL), 0);
    assert_string_equal(out.data, "x = 'ten'[3] AND y = 'a'[1]");
    /* not inside a literal (with MySQL's backslash escape and a doubled
     * quote), nor a quoted name; "$" before a non-digit stays */
    buf_reset(&out);
    assert_int_equal(wh_bind_text(&out, "SELECT '$1 \\' $1', 'a''$1', `$1`, \"$1\", $a, $1", 1, v,
                                  NULL, fake_quote, NULL),
                     0);
    assert_string_equal(out.data, "SELECT '$1 \\' $1', 'a''$1', `$1`, \"$1\", $a, 'a'[1]");
    /* lengths: a value is its bytes, not its C string */
    buf_reset(&out);
    assert_int_equal(wh_bind_text(&out, "$1|$2", 2, bv, lens, fake_quote, NULL), 0);
    assert_string_equal(out.data, "'x0y'[3]|''[0]");
    /* must fail: $0, and a placeholder beyond the parameters */
    buf_reset(&out);
    assert_int_equal(wh_bind_text(&out, "SELECT $0", 1, v, NULL, fake_quote, NULL), ML_EINVAL);
    buf_reset(&out);
    assert_int_equal(wh_bind_text(&out, "SELECT $2", 1, v, NULL, fake_quote, NULL), ML_EINVAL);
    assert_non_null(strstr(err_msg(), "$2 of 1"));
    buf_reset(&out);
    assert_int_equal(wh_bind_text(&out, "SELECT $1", 0, NULL, NULL, fake_quote, NULL), ML_EINVAL);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_classes), cmocka_unit_test(test_undefined_table),
        cmocka_unit_test(test_record_limit),  cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_bind_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
