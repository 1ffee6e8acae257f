/* lease.h - the run lease: how a live run is told from one whose process is
 * gone, with nothing another account can take, block or fake.
 *
 * A run inserts its lease row into load_run_leases (run id, a random token,
 * the server node and CONNECTION_ID() of the run's connection, heartbeat_at,
 * expires_at) in the transaction that makes its load_runs row visible
 * (lease_insert). A background thread, on a connection of its own, renews
 * it every `load.heartbeat_interval` seconds, setting expires_at to three
 * intervals ahead, and only where the token matches (lease_heartbeat_start).
 * The run deletes its lease when it records its end. The table is granted
 * to nobody but the loader, and nothing waits on a lease: a stale run never
 * blocks the next one.
 *
 * A 'running' run is stale (LEASE_STALE_SQL) when its lease is missing or
 * expired (no heartbeat: the process is gone or hung, on whichever node it
 * ran), or when it was taken on the node the reader is connected to and
 * that node's process list no longer has its connection (the process died;
 * seen at once). The process list shows an account its own connections, so
 * the reader must be the loader account, as `status` is.
 */
#ifndef ML_LEASE_H
#define ML_LEASE_H

#include "buf.h"
#include "config.h"
#include "wh.h"

/* SQL expression naming the server a connection is on. */
#define LEASE_NODE_SQL "CONCAT(@@hostname, ':', @@port)"

/* SQL expression, over load_runs `r` LEFT JOIN load_run_leases `l` ON
 * l.run_id = r.run_id: 0 = not stale (or not running), 1 = stale, its
 * connection is gone from this node, 2 = stale, no heartbeat. */
#define LEASE_STALE_SQL                                                                            \
    "CASE WHEN r.status <> 'running' THEN 0 "                                                      \
    "WHEN l.run_id IS NOT NULL AND l.node = " LEASE_NODE_SQL " AND NOT EXISTS (SELECT 1 FROM "     \
    "information_schema.PROCESSLIST p WHERE p.ID = l.connection_id) THEN 1 "                       \
    "WHEN l.run_id IS NULL OR l.expires_at < UTC_TIMESTAMP(3) THEN 2 ELSE 0 END"

/* The same for a PostgreSQL warehouse: a run's lease names the server as
 * LEASE_PG_NODE_SQL does and its connection by pg_backend_pid(); the
 * process list is pg_stat_activity (every account sees every backend's
 * pid there). */
#define LEASE_PG_NODE_SQL                                                                          \
    "(coalesce(host(inet_server_addr()), 'socket') || ':' || current_setting('port'))"
#define LEASE_PG_STALE_SQL                                                                         \
    "CASE WHEN r.status <> 'running' THEN 0 "                                                      \
    "WHEN l.run_id IS NOT NULL AND l.node = " LEASE_PG_NODE_SQL " AND NOT EXISTS (SELECT 1 FROM "  \
    "pg_catalog.pg_stat_activity p WHERE p.pid = l.connection_id) THEN 1 "                         \
    "WHEN l.run_id IS NULL OR l.expires_at < (now() AT TIME ZONE 'UTC') THEN 2 ELSE 0 END"

/* Length of a token in hex characters. */
#define LEASE_TOKEN_HEX 32

/* The statements below run on either warehouse (wh.h): each dialect's
 * text differs only in its clock, its server and connection names and its
 * casts; every value is a bound parameter.
 *
 * Inserts the lease of run `run_id` through `w` (the run's own connection,
 * inside the caller's transaction), with a new random token written to
 * token (LEASE_TOKEN_HEX + 1 bytes) and expires_at three `interval_s`
 * ahead. 0, ML_ECRYPTO or ML_EDB. */
int lease_insert(struct wh *w, unsigned long long run_id, unsigned interval_s, char *token);

/* After a failover: moves the lease of run `run_id` (token `token`) to the
 * connection `w` now is, in one statement (autocommit): node and
 * connection_id become this connection's, the heartbeat is renewed. 0;
 * ML_EDB on error or when no row has that token (the lease was lost: the
 * run must not go on). */
int lease_move(struct wh *w, unsigned long long run_id, unsigned interval_s, const char *token);

/* Whether the lease of run `run_id` (token `token`) is still there, read
 * through `w` (autocommit) without moving it: what a connection of the
 * run other than the one holding the lease checks after its failover. 0;
 * ML_EDB on error or when no row has that token (the run must not go on). */
int lease_check(struct wh *w, unsigned long long run_id, const char *token);

/* Deletes the lease of run `run_id` (autocommit). 0 or ML_EDB. */
int lease_delete(struct wh *w, unsigned long long run_id);

/* A new lease token: LEASE_TOKEN_HEX random hex digits and a NUL written to
 * token (LEASE_TOKEN_HEX + 1 bytes). 0 or crypto_random's code. */
int lease_new_token(char *token);

/* The thread of a heartbeat, whatever the warehouse: calls beat(arg) every
 * interval_s seconds (at least 1; monotonic clock) until lease_ticker_stop,
 * then done(arg) (when not NULL) on the same thread. 0, ML_ENOMEM or ML_EIO
 * (no thread). */
struct lease_ticker;
int lease_ticker_start(unsigned interval_s, void (*beat)(void *arg), void (*done)(void *arg),
                       void *arg, struct lease_ticker **out);

/* Stops and joins the thread (done has run when it returns). NULL is fine. */
void lease_ticker_stop(struct lease_ticker *t);

struct lease_heartbeat;

/* Starts the thread renewing the lease every cfg->load.heartbeat_interval
 * seconds on a loader connection of its own to the configured warehouse
 * (wh_connect; opened at the first beat, reopened at
 * the next beat when lost; a failed beat is logged at debug level and never
 * fails the run). 0, ML_ENOMEM or ML_EIO (no thread). */
int lease_heartbeat_start(const struct config *cfg, unsigned long long run_id, const char *token,
                          struct lease_heartbeat **out);

/* Stops and joins the thread, closes its connection. NULL is fine. */
void lease_heartbeat_stop(struct lease_heartbeat *hb);

#endif
