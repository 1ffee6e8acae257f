#include "load.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batchtx.h"
#include "batchturns.h"
#include "buf.h"
#include "conn.h"
#include "cursor.h"
#include "crypto.h"
#include "db.h"
#include "erase.h"
#include "error.h"
#include "history.h"
#include "lease.h"
#include "load_pg.h"
#include "loadrun.h"
#include "retry.h"
#include "log.h"
#include "mapping.h"
#include "partition.h"
#include "pipeline.h"
#include "pii_key.h"
#include "rowdiff.h"
#include "runs.h"
#include "schema.h"
#include "source.h"
#include "sqlgen.h"
#include "stages.h"
#include "surrogate.h"
#include "version.h"
#include "writer.h"
#include "wh.h"
#include "banned.h"

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
    struct writer *writer; /* bulk or INSERT, as load.method says (writer.h) */
    /* the batch writer: a thread of its own writing one batch while the
     * main thread maps the next (see load_stream); NULL = in line */
    struct pipeline *pipe;
    unsigned long long run_id;
    struct map_options mopt;
    struct buf sql;
    bool follow; /* load_options.follow */
    char lease_token[LEASE_TOKEN_HEX + 1];
    struct lease_heartbeat *heartbeat; /* renews the run's lease while it runs */
    /* erased data subjects (erase.h): their records are stored nowhere,
     * only counted; `erased` waits for the next batch's commit */
    struct erase_set *erased_set;
    unsigned long long erased, erased_total;
    /* a `history: scd2` stream's run (history.h): its batches write the
     * snapshot table, merged once the snapshot is read; NULL otherwise */
    struct history *hist;
    char as_of[HISTORY_AS_OF_LEN]; /* load_options.as_of, else the run's start */
    bool rebuild_history;
    bool writing_snapshot; /* upsert_rows is writing the snapshot table */
    /* rows equal to their stored row (rowdiff.h): not written; those of the
     * batch transaction being attempted in unchanged_batch */
    unsigned long long unchanged, unchanged_batch;
    /* the incremental cursor of the current stream (streamdef.h
     * incremental_def; NULL when it has none) through the run (cursor.h
     * cursor_run); final_flush: the stream run's last batch */
    const struct incremental_def *inc;
    struct cursor_run cur;
    bool final_flush, full;
    unsigned failovers; /* moves to another warehouse host so far */
    /* records per batch: load.batch_size, lowered under the cluster's
     * writeset limits (writeset_batch_limit) */
    unsigned long long batch_records;
    uint64_t rng;                  /* jitter of the retry waits (retry.h) */
    unsigned long long tx_retries; /* whole-transaction retries (tx_retry) */
    unsigned long long tx_splits;  /* batches split in two as too large (split_batch) */
    unsigned parts_pending; /* split_batch: parts of the batch still to write after this one */
    /* surrogates resolved ahead by the main thread (presolve_batch): its
     * own connection and cache, off for the rest of the run after a
     * failure; pre_created: surrogates it created for the batch being
     * written, counted with it */
    struct db *pre_db;
    struct surrogates *pre_sur;
    bool pre_off;
    unsigned long long pre_created;
    /* streams loaded in parallel (load.parallel_streams, run_parallel):
     * `worker` marks the context of one stream worker, whose connections
     * are its own while the run's lease stays with the run's connection;
     * `abort`, shared by the workers, is set once a stream of the run has
     * failed (the others stop after the batch they are writing) */
    bool worker;
    atomic_bool *abort;
    /* the run's context after a parallel run: how many workers ran, and
     * what they counted (par_fold) */
    size_t parallel;
    uint64_t par_cpu_main, par_cpu_writer;
    unsigned long long par_bulk_rows;
    bool par_fell_back;
    struct surrogate_stats par_sur;
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

struct resolve_arg {
    struct surrogates *sur;
    struct db *db;
};

static int resolve_with(void *arg, const char *kind, const char *const *values, const size_t *lens,
                        size_t n, unsigned long long *ids, unsigned long long *created)
{
    struct resolve_arg *ra = arg;
    return surrogate_resolve_batch(ra->sur, ra->db, kind, values, lens, n, ids, created);
}

static int resolve_table(struct surrogates *sur, struct db *db, struct batch *b,
                         struct table_rows *t, unsigned long long *created)
{
    struct resolve_arg ra = {sur, db};
    return batch_resolve_surrogates(b, t, resolve_with, &ra, created);
}

/* ---- SQL of one batch ---- */

static int upsert_rows(struct run_ctx *ctx, const struct batch *b, struct table_rows *t);

/* A history stream's main rows go to the run's snapshot table (history.h),
 * by multi-row INSERT: the bulk path remembers per table whether it was
 * empty, which a temporary table of one run cannot tell it. */
static int upsert_snapshot_rows(struct run_ctx *ctx, const struct batch *b, struct table_rows *t)
{
    const struct table_def *def = t->def;
    int rc;
    t->def = history_stage_table(ctx->hist);
    ctx->writing_snapshot = true;
    rc = upsert_rows(ctx, b, t);
    ctx->writing_snapshot = false;
    t->def = def;
    return rc;
}

/* Writes the rows of `t` inside the batch's transaction through the run's
 * writer (writer.h: LOAD DATA LOCAL, or multi-row INSERT as load.method and
 * the server allow), leaving out the rows the warehouse holds unchanged. */
static int upsert_rows(struct run_ctx *ctx, const struct batch *b, struct table_rows *t)
{
    size_t nsame = 0;
    bool fresh = false;
    uint64_t t0;
    int rc;
    if (ctx->hist && !ctx->writing_snapshot && t == batch_rows((struct batch *)b, BATCH_MAIN))
        return upsert_snapshot_rows(ctx, b, t);
    /* rows the warehouse holds already, unchanged, are not written at all
     * (a history run's snapshot table is new each run: all of it is) */
    bool *skip = calloc(t->nrows ? t->nrows : 1, sizeof(*skip));
    if (!skip)
        return err_set(ML_ENOMEM, "out of memory");
    /* nor compared with stored rows when the run found the table empty:
     * only its own rows are there (writer_table_fresh) */
    rc = ctx->writing_snapshot ? 0 : writer_table_fresh(ctx->writer, ctx->db, t->def, &fresh);
    t0 = stage_now();
    if (!rc && !ctx->writing_snapshot && !fresh)
        rc = rowdiff_mark_unchanged(ctx->db, &ctx->sql, b, t, skip, &nsame);
    stage_add(STAGE_ROWDIFF, t0);
    if (!rc)
        ctx->unchanged_batch += nsame;
    if (!rc && nsame < t->nrows)
        rc = ctx->writing_snapshot
                 ? writer_write_insert(ctx->writer, ctx->db, b, t, skip, ctx->run_id)
                 : writer_write(ctx->writer, ctx->db, b, t, skip, ctx->run_id);
    free(skip);
    return rc;
}

/* ---- the incremental cursor (streamdef.h incremental_def) ---- */

/* cursor_store over ctx->db */
static int cursor_write(struct run_ctx *ctx, const char *stream, const char *value)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? cursor_store(w, ctx->run_id, stream, value) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

/* loadrun_tx_retry for a failure on ctx->db */
static bool tx_retry(struct run_ctx *ctx, unsigned attempt, const char *stream, const char *what)
{
    return loadrun_tx_retry(db_error_class(ctx->db), attempt, stream, what, &ctx->rng,
                            &ctx->tx_retries);
}

/* Failover. When the connection is lost during a batch (a node of the
 * cluster went away), and warehouse.failovers allows another, connects
 * again through the host list (conn_warehouse: the first usable host), moves
 * the run's lease to the new connection and returns true: the caller redoes
 * the whole batch, which is idempotent (upserts keyed by the records' keys,
 * surrogates by digest, claims by record key). Otherwise false with err_msg()
 * saying why; the old handle stays (lost) so that end_run() can try once
 * more to record the failure. */
static bool failover(struct run_ctx *ctx, const char *stream, const char *redo)
{
    char why[1024];
    struct db *db = NULL;
    int rc;
    if (!db_connection_lost(ctx->db) || stop_requested ||
        !loadrun_failover_count(ctx->cfg, &ctx->failovers, stream, redo, why, sizeof(why)))
        return false;
    rc = conn_warehouse(ctx->cfg, &db);
    /* a stream worker's connection does not hold the lease: it only makes
     * sure the run still has it */
    if (!rc) {
        struct wh *w = wh_borrow_db(db);
        if (!w)
            rc = ML_ENOMEM;
        else if (ctx->worker)
            rc = lease_check(w, ctx->run_id, ctx->lease_token);
        else
            rc = lease_move(w, ctx->run_id, ctx->cfg->load.heartbeat_interval, ctx->lease_token);
        wh_close(w);
    }
    if (rc) {
        char again[1024];
        snprintf(again, sizeof(again), "%s", err_msg());
        db_close(db);
        err_set(rc, "%s; failing over: %s", why, again);
        return false;
    }
    db_close(ctx->db);
    ctx->db = db;
    if (ctx->worker)
        log_info("run %llu: stream '%s' failed over to another warehouse host", ctx->run_id,
                 stream);
    else
        log_info("run %llu: failed over to another warehouse host; lease moved to its connection",
                 ctx->run_id);
    return true;
}

static int flush_batch(struct run_ctx *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total);

/* Split and retry. The server refused the batch's transaction as too large
 * (DB_ERR_SPLIT: a Galera writeset over wsrep_max_ws_rows/_size, TiDB's
 * transaction limit): its records are written as two transactions of half
 * the rows each, each halved again while refused, and later batches of the
 * run are no larger than the half that was tried. The first half keeps
 * the rejects, the pages and the counts of the batch; the incremental
 * cursor of an unsorted stream waits for the last part (a part never stores
 * a cursor beyond records still unwritten). Acknowledgement (the caller's
 * source_committed) waits for every part. A crash between the parts leaves
 * whole parts, each idempotent like a batch. A single record refused as too
 * large fails the run: no split can help. */
static int split_batch(struct run_ctx *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total)
{
    const size_t rows = batch_rows(b, BATCH_MAIN)->nrows;
    const size_t half = rows / 2;
    struct batch *rest;
    char why[1024];
    int rc;
    snprintf(why, sizeof(why), "%s", err_msg());
    if (rows < 2)
        return err_set(ML_EDB,
                       "stream '%s': one record is too large a transaction for the server, "
                       "which no smaller batch can help (%s)",
                       stream, why);
    rest = batch_new(batch_def(b));
    if (!rest)
        return ML_ENOMEM;
    rc = batch_split(b, half, rest);
    if (rc) {
        batch_free(rest);
        return rc;
    }
    ctx->tx_splits++;
    if (half < ctx->batch_records)
        ctx->batch_records = half;
    log_warn("stream '%s': a batch of %zu records is too large a transaction for the server "
             "(%s); writing it as two of %zu and %zu, and later batches of at most %llu",
             stream, rows, why, half, rows - half, ctx->batch_records);
    ctx->parts_pending++;
    rc = flush_batch(ctx, b, stream, pages, total);
    ctx->parts_pending--;
    if (!rc)
        rc = flush_batch(ctx, rest, stream, 0, total);
    batch_free(rest);
    if (!rc)
        batch_reset(b);
    return rc;
}

static int flush_batch(struct run_ctx *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total)
{
    const unsigned ntables = batch_ntables(b);
    struct batch_counts n = batch_counts(b);
    unsigned long long created = ctx->pre_created; /* resolved ahead (presolve_batch) */
    unsigned attempt = 0;
    uint64_t t0;
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
    ctx->unchanged_batch = 0;
    t0 = stage_now();
    for (unsigned t = 0; !rc && t < ntables; t++)
        rc = resolve_table(ctx->sur, ctx->db, b, batch_rows(b, t), &created);
    stage_add(STAGE_SURROGATES, t0);
    if (!rc)
        rc = db_begin(ctx->db);
    /* drops records already committed (final: safe to replay from here) */
    if (!rc && batch_def(b)->processed_table)
        rc = batchtx_claim(ctx->db, &ctx->sql, b, ctx->run_id);
    for (unsigned c = 0; !rc && c < batch_def(b)->nchildren; c++)
        rc = batchtx_trim_children(ctx->db, &ctx->sql, b, c);
    /* the main table, then each child table */
    for (unsigned t = 0; !rc && t < ntables; t++)
        if (batch_rows(b, t)->nrows)
            rc = upsert_rows(ctx, b, batch_rows(b, t));
    if (!rc) {
        struct wh *w = wh_borrow_db(ctx->db);
        rc = w ? batchtx_rejects(w, b, stream, ctx->run_id) : ML_ENOMEM;
        wh_close(w);
    }
    /* the cursor these records reach: stored with them when the source is
     * sorted by it, else only with the stream run's last batch (a later page
     * may hold smaller values) */
    if (!rc && ctx->inc) {
        const char *store = NULL;
        cursor_run_batch(&ctx->cur, b, ctx->inc->col, ctx->final_flush && !ctx->parts_pending,
                         &store);
        if (store)
            rc = cursor_write(ctx, stream, store);
    }
    n = batch_counts(b); /* batchtx_claim may have dropped records */
    if (!rc) {
        unsigned long long counts[RUN_NCOUNTS];
        struct wh *w = wh_borrow_db(ctx->db);
        loadrun_batch_counts(&n, pages, ctx->erased, created, counts);
        rc = w ? runs_stream_add(w, ctx->run_id, stream, counts) : ML_ENOMEM;
        wh_close(w);
    }
    if (!rc) {
        t0 = stage_now();
        rc = db_commit(ctx->db);
        stage_add(STAGE_COMMIT, t0);
    }
    if (rc) {
        db_rollback(ctx->db);
        if (tx_retry(ctx, attempt, stream, "the whole batch transaction"))
            goto again;
        if (failover(ctx, stream, "redoing the batch")) {
            attempt = 0;
            goto again;
        }
        if (db_error_class(ctx->db) == DB_ERR_SPLIT)
            return split_batch(ctx, b, stream, pages, total);
        return rc;
    }
    ctx->unchanged += ctx->unchanged_batch;
    if (ctx->inc)
        cursor_run_committed(&ctx->cur);
    total->pages += pages;
    total->fetched += n.records + ctx->erased;
    ctx->erased_total += ctx->erased;
    ctx->erased = 0;
    ctx->pre_created = 0;
    loadrun_add_counts(total, &n);
    total->surrogates_created += created;
    batch_reset(b);
    return 0;
}

/* ---- history streams (history.h) ---- */

/* Before a history stream's first batch: the as-of rule and the snapshot
 * table. A queue is no snapshot: refused. */
static int history_open(struct run_ctx *ctx, const struct config_stream *st)
{
    int rc = loadrun_history_source_ok(ctx->cfg, st);
    if (rc)
        return rc;
    return history_begin(ctx->db, st->def, ctx->as_of, ctx->rebuild_history, &ctx->hist);
}

/* After the whole snapshot was read and committed: the merge, in one
 * transaction, retried whole after a deadlock like a batch (tx_retry). */
static int history_apply(struct run_ctx *ctx, const struct config_stream *st,
                         const struct load_stream_counts *total)
{
    struct history_counts n;
    unsigned attempt = 0;
    int rc;
    do
        rc = history_merge(ctx->hist, ctx->run_id, total->rejected, &n);
    while (rc && tx_retry(ctx, ++attempt, st->name, "the history merge"));
    if (rc)
        return rc;
    loadrun_history_log(st->name, ctx->as_of, &n, total->rejected);
    return 0;
}

/* ---- the batch writer ---- */

/* The writer's job (pipeline.h), also run in line: the batch's whole
 * transaction, split and retries included; the batch is empty again after
 * its commit. Only the writer touches the connection, the surrogates and
 * the counters of ctx while it runs. */
static int write_batch(void *arg, void *job)
{
    struct run_ctx *ctx = arg;
    struct batch_job *j = job;
    uint64_t t0 = stage_now();
    int rc;
    ctx->erased = j->erased;
    ctx->pre_created = j->created;
    ctx->final_flush = j->final;
    rc = flush_batch(ctx, j->b, j->stream, j->pages, j->total);
    ctx->final_flush = false;
    stage_add(STAGE_BATCH, t0);
    return rc;
}

/* Surrogates of a pipelined batch resolved by the main thread before it is
 * handed over, over a connection of its own and in autocommit, as the
 * writer would (surrogate.h: resolution is outside the batch's
 * transaction), in the same order (batch by batch), so that the writer's
 * time goes to the transaction. Best effort: after any failure the
 * connection is closed for the rest of the run and the writer resolves
 * whatever is still pending, with its own retries and failover, as it does
 * for a batch written in line. *created gets the surrogates created. */
static int presolve_batch(void *arg, struct batch *b, unsigned long long *created)
{
    struct run_ctx *ctx = arg;
    int rc = 0;
    if (ctx->pre_off)
        return 0;
    if (!ctx->pre_db)
        rc = conn_warehouse(ctx->cfg, &ctx->pre_db);
    for (unsigned t = 0; !rc && t < batch_ntables(b); t++)
        rc = resolve_table(ctx->pre_sur, ctx->pre_db, b, batch_rows(b, t), created);
    return rc;
}

static void presolve_off(void *arg)
{
    struct run_ctx *ctx = arg;
    db_close(ctx->pre_db);
    ctx->pre_db = NULL;
    ctx->pre_off = true;
}

/* Records per batch as of now (split_batch lowers it). */
static unsigned long long batch_limit(void *arg)
{
    const struct run_ctx *ctx = arg;
    return ctx->batch_records;
}

static const struct batch_turn_ops turn_ops = {presolve_batch, presolve_off, write_batch,
                                               batch_limit};

/* ---- one stream ---- */

/* ---- a stream's own bookkeeping, around its batches ---- */

/* loadrun_stream_step over ctx->db */
static int stream_step_once(struct run_ctx *ctx, const char *stream, enum loadrun_step step)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? loadrun_stream_step(w, step, ctx->run_id, stream, &ctx->cur) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

/* A statement of the stream's own bookkeeping, in autocommit: after its
 * connection was lost (between batches, or after the last one: a stream
 * worker's connection may be idle for long) it fails over as a batch would
 * and runs once more. */
static int stream_step(struct run_ctx *ctx, const char *stream, enum loadrun_step step)
{
    int rc = stream_step_once(ctx, stream, step);
    if (rc && failover(ctx, stream, loadrun_step_redo(step)))
        rc = stream_step_once(ctx, stream, step);
    return rc;
}

/* loadrun_open_source over ctx->db */
static int open_stream_source(struct run_ctx *ctx, const struct config_stream *st,
                              struct source **src)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? loadrun_open_source(w, ctx->cfg, st, ctx->full, &ctx->cur, src) : ML_ENOMEM;
    wh_close(w);
    ctx->inc = st->def->incremental;
    return rc;
}

static int load_stream(struct run_ctx *ctx, const struct config_stream *st)
{
    const struct stream_def *def = st->def;
    struct source *src = NULL;
    struct batch *b = NULL;
    struct batch_turns sb = {0};
    struct load_stream_counts total = {0};
    json_doc *rec_doc = NULL; /* one record at a time, its memory reused */
    int rc;

    if (!def)
        return err_set(ML_ECONFIG, "stream '%s': unknown mapping '%s'", st->name,
                       st->mapping ? st->mapping : st->name);

    rc = stream_step(ctx, st->name, LOADRUN_STEP_START);
    if (rc)
        return err_prefix(rc, "stream '%s'", st->name);

    ctx->erased = ctx->erased_total = 0;
    ctx->unchanged = 0;
    rec_doc = json_doc_new();
    rc = rec_doc ? open_stream_source(ctx, st, &src) : err_set(ML_ENOMEM, "out of memory");
    if (!rc && def->table->history)
        rc = history_open(ctx, st);
    if (!rc)
        rc = batch_turns_open(&sb, def, ctx->pipe, src, &turn_ops, ctx);
    b = sb.b;
    log_debug("stream '%s': %s", st->name,
              sb.pipelined ? "batches written by the writer thread while the next one is mapped"
                           : "batches written in line");
    {
        const struct loadrun_pages o = {ctx->erased_set, &ctx->mopt, ctx->follow, ctx->abort,
                                        ctx->cfg->log_progress_interval};
        rc = loadrun_read_pages(rc, &sb, &turn_ops, ctx, src, st->name, rec_doc, &o, &total);
        b = sb.b;
    }
    /* the last batch was empty: the cursor reached by the earlier ones */
    if (!rc && ctx->inc)
        rc = stream_step(ctx, st->name, LOADRUN_STEP_CURSOR);
    source_close(src);
    if (!rc && ctx->hist)
        rc = history_apply(ctx, st, &total);
    history_free(ctx->hist);
    ctx->hist = NULL;
    loadrun_log_unknown_fields(b, sb.spare, st->name, rc);
    batch_turns_free(&sb);
    json_free(rec_doc);
    if (!rc)
        rc = stream_step(ctx, st->name, LOADRUN_STEP_END);
    if (rc)
        return err_prefix(rc, "stream '%s'", st->name);
    loadrun_stream_log(st->name, &total, ctx->erased_total, ctx->unchanged);
    if (ctx->inc)
        cursor_run_log(&ctx->cur, st->name, ctx->inc->cursor);
    ctx->inc = NULL;
    return 0;
}

/* ---- the run ---- */

/* Records the run as 'running' with its lease (runs_start) and starts the
 * lease's heartbeat. */
static int begin_run(struct run_ctx *ctx, const char *streams)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? runs_start(w, streams, ctx->cfg->load.heartbeat_interval, &ctx->run_id,
                            ctx->lease_token)
               : ML_ENOMEM;
    wh_close(w);
    if (!rc)
        rc = lease_heartbeat_start(ctx->cfg, ctx->run_id, ctx->lease_token, &ctx->heartbeat);
    return rc && ctx->run_id ? err_prefix(rc, "run %llu", ctx->run_id) : rc;
}

/* The default as-of of history streams: the run's start (load_runs). */
static int run_start_as_of(struct run_ctx *ctx)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? runs_started_at(w, ctx->run_id, ctx->as_of, sizeof(ctx->as_of)) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

static int record_end(struct run_ctx *ctx, int status_rc, const char *error_text)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? runs_finish(w, ctx->run_id, status_rc, error_text) : ML_ENOMEM;
    wh_close(w);
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

/* load_stream and end_run for loadrun.h */
static int load_stream_of(void *arg, const struct config_stream *st)
{
    return load_stream(arg, st);
}

static int end_run_of(void *arg, int status_rc, const char *error_text)
{
    return end_run(arg, status_rc, error_text);
}

/* Partition maintenance (partition.h) of the partitioned streams to run,
 * recorded with this run's id. */
static int maintain_partitions(struct run_ctx *ctx, const char *only)
{
    struct wh *w = wh_borrow_db(ctx->db);
    int rc = w ? partition_maintain_run(w, ctx->cfg, only, ctx->run_id) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

/* ---- streams in parallel (load.parallel_streams) ---- */

static void worker_ctx_free(struct run_ctx *c)
{
    if (!c)
        return;
    pipeline_stop(c->pipe);
    db_close(c->db);
    db_close(c->pre_db);
    erase_set_free(c->erased_set);
    surrogates_free(c->sur);
    surrogates_free(c->pre_sur);
    crypto_mac_free(c->mopt.hmac);
    writer_free(c->writer);
    buf_wipe(&c->sql);
    free(c);
}

/* A stream worker's context: the run's settings, and everything a thread
 * must not share with another of its own (the warehouse connections and
 * their surrogate caches, the MAC contexts of the mapping, the surrogates
 * and the erasure check, the writer and its thread). */
static int worker_ctx_new(struct run_ctx *base, atomic_bool *abort, struct run_ctx **out)
{
    const struct config *cfg = base->cfg;
    struct run_ctx *c = calloc(1, sizeof(*c));
    int rc = 0;
    *out = NULL;
    if (!c)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&c->sql, 0);
    c->cfg = cfg;
    c->run_id = base->run_id;
    memcpy(c->lease_token, base->lease_token, sizeof(c->lease_token));
    memcpy(c->as_of, base->as_of, sizeof(c->as_of));
    c->rebuild_history = base->rebuild_history;
    c->full = base->full;
    c->mopt.birth_date = base->mopt.birth_date;
    c->batch_records = base->batch_records;
    c->rng = retry_rng_seed();
    c->worker = true;
    c->abort = abort;
    rc = surrogates_new(cfg->pii.digest_key, cfg->pii.digest_key_len, cfg->load.surrogate_cache,
                        &c->sur);
    if (!rc && cfg->load.writer == LOAD_WRITER_THREAD)
        rc = surrogates_new(cfg->pii.digest_key, cfg->pii.digest_key_len, cfg->load.surrogate_cache,
                            &c->pre_sur);
    if (!rc && cfg->pii.digest_key_len)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &c->mopt.hmac);
    if (!rc && base->erased_set)
        rc = erase_set_copy(base->erased_set, cfg->pii.digest_key, cfg->pii.digest_key_len,
                            &c->erased_set);
    if (!rc)
        rc = writer_new(cfg->load.method, &c->writer);
    if (!rc && cfg->load.writer == LOAD_WRITER_THREAD)
        rc = pipeline_start(write_batch, c, &c->pipe);
    if (!rc)
        rc = conn_warehouse(cfg, &c->db);
    if (rc) {
        worker_ctx_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* loadrun_workers for the run's context: a worker's own context
 * (worker_ctx_new), a stream on it, and what it counted added to the run's
 * context for the end of the run. */
static int worker_open(void *base, atomic_bool *abort, void **worker)
{
    struct run_ctx *c = NULL;
    int rc = worker_ctx_new(base, abort, &c);
    *worker = c;
    return rc;
}

static int worker_load(void *worker, const struct config_stream *st)
{
    return load_stream(worker, st);
}

static void worker_close(void *arg, void *worker, uint64_t cpu_ns)
{
    struct run_ctx *base = arg;
    const struct run_ctx *c = worker;
    base->tx_retries += c->tx_retries;
    base->tx_splits += c->tx_splits;
    base->failovers += c->failovers;
    base->par_cpu_main += cpu_ns;
    base->par_cpu_writer += c->pipe ? pipeline_cpu_ns(c->pipe) : 0;
    base->par_bulk_rows += c->writer ? writer_bulk_rows(c->writer) : 0;
    base->par_fell_back = base->par_fell_back || (c->writer && writer_fell_back(c->writer));
    for (int k = 0; k < 2; k++) {
        const struct surrogates *s = k ? c->pre_sur : c->sur;
        struct surrogate_stats st;
        if (!s)
            continue;
        st = surrogates_stats(s);
        base->par_sur.lookups += st.lookups;
        base->par_sur.cache_hits += st.cache_hits;
        base->par_sur.created += st.created;
    }
    /* the run's end tells a lost connection by the run's own one; a
     * worker's lost connection fails its stream's batch first */
    worker_ctx_free(worker);
}

/* The streams of the run, up to load.parallel_streams at a time
 * (loadrun_parallel). Each worker has its own connections, caches, MAC
 * contexts, batch writer and batches; the run's lease, its heartbeat and
 * load_runs stay with the run's context. One worker, or a single group:
 * the streams run in line on the run's own connection, as without the
 * key. */
static int run_streams(struct run_ctx *ctx, const struct load_options *opt)
{
    static const struct loadrun_workers ops = {worker_open, worker_load, worker_close,
                                               load_stream_of};
    return loadrun_parallel(ctx->cfg, opt, ctx->follow ? 1 : ctx->cfg->load.parallel_streams, &ops,
                            ctx, &ctx->parallel);
}

int load_run(const struct config *cfg, const struct load_options *opt, struct load_result *res)
{
    struct run_ctx ctx = {.cfg = cfg};
    struct buf names = BUF_INIT;
    const uint64_t run_t0 = stage_now();
    size_t nrun = 0;
    int rc;

    /* a PostgreSQL warehouse: its own path through pg.h (load_pg.h) */
    if (cfg->warehouse.kind == WAREHOUSE_POSTGRES)
        return load_pg_run(cfg, opt, res);
    memset(res, 0, sizeof(*res));
    buf_init(&ctx.sql, 0);
    ctx.rng = retry_rng_seed();
    ctx.mopt.birth_date = cfg->pii.birth_date;
    if (opt && opt->as_of)
        snprintf(ctx.as_of, sizeof(ctx.as_of), "%s", opt->as_of);
    ctx.rebuild_history = opt && opt->rebuild_history;
    ctx.full = opt && opt->full;
    if (loadrun_names(cfg, opt, &names, &nrun)) {
        buf_release(&names);
        return err_set(ML_ENOMEM, "out of memory");
    }
    if (nrun == 0) {
        buf_release(&names);
        return loadrun_none(cfg, opt);
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
    if (!rc && cfg->load.writer == LOAD_WRITER_THREAD)
        rc = surrogates_new(cfg->pii.digest_key, cfg->pii.digest_key_len, cfg->load.surrogate_cache,
                            &ctx.pre_sur);
    /* `pii: hmac` columns: keyed only (the config refuses them without a key) */
    if (!rc && cfg->pii.digest_key_len)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx.mopt.hmac);
    if (!rc)
        rc = writer_new(cfg->load.method, &ctx.writer);
    if (!rc && cfg->load.writer == LOAD_WRITER_THREAD)
        rc = pipeline_start(write_batch, &ctx, &ctx.pipe);
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
    if (!rc) { /* the tables match their definitions, or nothing is fetched */
        struct wh *w = wh_borrow_db(ctx.db);
        rc = w ? schema_check(cfg, opt ? opt->only_stream : NULL, w) : ML_ENOMEM;
        wh_close(w);
    }
    if (!rc) /* partitions ready ahead, expired ones dropped */
        rc = maintain_partitions(&ctx, opt ? opt->only_stream : NULL);
    if (!rc)
        rc = erase_set_load(ctx.db, cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx.erased_set);
    if (!rc && !ctx.as_of[0])
        rc = run_start_as_of(&ctx);
    if (!rc)
        log_info("run %llu started: streams %s", ctx.run_id, names.data);
    if (!rc)
        rc = run_streams(&ctx, opt);
    if (!rc) /* again: a record older than retention just loaded goes now */
        rc = maintain_partitions(&ctx, opt ? opt->only_stream : NULL);
    if (ctx.db) {
        /* a lost connection fails the run loudly; the run is still marked
         * failed if a reconnect allows, and the message says when it did not */
        bool lost = rc && db_connection_lost(ctx.db);
        rc = loadrun_end(rc, lost, ctx.run_id, end_run_of, &ctx);
    }
    res->run_id = ctx.run_id;
    if (ctx.sur) {
        struct surrogate_stats st = surrogates_stats(ctx.sur);
        if (ctx.pre_sur) { /* the two caches: ahead of the writer, and the writer's */
            struct surrogate_stats pre = surrogates_stats(ctx.pre_sur);
            st.lookups += pre.lookups;
            st.cache_hits += pre.cache_hits;
            st.created += pre.created;
        }
        st.lookups += ctx.par_sur.lookups; /* the parallel streams' caches */
        st.cache_hits += ctx.par_sur.cache_hits;
        st.created += ctx.par_sur.created;
        res->cache_lookups = st.lookups;
        res->cache_hits = st.cache_hits;
        if (!rc)
            log_info("surrogate cache: %llu lookups, %llu hits (%.1f%%), %llu created", st.lookups,
                     st.cache_hits,
                     st.lookups ? 100.0 * (double)st.cache_hits / (double)st.lookups : 0.0,
                     st.created);
    }
    if (ctx.tx_retries || ctx.failovers || ctx.tx_splits)
        log_info("run %llu: %llu batch transaction(s) retried, %u failover(s), %llu batch(es) "
                 "split as too large",
                 ctx.run_id, ctx.tx_retries, ctx.failovers, ctx.tx_splits);
    if (ctx.writer && !rc)
        log_info(
            "rows written by bulk load: %llu%s", writer_bulk_rows(ctx.writer) + ctx.par_bulk_rows,
            writer_fell_back(ctx.writer) || ctx.par_fell_back ? " (multi-row INSERT for the rest)"
                                                              : "");
    if (ctx.parallel) /* the threads of the streams, summed */
        stages_log_cpu(ctx.par_cpu_main + stage_thread_cpu(),
                       ctx.par_cpu_writer + (ctx.pipe ? pipeline_cpu_ns(ctx.pipe) : 0),
                       stage_now() - run_t0);
    else
        stages_log(ctx.pipe ? pipeline_cpu_ns(ctx.pipe) : 0, stage_now() - run_t0);
    pipeline_stop(ctx.pipe);
    lease_heartbeat_stop(ctx.heartbeat);
    db_close(ctx.db);
    erase_set_free(ctx.erased_set);
    surrogates_free(ctx.sur);
    surrogates_free(ctx.pre_sur);
    db_close(ctx.pre_db);
    crypto_mac_free(ctx.mopt.hmac);
    writer_free(ctx.writer);
    buf_wipe(&ctx.sql);
    buf_release(&names);
    return rc;
}
