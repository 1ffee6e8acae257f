-- load_cursors: the cursor of each incremental stream (loader/streamdef.h
-- incremental_def): the largest value of its cursor field among the records
-- committed, written in the transaction of the batch that committed them.
-- The next run asks the source for the records changed since this value
-- minus the stream's lookback; `run --full` ignores it and stores a new one.
CREATE TABLE IF NOT EXISTS load_cursors (
  stream        VARCHAR(64)     NOT NULL COMMENT 'the stream''s name in the configuration',
  cursor_value  VARCHAR(32)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'UTC "YYYY-MM-DD hh:mm:ss.fff" or an integer',
  run_id        BIGINT UNSIGNED NOT NULL COMMENT 'the run whose commit stored it (load_runs.run_id)',
  updated_at    DATETIME(3)     NOT NULL COMMENT 'UTC',
  PRIMARY KEY (stream)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='incremental cursors, one per stream';
