-- load_runs: one row per `maskload run`; status 'running' until it ends.
CREATE TABLE IF NOT EXISTS load_runs (
  run_id       BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  started_at   DATETIME(3)     NOT NULL COMMENT 'UTC',
  finished_at  DATETIME(3)     NULL     COMMENT 'UTC',
  status       ENUM('running','succeeded','failed') NOT NULL,
  streams      VARCHAR(1024)   NOT NULL COMMENT 'streams requested, comma separated',
  host         VARCHAR(255)    NULL,
  pid          INT UNSIGNED    NULL,
  version      VARCHAR(32)     NULL,
  error_text   TEXT            NULL,
  PRIMARY KEY (run_id),
  KEY idx_runs_started (started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='audit of loader runs';

-- load_run_streams: per-stream counters, updated in the transaction of each batch.
CREATE TABLE IF NOT EXISTS load_run_streams (
  run_id              BIGINT UNSIGNED NOT NULL,
  stream              VARCHAR(64)     NOT NULL,
  pages               BIGINT UNSIGNED NOT NULL DEFAULT 0,
  fetched             BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'records read from the source',
  loaded              BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'records written (inserted or upserted)',
  rejected            BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'records sent to load_rejects',
  surrogates_created  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, stream)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='per-stream counts of each run';

-- load_rejects: records that failed validation. payload is the record with its
-- PII fields removed; reason never quotes a PII value. Restricted table.
CREATE TABLE IF NOT EXISTS load_rejects (
  reject_id    BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  run_id       BIGINT UNSIGNED NOT NULL,
  stream       VARCHAR(64)     NOT NULL,
  source_ref   VARCHAR(2048)   NOT NULL COMMENT 'where the record came from: URL and position',
  record_key   VARCHAR(255)    NULL     COMMENT 'natural key when it could be read',
  reason       VARCHAR(2048)   NOT NULL,
  payload      LONGTEXT        NULL,
  rejected_at  DATETIME(3)     NOT NULL,
  PRIMARY KEY (reject_id),
  KEY idx_rejects_run (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='rejected records, PII removed';

-- Bad-input counters (README "What happens when things go wrong"), added
-- after the CREATE so that databases created by an older init get them too.
ALTER TABLE load_run_streams
  ADD COLUMN IF NOT EXISTS duplicates     BIGINT UNSIGNED NOT NULL DEFAULT 0
    COMMENT 'records superseded by a later record with the same key in their batch (last one wins)',
  ADD COLUMN IF NOT EXISTS unknown_fields BIGINT UNSIGNED NOT NULL DEFAULT 0
    COMMENT 'records carrying fields outside the mapping (the fields stored nowhere; with unknown_fields: reject also rejected)',
  ADD COLUMN IF NOT EXISTS invalid_nulled BIGINT UNSIGNED NOT NULL DEFAULT 0
    COMMENT 'malformed optional values stored as NULL (on_invalid: null) in loaded records';

-- Records of erased data subjects (pii_erasures) that a run skipped: stored
-- nowhere, counted here.
ALTER TABLE load_run_streams
  ADD COLUMN IF NOT EXISTS erased BIGINT UNSIGNED NOT NULL DEFAULT 0
    COMMENT 'records skipped because their data subject was erased (maskload forget)';

-- When each stream of a run started and ended (its duration: `run
-- --metrics-file`, `status`); NULL finished_at: the stream did not end.
ALTER TABLE load_run_streams
  ADD COLUMN IF NOT EXISTS started_at  DATETIME(3) NULL COMMENT 'UTC, the stream''s start in this run',
  ADD COLUMN IF NOT EXISTS finished_at DATETIME(3) NULL COMMENT 'UTC, its successful end; NULL when it failed or was cut short';
