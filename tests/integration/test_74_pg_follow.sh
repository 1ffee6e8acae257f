#!/usr/bin/env bash
# `run --follow` into a PostgreSQL warehouse, against the suite's
# PostgreSQL 15 and the SQS emulator: a stream of a queue source (a declared
# mapping, not exactly_once) is polled until SIGTERM; messages sent while it
# runs are loaded and deleted from the queue after their commit; SIGTERM
# ends the run successfully (load_runs: succeeded); must-fail: --follow over
# several streams and over a stream of a file source exit 2 and record no
# run; a history stream of a queue source exits 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg-lib.sh"
. "$(dirname "$0")/sqs-lib.sh"

DB=t74follow
pg_drop "$DB"
q() { psql_admin "$DB" "SET search_path = maskload; $1"; }
Q=$(sqs_tool create-queue "$SQS_EP" pg-follow)
echo '{"id": 1}' >"$T/one.json"
cat >"$T/f.yaml" <<YAML
$(pg_config_head "$DB")
$(pii_section)
load: { batch_size: 5, heartbeat_interval: 1 }
sources:
  logins:
    kind: sqs
    queue_url: $Q
    endpoint: $SQS_EP
    region: us-east-1
    wait_seconds: 1
    visibility_timeout: 30
  one: { kind: file, path: one.json }
streams:
  logins:
    source: logins
    table: logins_followed
    key: [message_id]
    columns:
      - { name: message_id,  from: MessageId,        type: varchar(128), collation: binary, required: true }
      - { name: user_id,     from: Body.user_id,     type: varchar(128), required: true }
      - { name: device_type, from: Body.device_type, type: varchar(32) }
  queued_history:
    source: logins
    table: queued_history
    key: [message_id]
    history: scd2
    columns:
      - { name: message_id, from: MessageId, type: varchar(128), collation: binary, required: true }
  other:
    source: one
    table: other_raw
    key: [id]
    columns:
      - { name: id, from: id, type: bigint, required: true }
YAML
ml -c "$T/f.yaml" init
assert_eq 0 "$RC" "init ($OUT)"

# ---- must fail: what --follow cannot follow
ml -c "$T/f.yaml" run --follow
assert_eq 2 "$RC" "--follow over several streams exits 2"
assert_contains "$OUT" "--follow needs one stream: add --stream NAME" "and says what to add"
ml -c "$T/f.yaml" run --follow --stream other
assert_eq 2 "$RC" "--follow over a stream of a file source exits 2"
assert_contains "$OUT" "--follow needs a stream of a queue source (kind sqs); stream 'other' is not one" "and says why"
assert_eq 0 "$(q "SELECT count(*) FROM load_runs")" "the refused runs record no run"
# must fail: a queue is no snapshot for a history stream
ml -c "$T/f.yaml" run --stream queued_history
assert_eq 2 "$RC" "a history stream of a queue source exits 2"
assert_contains "$OUT" "'history: scd2' needs a full snapshot; source 'logins' is a queue (kind sqs)" "and says why"

# ---- --follow: loads what arrives while it runs, until SIGTERM
"$MASKLOAD_BIN" -c "$T/f.yaml" run --stream logins --follow >"$T/follow.log" 2>&1 &
pf=$!
sqs_tool seed "$SQS_EP" "$Q" 30 "$T/seed" >/dev/null
# shellcheck disable=SC1091
. "$T/seed/seed.env"
n=0
for _ in $(seq 1 300); do
  n=$(q "SELECT count(*) FROM logins_followed")
  [ "$n" = "$SEED_VALID" ] && break
  sleep 0.2
done
assert_eq "$SEED_VALID" "$n" "--follow loads the messages sent while it runs"
assert_eq "$SEED_MALFORMED" "$(q "SELECT count(*) FROM load_rejects WHERE stream = 'logins'")" "the malformed ones are rejects"
sleep 1.5 # one more empty receive: what was committed is acknowledged
assert_eq "0 0" "$(sqs_count "$Q")" "every committed message is deleted from the queue while it polls"
if kill -0 "$pf" 2>/dev/null; then ok "--follow is still polling"; else not_ok "--follow stopped by itself: $(tail -3 "$T/follow.log")"; fi
assert_eq running "$(q "SELECT status FROM load_runs WHERE pid = $pf")" "the run is live while it follows"
kill -TERM "$pf"
set +e
wait "$pf"
rf=$?
set -e
assert_eq 0 "$rf" "SIGTERM ends --follow successfully ($(tail -1 "$T/follow.log"))"
assert_eq succeeded "$(q "SELECT status FROM load_runs WHERE pid = $pf")" "the run is recorded as succeeded"
assert_eq 0 "$(q "SELECT count(*) FROM load_run_leases")" "and its lease is gone"
assert_eq "$SEED_VALID" "$(q "SELECT count(DISTINCT message_id) FROM logins_followed")" "one row per message"
finish
