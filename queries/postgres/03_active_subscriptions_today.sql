-- Question 3 (PostgreSQL): how many active subscriptions do we have today?
-- Active today: status 'Active' and start_date <= today <= end_date, today
-- being the UTC date. Assumptions: queries/03_active_subscriptions_today.sql.
SELECT COUNT(*) AS active_subscriptions,
       COUNT(DISTINCT s.user_id) AS active_subscribers,
       CAST(now() AT TIME ZONE 'UTC' AS date) AS as_of
FROM subscriptions_raw AS s
WHERE s.status = 'Active'
  AND s.start_date <= CAST(now() AT TIME ZONE 'UTC' AS date)
  AND s.end_date >= CAST(now() AT TIME ZONE 'UTC' AS date);
