/* cursor.h - the values of an incremental stream's cursor (streamdef.h
 * incremental_def), without a database or a source.
 *
 * A cursor value is held as text in one canonical spelling per kind, the one
 * stored in load_cursors.cursor_value:
 *   CURSOR_DATETIME, CURSOR_EPOCH_MS  "YYYY-MM-DD hh:mm:ss.fff" (UTC, as the
 *                                     mapping converts the field; fixed width)
 *   CURSOR_INTEGER                    a base-10 int64 ("-12", "1700000000")
 * Values of one kind compare as the times or numbers they denote.
 */
#ifndef ML_CURSOR_H
#define ML_CURSOR_H

#include <stdbool.h>

#define CURSOR_TEXT_MAX 32 /* longest canonical value or parameter + NUL */

enum cursor_kind {
    CURSOR_DATETIME, /* a `datetime` column: the parameter is ISO 8601 UTC with ms */
    CURSOR_EPOCH_MS, /* an `epoch_ms` column: the parameter is milliseconds since 1970 */
    CURSOR_INTEGER   /* a `bigint`/`int` column: the parameter is the number; a lookback
                        counts seconds (the number taken as seconds since 1970) */
};

/* A duration "<n>s", "<n>m", "<n>h" or "<n>d" (n a decimal integer, "0s"
 * allowed) into seconds, at most 3650 days. 0, or ML_EINVAL for anything
 * else (the caller names the key). */
int cursor_parse_duration(const char *s, long long *seconds);

/* Is `s` a canonical value of `kind`? */
bool cursor_value_ok(enum cursor_kind kind, const char *s);

/* <0, 0, >0 as canonical value a is before, equal to, after b (both valid). */
int cursor_cmp(enum cursor_kind kind, const char *a, const char *b);

/* The query parameter's value asking for records changed since `stored`
 * minus `lookback_s` seconds: "2024-01-02T03:04:05.678Z", "1704164645678" or
 * "1704164645". 0, or ML_EINVAL when `stored` is not canonical, or the
 * result before year 1000 (DATETIME) or below the int64 range. */
int cursor_param(enum cursor_kind kind, const char *stored, long long lookback_s,
                 char out[CURSOR_TEXT_MAX]);

struct wh;

/* The cursor load_cursors holds for `stream` into out (*found false when
 * none), over either warehouse (wh.h). A stored value that is no canonical
 * value of `kind` is ML_EDB naming the stream and the cursor `name` (run
 * --full stores a new one); a failed query is prefixed with what it read. */
int cursor_read_stored(struct wh *w, enum cursor_kind kind, const char *name, const char *stream,
                       char out[CURSOR_TEXT_MAX], bool *found);

/* Stores `value` as the cursor of `stream`, written by run `run_id`, in
 * the caller's transaction (the batch's whose records reach it), over
 * either warehouse; its failure is prefixed with what it stored. */
int cursor_store(struct wh *w, unsigned long long run_id, const char *stream, const char *value);

/* ---- an incremental stream's cursor through one run ----
 *
 * The rules of every warehouse's run (docs/incremental.md): the stored
 * cursor is the largest value among the stream's committed records and
 * never goes backwards; it commits in the transaction of the records it
 * covers: with every batch when the source is sorted by it, else only with
 * the stream run's last batch (a later page may hold smaller values). The
 * warehouse's code reads and writes load_cursors; this decides what. */

struct batch;

struct cursor_run {
    enum cursor_kind kind;
    bool sorted;
    char seen[CURSOR_TEXT_MAX];    /* largest committed value (or the stored one) */
    char written[CURSOR_TEXT_MAX]; /* the value load_cursors holds */
    bool has_seen, has_written;
    unsigned long long without; /* committed rows without a cursor value */
    /* the batch being written, until cursor_run_committed */
    char pending[CURSOR_TEXT_MAX];
    bool has_pending, pending_store;
    unsigned long long pending_nulls;
};

/* Starts a run of a stream whose cursor is of `kind`; `stored` is the value
 * load_cursors holds (canonical) or NULL; `full` (run --full) reads
 * everything and stores the cursor it reaches even when equal. */
void cursor_run_start(struct cursor_run *cr, enum cursor_kind kind, bool sorted, const char *stored,
                      bool full);

/* For a batch about to be written (column `col` of its main table holds
 * the cursor; `last`: the stream run's last batch): the value to store in
 * the batch's transaction into *store (NULL: store none). Pure until
 * cursor_run_committed: a replayed transaction asks again. */
void cursor_run_batch(struct cursor_run *cr, const struct batch *b, int col, bool last,
                      const char **store);

/* The batch asked for last has committed. */
void cursor_run_committed(struct cursor_run *cr);

/* After the stream's last batch: a value reached but not stored yet (the
 * last batch was empty), to store in a transaction of its own; NULL when
 * none. */
const char *cursor_run_unstored(const struct cursor_run *cr);

/* The same value, stored (cursor_store) in a transaction of its own
 * through `w` by run `run_id`, and then counted as written; 0 when there
 * is none. */
int cursor_run_store_unstored(struct cursor_run *cr, struct wh *w, unsigned long long run_id,
                              const char *stream);

/* Logs what the run did with the cursor `name` of `stream`: the records
 * that had no value of it (a warning: loaded, the cursor not moved by
 * them) and the value load_cursors holds. */
void cursor_run_log(const struct cursor_run *cr, const char *stream, const char *name);

#endif
