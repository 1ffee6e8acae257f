-- load_run_leases: the lease of each live run (loader/lease.h); granted to
-- nobody but the loader (ddl/075_load_run_leases.sql, in PostgreSQL).
CREATE TABLE IF NOT EXISTS load_run_leases (
  run_id         bigint       NOT NULL,
  token          char(32)     COLLATE "C" NOT NULL,
  node           varchar(320) NOT NULL,
  connection_id  bigint       NOT NULL,
  heartbeat_at   timestamp(3) NOT NULL,
  expires_at     timestamp(3) NOT NULL,
  PRIMARY KEY (run_id)
);
COMMENT ON TABLE load_run_leases IS 'leases of live runs';
COMMENT ON COLUMN load_run_leases.token IS 'random; only its holder renews the lease';
COMMENT ON COLUMN load_run_leases.node IS 'server (hostname:port) of the run''s connection';
COMMENT ON COLUMN load_run_leases.connection_id IS 'backend pid of the run''s connection on that server';
COMMENT ON COLUMN load_run_leases.heartbeat_at IS 'UTC, last renewal';
COMMENT ON COLUMN load_run_leases.expires_at IS 'UTC; a running run past it has stopped beating';
