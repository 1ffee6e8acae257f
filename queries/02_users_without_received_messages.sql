-- Question 2: are there users that did not receive any message?
--
-- Assumptions
-- - "Users" are the loaded users (users_raw). Records rejected at load time
--   are not users here.
-- - A message counts for its receiver whatever its sender or timestamp (a
--   message from a sender without a subscription was still received).
--
-- Reading the answer: one row per user who never appears as receiver_id in
-- messages_raw, by user_id. No rows means every user received something.
-- created_at helps to tell a brand-new account from a silent old one.
SELECT u.user_id,
       u.created_at
FROM users_raw AS u
WHERE NOT EXISTS (
        SELECT 1
        FROM messages_raw AS m
        WHERE m.receiver_id = u.user_id
      )
ORDER BY u.user_id;
