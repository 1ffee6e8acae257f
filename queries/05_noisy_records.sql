-- Question 5: are there inaccurate or noisy records that could
-- prejudice the analyses, and how do we monitor them?
--
-- Assumptions
-- - Each monitor_* view (views/monitoring/) is one data-quality check and
--   returns the offending rows, without PII. Its header says what counts as an
--   anomaly and why it matters. This query counts the rows of each check.
-- - Records that failed validation never reach these tables: they are counted
--   per run in load_run_streams.rejected and kept in load_rejects.
--
-- Reading the answer: one row per check. records > 0 means that check found
-- something. `maskload check` compares the same counts with the configured
-- thresholds. Handling: the raw tables keep the data as sent, analyses apply
-- the rules (date-based "active", coverage by period) or exclude the rows a
-- check lists, and the source owners are told.
SELECT 'monitor_anomalous_messages' AS check_name, COUNT(*) AS records
FROM monitor_anomalous_messages
UNION ALL
SELECT 'monitor_future_timestamps', COUNT(*) FROM monitor_future_timestamps
UNION ALL
SELECT 'monitor_orphan_messages', COUNT(*) FROM monitor_orphan_messages
UNION ALL
SELECT 'monitor_subscription_anomalies', COUNT(*) FROM monitor_subscription_anomalies
UNION ALL
SELECT 'monitor_subscription_bad_period', COUNT(*) FROM monitor_subscription_bad_period
UNION ALL
SELECT 'monitor_users_updated_before_created', COUNT(*) FROM monitor_users_updated_before_created
ORDER BY check_name;
