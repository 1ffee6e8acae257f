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

#endif
