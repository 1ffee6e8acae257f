#!/usr/bin/env bash
# `make demo`'s script on ports and in a directory of its own (beside the
# suite's MariaDB and API): it starts its MariaDB, fixture API and (where
# node allows) SQS emulator on the MASKLOAD_DEMO_*_PORT ports, loads, and
# ends by printing each seed question with its query and the analyst's
# answer; the printed analyst command works; `stop` ends what it started.
# Must-fail: a port that is not a number exits 2 and starts nothing; so does
# a WAREHOUSE that is not mysql or postgres.
# With MASKLOAD_TEST_WAREHOUSE=postgres (test_64_demo@pg) the same for `make
# demo WAREHOUSE=postgres`: its PostgreSQL (scripts/dev-pg) on
# MASKLOAD_DEMO_PG_PORT, no SQS emulator, the answers of queries/postgres/,
# and the printed psql command (a mode-600 PGPASSFILE) as the analyst, who is
# denied the surrogate table.
. "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$MASKLOAD_BIN")
[ -x "$BUILD/maskload" ] || { echo "# skip: $BUILD/maskload (the release binary the demo runs) not built"; exit 77; }
D="$T/demo"
DB_P=$((IT_DB_PORT + 70)) API_P=$((IT_DB_PORT + 71)) SQS_P=$((IT_DB_PORT + 72)) PG_P=$((IT_DB_PORT + 73))
demo() {
  env -u MASKLOAD_ADMIN_PASSWORD MASKLOAD_DEMO_DIR="$D" BUILD_DIR="$BUILD" WAREHOUSE="$IT_WAREHOUSE" \
    MASKLOAD_DEMO_DB_PORT="$DB_P" MASKLOAD_DEMO_API_PORT="$API_P" MASKLOAD_DEMO_SQS_PORT="$SQS_P" \
    MASKLOAD_DEMO_PG_PORT="$PG_P" \
    "$SOURCE_DIR/scripts/demo" "$@"
}
stop_demo() { demo stop >/dev/null 2>&1 || true; }
trap stop_demo EXIT

# must-fail: a port that is no port number
set +e
OUT=$(MASKLOAD_DEMO_DIR="$D" MASKLOAD_DEMO_API_PORT=80x "$SOURCE_DIR/scripts/demo" 2>&1); RC=$?
set -e
assert_eq 2 "$RC" "a bad MASKLOAD_DEMO_API_PORT exits 2"
assert_contains "$OUT" "port '80x' (MASKLOAD_DEMO_*_PORT) is not a port number" "and names the value"
[ -e "$D/mariadb" ] && not_ok "nothing started for a bad port" || ok "nothing started for a bad port"
set +e
OUT=$(MASKLOAD_DEMO_DIR="$D" WAREHOUSE=oracle "$SOURCE_DIR/scripts/demo" 2>&1); RC=$?
set -e
assert_eq 2 "$RC" "a WAREHOUSE that is not mysql or postgres exits 2"
assert_contains "$OUT" "WAREHOUSE 'oracle' is not mysql or postgres" "and names the value"
[ -e "$D/secrets.env" ] && not_ok "nothing started for a bad WAREHOUSE" || ok "nothing started for a bad WAREHOUSE"

set +e
OUT=$(demo start 2>&1); RC=$?
set -e
echo "$OUT" >"$T/demo.log"
assert_eq 0 "$RC" "the demo runs on its own ports (log: $T/demo.log)"
if [ "$IT_WAREHOUSE" = postgres ]; then
  assert_contains "$OUT" "PostgreSQL on 127.0.0.1:$PG_P" "PostgreSQL on MASKLOAD_DEMO_PG_PORT"
  assert_contains "$OUT" "no SQS stream with PostgreSQL" "no SQS emulator, and the demo says why"
  assert_not_contains "$OUT" "MariaDB on" "no MariaDB started"
  (exec 3<>"/dev/tcp/127.0.0.1/$PG_P") 2>/dev/null && ok "PostgreSQL listens on $PG_P" || not_ok "no PostgreSQL on $PG_P"
  [ -e "$D/mariadb" ] && not_ok "a MariaDB data directory in MASKLOAD_DEMO_DIR" || ok "no MariaDB data directory"
  assert_eq 600 "$(stat -c %a "$D/analyst.pgpass")" "the analyst's password file is mode 600"
else
  assert_contains "$OUT" "MariaDB on 127.0.0.1:$DB_P" "MariaDB on MASKLOAD_DEMO_DB_PORT"
  assert_contains "$OUT" "SQS emulator on 127.0.0.1:$SQS_P" "the emulator on MASKLOAD_DEMO_SQS_PORT"
  [ -d "$D/mariadb" ] && ok "the MariaDB data is in MASKLOAD_DEMO_DIR" || not_ok "no $D/mariadb"
  assert_eq 600 "$(stat -c %a "$D/analyst.cnf")" "the analyst's option file is mode 600"
fi
assert_contains "$OUT" "fixture API on 127.0.0.1:$API_P" "the API on MASKLOAD_DEMO_API_PORT"
curl -fsS --max-time 2 "http://127.0.0.1:$API_P/health" >/dev/null && ok "the API answers on $API_P" || not_ok "no API on $API_P"
[ -e "$SOURCE_DIR/.local/demo.env" ] && grep -q "MASKLOAD_DEMO_DIR=$D" "$SOURCE_DIR/.local/demo.env" &&
  not_ok "the repo's .local was written" || ok "the repo's own .local is left alone"
assert_eq 600 "$(stat -c %a "$D/digest.key")" "the digest key is mode 600"

# every seed question (of the warehouse's dialect): its text, its query, an answer table
for f in "$SOURCE_DIR"/queries/$(wh_pick "" postgres/)[0-9]*.sql; do
  view=analysis_$(basename "$f" .sql | sed 's/^[0-9]*_//')
  first=$(sed -n '1s/^-- \{0,1\}//p' "$f")
  assert_contains "$OUT" "$first" "the question of $view is printed"
  assert_contains "$OUT" "SELECT * FROM $view;" "with its query"
  block=$(awk -v q="SELECT * FROM $view;" 'index($0, q) { on = 1; next } on && /^\+/ { n++ } on && n == 3 { exit } on' <<<"$OUT")
  rows=$(grep -c '^| ' <<<"$block" || true)
  [ "$rows" -ge 2 ] && ok "$view: answered ($((rows - 1)) rows)" || not_ok "$view: no answer rows after its query: $block"
done

# the printed command, as printed, connects as the analyst, who sees no PII table
if [ "$IT_WAREHOUSE" = postgres ]; then
  cmd=$(grep -m1 -- 'PGPASSFILE=' <<<"$OUT" | sed 's/^ *//')
  assert_eq "PGPASSFILE=$D/analyst.pgpass psql -h 127.0.0.1 -p $PG_P -U analyst -d spark_dwh" "$cmd" "the analyst command names the demo's password file"
  analyst_sql() { eval "env -u PGPASSWORD $cmd -X -At -c \"\$1\"" 2>&1; }
  # must-fail companion: without the password file the command cannot log in
  nopass=$(env -u PGPASSWORD PGPASSFILE=/dev/null psql -h 127.0.0.1 -p "$PG_P" -U analyst -d spark_dwh -X -w -At -c "SELECT 1" 2>&1 || true)
  assert_contains "$nopass" "password" "without the password file psql cannot log in as the analyst"
else
  cmd=$(grep -m1 -- '--defaults-extra-file=' <<<"$OUT" | sed 's/^ *//')
  assert_eq "mariadb --defaults-extra-file=$D/analyst.cnf" "$cmd" "the analyst command names the demo's option file"
  analyst_sql() { mariadb --defaults-extra-file="$D/analyst.cnf" -N -B -e "$1" 2>&1; }
fi
users=$(analyst_sql "SELECT COUNT(*) FROM users_raw" || true)
[[ "$users" =~ ^[1-9][0-9]*$ ]] && ok "as the analyst: $users users" || not_ok "the analyst cannot read users_raw: $users"
denied=$(analyst_sql "SELECT COUNT(*) FROM sensitive_city_ids" || true)
assert_contains "$denied" "$(wh_pick denied "permission denied")" "and is denied the surrogate table"
# the printed follow-up commands work with the kept ports
st=$( (. "$D/demo.env"; "$BUILD/maskload" -c "$SOURCE_DIR/$(wh_pick maskload.yaml maskload-postgres.yaml)" status) 2>&1 || true)
assert_contains "$st" "succeeded" "'. demo.env' then status shows the demo's runs"

demo stop >"$T/stop.log" 2>&1 || true
trap - EXIT # stopped; a second stop would make the directory removed below again
# a server directory of its own outside the demo's (run as root): removed
# with the demo's directory, as a new one gets a new id
pgdata=$(sed -n 's/^dev-pg: started (.*, data \(.*\)\/data)$/\1/p' <<<"$OUT")
case "$pgdata" in "${TMPDIR:-/tmp}"/maskload-demo-pg-*) rm -rf -- "$pgdata" ;; esac
if curl -fsS --max-time 1 "http://127.0.0.1:$API_P/health" >/dev/null 2>&1; then not_ok "the API still runs after stop"; else ok "stop ends the API"; fi
if [ "$IT_WAREHOUSE" = postgres ]; then
  if (exec 3<>"/dev/tcp/127.0.0.1/$PG_P") 2>/dev/null; then not_ok "PostgreSQL still listens after stop"; else ok "stop ends PostgreSQL"; fi
else
  if (exec 3<>"/dev/tcp/127.0.0.1/$DB_P") 2>/dev/null; then not_ok "MariaDB still listens after stop"; else ok "stop ends MariaDB"; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$SQS_P") 2>/dev/null; then not_ok "the emulator still listens after stop"; else ok "stop ends the emulator"; fi
fi
finish
