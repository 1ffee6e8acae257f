/* load_pg.c - load_pg.h: the run, its streams and batches, and their
 * bookkeeping in a PostgreSQL warehouse. */
#include "load_pg.h"

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
#include "conn_pg.h"
#include "crypto.h"
#include "cursor.h"
#include "erase.h"
#include "error.h"
#include "history.h"
#include "history_pg.h"
#include "json.h"
#include "lease.h"
#include "loadrun.h"
#include "log.h"
#include "mapping.h"
#include "partition.h"
#include "pg.h"
#include "pii_key_pg.h"
#include "retry.h"
#include "runs.h"
#include "schema.h"
#include "source.h"
#include "stages.h"
#include "surrogate_pg.h"
#include "version.h"
#include "wh.h"
#include "writer_pg.h"
#include "banned.h"

/* ---- the run ---- */

struct pg_run {
    const struct config *cfg;
    struct pg *pg;
    struct writer_pg *writer;
    struct crypto_mac *sur_mac;           /* surrogate digests */
    struct surrogate_pg_cache *sur_cache; /* ids by digest (load.surrogate_cache) */
    struct map_options mopt;
    unsigned long long run_id;
    char run[32]; /* run_id as text, for bound parameters */
    char token[LEASE_TOKEN_HEX + 1];
    struct lease_heartbeat *hb; /* renews the run's lease while it runs */
    struct buf sql;
    uint64_t rng;
    unsigned long long tx_retries, unchanged, surrogates;
    unsigned failovers; /* moves to another session after a lost one (warehouse.failovers) */
    bool worker;        /* a stream worker's context: the run's lease is not its session's */
    /* erased data subjects (erase.h): their records are stored nowhere,
     * only counted (erased_total: the current stream's, once committed) */
    struct erase_set *erased_set;
    unsigned long long erased_total;
    /* the batch writer (load.writer: thread): a thread writing a batch's
     * transaction on `pg` while this one maps the next; the surrogates of
     * each batch resolved ahead (presolve) on pre_pg, in autocommit, or by
     * the writer for the rest of the run once that failed (pre_off). The
     * writer alone touches pg, writer, sur_cache and the counters while a
     * batch is in flight; this thread, sur_cache only while presolving,
     * when the batch in flight has nothing left to resolve. */
    struct pipeline *pipe;
    struct pg *pre_pg;
    bool pre_off;
    /* load.parallel_streams (loadrun_parallel): `abort` (a worker's) is set
     * once a stream of the run failed; the run's own context counts the
     * workers and what their caches did */
    atomic_bool *abort;
    size_t parallel;
    unsigned long long par_lookups, par_hits;
    uint64_t par_cpu_main, par_cpu_writer;
    /* history streams (history_pg.h): the as-of (load_options.as_of, else
     * the run's start); the current stream's run, whose snapshot table
     * the batches' main rows go to; every stream's, freed with the run (the
     * writer keys its staging tables by their definitions) */
    char as_of[HISTORY_AS_OF_LEN];
    bool rebuild_history, full;
    struct history_pg *hist, **hists;
    size_t nhists;
    /* the current stream's incremental cursor (cursor.h); inc NULL when it
     * has none */
    const struct incremental_def *inc;
    struct cursor_run cur;
    bool follow; /* load_options.follow: a queue polled until a signal */
};

/* --follow: one stream, of a queue source (as with MySQL) */
static int follow_check(const struct config *cfg, const struct load_options *opt)
{
    size_t nrun = 0;
    const struct config_stream *only = NULL;
    const struct config_source *src;
    for (size_t i = 0; i < cfg->nstreams; i++)
        if (loadrun_selected(opt, cfg->streams[i].name)) {
            only = &cfg->streams[i];
            nrun++;
        }
    if (nrun != 1)
        return err_set(ML_EUSAGE, "--follow needs one stream: add --stream NAME");
    src = config_find_source(cfg, only->source);
    if (!src || src->kind != SOURCE_SQS)
        return err_set(ML_EUSAGE,
                       "--follow needs a stream of a queue source (kind sqs); stream '%s' is not "
                       "one",
                       only->name);
    return 0;
}

static int refuse_unsupported(const struct config *cfg, const struct load_options *opt)
{
    if (opt && opt->follow) {
        int rc = follow_check(cfg, opt);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < cfg->nstreams; i++) {
        const struct config_stream *st = &cfg->streams[i];
        const struct stream_def *def = st->def;
        if (opt && opt->only_stream && strcmp(opt->only_stream, st->name) != 0)
            continue;
        if (!def)
            return err_set(ML_ECONFIG, "stream '%s': unknown mapping '%s'", st->name,
                           st->mapping ? st->mapping : st->name);
    }
    return 0;
}

/* The run's row and lease (runs_start), and the lease's heartbeat. */
static int begin_run(struct pg_run *ctx, const char *streams)
{
    struct wh *w = wh_borrow_pg(ctx->pg);
    int rc = w ? runs_start(w, streams, ctx->cfg->load.heartbeat_interval, &ctx->run_id, ctx->token)
               : ML_ENOMEM;
    wh_close(w);
    snprintf(ctx->run, sizeof(ctx->run), "%llu", ctx->run_id);
    if (!rc)
        rc = lease_heartbeat_start(ctx->cfg, ctx->run_id, ctx->token, &ctx->hb);
    return rc && ctx->run_id ? err_prefix(rc, "run %llu", ctx->run_id) : rc;
}

/* ---- failover (warehouse.hosts, warehouse.failovers) ---- */

/* Connection attempts of one reconnect, waiting as retry.h's policy says
 * in between (250 ms doubling to 4 s, equal jitter: about 15 s in all,
 * time for a standby to be promoted), each bounded by
 * warehouse.connect_timeout per host; a stop request ends the wait. */
#define PG_RECONNECT_ATTEMPTS 6

/* A new session of the loader account through the host list (conn_pg.h:
 * the first read-write server) into *out. 0, or the last attempt's error. */
static int reconnect(struct pg_run *ctx, const char *what, struct pg **out)
{
    static const struct retry_policy policy = {
        .retries = PG_RECONNECT_ATTEMPTS - 1, .base_ms = 250, .max_ms = 4000};
    int rc;
    for (unsigned attempt = 1;; attempt++) {
        unsigned ms;
        rc = conn_pg_warehouse(ctx->cfg, out);
        if (!rc || attempt >= PG_RECONNECT_ATTEMPTS || retry_stop_requested())
            return rc;
        ms = retry_backoff_ms(&policy, attempt, retry_rng_next(&ctx->rng));
        log_warn("%s: %s; connecting again in %u ms (attempt %u of %u)", what, err_msg(), ms,
                 attempt + 1, PG_RECONNECT_ATTEMPTS);
        if (retry_sleep_ms(ms))
            return rc;
    }
}

/* The run's session becomes `pg`, and what lived in the old one goes with
 * it: the writer's staging tables and every history stream's snapshot
 * table (temporary tables; a lost session has no statement to run, so
 * history_pg_free runs none). */
static void session_replace(struct pg_run *ctx, struct pg *pg)
{
    writer_pg_session_reset(ctx->writer);
    for (size_t i = 0; i < ctx->nhists; i++)
        history_pg_free(ctx->hists[i]);
    ctx->nhists = 0;
    ctx->hist = NULL;
    pg_close(ctx->pg);
    ctx->pg = pg;
}

/* On the new session `pg`: the run's own context moves the run's lease to
 * it (node and backend pid: status and check see the run live on the
 * promoted server), a worker's only checks that the run still holds it.
 * ML_EDB when no row has the run's token (the lease was lost: the run must
 * not go on). */
static int lease_take_over(struct pg_run *ctx, struct pg *pg)
{
    struct wh *w = wh_borrow_pg(pg);
    int rc;
    if (!w)
        rc = ML_ENOMEM;
    else if (ctx->worker)
        rc = lease_check(w, ctx->run_id, ctx->token);
    else
        rc = lease_move(w, ctx->run_id, ctx->cfg->load.heartbeat_interval, ctx->token);
    wh_close(w);
    return rc;
}

/* Failover. When the batch's transaction failed because the connection was
 * lost (the primary went away) and warehouse.failovers allows another:
 * connects again through the host list (reconnect: the promoted standby
 * once it is read-write), takes the lease over on the new session and
 * returns true; the caller replays the whole batch, which is idempotent
 * (upserts by key, surrogates by digest, claims by record key). The old
 * session's temporary tables are gone with it (session_replace): the
 * writer stages again, but a history stream's snapshot table held the
 * records read so far, so its stream cannot go on: false, and the message
 * says that the next run loads it. Otherwise false with err_msg() saying
 * why; the old session stays (lost) for the run's end to replace. */
static bool failover(struct pg_run *ctx, const char *stream, const char *redo)
{
    char why[1024], where[300];
    struct pg *pg = NULL;
    int rc;
    if (pg_error_class(ctx->pg) != DB_ERR_LOST || retry_stop_requested())
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
    rc = reconnect(ctx, "failing over", &pg);
    if (!rc)
        rc = lease_take_over(ctx, pg);
    if (rc) {
        char again[1024];
        snprintf(again, sizeof(again), "%s", err_msg());
        pg_close(pg);
        err_set(rc, "%s; failing over: %s", why, again);
        return false;
    }
    session_replace(ctx, pg);
    pg_server_name(ctx->pg, where, sizeof(where));
    if (ctx->worker)
        log_info("run %llu: stream '%s' failed over to %s", ctx->run_id, stream, where);
    else
        log_info("run %llu: failed over to %s; lease moved to its connection", ctx->run_id, where);
    return true;
}

/* runs_finish over ctx->pg */
static int finish(struct pg_run *ctx, int status_rc, const char *error_text)
{
    struct wh *w = wh_borrow_pg(ctx->pg);
    int rc = w ? runs_finish(w, ctx->run_id, status_rc, error_text) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

static int record_end(struct pg_run *ctx, int status_rc, const char *error_text)
{
    int rc;
    lease_heartbeat_stop(ctx->hb);
    ctx->hb = NULL;
    /* a session lost before (the run failed by it) or found lost now (an
     * idle one, while stream workers wrote) is replaced once */
    rc = pg_connection_lost(ctx->pg) ? ML_EDB : finish(ctx, status_rc, error_text);
    if (rc && pg_connection_lost(ctx->pg)) {
        struct pg *pg = NULL;
        rc = reconnect(ctx, "recording the end of the run", &pg);
        if (rc)
            return err_prefix(rc, "reconnecting to record the end of run %llu", ctx->run_id);
        session_replace(ctx, pg);
        rc = finish(ctx, status_rc, error_text);
    }
    return rc ? err_prefix(rc, "recording the end of run %llu in load_runs", ctx->run_id) : 0;
}

/* ---- one batch ---- */

/* Surrogates resolved on connection `pg` (the writer's, or pre_pg). */
struct resolve_on {
    struct pg_run *ctx;
    struct pg *pg;
};

static int resolve_with(void *arg, const char *kind, const char *const *values, const size_t *lens,
                        size_t n, unsigned long long *ids, unsigned long long *created)
{
    struct resolve_on *on = arg;
    return surrogate_pg_resolve_cached(on->ctx->sur_cache, on->ctx->sur_mac, on->pg, kind, values,
                                       lens, n, ids, created);
}

static int resolve_batch(struct pg_run *ctx, struct pg *pg, struct batch *b,
                         unsigned long long *created)
{
    struct resolve_on on = {ctx, pg};
    int rc = 0;
    for (unsigned t = 0; !rc && t < batch_ntables(b); t++)
        rc = batch_resolve_surrogates(b, batch_rows(b, t), resolve_with, &on, created);
    return rc;
}

/* ---- the incremental cursor (cursor.h cursor_run: what to store when) ---- */

/* cursor_store over ctx->pg */
static int cursor_write(struct pg_run *ctx, const char *stream, const char *value)
{
    struct wh *w = wh_borrow_pg(ctx->pg);
    int rc = w ? cursor_store(w, ctx->run_id, stream, value) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

/* The rows of table `t` of the batch; a history stream's main rows go to
 * its snapshot table (history_pg.h). */
static int write_table(struct pg_run *ctx, struct batch *b, unsigned t, unsigned long long *written,
                       bool *direct)
{
    struct table_rows *rows = batch_rows(b, t);
    const struct table_def *def = rows->def;
    int rc;
    if (ctx->hist && t == BATCH_MAIN)
        rows->def = history_pg_stage_table(ctx->hist);
    /* a snapshot table is temporary: always upserted */
    rc = ctx->hist && t == BATCH_MAIN
             ? writer_pg_write(ctx->writer, ctx->pg, b, rows, ctx->run_id, written)
             : writer_pg_load(ctx->writer, ctx->pg, b, rows, ctx->run_id, written, direct);
    rows->def = def;
    return rc;
}

/* The batch's whole transaction (resolving what is still pending first),
 * replayed after a deadlock, serialization failure or lock timeout; the
 * batch is empty again after its commit. Run by the writer thread
 * (pipeline.h) or in line. */
static int write_batch(void *arg, void *job)
{
    struct pg_run *ctx = arg;
    const struct batch_job *j = job;
    struct batch *b = j->b;
    const char *stream = j->stream;
    const unsigned long long pages = j->pages;
    const uint64_t t_batch = stage_now();
    const unsigned ntables = batch_ntables(b);
    struct batch_counts n = batch_counts(b);
    struct load_stream_counts *total = j->total;
    unsigned long long created = j->created, written = 0;
    unsigned attempt = 0;
    int rc;
    if (n.records == 0 && pages == 0 && j->erased == 0)
        return 0;
    rc = batch_compact(b);
    if (rc)
        return rc;
    n = batch_counts(b);
again:
    attempt++;
    written = 0;
    rc = 0;
    /* committed at once and no longer pending: a replay resolves nothing twice */
    {
        uint64_t t0 = stage_now();
        rc = resolve_batch(ctx, ctx->pg, b, &created);
        stage_add(STAGE_SURROGATES, t0);
    }
    if (!rc)
        rc = pg_begin(ctx->pg);
    /* exactly once: drops records already committed (final: safe to replay
     * from here), then counts what is left */
    if (!rc && batch_def(b)->processed_table) {
        size_t dropped = 0;
        rc = writer_pg_claim(ctx->pg, &ctx->sql, b, ctx->run_id, &dropped);
        if (!rc && dropped)
            log_info("%zu records already processed by an earlier transaction (redelivered): "
                     "skipped",
                     dropped);
        n = batch_counts(b);
    }
    /* the main rows first: when they all went by a direct COPY, none of
     * their keys was stored before, so a child table that was empty at the
     * run's start holds no row of theirs (a child row is only written with
     * its parent's); else each child table's tails past the parents' new
     * counts go, before the children are written */
    for (unsigned t = 0; !rc && t < ntables; t++) {
        unsigned long long w = 0;
        uint64_t t0 = stage_now();
        bool direct = false;
        rc = write_table(ctx, b, t, &w, t == BATCH_MAIN ? &direct : NULL);
        stage_add(STAGE_SERVER_LOAD, t0);
        written += w;
        for (unsigned c = 0; !rc && t == BATCH_MAIN && c < batch_def(b)->nchildren; c++) {
            bool fresh = false;
            if (direct && batch_def(b)->children[c].table)
                rc = writer_pg_fresh(ctx->writer, ctx->pg, batch_def(b)->children[c].table, &fresh);
            if (!rc && !fresh)
                rc = writer_pg_trim_children(ctx->pg, &ctx->sql, b, c);
        }
    }
    if (!rc) {
        struct wh *w = wh_borrow_pg(ctx->pg);
        rc = w ? batchtx_rejects(w, b, stream, ctx->run_id) : ML_ENOMEM;
        wh_close(w);
    }
    /* the cursor these records reach, in their transaction: with every
     * batch of a sorted source, else with the stream run's last */
    if (!rc && ctx->inc) {
        const char *store = NULL;
        cursor_run_batch(&ctx->cur, b, ctx->inc->col, j->final, &store);
        if (store)
            rc = cursor_write(ctx, stream, store);
    }
    if (!rc) {
        unsigned long long counts[RUN_NCOUNTS];
        struct wh *w = wh_borrow_pg(ctx->pg);
        loadrun_batch_counts(&n, pages, j->erased, created, counts);
        rc = w ? runs_stream_add(w, ctx->run_id, stream, counts) : ML_ENOMEM;
        wh_close(w);
    }
    if (!rc) {
        uint64_t t0 = stage_now();
        rc = pg_commit(ctx->pg);
        stage_add(STAGE_COMMIT, t0);
    }
    if (rc) {
        pg_rollback(ctx->pg);
        if (loadrun_tx_retry(pg_error_class(ctx->pg), attempt, stream,
                             "the whole batch transaction", &ctx->rng, &ctx->tx_retries))
            goto again;
        if (failover(ctx, stream, "redoing the batch")) {
            attempt = 0;
            goto again;
        }
        stage_add(STAGE_BATCH, t_batch);
        return rc;
    }
    if (ctx->inc)
        cursor_run_committed(&ctx->cur);
    {
        size_t rows = 0;
        for (unsigned t = 0; t < ntables; t++)
            rows += batch_rows(b, t)->nrows;
        ctx->unchanged += rows >= written ? rows - written : 0;
    }
    total->pages += pages;
    total->fetched += n.records + j->erased;
    ctx->erased_total += j->erased;
    loadrun_add_counts(total, &n);
    total->surrogates_created += created;
    ctx->surrogates += created;
    batch_reset(b);
    stage_add(STAGE_BATCH, t_batch);
    return 0;
}

/* The surrogates of a batch about to be handed over, resolved by this
 * thread over a connection of its own, in autocommit, as the writer would
 * (surrogates are committed outside the batch's transaction), batch by
 * batch. Best effort: after a failure the connection is closed for the
 * rest of the run and the writer resolves what is still pending, with its
 * own retries. *created gets the surrogates created. */
static int presolve(void *arg, struct batch *b, unsigned long long *created)
{
    struct pg_run *ctx = arg;
    int rc = 0;
    if (ctx->pre_off)
        return 0;
    if (!ctx->pre_pg)
        rc = conn_pg_warehouse(ctx->cfg, &ctx->pre_pg);
    return rc ? rc : resolve_batch(ctx, ctx->pre_pg, b, created);
}

static void presolve_off(void *arg)
{
    struct pg_run *ctx = arg;
    pg_close(ctx->pre_pg);
    ctx->pre_pg = NULL;
    ctx->pre_off = true;
}

/* Records per batch: load.batch_size (no split on this path). */
static unsigned long long batch_limit(void *arg)
{
    const struct pg_run *ctx = arg;
    return ctx->cfg->load.batch_size;
}

static const struct batch_turn_ops turn_ops = {presolve, presolve_off, write_batch, batch_limit};

/* ---- one stream ---- */

/* Before a history stream's first batch: the as-of rule and the snapshot
 * table. A queue is no snapshot: refused. The run keeps it until its end. */
static int history_open(struct pg_run *ctx, const struct config_stream *st)
{
    struct history_pg **nh;
    int rc = loadrun_history_source_ok(ctx->cfg, st);
    if (rc)
        return rc;
    nh = realloc(ctx->hists, (ctx->nhists + 1) * sizeof(*nh));
    if (!nh)
        return err_set(ML_ENOMEM, "out of memory");
    ctx->hists = nh;
    rc = history_pg_begin(ctx->pg, st->def, ctx->as_of, ctx->rebuild_history, &ctx->hist);
    if (!rc)
        ctx->hists[ctx->nhists++] = ctx->hist;
    return rc;
}

/* ---- a stream's own bookkeeping, around its batches ---- */

/* loadrun_stream_step over ctx->pg */
static int stream_step_once(struct pg_run *ctx, const char *stream, enum loadrun_step step)
{
    struct wh *w = wh_borrow_pg(ctx->pg);
    int rc = w ? loadrun_stream_step(w, step, ctx->run_id, stream, &ctx->cur) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

/* A statement of the stream's own bookkeeping, in autocommit: after its
 * connection was lost (between batches, or after the last one: a stream
 * worker's connection may be idle for long) it fails over as a batch would
 * and runs once more. */
static int stream_step(struct pg_run *ctx, const char *stream, enum loadrun_step step)
{
    int rc = stream_step_once(ctx, stream, step);
    if (rc && failover(ctx, stream, loadrun_step_redo(step)))
        rc = stream_step_once(ctx, stream, step);
    return rc;
}

/* After the whole snapshot was read and committed: the merge, in one
 * transaction, replayed whole after a deadlock like a batch. */
static int history_apply(struct pg_run *ctx, const struct config_stream *st,
                         const struct load_stream_counts *total)
{
    struct history_counts n;
    unsigned attempt = 0;
    int rc;
    do
        rc = history_pg_merge(ctx->hist, ctx->run_id, total->rejected, &n);
    while (rc && rc != ML_EUSAGE &&
           loadrun_tx_retry(pg_error_class(ctx->pg), ++attempt, st->name, "the history merge",
                            &ctx->rng, &ctx->tx_retries));
    if (rc)
        return rc;
    loadrun_history_log(st->name, ctx->as_of, &n, total->rejected);
    return 0;
}

static int load_stream(struct pg_run *ctx, const struct config_stream *st)
{
    const struct stream_def *def = st->def;
    struct source *src = NULL;
    struct batch *b = NULL;
    struct batch_turns sb = {0};
    struct load_stream_counts total = {0};
    unsigned long long unchanged0 = ctx->unchanged;
    json_doc *doc = NULL;
    struct wh *w = NULL;
    int rc = stream_step(ctx, st->name, LOADRUN_STEP_START);
    if (rc)
        return err_prefix(rc, "stream '%s'", st->name);
    ctx->erased_total = 0;
    doc = json_doc_new();
    ctx->inc = def->incremental;
    if (doc) {
        w = wh_borrow_pg(ctx->pg);
        rc = w ? loadrun_open_source(w, ctx->cfg, st, ctx->full, &ctx->cur, &src) : ML_ENOMEM;
        wh_close(w);
    } else
        rc = err_set(ML_ENOMEM, "out of memory");
    if (!rc && def->table->history)
        rc = history_open(ctx, st);
    /* --follow has no writer thread (ctx_open) */
    if (!rc)
        rc = batch_turns_open(&sb, def, ctx->pipe, src, &turn_ops, ctx);
    b = sb.b;
    log_debug("stream '%s': %s", st->name,
              sb.pipelined ? "batches written by the writer thread while the next one is mapped"
                           : "batches written in line");
    {
        const struct loadrun_pages o = {ctx->erased_set, &ctx->mopt, ctx->follow, ctx->abort,
                                        ctx->cfg->log_progress_interval};
        rc = loadrun_read_pages(rc, &sb, &turn_ops, ctx, src, st->name, doc, &o, &total);
        b = sb.b;
    }
    if (!rc && ctx->inc)
        rc = stream_step(ctx, st->name, LOADRUN_STEP_CURSOR);
    if (!rc && ctx->hist)
        rc = history_apply(ctx, st, &total);
    ctx->hist = NULL;
    source_close(src);
    loadrun_log_unknown_fields(b, sb.spare, st->name, rc);
    batch_turns_free(&sb);
    json_free(doc);
    if (!rc)
        rc = stream_step(ctx, st->name, LOADRUN_STEP_END);
    if (rc)
        return err_prefix(rc, "stream '%s'", st->name);
    loadrun_stream_log(st->name, &total, ctx->erased_total, ctx->unchanged - unchanged0);
    if (ctx->inc)
        cursor_run_log(&ctx->cur, st->name, ctx->inc->cursor);
    return 0;
}

/* The default as-of of history streams: the run's start (load_runs). */
static int run_start_as_of(struct pg_run *ctx)
{
    struct wh *w = wh_borrow_pg(ctx->pg);
    int rc = w ? runs_started_at(w, ctx->run_id, ctx->as_of, sizeof(ctx->as_of)) : ML_ENOMEM;
    wh_close(w);
    return rc;
}

/* load_stream and record_end for loadrun.h */
static int load_stream_of(void *arg, const struct config_stream *st)
{
    return load_stream(arg, st);
}

static int record_end_of(void *arg, int status_rc, const char *error_text)
{
    return record_end(arg, status_rc, error_text);
}

/* What a stream's connection needs besides the run's settings: the MAC
 * contexts, the surrogate cache, the COPY writer, the warehouse connection
 * and the writer thread (load.writer: thread). 0 or an error. */
static int ctx_open(struct pg_run *ctx)
{
    const struct config *cfg = ctx->cfg;
    int rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx->sur_mac);
    if (!rc)
        rc = surrogate_pg_cache_new(cfg->load.surrogate_cache, &ctx->sur_cache);
    if (!rc && cfg->pii.digest_key_len)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx->mopt.hmac);
    if (!rc)
        rc = writer_pg_new(&ctx->writer);
    if (!rc)
        rc = conn_pg_warehouse(cfg, &ctx->pg);
    if (!rc && cfg->load.writer == LOAD_WRITER_THREAD && !ctx->follow)
        rc = pipeline_start(write_batch, ctx, &ctx->pipe);
    return rc;
}

/* Frees what ctx_open and the streams opened (the writer thread first:
 * nothing is in flight after it). */
static void ctx_release(struct pg_run *ctx)
{
    pipeline_stop(ctx->pipe);
    ctx->pipe = NULL;
    erase_set_free(ctx->erased_set);
    for (size_t i = 0; i < ctx->nhists; i++)
        history_pg_free(ctx->hists[i]);
    free(ctx->hists);
    pg_close(ctx->pre_pg);
    pg_close(ctx->pg);
    writer_pg_free(ctx->writer);
    crypto_mac_free(ctx->sur_mac);
    surrogate_pg_cache_free(ctx->sur_cache);
    crypto_mac_free(ctx->mopt.hmac);
    buf_wipe(&ctx->sql);
}

/* loadrun_workers: a stream worker's own context (the run's settings, its
 * lease token and as-of; connections, caches, MAC contexts, writer and
 * erasure set of its own), a stream on it, and what it counted added to
 * the run's context. */
static int worker_open(void *arg, atomic_bool *abort, void **worker)
{
    const struct pg_run *base = arg;
    struct pg_run *c = calloc(1, sizeof(*c));
    int rc;
    *worker = NULL;
    if (!c)
        return err_set(ML_ENOMEM, "out of memory");
    buf_init(&c->sql, 0);
    c->cfg = base->cfg;
    c->mopt.birth_date = base->mopt.birth_date;
    c->run_id = base->run_id;
    memcpy(c->run, base->run, sizeof(c->run));
    memcpy(c->token, base->token, sizeof(c->token));
    memcpy(c->as_of, base->as_of, sizeof(c->as_of));
    c->rebuild_history = base->rebuild_history;
    c->full = base->full;
    c->rng = retry_rng_seed();
    c->abort = abort;
    c->worker = true;
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
    struct pg_run *base = arg, *c = worker;
    unsigned long long lookups = 0, hits = 0;
    base->tx_retries += c->tx_retries;
    base->failovers += c->failovers;
    base->surrogates += c->surrogates;
    surrogate_pg_cache_stats(c->sur_cache, &lookups, &hits);
    base->par_lookups += lookups;
    base->par_hits += hits;
    base->par_cpu_main += cpu_ns;
    base->par_cpu_writer += c->pipe ? pipeline_cpu_ns(c->pipe) : 0;
    ctx_release(c);
    free(c);
}

int load_pg_run(const struct config *cfg, const struct load_options *opt, struct load_result *res)
{
    static const struct loadrun_workers ops = {worker_open, worker_load, worker_close,
                                               load_stream_of};
    struct pg_run ctx = {.cfg = cfg};
    struct buf names = BUF_INIT;
    const char *schema = cfg->warehouse.schema ? cfg->warehouse.schema : "maskload";
    const uint64_t run_t0 = stage_now();
    size_t nrun = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    buf_init(&ctx.sql, 0);
    ctx.rng = retry_rng_seed();
    ctx.mopt.birth_date = cfg->pii.birth_date;
    if (opt && opt->as_of)
        snprintf(ctx.as_of, sizeof(ctx.as_of), "%s", opt->as_of);
    ctx.rebuild_history = opt && opt->rebuild_history;
    ctx.full = opt && opt->full;
    ctx.follow = opt && opt->follow;
    if (loadrun_names(cfg, opt, &names, &nrun)) {
        buf_release(&names);
        return err_set(ML_ENOMEM, "out of memory");
    }
    if (!nrun) {
        buf_release(&names);
        return loadrun_none(cfg, opt);
    }
    rc = refuse_unsupported(cfg, opt);
    if (!rc)
        rc = config_require_digest_key(cfg, "run");
    if (!rc)
        rc = ctx_open(&ctx);
    /* the warehouse's key, and no rekey pending: before anything is written */
    if (!rc)
        rc = pii_key_pg_verify(ctx.pg, schema, cfg->pii.digest_key, cfg->pii.digest_key_len, false,
                               "run");
    if (!rc)
        rc = begin_run(&ctx, names.data);
    /* again with the run visible as live */
    if (!rc)
        rc = pii_key_pg_verify(ctx.pg, schema, cfg->pii.digest_key, cfg->pii.digest_key_len, false,
                               "run");
    if (!rc) { /* the tables match their definitions (or nothing is fetched); the erased
                  subjects, whose records are stored nowhere */
        struct wh *w = wh_borrow_pg(ctx.pg);
        rc = w ? schema_check(cfg, opt ? opt->only_stream : NULL, w)
               : err_set(ML_ENOMEM, "out of memory");
        if (!rc) /* partitions ready ahead, expired ones dropped */
            rc = partition_maintain_run(w, cfg, opt ? opt->only_stream : NULL, ctx.run_id);
        if (!rc)
            rc =
                erase_set_load_wh(w, cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx.erased_set);
        wh_close(w);
    }
    if (!rc && !ctx.as_of[0])
        rc = run_start_as_of(&ctx);
    if (!rc)
        log_info("run %llu started: streams %s", ctx.run_id, names.data);
    if (!rc)
        rc = loadrun_parallel(cfg, opt, ctx.follow ? 1 : cfg->load.parallel_streams, &ops, &ctx,
                              &ctx.parallel);
    if (!rc) { /* again: a record older than retention just loaded goes now */
        struct wh *w = wh_borrow_pg(ctx.pg);
        rc = w ? partition_maintain_run(w, cfg, opt ? opt->only_stream : NULL, ctx.run_id)
               : err_set(ML_ENOMEM, "out of memory");
        wh_close(w);
    }
    /* every stream drained its writer: nothing is in flight on the run's
     * connection when its end is recorded */
    if (ctx.run_id)
        rc = loadrun_end(rc, rc && pg_connection_lost(ctx.pg), ctx.run_id, record_end_of, &ctx);
    res->run_id = ctx.run_id;
    if (!rc)
        log_info("run %llu: %llu surrogates created, %llu batch transaction(s) retried, %u "
                 "failover(s)",
                 ctx.run_id, ctx.surrogates, ctx.tx_retries, ctx.failovers);
    if (!rc) {
        unsigned long long lookups = 0, hits = 0;
        surrogate_pg_cache_stats(ctx.sur_cache, &lookups, &hits);
        lookups += ctx.par_lookups;
        hits += ctx.par_hits;
        log_info("surrogate cache: %llu lookups, %llu hits (%.1f%%)", lookups, hits,
                 lookups ? 100.0 * (double)hits / (double)lookups : 0.0);
    }
    if (!rc && ctx.parallel) /* the threads of the streams, summed */
        stages_log_cpu(ctx.par_cpu_main, ctx.par_cpu_writer, stage_now() - run_t0);
    else if (!rc)
        stages_log(ctx.pipe ? pipeline_cpu_ns(ctx.pipe) : 0, stage_now() - run_t0);
    lease_heartbeat_stop(ctx.hb);
    ctx_release(&ctx);
    buf_release(&names);
    return rc;
}
