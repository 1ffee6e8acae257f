#!/usr/bin/env bash
# Transient errors: a lock wait timeout (1205; deadlock
# 1213 takes the same path, db_error_is_transient) retries the WHOLE batch
# transaction, with bounded attempts; a retried batch is counted once.
#
# A second session (a mariadb client kept open as a bash coprocess) holds a
# row lock on users_raw row 1, which the first batch of users must update.
# The loader has warehouse.lock_wait_timeout: 1. No timing is asserted: the
# test releases the lock only after the loader has logged its retry.
. "$(dirname "$0")/lib.sh"
DB=it_db_retry
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
sed -i 's/^warehouse:$/warehouse:\n  lock_wait_timeout: 1/' "$T/c.yaml"

counts() {
  sql_admin "$DB" "SELECT CONCAT_WS(' ', stream, pages, fetched, loaded, rejected) FROM load_run_streams
    WHERE run_id=(SELECT MAX(run_id) FROM load_runs) ORDER BY stream" | paste -sd';'
}
snapshot() {
  for t in users_raw subscriptions_raw messages_raw sensitive_city_ids; do
    sql_admin "$DB" "SELECT COUNT(*) FROM $t"
  done | paste -sd' '
  sql_admin "$DB" "CHECKSUM TABLE users_raw, subscriptions_raw, messages_raw" | cut -f2 | paste -sd' '
}

# hold_lock: starts the coprocess HOLD with an open transaction that holds
# users_raw row 1 FOR UPDATE
hold_lock() {
  coproc HOLD { MYSQL_PWD="$MASKLOAD_ADMIN_PASSWORD" exec mariadb --no-defaults -h 127.0.0.1 \
    -P "$IT_DB_PORT" -u root -D "$DB" -N -B --unbuffered; }
  echo "START TRANSACTION; SELECT CONCAT('held ', user_id) FROM users_raw WHERE user_id=1 FOR UPDATE;" >&"${HOLD[1]}"
  local line=""
  read -r -t 30 line <&"${HOLD[0]}" || true
  assert_eq "held 1" "$line" "second session holds users_raw row 1"
}
release_lock() {
  printf 'COMMIT;\nquit\n' >&"${HOLD[1]}"
  wait "$HOLD_PID" 2>/dev/null || true
}
# wait_log FILE TEXT: bounded wait until FILE contains TEXT
wait_log() {
  for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "first run loads the data"
before=$(snapshot)
expected_counts=$(counts)

# 1. the lock is released after the first failed attempt: the retry succeeds
hold_lock
"$MASKLOAD_BIN" -c "$T/c.yaml" run >"$T/run2.log" 2>&1 &
loader=$!
if wait_log "$T/run2.log" "retrying the whole batch transaction"; then ok "lock wait timeout logged and retried"; else not_ok "no retry logged: $(cat "$T/run2.log")"; fi
release_lock
set +e; wait "$loader"; rc=$?; set -e
assert_eq 0 "$rc" "the retried run succeeds"
log=$(cat "$T/run2.log")
assert_contains "$log" "Lock wait timeout exceeded" "the retry names the transient error"
assert_contains "$log" "(error 1205)" "with its number"
assert_eq "$expected_counts" "$(counts)" "the retried batch is counted once (pages, fetched, loaded, rejected)"
assert_eq 3 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects WHERE stream='users' AND run_id=(SELECT MAX(run_id) FROM load_runs)")" \
  "its rejects are written once"
assert_eq "$before" "$(snapshot)" "tables unchanged by the retried rerun"

# 2. must-fail: the lock is never released: bounded attempts, then the run fails
hold_lock
ml -c "$T/c.yaml" run
release_lock
assert_eq 1 "$RC" "a lock held for good fails the run (exit 1)"
assert_contains "$OUT" "batch transaction failed 5 times" "after a bounded number of attempts"
assert_contains "$OUT" "Lock wait timeout exceeded" "naming the error"
assert_eq 4 "$(grep -c "retrying the whole batch transaction" <<<"$OUT")" "4 retries logged"
assert_eq "failed" "$(sql_admin "$DB" "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "run marked failed"
assert_eq "users 0 0 0 0;" "$(sql_admin "$DB" "SELECT CONCAT_WS(' ', stream, pages, fetched, loaded, rejected) FROM load_run_streams
    WHERE run_id=(SELECT MAX(run_id) FROM load_runs) ORDER BY stream" | paste -sd';');" "no part of the failed batch is counted"
assert_eq "$before" "$(snapshot)" "tables unchanged by the failed run"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "the next run completes"
assert_eq "$expected_counts" "$(counts)" "with full counts"
finish
