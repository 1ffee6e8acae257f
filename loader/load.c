#include "load.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "mapping.h"
#include "source.h"
#include "sqlgen.h"
#include "surrogate.h"
#include "version.h"
#include "banned.h"

/* Statements are cut at about this size, well under max_allowed_packet. */
#define STMT_TARGET (4u << 20)

static volatile sig_atomic_t stop_requested;

void load_request_stop(void)
{
    stop_requested = 1;
}

struct run_ctx {
    const struct config *cfg;
    struct db *db;
    struct surrogates *sur;
    unsigned long long run_id;
    struct map_options mopt;
    struct buf sql;
};

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

static int upsert_rows(struct run_ctx *ctx, const struct batch *b, struct table_rows *t)
{
    size_t r = 0;
    enum db_dialect dialect = db_dialect(ctx->db);
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

/* Deletes child rows past each parent's new end (a subscription array that
 * shrank). */
static int delete_child_tails(struct run_ctx *ctx, const struct batch *b)
{
    const struct table_def *t = b->child.def;
    size_t i = 0;
    if (!t)
        return 0;
    while (i < b->nchildren) {
        int rc;
        buf_reset(&ctx->sql);
        rc = buf_addf(&ctx->sql, "DELETE FROM `%s` WHERE ", t->name);
        for (size_t first = i; !rc && i < b->nchildren && i - first < 1000; i++)
            rc = buf_addf(&ctx->sql, "%s(`%s`=%lld AND `%s`>=%u)", i == first ? "" : " OR ",
                          t->cols[0].name, b->children[i].parent_key, t->cols[1].name,
                          b->children[i].count);
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
        if (rc)
            return err_prefix(rc, "trimming %s", t->name);
    }
    return 0;
}

static int insert_rejects(struct run_ctx *ctx, const struct batch *b, const char *stream)
{
    size_t i = 0;
    while (i < b->nrejects) {
        int rc;
        buf_reset(&ctx->sql);
        rc =
            buf_adds(&ctx->sql, "INSERT INTO load_rejects (run_id, stream, source_ref, record_key, "
                                "reason, payload, rejected_at) VALUES ");
        for (size_t first = i; !rc && i < b->nrejects && (i == first || ctx->sql.len < STMT_TARGET);
             i++) {
            const struct reject *r = &b->rejects[i];
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

static int flush_batch(struct run_ctx *ctx, struct batch *b, const char *stream,
                       unsigned long long pages, struct load_stream_counts *total)
{
    unsigned long long created = 0;
    int rc;
    if (b->records == 0 && pages == 0)
        return 0;
    rc = resolve_table(ctx, b, &b->main, &created);
    if (!rc)
        rc = resolve_table(ctx, b, &b->child, &created);
    if (rc)
        return rc;
    rc = db_begin(ctx->db);
    if (!rc)
        rc = delete_child_tails(ctx, b);
    if (!rc && b->main.nrows)
        rc = upsert_rows(ctx, b, &b->main);
    if (!rc && b->child.nrows)
        rc = upsert_rows(ctx, b, &b->child);
    if (!rc)
        rc = insert_rejects(ctx, b, stream);
    if (!rc) {
        buf_reset(&ctx->sql);
        rc = buf_addf(&ctx->sql,
                      "UPDATE load_run_streams SET pages=pages+%llu, fetched=fetched+%zu, "
                      "loaded=loaded+%zu, rejected=rejected+%zu, "
                      "surrogates_created=surrogates_created+%llu WHERE run_id=%llu AND stream=",
                      pages, b->records, b->accepted, b->nrejects, created, ctx->run_id);
        if (!rc)
            rc = db_append_quoted(ctx->db, &ctx->sql, stream, strlen(stream));
        if (!rc)
            rc = db_exec_len(ctx->db, ctx->sql.data, ctx->sql.len);
    }
    if (!rc)
        rc = db_commit(ctx->db);
    if (rc) {
        db_rollback(ctx->db);
        return rc;
    }
    total->pages += pages;
    total->fetched += b->records;
    total->loaded += b->accepted;
    total->rejected += b->nrejects;
    total->surrogates_created += created;
    batch_reset(b);
    return 0;
}

/* ---- one stream ---- */

static int load_stream(struct run_ctx *ctx, const struct config_stream *st)
{
    const struct stream_def *def = mapping_find(st->mapping ? st->mapping : st->name);
    struct source *src = NULL;
    struct batch b;
    struct load_stream_counts total = {0};
    unsigned long long pages = 0;
    struct buf ref = BUF_INIT;
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

    batch_init(&b, def);
    rc = source_open(ctx->cfg, st, &src);
    while (!rc) {
        struct source_page pg;
        size_t idx = 0;
        rc = source_next_page(src, &pg);
        if (rc <= 0)
            break;
        rc = 0;
        pages++;
        for (const json_node *rec = json_child(json_root(pg.doc)); !rc && rec;
             rec = json_next(rec), idx++) {
            buf_reset(&ref);
            rc = buf_addf(&ref, "%s#%zu", pg.ref, idx);
            if (!rc)
                rc = mapping_map_record(&b, rec, &ctx->mopt, ref.data);
        }
        source_page_release(&pg);
        /* batches end at page boundaries, so that a source acknowledging
         * after commit never acknowledges half a page */
        if (!rc && b.records >= ctx->cfg->load.batch_size) {
            rc = flush_batch(ctx, &b, st->name, pages, &total);
            pages = 0;
            if (!rc)
                rc = source_committed(src);
        }
        if (!rc && stop_requested)
            rc = err_set(ML_EIO, "interrupted by a signal");
    }
    if (!rc)
        rc = flush_batch(ctx, &b, st->name, pages, &total);
    if (!rc)
        rc = source_committed(src);
    source_close(src);
    batch_release(&b);
    buf_release(&ref);
    if (rc)
        return err_prefix(rc, "stream '%s'", st->name);
    log_info("stream '%s': %llu pages, %llu records fetched, %llu loaded, %llu rejected, "
             "%llu surrogates created",
             st->name, total.pages, total.fetched, total.loaded, total.rejected,
             total.surrogates_created);
    return 0;
}

/* ---- the run ---- */

static int begin_run(struct run_ctx *ctx, const char *streams)
{
    char host[256] = "";
    int rc;
    gethostname(host, sizeof(host) - 1);
    buf_reset(&ctx->sql);
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
    if (rc)
        return err_prefix(rc, "recording the run in load_runs (did `maskload init` run?)");
    ctx->run_id = db_insert_id(ctx->db);
    return 0;
}

static void end_run(struct run_ctx *ctx, int status_rc, const char *error_text)
{
    int rc;
    if (!ctx->run_id)
        return;
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
    if (rc)
        log_warn("could not record the end of run %llu: %s", ctx->run_id, err_msg());
}

int load_run(const struct config *cfg, const struct load_options *opt, struct load_result *res)
{
    struct run_ctx ctx = {.cfg = cfg};
    struct buf names = BUF_INIT;
    size_t nrun = 0;
    int rc;

    memset(res, 0, sizeof(*res));
    buf_init(&ctx.sql, 0);
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
    rc = surrogates_new(cfg->pii.digest_key, cfg->pii.digest_key_len, cfg->load.surrogate_cache,
                        &ctx.sur);
    if (!rc)
        rc = conn_warehouse(cfg, &ctx.db);
    if (!rc)
        rc = begin_run(&ctx, names.data);
    if (!rc)
        log_info("run %llu started: streams %s", ctx.run_id, names.data);
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        if (opt && opt->only_stream && strcmp(opt->only_stream, cfg->streams[i].name) != 0)
            continue;
        rc = load_stream(&ctx, &cfg->streams[i]);
    }
    if (ctx.db) {
        if (rc) {
            char saved[2048];
            snprintf(saved, sizeof(saved), "%s", err_msg());
            end_run(&ctx, rc, saved);
            err_set(rc, "%s", saved);
        } else {
            end_run(&ctx, 0, NULL);
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
    db_close(ctx.db);
    surrogates_free(ctx.sur);
    buf_wipe(&ctx.sql);
    buf_release(&names);
    return rc;
}
