/* runs.h - `maskload status`: the recent runs from load_runs, and whether
 * a 'running' one is stale: its process gone or no longer renewing its
 * lease (lease.h). Reads as the loader account.
 */
#ifndef ML_RUNS_H
#define ML_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* The per-stream counters of load_run_streams, declared once:
 * X(column, what status calls it). */
#define RUN_COUNTS(X)                                                                              \
    X(pages, "pages")                                                                              \
    X(fetched, "fetched")                                                                          \
    X(loaded, "loaded")                                                                            \
    X(rejected, "rejected")                                                                        \
    X(duplicates, "duplicates")                                                                    \
    X(erased, "erased")                                                                            \
    X(unknown_fields, "with unknown fields")                                                       \
    X(invalid_nulled, "malformed values nulled")                                                   \
    X(surrogates_created, "new surrogates")

enum run_count {
#define RUN_COUNT_ENUM(col, what) RUN_##col,
    RUN_COUNTS(RUN_COUNT_ENUM)
#undef RUN_COUNT_ENUM
        RUN_NCOUNTS
};

/* Column names and labels, indexed by enum run_count. */
extern const char *const run_count_columns[RUN_NCOUNTS];
extern const char *const run_count_labels[RUN_NCOUNTS];

struct run_stream_counts {
    char stream[72];
    unsigned long long n[RUN_NCOUNTS];
    double seconds; /* from its start to its successful end; negative when it did not end */
};

struct run_info {
    unsigned long long run_id;
    char started_at[32], finished_at[32];
    char status[16];
    int stale; /* status 'running' but: 1 its connection is gone, 2 no heartbeat (lease.h) */
    char heartbeat_at[32]; /* the lease's last renewal, UTC; "" without a lease */
    char streams[256];
    struct run_stream_counts *counts; /* one per stream the run wrote counts for */
    size_t ncounts;
    char error[512];
};

/* The oldest live run through `w` (either warehouse, on the loader's
 * connection: its default database or schema): a 'running' row whose lease
 * is not stale (lease.h: LEASE_STALE_SQL, LEASE_PG_STALE_SQL); *run_id 0
 * when none. For commands that must not overlap a run (rekey, forget).
 * Reads as the loader account (MySQL's process list shows an account its
 * own connections). 0 or ML_EDB. */
struct wh;
int runs_live(struct wh *w, unsigned long long *run_id);

/* The `limit` most recent runs, newest first, with their per-stream
 * counts, from either warehouse (wh.h; PostgreSQL's staleness is
 * LEASE_PG_STALE_SQL). Free with runs_free. */
int runs_recent(const struct config *cfg, unsigned limit, struct run_info **out, size_t *n);
void runs_free(struct run_info *runs, size_t n);

/* Run `run_id` with its counts (as runs_recent). ML_EDB, or ML_EINVAL when
 * there is no such run. Free with runs_free(*out, 1). */
int runs_get(const struct config *cfg, unsigned long long run_id, struct run_info **out);

/* ---- the rows of the run itself, written by `maskload run` ----
 *
 * Each over either warehouse (wh.h), on the run's connection `w`, every
 * value bound. Errors are ML_EDB (ML_ECRYPTO for the token) with a message
 * saying what was being recorded. */

/* Records a new run as 'running' (load_runs: streams, host, pid, version)
 * with its lease (lease_insert, renewed every heartbeat_s seconds), in one
 * transaction: the row becomes visible only with its lease, so `status`
 * never sees a live run as stale. *run_id gets the run's id and token its
 * lease token (LEASE_TOKEN_HEX + 1 bytes); on failure the transaction is
 * rolled back and *run_id is 0. */
int runs_start(struct wh *w, const char *streams, unsigned heartbeat_s, unsigned long long *run_id,
               char *token);

/* The start of run `run_id` as 'YYYY-MM-DD HH:MM:SS.mmm' (UTC, 23
 * characters) into out[0..len): the default as-of of history streams.
 * ML_EINTERNAL when the run has no row. */
int runs_started_at(struct wh *w, unsigned long long run_id, char *out, size_t len);

/* Marks run `run_id` ended now: 'succeeded' when status_rc is 0, else
 * 'failed' with error_text (NULL: none); then deletes its lease, best
 * effort (a lease left behind is harmless: the run has ended). */
int runs_finish(struct wh *w, unsigned long long run_id, int status_rc, const char *error_text);

/* The row of one stream of the run: started now (load_run_streams, its
 * counters 0), and ended now. Their failures say which, not the stream's
 * name (the caller's prefix). */
int runs_stream_start(struct wh *w, unsigned long long run_id, const char *stream);
int runs_stream_finish(struct wh *w, unsigned long long run_id, const char *stream);

/* Adds n[] (indexed by enum run_count) to the stream's counters, in the
 * caller's transaction (a batch's: the counts commit with its rows). */
int runs_stream_add(struct wh *w, unsigned long long run_id, const char *stream,
                    const unsigned long long n[RUN_NCOUNTS]);

#endif
