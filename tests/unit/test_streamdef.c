/* test_streamdef.c - the stream mapping language (config_mapping.c): the
 * built-ins parse into the tables they always had; an inline mapping and a
 * mapping file give the same definition; every rule of the language has a
 * must-fail case whose message names file:line:column and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "streamdef.h"
#include "banned.h"

#define HEAD                                                                                       \
    "warehouse: { database: d, user: u, password: p }\n"                                           \
    "sources:\n"                                                                                   \
    "  shop: { base_url: 'http://127.0.0.1:1' }\n"                                                 \
    "streams:\n"

/* An orders stream, inline; line 5 is its first line. */
#define ORDERS_BODY                                                                                \
    "    table: orders_raw\n"                                                                      \
    "    description: orders from the shop\n"                                                      \
    "    key: [order_id]\n"                                                                        \
    "    columns:\n"                                                                               \
    "      - { name: order_id, from: id, type: bigint, required: true }\n"                         \
    "      - { name: created_at, from: createdAt, type: datetime, required: true }\n"              \
    "      - { name: status, from: status, type: varchar(32), description: as sent }\n"            \
    "      - { name: total, from: total, type: \"decimal(12,2)\" }\n"                              \
    "      - { name: email_domain, from: customer.email, pii: email_domain }\n"                    \
    "      - { name: city_id, from: customer.city, pii: surrogate, kind: city }\n"                 \
    "      - { name: birth_year, from: customer.birthDate, pii: year }\n"                          \
    "      - { name: phone_hmac, from: customer.phone, pii: hmac, normalize: [trim, lower] }\n"    \
    "      - { name: note, from: note, type: text, on_invalid: null }\n"                           \
    "    drop: [customer.name, customer.street]\n"                                                 \
    "    indexes: { idx_orders_city: [city_id] }\n"                                                \
    "    children:\n"                                                                              \
    "      - table: order_lines_raw\n"                                                             \
    "        from: lines\n"                                                                        \
    "        position: line_no\n"                                                                  \
    "        columns:\n"                                                                           \
    "          - { name: sku, from: sku, type: varchar(64), required: true }\n"                    \
    "          - { name: qty, from: qty, type: int }\n"                                            \
    "          - { name: price, from: price, type: \"decimal(10,2)\" }\n"

#define KEY "pii: { digest_key: 0123456789abcdef0123456789abcdef }\n"

static int parse(struct config *c, const char *text)
{
    return config_parse(c, text, strlen(text), "t.yaml");
}

static int failures; /* of expect_error, reported all at once */

/* Parses, expects ML_ECONFIG whose message starts with `where` and contains
 * `part`; a mismatch is printed and counted (see check_failures). */
static void expect_error(const char *text, const char *where, const char *part)
{
    struct config c;
    int rc = parse(&c, text);
    if (rc == 0) {
        config_release(&c);
        print_error("parsed, but should fail with '%s ... %s'\n", where, part);
        failures++;
    } else if (rc != ML_ECONFIG || strncmp(err_msg(), where, strlen(where)) != 0 ||
               !strstr(err_msg(), part)) {
        print_error("message '%s' (%d) is not '%s ... %s'\n", err_msg(), rc, where, part);
        failures++;
    }
}

static void check_failures(void)
{
    if (failures)
        fail_msg("%d error case(s) gave another message", failures);
}

static const struct column_def *col(const struct table_def *t, const char *name)
{
    int i = streamdef_column_index(t, name);
    if (i < 0)
        fail_msg("table %s has no column %s", t->name, name);
    return &t->cols[i];
}

static void check_orders(const struct stream_def *d)
{
    const struct table_def *t = d->table;
    assert_string_equal(t->name, "orders_raw");
    assert_string_equal(t->description, "orders from the shop");
    assert_int_equal(t->nkey, 1);
    assert_int_equal(t->ncols, 9);
    assert_string_equal(d->key_path, "id");
    assert_int_equal(col(t, "order_id")->type, COL_BIGINT);
    assert_true(col(t, "order_id")->required);
    assert_int_equal(col(t, "status")->type, COL_TEXT);
    assert_int_equal(col(t, "status")->size, 32);
    assert_string_equal(col(t, "status")->description, "as sent");
    assert_int_equal(col(t, "total")->type, COL_DECIMAL);
    assert_int_equal(col(t, "total")->size, 10); /* integer digits */
    assert_int_equal(col(t, "total")->scale, 2);
    assert_int_equal(col(t, "email_domain")->type, COL_TEXT);
    assert_int_equal(col(t, "email_domain")->size, 255);
    assert_int_equal(col(t, "city_id")->type, COL_SURROGATE);
    assert_string_equal(col(t, "city_id")->kind, "city");
    assert_int_equal(col(t, "birth_year")->type, COL_SMALLINT);
    assert_int_equal(col(t, "phone_hmac")->type, COL_HMAC);
    assert_int_equal(col(t, "note")->type, COL_LONGTEXT);
    /* fields: 9 columns + 2 drops, each pointing at its column */
    assert_int_equal(d->nfields, 11);
    for (unsigned i = 0; i < 9; i++) {
        assert_int_equal(d->fields[i].col, (int)i);
        assert_string_equal(d->fields[i].column, t->cols[i].name);
    }
    assert_int_equal(d->fields[7].action, PII_HMAC);
    assert_int_equal(d->fields[7].normalize, NORM_TRIM | NORM_LOWER);
    assert_int_equal(d->fields[5].normalize, NORM_TRIM); /* the default */
    assert_true(d->fields[8].invalid_null);
    assert_int_equal(d->fields[9].action, PII_DROP);
    assert_null(d->fields[9].column);
    assert_int_equal(d->fields[9].col, -1);
    assert_string_equal(d->fields[10].path, "customer.street");
    assert_int_equal(t->nindexes, 1);
    assert_string_equal(t->indexes[0].name, "idx_orders_city");
    assert_string_equal(t->indexes[0].cols[0], "city_id");
    /* the child: parent key, position, then its columns */
    assert_int_equal(d->nchildren, 1);
    const struct table_def *c = d->children[0].table;
    assert_string_equal(d->children[0].path, "lines");
    assert_string_equal(c->name, "order_lines_raw");
    assert_int_equal(c->nkey, 2);
    assert_int_equal(c->ncols, 5);
    assert_string_equal(c->cols[0].name, "order_id");
    assert_int_equal(c->cols[0].type, COL_BIGINT);
    assert_string_equal(c->cols[1].name, "line_no");
    assert_int_equal(c->cols[1].type, COL_SMALLINT);
    assert_true(c->cols[1].is_unsigned);
    assert_int_equal(d->children[0].nfields, 3);
    assert_int_equal(d->children[0].fields[0].col, 2);
    assert_int_equal(col(c, "qty")->type, COL_INT);
    assert_int_equal(d->schema, SCHEMA_EVOLVE);
    assert_false(d->unknown_reject);
}

static void test_inline(void **state)
{
    (void)state;
    struct config c;
    static const char text[] =
        HEAD "  orders:\n    source: shop\n    path: /orders\n" ORDERS_BODY KEY;
    if (parse(&c, text))
        fail_msg("%s", err_msg());
    assert_int_equal(c.nstreams, 1);
    assert_null(c.streams[0].mapping);
    check_orders(c.streams[0].def);
    assert_string_equal(c.streams[0].def->file, "t.yaml");
    /* declared where it is: column 3 (status) is on line 14 of the file */
    assert_int_equal(c.streams[0].def->table->cols[2].decl_line, 14);
    config_release(&c);
}

static void test_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/ml-streamdef-XXXXXX";
    char path[256], cfgpath[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/orders.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    /* the same body, one level less indented */
    const char *body = ORDERS_BODY;
    for (const char *p = body; *p;) {
        const char *nl = strchr(p, '\n');
        fprintf(f, "%.*s\n", (int)(nl - p - 4), p + 4);
        p = nl + 1;
    }
    fclose(f);
    snprintf(cfgpath, sizeof(cfgpath), "%s/c.yaml", dir);
    static const char text[] =
        HEAD "  orders: { source: shop, path: /orders, mapping: orders.yaml }\n" KEY;
    struct config c;
    if (config_parse(&c, text, strlen(text), cfgpath))
        fail_msg("%s", err_msg());
    check_orders(c.streams[0].def);
    assert_string_equal(c.streams[0].def->file, path);
    config_release(&c);

    /* an error inside the file names the file, line and column */
    f = fopen(path, "w");
    fprintf(
        f,
        "table: t\nkey: [a]\ncolumns:\n  - { name: a, from: a, type: bigintt, required: true }\n");
    fclose(f);
    char want[400];
    snprintf(want, sizeof(want), "%s:4:31: unknown type 'bigintt' for 'columns[0].type'", path);
    assert_int_not_equal(config_parse(&c, text, strlen(text), cfgpath), 0);
    if (strncmp(err_msg(), want, strlen(want)) != 0)
        fail_msg("'%s' does not start with '%s'", err_msg(), want);
    /* a missing file */
    unlink(path);
    assert_int_equal(config_parse(&c, text, strlen(text), cfgpath), ML_ECONFIG);
    assert_non_null(strstr(err_msg(), "cannot read mapping file"));
    rmdir(dir);
}

/* The built-ins: the tables and columns seed 000's SQL reads. */
static void test_builtins(void **state)
{
    (void)state;
    const struct stream_def *u = streamdef_builtin("users"), *m = streamdef_builtin("messages"),
                            *l = streamdef_builtin("user_logins");
    assert_non_null(u);
    assert_non_null(m);
    assert_non_null(l);
    assert_null(streamdef_builtin("orders"));
    assert_ptr_equal(u, streamdef_builtin("users")); /* parsed once */
    assert_string_equal(u->table->name, "users_raw");
    assert_string_equal(u->table->cols[0].name, "user_id");
    assert_int_equal(col(u->table, "income")->size, 12);
    assert_int_equal(col(u->table, "income")->scale, 2);
    assert_int_equal(col(u->table, "birth_date")->type, COL_DATE);
    assert_string_equal(u->children[0].table->name, "subscriptions_raw");
    assert_string_equal(u->children[0].table->cols[1].name, "subscription_no");
    assert_string_equal(u->children[0].table->cols[1].description,
                        "0-based position in the user's subscription array");
    assert_string_equal(m->table->name, "messages_raw");
    assert_int_equal(m->table->nindexes, 3);
    assert_int_equal(m->table->indexes[0].ncols, 2);
    assert_string_equal(l->table->name, "user_logins");
    assert_string_equal(l->processed_table, "load_processed_ids");
    assert_true(col(l->table, "message_id")->binary);
    assert_int_equal(col(l->table, "created_at")->type, COL_EPOCH_MS);
    assert_int_equal(col(l->table, "app_version_major")->type, COL_VERSION_MAJOR);
    /* user_logins_masked: the seeds' seven columns behind its key */
    const struct stream_def *lm = streamdef_builtin("user_logins_masked");
    static const char *const seeds[] = {"message_id",  "user_id",          "device_type",
                                        "masked_ip",   "masked_device_id", "locale",
                                        "app_version", "create_date"};
    assert_non_null(lm);
    assert_string_equal(lm->table->name, "user_logins");
    assert_string_equal(lm->processed_table, "load_processed_ids");
    assert_int_equal(lm->table->nkey, 1);
    assert_int_equal(lm->table->ncols, 8);
    for (unsigned i = 0; i < 8; i++)
        assert_string_equal(lm->table->cols[i].name, seeds[i]);
    assert_int_equal(col(lm->table, "masked_ip")->type, COL_HMAC);
    assert_int_equal(col(lm->table, "masked_device_id")->size, 256);
    assert_int_equal(col(lm->table, "app_version")->type, COL_VERSION_MAJOR);
    assert_true(col(lm->table, "create_date")->from_epoch_ms);
    /* the columns that identify a data subject (erasure), and only those */
    assert_true(col(u->table, "user_id")->subject);
    assert_true(col(m->table, "sender_id")->subject);
    assert_true(col(m->table, "receiver_id")->subject);
    assert_true(col(l->table, "user_id")->subject);
    assert_false(col(m->table, "message_id")->subject);
    assert_false(col(l->table, "message_id")->subject);
    assert_false(col(u->table, "city_id")->subject);
    for (unsigned i = 0; i < u->children[0].table->ncols; i++)
        assert_false(u->children[0].table->cols[i].subject);
    /* and through a config: by the stream's name or by `mapping:` */
    struct config c;
    static const char text[] =
        HEAD "  users: { source: shop }\n"
             "  msgs: { source: shop, path: /messages, mapping: messages }\n";
    if (parse(&c, text))
        fail_msg("%s", err_msg());
    assert_string_equal(c.streams[0].def->table->name, "users_raw");
    assert_string_equal(c.streams[1].def->table->name, "messages_raw");
    assert_string_equal(c.streams[1].mapping, "messages");
    config_release(&c);
}

#define S(body) HEAD "  o:\n    source: shop\n" body KEY
#define COLS    "    columns:\n"
#define IDCOL   "      - { name: id, from: id, type: bigint, required: true }\n"

static void test_errors(void **state)
{
    (void)state;
    expect_error(S("    key: [id]\n" COLS IDCOL "      - { name: x, from: x, type: float }\n"),
                 "t.yaml:10:35:", "unknown type 'float' for 'streams.o.columns[1].type'");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: x, from: x, type: decimal(12,2) }\n"),
        "t.yaml:10:35:", "quote decimal(p,s) inside { }"); /* YAML splits it */
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: x, from: x, type: \"decimal(2,3)\" }\n"),
        "t.yaml:10:35:", "decimal(p,s) needs");
    expect_error(S("    key: [id]\n" COLS IDCOL "      - { name: x, from: x, type: varchar(0) }\n"),
                 "t.yaml:10:35:", "varchar length must be 1..16383");
    expect_error(S("    key: [id]\n" COLS IDCOL "      - { name: id, from: y, type: bigint }\n"),
                 "t.yaml:10:9:", "column 'id' is declared twice in 'streams.o'");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: c, from: city, pii: surrogate }\n"),
        "t.yaml:10:9:", "has pii: surrogate but no 'kind'");
    expect_error(S("    key: [id]\n" COLS IDCOL
                   "      - { name: c, from: city, pii: surrogate, kind: city, type: bigint }\n"),
                 "t.yaml:10:66:", "takes no 'type' with pii: surrogate");
    /* pii: hmac takes a varchar(n) wide enough for its 64 hex characters, nothing else */
    expect_error(S("    key: [id]\n" COLS IDCOL
                   "      - { name: h, from: ip, pii: hmac, type: varchar(63) }\n"),
                 "t.yaml:10:47:", "with pii: hmac must be a varchar(n) with n >= 64");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: h, from: ip, pii: hmac, type: int }\n"),
        "t.yaml:10:47:", "with pii: hmac must be a varchar(n) with n >= 64");
    /* epoch_ms_date is a date kept as sent, not generalised */
    expect_error(
        S("    key: [id]\n" COLS IDCOL
          "      - { name: d, from: ts, type: epoch_ms_date, pii: { truncate: month } }\n"),
        "t.yaml:10:36:", "epoch_ms_date is stored as sent (pii: keep) only");
    expect_error(S("    key: [id]\n" COLS "      - { name: id, from: id, type: bigint }\n"),
                 "t.yaml:7:11:", "key column 'id' of 'streams.o' must be required: true");
    expect_error(S("    key: [b]\n" COLS IDCOL
                   "      - { name: b, from: b, type: bigint, required: true }\n"),
                 "t.yaml:7:11:", "must be column 1 of 'streams.o'");
    expect_error(S("    key: [nope]\n" COLS IDCOL),
                 "t.yaml:7:11:", "key column 'nope' is not a column of 'streams.o'");
    expect_error(S(COLS IDCOL), "t.yaml:", "missing required key 'key' in 'streams.o'");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: \"x; DROP\", from: x, type: int }\n"),
        "t.yaml:10:17:", "is not a valid column name");
    expect_error(S("    table: \"t`x\"\n    key: [id]\n" COLS IDCOL),
                 "t.yaml:7:12:", "is not a valid table name");
    expect_error(S("    table: load_rejects\n    key: [id]\n" COLS IDCOL),
                 "t.yaml:7:12:", "starts with 'load_', which the loader keeps");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: loaded_at, from: x, type: int }\n"),
        "t.yaml:10:17:", "reserved");
    expect_error(S("    key: [id]\n" COLS IDCOL "      - { name: x, from: x, pii: fuzz }\n"),
                 "t.yaml:10:34:", "'fuzz' is not a valid value for 'streams.o.columns[1].pii'");
    expect_error(S("    key: [id]\n" COLS IDCOL "      - { name: x, from: x }\n"),
                 "t.yaml:10:9:", "missing required key 'type'");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: x, from: x, type: int, wat: 1 }\n"),
        "t.yaml:10:40:", "unknown key 'wat' in 'streams.o.columns[1]'");
    expect_error(S("    key: [id]\n" COLS IDCOL "      - { name: x, from: \"a..b\", type: int }\n"),
                 "t.yaml:10:26:", "must be a JSON path");
    expect_error(S("    key: [id]\n" COLS IDCOL
                   "      - { name: x, from: x, type: int, normalize: [nfc] }\n"),
                 "t.yaml:10:51:", "applies to pii: surrogate and pii: hmac only");
    expect_error(S("    key: [id]\n" COLS IDCOL "    drop: [id]\n"),
                 "t.yaml:10:12:", "'id' is both dropped and mapped");
    expect_error(S("    key: [id]\n" COLS IDCOL "    indexes: { ix: [zz] }\n"),
                 "t.yaml:10:21:", "index 'ix' names column 'zz'");
    expect_error(S("    key: [id]\n    schema: melt\n" COLS IDCOL),
                 "t.yaml:8:13:", "'melt' is not a valid value for 'streams.o.schema'");
    expect_error(S("    key: [id]\n" COLS IDCOL "    children:\n      - { table: c, from: l }\n"),
                 "t.yaml:11:9:", "needs 'table', 'from' and 'position'");
    expect_error(S("    key: [id]\n    exactly_once: true\n" COLS IDCOL
                   "    children:\n      - { table: c, from: l, position: n, columns: [{ name: a, "
                   "from: a, type: int }] }\n"),
                 "t.yaml:", "exactly_once streams cannot have child tables");
    /* subject: only on a kept integer or text column of the main table */
    expect_error(S("    key: [id]\n" COLS IDCOL
                   "      - { name: c, from: city, pii: surrogate, kind: city, subject: true }\n"),
                 "t.yaml:10:69:",
                 "'streams.o.columns[1].subject' applies to a column the table "
                 "keeps as sent (pii: keep) of an integer or text type: column "
                 "'c' is surrogate");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: y, from: d, pii: year, subject: true }\n"),
        "t.yaml:10:49:", "column 'y' is year");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "      - { name: d, from: d, type: date, subject: true }\n"),
        "t.yaml:10:50:", "column 'd' is of another type");
    expect_error(S("    key: [id]\n" COLS
                   "      - { name: id, from: id, type: bigint, required: true, subject: 1 }\n"),
                 "t.yaml:9:70:", "'streams.o.columns[0].subject' must be true or false");
    expect_error(S("    key: [id]\n" COLS IDCOL
                   "    children:\n      - { table: c, from: l, position: n, columns: [{ name: a, "
                   "from: a, type: int, subject: true }] }\n"),
                 "t.yaml:11:53:", "declare 'subject: true' on the parent's column");
    /* a mapping AND inline keys */
    expect_error(HEAD "  users: { source: shop, mapping: users, key: [x] }\n",
                 "t.yaml:5:42:", "has both 'mapping' and inline mapping keys");
    /* hmac without a digest key: the column's position */
    expect_error(HEAD "  o:\n    source: shop\n    key: [id]\n" COLS IDCOL
                      "      - { name: h, from: phone, pii: hmac }\n",
                 "t.yaml:10:9:", "pii: hmac, which needs a digest key");
    /* two streams, one table */
    expect_error(HEAD "  users: { source: shop }\n  u2: { source: shop, mapping: users }\n",
                 "t.yaml:6:3:", "both write table 'users_raw'");
    check_failures();
}

#define CHILD(table, from, pos)                                                                    \
    "      - { table: " table ", from: " from ", position: " pos                                   \
    ", columns: [{ name: a, from: a, type: int }] }\n"

/* Any number of children, each its own table; the rules between them. */
static void test_children(void **state)
{
    (void)state;
    struct config c;
    if (parse(&c, S("    key: [id]\n" COLS IDCOL "    children:\n" CHILD("c1", "lines", "n")
                        CHILD("c2", "payments", "n") CHILD("c3", "meta.tags", "tag_no"))))
        fail_msg("%s", err_msg());
    const struct stream_def *d = c.streams[0].def;
    assert_int_equal(d->nchildren, 3);
    assert_string_equal(d->children[0].table->name, "c1");
    assert_string_equal(d->children[1].table->name, "c2");
    assert_string_equal(d->children[1].path, "payments");
    assert_string_equal(d->children[2].path, "meta.tags");
    for (unsigned i = 0; i < 3; i++) {
        const struct table_def *t = d->children[i].table;
        assert_int_equal(t->nkey, 2);
        assert_int_equal(t->ncols, 3);
        assert_string_equal(t->cols[0].name, "id");
        assert_int_equal(d->children[i].nfields, 1);
        assert_int_equal(d->children[i].fields[0].col, 2);
    }
    assert_string_equal(d->children[2].table->cols[1].name, "tag_no");
    config_release(&c);

    /* must-fail: the children of one stream read distinct arrays into distinct tables */
    expect_error(S("    key: [id]\n" COLS IDCOL "    children:\n" CHILD("c1", "lines", "n")
                       CHILD("c2", "lines", "n")),
                 "t.yaml:12:9:",
                 "'streams.o.children[1].from' ('lines') is also read by "
                 "'streams.o.children[0]' ('lines')");
    expect_error(S("    key: [id]\n" COLS IDCOL "    children:\n" CHILD("c1", "meta", "n")
                       CHILD("c2", "meta.tags", "n")),
                 "t.yaml:12:9:", "('meta.tags') is also read by 'streams.o.children[0]'");
    expect_error(
        S("    key: [id]\n" COLS IDCOL "    children:\n" CHILD("c1", "lines", "n")
              CHILD("c1", "payments", "n")),
        "t.yaml:12:9:",
        "'streams.o.children[1]': table 'c1' is also the table of 'streams.o.children[0]'");
    expect_error(S("    key: [id]\n" COLS IDCOL "    children:\n" CHILD("c1", "lines", "n")
                       CHILD("o", "payments", "n")),
                 "t.yaml:12:9:", "'streams.o.children[1]': the child table has the parent's name");
    expect_error(S("    key: [id]\n" COLS IDCOL "    children:\n" CHILD("c1", "lines", "n")
                       CHILD("c2", "id", "n")),
                 "t.yaml:12:9:", "'streams.o.children[1].from' ('id') is also mapped");
    /* a second child named like another stream's table, or like its child */
    expect_error(HEAD
                 "  users: { source: shop }\n  o:\n    source: shop\n    key: [id]\n" COLS IDCOL
                 "    children:\n" CHILD("c1", "lines", "n") CHILD("users_raw", "p", "n"),
                 "t.yaml:6:3:", "streams 'users' and 'o' both write table 'users_raw'");
    expect_error(HEAD
                 "  users: { source: shop }\n  o:\n    source: shop\n    key: [id]\n" COLS IDCOL
                 "    children:\n" CHILD("c1", "lines", "n") CHILD("subscriptions_raw", "p", "n"),
                 "t.yaml:6:3:", "both write table 'subscriptions_raw'");
    check_failures();
}

/* A mapping whose stream name is a table name needs no `table`; a name that
 * is not one does. */
static void test_table_default(void **state)
{
    (void)state;
    struct config c;
    if (parse(&c, S("    key: [id]\n" COLS IDCOL)))
        fail_msg("%s", err_msg());
    assert_string_equal(c.streams[0].def->table->name, "o");
    config_release(&c);
    expect_error(HEAD "  my-stream:\n    source: shop\n    key: [id]\n" COLS IDCOL,
                 "t.yaml:", "needs a 'table'");
    check_failures();
}

/* The generalising actions: the stored type each gives, and every wrong
 * argument or column type refused at its file:line:column. */
#define G(col) S("    key: [id]\n" COLS IDCOL col)
static void test_generalising(void **state)
{
    struct config c;
    (void)state;
    assert_int_equal(
        parse(&c, G("      - { name: b, from: b, type: int, pii: { bucket: 5 } }\n"
                    "      - { name: t, from: t, type: date, pii: { truncate: month } }\n"
                    "      - { name: z, from: z, pii: { prefix: 2 }, description: region }\n")),
        0);
    const struct stream_def *d = c.streams[0].def;
    assert_int_equal(d->fields[1].action, PII_BUCKET);
    assert_int_equal(d->fields[1].param, 5);
    assert_int_equal(d->table->cols[1].type, COL_INT);
    assert_string_equal(d->table->cols[1].description, "the lower bound of its range of width 5");
    assert_int_equal(d->fields[2].action, PII_TRUNCATE);
    assert_int_equal(d->fields[2].param, TRUNCATE_MONTH);
    assert_int_equal(d->table->cols[2].type, COL_DATE);
    assert_int_equal(d->fields[3].action, PII_PREFIX);
    assert_int_equal(d->table->cols[3].type, COL_TEXT);
    assert_int_equal(d->table->cols[3].size, 2);
    assert_string_equal(d->table->cols[3].description, "region (its first 2 characters)");
    config_release(&c);

    expect_error(G("      - { name: x, from: x, pii: bucket }\n"),
                 "t.yaml:10:34:", "needs its argument: write pii: { bucket: N }");
    expect_error(G("      - { name: x, from: x, pii: truncate }\n"),
                 "t.yaml:10:34:", "pii: { truncate: month, day or hour }");
    expect_error(G("      - { name: x, from: x, pii: { bucket: 0 }, type: int }\n"),
                 "t.yaml:10:44:",
                 "'streams.o.columns[1].pii.bucket' must be a whole number in "
                 "1..1000000000");
    expect_error(G("      - { name: x, from: x, pii: { bucket: 2.5 }, type: int }\n"),
                 "t.yaml:10:44:", "must be a whole number");
    expect_error(G("      - { name: x, from: x, pii: { bucket: 5 }, type: varchar(9) }\n"),
                 "t.yaml:10:55:", "with pii: bucket must be a number type");
    expect_error(G("      - { name: x, from: x, pii: { bucket: 5 } }\n"),
                 "t.yaml:10:9:", "missing required key 'type' in 'streams.o.columns[1]'");
    expect_error(G("      - { name: x, from: x, pii: { truncate: hour }, type: date }\n"),
                 "t.yaml:10:34:", "a date has no hour");
    expect_error(G("      - { name: x, from: x, pii: { truncate: week }, type: date }\n"),
                 "t.yaml:10:46:",
                 "'week' is not a valid value for 'streams.o.columns[1].pii."
                 "truncate': use month, day or hour");
    expect_error(G("      - { name: x, from: x, pii: { truncate: day }, type: int }\n"),
                 "t.yaml:10:59:", "with pii: truncate must be date or datetime");
    expect_error(G("      - { name: x, from: x, pii: { prefix: 3 }, type: varchar(9) }\n"),
                 "t.yaml:10:55:", "takes no 'type' with pii: prefix");
    expect_error(G("      - { name: x, from: x, pii: { prefix: -1 } }\n"),
                 "t.yaml:10:44:", "must be a whole number in 1..16383");
    expect_error(G("      - { name: x, from: x, pii: { prefix: 16384 } }\n"),
                 "t.yaml:10:44:", "must be a whole number in 1..16383");
    expect_error(G("      - { name: x, from: x, pii: { round: 3 } }\n"),
                 "t.yaml:10:36:", "unknown generalising action 'round'");
    expect_error(G("      - { name: x, from: x, pii: { bucket: 3, prefix: 2 } }\n"),
                 "t.yaml:10:34:", "must be one word or a mapping of one generalising action");
    expect_error(G("      - { name: x, from: x, pii: { prefix: [3] } }\n"),
                 "t.yaml:10:44:", "needs a whole number");
    check_failures();
}

/* quasi_identifiers and k: in a definition, or on a built-in's entry; every
 * wrong declaration refused at its file:line:column. */
#define QI_COLS "      - { name: g, from: g, type: varchar(8) }\n"
static void test_quasi_identifiers(void **state)
{
    struct config c;
    (void)state;
    assert_int_equal(parse(&c, G(QI_COLS "    quasi_identifiers: [g]\n    k: 3\n")), 0);
    assert_int_equal(c.streams[0].def->nquasi, 1);
    assert_string_equal(c.streams[0].def->quasi[0], "g");
    assert_int_equal(c.streams[0].def->k, 3);
    config_release(&c);
    /* beside `mapping: users`, or on an entry named like the built-in */
    assert_int_equal(parse(&c, HEAD "  people: { source: shop, mapping: users, quasi_identifiers: "
                                    "[birth_year, zipcode_id, gender], k: 5 }\n"),
                     0);
    assert_int_equal(c.streams[0].def->nquasi, 3);
    assert_string_equal(c.streams[0].def->quasi[1], "zipcode_id");
    assert_int_equal(c.streams[0].def->k, 5);
    config_release(&c);
    assert_int_equal(parse(&c, HEAD "  users: { source: shop, quasi_identifiers: gender, k: 2 }\n"),
                     0);
    assert_int_equal(c.streams[0].def->nquasi, 1);
    assert_int_equal(c.streams[0].def->k, 2);
    config_release(&c);
    /* a built-in without them declares none */
    assert_int_equal(parse(&c, HEAD "  users: { source: shop }\n"), 0);
    assert_int_equal(c.streams[0].def->nquasi, 0);
    config_release(&c);

    expect_error(G(QI_COLS "    quasi_identifiers: [g, nope]\n    k: 5\n"),
                 "t.yaml:11:28:", "quasi-identifier 'nope' is not a column of table 'o'");
    expect_error(G(QI_COLS "    quasi_identifiers: [g, id]\n    k: 5\n"),
                 "t.yaml:11:28:", "quasi-identifier 'id' is a key column of 'o'");
    expect_error(G(QI_COLS "    quasi_identifiers: [g, g]\n    k: 5\n"),
                 "t.yaml:11:28:", "quasi-identifier 'g' is listed twice");
    expect_error(G(QI_COLS "    quasi_identifiers: []\n    k: 5\n"),
                 "t.yaml:11:24:", "must name 1..16 columns");
    expect_error(G(QI_COLS "    quasi_identifiers: [g]\n    k: 1\n"),
                 "t.yaml:12:8:", "'streams.o.k'");
    expect_error(G(QI_COLS "    quasi_identifiers: [g]\n    k: many\n"),
                 "t.yaml:12:8:", "'streams.o.k'");
    expect_error(G(QI_COLS "    quasi_identifiers: [g]\n"),
                 "t.yaml:11:5:", "'streams.o' needs both 'quasi_identifiers' and 'k'");
    expect_error(G(QI_COLS "    k: 5\n"), "t.yaml:11:5:", "needs both");
    expect_error(HEAD "  users: { source: shop, quasi_identifiers: [birth_year, nope], k: 5 }\n",
                 "t.yaml:5:58:", "quasi-identifier 'nope' is not a column of table 'users_raw'");
    expect_error(HEAD "  users: { source: shop, quasi_identifiers: [user_id], k: 5 }\n",
                 "t.yaml:5:46:", "is a key column");
    expect_error(HEAD "  users: { source: shop, quasi_identifiers: [gender] }\n",
                 "t.yaml:5:", "needs both");
    expect_error(S("    table: a_table_name_of_forty_four_characters_exactly_xx\n"
                   "    key: [id]\n" COLS IDCOL QI_COLS "    quasi_identifiers: [g]\n    k: 5\n"),
                 "t.yaml:12:", "too long for its monitoring view");
    check_failures();
}

/* ---- declared checks and stream expectations ---- */

#define CK_COLS                                                                                    \
    "      - { name: s, from: s, type: varchar(8), checks: { not_null: true, accepted: [a, b] } "  \
    "}\n"                                                                                          \
    "      - { name: n, from: n, type: int, checks: { range: [1, null], unique: true } }\n"        \
    "      - { name: t, from: t, type: datetime,\n"                                                \
    "          checks: { not_future: { monitor: monitor_times }, not_before: "                     \
    "1900-01-01T00:00:00Z } }\n"                                                                   \
    "      - { name: u, from: u, type: date, checks: { not_before: t, not_future: false } }\n"

static void test_checks(void **state)
{
    struct config c;
    (void)state;
    assert_int_equal(parse(&c, G(CK_COLS "    freshness: 26h\n    min_rows: 5\n")), 0);
    const struct stream_def *d = c.streams[0].def;
    const struct table_def *t = d->table;
    assert_int_equal(t->nchecks, 7); /* not_future: false declares none */
    assert_int_equal(t->checks[0].kind, CHECK_NOT_NULL);
    assert_int_equal(t->checks[0].col, 1);
    assert_int_equal(t->checks[1].kind, CHECK_ACCEPTED);
    assert_int_equal(t->checks[1].nvalues, 2);
    assert_string_equal(t->checks[1].values[1], "b");
    assert_false(t->checks[1].numeric);
    assert_int_equal(t->checks[2].kind, CHECK_RANGE);
    assert_string_equal(t->checks[2].values[0], "1");
    assert_null(t->checks[2].values[1]);
    assert_true(t->checks[2].numeric);
    assert_int_equal(t->checks[3].kind, CHECK_UNIQUE);
    assert_int_equal(t->checks[4].kind, CHECK_NOT_FUTURE);
    assert_string_equal(t->checks[4].monitor, "monitor_times");
    assert_int_equal(t->checks[5].kind, CHECK_NOT_BEFORE);
    assert_string_equal(t->checks[5].values[0], "1900-01-01 00:00:00"); /* normalised */
    assert_int_equal(t->checks[6].kind, CHECK_NOT_BEFORE);
    assert_string_equal(t->checks[6].other, "t");
    assert_string_equal(t->checks[6].file, "t.yaml");
    assert_int_equal(t->checks[6].decl_line, 14);
    assert_int_equal(d->freshness_s, 26 * 3600);
    assert_int_equal(d->min_rows, 5);
    config_release(&c);
    /* on a built-in's entry; and the built-ins' own checks */
    assert_int_equal(parse(&c, HEAD "  users: { source: shop, freshness: 90m, min_rows: 2 }\n"
                                    "  messages: { source: shop }\n" KEY),
                     0);
    assert_int_equal(c.streams[0].def->freshness_s, 5400);
    assert_int_equal(c.streams[0].def->min_rows, 2);
    assert_int_equal(c.streams[1].def->freshness_s, 0);
    const struct table_def *m = c.streams[1].def->table;
    bool orphan = false;
    for (unsigned i = 0; i < m->nchecks; i++)
        if (m->checks[i].kind == CHECK_REFERENCES) {
            assert_string_equal(m->checks[i].ref_table, "users_raw");
            assert_string_equal(m->checks[i].ref_column, "user_id");
            assert_string_equal(m->checks[i].monitor, "monitor_orphan_messages");
            orphan = true;
        }
    assert_true(orphan);
    config_release(&c);
    /* a built-in referencing a stream that is not configured is no error */
    assert_int_equal(parse(&c, HEAD "  messages: { source: shop }\n" KEY), 0);
    config_release(&c);

#define CK(col) G("      - " col "\n")
    expect_error(CK("{ name: x, from: x, type: varchar(8), checks: { range: [1, 2] } }"),
                 "t.yaml:10:57:", "'streams.o.columns[1].checks.range': range applies to a number");
    expect_error(CK("{ name: x, from: x, type: int, checks: { not_future: true } }"),
                 "t.yaml:10:", "not_future applies to a date or datetime column");
    expect_error(CK("{ name: x, from: x, type: boolean, checks: { accepted: [true] } }"),
                 "t.yaml:10:", "accepted applies to a number or text column");
    expect_error(CK("{ name: x, from: x, type: text, checks: { unique: true } }"),
                 "t.yaml:10:", "unique applies to");
    expect_error(CK("{ name: x, from: x, type: int, checks: { nonsense: true } }"),
                 "t.yaml:10:", "unknown key 'nonsense'");
    expect_error(CK("{ name: x, from: x, type: int, checks: [not_null] }"),
                 "t.yaml:10:", "expected a mapping");
    expect_error(CK("{ name: x, from: x, type: int, checks: { accepted: [] } }"),
                 "t.yaml:10:", "must list 1..1000 values");
    expect_error(CK("{ name: x, from: x, type: \"decimal(5,2)\", checks: { range: [1.5, 1e3] } }"),
                 "t.yaml:10:", "'1e3' is not a number");
    expect_error(
        CK("{ name: x, from: x, type: date, checks: { range: [2024-01-01, 2023-01-01] } }"),
        "t.yaml:10:", "min '2024-01-01' is above max '2023-01-01'");
    expect_error(CK("{ name: x, from: x, type: date, checks: { range: [null, null] } }"),
                 "t.yaml:10:", "needs a min or a max");
    expect_error(
        CK("{ name: x, from: x, type: date, checks: { range: [2024-01-01 10:00:00, null] } }"),
        "t.yaml:10:", "is not a date (YYYY-MM-DD)");
    expect_error(CK("{ name: x, from: x, type: date, checks: { not_before: 1900-02-30x } }"),
                 "t.yaml:10:", "is neither a date");
    expect_error(CK("{ name: x, from: x, type: date, checks: { not_before: x } }"),
                 "t.yaml:10:", "'x' is neither a date");
    expect_error(CK("{ name: x, from: x, type: date, checks: { not_before: id } }"),
                 "t.yaml:10:", "column 'id' is not a date or datetime");
    expect_error(
        CK("{ name: x, from: x, type: date, checks: { not_before: { monitor: monitor_a } } }"),
        "t.yaml:10:", "missing required key 'value'");
    expect_error(CK("{ name: x, from: x, type: int, checks: { not_null: { monitor: m_a } } }"),
                 "t.yaml:10:", "begins with 'monitor_'");
    expect_error(CK("{ name: x, from: x, type: int, checks: { not_null: { value: true, x: 1 } } }"),
                 "t.yaml:10:", "unknown key 'x'");
    expect_error(CK("{ name: x, from: x, type: int, checks: { references: o } }"),
                 "t.yaml:10:", "must be table.column");
    expect_error(CK("{ name: x, from: x, type: int, checks: { references: p.id } }"),
                 "t.yaml:10:50:", "table 'p' is no table of a configured stream");
    expect_error(CK("{ name: x, from: x, type: int, checks: { references: o.nope } }"),
                 "t.yaml:10:", "table 'o' has no column 'nope'");
    expect_error(CK("{ name: x, from: x, type: varchar(3), checks: { references: o.id } }"),
                 "t.yaml:10:", "hold values of different types");
    /* view names */
    expect_error(CK("{ name: x, from: x, type: int, checks: { not_null: { monitor: "
                    "monitor_subscription_anomalies } } }"),
                 "t.yaml:10:", "is the name of a hand-written view");
    expect_error(G("      - { name: x, from: x, type: int, checks: { not_null: { monitor: "
                   "monitor_o_y_unique } } }\n"
                   "      - { name: y, from: y, type: int, checks: { unique: true } }\n"),
                 "t.yaml:11:", "is also derived for another view");
    expect_error(G("      - { name: a_b, from: x, type: int, checks: { not_null: true } }\n"
                   "      - { name: a, from: y, type: int, checks: { b_not_null: true } }\n"),
                 "t.yaml:11:", "unknown key 'b_not_null'");
    /* expectations */
    expect_error(G("    freshness: 26\n"), "t.yaml:10:16:", "must be a duration");
    expect_error(G("    freshness: 400d\n"), "t.yaml:10:16:", "at most 366d");
    expect_error(G("    freshness: -1h\n"), "t.yaml:10:16:", "must be a duration");
    expect_error(G("    min_rows: 0\n"), "t.yaml:10:15:", "'streams.o.min_rows'");
    expect_error(HEAD "  users: { source: shop, freshness: soon }\n" KEY,
                 "t.yaml:5:", "must be a duration");
    check_failures();
#undef CK
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inline),        cmocka_unit_test(test_file),
        cmocka_unit_test(test_builtins),      cmocka_unit_test(test_errors),
        cmocka_unit_test(test_table_default), cmocka_unit_test(test_children),
        cmocka_unit_test(test_generalising),  cmocka_unit_test(test_quasi_identifiers),
        cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
