-- pii_key: one row, the fingerprint of the key the surrogate digests were
-- made with, never the key (ddl/085_pii_key.sql, in PostgreSQL; pii_key.h).
-- Read and written by the loader only.
CREATE TABLE IF NOT EXISTS pii_key (
  id                   smallint     NOT NULL CONSTRAINT pii_key_one_row CHECK (id = 1),
  fingerprint          varchar(64)  COLLATE "C" NOT NULL,
  recorded_at          timestamp(3) NOT NULL,
  pending_fingerprint  varchar(64)  COLLATE "C" NULL,
  pending_done         text         COLLATE "C" NULL,
  pending_started_at   timestamp(3) NULL,
  PRIMARY KEY (id)
);
COMMENT ON TABLE pii_key IS 'fingerprint of the digest key (never the key) and rekey progress';
COMMENT ON COLUMN pii_key.id IS 'always 1: one row';
COMMENT ON COLUMN pii_key.fingerprint IS 'HMAC-SHA256(key, label) in hex, or unkeyed';
COMMENT ON COLUMN pii_key.recorded_at IS 'UTC, when this key became the key';
COMMENT ON COLUMN pii_key.pending_fingerprint IS 'rekey in progress: the new key''s fingerprint';
COMMENT ON COLUMN pii_key.pending_done IS 'rekey in progress: kinds converted, each followed by a comma';
COMMENT ON COLUMN pii_key.pending_started_at IS 'UTC, when the rekey in progress started';
