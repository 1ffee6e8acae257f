/* history_pg.c - history_pg.h: the snapshot table, the as-of rule and the
 * merge of a history stream in PostgreSQL's SQL. */
#include "history_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "sqltext.h"
#include "banned.h"

#define PG_NOW "(now() AT TIME ZONE 'UTC')"

struct history_pg {
    struct pg *pg;
    const struct stream_def *def;
    struct table_def stage; /* the mapped table under the snapshot table's name */
    char stage_name[80];
    char as_of[HISTORY_AS_OF_LEN];
    struct buf sql;
};

static void column_list(struct sq *q, const struct table_def *t, const char *alias)
{
    for (unsigned i = 0; i < t->ncols; i++) {
        if (i)
            sq_add(q, ", ");
        sq_col_of(q, alias, t->cols[i].name);
    }
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

/* ---- the row hash: history.h's pieces, byte for byte as with MySQL ---- */

/* The canonical text of column c of row `alias`, as a text expression. */
static void canonical_text(struct sq *q, const char *alias, const struct column_def *c)
{
    switch (c->type) {
    case COL_DECIMAL:
        if (c->scale == 0)
            break; /* no fraction: nothing to trim (100 stays 100) */
        /* 1.50 and 1.500 (a widened scale) are one value */
        sq_add(q, "rtrim(rtrim(");
        sq_col_of(q, alias, c->name);
        sq_add(q, "::text, '0'), '.')");
        return;
    case COL_DATE:
        sq_add(q, "to_char(");
        sq_col_of(q, alias, c->name);
        sq_add(q, ", 'YYYY-MM-DD')");
        return;
    case COL_DATETIME:
    case COL_EPOCH_MS:
        sq_add(q, "to_char(");
        sq_col_of(q, alias, c->name);
        sq_add(q, ", 'YYYY-MM-DD HH24:MI:SS.US')");
        return;
    case COL_BOOL:
        sq_add(q, "CASE WHEN ");
        sq_col_of(q, alias, c->name);
        sq_add(q, " THEN '1' ELSE '0' END");
        return;
    default:
        break;
    }
    sq_col_of(q, alias, c->name);
    sq_add(q, "::text");
}

/* The value's bytes: a digest as stored, anything else its canonical text
 * in UTF-8 (the database's encoding). */
static void canonical_bytes(struct sq *q, const char *alias, const struct column_def *c)
{
    if (c->type == COL_DIGEST) {
        sq_col_of(q, alias, c->name);
        return;
    }
    sq_add(q, "convert_to(");
    canonical_text(q, alias, c);
    sq_add(q, ", 'UTF8')");
}

static void row_hash(struct sq *q, const struct table_def *t, const char *alias)
{
    sq_add(q, "sha256(''::bytea");
    for (unsigned i = t->nkey; i < t->ncols; i++) {
        const struct column_def *c = &t->cols[i];
        sq_add(q, " || CASE WHEN ");
        sq_col_of(q, alias, c->name);
        /* the name is an identifier (config checks): no quote inside */
        sq_addf(q, " IS NULL THEN ''::bytea ELSE convert_to('%zu:%s:%c:' || octet_length(",
                strlen(c->name), c->name, history_type_tag(c->type));
        canonical_bytes(q, alias, c);
        sq_add(q, ") || ':', 'UTF8') || ");
        canonical_bytes(q, alias, c);
        sq_add(q, " END");
    }
    sq_add(q, ")");
}

int history_pg_row_hash(struct buf *out, const struct table_def *t, const char *alias)
{
    size_t mark = out->len;
    struct sq q = {out, 0, DB_DIALECT_POSTGRES};
    row_hash(&q, t, alias);
    if (q.rc)
        buf_truncate(out, mark);
    return q.rc;
}

/* SET valid_to = as-of, is_current = false, the run's metadata (a SET
 * names the target's columns unqualified) */
static void close_set(struct sq *q)
{
    sq_add(q, " SET \"valid_to\" = $1::timestamp, \"is_current\" = false, \"load_run_id\" = "
              "$2::bigint, \"loaded_at\" = " PG_NOW);
}

int history_pg_sql(struct buf *out, const struct table_def *t, const char *stage,
                   enum history_pg_step step)
{
    size_t mark = out->len;
    struct sq q = {out, 0, DB_DIALECT_POSTGRES};
    if (!t || !t->history || !t->nkey || !stage)
        return err_set(ML_EINVAL, "a history statement needs a history table with a key");
    switch (step) {
    case HISTORY_PG_LATEST:
        sq_add(&q, "SELECT to_char(max(greatest(\"valid_from\", coalesce(\"valid_to\", "
                   "\"valid_from\"))), 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM ");
        sq_ident(&q, t->name);
        sq_add(&q, " WHERE \"valid_from\" > $1::timestamp OR \"valid_to\" > $1::timestamp");
        break;
    case HISTORY_PG_STAGE_DROP:
        sq_add(&q, "DROP TABLE IF EXISTS pg_temp.");
        sq_ident(&q, stage);
        break;
    case HISTORY_PG_STAGE_CREATE:
        /* the mapped columns as the history table types them; gone with
         * the session */
        sq_add(&q, "CREATE TEMPORARY TABLE ");
        sq_ident(&q, stage);
        sq_add(&q, " AS SELECT ");
        column_list(&q, t, NULL);
        sq_add(&q, ", \"load_run_id\", \"loaded_at\" FROM ");
        sq_ident(&q, t->name);
        sq_add(&q, " WITH NO DATA");
        break;
    case HISTORY_PG_STAGE_KEY:
        sq_add(&q, "ALTER TABLE pg_temp.");
        sq_ident(&q, stage);
        sq_add(&q, " ADD PRIMARY KEY (");
        for (unsigned i = 0; i < t->nkey; i++) {
            if (i)
                sq_add(&q, ", ");
            sq_ident(&q, t->cols[i].name);
        }
        sq_add(&q, ")");
        break;
    case HISTORY_PG_STAGED:
        sq_add(&q, "SELECT count(*) FROM pg_temp.");
        sq_ident(&q, stage);
        break;
    case HISTORY_PG_CLOSE_CHANGED:
        /* the stored hash first (cheap), then the stored row's declared
         * columns: a column that left the mapping re-versions nothing */
        sq_add(&q, "UPDATE ");
        sq_ident(&q, t->name);
        sq_add(&q, " AS h");
        close_set(&q);
        sq_add(&q, " FROM pg_temp.");
        sq_ident(&q, stage);
        sq_add(&q, " AS s WHERE ");
        key_equal(&q, t, "h", "s");
        sq_add(&q, " AND h.\"is_current\" AND h.\"row_hash\" <> ");
        row_hash(&q, t, "s");
        sq_add(&q, " AND ");
        row_hash(&q, t, "h");
        sq_add(&q, " <> ");
        row_hash(&q, t, "s");
        break;
    case HISTORY_PG_CLOSE_DELETED:
        sq_add(&q, "UPDATE ");
        sq_ident(&q, t->name);
        sq_add(&q, " AS h");
        close_set(&q);
        sq_add(&q, ", \"deleted\" = true WHERE h.\"is_current\" AND NOT EXISTS (SELECT 1 FROM "
                   "pg_temp.");
        sq_ident(&q, stage);
        sq_add(&q, " AS s WHERE ");
        key_equal(&q, t, "h", "s");
        sq_add(&q, ")");
        break;
    case HISTORY_PG_OPEN:
        sq_add(&q, "INSERT INTO ");
        sq_ident(&q, t->name);
        sq_add(&q, " (");
        column_list(&q, t, NULL);
        sq_add(&q, ", \"load_run_id\", \"loaded_at\", \"valid_from\", \"valid_to\", \"version\", "
                   "\"is_current\", \"deleted\", \"row_hash\") SELECT ");
        column_list(&q, t, "s");
        /* per snapshot key, two lookups on the primary key's prefix: its
         * highest version, and whether one is current */
        sq_add(&q, ", $2::bigint, " PG_NOW ", $1::timestamp, NULL, coalesce((SELECT "
                   "max(m.\"version\") FROM ");
        sq_ident(&q, t->name);
        sq_add(&q, " AS m WHERE ");
        key_equal(&q, t, "m", "s");
        sq_add(&q, "), 0) + 1, true, false, ");
        row_hash(&q, t, "s");
        sq_add(&q, " FROM pg_temp.");
        sq_ident(&q, stage);
        sq_add(&q, " AS s WHERE NOT EXISTS (SELECT 1 FROM ");
        sq_ident(&q, t->name);
        sq_add(&q, " AS c WHERE ");
        key_equal(&q, t, "c", "s");
        sq_add(&q, " AND c.\"is_current\")");
        break;
    case HISTORY_PG_EMPTY:
        /* this run's closures end at the as-of: one that began there too
         * would be empty */
        sq_add(&q, "SELECT count(*) FROM ");
        sq_ident(&q, t->name);
        sq_add(&q, " WHERE \"load_run_id\" = $2::bigint AND \"valid_to\" = $1::timestamp AND "
                   "\"valid_from\" >= \"valid_to\"");
        break;
    default:
        q.rc = err_set(ML_EINVAL, "unknown history statement %d", (int)step);
    }
    if (q.rc)
        buf_truncate(out, mark);
    return q.rc;
}

/* ---- a run ---- */

static int sql_of(struct history_pg *h, enum history_pg_step step)
{
    buf_reset(&h->sql);
    return history_pg_sql(&h->sql, h->def->table, h->stage_name, step);
}

/* The first column of a one-row result into out (*found false when NULL). */
static int query_value(struct history_pg *h, int n, const char *const *params, struct buf *out,
                       bool *found)
{
    struct pg_result *r = NULL;
    const char *const *row;
    int rc = pg_query_params(h->pg, h->sql.data, n, params, NULL, &r);
    *found = false;
    if (!rc && pg_result_next(r, &row, NULL) == 1 && row[0]) {
        rc = buf_adds(out, row[0]);
        *found = rc == 0;
    }
    pg_result_free(r);
    return rc;
}

static int query_count(struct history_pg *h, int n, const char *const *params,
                       unsigned long long *count)
{
    struct buf v = BUF_INIT;
    bool found = false;
    int rc = query_value(h, n, params, &v, &found);
    *count = !rc && found ? strtoull(v.data, NULL, 10) : 0;
    buf_release(&v);
    return rc;
}

int history_pg_begin(struct pg *pg, const struct stream_def *def, const char *as_of, bool rebuild,
                     struct history_pg **out)
{
    const char *p[1] = {as_of};
    struct buf latest = BUF_INIT;
    struct history_pg *h;
    bool found = false;
    int rc;
    *out = NULL;
    if (rebuild)
        return history_refuse_rebuild();
    h = calloc(1, sizeof(*h));
    if (!h)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&h->sql, 0);
    h->def = def;
    snprintf(h->as_of, sizeof(h->as_of), "%s", as_of);
    rc = history_stage_def(def->table, &h->stage, h->stage_name, sizeof(h->stage_name));
    if (!rc) {
        h->pg = pg;
        rc = sql_of(h, HISTORY_PG_LATEST);
    }
    /* history is appended to: the as-of is no older than any bound in it */
    if (!rc)
        rc = query_value(h, 1, p, &latest, &found);
    if (!rc && found)
        rc = history_refuse_as_of(h->as_of, latest.data);
    buf_release(&latest);
    if (!rc)
        rc = sql_of(h, HISTORY_PG_STAGE_DROP);
    if (!rc)
        rc = pg_exec(pg, h->sql.data);
    if (!rc)
        rc = sql_of(h, HISTORY_PG_STAGE_CREATE);
    if (!rc)
        rc = pg_exec(pg, h->sql.data);
    if (!rc)
        rc = sql_of(h, HISTORY_PG_STAGE_KEY);
    if (!rc)
        rc = pg_exec(pg, h->sql.data);
    if (rc) {
        if (rc != ML_EUSAGE)
            err_prefix(rc, "preparing the snapshot table %s", h->stage_name);
        history_pg_free(h);
        return rc;
    }
    *out = h;
    return 0;
}

const struct table_def *history_pg_stage_table(const struct history_pg *h)
{
    return &h->stage;
}

static int exec_counted(struct history_pg *h, const char *const *params, unsigned long long *n)
{
    int rc = pg_exec_params(h->pg, h->sql.data, 2, params, NULL);
    if (!rc && n)
        *n = pg_affected_rows(h->pg);
    return rc;
}

int history_pg_merge(struct history_pg *h, unsigned long long run_id, unsigned long long rejected,
                     struct history_counts *out)
{
    char run[32];
    const char *p[2] = {h->as_of, run};
    unsigned long long staged = 0, bad = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    snprintf(run, sizeof(run), "%llu", run_id);
    rc = sql_of(h, HISTORY_PG_STAGED);
    if (!rc)
        rc = query_count(h, 0, NULL, &staged);
    if (!rc)
        rc = pg_begin(h->pg);
    /* 1. current versions whose row changed: closed */
    if (!rc)
        rc = sql_of(h, HISTORY_PG_CLOSE_CHANGED);
    if (!rc)
        rc = exec_counted(h, p, &out->changed);
    /* 2. current versions whose key left the snapshot: closed, deleted */
    out->deletions_skipped = history_deletions_held(rejected, staged);
    if (!rc && !out->deletions_skipped) {
        rc = sql_of(h, HISTORY_PG_CLOSE_DELETED);
        if (!rc)
            rc = exec_counted(h, p, &out->deleted);
    }
    /* 3. keys of the snapshot without a current version: a new version */
    if (!rc)
        rc = sql_of(h, HISTORY_PG_OPEN);
    if (!rc)
        rc = exec_counted(h, p, &out->opened);
    /* an as-of equal to a changed version's start would leave it empty */
    if (!rc)
        rc = sql_of(h, HISTORY_PG_EMPTY);
    if (!rc)
        rc = query_count(h, 2, p, &bad);
    if (!rc && bad)
        rc = history_refuse_empty_interval(bad, h->as_of);
    if (!rc)
        rc = pg_commit(h->pg);
    if (rc) {
        pg_rollback(h->pg);
        return rc == ML_EUSAGE
                   ? rc
                   : err_prefix(rc, "merging the snapshot into %s", h->def->table->name);
    }
    return 0;
}

void history_pg_free(struct history_pg *h)
{
    if (!h)
        return;
    if (h->pg && !pg_connection_lost(h->pg) && !sql_of(h, HISTORY_PG_STAGE_DROP) &&
        pg_exec(h->pg, h->sql.data))
        log_debug("dropping %s: %s", h->stage_name, err_msg());
    buf_wipe(&h->sql);
    free(h);
}
