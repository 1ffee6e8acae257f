#!/usr/bin/env bash
# The PostgreSQL warehouse's foundation against a real PostgreSQL 15:
# scripts/dev-pg, the pg module (connect, COPY FROM STDIN of hostile values,
# bound parameters, error classes), the generated PostgreSQL DDL of every
# built-in mapping, and the roles and privileges, checked through the real
# psql client as the analyst (an allowed table, permission denied on every
# sensitive_* table, load_rejects and a table created after the grants).
# A config of kind postgres pointed at MariaDB's port is spoken to as
# PostgreSQL, never silently as MySQL.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg-lib.sh"

DB=t70pg
export PG_DATABASE=$DB PG_SCHEMA=maskload
DEVPG="$SOURCE_DIR/scripts/dev-pg"

# --- dev-pg: status of the suite's server; its must-fails
set +e
out=$("$DEVPG" status --dir "$PG_SERVER_DIR" --port "$PG_PORT" 2>&1); rc=$?
set -e
assert_eq 0 "$rc" "dev-pg status: the suite's server is running"
assert_contains "$out" "running (pid" "dev-pg status says running"
assert_contains "$out" "127.0.0.1:$PG_PORT" "dev-pg status names its loopback port"
pid=$(head -n 1 "$PG_SERVER_DIR/data/postmaster.pid")
assert_eq postgres "$(ps -o user= -p "$pid" | tr -d ' ')" "the server runs as the postgres user, not root"
assert_not_contains "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "$MASKLOAD_ADMIN_PASSWORD" \
  "the admin password is not on the server's command line"
assert_eq "" "$(find "$PG_SERVER_DIR" -maxdepth 1 -name '.pwfile*')" "no password file is left behind"
assert_eq 127.0.0.1 "$(psql_admin postgres 'SHOW listen_addresses')" "the server listens on loopback only"
assert_eq UTC "$(psql_admin postgres 'SHOW TimeZone')" "the server runs in UTC"
set +e
out=$("$DEVPG" start --dir "$PG_SERVER_DIR" --port "$PG_PORT" 2>&1); rc=$?
set -e
assert_eq 0 "$rc" "dev-pg start of the running server is a no-op"
assert_contains "$out" "already running (pid $pid" "and says it is already running"
set +e
out=$("$DEVPG" start --dir "$PG_SERVER_DIR" --port $((PG_PORT + 1)) 2>&1); rc=$?
set -e
assert_eq 1 "$rc" "dev-pg start of the running server on another port fails"
assert_contains "$out" "already running on port $PG_PORT" "and names the port it runs on"
set +e
out=$("$DEVPG" stop --dir "$T/nothing" --port "$PG_PORT" 2>&1); rc=$?
set -e
assert_eq 0 "$rc" "dev-pg stop of a directory without a server exits 0"
assert_contains "$out" "not running" "and says not running"
set +e
out=$("$DEVPG" status --dir "$T/nothing" --port "$PG_PORT" 2>&1); rc=$?
set -e
assert_eq 3 "$rc" "dev-pg status of a directory without a server exits 3"
assert_contains "$out" "stopped" "and says stopped"
set +e
out=$("$DEVPG" start --dir "$T/busy" --port "$IT_DB_PORT" 2>&1); rc=$?
set -e
assert_eq 1 "$rc" "dev-pg start on a port another server holds fails"
assert_contains "$out" "already in use" "and says the port is in use"
set +e
out=$("$DEVPG" start --dir "$T/busy" --port 0 2>&1); rc=$?
set -e
assert_eq 2 "$rc" "dev-pg start with port 0 is a usage error"
set +e
out=$(PGPASSWORD=not-the-password psql -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atc 'SELECT 1' 2>&1); rc=$?
set -e
assert_eq 2 "$rc" "the superuser with a wrong password is refused over TCP"
assert_contains "$out" "password authentication failed" "by password authentication"

pg_fresh "$DB"

# --- the generated DDL of every built-in mapping
pg_driver ddl
tables=$(psql_admin "$DB" "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'maskload'")
for t in users_raw subscriptions_raw messages_raw user_logins sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids; do
  assert_contains ",$tables," ",$t," "table $t exists in schema maskload"
done
col_type() {
  psql_admin "$DB" "SELECT data_type || coalesce('(' || character_maximum_length || ')', '') || coalesce(' ' || collation_name, '') FROM information_schema.columns WHERE table_schema = 'maskload' AND table_name = '$1' AND column_name = '$2'"
}
assert_eq "timestamp without time zone" "$(col_type users_raw created_at)" "datetime is timestamp(3) without time zone"
assert_eq 3 "$(psql_admin "$DB" "SELECT datetime_precision FROM information_schema.columns WHERE table_schema='maskload' AND table_name='users_raw' AND column_name='created_at'")" "with millisecond precision"
assert_eq "numeric" "$(col_type users_raw income)" "decimal is numeric"
assert_eq "boolean" "$(col_type users_raw is_smoking)" "boolean is boolean"
assert_eq "date" "$(col_type users_raw birth_date)" "date is date"
assert_eq "bigint" "$(col_type users_raw city_id)" "a surrogate is bigint"
assert_eq "character varying(100)" "$(col_type users_raw country)" "varchar(n) keeps its length"
assert_eq "bytea" "$(col_type sensitive_city_ids digest)" "the sensitive digest is bytea"
assert_eq "YES" "$(psql_admin "$DB" "SELECT is_identity FROM information_schema.columns WHERE table_schema='maskload' AND table_name='sensitive_city_ids' AND column_name='id'")" "the sensitive id is an identity"
assert_eq "PII: city" "$(psql_admin "$DB" "SELECT obj_description('maskload.sensitive_city_ids'::regclass, 'pg_class')")" "the sensitive table's comment names its kind"
assert_contains "$(psql_admin "$DB" "SELECT obj_description('maskload.users_raw'::regclass, 'pg_class')")" "firstName, lastName, address dropped" "a stream table has its description as COMMENT ON TABLE"
assert_eq "UTC" "$(psql_admin "$DB" "SELECT col_description('maskload.users_raw'::regclass, 2)")" "a column has its description as COMMENT ON COLUMN"
assert_contains "$(psql_admin "$DB" "SELECT string_agg(indexname, ',') FROM pg_indexes WHERE schemaname='maskload' AND tablename='users_raw'")" "users_raw_idx_users_city" "secondary indexes are named after their table"
assert_eq "user_id" "$(psql_admin "$DB" "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'maskload.users_raw'::regclass AND i.indisprimary")" "the natural key is the primary key"

# --- COPY, bound parameters, quoting; the session's own settings over the
# database's defaults (must-fail first: a plain session sees the default)
psql_admin postgres "ALTER DATABASE $DB SET bytea_output = 'escape'"
assert_eq "escape" "$(psql_admin "$DB" "SHOW bytea_output")" "the database's default bytea_output is escape"
pg_driver copy
psql_admin postgres "ALTER DATABASE $DB RESET bytea_output"

# --- roles, privileges and accounts
pg_driver grants
pg_driver later
A=${DB}_analyst S=${DB}_steward L=${DB}_loader
as_analyst() { psql_as "$A" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$1" 2>&1; }
assert_eq "maskload" "$(as_analyst 'SHOW search_path')" "the analyst's search_path is the schema"
assert_eq 2 "$(as_analyst 'SELECT count(*) FROM users_raw')" "psql as analyst: SELECT on an allowed stream table works (the two rows COPYed)"
assert_eq 0 "$(as_analyst 'SELECT count(*) FROM user_logins')" "psql as analyst: SELECT on user_logins works"
assert_eq 0 "$(as_analyst 'SELECT count(*) FROM load_runs')" "psql as analyst: SELECT on load_runs works"
for k in $(psql_admin "$DB" "SELECT table_name FROM information_schema.tables WHERE table_schema='maskload' AND table_name LIKE 'sensitive%'"); do
  assert_contains "$(as_analyst "SELECT count(*) FROM $k")" "permission denied for table $k" "psql as analyst: permission denied on $k"
  assert_contains "$(psql_as "$S" "$MASKLOAD_STEWARD_PASSWORD" "$DB" "SELECT count(*) FROM $k" 2>&1)" "permission denied for table $k" "psql as steward: permission denied on $k"
  assert_eq 1 "$(psql_as "$L" "$MASKLOAD_LOADER_PASSWORD" "$DB" "SELECT count(*) FROM $k WHERE false" 2>&1 | wc -l)" "psql as loader: $k is readable"
done
assert_contains "$(as_analyst 'SELECT count(*) FROM load_rejects')" "permission denied for table load_rejects" "psql as analyst: permission denied on load_rejects"
assert_eq 0 "$(psql_as "$S" "$MASKLOAD_STEWARD_PASSWORD" "$DB" 'SELECT count(*) FROM load_rejects')" "psql as steward: load_rejects is readable"
assert_contains "$(as_analyst 'SELECT count(*) FROM later_table')" "permission denied for table later_table" "psql as analyst: permission denied on a table created after the grants"
assert_eq 1 "$(psql_as "$L" "$MASKLOAD_LOADER_PASSWORD" "$DB" 'SELECT count(*) FROM later_table')" "psql as loader: the later table holds the loader's row"
assert_contains "$(as_analyst 'SELECT count(*) FROM hostile')" "permission denied for table hostile" "psql as analyst: permission denied on a table off its list"
assert_contains "$(as_analyst 'CREATE TABLE mine (i int)')" "permission denied for schema maskload" "psql as analyst: no CREATE in the schema"
assert_contains "$(as_analyst 'INSERT INTO users_raw (user_id) VALUES (1)')" "permission denied for table users_raw" "psql as analyst: no INSERT on an allowed table"
assert_eq "f|f|f" "$(psql_admin "$DB" "SELECT has_table_privilege('public', 'maskload.users_raw', 'SELECT'), has_schema_privilege('public', 'maskload', 'USAGE'), has_database_privilege('public', '$DB', 'CONNECT')")" "PUBLIC has no privilege on the tables, the schema or the database"
psql_admin postgres "DROP ROLE IF EXISTS ${DB}_nobody; CREATE ROLE ${DB}_nobody LOGIN PASSWORD 'nobody-pw-1'" >/dev/null
assert_contains "$(psql_as "${DB}_nobody" nobody-pw-1 "$DB" 'SELECT 1' 2>&1)" "permission denied for database \"$DB\"" "a login in no role cannot connect to the database"
psql_admin postgres "DROP ROLE ${DB}_nobody" >/dev/null

# --- error classes and refusals
pg_driver errors

# --- kind postgres at MariaDB's port: the command speaks PostgreSQL to it (no
# silent MySQL attempt), fails to connect and creates nothing
fresh_db "$DB"
cat >"$T/pg.yaml" <<YAML
warehouse:
  kind: postgres
  host: 127.0.0.1
  port: $IT_DB_PORT
  database: $DB
  user: maskload_loader
  password: \${MASKLOAD_LOADER_PASSWORD}
admin:
  password: \${MASKLOAD_ADMIN_PASSWORD}
$(pii_section)
sources:
  api: { base_url: "http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1" }
streams:
  users: { source: api, path: /users }
YAML
K2=$(new_key_file k2)
for args in init "rekey --new-key-file $K2"; do
  ml -c "$T/pg.yaml" $args
  assert_eq 1 "$RC" "maskload ${args%% *} with kind postgres at MariaDB's port exits 1"
  assert_contains "$OUT" "cannot connect to '127.0.0.1:$IT_DB_PORT'" "maskload ${args%% *} tried it as PostgreSQL and says it could not connect"
done
assert_eq "" "$(sql_admin "" "SHOW DATABASES LIKE '$DB'")" "nothing was created in the MariaDB its host:port points at"
ml -c "$T/pg.yaml" init --help
assert_eq 0 "$RC" "init --help still works with kind postgres"
ml -c "$T/pg.yaml" infer --source api --path /users --sample 5
assert_eq 0 "$RC" "infer (which uses no warehouse) works with kind postgres"
assert_contains "$OUT" "columns:" "and prints a mapping"
sed -i 's/^  kind: postgres$/  kind: oracle/' "$T/pg.yaml"
ml -c "$T/pg.yaml" init
assert_eq 2 "$RC" "an unknown warehouse kind exits 2"
assert_contains "$OUT" "pg.yaml:2:9: 'oracle' is not a valid value for 'warehouse.kind': use mysql or postgres" "and names the file, line, column and key"
sed -i 's/^  kind: oracle$/  kind: postgres\n  schema: Bad-Schema/' "$T/pg.yaml"
ml -c "$T/pg.yaml" init
assert_eq 2 "$RC" "a bad schema name exits 2"
assert_contains "$OUT" "pg.yaml:3:11: 'Bad-Schema' is not a valid schema for 'warehouse.schema'" "and names the file, line, column and key"

psql_admin postgres "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
finish
