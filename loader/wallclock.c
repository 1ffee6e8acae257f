/* wallclock.c - the clock, with its test override (wallclock.h). */
#include "wallclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "error.h"
#include "log.h"
#include "banned.h"

/* Counted in 400-year eras of 146097 days from 0000-03-01, years starting
 * in March (the leap day last), so that every division is of a number >= 0. */

#ifdef MASKLOAD_TEST_HOOKS
/* The test build's clock (MASKLOAD_TEST_NOW=2025-03-15T00:00:00Z), read
 * here only; the installed program has none. */
static int test_clock(const char *s, time_t *out)
{
    int y, mo, d, h, mi, se, used = 0;
    if (strlen(s) != 20 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
        used != 20 || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || se > 59)
        return err_set(ML_ECONFIG,
                       "MASKLOAD_TEST_NOW '%.40s' is not an instant like 2025-03-15T00:00:00Z", s);
    long long days = convert_days_from_civil(y, mo, d);
    int cy, cm, cd;
    convert_civil_from_days(days, &cy, &cm, &cd);
    if (cy != y || cm != mo || cd != d)
        return err_set(ML_ECONFIG, "MASKLOAD_TEST_NOW '%.40s' names no such day", s);
    *out = (time_t)(days * 86400 + h * 3600 + mi * 60 + se);
    static int told;
    if (!told++)
        log_info("clock: MASKLOAD_TEST_NOW is set: now is %s", s);
    return 0;
}
#endif

int wallclock_now(time_t *out)
{
#ifdef MASKLOAD_TEST_HOOKS
    const char *s = getenv("MASKLOAD_TEST_NOW");
    if (s && *s)
        return test_clock(s, out);
#endif
    *out = time(NULL);
    return 0;
}
