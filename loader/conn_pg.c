#include "conn_pg.h"

#include "buf.h"
#include "error.h"
#include "banned.h"

/* `hosts` as libpq's two comma lists (the names are [A-Za-z0-9_.-], so a
 * comma never needs quoting); nothing appended when n is 0. */
static int host_lists(const struct config_host *h, size_t n, struct buf *hosts, struct buf *ports)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = buf_addf(hosts, "%s%s", i ? "," : "", h[i].host);
        if (!rc)
            rc = buf_addf(ports, "%s%u", i ? "," : "", h[i].port);
    }
    return rc;
}

/* pg_connect with `p`, through the host list when there is one. */
static int connect_listed(struct pg_params *p, const struct config_host *h, size_t n,
                          struct pg **out)
{
    struct buf hosts = BUF_INIT, ports = BUF_INIT;
    int rc = host_lists(h, n, &hosts, &ports);
    *out = NULL;
    if (!rc && n) {
        p->hosts = hosts.data;
        p->ports = ports.data;
    }
    if (!rc)
        rc = pg_connect(p, out);
    buf_release(&hosts);
    buf_release(&ports);
    return rc;
}

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
    int rc = connect_listed(&p, cfg->admin.hosts, cfg->admin.nhosts, out);
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
    return connect_listed(&p, cfg->warehouse.hosts, cfg->warehouse.nhosts, out);
}
