/* loadrows_mysql.c - loadrows.h for MySQL/MariaDB: rows through writer.h
 * (LOAD DATA LOCAL or multi-row INSERT, as load.method and the server
 * allow) after rowdiff.h left out the unchanged ones, the claim and the
 * children's tails by batchtx.h, surrogates by surrogate.h, history by
 * history.h, and batches under a Galera cluster's writeset limits. */
#include "loadrows.h"

#include <stdlib.h>

#include "batchtx.h"
#include "db.h"
#include "error.h"
#include "history.h"
#include "log.h"
#include "rowdiff.h"
#include "stages.h"
#include "surrogate.h"
#include "writer.h"
#include "banned.h"

struct my_rows {
    struct writer *writer;
};

static int my_open(const struct config *cfg, void **state)
{
    struct my_rows *s = calloc(1, sizeof(*s));
    int rc;
    *state = NULL;
    if (!s)
        return err_set(ML_ENOMEM, "out of memory");
    rc = writer_new(cfg->load.method, &s->writer);
    if (rc) {
        free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static void my_close(void *state)
{
    struct my_rows *s = state;
    if (!s)
        return;
    writer_free(s->writer);
    free(s);
}

/* Nothing of the writer lives in the session. */
static void my_session_reset(void *state)
{
    (void)state;
}

static void my_stats(const void *state, struct load_rows_stats *out)
{
    const struct my_rows *s = state;
    out->bulk_rows += writer_bulk_rows(s->writer);
    out->fell_back = out->fell_back || writer_fell_back(s->writer);
}

/* With `warehouse.hosts` (a cluster), a batch's transaction must stay under
 * the writeset limits the server reports: wsrep_max_ws_rows (a record may
 * write a main row, child rows, surrogate and bookkeeping rows: a quarter
 * of the limit in records) and wsrep_max_ws_size (at most 16 KiB of
 * writeset per record assumed). A limit of 0 or none reported changes
 * nothing. */
#define WS_ROWS_PER_RECORD  4
#define WS_BYTES_PER_RECORD 16384

static void my_batch_limit(const struct config *cfg, struct wh *w, unsigned long long *limit)
{
    unsigned long long rows = 0, bytes = 0, n = *limit;
    if (!cfg->warehouse.nhosts)
        return;
    db_writeset_limits(wh_db(w), &rows, &bytes);
    if (rows && rows / WS_ROWS_PER_RECORD < n)
        n = rows / WS_ROWS_PER_RECORD ? rows / WS_ROWS_PER_RECORD : 1;
    if (bytes && bytes / WS_BYTES_PER_RECORD < n)
        n = bytes / WS_BYTES_PER_RECORD ? bytes / WS_BYTES_PER_RECORD : 1;
    if (n < *limit)
        log_info("batches of at most %llu records (load.batch_size %u), under the cluster's "
                 "writeset limits (wsrep_max_ws_rows %llu, wsrep_max_ws_size %llu)",
                 n, cfg->load.batch_size, rows, bytes);
    *limit = n;
}

static int my_cache_new(const struct config *cfg, void **cache)
{
    struct surrogates *s = NULL;
    int rc =
        surrogates_new(cfg->pii.digest_key, cfg->pii.digest_key_len, cfg->load.surrogate_cache, &s);
    *cache = s;
    return rc;
}

static void my_cache_free(void *cache)
{
    surrogates_free(cache);
}

static void my_cache_stats(const void *cache, unsigned long long *lookups, unsigned long long *hits)
{
    struct surrogate_stats st = surrogates_stats(cache);
    *lookups += st.lookups;
    *hits += st.cache_hits;
}

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

static int my_resolve(void *cache, struct wh *w, struct batch *b, unsigned long long *created)
{
    struct resolve_arg ra = {cache, wh_db(w)};
    int rc = 0;
    for (unsigned t = 0; !rc && t < batch_ntables(b); t++)
        rc = batch_resolve_surrogates(b, batch_rows(b, t), resolve_with, &ra, created);
    return rc;
}

static int my_claim(void *state, struct wh *w, struct buf *sql, struct batch *b,
                    unsigned long long run_id)
{
    (void)state;
    return batchtx_claim(wh_db(w), sql, b, run_id);
}

/* The rows of `t` through the writer, leaving out the rows the warehouse
 * holds unchanged; a snapshot table (new each run: all of it is written)
 * by multi-row INSERT, since the bulk path remembers per table whether it
 * was empty, which a temporary table of one run cannot tell it. */
static int write_table(struct my_rows *s, struct wh *w, struct buf *sql, const struct batch *b,
                       struct table_rows *t, bool snapshot, unsigned long long run_id,
                       unsigned long long *unchanged)
{
    struct db *db = wh_db(w);
    size_t nsame = 0;
    bool fresh = false;
    uint64_t t0;
    int rc;
    bool *skip = calloc(t->nrows ? t->nrows : 1, sizeof(*skip));
    if (!skip)
        return err_set(ML_ENOMEM, "out of memory");
    /* nor compared with stored rows when the run found the table empty:
     * only its own rows are there (writer_table_fresh) */
    rc = snapshot ? 0 : writer_table_fresh(s->writer, db, t->def, &fresh);
    t0 = stage_now();
    if (!rc && !snapshot && !fresh)
        rc = rowdiff_mark_unchanged(w, sql, b, t, skip, &nsame);
    stage_add(STAGE_ROWDIFF, t0);
    if (!rc)
        *unchanged += nsame;
    if (!rc && nsame < t->nrows)
        rc = snapshot ? writer_write_insert(s->writer, db, b, t, skip, run_id)
                      : writer_write(s->writer, db, b, t, skip, run_id);
    free(skip);
    return rc;
}

static int my_write(void *state, struct wh *w, struct buf *sql, struct batch *b,
                    const struct table_def *snapshot, unsigned long long run_id,
                    unsigned long long *unchanged)
{
    struct db *db = wh_db(w);
    int rc = 0;
    for (unsigned c = 0; !rc && c < batch_def(b)->nchildren; c++)
        rc = batchtx_trim_children(db, sql, b, c);
    for (unsigned t = 0; !rc && t < batch_ntables(b); t++) {
        struct table_rows *rows = batch_rows(b, t);
        const struct table_def *def = rows->def;
        bool snap = snapshot && t == BATCH_MAIN;
        if (!rows->nrows)
            continue;
        if (snap)
            rows->def = snapshot;
        rc = write_table(state, w, sql, b, rows, snap, run_id, unchanged);
        rows->def = def;
    }
    return rc;
}

static int my_history_begin(struct wh *w, const struct stream_def *def, const char *as_of,
                            bool rebuild, void **hist)
{
    struct history *h = NULL;
    int rc = history_begin(wh_db(w), def, as_of, rebuild, &h);
    *hist = h;
    return rc;
}

static const struct table_def *my_history_table(const void *hist)
{
    return history_stage_table(hist);
}

static int my_history_merge(void *hist, unsigned long long run_id, unsigned long long rejected,
                            struct history_counts *n)
{
    return history_merge(hist, run_id, rejected, n);
}

static void my_history_free(void *hist)
{
    history_free(hist);
}

const struct load_rows_ops load_rows_mysql = {
    .reconnect_attempts = 1,
    .open = my_open,
    .close = my_close,
    .session_reset = my_session_reset,
    .stats = my_stats,
    .batch_limit = my_batch_limit,
    .cache_new = my_cache_new,
    .cache_free = my_cache_free,
    .cache_stats = my_cache_stats,
    .resolve = my_resolve,
    .claim = my_claim,
    .write = my_write,
    .history_begin = my_history_begin,
    .history_table = my_history_table,
    .history_merge = my_history_merge,
    .history_free = my_history_free,
};
