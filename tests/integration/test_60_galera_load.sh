#!/usr/bin/env bash
# A Galera cluster warehouse (galera.sh): a run through node 1 leaves every
# table equal on node 3 (CHECKSUM TABLE); every table maskload created has a
# primary key and is InnoDB; `status` shows the same runs from every node,
# and a killed run is stale on every node: at once on the node it ran on (its
# connection is gone from that node's process list), from its lease's
# missing heartbeat on the others. warehouse.hosts skips a node that does
# not answer, and names every host and its error when none does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/galera-lib.sh"
DB=it_galera_load_$$
galera_config "$T/c1.yaml" "$DB" 1 2 3
galera_config "$T/c2.yaml" "$DB" 2 3 1
galera_config "$T/c3.yaml" "$DB" 3 1 2

ml -c "$T/c1.yaml" init; assert_eq 0 "$RC" "init through node 1: $OUT"
ml -c "$T/c1.yaml" run; assert_eq 0 "$RC" "run through node 1: $OUT"
assert_eq "$USERS_LOADED" "$(gsql 3 "$DB" "SELECT COUNT(*) FROM users_raw")" "node 3 has every user"

# every table equal on node 1 and node 3 (after node 3 applied everything)
gsql 3 "" "SET SESSION wsrep_sync_wait=1; SELECT 1" >/dev/null
tables=$(gsql 1 "$DB" "SELECT GROUP_CONCAT(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema='$DB' AND table_type='BASE TABLE'")
[ -n "$tables" ] && ok "tables: $tables" || not_ok "no tables in $DB"
c1=$(gsql 1 "$DB" "CHECKSUM TABLE ${tables//,/, }" | cut -f2 | paste -sd' ')
c3=$(gsql 3 "$DB" "SET SESSION wsrep_sync_wait=1; CHECKSUM TABLE ${tables//,/, }" | cut -f2 | paste -sd' ')
assert_eq "$c1" "$c3" "every table CHECKSUM-equal on node 1 and node 3"
assert_not_contains "$c1" "NULL" "every table has a checksum"

# Galera-correct tables: a primary key each, InnoDB each
nopk=$(gsql 3 "" "SELECT GROUP_CONCAT(t.table_name) FROM information_schema.tables t WHERE t.table_schema='$DB' AND t.table_type='BASE TABLE' AND NOT EXISTS (SELECT 1 FROM information_schema.table_constraints c WHERE c.table_schema=t.table_schema AND c.table_name=t.table_name AND c.constraint_type='PRIMARY KEY')")
assert_eq "NULL" "$nopk" "every table has a primary key"
noinno=$(gsql 3 "" "SELECT GROUP_CONCAT(table_name) FROM information_schema.tables WHERE table_schema='$DB' AND table_type='BASE TABLE' AND engine <> 'InnoDB'")
assert_eq "NULL" "$noinno" "every table is InnoDB"
# must-fail of the check itself: a table without a key is seen
gsql 1 "$DB" "SET SESSION wsrep_on=0; CREATE TABLE nokey_probe (a INT) ENGINE=InnoDB" 2>/dev/null || true
probe=$(gsql 1 "" "SELECT GROUP_CONCAT(t.table_name) FROM information_schema.tables t WHERE t.table_schema='$DB' AND t.table_type='BASE TABLE' AND NOT EXISTS (SELECT 1 FROM information_schema.table_constraints c WHERE c.table_schema=t.table_schema AND c.table_name=t.table_name AND c.constraint_type='PRIMARY KEY')")
assert_eq "nokey_probe" "$probe" "the primary-key check sees a table without one"
gsql 1 "$DB" "SET SESSION wsrep_on=0; DROP TABLE nokey_probe"
# surrogates are not dense: the cluster steps auto-increment by its size
assert_eq 3 "$(gsql 1 "" "SELECT @@auto_increment_increment")" "auto_increment_increment is the cluster size"

# status: the same runs from every node
strip() { sed 's/  started .*//'; }
ml -c "$T/c1.yaml" status; s1=$(strip <<<"$OUT")
ml -c "$T/c2.yaml" status; s2=$(strip <<<"$OUT")
ml -c "$T/c3.yaml" status; s3=$(strip <<<"$OUT")
assert_contains "$s1" "succeeded" "status through node 1 shows the run"
assert_eq "$s1" "$s2" "status through node 2 shows the same runs"
assert_eq "$s1" "$s3" "status through node 3 shows the same runs"

# a killed run: paused after its first commit, then SIGKILLed
rm -f "$T/pause"
MASKLOAD_TEST_PAUSE_AT=commit:1 MASKLOAD_TEST_PAUSE_FILE="$T/pause" "$MASKLOAD_BIN" -c "$T/c1.yaml" run >"$T/paused.log" 2>&1 &
loader=$!
for _ in $(seq 1 300); do [ -e "$T/pause" ] && break; sleep 0.1; done
[ -e "$T/pause" ] && ok "the run paused" || not_ok "the run did not pause: $(cat "$T/paused.log")"
ml -c "$T/c2.yaml" status
assert_contains "$OUT" "running " "a live run is running on node 2"
assert_not_contains "$OUT" "stale" "a live run is not stale on node 2 (must-fail of the next checks)"
kill -9 "$loader"; wait "$loader" 2>/dev/null || true
ml -c "$T/c1.yaml" status
assert_contains "$OUT" "stale: process gone" "on the run's node the killed run is stale at once"
sleep 4 # three heartbeat intervals of one second, and one more
for c in c2 c3; do
  ml -c "$T/$c.yaml" status
  assert_contains "$OUT" "stale: no heartbeat" "through $c the killed run is stale from its heartbeat"
done

# failover at connect: a host that does not answer is skipped and logged
galera_config "$T/skip.yaml" "$DB" 1 2
sed -i "s/hosts: \[/hosts: [127.0.0.1:1, /" "$T/skip.yaml"
ml -c "$T/skip.yaml" status
assert_eq 0 "$RC" "status with a dead first host"
assert_contains "$OUT" "host 127.0.0.1:1 skipped" "the dead host is logged"
# every host gone: the message names each host with its error
galera_config "$T/none.yaml" "$DB" 1
sed -i "s/hosts: \[.*\]/hosts: [127.0.0.1:1, 127.0.0.1:2]/" "$T/none.yaml"
ml -c "$T/none.yaml" run
assert_eq 1 "$RC" "a run with no usable host fails"
assert_contains "$OUT" "no usable host of 2: 127.0.0.1:1: cannot connect" "the message names the first host and its error"
assert_contains "$OUT" "; 127.0.0.1:2: cannot connect" "and the second"

# writeset limits: with wsrep_max_ws_rows 12 a batch of 7+ records is too
# large. Through `hosts` maskload lowers its batches under the limit; the
# single-host form does not know the limit, so the server refuses (1180) and
# each refused batch is split in halves and retried. Both load what an
# undisturbed run loads; a run killed between the parts of a split batch is
# finished by its rerun with the same rows.
WS=it_galera_ws_$$
galera_config "$T/ws.yaml" "$WS" 1
single_host() { # single_host FILE DB : the single host/port form on node 1
  galera_config "$1" "$2" 1
  sed -i "s/hosts: \[.*\]/host: 127.0.0.1\n  port: $(node_port 1)/" "$1"
}
single_host "$T/ws1.yaml" "${WS}_single"
single_host "$T/wsk.yaml" "${WS}_kill"
single_host "$T/ws0.yaml" "${WS}_one"
for c in ws ws1 wsk ws0; do ml -c "$T/$c.yaml" init; assert_eq 0 "$RC" "init ($c)"; done
gsql 1 "" "SET GLOBAL wsrep_max_ws_rows=12"
ml -c "$T/ws.yaml" run
ws_rc=$RC ws_out=$OUT
ml -c "$T/ws1.yaml" run
ws1_rc=$RC ws1_out=$OUT
MASKLOAD_TEST_KILL_AT=commit:6 ml -c "$T/wsk.yaml" run
wsk_rc=$RC wsk_out=$OUT
ml -c "$T/wsk.yaml" run
wsk2_rc=$RC
gsql 1 "" "SET GLOBAL wsrep_max_ws_rows=0"
assert_eq 0 "$ws_rc" "through hosts the run stays under wsrep_max_ws_rows: $ws_out"
assert_contains "$ws_out" "batches of at most 3 records (load.batch_size 7)" "the lowered batch size is logged"
assert_not_contains "$ws_out" "too large a transaction" "and no batch is refused"
assert_eq 0 "$ws1_rc" "the single-host form splits the refused batches and finishes: $ws1_out"
assert_contains "$ws1_out" "a batch of 7 records is too large a transaction for the server" "the refused batch is logged"
assert_contains "$ws1_out" "writing it as two of 3 and 4" "with how it is split"
assert_contains "$ws1_out" "batch(es) split as too large" "the splits are counted at the end of the run"
assert_eq "$(canon "$WS" 1)" "$(canon "${WS}_single" 1)" "split batches load exactly what batches under the limit load"
assert_eq "$(gsql 1 "$WS" "SELECT COUNT(*) FROM load_rejects")" "$(gsql 1 "${WS}_single" "SELECT COUNT(*) FROM load_rejects")" "and the same rejects"
assert_eq 137 "$wsk_rc" "the run killed after a part of a split batch dies: $wsk_out"
assert_contains "$wsk_out" "too large a transaction" "(it was killed while splitting)"
assert_eq 0 "$wsk2_rc" "its rerun finishes"
assert_eq "$(canon "$WS" 1)" "$(canon "${WS}_kill" 1)" "killed and rerun: the rows of an undisturbed run"
surrogate_checks "${WS}_kill" 1
# must-fail: a limit no single record fits under fails the run, saying so
gsql 1 "" "SET GLOBAL wsrep_max_ws_rows=3"
ml -c "$T/ws0.yaml" run
gsql 1 "" "SET GLOBAL wsrep_max_ws_rows=0"
assert_eq 1 "$RC" "a record larger than the writeset limit fails the run"
assert_contains "$OUT" "one record is too large a transaction for the server" "and says no split can help"

# configuration: hosts and host exclude each other; a bad entry is refused
# with file:line:column (exit 2)
galera_config "$T/both.yaml" "$DB" 1 2
sed -i 's/^warehouse:$/warehouse:\n  host: 127.0.0.1/' "$T/both.yaml"
ml -c "$T/both.yaml" status
assert_eq 2 "$RC" "hosts with host is a configuration error"
assert_contains "$OUT" "both.yaml:" "the error names the file"
assert_contains "$OUT" "'warehouse.hosts' and 'warehouse.host'/'port'/'socket' exclude each other" "and says why"
galera_config "$T/badport.yaml" "$DB" 1
sed -i "s/hosts: \[.*\]/hosts: [127.0.0.1:99999]/" "$T/badport.yaml"
ml -c "$T/badport.yaml" status
assert_eq 2 "$RC" "a port out of range is a configuration error"
assert_contains "$OUT" "'warehouse.hosts' entry 1: the port must be 1..65535" "and says which entry"
galera_config "$T/rep.yaml" "$DB" 1 1
ml -c "$T/rep.yaml" status
assert_eq 2 "$RC" "a repeated host is a configuration error"
assert_contains "$OUT" "entry 2 repeats entry 1" "and says which"
finish
