-- Question 1: how many messages are sent every day?
--
-- Assumptions
-- - A day is a UTC calendar day: created_at is stored in UTC and DATE() is
--   taken without any time-zone conversion, so 23:59:59.999 belongs to that
--   day and 00:00:00.000 to the next.
-- - Every loaded message counts, including the noisy ones (orphan receivers,
--   senders without a subscription, timestamps in the future). The
--   monitor_* views list those. Rejected records (load_rejects) are not here.
-- - Days without any message do not appear (no zero rows).
--
-- Reading the answer: one row per day with at least one message, oldest first.
-- A day far ahead of today is a future timestamp (see
-- monitor_future_timestamps), not real traffic.
SELECT DATE(m.created_at) AS day,
       COUNT(*) AS messages
FROM messages_raw AS m
GROUP BY DATE(m.created_at)
ORDER BY day;
