/* runs.h - `maskload status`: the recent runs from load_runs, and whether
 * a 'running' one is stale: its process gone or no longer renewing its
 * lease (lease.h). Reads as the loader account.
 */
#ifndef ML_RUNS_H
#define ML_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct run_info {
    unsigned long long run_id;
    char started_at[32], finished_at[32];
    char status[16];
    int stale; /* status 'running' but: 1 its connection is gone, 2 no heartbeat (lease.h) */
    char heartbeat_at[32]; /* the lease's last renewal, UTC; "" without a lease */
    char streams[256];
    char counts[512]; /* "users: 15 fetched, 12 loaded, 3 rejected; ..." */
    char error[512];
};

/* The oldest live run through `db` (the warehouse database as default): a
 * 'running' row whose lease is not stale (lease.h); *run_id 0 when none.
 * For commands that must not overlap a run (rekey, forget). Reads as the
 * loader account (the process list shows an account its own connections).
 * 0 or ML_EDB. */
struct db;
int runs_live(struct db *db, unsigned long long *run_id);

/* The `limit` most recent runs, newest first. *out malloc'd. */
int runs_recent(const struct config *cfg, unsigned limit, struct run_info **out, size_t *n);

#endif
