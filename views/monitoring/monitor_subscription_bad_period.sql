-- monitor_subscription_bad_period: subscriptions that end before they start
-- (end_date < start_date).
--
-- Why it matters: such a period covers no day at all, so it never counts as
-- active and never covers a message. Durations, revenue per day and retention
-- computed from it come out negative. It is a source data error whatever the
-- status says. The row is kept as sent and reported.
--
-- One row per offending subscription: ids, dates and status only (no PII).
CREATE OR REPLACE SQL SECURITY INVOKER VIEW monitor_subscription_bad_period AS
SELECT s.user_id,
       s.subscription_no,
       s.status,
       s.start_date,
       s.end_date,
       DATEDIFF(s.end_date, s.start_date) AS period_days
FROM subscriptions_raw AS s
WHERE s.end_date < s.start_date;
