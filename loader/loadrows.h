/* loadrows.h - what `maskload run` does differently on each warehouse kind.
 *
 * load.c runs a run once for both kinds, over wh.h: its row in load_runs
 * and its lease, the streams (in parallel or in line), their pages and
 * batches, each batch's transaction with its retries, split and failover,
 * its rejects, cursor and counters. What a batch writes, and how, is the
 * kind's: the rows of its tables (LOAD DATA or multi-row INSERT with
 * rowdiff on MySQL/MariaDB; COPY into staging and one upsert on
 * PostgreSQL), the exactly-once claim of a processed table, the surrogates
 * it resolves, a history stream's snapshot and merge, and the batch size a
 * cluster allows. loadrows_mysql.c (over db.h) and loadrows_pg.c (over
 * pg.h) each fill one table of these operations.
 *
 * `w` is always a connection of the kind that the table is for (wh_db or
 * wh_pg of it is not NULL). A state, a cache or a history run is used by
 * one thread at a time. Errors are codes of error.h with err_msg() set.
 */
#ifndef ML_LOADROWS_H
#define ML_LOADROWS_H

#include <stdbool.h>

#include "batch.h"
#include "buf.h"
#include "config.h"
#include "history.h"
#include "streamdef.h"
#include "wh.h"

/* What a writer state counted, for the run's log. */
struct load_rows_stats {
    unsigned long long bulk_rows; /* rows written by the bulk path (MySQL: LOAD DATA) */
    bool fell_back;               /* some went by multi-row INSERT instead */
};

struct load_rows_ops {
    /* Attempts of one reconnect after a lost connection (failover, or the
     * run's end): a promoted PostgreSQL standby takes a few seconds to
     * accept writes; a cluster's host list has another node at once. */
    unsigned reconnect_attempts;

    /* The writer state of one context (the run's, or a stream worker's):
     * what it keeps between batches (which tables were empty, staging
     * tables, scratch buffers). 0 or ML_ENOMEM. close(NULL) is a no-op. */
    int (*open)(const struct config *cfg, void **state);
    void (*close)(void *state);
    /* The context's session was lost and replaced: what lived in it
     * (temporary staging tables) is forgotten, no statement run. */
    void (*session_reset)(void *state);
    /* Adds what `state` counted to *out. */
    void (*stats)(const void *state, struct load_rows_stats *out);

    /* Records per batch the warehouse takes: *limit (load.batch_size)
     * lowered under a cluster's writeset limits, logged when it is. */
    void (*batch_limit)(const struct config *cfg, struct wh *w, unsigned long long *limit);

    /* A surrogate cache (load.surrogate_cache entries) with the digest
     * key's MAC: the writer's, and the one resolving ahead of it. */
    int (*cache_new)(const struct config *cfg, void **cache);
    void (*cache_free)(void *cache);
    void (*cache_stats)(const void *cache, unsigned long long *lookups, unsigned long long *hits);
    /* The pending surrogates of every table of b resolved over w, in
     * autocommit (committed at once: a replay resolves nothing twice, and
     * concurrent loaders get the same id per value); *created counts the
     * ones this call created. */
    int (*resolve)(void *cache, struct wh *w, struct batch *b, unsigned long long *created);

    /* In the batch's transaction: drops the records of b whose record key
     * an earlier transaction committed to its processed table, and claims
     * the others (exactly once); logs how many were dropped. */
    int (*claim)(void *state, struct wh *w, struct buf *sql, struct batch *b,
                 unsigned long long run_id);
    /* In the batch's transaction: the rows of every table of b (main, then
     * children, each child table's rows past its parents' new ends
     * deleted), stamped with run_id; the main rows go to `snapshot`
     * instead when it is not NULL (a history stream's snapshot table).
     * *unchanged: rows found equal to the stored ones, not written. */
    int (*write)(void *state, struct wh *w, struct buf *sql, struct batch *b,
                 const struct table_def *snapshot, unsigned long long run_id,
                 unsigned long long *unchanged);

    /* A `history: scd2` stream's run (history.h): its snapshot table made
     * in w's session, as of `as_of`; the table its batches write; the
     * merge once the snapshot is read (in a transaction of its own; a
     * refusal is ML_EUSAGE); and its end (free(NULL) a no-op; no
     * statement when w's session was lost). */
    int (*history_begin)(struct wh *w, const struct stream_def *def, const char *as_of,
                         bool rebuild, void **hist);
    const struct table_def *(*history_table)(const void *hist);
    int (*history_merge)(void *hist, unsigned long long run_id, unsigned long long rejected,
                         struct history_counts *n);
    void (*history_free)(void *hist);
};

extern const struct load_rows_ops load_rows_mysql; /* loadrows_mysql.c */
extern const struct load_rows_ops load_rows_pg;    /* loadrows_pg.c */

#endif
