#include "schemadiff.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ddlgen.h"
#include "error.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- types ---- */

static const struct {
    const char *word;
    enum sqlt_base base;
} type_words[] = {
    {"tinyint", SQLT_TINYINT},   {"smallint", SQLT_SMALLINT}, {"mediumint", SQLT_MEDIUMINT},
    {"int", SQLT_INT},           {"integer", SQLT_INT},       {"bigint", SQLT_BIGINT},
    {"boolean", SQLT_BOOL},      {"bool", SQLT_BOOL},         {"decimal", SQLT_DECIMAL},
    {"numeric", SQLT_DECIMAL},   {"char", SQLT_CHAR},         {"varchar", SQLT_VARCHAR},
    {"tinytext", SQLT_TINYTEXT}, {"text", SQLT_TEXT},         {"mediumtext", SQLT_MEDIUMTEXT},
    {"longtext", SQLT_LONGTEXT}, {"binary", SQLT_BINARY},     {"varbinary", SQLT_VARBINARY},
    {"date", SQLT_DATE},         {"datetime", SQLT_DATETIME}, {"timestamp", SQLT_TIMESTAMP},
    {"bytea", SQLT_BYTEA},       {"character", SQLT_CHAR}, /* PostgreSQL's format_type:
                                                              "character(n)", "character varying(n)"
                                                            */
};

static const char *base_word(enum sqlt_base b)
{
    if (b == SQLT_INT)
        return "int";
    if (b == SQLT_BOOL)
        return "boolean";
    if (b == SQLT_DECIMAL)
        return "decimal";
    for (size_t i = 0; i < ARRAY_LEN(type_words); i++)
        if (type_words[i].base == b)
            return type_words[i].word;
    return "?";
}

static bool is_int(enum sqlt_base b)
{
    return b >= SQLT_TINYINT && b <= SQLT_BIGINT;
}

static bool is_textual(enum sqlt_base b)
{
    return b == SQLT_CHAR || b == SQLT_VARCHAR || (b >= SQLT_TINYTEXT && b <= SQLT_LONGTEXT);
}

static bool is_text_family(enum sqlt_base b)
{
    return b >= SQLT_TINYTEXT && b <= SQLT_LONGTEXT;
}

/* Types whose length is part of the type (not a display width). */
static bool has_length(enum sqlt_base b)
{
    return b == SQLT_CHAR || b == SQLT_VARCHAR || b == SQLT_BINARY || b == SQLT_VARBINARY ||
           b == SQLT_DECIMAL || b == SQLT_DATETIME || b == SQLT_TIMESTAMP;
}

/* A word of [a-z_0-9] at *p, lower-cased into w; false when there is none. */
static bool next_word(const char **p, char *w, size_t wsz)
{
    size_t n = 0;
    while (isspace((unsigned char)**p))
        (*p)++;
    while (isalnum((unsigned char)**p) || **p == '_') {
        if (n + 1 < wsz)
            w[n++] = (char)tolower((unsigned char)**p);
        (*p)++;
    }
    w[n] = '\0';
    return n > 0 && n + 1 < wsz;
}

static bool next_number(const char **p, unsigned *out)
{
    unsigned long v = 0;
    bool any = false;
    while (isspace((unsigned char)**p))
        (*p)++;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (unsigned long)(**p - '0');
        if (v > 100000000ul)
            return false;
        any = true;
        (*p)++;
    }
    *out = (unsigned)v;
    return any;
}

static bool skip_char(const char **p, char c)
{
    while (isspace((unsigned char)**p))
        (*p)++;
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* A collation name after COLLATE: a word, or a "quoted" one (PostgreSQL's
 * COLLATE "C"), into out (lower case for a word, as written when quoted). */
static bool next_collation(const char **p, char *out, size_t outsz)
{
    size_t n = 0;
    while (isspace((unsigned char)**p))
        (*p)++;
    if (**p != '"')
        return next_word(p, out, outsz);
    for ((*p)++; **p && **p != '"'; (*p)++) {
        if (n + 1 >= outsz ||
            !(isalnum((unsigned char)**p) || **p == '_' || **p == '-' || **p == '.'))
            return false;
        out[n++] = **p;
    }
    out[n] = '\0';
    if (**p != '"' || n == 0)
        return false;
    (*p)++;
    return true;
}

void schemadiff_parse_type(const char *spelling, struct sqltype *out)
{
    const char *p = spelling ? spelling : "";
    char w[72];
    unsigned a = 0, b = 0;
    bool have_a = false, have_b = false, ok = true;
    size_t i;

    memset(out, 0, sizeof(*out));
    for (i = 0; p[i] && i + 1 < sizeof(out->text); i++)
        out->text[i] = (char)tolower((unsigned char)p[i]);
    out->text[i] = '\0';
    if (!next_word(&p, w, sizeof(w)))
        return;
    for (i = 0; i < ARRAY_LEN(type_words); i++)
        if (strcmp(w, type_words[i].word) == 0)
            break;
    if (i == ARRAY_LEN(type_words))
        return;
    out->base = type_words[i].base;
    if (out->base == SQLT_CHAR && strcmp(w, "character") == 0) {
        const char *q = p;
        if (next_word(&q, w, sizeof(w)) && strcmp(w, "varying") == 0) {
            out->base = SQLT_VARCHAR;
            p = q;
        }
    }
    if (skip_char(&p, '(')) {
        ok = have_a = next_number(&p, &a);
        if (ok && skip_char(&p, ','))
            ok = have_b = next_number(&p, &b);
        ok = ok && skip_char(&p, ')');
    }
    while (ok && next_word(&p, w, sizeof(w))) {
        if (strcmp(w, "unsigned") == 0)
            out->is_unsigned = true;
        else if (strcmp(w, "signed") == 0)
            out->is_unsigned = false;
        else if (strcmp(w, "character") == 0 || strcmp(w, "charset") == 0) {
            if (strcmp(w, "character") == 0)
                ok = next_word(&p, w, sizeof(w)) && strcmp(w, "set") == 0;
            ok =
                ok && next_word(&p, w, sizeof(w)); /* the character set: implied by the collation */
        } else if (strcmp(w, "collate") == 0) {
            ok = next_collation(&p, out->collation, sizeof(out->collation));
        } else if (strcmp(w, "without") == 0 &&
                   (out->base == SQLT_TIMESTAMP || out->base == SQLT_DATETIME)) {
            /* PostgreSQL's "timestamp(3) without time zone": what ddlgen's "timestamp(3)" is */
            ok = next_word(&p, w, sizeof(w)) && strcmp(w, "time") == 0 &&
                 next_word(&p, w, sizeof(w)) && strcmp(w, "zone") == 0;
        } else {
            ok = false; /* zerofill, or anything unexpected */
        }
    }
    while (ok && isspace((unsigned char)*p))
        p++;
    if (ok && *p)
        ok = false;
    if (ok && have_b && out->base != SQLT_DECIMAL)
        ok = false;
    if (ok && out->is_unsigned && !is_int(out->base) && out->base != SQLT_DECIMAL)
        ok = false;
    if (!ok) {
        out->base = SQLT_OTHER;
        return;
    }
    switch (out->base) {
    case SQLT_TINYINT:
        /* BOOLEAN is tinyint(1) to the server */
        if (have_a && a == 1 && !out->is_unsigned)
            out->base = SQLT_BOOL;
        out->len = have_a ? a : 0;
        break;
    case SQLT_DECIMAL:
        out->len = have_a ? a : 10;
        out->scale = have_b ? b : 0;
        if (out->scale > out->len)
            out->base = SQLT_OTHER;
        break;
    case SQLT_VARCHAR:
    case SQLT_VARBINARY:
        if (!have_a)
            out->base = SQLT_OTHER;
        out->len = a;
        break;
    case SQLT_CHAR:
    case SQLT_BINARY:
        out->len = have_a ? a : 1;
        break;
    default:
        out->len = have_a ? a : 0;
        break;
    }
}

void schemadiff_type_name(const struct sqltype *t, bool with_collation, char *out, size_t outsz)
{
    int n;
    if (outsz == 0)
        return;
    switch (t->base) {
    case SQLT_OTHER:
        n = snprintf(out, outsz, "%s", t->text[0] ? t->text : "(no type)");
        break;
    case SQLT_DECIMAL:
        n = snprintf(out, outsz, "decimal(%u,%u)%s", t->len, t->scale,
                     t->is_unsigned ? " unsigned" : "");
        break;
    case SQLT_CHAR:
    case SQLT_VARCHAR:
    case SQLT_BINARY:
    case SQLT_VARBINARY:
        n = snprintf(out, outsz, "%s(%u)", base_word(t->base), t->len);
        break;
    case SQLT_DATETIME:
    case SQLT_TIMESTAMP:
        n = t->len ? snprintf(out, outsz, "%s(%u)", base_word(t->base), t->len)
                   : snprintf(out, outsz, "%s", base_word(t->base));
        break;
    default:
        n = snprintf(out, outsz, "%s%s", base_word(t->base),
                     t->is_unsigned && is_int(t->base) ? " unsigned" : "");
        break;
    }
    if (n >= 0 && (size_t)n < outsz && with_collation && t->collation[0])
        snprintf(out + n, outsz - (size_t)n, " collate %s", t->collation);
}

int schemadiff_expected_type(const struct column_def *c, enum db_dialect d, struct sqltype *out)
{
    struct buf b = BUF_INIT;
    const char *coll = ddlgen_text_collation(d);
    int rc = ddlgen_column_type(&b, c, d);
    if (rc) {
        buf_release(&b);
        return err_prefix(rc, "column '%s'", c->name ? c->name : "?");
    }
    schemadiff_parse_type(b.data, out);
    buf_release(&b);
    if (out->base == SQLT_OTHER)
        return err_set(ML_EINVAL, "column '%s': cannot compare the type '%s'", c->name, out->text);
    if (is_textual(out->base) && !out->collation[0] && coll)
        snprintf(out->collation, sizeof(out->collation), "%s", coll);
    return 0;
}

static bool same_collation(const struct sqltype *a, const struct sqltype *b)
{
    if (!is_textual(a->base) || !is_textual(b->base) || !a->collation[0] || !b->collation[0])
        return true;
    return strcasecmp(a->collation, b->collation) == 0;
}

static enum schemadiff_verdict by_order(long from, long to)
{
    return to > from ? SD_WIDER : to < from ? SD_NARROWER : SD_SAME;
}

enum schemadiff_verdict schemadiff_type_change(const struct sqltype *from, const struct sqltype *to)
{
    if (from->base == SQLT_OTHER || to->base == SQLT_OTHER)
        return from->base == to->base && strcmp(from->text, to->text) == 0 ? SD_SAME
                                                                           : SD_INCOMPATIBLE;
    if (!same_collation(from, to))
        return SD_INCOMPATIBLE;
    if (is_int(from->base) && is_int(to->base))
        return from->is_unsigned == to->is_unsigned ? by_order(from->base, to->base)
                                                    : SD_INCOMPATIBLE;
    if (from->base == SQLT_DECIMAL && to->base == SQLT_DECIMAL) {
        long fi = (long)from->len - (long)from->scale, ti = (long)to->len - (long)to->scale;
        if (from->is_unsigned != to->is_unsigned)
            return SD_INCOMPATIBLE;
        if (ti == fi && to->scale == from->scale)
            return SD_SAME;
        if (ti >= fi && to->scale >= from->scale)
            return SD_WIDER;
        if (ti <= fi && to->scale <= from->scale)
            return SD_NARROWER;
        return SD_INCOMPATIBLE;
    }
    if (from->base == SQLT_VARCHAR && to->base == SQLT_VARCHAR)
        return by_order(from->len, to->len);
    if (from->base == SQLT_VARCHAR && is_text_family(to->base))
        return SD_WIDER;
    if (is_text_family(from->base) && to->base == SQLT_VARCHAR)
        return SD_NARROWER;
    if (is_text_family(from->base) && is_text_family(to->base))
        return by_order(from->base, to->base);
    if (from->base != to->base || from->is_unsigned != to->is_unsigned)
        return SD_INCOMPATIBLE;
    if (has_length(from->base) && from->len != to->len)
        return SD_INCOMPATIBLE;
    return SD_SAME;
}

/* ---- reading the live table ---- */

static char *dup_value(const char *v, size_t len)
{
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, v, len);
        s[len] = '\0';
    }
    return s;
}

void schemadiff_live_release(struct schemadiff_live_table *t)
{
    for (size_t i = 0; i < t->ncols; i++) {
        struct schemadiff_live_column *c = &t->cols[i];
        free((char *)c->name);
        free((char *)c->type);
        free((char *)c->comment);
        free((char *)c->collation);
        free((char *)c->charset);
    }
    free(t->cols);
    free((char *)t->comment);
    memset(t, 0, sizeof(*t));
}

/* The catalog queries of a dialect, $1 the database (schema), $2 the table:
 * the table's COMMENT (one row when it exists); its columns, in order, as
 * (name, type, IS_NULLABLE, COMMENT, position, 'PRI' for a key column,
 * collation, character set, '1' when an insert may leave it out). */
struct live_sql {
    const char *table, *columns;
};

static const struct live_sql live_mysql = {
    .table = "SELECT TABLE_COMMENT FROM information_schema.TABLES "
             "WHERE TABLE_SCHEMA=$1 AND TABLE_NAME=$2",
    .columns = "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_COMMENT, "
               "ORDINAL_POSITION, COLUMN_KEY, COLLATION_NAME, CHARACTER_SET_NAME, "
               "COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' "
               "OR EXTRA LIKE '%GENERATED%' "
               "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=$1 AND TABLE_NAME=$2 "
               "ORDER BY ORDINAL_POSITION",
};

/* PostgreSQL: format_type's spelling ("character varying(64)", "timestamp(3)
 * without time zone"), the collation of every collatable column ("default"
 * when it names none), comments from pg_description. */
static const struct live_sql live_postgres = {
    .table = "SELECT coalesce(obj_description(c.oid, 'pg_class'), '') "
             "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
    .columns = "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
               "CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END, "
               "coalesce(col_description(c.oid, a.attnum), ''), a.attnum, "
               "CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid "
               "AND i.indisprimary AND a.attnum = ANY (i.indkey)) THEN 'PRI' ELSE '' END, "
               "co.collname, NULL, "
               "CASE WHEN a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' "
               "THEN '1' ELSE '0' END "
               "FROM pg_catalog.pg_attribute a "
               "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
               "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
               "LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation "
               "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') "
               "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
};

static char *dup_cell(const char *const *row, const size_t *lens, int i)
{
    return dup_value(row[i] ? row[i] : "", row[i] ? lens[i] : 0);
}

int schemadiff_read(struct wh *w, const char *space, const char *table,
                    struct schemadiff_live_table *out)
{
    const struct live_sql *q = wh_is_postgres(w) ? &live_postgres : &live_mysql;
    const char *params[2] = {space, table};
    struct buf sql = BUF_INIT, one = BUF_INIT;
    struct wh_result *r = NULL;
    const char *const *row;
    const size_t *lens;
    bool found = false;
    size_t cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = wh_query(w, q->table, 2, params, NULL, &r);
    if (!rc && wh_result_next(r, &row, &lens) == 1) {
        out->exists = true;
        out->comment = dup_cell(row, lens, 0);
        if (!out->comment)
            rc = err_set(ML_ENOMEM, "out of memory");
    }
    wh_result_free(r);
    r = NULL;
    if (rc || !out->exists)
        goto out;

    rc = wh_query(w, q->columns, 2, params, NULL, &r);
    while (!rc && wh_result_next(r, &row, &lens) == 1) {
        struct schemadiff_live_column *c;
        if (out->ncols == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct schemadiff_live_column *grown = realloc(out->cols, ncap * sizeof(*grown));
            if (!grown) {
                rc = err_set(ML_ENOMEM, "out of memory");
                break;
            }
            out->cols = grown;
            cap = ncap;
        }
        c = &out->cols[out->ncols++];
        memset(c, 0, sizeof(*c));
        c->name = dup_cell(row, lens, 0);
        c->type = dup_cell(row, lens, 1);
        c->comment = dup_cell(row, lens, 3);
        c->collation = row[6] ? dup_cell(row, lens, 6) : NULL;
        c->charset = row[7] ? dup_cell(row, lens, 7) : NULL;
        c->nullable = row[2] && strcmp(row[2], "YES") == 0;
        c->position = row[4] ? (unsigned)strtoul(row[4], NULL, 10) : 0;
        c->primary = row[5] && strcmp(row[5], "PRI") == 0;
        c->has_default = row[8] && strcmp(row[8], "1") == 0;
        if (!c->name || !c->type || !c->comment || (row[6] && !c->collation) ||
            (row[7] && !c->charset))
            rc = err_set(ML_ENOMEM, "out of memory");
    }
    wh_result_free(r);
    if (rc)
        goto out;

    rc = buf_adds(&sql, "SELECT 1 FROM ");
    if (!rc)
        rc = wh_append_qualified(wh_dialect(w), &sql, space, table);
    if (!rc)
        rc = buf_adds(&sql, " LIMIT 1");
    if (!rc)
        rc = wh_query_value(w, sql.data, 0, NULL, &one, &found);
    if (!rc)
        out->has_rows = found;
out:
    buf_release(&sql);
    buf_release(&one);
    return rc ? err_prefix(rc, "reading the columns of table '%s'", table) : 0;
}

/* ---- comparing ---- */

struct cmp {
    const struct stream_def *def;
    const struct table_def *t;
    const struct schemadiff_live_table *live;
    struct schemadiff *out;
    size_t cap;
    bool freeze;
};

/* "file:line:col", or "file" for a column the loader derives (no position). */
static void where(const struct cmp *m, const struct column_def *c, char *out, size_t outsz)
{
    const char *file = m->def && m->def->file ? m->def->file : "mapping";
    if (c && c->decl_line > 0)
        snprintf(out, outsz, "%s:%d:%d", file, c->decl_line, c->decl_col);
    else
        snprintf(out, outsz, "%s", file);
}

static struct schemadiff_change *add_change(struct cmp *m, enum schemadiff_action action)
{
    struct schemadiff *d = m->out;
    if (d->nchanges == m->cap) {
        size_t ncap = m->cap ? 2 * m->cap : 8;
        struct schemadiff_change *grown = realloc(d->changes, ncap * sizeof(*grown));
        if (!grown)
            return NULL;
        d->changes = grown;
        m->cap = ncap;
    }
    struct schemadiff_change *ch = &d->changes[d->nchanges++];
    memset(ch, 0, sizeof(*ch));
    ch->action = action;
    return ch;
}

/* Marks `ch` refused: "<where>: <text> (<why>; nothing was changed)". */
static void refuse(struct cmp *m, struct schemadiff_change *ch, const struct column_def *at,
                   const char *text, const char *why)
{
    char w[1200];
    if (ch->refused)
        return;
    where(m, at, w, sizeof(w));
    snprintf(ch->refusal, sizeof(ch->refusal), "%s: %s (%s; nothing was changed)", w, text, why);
    ch->refused = true;
    m->out->nrefused++;
}

/* Under schema: freeze every difference is refused. */
static void freeze_check(struct cmp *m, struct schemadiff_change *ch, const struct column_def *at)
{
    if (m->freeze)
        refuse(m, ch, at, ch->what, "schema: freeze");
}

static int find_live(const struct schemadiff_live_table *live, const char *name)
{
    for (size_t i = 0; i < live->ncols; i++)
        if (strcasecmp(live->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void key_list(char *out, size_t outsz, const char *const *names, size_t n)
{
    size_t used = 0;
    used += (size_t)snprintf(out, outsz, "(");
    for (size_t i = 0; i < n && used < outsz; i++)
        used += (size_t)snprintf(out + used, outsz - used, "%s%s", i ? "," : "", names[i]);
    if (used < outsz)
        snprintf(out + used, outsz - used, ")");
}

static int compare_key(struct cmp *m)
{
    const struct table_def *t = m->t;
    const char *live_names[32], *want_names[32];
    size_t nlive = 0, nwant = t->nkey < 32 ? t->nkey : 32;
    bool same;
    for (size_t i = 0; i < m->live->ncols; i++)
        if (m->live->cols[i].primary && nlive < 32)
            live_names[nlive++] = m->live->cols[i].name;
    for (size_t i = 0; i < nwant; i++)
        want_names[i] = t->cols[i].name;
    /* a partitioned table's key ends with its partitioning column (ddlgen) */
    if (ddlgen_partition_key_extra(t) && nwant < 32)
        want_names[nwant++] = t->partition->column;
    if (t->history && nwant < 32)
        want_names[nwant++] = "version"; /* a history table's key: (key..., version) */
    same = nlive == nwant;
    for (size_t i = 0; same && i < nwant; i++)
        same = strcasecmp(live_names[i], want_names[i]) == 0;
    if (same)
        return 0;
    struct schemadiff_change *ch = add_change(m, SD_KEY);
    char a[160], b[160], text[768];
    if (!ch)
        return err_set(ML_ENOMEM, "out of memory");
    key_list(a, sizeof(a), live_names, nlive);
    key_list(b, sizeof(b), want_names, nwant);
    snprintf(ch->what, sizeof(ch->what), "table '%s' has the primary key %s, the mapping says %s",
             t->name, nlive ? a : "(none)", b);
    snprintf(text, sizeof(text), "table '%s': primary key %s cannot become %s", t->name,
             nlive ? a : "(none)", b);
    if (t->partition && nlive + 1 == nwant)
        snprintf(text, sizeof(text),
                 "table '%s' exists unpartitioned (primary key %s) and its mapping now "
                 "declares partition: on '%s' (primary key %s): init does not rebuild a table; "
                 "rename or drop it and run init again, or remove 'partition'",
                 t->name, nlive ? a : "(none)", t->partition->column, b);
    struct column_def at = t->cols[0];
    if (t->partition && t->partition->decl_line > 0) {
        at.decl_line = t->partition->decl_line;
        at.decl_col = t->partition->decl_col;
    }
    refuse(m, ch, &at, text, "incompatible");
    return 0;
}

/* One column the definition declares (`after`: its predecessor, NULL for
 * the first), against the live table. */
static int compare_column(struct cmp *m, const struct column_def *c, bool not_null,
                          const char *after, enum db_dialect d, bool *matched)
{
    const char *tname = m->t->name;
    const char *want_comment = c->description ? c->description : "";
    struct sqltype want, have;
    char text[768], wn[160], hn[160];
    int li = find_live(m->live, c->name);
    int rc = schemadiff_expected_type(c, d, &want);
    if (rc)
        return err_prefix(rc, "table '%s'", tname);
    if (li < 0) {
        struct schemadiff_change *ch = add_change(m, SD_ADD);
        if (!ch)
            return err_set(ML_ENOMEM, "out of memory");
        ch->col = c;
        ch->not_null = not_null;
        ch->after = after;
        snprintf(ch->what, sizeof(ch->what), "table '%s' lacks column '%s'", tname, c->name);
        if (not_null && m->live->has_rows) {
            snprintf(text, sizeof(text),
                     "table '%s' cannot get the new required (NOT NULL) column '%s' while it has "
                     "rows (they would get an invented value)",
                     tname, c->name);
            refuse(m, ch, c, text, "incompatible");
        }
        freeze_check(m, ch, c);
        return 0;
    }
    matched[li] = true;
    const struct schemadiff_live_column *lc = &m->live->cols[li];
    schemadiff_parse_type(lc->type, &have);
    if (lc->collation && is_textual(have.base) && !have.collation[0])
        snprintf(have.collation, sizeof(have.collation), "%s", lc->collation);
    enum schemadiff_verdict v = schemadiff_type_change(&have, &want);
    bool null_change = not_null == lc->nullable;
    bool comment_change = strcmp(want_comment, lc->comment ? lc->comment : "") != 0;
    if (v == SD_SAME && !null_change && !comment_change)
        return 0;

    struct schemadiff_change *ch = add_change(m, SD_MODIFY);
    if (!ch)
        return err_set(ML_ENOMEM, "out of memory");
    ch->col = c;
    ch->not_null = not_null;
    ch->live = lc;
    ch->type_differs = v != SD_SAME;
    ch->null_differs = null_change;
    ch->comment_differs = comment_change;
    bool coll = !same_collation(&have, &want);
    schemadiff_type_name(&have, coll, hn, sizeof(hn));
    schemadiff_type_name(&want, coll, wn, sizeof(wn));
    if (v != SD_SAME)
        snprintf(ch->what, sizeof(ch->what), "table '%s' column '%s' is %s, the mapping says %s",
                 tname, c->name, hn, wn);
    else if (null_change)
        snprintf(ch->what, sizeof(ch->what), "table '%s' column '%s' is %s, the mapping says %s",
                 tname, c->name, lc->nullable ? "nullable" : "NOT NULL",
                 not_null ? "required (NOT NULL)" : "optional (NULL)");
    else
        snprintf(ch->what, sizeof(ch->what),
                 "table '%s' column '%s' has a COMMENT other than the mapping's description", tname,
                 c->name);
    if (v == SD_NARROWER || v == SD_INCOMPATIBLE) {
        snprintf(text, sizeof(text), "table '%s' column '%s': %s cannot become %s", tname, c->name,
                 hn, wn);
        refuse(m, ch, c, text, v == SD_NARROWER ? "narrowing" : "incompatible");
    }
    if (null_change && not_null && m->live->has_rows) {
        snprintf(text, sizeof(text),
                 "table '%s' column '%s': a nullable column cannot become required (NOT NULL) "
                 "while the table has rows",
                 tname, c->name);
        refuse(m, ch, c, text, "incompatible");
    }
    freeze_check(m, ch, c);
    return 0;
}

int schemadiff_compare(const struct stream_def *def, const struct table_def *t,
                       const struct schemadiff_live_table *live, enum db_dialect d,
                       struct schemadiff *out)
{
    struct cmp m = {.def = def, .t = t, .live = live, .out = out};
    size_t nmeta;
    const struct column_def *meta = ddlgen_meta_columns(&nmeta);
    bool *matched = NULL;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->def = def;
    out->table = t;
    m.freeze = def && def->schema == SCHEMA_FREEZE;
    if (!t || !t->name || t->ncols == 0 || t->nkey == 0 || t->nkey > t->ncols)
        return err_set(ML_EINVAL, "schemadiff: a table without columns or key");
    if (!live->exists) {
        out->missing = true;
        return 0;
    }
    matched = calloc(live->ncols ? live->ncols : 1, sizeof(*matched));
    if (!matched)
        return err_set(ML_ENOMEM, "out of memory");
    rc = compare_key(&m);
    for (unsigned i = 0; !rc && i < t->ncols; i++)
        rc = compare_column(&m, &t->cols[i], t->cols[i].required || i < t->nkey,
                            i ? t->cols[i - 1].name : NULL, d, matched);
    for (size_t i = 0; !rc && i < nmeta; i++)
        rc = compare_column(&m, &meta[i], meta[i].required,
                            i ? meta[i - 1].name : t->cols[t->ncols - 1].name, d, matched);
    if (t->history) {
        size_t nhist;
        const struct column_def *hist = ddlgen_history_columns(&nhist);
        for (size_t i = 0; !rc && i < nhist; i++)
            rc = compare_column(&m, &hist[i], hist[i].required,
                                i ? hist[i - 1].name : meta[nmeta - 1].name, d, matched);
    }
    /* columns the definition no longer declares stay */
    for (size_t i = 0; !rc && i < live->ncols; i++) {
        const struct schemadiff_live_column *lc = &live->cols[i];
        bool blocks = !lc->nullable && !lc->has_default;
        struct schemadiff_change *ch;
        if (matched[i])
            continue;
        ch = add_change(&m, blocks ? SD_RELAX : SD_KEEP);
        if (!ch) {
            rc = err_set(ML_ENOMEM, "out of memory");
            break;
        }
        ch->live = lc;
        if (blocks)
            snprintf(ch->what, sizeof(ch->what),
                     "table '%s' column '%s', which the mapping does not declare, is NOT NULL "
                     "without a default",
                     t->name, lc->name);
        else
            snprintf(ch->what, sizeof(ch->what),
                     "table '%s' has column '%s', which the mapping does not declare", t->name,
                     lc->name);
        if (lc->primary) {
            char text[512];
            snprintf(text, sizeof(text),
                     "table '%s': key column '%s' is not in the mapping (the primary key cannot "
                     "change)",
                     t->name, lc->name);
            refuse(&m, ch, NULL, text, "incompatible");
        }
        freeze_check(&m, ch, NULL);
    }
    if (!rc && strcmp(t->description ? t->description : "", live->comment ? live->comment : "")) {
        struct schemadiff_change *ch = add_change(&m, SD_TABLE_COMMENT);
        if (!ch)
            rc = err_set(ML_ENOMEM, "out of memory");
        else {
            snprintf(ch->what, sizeof(ch->what),
                     "table '%s' has a COMMENT other than the mapping's description", t->name);
            freeze_check(&m, ch, NULL);
        }
    }
    free(matched);
    if (rc)
        schemadiff_release(out);
    return rc;
}

void schemadiff_release(struct schemadiff *diff)
{
    free(diff->changes);
    memset(diff, 0, sizeof(*diff));
}

static bool is_alter(const struct schemadiff_change *ch)
{
    return ch->action == SD_ADD || ch->action == SD_MODIFY || ch->action == SD_RELAX ||
           ch->action == SD_TABLE_COMMENT;
}

size_t schemadiff_alters(const struct schemadiff *diff)
{
    size_t n = 0;
    for (size_t i = 0; i < diff->nchanges; i++)
        n += is_alter(&diff->changes[i]);
    return n;
}

const struct schemadiff_change *schemadiff_refusal(const struct schemadiff *diff)
{
    for (size_t i = 0; i < diff->nchanges; i++)
        if (diff->changes[i].refused)
            return &diff->changes[i];
    return NULL;
}

const struct schemadiff_change *schemadiff_mismatch(const struct schemadiff *diff)
{
    for (size_t i = 0; i < diff->nchanges; i++)
        if (diff->changes[i].action != SD_KEEP || diff->changes[i].refused)
            return &diff->changes[i];
    return NULL;
}

int schemadiff_alter_sql(struct buf *out, const struct schemadiff *diff, enum db_dialect d)
{
    struct ddlgen_alter *alters;
    const char *table_comment = NULL;
    size_t n = 0;
    int rc;
    if (diff->nrefused)
        return err_set(ML_EINVAL, "table '%s': refused changes cannot be written",
                       diff->table ? diff->table->name : "?");
    if (schemadiff_alters(diff) == 0)
        return 0;
    alters = calloc(diff->nchanges, sizeof(*alters));
    if (!alters)
        return err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; i < diff->nchanges; i++) {
        const struct schemadiff_change *ch = &diff->changes[i];
        struct ddlgen_alter *a = &alters[n];
        switch (ch->action) {
        case SD_ADD:
        case SD_MODIFY:
            a->kind = ch->action == SD_ADD ? DDLGEN_ADD_COLUMN : DDLGEN_MODIFY_COLUMN;
            a->col = ch->col;
            a->not_null = ch->not_null;
            a->after = ch->after;
            a->retype = ch->type_differs;
            a->renull = ch->null_differs;
            a->recomment = ch->comment_differs;
            n++;
            break;
        case SD_RELAX:
            a->kind = DDLGEN_RELAX_COLUMN;
            a->name = ch->live->name;
            a->server_type = ch->live->type;
            a->charset = ch->live->charset;
            a->collation = ch->live->collation;
            a->comment = ch->live->comment;
            n++;
            break;
        case SD_TABLE_COMMENT:
            table_comment = diff->table->description ? diff->table->description : "";
            break;
        default:
            break;
        }
    }
    rc = ddlgen_alter_table(out, diff->table, alters, n, table_comment, d);
    free(alters);
    return rc;
}
