/* history_pg.h - a `history: scd2` stream's run with a PostgreSQL
 * warehouse: history.h's contract (the snapshot table, the as-of rule, the
 * set-based merge in one transaction, the row hash) in PostgreSQL's SQL,
 * through pg.h.
 *
 * The rules are history.h's own (history_stage_def, history_deletions_held,
 * history_type_tag and the refusals); only the statements differ:
 *   - the snapshot table is a temporary table of the run's session,
 *     pg_temp."load_snapshot_<table>" (the mapped columns and the load
 *     metadata, typed as the history table types them, primary key the
 *     natural key), which the batches fill through writer_pg.h;
 *   - the row hash is sha256() over the same bytes as with MySQL (one piece
 *     per declared non-key column that is not NULL, its canonical text
 *     through to_char and casts), so a version's row_hash is the same in
 *     both warehouses;
 *   - the as-of and the run id are bound parameters, never in the text.
 * A merge that changes nothing (an unchanged snapshot) writes no row of the
 * history table: every UPDATE and the INSERT select no row. */
#ifndef ML_HISTORY_PG_H
#define ML_HISTORY_PG_H

#include <stdbool.h>

#include "buf.h"
#include "history.h"
#include "pg.h"
#include "streamdef.h"

/* One history stream's run on a PostgreSQL connection. */
struct history_pg;

/* For a run of `def` (a history stream) as of `as_of` (history.h's SQL
 * text): refuses `rebuild` and an as-of before the table's latest
 * valid_from or valid_to (ML_EUSAGE, history.h's messages), then (re)creates
 * the session's snapshot table, outside any transaction. *out is freed by
 * history_pg_free. */
int history_pg_begin(struct pg *pg, const struct stream_def *def, const char *as_of, bool rebuild,
                     struct history_pg **out);

/* The definition the batches' main rows are written to (the snapshot
 * table's name, the mapped columns and key); valid until history_pg_free. */
const struct table_def *history_pg_stage_table(const struct history_pg *h);

/* Applies the snapshot to the history table in one transaction of its own
 * (history.h); `rejected` records of the snapshot hold deletions back. On
 * failure the transaction is rolled back, the history is as before, and
 * pg_error_class() tells whether replaying it may succeed. */
int history_pg_merge(struct history_pg *h, unsigned long long run_id, unsigned long long rejected,
                     struct history_counts *out);

/* Drops the snapshot table (best effort, unless the connection is lost)
 * and frees h. NULL is a no-op. */
void history_pg_free(struct history_pg *h);

/* ---- the statements (pure text, for tests and the functions above) ---- */

enum history_pg_step {
    HISTORY_PG_LATEST,        /* $1 as-of: one row, the latest bound after it as
                                 "YYYY-MM-DDThh:mm:ss.ffffffZ", NULL when none */
    HISTORY_PG_STAGE_DROP,    /* the snapshot table, if any */
    HISTORY_PG_STAGE_CREATE,  /* the snapshot table, empty */
    HISTORY_PG_STAGE_KEY,     /* its primary key: the natural key */
    HISTORY_PG_STAGED,        /* one row: how many rows the snapshot holds */
    HISTORY_PG_CLOSE_CHANGED, /* $1 as-of, $2 run: close changed current versions */
    HISTORY_PG_CLOSE_DELETED, /* $1 as-of, $2 run: close current versions of absent keys */
    HISTORY_PG_OPEN,          /* $1 as-of, $2 run: a new version per snapshot key without
                                 a current one */
    HISTORY_PG_EMPTY          /* $1 as-of, $2 run: one row, how many versions this run
                                 closed at the as-of they began at */
};

/* Appends the statement of `step` for history table `t` (t->history) with
 * snapshot table `stage` (history_stage_def's name). ML_EINVAL when t is
 * not a history table with a key; ML_ENOMEM. */
int history_pg_sql(struct buf *out, const struct table_def *t, const char *stage,
                   enum history_pg_step step);

/* Appends the row hash of the declared non-key columns of `t` for the row
 * aliased `alias`: a bytea expression, sha256 over history.h's pieces. */
int history_pg_row_hash(struct buf *out, const struct table_def *t, const char *alias);

#endif
