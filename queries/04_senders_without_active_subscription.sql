-- Question 4: are there users sending messages without an active
-- subscription? (In the apps only premium users can send messages.)
--
-- Assumptions
-- - "Active" is judged on the day each message was sent, not today: a message
--   is covered when its sender has a subscription with
--   start_date <= DATE(created_at) <= end_date (UTC). The status column is not
--   used, because it is the status as of the last load, not as of the message.
-- - This is exactly the rule of monitor_anomalous_messages, which this query
--   aggregates, so the two can never disagree.
--
-- Reading the answer: one row per sender with at least one uncovered message:
-- how many, and the first and last such message. No rows means every message
-- was sent under a subscription. A sender_id absent from users_raw also shows
-- in monitor_orphan_messages.
SELECT a.sender_id,
       COUNT(*) AS messages_without_subscription,
       MIN(a.created_at) AS first_message_at,
       MAX(a.created_at) AS last_message_at
FROM monitor_anomalous_messages AS a
GROUP BY a.sender_id
ORDER BY a.sender_id;
