/* monitor_pg.h - `maskload check` of a PostgreSQL warehouse: monitor.h's
 * monitor_check and monitor_streams through pg.h, with the same results.
 * The hand-written views are those of views/postgres/monitoring; one that
 * is missing counts as skipped when init skipped it (its statement reads a
 * relation that does not exist: tried under a savepoint rolled back, as
 * the loader, which may not create anything), and fails the check
 * otherwise, as does a missing generated view. */
#ifndef ML_MONITOR_PG_H
#define ML_MONITOR_PG_H

#include "monitor.h"

int monitor_pg_check(const struct config *cfg, struct monitor_result **out, size_t *n, size_t *over,
                     size_t *skipped);
int monitor_pg_streams(const struct config *cfg, struct monitor_stream **out, size_t *n);

#endif
