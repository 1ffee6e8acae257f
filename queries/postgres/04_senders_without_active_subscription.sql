-- Question 4 (PostgreSQL): are there users sending messages without an
-- active subscription? The rule of monitor_anomalous_messages, aggregated
-- per sender. Assumptions: queries/04_senders_without_active_subscription.sql.
SELECT a.sender_id,
       COUNT(*) AS messages_without_subscription,
       MIN(a.created_at) AS first_message_at,
       MAX(a.created_at) AS last_message_at
FROM monitor_anomalous_messages AS a
GROUP BY a.sender_id
ORDER BY a.sender_id;
