/* wallclock.h - "now" for whatever follows the calendar (which partitions
 * a partitioned table needs, which have expired).
 *
 * The system's UTC time. In the test build (MASKLOAD_TEST_HOOKS, the
 * maskload-test program) the environment may set MASKLOAD_TEST_NOW to an
 * instant written 2025-03-15T00:00:00Z: a test moves the clock without
 * waiting. Read here only; the installed program has no such hook.
 */
#ifndef ML_WALLCLOCK_H
#define ML_WALLCLOCK_H

#include <time.h>

/* Seconds since 1970-01-01T00:00:00Z into *out. ML_ECONFIG when
 * MASKLOAD_TEST_NOW is set but not of that form (the message quotes it). */
int wallclock_now(time_t *out);

#endif
