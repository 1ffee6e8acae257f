#!/usr/bin/env bash
# Schema evolution: `init` after a mapping change, `plan`, and `run` against
# tables that do not match their mapping. One stream (items), defined by a
# mapping file in this test's directory and served by a second fixture API:
#  1. plan on an empty server shows the CREATEs and creates nothing; init +
#     run load the items; `check` counts no view (every monitoring view reads
#     a table this config does not create, so init skipped them all) and
#     does not fail;
#  2. the mapping gains a nullable column and widens a varchar and a
#     decimal: plan shows exactly one ALTER (and no statement that would
#     change nothing) and changes nothing (CHECKSUM TABLE, columns); init
#     applies it and keeps every row (count and digest of the old columns);
#     plan and init again change nothing; run fills the new column;
#  3. refused, exit 2 naming file:line:col, table, column, old and new type,
#     every table byte-identical (its checksum): bigint -> date
#     (incompatible), varchar(64) -> varchar(32) (narrowing), a new required
#     column on a table with rows, a changed key, and under `schema: freeze`
#     a widening;
#  4. columns removed from the mapping stay with their data (init says so);
#     one that was required becomes nullable, so that run can load without it;
#  5. run against a table that lacks a column (mapping edited, init not run)
#     exits 2 with "run `maskload init` to apply: ..." before any request
#     reaches the API; after init it loads.
# On both warehouses: the plan's statements are each dialect's (MySQL's
# ALTER TABLE ... MODIFY/AFTER, PostgreSQL's ALTER COLUMN ... TYPE, a new
# column last, DROP NOT NULL), the refusals and their messages the same.
. "$(dirname "$0")/lib.sh"
DB=it_schema_evolve
q() { sql_admin "$DB" "$1"; }
checksum() { wh_checksum "$DB" items_raw; }
# columns: name type nullable comment, in table order (the type as the
# catalog spells it: mysql COLUMN_TYPE, postgres format_type)
columns() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    q "SELECT string_agg(concat_ws(':', attname, format_type(atttypid, atttypmod),
       CASE WHEN attnotnull THEN 'NO' ELSE 'YES' END, coalesce(col_description(attrelid, attnum), '')), ' ' ORDER BY attnum)
       FROM pg_attribute WHERE attrelid = 'maskload.items_raw'::regclass AND attnum > 0 AND NOT attisdropped"
  else
    q "SELECT GROUP_CONCAT(CONCAT_WS(':', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_COMMENT)
       ORDER BY ORDINAL_POSITION SEPARATOR ' ') FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='items_raw'"
  fi
}
# digest of the columns the first mapping had, every row, in key order
old_digest() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    q "SELECT count(*) || ' ' || md5(string_agg(concat_ws('|', quote_nullable(item_id), quote_nullable(label),
       quote_nullable(price), quote_nullable(qty), quote_nullable(sku), quote_nullable(legacy),
       quote_nullable(load_run_id), quote_nullable(loaded_at)), E'\\n' ORDER BY item_id)) FROM items_raw"
  else
    q "SELECT CONCAT(COUNT(*), ' ', SHA2(GROUP_CONCAT(CONCAT_WS('|', QUOTE(item_id), QUOTE(label),
       QUOTE(price), QUOTE(qty), QUOTE(sku), QUOTE(legacy), QUOTE(load_run_id), QUOTE(loaded_at))
       ORDER BY item_id SEPARATOR '\n'), 256)) FROM items_raw"
  fi
}
# plan: `maskload plan`; its stdout in $PLAN, everything in $OUT, status in $RC
plan() {
  set +e
  "$MASKLOAD_BIN" -c "$T/c.yaml" plan >"$T/plan.out" 2>"$T/plan.err"
  RC=$?
  set -e
  PLAN=$(cat "$T/plan.out")
  OUT="$PLAN
$(cat "$T/plan.err")"
}
# line:col of column NAME's declaration in mapping FILE (the '{' of its entry)
decl_of() { awk -v n="name: $2," 'index($0, n) { print NR ":" index($0, "{"); exit }' "$1"; }

mkdir -p "$T/api"
cat >"$T/api/items.json" <<'JSON'
[
{"id":1,"label":"first","color":"red","price":"12.50","qty":3,"sku":"A-1","legacy":10},
{"id":2,"label":"second","color":"blue","price":"0.99","qty":1,"sku":"A-2","legacy":20},
{"id":3,"label":"third","price":"100.00","qty":7,"sku":"A-3","legacy":30},
{"id":4,"label":"fourth","color":"green","price":"5.05","qty":2,"sku":"A-4","legacy":null},
{"id":5,"label":"fifth","color":"red","price":"99999999.99","qty":9,"sku":"A-5","legacy":50}
]
JSON
start_api "$T/api"
API="http://127.0.0.1:$API_PORT"

cat >"$T/c.yaml" <<YAML
$(config_head "$DB")
pii:
  digest_key_file: $MASKLOAD_DIGEST_KEY_FILE
load:
  batch_size: 2
sources:
  api:
    base_url: http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1
    page_size: 2
streams:
  items: { source: api, path: /items, mapping: items.yaml }
YAML

# mapping FILE [extra keys] [columns...]: the items mapping with these columns
mapping() {
  local file=$1 extra=$2
  shift 2
  {
    echo "table: items_raw"
    echo "description: items for the schema evolution test"
    echo "key: [item_id]"
    [ -z "$extra" ] || echo "$extra"
    echo "columns:"
    echo "  - { name: item_id, from: id, type: bigint, required: true, description: item id }"
    for c in "$@"; do echo "  - $c"; done
  } >"$file"
}
LABEL32='{ name: label, from: label, type: varchar(32), description: a label }'
LABEL64='{ name: label, from: label, type: varchar(64), description: a label }'
COLOR='{ name: color, from: color, type: varchar(16) }'
PRICE10='{ name: price, from: price, type: "decimal(10,2)" }'
PRICE12='{ name: price, from: price, type: "decimal(12,2)" }'
QTY='{ name: qty, from: qty, type: bigint }'
SKU='{ name: sku, from: sku, type: varchar(16), required: true }'
LEGACY='{ name: legacy, from: legacy, type: int }'
# v1, then v2: a new nullable column, a varchar and a decimal widened
mapping "$T/v1.yaml" "" "$LABEL32" "$PRICE10" "$QTY" "$SKU" "$LEGACY"
mapping "$T/v2.yaml" "" "$LABEL64" "$COLOR" "$PRICE12" "$QTY" "$SKU" "$LEGACY"
use() { cp "$T/$1.yaml" "$T/items.yaml"; }

# ---- 1. plan on an empty server, init, run ----
fresh_db "$DB"
use v1
plan
assert_eq 0 "$RC" "plan before the first init exits 0 ($OUT)"
assert_contains "$OUT" "$(wh_pick "CREATE DATABASE IF NOT EXISTS \`$DB\`" "CREATE DATABASE \"$DB\" ENCODING 'UTF8'")" "plan shows the database to create"
assert_contains "$OUT" "CREATE TABLE IF NOT EXISTS $(wh_q items_raw) (" "plan shows the stream table to create"
assert_contains "$OUT" "CREATE TABLE IF NOT EXISTS load_runs" "plan shows the ddl/ tables to create"
assert_contains "$OUT" "GRANT SELECT ON $(wh_q "$(wh_schema "$DB")").$(wh_q items_raw) TO" "plan shows the derived grants"
assert_contains "$OUT" "$(wh_pick "-- account 'maskload_loader'@'%'" "-- account '$(account loader "$DB")' (loader)")" "plan names the accounts"
assert_not_contains "$OUT" "$MASKLOAD_LOADER_PASSWORD" "plan never shows a password"
assert_not_contains "$OUT" "IDENTIFIED BY" "plan shows no account statement"
assert_eq "" "$(grep -v -e '^-- ' -e ';$' <<<"$PLAN" || true)" "every plan line is a statement ending in ';' or a '-- ' note"
assert_eq 0 "$(wh_db_exists "$DB")" "plan created no database"

ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
assert_contains "$OUT" "1 stream tables" "init reports the stream tables"
assert_contains "$OUT" "skipped)" "init reports the skipped views"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run loads the items ($OUT)"
assert_eq 5 "$(q "SELECT COUNT(*) FROM items_raw")" "5 items loaded"
ml -c "$T/c.yaml" check
assert_eq 0 "$RC" "check succeeds although init skipped every monitoring view ($OUT)"
assert_contains "$OUT" "0 of 0 views over threshold" "check counts no view that is not installed"
assert_contains "$OUT" "views not installed" "check says why views are missing"
plan
assert_eq 0 "$RC" "plan after init exits 0"
assert_eq "" "$(grep -e '^ALTER TABLE' -e '^CREATE TABLE' -e '^CREATE DATABASE' <<<"$PLAN" || true)" \
  "plan of an up-to-date database: no CREATE TABLE, no ALTER TABLE"

# ---- 2. new column, widenings: plan, init, run ----
sum1=$(checksum); cols1=$(columns); dig1=$(old_digest)
use v2
plan
assert_eq 0 "$RC" "plan of the widened mapping exits 0 ($OUT)"
assert_eq "$(wh_pick "ALTER TABLE \`items_raw\` MODIFY COLUMN \`label\` VARCHAR(64) NULL COMMENT 'a label', ADD COLUMN \`color\` VARCHAR(16) NULL AFTER \`label\`, MODIFY COLUMN \`price\` DECIMAL(12,2) NULL;" \
  'ALTER TABLE "items_raw" ALTER COLUMN "label" TYPE varchar(64), ADD COLUMN "color" varchar(16) NULL, ALTER COLUMN "price" TYPE numeric(12,2);')" \
  "$(grep '^ALTER TABLE' <<<"$PLAN")" "plan shows exactly the one ALTER"
assert_eq "" "$(grep -e '^CREATE TABLE' -e '^CREATE DATABASE' <<<"$PLAN" || true)" "and no CREATE of what exists"
assert_eq "$sum1" "$(checksum)" "plan changed no row (the table's checksum)"
assert_eq "$cols1" "$(columns)" "plan changed no column"

ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init applies the mapping change ($OUT)"
assert_contains "$OUT" "altered" "init says it altered the table"
assert_eq "$dig1" "$(old_digest)" "every existing row kept (count and digest of the old columns)"
assert_eq "$(wh_pick "item_id:bigint(20):NO:item id label:varchar(64):YES:a label color:varchar(16):YES: price:decimal(12,2):YES: qty:bigint(20):YES: sku:varchar(16):NO: legacy:int(11):YES: load_run_id:bigint(20) unsigned:NO:run that last changed this row (load_runs.run_id) loaded_at:datetime(3):NO:UTC time this row last changed" \
  "item_id:bigint:NO:item id label:character varying(64):YES:a label price:numeric(12,2):YES: qty:bigint:YES: sku:character varying(16):NO: legacy:integer:YES: load_run_id:bigint:NO:run that last changed this row (load_runs.run_id) loaded_at:timestamp(3) without time zone:NO:UTC time this row last changed color:character varying(16):YES:")" \
  "$(columns)" "the table has the new column (in place on MySQL, last on PostgreSQL) and the wider types"
assert_eq 0 "$(q "SELECT COUNT(*) FROM items_raw WHERE color IS NOT NULL")" "the new column is NULL until a run fills it"
sum2=$(checksum); cols2=$(columns)
plan
assert_eq "" "$(grep '^ALTER TABLE' <<<"$PLAN" || true)" "plan after init: nothing to alter"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "a second init"
assert_eq "$sum2 $cols2" "$(checksum) $(columns)" "a second init changes nothing"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run with the new mapping ($OUT)"
assert_eq "1:red 2:blue 3:NULL 4:green 5:red" \
  "$(q "SELECT $(wh_agg "CONCAT(item_id, ':', COALESCE(color, 'NULL'))" item_id ' ') FROM items_raw")" \
  "run fills the new column"
assert_eq "99999999.99" "$(q "SELECT price FROM items_raw WHERE item_id=5")" "the widened decimal keeps its value"

# ---- 3. refused changes: exit 2, nothing changed ----
sum3=$(checksum); cols3=$(columns)
# refused NAME DESCRIPTION NEEDLE... : init and plan exit 2 with every needle, nothing changed
refused() {
  local what=$1
  shift
  ml -c "$T/c.yaml" init
  assert_eq 2 "$RC" "$what: init exits 2"
  for n in "$@"; do assert_contains "$OUT" "$n" "$what: init says [$n]"; done
  local init_out=$OUT
  plan
  assert_eq 2 "$RC" "$what: plan exits 2"
  assert_eq "$(grep -o 'table .*nothing was changed)' <<<"$init_out")" \
    "$(grep -o 'table .*nothing was changed)' <<<"$OUT")" "$what: plan gives init's message"
  assert_eq "" "$PLAN" "$what: plan prints no statement"
  assert_eq "$sum3" "$(checksum)" "$what: the table's checksum identical"
  assert_eq "$cols3" "$(columns)" "$what: columns identical"
}
mapping "$T/v3.yaml" "" "$LABEL64" "$COLOR" "$PRICE12" '{ name: qty, from: qty, type: date }' "$SKU" "$LEGACY"
use v3
refused "bigint -> date" "$T/items.yaml:$(decl_of "$T/items.yaml" qty): table 'items_raw' column 'qty': bigint cannot become date (incompatible; nothing was changed)"
mapping "$T/v3.yaml" "" "$LABEL32" "$COLOR" "$PRICE12" "$QTY" "$SKU" "$LEGACY"
use v3
refused "varchar(64) -> varchar(32)" "$T/items.yaml:$(decl_of "$T/items.yaml" label): table 'items_raw' column 'label': varchar(64) cannot become varchar(32) (narrowing; nothing was changed)"
mapping "$T/v3.yaml" "" "$LABEL64" "$COLOR" '{ name: price, from: price, type: "decimal(11,3)" }' "$QTY" "$SKU" "$LEGACY"
use v3
refused "decimal(12,2) -> decimal(11,3)" "table 'items_raw' column 'price': decimal(12,2) cannot become decimal(11,3) (incompatible"
mapping "$T/v3.yaml" "" "$LABEL64" "$COLOR" "$PRICE12" "$QTY" "$SKU" "$LEGACY" '{ name: weight, from: weight, type: int, required: true }'
use v3
refused "a new required column" "$T/items.yaml:$(decl_of "$T/items.yaml" weight): table 'items_raw' cannot get the new required (NOT NULL) column 'weight' while it has rows"
mapping "$T/v3.yaml" "" "$LABEL64" '{ name: color, from: color, type: varchar(16), required: true }' "$PRICE12" "$QTY" "$SKU" "$LEGACY"
use v3
refused "a column becoming required" "table 'items_raw' column 'color': a nullable column cannot become required (NOT NULL) while the table has rows"
cat >"$T/v3.yaml" <<'YAML'
table: items_raw
description: items for the schema evolution test
key: [item_id, label]
columns:
  - { name: item_id, from: id, type: bigint, required: true, description: item id }
  - { name: label, from: label, type: varchar(64), required: true, description: a label }
  - { name: color, from: color, type: varchar(16) }
  - { name: price, from: price, type: "decimal(12,2)" }
  - { name: qty, from: qty, type: bigint }
  - { name: sku, from: sku, type: varchar(16), required: true }
  - { name: legacy, from: legacy, type: int }
YAML
use v3
refused "a changed key" "table 'items_raw': primary key (item_id) cannot become (item_id,label) (incompatible"
mapping "$T/v3.yaml" "schema: freeze" '{ name: label, from: label, type: varchar(128), description: a label }' "$COLOR" "$PRICE12" "$QTY" "$SKU" "$LEGACY"
use v3
refused "schema: freeze with a widening" "$T/items.yaml:$(decl_of "$T/items.yaml" label): table 'items_raw' column 'label' is varchar(64), the mapping says varchar(128) (schema: freeze; nothing was changed)"
mapping "$T/v3.yaml" "schema: freeze" "$LABEL64" "$COLOR" "$PRICE12" "$QTY" "$SKU" "$LEGACY"
use v3
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "schema: freeze with no difference: init succeeds ($OUT)"
assert_eq "$sum3 $cols3" "$(checksum) $(columns)" "and changes nothing"

# ---- 4. columns removed from the mapping stay ----
mapping "$T/v4.yaml" "" "$LABEL64" "$COLOR" "$PRICE12" "$QTY"
use v4
plan
assert_eq 0 "$RC" "plan with columns removed ($OUT)"
assert_eq "$(wh_pick "ALTER TABLE \`items_raw\` MODIFY COLUMN \`sku\` varchar(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL;" \
  'ALTER TABLE "items_raw" ALTER COLUMN "sku" DROP NOT NULL;')" \
  "$(grep '^ALTER TABLE' <<<"$PLAN")" "plan: the removed required column becomes nullable, nothing is dropped"
assert_contains "$OUT" "-- table 'items_raw' keeps column 'legacy', which the mapping no longer declares" "plan says legacy stays"
assert_eq "$sum3 $cols3" "$(checksum) $(columns)" "plan changed nothing"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init with columns removed ($OUT)"
assert_contains "$OUT" "table 'items_raw' keeps column 'legacy', which the mapping no longer declares" "init says legacy stays"
assert_contains "$OUT" "table 'items_raw' keeps column 'sku', which the mapping no longer declares" "init says sku stays"
assert_not_contains "$OUT" "DROP" "nothing is dropped"
assert_eq "A-1,A-2,A-3,A-4,A-5	10,20,30,50 YES" "$(q "SELECT $(wh_agg sku item_id), $(wh_agg legacy item_id) FROM items_raw") $(q "SELECT IS_NULLABLE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$(wh_schema "$DB")' AND TABLE_NAME='items_raw' AND COLUMN_NAME='sku'")" \
  "the removed columns keep their data; sku is now nullable"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run without the removed columns ($OUT)"
assert_eq "5 5 4" "$(q "SELECT COUNT(*), COUNT(sku), COUNT(legacy) FROM items_raw" | tr '\t' ' ')" \
  "run leaves the kept columns as they were"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init again with the columns kept"
assert_contains "$OUT" "keeps column 'legacy'" "init says so every time"

# ---- 5. run against a table that does not match its mapping ----
mapping "$T/v5.yaml" "" "$LABEL64" "$COLOR" "$PRICE12" "$QTY" '{ name: size_cm, from: size, type: int }'
use v5
runs_before=$(q "SELECT COUNT(*) FROM load_runs")
sum5=$(checksum)
curl -sf -X DELETE "$API/__requests" >/dev/null
ml -c "$T/c.yaml" run
assert_eq 2 "$RC" "run against a table lacking a column exits 2"
assert_contains "$OUT" "run \`maskload init\` to apply: table 'items_raw' lacks column 'size_cm'" "run says what to do and what is missing"
assert_eq 0 "$(curl -sf "$API/__requests?path=/items" | jq -r .count)" "no request reached the API"
assert_eq "$sum5" "$(checksum)" "run changed no row"
assert_eq "failed" "$(q "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "the run is recorded as failed"
assert_eq "$((runs_before + 1))" "$(q "SELECT COUNT(*) FROM load_runs")" "one run recorded"
mapping "$T/v5.yaml" "" '{ name: label, from: label, type: varchar(100), description: a label }' "$COLOR" "$PRICE12" "$QTY"
use v5
ml -c "$T/c.yaml" run
assert_eq 2 "$RC" "run against a table with a type the mapping widened exits 2"
assert_contains "$OUT" "run \`maskload init\` to apply: table 'items_raw' column 'label' is varchar(64), the mapping says varchar(100)" "run names the type difference"
assert_eq 0 "$(curl -sf "$API/__requests?path=/items" | jq -r .count)" "still no request reached the API"
mapping "$T/v5.yaml" "" "$LABEL64" "$COLOR" "$PRICE12" "$QTY" '{ name: size_cm, from: size, type: int }'
use v5
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init applies the new column ($OUT)"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "then run loads ($OUT)"
assert_eq 5 "$(q "SELECT COUNT(*) FROM items_raw")" "still 5 items"
ml -c "$T/c.yaml" run --stream items; assert_eq 0 "$RC" "run --stream checks that stream's tables"
finish
