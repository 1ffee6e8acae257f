/* test_pg.c - unit tests of what the pg module decides without a server:
 * the SQLSTATE classes (each class with its states, states that must stay
 * fatal), COPY's text-format escaping and the NUL refusal, literal and
 * identifier quoting, the TLS modes' sslmode, and the connection refusals
 * (bad TLS parameters; a closed port named with host:port and user, never
 * the password). The server side is test_70_pg_warehouse's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "pg.h"
#include "banned.h"

static void test_sqlstate_classes(void **state)
{
    (void)state;
    static const char *const retry[] = {"40001", "40P01", "55P03"};
    static const char *const split[] = {"53200", "54000"};
    static const char *const lost[] = {"08000", "08003", "08006", "08001", "08004",
                                       "08P01", "57P01", "57P02", "57P03"};
    /* a constraint, a syntax error, a bad value, a missing privilege, a
     * query canceled by statement_timeout, a failed transaction: fatal */
    static const char *const fatal[] = {"23505", "42601", "22021", "22P04", "42501", "57014",
                                        "25P02", "40003", "53300", "",      "4000",  "400011"};
    for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
        assert_int_equal(pg_sqlstate_class(retry[i]), DB_ERR_RETRY_TX);
    for (size_t i = 0; i < sizeof(split) / sizeof(split[0]); i++)
        assert_int_equal(pg_sqlstate_class(split[i]), DB_ERR_SPLIT);
    for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
        assert_int_equal(pg_sqlstate_class(lost[i]), DB_ERR_LOST);
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        assert_int_equal(pg_sqlstate_class(fatal[i]), DB_ERR_FATAL);
    assert_int_equal(pg_sqlstate_class(NULL), DB_ERR_FATAL);
}

static void test_copy_field(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const char v[] = "a\tb\nc\rd\\e\\N.\x01";
    assert_int_equal(pg_copy_append_field(&out, v, strlen(v)), 0);
    assert_string_equal(out.data, "a\\tb\\nc\\rd\\\\e\\\\N.\x01");
    buf_reset(&out);
    assert_int_equal(pg_copy_append_field(&out, NULL, 0), 0);
    assert_string_equal(out.data, "\\N");
    buf_reset(&out);
    assert_int_equal(pg_copy_append_field(&out, "", 0), 0);
    assert_int_equal(out.len, 0);
    /* "\." alone on a line would end the data: its backslash is doubled */
    assert_int_equal(pg_copy_append_field(&out, "\\.", 2), 0);
    assert_string_equal(out.data, "\\\\.");
    /* escapes first, last and side by side, between plain runs */
    buf_reset(&out);
    assert_int_equal(pg_copy_append_field(&out, "\\\tab\n\ncd\r", 9), 0);
    assert_string_equal(out.data, "\\\\\\tab\\n\\ncd\\r");
    /* appended after what the buffer holds */
    assert_int_equal(pg_copy_append_field(&out, "x", 1), 0);
    assert_string_equal(out.data, "\\\\\\tab\\n\\ncd\\rx");
    /* UTF-8 passes as it is */
    buf_reset(&out);
    assert_int_equal(pg_copy_append_field(&out, "M\xc3\xbcller", 7), 0);
    assert_string_equal(out.data, "M\xc3\xbcller");
    /* NUL: refused, the buffer as it was */
    assert_int_equal(pg_copy_append_field(&out, "x\0y", 3), ML_EINVAL);
    assert_string_equal(out.data, "M\xc3\xbcller");
    assert_non_null(strstr(err_msg(), "NUL"));
    buf_release(&out);
}

static void test_quoting(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(pg_append_literal(&out, "it's \\ fine", 11), 0);
    assert_string_equal(out.data, "'it''s \\ fine'");
    assert_int_equal(pg_append_literal(&out, "a\0b", 3), ML_EINVAL);
    assert_string_equal(out.data, "'it''s \\ fine'");
    buf_reset(&out);
    assert_int_equal(pg_append_ident(&out, "we\"ird name"), 0);
    assert_string_equal(out.data, "\"we\"\"ird name\"");
    assert_int_equal(pg_append_ident(&out, ""), ML_EINVAL);
    assert_int_equal(pg_append_ident(&out, NULL), ML_EINVAL);
    assert_string_equal(out.data, "\"we\"\"ird name\"");
    buf_release(&out);
}

static void test_array_element(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(buf_addc(&out, '{'), 0);
    assert_int_equal(pg_array_append_element(&out, "plain", 5), 0);
    assert_int_equal(pg_array_append_element(&out, "a \"q\" b\\", 8), 0);
    assert_int_equal(pg_array_append_element(&out, "", 0), 0);
    assert_int_equal(pg_array_append_element(&out, "NULL", 4), 0);
    assert_int_equal(pg_array_append_element(&out, "{,}", 3), 0);
    assert_string_equal(out.data, "{\"plain\",\"a \\\"q\\\" b\\\\\",\"\",\"NULL\",\"{,}\"");
    /* NUL: refused, the buffer as it was */
    assert_int_equal(pg_array_append_element(&out, "x\0y", 3), ML_EINVAL);
    assert_string_equal(out.data, "{\"plain\",\"a \\\"q\\\" b\\\\\",\"\",\"NULL\",\"{,}\"");
    buf_release(&out);
}

static void test_sslmodes(void **state)
{
    (void)state;
    assert_string_equal(pg_sslmode(0), "disable");
    assert_string_equal(pg_sslmode(1), "require");
    assert_string_equal(pg_sslmode(2), "verify-ca");
    assert_string_equal(pg_sslmode(3), "verify-full");
    assert_null(pg_sslmode(4));
    assert_null(pg_sslmode(-1));
}

static void test_connect_refusals(void **state)
{
    (void)state;
    struct pg *pg = (struct pg *)&pg;
    struct pg_params p = {.host = "127.0.0.1", .port = 1, .user = "u", .password = "s3cret-pw"};
    p.tls_mode = 3;
    assert_int_equal(pg_connect(&p, &pg), ML_EINVAL); /* verify without a CA */
    assert_null(pg);
    p.tls_mode = 7;
    assert_int_equal(pg_connect(&p, &pg), ML_EINVAL);
    p.tls_mode = 1;
    p.tls_key = "/k.pem";
    assert_int_equal(pg_connect(&p, &pg), ML_EINVAL); /* a key without its certificate */
    p.tls_key = NULL;
    p.user = "";
    assert_int_equal(pg_connect(&p, &pg), ML_EINVAL);
    /* nothing listens on port 1: the message names host:port and the user */
    p.user = "u";
    p.tls_mode = 0;
    p.connect_timeout_s = 2;
    assert_int_equal(pg_connect(&p, &pg), ML_EDB);
    assert_null(pg);
    assert_non_null(strstr(err_msg(), "cannot connect to '127.0.0.1:1' as 'u': "));
    assert_null(strstr(err_msg(), "s3cret-pw"));
    assert_null(strchr(err_msg(), '\n'));
    /* a socket directory instead of a host */
    p.host = NULL;
    p.socket_dir = "/nonexistent-dir";
    p.port = 5999;
    assert_int_equal(pg_connect(&p, &pg), ML_EDB);
    assert_non_null(strstr(err_msg(), "cannot connect to '/nonexistent-dir (port 5999)' as 'u'"));
    /* a host list (warehouse.hosts): libpq tries each, the message names
     * them all and that a read-write one was wanted */
    p.hosts = "127.0.0.1,127.0.0.1";
    p.ports = "1,2";
    assert_int_equal(pg_connect(&p, &pg), ML_EDB);
    assert_null(pg);
    assert_non_null(strstr(err_msg(),
                           "cannot connect to a read-write server of '127.0.0.1,127.0.0.1' "
                           "(ports 1,2) as 'u': "));
    assert_non_null(strstr(err_msg(), "port 2")); /* the second host was tried too */
    assert_null(strstr(err_msg(), "s3cret-pw"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlstate_classes), cmocka_unit_test(test_copy_field),
        cmocka_unit_test(test_quoting),          cmocka_unit_test(test_array_element),
        cmocka_unit_test(test_sslmodes),         cmocka_unit_test(test_connect_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
