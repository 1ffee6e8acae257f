/* pipeline.h - one job in flight on a thread of its own while the caller
 * prepares the next (the batch writer of load.c).
 *
 * The worker runs one job at a time, in the order submitted: the caller
 * submits a job only when pipeline_wait() has returned for the one before,
 * so at most one job runs while the caller works on the next one. A job's
 * return code, and its err_msg() (thread-local), reach the caller through
 * pipeline_wait(). The worker blocks every signal: SIGINT/SIGTERM reach the
 * caller's threads, and the job sees them through the stop flag
 * (retry.h), which ends its waits.
 */
#ifndef ML_PIPELINE_H
#define ML_PIPELINE_H

#include <stdint.h>

struct pipeline;

/* Runs `job` for `ctx`; 0 or an error code with err_msg() set. */
typedef int (*pipeline_job_fn)(void *ctx, void *job);

/* Starts the worker. 0, or ML_ENOMEM / ML_EIO (no thread). */
int pipeline_start(pipeline_job_fn fn, void *ctx, struct pipeline **out);
/* Hands `job` (which must live until pipeline_wait returns) to the worker;
 * only after pipeline_wait for the job before. */
void pipeline_submit(struct pipeline *p, void *job);
/* Waits for the job in flight, if any: its return code (0 when none is in
 * flight), with its err_msg() set in the calling thread when it failed. */
int pipeline_wait(struct pipeline *p);
/* The worker's CPU time so far (nanoseconds), as of its last job. */
uint64_t pipeline_cpu_ns(struct pipeline *p);
/* Waits for the job in flight, ends the worker and frees; NULL is a no-op. */
void pipeline_stop(struct pipeline *p);

#endif
