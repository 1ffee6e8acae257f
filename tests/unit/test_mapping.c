/* test_mapping.c - unit tests of the built-in stream mappings: a seed-shaped
 * user record becomes one typed users_raw row plus its subscriptions_raw
 * rows with the PII policy applied (drop, e-mail domain, year, pending
 * surrogates); every guard has a must-fail record that becomes a reject whose
 * reason and payload carry no PII, leaves no rows behind, and does not stop
 * the batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "convert.h"
#include "crypto.h"
#include "error.h"
#include "json.h"
#include "mapping.h"
#include "pii.h"
#include "banned.h"

#define SRC     "file:users.json#1"
#define COUNTRY "\"country\":\"Germany\""

/* The seed-shaped user of the brief (one line, so variants can be made by
 * replacing one exact fragment). */
#define SEED_USER                                                                                  \
    "{\"createdAt\":\"2021-10-23T07:49:58.213Z\",\"updatedAt\":\"2021-10-24T01:02:03.000Z\","      \
    "\"firstName\":\"Ada\",\"lastName\":\"Lovelace\",\"address\":\"12 Example Street\","           \
    "\"city\":\"Berlin\",\"country\":\"Germany\",\"zipCode\":\"10115\","                           \
    "\"email\":\"ada@Example.com\",\"birthDate\":\"1990-05-17T00:00:00.000Z\","                    \
    "\"profile\":{\"gender\":\"female\",\"isSmoking\":false,\"profession\":\"engineer\","          \
    "\"income\":\"5421.50\"},"                                                                     \
    "\"subscription\":[{\"createdAt\":\"2021-01-01T10:00:00.000Z\","                               \
    "\"startDate\":\"2021-01-01T00:00:00.000Z\",\"endDate\":\"2099-12-31T00:00:00.000Z\","         \
    "\"status\":\"Active\",\"amount\":\"9.99\"},"                                                  \
    "{\"createdAt\":\"2020-01-01T10:00:00.000Z\",\"startDate\":\"2020-01-01T00:00:00.000Z\","      \
    "\"endDate\":\"2020-12-31T00:00:00.000Z\",\"status\":\"Inactive\",\"amount\":\"4.50\"}],"      \
    "\"id\":\"1\"}"

#define SEED_MESSAGE                                                                               \
    "{\"id\":\"7\",\"createdAt\":\"2021-10-23T07:49:58.213Z\",\"senderId\":\"12\","                \
    "\"receiverId\":13,\"message\":\"meet me at the secret place\"}"

/* PII values of SEED_USER that must never reach a row or a reject. */
static const char *const seed_pii[] = {
    "Ada",    "Lovelace", "12 Example Street", "ada@",       "Example.com",
    "Berlin", "10115",    "engineer",          "1990-05-17",
};

/* ---- helpers ---- */

struct ctx {
    struct batch *b;
    struct map_options opt;
};

static int setup_users(void **state)
{
    static struct ctx c;
    memset(&c, 0, sizeof(c));
    const struct stream_def *def = mapping_find("users");
    if (!def || !(c.b = batch_new(def)))
        return -1;
    c.opt.birth_date = BIRTH_DATE_YEAR;
    *state = &c;
    return 0;
}

static int setup_messages(void **state)
{
    static struct ctx c;
    memset(&c, 0, sizeof(c));
    const struct stream_def *def = mapping_find("messages");
    if (!def || !(c.b = batch_new(def)))
        return -1;
    c.opt.birth_date = BIRTH_DATE_YEAR;
    *state = &c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    batch_free(c->b);
    return 0;
}

/* Returns a malloc'd copy of `s` with the single occurrence of `from`
 * replaced by `to` (fails the test when `from` does not occur exactly once). */
static char *variant(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        fail_msg("fragment '%s' not in the template", from);
    if (strstr(at + 1, from))
        fail_msg("fragment '%s' occurs more than once", from);
    struct buf out = BUF_INIT;
    assert_int_equal(buf_add(&out, s, (size_t)(at - s)), 0);
    assert_int_equal(buf_adds(&out, to), 0);
    assert_int_equal(buf_adds(&out, at + strlen(from)), 0);
    return buf_detach(&out, NULL);
}

/* Parses `text` as the loader parses a record and maps it; returns
 * mapping_map_record's code. A text that is not JSON (invalid UTF-8, say)
 * is rejected the way load.c rejects it. */
static int map_text(struct ctx *c, const char *text)
{
    json_doc *doc = NULL;
    int rc = json_parse(text, strlen(text), &doc);
    if (rc == ML_EJSON)
        return mapping_reject_unparsed(c->b, err_msg(), SRC, 0, 0);
    if (rc)
        fail_msg("test json does not parse: %s: %s", err_msg(), text);
    rc = mapping_map_record(c->b, json_root(doc), &c->opt, SRC);
    json_free(doc);
    return rc;
}

static int map_variant(struct ctx *c, const char *from, const char *to)
{
    char *text = variant(SEED_USER, from, to);
    int rc = map_text(c, text);
    free(text);
    return rc;
}

static unsigned colidx(const struct table_rows *t, const char *name)
{
    for (unsigned i = 0; i < t->def->ncols; i++)
        if (strcmp(t->def->cols[i].name, name) == 0)
            return i;
    fail_msg("table '%s' has no column '%s'", t->def->name, name);
    return 0;
}

static struct cell *cell(struct table_rows *t, size_t row, const char *name)
{
    assert_true(row < t->nrows);
    return batch_cell(t, row, colidx(t, name));
}

static void expect_int(struct table_rows *t, size_t row, const char *name, long long want)
{
    struct cell *c = cell(t, row, name);
    if (c->kind != CELL_INT)
        fail_msg("%s.%s row %zu: kind %d, want CELL_INT", t->def->name, name, row, (int)c->kind);
    if (c->i != want)
        fail_msg("%s.%s row %zu: %lld, want %lld", t->def->name, name, row, c->i, want);
}

static void expect_text_kind(const struct batch *b, struct table_rows *t, size_t row,
                             const char *name, enum cell_kind kind, const char *want)
{
    struct cell *c = cell(t, row, name);
    if (c->kind != kind)
        fail_msg("%s.%s row %zu: kind %d, want %d", t->def->name, name, row, (int)c->kind,
                 (int)kind);
    const char *s = batch_text(b, c);
    if (strcmp(s, want) != 0 || c->len != strlen(want))
        fail_msg("%s.%s row %zu: '%s' (len %zu), want '%s'", t->def->name, name, row, s, c->len,
                 want);
}

static void expect_text(const struct batch *b, struct table_rows *t, size_t row, const char *name,
                        const char *want)
{
    expect_text_kind(b, t, row, name, CELL_TEXT, want);
}

static void expect_null(struct table_rows *t, size_t row, const char *name)
{
    struct cell *c = cell(t, row, name);
    if (c->kind != CELL_NULL)
        fail_msg("%s.%s row %zu: kind %d, want CELL_NULL", t->def->name, name, row, (int)c->kind);
}

static bool in_mem(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle)) != NULL;
}

/* Whether `needle` is in the batch's row arena (its written part, or its
 * whole allocation) or in its reject arena. */
static bool arena_holds(const struct batch *b, const char *needle)
{
    struct batch_memory m = batch_memory(b);
    return in_mem(m.arena, m.arena_len, needle);
}

static bool arena_alloc_holds(const struct batch *b, const char *needle)
{
    struct batch_memory m = batch_memory(b);
    return in_mem(m.arena, m.arena_cap, needle);
}

static bool rej_arena_holds(const struct batch *b, const char *needle)
{
    struct batch_memory m = batch_memory(b);
    return in_mem(m.rej_arena, m.rej_arena_len, needle);
}

static struct table_rows *main_rows(struct batch *b)
{
    return batch_rows(b, BATCH_MAIN);
}

/* The rows of the first child table; no rows for a stream without one. */
static struct table_rows *child_rows(struct batch *b)
{
    static struct table_rows none;
    struct table_rows *t = batch_rows(b, BATCH_CHILD(0));
    if (batch_def(b)->nchildren == 0) {
        assert_null(t);
        return &none;
    }
    return t;
}

static size_t nchildren(const struct batch *b)
{
    size_t n;
    batch_children(b, 0, &n);
    return n;
}

/* The child count of parent i, checked to be there. */
static const struct child_count *child_count(const struct batch *b, size_t i)
{
    size_t n;
    const struct child_count *cc = batch_children(b, 0, &n);
    assert_true(i < n);
    return &cc[i];
}

/* The last reject's reason, checked to be present. */
static const char *last_reason(const struct batch *b)
{
    assert_true(batch_counts(b).rejected > 0);
    const char *r = batch_rej_text(b, batch_reject(b, batch_counts(b).rejected - 1)->reason);
    assert_non_null(r);
    return r;
}

static const struct reject *last_reject(const struct batch *b)
{
    assert_true(batch_counts(b).rejected > 0);
    return batch_reject(b, batch_counts(b).rejected - 1);
}

static void expect_reason_has(const struct batch *b, const char *part)
{
    const char *r = last_reason(b);
    if (!strstr(r, part))
        fail_msg("reject reason '%s' lacks '%s'", r, part);
}

static void expect_reason_lacks(const struct batch *b, const char *part)
{
    const char *r = last_reason(b);
    if (strstr(r, part))
        fail_msg("reject reason '%s' contains '%s'", r, part);
}

/* A rejected record: accepted unchanged, one more reject, no rows added. */
static void expect_rejected(struct ctx *c, int rc, size_t main_before, size_t child_before)
{
    assert_int_equal(rc, 0);
    assert_int_equal(main_rows(c->b)->nrows, main_before);
    assert_int_equal(child_rows(c->b)->nrows, child_before);
}

/* ---- users: the accepted seed record ---- */

static void check_seed_subscriptions(struct batch *b, size_t first_row, long long user_id)
{
    struct table_rows *s = child_rows(b);
    assert_non_null(s->def);
    assert_string_equal(s->def->name, "subscriptions_raw");
    expect_int(s, first_row, "user_id", user_id);
    expect_int(s, first_row, "subscription_no", 0);
    expect_text(b, s, first_row, "created_at", "2021-01-01 10:00:00.000");
    expect_text(b, s, first_row, "start_date", "2021-01-01");
    expect_text(b, s, first_row, "end_date", "2099-12-31");
    expect_text(b, s, first_row, "status", "Active");
    expect_text(b, s, first_row, "amount", "9.99");
    expect_int(s, first_row + 1, "user_id", user_id);
    expect_int(s, first_row + 1, "subscription_no", 1);
    expect_text(b, s, first_row + 1, "created_at", "2020-01-01 10:00:00.000");
    expect_text(b, s, first_row + 1, "start_date", "2020-01-01");
    expect_text(b, s, first_row + 1, "end_date", "2020-12-31");
    expect_text(b, s, first_row + 1, "status", "Inactive");
    expect_text(b, s, first_row + 1, "amount", "4.50");
}

static void test_user_seed_accepted(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, SEED_USER), 0);
    assert_int_equal(batch_counts(b).records, 1);
    assert_int_equal(batch_counts(b).accepted, 1);
    assert_int_equal(batch_counts(b).rejected, 0);
    assert_int_equal(main_rows(b)->nrows, 1);
    assert_string_equal(main_rows(b)->def->name, "users_raw");

    struct table_rows *u = main_rows(b);
    expect_int(u, 0, "user_id", 1);
    expect_text(b, u, 0, "created_at", "2021-10-23 07:49:58.213");
    expect_text(b, u, 0, "updated_at", "2021-10-24 01:02:03.000");
    expect_text_kind(b, u, 0, "city_id", CELL_PENDING, "Berlin");
    expect_text(b, u, 0, "country", "Germany");
    expect_text_kind(b, u, 0, "zipcode_id", CELL_PENDING, "10115");
    expect_text(b, u, 0, "email_domain", "example.com");
    expect_int(u, 0, "birth_year", 1990);
    expect_null(u, 0, "birth_date");
    expect_text(b, u, 0, "gender", "female");
    expect_int(u, 0, "is_smoking", 0);
    expect_text_kind(b, u, 0, "profession_id", CELL_PENDING, "engineer");
    expect_text(b, u, 0, "income", "5421.50");

    assert_int_equal(child_rows(b)->nrows, 2);
    check_seed_subscriptions(b, 0, 1);
    assert_int_equal(nchildren(b), 1);
    assert_int_equal(child_count(b, 0)->parent_key, 1);
    assert_int_equal(child_count(b, 0)->count, 2);
}

static void test_user_dropped_fields_not_in_arena(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, SEED_USER), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    assert_true(batch_memory(b).arena_len > 0);
    assert_false(arena_holds(b, "Ada"));
    assert_false(arena_holds(b, "Lovelace"));
    assert_false(arena_holds(b, "12 Example Street"));
    assert_false(arena_holds(b, "Example Street"));
    /* the local part of the e-mail and the full birth date are not kept either */
    assert_false(arena_holds(b, "ada"));
    assert_false(arena_holds(b, "1990-05-17"));
    /* the arena does hold what the row needs (the check above can fail) */
    assert_true(arena_holds(b, "example.com"));
}

static void test_user_birth_date_policy_date(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    c->opt.birth_date = BIRTH_DATE_DATE;
    assert_int_equal(map_text(c, SEED_USER), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_int(main_rows(b), 0, "birth_year", 1990);
    expect_text(b, main_rows(b), 0, "birth_date", "1990-05-17");
}

static void test_user_surrogate_values_trimmed(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_variant(c, "\"city\":\"Berlin\"", "\"city\":\"  Berlin \""), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_text_kind(b, main_rows(b), 0, "city_id", CELL_PENDING, "Berlin");
    /* whitespace only: no value */
    assert_int_equal(map_variant(c, "\"city\":\"Berlin\"", "\"city\":\"   \""), 0);
    assert_int_equal(batch_counts(b).accepted + batch_counts(b).duplicates,
                     2); /* same id: the last one wins */
    expect_null(main_rows(b), 1, "city_id");
}

static void test_user_zipcode_number(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_variant(c, "\"zipCode\":\"10115\"", "\"zipCode\":10115"), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_text_kind(b, main_rows(b), 0, "zipcode_id", CELL_PENDING, "10115");
}

static void test_user_is_smoking_true(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_variant(c, "\"isSmoking\":false", "\"isSmoking\":true"), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_int(main_rows(b), 0, "is_smoking", 1);
}

static void test_user_numeric_id_and_income(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    char *t1 = variant(SEED_USER, "\"id\":\"1\"", "\"id\":42");
    char *t2 = variant(t1, "\"income\":\"5421.50\"", "\"income\":5421.5");
    assert_int_equal(map_text(c, t2), 0);
    free(t1);
    free(t2);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_int(main_rows(b), 0, "user_id", 42);
    expect_text(b, main_rows(b), 0, "income", "5421.50");
    check_seed_subscriptions(b, 0, 42);
    assert_int_equal(child_count(b, 0)->parent_key, 42);
}

/* Numbers are read from their token text: ids exact over the whole int64
 * range (a double would merge 2^53 + 1 with 2^53), decimals never rounded. */
static void test_user_numbers_exact(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    static const struct {
        const char *id;
        long long want;
    } ids[] = {{"9007199254740993", 9007199254740993LL},
               {"9223372036854775807", 9223372036854775807LL},
               {"-9223372036854775808", -9223372036854775807LL - 1},
               {"\"12345678901234567\"", 12345678901234567LL}};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char to[64];
        snprintf(to, sizeof(to), "\"id\":%s", ids[i].id);
        assert_int_equal(map_variant(c, "\"id\":\"1\"", to), 0);
        assert_int_equal(batch_counts(b).rejected, 0);
        expect_int(main_rows(b), i, "user_id", ids[i].want);
    }
    /* must-fail: one past int64, a fraction, an exponent */
    expect_rejected(c, map_variant(c, "\"id\":\"1\"", "\"id\":9223372036854775808"), 4, 8);
    expect_reason_has(b, "'id'");
    expect_reason_has(b, "out of range");
    expect_rejected(c, map_variant(c, "\"id\":\"1\"", "\"id\":1.0"), 4, 8);
    expect_reason_has(b, "not an integer");
    expect_rejected(c, map_variant(c, "\"id\":\"1\"", "\"id\":1e3"), 4, 8);
    expect_reason_has(b, "'id'");
    /* a JSON number into DECIMAL(12,2): exact, or a reject naming the field */
    assert_int_equal(map_variant(c, "\"income\":\"5421.50\"", "\"income\":12.5e1"), 0);
    expect_text(b, main_rows(b), 4, "income", "125.00");
    expect_rejected(c, map_variant(c, "\"income\":\"5421.50\"", "\"income\":12.345"), 5, 10);
    expect_reason_has(b, "profile.income");
    expect_reason_has(b, "decimal places");
    expect_rejected(c, map_variant(c, "\"income\":\"5421.50\"", "\"income\":1e-7"), 5, 10);
    expect_reason_has(b, "decimal places");
    assert_int_equal(batch_counts(b).rejected, 5);
}

/* A string whose escape cannot be decoded fails only where it is read: in a
 * stored field it is that record's reject naming the field; in a dropped
 * field (firstName) it is never read and the record loads. */
static void test_user_lone_surrogate(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_variant(c, "\"firstName\":\"", "\"firstName\":\"\\ud800"), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    assert_int_equal(batch_counts(b).rejected, 0);
    expect_rejected(c, map_variant(c, "\"city\":\"", "\"city\":\"\\ud800"), 1, 2);
    expect_reason_has(b, "lone surrogate \\ud800");
    expect_reason_has(b, "in field 'city'");
    expect_rejected(c, map_variant(c, "\"country\":\"", "\"country\":\"\\udc00\\ud800"), 1, 2);
    expect_reason_has(b, "lone surrogate \\udc00");
    expect_reason_has(b, "'country'");
    assert_int_equal(batch_counts(b).rejected, 2);
}

static void test_user_nulls_and_absent_optionals(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    const char *rec = "{\"id\":\"5\",\"createdAt\":\"2021-10-23T07:49:58Z\",\"city\":null,"
                      "\"profile\":null,\"subscription\":null}";
    assert_int_equal(map_text(c, rec), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    assert_int_equal(batch_counts(b).rejected, 0);
    struct table_rows *u = main_rows(b);
    expect_int(u, 0, "user_id", 5);
    expect_text(b, u, 0, "created_at", "2021-10-23 07:49:58.000");
    const char *nulls[] = {"updated_at",   "city_id",       "country",    "zipcode_id",
                           "email_domain", "birth_year",    "birth_date", "gender",
                           "is_smoking",   "profession_id", "income"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        expect_null(u, 0, nulls[i]);
    /* a parent without children is still counted, with 0 */
    assert_int_equal(child_rows(b)->nrows, 0);
    assert_int_equal(nchildren(b), 1);
    assert_int_equal(child_count(b, 0)->parent_key, 5);
    assert_int_equal(child_count(b, 0)->count, 0);
}

/* Rule (mapping.h): a record whose key repeats an earlier record of the same
 * batch supersedes it; the last one wins, child rows included, and the
 * earlier one is counted in `duplicates`. */
static void test_user_duplicate_id_last_wins(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, SEED_USER), 0);
    char *t = variant(SEED_USER, "\"country\":\"Germany\"", "\"country\":\"France\"");
    /* the second record has one subscription instead of two */
    char *t2 = variant(t, "\"amount\":\"9.99\"},", "\"amount\":\"9.99\"}],\"x\":[");
    free(t);
    assert_int_equal(map_text(c, t2), 0);
    free(t2);
    assert_int_equal(batch_counts(b).records, 2);
    assert_int_equal(batch_counts(b).accepted, 1);
    assert_int_equal(batch_counts(b).duplicates, 1);
    assert_int_equal(batch_counts(b).rejected, 0);
    assert_int_equal(batch_compact(b), 0);
    assert_int_equal(main_rows(b)->nrows, 1);
    expect_int(main_rows(b), 0, "user_id", 1);
    expect_text(b, main_rows(b), 0, "country", "France");
    assert_int_equal(nchildren(b), 1);
    assert_int_equal(child_count(b, 0)->count, 1);
    assert_int_equal(child_rows(b)->nrows, 1);
    expect_text(b, child_rows(b), 0, "status", "Active");
    /* compacting again changes nothing */
    assert_int_equal(batch_compact(b), 0);
    assert_int_equal(main_rows(b)->nrows, 1);
    assert_int_equal(child_rows(b)->nrows, 1);
}

static void test_user_duplicates_compact_keeps_order(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_variant(c, "\"id\":\"1\"", "\"id\":\"1\""), 0);
    assert_int_equal(map_variant(c, "\"id\":\"1\"", "\"id\":\"2\""), 0);
    /* a REJECTED record with key 2 does not supersede user 2 */
    char *bad = variant(SEED_USER, "\"id\":\"1\"", "\"id\":\"2\"");
    char *bad2 = variant(bad, "\"createdAt\":\"2021-10-23T07:49:58.213Z\"",
                         "\"createdAt\":\"2021-02-30T00:00:00Z\"");
    assert_int_equal(map_text(c, bad2), 0);
    free(bad);
    free(bad2);
    assert_int_equal(map_variant(c, COUNTRY, "\"country\":\"Chile\""), 0); /* id 1 again */
    assert_int_equal(map_variant(c, "\"id\":\"1\"", "\"id\":\"3\""), 0);
    assert_int_equal(map_variant(c, "\"id\":\"1\"", "\"id\":\"3\""), 0);
    assert_int_equal(batch_counts(b).records, 6);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_int_equal(batch_counts(b).duplicates, 2);
    assert_int_equal(batch_counts(b).accepted, 3);
    assert_int_equal(batch_counts(b).records, batch_counts(b).accepted + batch_counts(b).rejected +
                                                  batch_counts(b).duplicates);
    assert_int_equal(batch_compact(b), 0);
    assert_int_equal(main_rows(b)->nrows, 3);
    expect_int(main_rows(b), 0, "user_id", 2);
    expect_int(main_rows(b), 1, "user_id", 1);
    expect_text(b, main_rows(b), 1, "country", "Chile");
    expect_int(main_rows(b), 2, "user_id", 3);
    assert_int_equal(nchildren(b), 3);
    assert_int_equal(child_rows(b)->nrows, 6);
    for (size_t r = 0; r < 6; r++)
        expect_int(child_rows(b), r, "user_id", r < 2 ? 2 : r < 4 ? 1 : 3);
    /* the key set follows the compaction: a new duplicate still supersedes */
    assert_int_equal(map_variant(c, "\"id\":\"1\"", "\"id\":\"2\""), 0);
    assert_int_equal(batch_counts(b).duplicates, 3);
    assert_int_equal(batch_compact(b), 0);
    assert_int_equal(main_rows(b)->nrows, 3);
    expect_int(main_rows(b), 2, "user_id", 2);
    batch_reset(b);
    assert_int_equal(batch_counts(b).duplicates, 0);
    assert_int_equal(map_text(c, SEED_USER), 0);
    assert_int_equal(batch_counts(b).duplicates, 0); /* a new batch knows no keys */
}

/* Rule: fields outside the mapping are accepted, never stored, counted per
 * record, and their names (not values) are collected once per stream. */
static void test_user_unknown_fields_counted_not_stored(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    struct buf names = BUF_INIT;
    char *t = variant(SEED_USER, "\"id\":\"1\"", "\"id\":\"1\",\"ssn\":\"Zq-078-05-1120\"");
    char *t2 = variant(t, "\"income\":\"5421.50\"", "\"income\":\"5421.50\",\"hobby\":\"Zqhobby\"");
    char *t3 = variant(t2, "\"amount\":\"4.50\"", "\"amount\":\"4.50\",\"coupon\":\"Zqcoupon\"");
    assert_int_equal(map_text(c, t3), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    assert_int_equal(batch_counts(b).unknown_records, 1);
    assert_false(arena_holds(b, "Zq"));
    assert_int_equal(batch_unknown_names(b, &names), 0);
    assert_string_equal(names.data, "profile.hobby, ssn, subscription[].coupon");
    /* the same names again: counted, not listed twice; a rejected record counts too */
    char *t4 = variant(t3, "\"createdAt\":\"2021-10-23T07:49:58.213Z\"", "\"createdAt\":1");
    assert_int_equal(map_text(c, t4), 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_int_equal(batch_counts(b).unknown_records, 2);
    assert_false(rej_arena_holds(b, "Zq"));
    assert_int_equal(batch_unknown_names(b, &names), 0);
    assert_string_equal(names.data, "profile.hobby, ssn, subscription[].coupon");
    /* a known record is not counted; the counter resets with the batch, the
     * names stay (one warning per stream) */
    assert_int_equal(map_text(c, SEED_USER), 0);
    assert_int_equal(batch_counts(b).unknown_records, 2);
    batch_reset(b);
    assert_int_equal(batch_counts(b).unknown_records, 0);
    assert_int_equal(batch_unknown_name_count(b), 3);
    /* a key holding a NUL never matches a mapped field: it is unknown */
    assert_int_equal(map_variant(c, COUNTRY, "\"coun\\u0000try\":\"Zqland\""), 0);
    assert_int_equal(batch_counts(b).unknown_records, 1);
    expect_null(main_rows(b), 0, "country");
    assert_int_equal(batch_unknown_names(b, &names), 0);
    assert_string_equal(names.data, "profile.hobby, ssn, subscription[].coupon, coun\\u0000try");
    free(t);
    free(t2);
    free(t3);
    free(t4);
    buf_release(&names);
}

/* NUL bytes are data in kept text and surrogate values: stored whole. */
static void test_user_nul_kept_in_text_and_surrogates(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    char *t = variant(SEED_USER, "\"city\":\"Berlin\"", "\"city\":\"Ber\\u0000lin\\u0000\"");
    char *t2 = variant(t, COUNTRY, "\"country\":\"\\u0000Ger\\\"many\"");
    assert_int_equal(map_text(c, t2), 0);
    free(t);
    free(t2);
    assert_int_equal(batch_counts(b).accepted, 1);
    struct cell *city = cell(main_rows(b), 0, "city_id");
    assert_int_equal(city->kind, CELL_PENDING);
    assert_int_equal(city->len, 8);
    assert_memory_equal(batch_text(b, city), "Ber\0lin\0", 8);
    struct cell *country = cell(main_rows(b), 0, "country");
    assert_int_equal(country->kind, CELL_TEXT);
    assert_int_equal(country->len, 9);
    assert_memory_equal(batch_text(b, country), "\0Ger\"many", 10);
}

/* ... but a value that is parsed must not hold one: the record is rejected. */
static void test_reject_nul_in_parsed_values(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    static const char *const cases[][3] = {
        {"\"id\":\"1\"", "\"id\":\"1\\u0000\"", "field 'id'"},
        {"\"createdAt\":\"2021-10-23T07:49:58.213Z\"",
         "\"createdAt\":\"2021-10-23T07:49:58.213Z\\u0000junk\"", "holds a NUL byte"},
        {"\"email\":\"ada@Example.com\"", "\"email\":\"ada@Example.com\\u0000.evil\"",
         "holds a NUL byte"},
        {"\"birthDate\":\"1990-05-17T00:00:00.000Z\"", "\"birthDate\":\"1990-05-17\\u0000\"",
         "holds a NUL byte"},
        {"\"income\":\"5421.50\"", "\"income\":\"5421.50\\u0000\"", "holds a NUL byte"},
        {"\"startDate\":\"2021-01-01T00:00:00.000Z\"", "\"startDate\":\"2021-01-01\\u0000\"",
         "holds a NUL byte"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(map_variant(c, cases[i][0], cases[i][1]), 0);
        assert_int_equal(batch_counts(b).rejected, i + 1);
        if (!strstr(last_reason(b), cases[i][2]))
            fail_msg("case %zu: reason '%s' lacks '%s'", i, last_reason(b), cases[i][2]);
    }
    assert_int_equal(batch_counts(b).accepted, 0);
    assert_int_equal(main_rows(b)->nrows, 0);
}

/* A kept value quoted in a reason shows control characters escaped. */
static void test_reject_reason_escapes_nul(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_variant(c, "\"status\":\"Active\"",
                                 "\"status\":\"A\\u0000\\nB-longer-than-thirty-two-chars\""),
                     0);
    const char *r = last_reason(b);
    if (!strstr(r, "'A\\u0000\\u000aB-longer-than-thirty-two-chars'"))
        fail_msg("reason: %s", r);
}

/* Rule: dates out of range or not on the calendar are rejected with a reason. */
static void test_reject_out_of_range_dates(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    static const char *const bad[] = {
        "0999-12-31T00:00:00.000Z", "10000-01-01T00:00:00.000Z", "2021-13-01T00:00:00.000Z",
        "2021-02-30T00:00:00.000Z", "2021-02-29T00:00:00.000Z",  "2021-04-31T00:00:00.000Z",
        "2021-00-10T00:00:00.000Z", "2021-01-00T00:00:00.000Z",  "2021-01-01T24:00:00.000Z",
        "2021-01-01T23:60:00.000Z", "-2021-01-01T00:00:00Z",
    };
    size_t n = sizeof(bad) / sizeof(bad[0]);
    for (size_t i = 0; i < n; i++) {
        char to[96];
        snprintf(to, sizeof(to), "\"createdAt\":\"%s\"", bad[i]);
        assert_int_equal(map_variant(c, "\"createdAt\":\"2021-10-23T07:49:58.213Z\"", to), 0);
        if (batch_counts(b).rejected != i + 1)
            fail_msg("createdAt '%s' was accepted", bad[i]);
        assert_non_null(strstr(last_reason(b), "field 'createdAt'"));
    }
    /* the same rule for DATE columns and for the birth year */
    assert_int_equal(
        map_variant(c, "\"endDate\":\"2099-12-31T00:00:00.000Z\"", "\"endDate\":\"2021-02-30\""),
        0);
    assert_int_equal(batch_counts(b).rejected, n + 1);
    assert_int_equal(map_variant(c, "\"birthDate\":\"1990-05-17T00:00:00.000Z\"",
                                 "\"birthDate\":\"1990-13-17\""),
                     0);
    assert_int_equal(batch_counts(b).rejected, n + 2);
    /* the edges are accepted */
    assert_int_equal(map_variant(c, "\"createdAt\":\"2021-10-23T07:49:58.213Z\"",
                                 "\"createdAt\":\"2020-02-29T00:00:00.000Z\""),
                     0);
    assert_int_equal(map_variant(c, "\"createdAt\":\"2021-10-23T07:49:58.213Z\"",
                                 "\"createdAt\":\"1000-01-01T00:00:00.000Z\""),
                     0);
    assert_int_equal(map_variant(c, "\"createdAt\":\"2021-10-23T07:49:58.213Z\"",
                                 "\"createdAt\":\"9999-12-31T23:59:59.999Z\""),
                     0);
    assert_int_equal(batch_counts(b).rejected, n + 2);
    assert_int_equal(batch_counts(b).accepted, 1); /* three records, one key: the last one wins */
    assert_int_equal(batch_counts(b).duplicates, 2);
}

/* Surrogate values: 64 KiB stored intact; over MAPPING_SURROGATE_VALUE_MAX rejected. */
static void test_surrogate_value_length_limit(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    size_t sizes[] = {65536, MAPPING_SURROGATE_VALUE_MAX, MAPPING_SURROGATE_VALUE_MAX + 1};
    for (size_t k = 0; k < 3; k++) {
        size_t n = sizes[k];
        char *to = malloc(n + 16);
        assert_non_null(to);
        memcpy(to, "\"city\":\"", 8);
        for (size_t i = 0; i < n; i++)
            to[8 + i] = (char)('a' + (i * 7) % 26);
        memcpy(to + 8 + n, "\"", 2);
        char *id = malloc(32);
        snprintf(id, 32, "\"id\":\"%zu\"", k + 1);
        char *t = variant(SEED_USER, "\"city\":\"Berlin\"", to);
        char *t2 = variant(t, "\"id\":\"1\"", id);
        assert_int_equal(map_text(c, t2), 0);
        if (k < 2) {
            assert_int_equal(batch_counts(b).rejected, 0);
            struct cell *cc = cell(main_rows(b), k, "city_id");
            assert_int_equal(cc->kind, CELL_PENDING);
            assert_int_equal(cc->len, n);
            assert_memory_equal(batch_text(b, cc), to + 8, n);
        } else {
            assert_int_equal(batch_counts(b).rejected, 1);
            assert_non_null(strstr(last_reason(b), "field 'city' (PII, value not shown): longer"));
        }
        free(to);
        free(id);
        free(t);
        free(t2);
    }
}

static void test_user_country_length(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    char a100[101], a101[102], u100[201];
    memset(a100, 'a', 100);
    a100[100] = '\0';
    memset(a101, 'a', 101);
    a101[101] = '\0';
    for (int i = 0; i < 100; i++) {
        u100[2 * i] = '\xc3';
        u100[2 * i + 1] = '\xbc'; /* 100 x 'ü': 200 bytes, 100 characters */
    }
    u100[200] = '\0';
    char to[300];

    snprintf(to, sizeof(to), "\"country\":\"%s\"", a100);
    assert_int_equal(map_variant(c, "\"country\":\"Germany\"", to), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_text(b, main_rows(b), 0, "country", a100);

    snprintf(to, sizeof(to), "\"country\":\"%s\"", u100);
    assert_int_equal(map_variant(c, "\"country\":\"Germany\"", to), 0);
    /* characters are counted, not bytes (same id: the last one wins) */
    assert_int_equal(batch_counts(b).accepted + batch_counts(b).duplicates, 2);
    expect_text(b, main_rows(b), 1, "country", u100);

    snprintf(to, sizeof(to), "\"country\":\"%s\"", a101);
    expect_rejected(c, map_variant(c, "\"country\":\"Germany\"", to), 2, 4);
    assert_int_equal(batch_counts(b).accepted + batch_counts(b).duplicates, 2);
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "country");
    expect_reason_has(b, "100");
}

static void test_user_country_invalid_utf8_rejected(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c,
                    map_variant(c, COUNTRY,
                                "\"country\":\"Germ\xff"
                                "any\""),
                    0, 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_int_equal(batch_counts(b).accepted, 0);
    /* bytes that are not UTF-8 make the record not JSON: rejected whole */
    expect_reason_has(b, "invalid UTF-8");
    expect_reason_lacks(b, "Germ");
    size_t n;
    const char *r = last_reason(b);
    assert_true(convert_utf8_valid(r, strlen(r), &n));
    /* overlong encoding of '/' is invalid too */
    expect_rejected(c,
                    map_variant(c, COUNTRY,
                                "\"country\":\"a\xc0\xaf"
                                "b\""),
                    0, 0);
    assert_int_equal(batch_counts(b).rejected, 2);
}

/* A kept string field with invalid UTF-8 must not reach the reject payload:
 * load_rejects.payload is utf8mb4 under a strict sql_mode, and one bad byte
 * would fail the whole batch instead of making one reject. */
static void test_user_reject_payload_is_valid_utf8(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_variant(c, COUNTRY,
                                 "\"country\":\"Germ\xff"
                                 "any\""),
                     0);
    assert_int_equal(batch_counts(b).rejected, 1);
    const char *p = batch_rej_text(b, last_reject(b)->payload);
    assert_non_null(p);
    if (!convert_utf8_valid(p, strlen(p), NULL)) {
        size_t bad = 0;
        while (p[bad] && (unsigned char)p[bad] < 0x80)
            bad++;
        fail_msg("reject payload is not valid UTF-8 (byte 0x%02x at offset %zu of %zu)",
                 (unsigned char)p[bad], bad, strlen(p));
    }
}

/* ---- users: rejects ---- */

static void test_reject_missing_id(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_variant(c, ",\"id\":\"1\"", ""), 0, 0);
    assert_int_equal(batch_counts(b).records, 1);
    assert_int_equal(batch_counts(b).accepted, 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "'id'");
    expect_reason_has(b, "missing");
    assert_null(batch_rej_text(b, last_reject(b)->record_key));
    assert_string_equal(batch_rej_text(b, last_reject(b)->source_ref), SRC);
}

static void test_reject_null_created_at(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(
        c, map_variant(c, "{\"createdAt\":\"2021-10-23T07:49:58.213Z\"", "{\"createdAt\":null"), 0,
        0);
    expect_reason_has(b, "createdAt");
    expect_reason_has(b, "null");
}

static void test_reject_bad_created_at_quotes_value(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c,
                    map_variant(c, "{\"createdAt\":\"2021-10-23T07:49:58.213Z\"",
                                "{\"createdAt\":\"not-a-date\""),
                    0, 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "createdAt");
    expect_reason_has(b, "'not-a-date'"); /* not PII: quoted to help fix the source */
    assert_string_equal(batch_rej_text(b, last_reject(b)->record_key), "1");
}

static void test_reject_long_value_quoted_cut(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    char to[400], val[300];
    memset(val, 'x', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    snprintf(to, sizeof(to), "\"status\":\"%s\"", val);
    /* a 299-character status (max 32) in the second subscription */
    expect_rejected(c, map_variant(c, "\"status\":\"Inactive\"", to), 0, 0);
    const char *r = last_reason(b);
    assert_true(strlen(r) < 200); /* the quoted value is cut */
    expect_reason_has(b, "...");
    expect_reason_has(b, "element 1");
    expect_reason_has(b, "status");
}

static void test_reject_bad_email_hides_value(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c,
                    map_variant(c, "\"email\":\"ada@Example.com\"",
                                "\"email\":\"ada.lovelace-at-example.com\""),
                    0, 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "email");
    expect_reason_lacks(b, "ada.lovelace");
    expect_reason_lacks(b, "example.com");
    const char *p = batch_rej_text(b, last_reject(b)->payload);
    assert_null(strstr(p, "ada.lovelace"));
}

static void test_reject_bad_birth_date_hides_value(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c,
                    map_variant(c, "\"birthDate\":\"1990-05-17T00:00:00.000Z\"",
                                "\"birthDate\":\"1990-02-30\""),
                    0, 0);
    expect_reason_has(b, "birthDate");
    expect_reason_lacks(b, "1990");
}

static void test_reject_surrogate_of_wrong_type(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_variant(c, "\"city\":\"Berlin\"", "\"city\":[\"Berlin\"]"), 0, 0);
    expect_reason_has(b, "city");
    expect_reason_lacks(b, "Berlin");
    expect_rejected(c,
                    map_variant(c, "\"city\":\"Berlin\"",
                                "\"city\":\"Berl\xff"
                                "in\""),
                    0, 0);
    expect_reason_has(b, "UTF-8");
    expect_reason_lacks(b, "Berl");
    assert_int_equal(batch_counts(b).rejected, 2);
}

static void test_reject_id_true(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_variant(c, "\"id\":\"1\"", "\"id\":true"), 0, 0);
    expect_reason_has(b, "'id'");
    expect_reason_has(b, "integer");
    assert_null(batch_rej_text(b, last_reject(b)->record_key));
}

static void test_reject_id_not_integer(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_variant(c, "\"id\":\"1\"", "\"id\":\"1x\""), 0, 0);
    expect_reason_has(b, "'1x'");
    assert_string_equal(batch_rej_text(b, last_reject(b)->record_key), "1x");
    expect_rejected(c, map_variant(c, "\"id\":\"1\"", "\"id\":1.5"), 0, 0);
    expect_reason_has(b, "'id'");
    expect_rejected(c, map_variant(c, "\"id\":\"1\"", "\"id\":\"\""), 0, 0);
    assert_int_equal(batch_counts(b).rejected, 3);
}

static void test_reject_bad_bool(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_variant(c, "\"isSmoking\":false", "\"isSmoking\":\"no\""), 0, 0);
    expect_reason_has(b, "profile.isSmoking");
}

static void test_reject_record_not_object(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_text(c, "[" SEED_USER "]"), 0, 0);
    assert_int_equal(batch_counts(b).records, 1);
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "object");
    assert_null(batch_rej_text(b, last_reject(b)->record_key));
    const char *p = batch_rej_text(b, last_reject(b)->payload);
    assert_non_null(p);
    for (size_t i = 0; i < sizeof(seed_pii) / sizeof(seed_pii[0]); i++)
        if (strstr(p, seed_pii[i]))
            fail_msg("payload '%s' holds '%s'", p, seed_pii[i]);
    expect_rejected(c, map_text(c, "\"just a string\""), 0, 0);
    expect_rejected(c, map_text(c, "null"), 0, 0);
    assert_int_equal(batch_counts(b).rejected, 3);
    assert_int_equal(batch_counts(b).records, 3);
}

static void test_reject_subscription_element_not_object(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_variant(c, "\"amount\":\"4.50\"}]", "\"amount\":\"4.50\"},\"oops\"]"), 0,
                    0);
    assert_int_equal(nchildren(b), 0);
    expect_reason_has(b, "element 2");
    expect_reason_has(b, "subscription");
    expect_reason_has(b, "object");
}

static void test_reject_subscription_not_array(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    char *t = variant(SEED_USER, "\"subscription\":[", "\"subscription\":{\"x\":[");
    char *t2 = variant(t, "\"4.50\"}]", "\"4.50\"}]}");
    expect_rejected(c, map_text(c, t2), 0, 0);
    free(t);
    free(t2);
    expect_reason_has(b, "subscription");
    expect_reason_has(b, "array");
}

static void test_reject_bad_subscription_field(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c, map_variant(c, "\"amount\":\"4.50\"", "\"amount\":\"12345678901\""), 0, 0);
    expect_reason_has(b, "element 1");
    expect_reason_has(b, "amount");
    assert_int_equal(nchildren(b), 0);
}

static void test_reject_profile_string(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    expect_rejected(c,
                    map_variant(c,
                                "{\"gender\":\"female\",\"isSmoking\":false,\"profession\":"
                                "\"engineer\",\"income\":\"5421.50\"}",
                                "\"engineer\""),
                    0, 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "profile");
    expect_reason_has(b, "object");
    /* the profile string is not PII-free: it must not be quoted */
    expect_reason_lacks(b, "engineer");
}

static void test_reject_payload_strips_pii(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    char *t = variant(SEED_USER, "{\"createdAt\":\"2021-10-23T07:49:58.213Z\"",
                      "{\"ssn\":\"123-45-6789\",\"createdAt\":\"not-a-date\"");
    expect_rejected(c, map_text(c, t), 0, 0);
    free(t);
    const struct reject *r = last_reject(b);
    assert_string_equal(batch_rej_text(b, r->record_key), "1");
    const char *p = batch_rej_text(b, r->payload);
    assert_non_null(p);

    /* kept fields are there */
    json_doc *doc = NULL;
    if (json_parse(p, strlen(p), &doc))
        fail_msg("payload is not JSON: %s", p);
    const json_node *root = json_root(doc);
    assert_int_equal(json_type(root), JSON_OBJECT);
    assert_string_equal(json_string(json_get(root, "id")), "1");
    assert_string_equal(json_string(json_get(root, "createdAt")), "not-a-date");
    assert_string_equal(json_string(json_get(root, "updatedAt")), "2021-10-24T01:02:03.000Z");
    assert_string_equal(json_string(json_get(root, "country")), "Germany");
    assert_string_equal(json_string(json_path(root, "profile.gender")), "female");
    assert_string_equal(json_string(json_path(root, "profile.income")), "5421.50");
    assert_int_equal(json_type(json_path(root, "profile.isSmoking")), JSON_BOOL);
    const json_node *subs = json_get(root, "subscription");
    assert_int_equal(json_array_size(subs), 2);
    assert_string_equal(json_string(json_get(json_child(subs), "status")), "Active");
    assert_string_equal(json_string(json_get(json_next(json_child(subs)), "amount")), "4.50");

    /* personal and unknown fields are not */
    const char *gone[] = {"firstName", "lastName", "address",   "email",
                          "city",      "zipCode",  "birthDate", "ssn"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        if (json_get(root, gone[i]))
            fail_msg("payload '%s' has key '%s'", p, gone[i]);
    assert_null(json_path(root, "profile.profession"));
    json_free(doc);
    for (size_t i = 0; i < sizeof(seed_pii) / sizeof(seed_pii[0]); i++)
        if (strstr(p, seed_pii[i]))
            fail_msg("payload '%s' holds '%s'", p, seed_pii[i]);
    assert_null(strstr(p, "123-45-6789"));
    assert_null(strstr(p, "ssn"));
    /* nor the reason, nor anything in the reject arena */
    for (size_t i = 0; i < sizeof(seed_pii) / sizeof(seed_pii[0]); i++)
        if (rej_arena_holds(b, seed_pii[i]))
            fail_msg("reject arena holds '%s'", seed_pii[i]);
}

static void test_reject_leaves_no_rows_and_batch_goes_on(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, SEED_USER), 0);
    size_t arena_len = batch_memory(b).arena_len;
    assert_int_equal(main_rows(b)->nrows, 1);
    assert_int_equal(child_rows(b)->nrows, 2);

    /* fails late: main row, first child row and a pending city already added */
    char *t1 = variant(SEED_USER, "\"id\":\"1\"", "\"id\":\"2\"");
    char *t2 = variant(t1, "\"city\":\"Berlin\"", "\"city\":\"Hamburg\"");
    char *bad = variant(t2, "\"amount\":\"4.50\"", "\"amount\":\"abc\"");
    expect_rejected(c, map_text(c, bad), 1, 2);
    free(t1);
    free(t2);
    free(bad);
    assert_int_equal(nchildren(b), 1);
    assert_int_equal(batch_memory(b).arena_len, arena_len);
    /* the rejected record's PII is gone from the arena's whole allocation */
    assert_false(arena_alloc_holds(b, "Hamburg"));
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "'abc'");
    assert_string_equal(batch_rej_text(b, last_reject(b)->record_key), "2");

    /* the next valid record is accepted */
    assert_int_equal(map_variant(c, "\"id\":\"1\"", "\"id\":\"3\""), 0);
    assert_int_equal(batch_counts(b).records, 3);
    assert_int_equal(batch_counts(b).accepted, 2);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_int_equal(main_rows(b)->nrows, 2);
    expect_int(main_rows(b), 1, "user_id", 3);
    expect_text_kind(b, main_rows(b), 1, "city_id", CELL_PENDING, "Berlin");
    assert_int_equal(child_rows(b)->nrows, 4);
    check_seed_subscriptions(b, 0, 1);
    check_seed_subscriptions(b, 2, 3);
    assert_int_equal(nchildren(b), 2);
    assert_int_equal(child_count(b, 1)->parent_key, 3);
    assert_int_equal(child_count(b, 1)->count, 2);
}

static void test_batch_reset_wipes(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, SEED_USER), 0);
    assert_int_equal(map_variant(c, ",\"id\":\"1\"", ""), 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    size_t cap = batch_memory(b).arena_cap;
    assert_true(cap > 0);
    batch_reset(b);
    assert_int_equal(batch_counts(b).records, 0);
    assert_int_equal(batch_counts(b).accepted, 0);
    assert_int_equal(batch_counts(b).rejected, 0);
    assert_int_equal(main_rows(b)->nrows, 0);
    assert_int_equal(child_rows(b)->nrows, 0);
    assert_int_equal(nchildren(b), 0);
    assert_int_equal(batch_memory(b).arena_len, 0);
    assert_int_equal(batch_memory(b).arena_cap, cap); /* memory kept... */
    assert_false(arena_alloc_holds(b, "Berlin"));     /* ...but wiped */
    assert_false(arena_alloc_holds(b, "engineer"));
    /* and the batch is usable again */
    assert_int_equal(map_text(c, SEED_USER), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_text_kind(b, main_rows(b), 0, "city_id", CELL_PENDING, "Berlin");
    check_seed_subscriptions(b, 0, 1);
}

/* No fixed path buffer: a mapping may name keys as long as the config allows
 * (paths of up to 255 characters), here a 200-character object key holding
 * the record key; an unknown key that long is named cut after 64 bytes. */
static void test_long_path_parts(void **state)
{
    char key[201], path[256], rec[600];
    (void)state;
    memset(key, 'k', 200);
    key[200] = '\0';
    snprintf(path, sizeof(path), "%s.id", key);
    static const struct column_def cols[] = {{.name = "id", .type = COL_BIGINT, .required = true}};
    static const struct table_def table = {.name = "long_raw", .cols = cols, .ncols = 1, .nkey = 1};
    const struct field_spec fields[] = {
        {.path = path, .column = "id", .action = PII_KEEP, .required = true, .col = 0}};
    const struct stream_def def = {
        .name = "long", .table = &table, .fields = fields, .nfields = 1, .key_path = path};
    struct batch *b = batch_new(&def);
    struct buf names = BUF_INIT;
    assert_non_null(b);
    snprintf(rec, sizeof(rec), "{\"%s\":{\"id\":7}}", key);
    json_doc *doc = NULL;
    assert_int_equal(json_parse(rec, strlen(rec), &doc), 0);
    assert_int_equal(mapping_map_record(b, json_root(doc), NULL, SRC), 0);
    json_free(doc);
    assert_int_equal(batch_counts(b).accepted, 1);
    expect_int(main_rows(b), 0, "id", 7);
    /* a reject names the record by the key found under the long key */
    snprintf(rec, sizeof(rec), "{\"%s\":{\"id\":\"8x\"}}", key);
    assert_int_equal(json_parse(rec, strlen(rec), &doc), 0);
    assert_int_equal(mapping_map_record(b, json_root(doc), NULL, SRC), 0);
    json_free(doc);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_string_equal(batch_rej_text(b, last_reject(b)->record_key), "8x");
    /* an unknown member under the long key: its name is cut */
    snprintf(rec, sizeof(rec), "{\"%s\":{\"id\":9,\"extra\":1}}", key);
    assert_int_equal(json_parse(rec, strlen(rec), &doc), 0);
    assert_int_equal(mapping_map_record(b, json_root(doc), NULL, SRC), 0);
    json_free(doc);
    assert_int_equal(batch_counts(b).unknown_records, 1);
    assert_int_equal(batch_unknown_names(b, &names), 0);
    assert_int_equal(strlen(names.data), 64);
    assert_memory_equal(names.data, key, 64);
    buf_release(&names);
    batch_free(b);
}

static void test_mapping_find(void **state)
{
    (void)state;
    const struct stream_def *u = mapping_find("users"), *m = mapping_find("messages");
    assert_non_null(u);
    assert_non_null(m);
    assert_null(mapping_find("nope"));
    assert_null(mapping_find("Users"));
    assert_string_equal(u->table->name, "users_raw");
    assert_string_equal(u->table->cols[0].name, "user_id");
    assert_int_equal(u->table->nkey, 1);
    assert_int_equal(u->nchildren, 1);
    assert_string_equal(u->children[0].table->name, "subscriptions_raw");
    assert_int_equal(u->children[0].table->nkey, 2);
    assert_string_equal(m->table->name, "messages_raw");
    assert_int_equal(m->nchildren, 0);
}

/* ---- messages ---- */

static void test_message_accepted_text_dropped(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, SEED_MESSAGE), 0);
    assert_int_equal(batch_counts(b).accepted, 1);
    assert_int_equal(batch_counts(b).rejected, 0);
    struct table_rows *m = main_rows(b);
    assert_int_equal(m->nrows, 1);
    expect_int(m, 0, "message_id", 7);
    expect_text(b, m, 0, "created_at", "2021-10-23 07:49:58.213");
    expect_int(m, 0, "sender_id", 12);   /* from the string "12" */
    expect_int(m, 0, "receiver_id", 13); /* from the number 13 */
    assert_false(arena_holds(b, "secret"));
    assert_false(arena_holds(b, "meet me"));
    assert_int_equal(child_rows(b)->nrows, 0);
    assert_int_equal(nchildren(b), 0);
}

static void test_message_sender_string_and_number(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
#define MSG_HEAD_FIELDS "\"createdAt\":\"2021-10-23T07:49:58Z\","
    assert_int_equal(map_text(c, "{\"id\":1," MSG_HEAD_FIELDS "\"senderId\":\"12\"}"), 0);
    assert_int_equal(map_text(c, "{\"id\":2," MSG_HEAD_FIELDS "\"senderId\":12}"), 0);
    assert_int_equal(batch_counts(b).accepted, 2);
    expect_int(main_rows(b), 0, "sender_id", 12);
    expect_int(main_rows(b), 1, "sender_id", 12);
    expect_null(main_rows(b), 0, "receiver_id");
    expect_null(main_rows(b), 1, "receiver_id");
    assert_int_equal(map_text(c, "{\"id\":3," MSG_HEAD_FIELDS "\"senderId\":\"12.5\"}"), 0);
#undef MSG_HEAD_FIELDS
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "senderId");
    assert_int_equal(main_rows(b)->nrows, 2);
}

static void test_message_missing_created_at(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, "{\"id\":\"7\",\"senderId\":1,\"message\":\"private words\"}"), 0);
    assert_int_equal(batch_counts(b).accepted, 0);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_int_equal(main_rows(b)->nrows, 0);
    expect_reason_has(b, "createdAt");
    expect_reason_has(b, "missing");
    const struct reject *r = last_reject(b);
    assert_string_equal(batch_rej_text(b, r->record_key), "7");
    const char *p = batch_rej_text(b, r->payload);
    assert_null(strstr(p, "private words"));
    assert_null(strstr(p, "message\""));
    assert_non_null(strstr(p, "\"senderId\":1"));
}

/* ---- user_logins: the SQS login event envelope (source_sqs.c) ---- */

#define LOGIN_BODY                                                                                 \
    "{\"user_id\":\"424cdd21-063a-43a7-b91b-7ca1a833afae\",\"app_version\":\"2.3.0\","             \
    "\"device_type\":\"android\",\"ip\":\" 199.172.111.135 \",\"locale\":\"RU\","                  \
    "\"device_id\":\"593-47-5928\"}"
#define LOGIN(body) "{\"MessageId\":\"m-1\",\"SentTimestamp\":1700000000123,\"Body\":" body "}"

static int setup_logins(void **state)
{
    static struct ctx c;
    memset(&c, 0, sizeof(c));
    const struct stream_def *def = mapping_find("user_logins");
    if (!def || !(c.b = batch_new(def)))
        return -1;
    *state = &c;
    return 0;
}

static void test_login_seed_accepted(void **state)
{
    struct ctx *c = *state;
    struct table_rows *t = main_rows(c->b);
    assert_string_equal(batch_def(c->b)->processed_table, "load_processed_ids");
    assert_int_equal(map_text(c, LOGIN(LOGIN_BODY)), 0);
    assert_int_equal(batch_counts(c->b).accepted, 1);
    assert_int_equal(batch_counts(c->b).rejected, 0);
    assert_string_equal(batch_text(c->b, batch_cell(t, 0, colidx(t, "message_id"))), "m-1");
    assert_string_equal(batch_text(c->b, batch_cell(t, 0, colidx(t, "created_at"))),
                        "2023-11-14 22:13:20.123");
    assert_string_equal(batch_text(c->b, batch_cell(t, 0, colidx(t, "app_version"))), "2.3.0");
    struct cell *major = batch_cell(t, 0, colidx(t, "app_version_major"));
    assert_int_equal(major->kind, CELL_INT);
    assert_int_equal(major->i, 2);
    struct cell *ip = batch_cell(t, 0, colidx(t, "ip_id"));
    assert_int_equal(ip->kind, CELL_PENDING);
    assert_string_equal(batch_text(c->b, ip), "199.172.111.135"); /* normalised */
    assert_int_equal(batch_cell(t, 0, colidx(t, "device_id"))->kind, CELL_PENDING);
    /* SentTimestamp as a string of digits, and a "v"-prefixed version */
    assert_int_equal(map_text(c, "{\"MessageId\":\"m-2\",\"SentTimestamp\":\"0\",\"Body\":"
                                 "{\"user_id\":\"u\",\"app_version\":\"v10-beta\"}}"),
                     0);
    assert_string_equal(batch_text(c->b, batch_cell(t, 1, colidx(t, "created_at"))),
                        "1970-01-01 00:00:00.000");
    assert_int_equal(batch_cell(t, 1, colidx(t, "app_version_major"))->i, 10);
}

static void expect_login_reject(struct ctx *c, const char *text, const char *reason)
{
    size_t before = batch_counts(c->b).rejected;
    assert_int_equal(map_text(c, text), 0);
    assert_int_equal(batch_counts(c->b).rejected, before + 1);
    const char *got = batch_rej_text(c->b, batch_reject(c->b, before)->reason);
    if (!strstr(got, reason))
        fail_msg("reason '%s' lacks '%s'", got, reason);
    const char *payload = batch_rej_text(c->b, batch_reject(c->b, before)->payload);
    assert_null(strstr(payload, "199.172"));
    assert_null(strstr(payload, "593-47"));
    assert_null(strstr(payload, "oops"));
}

static void test_login_malformed_rejected(void **state)
{
    struct ctx *c = *state;
    expect_login_reject(c, LOGIN("{\"foo\":\"oops_wrong_msg_format\"}"),
                        "field 'Body.user_id': missing required field");
    assert_string_equal(batch_rej_text(c->b, batch_reject(c->b, 0)->record_key), "m-1");
    expect_login_reject(c, LOGIN("\"not json\""), "field 'Body' must be an object, got string");
    expect_login_reject(c, "{\"MessageId\":\"m\",\"SentTimestamp\":-5,\"Body\":" LOGIN_BODY "}",
                        "field 'SentTimestamp': not milliseconds since 1970");
    expect_login_reject(c, "{\"MessageId\":\"m\",\"SentTimestamp\":null,\"Body\":" LOGIN_BODY "}",
                        "field 'SentTimestamp': required field is null");
    char *bad = variant(LOGIN(LOGIN_BODY), "\"2.3.0\"", "\"beta\"");
    expect_login_reject(c, bad, "field 'Body.app_version': not a version string");
    free(bad);
    assert_int_equal(batch_counts(c->b).accepted, 0);
    assert_int_equal(main_rows(c->b)->nrows, 0);
}

static void test_login_batch_drop(void **state)
{
    struct ctx *c = *state;
    bool rows[2] = {true, false}, rejs[1] = {true};
    assert_int_equal(map_text(c, LOGIN(LOGIN_BODY)), 0);
    char *second = variant(LOGIN(LOGIN_BODY), "m-1", "m-2");
    assert_int_equal(map_text(c, second), 0);
    free(second);
    assert_int_equal(map_text(c, LOGIN("{}")), 0);
    assert_int_equal(batch_drop(c->b, rows, rejs), 0);
    assert_int_equal(main_rows(c->b)->nrows, 1);
    assert_int_equal(batch_counts(c->b).accepted, 1);
    assert_int_equal(batch_counts(c->b).rejected, 0);
    assert_int_equal(batch_counts(c->b).already_processed, 2);
    assert_string_equal(batch_text(c->b, batch_cell(main_rows(c->b), 0, 0)), "m-2");
    assert_int_equal(batch_counts(c->b).records,
                     batch_counts(c->b).accepted + batch_counts(c->b).rejected +
                         batch_counts(c->b).duplicates + batch_counts(c->b).already_processed);
}

/* batch_claims: every row's key and every keyed reject's, sorted by key, a
 * key's row before its reject; batch_drop_claims drops the ones marked */
static void test_login_batch_claims(void **state)
{
    struct ctx *c = *state;
    struct batch_claim *cl = NULL;
    size_t n = 0, dropped = 0;
    char *other = variant(LOGIN(LOGIN_BODY), "m-1", "m-0");
    assert_int_equal(map_text(c, LOGIN(LOGIN_BODY)), 0);
    assert_int_equal(map_text(c, other), 0);
    free(other);
    assert_int_equal(map_text(c, LOGIN("{}")), 0); /* a reject keyed m-1 */
    assert_int_equal(batch_claims(c->b, &cl, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(batch_claim_key(&cl[0]), "m-0", 3);
    assert_false(cl[0].reject);
    assert_memory_equal(batch_claim_key(&cl[1]), "m-1", 3);
    assert_false(cl[1].reject);
    assert_memory_equal(batch_claim_key(&cl[2]), "m-1", 3);
    assert_true(cl[2].reject);
    bool drop[3] = {false, false, true};
    assert_int_equal(batch_drop_claims(c->b, cl, n, drop, &dropped), 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(batch_counts(c->b).rejected, 0);
    assert_int_equal(batch_counts(c->b).accepted, 2);
    assert_int_equal(batch_counts(c->b).already_processed, 1);
    free(cl);
}

/* user_logins_masked: the seeds' table; hmac hex, major version, the UTC day
 * of SentTimestamp */
static int setup_logins_masked(void **state)
{
    static struct ctx c;
    static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    memset(&c, 0, sizeof(c));
    const struct stream_def *def = mapping_find("user_logins_masked");
    if (!def || !(c.b = batch_new(def)) || crypto_mac_new(key, 32, &c.opt.hmac))
        return -1;
    *state = &c;
    return 0;
}

static int teardown_logins_masked(void **state)
{
    struct ctx *c = *state;
    crypto_mac_free(c->opt.hmac);
    batch_free(c->b);
    return 0;
}

static void hex_of(const char *kind, const char *value, char out[65])
{
    static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    unsigned char d[CRYPTO_DIGEST_LEN];
    assert_int_equal(pii_digest(key, 32, kind, value, strlen(value), d), 0);
    for (size_t i = 0; i < sizeof(d); i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_login_masked_values(void **state)
{
    struct ctx *c = *state;
    struct table_rows *t = main_rows(c->b);
    const struct table_def *td = batch_def(c->b)->table;
    char want[65];
    assert_string_equal(td->name, "user_logins");
    assert_string_equal(batch_def(c->b)->processed_table, "load_processed_ids");
    assert_int_equal(td->cols[colidx(t, "masked_ip")].type, COL_HMAC);
    assert_int_equal(td->cols[colidx(t, "masked_ip")].size, 256);
    assert_int_equal(td->cols[colidx(t, "create_date")].type, COL_DATE);
    assert_true(td->cols[colidx(t, "create_date")].from_epoch_ms);
    assert_int_equal(map_text(c, LOGIN(LOGIN_BODY)), 0);
    assert_int_equal(batch_counts(c->b).accepted, 1);
    hex_of("hmac", "199.172.111.135", want); /* trimmed */
    assert_string_equal(batch_text(c->b, batch_cell(t, 0, colidx(t, "masked_ip"))), want);
    hex_of("hmac", "593-47-5928", want);
    assert_string_equal(batch_text(c->b, batch_cell(t, 0, colidx(t, "masked_device_id"))), want);
    assert_int_equal(batch_cell(t, 0, colidx(t, "app_version"))->i, 2);
    assert_string_equal(batch_text(c->b, batch_cell(t, 0, colidx(t, "create_date"))),
                        "2023-11-14"); /* 1700000000123 ms: 2023-11-14 22:13:20.123 UTC */
    assert_int_equal(map_text(c, "{\"MessageId\":\"m-2\",\"SentTimestamp\":\"86399999\",\"Body\":"
                                 "{\"user_id\":\"u\",\"app_version\":\"3\"}}"),
                     0);
    assert_string_equal(batch_text(c->b, batch_cell(t, 1, colidx(t, "create_date"))), "1970-01-01");
    /* must-fail: no milliseconds, or outside 1970..9999 */
    static const char *const bad[] = {"\"yesterday\"", "-1", "253402300800000", "1.5", "true"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        size_t before = batch_counts(c->b).rejected;
        snprintf(text, sizeof(text),
                 "{\"MessageId\":\"b-%zu\",\"SentTimestamp\":%s,\"Body\":{\"user_id\":\"u\"}}", i,
                 bad[i]);
        assert_int_equal(map_text(c, text), 0);
        if (batch_counts(c->b).rejected != before + 1)
            fail_msg("SentTimestamp %s was not rejected", bad[i]);
        assert_non_null(
            strstr(batch_rej_text(c->b, batch_reject(c->b, before)->reason), "'SentTimestamp'"));
    }
}

/* must-fail: batch_drop refuses a stream with a child table */
static void test_batch_drop_refuses_children(void **state)
{
    struct ctx *c = *state;
    assert_int_equal(batch_drop(c->b, NULL, NULL), ML_EINTERNAL);
}

/* ---- a stream with two children: orders, their lines and their payments ---- */

static const char orders_config[] =
    "warehouse: { database: d, user: u, password: p }\n"
    "sources:\n"
    "  shop: { base_url: 'http://127.0.0.1:1' }\n"
    "streams:\n"
    "  orders:\n"
    "    source: shop\n"
    "    table: orders_raw\n"
    "    key: [order_id]\n"
    "    columns:\n"
    "      - { name: order_id, from: id, type: bigint, required: true }\n"
    "      - { name: status, from: status, type: varchar(32) }\n"
    "    drop: [customer]\n"
    "    children:\n"
    "      - table: order_lines_raw\n"
    "        from: lines\n"
    "        position: line_no\n"
    "        columns:\n"
    "          - { name: sku, from: sku, type: varchar(64), required: true }\n"
    "          - { name: qty, from: qty, type: int }\n"
    "      - table: order_payments_raw\n"
    "        from: payments\n"
    "        position: payment_no\n"
    "        columns:\n"
    "          - { name: method, from: method, type: varchar(16), required: true }\n"
    "          - { name: amount, from: amount, type: \"decimal(10,2)\" }\n"
    "        drop: [card]\n";

#define ORDER(id, lines, payments)                                                                 \
    "{\"id\":" id ",\"status\":\"paid\",\"customer\":\"Zqcustomer\",\"lines\":" lines              \
    ",\"payments\":" payments "}"
#define LINES2 "[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-2\",\"qty\":1}]"
#define PAY1   "[{\"method\":\"card\",\"amount\":\"12.50\",\"card\":\"Zq4111\"}]"

struct orders_ctx {
    struct config cfg;
    struct ctx c;
};

static int setup_orders(void **state)
{
    static struct orders_ctx o;
    memset(&o, 0, sizeof(o));
    if (config_parse(&o.cfg, orders_config, strlen(orders_config), "t.yaml")) {
        print_error("%s\n", err_msg());
        return -1;
    }
    if (!(o.c.b = batch_new(o.cfg.streams[0].def)))
        return -1;
    *state = &o.c;
    return 0;
}

static int teardown_orders(void **state)
{
    struct ctx *c = *state;
    struct orders_ctx *o = (struct orders_ctx *)((char *)c - offsetof(struct orders_ctx, c));
    batch_free(c->b);
    config_release(&o->cfg);
    return 0;
}

static size_t child_count_n(const struct batch *b, unsigned child)
{
    size_t n;
    batch_children(b, child, &n);
    return n;
}

/* Each child's array goes to its own table, keyed by the parent's key and
 * the element's position, with one count per child per record. */
static void test_two_children_mapped(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    const struct stream_def *d = batch_def(b);
    assert_int_equal(d->nchildren, 2);
    assert_int_equal(batch_ntables(b), 3);
    assert_null(batch_rows(b, BATCH_CHILD(2)));
    assert_int_equal(map_text(c, ORDER("7", LINES2, PAY1)), 0);
    assert_int_equal(map_text(c, ORDER("8", "[]", "[{\"method\":\"cash\"},{\"method\":\"gift\"}]")),
                     0);
    assert_int_equal(batch_counts(b).accepted, 2);
    struct table_rows *lines = batch_rows(b, BATCH_CHILD(0)), *pays = batch_rows(b, BATCH_CHILD(1));
    assert_string_equal(lines->def->name, "order_lines_raw");
    assert_string_equal(pays->def->name, "order_payments_raw");
    assert_int_equal(lines->nrows, 2);
    assert_int_equal(pays->nrows, 3);
    expect_int(lines, 0, "order_id", 7);
    expect_int(lines, 0, "line_no", 0);
    expect_text(b, lines, 0, "sku", "A-1");
    expect_int(lines, 1, "line_no", 1);
    expect_int(lines, 1, "qty", 1);
    expect_int(pays, 0, "order_id", 7);
    expect_int(pays, 0, "payment_no", 0);
    expect_text(b, pays, 0, "method", "card");
    expect_text(b, pays, 0, "amount", "12.50");
    expect_int(pays, 1, "order_id", 8);
    expect_int(pays, 1, "payment_no", 0);
    expect_int(pays, 2, "payment_no", 1);
    expect_text(b, pays, 2, "method", "gift");
    expect_null(pays, 2, "amount");
    size_t n;
    const struct child_count *lc = batch_children(b, 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(lc[0].parent_key, 7);
    assert_int_equal(lc[0].count, 2);
    assert_int_equal(lc[1].parent_key, 8);
    assert_int_equal(lc[1].count, 0);
    const struct child_count *pc = batch_children(b, 1, &n);
    assert_int_equal(n, 2);
    assert_int_equal(pc[0].count, 1);
    assert_int_equal(pc[1].count, 2);
    assert_null(batch_children(b, 2, &n));
    assert_int_equal(n, 0);
    /* dropped fields of the parent and of a child reach no row */
    assert_false(arena_holds(b, "Zq"));
    assert_int_equal(batch_counts(b).unknown_records, 0);

    /* a later record of key 7 supersedes the first one in every table */
    assert_int_equal(map_text(c, ORDER("7", "[{\"sku\":\"C-3\"}]", "[]")), 0);
    assert_int_equal(batch_counts(b).duplicates, 1);
    assert_int_equal(batch_compact(b), 0);
    assert_int_equal(main_rows(b)->nrows, 2);
    assert_int_equal(lines->nrows, 1);
    expect_int(lines, 0, "order_id", 7);
    expect_text(b, lines, 0, "sku", "C-3");
    assert_int_equal(pays->nrows, 2);
    expect_int(pays, 0, "order_id", 8);
    expect_text(b, pays, 1, "method", "gift");
    lc = batch_children(b, 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(lc[0].parent_key, 8);
    assert_int_equal(lc[1].parent_key, 7);
    assert_int_equal(lc[1].count, 1);
    pc = batch_children(b, 1, &n);
    assert_int_equal(n, 2);
    assert_int_equal(pc[0].count, 2);
    assert_int_equal(pc[1].count, 0);
}

/* A batch too large for one transaction is split: the second part gets the
 * last records with exactly their child rows and counts, the first keeps
 * the rest, the rejects and the counts; the two parts together hold what
 * the batch held. Every refusal (must-fail) leaves both batches as they
 * were. */
static void test_batch_split(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    struct batch *rest = batch_new(batch_def(b));
    size_t n;
    assert_non_null(rest);
    assert_int_equal(map_text(c, ORDER("7", LINES2, PAY1)), 0);
    assert_int_equal(map_text(c, ORDER("8", "[]", "[{\"method\":\"cash\"}]")), 0);
    assert_int_equal(map_text(c, ORDER("9", "[{\"sku\":\"C-3\"}]", "[]")), 0);
    assert_int_equal(map_text(c, ORDER("10", "[3]", "[]")), 0); /* a reject */
    assert_int_equal(map_text(c, ORDER("8", LINES2, "[]")), 0); /* supersedes 8 */
    assert_int_equal(batch_counts(b).records, 5);
    assert_int_equal(batch_counts(b).rejected, 1);
    /* superseded rows left: refused */
    assert_int_equal(batch_split(b, 1, rest), ML_EINVAL);
    assert_int_equal(batch_counts(rest).records, 0);
    assert_int_equal(batch_compact(b), 0);
    assert_int_equal(main_rows(b)->nrows, 3); /* 7, 9, 8 */
    /* nothing to split off, or a split at row 0: refused */
    assert_int_equal(batch_split(b, 3, rest), ML_EINVAL);
    assert_int_equal(batch_split(b, 0, rest), ML_EINVAL);
    assert_int_equal(main_rows(b)->nrows, 3);

    assert_int_equal(batch_split(b, 1, rest), 0);
    /* the first part: order 7 with its two lines and one payment, the
     * reject and the duplicate */
    assert_int_equal(main_rows(b)->nrows, 1);
    expect_int(main_rows(b), 0, "order_id", 7);
    assert_int_equal(batch_rows(b, BATCH_CHILD(0))->nrows, 2);
    assert_int_equal(batch_rows(b, BATCH_CHILD(1))->nrows, 1);
    assert_int_equal(batch_children(b, 0, &n)[0].parent_key, 7);
    assert_int_equal(n, 1);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_int_equal(batch_counts(b).duplicates, 1);
    assert_int_equal(batch_counts(b).records, 3);
    assert_int_equal(batch_counts(b).accepted, 1);
    /* the second part: orders 9 and 8, in order, with exactly their rows */
    struct table_rows *m = batch_rows(rest, BATCH_MAIN);
    struct table_rows *lines = batch_rows(rest, BATCH_CHILD(0));
    struct table_rows *pays = batch_rows(rest, BATCH_CHILD(1));
    assert_int_equal(m->nrows, 2);
    expect_int(m, 0, "order_id", 9);
    expect_int(m, 1, "order_id", 8);
    assert_int_equal(lines->nrows, 3);
    expect_int(lines, 0, "order_id", 9);
    expect_text(rest, lines, 0, "sku", "C-3");
    expect_int(lines, 1, "order_id", 8);
    expect_text(rest, lines, 2, "sku", "B-2");
    assert_int_equal(pays->nrows, 0);
    const struct child_count *lc = batch_children(rest, 0, &n);
    assert_int_equal(n, 2);
    assert_int_equal(lc[0].parent_key, 9);
    assert_int_equal(lc[0].count, 1);
    assert_int_equal(lc[1].parent_key, 8);
    assert_int_equal(lc[1].count, 2);
    assert_int_equal(batch_children(rest, 1, &n)[1].count, 0);
    assert_int_equal(batch_counts(rest).records, 2);
    assert_int_equal(batch_counts(rest).accepted, 2);
    assert_int_equal(batch_counts(rest).rejected, 0);
    assert_int_equal(batch_counts(b).records + batch_counts(rest).records, 5);
    /* a part that is not empty cannot receive another split */
    assert_int_equal(batch_split(rest, 1, rest), ML_EINVAL);
    /* each part stays a batch: its key set knows only its own rows */
    assert_int_equal(map_text(c, ORDER("9", "[]", "[]")), 0);
    assert_int_equal(batch_counts(b).duplicates, 1); /* 9 went to the other part */
    batch_free(rest);
}

/* The one record of a batch the server cannot store even alone becomes a
 * reject: its rows in every table and its child counts go, it counts as
 * rejected, its key is the row's, its payload the masked main row; the
 * batch's other rejects stay. Refused for a batch of two records or none. */
static void test_batch_reject_only_record(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    struct batch *rest = batch_new(batch_def(b));
    const struct reject *r;
    size_t n = 9;
    assert_non_null(rest);
    assert_int_equal(map_text(c, ORDER("7", LINES2, PAY1)), 0);
    assert_int_equal(map_text(c, ORDER("10", "[3]", "[]")), 0); /* a reject */
    assert_int_equal(map_text(c, ORDER("8", LINES2, "[]")), 0);
    assert_int_equal(batch_compact(b), 0);
    /* must fail: two records are not one */
    assert_int_equal(batch_reject_only_record(b, "ref", "why"), ML_EINVAL);
    assert_int_equal(main_rows(b)->nrows, 2);
    assert_int_equal(batch_counts(b).rejected, 1);
    assert_int_equal(batch_split(b, 1, rest), 0); /* b keeps order 7 and the reject */
    assert_int_equal(batch_reject_only_record(b, "stream 'orders'", "too large"), 0);
    assert_int_equal(main_rows(b)->nrows, 0);
    assert_int_equal(batch_rows(b, BATCH_CHILD(0))->nrows, 0);
    assert_int_equal(batch_rows(b, BATCH_CHILD(1))->nrows, 0);
    assert_null(batch_children(b, 0, &n));
    assert_int_equal(n, 0);
    assert_int_equal(batch_counts(b).records, 2);
    assert_int_equal(batch_counts(b).accepted, 0);
    assert_int_equal(batch_counts(b).rejected, 2);
    r = batch_reject(b, 1);
    assert_string_equal(batch_rej_text(b, r->source_ref), "stream 'orders'");
    assert_string_equal(batch_rej_text(b, r->reason), "too large");
    assert_string_equal(batch_rej_text(b, r->record_key), "7");
    assert_string_equal(batch_rej_text(b, r->payload), "{\"order_id\":7,\"status\":\"paid\"}");
    /* the first reject is the mapping's, as it was */
    assert_non_null(strstr(batch_rej_text(b, batch_reject(b, 0)->payload), "\"id\":10"));
    /* must fail: nothing left to reject */
    assert_int_equal(batch_reject_only_record(b, "ref", "why"), ML_EINVAL);
    assert_int_equal(batch_counts(b).rejected, 2);
    /* the other part, order 8 alone, with its two lines */
    assert_int_equal(batch_rows(rest, BATCH_CHILD(0))->nrows, 2);
    assert_int_equal(batch_reject_only_record(rest, "ref", "why"), 0);
    assert_int_equal(batch_rows(rest, BATCH_CHILD(0))->nrows, 0);
    assert_string_equal(batch_rej_text(rest, batch_reject(rest, 0)->record_key), "8");
    assert_int_equal(batch_counts(rest).rejected, 1);
    /* the emptied batch takes records again */
    assert_int_equal(map_text(c, ORDER("7", "[]", "[]")), 0);
    assert_int_equal(main_rows(b)->nrows, 1);
    assert_int_equal(batch_counts(b).duplicates, 0);
    batch_free(rest);
}

/* A record refused in its second child leaves nothing behind in either
 * child table; its reject payload keeps both arrays' kept fields. */
static void test_two_children_reject(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    struct buf names = BUF_INIT;
    assert_int_equal(map_text(c, ORDER("7", LINES2, PAY1)), 0);
    size_t arena_len = batch_memory(b).arena_len;
    /* fails late: the lines are mapped, then a payment is refused */
    assert_int_equal(
        map_text(c, ORDER("9", LINES2,
                          "[{\"method\":\"card\",\"amount\":\"abc\",\"card\":\"Zq4111\"}]")),
        0);
    assert_int_equal(batch_counts(b).rejected, 1);
    expect_reason_has(b, "element 0 of 'payments'");
    assert_int_equal(main_rows(b)->nrows, 1);
    assert_int_equal(batch_rows(b, BATCH_CHILD(0))->nrows, 2);
    assert_int_equal(batch_rows(b, BATCH_CHILD(1))->nrows, 1);
    assert_int_equal(child_count_n(b, 0), 1);
    assert_int_equal(child_count_n(b, 1), 1);
    assert_int_equal(batch_memory(b).arena_len, arena_len);
    const char *p = batch_rej_text(b, last_reject(b)->payload);
    assert_string_equal(p, "{\"id\":9,\"status\":\"paid\",\"lines\":[{\"sku\":\"A-1\",\"qty\":2},"
                           "{\"sku\":\"B-2\",\"qty\":1}],\"payments\":[{\"method\":\"card\","
                           "\"amount\":\"abc\"}]}");
    assert_false(rej_arena_holds(b, "Zq"));
    /* a payments element that is not an object: rejected, named */
    assert_int_equal(map_text(c, ORDER("10", "[]", "[3]")), 0);
    expect_reason_has(b, "element 0 of 'payments' must be an object");
    assert_int_equal(batch_rows(b, BATCH_CHILD(1))->nrows, 1);
    /* the next record goes on into both tables */
    assert_int_equal(map_text(c, ORDER("11", "[{\"sku\":\"D\"}]", PAY1)), 0);
    assert_int_equal(batch_rows(b, BATCH_CHILD(0))->nrows, 3);
    assert_int_equal(batch_rows(b, BATCH_CHILD(1))->nrows, 2);
    expect_int(batch_rows(b, BATCH_CHILD(1)), 1, "order_id", 11);
    /* unknown fields are named under their own array */
    assert_int_equal(
        map_text(c, ORDER("12", "[{\"sku\":\"E\",\"gift\":1}]", "[{\"method\":\"x\",\"tip\":1}]")),
        0);
    assert_int_equal(batch_counts(b).unknown_records, 1);
    assert_int_equal(batch_unknown_names(b, &names), 0);
    assert_string_equal(names.data, "lines[].gift, payments[].tip");
    buf_release(&names);
}

/* ---- generalising actions: bucket, truncate, prefix ---- */

static const char general_config[] =
    "warehouse: { database: d, user: u, password: p }\n"
    "sources:\n"
    "  shop: { base_url: 'http://127.0.0.1:1' }\n"
    "streams:\n"
    "  people:\n"
    "    source: shop\n"
    "    table: people_raw\n"
    "    key: [person_id]\n"
    "    columns:\n"
    "      - { name: person_id, from: id, type: bigint, required: true }\n"
    "      - { name: born, from: born, type: smallint, pii: { bucket: 10 } }\n"
    "      - { name: income, from: income, type: \"decimal(6,2)\", pii: { bucket: 1000 } }\n"
    "      - { name: big, from: big, type: bigint, pii: { bucket: 7 } }\n"
    "      - { name: seen_hour, from: seen, type: datetime, pii: { truncate: hour } }\n"
    "      - { name: seen_day, from: seen2, type: datetime, pii: { truncate: day } }\n"
    "      - { name: seen_month, from: seen3, type: datetime, pii: { truncate: month } }\n"
    "      - { name: signup, from: signup, type: date, pii: { truncate: month } }\n"
    "      - { name: zip, from: zip, pii: { prefix: 3 } }\n";

static int setup_general(void **state)
{
    static struct orders_ctx o;
    memset(&o, 0, sizeof(o));
    if (config_parse(&o.cfg, general_config, strlen(general_config), "t.yaml")) {
        print_error("%s\n", err_msg());
        return -1;
    }
    if (!(o.c.b = batch_new(o.cfg.streams[0].def)))
        return -1;
    *state = &o.c;
    return 0;
}

#define PERSON(id, rest) "{\"id\":" id "," rest "}"

/* Each action stores the generalised value, exactly, and never the value. */
static void test_generalised_values(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    assert_int_equal(map_text(c, PERSON("1", "\"born\":1987,\"income\":\"1234.56\",\"big\":20,"
                                             "\"seen\":\"2024-03-17T09:45:12.345+02:00\","
                                             "\"seen2\":\"2024-03-17T23:59:59Z\","
                                             "\"seen3\":\"2024-03-17T23:59:59Z\","
                                             "\"signup\":\"2024-02-29\",\"zip\":\"10115\"")),
                     0);
    /* negative numbers floor towards minus infinity; decimals by their value */
    assert_int_equal(map_text(c, PERSON("2", "\"born\":-3,\"income\":\"-0.01\",\"big\":-7,"
                                             "\"zip\":\"\xc3\x84\xc3\x96\xc3\x9c"
                                             "99\"")),
                     0);
    assert_int_equal(
        map_text(c, PERSON("3", "\"born\":\"1990\",\"income\":999.99,\"big\":-8,"
                                "\"zip\":75001,\"signup\":\"2024-12-31T23:00:00-02:00\"")),
        0);
    assert_int_equal(map_text(c, PERSON("4", "\"income\":-1000,\"zip\":\"ab\"")), 0);
    /* a date string counts as its year */
    assert_int_equal(map_text(c, PERSON("5", "\"born\":\"1987-06-30T00:00:00.000Z\"")), 0);
    struct table_rows *t = main_rows(b);
    assert_int_equal(t->nrows, 5);
    expect_int(t, 4, "born", 1980);
    expect_int(t, 0, "born", 1980);
    expect_text(b, t, 0, "income", "1000.00");
    expect_int(t, 0, "big", 14);
    expect_text(b, t, 0, "seen_hour", "2024-03-17 07:00:00.000");
    expect_text(b, t, 0, "seen_day", "2024-03-17 00:00:00.000");
    expect_text(b, t, 0, "seen_month", "2024-03-01 00:00:00.000");
    expect_text(b, t, 0, "signup", "2024-02-01");
    expect_text(b, t, 0, "zip", "101");
    expect_int(t, 1, "born", -10);
    expect_text(b, t, 1, "income", "-1000.00");
    expect_int(t, 1, "big", -7);
    expect_text(b, t, 1, "zip", "\xc3\x84\xc3\x96\xc3\x9c"); /* 3 characters, 6 bytes */
    expect_int(t, 2, "born", 1990);
    expect_text(b, t, 2, "income", "0.00");
    expect_int(t, 2, "big", -14);
    expect_text(b, t, 2, "zip", "750");
    expect_text(b, t, 2, "signup", "2025-01-01"); /* the UTC date's month */
    expect_text(b, t, 3, "income", "-1000.00");
    expect_text(b, t, 3, "zip", "ab"); /* shorter than N: kept whole */
    expect_null(t, 3, "born");
    /* the exact values reached no row */
    assert_false(arena_holds(b, "1234"));
    assert_false(arena_holds(b, "10115"));
    assert_false(arena_holds(b, "999.99"));
    assert_false(arena_holds(b, "09:45"));
    /* the COMMENT says what a value means */
    const struct table_def *td = batch_def(b)->table;
    assert_non_null(strstr(td->cols[1].description, "range of width 10"));
    assert_non_null(strstr(td->cols[8].description, "first 3 characters"));
    assert_int_equal(td->cols[8].type, COL_TEXT);
    assert_int_equal(td->cols[8].size, 3);
}

/* must-fail: values the actions cannot take become rejects that never quote them */
static void test_generalised_rejects(void **state)
{
    struct ctx *c = *state;
    struct batch *b = c->b;
    static const char *const bad[] = {
        PERSON("1", "\"born\":\"19x0\""),             /* not a number */
        PERSON("11", "\"born\":\"1987-02-30\""),      /* not a date either */
        PERSON("2", "\"born\":32767"),                /* 32760 fits; see next */
        PERSON("3", "\"born\":-32768"),               /* -32770 leaves smallint */
        PERSON("4", "\"income\":\"-9999.99\""),       /* -10000.00 leaves decimal(6,2) */
        PERSON("5", "\"income\":\"12.345\""),         /* more places than the column */
        PERSON("6", "\"seen\":\"yesterday 5pm\""),    /* not a timestamp */
        PERSON("7", "\"signup\":20240229"),           /* a date must be a string */
        PERSON("8", "\"zip\":\"\\ud800\""),           /* not a readable string */
        PERSON("9", "\"zip\":true"),                  /* not a string or number */
        PERSON("10", "\"big\":-9223372036854775808"), /* the bound leaves int64 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t before = batch_counts(b).rejected;
        assert_int_equal(map_text(c, bad[i]), 0);
        if (batch_counts(b).rejected != before + (i != 2))
            fail_msg("record %zu: %s rejected", i, i == 2 ? "" : "not");
        if (i != 2 && !strstr(last_reason(b), "value not shown") &&
            !strstr(last_reason(b), "lone surrogate"))
            fail_msg("record %zu: reason '%s' may show the value", i, last_reason(b));
    }
    expect_int(main_rows(b), 0, "born", 32760);
    assert_int_equal(main_rows(b)->nrows, 1);
    assert_int_equal(batch_counts(b).rejected, 10);
    assert_false(arena_holds(b, "9999"));
    assert_false(rej_arena_holds(b, "12.345"));
    assert_false(rej_arena_holds(b, "yesterday"));
}

#define USERS_TEST(f)    cmocka_unit_test_setup_teardown(f, setup_users, teardown)
#define ORDERS_TEST(f)   cmocka_unit_test_setup_teardown(f, setup_orders, teardown_orders)
#define MESSAGES_TEST(f) cmocka_unit_test_setup_teardown(f, setup_messages, teardown)
#define LOGINS_TEST(f)   cmocka_unit_test_setup_teardown(f, setup_logins, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapping_find),
        cmocka_unit_test(test_long_path_parts),
        LOGINS_TEST(test_login_seed_accepted),
        LOGINS_TEST(test_login_malformed_rejected),
        LOGINS_TEST(test_login_batch_drop),
        LOGINS_TEST(test_login_batch_claims),
        cmocka_unit_test_setup_teardown(test_login_masked_values, setup_logins_masked,
                                        teardown_logins_masked),
        USERS_TEST(test_batch_drop_refuses_children),
        USERS_TEST(test_user_seed_accepted),
        USERS_TEST(test_user_dropped_fields_not_in_arena),
        USERS_TEST(test_user_birth_date_policy_date),
        USERS_TEST(test_user_surrogate_values_trimmed),
        USERS_TEST(test_user_zipcode_number),
        USERS_TEST(test_user_is_smoking_true),
        USERS_TEST(test_user_numeric_id_and_income),
        USERS_TEST(test_user_numbers_exact),
        USERS_TEST(test_user_lone_surrogate),
        USERS_TEST(test_user_nulls_and_absent_optionals),
        USERS_TEST(test_user_duplicate_id_last_wins),
        USERS_TEST(test_user_duplicates_compact_keeps_order),
        USERS_TEST(test_user_unknown_fields_counted_not_stored),
        USERS_TEST(test_user_nul_kept_in_text_and_surrogates),
        USERS_TEST(test_reject_nul_in_parsed_values),
        USERS_TEST(test_reject_reason_escapes_nul),
        USERS_TEST(test_reject_out_of_range_dates),
        USERS_TEST(test_surrogate_value_length_limit),
        USERS_TEST(test_user_country_length),
        USERS_TEST(test_user_country_invalid_utf8_rejected),
        USERS_TEST(test_user_reject_payload_is_valid_utf8),
        USERS_TEST(test_reject_missing_id),
        USERS_TEST(test_reject_null_created_at),
        USERS_TEST(test_reject_bad_created_at_quotes_value),
        USERS_TEST(test_reject_long_value_quoted_cut),
        USERS_TEST(test_reject_bad_email_hides_value),
        USERS_TEST(test_reject_bad_birth_date_hides_value),
        USERS_TEST(test_reject_surrogate_of_wrong_type),
        USERS_TEST(test_reject_id_true),
        USERS_TEST(test_reject_id_not_integer),
        USERS_TEST(test_reject_bad_bool),
        USERS_TEST(test_reject_record_not_object),
        USERS_TEST(test_reject_subscription_element_not_object),
        USERS_TEST(test_reject_subscription_not_array),
        USERS_TEST(test_reject_bad_subscription_field),
        USERS_TEST(test_reject_profile_string),
        USERS_TEST(test_reject_payload_strips_pii),
        USERS_TEST(test_reject_leaves_no_rows_and_batch_goes_on),
        USERS_TEST(test_batch_reset_wipes),
        MESSAGES_TEST(test_message_accepted_text_dropped),
        MESSAGES_TEST(test_message_sender_string_and_number),
        MESSAGES_TEST(test_message_missing_created_at),
        ORDERS_TEST(test_two_children_mapped),
        ORDERS_TEST(test_two_children_reject),
        ORDERS_TEST(test_batch_split),
        ORDERS_TEST(test_batch_reject_only_record),
        cmocka_unit_test_setup_teardown(test_generalised_values, setup_general, teardown_orders),
        cmocka_unit_test_setup_teardown(test_generalised_rejects, setup_general, teardown_orders),
    };
    return cmocka_run_group_tests_name("mapping", tests, NULL, NULL);
}
