#!/usr/bin/env bash
# History (`history: scd2`): a stream whose source is a full daily snapshot
# keeps every version of every row. tests/fixtures/purchases holds the
# PURCHASES table of a transactional database, one snapshot per day
# (today's, tomorrow's: one row changed, one added; a third day: one
# purchase deleted), read by a `kind: file` source.
#  1. init creates the history table (versions, key (purchase_id, version)),
#     the view purchases_current and the monitor monitor_purchases_history;
#  2. day 1 then day 2 give exactly the versions the two snapshots imply;
#     day 3 closes the deleted purchase (valid_to, deleted = 1; no
#     tombstone row); a rerun of day 3 at a later as-of changes nothing
#     (CHECKSUM TABLE); the purchase coming back gets version 2;
#  3. must fail: an as-of older than the latest (exit 2, nothing written);
#     a malformed as-of and --rebuild-history (exit 2);
#  4. a record without its key is a reject: no version for it, and no
#     other key is closed as deleted on that run; rerun: nothing new;
#  5. a compound key ('1','23') vs ('12','3'): two keys, not one (a key
#     compared as a concatenated string would collide);
#  6. adding a nullable column to the mapping: plan shows the ALTER (with
#     PostgreSQL also the drop of init's views over the table, created
#     again), run refuses to load before init (exit 2), init applies it,
#     the analyst reads it; a load re-versions
#     nothing; must fail (exit 2, nothing changed): narrowing it; with
#     PostgreSQL, retyping it under a view that is not init's; a widening
#     is applied;
#  7. the analyst reads the table and purchases_current, not the snapshot
#     table; `check` counts the monitor: 0, then (a row corrupted as admin)
#     the violation, exit 3;
#  8. a run killed after its first batch committed leaves the history as it
#     was; the rerun applies the snapshot once; an empty snapshot deletes
#     nothing;
#  9. must fail (exit 2, file:line:column): an unknown history mode, a
#     column named like a history column, history with exactly_once or
#     with child tables.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh): the
# catalog through wh_* helpers.
. "$(dirname "$0")/lib.sh"
FIX="$SOURCE_DIR/tests/fixtures/purchases"
DB=it_history
q() { sql_admin "$DB" "$1"; }
analyst() { as_analyst "$DB" "$1"; }
fresh_db "$DB"
cp "$FIX/purchases.yaml" "$T/purchases.yaml"
# snapshot DAY: that day's snapshot as JSON Lines, so that it is read in
# pages of 2 records, each its own batch (batch_size 2)
snapshot() { jq -c '.[]' "$FIX/$1.json" >"$T/snapshot.json"; }
cat >"$T/pairs.json" <<'JSON'
[ {"a": "1", "b": "23", "v": "first"}, {"a": "12", "b": "3", "v": "second"} ]
JSON
cat >"$T/c.yaml" <<YAML
$(config_head "$DB")
$(pii_section)
load: { batch_size: 2 }
sources:
  snap: { kind: file, path: snapshot.json, page_size: 2 }
  pairs_file: { kind: file, path: pairs.json }
streams:
  purchases: { source: snap, mapping: purchases.yaml }
  pairs:
    source: pairs_file
    table: pairs
    key: [a, b]
    history: scd2
    columns:
      - { name: a, from: a, type: varchar(8), required: true }
      - { name: b, from: b, type: varchar(8), required: true }
      - { name: v, from: v, type: varchar(16) }
YAML
C="$T/c.yaml"
# the booleans is_current and deleted as 1/0, and their literals, in either dialect
ib() { wh_pick "$1" "$1::int"; }
T1=$(wh_pick 1 true) T0=$(wh_pick 0 false)
# versions: one line per version, in key and version order
versions() {
  q "SELECT purchase_id, version, product, user_id, purchase_date, CAST(valid_from AS DATE),
       COALESCE(CAST(CAST(valid_to AS DATE) AS CHAR(10)), '-'), $(ib is_current), $(ib deleted)
     FROM purchases ORDER BY purchase_id, version" | tr '\t' ' '
}
checksum() { wh_checksum "$DB" "$1"; }

# 1. init
snapshot day1
ml -c "$C" init; assert_eq 0 "$RC" "init ($OUT)"
assert_eq "purchase_id,version" \
  "$(wh_pk "$DB" purchases)" \
  "the history table's primary key is (key, version)"
assert_eq "purchase_id product user_id purchase_date load_run_id loaded_at valid_from valid_to version is_current deleted row_hash" \
  "$(wh_columns "$DB" purchases | paste -sd' ' -)" \
  "the history columns follow the mapped ones"
assert_eq "$(wh_pick "binary(32)" bytea) YES" "$(wh_column_type "$DB" purchases row_hash) $(wh_cols "$DB" purchases | awk '$1 == "valid_to" { print $NF }')" \
  "row_hash is BINARY(32), valid_to nullable"
assert_eq "2" "$(wh_views "$DB" | grep -cxE 'purchases_current|monitor_purchases_history')" \
  "init installs the current view and the history monitor"

# 2. today, tomorrow, the day after
ml -c "$C" run --stream purchases --as-of 2024-01-01T00:00:00Z; assert_eq 0 "$RC" "day 1 ($OUT)"
assert_eq "1002313002 1 13 1003432 2021-06-19 2024-01-01 - 1 0
1002313003 1 12 1003431 2022-05-20 2024-01-01 - 1 0
1002313004 1 14 1003433 2023-07-21 2024-01-01 - 1 0" "$(versions)" "day 1: version 1 of each purchase"
snapshot day2
ml -c "$C" run --stream purchases --as-of 2024-01-02T00:00:00Z; assert_eq 0 "$RC" "day 2 ($OUT)"
assert_eq "1002313002 1 13 1003432 2021-06-19 2024-01-01 - 1 0
1002313003 1 12 1003431 2022-05-20 2024-01-01 - 1 0
1002313004 1 14 1003433 2023-07-21 2024-01-01 2024-01-02 0 0
1002313004 2 10 1003433 2023-07-22 2024-01-02 - 1 0
1002313005 1 15 1003434 2023-07-22 2024-01-02 - 1 0" "$(versions)" \
  "day 2: the changed purchase closed and reopened as version 2, the new one version 1, the rest untouched"
assert_contains "$OUT" "2 versions opened, 1 closed as changed, 0 closed as deleted" "the run says what it did"
# the row hash is the documented encoding: per non-NULL non-key column
# <len(name)>:<name>:<type tag>:<len(value)>:<value>, SHA-256
want=$(printf '%s' "7:product:i:2:127:user_id:i:7:100343113:purchase_date:d:10:2022-05-20" | sha256sum | cut -d' ' -f1)
assert_eq "$want" "$(q "SELECT $(wh_pick 'LOWER(HEX(row_hash))' "encode(row_hash, 'hex')") FROM purchases WHERE purchase_id=1002313003")" "row_hash is SHA-256 of the typed encoding"
snapshot day3
ml -c "$C" run --stream purchases --as-of 2024-01-03T00:00:00Z; assert_eq 0 "$RC" "day 3 ($OUT)"
assert_eq "1002313002 1 13 1003432 2021-06-19 2024-01-01 2024-01-03 0 1
1002313003 1 12 1003431 2022-05-20 2024-01-01 - 1 0
1002313004 1 14 1003433 2023-07-21 2024-01-01 2024-01-02 0 0
1002313004 2 10 1003433 2023-07-22 2024-01-02 - 1 0
1002313005 1 15 1003434 2023-07-22 2024-01-02 - 1 0" "$(versions)" \
  "day 3: the deleted purchase's version is closed and marked deleted, no row added"
before=$(checksum purchases)
ml -c "$C" run --stream purchases --as-of 2024-01-03T00:00:00Z; assert_eq 0 "$RC" "day 3 again at the same as-of ($OUT)"
ml -c "$C" run --stream purchases --as-of 2024-01-04T00:00:00Z; assert_eq 0 "$RC" "day 3 again a day later ($OUT)"
ml -c "$C" run --stream purchases; assert_eq 0 "$RC" "day 3 again as of the run's start ($OUT)"
assert_eq "$before" "$(checksum purchases)" "rerunning the same snapshot changes nothing (CHECKSUM TABLE)"
assert_eq 5 "$(q 'SELECT COUNT(*) FROM purchases')" "still five versions"

# 3. must fail: older as-of, malformed as-of, --rebuild-history
ml -c "$C" run --stream purchases --as-of 2024-01-02T12:00:00Z; assert_eq 2 "$RC" "an as-of older than the latest is refused (exit 2)"
assert_contains "$OUT" "older than the history's latest change" "and says why"
for bad in 2024-01-05 2024-01-05T00:00:00 2024-01-05T00:00:00+01:00 2024-02-30T00:00:00Z 2024-01-05T24:00:00Z " 2024-01-05T00:00:00Z"; do
  ml -c "$C" run --stream purchases --as-of "$bad"; assert_eq 2 "$RC" "as-of '$bad' is refused (exit 2)"
done
assert_contains "$OUT" "is not a UTC time" "a malformed as-of is named"
ml -c "$C" run --stream purchases --as-of 2024-01-01T00:00:00Z --rebuild-history; assert_eq 2 "$RC" "--rebuild-history is refused (exit 2)"
assert_contains "$OUT" "snapshots are not kept" "and says why"
assert_eq "$before" "$(checksum purchases)" "the refused runs wrote nothing"
# the deleted purchase comes back: a new version
snapshot day2
ml -c "$C" run --stream purchases --as-of 2024-01-05T00:00:00Z; assert_eq 0 "$RC" "day 2's snapshot again ($OUT)"
assert_eq "1002313002 2 13 1003432 2021-06-19 2024-01-05 - 1 0" "$(versions | grep '^1002313002 2 ')" \
  "a purchase that comes back gets a new version"
assert_eq 6 "$(q 'SELECT COUNT(*) FROM purchases')" "and nothing else changed"

# 4. a record without its key: a reject, never a version
jq 'map(select(.PurchaseID != 1002313003)) + [{"PurchaseID": null, "product": 99, "user": 1, "date": "2024-01-01"}, {"product": 98}]' \
  "$FIX/day2.json" >"$T/snapshot.json"
before=$(checksum purchases)
ml -c "$C" run --stream purchases --as-of 2024-01-06T00:00:00Z; assert_eq 0 "$RC" "a snapshot with keyless records ($OUT)"
assert_eq 2 "$(q "SELECT COUNT(*) FROM load_rejects WHERE stream='purchases' AND run_id=(SELECT MAX(run_id) FROM load_runs)")" "both keyless records are rejects"
assert_contains "$OUT" "the snapshot had rejected records: no key was closed as deleted" "deletions are held back on a run with rejects"
assert_eq "$before" "$(checksum purchases)" "no version for a NULL key, and 1002313003 (absent) is not closed"
ml -c "$C" run --stream purchases --as-of 2024-01-07T00:00:00Z; assert_eq 0 "$RC" "rerun ($OUT)"
assert_eq "$before" "$(checksum purchases)" "a NULL key does not create a version per run"

# 5. compound key: ('1','23') and ('12','3') are two keys
ml -c "$C" run --stream pairs --as-of 2024-01-01T00:00:00Z; assert_eq 0 "$RC" "pairs ($OUT)"
assert_eq "1 23 1 first
12 3 1 second" "$(q 'SELECT a, b, version, v FROM pairs ORDER BY a, b' | tr '\t' ' ')" "two keys, one version each"
cat >"$T/pairs.json" <<'JSON'
[ {"a": "1", "b": "23", "v": "changed"}, {"a": "12", "b": "3", "v": "second"} ]
JSON
ml -c "$C" run --stream pairs --as-of 2024-01-02T00:00:00Z; assert_eq 0 "$RC" "pairs, one changed ($OUT)"
assert_eq "1 23 1 first 0
1 23 2 changed 1
12 3 1 second 1" "$(q "SELECT a, b, version, v, $(ib is_current) FROM pairs ORDER BY a, b, version" | tr '\t' ' ')" \
  "only ('1','23') gets a version 2"
# must fail: a changed snapshot at the as-of its version began at (an empty interval)
before=$(checksum pairs)
sed -i 's/"changed"/"changed again"/' "$T/pairs.json"
ml -c "$C" run --stream pairs --as-of 2024-01-02T00:00:00Z; assert_eq 2 "$RC" "a change at the as-of the current version began at is refused (exit 2)"
assert_contains "$OUT" "use a later --as-of" "and says what to do"
assert_eq "$before" "$(checksum pairs)" "and rolled back"
# NULL in a non-key column vs the value moved to another column: different hashes
cat >"$T/pairs.json" <<'JSON'
[ {"a": "1", "b": "23", "v": "changed"}, {"a": "12", "b": "3", "v": null} ]
JSON
ml -c "$C" run --stream pairs --as-of 2024-01-03T00:00:00Z; assert_eq 0 "$RC" "pairs, a value becomes NULL ($OUT)"
assert_eq "2 -" "$(q "SELECT version, COALESCE(v, '-') FROM pairs WHERE a='12' AND is_current=$T1" | tr '\t' ' ')" "a value that becomes NULL is a change"
before=$(checksum pairs)
ml -c "$C" run --stream pairs --as-of 2024-01-04T00:00:00Z; assert_eq 0 "$RC" "pairs rerun ($OUT)"
assert_eq "$before" "$(checksum pairs)" "a NULL value does not re-version on a rerun"
assert_eq 4 "$(q 'SELECT COUNT(*) FROM pairs')" "four versions"

# 6. a new nullable column re-versions nothing
snapshot day3
ml -c "$C" run --stream purchases --as-of 2024-01-08T00:00:00Z; assert_eq 0 "$RC" "day 3 ($OUT)"
n_before=$(q "SELECT COUNT(*), MAX(version), SUM($(ib is_current)) FROM purchases")
cat >>"$T/purchases.yaml" <<'EOF'
  - { name: channel, from: channel, type: varchar(16), description: sales channel (new) }
EOF
ml -c "$C" plan; assert_eq 0 "$RC" "plan after the mapping gained a column ($OUT)"
assert_contains "$OUT" "$(wh_pick \
  "ALTER TABLE \`purchases\` ADD COLUMN \`channel\` VARCHAR(16) NULL COMMENT 'sales channel (new)' AFTER \`purchase_date\`;" \
  "ALTER TABLE \"purchases\" ADD COLUMN \"channel\" varchar(16) NULL;")" "plan shows the ALTER init runs"
if [ "$IT_WAREHOUSE" = postgres ]; then
  assert_contains "$OUT" "COMMENT ON COLUMN \"purchases\".\"channel\" IS 'sales channel (new)';" "and the new column's COMMENT"
  assert_contains "$OUT" 'DROP VIEW IF EXISTS "monitor_purchases_history", "purchases_current"' \
    "and the drop of init's views over the table, which it then creates again"
fi
assert_eq 0 "$(wh_columns "$DB" purchases | grep -cx channel)" "plan changed nothing"
ml -c "$C" run --stream purchases --as-of 2024-01-08T12:00:00Z; assert_eq 2 "$RC" "run before init is refused (exit 2)"
assert_contains "$OUT" "run \`maskload init\` to apply: table 'purchases' lacks column 'channel'" "and says what to do"
assert_eq "$n_before" "$(q "SELECT COUNT(*), MAX(version), SUM($(ib is_current)) FROM purchases")" "and wrote no version"
ml -c "$C" init; assert_eq 0 "$RC" "init adds the column ($OUT)"
assert_eq 1 "$(wh_columns "$DB" purchases | grep -cx channel)" "the column is there"
assert_eq "$n_before" "$(q "SELECT COUNT(*), MAX(version), SUM($(ib is_current)) FROM purchases")" "init kept every row"
assert_eq "$(wh_pick varchar character)(16) YES" "$(wh_column_type "$DB" purchases channel | sed 's/ varying//') $(wh_cols "$DB" purchases | awk '$1 == "channel" { print $NF }')" \
  "the new column is nullable and typed as the mapping says"
assert_eq "0" "$(analyst 'SELECT COUNT(channel) FROM purchases_current')" \
  "the analyst reads the new column, in the table's current view too"
ml -c "$C" plan; assert_eq 0 "$RC" "plan after init ($OUT)"
assert_not_contains "$OUT" "ALTER TABLE" "has nothing left to alter"
ml -c "$C" run --stream purchases --as-of 2024-01-09T00:00:00Z; assert_eq 0 "$RC" "run after the new column ($OUT)"
assert_eq "$n_before" "$(q "SELECT COUNT(*), MAX(version), SUM($(ib is_current)) FROM purchases")" "no row re-versioned by the new column"
assert_eq "$want" "$(q "SELECT $(wh_pick 'LOWER(HEX(row_hash))' "encode(row_hash, 'hex')") FROM purchases WHERE purchase_id=1002313003 AND is_current=$T1")" "a NULL in the new column leaves the hash as it was"
assert_contains "$OUT" "0 versions opened, 0 closed as changed, 0 closed as deleted" "the merge found nothing to do"
# a value in the new column is a change
jq 'map(if .PurchaseID == 1002313005 then . + {"channel": "web"} else . end)' "$FIX/day3.json" >"$T/snapshot.json"
ml -c "$C" run --stream purchases --as-of 2024-01-10T00:00:00Z; assert_eq 0 "$RC" "a value in the new column ($OUT)"
assert_eq "2 web" "$(q "SELECT version, channel FROM purchases WHERE purchase_id=1002313005 AND is_current=$T1" | tr '\t' ' ')" "is a new version"
# must fail: a narrowing of the new column (exit 2, table and column named, nothing changed)
before=$(checksum purchases)
type_before=$(wh_column_type "$DB" purchases channel)
sed -i 's/type: varchar(16), description: sales channel/type: varchar(8), description: sales channel/' "$T/purchases.yaml"
for cmd in plan init; do
  ml -c "$C" $cmd; assert_eq 2 "$RC" "$cmd: narrowing channel to varchar(8) is refused (exit 2)"
  assert_contains "$OUT" "table 'purchases' column 'channel': varchar(16) cannot become varchar(8) (narrowing; nothing was changed)" \
    "$cmd names the table, the column and both types"
  assert_contains "$OUT" "purchases.yaml:" "$cmd names the mapping file"
done
assert_eq "$type_before" "$(wh_column_type "$DB" purchases channel)" "the column kept its type"
assert_eq "$before" "$(checksum purchases)" "and its rows"
assert_eq "2" "$(wh_views "$DB" | grep -cxE 'purchases_current|monitor_purchases_history')" "and the views over it are there"
# a widening is applied; with PostgreSQL, which cannot retype a column a
# view reads, only while every view over the table is init's (it drops and
# creates them again)
sed -i 's/type: varchar(8), description: sales channel/type: varchar(32), description: sales channel/' "$T/purchases.yaml"
if [ "$IT_WAREHOUSE" = postgres ]; then
  q "CREATE VIEW my_channels AS SELECT channel FROM purchases_current"
  ml -c "$C" init; assert_eq 2 "$RC" "init refuses to retype a column under a view that is not its own (exit 2)"
  assert_contains "$OUT" "table 'purchases' (" "naming the table"
  assert_contains "$OUT" "purchases.yaml): to change the type of column 'channel', init drops and creates again the views over it, and view 'maskload.my_channels' is not one of init's" \
    "the column and the view"
  assert_eq "$type_before" "$(wh_column_type "$DB" purchases channel)" "nothing was changed"
  assert_eq "3" "$(wh_views "$DB" | grep -cxE 'purchases_current|monitor_purchases_history|my_channels')" "not even the views"
  q "DROP VIEW my_channels"
fi
ml -c "$C" init; assert_eq 0 "$RC" "init widens channel to varchar(32) ($OUT)"
assert_eq "$(wh_pick varchar character)(32)" "$(wh_column_type "$DB" purchases channel | sed 's/ varying//')" "the column is widened"
assert_eq "$before" "$(checksum purchases)" "its rows unchanged"
assert_eq "web" "$(analyst "SELECT channel FROM purchases_current WHERE purchase_id=1002313005")" "the analyst reads it through the current view created again"

# 7. analyst, views, monitor
assert_eq 3 "$(analyst 'SELECT COUNT(*) FROM purchases_current')" "the analyst reads the current view: one row per live key"
assert_eq "purchase_id product user_id purchase_date channel valid_from" \
  "$(wh_columns "$DB" purchases_current | paste -sd' ' -)" \
  "the current view has the mapped columns and valid_from only"
assert_eq "$(q 'SELECT COUNT(*) FROM purchases')" "$(analyst 'SELECT COUNT(*) FROM purchases')" "the analyst reads the history table"
ml -c "$C" check; assert_eq 0 "$RC" "check passes ($OUT)"
assert_contains "$OUT" "monitor_purchases_history" "check counts the history monitor"
assert_eq 0 "$(analyst 'SELECT COUNT(*) FROM monitor_purchases_history')" "no violation"
q "UPDATE purchases SET is_current=$T1 WHERE purchase_id=1002313004 AND version=1"
assert_eq "1002313004 1 is_current disagrees with valid_to or deleted
1002313004 2 more than one current version" "$(analyst 'SELECT purchase_id, version, problem FROM monitor_purchases_history ORDER BY 1, 2, 3' | tr '\t' ' ')" \
  "a corrupted row shows in the monitor"
ml -c "$C" check; assert_eq 3 "$RC" "check fails on it (exit 3)"
q "UPDATE purchases SET is_current=$T0 WHERE purchase_id=1002313004 AND version=1"
q "UPDATE purchases SET valid_from='2024-01-01 12:00:00' WHERE purchase_id=1002313004 AND version=2"
assert_contains "$(analyst 'SELECT problem FROM monitor_purchases_history')" "gap or overlap with the previous version" "a gap shows"
q "UPDATE purchases SET valid_from='2024-01-02' WHERE purchase_id=1002313004 AND version=2"
q "UPDATE purchases SET valid_to=valid_from WHERE purchase_id=1002313002 AND version=1"
assert_contains "$(analyst 'SELECT problem FROM monitor_purchases_history')" "valid_from not before valid_to" "an empty interval shows"
q "UPDATE purchases SET valid_to='2024-01-03' WHERE purchase_id=1002313002 AND version=1"
assert_eq 0 "$(analyst 'SELECT COUNT(*) FROM monitor_purchases_history')" "repaired: no violation"
out=$(analyst 'SELECT COUNT(*) FROM load_snapshot_purchases' || true)
assert_contains "$out" "ERROR" "the analyst has no snapshot table"

# 8. killed after the first batch: the history is untouched; the rerun merges once
snapshot day1
before=$(checksum purchases)
MASKLOAD_TEST_KILL_AT=commit:2 ml -c "$C" run --stream purchases --as-of 2024-01-11T00:00:00Z
assert_eq 137 "$RC" "the run was killed ($OUT)"
assert_eq 2 "$(q "SELECT loaded FROM load_run_streams WHERE stream='purchases' AND run_id=(SELECT MAX(run_id) FROM load_runs)")" \
  "after its first batch (two records) committed"
assert_eq "$before" "$(checksum purchases)" "a killed run leaves the history as it was"
ml -c "$C" run --stream purchases --as-of 2024-01-11T00:00:00Z; assert_eq 0 "$RC" "the rerun ($OUT)"
assert_contains "$OUT" "closed as changed" "applies the snapshot"
after=$(checksum purchases)
ml -c "$C" run --stream purchases --as-of 2024-01-12T00:00:00Z; assert_eq 0 "$RC" "once more ($OUT)"
assert_eq "$after" "$(checksum purchases)" "and only once"
assert_eq "1002313002 1002313003 1002313004" "$(q "SELECT $(wh_agg purchase_id purchase_id ' ') FROM purchases_current")" \
  "the current view holds day 1's purchases"
assert_eq "0 1" "$(q "SELECT $(ib is_current), $(ib deleted) FROM purchases WHERE purchase_id=1002313005 ORDER BY version DESC LIMIT 1" | tr '\t' ' ')" \
  "and the purchase day 1 lacks is closed as deleted"
# an empty snapshot closes nothing as deleted
after=$(checksum purchases)
echo '[]' >"$T/snapshot.json"
ml -c "$C" run --stream purchases --as-of 2024-01-13T00:00:00Z; assert_eq 0 "$RC" "an empty snapshot ($OUT)"
assert_contains "$OUT" "the snapshot was empty: no key was closed as deleted" "is not taken for the deletion of every key"
assert_eq "$after" "$(checksum purchases)" "and changes nothing"

# 9. must fail: the mapping's history rules (exit 2, file:line:column)
bad_config() {
  cat >"$T/bad.yaml" <<YAML
$(config_head "$DB")
$(pii_section)
sources:
  snap: { kind: file, path: snapshot.json }
streams:
  bad:
    source: snap
    table: bad_history
    key: [id]
$1
    columns:
      - { name: id, from: id, type: bigint, required: true }
${2:-}
YAML
  ml -c "$T/bad.yaml" plan
}
bad_config "    history: scd3"
assert_eq 2 "$RC" "an unknown history mode is refused"; assert_contains "$OUT" "none or scd2" "naming the choices"
assert_contains "$OUT" "bad.yaml:" "with the file"
bad_config "    history: scd2" "      - { name: valid_from, from: vf, type: datetime }"
assert_eq 2 "$RC" "a column named like a history column is refused"; assert_contains "$OUT" "name of a history column" "and says why"
bad_config "    history: scd2
    exactly_once: true"
assert_eq 2 "$RC" "history with exactly_once is refused"; assert_contains "$OUT" "cannot be combined with exactly_once" "and says why"
bad_config "    history: scd2
    children:
      - { table: bad_children, from: items, position: pos, columns: [ { name: x, from: x, type: int } ] }"
assert_eq 2 "$RC" "history with child tables is refused"; assert_contains "$OUT" "cannot have child tables" "and says why"
finish
