/* loadrun.c - loadrun.h. */
#include "loadrun.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "progress.h"
#include "retry.h"
#include "source.h"
#include "stages.h"
#include "streamdef.h"
#include "banned.h"

bool loadrun_selected(const struct load_options *opt, const char *stream)
{
    return !opt || !opt->only_stream || strcmp(opt->only_stream, stream) == 0;
}

int loadrun_names(const struct config *cfg, const struct load_options *opt, struct buf *names,
                  size_t *nrun)
{
    int rc = 0;
    *nrun = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++) {
        if (!loadrun_selected(opt, cfg->streams[i].name))
            continue;
        rc = buf_addf(names, "%s%s", *nrun ? "," : "", cfg->streams[i].name);
        (*nrun)++;
    }
    return rc;
}

int loadrun_none(const struct config *cfg, const struct load_options *opt)
{
    struct buf all = BUF_INIT;
    int rc;
    if (!opt || !opt->only_stream)
        return err_set(ML_ECONFIG, "no streams configured");
    for (size_t i = 0; i < cfg->nstreams; i++)
        buf_addf(&all, "%s%s", i ? ", " : "", cfg->streams[i].name);
    rc = err_set(ML_EUSAGE, "unknown stream '%s' (streams: %s)", opt->only_stream,
                 all.len ? all.data : "none");
    buf_release(&all);
    return rc;
}

int loadrun_each(const struct config *cfg, const struct load_options *opt,
                 int (*load)(void *arg, const struct config_stream *st), void *arg)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < cfg->nstreams; i++)
        if (loadrun_selected(opt, cfg->streams[i].name))
            rc = load(arg, &cfg->streams[i]);
    return rc;
}

bool loadrun_failover_count(const struct config *cfg, unsigned *failovers, const char *stream,
                            const char *redo, char *why, size_t len)
{
    if (*failovers >= cfg->warehouse.failovers) {
        if (cfg->warehouse.failovers)
            err_prefix(ML_EDB, "after %u failover(s) (warehouse.failovers)", *failovers);
        return false;
    }
    snprintf(why, len, "%s", err_msg());
    (*failovers)++;
    log_warn("stream '%s': lost the warehouse connection (%s); failing over (%u of %u) and %s",
             stream, why, *failovers, cfg->warehouse.failovers, redo);
    return true;
}

int loadrun_end(int rc, bool lost, unsigned long long run_id,
                int (*end)(void *arg, int status_rc, const char *error_text), void *arg)
{
    char saved[2048];
    if (!rc)
        return end(arg, 0, NULL);
    snprintf(saved, sizeof(saved), "%s%s", lost ? "lost the connection to the warehouse: " : "",
             err_msg());
    if (end(arg, rc, saved)) {
        char why[1024]; /* err_set must not read the buffer it writes */
        snprintf(why, sizeof(why), "%s", err_msg());
        return err_set(rc, "%s (and run %llu could not be marked failed: %s)", saved, run_id, why);
    }
    return err_set(rc, "%s", saved);
}

/* The tables of def, main then children, as they are named. */
int loadrun_read_pages(int rc, struct batch_turns *sb, const struct batch_turn_ops *ops, void *arg,
                       struct source *src, const char *stream, json_doc *doc,
                       const struct loadrun_pages *o, struct load_stream_counts *total)
{
    /* what was handed over to be written, for the progress line: `total`
     * is the writer's while it writes */
    struct load_stream_counts handed = {0};
    unsigned long long pages = 0, erased = 0;
    struct progress *prog = rc ? NULL : progress_start(stream, o->progress_interval);
    while (!rc) {
        struct source_page pg;
        uint64_t t0 = stage_now();
        rc = source_next_page(src, &pg);
        stage_add(STAGE_FETCH_WAIT, t0);
        if (rc == 0 && o->follow && !retry_stop_requested()) {
            /* an empty receive commits what is pending (its messages are
             * acknowledged now: a queue is written in line) and polls again */
            rc = batch_turns_hand_off(sb, ops, arg, src, stream, pages, erased, total);
            pages = erased = 0;
            continue;
        }
        if (rc <= 0)
            break;
        pages++;
        rc = batch_turns_map_page(sb, &pg, doc, o->erased_set, o->mopt, src, &erased);
        source_page_release(&pg);
        if (!rc && batch_counts(sb->b).records >= sb->limit) {
            handed.fetched += batch_counts(sb->b).records + erased;
            handed.pages += pages;
            handed.rejected += batch_counts(sb->b).rejected;
            rc = batch_turns_hand_off(sb, ops, arg, src, stream, pages, erased, total);
            pages = erased = 0;
        }
        if (!rc)
            progress_update(prog, handed.fetched + batch_counts(sb->b).records + erased,
                            handed.pages + pages, handed.rejected + batch_counts(sb->b).rejected,
                            source_fraction(src));
        if (!rc && retry_stop_requested()) {
            if (o->follow)
                break; /* the way --follow ends: what was read commits below */
            rc = err_set(ML_EIO, "interrupted by a signal");
        }
        if (!rc && o->abort && atomic_load(o->abort))
            rc = err_set(ML_EIO, "stopped: another stream of the run failed");
    }
    rc = batch_turns_finish(sb, ops, arg, rc, src, stream, pages, erased, total);
    progress_end(prog);
    return rc;
}

void loadrun_log_unknown_fields(struct batch *b, const struct batch *spare, const char *stream,
                                int rc)
{
    struct buf names = BUF_INIT;
    char saved[2048];
    if (!b)
        return;
    if (spare)
        batch_merge_unknown_names(b, spare);
    if (!batch_unknown_name_count(b))
        return;
    snprintf(saved, sizeof(saved), "%s", rc ? err_msg() : "");
    if (batch_unknown_names(b, &names) == 0)
        log_warn("stream '%s': records carry fields outside the mapping, accepted but not stored: "
                 "%s",
                 stream, names.data);
    buf_release(&names);
    if (rc)
        err_set(rc, "%s", saved);
}

void loadrun_stream_log(const char *stream, const struct load_stream_counts *t,
                        unsigned long long erased, unsigned long long unchanged)
{
    log_info("stream '%s': %llu pages, %llu records fetched, %llu loaded, %llu rejected, "
             "%llu surrogates created, %llu duplicates (last one won), %llu with unknown fields",
             stream, t->pages, t->fetched, t->loaded, t->rejected, t->surrogates_created,
             t->duplicates, t->unknown_records);
    if (t->invalid_nulled)
        log_info("stream '%s': %llu malformed optional values stored as NULL (on_invalid: null)",
                 stream, t->invalid_nulled);
    if (erased)
        log_info("stream '%s': %llu records of erased data subjects skipped (stored nowhere)",
                 stream, erased);
    if (unchanged)
        log_info("stream '%s': %llu rows unchanged in the warehouse, not written", stream,
                 unchanged);
}

void loadrun_add_counts(struct load_stream_counts *t, const struct batch_counts *n)
{
    t->loaded += n->accepted;
    t->rejected += n->rejected;
    t->duplicates += n->duplicates;
    t->unknown_records += n->unknown_records;
    t->invalid_nulled += n->invalid_nulled;
}

int loadrun_history_source_ok(const struct config *cfg, const struct config_stream *st)
{
    const struct config_source *src = config_find_source(cfg, st->source);
    if (src && src->kind == SOURCE_SQS)
        return err_set(ML_ECONFIG,
                       "'history: scd2' needs a full snapshot; source '%s' is a queue (kind sqs)",
                       st->source);
    return 0;
}

void loadrun_history_log(const char *stream, const char *as_of, const struct history_counts *n,
                         unsigned long long rejected)
{
    log_info("stream '%s': history as of %s: %llu versions opened, %llu closed as changed, "
             "%llu closed as deleted",
             stream, as_of, n->opened, n->changed, n->deleted);
    if (n->deletions_skipped)
        log_warn("stream '%s': %s: no key was closed as deleted this run", stream,
                 rejected ? "the snapshot had rejected records" : "the snapshot was empty");
}

int loadrun_stream_step(struct wh *w, enum loadrun_step step, unsigned long long run_id,
                        const char *stream, struct cursor_run *cur)
{
    switch (step) {
    case LOADRUN_STEP_START:
        return runs_stream_start(w, run_id, stream);
    case LOADRUN_STEP_CURSOR:
        return cursor_run_store_unstored(cur, w, run_id, stream);
    case LOADRUN_STEP_END:
        break;
    }
    return runs_stream_finish(w, run_id, stream);
}

const char *loadrun_step_redo(enum loadrun_step step)
{
    return step == LOADRUN_STEP_START ? "recording the stream's start"
                                      : "recording the stream's end";
}

bool loadrun_tx_retry(enum db_err_class cls, unsigned attempt, const char *stream, const char *what,
                      uint64_t *rng, unsigned long long *retries)
{
    static const struct retry_policy policy = {
        .retries = LOADRUN_TX_ATTEMPTS - 1, .base_ms = 100, .max_ms = 1600};
    unsigned ms;
    if (cls != DB_ERR_RETRY_TX || retry_stop_requested())
        return false;
    if (attempt >= LOADRUN_TX_ATTEMPTS) {
        err_prefix(ML_EDB, "%s failed %u times", what, attempt);
        return false;
    }
    ms = retry_backoff_ms(&policy, attempt, retry_rng_next(rng));
    (*retries)++;
    log_warn("stream '%s': %s; retrying %s in %u ms (attempt %u of %u)", stream, err_msg(), what,
             ms, attempt + 1, LOADRUN_TX_ATTEMPTS);
    return retry_sleep_ms(ms) == 0;
}

int loadrun_open_source(struct wh *w, const struct config *cfg, const struct config_stream *st,
                        bool full, struct cursor_run *cur, struct source **src)
{
    const struct incremental_def *inc = st->def->incremental;
    char stored[CURSOR_TEXT_MAX], param[CURSOR_TEXT_MAX];
    bool found = false;
    int rc;
    if (!inc)
        return source_open(cfg, st, src);
    rc = cursor_read_stored(w, inc->kind, inc->cursor, st->name, stored, &found);
    if (rc)
        return rc;
    cursor_run_start(cur, inc->kind, inc->sorted, found ? stored : NULL, full);
    if (full || !found) {
        log_info("stream '%s': incremental, reading everything (%s)", st->name,
                 found ? "--full" : "no cursor stored yet");
        return source_open(cfg, st, src);
    }
    if (cursor_param(inc->kind, stored, inc->lookback_s, param))
        return err_set(ML_EDB, "stream '%s': cursor '%s' minus the lookback is out of range",
                       st->name, stored);
    log_info("stream '%s': incremental from cursor %s (lookback %llds): %s=%s", st->name, stored,
             inc->lookback_s, inc->param, param);
    return source_open_since(cfg, st, inc->param, param, src);
}

void loadrun_batch_counts(const struct batch_counts *n, unsigned long long pages,
                          unsigned long long erased, unsigned long long created,
                          unsigned long long out[RUN_NCOUNTS])
{
    out[RUN_pages] = pages;
    out[RUN_fetched] = n->records + erased;
    out[RUN_loaded] = n->accepted;
    out[RUN_rejected] = n->rejected;
    out[RUN_duplicates] = n->duplicates;
    out[RUN_erased] = erased;
    out[RUN_unknown_fields] = n->unknown_records;
    out[RUN_invalid_nulled] = n->invalid_nulled;
    out[RUN_surrogates_created] = created;
}

static const struct table_def *table_at(const struct stream_def *def, unsigned i)
{
    return i == 0 ? def->table : def->children[i - 1].table;
}

static bool kind_in_table(const struct table_def *t, const char *kind)
{
    for (unsigned c = 0; t && c < t->ncols; c++)
        if (t->cols[c].type == COL_SURROGATE && t->cols[c].kind &&
            strcmp(t->cols[c].kind, kind) == 0)
            return true;
    return false;
}

bool loadrun_share(const struct stream_def *a, const struct stream_def *b, char *why, size_t len)
{
    if (!a || !b)
        return false;
    for (unsigned i = 0; i <= a->nchildren; i++) {
        const struct table_def *ta = table_at(a, i);
        if (!ta)
            continue;
        for (unsigned j = 0; j <= b->nchildren; j++) {
            const struct table_def *tb = table_at(b, j);
            if (tb && strcmp(ta->name, tb->name) == 0) {
                snprintf(why, len, "table %s", ta->name);
                return true;
            }
        }
        for (unsigned c = 0; c < ta->ncols; c++) {
            const char *kind = ta->cols[c].kind;
            if (ta->cols[c].type != COL_SURROGATE || !kind)
                continue;
            for (unsigned j = 0; j <= b->nchildren; j++)
                if (kind_in_table(table_at(b, j), kind)) {
                    snprintf(why, len, "surrogate kind '%s'", kind);
                    return true;
                }
        }
    }
    return false;
}

int loadrun_group(const struct config *cfg, const struct load_options *opt,
                  struct loadrun_groups *g)
{
    unsigned *label;
    memset(g, 0, sizeof(*g));
    g->streams = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*g->streams));
    g->group = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*g->group));
    label = calloc(cfg->nstreams ? cfg->nstreams : 1, sizeof(*label));
    if (!g->streams || !g->group || !label) {
        free(label);
        loadrun_groups_free(g);
        return err_set(ML_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < cfg->nstreams; i++)
        if (loadrun_selected(opt, cfg->streams[i].name)) {
            label[g->n] = (unsigned)g->n;
            g->streams[g->n++] = &cfg->streams[i];
        }
    /* one label per group: the smallest index among its streams */
    for (size_t i = 0; i < g->n; i++)
        for (size_t j = i + 1; j < g->n; j++) {
            char why[128];
            unsigned from, to;
            if (label[i] == label[j] ||
                !loadrun_share(g->streams[i]->def, g->streams[j]->def, why, sizeof(why)))
                continue;
            from = label[i] > label[j] ? label[i] : label[j];
            to = label[i] < label[j] ? label[i] : label[j];
            for (size_t k = 0; k < g->n; k++)
                if (label[k] == from)
                    label[k] = to;
        }
    /* numbered in the order of their first stream */
    for (size_t i = 0; i < g->n; i++) {
        if (label[i] == i)
            g->group[i] = (unsigned)g->ngroups++;
        else
            g->group[i] = g->group[label[i]];
    }
    free(label);
    return 0;
}

void loadrun_groups_free(struct loadrun_groups *g)
{
    free(g->streams);
    free(g->group);
    memset(g, 0, sizeof(*g));
}

/* ---- streams in parallel ---- */

/* What the workers of a parallel run share. */
struct par_run {
    const struct loadrun_workers *ops;
    struct loadrun_groups groups;
    pthread_mutex_t mu;
    size_t next_group; /* the next group to start (mu) */
    atomic_bool abort; /* a stream failed: the others stop after their batch */
    int rc;            /* the first failure's code and message (mu) */
    char msg[2048];
};

struct par_worker {
    struct par_run *pr;
    void *ctx; /* ops->open's */
    pthread_t thread;
    bool started;
    uint64_t cpu_ns; /* the worker thread's CPU at its end */
};

/* Takes the next group not started yet: its number, or ngroups when none
 * is left (or the run is failing). */
static size_t par_next_group(struct par_run *pr)
{
    size_t g;
    pthread_mutex_lock(&pr->mu);
    g = atomic_load(&pr->abort) ? pr->groups.ngroups : pr->next_group;
    if (g < pr->groups.ngroups)
        pr->next_group++;
    pthread_mutex_unlock(&pr->mu);
    return g;
}

/* A worker: groups one after the other, each group's streams in config
 * order, until none is left or a stream failed. */
static void *par_worker_main(void *arg)
{
    struct par_worker *w = arg;
    struct par_run *pr = w->pr;
    for (size_t g; (g = par_next_group(pr)) < pr->groups.ngroups;) {
        for (size_t i = 0; i < pr->groups.n; i++) {
            int rc;
            if (pr->groups.group[i] != g)
                continue;
            if (atomic_load(&pr->abort))
                break;
            rc = pr->ops->load(w->ctx, pr->groups.streams[i]);
            if (!rc)
                continue;
            pthread_mutex_lock(&pr->mu);
            if (!pr->rc) {
                pr->rc = rc;
                snprintf(pr->msg, sizeof(pr->msg), "%s", err_msg());
                atomic_store(&pr->abort, true);
            } else {
                log_info("%s", err_msg()); /* a stream stopped because another failed */
            }
            pthread_mutex_unlock(&pr->mu);
            break;
        }
    }
    w->cpu_ns = stage_thread_cpu();
    return NULL;
}

/* "a, b | c": the groups' streams, for the log. */
static int describe_groups(const struct loadrun_groups *g, struct buf *desc)
{
    int rc = 0;
    for (size_t k = 0; !rc && k < g->ngroups; k++) {
        bool first = true;
        rc = buf_adds(desc, k ? " | " : "");
        for (size_t i = 0; !rc && i < g->n; i++)
            if (g->group[i] == k) {
                rc = buf_addf(desc, "%s%s", first ? "" : ", ", g->streams[i]->name);
                first = false;
            }
    }
    return rc;
}

/* Starts the workers (signals blocked in them), waits for all of them. */
static void par_start_join(struct par_run *pr, struct par_worker *w, size_t nw)
{
    sigset_t all, old;
    progress_lines_only();
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (size_t i = 0; i < nw; i++) {
        int e = pthread_create(&w[i].thread, NULL, par_worker_main, &w[i]);
        if (e) {
            pthread_mutex_lock(&pr->mu);
            if (!pr->rc) {
                pr->rc = err_set(ML_EIO, "cannot start a stream thread (error %d)", e);
                snprintf(pr->msg, sizeof(pr->msg), "%s", err_msg());
            }
            atomic_store(&pr->abort, true);
            pthread_mutex_unlock(&pr->mu);
            break;
        }
        w[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (size_t i = 0; i < nw; i++)
        if (w[i].started)
            pthread_join(w[i].thread, NULL);
}

int loadrun_parallel(const struct config *cfg, const struct load_options *opt, unsigned parallel,
                     const struct loadrun_workers *ops, void *base, size_t *nworkers)
{
    struct par_run pr = {.ops = ops};
    struct par_worker *w = NULL;
    struct buf desc = BUF_INIT;
    size_t nw;
    int rc;
    *nworkers = 0;
    if (parallel <= 1)
        return loadrun_each(cfg, opt, ops->load_base, base);
    rc = loadrun_group(cfg, opt, &pr.groups);
    if (rc)
        return rc;
    nw = pr.groups.ngroups < parallel ? pr.groups.ngroups : parallel;
    if (nw <= 1) {
        if (pr.groups.n > 1)
            log_info("streams one after the other (load.parallel_streams %u): they share tables or "
                     "surrogate kinds",
                     parallel);
        loadrun_groups_free(&pr.groups);
        return loadrun_each(cfg, opt, ops->load_base, base);
    }
    rc = describe_groups(&pr.groups, &desc);
    if (!rc)
        log_info("streams %zu at a time (load.parallel_streams %u), each on connections of its "
                 "own; groups run one after the other within: %s",
                 nw, parallel, desc.data);
    buf_release(&desc);
    w = rc ? NULL : calloc(nw, sizeof(*w));
    if (!rc && !w)
        rc = err_set(ML_ENOMEM, "out of memory");
    pthread_mutex_init(&pr.mu, NULL);
    atomic_init(&pr.abort, false);
    for (size_t i = 0; !rc && i < nw; i++) {
        w[i].pr = &pr;
        rc = ops->open(base, &pr.abort, &w[i].ctx);
        if (rc)
            err_prefix(rc, "opening the connections of a parallel stream");
    }
    if (!rc) {
        par_start_join(&pr, w, nw);
        rc = pr.rc;
        if (rc)
            err_set(rc, "%s", pr.msg);
    }
    for (size_t i = 0; w && i < nw; i++)
        if (w[i].ctx)
            ops->close(base, w[i].ctx, w[i].cpu_ns);
    free(w);
    pthread_mutex_destroy(&pr.mu);
    loadrun_groups_free(&pr.groups);
    *nworkers = nw;
    return rc;
}
