/* loadrows_pg.c - loadrows.h for PostgreSQL: rows through writer_pg.h
 * (COPY straight into a table empty at the run's start, else the rows
 * rowdiff.h finds changed by COPY into staging and one set-based upsert), the claim and the
 * children's tails by writer_pg.h, surrogates by surrogate_pg.h, history by history_pg.h. */
#include "loadrows.h"

#include <stdlib.h>

#include "crypto.h"
#include "error.h"
#include "history_pg.h"
#include "log.h"
#include "pg.h"
#include "rowdiff.h"
#include "stages.h"
#include "surrogate_pg.h"
#include "writer_pg.h"
#include "banned.h"

/* Connection attempts of one reconnect: with retry.h's waits in between
 * (load.c: 250 ms doubling to 4 s, about 15 s in all), time for a standby
 * to be promoted. */
#define PG_RECONNECT_ATTEMPTS 6

static int p_open(const struct config *cfg, void **state)
{
    struct writer_pg *w = NULL;
    int rc = writer_pg_new(&w);
    (void)cfg;
    *state = w;
    return rc;
}

static void p_close(void *state)
{
    writer_pg_free(state);
}

/* The staging tables were the lost session's. */
static void p_session_reset(void *state)
{
    writer_pg_session_reset(state);
}

/* COPY is the only path: nothing to tell apart. */
static void p_stats(const void *state, struct load_rows_stats *out)
{
    (void)state;
    (void)out;
}

/* No writeset limits: a batch is load.batch_size records. */
static void p_batch_limit(const struct config *cfg, struct wh *w, unsigned long long *limit)
{
    (void)cfg;
    (void)w;
    (void)limit;
}

struct pg_cache {
    struct crypto_mac *mac;           /* surrogate digests */
    struct surrogate_pg_cache *cache; /* ids by digest */
};

static void p_cache_free(void *cache)
{
    struct pg_cache *c = cache;
    if (!c)
        return;
    crypto_mac_free(c->mac);
    surrogate_pg_cache_free(c->cache);
    free(c);
}

static int p_cache_new(const struct config *cfg, void **cache)
{
    struct pg_cache *c = calloc(1, sizeof(*c));
    int rc;
    *cache = NULL;
    if (!c)
        return err_set(ML_ENOMEM, "out of memory");
    rc = crypto_mac_new(cfg->pii.digest_key, cfg->pii.digest_key_len, &c->mac);
    if (!rc)
        rc = surrogate_pg_cache_new(cfg->load.surrogate_cache, &c->cache);
    if (rc) {
        p_cache_free(c);
        return rc;
    }
    *cache = c;
    return 0;
}

static void p_cache_stats(const void *cache, unsigned long long *lookups, unsigned long long *hits)
{
    const struct pg_cache *c = cache;
    unsigned long long l = 0, h = 0;
    surrogate_pg_cache_stats(c->cache, &l, &h);
    *lookups += l;
    *hits += h;
}

struct resolve_on {
    struct pg_cache *c;
    struct pg *pg;
};

static int resolve_with(void *arg, const char *kind, const char *const *values, const size_t *lens,
                        size_t n, unsigned long long *ids, unsigned long long *created)
{
    struct resolve_on *on = arg;
    return surrogate_pg_resolve_cached(on->c->cache, on->c->mac, on->pg, kind, values, lens, n, ids,
                                       created);
}

static int p_resolve(void *cache, struct wh *w, struct batch *b, unsigned long long *created)
{
    struct resolve_on on = {cache, wh_pg(w)};
    int rc = 0;
    for (unsigned t = 0; !rc && t < batch_ntables(b); t++)
        rc = batch_resolve_surrogates(b, batch_rows(b, t), resolve_with, &on, created);
    return rc;
}

static int p_claim(void *state, struct wh *w, struct buf *sql, struct batch *b,
                   unsigned long long run_id)
{
    size_t dropped = 0;
    int rc = writer_pg_claim(wh_pg(w), sql, b, run_id, &dropped);
    (void)state;
    if (!rc && dropped)
        log_info("%zu records already processed by an earlier transaction (redelivered): skipped",
                 dropped);
    return rc;
}

/* The rows of `t`: by a direct COPY into a table the run found empty
 * (*direct: all of them went so), else through staging and the upsert,
 * leaving out the rows rowdiff.h finds equal to their stored rows (a rerun
 * over unchanged data then reads its rows and writes none). A snapshot
 * table is temporary: always upserted, all of it. *written: the rows
 * inserted or changed. */
static int write_table(struct writer_pg *wr, struct wh *w, struct buf *sql, const struct batch *b,
                       struct table_rows *t, bool snapshot, unsigned long long run_id,
                       unsigned long long *written, bool *direct)
{
    struct pg *pg = wh_pg(w);
    bool fresh = false, *skip = NULL;
    size_t nsame = 0;
    uint64_t t0;
    int rc;
    rc = snapshot ? 0 : writer_pg_fresh(wr, pg, t->def, &fresh);
    if (!rc && !snapshot && !fresh) {
        skip = calloc(t->nrows, sizeof(*skip));
        t0 = stage_now();
        rc = skip ? rowdiff_mark_unchanged(w, sql, b, t, skip, &nsame)
                  : err_set(ML_ENOMEM, "out of memory");
        stage_add(STAGE_ROWDIFF, t0);
    }
    t0 = stage_now();
    if (!rc && fresh)
        rc = writer_pg_load(wr, pg, b, t, run_id, written, direct);
    else if (!rc && nsame < t->nrows)
        rc = writer_pg_write(wr, pg, b, t, skip, run_id, written);
    stage_add(STAGE_SERVER_LOAD, t0);
    free(skip);
    return rc;
}

/* The main rows first: when they all went by a direct COPY, none of their
 * keys was stored before, so a child table that was empty at the run's
 * start holds no row of theirs (a child row is only written with its
 * parent's); else each child table's tails past the parents' new counts
 * go, before the children are written. */
static int p_write(void *state, struct wh *w, struct buf *sql, struct batch *b,
                   const struct table_def *snapshot, unsigned long long run_id,
                   unsigned long long *unchanged)
{
    struct writer_pg *wr = state;
    struct pg *pg = wh_pg(w);
    int rc = 0;
    for (unsigned t = 0; !rc && t < batch_ntables(b); t++) {
        struct table_rows *rows = batch_rows(b, t);
        const struct table_def *def = rows->def;
        const bool snap = snapshot && t == BATCH_MAIN;
        unsigned long long written = 0;
        bool direct = false;
        if (snap)
            rows->def = snapshot;
        if (rows->nrows)
            rc = write_table(wr, w, sql, b, rows, snap, run_id, &written,
                             t == BATCH_MAIN ? &direct : NULL);
        rows->def = def;
        if (!rc)
            *unchanged += rows->nrows >= written ? rows->nrows - written : 0;
        for (unsigned c = 0; !rc && t == BATCH_MAIN && c < batch_def(b)->nchildren; c++) {
            bool fresh = false;
            if (direct && batch_def(b)->children[c].table)
                rc = writer_pg_fresh(wr, pg, batch_def(b)->children[c].table, &fresh);
            if (!rc && !fresh)
                rc = writer_pg_trim_children(pg, sql, b, c);
        }
    }
    return rc;
}

static int p_history_begin(struct wh *w, const struct stream_def *def, const char *as_of,
                           bool rebuild, void **hist)
{
    struct history_pg *h = NULL;
    int rc = history_pg_begin(wh_pg(w), def, as_of, rebuild, &h);
    *hist = h;
    return rc;
}

static const struct table_def *p_history_table(const void *hist)
{
    return history_pg_stage_table(hist);
}

static int p_history_merge(void *hist, unsigned long long run_id, unsigned long long rejected,
                           struct history_counts *n)
{
    return history_pg_merge(hist, run_id, rejected, n);
}

static void p_history_free(void *hist)
{
    history_pg_free(hist);
}

const struct load_rows_ops load_rows_pg = {
    .reconnect_attempts = PG_RECONNECT_ATTEMPTS,
    .open = p_open,
    .close = p_close,
    .session_reset = p_session_reset,
    .stats = p_stats,
    .batch_limit = p_batch_limit,
    .cache_new = p_cache_new,
    .cache_free = p_cache_free,
    .cache_stats = p_cache_stats,
    .resolve = p_resolve,
    .claim = p_claim,
    .write = p_write,
    .history_begin = p_history_begin,
    .history_table = p_history_table,
    .history_merge = p_history_merge,
    .history_free = p_history_free,
};
