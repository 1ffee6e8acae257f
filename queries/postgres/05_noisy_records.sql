-- Question 5 (PostgreSQL): are there inaccurate or noisy records that could
-- prejudice the analyses, and how do we monitor them? One row per monitor_*
-- view and the count of its rows. Assumptions and handling:
-- queries/05_noisy_records.sql.
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
