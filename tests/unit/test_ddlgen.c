/* test_ddlgen.c - unit tests of the DDL and grants derived from stream
 * definitions: the exact CREATE TABLE text for a table with every column
 * type (binary varchar, unsigned, comments holding quotes and backslashes,
 * two indexes), hostile identifiers quoted, the sensitive table, surrogate
 * kinds and stream tables without repeats, the grants, and the definitions
 * the generator must refuse (leaving its output untouched); the ALTER
 * TABLE of an evolving table (ADD ... AFTER/FIRST, MODIFY, a kept column
 * made nullable, the table COMMENT) and the changes it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"
#include "ddlgen.h"
#include "error.h"
#include "streamdef.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* A table without description or indexes. */
#define TABLE(n, c, nc, nk)                                                                        \
    {                                                                                              \
        .name = (n), .cols = (c), .ncols = (nc), .nkey = (nk)                                      \
    }

/* ---- a table with every column type ---- */

static const struct column_def every_cols[] = {
    {.name = "id", .type = COL_BIGINT, .description = "id from the source"},
    {.name = "pos", .type = COL_SMALLINT, .is_unsigned = true, .description = "0-based position"},
    {.name = "amount", .type = COL_DECIMAL, .size = 10, .scale = 2},
    {.name = "label", .type = COL_TEXT, .size = 64, .description = "it's a \\ path: C:\\tmp\\'x'"},
    {.name = "code", .type = COL_TEXT, .size = 128, .binary = true, .required = true},
    {.name = "created_at", .type = COL_DATETIME, .required = true, .description = "UTC"},
    {.name = "day", .type = COL_DATE},
    {.name = "flag", .type = COL_BOOL},
    {.name = "city_id", .type = COL_SURROGATE, .kind = "city"},
    {.name = "sent_at", .type = COL_EPOCH_MS},
    {.name = "major", .type = COL_VERSION_MAJOR},
    {.name = "n", .type = COL_INT, .is_unsigned = true},
    {.name = "m", .type = COL_INT},
    {.name = "body", .type = COL_LONGTEXT},
    {.name = "mac", .type = COL_HMAC},
    {.name = "big", .type = COL_BIGINT, .is_unsigned = true, .required = true},
    {.name = "small", .type = COL_SMALLINT},
};
static const char *const idx_city_cols[] = {"city_id"};
static const char *const idx_code_day_cols[] = {"code", "day"};
static const struct index_def every_indexes[] = {
    {"idx_city", idx_city_cols, 1},
    {"idx_code_day", idx_code_day_cols, 2},
};
static const struct table_def every_table = {
    .name = "every_raw",
    .cols = every_cols,
    .ncols = ARRAY_LEN(every_cols),
    .nkey = 2,
    .description = "every type; it's \\ quoted",
    .indexes = every_indexes,
    .nindexes = ARRAY_LEN(every_indexes),
};

#define EVERY_DDL                                                                                  \
    "CREATE TABLE IF NOT EXISTS `every_raw` (\n"                                                   \
    "  `id` BIGINT NOT NULL COMMENT 'id from the source',\n"                                       \
    "  `pos` SMALLINT UNSIGNED NOT NULL COMMENT '0-based position',\n"                             \
    "  `amount` DECIMAL(12,2) NULL,\n"                                                             \
    "  `label` VARCHAR(64) NULL COMMENT 'it''s a \\\\ path: C:\\\\tmp\\\\''x''',\n"                \
    "  `code` VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,\n"                  \
    "  `created_at` DATETIME(3) NOT NULL COMMENT 'UTC',\n"                                         \
    "  `day` DATE NULL,\n"                                                                         \
    "  `flag` BOOLEAN NULL,\n"                                                                     \
    "  `city_id` BIGINT UNSIGNED NULL,\n"                                                          \
    "  `sent_at` DATETIME(3) NULL,\n"                                                              \
    "  `major` INT NULL,\n"                                                                        \
    "  `n` INT UNSIGNED NULL,\n"                                                                   \
    "  `m` INT NULL,\n"                                                                            \
    "  `body` MEDIUMTEXT NULL,\n"                                                                  \
    "  `mac` CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NULL,\n"                               \
    "  `big` BIGINT UNSIGNED NOT NULL,\n"                                                          \
    "  `small` SMALLINT NULL,\n"                                                                   \
    "  `load_run_id` BIGINT UNSIGNED NOT NULL COMMENT 'run that last changed this row "            \
    "(load_runs.run_id)',\n"                                                                       \
    "  `loaded_at` DATETIME(3) NOT NULL COMMENT 'UTC time this row last changed',\n"               \
    "  PRIMARY KEY (`id`,`pos`),\n"                                                                \
    "  KEY `idx_city` (`city_id`),\n"                                                              \
    "  KEY `idx_code_day` (`code`,`day`)\n"                                                        \
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci "                          \
    "COMMENT='every type; it''s \\\\ quoted'"

#define CITY_DDL                                                                                   \
    "CREATE TABLE IF NOT EXISTS `sensitive_city_ids` (\n"                                          \
    "  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,\n"                                            \
    "  `digest` BINARY(32) NOT NULL,\n"                                                            \
    "  `value` MEDIUMTEXT NOT NULL,\n"                                                             \
    "  `first_seen_at` DATETIME(3) NOT NULL,\n"                                                    \
    "  PRIMARY KEY (`id`),\n"                                                                      \
    "  UNIQUE KEY `uq_digest` (`digest`)\n"                                                        \
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='PII: city'"

/* ---- two small stream definitions sharing kinds, one with a child ---- */

static const struct column_def users_cols[] = {
    {.name = "user_id", .type = COL_BIGINT},
    {.name = "city_id", .type = COL_SURROGATE, .kind = "city"},
    {.name = "zipcode_id", .type = COL_SURROGATE, .kind = "zipcode"},
};
static const struct table_def users_table =
    TABLE("users_raw", users_cols, ARRAY_LEN(users_cols), 1);
static const struct column_def subs_cols[] = {
    {.name = "user_id", .type = COL_BIGINT},
    {.name = "subscription_no", .type = COL_SMALLINT, .is_unsigned = true},
    {.name = "office_city_id", .type = COL_SURROGATE, .kind = "city"},
    {.name = "bank_id", .type = COL_SURROGATE, .kind = "bank"},
};
static const struct table_def subs_table =
    TABLE("subscriptions_raw", subs_cols, ARRAY_LEN(subs_cols), 2);
static const struct child_def users_child = {.path = "subscription", .table = &subs_table};
static const struct stream_def users_def = {.name = "users",
                                            .table = &users_table,
                                            .key_path = "id",
                                            .children = &users_child,
                                            .nchildren = 1};

static const struct column_def logins_cols[] = {
    {.name = "message_id", .type = COL_TEXT, .size = 128, .binary = true},
    {.name = "ip_id", .type = COL_SURROGATE, .kind = "ip"},
    {.name = "home_zip_id", .type = COL_SURROGATE, .kind = "zipcode"},
};
static const struct table_def logins_table =
    TABLE("user_logins", logins_cols, ARRAY_LEN(logins_cols), 1);
static const struct stream_def logins_def = {
    .name = "user_logins", .table = &logins_table, .key_path = "MessageId"};

static const struct column_def messages_cols[] = {{.name = "message_id", .type = COL_BIGINT}};
static const struct table_def messages_table = TABLE("messages_raw", messages_cols, 1, 1);
static const struct stream_def messages_def = {
    .name = "messages", .table = &messages_table, .key_path = "id"};

/* ---- helpers ---- */

static char *create_of(const struct table_def *t, enum db_dialect d)
{
    struct buf out = BUF_INIT;
    int rc = ddlgen_create_table(&out, t, d);
    if (rc)
        fail_msg("ddlgen_create_table('%s'): %s", t->name, err_msg());
    return buf_detach(&out, NULL);
}

/* The table refused with ML_EINVAL, a message containing `what`, and the
 * buffer (holding a prefix) left as it was. */
static void assert_refused(const struct table_def *t, const char *what)
{
    struct buf out = BUF_INIT;
    assert_int_equal(buf_adds(&out, "prefix;"), 0);
    assert_int_equal(ddlgen_create_table(&out, t, DB_DIALECT_MARIADB), ML_EINVAL);
    if (!strstr(err_msg(), what))
        fail_msg("message '%s' does not say '%s'", err_msg(), what);
    assert_string_equal(out.data, "prefix;");
    buf_release(&out);
}

/* ---- tests ---- */

static void test_every_type_exact(void **state)
{
    (void)state;
    char *sql = create_of(&every_table, DB_DIALECT_MARIADB);
    assert_string_equal(sql, EVERY_DDL);
    free(sql);
}

static void test_mysql8_spells_the_same(void **state)
{
    (void)state;
    char *sql = create_of(&every_table, DB_DIALECT_MYSQL8);
    assert_string_equal(sql, EVERY_DDL);
    free(sql);
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_create_table(&out, &every_table, (enum db_dialect)42), ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void test_appends(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(buf_adds(&out, "-- x\n"), 0);
    assert_int_equal(ddlgen_create_table(&out, &every_table, DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, "-- x\n" EVERY_DDL);
    buf_release(&out);
}

static void test_no_descriptions(void **state)
{
    (void)state;
    char *sql = create_of(&messages_table, DB_DIALECT_MARIADB);
    assert_string_equal(sql, "CREATE TABLE IF NOT EXISTS `messages_raw` (\n"
                             "  `message_id` BIGINT NOT NULL,\n"
                             "  `load_run_id` BIGINT UNSIGNED NOT NULL COMMENT 'run that last "
                             "changed this row (load_runs.run_id)',\n"
                             "  `loaded_at` DATETIME(3) NOT NULL COMMENT 'UTC time this row "
                             "last changed',\n"
                             "  PRIMARY KEY (`message_id`)\n"
                             ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci");
    free(sql);
}

static void test_hostile_identifiers_quoted(void **state)
{
    (void)state;
    static const struct column_def cols[] = {
        {.name = "a`b", .type = COL_BIGINT},
        {.name = "x`); DROP TABLE users_raw; -- ",
         .type = COL_TEXT,
         .size = 5,
         .description = "'); DROP TABLE t; --"},
    };
    static const char *const icols[] = {"x`); DROP TABLE users_raw; -- "};
    static const struct index_def idx[] = {{"i``x", icols, 1}};
    static const struct table_def t = {.name = "we`ird",
                                       .cols = cols,
                                       .ncols = 2,
                                       .nkey = 1,
                                       .description = "a ` tick",
                                       .indexes = idx,
                                       .nindexes = 1};
    char *sql = create_of(&t, DB_DIALECT_MARIADB);
    assert_string_equal(sql, "CREATE TABLE IF NOT EXISTS `we``ird` (\n"
                             "  `a``b` BIGINT NOT NULL,\n"
                             "  `x``); DROP TABLE users_raw; -- ` VARCHAR(5) NULL "
                             "COMMENT '''); DROP TABLE t; --',\n"
                             "  `load_run_id` BIGINT UNSIGNED NOT NULL COMMENT 'run that last "
                             "changed this row (load_runs.run_id)',\n"
                             "  `loaded_at` DATETIME(3) NOT NULL COMMENT 'UTC time this row "
                             "last changed',\n"
                             "  PRIMARY KEY (`a``b`),\n"
                             "  KEY `i````x` (`x``); DROP TABLE users_raw; -- `)\n"
                             ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci "
                             "COMMENT='a ` tick'");
    free(sql);
}

static void test_sensitive_table(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_sensitive_table(&out, "city", DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, CITY_DDL);
    buf_reset(&out);
    assert_int_equal(ddlgen_sensitive_table(&out, "city", DB_DIALECT_MYSQL8), 0);
    assert_string_equal(out.data, CITY_DDL);
    /* a hostile kind: quoted as a name and as a literal */
    buf_reset(&out);
    assert_int_equal(ddlgen_sensitive_table(&out, "o'k`\\", DB_DIALECT_MARIADB), 0);
    assert_non_null(strstr(out.data, "CREATE TABLE IF NOT EXISTS `sensitive_o'k``\\_ids` (\n"));
    assert_non_null(strstr(out.data, " COMMENT='PII: o''k`\\\\'"));
    buf_reset(&out);
    assert_int_equal(buf_adds(&out, "keep"), 0);
    assert_int_equal(ddlgen_sensitive_table(&out, "", DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(ddlgen_sensitive_table(&out, NULL, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_string_equal(out.data, "keep");
    buf_reset(&out);
    assert_int_equal(ddlgen_sensitive_name(&out, "zipcode"), 0);
    assert_string_equal(out.data, "sensitive_zipcode_ids");
    buf_release(&out);
}

static void test_kinds_deduplicated(void **state)
{
    (void)state;
    const struct stream_def *defs[] = {&users_def, &messages_def, &logins_def, &users_def};
    const char **kinds;
    size_t n;
    assert_int_equal(ddlgen_surrogate_kinds(defs, ARRAY_LEN(defs), &kinds, &n), 0);
    assert_int_equal(n, 4);
    /* first-use order: users (city, zipcode), its child (city again, bank), logins (ip, zipcode
     * again) */
    assert_string_equal(kinds[0], "city");
    assert_string_equal(kinds[1], "zipcode");
    assert_string_equal(kinds[2], "bank");
    assert_string_equal(kinds[3], "ip");
    free(kinds);

    assert_int_equal(ddlgen_surrogate_kinds(&defs[1], 1, &kinds, &n), 0);
    assert_int_equal(n, 0);
    assert_null(kinds);
    assert_int_equal(ddlgen_surrogate_kinds(NULL, 0, &kinds, &n), 0);
    assert_int_equal(n, 0);

    static const struct column_def bad_cols[] = {{.name = "id", .type = COL_BIGINT},
                                                 {.name = "x_id", .type = COL_SURROGATE}};
    static const struct table_def bad_table = TABLE("bad", bad_cols, 2, 1);
    static const struct stream_def bad_def = {.name = "bad", .table = &bad_table};
    const struct stream_def *bad[] = {&bad_def};
    assert_int_equal(ddlgen_surrogate_kinds(bad, 1, &kinds, &n), ML_EINVAL);
    assert_non_null(strstr(err_msg(), "'x_id' has no kind"));
}

static void test_stream_tables_deduplicated(void **state)
{
    (void)state;
    const struct stream_def *defs[] = {&users_def, &logins_def, &users_def, &messages_def};
    const struct table_def **tables;
    size_t n;
    assert_int_equal(ddlgen_stream_tables(defs, ARRAY_LEN(defs), &tables, &n), 0);
    assert_int_equal(n, 4);
    assert_ptr_equal(tables[0], &users_table);
    assert_ptr_equal(tables[1], &subs_table);
    assert_ptr_equal(tables[2], &logins_table);
    assert_ptr_equal(tables[3], &messages_table);
    free(tables);
}

static void test_grants(void **state)
{
    (void)state;
    const struct stream_def *defs[] = {&users_def, &messages_def, &logins_def};
    const struct ddlgen_roles roles = {"analyst_r", "steward_r"};
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_grants(&out, defs, ARRAY_LEN(defs), "dwh", &roles, DB_DIALECT_MARIADB),
                     0);
    assert_string_equal(out.data, "GRANT SELECT ON `dwh`.`users_raw` TO `analyst_r`;\n"
                                  "GRANT SELECT ON `dwh`.`subscriptions_raw` TO `analyst_r`;\n"
                                  "GRANT SELECT ON `dwh`.`messages_raw` TO `analyst_r`;\n"
                                  "GRANT SELECT ON `dwh`.`user_logins` TO `analyst_r`;\n"
                                  "GRANT SELECT ON `dwh`.`users_raw` TO `steward_r`;\n"
                                  "GRANT SELECT ON `dwh`.`subscriptions_raw` TO `steward_r`;\n"
                                  "GRANT SELECT ON `dwh`.`messages_raw` TO `steward_r`;\n"
                                  "GRANT SELECT ON `dwh`.`user_logins` TO `steward_r`;\n");
    /* nobody is given a sensitive table: the steward reveals through pii_reveal */
    assert_null(strstr(out.data, "sensitive_"));
    /* hostile names quoted */
    buf_reset(&out);
    const struct ddlgen_roles odd = {"a`r", "s`r"};
    assert_int_equal(ddlgen_grants(&out, &defs[1], 1, "d`b", &odd, DB_DIALECT_MYSQL8), 0);
    assert_string_equal(out.data, "GRANT SELECT ON `d``b`.`messages_raw` TO `a``r`;\n"
                                  "GRANT SELECT ON `d``b`.`messages_raw` TO `s``r`;\n");
    /* no definitions, no grants; missing roles refused */
    buf_reset(&out);
    assert_int_equal(ddlgen_grants(&out, NULL, 0, "dwh", &roles, DB_DIALECT_MARIADB), 0);
    assert_int_equal(out.len, 0);
    const struct ddlgen_roles none = {"analyst_r", NULL};
    assert_int_equal(ddlgen_grants(&out, defs, 1, "dwh", &none, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

/* ---- RANGE partitions ---- */

static const struct column_def event_cols[] = {
    {.name = "id", .type = COL_BIGINT, .required = true},
    {.name = "created_at", .type = COL_DATETIME, .required = true},
    {.name = "kind", .type = COL_TEXT, .size = 16},
};
static const struct partition_def event_part = {
    .column = "created_at", .by = PARTITION_MONTH, .ahead = 3, .retention_days = 400};
static const struct table_def event_table = {
    .name = "events_raw", .cols = event_cols, .ncols = 3, .nkey = 1, .partition = &event_part};
static const struct stream_def event_def = {.name = "events", .table = &event_table};

static void test_partitioned_table(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const struct ddlgen_partition p[] = {
        {"p_past", "2024-02-01"}, {"p202402", "2024-03-01"}, {"p_future", ""}};
    assert_true(ddlgen_partition_key_extra(&event_table));
    assert_int_equal(ddlgen_create_table(&out, &event_table, DB_DIALECT_MARIADB), 0);
    assert_non_null(strstr(out.data, "  PRIMARY KEY (`id`,`created_at`)\n"));
    assert_int_equal(ddlgen_partition_by(&out, &event_table, p, 3, DB_DIALECT_MARIADB), 0);
    assert_non_null(strstr(out.data, "COLLATE=utf8mb4_unicode_ci\n"
                                     "PARTITION BY RANGE COLUMNS(`created_at`) (\n"
                                     "  PARTITION `p_past` VALUES LESS THAN ('2024-02-01'),\n"
                                     "  PARTITION `p202402` VALUES LESS THAN ('2024-03-01'),\n"
                                     "  PARTITION `p_future` VALUES LESS THAN (MAXVALUE))"));
    /* a key that holds the column already is not extended */
    const struct table_def keyed = {
        .name = "ev", .cols = event_cols, .ncols = 3, .nkey = 2, .partition = &event_part};
    assert_false(ddlgen_partition_key_extra(&keyed));
    buf_reset(&out);
    assert_int_equal(ddlgen_create_table(&out, &keyed, DB_DIALECT_MARIADB), 0);
    assert_non_null(strstr(out.data, "  PRIMARY KEY (`id`,`created_at`)\n"));
    /* not partitioned: no change */
    const struct table_def plain = {.name = "ev", .cols = event_cols, .ncols = 3, .nkey = 1};
    assert_false(ddlgen_partition_key_extra(&plain));
    buf_reset(&out);
    assert_int_equal(ddlgen_create_table(&out, &plain, DB_DIALECT_MARIADB), 0);
    assert_non_null(strstr(out.data, "  PRIMARY KEY (`id`)\n"));
    buf_release(&out);
}

static void test_partition_statements(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const struct ddlgen_partition add[] = {
        {"p202507", "2025-08-01"}, {"p202508", "2025-09-01"}, {"p_future", ""}};
    assert_int_equal(
        ddlgen_partition_split_last(&out, &event_table, "p_future", add, 3, DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data,
                        "ALTER TABLE `events_raw` REORGANIZE PARTITION `p_future` INTO (\n"
                        "  PARTITION `p202507` VALUES LESS THAN ('2025-08-01'),\n"
                        "  PARTITION `p202508` VALUES LESS THAN ('2025-09-01'),\n"
                        "  PARTITION `p_future` VALUES LESS THAN (MAXVALUE))");
    const char *const names[] = {"p_past", "p202402", "p202403"};
    buf_reset(&out);
    assert_int_equal(ddlgen_partition_truncate(&out, &event_table, names, 3, DB_DIALECT_MARIADB),
                     0);
    assert_string_equal(out.data,
                        "ALTER TABLE `events_raw` TRUNCATE PARTITION `p_past`,`p202402`,`p202403`");
    const struct ddlgen_partition into = {"p_past", "2024-04-01"};
    buf_reset(&out);
    assert_int_equal(
        ddlgen_partition_merge_first(&out, &event_table, names, 3, &into, DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, "ALTER TABLE `events_raw` REORGANIZE PARTITION "
                                  "`p_past`,`p202402`,`p202403` INTO (\n"
                                  "  PARTITION `p_past` VALUES LESS THAN ('2024-04-01'))");
    /* the loader's rights on partitioned tables only */
    const struct stream_def *defs[] = {&users_def, &event_def};
    buf_reset(&out);
    assert_int_equal(ddlgen_partition_grants(&out, defs, 2, "dwh", "loader_r", DB_DIALECT_MARIADB),
                     0);
    assert_string_equal(out.data, "GRANT ALTER, DROP ON `dwh`.`events_raw` TO `loader_r`;\n");
    buf_reset(&out);
    assert_int_equal(ddlgen_partition_grants(&out, defs, 1, "dwh", "loader_r", DB_DIALECT_MARIADB),
                     0);
    assert_int_equal(out.len, 0);
    assert_int_equal(ddlgen_partition_grants(&out, defs, 2, "dwh", NULL, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    buf_release(&out);
}

/* What the partition writers refuse, leaving the output as it was. */
static void test_partition_refused(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(buf_adds(&out, "x"), 0);
    const struct ddlgen_partition no_max[] = {{"p1", "2024-01-01"}, {"p2", "2024-02-01"}};
    const struct ddlgen_partition down[] = {
        {"p1", "2024-02-01"}, {"p2", "2024-01-01"}, {"p_future", ""}};
    const struct ddlgen_partition bad_name[] = {{"p`1", "2024-01-01"}, {"p_future", ""}};
    const struct ddlgen_partition bad_bound[] = {{"p1", "2024-1-01"}, {"p_future", ""}};
    const struct ddlgen_partition inj_bound[] = {{"p1", "2024')--x"}, {"p_future", ""}};
    const struct ddlgen_partition mid_max[] = {{"p1", ""}, {"p2", "2024-01-01"}, {"p_future", ""}};
    const struct table_def plain = {.name = "ev", .cols = event_cols, .ncols = 3, .nkey = 1};
    const struct partition_def nocol = {.column = "nope", .by = PARTITION_DAY, .ahead = 1};
    const struct table_def badcol = {
        .name = "ev", .cols = event_cols, .ncols = 3, .nkey = 1, .partition = &nocol};
    assert_int_equal(ddlgen_partition_by(&out, &event_table, no_max, 2, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &event_table, down, 3, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &event_table, bad_name, 2, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &event_table, bad_bound, 2, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &event_table, inj_bound, 2, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &event_table, mid_max, 3, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &event_table, NULL, 0, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &plain, down, 3, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(ddlgen_partition_by(&out, &badcol, down, 3, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(ddlgen_create_table(&out, &badcol, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(ddlgen_partition_split_last(&out, &event_table, "p_future", &no_max[0], 1,
                                                 DB_DIALECT_MARIADB),
                     ML_EINVAL);
    const char *const hostile[] = {"p1`; DROP TABLE x"};
    assert_int_equal(ddlgen_partition_truncate(&out, &event_table, hostile, 1, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(ddlgen_partition_truncate(&out, &event_table, hostile, 0, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    const char *const one[] = {"p1"};
    const struct ddlgen_partition max_into = {"p_past", ""};
    assert_int_equal(
        ddlgen_partition_merge_first(&out, &event_table, one, 1, &max_into, DB_DIALECT_MARIADB),
        ML_EINVAL);
    assert_string_equal(out.data, "x");
    buf_release(&out);
}

static void test_reveal_procedure(void **state)
{
    (void)state;
    static const char *const kinds[] = {"city", "zip'code"};
    struct buf out = BUF_INIT;
    assert_int_equal(
        ddlgen_reveal_procedure(&out, "dwh", kinds, 2, "loader_r", NULL, DB_DIALECT_MARIADB), 0);
    assert_non_null(strstr(out.data, "CREATE OR REPLACE DEFINER=`loader_r` PROCEDURE "
                                     "`dwh`.`pii_reveal`(IN p_kind VARCHAR(64), IN p_id BIGINT "
                                     "UNSIGNED, IN p_reason VARCHAR(1024))\n"
                                     "MODIFIES SQL DATA SQL SECURITY DEFINER\n"));
    /* one branch per kind, the kind a quoted literal compared byte for byte */
    assert_non_null(strstr(out.data, "  IF BINARY p_kind = 'city' THEN\n    START TRANSACTION;\n"
                                     "    SET v_value = (SELECT `value` FROM `sensitive_city_ids` "
                                     "WHERE `id` = p_id);\n"));
    assert_non_null(strstr(out.data, "  ELSEIF BINARY p_kind = 'zip''code' THEN\n"));
    assert_non_null(strstr(out.data, "`sensitive_zip'code_ids`"));
    assert_non_null(strstr(out.data, "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'pii_reveal: "
                                     "unknown kind (known: city, zip''code)';"));
    assert_non_null(strstr(out.data, "p_reason NOT REGEXP '[^[:space:]]'"));
    assert_non_null(strstr(out.data, "USER(), 'reveal', p_kind, p_id, p_reason"));
    assert_non_null(strstr(out.data, "  COMMIT;\n  SELECT v_value AS `value`;\nEND"));
    /* nothing from the caller is ever concatenated into a statement */
    assert_null(strstr(out.data, "PREPARE"));
    assert_null(strstr(out.data, "CONCAT"));
    /* an account as definer (MySQL), and no kinds at all */
    buf_reset(&out);
    assert_int_equal(
        ddlgen_reveal_procedure(&out, "dwh", NULL, 0, "loader", "%", DB_DIALECT_MYSQL8), 0);
    assert_non_null(strstr(out.data, "DEFINER='loader'@'%' PROCEDURE"));
    assert_null(strstr(out.data, "p_kind ="));
    assert_non_null(strstr(out.data, "MESSAGE_TEXT = 'pii_reveal: unknown kind';"));
    /* refused */
    buf_reset(&out);
    assert_int_equal(ddlgen_reveal_procedure(&out, "dwh", kinds, 2, NULL, NULL, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(out.len, 0);
    static const char *const empty[] = {""};
    assert_int_equal(ddlgen_reveal_procedure(&out, "dwh", empty, 1, "l", NULL, DB_DIALECT_MARIADB),
                     ML_EINVAL);
    assert_int_equal(out.len, 0);
    /* the grants: the definer role and the steward */
    assert_int_equal(ddlgen_reveal_grants(&out, "dwh", "loader_r", "steward_r", DB_DIALECT_MARIADB),
                     0);
    assert_string_equal(out.data,
                        "GRANT EXECUTE ON PROCEDURE `dwh`.`pii_reveal` TO `loader_r`;\n"
                        "GRANT EXECUTE ON PROCEDURE `dwh`.`pii_reveal` TO `steward_r`;\n");
    buf_release(&out);
}

static void test_refused_definitions(void **state)
{
    (void)state;
    static const struct column_def two[] = {{.name = "id", .type = COL_BIGINT},
                                            {.name = "v", .type = COL_TEXT, .size = 3}};
    static const struct table_def nokey = TABLE("t", two, 2, 0);
    assert_refused(&nokey, "key of 0 columns");
    static const struct table_def bigkey = TABLE("t", two, 2, 3);
    assert_refused(&bigkey, "key of 3 columns");
    static const struct table_def nocols = TABLE("t", two, 0, 0);
    assert_refused(&nocols, "has no columns");

    static const char *const unknown[] = {"nope"};
    static const struct index_def bad_idx[] = {{"idx_nope", unknown, 1}};
    static const struct table_def badidx = {
        .name = "t", .cols = two, .ncols = 2, .nkey = 1, .indexes = bad_idx, .nindexes = 1};
    assert_refused(&badidx, "index 'idx_nope' names unknown column 'nope'");

    static const struct column_def meta[] = {{.name = "id", .type = COL_BIGINT},
                                             {.name = "Loaded_At", .type = COL_DATETIME}};
    static const struct table_def metat = TABLE("t", meta, 2, 1);
    assert_refused(&metat, "'Loaded_At' has the name of a load metadata column");

    static const struct column_def dup[] = {{.name = "id", .type = COL_BIGINT},
                                            {.name = "ID", .type = COL_BIGINT}};
    static const struct table_def dupt = TABLE("t", dup, 2, 1);
    assert_refused(&dupt, "'ID' declared twice");

    static const struct column_def nosize[] = {{.name = "id", .type = COL_TEXT}};
    static const struct table_def nosizet = TABLE("t", nosize, 1, 1);
    assert_refused(&nosizet, "varchar without a size");

    static const struct column_def udate[] = {
        {.name = "id", .type = COL_DATE, .is_unsigned = true}};
    static const struct table_def udatet = TABLE("t", udate, 1, 1);
    assert_refused(&udatet, "only integers can be unsigned");

    static const struct column_def bint[] = {{.name = "id", .type = COL_BIGINT, .binary = true}};
    static const struct table_def bintt = TABLE("t", bint, 1, 1);
    assert_refused(&bintt, "only text can have a binary collation");

    static const struct column_def oddtype[] = {{.name = "id", .type = (enum col_type)99}};
    static const struct table_def oddt = TABLE("t", oddtype, 1, 1);
    assert_refused(&oddt, "type 99 has no mysql spelling");

    static const struct table_def noname = TABLE("", two, 2, 1);
    assert_refused(&noname, "table without a name");
}

/* A definition naming one of the loader's own tables would have init leave
 * that table as it is (IF NOT EXISTS) and grant it to the analyst. */
static void test_reserved_table_names(void **state)
{
    (void)state;
    static const struct column_def one[] = {{.name = "id", .type = COL_BIGINT}};
    static const struct table_def rejects = TABLE("load_rejects", one, 1, 1);
    static const struct table_def city = TABLE("Sensitive_City_Ids", one, 1, 1);
    static const struct table_def view = TABLE("monitor_x", one, 1, 1);
    assert_refused(&rejects, "names beginning with 'load_' are reserved");
    assert_refused(&city, "names beginning with 'sensitive_' are reserved");
    assert_refused(&view, "names beginning with 'monitor_' are reserved");

    static const struct child_def child = {.path = "x", .table = &rejects};
    static const struct stream_def sneaky = {
        .name = "s", .table = &messages_table, .children = &child, .nchildren = 1};
    const struct stream_def *defs[] = {&users_def, &sneaky};
    const struct ddlgen_roles roles = {"a", "s"};
    struct buf out = BUF_INIT;
    const struct table_def **tables;
    size_t n;
    assert_int_equal(ddlgen_grants(&out, defs, 2, "dwh", &roles, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(out.len, 0);
    assert_int_equal(ddlgen_stream_tables(defs, 2, &tables, &n), ML_EINVAL);
    assert_null(tables);
    assert_int_equal(n, 0);
    buf_release(&out);
}

/* ---- ALTER TABLE ---- */

static void test_alter_exact(void **state)
{
    (void)state;
    static const struct column_def cols[] = {
        {.name = "id", .type = COL_BIGINT, .required = true},
        {.name = "label", .type = COL_TEXT, .size = 64, .description = "it's a label"},
        {.name = "color", .type = COL_TEXT, .size = 16, .binary = true},
        {.name = "total", .type = COL_DECIMAL, .size = 10, .scale = 2, .required = true},
    };
    static const struct table_def t = TABLE("items_raw", cols, 4, 1);
    const struct ddlgen_alter alters[] = {
        {.kind = DDLGEN_MODIFY_COLUMN, .col = &cols[1]},
        {.kind = DDLGEN_ADD_COLUMN, .col = &cols[2], .after = "label"},
        {.kind = DDLGEN_MODIFY_COLUMN, .col = &cols[3], .not_null = true},
        {.kind = DDLGEN_ADD_COLUMN, .col = &cols[0], .not_null = true},
        {.kind = DDLGEN_RELAX_COLUMN,
         .name = "old`x",
         .server_type = "varchar(16)",
         .charset = "utf8mb4",
         .collation = "utf8mb4_unicode_ci",
         .comment = "was 'sku'"},
        {.kind = DDLGEN_RELAX_COLUMN, .name = "n", .server_type = "int(11)"},
    };
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_alter_table(&out, &t, alters, ARRAY_LEN(alters), "new \\ comment",
                                        DB_DIALECT_MARIADB),
                     0);
    assert_string_equal(
        out.data,
        "ALTER TABLE `items_raw`\n"
        "  MODIFY COLUMN `label` VARCHAR(64) NULL COMMENT 'it''s a label',\n"
        "  ADD COLUMN `color` VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL AFTER "
        "`label`,\n"
        "  MODIFY COLUMN `total` DECIMAL(12,2) NOT NULL,\n"
        "  ADD COLUMN `id` BIGINT NOT NULL FIRST,\n"
        "  MODIFY COLUMN `old``x` varchar(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci "
        "NULL COMMENT 'was ''sku''',\n"
        "  MODIFY COLUMN `n` int(11) NULL,\n"
        "  COMMENT='new \\\\ comment'");
    /* only the table COMMENT; "" clears it */
    buf_reset(&out);
    assert_int_equal(ddlgen_alter_table(&out, &t, NULL, 0, "", DB_DIALECT_MYSQL8), 0);
    assert_string_equal(out.data, "ALTER TABLE `items_raw`\n  COMMENT=''");
    buf_release(&out);
}

/* PostgreSQL: one ALTER TABLE of the column clauses (ADD at the end, the
 * parts of a MODIFY that differ, DROP NOT NULL of a kept column), then the
 * COMMENT ON statements */
static void test_pg_alter_exact(void **state)
{
    (void)state;
    static const struct column_def cols[] = {
        {.name = "id", .type = COL_BIGINT, .required = true},
        {.name = "label", .type = COL_TEXT, .size = 64, .description = "it's a label"},
        {.name = "color", .type = COL_TEXT, .size = 16, .binary = true, .description = "new"},
        {.name = "total", .type = COL_DECIMAL, .size = 10, .scale = 2, .required = true},
        {.name = "qty", .type = COL_INT, .is_unsigned = true},
    };
    static const struct table_def t = TABLE("items_raw", cols, 5, 1);
    const struct ddlgen_alter alters[] = {
        {.kind = DDLGEN_MODIFY_COLUMN, .col = &cols[1], .recomment = true},
        {.kind = DDLGEN_ADD_COLUMN, .col = &cols[2], .after = "label"},
        {.kind = DDLGEN_MODIFY_COLUMN, .col = &cols[3], .not_null = true, .retype = true},
        {.kind = DDLGEN_MODIFY_COLUMN, .col = &cols[4], .renull = true},
        {.kind = DDLGEN_RELAX_COLUMN, .name = "old\"x", .server_type = "character varying(16)"},
    };
    struct buf out = BUF_INIT;
    assert_int_equal(
        ddlgen_alter_table(&out, &t, alters, ARRAY_LEN(alters), "it's new", DB_DIALECT_POSTGRES),
        0);
    assert_string_equal(out.data, "ALTER TABLE \"items_raw\"\n"
                                  "  ADD COLUMN \"color\" varchar(16) COLLATE \"C\" NULL,\n"
                                  "  ALTER COLUMN \"total\" TYPE numeric(12,2),\n"
                                  "  ALTER COLUMN \"qty\" DROP NOT NULL,\n"
                                  "  ALTER COLUMN \"old\"\"x\" DROP NOT NULL;\n"
                                  "COMMENT ON COLUMN \"items_raw\".\"label\" IS 'it''s a label';\n"
                                  "COMMENT ON COLUMN \"items_raw\".\"color\" IS 'new';\n"
                                  "COMMENT ON TABLE \"items_raw\" IS 'it''s new'");
    /* a MODIFY saying nothing of what differs restates the three parts; a
     * description removed and the table COMMENT cleared are IS NULL */
    const struct ddlgen_alter whole = {.kind = DDLGEN_MODIFY_COLUMN, .col = &cols[4]};
    buf_reset(&out);
    assert_int_equal(ddlgen_alter_table(&out, &t, &whole, 1, "", DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data, "ALTER TABLE \"items_raw\"\n"
                                  "  ALTER COLUMN \"qty\" TYPE bigint,\n"
                                  "  ALTER COLUMN \"qty\" DROP NOT NULL;\n"
                                  "COMMENT ON COLUMN \"items_raw\".\"qty\" IS NULL;\n"
                                  "COMMENT ON TABLE \"items_raw\" IS NULL");
    /* only a comment: no ALTER TABLE */
    const struct ddlgen_alter comment = {
        .kind = DDLGEN_MODIFY_COLUMN, .col = &cols[1], .recomment = true};
    buf_reset(&out);
    assert_int_equal(ddlgen_alter_table(&out, &t, &comment, 1, NULL, DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data, "COMMENT ON COLUMN \"items_raw\".\"label\" IS 'it''s a label'");
    /* a new column's name beyond PostgreSQL's 63 bytes is refused */
    static const struct column_def longname = {
        .name = "a_column_name_that_is_much_longer_than_the_sixty_three_bytes_allowed",
        .type = COL_INT};
    const struct ddlgen_alter add_long = {.kind = DDLGEN_ADD_COLUMN, .col = &longname};
    buf_reset(&out);
    assert_int_equal(ddlgen_alter_table(&out, &t, &add_long, 1, NULL, DB_DIALECT_POSTGRES),
                     ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

static void test_alter_meta_and_type(void **state)
{
    (void)state;
    size_t n = 0;
    const struct column_def *meta = ddlgen_meta_columns(&n);
    struct buf out = BUF_INIT;
    assert_int_equal(n, 2);
    assert_string_equal(meta[0].name, "load_run_id");
    assert_string_equal(meta[1].name, "loaded_at");
    assert_int_equal(ddlgen_column_type(&out, &meta[0], DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, "BIGINT UNSIGNED");
    buf_reset(&out);
    static const struct column_def mac = {.name = "m", .type = COL_HMAC};
    assert_int_equal(ddlgen_column_type(&out, &mac, DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, "CHAR(64) CHARACTER SET ascii COLLATE ascii_bin");
    buf_reset(&out);
    static const struct column_def odd = {.name = "m", .type = (enum col_type)99};
    assert_int_equal(ddlgen_column_type(&out, &odd, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(out.len, 0);
    assert_int_equal(ddlgen_column_type(&out, &mac, (enum db_dialect)7), ML_EINVAL);
    assert_string_equal(ddlgen_text_collation(DB_DIALECT_MARIADB), "utf8mb4_unicode_ci");
    assert_null(ddlgen_text_collation((enum db_dialect)7));
    buf_release(&out);
}

static void assert_alter_refused(const struct table_def *t, const struct ddlgen_alter *a, size_t n,
                                 const char *comment, const char *needle)
{
    struct buf out = BUF_INIT;
    assert_int_equal(buf_adds(&out, "keep"), 0);
    err_clear();
    assert_int_equal(ddlgen_alter_table(&out, t, a, n, comment, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_string_equal(out.data, "keep");
    if (!strstr(err_msg(), needle))
        fail_msg("message '%s' lacks '%s'", err_msg(), needle);
    buf_release(&out);
}

static void test_alter_refused(void **state)
{
    (void)state;
    static const struct column_def cols[] = {{.name = "id", .type = COL_BIGINT}};
    static const struct column_def nosize = {.name = "v", .type = COL_TEXT};
    static const struct column_def oddtype = {.name = "v", .type = (enum col_type)99};
    static const struct table_def t = TABLE("t", cols, 1, 1);
    static const struct table_def reserved = TABLE("load_runs", cols, 1, 1);
    const struct ddlgen_alter add = {.kind = DDLGEN_ADD_COLUMN, .col = &cols[0]};
    assert_alter_refused(&t, NULL, 0, NULL, "an ALTER without changes");
    assert_alter_refused(&reserved, &add, 1, NULL, "reserved");
    const struct ddlgen_alter nocol = {.kind = DDLGEN_MODIFY_COLUMN};
    assert_alter_refused(&t, &nocol, 1, NULL, "without a column");
    const struct ddlgen_alter ns = {.kind = DDLGEN_ADD_COLUMN, .col = &nosize};
    assert_alter_refused(&t, &ns, 1, NULL, "varchar without a size");
    const struct ddlgen_alter ot = {.kind = DDLGEN_MODIFY_COLUMN, .col = &oddtype};
    assert_alter_refused(&t, &ot, 1, NULL, "has no mysql spelling");
    const struct ddlgen_alter semi = {
        .kind = DDLGEN_RELAX_COLUMN, .name = "x", .server_type = "int; DROP TABLE t"};
    assert_alter_refused(&t, &semi, 1, NULL, "cannot restate the type");
    const struct ddlgen_alter tick = {
        .kind = DDLGEN_RELAX_COLUMN, .name = "x", .server_type = "int`"};
    assert_alter_refused(&t, &tick, 1, NULL, "cannot restate the type");
    const struct ddlgen_alter nl = {
        .kind = DDLGEN_RELAX_COLUMN, .name = "x", .server_type = "int\n"};
    assert_alter_refused(&t, &nl, 1, NULL, "cannot restate the type");
    const struct ddlgen_alter coll = {.kind = DDLGEN_RELAX_COLUMN,
                                      .name = "x",
                                      .server_type = "text",
                                      .collation = "utf8mb4_bin; x"};
    assert_alter_refused(&t, &coll, 1, NULL, "unexpected character set");
    const struct ddlgen_alter kind = {.kind = (enum ddlgen_alter_kind)9};
    assert_alter_refused(&t, &kind, 1, NULL, "unknown column change");
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_alter_table(&out, &t, &add, 1, NULL, (enum db_dialect)7), ML_EINVAL);
    assert_int_equal(ddlgen_alter_table(&out, NULL, &add, 1, NULL, DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

/* ---- generated monitoring views ---- */

static const struct column_def shop_cols[] = {
    {.name = "shop_id", .type = COL_BIGINT, .required = true},
    {.name = "line", .type = COL_SMALLINT, .required = true},
    {.name = "status", .type = COL_TEXT, .size = 16},
    {.name = "qty", .type = COL_INT},
    {.name = "at", .type = COL_DATETIME},
    {.name = "day", .type = COL_DATE},
    {.name = "owner_id", .type = COL_BIGINT},
};
static const char *const shop_accepted[] = {"open", "it's"};
static const char *const shop_range[] = {"-1.5", NULL};
static const char *const shop_before[] = {"1900-01-01"};
static const struct check_def shop_checks[] = {
    {.kind = CHECK_ACCEPTED, .col = 2, .values = shop_accepted, .nvalues = 2},
    {.kind = CHECK_RANGE, .col = 3, .values = shop_range, .nvalues = 2, .numeric = true},
    {.kind = CHECK_NOT_FUTURE, .col = 4, .monitor = "monitor_shared"},
    {.kind = CHECK_NOT_FUTURE, .col = 5, .monitor = "monitor_shared"},
    {.kind = CHECK_NOT_BEFORE, .col = 5, .values = shop_before, .nvalues = 1},
    {.kind = CHECK_NOT_BEFORE, .col = 4, .other = "day"},
    {.kind = CHECK_UNIQUE, .col = 1},
    {.kind = CHECK_REFERENCES, .col = 6, .ref_table = "owners", .ref_column = "owner_id"},
    {.kind = CHECK_NOT_NULL, .col = 6},
};
static const struct table_def shop_table = {.name = "shop_raw",
                                            .cols = shop_cols,
                                            .ncols = ARRAY_LEN(shop_cols),
                                            .nkey = 2,
                                            .checks = shop_checks,
                                            .nchecks = ARRAY_LEN(shop_checks)};
static const struct stream_def shop_def = {
    .name = "shop", .table = &shop_table, .freshness_s = 3600, .min_rows = 7};
static const struct column_def owner_cols[] = {{.name = "owner_id", .type = COL_BIGINT}};
static const struct table_def owner_table = TABLE("owners", owner_cols, 1, 1);
static const struct stream_def owner_def = {.name = "owners", .table = &owner_table};

static const struct ddlgen_monitor *find_view(const struct ddlgen_monitor *v, size_t n,
                                              const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    fail_msg("no view %s", name);
    return NULL;
}

static void assert_view_sql(const struct ddlgen_monitor *m, const char *want)
{
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_monitor_view(&out, m, DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, want);
    buf_release(&out);
}

static void test_monitor_views(void **state)
{
    (void)state;
    struct ddlgen_monitor *v;
    size_t n;
    /* without the owners stream the references check is left out */
    const struct ddlgen_stream alone[] = {{"shop", &shop_def}};
    assert_int_equal(ddlgen_monitor_views(alone, 1, &v, &n), 0);
    assert_int_equal(n, 9); /* 8 checks in 7 views, freshness, min_rows */
    ddlgen_monitor_views_free(v, n);

    const struct ddlgen_stream both[] = {{"shop", &shop_def}, {"owners", &owner_def}};
    assert_int_equal(ddlgen_monitor_views(both, 2, &v, &n), 0);
    assert_int_equal(n, 10);
    assert_string_equal(v[0].name, "monitor_shop_raw_status_accepted");
    assert_string_equal(v[2].name, "monitor_shared");
    assert_int_equal(v[2].nparts, 2);
    assert_string_equal(v[8].name, "monitor_shop_freshness");
    assert_true(v[8].strict);
    assert_string_equal(v[9].name, "monitor_shop_min_rows");
    assert_false(v[0].strict);
    assert_view_sql(
        find_view(v, n, "monitor_shop_raw_status_accepted"),
        "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `monitor_shop_raw_status_accepted` "
        "AS SELECT `r`.`shop_id`, `r`.`line`, `r`.`status` FROM `shop_raw` AS `r` "
        "WHERE `r`.`status` NOT IN ('open', 'it''s')");
    assert_view_sql(find_view(v, n, "monitor_shop_raw_qty_range"),
                    "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `monitor_shop_raw_qty_range` AS "
                    "SELECT `r`.`shop_id`, `r`.`line`, `r`.`qty` FROM `shop_raw` AS `r` WHERE "
                    "(`r`.`qty` < -1.5)");
    assert_view_sql(
        find_view(v, n, "monitor_shared"),
        "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `monitor_shared` AS SELECT 'shop_raw' AS "
        "`table_name`, CONCAT_WS(':', `r`.`shop_id`, `r`.`line`) AS `record_key`, 'at' AS "
        "`column_name`, `r`.`at` AS `value` FROM `shop_raw` AS `r` WHERE `r`.`at` > "
        "UTC_TIMESTAMP() UNION ALL SELECT 'shop_raw' AS `table_name`, CONCAT_WS(':', "
        "`r`.`shop_id`, `r`.`line`) AS `record_key`, 'day' AS `column_name`, `r`.`day` AS "
        "`value` FROM `shop_raw` AS `r` WHERE `r`.`day` > UTC_DATE()");
    assert_view_sql(find_view(v, n, "monitor_shop_raw_day_not_before"),
                    "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `monitor_shop_raw_day_not_before` "
                    "AS SELECT `r`.`shop_id`, `r`.`line`, `r`.`day` FROM `shop_raw` AS `r` WHERE "
                    "`r`.`day` < '1900-01-01'");
    assert_view_sql(find_view(v, n, "monitor_shop_raw_at_not_before"),
                    "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `monitor_shop_raw_at_not_before` "
                    "AS SELECT `r`.`shop_id`, `r`.`line`, `r`.`at`, `r`.`day` FROM `shop_raw` AS "
                    "`r` WHERE `r`.`at` < `r`.`day`");
    assert_view_sql(find_view(v, n, "monitor_shop_raw_line_unique"),
                    "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `monitor_shop_raw_line_unique` AS "
                    "SELECT `r`.`shop_id`, `r`.`line` FROM `shop_raw` AS `r` WHERE `r`.`line` IN "
                    "(SELECT `u`.`line` FROM `shop_raw` AS `u` WHERE `u`.`line` IS NOT NULL GROUP "
                    "BY `u`.`line` HAVING COUNT(*) > 1)");
    assert_view_sql(find_view(v, n, "monitor_shop_raw_owner_id_references"),
                    "CREATE OR REPLACE SQL SECURITY INVOKER VIEW "
                    "`monitor_shop_raw_owner_id_references` AS SELECT `r`.`shop_id`, `r`.`line`, "
                    "`r`.`owner_id` FROM `shop_raw` AS `r` WHERE `r`.`owner_id` IS NOT NULL AND "
                    "NOT EXISTS (SELECT 1 FROM `owners` AS `x` WHERE `x`.`owner_id` = "
                    "`r`.`owner_id`)");
    assert_view_sql(find_view(v, n, "monitor_shop_raw_owner_id_not_null"),
                    "CREATE OR REPLACE SQL SECURITY INVOKER VIEW "
                    "`monitor_shop_raw_owner_id_not_null` AS SELECT `r`.`shop_id`, `r`.`line`, "
                    "`r`.`owner_id` FROM `shop_raw` AS `r` WHERE `r`.`owner_id` IS NULL");
    assert_view_sql(
        find_view(v, n, "monitor_shop_freshness"),
        "CREATE OR REPLACE SQL SECURITY INVOKER VIEW `monitor_shop_freshness` AS SELECT 'shop' AS "
        "`stream`, MAX(`r`.`finished_at`) AS `last_success`, TIMESTAMPDIFF(SECOND, "
        "MAX(`r`.`finished_at`), UTC_TIMESTAMP()) AS `age_seconds`, 3600 AS `max_age_seconds` FROM "
        "`load_runs` AS `r` JOIN `load_run_streams` AS `s` ON `s`.`run_id` = `r`.`run_id` WHERE "
        "`r`.`status` = 'succeeded' AND `s`.`stream` = 'shop' HAVING MAX(`r`.`finished_at`) IS "
        "NULL OR TIMESTAMPDIFF(SECOND, MAX(`r`.`finished_at`), UTC_TIMESTAMP()) > 3600");
    {
        struct buf out = BUF_INIT;
        assert_int_equal(
            ddlgen_monitor_view(&out, find_view(v, n, "monitor_shop_min_rows"), DB_DIALECT_MARIADB),
            0);
        assert_non_null(strstr(out.data, "WHERE `l`.`run_id` IS NULL OR `l`.`loaded` < 7"));
        assert_non_null(
            strstr(out.data, "ORDER BY `r`.`finished_at` DESC, `r`.`run_id` DESC LIMIT 1"));
        buf_release(&out);
    }
    ddlgen_monitor_views_free(v, n);
}

static void test_monitor_names(void **state)
{
    (void)state;
    struct buf b = BUF_INIT;
    assert_int_equal(ddlgen_monitor_name(&b, "t", "c", "not_null"), 0);
    assert_string_equal(b.data, "monitor_t_c_not_null");
    buf_reset(&b);
    assert_int_equal(ddlgen_monitor_name(&b, "s", NULL, "freshness"), 0);
    assert_string_equal(b.data, "monitor_s_freshness");
    /* too long: 55 characters, '_', 8 hex digits; the same every time, and
     * another column gives another name */
    const char *t = "a_table_name_of_forty_characters_exactly";
    buf_reset(&b);
    assert_int_equal(ddlgen_monitor_name(&b, t, "a_long_column_name", "references"), 0);
    assert_int_equal(b.len, 64);
    assert_memory_equal(b.data, "monitor_a_table_name_of_forty_characters_exactly_a_long", 55);
    assert_int_equal(b.data[55], '_');
    struct buf b2 = BUF_INIT, b3 = BUF_INIT;
    assert_int_equal(ddlgen_monitor_name(&b2, t, "a_long_column_name", "references"), 0);
    assert_string_equal(b.data, b2.data);
    assert_int_equal(ddlgen_monitor_name(&b3, t, "a_long_column_name", "not_before"), 0);
    assert_int_equal(b3.len, 64);
    assert_string_not_equal(b.data, b3.data);
    buf_release(&b);
    buf_release(&b2);
    buf_release(&b3);
}

static void test_monitor_refused(void **state)
{
    (void)state;
    struct ddlgen_monitor *v;
    size_t n;
    /* one derived name twice: two streams' expectations named alike */
    static const struct column_def one[] = {{.name = "id", .type = COL_BIGINT}};
    static const struct check_def nn[] = {
        {.kind = CHECK_NOT_NULL, .col = 0, .monitor = "monitor_shop_freshness"}};
    static const struct table_def t = {
        .name = "other", .cols = one, .ncols = 1, .nkey = 1, .checks = nn, .nchecks = 1};
    static const struct stream_def other = {.name = "other", .table = &t};
    const struct ddlgen_stream s[] = {{"shop", &shop_def}, {"other", &other}};
    assert_int_equal(ddlgen_monitor_views(s, 2, &v, &n), ML_EINVAL);
    assert_null(v);
    assert_non_null(strstr(err_msg(), "'monitor_shop_freshness' is given to two views"));
    /* a check the generator cannot write */
    static const struct check_def bad[] = {{.kind = CHECK_NOT_FUTURE, .col = 0}};
    static const struct table_def bt = {
        .name = "b", .cols = one, .ncols = 1, .nkey = 1, .checks = bad, .nchecks = 1};
    static const struct stream_def bd = {.name = "b", .table = &bt};
    const struct ddlgen_stream s2[] = {{"b", &bd}};
    assert_int_equal(ddlgen_monitor_views(s2, 1, &v, &n), 0);
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_monitor_view(&out, &v[0], DB_DIALECT_MARIADB), ML_EINVAL);
    assert_int_equal(out.len, 0);
    assert_non_null(strstr(err_msg(), "not_future needs a date or datetime"));
    ddlgen_monitor_views_free(v, n);
    buf_release(&out);
}

/* ---- the PostgreSQL dialect ---- */

#define EVERY_PG_DDL                                                                               \
    "CREATE TABLE IF NOT EXISTS \"every_raw\" (\n"                                                 \
    "  \"id\" bigint NOT NULL,\n"                                                                  \
    "  \"pos\" integer NOT NULL,\n"                                                                \
    "  \"amount\" numeric(12,2) NULL,\n"                                                           \
    "  \"label\" varchar(64) NULL,\n"                                                              \
    "  \"code\" varchar(128) COLLATE \"C\" NOT NULL,\n"                                            \
    "  \"created_at\" timestamp(3) NOT NULL,\n"                                                    \
    "  \"day\" date NULL,\n"                                                                       \
    "  \"flag\" boolean NULL,\n"                                                                   \
    "  \"city_id\" bigint NULL,\n"                                                                 \
    "  \"sent_at\" timestamp(3) NULL,\n"                                                           \
    "  \"major\" integer NULL,\n"                                                                  \
    "  \"n\" bigint NULL,\n"                                                                       \
    "  \"m\" integer NULL,\n"                                                                      \
    "  \"body\" text NULL,\n"                                                                      \
    "  \"mac\" char(64) COLLATE \"C\" NULL,\n"                                                     \
    "  \"big\" bigint NOT NULL,\n"                                                                 \
    "  \"small\" smallint NULL,\n"                                                                 \
    "  \"load_run_id\" bigint NOT NULL,\n"                                                         \
    "  \"loaded_at\" timestamp(3) NOT NULL,\n"                                                     \
    "  PRIMARY KEY (\"id\",\"pos\")\n"                                                             \
    ");\n"                                                                                         \
    "CREATE INDEX IF NOT EXISTS \"every_raw_idx_city\" ON \"every_raw\" (\"city_id\");\n"          \
    "CREATE INDEX IF NOT EXISTS \"every_raw_idx_code_day\" ON \"every_raw\" (\"code\",\"day\");\n" \
    "COMMENT ON TABLE \"every_raw\" IS 'every type; it''s \\ quoted';\n"                           \
    "COMMENT ON COLUMN \"every_raw\".\"id\" IS 'id from the source';\n"                            \
    "COMMENT ON COLUMN \"every_raw\".\"pos\" IS '0-based position';\n"                             \
    "COMMENT ON COLUMN \"every_raw\".\"label\" IS 'it''s a \\ path: C:\\tmp\\''x''';\n"            \
    "COMMENT ON COLUMN \"every_raw\".\"created_at\" IS 'UTC';\n"                                   \
    "COMMENT ON COLUMN \"every_raw\".\"load_run_id\" IS 'run that last changed this row "          \
    "(load_runs.run_id)';\n"                                                                       \
    "COMMENT ON COLUMN \"every_raw\".\"loaded_at\" IS 'UTC time this row last changed'"

#define CITY_PG_DDL                                                                                \
    "CREATE TABLE IF NOT EXISTS \"sensitive_city_ids\" (\n"                                        \
    "  \"id\" bigint NOT NULL GENERATED ALWAYS AS IDENTITY,\n"                                     \
    "  \"digest\" bytea NOT NULL CHECK (octet_length(\"digest\") = 32),\n"                         \
    "  \"value\" text NOT NULL,\n"                                                                 \
    "  \"first_seen_at\" timestamp(3) NOT NULL,\n"                                                 \
    "  PRIMARY KEY (\"id\"),\n"                                                                    \
    "  UNIQUE (\"digest\")\n"                                                                      \
    ");\n"                                                                                         \
    "COMMENT ON TABLE \"sensitive_city_ids\" IS 'PII: city'"

static void test_pg_every_type_exact(void **state)
{
    (void)state;
    char *sql = create_of(&every_table, DB_DIALECT_POSTGRES);
    assert_string_equal(sql, EVERY_PG_DDL);
    free(sql);
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_sensitive_table(&out, "city", DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data, CITY_PG_DDL);
    buf_reset(&out);
    assert_int_equal(ddlgen_column_type(&out, &every_cols[1], DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data, "integer"); /* smallint unsigned: the wider signed type */
    buf_release(&out);
}

/* `pii: hmac, type: varchar(n)`: a varchar(n) compared byte for byte, in both dialects */
static void test_hmac_varchar(void **state)
{
    (void)state;
    struct column_def c = {.name = "masked_ip", .type = COL_HMAC, .size = 256, .binary = true};
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_column_type(&out, &c, DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data, "varchar(256) COLLATE \"C\"");
    buf_reset(&out);
    assert_int_equal(ddlgen_column_type(&out, &c, DB_DIALECT_MARIADB), 0);
    assert_string_equal(out.data, "VARCHAR(256) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    buf_reset(&out);
    c.size = 0;
    c.binary = false;
    assert_int_equal(ddlgen_column_type(&out, &c, DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data, "char(64) COLLATE \"C\"");
    buf_release(&out);
}

static void test_pg_hostile_names_and_limits(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    static const struct column_def cols[] = {
        {.name = "we\"ird col", .type = COL_TEXT, .size = 8, .description = "a ' and a \\"},
        {.name = "v", .type = COL_BIGINT, .is_unsigned = true},
    };
    static const char *const long_idx_cols[] = {"v"};
    static const struct index_def long_idx[] = {
        {"idx_this_name_is_long_enough_to_push_the_whole_past_the_limit", long_idx_cols, 1}};
    const struct table_def t = {.name = "odd\"table",
                                .cols = cols,
                                .ncols = 2,
                                .nkey = 1,
                                .indexes = long_idx,
                                .nindexes = 1};
    assert_int_equal(ddlgen_create_table(&out, &t, DB_DIALECT_POSTGRES), 0);
    assert_non_null(strstr(out.data, "CREATE TABLE IF NOT EXISTS \"odd\"\"table\" (\n"
                                     "  \"we\"\"ird col\" varchar(8) NOT NULL,\n"
                                     "  \"v\" bigint NULL,\n"));
    assert_non_null(strstr(out.data, "  PRIMARY KEY (\"we\"\"ird col\")\n);\n"));
    assert_non_null(strstr(
        out.data, "COMMENT ON COLUMN \"odd\"\"table\".\"we\"\"ird col\" IS 'a '' and a \\'"));
    /* the index name: table_index, cut to 54 bytes + '_' + 8 hex digits = 63 */
    const char *idx = strstr(out.data, "CREATE INDEX IF NOT EXISTS \"");
    assert_non_null(idx);
    idx += strlen("CREATE INDEX IF NOT EXISTS \"");
    const char *end = strstr(idx, "\" ON ");
    assert_non_null(end);
    assert_int_equal(end - idx, 63 + 1); /* the doubled quote of odd"table counts twice */
    assert_memory_equal(idx, "odd\"\"table_idx_this_name", 23);
    assert_int_equal(idx[63 - 9 + 1], '_');
    buf_release(&out);

    /* a name the server would cut: refused, out untouched */
    static const struct column_def long_col[] = {
        {.name = "c234567890123456789012345678901234567890123456789012345678901234",
         .type = COL_BIGINT}};
    const struct table_def t2 = TABLE("fine", long_col, 1, 1);
    const struct table_def t3 =
        TABLE("t234567890123456789012345678901234567890123456789012345678901234", cols + 1, 1, 1);
    assert_int_equal(buf_adds(&out, "prefix;"), 0);
    assert_int_equal(ddlgen_create_table(&out, &t2, DB_DIALECT_POSTGRES), ML_EINVAL);
    assert_non_null(strstr(err_msg(), "longer than the 63 bytes postgres allows"));
    assert_int_equal(ddlgen_create_table(&out, &t3, DB_DIALECT_POSTGRES), ML_EINVAL);
    assert_int_equal(ddlgen_sensitive_table(&out,
                                            "k2345678901234567890123456789012345678901234567890",
                                            DB_DIALECT_POSTGRES),
                     ML_EINVAL);
    assert_string_equal(out.data, "prefix;");
    /* the same long names are fine for MySQL's 64 */
    assert_int_equal(ddlgen_create_table(&out, &t2, DB_DIALECT_MARIADB), 0);
    buf_release(&out);
}

static void test_pg_history_key(void **state)
{
    (void)state;
    const struct table_def h = {
        .name = "hist_raw", .cols = event_cols, .ncols = 3, .nkey = 1, .history = true};
    char *sql = create_of(&h, DB_DIALECT_POSTGRES);
    assert_non_null(strstr(sql, "  \"row_hash\" bytea NOT NULL,\n"));
    assert_non_null(strstr(sql, "  \"version\" bigint NOT NULL,\n"));
    assert_non_null(strstr(sql, "  PRIMARY KEY (\"id\",\"version\")\n);"));
    assert_null(strchr(sql, '`'));
    free(sql);
    sql = create_of(&h, DB_DIALECT_MARIADB); /* MySQL's text unchanged */
    assert_non_null(strstr(sql, "  PRIMARY KEY (`id`,`version`)"));
    free(sql);
}

static void test_pg_grants_and_access(void **state)
{
    (void)state;
    const struct stream_def *defs[] = {&users_def, &logins_def};
    const struct ddlgen_roles roles = {"r_analyst", "r_steward"};
    const char *analyst_extra[] = {"load_runs"};
    const char *steward_extra[] = {"load_rejects"};
    struct ddlgen_pg_access a = {.database = "dwh",
                                 .schema = "maskload",
                                 .loader = "r_loader",
                                 .analyst = "r_analyst",
                                 .steward = "r_steward",
                                 .analyst_tables = analyst_extra,
                                 .nanalyst = 1,
                                 .steward_tables = steward_extra,
                                 .nsteward = 1};
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_grants(&out, defs, 2, "maskload", &roles, DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data,
                        "GRANT SELECT ON \"maskload\".\"users_raw\" TO \"r_analyst\";\n"
                        "GRANT SELECT ON \"maskload\".\"subscriptions_raw\" TO \"r_analyst\";\n"
                        "GRANT SELECT ON \"maskload\".\"user_logins\" TO \"r_analyst\";\n"
                        "GRANT SELECT ON \"maskload\".\"users_raw\" TO \"r_steward\";\n"
                        "GRANT SELECT ON \"maskload\".\"subscriptions_raw\" TO \"r_steward\";\n"
                        "GRANT SELECT ON \"maskload\".\"user_logins\" TO \"r_steward\";\n");
    buf_reset(&out);
    assert_int_equal(ddlgen_pg_access(&out, defs, 2, &a), 0);
    const char *want[] = {
        "DO $ml$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = "
        "'r_loader') THEN CREATE ROLE \"r_loader\" NOLOGIN; END IF; END $ml$;\n",
        "REVOKE ALL ON DATABASE \"dwh\" FROM PUBLIC;\n",
        "GRANT CONNECT, TEMPORARY ON DATABASE \"dwh\" TO \"r_loader\";\n",
        "GRANT CONNECT ON DATABASE \"dwh\" TO \"r_analyst\", \"r_steward\";\n",
        "REVOKE ALL ON SCHEMA \"maskload\" FROM PUBLIC;\n",
        "GRANT USAGE ON SCHEMA \"maskload\" TO \"r_loader\", \"r_analyst\", \"r_steward\";\n",
        "REVOKE ALL ON ALL TABLES IN SCHEMA \"maskload\" FROM PUBLIC;\n",
        "REVOKE ALL ON ALL FUNCTIONS IN SCHEMA \"maskload\" FROM PUBLIC;\n",
        "REVOKE ALL ON ALL TABLES IN SCHEMA \"maskload\" FROM \"r_analyst\", \"r_steward\";\n",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"maskload\" TO "
        "\"r_loader\";\n",
        "GRANT SELECT ON \"maskload\".\"user_logins\" TO \"r_analyst\";\n",
        "GRANT SELECT ON \"maskload\".\"load_runs\" TO \"r_analyst\";\n",
        "GRANT SELECT ON \"maskload\".\"load_rejects\" TO \"r_steward\";\n",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA \"maskload\" GRANT SELECT, INSERT, UPDATE, DELETE ON "
        "TABLES TO \"r_loader\";\n",
        "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n",
    };
    const char *at = out.data;
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        const char *hit = strstr(at, want[i]);
        if (!hit)
            fail_msg("statement %zu missing or out of order: %s", i, want[i]);
        at = hit;
    }
    /* nothing for the analyst on a sensitive table or the rejects */
    assert_null(strstr(out.data, "sensitive_"));
    assert_null(strstr(out.data, "\"load_rejects\" TO \"r_analyst\""));
    /* refusals: a restricted table on the analyst's list, a name with '$', too long */
    const char *bad[] = {"Sensitive_city_ids"};
    const char *rejects[] = {"load_rejects"};
    size_t len = out.len;
    a.analyst_tables = bad;
    assert_int_equal(ddlgen_pg_access(&out, defs, 2, &a), ML_EINVAL);
    a.analyst_tables = rejects;
    assert_int_equal(ddlgen_pg_access(&out, defs, 2, &a), ML_EINVAL);
    a.analyst_tables = analyst_extra;
    a.loader = "r$ml$x";
    assert_int_equal(ddlgen_pg_access(&out, defs, 2, &a), ML_EINVAL);
    a.loader = "r234567890123456789012345678901234567890123456789012345678901234";
    assert_int_equal(ddlgen_pg_access(&out, defs, 2, &a), ML_EINVAL);
    assert_int_equal(out.len, len);
    buf_release(&out);
}

static void test_pg_schema_and_account(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_pg_schema(&out, "mask\"load"), 0);
    assert_string_equal(out.data, "CREATE SCHEMA IF NOT EXISTS \"mask\"\"load\"");
    buf_reset(&out);
    assert_int_equal(ddlgen_pg_account(&out, "analyst", "r_analyst", "maskload"), 0);
    assert_string_equal(out.data,
                        "DO $ml$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE "
                        "rolname = 'analyst') THEN CREATE ROLE \"analyst\" LOGIN; END IF; END "
                        "$ml$;\n"
                        "ALTER ROLE \"analyst\" LOGIN;\n"
                        "GRANT \"r_analyst\" TO \"analyst\";\n"
                        "ALTER ROLE \"analyst\" SET search_path = \"maskload\";\n");
    buf_reset(&out);
    assert_int_equal(ddlgen_pg_account(&out, "it's", "r", "s"), 0);
    assert_non_null(strstr(out.data, "rolname = 'it''s'"));
    buf_reset(&out);
    assert_int_equal(ddlgen_pg_account(&out, "", "r", "s"), ML_EINVAL);
    assert_int_equal(ddlgen_pg_schema(&out, "a$b"), ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

/* The PostgreSQL reveal: a SECURITY DEFINER function owned by the loader
 * role, one branch per kind, the log row in the call's transaction; EXECUTE
 * for the steward only. */
static void test_pg_reveal_function(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const char *kinds[] = {"city", "zip'code"};
    assert_int_equal(
        ddlgen_reveal_procedure(&out, "maskload", kinds, 2, "r_loader", NULL, DB_DIALECT_POSTGRES),
        0);
    assert_non_null(strstr(out.data,
                           "CREATE OR REPLACE FUNCTION \"maskload\".\"pii_reveal\"(p_kind "
                           "varchar, p_id bigint, p_reason varchar)\nRETURNS text LANGUAGE "
                           "plpgsql VOLATILE SECURITY DEFINER SET search_path = "
                           "\"maskload\", pg_temp AS $pii_reveal$ DECLARE v_value text; BEGIN "));
    /* the body is one line: its first newline is after its end */
    assert_true(strchr(strstr(out.data, "$pii_reveal$"), '\n') >
                strstr(out.data, "END $pii_reveal$;"));
    assert_non_null(strstr(out.data,
                           "END IF; IF p_kind = 'city' THEN SELECT \"value\" INTO v_value "
                           "FROM \"sensitive_city_ids\" WHERE \"id\" = p_id; "));
    assert_non_null(strstr(out.data, "ELSIF p_kind = 'zip''code' THEN "));
    assert_non_null(strstr(out.data, "RAISE EXCEPTION 'pii_reveal: unknown kind (known: city, "
                                     "zip''code)';"));
    assert_non_null(strstr(out.data,
                           "session_user, 'reveal', p_kind, p_id, p_reason, v_value IS "
                           "NOT NULL); RAISE LOG 'pii_reveal: % revealed % id % (found: %)', "
                           "session_user, p_kind, p_id, v_value IS NOT NULL; RETURN v_value; "
                           "END $pii_reveal$;\nALTER FUNCTION "));
    assert_non_null(strstr(out.data, "OWNER TO \"r_loader\";\n"));
    assert_null(strstr(out.data, "DEFINER="));
    assert_null(strstr(out.data, "`"));
    buf_reset(&out);
    assert_int_equal(
        ddlgen_reveal_procedure(&out, "maskload", NULL, 0, "r_loader", NULL, DB_DIALECT_POSTGRES),
        0);
    assert_non_null(strstr(out.data, "END IF; RAISE EXCEPTION 'pii_reveal: unknown kind'; INSERT"));
    assert_null(strstr(out.data, "ELSE"));
    buf_reset(&out);
    assert_int_equal(
        ddlgen_reveal_grants(&out, "maskload", "r_loader", "r_steward", DB_DIALECT_POSTGRES), 0);
    assert_string_equal(out.data,
                        "REVOKE ALL ON FUNCTION \"maskload\".\"pii_reveal\"(varchar, bigint, "
                        "varchar) FROM PUBLIC;\nGRANT EXECUTE ON FUNCTION "
                        "\"maskload\".\"pii_reveal\"(varchar, bigint, varchar) TO "
                        "\"r_steward\";\n");
    buf_reset(&out);
    assert_int_equal(
        ddlgen_reveal_procedure(&out, "maskload", kinds, 2, NULL, NULL, DB_DIALECT_POSTGRES),
        ML_EINVAL);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

/* PostgreSQL's partitioned table: PARTITION BY RANGE and its DEFAULT
 * partition; a period added from the DEFAULT partition's rows, readable
 * through the table only; the loader role owns the table. */
static void test_pg_partitioned(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    assert_int_equal(ddlgen_create_table(&out, &event_table, DB_DIALECT_POSTGRES), 0);
    assert_non_null(strstr(out.data,
                           "PRIMARY KEY (\"id\",\"created_at\")\n) PARTITION BY RANGE "
                           "(\"created_at\");\nCREATE TABLE IF NOT EXISTS "
                           "\"events_raw_p_default\" PARTITION OF \"events_raw\" DEFAULT"));
    buf_reset(&out);
    const struct ddlgen_partition p = {"p202503", "2025-04-01"};
    const char *readers[] = {"analyst_r", "steward_r"};
    assert_int_equal(ddlgen_partition_add_pg(&out, &event_table, "s", "events_raw_p_default",
                                             "2025-03-01", &p, readers, 2),
                     0);
    assert_string_equal(
        out.data,
        "CREATE TABLE \"s\".\"events_raw_p202503\" (LIKE \"s\".\"events_raw\" INCLUDING "
        "DEFAULTS);\nWITH moved AS (DELETE FROM \"s\".\"events_raw_p_default\" WHERE "
        "\"created_at\" >= '2025-03-01' AND \"created_at\" < '2025-04-01' RETURNING *) INSERT "
        "INTO \"s\".\"events_raw_p202503\" SELECT * FROM moved;\nALTER TABLE \"s\".\"events_raw\" "
        "ATTACH PARTITION \"s\".\"events_raw_p202503\" FOR VALUES FROM ('2025-03-01') TO "
        "('2025-04-01');\nREVOKE ALL ON \"s\".\"events_raw_p202503\" FROM PUBLIC, "
        "\"analyst_r\", \"steward_r\"");
    /* must fail: an empty or reversed range, a hostile bound; out untouched */
    buf_reset(&out);
    assert_int_equal(
        ddlgen_partition_add_pg(&out, &event_table, "s", "d", "2025-04-01", &p, readers, 2),
        ML_EINVAL);
    assert_int_equal(
        ddlgen_partition_add_pg(&out, &event_table, "s", "d", "2025-03-01') OR (1", &p, readers, 2),
        ML_EINVAL);
    const struct ddlgen_partition bad = {"p202503", "2025-04-0'"};
    assert_int_equal(
        ddlgen_partition_add_pg(&out, &event_table, "s", "d", "2025-03-01", &bad, readers, 2),
        ML_EINVAL);
    assert_int_equal(out.len, 0);
    const struct stream_def *defs[] = {&users_def, &event_def};
    assert_int_equal(ddlgen_partition_grants(&out, defs, 2, "s", "loader_r", DB_DIALECT_POSTGRES),
                     0);
    assert_string_equal(out.data,
                        "ALTER TABLE \"s\".\"events_raw\" OWNER TO \"loader_r\";\n"
                        "ALTER TABLE \"s\".\"events_raw_p_default\" OWNER TO \"loader_r\";\n"
                        "GRANT CREATE ON SCHEMA \"s\" TO \"loader_r\";\n");
    buf_reset(&out);
    assert_int_equal(ddlgen_partition_grants(&out, defs, 1, "s", "loader_r", DB_DIALECT_POSTGRES),
                     0);
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

/* What only MySQL's dialect writes yet refuses PostgreSQL instead of
 * writing MySQL text for it. */
static void test_pg_not_yet_written(void **state)
{
    (void)state;
    struct buf out = BUF_INIT;
    const struct ddlgen_partition p[] = {{"p_future", ""}};
    assert_int_equal(ddlgen_partition_by(&out, &event_table, p, 1, DB_DIALECT_POSTGRES), ML_EINVAL);
    assert_string_equal(ddlgen_text_collation(DB_DIALECT_POSTGRES), "default");
    assert_int_equal(out.len, 0);
    buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_exact),
        cmocka_unit_test(test_pg_every_type_exact),
        cmocka_unit_test(test_hmac_varchar),
        cmocka_unit_test(test_pg_hostile_names_and_limits),
        cmocka_unit_test(test_pg_history_key),
        cmocka_unit_test(test_pg_grants_and_access),
        cmocka_unit_test(test_pg_schema_and_account),
        cmocka_unit_test(test_pg_reveal_function),
        cmocka_unit_test(test_pg_not_yet_written),
        cmocka_unit_test(test_pg_partitioned),
        cmocka_unit_test(test_mysql8_spells_the_same),
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_no_descriptions),
        cmocka_unit_test(test_hostile_identifiers_quoted),
        cmocka_unit_test(test_sensitive_table),
        cmocka_unit_test(test_kinds_deduplicated),
        cmocka_unit_test(test_stream_tables_deduplicated),
        cmocka_unit_test(test_grants),
        cmocka_unit_test(test_refused_definitions),
        cmocka_unit_test(test_reserved_table_names),
        cmocka_unit_test(test_monitor_views),
        cmocka_unit_test(test_monitor_names),
        cmocka_unit_test(test_monitor_refused),
        cmocka_unit_test(test_alter_exact),
        cmocka_unit_test(test_pg_alter_exact),
        cmocka_unit_test(test_alter_meta_and_type),
        cmocka_unit_test(test_alter_refused),
        cmocka_unit_test(test_reveal_procedure),
        cmocka_unit_test(test_partitioned_table),
        cmocka_unit_test(test_partition_statements),
        cmocka_unit_test(test_partition_refused),
    };
    return cmocka_run_group_tests_name("ddlgen", tests, NULL, NULL);
}
