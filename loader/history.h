/* history.h - streams that keep every version of every row (`history: scd2`).
 *
 * Such a stream's source is a full snapshot, read as of a time (`run
 * --as-of`, default the run's start). Its table (table_def.history) holds
 * versions: the mapped columns, the load metadata, then valid_from,
 * valid_to (NULL while current), version (1, 2, ...), is_current, deleted
 * and row_hash; its primary key is (key..., version).
 *
 * A run writes its batches into a temporary table of the run's connection,
 * load_snapshot_<table> (the mapped columns and the load metadata, keyed by
 * the natural key; each batch commits there with its bookkeeping, as for
 * any stream). When the whole snapshot has been read, history_merge applies
 * it in ONE transaction, set-based:
 *   - a current version whose declared columns differ from the snapshot's
 *     is closed (valid_to = as-of, is_current = 0);
 *   - a current version whose key is absent from the snapshot is closed and
 *     marked deleted (no tombstone row) - unless the run rejected records
 *     (a rejected record's key is absent from the snapshot but not deleted
 *     at the source) or the snapshot is empty: then nothing is closed as
 *     deleted this run, and the log says so;
 *   - every key of the snapshot without a current version (new, changed,
 *     or come back after a deletion) gets a new version, valid_from = as-of,
 *     its number one more than the key's highest.
 * Keys are compared as typed tuples, column by column (key columns are NOT
 * NULL; a record with a null key is a reject). Rows are compared by the
 * row hash (below), confirmed by the hash of the stored row's declared
 * columns, so a column that left the mapping re-versions nothing either.
 *
 * Row hash: SHA-256 over the concatenation, in declaration order, of one
 * piece per declared non-key column whose value is not NULL:
 *   <length of the name>:<name>:<type tag>:<length of the value>:<value>
 * lengths in bytes as decimal digits, the value in its canonical text
 * (integers in decimal; decimals without trailing fraction zeros; dates
 * YYYY-MM-DD; timestamps YYYY-MM-DD HH:MM:SS.ffffff; text as stored, byte
 * for byte), type tags i (integer, surrogate, version), b (boolean), n
 * (decimal), s (text, hmac), d (date), t (timestamp), x (digest). A NULL
 * contributes nothing, so adding a nullable column to the mapping changes
 * no hash of a row that has no value there; the name in each piece keeps
 * (a = NULL, b = 'x') apart from (a = 'x', b = NULL); the lengths keep
 * ('1', '23') apart from ('12', '3'). Widening a type (int -> bigint,
 * varchar(n) -> varchar(m), decimal(p,s) -> decimal(p',s')) changes no hash.
 *
 * A killed run leaves the history as the last merge left it (the temporary
 * table goes with the connection): rerunning reads the snapshot again, and
 * the merge of an unchanged snapshot at the same or a later as-of changes
 * no row. An as-of before the latest valid_from or valid_to of the table is
 * refused (ML_EUSAGE): history is only appended to. --rebuild-history is
 * refused too: snapshots are not kept (keeping every day's full snapshot
 * would store the table many times over, and erasure would have to reach
 * every copy). At the same as-of as the latest, an unchanged snapshot is
 * accepted (it changes nothing); a changed one would make an empty
 * interval and is refused (the merge rolls back).
 */
#ifndef ML_HISTORY_H
#define ML_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"
#include "streamdef.h"

/* Room for an as-of as SQL text: "YYYY-MM-DD HH:MM:SS.fff" and a NUL. */
#define HISTORY_AS_OF_LEN 24

/* Parses `text`, strictly YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.fffZ
 * (1 to 3 fraction digits; UTC only, 'T' and 'Z' upper-case), a real
 * calendar time from year 1000 to 9999, into `out` as SQL DATETIME(3)
 * text. ML_EUSAGE (err_msg() quoting it) otherwise. */
int history_parse_as_of(const char *text, char out[HISTORY_AS_OF_LEN]);

/* One history stream's run. */
struct history;

/* For a run of `def` (a history stream) as of `as_of` (SQL text from
 * history_parse_as_of, or the run's start): refuses an as-of before the
 * table's latest valid_from or valid_to and `rebuild` (ML_EUSAGE, naming
 * the stream, the as-of and the latest), then creates the temporary table
 * the batches write to (outside any transaction). *out is freed by
 * history_free. */
int history_begin(struct db *db, const struct stream_def *def, const char *as_of, bool rebuild,
                  struct history **out);

/* The table definition the batches' main rows are written to: the mapped
 * table's columns and key under the temporary table's name. */
const struct table_def *history_stage_table(const struct history *h);

struct history_counts {
    unsigned long long opened;  /* new versions (new keys, changed, come back) */
    unsigned long long changed; /* current versions closed because their row changed */
    unsigned long long deleted; /* current versions closed because their key left */
    bool deletions_skipped;     /* rejects or an empty snapshot: none closed as deleted */
};

/* Applies the snapshot read into the temporary table, in one transaction
 * of its own (see above); `rejected` is how many records of the snapshot
 * were rejected. On failure the transaction is rolled back and the
 * history is as before. */
int history_merge(struct history *h, unsigned long long run_id, unsigned long long rejected,
                  struct history_counts *out);

/* Drops the temporary table (best effort) and frees h. NULL is a no-op. */
void history_free(struct history *h);

/* ---- views installed by init (pure text) ---- */

/* Appends "<table>_current", unquoted. */
int history_current_name(struct buf *out, const struct stream_def *def);

/* Appends the statement (no ';') of the view "<table>_current": the
 * current version of every live key, the mapped columns and valid_from,
 * in dialect d (CREATE OR REPLACE SQL SECURITY INVOKER VIEW for MySQL,
 * CREATE OR REPLACE VIEW ... WITH (security_invoker = true) for
 * PostgreSQL; the table unqualified: the session's database or
 * search_path). ML_EINVAL when def is not a history stream. */
int history_current_view(struct buf *out, const struct stream_def *def, enum db_dialect d);

/* ---- the warehouse-neutral rules, shared by every warehouse's merge ---- */

/* The row hash's type tag of a column type (see above: 'i', 'b', 'n', 's',
 * 'd', 't', 'x'; '?' for none). */
char history_type_tag(enum col_type t);

/* The snapshot table of `t`: *stage becomes t's columns and key under the
 * name "load_snapshot_<table>" written into name[size] (no history columns,
 * no indexes). ML_EINVAL when the name does not fit. */
int history_stage_def(const struct table_def *t, struct table_def *stage, char *name, size_t size);

/* Whether a merge closes no key as deleted: the run rejected records (their
 * keys are absent from the snapshot but not deleted at the source) or the
 * snapshot is empty. */
bool history_deletions_held(unsigned long long rejected, unsigned long long staged);

/* ML_EUSAGE with the message of --rebuild-history. */
int history_refuse_rebuild(void);

/* ML_EUSAGE with the message of an as-of older than `latest` (the
 * history's latest valid_from or valid_to, as text). */
int history_refuse_as_of(const char *as_of, const char *latest);

/* ML_EUSAGE with the message of `n` versions changed at the as-of they
 * began at (an empty interval): the merge rolls back. */
int history_refuse_empty_interval(unsigned long long n, const char *as_of);

#endif
