#!/usr/bin/env bash
# maskload init and plan for a PostgreSQL warehouse, against the suite's
# real PostgreSQL 15: plan on an empty server changes nothing; init creates
# the database, the schema, every table (each with a primary key), the
# roles, the accounts, the privileges and the views; a second init changes
# nothing; through the real psql client the analyst reads its allow-list
# and gets permission denied on everything else, the steward reads what
# MySQL's steward reads, PUBLIC nothing. Must-fails: a wrong admin password,
# another digest key, a stream table lacking a column, the commands that
# still refuse a PostgreSQL warehouse.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg-lib.sh"

DB=t71pg
A=${DB}_analyst S=${DB}_steward L=${DB}_loader
pg_drop "$DB"
cfg() {
  cat <<YAML
$(pg_config_head "$DB")
$(pii_section "${1:-}")
sources:
  api: { base_url: "http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1" }
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
YAML
}
cfg >"$T/pg.yaml"
as_a() { psql_as "$A" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$1" 2>&1; }
as_s() { psql_as "$S" "$MASKLOAD_STEWARD_PASSWORD" "$DB" "$1" 2>&1; }
as_l() { psql_as "$L" "$MASKLOAD_LOADER_PASSWORD" "$DB" "$1" 2>&1; }
db_exists() { psql_admin postgres "SELECT count(*) FROM pg_database WHERE datname = '$DB'"; }
fp_of() { printf '%s' 'maskload key fingerprint v1' | openssl dgst -sha256 -mac HMAC -macopt "key:$1" -r | cut -d' ' -f1; }

# --- plan on an empty server: every statement, nothing changed
ml -c "$T/pg.yaml" plan
assert_eq 0 "$RC" "plan on an empty server exits 0"
assert_contains "$OUT" "CREATE DATABASE \"$DB\" ENCODING 'UTF8' TEMPLATE template0;" "plan lists CREATE DATABASE"
assert_contains "$OUT" 'CREATE SCHEMA IF NOT EXISTS "maskload";' "plan lists the schema"
for t in load_runs load_run_streams load_rejects load_run_leases load_processed_ids load_partition_drops load_cursors pii_key pii_access_log pii_erasures; do
  assert_contains "$OUT" "CREATE TABLE IF NOT EXISTS $t (" "plan lists bookkeeping table $t"
done
for t in users_raw subscriptions_raw messages_raw sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids; do
  assert_contains "$OUT" "CREATE TABLE IF NOT EXISTS \"$t\" (" "plan lists table $t"
done
assert_contains "$OUT" 'REVOKE ALL ON SCHEMA "maskload" FROM PUBLIC;' "plan lists the schema's REVOKE from PUBLIC"
assert_contains "$OUT" "GRANT SELECT ON \"maskload\".\"load_runs\" TO \"maskload_${DB}_analyst\";" "plan lists the analyst's grant on load_runs"
assert_contains "$OUT" "CREATE OR REPLACE VIEW monitor_anomalous_messages WITH (security_invoker = true) AS SELECT" "plan lists a monitoring view"
assert_contains "$OUT" "CREATE OR REPLACE VIEW \"analysis_messages_per_day\" WITH (security_invoker = true) AS SELECT" "plan lists an analysis view"
assert_contains "$OUT" "-- account '$A' (analyst): created with its configured password (not shown)" "plan names the accounts in comment lines"
assert_contains "$OUT" "nothing was changed" "plan says nothing was changed"
for pw in "$MASKLOAD_ANALYST_PASSWORD" "$MASKLOAD_LOADER_PASSWORD" "$MASKLOAD_STEWARD_PASSWORD" "$MASKLOAD_ADMIN_PASSWORD"; do
  assert_not_contains "$OUT" "$pw" "plan never shows a password"
done
bad=$(grep -v -e '^-- ' -e ';$' -e 'maskload: info:' <<<"$OUT" || true)
assert_eq "" "$bad" "every plan line is a statement ending in ';' or a comment"
assert_eq 0 "$(db_exists)" "plan created no database"
assert_eq 0 "$(psql_admin postgres "SELECT count(*) FROM pg_roles WHERE rolname LIKE '%${DB}%'")" "plan created no role"

# --- init on an empty server
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init on an empty server exits 0"
assert_contains "$OUT" "database '$DB' ready on PostgreSQL 15." "init says the database is ready on PostgreSQL 15"
assert_contains "$OUT" "recorded the digest key's fingerprint" "init records the key's fingerprint"
assert_contains "$OUT" "view 'analysis_noisy_records' skipped" "a view over a relation no stream creates is skipped, and named"
assert_eq 1 "$(db_exists)" "init created the database"
assert_eq UTF8 "$(psql_admin postgres "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '$DB'")" "in UTF-8"
tables=$(pg_tables "$DB" | paste -sd, -)
expected="load_cursors,load_partition_drops,load_processed_ids,load_rejects,load_run_leases,load_run_streams,load_runs,messages_raw,pii_access_log,pii_erasures,pii_key,sensitive_city_ids,sensitive_profession_ids,sensitive_zipcode_ids,subscriptions_raw,users_raw"
assert_eq "$expected" "$tables" "init created every table of a run in schema maskload"
assert_eq "" "$(psql_admin "$DB" "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'maskload' AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')")" "every table has a primary key"
assert_eq "run_id,stream" "$(psql_admin "$DB" "SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'maskload.load_run_streams'::regclass AND i.indisprimary")" "load_run_streams' key is (run_id, stream)"
assert_eq "$(fp_of "$(digest_key)")" "$(psql_admin "$DB" "SELECT fingerprint FROM maskload.pii_key WHERE id = 1")" "pii_key holds the key's fingerprint"
views=$(psql_admin "$DB" "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.views WHERE table_schema = 'maskload'")
assert_eq "analysis_active_subscriptions_today,analysis_messages_per_day,analysis_senders_without_active_subscription,analysis_users_without_received_messages,monitor_anomalous_messages,monitor_subscription_anomalies" "$views" "init installed the monitoring and analysis views"
assert_eq 0 "$(psql_admin "$DB" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'maskload' AND c.relkind = 'v' AND NOT coalesce(c.reloptions @> '{security_invoker=true}', false)")" "every view is security_invoker"

# --- a second init changes nothing; plan then lists what it re-asserts
before=$(pg_snapshot "$DB")
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "a second init exits 0"
assert_contains "$OUT" "the analyst account '$A' exists; its password is left as it is" "and leaves the accounts' passwords"
after=$(pg_snapshot "$DB")
assert_eq "$before" "$after" "a second init changes nothing (schema dump, privileges, roles, passwords)"
assert_eq 1 "$(psql_admin "$DB" 'SELECT count(*) FROM maskload.pii_key')" "pii_key still has one row"
ml -c "$T/pg.yaml" plan
assert_eq 0 "$RC" "plan after init exits 0"
assert_not_contains "$OUT" "CREATE TABLE" "plan after init creates no table"
assert_not_contains "$OUT" "CREATE DATABASE" "nor the database"
assert_not_contains "$OUT" "COMMENT ON" "nor comments of tables that exist"
assert_contains "$OUT" "REVOKE ALL ON ALL TABLES IN SCHEMA \"maskload\" FROM \"maskload_${DB}_analyst\", \"maskload_${DB}_steward\";" "plan shows the privileges as init restates them"
assert_contains "$OUT" "-- account '$A' (analyst): exists; its password is left as it is" "plan says the accounts exist"
assert_eq "$after" "$(pg_snapshot "$DB")" "plan changed nothing"

# --- the analyst, through psql: its allow-list, nothing else
assert_eq maskload "$(as_a 'SHOW search_path')" "the analyst's search_path is the schema"
for t in users_raw subscriptions_raw messages_raw load_runs load_run_streams; do
  assert_eq 0 "$(as_a "SELECT count(*) FROM $t")" "psql as analyst: SELECT on $t works (empty)"
done
for v in monitor_anomalous_messages monitor_subscription_anomalies analysis_messages_per_day analysis_users_without_received_messages analysis_senders_without_active_subscription; do
  assert_eq 0 "$(as_a "SELECT count(*) FROM $v")" "psql as analyst: SELECT on view $v works (empty)"
done
assert_eq "0|0" "$(as_a 'SELECT active_subscriptions, active_subscribers FROM analysis_active_subscriptions_today')" "psql as analyst: the active-subscriptions answer is 0"
allowed=",users_raw,subscriptions_raw,messages_raw,load_runs,load_run_streams,"
denied=0
for t in $(pg_tables "$DB"); do
  [[ "$allowed" == *",$t,"* ]] && continue
  assert_contains "$(as_a "SELECT count(*) FROM $t")" "permission denied for table $t" "psql as analyst: permission denied on $t"
  denied=$((denied + 1))
done
assert_eq 11 "$denied" "the analyst is denied the 3 sensitive tables, load_rejects, the 3 pii_* tables and the other 4 bookkeeping tables"
assert_contains "$(as_a 'INSERT INTO load_runs (started_at, status, streams) VALUES (now(), '"'running'"', '"'x'"')')" "permission denied for table load_runs" "psql as analyst: no INSERT on load_runs"
assert_contains "$(as_a 'CREATE TABLE mine (i int)')" "permission denied for schema maskload" "psql as analyst: no CREATE in the schema"

# --- the steward: the stream tables, load_rejects, the PII audit; never sensitive_*
for t in users_raw subscriptions_raw messages_raw load_rejects pii_access_log pii_erasures; do
  assert_eq 0 "$(as_s "SELECT count(*) FROM $t")" "psql as steward: SELECT on $t works (empty)"
done
for t in sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids pii_key load_run_leases; do
  assert_contains "$(as_s "SELECT count(*) FROM $t")" "permission denied for table $t" "psql as steward: permission denied on $t"
done
assert_contains "$(as_s 'DELETE FROM pii_access_log')" "permission denied for table pii_access_log" "psql as steward: the audit log cannot be changed"

# --- the loader writes the bookkeeping and the sensitive tables
assert_eq 1 "$(as_l "INSERT INTO load_runs (started_at, status, streams) VALUES (now() AT TIME ZONE 'UTC', 'running', 'users') RETURNING run_id")" "psql as loader: INSERT into load_runs (an identity run_id)"
assert_eq 0 "$(as_l 'SELECT count(*) FROM sensitive_city_ids')" "psql as loader: the sensitive tables are readable"
assert_eq 1 "$(as_a 'SELECT count(*) FROM load_runs')" "psql as analyst: and the run is visible"
as_l 'DELETE FROM load_runs' >/dev/null

# --- PUBLIC has nothing
pub=$(psql_admin "$DB" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'maskload' AND c.relkind IN ('r', 'v', 'S') AND (has_table_privilege('public', c.oid, 'SELECT') OR has_table_privilege('public', c.oid, 'INSERT'))")
assert_eq 0 "$pub" "PUBLIC has no privilege on any table, view or sequence"
assert_eq "f|f|f" "$(psql_admin "$DB" "SELECT has_schema_privilege('public', 'maskload', 'USAGE'), has_schema_privilege('public', 'maskload', 'CREATE'), has_database_privilege('public', '$DB', 'CONNECT')")" "PUBLIC has no privilege on the schema or the database"
psql_admin postgres "DROP ROLE IF EXISTS ${DB}_nobody; CREATE ROLE ${DB}_nobody LOGIN PASSWORD 'nobody-pw-1'" >/dev/null
assert_contains "$(psql_as "${DB}_nobody" nobody-pw-1 "$DB" 'SELECT 1' 2>&1)" "permission denied for database \"$DB\"" "a login in no role cannot connect to the database"
psql_admin postgres "DROP ROLE ${DB}_nobody" >/dev/null

# --- a table created later by the admin: the loader's, nobody else's
psql_admin "$DB" 'CREATE TABLE maskload.later_table (id int PRIMARY KEY)' >/dev/null
assert_contains "$(as_a 'SELECT count(*) FROM later_table')" "permission denied for table later_table" "psql as analyst: permission denied on a table created after init"
assert_eq 0 "$(as_l 'SELECT count(*) FROM later_table')" "psql as loader: the later table is the loader's"
psql_admin "$DB" 'DROP TABLE maskload.later_table' >/dev/null

# --- must-fail: a wrong admin password names host:port and the user, never the password
MASKLOAD_ADMIN_PASSWORD=wrong-admin-pw-71 ml -c "$T/pg.yaml" init
assert_eq 1 "$RC" "init with a wrong admin password exits 1"
assert_contains "$OUT" "cannot connect to '127.0.0.1:$PG_PORT' as 'postgres'" "the message names host:port and the user"
assert_contains "$OUT" "password authentication failed" "and the reason"
assert_not_contains "$OUT" "wrong-admin-pw-71" "but not the password"
MASKLOAD_ADMIN_PASSWORD=wrong-admin-pw-71 ml -c "$T/pg.yaml" plan
assert_eq 1 "$RC" "plan with a wrong admin password exits 1"
assert_not_contains "$OUT" "wrong-admin-pw-71" "and does not show the password"

# --- must-fail: another digest key is refused, nothing written
other=$(new_key_file other)
cfg "$other" >"$T/other.yaml"
ml -c "$T/other.yaml" init
assert_eq 2 "$RC" "init with another digest key exits 2"
assert_contains "$OUT" "is not the key of this warehouse's surrogates" "and says the key is not the warehouse's"
ml -c "$T/other.yaml" plan
assert_eq 2 "$RC" "plan with another digest key exits 2 as well"
assert_eq "$after" "$(pg_snapshot "$DB")" "nothing was changed by the refused init"

# --- must-fail: a stream table lacking a column of its definition
psql_admin "$DB" 'ALTER TABLE maskload.users_raw DROP COLUMN country' >/dev/null
ml -c "$T/pg.yaml" init
assert_eq 2 "$RC" "init over a stream table lacking a column exits 2"
assert_contains "$OUT" "table 'users_raw' lacks column 'country' of its definition (builtin:mappings/users.yaml)" "and names the table, the column and the mapping"
assert_contains "$OUT" "nothing was changed" "and says nothing was changed"
psql_admin "$DB" 'DROP TABLE maskload.users_raw CASCADE' >/dev/null
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init after the table was dropped exits 0"
assert_eq 1 "$(psql_admin "$DB" "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'maskload' AND table_name = 'users_raw' AND column_name = 'country'")" "and creates the missing table again"
assert_eq 0 "$(as_a 'SELECT count(*) FROM users_raw')" "psql as analyst: the new table is granted again"

# --- --reset-passwords sets the configured password of an existing account
MASKLOAD_ANALYST_PASSWORD=new-analyst-pw-71 ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init with another configured password exits 0"
assert_eq 1 "$(as_a 'SELECT 1')" "the existing analyst keeps its password"
MASKLOAD_ANALYST_PASSWORD=new-analyst-pw-71 ml -c "$T/pg.yaml" init --reset-passwords
assert_eq 0 "$RC" "init --reset-passwords exits 0"
assert_eq 1 "$(psql_as "$A" new-analyst-pw-71 "$DB" 'SELECT 1' 2>&1)" "and the analyst logs in with the configured password"
assert_contains "$(as_a 'SELECT 1')" "password authentication failed" "the old password no longer works"
assert_not_contains "$(psql_admin postgres "SELECT rolpassword FROM pg_authid WHERE rolname = '$A'")" "new-analyst-pw-71" "the server holds a verifier, not the password"

# --- the commands that do not write PostgreSQL yet still refuse it
for cmd in run check status doctor privacy-report reveal forget rekey; do
  ml -c "$T/pg.yaml" "$cmd"
  assert_eq 2 "$RC" "maskload $cmd with kind postgres still exits 2"
  assert_contains "$OUT" "pg.yaml:2:9: 'warehouse.kind' postgres: '$cmd' cannot use a PostgreSQL warehouse yet; only 'init', 'plan' and 'infer'" "maskload $cmd names the key and the commands that can"
done

pg_drop "$DB"
finish
