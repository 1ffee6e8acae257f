#!/usr/bin/env bash
# SQS login events against a real SQS emulator (npm fauxqs): 100
# seed-shaped messages, every 10th malformed, loaded with
# `run --stream user_logins` alone -> exactly the expected rows, surrogates
# shared by equal values, malformed ones in load_rejects with their message
# id, the queue empty; a rerun changes nothing; the analyst reads user_logins
# and no ip or device id; then a loader killed after its commit and before
# its delete (test hook) -> no duplicate on the next run.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh; with
# postgres once SQS streams are, IT_PG_PENDING).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sqs-lib.sh"
DB=it_sqs
fresh_db "$DB"

Q=$(sqs_tool create-queue "$SQS_EP" logins)
sqs_tool seed "$SQS_EP" "$Q" 100 "$T/seed" >/dev/null
# shellcheck disable=SC1091
. "$T/seed/seed.env"
assert_eq "100 90 10" "$SEED_SENT $SEED_VALID $SEED_MALFORMED" "seeded 100 messages, 10 malformed"
write_sqs_config "$T/c.yaml" "$DB" "$Q"

ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
# doctor asks the queue for its attributes and receives nothing
ml -c "$T/c.yaml" doctor
assert_contains "$OUT" "OK    stream user_logins" "doctor: the queue answers ($OUT)"
assert_contains "$OUT" "about 100 messages waiting" "doctor: with its 100 messages"
ml -c "$T/c.yaml" doctor
assert_contains "$OUT" "about 100 messages waiting" "doctor received nothing: still 100 (no message hidden)"
ml -v -c "$T/c.yaml" run --stream user_logins; assert_eq 0 "$RC" "run --stream user_logins"
echo "$OUT" | grep -v 'debug:' | tail -5
assert_contains "$OUT" "stream 'user_logins': batches written in line" \
  "a queue's batches are written in line (each acknowledged right after its commit), not by the writer thread"
assert_eq 0 "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw")" "only the user_logins stream ran"

# exact rows
LC_ALL=C sort "$T/seed/expected.tsv" >"$T/expected.sorted"
logins_rows "$DB" >"$T/actual.tsv"
if cmp -s "$T/expected.sorted" "$T/actual.tsv"; then
  ok "user_logins holds exactly the 90 expected rows (ids, fields, surrogate values)"
else
  not_ok "user_logins rows differ: $(diff "$T/expected.sorted" "$T/actual.tsv" | head -5)"
fi
assert_eq 90 "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")" "90 rows"
# created_at from SentTimestamp: within the seeding window (UTC, ms)
in_window=$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins WHERE $(wh_epoch created_at) BETWEEN
  $((SEED_STARTED_MS / 1000 - 1)) AND $((SEED_FINISHED_MS / 1000 + 1))")
assert_eq 90 "$in_window" "created_at comes from SentTimestamp (UTC)"
assert_eq "$(wh_pick "varchar(32) int(11)" "character varying(32) integer")" \
  "$(echo "$(wh_column_type "$DB" user_logins app_version) $(wh_column_type "$DB" user_logins app_version_major)")" "app_version as sent, its major as INT"

# surrogates: one per distinct value, shared by duplicates
assert_eq "$SEED_DISTINCT_IPS" "$(sql_admin "$DB" "SELECT COUNT(*) FROM sensitive_ip_ids")" \
  "one ip surrogate per distinct ip"
assert_eq "$SEED_DISTINCT_IPS" "$(sql_admin "$DB" "SELECT COUNT(DISTINCT ip_id) FROM user_logins")" \
  "rows use exactly those ip surrogates"
assert_eq "$SEED_DISTINCT_DEVICES" "$(sql_admin "$DB" "SELECT COUNT(DISTINCT device_id) FROM user_logins")" \
  "one device surrogate per distinct device id"
shared=$(sql_admin "$DB" "SELECT COUNT(*) FROM (SELECT ip_id FROM user_logins GROUP BY ip_id HAVING COUNT(*) > 1) x")
if [ "$shared" -gt 0 ]; then ok "duplicate ips share a surrogate ($shared shared ids)"; else not_ok "no shared ip surrogate"; fi

# malformed messages: rejected with their message id, PII-free payload
LC_ALL=C sort "$T/seed/malformed.txt" >"$T/malformed.sorted"
sql_admin "$DB" "SELECT record_key FROM load_rejects WHERE stream='user_logins'" | LC_ALL=C sort >"$T/rejected.txt"
if cmp -s "$T/malformed.sorted" "$T/rejected.txt"; then ok "the 10 malformed messages are in load_rejects by message id"
else not_ok "rejects differ: $(diff "$T/malformed.sorted" "$T/rejected.txt" | head -4)"; fi
reasons=$(sql_admin "$DB" "SELECT DISTINCT reason FROM load_rejects WHERE stream='user_logins' ORDER BY reason")
assert_contains "$reasons" "field 'Body.user_id': missing required field" "{\"foo\": ...} rejected for its missing user_id"
assert_contains "$reasons" "field 'Body' must be an object, got string" "a body that is not JSON is rejected"
assert_eq 0 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects WHERE payload LIKE '%199.172.%' OR payload LIKE '%-47-5928%' OR payload LIKE '%oops%'")" \
  "reject payloads hold no ip, device id or unknown field"
assert_eq "0 0" "$(sqs_count "$Q")" "queue empty afterwards"
assert_eq "100 90 10" "$(sql_admin "$DB" "SELECT CONCAT_WS(' ', fetched, loaded, rejected) FROM load_run_streams WHERE stream='user_logins'")" \
  "load_run_streams counts"
assert_eq "90 10" "$(sql_admin "$DB" "SELECT CONCAT_WS(' ', SUM($(wh_bool "outcome='loaded'")), SUM($(wh_bool "outcome='rejected'"))) FROM load_processed_ids WHERE stream='user_logins'")" \
  "every message id recorded as processed"

# the analyst reads user_logins but no ip or device id value
analyst() { as_analyst "$DB" "$1"; }
assert_eq 90 "$(analyst "SELECT COUNT(*) FROM user_logins")" "analyst reads user_logins"
set +e; out=$(analyst "SELECT COUNT(*) FROM sensitive_ip_ids"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"denied"* ]]; then ok "analyst denied on sensitive_ip_ids"; else not_ok "analyst read sensitive_ip_ids: $out"; fi
dump=$(analyst "SELECT * FROM user_logins")
assert_not_contains "$dump" "199.172." "no plaintext ip in what the analyst reads"
assert_not_contains "$dump" "-47-5928" "no plaintext device id in what the analyst reads"

# a rerun over an empty queue changes nothing
before=$(wh_checksum "$DB" user_logins sensitive_ip_ids sensitive_device_ids)
ml -c "$T/c.yaml" run --stream user_logins; assert_eq 0 "$RC" "rerun"
assert_eq "$before" "$(wh_checksum "$DB" user_logins sensitive_ip_ids sensitive_device_ids)" \
  "rerun leaves the tables identical"
assert_eq 10 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects WHERE stream='user_logins'")" "no new reject"

# ---- killed after the commit, before the delete ----
Q2=$(sqs_tool create-queue "$SQS_EP" logins-crash)
sqs_tool seed "$SQS_EP" "$Q2" 30 "$T/seed2" >/dev/null
SQS_VISIBILITY=1 write_sqs_config "$T/crash.yaml" "$DB" "$Q2"
set +e
OUT=$(MASKLOAD_TEST_CRASH_AFTER_COMMIT=1 "$MASKLOAD_BIN" -c "$T/crash.yaml" run --stream user_logins 2>&1)
RC=$?
set -e
assert_eq 137 "$RC" "the test hook kills the loader after its first commit"
assert_contains "$OUT" "before deleting 10 messages" "killed with the first page committed, not deleted"
committed=$(sql_admin "$DB" "SELECT COUNT(*) FROM load_processed_ids WHERE run_id=(SELECT MAX(run_id) FROM load_runs)")
assert_eq 10 "$committed" "its first page (10 messages) is committed"
assert_eq 30 "$(sqs_count "$Q2" | awk '{print $1+$2}')" "no message was deleted"
wait_in_flight_zero "$Q2"
ml -c "$T/crash.yaml" run --stream user_logins; assert_eq 0 "$RC" "the next run completes"
assert_contains "$OUT" "10 records already processed by an earlier transaction" "the redelivered page is recognised"
assert_eq 117 "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")" "no duplicate row: 90 + 27"
assert_eq 13 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects WHERE stream='user_logins'")" "no duplicate reject: 10 + 3"
LC_ALL=C sort "$T/expected.sorted" "$T/seed2/expected.tsv" >"$T/expected2.sorted"
logins_rows "$DB" >"$T/actual2.tsv"
if cmp -s "$T/expected2.sorted" "$T/actual2.tsv"; then ok "rows exactly as expected after the crash"; else not_ok "rows differ after the crash"; fi
assert_eq "0 0" "$(sqs_count "$Q2")" "crash queue empty afterwards"
assert_eq 20 "$(sql_admin "$DB" "SELECT loaded + rejected FROM load_run_streams WHERE stream='user_logins' AND run_id=(SELECT MAX(run_id) FROM load_runs)")" \
  "the run after the crash wrote only the 20 messages not committed before"

# must-fail companions: bad credentials setup and an unreachable endpoint fail loudly
set +e
OUT=$(env -u AWS_ACCESS_KEY_ID "$MASKLOAD_BIN" -c "$T/c.yaml" run --stream user_logins 2>&1); RC=$?
set -e
assert_eq 2 "$RC" "no credentials: a configuration error (exit 2)"
assert_contains "$OUT" "no AWS credentials" "and says why"
assert_not_contains "$OUT" "test-secret-not-real" "the secret is never printed"
sed "s|endpoint: $SQS_EP|endpoint: http://127.0.0.1:9|" "$T/c.yaml" >"$T/bad.yaml"
ml -c "$T/bad.yaml" run --stream user_logins
assert_eq 1 "$RC" "unreachable endpoint: the run fails"
assert_contains "$OUT" "sqs ReceiveMessage on '$Q'" "the message names the operation and the queue"
ml -c "$T/c.yaml" run --follow --stream users
assert_eq 2 "$RC" "--follow on a non-queue stream is a usage error"
assert_contains "$OUT" "--follow needs a stream of a queue source" "and says why"
ml -c "$T/c.yaml" run --follow
assert_eq 2 "$RC" "--follow over several streams is a usage error"
finish
