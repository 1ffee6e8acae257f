/* metrics.h - `run --metrics-file PATH`: Prometheus textfile-collector
 * metrics of a run, written atomically (a temporary file beside PATH, then
 * rename), so the collector never reads half a file.
 *
 *   maskload_run_success                1 (0 when it failed)
 *   maskload_run_id                     its run id
 *   maskload_run_finished_timestamp_seconds
 *   and per stream of the run, {stream="NAME"}:
 *   maskload_stream_records_fetched, _loaded, _rejected, _duplicates,
 *   _erased (this run's counts), maskload_stream_duration_seconds (when the
 *   stream ended), maskload_stream_last_success_timestamp_seconds (the last
 *   successful run that loaded it, this one or an earlier one; 0 = never).
 * Names and values only: no PII, no secret.
 */
#ifndef ML_METRICS_H
#define ML_METRICS_H

#include <stddef.h>

#include "monitor.h"
#include "runs.h"

/* 0, or ML_EIO naming the file. */
int metrics_write(const char *path, const struct run_info *run, const struct monitor_stream *last,
                  size_t nlast);

#endif
