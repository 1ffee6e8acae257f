/* load_pg.h - `maskload run` into a PostgreSQL warehouse (`warehouse.kind:
 * postgres`): load.h's contract through pg.h.
 *
 * Per stream: pages are fetched and mapped into batches of load.batch_size
 * records (mapping.h, batch.h: the same masking, digests and hmac columns
 * as with MySQL); each batch resolves its surrogates (surrogate_pg.h,
 * autocommit), then in ONE transaction first claims its records' keys
 * when the stream is exactly once (writer_pg_claim: a record already in
 * the processed table is dropped), writes its main rows (writer_pg.h: COPY
 * straight into a table empty at the run's start, else into staging and
 * one set-based upsert leaving unchanged rows alone), deletes each child
 * table's tails past the parents' new counts (not needed when every main
 * row went by that direct COPY and the child table was empty at the run's
 * start: no child row of theirs can be stored), writes the child rows,
 * records its rejects and adds its counts to load_run_streams. A source that acknowledges (an SQS
 * queue) is told after the commit (source_committed), never before. A transaction the server rolled
 * back as a deadlock, serialization failure or lock timeout (DB_ERR_RETRY_TX) is replayed whole, at
 * most five times. The run is a load_runs row made visible with its lease (load_run_leases: the
 * node and pg_backend_pid() of LEASE_PG_NODE_SQL, a random token) and renewed by a heartbeat thread
 * on a connection of its own; the digest key is verified against pii_key before and after the run
 * row is written.
 *
 * A `history: scd2` stream's main rows go to its snapshot table and are
 * merged once the snapshot is read (history_pg.h), as of `--as-of` or the
 * run's start. An `incremental` stream asks its source for what changed
 * since its stored cursor (load_cursors) and stores the new one in a
 * batch's transaction as cursor.h's cursor_run says (every batch of a
 * sorted source, else the last). `run --follow` (one stream of a queue
 * source, else ML_EUSAGE) commits and acknowledges at every empty receive
 * and ends, successfully, at a signal.
 *
 * With load.writer: thread (the default) a stream's batches take turns
 * with a writer thread (batchturns.h): the transaction above runs on the
 * writer's connection while the next batch is mapped and its surrogates are
 * resolved ahead on a second connection; a source that acknowledges is
 * written in line. load.parallel_streams loads streams sharing no table or
 * surrogate kind at the same time, each on a context of its own
 * (loadrun_parallel); the run's lease and load_runs row stay on the run's
 * connection.
 *
 * Partitioned tables are maintained (partition.h) before the streams load
 * and after, as with MySQL. Not supported yet with PostgreSQL: failover
 * and batch splitting.
 *
 * A record of a data subject erased by `maskload forget` (pii_erasures,
 * read once after the run's lease is taken, erase.h) is stored nowhere and
 * counted in load_run_streams.erased, as with MySQL. */
#ifndef ML_LOAD_PG_H
#define ML_LOAD_PG_H

#include "config.h"
#include "load.h"

/* load_run for kind postgres. */
int load_pg_run(const struct config *cfg, const struct load_options *opt, struct load_result *res);

#endif
