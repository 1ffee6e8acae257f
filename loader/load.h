/* load.h - `maskload run`: every configured stream from source to warehouse.
 *
 * Per stream: pages are fetched and mapped into batches of load.batch_size
 * records; each batch resolves its surrogates, then in ONE transaction
 * upserts its rows (main table, then every child table), deletes each child
 * table's rows past each parent's new end, records its rejects and adds its
 * counts to load_run_streams. A failure rolls the
 * batch back, marks the run failed in load_runs and returns; committed
 * batches stay, and the next run completes the work (upserts make it
 * idempotent). Memory is bounded by the batch size and the surrogate cache.
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
