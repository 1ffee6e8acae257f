-- messages_raw: message metadata; the message text is dropped.
CREATE TABLE IF NOT EXISTS messages_raw (
  message_id   BIGINT          NOT NULL,
  created_at   DATETIME(3)     NOT NULL COMMENT 'UTC',
  sender_id    BIGINT          NULL,
  receiver_id  BIGINT          NULL,
  load_run_id  BIGINT UNSIGNED NOT NULL,
  loaded_at    DATETIME(3)     NOT NULL,
  PRIMARY KEY (message_id),
  KEY idx_messages_sender (sender_id, created_at),
  KEY idx_messages_receiver (receiver_id),
  KEY idx_messages_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='messages; text dropped';
