#!/usr/bin/env bash
# SQS source options: on_malformed: dead_letter leaves malformed messages for
# the queue's redrive policy (recorded once in load_rejects, then moved to
# the dead-letter queue by SQS); `run --follow` keeps polling until SIGTERM.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh; with
# postgres once SQS streams are, IT_PG_PENDING).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sqs-lib.sh"
DB=it_sqs_opts
fresh_db "$DB"

# ---- dead_letter ----
Q=$(sqs_tool create-queue "$SQS_EP" logins-dl logins-dlq 2)
DLQ=${Q%/*}/logins-dlq
sqs_tool seed "$SQS_EP" "$Q" 20 "$T/seed" >/dev/null
SQS_VISIBILITY=1 write_sqs_config "$T/dl.yaml" "$DB" "$Q" "    on_malformed: dead_letter"
ml -c "$T/dl.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/dl.yaml" run --stream user_logins; assert_eq 0 "$RC" "run with on_malformed: dead_letter"
assert_eq 18 "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")" "valid messages loaded"
assert_eq 2 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects")" "malformed messages rejected"
assert_eq 2 "$(sqs_count "$Q" | awk '{print $1+$2}')" "only the malformed messages remain in the queue"
wait_in_flight_zero "$Q"
ml -c "$T/dl.yaml" run --stream user_logins; assert_eq 0 "$RC" "second run (malformed received again)"
assert_eq 2 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects")" "a redelivered malformed message adds no reject"
wait_in_flight_zero "$Q"
ml -c "$T/dl.yaml" run --stream user_logins; assert_eq 0 "$RC" "third run (past maxReceiveCount 2)"
assert_eq "0 0" "$(sqs_count "$Q")" "the source queue is empty"
assert_eq 2 "$(sqs_count "$DLQ" | awk '{print $1+$2}')" "the redrive moved both to the dead-letter queue"
assert_eq 18 "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")" "rows unchanged"

# must-fail twin: the default (reject) deletes malformed messages at once
Q2=$(sqs_tool create-queue "$SQS_EP" logins-rej logins-rej-dlq 2)
sqs_tool seed "$SQS_EP" "$Q2" 20 "$T/seed2" >/dev/null
write_sqs_config "$T/rej.yaml" "$DB" "$Q2"
ml -c "$T/rej.yaml" run --stream user_logins; assert_eq 0 "$RC" "run with the default on_malformed"
assert_eq "0 0" "$(sqs_count "$Q2")" "default: malformed messages deleted too"
assert_eq 4 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects")" "and recorded in load_rejects"

# ---- --follow ----
Q3=$(sqs_tool create-queue "$SQS_EP" logins-follow)
write_sqs_config "$T/f.yaml" "$DB" "$Q3"
"$MASKLOAD_BIN" -c "$T/f.yaml" run --stream user_logins --follow >"$T/follow.log" 2>&1 &
pf=$!
sqs_tool seed "$SQS_EP" "$Q3" 30 "$T/seed3" >/dev/null
# the follower loads what arrives after it started (bounded wait)
for _ in $(seq 1 300); do
  n=$(sql_admin "$DB" "SELECT COUNT(*) FROM load_processed_ids p JOIN load_runs r ON r.run_id=p.run_id WHERE r.pid=$pf")
  [ "$n" = 30 ] && break
  sleep 0.2
done
assert_eq 30 "$n" "--follow loads messages sent while it runs"
kill -0 "$pf" 2>/dev/null && ok "--follow is still polling" || not_ok "--follow stopped by itself"
kill -TERM "$pf"
set +e; wait "$pf"; rf=$?; set -e
assert_eq 0 "$rf" "SIGTERM ends --follow successfully ($(tail -1 "$T/follow.log"))"
assert_eq "0 0" "$(sqs_count "$Q3")" "followed queue empty"
assert_eq succeeded "$(sql_admin "$DB" "SELECT status FROM load_runs WHERE pid=$pf")" "the run is recorded as succeeded"
finish
