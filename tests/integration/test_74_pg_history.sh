#!/usr/bin/env bash
# History (`history: scd2`, `run --as-of`) and incremental cursors with a
# PostgreSQL warehouse, against the suite's PostgreSQL 15:
#  1. init creates the history table (primary key (key, version), the
#     history columns), purchases_current and monitor_purchases_history,
#     each readable by the analyst;
#  2. day 1 then day 2 (one purchase changed, one added) give the versions
#     the snapshots imply, valid_from/valid_to the runs' --as-of; row_hash
#     is the SHA-256 of history.h's pieces (the same bytes as with MySQL);
#     a point-in-time query as the analyst answers each day; a rerun of an
#     unchanged snapshot at a later as-of writes no row (pg_stat_user_tables
#     and every xmin unchanged); day 3 closes the deleted purchase;
#  3. must fail (exit 2, nothing written): an as-of older than the latest, a
#     malformed as-of, --rebuild-history, a change at the as-of its version
#     began at (rolled back);
#  4. check counts the history monitor (0, exit 0); an overlapping version
#     inserted by hand makes it fail (exit 3);
#  5. a run killed after its first batch leaves the history as it was; the
#     rerun applies the snapshot once; an empty snapshot closes nothing;
#  6. incremental: the first run reads everything and stores the cursor;
#     the next asks updated_since=<cursor - lookback> and moves it; --full;
#     a rerun writes no row; killed after each of its commits (unsorted: the
#     cursor is the old or the final value; sorted: it may hold a batch's),
#     the next run equals an undisturbed one; must-fail: a cursor that is no
#     value of its kind fails the run, and a too-new one skips records; the
#     analyst cannot read load_cursors.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg-lib.sh"

DB=t74pg
A=${DB}_analyst
FIX="$SOURCE_DIR/tests/fixtures/purchases"
pg_drop "$DB"
q() { psql_admin "$DB" "SET search_path = maskload; $1"; }
as_a() { psql_as "$A" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$1" 2>&1; }
cp "$FIX/purchases.yaml" "$T/purchases.yaml"
# snapshot DAY: that day's snapshot as JSON Lines, read in pages of 2
# records, each its own batch
snapshot() { jq -c '.[]' "$FIX/$1.json" >"$T/snapshot.json"; }
cat >"$T/c.yaml" <<YAML
$(pg_config_head "$DB")
$(pii_section)
load: { batch_size: 2, heartbeat_interval: 1 }
sources:
  snap: { kind: file, path: snapshot.json, page_size: 2 }
streams:
  purchases: { source: snap, mapping: purchases.yaml }
YAML
C="$T/c.yaml"
versions() {
  q "SELECT purchase_id, version, product, user_id, purchase_date, to_char(valid_from, 'YYYY-MM-DD'),
       coalesce(to_char(valid_to, 'YYYY-MM-DD'), '-'), is_current::int, deleted::int
     FROM purchases ORDER BY purchase_id, version" | tr '|' ' '
}
stat() { q "SELECT n_tup_ins || '|' || n_tup_upd || '|' || n_tup_del FROM pg_stat_user_tables WHERE schemaname = 'maskload' AND relname = '$1'"; }
xmins() { q "SELECT string_agg(xmin::text || ':' || purchase_id || ':' || version, ',' ORDER BY purchase_id, version) FROM purchases"; }
settle() { sleep 0.7; } # pg_stat_user_tables is fed asynchronously

# ---- 1. init
snapshot day1
ml -c "$C" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"
assert_eq "purchase_id,version" \
  "$(q "SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'maskload.purchases'::regclass AND i.indisprimary")" \
  "the history table's primary key is (key, version)"
assert_eq "purchase_id product user_id purchase_date load_run_id loaded_at valid_from valid_to version is_current deleted row_hash" \
  "$(q "SELECT string_agg(column_name, ' ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'maskload' AND table_name = 'purchases'")" \
  "the history columns follow the mapped ones"
assert_eq "0" "$(as_a 'SELECT count(*) FROM purchases_current')" "the analyst reads purchases_current"
assert_eq "0" "$(as_a 'SELECT count(*) FROM monitor_purchases_history')" "and monitor_purchases_history"

# ---- 2. day 1, day 2
ml -c "$C" run --as-of 2024-01-01T00:00:00Z
assert_eq 0 "$RC" "day 1 exits 0 ($OUT)"
assert_contains "$OUT" "history as of 2024-01-01 00:00:00.000: 3 versions opened, 0 closed as changed, 0 closed as deleted" "day 1 opens three versions"
snapshot day2
ml -c "$C" run --as-of 2024-01-02T00:00:00Z
assert_eq 0 "$RC" "day 2 exits 0 ($OUT)"
assert_contains "$OUT" "2 versions opened, 1 closed as changed, 0 closed as deleted" "day 2 closes the changed purchase and opens two"
want="1002313002 1 13 1003432 2021-06-19 2024-01-01 - 1 0
1002313003 1 12 1003431 2022-05-20 2024-01-01 - 1 0
1002313004 1 14 1003433 2023-07-21 2024-01-01 2024-01-02 0 0
1002313004 2 10 1003433 2023-07-22 2024-01-02 - 1 0
1002313005 1 15 1003434 2023-07-22 2024-01-02 - 1 0"
assert_eq "$want" "$(versions)" "the versions the two snapshots imply"
assert_eq "$(q "SELECT max(run_id) FROM load_runs")" "$(q "SELECT load_run_id FROM purchases WHERE purchase_id = 1002313004 AND version = 1")" "the closed version is stamped with the run that closed it"
hash=$(printf '%s' "7:product:i:2:127:user_id:i:7:100343113:purchase_date:d:10:2022-05-20" | sha256sum | cut -d' ' -f1)
assert_eq "$hash" "$(q "SELECT encode(row_hash, 'hex') FROM purchases WHERE purchase_id = 1002313003")" "row_hash is the SHA-256 of the typed pieces (docs/history.md's example)"
assert_eq "1002313002:13 1002313003:12 1002313004:14" \
  "$(as_a "SELECT string_agg(purchase_id || ':' || product, ' ' ORDER BY purchase_id) FROM purchases WHERE valid_from <= '2024-01-01 12:00' AND (valid_to IS NULL OR valid_to > '2024-01-01 12:00')")" \
  "as of 2024-01-01 12:00 the analyst sees day 1"
assert_eq "1002313002:13 1002313003:12 1002313004:10 1002313005:15" \
  "$(as_a "SELECT string_agg(purchase_id || ':' || product, ' ' ORDER BY purchase_id) FROM purchases_current")" \
  "purchases_current holds day 2"

# a rerun of day 2 at a later as-of writes nothing
settle
sb=$(stat purchases) xb=$(xmins)
ml -c "$C" run --as-of 2024-01-02T12:00:00Z
assert_eq 0 "$RC" "a rerun of day 2 exits 0 ($OUT)"
assert_contains "$OUT" "0 versions opened, 0 closed as changed, 0 closed as deleted" "and changes nothing"
settle
q "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
assert_eq "$sb" "$(stat purchases)" "the rerun inserts, updates and deletes no row of purchases (pg_stat_user_tables)"
assert_eq "$xb" "$(xmins)" "every version keeps its xmin"

# typed columns: the canonical texts of the row hash (decimal, timestamp,
# boolean, UTF-8 text, NULL) give the same row_hash as with MySQL; a
# compound key ('1','23') vs ('12','3') is two keys; a record without its
# key is a reject and holds deletions back
cat >"$T/typed.json" <<'JSON'
{"a": "1", "b": "23", "amount": 1.50, "at": "2024-01-02T03:04:05.678Z", "ok": true, "name": "Café"}
{"a": "12", "b": "3", "amount": 2, "at": "2024-01-02T00:00:00Z", "ok": false, "name": "x", "none": "y"}
JSON
typed_cfg() { # typed_cfg HEAD: the purchases and a typed stream
  cat <<YAML
$1
$(pii_section)
sources:
  typed_file: { kind: file, path: typed.json }
  snap: { kind: file, path: snapshot.json, page_size: 2 }
streams:
  purchases: { source: snap, mapping: purchases.yaml }
  typed:
    source: typed_file
    table: typed
    key: [a, b]
    history: scd2
    columns:
      - { name: a,      from: a,      type: varchar(8),    required: true }
      - { name: b,      from: b,      type: varchar(8),    required: true }
      - { name: amount, from: amount, type: "decimal(10,2)" }
      - { name: at,     from: at,     type: datetime }
      - { name: ok,     from: ok,     type: boolean }
      - { name: name,   from: name,   type: varchar(16) }
      - { name: none,   from: none,   type: varchar(16) }
YAML
}
typed_cfg "$(pg_config_head "$DB")" >"$T/typed.yaml"
ml -c "$T/typed.yaml" init
assert_eq 0 "$RC" "init of a typed history stream ($OUT)"
ml -c "$T/typed.yaml" run --stream typed --as-of 2024-01-01T00:00:00Z
assert_eq 0 "$RC" "run of the typed history stream ($OUT)"
assert_eq "1|23|1 12|3|1" "$(q "SELECT string_agg(a || '|' || b || '|' || version, ' ' ORDER BY a) FROM typed")" "('1','23') and ('12','3') are two keys"
hash=$(printf '%s' "6:amount:n:3:1.52:at:t:26:2024-01-02 03:04:05.6780002:ok:b:1:14:name:s:5:Café" | sha256sum | cut -d' ' -f1)
assert_eq "$hash" "$(q "SELECT encode(row_hash, 'hex') FROM typed WHERE a = '1'")" "the row hash of decimal, timestamp, boolean and UTF-8 text is the documented one"
MY=t74my
fresh_db "$MY"
typed_cfg "$(config_head "$MY")" >"$T/typed-my.yaml"
ml -c "$T/typed-my.yaml" init
assert_eq 0 "$RC" "MySQL: init of the same stream ($OUT)"
ml -c "$T/typed-my.yaml" run --stream typed --as-of 2024-01-01T00:00:00Z
assert_eq 0 "$RC" "MySQL: run of the same stream ($OUT)"
my_hashes=$(sql_admin "$MY" "SELECT GROUP_CONCAT(LOWER(HEX(row_hash)) ORDER BY a) FROM typed")
assert_eq 129 "${#my_hashes}" "MySQL holds the two versions' hashes"
assert_eq "$my_hashes" "$(q "SELECT string_agg(encode(row_hash, 'hex'), ',' ORDER BY a) FROM typed")" "both warehouses hash every version alike"
sql_admin "" "DROP DATABASE IF EXISTS \`$MY\`"
printf '%s\n' '{"a": "1", "b": "23", "amount": 1.50, "at": "2024-01-02T03:04:05.678Z", "ok": true, "name": "Café"}' '{"a": null, "b": "3"}' >"$T/typed.json"
ml -c "$T/typed.yaml" run --stream typed --as-of 2024-01-02T00:00:00Z
assert_eq 0 "$RC" "a snapshot with a record without its key exits 0"
assert_contains "$OUT" "the snapshot had rejected records: no key was closed as deleted this run" "and holds the deletions back"
assert_eq "1|23|1|true 12|3|1|true" "$(q "SELECT string_agg(a || '|' || b || '|' || version || '|' || is_current, ' ' ORDER BY a) FROM typed")" "no version closed, none opened for the reject"
assert_eq 1 "$(q "SELECT count(*) FROM load_rejects WHERE stream = 'typed'")" "the record without its key is a reject"

# ---- 3. must fail
ml -c "$C" run --as-of 2023-12-31T00:00:00Z
assert_eq 2 "$RC" "an as-of older than the history's latest exits 2"
assert_contains "$OUT" "is older than the history's latest change (2024-01-02T00:00:00.000000Z)" "and names the latest"
ml -c "$C" run --as-of 2024-01-03
assert_eq 2 "$RC" "a malformed as-of exits 2"
assert_contains "$OUT" "is not a UTC time" "and says what it must be"
ml -c "$C" run --rebuild-history
assert_eq 2 "$RC" "--rebuild-history exits 2"
assert_contains "$OUT" "snapshots are not kept" "and says why"
# a change to the version that began at this very as-of: an empty interval
jq -c '.[] | if .PurchaseID == 1002313005 then .product = 16 else . end' "$FIX/day2.json" >"$T/snapshot.json"
ml -c "$C" run --as-of 2024-01-02T00:00:00Z
assert_eq 2 "$RC" "a change at the as-of its version began at exits 2"
assert_contains "$OUT" "use a later --as-of" "and says what to do"
assert_eq "$xb" "$(xmins)" "the refused runs wrote nothing (the merge rolled back)"

# day 3: 1002313002 left the snapshot
snapshot day3
ml -c "$C" run --as-of 2024-01-03T00:00:00Z
assert_eq 0 "$RC" "day 3 exits 0 ($OUT)"
assert_contains "$OUT" "0 versions opened, 0 closed as changed, 1 closed as deleted" "day 3 closes the deleted purchase"
assert_eq "1002313002 1 13 1003432 2021-06-19 2024-01-01 2024-01-03 0 1" "$(versions | head -1)" "closed and marked deleted, no row added"
settle
if [ "$(stat purchases)" != "$sb" ]; then ok "pg_stat_user_tables sees the run that closed a version (the rerun's comparison can fail)"; else not_ok "pg_stat_user_tables did not move: [$sb]"; fi

# ---- 4. check: the history monitor
ml -c "$C" check --format json
assert_eq 0 "$RC" "check passes over a sound history ($OUT)"
assert_contains "$OUT" '"view":"monitor_purchases_history","rows":0' "check counts the history monitor"
q "INSERT INTO purchases (purchase_id, product, user_id, purchase_date, load_run_id, loaded_at, valid_from, valid_to, version, is_current, deleted, row_hash)
   SELECT purchase_id, product, user_id, purchase_date, load_run_id, loaded_at, '2024-01-01 12:00', NULL, 3, true, false, row_hash FROM purchases WHERE purchase_id = 1002313004 AND version = 2" >/dev/null
ml -c "$C" check --format json
assert_eq 3 "$RC" "must-fail: an overlapping version inserted by hand makes check exit 3"
assert_contains "$OUT" '"view":"monitor_purchases_history","rows":2' "the monitor shows the overlap and the second current version"
assert_eq "3|gap or overlap with the previous version
3|more than one current version" "$(as_a "SELECT version || '|' || problem FROM monitor_purchases_history ORDER BY version, problem")" "and names each broken invariant to the analyst"
q "DELETE FROM purchases WHERE purchase_id = 1002313004 AND version = 3" >/dev/null

# ---- 5. killed after its first batch: the history as it was
jq -c '.[] | if .PurchaseID == 1002313003 then .product = 99 else . end' "$FIX/day3.json" >"$T/snapshot.json"
xb=$(xmins)
MASKLOAD_TEST_KILL_AT=commit:2 ml -c "$C" run --as-of 2024-01-04T00:00:00Z
assert_eq 137 "$RC" "the run is killed after its first batch committed"
assert_eq "$xb" "$(xmins)" "the killed run left the history as it was"
ml -c "$C" run --as-of 2024-01-04T00:00:00Z
assert_eq 0 "$RC" "the rerun exits 0 ($OUT)"
assert_contains "$OUT" "1 versions opened, 1 closed as changed, 0 closed as deleted" "and applies the snapshot once"
assert_eq "99|2024-01-04|1" "$(q "SELECT product || '|' || to_char(valid_from, 'YYYY-MM-DD') || '|' || count(*) OVER () FROM purchases WHERE purchase_id = 1002313003 AND is_current")" "one current version of the changed purchase"
: >"$T/snapshot.json"
xb=$(xmins)
ml -c "$C" run --as-of 2024-01-05T00:00:00Z
assert_eq 0 "$RC" "an empty snapshot exits 0"
assert_contains "$OUT" "the snapshot was empty: no key was closed as deleted this run" "and holds the deletions back"
assert_eq "$xb" "$(xmins)" "an empty snapshot closes nothing"
assert_eq 0 "$(as_a 'SELECT count(*) FROM monitor_purchases_history')" "the history is still sound"

# ---- 6. incremental cursors
mkdir -p "$T/a" "$T/b"
rec() { # rec ID NAME [UPDATED_AT]
  if [ -n "${3:-}" ]; then printf '{"id":%s,"name":"%s","updatedAt":"%s"}' "$1" "$2" "$3"
  else printf '{"id":%s,"name":"%s"}' "$1" "$2"; fi
}
at() { printf '2024-01-01T%02d:00:00Z' "$(($1 - 1))"; } # item N's time: (N-1):00
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
# B: item 1 renamed without a newer time, item 3 at 12:00+02:00 (10:00Z),
# item 11 new at 11:30Z
sed -e 's/"n1-a"/"n1-b"/' \
    -e 's/{"id":3,"name":"n3-a","updatedAt":"[^"]*"}/{"id":3,"name":"n3-b","updatedAt":"2024-01-01T12:00:00+02:00"}/' \
    -e 's/^\]$/,{"id":11,"name":"n11-b","updatedAt":"2024-01-01T11:30:00Z"}\n]/' "$T/a/items.json" >"$T/b/items.json"
jq '[.[] | select(.id != 12)] | sort_by(if .id == 3 then "2024-01-01T10:00:00Z" else .updatedAt end)' \
  "$T/b/items.json" >"$T/b/items_sorted.json"
items_config() { # items_config FILE PORT [SORTED] [PATH]
  cat >"$1" <<YAML
$(pg_config_head "$DB")
$(pii_section)
load: { batch_size: 2, heartbeat_interval: 1 }
sources:
  api: { base_url: "http://127.0.0.1:$2/evaluation/dataengineer/jr/v1", page_size: 2 }
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
items() { q "SELECT string_agg(item_id || ':' || name, ' ' ORDER BY item_id) FROM items_raw"; }
cursor() { q "SELECT cursor_value FROM load_cursors WHERE stream = 'items'"; }

start_api "$T/a" --since updated_since=updatedAt
items_config "$T/i.yaml" "$API_PORT"
ml -c "$T/i.yaml" init
assert_eq 0 "$RC" "init of the incremental stream ($OUT)"
ml -c "$T/i.yaml" run
assert_eq 0 "$RC" "first incremental run ($OUT)"
assert_contains "$OUT" "no cursor stored yet" "the first run says why it reads everything"
assert_eq "1:n1-a 2:n2-a 3:n3-a 4:n4-a 5:n5-a 6:n6-a 7:n7-a 8:n8-a 9:n9-a 10:n10-a 12:n12-a" "$(items)" "the first run loads every record"
assert_eq "2024-01-01 09:00:00.000" "$(cursor)" "the cursor is the largest updatedAt committed"
assert_contains "$OUT" "1 records without a value of the cursor 'updatedAt'" "the record without updatedAt is counted"
assert_eq "$(q "SELECT max(run_id) FROM load_runs")" "$(q "SELECT run_id FROM load_cursors")" "the cursor names its run"

start_api "$T/b" --since updated_since=updatedAt
items_config "$T/i.yaml" "$API_PORT"
ml -c "$T/i.yaml" run
assert_eq 0 "$RC" "the incremental run ($OUT)"
assert_contains "$OUT" "updated_since=2024-01-01T08:00:00.000Z" "asks from the cursor minus the lookback"
assert_contains "$(cat "$T/api.log")" "since updated_since=2024-01-01T08:00:00.000Z: 4 of 12 records (page 1)" "the API filtered: 4 of 12 records"
assert_eq "1:n1-a 2:n2-a 3:n3-b 4:n4-a 5:n5-a 6:n6-a 7:n7-a 8:n8-a 9:n9-a 10:n10-a 11:n11-b 12:n12-a" "$(items)" \
  "the changed and the new record are loaded; the one changed without a newer updatedAt is not seen"
assert_eq "2024-01-01 11:30:00.000" "$(cursor)" "the cursor moved to the new maximum (12:00+02:00 is 10:00Z)"
ml -c "$T/i.yaml" run --full
assert_eq 0 "$RC" "run --full ($OUT)"
assert_contains "$OUT" "reading everything (--full)" "--full says so"
assert_eq "1:n1-b" "$(q "SELECT item_id || ':' || name FROM items_raw WHERE item_id = 1")" "--full loads the record the incremental run could not see"
assert_eq "$(q "SELECT max(run_id) FROM load_runs")" "$(q "SELECT run_id FROM load_cursors")" "--full stores the cursor of what it read"

settle
sb=$(stat items_raw) xb=$(q "SELECT string_agg(xmin::text, ',' ORDER BY item_id) FROM items_raw")
ml -c "$T/i.yaml" run
assert_eq 0 "$RC" "an incremental rerun ($OUT)"
assert_contains "$OUT" "1 rows unchanged in the warehouse, not written" "it counts the unchanged row"
settle
assert_eq "$sb" "$(stat items_raw)" "the rerun writes no row of items_raw (pg_stat_user_tables)"
assert_eq "$xb" "$(q "SELECT string_agg(xmin::text, ',' ORDER BY item_id) FROM items_raw")" "every row keeps its xmin"

# killed after every commit: the next run loses nothing
empty() { q "TRUNCATE items_raw, load_cursors, load_run_streams, load_rejects, load_run_leases, load_runs;
  INSERT INTO load_cursors VALUES ('items', '2024-01-01 06:00:00.000', 0, now() AT TIME ZONE 'UTC')" >/dev/null; }
state() { echo "$(q "SELECT string_agg(item_id || ':' || name || ':' || coalesce(updated_at::text, '-'), ' ' ORDER BY item_id) FROM items_raw") / $(cursor)"; }
sweep() { # sweep LABEL SORTED PATH
  local n=0 killed=0 bad=0 mid=0 ref c
  items_config "$T/k.yaml" "$API_PORT" "$2" "$3"
  empty
  ml -c "$T/k.yaml" run
  assert_eq 0 "$RC" "$1: undisturbed run from cursor 06:00 ($OUT)"
  ref=$(state)
  assert_contains "$ref" "/ 2024-01-01 11:30:00.000" "$1: the undisturbed run reaches 11:30"
  assert_eq 7 "$(q "SELECT count(*) FROM items_raw")" "$1: it loads the 7 records at or after 05:00"
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

# must fail: a cursor that is no value of its kind
empty
q "UPDATE load_cursors SET cursor_value = 'yesterday'" >/dev/null
ml -c "$T/k.yaml" run
assert_eq 1 "$RC" "must-fail: a stored cursor that is no datetime fails the run"
assert_contains "$OUT" "load_cursors holds 'yesterday' for stream 'items', which is no value of its cursor 'updatedAt'" "and names the stream and the value"
assert_eq 0 "$(q "SELECT count(*) FROM items_raw")" "and loads nothing"
assert_eq "failed" "$(q "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "the run is marked failed"
# must-fail companion: a cursor beyond unloaded records does skip them
# (what committing the cursor with its records prevents)
empty
q "UPDATE load_cursors SET cursor_value = '2024-01-01 11:30:00.000'" >/dev/null
ml -c "$T/k.yaml" run
assert_eq 1 "$(q "SELECT count(*) FROM items_raw")" "a too-new cursor would skip records (only 1 loaded)"
assert_contains "$(as_a "SELECT * FROM load_cursors")" "permission denied for table load_cursors" "the analyst cannot read load_cursors"
finish
