-- Question 3: how many active subscriptions do we have today?
--
-- Assumptions
-- - Active today = status 'Active' AND start_date <= today AND end_date >=
--   today, "today" being the UTC date (UTC_DATE()), as the dates are stored
--   as UTC dates. The status alone is not trusted: the source leaves some
--   subscriptions 'Active' after their end date (monitor_subscription_anomalies),
--   and a subscription booked to start later is not active yet.
-- - A row is one subscription. A user may hold more than one, so the number of
--   distinct subscribers is given beside it.
--
-- Reading the answer: one row. active_subscriptions is the answer to the
-- question, active_subscribers the number of distinct users behind it, as_of
-- the UTC date the answer holds for.
SELECT COUNT(*) AS active_subscriptions,
       COUNT(DISTINCT s.user_id) AS active_subscribers,
       UTC_DATE() AS as_of
FROM subscriptions_raw AS s
WHERE s.status = 'Active'
  AND s.start_date <= UTC_DATE()
  AND s.end_date >= UTC_DATE();
