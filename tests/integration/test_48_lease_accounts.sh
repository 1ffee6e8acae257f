#!/usr/bin/env bash
# The run lease and the accounts. A run's liveness is a lease row that only
# the loader can read or write (no GET_LOCK name anyone can take): an
# analyst's locks neither block nor fake a run, a live run renews its lease,
# a frozen one is seen as stale by its heartbeat, a killed one at once.
# Accounts: roles are per database, one account may serve two warehouses,
# and init never silently changes the password of an account that exists.
. "$(dirname "$0")/lib.sh"
A=it_lease_a
B=it_lease_b
fresh_db "$A"
fresh_db "$B"
# write_config with a one-second lease heartbeat
conf() { WRITE_CONFIG_LOAD="  heartbeat_interval: 1" write_config "$1" "$2"; }
conf "$T/a.yaml" "$A"
conf "$T/b.yaml" "$B"
analyst() { as_analyst "$1" "$2"; }
PW_ORIG=$MASKLOAD_ANALYST_PASSWORD
# whatever happens below, the shared analyst account gets its password back
trap 'MASKLOAD_ANALYST_PASSWORD=$PW_ORIG "$MASKLOAD_BIN" -c "$T/a.yaml" init --reset-passwords >/dev/null 2>&1 || true' EXIT

ml -c "$T/a.yaml" init; assert_eq 0 "$RC" "init A"

# ---- the lease cannot be taken, read or faked by the analyst ----
# the analyst holds the lock names a GET_LOCK design would use for the next runs
next=$(sql_admin "$A" "SELECT COALESCE(MAX(run_id),0)+1 FROM load_runs")
lockpid=
( MYSQL_PWD="$MASKLOAD_ANALYST_PASSWORD" mariadb --no-defaults -h 127.0.0.1 -P "$IT_DB_PORT" -u analyst -D "$A" -N -B \
    -e "SELECT GET_LOCK(CONCAT('maskload.run.', DATABASE(), '.', $next), 0), GET_LOCK(CONCAT('maskload.run.', DATABASE(), '.', $next + 1), 0), SLEEP(20)" >"$T/lock.out" 2>&1 ) &
lockpid=$!
held=no
for _ in $(seq 1 50); do
  [ "$(sql_admin "$A" "SELECT IS_USED_LOCK(CONCAT('maskload.run.', DATABASE(), '.', $next)) IS NOT NULL")" = 1 ] && { held=yes; break; }
  sleep 0.1
done
assert_eq yes "$held" "the analyst holds the lock name of the next run"
ml -c "$T/a.yaml" run
assert_eq 0 "$RC" "a run succeeds while the analyst holds the old lock names ($OUT)"
kill "$lockpid" 2>/dev/null || true; wait "$lockpid" 2>/dev/null || true
ml -c "$T/a.yaml" status --limit 1
assert_contains "$OUT" "users: 15 fetched, 12 loaded, 3 rejected, 0 duplicates, 0 erased, 0 with unknown fields, 0 malformed values nulled, 28 new surrogates (4 pages)" \
  "status shows every count of the run"
assert_eq "15 12 3 0 0 0 0 28 4" "$(sql_admin "$A" "SELECT CONCAT_WS(' ', fetched, loaded, rejected, duplicates, erased, unknown_fields, invalid_nulled, surrogates_created, pages) FROM load_run_streams WHERE stream='users'")" \
  "the same counts as load_run_streams"
ml -c "$T/a.yaml" status --format xml
assert_eq 2 "$RC" "status --format xml: usage error"
ml -c "$T/a.yaml" status --limit 1
assert_contains "$OUT" "succeeded" "and is recorded as succeeded"
assert_eq 0 "$(sql_admin "$A" "SELECT COUNT(*) FROM load_run_leases")" "a finished run leaves no lease"
for q in "SELECT * FROM load_run_leases" \
         "INSERT INTO load_run_leases VALUES (999, REPEAT('0',32), 'x', 1, NOW(), NOW() + INTERVAL 1 DAY)" \
         "UPDATE load_run_leases SET expires_at = NOW() + INTERVAL 1 DAY"; do
  out=$(analyst "$A" "$q" || true)
  if [[ "$out" == *"command denied"* ]]; then ok "analyst denied: ${q%% *} load_run_leases"; else not_ok "analyst: $q: $out"; fi
done
grants=$(analyst "$A" "SHOW GRANTS")
assert_not_contains "$grants" "load_run_leases" "the analyst's grants do not name the lease table"

# ---- a live run renews its lease; a frozen one goes stale by its heartbeat ----
rm -f "$T/pause"
MASKLOAD_TEST_PAUSE_AT=commit:2 MASKLOAD_TEST_PAUSE_FILE="$T/pause" "$MASKLOAD_BIN" -c "$T/a.yaml" run >"$T/paused.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do [ -e "$T/pause" ] && break; sleep 0.1; done
[ -e "$T/pause" ] || not_ok "the run did not pause: $(cat "$T/paused.log")"
run_id=$(sql_admin "$A" "SELECT MAX(run_id) FROM load_runs")
hb1=$(sql_admin "$A" "SELECT heartbeat_at FROM load_run_leases WHERE run_id=$run_id")
tok=$(sql_admin "$A" "SELECT token FROM load_run_leases WHERE run_id=$run_id")
if [[ "$tok" =~ ^[0-9a-f]{32}$ ]]; then ok "the lease has a random 128-bit token"; else not_ok "token [$tok]"; fi
sleep 2.5
hb2=$(sql_admin "$A" "SELECT heartbeat_at FROM load_run_leases WHERE run_id=$run_id")
if [ -n "$hb1" ] && [[ "$hb2" > "$hb1" ]]; then ok "a paused live run renews its lease ($hb1 -> $hb2)"; else not_ok "heartbeat did not move: [$hb1] [$hb2]"; fi
assert_eq 3000 "$(sql_admin "$A" "SELECT TIMESTAMPDIFF(MICROSECOND, heartbeat_at, expires_at) DIV 1000 FROM load_run_leases WHERE run_id=$run_id")" "each renewal sets the lease to outlive three heartbeats of one second"
assert_eq 1 "$(sql_admin "$A" "SELECT COUNT(*) FROM load_run_leases l JOIN information_schema.PROCESSLIST p ON p.ID = l.connection_id WHERE l.run_id=$run_id")" "the lease names the run's live connection"
ml -c "$T/a.yaml" status --limit 1
assert_not_contains "$OUT" "stale" "a live run is not stale"
# frozen: the connection stays open, the heartbeat stops
kill -STOP "$pid"
stale=no
for _ in $(seq 1 80); do
  ml -c "$T/a.yaml" status --limit 1
  if [[ "$OUT" == *"running (stale: no heartbeat since "* ]]; then stale=yes; break; fi
  sleep 0.1
done
assert_eq yes "$stale" "a frozen run (its connection alive) is stale by its heartbeat: $OUT"
kill -CONT "$pid"
alive=no
for _ in $(seq 1 50); do
  ml -c "$T/a.yaml" status --limit 1
  if [[ "$OUT" == *"running "* && "$OUT" != *stale* ]]; then alive=yes; break; fi
  sleep 0.1
done
assert_eq yes "$alive" "resumed, it renews its lease and is live again"
# no erasure while a run is loading (it would load the subject again)
ml -c "$T/a.yaml" forget --subject 999999 --reason "lease test"
assert_eq 1 "$RC" "forget during a live run fails"
assert_contains "$OUT" "run $run_id is in progress" "and names the live run"
assert_eq 0 "$(sql_admin "$A" "SELECT COUNT(*) FROM pii_erasures")" "and records nothing"
rm -f "$T/pause"
wait "$pid"; assert_eq 0 "$?" "the paused run finishes"
ml -c "$T/a.yaml" forget --subject 999999 --reason "lease test"
assert_eq 0 "$RC" "with no live run, forget works ($OUT)"
assert_eq 1 "$(sql_admin "$A" "SELECT COUNT(*) FROM pii_erasures")" "and records the erasure"
# a lease faked by another session (wrong token) is not renewed by the run
sql_admin "$A" "INSERT INTO load_runs (started_at, status, streams) VALUES (UTC_TIMESTAMP(3), 'running', 'users');
  INSERT INTO load_run_leases SELECT MAX(run_id), REPEAT('a',32), 'elsewhere:1', 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL 1 DAY FROM load_runs"
ml -c "$T/a.yaml" status --limit 1
assert_not_contains "$OUT" "stale" "a lease on another node, unexpired, counts as live (no process list to ask)"
sql_admin "$A" "UPDATE load_run_leases SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND"
ml -c "$T/a.yaml" status --limit 1
assert_contains "$OUT" "running (stale: no heartbeat since " "the same lease expired: stale"
sql_admin "$A" "DELETE FROM load_run_leases; UPDATE load_runs SET status='failed' WHERE status='running'"

# ---- one account, two warehouses; roles per database ----
ml -c "$T/b.yaml" init; assert_eq 0 "$RC" "init B with the same account names"
ml -c "$T/b.yaml" run; assert_eq 0 "$RC" "run B"
assert_eq "$USERS_LOADED" "$(analyst "$A" "SELECT COUNT(*) FROM users_raw")" "after B's init the analyst still reads A"
assert_eq "$USERS_LOADED" "$(analyst "$B" "SELECT COUNT(*) FROM users_raw")" "and reads B"
ra=$(sql_admin "" "SELECT GROUP_CONCAT(DISTINCT Db) FROM mysql.tables_priv WHERE User='maskload_${A}_analyst'")
rb=$(sql_admin "" "SELECT GROUP_CONCAT(DISTINCT Db) FROM mysql.tables_priv WHERE User='maskload_${B}_analyst'")
assert_eq "$A" "$ra" "A's analyst role holds grants on A only"
assert_eq "$B" "$rb" "B's analyst role holds grants on B only"
assert_eq "maskload_account_analyst" "$(sql_admin "" "SELECT default_role FROM mysql.user WHERE User='analyst' AND Host='%'")" \
  "the analyst logs in with its account role"
held=$(sql_admin "" "SELECT GROUP_CONCAT(Role ORDER BY Role) FROM mysql.roles_mapping WHERE User='maskload_account_analyst'")
assert_contains "$held" "maskload_${A}_analyst" "the account role holds A's role"
assert_contains "$held" "maskload_${B}_analyst" "and B's"
# dropping a warehouse: its roles go with DROP ROLE (README), the other stays
sql_admin "" "DROP DATABASE \`$B\`; DROP ROLE IF EXISTS maskload_${B}_loader, maskload_${B}_analyst, maskload_${B}_steward"
assert_eq "$USERS_LOADED" "$(analyst "$A" "SELECT COUNT(*) FROM users_raw")" "after B and its roles are dropped, the analyst still reads A"

# ---- passwords are never silently reset ----
NEWPW=new-$(openssl rand -hex 12)
MASKLOAD_ANALYST_PASSWORD=$NEWPW ml -c "$T/a.yaml" init
assert_eq 0 "$RC" "init with another configured analyst password"
assert_contains "$OUT" "analyst account 'analyst'@'%' exists with a password other than the configured one; left unchanged" \
  "init says it leaves the existing password"
assert_not_contains "$OUT" "$NEWPW" "and never shows the password"
assert_eq "$USERS_LOADED" "$(analyst "$A" "SELECT COUNT(*) FROM users_raw")" "the old password still works"
out=$(sql_as analyst "$NEWPW" "$A" "SELECT 1" 2>&1 || true)
assert_contains "$out" "Access denied" "the new one does not (must-fail twin)"
ml -c "$T/a.yaml" init
assert_contains "$OUT" "analyst account 'analyst'@'%' exists; its password is left as it is (it is the configured one)" \
  "with the configured password init says it is the same"
MASKLOAD_ANALYST_PASSWORD=$NEWPW ml -c "$T/a.yaml" init --reset-passwords
assert_eq 0 "$RC" "init --reset-passwords"
assert_eq "1" "$(sql_as analyst "$NEWPW" "$A" "SELECT 1" 2>&1)" "--reset-passwords sets the configured password"
out=$(analyst "$A" "SELECT 1" || true)
assert_contains "$out" "Access denied" "and the old one no longer works"
ml -c "$T/a.yaml" init --reset-passwords
assert_eq 0 "$RC" "password restored"
assert_eq "1" "$(analyst "$A" "SELECT 1")" "the original password works again"
ml -c "$T/a.yaml" init --bogus
assert_eq 2 "$RC" "an unknown init option is a usage error"
finish
