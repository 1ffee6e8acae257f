#include "mapping.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "reject.h"
#include "banned.h"

/* An unknown field's name is cut once this many bytes are shown (mapping.h);
 * one escape ("\xNN") may follow the last byte. */
#define UNKNOWN_NAME_SHOWN 64
#define UNKNOWN_NAME_BUF   (UNKNOWN_NAME_SHOWN + 4 + 1)

const struct stream_def *mapping_find(const char *name)
{
    return streamdef_builtin(name);
}

/* ---- fields of a record ---- */

/* Member `key[0..n)` of object `obj`: the last of duplicate keys, as
 * json_get finds it, without copying the key out of the path. */
static const json_node *member(const json_node *obj, const char *key, size_t n)
{
    const json_node *found = NULL;
    for (const json_node *m = json_child(obj); m; m = json_next(m)) {
        const char *k = json_key(m);
        /* the first byte first: most members differ there, and this runs
         * for every field of every record */
        if (k && (n == 0 || k[0] == key[0]) && strncmp(k, key, n) == 0 && k[n] == '\0')
            found = m;
    }
    return found;
}

/* Resolves a dotted path; *out is NULL when a part is absent or an
 * intermediate is null. An intermediate that exists but is not an object
 * is a record error. */
static int lookup(const json_node *rec, const char *path, const json_node **out)
{
    const char *p = path;
    const json_node *cur = rec;
    *out = NULL;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (json_type(cur) != JSON_OBJECT) {
            return err_set(ML_ERECORD, "field '%.*s' must be an object, got %s",
                           (int)(p - path - 1), path, json_type_name(json_type(cur)));
        }
        cur = member(cur, p, n);
        if (!cur)
            return 0;
        p += n;
        if (*p == '.')
            p++;
        if (*p && json_type(cur) == JSON_NULL)
            return 0;
    }
    *out = cur;
    return 0;
}

static int map_fields(struct batch *b, const struct field_spec *fields, unsigned nfields,
                      unsigned table, size_t row, const json_node *rec,
                      const struct map_options *opt)
{
    struct table_rows *rows = batch_rows(b, table);
    const struct table_def *tdef = rows->def;
    for (unsigned i = 0; i < nfields; i++) {
        const struct field_spec *f = &fields[i];
        const json_node *v;
        int rc = lookup(rec, f->path, &v);
        if (rc)
            return rc;
        if (!f->column)
            continue;
        if (f->col < 0 || (unsigned)f->col >= tdef->ncols)
            return err_set(ML_EINTERNAL, "mapping names unknown column '%s'", f->column);
        struct cell *c = batch_cell(rows, row, (unsigned)f->col);
        struct batch_mark mark = batch_mark(b);
        rc = mapvalue_convert(b, f, &tdef->cols[f->col], v, c, opt);
        if (rc == ML_ERECORD && f->invalid_null) {
            /* on_invalid: null: the value is dropped, the record kept */
            batch_undo(b, mark);
            c->kind = CELL_NULL;
            batch_count(b, BATCH_INVALID_NULLED);
            err_clear();
            continue;
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* The rows of child `ci` from its array in `rec`, and their count. */
static int map_children(struct batch *b, unsigned ci, const json_node *rec, long long key,
                        const struct map_options *opt)
{
    const struct child_def *cd = &batch_def(b)->children[ci];
    const json_node *arr;
    unsigned pos = 0;
    int rc = lookup(rec, cd->path, &arr);
    if (rc)
        return rc;
    if (arr && json_type(arr) != JSON_ARRAY && json_type(arr) != JSON_NULL)
        return err_set(ML_ERECORD, "field '%s' must be an array, got %s", cd->path,
                       json_type_name(json_type(arr)));
    for (const json_node *e = json_child(arr); e; e = json_next(e), pos++) {
        size_t row;
        /* the position is a SMALLINT UNSIGNED column */
        if (pos > 65535)
            return err_set(ML_ERECORD, "field '%s' has more than 65536 elements", cd->path);
        if (json_type(e) != JSON_OBJECT)
            return err_set(ML_ERECORD, "element %u of '%s' must be an object, got %s", pos,
                           cd->path, json_type_name(json_type(e)));
        rc = batch_add_row(b, BATCH_CHILD(ci), &row);
        if (rc)
            return rc;
        struct table_rows *child = batch_rows(b, BATCH_CHILD(ci));
        struct cell *c0 = batch_cell(child, row, 0), *c1 = batch_cell(child, row, 1);
        c0->kind = CELL_INT;
        c0->i = key;
        c1->kind = CELL_INT;
        c1->i = pos;
        rc = map_fields(b, cd->fields, cd->nfields, BATCH_CHILD(ci), row, e, opt);
        if (rc) {
            if (rc == ML_ERECORD)
                err_prefix(rc, "element %u of '%s'", pos, cd->path);
            return rc;
        }
    }
    return batch_add_child_count(b, ci, key, pos);
}

/* ---- fields outside the mapping: accepted, never stored, names noted ---- */

/* One record's check for unknown fields. */
struct unknown_scan {
    struct batch *b;
    struct buf path;         /* the dotted path of the member being checked */
    const char *shown_under; /* names are shown under "<shown_under>[]." (a
                                child array's elements); NULL: at the top */
    char *first;             /* [UNKNOWN_NAME_BUF]: the first unknown field's name
                                (printable ASCII), "" when none yet */
};

/* Notes the unknown field at s->path: its name goes to the batch (one
 * warning per stream), the first one of the record to s->first (for a
 * reject reason). */
static void note_unknown_name(struct unknown_scan *s)
{
    const char *parts[3] = {s->shown_under ? s->shown_under : "", s->shown_under ? "[]." : "",
                            s->path.data};
    char name[UNKNOWN_NAME_BUF];
    size_t o = 0;
    for (size_t i = 0; i < 3; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p && o < UNKNOWN_NAME_SHOWN;
             p++) {
            if (*p < 0x20 || *p == 0x7f || *p == ',')
                o += (size_t)snprintf(name + o, sizeof(name) - o, "\\x%02x", *p);
            else
                name[o++] = (char)*p;
        }
    }
    name[o] = '\0';
    if (!s->first[0]) {
        /* for a reject reason (unknown_fields: reject): printable ASCII only */
        size_t k = 0;
        for (; name[k]; k++) {
            unsigned char ch = (unsigned char)name[k];
            s->first[k] = (isalnum(ch) || strchr("_.-[]", ch)) ? (char)ch : '?';
        }
        s->first[k] = '\0';
    }
    batch_note_unknown_name(s->b, name);
}

/* True when `full` is a field path (or a child's path), or *prefix when it
 * starts a longer one ("profile" of "profile.gender"). */
static bool path_known(const struct field_spec *fields, unsigned nfields,
                       const struct child_def *children, unsigned nchildren, const char *full,
                       bool *prefix)
{
    size_t n = strlen(full);
    *prefix = false;
    for (unsigned i = 0; i < nchildren; i++) {
        if (strcmp(children[i].path, full) == 0)
            return true;
        if (strncmp(children[i].path, full, n) == 0 && children[i].path[n] == '.')
            *prefix = true;
    }
    for (unsigned i = 0; i < nfields; i++) {
        if (strcmp(fields[i].path, full) == 0)
            return true;
        if (strncmp(fields[i].path, full, n) == 0 && fields[i].path[n] == '.')
            *prefix = true;
    }
    return false;
}

/* Checks the members of `obj`, whose dotted path is s->path ("" or
 * "profile."; restored on return), against the field paths and the paths
 * of `children` (the record's top: a child's elements pass none); true when
 * one is unknown. *rc gets ML_ENOMEM when the path cannot be built. */
static bool check_members(struct unknown_scan *s, const json_node *obj,
                          const struct field_spec *fields, unsigned nfields,
                          const struct child_def *children, unsigned nchildren, int *rc)
{
    const size_t base = s->path.len;
    bool unknown = false;
    for (const json_node *m = json_child(obj); m && !*rc; m = json_next(m)) {
        bool pre;
        const char *key = json_key(m);
        buf_truncate(&s->path, base);
        if (!key)
            continue;
        *rc = buf_adds(&s->path, key);
        if (*rc)
            break;
        if (path_known(fields, nfields, children, nchildren, s->path.data, &pre))
            continue;
        if (pre) {
            if (json_type(m) == JSON_OBJECT) {
                *rc = buf_addc(&s->path, '.');
                if (!*rc)
                    unknown |= check_members(s, m, fields, nfields, children, nchildren, rc);
            }
            continue; /* a wrong type is the mapping's business (reject) */
        }
        note_unknown_name(s);
        unknown = true;
    }
    buf_truncate(&s->path, base);
    return unknown;
}

/* Appends the key structure of `n`: '{' key NUL <value> ... '}' for objects,
 * '[' <element> ... ']' for arrays, nothing for scalars. Two records with the
 * same structure have the same unknown fields (the check below looks only at
 * keys and at which values are objects or arrays). Records nested deeper
 * than 8 levels get no structure (ML_ERECORD): they are always checked in
 * full. */
static int append_shape(struct buf *out, const json_node *n, unsigned depth)
{
    enum json_type t = json_type(n);
    int rc = 0;
    if (t != JSON_OBJECT && t != JSON_ARRAY)
        return 0;
    if (depth > 8)
        return err_set(ML_ERECORD, "too deep"); /* no fast path: full check */
    rc = buf_addc(out, t == JSON_OBJECT ? '{' : '[');
    for (const json_node *m = json_child(n); !rc && m; m = json_next(m)) {
        const char *key = json_key(m);
        if (t == JSON_OBJECT && key)
            rc = buf_add(out, key, strlen(key) + 1);
        if (!rc)
            rc = append_shape(out, m, depth + 1);
    }
    return rc ? rc : buf_addc(out, t == JSON_OBJECT ? '}' : ']');
}

/* Notes the unknown fields of `rec` (counting the record when it has any)
 * into *unknown, the first one's name into first[UNKNOWN_NAME_BUF]. 0 or
 * ML_ENOMEM. */
static int note_unknown_fields(struct batch *b, const json_node *rec, bool *unknown, char *first)
{
    const struct stream_def *d = batch_def(b);
    struct buf *shape = batch_work(b, BATCH_WORK_SHAPE);
    struct buf *known = batch_work(b, BATCH_WORK_KNOWN_SHAPE);
    struct unknown_scan s = {.b = b, .path = BUF_INIT, .first = first};
    int rc = 0;
    /* Fast path: records of one source nearly always share one structure;
     * a record shaped like the last one without unknown fields has none. */
    buf_reset(shape);
    first[0] = '\0';
    *unknown = false;
    bool shaped = append_shape(shape, rec, 0) == 0;
    if (shaped && shape->len == known->len && shape->len &&
        memcmp(shape->data, known->data, shape->len) == 0)
        return 0;
    *unknown = check_members(&s, rec, d->fields, d->nfields, d->children, d->nchildren, &rc);
    for (unsigned i = 0; !rc && i < d->nchildren; i++) {
        const struct child_def *cd = &d->children[i];
        const json_node *arr = json_path(rec, cd->path);
        s.shown_under = cd->path;
        for (const json_node *e = json_child(arr); !rc && e && json_type(arr) == JSON_ARRAY;
             e = json_next(e))
            if (json_type(e) == JSON_OBJECT)
                *unknown |= check_members(&s, e, cd->fields, cd->nfields, NULL, 0, &rc);
    }
    buf_release(&s.path);
    if (rc)
        return rc;
    if (*unknown) {
        batch_count(b, BATCH_UNKNOWN_RECORDS);
    } else if (shaped) {
        buf_reset(known);
        if (buf_add(known, shape->data, shape->len))
            buf_reset(known);
    }
    return 0;
}

/* ---- one record ---- */

static int map_record(struct batch *b, const json_node *rec, const struct map_options *opt,
                      struct record_pos pos)
{
    const struct stream_def *def = batch_def(b);
    struct batch_mark mark = batch_mark(b);
    char first_unknown[UNKNOWN_NAME_BUF];
    bool unknown;
    size_t row;
    int rc;
    batch_count(b, BATCH_RECORDS);
    if (json_type(rec) != JSON_OBJECT)
        return reject_add(b, rec, pos, "record must be a JSON object, got %s",
                          json_type_name(json_type(rec)));
    rc = note_unknown_fields(b, rec, &unknown, first_unknown);
    if (rc)
        return rc;
    if (unknown && def->unknown_reject)
        return reject_add(b, rec, pos, "field '%s' is not in the mapping (unknown_fields: reject)",
                          first_unknown[0] ? first_unknown : "?");
    rc = batch_add_row(b, BATCH_MAIN, &row);
    if (rc)
        return rc;
    rc = map_fields(b, def->fields, def->nfields, BATCH_MAIN, row, rec, opt);
    for (unsigned i = 0; !rc && i < def->nchildren; i++)
        rc = map_children(b, i, rec, batch_cell(batch_rows(b, BATCH_MAIN), row, 0)->i, opt);
    if (rc == 0)
        return batch_accept(b, row);
    batch_undo(b, mark); /* the partial record, its PII wiped */
    if (rc != ML_ERECORD)
        return rc;
    return reject_add(b, rec, pos, "%s", err_msg());
}

int mapping_map_record(struct batch *b, const json_node *rec, const struct map_options *opt,
                       const char *source_ref)
{
    struct record_pos pos = {source_ref, RECORD_NO_INDEX, 0};
    return map_record(b, rec, opt, pos);
}

int mapping_map_record_at(struct batch *b, const json_node *rec, const struct map_options *opt,
                          const char *page_ref, size_t index, unsigned long line)
{
    struct record_pos pos = {page_ref, index, line};
    return map_record(b, rec, opt, pos);
}

int mapping_reject_unparsed(struct batch *b, const char *reason, const char *page_ref, size_t index,
                            unsigned long line)
{
    struct record_pos pos = {page_ref, index, line};
    batch_count(b, BATCH_RECORDS);
    return reject_add(b, NULL, pos, "record is not valid JSON: %s", reason);
}
