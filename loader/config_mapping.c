/* config_mapping.c - the stream mapping language (part of the config module).
 *
 * Parses a mapping (the root of a mapping file, a built-in from mappings/,
 * or the keys of an inline stream in the configuration) into a struct
 * stream_def (streamdef.h) allocated in an arena. Every error is a config
 * error naming the file, line, column and key. The language is documented
 * in README "Your own API"; the built-ins in mappings/ are its reference
 * examples.
 *
 * Rules checked here, each with its message:
 * - names (tables, columns, indexes, kinds) are safe SQL identifiers
 *   ([A-Za-z_][A-Za-z0-9_]*, at most 64 characters), never interpolated raw
 *   (ddlgen quotes them anyway); load_run_id and loaded_at are reserved;
 * - a column name is declared once per table; types and PII actions agree
 *   (a surrogate needs a `kind` and takes no `type`, ...);
 * - the key columns are required and come first, in key order (the loader
 *   compares keys as the leading columns of a row);
 * - a child table needs a single-column integer parent key; the children of
 *   a stream read distinct arrays (no `from` equal to, inside or around
 *   another child's, no parent field at or inside it) into distinct tables,
 *   none named like the parent's; no child with exactly_once;
 * - `partition:` names a required date or datetime column of the main
 *   table, by day or month, `ahead` 1..400; `retention: Nd` needs it; a
 *   partitioned stream has no child tables.
 * - a column's `checks` fit its type (range on numbers and dates, not_future
 *   and not_before on dates, accepted on numbers and text kept as sent, ...),
 *   their arguments parse as that type, and across the configuration every
 *   `references` names a configured table's column of a comparable type and
 *   no two generated monitoring views share a name unless both are named
 *   with `monitor:` (cfg_mapping_validate_checks); `freshness` is a duration
 *   and `min_rows` a positive number.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "ddlgen.h"
#include "error.h"
#include "ddlgen.h"
#include "sqlfiles.h"
#include "streamdef.h"
#include "banned.h"

/* ---- the arena: definitions live in blocks freed together ---- */

struct block {
    struct block *next;
    size_t used, cap;
    /* data follows, max_align_t aligned */
};

struct streamdef_arena {
    struct block *head;
};

#define BLOCK_MIN 8192

struct streamdef_arena *streamdef_arena_new(void)
{
    return calloc(1, sizeof(struct streamdef_arena));
}

void streamdef_arena_free(struct streamdef_arena *a)
{
    if (!a)
        return;
    for (struct block *b = a->head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(a);
}

/* Zeroed memory for n bytes, aligned for any type; NULL when out of memory. */
static void *arena_alloc(struct streamdef_arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);
    size_t hdr = (sizeof(struct block) + align - 1) / align * align;
    n = (n + align - 1) / align * align;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > BLOCK_MIN ? n : BLOCK_MIN;
        struct block *b = malloc(hdr + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)a->head + hdr + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strdup(struct streamdef_arena *a, const char *s)
{
    size_t n = strlen(s);
    char *d = arena_alloc(a, n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

/* ---- parsing helpers ---- */

struct mctx {
    struct parse *p;
    struct streamdef_arena *a;
};

static int oom(void)
{
    return cfg_nomem();
}

/* A scalar value of node v as an arena string. */
static int scalar_dup(struct mctx *m, yaml_node_t *v, const char *keypath, const char **out)
{
    struct scalar s;
    int rc = cfg_get_scalar(m->p, v, keypath, 0, &s);
    if (rc)
        return rc;
    *out = arena_strdup(m->a, s.s);
    cfg_scalar_release(&s);
    return *out ? 0 : oom();
}

static bool ident_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* Table names the loader keeps for itself: its audit tables, the sensitive
 * maps, its views. A stream table so named could meet an existing restricted
 * table (CREATE TABLE IF NOT EXISTS would keep it) and be granted to the
 * analyst. */
static const char *const reserved_prefixes[] = {"sensitive_", "load_",     "pii_",
                                                "monitor_",   "analysis_", NULL};

static int table_name_dup(struct mctx *m, yaml_node_t *v, const char *keypath, const char **out);

/* An identifier-valued key: `what` names it in the message. */
static int ident_dup(struct mctx *m, yaml_node_t *v, const char *keypath, const char *what,
                     const char **out)
{
    int rc = scalar_dup(m, v, keypath, out);
    if (rc)
        return rc;
    if (!ident_ok(*out)) {
        struct scalar s = {(char *)*out, strlen(*out), 0};
        char sh[SHOW_BUF];
        return cfg_error(m->p, v,
                         "%s is not a valid %s for '%s': use a letter or '_', then letters, "
                         "digits or '_', at most 64 characters",
                         cfg_show(sh, &s), what, keypath);
    }
    return 0;
}

static int table_name_dup(struct mctx *m, yaml_node_t *v, const char *keypath, const char **out)
{
    int rc = ident_dup(m, v, keypath, "table name", out);
    for (size_t i = 0; !rc && reserved_prefixes[i]; i++)
        if (strncmp(*out, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
            rc = cfg_error(m->p, v,
                           "table name '%s' for '%s' starts with '%s', which the loader keeps for "
                           "its own tables and views",
                           *out, keypath, reserved_prefixes[i]);
    return rc;
}

/* A JSON path: dot-separated keys, none empty. */
static int path_dup(struct mctx *m, yaml_node_t *v, const char *keypath, const char **out)
{
    int rc = scalar_dup(m, v, keypath, out);
    if (rc)
        return rc;
    const char *s = *out;
    size_t n = strlen(s);
    if (n == 0 || n > 255 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
        return cfg_error(m->p, v,
                         "'%s' must be a JSON path: keys separated by '.', none empty, at most "
                         "255 characters",
                         keypath);
    return 0;
}

static int bool_value(struct mctx *m, yaml_node_t *v, const char *keypath, bool *out)
{
    struct scalar s;
    int rc = cfg_get_scalar(m->p, v, keypath, 0, &s);
    if (rc)
        return rc;
    if (strcmp(s.s, "true") == 0)
        *out = true;
    else if (strcmp(s.s, "false") == 0)
        *out = false;
    else
        rc = cfg_error(m->p, v, "'%s' must be true or false", keypath);
    cfg_scalar_release(&s);
    return rc;
}

static size_t seq_size(const yaml_node_t *n)
{
    return n && n->type == YAML_SEQUENCE_NODE
               ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
               : 0;
}

static yaml_node_t *seq_item(struct parse *p, const yaml_node_t *n, size_t i)
{
    return cfg_node_at(p, n->data.sequence.items.start[i]);
}

/* A list value: a sequence, or a single scalar taken as a list of one. */
static int list_check(struct mctx *m, yaml_node_t *v, const char *keypath)
{
    if (v->type == YAML_SEQUENCE_NODE || v->type == YAML_SCALAR_NODE)
        return 0;
    return cfg_error(m->p, v, "expected a list for '%s', got %s", keypath, cfg_node_kind(v));
}

static size_t list_size(const yaml_node_t *v)
{
    return v->type == YAML_SCALAR_NODE ? 1 : seq_size(v);
}

static yaml_node_t *list_item(struct parse *p, yaml_node_t *v, size_t i)
{
    return v->type == YAML_SCALAR_NODE ? v : seq_item(p, v, i);
}

/* ---- types and actions ---- */

static const char *const pii_words[] = {[PII_KEEP] = "keep",
                                        [PII_DROP] = "drop",
                                        [PII_EMAIL_DOMAIN] = "email_domain",
                                        [PII_YEAR] = "year",
                                        [PII_SURROGATE] = "surrogate",
                                        [PII_HMAC] = "hmac",
                                        [PII_DATE_IF_ALLOWED] = "date_if_allowed",
                                        [PII_BUCKET] = "bucket",
                                        [PII_TRUNCATE] = "truncate",
                                        [PII_PREFIX] = "prefix",
                                        NULL};
#define PII_LIST                                                                                   \
    "keep, drop, email_domain, year, date_if_allowed, surrogate, hmac, { bucket: N }, "            \
    "{ truncate: month|day|hour } or { prefix: N }"

/* Parses a `type:` word into c; 0 or a config error. */
static int parse_type(struct mctx *m, yaml_node_t *v, const char *keypath, struct column_def *c)
{
    struct scalar s;
    unsigned a = 0, b = 0;
    char tail = 0;
    int rc = cfg_get_scalar(m->p, v, keypath, 0, &s);
    if (rc)
        return rc;
    static const struct {
        const char *word;
        enum col_type type;
    } plain[] = {{"bigint", COL_BIGINT},
                 {"int", COL_INT},
                 {"smallint", COL_SMALLINT},
                 {"boolean", COL_BOOL},
                 {"text", COL_LONGTEXT},
                 {"date", COL_DATE},
                 {"datetime", COL_DATETIME},
                 {"epoch_ms", COL_EPOCH_MS},
                 {"version_major", COL_VERSION_MAJOR}};
    if (strcmp(s.s, "epoch_ms_date") == 0) {
        c->type = COL_DATE;
        c->from_epoch_ms = true;
        goto out;
    }
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (strcmp(s.s, plain[i].word) == 0) {
            c->type = plain[i].type;
            goto out;
        }
    if (sscanf(s.s, "varchar(%u)%c", &a, &tail) == 1 && strchr(s.s, ')')[1] == '\0' &&
        strncmp(s.s, "varchar(", 8) == 0 && isdigit((unsigned char)s.s[8])) {
        if (a < 1 || a > 16383) {
            rc = cfg_error(m->p, v, "'%s': varchar length must be 1..16383", keypath);
            goto out;
        }
        c->type = COL_TEXT;
        c->size = a;
        goto out;
    }
    if (sscanf(s.s, "decimal(%u,%u)%c", &a, &b, &tail) == 2 && strchr(s.s, ')')[1] == '\0' &&
        strncmp(s.s, "decimal(", 8) == 0 && isdigit((unsigned char)s.s[8])) {
        if (a < 1 || a > 38 || b > a || b > 10) {
            rc = cfg_error(m->p, v, "'%s': decimal(p,s) needs 1 <= p <= 38 and s <= p, s <= 10",
                           keypath);
            goto out;
        }
        c->type = COL_DECIMAL;
        c->size = a - b;
        c->scale = b;
        goto out;
    }
    {
        char sh[SHOW_BUF];
        rc = cfg_error(m->p, v,
                       "unknown type %s for '%s': use bigint, int, smallint, boolean, "
                       "decimal(p,s), varchar(n), text, date, datetime, epoch_ms, "
                       "epoch_ms_date or version_major (quote decimal(p,s) inside { }: YAML reads "
                       "the comma as a separator)",
                       cfg_show(sh, &s), keypath);
    }
out:
    cfg_scalar_release(&s);
    return rc;
}

static const char *const normalize_words[] = {"trim", "lower", "nfc", NULL};

static const char *const truncate_words[] = {
    [TRUNCATE_MONTH] = "month", [TRUNCATE_DAY] = "day", [TRUNCATE_HOUR] = "hour", NULL};

/* The generalising actions, written `pii: { <word>: <argument> }`: a
 * number within [min, max], or one of `words`. `types` says which declared
 * column types they take; `comment` (a printf format of the argument) is
 * added to the column COMMENT, so that the analyst sees what a value means. */
static const struct generaliser {
    enum pii_action action;
    unsigned min, max;
    const char *const *words;
    const char *words_list;
    const char *types;
    const char *comment;
} generalisers[] = {
    {PII_BUCKET, 1, 1000000000, NULL, NULL, "a number type (bigint, int, smallint or decimal(p,s))",
     "the lower bound of its range of width %u"},
    {PII_TRUNCATE, 0, 0, truncate_words, "month, day or hour", "date or datetime",
     "truncated to the start of its %s"},
    {PII_PREFIX, 1, 16383, NULL, NULL, "no 'type' (the column becomes varchar(N))",
     "its first %u characters"},
};

static const struct generaliser *generaliser_of(enum pii_action a)
{
    for (size_t i = 0; i < sizeof(generalisers) / sizeof(generalisers[0]); i++)
        if (generalisers[i].action == a)
            return &generalisers[i];
    return NULL;
}

/* `pii: { bucket: 10 }`: one key, a generalising action, and its argument,
 * into f->action and f->param. A bare word that needs an argument (`pii:
 * bucket`) is refused with the spelling to use. */
static int parse_generaliser(struct mctx *m, yaml_node_t *v, const char *path, struct field_spec *f)
{
    char kp[KEYPATH_BUF];
    cfg_join(kp, sizeof(kp), path, "pii");
    if (v->type == YAML_SCALAR_NODE) {
        for (size_t i = 0; i < sizeof(generalisers) / sizeof(generalisers[0]); i++)
            if (cfg_scalar_is(v, pii_words[generalisers[i].action]))
                return cfg_error(m->p, v, "'%s: %s' needs its argument: write pii: { %s: %s }", kp,
                                 pii_words[generalisers[i].action],
                                 pii_words[generalisers[i].action],
                                 generalisers[i].words ? generalisers[i].words_list : "N");
        return 1; /* a plain word: the caller's */
    }
    if (v->type != YAML_MAPPING_NODE || cfg_map_size(v) != 1)
        return cfg_error(m->p, v,
                         "'%s' must be one word or a mapping of one generalising action, e.g. "
                         "{ bucket: 10 }",
                         kp);
    yaml_node_t *ak = cfg_node_at(m->p, v->data.mapping.pairs.start->key);
    yaml_node_t *av = cfg_node_at(m->p, v->data.mapping.pairs.start->value);
    const struct generaliser *g = NULL;
    for (size_t i = 0; !g && ak && i < sizeof(generalisers) / sizeof(generalisers[0]); i++)
        if (cfg_scalar_is(ak, pii_words[generalisers[i].action]))
            g = &generalisers[i];
    if (!g) {
        char sh[SHOW_BUF];
        return cfg_error(m->p, ak ? ak : v,
                         "unknown generalising action '%s' in '%s': use bucket, truncate or prefix",
                         ak ? cfg_key_show(sh, ak) : "?", kp);
    }
    char ap[KEYPATH_BUF];
    f->action = g->action;
    cfg_join(ap, sizeof(ap), kp, pii_words[g->action]);
    if (!av || av->type != YAML_SCALAR_NODE)
        return cfg_error(m->p, av ? av : ak, "'%s' needs %s", ap,
                         g->words ? g->words_list : "a whole number");
    if (g->words) {
        struct field one = {ak, av};
        int w = 0;
        int rc = cfg_set_enum(m->p, &one, kp, pii_words[g->action], g->words, g->words_list, &w);
        f->param = (unsigned)w;
        return rc;
    }
    struct scalar s;
    int rc = cfg_get_scalar(m->p, av, ap, 0, &s);
    if (rc)
        return rc;
    unsigned long n = 0;
    bool digits = s.len > 0 && s.len <= 10;
    for (size_t i = 0; digits && i < s.len; i++)
        digits = isdigit((unsigned char)s.s[i]) != 0;
    if (digits)
        n = strtoul(s.s, NULL, 10);
    cfg_scalar_release(&s);
    if (!digits || n < g->min || n > g->max)
        return cfg_error(m->p, av, "'%s' must be a whole number in %u..%u", ap, g->min, g->max);
    f->param = (unsigned)n;
    return 0;
}

/* The stored type of a generalised column (c->type/size from `type`, when
 * one was parsed) checked against the action; the COMMENT says what the
 * values mean. */
static int generalised_type(struct mctx *m, yaml_node_t *node, yaml_node_t *type, yaml_node_t *pii,
                            const char *path, struct column_def *c, const struct field_spec *f)
{
    const struct generaliser *g = generaliser_of(f->action);
    char kp[KEYPATH_BUF], what[96];
    int rc;
    switch (f->action) {
    case PII_BUCKET:
    case PII_TRUNCATE:
        if (!type)
            return cfg_error(m->p, node,
                             "missing required key 'type' in '%s' (column '%s' with pii: %s "
                             "needs %s)",
                             path, c->name, pii_words[f->action], g->types);
        rc = parse_type(m, type, cfg_join(kp, sizeof(kp), path, "type"), c);
        if (rc)
            return rc;
        if (c->from_epoch_ms)
            return cfg_error(m->p, type, "'%s': epoch_ms_date is stored as sent (pii: keep) only",
                             kp);
        if (f->action == PII_BUCKET && c->type != COL_BIGINT && c->type != COL_INT &&
            c->type != COL_SMALLINT && c->type != COL_DECIMAL)
            return cfg_error(m->p, type, "'%s' with pii: bucket must be %s", kp, g->types);
        if (f->action == PII_TRUNCATE && c->type != COL_DATE && c->type != COL_DATETIME)
            return cfg_error(m->p, type, "'%s' with pii: truncate must be %s", kp, g->types);
        if (f->action == PII_TRUNCATE && c->type == COL_DATE && f->param == TRUNCATE_HOUR)
            return cfg_error(m->p, pii, "'%s.pii': a date has no hour: truncate it to day or month",
                             path);
        break;
    case PII_PREFIX:
        if (type)
            return cfg_error(m->p, type, "'%s' takes no 'type' with pii: prefix (varchar(%u))",
                             path, f->param);
        c->type = COL_TEXT;
        c->size = f->param;
        break;
    default:
        return err_set(ML_EINTERNAL, "'%s': not a generalising action", path);
    }
    if (g->words)
        snprintf(what, sizeof(what), g->comment, g->words[f->param]);
    else
        snprintf(what, sizeof(what), g->comment, f->param);
    struct buf d = BUF_INIT;
    rc = c->description ? buf_addf(&d, "%s (%s)", c->description, what) : buf_adds(&d, what);
    if (!rc && d.len > 1024)
        rc = cfg_error(m->p, node,
                       "'%s.description' with what pii: %s adds is longer than 1024 characters",
                       path, pii_words[f->action]);
    if (!rc && !(c->description = arena_strdup(m->a, d.data)))
        rc = oom();
    buf_release(&d);
    return rc;
}

/* ---- one column ---- */

enum {
    CK_NAME,
    CK_FROM,
    CK_TYPE,
    CK_PII,
    CK_KIND,
    CK_REQUIRED,
    CK_DESCRIPTION,
    CK_ON_INVALID,
    CK_NORMALIZE,
    CK_COLLATION,
    CK_SUBJECT,
    CK_CHECKS, /* parsed with the table's columns known: parse_table_checks */
    CK_N
};
static const char *const column_keys[CK_N] = {[CK_NAME] = "name",
                                              [CK_FROM] = "from",
                                              [CK_TYPE] = "type",
                                              [CK_PII] = "pii",
                                              [CK_KIND] = "kind",
                                              [CK_REQUIRED] = "required",
                                              [CK_DESCRIPTION] = "description",
                                              [CK_ON_INVALID] = "on_invalid",
                                              [CK_NORMALIZE] = "normalize",
                                              [CK_COLLATION] = "collation",
                                              [CK_SUBJECT] = "subject",
                                              [CK_CHECKS] = "checks"};

static int parse_column(struct mctx *m, yaml_node_t *node, const char *path, struct column_def *c,
                        struct field_spec *f)
{
    struct field k[CK_N];
    char kp[KEYPATH_BUF];
    int pii = PII_KEEP, rc;
    c->decl_line = f->decl_line = (int)node->start_mark.line + 1;
    c->decl_col = f->decl_col = (int)node->start_mark.column + 1;
    /* `type: decimal(12,2)` unquoted in a flow mapping: YAML has cut it at
     * the comma, making `2)` a key of its own. Say so before that key is
     * reported as unknown. */
    for (yaml_node_pair_t *pr = node->type == YAML_MAPPING_NODE ? node->data.mapping.pairs.start
                                                                : NULL;
         pr && pr < node->data.mapping.pairs.top; pr++) {
        yaml_node_t *pk = cfg_node_at(m->p, pr->key), *pv = cfg_node_at(m->p, pr->value);
        if (pk && pv && cfg_scalar_is(pk, "type") && pv->type == YAML_SCALAR_NODE &&
            pv->data.scalar.length > 8 && memcmp(pv->data.scalar.value, "decimal(", 8) == 0 &&
            !memchr(pv->data.scalar.value, ')', pv->data.scalar.length))
            return cfg_error(m->p, pv,
                             "'%s.type': quote decimal(p,s) inside { }, e.g. type: "
                             "\"decimal(12,2)\" (YAML reads the comma as a separator)",
                             path);
    }
    rc = cfg_map_fields(m->p, node, path, column_keys, k, CK_N);
    if (rc)
        return rc;
    if (node->type != YAML_MAPPING_NODE || !k[CK_NAME].value)
        return cfg_error(m->p, node, "missing required key 'name' in '%s'", path);
    rc = ident_dup(m, k[CK_NAME].value, cfg_join(kp, sizeof(kp), path, "name"), "column name",
                   &c->name);
    if (rc)
        return rc;
    if (strcmp(c->name, "load_run_id") == 0 || strcmp(c->name, "loaded_at") == 0)
        return cfg_error(m->p, k[CK_NAME].value,
                         "column name '%s' in '%s' is reserved for the loader's bookkeeping",
                         c->name, path);
    f->column = c->name;
    if (!k[CK_FROM].value)
        return cfg_error(m->p, node, "missing required key 'from' in '%s' (column '%s')", path,
                         c->name);
    rc = path_dup(m, k[CK_FROM].value, cfg_join(kp, sizeof(kp), path, "from"), &f->path);
    if (!rc && k[CK_PII].value && (rc = parse_generaliser(m, k[CK_PII].value, path, f)) == 0)
        pii = (int)f->action;
    else if (rc == 1 || (!rc && !k[CK_PII].value))
        rc = cfg_set_enum(m->p, &k[CK_PII], path, "pii", pii_words, PII_LIST, &pii);
    if (rc)
        return rc;
    f->action = (enum pii_action)pii;
    if (k[CK_REQUIRED].value) {
        rc = bool_value(m, k[CK_REQUIRED].value, cfg_join(kp, sizeof(kp), path, "required"),
                        &f->required);
        if (rc)
            return rc;
        c->required = f->required;
    }
    if (k[CK_DESCRIPTION].value) {
        rc = scalar_dup(m, k[CK_DESCRIPTION].value, cfg_join(kp, sizeof(kp), path, "description"),
                        &c->description);
        if (!rc && strlen(c->description) > 1024)
            rc = cfg_error(m->p, k[CK_DESCRIPTION].value,
                           "'%s' is longer than 1024 characters (a column COMMENT)", kp);
        if (rc)
            return rc;
    }

    /* the action decides the stored type, or takes the declared one */
    yaml_node_t *type = k[CK_TYPE].value, *kind = k[CK_KIND].value;
    switch (f->action) {
    case PII_DROP:
        return cfg_error(m->p, k[CK_PII].value,
                         "column '%s' in '%s' has pii: drop and would store nothing: list its "
                         "path under 'drop' instead",
                         c->name, path);
    case PII_HMAC:
        if (type) {
            /* a text wide enough for the 64 hex characters (a table whose
             * shape is given, e.g. masked_ip varchar(256)) */
            rc = parse_type(m, type, cfg_join(kp, sizeof(kp), path, "type"), c);
            if (!rc && (c->type != COL_TEXT || c->size < 64))
                rc = cfg_error(m->p, type,
                               "'%s' with pii: hmac must be a varchar(n) with n >= 64 (the "
                               "column holds 64 hex characters), or left out (char(64))",
                               kp);
            if (rc)
                return rc;
            c->type = COL_HMAC;
            c->binary = true;
            break;
        }
        /* fall through */
    case PII_SURROGATE:
        if (type)
            return cfg_error(m->p, type, "'%s' takes no 'type' with pii: %s (the column holds %s)",
                             path, pii_words[f->action],
                             f->action == PII_HMAC ? "64 hex characters" : "an integer id");
        if (f->action == PII_SURROGATE && !kind)
            return cfg_error(m->p, node,
                             "column '%s' in '%s' has pii: surrogate but no 'kind' (the "
                             "sensitive_<kind>_ids table its values go to)",
                             c->name, path);
        c->type = f->action == PII_HMAC ? COL_HMAC : COL_SURROGATE;
        break;
    case PII_EMAIL_DOMAIN:
        c->type = COL_TEXT;
        c->size = 255;
        if (type) {
            rc = parse_type(m, type, cfg_join(kp, sizeof(kp), path, "type"), c);
            if (!rc && c->type != COL_TEXT)
                rc = cfg_error(m->p, type, "'%s' with pii: email_domain must be a varchar(n)", kp);
            if (rc)
                return rc;
        }
        break;
    case PII_YEAR:
        c->type = COL_SMALLINT;
        if (type)
            return cfg_error(m->p, type, "'%s' takes no 'type' with pii: year (smallint)", path);
        break;
    case PII_DATE_IF_ALLOWED:
        c->type = COL_DATE;
        if (type)
            return cfg_error(m->p, type, "'%s' takes no 'type' with pii: date_if_allowed (date)",
                             path);
        break;
    case PII_BUCKET:
    case PII_TRUNCATE:
    case PII_PREFIX:
        rc = generalised_type(m, node, type, k[CK_PII].value, path, c, f);
        if (rc)
            return rc;
        break;
    case PII_KEEP:
        if (!type)
            return cfg_error(m->p, node, "missing required key 'type' in '%s' (column '%s')", path,
                             c->name);
        rc = parse_type(m, type, cfg_join(kp, sizeof(kp), path, "type"), c);
        if (rc)
            return rc;
        break;
    }
    if (kind && f->action != PII_SURROGATE)
        return cfg_error(m->p, kind, "'%s' has a 'kind' but pii is not surrogate", path);
    if (kind) {
        rc = ident_dup(m, kind, cfg_join(kp, sizeof(kp), path, "kind"), "surrogate kind", &c->kind);
        if (!rc && strlen(c->kind) > 40)
            rc = cfg_error(m->p, kind, "'%s' is longer than 40 characters", kp);
        if (rc)
            return rc;
    }
    if (k[CK_NORMALIZE].value) {
        yaml_node_t *nv = k[CK_NORMALIZE].value;
        cfg_join(kp, sizeof(kp), path, "normalize");
        if (f->action != PII_SURROGATE && f->action != PII_HMAC)
            return cfg_error(m->p, nv, "'%s' applies to pii: surrogate and pii: hmac only", kp);
        rc = list_check(m, nv, kp);
        for (size_t i = 0; !rc && i < list_size(nv); i++) {
            yaml_node_t *it = list_item(m->p, nv, i);
            struct field one = {it, it};
            int w = 0;
            rc = cfg_set_enum(m->p, &one, path, "normalize", normalize_words, "trim, lower or nfc",
                              &w);
            if (!rc)
                f->normalize |= 1u << w;
        }
        if (rc)
            return rc;
    } else if (f->action == PII_SURROGATE || f->action == PII_HMAC) {
        f->normalize = NORM_TRIM;
    }
    if (k[CK_ON_INVALID].value) {
        static const char *const oi_words[] = {"reject", "null", NULL};
        int w = 1; /* `on_invalid: null` unquoted is YAML's null: the word null */
        if (!cfg_is_null(k[CK_ON_INVALID].value))
            rc = cfg_set_enum(m->p, &k[CK_ON_INVALID], path, "on_invalid", oi_words,
                              "reject or null", &w);
        if (rc)
            return rc;
        if (w == 1 && f->required)
            return cfg_error(m->p, k[CK_ON_INVALID].value,
                             "'%s.on_invalid: null' contradicts required: true", path);
        f->invalid_null = w == 1;
    }
    if (k[CK_COLLATION].value) {
        static const char *const co_words[] = {"default", "binary", NULL};
        int w = 0;
        rc = cfg_set_enum(m->p, &k[CK_COLLATION], path, "collation", co_words, "default or binary",
                          &w);
        if (!rc && w == 1 && c->type != COL_TEXT && c->type != COL_LONGTEXT)
            rc = cfg_error(m->p, k[CK_COLLATION].value,
                           "'%s.collation' applies to text columns only", path);
        if (rc)
            return rc;
        c->binary = w == 1;
    }
    if (k[CK_SUBJECT].value) {
        bool subject = false;
        rc =
            bool_value(m, k[CK_SUBJECT].value, cfg_join(kp, sizeof(kp), path, "subject"), &subject);
        if (rc)
            return rc;
        if (subject && (f->action != PII_KEEP ||
                        (c->type != COL_BIGINT && c->type != COL_INT && c->type != COL_SMALLINT &&
                         c->type != COL_TEXT && c->type != COL_LONGTEXT)))
            return cfg_error(m->p, k[CK_SUBJECT].value,
                             "'%s' applies to a column the table keeps as sent (pii: keep) of "
                             "an integer or text type: column '%s' is %s",
                             kp, c->name,
                             f->action != PII_KEEP ? pii_words[f->action] : "of another type");
        c->subject = subject;
    }
    return 0;
}

/* ---- declared checks (`checks:` of a column) ---- */

static bool type_is_number(enum col_type t)
{
    return t == COL_BIGINT || t == COL_INT || t == COL_SMALLINT || t == COL_DECIMAL ||
           t == COL_VERSION_MAJOR;
}

static bool type_is_time(enum col_type t)
{
    return t == COL_DATE || t == COL_DATETIME || t == COL_EPOCH_MS;
}

static bool type_is_text(enum col_type t)
{
    return t == COL_TEXT || t == COL_LONGTEXT;
}

/* A decimal number as SQL writes it: -?digits(.digits)?, at most 40 characters. */
static bool number_ok(const char *s)
{
    size_t n = strlen(s), i = s[0] == '-';
    bool dot = false, digit = false;
    if (n == 0 || n > 40)
        return false;
    for (; i < n; i++) {
        if (isdigit((unsigned char)s[i]))
            digit = true;
        else if (s[i] == '.' && !dot && digit && i + 1 < n)
            dot = true;
        else
            return false;
    }
    return digit;
}

/* "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DDTHH:MM:SS[Z]" into out
 * (32 bytes) as "YYYY-MM-DD[ HH:MM:SS]"; false when it is none of them. */
static bool date_literal(const char *s, bool allow_time, char *out)
{
    unsigned y, mo, d, h = 0, mi = 0, se = 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        bool digit_at = i != 4 && i != 7 && i != 10 && i != 13 && i != 16 && i != 19;
        if (digit_at && !isdigit((unsigned char)s[i]))
            return false;
    }
    if (n < 10 || s[4] != '-' || s[7] != '-')
        return false;
    y = (unsigned)atoi(s);
    mo = (unsigned)atoi(s + 5);
    d = (unsigned)atoi(s + 8);
    if (n > 10) {
        if (!allow_time || (n != 19 && !(n == 20 && s[19] == 'Z')) ||
            (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':')
            return false;
        h = (unsigned)atoi(s + 11);
        mi = (unsigned)atoi(s + 14);
        se = (unsigned)atoi(s + 17);
    }
    if (y < 1000 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
        return false;
    if (n > 10)
        snprintf(out, 32, "%04u-%02u-%02u %02u:%02u:%02u", y, mo, d, h, mi, se);
    else
        snprintf(out, 32, "%04u-%02u-%02u", y, mo, d);
    return true;
}

/* One value of accepted/range/not_before for column c into *out (arena):
 * a number for a number column, a date (or datetime) for a time column, any
 * scalar for a text column. */
static int check_value(struct mctx *m, yaml_node_t *v, const char *kp, const struct column_def *c,
                       const char **out)
{
    struct scalar s;
    char lit[32];
    int rc = v && v->type == YAML_SCALAR_NODE ? cfg_get_scalar(m->p, v, kp, 0, &s)
                                              : cfg_error(m->p, v, "'%s' needs a value, got %s", kp,
                                                          v ? cfg_node_kind(v) : "nothing");
    if (rc)
        return rc;
    if (type_is_number(c->type) && !number_ok(s.s))
        rc = cfg_error(m->p, v, "'%s': '%s' is not a number (column '%s' is a number)", kp,
                       s.subst ? "${...}" : s.s, c->name);
    else if (type_is_time(c->type) && !date_literal(s.s, c->type != COL_DATE, lit))
        rc = cfg_error(m->p, v, "'%s': '%s' is not a date (YYYY-MM-DD%s) for column '%s'", kp,
                       s.subst ? "${...}" : s.s,
                       c->type != COL_DATE ? " or YYYY-MM-DD HH:MM:SS" : "", c->name);
    else if (s.len > 255)
        rc = cfg_error(m->p, v, "'%s' is longer than 255 characters", kp);
    if (!rc && !(*out = arena_strdup(m->a, type_is_time(c->type) ? lit : s.s)))
        rc = oom();
    cfg_scalar_release(&s);
    return rc;
}

static const char *const check_keys[CHECK_KIND_N] = {
    [CHECK_NOT_NULL] = "not_null",     [CHECK_UNIQUE] = "unique",
    [CHECK_ACCEPTED] = "accepted",     [CHECK_RANGE] = "range",
    [CHECK_NOT_FUTURE] = "not_future", [CHECK_NOT_BEFORE] = "not_before",
    [CHECK_REFERENCES] = "references"};

/* Whether a check of kind k fits a column of type c; else the types it takes. */
static const char *check_misfit(enum check_kind k, const struct column_def *c)
{
    switch (k) {
    case CHECK_NOT_NULL:
        return NULL;
    case CHECK_UNIQUE:
        return c->type == COL_LONGTEXT || c->type == COL_BOOL
                   ? "a column other than text or boolean"
                   : NULL;
    case CHECK_ACCEPTED:
        return type_is_number(c->type) || type_is_text(c->type)
                   ? NULL
                   : "a number or text column kept as sent (not a surrogate, hmac, boolean or "
                     "date)";
    case CHECK_RANGE:
        return type_is_number(c->type) || type_is_time(c->type)
                   ? NULL
                   : "a number, date or datetime column";
    case CHECK_NOT_FUTURE:
    case CHECK_NOT_BEFORE:
        return type_is_time(c->type) ? NULL : "a date or datetime column";
    case CHECK_REFERENCES:
        return c->type == COL_LONGTEXT || c->type == COL_BOOL || c->type == COL_HMAC
                   ? "a number, varchar, date or surrogate column"
                   : NULL;
    default:
        return "nothing";
    }
}

/* The `checks:` mapping `node` of column t->cols[ci], at `path`, appended
 * to checks[*n..] (room made by the caller). */
static int parse_checks(struct mctx *m, yaml_node_t *node, const char *path, struct table_def *t,
                        unsigned ci, struct check_def *checks, unsigned *n)
{
    const struct column_def *c = &t->cols[ci];
    struct field f[CHECK_KIND_N];
    char kp[KEYPATH_BUF], ap[KEYPATH_BUF];
    int rc = cfg_map_fields(m->p, node, path, check_keys, f, CHECK_KIND_N);
    if (rc)
        return rc;
    if (node->type != YAML_MAPPING_NODE)
        return cfg_error(
            m->p, node,
            "'%s' must be a mapping of checks, e.g. { not_null: true, accepted: [a, b] }", path);
    /* in declaration order: the views follow it */
    for (yaml_node_pair_t *pr = node->data.mapping.pairs.start; pr < node->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *key = cfg_node_at(m->p, pr->key), *v = cfg_node_at(m->p, pr->value);
        struct check_def *ck = &checks[*n];
        int kind = -1;
        for (int i = 0; i < CHECK_KIND_N; i++)
            if (cfg_scalar_is(key, check_keys[i]))
                kind = i;
        if (kind < 0)
            return cfg_error(m->p, key, "unknown check in '%s'", path);
        cfg_join(kp, sizeof(kp), path, check_keys[kind]);
        memset(ck, 0, sizeof(*ck));
        ck->kind = (enum check_kind)kind;
        ck->col = ci;
        ck->decl_line = (int)key->start_mark.line + 1;
        ck->decl_col = (int)key->start_mark.column + 1;
        ck->numeric = type_is_number(c->type);
        const char *misfit = check_misfit(ck->kind, c);
        if (misfit)
            return cfg_error(m->p, key, "'%s': %s applies to %s; column '%s' is not one", kp,
                             check_keys[kind], misfit, c->name);
        /* `{ value: ..., monitor: name }`, or the value alone */
        yaml_node_t *arg = v;
        if (v && v->type == YAML_MAPPING_NODE) {
            static const char *const opt_keys[] = {"value", "monitor"};
            struct field of[2];
            rc = cfg_map_fields(m->p, v, kp, opt_keys, of, 2);
            if (rc)
                return rc;
            arg = of[0].value;
            if (of[1].value) {
                rc = ident_dup(m, of[1].value, cfg_join(ap, sizeof(ap), kp, "monitor"), "view name",
                               &ck->monitor);
                if (!rc && strncmp(ck->monitor, "monitor_", 8) != 0)
                    rc = cfg_error(m->p, of[1].value,
                                   "'%s': a monitoring view's name begins with "
                                   "'monitor_'",
                                   ap);
                if (rc)
                    return rc;
            }
            if (!arg && ck->kind != CHECK_NOT_NULL && ck->kind != CHECK_UNIQUE &&
                ck->kind != CHECK_NOT_FUTURE)
                return cfg_error(m->p, v, "missing required key 'value' in '%s'", kp);
        }
        switch (ck->kind) {
        case CHECK_NOT_NULL:
        case CHECK_UNIQUE:
        case CHECK_NOT_FUTURE: {
            bool on = true;
            if (arg) {
                rc = bool_value(m, arg, kp, &on);
                if (rc)
                    return rc;
            }
            if (!on)
                continue; /* declared off */
            break;
        }
        case CHECK_ACCEPTED: {
            rc = list_check(m, arg, kp);
            if (rc)
                return rc;
            size_t nv = list_size(arg);
            if (nv == 0 || nv > 1000)
                return cfg_error(m->p, arg, "'%s' must list 1..1000 values", kp);
            const char **vals = arena_alloc(m->a, nv * sizeof(*vals));
            if (!vals)
                return oom();
            for (size_t i = 0; i < nv; i++) {
                rc = check_value(m, list_item(m->p, arg, i), kp, c, &vals[i]);
                if (rc)
                    return rc;
            }
            ck->values = vals;
            ck->nvalues = (unsigned)nv;
            break;
        }
        case CHECK_RANGE: {
            if (!arg || arg->type != YAML_SEQUENCE_NODE || seq_size(arg) != 2)
                return cfg_error(m->p, arg ? arg : key,
                                 "'%s' must be [min, max] (either may be null: no bound)", kp);
            const char **vals = arena_alloc(m->a, 2 * sizeof(*vals));
            if (!vals)
                return oom();
            for (size_t i = 0; i < 2; i++) {
                yaml_node_t *it = seq_item(m->p, arg, i);
                if (cfg_is_null(it) || cfg_scalar_is(it, "null"))
                    continue;
                rc = check_value(m, it, kp, c, &vals[i]);
                if (rc)
                    return rc;
            }
            if (!vals[0] && !vals[1])
                return cfg_error(m->p, arg, "'%s' needs a min or a max", kp);
            if (vals[0] && vals[1] &&
                (ck->numeric ? strtod(vals[0], NULL) > strtod(vals[1], NULL)
                             : strcmp(vals[0], vals[1]) > 0))
                return cfg_error(m->p, arg, "'%s': min '%s' is above max '%s'", kp, vals[0],
                                 vals[1]);
            ck->values = vals;
            ck->nvalues = 2;
            break;
        }
        case CHECK_NOT_BEFORE: {
            struct scalar s;
            char lit[32];
            if (!arg || arg->type != YAML_SCALAR_NODE)
                return cfg_error(m->p, arg ? arg : key,
                                 "'%s' needs a date (YYYY-MM-DD) or a column of '%s'", kp, t->name);
            rc = cfg_get_scalar(m->p, arg, kp, 0, &s);
            if (rc)
                return rc;
            if (date_literal(s.s, c->type != COL_DATE, lit)) {
                const char **vals = arena_alloc(m->a, sizeof(*vals));
                if (!vals || !(vals[0] = arena_strdup(m->a, lit)))
                    rc = oom();
                ck->values = vals;
                ck->nvalues = 1;
            } else {
                int oi = ident_ok(s.s) ? streamdef_column_index(t, s.s) : -1;
                if (oi < 0 || oi == (int)ci)
                    rc = cfg_error(m->p, arg,
                                   "'%s': '%s' is neither a date (YYYY-MM-DD%s) nor another "
                                   "column of '%s'",
                                   kp, s.subst ? "${...}" : s.s,
                                   c->type != COL_DATE ? " or YYYY-MM-DD HH:MM:SS" : "", t->name);
                else if (!type_is_time(t->cols[oi].type))
                    rc = cfg_error(m->p, arg, "'%s': column '%s' is not a date or datetime", kp,
                                   s.s);
                else
                    ck->other = t->cols[oi].name;
            }
            cfg_scalar_release(&s);
            if (rc)
                return rc;
            break;
        }
        case CHECK_REFERENCES: {
            const char *ref;
            char *dot;
            rc = arg && arg->type == YAML_SCALAR_NODE
                     ? scalar_dup(m, arg, kp, &ref)
                     : cfg_error(m->p, arg ? arg : key, "'%s' needs table.column", kp);
            if (rc)
                return rc;
            char *tab = arena_strdup(m->a, ref);
            if (!tab)
                return oom();
            dot = strchr(tab, '.');
            if (dot)
                *dot = '\0';
            if (!dot || !ident_ok(tab) || !ident_ok(dot + 1))
                return cfg_error(m->p, arg, "'%s' must be table.column (two names and a dot)", kp);
            ck->ref_table = tab;
            ck->ref_column = dot + 1;
            break;
        }
        default:
            return cfg_error(m->p, key, "unknown check in '%s'", path);
        }
        (*n)++;
    }
    return 0;
}

/* The checks of every column of t: the `checks` values of the column
 * nodes of `columns` (nextra loader columns come first in t). */
static int parse_table_checks(struct mctx *m, yaml_node_t *columns, const char *kp, unsigned nextra,
                              struct table_def *t)
{
    size_t ncols = seq_size(columns), total = 0;
    yaml_node_t **vals = calloc(ncols ? ncols : 1, sizeof(*vals));
    int rc = 0;
    if (!vals)
        return oom();
    for (size_t i = 0; i < ncols; i++) {
        yaml_node_t *cn = seq_item(m->p, columns, i);
        for (yaml_node_pair_t *pr = cn->data.mapping.pairs.start; pr < cn->data.mapping.pairs.top;
             pr++)
            if (cfg_scalar_is(cfg_node_at(m->p, pr->key), "checks"))
                vals[i] = cfg_node_at(m->p, pr->value);
        if (vals[i] && vals[i]->type == YAML_MAPPING_NODE)
            total += cfg_map_size(vals[i]);
    }
    struct check_def *checks = total ? arena_alloc(m->a, total * sizeof(*checks)) : NULL;
    unsigned n = 0;
    if (total && !checks)
        rc = oom();
    for (size_t i = 0; !rc && i < ncols; i++) {
        char cp[KEYPATH_BUF + 40];
        if (!vals[i] || cfg_is_null(vals[i]))
            continue;
        snprintf(cp, sizeof(cp), "%s[%zu].checks", kp, i);
        rc = parse_checks(m, vals[i], cp, t, (unsigned)(nextra + i), checks, &n);
    }
    free(vals);
    if (!rc && n) {
        const char *file = arena_strdup(m->a, m->p->name);
        if (!file)
            rc = oom();
        for (unsigned i = 0; !rc && i < n; i++)
            checks[i].file = file;
    }
    if (!rc) {
        t->checks = checks;
        t->nchecks = n;
    }
    return rc;
}

/* ---- a table: columns, drops, indexes ---- */

struct table_keys {
    yaml_node_t *columns, *drop, *indexes, *description;
};

/* Fills t (name set by the caller), its fields (*fields, *nfields) from the
 * `columns` and `drop` lists; `extra` columns (a child's parent key and
 * position) come first. */
static int parse_table(struct mctx *m, yaml_node_t *at, const char *path,
                       const struct table_keys *tk, const struct column_def *extra, unsigned nextra,
                       struct table_def *t, const struct field_spec **fields_out,
                       unsigned *nfields_out)
{
    char kp[KEYPATH_BUF], ip[KEYPATH_BUF];
    int rc;
    if (!tk->columns)
        return cfg_error(m->p, at, "missing required key 'columns' in '%s'", path);
    cfg_join(kp, sizeof(kp), path, "columns");
    if (tk->columns->type != YAML_SEQUENCE_NODE || seq_size(tk->columns) == 0)
        return cfg_error(m->p, tk->columns, "'%s' must be a list of at least one column", kp);
    size_t ncols = seq_size(tk->columns), ndrop = 0;
    if (tk->drop) {
        rc = list_check(m, tk->drop, cfg_join(ip, sizeof(ip), path, "drop"));
        if (rc)
            return rc;
        ndrop = list_size(tk->drop);
    }
    if (ncols + nextra > 1000)
        return cfg_error(m->p, tk->columns, "'%s' has more than 1000 columns", kp);
    struct column_def *cols = arena_alloc(m->a, (ncols + nextra) * sizeof(*cols));
    struct field_spec *fields = arena_alloc(m->a, (ncols + ndrop + 1) * sizeof(*fields));
    if (!cols || !fields)
        return oom();
    for (unsigned i = 0; i < nextra; i++)
        cols[i] = extra[i];
    for (size_t i = 0; i < ncols + ndrop; i++)
        fields[i].col = i < ncols ? (int)(nextra + i) : -1;
    for (size_t i = 0; i < ncols; i++) {
        char cp[KEYPATH_BUF + 24];
        snprintf(cp, sizeof(cp), "%s[%zu]", kp, i);
        rc = parse_column(m, seq_item(m->p, tk->columns, i), cp, &cols[nextra + i], &fields[i]);
        if (rc)
            return rc;
        if (nextra && cols[nextra + i].subject)
            return cfg_error(m->p, seq_item(m->p, tk->columns, i),
                             "'%s.subject': a child table's rows belong to their parent's "
                             "subject; declare 'subject: true' on the parent's column",
                             cp);
        for (size_t j = 0; j < nextra + i; j++)
            if (strcmp(cols[j].name, cols[nextra + i].name) == 0)
                return cfg_error(m->p, seq_item(m->p, tk->columns, i),
                                 "column '%s' is declared twice in '%s'%s", cols[j].name, path,
                                 j < nextra ? " (the loader adds it: the parent's key or the "
                                              "element position)"
                                            : "");
    }
    for (size_t i = 0; i < ndrop; i++) {
        yaml_node_t *it = list_item(m->p, tk->drop, i);
        struct field_spec *f = &fields[ncols + i];
        rc = path_dup(m, it, ip, &f->path);
        if (rc)
            return rc;
        f->action = PII_DROP;
        f->decl_line = (int)it->start_mark.line + 1;
        f->decl_col = (int)it->start_mark.column + 1;
        for (size_t j = 0; j < ncols; j++)
            if (strcmp(fields[j].path, f->path) == 0)
                return cfg_error(m->p, it, "'%s' is both dropped and mapped to column '%s' in '%s'",
                                 f->path, fields[j].column, path);
    }
    t->cols = cols;
    t->ncols = (unsigned)(ncols + nextra);
    *fields_out = fields;
    *nfields_out = (unsigned)(ncols + ndrop);
    rc = parse_table_checks(m, tk->columns, kp, nextra, t);
    if (rc)
        return rc;
    if (tk->description) {
        rc = scalar_dup(m, tk->description, cfg_join(ip, sizeof(ip), path, "description"),
                        &t->description);
        if (!rc && strlen(t->description) > 2048)
            rc = cfg_error(m->p, tk->description,
                           "'%s' is longer than 2048 characters (a table COMMENT)", ip);
        if (rc)
            return rc;
    }
    if (tk->indexes) {
        cfg_join(ip, sizeof(ip), path, "indexes");
        rc = cfg_map_check(m->p, tk->indexes, ip);
        size_t n = cfg_map_size(tk->indexes);
        if (rc || n == 0)
            return rc;
        struct index_def *ix = arena_alloc(m->a, n * sizeof(*ix));
        if (!ix)
            return oom();
        for (yaml_node_pair_t *pair = tk->indexes->data.mapping.pairs.start;
             pair < tk->indexes->data.mapping.pairs.top; pair++) {
            yaml_node_t *k = cfg_node_at(m->p, pair->key), *v = cfg_node_at(m->p, pair->value);
            struct index_def *x = &ix[t->nindexes++];
            char xp[KEYPATH_BUF];
            rc = ident_dup(m, k, ip, "index name", &x->name);
            if (!rc && (!v || cfg_is_null(v)))
                rc = cfg_error(m->p, k, "missing columns for index '%s' in '%s'", x->name, ip);
            if (rc)
                return rc;
            cfg_join(xp, sizeof(xp), ip, x->name);
            rc = list_check(m, v, xp);
            if (rc)
                return rc;
            size_t nc = list_size(v);
            if (nc == 0 || nc > 16)
                return cfg_error(m->p, v, "'%s' must list 1..16 columns", xp);
            const char **names = arena_alloc(m->a, nc * sizeof(*names));
            if (!names)
                return oom();
            for (size_t i = 0; i < nc; i++) {
                yaml_node_t *it = list_item(m->p, v, i);
                rc = ident_dup(m, it, xp, "column name", &names[i]);
                if (!rc && streamdef_column_index(t, names[i]) < 0)
                    rc = cfg_error(m->p, it,
                                   "index '%s' names column '%s', which '%s' does not have",
                                   x->name, names[i], path);
                if (rc)
                    return rc;
            }
            x->cols = names;
            x->ncols = (unsigned)nc;
        }
        t->indexes = ix;
    }
    return 0;
}

/* ---- children ---- */

/* True when dotted paths `x` and `y` are equal or one leads into the other
 * ("lines" and "lines.sku"): two readers of one part of the record. */
static bool path_overlaps(const char *x, const char *y)
{
    size_t nx = strlen(x), ny = strlen(y), n = nx < ny ? nx : ny;
    return strncmp(x, y, n) == 0 && (nx == ny || (nx < ny ? y[n] : x[n]) == '.');
}

enum { CH_TABLE, CH_FROM, CH_POSITION, CH_DESCRIPTION, CH_COLUMNS, CH_DROP, CH_INDEXES, CH_N };
static const char *const child_keys[CH_N] = {
    [CH_TABLE] = "table",       [CH_FROM] = "from",
    [CH_POSITION] = "position", [CH_DESCRIPTION] = "description",
    [CH_COLUMNS] = "columns",   [CH_DROP] = "drop",
    [CH_INDEXES] = "indexes"};

static int parse_child(struct mctx *m, yaml_node_t *node, const char *path,
                       const struct table_def *parent, struct child_def *cd)
{
    struct field k[CH_N];
    char kp[KEYPATH_BUF];
    struct column_def extra[2];
    int rc = cfg_map_fields(m->p, node, path, child_keys, k, CH_N);
    if (rc)
        return rc;
    if (node->type != YAML_MAPPING_NODE || !k[CH_TABLE].value || !k[CH_FROM].value ||
        !k[CH_POSITION].value)
        return cfg_error(m->p, node, "'%s' needs 'table', 'from' and 'position'", path);
    struct table_def *t = arena_alloc(m->a, sizeof(*t));
    if (!t)
        return oom();
    rc = table_name_dup(m, k[CH_TABLE].value, cfg_join(kp, sizeof(kp), path, "table"), &t->name);
    if (!rc)
        rc = path_dup(m, k[CH_FROM].value, cfg_join(kp, sizeof(kp), path, "from"), &cd->path);
    if (rc)
        return rc;
    /* the parent's key, then the element's position: the child's key */
    const struct column_def *pk = &parent->cols[0];
    if (parent->nkey != 1 ||
        (pk->type != COL_BIGINT && pk->type != COL_INT && pk->type != COL_SMALLINT))
        return cfg_error(m->p, node,
                         "'%s': a child table needs a parent key of one integer column "
                         "(bigint, int or smallint)",
                         path);
    memset(extra, 0, sizeof(extra));
    extra[0].name = pk->name;
    extra[0].type = pk->type;
    extra[0].required = true;
    extra[1].type = COL_SMALLINT;
    extra[1].is_unsigned = true;
    extra[1].required = true;
    yaml_node_t *pos = k[CH_POSITION].value;
    cfg_join(kp, sizeof(kp), path, "position");
    if (pos->type == YAML_MAPPING_NODE) {
        static const char *const pos_keys[] = {"name", "description"};
        struct field pf[2];
        rc = cfg_map_fields(m->p, pos, kp, pos_keys, pf, 2);
        if (!rc && !pf[0].value)
            rc = cfg_error(m->p, pos, "missing required key 'name' in '%s'", kp);
        if (!rc)
            rc = ident_dup(m, pf[0].value, kp, "column name", &extra[1].name);
        if (!rc && pf[1].value)
            rc = scalar_dup(m, pf[1].value, kp, &extra[1].description);
    } else {
        rc = ident_dup(m, pos, kp, "column name", &extra[1].name);
    }
    if (rc)
        return rc;
    if (strcmp(extra[1].name, extra[0].name) == 0)
        return cfg_error(m->p, pos, "'%s' is the parent key's name '%s'", kp, extra[0].name);
    struct table_keys tk = {k[CH_COLUMNS].value, k[CH_DROP].value, k[CH_INDEXES].value,
                            k[CH_DESCRIPTION].value};
    t->nkey = 2;
    rc = parse_table(m, node, path, &tk, extra, 2, t, &cd->fields, &cd->nfields);
    if (rc)
        return rc;
    cd->table = t;
    return 0;
}

/* ---- a stream definition ---- */

/* The keys of a mapping (a file's root, or inline in a stream). */
enum {
    MK_TABLE,
    MK_DESCRIPTION,
    MK_KEY,
    MK_SCHEMA,
    MK_UNKNOWN,
    MK_COLUMNS,
    MK_DROP,
    MK_INDEXES,
    MK_CHILDREN,
    MK_EXACTLY_ONCE,
    MK_PARTITION,
    MK_RETENTION,
    MK_HISTORY,
    MK_INCREMENTAL,
    MK_QUASI, /* from here on: also on a stream's entry beside `mapping:` */
    MK_K,
    MK_FRESHNESS,
    MK_MIN_ROWS,
    MK_N
};
static const char *const mapping_keys[MK_N] = {[MK_TABLE] = "table",
                                               [MK_DESCRIPTION] = "description",
                                               [MK_KEY] = "key",
                                               [MK_SCHEMA] = "schema",
                                               [MK_UNKNOWN] = "unknown_fields",
                                               [MK_COLUMNS] = "columns",
                                               [MK_DROP] = "drop",
                                               [MK_INDEXES] = "indexes",
                                               [MK_CHILDREN] = "children",
                                               [MK_EXACTLY_ONCE] = "exactly_once",
                                               [MK_PARTITION] = "partition",
                                               [MK_RETENTION] = "retention",
                                               [MK_HISTORY] = "history",
                                               [MK_INCREMENTAL] = "incremental",
                                               [MK_QUASI] = "quasi_identifiers",
                                               [MK_K] = "k",
                                               [MK_FRESHNESS] = "freshness",
                                               [MK_MIN_ROWS] = "min_rows"};

const char *const *cfg_mapping_keys(size_t *n)
{
    *n = MK_N;
    return mapping_keys;
}

size_t cfg_mapping_entry_keys_from(void)
{
    return MK_QUASI;
}

/* `freshness: 26h` (a whole number and s, m, h or d) and `min_rows: N`
 * into d; given on a stream's entry they replace the definition's. */
static int stream_expectations(struct mctx *m, const struct field *keys, const char *path,
                               struct stream_def *d)
{
    char kp[KEYPATH_BUF];
    int rc = 0;
    if (keys[0].value) {
        struct scalar s;
        cfg_join(kp, sizeof(kp), path, "freshness");
        rc = cfg_get_scalar(m->p, keys[0].value, kp, 0, &s);
        if (rc)
            return rc;
        unsigned long long n = 0, unit = 0;
        size_t i = 0;
        for (; i < s.len && i < 9 && isdigit((unsigned char)s.s[i]); i++)
            n = n * 10 + (unsigned)(s.s[i] - '0');
        if (i > 0 && i + 1 == s.len)
            unit = s.s[i] == 's'   ? 1
                   : s.s[i] == 'm' ? 60
                   : s.s[i] == 'h' ? 3600
                   : s.s[i] == 'd' ? 86400
                                   : 0;
        cfg_scalar_release(&s);
        if (!unit || n == 0 || n * unit > 366ull * 86400)
            return cfg_error(m->p, keys[0].value,
                             "'%s' must be a duration such as 90m, 26h or 7d (s, m, h or d; at "
                             "most 366d)",
                             kp);
        d->freshness_s = n * unit;
    }
    if (keys[1].value) {
        unsigned v = 0;
        rc = cfg_set_uint(m->p, &keys[1], path, "min_rows", 1, 4000000000u, 0, &v);
        if (rc)
            return rc;
        d->min_rows = v;
    }
    return 0;
}

/* Largest `k`: a group threshold beyond any table's row count is a typo. */
#define K_MAX 1000000u
/* "monitor_" + table + "_small_groups" must be an identifier (64 characters). */
#define SMALL_GROUPS_AFFIXES (sizeof("monitor_") - 1 + sizeof("_small_groups") - 1)

int cfg_mapping_privacy(struct parse *p, const struct field *keys, const char *path,
                        struct streamdef_arena *a, const struct stream_def *def)
{
    /* the definition was built for this configuration a moment ago (into
     * its own arena) and is not shared yet: it may still be completed */
    struct stream_def *d = (struct stream_def *)def;
    struct mctx m = {p, a};
    const struct field *q = &keys[0], *kf = &keys[1];
    char kp[KEYPATH_BUF];
    int rc = stream_expectations(&m, keys + (MK_FRESHNESS - MK_QUASI), path, d);
    if (rc)
        return rc;
    if (!q->value && !kf->value)
        return 0;
    if (d->nquasi)
        return cfg_error(p, q->key ? q->key : kf->key,
                         "'%s': the mapping (%s) declares quasi_identifiers and k already: "
                         "declare them in one place",
                         path, d->file);
    if (!q->value || !kf->value)
        return cfg_error(p, q->value ? q->key : kf->key,
                         "'%s' needs both 'quasi_identifiers' and 'k' (the smallest group size "
                         "allowed)",
                         path);
    cfg_join(kp, sizeof(kp), path, "quasi_identifiers");
    rc = list_check(&m, q->value, kp);
    if (rc)
        return rc;
    size_t n = list_size(q->value);
    if (n == 0 || n > 16)
        return cfg_error(p, q->value, "'%s' must name 1..16 columns", kp);
    if (strlen(d->table->name) + SMALL_GROUPS_AFFIXES > 64)
        return cfg_error(p, q->value,
                         "'%s': table name '%s' is too long for its monitoring view "
                         "monitor_<table>_small_groups (at most %zu characters)",
                         kp, d->table->name, 64 - SMALL_GROUPS_AFFIXES);
    const char **names = arena_alloc(a, n * sizeof(*names));
    if (!names)
        return oom();
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = list_item(p, q->value, i);
        rc = ident_dup(&m, it, kp, "column name", &names[i]);
        if (rc)
            return rc;
        int ci = streamdef_column_index(d->table, names[i]);
        if (ci < 0)
            return cfg_error(p, it,
                             "quasi-identifier '%s' is not a column of table '%s' (the analyst "
                             "reads only its columns; a dropped field is not one)",
                             names[i], d->table->name);
        if ((unsigned)ci < d->table->nkey)
            return cfg_error(p, it,
                             "quasi-identifier '%s' is a key column of '%s': every group would "
                             "be one row, and the monitoring view would list keys",
                             names[i], d->table->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], names[i]) == 0)
                return cfg_error(p, it, "quasi-identifier '%s' is listed twice in '%s'", names[i],
                                 kp);
    }
    unsigned k = 0;
    rc = cfg_set_uint(p, kf, path, "k", 2, K_MAX, 0, &k);
    if (rc)
        return rc;
    d->quasi = names;
    d->nquasi = (unsigned)n;
    d->k = k;
    return 0;
}

/* ---- partitioning and retention ---- */

/* Largest `ahead` and `retention`: beyond them a value is a typo. */
#define PARTITION_AHEAD_MAX 400u
#define RETENTION_DAYS_MAX  36600u
#define PARTITIONS_MAX      8192u

/* `retention: 400d`: a whole number of days, 1..RETENTION_DAYS_MAX. */
static int parse_retention(struct mctx *m, yaml_node_t *v, const char *keypath, unsigned *days)
{
    struct scalar s;
    int rc = cfg_get_scalar(m->p, v, keypath, 0, &s);
    if (rc)
        return rc;
    bool ok = s.len >= 2 && s.len <= 7 && s.s[s.len - 1] == 'd';
    for (size_t i = 0; ok && i + 1 < s.len; i++)
        ok = isdigit((unsigned char)s.s[i]) != 0;
    unsigned long n = ok ? strtoul(s.s, NULL, 10) : 0;
    cfg_scalar_release(&s);
    if (!ok || n < 1 || n > RETENTION_DAYS_MAX)
        return cfg_error(m->p, v, "'%s' must be a number of days written Nd, e.g. 400d (1..%ud)",
                         keypath, RETENTION_DAYS_MAX);
    *days = (unsigned)n;
    return 0;
}

/* `partition: { column: C, by: day|month, ahead: N }` and `retention: Nd`
 * of main table t: C a required date or datetime column of t; no child
 * tables (their rows would outlive the partitions retention drops). */
static int parse_partition(struct mctx *m, const struct field *pf, const struct field *rf,
                           const char *path, struct stream_def *d, struct table_def *t)
{
    static const char *const part_keys[] = {"column", "by", "ahead"};
    static const char *const by_words[] = {"day", "month", NULL};
    struct field k[3];
    char kp[KEYPATH_BUF], cp[KEYPATH_BUF];
    int rc;
    if (!pf->value && !rf->value)
        return 0;
    if (!pf->value)
        return cfg_error(m->p, rf->key,
                         "'%s' needs 'partition': retention drops whole partitions, e.g. "
                         "partition: { column: created_at, by: month }",
                         cfg_join(kp, sizeof(kp), path, "retention"));
    yaml_node_t *v = pf->value;
    cfg_join(kp, sizeof(kp), path, "partition");
    if (v->type != YAML_MAPPING_NODE)
        return cfg_error(m->p, v, "'%s' must be a mapping, e.g. { column: created_at, by: month }",
                         kp);
    rc = cfg_map_fields(m->p, v, kp, part_keys, k, 3);
    if (rc)
        return rc;
    if (!k[0].value || !k[1].value)
        return cfg_error(m->p, v, "'%s' needs 'column' and 'by' (day or month)", kp);
    struct partition_def *pd = arena_alloc(m->a, sizeof(*pd));
    if (!pd)
        return oom();
    pd->decl_line = (int)v->start_mark.line + 1;
    pd->decl_col = (int)v->start_mark.column + 1;
    rc = ident_dup(m, k[0].value, cfg_join(cp, sizeof(cp), kp, "column"), "column name",
                   &pd->column);
    if (rc)
        return rc;
    int ci = streamdef_column_index(t, pd->column);
    if (ci < 0)
        return cfg_error(m->p, k[0].value,
                         "partition column '%s' is not a column of table '%s' (a dropped field "
                         "is not one)",
                         pd->column, t->name);
    const struct column_def *c = &t->cols[ci];
    if (c->type != COL_DATE && c->type != COL_DATETIME && c->type != COL_EPOCH_MS)
        return cfg_error(m->p, k[0].value,
                         "partition column '%s' of '%s' must be a date or datetime column "
                         "(date, datetime or epoch_ms)",
                         pd->column, t->name);
    if (!c->required)
        return cfg_error(m->p, k[0].value,
                         "partition column '%s' of '%s' must be required: true (a row without "
                         "it belongs to no partition)",
                         pd->column, t->name);
    int by = 0;
    rc = cfg_set_enum(m->p, &k[1], kp, "by", by_words, "day or month", &by);
    if (rc)
        return rc;
    pd->by = by == 0 ? PARTITION_DAY : PARTITION_MONTH;
    rc = cfg_set_uint(m->p, &k[2], kp, "ahead", 1, PARTITION_AHEAD_MAX, 3, &pd->ahead);
    if (rc)
        return rc;
    if (d->nchildren)
        return cfg_error(m->p, v,
                         "'%s': a stream with child tables cannot be partitioned (retention "
                         "would drop the parents' rows and leave their children)",
                         kp);
    if (rf->value) {
        rc = parse_retention(m, rf->value, cfg_join(cp, sizeof(cp), path, "retention"),
                             &pd->retention_days);
        if (rc)
            return rc;
    }
    /* the server takes at most 8192 partitions per table */
    if (pd->by == PARTITION_DAY && pd->retention_days + pd->ahead + 3 > PARTITIONS_MAX)
        return cfg_error(m->p, rf->value ? rf->value : v,
                         "'%s': by: day with retention %ud and ahead %u needs more than %u "
                         "partitions (the server's limit): partition by month",
                         kp, pd->retention_days, pd->ahead, PARTITIONS_MAX);
    t->partition = pd;
    return 0;
}

/* The longest table name of a history stream: its staging table
 * load_snapshot_<table> and its monitoring view monitor_<table>_history
 * must be identifiers (64 characters). */
#define HISTORY_TABLE_MAX (64 - (sizeof("monitor_") - 1 + sizeof("_history") - 1))

/* `history: scd2`: the table keeps every version (history.h). Refused with
 * child tables (a version of a parent would need versions of its
 * children), with exactly_once (a queue is no snapshot), for a table name
 * too long for the derived names, and for a column named like a history
 * column. */
static int mapping_history(struct mctx *m, const struct field *f, const char *path,
                           struct stream_def *d, struct table_def *t)
{
    struct parse *p = m->p;
    static const char *const words[] = {"none", "scd2", NULL};
    int mode = 0;
    size_t nhist;
    const struct column_def *hist = ddlgen_history_columns(&nhist);
    int rc = cfg_set_enum(p, f, path, "history", words, "none or scd2", &mode);
    if (rc || mode == 0)
        return rc;
    if (d->nchildren)
        return cfg_error(p, f->value,
                         "'%s': a stream with 'history: scd2' cannot have child tables (map the "
                         "array as a stream of its own)",
                         path);
    if (d->processed_table)
        return cfg_error(p, f->value,
                         "'%s': 'history: scd2' needs full snapshots; it cannot be combined "
                         "with exactly_once",
                         path);
    if (strlen(t->name) > HISTORY_TABLE_MAX)
        return cfg_error(p, f->value,
                         "'%s': table name '%s' is too long for a history table (at most %zu "
                         "characters: monitor_<table>_history must be an identifier)",
                         path, t->name, HISTORY_TABLE_MAX);
    for (unsigned i = 0; i < t->ncols; i++)
        for (size_t h = 0; h < nhist; h++)
            if (strcasecmp(t->cols[i].name, hist[h].name) == 0)
                return cfg_error(p, f->value,
                                 "'%s': column '%s' has the name of a history column (valid_from, "
                                 "valid_to, version, is_current, deleted, row_hash)",
                                 path, t->cols[i].name);
    if (t->partition)
        return cfg_error(p, f->value,
                         "'%s': a history table cannot be partitioned (its versions share a "
                         "key; retention would drop versions of live keys)",
                         path);
    t->history = true;
    return 0;
}

/* `incremental: { cursor, param, lookback, sorted }` of definition `d`
 * (its main table parsed): see streamdef.h incremental_def. */
static int parse_incremental(struct mctx *m, yaml_node_t *v, const char *path, struct stream_def *d)
{
    enum { IK_CURSOR, IK_PARAM, IK_LOOKBACK, IK_SORTED, IK_N };
    static const char *const names[IK_N] = {"cursor", "param", "lookback", "sorted"};
    struct field k[IK_N];
    char kp[KEYPATH_BUF], ip[KEYPATH_BUF];
    struct incremental_def *inc;
    int rc;
    cfg_join(ip, sizeof(ip), path, "incremental");
    if (v->type != YAML_MAPPING_NODE)
        return cfg_error(m->p, v,
                         "'%s' must be a mapping such as { cursor: updatedAt, param: "
                         "updated_since, lookback: 1h }",
                         ip);
    rc = cfg_map_fields(m->p, v, ip, names, k, IK_N);
    if (rc)
        return rc;
    if (!k[IK_CURSOR].value || !k[IK_PARAM].value)
        return cfg_error(m->p, v,
                         "'%s' needs 'cursor' (a field of the record) and 'param' (the "
                         "query parameter the source filters by)",
                         ip);
    if (!(inc = arena_alloc(m->a, sizeof(*inc))))
        return oom();
    inc->decl_line = (int)v->start_mark.line + 1;
    inc->decl_col = (int)v->start_mark.column + 1;
    rc = path_dup(m, k[IK_CURSOR].value, cfg_join(kp, sizeof(kp), ip, "cursor"), &inc->cursor);
    if (rc)
        return rc;
    inc->col = -1;
    for (unsigned i = 0; i < d->nfields; i++)
        if (d->fields[i].column && strcmp(d->fields[i].path, inc->cursor) == 0) {
            if (d->fields[i].action != PII_KEEP)
                return cfg_error(m->p, k[IK_CURSOR].value,
                                 "'%s': field '%s' is stored as %s, not as sent: a cursor must be "
                                 "kept (pii: keep)",
                                 kp, inc->cursor, pii_action_name(d->fields[i].action));
            inc->col = d->fields[i].col;
        }
    if (inc->col < 0)
        return cfg_error(m->p, k[IK_CURSOR].value,
                         "'%s': field '%s' is not mapped to a column of table '%s' (a cursor "
                         "must be a column: datetime, epoch_ms, bigint or int)",
                         kp, inc->cursor, d->table->name);
    switch (d->table->cols[inc->col].type) {
    case COL_DATETIME:
        inc->kind = CURSOR_DATETIME;
        break;
    case COL_EPOCH_MS:
        inc->kind = CURSOR_EPOCH_MS;
        break;
    case COL_BIGINT:
    case COL_INT:
        inc->kind = CURSOR_INTEGER;
        break;
    default:
        return cfg_error(m->p, k[IK_CURSOR].value,
                         "'%s': column '%s' cannot be a cursor (its type is no datetime, "
                         "epoch_ms, bigint or int)",
                         kp, d->table->cols[inc->col].name);
    }
    cfg_join(kp, sizeof(kp), ip, "param");
    rc = scalar_dup(m, k[IK_PARAM].value, kp, &inc->param);
    if (rc)
        return rc;
    size_t n = strlen(inc->param);
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)inc->param[i]) || strchr("_.-[]", inc->param[i]);
    if (!ok || strcmp(inc->param, "page") == 0 || strcmp(inc->param, "limit") == 0)
        return cfg_error(m->p, k[IK_PARAM].value,
                         "'%s' must be a query parameter name (letters, digits, '_', '.', '-', "
                         "'[', ']'; at most 64; not page or limit, which paginate)",
                         kp);
    if (k[IK_LOOKBACK].value) {
        const char *lb;
        cfg_join(kp, sizeof(kp), ip, "lookback");
        rc = scalar_dup(m, k[IK_LOOKBACK].value, kp, &lb);
        if (rc)
            return rc;
        if (cursor_parse_duration(lb, &inc->lookback_s))
            return cfg_error(m->p, k[IK_LOOKBACK].value,
                             "'%s' must be a duration such as 30s, 15m, 1h or 2d (at most 3650d)",
                             kp);
    }
    if (k[IK_SORTED].value) {
        rc =
            bool_value(m, k[IK_SORTED].value, cfg_join(kp, sizeof(kp), ip, "sorted"), &inc->sorted);
        if (rc)
            return rc;
    }
    d->incremental = inc;
    return 0;
}

int cfg_parse_mapping(struct parse *p, yaml_node_t *node, const struct field *keys,
                      const char *path, const char *name, const char *file,
                      struct streamdef_arena *a, const struct stream_def **out)
{
    struct mctx m = {p, a};
    struct field own[MK_N];
    char kp[KEYPATH_BUF];
    int rc;
    *out = NULL;
    if (!keys) {
        rc = cfg_map_fields(p, node, path, mapping_keys, own, MK_N);
        if (rc)
            return rc;
        if (node->type != YAML_MAPPING_NODE)
            return cfg_error(p, node, "expected a mapping for '%s'",
                             path[0] ? path : "the mapping");
        keys = own;
    }
    struct stream_def *d = arena_alloc(a, sizeof(*d));
    struct table_def *t = arena_alloc(a, sizeof(*t));
    if (!d || !t)
        return oom();
    d->name = arena_strdup(a, name);
    d->file = arena_strdup(a, file);
    if (!d->name || !d->file)
        return oom();
    if (keys[MK_TABLE].value)
        rc = table_name_dup(&m, keys[MK_TABLE].value, cfg_join(kp, sizeof(kp), path, "table"),
                            &t->name);
    else if (ident_ok(name)) {
        rc = (t->name = arena_strdup(a, name)) ? 0 : oom();
        for (size_t i = 0; !rc && reserved_prefixes[i]; i++)
            if (strncmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
                rc = cfg_error(p, node,
                               "'%s' needs a 'table': its name starts with '%s', which the "
                               "loader keeps for its own tables and views",
                               path, reserved_prefixes[i]);
    } else
        rc =
            cfg_error(p, node, "'%s' needs a 'table' ('%s' is not a valid table name)", path, name);
    if (rc)
        return rc;
    int schema = SCHEMA_EVOLVE, unknown = 0;
    static const char *const schema_words[] = {"evolve", "freeze", NULL};
    static const char *const unknown_words[] = {"ignore", "reject", NULL};
    rc = cfg_set_enum(p, &keys[MK_SCHEMA], path, "schema", schema_words, "evolve or freeze",
                      &schema);
    if (!rc)
        rc = cfg_set_enum(p, &keys[MK_UNKNOWN], path, "unknown_fields", unknown_words,
                          "ignore or reject", &unknown);
    if (rc)
        return rc;
    d->schema = (enum schema_mode)schema;
    d->unknown_reject = unknown == 1;
    if (keys[MK_EXACTLY_ONCE].value) {
        bool eo = false;
        rc = bool_value(&m, keys[MK_EXACTLY_ONCE].value,
                        cfg_join(kp, sizeof(kp), path, "exactly_once"), &eo);
        if (rc)
            return rc;
        d->processed_table = eo ? "load_processed_ids" : NULL;
    }

    struct table_keys tk = {keys[MK_COLUMNS].value, keys[MK_DROP].value, keys[MK_INDEXES].value,
                            keys[MK_DESCRIPTION].value};
    rc = parse_table(&m, node, path, &tk, NULL, 0, t, &d->fields, &d->nfields);
    if (rc)
        return rc;

    /* the key: required columns, first and in order */
    yaml_node_t *kv = keys[MK_KEY].value;
    if (!kv)
        return cfg_error(p, node, "missing required key 'key' in '%s' (the natural-key column(s))",
                         path);
    cfg_join(kp, sizeof(kp), path, "key");
    rc = list_check(&m, kv, kp);
    if (rc)
        return rc;
    size_t nk = list_size(kv);
    if (nk == 0 || nk > 16)
        return cfg_error(p, kv, "'%s' must name 1..16 columns", kp);
    for (size_t i = 0; i < nk; i++) {
        yaml_node_t *it = list_item(p, kv, i);
        const char *col;
        rc = ident_dup(&m, it, kp, "column name", &col);
        if (rc)
            return rc;
        int ci = streamdef_column_index(t, col);
        if (ci < 0)
            return cfg_error(p, it, "key column '%s' is not a column of '%s'", col, path);
        if ((size_t)ci != i)
            return cfg_error(p, it,
                             "key column '%s' must be column %zu of '%s': declare the key "
                             "columns first, in key order",
                             col, i + 1, path);
        if (!t->cols[ci].required)
            return cfg_error(p, it, "key column '%s' of '%s' must be required: true", col, path);
        if (t->cols[ci].type == COL_LONGTEXT || t->cols[ci].type == COL_HMAC ||
            d->fields[ci].invalid_null)
            return cfg_error(p, it, "key column '%s' of '%s' cannot be a key (%s)", col, path,
                             d->fields[ci].invalid_null ? "on_invalid: null" : "its type");
    }
    t->nkey = (unsigned)nk;
    d->key_path = d->fields[0].path;
    d->table = t;

    if (keys[MK_CHILDREN].value) {
        yaml_node_t *cv = keys[MK_CHILDREN].value;
        cfg_join(kp, sizeof(kp), path, "children");
        if (cv->type != YAML_SEQUENCE_NODE || seq_size(cv) == 0)
            return cfg_error(p, cv, "'%s' must be a list of child tables", kp);
        if (d->processed_table)
            return cfg_error(p, cv, "'%s': exactly_once streams cannot have child tables", kp);
        size_t nc = seq_size(cv);
        struct child_def *children = arena_alloc(a, nc * sizeof(*children));
        if (!children)
            return oom();
        for (size_t c = 0; c < nc; c++) {
            struct child_def *cd = &children[c];
            yaml_node_t *cn = seq_item(p, cv, c);
            char cp[KEYPATH_BUF + 24];
            snprintf(cp, sizeof(cp), "%s[%zu]", kp, c);
            rc = parse_child(&m, cn, cp, t, cd);
            if (rc)
                return rc;
            if (strcmp(cd->table->name, t->name) == 0)
                return cfg_error(p, cn, "'%s': the child table has the parent's name", cp);
            for (unsigned i = 0; i < d->nfields; i++)
                if (strcmp(d->fields[i].path, cd->path) == 0 ||
                    (strncmp(d->fields[i].path, cd->path, strlen(cd->path)) == 0 &&
                     d->fields[i].path[strlen(cd->path)] == '.'))
                    return cfg_error(p, cn, "'%s.from' ('%s') is also mapped or dropped by '%s'",
                                     cp, cd->path, path);
            for (size_t o = 0; o < c; o++) {
                if (strcmp(children[o].table->name, cd->table->name) == 0)
                    return cfg_error(p, cn, "'%s': table '%s' is also the table of '%s[%zu]'", cp,
                                     cd->table->name, kp, o);
                if (path_overlaps(children[o].path, cd->path))
                    return cfg_error(p, cn, "'%s.from' ('%s') is also read by '%s[%zu]' ('%s')", cp,
                                     cd->path, kp, o, children[o].path);
            }
        }
        d->children = children;
        d->nchildren = (unsigned)nc;
    }
    rc = parse_partition(&m, &keys[MK_PARTITION], &keys[MK_RETENTION], path, d, t);
    if (rc)
        return rc;
    rc = mapping_history(&m, &keys[MK_HISTORY], path, d, t);
    if (rc)
        return rc;
    if (keys[MK_INCREMENTAL].value) {
        if (d->processed_table)
            return cfg_error(p, keys[MK_INCREMENTAL].key,
                             "'%s': exactly_once streams (queues) cannot be incremental", path);
        if (t->history)
            return cfg_error(p, keys[MK_INCREMENTAL].key,
                             "'%s': a history stream reads full snapshots; it cannot be "
                             "incremental",
                             path);
        rc = parse_incremental(&m, keys[MK_INCREMENTAL].value, path, d);
        if (rc)
            return rc;
    }
    rc = cfg_mapping_privacy(p, &keys[MK_QUASI], path, a, d);
    if (rc)
        return rc;
    *out = d;
    return 0;
}

/* ---- the built-ins ---- */

const char *const streamdef_builtin_names[] = {"users", "messages", "user_logins",
                                               "user_logins_masked", NULL};

int streamdef_column_index(const struct table_def *t, const char *name)
{
    for (unsigned i = 0; i < t->ncols; i++)
        if (t->cols[i].name && strcmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The embedded text of mappings/<name>.yaml, or NULL. */
const struct sql_file *cfg_builtin_mapping_file(const char *name)
{
    char file[80];
    if ((size_t)snprintf(file, sizeof(file), "%s.yaml", name) >= sizeof(file))
        return NULL;
    for (size_t i = 0; i < sql_files_count; i++)
        if (strcmp(sql_files[i].dir, "mappings") == 0 && strcmp(sql_files[i].name, file) == 0)
            return &sql_files[i];
    return NULL;
}

/* ---- checks across the configured streams ---- */

/* A check's position as a config error: "<file>:<line>:<col>: <text>". */
static int check_error(const struct check_def *ck, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int check_error(const struct check_def *ck, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return err_set(ML_ECONFIG, "%s:%d:%d: %s", ck->file ? ck->file : "?", ck->decl_line,
                   ck->decl_col, text);
}

static const struct table_def *configured_table(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nstreams; i++) {
        const struct stream_def *d = cfg->streams[i].def;
        if (!d)
            continue;
        if (strcmp(d->table->name, name) == 0)
            return d->table;
        for (unsigned c = 0; c < d->nchildren; c++)
            if (strcmp(d->children[c].table->name, name) == 0)
                return d->children[c].table;
    }
    return NULL;
}

/* Whether values of columns a and b can be compared as equal. */
static bool comparable(const struct column_def *a, const struct column_def *b)
{
    bool ia = type_is_number(a->type), ib = type_is_number(b->type);
    if (a->type == COL_SURROGATE || b->type == COL_SURROGATE)
        return a->type == b->type && a->kind && b->kind && strcmp(a->kind, b->kind) == 0;
    if (ia || ib)
        return ia && ib;
    if (type_is_text(a->type) || type_is_text(b->type))
        return type_is_text(a->type) && type_is_text(b->type);
    if (a->type == COL_DATE || b->type == COL_DATE)
        return a->type == b->type;
    return (a->type == COL_DATETIME || a->type == COL_EPOCH_MS) &&
           (b->type == COL_DATETIME || b->type == COL_EPOCH_MS);
}

struct view_name {
    char name[72];
    const struct check_def *check; /* NULL: not a check's view */
};

static bool handwritten_view(const char *name)
{
    char file[80];
    if ((size_t)snprintf(file, sizeof(file), "%s.sql", name) >= sizeof(file))
        return false;
    for (size_t i = 0; i < sql_files_count; i++)
        if (strcmp(sql_files[i].dir, "views/monitoring") == 0 &&
            strcmp(sql_files[i].name, file) == 0)
            return true;
    return false;
}

/* Records one generated view's name; a name met before is refused unless
 * both are checks naming it with `monitor:` (one view of several parts). */
static int note_view(struct view_name *names, size_t *n, const char *name,
                     const struct check_def *ck, const char *what)
{
    if (handwritten_view(name))
        return ck ? check_error(ck, "monitoring view name '%s' is the name of a hand-written view",
                                name)
                  : err_set(ML_ECONFIG,
                            "%s: monitoring view name '%s' is the name of a "
                            "hand-written view",
                            what, name);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(names[i].name, name) != 0)
            continue;
        if (ck && ck->monitor && names[i].check && names[i].check->monitor)
            return 0;
        if (ck)
            return check_error(ck,
                               "monitoring view name '%s' is also derived for another view: give "
                               "this check another name with 'monitor:'",
                               name);
        return err_set(ML_ECONFIG, "%s: monitoring view name '%s' is also the name of another view",
                       what, name);
    }
    snprintf(names[*n].name, sizeof(names[*n].name), "%s", name);
    names[*n].check = ck;
    (*n)++;
    return 0;
}

static int validate_table_checks(const struct config *cfg, const struct stream_def *d,
                                 const struct table_def *t, struct view_name *names, size_t *n)
{
    struct buf name = BUF_INIT;
    int rc = 0;
    for (unsigned i = 0; !rc && i < t->nchecks; i++) {
        const struct check_def *ck = &t->checks[i];
        if (ck->kind == CHECK_REFERENCES) {
            const struct table_def *rt = configured_table(cfg, ck->ref_table);
            int rci = rt ? streamdef_column_index(rt, ck->ref_column) : -1;
            if (!rt && strncmp(d->file, "builtin:", 8) == 0)
                continue; /* the built-in's other stream is not configured */
            if (!rt)
                rc = check_error(ck,
                                 "'references: %s.%s': table '%s' is no table of a configured "
                                 "stream",
                                 ck->ref_table, ck->ref_column, ck->ref_table);
            else if (rci < 0)
                rc = check_error(ck, "'references: %s.%s': table '%s' has no column '%s'",
                                 ck->ref_table, ck->ref_column, ck->ref_table, ck->ref_column);
            else if (!comparable(&t->cols[ck->col], &rt->cols[rci]))
                rc = check_error(ck,
                                 "'references: %s.%s': column '%s' of '%s' and column '%s' hold "
                                 "values of different types",
                                 ck->ref_table, ck->ref_column, t->cols[ck->col].name, t->name,
                                 ck->ref_column);
            if (rc)
                break;
        }
        buf_reset(&name);
        rc = ck->monitor ? buf_adds(&name, ck->monitor)
                         : ddlgen_monitor_name(&name, t->name, t->cols[ck->col].name,
                                               ddlgen_check_word(ck->kind));
        if (!rc)
            rc = note_view(names, n, name.data, ck, NULL);
    }
    buf_release(&name);
    return rc;
}

int cfg_mapping_validate_checks(struct parse *p)
{
    const struct config *cfg = p->cfg;
    size_t cap = 0, n = 0;
    struct buf name = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < cfg->nstreams; i++) {
        const struct stream_def *d = cfg->streams[i].def;
        if (!d)
            continue;
        cap += 3 + d->table->nchecks;
        for (unsigned c = 0; c < d->nchildren; c++)
            cap += d->children[c].table->nchecks;
    }
    struct view_name *names = calloc(cap ? cap : 1, sizeof(*names));
    if (!names)
        return oom();
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        const struct config_stream *st = &cfg->streams[i];
        const struct stream_def *d = st->def;
        char what[KEYPATH_BUF];
        bool seen = false;
        if (!d)
            continue;
        for (size_t j = 0; j < i; j++)
            seen = seen || (cfg->streams[j].def &&
                            strcmp(cfg->streams[j].def->table->name, d->table->name) == 0);
        snprintf(what, sizeof(what), "%s:%d:%d: 'streams.%s'", p->name, st->pos.line,
                 st->pos.column, st->name);
        if (!seen) {
            if (d->nquasi) {
                buf_reset(&name);
                rc = ddlgen_small_groups_name(&name, d);
                if (!rc)
                    rc = note_view(names, &n, name.data, NULL, what);
            }
            if (!rc)
                rc = validate_table_checks(cfg, d, d->table, names, &n);
            for (unsigned c = 0; !rc && c < d->nchildren; c++)
                rc = validate_table_checks(cfg, d, d->children[c].table, names, &n);
        }
        for (int e = 0; !rc && e < 2; e++) {
            if (!(e == 0 ? d->freshness_s : d->min_rows))
                continue;
            buf_reset(&name);
            rc = ddlgen_monitor_name(&name, st->name, NULL, e == 0 ? "freshness" : "min_rows");
            if (!rc)
                rc = note_view(names, &n, name.data, NULL, what);
        }
    }
    buf_release(&name);
    free(names);
    return rc;
}
