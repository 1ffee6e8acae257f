-- monitor_orphan_messages: messages whose sender or receiver is not a loaded
-- user (no row in users_raw with that user_id, or the id is NULL).
--
-- Why it matters: per-user message analyses (who receives nothing, who sends
-- without a subscription) silently lose or misattribute these rows. They point
-- at users deleted or never exported by the source, at users rejected by the
-- loader (see load_rejects), or at corrupted ids.
-- missing_side says which end is unknown: 'sender', 'receiver' or 'both'.
--
-- One row per orphan message: ids and timestamps only (no PII).
CREATE OR REPLACE SQL SECURITY INVOKER VIEW monitor_orphan_messages AS
SELECT m.message_id,
       m.created_at,
       m.sender_id,
       m.receiver_id,
       CASE
         WHEN su.user_id IS NULL AND ru.user_id IS NULL THEN 'both'
         WHEN su.user_id IS NULL THEN 'sender'
         ELSE 'receiver'
       END AS missing_side
FROM messages_raw AS m
LEFT JOIN users_raw AS su ON su.user_id = m.sender_id
LEFT JOIN users_raw AS ru ON ru.user_id = m.receiver_id
WHERE su.user_id IS NULL
   OR ru.user_id IS NULL;
