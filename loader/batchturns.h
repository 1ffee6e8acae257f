/* batchturns.h - a stream's batches taking turns with the batch writer
 * (pipeline.h), as the run writes them on both warehouses (load.c).
 *
 * Pipelined (a writer thread, and a source that does not acknowledge: its
 * committed() is a no-op), two batches take turns: the caller fills `b`
 * while the writer writes `spare`, one batch in flight at a time, in the
 * order they were filled. A source that acknowledges (a queue: committed()
 * acknowledges everything read since its last call) is written in line,
 * each batch acknowledged right after its commit, so that an
 * acknowledgement never covers records of a batch not yet committed.
 *
 * The run gives its writer and the rest through batch_turn_ops; the job it
 * is handed is a struct batch_job, which lives in the turns until the
 * writer is done with it.
 */
#ifndef ML_BATCHTURNS_H
#define ML_BATCHTURNS_H

#include <stdbool.h>

#include "batch.h"
#include "erase.h"
#include "json.h"
#include "load.h"
#include "mapping.h"
#include "pipeline.h"
#include "source.h"

/* A full batch to write: the pages read into it, the records of erased
 * subjects read with it (stored nowhere, counted), the stream's counts to
 * add to once it committed, the surrogates created resolving it ahead, and
 * whether it is the stream run's last. */
struct batch_job {
    struct batch *b;
    const char *stream;
    unsigned long long pages, erased;
    struct load_stream_counts *total;
    unsigned long long created;
    bool final;
};

struct batch_turn_ops {
    /* Resolves the surrogates of a pipelined batch before it is handed
     * over, on a connection of the caller's own, in autocommit (surrogates
     * are committed outside the batch's transaction); *created gets the
     * surrogates created. The batch is compacted first (batch_compact).
     * Best effort: on an error (message set) what
     * stays pending the writer resolves, and presolve_off is called. */
    int (*presolve)(void *ctx, struct batch *b, unsigned long long *created);
    /* Closes presolve's connection: the writer resolves the surrogates
     * for the rest of the run. */
    void (*presolve_off)(void *ctx);
    /* The batch's whole transaction (pipeline_job_fn): 0, or an error with
     * err_msg() set. The batch is empty again after its commit. */
    pipeline_job_fn write;
    /* Records per batch as of now (the writer may lower it): read when no
     * batch is in flight, it becomes `limit`. */
    unsigned long long (*limit)(void *ctx);
};

struct batch_turns {
    struct batch *b;      /* the batch being filled */
    struct batch *spare;  /* the other one (pipelined) */
    struct batch_job job; /* the batch in flight's; untouched until it is done */
    struct pipeline *pipe;
    bool pipelined;
    /* records at which `b` is full (ops->limit as of the last hand-off):
     * the batch filling meanwhile may be larger, and is split in turn if
     * the writer must */
    unsigned long long limit;
};

/* Sets up the turns of a stream of `def`: pipelined when pipe is not NULL
 * and the source does not acknowledge. `t->b` is then the batch to fill.
 * 0 or ML_ENOMEM (free with batch_turns_free in every case). */
int batch_turns_open(struct batch_turns *t, const struct stream_def *def, struct pipeline *pipe,
                     const struct source *src, const struct batch_turn_ops *ops, void *ctx);
/* Frees both batches. */
void batch_turns_free(struct batch_turns *t);

/* Waits for the batch in flight to commit: its code (0 when none was in
 * flight). Then refreshes `limit`. */
int batch_turns_drain(struct batch_turns *t, const struct batch_turn_ops *ops, void *ctx);

/* Writes the full batch t->b: in line, then acknowledged (source_committed)
 * after its commit; or, pipelined, resolved ahead, handed to the writer
 * once the batch before has committed, t->b becoming the empty spare. The
 * first error of the batch before, of the write or of the
 * acknowledgement. */
int batch_turns_hand_off(struct batch_turns *t, const struct batch_turn_ops *ops, void *ctx,
                         struct source *src, const char *stream, unsigned long long pages,
                         unsigned long long erased, struct load_stream_counts *total);

/* After a stream's last page (rc: the stream's error so far): the batch in
 * flight commits (or fails) before anything else touches the writer's
 * connection, then, when all went well, the last batch (perhaps empty) is
 * written in line as the stream run's last (batch_job.final) and the
 * source acknowledged. The first error: rc, the drain's, the write's. */
int batch_turns_finish(struct batch_turns *t, const struct batch_turn_ops *ops, void *ctx, int rc,
                       struct source *src, const char *stream, unsigned long long pages,
                       unsigned long long erased, struct load_stream_counts *total);

/* Parses each record of page `pg` on its own into `doc` (one that is not
 * JSON is one reject, never the page's failure) and maps it into t->b with
 * `mopt`, except a record of a subject of `erased_set` (erase.h; may be
 * NULL), which is stored nowhere and counted in *erased; tells the source
 * each record's outcome. Timed as STAGE_PARSE and STAGE_MAP. 0 or an
 * error. */
int batch_turns_map_page(struct batch_turns *t, const struct source_page *pg, json_doc *doc,
                         struct erase_set *erased_set, const struct map_options *mopt,
                         struct source *src, unsigned long long *erased);

#endif
