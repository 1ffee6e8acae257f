-- subscriptions_raw: one row per element of a user's subscription array.
-- Natural key: (user_id, subscription_no), subscription_no being the element's
-- 0-based position in the array. When a user's array shrinks, the rows past its
-- new end are deleted in the same transaction that loads the user.
CREATE TABLE IF NOT EXISTS subscriptions_raw (
  user_id          BIGINT            NOT NULL,
  subscription_no  SMALLINT UNSIGNED NOT NULL COMMENT '0-based position in the user''s subscription array',
  created_at       DATETIME(3)       NULL     COMMENT 'UTC',
  start_date       DATE              NULL,
  end_date         DATE              NULL,
  status           VARCHAR(32)       NULL     COMMENT 'as sent, e.g. Active / Inactive',
  amount           DECIMAL(12,2)     NULL,
  load_run_id      BIGINT UNSIGNED   NOT NULL,
  loaded_at        DATETIME(3)       NOT NULL,
  PRIMARY KEY (user_id, subscription_no),
  KEY idx_subscriptions_status_end (status, end_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='subscriptions split out of users';
