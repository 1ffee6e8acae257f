/* conn.h - database connections as configured (warehouse loader account,
 * or the admin account used by init). */
#ifndef ML_CONN_H
#define ML_CONN_H

#include <stdbool.h>

#include "config.h"
#include "db.h"

/* The loader account on the warehouse database. With `warehouse.hosts`, the
 * first host, in the configured order, that answers and, when it runs
 * Galera (wsrep_on), reports wsrep_ready ON and wsrep_local_state_comment
 * Synced; a host skipped is logged (warning) with its reason, and when no
 * host is usable the error (ML_EDB) names every host and its reason. A
 * caller that lost its connection calls this again to fail over: a host
 * that is gone does not answer and the next one is taken. */
int conn_warehouse(const struct config *cfg, struct db **out);

/* The admin account; with_database selects the warehouse database. With
 * `admin.hosts` (or the warehouse's hosts, copied), as conn_warehouse. */
int conn_admin(const struct config *cfg, bool with_database, struct db **out);

#endif
