/* load_pg.c - load_pg.h: the run, its streams and batches, and their
 * bookkeeping in a PostgreSQL warehouse. */
#include "load_pg.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"
#include "conn_pg.h"
#include "crypto.h"
#include "error.h"
#include "json.h"
#include "lease.h"
#include "loadrun.h"
#include "log.h"
#include "mapping.h"
#include "pg.h"
#include "pii_key_pg.h"
#include "retry.h"
#include "source.h"
#include "surrogate_pg.h"
#include "version.h"
#include "writer_pg.h"
#include "banned.h"

#define PG_NOW         "(now() AT TIME ZONE 'UTC')"
#define PG_TX_ATTEMPTS 5

/* ---- the lease's heartbeat: a thread on a connection of its own ---- */

struct pg_heartbeat {
    const struct config *cfg;
    char run[32];
    char token[LEASE_TOKEN_HEX + 1];
    char interval[16];
    struct pg *pg;
    struct lease_ticker *ticker;
};

static const char heartbeat_sql[] =
    "UPDATE load_run_leases SET heartbeat_at = " PG_NOW ", expires_at = " PG_NOW
    " + 3 * $3::integer * interval '1 second' WHERE run_id = $1::bigint AND token = $2";

static void heartbeat_beat(void *arg)
{
    struct pg_heartbeat *hb = arg;
    const char *params[3] = {hb->run, hb->token, hb->interval};
    if (!hb->pg && conn_pg_warehouse(hb->cfg, &hb->pg))
        log_debug("lease heartbeat: %s", err_msg());
    if (hb->pg && pg_exec_params(hb->pg, heartbeat_sql, 3, params, NULL)) {
        log_debug("lease heartbeat: %s", err_msg());
        if (pg_connection_lost(hb->pg)) {
            pg_close(hb->pg);
            hb->pg = NULL;
        }
    }
}

static void heartbeat_done(void *arg)
{
    struct pg_heartbeat *hb = arg;
    pg_close(hb->pg);
    hb->pg = NULL;
}

static int heartbeat_start(const struct config *cfg, unsigned long long run_id, const char *token,
                           struct pg_heartbeat **out)
{
    struct pg_heartbeat *hb = calloc(1, sizeof(*hb));
    int rc;
    *out = NULL;
    if (!hb)
        return err_set(ML_ENOMEM, "out of memory");
    hb->cfg = cfg;
    snprintf(hb->run, sizeof(hb->run), "%llu", run_id);
    snprintf(hb->token, sizeof(hb->token), "%s", token);
    snprintf(hb->interval, sizeof(hb->interval), "%u", cfg->load.heartbeat_interval);
    rc = lease_ticker_start(cfg->load.heartbeat_interval, heartbeat_beat, heartbeat_done, hb,
                            &hb->ticker);
    if (rc) {
        free(hb);
        return rc;
    }
    *out = hb;
    return 0;
}

static void heartbeat_stop(struct pg_heartbeat *hb)
{
    if (!hb)
        return;
    lease_ticker_stop(hb->ticker);
    free(hb);
}

/* ---- the run ---- */

struct pg_run {
    const struct config *cfg;
    struct pg *pg;
    struct writer_pg *writer;
    struct crypto_mac *sur_mac; /* surrogate digests */
    struct map_options mopt;
    unsigned long long run_id;
    char run[32]; /* run_id as text, for bound parameters */
    char token[LEASE_TOKEN_HEX + 1];
    struct pg_heartbeat *hb;
    struct buf sql;
    uint64_t rng;
    unsigned long long tx_retries, unchanged, surrogates;
};

static int refuse_unsupported(const struct config *cfg, const struct load_options *opt)
{
    if (opt && opt->follow)
        return err_set(ML_EUSAGE, "--follow: not supported with a PostgreSQL warehouse yet");
    if (opt && opt->as_of)
        return err_set(ML_EUSAGE, "--as-of: not supported with a PostgreSQL warehouse yet");
    for (size_t i = 0; i < cfg->nstreams; i++) {
        const struct config_stream *st = &cfg->streams[i];
        const struct stream_def *def = st->def;
        const char *what = NULL;
        if (opt && opt->only_stream && strcmp(opt->only_stream, st->name) != 0)
            continue;
        if (!def)
            return err_set(ML_ECONFIG, "stream '%s': unknown mapping '%s'", st->name,
                           st->mapping ? st->mapping : st->name);
        if (def->table->history)
            what = "history: scd2";
        else if (def->incremental)
            what = "incremental";
        else if (def->table->partition)
            what = "partition";
        if (what)
            return err_set(ML_ECONFIG,
                           "stream '%s': '%s' is not supported with a PostgreSQL warehouse yet "
                           "(docs/postgres.md)",
                           st->name, what);
    }
    return 0;
}

/* load_runs row and lease, one transaction: visible only with its lease */
static int begin_run(struct pg_run *ctx, const char *streams)
{
    static const char run_sql[] =
        "INSERT INTO load_runs (started_at, status, streams, host, pid, version) VALUES (" PG_NOW
        ", 'running', $1, $2, $3::bigint, $4) RETURNING run_id";
    static const char lease_sql[] =
        "INSERT INTO load_run_leases (run_id, token, node, connection_id, heartbeat_at, "
        "expires_at) VALUES ($1::bigint, $2, " LEASE_PG_NODE_SQL ", pg_backend_pid(), " PG_NOW
        ", " PG_NOW " + 3 * $3::integer * interval '1 second')";
    char host[256] = "", pid[32], interval[16];
    const char *p[4] = {streams, host, pid, MASKLOAD_VERSION};
    struct pg_result *r = NULL;
    const char *const *row;
    int rc;
    gethostname(host, sizeof(host) - 1);
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    snprintf(interval, sizeof(interval), "%u", ctx->cfg->load.heartbeat_interval);
    rc = lease_new_token(ctx->token);
    if (!rc)
        rc = pg_begin(ctx->pg);
    if (!rc)
        rc = pg_query_params(ctx->pg, run_sql, 4, p, NULL, &r);
    if (!rc && pg_result_next(r, &row, NULL) == 1 && row[0])
        ctx->run_id = strtoull(row[0], NULL, 10);
    pg_result_free(r);
    if (!rc && !ctx->run_id)
        rc = err_set(ML_EDB, "no run id returned");
    snprintf(ctx->run, sizeof(ctx->run), "%llu", ctx->run_id);
    if (!rc) {
        const char *lp[3] = {ctx->run, ctx->token, interval};
        rc = pg_exec_params(ctx->pg, lease_sql, 3, lp, NULL);
    }
    if (!rc)
        rc = pg_commit(ctx->pg);
    if (rc) {
        pg_rollback(ctx->pg);
        ctx->run_id = 0;
        return err_prefix(rc, "recording the run in load_runs (did `maskload init` run?)");
    }
    rc = heartbeat_start(ctx->cfg, ctx->run_id, ctx->token, &ctx->hb);
    return rc ? err_prefix(rc, "run %llu", ctx->run_id) : 0;
}

static int record_end(struct pg_run *ctx, int status_rc, const char *error_text)
{
    static const char end_sql[] = "UPDATE load_runs SET finished_at = " PG_NOW
                                  ", status = $2, error_text = $3 WHERE run_id = $1::bigint";
    static const char unlease_sql[] = "DELETE FROM load_run_leases WHERE run_id = $1::bigint";
    const char *p[3] = {ctx->run, status_rc ? "failed" : "succeeded", error_text};
    int rc;
    heartbeat_stop(ctx->hb);
    ctx->hb = NULL;
    if (pg_connection_lost(ctx->pg)) {
        pg_close(ctx->pg);
        ctx->pg = NULL;
        rc = conn_pg_warehouse(ctx->cfg, &ctx->pg);
        if (rc)
            return err_prefix(rc, "reconnecting to record the end of run %llu", ctx->run_id);
    }
    rc = pg_exec_params(ctx->pg, end_sql, 3, p, NULL);
    if (!rc && pg_exec_params(ctx->pg, unlease_sql, 1, p, NULL))
        log_debug("run %llu: lease not deleted: %s", ctx->run_id, err_msg());
    return rc ? err_prefix(rc, "recording the end of run %llu in load_runs", ctx->run_id) : 0;
}

/* ---- one batch ---- */

static int resolve_with(void *arg, const char *kind, const char *const *values, const size_t *lens,
                        size_t n, unsigned long long *ids, unsigned long long *created)
{
    struct pg_run *ctx = arg;
    return surrogate_pg_resolve(ctx->sur_mac, ctx->pg, kind, values, lens, n, ids, created);
}

static int resolve_table(struct pg_run *ctx, struct batch *b, struct table_rows *t,
                         unsigned long long *created)
{
    return batch_resolve_surrogates(b, t, resolve_with, ctx, created);
}

static int flush_batch(struct pg_run *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total)
{
    static const char counts_sql[] =
        "UPDATE load_run_streams SET pages = pages + $3::bigint, fetched = fetched + $4::bigint, "
        "loaded = loaded + $5::bigint, rejected = rejected + $6::bigint, surrogates_created = "
        "surrogates_created + $7::bigint, duplicates = duplicates + $8::bigint, unknown_fields = "
        "unknown_fields + $9::bigint, invalid_nulled = invalid_nulled + $10::bigint "
        "WHERE run_id = $1::bigint AND stream = $2";
    static const struct retry_policy policy = {
        .retries = PG_TX_ATTEMPTS - 1, .base_ms = 100, .max_ms = 1600};
    const unsigned ntables = batch_ntables(b);
    struct batch_counts n = batch_counts(b);
    unsigned long long created = 0, written = 0;
    unsigned attempt = 0;
    int rc;
    if (n.records == 0 && pages == 0)
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
    for (unsigned t = 0; !rc && t < ntables; t++)
        rc = resolve_table(ctx, b, batch_rows(b, t), &created);
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
    for (unsigned c = 0; !rc && c < batch_def(b)->nchildren; c++)
        rc = writer_pg_trim_children(ctx->pg, &ctx->sql, b, c);
    for (unsigned t = 0; !rc && t < ntables; t++) {
        unsigned long long w = 0;
        rc = writer_pg_write(ctx->writer, ctx->pg, b, batch_rows(b, t), ctx->run_id, &w);
        written += w;
    }
    if (!rc)
        rc = writer_pg_rejects(ctx->pg, b, stream, ctx->run_id);
    if (!rc) {
        char v[8][32];
        const char *p[10] = {ctx->run, stream, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]};
        snprintf(v[0], sizeof(v[0]), "%llu", pages);
        snprintf(v[1], sizeof(v[1]), "%zu", n.records);
        snprintf(v[2], sizeof(v[2]), "%zu", n.accepted);
        snprintf(v[3], sizeof(v[3]), "%zu", n.rejected);
        snprintf(v[4], sizeof(v[4]), "%llu", created);
        snprintf(v[5], sizeof(v[5]), "%zu", n.duplicates);
        snprintf(v[6], sizeof(v[6]), "%zu", n.unknown_records);
        snprintf(v[7], sizeof(v[7]), "%zu", n.invalid_nulled);
        rc = pg_exec_params(ctx->pg, counts_sql, 10, p, NULL);
    }
    if (!rc)
        rc = pg_commit(ctx->pg);
    if (rc) {
        pg_rollback(ctx->pg);
        if (pg_error_class(ctx->pg) == DB_ERR_RETRY_TX && !retry_stop_requested() &&
            attempt < PG_TX_ATTEMPTS) {
            unsigned ms = retry_backoff_ms(&policy, attempt, retry_rng_next(&ctx->rng));
            ctx->tx_retries++;
            log_warn("stream '%s': %s; retrying the whole batch transaction in %u ms (attempt %u "
                     "of %u)",
                     stream, err_msg(), ms, attempt + 1, PG_TX_ATTEMPTS);
            if (retry_sleep_ms(ms) == 0)
                goto again;
        }
        return rc;
    }
    {
        size_t rows = 0;
        for (unsigned t = 0; t < ntables; t++)
            rows += batch_rows(b, t)->nrows;
        ctx->unchanged += rows >= written ? rows - written : 0;
    }
    total->pages += pages;
    total->fetched += n.records;
    total->loaded += n.accepted;
    total->rejected += n.rejected;
    total->surrogates_created += created;
    ctx->surrogates += created;
    batch_reset(b);
    return 0;
}

/* ---- one stream ---- */

static int load_stream(struct pg_run *ctx, const struct config_stream *st)
{
    static const char start_sql[] = "INSERT INTO load_run_streams (run_id, started_at, stream) "
                                    "VALUES ($1::bigint, " PG_NOW ", $2)";
    static const char end_sql[] = "UPDATE load_run_streams SET finished_at = " PG_NOW
                                  " WHERE run_id = $1::bigint AND stream = $2";
    const struct stream_def *def = st->def;
    const char *p[2] = {ctx->run, st->name};
    struct source *src = NULL;
    struct batch *b = NULL;
    struct load_stream_counts total = {0};
    unsigned long long pages = 0, unchanged0 = ctx->unchanged;
    json_doc *doc = NULL;
    int rc = pg_exec_params(ctx->pg, start_sql, 2, p, NULL);
    if (rc)
        return err_prefix(rc, "stream '%s': recording the run", st->name);
    b = batch_new(def);
    doc = json_doc_new();
    rc = b && doc ? source_open(ctx->cfg, st, &src) : err_set(ML_ENOMEM, "out of memory");
    while (!rc) {
        struct source_page pg;
        rc = source_next_page(src, &pg);
        if (rc <= 0)
            break;
        rc = 0;
        pages++;
        for (size_t idx = 0, nrec = json_page_count(pg.records); !rc && idx < nrec; idx++) {
            unsigned long line = json_page_line(pg.records, idx);
            size_t rejects = batch_counts(b).rejected;
            rc = json_page_parse_record(pg.records, idx, doc);
            if (rc == ML_ERECORD)
                rc = mapping_reject_unparsed(b, err_msg(), pg.ref, idx, line);
            else if (!rc)
                rc = mapping_map_record_at(b, json_root(doc), &ctx->mopt, pg.ref, idx, line);
            if (!rc)
                rc = source_record_outcome(src, idx, batch_counts(b).rejected > rejects);
        }
        source_page_release(&pg);
        /* batches end at page boundaries; a source acknowledging after
         * commit acknowledges whole pages */
        if (!rc && batch_counts(b).records >= ctx->cfg->load.batch_size) {
            rc = flush_batch(ctx, b, st->name, pages, &total);
            pages = 0;
            if (!rc)
                rc = source_committed(src);
        }
        if (!rc && retry_stop_requested())
            rc = err_set(ML_EIO, "interrupted by a signal");
    }
    if (!rc)
        rc = flush_batch(ctx, b, st->name, pages, &total);
    if (!rc)
        rc = source_committed(src);
    source_close(src);
    batch_free(b);
    json_free(doc);
    if (!rc)
        rc = pg_exec_params(ctx->pg, end_sql, 2, p, NULL);
    if (rc)
        return err_prefix(rc, "stream '%s'", st->name);
    log_info("stream '%s': %llu pages, %llu records fetched, %llu loaded, %llu rejected, "
             "%llu surrogates created",
             st->name, total.pages, total.fetched, total.loaded, total.rejected,
             total.surrogates_created);
    if (ctx->unchanged > unchanged0)
        log_info("stream '%s': %llu rows unchanged in the warehouse, not written", st->name,
                 ctx->unchanged - unchanged0);
    return 0;
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

int load_pg_run(const struct config *cfg, const struct load_options *opt, struct load_result *res)
{
    struct pg_run ctx = {.cfg = cfg};
    struct buf names = BUF_INIT;
    const char *schema = cfg->warehouse.schema ? cfg->warehouse.schema : "maskload";
    size_t nrun = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    buf_init(&ctx.sql, 0);
    ctx.rng = retry_rng_seed();
    ctx.mopt.birth_date = cfg->pii.birth_date;
    if (loadrun_names(cfg, opt, &names, &nrun)) {
        buf_release(&names);
        return err_set(ML_ENOMEM, "out of memory");
    }
    if (!nrun) {
        buf_release(&names);
        return opt && opt->only_stream ? err_set(ML_EUSAGE, "unknown stream '%s'", opt->only_stream)
                                       : err_set(ML_ECONFIG, "no streams configured");
    }
    rc = refuse_unsupported(cfg, opt);
    if (!rc)
        rc = config_require_digest_key(cfg, "run");
    if (!rc)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx.sur_mac);
    if (!rc && cfg->pii.digest_key_len)
        rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &ctx.mopt.hmac);
    if (!rc)
        rc = writer_pg_new(&ctx.writer);
    if (!rc)
        rc = conn_pg_warehouse(cfg, &ctx.pg);
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
    if (!rc)
        log_info("run %llu started: streams %s", ctx.run_id, names.data);
    if (!rc)
        rc = loadrun_each(cfg, opt, load_stream_of, &ctx);
    if (ctx.run_id)
        rc = loadrun_end(rc, rc && pg_connection_lost(ctx.pg), ctx.run_id, record_end_of, &ctx);
    res->run_id = ctx.run_id;
    if (!rc)
        log_info("run %llu: %llu surrogates created, %llu batch transaction(s) retried", ctx.run_id,
                 ctx.surrogates, ctx.tx_retries);
    heartbeat_stop(ctx.hb);
    pg_close(ctx.pg);
    writer_pg_free(ctx.writer);
    crypto_mac_free(ctx.sur_mac);
    crypto_mac_free(ctx.mopt.hmac);
    buf_wipe(&ctx.sql);
    buf_release(&names);
    return rc;
}
