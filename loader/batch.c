#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "json.h"
#include "banned.h"

#define NO_OFFSET ((size_t)-1)

/* The counts of one child table, one per accepted record; ends[i] is the
 * table's row count once the children of record i were added (the sum of
 * counts[0..i]), which batch_undo returns to. */
struct child_counts {
    struct child_count *counts;
    size_t *ends;
    size_t n, cap;
};

struct batch {
    const struct stream_def *def;
    unsigned ntables;              /* 1 + def->nchildren */
    struct table_rows *tables;     /* [ntables]: BATCH_MAIN, then BATCH_CHILD(i) */
    struct child_counts *children; /* [def->nchildren] */
    struct reject *rejects;
    size_t nrejects, rejects_cap;
    struct buf arena;     /* row values, PII until resolved: wiped on reset */
    struct buf rej_arena; /* reject texts (no PII) */
    struct buf scratch;   /* BATCH_WORK_VALUE: per-value scratch, wiped */
    size_t records, accepted, duplicates, unknown_records, already_processed, invalid_nulled;
    /* duplicate detection: superseded[row] for main rows; key_slots is an
     * open-addressing set of main rows by key (row + 1, 0 = empty), its
     * capacity a power of two at least twice the rows in it */
    bool *superseded;
    size_t superseded_cap;
    size_t *key_slots;
    size_t key_slots_cap, key_slots_used;
    /* per stream, NOT reset: */
    struct buf known_shape;   /* BATCH_WORK_KNOWN_SHAPE */
    struct buf shape;         /* BATCH_WORK_SHAPE */
    struct buf unknown_names; /* newline separated, at most BATCH_UNKNOWN_NAMES_MAX */
    size_t nunknown_names;
    bool unknown_names_more; /* more distinct names than were kept */
};

/* ---- lifetime ---- */

struct batch *batch_new(const struct stream_def *def)
{
    struct batch *b = calloc(1, sizeof(*b));
    if (!b) {
        err_set(ML_ENOMEM, "out of memory allocating a batch");
        return NULL;
    }
    b->def = def;
    b->ntables = 1 + def->nchildren;
    b->tables = calloc(b->ntables, sizeof(*b->tables));
    b->children = calloc(def->nchildren ? def->nchildren : 1, sizeof(*b->children));
    if (!b->tables || !b->children) {
        free(b->tables);
        free(b->children);
        free(b);
        err_set(ML_ENOMEM, "out of memory allocating a batch");
        return NULL;
    }
    b->tables[BATCH_MAIN].def = def->table;
    for (unsigned i = 0; i < def->nchildren; i++)
        b->tables[BATCH_CHILD(i)].def = def->children[i].table;
    buf_init(&b->arena, 0);
    buf_init(&b->rej_arena, 0);
    buf_init(&b->scratch, 0);
    buf_init(&b->unknown_names, 0);
    buf_init(&b->known_shape, 0);
    buf_init(&b->shape, 0);
    return b;
}

static void key_set_clear(struct batch *b)
{
    if (b->key_slots)
        memset(b->key_slots, 0, b->key_slots_cap * sizeof(*b->key_slots));
    b->key_slots_used = 0;
}

void batch_reset(struct batch *b)
{
    if (b->arena.cap)
        mem_wipe(b->arena.data, b->arena.cap);
    buf_reset(&b->arena);
    buf_reset(&b->rej_arena);
    for (unsigned t = 0; t < b->ntables; t++)
        b->tables[t].nrows = 0;
    for (unsigned i = 0; i < b->def->nchildren; i++)
        b->children[i].n = 0;
    b->nrejects = 0;
    b->records = 0;
    b->accepted = 0;
    b->duplicates = 0;
    b->already_processed = 0;
    b->invalid_nulled = 0;
    b->unknown_records = 0;
    key_set_clear(b);
}

void batch_free(struct batch *b)
{
    if (!b)
        return;
    buf_wipe(&b->arena);
    buf_release(&b->rej_arena);
    buf_wipe(&b->scratch);
    for (unsigned t = 0; t < b->ntables; t++)
        free(b->tables[t].cells);
    for (unsigned i = 0; i < b->def->nchildren; i++) {
        free(b->children[i].counts);
        free(b->children[i].ends);
    }
    free(b->tables);
    free(b->children);
    free(b->rejects);
    free(b->superseded);
    free(b->key_slots);
    buf_release(&b->unknown_names);
    buf_release(&b->known_shape);
    buf_release(&b->shape);
    free(b);
}

/* ---- reading ---- */

const struct stream_def *batch_def(const struct batch *b)
{
    return b->def;
}

struct batch_counts batch_counts(const struct batch *b)
{
    struct batch_counts c = {
        .records = b->records,
        .accepted = b->accepted,
        .rejected = b->nrejects,
        .duplicates = b->duplicates,
        .unknown_records = b->unknown_records,
        .invalid_nulled = b->invalid_nulled,
        .already_processed = b->already_processed,
    };
    return c;
}

unsigned batch_ntables(const struct batch *b)
{
    return b->ntables;
}

struct table_rows *batch_rows(struct batch *b, unsigned table)
{
    return table < b->ntables ? &b->tables[table] : NULL;
}

const struct reject *batch_reject(const struct batch *b, size_t i)
{
    return &b->rejects[i];
}

const struct child_count *batch_children(const struct batch *b, unsigned child, size_t *n)
{
    *n = child < b->def->nchildren ? b->children[child].n : 0;
    return *n ? b->children[child].counts : NULL;
}

struct cell *batch_cell(struct table_rows *t, size_t row, unsigned col)
{
    return &t->cells[row * t->def->ncols + col];
}

const char *batch_text(const struct batch *b, const struct cell *c)
{
    return b->arena.data + c->off;
}

const char *batch_rej_text(const struct batch *b, size_t off)
{
    return off == NO_OFFSET ? NULL : b->rej_arena.data + off;
}

size_t batch_unknown_name_count(const struct batch *b)
{
    return b->nunknown_names;
}

int batch_unknown_names(const struct batch *b, struct buf *out)
{
    int rc = 0;
    buf_reset(out);
    for (const char *p = b->unknown_names.data; !rc && p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (out->len)
            rc = buf_adds(out, ", ");
        if (!rc)
            rc = buf_add(out, p, n);
        p = nl ? nl + 1 : NULL;
    }
    if (!rc && b->unknown_names_more)
        rc = buf_adds(out, ", ...");
    return rc;
}

struct batch_memory batch_memory(const struct batch *b)
{
    struct batch_memory m = {b->arena.data, b->arena.len, b->arena.cap, b->rej_arena.data,
                             b->rej_arena.len};
    return m;
}

/* ---- filling ---- */

/* Array `p` of *cap elements of `size` bytes, n of them used, with room for
 * one more: reallocated to twice its capacity (`first` when empty) when
 * full. NULL when out of memory (`p` is then untouched). */
static void *room_for_one(void *p, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return p;
    size_t ncap = *cap ? *cap * 2 : first;
    void *np = realloc(p, ncap * size);
    if (np)
        *cap = ncap;
    return np;
}

int batch_add_row(struct batch *b, unsigned table, size_t *row)
{
    struct table_rows *t = batch_rows(b, table);
    if (!t)
        return err_set(ML_EINTERNAL, "stream '%s': no table %u in a batch", b->def->name, table);
    struct cell *c = room_for_one(t->cells, t->nrows, &t->cap, t->def->ncols * sizeof(*c), 256);
    if (!c)
        return err_set(ML_ENOMEM, "out of memory growing a batch");
    t->cells = c;
    *row = t->nrows++;
    memset(&t->cells[*row * t->def->ncols], 0, t->def->ncols * sizeof(struct cell));
    return 0;
}

int batch_put_text(struct batch *b, struct cell *c, enum cell_kind kind, const char *s, size_t len)
{
    c->kind = kind;
    c->off = b->arena.len;
    c->len = len;
    int rc = buf_add(&b->arena, s, len);
    return rc ? rc : buf_addc(&b->arena, '\0');
}

struct batch_mark batch_mark(const struct batch *b)
{
    struct batch_mark m = {b->arena.len, b->tables[BATCH_MAIN].nrows, b->invalid_nulled};
    return m;
}

void batch_undo(struct batch *b, struct batch_mark m)
{
    b->invalid_nulled = m.invalid_nulled;
    if (b->tables[BATCH_MAIN].nrows > m.main_rows) {
        /* back to the end of record m.main_rows - 1 in every child table */
        b->tables[BATCH_MAIN].nrows = m.main_rows;
        for (unsigned i = 0; i < b->def->nchildren; i++) {
            struct child_counts *cc = &b->children[i];
            if (cc->n > m.main_rows)
                cc->n = m.main_rows;
            b->tables[BATCH_CHILD(i)].nrows = cc->n ? cc->ends[cc->n - 1] : 0;
        }
    }
    if (b->arena.len > m.arena)
        mem_wipe(b->arena.data + m.arena, b->arena.len - m.arena);
    buf_truncate(&b->arena, m.arena);
}

void batch_count(struct batch *b, enum batch_counter which)
{
    switch (which) {
    case BATCH_RECORDS:
        b->records++;
        break;
    case BATCH_UNKNOWN_RECORDS:
        b->unknown_records++;
        break;
    case BATCH_INVALID_NULLED:
        b->invalid_nulled++;
        break;
    }
}

int batch_add_child_count(struct batch *b, unsigned child, long long parent_key, unsigned count)
{
    if (child >= b->def->nchildren)
        return err_set(ML_EINTERNAL, "stream '%s': no child %u in a batch", b->def->name, child);
    struct child_counts *cc = &b->children[child];
    if (cc->n == cc->cap) {
        size_t ncap = cc->cap ? cc->cap * 2 : 256;
        struct child_count *nc = realloc(cc->counts, ncap * sizeof(*nc));
        if (nc)
            cc->counts = nc;
        size_t *ne = nc ? realloc(cc->ends, ncap * sizeof(*ne)) : NULL;
        if (!ne)
            return err_set(ML_ENOMEM, "out of memory");
        cc->ends = ne;
        cc->cap = ncap;
    }
    cc->counts[cc->n].parent_key = parent_key;
    cc->counts[cc->n].count = count;
    cc->ends[cc->n] = b->tables[BATCH_CHILD(child)].nrows;
    cc->n++;
    return 0;
}

static int rej_add(struct batch *b, const char *s, size_t *off)
{
    *off = b->rej_arena.len;
    int rc = buf_adds(&b->rej_arena, s);
    return rc ? rc : buf_addc(&b->rej_arena, '\0');
}

int batch_add_reject(struct batch *b, const char *source_ref, const char *reason,
                     const char *record_key, const char *payload)
{
    struct reject *r = room_for_one(b->rejects, b->nrejects, &b->rejects_cap, sizeof(*r), 16);
    int rc;
    if (!r)
        return err_set(ML_ENOMEM, "out of memory");
    b->rejects = r;
    r += b->nrejects;
    r->record_key = NO_OFFSET;
    rc = rej_add(b, source_ref, &r->source_ref);
    if (!rc)
        rc = rej_add(b, reason, &r->reason);
    if (!rc && record_key)
        rc = rej_add(b, record_key, &r->record_key);
    if (!rc)
        rc = rej_add(b, payload, &r->payload);
    if (!rc)
        b->nrejects++;
    return rc;
}

void batch_note_unknown_name(struct batch *b, const char *name)
{
    size_t len = strlen(name);
    /* the names are kept newline separated; look for this one */
    for (const char *p = b->unknown_names.data; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n == len && memcmp(p, name, n) == 0)
            return;
        p = nl ? nl + 1 : NULL;
    }
    if (b->nunknown_names >= BATCH_UNKNOWN_NAMES_MAX) {
        b->unknown_names_more = true;
        return;
    }
    if (buf_adds(&b->unknown_names, name) == 0 && buf_addc(&b->unknown_names, '\n') == 0)
        b->nunknown_names++;
}

void batch_merge_unknown_names(struct batch *dst, const struct batch *src)
{
    char name[256];
    for (const char *p = src->unknown_names.data; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n < sizeof(name)) {
            memcpy(name, p, n);
            name[n] = '\0';
            batch_note_unknown_name(dst, name);
        }
        p = nl ? nl + 1 : NULL;
    }
    if (src->unknown_names_more)
        dst->unknown_names_more = true;
}

struct buf *batch_work(struct batch *b, enum batch_work which)
{
    switch (which) {
    case BATCH_WORK_SHAPE:
        return &b->shape;
    case BATCH_WORK_KNOWN_SHAPE:
        return &b->known_shape;
    case BATCH_WORK_VALUE:
        break;
    }
    return &b->scratch;
}

/* ---- duplicate keys within a batch: the last record wins ---- */

static size_t key_hash(const struct batch *b, size_t row)
{
    const struct table_def *t = b->tables[BATCH_MAIN].def;
    size_t h = 1469598103934665603u;
    for (unsigned k = 0; k < t->nkey; k++) {
        const struct cell *c = &b->tables[BATCH_MAIN].cells[row * t->ncols + k];
        h = (h ^ (size_t)c->kind) * 1099511628211u;
        if (c->kind == CELL_INT) {
            h = (h ^ (size_t)(unsigned long long)c->i) * 1099511628211u;
        } else if (c->kind == CELL_TEXT || c->kind == CELL_PENDING) {
            const unsigned char *p = (const unsigned char *)b->arena.data + c->off;
            for (size_t i = 0; i < c->len; i++)
                h = (h ^ p[i]) * 1099511628211u;
        }
    }
    return h;
}

static bool key_equal(const struct batch *b, size_t r1, size_t r2)
{
    const struct table_def *t = b->tables[BATCH_MAIN].def;
    for (unsigned k = 0; k < t->nkey; k++) {
        const struct cell *x = &b->tables[BATCH_MAIN].cells[r1 * t->ncols + k];
        const struct cell *y = &b->tables[BATCH_MAIN].cells[r2 * t->ncols + k];
        if (x->kind != y->kind)
            return false;
        if (x->kind == CELL_INT && x->i != y->i)
            return false;
        if ((x->kind == CELL_TEXT || x->kind == CELL_PENDING) &&
            (x->len != y->len ||
             memcmp(b->arena.data + x->off, b->arena.data + y->off, x->len) != 0))
            return false;
    }
    return true;
}

/* Inserts main row `row` into the key set; *prev gets the row it replaces,
 * or NO_OFFSET. */
static int key_set_put(struct batch *b, size_t row, size_t *prev)
{
    *prev = NO_OFFSET;
    if ((b->key_slots_used + 1) * 2 > b->key_slots_cap) {
        size_t ncap = b->key_slots_cap ? b->key_slots_cap * 2 : 512;
        size_t *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return err_set(ML_ENOMEM, "out of memory tracking record keys");
        for (size_t i = 0; i < b->key_slots_cap; i++) {
            size_t r = b->key_slots[i];
            if (!r)
                continue;
            size_t j = key_hash(b, r - 1) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = r;
        }
        free(b->key_slots);
        b->key_slots = ns;
        b->key_slots_cap = ncap;
    }
    size_t mask = b->key_slots_cap - 1;
    for (size_t j = key_hash(b, row) & mask;; j = (j + 1) & mask) {
        if (!b->key_slots[j]) {
            b->key_slots[j] = row + 1;
            b->key_slots_used++;
            return 0;
        }
        if (key_equal(b, b->key_slots[j] - 1, row)) {
            *prev = b->key_slots[j] - 1;
            b->key_slots[j] = row + 1;
            return 0;
        }
    }
}

/* The key set after rows moved: rows 0..nrows-1 of the main table, whose
 * keys are unique. */
static int key_set_rebuild(struct batch *b)
{
    key_set_clear(b);
    for (size_t r = 0; r < b->tables[BATCH_MAIN].nrows; r++) {
        size_t prev;
        int rc = key_set_put(b, r, &prev);
        if (rc)
            return rc;
    }
    return 0;
}

static int mark_row(struct batch *b, size_t row, bool superseded)
{
    if (row >= b->superseded_cap) {
        size_t ncap = b->superseded_cap ? b->superseded_cap : 256;
        while (ncap <= row)
            ncap *= 2;
        bool *n = realloc(b->superseded, ncap * sizeof(*n));
        if (!n)
            return err_set(ML_ENOMEM, "out of memory tracking record keys");
        b->superseded = n;
        b->superseded_cap = ncap;
    }
    b->superseded[row] = superseded;
    return 0;
}

int batch_accept(struct batch *b, size_t row)
{
    size_t prev;
    b->accepted++;
    int rc = mark_row(b, row, false);
    if (!rc)
        rc = key_set_put(b, row, &prev);
    if (rc || prev == NO_OFFSET)
        return rc;
    b->superseded[prev] = true;
    b->duplicates++;
    b->accepted--;
    return 0;
}

int batch_drop(struct batch *b, const bool *drop_rows, const bool *drop_rejects)
{
    const unsigned nc = b->tables[BATCH_MAIN].def->ncols;
    size_t w = 0, dropped = 0;
    int rc = 0;
    if (b->def->nchildren)
        return err_set(ML_EINTERNAL, "stream '%s': batch_drop with child tables", b->def->name);
    for (size_t r = 0; drop_rows && r < b->tables[BATCH_MAIN].nrows; r++) {
        if (drop_rows[r]) {
            dropped++;
            continue;
        }
        if (w != r) {
            memmove(&b->tables[BATCH_MAIN].cells[w * nc], &b->tables[BATCH_MAIN].cells[r * nc],
                    nc * sizeof(struct cell));
            if (r < b->superseded_cap && w < b->superseded_cap)
                b->superseded[w] = b->superseded[r];
        }
        w++;
    }
    if (drop_rows) {
        b->accepted -= dropped;
        b->already_processed += dropped;
        b->tables[BATCH_MAIN].nrows = w;
        rc = key_set_rebuild(b); /* the key set pointed at old row numbers */
        if (rc)
            return rc;
    }
    w = 0;
    for (size_t i = 0; drop_rejects && i < b->nrejects; i++) {
        if (drop_rejects[i]) {
            b->already_processed++;
            continue;
        }
        b->rejects[w++] = b->rejects[i];
    }
    if (drop_rejects)
        b->nrejects = w;
    return 0;
}

const char *batch_claim_key(const struct batch_claim *c)
{
    return c->key ? c->key : c->num; /* num: inside the element, which qsort moves */
}

static int claim_cmp(const void *x, const void *y)
{
    const struct batch_claim *a = x, *b = y;
    int c = memcmp(batch_claim_key(a), batch_claim_key(b), a->len < b->len ? a->len : b->len);
    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    /* equal keys: rows before rejects, then in batch order (a stable order) */
    if (a->reject != b->reject)
        return a->reject ? 1 : -1;
    return a->index < b->index ? -1 : a->index > b->index;
}

int batch_claims(const struct batch *b, struct batch_claim **out, size_t *n)
{
    const struct table_rows *rows = &b->tables[BATCH_MAIN];
    size_t total = rows->nrows + b->nrejects, k = 0;
    struct batch_claim *cl = calloc(total ? total : 1, sizeof(*cl));
    *out = NULL;
    *n = 0;
    if (!cl)
        return err_set(ML_ENOMEM, "out of memory claiming records");
    for (size_t r = 0; r < rows->nrows; r++) {
        const struct cell *c = &rows->cells[r * rows->def->ncols];
        struct batch_claim *x = &cl[k];
        if (c->kind == CELL_TEXT) {
            x->key = batch_text(b, c);
            x->len = c->len;
        } else if (c->kind == CELL_INT) {
            snprintf(x->num, sizeof(x->num), "%lld", c->i);
            x->len = strlen(x->num);
        } else {
            continue;
        }
        x->index = r;
        k++;
    }
    for (size_t i = 0; i < b->nrejects; i++) {
        const char *key = batch_rej_text(b, batch_reject(b, i)->record_key);
        if (!key)
            continue;
        cl[k].key = key;
        cl[k].len = strlen(key);
        cl[k].reject = true;
        cl[k].index = i;
        k++;
    }
    qsort(cl, k, sizeof(*cl), claim_cmp);
    *out = cl;
    *n = k;
    return 0;
}

int batch_drop_claims(struct batch *b, const struct batch_claim *cl, size_t n, const bool *dropped,
                      size_t *ndropped)
{
    size_t nrows = b->tables[BATCH_MAIN].nrows, count = 0;
    bool *drop_rows = calloc(nrows ? nrows : 1, sizeof(bool));
    bool *drop_rej = calloc(b->nrejects ? b->nrejects : 1, sizeof(bool));
    int rc = 0;
    *ndropped = 0;
    if (!drop_rows || !drop_rej) {
        rc = err_set(ML_ENOMEM, "out of memory dropping processed records");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!dropped[i])
            continue;
        if (cl[i].reject)
            drop_rej[cl[i].index] = true;
        else
            drop_rows[cl[i].index] = true;
        count++;
    }
    if (count)
        rc = batch_drop(b, drop_rows, drop_rej);
    if (!rc)
        *ndropped = count;
out:
    free(drop_rows);
    free(drop_rej);
    return rc;
}

/* Drops the rows of child `child` whose record's main row is superseded,
 * with their counts (the counts are the main rows', one to one). */
static void compact_child(struct batch *b, unsigned child)
{
    struct table_rows *t = &b->tables[BATCH_CHILD(child)];
    struct child_counts *cc = &b->children[child];
    const unsigned nc = t->def->ncols;
    size_t w = 0, cw = 0, cr = 0;
    for (size_t r = 0; r < cc->n; r++) {
        size_t nchild = cc->counts[r].count;
        if (!(r < b->superseded_cap && b->superseded[r])) {
            if (cw != cr && nchild)
                memmove(&t->cells[cw * nc], &t->cells[cr * nc], nchild * nc * sizeof(struct cell));
            cw += nchild;
            cc->counts[w] = cc->counts[r];
            cc->ends[w] = cw;
            w++;
        }
        cr += nchild;
    }
    t->nrows = cw;
    cc->n = w;
}

int batch_compact(struct batch *b)
{
    struct table_rows *m = &b->tables[BATCH_MAIN];
    const unsigned nc = m->def->ncols;
    size_t w = 0;
    if (b->duplicates == 0)
        return 0;
    /* the child tables first: they read superseded[] by the old row numbers */
    for (unsigned i = 0; i < b->def->nchildren; i++)
        if (b->children[i].n == m->nrows)
            compact_child(b, i);
    for (size_t r = 0; r < m->nrows; r++) {
        if (r < b->superseded_cap && b->superseded[r])
            continue;
        if (w != r)
            memmove(&m->cells[w * nc], &m->cells[r * nc], nc * sizeof(struct cell));
        w++;
    }
    m->nrows = w;
    for (size_t r = 0; r < w && r < b->superseded_cap; r++)
        b->superseded[r] = false;
    return key_set_rebuild(b); /* the key set pointed at old row numbers */
}

/* Copies row `row` of table `table` of `from` as a new last row of the same
 * table of `to`, its texts into `to`'s arena. */
static int copy_row(struct batch *to, const struct batch *from, unsigned table, size_t row)
{
    const struct table_rows *src = &from->tables[table];
    const unsigned nc = src->def->ncols;
    size_t r;
    int rc = batch_add_row(to, table, &r);
    for (unsigned c = 0; !rc && c < nc; c++) {
        const struct cell *sc = &src->cells[row * nc + c];
        struct cell *dc = &to->tables[table].cells[r * nc + c];
        if (sc->kind == CELL_TEXT || sc->kind == CELL_PENDING)
            rc = batch_put_text(to, dc, sc->kind, from->arena.data + sc->off, sc->len);
        else
            *dc = *sc;
    }
    return rc;
}

int batch_split(struct batch *b, size_t from, struct batch *rest)
{
    const size_t nrows = b->tables[BATCH_MAIN].nrows;
    int rc = 0;
    if (rest->def != b->def || rest->records || rest->nrejects || rest->tables[BATCH_MAIN].nrows)
        return err_set(ML_EINVAL, "stream '%s': a batch split into a batch that is not empty",
                       b->def->name);
    if (from == 0 || from >= nrows)
        return err_set(ML_EINVAL, "stream '%s': cannot split a batch of %zu rows at row %zu",
                       b->def->name, nrows, from);
    for (size_t r = 0; r < nrows && r < b->superseded_cap; r++)
        if (b->superseded[r])
            return err_set(ML_EINVAL, "stream '%s': a batch split before its compaction",
                           b->def->name);
    for (unsigned i = 0; i < b->def->nchildren; i++)
        if (b->children[i].n != nrows)
            return err_set(ML_EINVAL,
                           "stream '%s': child table '%s' has no row count per record; the batch "
                           "cannot be split",
                           b->def->name, b->tables[BATCH_CHILD(i)].def->name);
    for (size_t r = from; !rc && r < nrows; r++) {
        rc = copy_row(rest, b, BATCH_MAIN, r);
        for (unsigned i = 0; !rc && i < b->def->nchildren; i++) {
            const struct child_counts *cc = &b->children[i];
            const size_t end = cc->ends[r], first = end - cc->counts[r].count;
            for (size_t k = first; !rc && k < end; k++)
                rc = copy_row(rest, b, BATCH_CHILD(i), k);
            if (!rc)
                rc = batch_add_child_count(rest, i, cc->counts[r].parent_key, cc->counts[r].count);
        }
        if (!rc) {
            rest->records++;
            rc = batch_accept(rest, rest->tables[BATCH_MAIN].nrows - 1);
        }
    }
    if (rc) {
        batch_reset(rest);
        return rc;
    }
    /* b gives up the moved rows; their arena bytes stay until its reset */
    b->tables[BATCH_MAIN].nrows = from;
    for (unsigned i = 0; i < b->def->nchildren; i++) {
        b->children[i].n = from;
        b->tables[BATCH_CHILD(i)].nrows = b->children[i].ends[from - 1];
    }
    b->records -= nrows - from;
    b->accepted -= nrows - from;
    return key_set_rebuild(b);
}

/* a text cell that may be written out: valid UTF-8, no NUL byte */
static bool printable_text(const struct batch *b, const struct cell *c)
{
    const char *s = b->arena.data + c->off;
    return c->kind == CELL_TEXT && !memchr(s, '\0', c->len) && convert_utf8_valid(s, c->len, NULL);
}

int batch_reject_only_record(struct batch *b, const char *source_ref, const char *reason)
{
    struct table_rows *m = &b->tables[BATCH_MAIN];
    const struct table_def *def = m->def;
    struct buf key = BUF_INIT, payload = BUF_INIT;
    bool has_key = false;
    int rc = 0;
    if (m->nrows != 1 || b->accepted != 1 || (b->superseded_cap && b->superseded[0]))
        return err_set(ML_EINVAL, "stream '%s': a batch of %zu rows is not one record to reject",
                       b->def->name, m->nrows);
    {
        const struct cell *k = &m->cells[0];
        if (k->kind == CELL_INT) {
            rc = buf_add_int(&key, k->i);
            has_key = true;
        } else if (printable_text(b, k) && k->len <= 255) {
            rc = buf_add(&key, b->arena.data + k->off, k->len);
            has_key = true;
        }
    }
    if (!rc)
        rc = buf_addc(&payload, '{');
    for (unsigned c = 0; !rc && c < def->ncols; c++) {
        const struct cell *cell = &m->cells[c];
        if (c)
            rc = buf_addc(&payload, ',');
        if (!rc)
            rc = json_quote(&payload, def->cols[c].name);
        if (!rc)
            rc = buf_addc(&payload, ':');
        if (rc)
            break;
        if (cell->kind == CELL_INT)
            rc = buf_add_int(&payload, cell->i);
        else if (printable_text(b, cell))
            rc = json_quote_len(&payload, b->arena.data + cell->off, cell->len);
        else
            rc = buf_adds(&payload, "null");
    }
    if (!rc)
        rc = buf_addc(&payload, '}');
    if (!rc)
        rc = batch_add_reject(b, source_ref, reason, has_key ? key.data : NULL, payload.data);
    buf_wipe(&key);
    buf_wipe(&payload);
    if (rc)
        return rc;
    /* its arena bytes stay until the batch's reset */
    m->nrows = 0;
    for (unsigned i = 0; i < b->def->nchildren; i++) {
        b->children[i].n = 0;
        b->tables[BATCH_CHILD(i)].nrows = 0;
    }
    b->accepted--;
    return key_set_rebuild(b);
}

int batch_resolve_surrogates(struct batch *b, struct table_rows *t,
                             int (*resolve)(void *arg, const char *kind, const char *const *values,
                                            const size_t *lens, size_t n, unsigned long long *ids,
                                            unsigned long long *created),
                             void *arg, unsigned long long *created)
{
    const char **values = NULL;
    size_t *lens = NULL;
    unsigned long long *ids = NULL;
    struct cell **cells = NULL;
    int rc = 0;
    if (!t->def || t->nrows == 0)
        return 0;
    values = malloc(t->nrows * sizeof(*values));
    lens = malloc(t->nrows * sizeof(*lens));
    ids = malloc(t->nrows * sizeof(*ids));
    cells = malloc(t->nrows * sizeof(*cells));
    if (!values || !lens || !ids || !cells)
        rc = err_set(ML_ENOMEM, "out of memory resolving surrogates");
    for (unsigned col = 0; !rc && col < t->def->ncols; col++) {
        const struct column_def *cd = &t->def->cols[col];
        size_t n = 0;
        if (cd->type != COL_SURROGATE)
            continue;
        for (size_t r = 0; r < t->nrows; r++) {
            struct cell *c = batch_cell(t, r, col);
            if (c->kind != CELL_PENDING)
                continue;
            values[n] = batch_text(b, c);
            lens[n] = c->len;
            cells[n++] = c;
        }
        rc = resolve(arg, cd->kind, values, lens, n, ids, created);
        for (size_t i = 0; !rc && i < n; i++) {
            cells[i]->kind = CELL_INT;
            cells[i]->i = (long long)ids[i];
        }
    }
    free(values);
    free(lens);
    free(ids);
    free(cells);
    return rc;
}
