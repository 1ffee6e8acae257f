-- monitor_users_updated_before_created: users whose updated_at is earlier than
-- their created_at.
--
-- Why it matters: a record cannot change before it exists. It points at clock
-- or time-zone errors in the source, and it breaks incremental loads that use
-- updated_at as a watermark, and "account age" or "time to first update"
-- metrics.
--
-- One row per offending user: ids and timestamps only (no PII).
CREATE OR REPLACE SQL SECURITY INVOKER VIEW monitor_users_updated_before_created AS
SELECT u.user_id,
       u.created_at,
       u.updated_at,
       TIMESTAMPDIFF(SECOND, u.created_at, u.updated_at) AS seconds_difference
FROM users_raw AS u
WHERE u.updated_at < u.created_at;
