-- pii_key: one row, the fingerprint of the key that the surrogate digests of
-- sensitive_<kind>_ids (and the `hmac` columns) were made with. The
-- fingerprint is HMAC-SHA256(key, 'maskload key fingerprint v1') in hex,
-- never the key; 'unkeyed' for `pii.digest: sha256`. `init` records it when
-- none is stored; `init` and `run` refuse a configuration with another key.
-- While `maskload rekey` converts the digests, pending_fingerprint is the new
-- key's and pending_done lists the kinds already converted ("city,ip,"):
-- init and run refuse until it is finished. Read and written by the loader
-- only: no grant to the analyst or the steward.
CREATE TABLE IF NOT EXISTS pii_key (
  id                   TINYINT UNSIGNED NOT NULL COMMENT 'always 1: one row',
  fingerprint          VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL
                                    COMMENT 'HMAC-SHA256(key, label) in hex, or unkeyed',
  recorded_at          DATETIME(3)  NOT NULL COMMENT 'UTC, when this key became the key',
  pending_fingerprint  VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NULL
                                    COMMENT 'rekey in progress: the new key''s fingerprint',
  pending_done         TEXT         CHARACTER SET ascii COLLATE ascii_bin NULL
                                    COMMENT 'rekey in progress: kinds converted, each followed by a comma',
  pending_started_at   DATETIME(3)  NULL COMMENT 'UTC, when the rekey in progress started',
  PRIMARY KEY (id),
  CONSTRAINT pii_key_one_row CHECK (id = 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='fingerprint of the digest key (never the key) and rekey progress';
