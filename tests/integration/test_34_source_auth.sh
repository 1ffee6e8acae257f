#!/usr/bin/env bash
# Source credentials: a fixture API that answers 401 without the right
# header. A bearer token (from ${VAR} and from token_file), a token in a
# custom header and HTTP basic auth load; a wrong token or password fails
# the run (401, exit 1, not retried). A query parameter value (`params`)
# travels in every URL, and shows as *** wherever the URL is logged or
# stored: load_runs.error_text and load_rejects.source_ref. Afterwards the
# logs of every maskload call (debug level), load_runs, load_rejects and a
# dump of the whole database are searched for the token, the password, the
# parameter value and the wrong credentials: none is found. Runs against
# either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_source_auth
fresh_db "$DB"

export ML_T_TOKEN="tok-$$-$RANDOM-5ecret-bearer"
export ML_T_PASS="pw-$$-$RANDOM-5ecret-basic"
export ML_T_QVAL="qv-$$-$RANDOM-5ecret-param"
WRONG="wrong-$$-$RANDOM-c0ffee"
BASIC=$(printf 'etl:%s' "$ML_T_PASS" | base64 -w0)
SECRETS=("$ML_T_TOKEN" "$ML_T_PASS" "$ML_T_QVAL" "$WRONG" "$BASIC")
NAMES=(token password param_value wrong_credential basic_header)
printf '%s\n' "$ML_T_TOKEN" >"$T/token"
printf '%s\n' "$ML_T_PASS" >"$T/password"

# five users and one record that is not an object (a reject, whose
# source_ref is the page URL)
mkdir -p "$T/api"
jq -c '.[0:5] + [42]' "$FIXTURES/users.json" >"$T/api/users.json"

# cfg FILE SOURCE_KEYS : a config with one http source (keys appended) and
# the users stream
cfg() {
  cat >"$1" <<YAML
$(config_head "$DB")
pii:
  digest_key_file: $MASKLOAD_DIGEST_KEY_FILE
sources:
  api:
    base_url: http://127.0.0.1:\${ML_T_API_PORT}/evaluation/dataengineer/jr/v1
    page_size: 4
    retries: 2
    retry_base_ms: 10
    params: { api_key: '\${ML_T_QVAL}', v: 2 }
$2
streams:
  users: { source: api, path: /users }
YAML
}
cfg "$T/bearer.yaml" "    auth: { type: bearer, token: '\${ML_T_TOKEN}' }"
cfg "$T/bearer_file.yaml" "    auth: { type: bearer, token_file: token }"
cfg "$T/header.yaml" "    headers: { X-Api-Key: '\${ML_T_TOKEN}', Accept: application/json }"
cfg "$T/basic.yaml" "    auth: { type: basic, user: etl, password: '\${ML_T_PASS}' }"
cfg "$T/basic_file.yaml" "    auth: { type: basic, user: etl, password_file: password }"
cfg "$T/none.yaml" ""

LOGS=""
# run_ml WANT WHAT ARGS... : maskload -v, its log kept for the search below
run_ml() {
  local want=$1 what=$2
  shift 2
  ml -v "$@"
  assert_eq "$want" "$RC" "$what exits $want"
  [ "$RC" == "$want" ] || echo "$OUT" | tail -n 5
  LOGS+=$OUT$'\n'
}
last_run() { sql_admin "$DB" "SELECT status, error_text FROM load_runs ORDER BY run_id DESC LIMIT 1"; }

# ---- bearer token
start_api "$T/api" --require-header "Authorization: Bearer $ML_T_TOKEN"
export ML_T_API_PORT=$API_PORT
run_ml 0 "init" -c "$T/bearer.yaml" init
set +e
st=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1/users")
set -e
assert_eq 401 "$st" "the fixture API refuses a request without the token"
run_ml 0 "a run with the bearer token from \${VAR}" -c "$T/bearer.yaml" run
assert_eq 5 "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw")" "the users are loaded"
assert_eq 1 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects")" "the non-object is rejected"
ref=$(sql_admin "$DB" "SELECT source_ref FROM load_rejects LIMIT 1")
assert_contains "$ref" "api_key=***&v=***&page=2&limit=4" "the reject's page URL shows the parameter values as ***"
run_ml 0 "a run with the bearer token from token_file" -c "$T/bearer_file.yaml" run
ML_T_TOKEN=$WRONG run_ml 1 "a run with a wrong bearer token" -c "$T/bearer.yaml" run
assert_contains "$OUT" "HTTP status 401" "the error says 401"
assert_contains "$OUT" "(not retried)" "a 401 is not retried"
assert_contains "$OUT" "?api_key=***&v=***&page=1&limit=4" "the error shows the URL's parameter values as ***"
run=$(last_run)
assert_contains "$run" "failed" "load_runs marks the run failed"
assert_contains "$run" "api_key=***" "load_runs.error_text shows the parameter value as ***"
assert_not_contains "$run" "$ML_T_QVAL" "load_runs.error_text does not hold the parameter value"
run_ml 1 "a run without credentials" -c "$T/none.yaml" run

# ---- a token in a custom header
start_api "$T/api" --require-header "X-Api-Key: $ML_T_TOKEN"
export ML_T_API_PORT=$API_PORT
run_ml 0 "a run with the token in headers" -c "$T/header.yaml" run
ML_T_TOKEN=$WRONG run_ml 1 "a run with a wrong token in headers" -c "$T/header.yaml" run

# ---- basic auth
start_api "$T/api" --require-header "Authorization: Basic $BASIC"
export ML_T_API_PORT=$API_PORT
run_ml 0 "a run with basic auth from \${VAR}" -c "$T/basic.yaml" run
run_ml 0 "a run with basic auth from password_file" -c "$T/basic_file.yaml" run
ML_T_PASS=$WRONG run_ml 1 "a run with a wrong password" -c "$T/basic.yaml" run
assert_contains "$OUT" "HTTP status 401" "the error says 401"
run_ml 1 "a bearer token against basic auth" -c "$T/bearer.yaml" run
run_ml 0 "status" -c "$T/basic.yaml" status
assert_eq 5 "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw")" "still the five users, no duplicates"

# ---- config errors: a query in base_url points to params/headers
sed 's|/jr/v1$|/jr/v1?api_key=${ML_T_QVAL}|' "$T/none.yaml" >"$T/query.yaml"
run_ml 2 "a base_url with a query" -c "$T/query.yaml" run
assert_contains "$OUT" "must not hold a query or fragment" "the error says why"
assert_contains "$OUT" "sources.api.params" "the error points to params"

# ---- nothing anywhere holds a credential
no_secret() {
  local text=$1 what=$2 i bad=""
  for i in "${!SECRETS[@]}"; do
    [[ "$text" == *"${SECRETS[$i]}"* ]] && bad="$bad ${NAMES[$i]}"
  done
  if [ -z "$bad" ]; then ok "no credential in $what"; else not_ok "$what holds:$bad"; fi
}
assert_contains "$LOGS" "debug:" "the logs were taken at debug level"
assert_contains "$LOGS" "api_key=***" "the logs name the URLs, redacted"
no_secret "$LOGS" "the logs of every maskload call"
no_secret "$(sql_admin "$DB" "SELECT * FROM load_runs")" "load_runs"
no_secret "$(sql_admin "$DB" "SELECT * FROM load_rejects")" "load_rejects"
dump_tables "$DB"
assert_contains "$(cat "$T"/dump_*.sql)" "$(wh_pick 'INSERT INTO `load_rejects`' 'INSERT INTO maskload.load_rejects')" "the dump holds the rejects"
no_secret "$(cat "$T"/dump_*.sql)" "a dump of the database"
finish
