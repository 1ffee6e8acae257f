#!/usr/bin/env bash
# maskload init and plan for a PostgreSQL warehouse, against the suite's
# real PostgreSQL 15: plan on an empty server changes nothing; init creates
# the database, the schema, every table (each with a primary key), the
# roles, the accounts, the privileges and the views; a second init changes
# nothing; status shows the runs and their staleness, doctor what is
# broken; through the real psql client the analyst reads its allow-list
# and gets permission denied on everything else, the steward reads what
# MySQL's steward reads, PUBLIC nothing; the generated monitoring views
# (checks, small groups, freshness, min_rows, a history) find the rows they
# should in rows the loader writes; a stream table lacking a column gets
# it (plan shows the ALTER, a second init changes nothing). Must-fails: a
# wrong admin password, another digest key, a column the mapping types
# narrower than the table and another primary key (exit 2, nothing
# changed).
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
assert_contains "$OUT" "15 views (0 skipped), 3 accounts" "init installed 15 views and the 3 accounts"
assert_eq 1 "$(db_exists)" "init created the database"
assert_eq UTF8 "$(psql_admin postgres "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '$DB'")" "in UTF-8"
tables=$(pg_tables "$DB" | paste -sd, -)
expected="load_cursors,load_partition_drops,load_processed_ids,load_rejects,load_run_leases,load_run_streams,load_runs,messages_raw,pii_access_log,pii_erasures,pii_key,sensitive_city_ids,sensitive_profession_ids,sensitive_zipcode_ids,subscriptions_raw,users_raw"
assert_eq "$expected" "$tables" "init created every table of a run in schema maskload"
assert_eq "" "$(psql_admin "$DB" "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'maskload' AND c.relkind = 'r' AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')")" "every table has a primary key"
assert_eq "run_id,stream" "$(psql_admin "$DB" "SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'maskload.load_run_streams'::regclass AND i.indisprimary")" "load_run_streams' key is (run_id, stream)"
assert_eq "$(fp_of "$(digest_key)")" "$(psql_admin "$DB" "SELECT fingerprint FROM maskload.pii_key WHERE id = 1")" "pii_key holds the key's fingerprint"
views=$(psql_admin "$DB" "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.views WHERE table_schema = 'maskload'")
assert_eq "analysis_active_subscriptions_today,analysis_messages_per_day,analysis_noisy_records,analysis_senders_without_active_subscription,analysis_users_without_received_messages,monitor_ancient_timestamps,monitor_anomalous_messages,monitor_future_timestamps,monitor_messages_without_sender,monitor_orphan_messages,monitor_subscription_anomalies,monitor_subscription_bad_period,monitor_subscriptions_raw_status_accepted,monitor_subscriptions_raw_status_not_null,monitor_users_updated_before_created" "$views" "init installed the generated and hand-written monitoring views and the five analysis views"
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
assert_not_contains "$OUT" "ALTER TABLE" "nor alters a table that is up to date"
assert_contains "$OUT" "REVOKE ALL ON ALL TABLES IN SCHEMA \"maskload\" FROM \"maskload_${DB}_analyst\", \"maskload_${DB}_steward\";" "plan shows the privileges as init restates them"
assert_contains "$OUT" "-- account '$A' (analyst): exists; its password is left as it is" "plan says the accounts exist"
assert_eq "$after" "$(pg_snapshot "$DB")" "plan changed nothing"

# --- the analyst, through psql: its allow-list, nothing else
assert_eq maskload "$(as_a 'SHOW search_path')" "the analyst's search_path is the schema"
for t in users_raw subscriptions_raw messages_raw load_runs load_run_streams; do
  assert_eq 0 "$(as_a "SELECT count(*) FROM $t")" "psql as analyst: SELECT on $t works (empty)"
done
for v in ${views//,/ }; do
  [ "$v" = analysis_active_subscriptions_today ] || [ "$v" = analysis_noisy_records ] && continue
  assert_eq 0 "$(as_a "SELECT count(*) FROM $v")" "psql as analyst: SELECT on view $v works (empty)"
done
assert_eq "0|0" "$(as_a 'SELECT active_subscriptions, active_subscribers FROM analysis_active_subscriptions_today')" "psql as analyst: the active-subscriptions answer is 0"
assert_eq "monitor_anomalous_messages|0 monitor_future_timestamps|0 monitor_orphan_messages|0 monitor_subscription_anomalies|0 monitor_subscription_bad_period|0 monitor_users_updated_before_created|0" \
  "$(as_a 'SELECT * FROM analysis_noisy_records' | paste -sd' ' -)" "psql as analyst: the noisy-records answer counts the six checks, all 0"
for v in monitor_orphan_messages analysis_messages_per_day; do
  assert_contains "$(as_s "SELECT count(*) FROM $v")" "permission denied for view $v" "psql as steward: the views are the analyst's ($v denied)"
done
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

# --- status: the runs of load_runs with their counts, and whether a
# running one is stale (its lease missing, expired, or its backend gone)
ml -c "$T/pg.yaml" status
assert_eq 0 "$RC" "status of a new warehouse exits 0"
assert_contains "$OUT" "no runs recorded yet" "and says no run is recorded"
live_pid=$(psql_admin "$DB" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
node="127.0.0.1:$PG_PORT"
as_l "INSERT INTO load_runs (run_id, started_at, finished_at, status, streams, error_text) VALUES
  (1, '2026-01-01 10:00:00', '2026-01-01 10:00:05.5', 'succeeded', 'users,messages', NULL),
  (2, '2026-01-02 10:00:00', NULL, 'running', 'users', NULL),
  (3, '2026-01-03 10:00:00', NULL, 'running', 'users', NULL),
  (4, '2026-01-04 10:00:00', NULL, 'running', 'users', NULL),
  (5, '2026-01-05 10:00:00', NULL, 'running', 'users', NULL),
  (6, '2026-01-06 10:00:00', '2026-01-06 10:00:01', 'failed', 'users', 'source: http 503');
INSERT INTO load_run_streams (run_id, stream, pages, fetched, loaded, rejected, duplicates, started_at, finished_at) VALUES
  (1, 'users', 2, 15, 14, 1, 0, '2026-01-01 10:00:00', '2026-01-01 10:00:02.25'),
  (1, 'messages', 3, 30, 30, 0, 2, '2026-01-01 10:00:02.25', NULL);
INSERT INTO load_run_leases VALUES
  (3, repeat('a', 32), '$node', 2147483000, now() AT TIME ZONE 'UTC', (now() AT TIME ZONE 'UTC') + interval '1 hour'),
  (4, repeat('b', 32), 'elsewhere:5432', 1, '2026-01-04 10:00:30', '2026-01-04 10:01:00'),
  (5, repeat('c', 32), '$node', $live_pid, now() AT TIME ZONE 'UTC', (now() AT TIME ZONE 'UTC') + interval '1 hour')" >/dev/null
ml -c "$T/pg.yaml" status
assert_eq 0 "$RC" "status exits 0"
assert_contains "$OUT" "run 6  failed     started 2026-01-06 10:00:00.000  finished 2026-01-06 10:00:01.000  streams users" "status: a failed run"
assert_contains "$OUT" "    error: source: http 503" "with its error"
assert_contains "$OUT" "run 5  running    started" "a running run whose lease is renewed and whose backend lives is not stale"
assert_contains "$OUT" "run 4  running (stale: no heartbeat since 2026-01-04 10:00:30.000)" "an expired lease: stale, no heartbeat"
assert_contains "$OUT" "run 3  running (stale: process gone)" "a lease on this server whose backend is gone: stale, process gone"
assert_contains "$OUT" "run 2  running (stale: no lease)" "no lease: stale"
assert_contains "$OUT" "    users: 15 fetched, 14 loaded, 1 rejected, 0 duplicates, 0 erased, 0 with unknown fields, 0 malformed values nulled, 0 new surrogates (2 pages)" "status: every count of a stream"
ml -c "$T/pg.yaml" status --format json --limit 1
assert_eq 0 "$RC" "status --format json exits 0"
assert_eq '6|failed|null|source: http 503' "$(jq -r '.runs[0] | "\(.run_id)|\(.status)|\(.stale)|\(.error)"' <<<"$OUT")" "json: --limit 1 gives the newest run"
as_l 'DELETE FROM load_run_leases; DELETE FROM load_run_streams; DELETE FROM load_runs' >/dev/null
ml -c "$T/pg.yaml" status
assert_contains "$OUT" "no runs recorded yet" "status after the runs are gone"
MASKLOAD_LOADER_PASSWORD=wrong-loader-pw-71 ml -c "$T/pg.yaml" status
assert_eq 1 "$RC" "status with a wrong loader password exits 1"
assert_contains "$OUT" "cannot connect to '127.0.0.1:$PG_PORT' as '$L'" "and names host:port and the loader account"
assert_not_contains "$OUT" "wrong-loader-pw-71" "never the password"

# --- doctor: every check OK on the new warehouse; each broken part a FAIL
# with its fix, and init repairs what it owns
ml -c "$T/pg.yaml" doctor
assert_eq 0 "$RC" "doctor on the initialised warehouse exits 0"
for c in "warehouse            connected to '$DB' as '$L'" "server               PostgreSQL 15." \
  "session              sessions use UTC, UTF8, standard_conforming_strings on" "loader privileges    reads and writes" \
  "digest key           present" "public access        PUBLIC has nothing" "stream users         first page read"; do
  assert_contains "$OUT" "OK    $c" "doctor: OK $c"
done
assert_contains "$OUT" "0 failures" "doctor: no failure"
psql_admin "$DB" "GRANT SELECT ON maskload.users_raw TO PUBLIC; GRANT USAGE ON SCHEMA maskload TO PUBLIC" >/dev/null
ml -c "$T/pg.yaml" doctor
assert_eq 1 "$RC" "doctor with privileges granted to PUBLIC exits 1"
assert_contains "$OUT" "FAIL  public access        PUBLIC, i.e. every login, has USAGE on the schema, SELECT on users_raw" "and names what PUBLIC holds"
psql_admin "$DB" "REVOKE UPDATE ON maskload.load_runs FROM \"maskload_${DB}_loader\"" >/dev/null
ml -c "$T/pg.yaml" doctor
assert_contains "$OUT" "FAIL  loader privileges    the loader cannot write load_runs: query failed: permission denied for table load_runs" "doctor: a loader role without UPDATE on load_runs fails"
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init repairs both"
ml -c "$T/pg.yaml" doctor
assert_eq 0 "$RC" "and doctor passes again"
assert_eq 0 "$(psql_admin "$DB" "SELECT count(*) FROM maskload.load_runs")" "doctor records no run"
cfg "$(new_key_file doctor)" >"$T/doctor-key.yaml"
ml -c "$T/doctor-key.yaml" doctor
assert_eq 1 "$RC" "doctor with another digest key exits 1"
assert_contains "$OUT" "FAIL  digest key           the configured digest key" "and says the key is not the warehouse's"
sed "s/database: $DB\$/database: ${DB}_never/" "$T/pg.yaml" >"$T/never.yaml"
ml -c "$T/never.yaml" doctor
assert_eq 1 "$RC" "doctor of a warehouse never initialised exits 1"
assert_contains "$OUT" "FAIL  warehouse" "and fails the connection"
assert_contains "$OUT" "that \`maskload init\` ran" "and says to run init"
assert_eq 0 "$(psql_admin postgres "SELECT count(*) FROM pg_database WHERE datname = '${DB}_never'")" "doctor created nothing"

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

# --- a stream table lacking a column of its definition gets it (schema: evolve)
country() { psql_admin "$DB" "SELECT format_type(atttypid, atttypmod) || ' ' || (NOT attnotnull)::text || ' ' || coalesce(col_description(attrelid, attnum), '-') FROM pg_attribute WHERE attrelid = 'maskload.users_raw'::regclass AND attname = 'country' AND NOT attisdropped"; }
# refused CMD MESSAGE WHAT: CMD exits 2 with MESSAGE and changes nothing
refused() {
  local before
  before=$(pg_snapshot "$DB")
  ml -c "$T/pg.yaml" "$1"
  assert_eq 2 "$RC" "$1 refuses $3 (exit 2)"
  assert_contains "$OUT" "$2" "$1 names what and where"
  assert_eq "$before" "$(pg_snapshot "$DB")" "$1 changed nothing"
}
psql_admin "$DB" 'ALTER TABLE maskload.users_raw DROP COLUMN country' >/dev/null
# a view of someone else's over an init view of the table would be lost: refused
psql_admin "$DB" 'CREATE VIEW maskload.my_report AS SELECT * FROM maskload.analysis_users_without_received_messages' >/dev/null
refused init "table 'users_raw' (builtin:mappings/users.yaml): to add column 'country', init drops and creates again the views over it, and view 'maskload.my_report' is not one of init's" \
  "to add a column while a view not its own reads one of its views over the table"
psql_admin "$DB" 'DROP VIEW maskload.my_report' >/dev/null
# one that reads the table itself stays: a new column does not change it
psql_admin "$DB" 'CREATE VIEW maskload.my_users AS SELECT user_id FROM maskload.users_raw' >/dev/null
ml -c "$T/pg.yaml" plan
assert_eq 0 "$RC" "plan over a stream table lacking a column exits 0"
drops=$(grep '^DROP VIEW IF EXISTS ' <<<"$OUT" || true)
assert_contains "$drops" '"analysis_users_without_received_messages"' "and shows init's views over the table dropped first"
assert_contains "$drops" '"monitor_users_updated_before_created"' "the generated ones too"
assert_not_contains "$OUT" '"my_users"' "but not a view that is not init's"
assert_contains "$OUT" 'ALTER TABLE "users_raw" ADD COLUMN "country" varchar(100) NULL;' "and shows the ALTER"
assert_eq "" "$(country)" "and adds nothing"
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init over a stream table lacking a column exits 0 ($OUT)"
assert_contains "$OUT" "table 'users_raw' altered to match its mapping (builtin:mappings/users.yaml)" "and says it altered the table"
assert_eq "character varying(100) true -" "$(country)" "the column is back, nullable, typed as the mapping says"
assert_eq 0 "$(as_a 'SELECT count(country) FROM users_raw')" "psql as analyst: the new column is readable"
assert_eq 0 "$(as_a 'SELECT count(*) FROM analysis_users_without_received_messages')" "psql as analyst: the views over the table are there again, and granted"
assert_eq 0 "$(psql_admin "$DB" 'SELECT count(*) FROM maskload.my_users')" "the view that is not init's is kept"
psql_admin "$DB" 'DROP VIEW maskload.my_users' >/dev/null
after_evolve=$(pg_snapshot "$DB")
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init again exits 0"
assert_eq "$after_evolve" "$(pg_snapshot "$DB")" "and changes nothing"

# --- must-fail: a column the mapping types narrower than the table, and
# another primary key: exit 2 naming the mapping, table and column, nothing changed
psql_admin "$DB" 'ALTER TABLE maskload.users_raw ALTER COLUMN country TYPE text' >/dev/null
for cmd in plan init; do
  refused $cmd "table 'users_raw' column 'country': text cannot become varchar(100) (narrowing; nothing was changed)" \
    "text -> varchar(100)"
  assert_contains "$OUT" "builtin:mappings/users.yaml:" "$cmd names the mapping"
done
psql_admin "$DB" 'ALTER TABLE maskload.users_raw ALTER COLUMN country TYPE varchar(100)' >/dev/null
psql_admin "$DB" 'ALTER TABLE maskload.users_raw DROP CONSTRAINT users_raw_pkey, ADD PRIMARY KEY (user_id, created_at)' >/dev/null
refused init "table 'users_raw': primary key (user_id,created_at) cannot become (user_id) (incompatible; nothing was changed)" \
  "another primary key"
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

pg_drop "$DB"

# --- the generated monitoring views of declared streams (checks, small
# groups, freshness, min_rows, a history), read as the analyst over rows the
# loader wrote
DB=t71pgc
A=${DB}_analyst L=${DB}_loader
pg_drop "$DB"
cp "$SOURCE_DIR/tests/fixtures/purchases/purchases.yaml" "$T/purchases.yaml"
: >"$T/customers.jsonl"
: >"$T/orders.jsonl"
: >"$T/snapshot.json"
cat >"$T/c.yaml" <<YAML
$(pg_config_head "$DB")
$(pii_section)
sources:
  files: { kind: file, path: customers.jsonl }
  order_files: { kind: file, path: orders.jsonl }
  snap: { kind: file, path: snapshot.json }
streams:
  purchases: { source: snap, mapping: purchases.yaml }
  customers:
    source: files
    table: customers_raw
    key: [customer_id]
    columns:
      - { name: customer_id, from: id, type: bigint, required: true }
    drop: [name]
    freshness: 26h
  orders:
    source: order_files
    table: orders_raw
    key: [order_id]
    min_rows: 10
    quasi_identifiers: [status]
    k: 2
    columns:
      - { name: order_id,    from: id,       type: bigint, required: true }
      - { name: customer_id, from: customer, type: bigint,
          checks: { not_null: true, references: customers_raw.customer_id } }
      - { name: status,      from: status,   type: varchar(16), checks: { accepted: [open, closed] } }
      - { name: qty,         from: qty,      type: int, checks: { range: [1, 100] } }
      - { name: code,        from: code,     type: varchar(16), checks: { unique: true } }
      - { name: ordered_at,  from: ordered,  type: datetime,
          checks: { not_future: { monitor: monitor_orders_time_problems }, not_before: 2000-01-01 } }
      - { name: shipped_at,  from: shipped,  type: datetime,
          checks: { not_future: { monitor: monitor_orders_time_problems }, not_before: ordered_at } }
YAML
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init of declared streams with checks, expectations and a history exits 0"
assert_contains "$OUT" "view 'analysis_messages_per_day' skipped" "the analysis views over absent streams are skipped"
as_a() { psql_as "$A" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$1" 2>&1; }
as_l() { psql_as "$L" "$MASKLOAD_LOADER_PASSWORD" "$DB" "$1" 2>&1; }
rows() { as_a "SELECT $2 FROM $1 ORDER BY 1, 2" | paste -sd' ' -; }
assert_eq "customers|1" "$(as_a 'SELECT stream, 1 FROM monitor_customers_freshness')" "freshness: one row before any run"
assert_eq "orders||10" "$(as_a 'SELECT stream, run_id, min_rows FROM monitor_orders_min_rows')" "min_rows: one row before any run"
as_l "INSERT INTO customers_raw VALUES (1, 1, now()), (2, 1, now()), (3, 1, now())" >/dev/null
as_l "INSERT INTO orders_raw (order_id, customer_id, status, qty, code, ordered_at, shipped_at, load_run_id, loaded_at) VALUES
  (1, 1, 'open', 5, 'A', '2024-01-01 10:00', NULL, 1, now()),
  (2, NULL, 'open', 5, 'B', '2024-01-02 10:00', NULL, 1, now()),
  (3, 9, 'closed', 5, 'C', '2024-01-03 10:00', NULL, 1, now()),
  (4, 2, 'lost', 100, 'D', '2024-01-03 10:00', NULL, 1, now()),
  (5, 2, 'open', 0, 'E', '2024-01-04 10:00', NULL, 1, now()),
  (6, 3, 'closed', 101, 'E', '2024-01-05 10:00', NULL, 1, now()),
  (7, 3, 'open', 7, 'F', '2099-01-01 00:00', NULL, 1, now()),
  (8, 1, 'closed', 8, 'G', '1999-12-31 23:59:59', '1999-12-30 00:00', 1, now())" >/dev/null
assert_eq "2|" "$(rows monitor_orders_raw_customer_id_not_null 'order_id, customer_id')" "not_null: order 2 (its NULL customer)"
assert_eq "3|9" "$(rows monitor_orders_raw_customer_id_references 'order_id, customer_id')" "references: order 3 (customer 9 unknown; a NULL is no orphan)"
assert_eq "4|lost" "$(rows monitor_orders_raw_status_accepted 'order_id, status')" "accepted: order 4"
assert_eq "5|0 6|101" "$(rows monitor_orders_raw_qty_range 'order_id, qty')" "range: orders 5 and 6 (1 and 100 are inside)"
assert_eq "5|E 6|E" "$(rows monitor_orders_raw_code_unique 'order_id, code')" "unique: both rows of code E"
assert_eq "8" "$(rows monitor_orders_raw_ordered_at_not_before 'order_id, 0' | sed 's/|0//')" "not_before a date: order 8"
assert_eq "8|1999-12-30 00:00:00|1999-12-31 23:59:59" "$(rows monitor_orders_raw_shipped_at_not_before 'order_id, shipped_at, ordered_at')" "not_before another column: order 8"
assert_eq "orders_raw|7|ordered_at|2099-01-01 00:00:00" "$(rows monitor_orders_time_problems 'table_name, record_key, column_name, value')" "a shared view of two parts: table, key, column and value (as text)"
assert_eq "lost|1" "$(rows monitor_orders_raw_small_groups "status, rows_in_group")" "small groups: the one status shared by fewer than k=2 rows"
as_l "INSERT INTO load_runs (run_id, started_at, finished_at, status, streams) VALUES (1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC', 'succeeded', 'customers,orders')" >/dev/null
as_l "INSERT INTO load_run_streams (run_id, stream, fetched, rejected) VALUES (1, 'customers', 3, 0), (1, 'orders', 9, 0)" >/dev/null
assert_eq "" "$(as_a 'SELECT * FROM monitor_customers_freshness')" "freshness: no row right after a run"
assert_eq "orders|1|9|10" "$(as_a 'SELECT * FROM monitor_orders_min_rows')" "min_rows: the run read 9 of the 10 wanted"
as_l "UPDATE load_runs SET finished_at = finished_at - interval '27 hours'" >/dev/null
assert_eq "customers|93600" "$(as_a 'SELECT stream, max_age_seconds FROM monitor_customers_freshness')" "freshness: one row once the last success is older than 26h"
assert_eq 1 "$(as_a 'SELECT count(*) FROM monitor_customers_freshness WHERE age_seconds >= 97200')" "with its age in seconds"
hash="decode(repeat('00', 32), 'hex')"
as_l "INSERT INTO purchases (purchase_id, load_run_id, loaded_at, valid_from, valid_to, version, is_current, deleted, row_hash) VALUES
  (1, 1, now(), '2024-01-01', NULL, 1, true, false, $hash),
  (2, 1, now(), '2024-01-01', '2024-01-02', 1, true, false, $hash)" >/dev/null
assert_eq "1" "$(as_a 'SELECT purchase_id FROM purchases_current WHERE purchase_id = 1')" "the history's current view shows the current version"
assert_eq "2|1|is_current disagrees with valid_to or deleted" "$(as_a 'SELECT * FROM monitor_purchases_history')" "the history monitor names the broken invariant"
assert_contains "$(as_a 'SELECT count(*) FROM load_run_leases')" "permission denied for table load_run_leases" "psql as analyst: still denied the bookkeeping tables"
before=$(pg_snapshot "$DB")
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "a second init of the declared streams exits 0"
assert_eq "$before" "$(pg_snapshot "$DB")" "and changes nothing"
pg_drop "$DB"
finish
