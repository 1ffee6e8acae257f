/* test_schema_pg.c - unit tests of what init and plan of a PostgreSQL
 * warehouse decide without a server: the statement splitter (dollar
 * quotes, doubled quotes, comments), the one-line form of the plan (an
 * E'' literal for a line break), the generated monitoring views of the
 * PostgreSQL dialect and their refusals, and the key decisions shared with
 * MySQL (pii_key_check_state, pii_key_check_sample). The server side is
 * test_71_pg_init's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "ddlgen.h"
#include "error.h"
#include "pii.h"
#include "pii_key.h"
#include "schema_pg.h"
#include "streamdef.h"
#include "banned.h"

/* The statements of `text`, each followed by '|'. */
static void split(const char *text, struct buf *out)
{
    size_t pos = 0, len;
    const char *stmt;
    buf_reset(out);
    while (schema_pg_next(text, strlen(text), &pos, &stmt, &len)) {
        assert_int_equal(buf_add(out, stmt, len), 0);
        assert_int_equal(buf_addc(out, '|'), 0);
    }
}

static void test_split(void **state)
{
    struct buf out = BUF_INIT;
    (void)state;
    split("SELECT 1; SELECT 2;\n", &out);
    assert_string_equal(out.data, "SELECT 1|SELECT 2|");
    /* a ';' inside a dollar quote, a literal, an identifier or a comment
     * ends nothing */
    split("DO $ml$ BEGIN CREATE ROLE x; END $ml$;\nSELECT 'a;''b';", &out);
    assert_string_equal(out.data, "DO $ml$ BEGIN CREATE ROLE x; END $ml$|SELECT 'a;''b'|");
    split("SELECT \"we;ird\" FROM t; -- a; comment\n/* another; */ SELECT $$x;$$", &out);
    assert_string_equal(out.data, "SELECT \"we;ird\" FROM t|SELECT $$x;$$|");
    /* a $1 parameter is no dollar quote */
    split("SELECT $1; SELECT 2", &out);
    assert_string_equal(out.data, "SELECT $1|SELECT 2|");
    split("  ;; -- nothing\n", &out);
    assert_string_equal(out.data, "");
    buf_release(&out);
}

static void test_one_line(void **state)
{
    struct buf out = BUF_INIT;
    const char *s = "CREATE TABLE t (\n  a int -- the a\n, b text /* b */\n)";
    (void)state;
    assert_int_equal(schema_pg_one_line(s, strlen(s), &out), 0);
    assert_string_equal(out.data, "CREATE TABLE t ( a int , b text )");
    buf_reset(&out);
    s = "COMMENT ON TABLE t IS 'two\nlines, a \\ and it''s'";
    assert_int_equal(schema_pg_one_line(s, strlen(s), &out), 0);
    assert_string_equal(out.data, "COMMENT ON TABLE t IS E'two\\nlines, a \\\\ and it''s'");
    buf_reset(&out);
    s = "SELECT 'a  b' AS \"x  y\"";
    assert_int_equal(schema_pg_one_line(s, strlen(s), &out), 0);
    assert_string_equal(out.data, "SELECT 'a  b' AS \"x  y\"");
    buf_release(&out);
}

static const struct column_def cols[] = {
    {.name = "order_id", .type = COL_BIGINT, .required = true},
    {.name = "status", .type = COL_TEXT, .size = 16},
    {.name = "ordered_at", .type = COL_DATETIME},
};
static const char *const accepted[] = {"open", "it's"};
static const struct check_def checks[] = {
    {.kind = CHECK_ACCEPTED, .col = 1, .values = accepted, .nvalues = 2},
    {.kind = CHECK_NOT_FUTURE, .col = 2},
};
static const struct table_def orders = {
    .name = "orders_raw", .cols = cols, .ncols = 3, .nkey = 1, .checks = checks, .nchecks = 2};

static void test_monitor_views(void **state)
{
    struct buf out = BUF_INIT;
    struct ddlgen_check_part parts[2] = {{&orders, &checks[0]}, {&orders, &checks[1]}};
    struct ddlgen_monitor m = {.kind = DDLGEN_MONITOR_CHECK, .parts = parts, .nparts = 1};
    (void)state;
    snprintf(m.name, sizeof(m.name), "%s", "monitor_orders_raw_status_accepted");
    assert_int_equal(ddlgen_monitor_view(&out, &m, DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data,
                        "CREATE OR REPLACE VIEW \"monitor_orders_raw_status_accepted\" WITH "
                        "(security_invoker = true) AS SELECT \"r\".\"order_id\", \"r\".\"status\" "
                        "FROM \"orders_raw\" AS \"r\" WHERE \"r\".\"status\" NOT IN ('open', "
                        "'it''s')");
    /* two parts: the long shape, with text keys and values, and UTC now */
    buf_reset(&out);
    m.nparts = 2;
    snprintf(m.name, sizeof(m.name), "%s", "monitor_orders_problems");
    assert_int_equal(ddlgen_monitor_view(&out, &m, DB_DIALECT_POSTGRES), 0);
    assert_non_null(strstr(out.data, "concat_ws(':', \"r\".\"order_id\") AS \"record_key\""));
    assert_non_null(strstr(out.data, "CAST(\"r\".\"ordered_at\" AS text) AS \"value\""));
    assert_non_null(strstr(out.data, "\"r\".\"ordered_at\" > (now() AT TIME ZONE 'UTC')"));
    assert_null(strchr(out.data, '`'));
    /* refusals leave the buffer as it was */
    buf_reset(&out);
    snprintf(m.name, sizeof(m.name), "%s", "orders_problems");
    assert_int_equal(ddlgen_monitor_view(&out, &m, DB_DIALECT_POSTGRES), ML_EINVAL);
    memset(m.name, 'x', 64);
    memcpy(m.name, "monitor_", 8);
    m.name[64] = '\0';
    assert_int_equal(ddlgen_monitor_view(&out, &m, DB_DIALECT_POSTGRES), ML_EINVAL);
    assert_non_null(strstr(err_msg(), "longer than 63 bytes"));
    snprintf(m.name, sizeof(m.name), "%s", "monitor_none");
    m.nparts = 0;
    assert_int_equal(ddlgen_monitor_view(&out, &m, DB_DIALECT_POSTGRES), ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void test_key_decisions(void **state)
{
    static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    struct pii_key_state st = {.table = true, .stored = true};
    char fp[PII_KEY_FP_BUF];
    unsigned char d[CRYPTO_DIGEST_LEN];
    (void)state;
    assert_int_equal(pii_key_fingerprint(key, 32, fp), 0);
    snprintf(st.fingerprint, sizeof(st.fingerprint), "%s", fp);
    assert_int_equal(pii_key_check_state(&st, fp, false, "run"), 0);
    snprintf(st.fingerprint, sizeof(st.fingerprint), "%s", PII_KEY_UNKEYED);
    assert_int_equal(pii_key_check_state(&st, fp, false, "run"), ML_ECONFIG);
    assert_non_null(strstr(err_msg(), "run: the configured digest key"));
    st.stored = false;
    assert_int_equal(pii_key_check_state(&st, fp, true, NULL), 0);
    assert_int_equal(pii_key_check_state(&st, fp, false, "run"), ML_ECONFIG);
    /* a stored digest: reproduced by the key, or not */
    assert_int_equal(pii_digest(key, 32, "city", "Berlin", 6, d), 0);
    assert_int_equal(
        pii_key_check_sample(key, 32, fp, "sensitive_city_ids", "city", "Berlin", 6, d, 32, NULL),
        0);
    assert_int_equal(
        pii_key_check_sample(key, 31, fp, "sensitive_city_ids", "city", "Berlin", 6, d, 32, NULL),
        ML_ECONFIG);
    assert_non_null(
        strstr(err_msg(), "does not reproduce the digests stored in sensitive_city_ids"));
    assert_null(strstr(err_msg(), "Berlin"));
    assert_int_equal(
        pii_key_check_sample(key, 32, fp, "sensitive_city_ids", "city", "Berlin", 6, d, 31, NULL),
        ML_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_one_line),
        cmocka_unit_test(test_monitor_views),
        cmocka_unit_test(test_key_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
