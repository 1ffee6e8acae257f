#include "conn.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "banned.h"

/* Tries hosts[0..n) in order with `p` (host/port replaced): the first that
 * answers and, on Galera, is ready and Synced wins. Every host that does not
 * is logged, and named with its reason in the error when none does. */
static int connect_hosts(struct db_params *p, const struct config_host *hosts, size_t n,
                         const char *what, struct db **out)
{
    struct buf why = BUF_INIT;
    int rc = 0;
    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        struct db *db = NULL;
        bool galera = false, ready = true;
        char state[64] = "";
        p->host = hosts[i].host;
        p->port = hosts[i].port;
        rc = db_connect(p, &db);
        if (!rc)
            rc = db_galera_state(db, &galera, &ready, state, sizeof(state));
        if (!rc && galera && (!ready || strcmp(state, "Synced") != 0))
            rc = err_set(ML_EDB, "galera node not usable (wsrep_ready %s, state '%s')",
                         ready ? "ON" : "OFF", state);
        if (!rc) {
            if (i > 0)
                log_info("%s: connected to host %s:%u (the %zu before it unusable)", what,
                         hosts[i].host, hosts[i].port, i);
            *out = db;
            buf_release(&why);
            return 0;
        }
        log_warn("%s: host %s:%u skipped: %s", what, hosts[i].host, hosts[i].port, err_msg());
        buf_addf(&why, "%s%s:%u: %s", i ? "; " : "", hosts[i].host, hosts[i].port, err_msg());
        db_close(db);
    }
    rc = err_set(ML_EDB, "%s: no usable host of %zu: %s", what, n, why.data ? why.data : "");
    buf_release(&why);
    return rc;
}

int conn_warehouse(const struct config *cfg, struct db **out)
{
    struct db_params p = {
        .host = cfg->warehouse.host,
        .port = cfg->warehouse.port,
        .socket = cfg->warehouse.socket,
        .user = cfg->warehouse.user,
        .password = cfg->warehouse.password,
        .database = cfg->warehouse.database,
        .connect_timeout_s = cfg->warehouse.connect_timeout_s,
        .local_infile = true, /* bulk loads; served from memory only (db.h) */
        .lock_wait_timeout_s = cfg->warehouse.lock_wait_timeout_s,
        .tls_mode = (int)cfg->warehouse.tls.mode,
        .tls_ca = cfg->warehouse.tls.ca,
        .tls_cert = cfg->warehouse.tls.cert,
        .tls_key = cfg->warehouse.tls.key,
    };
    int rc;
    if (cfg->warehouse.nhosts)
        return connect_hosts(&p, cfg->warehouse.hosts, cfg->warehouse.nhosts, "warehouse", out);
    rc = db_connect(&p, out);
    return rc ? err_prefix(rc, "warehouse") : 0;
}

int conn_admin(const struct config *cfg, bool with_database, struct db **out)
{
    struct db_params p = {
        .host = cfg->admin.host,
        .port = cfg->admin.port,
        .socket = cfg->admin.socket,
        .user = cfg->admin.user,
        .password = cfg->admin.password,
        .database = with_database ? cfg->warehouse.database : NULL,
        .connect_timeout_s = cfg->warehouse.connect_timeout_s,
        .tls_mode = (int)cfg->admin.tls.mode,
        .tls_ca = cfg->admin.tls.ca,
        .tls_cert = cfg->admin.tls.cert,
        .tls_key = cfg->admin.tls.key,
    };
    int rc;
    if (cfg->admin.nhosts)
        return connect_hosts(&p, cfg->admin.hosts, cfg->admin.nhosts, "admin", out);
    rc = db_connect(&p, out);
    return rc ? err_prefix(rc, "admin") : 0;
}
