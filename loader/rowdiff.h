/* rowdiff.h - which rows of a batch the warehouse already holds, unchanged.
 *
 * A rerun over unchanged data must write no row: before a table's rows are
 * written, the stored rows of the same keys are read back and every batch
 * row equal to its stored row in each column of the definition is marked,
 * so that the writer (bulk.c, the INSERT path of load.c) leaves it alone.
 * Equal means byte for byte (NULL only equals NULL), which is stricter than
 * the server's collations: a value that differs only in case or in trailing
 * spaces is written again. The load_run_id and loaded_at of an unchanged row
 * stay those of the run that last changed it.
 */
#ifndef ML_ROWDIFF_H
#define ML_ROWDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "buf.h"
#include "db.h"

/* Inside the caller's transaction: reads the stored rows whose first key
 * column holds a value of the batch's rows (SELECT ... FOR UPDATE, so the
 * rows compared stay as read until the commit, as the upsert would hold
 * them; per chunk of rows an IN list, or, when the chunk's integer values
 * fill at least half of their range, the whole range with BETWEEN, which
 * also reads and locks the few stored rows in between) and sets same[r] (nrows entries, all
 * written) for every row r of `t` whose stored row has the same key and the same values. *nsame
 * gets their number. `sql` is scratch. 0, or a negative code with err_msg(). */
int rowdiff_mark_unchanged(struct db *db, struct buf *sql, const struct batch *b,
                           struct table_rows *t, bool *same, size_t *nsame);

#endif
