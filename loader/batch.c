#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "banned.h"

#define NO_OFFSET ((size_t)-1)

struct batch {
    const struct stream_def *def;
    struct table_rows main, child;
    struct child_count *children;
    size_t nchildren, children_cap;
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
    b->main.def = def->table;
    b->child.def = def->child ? def->child->table : NULL;
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
    b->main.nrows = 0;
    b->child.nrows = 0;
    b->nchildren = 0;
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
    free(b->main.cells);
    free(b->child.cells);
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

struct table_rows *batch_rows(struct batch *b, enum batch_table which)
{
    return which == BATCH_CHILD ? &b->child : &b->main;
}

const struct reject *batch_reject(const struct batch *b, size_t i)
{
    return &b->rejects[i];
}

const struct child_count *batch_children(const struct batch *b, size_t *n)
{
    *n = b->nchildren;
    return b->nchildren ? b->children : NULL;
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

int batch_add_row(struct batch *b, enum batch_table which, size_t *row)
{
    struct table_rows *t = batch_rows(b, which);
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
    struct batch_mark m = {b->arena.len, b->main.nrows, b->child.nrows, b->nchildren,
                           b->invalid_nulled};
    return m;
}

void batch_undo(struct batch *b, struct batch_mark m)
{
    b->invalid_nulled = m.invalid_nulled;
    b->main.nrows = m.main_rows;
    b->child.nrows = m.child_rows;
    b->nchildren = m.children;
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

int batch_add_child_count(struct batch *b, long long parent_key, unsigned count)
{
    struct child_count *n =
        room_for_one(b->children, b->nchildren, &b->children_cap, sizeof(*n), 256);
    if (!n)
        return err_set(ML_ENOMEM, "out of memory");
    b->children = n;
    b->children[b->nchildren].parent_key = parent_key;
    b->children[b->nchildren].count = count;
    b->nchildren++;
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
    const struct table_def *t = b->main.def;
    size_t h = 1469598103934665603u;
    for (unsigned k = 0; k < t->nkey; k++) {
        const struct cell *c = &b->main.cells[row * t->ncols + k];
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
    const struct table_def *t = b->main.def;
    for (unsigned k = 0; k < t->nkey; k++) {
        const struct cell *x = &b->main.cells[r1 * t->ncols + k];
        const struct cell *y = &b->main.cells[r2 * t->ncols + k];
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
    for (size_t r = 0; r < b->main.nrows; r++) {
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
    const unsigned nc = b->main.def->ncols;
    size_t w = 0, dropped = 0;
    int rc = 0;
    if (b->def->child)
        return err_set(ML_EINTERNAL, "stream '%s': batch_drop with a child table", b->def->name);
    for (size_t r = 0; drop_rows && r < b->main.nrows; r++) {
        if (drop_rows[r]) {
            dropped++;
            continue;
        }
        if (w != r) {
            memmove(&b->main.cells[w * nc], &b->main.cells[r * nc], nc * sizeof(struct cell));
            if (r < b->superseded_cap && w < b->superseded_cap)
                b->superseded[w] = b->superseded[r];
        }
        w++;
    }
    if (drop_rows) {
        b->accepted -= dropped;
        b->already_processed += dropped;
        b->main.nrows = w;
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

int batch_compact(struct batch *b)
{
    const unsigned nc = b->main.def->ncols;
    const unsigned ncc = b->child.def ? b->child.def->ncols : 0;
    const bool with_children = b->def->child && b->nchildren == b->main.nrows;
    size_t w = 0, cw = 0, cr = 0;
    if (b->duplicates == 0)
        return 0;
    for (size_t r = 0; r < b->main.nrows; r++) {
        size_t nchild = with_children ? b->children[r].count : 0;
        bool keep = !(r < b->superseded_cap && b->superseded[r]);
        if (keep) {
            if (w != r)
                memmove(&b->main.cells[w * nc], &b->main.cells[r * nc], nc * sizeof(struct cell));
            if (with_children) {
                if (cw != cr && nchild)
                    memmove(&b->child.cells[cw * ncc], &b->child.cells[cr * ncc],
                            nchild * ncc * sizeof(struct cell));
                b->children[w] = b->children[r];
                cw += nchild;
            }
            w++;
        }
        cr += nchild;
    }
    b->main.nrows = w;
    if (with_children) {
        b->child.nrows = cw;
        b->nchildren = w;
    }
    for (size_t r = 0; r < w && r < b->superseded_cap; r++)
        b->superseded[r] = false;
    return key_set_rebuild(b); /* the key set pointed at old row numbers */
}
