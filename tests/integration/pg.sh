#!/usr/bin/env bash
# Starts/stops the PostgreSQL 15 of the PostgreSQL tests (scripts/dev-pg) in
# $PG_DIR/server, with the integration environment's admin password. Writes
# $PG_DIR/pg.env for the tests, or $PG_DIR/skip with the reason when the
# server cannot start here (the tests then exit 77, a skip).
set -euo pipefail
: "${WORK_DIR:?}" "${SOURCE_DIR:?}" "${PG_DIR:?}"
# the port derived from the environment's MariaDB port (3317 -> 3322), so
# that builds using other MASKLOAD_TEST_DB_PORTs on one machine get other
# servers; MASKLOAD_TEST_PG_PORT sets it on its own
PORT=${MASKLOAD_TEST_PG_PORT:-$(( ${MASKLOAD_TEST_DB_PORT:-3317} + 5 ))}
PG_BIN=${MASKLOAD_PG_BIN:-/usr/lib/postgresql/15/bin}

# The server's directory: $PG_DIR/server, unless the server's user (postgres,
# when we are root) cannot reach it (a build tree under a mode-700 home):
# then a directory of its own under ${TMPDIR:-/tmp}, named after PG_DIR. The
# skip and pg.env files stay in $PG_DIR.
server_dir() {
  local d=$PG_DIR/server
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ] && id -u "${MASKLOAD_PG_USER:-postgres}" >/dev/null 2>&1 &&
    ! runuser -u "${MASKLOAD_PG_USER:-postgres}" -- test -x "$PG_DIR"; then
    d=${TMPDIR:-/tmp}/maskload-pg-$(printf '%s' "$PG_DIR" | sha256sum | cut -c1-16)
  fi
  echo "$d"
}

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
  # TLS: a CA, a server certificate for "localhost" (not 127.0.0.1: the
  # tests check that verify_identity refuses that name), and an unrelated
  # CA that must not verify it; none when openssl is missing
  local tls=() d="$PG_DIR/tls"
  if command -v openssl >/dev/null; then
    if [ ! -s "$d/server-cert.pem" ] ||
      ! openssl x509 -checkend 86400 -noout -in "$d/server-cert.pem" >/dev/null 2>&1; then
      rm -rf "$d"
      mkdir -p "$d"
      (
        cd "$d"
        for ca in ca wrong-ca; do
          openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$ca-key.pem" -out "$ca.pem" -days 30 -subj "/CN=maskload pg test $ca"
        done
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
          -keyout server-key.pem -out server.csr -subj "/CN=localhost"
        printf 'subjectAltName = DNS:localhost\n' >san.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
          -out server-cert.pem -days 30 -extfile san.ext
      ) >"$WORK_DIR/pg-tls.log" 2>&1 || rm -rf "$d"
    fi
    [ -s "$d/server-cert.pem" ] && tls=(on) && export MASKLOAD_PG_TLS_DIR="$d"
  fi
  # the admin password: exported by secrets.env, never in argv
  export MASKLOAD_ADMIN_PASSWORD
  local dir
  dir=$(server_dir)
  if ! "$SOURCE_DIR/scripts/dev-pg" start \
    --dir "$dir" --port "$PORT" >"$WORK_DIR/pg-start.log" 2>&1; then
    tail -n 30 "$WORK_DIR/pg-start.log"
    skip "the server did not start (see $WORK_DIR/pg-start.log)"
  fi
  cat "$WORK_DIR/pg-start.log"
  {
    echo "export PG_PORT=$PORT PG_SERVER_DIR=$dir"
    [ ${#tls[@]} -eq 0 ] || echo "export PG_TLS_CA=$d/ca.pem PG_TLS_WRONG_CA=$d/wrong-ca.pem"
  } >"$PG_DIR/pg.env"
}

case "${1:-}" in
  start) start ;;
  stop) "$SOURCE_DIR/scripts/dev-pg" stop --dir "$(server_dir)" --port "$PORT" || true ;;
  *) echo "usage: pg.sh start|stop" >&2; exit 2 ;;
esac
