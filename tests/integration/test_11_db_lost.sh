#!/usr/bin/env bash
# Lost connection: the warehouse server dies mid-run
# (SIGKILL of mariadbd, as in a crash). The run fails with exit 1 and a clear
# message, no half-written batch is visible (every committed batch carries
# its counts in load_run_streams, so rows == counts), the run is marked failed
# after a reconnect when the server is back (or the message says it could not
# be), and the next run finishes the load: the tables then equal those of an
# undisturbed run.
#
# Runs its own MariaDB (scripts/dev-db, own datadir, port IT_DB_PORT+10 or
# $MASKLOAD_TEST_AUX_DB_PORT) so that the shared test server is never killed.
# The loader is paused at a known point with the test hook
# MASKLOAD_TEST_PAUSE_AT=commit:N (db.h) while the test kills the server.
. "$(dirname "$0")/lib.sh"
AUX_PORT=${MASKLOAD_TEST_AUX_DB_PORT:-$((IT_DB_PORT + 10))}
AUX_DIR="$WORK_DIR/db-aux-lost"
DEV_DB="$SOURCE_DIR/scripts/dev-db"
stop_aux() { "$DEV_DB" stop --dir "$AUX_DIR" --port "$AUX_PORT" >/dev/null 2>&1 || true; }
trap stop_aux EXIT
"$DEV_DB" start --dir "$AUX_DIR" --port "$AUX_PORT" >"$T/dev-db.log" 2>&1 ||
  { cat "$T/dev-db.log"; not_ok "auxiliary MariaDB on port $AUX_PORT did not start"; finish; exit 1; }
kill_server() {
  local pid
  pid=$(tr -dc '0-9' <"$AUX_DIR/mysqld.pid")
  kill -KILL "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  return 1
}
start_server() { "$DEV_DB" start --dir "$AUX_DIR" --port "$AUX_PORT" >>"$T/dev-db.log" 2>&1; }
aux_sql() { IT_DB_PORT=$AUX_PORT sql_admin "$@"; }

DB=it_db_lost
REF=it_db_lost_ref
aux_sql "" "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS $REF"
IT_DB_PORT=$AUX_PORT write_config "$T/c.yaml" "$DB"
IT_DB_PORT=$AUX_PORT write_config "$T/ref.yaml" "$REF"
data() {
  aux_sql "$1" "SELECT COUNT(*) FROM users_raw; SELECT COUNT(*) FROM subscriptions_raw; SELECT COUNT(*) FROM messages_raw;
    SELECT COUNT(*), GROUP_CONCAT(id, ':', HEX(digest) ORDER BY id) FROM sensitive_city_ids;
    SELECT GROUP_CONCAT(CONCAT_WS(',', user_id, created_at, updated_at, city_id, country, zipcode_id, email_domain, birth_year, gender, is_smoking, profession_id, income) ORDER BY user_id SEPARATOR ';') FROM users_raw;
    SELECT GROUP_CONCAT(CONCAT_WS(',', message_id, created_at, sender_id, receiver_id) ORDER BY message_id SEPARATOR ';') FROM messages_raw" | md5sum
}
# rows_match_counts: every committed row is counted by a committed batch
rows_match_counts() {
  assert_eq "$(aux_sql "$DB" "SELECT COALESCE(SUM(loaded),0) FROM load_run_streams WHERE stream='users'")" \
    "$(aux_sql "$DB" "SELECT COUNT(*) FROM users_raw")" "$1: users_raw rows == loaded counts of committed batches"
  assert_eq "$(aux_sql "$DB" "SELECT COALESCE(SUM(loaded),0) FROM load_run_streams WHERE stream='messages'")" \
    "$(aux_sql "$DB" "SELECT COUNT(*) FROM messages_raw")" "$1: messages_raw rows == loaded counts"
}
# paused_run NAME COMMIT: starts a run that pauses after commit COMMIT
paused_run() {
  rm -f "$T/pause"
  MASKLOAD_TEST_PAUSE_AT=commit:$2 MASKLOAD_TEST_PAUSE_FILE="$T/pause" \
    "$MASKLOAD_BIN" -c "$T/c.yaml" run >"$T/$1.log" 2>&1 &
  LOADER=$!
  for _ in $(seq 1 300); do [ -e "$T/pause" ] && return 0; sleep 0.1; done
  not_ok "$1: the loader did not reach its pause point"
}
finish_run() {
  set +e; wait "$LOADER"; RC=$?; set -e
  OUT=$(cat "$T/$1.log")
}

ml -c "$T/ref.yaml" init; assert_eq 0 "$RC" "init reference"
ml -c "$T/ref.yaml" run; assert_eq 0 "$RC" "undisturbed reference run"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"

# 1. the server crashes and comes back while the loader is between batches
paused_run crash 3
if kill_server; then ok "server killed mid-run"; else not_ok "server did not die"; fi
if start_server; then ok "server restarted"; else not_ok "server did not restart"; fi
rm -f "$T/pause"
finish_run crash
assert_eq 1 "$RC" "the run fails with exit 1"
assert_contains "$OUT" "lost the connection to the warehouse" "the message says the connection was lost"
assert_contains "$OUT" "reconnected to the warehouse to record the end of run" "it reconnected for the bookkeeping"
assert_eq "failed" "$(aux_sql "$DB" "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "the run is marked failed"
assert_contains "$(aux_sql "$DB" "SELECT error_text FROM load_runs ORDER BY run_id DESC LIMIT 1")" "lost the connection" \
  "load_runs keeps the error text"
rows_match_counts "after the crash"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "the next run finishes the load"
assert_eq "$(data "$REF")" "$(data "$DB")" "tables equal the undisturbed run's"

# 2. the server dies and stays down: the run cannot even be marked failed
aux_sql "" "DROP DATABASE $DB"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init again"
paused_run down 2
if kill_server; then ok "server killed mid-run"; else not_ok "server did not die"; fi
rm -f "$T/pause"
finish_run down
assert_eq 1 "$RC" "the run fails with exit 1"
assert_contains "$OUT" "lost the connection to the warehouse" "the message says the connection was lost"
assert_contains "$OUT" "could not be marked failed" "and that the run could not be marked failed"
if start_server; then ok "server restarted"; else not_ok "server did not restart"; fi
rows_match_counts "after the outage"
ml -c "$T/c.yaml" status --limit 1
assert_contains "$OUT" "running (stale: process gone)" "status shows the unmarked run as stale"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "the next run is not blocked and finishes the load"
assert_eq "$(data "$REF")" "$(data "$DB")" "tables equal the undisturbed run's"
finish
