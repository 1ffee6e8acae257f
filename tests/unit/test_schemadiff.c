/* test_schemadiff.c - unit tests of schema evolution without a server:
 * COLUMN_TYPE strings and ddlgen spellings parsed; every widening rule
 * with its must-fail companions (narrowings, other signedness, other
 * collation, other types); and the comparison of a definition with a
 * live table built by hand: each change init may make (ADD ... AFTER,
 * MODIFY for a widening, a NULL change, a COMMENT; a kept column, made
 * nullable when it would block inserts; the table COMMENT) with its exact
 * ALTER text, and each it must refuse (narrowing, incompatible type, a new
 * or newly required NOT NULL column on a table with rows, a key change,
 * any difference under schema: freeze) with its exact message; the same
 * rules on a table as PostgreSQL's catalog spells it, with PostgreSQL's
 * ALTER text and its must-fails (narrowing, collation, type). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "schemadiff.h"
#include "streamdef.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- parsing ---- */

static void expect_type(const char *spelling, enum sqlt_base base, unsigned len, unsigned scale,
                        bool is_unsigned, const char *collation)
{
    struct sqltype t;
    schemadiff_parse_type(spelling, &t);
    if (t.base != base ||
        (base != SQLT_OTHER && (t.len != len || t.scale != scale || t.is_unsigned != is_unsigned ||
                                strcmp(t.collation, collation) != 0)))
        fail_msg("'%s': got base %d len %u scale %u unsigned %d collation '%s'",
                 spelling ? spelling : "(null)", (int)t.base, t.len, t.scale, (int)t.is_unsigned,
                 t.collation);
}

static void test_parse_server_types(void **state)
{
    (void)state;
    /* MariaDB's COLUMN_TYPE */
    expect_type("bigint(20)", SQLT_BIGINT, 20, 0, false, "");
    expect_type("bigint(20) unsigned", SQLT_BIGINT, 20, 0, true, "");
    expect_type("int(11)", SQLT_INT, 11, 0, false, "");
    expect_type("smallint(5) unsigned", SQLT_SMALLINT, 5, 0, true, "");
    expect_type("smallint(6)", SQLT_SMALLINT, 6, 0, false, "");
    expect_type("mediumint(9)", SQLT_MEDIUMINT, 9, 0, false, "");
    expect_type("tinyint(1)", SQLT_BOOL, 1, 0, false, "");
    expect_type("tinyint(4)", SQLT_TINYINT, 4, 0, false, "");
    expect_type("tinyint(1) unsigned", SQLT_TINYINT, 1, 0, true, "");
    expect_type("decimal(12,2)", SQLT_DECIMAL, 12, 2, false, "");
    expect_type("decimal(10,0)", SQLT_DECIMAL, 10, 0, false, "");
    expect_type("varchar(32)", SQLT_VARCHAR, 32, 0, false, "");
    expect_type("char(64)", SQLT_CHAR, 64, 0, false, "");
    expect_type("binary(32)", SQLT_BINARY, 32, 0, false, "");
    expect_type("varbinary(16)", SQLT_VARBINARY, 16, 0, false, "");
    expect_type("mediumtext", SQLT_MEDIUMTEXT, 0, 0, false, "");
    expect_type("longtext", SQLT_LONGTEXT, 0, 0, false, "");
    expect_type("text", SQLT_TEXT, 0, 0, false, "");
    expect_type("datetime(3)", SQLT_DATETIME, 3, 0, false, "");
    expect_type("datetime", SQLT_DATETIME, 0, 0, false, "");
    expect_type("timestamp(6)", SQLT_TIMESTAMP, 6, 0, false, "");
    expect_type("date", SQLT_DATE, 0, 0, false, "");
    /* MySQL 8 drops display widths */
    expect_type("bigint unsigned", SQLT_BIGINT, 0, 0, true, "");
    expect_type("int", SQLT_INT, 0, 0, false, "");
    /* defaults of the SQL standard */
    expect_type("decimal", SQLT_DECIMAL, 10, 0, false, "");
    expect_type("decimal(7)", SQLT_DECIMAL, 7, 0, false, "");
    expect_type("char", SQLT_CHAR, 1, 0, false, "");
    /* what this module does not reason about */
    expect_type("float", SQLT_OTHER, 0, 0, false, "");
    expect_type("double", SQLT_OTHER, 0, 0, false, "");
    expect_type("enum('a','b')", SQLT_OTHER, 0, 0, false, "");
    expect_type("json", SQLT_OTHER, 0, 0, false, "");
    expect_type("int(10) unsigned zerofill", SQLT_OTHER, 0, 0, false, "");
    expect_type("varchar", SQLT_OTHER, 0, 0, false, "");
    expect_type("varchar(10", SQLT_OTHER, 0, 0, false, "");
    expect_type("varchar(10) x", SQLT_OTHER, 0, 0, false, "");
    expect_type("varchar(1,2)", SQLT_OTHER, 0, 0, false, "");
    expect_type("decimal(2,5)", SQLT_OTHER, 0, 0, false, "");
    expect_type("date unsigned", SQLT_OTHER, 0, 0, false, "");
    expect_type("", SQLT_OTHER, 0, 0, false, "");
    expect_type(NULL, SQLT_OTHER, 0, 0, false, "");
}

static void test_parse_ddlgen_spellings(void **state)
{
    (void)state;
    expect_type("BIGINT UNSIGNED", SQLT_BIGINT, 0, 0, true, "");
    expect_type("BOOLEAN", SQLT_BOOL, 0, 0, false, "");
    expect_type("DECIMAL(12,2)", SQLT_DECIMAL, 12, 2, false, "");
    expect_type("DATETIME(3)", SQLT_DATETIME, 3, 0, false, "");
    expect_type("VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", SQLT_VARCHAR, 64, 0, false,
                "utf8mb4_bin");
    expect_type("CHAR(64) CHARACTER SET ascii COLLATE ascii_bin", SQLT_CHAR, 64, 0, false,
                "ascii_bin");
    expect_type("varchar(8) charset latin1", SQLT_VARCHAR, 8, 0, false, "");
    expect_type("VARCHAR(8) CHARACTER latin1", SQLT_OTHER, 0, 0, false, "");
}

/* PostgreSQL's format_type and ddlgen's PostgreSQL spellings */
static void test_parse_postgres_types(void **state)
{
    (void)state;
    expect_type("integer", SQLT_INT, 0, 0, false, "");
    expect_type("bigint", SQLT_BIGINT, 0, 0, false, "");
    expect_type("numeric(12,2)", SQLT_DECIMAL, 12, 2, false, "");
    expect_type("character varying(64)", SQLT_VARCHAR, 64, 0, false, "");
    expect_type("character(64)", SQLT_CHAR, 64, 0, false, "");
    expect_type("timestamp(3) without time zone", SQLT_TIMESTAMP, 3, 0, false, "");
    expect_type("timestamp(3)", SQLT_TIMESTAMP, 3, 0, false, "");
    expect_type("boolean", SQLT_BOOL, 0, 0, false, "");
    expect_type("varchar(16) COLLATE \"C\"", SQLT_VARCHAR, 16, 0, false, "C");
    expect_type("char(64) COLLATE \"C\"", SQLT_CHAR, 64, 0, false, "C");
    /* not the same type, or not understood */
    expect_type("timestamp(3) with time zone", SQLT_OTHER, 0, 0, false, "");
    expect_type("timestamp(3) without zone", SQLT_OTHER, 0, 0, false, "");
    expect_type("date without time zone", SQLT_OTHER, 0, 0, false, "");
    expect_type("character varying", SQLT_OTHER, 0, 0, false, "");
    expect_type("varchar(16) COLLATE \"C", SQLT_OTHER, 0, 0, false, "");
    expect_type("varchar(16) COLLATE \"\"", SQLT_OTHER, 0, 0, false, "");
    expect_type("bytea", SQLT_BYTEA, 0, 0, false, "");
}

static void expect_name(const char *spelling, bool coll, const char *want)
{
    struct sqltype t;
    char name[64];
    schemadiff_parse_type(spelling, &t);
    schemadiff_type_name(&t, coll, name, sizeof(name));
    assert_string_equal(name, want);
}

static void test_type_names(void **state)
{
    (void)state;
    expect_name("bigint(20)", false, "bigint");
    expect_name("bigint(20) unsigned", false, "bigint unsigned");
    expect_name("tinyint(1)", false, "boolean");
    expect_name("decimal(12,2)", false, "decimal(12,2)");
    expect_name("varchar(32)", false, "varchar(32)");
    expect_name("VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", true,
                "varchar(32) collate utf8mb4_bin");
    expect_name("VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", false, "varchar(32)");
    expect_name("datetime(3)", false, "datetime(3)");
    expect_name("datetime", false, "datetime");
    expect_name("mediumtext", false, "mediumtext");
    expect_name("int(11)", false, "int");
    expect_name("Enum('A')", false, "enum('a')");
}

/* ---- the type each column of a definition wants ---- */

static void expect_wanted(const struct column_def *c, enum sqlt_base base, unsigned len,
                          unsigned scale, bool is_unsigned, const char *collation)
{
    struct sqltype t;
    assert_int_equal(schemadiff_expected_type(c, DB_DIALECT_MARIADB, &t), 0);
    if (t.base != base || t.len != len || t.scale != scale || t.is_unsigned != is_unsigned ||
        strcmp(t.collation, collation) != 0)
        fail_msg("column '%s': got base %d len %u scale %u unsigned %d collation '%s'", c->name,
                 (int)t.base, t.len, t.scale, (int)t.is_unsigned, t.collation);
}

static void test_expected_types(void **state)
{
    (void)state;
    const char *ci = "utf8mb4_unicode_ci";
    struct column_def c = {.name = "c"};
    c.type = COL_BIGINT;
    expect_wanted(&c, SQLT_BIGINT, 0, 0, false, "");
    c.is_unsigned = true;
    expect_wanted(&c, SQLT_BIGINT, 0, 0, true, "");
    c.is_unsigned = false;
    c.type = COL_SMALLINT;
    expect_wanted(&c, SQLT_SMALLINT, 0, 0, false, "");
    c.type = COL_INT;
    expect_wanted(&c, SQLT_INT, 0, 0, false, "");
    c.type = COL_VERSION_MAJOR;
    expect_wanted(&c, SQLT_INT, 0, 0, false, "");
    c.type = COL_SURROGATE;
    expect_wanted(&c, SQLT_BIGINT, 0, 0, true, "");
    c.type = COL_DECIMAL;
    c.size = 10;
    c.scale = 2;
    expect_wanted(&c, SQLT_DECIMAL, 12, 2, false, "");
    c.type = COL_TEXT;
    c.size = 64;
    c.scale = 0;
    expect_wanted(&c, SQLT_VARCHAR, 64, 0, false, ci);
    c.binary = true;
    expect_wanted(&c, SQLT_VARCHAR, 64, 0, false, "utf8mb4_bin");
    c.binary = false;
    c.type = COL_LONGTEXT;
    expect_wanted(&c, SQLT_MEDIUMTEXT, 0, 0, false, ci);
    c.type = COL_DATETIME;
    expect_wanted(&c, SQLT_DATETIME, 3, 0, false, "");
    c.type = COL_EPOCH_MS;
    expect_wanted(&c, SQLT_DATETIME, 3, 0, false, "");
    c.type = COL_DATE;
    expect_wanted(&c, SQLT_DATE, 0, 0, false, "");
    c.type = COL_BOOL;
    expect_wanted(&c, SQLT_BOOL, 0, 0, false, "");
    c.type = COL_HMAC;
    c.size = 0;
    expect_wanted(&c, SQLT_CHAR, 64, 0, false, "ascii_bin");
    c.size = 256; /* `pii: hmac, type: varchar(256)` */
    c.binary = true;
    expect_wanted(&c, SQLT_VARCHAR, 256, 0, false, "utf8mb4_bin");
    c.binary = false;
    c.type = COL_DIGEST;
    expect_wanted(&c, SQLT_BINARY, 32, 0, false, "");
    /* must fail: a type ddlgen cannot spell */
    struct sqltype t;
    c.type = (enum col_type)99;
    assert_int_equal(schemadiff_expected_type(&c, DB_DIALECT_MARIADB, &t), ML_EINVAL);
}

/* ---- the widening rules ---- */

static void expect_change(const char *from, const char *to, enum schemadiff_verdict want)
{
    struct sqltype a, b;
    schemadiff_parse_type(from, &a);
    schemadiff_parse_type(to, &b);
    enum schemadiff_verdict v = schemadiff_type_change(&a, &b);
    if (v != want)
        fail_msg("%s -> %s: got verdict %d, want %d", from, to, (int)v, (int)want);
}

static void test_integer_rules(void **state)
{
    (void)state;
    expect_change("smallint(6)", "INT", SD_WIDER);
    expect_change("int(11)", "BIGINT", SD_WIDER);
    expect_change("smallint(6)", "BIGINT", SD_WIDER);
    expect_change("smallint(5) unsigned", "INT UNSIGNED", SD_WIDER);
    expect_change("int(11)", "INT", SD_SAME); /* the display width is no part of the type */
    expect_change("bigint(20) unsigned", "BIGINT UNSIGNED", SD_SAME);
    /* must fail */
    expect_change("bigint(20)", "INT", SD_NARROWER);
    expect_change("int(11)", "SMALLINT", SD_NARROWER);
    expect_change("int(10) unsigned", "BIGINT", SD_INCOMPATIBLE);
    expect_change("bigint(20)", "BIGINT UNSIGNED", SD_INCOMPATIBLE);
    expect_change("tinyint(1)", "SMALLINT", SD_INCOMPATIBLE); /* boolean is not a number here */
    expect_change("bigint(20)", "BOOLEAN", SD_INCOMPATIBLE);
    expect_change("bigint(20)", "DATE", SD_INCOMPATIBLE);
    expect_change("bigint(20)", "DECIMAL(30,0)", SD_INCOMPATIBLE);
    expect_change("int(10) unsigned zerofill", "INT UNSIGNED", SD_INCOMPATIBLE);
}

static void test_text_rules(void **state)
{
    (void)state;
    expect_change("varchar(32)", "VARCHAR(64)", SD_WIDER);
    expect_change("varchar(32)", "VARCHAR(32)", SD_SAME);
    expect_change("varchar(32)", "MEDIUMTEXT", SD_WIDER);
    expect_change("text", "MEDIUMTEXT", SD_WIDER);
    expect_change("varchar(32) collate utf8mb4_bin",
                  "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", SD_WIDER);
    expect_change("char(64) collate ascii_bin", "CHAR(64) CHARACTER SET ascii COLLATE ascii_bin",
                  SD_SAME);
    /* must fail */
    expect_change("varchar(64)", "VARCHAR(32)", SD_NARROWER);
    expect_change("mediumtext", "VARCHAR(255)", SD_NARROWER);
    expect_change("longtext", "MEDIUMTEXT", SD_NARROWER);
    expect_change("varchar(32) collate utf8mb4_unicode_ci",
                  "VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", SD_INCOMPATIBLE);
    expect_change("varchar(32) collate utf8mb4_unicode_ci",
                  "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", SD_INCOMPATIBLE);
    expect_change("char(32)", "CHAR(64)", SD_INCOMPATIBLE);
    expect_change("char(64)", "VARCHAR(64)", SD_INCOMPATIBLE);
    expect_change("varchar(64)", "CHAR(64)", SD_INCOMPATIBLE);
    expect_change("binary(32)", "BINARY(64)", SD_INCOMPATIBLE);
    expect_change("varchar(32)", "BIGINT", SD_INCOMPATIBLE);
}

static void test_decimal_and_time_rules(void **state)
{
    (void)state;
    expect_change("decimal(10,2)", "DECIMAL(12,2)", SD_WIDER);
    expect_change("decimal(10,2)", "DECIMAL(12,4)", SD_WIDER);
    expect_change("decimal(10,2)", "DECIMAL(11,3)", SD_WIDER); /* 8 integer digits either way */
    expect_change("decimal(12,2)", "DECIMAL(12,2)", SD_SAME);
    /* must fail */
    expect_change("decimal(12,2)", "DECIMAL(10,2)", SD_NARROWER);
    expect_change("decimal(12,4)", "DECIMAL(10,2)", SD_NARROWER);
    expect_change("decimal(12,4)", "DECIMAL(12,2)", SD_INCOMPATIBLE); /* fewer fraction digits */
    expect_change("decimal(10,2)", "DECIMAL(10,4)", SD_INCOMPATIBLE); /* 8 -> 6 integer digits */
    expect_change("decimal(12,2)", "DECIMAL(11,3)", SD_INCOMPATIBLE);
    expect_change("decimal(12,2)", "DATE", SD_INCOMPATIBLE);
    expect_change("decimal(12,2) unsigned", "DECIMAL(12,2)", SD_INCOMPATIBLE);
    expect_change("datetime(3)", "DATETIME(3)", SD_SAME);
    expect_change("date", "DATE", SD_SAME);
    expect_change("tinyint(1)", "BOOLEAN", SD_SAME);
    expect_change("datetime(3)", "DATETIME(6)", SD_INCOMPATIBLE);
    expect_change("datetime", "DATETIME(3)", SD_INCOMPATIBLE);
    expect_change("date", "DATETIME(3)", SD_INCOMPATIBLE);
    expect_change("timestamp(3)", "DATETIME(3)", SD_INCOMPATIBLE);
    expect_change("float", "DOUBLE", SD_INCOMPATIBLE);
    expect_change("float", "float", SD_SAME);
}

/* ---- comparing a definition with a live table ---- */

/* orders_raw: order_id bigint key, status varchar(32) "as sent", total
 * decimal(12,2), then the metadata. */
static const struct column_def order_cols[] = {
    {.name = "order_id", .type = COL_BIGINT, .required = true, .decl_line = 5, .decl_col = 5},
    {.name = "status",
     .type = COL_TEXT,
     .size = 32,
     .description = "as sent",
     .decl_line = 6,
     .decl_col = 5},
    {.name = "total", .type = COL_DECIMAL, .size = 10, .scale = 2, .decl_line = 12, .decl_col = 7},
};
static const struct table_def orders_table = {
    .name = "orders_raw", .cols = order_cols, .ncols = 3, .nkey = 1, .description = "orders"};
static const struct stream_def orders_def = {
    .name = "orders", .table = &orders_table, .file = "mappings/orders.yaml"};
static const struct stream_def orders_frozen = {.name = "orders",
                                                .table = &orders_table,
                                                .file = "mappings/orders.yaml",
                                                .schema = SCHEMA_FREEZE};

#define LIVE(n, t, nul, pos)                                                                       \
    {                                                                                              \
        .name = (n), .type = (t), .comment = "", .nullable = (nul), .position = (pos)              \
    }
#define META_RUN                                                                                   \
    {                                                                                              \
        .name = "load_run_id", .type = "bigint(20) unsigned",                                      \
        .comment = "run that last changed this row (load_runs.run_id)", .position = 10             \
    }
#define META_AT                                                                                    \
    {                                                                                              \
        .name = "loaded_at", .type = "datetime(3)", .comment = "UTC time this row last changed",   \
        .position = 11                                                                             \
    }

/* The live table init creates from orders_table. */
static void orders_live(struct schemadiff_live_column *cols, size_t *n)
{
    const struct schemadiff_live_column base[] = {
        {.name = "order_id", .type = "bigint(20)", .comment = "", .primary = true, .position = 1},
        {.name = "status",
         .type = "varchar(32)",
         .comment = "as sent",
         .collation = "utf8mb4_unicode_ci",
         .charset = "utf8mb4",
         .nullable = true,
         .position = 2},
        LIVE("total", "decimal(12,2)", true, 3),
        META_RUN,
        META_AT,
    };
    memcpy(cols, base, sizeof(base));
    *n = ARRAY_LEN(base);
}

static struct schemadiff_live_table live_of(struct schemadiff_live_column *cols, size_t n,
                                            bool has_rows)
{
    struct schemadiff_live_table t = {
        .exists = true, .has_rows = has_rows, .comment = "orders", .cols = cols, .ncols = n};
    return t;
}

static void compare(const struct stream_def *def, const struct table_def *t,
                    const struct schemadiff_live_table *live, struct schemadiff *d)
{
    assert_int_equal(schemadiff_compare(def, t, live, DB_DIALECT_MARIADB, d), 0);
}

static void expect_alter(const struct schemadiff *d, const char *want)
{
    struct buf out = BUF_INIT;
    assert_int_equal(d->nrefused, 0);
    assert_int_equal(schemadiff_alter_sql(&out, d, DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, want);
    buf_release(&out);
}

static void expect_refusal(const struct schemadiff *d, const char *want)
{
    const struct schemadiff_change *ch = schemadiff_refusal(d);
    struct buf out = BUF_INIT;
    assert_non_null(ch);
    assert_string_equal(ch->refusal, want);
    /* a refused diff writes no ALTER */
    assert_int_equal(schemadiff_alter_sql(&out, d, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void test_identical_and_missing(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    orders_live(cols, &n);
    struct schemadiff_live_table live = live_of(cols, n, true);
    compare(&orders_def, &orders_table, &live, &d);
    assert_false(d.missing);
    assert_int_equal(d.nchanges, 0);
    assert_int_equal(schemadiff_alters(&d), 0);
    assert_null(schemadiff_mismatch(&d));
    struct buf out = BUF_INIT;
    assert_int_equal(schemadiff_alter_sql(&out, &d, DB_DIALECT_MARIADB), 0);
    assert_int_equal(out.len, 0);
    buf_release(&out);
    schemadiff_release(&d);
    /* frozen and identical: nothing refused */
    compare(&orders_frozen, &orders_table, &live, &d);
    assert_int_equal(d.nchanges, 0);
    schemadiff_release(&d);
    /* column names compare as the server does: without case */
    cols[1].name = "STATUS";
    compare(&orders_def, &orders_table, &live, &d);
    assert_int_equal(d.nchanges, 0);
    schemadiff_release(&d);

    struct schemadiff_live_table none = {.exists = false};
    compare(&orders_def, &orders_table, &none, &d);
    assert_true(d.missing);
    assert_int_equal(d.nchanges, 0);
    schemadiff_release(&d);
}

static void test_add_and_widen(void **state)
{
    (void)state;
    /* the live table: status varchar(16), no total, decimal ... */
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    orders_live(cols, &n);
    cols[1].type = "varchar(16)";
    memmove(&cols[2], &cols[3], 2 * sizeof(cols[0])); /* no total */
    n--;
    struct schemadiff_live_table live = live_of(cols, n, true);
    compare(&orders_def, &orders_table, &live, &d);
    assert_int_equal(d.nchanges, 2);
    assert_int_equal(d.changes[0].action, SD_MODIFY);
    assert_string_equal(d.changes[0].what,
                        "table 'orders_raw' column 'status' is varchar(16), the mapping says "
                        "varchar(32)");
    assert_int_equal(d.changes[1].action, SD_ADD);
    assert_string_equal(d.changes[1].after, "status");
    assert_string_equal(d.changes[1].what, "table 'orders_raw' lacks column 'total'");
    assert_int_equal(schemadiff_alters(&d), 2);
    assert_ptr_equal(schemadiff_mismatch(&d), &d.changes[0]);
    expect_alter(&d, "ALTER TABLE `orders_raw`\n"
                     "  MODIFY COLUMN `status` VARCHAR(32) NULL COMMENT 'as sent',\n"
                     "  ADD COLUMN `total` DECIMAL(12,2) NULL AFTER `status`");
    schemadiff_release(&d);

    /* int -> bigint, decimal(10,2) -> decimal(12,2), varchar -> text */
    static const struct column_def wide_cols[] = {
        {.name = "id", .type = COL_BIGINT, .required = true},
        {.name = "amount", .type = COL_DECIMAL, .size = 10, .scale = 2},
        {.name = "note", .type = COL_LONGTEXT},
    };
    static const struct table_def wide = {.name = "w", .cols = wide_cols, .ncols = 3, .nkey = 1};
    static const struct stream_def wide_def = {.name = "w", .table = &wide, .file = "w.yaml"};
    struct schemadiff_live_column wc[] = {
        {.name = "id", .type = "int(11)", .comment = "", .primary = true},
        LIVE("amount", "decimal(10,2)", true, 2),
        {.name = "note",
         .type = "varchar(255)",
         .comment = "",
         .nullable = true,
         .collation = "utf8mb4_unicode_ci"},
        META_RUN,
        META_AT,
    };
    struct schemadiff_live_table wl = {.exists = true, .cols = wc, .ncols = ARRAY_LEN(wc)};
    compare(&wide_def, &wide, &wl, &d);
    expect_alter(&d, "ALTER TABLE `w`\n"
                     "  MODIFY COLUMN `id` BIGINT NOT NULL,\n"
                     "  MODIFY COLUMN `amount` DECIMAL(12,2) NULL,\n"
                     "  MODIFY COLUMN `note` MEDIUMTEXT NULL");
    schemadiff_release(&d);
}

/* orders_raw as a PostgreSQL warehouse has it (pg_catalog, format_type):
 * one set of rules, PostgreSQL's ALTER text. */
static void orders_pg_live(struct schemadiff_live_column *cols, size_t *n)
{
    const struct schemadiff_live_column base[] = {
        {.name = "order_id", .type = "bigint", .comment = "", .primary = true, .position = 1},
        {.name = "status",
         .type = "character varying(32)",
         .comment = "as sent",
         .collation = "default",
         .nullable = true,
         .position = 2},
        LIVE("total", "numeric(12,2)", true, 3),
        {.name = "load_run_id",
         .type = "bigint",
         .comment = "run that last changed this row (load_runs.run_id)",
         .position = 4},
        {.name = "loaded_at",
         .type = "timestamp(3) without time zone",
         .comment = "UTC time this row last changed",
         .position = 5},
    };
    memcpy(cols, base, sizeof(base));
    *n = ARRAY_LEN(base);
}

static void test_postgres(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    struct buf out = BUF_INIT;
    orders_pg_live(cols, &n);
    struct schemadiff_live_table live = live_of(cols, n, true);
    assert_int_equal(schemadiff_compare(&orders_def, &orders_table, &live, DB_DIALECT_POSTGRES, &d),
                     0);
    assert_int_equal(d.nchanges, 0);
    schemadiff_release(&d);

    /* status varchar(16), no total: widened and added, in PostgreSQL's shape */
    cols[1].type = "character varying(16)";
    memmove(&cols[2], &cols[3], 2 * sizeof(cols[0]));
    live.ncols = n - 1;
    assert_int_equal(schemadiff_compare(&orders_def, &orders_table, &live, DB_DIALECT_POSTGRES, &d),
                     0);
    assert_int_equal(d.nrefused, 0);
    assert_true(d.changes[0].type_differs);
    assert_false(d.changes[0].null_differs);
    assert_false(d.changes[0].comment_differs);
    assert_int_equal(schemadiff_alter_sql(&out, &d, DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data, "ALTER TABLE \"orders_raw\"\n"
                                  "  ALTER COLUMN \"status\" TYPE varchar(32),\n"
                                  "  ADD COLUMN \"total\" numeric(12,2) NULL");
    schemadiff_release(&d);

    /* must fail: varchar(64) -> varchar(32) (narrowing), another collation
     * (binary "C" -> the default), bigint -> integer */
    orders_pg_live(cols, &n);
    live.ncols = n;
    cols[1].type = "character varying(64)";
    assert_int_equal(schemadiff_compare(&orders_def, &orders_table, &live, DB_DIALECT_POSTGRES, &d),
                     0);
    expect_refusal(&d, "mappings/orders.yaml:6:5: table 'orders_raw' column 'status': "
                       "varchar(64) cannot become varchar(32) (narrowing; nothing was changed)");
    schemadiff_release(&d);
    cols[1].type = "character varying(32)";
    cols[1].collation = "C";
    assert_int_equal(schemadiff_compare(&orders_def, &orders_table, &live, DB_DIALECT_POSTGRES, &d),
                     0);
    expect_refusal(&d, "mappings/orders.yaml:6:5: table 'orders_raw' column 'status': "
                       "varchar(32) collate C cannot become varchar(32) collate default "
                       "(incompatible; nothing was changed)");
    schemadiff_release(&d);
    cols[1].collation = "default";
    cols[0].type = "numeric(20,0)";
    assert_int_equal(schemadiff_compare(&orders_def, &orders_table, &live, DB_DIALECT_POSTGRES, &d),
                     0);
    expect_refusal(&d, "mappings/orders.yaml:5:5: table 'orders_raw' column 'order_id': "
                       "decimal(20,0) cannot become bigint (incompatible; nothing was changed)");
    schemadiff_release(&d);
    buf_release(&out);
}

static void test_incompatible_and_narrowing(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    static const struct column_def date_cols[] = {
        {.name = "order_id", .type = COL_BIGINT, .required = true},
        {.name = "status", .type = COL_TEXT, .size = 32, .description = "as sent"},
        {.name = "total", .type = COL_DATE, .decl_line = 12, .decl_col = 7},
    };
    static const struct table_def date_table = {
        .name = "orders_raw", .cols = date_cols, .ncols = 3, .nkey = 1, .description = "orders"};
    static const struct stream_def date_def = {
        .name = "orders", .table = &date_table, .file = "mappings/orders.yaml"};
    orders_live(cols, &n);
    struct schemadiff_live_table live = live_of(cols, n, false);
    compare(&date_def, &date_table, &live, &d);
    assert_int_equal(d.nrefused, 1);
    expect_refusal(&d, "mappings/orders.yaml:12:7: table 'orders_raw' column 'total': "
                       "decimal(12,2) cannot become date (incompatible; nothing was changed)");
    schemadiff_release(&d);

    /* varchar(64) in the table, varchar(32) in the mapping: narrowing */
    cols[1].type = "varchar(64)";
    compare(&orders_def, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml:6:5: table 'orders_raw' column 'status': "
                       "varchar(64) cannot become varchar(32) (narrowing; nothing was changed)");
    schemadiff_release(&d);

    /* a binary collation in the table, the default in the mapping */
    cols[1].type = "varchar(32)";
    cols[1].collation = "utf8mb4_bin";
    compare(&orders_def, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml:6:5: table 'orders_raw' column 'status': "
                       "varchar(32) collate utf8mb4_bin cannot become varchar(32) collate "
                       "utf8mb4_unicode_ci (incompatible; nothing was changed)");
    schemadiff_release(&d);

    /* a type this module does not know */
    orders_live(cols, &n);
    cols[2].type = "float";
    compare(&orders_def, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml:12:7: table 'orders_raw' column 'total': float "
                       "cannot become decimal(12,2) (incompatible; nothing was changed)");
    schemadiff_release(&d);
}

static void test_required_columns(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    static const struct column_def req_cols[] = {
        {.name = "order_id", .type = COL_BIGINT, .required = true},
        {.name = "status",
         .type = COL_TEXT,
         .size = 32,
         .required = true,
         .description = "as sent",
         .decl_line = 6,
         .decl_col = 5},
        {.name = "total", .type = COL_DECIMAL, .size = 10, .scale = 2},
        {.name = "qty", .type = COL_INT, .required = true, .decl_line = 13, .decl_col = 5},
    };
    static const struct table_def req = {
        .name = "orders_raw", .cols = req_cols, .ncols = 4, .nkey = 1, .description = "orders"};
    static const struct stream_def req_def = {
        .name = "orders", .table = &req, .file = "mappings/orders.yaml"};
    orders_live(cols, &n);
    /* with rows: a column becoming required, a new required column: refused */
    struct schemadiff_live_table live = live_of(cols, n, true);
    compare(&req_def, &req, &live, &d);
    assert_int_equal(d.nrefused, 2);
    expect_refusal(&d, "mappings/orders.yaml:6:5: table 'orders_raw' column 'status': a nullable "
                       "column cannot become required (NOT NULL) while the table has rows "
                       "(incompatible; nothing was changed)");
    assert_string_equal(d.changes[1].refusal,
                        "mappings/orders.yaml:13:5: table 'orders_raw' cannot get the new "
                        "required (NOT NULL) column 'qty' while it has rows (they would get an "
                        "invented value) (incompatible; nothing was changed)");
    schemadiff_release(&d);
    /* empty: both allowed */
    live.has_rows = false;
    compare(&req_def, &req, &live, &d);
    expect_alter(&d, "ALTER TABLE `orders_raw`\n"
                     "  MODIFY COLUMN `status` VARCHAR(32) NOT NULL COMMENT 'as sent',\n"
                     "  ADD COLUMN `qty` INT NOT NULL AFTER `total`");
    assert_string_equal(d.changes[0].what,
                        "table 'orders_raw' column 'status' is nullable, the mapping says "
                        "required (NOT NULL)");
    schemadiff_release(&d);
    /* NOT NULL in the table, optional in the mapping: relaxed, with rows */
    cols[1].nullable = false;
    live.has_rows = true;
    compare(&orders_def, &orders_table, &live, &d);
    expect_alter(&d, "ALTER TABLE `orders_raw`\n"
                     "  MODIFY COLUMN `status` VARCHAR(32) NULL COMMENT 'as sent'");
    schemadiff_release(&d);
}

static void test_comments(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    orders_live(cols, &n);
    cols[1].comment = "old text";
    cols[4].comment = ""; /* a table from before the metadata had COMMENTs */
    struct schemadiff_live_table live = live_of(cols, n, true);
    live.comment = "old orders";
    compare(&orders_def, &orders_table, &live, &d);
    assert_int_equal(d.nchanges, 3);
    assert_string_equal(d.changes[0].what, "table 'orders_raw' column 'status' has a COMMENT "
                                           "other than the mapping's description");
    assert_int_equal(d.changes[2].action, SD_TABLE_COMMENT);
    expect_alter(&d, "ALTER TABLE `orders_raw`\n"
                     "  MODIFY COLUMN `status` VARCHAR(32) NULL COMMENT 'as sent',\n"
                     "  MODIFY COLUMN `loaded_at` DATETIME(3) NOT NULL COMMENT 'UTC time this "
                     "row last changed',\n"
                     "  COMMENT='orders'");
    schemadiff_release(&d);
    /* a description removed: COMMENT '' (no COMMENT clause) */
    static const struct column_def nodesc[] = {
        {.name = "order_id", .type = COL_BIGINT, .required = true},
        {.name = "status", .type = COL_TEXT, .size = 32},
        {.name = "total", .type = COL_DECIMAL, .size = 10, .scale = 2},
    };
    static const struct table_def nd = {
        .name = "orders_raw", .cols = nodesc, .ncols = 3, .nkey = 1};
    static const struct stream_def nd_def = {.name = "o", .table = &nd, .file = "o.yaml"};
    orders_live(cols, &n);
    compare(&nd_def, &nd, &live, &d);
    expect_alter(&d, "ALTER TABLE `orders_raw`\n"
                     "  MODIFY COLUMN `status` VARCHAR(32) NULL,\n"
                     "  COMMENT=''");
    schemadiff_release(&d);
}

static void test_kept_columns(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    orders_live(cols, &n);
    /* legacy: nullable, kept as it is; sku: NOT NULL without a default, made
     * nullable; flag: NOT NULL with a default, kept */
    cols[n++] = (struct schemadiff_live_column)LIVE("legacy", "int(11)", true, 12);
    cols[n++] = (struct schemadiff_live_column){.name = "sku",
                                                .type = "varchar(16)",
                                                .comment = "was 'required'",
                                                .collation = "utf8mb4_unicode_ci",
                                                .charset = "utf8mb4",
                                                .position = 13};
    cols[n++] = (struct schemadiff_live_column){
        .name = "flag", .type = "tinyint(1)", .comment = "", .has_default = true, .position = 14};
    struct schemadiff_live_table live = live_of(cols, n, true);
    compare(&orders_def, &orders_table, &live, &d);
    assert_int_equal(d.nchanges, 3);
    assert_int_equal(d.changes[0].action, SD_KEEP);
    assert_string_equal(d.changes[0].what,
                        "table 'orders_raw' has column 'legacy', which the mapping does not "
                        "declare");
    assert_int_equal(d.changes[1].action, SD_RELAX);
    assert_string_equal(d.changes[1].what,
                        "table 'orders_raw' column 'sku', which the mapping does not declare, is "
                        "NOT NULL without a default");
    assert_int_equal(d.changes[2].action, SD_KEEP);
    assert_int_equal(schemadiff_alters(&d), 1);
    assert_ptr_equal(schemadiff_mismatch(&d), &d.changes[1]);
    expect_alter(&d, "ALTER TABLE `orders_raw`\n"
                     "  MODIFY COLUMN `sku` varchar(16) CHARACTER SET utf8mb4 COLLATE "
                     "utf8mb4_unicode_ci NULL COMMENT 'was ''required'''");
    schemadiff_release(&d);
    /* only kept: no ALTER, and no mismatch for run */
    n--;
    cols[n - 1] = cols[n];
    live.ncols = n;
    compare(&orders_def, &orders_table, &live, &d);
    assert_int_equal(schemadiff_alters(&d), 0);
    assert_null(schemadiff_mismatch(&d));
    assert_null(schemadiff_refusal(&d));
    schemadiff_release(&d);
    /* frozen: a kept column is a difference */
    compare(&orders_frozen, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml: table 'orders_raw' has column 'legacy', which the "
                       "mapping does not declare (schema: freeze; nothing was changed)");
    assert_non_null(schemadiff_mismatch(&d));
    schemadiff_release(&d);
}

static void test_keys_and_metadata(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    orders_live(cols, &n);
    /* the table's key is (order_id, status) */
    cols[1].primary = true;
    cols[1].nullable = false;
    struct schemadiff_live_table live = live_of(cols, n, false);
    compare(&orders_def, &orders_table, &live, &d);
    assert_int_equal(d.changes[0].action, SD_KEY);
    expect_refusal(&d, "mappings/orders.yaml:5:5: table 'orders_raw': primary key "
                       "(order_id,status) cannot become (order_id) (incompatible; nothing was "
                       "changed)");
    assert_string_equal(d.changes[0].what, "table 'orders_raw' has the primary key "
                                           "(order_id,status), the mapping says (order_id)");
    schemadiff_release(&d);
    /* no key at all */
    orders_live(cols, &n);
    cols[0].primary = false;
    compare(&orders_def, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml:5:5: table 'orders_raw': primary key (none) cannot "
                       "become (order_id) (incompatible; nothing was changed)");
    schemadiff_release(&d);
    /* a key column left out of the mapping */
    orders_live(cols, &n);
    cols[n++] = (struct schemadiff_live_column){
        .name = "region", .type = "int(11)", .comment = "", .primary = true, .position = 12};
    live.ncols = n;
    compare(&orders_def, &orders_table, &live, &d);
    assert_non_null(schemadiff_refusal(&d));
    schemadiff_release(&d);
    /* metadata: load_run_id missing from a table with rows is a new NOT NULL
     * column (refused); its type changed is refused too */
    orders_live(cols, &n);
    memmove(&cols[3], &cols[4], sizeof(cols[0]));
    n--;
    live = live_of(cols, n, true);
    compare(&orders_def, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml: table 'orders_raw' cannot get the new required "
                       "(NOT NULL) column 'load_run_id' while it has rows (they would get an "
                       "invented value) (incompatible; nothing was changed)");
    schemadiff_release(&d);
    orders_live(cols, &n);
    cols[3].type = "bigint(20)";
    live = live_of(cols, n, true);
    compare(&orders_def, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml: table 'orders_raw' column 'load_run_id': bigint "
                       "cannot become bigint unsigned (incompatible; nothing was changed)");
    schemadiff_release(&d);
}

/* A table partitioned on placed_at: its primary key is (order_id, placed_at). */
static const struct column_def placed_cols[] = {
    {.name = "order_id", .type = COL_BIGINT, .required = true, .decl_line = 5, .decl_col = 5},
    {.name = "placed_at", .type = COL_DATETIME, .required = true, .decl_line = 6, .decl_col = 5},
};
static const struct partition_def placed_part = {
    .column = "placed_at", .by = PARTITION_MONTH, .ahead = 3, .decl_line = 9, .decl_col = 16};
static const struct table_def placed_table = {.name = "placed_raw",
                                              .cols = placed_cols,
                                              .ncols = 2,
                                              .nkey = 1,
                                              .description = "orders",
                                              .partition = &placed_part};
static const struct stream_def placed_def = {
    .name = "placed", .table = &placed_table, .file = "mappings/placed.yaml"};

static void test_partitioned_key(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[] = {
        {.name = "order_id", .type = "bigint(20)", .comment = "", .primary = true, .position = 1},
        {.name = "placed_at", .type = "datetime(3)", .comment = "", .primary = true, .position = 2},
        META_RUN,
        META_AT,
    };
    struct schemadiff d;
    struct schemadiff_live_table live = live_of(cols, 4, true);
    /* the key extended by the partitioning column is no difference */
    compare(&placed_def, &placed_table, &live, &d);
    assert_int_equal(d.nchanges, 0);
    assert_null(schemadiff_mismatch(&d));
    schemadiff_release(&d);
    /* the table as it was before `partition:`: refused, at the declaration */
    cols[1].primary = false;
    compare(&placed_def, &placed_table, &live, &d);
    expect_refusal(&d, "mappings/placed.yaml:9:16: table 'placed_raw' exists unpartitioned "
                       "(primary key (order_id)) and its mapping now declares partition: on "
                       "'placed_at' (primary key (order_id,placed_at)): init does not rebuild "
                       "a table; rename or drop it and run init again, or remove 'partition' "
                       "(incompatible; nothing was changed)");
    schemadiff_release(&d);
    /* and the reverse: partition: removed from the mapping of a partitioned table */
    cols[1].primary = true;
    const struct table_def unpart = {
        .name = "placed_raw", .cols = placed_cols, .ncols = 2, .nkey = 1, .description = "orders"};
    const struct stream_def unpart_def = {
        .name = "placed", .table = &unpart, .file = "mappings/placed.yaml"};
    compare(&unpart_def, &unpart, &live, &d);
    expect_refusal(&d, "mappings/placed.yaml:5:5: table 'placed_raw': primary key "
                       "(order_id,placed_at) cannot become (order_id) (incompatible; nothing "
                       "was changed)");
    schemadiff_release(&d);
}

static void test_freeze(void **state)
{
    (void)state;
    struct schemadiff_live_column cols[8];
    size_t n;
    struct schemadiff d;
    orders_live(cols, &n);
    cols[1].type = "varchar(16)"; /* a widening evolve would make */
    struct schemadiff_live_table live = live_of(cols, n, true);
    compare(&orders_frozen, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml:6:5: table 'orders_raw' column 'status' is "
                       "varchar(16), the mapping says varchar(32) (schema: freeze; nothing was "
                       "changed)");
    schemadiff_release(&d);
    /* a new column */
    orders_live(cols, &n);
    memmove(&cols[2], &cols[3], 2 * sizeof(cols[0]));
    live.ncols = n - 1;
    compare(&orders_frozen, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml:12:7: table 'orders_raw' lacks column 'total' "
                       "(schema: freeze; nothing was changed)");
    schemadiff_release(&d);
    /* the table COMMENT */
    orders_live(cols, &n);
    live.ncols = n;
    live.comment = "other";
    compare(&orders_frozen, &orders_table, &live, &d);
    expect_refusal(&d, "mappings/orders.yaml: table 'orders_raw' has a COMMENT other than the "
                       "mapping's description (schema: freeze; nothing was changed)");
    schemadiff_release(&d);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct schemadiff d;
    struct schemadiff_live_table live = {.exists = true};
    static const struct table_def nokey = {.name = "t", .cols = order_cols, .ncols = 3};
    assert_int_equal(schemadiff_compare(&orders_def, &nokey, &live, DB_DIALECT_MARIADB, &d),
                     ML_EINVAL);
    static const struct column_def odd[] = {{.name = "id", .type = (enum col_type)99}};
    static const struct table_def oddt = {.name = "t", .cols = odd, .ncols = 1, .nkey = 1};
    assert_int_equal(schemadiff_compare(&orders_def, &oddt, &live, DB_DIALECT_MARIADB, &d),
                     ML_EINVAL);
    assert_int_equal(d.nchanges, 0);
    assert_null(d.changes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_server_types),
        cmocka_unit_test(test_parse_ddlgen_spellings),
        cmocka_unit_test(test_parse_postgres_types),
        cmocka_unit_test(test_postgres),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_expected_types),
        cmocka_unit_test(test_integer_rules),
        cmocka_unit_test(test_text_rules),
        cmocka_unit_test(test_decimal_and_time_rules),
        cmocka_unit_test(test_identical_and_missing),
        cmocka_unit_test(test_add_and_widen),
        cmocka_unit_test(test_incompatible_and_narrowing),
        cmocka_unit_test(test_required_columns),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_kept_columns),
        cmocka_unit_test(test_keys_and_metadata),
        cmocka_unit_test(test_freeze),
        cmocka_unit_test(test_partitioned_key),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
