/* test_dberr.c - unit tests of the one classification of database errors
 * (db.h db_errno_class): each class with its errors, the derived tests
 * (transient, connection lost), and errors that must stay fatal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"
#include "banned.h"

static void test_retry_tx(void **state)
{
    (void)state;
    static const unsigned errs[] = {1213, 1205, 1047, 8002, 8005};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        assert_int_equal(db_errno_class(errs[i]), DB_ERR_RETRY_TX);
        assert_true(db_errno_is_transient(errs[i]));
    }
}

static void test_split_and_infile(void **state)
{
    (void)state;
    assert_int_equal(db_errno_class(1180), DB_ERR_SPLIT);
    assert_int_equal(db_errno_class(8004), DB_ERR_SPLIT);
    assert_false(db_errno_is_transient(1180));
    static const unsigned infile[] = {1148, 3948, 4166, 2068, 1105};
    for (size_t i = 0; i < sizeof(infile) / sizeof(infile[0]); i++)
        assert_int_equal(db_errno_class(infile[i]), DB_ERR_NO_INFILE);
}

static void test_lost(void **state)
{
    (void)state;
    static const unsigned lost[] = {2006, 2013, 2002, 2003, 1927, 1053};
    for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++) {
        assert_int_equal(db_errno_class(lost[i]), DB_ERR_LOST);
        assert_false(db_errno_is_transient(lost[i]));
    }
}

static void test_fatal(void **state)
{
    (void)state;
    /* syntax, duplicate key, access denied, unknown table, none */
    static const unsigned fatal[] = {1064, 1062, 1045, 1146, 0, 8003};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        assert_int_equal(db_errno_class(fatal[i]), DB_ERR_FATAL);
        assert_false(db_errno_is_transient(fatal[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_tx),
        cmocka_unit_test(test_split_and_infile),
        cmocka_unit_test(test_lost),
        cmocka_unit_test(test_fatal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
