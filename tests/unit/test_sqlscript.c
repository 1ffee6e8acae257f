/* test_sqlscript.c - unit tests of the SQL script splitter (statements end
 * at ';' outside quotes and comments) and of {{name}} placeholder
 * expansion, and of statements written on one line (`maskload plan`).
 * Pure: no embedded files, no server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "sqlfiles.h"
#include "banned.h"

#define MAX_STMTS 16

/* Splits `text` and compares with the expected statements (NULL-terminated). */
static void expect_split(const char *text, const char *const *want)
{
    size_t total = strlen(text), pos = 0, n = 0;
    const char *stmt = NULL;
    size_t len = 0;
    int r;
    while ((r = sqlscript_next(text, total, &pos, &stmt, &len)) == 1) {
        if (!want[n])
            fail_msg("extra statement %zu '%.*s' in: %s", n, (int)len, stmt, text);
        if (len != strlen(want[n]) || memcmp(stmt, want[n], len) != 0)
            fail_msg("statement %zu is '%.*s', want '%s' in: %s", n, (int)len, stmt, want[n], text);
        assert_true(stmt >= text && stmt + len <= text + total);
        assert_true(pos <= total);
        n++;
        assert_true(n <= MAX_STMTS);
    }
    assert_int_equal(r, 0);
    if (want[n])
        fail_msg("missing statement %zu '%s' in: %s", n, want[n], text);
    assert_int_equal(pos, total);
    /* at the end it stays at the end */
    assert_int_equal(sqlscript_next(text, total, &pos, &stmt, &len), 0);
    assert_int_equal(pos, total);
}

#define SPLIT(text, ...)                                                                           \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__, NULL};                                           \
        expect_split((text), want_);                                                               \
    } while (0)

static void expect_none(const char *text)
{
    const char *const want[] = {NULL};
    expect_split(text, want);
}

/* ---- sqlscript_next ---- */

static void test_two_statements(void **state)
{
    (void)state;
    SPLIT("SELECT 1;\nSELECT 2;\n", "SELECT 1", "SELECT 2");
    SPLIT("  CREATE TABLE t (a INT) ;  INSERT INTO t VALUES (1)  ;", "CREATE TABLE t (a INT)",
          "INSERT INTO t VALUES (1)");
    /* empty statements are skipped */
    SPLIT(";;SELECT 1;;\n;SELECT 2;", "SELECT 1", "SELECT 2");
}

static void test_trailing_statement_without_semicolon(void **state)
{
    (void)state;
    SPLIT("SELECT 1; SELECT 2", "SELECT 1", "SELECT 2");
    SPLIT("SELECT 1; SELECT 2 \n\t ", "SELECT 1", "SELECT 2");
    SPLIT("SELECT 1", "SELECT 1");
}

static void test_semicolon_in_quotes(void **state)
{
    (void)state;
    SPLIT("INSERT INTO t VALUES ('a;b');SELECT 2;", "INSERT INTO t VALUES ('a;b')", "SELECT 2");
    SPLIT("SELECT \"x;y\";SELECT 2", "SELECT \"x;y\"", "SELECT 2");
    SPLIT("SELECT `we;ird` FROM t;SELECT 2", "SELECT `we;ird` FROM t", "SELECT 2");
    /* other quote characters inside a quoted string are plain text */
    SPLIT("SELECT 'it\"s; `x`';SELECT 2", "SELECT 'it\"s; `x`'", "SELECT 2");
}

static void test_escaped_quote_in_string(void **state)
{
    (void)state;
    SPLIT("SELECT 'it\\'s; fine';SELECT 2", "SELECT 'it\\'s; fine'", "SELECT 2");
    SPLIT("SELECT \"a\\\";b\";SELECT 2", "SELECT \"a\\\";b\"", "SELECT 2");
    /* doubled quote */
    SPLIT("SELECT 'it''s; fine';SELECT 2", "SELECT 'it''s; fine'", "SELECT 2");
    /* an escaped backslash does not escape the closing quote */
    SPLIT("SELECT 'a\\\\';SELECT 2", "SELECT 'a\\\\'", "SELECT 2");
}

static void test_line_comments(void **state)
{
    (void)state;
    SPLIT("-- first; comment\nSELECT 1; -- trailing; comment\nSELECT 2;", "SELECT 1", "SELECT 2");
    SPLIT("# hash; comment\nSELECT 1;\n# another;\nSELECT 2", "SELECT 1", "SELECT 2");
    /* inside a statement the comment is kept but its ';' does not split */
    SPLIT("SELECT 1 -- a; b\n + 1;SELECT 2", "SELECT 1 -- a; b\n + 1", "SELECT 2");
    SPLIT("SELECT 1 # a; b\n + 1;SELECT 2", "SELECT 1 # a; b\n + 1", "SELECT 2");
    /* "--" not followed by whitespace is two minus signs, not a comment */
    SPLIT("SELECT 5--1;SELECT 2", "SELECT 5--1", "SELECT 2");
}

static void test_block_comments(void **state)
{
    (void)state;
    SPLIT("/* a ; b */ SELECT 1;/* c;\n d */SELECT 2;", "SELECT 1", "SELECT 2");
    SPLIT("SELECT /* ; */ 1;SELECT 2", "SELECT /* ; */ 1", "SELECT 2");
    SPLIT("SELECT 1 /* ;", "SELECT 1 /* ;"); /* unterminated: up to the end, no overrun */
}

static void test_only_comments_and_empty(void **state)
{
    (void)state;
    expect_none("");
    expect_none("   \n\t  ");
    expect_none(";;; ;\n;");
    expect_none("-- just a comment; with a semicolon\n");
    expect_none("-- a\n# b\n/* c; */\n  -- d");
    expect_none("/* unterminated ; comment");
    expect_none("--");
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    SPLIT("SELECT 'abc; def", "SELECT 'abc; def");
    SPLIT("SELECT 'abc\\", "SELECT 'abc\\");
}

static void test_total_bounds_the_text(void **state)
{
    (void)state;
    const char *text = "SELECT 1;SELECT 2;SELECT 3";
    size_t pos = 0, len = 0;
    const char *stmt = NULL;
    /* only the first 12 bytes: "SELECT 1;SEL" */
    assert_int_equal(sqlscript_next(text, 12, &pos, &stmt, &len), 1);
    assert_int_equal(len, 8);
    assert_int_equal(pos, 9);
    assert_int_equal(sqlscript_next(text, 12, &pos, &stmt, &len), 1);
    assert_int_equal(len, 3);
    assert_memory_equal(stmt, "SEL", 3);
    assert_int_equal(pos, 12);
    assert_int_equal(sqlscript_next(text, 12, &pos, &stmt, &len), 0);
}

/* ---- sqlscript_expand ---- */

static const char *const names[] = {"db", "analyst", "host"};
static const char *const values[] = {"spark_dwh", "analyst_user", "%"};

static void expand_ok(const char *text, const char *want)
{
    struct buf out = BUF_INIT;
    int rc = sqlscript_expand(text, strlen(text), names, values, 3, &out);
    if (rc)
        fail_msg("sqlscript_expand('%s') failed: %d %s", text, rc, err_msg());
    assert_string_equal(out.data, want);
    assert_int_equal(out.len, strlen(want));
    buf_release(&out);
}

static void expand_bad(const char *text, const char *msg_part)
{
    struct buf out = BUF_INIT;
    err_clear();
    int rc = sqlscript_expand(text, strlen(text), names, values, 3, &out);
    if (rc != ML_EINTERNAL)
        fail_msg("sqlscript_expand('%s') = %d ('%s'), want ML_EINTERNAL", text, rc, out.data);
    if (!strstr(err_msg(), msg_part))
        fail_msg("message '%s' lacks '%s'", err_msg(), msg_part);
    buf_release(&out);
}

static void test_expand_one(void **state)
{
    (void)state;
    expand_ok("CREATE DATABASE IF NOT EXISTS `{{db}}`;",
              "CREATE DATABASE IF NOT EXISTS `spark_dwh`;");
    expand_ok("{{db}}", "spark_dwh");
    expand_ok("no placeholders here", "no placeholders here");
    expand_ok("", "");
}

static void test_expand_two(void **state)
{
    (void)state;
    expand_ok("GRANT SELECT ON `{{db}}`.* TO '{{analyst}}'@'{{host}}';",
              "GRANT SELECT ON `spark_dwh`.* TO 'analyst_user'@'%';");
    expand_ok("{{db}}{{db}}", "spark_dwhspark_dwh");
}

static void test_expand_single_braces_kept(void **state)
{
    (void)state;
    expand_ok("SELECT '{' AS a", "SELECT '{' AS a");
    expand_ok("SELECT '{x}' AS a", "SELECT '{x}' AS a");
    expand_ok("ends with {", "ends with {");
    expand_ok("{ {{db}} }", "{ spark_dwh }");
    expand_ok("}} alone", "}} alone");
}

static void test_expand_appends(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(buf_adds(&out, "USE x; "), 0);
    const char *t = "{{db}}";
    assert_int_equal(sqlscript_expand(t, strlen(t), names, values, 3, &out), 0);
    assert_string_equal(out.data, "USE x; spark_dwh");
    buf_release(&out);
}

static void test_expand_len_bounds(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const char *t = "a{{db}}b{{nope}}";
    assert_int_equal(sqlscript_expand(t, 8, names, values, 3, &out), 0);
    assert_string_equal(out.data, "aspark_dwhb");
    buf_release(&out);
    /* a "}}" beyond len does not terminate a placeholder */
    t = "{{db}}";
    assert_int_equal(sqlscript_expand(t, 5, names, values, 3, &out), ML_EINTERNAL);
    buf_release(&out);
}

static void test_expand_unknown(void **state)
{
    (void)state;
    expand_bad("USE {{database}};", "{{database}}");
    expand_bad("{{DB}}", "DB");   /* case-sensitive */
    expand_bad("{{d}}", "{{d}}"); /* a prefix of a name is not the name */
    expand_bad("{{dbx}}", "{{dbx}}");
    expand_bad("{{}}", "placeholder");
}

static void test_expand_unterminated(void **state)
{
    (void)state;
    expand_bad("SELECT {{x", "unterminated");
    expand_bad("SELECT {{db}", "unterminated");
    expand_bad("{{", "unterminated");
}

/* ---- one line ---- */

static void expect_one_line(const char *stmt, const char *want)
{
    struct buf b = BUF_INIT;
    assert_int_equal(buf_adds(&b, "x:"), 0);
    assert_int_equal(sqlscript_one_line(stmt, strlen(stmt), &b), 0);
    assert_string_equal(b.data, want);
    buf_release(&b);
}

static void test_one_line_whitespace(void **state)
{
    (void)state;
    expect_one_line("CREATE TABLE t (\n  a INT,\n\tb INT\n)", "x:CREATE TABLE t ( a INT, b INT )");
    expect_one_line("  SELECT 1  ", "x:SELECT 1");
    expect_one_line("", "x:");
}

static void test_one_line_comments(void **state)
{
    (void)state;
    /* a line comment would swallow the rest of the line: dropped */
    expect_one_line("CREATE TABLE t ( -- the key\n  a INT # more\n)", "x:CREATE TABLE t ( a INT )");
    expect_one_line("-- lead\nSELECT /* inline */ 1 -- tail", "x:SELECT 1");
    /* not comments: "--x" (no space), quoted markers */
    expect_one_line("SELECT 1--1", "x:SELECT 1--1");
    expect_one_line("SELECT '-- no', \"# no\", `a--b`", "x:SELECT '-- no', \"# no\", `a--b`");
}

static void test_one_line_literals(void **state)
{
    (void)state;
    /* line breaks inside literals become escapes; spaces inside are kept */
    expect_one_line("COMMENT 'two\nlines  here\r'", "x:COMMENT 'two\\nlines  here\\r'");
    expect_one_line("COMMENT \"a\nb\"", "x:COMMENT \"a\\nb\"");
    /* escapes and doubled quotes stay as they are */
    expect_one_line("SELECT 'it''s \\' \n x'", "x:SELECT 'it''s \\' \\n x'");
    /* an unterminated literal is copied to the end */
    expect_one_line("SELECT 'open\n", "x:SELECT 'open\\n");
}

static void test_token_name(void **state)
{
    const char text[] = "CREATE TABLE `load_runs` ( x";
    struct sql_token tok;
    char name[10] = "unchanged", small[9] = "kept";
    size_t i = 0;
    (void)state;
    i = sqlscript_token(text, sizeof(text) - 1, i, '`', &tok);
    i = sqlscript_token(text, sizeof(text) - 1, i, '`', &tok);
    i = sqlscript_token(text, sizeof(text) - 1, i, '`', &tok); /* the quoted name */
    assert_true(sqlscript_token_name(&tok, name, sizeof(name)));
    assert_string_equal(name, "load_runs");
    /* must fail: one byte short for the NUL, and a token that is no word */
    assert_false(sqlscript_token_name(&tok, small, sizeof(small)));
    assert_string_equal(small, "kept");
    sqlscript_token(text, sizeof(text) - 1, i, '`', &tok); /* "(" */
    assert_false(tok.word);
    assert_false(sqlscript_token_name(&tok, name, sizeof(name)));
    assert_string_equal(name, "load_runs");
}

static void test_one_line_len_bounds(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    assert_int_equal(sqlscript_one_line("SELECT 1; DROP", 8, &b), 0);
    assert_string_equal(b.data, "SELECT 1");
    buf_release(&b);
}

/* The words of a statement in each dialect: a quoted name is a word (its
 * inside, a doubled quote kept), a string literal is not (MySQL: "..." and
 * backslash escapes too; PostgreSQL: "..." is a name), punctuation one
 * character, n 0 at the end; expect stops at the first other word. */
static void test_tokens(void **state)
{
    const char *my = "CREATE TABLE IF NOT EXISTS `a``b` ('x\\' y', \"q\") ;";
    const char *pg = "create index if not exists \"i\"\"x\" ON 'it''s' \"t\"";
    struct sql_token tok;
    size_t i = 0;
    (void)state;
    assert_true(sqlscript_expect(my, strlen(my), &i, '`', "CREATE TABLE IF NOT EXISTS"));
    i = sqlscript_token(my, strlen(my), i, '`', &tok);
    assert_true(tok.word && tok.quoted);
    assert_int_equal(tok.n, 4);
    assert_memory_equal(tok.s, "a``b", 4);
    i = sqlscript_token(my, strlen(my), i, '`', &tok);
    assert_true(!tok.word && tok.n == 1 && *tok.s == '(');
    i = sqlscript_token(my, strlen(my), i, '`', &tok);
    assert_false(tok.word);
    assert_int_equal(tok.n, strlen("'x\\' y'"));
    i = sqlscript_token(my, strlen(my), i, '`', &tok);
    assert_true(!tok.word && *tok.s == ',');
    i = sqlscript_token(my, strlen(my), i, '`', &tok);
    assert_false(tok.word); /* a MySQL string, not a name */
    assert_int_equal(tok.n, 3);
    i = sqlscript_token(my, strlen(my), i, '`', &tok);
    i = sqlscript_token(my, strlen(my), i, '`', &tok);
    assert_true(!tok.word && *tok.s == ';');
    sqlscript_token(my, strlen(my), i, '`', &tok);
    assert_int_equal(tok.n, 0);

    i = 0;
    assert_true(sqlscript_expect(pg, strlen(pg), &i, '"', "CREATE INDEX IF NOT EXISTS"));
    i = sqlscript_token(pg, strlen(pg), i, '"', &tok);
    assert_true(tok.word && tok.quoted);
    assert_int_equal(tok.n, 4); /* i""x */
    assert_true(sqlscript_expect(pg, strlen(pg), &i, '"', "on"));
    i = sqlscript_token(pg, strlen(pg), i, '"', &tok);
    assert_false(tok.word);
    assert_int_equal(tok.n, strlen("'it''s'"));
    sqlscript_token(pg, strlen(pg), i, '"', &tok);
    assert_true(tok.word && tok.quoted && tok.n == 1 && *tok.s == 't');
    /* must fail: another word, or the end before the sequence does */
    i = 0;
    assert_false(sqlscript_expect(my, strlen(my), &i, '`', "CREATE VIEW"));
    i = 0;
    assert_false(sqlscript_expect("CREATE", 6, &i, '"', "CREATE TABLE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_statements),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_trailing_statement_without_semicolon),
        cmocka_unit_test(test_semicolon_in_quotes),
        cmocka_unit_test(test_escaped_quote_in_string),
        cmocka_unit_test(test_line_comments),
        cmocka_unit_test(test_block_comments),
        cmocka_unit_test(test_only_comments_and_empty),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_total_bounds_the_text),
        cmocka_unit_test(test_expand_one),
        cmocka_unit_test(test_expand_two),
        cmocka_unit_test(test_expand_single_braces_kept),
        cmocka_unit_test(test_expand_appends),
        cmocka_unit_test(test_expand_len_bounds),
        cmocka_unit_test(test_expand_unknown),
        cmocka_unit_test(test_expand_unterminated),
        cmocka_unit_test(test_one_line_whitespace),
        cmocka_unit_test(test_one_line_comments),
        cmocka_unit_test(test_one_line_literals),
        cmocka_unit_test(test_one_line_len_bounds),
        cmocka_unit_test(test_token_name),
    };
    return cmocka_run_group_tests_name("sqlscript", tests, NULL, NULL);
}
