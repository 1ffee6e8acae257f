-- users_raw: one row per user, PII removed or replaced by surrogates.
-- Natural key: user_id. load_run_id/loaded_at change only when the row's data changes.
CREATE TABLE IF NOT EXISTS users_raw (
  user_id        BIGINT          NOT NULL COMMENT 'id from the source API',
  created_at     DATETIME(3)     NOT NULL COMMENT 'UTC',
  updated_at     DATETIME(3)     NULL     COMMENT 'UTC',
  city_id        BIGINT UNSIGNED NULL     COMMENT 'surrogate of the city (sensitive_city_ids.id)',
  country        VARCHAR(100)    NULL,
  zipcode_id     BIGINT UNSIGNED NULL     COMMENT 'surrogate of the zip code (sensitive_zipcode_ids.id)',
  email_domain   VARCHAR(255)    NULL     COMMENT 'domain part of the e-mail address, lower case',
  birth_year     SMALLINT        NULL     COMMENT 'year of birth',
  birth_date     DATE            NULL     COMMENT 'full date of birth, only when the PII policy keeps it',
  gender         VARCHAR(32)     NULL,
  is_smoking     BOOLEAN         NULL,
  profession_id  BIGINT UNSIGNED NULL     COMMENT 'surrogate of the profession (sensitive_profession_ids.id)',
  income         DECIMAL(14,2)   NULL,
  load_run_id    BIGINT UNSIGNED NOT NULL COMMENT 'run that last changed this row (load_runs.run_id)',
  loaded_at      DATETIME(3)     NOT NULL COMMENT 'UTC time this row last changed',
  PRIMARY KEY (user_id),
  KEY idx_users_city (city_id),
  KEY idx_users_profession (profession_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='users from the API; firstName, lastName, address dropped; city, zipcode, profession are surrogates';
