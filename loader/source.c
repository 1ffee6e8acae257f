#include "source.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "banned.h"

struct source {
    const struct source_ops *ops;
    void *impl;
};

int source_wrap(const struct source_ops *ops, void *impl, struct source **out)
{
    struct source *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s) {
        ops->close(impl);
        return err_set(ML_ENOMEM, "out of memory");
    }
    s->ops = ops;
    s->impl = impl;
    *out = s;
    return 0;
}

/* ---- prefetch: pages fetched and parsed ahead, in a background thread ----
 *
 * The wrapped source's next_page (fetch AND parse) runs in one thread that
 * keeps at most `depth` finished pages queued; the loader takes them in
 * order. Memory is bounded by depth + 2 pages (queued, in the making, in
 * use), whatever the size of the source. Only sources without a committed()
 * are wrapped: a source that acknowledges (a queue) must not have records
 * sitting unseen past their visibility timeout, and its committed() could not
 * run concurrently with its next_page(). The thread's error message (err_msg
 * is thread-local) is copied across and returned by the next call after the
 * pages it did produce. source_close stops the thread: it finishes the
 * request in flight (bounded by the source's timeouts) and exits. */

struct prefetched {
    json_page *records;
    char *ref;
};

struct prefetch {
    struct source *inner;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct prefetched *q; /* ring of depth entries */
    size_t depth, head, count;
    bool done, stop;
    int final_rc; /* 0 exhausted, <0 failed (valid when done) */
    char errmsg[2048];
    char *ref; /* ref of the page last handed out */
    unsigned long handed;
};

static void *prefetch_main(void *arg)
{
    struct prefetch *p = arg;
    for (;;) {
        struct source_page pg = {NULL, NULL};
        int rc;
        char *ref = NULL;
        pthread_mutex_lock(&p->mu);
        while (p->count == p->depth && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pthread_mutex_unlock(&p->mu);

        rc = p->inner->ops->next_page(p->inner->impl, &pg);
        if (rc > 0) {
            ref = strdup(pg.ref ? pg.ref : "");
            if (!ref) {
                json_page_free(pg.records);
                rc = err_set(ML_ENOMEM, "out of memory prefetching a page");
            }
        }
        pthread_mutex_lock(&p->mu);
        if (rc > 0 && !p->stop) {
            struct prefetched *slot = &p->q[(p->head + p->count) % p->depth];
            slot->records = pg.records;
            slot->ref = ref;
            p->count++;
        } else if (rc > 0) {
            json_page_free(pg.records);
            free(ref);
        } else {
            p->done = true;
            p->final_rc = rc;
            if (rc < 0)
                snprintf(p->errmsg, sizeof(p->errmsg), "%s", err_msg());
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (rc <= 0)
            break;
    }
    return NULL;
}

static int prefetch_next_page(void *impl, struct source_page *pg)
{
    struct prefetch *p = impl;
    int rc;
    pthread_mutex_lock(&p->mu);
    while (p->count == 0 && !p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    if (p->count) {
        struct prefetched *slot = &p->q[p->head];
        free(p->ref);
        p->ref = slot->ref;
        pg->records = slot->records;
        pg->ref = p->ref;
        slot->records = NULL;
        slot->ref = NULL;
        p->head = (p->head + 1) % p->depth;
        p->count--;
        p->handed++;
        pthread_cond_broadcast(&p->cv);
        rc = 1;
    } else {
        rc = p->final_rc;
        if (rc < 0)
            err_set(rc, "%s", p->errmsg);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static unsigned long prefetch_pages(const void *impl)
{
    return ((const struct prefetch *)impl)->handed;
}

static void prefetch_close(void *impl)
{
    struct prefetch *p = impl;
    if (!p)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    for (size_t i = 0; i < p->count; i++) {
        struct prefetched *slot = &p->q[(p->head + i) % p->depth];
        json_page_free(slot->records);
        free(slot->ref);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    source_close(p->inner);
    free(p->q);
    free(p->ref);
    free(p);
}

/* the producer's position: ahead of what was handed out by the pages queued */
static double prefetch_fraction(const void *impl)
{
    const struct prefetch *p = impl;
    return source_fraction(p->inner);
}

static const struct source_ops prefetch_ops = {
    prefetch_next_page, NULL, NULL, prefetch_pages, prefetch_close, prefetch_fraction};

/* Wraps *s (on success) in a prefetcher of `depth` pages when that is safe;
 * passes a failure `rc` of the open through. */
static int prefetch_maybe(const struct config *cfg, int rc, struct source **s)
{
    struct prefetch *p;
    unsigned depth = cfg->load.prefetch_pages;
    if (rc || depth == 0 || (*s)->ops->committed)
        return rc;
    p = calloc(1, sizeof(*p));
    if (p)
        p->q = calloc(depth, sizeof(*p->q));
    if (!p || !p->q) {
        free(p);
        source_close(*s);
        *s = NULL;
        return err_set(ML_ENOMEM, "out of memory");
    }
    p->inner = *s;
    p->depth = depth;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    *s = NULL;
    if (pthread_create(&p->thread, NULL, prefetch_main, p) != 0) {
        prefetch_close(p);
        return err_set(ML_EIO, "cannot start the prefetch thread");
    }
    p->started = true;
    return source_wrap(&prefetch_ops, p, s);
}

int source_open(const struct config *cfg, const struct config_stream *st, struct source **out)
{
    const struct config_source *src = config_find_source(cfg, st->source);
    *out = NULL;
    if (!src)
        return err_set(ML_ECONFIG, "stream '%s': unknown source '%s'", st->name, st->source);
    switch (src->kind) {
    case SOURCE_HTTP:
        return prefetch_maybe(cfg, source_http_open(src, st->path, out), out);
    case SOURCE_SQS:
        return source_sqs_open(cfg, src, st, out); /* acknowledges: never prefetched */
    case SOURCE_FILE:
        return prefetch_maybe(cfg, source_file_open(src, out), out);
    }
    return err_set(ML_ECONFIG, "stream '%s': source '%s' is of an unknown kind", st->name,
                   src->name);
}

int source_probe(const struct config *cfg, const struct config_stream *st,
                 unsigned long long *records)
{
    const struct config_source *src = config_find_source(cfg, st->source);
    struct config_source once;
    struct source *s = NULL;
    struct source_page pg = {0};
    int rc;
    *records = 0;
    if (!src)
        return err_set(ML_ECONFIG, "stream '%s': unknown source '%s'", st->name, st->source);
    if (src->kind == SOURCE_SQS)
        return source_sqs_probe(src, records);
    once = *src; /* the same source, asked once */
    once.retries = 0;
    rc = src->kind == SOURCE_HTTP ? source_http_open(&once, st->path, &s)
                                  : source_file_open(&once, &s);
    if (!rc)
        rc = source_next_page(s, &pg);
    if (rc > 0) {
        *records = json_page_count(pg.records);
        rc = 0;
    }
    source_page_release(&pg);
    source_close(s);
    return rc;
}

int source_open_since(const struct config *cfg, const struct config_stream *st, const char *param,
                      const char *value, struct source **out)
{
    const struct config_source *src = config_find_source(cfg, st->source);
    struct buf path = BUF_INIT;
    int rc;
    *out = NULL;
    if (!src || src->kind != SOURCE_HTTP)
        return err_set(ML_ECONFIG, "stream '%s': only an http source can be incremental", st->name);
    rc = buf_adds(&path, st->path ? st->path : "");
    if (!rc)
        rc = buf_addc(&path, strchr(path.data, '?') ? '&' : '?');
    if (!rc)
        rc = http_url_escape(&path, param);
    if (!rc)
        rc = buf_addc(&path, '=');
    if (!rc)
        rc = http_url_escape(&path, value);
    if (!rc)
        rc = prefetch_maybe(cfg, source_http_open(src, path.data, out), out);
    buf_release(&path);
    return rc;
}

int source_next_page(struct source *s, struct source_page *pg)
{
    pg->records = NULL;
    pg->ref = NULL;
    return s->ops->next_page(s->impl, pg);
}

void source_page_release(struct source_page *pg)
{
    json_page_free(pg->records);
    pg->records = NULL;
}

int source_record_outcome(struct source *s, size_t index, bool rejected)
{
    return s->ops->record_outcome ? s->ops->record_outcome(s->impl, index, rejected) : 0;
}

int source_committed(struct source *s)
{
    return s->ops->committed ? s->ops->committed(s->impl) : 0;
}

bool source_acknowledges(const struct source *s)
{
    return s->ops->committed != NULL;
}

double source_fraction(const struct source *s)
{
    return s->ops->fraction ? s->ops->fraction(s->impl) : -1;
}

unsigned long source_pages(const struct source *s)
{
    return s->ops->pages(s->impl);
}

void source_close(struct source *s)
{
    if (!s)
        return;
    s->ops->close(s->impl);
    free(s);
}
