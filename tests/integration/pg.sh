#!/usr/bin/env bash
# Starts/stops the PostgreSQL 15 of the PostgreSQL tests (scripts/dev-pg) in
# $PG_DIR, with the integration environment's admin password. Writes
# $PG_DIR/pg.env for the tests, or $PG_DIR/skip with the reason when the
# server cannot start here (the tests then exit 77, a skip).
set -euo pipefail
: "${WORK_DIR:?}" "${SOURCE_DIR:?}" "${PG_DIR:?}"
# the port derived from the environment's MariaDB port (3317 -> 3322), so
# that builds using other MASKLOAD_TEST_DB_PORTs on one machine get other
# servers; MASKLOAD_TEST_PG_PORT sets it on its own
PORT=${MASKLOAD_TEST_PG_PORT:-$(( ${MASKLOAD_TEST_DB_PORT:-3317} + 5 ))}
PG_BIN=${MASKLOAD_PG_BIN:-/usr/lib/postgresql/15/bin}

skip() {
  mkdir -p "$PG_DIR"
  echo "$*" >"$PG_DIR/skip"
  rm -f "$PG_DIR/pg.env"
  echo "pg: the PostgreSQL tests will be skipped: $*"
  exit 0
}

start() {
  # shellcheck disable=SC1091
  . "$WORK_DIR/secrets.env"
  mkdir -p "$PG_DIR"
  rm -f "$PG_DIR/skip" "$PG_DIR/pg.env"
  [ -x "$PG_BIN/postgres" ] || skip "no PostgreSQL 15 server in $PG_BIN (install postgresql-15)"
  command -v psql >/dev/null || skip "no psql client (install postgresql-client-15)"
  if ! MASKLOAD_ADMIN_PASSWORD="$MASKLOAD_ADMIN_PASSWORD" "$SOURCE_DIR/scripts/dev-pg" start \
    --dir "$PG_DIR" --port "$PORT" >"$WORK_DIR/pg-start.log" 2>&1; then
    tail -n 30 "$WORK_DIR/pg-start.log"
    skip "the server did not start (see $WORK_DIR/pg-start.log)"
  fi
  cat "$WORK_DIR/pg-start.log"
  echo "export PG_PORT=$PORT PG_DIR=$PG_DIR" >"$PG_DIR/pg.env"
}

case "${1:-}" in
  start) start ;;
  stop) "$SOURCE_DIR/scripts/dev-pg" stop --dir "$PG_DIR" --port "$PORT" || true ;;
  *) echo "usage: pg.sh start|stop" >&2; exit 2 ;;
esac
