-- Question 2 (PostgreSQL): are there users that did not receive any message?
-- Assumptions and how to read the answer:
-- queries/02_users_without_received_messages.sql.
SELECT u.user_id,
       u.created_at
FROM users_raw AS u
WHERE NOT EXISTS (
        SELECT 1
        FROM messages_raw AS m
        WHERE m.receiver_id = u.user_id
      )
ORDER BY u.user_id;
