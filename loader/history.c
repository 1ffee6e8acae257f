/* history.c - versions of a snapshot stream's rows: the as-of rule, the
 * temporary snapshot table, the set-based merge and the views (history.h). */
#include "history.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ddlgen.h"
#include "error.h"
#include "log.h"
#include "sqltext.h"
#include "banned.h"

#define STAGE_PREFIX "load_snapshot_"

struct history {
    struct db *db;
    const struct stream_def *def;
    struct table_def stage; /* the mapped table under the temporary name */
    char stage_name[80];
    char as_of[HISTORY_AS_OF_LEN];
    struct buf sql;
};

/* ---- as-of ---- */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int history_parse_as_of(const char *text, char out[HISTORY_AS_OF_LEN])
{
    int y, mo, d, h, mi, s, ms = 0;
    size_t len = text ? strlen(text) : 0, nfrac = 0;
    const char *p = text;
    if (len < 20 || digits(p, 4, &y) || p[4] != '-' || digits(p + 5, 2, &mo) || p[7] != '-' ||
        digits(p + 8, 2, &d) || p[10] != 'T' || digits(p + 11, 2, &h) || p[13] != ':' ||
        digits(p + 14, 2, &mi) || p[16] != ':' || digits(p + 17, 2, &s))
        goto bad;
    p += 19;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)p[nfrac]) && nfrac < 4)
            nfrac++;
        if (nfrac == 0 || nfrac > 3)
            goto bad;
        for (size_t i = 0; i < 3; i++)
            ms = ms * 10 + (i < nfrac ? p[i] - '0' : 0);
        p += nfrac;
    }
    if (strcmp(p, "Z") != 0)
        goto bad;
    if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59)
        goto bad;
    {
        /* the day exists: timegm normalises 2023-02-30 into March */
        struct tm tm = {.tm_year = y - 1900,
                        .tm_mon = mo - 1,
                        .tm_mday = d,
                        .tm_hour = h,
                        .tm_min = mi,
                        .tm_sec = s};
        time_t t = timegm(&tm);
        struct tm back;
        if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1)
            goto bad;
    }
    {
        char tmp[64]; /* the fields were range-checked: 23 characters */
        snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d.%03d", y, mo, d, h, mi, s, ms);
        memcpy(out, tmp, HISTORY_AS_OF_LEN - 1);
        out[HISTORY_AS_OF_LEN - 1] = '\0';
    }
    return 0;
bad:
    return err_set(ML_EUSAGE,
                   "--as-of '%.64s' is not a UTC time YYYY-MM-DDTHH:MM:SS[.fff]Z "
                   "(e.g. 2024-01-02T00:00:00Z)",
                   text ? text : "");
}

/* ---- the typed row hash ---- */

char history_type_tag(enum col_type t)
{
    switch (t) {
    case COL_BIGINT:
    case COL_SMALLINT:
    case COL_INT:
    case COL_SURROGATE:
    case COL_VERSION_MAJOR:
        return 'i';
    case COL_BOOL:
        return 'b';
    case COL_DECIMAL:
        return 'n';
    case COL_TEXT:
    case COL_LONGTEXT:
    case COL_HMAC:
        return 's';
    case COL_DATE:
        return 'd';
    case COL_DATETIME:
    case COL_EPOCH_MS:
        return 't';
    case COL_DIGEST:
        return 'x';
    }
    return '?';
}

/* The canonical text of column c of row `alias`, as bytes. */
static void canonical(struct sq *q, const char *alias, const struct column_def *c)
{
    switch (c->type) {
    case COL_DECIMAL:
        if (c->scale == 0)
            break; /* no fraction: nothing to trim (100 stays 100) */
        /* 1.50 and 1.500 (a widened scale) are one value */
        sq_add(q, "CAST(TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM CAST(");
        sq_col_of(q, alias, c->name);
        sq_add(q, " AS CHAR))) AS BINARY)");
        return;
    case COL_DATE:
        sq_add(q, "CAST(DATE_FORMAT(");
        sq_col_of(q, alias, c->name);
        sq_add(q, ", '%Y-%m-%d') AS BINARY)");
        return;
    case COL_DATETIME:
    case COL_EPOCH_MS:
        sq_add(q, "CAST(DATE_FORMAT(");
        sq_col_of(q, alias, c->name);
        sq_add(q, ", '%Y-%m-%d %H:%i:%s.%f') AS BINARY)");
        return;
    case COL_BOOL:
        sq_add(q, "CAST(IF(");
        sq_col_of(q, alias, c->name);
        sq_add(q, ", 1, 0) AS BINARY)");
        return;
    default:
        break;
    }
    sq_add(q, "CAST(");
    sq_col_of(q, alias, c->name);
    sq_add(q, " AS BINARY)");
}

/* UNHEX(SHA2(<pieces>, 256)) over the declared non-key columns of `alias`. */
static void row_hash(struct sq *q, const struct table_def *t, const char *alias)
{
    sq_add(q, "UNHEX(SHA2(CONCAT(''");
    for (unsigned i = t->nkey; i < t->ncols; i++) {
        const struct column_def *c = &t->cols[i];
        sq_add(q, ", IF(");
        sq_col_of(q, alias, c->name);
        sq_addf(q, " IS NULL, '', CONCAT('%zu:", strlen(c->name));
        /* the name is an identifier (config checks): no quote inside */
        sq_add(q, c->name);
        sq_addf(q, ":%c:', LENGTH(", history_type_tag(c->type));
        canonical(q, alias, c);
        sq_add(q, "), ':', ");
        canonical(q, alias, c);
        sq_add(q, "))");
    }
    sq_add(q, "), 256))");
}

/* a.k1 = b.k1 AND ... (key columns are NOT NULL) */
static void key_equal(struct sq *q, const struct table_def *t, const char *a, const char *b)
{
    for (unsigned i = 0; i < t->nkey; i++) {
        if (i)
            sq_add(q, " AND ");
        sq_col_of(q, a, t->cols[i].name);
        sq_add(q, " = ");
        sq_col_of(q, b, t->cols[i].name);
    }
}

static void column_list(struct sq *q, const struct table_def *t, const char *alias, unsigned from)
{
    for (unsigned i = from; i < t->ncols; i++) {
        if (i > from)
            sq_add(q, ", ");
        sq_col_of(q, alias, t->cols[i].name);
    }
}

/* ---- a run ---- */

int history_begin(struct db *db, const struct stream_def *def, const char *as_of, bool rebuild,
                  struct history **out)
{
    const struct table_def *t = def->table;
    struct history *h;
    struct sq q;
    bool found = false;
    struct buf latest = BUF_INIT;
    int rc;
    *out = NULL;
    if (rebuild)
        return history_refuse_rebuild();
    h = calloc(1, sizeof(*h));
    if (!h)
        return err_set(ML_ENOMEM, "out of memory");
    h->db = db;
    h->def = def;
    buf_init(&h->sql, 0);
    snprintf(h->as_of, sizeof(h->as_of), "%s", as_of);
    rc = history_stage_def(t, &h->stage, h->stage_name, sizeof(h->stage_name));
    if (rc) {
        buf_release(&h->sql);
        free(h);
        return rc;
    }

    /* history is appended to: the as-of is no older than any bound in it */
    q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
    sq_add(&q, "SELECT DATE_FORMAT(MAX(GREATEST(valid_from, COALESCE(valid_to, valid_from))), "
               "'%Y-%m-%dT%H:%i:%s.%fZ') FROM ");
    sq_ident(&q, t->name);
    sq_add(&q, " WHERE valid_from > '");
    sq_add(&q, h->as_of); /* history_parse_as_of's text: digits and separators */
    sq_add(&q, "' OR valid_to > '");
    sq_add(&q, h->as_of);
    sq_add(&q, "'");
    rc = q.rc ? q.rc : db_query_value(db, h->sql.data, h->sql.len, &latest, &found);
    if (!rc && found)
        rc = history_refuse_as_of(h->as_of, latest.data);
    buf_release(&latest);

    /* the batches' table: the mapped columns as the history table types
     * them, keyed by the natural key; gone with the connection */
    buf_reset(&h->sql);
    q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
    sq_add(&q, "DROP TEMPORARY TABLE IF EXISTS ");
    sq_ident(&q, h->stage_name);
    if (!rc)
        rc = q.rc ? q.rc : db_exec_len(db, h->sql.data, h->sql.len);
    buf_reset(&h->sql);
    q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
    sq_add(&q, "CREATE TEMPORARY TABLE ");
    sq_ident(&q, h->stage_name);
    sq_add(&q, " (PRIMARY KEY (");
    for (unsigned i = 0; i < t->nkey; i++) {
        if (i)
            sq_add(&q, ",");
        sq_ident(&q, t->cols[i].name);
    }
    sq_add(&q, ")) ENGINE=InnoDB SELECT ");
    column_list(&q, t, NULL, 0);
    sq_add(&q, ", `load_run_id`, `loaded_at` FROM ");
    sq_ident(&q, t->name);
    sq_add(&q, " LIMIT 0");
    if (!rc)
        rc = q.rc ? q.rc : db_exec_len(db, h->sql.data, h->sql.len);
    if (rc) {
        if (rc != ML_EUSAGE)
            err_prefix(rc, "preparing the snapshot table %s", h->stage_name);
        history_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

const struct table_def *history_stage_table(const struct history *h)
{
    return &h->stage;
}

static int exec_counted(struct history *h, struct sq *q, unsigned long long *n)
{
    int rc = q->rc ? q->rc : db_exec_len(h->db, h->sql.data, h->sql.len);
    if (!rc && n)
        *n = db_affected_rows(h->db);
    return rc;
}

/* SET h.valid_to = as-of, h.is_current = 0, the run's metadata */
static void close_set(struct sq *q, const struct history *h, unsigned long long run_id)
{
    sq_add(q, " SET h.`valid_to` = '");
    sq_add(q, h->as_of);
    sq_addf(q, "', h.`is_current` = 0, h.`load_run_id` = %llu, h.`loaded_at` = UTC_TIMESTAMP(3)",
            run_id);
}

int history_merge(struct history *h, unsigned long long run_id, unsigned long long rejected,
                  struct history_counts *out)
{
    const struct table_def *t = h->def->table;
    unsigned long long staged = 0, bad = 0;
    struct sq q;
    int rc;
    memset(out, 0, sizeof(*out));

    buf_reset(&h->sql);
    q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
    sq_add(&q, "SELECT COUNT(*) FROM ");
    sq_ident(&q, h->stage_name);
    rc = q.rc ? q.rc : db_query_u64(h->db, h->sql.data, &staged, NULL);
    if (!rc)
        rc = db_begin(h->db);

    /* 1. current versions whose row changed: closed */
    buf_reset(&h->sql);
    q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
    sq_add(&q, "UPDATE ");
    sq_ident(&q, t->name);
    sq_add(&q, " h JOIN ");
    sq_ident(&q, h->stage_name);
    sq_add(&q, " s ON ");
    key_equal(&q, t, "h", "s");
    close_set(&q, h, run_id);
    sq_add(&q, " WHERE h.`is_current` = 1 AND h.`row_hash` <> ");
    row_hash(&q, t, "s");
    sq_add(&q, " AND ");
    row_hash(&q, t, "h");
    sq_add(&q, " <> ");
    row_hash(&q, t, "s");
    if (!rc)
        rc = exec_counted(h, &q, &out->changed);

    /* 2. current versions whose key left the snapshot: closed, deleted */
    out->deletions_skipped = history_deletions_held(rejected, staged);
    if (!rc && !out->deletions_skipped) {
        buf_reset(&h->sql);
        q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
        sq_add(&q, "UPDATE ");
        sq_ident(&q, t->name);
        sq_add(&q, " h LEFT JOIN ");
        sq_ident(&q, h->stage_name);
        sq_add(&q, " s ON ");
        key_equal(&q, t, "h", "s");
        close_set(&q, h, run_id);
        sq_add(&q, ", h.`deleted` = 1 WHERE h.`is_current` = 1 AND s.");
        sq_ident(&q, t->cols[0].name);
        sq_add(&q, " IS NULL");
        rc = exec_counted(h, &q, &out->deleted);
    }

    /* 3. keys of the snapshot without a current version: a new version */
    if (!rc) {
        buf_reset(&h->sql);
        q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
        sq_add(&q, "INSERT INTO ");
        sq_ident(&q, t->name);
        sq_add(&q, " (");
        column_list(&q, t, NULL, 0);
        sq_add(&q, ", `load_run_id`, `loaded_at`, `valid_from`, `valid_to`, `version`, "
                   "`is_current`, `deleted`, `row_hash`) SELECT ");
        column_list(&q, t, "s", 0);
        /* per staged key, two lookups on the primary key's prefix: its
         * highest version, and whether one is current */
        sq_addf(&q, ", %llu, UTC_TIMESTAMP(3), '%s', NULL, COALESCE((SELECT MAX(m.`version`) FROM ",
                run_id, h->as_of);
        sq_ident(&q, t->name);
        sq_add(&q, " m WHERE ");
        key_equal(&q, t, "m", "s");
        sq_add(&q, "), 0) + 1, 1, 0, ");
        row_hash(&q, t, "s");
        sq_add(&q, " FROM ");
        sq_ident(&q, h->stage_name);
        sq_add(&q, " s WHERE NOT EXISTS (SELECT 1 FROM ");
        sq_ident(&q, t->name);
        sq_add(&q, " c WHERE ");
        key_equal(&q, t, "c", "s");
        sq_add(&q, " AND c.`is_current` = 1)");
        rc = exec_counted(h, &q, &out->opened);
    }

    /* an as-of equal to a changed version's start would leave it empty */
    buf_reset(&h->sql);
    q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
    sq_add(&q, "SELECT COUNT(*) FROM ");
    sq_ident(&q, t->name);
    sq_addf(&q,
            " WHERE `load_run_id` = %llu AND `valid_to` IS NOT NULL AND `valid_to` <= "
            "`valid_from`",
            run_id);
    if (!rc)
        rc = q.rc ? q.rc : db_query_u64(h->db, h->sql.data, &bad, NULL);
    if (!rc && bad)
        rc = history_refuse_empty_interval(bad, h->as_of);
    if (!rc)
        rc = db_commit(h->db);
    if (rc) {
        db_rollback(h->db);
        return rc == ML_EUSAGE ? rc : err_prefix(rc, "merging the snapshot into %s", t->name);
    }
    return 0;
}

void history_free(struct history *h)
{
    if (!h)
        return;
    if (h->db && !db_connection_lost(h->db)) {
        struct sq q;
        buf_reset(&h->sql);
        q = (struct sq){&h->sql, 0, DB_DIALECT_MARIADB};
        sq_add(&q, "DROP TEMPORARY TABLE IF EXISTS ");
        sq_ident(&q, h->stage_name);
        if (!q.rc && db_exec_len(h->db, h->sql.data, h->sql.len))
            log_debug("dropping %s: %s", h->stage_name, err_msg());
    }
    buf_wipe(&h->sql);
    free(h);
}

/* ---- views ---- */

int history_current_name(struct buf *out, const struct stream_def *def)
{
    if (!def || !def->table || !def->table->history)
        return err_set(ML_EINVAL, "a current view needs a history stream");
    return buf_addf(out, "%s_current", def->table->name);
}

static int finish(struct buf *out, size_t mark, struct sq *q)
{
    if (q->rc)
        buf_truncate(out, mark);
    return q->rc;
}

int history_current_view(struct buf *out, const struct stream_def *def, enum db_dialect d)
{
    struct buf name = BUF_INIT;
    size_t mark = out->len;
    bool pg = d == DB_DIALECT_POSTGRES;
    struct sq q = {out, history_current_name(&name, def), d};
    sq_add(&q, pg ? "CREATE OR REPLACE VIEW " : "CREATE OR REPLACE SQL SECURITY INVOKER VIEW ");
    sq_ident(&q, name.data);
    sq_add(&q, pg ? " WITH (security_invoker = true) AS SELECT " : " AS SELECT ");
    if (!q.rc)
        column_list(&q, def->table, NULL, 0);
    sq_add(&q, ", ");
    sq_ident(&q, "valid_from");
    sq_add(&q, " FROM ");
    if (!q.rc)
        sq_ident(&q, def->table->name);
    sq_add(&q, " WHERE ");
    sq_ident(&q, "is_current");
    sq_add(&q, pg ? "" : " = 1");
    buf_release(&name);
    return finish(out, mark, &q);
}

/* ---- the warehouse-neutral rules ---- */

int history_stage_def(const struct table_def *t, struct table_def *stage, char *name, size_t size)
{
    int n = snprintf(name, size, STAGE_PREFIX "%s", t->name);
    if (n < 0 || (size_t)n >= size)
        return err_set(ML_EINVAL, "table '%s': the snapshot table's name is too long", t->name);
    *stage = *t;
    stage->name = name;
    stage->history = false;
    stage->indexes = NULL;
    stage->nindexes = 0;
    return 0;
}

bool history_deletions_held(unsigned long long rejected, unsigned long long staged)
{
    return rejected > 0 || staged == 0;
}

int history_refuse_rebuild(void)
{
    return err_set(ML_EUSAGE,
                   "--rebuild-history is not supported: snapshots are not kept "
                   "(history is only appended to, at an as-of no older than its latest)");
}

int history_refuse_as_of(const char *as_of, const char *latest)
{
    return err_set(ML_EUSAGE,
                   "as-of %s is older than the history's latest change (%s): "
                   "history is only appended to (--rebuild-history is not supported)",
                   as_of, latest);
}

int history_refuse_empty_interval(unsigned long long n, const char *as_of)
{
    return err_set(ML_EUSAGE,
                   "%llu versions changed at the as-of %s they began at: use a later --as-of", n,
                   as_of);
}
