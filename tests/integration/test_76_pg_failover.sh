#!/usr/bin/env bash
# Failover of a PostgreSQL warehouse (warehouse.hosts: libpq's multi-host
# connection, the first read-write server): a primary and its
# streaming-replication standby of this test's own (scripts/dev-pg start and
# standby, on PG_PORT+2 and +3). A run through hosts [primary, standby] is
# paused after a commit (MASKLOAD_TEST_PAUSE_AT), the primary is stopped
# (fast shutdown, by the pid of its data directory) and the standby
# promoted: the run moves to it, replays its batch and exits 0; the failover
# is logged and counted; the moved run is live for `status` (its lease names
# the promoted server and its new session); the rows equal an undisturbed
# run's (surrogates compared by their values' digests); the same with two
# streams loaded at once (each stream's session fails over and finds the
# run's lease on the promoted server). One server listed
# alone and restarted mid-run: the run survives. Must-fails: with
# failovers: 0 the same failover fails the run naming the lost connection,
# and the rerun completes it; a lone server that stays down fails the run
# after the bounded reconnects, and the rerun completes it; a history
# stream (its snapshot is a temporary table of the lost session) fails with
# a message saying the next run loads it, and the next run does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg-lib.sh"

DEVPG=$SOURCE_DIR/scripts/dev-pg
P_PORT=$((PG_PORT + 2)) S_PORT=$((PG_PORT + 3))
FO=${PG_SERVER_DIR}-t76
export MASKLOAD_ADMIN_PASSWORD
REF=t76ref DB=t76fo
stop_pair() {
  "$DEVPG" stop --dir "$FO/standby" --port "$S_PORT" >/dev/null 2>&1 || true
  "$DEVPG" stop --dir "$FO/primary" --port "$P_PORT" >/dev/null 2>&1 || true
}

# an API of this test's own: its injected delays touch no other test
start_api "$FIXTURES"
# after start_api, whose own EXIT trap this one replaces: the pair is
# stopped however the test ends
trap 'stop_pair; [ -z "${API_PID:-}" ] || kill "$API_PID" 2>/dev/null || true' EXIT
faults() { curl -sf -X "$1" "http://127.0.0.1:$API_PORT/__faults" ${2:+-d "$2"} >/dev/null; }

# pq PORT DB SQL : rows as the superuser on the server at PORT
pq() { PGPASSWORD="$MASKLOAD_ADMIN_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" -At -c "SET search_path = maskload; $3"; }

# cfg DB HOSTS : a config for DB through `hosts: [HOSTS]`
cfg() {
  pg_config_head "$1" | grep -v '^  port: ' | sed "s/^  host: 127.0.0.1$/  hosts: [$2]/"
  cat <<YAML
$(pii_section)
load: { batch_size: 2, heartbeat_interval: 1 }
sources:
  api: { base_url: "http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1", page_size: 2 }
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
YAML
}
BOTH="127.0.0.1:$P_PORT, 127.0.0.1:$S_PORT"

# canon PORT DB : the stream tables' rows, sorted, without the run's stamps,
# each surrogate id as its value's digest (ids may differ between servers:
# a promoted standby's sequences jump ahead)
canon() {
  local t c cols kinds
  kinds=$(pq "$1" "$2" "SELECT substr(table_name, 11, length(table_name) - 14) FROM information_schema.tables WHERE table_schema = 'maskload' AND table_name LIKE 'sensitive\\_%\\_ids'")
  for t in $(pq "$1" "$2" "SELECT table_name FROM information_schema.tables WHERE table_schema = 'maskload' AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'load\\_%' AND table_name NOT LIKE 'sensitive\\_%' AND table_name NOT LIKE 'pii\\_%' ORDER BY 1"); do
    cols=""
    for c in $(pq "$1" "$2" "SELECT column_name FROM information_schema.columns WHERE table_schema = 'maskload' AND table_name = '$t' AND column_name NOT IN ('load_run_id', 'loaded_at') ORDER BY ordinal_position"); do
      if [[ "$c" == *_id ]] && grep -qx "${c%_id}" <<<"$kinds"; then
        cols+="${cols:+,}(SELECT encode(s.digest, 'hex') FROM sensitive_${c%_id}_ids s WHERE s.id = \"$t\".\"$c\")"
      else
        cols+="${cols:+,}\"$c\""
      fi
    done
    echo "== $t"
    pq "$1" "$2" "SELECT $cols FROM \"$t\"" | sort
  done
}

# pair DB [CONFIG] : a new primary with DB initialised (by CONFIG, default
# through both hosts), then its standby, replaying it
pair() {
  stop_pair
  rm -rf "$FO"
  mkdir -p "$FO"
  "$DEVPG" start --dir "$FO/primary" --port "$P_PORT" >"$T/pair.log" 2>&1 ||
    { cat "$T/pair.log"; not_ok "the primary did not start"; finish; }
  ml -c "${2:-$T/both.yaml}" init
  assert_eq 0 "$RC" "init on the new primary ($OUT)"
  "$DEVPG" standby --primary-dir "$FO/primary" --dir "$FO/standby" --port "$S_PORT" >>"$T/pair.log" 2>&1 ||
    { cat "$T/pair.log"; not_ok "the standby did not start"; finish; }
}

# paused_run CONFIG LOG ACTION... : a run paused after its 4th commit
# (PAUSE_COMMIT says otherwise); ACTION
# runs while it waits, then it resumes; its exit status in $rc (a run that
# has not ended 120 s later is killed: 137)
paused_run() {
  local cfgf=$1 log=$2
  shift 2
  rm -f "$T/pause"
  MASKLOAD_TEST_PAUSE_AT=commit:${PAUSE_COMMIT:-4} MASKLOAD_TEST_PAUSE_FILE="$T/pause" "$MASKLOAD_BIN" -c "$cfgf" run >"$log" 2>&1 &
  loader=$!
  for _ in $(seq 1 300); do [ -e "$T/pause" ] && break; sleep 0.1; done
  [ -e "$T/pause" ] && ok "the run paused" || not_ok "the run did not pause: $(cat "$log")"
  "$@"
  rm -f "$T/pause"
}
wait_run() {
  for _ in $(seq 1 1200); do kill -0 "$loader" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$loader" 2>/dev/null && kill -9 "$loader"
  set +e; wait "$loader"; rc=$?; set -e
}
fail_over() {
  "$DEVPG" stop --dir "$FO/primary" --port "$P_PORT" >>"$T/pair.log" 2>&1
  "$DEVPG" promote --dir "$FO/standby" >>"$T/pair.log" 2>&1 || { cat "$T/pair.log"; not_ok "the standby was not promoted"; }
}

# ---- the undisturbed run, on the suite's server
pg_drop "$REF"
cfg "$REF" "127.0.0.1:$PG_PORT" >"$T/ref.yaml"
ml -c "$T/ref.yaml" init; assert_eq 0 "$RC" "init of the reference ($OUT)"
ml -c "$T/ref.yaml" run; assert_eq 0 "$RC" "the undisturbed run ($OUT)"
ref=$(canon "$PG_PORT" "$REF")
assert_contains "$ref" "== users_raw" "the reference has its rows"

# ---- a failover during the run: primary stopped, standby promoted
cfg "$DB" "$BOTH" >"$T/both.yaml"
pair "$DB"
# slow pages after the failover: a window to see the moved run live
faults POST '{"path": "/messages", "delay_ms": 800, "times": 8}'
paused_run "$T/both.yaml" "$T/run.log" fail_over
live="" node=""
for _ in $(seq 1 100); do
  node=$(pq "$S_PORT" "$DB" "SELECT node || CASE WHEN connection_id IN (SELECT pid FROM pg_stat_activity) THEN ' live' ELSE ' gone' END FROM load_run_leases" 2>/dev/null || true)
  [ "$node" = "127.0.0.1:$S_PORT live" ] && { ml -c "$T/both.yaml" status; live=$OUT; break; }
  sleep 0.1
done
assert_eq "127.0.0.1:$S_PORT live" "$node" "the lease moved to the promoted server and the run's new session"
assert_contains "$live" "running" "status sees the moved run running"
assert_not_contains "$live" "stale" "and not stale"
wait_run
faults DELETE
log=$(cat "$T/run.log")
assert_eq 0 "$rc" "the run finished on the promoted standby: $(tail -5 "$T/run.log")"
assert_contains "$log" "failing over (1 of 2) and redoing the batch" "the failover is logged"
assert_contains "$log" "failed over to 127.0.0.1:$S_PORT; lease moved to its connection" "to the promoted server"
assert_contains "$log" "1 failover(s)" "the failover is counted"
assert_eq "succeeded" "$(pq "$S_PORT" "$DB" "SELECT string_agg(status, ',') FROM load_runs")" "one run, succeeded"
assert_eq 0 "$(pq "$S_PORT" "$DB" "SELECT count(*) FROM load_run_leases")" "no lease left"
assert_eq "$ref" "$(canon "$S_PORT" "$DB")" "the rows equal the undisturbed run's"
assert_eq 0 "$(pq "$S_PORT" "$DB" "SELECT count(*) FROM (SELECT value FROM sensitive_city_ids GROUP BY value HAVING count(*) > 1) d")" "no value has two surrogates"
# must-fail of the comparison: one changed value is seen
pq "$S_PORT" "$DB" "UPDATE users_raw SET birth_year = birth_year + 1 WHERE user_id = (SELECT min(user_id) FROM users_raw)" >/dev/null
assert_not_contains "$(canon "$S_PORT" "$DB")" "$ref" "a changed row makes the comparison fail (must-fail)"

# ---- the same failover with two streams loaded at once: each stream's
# session fails over on its own and checks the run still holds its lease
# (the run's own session, idle, is replaced to record the run's end)
cfg "$DB" "$BOTH" | sed 's/^load: { batch_size: 2, heartbeat_interval: 1 }$/load: { batch_size: 2, heartbeat_interval: 1, parallel_streams: 2 }/' >"$T/par.yaml"
assert_contains "$(cat "$T/par.yaml")" "parallel_streams: 2" "the parallel configuration"
pair "$DB" "$T/par.yaml"
paused_run "$T/par.yaml" "$T/par.log" fail_over
wait_run
log=$(cat "$T/par.log")
assert_eq 0 "$rc" "two streams at once: the run finished on the promoted standby: $(tail -5 "$T/par.log")"
assert_contains "$log" "streams 2 at a time (load.parallel_streams 2)" "the streams ran at once"
assert_contains "$log" "failed over to 127.0.0.1:$S_PORT" "a stream's session failed over to the promoted server"
assert_not_contains "$log" "its lease is gone" "the run's lease was found on the promoted server"
assert_eq "succeeded" "$(pq "$S_PORT" "$DB" "SELECT string_agg(status, ',') FROM load_runs")" "one run, succeeded"
assert_eq 0 "$(pq "$S_PORT" "$DB" "SELECT count(*) FROM load_run_leases")" "no lease left"
assert_eq "$ref" "$(canon "$S_PORT" "$DB")" "the rows equal the undisturbed run's"

# ---- must fail: warehouse.failovers 0
cfg "$DB" "$BOTH" | sed 's/^warehouse:$/warehouse:\n  failovers: 0/' >"$T/nofo.yaml"
pair "$DB" "$T/nofo.yaml"
paused_run "$T/nofo.yaml" "$T/nofo.log" fail_over
wait_run
assert_eq 1 "$rc" "with failovers: 0 the lost primary fails the run"
assert_contains "$(cat "$T/nofo.log")" "lost the connection to the warehouse" "naming the lost connection"
assert_not_contains "$(cat "$T/nofo.log")" "failing over (" "and no failover is tried"
assert_eq "failed" "$(pq "$S_PORT" "$DB" "SELECT string_agg(status, ',') FROM load_runs")" "the run is recorded failed on the promoted server"
ml -c "$T/nofo.yaml" run
assert_eq 0 "$RC" "the rerun completes it ($OUT)"
assert_eq "$ref" "$(canon "$S_PORT" "$DB")" "with the undisturbed run's rows"

# ---- one server listed, restarted mid-run: the run survives
cfg "$DB" "127.0.0.1:$P_PORT" >"$T/one.yaml"
pair "$DB" "$T/one.yaml"
restart() {
  "$DEVPG" stop --dir "$FO/primary" --port "$P_PORT" >>"$T/pair.log" 2>&1
  "$DEVPG" start --dir "$FO/primary" --port "$P_PORT" >>"$T/pair.log" 2>&1
}
paused_run "$T/one.yaml" "$T/one.log" restart
wait_run
assert_eq 0 "$rc" "the run survives its server's restart: $(tail -3 "$T/one.log")"
assert_contains "$(cat "$T/one.log")" "failing over (1 of 1)" "through a failover"
assert_eq "$ref" "$(canon "$P_PORT" "$DB")" "with the undisturbed run's rows"

# ---- must fail: the lone server stays down: bounded reconnects, then exit 1
stop_only() { "$DEVPG" stop --dir "$FO/primary" --port "$P_PORT" >>"$T/pair.log" 2>&1; }
pq "$P_PORT" "$DB" "TRUNCATE users_raw, subscriptions_raw, messages_raw" >/dev/null
start_s=$SECONDS
paused_run "$T/one.yaml" "$T/down.log" stop_only
wait_run
assert_eq 1 "$rc" "a server that stays down fails the run"
assert_contains "$(cat "$T/down.log")" "connecting again in" "after reconnects"
assert_contains "$(cat "$T/down.log")" "(attempt 6 of 6)" "bounded in number"
[ $((SECONDS - start_s)) -lt 90 ] && ok "and in time ($((SECONDS - start_s)) s)" || not_ok "the reconnects took $((SECONDS - start_s)) s"
"$DEVPG" start --dir "$FO/primary" --port "$P_PORT" >>"$T/pair.log" 2>&1
ml -c "$T/one.yaml" run
assert_eq 0 "$RC" "the rerun completes it ($OUT)"
assert_eq "$ref" "$(canon "$P_PORT" "$DB")" "with the undisturbed run's rows"

# ---- the session lost after the stream's last batch committed: the
# stream's end (a statement of its own, in autocommit) fails over as a
# batch would and is recorded on the promoted server. 12 records in
# batches of 2: the run's own commit, then six batches
seq 1 12 | sed 's/.*/{"id": &, "v": "v&"}/' >"$T/items.jsonl"
{ cfg "$DB" "$BOTH" | sed '/^streams:$/,$d'; items_streams "$T/items.jsonl" items_raw; } >"$T/end.yaml"
pair "$DB" "$T/end.yaml"
PAUSE_COMMIT=7 paused_run "$T/end.yaml" "$T/end.log" fail_over
wait_run
assert_eq 0 "$rc" "a session lost after the last batch: the run exits 0: $(tail -3 "$T/end.log")"
assert_contains "$(cat "$T/end.log")" "failing over (1 of 2) and recording the stream's end" "its end is recorded after a failover"
assert_eq "12|1|succeeded" "$(pq "$S_PORT" "$DB" "SELECT (SELECT count(*) FROM items_raw) || '|' || (SELECT count(*) FROM load_run_streams WHERE finished_at IS NOT NULL) || '|' || (SELECT string_agg(status, ',') FROM load_runs)")" "every row, the stream's end and the run's on the promoted server"

# ---- must fail: a history stream cannot fail over (its snapshot table was
# the lost session's); the next run loads it
{ cfg "$DB" "$BOTH" | sed '/^streams:$/,$d'; items_streams "$T/items.jsonl" items_history "history: scd2"; } >"$T/hist.yaml"
pair "$DB" "$T/hist.yaml"
paused_run "$T/hist.yaml" "$T/hist.log" fail_over
wait_run
assert_eq 1 "$rc" "a history stream's lost session fails its run"
assert_contains "$(cat "$T/hist.log")" "stream 'items' keeps its snapshot in a temporary table of the lost session, so it cannot fail over: the next run loads it whole" "and says the next run loads it"
ml -c "$T/hist.yaml" run
assert_eq 0 "$RC" "the next run loads it ($OUT)"
assert_eq 12 "$(pq "$S_PORT" "$DB" "SELECT count(*) FROM items_history WHERE is_current")" "every key current once"

finish
