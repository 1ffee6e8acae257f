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
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "buf.h"
#include "error.h"
#include "banned.h"

#define CONFIG_MAX_BYTES ((size_t)16 << 20) /* a config file is small */
#define SCALAR_MAX_BYTES ((size_t)1 << 20)  /* one value after ${VAR} substitution */
#define SECRET_LINE_MAX  ((size_t)65536)    /* first line of a password/key file */
#define SHOW_MAX         64                 /* bytes of a value echoed in messages */
#define SHOW_BUF         (SHOW_MAX * 4 + 8)
#define KEYPATH_BUF      320
#define ENV_NAME_MAX     255

/* get_scalar() flags */
#define SC_SECRET    1u /* wipe every intermediate copy */
#define SC_ALLOW_NUL 2u /* value may contain NUL bytes (digest key) */

struct parse {
    yaml_document_t *doc;
    const char *name; /* file name for messages */
    char *dir;        /* directory of the file, for relative paths */
    yaml_node_t *root;
    struct config *cfg; /* being filled; released by the caller on failure */
};

/* A known key of a section and its value; both NULL when the key is absent. */
struct field {
    yaml_node_t *key;
    yaml_node_t *value;
};

/* An interpolated scalar value: malloc'd, NUL-terminated at s[len]. */
struct scalar {
    char *s;
    size_t len;
    int subst; /* a ${VAR} was substituted: do not echo the value */
};

/* ---- messages ---------------------------------------------------------- */

/* Records "<file>:<line>:<col>: <text>" for `node` (1:1 when NULL) and
 * returns ML_ECONFIG. */
static int cfg_error(struct parse *p, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int cfg_error(struct parse *p, const yaml_node_t *node, const char *fmt, ...)
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
static const char *show(char *dst, const struct scalar *v)
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
static const char *where(char *dst, size_t cap, const char *path)
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
static const char *join(char *dst, size_t cap, const char *path, const char *key)
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

static const char *node_kind(const yaml_node_t *n)
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

static int nomem(void)
{
    return err_set(ML_ENOMEM, "out of memory reading the configuration");
}

/* ---- nodes ------------------------------------------------------------- */

static yaml_node_t *node_at(struct parse *p, int index)
{
    return yaml_document_get_node(p->doc, index);
}

static int scalar_is(const yaml_node_t *n, const char *s)
{
    size_t len = strlen(s);
    return n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
           memcmp(n->data.scalar.value, s, len) == 0;
}

/* A plain (unquoted) YAML null: empty, ~, null, Null, NULL. */
static int is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return n->data.scalar.length == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
           scalar_is(n, "Null") || scalar_is(n, "NULL");
}

static int same_scalar(const yaml_node_t *a, const yaml_node_t *b)
{
    return a->data.scalar.length == b->data.scalar.length &&
           memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0;
}

/* A key for a message: only its leading [A-Za-z0-9_.-] characters, then
 * "..." if there was more. A flow-style typo such as `{ password S3cret }`
 * makes the secret part of a key, so the rest of a key is never echoed. */
static const char *key_show(char *dst, const yaml_node_t *k)
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
static int map_check(struct parse *p, yaml_node_t *node, const char *path)
{
    char w[KEYPATH_BUF], tmp[SHOW_BUF];
    if (is_null(node))
        return 0;
    if (node->type != YAML_MAPPING_NODE) {
        if (path[0])
            return cfg_error(p, node, "expected a mapping for '%s', got %s", path, node_kind(node));
        return cfg_error(p, node, "expected a mapping at top level, got %s", node_kind(node));
    }
    yaml_node_pair_t *start = node->data.mapping.pairs.start;
    yaml_node_pair_t *top = node->data.mapping.pairs.top;
    for (yaml_node_pair_t *pair = start; pair < top; pair++) {
        yaml_node_t *k = node_at(p, pair->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            return cfg_error(p, k ? k : node, "expected a scalar key %s, got %s",
                             where(w, sizeof(w), path), k ? node_kind(k) : "nothing");
        for (yaml_node_pair_t *prev = start; prev < pair; prev++) {
            if (same_scalar(node_at(p, prev->key), k))
                return cfg_error(p, k, "duplicate key '%s' %s", key_show(tmp, k),
                                 where(w, sizeof(w), path));
        }
    }
    return 0;
}

static size_t map_size(const yaml_node_t *node)
{
    if (node->type != YAML_MAPPING_NODE)
        return 0;
    return (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
}

/* Checks `node` with map_check() and that every key is one of names[0..n);
 * fields[i] receives the key and value of names[i] (NULL when absent). */
static int map_fields(struct parse *p, yaml_node_t *node, const char *path,
                      const char *const *names, struct field *fields, size_t n)
{
    static const char *const secret_keys[] = {"password", "digest_key", "secret_access_key",
                                              "session_token", NULL};
    char w[KEYPATH_BUF], tmp[SHOW_BUF];
    yaml_node_t *unknown = NULL, *unknown_value = NULL;
    memset(fields, 0, n * sizeof(*fields));
    int rc = map_check(p, node, path);
    if (rc || node->type != YAML_MAPPING_NODE)
        return rc;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = node_at(p, pair->key);
        yaml_node_t *v = node_at(p, pair->value);
        size_t i = 0;
        if (!v)
            return cfg_error(p, k, "missing value for key '%s' %s", key_show(tmp, k),
                             where(w, sizeof(w), path));
        while (i < n && !scalar_is(k, names[i]))
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
            if (fields[i].value && is_null(fields[i].value) &&
                strcmp(names[i], secret_keys[j]) == 0)
                return cfg_error(p, fields[i].value, "missing value for '%s'",
                                 join(w, sizeof(w), path, names[i]));
    if (unknown && is_null(unknown_value))
        return cfg_error(p, unknown,
                         "unknown key without a value %s (not shown: it may be a "
                         "misplaced value)",
                         where(w, sizeof(w), path));
    if (unknown)
        return cfg_error(p, unknown, "unknown key '%s' %s", key_show(tmp, unknown),
                         where(w, sizeof(w), path));
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
static void protect_references(char *t, size_t len)
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
            /* ${NAME} as rewritten by protect_references() */
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

static void scalar_release(struct scalar *v)
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
static int get_scalar(struct parse *p, const yaml_node_t *node, const char *keypath, unsigned flags,
                      struct scalar *out)
{
    struct buf b;
    int rc;
    out->s = NULL;
    out->len = 0;
    out->subst = 0;
    if (node->type != YAML_SCALAR_NODE)
        return cfg_error(p, node, "expected a scalar for '%s', got %s", keypath, node_kind(node));
    if (is_null(node))
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
        return nomem();
    return 0;
fail:
    buf_wipe(&b);
    out->subst = 0;
    return rc;
}

/* Replaces *dst (freed) by the string value of `f`, when present. */
static int set_str(struct parse *p, const struct field *f, const char *path, const char *key,
                   char **dst)
{
    char kp[KEYPATH_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = get_scalar(p, f->value, join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    if (v.len == 0) {
        scalar_release(&v);
        return cfg_error(p, f->value, "value of '%s' is empty", kp);
    }
    free(*dst);
    *dst = v.s;
    return 0;
}

static int set_default(char **dst, const char *def)
{
    if (*dst || !def)
        return 0;
    *dst = strdup(def);
    return *dst ? 0 : nomem();
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
    int rc = get_scalar(p, f->value, join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    int prc = parse_decimal(v.s, &n);
    if (prc == -1)
        rc = cfg_error(p, f->value, "%s is not an integer for '%s'", show(sh, &v), kp);
    else if (prc == -2 || n < min || n > max) {
        if (max == LLONG_MAX)
            rc = cfg_error(p, f->value, "%s is out of range for '%s' (must be at least %lld)",
                           show(sh, &v), kp, min);
        else
            rc = cfg_error(p, f->value, "%s is out of range for '%s' (%lld..%lld)", show(sh, &v),
                           kp, min, max);
    }
    scalar_release(&v);
    if (!rc)
        *out = n;
    return rc;
}

static int set_uint(struct parse *p, const struct field *f, const char *path, const char *key,
                    unsigned min, unsigned max, unsigned def, unsigned *out)
{
    long long n = def;
    int rc = set_int(p, f, path, key, min, max, &n);
    if (!rc)
        *out = (unsigned)n;
    return rc;
}

/* Kinds of names a config may hold, and what each allows. */
enum name_kind { NAME_IDENT, NAME_USER, NAME_HOST, NAME_LABEL };

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

static int name_ok(enum name_kind kind, const char *s, size_t len)
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

static int name_error(struct parse *p, const yaml_node_t *node, enum name_kind kind,
                      const char *shown, const char *keypath)
{
    return cfg_error(p, node, "%s is not a valid %s for '%s': use 1..%zu characters from %s", shown,
                     name_rules[kind].what, keypath, name_rules[kind].max,
                     name_rules[kind].allowed);
}

/* set_str() and then a check of the value against `kind`. */
static int set_name(struct parse *p, const struct field *f, const char *path, const char *key,
                    enum name_kind kind, char **dst)
{
    char kp[KEYPATH_BUF], sh[SHOW_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = get_scalar(p, f->value, join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    if (!name_ok(kind, v.s, v.len)) {
        rc = name_error(p, f->value, kind, show(sh, &v), kp);
        scalar_release(&v);
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
    if (name_ok(kind, (const char *)k->data.scalar.value, k->data.scalar.length))
        return 0;
    return cfg_error(p, k,
                     "'%s' is not a valid %s for a key in '%s': use 1..%zu characters from %s",
                     key_show(tmp, k), name_rules[kind].what, path, name_rules[kind].max,
                     name_rules[kind].allowed);
}

/* Matches the value of `f` against words[] (NULL-terminated); *out is the
 * index. `list` spells the choices for the message. */
static int set_enum(struct parse *p, const struct field *f, const char *path, const char *key,
                    const char *const *words, const char *list, int *out)
{
    char kp[KEYPATH_BUF], sh[SHOW_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = get_scalar(p, f->value, join(kp, sizeof(kp), path, key), 0, &v);
    if (rc)
        return rc;
    for (int i = 0; words[i]; i++) {
        if (strcmp(v.s, words[i]) == 0) {
            *out = i;
            scalar_release(&v);
            return 0;
        }
    }
    rc = cfg_error(p, f->value, "%s is not a valid value for '%s': use %s", show(sh, &v), kp, list);
    scalar_release(&v);
    return rc;
}

/* ---- files ------------------------------------------------------------- */

/* `rel` resolved against the config file's directory unless absolute. */
static int resolve_path(struct parse *p, const char *rel, struct buf *out)
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
        rc = get_scalar(p, val->value, join(kp, sizeof(kp), path, val_key),
                        SC_SECRET | (allow_nul ? SC_ALLOW_NUL : 0u), &v);
        if (rc)
            return rc;
        *out = v.s;
        *outlen = v.len;
        return 0;
    }
    if (!file->value)
        return 0;
    rc = get_scalar(p, file->value, join(kp, sizeof(kp), path, file_key), 0, &v);
    if (rc)
        return rc;
    struct buf full = BUF_INIT;
    struct buf secret;
    buf_init(&secret, SECRET_LINE_MAX);
    if (v.len == 0) {
        rc = cfg_error(p, file->value, "value of '%s' is empty", kp);
        goto out;
    }
    rc = resolve_path(p, v.s, &full);
    if (rc)
        goto out;
    rc = read_first_line(p, file->value, kp, full.data, allow_nul, &secret);
    if (rc)
        goto out;
    *out = buf_detach(&secret, outlen);
    if (!*out)
        rc = nomem();
out:
    buf_wipe(&secret);
    buf_release(&full);
    scalar_release(&v);
    return rc;
}

static void free_secret(char *s)
{
    if (s) {
        mem_wipe(s, strlen(s));
        free(s);
    }
}

/* ---- sections ---------------------------------------------------------- */

/* Where to report a key missing from the section `sec`: at its key, else at
 * the document root. */
static const yaml_node_t *sec_pos(struct parse *p, const struct field *sec)
{
    return sec->key ? sec->key : p->root;
}

enum {
    WH_HOST,
    WH_PORT,
    WH_SOCKET,
    WH_DATABASE,
    WH_USER,
    WH_PASSWORD,
    WH_PASSWORD_FILE,
    WH_CONNECT_TIMEOUT,
    WH_LOCK_WAIT_TIMEOUT,
    WH_TLS,
    WH_N
};
static const char *const warehouse_keys[WH_N] = {
    [WH_HOST] = "host",
    [WH_PORT] = "port",
    [WH_SOCKET] = "socket",
    [WH_DATABASE] = "database",
    [WH_USER] = "user",
    [WH_PASSWORD] = "password",
    [WH_PASSWORD_FILE] = "password_file",
    [WH_CONNECT_TIMEOUT] = "connect_timeout",
    [WH_LOCK_WAIT_TIMEOUT] = "lock_wait_timeout",
    [WH_TLS] = "tls",
};

enum { TLS_K_MODE, TLS_K_CA, TLS_K_CERT, TLS_K_KEY, TLS_K_N };
static const char *const tls_keys[TLS_K_N] = {
    [TLS_K_MODE] = "mode", [TLS_K_CA] = "ca", [TLS_K_CERT] = "cert", [TLS_K_KEY] = "key"};
static const char *const tls_mode_words[] = {"off", "required", "verify_ca", "verify_identity",
                                             NULL};

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
    rc = get_scalar(p, f->value, join(kp, sizeof(kp), path, key), 0, &v);
    if (!rc && v.len == 0)
        rc = cfg_error(p, f->value, "value of '%s' is empty", kp);
    if (!rc)
        rc = resolve_path(p, v.s, &full);
    if (!rc) {
        free(*dst);
        *dst = buf_detach(&full, NULL);
        if (!*dst)
            rc = nomem();
    }
    buf_release(&full);
    scalar_release(&v); /* holds nothing when get_scalar failed */
    return rc;
}

/* `<path>.tls: {mode, ca, cert, key}` into *tls (see struct config_tls). */
static int parse_tls(struct parse *p, const struct field *sec, const char *parent,
                     struct config_tls *tls)
{
    char path[KEYPATH_BUF];
    struct field f[TLS_K_N];
    int mode = TLS_OFF;
    int rc;
    if (!sec->value)
        return 0;
    snprintf(path, sizeof(path), "%s.tls", parent);
    rc = map_fields(p, sec->value, path, tls_keys, f, TLS_K_N);
    if (!rc)
        rc = set_enum(p, &f[TLS_K_MODE], path, "mode", tls_mode_words,
                      "off, required, verify_ca or verify_identity", &mode);
    if (!rc)
        rc = set_path(p, &f[TLS_K_CA], path, "ca", &tls->ca);
    if (!rc)
        rc = set_path(p, &f[TLS_K_CERT], path, "cert", &tls->cert);
    if (!rc)
        rc = set_path(p, &f[TLS_K_KEY], path, "key", &tls->key);
    if (rc)
        return rc;
    tls->mode = (enum tls_mode)mode;
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
        return nomem();
    if (src->cert && !(dst->cert = strdup(src->cert)))
        return nomem();
    if (src->key && !(dst->key = strdup(src->key)))
        return nomem();
    return 0;
}

static void tls_release(struct config_tls *tls)
{
    free(tls->ca);
    free(tls->cert);
    free(tls->key);
    memset(tls, 0, sizeof(*tls));
}

static int parse_warehouse(struct parse *p, const struct field *sec)
{
    const char *path = "warehouse";
    struct field f[WH_N];
    size_t len = 0;
    int rc;
    if (!sec->value)
        return cfg_error(p, p->root, "missing required key 'warehouse' at top level");
    rc = map_fields(p, sec->value, path, warehouse_keys, f, WH_N);
    if (!rc)
        rc = set_str(p, &f[WH_HOST], path, "host", &p->cfg->warehouse.host);
    if (!rc)
        rc = set_uint(p, &f[WH_PORT], path, "port", 1, 65535, 3306, &p->cfg->warehouse.port);
    if (!rc)
        rc = set_str(p, &f[WH_SOCKET], path, "socket", &p->cfg->warehouse.socket);
    if (!rc)
        rc =
            set_name(p, &f[WH_DATABASE], path, "database", NAME_IDENT, &p->cfg->warehouse.database);
    if (!rc)
        rc = set_name(p, &f[WH_USER], path, "user", NAME_USER, &p->cfg->warehouse.user);
    if (!rc)
        rc = set_secret(p, &f[WH_PASSWORD], &f[WH_PASSWORD_FILE], path, "password", "password_file",
                        0, &p->cfg->warehouse.password, &len);
    if (!rc)
        rc = set_uint(p, &f[WH_CONNECT_TIMEOUT], path, "connect_timeout", 1, 3600, 10,
                      &p->cfg->warehouse.connect_timeout_s);
    if (!rc)
        rc = set_uint(p, &f[WH_LOCK_WAIT_TIMEOUT], path, "lock_wait_timeout", 1, 86400, 0,
                      &p->cfg->warehouse.lock_wait_timeout_s);
    if (!rc)
        rc = parse_tls(p, &f[WH_TLS], path, &p->cfg->warehouse.tls);
    if (rc)
        return rc;
    if (!p->cfg->warehouse.database)
        return cfg_error(p, sec_pos(p, sec), "missing required key 'database' in 'warehouse'");
    if (!p->cfg->warehouse.user)
        return cfg_error(p, sec_pos(p, sec), "missing required key 'user' in 'warehouse'");
    if (!p->cfg->warehouse.password)
        return cfg_error(p, sec_pos(p, sec),
                         "missing required key 'password' (or 'password_file') in 'warehouse'");
    if (!p->cfg->warehouse.socket)
        return set_default(&p->cfg->warehouse.host, "127.0.0.1");
    return 0;
}

enum { AD_USER, AD_PASSWORD, AD_PASSWORD_FILE, AD_HOST, AD_PORT, AD_SOCKET, AD_TLS, AD_N };
static const char *const admin_keys[AD_N] = {
    [AD_USER] = "user", [AD_PASSWORD] = "password", [AD_PASSWORD_FILE] = "password_file",
    [AD_HOST] = "host", [AD_PORT] = "port",         [AD_SOCKET] = "socket",
    [AD_TLS] = "tls",
};

/* Needs the warehouse parsed: admin's endpoint defaults to it. Setting
 * `host` or `socket` here replaces the warehouse's endpoint as a whole (so a
 * warehouse socket is not inherited under an admin host); `port` defaults to
 * the warehouse's port. */
static int parse_admin(struct parse *p, const struct field *sec)
{
    const char *path = "admin";
    struct config *c = p->cfg;
    struct field f[AD_N];
    size_t len = 0;
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, path, admin_keys, f, AD_N);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_name(p, &f[AD_USER], path, "user", NAME_USER, &c->admin.user);
    if (!rc)
        rc = set_secret(p, &f[AD_PASSWORD], &f[AD_PASSWORD_FILE], path, "password", "password_file",
                        0, &c->admin.password, &len);
    if (!rc)
        rc = set_str(p, &f[AD_HOST], path, "host", &c->admin.host);
    if (!rc)
        rc = set_uint(p, &f[AD_PORT], path, "port", 1, 65535, c->warehouse.port, &c->admin.port);
    if (!rc)
        rc = set_str(p, &f[AD_SOCKET], path, "socket", &c->admin.socket);
    if (!rc)
        rc = f[AD_TLS].value ? parse_tls(p, &f[AD_TLS], path, &c->admin.tls)
                             : tls_copy(&c->admin.tls, &c->warehouse.tls);
    if (!rc)
        rc = set_default(&c->admin.user, "root");
    if (rc || c->admin.host || c->admin.socket)
        return rc;
    rc = set_default(&c->admin.host, c->warehouse.host);
    if (!rc)
        rc = set_default(&c->admin.socket, c->warehouse.socket);
    return rc;
}

enum { AC_USER, AC_PASSWORD, AC_PASSWORD_FILE, AC_N };
static const char *const account_keys[AC_N] = {
    [AC_USER] = "user", [AC_PASSWORD] = "password", [AC_PASSWORD_FILE] = "password_file"};

static int parse_account(struct parse *p, const struct field *sec, const char *path,
                         const char *def_user, struct config_account *acc)
{
    struct field f[AC_N];
    size_t len = 0;
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, path, account_keys, f, AC_N);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_name(p, &f[AC_USER], path, "user", NAME_USER, &acc->user);
    if (!rc)
        rc = set_secret(p, &f[AC_PASSWORD], &f[AC_PASSWORD_FILE], path, "password", "password_file",
                        0, &acc->password, &len);
    if (!rc)
        rc = set_default(&acc->user, def_user);
    return rc;
}

enum { ACS_HOST, ACS_ANALYST, ACS_STEWARD, ACS_N };
static const char *const accounts_keys[ACS_N] = {
    [ACS_HOST] = "host", [ACS_ANALYST] = "analyst", [ACS_STEWARD] = "steward"};

static int parse_accounts(struct parse *p, const struct field *sec)
{
    const char *path = "accounts";
    struct field f[ACS_N];
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, path, accounts_keys, f, ACS_N);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_name(p, &f[ACS_HOST], path, "host", NAME_HOST, &p->cfg->accounts.host);
    if (!rc)
        rc = parse_account(p, &f[ACS_ANALYST], "accounts.analyst", "analyst",
                           &p->cfg->accounts.analyst);
    if (!rc)
        rc = parse_account(p, &f[ACS_STEWARD], "accounts.steward", "pii_steward",
                           &p->cfg->accounts.steward);
    if (!rc)
        rc = set_default(&p->cfg->accounts.host, "%");
    return rc;
}

enum { RO_LOADER, RO_ANALYST, RO_STEWARD, RO_N };
static const char *const roles_keys[RO_N] = {
    [RO_LOADER] = "loader", [RO_ANALYST] = "analyst", [RO_STEWARD] = "steward"};

static int parse_roles(struct parse *p, const struct field *sec)
{
    const char *path = "roles";
    struct field f[RO_N];
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, path, roles_keys, f, RO_N);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_name(p, &f[RO_LOADER], path, "loader", NAME_IDENT, &p->cfg->roles.loader);
    if (!rc)
        rc = set_name(p, &f[RO_ANALYST], path, "analyst", NAME_IDENT, &p->cfg->roles.analyst);
    if (!rc)
        rc = set_name(p, &f[RO_STEWARD], path, "steward", NAME_IDENT, &p->cfg->roles.steward);
    if (!rc)
        rc = set_default(&p->cfg->roles.loader, "maskload_loader_role");
    if (!rc)
        rc = set_default(&p->cfg->roles.analyst, "maskload_analyst_role");
    if (!rc)
        rc = set_default(&p->cfg->roles.steward, "maskload_steward_role");
    return rc;
}

enum { PII_DIGEST_KEY, PII_DIGEST_KEY_FILE, PII_BIRTH_DATE, PII_N };
static const char *const pii_keys[PII_N] = {[PII_DIGEST_KEY] = "digest_key",
                                            [PII_DIGEST_KEY_FILE] = "digest_key_file",
                                            [PII_BIRTH_DATE] = "birth_date"};

static int parse_pii(struct parse *p, const struct field *sec)
{
    static const char *const birth_words[] = {
        [BIRTH_DATE_YEAR] = "year", [BIRTH_DATE_DATE] = "date", NULL};
    const char *path = "pii";
    struct field f[PII_N];
    char *key = NULL;
    size_t len = 0;
    int policy = BIRTH_DATE_YEAR;
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, path, pii_keys, f, PII_N);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_secret(p, &f[PII_DIGEST_KEY], &f[PII_DIGEST_KEY_FILE], path, "digest_key",
                        "digest_key_file", 1, &key, &len);
    if (rc)
        return rc;
    p->cfg->pii.digest_key = (unsigned char *)key;
    p->cfg->pii.digest_key_len = key ? len : 0;
    rc = set_enum(p, &f[PII_BIRTH_DATE], path, "birth_date", birth_words, "year or date", &policy);
    p->cfg->pii.birth_date = (enum birth_date_policy)policy;
    return rc;
}

enum { LD_BATCH_SIZE, LD_SURROGATE_CACHE, LD_METHOD, LD_PREFETCH_PAGES, LD_N };
static const char *const load_keys[LD_N] = {[LD_BATCH_SIZE] = "batch_size",
                                            [LD_SURROGATE_CACHE] = "surrogate_cache",
                                            [LD_METHOD] = "method",
                                            [LD_PREFETCH_PAGES] = "prefetch_pages"};
static const char *const load_method_words[] = {"auto", "bulk", "insert", NULL};

static int parse_load(struct parse *p, const struct field *sec)
{
    const char *path = "load";
    struct field f[LD_N];
    int method = LOAD_METHOD_AUTO;
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, path, load_keys, f, LD_N);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_uint(p, &f[LD_BATCH_SIZE], path, "batch_size", 1, 100000, 1000,
                      &p->cfg->load.batch_size);
    if (!rc)
        rc = set_uint(p, &f[LD_SURROGATE_CACHE], path, "surrogate_cache", 0, 10000000, 100000,
                      &p->cfg->load.surrogate_cache);
    if (!rc)
        rc = set_enum(p, &f[LD_METHOD], path, "method", load_method_words, "auto, bulk or insert",
                      &method);
    p->cfg->load.method = (enum load_method)method;
    if (!rc)
        rc = set_uint(p, &f[LD_PREFETCH_PAGES], path, "prefetch_pages", 0, 64, 4,
                      &p->cfg->load.prefetch_pages);
    return rc;
}

enum { CK_DEFAULT_THRESHOLD, CK_THRESHOLDS, CK_N };
static const char *const check_keys[CK_N] = {
    [CK_DEFAULT_THRESHOLD] = "default_threshold", [CK_THRESHOLDS] = "thresholds"};

static int parse_thresholds(struct parse *p, yaml_node_t *node)
{
    const char *path = "check.thresholds";
    struct config *c = p->cfg;
    int rc = map_check(p, node, path);
    size_t n = map_size(node);
    if (rc || n == 0)
        return rc;
    c->check.thresholds = calloc(n, sizeof(*c->check.thresholds));
    if (!c->check.thresholds)
        return nomem();
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        struct config_threshold *t = &c->check.thresholds[c->check.nthresholds];
        struct field f = {node_at(p, pair->key), node_at(p, pair->value)};
        long long max = 0;
        rc = key_name(p, f.key, NAME_IDENT, path);
        if (rc)
            return rc;
        t->view = strdup((const char *)f.key->data.scalar.value);
        if (!t->view)
            return nomem();
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
    struct field f[CK_N];
    long long def = 0;
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, "check", check_keys, f, CK_N);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_int(p, &f[CK_DEFAULT_THRESHOLD], "check", "default_threshold", 0, LONG_MAX, &def);
    if (rc)
        return rc;
    p->cfg->check.default_max = (long)def;
    if (f[CK_THRESHOLDS].value)
        rc = parse_thresholds(p, f[CK_THRESHOLDS].value);
    return rc;
}

static int parse_log(struct parse *p, const struct field *sec)
{
    static const char *const level_keys[] = {"level"};
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    struct field f[1];
    int level = 2;
    int rc = 0;
    if (sec->value)
        rc = map_fields(p, sec->value, "log", level_keys, f, 1);
    else
        memset(f, 0, sizeof(f));
    if (!rc)
        rc = set_enum(p, &f[0], "log", "level", levels, "error, warn, info or debug", &level);
    if (!rc)
        rc = set_default(&p->cfg->log_level, levels[level]);
    return rc;
}

/* Source keys, and which kinds accept each. */
enum {
    SK_KIND,
    SK_BASE_URL,
    SK_PAGE_SIZE,
    SK_MAX_PAGES,
    SK_TIMEOUT,
    SK_CONNECT_TIMEOUT,
    SK_CA_FILE,
    SK_LOW_SPEED_LIMIT,
    SK_LOW_SPEED_TIME,
    SK_RETRIES,
    SK_RETRY_BASE_MS,
    SK_RETRY_MAX_MS,
    SK_RETRY_AFTER_MAX,
    SK_QUEUE_URL,
    SK_REGION,
    SK_ENDPOINT,
    SK_WAIT_SECONDS,
    SK_VISIBILITY_TIMEOUT,
    SK_ACCESS_KEY_ID,
    SK_SECRET_ACCESS_KEY,
    SK_SESSION_TOKEN,
    SK_MAX_MESSAGES,
    SK_ON_MALFORMED,
    SK_PATH,
    SK_FORMAT,
    SK_N
};

#define K_HTTP (1u << SOURCE_HTTP)
#define K_SQS  (1u << SOURCE_SQS)
#define K_FILE (1u << SOURCE_FILE)

static const struct {
    const char *name;
    unsigned kinds;
    unsigned flags; /* SC_SECRET for credentials */
} source_keys[SK_N] = {
    [SK_KIND] = {"kind", K_HTTP | K_SQS | K_FILE, 0},
    [SK_BASE_URL] = {"base_url", K_HTTP, 0},
    [SK_PAGE_SIZE] = {"page_size", K_HTTP | K_FILE, 0},
    [SK_MAX_PAGES] = {"max_pages", K_HTTP, 0},
    [SK_TIMEOUT] = {"timeout", K_HTTP | K_SQS, 0},
    [SK_CONNECT_TIMEOUT] = {"connect_timeout", K_HTTP | K_SQS, 0},
    [SK_CA_FILE] = {"ca_file", K_HTTP | K_SQS, 0},
    [SK_LOW_SPEED_LIMIT] = {"low_speed_limit", K_HTTP, 0},
    [SK_LOW_SPEED_TIME] = {"low_speed_time", K_HTTP, 0},
    [SK_RETRIES] = {"retries", K_HTTP, 0},
    [SK_RETRY_BASE_MS] = {"retry_base_ms", K_HTTP, 0},
    [SK_RETRY_MAX_MS] = {"retry_max_ms", K_HTTP, 0},
    [SK_RETRY_AFTER_MAX] = {"retry_after_max", K_HTTP, 0},
    [SK_QUEUE_URL] = {"queue_url", K_SQS, 0},
    [SK_REGION] = {"region", K_SQS, 0},
    [SK_ENDPOINT] = {"endpoint", K_SQS, 0},
    [SK_WAIT_SECONDS] = {"wait_seconds", K_SQS, 0},
    [SK_VISIBILITY_TIMEOUT] = {"visibility_timeout", K_SQS, 0},
    [SK_ACCESS_KEY_ID] = {"access_key_id", K_SQS, 0},
    [SK_SECRET_ACCESS_KEY] = {"secret_access_key", K_SQS, SC_SECRET},
    [SK_SESSION_TOKEN] = {"session_token", K_SQS, SC_SECRET},
    [SK_MAX_MESSAGES] = {"max_messages", K_SQS, 0},
    [SK_ON_MALFORMED] = {"on_malformed", K_SQS, 0},
    [SK_PATH] = {"path", K_FILE, 0},
    [SK_FORMAT] = {"format", K_FILE, 0},
};

static const char *const kind_words[] = {
    [SOURCE_HTTP] = "http", [SOURCE_SQS] = "sqs", [SOURCE_FILE] = "file", NULL};
static const char *const file_format_words[] = {
    [FILE_FORMAT_AUTO] = "auto", [FILE_FORMAT_JSONL] = "jsonl", [FILE_FORMAT_JSON] = "json", NULL};

static int url_ok(const char *u)
{
    if (strncasecmp(u, "http://", 7) == 0)
        return u[7] != '\0' && u[7] != '/';
    if (strncasecmp(u, "https://", 8) == 0)
        return u[8] != '\0' && u[8] != '/';
    return 0;
}

static const char *const malformed_words[] = {"reject", "dead_letter", NULL};

/* A secret scalar of `f` (when present) into *dst; empty is an error. */
static int set_secret_str(struct parse *p, const struct field *f, const char *path, const char *key,
                          char **dst)
{
    char kp[KEYPATH_BUF];
    struct scalar v;
    if (!f->value)
        return 0;
    int rc = get_scalar(p, f->value, join(kp, sizeof(kp), path, key), SC_SECRET, &v);
    if (rc)
        return rc;
    if (v.len == 0) {
        scalar_release(&v);
        return cfg_error(p, f->value, "value of '%s' is empty", kp);
    }
    free_secret(*dst);
    *dst = v.s;
    return 0;
}

/* The keys of kind sqs (see struct config_source), from the fields parsed
 * by parse_source. Defaults are set whatever the kind. */
static int parse_source_sqs(struct parse *p, yaml_node_t *k, const struct field *f,
                            const char *path, struct config_source *src)
{
    int m = SQS_MALFORMED_REJECT;
    int rc = set_str(p, &f[SK_QUEUE_URL], path, "queue_url", &src->queue_url);
    if (!rc && src->queue_url && !url_ok(src->queue_url))
        rc = cfg_error(p, f[SK_QUEUE_URL].value,
                       "'%s.queue_url' must start with http:// or https:// and a host", path);
    if (!rc && src->kind == SOURCE_SQS && !src->queue_url)
        rc = cfg_error(p, k, "missing required key 'queue_url' in '%s'", path);
    if (!rc)
        rc = set_str(p, &f[SK_REGION], path, "region", &src->region);
    if (!rc && src->region) {
        size_t n = strlen(src->region);
        if (n > 64 || strspn(src->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
            rc = cfg_error(p, f[SK_REGION].value,
                           "'%s.region' must be an AWS region name such as 'eu-west-1'", path);
    }
    if (!rc)
        rc = set_str(p, &f[SK_ENDPOINT], path, "endpoint", &src->endpoint);
    if (!rc && src->endpoint && !url_ok(src->endpoint))
        rc = cfg_error(p, f[SK_ENDPOINT].value,
                       "'%s.endpoint' must start with http:// or https:// and a host", path);
    if (!rc)
        rc = set_uint(p, &f[SK_WAIT_SECONDS], path, "wait_seconds", 0, 20, 20, &src->wait_seconds);
    if (!rc)
        rc = set_uint(p, &f[SK_VISIBILITY_TIMEOUT], path, "visibility_timeout", 0, 43200, 300,
                      &src->visibility_timeout);
    if (!rc)
        rc = set_uint(p, &f[SK_MAX_MESSAGES], path, "max_messages", 1, 10, 10, &src->max_messages);
    if (!rc)
        rc = set_str(p, &f[SK_ACCESS_KEY_ID], path, "access_key_id", &src->access_key_id);
    if (!rc)
        rc = set_secret_str(p, &f[SK_SECRET_ACCESS_KEY], path, "secret_access_key",
                            &src->secret_access_key);
    if (!rc)
        rc = set_secret_str(p, &f[SK_SESSION_TOKEN], path, "session_token", &src->session_token);
    if (!rc && !src->access_key_id != !src->secret_access_key)
        rc =
            cfg_error(p, src->access_key_id ? f[SK_ACCESS_KEY_ID].key : f[SK_SECRET_ACCESS_KEY].key,
                      "'%s.access_key_id' and '%s.secret_access_key' go together; set both or "
                      "neither (neither: the AWS_* environment variables are used)",
                      path, path);
    if (!rc && src->session_token && !src->access_key_id)
        rc = cfg_error(p, f[SK_SESSION_TOKEN].key,
                       "'%s.session_token' needs 'access_key_id' and 'secret_access_key' beside it",
                       path);
    if (!rc)
        rc = set_enum(p, &f[SK_ON_MALFORMED], path, "on_malformed", malformed_words,
                      "reject or dead_letter", &m);
    if (!rc)
        src->on_malformed = (enum sqs_on_malformed)m;
    if (!rc && src->kind == SOURCE_SQS && src->timeout_s <= src->wait_seconds)
        rc = cfg_error(p, f[SK_TIMEOUT].value ? f[SK_TIMEOUT].value : f[SK_WAIT_SECONDS].value,
                       "'%s.timeout' (%u s) must exceed '%s.wait_seconds' (%u s)", path,
                       src->timeout_s, path, src->wait_seconds);
    return rc;
}

/* Parses the source whose key is `k` and value `v` into `src` (name set). */
static int parse_source(struct parse *p, yaml_node_t *k, yaml_node_t *v, struct config_source *src)
{
    const char *names[SK_N];
    struct field f[SK_N];
    char path[KEYPATH_BUF], kp[KEYPATH_BUF];
    int kind = SOURCE_HTTP;
    int rc;
    for (size_t i = 0; i < SK_N; i++)
        names[i] = source_keys[i].name;
    snprintf(path, sizeof(path), "sources.%s", src->name);
    if (!v)
        return cfg_error(p, k, "missing value for '%s'", path);
    rc = map_fields(p, v, path, names, f, SK_N);
    if (!rc)
        rc = set_enum(p, &f[SK_KIND], path, "kind", kind_words, "http, sqs or file", &kind);
    if (rc)
        return rc;
    src->kind = (enum source_kind)kind;
    for (size_t i = 0; i < SK_N; i++) {
        if (f[i].key && !(source_keys[i].kinds & (1u << kind)))
            return cfg_error(p, f[i].key, "unknown key '%s' in '%s' for kind '%s'",
                             source_keys[i].name, path, kind_words[kind]);
    }

    rc = set_str(p, &f[SK_BASE_URL], path, "base_url", &src->base_url);
    if (!rc && src->base_url && !url_ok(src->base_url))
        rc = cfg_error(p, f[SK_BASE_URL].value,
                       "'%s.base_url' must start with http:// or https:// and a host", path);
    if (!rc && kind == SOURCE_HTTP && !src->base_url)
        rc = cfg_error(p, k, "missing required key 'base_url' in '%s'", path);
    if (!rc)
        rc = set_uint(p, &f[SK_PAGE_SIZE], path, "page_size", 1, 10000, 100, &src->page_size);
    if (!rc)
        rc = set_uint(p, &f[SK_MAX_PAGES], path, "max_pages", 1, 1000000000, 1000000,
                      &src->max_pages);
    if (!rc)
        rc = set_uint(p, &f[SK_TIMEOUT], path, "timeout", 1, 86400, 60, &src->timeout_s);
    if (!rc)
        rc = set_uint(p, &f[SK_CONNECT_TIMEOUT], path, "connect_timeout", 1, 3600, 10,
                      &src->connect_timeout_s);
    if (!rc)
        rc = set_uint(p, &f[SK_LOW_SPEED_LIMIT], path, "low_speed_limit", 1, 1000000000, 1,
                      &src->low_speed_limit);
    if (!rc)
        rc = set_uint(p, &f[SK_LOW_SPEED_TIME], path, "low_speed_time", 1, 86400, 30,
                      &src->low_speed_time_s);
    if (!rc)
        rc = set_uint(p, &f[SK_RETRIES], path, "retries", 0, 100, 5, &src->retries);
    if (!rc)
        rc = set_uint(p, &f[SK_RETRY_BASE_MS], path, "retry_base_ms", 1, 3600000, 500,
                      &src->retry_base_ms);
    /* the cap may not be below the base; its default rises to the base */
    if (!rc)
        rc = set_uint(p, &f[SK_RETRY_MAX_MS], path, "retry_max_ms", src->retry_base_ms, 3600000,
                      src->retry_base_ms > 30000 ? src->retry_base_ms : 30000, &src->retry_max_ms);
    if (!rc)
        rc = set_uint(p, &f[SK_RETRY_AFTER_MAX], path, "retry_after_max", 0, 86400, 120,
                      &src->retry_after_max_s);
    if (!rc && f[SK_CA_FILE].value) {
        struct scalar ca;
        struct buf full = BUF_INIT;
        rc = get_scalar(p, f[SK_CA_FILE].value, join(kp, sizeof(kp), path, "ca_file"), 0, &ca);
        if (!rc && ca.len == 0)
            rc = cfg_error(p, f[SK_CA_FILE].value, "value of '%s' is empty", kp);
        if (!rc)
            rc = resolve_path(p, ca.s, &full);
        if (!rc) {
            src->ca_file = buf_detach(&full, NULL);
            if (!src->ca_file)
                rc = nomem();
        }
        buf_release(&full);
        scalar_release(&ca);
    }
    if (!rc) {
        int ff = FILE_FORMAT_AUTO;
        rc = set_enum(p, &f[SK_FORMAT], path, "format", file_format_words, "jsonl, json or auto",
                      &ff);
        src->file_format = (enum file_format)ff;
    }
    if (!rc && kind == SOURCE_FILE && !f[SK_PATH].value)
        rc = cfg_error(p, k, "missing required key 'path' in '%s'", path);
    if (!rc && f[SK_PATH].value) {
        struct scalar fp;
        struct buf full = BUF_INIT;
        rc = get_scalar(p, f[SK_PATH].value, join(kp, sizeof(kp), path, "path"), 0, &fp);
        if (!rc && fp.len == 0)
            rc = cfg_error(p, f[SK_PATH].value, "value of '%s' is empty", kp);
        if (!rc)
            rc = resolve_path(p, fp.s, &full);
        if (!rc) {
            src->file_path = buf_detach(&full, NULL);
            if (!src->file_path)
                rc = nomem();
        }
        buf_release(&full);
        scalar_release(&fp);
    }
    if (!rc)
        rc = parse_source_sqs(p, k, f, path, src);
    /* Keys of other kinds are validated as scalars (and their ${VAR}s
     * resolved) but not stored yet. */
    for (size_t i = SK_PATH + 1; !rc && i < SK_N; i++) {
        struct scalar tmp;
        if (!f[i].value)
            continue;
        rc = get_scalar(p, f[i].value, join(kp, sizeof(kp), path, source_keys[i].name),
                        source_keys[i].flags, &tmp);
        if (!rc)
            scalar_release(&tmp);
    }
    return rc;
}

static int parse_sources(struct parse *p, const struct field *sec)
{
    struct config *c = p->cfg;
    if (!sec->value)
        return 0;
    int rc = map_check(p, sec->value, "sources");
    size_t n = map_size(sec->value);
    if (rc || n == 0)
        return rc;
    c->sources = calloc(n, sizeof(*c->sources));
    if (!c->sources)
        return nomem();
    for (yaml_node_pair_t *pair = sec->value->data.mapping.pairs.start;
         pair < sec->value->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = node_at(p, pair->key);
        struct config_source *src = &c->sources[c->nsources];
        rc = key_name(p, k, NAME_LABEL, "sources");
        if (rc)
            return rc;
        src->name = strdup((const char *)k->data.scalar.value);
        if (!src->name)
            return nomem();
        c->nsources++;
        src->pos.line = (int)k->start_mark.line + 1;
        src->pos.column = (int)k->start_mark.column + 1;
        rc = parse_source(p, k, node_at(p, pair->value), src);
        if (rc)
            return rc;
    }
    return 0;
}

enum { ST_SOURCE, ST_PATH, ST_MAPPING, ST_N };
static const char *const stream_keys[ST_N] = {
    [ST_SOURCE] = "source", [ST_PATH] = "path", [ST_MAPPING] = "mapping"};

static const char *const mapping_words[] = {"users", "messages", "user_logins", NULL};
#define MAPPING_LIST "users, messages or user_logins"

/* Needs the sources parsed: `source` must name one. */
static int parse_stream(struct parse *p, yaml_node_t *k, yaml_node_t *v, struct config_stream *st)
{
    struct field f[ST_N];
    struct scalar src;
    char path[KEYPATH_BUF], kp[KEYPATH_BUF], sh[SHOW_BUF];
    int m = 0;
    int rc;
    snprintf(path, sizeof(path), "streams.%s", st->name);
    if (!v)
        return cfg_error(p, k, "missing value for '%s'", path);
    rc = map_fields(p, v, path, stream_keys, f, ST_N);
    if (rc)
        return rc;
    if (!f[ST_SOURCE].value)
        return cfg_error(p, k, "missing required key 'source' in '%s'", path);
    rc = get_scalar(p, f[ST_SOURCE].value, join(kp, sizeof(kp), path, "source"), 0, &src);
    if (rc)
        return rc;
    if (!config_find_source(p->cfg, src.s)) {
        rc = cfg_error(p, f[ST_SOURCE].value, "unknown source %s in '%s'", show(sh, &src), path);
        scalar_release(&src);
        return rc;
    }
    st->source = src.s;
    rc = set_str(p, &f[ST_PATH], path, "path", &st->path);
    if (!rc)
        rc = set_enum(p, &f[ST_MAPPING], path, "mapping", mapping_words, MAPPING_LIST, &m);
    if (rc)
        return rc;
    if (f[ST_MAPPING].value)
        return set_default(&st->mapping, mapping_words[m]);
    for (m = 0; mapping_words[m]; m++)
        if (strcmp(st->name, mapping_words[m]) == 0)
            return set_default(&st->mapping, mapping_words[m]);
    return cfg_error(
        p, k,
        "missing required key 'mapping' in '%s' (the stream's name is not one of " MAPPING_LIST ")",
        path);
}

static int parse_streams(struct parse *p, const struct field *sec)
{
    struct config *c = p->cfg;
    if (!sec->value)
        return 0;
    int rc = map_check(p, sec->value, "streams");
    size_t n = map_size(sec->value);
    if (rc || n == 0)
        return rc;
    c->streams = calloc(n, sizeof(*c->streams));
    if (!c->streams)
        return nomem();
    for (yaml_node_pair_t *pair = sec->value->data.mapping.pairs.start;
         pair < sec->value->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = node_at(p, pair->key);
        struct config_stream *st = &c->streams[c->nstreams];
        rc = key_name(p, k, NAME_LABEL, "streams");
        if (rc)
            return rc;
        st->name = strdup((const char *)k->data.scalar.value);
        if (!st->name)
            return nomem();
        c->nstreams++;
        st->pos.line = (int)k->start_mark.line + 1;
        st->pos.column = (int)k->start_mark.column + 1;
        rc = parse_stream(p, k, node_at(p, pair->value), st);
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
                         is_null(p->root) ? "an empty value" : node_kind(p->root));
    rc = map_fields(p, p->root, "", top_keys, f, TOP_N);
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
    return rc;
}

/* ---- libyaml ----------------------------------------------------------- */

/* Records a libyaml failure as "<file>:<line>:<col>: yaml: <problem>". */
static int yaml_failure(struct parse *p, const yaml_parser_t *parser, const char *text, size_t len)
{
    unsigned long line = (unsigned long)parser->problem_mark.line + 1;
    unsigned long col = (unsigned long)parser->problem_mark.column + 1;
    const char *problem = parser->problem ? parser->problem : "unknown error";
    if (parser->error == YAML_MEMORY_ERROR)
        return nomem();
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
static void document_wipe(yaml_document_t *doc)
{
    for (yaml_node_t *n = doc->nodes.start; n && n < doc->nodes.top; n++)
        if (n->type == YAML_SCALAR_NODE)
            mem_wipe(n->data.scalar.value, n->data.scalar.length);
    yaml_document_delete(doc);
}

/* Best effort: wipes libyaml's input copies before freeing the parser. */
static void parser_wipe(yaml_parser_t *parser)
{
    if (parser->buffer.start)
        mem_wipe(parser->buffer.start, (size_t)(parser->buffer.end - parser->buffer.start));
    if (parser->raw_buffer.start)
        mem_wipe(parser->raw_buffer.start,
                 (size_t)(parser->raw_buffer.end - parser->raw_buffer.start));
    yaml_parser_delete(parser);
}

static char *dir_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    if (!slash)
        return strdup(".");
    if (slash == name)
        return strdup("/");
    return strndup(name, (size_t)(slash - name));
}

/* ---- API --------------------------------------------------------------- */

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
    p.dir = dir_of(p.name);
    if (!tmp.path || !p.dir) {
        rc = nomem();
        goto out_strings;
    }
    if (!yaml_parser_initialize(&parser)) {
        rc = nomem();
        goto out_strings;
    }
    protected_text = malloc(len ? len : 1);
    if (!protected_text) {
        yaml_parser_delete(&parser);
        rc = nomem();
        goto out_strings;
    }
    memcpy(protected_text, text, len);
    protect_references(protected_text, len);
    text = protected_text;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_failure(&p, &parser, text, len);
        goto out_parser;
    }
    p.root = yaml_document_get_root_node(&doc);
    if (p.root) {
        /* A second document would be silently ignored: refuse it. */
        if (!yaml_parser_load(&parser, &extra)) {
            rc = yaml_failure(&p, &parser, text, len);
            goto out_doc;
        }
        yaml_node_t *second = yaml_document_get_root_node(&extra);
        rc = second ? cfg_error(&p, second, "more than one YAML document; expected one") : 0;
        document_wipe(&extra);
        if (rc)
            goto out_doc;
    }
    rc = parse_root(&p);

out_doc:
    document_wipe(&doc);
out_parser:
    parser_wipe(&parser);
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

    free(cfg->warehouse.host);
    free(cfg->warehouse.socket);
    free(cfg->warehouse.database);
    free(cfg->warehouse.user);
    free_secret(cfg->warehouse.password);

    free(cfg->admin.user);
    free_secret(cfg->admin.password);
    free(cfg->admin.host);
    free(cfg->admin.socket);
    tls_release(&cfg->warehouse.tls);
    tls_release(&cfg->admin.tls);

    free(cfg->accounts.host);
    free(cfg->accounts.analyst.user);
    free_secret(cfg->accounts.analyst.password);
    free(cfg->accounts.steward.user);
    free_secret(cfg->accounts.steward.password);

    free(cfg->roles.loader);
    free(cfg->roles.analyst);
    free(cfg->roles.steward);

    if (cfg->pii.digest_key) {
        mem_wipe(cfg->pii.digest_key, cfg->pii.digest_key_len);
        free(cfg->pii.digest_key);
    }

    for (size_t i = 0; i < cfg->check.nthresholds; i++)
        free(cfg->check.thresholds[i].view);
    free(cfg->check.thresholds);

    free(cfg->log_level);

    for (size_t i = 0; i < cfg->nsources; i++) {
        free(cfg->sources[i].name);
        free(cfg->sources[i].base_url);
        free(cfg->sources[i].ca_file);
        free(cfg->sources[i].file_path);
        free(cfg->sources[i].queue_url);
        free(cfg->sources[i].region);
        free(cfg->sources[i].endpoint);
        free(cfg->sources[i].access_key_id);
        free_secret(cfg->sources[i].secret_access_key);
        free_secret(cfg->sources[i].session_token);
    }
    free(cfg->sources);

    for (size_t i = 0; i < cfg->nstreams; i++) {
        free(cfg->streams[i].name);
        free(cfg->streams[i].source);
        free(cfg->streams[i].path);
        free(cfg->streams[i].mapping);
    }
    free(cfg->streams);

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
