/* conn.h - database connections as configured (warehouse loader account,
 * or the admin account used by init). */
#ifndef ML_CONN_H
#define ML_CONN_H

#include <stdbool.h>

#include "config.h"
#include "db.h"

/* The loader account on the warehouse database. */
int conn_warehouse(const struct config *cfg, struct db **out);

/* The admin account; with_database selects the warehouse database. */
int conn_admin(const struct config *cfg, bool with_database, struct db **out);

#endif
