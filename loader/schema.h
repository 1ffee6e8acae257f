/* schema.h - `maskload init`: database, tables, roles, accounts, grants,
 * monitoring and analysis views, from the embedded SQL files.
 *
 * Idempotent: every statement is CREATE ... IF NOT EXISTS, CREATE OR
 * REPLACE, or a GRANT; account passwords are (re)set to the configured ones.
 * Runs as the admin account. Views are SQL SECURITY INVOKER, so a view can
 * never show a reader more than the reader's own grants allow.
 */
#ifndef ML_SCHEMA_H
#define ML_SCHEMA_H

#include <stddef.h>

#include "config.h"

struct schema_report {
    size_t statements; /* statements executed */
    size_t tables;     /* DDL files applied */
    size_t views;      /* views installed */
    size_t accounts;   /* accounts created or updated */
    char server[128];  /* server version string */
};

int schema_init(const struct config *cfg, struct schema_report *rep);

/* View name for an embedded view file: "monitor_x.sql" -> "monitor_x",
 * "01_messages_per_day.sql" (queries) -> "analysis_messages_per_day".
 * Writes into out (size outsz); returns 0 or ML_EINVAL. */
int schema_view_name(const char *dir, const char *file, char *out, size_t outsz);

#endif
