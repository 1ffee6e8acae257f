/* load.c - load.h over wh.h for both warehouse kinds: the run, its streams
 * (in line or in parallel), their pages and batches, each batch's
 * transaction with its retries, split and failover, and the run's end.
 * What a batch writes, and how, is the kind's (loadrows.h). */
#include "load.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "batchtx.h"
#include "batchturns.h"
#include "buf.h"
#include "crypto.h"
#include "cursor.h"
#include "erase.h"
#include "error.h"
#include "history.h"
#include "json.h"
#include "lease.h"
#include "loadrows.h"
#include "loadrun.h"
#include "log.h"
#include "mapping.h"
#include "partition.h"
#include "pg.h"
#include "pii_key.h"
#include "pipeline.h"
#include "retry.h"
#include "runs.h"
#include "schema.h"
#include "source.h"
#include "stages.h"
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
    const struct load_rows_ops *ops; /* the warehouse kind's (loadrows.h) */
    struct wh *w;                    /* the context's connection (the loader account) */
    void *rows;                      /* ops->open's writer state */
    void *cache;                     /* the writer's surrogate cache */
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
    /* a `history: scd2` stream's run (ops->history_begin): its batches'
     * main rows go to its snapshot table, merged once the snapshot is
     * read; NULL for other streams. Every stream's is kept in `hists`
     * until the context ends (a writer may key what it staged by the
     * snapshot table's definition), or until its session is replaced. */
    void *hist, **hists;
    size_t nhists;
    char as_of[HISTORY_AS_OF_LEN]; /* load_options.as_of, else the run's start */
    bool rebuild_history;
    /* rows equal to their stored row: not written; those of the batch
     * transaction being attempted in unchanged_batch */
    unsigned long long unchanged, unchanged_batch;
    /* the incremental cursor of the current stream (streamdef.h
     * incremental_def; NULL when it has none) through the run (cursor.h
     * cursor_run); final_flush: the stream run's last batch */
    const struct incremental_def *inc;
    struct cursor_run cur;
    bool final_flush, full;
    unsigned failovers; /* moves to another session so far */
    /* records per batch: load.batch_size, lowered under a cluster's
     * writeset limits (ops->batch_limit) and by split_batch */
    unsigned long long batch_records;
    uint64_t rng;                  /* jitter of the retry waits (retry.h) */
    unsigned long long tx_retries; /* whole-transaction retries (tx_retry) */
    unsigned long long tx_splits;  /* batches split in two as too large (split_batch) */
    unsigned parts_pending;     /* split_batch: parts of the batch still to write after this one */
    unsigned long long created; /* surrogates created by committed batches */
    /* surrogates resolved ahead by the main thread (presolve_batch): its
     * own connection and cache, off for the rest of the run after a
     * failure; pre_created: surrogates it created for the batch being
     * written, counted with it */
    struct wh *pre_w;
    void *pre_cache;
    bool pre_off;
    unsigned long long pre_created;
    /* streams loaded in parallel (load.parallel_streams, run_streams):
     * `worker` marks the context of one stream worker, whose connections
     * are its own while the run's lease stays with the run's connection;
     * `abort`, shared by the workers, is set once a stream of the run has
     * failed (the others stop after the batch they are writing) */
    bool worker;
    atomic_bool *abort;
    /* the run's context after a parallel run: how many workers ran, and
     * what they counted (worker_close) */
    size_t parallel;
    uint64_t par_cpu_main, par_cpu_writer;
    struct load_rows_stats par_rows;
    unsigned long long par_lookups, par_hits;
};

/* ---- sessions ---- */

/* A new session of the loader account into *out (wh_connect: a cluster's
 * first usable host, or the first read-write server of a PostgreSQL host
 * list), in up to ops->reconnect_attempts attempts with retry.h's waits
 * in between (250 ms doubling to 4 s, equal jitter), each bounded by
 * warehouse.connect_timeout per host; a stop request ends the wait. 0, or
 * the last attempt's error. */
static int reconnect(struct run_ctx *ctx, const char *what, struct wh **out)
{
    const unsigned attempts = ctx->ops->reconnect_attempts ? ctx->ops->reconnect_attempts : 1;
    const struct retry_policy policy = {.retries = attempts - 1, .base_ms = 250, .max_ms = 4000};
    int rc;
    for (unsigned attempt = 1;; attempt++) {
        unsigned ms;
        rc = wh_connect(ctx->cfg, WH_LOADER, out);
        if (!rc || attempt >= attempts || stop_requested)
            return rc;
        ms = retry_backoff_ms(&policy, attempt, retry_rng_next(&ctx->rng));
        log_warn("%s: %s; connecting again in %u ms (attempt %u of %u)", what, err_msg(), ms,
                 attempt + 1, attempts);
        if (retry_sleep_ms(ms))
            return rc;
    }
}

/* Ends every history run of the context (in its session, unless that was
 * lost: then no statement runs). */
static void hists_free(struct run_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nhists; i++)
        ctx->ops->history_free(ctx->hists[i]);
    ctx->nhists = 0;
    ctx->hist = NULL;
}

/* The context's session becomes `w`, and what lived in the old one goes
 * with it: the writer's staging tables and every history stream's
 * snapshot table (temporary tables). */
static void session_replace(struct run_ctx *ctx, struct wh *w)
{
    ctx->ops->session_reset(ctx->rows);
    hists_free(ctx);
    wh_close(ctx->w);
    ctx->w = w;
}

static bool session_lost(struct run_ctx *ctx)
{
    return ctx->w && (wh_connection_lost(ctx->w) || wh_error_class(ctx->w) == DB_ERR_LOST);
}

/* loadrun_tx_retry for a failure on ctx->w */
static bool tx_retry(struct run_ctx *ctx, unsigned attempt, const char *stream, const char *what)
{
    return loadrun_tx_retry(wh_error_class(ctx->w), attempt, stream, what, &ctx->rng,
                            &ctx->tx_retries);
}

/* On the new session `w`: the run's own context moves the run's lease to
 * it (status and check see the run live on the new server), a worker's
 * only checks that the run still holds it. ML_EDB when no row has the
 * run's token (the lease was lost: the run must not go on). */
static int lease_take_over(struct run_ctx *ctx, struct wh *w)
{
    if (ctx->worker)
        return lease_check(w, ctx->run_id, ctx->lease_token);
    return lease_move(w, ctx->run_id, ctx->cfg->load.heartbeat_interval, ctx->lease_token);
}

/* Failover. When the connection was lost during a batch (a cluster's node
 * or a primary went away), and warehouse.failovers allows another,
 * connects again (reconnect), takes the lease over on the new session and
 * returns true: the caller redoes the whole batch, which is idempotent
 * (upserts by the records' keys, surrogates by digest, claims by record
 * key). A history stream's snapshot table held the records read so far in
 * the lost session: its stream cannot go on (false, the message says the
 * next run loads it). Otherwise false with err_msg() saying why; the old
 * session stays (lost) for the run's end to replace. */
static bool failover(struct run_ctx *ctx, const char *stream, const char *redo)
{
    char why[1024], where[300];
    struct wh *w = NULL;
    int rc;
    if (!session_lost(ctx) || stop_requested)
        return false;
    if (ctx->hist && ctx->failovers < ctx->cfg->warehouse.failovers) {
        snprintf(why, sizeof(why), "%s", err_msg());
        err_set(ML_EDB,
                "%s; stream '%s' keeps its snapshot in a temporary table of the lost session, "
                "so it cannot fail over: the next run loads it whole",
                why, stream);
        return false;
    }
    if (!loadrun_failover_count(ctx->cfg, &ctx->failovers, stream, redo, why, sizeof(why)))
        return false;
    rc = reconnect(ctx, "failing over", &w);
    if (!rc)
        rc = lease_take_over(ctx, w);
    if (rc) {
        char again[1024];
        snprintf(again, sizeof(again), "%s", err_msg());
        wh_close(w);
        err_set(rc, "%s; failing over: %s", why, again);
        return false;
    }
    session_replace(ctx, w);
    if (wh_pg(ctx->w))
        pg_server_name(wh_pg(ctx->w), where, sizeof(where));
    else
        snprintf(where, sizeof(where), "another warehouse host");
    if (ctx->worker)
        log_info("run %llu: stream '%s' failed over to %s", ctx->run_id, stream, where);
    else
        log_info("run %llu: failed over to %s; lease moved to its connection", ctx->run_id, where);
    return true;
}

/* ---- one batch ---- */

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
 * large: when the refusal is a limit that one record exceeds alone
 * (wh_error_record_limit: PostgreSQL's 54000, e.g. an index row over the
 * btree limit), the record goes to load_rejects with the server's message
 * (batch_reject_only_record: no value of it but the masked row) and the
 * run goes on; else (a writeset limit the operator set, which no record
 * should exceed) it fails the run: no split can help. */
static int split_batch(struct run_ctx *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total)
{
    const size_t rows = batch_rows(b, BATCH_MAIN)->nrows;
    const size_t half = rows / 2;
    struct batch *rest;
    char why[1024];
    int rc;
    snprintf(why, sizeof(why), "%s", err_msg());
    if (rows == 1 && wh_error_record_limit(ctx->w)) {
        char ref[160], reason[1200];
        snprintf(ref, sizeof(ref),
                 "stream '%s', run %llu (the record's position is not kept "
                 "past its batch)",
                 stream, ctx->run_id);
        snprintf(reason, sizeof(reason), "too large for the server, even alone: %s", why);
        rc = batch_reject_only_record(b, ref, reason);
        if (rc)
            return rc;
        log_warn("stream '%s': a record is too large for the server even in a transaction of "
                 "its own (%s): rejected, see load_rejects",
                 stream, why);
        return flush_batch(ctx, b, stream, pages, total);
    }
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

/* The batch's transaction, after its pending surrogates were resolved:
 * the claim (exactly-once streams), the rows, the rejects, the cursor
 * these records reach and the stream's counters; committed, or rolled
 * back with the failure's code. */
static int batch_tx(struct run_ctx *ctx, struct batch *b, const char *stream,
                    unsigned long long pages, unsigned long long created, struct batch_counts *n)
{
    const struct table_def *snapshot = ctx->hist ? ctx->ops->history_table(ctx->hist) : NULL;
    int rc = wh_begin(ctx->w);
    /* drops records already committed (final: safe to replay from here) */
    if (!rc && batch_def(b)->processed_table)
        rc = ctx->ops->claim(ctx->rows, ctx->w, &ctx->sql, b, ctx->run_id);
    *n = batch_counts(b);
    if (!rc)
        rc = ctx->ops->write(ctx->rows, ctx->w, &ctx->sql, b, snapshot, ctx->run_id,
                             &ctx->unchanged_batch);
    if (!rc)
        rc = batchtx_rejects(ctx->w, b, stream, ctx->run_id);
    /* the cursor these records reach: stored with them when the source is
     * sorted by it, else only with the stream run's last batch (a later page
     * may hold smaller values) */
    if (!rc && ctx->inc) {
        const char *store = NULL;
        cursor_run_batch(&ctx->cur, b, ctx->inc->col, ctx->final_flush && !ctx->parts_pending,
                         &store);
        if (store)
            rc = cursor_store(ctx->w, ctx->run_id, stream, store);
    }
    if (!rc) {
        unsigned long long counts[RUN_NCOUNTS];
        loadrun_batch_counts(n, pages, ctx->erased, created, counts);
        rc = runs_stream_add(ctx->w, ctx->run_id, stream, counts);
    }
    if (!rc) {
        uint64_t t0 = stage_now();
        rc = wh_commit(ctx->w);
        stage_add(STAGE_COMMIT, t0);
    }
    if (rc)
        wh_rollback(ctx->w);
    return rc;
}

static int flush_batch(struct run_ctx *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total)
{
    struct batch_counts n = batch_counts(b);
    unsigned long long created = ctx->pre_created; /* resolved ahead (presolve_batch) */
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
    ctx->unchanged_batch = 0;
    {
        uint64_t t0 = stage_now();
        rc = ctx->ops->resolve(ctx->cache, ctx->w, b, &created);
        stage_add(STAGE_SURROGATES, t0);
    }
    if (!rc)
        rc = batch_tx(ctx, b, stream, pages, created, &n);
    if (rc) {
        if (tx_retry(ctx, attempt, stream, "the whole batch transaction"))
            goto again;
        if (failover(ctx, stream, "redoing the batch")) {
            attempt = 0;
            goto again;
        }
        if (wh_error_class(ctx->w) == DB_ERR_SPLIT)
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
    ctx->created += created;
    batch_reset(b);
    return 0;
}

/* ---- history streams ---- */

/* Before a history stream's first batch: the as-of rule and the snapshot
 * table. A queue is no snapshot: refused. */
static int history_open(struct run_ctx *ctx, const struct config_stream *st)
{
    void **nh;
    int rc = loadrun_history_source_ok(ctx->cfg, st);
    if (rc)
        return rc;
    nh = realloc(ctx->hists, (ctx->nhists + 1) * sizeof(*nh));
    if (!nh)
        return err_set(ML_ENOMEM, "out of memory");
    ctx->hists = nh;
    rc = ctx->ops->history_begin(ctx->w, st->def, ctx->as_of, ctx->rebuild_history, &ctx->hist);
    if (!rc)
        ctx->hists[ctx->nhists++] = ctx->hist;
    return rc;
}

/* After the whole snapshot was read and committed: the merge, in one
 * transaction, retried whole after a deadlock like a batch (tx_retry); a
 * refusal (ML_EUSAGE) is not retried. */
static int history_apply(struct run_ctx *ctx, const struct config_stream *st,
                         const struct load_stream_counts *total)
{
    struct history_counts n;
    unsigned attempt = 0;
    int rc;
    do
        rc = ctx->ops->history_merge(ctx->hist, ctx->run_id, total->rejected, &n);
    while (rc && rc != ML_EUSAGE && tx_retry(ctx, ++attempt, st->name, "the history merge"));
    if (rc)
        return rc;
    loadrun_history_log(st->name, ctx->as_of, &n, total->rejected);
    return 0;
}

/* ---- the batch writer ---- */

/* The writer's job (pipeline.h), also run in line: the batch's whole
 * transaction, split and retries included; the batch is empty again after
 * its commit. Only the writer touches the connection, its cache and the
 * counters of ctx while it runs. */
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
 * handed over, over a connection and a cache of its own and in autocommit,
 * as the writer would (resolution is outside the batch's transaction), in
 * the same order (batch by batch), so that the writer's time goes to the
 * transaction. Best effort: after any failure the connection is closed
 * for the rest of the run and the writer resolves whatever is still
 * pending, with its own retries and failover, as it does for a batch
 * written in line. *created gets the surrogates created. */
static int presolve_batch(void *arg, struct batch *b, unsigned long long *created)
{
    struct run_ctx *ctx = arg;
    int rc = 0;
    if (ctx->pre_off)
        return 0;
    if (!ctx->pre_cache)
        rc = ctx->ops->cache_new(ctx->cfg, &ctx->pre_cache);
    if (!rc && !ctx->pre_w)
        rc = wh_connect(ctx->cfg, WH_LOADER, &ctx->pre_w);
    return rc ? rc : ctx->ops->resolve(ctx->pre_cache, ctx->pre_w, b, created);
}

static void presolve_off(void *arg)
{
    struct run_ctx *ctx = arg;
    wh_close(ctx->pre_w);
    ctx->pre_w = NULL;
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

/* ---- a stream's own bookkeeping, around its batches ---- */

/* A statement of the stream's own bookkeeping (loadrun_stream_step), in
 * autocommit: after its connection was lost (between batches, or after the
 * last one: a stream worker's connection may be idle for long) it fails
 * over as a batch would and runs once more. */
static int stream_step(struct run_ctx *ctx, const char *stream, enum loadrun_step step)
{
    int rc = loadrun_stream_step(ctx->w, step, ctx->run_id, stream, &ctx->cur);
    if (rc && failover(ctx, stream, loadrun_step_redo(step)))
        rc = loadrun_stream_step(ctx->w, step, ctx->run_id, stream, &ctx->cur);
    return rc;
}

/* ---- one stream ---- */

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
    ctx->inc = def->incremental;
    rec_doc = json_doc_new();
    rc = rec_doc ? loadrun_open_source(ctx->w, ctx->cfg, st, ctx->full, &ctx->cur, &src)
                 : err_set(ML_ENOMEM, "out of memory");
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
    int rc = runs_start(ctx->w, streams, ctx->cfg->load.heartbeat_interval, &ctx->run_id,
                        ctx->lease_token);
    if (!rc)
        rc = lease_heartbeat_start(ctx->cfg, ctx->run_id, ctx->lease_token, &ctx->heartbeat);
    return rc && ctx->run_id ? err_prefix(rc, "run %llu", ctx->run_id) : rc;
}

/* Marks the run succeeded or failed in load_runs. A session lost before
 * (the run failed by it) or found lost now (an idle one, while stream
 * workers wrote) is replaced once (reconnect) for the bookkeeping. Returns
 * 0, or the error with err_msg() saying why the run stays 'running' (status
 * then shows it as stale: its lease names a connection that is gone). */
static int end_run(struct run_ctx *ctx, int status_rc, const char *error_text)
{
    int rc;
    if (!ctx->run_id)
        return 0;
    lease_heartbeat_stop(ctx->heartbeat);
    ctx->heartbeat = NULL;
    rc = wh_connection_lost(ctx->w) ? ML_EDB
                                    : runs_finish(ctx->w, ctx->run_id, status_rc, error_text);
    if (rc && wh_connection_lost(ctx->w)) {
        struct wh *w = NULL;
        rc = reconnect(ctx, "recording the end of the run", &w);
        if (rc)
            return err_prefix(rc, "reconnecting to record the end of run %llu", ctx->run_id);
        session_replace(ctx, w);
        log_info("reconnected to the warehouse to record the end of run %llu", ctx->run_id);
        rc = runs_finish(ctx->w, ctx->run_id, status_rc, error_text);
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

/* ---- contexts ---- */

/* What a context needs besides the run's settings: the writer state and
 * surrogate cache of its kind, the MAC contexts of the mapping, the
 * warehouse connection and the writer thread (load.writer: thread). */
static int ctx_open(struct run_ctx *ctx)
{
    const struct config *cfg = ctx->cfg;
    int rc = ctx->ops->cache_new(cfg, &ctx->cache);
    /* `pii: hmac` columns: keyed only (the config refuses them without a key) */
    if (!rc && cfg->pii.digest_key_len)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx->mopt.hmac);
    if (!rc)
        rc = ctx->ops->open(cfg, &ctx->rows);
    if (!rc && cfg->load.writer == LOAD_WRITER_THREAD)
        rc = pipeline_start(write_batch, ctx, &ctx->pipe);
    if (!rc)
        rc = wh_connect(cfg, WH_LOADER, &ctx->w);
    return rc;
}

/* Frees what ctx_open and the streams opened (the writer thread first:
 * nothing is in flight after it; the history runs before the session
 * they live in). */
static void ctx_release(struct run_ctx *ctx)
{
    pipeline_stop(ctx->pipe);
    ctx->pipe = NULL;
    lease_heartbeat_stop(ctx->heartbeat);
    ctx->heartbeat = NULL;
    hists_free(ctx);
    free(ctx->hists);
    wh_close(ctx->w);
    wh_close(ctx->pre_w);
    erase_set_free(ctx->erased_set);
    ctx->ops->cache_free(ctx->cache);
    ctx->ops->cache_free(ctx->pre_cache);
    ctx->ops->close(ctx->rows);
    crypto_mac_free(ctx->mopt.hmac);
    buf_wipe(&ctx->sql);
}

/* What the surrogate caches of a context were asked, added to *lookups
 * and *hits. */
static void ctx_cache_stats(const struct run_ctx *ctx, unsigned long long *lookups,
                            unsigned long long *hits)
{
    if (ctx->cache)
        ctx->ops->cache_stats(ctx->cache, lookups, hits);
    if (ctx->pre_cache)
        ctx->ops->cache_stats(ctx->pre_cache, lookups, hits);
}

/* ---- streams in parallel (load.parallel_streams) ---- */

/* loadrun_workers: a stream worker's own context (the run's settings, its
 * lease token and as-of; everything a thread must not share with another:
 * connections, surrogate caches, MAC contexts, writer and its thread,
 * erasure set), a stream on it, and what it counted added to the run's
 * context for the end of the run. */
static int worker_open(void *arg, atomic_bool *abort, void **worker)
{
    const struct run_ctx *base = arg;
    struct run_ctx *c = calloc(1, sizeof(*c));
    int rc;
    *worker = NULL;
    if (!c)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&c->sql, 0);
    c->cfg = base->cfg;
    c->ops = base->ops;
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
    rc = ctx_open(c);
    if (!rc && base->erased_set)
        rc = erase_set_copy(base->erased_set, c->cfg->pii.digest_key, c->cfg->pii.digest_key_len,
                            &c->erased_set);
    if (rc) {
        ctx_release(c);
        free(c);
        return rc;
    }
    *worker = c;
    return 0;
}

static int worker_load(void *worker, const struct config_stream *st)
{
    return load_stream(worker, st);
}

static void worker_close(void *arg, void *worker, uint64_t cpu_ns)
{
    struct run_ctx *base = arg, *c = worker;
    base->tx_retries += c->tx_retries;
    base->tx_splits += c->tx_splits;
    base->failovers += c->failovers;
    base->created += c->created;
    base->par_cpu_main += cpu_ns;
    base->par_cpu_writer += c->pipe ? pipeline_cpu_ns(c->pipe) : 0;
    if (c->rows)
        c->ops->stats(c->rows, &base->par_rows);
    ctx_cache_stats(c, &base->par_lookups, &base->par_hits);
    /* the run's end tells a lost connection by the run's own one; a
     * worker's lost connection fails its stream's batch first */
    ctx_release(c);
    free(c);
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

/* --follow: one stream, of a queue source. */
static int follow_check(const struct config *cfg, const struct load_options *opt, size_t nrun)
{
    const struct config_stream *only =
        opt->only_stream ? config_find_stream(cfg, opt->only_stream) : cfg->streams;
    const struct config_source *src = only ? config_find_source(cfg, only->source) : NULL;
    if (nrun != 1)
        return err_set(ML_EUSAGE, "--follow needs one stream: add --stream NAME");
    if (!src || src->kind != SOURCE_SQS)
        return err_set(ML_EUSAGE,
                       "--follow needs a stream of a queue source (kind sqs); stream '%s' is not "
                       "one",
                       only ? only->name : "?");
    return 0;
}

/* Before anything is fetched, on the run's connection: the warehouse's
 * key, and no rekey pending; the run's row and lease; the key again with
 * the run visible as live (a rekey that started meanwhile either saw this
 * run and stopped, or is seen here); the tables matching their
 * definitions; partitions ready ahead and expired ones dropped; the
 * erased data subjects; the as-of of history streams. */
static int run_open(struct run_ctx *ctx, const struct load_options *opt, const char *names)
{
    const struct config *cfg = ctx->cfg;
    const char *only = opt ? opt->only_stream : NULL;
    int rc = pii_key_wh_verify(ctx->w, config_warehouse_space(cfg), cfg->pii.digest_key,
                               cfg->pii.digest_key_len, false, "run");
    if (!rc)
        rc = begin_run(ctx, names);
    if (!rc)
        rc = pii_key_wh_verify(ctx->w, config_warehouse_space(cfg), cfg->pii.digest_key,
                               cfg->pii.digest_key_len, false, "run");
    if (!rc)
        rc = schema_check(cfg, only, ctx->w);
    if (!rc)
        rc = partition_maintain_run(ctx->w, cfg, only, ctx->run_id);
    if (!rc)
        rc = erase_set_load_wh(ctx->w, cfg->pii.digest_key, cfg->pii.digest_key_len,
                               &ctx->erased_set);
    if (!rc && !ctx->as_of[0])
        rc = runs_started_at(ctx->w, ctx->run_id, ctx->as_of, sizeof(ctx->as_of));
    return rc;
}

/* The run's log lines after its streams: the surrogate caches, retries,
 * failovers and splits, the bulk path's rows, the stages. */
static void run_log(const struct run_ctx *ctx, int rc, uint64_t run_t0, struct load_result *res)
{
    struct load_rows_stats rs = ctx->par_rows;
    unsigned long long lookups = ctx->par_lookups, hits = ctx->par_hits;
    ctx_cache_stats(ctx, &lookups, &hits);
    res->cache_lookups = lookups;
    res->cache_hits = hits;
    if (!rc)
        log_info("surrogate cache: %llu lookups, %llu hits (%.1f%%), %llu created", lookups, hits,
                 lookups ? 100.0 * (double)hits / (double)lookups : 0.0, ctx->created);
    if (ctx->tx_retries || ctx->failovers || ctx->tx_splits)
        log_info("run %llu: %llu batch transaction(s) retried, %u failover(s), %llu batch(es) "
                 "split as too large",
                 ctx->run_id, ctx->tx_retries, ctx->failovers, ctx->tx_splits);
    if (ctx->rows)
        ctx->ops->stats(ctx->rows, &rs);
    if (!rc && (rs.bulk_rows || rs.fell_back))
        log_info("rows written by bulk load: %llu%s", rs.bulk_rows,
                 rs.fell_back ? " (multi-row INSERT for the rest)" : "");
    if (ctx->parallel) /* the threads of the streams, summed */
        stages_log_cpu(ctx->par_cpu_main + stage_thread_cpu(),
                       ctx->par_cpu_writer + (ctx->pipe ? pipeline_cpu_ns(ctx->pipe) : 0),
                       stage_now() - run_t0);
    else
        stages_log(ctx->pipe ? pipeline_cpu_ns(ctx->pipe) : 0, stage_now() - run_t0);
}

int load_run(const struct config *cfg, const struct load_options *opt, struct load_result *res)
{
    struct run_ctx ctx = {.cfg = cfg};
    struct buf names = BUF_INIT;
    const uint64_t run_t0 = stage_now();
    size_t nrun = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    buf_init(&ctx.sql, 0);
    ctx.ops = cfg->warehouse.kind == WAREHOUSE_POSTGRES ? &load_rows_pg : &load_rows_mysql;
    ctx.rng = retry_rng_seed();
    ctx.mopt.birth_date = cfg->pii.birth_date;
    if (opt && opt->as_of)
        snprintf(ctx.as_of, sizeof(ctx.as_of), "%s", opt->as_of);
    ctx.rebuild_history = opt && opt->rebuild_history;
    ctx.full = opt && opt->full;
    ctx.follow = opt && opt->follow;
    ctx.batch_records = cfg->load.batch_size;
    if (loadrun_names(cfg, opt, &names, &nrun)) {
        buf_release(&names);
        return err_set(ML_ENOMEM, "out of memory");
    }
    if (nrun == 0) {
        buf_release(&names);
        return loadrun_none(cfg, opt);
    }
    rc = ctx.follow ? follow_check(cfg, opt, nrun) : 0;
    /* surrogate digests are keyed unless the config says otherwise */
    if (!rc)
        rc = config_require_digest_key(cfg, "run");
    if (!rc)
        rc = ctx_open(&ctx);
    if (!rc)
        ctx.ops->batch_limit(cfg, ctx.w, &ctx.batch_records);
    if (!rc)
        rc = run_open(&ctx, opt, names.data);
    if (!rc)
        log_info("run %llu started: streams %s", ctx.run_id, names.data);
    if (!rc)
        rc = run_streams(&ctx, opt);
    if (!rc) /* again: a record older than retention just loaded goes now */
        rc = partition_maintain_run(ctx.w, cfg, opt ? opt->only_stream : NULL, ctx.run_id);
    /* every stream drained its writer: nothing is in flight on the run's
     * connection when its end is recorded. A lost connection fails the run
     * loudly; the run is still marked failed if a reconnect allows, and the
     * message says when it did not. */
    if (ctx.w)
        rc = loadrun_end(rc, rc && session_lost(&ctx), ctx.run_id, end_run_of, &ctx);
    res->run_id = ctx.run_id;
    run_log(&ctx, rc, run_t0, res);
    ctx_release(&ctx);
    buf_release(&names);
    return rc;
}
