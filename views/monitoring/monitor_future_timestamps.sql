-- monitor_future_timestamps: record timestamps later than now (UTC_TIMESTAMP(),
-- all timestamps being stored in UTC): users_raw.created_at/updated_at,
-- subscriptions_raw.created_at, messages_raw.created_at.
--
-- Why it matters: an event cannot be recorded before it happens. Such values
-- come from wrong clocks, time-zone bugs or test data, and they distort "per
-- day" series (queries/01 shows the day), "latest activity" and freshness
-- checks. Subscription start/end dates are not checked: a period may legally
-- be booked ahead or end in the future.
--
-- One row per offending value. record_key is the natural key as text:
-- user_id, user_id:subscription_no, or message_id. No PII.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW monitor_future_timestamps AS
SELECT 'users_raw' AS table_name,
       CAST(u.user_id AS CHAR) AS record_key,
       'created_at' AS column_name,
       u.created_at AS value
FROM users_raw AS u
WHERE u.created_at > UTC_TIMESTAMP()
UNION ALL
SELECT 'users_raw', CAST(u.user_id AS CHAR), 'updated_at', u.updated_at
FROM users_raw AS u
WHERE u.updated_at > UTC_TIMESTAMP()
UNION ALL
SELECT 'subscriptions_raw', CONCAT(s.user_id, ':', s.subscription_no), 'created_at', s.created_at
FROM subscriptions_raw AS s
WHERE s.created_at > UTC_TIMESTAMP()
UNION ALL
SELECT 'messages_raw', CAST(m.message_id AS CHAR), 'created_at', m.created_at
FROM messages_raw AS m
WHERE m.created_at > UTC_TIMESTAMP();
