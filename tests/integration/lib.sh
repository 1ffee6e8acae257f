# Shared helpers of the integration tests (sourced, bash).
# The environment (MariaDB + fixture API) is started by env.sh start and
# described in $WORK_DIR/env.sh.
set -euo pipefail

: "${WORK_DIR:?}" "${MASKLOAD_BIN:?}" "${SOURCE_DIR:?}"
if [ ! -f "$WORK_DIR/env.sh" ]; then
  echo "integration environment not started ($WORK_DIR/env.sh missing)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$WORK_DIR/env.sh"

FIXTURES="$SOURCE_DIR/tests/fixtures/api"
# shellcheck disable=SC1091
. "$FIXTURES/expected.env"
TEST_NAME=$(basename "$0" .sh)
T="$WORK_DIR/$TEST_NAME"
rm -rf "$T"
mkdir -p "$T"
FAILS=0
PASSES=0

ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }

# assert_eq EXPECTED ACTUAL DESCRIPTION
assert_eq() {
  if [ "$1" == "$2" ]; then ok "$3"; else not_ok "$3: expected [$1], got [$2]"; fi
}
# assert_contains HAYSTACK NEEDLE DESCRIPTION
assert_contains() {
  if [[ "$1" == *"$2"* ]]; then ok "$3"; else not_ok "$3: [$2] not in [$1]"; fi
}
assert_not_contains() {
  if [[ "$1" != *"$2"* ]]; then ok "$3"; else not_ok "$3: [$2] unexpectedly in [$1]"; fi
}

finish() {
  echo "# $TEST_NAME: $PASSES passed, $FAILS failed"
  [ "$FAILS" -eq 0 ]
}

# sql USER PASSWORD [DB] QUERY -> tab-separated rows, no headers
sql_as() {
  local user=$1 pass=$2 db=$3 q=$4
  MYSQL_PWD="$pass" mariadb --no-defaults --default-character-set=utf8mb4 -h 127.0.0.1 -P "$IT_DB_PORT" -u "$user" \
    ${db:+-D "$db"} -N -B -e "$q"
}
sql_admin() { sql_as root "$MASKLOAD_ADMIN_PASSWORD" "$1" "$2"; }
# as_analyst DB QUERY / as_steward DB QUERY: through the real client as the
# configured analyst / steward account (write_config's), stderr included
as_analyst() { sql_as analyst "$MASKLOAD_ANALYST_PASSWORD" "$1" "$2" 2>&1; }
as_steward() { sql_as pii_steward "$MASKLOAD_STEWARD_PASSWORD" "$1" "$2" 2>&1; }

# write_config FILE DATABASE [extra yaml appended]; $WRITE_CONFIG_LOAD, when set, is
# added to its load section (indented keys)
write_config() {
  local file=$1 db=$2 extra=${3:-}
  cat >"$file" <<YAML
$(config_head "$db")
$(pii_section)
load:
  batch_size: 7
${WRITE_CONFIG_LOAD:-}
sources:
  api:
    base_url: http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1
    page_size: 4
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
$extra
YAML
}

# ml ARGS... : runs maskload, output in $OUT, status in $RC
ml() {
  set +e
  OUT=$("$MASKLOAD_BIN" "$@" 2>&1)
  RC=$?
  set -e
}

# pii_section [KEY_FILE] : the pii section of a test config: keyed surrogate
# digests with KEY_FILE (default: the environment's generated key file,
# $MASKLOAD_DIGEST_KEY_FILE, mode 600, outside the database)
pii_section() {
  printf 'pii:\n  digest_key_file: %s\n' "${1:-$MASKLOAD_DIGEST_KEY_FILE}"
}

# new_key_file NAME [CONTENT] : writes a key file $T/NAME.key (mode 600) holding
# CONTENT, or a new random key (openssl rand -hex 32), and prints its path
new_key_file() {
  local f="$T/$1.key"
  (umask 077; if [ $# -ge 2 ]; then printf '%s\n' "$2"; else openssl rand -hex 32; fi >"$f")
  echo "$f"
}

# digest_key : the environment's digest key (the first line of its file), for
# tests that compute an expected HMAC themselves
digest_key() { head -n1 "$MASKLOAD_DIGEST_KEY_FILE"; }

# fresh_db NAME : drops the database so a test starts clean
# config_head DB : the warehouse, admin and accounts sections of a test
# config for database DB (secrets as ${VAR} references, never values).
config_head() {
  cat <<YAML
warehouse:
  host: 127.0.0.1
  port: $IT_DB_PORT
  database: $1
  user: maskload_loader
  password: \${MASKLOAD_LOADER_PASSWORD}
admin:
  user: root
  password: \${MASKLOAD_ADMIN_PASSWORD}
accounts:
  analyst: { user: analyst, password: \${MASKLOAD_ANALYST_PASSWORD} }
  steward: { user: pii_steward, password: \${MASKLOAD_STEWARD_PASSWORD} }
YAML
}

# fresh_db DB : drops DB and the table and routine grants left on it (DROP
# DATABASE keeps them, and a rerun in the same environment would see the last
# run's grants).
fresh_db() {
  sql_admin "" "DROP DATABASE IF EXISTS \`$1\`"
  sql_admin "" "DELETE FROM mysql.tables_priv WHERE Db='$1'; DELETE FROM mysql.procs_priv WHERE Db='$1'; FLUSH PRIVILEGES"
}

# start_api DATA_DIR [FIXTURE_API ARGS...] : serves DATA_DIR with a second
# fixture_api on a free loopback port (stopping the one this test started
# before, if any) and sets API_PORT; the server is stopped when the test exits.
API_PID=
start_api() {
  if [ -n "$API_PID" ]; then
    kill "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
  rm -f "$T/api.port"
  setsid "$FIXTURE_API_BIN" --data "$1" --port 0 --port-file "$T/api.port" "${@:2}" >"$T/api.log" 2>&1 </dev/null &
  API_PID=$!
  trap '[ -z "$API_PID" ] || kill "$API_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    [ -s "$T/api.port" ] && break
    sleep 0.1
  done
  [ -s "$T/api.port" ] || { cat "$T/api.log"; echo "fixture_api did not start"; exit 1; }
  API_PORT=$(cat "$T/api.port")
}
