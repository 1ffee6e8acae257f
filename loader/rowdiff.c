/* rowdiff.c - rowdiff.h: the stored rows of a batch's keys read back over
 * wh.h and compared, as each server prints them, with the batch's. */
#include "rowdiff.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "log.h"
#include "banned.h"

/* Rows asked for per statement (an IN list of first-key values). */
#define PROBE_ROWS 5000

/* "YYYY-MM-DD HH:MM:SS.mmm" (convert.h) as PostgreSQL prints a
 * timestamp(3): the trailing zeros of the fraction dropped, and the point
 * when nothing is left after it. Another form is returned as it is. */
static const char *pg_timestamp(const char *s, size_t len, char tmp[ROWDIFF_TEXT_MAX], size_t *out)
{
    size_t n = len;
    if (len != CONVERT_DATETIME_LEN - 1 || s[19] != '.')
        return *out = len, s;
    memcpy(tmp, s, len);
    while (n > 20 && tmp[n - 1] == '0')
        n--;
    if (tmp[n - 1] == '.')
        n--;
    *out = n;
    return tmp;
}

/* bytes as PostgreSQL prints a bytea (bytea_output hex): \x and lower-case
 * hex; NULL when they do not fit in tmp */
static const char *pg_bytea(const char *s, size_t len, char tmp[ROWDIFF_TEXT_MAX], size_t *out)
{
    static const char hex[] = "0123456789abcdef";
    if (len > (ROWDIFF_TEXT_MAX - 2) / 2)
        return *out = 0, NULL;
    tmp[0] = '\\';
    tmp[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        tmp[2 + 2 * i] = hex[(unsigned char)s[i] >> 4];
        tmp[3 + 2 * i] = hex[(unsigned char)s[i] & 15];
    }
    *out = 2 + 2 * len;
    return tmp;
}

const char *rowdiff_text(enum db_dialect d, enum col_type type, const struct cell *c,
                         const char *text, char tmp[ROWDIFF_TEXT_MAX], size_t *len)
{
    const bool pg = d == DB_DIALECT_POSTGRES;
    *len = 0;
    switch (c->kind) {
    case CELL_INT:
        if (pg && type == COL_BOOL) {
            tmp[0] = c->i ? 't' : 'f';
            *len = 1;
            return tmp;
        }
        return buf_int_text(tmp, c->i, len);
    case CELL_TEXT:
        if (!pg)
            return *len = c->len, text;
        if (type == COL_DIGEST)
            return pg_bytea(text, c->len, tmp, len);
        /* stored with U+FFFD in place of each NUL (writer_pg.h) */
        if (memchr(text, '\0', c->len))
            return NULL;
        if (type == COL_DATETIME || type == COL_EPOCH_MS)
            return pg_timestamp(text, c->len, tmp, len);
        return *len = c->len, text;
    case CELL_NULL:
    case CELL_PENDING:
        break;
    }
    return NULL;
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
    enum db_dialect d;
    const struct batch *b;
    struct table_rows *t;
    size_t *slots; /* row + 1, 0 = empty; cap a power of two */
    size_t cap;
};

/* column `col` of batch row r as the server prints it (rowdiff_text) */
static const char *value(struct probe *pr, size_t r, unsigned col, char tmp[ROWDIFF_TEXT_MAX],
                         size_t *len)
{
    const struct cell *c = batch_cell(pr->t, r, col);
    return rowdiff_text(pr->d, pr->t->def->cols[col].type, c,
                        c->kind == CELL_TEXT ? batch_text(pr->b, c) : NULL, tmp, len);
}

static uint64_t row_key_hash(struct probe *pr, size_t r)
{
    uint64_t h = 14695981039346656037ull;
    char tmp[ROWDIFF_TEXT_MAX];
    for (unsigned k = 0; k < pr->t->def->nkey; k++) {
        size_t len;
        const char *s = value(pr, r, k, tmp, &len);
        h = hash_add(h, s ? s : "", len);
    }
    return h;
}

/* Is stored row `row` (lens) the key of batch row r? */
static bool key_equal(struct probe *pr, size_t r, const char *const *row, const size_t *lens)
{
    char tmp[ROWDIFF_TEXT_MAX];
    for (unsigned k = 0; k < pr->t->def->nkey; k++) {
        size_t len;
        const char *s = value(pr, r, k, tmp, &len);
        if (!s || !row[k] || lens[k] != len || memcmp(s, row[k], len) != 0)
            return false;
    }
    return true;
}

static bool values_equal(struct probe *pr, size_t r, const char *const *row, const size_t *lens)
{
    char tmp[ROWDIFF_TEXT_MAX];
    for (unsigned c = pr->t->def->nkey; c < pr->t->def->ncols; c++) {
        size_t len;
        const char *s;
        if (batch_cell(pr->t, r, c)->kind == CELL_NULL) {
            if (row[c])
                return false;
            continue;
        }
        s = value(pr, r, c, tmp, &len);
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

static void probe_match(struct probe *pr, const char *const *row, const size_t *lens, bool *same,
                        size_t *nsame)
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

/* an integer column: its values can be written into the statement */
static bool integer_type(enum col_type t)
{
    return t == COL_BIGINT || t == COL_INT || t == COL_SMALLINT || t == COL_SURROGATE ||
           t == COL_VERSION_MAJOR;
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
    if (!integer_type(t->def->cols[0].type))
        return false;
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

/* The statement's values: bound parameters, their bytes in `arena`. */
struct params {
    struct buf arena;
    size_t *off, *lens;
    const char **values;
    int n;
};

/* Appends to `sql` the IN list of the first-key values of the rows from
 * *r on (at most PROBE_ROWS rows, each run of equal values once: child
 * rows come grouped by parent): integers written out, other values as
 * parameters in `p`. *r: the row after them. Nothing is appended when no
 * row has a value that can be looked for. */
static int in_list(struct probe *pr, struct buf *sql, struct params *p, size_t *r)
{
    const bool ints = integer_type(pr->t->def->cols[0].type);
    char tmp[ROWDIFF_TEXT_MAX];
    size_t first = *r, prev_off = 0, prev_len = 0;
    bool have_prev = false;
    long long prev_i = 0;
    int rc = 0;
    buf_reset(&p->arena);
    p->n = 0;
    for (; !rc && *r < pr->t->nrows && *r - first < PROBE_ROWS; (*r)++) {
        const struct cell *c = batch_cell(pr->t, *r, 0);
        size_t len;
        const char *s;
        if (ints && c->kind == CELL_INT) {
            if (have_prev && c->i == prev_i)
                continue;
            rc = buf_adds(sql, have_prev ? "," : " IN (");
            if (!rc)
                rc = buf_add_int(sql, c->i);
            prev_i = c->i;
            have_prev = true;
            continue;
        }
        s = value(pr, *r, 0, tmp, &len);
        if (!s)
            continue;
        if (p->n && len == prev_len && memcmp(p->arena.data + prev_off, s, len) == 0)
            continue;
        prev_off = p->arena.len;
        prev_len = len;
        rc = buf_add(&p->arena, s, len);
        if (!rc)
            rc = buf_addf(sql, "%s$%d", have_prev ? "," : " IN (", p->n + 1);
        p->off[p->n] = prev_off;
        p->lens[p->n++] = len;
        have_prev = true;
    }
    for (int i = 0; !rc && i < p->n; i++)
        p->values[i] = p->arena.data + p->off[i];
    return rc || !have_prev ? rc : buf_addc(sql, ')');
}

int rowdiff_mark_unchanged(struct wh *w, struct buf *sql, const struct batch *b,
                           struct table_rows *t, bool *same, size_t *nsame)
{
    const struct table_def *def = t->def;
    const enum db_dialect d = wh_dialect(w);
    const char *lock = d == DB_DIALECT_POSTGRES ? "" : " FOR UPDATE";
    struct probe pr = {d, b, t, NULL, 0};
    struct params p = {BUF_INIT, NULL, NULL, NULL, 0};
    size_t head = 0;
    int rc;
    *nsame = 0;
    memset(same, 0, t->nrows * sizeof(*same));
    if (t->nrows == 0)
        return 0;
    {
        /* an IN list holds at most one value per row */
        const size_t cap = t->nrows < PROBE_ROWS ? t->nrows : PROBE_ROWS;
        p.off = calloc(cap, sizeof(*p.off));
        p.lens = calloc(cap, sizeof(*p.lens));
        p.values = calloc(cap, sizeof(*p.values));
    }
    rc = p.off && p.lens && p.values ? probe_build(&pr)
                                     : err_set(ML_ENOMEM, "out of memory comparing rows");
    /* the statements' common head: SELECT <cols> FROM <table> WHERE <key0> */
    buf_reset(sql);
    if (!rc)
        rc = buf_adds(sql, "SELECT ");
    for (unsigned c = 0; !rc && c < def->ncols; c++) {
        if (c)
            rc = buf_addc(sql, ',');
        if (!rc)
            rc = wh_append_ident(d, sql, def->cols[c].name);
    }
    if (!rc)
        rc = buf_adds(sql, " FROM ");
    if (!rc)
        rc = wh_append_ident(d, sql, def->name);
    if (!rc)
        rc = buf_adds(sql, " WHERE ");
    if (!rc)
        rc = wh_append_ident(d, sql, def->cols[0].name);
    head = sql->len;
    for (size_t r = 0; !rc && r < t->nrows;) {
        struct wh_result *res = NULL;
        const char *const *row;
        const size_t *lens;
        long long lo = 0, hi = 0;
        size_t next = r;
        buf_truncate(sql, head);
        p.n = 0;
        if (dense_range(t, r, &lo, &hi, &next)) {
            /* one range read instead of a lookup per value */
            rc = buf_addf(sql, " BETWEEN %lld AND %lld", lo, hi);
            r = next;
        } else {
            rc = in_list(&pr, sql, &p, &r);
            if (!rc && sql->len == head)
                continue; /* no key value in this run of rows */
        }
        if (!rc)
            rc = buf_adds(sql, lock);
        if (!rc)
            rc = wh_query(w, sql->data, p.n, p.values, p.lens, &res);
        if (rc)
            break;
        while (wh_result_next(res, &row, &lens) == 1)
            probe_match(&pr, row, lens, same, nsame);
        wh_result_free_wiped(res);
    }
    if (!rc)
        log_debug("%s: %zu of %zu rows equal to their stored rows", def->name, *nsame, t->nrows);
    free(pr.slots);
    buf_wipe(&p.arena);
    free(p.off);
    free(p.lens);
    free(p.values);
    return rc ? err_prefix(rc, "comparing the rows of %s", def->name) : 0;
}
