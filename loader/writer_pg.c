/* writer_pg.c - writer_pg.h: staging by COPY and one set-based upsert per
 * table and batch (or COPY straight into a table the run found empty),
 * children's tails, rejects. */
#include "writer_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddlgen.h"
#include "error.h"
#include "log.h"
#include "banned.h"

/* staging tables: one per table definition, ml_stage_<n> in the session's
 * temporary schema (never named like a warehouse table, which an
 * unqualified name would then hide) */
/* whether the table of `def` held no row at the run's first batch of it */
struct pg_seen {
    const struct table_def *def;
    bool fresh;
};

struct writer_pg {
    const struct table_def **defs;
    size_t ndefs, cap;
    struct buf sql;       /* statements: names only, never a value */
    struct buf data;      /* the COPY stream: masked rows, wiped */
    struct pg_seen *seen; /* per table and run (writer_pg_load) */
    size_t nseen, cap_seen;
};

int writer_pg_new(struct writer_pg **out)
{
    struct writer_pg *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (!w)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&w->sql, 0);
    buf_init(&w->data, 0);
    *out = w;
    return 0;
}

void writer_pg_free(struct writer_pg *w)
{
    if (!w)
        return;
    free(w->defs);
    free(w->seen);
    buf_release(&w->sql);
    buf_wipe(&w->data);
    free(w);
}

void writer_pg_session_reset(struct writer_pg *w)
{
    w->ndefs = 0;
}

static int stage_index(struct writer_pg *w, const struct table_def *def, size_t *idx)
{
    for (size_t i = 0; i < w->ndefs; i++)
        if (w->defs[i] == def) {
            *idx = i;
            return 0;
        }
    if (w->ndefs == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 8;
        const struct table_def **nd = realloc(w->defs, ncap * sizeof(*nd));
        if (!nd)
            return err_set(ML_ENOMEM, "out of memory");
        w->defs = nd;
        w->cap = ncap;
    }
    w->defs[w->ndefs] = def;
    *idx = w->ndefs++;
    return 0;
}

/* "c1","c2",... of the definition's columns, each prefixed by `qual` */
static int append_cols(struct buf *sql, const struct table_def *def, unsigned from,
                       const char *qual)
{
    int rc = 0;
    for (unsigned c = from; !rc && c < def->ncols; c++) {
        if (c > from)
            rc = buf_addc(sql, ',');
        if (!rc && qual)
            rc = buf_adds(sql, qual);
        if (!rc)
            rc = pg_append_ident(sql, def->cols[c].name);
    }
    return rc;
}

/* PostgreSQL text cannot hold a NUL byte (MySQL's can): each becomes U+FFFD,
 * counted in *nuls, and the rest of the value is kept as it is */
static int append_text(struct buf *data, const char *s, size_t len, size_t *nuls)
{
    const char *nul = memchr(s, '\0', len);
    int rc = 0;
    if (!nul)
        return pg_copy_append_field(data, s, len);
    while (!rc && nul) {
        rc = pg_copy_append_field(data, s, (size_t)(nul - s));
        if (!rc)
            rc = buf_adds(data, "\xEF\xBF\xBD");
        (*nuls)++;
        len -= (size_t)(nul - s) + 1;
        s = nul + 1;
        nul = memchr(s, '\0', len);
    }
    return rc ? rc : pg_copy_append_field(data, s, len);
}

static int append_cell(struct buf *data, const struct batch *b, const struct cell *c,
                       const struct column_def *cd, size_t *nuls)
{
    switch (c->kind) {
    case CELL_NULL:
        return pg_copy_append_field(data, NULL, 0);
    case CELL_INT:
        if (cd->type == COL_BOOL)
            return buf_adds(data, c->i ? "t" : "f");
        return buf_add_int(data, c->i);
    case CELL_TEXT:
        return append_text(data, batch_text(b, c), c->len, nuls);
    case CELL_PENDING:
        break;
    }
    return err_set(ML_EINTERNAL, "unresolved surrogate in a batch");
}

/* the staging table, created when missing (its columns: the definition's,
 * as the warehouse table types them) */
static int stage_create(struct writer_pg *w, struct pg *pg, const struct table_def *def, size_t idx)
{
    int rc;
    buf_reset(&w->sql);
    rc = buf_addf(&w->sql,
                  "CREATE TEMPORARY TABLE IF NOT EXISTS ml_stage_%zu ON COMMIT DELETE ROWS "
                  "AS SELECT ",
                  idx);
    if (!rc)
        rc = append_cols(&w->sql, def, 0, NULL);
    if (!rc)
        rc = buf_adds(&w->sql, " FROM ");
    if (!rc)
        rc = pg_append_ident(&w->sql, def->name);
    if (!rc)
        rc = buf_adds(&w->sql, " WITH NO DATA");
    return rc ? rc : pg_exec(pg, w->sql.data);
}

static int upsert_sql(struct buf *sql, const struct table_def *def, size_t idx)
{
    int rc = buf_adds(sql, "INSERT INTO ");
    if (!rc)
        rc = pg_append_ident(sql, def->name);
    if (!rc)
        rc = buf_addc(sql, '(');
    if (!rc)
        rc = append_cols(sql, def, 0, NULL);
    if (!rc)
        rc = buf_adds(sql, ",load_run_id,loaded_at) SELECT ");
    if (!rc)
        rc = append_cols(sql, def, 0, NULL);
    if (!rc)
        rc = buf_addf(sql, ",$1::bigint,(now() AT TIME ZONE 'UTC') FROM ml_stage_%zu ON CONFLICT (",
                      idx);
    for (unsigned c = 0; !rc && c < def->nkey; c++) {
        if (c)
            rc = buf_addc(sql, ',');
        if (!rc)
            rc = pg_append_ident(sql, def->cols[c].name);
    }
    /* a partitioned table's key ends with its partitioning column (ddlgen) */
    if (!rc && ddlgen_partition_key_extra(def))
        rc = buf_addc(sql, ',');
    if (!rc && ddlgen_partition_key_extra(def))
        rc = pg_append_ident(sql, def->partition->column);
    if (!rc && def->nkey >= def->ncols)
        return buf_adds(sql, ") DO NOTHING");
    if (!rc)
        rc = buf_adds(sql, ") DO UPDATE SET ");
    for (unsigned c = def->nkey; !rc && c < def->ncols; c++) {
        rc = pg_append_ident(sql, def->cols[c].name);
        if (!rc)
            rc = buf_adds(sql, "=EXCLUDED.");
        if (!rc)
            rc = pg_append_ident(sql, def->cols[c].name);
        if (!rc)
            rc = buf_addc(sql, ',');
    }
    if (!rc)
        rc = buf_adds(sql, "load_run_id=EXCLUDED.load_run_id,loaded_at=EXCLUDED.loaded_at WHERE (");
    if (!rc)
        rc = pg_append_ident(sql, def->name);
    if (!rc)
        rc = buf_adds(sql, ".");
    /* (t."a",t."b") with the table's name: qualify each column */
    for (unsigned c = def->nkey; !rc && c < def->ncols; c++) {
        if (c > def->nkey) {
            rc = buf_addc(sql, ',');
            if (!rc)
                rc = pg_append_ident(sql, def->name);
            if (!rc)
                rc = buf_addc(sql, '.');
        }
        if (!rc)
            rc = pg_append_ident(sql, def->cols[c].name);
    }
    if (!rc)
        rc = buf_adds(sql, ") IS DISTINCT FROM (");
    if (!rc)
        rc = append_cols(sql, def, def->nkey, "EXCLUDED.");
    if (!rc)
        rc = buf_addc(sql, ')');
    return rc;
}

/* DELETE FROM the staging table of every row equal to its stored row (the
 * same key, the other columns not distinct): what the upsert would leave as
 * it is, but only after locking the stored row, which in PostgreSQL writes
 * the lock into the row and the WAL; a rerun over unchanged data then
 * writes nothing at all. The upsert's own IS DISTINCT FROM stays for a row
 * that another transaction changes meanwhile. */
static int unchanged_sql(struct buf *sql, const struct table_def *def, size_t idx)
{
    int rc = buf_addf(sql, "DELETE FROM ml_stage_%zu s USING ", idx);
    if (!rc)
        rc = pg_append_ident(sql, def->name);
    if (!rc)
        rc = buf_adds(sql, " t WHERE ");
    for (unsigned c = 0; !rc && c < def->nkey; c++) {
        rc = buf_adds(sql, c ? " AND s." : "s.");
        if (!rc)
            rc = pg_append_ident(sql, def->cols[c].name);
        if (!rc)
            rc = buf_adds(sql, "=t.");
        if (!rc)
            rc = pg_append_ident(sql, def->cols[c].name);
    }
    /* a partitioned table's key ends with its partitioning column: the
     * lookup goes to the row's own partition */
    if (!rc && ddlgen_partition_key_extra(def)) {
        rc = buf_adds(sql, " AND s.");
        if (!rc)
            rc = pg_append_ident(sql, def->partition->column);
        if (!rc)
            rc = buf_adds(sql, "=t.");
        if (!rc)
            rc = pg_append_ident(sql, def->partition->column);
    }
    if (rc || def->nkey >= def->ncols)
        return rc;
    rc = buf_adds(sql, " AND (");
    if (!rc)
        rc = append_cols(sql, def, def->nkey, "t.");
    if (!rc)
        rc = buf_adds(sql, ") IS NOT DISTINCT FROM (");
    if (!rc)
        rc = append_cols(sql, def, def->nkey, "s.");
    return rc ? rc : buf_addc(sql, ')');
}

/* The rows of `t` but those with skip[r] (skip may be NULL) in COPY's text
 * format into w->data (wiped first); `suffix`, when not NULL, is appended
 * to every row after a tab. */
static int encode_rows(struct writer_pg *w, const struct batch *b, const struct table_rows *t,
                       const bool *skip, const char *suffix, size_t *nuls)
{
    const struct table_def *def = t->def;
    int rc = 0;
    buf_wipe(&w->data);
    for (size_t r = 0; !rc && r < t->nrows; r++) {
        if (skip && skip[r])
            continue;
        for (unsigned c = 0; !rc && c < def->ncols; c++) {
            if (c)
                rc = buf_addc(&w->data, '\t');
            if (!rc)
                rc = append_cell(&w->data, b, batch_cell((struct table_rows *)t, r, c),
                                 &def->cols[c], nuls);
        }
        if (!rc && suffix)
            rc = buf_addc(&w->data, '\t');
        if (!rc && suffix)
            rc = buf_adds(&w->data, suffix);
        if (!rc)
            rc = buf_addc(&w->data, '\n');
    }
    return rc;
}

int writer_pg_write(struct writer_pg *w, struct pg *pg, const struct batch *b,
                    const struct table_rows *t, const bool *skip, unsigned long long run_id,
                    unsigned long long *written)
{
    const struct table_def *def = t->def;
    char run[32];
    const char *params[1] = {run};
    size_t idx = 0, nuls = 0;
    int rc;
    *written = 0;
    if (!t->nrows)
        return 0;
    rc = stage_index(w, def, &idx);
    if (!rc)
        rc = stage_create(w, pg, def, idx);
    /* the rows, COPY's text format: a field per column, tab separated */
    if (!rc)
        rc = encode_rows(w, b, t, skip, NULL, &nuls);
    if (!rc) {
        buf_reset(&w->sql);
        rc = buf_addf(&w->sql, "COPY ml_stage_%zu (", idx);
        if (!rc)
            rc = append_cols(&w->sql, def, 0, NULL);
        if (!rc)
            rc = buf_adds(&w->sql, ") FROM STDIN");
        if (!rc)
            rc = pg_copy_from(pg, w->sql.data, w->data.data, w->data.len, NULL);
    }
    buf_wipe(&w->data);
    if (!rc && nuls)
        log_warn("writing %s: %zu text value(s) held a NUL byte, which PostgreSQL text cannot "
                 "hold: stored with U+FFFD in its place",
                 def->name, nuls);
    if (!rc && !skip) {
        buf_reset(&w->sql);
        rc = unchanged_sql(&w->sql, def, idx);
        if (!rc)
            rc = pg_exec(pg, w->sql.data);
    }
    if (!rc) {
        buf_reset(&w->sql);
        rc = upsert_sql(&w->sql, def, idx);
    }
    snprintf(run, sizeof(run), "%llu", run_id);
    if (!rc)
        rc = pg_exec_params(pg, w->sql.data, 1, params, NULL);
    if (!rc)
        *written = pg_affected_rows(pg);
    /* the staging table empty again for the next table's batch in this
     * transaction (it is emptied at commit anyway). DELETE, not TRUNCATE: a
     * temporary table's DELETE writes no WAL and changes no catalog row,
     * where TRUNCATE gives the table a new file in pg_class every batch */
    if (!rc) {
        buf_reset(&w->sql);
        rc = buf_addf(&w->sql, "DELETE FROM ml_stage_%zu", idx);
        if (!rc)
            rc = pg_exec(pg, w->sql.data);
    }
    return rc ? err_prefix(rc, "writing %s", def->name) : 0;
}

int writer_pg_fresh(struct writer_pg *w, struct pg *pg, const struct table_def *def, bool *fresh)
{
    struct buf one = BUF_INIT;
    bool found = false;
    int rc;
    for (size_t i = 0; i < w->nseen; i++)
        if (w->seen[i].def == def) {
            *fresh = w->seen[i].fresh;
            return 0;
        }
    if (w->nseen == w->cap_seen) {
        size_t ncap = w->cap_seen ? w->cap_seen * 2 : 8;
        struct pg_seen *ns = realloc(w->seen, ncap * sizeof(*ns));
        if (!ns)
            return err_set(ML_ENOMEM, "out of memory");
        w->seen = ns;
        w->cap_seen = ncap;
    }
    buf_reset(&w->sql);
    rc = buf_adds(&w->sql, "SELECT 1 FROM ");
    if (!rc)
        rc = pg_append_ident(&w->sql, def->name);
    if (!rc)
        rc = buf_adds(&w->sql, " LIMIT 1");
    if (!rc)
        rc = pg_query_value(pg, w->sql.data, &one, &found);
    buf_release(&one);
    if (rc)
        return err_prefix(rc, "looking for rows in %s", def->name);
    *fresh = !found;
    w->seen[w->nseen].def = def;
    w->seen[w->nseen++].fresh = *fresh;
    log_debug("%s %s", def->name,
              *fresh ? "is empty: this run's rows are copied straight into it"
                     : "holds rows: they are staged and upserted");
    return 0;
}

int writer_pg_load(struct writer_pg *w, struct pg *pg, const struct batch *b,
                   const struct table_rows *t, unsigned long long run_id,
                   unsigned long long *written, bool *direct)
{
    const struct table_def *def = t->def;
    char run[40];
    size_t nuls = 0;
    bool fresh = false;
    unsigned long long copied = 0;
    int rc;
    *written = 0;
    if (direct)
        *direct = false;
    if (!t->nrows)
        return 0;
    rc = writer_pg_fresh(w, pg, def, &fresh);
    if (rc || !fresh)
        return rc ? rc : writer_pg_write(w, pg, b, t, NULL, run_id, written);
    /* load_run_id and loaded_at as the upsert stamps them: the run, and the
     * transaction's start in UTC */
    {
        struct buf stamp = BUF_INIT;
        bool got = false;
        rc = pg_query_value(pg, "SELECT (now() AT TIME ZONE 'UTC')::text", &stamp, &got);
        if (!rc && !got)
            rc = err_set(ML_EDB, "the server gave no time");
        snprintf(run, sizeof(run), "%llu\t", run_id);
        buf_reset(&w->sql);
        if (!rc)
            rc = buf_addf(&w->sql, "%s%s", run, stamp.data);
        buf_release(&stamp);
        if (!rc)
            rc = encode_rows(w, b, t, NULL, w->sql.data, &nuls);
    }
    /* a key this run wrote in an earlier batch (a record the source served
     * twice) makes the COPY fail: back to the savepoint, and this batch is
     * upserted */
    if (!rc)
        rc = pg_exec(pg, "SAVEPOINT ml_direct");
    if (!rc) {
        buf_reset(&w->sql);
        rc = buf_adds(&w->sql, "COPY ");
        if (!rc)
            rc = pg_append_ident(&w->sql, def->name);
        if (!rc)
            rc = buf_addc(&w->sql, '(');
        if (!rc)
            rc = append_cols(&w->sql, def, 0, NULL);
        if (!rc)
            rc = buf_adds(&w->sql, ",load_run_id,loaded_at) FROM STDIN");
        if (!rc) {
            rc = pg_copy_from(pg, w->sql.data, w->data.data, w->data.len, &copied);
            if (rc && strcmp(pg_sqlstate(pg), "23505") == 0) {
                buf_wipe(&w->data);
                rc = pg_exec(pg, "ROLLBACK TO SAVEPOINT ml_direct");
                if (!rc) {
                    log_debug("%s: a key of this batch was written earlier in the run: the "
                              "batch is upserted",
                              def->name);
                    return writer_pg_write(w, pg, b, t, NULL, run_id, written);
                }
            }
        }
        if (!rc)
            rc = pg_exec(pg, "RELEASE SAVEPOINT ml_direct");
    }
    buf_wipe(&w->data);
    if (!rc && nuls)
        log_warn("writing %s: %zu text value(s) held a NUL byte, which PostgreSQL text cannot "
                 "hold: stored with U+FFFD in its place",
                 def->name, nuls);
    if (!rc)
        *written = copied;
    if (!rc && direct)
        *direct = true;
    return rc ? err_prefix(rc, "writing %s", def->name) : 0;
}

int writer_pg_trim_children(struct pg *pg, struct buf *scratch, const struct batch *b, unsigned ci)
{
    const struct table_def *t = batch_def(b)->children[ci].table;
    size_t n = 0;
    const struct child_count *cc = batch_children(b, ci, &n);
    struct buf keys = BUF_INIT, counts = BUF_INIT;
    const char *params[2];
    int rc = 0;
    if (!t || !n)
        return 0;
    rc = buf_addc(&keys, '{');
    if (!rc)
        rc = buf_addc(&counts, '{');
    for (size_t i = 0; !rc && i < n; i++) {
        rc = buf_addf(&keys, "%s%lld", i ? "," : "", cc[i].parent_key);
        if (!rc)
            rc = buf_addf(&counts, "%s%u", i ? "," : "", cc[i].count);
    }
    if (!rc)
        rc = buf_addc(&keys, '}');
    if (!rc)
        rc = buf_addc(&counts, '}');
    buf_reset(scratch);
    if (!rc)
        rc = buf_adds(scratch, "DELETE FROM ");
    if (!rc)
        rc = pg_append_ident(scratch, t->name);
    if (!rc)
        rc = buf_adds(scratch, " c USING unnest($1::bigint[], $2::bigint[]) AS x(k, n) WHERE c.");
    if (!rc)
        rc = pg_append_ident(scratch, t->cols[0].name);
    if (!rc)
        rc = buf_adds(scratch, " = x.k AND c.");
    if (!rc)
        rc = pg_append_ident(scratch, t->cols[1].name);
    if (!rc)
        rc = buf_adds(scratch, " >= x.n");
    params[0] = keys.data;
    params[1] = counts.data;
    if (!rc)
        rc = pg_exec_params(pg, scratch->data, 2, params, NULL);
    buf_release(&keys);
    buf_release(&counts);
    return rc ? err_prefix(rc, "trimming %s", t->name) : 0;
}

/* ---- exactly once: the batch's claims in the processed table ---- */

/* s[0..len) as an element of a text[] literal: double-quoted, `"` and `\`
 * escaped; a NUL byte cannot be sent (ML_EINVAL) */
static int append_array_text(struct buf *out, const char *s, size_t len)
{
    int rc = buf_addc(out, '"');
    for (size_t i = 0; !rc && i < len; i++) {
        if (s[i] == '\0')
            return err_set(ML_EINVAL, "a record key holds a NUL byte");
        if (s[i] == '"' || s[i] == '\\')
            rc = buf_addc(out, '\\');
        if (!rc)
            rc = buf_addc(out, s[i]);
    }
    return rc ? rc : buf_addc(out, '"');
}

struct claimed {
    const char *key;
    size_t len;
    bool used;
};

static int claimed_cmp(const void *x, const void *y)
{
    const struct claimed *a = x, *b = y;
    int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

int writer_pg_claim(struct pg *pg, struct buf *scratch, struct batch *b, unsigned long long run_id,
                    size_t *ndropped)
{
    const struct stream_def *def = batch_def(b);
    struct batch_claim *cl = NULL;
    struct claimed *got = NULL;
    bool *dropped = NULL;
    struct buf keys = BUF_INIT, outcomes = BUF_INIT;
    struct pg_result *r = NULL;
    size_t n = 0, ngot = 0;
    char run[32];
    int rc = batch_claims(b, &cl, &n);
    *ndropped = 0;
    if (rc || n == 0)
        goto out;
    snprintf(run, sizeof(run), "%llu", run_id);
    dropped = calloc(n, sizeof(bool));
    got = calloc(n, sizeof(*got));
    if (!dropped || !got)
        rc = err_set(ML_ENOMEM, "out of memory claiming records");
    if (!rc)
        rc = buf_addc(&keys, '{');
    if (!rc)
        rc = buf_addc(&outcomes, '{');
    for (size_t i = 0; !rc && i < n; i++) {
        if (i)
            rc = buf_addc(&keys, ',');
        if (!rc)
            rc = append_array_text(&keys, batch_claim_key(&cl[i]), cl[i].len);
        if (!rc)
            rc = buf_adds(&outcomes, i ? (cl[i].reject ? ",rejected" : ",loaded")
                                       : (cl[i].reject ? "rejected" : "loaded"));
    }
    if (!rc)
        rc = buf_addc(&keys, '}');
    if (!rc)
        rc = buf_addc(&outcomes, '}');
    /* in the claims' (sorted) order: overlapping loaders lock keys alike; a
     * key another transaction holds waits for it, then counts as its */
    buf_reset(scratch);
    if (!rc)
        rc = buf_adds(scratch, "INSERT INTO ");
    if (!rc)
        rc = pg_append_ident(scratch, def->processed_table);
    if (!rc)
        rc =
            buf_adds(scratch, " (stream, record_id, run_id, outcome, processed_at) SELECT $1, x.k, "
                              "$2::bigint, x.o, (now() AT TIME ZONE 'UTC') FROM unnest($3::text[], "
                              "$4::text[]) WITH ORDINALITY AS x(k, o, n) ORDER BY x.n "
                              "ON CONFLICT (stream, record_id) DO NOTHING RETURNING record_id");
    if (!rc) {
        const char *params[4] = {def->name, run, keys.data, outcomes.data};
        rc = pg_query_params(pg, scratch->data, 4, params, NULL, &r);
    }
    if (!rc) {
        const char *const *row;
        const size_t *lens;
        while (ngot < n && pg_result_next(r, &row, &lens) == 1)
            if (row[0]) {
                got[ngot].key = row[0];
                got[ngot].len = lens[0];
                ngot++;
            }
        qsort(got, ngot, sizeof(*got), claimed_cmp);
        /* a claim is this transaction's when its key was inserted, once:
         * the first claim of a key takes it, later ones are dropped */
        for (size_t i = 0; i < n; i++) {
            struct claimed k = {batch_claim_key(&cl[i]), cl[i].len, false};
            struct claimed *hit = bsearch(&k, got, ngot, sizeof(*got), claimed_cmp);
            if (hit && !hit->used)
                hit->used = true;
            else
                dropped[i] = true;
        }
        rc = batch_drop_claims(b, cl, n, dropped, ndropped);
    } else {
        err_prefix(rc, "recording processed records in %s", def->processed_table);
    }
out:
    pg_result_free(r);
    buf_release(&keys);
    buf_release(&outcomes);
    free(cl);
    free(got);
    free(dropped);
    return rc;
}
