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

#include "buf.h"
#include "db.h"
#include "mapping.h"

/* "INSERT INTO `t` (`c1`,...,`load_run_id`,`loaded_at`) VALUES " */
int sqlgen_upsert_head(struct buf *sql, const struct table_def *t);

/* " [AS new] ON DUPLICATE KEY UPDATE ..." for the dialect. */
int sqlgen_upsert_tail(struct buf *sql, const struct table_def *t, enum db_dialect dialect);

#endif
