-- monitor_subscription_anomalies (PostgreSQL): subscriptions whose status
-- says 'Active' although their end date is already past (end_date before
-- today, UTC). Why it matters: views/monitoring/monitor_subscription_anomalies.sql.
-- "Today" is the UTC date whatever the session's time zone.
CREATE OR REPLACE VIEW monitor_subscription_anomalies WITH (security_invoker = true) AS
SELECT s.user_id,
       s.subscription_no,
       s.status,
       s.start_date,
       s.end_date,
       CAST(now() AT TIME ZONE 'UTC' AS date) - s.end_date AS days_since_end
FROM subscriptions_raw AS s
WHERE s.status = 'Active'
  AND s.end_date < CAST(now() AT TIME ZONE 'UTC' AS date);
