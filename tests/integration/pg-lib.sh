# Helpers of the PostgreSQL tests (sourced after lib.sh): the PostgreSQL 15
# started by pg.sh; a skip (exit 77) when it could not start.
: "${PG_DIR:?}" "${PG_DRIVER_BIN:?}"
if [ -f "$PG_DIR/skip" ]; then
  echo "SKIP: $(cat "$PG_DIR/skip")"
  exit 77
fi
if [ ! -f "$PG_DIR/pg.env" ]; then
  echo "SKIP: the PostgreSQL fixture did not run ($PG_DIR/pg.env missing)"
  exit 77
fi
# shellcheck disable=SC1091
. "$PG_DIR/pg.env"
export PG_PORT

# psql_as USER PASSWORD DB QUERY -> unaligned rows, no headers; the password
# travels in the environment, never in argv
psql_as() {
  PGPASSWORD="$2" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
    -U "$1" -d "$3" -At -c "$4"
}
psql_admin() { psql_as postgres "$MASKLOAD_ADMIN_PASSWORD" "$1" "$2"; }

# pg_fresh DB : drops DB and the roles and accounts named after it
# (maskload_DB_loader|analyst|steward, DB_loader|analyst|steward), so a
# test starts clean; then creates DB
pg_fresh() {
  local db=$1 r
  psql_admin postgres "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  for r in loader analyst steward; do
    psql_admin postgres "DROP ROLE IF EXISTS \"${db}_$r\"; DROP ROLE IF EXISTS \"maskload_${db}_$r\""
  done
  psql_admin postgres "CREATE DATABASE \"$db\""
}

# pg_driver CMD : runs the test driver against database $PG_DATABASE,
# schema $PG_SCHEMA; its ok/not ok lines are counted as this test's
pg_driver() {
  local out rc line
  set +e
  out=$("$PG_DRIVER_BIN" "$1" 2>&1)
  rc=$?
  set -e
  while IFS= read -r line; do
    case "$line" in
      "ok - "*) ok "$1: ${line#ok - }" ;;
      "not ok - "*) not_ok "$1: ${line#not ok - }" ;;
      *) echo "$line" ;;
    esac
  done <<<"$out"
  assert_eq 0 "$rc" "pg_driver $1 exits 0"
}
