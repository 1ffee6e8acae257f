#!/usr/bin/env bash
# Concurrent loaders and first-appearance ids: two runs at once, each a file
# stream of its own with the same 3000 new cities of one surrogate kind in
# opposite orders (so that their INSERTs of new surrogates meet in opposite
# orders on the unique digest, where the server may report a deadlock, which
# the loader retries). Each round: both runs succeed, every city has exactly
# one id, and both streams give each city the same id. Runs against either
# warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
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
finish
