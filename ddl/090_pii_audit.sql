-- pii_access_log: one row per reveal of a surrogate's value (the stored
-- procedure pii_reveal, which `init` generates for the surrogate kinds in
-- use) and per erasure of a data subject (`maskload forget`). Written only by
-- the loader's rights (pii_reveal runs as the loader role); the steward reads
-- it, the analyst sees nothing of it. It never holds a PII value: a reveal
-- names the kind and the surrogate id, an erasure the subject's keyed digest.
CREATE TABLE IF NOT EXISTS pii_access_log (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  at              DATETIME(6)     NOT NULL COMMENT 'UTC',
  who             VARCHAR(384)    NOT NULL COMMENT 'USER() of the caller: the account that asked',
  action          ENUM('reveal','forget') NOT NULL,
  kind            VARCHAR(64)     NULL     COMMENT 'reveal: the surrogate kind',
  surrogate_id    BIGINT UNSIGNED NULL     COMMENT 'reveal: the surrogate id (sensitive_<kind>_ids.id)',
  subject_digest  BINARY(32)      NULL     COMMENT 'forget: the keyed digest of the subject (pii_erasures.digest)',
  reason          VARCHAR(1024)   NOT NULL COMMENT 'why, as the caller gave it',
  found           BOOLEAN         NOT NULL COMMENT 'reveal: the id exists; forget: rows or rejects of the subject were deleted',
  PRIMARY KEY (id),
  KEY idx_access_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='audit of PII access: reveals and erasures';

-- pii_erasures: the data subjects erased by `maskload forget`, as keyed
-- digests (HMAC-SHA256 with the digest key of a fixed label, 0x00 and the
-- subject id; never the id itself). A run skips every record whose subject
-- fields hash to one of them.
CREATE TABLE IF NOT EXISTS pii_erasures (
  digest        BINARY(32)      NOT NULL,
  erased_at     DATETIME(6)     NOT NULL COMMENT 'UTC, first erasure',
  rows_deleted  BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'rows deleted by every erasure of this subject',
  PRIMARY KEY (digest)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='erased data subjects (keyed digests only)';
