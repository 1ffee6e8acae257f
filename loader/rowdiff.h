/* rowdiff.h - which rows of a batch the warehouse already holds, unchanged.
 *
 * A rerun over unchanged data must write no row, and should cost the
 * server little more than reading its rows: before a table's rows are
 * written, the stored rows of the same keys are read back and every batch
 * row equal to its stored row in each column of the definition is marked,
 * so that the writer (MySQL: bulk.c, the INSERT path of writer.h;
 * PostgreSQL: writer_pg.h) leaves it out. Equal means that the stored
 * value, as the server prints it, is byte for byte the batch value as that
 * server would print it (rowdiff_text; NULL only equals NULL), which is
 * stricter than the server's collations: a value that differs only in case
 * or in trailing spaces is written again. A value whose printed form is not
 * known here (a PostgreSQL bytea longer than ROWDIFF_TEXT_MAX allows, a
 * text holding a NUL byte there) is never equal: its row is written, and
 * the writer's own comparison leaves it unchanged if it is. The load_run_id
 * and loaded_at of an unchanged row stay those of the run that last changed
 * it.
 *
 * Works over wh.h on both kinds; what differs is data: the printed forms,
 * and the lock (below).
 */
#ifndef ML_ROWDIFF_H
#define ML_ROWDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "buf.h"
#include "db.h"
#include "streamdef.h"
#include "wh.h"

/* Room for a printed value that is not the batch's own text: an integer,
 * a PostgreSQL timestamp or boolean, the "\x" hex of a 32-byte digest. */
#define ROWDIFF_TEXT_MAX 72

/* Cell `c` of a column of type `type` as a server of dialect `d` prints it
 * back: `text` is batch_text() of a CELL_TEXT cell (ignored otherwise).
 * Integers in decimal; on PostgreSQL a boolean as t or f, a timestamp
 * without the trailing zeros of its milliseconds (and without the point
 * when all are zero), a digest (bytea) as \x and lower-case hex. Returns
 * either `text` or tmp[0..*len), or NULL (*len 0) for NULL, a pending
 * surrogate, or a value whose printed form is not known (see above). */
const char *rowdiff_text(enum db_dialect d, enum col_type type, const struct cell *c,
                         const char *text, char tmp[ROWDIFF_TEXT_MAX], size_t *len);

/* Inside the caller's transaction: reads the stored rows whose first key
 * column holds a value of the batch's rows (per chunk of rows an IN list,
 * integers written out and any other value bound; or, when the chunk's
 * integer values fill at least half of their range, the whole range with
 * BETWEEN, which also reads the few stored rows in between) and sets
 * same[r] (nrows entries, all written) for every row r of `t` whose stored
 * row has the same key and the same values. *nsame gets their number.
 * MySQL reads them FOR UPDATE, so the rows compared stay as read until the
 * commit, as the upsert would hold them (and the gaps of a range read are
 * locked too). PostgreSQL reads them without a lock, which there would
 * write every row read and its WAL: a row changed by another transaction
 * after the read keeps that transaction's value, as if this one (which
 * would not have changed it) had committed first. `sql` is scratch. 0, or
 * a negative code with err_msg(). */
int rowdiff_mark_unchanged(struct wh *w, struct buf *sql, const struct batch *b,
                           struct table_rows *t, bool *same, size_t *nsame);

#endif
