/* batchturns.c - batchturns.h. */
#include "batchturns.h"

#include "error.h"
#include "log.h"
#include "stages.h"
#include "banned.h"

int batch_turns_open(struct batch_turns *t, const struct stream_def *def, struct pipeline *pipe,
                     const struct source *src, const struct batch_turn_ops *ops, void *ctx)
{
    *t = (struct batch_turns){0};
    t->pipe = pipe;
    t->pipelined = pipe && !source_acknowledges(src);
    t->limit = ops->limit(ctx);
    t->b = batch_new(def);
    if (t->b && t->pipelined)
        t->spare = batch_new(def);
    return t->b && (t->spare || !t->pipelined) ? 0 : err_set(ML_ENOMEM, "out of memory");
}

void batch_turns_free(struct batch_turns *t)
{
    batch_free(t->b);
    batch_free(t->spare);
    t->b = t->spare = NULL;
}

/* ops->presolve, timed; its failure logged and presolving turned off. */
static void presolve(const struct batch_turn_ops *ops, void *ctx, struct batch *b,
                     unsigned long long *created)
{
    uint64_t t0 = stage_now();
    *created = 0;
    /* as the writer does first: superseded rows need no surrogate */
    if (batch_compact(b) || ops->presolve(ctx, b, created)) {
        log_info("surrogates are resolved by the batch writer from now on (resolving them "
                 "ahead failed: %s)",
                 err_msg());
        ops->presolve_off(ctx);
    }
    stage_add(STAGE_AHEAD, t0);
}

int batch_turns_drain(struct batch_turns *t, const struct batch_turn_ops *ops, void *ctx)
{
    uint64_t t0;
    int rc;
    if (!t->pipelined)
        return 0;
    t0 = stage_now();
    rc = pipeline_wait(t->pipe);
    stage_add(STAGE_WRITER_WAIT, t0);
    t->limit = ops->limit(ctx);
    return rc;
}

int batch_turns_finish(struct batch_turns *t, const struct batch_turn_ops *ops, void *ctx, int rc,
                       struct source *src, const char *stream, unsigned long long pages,
                       unsigned long long erased, struct load_stream_counts *total)
{
    int wrc = batch_turns_drain(t, ops, ctx);
    if (!rc)
        rc = wrc;
    if (!rc) {
        struct batch_job last = {t->b, stream, pages, erased, total, 0, true};
        rc = ops->write(ctx, &last);
    }
    return rc ? rc : source_committed(src);
}

int batch_turns_map_page(struct batch_turns *t, const struct source_page *pg, json_doc *doc,
                         struct erase_set *erased_set, const struct map_options *mopt,
                         struct source *src, unsigned long long *erased)
{
    struct batch *b = t->b;
    const struct stream_def *def = batch_def(b);
    int rc = 0;
    for (size_t idx = 0, n = json_page_count(pg->records); !rc && idx < n; idx++) {
        unsigned long line = json_page_line(pg->records, idx);
        size_t rejects = batch_counts(b).rejected;
        bool is_erased = false;
        uint64_t t1 = stage_now(), t0;
        rc = json_page_parse_record(pg->records, idx, doc);
        t0 = stage_now();
        stage_add(STAGE_PARSE, t1);
        if (!rc)
            rc = erase_set_match(erased_set, def, json_root(doc), &is_erased);
        if (rc == ML_ERECORD)
            rc = mapping_reject_unparsed(b, err_msg(), pg->ref, idx, line);
        else if (!rc && is_erased)
            (*erased)++;
        else if (!rc)
            rc = mapping_map_record_at(b, json_root(doc), mopt, pg->ref, idx, line);
        stage_add(STAGE_MAP, t0);
        if (!rc)
            rc = source_record_outcome(src, idx, batch_counts(b).rejected > rejects);
    }
    return rc;
}

int batch_turns_hand_off(struct batch_turns *t, const struct batch_turn_ops *ops, void *ctx,
                         struct source *src, const char *stream, unsigned long long pages,
                         unsigned long long erased, struct load_stream_counts *total)
{
    struct batch *filled = t->b;
    unsigned long long created = 0;
    int rc;
    if (t->pipelined)
        presolve(ops, ctx, filled, &created);
    rc = batch_turns_drain(t, ops, ctx);
    if (rc)
        return rc;
    t->job = (struct batch_job){filled, stream, pages, erased, total, created, false};
    if (!t->pipelined) {
        rc = ops->write(ctx, &t->job);
        t->limit = ops->limit(ctx);
        return rc ? rc : source_committed(src);
    }
    pipeline_submit(t->pipe, &t->job);
    t->b = t->spare;
    t->spare = filled;
    return 0;
}
