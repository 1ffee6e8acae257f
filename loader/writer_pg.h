/* writer_pg.h - how the rows of one table of a batch reach a PostgreSQL
 * warehouse, and the statements of the batch's transaction around them.
 *
 * The PostgreSQL counterpart of writer.h's implementations and of
 * batchtx.h (whose signatures take a MySQL connection). Per table and
 * batch: the rows (those the caller did not find unchanged, rowdiff.h) go
 * by `COPY ... FROM STDIN`, fed from memory (every value in COPY's text
 * format, pg_copy_append_field), into a temporary staging table of the
 * table's definition columns (created once per session, ON COMMIT DELETE
 * ROWS: empty at every batch); when the caller compared nothing, the
 * staged rows equal to their stored rows are deleted from it (DELETE ...
 * USING t on the key, the other columns IS NOT DISTINCT FROM: neither
 * written nor locked, so that such rows write nothing to the table or its
 * WAL), then one set-based
 *   INSERT INTO t (cols, load_run_id, loaded_at) SELECT ... FROM staging
 *   ON CONFLICT (key) DO UPDATE SET ... WHERE (t.cols) IS DISTINCT FROM
 *   (EXCLUDED.cols)
 * so that a row equal to its stored row is not rewritten (no new tuple
 * version, load_run_id and loaded_at kept) also when another transaction
 * stored it meanwhile. Everything runs in the caller's
 * transaction, which a failure leaves to be rolled back and replayed.
 * Surrogates must be resolved first (no CELL_PENDING left). */
#ifndef ML_WRITER_PG_H
#define ML_WRITER_PG_H

#include <stdbool.h>

#include "batch.h"
#include "buf.h"
#include "pg.h"

struct writer_pg;

/* 0 or ML_ENOMEM. */
int writer_pg_new(struct writer_pg **out);
void writer_pg_free(struct writer_pg *w);

/* The session the staging tables were created in is gone (a reconnect
 * after a lost connection): they are forgotten, with the definitions they
 * were keyed by (which the caller may free now), and the next batch
 * creates them again on the new session. What writer_pg_load learned of
 * the tables' emptiness is kept: it is the warehouse's, not the session's. */
void writer_pg_session_reset(struct writer_pg *w);

/* Upserts the rows of `t` (a table of `b`), stamped with run_id, but for
 * the rows r with skip[r] (skip NULL: none), which the caller found equal
 * to their stored rows (rowdiff.h). Only when skip is NULL are the staged
 * rows equal to their stored rows deleted from the staging table before
 * the upsert: the caller that compared has left out those it found, and
 * the upsert's IS DISTINCT FROM still leaves one alone that another
 * transaction made equal meanwhile. *written gets the rows inserted or
 * changed, the rest of t->nrows were unchanged (or skipped). 0 or a
 * negative code with err_msg() naming the table. */
int writer_pg_write(struct writer_pg *w, struct pg *pg, const struct batch *b,
                    const struct table_rows *t, const bool *skip, unsigned long long run_id,
                    unsigned long long *written);

/* As writer_pg_write (skip NULL), but a table that held no row at this run's first
 * batch of it (asked then, SELECT 1 ... LIMIT 1, and remembered for the
 * run) gets its rows by one `COPY t (cols, load_run_id, loaded_at) FROM
 * STDIN` straight into it: only this run's rows can be there, so nothing is
 * staged or compared. The COPY runs under a savepoint: a key the run wrote
 * in an earlier batch (a unique violation) rolls back to it and the batch
 * is upserted. A table holding rows at that first batch (an earlier run's,
 * or a killed run's) is upserted for the whole run. Not for a table whose
 * emptiness says nothing about the run (a temporary table). *direct (may
 * be NULL) tells whether every row went by that direct COPY: then none of
 * their keys was in the table before. */
int writer_pg_load(struct writer_pg *w, struct pg *pg, const struct batch *b,
                   const struct table_rows *t, unsigned long long run_id,
                   unsigned long long *written, bool *direct);

/* Whether the table of `def` held no row at this run's first batch of it
 * (asked then, in that batch's transaction, and remembered for the run).
 * 0 or ML_EDB / ML_ENOMEM. */
int writer_pg_fresh(struct writer_pg *w, struct pg *pg, const struct table_def *def, bool *fresh);

/* Deletes the rows of child `ci` at or past each parent's new count (an
 * array that shrank): one DELETE with the parents and counts bound as
 * arrays. 0 or a negative code. */
int writer_pg_trim_children(struct pg *pg, struct buf *scratch, const struct batch *b, unsigned ci);

/* Exactly once over an at-least-once source (stream_def.processed_table),
 * as batchtx_claim does with MySQL: one INSERT ... SELECT FROM unnest(the
 * batch's claims, batch_claims) ... ON CONFLICT DO NOTHING RETURNING into
 * the stream's processed table, in the claims' sorted key order (two
 * loaders claiming overlapping keys lock them in the same order; a claim
 * waits for a concurrent transaction holding its key and then sees its
 * outcome), every key bound; then drops from `b` (batch_drop_claims) the
 * records whose key was there already (an earlier transaction, perhaps
 * another loader's, committed them) or appears twice in the batch.
 * *ndropped gets their number. Runs in the caller's transaction, first. */
int writer_pg_claim(struct pg *pg, struct buf *scratch, struct batch *b, unsigned long long run_id,
                    size_t *ndropped);

#endif
