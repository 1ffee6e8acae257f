-- load_cursors: the cursor of each incremental stream, written in the
-- transaction of the batch that committed it (ddl/095_load_cursors.sql, in
-- PostgreSQL).
CREATE TABLE IF NOT EXISTS load_cursors (
  stream        varchar(64)  NOT NULL,
  cursor_value  varchar(32)  COLLATE "C" NOT NULL,
  run_id        bigint       NOT NULL,
  updated_at    timestamp(3) NOT NULL,
  PRIMARY KEY (stream)
);
COMMENT ON TABLE load_cursors IS 'incremental cursors, one per stream';
COMMENT ON COLUMN load_cursors.stream IS 'the stream''s name in the configuration';
COMMENT ON COLUMN load_cursors.cursor_value IS 'UTC "YYYY-MM-DD hh:mm:ss.fff" or an integer';
COMMENT ON COLUMN load_cursors.run_id IS 'the run whose commit stored it (load_runs.run_id)';
COMMENT ON COLUMN load_cursors.updated_at IS 'UTC';
