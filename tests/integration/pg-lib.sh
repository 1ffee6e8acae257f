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

# pg_drop DB : drops DB and the roles and accounts named after it
# (maskload_DB_loader|analyst|steward, DB_loader|analyst|steward), so a
# test starts from an empty server
pg_drop() {
  local db=$1 r
  local PGOPTIONS='-c client_min_messages=warning' # no "does not exist, skipping"
  export PGOPTIONS
  psql_admin postgres "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  for r in loader analyst steward; do
    psql_admin postgres "DROP ROLE IF EXISTS \"${db}_$r\"; DROP ROLE IF EXISTS \"maskload_${db}_$r\""
  done
}

# pg_fresh DB : pg_drop DB, then creates DB
pg_fresh() {
  pg_drop "$1"
  psql_admin postgres "CREATE DATABASE \"$1\""
}

# pg_config_head DB [SCHEMA] : the warehouse, admin and accounts sections of a
# test config for a PostgreSQL warehouse DB on the suite's server (schema
# SCHEMA, default maskload), its accounts DB_loader, DB_analyst and
# DB_steward (pg_drop removes them); secrets as ${VAR} references
pg_config_head() {
  cat <<YAML
warehouse:
  kind: postgres
  host: 127.0.0.1
  port: $PG_PORT
  database: $1
  schema: ${2:-maskload}
  user: $1_loader
  password: \${MASKLOAD_LOADER_PASSWORD}
admin:
  password: \${MASKLOAD_ADMIN_PASSWORD}
accounts:
  analyst: { user: $1_analyst, password: \${MASKLOAD_ANALYST_PASSWORD} }
  steward: { user: $1_steward, password: \${MASKLOAD_STEWARD_PASSWORD} }
YAML
}

# pg_tables DB [SCHEMA] : the base tables of the schema, one a line, sorted
pg_tables() {
  psql_admin "$1" "SELECT table_name FROM information_schema.tables WHERE table_schema = '${2:-maskload}' AND table_type = 'BASE TABLE' ORDER BY 1"
}

# pg_snapshot DB : what init may change, as text to compare: the schema-only
# dump (objects, comments, privileges, default privileges; its random
# \restrict key left out), the database's privileges, and the roles named
# after DB with their memberships, settings and password verifiers
pg_snapshot() {
  PGPASSWORD="$MASKLOAD_ADMIN_PASSWORD" pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres -s "$1" |
    grep -v '^\\\(un\)\?restrict '
  psql_admin postgres "SELECT datacl FROM pg_database WHERE datname = '$1'"
  psql_admin postgres "SELECT r.rolname, r.rolcanlogin, (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid), r.rolpassword, (SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_authid g ON g.oid = m.roleid WHERE m.member = r.oid) FROM pg_authid r WHERE r.rolname LIKE '%$1%' ORDER BY 1"
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
