/* load.h - `maskload run`: every configured stream from source to warehouse,
 * on either warehouse kind (one run path, load.c; what a batch writes and
 * how is the kind's, loadrows.h).
 *
 * Per stream: pages are fetched and mapped into batches of load.batch_size
 * records (lowered under a Galera cluster's writeset limits); each batch
 * resolves its surrogates (autocommit: committed at once, the same id per
 * value for concurrent loaders), then in ONE transaction claims its
 * records' keys when the stream is exactly once (a record already in the
 * processed table is dropped), writes its rows (main table, then every
 * child table, each child table's rows past each parent's new end
 * deleted; rows equal to the stored ones are not rewritten), records its
 * rejects, stores the incremental cursor it reaches (every batch of a
 * sorted source, else the last) and adds its counts to load_run_streams.
 * A source that acknowledges (an SQS queue) is told after the commit,
 * never before. A transaction the server rolled back as a deadlock,
 * serialization failure or lock timeout is replayed whole; one refused as
 * too large is written as two halves; a lost connection fails over to a
 * new session (warehouse.failovers) and the batch is replayed. Otherwise a
 * failure rolls the batch back, marks the run failed in load_runs and
 * returns; committed batches stay, and the next run completes the work
 * (upserts make it idempotent). Memory is bounded by the batch size and
 * the surrogate cache.
 *
 * The run is a load_runs row made visible with its lease (load_run_leases)
 * and renewed by a heartbeat thread; the digest key is verified against
 * pii_key before and after that row is written. A `history: scd2` stream's
 * main rows go to a snapshot table (a temporary table: such a stream does
 * not fail over) merged once the snapshot is read, as of `--as-of` or the
 * run's start. With load.writer: thread (the default) a stream's batches
 * take turns with a writer thread (batchturns.h) while the next batch is
 * mapped and its surrogates resolved ahead on a second connection.
 * load.parallel_streams loads streams sharing no table or surrogate kind at
 * the same time, each on a context of its own. Partitioned tables are
 * maintained (partition.h) before the streams load and after. A record of
 * a data subject erased by `maskload forget` is stored nowhere and only
 * counted.
 */
#ifndef ML_LOAD_H
#define ML_LOAD_H

#include <stdbool.h>

#include "config.h"

struct load_stream_counts {
    unsigned long long pages, fetched, loaded, rejected, surrogates_created;
    /* records superseded by a later one of the same key, records carrying
     * fields outside the mapping, optional values nulled as malformed */
    unsigned long long duplicates, unknown_records, invalid_nulled;
};

struct load_result {
    unsigned long long run_id; /* 0 if the run could not be recorded */
    unsigned long long cache_lookups, cache_hits;
};

struct load_options {
    const char *only_stream; /* NULL = every stream */
    /* Keep polling (`run --follow`): an empty receive commits what is
     * pending and polls again, until SIGINT/SIGTERM, which ends the run
     * successfully after committing what was read. Needs exactly one stream
     * selected, of a source of kind sqs (ML_EUSAGE otherwise). */
    bool follow;
    /* History streams (`history: scd2`, history.h): the time their snapshot
     * is as of, SQL DATETIME(3) text from history_parse_as_of (`run
     * --as-of`); NULL = the run's start. `rebuild_history` (`run
     * --rebuild-history`) is refused by a history stream: snapshots are not
     * kept. Other streams ignore both. */
    const char *as_of;
    bool rebuild_history;
    /* `run --full`: incremental streams ignore their stored cursor, read
     * everything and store the new cursor at the end */
    bool full;
};

/* Runs the load. 0 on success; on failure the code of the first error with
 * err_msg() naming the stream and what failed. */
int load_run(const struct config *cfg, const struct load_options *opt, struct load_result *res);

/* Asks a running load to stop after its current batch (async-signal-safe). */
void load_request_stop(void);

#endif
