/* test_sqlgen.c - unit tests of the batch upsert SQL text: the exact
 * statements for MariaDB (VALUES(col)) and MySQL 8 (row alias "new"), the
 * metadata assignments placed before the data assignments (the server
 * evaluates them left to right and the comparison must see the old row), and
 * key columns never assigned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "mapping.h"
#include "sqlgen.h"
#include "banned.h"

#define MSG_HEAD                                                                                   \
    "INSERT INTO `messages_raw` (`message_id`,`created_at`,`sender_id`,`receiver_id`,"             \
    "`load_run_id`,`loaded_at`) VALUES "

#define MSG_SAME_MARIADB                                                                           \
    "`created_at`<=>VALUES(`created_at`) AND `sender_id`<=>VALUES(`sender_id`) AND "               \
    "`receiver_id`<=>VALUES(`receiver_id`)"

#define MSG_TAIL_MARIADB                                                                           \
    " ON DUPLICATE KEY UPDATE "                                                                    \
    "`load_run_id`=IF(" MSG_SAME_MARIADB ",`load_run_id`,VALUES(`load_run_id`)),"                  \
    "`loaded_at`=IF(" MSG_SAME_MARIADB ",`loaded_at`,VALUES(`loaded_at`)),"                        \
    "`created_at`=VALUES(`created_at`),`sender_id`=VALUES(`sender_id`),"                           \
    "`receiver_id`=VALUES(`receiver_id`)"

#define MSG_SAME_MYSQL8                                                                            \
    "`created_at`<=>new.`created_at` AND `sender_id`<=>new.`sender_id` AND "                       \
    "`receiver_id`<=>new.`receiver_id`"

#define MSG_TAIL_MYSQL8                                                                            \
    " AS new ON DUPLICATE KEY UPDATE "                                                             \
    "`load_run_id`=IF(" MSG_SAME_MYSQL8 ",`load_run_id`,new.`load_run_id`),"                       \
    "`loaded_at`=IF(" MSG_SAME_MYSQL8 ",`loaded_at`,new.`loaded_at`),"                             \
    "`created_at`=new.`created_at`,`sender_id`=new.`sender_id`,"                                   \
    "`receiver_id`=new.`receiver_id`"

/* ---- helpers ---- */

static const struct table_def *messages_table(void)
{
    const struct stream_def *m = mapping_find("messages");
    assert_non_null(m);
    return m->table;
}

static char *tail_of(const struct table_def *t, enum db_dialect d)
{
    struct buf sql = BUF_INIT;
    assert_int_equal(sqlgen_upsert_tail(&sql, t, d), 0);
    return buf_detach(&sql, NULL);
}

/* Position of "`col`=" as an assignment in the UPDATE list (after the
 * "UPDATE " keyword, at the start or after a ','); NULL when absent. */
static const char *assignment(const char *sql, const char *col)
{
    const char *upd = strstr(sql, "ON DUPLICATE KEY UPDATE ");
    assert_non_null(upd);
    const char *list = upd + strlen("ON DUPLICATE KEY UPDATE ");
    char pat[128];
    snprintf(pat, sizeof(pat), "`%s`=", col);
    for (const char *p = strstr(list, pat); p; p = strstr(p + 1, pat))
        if (p == list || p[-1] == ',')
            return p;
    return NULL;
}

/* Checks ordering and key exclusion for one table and dialect. */
static void check_assignments(const struct table_def *t, enum db_dialect d)
{
    char *sql = tail_of(t, d);
    const char *run = assignment(sql, "load_run_id");
    const char *at = assignment(sql, "loaded_at");
    assert_non_null(run);
    assert_non_null(at);
    assert_true(run < at);
    assert_true(strncmp(run, "`load_run_id`=IF(", 17) == 0);
    assert_true(strncmp(at, "`loaded_at`=IF(", 15) == 0);
    for (unsigned i = 0; i < t->nkey; i++)
        if (assignment(sql, t->cols[i].name))
            fail_msg("key column '%s' of '%s' is assigned: %s", t->cols[i].name, t->name, sql);
    for (unsigned i = t->nkey; i < t->ncols; i++) {
        const char *a = assignment(sql, t->cols[i].name);
        if (!a)
            fail_msg("column '%s' of '%s' is not assigned: %s", t->cols[i].name, t->name, sql);
        if (a < run || a < at)
            fail_msg("column '%s' is assigned before the metadata: %s", t->cols[i].name, sql);
    }
    free(sql);
}

/* ---- tests ---- */

static void test_head_messages(void **state)
{
    (void)state;
    struct buf sql = BUF_INIT;
    assert_int_equal(sqlgen_upsert_head(&sql, messages_table()), 0);
    assert_string_equal(sql.data, MSG_HEAD);
    buf_release(&sql);
}

static void test_head_appends(void **state)
{
    (void)state;
    struct buf sql = BUF_INIT;
    assert_int_equal(buf_adds(&sql, "/* x */ "), 0);
    assert_int_equal(sqlgen_upsert_head(&sql, messages_table()), 0);
    assert_string_equal(sql.data, "/* x */ " MSG_HEAD);
    buf_release(&sql);
}

static void test_tail_messages_mariadb(void **state)
{
    (void)state;
    char *sql = tail_of(messages_table(), DB_DIALECT_MARIADB);
    assert_string_equal(sql, MSG_TAIL_MARIADB);
    assert_null(strstr(sql, "new."));
    assert_null(strstr(sql, " AS new"));
    free(sql);
}

static void test_tail_messages_mysql8(void **state)
{
    (void)state;
    char *sql = tail_of(messages_table(), DB_DIALECT_MYSQL8);
    assert_string_equal(sql, MSG_TAIL_MYSQL8);
    assert_null(strstr(sql, "VALUES("));
    free(sql);
}

static void test_full_statement_shape(void **state)
{
    (void)state;
    struct buf sql = BUF_INIT;
    assert_int_equal(sqlgen_upsert_head(&sql, messages_table()), 0);
    assert_int_equal(buf_adds(&sql, "(1,'2021-10-23 07:49:58.213',12,13,5,UTC_TIMESTAMP(3))"), 0);
    assert_int_equal(sqlgen_upsert_tail(&sql, messages_table(), DB_DIALECT_MYSQL8), 0);
    assert_string_equal(sql.data, MSG_HEAD
                        "(1,'2021-10-23 07:49:58.213',12,13,5,UTC_TIMESTAMP(3))" MSG_TAIL_MYSQL8);
    buf_release(&sql);
}

static void test_metadata_first_key_never_assigned(void **state)
{
    (void)state;
    const struct stream_def *u = mapping_find("users");
    assert_non_null(u);
    const struct table_def *tables[] = {messages_table(), u->table, u->children[0].table};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        check_assignments(tables[i], DB_DIALECT_MARIADB);
        check_assignments(tables[i], DB_DIALECT_MYSQL8);
    }
    /* message_id, explicitly */
    char *sql = tail_of(messages_table(), DB_DIALECT_MARIADB);
    assert_null(assignment(sql, "message_id"));
    assert_null(strstr(sql, "`message_id`"));
    free(sql);
}

static void test_composite_key_not_compared(void **state)
{
    (void)state;
    const struct table_def *subs = mapping_find("users")->children[0].table;
    char *sql = tail_of(subs, DB_DIALECT_MARIADB);
    /* the key columns are neither assigned nor part of the "unchanged" test */
    assert_null(strstr(sql, "`user_id`"));
    assert_null(strstr(sql, "`subscription_no`"));
    assert_non_null(strstr(sql, "IF(`created_at`<=>VALUES(`created_at`) AND "));
    assert_non_null(strstr(sql, "`amount`<=>VALUES(`amount`),`load_run_id`,"));
    free(sql);
}

static void test_key_only_table(void **state)
{
    (void)state;
    static const struct column_def cols[] = {{.name = "a", .type = COL_BIGINT},
                                             {.name = "b", .type = COL_BIGINT}};
    static const struct table_def t = {.name = "pairs", .cols = cols, .ncols = 2, .nkey = 2};
    char *sql = tail_of(&t, DB_DIALECT_MARIADB);
    assert_string_equal(sql, " ON DUPLICATE KEY UPDATE "
                             "`load_run_id`=IF(TRUE,`load_run_id`,VALUES(`load_run_id`)),"
                             "`loaded_at`=IF(TRUE,`loaded_at`,VALUES(`loaded_at`))");
    free(sql);
}

static void test_identifiers_quoted(void **state)
{
    (void)state;
    static const struct column_def cols[] = {{.name = "id", .type = COL_BIGINT},
                                             {.name = "we`ird", .type = COL_TEXT, .size = 10}};
    static const struct table_def t = {.name = "odd`table", .cols = cols, .ncols = 2, .nkey = 1};
    struct buf sql = BUF_INIT;
    assert_int_equal(sqlgen_upsert_head(&sql, &t), 0);
    assert_string_equal(sql.data, "INSERT INTO `odd``table` "
                                  "(`id`,`we``ird`,`load_run_id`,`loaded_at`) VALUES ");
    buf_reset(&sql);
    assert_int_equal(sqlgen_upsert_tail(&sql, &t, DB_DIALECT_MYSQL8), 0);
    assert_non_null(strstr(sql.data, ",`we``ird`=new.`we``ird`"));
    buf_release(&sql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_messages),
        cmocka_unit_test(test_head_appends),
        cmocka_unit_test(test_tail_messages_mariadb),
        cmocka_unit_test(test_tail_messages_mysql8),
        cmocka_unit_test(test_full_statement_shape),
        cmocka_unit_test(test_metadata_first_key_never_assigned),
        cmocka_unit_test(test_composite_key_not_compared),
        cmocka_unit_test(test_key_only_table),
        cmocka_unit_test(test_identifiers_quoted),
    };
    return cmocka_run_group_tests_name("sqlgen", tests, NULL, NULL);
}
