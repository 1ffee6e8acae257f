-- load_run_leases: the lease of each live run (loader/lease.h): how `status`
-- tells a live run from one whose process is gone. Granted to nobody but the
-- loader, so no other account can block, fake or read a lease.
CREATE TABLE IF NOT EXISTS load_run_leases (
  run_id         BIGINT UNSIGNED NOT NULL,
  token          CHAR(32)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'random; only its holder renews the lease',
  node           VARCHAR(320)    NOT NULL COMMENT 'server (hostname:port) of the run''s connection',
  connection_id  BIGINT UNSIGNED NOT NULL COMMENT 'CONNECTION_ID() of the run''s connection on that server',
  heartbeat_at   DATETIME(3)     NOT NULL COMMENT 'UTC, last renewal',
  expires_at     DATETIME(3)     NOT NULL COMMENT 'UTC; a running run past it has stopped beating',
  PRIMARY KEY (run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='leases of live runs';
