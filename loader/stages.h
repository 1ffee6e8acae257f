/* stages.h - where a run's time goes: wall time per stage of the load,
 * summed over the whole process, and CPU time per thread.
 *
 * Each stage is timed where it runs (stage_add with the stage's start from
 * stage_now), by whichever thread runs it; the sums are atomic, so the main
 * thread (fetch wait, parse, map) and the batch writer (surrogates, row
 * comparison, encoding, server load, commit) add to them side by side. Wall
 * time of the two threads overlaps: the sums of both can exceed the run's
 * wall time, which is the point of the pipeline. `maskload -v run` logs
 * them at the end (stages_log). Monotonic clock reads only: cheap enough to
 * time every record.
 */
#ifndef ML_STAGES_H
#define ML_STAGES_H

#include <stdint.h>

enum stage {
    STAGE_FETCH_WAIT,  /* main thread waiting for the next page (fetch + split run ahead) */
    STAGE_PARSE,       /* records parsed into documents */
    STAGE_MAP,         /* documents mapped into batch rows (masking, digests, erasure check) */
    STAGE_AHEAD,       /* main thread resolving surrogates ahead of the writer */
    STAGE_WRITER_WAIT, /* main thread waiting for the writer to finish the batch before */
    STAGE_SURROGATES,  /* surrogate ids resolved (cache, then lookups/inserts) */
    STAGE_ROWDIFF,     /* stored rows read back and compared (rowdiff.h) */
    STAGE_ENCODE,      /* rows encoded as the bulk stream */
    STAGE_SERVER_LOAD, /* LOAD DATA statements and the staging upserts, on the server */
    STAGE_COMMIT,      /* COMMIT of the batch */
    STAGE_BATCH,       /* a whole batch transaction, resolve to commit (the writer's busy time) */
    STAGE_COUNT
};

/* Monotonic nanoseconds. */
uint64_t stage_now(void);
/* Adds stage_now() - since to stage `s`. */
void stage_add(enum stage s, uint64_t since);
/* Nanoseconds summed so far. */
uint64_t stage_total(enum stage s);
/* The CPU time of the calling thread, nanoseconds. */
uint64_t stage_thread_cpu(void);
/* Logs the sums at debug level, with the main thread's CPU (the caller's),
 * the writer thread's CPU (writer_cpu_ns) and the whole process's. */
void stages_log(uint64_t writer_cpu_ns, uint64_t wall_ns);
/* The same with the CPU of the threads that parse and map given
 * (main_cpu_ns: with streams loaded in parallel, the sum of their threads')
 * and writer_cpu_ns the sum of their batch writers'. */
void stages_log_cpu(uint64_t main_cpu_ns, uint64_t writer_cpu_ns, uint64_t wall_ns);

#endif
