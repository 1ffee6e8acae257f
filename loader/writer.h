/* writer.h - how the rows of one table of a batch reach the warehouse.
 *
 * One interface, several implementations behind it, tried in order:
 * - bulk (bulk.c): LOAD DATA LOCAL INFILE served from memory, straight into
 *   an empty table or through a staging table and one set-based upsert;
 * - insert (writer_insert.c): multi-row INSERT ... ON DUPLICATE KEY UPDATE
 *   statements of at most a few MiB each.
 * load.method picks the chain: insert = [insert]; bulk = [bulk] (a server
 * refusing local infile fails the run); auto = [bulk, insert], where the
 * bulk writer gives up for the rest of the run the first time the server
 * refuses it, having written nothing, and the insert writer takes over.
 *
 * Every write runs inside the caller's transaction (the batch's), so a failed
 * batch rolls back whole and can be replayed; a writer keeps no row between
 * calls. The writer is used by one thread at a time (the batch writer's).
 *
 * A further implementation (another warehouse's bulk protocol) is one more
 * struct writer_impl and a place in writer_new's chain.
 */
#ifndef ML_WRITER_H
#define ML_WRITER_H

#include <stdbool.h>

#include "batch.h"
#include "config.h"
#include "db.h"

/* A write_rows answer, positive (not an error): this implementation cannot
 * write here (nothing was written); the next one in the chain must. */
#define WRITER_PASS 1

struct writer_impl {
    const char *name; /* for the log: "bulk load", "multi-row INSERT" */
    /* State for one run; 0 or ML_ENOMEM. */
    int (*open)(enum load_method method, void **state);
    /* Upserts the rows r of `t` (a table of `b`, surrogates resolved) with
     * !skip[r] (skip may be NULL: every row), stamped with run_id, in the
     * caller's transaction; `fresh`: the table held no row when the run
     * first wrote it (writer_table_fresh). 0, WRITER_PASS, or a negative
     * error with err_msg() naming the table. */
    int (*write_rows)(void *state, struct db *db, const struct batch *b, struct table_rows *t,
                      const bool *skip, bool fresh, unsigned long long run_id);
    void (*close)(void *state);
};

extern const struct writer_impl writer_bulk;   /* bulk.c */
extern const struct writer_impl writer_insert; /* writer_insert.c */

struct writer;

/* The chain for `method` (see above). 0, or ML_ENOMEM. */
int writer_new(enum load_method method, struct writer **out);
void writer_free(struct writer *w);

/* Whether the table of `def` held no row when this run first asked (at the
 * first batch that writes it; one query per table and run, answered from
 * memory after that). Then every row it holds is this run's own: the bulk
 * writer loads it directly, and a caller comparing rows with the stored
 * ones (rowdiff.h) can only find rows of earlier batches of this run, which
 * writing again leaves as they are. 0 or ML_EDB / ML_ENOMEM. */
int writer_table_fresh(struct writer *w, struct db *db, const struct table_def *def, bool *fresh);

/* Writes the rows of `t` with !skip[r] through the first implementation
 * that does not pass. 0 or a negative error. */
int writer_write(struct writer *w, struct db *db, const struct batch *b, struct table_rows *t,
                 const bool *skip, unsigned long long run_id);
/* The same with multi-row INSERT whatever the chain: for a table the bulk
 * path cannot judge (a temporary table of one run, whose emptiness at its
 * first batch says nothing about the next run). */
int writer_write_insert(struct writer *w, struct db *db, const struct batch *b,
                        struct table_rows *t, const bool *skip, unsigned long long run_id);

/* Rows written so far by the chain's first implementation when it is the
 * bulk one (0 otherwise), and whether a later one took over. */
unsigned long long writer_bulk_rows(const struct writer *w);
bool writer_fell_back(const struct writer *w);

#endif
