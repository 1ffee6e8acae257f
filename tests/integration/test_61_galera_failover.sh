#!/usr/bin/env bash
# Failover: node 1 of the cluster is SIGKILLed in the middle of a run
# through warehouse.hosts [node 1, node 2, node 3] (the run paused after a
# commit by MASKLOAD_TEST_PAUSE_AT). The run moves to node 2 and redoes its
# batch, finishing with exit 0, or fails and the rerun finishes; either way
# the rows equal those of an undisturbed run (surrogate ids compared by
# their values' digests: the cluster's auto-increment steps differ by node),
# no value has two surrogates and every surrogate maps to its value. The
# run's lease names its new node and connection. warehouse.failovers: 0
# must fail the same kill (must-fail). The same kill again with two streams
# loaded at once, and after a stream's last batch (its end fails over). A
# history stream's run fails instead (must-fail: its snapshot is a
# temporary table of the lost session) and the next run loads it. Node 1
# is restarted after each kill.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/galera-lib.sh"
REF=it_galera_ref_$$
DB=it_galera_fo_$$
NOFO=it_galera_nofo_$$
trap 'galera_start >/dev/null 2>&1 || true' EXIT

galera_config "$T/ref.yaml" "$REF" 2 3 1
ml -c "$T/ref.yaml" init; assert_eq 0 "$RC" "init of the reference"
ml -c "$T/ref.yaml" run; assert_eq 0 "$RC" "the undisturbed run"

# kill_node1_during CONFIG LOG : a run paused after its fifth commit (in the messages stream), node 1
# SIGKILLed, the run resumed; sets $rc
kill_node1_during() {
  rm -f "$T/pause"
  MASKLOAD_TEST_PAUSE_AT=commit:${PAUSE_COMMIT:-5} MASKLOAD_TEST_PAUSE_FILE="$T/pause" "$MASKLOAD_BIN" -c "$1" run >"$2" 2>&1 &
  local loader=$!
  for _ in $(seq 1 300); do [ -e "$T/pause" ] && break; sleep 0.1; done
  [ -e "$T/pause" ] && ok "the run paused" || not_ok "the run did not pause: $(cat "$2")"
  kill -9 "$(node_pid 1)"
  for _ in $(seq 1 100); do kill -0 "$(node_pid 1)" 2>/dev/null || break; sleep 0.1; done
  rm -f "$T/pause"
  set +e; wait "$loader"; rc=$?; set -e
}

# must-fail: no failover allowed, the kill fails the run
galera_config "$T/nofo.yaml" "$NOFO" 1 2 3
sed -i 's/^warehouse:$/warehouse:\n  failovers: 0/' "$T/nofo.yaml"
ml -c "$T/nofo.yaml" init; assert_eq 0 "$RC" "init (no failover)"
kill_node1_during "$T/nofo.yaml" "$T/nofo.log"
assert_eq 1 "$rc" "with warehouse.failovers 0 the killed node fails the run"
assert_contains "$(cat "$T/nofo.log")" "lost the connection" "the run says it lost its connection"
galera_start >/dev/null

galera_config "$T/c.yaml" "$DB" 1 2 3
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init through node 1"
kill_node1_during "$T/c.yaml" "$T/run.log"
log=$(cat "$T/run.log")
if [ "$rc" -eq 0 ]; then
  ok "the run finished on another node"
  assert_contains "$log" "failing over (1 of 3) and redoing the batch" "the failover is logged"
  assert_contains "$log" "1 failover(s)" "the failover is counted"
  assert_contains "$log" "lease moved to its connection" "the lease moved to the new connection"
  assert_eq 0 "$(gsql 2 "$DB" "SELECT COUNT(*) FROM load_run_leases")" "no lease left after the run"
else
  ok "the run failed ($rc); rerunning"
  ml -c "$T/c.yaml" run
  assert_eq 0 "$RC" "the rerun finishes: $OUT"
fi
assert_contains "$(gsql 2 "$DB" "SELECT GROUP_CONCAT(status) FROM load_runs")" "succeeded" "a run succeeded"
assert_eq "$(canon "$REF" 2)" "$(canon "$DB" 2)" "the rows equal the undisturbed run's"
assert_eq "$USERS_LOADED" "$(gsql 2 "$DB" "SELECT COUNT(*) FROM users_raw")" "no user missing or twice"
surrogate_checks "$DB" 2
surrogate_checks "$REF" 2
# the canonical comparison itself can fail: one changed value is seen
gsql 2 "$REF" "UPDATE users_raw SET birth_year = birth_year + 1 ORDER BY user_id LIMIT 1"
assert_not_contains "$(canon "$DB" 2)" "$(canon "$REF" 2)" "a changed row makes the comparison fail (must-fail)"

galera_start >/dev/null
assert_eq Synced "$(gsql 1 "" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2)" "node 1 rejoined"
assert_eq "$(canon "$DB" 2)" "$(canon "$DB" 1)" "node 1 caught up with the run it missed"

# ---- the same kill with two streams loaded at once: each stream's
# connection fails over on its own and only checks that the run still
# holds its lease (the run's own connection, idle, is replaced to record
# the run's end)
gsql 2 "$REF" "UPDATE users_raw SET birth_year = birth_year - 1 ORDER BY user_id LIMIT 1" # undo the must-fail's change
PAR=it_galera_par_$$
galera_config "$T/par.yaml" "$PAR" 1 2 3
sed -i 's/^load:$/load:\n  parallel_streams: 2/' "$T/par.yaml"
ml -c "$T/par.yaml" init; assert_eq 0 "$RC" "init through node 1 (two streams at once)"
kill_node1_during "$T/par.yaml" "$T/par.log"
log=$(cat "$T/par.log")
assert_contains "$log" "streams 2 at a time (load.parallel_streams 2)" "the streams ran at once"
if [ "$rc" -eq 0 ]; then
  ok "two streams at once: the run finished on other nodes"
  assert_contains "$log" "failed over to another warehouse host" "a stream's connection failed over"
  assert_not_contains "$log" "its lease is gone" "and found the run's lease"
  assert_eq 0 "$(gsql 2 "$PAR" "SELECT COUNT(*) FROM load_run_leases")" "no lease left after the run"
else
  ok "two streams at once: the run failed ($rc); rerunning"
  ml -c "$T/par.yaml" run
  assert_eq 0 "$RC" "the rerun finishes: $OUT"
fi
assert_contains "$(gsql 2 "$PAR" "SELECT GROUP_CONCAT(status) FROM load_runs")" "succeeded" "a run succeeded"
assert_eq "$(canon "$REF" 2)" "$(canon "$PAR" 2)" "the rows equal the undisturbed run's"
surrogate_checks "$PAR" 2
galera_start >/dev/null
assert_eq Synced "$(gsql 1 "" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2)" "node 1 rejoined again"

# ---- node 1 killed after the stream's last batch committed: the stream's
# end (a statement of its own, in autocommit) fails over as a batch would.
# 12 records in batches of 2: the run's own commit, then six batches
END=it_galera_end_$$
seq 1 12 | sed 's/.*/{"id": &, "v": "v&"}/' >"$T/items.jsonl"
galera_config "$T/end.yaml" "$END" 1 2 3
sed -i '/^streams:$/,$d' "$T/end.yaml"
items_streams "$T/items.jsonl" items_raw >>"$T/end.yaml"
sed -i 's/^  batch_size: 7$/  batch_size: 2/' "$T/end.yaml"
ml -c "$T/end.yaml" init; assert_eq 0 "$RC" "init through node 1 (a file stream)"
PAUSE_COMMIT=7 kill_node1_during "$T/end.yaml" "$T/end.log"
assert_eq 0 "$rc" "node 1 lost after the last batch: the run exits 0: $(tail -3 "$T/end.log")"
assert_contains "$(cat "$T/end.log")" "failing over (1 of 3) and recording the stream's end" "its end is recorded after a failover"
assert_eq "12	1	succeeded" "$(gsql 2 "$END" "SELECT (SELECT COUNT(*) FROM items_raw), (SELECT COUNT(*) FROM load_run_streams WHERE finished_at IS NOT NULL), (SELECT GROUP_CONCAT(status) FROM load_runs)")" "every row, the stream's end and the run's on another node"
galera_start >/dev/null

# ---- must fail: a history stream cannot fail over (its snapshot table is
# a temporary table of the lost session: a batch redone on another node
# would find none, and the records read so far are gone); the run says so
# and the next run loads it whole
HIST=it_galera_hist_$$
galera_config "$T/hist.yaml" "$HIST" 1 2 3
sed -i '/^streams:$/,$d' "$T/hist.yaml"
items_streams "$T/items.jsonl" items_history "history: scd2" >>"$T/hist.yaml"
sed -i 's/^  batch_size: 7$/  batch_size: 2/' "$T/hist.yaml"
ml -c "$T/hist.yaml" init; assert_eq 0 "$RC" "init through node 1 (a history stream)"
PAUSE_COMMIT=3 kill_node1_during "$T/hist.yaml" "$T/hist.log"
assert_eq 1 "$rc" "a history stream's lost connection fails its run: $(tail -2 "$T/hist.log")"
assert_contains "$(cat "$T/hist.log")" "stream 'items' keeps its snapshot in a temporary table of the lost session, so it cannot fail over: the next run loads it whole" "and says the next run loads it"
ml -c "$T/hist.yaml" run; assert_eq 0 "$RC" "the next run loads it ($OUT)"
assert_eq 12 "$(gsql 2 "$HIST" "SELECT COUNT(*) FROM items_history WHERE is_current")" "every key current once"
galera_start >/dev/null
finish
