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
    bool over; /* rows > threshold */
};

/* Counts every embedded monitoring view, in file order. *out is malloc'd
 * (free it); *n its length; *over how many exceed their threshold;
 * *skipped how many views were left out because init skipped them (a
 * table they read is not configured: schema_view_skipped). A view that is
 * missing for any other reason fails the check. */
int monitor_check(const struct config *cfg, struct monitor_result **out, size_t *n, size_t *over,
                  size_t *skipped);

#endif
