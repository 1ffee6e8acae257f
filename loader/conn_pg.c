#include "conn_pg.h"

#include "error.h"
#include "banned.h"

int conn_pg_admin(const struct config *cfg, const char *database, struct pg **out)
{
    struct pg_params p = {
        .host = cfg->admin.host,
        .port = cfg->admin.port,
        .socket_dir = cfg->admin.socket,
        .user = cfg->admin.user,
        .password = cfg->admin.password,
        .database = database ? database : cfg->warehouse.database,
        .schema = cfg->warehouse.schema,
        .connect_timeout_s = cfg->warehouse.connect_timeout_s,
        .lock_timeout_s = cfg->warehouse.lock_wait_timeout_s,
        .tls_mode = (int)cfg->admin.tls.mode,
        .tls_ca = cfg->admin.tls.ca,
        .tls_cert = cfg->admin.tls.cert,
        .tls_key = cfg->admin.tls.key,
    };
    int rc = pg_connect(&p, out);
    return rc ? err_prefix(rc, "admin") : 0;
}

int conn_pg_warehouse(const struct config *cfg, struct pg **out)
{
    struct pg_params p = {
        .host = cfg->warehouse.host,
        .port = cfg->warehouse.port,
        .socket_dir = cfg->warehouse.socket,
        .user = cfg->warehouse.user,
        .password = cfg->warehouse.password,
        .database = cfg->warehouse.database,
        .schema = cfg->warehouse.schema,
        .connect_timeout_s = cfg->warehouse.connect_timeout_s,
        .lock_timeout_s = cfg->warehouse.lock_wait_timeout_s,
        .tls_mode = (int)cfg->warehouse.tls.mode,
        .tls_ca = cfg->warehouse.tls.ca,
        .tls_cert = cfg->warehouse.tls.cert,
        .tls_key = cfg->warehouse.tls.key,
    };
    return pg_connect(&p, out);
}
