#!/usr/bin/env bash
# Starts/stops the integration environment: a project-local MariaDB (via
# scripts/dev-db) and the fixture API, both on loopback, with generated
# passwords. Writes $WORK_DIR/env.sh for the tests to source.
set -euo pipefail
: "${WORK_DIR:?}" "${SOURCE_DIR:?}" "${FIXTURE_API_BIN:?}"

DB_DIR="$WORK_DIR/db"
DB_PORT=${MASKLOAD_TEST_DB_PORT:-3317}
API_PID="$WORK_DIR/fixture_api.pid"
API_PORT_FILE="$WORK_DIR/fixture_api.port"

start() {
  mkdir -p "$WORK_DIR"
  chmod 700 "$WORK_DIR"
  if [ ! -f "$WORK_DIR/secrets.env" ]; then
    umask 077
    {
      for v in MASKLOAD_ADMIN_PASSWORD MASKLOAD_LOADER_PASSWORD MASKLOAD_ANALYST_PASSWORD \
               MASKLOAD_STEWARD_PASSWORD; do
        echo "export $v=$(openssl rand -hex 16)"
      done
    } >"$WORK_DIR/secrets.env"
  fi
  # the surrogate digest key: a file of its own (mode 600), outside the
  # database, named by the test configs' pii.digest_key_file
  if [ ! -s "$WORK_DIR/digest.key" ]; then
    (umask 077; openssl rand -hex 32 >"$WORK_DIR/digest.key")
  fi
  chmod 600 "$WORK_DIR/digest.key"
  # shellcheck disable=SC1091
  . "$WORK_DIR/secrets.env"
  "$SOURCE_DIR/scripts/dev-db" start --dir "$DB_DIR" --port "$DB_PORT"

  stop_api
  rm -f "$API_PORT_FILE"
  setsid "$FIXTURE_API_BIN" --data "$SOURCE_DIR/tests/fixtures/api" --port 0 \
    --port-file "$API_PORT_FILE" >"$WORK_DIR/fixture_api.log" 2>&1 </dev/null &
  echo $! >"$API_PID"
  for _ in $(seq 1 100); do
    [ -s "$API_PORT_FILE" ] && break
    sleep 0.1
  done
  if [ ! -s "$API_PORT_FILE" ]; then
    echo "fixture API did not start:" >&2
    cat "$WORK_DIR/fixture_api.log" >&2
    exit 1
  fi
  {
    cat "$WORK_DIR/secrets.env"
    echo "export MASKLOAD_DIGEST_KEY_FILE=$WORK_DIR/digest.key"
    echo "export IT_DB_PORT=$DB_PORT"
    echo "export IT_API_PORT=$(cat "$API_PORT_FILE")"
  } >"$WORK_DIR/env.sh"
  echo "integration environment up: MariaDB on 127.0.0.1:$DB_PORT, API on port $(cat "$API_PORT_FILE")"
}

stop_api() {
  if [ -f "$API_PID" ]; then
    kill "$(cat "$API_PID")" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$(cat "$API_PID")" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$API_PID"
  fi
}

stop() {
  stop_api
  "$SOURCE_DIR/scripts/dev-db" stop --dir "$DB_DIR" --port "$DB_PORT" || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: env.sh start|stop" >&2; exit 2 ;;
esac
