#!/usr/bin/env bash
# A rerun over unchanged data writes no row to the stream tables, on both
# write paths (bulk LOAD DATA and multi-row INSERT). Measured per table with
# the server's user statistics (userstat=1,
# information_schema.TABLE_STATISTICS.ROWS_CHANGED: rows inserted, updated or
# deleted by the handler, counted only when a row really changed), reset
# before the rerun. The only tables the rerun may write are the run's
# bookkeeping: load_runs, load_run_streams, load_run_leases and
# load_rejects (the fixture's rejected records are recorded per run).
# The rerun's rows are compared before they are written (rowdiff.h, both
# warehouses, `-v` logs per table and batch how many were equal): every row
# compares equal, so the printed forms of its datetime, boolean, decimal and
# date columns are the server's own; after the change below, exactly one row
# of users_raw does not.
# Cross-checked with the server's global counters (MariaDB 10.11 has no
# Innodb_rows_* status: Handler_write/update/delete): their delta equals the
# bookkeeping tables' changes. The
# test runs alone on its server (RESOURCE_LOCK warehouse).
# Must fail: a row changed behind the loader's back is written again, and
# only that row (ROWS_CHANGED 1, the row restored), and CHECKSUM TABLE is
# identical across the unchanged rerun.
#
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh): with
# PostgreSQL the one write path is COPY + INSERT ... ON CONFLICT, measured by
# pg_stat_user_tables (n_tup_ins + n_tup_upd + n_tup_del per table, against a
# snapshot taken before the rerun: wh_stats_reset, wh_rows_changed), and the
# checksum is the md5 of every row as text (wh_checksum).
. "$(dirname "$0")/lib.sh"
BOOKKEEPING="load_runs,load_run_leases,load_run_streams,load_rejects"
STREAM_TABLES="users_raw subscriptions_raw messages_raw sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids"
# shellcheck disable=SC2086
checksums() { wh_checksum "$1" $STREAM_TABLES; }

# changed_tables DB: "table=rows_changed" of every table of DB the statistics
# saw changing, sorted
changed_tables() { wh_rows_changed "$1"; }
# the server's global row-change counters: MariaDB 10.11 has no Innodb_rows_*
# status variables (nor dml_* INNODB_METRICS); Handler_write/update/delete
# count the row writes of every table but internal temporary ones
handler_writes() { sql_admin "" "SHOW GLOBAL STATUS LIKE 'Handler_%'" | awk '$1 ~ /^Handler_(write|update|delete)$/ { n += $2 } END { print n + 0 }'; }
reset_stats() { wh_stats_reset; }
[ "$IT_WAREHOUSE" = postgres ] ||
  trap 'sql_admin "" "SET GLOBAL userstat=0" >/dev/null 2>&1 || true; [ -z "$API_PID" ] || kill "$API_PID" 2>/dev/null || true' EXIT

# compared OUT: the "T: N of M rows equal to their stored rows" of a -v run
compared() { echo "$OUT" | grep -o '[a-z_]*: [0-9]* of [0-9]* rows equal to their stored rows' || true; }

# the write paths: MySQL's two load.methods; PostgreSQL's one (COPY)
methods="bulk insert"
wh_has load_data "the rerun measured on the multi-row INSERT path of load.method" || methods=copy
method_load() { [ "$1" = copy ] || echo "  method: $1"; }
for method in $methods; do
  DB=it_nowrite_$method
  fresh_db "$DB"
  WRITE_CONFIG_LOAD=$(method_load "$method") write_config "$T/$method.yaml" "$DB"
  ml -c "$T/$method.yaml" init; assert_eq 0 "$RC" "$method: init"
  ml -c "$T/$method.yaml" run; assert_eq 0 "$RC" "$method: first run"
  sum1=$(checksums "$DB")

  # must-fail companion first: the first run's writes are seen by the measure
  reset_stats
  fresh_db it_nowrite_probe
  WRITE_CONFIG_LOAD=$(method_load "$method") write_config "$T/probe.yaml" it_nowrite_probe
  ml -c "$T/probe.yaml" init
  reset_stats
  ml -c "$T/probe.yaml" run; assert_eq 0 "$RC" "$method: a first load into an empty database"
  assert_contains "$(changed_tables it_nowrite_probe)" "users_raw=$USERS_LOADED" "$method: the statistics see a first load's rows"

  # the rerun over unchanged data
  sleep 1.1 # a rewritten loaded_at would differ
  reset_stats
  if wh_has userstat "$method: the global row counters moved by the bookkeeping rows only"; then before=$(handler_writes); fi
  ml -c "$T/$method.yaml" -v run; assert_eq 0 "$RC" "$method: rerun"
  [ "$IT_WAREHOUSE" = postgres ] || after=$(handler_writes)
  changed=$(changed_tables "$DB")
  rest=$(echo "$changed" | tr ' ' '\n' | grep -v -E "^(${BOOKKEEPING//,/|})=" | paste -sd' ' || true)
  assert_eq "" "$rest" "$method: the rerun changed no row outside the bookkeeping tables [$changed]"
  for t in load_runs load_run_streams load_run_leases; do
    assert_contains "$changed" "$t=" "$method: the rerun's bookkeeping in $t is seen"
  done
  if [ "$IT_WAREHOUSE" = mysql ]; then
    booked=$(sql_admin "" "SELECT COALESCE(SUM(ROWS_CHANGED),0) FROM information_schema.TABLE_STATISTICS WHERE TABLE_SCHEMA='$DB'")
    assert_eq "$booked" "$((after - before))" "$method: the global Handler_write/update/delete counters moved by the bookkeeping rows only"
  fi
  assert_contains "$OUT" "rows unchanged in the warehouse, not written" "$method: the log counts the unchanged rows"
  assert_eq "$sum1" "$(checksums "$DB")" "$method: the checksums of every stream table identical after the rerun"
  cmp=$(compared)
  assert_contains "$cmp" "users_raw: " "$method: the rerun compared the rows of users_raw before writing"
  assert_contains "$cmp" "subscriptions_raw: " "$method: and of subscriptions_raw"
  assert_eq "" "$(echo "$cmp" | awk '$2 != $4')" "$method: every row compared equal to its stored row"

  # a row changed behind the loader's back: that row, and only it, is written
  sql_admin "$DB" "UPDATE users_raw SET country='Changed' WHERE user_id=1"
  reset_stats
  ml -c "$T/$method.yaml" -v run; assert_eq 0 "$RC" "$method: run after a change"
  assert_eq 1 "$(compared | awk '$1 == "users_raw:" { n += $4 - $2 } END { print n + 0 }')" \
    "$method: the comparison found exactly one row of users_raw changed"
  assert_contains " $(changed_tables "$DB") " " users_raw=1 " "$method: exactly the changed row is written"
  assert_eq "Brazil" "$(sql_admin "$DB" "SELECT country FROM users_raw WHERE user_id=1")" "$method: and restored from the source"
  assert_eq 1 "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw WHERE load_run_id=(SELECT MAX(run_id) FROM load_runs)")" \
    "$method: only that row carries the repairing run's id"
done
finish
