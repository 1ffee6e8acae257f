/* conn_pg.h - PostgreSQL connections as configured (`warehouse.kind:
 * postgres`): the counterpart of conn.h for a PostgreSQL warehouse.
 * Every session is set up by pg.h (UTC, UTF-8, search_path the configured
 * schema). With `hosts` (warehouse.hosts, admin.hosts) the connection is
 * libpq's multi-host one: the servers are tried in order and the first
 * read-write one (the primary; standbys are read-only) is taken, so after a
 * standby's promotion a new connection reaches it. */
#ifndef ML_CONN_PG_H
#define ML_CONN_PG_H

#include "config.h"
#include "pg.h"

/* The admin account (`admin`: user, password, host, port or socket
 * directory, TLS) on `database` (NULL: the warehouse's database), with the
 * warehouse schema as search_path. On failure ML_EDB "admin: cannot connect
 * to 'host:port' as 'user': ..." (pg_connect's message, never the
 * password), ML_EINVAL for bad TLS parameters. */
int conn_pg_admin(const struct config *cfg, const char *database, struct pg **out);

/* The loader account (`warehouse`) on the warehouse database. */
int conn_pg_warehouse(const struct config *cfg, struct pg **out);

#endif
