-- monitor_anomalous_messages (PostgreSQL): messages sent while their sender
-- had no subscription covering the day of sending. The rule and why it
-- matters: views/monitoring/monitor_anomalous_messages.sql. Dates are UTC
-- dates (the timestamps hold UTC). One row per anomalous message: ids and
-- timestamps only.
CREATE OR REPLACE VIEW monitor_anomalous_messages WITH (security_invoker = true) AS
SELECT m.message_id,
       m.created_at,
       m.sender_id,
       m.receiver_id
FROM messages_raw AS m
WHERE NOT EXISTS (
        SELECT 1
        FROM subscriptions_raw AS s
        WHERE s.user_id = m.sender_id
          AND s.start_date <= CAST(m.created_at AS date)
          AND s.end_date >= CAST(m.created_at AS date)
      );
