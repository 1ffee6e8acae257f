-- user_logins: one row per login event read from an SQS queue (source kind
-- sqs, mapping user_logins). The ip address and the device id are replaced
-- by surrogates; the rest of the message body is flattened into columns.
-- Natural key: the SQS MessageId, so a message delivered twice can never make
-- two rows. load_run_id/loaded_at change only when the row's data changes.
CREATE TABLE IF NOT EXISTS user_logins (
  message_id         VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
                                     COMMENT 'SQS MessageId of the event',
  created_at         DATETIME(3)     NOT NULL COMMENT 'UTC, from the message''s SentTimestamp attribute',
  user_id            VARCHAR(128)    NOT NULL COMMENT 'user id as sent (not PII in this source)',
  device_type        VARCHAR(32)     NULL     COMMENT 'e.g. android, ios',
  ip_id              BIGINT UNSIGNED NULL     COMMENT 'surrogate of the ip address (sensitive_ip_ids.id)',
  device_id          BIGINT UNSIGNED NULL     COMMENT 'surrogate of the device id (sensitive_device_ids.id)',
  locale             VARCHAR(32)     NULL,
  app_version        VARCHAR(32)     NULL     COMMENT 'as sent, e.g. 2.3.0',
  app_version_major  INT             NULL     COMMENT 'leading number of app_version (2 for 2.3.0)',
  load_run_id        BIGINT UNSIGNED NOT NULL COMMENT 'run that last changed this row (load_runs.run_id)',
  loaded_at          DATETIME(3)     NOT NULL COMMENT 'UTC time this row last changed',
  PRIMARY KEY (message_id),
  KEY idx_logins_user (user_id, created_at),
  KEY idx_logins_created (created_at),
  KEY idx_logins_ip (ip_id),
  KEY idx_logins_device (device_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='login events from SQS; ip and device_id are surrogates';

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
