#include "pipeline.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "stages.h"
#include "banned.h"

struct pipeline {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* job handed over, job done, stop */
    pipeline_job_fn fn;
    void *ctx;
    void *job;      /* the job handed over and not yet taken */
    bool busy;      /* a job handed over or running */
    bool quit;      /* end the worker once idle */
    int rc;         /* the last job's */
    char msg[2048]; /* its err_msg() when rc != 0 */
    uint64_t cpu_ns;
};

static void *worker(void *arg)
{
    struct pipeline *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        void *job;
        int rc;
        while (!p->job && !p->quit)
            pthread_cond_wait(&p->cv, &p->mu);
        if (!p->job)
            break;
        job = p->job;
        p->job = NULL;
        pthread_mutex_unlock(&p->mu);
        rc = p->fn(p->ctx, job);
        pthread_mutex_lock(&p->mu);
        p->rc = rc;
        if (rc)
            snprintf(p->msg, sizeof(p->msg), "%s", err_msg());
        p->cpu_ns = stage_thread_cpu();
        p->busy = false;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int pipeline_start(pipeline_job_fn fn, void *ctx, struct pipeline **out)
{
    struct pipeline *p = calloc(1, sizeof(*p));
    sigset_t all, old;
    int rc;
    *out = NULL;
    if (!p)
        return err_set(ML_ENOMEM, "out of memory");
    p->fn = fn;
    p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* the worker inherits a mask that blocks everything */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&p->thread, NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return err_set(ML_EIO, "cannot start the batch writer thread (error %d)", rc);
    }
    *out = p;
    return 0;
}

void pipeline_submit(struct pipeline *p, void *job)
{
    pthread_mutex_lock(&p->mu);
    p->job = job;
    p->busy = true;
    p->rc = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int pipeline_wait(struct pipeline *p)
{
    int rc;
    pthread_mutex_lock(&p->mu);
    while (p->busy)
        pthread_cond_wait(&p->cv, &p->mu);
    rc = p->rc;
    p->rc = 0; /* reported once */
    if (rc)
        err_set(rc, "%s", p->msg);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

uint64_t pipeline_cpu_ns(struct pipeline *p)
{
    uint64_t ns;
    pthread_mutex_lock(&p->mu);
    ns = p->cpu_ns;
    pthread_mutex_unlock(&p->mu);
    return ns;
}

void pipeline_stop(struct pipeline *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    while (p->busy)
        pthread_cond_wait(&p->cv, &p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
