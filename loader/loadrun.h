/* loadrun.h - the steps of `maskload run` that are the same on both
 * warehouses, used by load.c (over wh.h) for both: which
 * streams run, the loop over them and their groups, a stream's source and
 * its own bookkeeping statements (over wh.h), the counts a batch adds,
 * whole-transaction retries and failover counting, a history stream's
 * checks and log lines, and ending the run with the first error's message. */
#ifndef ML_LOADRUN_H
#define ML_LOADRUN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "batch.h"
#include "batchturns.h"
#include "cursor.h"
#include "history.h"
#include "json.h"
#include "mapping.h"
#include "load.h"
#include "runs.h"
#include "source.h"
#include "wh.h"

/* Whether `stream` runs under opt (NULL or no only_stream: every one). */
bool loadrun_selected(const struct load_options *opt, const char *stream);

/* Appends the names of the streams that run, comma-separated, in config
 * order, to *names; *nrun is how many. 0 or ML_ENOMEM. */
int loadrun_names(const struct config *cfg, const struct load_options *opt, struct buf *names,
                  size_t *nrun);

/* When no stream runs: ML_EUSAGE "unknown stream 'S' (streams: A, B)" for
 * an only_stream that names none of the configured ones, else ML_ECONFIG
 * "no streams configured". */
int loadrun_none(const struct config *cfg, const struct load_options *opt);

/* Calls load(arg, stream) for every stream that runs, in config order,
 * until one fails; its code, else 0. */
int loadrun_each(const struct config *cfg, const struct load_options *opt,
                 int (*load)(void *arg, const struct config_stream *st), void *arg);

/* Ends run `run_id` through end(arg, status_rc, error_text), which records
 * it. rc 0: the run succeeded, end(arg, 0, NULL)'s code is returned. rc not
 * 0: end(arg, rc, message) marks it failed with err_msg() (after "lost the
 * connection to the warehouse: " when `lost`), rc is returned with that
 * message, and if end fails too the message says so and why. */
/* Failover's count (warehouse.failovers), after a connection of the run
 * was lost in a batch of `stream` (err_msg() saying how): while *failovers
 * is below cfg->warehouse.failovers, counts one more, logs "stream 'S':
 * lost the warehouse connection (WHY); failing over (N of M) and REDO"
 * (what is done again: "redoing the batch") and returns true, WHY copied to why (len > 0) for the
 * caller's messages. Else false, err_msg() saying after how many failovers
 * (when any were allowed). */
bool loadrun_failover_count(const struct config *cfg, unsigned *failovers, const char *stream,
                            const char *redo, char *why, size_t len);

int loadrun_end(int rc, bool lost, unsigned long long run_id,
                int (*end)(void *arg, int status_rc, const char *error_text), void *arg);

/* The counters (runs.h) one batch adds to its stream's row in
 * load_run_streams (runs_stream_add): its counts n, the pages it came
 * from, the records of erased data subjects skipped (fetched, stored
 * nowhere) and the surrogates created for it. */
/* What the page loop of a stream needs besides its batch turns. */
struct loadrun_pages {
    struct erase_set *erased_set;   /* erased data subjects (erase.h), NULL: none */
    const struct map_options *mopt; /* the mapping's options */
    bool follow;                    /* run --follow */
    atomic_bool *abort;             /* set when another stream of the run failed; may be NULL */
    unsigned progress_interval;     /* log.progress_interval (progress.h) */
};

/* The pages of a stream, the same on both warehouses: each page of `src`
 * mapped into the batch (batch_turns_map_page, records parsed one at a time
 * into `doc`), the batch handed over to be written once it holds
 * sb->limit records (batches end at page boundaries, so that a source
 * acknowledging after the commit acknowledges whole pages), with --follow
 * an empty receive committing what is pending; a stop request ends the
 * loop (--follow: what was read commits; else "interrupted by a signal"),
 * and so does another stream's failure (*abort); a progress line of the
 * records handed over and read so far; then the last batch
 * (batch_turns_finish), whatever happened. `rc`: the stream's code so far
 * (not 0: no page is read). Its code; `total` what the written batches
 * counted. */
int loadrun_read_pages(int rc, struct batch_turns *sb, const struct batch_turn_ops *ops, void *arg,
                       struct source *src, const char *stream, json_doc *doc,
                       const struct loadrun_pages *o, struct load_stream_counts *total);

/* The end of a stream's run, in the log: the names of the fields outside
 * the mapping its records carried (those noted in b, with spare's merged
 * into b; spare may be NULL), once, as a warning, never their values (they
 * may be PII). `rc`: the stream's code so far; when not 0, err_msg() is
 * kept as it was. */
void loadrun_log_unknown_fields(struct batch *b, const struct batch *spare, const char *stream,
                                int rc);

/* The summary lines of a stream that loaded: its counts `t`, the records of
 * erased data subjects skipped and the rows left as they were (unchanged in
 * the warehouse). */
void loadrun_stream_log(const char *stream, const struct load_stream_counts *t,
                        unsigned long long erased, unsigned long long unchanged);

/* Adds batch counts n (those of a batch that committed) to t. */
void loadrun_add_counts(struct load_stream_counts *t, const struct batch_counts *n);

/* A `history: scd2` stream needs a full snapshot: ML_ECONFIG naming the
 * source when st's is a queue (kind sqs), else 0. */
int loadrun_history_source_ok(const struct config *cfg, const struct config_stream *st);

/* Logs what the history merge of `stream` did as of `as_of` (versions
 * opened, closed as changed, closed as deleted), and warns when deletions
 * were held back (`rejected` records, or an empty snapshot). */
void loadrun_history_log(const char *stream, const char *as_of, const struct history_counts *n,
                         unsigned long long rejected);

/* The statements of a stream's own bookkeeping, around its batches. */
enum loadrun_step {
    LOADRUN_STEP_START,  /* its row in load_run_streams (runs_stream_start) */
    LOADRUN_STEP_CURSOR, /* a cursor reached but not stored (cursor_run_store_unstored) */
    LOADRUN_STEP_END,    /* its row's end (runs_stream_finish) */
};

/* Runs `step` of `stream` of run `run_id` through `w` (`cur`: the stream's
 * cursor run, for LOADRUN_STEP_CURSOR), in autocommit. Its statement's
 * error. */
int loadrun_stream_step(struct wh *w, enum loadrun_step step, unsigned long long run_id,
                        const char *stream, struct cursor_run *cur);

/* What a failover before running `step` again does, for its log line:
 * "recording the stream's start" or "... end". */
const char *loadrun_step_redo(enum loadrun_step step);

/* Attempts of one transaction of a batch (or of a history merge) in all. */
#define LOADRUN_TX_ATTEMPTS 5

/* Whole-transaction retry, the same on both warehouses. After attempt
 * number `attempt` of `what` ("the whole batch transaction", "the history
 * merge") of `stream` failed with the error class `cls` (db_error_class /
 * pg_error_class of the failure, the caller having rolled back): when it is
 * DB_ERR_RETRY_TX (a deadlock, serialization failure, lock wait timeout or
 * Galera certification conflict: the server undid the transaction), no stop
 * was requested and attempts remain, logs "stream 'S': WHY; retrying WHAT
 * in N ms (attempt k of LOADRUN_TX_ATTEMPTS)", counts one more in *retries,
 * waits as retry.h's policy says (100 ms doubling to 1.6 s, equal jitter
 * from *rng: loaders that collided do not collide again in step) and
 * returns true: the caller replays the whole transaction from its start.
 * Otherwise false, err_msg() still the failure's (prefixed with how many
 * attempts failed when they ran out). */
bool loadrun_tx_retry(enum db_err_class cls, unsigned attempt, const char *stream, const char *what,
                      uint64_t *rng, unsigned long long *retries);

/* Opens the source of stream `st`. An incremental one (st->def->
 * incremental) starts its cursor run `cur` from the cursor load_cursors
 * holds, read through `w`; with one stored and no `full` (run --full) its
 * source is asked only for what changed since it, minus the lookback. A
 * stream that is not incremental leaves `cur` alone. The source's errors,
 * or the stored cursor's (cursor_read_stored; ML_EDB when it minus the
 * lookback is out of range). */
int loadrun_open_source(struct wh *w, const struct config *cfg, const struct config_stream *st,
                        bool full, struct cursor_run *cur, struct source **src);

void loadrun_batch_counts(const struct batch_counts *n, unsigned long long pages,
                          unsigned long long erased, unsigned long long created,
                          unsigned long long out[RUN_NCOUNTS]);

/* Streams loaded at the same time (load.parallel_streams): the streams that
 * run, in config order, each with its group. Two streams writing a table in
 * common (main or child table), or resolving a surrogate kind in common,
 * are in one group, and so are the groups they join: a group's streams run
 * one after the other, in config order, so that a value's surrogate id and
 * a table's rows never depend on timing; groups run at the same time.
 * Groups are numbered 0..ngroups-1 in the order of their first stream. */
struct loadrun_groups {
    const struct config_stream **streams; /* n of them */
    unsigned *group;                      /* group[i]: the group of streams[i] */
    size_t n, ngroups;
};

/* Fills *g (to free with loadrun_groups_free). 0 or ML_ENOMEM. */
int loadrun_group(const struct config *cfg, const struct load_options *opt,
                  struct loadrun_groups *g);
void loadrun_groups_free(struct loadrun_groups *g);

/* Whether definitions a and b (either may be NULL: nothing in common) share
 * a table or a surrogate kind; when they do, what (e.g. "surrogate kind
 * 'city'", "table users_raw") into why (len bytes). */
bool loadrun_share(const struct stream_def *a, const struct stream_def *b, char *why, size_t len);

/* What a warehouse's run gives loadrun_parallel. `base` is the run's own
 * context (its lease, load_runs row and connection stay with it). */
struct loadrun_workers {
    /* A stream worker's context: everything a thread must not share with
     * another (connections, caches, MAC contexts, batch writer). `abort` is
     * set once a stream of the run failed: the worker's streams stop after
     * the batch they are writing. 0 or an error (message set). */
    int (*open)(void *base, atomic_bool *abort, void **worker);
    /* Loads one stream on the worker's context (its thread). */
    int (*load)(void *worker, const struct config_stream *st);
    /* After every thread ended: adds what the worker counted to base
     * (cpu_ns: the worker thread's CPU time) and frees it. */
    void (*close)(void *base, void *worker, uint64_t cpu_ns);
    /* Loads one stream on base, for the run in line. */
    int (*load_base)(void *base, const struct config_stream *st);
};

/* The streams of the run, up to `parallel` at a time (loadrun_group:
 * streams sharing a table or a surrogate kind run one after the other in
 * their group), each worker thread on a context of its own (ops->open),
 * taking the next group not started until none is left or a stream
 * failed; the first failure's code and message become the run's. With
 * `parallel` <= 1, or a single group, the streams run in line on base
 * (loadrun_each) and *nworkers is 0; else it is the number of workers. The
 * workers block every signal (they see SIGINT/SIGTERM through the stop
 * flag, retry.h), and progress goes to lines only (two streams cannot
 * share one live line). */
int loadrun_parallel(const struct config *cfg, const struct load_options *opt, unsigned parallel,
                     const struct loadrun_workers *ops, void *base, size_t *nworkers);

#endif
