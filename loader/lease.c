/* lease.c - the run lease (lease.h). */
#include "lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "crypto.h"
#include "error.h"
#include "log.h"
#include "banned.h"

/* a lease outlives this many missed beats */
#define LEASE_BEATS 3

int lease_new_token(char *token)
{
    unsigned char raw[LEASE_TOKEN_HEX / 2];
    int rc = crypto_random(raw, sizeof(raw));
    if (!rc)
        crypto_hex(raw, sizeof(raw), token);
    return rc;
}

int lease_insert(struct db *db, struct buf *sql, unsigned long long run_id, unsigned interval_s,
                 char *token)
{
    int rc = lease_new_token(token);
    if (rc)
        return rc;
    buf_reset(sql);
    rc = buf_addf(sql,
                  "INSERT INTO load_run_leases (run_id, token, node, connection_id, heartbeat_at, "
                  "expires_at) VALUES (%llu, '%s', " LEASE_NODE_SQL ", CONNECTION_ID(), "
                  "UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL %u SECOND)",
                  run_id, token, interval_s * LEASE_BEATS);
    if (!rc)
        rc = db_exec_len(db, sql->data, sql->len);
    return rc;
}

int lease_move(struct db *db, struct buf *sql, unsigned long long run_id, unsigned interval_s,
               const char *token)
{
    int rc = db_begin(db);
    buf_reset(sql);
    if (!rc)
        rc = buf_addf(sql,
                      "UPDATE load_run_leases SET node=" LEASE_NODE_SQL ", "
                      "connection_id=CONNECTION_ID(), heartbeat_at=UTC_TIMESTAMP(3), "
                      "expires_at=UTC_TIMESTAMP(3) + INTERVAL %u SECOND "
                      "WHERE run_id=%llu AND token='%s'",
                      interval_s * LEASE_BEATS, run_id, token);
    if (!rc)
        rc = db_exec_len(db, sql->data, sql->len);
    if (!rc && db_affected_rows(db) != 1)
        rc = err_set(ML_EDB, "run %llu: its lease is gone (no row with its token)", run_id);
    if (!rc)
        rc = db_commit(db);
    if (rc)
        db_rollback(db);
    return rc;
}

int lease_check(struct db *db, struct buf *sql, unsigned long long run_id, const char *token)
{
    unsigned long long n = 0;
    bool is_null = true;
    int rc;
    buf_reset(sql);
    rc = buf_addf(sql, "SELECT COUNT(*) FROM load_run_leases WHERE run_id=%llu AND token='%s'",
                  run_id, token);
    if (!rc)
        rc = db_query_u64(db, sql->data, &n, &is_null);
    if (!rc && n != 1)
        rc = err_set(ML_EDB, "run %llu: its lease is gone (no row with its token)", run_id);
    return rc;
}

int lease_delete(struct db *db, unsigned long long run_id)
{
    return db_execf(db, "DELETE FROM load_run_leases WHERE run_id=%llu", run_id);
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
    struct db *db;
};

static void beat(void *arg)
{
    struct lease_heartbeat *hb = arg;
    unsigned iv = hb->cfg->load.heartbeat_interval;
    int rc = 0;
    if (hb->db && db_connection_lost(hb->db)) {
        db_close(hb->db);
        hb->db = NULL;
    }
    if (!hb->db)
        rc = conn_warehouse(hb->cfg, &hb->db);
    if (!rc)
        rc = db_execf(hb->db,
                      "UPDATE load_run_leases SET heartbeat_at=UTC_TIMESTAMP(3), "
                      "expires_at=UTC_TIMESTAMP(3) + INTERVAL %u SECOND "
                      "WHERE run_id=%llu AND token='%s'",
                      iv * LEASE_BEATS, hb->run_id, hb->token);
    if (rc)
        log_debug("run %llu: lease heartbeat failed: %s", hb->run_id, err_msg());
    else if (db_affected_rows(hb->db) == 0)
        log_debug("run %llu: no lease row to renew", hb->run_id);
}

static void beat_done(void *arg)
{
    struct lease_heartbeat *hb = arg;
    db_close(hb->db);
    hb->db = NULL;
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
