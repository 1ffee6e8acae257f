#!/usr/bin/env bash
# bench/run.sh - the benchmark behind `make bench` (bench/README.md).
#
# On one project-local MariaDB (port $BENCH_DB_PORT, data under
# $BUILD_DIR/bench/db) and the fixture API serving generated data, for each
# size in BENCH_SIZES ("USERS:MESSAGES ..."):
#   (a) maskload init + run into fresh tables (run timed; peak RSS by
#       /usr/bin/time -v; surrogate cache hit rate and the per-stage times
#       of `-v` from the run's log; the server's CPU time over the run);
#   (a1) the same load with load.writer: inline (batches written between
#       pages instead of by the writer thread), into other fresh tables, for
#       sizes up to BENCH_INLINE_MAX users (default 1000000; 0 = never);
#   (a2) maskload run again over the same data (timed): no stream-table row
#       may change (information_schema.TABLE_STATISTICS, userstat) nor any
#       CHECKSUM TABLE;
#   (b) the ceiling: the rows (a) loaded, exported with SELECT ... INTO
#       OUTFILE, loaded with server-side LOAD DATA INFILE into fresh tables
#       of the same definition (timed), then CHECKSUM TABLE of (a) and (b)
#       compared;
#   (b2) the server alone loading the same rows in batches: the exported
#       files cut into BENCH_BATCH rows, one LOAD DATA INFILE (one
#       transaction) per part, into fresh tables, for sizes up to
#       BENCH_INLINE_MAX users: the ceiling of any loader that commits every
#       BENCH_BATCH rows;
# and once (c) the naive row-at-a-time baseline on BENCH_NAIVE_USERS users.
# With postgres in BENCH_WAREHOUSES (default "mysql postgres"), on one
# project-local PostgreSQL 15 (scripts/dev-pg, port $BENCH_PG_PORT, default
# BENCH_DB_PORT + 5) for each size:
#   (a) maskload init + run into a fresh database (timed, peak RSS, the
#       server's CPU: the postmaster and all its backends);
#   (a2) the rerun over the same data (timed): no stream-table row inserted,
#       updated or deleted (pg_stat_user_tables) and every table's row
#       checksum unchanged;
#   (b) the ceiling: the rows (a) loaded, written with server-side COPY ... TO
#       a file and loaded with server-side COPY ... FROM that file into fresh
#       tables of the same definition (CREATE TABLE ... (LIKE ... INCLUDING
#       ALL)), timed; then the row checksums (count and the sum of every row's
#       md5) of (a) and (b) compared.
# Data: sizes of at most BENCH_FILES_MAX users (default 1000000) are written
# to files and served from memory; larger ones are made page by page by the
# fixture API's generator mode (fixture_api --generate), no JSON in memory
# or on disk.
# Prints the tables. Exits non-zero when a check fails (row counts differ
# from the generator's, or the checksums differ).
set -euo pipefail

: "${BUILD_DIR:?}"
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
BENCH_DIR=${BENCH_DIR:-$BUILD_DIR/bench}
BENCH_DB_PORT=${BENCH_DB_PORT:-3326}
BENCH_SIZES=${BENCH_SIZES:-${BENCH_USERS:+$BENCH_USERS:${BENCH_MESSAGES:-$BENCH_USERS}}}
BENCH_SIZES=${BENCH_SIZES:-100000:100000 1000000:1000000}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_NAIVE_USERS=${BENCH_NAIVE_USERS:-20000}
BENCH_BATCH=${BENCH_BATCH:-5000}
BENCH_PAGE=${BENCH_PAGE:-1000}
BENCH_METHOD=${BENCH_METHOD:-auto}
BENCH_PREFETCH=${BENCH_PREFETCH:-4}
BENCH_WRITER=${BENCH_WRITER:-thread}
BENCH_PARALLEL=${BENCH_PARALLEL:-2}
BENCH_INLINE_MAX=${BENCH_INLINE_MAX:-1000000}
BENCH_WAREHOUSES=${BENCH_WAREHOUSES:-mysql postgres}
BENCH_PG_PORT=${BENCH_PG_PORT:-$((BENCH_DB_PORT + 5))}
BENCH_FILES_MAX=${BENCH_FILES_MAX:-1000000}
# The servers' memory for table and index pages; the defaults are the dev
# scripts' (256M and 128MB), which the 5M tables outgrow.
BENCH_DB_BUFFER_POOL=${BENCH_DB_BUFFER_POOL:-256M}
BENCH_PG_SHARED_BUFFERS=${BENCH_PG_SHARED_BUFFERS:-128MB}
for w in $BENCH_WAREHOUSES; do
  case "$w" in mysql | postgres) ;; *)
    echo "bench: BENCH_WAREHOUSES: unknown warehouse '$w' (mysql, postgres)" >&2; exit 2 ;;
  esac
done
want() { case " $BENCH_WAREHOUSES " in *" $1 "*) return 0 ;; esac; return 1; }
ML=$BUILD_DIR/maskload
API_BIN=$BUILD_DIR/fixture_api
GEN=$BUILD_DIR/bench_gen
NAIVE=$BUILD_DIR/bench_naive
JSON_SPEED=$BUILD_DIR/bench_json_speed
for b in "$ML" "$API_BIN" "$GEN" "$NAIVE" "$JSON_SPEED"; do
  [ -x "$b" ] || { echo "bench: $b missing (make build first)" >&2; exit 2; }
done
mkdir -p "$BENCH_DIR"
chmod 700 "$BENCH_DIR"
# absolute: the configs written here name files of it, and maskload reads a
# relative path against the config's own directory
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

if [ ! -f "$BENCH_DIR/secrets.env" ]; then
  (umask 077; for v in MASKLOAD_ADMIN_PASSWORD MASKLOAD_LOADER_PASSWORD MASKLOAD_ANALYST_PASSWORD \
      MASKLOAD_STEWARD_PASSWORD; do
    echo "export $v=$(openssl rand -hex 16)"; done >"$BENCH_DIR/secrets.env")
fi
# the surrogate digest key: its own file (mode 600), outside the database
[ -s "$BENCH_DIR/digest.key" ] || (umask 077; openssl rand -hex 32 >"$BENCH_DIR/digest.key")
# shellcheck disable=SC1091
. "$BENCH_DIR/secrets.env"

# PostgreSQL's directory: the server runs as `postgres` when we are root
# and must reach its directory, which the mode-700 BENCH_DIR does not let
# it: then one of its own under ${TMPDIR:-/tmp}, named after BENCH_DIR. The
# ceiling's COPY files are written there by the server itself.
PG_USER=$(id -un)
PG_DIR=$BENCH_DIR/pg
if [ "$(id -u)" -eq 0 ]; then
  PG_USER=${MASKLOAD_PG_USER:-postgres}
  PG_DIR=${TMPDIR:-/tmp}/maskload-bench-pg-$(printf '%s' "$BENCH_DIR" | sha256sum | cut -c1-16)
fi

API_PID=
cleanup() {
  [ -z "$API_PID" ] || kill "$API_PID" 2>/dev/null || true
  [ -n "${BENCH_KEEP_DB:-}" ] || ! want mysql ||
    "$SOURCE_DIR/scripts/dev-db" stop --dir "$BENCH_DIR/db" --port "$BENCH_DB_PORT" >/dev/null || true
  [ -n "${BENCH_KEEP_DB:-}" ] || ! want postgres ||
    "$SOURCE_DIR/scripts/dev-pg" stop --dir "$PG_DIR" --port "$BENCH_PG_PORT" >/dev/null || true
}
trap cleanup EXIT
! want mysql || MASKLOAD_DB_BUFFER_POOL=$BENCH_DB_BUFFER_POOL "$SOURCE_DIR/scripts/dev-db" start --dir "$BENCH_DIR/db" --port "$BENCH_DB_PORT" >/dev/null
if want postgres; then
  MASKLOAD_ADMIN_PASSWORD=$MASKLOAD_ADMIN_PASSWORD MASKLOAD_PG_SHARED_BUFFERS=$BENCH_PG_SHARED_BUFFERS \
    "$SOURCE_DIR/scripts/dev-pg" start \
    --dir "$PG_DIR" --port "$BENCH_PG_PORT" >"$BENCH_DIR/pg-start.log" 2>&1 ||
    { cat "$BENCH_DIR/pg-start.log" >&2; exit 1; }
  mkdir -p "$PG_DIR/export"
  [ "$(id -u)" -ne 0 ] || chown "$PG_USER" "$PG_DIR/export"
fi

sql() { # sql DB QUERY
  MYSQL_PWD="$MASKLOAD_ADMIN_PASSWORD" mariadb --no-defaults --default-character-set=utf8mb4 \
    -h 127.0.0.1 -P "$BENCH_DB_PORT" -u root ${1:+-D "$1"} -N -B -e "$2"
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# quiet: waits, at most BENCH_QUIET_MAX seconds (default 30), until the
# machine is idle: at most 10% of one core busy over half a second (the
# non-idle time of every CPU in /proc/stat), so that a timed step does not
# share the cores with what the steps before it left running (InnoDB's
# purge and page flushing after a load, PostgreSQL's checkpointer and
# autovacuum). The seconds waited add up in QUIET_WAITED.
QUIET_WAITED=0
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
quiet() {
  local t0 b0 b1 limit
  t0=$(now)
  limit=$(calc %d "$(getconf CLK_TCK) * 0.5 * 0.10")
  while :; do
    b0=$(busy_jiffies); sleep 0.5; b1=$(busy_jiffies)
    [ $((b1 - b0)) -gt "$limit" ] || break
    [ "$(calc %d "$(now) - $t0")" -lt "${BENCH_QUIET_MAX:-30}" ] || break
  done
  QUIET_WAITED=$(calc %.1f "$QUIET_WAITED + $(now) - $t0")
}

start_api() { # start_api DATA_DIR | start_api --generate SPEC
  [ -z "$API_PID" ] || { kill "$API_PID" 2>/dev/null || true; wait "$API_PID" 2>/dev/null || true; }
  rm -f "$BENCH_DIR/api.port"
  local src=(--data "$1")
  [ "$1" != --generate ] || src=(--generate "$2")
  "$API_BIN" "${src[@]}" --port 0 --port-file "$BENCH_DIR/api.port" >"$BENCH_DIR/api.log" 2>&1 </dev/null &
  API_PID=$!
  for _ in $(seq 1 3000); do
    [ -s "$BENCH_DIR/api.port" ] && break
    kill -0 "$API_PID" 2>/dev/null || { cat "$BENCH_DIR/api.log" >&2; exit 1; }
    sleep 0.2
  done
  [ -s "$BENCH_DIR/api.port" ] || { echo "bench: fixture API did not start" >&2; exit 1; }
  API_PORT=$(cat "$BENCH_DIR/api.port")
}

# data_sums DB: per stream table, its row count and a checksum of its data
# columns (not the run stamps load_run_id and loaded_at, which differ
# between two loads of the same data)
data_sums() {
  local tb cols
  for tb in $TABLES; do
    cols=$(sql "" "SELECT GROUP_CONCAT(CONCAT('IFNULL(HEX(\`',COLUMN_NAME,'\`),''-'')') ORDER BY ORDINAL_POSITION)
      FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$1' AND TABLE_NAME='$tb'
      AND COLUMN_NAME NOT IN ('load_run_id','loaded_at')")
    sql "$1" "SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', $cols))), 0) FROM $tb" | tr '\t' ':'
  done | paste -sd' '
}

# the fixture API's peak resident memory so far, in MiB
api_rss() {
  awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$API_PID/status"
}

# CPU seconds (user + system) the fixture API has used so far
api_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$API_PID/stat"
}

# CPU seconds (user + system) the bench's MariaDB has used so far
server_cpu() {
  local pid
  pid=$(tr -dc '0-9' <"$BENCH_DIR/db/mysqld.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat"
}

write_config() { # write_config FILE DATABASE [WRITER]
  cat >"$1" <<YAML
warehouse: { host: 127.0.0.1, port: $BENCH_DB_PORT, database: $2, user: maskload_loader, password: \${MASKLOAD_LOADER_PASSWORD} }
admin: { user: root, password: \${MASKLOAD_ADMIN_PASSWORD} }
accounts:
  analyst: { user: analyst, password: \${MASKLOAD_ANALYST_PASSWORD} }
  steward: { user: pii_steward, password: \${MASKLOAD_STEWARD_PASSWORD} }
pii: { digest_key_file: $BENCH_DIR/digest.key }
load: { batch_size: $BENCH_BATCH, method: $BENCH_METHOD, prefetch_pages: $BENCH_PREFETCH, writer: ${3:-$BENCH_WRITER}, parallel_streams: $BENCH_PARALLEL }
sources:
  api: { base_url: "http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1", page_size: $BENCH_PAGE }
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
YAML
}

TABLES="users_raw subscriptions_raw messages_raw"
FAIL=0
RESULTS=()
PG_RESULTS=()
SERVED_LINES=()
PG_STAGE_LINES=()
RERUN_LINES=()
JSON_LINES=()
STAGE_LINES=()
BATCHED_LINES=()
INLINE_LINES=()
NAIVE_LINE=

# mysql_size: steps (a), (a2), (a1), (b), (b2) and once (c) on MariaDB for
# the size in $users, $messages (rows expected in EXPECT_*)
mysql_size() {
  # (a) maskload end to end
  A=bench_a; cfg="$BENCH_DIR/a.yaml"
  sql "" "DROP DATABASE IF EXISTS $A"
  write_config "$cfg" "$A"
  t=$(now); "$ML" -c "$cfg" init >"$BENCH_DIR/init.log" 2>&1 || { cat "$BENCH_DIR/init.log" >&2; exit 1; }; t_init=$(calc %.2f "$(now) - $t")
  quiet; cpu0=$(server_cpu); api0=$(api_cpu); t=$(now)
  /usr/bin/time -v "$ML" -v -c "$cfg" run >"$BENCH_DIR/run-$users.log" 2>&1 || { cat "$BENCH_DIR/run-$users.log" >&2; exit 1; }
  t_a=$(calc %.2f "$(now) - $t"); cpu_srv=$(calc %.2f "$(server_cpu) - $cpu0")
  cpu_api=$(calc %.2f "$(api_cpu) - $api0")
  u_a=$(sed -n 's/.*User time (seconds): //p' "$BENCH_DIR/run-$users.log")
  s_a=$(sed -n 's/.*System time (seconds): //p' "$BENCH_DIR/run-$users.log")
  STAGE_LINES+=("$users:$messages: wall $t_a s; loader CPU user $u_a s + system $s_a s; server CPU $cpu_srv s; fixture API CPU $cpu_api s, its peak RSS so far $(api_rss) MiB")
  while IFS= read -r l; do STAGE_LINES+=("  ${l#*debug: }"); done < <(grep 'stages (' "$BENCH_DIR/run-$users.log")
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$BENCH_DIR/run-$users.log")
  hit=$(sed -n 's/.*surrogate cache: \([0-9]*\) lookups, \([0-9]*\) hits (\([0-9.]*\)%).*/\3% of \1/p' "$BENCH_DIR/run-$users.log")
  n_users=$(sql $A "SELECT COUNT(*) FROM users_raw")
  n_subs=$(sql $A "SELECT COUNT(*) FROM subscriptions_raw")
  n_msgs=$(sql $A "SELECT COUNT(*) FROM messages_raw")
  rows=$((n_users + n_subs + n_msgs))
  if [ "$n_users:$n_subs:$n_msgs" != "$EXPECT_USERS:$EXPECT_SUBSCRIPTIONS:$EXPECT_MESSAGES" ]; then
    echo "bench: FAIL: (a) loaded $n_users:$n_subs:$n_msgs rows, the generator expects $EXPECT_USERS:$EXPECT_SUBSCRIPTIONS:$EXPECT_MESSAGES" >&2
    FAIL=1
  fi

  # (a2) a rerun over the same, unchanged data (timed): it must write no row
  # to the stream tables (per-table counters of the server's user statistics,
  # information_schema.TABLE_STATISTICS) and leave their CHECKSUM TABLE as is
  sum_a=$(sql $A "CHECKSUM TABLE $(echo $TABLES | tr ' ' ',')" | cut -f2 | paste -sd' ')
  sql "" "SET GLOBAL userstat=1; FLUSH TABLE_STATISTICS"
  quiet; t=$(now)
  "$ML" -v -c "$cfg" run >"$BENCH_DIR/rerun-$users.log" 2>&1 || { cat "$BENCH_DIR/rerun-$users.log" >&2; exit 1; }
  t_rerun=$(calc %.2f "$(now) - $t")
  STAGE_LINES+=("  rerun (a2): wall $t_rerun s")
  while IFS= read -r l; do STAGE_LINES+=("  ${l#*debug: }"); done < <(grep 'stages (' "$BENCH_DIR/rerun-$users.log")
  changed=$(sql "" "SELECT COALESCE(SUM(ROWS_CHANGED),0) FROM information_schema.TABLE_STATISTICS
    WHERE TABLE_SCHEMA='$A' AND TABLE_NAME IN ('users_raw','subscriptions_raw','messages_raw')")
  sql "" "SET GLOBAL userstat=0"
  if [ "$changed" != 0 ] || [ "$sum_a" != "$(sql $A "CHECKSUM TABLE $(echo $TABLES | tr ' ' ',')" | cut -f2 | paste -sd' ')" ]; then
    echo "bench: FAIL: the rerun of unchanged data changed $changed stream-table rows (or a checksum)" >&2
    FAIL=1
  fi
  RERUN_LINES+=("$(printf '| %s | %s | %s s | %s s | %s | %s |' "$users" "$messages" "$t_a" "$t_rerun" \
    "$(calc %.2f "$t_rerun / $t_a")" "$changed")")

  # (a1) the same load with the batches written in line, for comparison
  if [ "$users" -le "$BENCH_INLINE_MAX" ]; then
    A1=bench_a1; cfg1="$BENCH_DIR/a1.yaml"
    sql "" "DROP DATABASE IF EXISTS $A1"
    write_config "$cfg1" "$A1" inline
    "$ML" -c "$cfg1" init >"$BENCH_DIR/init1.log" 2>&1
    quiet; cpu0=$(server_cpu); t=$(now)
    "$ML" -c "$cfg1" run >"$BENCH_DIR/run1-$users.log" 2>&1 || { cat "$BENCH_DIR/run1-$users.log" >&2; exit 1; }
    t_a1=$(calc %.2f "$(now) - $t"); cpu_srv1=$(calc %.2f "$(server_cpu) - $cpu0")
    same1=yes
    [ "$(data_sums $A)" = "$(data_sums $A1)" ] ||
      { same1=NO; FAIL=1; echo "bench: FAIL: (a1) inline writer loaded other rows than (a)" >&2; }
    INLINE_LINES+=("$(printf '| %s | %s | %s s | %s s | %s | %s s | %s s | %s |' "$users" "$messages" \
      "$t_a" "$t_a1" "$(calc %.2f "$t_a1 / $t_a")" "$cpu_srv" "$cpu_srv1" "$same1")")
    sql "" "DROP DATABASE IF EXISTS $A1"
  fi

  # (b) the ceiling: server-side LOAD DATA INFILE of exactly those rows
  B=bench_b; out="$BENCH_DIR/export"
  rm -rf "$out"; mkdir -p "$out"
  sql "" "DROP DATABASE IF EXISTS $B; CREATE DATABASE $B"
  for tb in $TABLES; do
    sql $A "SELECT * FROM $tb INTO OUTFILE '$out/$tb.tsv'"
    sql $B "CREATE TABLE $tb LIKE $A.$tb"
  done
  load_sql=""
  for tb in $TABLES; do load_sql+="LOAD DATA INFILE '$out/$tb.tsv' INTO TABLE $tb;"; done
  quiet; cpu0=$(server_cpu); t=$(now); sql $B "$load_sql"; t_b=$(calc %.2f "$(now) - $t")
  STAGE_LINES+=("  ceiling: wall $t_b s; server CPU $(calc %.2f "$(server_cpu) - $cpu0") s")
  same=yes
  for tb in $TABLES; do
    ca=$(sql $A "CHECKSUM TABLE $tb" | cut -f2); cb=$(sql $B "CHECKSUM TABLE $tb" | cut -f2)
    [ "$ca" = "$cb" ] || { same=NO; FAIL=1; echo "bench: FAIL: CHECKSUM $tb differs: $ca vs $cb" >&2; }
  done
  sql "" "DROP DATABASE $B"

  # (b2) the server alone, in batches of BENCH_BATCH rows, one transaction each
  if [ "$users" -le "$BENCH_INLINE_MAX" ]; then
    B2=bench_b2; nparts=0
    sql "" "DROP DATABASE IF EXISTS $B2; CREATE DATABASE $B2"
    for tb in $TABLES; do
      sql $B2 "CREATE TABLE $tb LIKE $A.$tb"
      split -l "$BENCH_BATCH" -d -a 5 "$out/$tb.tsv" "$out/$tb.part."
      chmod a+r "$out"/$tb.part.*
    done
    quiet; cpu0=$(server_cpu); t=$(now)
    for tb in $TABLES; do
      for part in "$out"/$tb.part.*; do
        sql $B2 "LOAD DATA INFILE '$part' INTO TABLE $tb"; nparts=$((nparts + 1))
      done
    done
    t_b2=$(calc %.2f "$(now) - $t")
    STAGE_LINES+=("  ceiling in batches (b2): $nparts LOAD DATA INFILE of at most $BENCH_BATCH rows, one transaction each: wall $t_b2 s; server CPU $(calc %.2f "$(server_cpu) - $cpu0") s")
    BATCHED_LINES+=("$(printf '| %s | %s | %s s | %s s | %s s | %s | %s |' "$users" "$messages" "$t_a" "$t_b" "$t_b2" \
      "$(calc %.2f "$t_b / $t_a")" "$(calc %.2f "$t_b2 / $t_a")")")
    sql "" "DROP DATABASE $B2"
  fi
  rm -rf "$out"

  # (c) the naive baseline, once, on a subset
  if [ -z "$NAIVE_LINE" ]; then
    sql "" "DROP DATABASE IF EXISTS bench_c; CREATE DATABASE bench_c"
    NAIVE_LINE=$(BENCH_DB_PASSWORD="$MASKLOAD_ADMIN_PASSWORD" "$NAIVE" \
      --url "http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1/users" \
      --users "$BENCH_NAIVE_USERS" --port "$BENCH_DB_PORT" --database bench_c)
    c_rows=$(echo "$NAIVE_LINE" | sed -n 's/.*rows=\([0-9]*\).*/\1/p')
    c_s=$(echo "$NAIVE_LINE" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
    rps_c=$(calc %.0f "$c_rows / $c_s")
  fi
  rps_a=$(calc %.0f "$rows / $t_a"); rps_b=$(calc %.0f "$rows / $t_b")
  RESULTS+=("$(printf '| %s | %s | %s | %s s | %s | %s s | %s | %s | %s | %s | %s MiB | %s | %s |' \
    "$users" "$messages" "$rows" "$t_a" "$rps_a" "$t_b" "$rps_b" "$rps_c" \
    "$(calc %.2f "$rps_a / $rps_b")" "$(calc %.0f "$rps_a / $rps_c")" "$(calc %.1f "$rss_kb / 1024")" \
    "$hit" "$same")")
  echo "bench: $users users / $messages messages: init $t_init s, run $t_a s, rerun $t_rerun s, ceiling $t_b s"
}

# ---------------------------------------------------------------- PostgreSQL

# pg DB QUERY: as the superuser over TCP, unaligned rows, no headers (the
# password in the environment, never in argv)
pg() {
  PGPASSWORD="$MASKLOAD_ADMIN_PASSWORD" PGOPTIONS='-c client_min_messages=warning' \
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$BENCH_PG_PORT" -U postgres -d "$1" -At -c "$2"
}

# CPU seconds (user + system) of the bench's PostgreSQL so far: the
# postmaster, its children now alive, and the children it has reaped
# (backends of finished connections: cutime/cstime of the postmaster). Call
# it when no backend is ending (pg_settle): a backend reaped between the
# read of its own times and the postmaster's would count twice or not at
# all.
pg_server_cpu() {
  local pm
  pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" | tr -dc '0-9')
  {
    for c in $(cat /proc/"$pm"/task/*/children 2>/dev/null); do
      awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || true
    done
    awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
  } | awk -v hz="$(getconf CLK_TCK)" '{ s += $1 } END { printf "%.2f", s / hz }'
}

# pg_settle DB: waits until no session of the loader (DB_loader) is left
# and its backends have been reaped by the postmaster
pg_settle() {
  local pm
  pm=$(head -n 1 "$PG_DIR/data/postmaster.pid" | tr -dc '0-9')
  for _ in $(seq 1 100); do
    [ "$(pg postgres "SELECT count(*) FROM pg_stat_activity WHERE usename = '$1_loader'")" = 0 ] && break
    sleep 0.1
  done
  local c z
  for _ in $(seq 1 50); do
    z=0
    for c in $(cat /proc/"$pm"/task/*/children 2>/dev/null); do
      grep -qs '^State:.*Z' "/proc/$c/status" && z=1
    done
    [ $z = 1 ] || break
    sleep 0.1
  done
}

# pg_sums DB SCHEMA: per stream table, its row count and the sum of the
# first 60 bits of every row's md5 (the whole row as text: an order-free
# checksum of the table's rows, as CHECKSUM TABLE is for MySQL)
pg_sums() {
  local tb
  for tb in $TABLES; do
    pg "$1" "SELECT count(*) || ':' || coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint::numeric), 0) FROM $2.$tb t"
  done | paste -sd' '
}

# rows inserted, updated or deleted in the stream tables of DB, so far
pg_written() {
  pg "$1" "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables
    WHERE schemaname = 'maskload' AND relname IN ('users_raw', 'subscriptions_raw', 'messages_raw')"
}

pg_write_config() { # pg_write_config FILE DATABASE
  cat >"$1" <<YAML
warehouse: { kind: postgres, host: 127.0.0.1, port: $BENCH_PG_PORT, database: $2, schema: maskload, user: $2_loader, password: \${MASKLOAD_LOADER_PASSWORD} }
admin: { user: postgres, password: \${MASKLOAD_ADMIN_PASSWORD} }
accounts:
  analyst: { user: $2_analyst, password: \${MASKLOAD_ANALYST_PASSWORD} }
  steward: { user: $2_steward, password: \${MASKLOAD_STEWARD_PASSWORD} }
pii: { digest_key_file: $BENCH_DIR/digest.key }
load: { batch_size: $BENCH_BATCH, method: $BENCH_METHOD, prefetch_pages: $BENCH_PREFETCH, writer: $BENCH_WRITER, parallel_streams: $BENCH_PARALLEL }
sources:
  api: { base_url: "http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1", page_size: $BENCH_PAGE }
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
YAML
}

# pg_size: steps (a), (a2) and (b) on PostgreSQL for the size in $users,
# $messages
pg_size() {
  local P=bench_a cfg="$BENCH_DIR/pg-a.yaml" r out="$PG_DIR/export"
  pg postgres "DROP DATABASE IF EXISTS $P WITH (FORCE)"
  for r in loader analyst steward; do
    pg postgres "DROP ROLE IF EXISTS ${P}_$r; DROP ROLE IF EXISTS maskload_${P}_$r"
  done
  pg_write_config "$cfg" "$P"
  t=$(now); "$ML" -c "$cfg" init >"$BENCH_DIR/pg-init.log" 2>&1 || { cat "$BENCH_DIR/pg-init.log" >&2; exit 1; }
  t_init=$(calc %.2f "$(now) - $t")
  pg_settle $P
  quiet; cpu0=$(pg_server_cpu); api0=$(api_cpu); t=$(now)
  /usr/bin/time -v "$ML" -v -c "$cfg" run >"$BENCH_DIR/pg-run-$users.log" 2>&1 || { cat "$BENCH_DIR/pg-run-$users.log" >&2; exit 1; }
  t_a=$(calc %.2f "$(now) - $t"); pg_settle $P; cpu_srv=$(calc %.2f "$(pg_server_cpu) - $cpu0")
  cpu_api=$(calc %.2f "$(api_cpu) - $api0")
  u_a=$(sed -n 's/.*User time (seconds): //p' "$BENCH_DIR/pg-run-$users.log")
  s_a=$(sed -n 's/.*System time (seconds): //p' "$BENCH_DIR/pg-run-$users.log")
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$BENCH_DIR/pg-run-$users.log")
  PG_STAGE_LINES+=("$users:$messages: wall $t_a s; loader CPU user $u_a s + system $s_a s; server CPU $cpu_srv s; fixture API CPU $cpu_api s, its peak RSS so far $(api_rss) MiB")
  while IFS= read -r l; do PG_STAGE_LINES+=("  ${l#*debug: }"); done < <(grep 'stages (' "$BENCH_DIR/pg-run-$users.log")
  local n_users n_subs n_msgs rows
  n_users=$(pg $P "SELECT count(*) FROM maskload.users_raw")
  n_subs=$(pg $P "SELECT count(*) FROM maskload.subscriptions_raw")
  n_msgs=$(pg $P "SELECT count(*) FROM maskload.messages_raw")
  rows=$((n_users + n_subs + n_msgs))
  if [ "$n_users:$n_subs:$n_msgs" != "$EXPECT_USERS:$EXPECT_SUBSCRIPTIONS:$EXPECT_MESSAGES" ]; then
    echo "bench: FAIL: postgres (a) loaded $n_users:$n_subs:$n_msgs rows, the generator expects $EXPECT_USERS:$EXPECT_SUBSCRIPTIONS:$EXPECT_MESSAGES" >&2
    FAIL=1
  fi

  # (a2) the rerun: no stream-table row written, every checksum unchanged.
  # A backend reports its table counters when its connection ends; the
  # pause lets the last one of the run land before the first count.
  local sum_a w0 w1 t_rerun sum_a2
  sum_a=$(pg_sums $P maskload)
  sleep 1; w0=$(pg_written $P)
  # the counters must have seen (a)'s rows, or they could not see the rerun's
  if [ "$w0" -lt "$rows" ]; then
    echo "bench: FAIL: postgres: pg_stat_user_tables counts $w0 rows written by (a), fewer than its $rows" >&2
    FAIL=1
  fi
  PG_STAGE_LINES+=("  stream-table rows inserted + updated + deleted by (a) (pg_stat_user_tables): $w0")
  quiet; t=$(now)
  "$ML" -v -c "$cfg" run >"$BENCH_DIR/pg-rerun-$users.log" 2>&1 || { cat "$BENCH_DIR/pg-rerun-$users.log" >&2; exit 1; }
  t_rerun=$(calc %.2f "$(now) - $t")
  PG_STAGE_LINES+=("  rerun (a2): wall $t_rerun s")
  while IFS= read -r l; do PG_STAGE_LINES+=("  ${l#*debug: }"); done < <(grep 'stages (' "$BENCH_DIR/pg-rerun-$users.log")
  sleep 1; w1=$(pg_written $P)
  sum_a2=$(pg_sums $P maskload)
  if [ "$w1" != "$w0" ] || [ "$sum_a" != "$sum_a2" ]; then
    echo "bench: FAIL: postgres: the rerun of unchanged data wrote $((w1 - w0)) stream-table rows (or changed a checksum)" >&2
    FAIL=1
  fi

  # (b) the ceiling: the server's own COPY FROM a file of exactly those rows
  local t_b cpu_b same=yes
  rm -rf "$out"/*.tsv
  pg $P "DROP SCHEMA IF EXISTS bench_b CASCADE; CREATE SCHEMA bench_b"
  for tb in $TABLES; do
    pg $P "CREATE TABLE bench_b.$tb (LIKE maskload.$tb INCLUDING ALL); COPY maskload.$tb TO '$out/$tb.tsv'"
  done
  local load_sql=""
  for tb in $TABLES; do load_sql+="COPY bench_b.$tb FROM '$out/$tb.tsv';"; done
  quiet; cpu0=$(pg_server_cpu); t=$(now); pg $P "$load_sql"; t_b=$(calc %.2f "$(now) - $t")
  sleep 0.5; cpu_b=$(calc %.2f "$(pg_server_cpu) - $cpu0")
  PG_STAGE_LINES+=("  ceiling (COPY FROM file): wall $t_b s; server CPU $cpu_b s")
  [ "$sum_a" = "$(pg_sums $P bench_b)" ] ||
    { same=NO; FAIL=1; echo "bench: FAIL: postgres: the row checksums of (a) and (b) differ" >&2; }
  pg $P "DROP SCHEMA bench_b CASCADE"
  rm -f "$out"/*.tsv
  local rps_a rps_b
  rps_a=$(calc %.0f "$rows / $t_a"); rps_b=$(calc %.0f "$rows / $t_b")
  PG_RESULTS+=("$(printf '| %s | %s | %s | %s s | %s | %s s | %s | %s | %s MiB | %s s | %s | %s | %s s | %s s | %s |' \
    "$users" "$messages" "$rows" "$t_a" "$rps_a" "$t_b" "$rps_b" "$(calc %.2f "$rps_a / $rps_b")" \
    "$(calc %.1f "$rss_kb / 1024")" "$t_rerun" "$(calc %.2f "$t_rerun / $t_a")" "$((w1 - w0))" \
    "$cpu_srv" "$cpu_b" "$same")")
  echo "bench: postgres $users users / $messages messages: init $t_init s, run $t_a s, rerun $t_rerun s, ceiling $t_b s"
}

for size in $BENCH_SIZES; do
  users=${size%%:*}
  messages=${size##*:}
  data="$BENCH_DIR/data-v2-$users-$messages-$BENCH_SEED"
  files=1
  [ "$users" -le "$BENCH_FILES_MAX" ] || files=0
  if [ ! -f "$data/expected.env" ] || { [ $files = 1 ] && [ ! -f "$data/users.json" ]; }; then
    mkdir -p "$data"
    if [ $files = 1 ]; then
      echo "bench: generating $users users, $messages messages (seed $BENCH_SEED)"
      "$GEN" --users "$users" --messages "$messages" --seed "$BENCH_SEED" --out "$data"
    else
      echo "bench: counting the rows of $users users, $messages messages (seed $BENCH_SEED), served by the generator"
      "$GEN" --users "$users" --messages "$messages" --seed "$BENCH_SEED" --out "$data" --expected-only
    fi
  fi
  # shellcheck disable=SC1091
  . "$data/expected.env"
  t=$(now)
  if [ $files = 1 ]; then
    # the JSON layer alone (bench/json_speed.c): pages of BENCH_PAGE records
    for f in users messages; do
      JSON_LINES+=("$users:$messages $f: $("$JSON_SPEED" "$data/$f.json" --big-mb 0 --page-records "$BENCH_PAGE")")
    done
    echo "bench: starting the fixture API on $data ($(du -sh "$data" | cut -f1))"
    t=$(now); start_api "$data"
    SERVED="files ($(du -sh "$data" | cut -f1) of JSON, held in the fixture API's memory)"
  else
    echo "bench: starting the fixture API in generator mode ($users users, $messages messages)"
    start_api --generate "users=$users,messages=$messages,seed=$BENCH_SEED"
    SERVED="generated page by page (fixture_api --generate)"
  fi
  echo "bench: fixture API ready in $(calc %.1f "$(now) - $t") s"
  SERVED_LINES+=("$users:$messages: $SERVED")
  ! want mysql || mysql_size
  ! want postgres || pg_size
done

echo
echo "config: batch_size $BENCH_BATCH, page_size $BENCH_PAGE, method $BENCH_METHOD, prefetch_pages $BENCH_PREFETCH, writer $BENCH_WRITER and parallel_streams $BENCH_PARALLEL, seed $BENCH_SEED; warehouses: $BENCH_WAREHOUSES${NAIVE_LINE:+; naive: $NAIVE_LINE}"
echo "data: sizes up to $BENCH_FILES_MAX users served from files, larger ones generated page by page"
printf '  %s\n' "${SERVED_LINES[@]}"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo "waited for an idle machine before the timed steps: $QUIET_WAITED s in all (BENCH_QUIET_MAX=${BENCH_QUIET_MAX:-30} s each at most)"
if want mysql; then
echo
echo "MySQL (MariaDB):"
echo
echo "| users | messages | rows loaded | (a) maskload run | (a) rows/s | (b) LOAD DATA INFILE | (b) rows/s | (c) naive rows/s | a/b | a/c | loader peak RSS | surrogate cache hits | CHECKSUM a = b |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${RESULTS[@]}"
echo
echo "rerun over unchanged data (a2):"
echo
echo "| users | messages | (a) first load | (a2) rerun | rerun / first load | stream-table rows changed by the rerun |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${RERUN_LINES[@]}"
if [ ${#INLINE_LINES[@]} -gt 0 ]; then
  echo
  echo "writer thread (a) against batches written in line (a1):"
  echo
  echo "| users | messages | (a) writer thread | (a1) inline | a1 / a | server CPU (a) | server CPU (a1) | data columns a = a1 |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${INLINE_LINES[@]}"
fi
if [ ${#BATCHED_LINES[@]} -gt 0 ]; then
  echo
  echo "the ceiling one statement per table (b) and in batches of $BENCH_BATCH rows (b2), against (a):"
  echo
  echo "| users | messages | (a) maskload run | (b) one statement per table | (b2) batches of $BENCH_BATCH | a/b | a/b2 |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${BATCHED_LINES[@]}"
fi
echo
echo "where the time goes (maskload -v run, stages summed per thread; wall of both threads overlaps):"
printf '  %s\n' "${STAGE_LINES[@]}"
fi
if want postgres; then
echo
echo "PostgreSQL 15:"
echo
echo "| users | messages | rows loaded | (a) maskload run | (a) rows/s | (b) COPY FROM file | (b) rows/s | a/b | loader peak RSS | (a2) rerun | rerun / first load | stream-table rows written by the rerun | server CPU (a) | server CPU (b) | rows a = b (md5) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${PG_RESULTS[@]}"
echo
echo "where the time goes (PostgreSQL; maskload -v run):"
printf '  %s\n' "${PG_STAGE_LINES[@]}"
fi
if [ ${#JSON_LINES[@]} -gt 0 ]; then
  echo
  echo "json layer alone (split + parse + walk, one core):"
  printf '  %s\n' "${JSON_LINES[@]}"
  echo "  $("$JSON_SPEED" "$(ls -d "$BENCH_DIR"/data-v2-*/users.json | head -n 1)" --big-mb 200)"
fi
exit $FAIL
