#!/usr/bin/env bash
# Partitioned event tables and retention, on a clock the test sets
# (MASKLOAD_TEST_NOW): a file-source event stream declaring
# `partition: { column: created_at, by: month, ahead: 3 }` and
# `retention: 400d`. init creates p_past, one partition per month from the
# month of now - 400d to three months ahead, and p_future; rows land in the
# partition of their month; moving the clock on, run adds the months ahead
# and drops exactly the partitions wholly older than now - 400d, recording
# each in load_partition_drops, and leaves the kept rows alone; a rerun
# changes nothing; a late record older than retention is loaded into p_past
# and dropped by the same run. Must fail: bad declarations exit 2 with
# file:line:col; a table that exists unpartitioned is refused; the loader
# may ALTER/DROP the partitioned table only.
# With PostgreSQL (@pg) the same, declaratively: one DEFAULT partition
# (events_raw_p_default) stands for p_past and p_future, each period is a
# table events_raw_<name>; rows the DEFAULT partition holds move into a new
# period's partition; the loader role owns the table and its partitions;
# the analyst reads the table, never a partition (whatever default
# privileges say).
. "$(dirname "$0")/lib.sh"
DB=it_partition
fresh_db "$DB"
q() { sql_admin "$DB" "$1"; }
PG_BOUND="pg_get_expr(c.relpartbound, c.oid)"
PG_PARTS="pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'maskload.events_raw'::regclass"
# parts: the partitions in order (postgres: the periods by their start, named
# as MySQL's, then p_default)
parts() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    q "SELECT string_agg(substr(c.relname, 12), ',' ORDER BY $PG_BOUND = 'DEFAULT', $PG_BOUND) FROM $PG_PARTS"
    return
  fi
  q "SELECT GROUP_CONCAT(PARTITION_NAME ORDER BY PARTITION_ORDINAL_POSITION) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='events_raw'"
}
# the catch-alls in parts' list: p_past ... p_future, or the DEFAULT partition last
PAST=$(wh_pick "p_past," "")
FUTURE=$(wh_pick ",p_future" ",p_default")
# part_rows NAME: the rows of partition NAME (postgres: p_future is the
# DEFAULT partition's rows, p_past those of them older than every period)
part_rows() {
  if [ "$IT_WAREHOUSE" != postgres ]; then echo "events_raw PARTITION ($1)"; return; fi
  case "$1" in
    p_future) echo "events_raw_p_default" ;;
    p_past) echo "events_raw_p_default WHERE created_at < (SELECT min(substring($PG_BOUND FROM 'FROM \(''([^'']+)')::timestamp) FROM $PG_PARTS AND $PG_BOUND <> 'DEFAULT')" ;;
    *) echo "events_raw_$1" ;;
  esac
}
in_part() { q "SELECT COUNT(*) FROM $(part_rows "$1")"; }
LOADER_ROLE=maskload_${DB}_loader
# rows_sum: the count and a digest of the rows kept from before the clock moved
rows_sum() {
  q "$(wh_pick "SELECT COUNT(*), SUM(CRC32(CONCAT(id,created_at,kind,load_run_id)))" \
    "SELECT count(*) || E'\t' || md5(string_agg(id || created_at::text || coalesce(kind, '') || load_run_id, ',' ORDER BY id, created_at))") FROM events_raw WHERE created_at >= '2024-05-01' AND id < 100"
}

# two events on the 10th and the 20th of every month from 2024-02 to 2025-03,
# one far ahead (2026-01-05, beyond every month partition)
gen_events() { # FROM_ID YEAR MONTH COUNT_MONTHS
  local id=$1 y=$2 m=$3 n=$4
  for ((i = 0; i < n; i++)); do
    printf '{"id": %d, "createdAt": "%04d-%02d-10T08:00:00Z", "kind": "click"}\n' "$id" "$y" "$m"
    printf '{"id": %d, "createdAt": "%04d-%02d-20T23:59:59.500Z", "kind": "view"}\n' "$((id + 1))" "$y" "$m"
    id=$((id + 2)); m=$((m + 1)); if [ "$m" -gt 12 ]; then m=1; y=$((y + 1)); fi
  done
}
gen_events 1 2024 2 14 >"$T/events.jsonl"
echo '{"id": 900, "createdAt": "2026-01-05T00:00:00Z", "kind": "click"}' >>"$T/events.jsonl"

write_stream() { # FILE PARTITION_LINE RETENTION_LINE [EXTRA]
  cat >"$1" <<YAML
$(config_head "$DB")
$(pii_section)
sources:
  ev_file: { kind: file, path: events.jsonl }
streams:
  events:
    source: ev_file
    table: events_raw
    description: app events
    key: id
    columns:
      - { name: id, from: id, type: bigint, required: true }
      - { name: created_at, from: createdAt, type: datetime, required: true }
      - { name: kind, from: kind, type: varchar(16) }
      - { name: day, from: day, type: date }
$2
$3
${4:-}
YAML
}
write_stream "$T/c.yaml" "    partition: { column: created_at, by: month, ahead: 3 }" "    retention: 400d"

export MASKLOAD_TEST_NOW=2025-03-15T00:00:00Z
ml -c "$T/c.yaml" plan; assert_eq 0 "$RC" "plan of a new database ($OUT)"
if [ "$IT_WAREHOUSE" = postgres ]; then
  assert_contains "$OUT" 'PRIMARY KEY ("id","created_at") ) PARTITION BY RANGE ("created_at");' \
    "plan shows the partitioned table"
  assert_contains "$OUT" 'CREATE TABLE IF NOT EXISTS "events_raw_p_default" PARTITION OF "events_raw" DEFAULT;' \
    "and its DEFAULT partition"
  assert_contains "$OUT" "init adds the missing partitions of table 'events_raw' ahead" "and says init adds its periods"
  assert_contains "$OUT" "ALTER TABLE \"maskload\".\"events_raw\" OWNER TO \"$LOADER_ROLE\";" "and that the loader role owns the table"
else
  assert_contains "$OUT" "PARTITION BY RANGE COLUMNS(\`created_at\`) ( PARTITION \`p_past\` VALUES LESS THAN ('2024-02-01'), PARTITION \`p202402\`" \
    "plan shows the partitions init creates"
  assert_contains "$OUT" "GRANT ALTER, DROP ON \`$DB\`.\`events_raw\` TO" "and the loader's grant on the table"
fi
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
expected=${PAST%,}
for ym in 202402 202403 202404 202405 202406 202407 202408 202409 202410 202411 202412 \
  202501 202502 202503 202504 202505 202506; do expected="$expected${expected:+,}p$ym"; done
expected="$expected$FUTURE"
assert_eq "$expected" "$(parts)" "init: p_past, 2024-02 (the month of now - 400d) .. 2025-06 (3 ahead), p_future"
if [ "$IT_WAREHOUSE" = postgres ]; then
  assert_eq "RANGE (created_at)|FOR VALUES FROM ('2024-02-01 00:00:00') TO ('2024-03-01 00:00:00')" \
    "$(q "SELECT pg_get_partkeydef('maskload.events_raw'::regclass) || '|' || $PG_BOUND FROM $PG_PARTS AND c.relname = 'events_raw_p202402'")" \
    "RANGE on created_at, each month from its first day to the next one's"
  assert_eq "$LOADER_ROLE $LOADER_ROLE $LOADER_ROLE" \
    "$(q "SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid IN ('maskload.events_raw'::regclass, 'maskload.events_raw_p_default'::regclass, 'maskload.events_raw_p202503'::regclass)" | paste -sd' ')" \
    "the loader role owns the table, its DEFAULT partition and the periods init added"
else
  assert_eq "RANGE COLUMNS|\`created_at\`|'2024-03-01'" \
    "$(q "SELECT CONCAT(PARTITION_METHOD,'|',PARTITION_EXPRESSION,'|',PARTITION_DESCRIPTION) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='events_raw' AND PARTITION_NAME='p202402'")" \
    "RANGE COLUMNS on created_at, each month bounded by the next one's first day"
fi
assert_eq "id,created_at" "$(wh_pk "$DB" events_raw)" "the partitioning column joins the primary key"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "a second init ($OUT)"
assert_eq "$expected" "$(parts)" "a second init changes no partition"
ml -c "$T/c.yaml" plan; assert_eq 0 "$RC" "plan ($OUT)"
assert_not_contains "$OUT" "ALTER TABLE $(wh_q events_raw)" "plan sees no difference to fix in a partitioned table"

ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run ($OUT)"
assert_eq 29 "$(q 'SELECT COUNT(*) FROM events_raw')" "every event loaded"
assert_eq 2 "$(in_part p202402)" "2024-02 events in p202402"
assert_eq 2 "$(in_part p202503)" "2025-03 events in p202503 (the 20th at 23:59:59.5 too)"
assert_eq "2024-09-20 23:59:59.500" "$(q "SELECT $(wh_ms "MAX(created_at)") FROM $(part_rows p202409)")" "a month's last second stays in its month"
assert_eq 1 "$(in_part p_future)" "an event beyond every month is caught by p_future, not refused"
assert_eq 0 "$(in_part p_past)" "p_past is empty"
assert_eq 0 "$(q 'SELECT COUNT(*) FROM load_partition_drops')" "nothing expired yet"
sum0=$(wh_checksum "$DB" events_raw)
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "rerun ($OUT)"
assert_eq "$sum0" "$(wh_checksum "$DB" events_raw)" "a rerun changes no row"
assert_eq "$expected" "$(parts)" "a rerun changes no partition"

# the analyst reads the table; the loader may alter and drop it, and nothing else
assert_eq 29 "$(as_analyst "$DB" 'SELECT COUNT(*) FROM events_raw')" "the analyst reads the partitioned table"
if [ "$IT_WAREHOUSE" = postgres ]; then
  set +e
  err=$(as_analyst "$DB" 'SELECT count(*) FROM events_raw_p202503'); rc=$?
  set -e
  assert_eq "1 permission denied" "$rc $(grep -o 'permission denied' <<<"$err")" "must fail: the analyst cannot read a partition directly"
  set +e
  err=$(as_loader "$DB" 'ALTER TABLE load_runs ADD COLUMN x int'); rc=$?
  set -e
  assert_eq 1 "$rc" "must fail: the loader cannot ALTER another table ($err)"
  set +e
  err=$(as_analyst "$DB" 'DROP TABLE events_raw_p202402'); rc=$?
  set -e
  assert_eq 1 "$rc" "must fail: the analyst cannot drop partitions"
  # default privileges that would let the analyst read the loader role's new tables
  q "ALTER DEFAULT PRIVILEGES FOR ROLE \"$LOADER_ROLE\" IN SCHEMA maskload GRANT SELECT ON TABLES TO \"maskload_${DB}_analyst\""
else
  assert_eq "ALTER,DROP" "$(q "SELECT GROUP_CONCAT(PRIVILEGE_TYPE ORDER BY PRIVILEGE_TYPE) FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE LIKE '%maskload_${DB}_loader%' AND TABLE_SCHEMA='$DB' AND TABLE_NAME='events_raw' AND PRIVILEGE_TYPE IN ('ALTER','DROP')")" \
    "the loader role holds ALTER and DROP on the partitioned table"
  set +e
  err=$(sql_as maskload_loader "$MASKLOAD_LOADER_PASSWORD" "$DB" 'ALTER TABLE load_runs COMMENT="x"' 2>&1); rc=$?
  set -e
  assert_eq 1 "$rc" "must fail: the loader cannot ALTER another table ($err)"
  set +e
  err=$(sql_as analyst "$MASKLOAD_ANALYST_PASSWORD" "$DB" 'ALTER TABLE events_raw TRUNCATE PARTITION p_past' 2>&1); rc=$?
  set -e
  assert_eq 1 "$rc" "must fail: the analyst cannot drop partitions"
fi

# the clock moves on three months; the source now holds only new events
export MASKLOAD_TEST_NOW=2025-06-20T12:00:00Z   # now - 400d = 2024-05-16T12:00
gen_events 100 2025 4 3 >"$T/events.jsonl"
kept_before=$(rows_sum)
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run at 2025-06-20 ($OUT)"
run_id=$(q "SELECT MAX(run_id) FROM load_runs")
assert_contains "$OUT" "dropped partition p202402" "the drop is logged at info level"
assert_contains "$OUT" "added 3 partition(s) p202507 .. p202509 ahead" "months ahead added, logged"
exp2=${PAST%,}
for ym in 202405 202406 202407 202408 202409 202410 202411 202412 202501 202502 202503 202504 \
  202505 202506 202507 202508 202509; do exp2="$exp2${exp2:+,}p$ym"; done
exp2="$exp2$FUTURE"
assert_eq "$exp2" "$(parts)" "2024-02..04 (wholly before 2024-05-16) gone into p_past; 2024-05 kept; 3 months ahead"
if [ "$IT_WAREHOUSE" = postgres ]; then
  assert_eq 0 "$(q "SELECT count(*) FROM pg_class WHERE relname IN ('events_raw_p202402', 'events_raw_p202403', 'events_raw_p202404')")" "the expired partitions' tables are dropped"
  set +e
  err=$(as_analyst "$DB" 'SELECT count(*) FROM events_raw_p202507'); rc=$?
  set -e
  assert_eq "1 permission denied" "$rc $(grep -o 'permission denied' <<<"$err")" \
    "must fail: the analyst cannot read a partition a run added, though default privileges grant the loader role's new tables"
  q "ALTER DEFAULT PRIVILEGES FOR ROLE \"$LOADER_ROLE\" IN SCHEMA maskload REVOKE SELECT ON TABLES FROM \"maskload_${DB}_analyst\""
else
  assert_eq "'2024-05-01'" "$(q "SELECT PARTITION_DESCRIPTION FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='events_raw' AND PARTITION_NAME='p_past'")" "p_past ends where the oldest kept month starts"
fi
assert_eq 0 "$(q "SELECT COUNT(*) FROM events_raw WHERE created_at < '2024-05-01'")" "the expired rows are gone"
assert_eq "$kept_before" "$(rows_sum)" \
  "rows in kept partitions untouched"
assert_eq 6 "$(q 'SELECT COUNT(*) FROM events_raw WHERE id >= 100 AND id < 900')" "the new events loaded"
assert_eq 1 "$(in_part p_future)" "the far event stays in p_future"
assert_eq "p202402|2024-02-01|2024-03-01|2|400|2024-05-16 12:00:00.000|$run_id
p202403|2024-03-01|2024-04-01|2|400|2024-05-16 12:00:00.000|$run_id
p202404|2024-04-01|2024-05-01|2|400|2024-05-16 12:00:00.000|$run_id" \
  "$(q "SELECT CONCAT_WS('|', partition_name, range_start, range_end, rows_dropped, retention_days, $(wh_ms cutoff), run_id) FROM load_partition_drops ORDER BY drop_id")" \
  "each dropped partition recorded: range, rows, cutoff, run"

set +e
as_analyst "$DB" 'SELECT COUNT(*) FROM load_partition_drops' >/dev/null 2>&1; rc=$?
set -e
assert_eq 1 "$rc" "must fail: load_partition_drops is not in the analyst's allow-list"
sum1=$(wh_checksum "$DB" events_raw)
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "rerun at the same time ($OUT)"
assert_eq "$sum1" "$(wh_checksum "$DB" events_raw)" "rerun: no row changed"
assert_eq "$exp2" "$(parts)" "rerun: no partition added or dropped"
assert_eq 3 "$(q 'SELECT COUNT(*) FROM load_partition_drops')" "rerun: nothing more recorded"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init after the clock moved ($OUT)"
assert_eq "$exp2" "$(parts)" "init: nothing to do either"

# must fail: without ALTER and DROP the loader cannot keep partitions; the run says so
q "$(wh_pick "REVOKE ALTER, DROP ON \`$DB\`.\`events_raw\` FROM maskload_${DB}_loader" "ALTER TABLE events_raw OWNER TO postgres; GRANT SELECT, INSERT, UPDATE, DELETE ON events_raw TO $LOADER_ROLE")"
MASKLOAD_TEST_NOW=2025-07-20T00:00:00Z ml -c "$T/c.yaml" run
assert_eq 1 "$RC" "must fail: a run whose loader lacks ALTER/DROP on the table (postgres: does not own it)"
assert_contains "$OUT" "partitions of table 'events_raw'" "and the error names the table"
assert_eq "$exp2" "$(parts)" "nothing was changed"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init grants them again ($OUT)"

# a late record older than retention: loaded into p_past, dropped by the same run
echo '{"id": 950, "createdAt": "2024-01-03T00:00:00Z", "kind": "late"}' >>"$T/events.jsonl"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run with a late record ($OUT)"
run_id=$(q "SELECT MAX(run_id) FROM load_runs")
assert_eq 0 "$(q 'SELECT COUNT(*) FROM events_raw WHERE id = 950')" "the late record is not kept"
assert_eq "p_past|1|$run_id" "$(q "SELECT CONCAT_WS('|', partition_name, rows_dropped, run_id) FROM load_partition_drops ORDER BY drop_id DESC LIMIT 1")" \
  "its drop from p_past is recorded"
assert_eq "$exp2" "$(parts)" "p_past stays the first partition"

# an upsert is per (key, created_at): a record whose created_at changes is a second row
echo '{"id": 100, "createdAt": "2025-05-02T00:00:00Z", "kind": "moved"}' >"$T/events.jsonl"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run with a record whose created_at changed ($OUT)"
assert_eq "2025-04-10 08:00:00.000 click
2025-05-02 00:00:00.000 moved" "$(q "SELECT CONCAT($(wh_ms created_at), ' ', kind) FROM events_raw WHERE id = 100 ORDER BY created_at")" \
  "a record whose created_at changed becomes a second row (documented; not detected)"
echo '{"id": 100, "createdAt": "2025-05-02T00:00:00Z", "kind": "again"}' >"$T/events.jsonl"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run with the same created_at ($OUT)"
assert_eq "2" "$(q "SELECT COUNT(*) FROM events_raw WHERE id = 100")" "the same (key, created_at) is updated in place"
assert_eq "again" "$(q "SELECT kind FROM events_raw WHERE id = 100 AND created_at = '2025-05-02'")" "with the new values"

# the far event (2026-01-05) caught by the catch-all moves into its month
# once that month is added (postgres refuses a partition whose range the
# DEFAULT partition holds rows of: maintenance moves them first)
export MASKLOAD_TEST_NOW=2025-10-15T00:00:00Z
: >"$T/events.jsonl"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run at 2025-10-15 ($OUT)"
assert_contains "$OUT" "added 4 partition(s) p202510 .. p202601 ahead" "the months up to 2026-01 added"
assert_eq 1 "$(in_part p202601)" "the far event moved into p202601"
assert_eq 0 "$(in_part p_future)" "and left the catch-all"
assert_eq 1 "$(q 'SELECT COUNT(*) FROM events_raw WHERE id = 900')" "it is still there once"

# must fail (postgres): a table whose DEFAULT partition was detached by hand
if [ "$IT_WAREHOUSE" = postgres ]; then
  q "ALTER TABLE events_raw DETACH PARTITION events_raw_p_default"
  ml -c "$T/c.yaml" run; assert_eq 2 "$RC" "must fail: a run without the DEFAULT partition"
  assert_contains "$OUT" "table 'events_raw' has no DEFAULT partition" "and it says so ($OUT)"
  q "ALTER TABLE events_raw ATTACH PARTITION events_raw_p_default DEFAULT"
  ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "attached again, the run goes on ($OUT)"
fi

# retention by day: a table partitioned per day
export MASKLOAD_TEST_NOW=2025-03-15T06:00:00Z
fresh_db "$DB"
write_stream "$T/d.yaml" "    partition: { column: created_at, by: day, ahead: 2 }" "    retention: 3d"
ml -c "$T/d.yaml" init; assert_eq 0 "$RC" "init per day ($OUT)"
assert_eq "${PAST}p20250312,p20250313,p20250314,p20250315,p20250316,p20250317$FUTURE" "$(parts)" "per day: 3 days back, today, 2 ahead"
export MASKLOAD_TEST_NOW=2025-03-17T00:00:00Z
ml -c "$T/d.yaml" init; assert_eq 0 "$RC" "init two days on ($OUT)"
assert_eq "${PAST}p20250314,p20250315,p20250316,p20250317,p20250318,p20250319$FUTURE" "$(parts)" "per day: two days dropped, two added"
# maintenances at once (no lock): three runs keep the same table's
# partitions together; all succeed, the partitions are those of one
# maintenance, and no partition is split or dropped twice
export MASKLOAD_TEST_NOW=2025-03-25T00:00:00Z
for i in 1 2 3; do
  "$MASKLOAD_BIN" -c "$T/d.yaml" run >"$T/par$i.log" 2>&1 &
  eval "par$i=\$!"
done
par_rc=0
for i in 1 2 3; do eval "wait \$par$i" || par_rc=$?; done
assert_eq 0 "$par_rc" "three concurrent runs maintaining the same table all succeed ($(cat "$T"/par*.log | grep 'maskload: error' | head -2))"
assert_eq "${PAST}p20250322,p20250323,p20250324,p20250325,p20250326,p20250327$FUTURE" "$(parts)" \
  "the partitions are exactly those of one maintenance"
# must fail: a clock the test hook cannot read
MASKLOAD_TEST_NOW=yesterday ml -c "$T/d.yaml" init; assert_eq 2 "$RC" "must fail: a malformed MASKLOAD_TEST_NOW"
assert_contains "$OUT" "MASKLOAD_TEST_NOW 'yesterday'" "and it says so"

# must fail: a table that exists unpartitioned
fresh_db "$DB"
write_stream "$T/u.yaml" "" ""
ml -c "$T/u.yaml" init; assert_eq 0 "$RC" "init unpartitioned ($OUT)"
ml -c "$T/c.yaml" init; assert_eq 2 "$RC" "must fail: init refuses to partition an existing table"
assert_contains "$OUT" "exists unpartitioned" "and says why"
assert_contains "$OUT" "c.yaml:" "naming the mapping's file"
assert_eq "NULL" "$(q "$(wh_pick "SELECT PARTITION_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='events_raw'" "SELECT pg_get_partkeydef('maskload.events_raw'::regclass)")")" "the table is left as it was"
ml -c "$T/c.yaml" run; assert_eq 2 "$RC" "must fail: run refuses it too"

# must fail: bad declarations exit 2 with file:line:col
bad() { # DESCRIPTION PARTITION_LINE RETENTION_LINE EXTRA EXPECTED_TEXT
  write_stream "$T/bad.yaml" "$2" "$3" "$4"
  ml -c "$T/bad.yaml" plan
  assert_eq 2 "$RC" "must fail: $1"
  assert_contains "$OUT" "bad.yaml:" "$1: names the file"
  assert_contains "$OUT" "$5" "$1: says what ($OUT)"
}
bad "a text column" "    partition: { column: kind, by: month }" "" "" "must be a date or datetime column"
bad "an optional column" "    partition: { column: day, by: month }" "" "" "must be required: true"
bad "an unknown column" "    partition: { column: nope, by: month }" "" "" "is not a column of table"
bad "by: week" "    partition: { column: created_at, by: week }" "" "" "day or month"
bad "no by" "    partition: { column: created_at }" "" "" "needs 'column' and 'by'"
bad "ahead: 0" "    partition: { column: created_at, by: month, ahead: 0 }" "" "" "ahead"
bad "an unknown key" "    partition: { column: created_at, by: month, every: 2 }" "" "" "every"
bad "retention without partition" "" "    retention: 400d" "" "needs 'partition'"
bad "retention without unit" "    partition: { column: created_at, by: month }" "    retention: 400" "" "number of days"
bad "retention 0d" "    partition: { column: created_at, by: month }" "    retention: 0d" "" "number of days"
bad "child tables" "    partition: { column: created_at, by: month }" "" \
"    children:
      - { table: event_tags, from: tags, position: pos, columns: [ { name: tag, from: name, type: varchar(16) } ] }" \
  "cannot be partitioned"
bad "too many day partitions" "    partition: { column: created_at, by: day }" "    retention: 9000d" "" "partition by month"
write_stream "$T/bad.yaml" "    partition: { column: kind, by: month }" "" ""
ml -c "$T/bad.yaml" plan
line=$(grep -n 'partition:' "$T/bad.yaml" | cut -d: -f1)
assert_contains "$OUT" "bad.yaml:$line:26:" "the error names the line of the declaration"
finish
