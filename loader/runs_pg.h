/* runs_pg.h - `maskload status` of a PostgreSQL warehouse: runs.h's
 * contract (the same struct run_info, the same staleness, LEASE_PG_STALE_SQL),
 * read through pg.h as the loader account. runs_recent and runs_get call
 * these for `warehouse.kind: postgres`. */
#ifndef ML_RUNS_PG_H
#define ML_RUNS_PG_H

#include <stddef.h>

#include "config.h"
#include "runs.h"

/* The `limit` most recent runs (run_id 0), or run `run_id` alone, newest
 * first, with their per-stream counts. Free with runs_free. ML_EDB. */
int runs_pg_query(const struct config *cfg, unsigned long long run_id, unsigned limit,
                  struct run_info **out, size_t *n);

#endif
