-- Question 1 (PostgreSQL): how many messages are sent every day?
-- Assumptions and how to read the answer: queries/01_messages_per_day.sql.
SELECT CAST(m.created_at AS date) AS day,
       COUNT(*) AS messages
FROM messages_raw AS m
GROUP BY CAST(m.created_at AS date)
ORDER BY day;
