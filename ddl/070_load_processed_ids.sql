-- load_processed_ids: the key of every record of an at-least-once source (an
-- SQS MessageId) that a committed batch has loaded or rejected, written in
-- that batch's transaction. A message delivered again is found here and
-- skipped: no second row, no second reject. Holds no PII. Rows may be pruned
-- once older than the queue's retention period (SQS: 14 days at most).
CREATE TABLE IF NOT EXISTS load_processed_ids (
  stream        VARCHAR(64)     NOT NULL COMMENT 'stream definition (mapping) name',
  record_id     VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
                                COMMENT 'the record''s key, e.g. the SQS MessageId',
  run_id        BIGINT UNSIGNED NOT NULL COMMENT 'run that processed it (load_runs.run_id)',
  outcome       ENUM('loaded','rejected') NOT NULL,
  processed_at  DATETIME(3)     NOT NULL COMMENT 'UTC',
  PRIMARY KEY (stream, record_id),
  KEY idx_processed_at (processed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='keys of processed records of queue sources, for exactly-once loading';
