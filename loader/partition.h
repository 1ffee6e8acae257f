/* partition.h - the partitions of a partitioned stream table, kept ready
 * ahead of time and dropped when retention has expired them.
 *
 * Layout (RANGE COLUMNS on the partitioning column, streamdef.h
 * partition_def): `p_past` first, holding every row older than the oldest
 * period kept; then one partition per period (day or month) named for the
 * period's first day, p202503 or p20250315, with that period's end as its
 * exclusive bound; last `p_future`, VALUES LESS THAN (MAXVALUE), which
 * catches any row beyond the newest period, so that no insert ever fails
 * for want of a partition.
 *
 * At creation the periods go from the one holding now - retention (the
 * current one without retention) to `ahead` periods after the current one.
 * Maintenance (partition_maintain, run by `init` and by every `run` before
 * it loads) then:
 *   - splits p_future (REORGANIZE) to add the periods missing up to
 *     `ahead` periods after the current one; rows p_future held move into
 *     the new partitions. Nothing happens when they are there;
 *   - with retention: the leading partitions wholly older than now -
 *     retention (bound <= that instant) are emptied (TRUNCATE PARTITION,
 *     their rows counted first) and merged into one p_past ending where the
 *     oldest kept period starts. So p_past is empty after each maintenance:
 *     a late record older than retention is loaded into p_past and dropped
 *     by the next maintenance. An empty p_past is left alone.
 * Each emptied partition is a row of load_partition_drops (table,
 * partition, its range, rows dropped, the cutoff, run_id - NULL from init
 * - and when), and a line at info level. "now" is wallclock_now().
 * Maintenance takes no lock: every ALTER names the partitions it expects,
 * so when two maintainers meet (two runs, on one node or two) the later
 * statement fails and is planned again from the partitions as they are
 * (at most three times); every step is idempotent and a step cut short is
 * finished by the next maintenance.
 *
 * PostgreSQL (declarative partitioning, PARTITION BY RANGE (column)): the
 * catch-all is one DEFAULT partition, <table>_p_default, created with the
 * table, rather than a p_past and a p_future bounded by MINVALUE and
 * MAXVALUE: moving an explicit catch-all's bound means detaching it,
 * creating it again and moving its rows, at every maintenance, where a
 * DEFAULT partition's range follows the others by itself. Each period is a
 * table <table>_<name> (names are per schema; ddlgen_create_table), e.g.
 * events_raw_p202503, made by maintenance (init's first creates them all:
 * the same periods as above) with FOR VALUES FROM (its start) TO (its
 * end). The decisions are the same as MySQL's, over the same list: the
 * periods between a p_past - the DEFAULT partition's rows older than the
 * oldest period - and the DEFAULT partition last. So:
 *   - a missing period: a table LIKE the partitioned one, filled with the
 *     DEFAULT partition's rows of its range (PostgreSQL refuses a partition
 *     whose range the DEFAULT one holds rows of), then attached; PUBLIC,
 *     the analyst and the steward lose every privilege on it (whatever
 *     default privileges granted): they read through the table;
 *   - an expired period: its table dropped (DROP TABLE); p_past's rows:
 *     deleted from the DEFAULT partition. Recorded and logged as above,
 *     under the same names (p202402, p_past).
 * All of it in one transaction, as the loader role, after LOCK TABLE ... IN
 * SHARE UPDATE EXCLUSIVE MODE, which maintainers take in turn and readers
 * and writers do not wait for: the second maintainer finds the work done.
 */
#ifndef ML_PARTITION_H
#define ML_PARTITION_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "ddlgen.h"
#include "streamdef.h"

struct wh;

/* Names of the first and last partitions. */
#define PARTITION_PAST   "p_past"
#define PARTITION_FUTURE "p_future"

/* ---- pure: the calendar of partitions ---- */

/* A day, as days since 1970-01-01. */
typedef long long partition_day;

/* The first day of the period (day or month) holding `day`. */
partition_day partition_floor(enum partition_unit by, partition_day day);

/* The first day of the period after the one starting on `start`. */
partition_day partition_next(enum partition_unit by, partition_day start);

/* "YYYY-MM-DD" of day into out (11 bytes). */
void partition_day_text(partition_day day, char out[11]);

/* The name of the partition of the period starting on `start` into out
 * (65 bytes): p202503 (month), p20250315 (day). */
void partition_name(enum partition_unit by, partition_day start, char out[65]);

/* The partitions a new table of `pd` gets at `now` (the layout above):
 * *out malloc'd (the caller frees it), *n of them. ML_ENOMEM. */
int partition_initial(const struct partition_def *pd, time_t now, struct ddlgen_partition **out,
                      size_t *n);

/* ---- with the server ---- */

/* Appends the PARTITION BY clause of table t (partitioned) as created now
 * (wallclock_now) to `out`, after its ddlgen_create_table text. */
int partition_create_clause(struct buf *out, const struct table_def *t, enum db_dialect d);

struct partition_report {
    size_t added;   /* partitions split off p_future */
    size_t dropped; /* partitions emptied by retention */
    unsigned long long rows_dropped;
};

/* Maintains table t (partitioned; in cfg's warehouse.database, with
 * PostgreSQL its warehouse.schema) as above; `run_id` (0 for none, e.g.
 * init) is recorded with each drop. The account needs, with MySQL, ALTER
 * and DROP on t (ddlgen_partition_grants) and INSERT on
 * load_partition_drops; with PostgreSQL, to be a member of the loader role
 * (roles.loader), which owns t, its DEFAULT partition and every partition
 * maintenance adds, and may create tables in the schema
 * (ddlgen_partition_grants). ML_ECONFIG when the table is not partitioned
 * as its definition says (not partitioned, on another column or method,
 * or without its MAXVALUE / DEFAULT partition); ML_EDB for a failed
 * statement. *rep (may be NULL) counts what was done. */
int partition_maintain(struct wh *w, const struct config *cfg, const struct table_def *t,
                       unsigned long long run_id, struct partition_report *rep);

/* partition_maintain for the main table of every partitioned definition of
 * defs, in order; the first failure stops it (prefixed with the table). */
int partition_maintain_all(struct wh *w, const struct config *cfg,
                           const struct stream_def *const *defs, size_t ndefs,
                           unsigned long long run_id);

/* The same for the partitioned streams a run loads (all configured, or
 * `only`), before anything is fetched and again after the load: what the
 * run loaded older than retention goes at once. */
int partition_maintain_run(struct wh *w, const struct config *cfg, const char *only,
                           unsigned long long run_id);

#endif
