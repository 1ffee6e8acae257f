/* config.c - maskload's YAML configuration; the only module that sees libyaml.
 *
 * The file is composed into a libyaml document, then walked by a fixed schema
 * (one function per section), so aliases and deep nesting cannot make the walk
 * unbounded. Every mapping is checked for non-scalar and duplicate keys, and
 * every key against the section's list before any value is used.
 *
 * Values shown in messages: names, integers and enum words are echoed
 * (escaped, cut at the first space or control character and at 64 bytes);
 * secrets, URLs and anything that came from a ${VAR} substitution are never
 * echoed. Keys are echoed up to their first character outside
 * [A-Za-z0-9_.-], and not at all when they have no value: a mistyped flow
 * mapping (`{ password S3cret }`) can turn a secret into a key. Secrets are
 * built in buffers that are wiped, and the libyaml document's scalars and
 * input buffers are wiped before they are freed.
 *
 * A YAML null (`key:`, `key: ~`, `key: null`) where a section mapping is
 * expected counts as an empty section; where a scalar value is expected it is
 * an error ("missing value for ..."). Quote the value to get the text "null".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "buf.h"
#include "config_int.h"
#include "error.h"
#include "log.h"
#include "sqlfiles.h"
#include "streamdef.h"
#include "banned.h"

/* ---- messages ---------------------------------------------------------- */

/* Records "<file>:<line>:<col>: <text>" for `node` (1:1 when NULL) and
 * returns ML_ECONFIG. */
int cfg_error(struct parse *p, const yaml_node_t *node, const char *fmt, ...)
{
    char text[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    unsigned long line = node ? (unsigned long)node->start_mark.line + 1 : 1;
    unsigned long col = node ? (unsigned long)node->start_mark.column + 1 : 1;
    return err_set(ML_ECONFIG, "%s:%lu:%lu: %s", p->name, line, col, text);
}

/* Appends s to dst[*o..cap), truncating; dst stays NUL-terminated. */
static void append_cut(char *dst, size_t cap, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - 1 - *o)
        n = cap - 1 - *o;
    memcpy(dst + *o, s, n);
    *o += n;
    dst[*o] = '\0';
}

/* Writes at most SHOW_MAX bytes of `s` into dst (SHOW_BUF bytes), stopping
 * at the first space or control character (a folded multi-line scalar may
 * have swallowed the next line, secret and all): printable ASCII as is,
 * other bytes as \xNN, "..." when cut. Returns dst. */
static const char *escape(char *dst, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t n = len < SHOW_MAX ? len : SHOW_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f) {
            n = i;
            break;
        }
        if (c < 0x7f && c != '\\') {
            dst[o++] = (char)c;
        } else {
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (n < len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
    return dst;
}

/* How a value is named in a message: "'abc'" (escaped), or a neutral phrase
 * when it came from the environment, which may hold a secret by mistake. */
const char *cfg_show(char *dst, const struct scalar *v)
{
    char tmp[SHOW_BUF];
    size_t o = 0;
    dst[0] = '\0';
    if (v->subst) {
        append_cut(dst, SHOW_BUF, &o, "the value from the environment");
        return dst;
    }
    append_cut(dst, SHOW_BUF, &o, "'");
    append_cut(dst, SHOW_BUF, &o, escape(tmp, v->s, v->len));
    append_cut(dst, SHOW_BUF, &o, "'");
    return dst;
}

/* "at top level" or "in '<path>'". */
const char *cfg_where(char *dst, size_t cap, const char *path)
{
    size_t o = 0;
    dst[0] = '\0';
    if (!path[0]) {
        append_cut(dst, cap, &o, "at top level");
        return dst;
    }
    append_cut(dst, cap, &o, "in '");
    append_cut(dst, cap, &o, path);
    append_cut(dst, cap, &o, "'");
    return dst;
}

/* "<path>.<key>", or "<key>" at top level; truncated to cap (> 0). */
const char *cfg_join(char *dst, size_t cap, const char *path, const char *key)
{
    size_t o = 0;
    dst[0] = '\0';
    if (path[0]) {
        append_cut(dst, cap, &o, path);
        append_cut(dst, cap, &o, ".");
    }
    append_cut(dst, cap, &o, key);
    return dst;
}

const char *cfg_node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a sequence";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

int cfg_nomem(void)
{
    return err_set(ML_ENOMEM, "out of memory reading the configuration");
}

/* ---- nodes ------------------------------------------------------------- */

yaml_node_t *cfg_node_at(struct parse *p, int index)
{
    return yaml_document_get_node(p->doc, index);
}

int cfg_scalar_is(const yaml_node_t *n, const char *s)
{
    size_t len = strlen(s);
    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
           memcmp(n->data.scalar.value, s, len) == 0;
}

/* A plain (unquoted) YAML null: empty, ~, null, Null, NULL. */
int cfg_is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return n->data.scalar.length == 0 || cfg_scalar_is(n, "~") || cfg_scalar_is(n, "null") ||
           cfg_scalar_is(n, "Null") || cfg_scalar_is(n, "NULL");
}

static int same_scalar(const yaml_node_t *a, const yaml_node_t *b)
{
    return a->data.scalar.length == b->data.scalar.length &&
           memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0;
}

/* A key for a message: only its leading [A-Za-z0-9_.-] characters, then
 * "..." if there was more. A flow-style typo such as `{ password S3cret }`
 * makes the secret part of a key, so the rest of a key is never echoed. */
const char *cfg_key_show(char *dst, const yaml_node_t *k)
{
    const char *s = (const char *)k->data.scalar.value;
    size_t len = k->data.scalar.length;
    size_t n = 0;
    while (n < len && n < SHOW_MAX &&
           ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
            (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '.' || s[n] == '-'))
        n++;
    memcpy(dst, s, n);
    if (n < len) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
    return dst;
}

/* Checks that `node` is a mapping (a YAML null counts as an empty one) whose
 * keys are scalars, none repeated. `path` names it in messages. */
int cfg_map_check(struct parse *p, yaml_node_t *node, const char *path)
{
    char w[KEYPATH_BUF], tmp[SHOW_BUF];
    if (cfg_is_null(node))
        return 0;
    if (node->type != YAML_MAPPING_NODE) {
        if (path[0])
            return cfg_error(p, node, "expected a mapping for '%s', got %s", path,
                             cfg_node_kind(node));
        return cfg_error(p, node, "expected a mapping at top level, got %s", cfg_node_kind(node));
    }
    yaml_node_pair_t *start = node->data.mapping.pairs.start;
    yaml_node_pair_t *top = node->data.mapping.pairs.top;
    for (yaml_node_pair_t *pair = start; pair < top; pair++) {
        yaml_node_t *k = cfg_node_at(p, pair->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            return cfg_error(p, k ? k : node, "expected a scalar key %s, got %s",
                             cfg_where(w, sizeof(w), path), k ? cfg_node_kind(k) : "nothing");
        for (yaml_node_pair_t *prev = start; prev < pair; prev++) {
            if (same_scalar(cfg_node_at(p, prev->key), k))
                return cfg_error(p, k, "duplicate key '%s' %s", cfg_key_show(tmp, k),
                                 cfg_where(w, sizeof(w), path));
        }
    }
    return 0;
}

size_t cfg_map_size(const yaml_node_t *node)
{
    if (node->type != YAML_MAPPING_NODE)
        return 0;
    return (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
}

/* Edit distance (insertions, deletions, substitutions, and swaps of two
 * neighbours) between a and b, counting up to `cap` + 1. */
static size_t edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t d[3][65]; /* rows i-2, i-1, i of the table, keys up to 64 bytes */
    if (la > 64 || lb > 64)
        return cap + 1;
    for (size_t j = 0; j <= lb; j++)
        d[1][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = d[(i + 1) % 3], *prev = d[i % 3], *prev2 = d[(i + 2) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (prev[j - 1] + cost < v)
                v = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
        }
    }
    return d[(la + 1) % 3][lb];
}

const char *cfg_nearest(const char *key, const char *const *names, size_t n)
{
    size_t len = strlen(key), cap = len <= 4 ? 1 : 2, best = cap + 1;
    const char *near = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t dist = names[i] ? edit_distance(key, names[i], cap) : cap + 1;
        if (dist < best) {
            best = dist;
            near = names[i];
        }
    }
    return near;
}

/* Checks `node` with cfg_map_check() and that every key is one of names[0..n);
 * fields[i] receives the key and value of names[i] (NULL when absent). */
int cfg_map_fields(struct parse *p, yaml_node_t *node, const char *path, const char *const *names,
                   struct field *fields, size_t n)
{
    static const char *const secret_keys[] = {"password", "digest_key", "secret_access_key",
                                              "session_token", NULL};
    char w[KEYPATH_BUF], tmp[SHOW_BUF];
    yaml_node_t *unknown = NULL, *unknown_value = NULL;
    memset(fields, 0, n * sizeof(*fields));
    int rc = cfg_map_check(p, node, path);
    if (rc || node->type != YAML_MAPPING_NODE)
        return rc;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node_at(p, pair->key);
        yaml_node_t *v = cfg_node_at(p, pair->value);
        size_t i = 0;
        if (!v)
            return cfg_error(p, k, "missing value for key '%s' %s", cfg_key_show(tmp, k),
                             cfg_where(w, sizeof(w), path));
        while (i < n && !cfg_scalar_is(k, names[i]))
            i++;
        if (i < n) {
            fields[i].key = k;
            fields[i].value = v;
        } else if (!unknown) {
            unknown = k;
            unknown_value = v;
        }
    }
    /* `{ password, S3cret }` or `{ password S3cret }`: the secret became a
     * key. Report the empty secret key first, and never echo a key that has
     * no value. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; secret_keys[j]; j++)
            if (fields[i].value && cfg_is_null(fields[i].value) &&
                strcmp(names[i], secret_keys[j]) == 0)
                return cfg_error(p, fields[i].value, "missing value for '%s'",
                                 cfg_join(w, sizeof(w), path, names[i]));
    if (unknown && cfg_is_null(unknown_value))
        return cfg_error(p, unknown,
                         "unknown key without a value %s (not shown: it may be a "
                         "misplaced value)",
                         cfg_where(w, sizeof(w), path));
    if (unknown) {
        const char *near = unknown->type == YAML_SCALAR_NODE
                               ? cfg_nearest((const char *)unknown->data.scalar.value, names, n)
                               : NULL;
        if (near)
            return cfg_error(p, unknown, "unknown key '%s' %s (did you mean '%s'?)",
                             cfg_key_show(tmp, unknown), cfg_where(w, sizeof(w), path), near);
        return cfg_error(p, unknown, "unknown key '%s' %s", cfg_key_show(tmp, unknown),
                         cfg_where(w, sizeof(w), path));
    }
    return 0;
}

/* ---- scalars ----------------------------------------------------------- */

static int env_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > ENV_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}

/* True when s starts with "$<NAME>" (NAME a valid variable name). */
static int flow_safe_ref(const char *s, size_t len)
{
    const char *close;
    if (len < 4 || s[0] != '$' || s[1] != '<')
        return 0;
    close = memchr(s + 2, '>', len - 2);
    return close && env_name_ok(s + 2, (size_t)(close - s - 2));
}

/* YAML forbids '{' and '}' in plain scalars inside flow collections, yet the
 * documented form `analyst: { user: analyst, password: ${VAR} }` puts them
 * there. Before parsing, every "${NAME}" (NAME valid, not after "$$") is
 * rewritten in place as "$<NAME>": same length, so every line:column stays
 * true, and interpolate() reads both forms. */
void cfg_protect_references(char *t, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (t[i] != '$')
            continue;
        if (t[i + 1] == '$') {
            i++;
            continue;
        }
        if (t[i + 1] != '{')
            continue;
        const char *close = memchr(t + i + 2, '}', len - i - 2);
        if (close && env_name_ok(t + i + 2, (size_t)(close - (t + i + 2)))) {
            t[i + 1] = '<';
            t[close - t] = '>';
            i = (size_t)(close - t);
        }
    }
}

/* Appends s[0..len) to `out`, replacing ${VAR} by the variable's value and $$
 * by $; any other $ is kept. Sets *subst when a variable was used. Errors
 * name the variable and `keypath`, never the value. */
static int interpolate(struct parse *p, const yaml_node_t *node, const char *keypath, const char *s,
                       size_t len, struct buf *out, int *subst)
{
    size_t i = 0;
    int rc = 0;
    while (i < len && !rc) {
        const char *dollar = memchr(s + i, '$', len - i);
        size_t run = dollar ? (size_t)(dollar - (s + i)) : len - i;
        rc = buf_add(out, s + i, run);
        i += run;
        if (rc || i >= len)
            break;
        if (i + 1 < len && s[i + 1] == '$') {
            rc = buf_addc(out, '$');
            i += 2;
        } else if (i + 1 < len && s[i + 1] == '<' && flow_safe_ref(s + i, len - i)) {
            /* ${NAME} as rewritten by cfg_protect_references() */
            const char *name = s + i + 2;
            const char *close = memchr(name, '>', len - i - 2);
            size_t nlen = (size_t)(close - name);
            char var[ENV_NAME_MAX + 1];
            memcpy(var, name, nlen);
            var[nlen] = '\0';
            const char *val = getenv(var);
            if (!val)
                return cfg_error(p, node, "environment variable '%s' is not set (in '%s')", var,
                                 keypath);
            rc = buf_adds(out, val);
            *subst = 1;
            i = (size_t)(close - s) + 1;
        } else if (i + 1 < len && s[i + 1] == '{') {
            const char *name = s + i + 2;
            const char *close = memchr(name, '}', len - i - 2);
            if (!close)
                return cfg_error(
                    p, node, "unterminated '${' in '%s' (write '$$' for a literal '$')", keypath);
            size_t nlen = (size_t)(close - name);
            if (!env_name_ok(name, nlen))
                return cfg_error(p, node,
                                 "invalid environment variable name in '${...}' in '%s' "
                                 "(use [A-Za-z_][A-Za-z0-9_]*; write '$$' for a literal '$')",
                                 keypath);
            char var[ENV_NAME_MAX + 1];
            memcpy(var, name, nlen);
            var[nlen] = '\0';
            const char *val = getenv(var);
            if (!val)
                return cfg_error(p, node, "environment variable '%s' is not set (in '%s')", var,
                                 keypath);
            rc = buf_adds(out, val);
            *subst = 1;
            i = (size_t)(close - s) + 1;
        } else {
            rc = buf_addc(out, '$');
            i++;
        }
    }
    if (rc == ML_ETOOBIG)
        return cfg_error(p, node, "value of '%s' is longer than %zu bytes", keypath,
                         SCALAR_MAX_BYTES);
    return rc;
}

void cfg_scalar_release(struct scalar *v)
{
    if (v->s) {
        mem_wipe(v->s, v->len);
        free(v->s);
    }
    v->s = NULL;
    v->len = 0;
    v->subst = 0;
}

/* Fills `out` with the interpolated text of the scalar `node`; `keypath`
 * names it in messages. On failure `out` holds nothing. */
int cfg_get_scalar(struct parse *p, const yaml_node_t *node, const char *keypath, unsigned flags,
                   struct scalar *out)
{
    struct buf b;
    int rc;
    out->s = NULL;
    out->len = 0;
    out->subst = 0;
    if (node->type != YAML_SCALAR_NODE)
        return cfg_error(p, node, "expected a scalar for '%s', got %s", keypath,
                         cfg_node_kind(node));
    if (cfg_is_null(node))
        return cfg_error(p, node, "missing value for '%s'", keypath);
    buf_init(&b, SCALAR_MAX_BYTES);
    rc = interpolate(p, node, keypath, (const char *)node->data.scalar.value,
                     node->data.scalar.length, &b, &out->subst);
    if (rc)
        goto fail;
    if (!(flags & SC_ALLOW_NUL) && memchr(b.data, '\0', b.len)) {
        rc = cfg_error(p, node, "value of '%s' contains a NUL character", keypath);
        goto fail;
    }
    out->s = buf_detach(&b, &out->len);
    if (!out->s)
        return cfg_nomem();
    return 0;
fail:
    buf_wipe(&b);
    out->subst = 0;
    return rc;
}

/* Replaces *dst (freed) by the string value of `f`, when present. */
int cfg_set_str(struct parse *p, const struct field *f, const char *path, const char *key,
                char **dst)
{
    char kp[KEYPATH_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = cfg_get_scalar(p, f->value, cfg_join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    if (v.len == 0) {
        cfg_scalar_release(&v);
        return cfg_error(p, f->value, "value of '%s' is empty", kp);
    }
    free(*dst);
    *dst = v.s;
    return 0;
}

int cfg_set_default(char **dst, const char *def)
{
    if (*dst || !def)
        return 0;
    *dst = strdup(def);
    return *dst ? 0 : cfg_nomem();
}

/* Decimal integer: optional '-', digits only. 0 ok, -1 not an integer,
 * -2 does not fit. */
static int parse_decimal(const char *s, long long *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!*d)
        return -1;
    for (const char *c = d; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return -2;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

/* Sets *out from `f` when present: a decimal integer in min..max. */
static int set_int(struct parse *p, const struct field *f, const char *path, const char *key,
                   long long min, long long max, long long *out)
{
    char kp[KEYPATH_BUF], sh[SHOW_BUF];
    struct scalar v;
    long long n = 0;
    if (!f->value)
        return 0;
    int rc = cfg_get_scalar(p, f->value, cfg_join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    int prc = parse_decimal(v.s, &n);
    if (prc == -1)
        rc = cfg_error(p, f->value, "%s is not an integer for '%s'", cfg_show(sh, &v), kp);
    else if (prc == -2 || n < min || n > max) {
        if (max == LLONG_MAX)
            rc = cfg_error(p, f->value, "%s is out of range for '%s' (must be at least %lld)",
                           cfg_show(sh, &v), kp, min);
        else
            rc = cfg_error(p, f->value, "%s is out of range for '%s' (%lld..%lld)",
                           cfg_show(sh, &v), kp, min, max);
    }
    cfg_scalar_release(&v);
    if (!rc)
        *out = n;
    return rc;
}

int cfg_set_uint(struct parse *p, const struct field *f, const char *path, const char *key,
                 unsigned min, unsigned max, unsigned def, unsigned *out)
{
    long long n = def;
    int rc = set_int(p, f, path, key, min, max, &n);
    if (!rc)
        *out = (unsigned)n;
    return rc;
}

/* Kinds of names a config may hold, and what each allows. */

static const struct {
    const char *extra; /* allowed besides [A-Za-z0-9_] */
    size_t max;
    const char *allowed;
    const char *what;
} name_rules[] = {
    [NAME_IDENT] = {"", 64, "[A-Za-z0-9_]", "name"},
    [NAME_USER] = {".-", 80, "[A-Za-z0-9_.-]", "user name"},
    [NAME_HOST] = {".%:-", 255, "[A-Za-z0-9_.%:-]", "host"},
    [NAME_LABEL] = {".-", 64, "[A-Za-z0-9_.-]", "name"},
};

int cfg_name_ok(enum name_kind kind, const char *s, size_t len)
{
    if (len == 0 || len > name_rules[kind].max)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
            continue;
        if (c == '\0' || !strchr(name_rules[kind].extra, c))
            return 0;
    }
    return 1;
}

int cfg_name_error(struct parse *p, const yaml_node_t *node, enum name_kind kind, const char *shown,
                   const char *keypath)
{
    return cfg_error(p, node, "%s is not a valid %s for '%s': use 1..%zu characters from %s", shown,
                     name_rules[kind].what, keypath, name_rules[kind].max,
                     name_rules[kind].allowed);
}

/* cfg_set_str() and then a check of the value against `kind`. */
static int set_name(struct parse *p, const struct field *f, const char *path, const char *key,
                    enum name_kind kind, char **dst)
{
    char kp[KEYPATH_BUF], sh[SHOW_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = cfg_get_scalar(p, f->value, cfg_join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    if (!cfg_name_ok(kind, v.s, v.len)) {
        rc = cfg_name_error(p, f->value, kind, cfg_show(sh, &v), kp);
        cfg_scalar_release(&v);
        return rc;
    }
    free(*dst);
    *dst = v.s;
    return 0;
}

/* Checks a mapping key used as a name (source, stream, view). */
static int key_name(struct parse *p, const yaml_node_t *k, enum name_kind kind, const char *path)
{
    char tmp[SHOW_BUF];
    if (cfg_name_ok(kind, (const char *)k->data.scalar.value, k->data.scalar.length))
        return 0;
    return cfg_error(p, k,
                     "'%s' is not a valid %s for a key in '%s': use 1..%zu characters from %s",
                     cfg_key_show(tmp, k), name_rules[kind].what, path, name_rules[kind].max,
                     name_rules[kind].allowed);
}

/* Matches the value of `f` against words[] (NULL-terminated); *out is the
 * index. `list` spells the choices for the message. */
int cfg_set_enum(struct parse *p, const struct field *f, const char *path, const char *key,
                 const char *const *words, const char *list, int *out)
{
    char kp[KEYPATH_BUF], sh[SHOW_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = cfg_get_scalar(p, f->value, cfg_join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    for (int i = 0; words[i]; i++) {
        if (strcmp(v.s, words[i]) == 0) {
            *out = i;
            cfg_scalar_release(&v);
            return 0;
        }
    }
    rc = cfg_error(p, f->value, "%s is not a valid value for '%s': use %s", cfg_show(sh, &v), kp,
                   list);
    cfg_scalar_release(&v);
    return rc;
}

/* ---- files ------------------------------------------------------------- */

/* `rel` resolved against the config file's directory unless absolute. */
int cfg_resolve_path(struct parse *p, const char *rel, struct buf *out)
{
    int rc = 0;
    if (rel[0] != '/') {
        rc = buf_adds(out, p->dir);
        if (!rc)
            rc = buf_addc(out, '/');
    }
    if (!rc)
        rc = buf_adds(out, rel);
    return rc;
}

/* Reads the first line of `path` (without its \n or \r\n) into `out`, a
 * buffer for secrets: it and every intermediate copy are wiped on failure.
 * Errors name `keypath` and the path, never the contents. */
static int read_first_line(struct parse *p, const yaml_node_t *node, const char *keypath,
                           const char *path, int allow_nul, struct buf *out)
{
    char chunk[4096];
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfg_error(p, node, "cannot read '%s' for '%s': %s", path, keypath, strerror(errno));
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc =
                cfg_error(p, node, "cannot read '%s' for '%s': %s", path, keypath, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        const char *nl = memchr(chunk, '\n', (size_t)n);
        size_t take = nl ? (size_t)(nl - chunk) : (size_t)n;
        rc = buf_add(out, chunk, take);
        if (rc == ML_ETOOBIG)
            rc = cfg_error(p, node, "first line of '%s' for '%s' is longer than %zu bytes", path,
                           keypath, SECRET_LINE_MAX);
        if (rc || nl)
            break;
    }
    mem_wipe(chunk, sizeof(chunk));
    close(fd);
    if (!rc && out->len && out->data[out->len - 1] == '\r')
        buf_truncate(out, out->len - 1);
    if (!rc && out->len == 0)
        rc = cfg_error(p, node, "'%s' for '%s' is empty", path, keypath);
    if (!rc && !allow_nul && memchr(out->data, '\0', out->len))
        rc = cfg_error(p, node, "'%s' for '%s' contains a NUL character", path, keypath);
    if (rc)
        buf_wipe(out);
    return rc;
}

/* A secret given inline (`val`, e.g. `password`) or by file (`file`, e.g.
 * `password_file`), at most one of them. *out stays NULL when neither is set.
 * *out is malloc'd and NUL-terminated at (*out)[*outlen]. */
static int set_secret(struct parse *p, const struct field *val, const struct field *file,
                      const char *path, const char *val_key, const char *file_key, int allow_nul,
                      char **out, size_t *outlen)
{
    char kp[KEYPATH_BUF];
    struct scalar v;
    int rc;
    if (val->value && file->value)
        return cfg_error(p, file->key, "both '%s' and '%s' are set in '%s'; use one of them",
                         val_key, file_key, path);
    if (val->value) {
        rc = cfg_get_scalar(p, val->value, cfg_join(kp, sizeof(kp), path, val_key),
                            SC_SECRET | (allow_nul ? SC_ALLOW_NUL : 0u), &v);
        if (rc)
            return rc;
        *out = v.s;
        *outlen = v.len;
        return 0;
    }
    if (!file->value)
        return 0;
    rc = cfg_get_scalar(p, file->value, cfg_join(kp, sizeof(kp), path, file_key), 0, &v);
    if (rc)
        return rc;
    struct buf full = BUF_INIT;
    struct buf secret;
    buf_init(&secret, SECRET_LINE_MAX);
    if (v.len == 0) {
        rc = cfg_error(p, file->value, "value of '%s' is empty", kp);
        goto out;
    }
    rc = cfg_resolve_path(p, v.s, &full);
    if (rc)
        goto out;
    rc = read_first_line(p, file->value, kp, full.data, allow_nul, &secret);
    if (rc)
        goto out;
    *out = buf_detach(&secret, outlen);
    if (!*out)
        rc = cfg_nomem();
out:
    buf_wipe(&secret);
    buf_release(&full);
    cfg_scalar_release(&v);
    return rc;
}

static void free_secret(char *s)
{
    if (s) {
        mem_wipe(s, strlen(s));
        free(s);
    }
}

/* ---- sections: one table of keys each ---------------------------------- *
 *
 * Every key of a section is declared once, in its section's table: name,
 * how its value is read, where it is stored, its limits and default. One
 * walker (parse_section) reads a section by its table, one function
 * (release_section) frees what a table's keys hold. What no single key can
 * check (a default taken from another section, two keys that go together)
 * is a section hook, run after the walk. */

enum spec_kind {
    SPEC_STR,         /* char *, as written */
    SPEC_SECRET_STR,  /* char *, a credential: never echoed, wiped, not empty */
    SPEC_NAME,        /* char *, a validated name (arg: enum name_kind) */
    SPEC_PATH,        /* char *, a file path, resolved against the config's directory */
    SPEC_UINT,        /* unsigned, min..max */
    SPEC_LONG,        /* long, min..max */
    SPEC_ENUM,        /* an enum (int-sized), one of words[], default words[def] */
    SPEC_SECRET,      /* char * (+ size_t at len_off): the key, or the SPEC_SECRET_FILE
                         key right after it naming a file whose first line it is */
    SPEC_SECRET_FILE, /* the file partner of the SPEC_SECRET before it */
    SPEC_HOOK,        /* read by the section's hook (sub-sections, dependent limits) */
};

#define NO_LEN ((size_t)-1)

struct spec {
    const char *name;
    enum spec_kind kind;
    size_t off;               /* of the value in the section's struct */
    long long min, max, def;  /* SPEC_UINT, SPEC_LONG; SPEC_ENUM: def */
    const char *const *words; /* SPEC_ENUM */
    const char *list;         /* SPEC_ENUM: the words for messages ("http, sqs or file") */
    const char *def_str;      /* SPEC_STR, SPEC_NAME: default when absent */
    unsigned arg;             /* SPEC_NAME: enum name_kind; SPEC_SECRET: 1 = NUL bytes allowed */
    size_t len_off;           /* SPEC_SECRET: where its length goes, or NO_LEN */
    unsigned kinds;           /* source keys: the kinds that have the key (0 = all) */
    unsigned required;        /* kinds that require it (sources), or 1 (other sections) */
};

#define S_STR(n, st, m)                                                                            \
    {                                                                                              \
        .name = n, .kind = SPEC_STR, .off = offsetof(st, m), .len_off = NO_LEN                     \
    }
#define S_NAME(n, st, m, k, d)                                                                     \
    {                                                                                              \
        .name = n, .kind = SPEC_NAME, .off = offsetof(st, m), .arg = k, .def_str = d,              \
        .len_off = NO_LEN                                                                          \
    }
#define S_PATH(n, st, m)                                                                           \
    {                                                                                              \
        .name = n, .kind = SPEC_PATH, .off = offsetof(st, m), .len_off = NO_LEN                    \
    }
#define S_UINT(n, st, m, lo, hi, d)                                                                \
    {                                                                                              \
        .name = n, .kind = SPEC_UINT, .off = offsetof(st, m), .min = lo, .max = hi, .def = d,      \
        .len_off = NO_LEN                                                                          \
    }
#define S_ENUM(n, st, m, w, l, d)                                                                  \
    {                                                                                              \
        .name = n, .kind = SPEC_ENUM, .off = offsetof(st, m), .words = w, .list = l, .def = d,     \
        .len_off = NO_LEN                                                                          \
    }
#define S_SECRET(n, st, m, lenm, nul)                                                              \
    {                                                                                              \
        .name = n, .kind = SPEC_SECRET, .off = offsetof(st, m), .arg = nul, .len_off = lenm        \
    }
#define S_SECRET_FILE(n)                                                                           \
    {                                                                                              \
        .name = n, .kind = SPEC_SECRET_FILE, .len_off = NO_LEN                                     \
    }
#define S_HOOK(n)                                                                                  \
    {                                                                                              \
        .name = n, .kind = SPEC_HOOK, .len_off = NO_LEN                                            \
    }
#define SPECS(t)            (t), (sizeof(t) / sizeof((t)[0]))
#define AT(base, off, type) ((type *)(void *)((char *)(base) + (off)))

/* Where to report a key missing from the section `sec`: at its key, else at
 * the document root. */
static const yaml_node_t *sec_pos(struct parse *p, const struct field *sec)
{
    return sec->key ? sec->key : p->root;
}

/* A file path value of `f` (when present), resolved against the config
 * file's directory, into *dst. */
static int set_path(struct parse *p, const struct field *f, const char *path, const char *key,
                    char **dst)
{
    char kp[KEYPATH_BUF];
    struct scalar v;
    struct buf full = BUF_INIT;
    int rc;
    if (!f->value)
        return 0;
    rc = cfg_get_scalar(p, f->value, cfg_join(kp, sizeof(kp), path, key), 0, &v);
    if (!rc && v.len == 0)
        rc = cfg_error(p, f->value, "value of '%s' is empty", kp);
    if (!rc)
        rc = cfg_resolve_path(p, v.s, &full);
    if (!rc) {
        free(*dst);
        *dst = buf_detach(&full, NULL);
        if (!*dst)
            rc = cfg_nomem();
    }
    buf_release(&full);
    cfg_scalar_release(&v); /* holds nothing when get_scalar failed */
    return rc;
}

/* A secret scalar of `f` (when present) into *dst; empty is an error. */
static int set_secret_str(struct parse *p, const struct field *f, const char *path, const char *key,
                          char **dst)
{
    char kp[KEYPATH_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = cfg_get_scalar(p, f->value, cfg_join(kp, sizeof(kp), path, key), SC_SECRET, &v);
    if (rc)
        return rc;
    if (v.len == 0) {
        cfg_scalar_release(&v);
        return cfg_error(p, f->value, "value of '%s' is empty", kp);
    }
    free_secret(*dst);
    *dst = v.s;
    return 0;
}

/* Splits the section node of `sec` into fields by the table's names (all
 * absent for a missing or null section). */
static int section_fields(struct parse *p, const struct field *sec, const char *path,
                          const struct spec *sp, size_t n, struct field *f)
{
    const char *names[48];
    if (n > sizeof(names) / sizeof(names[0]))
        return err_set(ML_EINTERNAL, "config: section '%s' has too many keys", path);
    for (size_t i = 0; i < n; i++)
        names[i] = sp[i].name;
    if (!sec->value) {
        memset(f, 0, n * sizeof(*f));
        return 0;
    }
    return cfg_map_fields(p, sec->value, path, names, f, n);
}

/* Reads key i of the table into base (see enum spec_kind). */
static int apply_spec(struct parse *p, const struct spec *sp, size_t i, const struct field *f,
                      const char *path, void *base)
{
    const struct spec *s = &sp[i];
    int rc = 0;
    switch (s->kind) {
    case SPEC_STR:
        rc = cfg_set_str(p, &f[i], path, s->name, AT(base, s->off, char *));
        break;
    case SPEC_SECRET_STR:
        rc = set_secret_str(p, &f[i], path, s->name, AT(base, s->off, char *));
        break;
    case SPEC_NAME:
        rc = set_name(p, &f[i], path, s->name, (enum name_kind)s->arg, AT(base, s->off, char *));
        break;
    case SPEC_PATH:
        rc = set_path(p, &f[i], path, s->name, AT(base, s->off, char *));
        break;
    case SPEC_UINT:
        rc = cfg_set_uint(p, &f[i], path, s->name, (unsigned)s->min, (unsigned)s->max,
                          (unsigned)s->def, AT(base, s->off, unsigned));
        break;
    case SPEC_LONG: {
        long long v = s->def;
        rc = set_int(p, &f[i], path, s->name, s->min, s->max, &v);
        if (!rc)
            *AT(base, s->off, long) = (long)v;
        break;
    }
    case SPEC_ENUM: {
        int v = (int)s->def;
        rc = cfg_set_enum(p, &f[i], path, s->name, s->words, s->list, &v);
        if (!rc)
            *AT(base, s->off, int) = v;
        break;
    }
    case SPEC_SECRET: {
        size_t len = 0;
        char *v = NULL;
        rc = set_secret(p, &f[i], &f[i + 1], path, s->name, sp[i + 1].name, (int)s->arg, &v, &len);
        if (!rc && v) {
            free_secret(*AT(base, s->off, char *));
            *AT(base, s->off, char *) = v;
            if (s->len_off != NO_LEN)
                *AT(base, s->len_off, size_t) = len;
        }
        break;
    }
    case SPEC_SECRET_FILE:
    case SPEC_HOOK:
        break;
    }
    if (!rc && (s->kind == SPEC_STR || s->kind == SPEC_NAME) && s->def_str)
        rc = cfg_set_default(AT(base, s->off, char *), s->def_str);
    return rc;
}

/* Whether key i is set (for the required checks). */
static int spec_set(const struct spec *s, const void *base)
{
    switch (s->kind) {
    case SPEC_STR:
    case SPEC_SECRET_STR:
    case SPEC_NAME:
    case SPEC_PATH:
    case SPEC_SECRET:
        return *AT(base, s->off, char *) != NULL;
    default:
        return 1;
    }
}

static int missing_required(struct parse *p, const yaml_node_t *at, const struct spec *sp, size_t i,
                            const char *path)
{
    if (sp[i].kind == SPEC_SECRET)
        return cfg_error(p, at, "missing required key '%s' (or '%s') in '%s'", sp[i].name,
                         sp[i + 1].name, path);
    return cfg_error(p, at, "missing required key '%s' in '%s'", sp[i].name, path);
}

/* The walker: every key of the table in table order, its required check
 * right after it (`required & kind_bit`, kind_bit 1 outside sources). */
static int parse_section(struct parse *p, const struct field *sec, const char *path,
                         const struct spec *sp, size_t n, const struct field *f, void *base,
                         unsigned kind_bit)
{
    for (size_t i = 0; i < n; i++) {
        int rc = apply_spec(p, sp, i, f, path, base);
        if (!rc && (sp[i].required & kind_bit) && !spec_set(&sp[i], base))
            rc = missing_required(p, sec_pos(p, sec), sp, i, path);
        if (rc)
            return rc;
    }
    return 0;
}

/* Frees (and wipes, for secrets) what the table's keys hold in base. */
static void release_section(const struct spec *sp, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        char **s = AT(base, sp[i].off, char *);
        switch (sp[i].kind) {
        case SPEC_STR:
        case SPEC_NAME:
        case SPEC_PATH:
            free(*s);
            *s = NULL;
            break;
        case SPEC_SECRET_STR:
            free_secret(*s);
            *s = NULL;
            break;
        case SPEC_SECRET:
            if (*s) {
                size_t len =
                    sp[i].len_off != NO_LEN ? *AT(base, sp[i].len_off, size_t) : strlen(*s);
                mem_wipe(*s, len);
                free(*s);
            }
            *s = NULL;
            break;
        default:
            break;
        }
    }
}

/* ---- tls ---- */

static const char *const tls_mode_words[] = {"off", "required", "verify_ca", "verify_identity",
                                             NULL};
enum { TLS_K_MODE, TLS_K_CA, TLS_K_CERT, TLS_K_KEY };
static const struct spec tls_specs[] = {
    [TLS_K_MODE] = S_ENUM("mode", struct config_tls, mode, tls_mode_words,
                          "off, required, verify_ca or verify_identity", TLS_OFF),
    [TLS_K_CA] = S_PATH("ca", struct config_tls, ca),
    [TLS_K_CERT] = S_PATH("cert", struct config_tls, cert),
    [TLS_K_KEY] = S_PATH("key", struct config_tls, key),
};

/* `<parent>.tls: {mode, ca, cert, key}` into *tls (see struct config_tls). */
static int parse_tls(struct parse *p, const struct field *sec, const char *parent,
                     struct config_tls *tls)
{
    char path[KEYPATH_BUF];
    struct field f[sizeof(tls_specs) / sizeof(tls_specs[0])];
    int rc;
    if (!sec->value)
        return 0;
    snprintf(path, sizeof(path), "%s.tls", parent);
    rc = section_fields(p, sec, path, SPECS(tls_specs), f);
    if (!rc)
        rc = parse_section(p, sec, path, SPECS(tls_specs), f, tls, 1);
    if (rc)
        return rc;
    int mode = (int)tls->mode;
    if ((mode == TLS_VERIFY_CA || mode == TLS_VERIFY_IDENTITY) && !tls->ca)
        return cfg_error(p, f[TLS_K_MODE].value,
                         "'%s.mode' %s needs '%s.ca' (the CA to verify with)", path,
                         tls_mode_words[mode], path);
    if (!tls->cert != !tls->key)
        return cfg_error(p, tls->cert ? f[TLS_K_CERT].key : f[TLS_K_KEY].key,
                         "'%s.cert' and '%s.key' go together; set both or neither", path, path);
    if (mode == TLS_OFF && (tls->ca || tls->cert))
        return cfg_error(p, f[TLS_K_MODE].value ? f[TLS_K_MODE].value : sec->key,
                         "'%s' has files but mode 'off'; set 'mode' to required, verify_ca or "
                         "verify_identity",
                         path);
    return 0;
}

static int tls_copy(struct config_tls *dst, const struct config_tls *src)
{
    dst->mode = src->mode;
    if (src->ca && !(dst->ca = strdup(src->ca)))
        return cfg_nomem();
    if (src->cert && !(dst->cert = strdup(src->cert)))
        return cfg_nomem();
    if (src->key && !(dst->key = strdup(src->key)))
        return cfg_nomem();
    return 0;
}

static void tls_release(struct config_tls *tls)
{
    release_section(SPECS(tls_specs), tls);
    memset(tls, 0, sizeof(*tls));
}

/* ---- warehouse, admin, accounts, roles, pii, load, check, log ---- */

typedef struct config C;

enum { WH_SOCKET = 2, WH_TLS = 9, WH_HOSTS = 10, WH_FAILOVERS = 11, WH_KIND = 12, WH_SCHEMA = 13 };
static const char *const warehouse_kind_words[] = {"mysql", "postgres", NULL};
static const struct spec warehouse_specs[] = {
    S_STR("host", C, warehouse.host),
    S_UINT("port", C, warehouse.port, 1, 65535, 3306),
    [WH_SOCKET] = S_STR("socket", C, warehouse.socket),
    {.name = "database",
     .kind = SPEC_NAME,
     .off = offsetof(C, warehouse.database),
     .arg = NAME_IDENT,
     .len_off = NO_LEN,
     .required = 1},
    {.name = "user",
     .kind = SPEC_NAME,
     .off = offsetof(C, warehouse.user),
     .arg = NAME_USER,
     .len_off = NO_LEN,
     .required = 1},
    {.name = "password",
     .kind = SPEC_SECRET,
     .off = offsetof(C, warehouse.password),
     .len_off = NO_LEN,
     .required = 1},
    S_SECRET_FILE("password_file"),
    S_UINT("connect_timeout", C, warehouse.connect_timeout_s, 1, 3600, 10),
    S_UINT("lock_wait_timeout", C, warehouse.lock_wait_timeout_s, 1, 86400, 0),
    [WH_TLS] = S_HOOK("tls"),
    [WH_HOSTS] = S_HOOK("hosts"),
    [WH_FAILOVERS] = S_HOOK("failovers"),
    [WH_KIND] = S_ENUM("kind", C, warehouse.kind, warehouse_kind_words, "mysql or postgres",
                       WAREHOUSE_MYSQL),
    [WH_SCHEMA] = S_STR("schema", C, warehouse.schema),
};

/* `hosts: [host:port, ...]` at `path` into *out / *n (nothing when absent).
 * Each entry is a host name or IPv4 address, with ":port" (default 3306,
 * 5432 with kind postgres). */
static int parse_hosts(struct parse *p, const struct field *f, const char *path,
                       struct config_host **out, size_t *n)
{
    char kp[128];
    yaml_node_t *v = f->value;
    size_t count;
    *out = NULL;
    *n = 0;
    if (!v)
        return 0;
    cfg_join(kp, sizeof(kp), path, "hosts");
    if (v->type != YAML_SEQUENCE_NODE)
        return cfg_error(p, v, "expected a sequence of host:port for '%s', got %s", kp,
                         cfg_node_kind(v));
    count = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (count == 0 || count > CONFIG_MAX_HOSTS)
        return cfg_error(p, v, "'%s' needs 1 to %d hosts, got %zu", kp, CONFIG_MAX_HOSTS, count);
    *out = calloc(count, sizeof(**out));
    if (!*out)
        return cfg_nomem();
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = cfg_node_at(p, v->data.sequence.items.start[i]);
        struct scalar sv;
        char *colon;
        unsigned long port = p->cfg->warehouse.kind == WAREHOUSE_POSTGRES ? 5432 : 3306;
        int rc = cfg_get_scalar(p, item, kp, 0, &sv);
        if (rc)
            return rc;
        colon = strrchr(sv.s, ':');
        if (colon) {
            char *end;
            *colon = '\0';
            port = strtoul(colon + 1, &end, 10);
            if (!colon[1] || *end || port < 1 || port > 65535) {
                cfg_scalar_release(&sv);
                return cfg_error(p, item, "'%s' entry %zu: the port must be 1..65535", kp, i + 1);
            }
        }
        if (!cfg_name_ok(NAME_LABEL, sv.s, strlen(sv.s))) {
            cfg_scalar_release(&sv);
            return cfg_error(p, item,
                             "'%s' entry %zu: expected host:port, the host of [A-Za-z0-9_.-]", kp,
                             i + 1);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp((*out)[j].host, sv.s) == 0 && (*out)[j].port == port) {
                cfg_scalar_release(&sv);
                return cfg_error(p, item, "'%s' entry %zu repeats entry %zu", kp, i + 1, j + 1);
            }
        (*out)[i].host = sv.s; /* the host part, NUL-terminated at the colon */
        (*out)[i].port = (unsigned)port;
        *n = i + 1;
    }
    return 0;
}

static void release_hosts(struct config_host *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(h[i].host);
    free(h);
}

static int copy_hosts(struct config_host **dst, size_t *ndst, const struct config_host *src,
                      size_t n)
{
    *dst = NULL;
    *ndst = 0;
    if (!n)
        return 0;
    if (!(*dst = calloc(n, sizeof(**dst))))
        return cfg_nomem();
    for (size_t i = 0; i < n; i++) {
        if (!((*dst)[i].host = strdup(src[i].host)))
            return cfg_nomem();
        (*dst)[i].port = src[i].port;
        *ndst = i + 1;
    }
    return 0;
}

/* The PostgreSQL default schema: one of the loader's own, so that REVOKE ALL
 * ON SCHEMA ... FROM PUBLIC takes nothing from other users of the
 * database's `public` (docs/postgres.md). */
#define PG_DEFAULT_SCHEMA "maskload"
#define PG_NAME_MAX       63

/* A PostgreSQL schema name the analyst can type unquoted: [a-z_][a-z0-9_]*,
 * 1..63 bytes, not pg_* (reserved by the server). */
static int pg_schema_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PG_NAME_MAX || (s[0] >= '0' && s[0] <= '9') || strncmp(s, "pg_", 3) == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* What `kind` changes in the warehouse section (struct config's comments). */
static int warehouse_kind_rules(struct parse *p, const struct field *f)
{
    struct config *c = p->cfg;
    if (c->warehouse.kind != WAREHOUSE_POSTGRES) {
        if (f[WH_SCHEMA].value)
            return cfg_error(p, f[WH_SCHEMA].key,
                             "'warehouse.schema' applies to kind postgres only (a MySQL "
                             "warehouse's schema is its 'database')");
        return 0;
    }
    if (c->warehouse.schema && !pg_schema_ok(c->warehouse.schema))
        return cfg_error(p, f[WH_SCHEMA].value,
                         "'%s' is not a valid schema for 'warehouse.schema': use 1..%d "
                         "characters from [a-z0-9_], not starting with a digit or 'pg_'",
                         c->warehouse.schema, PG_NAME_MAX);
    if (!c->warehouse.schema && !(c->warehouse.schema = strdup(PG_DEFAULT_SCHEMA)))
        return cfg_nomem();
    if (strlen(c->warehouse.database) > PG_NAME_MAX)
        return cfg_error(p, f[3].value,
                         "'warehouse.database' of kind postgres has at most %d characters",
                         PG_NAME_MAX);
    if (!f[1].value && !c->warehouse.nhosts)
        c->warehouse.port = 5432;
    return 0;
}

static int parse_warehouse(struct parse *p, const struct field *sec)
{
    const char *path = "warehouse";
    struct field f[sizeof(warehouse_specs) / sizeof(warehouse_specs[0])];
    struct config *c = p->cfg;
    int rc;
    if (!sec->value)
        return cfg_error(p, p->root, "missing required key 'warehouse' at top level");
    rc = section_fields(p, sec, path, SPECS(warehouse_specs), f);
    /* the required keys are checked after every other key, tls included */
    for (size_t i = 0; !rc && i < sizeof(warehouse_specs) / sizeof(warehouse_specs[0]); i++)
        rc = apply_spec(p, warehouse_specs, i, f, path, c);
    if (!rc)
        rc = parse_tls(p, &f[WH_TLS], path, &c->warehouse.tls);
    for (size_t i = 0; !rc && i < sizeof(warehouse_specs) / sizeof(warehouse_specs[0]); i++)
        if (warehouse_specs[i].required && !spec_set(&warehouse_specs[i], c))
            rc = missing_required(p, sec_pos(p, sec), warehouse_specs, i, path);
    if (!rc)
        rc = parse_hosts(p, &f[WH_HOSTS], path, &c->warehouse.hosts, &c->warehouse.nhosts);
    if (!rc && c->warehouse.nhosts && (f[0].value || f[1].value || f[WH_SOCKET].value))
        rc = cfg_error(p, f[WH_HOSTS].key,
                       "'warehouse.hosts' and 'warehouse.host'/'port'/'socket' exclude each "
                       "other: list every server in 'hosts'");
    if (!rc && c->warehouse.nhosts) {
        free(c->warehouse.host);
        c->warehouse.host = strdup(c->warehouse.hosts[0].host);
        if (!c->warehouse.host)
            rc = cfg_nomem();
        c->warehouse.port = c->warehouse.hosts[0].port;
    }
    if (!rc)
        rc = cfg_set_uint(p, &f[WH_FAILOVERS], path, "failovers", 0, 1000,
                          (unsigned)c->warehouse.nhosts, &c->warehouse.failovers);
    if (!rc && !c->warehouse.socket)
        rc = cfg_set_default(&c->warehouse.host, "127.0.0.1");
    if (!rc)
        rc = warehouse_kind_rules(p, f);
    return rc;
}

enum { AD_PORT = 4, AD_TLS = 6, AD_HOSTS = 7 };
static const struct spec admin_specs[] = {
    S_NAME("user", C, admin.user, NAME_USER, "root"),
    S_SECRET("password", C, admin.password, NO_LEN, 0),
    S_SECRET_FILE("password_file"),
    S_STR("host", C, admin.host),
    [AD_PORT] = S_HOOK("port"), /* default: the warehouse's */
    S_STR("socket", C, admin.socket),
    [AD_TLS] = S_HOOK("tls"), /* default: a copy of the warehouse's */
    /* default: the warehouse's */
    [AD_HOSTS] = S_HOOK("hosts"),
};

static int parse_admin(struct parse *p, const struct field *sec)
{
    const char *path = "admin";
    struct config *c = p->cfg;
    struct field f[sizeof(admin_specs) / sizeof(admin_specs[0])];
    int rc = section_fields(p, sec, path, SPECS(admin_specs), f);
    if (!rc)
        rc = parse_section(p, sec, path, SPECS(admin_specs), f, c, 1);
    /* PostgreSQL's superuser is postgres, not root */
    if (!rc && c->warehouse.kind == WAREHOUSE_POSTGRES && !f[0].value) {
        free(c->admin.user);
        if (!(c->admin.user = strdup("postgres")))
            rc = cfg_nomem();
    }
    if (!rc)
        rc =
            cfg_set_uint(p, &f[AD_PORT], path, "port", 1, 65535, c->warehouse.port, &c->admin.port);
    if (!rc)
        rc = f[AD_TLS].value ? parse_tls(p, &f[AD_TLS], path, &c->admin.tls)
                             : tls_copy(&c->admin.tls, &c->warehouse.tls);
    if (!rc)
        rc = parse_hosts(p, &f[AD_HOSTS], path, &c->admin.hosts, &c->admin.nhosts);
    if (!rc && c->admin.nhosts && (f[3].value || f[AD_PORT].value || f[5].value))
        rc = cfg_error(p, f[AD_HOSTS].key,
                       "'admin.hosts' and 'admin.host'/'port'/'socket' exclude each other");
    if (!rc && c->admin.nhosts) {
        c->admin.host = strdup(c->admin.hosts[0].host);
        if (!c->admin.host)
            rc = cfg_nomem();
        c->admin.port = c->admin.hosts[0].port;
    }
    if (rc || c->admin.host || c->admin.socket)
        return rc;
    rc = copy_hosts(&c->admin.hosts, &c->admin.nhosts, c->warehouse.hosts, c->warehouse.nhosts);
    if (rc)
        return rc;
    rc = cfg_set_default(&c->admin.host, c->warehouse.host);
    if (!rc)
        rc = cfg_set_default(&c->admin.socket, c->warehouse.socket);
    return rc;
}

static const struct spec account_specs[] = {
    S_NAME("user", struct config_account, user, NAME_USER, NULL),
    S_SECRET("password", struct config_account, password, NO_LEN, 0),
    S_SECRET_FILE("password_file"),
};

static int parse_account(struct parse *p, const struct field *sec, const char *path,
                         const char *def_user, struct config_account *acc)
{
    struct field f[sizeof(account_specs) / sizeof(account_specs[0])];
    int rc = section_fields(p, sec, path, SPECS(account_specs), f);
    if (!rc)
        rc = parse_section(p, sec, path, SPECS(account_specs), f, acc, 1);
    if (!rc)
        rc = cfg_set_default(&acc->user, def_user);
    return rc;
}

enum { ACS_ANALYST = 1, ACS_STEWARD = 2 };
static const struct spec accounts_specs[] = {
    S_NAME("host", C, accounts.host, NAME_HOST, "%"),
    [ACS_ANALYST] = S_HOOK("analyst"),
    [ACS_STEWARD] = S_HOOK("steward"),
};

static int parse_accounts(struct parse *p, const struct field *sec)
{
    const char *path = "accounts";
    struct field f[sizeof(accounts_specs) / sizeof(accounts_specs[0])];
    int rc = section_fields(p, sec, path, SPECS(accounts_specs), f);
    if (!rc)
        rc = parse_section(p, sec, path, SPECS(accounts_specs), f, p->cfg, 1);
    if (!rc)
        rc = parse_account(p, &f[ACS_ANALYST], "accounts.analyst", "analyst",
                           &p->cfg->accounts.analyst);
    if (!rc)
        rc = parse_account(p, &f[ACS_STEWARD], "accounts.steward", "pii_steward",
                           &p->cfg->accounts.steward);
    return rc;
}

static const struct spec roles_specs[] = {
    S_NAME("loader", C, roles.loader, NAME_IDENT, NULL),
    S_NAME("analyst", C, roles.analyst, NAME_IDENT, NULL),
    S_NAME("steward", C, roles.steward, NAME_IDENT, NULL),
};

static const char *const birth_words[] = {
    [BIRTH_DATE_YEAR] = "year", [BIRTH_DATE_DATE] = "date", NULL};
static const char *const pii_digest_words[] = {
    [PII_DIGEST_HMAC] = "hmac-sha256", [PII_DIGEST_SHA256] = "sha256", NULL};
enum { PII_K_KEY = 0, PII_K_DIGEST = 3 };
static const struct spec pii_specs[] = {
    [PII_K_KEY] = S_SECRET("digest_key", C, pii.digest_key, offsetof(C, pii.digest_key_len), 1),
    S_SECRET_FILE("digest_key_file"),
    S_ENUM("birth_date", C, pii.birth_date, birth_words, "year or date", BIRTH_DATE_YEAR),
    [PII_K_DIGEST] =
        S_ENUM("digest", C, pii.digest, pii_digest_words, "hmac-sha256 or sha256", PII_DIGEST_HMAC),
};

static const char *const load_method_words[] = {"auto", "bulk", "insert", NULL};
static const char *const load_writer_words[] = {"thread", "inline", NULL};
static const struct spec load_specs[] = {
    S_UINT("batch_size", C, load.batch_size, 1, 100000, 1000),
    S_UINT("surrogate_cache", C, load.surrogate_cache, 0, 10000000, 100000),
    S_ENUM("method", C, load.method, load_method_words, "auto, bulk or insert", LOAD_METHOD_AUTO),
    S_UINT("prefetch_pages", C, load.prefetch_pages, 0, 64, 4),
    S_UINT("heartbeat_interval", C, load.heartbeat_interval, 1, 3600, 10),
    S_ENUM("writer", C, load.writer, load_writer_words, "thread or inline", LOAD_WRITER_THREAD),
    S_UINT("parallel_streams", C, load.parallel_streams, 1, 16, 1),
};

enum { CK_THRESHOLDS = 1 };
static const struct spec check_specs[] = {
    {.name = "default_threshold",
     .kind = SPEC_LONG,
     .off = offsetof(C, check.default_max),
     .min = 0,
     .max = LONG_MAX,
     .len_off = NO_LEN},
    [CK_THRESHOLDS] = S_HOOK("thresholds"),
};

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
struct log_section {
    int level; /* index in log_levels; the config keeps the word */
    unsigned progress_interval;
};
static const struct spec log_specs[] = {
    S_ENUM("level", struct log_section, level, log_levels, "error, warn, info or debug", 2),
    S_UINT("progress_interval", struct log_section, progress_interval, 0, 86400, 10),
};

/* A section that is nothing but its table, into base. */
static int parse_plain(struct parse *p, const struct field *sec, const char *path,
                       const struct spec *sp, size_t n, void *base)
{
    struct field f[16];
    if (n > sizeof(f) / sizeof(f[0]))
        return err_set(ML_EINTERNAL, "config: section '%s' has too many keys", path);
    int rc = section_fields(p, sec, path, sp, n, f);
    return rc ? rc : parse_section(p, sec, path, sp, n, f, base, 1);
}

/* A role not configured is the database's own: maskload_<database>_<job>,
 * so that the grants of one warehouse never reach another's accounts. */
static int parse_roles(struct parse *p, const struct field *sec)
{
    struct config *c = p->cfg;
    char **roles[] = {&c->roles.loader, &c->roles.analyst, &c->roles.steward};
    static const char *const jobs[] = {"loader", "analyst", "steward"};
    int rc = parse_plain(p, sec, "roles", SPECS(roles_specs), c);
    for (size_t i = 0; !rc && i < sizeof(roles) / sizeof(roles[0]); i++) {
        size_t n = strlen(c->warehouse.database) + strlen(jobs[i]) + sizeof("maskload__");
        if (*roles[i])
            continue;
        *roles[i] = malloc(n);
        if (!*roles[i])
            return cfg_nomem();
        snprintf(*roles[i], n, "maskload_%s_%s", c->warehouse.database, jobs[i]);
    }
    return rc;
}

/* The table, then: a key together with `digest: sha256` is a contradiction
 * (which of them did the owner mean?), refused. */
static int parse_pii(struct parse *p, const struct field *sec)
{
    struct config *c = p->cfg;
    struct field f[sizeof(pii_specs) / sizeof(pii_specs[0])];
    int rc = section_fields(p, sec, "pii", SPECS(pii_specs), f);
    if (!rc)
        rc = parse_section(p, sec, "pii", SPECS(pii_specs), f, c, 1);
    if (rc)
        return rc;
    if (sec->key) {
        c->pii.pos.line = (int)sec->key->start_mark.line + 1;
        c->pii.pos.column = (int)sec->key->start_mark.column + 1;
    }
    if (c->pii.digest == PII_DIGEST_SHA256 && c->pii.digest_key_len)
        return cfg_error(p, f[PII_K_DIGEST].value,
                         "'pii.digest' is sha256 (unkeyed) but a digest key is set: remove "
                         "'pii.digest' to use the key (hmac-sha256), or remove the key");
    return 0;
}

int config_read_key_file(const char *path, const char *what, unsigned char **key, size_t *len)
{
    struct parse p;
    struct buf secret;
    int rc;
    memset(&p, 0, sizeof(p));
    p.name = path;
    *key = NULL;
    *len = 0;
    buf_init(&secret, SECRET_LINE_MAX);
    rc = read_first_line(&p, NULL, what, path, 1, &secret);
    if (!rc) {
        *key = (unsigned char *)buf_detach(&secret, len);
        if (!*key)
            rc = cfg_nomem();
    }
    buf_wipe(&secret);
    return rc;
}

const char *config_warehouse_space(const struct config *cfg)
{
    return cfg->warehouse.kind == WAREHOUSE_POSTGRES ? cfg->warehouse.schema
                                                     : cfg->warehouse.database;
}

int config_require_digest_key(const struct config *cfg, const char *cmd)
{
    if (cfg->pii.digest_key_len)
        return 0;
    if (cfg->pii.digest == PII_DIGEST_SHA256) {
        log_warn("%s: pii.digest is sha256: surrogate digests are unkeyed, so anyone who can "
                 "guess a value can find its surrogate; set pii.digest_key_file for keyed "
                 "digests",
                 cmd);
        return 0;
    }
    return err_set(ML_ECONFIG,
                   "%s:%d:%d: missing key 'pii.digest_key_file' (or 'pii.digest_key'): "
                   "surrogate digests are keyed (pii.digest: hmac-sha256). Make a key with "
                   "`openssl rand -hex 32 > F; chmod 600 F` (keep F outside the database and "
                   "its backups) and set `digest_key_file: F` under 'pii'; or set `digest: "
                   "sha256` there for unkeyed digests (not advised)",
                   cfg->path, cfg->pii.pos.line ? cfg->pii.pos.line : 1,
                   cfg->pii.pos.line ? cfg->pii.pos.column : 1);
}

static int parse_load(struct parse *p, const struct field *sec)
{
    return parse_plain(p, sec, "load", SPECS(load_specs), p->cfg);
}

static int parse_thresholds(struct parse *p, yaml_node_t *node)
{
    const char *path = "check.thresholds";
    struct config *c = p->cfg;
    int rc = cfg_map_check(p, node, path);
    size_t n = cfg_map_size(node);
    if (rc || n == 0)
        return rc;
    c->check.thresholds = calloc(n, sizeof(*c->check.thresholds));
    if (!c->check.thresholds)
        return cfg_nomem();
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        struct config_threshold *t = &c->check.thresholds[c->check.nthresholds];
        struct field f = {cfg_node_at(p, pair->key), cfg_node_at(p, pair->value)};
        long long max = 0;
        rc = key_name(p, f.key, NAME_IDENT, path);
        if (rc)
            return rc;
        t->view = strdup((const char *)f.key->data.scalar.value);
        if (!t->view)
            return cfg_nomem();
        c->check.nthresholds++;
        t->pos.line = (int)f.key->start_mark.line + 1;
        t->pos.column = (int)f.key->start_mark.column + 1;
        if (!f.value)
            return cfg_error(p, f.key, "missing value for '%s.%s'", path, t->view);
        rc = set_int(p, &f, path, t->view, 0, LONG_MAX, &max);
        if (rc)
            return rc;
        t->max = (long)max;
    }
    return 0;
}

static int parse_check(struct parse *p, const struct field *sec)
{
    struct field f[sizeof(check_specs) / sizeof(check_specs[0])];
    int rc = section_fields(p, sec, "check", SPECS(check_specs), f);
    if (!rc)
        rc = parse_section(p, sec, "check", SPECS(check_specs), f, p->cfg, 1);
    if (!rc && f[CK_THRESHOLDS].value)
        rc = parse_thresholds(p, f[CK_THRESHOLDS].value);
    return rc;
}

static int parse_log(struct parse *p, const struct field *sec)
{
    struct log_section log = {2, 10};
    int rc = parse_plain(p, sec, "log", SPECS(log_specs), &log);
    if (!rc)
        rc = cfg_set_default(&p->cfg->log_level, log_levels[log.level]);
    p->cfg->log_progress_interval = log.progress_interval;
    return rc;
}

/* ---- sources ---- */

#define K_HTTP (1u << SOURCE_HTTP)
#define K_SQS  (1u << SOURCE_SQS)
#define K_FILE (1u << SOURCE_FILE)

static const char *const kind_words[] = {
    [SOURCE_HTTP] = "http", [SOURCE_SQS] = "sqs", [SOURCE_FILE] = "file", NULL};
static const char *const file_format_words[] = {
    [FILE_FORMAT_AUTO] = "auto", [FILE_FORMAT_JSONL] = "jsonl", [FILE_FORMAT_JSON] = "json", NULL};
static const char *const malformed_words[] = {"reject", "dead_letter", NULL};

typedef struct config_source SRC;
enum {
    SK_KIND = 0,
    SK_BASE_URL = 1,
    SK_TIMEOUT = 4,
    SK_RETRY_MAX_MS = 10,
    SK_QUEUE_URL = 15,
    SK_REGION = 16,
    SK_ENDPOINT = 17,
    SK_WAIT_SECONDS = 18,
    SK_ACCESS_KEY_ID = 21,
    SK_SECRET_ACCESS_KEY = 22,
    SK_SESSION_TOKEN = 23,
    SK_HEADERS = 25,
    SK_PARAMS = 26,
    SK_AUTH = 27
};
/* In the order the keys are checked (which error a config with several
 * gets first); `kinds` is which source kinds have the key. */
/* One source key: its name, how it is read, its member of struct
 * config_source, the kinds that have it (and, for SRC_VAL, require it). */
#define SRC_VAL(n, k, m, kinds_, req)                                                              \
    {                                                                                              \
        .name = n, .kind = k, .off = offsetof(SRC, m), .len_off = NO_LEN, .kinds = kinds_,         \
        .required = req                                                                            \
    }
#define SRC_UINT(n, m, lo, hi, d, kinds_)                                                          \
    {                                                                                              \
        .name = n, .kind = SPEC_UINT, .off = offsetof(SRC, m), .min = lo, .max = hi, .def = d,     \
        .len_off = NO_LEN, .kinds = kinds_                                                         \
    }
#define SRC_ENUM(n, m, w, l, d, kinds_)                                                            \
    {                                                                                              \
        .name = n, .kind = SPEC_ENUM, .off = offsetof(SRC, m), .words = w, .list = l, .def = d,    \
        .len_off = NO_LEN, .kinds = kinds_                                                         \
    }
#define SRC_HOOK(n, kinds_)                                                                        \
    {                                                                                              \
        .name = n, .kind = SPEC_HOOK, .len_off = NO_LEN, .kinds = kinds_                           \
    }

/* clang-format off */
static const struct spec source_specs[] = {
    [SK_KIND] = SRC_HOOK("kind", K_HTTP | K_SQS | K_FILE),
    [SK_BASE_URL] = SRC_VAL("base_url", SPEC_STR, base_url, K_HTTP, K_HTTP),
    SRC_UINT("page_size", page_size, 1, 10000, 100, K_HTTP | K_FILE),
    SRC_UINT("max_pages", max_pages, 1, 1000000000, 1000000, K_HTTP),
    [SK_TIMEOUT] = SRC_UINT("timeout", timeout_s, 1, 86400, 60, K_HTTP | K_SQS),
    SRC_UINT("connect_timeout", connect_timeout_s, 1, 3600, 10, K_HTTP | K_SQS),
    SRC_UINT("low_speed_limit", low_speed_limit, 1, 1000000000, 1, K_HTTP),
    SRC_UINT("low_speed_time", low_speed_time_s, 1, 86400, 30, K_HTTP),
    SRC_UINT("retries", retries, 0, 100, 5, K_HTTP),
    SRC_UINT("retry_base_ms", retry_base_ms, 1, 3600000, 500, K_HTTP),
    /* at least retry_base_ms; its default rises to it */
    [SK_RETRY_MAX_MS] = SRC_HOOK("retry_max_ms", K_HTTP),
    SRC_UINT("retry_after_max", retry_after_max_s, 0, 86400, 120, K_HTTP),
    SRC_VAL("ca_file", SPEC_PATH, ca_file, K_HTTP | K_SQS, 0),
    SRC_ENUM("format", file_format, file_format_words, "jsonl, json or auto", FILE_FORMAT_AUTO, K_FILE),
    SRC_VAL("path", SPEC_PATH, file_path, K_FILE, K_FILE),
    [SK_QUEUE_URL] = SRC_VAL("queue_url", SPEC_STR, queue_url, K_SQS, K_SQS),
    [SK_REGION] = SRC_VAL("region", SPEC_STR, region, K_SQS, 0),
    [SK_ENDPOINT] = SRC_VAL("endpoint", SPEC_STR, endpoint, K_SQS, 0),
    [SK_WAIT_SECONDS] = SRC_UINT("wait_seconds", wait_seconds, 0, 20, 20, K_SQS),
    SRC_UINT("visibility_timeout", visibility_timeout, 0, 43200, 300, K_SQS),
    SRC_UINT("max_messages", max_messages, 1, 10, 10, K_SQS),
    [SK_ACCESS_KEY_ID] = SRC_VAL("access_key_id", SPEC_STR, access_key_id, K_SQS, 0),
    [SK_SECRET_ACCESS_KEY] = SRC_VAL("secret_access_key", SPEC_SECRET_STR, secret_access_key, K_SQS, 0),
    [SK_SESSION_TOKEN] = SRC_VAL("session_token", SPEC_SECRET_STR, session_token, K_SQS, 0),
    SRC_ENUM("on_malformed", on_malformed, malformed_words, "reject or dead_letter", SQS_MALFORMED_REJECT, K_SQS),
    /* credentials of an http source (secrets; see struct config_source) */
    [SK_HEADERS] = SRC_HOOK("headers", K_HTTP),
    [SK_PARAMS] = SRC_HOOK("params", K_HTTP),
    [SK_AUTH] = SRC_HOOK("auth", K_HTTP),
};
/* clang-format on */
#define SOURCE_NSPECS (sizeof(source_specs) / sizeof(source_specs[0]))

static int url_ok(const char *u)
{
    if (strncasecmp(u, "http://", 7) == 0)
        return u[7] != '\0' && u[7] != '/';
    if (strncasecmp(u, "https://", 8) == 0)
        return u[8] != '\0' && u[8] != '/';
    return 0;
}

/* The value of source key i, checked right after it is read: URLs and the
 * region. */
static int check_source_key(struct parse *p, const struct field *f, const char *path,
                            const struct config_source *src, size_t i)
{
    const char *v = *AT(src, source_specs[i].off, char *);
    if (!v)
        return 0;
    if (i == SK_REGION) {
        size_t n = strlen(v);
        if (n > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
            return cfg_error(p, f[i].value,
                             "'%s.region' must be an AWS region name such as 'eu-west-1'", path);
        return 0;
    }
    if (!url_ok(v))
        return cfg_error(p, f[i].value, "'%s.%s' must start with http:// or https:// and a host",
                         path, source_specs[i].name);
    if (i == SK_BASE_URL && strpbrk(v, "?#"))
        return cfg_error(p, f[i].value,
                         "'%s.base_url' must not hold a query or fragment ('?' or '#'): put "
                         "query parameters in '%s.params' and credentials in '%s.headers' or "
                         "'%s.auth'",
                         path, path, path, path);
    if (i == SK_BASE_URL) {
        /* userinfo (user:password@host) would be sent, and shown wherever the
         * URL is: the host part ends at the first '/' after the scheme */
        const char *host = strstr(v, "://") + 3;
        size_t hl = strcspn(host, "/");
        if (memchr(host, '@', hl))
            return cfg_error(p, f[i].value,
                             "'%s.base_url' must not hold credentials (user:password@): put them "
                             "in '%s.auth' (basic) or '%s.headers'",
                             path, path, path);
    }
    return 0;
}

/* ---- http credentials: headers, params, auth ---- */

static const char *const auth_type_words[] = {"bearer", "basic", NULL};
enum { AU_TYPE, AU_TOKEN, AU_TOKEN_FILE, AU_USER, AU_PASSWORD, AU_PASSWORD_FILE };
static const struct spec auth_specs[] = {
    [AU_TYPE] = S_HOOK("type"),
    [AU_TOKEN] = {.name = "token",
                  .kind = SPEC_SECRET,
                  .off = offsetof(struct config_auth, token),
                  .len_off = NO_LEN},
    [AU_TOKEN_FILE] = S_SECRET_FILE("token_file"),
    [AU_USER] = S_STR("user", struct config_auth, user),
    [AU_PASSWORD] = {.name = "password",
                     .kind = SPEC_SECRET,
                     .off = offsetof(struct config_auth, password),
                     .len_off = NO_LEN},
    [AU_PASSWORD_FILE] = S_SECRET_FILE("password_file"),
};

/* A credential that goes into a request header: not empty, no line break
 * (it would start another header). The value is never shown. */
static int check_header_value(struct parse *p, const yaml_node_t *at, const char *kp, const char *v,
                              size_t len)
{
    if (len == 0)
        return cfg_error(p, at, "value of '%s' is empty", kp);
    if (memchr(v, '\r', len) || memchr(v, '\n', len) || strlen(v) != len)
        return cfg_error(p, at, "value of '%s' holds a line break or a NUL byte", kp);
    return 0;
}

/* `<path>.auth: {type: bearer, token | token_file}` or `{type: basic, user,
 * password | password_file}` into *a. */
static int parse_auth(struct parse *p, const struct field *sec, const char *parent,
                      struct config_auth *a)
{
    char path[KEYPATH_BUF + 16], kp[KEYPATH_BUF];
    struct field f[sizeof(auth_specs) / sizeof(auth_specs[0])];
    int type = 0, rc;
    if (!sec->value)
        return 0;
    snprintf(path, sizeof(path), "%s.auth", parent);
    rc = section_fields(p, sec, path, SPECS(auth_specs), f);
    if (!rc)
        rc = parse_section(p, sec, path, SPECS(auth_specs), f, a, 1);
    if (rc)
        return rc;
    if (!f[AU_TYPE].value)
        return cfg_error(p, sec->key, "missing required key 'type' in '%s' (bearer or basic)",
                         path);
    rc = cfg_set_enum(p, &f[AU_TYPE], path, "type", auth_type_words, "bearer or basic", &type);
    if (rc)
        return rc;
    a->type = type == 0 ? AUTH_BEARER : AUTH_BASIC;
    if (a->type == AUTH_BEARER) {
        if (a->user || a->password)
            return cfg_error(p, a->user ? f[AU_USER].key : f[AU_PASSWORD].key,
                             "'%s' of type bearer takes 'token' (or 'token_file'), not "
                             "'user' or 'password'",
                             path);
        if (!a->token)
            return cfg_error(p, sec->key, "missing required key 'token' (or 'token_file') in '%s'",
                             path);
        return check_header_value(p, f[AU_TOKEN].value ? f[AU_TOKEN].value : f[AU_TOKEN_FILE].value,
                                  cfg_join(kp, sizeof(kp), path, "token"), a->token,
                                  strlen(a->token));
    }
    if (a->token)
        return cfg_error(p, f[AU_TOKEN].key ? f[AU_TOKEN].key : f[AU_TOKEN_FILE].key,
                         "'%s' of type basic takes 'user' and 'password', not 'token'", path);
    if (!a->user)
        return cfg_error(p, sec->key, "missing required key 'user' in '%s'", path);
    if (!a->password)
        return cfg_error(p, sec->key,
                         "missing required key 'password' (or 'password_file') in '%s'", path);
    if (a->user[0] == '\0' || strchr(a->user, ':'))
        return cfg_error(p, f[AU_USER].value, "'%s.user' must not be empty nor hold ':'", path);
    return 0;
}

/* HTTP token characters (RFC 9110 5.6.2), for header names. */
static int http_token_ok(const char *s, size_t len)
{
    static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    return len > 0 && len <= 256 && strspn(s, tchar) == len;
}

/* `<path>.headers: {Name: value}` into src->headers ("Name: value" lines). */
static int parse_headers(struct parse *p, yaml_node_t *node, const char *parent,
                         struct config_source *src)
{
    char path[KEYPATH_BUF + 16], kp[KEYPATH_BUF], tmp[SHOW_BUF];
    int rc;
    snprintf(path, sizeof(path), "%s.headers", parent);
    rc = cfg_map_check(p, node, path);
    size_t n = cfg_map_size(node), i = 0;
    if (rc || n == 0)
        return rc;
    src->headers = calloc(n + 1, sizeof(*src->headers));
    if (!src->headers)
        return cfg_nomem();
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++, i++) {
        yaml_node_t *k = cfg_node_at(p, pair->key), *v = cfg_node_at(p, pair->value);
        const char *name = (const char *)k->data.scalar.value;
        size_t nlen = k->data.scalar.length;
        struct scalar sc;
        struct buf line;
        if (!http_token_ok(name, nlen))
            return cfg_error(p, k,
                             "header name '%s' in '%s' must be HTTP token characters "
                             "(letters, digits, !#$%%&'*+-.^_`|~)",
                             cfg_key_show(tmp, k), path);
        for (size_t j = 0; j < i; j++)
            if (strncasecmp(src->headers[j], name, nlen) == 0 && src->headers[j][nlen] == ':')
                return cfg_error(p, k, "duplicate header '%s' in '%s' (names ignore case)", name,
                                 path);
        cfg_join(kp, sizeof(kp), path, name);
        if (!v || cfg_is_null(v))
            return cfg_error(p, k, "missing value for '%s'", kp);
        rc = cfg_get_scalar(p, v, kp, SC_SECRET, &sc);
        if (rc)
            return rc;
        rc = check_header_value(p, v, kp, sc.s, sc.len);
        buf_init(&line, 0);
        if (!rc && buf_addf(&line, "%s: %s", name, sc.s))
            rc = cfg_nomem();
        if (!rc && !(src->headers[i] = buf_detach(&line, NULL)))
            rc = cfg_nomem();
        buf_wipe(&line);
        cfg_scalar_release(&sc);
        if (rc)
            return rc;
    }
    return 0;
}

/* `<path>.params: {name: value}` into src->params. */
static int parse_params(struct parse *p, yaml_node_t *node, const char *parent,
                        struct config_source *src)
{
    char path[KEYPATH_BUF + 16], kp[KEYPATH_BUF];
    int rc;
    snprintf(path, sizeof(path), "%s.params", parent);
    rc = cfg_map_check(p, node, path);
    size_t n = cfg_map_size(node);
    if (rc || n == 0)
        return rc;
    src->params = calloc(n, sizeof(*src->params));
    if (!src->params)
        return cfg_nomem();
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node_at(p, pair->key), *v = cfg_node_at(p, pair->value);
        struct config_param *pa = &src->params[src->nparams];
        const char *name = (const char *)k->data.scalar.value;
        struct scalar sc;
        rc = key_name(p, k, NAME_LABEL, path);
        if (rc)
            return rc;
        if (strcmp(name, "page") == 0 || strcmp(name, "limit") == 0)
            return cfg_error(p, k,
                             "'%s.%s' is the loader's own paging parameter; set "
                             "'%s.page_size' instead",
                             path, name, parent);
        if (!(pa->name = strdup(name)))
            return cfg_nomem();
        src->nparams++;
        cfg_join(kp, sizeof(kp), path, name);
        if (!v || cfg_is_null(v))
            return cfg_error(p, k, "missing value for '%s'", kp);
        rc = cfg_get_scalar(p, v, kp, SC_SECRET, &sc);
        if (rc)
            return rc;
        if (strlen(sc.s) != sc.len) {
            cfg_scalar_release(&sc);
            return cfg_error(p, v, "value of '%s' holds a NUL byte", kp);
        }
        pa->value = sc.s;
    }
    return 0;
}

static void source_credentials_release(struct config_source *src)
{
    for (size_t i = 0; src->headers && src->headers[i]; i++)
        free_secret(src->headers[i]);
    free(src->headers);
    src->headers = NULL;
    for (size_t i = 0; i < src->nparams; i++) {
        free(src->params[i].name);
        free_secret(src->params[i].value);
    }
    free(src->params);
    src->params = NULL;
    src->nparams = 0;
    release_section(SPECS(auth_specs), &src->auth);
    src->auth.type = AUTH_NONE;
}

/* What no single source key can check. */
static int check_source(struct parse *p, const struct field *f, const char *path,
                        struct config_source *src)
{
    if (!src->access_key_id != !src->secret_access_key)
        return cfg_error(
            p, src->access_key_id ? f[SK_ACCESS_KEY_ID].key : f[SK_SECRET_ACCESS_KEY].key,
            "'%s.access_key_id' and '%s.secret_access_key' go together; set both or neither "
            "(neither: the AWS_* environment variables are used)",
            path, path);
    if (src->session_token && !src->access_key_id)
        return cfg_error(p, f[SK_SESSION_TOKEN].key,
                         "'%s.session_token' needs 'access_key_id' and 'secret_access_key' "
                         "beside it",
                         path);
    if (src->auth.type != AUTH_NONE)
        for (size_t i = 0; src->headers && src->headers[i]; i++)
            if (strncasecmp(src->headers[i], "Authorization:", 14) == 0)
                return cfg_error(p, f[SK_AUTH].key,
                                 "'%s.auth' and an 'Authorization' header in '%s.headers' both "
                                 "set the credentials; use one of them",
                                 path, path);
    if (src->kind == SOURCE_SQS && src->timeout_s <= src->wait_seconds)
        return cfg_error(p, f[SK_TIMEOUT].value ? f[SK_TIMEOUT].value : f[SK_WAIT_SECONDS].value,
                         "'%s.timeout' (%u s) must exceed '%s.wait_seconds' (%u s)", path,
                         src->timeout_s, path, src->wait_seconds);
    return 0;
}

/* Parses the source whose key is `k` and value `v` into `src` (name set). */
static int parse_source(struct parse *p, yaml_node_t *k, yaml_node_t *v, struct config_source *src)
{
    struct field f[SOURCE_NSPECS];
    struct field sec = {k, v};
    char path[KEYPATH_BUF];
    int kind = SOURCE_HTTP;
    int rc;
    snprintf(path, sizeof(path), "sources.%s", src->name);
    if (!v)
        return cfg_error(p, k, "missing value for '%s'", path);
    rc = section_fields(p, &sec, path, source_specs, SOURCE_NSPECS, f);
    if (!rc)
        rc = cfg_set_enum(p, &f[SK_KIND], path, "kind", kind_words, "http, sqs or file", &kind);
    if (rc)
        return rc;
    src->kind = (enum source_kind)kind;
    for (size_t i = 0; i < SOURCE_NSPECS; i++)
        if (f[i].key && !(source_specs[i].kinds & (1u << kind)))
            return cfg_error(p, f[i].key, "unknown key '%s' in '%s' for kind '%s'",
                             source_specs[i].name, path, kind_words[kind]);
    /* keys of other kinds are absent (above): their defaults are harmless */
    for (size_t i = 0; i < SOURCE_NSPECS; i++) {
        rc = apply_spec(p, source_specs, i, f, path, src);
        if (!rc && i == SK_RETRY_MAX_MS)
            rc = cfg_set_uint(p, &f[i], path, "retry_max_ms", src->retry_base_ms, 3600000,
                              src->retry_base_ms > 30000 ? src->retry_base_ms : 30000,
                              &src->retry_max_ms);
        if (!rc && (source_specs[i].required & (1u << kind)) && !spec_set(&source_specs[i], src))
            rc = missing_required(p, k, source_specs, i, path);
        if (!rc && (i == SK_BASE_URL || i == SK_QUEUE_URL || i == SK_ENDPOINT || i == SK_REGION))
            rc = check_source_key(p, f, path, src, i);
        if (!rc && i == SK_HEADERS && f[i].value)
            rc = parse_headers(p, f[i].value, path, src);
        if (!rc && i == SK_PARAMS && f[i].value)
            rc = parse_params(p, f[i].value, path, src);
        if (!rc && i == SK_AUTH)
            rc = parse_auth(p, &f[i], path, &src->auth);
        if (rc)
            return rc;
    }
    return check_source(p, f, path, src);
}

static int parse_sources(struct parse *p, const struct field *sec)
{
    struct config *c = p->cfg;
    if (!sec->value)
        return 0;
    int rc = cfg_map_check(p, sec->value, "sources");
    size_t n = cfg_map_size(sec->value);
    if (rc || n == 0)
        return rc;
    c->sources = calloc(n, sizeof(*c->sources));
    if (!c->sources)
        return cfg_nomem();
    for (yaml_node_pair_t *pair = sec->value->data.mapping.pairs.start;
         pair < sec->value->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node_at(p, pair->key);
        struct config_source *src = &c->sources[c->nsources];
        rc = key_name(p, k, NAME_LABEL, "sources");
        if (rc)
            return rc;
        src->name = strdup((const char *)k->data.scalar.value);
        if (!src->name)
            return cfg_nomem();
        c->nsources++;
        src->pos.line = (int)k->start_mark.line + 1;
        src->pos.column = (int)k->start_mark.column + 1;
        rc = parse_source(p, k, cfg_node_at(p, pair->value), src);
        if (rc)
            return rc;
    }
    return 0;
}

enum { ST_SOURCE, ST_PATH, ST_MAPPING, ST_N };
static const char *const stream_keys[ST_N] = {
    [ST_SOURCE] = "source", [ST_PATH] = "path", [ST_MAPPING] = "mapping"};

/* Parses one mapping document (a file or a built-in) into `a`. */
static int load_mapping_doc(const char *text, size_t len, const char *file, const char *dir,
                            const char *def_name, struct streamdef_arena *a,
                            const struct stream_def **out)
{
    struct parse p;
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    char *copy;
    int rc;
    memset(&p, 0, sizeof(p));
    p.name = file;
    p.dir = (char *)dir;
    p.doc = &doc;
    copy = malloc(len ? len : 1);
    if (!copy)
        return cfg_nomem();
    memcpy(copy, text, len);
    cfg_protect_references(copy, len);
    if (!yaml_parser_initialize(&parser)) {
        free(copy);
        return cfg_nomem();
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)copy, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = cfg_yaml_failure(&p, &parser, copy, len);
        goto out_parser;
    }
    p.root = yaml_document_get_root_node(&doc);
    if (!p.root) {
        rc = cfg_error(&p, NULL, "the mapping is empty");
        goto out_doc;
    }
    if (!yaml_parser_load(&parser, &extra)) {
        rc = cfg_yaml_failure(&p, &parser, copy, len);
        goto out_doc;
    }
    yaml_node_t *second = yaml_document_get_root_node(&extra);
    rc = second ? cfg_error(&p, second, "more than one YAML document; expected one") : 0;
    cfg_document_wipe(&extra);
    if (!rc)
        rc = cfg_parse_mapping(&p, p.root, NULL, "", def_name, file, a, out);
out_doc:
    cfg_document_wipe(&doc);
out_parser:
    cfg_parser_wipe(&parser);
    free(copy);
    return rc;
}

/* A built-in mapping (mappings/<name>.yaml, embedded) into `a`. */
static int load_builtin(const char *name, struct streamdef_arena *a, const struct stream_def **out)
{
    const struct sql_file *f = cfg_builtin_mapping_file(name);
    char file[96];
    if (!f)
        return err_set(ML_ECONFIG, "no built-in mapping '%s'", name);
    snprintf(file, sizeof(file), "builtin:mappings/%s", f->name);
    return load_mapping_doc(f->text, f->len, file, ".", name, a, out);
}

/* A mapping file named by `mapping:`, relative to the config file. */
static int load_mapping_file(struct parse *p, const yaml_node_t *at, const char *rel,
                             const char *def_name, const struct stream_def **out)
{
    struct buf full = BUF_INIT, text;
    char chunk[8192];
    char *dir = NULL;
    int rc = cfg_resolve_path(p, rel, &full), fd = -1;
    buf_init(&text, CONFIG_MAX_BYTES);
    if (!rc && (fd = open(full.data, O_RDONLY | O_CLOEXEC)) < 0)
        rc = cfg_error(p, at, "cannot read mapping file '%s': %s", full.data, strerror(errno));
    while (!rc) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = cfg_error(p, at, "cannot read mapping file '%s': %s", full.data, strerror(errno));
        if (n <= 0)
            break;
        rc = buf_add(&text, chunk, (size_t)n);
        if (rc == ML_ETOOBIG)
            rc = cfg_error(p, at, "mapping file '%s' is larger than %zu bytes", full.data,
                           CONFIG_MAX_BYTES);
    }
    if (fd >= 0)
        close(fd);
    if (!rc && !(dir = cfg_dir_of(full.data)))
        rc = cfg_nomem();
    if (!rc)
        rc = load_mapping_doc(text.data, text.len, full.data, dir, def_name, p->cfg->defs, out);
    free(dir);
    buf_release(&text);
    buf_release(&full);
    return rc;
}

/* `mapping:` names a file when it has a '/' or ends in .yaml / .yml. */
static int names_file(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 5 && strcmp(s + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(s + n - 4, ".yml") == 0);
}

static int is_builtin(const char *s)
{
    for (size_t i = 0; streamdef_builtin_names[i]; i++)
        if (strcmp(s, streamdef_builtin_names[i]) == 0)
            return 1;
    return 0;
}

/* Needs the sources parsed: `source` must name one. The stream's mapping is
 * a built-in (`mapping: users`, or the stream's own name), a file
 * (`mapping: mappings/orders.yaml`) or inline (the mapping's keys beside
 * source and path). */
static int parse_stream(struct parse *p, yaml_node_t *k, yaml_node_t *v, struct config_stream *st)
{
    size_t nm;
    const char *const *mkeys = cfg_mapping_keys(&nm);
    const char *names[ST_N + 32];
    struct field f[ST_N + 32];
    struct scalar src;
    char path[KEYPATH_BUF], kp[KEYPATH_BUF], sh[SHOW_BUF];
    int rc;
    for (size_t i = 0; i < ST_N; i++)
        names[i] = stream_keys[i];
    if (nm > 32) /* the arrays above hold the mapping keys */
        return err_set(ML_EINTERNAL, "config: %zu mapping keys, room for 32", nm);
    for (size_t i = 0; i < nm; i++)
        names[ST_N + i] = mkeys[i];
    snprintf(path, sizeof(path), "streams.%s", st->name);
    if (!v)
        return cfg_error(p, k, "missing value for '%s'", path);
    rc = cfg_map_fields(p, v, path, names, f, ST_N + nm);
    if (rc)
        return rc;
    if (!f[ST_SOURCE].value)
        return cfg_error(p, k, "missing required key 'source' in '%s'", path);
    rc = cfg_get_scalar(p, f[ST_SOURCE].value, cfg_join(kp, sizeof(kp), path, "source"), 0, &src);
    if (rc)
        return rc;
    if (!config_find_source(p->cfg, src.s)) {
        rc =
            cfg_error(p, f[ST_SOURCE].value, "unknown source %s in '%s'", cfg_show(sh, &src), path);
        cfg_scalar_release(&src);
        return rc;
    }
    st->source = src.s;
    rc = cfg_set_str(p, &f[ST_PATH], path, "path", &st->path);
    if (!rc)
        rc = cfg_set_str(p, &f[ST_MAPPING], path, "mapping", &st->mapping);
    if (rc)
        return rc;
    yaml_node_t *inline_key = NULL;
    for (size_t i = 0; i < nm; i++)
        if (f[ST_N + i].key && !inline_key && i < cfg_mapping_entry_keys_from())
            inline_key = f[ST_N + i].key;
    if (!p->cfg->defs && !(p->cfg->defs = streamdef_arena_new()))
        return cfg_nomem();
    if (inline_key && st->mapping)
        return cfg_error(p, inline_key,
                         "'%s' has both 'mapping' and inline mapping keys ('%s'): use one", path,
                         (const char *)inline_key->data.scalar.value);
    if (inline_key)
        return cfg_parse_mapping(p, v, f + ST_N, path, st->name, p->name, p->cfg->defs, &st->def);
    if (st->mapping && names_file(st->mapping)) {
        rc = load_mapping_file(p, f[ST_MAPPING].value, st->mapping, st->name, &st->def);
        return rc ? rc
                  : cfg_mapping_privacy(p, f + ST_N + cfg_mapping_entry_keys_from(), path,
                                        p->cfg->defs, st->def);
    }
    const char *builtin = st->mapping ? st->mapping : st->name;
    if (!is_builtin(builtin)) {
        if (st->mapping)
            return cfg_error(p, f[ST_MAPPING].value,
                             "unknown mapping '%s' in '%s': use a built-in (users, messages, "
                             "user_logins, user_logins_masked), a file (mappings/x.yaml) or inline "
                             "columns",
                             st->mapping, path);
        return cfg_error(
            p, k,
            "missing mapping for '%s': its name is no built-in (users, messages, "
            "user_logins, user_logins_masked); give 'mapping' (a built-in or a file) or "
            "inline columns",
            path);
    }
    if (!st->mapping && cfg_set_default(&st->mapping, builtin))
        return cfg_nomem();
    rc = load_builtin(builtin, p->cfg->defs, &st->def);
    return rc ? rc
              : cfg_mapping_privacy(p, f + ST_N + cfg_mapping_entry_keys_from(), path, p->cfg->defs,
                                    st->def);
}

/* An incremental stream (streamdef.h incremental_def) needs a source that
 * filters by a query parameter: an http source. A file is read whole and a
 * queue hands out what was sent, so neither can be asked for "changed since". */
static int check_incremental_source(struct parse *p, const yaml_node_t *k,
                                    const struct config_stream *st)
{
    const struct config_source *src = config_find_source(p->cfg, st->source);
    if (!st->def || !st->def->incremental || !src || src->kind == SOURCE_HTTP)
        return 0;
    return cfg_error(p, k,
                     "stream '%s' is incremental (its mapping, %s, declares 'incremental' at "
                     "line %d) but source '%s' is of kind %s: only an http source can be asked "
                     "for the records changed since a cursor",
                     st->name, st->def->file, st->def->incremental->decl_line, src->name,
                     src->kind == SOURCE_FILE ? "file" : "sqs");
}

static int parse_streams(struct parse *p, const struct field *sec)
{
    struct config *c = p->cfg;
    if (!sec->value)
        return 0;
    int rc = cfg_map_check(p, sec->value, "streams");
    size_t n = cfg_map_size(sec->value);
    if (rc || n == 0)
        return rc;
    c->streams = calloc(n, sizeof(*c->streams));
    if (!c->streams)
        return cfg_nomem();
    for (yaml_node_pair_t *pair = sec->value->data.mapping.pairs.start;
         pair < sec->value->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = cfg_node_at(p, pair->key);
        struct config_stream *st = &c->streams[c->nstreams];
        rc = key_name(p, k, NAME_LABEL, "streams");
        if (rc)
            return rc;
        st->name = strdup((const char *)k->data.scalar.value);
        if (!st->name)
            return cfg_nomem();
        c->nstreams++;
        st->pos.line = (int)k->start_mark.line + 1;
        st->pos.column = (int)k->start_mark.column + 1;
        rc = parse_stream(p, k, cfg_node_at(p, pair->value), st);
        if (!rc)
            rc = check_incremental_source(p, k, st);
        if (rc)
            return rc;
    }
    return 0;
}

enum {
    TOP_WAREHOUSE,
    TOP_ADMIN,
    TOP_ACCOUNTS,
    TOP_ROLES,
    TOP_PII,
    TOP_LOAD,
    TOP_CHECK,
    TOP_LOG,
    TOP_SOURCES,
    TOP_STREAMS,
    TOP_N
};
static const char *const top_keys[TOP_N] = {
    [TOP_WAREHOUSE] = "warehouse", [TOP_ADMIN] = "admin", [TOP_ACCOUNTS] = "accounts",
    [TOP_ROLES] = "roles",         [TOP_PII] = "pii",     [TOP_LOAD] = "load",
    [TOP_CHECK] = "check",         [TOP_LOG] = "log",     [TOP_SOURCES] = "sources",
    [TOP_STREAMS] = "streams",
};

/* What no single stream can check: `pii: hmac` needs a digest key, and two
 * streams may not write one table (their definitions would fight over it). */
static int check_streams(struct parse *p)
{
    struct config *c = p->cfg;
    for (size_t i = 0; i < c->nstreams; i++) {
        const struct stream_def *d = c->streams[i].def;
        /* table t of d: its main table (0), then its children's (1..nchildren) */
        for (unsigned t = 0; t <= d->nchildren; t++) {
            const struct field_spec *fs = t ? d->children[t - 1].fields : d->fields;
            unsigned nf = t ? d->children[t - 1].nfields : d->nfields;
            for (unsigned k = 0; k < nf; k++)
                if (fs[k].action == PII_HMAC && !c->pii.digest_key_len)
                    return err_set(ML_ECONFIG,
                                   "%s:%d:%d: column '%s' has pii: hmac, which needs a digest "
                                   "key: set pii.digest_key or pii.digest_key_file",
                                   d->file, fs[k].decl_line, fs[k].decl_col, fs[k].column);
        }
        for (size_t j = 0; j < i; j++) {
            const struct stream_def *e = c->streams[j].def;
            for (unsigned a = 0; a <= d->nchildren; a++) {
                const char *mine = a ? d->children[a - 1].table->name : d->table->name;
                for (unsigned b = 0; b <= e->nchildren; b++) {
                    const char *theirs = b ? e->children[b - 1].table->name : e->table->name;
                    if (strcmp(mine, theirs) == 0)
                        return err_set(ML_ECONFIG,
                                       "%s:%d:%d: streams '%s' and '%s' both write table '%s': "
                                       "give one of them its own 'table'",
                                       p->name, c->streams[i].pos.line, c->streams[i].pos.column,
                                       c->streams[j].name, c->streams[i].name, mine);
                }
            }
        }
    }
    return 0;
}

/* Sections in dependency order: admin needs the warehouse, streams need the
 * sources. */
static int parse_root(struct parse *p)
{
    struct field f[TOP_N];
    int rc;
    if (!p->root)
        return cfg_error(p, NULL,
                         "configuration is empty: expected a mapping with a "
                         "'warehouse' section");
    if (p->root->type != YAML_MAPPING_NODE)
        return cfg_error(p, p->root, "expected a mapping at top level, got %s",
                         cfg_is_null(p->root) ? "an empty value" : cfg_node_kind(p->root));
    rc = cfg_map_fields(p, p->root, "", top_keys, f, TOP_N);
    if (!rc)
        rc = parse_warehouse(p, &f[TOP_WAREHOUSE]);
    if (!rc)
        rc = parse_admin(p, &f[TOP_ADMIN]);
    if (!rc)
        rc = parse_accounts(p, &f[TOP_ACCOUNTS]);
    if (!rc)
        rc = parse_roles(p, &f[TOP_ROLES]);
    if (!rc)
        rc = parse_pii(p, &f[TOP_PII]);
    if (!rc)
        rc = parse_load(p, &f[TOP_LOAD]);
    if (!rc)
        rc = parse_check(p, &f[TOP_CHECK]);
    if (!rc)
        rc = parse_log(p, &f[TOP_LOG]);
    if (!rc)
        rc = parse_sources(p, &f[TOP_SOURCES]);
    if (!rc)
        rc = parse_streams(p, &f[TOP_STREAMS]);
    if (!rc)
        rc = check_streams(p);
    if (!rc)
        rc = cfg_mapping_validate_checks(p);
    return rc;
}

/* ---- libyaml ----------------------------------------------------------- */

/* Records a libyaml failure as "<file>:<line>:<col>: yaml: <problem>". */
int cfg_yaml_failure(struct parse *p, const yaml_parser_t *parser, const char *text, size_t len)
{
    unsigned long line = (unsigned long)parser->problem_mark.line + 1;
    unsigned long col = (unsigned long)parser->problem_mark.column + 1;
    const char *problem = parser->problem ? parser->problem : "unknown error";
    if (parser->error == YAML_MEMORY_ERROR)
        return cfg_nomem();
    if (parser->error == YAML_READER_ERROR) {
        /* Reader errors carry a byte offset, not a mark. */
        size_t off = parser->problem_offset < len ? parser->problem_offset : len;
        line = 1;
        col = 1;
        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    }
    if (parser->context)
        return err_set(ML_ECONFIG, "%s:%lu:%lu: yaml: %s, %s at %lu:%lu", p->name, line, col,
                       problem, parser->context, (unsigned long)parser->context_mark.line + 1,
                       (unsigned long)parser->context_mark.column + 1);
    return err_set(ML_ECONFIG, "%s:%lu:%lu: yaml: %s", p->name, line, col, problem);
}

/* Wipes every scalar of a document (secrets may be among them), then frees it. */
void cfg_document_wipe(yaml_document_t *doc)
{
    for (yaml_node_t *n = doc->nodes.start; n && n < doc->nodes.top; n++)
        if (n->type == YAML_SCALAR_NODE)
            mem_wipe(n->data.scalar.value, n->data.scalar.length);
    yaml_document_delete(doc);
}

/* Best effort: wipes libyaml's input copies before freeing the parser. */
void cfg_parser_wipe(yaml_parser_t *parser)
{
    if (parser->buffer.start)
        mem_wipe(parser->buffer.start, (size_t)(parser->buffer.end - parser->buffer.start));
    if (parser->raw_buffer.start)
        mem_wipe(parser->raw_buffer.start,
                 (size_t)(parser->raw_buffer.end - parser->raw_buffer.start));
    yaml_parser_delete(parser);
}

char *cfg_dir_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    if (!slash)
        return strdup(".");
    if (slash == name)
        return strdup("/");
    return strndup(name, (size_t)(slash - name));
}

/* ---- API --------------------------------------------------------------- */

/* The built-ins, parsed once for the process (tests, fuzzers, tools that
 * have no configuration). */
static pthread_mutex_t builtin_mu = PTHREAD_MUTEX_INITIALIZER;
static struct streamdef_arena *builtin_arena;
static const struct stream_def *builtin_defs[8];

const struct stream_def *streamdef_builtin(const char *name)
{
    const struct stream_def *d = NULL;
    size_t i = 0;
    while (streamdef_builtin_names[i] && strcmp(streamdef_builtin_names[i], name) != 0)
        i++;
    if (!streamdef_builtin_names[i] || i >= sizeof(builtin_defs) / sizeof(builtin_defs[0]))
        return NULL;
    pthread_mutex_lock(&builtin_mu);
    if (!builtin_arena)
        builtin_arena = streamdef_arena_new();
    if (!builtin_defs[i] && builtin_arena &&
        load_builtin(name, builtin_arena, &builtin_defs[i]) != 0)
        log_error("built-in mapping '%s' does not parse: %s", name, err_msg());
    d = builtin_defs[i];
    pthread_mutex_unlock(&builtin_mu);
    return d;
}

int config_parse(struct config *cfg, const char *text, size_t len, const char *name)
{
    struct config tmp;
    struct parse p;
    yaml_parser_t parser;
    yaml_document_t doc, extra;
    char *protected_text = NULL;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    memset(&tmp, 0, sizeof(tmp));
    memset(&p, 0, sizeof(p));
    p.name = name ? name : "<config>";
    p.cfg = &tmp;
    p.doc = &doc;

    tmp.path = strdup(p.name);
    p.dir = cfg_dir_of(p.name);
    if (!tmp.path || !p.dir) {
        rc = cfg_nomem();
        goto out_strings;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = cfg_nomem();
        goto out_strings;
    }
    protected_text = malloc(len ? len : 1);
    if (!protected_text) {
        yaml_parser_delete(&parser);
        rc = cfg_nomem();
        goto out_strings;
    }
    memcpy(protected_text, text, len);
    cfg_protect_references(protected_text, len);
    text = protected_text;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = cfg_yaml_failure(&p, &parser, text, len);
        goto out_parser;
    }
    p.root = yaml_document_get_root_node(&doc);
    if (p.root) {
        /* A second document would be silently ignored: refuse it. */
        if (!yaml_parser_load(&parser, &extra)) {
            rc = cfg_yaml_failure(&p, &parser, text, len);
            goto out_doc;
        }
        yaml_node_t *second = yaml_document_get_root_node(&extra);
        rc = second ? cfg_error(&p, second, "more than one YAML document; expected one") : 0;
        cfg_document_wipe(&extra);
        if (rc)
            goto out_doc;
    }
    rc = parse_root(&p);

out_doc:
    cfg_document_wipe(&doc);
out_parser:
    cfg_parser_wipe(&parser);
out_strings:
    free(p.dir);
    if (protected_text) {
        mem_wipe(protected_text, len);
        free(protected_text);
    }
    if (rc) {
        config_release(&tmp);
        return rc;
    }
    *cfg = tmp;
    return 0;
}

int config_load(struct config *cfg, const char *path)
{
    struct buf text;
    char chunk[8192];
    int rc = 0;
    memset(cfg, 0, sizeof(*cfg));
    buf_init(&text, CONFIG_MAX_BYTES);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(ML_ECONFIG, "cannot read '%s': %s", path, strerror(errno));
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_set(ML_ECONFIG, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        rc = buf_add(&text, chunk, (size_t)n);
        if (rc == ML_ETOOBIG)
            rc = err_set(ML_ECONFIG, "cannot read '%s': larger than %zu bytes", path,
                         CONFIG_MAX_BYTES);
        if (rc)
            break;
    }
    mem_wipe(chunk, sizeof(chunk));
    close(fd);
    if (!rc)
        rc = config_parse(cfg, text.data, text.len, path);
    buf_wipe(&text);
    return rc;
}

void config_release(struct config *cfg)
{
    free(cfg->path);
    release_section(SPECS(warehouse_specs), cfg);
    tls_release(&cfg->warehouse.tls);
    release_hosts(cfg->warehouse.hosts, cfg->warehouse.nhosts);
    release_hosts(cfg->admin.hosts, cfg->admin.nhosts);
    release_section(SPECS(admin_specs), cfg);
    tls_release(&cfg->admin.tls);
    release_section(SPECS(accounts_specs), cfg);
    release_section(SPECS(account_specs), &cfg->accounts.analyst);
    release_section(SPECS(account_specs), &cfg->accounts.steward);
    release_section(SPECS(roles_specs), cfg);
    release_section(SPECS(pii_specs), cfg);
    for (size_t i = 0; i < cfg->check.nthresholds; i++)
        free(cfg->check.thresholds[i].view);
    free(cfg->check.thresholds);
    free(cfg->log_level);
    for (size_t i = 0; i < cfg->nsources; i++) {
        free(cfg->sources[i].name);
        release_section(source_specs, SOURCE_NSPECS, &cfg->sources[i]);
        source_credentials_release(&cfg->sources[i]);
    }
    free(cfg->sources);
    for (size_t i = 0; i < cfg->nstreams; i++) {
        free(cfg->streams[i].name);
        free(cfg->streams[i].source);
        free(cfg->streams[i].path);
        free(cfg->streams[i].mapping);
    }
    free(cfg->streams);
    streamdef_arena_free(cfg->defs);
    memset(cfg, 0, sizeof(*cfg));
}

const struct config_source *config_find_source(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nsources; i++)
        if (cfg->sources[i].name && strcmp(cfg->sources[i].name, name) == 0)
            return &cfg->sources[i];
    return NULL;
}

const struct config_stream *config_find_stream(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nstreams; i++)
        if (cfg->streams[i].name && strcmp(cfg->streams[i].name, name) == 0)
            return &cfg->streams[i];
    return NULL;
}

long config_threshold_for(const struct config *cfg, const char *view)
{
    for (size_t i = 0; i < cfg->check.nthresholds; i++)
        if (strcmp(cfg->check.thresholds[i].view, view) == 0)
            return cfg->check.thresholds[i].max;
    return cfg->check.default_max;
}
