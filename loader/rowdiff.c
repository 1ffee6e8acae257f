#include "rowdiff.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "banned.h"

/* Rows asked for per statement (an IN list of first-key values). */
#define PROBE_ROWS 5000

/* A cell's value as the server prints it: integers in decimal, text as is. */
static const char *cell_text(const struct batch *b, const struct cell *c, char num[24], size_t *len)
{
    switch (c->kind) {
    case CELL_INT:
        *len = (size_t)snprintf(num, 24, "%lld", c->i);
        return num;
    case CELL_TEXT:
        *len = c->len;
        return batch_text(b, c);
    default:
        *len = 0;
        return NULL;
    }
}

static uint64_t hash_add(uint64_t h, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    /* the length too, so that ("ab","c") and ("a","bc") differ */
    for (size_t i = 0; i < sizeof(len); i++) {
        h ^= (unsigned char)(len >> (8 * i));
        h *= 1099511628211ull;
    }
    return h;
}

struct probe {
    const struct batch *b;
    struct table_rows *t;
    size_t *slots; /* row + 1, 0 = empty; cap a power of two */
    size_t cap;
};

static uint64_t row_key_hash(struct probe *pr, size_t r)
{
    uint64_t h = 14695981039346656037ull;
    char num[24];
    for (unsigned k = 0; k < pr->t->def->nkey; k++) {
        size_t len;
        const char *s = cell_text(pr->b, batch_cell(pr->t, r, k), num, &len);
        h = hash_add(h, s ? s : "", len);
    }
    return h;
}

/* Is stored row `row` (lens) the key of batch row r? */
static bool key_equal(struct probe *pr, size_t r, const char *const *row, const unsigned long *lens)
{
    char num[24];
    for (unsigned k = 0; k < pr->t->def->nkey; k++) {
        size_t len;
        const char *s = cell_text(pr->b, batch_cell(pr->t, r, k), num, &len);
        if (!s || !row[k] || lens[k] != len || memcmp(s, row[k], len) != 0)
            return false;
    }
    return true;
}

static bool values_equal(struct probe *pr, size_t r, const char *const *row,
                         const unsigned long *lens)
{
    char num[24];
    for (unsigned c = pr->t->def->nkey; c < pr->t->def->ncols; c++) {
        const struct cell *cell = batch_cell(pr->t, r, c);
        size_t len;
        const char *s;
        if (cell->kind == CELL_NULL) {
            if (row[c])
                return false;
            continue;
        }
        s = cell_text(pr->b, cell, num, &len);
        if (!s || !row[c] || lens[c] != len || memcmp(s, row[c], len) != 0)
            return false;
    }
    return true;
}

static int probe_build(struct probe *pr)
{
    size_t n = pr->t->nrows;
    pr->cap = 16;
    while (pr->cap < 2 * n)
        pr->cap *= 2;
    pr->slots = calloc(pr->cap, sizeof(*pr->slots));
    if (!pr->slots)
        return err_set(ML_ENOMEM, "out of memory comparing rows");
    for (size_t r = 0; r < n; r++) {
        size_t i = (size_t)row_key_hash(pr, r) & (pr->cap - 1);
        while (pr->slots[i])
            i = (i + 1) & (pr->cap - 1);
        pr->slots[i] = r + 1;
    }
    return 0;
}

static void probe_match(struct probe *pr, const char *const *row, const unsigned long *lens,
                        bool *same, size_t *nsame)
{
    uint64_t h = 14695981039346656037ull;
    for (unsigned k = 0; k < pr->t->def->nkey; k++)
        h = hash_add(h, row[k] ? row[k] : "", row[k] ? lens[k] : 0);
    for (size_t i = (size_t)h & (pr->cap - 1); pr->slots[i]; i = (i + 1) & (pr->cap - 1)) {
        size_t r = pr->slots[i] - 1;
        if (!key_equal(pr, r, row, lens))
            continue;
        if (!same[r] && values_equal(pr, r, row, lens)) {
            same[r] = true;
            (*nsame)++;
        }
        return; /* keys are unique in a batch table */
    }
}

/* Whether the first-key values of rows [from, from + PROBE_ROWS) of `t`
 * are integers that fill most of their range: at least half of the
 * integers from the smallest to the largest are among them (ids loaded in
 * order, child rows of such parents). Then one range read (BETWEEN) finds
 * their stored rows at the cost of a few more rows than asked for, which
 * match no batch row and are ignored, instead of one index lookup per
 * value. *lo, *hi: the range; *next: the row after the chunk. */
static bool dense_range(struct table_rows *t, size_t from, long long *lo, long long *hi,
                        size_t *next)
{
    size_t end = from + PROBE_ROWS < t->nrows ? from + PROBE_ROWS : t->nrows;
    unsigned long long distinct = 0;
    long long prev = 0;
    for (size_t r = from; r < end; r++) {
        const struct cell *c = batch_cell(t, r, 0);
        if (c->kind != CELL_INT)
            return false;
        if (r == from || c->i < *lo)
            *lo = c->i;
        if (r == from || c->i > *hi)
            *hi = c->i;
        distinct += r == from || c->i != prev; /* child rows come grouped by parent */
        prev = c->i;
    }
    *next = end;
    return end > from && (unsigned long long)*hi - (unsigned long long)*lo < 2 * distinct;
}

int rowdiff_mark_unchanged(struct db *db, struct buf *sql, const struct batch *b,
                           struct table_rows *t, bool *same, size_t *nsame)
{
    const struct table_def *def = t->def;
    struct probe pr = {b, t, NULL, 0};
    int rc;
    *nsame = 0;
    memset(same, 0, t->nrows * sizeof(*same));
    if (t->nrows == 0)
        return 0;
    rc = probe_build(&pr);
    for (size_t r = 0; !rc && r < t->nrows;) {
        struct db_result *res = NULL;
        const char *const *row;
        const unsigned long *lens;
        const char *prev = NULL;
        size_t prev_len = 0;
        char num[24], prev_num[24];
        long long lo = 0, hi = 0;
        size_t next = r;
        buf_reset(sql);
        rc = buf_adds(sql, "SELECT ");
        for (unsigned c = 0; !rc && c < def->ncols; c++) {
            if (c)
                rc = buf_addc(sql, ',');
            if (!rc)
                rc = db_append_ident(sql, def->cols[c].name);
        }
        if (!rc)
            rc = buf_adds(sql, " FROM ");
        if (!rc)
            rc = db_append_ident(sql, def->name);
        if (!rc)
            rc = buf_adds(sql, " WHERE ");
        if (!rc)
            rc = db_append_ident(sql, def->cols[0].name);
        if (!rc && dense_range(t, r, &lo, &hi, &next)) {
            /* one range read instead of a lookup per value */
            rc = buf_addf(sql, " BETWEEN %lld AND %lld FOR UPDATE", lo, hi);
            r = next;
            if (!rc)
                rc = db_query(db, sql->data, &res);
            if (rc)
                break;
            while (db_result_next(res, &row, &lens) == 1)
                probe_match(&pr, row, lens, same, nsame);
            db_result_free_wiped(res);
            continue;
        }
        if (!rc)
            rc = buf_adds(sql, " IN (");
        for (size_t first = r; !rc && r < t->nrows && r - first < PROBE_ROWS; r++) {
            const struct cell *c = batch_cell(t, r, 0);
            size_t len;
            const char *s = cell_text(b, c, num, &len);
            if (!s)
                continue;
            /* child rows come grouped by parent: one value per run */
            if (prev && len == prev_len && memcmp(prev, s, len) == 0)
                continue;
            rc = buf_adds(sql, sql->data[sql->len - 1] == '(' ? "" : ",");
            if (!rc)
                rc = c->kind == CELL_INT ? buf_add(sql, s, len) : db_append_quoted(db, sql, s, len);
            if (c->kind == CELL_INT) {
                memcpy(prev_num, num, sizeof(num));
                prev = prev_num;
            } else {
                prev = s;
            }
            prev_len = len;
        }
        if (rc)
            break;
        if (sql->data[sql->len - 1] == '(')
            continue; /* no key value in this run of rows */
        rc = buf_adds(sql, ") FOR UPDATE");
        if (!rc)
            rc = db_query(db, sql->data, &res);
        if (rc)
            break;
        while (db_result_next(res, &row, &lens) == 1)
            probe_match(&pr, row, lens, same, nsame);
        db_result_free_wiped(res);
    }
    free(pr.slots);
    return rc ? err_prefix(rc, "comparing the rows of %s", def->name) : 0;
}
