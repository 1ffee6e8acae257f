-- monitor_subscription_anomalies: subscriptions whose status says 'Active'
-- although their end date is already past (end_date < today, UTC).
--
-- Why it matters: "active subscriptions today" (queries/03) and any revenue or
-- churn figure built on the status column overcount as long as such rows exist.
-- The original pipeline found one (user 3, ended 2022-03-03, still 'Active'). The source
-- system did not flip the status when the period ended, so the status column
-- cannot be trusted alone: analyses combine it with the dates.
-- Handling: keep the row as sent (raw layer), exclude it from "active" counts
-- by the date rule, and report it to the owner of the subscription system.
--
-- One row per offending subscription: ids, dates and status only (no PII).
-- "Today" is UTC_DATE(): dates are stored as UTC dates, so the answer does not
-- depend on the session time zone of whoever queries the view.
CREATE OR REPLACE SQL SECURITY INVOKER VIEW monitor_subscription_anomalies AS
SELECT s.user_id,
       s.subscription_no,
       s.status,
       s.start_date,
       s.end_date,
       DATEDIFF(UTC_DATE(), s.end_date) AS days_since_end
FROM subscriptions_raw AS s
WHERE s.status = 'Active'
  AND s.end_date < UTC_DATE();
