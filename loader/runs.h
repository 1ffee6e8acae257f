/* runs.h - `maskload status`: the recent runs from load_runs, and the run
 * lock that tells a live run from one whose process died.
 *
 * A run holds a server-side named lock, GET_LOCK(RUNS_LOCK_NAME_SQL(id), 0),
 * taken in the transaction that makes its load_runs row visible and held for
 * the life of its connection. The server releases it when the connection ends
 * for any reason (exit, SIGKILL, lost network), so a 'running' row whose lock
 * is free (IS_USED_LOCK() IS NULL) belongs to a process that is gone. Nothing
 * waits on the lock: a stale run never blocks the next one.
 */
#ifndef ML_RUNS_H
#define ML_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* SQL expression of the lock name of the run whose id is the SQL expression
 * `id`, in the current database: "maskload.run.<database>.<id>", the
 * database's name replaced by 30 hex digits of its SHA-1 when longer than 30
 * bytes (lock names are limited to 64 characters). */
#define RUNS_LOCK_NAME_SQL(id)                                                                     \
    "CONCAT('maskload.run.', IF(LENGTH(DATABASE()) <= 30, DATABASE(), "                            \
    "LEFT(SHA1(DATABASE()), 30)), '.', " id ")"

struct run_info {
    unsigned long long run_id;
    char started_at[32], finished_at[32];
    char status[16];
    bool stale; /* status 'running' but no process holds the run lock */
    char streams[256];
    char counts[512]; /* "users: 15 fetched, 12 loaded, 3 rejected; ..." */
    char error[512];
};

/* The oldest live run through `db` (the warehouse database as default): a
 * 'running' row whose run lock a process holds; *run_id 0 when none. For
 * commands that must not overlap a run (rekey). 0 or ML_EDB. */
struct db;
int runs_live(struct db *db, unsigned long long *run_id);

/* The `limit` most recent runs, newest first. *out malloc'd. */
int runs_recent(const struct config *cfg, unsigned limit, struct run_info **out, size_t *n);

#endif
