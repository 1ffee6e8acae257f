#include "ddlgen.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "banned.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* How one warehouse spells DDL. Type spellings are printf formats: TEXT is
 * given its size, DECIMAL its precision and scale (both as unsigned); the
 * others no argument. A NULL spelling: the dialect cannot store that type. */
struct dialect {
    const char *name;
    char quote;             /* identifier quote, doubled inside a name */
    bool backslash_escapes; /* '\' escapes in string literals */
    const char *type[COL_DIGEST + 1];
    const char *unsigned_word;  /* after an integer type with is_unsigned */
    const char *binary_text;    /* after a text type compared byte for byte */
    const char *auto_increment; /* after the id column of a sensitive table */
    const char *table_options;  /* stream tables */
    const char *sensitive_options;
    /* The collation a text column of a stream table gets from table_options
     * when its type names none (schemadiff compares it with the server's). */
    const char *text_collation;
    /* PostgreSQL's shape: COMMENT ON statements after CREATE TABLE instead
     * of inline COMMENTs, secondary indexes as CREATE INDEX statements, no
     * table options, names of at most name_max bytes; integers have no
     * UNSIGNED: an unsigned one takes the wider signed type of
     * unsigned_type (its range holds the unsigned one's). */
    bool comment_statements;
    size_t name_max; /* 0 = no limit checked here */
    const char *unsigned_type[COL_DIGEST + 1];
    const char *digest_check; /* a CHECK on the sensitive tables' digest column */
    /* The generated monitoring views (ddlgen_monitor_view): a view run with
     * its invoker's rights is view_create, its name, view_as, its SELECT;
     * the UTC clock; a one-column record_key as CAST(k AS one_key_cast)
     * (NULL: concat_ws as for several); the long shape's value as
     * CAST(v AS value_cast) (NULL: as it is); counters cast to signed_cast
     * before they are subtracted (NULL: as they are); the whole seconds
     * from an expression to now as age_open, the expression, age_close;
     * a count as count_literal (a printf format of an unsigned long long);
     * booleans tested as themselves (native_bool) or as = 1 and = 0. */
    const char *view_create, *view_as;
    const char *utc_now, *utc_today;
    const char *concat_ws, *one_key_cast, *value_cast, *signed_cast;
    const char *age_open, *age_close;
    const char *count_literal;
    bool native_bool;
};

/* MySQL 8 and MariaDB spell their DDL alike; they differ in upserts and
 * roles (db.h). The sessions db.c opens leave NO_BACKSLASH_ESCAPES off. */
static const struct dialect mysql_dialect = {
    .name = "mysql",
    .quote = '`',
    .backslash_escapes = true,
    .type =
        {
            [COL_BIGINT] = "BIGINT",
            [COL_SMALLINT] = "SMALLINT",
            [COL_DECIMAL] = "DECIMAL(%u,%u)",
            [COL_TEXT] = "VARCHAR(%u)",
            [COL_DATETIME] = "DATETIME(3)",
            [COL_DATE] = "DATE",
            [COL_BOOL] = "BOOLEAN",
            [COL_SURROGATE] = "BIGINT UNSIGNED",
            [COL_EPOCH_MS] = "DATETIME(3)",
            [COL_VERSION_MAJOR] = "INT",
            [COL_INT] = "INT",
            [COL_LONGTEXT] = "MEDIUMTEXT",
            [COL_HMAC] = "CHAR(64) CHARACTER SET ascii COLLATE ascii_bin",
            [COL_DIGEST] = "BINARY(32)",
        },
    .unsigned_word = "UNSIGNED",
    .binary_text = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    .auto_increment = "AUTO_INCREMENT",
    .table_options = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    .sensitive_options = "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    .text_collation = "utf8mb4_unicode_ci",
    .view_create = "CREATE OR REPLACE SQL SECURITY INVOKER VIEW ",
    .view_as = " AS ",
    .utc_now = "UTC_TIMESTAMP()",
    .utc_today = "UTC_DATE()",
    .concat_ws = "CONCAT_WS",
    .one_key_cast = "CHAR",
    .value_cast = NULL,
    .signed_cast = "SIGNED",
    .age_open = "TIMESTAMPDIFF(SECOND, ",
    .age_close = ", UTC_TIMESTAMP())",
    .count_literal = "%llu",
    .native_bool = false,
};

static const struct dialect *const dialects[] = {
    [DB_DIALECT_MARIADB] = &mysql_dialect,
    [DB_DIALECT_MYSQL8] = &mysql_dialect,
};

static const struct dialect *dialect_of(enum db_dialect d)
{
    return (unsigned)d < ARRAY_LEN(dialects) ? dialects[d] : NULL;
}

/* PostgreSQL: timestamps without time zone hold UTC (the sessions pg.c
 * opens run in UTC), a text compared byte for byte has the "C" collation,
 * a digest is bytea (checked to be 32 bytes), surrogate ids are bigint
 * identities (their values stay far below 2^63). Identifiers are limited to
 * 63 bytes (NAMEDATALEN - 1): a longer one would be cut silently by the
 * server, so it is refused here. */
static const struct dialect postgres_dialect = {
    .name = "postgres",
    .quote = '"',
    .backslash_escapes = false,
    .type =
        {
            [COL_BIGINT] = "bigint",
            [COL_SMALLINT] = "smallint",
            [COL_DECIMAL] = "numeric(%u,%u)",
            [COL_TEXT] = "varchar(%u)",
            [COL_DATETIME] = "timestamp(3)",
            [COL_DATE] = "date",
            [COL_BOOL] = "boolean",
            [COL_SURROGATE] = "bigint",
            [COL_EPOCH_MS] = "timestamp(3)",
            [COL_VERSION_MAJOR] = "integer",
            [COL_INT] = "integer",
            [COL_LONGTEXT] = "text",
            [COL_HMAC] = "char(64) COLLATE \"C\"",
            [COL_DIGEST] = "bytea",
        },
    .unsigned_word = NULL,
    .binary_text = "COLLATE \"C\"",
    .auto_increment = "GENERATED ALWAYS AS IDENTITY",
    .table_options = NULL,
    .sensitive_options = NULL,
    .text_collation = "default", /* the database's, as pg_collation names it */
    .comment_statements = true,
    .name_max = 63,
    .unsigned_type =
        {
            [COL_BIGINT] = "bigint", /* load_run_id and the like: ids, never >= 2^63 */
            [COL_SMALLINT] = "integer",
            [COL_INT] = "bigint",
            [COL_SURROGATE] = "bigint",
        },
    .digest_check = "CHECK (octet_length(\"digest\") = 32)",
    /* timestamps hold UTC without a time zone: now as UTC, a UTC date; a
     * UNION ALL of several checks needs one type per column: text */
    .view_create = "CREATE OR REPLACE VIEW ",
    .view_as = " WITH (security_invoker = true) AS ",
    .utc_now = "(now() AT TIME ZONE 'UTC')",
    .utc_today = "CAST(now() AT TIME ZONE 'UTC' AS date)",
    .concat_ws = "concat_ws",
    .one_key_cast = NULL,
    .value_cast = "text",
    .signed_cast = NULL,
    .age_open = "CAST(floor(EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC') - ",
    .age_close = ")) AS bigint)",
    .count_literal = "CAST(%llu AS bigint)",
    .native_bool = true,
};

/* The dialects of the functions that write PostgreSQL too (create table,
 * sensitive table, grants, column type); the others know only MySQL's and
 * refuse DB_DIALECT_POSTGRES as an unknown dialect. */
static const struct dialect *dialect_any(enum db_dialect d)
{
    return d == DB_DIALECT_POSTGRES ? &postgres_dialect : dialect_of(d);
}

/* The load metadata every stream table ends with (sqlgen.h maintains them). */
static const struct column_def load_meta_cols[] = {
    {.name = "load_run_id",
     .type = COL_BIGINT,
     .is_unsigned = true,
     .required = true,
     .description = "run that last changed this row (load_runs.run_id)"},
    {.name = "loaded_at",
     .type = COL_DATETIME,
     .required = true,
     .description = "UTC time this row last changed"},
};

/* The history columns of a `history: scd2` table, after the load metadata
 * (history.h says what they mean; only its merge writes them). */
static const struct column_def history_cols[] = {
    {.name = "valid_from",
     .type = COL_DATETIME,
     .required = true,
     .description = "UTC time this version became valid (the as-of of the run that opened it)"},
    {.name = "valid_to",
     .type = COL_DATETIME,
     .description = "UTC time this version stopped being valid; NULL while current"},
    {.name = "version",
     .type = COL_INT,
     .is_unsigned = true,
     .required = true,
     .description = "1 for the first version of a key, then 2, 3, ..."},
    {.name = "is_current",
     .type = COL_BOOL,
     .required = true,
     .description = "1 for the current version of a live key (valid_to NULL)"},
    {.name = "deleted",
     .type = COL_BOOL,
     .required = true,
     .description = "1 when this version was closed because its key left the snapshot"},
    {.name = "row_hash",
     .type = COL_DIGEST,
     .required = true,
     .description = "SHA-256 of the typed encoding of the declared non-key columns"},
};

/* sensitive_<kind>_ids; the first column is AUTO_INCREMENT, the second UNIQUE. */
static const struct column_def sensitive_cols[] = {
    {.name = "id", .type = COL_BIGINT, .is_unsigned = true, .required = true},
    {.name = "digest", .type = COL_DIGEST, .required = true},
    {.name = "value", .type = COL_LONGTEXT, .required = true},
    {.name = "first_seen_at", .type = COL_DATETIME, .required = true},
};

static bool is_integer(enum col_type t)
{
    return t == COL_BIGINT || t == COL_INT || t == COL_SMALLINT;
}

static bool is_text(enum col_type t)
{
    return t == COL_TEXT || t == COL_LONGTEXT;
}

/* ---- text with a sticky error: after the first failure every put is a no-op ---- */

struct gen {
    struct buf *out;
    const struct dialect *dl;
    int rc;
};

static void put(struct gen *g, const char *s)
{
    if (!g->rc)
        g->rc = buf_adds(g->out, s);
}

static void putf(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct gen *g, const char *fmt, ...)
{
    va_list ap;
    if (g->rc)
        return;
    va_start(ap, fmt);
    g->rc = buf_vaddf(g->out, fmt, ap);
    va_end(ap);
}

/* The characters of a name inside its quotes: the quote character doubled. */
static void put_name_chars(struct gen *g, const char *s)
{
    for (; *s && !g->rc; s++) {
        if (*s == g->dl->quote)
            g->rc = buf_addc(g->out, *s);
        if (!g->rc)
            g->rc = buf_addc(g->out, *s);
    }
}

static void put_quote(struct gen *g)
{
    if (!g->rc)
        g->rc = buf_addc(g->out, g->dl->quote);
}

static void put_ident(struct gen *g, const char *name)
{
    put_quote(g);
    put_name_chars(g, name);
    put_quote(g);
}

static void put_sensitive_ident(struct gen *g, const char *kind)
{
    put_quote(g);
    put(g, "sensitive_");
    put_name_chars(g, kind);
    put(g, "_ids");
    put_quote(g);
}

/* The characters of a string literal inside its quotes: ' doubled, and \
 * doubled where it is an escape character. */
static void put_literal_chars(struct gen *g, const char *s)
{
    for (; *s && !g->rc; s++) {
        if (*s == '\'' || (*s == '\\' && g->dl->backslash_escapes))
            g->rc = buf_addc(g->out, *s);
        if (!g->rc)
            g->rc = buf_addc(g->out, *s);
    }
}

static void put_literal(struct gen *g, const char *s)
{
    put(g, "'");
    put_literal_chars(g, s);
    put(g, "'");
}

/* The column's type as CREATE TABLE spells it: the type, UNSIGNED, the
 * binary collation of a text compared byte for byte. */
static void put_type(struct gen *g, const char *table, const struct column_def *c)
{
    const char *type = (unsigned)c->type < ARRAY_LEN(g->dl->type) ? g->dl->type[c->type] : NULL;
    if (g->rc)
        return;
    if (!type) {
        g->rc = err_set(ML_EINVAL, "table '%s': column '%s': type %d has no %s spelling", table,
                        c->name, (int)c->type, g->dl->name);
        return;
    }
    if (c->type == COL_DECIMAL)
        putf(g, type, c->size + c->scale, c->scale);
    else if (c->type == COL_TEXT)
        putf(g, type, c->size);
    else if (c->type == COL_HMAC && c->size)
        putf(g, g->dl->type[COL_TEXT], c->size); /* a declared varchar(n); binary below */
    else
        put(g, type);
    if (c->is_unsigned && is_integer(c->type) && !g->dl->unsigned_word) {
        /* the wider signed type replaces what was written above */
        const char *wide = g->dl->unsigned_type[c->type];
        if (!g->rc && wide) {
            buf_truncate(g->out, g->out->len - strlen(type));
            put(g, wide);
        }
    } else if (c->is_unsigned && is_integer(c->type)) {
        put(g, " ");
        put(g, g->dl->unsigned_word);
    }
    if (c->binary) {
        put(g, " ");
        put(g, g->dl->binary_text);
    }
}

static void put_comment(struct gen *g, const char *description)
{
    if (g->dl->comment_statements)
        return; /* written as COMMENT ON statements after the table */
    if (description && *description) {
        put(g, " COMMENT ");
        put_literal(g, description);
    }
}

/* One column: name, type, NULL or NOT NULL, `extra` (may be NULL), COMMENT. */
static void put_column_def(struct gen *g, const char *table, const struct column_def *c,
                           bool not_null, const char *extra)
{
    put_ident(g, c->name);
    put(g, " ");
    put_type(g, table, c);
    put(g, not_null ? " NOT NULL" : " NULL");
    if (extra) {
        put(g, " ");
        put(g, extra);
    }
    put_comment(g, c->description);
}

/* One column line of CREATE TABLE (without the separator). */
static void put_column(struct gen *g, const char *table, const struct column_def *c, bool not_null,
                       const char *extra)
{
    put(g, "  ");
    put_column_def(g, table, c, not_null, extra);
}

/* Ends a generation: on failure `out` is cut back to `mark`. */
static int gen_end(struct gen *g, size_t mark)
{
    if (g->rc)
        buf_truncate(g->out, mark);
    return g->rc;
}

/* ---- checks: what the generator cannot express is refused before writing ---- */

/* Prefixes of the loader's own tables and views (ddl/, the sensitive maps,
 * views/monitoring/, queries/). A stream table so named could be an existing
 * restricted table that CREATE TABLE IF NOT EXISTS leaves as it is, and that
 * the analyst would then be granted. */
static const char *const reserved_prefixes[] = {"sensitive_", "load_", "pii_", "monitor_",
                                                "analysis_"};

static int check_table_name(const char *name)
{
    if (!name || !*name)
        return err_set(ML_EINVAL, "table without a name");
    for (size_t i = 0; i < ARRAY_LEN(reserved_prefixes); i++)
        if (strncasecmp(name, reserved_prefixes[i], strlen(reserved_prefixes[i])) == 0)
            return err_set(ML_EINVAL,
                           "table '%s': names beginning with '%s' are reserved for the "
                           "loader's own tables",
                           name, reserved_prefixes[i]);
    return 0;
}

static int find_column(const struct table_def *t, const char *name)
{
    for (unsigned i = 0; i < t->ncols; i++)
        if (strcasecmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int check_column(const struct table_def *t, const struct column_def *c, unsigned i)
{
    if (!c->name || !*c->name)
        return err_set(ML_EINVAL, "table '%s': column %u has no name", t->name, i + 1);
    for (size_t m = 0; m < ARRAY_LEN(load_meta_cols); m++)
        if (strcasecmp(c->name, load_meta_cols[m].name) == 0)
            return err_set(ML_EINVAL,
                           "table '%s': column '%s' has the name of a load metadata column",
                           t->name, c->name);
    for (size_t m = 0; t->history && m < ARRAY_LEN(history_cols); m++)
        if (strcasecmp(c->name, history_cols[m].name) == 0)
            return err_set(ML_EINVAL, "table '%s': column '%s' has the name of a history column",
                           t->name, c->name);
    if (find_column(t, c->name) != (int)i)
        return err_set(ML_EINVAL, "table '%s': column '%s' declared twice", t->name, c->name);
    if (c->type == COL_TEXT && c->size == 0)
        return err_set(ML_EINVAL, "table '%s': column '%s': varchar without a size", t->name,
                       c->name);
    if (c->type == COL_DECIMAL && (c->size + c->scale == 0 || c->size + c->scale < c->size))
        return err_set(ML_EINVAL, "table '%s': column '%s': decimal without digits", t->name,
                       c->name);
    if (c->is_unsigned && !is_integer(c->type) && c->type != COL_SURROGATE)
        return err_set(ML_EINVAL, "table '%s': column '%s': only integers can be unsigned", t->name,
                       c->name);
    if (c->binary && !is_text(c->type) && !(c->type == COL_HMAC && c->size))
        return err_set(ML_EINVAL, "table '%s': column '%s': only text can have a binary collation",
                       t->name, c->name);
    return 0;
}

static int check_table(const struct table_def *t)
{
    int rc;
    if (!t)
        return err_set(ML_EINVAL, "table without a name");
    if ((rc = check_table_name(t->name)))
        return rc;
    if (t->ncols == 0 || !t->cols)
        return err_set(ML_EINVAL, "table '%s' has no columns", t->name);
    if (t->nkey == 0 || t->nkey > t->ncols)
        return err_set(ML_EINVAL, "table '%s': key of %u columns out of %u", t->name, t->nkey,
                       t->ncols);
    for (unsigned i = 0; i < t->ncols; i++)
        if ((rc = check_column(t, &t->cols[i], i)))
            return rc;
    for (unsigned i = 0; i < t->nindexes; i++) {
        const struct index_def *x = &t->indexes[i];
        if (!x->name || !*x->name || x->ncols == 0)
            return err_set(ML_EINVAL, "table '%s': index %u has no name or no columns", t->name,
                           i + 1);
        for (unsigned k = 0; k < x->ncols; k++)
            if (find_column(t, x->cols[k]) < 0)
                return err_set(ML_EINVAL, "table '%s': index '%s' names unknown column '%s'",
                               t->name, x->name, x->cols[k]);
    }
    if (t->partition && (!t->partition->column || find_column(t, t->partition->column) < 0))
        return err_set(ML_EINVAL, "table '%s': partitioned on a column it does not have", t->name);
    return 0;
}

/* ---- PostgreSQL: what follows CREATE TABLE, and names it limits ---- */

static int name_too_long(const struct gen *g, const char *table, const char *what, const char *name)
{
    return err_set(ML_EINVAL, "table '%s': %s '%s' is longer than the %zu bytes %s allows", table,
                   what, name, g->dl->name_max, g->dl->name);
}

/* Every name of t within the dialect's limit (PostgreSQL cuts longer ones
 * silently, so two long names could become one). */
static int check_name_lengths(const struct gen *g, const struct table_def *t)
{
    if (strlen(t->name) > g->dl->name_max)
        return name_too_long(g, t->name, "the table name", t->name);
    for (unsigned i = 0; i < t->ncols; i++)
        if (strlen(t->cols[i].name) > g->dl->name_max)
            return name_too_long(g, t->name, "column", t->cols[i].name);
    return 0;
}

/* The name of a relation belonging to table t in PostgreSQL, whose names
 * are per schema where MySQL's are per table: "<table>_<what>" (secondary
 * index x: "<table>_<index>"; partition p202503: "<table>_p202503"); one
 * longer than name_max keeps its first name_max - 9 bytes and ends in '_'
 * and 8 hex digits of a hash (FNV-1a) of the whole name. */
static void put_scoped_name(struct gen *g, const char *table, const char *what)
{
    struct buf full = BUF_INIT;
    if (g->rc)
        return;
    g->rc = buf_addf(&full, "%s_%s", table, what);
    if (!g->rc && full.len > g->dl->name_max) {
        unsigned h = 2166136261u;
        for (size_t i = 0; i < full.len; i++) {
            h ^= (unsigned char)full.data[i];
            h *= 16777619u;
        }
        buf_truncate(&full, g->dl->name_max - 9);
        g->rc = buf_addf(&full, "_%08x", h & 0xffffffffu);
    }
    if (!g->rc)
        put_ident(g, full.data);
    buf_release(&full);
}

/* "COMMENT ON TABLE t IS '...'", or "COMMENT ON COLUMN t.c" (col not
 * NULL); IS NULL for no description. */
static void put_comment_on(struct gen *g, const char *table, const char *col,
                           const char *description)
{
    put(g, col ? "COMMENT ON COLUMN " : "COMMENT ON TABLE ");
    put_ident(g, table);
    if (col) {
        put(g, ".");
        put_ident(g, col);
    }
    put(g, " IS ");
    if (description && *description)
        put_literal(g, description);
    else
        put(g, "NULL");
}

/* ";\nCOMMENT ON COLUMN t.c IS '...'" for a column with a description. */
static void put_column_comment(struct gen *g, const char *table, const struct column_def *c)
{
    if (!c->description || !*c->description)
        return;
    put(g, ";\n");
    put_comment_on(g, table, c->name, c->description);
}

/* After ")" of CREATE TABLE: the secondary indexes, then the comments of
 * the table and its columns, each statement after ";\n" (none at the end). */
static void put_table_statements(struct gen *g, const struct table_def *t)
{
    for (unsigned i = 0; i < t->nindexes; i++) {
        const struct index_def *x = &t->indexes[i];
        put(g, ";\nCREATE INDEX IF NOT EXISTS ");
        put_scoped_name(g, t->name, x->name);
        put(g, " ON ");
        put_ident(g, t->name);
        put(g, " (");
        for (unsigned k = 0; k < x->ncols; k++) {
            if (k)
                put(g, ",");
            put_ident(g, x->cols[k]);
        }
        put(g, ")");
    }
    if (t->description && *t->description) {
        put(g, ";\n");
        put_comment_on(g, t->name, NULL, t->description);
    }
    for (unsigned i = 0; i < t->ncols; i++)
        put_column_comment(g, t->name, &t->cols[i]);
    for (size_t i = 0; i < ARRAY_LEN(load_meta_cols); i++)
        put_column_comment(g, t->name, &load_meta_cols[i]);
    for (size_t i = 0; t->history && i < ARRAY_LEN(history_cols); i++)
        put_column_comment(g, t->name, &history_cols[i]);
}

/* sensitive_<kind>_ids in PostgreSQL: id an identity, digest unique and 32
 * bytes, the kind in the table's comment. */
static int pg_sensitive_table(struct gen *g, const char *kind, size_t mark)
{
    if (strlen("sensitive__ids") + strlen(kind) > g->dl->name_max)
        return err_set(ML_EINVAL, "surrogate kind '%s': its table name is longer than %zu bytes",
                       kind, g->dl->name_max);
    put(g, "CREATE TABLE IF NOT EXISTS ");
    put_sensitive_ident(g, kind);
    put(g, " (\n");
    for (size_t i = 0; i < ARRAY_LEN(sensitive_cols); i++) {
        put_column(g, "sensitive", &sensitive_cols[i], true,
                   i == 0   ? g->dl->auto_increment
                   : i == 1 ? g->dl->digest_check
                            : NULL);
        put(g, ",\n");
    }
    put(g, "  PRIMARY KEY (");
    put_ident(g, sensitive_cols[0].name);
    put(g, "),\n  UNIQUE (");
    put_ident(g, sensitive_cols[1].name);
    put(g, ")\n);\nCOMMENT ON TABLE ");
    put_sensitive_ident(g, kind);
    put(g, " IS 'PII: ");
    put_literal_chars(g, kind);
    put(g, "'");
    return gen_end(g, mark);
}

/* ---- tables ---- */

int ddlgen_create_table(struct buf *out, const struct table_def *t, enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    size_t mark = out->len;
    int rc = g.dl ? check_table(t) : err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!rc && g.dl->name_max)
        rc = check_name_lengths(&g, t);
    if (rc)
        return rc;
    put(&g, "CREATE TABLE IF NOT EXISTS ");
    put_ident(&g, t->name);
    put(&g, " (\n");
    for (unsigned i = 0; i < t->ncols; i++) {
        put_column(&g, t->name, &t->cols[i], t->cols[i].required || i < t->nkey, NULL);
        put(&g, ",\n");
    }
    for (size_t i = 0; i < ARRAY_LEN(load_meta_cols); i++) {
        put_column(&g, t->name, &load_meta_cols[i], true, NULL);
        put(&g, ",\n");
    }
    for (size_t i = 0; t->history && i < ARRAY_LEN(history_cols); i++) {
        put_column(&g, t->name, &history_cols[i], history_cols[i].required, NULL);
        put(&g, ",\n");
    }
    put(&g, "  PRIMARY KEY (");
    for (unsigned i = 0; i < t->nkey; i++) {
        if (i)
            put(&g, ",");
        put_ident(&g, t->cols[i].name);
    }
    if (t->partition && ddlgen_partition_key_extra(t)) {
        put(&g, ",");
        put_ident(&g, t->partition->column);
    }
    if (t->history) {
        put(&g, ",");
        put_ident(&g, "version");
    }
    put(&g, ")");
    if (g.dl->comment_statements) {
        put(&g, "\n)");
        if (t->partition) { /* its periods are partition.h's, added by init's maintenance */
            put(&g, " PARTITION BY RANGE (");
            put_ident(&g, t->partition->column);
            put(&g, ");\nCREATE TABLE IF NOT EXISTS ");
            put_scoped_name(&g, t->name, DDLGEN_PARTITION_DEFAULT);
            put(&g, " PARTITION OF ");
            put_ident(&g, t->name);
            put(&g, " DEFAULT");
        }
        put_table_statements(&g, t);
        return gen_end(&g, mark);
    }
    for (unsigned i = 0; i < t->nindexes; i++) {
        const struct index_def *x = &t->indexes[i];
        put(&g, ",\n  KEY ");
        put_ident(&g, x->name);
        put(&g, " (");
        for (unsigned k = 0; k < x->ncols; k++) {
            if (k)
                put(&g, ",");
            put_ident(&g, x->cols[k]);
        }
        put(&g, ")");
    }
    put(&g, "\n) ");
    put(&g, g.dl->table_options);
    if (t->description && *t->description) {
        put(&g, " COMMENT=");
        put_literal(&g, t->description);
    }
    return gen_end(&g, mark);
}

int ddlgen_sensitive_name(struct buf *out, const char *kind)
{
    return buf_addf(out, "sensitive_%s_ids", kind);
}

int ddlgen_sensitive_table(struct buf *out, const char *kind, enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    size_t mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!kind || !*kind)
        return err_set(ML_EINVAL, "surrogate kind without a name");
    if (g.dl->comment_statements)
        return pg_sensitive_table(&g, kind, mark);
    put(&g, "CREATE TABLE IF NOT EXISTS ");
    put_sensitive_ident(&g, kind);
    put(&g, " (\n");
    for (size_t i = 0; i < ARRAY_LEN(sensitive_cols); i++) {
        put_column(&g, "sensitive", &sensitive_cols[i], true, i == 0 ? g.dl->auto_increment : NULL);
        put(&g, ",\n");
    }
    put(&g, "  PRIMARY KEY (");
    put_ident(&g, sensitive_cols[0].name);
    put(&g, "),\n  UNIQUE KEY ");
    put_ident(&g, "uq_digest");
    put(&g, " (");
    put_ident(&g, sensitive_cols[1].name);
    put(&g, ")\n) ");
    put(&g, g.dl->sensitive_options);
    put(&g, " COMMENT='PII: ");
    put_literal_chars(&g, kind);
    put(&g, "'");
    return gen_end(&g, mark);
}

/* ---- what a set of definitions uses ---- */

static int check_def(const struct stream_def *def, size_t i)
{
    if (!def || !def->table)
        return err_set(ML_EINVAL, "stream definition %zu has no table", i + 1);
    for (unsigned c = 0; c < def->nchildren; c++)
        if (!def->children[c].table)
            return err_set(ML_EINVAL, "stream definition '%s': child %u without a table",
                           def->name ? def->name : "?", c + 1);
    return 0;
}

int ddlgen_stream_tables(const struct stream_def *const *defs, size_t ndefs,
                         const struct table_def ***tables, size_t *ntables)
{
    const struct table_def **list = NULL;
    size_t n = 0;
    int rc = 0;
    *tables = NULL;
    *ntables = 0;
    for (size_t i = 0; !rc && i < ndefs; i++)
        rc = check_def(defs[i], i);
    size_t cap = 0;
    for (size_t i = 0; !rc && i < ndefs; i++)
        cap += 1 + defs[i]->nchildren;
    if (!rc && cap) {
        list = malloc(cap * sizeof(*list));
        if (!list)
            rc = err_set(ML_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < ndefs; i++) {
        for (unsigned p = 0; !rc && p <= defs[i]->nchildren; p++) {
            const struct table_def *t = p ? defs[i]->children[p - 1].table : defs[i]->table;
            size_t k = 0;
            rc = check_table_name(t->name);
            while (!rc && k < n && strcmp(list[k]->name, t->name) != 0)
                k++;
            if (!rc && k == n)
                list[n++] = t;
        }
    }
    if (rc) {
        free(list);
        return rc;
    }
    *tables = n ? list : NULL;
    if (!n)
        free(list);
    *ntables = n;
    return 0;
}

int ddlgen_surrogate_kinds(const struct stream_def *const *defs, size_t ndefs, const char ***kinds,
                           size_t *nkinds)
{
    const struct table_def **tables;
    const char **list = NULL;
    size_t ntables, n = 0, cap = 0;
    int rc = ddlgen_stream_tables(defs, ndefs, &tables, &ntables);
    *kinds = NULL;
    *nkinds = 0;
    for (size_t t = 0; !rc && t < ntables; t++) {
        for (unsigned c = 0; !rc && c < tables[t]->ncols; c++) {
            const struct column_def *col = &tables[t]->cols[c];
            size_t k = 0;
            if (col->type != COL_SURROGATE)
                continue;
            if (!col->kind || !*col->kind) {
                rc = err_set(ML_EINVAL, "table '%s': surrogate column '%s' has no kind",
                             tables[t]->name, col->name);
                break;
            }
            while (k < n && strcmp(list[k], col->kind) != 0)
                k++;
            if (k < n)
                continue;
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 8;
                const char **grown = realloc(list, ncap * sizeof(*list));
                if (!grown) {
                    rc = err_set(ML_ENOMEM, "out of memory");
                    break;
                }
                list = grown;
                cap = ncap;
            }
            list[n++] = col->kind;
        }
    }
    free(tables);
    if (rc) {
        free(list);
        return rc;
    }
    *kinds = list;
    *nkinds = n;
    return 0;
}

/* ---- grants ---- */

static void put_grant_select(struct gen *g, const char *database, const char *table,
                             const char *kind, const char *role)
{
    put(g, "GRANT SELECT ON ");
    put_ident(g, database);
    put(g, ".");
    if (kind)
        put_sensitive_ident(g, kind);
    else
        put_ident(g, table);
    put(g, " TO ");
    put_ident(g, role);
    put(g, ";\n");
}

int ddlgen_grants(struct buf *out, const struct stream_def *const *defs, size_t ndefs,
                  const char *database, const struct ddlgen_roles *roles, enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    const struct table_def **tables = NULL;
    size_t ntables = 0, mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!database || !*database || !roles || !roles->analyst || !*roles->analyst ||
        !roles->steward || !*roles->steward)
        return err_set(ML_EINVAL, "grants need a database and the analyst and steward roles");
    g.rc = ddlgen_stream_tables(defs, ndefs, &tables, &ntables);
    for (size_t i = 0; i < ntables; i++)
        put_grant_select(&g, database, tables[i]->name, NULL, roles->analyst);
    /* no SELECT on sensitive_* for the steward: values are revealed only
     * through pii_reveal, which logs every call (ddlgen_reveal_procedure) */
    for (size_t i = 0; i < ntables; i++)
        put_grant_select(&g, database, tables[i]->name, NULL, roles->steward);
    free(tables);
    return gen_end(&g, mark);
}

/* ---- audited reveal ---- */

/* One SIGNAL of the procedure: SQLSTATE 45000 (server error 1644) with
 * `message`, a literal of at most 128 characters (MESSAGE_TEXT's size). */
static void put_signal(struct gen *g, const char *indent, const char *message)
{
    put(g, indent);
    put(g, "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ");
    put_literal(g, message);
    put(g, ";\n");
}

/* PostgreSQL: the function `schema`.pii_reveal, SECURITY DEFINER and owned
 * by the loader role (`definer`), with a fixed search_path; one branch per
 * kind as in the MySQL procedure. RAISE EXCEPTION is SQLSTATE P0001. The
 * body is on one line (a plan line is one statement). */
static int pg_reveal_function(struct gen *g, const char *schema, const char *const *kinds,
                              size_t nkinds, const char *definer, const char *unknown, size_t mark)
{
    static const char sig[] = "(p_kind varchar, p_id bigint, p_reason varchar)";
    put(g, "CREATE OR REPLACE FUNCTION ");
    put_ident(g, schema);
    put(g, ".");
    put_ident(g, "pii_reveal");
    put(g, sig);
    put(g, "\nRETURNS text LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = ");
    put_ident(g, schema);
    put(g, ", pg_temp AS $pii_reveal$ DECLARE v_value text; BEGIN "
           "IF p_reason IS NULL OR p_reason !~ '[^[:space:]]' THEN "
           "RAISE EXCEPTION 'pii_reveal: a reason is required (it is written to "
           "pii_access_log)'; END IF; "
           "IF p_id IS NULL THEN RAISE EXCEPTION 'pii_reveal: an id is required'; END IF; ");
    for (size_t i = 0; i < nkinds; i++) {
        put(g, i ? "ELSIF" : "IF");
        put(g, " p_kind = ");
        put_literal(g, kinds[i]);
        put(g, " THEN SELECT ");
        put_ident(g, "value");
        put(g, " INTO v_value FROM ");
        put_sensitive_ident(g, kinds[i]);
        put(g, " WHERE ");
        put_ident(g, "id");
        put(g, " = p_id; ");
    }
    put(g, nkinds ? "ELSE RAISE EXCEPTION " : "RAISE EXCEPTION ");
    put_literal(g, unknown);
    put(g, nkinds ? "; END IF; " : "; ");
    /* the log row is the caller's transaction's (a function cannot commit):
     * the server's log gets the call as well, at once and whatever the
     * transaction becomes (who, kind, id, found: no value, no reason, which
     * is the steward's free text) */
    put(g, "INSERT INTO pii_access_log (at, who, action, kind, surrogate_id, reason, found) "
           "VALUES (clock_timestamp() AT TIME ZONE 'UTC', session_user, 'reveal', p_kind, "
           "p_id, p_reason, v_value IS NOT NULL); "
           "RAISE LOG 'pii_reveal: % revealed % id % (found: %)', session_user, p_kind, p_id, "
           "v_value IS NOT NULL; RETURN v_value; END $pii_reveal$;\n"
           "ALTER FUNCTION ");
    put_ident(g, schema);
    put(g, ".");
    put_ident(g, "pii_reveal");
    put(g, sig);
    put(g, " OWNER TO ");
    put_ident(g, definer);
    put(g, ";\n");
    return gen_end(g, mark);
}

int ddlgen_reveal_procedure(struct buf *out, const char *database, const char *const *kinds,
                            size_t nkinds, const char *definer, const char *definer_host,
                            enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    struct buf list = BUF_INIT, msg = BUF_INIT;
    size_t mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!database || !*database || !definer || !*definer)
        return err_set(ML_EINVAL, "the reveal procedure needs a database and a definer");
    for (size_t i = 0; i < nkinds && !g.rc; i++) {
        if (!kinds[i] || !*kinds[i])
            g.rc = err_set(ML_EINVAL, "surrogate kind '%s' cannot be revealed",
                           kinds[i] ? kinds[i] : "");
        else
            g.rc = buf_addf(&list, "%s%s", i ? ", " : "", kinds[i]);
    }
    /* MESSAGE_TEXT holds 128 characters: the kinds are named when they fit */
    if (!g.rc)
        g.rc = buf_adds(&msg, "pii_reveal: unknown kind");
    if (!g.rc && list.len && msg.len + list.len + 10 <= 128)
        g.rc = buf_addf(&msg, " (known: %s)", list.data);
    if (d == DB_DIALECT_POSTGRES) {
        int rc =
            g.rc ? g.rc : pg_reveal_function(&g, database, kinds, nkinds, definer, msg.data, mark);
        buf_release(&list);
        buf_release(&msg);
        return rc;
    }
    put(&g, "CREATE OR REPLACE DEFINER=");
    if (definer_host) {
        put_literal(&g, definer);
        put(&g, "@");
        put_literal(&g, definer_host);
    } else {
        put_ident(&g, definer); /* a role (MariaDB) */
    }
    put(&g, " PROCEDURE ");
    put_ident(&g, database);
    put(&g, ".");
    put_ident(&g, "pii_reveal");
    put(&g, "(IN p_kind VARCHAR(64), IN p_id BIGINT UNSIGNED, IN p_reason VARCHAR(1024))\n"
            "MODIFIES SQL DATA SQL SECURITY DEFINER\n"
            "COMMENT ");
    {
        struct buf c = BUF_INIT;
        if (!g.rc)
            g.rc = buf_addf(&c,
                            "the value behind a surrogate id; every call is logged in "
                            "pii_access_log (kinds: %s)",
                            list.len ? list.data : "none");
        put_literal(&g, c.data);
        buf_release(&c);
    }
    put(&g, "\nBEGIN\n"
            "  DECLARE v_value MEDIUMTEXT DEFAULT NULL;\n"
            "  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;\n"
            "  IF p_reason IS NULL OR p_reason NOT REGEXP '[^[:space:]]' THEN\n");
    put_signal(&g, "    ", "pii_reveal: a reason is required (it is written to pii_access_log)");
    put(&g, "  END IF;\n"
            "  IF p_id IS NULL THEN\n");
    put_signal(&g, "    ", "pii_reveal: an id is required");
    put(&g, "  END IF;\n");
    /* one branch per kind, compared byte for byte: the caller's string
     * selects a branch and is never part of a statement */
    for (size_t i = 0; i < nkinds; i++) {
        put(&g, i ? "  ELSEIF" : "  IF");
        put(&g, " BINARY p_kind = ");
        put_literal(&g, kinds[i]);
        put(&g, " THEN\n    START TRANSACTION;\n    SET v_value = (SELECT ");
        put_ident(&g, "value");
        put(&g, " FROM ");
        put_sensitive_ident(&g, kinds[i]);
        put(&g, " WHERE ");
        put_ident(&g, "id");
        put(&g, " = p_id);\n");
    }
    if (nkinds) {
        put(&g, "  ELSE\n");
        put_signal(&g, "    ", msg.data);
        put(&g, "  END IF;\n");
    } else {
        put_signal(&g, "  ", msg.data);
    }
    put(&g, "  INSERT INTO pii_access_log (at, who, action, kind, surrogate_id, reason, found)\n"
            "    VALUES (UTC_TIMESTAMP(6), USER(), 'reveal', p_kind, p_id, p_reason, "
            "v_value IS NOT NULL);\n"
            "  COMMIT;\n"
            "  SELECT v_value AS ");
    put_ident(&g, "value");
    put(&g, ";\nEND");
    buf_release(&list);
    buf_release(&msg);
    return gen_end(&g, mark);
}

int ddlgen_reveal_grants(struct buf *out, const char *database, const char *loader_role,
                         const char *steward_role, enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    const char *to[2] = {loader_role, steward_role};
    size_t mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!database || !*database || !loader_role || !*loader_role || !steward_role || !*steward_role)
        return err_set(ML_EINVAL, "the reveal grants need a database and the loader and "
                                  "steward roles");
    if (d == DB_DIALECT_POSTGRES) {
        /* nothing through PUBLIC (a function is executable by everyone
         * unless revoked); the owner (the loader role) may always run it */
        put(&g, "REVOKE ALL ON FUNCTION ");
        put_ident(&g, database);
        put(&g, ".");
        put_ident(&g, "pii_reveal");
        put(&g, "(varchar, bigint, varchar) FROM PUBLIC;\nGRANT EXECUTE ON FUNCTION ");
        put_ident(&g, database);
        put(&g, ".");
        put_ident(&g, "pii_reveal");
        put(&g, "(varchar, bigint, varchar) TO ");
        put_ident(&g, steward_role);
        put(&g, ";\n");
        return gen_end(&g, mark);
    }
    for (size_t i = 0; i < 2; i++) {
        put(&g, "GRANT EXECUTE ON PROCEDURE ");
        put_ident(&g, database);
        put(&g, ".");
        put_ident(&g, "pii_reveal");
        put(&g, " TO ");
        put_ident(&g, to[i]);
        put(&g, ";\n");
    }
    return gen_end(&g, mark);
}

/* ---- re-identification risk ---- */

int ddlgen_small_groups_name(struct buf *out, const struct stream_def *def)
{
    if (!def || !def->table || def->nquasi == 0)
        return err_set(ML_EINVAL, "a small-groups view needs quasi_identifiers");
    return buf_addf(out, "monitor_%s_small_groups", def->table->name);
}

static void put_quasi_list(struct gen *g, const struct stream_def *def)
{
    for (unsigned i = 0; i < def->nquasi; i++) {
        if (i)
            put(g, ", ");
        put_ident(g, def->quasi[i]);
    }
}

/* "CREATE ... VIEW name ... AS ": a view run with its invoker's rights. */
static void put_view_head(struct gen *g, const char *name)
{
    put(g, g->dl->view_create);
    put_ident(g, name);
    put(g, g->dl->view_as);
}

int ddlgen_small_groups_view(struct buf *out, const struct stream_def *def, enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    struct buf name = BUF_INIT;
    size_t mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    int rc = ddlgen_small_groups_name(&name, def);
    if (!rc)
        rc = check_table_name(def->table->name);
    for (unsigned i = 0; !rc && i < def->nquasi; i++) {
        if (find_column(def->table, def->quasi[i]) < 0)
            rc = err_set(ML_EINVAL, "table '%s': quasi-identifier '%s' is not one of its columns",
                         def->table->name, def->quasi[i]);
        else if (strcasecmp(def->quasi[i], DDLGEN_GROUP_ROWS) == 0)
            rc = err_set(ML_EINVAL,
                         "table '%s': quasi-identifier '%s' has the name of the view's count",
                         def->table->name, def->quasi[i]);
    }
    if (!rc && def->k < 2)
        rc = err_set(ML_EINVAL, "table '%s': k must be at least 2", def->table->name);
    if (rc) {
        buf_release(&name);
        return rc;
    }
    put_view_head(&g, name.data);
    put(&g, "SELECT ");
    put_quasi_list(&g, def);
    put(&g, ", COUNT(*) AS ");
    put_ident(&g, DDLGEN_GROUP_ROWS);
    put(&g, " FROM ");
    put_ident(&g, def->table->name);
    put(&g, " GROUP BY ");
    put_quasi_list(&g, def);
    putf(&g, " HAVING COUNT(*) < %u", def->k);
    buf_release(&name);
    return gen_end(&g, mark);
}

/* ---- generated monitoring views ---- */

static const char *const check_words[CHECK_KIND_N] = {
    [CHECK_NOT_NULL] = "not_null",     [CHECK_UNIQUE] = "unique",
    [CHECK_ACCEPTED] = "accepted",     [CHECK_RANGE] = "range",
    [CHECK_NOT_FUTURE] = "not_future", [CHECK_NOT_BEFORE] = "not_before",
    [CHECK_REFERENCES] = "references"};

const char *ddlgen_check_word(enum check_kind k)
{
    return (unsigned)k < CHECK_KIND_N ? check_words[k] : "?";
}

#define MONITOR_NAME_MAX  64
#define MONITOR_NAME_KEEP 55

int ddlgen_monitor_name(struct buf *out, const char *table, const char *column, const char *word)
{
    struct buf full = BUF_INIT;
    int rc;
    if (!table || !*table || !word || !*word)
        return err_set(ML_EINVAL, "a monitoring view name needs a table and a check");
    rc = column ? buf_addf(&full, "monitor_%s_%s_%s", table, column, word)
                : buf_addf(&full, "monitor_%s_%s", table, word);
    if (!rc && full.len <= MONITOR_NAME_MAX)
        rc = buf_adds(out, full.data);
    else if (!rc) {
        unsigned h = 2166136261u;
        for (size_t i = 0; i < full.len; i++) {
            h ^= (unsigned char)full.data[i];
            h *= 16777619u;
        }
        rc = buf_add(out, full.data, MONITOR_NAME_KEEP);
        if (!rc)
            rc = buf_addf(out, "_%08x", h & 0xffffffffu);
    }
    buf_release(&full);
    return rc;
}

/* Appends m to the list, growing it; 0 or ML_ENOMEM. */
static int monitors_push(struct ddlgen_monitor **v, size_t *n, size_t *cap,
                         const struct ddlgen_monitor *m)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct ddlgen_monitor *g = realloc(*v, nc * sizeof(*g));
        if (!g)
            return err_set(ML_ENOMEM, "out of memory");
        *v = g;
        *cap = nc;
    }
    (*v)[(*n)++] = *m;
    return 0;
}

static struct ddlgen_monitor *monitors_find(struct ddlgen_monitor *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

/* The table `name` among the main and child tables of `streams`, or NULL. */
static const struct table_def *stream_table_named(const struct ddlgen_stream *streams, size_t n,
                                                  const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const struct stream_def *d = streams[i].def;
        if (!d)
            continue;
        if (d->table && strcasecmp(d->table->name, name) == 0)
            return d->table;
        for (unsigned c = 0; c < d->nchildren; c++)
            if (strcasecmp(d->children[c].table->name, name) == 0)
                return d->children[c].table;
    }
    return NULL;
}

/* Adds a view (or, for a shared `monitor:` name, a part of one). */
static int add_monitor(struct ddlgen_monitor **v, size_t *n, size_t *cap, struct ddlgen_monitor *m,
                       const struct table_def *t, const struct check_def *ck)
{
    struct ddlgen_monitor *old = monitors_find(*v, *n, m->name);
    if (old) {
        struct ddlgen_check_part *p;
        if (!ck || old->kind != DDLGEN_MONITOR_CHECK || !ck->monitor ||
            !old->parts[0].check->monitor)
            return err_set(ML_EINVAL,
                           "monitoring view name '%s' is given to two views: name one of them "
                           "with 'monitor:'",
                           m->name);
        p = realloc(old->parts, (old->nparts + 1) * sizeof(*p));
        if (!p)
            return err_set(ML_ENOMEM, "out of memory");
        p[old->nparts].table = t;
        p[old->nparts].check = ck;
        old->parts = p;
        old->nparts++;
        return 0;
    }
    if (ck) {
        m->parts = malloc(sizeof(*m->parts));
        if (!m->parts)
            return err_set(ML_ENOMEM, "out of memory");
        m->parts[0].table = t;
        m->parts[0].check = ck;
        m->nparts = 1;
    }
    int rc = monitors_push(v, n, cap, m);
    if (rc)
        free(m->parts);
    return rc;
}

static int set_monitor_name(struct ddlgen_monitor *m, const struct buf *name)
{
    if (name->len >= sizeof(m->name))
        return err_set(ML_EINVAL, "monitoring view name '%s' is longer than 64 characters",
                       name->data);
    memcpy(m->name, name->data, name->len + 1);
    return 0;
}

static int add_table_checks(struct ddlgen_monitor **v, size_t *n, size_t *cap,
                            const struct ddlgen_stream *streams, size_t nstreams,
                            const struct table_def *t)
{
    struct buf name = BUF_INIT;
    int rc = 0;
    for (unsigned i = 0; !rc && i < t->nchecks; i++) {
        const struct check_def *ck = &t->checks[i];
        struct ddlgen_monitor m;
        if (ck->col >= t->ncols)
            rc = err_set(ML_EINVAL, "table '%s': a check names column %u of %u", t->name, ck->col,
                         t->ncols);
        if (rc)
            break;
        if (ck->kind == CHECK_REFERENCES && !stream_table_named(streams, nstreams, ck->ref_table))
            continue;
        memset(&m, 0, sizeof(m));
        m.kind = DDLGEN_MONITOR_CHECK;
        buf_reset(&name);
        rc = ck->monitor ? buf_adds(&name, ck->monitor)
                         : ddlgen_monitor_name(&name, t->name, t->cols[ck->col].name,
                                               ddlgen_check_word(ck->kind));
        if (!rc)
            rc = set_monitor_name(&m, &name);
        if (!rc)
            rc = add_monitor(v, n, cap, &m, t, ck);
    }
    buf_release(&name);
    return rc;
}

static bool table_seen(const struct table_def **seen, size_t nseen, const struct table_def *t)
{
    for (size_t i = 0; i < nseen; i++)
        if (strcasecmp(seen[i]->name, t->name) == 0)
            return true;
    return false;
}

int ddlgen_monitor_views(const struct ddlgen_stream *streams, size_t n, struct ddlgen_monitor **out,
                         size_t *nout)
{
    struct ddlgen_monitor *v = NULL;
    const struct table_def **seen = NULL;
    size_t nv = 0, cap = 0, nseen = 0, maxseen = 0;
    struct buf name = BUF_INIT;
    int rc = 0;
    *out = NULL;
    *nout = 0;
    for (size_t i = 0; i < n; i++)
        if (streams[i].def)
            maxseen += 1 + streams[i].def->nchildren;
    if (maxseen && !(seen = calloc(maxseen, sizeof(*seen))))
        return err_set(ML_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        const struct stream_def *d = streams[i].def;
        struct ddlgen_monitor m;
        bool again;
        if (!d || !d->table)
            continue;
        again = table_seen(seen, nseen, d->table);
        if (!again)
            seen[nseen++] = d->table;
        if (d->nquasi && !again) {
            memset(&m, 0, sizeof(m));
            m.kind = DDLGEN_MONITOR_SMALL_GROUPS;
            m.def = d;
            buf_reset(&name);
            rc = ddlgen_small_groups_name(&name, d);
            if (!rc)
                rc = set_monitor_name(&m, &name);
            if (!rc)
                rc = add_monitor(&v, &nv, &cap, &m, NULL, NULL);
        }
        if (!rc && !again)
            rc = add_table_checks(&v, &nv, &cap, streams, n, d->table);
        for (unsigned c = 0; !rc && !again && c < d->nchildren; c++) {
            const struct table_def *ct = d->children[c].table;
            if (table_seen(seen, nseen, ct))
                continue;
            seen[nseen++] = ct;
            rc = add_table_checks(&v, &nv, &cap, streams, n, ct);
        }
        for (int e = 0; !rc && e < 2; e++) {
            unsigned long long limit = e == 0 ? d->freshness_s : d->min_rows;
            if (!limit)
                continue;
            memset(&m, 0, sizeof(m));
            m.kind = e == 0 ? DDLGEN_MONITOR_FRESHNESS : DDLGEN_MONITOR_MIN_ROWS;
            m.stream = streams[i].name;
            m.def = d;
            m.strict = true;
            buf_reset(&name);
            rc = ddlgen_monitor_name(&name, streams[i].name, NULL,
                                     e == 0 ? "freshness" : "min_rows");
            if (!rc)
                rc = set_monitor_name(&m, &name);
            if (!rc)
                rc = add_monitor(&v, &nv, &cap, &m, NULL, NULL);
        }
        if (!rc && !again && d->table->history) {
            memset(&m, 0, sizeof(m));
            m.kind = DDLGEN_MONITOR_HISTORY;
            m.def = d;
            buf_reset(&name);
            rc = ddlgen_monitor_name(&name, d->table->name, NULL, "history");
            if (!rc)
                rc = set_monitor_name(&m, &name);
            if (!rc)
                rc = add_monitor(&v, &nv, &cap, &m, NULL, NULL);
        }
    }
    buf_release(&name);
    free(seen);
    if (rc) {
        ddlgen_monitor_views_free(v, nv);
        return rc;
    }
    *out = v;
    *nout = nv;
    return 0;
}

void ddlgen_monitor_views_free(struct ddlgen_monitor *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].parts);
    free(v);
}

static bool is_time_type(enum col_type t)
{
    return t == COL_DATE || t == COL_DATETIME || t == COL_EPOCH_MS;
}

/* A value of a check: a number as written (validated by the config module),
 * anything else as a string literal. */
static void put_check_value(struct gen *g, const struct check_def *ck, const char *value)
{
    bool plain = ck->numeric && *value;
    for (const char *s = value; plain && *s; s++)
        plain = (*s >= '0' && *s <= '9') || *s == '-' || *s == '.';
    if (plain)
        put(g, value);
    else
        put_literal(g, value);
}

/* Fixed SQL text whose names are written `name`: each backquote becomes the
 * dialect's identifier quote (the names are plain words, never quoted
 * themselves). */
static void put_names(struct gen *g, const char *s)
{
    for (; *s && !g->rc; s++)
        g->rc = buf_addc(g->out, *s == '`' ? g->dl->quote : *s);
}

/* `col` (fixed text with quoted names, as put_names) tested true or false. */
static void put_bool_test(struct gen *g, const char *col, bool value)
{
    if (g->dl->native_bool && !value)
        put(g, "NOT ");
    put_names(g, col);
    if (!g->dl->native_bool)
        put(g, value ? " = 1" : " = 0");
}

/* `r`.`column`: a column of the checked row. */
static void put_row_col(struct gen *g, const char *col)
{
    put_names(g, "`r`.");
    put_ident(g, col);
}

/* The WHERE condition of one check over row alias `r` of table t. */
static void put_check_condition(struct gen *g, const struct table_def *t,
                                const struct check_def *ck)
{
    const struct column_def *c = &t->cols[ck->col];
    switch (ck->kind) {
    case CHECK_NOT_NULL:
        put_row_col(g, c->name);
        put(g, " IS NULL");
        break;
    case CHECK_UNIQUE:
        put_row_col(g, c->name);
        put_names(g, " IN (SELECT `u`.");
        put_ident(g, c->name);
        put(g, " FROM ");
        put_ident(g, t->name);
        put_names(g, " AS `u` WHERE `u`.");
        put_ident(g, c->name);
        put_names(g, " IS NOT NULL GROUP BY `u`.");
        put_ident(g, c->name);
        put(g, " HAVING COUNT(*) > 1)");
        break;
    case CHECK_ACCEPTED:
        put_row_col(g, c->name);
        put(g, " NOT IN (");
        for (unsigned i = 0; i < ck->nvalues; i++) {
            if (i)
                put(g, ", ");
            put_check_value(g, ck, ck->values[i]);
        }
        put(g, ")");
        break;
    case CHECK_RANGE:
        put(g, "(");
        if (ck->values[0]) {
            put_row_col(g, c->name);
            put(g, " < ");
            put_check_value(g, ck, ck->values[0]);
        }
        if (ck->values[0] && ck->values[1])
            put(g, " OR ");
        if (ck->values[1]) {
            put_row_col(g, c->name);
            put(g, " > ");
            put_check_value(g, ck, ck->values[1]);
        }
        put(g, ")");
        break;
    case CHECK_NOT_FUTURE:
        put_row_col(g, c->name);
        put(g, " > ");
        put(g, c->type == COL_DATE ? g->dl->utc_today : g->dl->utc_now);
        break;
    case CHECK_NOT_BEFORE:
        put_row_col(g, c->name);
        put(g, " < ");
        if (ck->other)
            put_row_col(g, ck->other);
        else
            put_literal(g, ck->values[0]);
        break;
    case CHECK_REFERENCES:
        put_row_col(g, c->name);
        put(g, " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ");
        put_ident(g, ck->ref_table);
        put_names(g, " AS `x` WHERE `x`.");
        put_ident(g, ck->ref_column);
        put(g, " = ");
        put_row_col(g, c->name);
        put(g, ")");
        break;
    default:
        if (!g->rc)
            g->rc = err_set(ML_EINVAL, "table '%s': unknown check %d", t->name, (int)ck->kind);
    }
}

/* Refuses a check the generator cannot write (the config module has said
 * why in the user's terms already). */
static int check_part_ok(const struct ddlgen_check_part *p)
{
    const struct table_def *t = p->table;
    const struct check_def *ck = p->check;
    int rc = t && ck ? check_table_name(t->name) : err_set(ML_EINVAL, "a check without a table");
    if (rc)
        return rc;
    if (ck->col >= t->ncols)
        return err_set(ML_EINVAL, "table '%s': a check names column %u of %u", t->name, ck->col,
                       t->ncols);
    if ((ck->kind == CHECK_ACCEPTED && ck->nvalues == 0) ||
        (ck->kind == CHECK_RANGE && (ck->nvalues != 2 || (!ck->values[0] && !ck->values[1]))) ||
        (ck->kind == CHECK_NOT_BEFORE && !ck->other && (ck->nvalues != 1 || !ck->values[0])) ||
        (ck->kind == CHECK_REFERENCES && (!ck->ref_table || !ck->ref_column)))
        return err_set(ML_EINVAL, "table '%s': column '%s': check %s lacks its argument", t->name,
                       t->cols[ck->col].name, ddlgen_check_word(ck->kind));
    if (ck->kind == CHECK_NOT_BEFORE && ck->other && find_column(t, ck->other) < 0)
        return err_set(ML_EINVAL, "table '%s': check not_before names column '%s', which it lacks",
                       t->name, ck->other);
    if ((ck->kind == CHECK_NOT_FUTURE || ck->kind == CHECK_NOT_BEFORE) &&
        !is_time_type(t->cols[ck->col].type))
        return err_set(ML_EINVAL, "table '%s': column '%s': %s needs a date or datetime", t->name,
                       t->cols[ck->col].name, ddlgen_check_word(ck->kind));
    return 0;
}

/* The columns of one check's rows; in the long shape (several parts joined
 * by UNION ALL) record_key and value are text where the dialect needs one
 * type per column. */
static void put_check_select(struct gen *g, const struct ddlgen_check_part *p, bool long_shape)
{
    const struct table_def *t = p->table;
    const struct check_def *ck = p->check;
    const char *col = t->cols[ck->col].name;
    put(g, "SELECT ");
    if (long_shape) {
        put_literal(g, t->name);
        put_names(g, " AS `table_name`, ");
        if (t->nkey == 1 && g->dl->one_key_cast) {
            put(g, "CAST(");
            put_row_col(g, t->cols[0].name);
            putf(g, " AS %s)", g->dl->one_key_cast);
        } else {
            put(g, g->dl->concat_ws);
            put(g, "(':'");
            for (unsigned k = 0; k < t->nkey; k++) {
                put(g, ", ");
                put_row_col(g, t->cols[k].name);
            }
            put(g, ")");
        }
        put_names(g, " AS `record_key`, ");
        put_literal(g, col);
        put_names(g, " AS `column_name`, ");
        if (g->dl->value_cast)
            put(g, "CAST(");
        put_row_col(g, col);
        if (g->dl->value_cast)
            putf(g, " AS %s)", g->dl->value_cast);
        put_names(g, " AS `value`");
    } else {
        for (unsigned k = 0; k < t->nkey; k++) {
            if (k)
                put(g, ", ");
            put_row_col(g, t->cols[k].name);
        }
        if (ck->col >= t->nkey) {
            put(g, ", ");
            put_row_col(g, col);
        }
        if (ck->kind == CHECK_NOT_BEFORE && ck->other &&
            find_column(t, ck->other) >= (int)t->nkey && strcasecmp(ck->other, col) != 0) {
            put(g, ", ");
            put_row_col(g, ck->other);
        }
    }
    put(g, " FROM ");
    put_ident(g, t->name);
    put_names(g, " AS `r` WHERE ");
    put_check_condition(g, t, ck);
}

/* `alias`.`column` */
static void put_alias_col(struct gen *g, const char *alias, const char *col)
{
    put(g, alias);
    put(g, ".");
    put_ident(g, col);
}

/* "a.k1 = b.k1 AND ...": the key columns of t equal in aliases a and b */
static void put_key_equal(struct gen *g, const struct table_def *t)
{
    for (unsigned i = 0; i < t->nkey; i++) {
        if (i)
            put(g, " AND ");
        put_alias_col(g, "a", t->cols[i].name);
        put(g, " = ");
        put_alias_col(g, "b", t->cols[i].name);
    }
}

/* "SELECT a.k1, ..., <version> AS `version`, '<problem>' AS `problem` FROM t a" */
static void put_history_head(struct gen *g, const struct table_def *t, const char *version,
                             const char *problem)
{
    put(g, "SELECT ");
    for (unsigned i = 0; i < t->nkey; i++) {
        put_alias_col(g, "a", t->cols[i].name);
        put(g, ", ");
    }
    put_names(g, version);
    put(g, " AS ");
    put_ident(g, "version");
    put(g, ", ");
    put_literal(g, problem);
    put(g, " AS ");
    put_ident(g, "problem");
    put(g, " FROM ");
    put_ident(g, t->name);
    put(g, " a");
}

/* The SELECT of a HISTORY view: one UNION ALL branch per invariant of
 * history.h's versions (ddlgen.h says which). */
static void put_history_select(struct gen *g, const struct table_def *t)
{
    put_history_head(g, t, "a.`version`", "valid_from not before valid_to");
    put_names(g, " WHERE a.`valid_to` IS NOT NULL AND a.`valid_from` >= a.`valid_to`");
    put(g, " UNION ALL ");
    put_history_head(g, t, "a.`version`", "is_current disagrees with valid_to or deleted");
    put(g, " WHERE (");
    put_bool_test(g, "a.`is_current`", true);
    put_names(g, ") <> (a.`valid_to` IS NULL) OR (");
    put_bool_test(g, "a.`is_current`", true);
    put(g, " AND ");
    put_bool_test(g, "a.`deleted`", true);
    put(g, ")");
    put(g, " UNION ALL ");
    put_history_head(g, t, "MAX(a.`version`)", "more than one current version");
    put(g, " WHERE ");
    put_bool_test(g, "a.`is_current`", true);
    put(g, " GROUP BY ");
    for (unsigned i = 0; i < t->nkey; i++) {
        if (i)
            put(g, ", ");
        put_alias_col(g, "a", t->cols[i].name);
    }
    put(g, " HAVING COUNT(*) > 1");
    put(g, " UNION ALL ");
    put_history_head(g, t, "b.`version`", "gap or overlap with the previous version");
    put(g, " JOIN ");
    put_ident(g, t->name);
    put(g, " b ON ");
    put_key_equal(g, t);
    put_names(g, " AND b.`version` = a.`version` + 1 WHERE a.`valid_to` IS NULL OR (");
    put_bool_test(g, "a.`deleted`", false);
    put_names(g, " AND b.`valid_from` <> a.`valid_to`) OR (");
    put_bool_test(g, "a.`deleted`", true);
    put_names(g, " AND b.`valid_from` < a.`valid_to`)");
    put(g, " UNION ALL ");
    put_history_head(g, t, "a.`version`", "version number without its predecessor");
    put_names(g, " WHERE a.`version` = 0 OR (a.`version` > 1 AND NOT EXISTS (SELECT 1 FROM ");
    put_ident(g, t->name);
    put(g, " b WHERE ");
    put_key_equal(g, t);
    put_names(g, " AND b.`version` = a.`version` - 1))");
}

/* The whole seconds from `expr` (fixed text, as put_names) to now. */
static void put_age(struct gen *g, const char *expr)
{
    put(g, g->dl->age_open);
    put_names(g, expr);
    put(g, g->dl->age_close);
}

/* `c` of load_run_streams `s`, cast to signed for a subtraction when the
 * dialect's counters are unsigned. */
static void put_counter(struct gen *g, const char *c)
{
    if (g->dl->signed_cast)
        put(g, "CAST(");
    put_names(g, "`s`.");
    put_ident(g, c);
    if (g->dl->signed_cast)
        putf(g, " AS %s)", g->dl->signed_cast);
}

int ddlgen_monitor_view(struct buf *out, const struct ddlgen_monitor *m, enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    size_t mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!m || !m->name[0] || strncmp(m->name, "monitor_", 8) != 0)
        return err_set(ML_EINVAL, "a generated monitoring view needs a name beginning with "
                                  "'monitor_'");
    if (g.dl->name_max && strlen(m->name) > g.dl->name_max)
        return err_set(ML_EINVAL, "%s: view '%s' is longer than %zu bytes", g.dl->name, m->name,
                       g.dl->name_max);
    switch (m->kind) {
    case DDLGEN_MONITOR_SMALL_GROUPS:
        return ddlgen_small_groups_view(out, m->def, d);
    case DDLGEN_MONITOR_CHECK:
        if (m->nparts == 0)
            return err_set(ML_EINVAL, "view '%s': no check", m->name);
        for (size_t i = 0; i < m->nparts; i++) {
            int rc = check_part_ok(&m->parts[i]);
            if (rc)
                return err_prefix(rc, "view '%s'", m->name);
        }
        put_view_head(&g, m->name);
        for (size_t i = 0; i < m->nparts; i++) {
            if (i)
                put(&g, " UNION ALL ");
            put_check_select(&g, &m->parts[i], m->nparts > 1);
        }
        return gen_end(&g, mark);
    case DDLGEN_MONITOR_HISTORY:
        if (!m->def || !m->def->table || !m->def->table->history || !m->def->table->nkey)
            return err_set(ML_EINVAL, "view '%s' needs a history table with a key", m->name);
        put_view_head(&g, m->name);
        put_history_select(&g, m->def->table);
        return gen_end(&g, mark);
    case DDLGEN_MONITOR_FRESHNESS:
    case DDLGEN_MONITOR_MIN_ROWS:
        break;
    default:
        return err_set(ML_EINVAL, "view '%s': unknown kind %d", m->name, (int)m->kind);
    }
    if (!m->stream || !*m->stream || !m->def)
        return err_set(ML_EINVAL, "view '%s' needs a stream", m->name);
    put_view_head(&g, m->name);
    put(&g, "SELECT ");
    put_literal(&g, m->stream);
    if (m->kind == DDLGEN_MONITOR_FRESHNESS) {
        unsigned long long lim = m->def->freshness_s;
        put_names(&g, " AS `stream`, MAX(`r`.`finished_at`) AS `last_success`, ");
        put_age(&g, "MAX(`r`.`finished_at`)");
        put_names(&g, " AS `age_seconds`, ");
        putf(&g, g.dl->count_literal, lim);
        put_names(&g, " AS `max_age_seconds` FROM `load_runs` AS `r` JOIN `load_run_streams` AS "
                      "`s` ON `s`.`run_id` = `r`.`run_id` WHERE `r`.`status` = 'succeeded' AND "
                      "`s`.`stream` = ");
        put_literal(&g, m->stream);
        put_names(&g, " HAVING MAX(`r`.`finished_at`) IS NULL OR ");
        put_age(&g, "MAX(`r`.`finished_at`)");
        putf(&g, " > %llu", lim);
    } else {
        unsigned long long lim = m->def->min_rows;
        put_names(&g, " AS `stream`, `l`.`run_id` AS `run_id`, `l`.`loaded` AS `loaded`, ");
        putf(&g, g.dl->count_literal, lim);
        put_names(&g, " AS `min_rows` FROM (SELECT 1 AS `one`) AS `o` LEFT JOIN (SELECT "
                      "`s`.`run_id` AS `run_id`, ");
        put_counter(&g, "fetched");
        put(&g, " - ");
        put_counter(&g, "rejected");
        put_names(&g, " AS `loaded` FROM `load_run_streams` AS `s` JOIN `load_runs` AS `r` ON "
                      "`r`.`run_id` = `s`.`run_id` WHERE `r`.`status` = 'succeeded' AND "
                      "`s`.`stream` = ");
        put_literal(&g, m->stream);
        put_names(&g,
                  " ORDER BY `r`.`finished_at` DESC, `r`.`run_id` DESC LIMIT 1) AS `l` ON 1 = 1 "
                  "WHERE `l`.`run_id` IS NULL OR `l`.`loaded` < ");
        putf(&g, "%llu", lim);
    }
    return gen_end(&g, mark);
}

/* ---- evolving an existing table ---- */

const struct column_def *ddlgen_meta_columns(size_t *n)
{
    *n = ARRAY_LEN(load_meta_cols);
    return load_meta_cols;
}

const struct column_def *ddlgen_history_columns(size_t *n)
{
    *n = ARRAY_LEN(history_cols);
    return history_cols;
}

int ddlgen_column_type(struct buf *out, const struct column_def *c, enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    size_t mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    put_type(&g, "?", c);
    return gen_end(&g, mark);
}

const char *ddlgen_text_collation(enum db_dialect d)
{
    const struct dialect *dl = dialect_any(d);
    return dl ? dl->text_collation : NULL;
}

static bool word_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

/* The server's own spelling of a type, restated verbatim: refused when it
 * holds anything that could end the clause (a control character, a
 * backquote, a ';'). */
static bool server_type_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '`' || *s == ';')
            return false;
    return true;
}

static int check_alter(const struct table_def *t, const struct ddlgen_alter *a)
{
    switch (a->kind) {
    case DDLGEN_ADD_COLUMN:
    case DDLGEN_MODIFY_COLUMN:
        if (!a->col || !a->col->name || !*a->col->name)
            return err_set(ML_EINVAL, "table '%s': a column change without a column", t->name);
        if (a->col->type == COL_TEXT && a->col->size == 0)
            return err_set(ML_EINVAL, "table '%s': column '%s': varchar without a size", t->name,
                           a->col->name);
        return 0;
    case DDLGEN_RELAX_COLUMN:
        if (!a->name || !*a->name || !server_type_ok(a->server_type))
            return err_set(ML_EINVAL, "table '%s': column '%s': cannot restate the type '%s'",
                           t->name, a->name ? a->name : "?", a->server_type ? a->server_type : "");
        if ((a->charset && !word_ok(a->charset)) || (a->collation && !word_ok(a->collation)))
            return err_set(ML_EINVAL,
                           "table '%s': column '%s': unexpected character set '%s' "
                           "or collation '%s'",
                           t->name, a->name, a->charset ? a->charset : "",
                           a->collation ? a->collation : "");
        return 0;
    }
    return err_set(ML_EINVAL, "table '%s': unknown column change %d", t->name, (int)a->kind);
}

/* ";\n" between the statements of a PostgreSQL ALTER, nothing before the first. */
static void put_next_statement(struct gen *g, size_t mark)
{
    if (!g->rc && g->out->len > mark)
        put(g, ";\n");
}

/* A MODIFY that says nothing of what differs restates every part. */
static bool restates_all(const struct ddlgen_alter *a)
{
    return !a->retype && !a->renull && !a->recomment;
}

/* Before a clause of a PostgreSQL ALTER TABLE: "ALTER TABLE "t"" before
 * the first, "," between them. */
static void put_alter_clause(struct gen *g, const char *table, bool *first)
{
    put(g, *first ? "ALTER TABLE " : ",");
    if (*first)
        put_ident(g, table);
    put(g, "\n  ");
    *first = false;
}

/* One "ALTER COLUMN "c"" clause, to be continued. */
static void put_alter_column(struct gen *g, const char *table, bool *first, const char *col)
{
    put_alter_clause(g, table, first);
    put(g, "ALTER COLUMN ");
    put_ident(g, col);
}

/* ddlgen_alter_table in PostgreSQL's shape: the column clauses of one ALTER
 * TABLE, then the COMMENT ON statements. */
static int pg_alter_table(struct gen *g, size_t mark, const struct table_def *t,
                          const struct ddlgen_alter *alters, size_t n, const char *table_comment)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const struct ddlgen_alter *a = &alters[i];
        bool all = restates_all(a);
        switch (a->kind) {
        case DDLGEN_ADD_COLUMN:
            put_alter_clause(g, t->name, &first);
            put(g, "ADD COLUMN ");
            put_column_def(g, t->name, a->col, a->not_null, NULL);
            break;
        case DDLGEN_MODIFY_COLUMN:
            if (all || a->retype) {
                put_alter_column(g, t->name, &first, a->col->name);
                put(g, " TYPE ");
                put_type(g, t->name, a->col);
            }
            if (all || a->renull) {
                put_alter_column(g, t->name, &first, a->col->name);
                put(g, a->not_null ? " SET NOT NULL" : " DROP NOT NULL");
            }
            break;
        case DDLGEN_RELAX_COLUMN:
            put_alter_column(g, t->name, &first, a->name);
            put(g, " DROP NOT NULL");
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct ddlgen_alter *a = &alters[i];
        if ((a->kind == DDLGEN_ADD_COLUMN && a->col->description && *a->col->description) ||
            (a->kind == DDLGEN_MODIFY_COLUMN && (restates_all(a) || a->recomment))) {
            put_next_statement(g, mark);
            put_comment_on(g, t->name, a->col->name, a->col->description);
        }
    }
    if (table_comment) {
        put_next_statement(g, mark);
        put_comment_on(g, t->name, NULL, table_comment);
    }
    return gen_end(g, mark);
}

int ddlgen_alter_table(struct buf *out, const struct table_def *t,
                       const struct ddlgen_alter *alters, size_t n, const char *table_comment,
                       enum db_dialect d)
{
    struct gen g = {out, dialect_any(d), 0};
    size_t mark = out->len;
    int rc = g.dl ? 0 : err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!rc)
        rc = t ? check_table_name(t->name) : err_set(ML_EINVAL, "table without a name");
    if (!rc && n == 0 && !table_comment)
        rc = err_set(ML_EINVAL, "table '%s': an ALTER without changes", t->name);
    for (size_t i = 0; !rc && i < n; i++)
        rc = check_alter(t, &alters[i]);
    if (!rc && g.dl->name_max)
        for (size_t i = 0; !rc && i < n; i++)
            if (alters[i].kind == DDLGEN_ADD_COLUMN && strlen(alters[i].col->name) > g.dl->name_max)
                rc = name_too_long(&g, t->name, "column", alters[i].col->name);
    if (rc)
        return rc;
    if (g.dl->comment_statements)
        return pg_alter_table(&g, mark, t, alters, n, table_comment);
    put(&g, "ALTER TABLE ");
    put_ident(&g, t->name);
    for (size_t i = 0; i < n; i++) {
        const struct ddlgen_alter *a = &alters[i];
        put(&g, i ? ",\n  " : "\n  ");
        switch (a->kind) {
        case DDLGEN_ADD_COLUMN:
            put(&g, "ADD COLUMN ");
            put_column_def(&g, t->name, a->col, a->not_null, NULL);
            if (a->after) {
                put(&g, " AFTER ");
                put_ident(&g, a->after);
            } else {
                put(&g, " FIRST");
            }
            break;
        case DDLGEN_MODIFY_COLUMN:
            put(&g, "MODIFY COLUMN ");
            put_column_def(&g, t->name, a->col, a->not_null, NULL);
            break;
        case DDLGEN_RELAX_COLUMN:
            put(&g, "MODIFY COLUMN ");
            put_ident(&g, a->name);
            put(&g, " ");
            put(&g, a->server_type);
            if (a->charset) {
                put(&g, " CHARACTER SET ");
                put(&g, a->charset);
            }
            if (a->collation) {
                put(&g, " COLLATE ");
                put(&g, a->collation);
            }
            put(&g, " NULL");
            put_comment(&g, a->comment);
            break;
        }
    }
    if (table_comment) {
        put(&g, n ? ",\n  COMMENT=" : "\n  COMMENT=");
        put_literal(&g, table_comment);
    }
    return gen_end(&g, mark);
}

/* ---- RANGE partitions (partition.h decides which, this writes them) ---- */

bool ddlgen_partition_key_extra(const struct table_def *t)
{
    if (!t->partition || !t->partition->column)
        return false;
    for (unsigned i = 0; i < t->nkey && i < t->ncols; i++)
        if (strcasecmp(t->cols[i].name, t->partition->column) == 0)
            return false;
    return true;
}

/* A partition name: [a-z0-9_], at most 64 characters; a bound: YYYY-MM-DD. */
static bool partition_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool partition_bound_ok(const char *s)
{
    static const char shape[] = "dddd-dd-dd";
    /* a bound is a char[11] (ddlgen.h): never read past it */
    if (!s || strnlen(s, sizeof(shape)) != sizeof(shape) - 1)
        return false;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return false;
    return true;
}

static int check_partitions(const struct table_def *t, const struct ddlgen_partition *p, size_t n,
                            bool need_maxvalue)
{
    if (!t || !t->partition || find_column(t, t->partition->column) < 0)
        return err_set(ML_EINVAL, "table '%s': no partitioning column",
                       t && t->name ? t->name : "?");
    if (n == 0)
        return err_set(ML_EINVAL, "table '%s': no partitions", t->name);
    for (size_t i = 0; i < n; i++) {
        if (!partition_name_ok(p[i].name))
            return err_set(ML_EINVAL, "table '%s': invalid partition name", t->name);
        if (p[i].bound[0] ? !partition_bound_ok(p[i].bound) : i + 1 != n)
            return err_set(ML_EINVAL, "table '%s': partition '%s': invalid bound", t->name,
                           p[i].name);
        if (i && p[i].bound[0] && strcmp(p[i - 1].bound, p[i].bound) >= 0)
            return err_set(ML_EINVAL, "table '%s': partition '%s': bounds must increase", t->name,
                           p[i].name);
    }
    if (need_maxvalue && p[n - 1].bound[0])
        return err_set(ML_EINVAL, "table '%s': the last partition must be the MAXVALUE one",
                       t->name);
    return 0;
}

static void put_partition_list(struct gen *g, const struct ddlgen_partition *p, size_t n)
{
    put(g, "(");
    for (size_t i = 0; i < n; i++) {
        put(g, i ? ",\n  PARTITION " : "\n  PARTITION ");
        put_ident(g, p[i].name);
        put(g, " VALUES LESS THAN (");
        if (p[i].bound[0])
            put_literal(g, p[i].bound);
        else
            put(g, "MAXVALUE");
        put(g, ")");
    }
    put(g, ")");
}

int ddlgen_partition_by(struct buf *out, const struct table_def *t,
                        const struct ddlgen_partition *p, size_t n, enum db_dialect d)
{
    struct gen g = {out, dialect_of(d), 0};
    size_t mark = out->len;
    int rc = g.dl ? check_partitions(t, p, n, true)
                  : err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (rc)
        return rc;
    put(&g, "\nPARTITION BY RANGE COLUMNS(");
    put_ident(&g, t->partition->column);
    put(&g, ") ");
    put_partition_list(&g, p, n);
    return gen_end(&g, mark);
}

int ddlgen_partition_split_last(struct buf *out, const struct table_def *t, const char *last,
                                const struct ddlgen_partition *p, size_t n, enum db_dialect d)
{
    struct gen g = {out, dialect_of(d), 0};
    size_t mark = out->len;
    int rc = g.dl ? check_partitions(t, p, n, true)
                  : err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!rc && (n < 2 || !partition_name_ok(last)))
        rc = err_set(ML_EINVAL, "table '%s': nothing to split off partition '%s'", t->name,
                     last ? last : "?");
    if (rc)
        return rc;
    put(&g, "ALTER TABLE ");
    put_ident(&g, t->name);
    put(&g, " REORGANIZE PARTITION ");
    put_ident(&g, last);
    put(&g, " INTO ");
    put_partition_list(&g, p, n);
    return gen_end(&g, mark);
}

static void put_name_list(struct gen *g, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(g, ",");
        put_ident(g, names[i]);
    }
}

static int check_names(const struct table_def *t, const char *const *names, size_t n)
{
    if (!t || !t->name || !t->partition)
        return err_set(ML_EINVAL, "a partitioned table is needed");
    if (n == 0)
        return err_set(ML_EINVAL, "table '%s': no partitions named", t->name);
    for (size_t i = 0; i < n; i++)
        if (!partition_name_ok(names[i]))
            return err_set(ML_EINVAL, "table '%s': invalid partition name", t->name);
    return 0;
}

int ddlgen_partition_truncate(struct buf *out, const struct table_def *t, const char *const *names,
                              size_t n, enum db_dialect d)
{
    struct gen g = {out, dialect_of(d), 0};
    size_t mark = out->len;
    int rc = g.dl ? check_names(t, names, n) : err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (rc)
        return rc;
    put(&g, "ALTER TABLE ");
    put_ident(&g, t->name);
    put(&g, " TRUNCATE PARTITION ");
    put_name_list(&g, names, n);
    return gen_end(&g, mark);
}

int ddlgen_partition_merge_first(struct buf *out, const struct table_def *t,
                                 const char *const *names, size_t n,
                                 const struct ddlgen_partition *into, enum db_dialect d)
{
    struct gen g = {out, dialect_of(d), 0};
    size_t mark = out->len;
    int rc = g.dl ? check_names(t, names, n) : err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!rc && (!into || !partition_name_ok(into->name) || !partition_bound_ok(into->bound)))
        rc = err_set(ML_EINVAL, "table '%s': invalid partition to merge into", t->name);
    if (rc)
        return rc;
    put(&g, "ALTER TABLE ");
    put_ident(&g, t->name);
    put(&g, " REORGANIZE PARTITION ");
    put_name_list(&g, names, n);
    put(&g, " INTO ");
    put_partition_list(&g, into, 1);
    return gen_end(&g, mark);
}

/* "space".name, name being `table`, or with `what` table's relation
 * "<table>_<what>" (put_scoped_name). */
static void put_in_schema(struct gen *g, const char *space, const char *table, const char *what)
{
    put_ident(g, space);
    put(g, ".");
    if (what)
        put_scoped_name(g, table, what);
    else
        put_ident(g, table);
}

int ddlgen_partition_grants(struct buf *out, const struct stream_def *const *defs, size_t ndefs,
                            const char *database, const char *loader_role, enum db_dialect d)
{
    struct gen g = {out, d == DB_DIALECT_POSTGRES ? &postgres_dialect : dialect_of(d), 0};
    size_t mark = out->len;
    if (!g.dl)
        return err_set(ML_EINVAL, "unknown SQL dialect %d", (int)d);
    if (!database || !*database || !loader_role || !*loader_role)
        return err_set(ML_EINVAL, "partition grants need a database and the loader role");
    size_t npg = 0;
    for (size_t i = 0; i < ndefs; i++) {
        const struct table_def *t = defs[i] ? defs[i]->table : NULL;
        if (!t || !t->partition)
            continue;
        int rc = check_table_name(t->name);
        if (rc) {
            buf_truncate(out, mark);
            return rc;
        }
        if (d == DB_DIALECT_POSTGRES) {
            /* PostgreSQL has no ALTER nor DROP privilege: the owner of a
             * partitioned table adds partitions to it, the owner of a
             * partition drops it; the loader role owns both (partition.h) */
            for (int k = 0; k < 2; k++) {
                put(&g, "ALTER TABLE ");
                put_in_schema(&g, database, t->name, k ? DDLGEN_PARTITION_DEFAULT : NULL);
                put(&g, " OWNER TO ");
                put_ident(&g, loader_role);
                put(&g, ";\n");
            }
            npg++;
            continue;
        }
        put(&g, "GRANT ALTER, DROP ON ");
        put_ident(&g, database);
        put(&g, ".");
        put_ident(&g, t->name);
        put(&g, " TO ");
        put_ident(&g, loader_role);
        put(&g, ";\n");
    }
    if (npg) { /* its partitions are created in the schema, by the loader role */
        put(&g, "GRANT CREATE ON SCHEMA ");
        put_ident(&g, database);
        put(&g, " TO ");
        put_ident(&g, loader_role);
        put(&g, ";\n");
    }
    return gen_end(&g, mark);
}

int ddlgen_partition_add_pg(struct buf *out, const struct table_def *t, const char *schema,
                            const char *default_rel, const char *from,
                            const struct ddlgen_partition *p, const char *const *readers,
                            size_t nreaders)
{
    struct gen g = {out, &postgres_dialect, 0};
    size_t mark = out->len;
    int rc = check_partitions(t, p, 1, false);
    if (!rc && (!p->bound[0] || !from || !partition_bound_ok(from) || strcmp(from, p->bound) >= 0))
        rc = err_set(ML_EINVAL, "table '%s': partition '%s': invalid range", t->name, p->name);
    if (!rc && (!schema || !*schema || !default_rel || !*default_rel))
        rc = err_set(ML_EINVAL, "table '%s': no schema or default partition", t->name);
    if (rc)
        return rc;
    /* a standalone table first, filled with the rows of its range that the
     * DEFAULT partition caught (PostgreSQL refuses a partition whose range
     * holds rows of the DEFAULT one), then attached: one transaction */
    put(&g, "CREATE TABLE ");
    put_in_schema(&g, schema, t->name, p->name);
    put(&g, " (LIKE ");
    put_in_schema(&g, schema, t->name, NULL);
    put(&g, " INCLUDING DEFAULTS);\nWITH moved AS (DELETE FROM ");
    put_in_schema(&g, schema, default_rel, NULL);
    put(&g, " WHERE ");
    put_ident(&g, t->partition->column);
    put(&g, " >= ");
    put_literal(&g, from);
    put(&g, " AND ");
    put_ident(&g, t->partition->column);
    put(&g, " < ");
    put_literal(&g, p->bound);
    put(&g, " RETURNING *) INSERT INTO ");
    put_in_schema(&g, schema, t->name, p->name);
    put(&g, " SELECT * FROM moved;\nALTER TABLE ");
    put_in_schema(&g, schema, t->name, NULL);
    put(&g, " ATTACH PARTITION ");
    put_in_schema(&g, schema, t->name, p->name);
    put(&g, " FOR VALUES FROM (");
    put_literal(&g, from);
    put(&g, ") TO (");
    put_literal(&g, p->bound);
    /* read through the table only, whatever default privileges say */
    put(&g, ");\nREVOKE ALL ON ");
    put_in_schema(&g, schema, t->name, p->name);
    put(&g, " FROM PUBLIC");
    for (size_t i = 0; i < nreaders; i++) {
        put(&g, ", ");
        put_ident(&g, readers[i]);
    }
    return gen_end(&g, mark);
}

/* ---- PostgreSQL: schema, roles, accounts and privileges ---- */

/* A role, user, schema or database name for the PostgreSQL statements: at
 * most 63 bytes, no '$' (the role statements are dollar-quoted DO blocks). */
static int check_pg_name(const char *what, const char *name)
{
    if (!name || !*name)
        return err_set(ML_EINVAL, "postgres: %s without a name", what);
    if (strlen(name) > postgres_dialect.name_max)
        return err_set(ML_EINVAL, "postgres: %s '%s' is longer than %zu bytes", what, name,
                       postgres_dialect.name_max);
    if (strchr(name, '$'))
        return err_set(ML_EINVAL, "postgres: %s '%s' holds a '$'", what, name);
    return 0;
}

int ddlgen_pg_schema(struct buf *out, const char *schema)
{
    struct gen g = {out, &postgres_dialect, 0};
    size_t mark = out->len;
    int rc = check_pg_name("schema", schema);
    if (rc)
        return rc;
    put(&g, "CREATE SCHEMA IF NOT EXISTS ");
    put_ident(&g, schema);
    return gen_end(&g, mark);
}

/* "DO ... CREATE ROLE name <how> unless it exists;\n" (PostgreSQL 15 has no
 * CREATE ROLE IF NOT EXISTS). */
static void put_create_role(struct gen *g, const char *name, const char *how)
{
    put(g, "DO $ml$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ");
    put_literal(g, name);
    put(g, ") THEN CREATE ROLE ");
    put_ident(g, name);
    put(g, " ");
    put(g, how);
    put(g, "; END IF; END $ml$;\n");
}

static void put_schema_grant(struct gen *g, const char *what, const char *schema, const char *role)
{
    put(g, what);
    put(g, " IN SCHEMA ");
    put_ident(g, schema);
    put(g, role ? " TO " : " FROM PUBLIC");
    if (role)
        put_ident(g, role);
    put(g, ";\n");
}

/* "ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT <what> TO role;\n" */
static void put_default_grant(struct gen *g, const char *schema, const char *what, const char *role)
{
    put(g, "ALTER DEFAULT PRIVILEGES IN SCHEMA ");
    put_ident(g, schema);
    put(g, " GRANT ");
    put(g, what);
    put(g, " TO ");
    put_ident(g, role);
    put(g, ";\n");
}

static void put_select_grants(struct gen *g, const char *schema, const char *const *tables,
                              size_t n, const char *role)
{
    for (size_t i = 0; i < n; i++)
        put_grant_select(g, schema, tables[i], NULL, role);
}

int ddlgen_pg_access(struct buf *out, const struct stream_def *const *defs, size_t ndefs,
                     const struct ddlgen_pg_access *a)
{
    struct gen g = {out, &postgres_dialect, 0};
    size_t mark = out->len;
    int rc = a ? 0 : err_set(ML_EINVAL, "postgres: no access to write");
    const char *roles[3];
    if (!rc)
        rc = check_pg_name("database", a->database);
    if (!rc)
        rc = check_pg_name("schema", a->schema);
    if (!rc)
        rc = check_pg_name("loader role", a->loader);
    if (!rc)
        rc = check_pg_name("analyst role", a->analyst);
    if (!rc)
        rc = check_pg_name("steward role", a->steward);
    for (size_t i = 0; !rc && i < a->nanalyst; i++)
        if (!a->analyst_tables[i] || strncasecmp(a->analyst_tables[i], "sensitive_", 10) == 0 ||
            strcasecmp(a->analyst_tables[i], "load_rejects") == 0)
            rc = err_set(ML_EINVAL, "postgres: table '%s' is never granted to the analyst",
                         a->analyst_tables[i] ? a->analyst_tables[i] : "");
    if (rc)
        return rc;
    roles[0] = a->loader;
    roles[1] = a->analyst;
    roles[2] = a->steward;
    for (size_t i = 0; i < 3; i++)
        put_create_role(&g, roles[i], "NOLOGIN");
    /* the database: nothing through PUBLIC; CONNECT for the three, TEMPORARY
     * (staging tables) for the loader */
    put(&g, "REVOKE ALL ON DATABASE ");
    put_ident(&g, a->database);
    put(&g, " FROM PUBLIC;\nGRANT CONNECT, TEMPORARY ON DATABASE ");
    put_ident(&g, a->database);
    put(&g, " TO ");
    put_ident(&g, a->loader);
    put(&g, ";\nGRANT CONNECT ON DATABASE ");
    put_ident(&g, a->database);
    put(&g, " TO ");
    put_ident(&g, a->analyst);
    put(&g, ", ");
    put_ident(&g, a->steward);
    /* the schema: USAGE for the three, nothing through PUBLIC */
    put(&g, ";\nREVOKE ALL ON SCHEMA ");
    put_ident(&g, a->schema);
    put(&g, " FROM PUBLIC;\nGRANT USAGE ON SCHEMA ");
    put_ident(&g, a->schema);
    put(&g, " TO ");
    for (size_t i = 0; i < 3; i++) {
        put(&g, i ? ", " : "");
        put_ident(&g, roles[i]);
    }
    put(&g, ";\n");
    /* its objects: nothing through PUBLIC; the analyst's and the steward's
     * table privileges restated from nothing (a table no longer on their
     * list loses its grant); the loader writes every table */
    put_schema_grant(&g, "REVOKE ALL ON ALL TABLES", a->schema, NULL);
    put_schema_grant(&g, "REVOKE ALL ON ALL SEQUENCES", a->schema, NULL);
    put_schema_grant(&g, "REVOKE ALL ON ALL FUNCTIONS", a->schema, NULL);
    put(&g, "REVOKE ALL ON ALL TABLES IN SCHEMA ");
    put_ident(&g, a->schema);
    put(&g, " FROM ");
    put_ident(&g, a->analyst);
    put(&g, ", ");
    put_ident(&g, a->steward);
    put(&g, ";\n");
    put_schema_grant(&g, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES", a->schema,
                     a->loader);
    put_schema_grant(&g, "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES", a->schema, a->loader);
    if (!g.rc) {
        struct ddlgen_roles r = {a->analyst, a->steward};
        g.rc = ddlgen_grants(out, defs, ndefs, a->schema, &r, DB_DIALECT_POSTGRES);
    }
    put_select_grants(&g, a->schema, a->analyst_tables, a->nanalyst, a->analyst);
    put_select_grants(&g, a->schema, a->steward_tables, a->nsteward, a->steward);
    /* tables and sequences the role running this creates later in the schema:
     * the loader's at once, nobody else's (the analyst's allow-list is
     * granted table by table); functions it creates anywhere in the
     * database: not executable through PUBLIC */
    put_default_grant(&g, a->schema, "SELECT, INSERT, UPDATE, DELETE ON TABLES", a->loader);
    put_default_grant(&g, a->schema, "USAGE, SELECT, UPDATE ON SEQUENCES", a->loader);
    put(&g, "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n");
    return gen_end(&g, mark);
}

int ddlgen_pg_account(struct buf *out, const char *user, const char *role, const char *schema)
{
    struct gen g = {out, &postgres_dialect, 0};
    size_t mark = out->len;
    int rc = check_pg_name("account", user);
    if (!rc)
        rc = check_pg_name("role", role);
    if (!rc)
        rc = check_pg_name("schema", schema);
    if (rc)
        return rc;
    put_create_role(&g, user, "LOGIN");
    put(&g, "ALTER ROLE ");
    put_ident(&g, user);
    put(&g, " LOGIN;\nGRANT ");
    put_ident(&g, role);
    put(&g, " TO ");
    put_ident(&g, user);
    put(&g, ";\nALTER ROLE ");
    put_ident(&g, user);
    put(&g, " SET search_path = ");
    put_ident(&g, schema);
    put(&g, ";\n");
    return gen_end(&g, mark);
}
