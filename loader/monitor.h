/* monitor.h - `maskload check`: row counts of the monitoring views against
 * their thresholds (check.thresholds, default check.default_threshold). */
#ifndef ML_MONITOR_H
#define ML_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct monitor_result {
    char view[128];
    unsigned long long rows;
    long threshold;
    bool over;      /* rows > threshold */
    bool generated; /* derived from the stream definitions (ddlgen_monitor_views) */
};

struct ddlgen_monitor;

/* Counts every embedded monitoring view, in file order, then every
 * generated one (monitor_generated_views), in that order. The threshold of
 * a generated expectation view (freshness, min_rows) is its entry in
 * check.thresholds, else 0 (check.default_threshold does not apply: a
 * stale stream or one that loaded too little fails the check). *out is malloc'd
 * (free it); *n its length; *over how many exceed their threshold;
 * *skipped how many views were left out because init skipped them (a
 * table they read is not configured: schema_view_skipped; PostgreSQL: the
 * view's statement, tried in a transaction rolled back, reads a relation
 * that does not exist). A view that is missing for any other reason fails
 * the check. */
int monitor_check(const struct config *cfg, struct monitor_result **out, size_t *n, size_t *over,
                  size_t *skipped);

/* The generated monitoring views of cfg: ddlgen_monitor_views over every
 * configured stream (its name and definition). Free *out with
 * ddlgen_monitor_views_free. */
int monitor_generated_views(const struct config *cfg, struct ddlgen_monitor **out, size_t *n);

/* The last successful run per configured stream. */
struct monitor_stream {
    char stream[65];
    bool ever;                /* a succeeded run has loaded it */
    long long last_success_s; /* its finished_at, seconds since 1970 (UTC); 0 when !ever */
};

/* One entry per configured stream, in config order: the latest finished_at
 * of a succeeded load_runs row with a load_run_streams row for the stream.
 * *out is malloc'd (free it), *n its length. */
int monitor_streams(const struct config *cfg, struct monitor_stream **out, size_t *n);

#endif
