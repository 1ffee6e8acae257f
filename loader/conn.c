#include "conn.h"

#include "error.h"
#include "banned.h"

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
    int rc = db_connect(&p, out);
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
    int rc = db_connect(&p, out);
    return rc ? err_prefix(rc, "admin") : 0;
}
