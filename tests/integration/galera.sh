#!/usr/bin/env bash
# Starts/stops the three-node Galera cluster of the cluster tests
# (scripts/dev-galera) in $GALERA_DIR, with the integration environment's
# root password. Writes $GALERA_DIR/galera.env for the tests, or
# $GALERA_DIR/skip with the reason when the cluster cannot start here (the
# tests then exit 77, a skip).
set -euo pipefail
: "${WORK_DIR:?}" "${SOURCE_DIR:?}" "${GALERA_DIR:?}"
# ports derived from the environment's MariaDB port (3317 -> 3370, 4570,
# 4580, 4590), so that builds using other MASKLOAD_TEST_DB_PORTs on one
# machine get other clusters; each can be set on its own
base=$(( ${MASKLOAD_TEST_DB_PORT:-3317} + 53 ))
PORT=${MASKLOAD_TEST_GALERA_PORT:-$base}
GCOMM=${MASKLOAD_TEST_GALERA_GCOMM_PORT:-$((base + 1200))}
IST=${MASKLOAD_TEST_GALERA_IST_PORT:-$((base + 1210))}
SST=${MASKLOAD_TEST_GALERA_SST_PORT:-$((base + 1220))}
args=(--dir "$GALERA_DIR" --port "$PORT" --gcomm-port "$GCOMM" --ist-port "$IST" --sst-port "$SST")

skip() {
  mkdir -p "$GALERA_DIR"
  echo "$*" >"$GALERA_DIR/skip"
  rm -f "$GALERA_DIR/galera.env"
  echo "galera: the cluster tests will be skipped: $*"
  exit 0
}

start() {
  # shellcheck disable=SC1091
  . "$WORK_DIR/secrets.env"
  rm -f "$GALERA_DIR/skip" "$GALERA_DIR/galera.env"
  [ -r "${MASKLOAD_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}" ] ||
    skip "no Galera provider (install galera-4)"
  command -v rsync >/dev/null || skip "rsync missing (Galera state transfer)"
  if ! "$SOURCE_DIR/scripts/dev-galera" start "${args[@]}" >"$WORK_DIR/galera-start.log" 2>&1; then
    tail -n 30 "$WORK_DIR/galera-start.log"
    skip "the cluster did not start (see $WORK_DIR/galera-start.log)"
  fi
  cat "$WORK_DIR/galera-start.log"
  {
    echo "export GALERA_PORT=$PORT GALERA_GCOMM_PORT=$GCOMM GALERA_IST_PORT=$IST GALERA_SST_PORT=$SST"
    echo "export GALERA_DIR=$GALERA_DIR"
  } >"$GALERA_DIR/galera.env"
}

case "${1:-}" in
  start) start ;;
  stop) "$SOURCE_DIR/scripts/dev-galera" stop "${args[@]}" || true ;;
  *) echo "usage: galera.sh start|stop" >&2; exit 2 ;;
esac
