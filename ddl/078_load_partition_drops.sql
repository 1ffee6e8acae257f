-- load_partition_drops: one row per partition that retention emptied
-- (loader/partition.h): a partitioned stream table's rows older than its
-- `retention`, dropped a whole partition at a time. No PII: names, ranges
-- and counts. Written by the loader (its grant on the database); granted to
-- no other role.
CREATE TABLE IF NOT EXISTS load_partition_drops (
  drop_id         BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  run_id          BIGINT UNSIGNED NULL     COMMENT 'run that dropped it (load_runs.run_id); NULL: maskload init',
  table_name      VARCHAR(64)     NOT NULL COMMENT 'the partitioned stream table',
  partition_name  VARCHAR(64)     NOT NULL,
  range_start     DATE            NULL     COMMENT 'first day of its range; NULL: the first partition, open below',
  range_end       DATE            NOT NULL COMMENT 'its exclusive upper bound',
  rows_dropped    BIGINT UNSIGNED NOT NULL COMMENT 'rows counted just before the drop',
  retention_days  INT UNSIGNED    NOT NULL,
  cutoff          DATETIME(3)     NOT NULL COMMENT 'UTC; now - retention: the range ended at or before it',
  dropped_at      DATETIME(3)     NOT NULL COMMENT 'UTC',
  PRIMARY KEY (drop_id),
  KEY idx_partition_drops_table (table_name, range_end)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='partitions dropped by retention';
