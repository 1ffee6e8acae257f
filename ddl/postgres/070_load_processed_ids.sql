-- load_processed_ids: the key of every record of an at-least-once source (an
-- SQS MessageId) that a committed batch has loaded or rejected, written in
-- that batch's transaction (ddl/070_load_processed_ids.sql, in PostgreSQL).
-- Holds no PII.
CREATE TABLE IF NOT EXISTS load_processed_ids (
  stream        varchar(64)  NOT NULL,
  record_id     varchar(255) COLLATE "C" NOT NULL,
  run_id        bigint       NOT NULL,
  outcome       varchar(8)   NOT NULL CHECK (outcome IN ('loaded', 'rejected')),
  processed_at  timestamp(3) NOT NULL,
  PRIMARY KEY (stream, record_id)
);
CREATE INDEX IF NOT EXISTS load_processed_ids_processed_at ON load_processed_ids (processed_at);
COMMENT ON TABLE load_processed_ids IS 'keys of processed records of queue sources, for exactly-once loading';
COMMENT ON COLUMN load_processed_ids.stream IS 'stream definition (mapping) name';
COMMENT ON COLUMN load_processed_ids.record_id IS 'the record''s key, e.g. the SQS MessageId';
COMMENT ON COLUMN load_processed_ids.run_id IS 'run that processed it (load_runs.run_id)';
COMMENT ON COLUMN load_processed_ids.processed_at IS 'UTC';
