#!/usr/bin/env bash
# A loader killed with SIGKILL at any point leaves
# nothing the next run cannot complete, and the tables then equal those of an
# undisturbed run; a killed run is shown by `status` as stale and does not
# block the next one.
#
# Kill points are deterministic: the test hook MASKLOAD_TEST_KILL_AT (db.h)
# makes the loader SIGKILL itself right after its N-th statement or its N-th
# commit. The test sweeps EVERY statement and every commit of a run, each on
# a freshly emptied database (surrogate ids are AUTO_INCREMENT values, so
# every kill point must start from the same state as the reference run).
#
# What "equal" means: raw tables carry load metadata (load_run_id,
# loaded_at) and sensitive_* tables first_seen_at, which legitimately differ
# between two runs (different run ids and clocks). CHECKSUM TABLE covers every
# column, so it would differ for correct loads. We therefore compare the DATA
# columns: for each data table, its row count and the MD5 of all its rows,
# sorted, over every column except those three (ids, digests and values
# included, so a surrogate that moved or a row lost or doubled shows). The audit tables
# (load_runs, load_run_streams, load_rejects, load_run_leases) gain rows from runs, so
# they are compared per run instead: the completing run's rejects equal the
# reference run's.
#
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh); with
# PostgreSQL the surrogate ids are identity values, reset by wh_empty.
. "$(dirname "$0")/lib.sh"
DB=it_kill
REF=it_kill_ref
fresh_db "$DB"
fresh_db "$REF"
write_config "$T/c.yaml" "$DB"
write_config "$T/ref.yaml" "$REF"

# data_hash DB: "table rows md5" per data table of DB (HASH_SQL: wh_hash_sql of the reference)
data_hash() { sql_admin "$1" "$HASH_SQL" | tr '\t' ' '; }
last_rejects() {
  sql_admin "$1" "SELECT stream, source_ref, record_key, reason, payload FROM load_rejects
    WHERE run_id=(SELECT MAX(run_id) FROM load_runs) ORDER BY stream, source_ref" | md5sum | cut -c1-32
}
# empty_db DB: every table emptied, AUTO_INCREMENT counters (identities)
# reset, as after init (which leaves the key's fingerprint in pii_key)
empty_db() { wh_empty "$1"; }
# wait_stale: true once `status` shows the newest run as stale (the server
# notices the dead client's connection; bounded)
wait_stale() {
  local i
  for i in $(seq 1 100); do
    ml -c "$T/c.yaml" status --limit 1
    [[ "$OUT" == *"running (stale: process gone)"* ]] && return 0
    sleep 0.1
  done
  return 1
}

ml -c "$T/ref.yaml" init; assert_eq 0 "$RC" "init reference"
ml -c "$T/ref.yaml" run; assert_eq 0 "$RC" "undisturbed reference run"
HASH_SQL=$(wh_hash_sql "$REF") # built once, as the schema does not change
REF_HASH=$(data_hash "$REF")
REF_REJECTS=$(last_rejects "$REF")
assert_contains "$REF_HASH" "users_raw 12 " "reference has the fixture's users"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"

# must-fail companion of the comparison: a run killed mid-way really leaves
# the tables different from the reference (else the sweep proves nothing)
MASKLOAD_TEST_KILL_AT=commit:3 ml -c "$T/c.yaml" run
assert_eq 137 "$RC" "hook kills the loader with SIGKILL (exit 128+9)"
if [ "$(data_hash "$DB")" != "$REF_HASH" ]; then ok "a killed run leaves the tables incomplete"; else not_ok "killed run already equal to the reference"; fi

# a live run is NOT shown stale: pause it after its second commit
rm -f "$T/pause"
MASKLOAD_TEST_PAUSE_AT=commit:2 MASKLOAD_TEST_PAUSE_FILE="$T/pause" "$MASKLOAD_BIN" -c "$T/c.yaml" run >"$T/paused.log" 2>&1 &
paused_pid=$!
for _ in $(seq 1 300); do [ -e "$T/pause" ] && break; sleep 0.1; done
ml -c "$T/c.yaml" status --limit 1
assert_contains "$OUT" "running " "a paused live run shows as running"
assert_not_contains "$OUT" "stale" "a live run is not called stale"
rm -f "$T/pause"
wait "$paused_pid"; assert_eq 0 "$?" "the paused run finishes"
ml -c "$T/c.yaml" status --limit 1
assert_contains "$OUT" "succeeded" "and is recorded as succeeded"

# the sweep: every statement, then every commit
sweep() {
  local kind=$1 n=0 killed=0 bad=0 status_bad=0 h
  while [ "$n" -lt 1000 ]; do
    n=$((n + 1))
    empty_db "$DB"
    MASKLOAD_TEST_KILL_AT=$kind:$n ml -c "$T/c.yaml" run
    if [ "$RC" -eq 0 ]; then break; fi       # past the run's last $kind: done
    if [ "$RC" -ne 137 ]; then not_ok "$kind $n: exit $RC, not killed: $OUT"; bad=$((bad + 1)); continue; fi
    killed=$((killed + 1))
    # a run killed after its final UPDATE of load_runs has already succeeded
    if [ "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_runs WHERE status='running'")" -gt 0 ] && ! wait_stale; then
      status_bad=$((status_bad + 1)); echo "# $kind $n: status: $OUT"
    fi
    ml -c "$T/c.yaml" run
    if [ "$RC" -ne 0 ]; then not_ok "$kind $n: the next run failed: $OUT"; bad=$((bad + 1)); continue; fi
    h=$(data_hash "$DB")
    if [ "$h" != "$REF_HASH" ]; then
      bad=$((bad + 1)); not_ok "$kind $n: tables differ from the undisturbed run"; diff <(echo "$REF_HASH") <(echo "$h") || true
    fi
    if [ "$(last_rejects "$DB")" != "$REF_REJECTS" ]; then bad=$((bad + 1)); not_ok "$kind $n: rejects differ"; fi
  done
  echo "# $kind: killed at $killed points"
  assert_eq 0 "$bad" "killed after each of $killed ${kind}s, the next run completes and equals the undisturbed run"
  assert_eq 0 "$status_bad" "after each $kind kill, status shows the killed run as stale"
  if [ "$killed" -ge "$2" ]; then ok "swept at least $2 ${kind}s"; else not_ok "only $killed ${kind}s swept"; fi
}
sweep stmt 30
sweep commit 5

# the stale run stays visible as stale in history after the next run
empty_db "$DB"
MASKLOAD_TEST_KILL_AT=commit:4 ml -c "$T/c.yaml" run
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run after a killed one"
ml -c "$T/c.yaml" status --limit 2
assert_contains "$OUT" "run 2  succeeded" "the next run succeeded"
assert_contains "$OUT" "run 1  running (stale: process gone)" "the killed run is shown as stale"
finish
