#!/usr/bin/env bash
# Concurrent loaders and first-appearance ids: two runs at once, each a file
# stream of its own with the same 3000 new cities of one surrogate kind in
# opposite orders (so that their INSERTs of new surrogates meet in opposite
# orders on the unique digest, where the server may report a deadlock, which
# the loader retries). Each round: both runs succeed, every city has exactly
# one id, and both streams give each city the same id. Then inits at once:
# one waits for the server's init lock another session holds, two inits of
# one new warehouse both succeed. Runs against either warehouse
# (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_keys_conc
N=3000
ROUNDS=3
fresh_db "$DB"
q() { sql_admin "$DB" "$1"; }
cfg() { # cfg FILE STREAM DATAFILE
  cat >"$1" <<YAML
$(config_head "$DB")
$(pii_section)
load: { batch_size: $N }
sources:
  f: { kind: file, path: $3, page_size: $N }
streams:
  $2:
    source: f
    key: [id]
    columns:
      - { name: id,      from: id,   type: bigint, required: true }
      - { name: city_id, from: city, pii: surrogate, kind: city }
YAML
}
cfg "$T/a.yaml" places_a a.jsonl
cfg "$T/b.yaml" places_b b.jsonl
ml -c "$T/a.yaml" init; assert_eq 0 "$RC" "init a ($OUT)"
ml -c "$T/b.yaml" init; assert_eq 0 "$RC" "init b ($OUT)"
retries=0
for r in $(seq 1 $ROUNDS); do
  perl -e 'my ($n, $r) = @ARGV; printf "{\"id\":%d,\"city\":\"round%d-city-%05d\"}\n", $_, $r, $_ for 1 .. $n' "$N" "$r" >"$T/a.jsonl"
  perl -e 'my ($n, $r) = @ARGV; printf "{\"id\":%d,\"city\":\"round%d-city-%05d\"}\n", $_, $r, $n + 1 - $_ for 1 .. $n' "$N" "$r" >"$T/b.jsonl"
  "$MASKLOAD_BIN" -c "$T/a.yaml" run >"$T/a$r.log" 2>&1 & pa=$!
  "$MASKLOAD_BIN" -c "$T/b.yaml" run >"$T/b$r.log" 2>&1 & pb=$!
  set +e; wait $pa; ra=$?; wait $pb; rb=$?; set -e
  assert_eq "0 0" "$ra $rb" "round $r: both concurrent runs succeed"
  [ "$ra $rb" = "0 0" ] || { tail -3 "$T/a$r.log" "$T/b$r.log"; }
  retries=$((retries + $(cat "$T/a$r.log" "$T/b$r.log" | grep -c 'surrogates: .*retrying' || true)))
  assert_eq "$N $N" "$(q "SELECT COUNT(*), COUNT(DISTINCT value) FROM sensitive_city_ids WHERE value LIKE 'round$r-%'" | tr '\t' ' ')" \
    "round $r: one row per city"
  # a's record i and b's record N+1-i carry the same city
  assert_eq "$N 0" "$(q "SELECT COUNT(*), SUM($(wh_bool "a.city_id IS NULL OR $(wh_pick "NOT a.city_id <=> b.city_id" "a.city_id IS DISTINCT FROM b.city_id")"))
    FROM places_a a JOIN places_b b ON b.id = $N + 1 - a.id" | tr '\t' ' ')" "round $r: both streams give each city the same id"
done
echo "# deadlock or lock-wait retries seen over $ROUNDS rounds: $retries"

# --- inits at once: the server's init lock makes a second init wait for the
# first (roles and accounts are the server's). Must-fail first: while a
# session holds that lock, an init waits, says so and writes nothing; it goes
# on when the lock is released.
DB2=${DB}_init
fresh_db "$DB2"
sed "s/$DB/$DB2/g" "$T/a.yaml" >"$T/i.yaml"
hold=$(wh_pick "SELECT GET_LOCK('maskload init', 0), SLEEP(5)" "SELECT pg_advisory_lock(hashtext('maskload init')), pg_sleep(5)")
held=$(wh_pick "SELECT IS_USED_LOCK('maskload init') IS NOT NULL" "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
sql_admin "" "$hold" >/dev/null 2>&1 & ph=$!
for _ in $(seq 1 50); do [ "$(sql_admin "" "$held")" = 1 ] && break; sleep 0.1; done
assert_eq 1 "$(sql_admin "" "$held")" "a session holds the init lock"
"$MASKLOAD_BIN" -c "$T/i.yaml" init >"$T/i.log" 2>&1 & pi=$!
for _ in $(seq 1 50); do grep -q 'another maskload init is running' "$T/i.log" && break; sleep 0.1; done
assert_contains "$(cat "$T/i.log")" "init: another maskload init is running on this server; waiting for it" "init says it waits for the lock"
if kill -0 "$pi" 2>/dev/null; then ok "and is still waiting while the lock is held"; else not_ok "init did not wait: $(cat "$T/i.log")"; fi
assert_eq 0 "$(wh_db_exists "$DB2")" "and has created nothing meanwhile"
set +e; wait "$ph"; wait "$pi"; ri=$?; set -e
assert_eq 0 "$ri" "when the lock is released the waiting init goes on and exits 0"
assert_eq 1 "$(wh_db_exists "$DB2")" "and creates the warehouse"
# two inits of one new warehouse at once: both exit 0, one after the other
fresh_db "$DB2"
"$MASKLOAD_BIN" -c "$T/i.yaml" init >"$T/i1.log" 2>&1 & p1=$!
"$MASKLOAD_BIN" -c "$T/i.yaml" init >"$T/i2.log" 2>&1 & p2=$!
set +e; wait "$p1"; r1=$?; wait "$p2"; r2=$?; set -e
assert_eq "0 0" "$r1 $r2" "two inits of one new warehouse at once both exit 0"
[ "$r1 $r2" = "0 0" ] || tail -3 "$T/i1.log" "$T/i2.log"
ml -c "$T/i.yaml" plan
assert_eq 0 "$RC" "plan after them exits 0"
assert_not_contains "$OUT" "CREATE TABLE IF NOT EXISTS $(wh_q places_a)" "and finds the stream table made"
fresh_db "$DB2"
finish
