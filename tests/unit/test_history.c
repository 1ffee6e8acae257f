/* test_history.c - unit tests of history streams' pure parts: the strict
 * --as-of parser (accepted spellings, the refused ones), the CREATE TABLE
 * of a history table (history columns after the load metadata, primary key
 * (key..., version), a mapped column named like a history column refused)
 * and the generated views (the current view reads the current versions and
 * the mapped columns only; the monitor names each invariant; both refuse a
 * stream without history); schemadiff of a history table: none after init,
 * a primary key without version and missing history columns refused; the
 * warehouse-neutral rules (the snapshot table's definition, when deletions
 * are held back); the PostgreSQL statements of a run (history_pg.h: the
 * typed row hash, the as-of and run bound as parameters, the snapshot table
 * in pg_temp, compound keys compared column by column). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "buf.h"
#include "db.h"
#include "ddlgen.h"
#include "error.h"
#include "history.h"
#include "history_pg.h"
#include "schemadiff.h"
#include "streamdef.h"
#include "banned.h"

static void expect_as_of(const char *text, const char *want)
{
    char out[HISTORY_AS_OF_LEN];
    assert_int_equal(history_parse_as_of(text, out), 0);
    assert_string_equal(out, want);
}

static void expect_bad_as_of(const char *text)
{
    char out[HISTORY_AS_OF_LEN];
    assert_int_equal(history_parse_as_of(text, out), ML_EUSAGE);
    assert_non_null(strstr(err_msg(), "is not a UTC time"));
}

static void test_as_of(void **state)
{
    (void)state;
    expect_as_of("2024-01-02T00:00:00Z", "2024-01-02 00:00:00.000");
    expect_as_of("2024-02-29T23:59:59Z", "2024-02-29 23:59:59.000");
    expect_as_of("2024-01-02T03:04:05.7Z", "2024-01-02 03:04:05.700");
    expect_as_of("2024-01-02T03:04:05.123Z", "2024-01-02 03:04:05.123");
    expect_bad_as_of(NULL);
    expect_bad_as_of("");
    expect_bad_as_of("2024-01-02");
    expect_bad_as_of("2024-01-02T00:00:00");       /* no zone */
    expect_bad_as_of("2024-01-02T00:00:00+00:00"); /* only Z */
    expect_bad_as_of("2024-01-02t00:00:00z");      /* upper-case only */
    expect_bad_as_of("2024-01-02 00:00:00Z");      /* the T */
    expect_bad_as_of("2023-02-29T00:00:00Z");      /* no such day */
    expect_bad_as_of("2024-04-31T00:00:00Z");
    expect_bad_as_of("2024-13-01T00:00:00Z");
    expect_bad_as_of("2024-01-02T24:00:00Z");
    expect_bad_as_of("2024-01-02T00:60:00Z");
    expect_bad_as_of("2024-01-02T00:00:60Z");
    expect_bad_as_of("2024-01-02T00:00:00.Z");     /* a fraction needs digits */
    expect_bad_as_of("2024-01-02T00:00:00.1234Z"); /* milliseconds at most */
    expect_bad_as_of("2024-01-02T00:00:00Z ");     /* nothing after */
    expect_bad_as_of(" 2024-01-02T00:00:00Z");
    expect_bad_as_of("0999-01-02T00:00:00Z");
    expect_bad_as_of("2024-1-02T00:00:00Z");
    expect_bad_as_of("2024-01-02T00:00:00Z'; DROP TABLE x; --");
}

static const struct column_def purchase_cols[] = {
    {.name = "purchase_id", .type = COL_BIGINT, .required = true},
    {.name = "product", .type = COL_INT},
    {.name = "purchase_date", .type = COL_DATE},
};
static const struct table_def purchases = {
    .name = "purchases", .cols = purchase_cols, .ncols = 3, .nkey = 1, .history = true};
static const struct stream_def purchases_def = {.name = "purchases", .table = &purchases};

static void test_history_table(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    assert_int_equal(ddlgen_create_table(&b, &purchases, DB_DIALECT_MARIADB), 0);
    const char *meta = strstr(b.data, "`loaded_at`");
    const char *vf = strstr(b.data, "`valid_from` DATETIME(3) NOT NULL");
    assert_non_null(meta);
    assert_non_null(vf);
    assert_true(vf > meta);
    assert_non_null(strstr(b.data, "`valid_to` DATETIME(3) NULL"));
    assert_non_null(strstr(b.data, "`version` INT UNSIGNED NOT NULL"));
    assert_non_null(strstr(b.data, "`is_current` BOOLEAN NOT NULL"));
    assert_non_null(strstr(b.data, "`deleted` BOOLEAN NOT NULL"));
    assert_non_null(strstr(b.data, "`row_hash` BINARY(32) NOT NULL"));
    assert_non_null(strstr(b.data, "PRIMARY KEY (`purchase_id`,`version`)"));
    buf_release(&b);

    /* the same table without history: none of it */
    struct table_def plain = purchases;
    plain.history = false;
    assert_int_equal(ddlgen_create_table(&b, &plain, DB_DIALECT_MARIADB), 0);
    assert_null(strstr(b.data, "valid_from"));
    assert_non_null(strstr(b.data, "PRIMARY KEY (`purchase_id`)"));
    buf_release(&b);

    /* must fail: a mapped column named like a history column */
    static const struct column_def clash[] = {
        {.name = "id", .type = COL_BIGINT, .required = true},
        {.name = "Version", .type = COL_INT},
    };
    struct table_def bad = {.name = "t", .cols = clash, .ncols = 2, .nkey = 1, .history = true};
    assert_int_equal(ddlgen_create_table(&b, &bad, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_non_null(strstr(err_msg(), "history column"));
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_views(void **state)
{
    struct buf b = BUF_INIT;
    (void)state;
    assert_int_equal(history_current_name(&b, &purchases_def), 0);
    assert_string_equal(b.data, "purchases_current");
    buf_reset(&b);
    assert_int_equal(history_current_view(&b, &purchases_def, DB_DIALECT_MARIADB), 0);
    assert_string_equal(b.data,
                        "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `purchases_current` AS "
                        "SELECT `purchase_id`, `product`, `purchase_date`, `valid_from` "
                        "FROM `purchases` WHERE `is_current` = 1");
    buf_reset(&b);
    /* PostgreSQL's: security_invoker, its quotes, is_current a boolean */
    assert_int_equal(history_current_view(&b, &purchases_def, DB_DIALECT_POSTGRES), 0);
    assert_string_equal(b.data,
                        "CREATE OR REPLACE VIEW \"purchases_current\" WITH (security_invoker = "
                        "true) AS SELECT \"purchase_id\", \"product\", \"purchase_date\", "
                        "\"valid_from\" FROM \"purchases\" WHERE \"is_current\"");
    buf_reset(&b);
    /* the invariant monitor: one of the generated monitoring views */
    struct ddlgen_stream st = {"purchases", &purchases_def};
    struct ddlgen_monitor *gen = NULL;
    size_t ngen = 0;
    assert_int_equal(ddlgen_monitor_views(&st, 1, &gen, &ngen), 0);
    assert_int_equal(ngen, 1);
    assert_int_equal(gen[0].kind, DDLGEN_MONITOR_HISTORY);
    assert_string_equal(gen[0].name, "monitor_purchases_history");
    assert_int_equal(ddlgen_monitor_view(&b, &gen[0], DB_DIALECT_MARIADB), 0);
    assert_non_null(strstr(b.data, "VIEW `monitor_purchases_history`"));
    assert_non_null(strstr(b.data, "'valid_from not before valid_to'"));
    assert_non_null(strstr(b.data, "'more than one current version'"));
    assert_non_null(strstr(b.data, "'gap or overlap with the previous version'"));
    assert_non_null(strstr(b.data, "'version number without its predecessor'"));
    assert_null(strstr(b.data, "`product`")); /* keys and versions only */
    buf_release(&b);

    /* must fail: a stream without history, output untouched */
    struct table_def plain = purchases;
    plain.history = false;
    struct stream_def pd = {.name = "p", .table = &plain};
    assert_int_equal(buf_adds(&b, "x"), 0);
    assert_int_equal(history_current_view(&b, &pd, DB_DIALECT_POSTGRES), ML_EINVAL);
    gen[0].def = &pd;
    assert_int_equal(ddlgen_monitor_view(&b, &gen[0], DB_DIALECT_MARIADB), ML_EINVAL);
    assert_string_equal(b.data, "x");
    ddlgen_monitor_views_free(gen, ngen);
    /* and a stream without history has no such monitor */
    st.def = &pd;
    assert_int_equal(ddlgen_monitor_views(&st, 1, &gen, &ngen), 0);
    assert_int_equal(ngen, 0);
    ddlgen_monitor_views_free(gen, ngen);
    buf_release(&b);
}

/* The live side of the purchases history table, as the server reports it
 * after init; the comments are the definition's. */
static size_t purchases_live(struct schemadiff_live_column *cols)
{
    size_t nmeta, nhist, n = 0;
    const struct column_def *meta = ddlgen_meta_columns(&nmeta);
    const struct column_def *hist = ddlgen_history_columns(&nhist);
    static const char *const meta_types[] = {"bigint(20) unsigned", "datetime(3)"};
    static const char *const hist_types[] = {"datetime(3)", "datetime(3)", "int(10) unsigned",
                                             "tinyint(1)",  "tinyint(1)",  "binary(32)"};
    cols[n++] = (struct schemadiff_live_column){
        .name = "purchase_id", .type = "bigint(20)", .comment = "", .primary = true};
    cols[n++] = (struct schemadiff_live_column){
        .name = "product", .type = "int(11)", .comment = "", .nullable = true};
    cols[n++] = (struct schemadiff_live_column){
        .name = "purchase_date", .type = "date", .comment = "", .nullable = true};
    for (size_t i = 0; i < nmeta; i++)
        cols[n++] = (struct schemadiff_live_column){
            .name = meta[i].name, .type = meta_types[i], .comment = meta[i].description};
    for (size_t i = 0; i < nhist; i++)
        cols[n++] =
            (struct schemadiff_live_column){.name = hist[i].name,
                                            .type = hist_types[i],
                                            .comment = hist[i].description,
                                            .nullable = !hist[i].required,
                                            .primary = strcmp(hist[i].name, "version") == 0};
    for (size_t i = 0; i < n; i++)
        cols[i].position = (unsigned)i + 1;
    return n;
}

static void test_schemadiff(void **state)
{
    struct schemadiff_live_column cols[16];
    size_t n = purchases_live(cols);
    struct schemadiff_live_table live = {
        .exists = true, .has_rows = true, .comment = "", .cols = cols, .ncols = n};
    struct schemadiff d;
    (void)state;
    /* as init made it: nothing to change */
    assert_int_equal(schemadiff_compare(&purchases_def, &purchases, &live, DB_DIALECT_MARIADB, &d),
                     0);
    assert_int_equal(d.nchanges, 0);
    schemadiff_release(&d);

    /* must fail: a primary key without version (a table made before history) */
    for (size_t i = 0; i < n; i++)
        if (strcmp(cols[i].name, "version") == 0)
            cols[i].primary = false;
    assert_int_equal(schemadiff_compare(&purchases_def, &purchases, &live, DB_DIALECT_MARIADB, &d),
                     0);
    assert_int_equal(d.nrefused, 1);
    assert_int_equal(d.changes[0].action, SD_KEY);
    assert_non_null(strstr(d.changes[0].what, "(purchase_id,version)"));
    schemadiff_release(&d);

    /* must fail: the history columns missing from a table with rows */
    live.ncols = n - 6;
    for (size_t i = 0; i < live.ncols; i++)
        cols[i].primary = strcmp(cols[i].name, "purchase_id") == 0;
    assert_int_equal(schemadiff_compare(&purchases_def, &purchases, &live, DB_DIALECT_MARIADB, &d),
                     0);
    assert_true(d.nrefused >= 1);
    schemadiff_release(&d);
}

static void test_rules(void **state)
{
    struct table_def stage;
    char name[80], tiny[8];
    (void)state;
    assert_int_equal(history_stage_def(&purchases, &stage, name, sizeof(name)), 0);
    assert_string_equal(stage.name, "load_snapshot_purchases");
    assert_false(stage.history);
    assert_int_equal(stage.ncols, 3);
    assert_int_equal(stage.nkey, 1);
    assert_int_equal(stage.nindexes, 0);
    assert_int_equal(history_stage_def(&purchases, &stage, tiny, sizeof(tiny)), ML_EINVAL);
    assert_true(history_deletions_held(1, 10));
    assert_true(history_deletions_held(0, 0));
    assert_false(history_deletions_held(0, 10));
    assert_int_equal(history_type_tag(COL_DATE), 'd');
    assert_int_equal(history_type_tag(COL_HMAC), 's');
    assert_int_equal(history_type_tag(COL_DIGEST), 'x');
}

static void test_pg_row_hash(void **state)
{
    static const struct column_def cols[] = {
        {.name = "id", .type = COL_BIGINT, .required = true},
        {.name = "n", .type = COL_INT},
        {.name = "amount", .type = COL_DECIMAL, .size = 8, .scale = 2},
        {.name = "at", .type = COL_DATETIME},
        {.name = "ok", .type = COL_BOOL},
    };
    static const struct table_def t = {
        .name = "t", .cols = cols, .ncols = 5, .nkey = 1, .history = true};
    struct buf b = BUF_INIT;
    (void)state;
    assert_int_equal(history_pg_row_hash(&b, &t, "s"), 0);
    assert_string_equal(
        b.data,
        "sha256(''::bytea"
        " || CASE WHEN s.\"n\" IS NULL THEN ''::bytea ELSE convert_to('1:n:i:' || "
        "octet_length(convert_to(s.\"n\"::text, 'UTF8')) || ':', 'UTF8') || "
        "convert_to(s.\"n\"::text, 'UTF8') END"
        " || CASE WHEN s.\"amount\" IS NULL THEN ''::bytea ELSE convert_to('6:amount:n:' || "
        "octet_length(convert_to(rtrim(rtrim(s.\"amount\"::text, '0'), '.'), 'UTF8')) || ':', "
        "'UTF8') || convert_to(rtrim(rtrim(s.\"amount\"::text, '0'), '.'), 'UTF8') END"
        " || CASE WHEN s.\"at\" IS NULL THEN ''::bytea ELSE convert_to('2:at:t:' || "
        "octet_length(convert_to(to_char(s.\"at\", 'YYYY-MM-DD HH24:MI:SS.US'), 'UTF8')) || "
        "':', 'UTF8') || convert_to(to_char(s.\"at\", 'YYYY-MM-DD HH24:MI:SS.US'), 'UTF8') END"
        " || CASE WHEN s.\"ok\" IS NULL THEN ''::bytea ELSE convert_to('2:ok:b:' || "
        "octet_length(convert_to(CASE WHEN s.\"ok\" THEN '1' ELSE '0' END, 'UTF8')) || ':', "
        "'UTF8') || convert_to(CASE WHEN s.\"ok\" THEN '1' ELSE '0' END, 'UTF8') END)");
    buf_release(&b);
}

static void test_pg_statements(void **state)
{
    static const struct column_def cols[] = {
        {.name = "a", .type = COL_TEXT, .size = 8, .required = true},
        {.name = "b", .type = COL_TEXT, .size = 8, .required = true},
        {.name = "v", .type = COL_TEXT, .size = 16},
    };
    static const struct table_def pairs = {
        .name = "pairs", .cols = cols, .ncols = 3, .nkey = 2, .history = true};
    const char *stage = "load_snapshot_pairs";
    struct buf b = BUF_INIT;
    (void)state;

    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_LATEST), 0);
    assert_string_equal(b.data,
                        "SELECT to_char(max(greatest(\"valid_from\", coalesce(\"valid_to\", "
                        "\"valid_from\"))), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM "
                        "\"pairs\" WHERE \"valid_from\" > $1::timestamp OR \"valid_to\" > "
                        "$1::timestamp");
    buf_reset(&b);
    /* the snapshot table: the session's own, never a table of the schema */
    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_STAGE_DROP), 0);
    assert_string_equal(b.data, "DROP TABLE IF EXISTS pg_temp.\"load_snapshot_pairs\"");
    buf_reset(&b);
    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_STAGE_CREATE), 0);
    assert_string_equal(b.data, "CREATE TEMPORARY TABLE \"load_snapshot_pairs\" AS SELECT \"a\", "
                                "\"b\", \"v\", \"load_run_id\", \"loaded_at\" FROM \"pairs\" WITH "
                                "NO DATA");
    buf_reset(&b);
    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_STAGE_KEY), 0);
    assert_string_equal(
        b.data, "ALTER TABLE pg_temp.\"load_snapshot_pairs\" ADD PRIMARY KEY (\"a\", \"b\")");
    buf_reset(&b);

    /* keys compared as typed tuples, column by column; as-of and run bound */
    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_CLOSE_CHANGED), 0);
    assert_non_null(strstr(b.data,
                           "UPDATE \"pairs\" AS h SET \"valid_to\" = $1::timestamp, "
                           "\"is_current\" = false, \"load_run_id\" = $2::bigint, "
                           "\"loaded_at\" = (now() AT TIME ZONE 'UTC') FROM "
                           "pg_temp.\"load_snapshot_pairs\" AS s WHERE h.\"a\" = s.\"a\" "
                           "AND h.\"b\" = s.\"b\" AND h.\"is_current\" AND h.\"row_hash\" <> "
                           "sha256("));
    assert_non_null(strstr(b.data, "<> sha256(''::bytea || CASE WHEN s.\"v\""));
    assert_null(strstr(b.data, "h.\"valid_to\" =")); /* a SET names no alias */
    buf_reset(&b);
    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_CLOSE_DELETED), 0);
    assert_non_null(strstr(b.data, ", \"deleted\" = true WHERE h.\"is_current\" AND NOT EXISTS "
                                   "(SELECT 1 FROM pg_temp.\"load_snapshot_pairs\" AS s WHERE "
                                   "h.\"a\" = s.\"a\" AND h.\"b\" = s.\"b\")"));
    buf_reset(&b);
    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_OPEN), 0);
    assert_non_null(strstr(b.data, "INSERT INTO \"pairs\" (\"a\", \"b\", \"v\", \"load_run_id\", "
                                   "\"loaded_at\", \"valid_from\", \"valid_to\", \"version\", "
                                   "\"is_current\", \"deleted\", \"row_hash\") SELECT s.\"a\", "
                                   "s.\"b\", s.\"v\", $2::bigint, (now() AT TIME ZONE 'UTC'), "
                                   "$1::timestamp, NULL, coalesce((SELECT max(m.\"version\") FROM "
                                   "\"pairs\" AS m WHERE m.\"a\" = s.\"a\" AND m.\"b\" = s.\"b\"), "
                                   "0) + 1, true, false, sha256("));
    assert_non_null(strstr(b.data,
                           " AS s WHERE NOT EXISTS (SELECT 1 FROM \"pairs\" AS c WHERE "
                           "c.\"a\" = s.\"a\" AND c.\"b\" = s.\"b\" AND c.\"is_current\")"));
    buf_reset(&b);
    assert_int_equal(history_pg_sql(&b, &pairs, stage, HISTORY_PG_EMPTY), 0);
    assert_string_equal(b.data, "SELECT count(*) FROM \"pairs\" WHERE \"load_run_id\" = $2::bigint "
                                "AND \"valid_to\" = $1::timestamp AND \"valid_from\" >= "
                                "\"valid_to\"");
    buf_reset(&b);

    /* must fail: a table without history, or without a key; nothing added */
    struct table_def plain = pairs;
    plain.history = false;
    assert_int_equal(history_pg_sql(&b, &plain, stage, HISTORY_PG_OPEN), ML_EINVAL);
    plain = pairs;
    plain.nkey = 0;
    assert_int_equal(history_pg_sql(&b, &plain, stage, HISTORY_PG_OPEN), ML_EINVAL);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_of),         cmocka_unit_test(test_history_table),
        cmocka_unit_test(test_views),         cmocka_unit_test(test_schemadiff),
        cmocka_unit_test(test_rules),         cmocka_unit_test(test_pg_row_hash),
        cmocka_unit_test(test_pg_statements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
