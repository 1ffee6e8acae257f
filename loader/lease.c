/* lease.c - the run lease (lease.h). */
#include "lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "error.h"
#include "log.h"
#include "banned.h"

/* a lease outlives this many missed beats */
#define LEASE_BEATS 3

/* The lease's statements in one dialect: $1 the run id, $2 its token, $3
 * the lease's lifetime in seconds (LEASE_BEATS intervals). */
struct lease_sql {
    const char *insert, *move, *renew, *check, *unlease;
};

#define MY_NOW     "UTC_TIMESTAMP(3)"
#define MY_EXPIRES MY_NOW " + INTERVAL $3 SECOND"
#define PG_NOW     "(now() AT TIME ZONE 'UTC')"
#define PG_EXPIRES PG_NOW " + $3::integer * interval '1 second'"

static const struct lease_sql mysql_sql = {
    "INSERT INTO load_run_leases (run_id, token, node, connection_id, heartbeat_at, expires_at) "
    "VALUES ($1, $2, " LEASE_NODE_SQL ", CONNECTION_ID(), " MY_NOW ", " MY_EXPIRES ")",
    "UPDATE load_run_leases SET node = " LEASE_NODE_SQL ", connection_id = CONNECTION_ID(), "
    "heartbeat_at = " MY_NOW ", expires_at = " MY_EXPIRES " WHERE run_id = $1 AND token = $2",
    "UPDATE load_run_leases SET heartbeat_at = " MY_NOW ", expires_at = " MY_EXPIRES
    " WHERE run_id = $1 AND token = $2",
    "SELECT COUNT(*) FROM load_run_leases WHERE run_id = $1 AND token = $2",
    "DELETE FROM load_run_leases WHERE run_id = $1",
};

static const struct lease_sql pg_sql = {
    "INSERT INTO load_run_leases (run_id, token, node, connection_id, heartbeat_at, expires_at) "
    "VALUES ($1::bigint, $2, " LEASE_PG_NODE_SQL ", pg_backend_pid(), " PG_NOW ", " PG_EXPIRES ")",
    "UPDATE load_run_leases SET node = " LEASE_PG_NODE_SQL ", connection_id = pg_backend_pid(), "
    "heartbeat_at = " PG_NOW ", expires_at = " PG_EXPIRES
    " WHERE run_id = $1::bigint AND token = $2",
    "UPDATE load_run_leases SET heartbeat_at = " PG_NOW ", expires_at = " PG_EXPIRES
    " WHERE run_id = $1::bigint AND token = $2",
    "SELECT count(*) FROM load_run_leases WHERE run_id = $1::bigint AND token = $2",
    "DELETE FROM load_run_leases WHERE run_id = $1::bigint",
};

static const struct lease_sql *sql_of(const struct wh *w)
{
    return wh_is_postgres(w) ? &pg_sql : &mysql_sql;
}

/* The three parameters as text. */
struct lease_params {
    char run[24], life[16];
    const char *p[3];
};

static void params_set(struct lease_params *lp, unsigned long long run_id, const char *token,
                       unsigned interval_s)
{
    snprintf(lp->run, sizeof(lp->run), "%llu", run_id);
    snprintf(lp->life, sizeof(lp->life), "%llu", (unsigned long long)interval_s * LEASE_BEATS);
    lp->p[0] = lp->run;
    lp->p[1] = token;
    lp->p[2] = lp->life;
}

int lease_new_token(char *token)
{
    unsigned char raw[LEASE_TOKEN_HEX / 2];
    int rc = crypto_random(raw, sizeof(raw));
    if (!rc)
        crypto_hex(raw, sizeof(raw), token);
    return rc;
}

int lease_insert(struct wh *w, unsigned long long run_id, unsigned interval_s, char *token)
{
    struct lease_params lp;
    int rc = lease_new_token(token);
    if (rc)
        return rc;
    params_set(&lp, run_id, token, interval_s);
    return wh_exec_params(w, sql_of(w)->insert, 3, lp.p, NULL);
}

static int lease_gone(unsigned long long run_id)
{
    return err_set(ML_EDB, "run %llu: its lease is gone (no row with its token)", run_id);
}

int lease_move(struct wh *w, unsigned long long run_id, unsigned interval_s, const char *token)
{
    struct lease_params lp;
    int rc;
    params_set(&lp, run_id, token, interval_s);
    rc = wh_exec_params(w, sql_of(w)->move, 3, lp.p, NULL);
    if (!rc && wh_affected_rows(w) != 1)
        rc = lease_gone(run_id);
    return rc;
}

int lease_check(struct wh *w, unsigned long long run_id, const char *token)
{
    struct lease_params lp;
    unsigned long long n = 0;
    int rc;
    params_set(&lp, run_id, token, 0);
    rc = wh_query_u64(w, sql_of(w)->check, 2, lp.p, &n, NULL);
    if (!rc && n != 1)
        rc = lease_gone(run_id);
    return rc;
}

int lease_delete(struct wh *w, unsigned long long run_id)
{
    struct lease_params lp;
    params_set(&lp, run_id, NULL, 0);
    return wh_exec_params(w, sql_of(w)->unlease, 1, lp.p, NULL);
}

struct lease_ticker {
    unsigned interval_s;
    void (*beat)(void *arg);
    void (*done)(void *arg);
    void *arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *ticker_main(void *arg)
{
    struct lease_ticker *t = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        next.tv_sec += t->interval_s;
        while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &next) != ETIMEDOUT)
            ;
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->mu);
        t->beat(t->arg);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    if (t->done)
        t->done(t->arg);
    return NULL;
}

int lease_ticker_start(unsigned interval_s, void (*beat)(void *arg), void (*done)(void *arg),
                       void *arg, struct lease_ticker **out)
{
    struct lease_ticker *t = calloc(1, sizeof(*t));
    pthread_condattr_t ca;
    *out = NULL;
    if (!t)
        return err_set(ML_ENOMEM, "out of memory");
    t->interval_s = interval_s ? interval_s : 1;
    t->beat = beat;
    t->done = done;
    t->arg = arg;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return err_set(ML_EIO, "cannot start the lease heartbeat thread");
    }
    *out = t;
    return 0;
}

void lease_ticker_stop(struct lease_ticker *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

struct lease_heartbeat {
    const struct config *cfg;
    unsigned long long run_id;
    char token[LEASE_TOKEN_HEX + 1];
    struct lease_ticker *ticker;
    struct wh *w;
};

static void beat(void *arg)
{
    struct lease_heartbeat *hb = arg;
    struct lease_params lp;
    int rc = 0;
    if (!hb->w)
        rc = wh_connect(hb->cfg, WH_LOADER, &hb->w);
    params_set(&lp, hb->run_id, hb->token, hb->cfg->load.heartbeat_interval);
    if (!rc)
        rc = wh_exec_params(hb->w, sql_of(hb->w)->renew, 3, lp.p, NULL);
    if (rc)
        log_debug("run %llu: lease heartbeat failed: %s", hb->run_id, err_msg());
    else if (wh_affected_rows(hb->w) == 0)
        log_debug("run %llu: no lease row to renew", hb->run_id);
    /* a lost connection is opened again at the next beat */
    if (rc && hb->w && wh_error_class(hb->w) == DB_ERR_LOST) {
        wh_close(hb->w);
        hb->w = NULL;
    }
}

static void beat_done(void *arg)
{
    struct lease_heartbeat *hb = arg;
    wh_close(hb->w);
    hb->w = NULL;
}

int lease_heartbeat_start(const struct config *cfg, unsigned long long run_id, const char *token,
                          struct lease_heartbeat **out)
{
    struct lease_heartbeat *hb = calloc(1, sizeof(*hb));
    int rc;
    *out = NULL;
    if (!hb)
        return err_set(ML_ENOMEM, "out of memory");
    hb->cfg = cfg;
    hb->run_id = run_id;
    memcpy(hb->token, token, sizeof(hb->token));
    rc = lease_ticker_start(cfg->load.heartbeat_interval, beat, beat_done, hb, &hb->ticker);
    if (rc) {
        free(hb);
        return rc;
    }
    *out = hb;
    return 0;
}

void lease_heartbeat_stop(struct lease_heartbeat *hb)
{
    if (!hb)
        return;
    lease_ticker_stop(hb->ticker);
    free(hb);
}
