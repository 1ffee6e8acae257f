/* bulk.h - batches into the warehouse with LOAD DATA LOCAL INFILE, from memory.
 *
 * A batch's rows are encoded as one tab-separated stream (bulk_tsv_*) and
 * sent with LOAD DATA LOCAL INFILE through db_load_local(); the stream is
 * served from the loader's own buffer by bulk_infile(), which ignores the
 * file name the server sends back and never opens a file.
 *
 * Where the rows go, per table and run (`fresh`: decided at the table's first
 * batch by writer_table_fresh, writer.h):
 * - the table was empty: straight into it (REPLACE, so a key seen twice in
 *   the run keeps its last row, as the INSERT path does);
 * - otherwise: into a per-session staging table (CREATE TEMPORARY TABLE ...
 *   LIKE, which does not end the caller's transaction; emptied with DELETE,
 *   because TRUNCATE would commit it), then one set-based INSERT ... SELECT
 *   ... ON DUPLICATE KEY UPDATE with the upsert rule of sqlgen.h: load_run_id
 *   and loaded_at change only when a data column changes.
 * Every statement runs inside the caller's transaction, so a failed batch
 * rolls back whole and can be replayed.
 *
 * Method (config load.method): insert never uses this module; bulk fails
 * when the server refuses local infile; auto falls back to the INSERT path
 * for the rest of the run, decided once (local_infile=OFF, or error
 * 1148/3948/4166 on the first load) and logged.
 */
#ifndef ML_BULK_H
#define ML_BULK_H

#include <stdbool.h>
#include <stddef.h>

#include "batch.h"
#include "buf.h"
#include "config.h"
#include "db.h"

/* bulk_upsert's "use the INSERT path" answer (positive: not an error). */
#define BULK_FALLBACK 1

struct bulk;

int bulk_new(enum load_method method, struct bulk **out);
void bulk_free(struct bulk *bk);

/* Loads the rows of `t` (a table of batch `b`, surrogates resolved) inside
 * the caller's transaction, stamping them with run_id; `fresh`: the table
 * held no row at the run's first batch of it. 0 when loaded;
 * BULK_FALLBACK when the caller must write them with the INSERT path
 * (method auto and the server refuses local infile: nothing was written);
 * negative with err_msg on failure. */
int bulk_upsert(struct bulk *bk, struct db *db, const struct batch *b, struct table_rows *t,
                bool fresh, unsigned long long run_id);
/* bulk_upsert of the rows r of `t` with !skip[r] only (skip: nrows entries,
 * or NULL for every row); the others are left as they are. */
int bulk_upsert_rows(struct bulk *bk, struct db *db, const struct batch *b, struct table_rows *t,
                     const bool *skip, bool fresh, unsigned long long run_id);

/* Rows written through the bulk path so far, and whether this run fell back. */
unsigned long long bulk_rows(const struct bulk *bk);
int bulk_fell_back(const struct bulk *bk);

/* ---- the tab-separated stream (exposed for tests) ----
 * Format of LOAD DATA ... FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES
 * TERMINATED BY '\n' with no enclosing character: a field is its bytes with
 * backslash, tab, newline, carriage return, NUL and Ctrl-Z written as \\,
 * \t, \n, \r, \0 and \Z; SQL NULL is \N. Every byte value round-trips. */
int bulk_tsv_field(struct buf *out, const char *s, size_t len);
int bulk_tsv_null(struct buf *out);
/* One row of `t` (every column, tab-separated, newline-terminated). */
int bulk_tsv_row(struct buf *out, const struct batch *b, struct table_rows *t, size_t row);

/* ---- the in-memory infile ----
 * The callbacks serve data[0..len) from the start on every init, whatever
 * file name they are given; they never touch the file system. */
struct bulk_source {
    const char *data;
    size_t len;
    size_t pos;
};
void bulk_infile(struct db_infile *ops, struct bulk_source *src);

#endif
