/* batchtx.h - the statements of a batch's transaction besides its rows.
 *
 * The loader (load.c) writes a batch in one transaction: exactly-once
 * claims first (a stream with a processed table), then each child table's
 * tails, the rows themselves (writer.h), the rejects, the cursor and the
 * counters. These are the statements of that transaction that are neither
 * rows nor the run's own bookkeeping. Each runs in the caller's
 * transaction and only reads the batch (batchtx_claim may drop records from
 * it, which is final), so a failed transaction can be replayed from its
 * start. `sql` is the caller's scratch buffer. 0, or a negative code with
 * err_msg() naming the table.
 */
#ifndef ML_BATCHTX_H
#define ML_BATCHTX_H

#include "batch.h"
#include "buf.h"
#include "db.h"
#include "wh.h"

/* Exactly once over an at-least-once source (stream_def.processed_table):
 * records the key of every main row and reject of `b` in the stream's
 * processed table with INSERT IGNORE, in sorted key order (two loaders
 * claiming overlapping keys lock them in the same order; a claim waits for
 * a concurrent transaction holding the key and then sees its outcome), and
 * drops from `b` (batch_drop) those whose key is there already: an earlier
 * transaction, perhaps another loader's, committed them, and a redelivered
 * message changes nothing. */
int batchtx_claim(struct db *db, struct buf *sql, struct batch *b, unsigned long long run_id);

/* Deletes the rows of child `ci` past each parent's new end (an array that
 * shrank). One indexed IN lookup first asks how far the batch's parents'
 * stored rows go; only parents with rows at or past their new count are
 * trimmed (on a first load and a rerun of unchanged data: none). The batch's
 * parent keys are unique (batch_compact first). */
int batchtx_trim_children(struct db *db, struct buf *sql, const struct batch *b, unsigned ci);

/* Inserts the batch's rejects into load_rejects for `stream`, written by
 * run `run_id`, on either warehouse (wh.h: every value bound), in
 * statements of a few MiB or 1000 rows. A source_ref or reason longer than
 * its column (2048 characters) is cut at a character's start, so that a
 * long URL or message never fails the batch. */
int batchtx_rejects(struct wh *w, const struct batch *b, const char *stream,
                    unsigned long long run_id);

#endif
