/* sqlgen.h - SQL text for batch upserts (pure string building, no I/O).
 *
 * Upsert contract: a row is inserted, or the existing row with the same
 * natural key gets the new values; load_run_id and loaded_at change only when
 * some non-key value differs, so a rerun over unchanged data leaves every row
 * byte-identical (CHECKSUM TABLE unchanged). The metadata assignments come
 * first in the UPDATE list because the server evaluates assignments left to
 * right: the comparison must see the old values.
 */
#ifndef ML_SQLGEN_H
#define ML_SQLGEN_H

#include <stdbool.h>

#include "buf.h"
#include "db.h"
#include "mapping.h"

/* "INSERT INTO `t` (`c1`,...,`load_run_id`,`loaded_at`) VALUES " */
int sqlgen_upsert_head(struct buf *sql, const struct table_def *t);

/* " [AS new] ON DUPLICATE KEY UPDATE ..." for the dialect. */
int sqlgen_upsert_tail(struct buf *sql, const struct table_def *t, enum db_dialect dialect);

/* The assignment list that follows ON DUPLICATE KEY UPDATE. With `qualify`
 * the target's columns are written `table`.`col`, as INSERT ... SELECT needs
 * (an unqualified name would be ambiguous there). */
int sqlgen_upsert_assignments(struct buf *sql, const struct table_def *t, enum db_dialect dialect,
                              bool qualify);

#endif
