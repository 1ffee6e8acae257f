#include "stages.h"

#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>

#include "log.h"
#include "banned.h"

static _Atomic uint64_t sums[STAGE_COUNT];

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t stage_now(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

void stage_add(enum stage s, uint64_t since)
{
    uint64_t now = stage_now();
    if (now > since)
        atomic_fetch_add_explicit(&sums[s], now - since, memory_order_relaxed);
}

uint64_t stage_total(enum stage s)
{
    return atomic_load_explicit(&sums[s], memory_order_relaxed);
}

uint64_t stage_thread_cpu(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static double sec(uint64_t ns)
{
    return (double)ns / 1e9;
}

/* what is left of `whole` after `parts` (0 when they add up to more) */
static double rest(uint64_t whole, uint64_t parts)
{
    return whole > parts ? sec(whole - parts) : 0.0;
}

void stages_log(uint64_t writer_cpu_ns, uint64_t wall_ns)
{
    stages_log_cpu(stage_thread_cpu(), writer_cpu_ns, wall_ns);
}

void stages_log_cpu(uint64_t main_cpu_ns, uint64_t writer_cpu_ns, uint64_t wall_ns)
{
    struct rusage ru;
    double proc = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        proc = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    log_debug(
        "stages (wall s): main thread: fetch wait %.2f, parse %.2f, map %.2f, surrogates "
        "ahead %.2f, waiting for the writer %.2f; writer: batches %.2f = surrogates %.2f + row "
        "comparison %.2f + encode %.2f + server load %.2f + commit %.2f + other "
        "statements %.2f",
        sec(stage_total(STAGE_FETCH_WAIT)), sec(stage_total(STAGE_PARSE)),
        sec(stage_total(STAGE_MAP)), sec(stage_total(STAGE_AHEAD)),
        sec(stage_total(STAGE_WRITER_WAIT)), sec(stage_total(STAGE_BATCH)),
        sec(stage_total(STAGE_SURROGATES)), sec(stage_total(STAGE_ROWDIFF)),
        sec(stage_total(STAGE_ENCODE)), sec(stage_total(STAGE_SERVER_LOAD)),
        sec(stage_total(STAGE_COMMIT)),
        rest(stage_total(STAGE_BATCH), stage_total(STAGE_SURROGATES) + stage_total(STAGE_ROWDIFF) +
                                           stage_total(STAGE_ENCODE) +
                                           stage_total(STAGE_SERVER_LOAD) +
                                           stage_total(STAGE_COMMIT)));
    log_debug("stages (cpu s): main thread %.2f, writer thread %.2f, whole process %.2f "
              "(the rest: page fetch and split, lease heartbeat); wall %.2f",
              sec(main_cpu_ns), sec(writer_cpu_ns), proc, sec(wall_ns));
}
