#include "reject.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "convert.h"
#include "mapvalue.h"
#include "banned.h"

/* load_rejects.record_key is VARCHAR(255): a longer key is not recorded. */
#define RECORD_KEY_MAX 255

/* 2 when `path` is a kept field, 1 when it is a prefix of one ("profile"
 * of "profile.gender") or of a child's path, else 0. */
static int kept_state(const struct field_spec *fields, unsigned nfields,
                      const struct child_def *children, unsigned nchildren, const char *path)
{
    size_t n = strlen(path);
    int st = 0;
    for (unsigned i = 0; i < nchildren; i++)
        if (strncmp(children[i].path, path, n) == 0 && children[i].path[n] == '.')
            st = 1;
    for (unsigned i = 0; i < nfields; i++) {
        if (fields[i].action != PII_KEEP)
            continue;
        if (strcmp(fields[i].path, path) == 0)
            return 2;
        if (strncmp(fields[i].path, path, n) == 0 && fields[i].path[n] == '.')
            st = 1;
    }
    return st;
}

/* The child of `children` whose array is at `path`, or NULL. */
static const struct child_def *child_at(const struct child_def *children, unsigned nchildren,
                                        const char *path)
{
    for (unsigned i = 0; i < nchildren; i++)
        if (strcmp(children[i].path, path) == 0)
            return &children[i];
    return NULL;
}

/* Writes the kept fields of object `obj`, whose dotted path is `path` (""
 * or "profile."; restored on return), as a JSON object (reject.h). The
 * arrays of `children` (the record's; a child's elements pass none) are
 * written element by element with their child's kept fields. */
static int write_kept(struct buf *out, const json_node *obj, struct buf *path,
                      const struct field_spec *fields, unsigned nfields,
                      const struct child_def *children, unsigned nchildren)
{
    const size_t base = path->len;
    int rc = buf_addc(out, '{');
    bool first = true;
    for (const json_node *m = json_child(obj); !rc && m; m = json_next(m)) {
        const char *key = json_key(m);
        enum json_type t = json_type(m);
        size_t mark = out->len;
        buf_truncate(path, base);
        if (!key || json_get(obj, key) != m)
            continue;
        rc = buf_adds(path, key);
        if (!rc)
            rc = buf_adds(out, first ? "" : ",");
        if (!rc)
            rc = json_quote(out, key);
        if (!rc)
            rc = buf_addc(out, ':');
        if (rc)
            break;
        size_t value_at = out->len;
        const struct child_def *child = child_at(children, nchildren, path->data);
        if (child && t == JSON_ARRAY) {
            struct buf elem_path = BUF_INIT;
            rc = buf_addc(out, '[');
            for (const json_node *e = json_child(m); !rc && e; e = json_next(e)) {
                if (e != json_child(m))
                    rc = buf_addc(out, ',');
                if (!rc && json_type(e) == JSON_OBJECT)
                    rc = write_kept(out, e, &elem_path, child->fields, child->nfields, NULL, 0);
                else if (!rc)
                    rc = buf_adds(out, "{}");
            }
            buf_release(&elem_path);
            if (!rc)
                rc = buf_addc(out, ']');
        } else {
            int st = kept_state(fields, nfields, children, nchildren, path->data);
            size_t slen;
            const char *str = json_string_len(m, &slen);
            if (st == 2 && t != JSON_OBJECT && t != JSON_ARRAY &&
                (t != JSON_STRING || (str && convert_utf8_valid(str, slen, NULL)))) {
                rc = json_print(m, out);
            } else if (st == 1 && t == JSON_OBJECT) {
                rc = buf_addc(path, '.');
                if (!rc)
                    rc = write_kept(out, m, path, fields, nfields, children, nchildren);
                if (!rc && out->len == value_at + 2)
                    buf_truncate(out, mark); /* nothing kept inside */
            } else {
                buf_truncate(out, mark); /* not kept: not written */
            }
        }
        if (out->len > mark)
            first = false;
    }
    buf_truncate(path, base);
    return rc ? rc : buf_addc(out, '}');
}

static int build_payload(const struct stream_def *def, const json_node *rec, struct buf *out)
{
    struct buf path = BUF_INIT;
    int rc;
    if (json_type(rec) != JSON_OBJECT)
        return buf_adds(out, "{}");
    rc = write_kept(out, rec, &path, def->fields, def->nfields, def->children, def->nchildren);
    buf_release(&path);
    return rc;
}

/* The record's key as text, or NULL (reject.h). json_path: a key that
 * cannot be reached is simply unknown, never an error. */
static const char *record_key(const struct stream_def *def, const json_node *rec)
{
    size_t kl;
    const char *ks;
    if (json_type(rec) != JSON_OBJECT)
        return NULL;
    ks = mapvalue_scalar_text(json_path(rec, def->key_path), &kl);
    /* a key holding a NUL byte is not recorded: record_key is text */
    if (!ks || kl > RECORD_KEY_MAX || memchr(ks, '\0', kl) || !convert_utf8_valid(ks, kl, NULL))
        return NULL;
    return ks;
}

int reject_add(struct batch *b, const json_node *rec, struct record_pos pos, const char *fmt, ...)
{
    const struct stream_def *def = batch_def(b);
    struct buf reason = BUF_INIT, ref = BUF_INIT, payload = BUF_INIT;
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = buf_vaddf(&reason, fmt, ap); /* first: it may quote err_msg() */
    va_end(ap);
    if (!rc)
        rc = pos.line                       ? buf_addf(&ref, "%s:%lu", pos.ref, pos.line)
             : pos.index == RECORD_NO_INDEX ? buf_adds(&ref, pos.ref)
                                            : buf_addf(&ref, "%s#%zu", pos.ref, pos.index);
    if (!rc)
        rc = build_payload(def, rec, &payload);
    if (!rc)
        rc = batch_add_reject(b, ref.data, reason.data, record_key(def, rec), payload.data);
    buf_release(&reason);
    buf_release(&ref);
    buf_release(&payload);
    return rc;
}
