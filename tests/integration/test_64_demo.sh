#!/usr/bin/env bash
# `make demo`'s script on ports and in a directory of its own (beside the
# suite's MariaDB and API): it starts its MariaDB, fixture API and (where
# node allows) SQS emulator on the MASKLOAD_DEMO_*_PORT ports, loads, and
# ends by printing each seed question with its query and the analyst's
# answer; the printed analyst command works; `stop` ends what it started.
# Must-fail: a port that is not a number exits 2 and starts nothing.
. "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$MASKLOAD_BIN")
[ -x "$BUILD/maskload" ] || { echo "# skip: $BUILD/maskload (the release binary the demo runs) not built"; exit 77; }
D="$T/demo"
DB_P=$((IT_DB_PORT + 70)) API_P=$((IT_DB_PORT + 71)) SQS_P=$((IT_DB_PORT + 72))
demo() {
  env -u MASKLOAD_ADMIN_PASSWORD MASKLOAD_DEMO_DIR="$D" BUILD_DIR="$BUILD" \
    MASKLOAD_DEMO_DB_PORT="$DB_P" MASKLOAD_DEMO_API_PORT="$API_P" MASKLOAD_DEMO_SQS_PORT="$SQS_P" \
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
OUT=$(demo start 2>&1); RC=$?
set -e
echo "$OUT" >"$T/demo.log"
assert_eq 0 "$RC" "the demo runs on its own ports (log: $T/demo.log)"
assert_contains "$OUT" "MariaDB on 127.0.0.1:$DB_P" "MariaDB on MASKLOAD_DEMO_DB_PORT"
assert_contains "$OUT" "fixture API on 127.0.0.1:$API_P" "the API on MASKLOAD_DEMO_API_PORT"
assert_contains "$OUT" "SQS emulator on 127.0.0.1:$SQS_P" "the emulator on MASKLOAD_DEMO_SQS_PORT"
curl -fsS --max-time 2 "http://127.0.0.1:$API_P/health" >/dev/null && ok "the API answers on $API_P" || not_ok "no API on $API_P"
[ -d "$D/mariadb" ] && ok "the MariaDB data is in MASKLOAD_DEMO_DIR" || not_ok "no $D/mariadb"
[ -e "$SOURCE_DIR/.local/demo.env" ] && grep -q "MASKLOAD_DEMO_DIR=$D" "$SOURCE_DIR/.local/demo.env" &&
  not_ok "the repo's .local was written" || ok "the repo's own .local is left alone"
assert_eq 600 "$(stat -c %a "$D/analyst.cnf")" "the analyst's option file is mode 600"
assert_eq 600 "$(stat -c %a "$D/digest.key")" "the digest key is mode 600"

# every seed question: its text, its query, an answer table
for f in "$SOURCE_DIR"/queries/[0-9]*.sql; do
  view=analysis_$(basename "$f" .sql | sed 's/^[0-9]*_//')
  first=$(sed -n '1s/^-- \{0,1\}//p' "$f")
  assert_contains "$OUT" "$first" "the question of $view is printed"
  assert_contains "$OUT" "SELECT * FROM $view;" "with its query"
  block=$(awk -v q="SELECT * FROM $view;" 'index($0, q) { on = 1; next } on && /^\+/ { n++ } on && n == 3 { exit } on' <<<"$OUT")
  rows=$(grep -c '^| ' <<<"$block" || true)
  [ "$rows" -ge 2 ] && ok "$view: answered ($((rows - 1)) rows)" || not_ok "$view: no answer rows after its query: $block"
done

# the printed command, as printed, connects as the analyst, who sees no PII table
cmd=$(grep -m1 -- '--defaults-extra-file=' <<<"$OUT" | sed 's/^ *//')
assert_eq "mariadb --defaults-extra-file=$D/analyst.cnf" "$cmd" "the analyst command names the demo's option file"
users=$(mariadb --defaults-extra-file="$D/analyst.cnf" -N -B -e "SELECT COUNT(*) FROM users_raw" 2>&1 || true)
[[ "$users" =~ ^[1-9][0-9]*$ ]] && ok "as the analyst: $users users" || not_ok "the analyst cannot read users_raw: $users"
denied=$(mariadb --defaults-extra-file="$D/analyst.cnf" -N -B -e "SELECT COUNT(*) FROM sensitive_city_ids" 2>&1 || true)
assert_contains "$denied" "denied" "and is denied the surrogate table"
# the printed follow-up commands work with the kept ports
st=$( (. "$D/demo.env"; "$BUILD/maskload" -c "$SOURCE_DIR/maskload.yaml" status) 2>&1 || true)
assert_contains "$st" "succeeded" "'. demo.env' then status shows the demo's runs"

demo stop >"$T/stop.log" 2>&1 || true
if curl -fsS --max-time 1 "http://127.0.0.1:$API_P/health" >/dev/null 2>&1; then not_ok "the API still runs after stop"; else ok "stop ends the API"; fi
if (exec 3<>"/dev/tcp/127.0.0.1/$DB_P") 2>/dev/null; then not_ok "MariaDB still listens after stop"; else ok "stop ends MariaDB"; fi
if (exec 3<>"/dev/tcp/127.0.0.1/$SQS_P") 2>/dev/null; then not_ok "the emulator still listens after stop"; else ok "stop ends the emulator"; fi
finish
