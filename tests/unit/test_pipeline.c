/* test_pipeline.c - unit tests of the one-job-in-flight worker (pipeline.h):
 * jobs run in the order submitted, one at a time, on another thread, while
 * the caller goes on; a job's error code and message reach the caller once;
 * waiting with nothing in flight returns at once; the worker blocks signals;
 * stopping waits for the job in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "pipeline.h"
#include "banned.h"

struct log {
    int order[16];
    size_t n;
    pthread_t caller;
    bool other_thread;    /* every job ran off the caller's thread */
    bool signals_blocked; /* SIGTERM was blocked in the worker */
    atomic_int running;   /* jobs running at once */
    int max_running;
};

struct job {
    int id;
    int fail; /* the error code to return (0: none) */
    unsigned sleep_ms;
};

static int run_job(void *ctx, void *arg)
{
    struct log *log = ctx;
    struct job *j = arg;
    sigset_t now;
    int r = atomic_fetch_add(&log->running, 1) + 1;
    if (r > log->max_running)
        log->max_running = r;
    if (pthread_equal(pthread_self(), log->caller))
        log->other_thread = false;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    if (!sigismember(&now, SIGTERM))
        log->signals_blocked = false;
    if (j->sleep_ms) {
        struct timespec ts = {0, (long)j->sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    log->order[log->n++] = j->id;
    atomic_fetch_sub(&log->running, 1);
    if (j->fail)
        return err_set(j->fail, "job %d failed on purpose", j->id);
    return 0;
}

static void test_order_and_overlap(void **state)
{
    (void)state;
    struct log log = {.caller = pthread_self(), .other_thread = true, .signals_blocked = true};
    struct pipeline *p = NULL;
    struct job jobs[5];
    assert_int_equal(pipeline_start(run_job, &log, &p), 0);
    assert_int_equal(pipeline_wait(p), 0); /* nothing in flight */
    for (int i = 0; i < 5; i++) {
        jobs[i] = (struct job){.id = i + 1, .sleep_ms = 20};
        assert_int_equal(pipeline_wait(p), 0);
        pipeline_submit(p, &jobs[i]);
        /* the caller goes on while the job runs: it has not finished yet */
        assert_int_equal((int)log.n, i);
    }
    assert_int_equal(pipeline_wait(p), 0);
    assert_int_equal((int)log.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(log.order[i], i + 1);
    assert_true(log.other_thread);
    assert_true(log.signals_blocked);
    assert_int_equal(log.max_running, 1);
    assert_true(pipeline_cpu_ns(p) > 0);
    pipeline_stop(p);
}

static void test_error_reaches_the_caller_once(void **state)
{
    (void)state;
    struct log log = {.caller = pthread_self(), .other_thread = true, .signals_blocked = true};
    struct pipeline *p = NULL;
    struct job bad = {.id = 7, .fail = ML_EDB}, good = {.id = 8};
    assert_int_equal(pipeline_start(run_job, &log, &p), 0);
    err_set(ML_EIO, "something else");
    pipeline_submit(p, &bad);
    assert_int_equal(pipeline_wait(p), ML_EDB);
    assert_string_equal(err_msg(), "job 7 failed on purpose");
    assert_int_equal(pipeline_wait(p), 0); /* reported once */
    pipeline_submit(p, &good);
    assert_int_equal(pipeline_wait(p), 0);
    assert_int_equal((int)log.n, 2);
    pipeline_stop(p);
}

static void test_stop_waits_for_the_job(void **state)
{
    (void)state;
    struct log log = {.caller = pthread_self(), .other_thread = true, .signals_blocked = true};
    struct pipeline *p = NULL;
    struct job slow = {.id = 9, .sleep_ms = 50};
    assert_int_equal(pipeline_start(run_job, &log, &p), 0);
    pipeline_submit(p, &slow);
    pipeline_stop(p); /* returns after the job */
    assert_int_equal((int)log.n, 1);
    assert_int_equal(log.order[0], 9);
    pipeline_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_overlap),
        cmocka_unit_test(test_error_reaches_the_caller_once),
        cmocka_unit_test(test_stop_waits_for_the_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
