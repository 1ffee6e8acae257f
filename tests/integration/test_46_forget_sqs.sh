#!/usr/bin/env bash
# Erasure over a queue source: after `maskload forget` of a user of the SQS
# login events, new messages of that user are stored nowhere, counted as
# erased, and still acknowledged (deleted from the queue), so the queue ends
# empty and nothing of them is redelivered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sqs-lib.sh"
DB=it_forget_sqs
fresh_db "$DB"
Q=$(sqs_tool create-queue "$SQS_EP" logins)
sqs_tool seed "$SQS_EP" "$Q" 100 "$T/seed" >/dev/null
write_sqs_config "$T/c.yaml" "$DB" "$Q"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run --stream user_logins; assert_eq 0 "$RC" "run"
assert_eq 90 "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")" "90 login events loaded"
U=$(head -1 "$T/seed/expected.tsv" | cut -f2)
k=$(cut -f2 "$T/seed/expected.tsv" | grep -cxF "$U")
assert_eq "$k" "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins WHERE user_id='$U'")" "user $U has $k events"

ml -c "$T/c.yaml" forget --subject "$U" --reason "erasure request #21"
assert_eq 0 "$RC" "forget a queue user: $OUT"
assert_contains "$OUT" "$k rows" "its $k events deleted"
assert_eq 0 "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins WHERE user_id='$U'")" "no event of the user left"

# the same users send again: the erased one's messages are skipped and deleted
sqs_tool seed "$SQS_EP" "$Q" 100 "$T/seed2" >/dev/null
k2=$(cut -f2 "$T/seed2/expected.tsv" | grep -cxF "$U")
before=$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")
ml -c "$T/c.yaml" run --stream user_logins; assert_eq 0 "$RC" "run after the erasure"
assert_contains "$OUT" "records of erased data subjects skipped" "the log counts the erased records"
row=$(sql_admin "$DB" "SELECT fetched, loaded, erased, fetched = loaded + rejected + erased FROM load_run_streams WHERE stream='user_logins' AND run_id=(SELECT MAX(run_id) FROM load_runs)" | tr '\t' ' ')
assert_eq "100 $((90 - k2)) $k2 1" "$row" "load_run_streams: $k2 erased, the rest loaded"
assert_eq $((before + 90 - k2)) "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")" "only the other users' events added"
assert_eq 0 "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins WHERE user_id='$U'")" "the erased user stays erased"
assert_eq 0 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_processed_ids p WHERE p.run_id=(SELECT MAX(run_id) FROM load_runs) AND p.outcome='loaded' AND p.record_id NOT IN (SELECT message_id FROM user_logins)")" "no erased message is recorded as processed"
assert_eq "0 0" "$(sqs_count "$Q")" "the erased users' messages were acknowledged: the queue is empty"
finish
