#!/usr/bin/env bash
# Incremental streams (`incremental: { cursor, param, lookback, sorted }`):
#  1. the first run (no cursor stored) reads everything, stores the largest
#     cursor value of the committed records in load_cursors; a record
#     without the cursor field is loaded and does not move the cursor;
#  2. after the data changes, the next run asks the API with
#     updated_since=<cursor - lookback> on every page (the fixture API's log
#     says so, and how many records matched) and loads only those: a record
#     changed without a newer cursor value is NOT seen (proof the filter is
#     applied), a changed and a new record are; the cursor moves to the new
#     maximum (a +02:00 timestamp compared in UTC);
#  3. `run --full` reads everything (no parameter sent) and loads the record
#     the incremental run could not see; the cursor is stored again;
#  4. a rerun over unchanged data writes no row (load_run_id unchanged);
#  5. killed after every commit of an incremental run (unsorted pages: the
#     cursor only ever holds the old or the final value; sorted: true: it
#     may hold a batch's value), the next run completes it and the table and
#     cursor equal those of an undisturbed run: no record skipped;
#  6. must fail (exit 2, file:line:column): cursor not mapped, cursor of a
#     text column, cursor of a masked field, bad lookback, missing param,
#     param `page`, an unknown key, a file source; the analyst cannot read
#     load_cursors.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh; with
# postgres once incremental cursors are, IT_PG_PENDING).
. "$(dirname "$0")/lib.sh"
DB=it_incremental
q() { sql_admin "$DB" "$1"; }
analyst() { as_analyst "$DB" "$1"; }

# ---- data: A, then B (A with changes) ----
mkdir -p "$T/a" "$T/b"
rec() { # rec ID NAME [UPDATED_AT]
  if [ -n "${3:-}" ]; then printf '{"id":%s,"name":"%s","updatedAt":"%s"}' "$1" "$2" "$3"
  else printf '{"id":%s,"name":"%s"}' "$1" "$2"; fi
}
at() { printf '2024-01-01T%02d:00:00Z' "$(($1 - 1))"; } # item N's original time: (N-1):00
{
  echo "["
  first=1
  for i in 5 1 9 3 12 7 2 10 4 8 6; do
    [ $first = 1 ] || echo ","
    first=0
    if [ "$i" = 12 ]; then rec 12 n12-a; else rec "$i" "n$i-a" "$(at "$i")"; fi
  done
  echo
  echo "]"
} >"$T/a/items.json"
# B: item 1 renamed without a newer time, item 3 renamed at 12:00+02:00
# (10:00Z), item 11 new at 11:30Z
sed -e 's/"n1-a"/"n1-b"/' \
    -e 's/{"id":3,"name":"n3-a","updatedAt":"[^"]*"}/{"id":3,"name":"n3-b","updatedAt":"2024-01-01T12:00:00+02:00"}/' \
    -e 's/^\]$/,{"id":11,"name":"n11-b","updatedAt":"2024-01-01T11:30:00Z"}\n]/' "$T/a/items.json" >"$T/b/items.json"
# the same records, served in ascending cursor order (for sorted: true)
jq '[.[] | select(.id != 12)] | sort_by(if .id == 3 then "2024-01-01T10:00:00Z" else .updatedAt end)' \
  "$T/b/items.json" >"$T/b/items_sorted.json"

# items_config FILE PORT [SORTED] [PATH]: one incremental stream
items_config() {
  cat >"$1" <<YAML
$(config_head "$DB")
$(pii_section)
load:
  batch_size: 2
sources:
  api:
    base_url: http://127.0.0.1:$2/evaluation/dataengineer/jr/v1
    page_size: 2
streams:
  items:
    source: api
    path: ${4:-/items}
    table: items_raw
    key: [item_id]
    incremental: { cursor: updatedAt, param: updated_since, lookback: 1h, sorted: ${3:-false} }
    columns:
      - { name: item_id,    from: id,        type: bigint,      required: true }
      - { name: name,       from: name,      type: varchar(32) }
      - { name: updated_at, from: updatedAt, type: datetime }
YAML
}
since_lines() { grep -c "since updated_since=" "$T/api.log" || true; }
items() { q "SELECT $(wh_agg "CONCAT(item_id, ':', name)" item_id ' ') FROM items_raw"; }
cursor() { q "SELECT cursor_value FROM load_cursors WHERE stream='items'"; }

# ---- 1. first run: everything ----
start_api "$T/a" --since updated_since=updatedAt
fresh_db "$DB"
items_config "$T/c.yaml" "$API_PORT"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
assert_eq "" "$(cursor)" "no cursor before the first run"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "first run ($OUT)"
assert_eq "1:n1-a 2:n2-a 3:n3-a 4:n4-a 5:n5-a 6:n6-a 7:n7-a 8:n8-a 9:n9-a 10:n10-a 12:n12-a" "$(items)" "first run loads every record"
assert_eq 0 "$(since_lines)" "first run sends no updated_since"
assert_contains "$OUT" "no cursor stored yet" "first run says why it reads everything"
assert_eq "2024-01-01 09:00:00.000" "$(cursor)" "cursor = the largest updatedAt committed"
assert_contains "$OUT" "1 records without a value of the cursor 'updatedAt'" "the record without updatedAt is counted"
assert_eq "$(q "SELECT MAX(run_id) FROM load_runs")" "$(q "SELECT run_id FROM load_cursors")" "the cursor names its run"

# ---- 2. changed data: only what changed since cursor - lookback ----
start_api "$T/b" --since updated_since=updatedAt
items_config "$T/c.yaml" "$API_PORT"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "incremental run ($OUT)"
assert_contains "$OUT" "updated_since=2024-01-01T08:00:00.000Z" "asks from the cursor minus 1h"
assert_contains "$(cat "$T/api.log")" "since updated_since=2024-01-01T08:00:00.000Z: 4 of 12 records (page 1)" "the API filtered: 4 of 12 records"
assert_eq 3 "$(grep -c "since updated_since=2024-01-01T08:00:00.000Z" "$T/api.log")" "every page request (2 pages and the empty one) carried the parameter"
assert_eq "1:n1-a 2:n2-a 3:n3-b 4:n4-a 5:n5-a 6:n6-a 7:n7-a 8:n8-a 9:n9-a 10:n10-a 11:n11-b 12:n12-a" "$(items)" \
  "the changed and the new record are loaded; the one changed without a newer updatedAt is not seen"
assert_eq "2024-01-01 11:30:00.000" "$(cursor)" "cursor moved to the new maximum (12:00+02:00 is 10:00Z)"
assert_eq 4 "$(q "SELECT fetched FROM load_run_streams WHERE run_id=(SELECT MAX(run_id) FROM load_runs)")" "only 4 records fetched"

# ---- 3. --full ----
n_before=$(since_lines)
ml -c "$T/c.yaml" run --full; assert_eq 0 "$RC" "run --full ($OUT)"
assert_eq "$n_before" "$(since_lines)" "--full sends no updated_since"
assert_contains "$OUT" "reading everything (--full)" "--full says so"
assert_eq "1:n1-b" "$(q "SELECT CONCAT(item_id, ':', name) FROM items_raw WHERE item_id=1")" "--full loads the record the incremental run could not see"
assert_eq "2024-01-01 11:30:00.000" "$(cursor)" "--full stores the cursor of what it read"
assert_eq "$(q "SELECT MAX(run_id) FROM load_runs")" "$(q "SELECT run_id FROM load_cursors")" "--full's run stored it"

# ---- 4. a rerun over unchanged data writes no row ----
stamp=$(q "SELECT $(wh_agg "CONCAT(load_run_id, loaded_at)" item_id) FROM items_raw")
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "rerun ($OUT)"
assert_contains "$(cat "$T/api.log")" "since updated_since=2024-01-01T10:30:00.000Z: 1 of 12 records" "rerun asks from 11:30 - 1h"
assert_eq "$stamp" "$(q "SELECT $(wh_agg "CONCAT(load_run_id, loaded_at)" item_id) FROM items_raw")" "rerun rewrites no row"
assert_contains "$OUT" "1 rows unchanged in the warehouse, not written" "the unchanged row is counted"

# ---- 5. killed after every commit: the next run loses nothing ----
empty() { q "DELETE FROM items_raw; DELETE FROM load_cursors; DELETE FROM load_run_streams; DELETE FROM load_rejects; DELETE FROM load_run_leases; DELETE FROM load_runs;
  INSERT INTO load_cursors VALUES ('items', '2024-01-01 06:00:00.000', 0, $(wh_pick "UTC_TIMESTAMP(3)" "now() AT TIME ZONE 'UTC'"))"; }
state() { echo "$(q "SELECT $(wh_agg "CONCAT(item_id, ':', name, ':', COALESCE($(wh_ms updated_at), '-'))" item_id ' ') FROM items_raw") / $(cursor)"; }
sweep() { # sweep LABEL SORTED PATH
  local n=0 killed=0 bad=0 mid=0 ref c
  items_config "$T/k.yaml" "$API_PORT" "$2" "$3"
  empty
  ml -c "$T/k.yaml" run; assert_eq 0 "$RC" "$1: undisturbed run from cursor 06:00 ($OUT)"
  ref=$(state)
  assert_contains "$ref" "/ 2024-01-01 11:30:00.000" "$1: the undisturbed run reaches 11:30"
  assert_eq 7 "$(q "SELECT COUNT(*) FROM items_raw")" "$1: it loads the 7 records at or after 05:00"
  while [ "$n" -lt 50 ]; do
    n=$((n + 1))
    empty
    MASKLOAD_TEST_KILL_AT=commit:$n ml -c "$T/k.yaml" run
    [ "$RC" -eq 0 ] && break
    [ "$RC" -eq 137 ] || { not_ok "$1: commit $n: exit $RC: $OUT"; bad=$((bad + 1)); continue; }
    killed=$((killed + 1))
    c=$(cursor)
    case "$c" in
      "2024-01-01 06:00:00.000"|"2024-01-01 11:30:00.000") ;;
      *) mid=$((mid + 1)) ;;
    esac
    ml -c "$T/k.yaml" run
    [ "$RC" -eq 0 ] || { not_ok "$1: commit $n: the next run failed: $OUT"; bad=$((bad + 1)); continue; }
    [ "$(state)" = "$ref" ] || { not_ok "$1: killed after commit $n: [$(state)] != [$ref]"; bad=$((bad + 1)); }
  done
  assert_eq 0 "$bad" "$1: killed after each of $killed commits, the next run equals the undisturbed one"
  if [ "$killed" -ge 4 ]; then ok "$1: swept $killed commits"; else not_ok "$1: only $killed commits swept"; fi
  MID=$mid
}
sweep unsorted false /items
assert_eq 0 "$MID" "unsorted: a killed run never leaves an intermediate cursor"
sweep sorted true /items_sorted
if [ "$MID" -ge 1 ]; then ok "sorted: the cursor advanced with a batch before the kill ($MID times)"; else not_ok "sorted: the cursor never advanced per batch"; fi

# must-fail companion: a cursor beyond unloaded records does skip them
# (what the rules above prevent)
empty
q "UPDATE load_cursors SET cursor_value='2024-01-01 11:30:00.000'"
ml -c "$T/k.yaml" run
assert_eq 1 "$(q "SELECT COUNT(*) FROM items_raw")" "a too-new cursor would skip records (only 1 loaded)"

# ---- 6. bad declarations: exit 2 with file:line:column ----
bad() { # bad LABEL SED_EXPR EXPECTED_MESSAGE [SOURCE_KIND_FILE]
  items_config "$T/bad.yaml" "$API_PORT"
  sed -i "$2" "$T/bad.yaml"
  ml -c "$T/bad.yaml" run
  assert_eq 2 "$RC" "$1: exit 2"
  assert_contains "$OUT" "$3" "$1: message"
  if [[ "$OUT" =~ bad\.yaml:[0-9]+:[0-9]+: ]]; then ok "$1: names file:line:column"; else not_ok "$1: no file:line:column in [$OUT]"; fi
}
bad "cursor not mapped" 's/cursor: updatedAt/cursor: changedAt/' "field 'changedAt' is not mapped to a column of table 'items_raw'"
bad "text cursor" 's/cursor: updatedAt/cursor: name/' "column 'name' cannot be a cursor"
bad "bad lookback" 's/lookback: 1h/lookback: 1hour/' "must be a duration such as 30s, 15m, 1h or 2d"
bad "missing param" 's/param: updated_since, //' "needs 'cursor' (a field of the record) and 'param'"
bad "param page" 's/param: updated_since/param: page/' "not page or limit"
bad "unknown key" 's/sorted: false/sortd: false/' "sortd"
bad "masked cursor" 's/{ name: updated_at, from: updatedAt, type: datetime }/{ name: updated_at, from: updatedAt, type: datetime, pii: { truncate: day } }/' "a cursor must be kept"
items_config "$T/bad.yaml" "$API_PORT"
sed -i "s#^  api:#  files: { kind: file, path: $T/b/items.json }\n  api:#; s/source: api/source: files/" "$T/bad.yaml"
ml -c "$T/bad.yaml" run
assert_eq 2 "$RC" "file source: exit 2"
assert_contains "$OUT" "only an http source can be asked for the records changed since a cursor" "file source: message"
if [[ "$OUT" =~ bad\.yaml:[0-9]+:[0-9]+: ]]; then ok "file source: names file:line:column"; else not_ok "file source: [$OUT]"; fi

# the cursor table is the loader's: the analyst reads nothing of it
assert_contains "$(analyst "SELECT * FROM load_cursors")" "denied" "the analyst cannot read load_cursors"
finish
