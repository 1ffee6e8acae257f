-- monitor_anomalous_messages: messages sent while their sender had no
-- subscription covering the day of sending.
--
-- Rule: a message is covered when the sender has at least one row in
-- subscriptions_raw with start_date <= DATE(created_at) <= end_date (UTC dates,
-- both ends inclusive). The status column is NOT used: it is the status as of
-- the last load, not the status at the time the message was sent, so an
-- 'Inactive' subscription that covered the day still counts, and an 'Active'
-- one that did not cover it does not. A sender with no subscription at all, an
-- unknown sender (not in users_raw) and a NULL sender_id are never covered.
--
-- Why it matters: in the product only premium (subscribed) users can send
-- messages, so these rows are either a paywall bypass or a data problem
-- (missing subscription history, wrong timestamps). The original pipeline found user 6, who
-- never had a subscription, sending messages. queries/04 reads this view.
--
-- One row per anomalous message: ids and timestamps only (no PII, no text).
CREATE OR REPLACE SQL SECURITY INVOKER VIEW monitor_anomalous_messages AS
SELECT m.message_id,
       m.created_at,
       m.sender_id,
       m.receiver_id
FROM messages_raw AS m
WHERE NOT EXISTS (
        SELECT 1
        FROM subscriptions_raw AS s
        WHERE s.user_id = m.sender_id
          AND s.start_date <= DATE(m.created_at)
          AND s.end_date >= DATE(m.created_at)
      );
