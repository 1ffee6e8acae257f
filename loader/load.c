#include "load.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "bulk.h"
#include "conn.h"
#include "db.h"
#include "erase.h"
#include "error.h"
#include "lease.h"
#include "retry.h"
#include "log.h"
#include "mapping.h"
#include "pii_key.h"
#include "runs.h"
#include "schema.h"
#include "source.h"
#include "sqlgen.h"
#include "surrogate.h"
#include "version.h"
#include "banned.h"

/* Statements are cut at about this size, well under max_allowed_packet. */
#define STMT_TARGET (4u << 20)

/* One stop flag for the whole process: retry.h's, which also ends every
 * wait of the retry policy (HTTP, SQS, database). */
#define stop_requested retry_stop_requested()

void load_request_stop(void)
{
    retry_request_stop();
}

struct run_ctx {
    const struct config *cfg;
    struct db *db;
    struct surrogates *sur;
    struct bulk *bulk; /* LOAD DATA LOCAL path (load.method), see bulk.h */
    unsigned long long run_id;
    struct map_options mopt;
    struct buf sql;
    /* the current stream's records superseded by a later one of the same
     * key, and records carrying fields outside the mapping (mapping.h) */
    unsigned long long duplicates, unknown_records, invalid_nulled;
    bool follow; /* load_options.follow */
    char lease_token[LEASE_TOKEN_HEX + 1];
    struct lease_heartbeat *heartbeat; /* renews the run's lease while it runs */
    /* erased data subjects (erase.h): their records are stored nowhere,
     * only counted; `erased` waits for the next batch's commit */
    struct erase_set *erased_set;
    unsigned long long erased, erased_total;
    unsigned failovers; /* moves to another warehouse host so far */
    /* records per batch: load.batch_size, lowered under the cluster's
     * writeset limits (writeset_batch_limit) */
    unsigned long long batch_records;
    uint64_t rng;                  /* jitter of the retry waits (retry.h) */
    unsigned long long tx_retries; /* whole-transaction retries (tx_retry) */
};

/* With `warehouse.hosts` (a cluster), a batch's transaction must stay under
 * the writeset limits the server reports: wsrep_max_ws_rows (a record may
 * write a main row, child rows, surrogate and bookkeeping rows: a quarter
 * of the limit in records) and wsrep_max_ws_size (at most 16 KiB of
 * writeset per record assumed). A limit of 0 or none reported changes
 * nothing. */
#define WS_ROWS_PER_RECORD  4
#define WS_BYTES_PER_RECORD 16384

static void writeset_batch_limit(struct run_ctx *ctx)
{
    unsigned long long rows = 0, bytes = 0, limit = ctx->cfg->load.batch_size;
    ctx->batch_records = limit;
    if (!ctx->cfg->warehouse.nhosts)
        return;
    db_writeset_limits(ctx->db, &rows, &bytes);
    if (rows && rows / WS_ROWS_PER_RECORD < limit)
        limit = rows / WS_ROWS_PER_RECORD ? rows / WS_ROWS_PER_RECORD : 1;
    if (bytes && bytes / WS_BYTES_PER_RECORD < limit)
        limit = bytes / WS_BYTES_PER_RECORD ? bytes / WS_BYTES_PER_RECORD : 1;
    if (limit < ctx->batch_records)
        log_info("batches of at most %llu records (load.batch_size %u), under the cluster's "
                 "writeset limits (wsrep_max_ws_rows %llu, wsrep_max_ws_size %llu)",
                 limit, ctx->cfg->load.batch_size, rows, bytes);
    ctx->batch_records = limit;
}

/* ---- surrogates of one batch ---- */

static int resolve_table(struct run_ctx *ctx, struct batch *b, struct table_rows *t,
                         unsigned long long *created)
{
    const char **values = NULL;
    size_t *lens = NULL;
    unsigned long long *ids = NULL;
    struct cell **cells = NULL;
    int rc = 0;
    if (!t->def || t->nrows == 0)
        return 0;
    values = malloc(t->nrows * sizeof(*values));
    lens = malloc(t->nrows * sizeof(*lens));
    ids = malloc(t->nrows * sizeof(*ids));
    cells = malloc(t->nrows * sizeof(*cells));
    if (!values || !lens || !ids || !cells) {
        rc = err_set(ML_ENOMEM, "out of memory resolving surrogates");
        goto out;
    }
    for (unsigned col = 0; col < t->def->ncols && !rc; col++) {
        const struct column_def *cd = &t->def->cols[col];
        size_t n = 0;
        if (cd->type != COL_SURROGATE)
            continue;
        for (size_t r = 0; r < t->nrows; r++) {
            struct cell *c = batch_cell(t, r, col);
            if (c->kind != CELL_PENDING)
                continue;
            values[n] = batch_text(b, c);
            lens[n] = c->len;
            cells[n] = c;
            n++;
        }
        rc = surrogate_resolve_batch(ctx->sur, ctx->db, cd->kind, values, lens, n, ids, created);
        for (size_t i = 0; !rc && i < n; i++) {
            cells[i]->kind = CELL_INT;
            cells[i]->i = (long long)ids[i];
        }
    }
out:
    free(values);
    free(lens);
    free(ids);
    free(cells);
    return rc;
}

/* ---- SQL of one batch ---- */

static int append_cell(struct run_ctx *ctx, const struct batch *b, const struct cell *c)
{
    switch (c->kind) {
    case CELL_NULL:
        return buf_adds(&ctx->sql, "NULL");
    case CELL_INT:
        return buf_addf(&ctx->sql, "%lld", c->i);
    case CELL_TEXT:
        return db_append_quoted(ctx->db, &ctx->sql, batch_text(b, c), c->len);
    case CELL_PENDING:
        break;
    }
    return err_set(ML_EINTERNAL, "unresolved surrogate in a batch");
}

/* Writes the rows of `t` inside the batch's transaction: LOAD DATA LOCAL
 * (bulk.c) unless the run uses multi-row INSERTs (load.method insert, or the
 * server refused local infile). */
static int upsert_rows(struct run_ctx *ctx, const struct batch *b, struct table_rows *t)
{
    size_t r = 0;
    enum db_dialect dialect = db_dialect(ctx->db);
    int brc = bulk_upsert(ctx->bulk, ctx->db, b, t, ctx->run_id);
    if (brc != BULK_FALLBACK)
        return brc;
    while (r < t->nrows) {
        int rc;
        buf_wipe(&ctx->sql);
        rc = sqlgen_upsert_head(&ctx->sql, t->def);
        for (size_t first = r; !rc && r < t->nrows && (r == first || ctx->sql.len < STMT_TARGET);
             r++) {
            rc = buf_adds(&ctx->sql, r == first ? "(" : ",(");
            for (unsigned col = 0; !rc && col < t->def->ncols; col++) {
                rc = append_cell(ctx, b, batch_cell(t, r, col));
                if (!rc)
                    rc = buf_addc(&ctx->sql, ',');
            }
            if (!rc)
                rc = buf_addf(&ctx->sql, "%llu,UTC_TIMESTAMP(3))", ctx->run_id);
        }
        if (!rc)
            rc = sqlgen_upsert_tail(&ctx->sql, t->def, dialect);
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
        if (rc)
            return err_prefix(rc, "writing %s", t->def->name);
    }
    return 0;
}

static int cmp_child_key(const void *a, const void *b)
{
    long long x = ((const struct child_count *)a)->parent_key;
    long long y = ((const struct child_count *)b)->parent_key;
    return x < y ? -1 : x > y;
}

/* Deletes the rows of child `ci` past each parent's new end (a subscription
 * array that shrank); the other child tables are left alone. A probe first asks, for the batch's
 * parents, how far their existing rows go (one indexed IN lookup); only parents with rows at or
 * past their new count are trimmed. On a first load and on a rerun of unchanged data that is
 * nobody, and the costly per-parent range DELETE is skipped (it measured a quarter of the server's
 * time on a 1M-user first load). The batch's parent keys are unique (batch_compact). */
static int delete_child_tails(struct run_ctx *ctx, const struct batch *b, unsigned ci)
{
    const struct table_def *t = batch_def(b)->children[ci].table;
    size_t nchildren;
    const struct child_count *children = batch_children(b, ci, &nchildren);
    struct child_count *sorted = NULL, *trim = NULL;
    size_t ntrim = 0;
    int rc = 0;
    if (!t || nchildren == 0)
        return 0;
    sorted = malloc(nchildren * sizeof(*sorted));
    trim = malloc(nchildren * sizeof(*trim));
    if (!sorted || !trim) {
        rc = err_set(ML_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(sorted, children, nchildren * sizeof(*sorted));
    qsort(sorted, nchildren, sizeof(*sorted), cmp_child_key);
    for (size_t i = 0; !rc && i < nchildren;) {
        struct db_result *r;
        const char *const *row;
        buf_reset(&ctx->sql);
        rc = buf_addf(&ctx->sql, "SELECT `%s`, MAX(`%s`) FROM `%s` WHERE `%s` IN (",
                      t->cols[0].name, t->cols[1].name, t->name, t->cols[0].name);
        for (size_t first = i; !rc && i < nchildren && i - first < 5000; i++)
            rc = buf_addf(&ctx->sql, "%s%lld", i == first ? "" : ",", sorted[i].parent_key);
        if (!rc)
            rc = buf_addf(&ctx->sql, ") GROUP BY `%s`", t->cols[0].name);
        if (!rc)
            rc = db_query(ctx->db, ctx->sql.data, &r);
        if (rc)
            break;
        while (db_result_next(r, &row, NULL) == 1) {
            struct child_count key = {0, 0}, *hit;
            if (!row[0] || !row[1])
                continue;
            key.parent_key = strtoll(row[0], NULL, 10);
            hit = bsearch(&key, sorted, nchildren, sizeof(*sorted), cmp_child_key);
            if (hit && strtoull(row[1], NULL, 10) >= hit->count)
                trim[ntrim++] = *hit;
        }
        db_result_free(r);
    }
    for (size_t i = 0; !rc && i < ntrim;) {
        buf_reset(&ctx->sql);
        rc = buf_addf(&ctx->sql, "DELETE FROM `%s` WHERE ", t->name);
        for (size_t first = i; !rc && i < ntrim && i - first < 1000; i++)
            rc = buf_addf(&ctx->sql, "%s(`%s`=%lld AND `%s`>=%u)", i == first ? "" : " OR ",
                          t->cols[0].name, trim[i].parent_key, t->cols[1].name, trim[i].count);
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
    }
out:
    free(sorted);
    free(trim);
    return rc ? err_prefix(rc, "trimming %s", t->name) : 0;
}

static int insert_rejects(struct run_ctx *ctx, const struct batch *b, const char *stream)
{
    size_t i = 0, nrejects = batch_counts(b).rejected;
    while (i < nrejects) {
        int rc;
        buf_reset(&ctx->sql);
        rc =
            buf_adds(&ctx->sql, "INSERT INTO load_rejects (run_id, stream, source_ref, record_key, "
                                "reason, payload, rejected_at) VALUES ");
        for (size_t first = i; !rc && i < nrejects && (i == first || ctx->sql.len < STMT_TARGET);
             i++) {
            const struct reject *r = batch_reject(b, i);
            const char *key = batch_rej_text(b, r->record_key);
            const char *ref = batch_rej_text(b, r->source_ref);
            const char *reason = batch_rej_text(b, r->reason);
            const char *payload = batch_rej_text(b, r->payload);
            rc = buf_addf(&ctx->sql, "%s(%llu,", i == first ? "" : ",", ctx->run_id);
            if (!rc)
                rc = db_append_quoted(ctx->db, &ctx->sql, stream, strlen(stream));
            if (!rc)
                rc = buf_addc(&ctx->sql, ',');
            if (!rc)
                rc = db_append_quoted(ctx->db, &ctx->sql, ref,
                                      strlen(ref) > 2048 ? 2048 : strlen(ref));
            if (!rc)
                rc = buf_addc(&ctx->sql, ',');
            if (!rc)
                rc = key ? db_append_quoted(ctx->db, &ctx->sql, key, strlen(key))
                         : buf_adds(&ctx->sql, "NULL");
            if (!rc)
                rc = buf_addc(&ctx->sql, ',');
            if (!rc)
                rc = db_append_quoted(ctx->db, &ctx->sql, reason,
                                      strlen(reason) > 2048 ? 2048 : strlen(reason));
            if (!rc)
                rc = buf_addc(&ctx->sql, ',');
            if (!rc)
                rc = db_append_quoted(ctx->db, &ctx->sql, payload, strlen(payload));
            if (!rc)
                rc = buf_adds(&ctx->sql, ",UTC_TIMESTAMP(3))");
        }
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
        if (rc)
            return err_prefix(rc, "writing load_rejects");
    }
    return 0;
}

/* Whole-transaction retry. After a failure the error table classes
 * DB_ERR_RETRY_TX (deadlock or Galera certification conflict 1213, lock
 * wait timeout 1205, a node not ready 1047, TiDB write conflicts) the server
 * has rolled back the statement or the whole transaction; the caller has
 * rolled back the rest, and the batch is written again from the start,
 * never from the failed statement. At most TX_ATTEMPTS attempts in all,
 * waiting as the retry policy says (retry.h: 100 ms doubling, equal jitter
 * from the run's own random source), so loaders that collided do not
 * collide again in step; a stop request ends the wait. Returns true when
 * the caller should try again; false leaves err_msg() saying why not. */
#define TX_ATTEMPTS 5

static bool tx_retry(struct run_ctx *ctx, unsigned attempt, const char *stream)
{
    static const struct retry_policy policy = {
        .retries = TX_ATTEMPTS - 1, .base_ms = 100, .max_ms = 1600};
    unsigned ms;
    if (!db_error_is_transient(ctx->db) || stop_requested)
        return false;
    if (attempt >= TX_ATTEMPTS) {
        err_prefix(ML_EDB, "batch transaction failed %u times", attempt);
        return false;
    }
    ms = retry_backoff_ms(&policy, attempt, retry_rng_next(&ctx->rng));
    ctx->tx_retries++;
    log_warn("stream '%s': %s; retrying the whole batch transaction in %u ms (attempt %u of %u)",
             stream, err_msg(), ms, attempt + 1, TX_ATTEMPTS);
    return retry_sleep_ms(ms) == 0;
}

/* Failover. When the connection is lost during a batch (a node of the
 * cluster went away), and warehouse.failovers allows another, connects
 * again through the host list (conn_warehouse: the first usable host), moves
 * the run's lease to the new connection and returns true: the caller redoes
 * the whole batch, which is idempotent (upserts keyed by the records' keys,
 * surrogates by digest, claims by record key). Otherwise false with err_msg()
 * saying why; the old handle stays (lost) so that end_run() can try once
 * more to record the failure. */
static bool failover(struct run_ctx *ctx, const char *stream)
{
    char why[1024];
    struct db *db = NULL;
    int rc;
    if (!db_connection_lost(ctx->db) || stop_requested)
        return false;
    if (ctx->failovers >= ctx->cfg->warehouse.failovers) {
        if (ctx->cfg->warehouse.failovers)
            err_prefix(ML_EDB, "after %u failover(s) (warehouse.failovers)", ctx->failovers);
        return false;
    }
    snprintf(why, sizeof(why), "%s", err_msg());
    ctx->failovers++;
    log_warn("stream '%s': lost the warehouse connection (%s); failing over (%u of %u) and "
             "redoing the batch",
             stream, why, ctx->failovers, ctx->cfg->warehouse.failovers);
    rc = conn_warehouse(ctx->cfg, &db);
    if (!rc)
        rc = lease_move(db, &ctx->sql, ctx->run_id, ctx->cfg->load.heartbeat_interval,
                        ctx->lease_token);
    if (rc) {
        char again[1024];
        snprintf(again, sizeof(again), "%s", err_msg());
        db_close(db);
        err_set(rc, "%s; failing over: %s", why, again);
        return false;
    }
    db_close(ctx->db);
    ctx->db = db;
    log_info("run %llu: failed over to another warehouse host; lease moved to its connection",
             ctx->run_id);
    return true;
}

/* ---- exactly once over an at-least-once source (stream_def.processed_table) ---- */

struct claim {
    const char *key;
    size_t len;
    bool reject;  /* a reject (else a main row) */
    size_t index; /* its row or reject number */
    char num[24]; /* the key's text when it is an integer */
};

static const char *claim_key(const struct claim *c)
{
    return c->key ? c->key : c->num; /* num: inside the element, which qsort moves */
}

static int claim_cmp(const void *x, const void *y)
{
    const struct claim *a = x, *b = y;
    int c = memcmp(claim_key(a), claim_key(b), a->len < b->len ? a->len : b->len);
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* Inside the batch's transaction: records the key of every row and reject
 * in the stream's processed table, and drops from the batch those whose key
 * is there already (an earlier transaction, perhaps another loader's, has
 * committed them: a redelivered message changes nothing). INSERT IGNORE
 * waits for a concurrent transaction holding the same key and then sees its
 * outcome. Keys are claimed in sorted order, so two loaders claiming
 * overlapping keys take their locks in the same order. */
static int claim_records(struct run_ctx *ctx, struct batch *b)
{
    const struct stream_def *def = batch_def(b);
    struct table_rows *rows = batch_rows(b, BATCH_MAIN);
    size_t nrejects = batch_counts(b).rejected;
    size_t n = 0, total = rows->nrows + nrejects, dropped = 0;
    struct claim *cl = calloc(total ? total : 1, sizeof(*cl));
    bool *drop_rows = calloc(rows->nrows ? rows->nrows : 1, sizeof(bool));
    bool *drop_rej = calloc(nrejects ? nrejects : 1, sizeof(bool));
    int rc = 0;
    if (!cl || !drop_rows || !drop_rej) {
        rc = err_set(ML_ENOMEM, "out of memory claiming records");
        goto out;
    }
    for (size_t r = 0; r < rows->nrows; r++) {
        const struct cell *c = batch_cell(rows, r, 0);
        struct claim *x = &cl[n];
        if (c->kind == CELL_TEXT) {
            x->key = batch_text(b, c);
            x->len = c->len;
        } else if (c->kind == CELL_INT) {
            snprintf(x->num, sizeof(x->num), "%lld", c->i);
            x->len = strlen(x->num);
        } else {
            continue;
        }
        x->index = r;
        n++;
    }
    for (size_t i = 0; i < nrejects; i++) {
        const char *k = batch_rej_text(b, batch_reject(b, i)->record_key);
        if (!k)
            continue; /* no readable key: cannot be recognised when redelivered */
        cl[n].key = k;
        cl[n].len = strlen(k);
        cl[n].reject = true;
        cl[n].index = i;
        n++;
    }
    qsort(cl, n, sizeof(*cl), claim_cmp);
    for (size_t i = 0; !rc && i < n; i++) {
        buf_reset(&ctx->sql);
        rc = buf_adds(&ctx->sql, "INSERT IGNORE INTO ");
        if (!rc)
            rc = db_append_ident(&ctx->sql, def->processed_table);
        if (!rc)
            rc =
                buf_adds(&ctx->sql, " (stream, record_id, run_id, outcome, processed_at) VALUES (");
        if (!rc)
            rc = db_append_quoted(ctx->db, &ctx->sql, def->name, strlen(def->name));
        if (!rc)
            rc = buf_addc(&ctx->sql, ',');
        if (!rc)
            rc = db_append_quoted(ctx->db, &ctx->sql, claim_key(&cl[i]), cl[i].len);
        if (!rc)
            rc = buf_addf(&ctx->sql, ",%llu,'%s',UTC_TIMESTAMP(3))", ctx->run_id,
                          cl[i].reject ? "rejected" : "loaded");
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
        if (!rc && db_affected_rows(ctx->db) == 0) {
            if (cl[i].reject)
                drop_rej[cl[i].index] = true;
            else
                drop_rows[cl[i].index] = true;
            dropped++;
        }
    }
    if (rc)
        err_prefix(rc, "recording processed records in %s", def->processed_table);
    if (!rc && dropped) {
        rc = batch_drop(b, drop_rows, drop_rej);
        log_info("%zu records already processed by an earlier transaction (redelivered): "
                 "skipped",
                 dropped);
    }
out:
    free(cl);
    free(drop_rows);
    free(drop_rej);
    return rc;
}

static int flush_batch(struct run_ctx *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total)
{
    const unsigned ntables = batch_ntables(b);
    struct batch_counts n = batch_counts(b);
    unsigned long long created = 0;
    unsigned attempt = 0;
    int rc;
    if (n.records == 0 && pages == 0 && ctx->erased == 0)
        return 0;
    /* the last record of each key wins (mapping.h): drop superseded rows */
    rc = batch_compact(b);
    if (rc)
        return rc;
    /* Everything from here to the commit is replayed, whole, after a
     * transient failure (tx_retry): it must only read the batch, which stays
     * intact until batch_reset() after the commit. Surrogates resolved by an
     * earlier attempt are committed and no longer pending, so `created`
     * counts each new surrogate once. */
again:
    attempt++;
    rc = 0;
    for (unsigned t = 0; !rc && t < ntables; t++)
        rc = resolve_table(ctx, b, batch_rows(b, t), &created);
    if (!rc)
        rc = db_begin(ctx->db);
    /* drops records already committed (final: safe to replay from here) */
    if (!rc && batch_def(b)->processed_table)
        rc = claim_records(ctx, b);
    for (unsigned c = 0; !rc && c < batch_def(b)->nchildren; c++)
        rc = delete_child_tails(ctx, b, c);
    /* the main table, then each child table */
    for (unsigned t = 0; !rc && t < ntables; t++)
        if (batch_rows(b, t)->nrows)
            rc = upsert_rows(ctx, b, batch_rows(b, t));
    if (!rc)
        rc = insert_rejects(ctx, b, stream);
    n = batch_counts(b); /* claim_records may have dropped records */
    if (!rc) {
        buf_reset(&ctx->sql);
        rc = buf_addf(&ctx->sql,
                      "UPDATE load_run_streams SET pages=pages+%llu, fetched=fetched+%llu, "
                      "loaded=loaded+%zu, rejected=rejected+%zu, "
                      "surrogates_created=surrogates_created+%llu, duplicates=duplicates+%zu, "
                      "unknown_fields=unknown_fields+%zu, invalid_nulled=invalid_nulled+%zu, "
                      "erased=erased+%llu WHERE run_id=%llu AND stream=",
                      pages, (unsigned long long)n.records + ctx->erased, n.accepted, n.rejected,
                      created, n.duplicates, n.unknown_records, n.invalid_nulled, ctx->erased,
                      ctx->run_id);
        if (!rc)
            rc = db_append_quoted(ctx->db, &ctx->sql, stream, strlen(stream));
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
    }
    if (!rc)
        rc = db_commit(ctx->db);
    if (rc) {
        db_rollback(ctx->db);
        if (tx_retry(ctx, attempt, stream))
            goto again;
        if (failover(ctx, stream)) {
            attempt = 0;
            goto again;
        }
        if (db_error_class(ctx->db) == DB_ERR_SPLIT)
            return err_prefix(rc,
                              "stream '%s': a batch of %zu records is too large a transaction "
                              "for the server (lower load.batch_size)",
                              stream, n.records);
        return rc;
    }
    total->pages += pages;
    total->fetched += n.records + ctx->erased;
    ctx->erased_total += ctx->erased;
    ctx->erased = 0;
    total->loaded += n.accepted;
    total->rejected += n.rejected;
    total->surrogates_created += created;
    ctx->duplicates += n.duplicates;
    ctx->unknown_records += n.unknown_records;
    ctx->invalid_nulled += n.invalid_nulled;
    batch_reset(b);
    return 0;
}

/* ---- one stream ---- */

static int load_stream(struct run_ctx *ctx, const struct config_stream *st)
{
    const struct stream_def *def = st->def;
    struct source *src = NULL;
    struct batch *b = NULL;
    struct load_stream_counts total = {0};
    unsigned long long pages = 0;
    struct buf ref = BUF_INIT;
    json_doc *rec_doc = NULL; /* one record at a time, its memory reused */
    int rc;

    if (!def)
        return err_set(ML_ECONFIG, "stream '%s': unknown mapping '%s'", st->name,
                       st->mapping ? st->mapping : st->name);

    buf_reset(&ctx->sql);
    rc = buf_addf(&ctx->sql, "INSERT INTO load_run_streams (run_id, stream) VALUES (%llu,",
                  ctx->run_id);
    if (!rc)
        rc = db_append_quoted(ctx->db, &ctx->sql, st->name, strlen(st->name));
    if (!rc)
        rc = buf_addc(&ctx->sql, ')');
    if (!rc)
        rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
    if (rc)
        return err_prefix(rc, "stream '%s': recording the run", st->name);

    b = batch_new(def);
    ctx->duplicates = 0;
    ctx->unknown_records = 0;
    ctx->invalid_nulled = 0;
    ctx->erased = ctx->erased_total = 0;
    rec_doc = json_doc_new();
    rc = b && rec_doc ? source_open(ctx->cfg, st, &src) : err_set(ML_ENOMEM, "out of memory");
    while (!rc) {
        struct source_page pg;
        size_t idx = 0;
        rc = source_next_page(src, &pg);
        if (rc == 0 && ctx->follow && !stop_requested) {
            /* --follow: an empty receive commits what is pending (so that
             * its messages are deleted now) and polls again */
            rc = flush_batch(ctx, b, st->name, pages, &total);
            pages = 0;
            if (!rc)
                rc = source_committed(src);
            continue;
        }
        if (rc <= 0)
            break;
        rc = 0;
        pages++;
        /* each record is parsed on its own: one that is not JSON is one
         * reject, never the page's failure */
        for (size_t n = json_page_count(pg.records); !rc && idx < n; idx++) {
            unsigned long line = json_page_line(pg.records, idx);
            size_t rejects = batch_counts(b).rejected;
            bool erased = false;
            rc = json_page_parse_record(pg.records, idx, rec_doc);
            if (!rc)
                rc = erase_set_match(ctx->erased_set, def, json_root(rec_doc), &erased);
            if (rc == ML_ERECORD)
                rc = mapping_reject_unparsed(b, err_msg(), pg.ref, idx, line);
            else if (!rc && erased)
                ctx->erased++; /* an erased subject's record: stored nowhere */
            else if (!rc)
                rc = mapping_map_record_at(b, json_root(rec_doc), &ctx->mopt, pg.ref, idx, line);
            if (!rc)
                rc = source_record_outcome(src, idx, batch_counts(b).rejected > rejects);
        }
        source_page_release(&pg);
        /* batches end at page boundaries, so that a source acknowledging
         * after commit never acknowledges half a page */
        if (!rc && batch_counts(b).records >= ctx->batch_records) {
            rc = flush_batch(ctx, b, st->name, pages, &total);
            pages = 0;
            if (!rc)
                rc = source_committed(src);
        }
        if (!rc && stop_requested) {
            if (ctx->follow)
                break; /* the way --follow ends: what was read commits below */
            rc = err_set(ML_EIO, "interrupted by a signal");
        }
    }
    if (!rc)
        rc = flush_batch(ctx, b, st->name, pages, &total);
    if (!rc)
        rc = source_committed(src);
    source_close(src);
    if (b && batch_unknown_name_count(b)) {
        /* once per stream: the NAMES only, never the values (they may be PII) */
        char saved[2048];
        snprintf(saved, sizeof(saved), "%s", rc ? err_msg() : "");
        if (batch_unknown_names(b, &ref) == 0)
            log_warn("stream '%s': records carry fields outside the mapping, accepted but not "
                     "stored: %s",
                     st->name, ref.data);
        if (rc)
            err_set(rc, "%s", saved);
    }
    batch_free(b);
    buf_release(&ref);
    json_free(rec_doc);
    if (rc)
        return err_prefix(rc, "stream '%s'", st->name);
    log_info("stream '%s': %llu pages, %llu records fetched, %llu loaded, %llu rejected, "
             "%llu surrogates created, %llu duplicates (last one won), %llu with unknown fields",
             st->name, total.pages, total.fetched, total.loaded, total.rejected,
             total.surrogates_created, ctx->duplicates, ctx->unknown_records);
    if (ctx->invalid_nulled)
        log_info("stream '%s': %llu malformed optional values stored as NULL (on_invalid: null)",
                 st->name, ctx->invalid_nulled);
    if (ctx->erased_total)
        log_info("stream '%s': %llu records of erased data subjects skipped (stored nowhere)",
                 st->name, ctx->erased_total);
    return 0;
}

/* ---- the run ---- */

/* Records the run as 'running' with its lease (lease.h), in one
 * transaction: the row becomes visible only with its lease, so `status`
 * never sees a live run as stale. */
static int begin_run(struct run_ctx *ctx, const char *streams)
{
    char host[256] = "";
    int rc;
    gethostname(host, sizeof(host) - 1);
    buf_reset(&ctx->sql);
    rc = db_begin(ctx->db);
    if (!rc)
        rc = buf_adds(&ctx->sql,
                      "INSERT INTO load_runs (started_at, status, streams, host, pid, version) "
                      "VALUES (UTC_TIMESTAMP(3), 'running', ");
    if (!rc)
        rc = db_append_quoted(ctx->db, &ctx->sql, streams, strlen(streams));
    if (!rc)
        rc = buf_addc(&ctx->sql, ',');
    if (!rc)
        rc = db_append_quoted(ctx->db, &ctx->sql, host, strlen(host));
    if (!rc)
        rc = buf_addf(&ctx->sql, ",%ld,'%s')", (long)getpid(), MASKLOAD_VERSION);
    if (!rc)
        rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
    if (rc) {
        db_rollback(ctx->db);
        return err_prefix(rc, "recording the run in load_runs (did `maskload init` run?)");
    }
    ctx->run_id = db_insert_id(ctx->db);
    rc = lease_insert(ctx->db, &ctx->sql, ctx->run_id, ctx->cfg->load.heartbeat_interval,
                      ctx->lease_token);
    if (!rc)
        rc = db_commit(ctx->db);
    if (rc) {
        db_rollback(ctx->db);
        ctx->run_id = 0;
        return err_prefix(rc, "taking the run's lease (did `maskload init` run?)");
    }
    rc = lease_heartbeat_start(ctx->cfg, ctx->run_id, ctx->lease_token, &ctx->heartbeat);
    if (rc)
        return err_prefix(rc, "run %llu", ctx->run_id);
    return 0;
}

static int record_end(struct run_ctx *ctx, int status_rc, const char *error_text)
{
    int rc;
    buf_reset(&ctx->sql);
    rc = buf_addf(&ctx->sql,
                  "UPDATE load_runs SET finished_at=UTC_TIMESTAMP(3), status='%s', error_text=",
                  status_rc ? "failed" : "succeeded");
    if (!rc)
        rc = error_text ? db_append_quoted(ctx->db, &ctx->sql, error_text, strlen(error_text))
                        : buf_adds(&ctx->sql, "NULL");
    if (!rc)
        rc = buf_addf(&ctx->sql, " WHERE run_id=%llu", ctx->run_id);
    if (!rc)
        rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
    if (!rc && lease_delete(ctx->db, ctx->run_id)) /* harmless left behind: the run has ended */
        log_debug("run %llu: lease not deleted: %s", ctx->run_id, err_msg());
    return rc;
}

/* Marks the run succeeded or failed in load_runs. When the connection is
 * gone (before or during this), reconnects once for the bookkeeping. Returns
 * 0, or the error with err_msg() saying why the run stays 'running' (status
 * then shows it as stale: its lease names a connection that is gone). */
static int end_run(struct run_ctx *ctx, int status_rc, const char *error_text)
{
    int rc;
    if (!ctx->run_id)
        return 0;
    lease_heartbeat_stop(ctx->heartbeat);
    ctx->heartbeat = NULL;
    rc = db_connection_lost(ctx->db) ? ML_EDB : record_end(ctx, status_rc, error_text);
    if (rc && db_connection_lost(ctx->db)) {
        db_close(ctx->db);
        ctx->db = NULL;
        rc = conn_warehouse(ctx->cfg, &ctx->db);
        if (rc)
            return err_prefix(rc, "reconnecting to record the end of run %llu", ctx->run_id);
        log_info("reconnected to the warehouse to record the end of run %llu", ctx->run_id);
        rc = record_end(ctx, status_rc, error_text);
    }
    if (rc)
        return err_prefix(rc, "recording the end of run %llu in load_runs", ctx->run_id);
    return 0;
}

int load_run(const struct config *cfg, const struct load_options *opt, struct load_result *res)
{
    struct run_ctx ctx = {.cfg = cfg};
    struct buf names = BUF_INIT;
    size_t nrun = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    buf_init(&ctx.sql, 0);
    ctx.rng = retry_rng_seed();
    ctx.mopt.birth_date = cfg->pii.birth_date;
    for (size_t i = 0; i < cfg->nstreams; i++) {
        if (opt && opt->only_stream && strcmp(opt->only_stream, cfg->streams[i].name) != 0)
            continue;
        buf_addf(&names, "%s%s", nrun ? "," : "", cfg->streams[i].name);
        nrun++;
    }
    if (nrun == 0) {
        rc = opt && opt->only_stream
                 ? err_set(ML_EUSAGE, "no stream named '%s' in the configuration", opt->only_stream)
                 : err_set(ML_ECONFIG, "no streams configured");
        buf_release(&names);
        return rc;
    }
    if (opt && opt->follow) {
        const struct config_stream *only =
            opt->only_stream ? config_find_stream(cfg, opt->only_stream) : cfg->streams;
        const struct config_source *src = only ? config_find_source(cfg, only->source) : NULL;
        if (nrun != 1 || !src || src->kind != SOURCE_SQS) {
            buf_release(&names);
            if (nrun != 1)
                return err_set(ML_EUSAGE, "--follow needs one stream: add --stream NAME");
            return err_set(ML_EUSAGE,
                           "--follow needs a stream of a queue source (kind sqs); stream '%s' "
                           "is not one",
                           only ? only->name : "?");
        }
        ctx.follow = true;
    }
    /* surrogate digests are keyed unless the config says otherwise */
    rc = config_require_digest_key(cfg, "run");
    if (!rc)
        rc = surrogates_new(cfg->pii.digest_key, cfg->pii.digest_key_len, cfg->load.surrogate_cache,
                            &ctx.sur);
    /* `pii: hmac` columns: keyed only (the config refuses them without a key) */
    if (!rc && cfg->pii.digest_key_len)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx.mopt.hmac);
    if (!rc)
        rc = bulk_new(cfg->load.method, &ctx.bulk);
    if (!rc)
        rc = conn_warehouse(cfg, &ctx.db);
    if (!rc)
        writeset_batch_limit(&ctx);
    /* the warehouse's key, and no rekey pending: before anything is written */
    if (!rc)
        rc = pii_key_verify(ctx.db, cfg->warehouse.database, cfg->pii.digest_key,
                            cfg->pii.digest_key_len, false, "run");
    if (!rc)
        rc = begin_run(&ctx, names.data);
    /* again with the run visible as live: a rekey that started meanwhile
     * either saw this run and stopped, or is seen here */
    if (!rc)
        rc = pii_key_verify(ctx.db, cfg->warehouse.database, cfg->pii.digest_key,
                            cfg->pii.digest_key_len, false, "run");
    if (!rc) /* the tables match their definitions, or nothing is fetched */
        rc = schema_check(cfg, opt ? opt->only_stream : NULL, ctx.db);
    if (!rc)
        rc = erase_set_load(ctx.db, cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx.erased_set);
    if (!rc)
        log_info("run %llu started: streams %s", ctx.run_id, names.data);
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        if (opt && opt->only_stream && strcmp(opt->only_stream, cfg->streams[i].name) != 0)
            continue;
        rc = load_stream(&ctx, &cfg->streams[i]);
    }
    if (ctx.db) {
        /* a lost connection fails the run loudly; the run is still marked
         * failed if a reconnect allows, and the message says when it did not */
        bool lost = rc && db_connection_lost(ctx.db);
        if (rc) {
            char saved[2048];
            snprintf(saved, sizeof(saved), "%s%s",
                     lost ? "lost the connection to the warehouse: " : "", err_msg());
            if (end_run(&ctx, rc, saved)) {
                char why[1024]; /* err_set must not read the buffer it writes */
                snprintf(why, sizeof(why), "%s", err_msg());
                err_set(rc, "%s (and run %llu could not be marked failed: %s)", saved, ctx.run_id,
                        why);
            } else {
                err_set(rc, "%s", saved);
            }
        } else {
            rc = end_run(&ctx, 0, NULL);
        }
    }
    res->run_id = ctx.run_id;
    if (ctx.sur) {
        struct surrogate_stats st = surrogates_stats(ctx.sur);
        res->cache_lookups = st.lookups;
        res->cache_hits = st.cache_hits;
        if (!rc)
            log_info("surrogate cache: %llu lookups, %llu hits (%.1f%%), %llu created", st.lookups,
                     st.cache_hits,
                     st.lookups ? 100.0 * (double)st.cache_hits / (double)st.lookups : 0.0,
                     st.created);
    }
    if (ctx.tx_retries || ctx.failovers)
        log_info("run %llu: %llu batch transaction(s) retried, %u failover(s)", ctx.run_id,
                 ctx.tx_retries, ctx.failovers);
    if (ctx.bulk && !rc)
        log_info("rows written by bulk load: %llu%s", bulk_rows(ctx.bulk),
                 bulk_fell_back(ctx.bulk) ? " (multi-row INSERT for the rest)" : "");
    lease_heartbeat_stop(ctx.heartbeat);
    db_close(ctx.db);
    erase_set_free(ctx.erased_set);
    surrogates_free(ctx.sur);
    crypto_mac_free(ctx.mopt.hmac);
    bulk_free(ctx.bulk);
    buf_wipe(&ctx.sql);
    buf_release(&names);
    return rc;
}
