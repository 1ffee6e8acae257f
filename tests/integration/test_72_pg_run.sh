#!/usr/bin/env bash
# maskload run into a PostgreSQL warehouse, against the suite's real
# PostgreSQL 15 and fixture API: init + run load users (with their
# subscriptions, a child table) and messages with the fixture's rows,
# rejects and surrogates; the bookkeeping (load_runs, the lease, the
# per-stream counts); a rerun exits 0, writes no row of the stream tables
# (pg_stat_user_tables and xmin unchanged) and adds no surrogate; a shrunk
# array's child rows are deleted; a declared mapping from a JSON Lines file;
# through the real psql the analyst reads the stream tables and views and no
# PII value of the fixture appears in anything it can read, and it is denied
# sensitive_*; every surrogate id maps to its value for the loader. Must-fails:
# another digest key, a warehouse init has not prepared, the loader's INSERT
# revoked (the batch rolls back whole, the run is marked failed), the
# features PostgreSQL does not take yet, a batch the server refuses as too
# large (split in halves down to the one record, which goes to
# load_rejects).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg-lib.sh"

DB=t72pg
A=${DB}_analyst L=${DB}_loader
pg_drop "$DB"
cfg() {
  cat <<YAML
$(pg_config_head "$DB")
$(pii_section "${1:-}")
load:
  batch_size: 7
  heartbeat_interval: 1
sources:
  api: { base_url: "http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1", page_size: 4 }
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
YAML
}
cfg >"$T/pg.yaml"
as_a() { psql_as "$A" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$1" 2>&1; }
as_l() { psql_as "$L" "$MASKLOAD_LOADER_PASSWORD" "$DB" "$1" 2>&1; }
q() { psql_admin "$DB" "SET search_path = maskload; $1"; }

# --- before init: the run fails without writing anything
ml -c "$T/pg.yaml" run
assert_eq 1 "$RC" "run before init exits 1"
assert_contains "$OUT" "cannot connect to '127.0.0.1:$PG_PORT' as '$L'" "and names the connection it could not make"

ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init exits 0"
ml -v -c "$T/pg.yaml" run
assert_eq 0 "$RC" "run exits 0"
echo "$OUT" | tail -4
# tables empty at the run's first batch of them: COPY straight into them
for t in users_raw subscriptions_raw messages_raw; do
  assert_contains "$OUT" "$t is empty: this run's rows are copied straight into it" "$t, empty, is loaded by COPY straight into it"
done
assert_not_contains "$OUT" "holds rows: they are staged and upserted" "and no table of the first run is staged"
cache=$(grep -o 'surrogate cache: [0-9]* lookups, [0-9]* hits' <<<"$OUT" || true)
hits=$(sed 's/.* \([0-9]*\) hits/\1/' <<<"$cache")
if [ -n "$cache" ] && [ "${hits:-0}" -gt 0 ]; then ok "values met again in later batches come from the surrogate cache ($cache)"; else not_ok "surrogate cache line: [$cache]"; fi
assert_eq 0 "$(q "SELECT count(*) FROM users_raw u JOIN load_runs r ON true WHERE r.run_id = (SELECT max(run_id) FROM load_runs) AND (u.load_run_id <> r.run_id OR u.loaded_at < r.started_at - interval '1 second' OR u.loaded_at > (now() AT TIME ZONE 'UTC'))")" "the copied rows carry the run and a load time within it"

assert_eq "$USERS_LOADED" "$(q 'SELECT count(*) FROM users_raw')" "users_raw rows"
assert_eq "$SUBSCRIPTIONS_ROWS" "$(q 'SELECT count(*) FROM subscriptions_raw')" "subscriptions_raw rows (the child table)"
assert_eq "$USERS_WITH_SUBSCRIPTIONS" "$(q 'SELECT count(DISTINCT user_id) FROM subscriptions_raw')" "users with subscriptions"
assert_eq "$MESSAGES_LOADED" "$(q 'SELECT count(*) FROM messages_raw')" "messages_raw rows"
assert_eq "$USER_IDS" "$(q "SELECT string_agg(user_id::text, ',' ORDER BY user_id) FROM users_raw")" "the users' ids"
assert_eq "$USERS_REJECTED" "$(q "SELECT count(*) FROM load_rejects WHERE stream = 'users'")" "users rejected into load_rejects"
assert_eq "$MESSAGES_REJECTED" "$(q "SELECT count(*) FROM load_rejects WHERE stream = 'messages'")" "messages rejected into load_rejects"
reasons=$(q "SELECT reason FROM load_rejects ORDER BY reject_id")
assert_contains "$reasons" "field 'id': missing required field" "a reject says why"
assert_eq 0 "$(q "SELECT count(*) FROM load_rejects WHERE source_ref NOT LIKE 'http://%page=%#%'")" "every reject says where it came from"
assert_eq "$DISTINCT_CITIES" "$(q 'SELECT count(*) FROM sensitive_city_ids')" "one city surrogate per distinct city"
assert_eq "$DISTINCT_PROFESSIONS" "$(q 'SELECT count(*) FROM sensitive_profession_ids')" "profession surrogates"
assert_eq "$DISTINCT_ZIPCODES" "$(q 'SELECT count(*) FROM sensitive_zipcode_ids')" "zipcode surrogates"
assert_eq 3 "$(q "SELECT count(*) FROM users_raw u JOIN sensitive_city_ids c ON c.id = u.city_id WHERE c.value = 'Berlin'")" "the three Berlin users share one surrogate"
for v in "São Paulo" "Zürich" "Kraków" "O'Fallon"; do
  assert_eq 1 "$(q "SELECT count(*) FROM sensitive_city_ids WHERE value = '${v//\'/\'\'}'")" "city '$v' stored intact"
done
assert_eq "$SHARED_CITY_USERS" "$(q "SELECT string_agg(user_id::text, ',' ORDER BY user_id) FROM users_raw WHERE city_id IN (SELECT city_id FROM users_raw GROUP BY city_id HAVING count(*) > 1)")" "users sharing a city share its surrogate"
# the digests are the MySQL path's: HMAC-SHA256(key, kind 0x00 value)
key=$(digest_key)
want=$(printf 'city\0Berlin' | openssl dgst -sha256 -mac HMAC -macopt "key:$key" -r | cut -d' ' -f1)
assert_eq "$want" "$(q "SELECT encode(digest, 'hex') FROM sensitive_city_ids WHERE value = 'Berlin'")" "a surrogate's digest is the keyed digest of its kind and value"
assert_eq "$BIRTH_YEARS" "$(q "SELECT string_agg(user_id || ':' || birth_year, ',' ORDER BY user_id) FROM users_raw WHERE birth_year IS NOT NULL")" "birth years reduced as with MySQL"
assert_eq "$EMAIL_DOMAINS" "$(q "SELECT string_agg(DISTINCT email_domain, ',' ORDER BY email_domain) FROM users_raw")" "e-mail domains kept, local parts dropped"
assert_eq "$MESSAGES_PER_DAY" "$(as_a "SELECT string_agg(day || ':' || messages, ',' ORDER BY day) FROM (SELECT created_at::date AS day, count(*) AS messages FROM messages_raw GROUP BY 1) d")" "messages per day as the analyst"

# --- the run's bookkeeping
assert_eq "succeeded|t|t" "$(q "SELECT status, error_text IS NULL, finished_at IS NOT NULL FROM load_runs ORDER BY run_id DESC LIMIT 1")" "load_runs records a succeeded run"
assert_eq "$((USERS_LOADED + USERS_REJECTED))|$USERS_LOADED|$USERS_REJECTED|$((DISTINCT_CITIES + DISTINCT_PROFESSIONS + DISTINCT_ZIPCODES))" \
  "$(q "SELECT fetched, loaded, rejected, surrogates_created FROM load_run_streams WHERE stream = 'users'")" "per-stream counts for users"
assert_eq "$MESSAGES_FETCHED|$MESSAGES_LOADED|$MESSAGES_REJECTED|t" \
  "$(q "SELECT fetched, loaded, rejected, finished_at IS NOT NULL FROM load_run_streams WHERE stream = 'messages'")" "per-stream counts for messages"
assert_eq 0 "$(q 'SELECT count(*) FROM load_run_leases')" "the lease is gone once the run ended"
ml -c "$T/pg.yaml" status
assert_eq 0 "$RC" "status exits 0"
assert_contains "$OUT" "succeeded" "status shows the run"

# --- a rerun writes nothing
stat() { q "SELECT sum(n_tup_ins) || '|' || sum(n_tup_upd) || '|' || sum(n_tup_del) FROM pg_stat_user_tables WHERE schemaname = 'maskload' AND relname IN ('users_raw', 'subscriptions_raw', 'messages_raw', 'sensitive_city_ids', 'sensitive_zipcode_ids', 'sensitive_profession_ids')"; }
xmins() { q "SELECT string_agg(xmin::text, ',' ORDER BY user_id) FROM users_raw; SELECT string_agg(xmin::text, ',' ORDER BY user_id, subscription_no) FROM subscriptions_raw; SELECT string_agg(xmin::text, ',' ORDER BY message_id) FROM messages_raw"; }
sleep 1 # pg_stat_user_tables is fed asynchronously
before=$(stat) xb=$(xmins) sb=$(q "SELECT count(*), max(id) FROM sensitive_city_ids")
ml -v -c "$T/pg.yaml" run
assert_eq 0 "$RC" "a rerun exits 0"
for t in users_raw subscriptions_raw messages_raw; do
  assert_contains "$OUT" "$t holds rows: they are staged and upserted" "a rerun stages and upserts $t, which holds rows"
done
assert_not_contains "$OUT" "copied straight into it" "and copies nothing straight into a table"
assert_contains "$OUT" "rows unchanged in the warehouse, not written" "and says the rows were unchanged"
sleep 1
q "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
assert_eq "$before" "$(stat)" "a rerun inserts, updates and deletes no row of the stream and sensitive tables (pg_stat_user_tables)"
assert_eq "$xb" "$(xmins)" "every row keeps its xmin"
assert_eq "$sb" "$(q "SELECT count(*), max(id) FROM sensitive_city_ids")" "and no surrogate is added, none consumed"
assert_eq 0 "$(q "SELECT surrogates_created FROM load_run_streams WHERE stream = 'users' ORDER BY run_id DESC LIMIT 1")" "the rerun counts no surrogate created"
# the cache emptied when full (2 entries a kind), and none at all: the same
# ids, nothing written
for n in 2 0; do
  sed "s/^  batch_size: 7$/  batch_size: 7\n  surrogate_cache: $n/" "$T/pg.yaml" >"$T/cache.yaml"
  ml -c "$T/cache.yaml" run
  assert_eq 0 "$RC" "a rerun with load.surrogate_cache $n exits 0"
  sleep 1
  q "SELECT pg_stat_force_next_flush()" >/dev/null 2>&1 || true
  assert_eq "$before" "$(stat)" "and writes no row (cache of $n)"
  if [ "$n" = 0 ]; then
    assert_contains "$OUT" "surrogate cache: 0 lookups, 0 hits" "no cache: nothing is looked up in it"
  else
    assert_not_contains "$OUT" "surrogate cache: 0 lookups" "a cache of 2 is looked up"
  fi
done
assert_eq "$sb" "$(q "SELECT count(*), max(id) FROM sensitive_city_ids")" "and no surrogate is added with a small cache or none"

# --- the analyst: stream tables and views, nothing of the PII
assert_eq "$USERS_LOADED" "$(as_a 'SELECT count(*) FROM users_raw')" "psql as analyst reads users_raw"
assert_eq "$ANOMALOUS_MESSAGES" "$(as_a 'SELECT count(*) FROM monitor_anomalous_messages')" "and a monitoring view, over the loaded rows"
for t in sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids load_rejects; do
  assert_contains "$(as_a "SELECT count(*) FROM $t")" "permission denied for table $t" "psql as analyst: permission denied on $t"
done
# every value of every relation the analyst may read, against the fixture's
# PII: the marker every dropped value carries, and every surrogate's value
readable=$(as_a "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'maskload' AND has_table_privilege(quote_ident(table_schema) || '.' || quote_ident(table_name), 'SELECT') ORDER BY 1")
nread=0 dump=""
for r in $readable; do
  dump+=$(as_a "SELECT t::text FROM $r t")$'\n'
  nread=$((nread + 1))
done
if [ "$nread" -ge 10 ]; then ok "the analyst can read $nread relations, all scanned"; else not_ok "the analyst reads only $nread relations: [$readable]"; fi
assert_contains "$dump" "example.com" "the scan sees the analyst's rows"
assert_not_contains "${dump,,}" "$PII_MARKER" "no dropped PII value (marker '$PII_MARKER') in anything the analyst reads"
# whole words only: a zipcode such as 8001 or 00100 is also a substring of
# the timings and counts of the run's own monitoring rows, which differ
# from run to run; a leaked value stands as a field of its own
surrogate_values() { q "SELECT value FROM sensitive_city_ids UNION ALL SELECT value FROM sensitive_profession_ids UNION ALL SELECT value FROM sensitive_zipcode_ids"; }
count_leaks() { # $1: the text scanned; prints how many surrogate values it holds
  local n=0 v
  while IFS= read -r v; do
    [ ${#v} -ge 4 ] || continue
    if grep -qwF -- "$v" <<<"$1"; then n=$((n + 1)); fi
  done < <(surrogate_values)
  echo "$n"
}
leaks=$(count_leaks "$dump")
assert_eq 0 "$leaks" "no surrogate's value in anything the analyst reads"
# must-fail: the same scan over the loader's rows of the sensitive tables
# finds their values, the zipcodes among them
loader_dump=$(q "SELECT t::text FROM sensitive_city_ids t UNION ALL SELECT t::text FROM sensitive_zipcode_ids t")
found=$(count_leaks "$loader_dump")
if [ "$found" -ge 8 ]; then ok "must-fail: the scan finds the $found city and zipcode values in the sensitive tables' rows"; else not_ok "the scan finds only $found values in the sensitive tables' rows"; fi
assert_eq 0 "$(as_l "SELECT count(*) FROM users_raw u LEFT JOIN sensitive_city_ids c ON c.id = u.city_id WHERE u.city_id IS NOT NULL AND c.value IS NULL")" "every city surrogate of users_raw maps to its value for the loader"
assert_eq 0 "$(as_l "SELECT count(*) FROM users_raw u LEFT JOIN sensitive_zipcode_ids z ON z.id = u.zipcode_id WHERE u.zipcode_id IS NOT NULL AND z.value IS NULL")" "every zipcode surrogate maps to its value"

# --- a change is written, an array that shrank loses its tail
q "UPDATE users_raw SET email_domain = 'changed.test' WHERE user_id = 1; INSERT INTO subscriptions_raw (user_id, subscription_no, created_at, start_date, end_date, status, amount, load_run_id, loaded_at) SELECT user_id, 9, created_at, start_date, end_date, status, amount, load_run_id, loaded_at FROM subscriptions_raw WHERE user_id = 2 AND subscription_no = 0" >/dev/null
ml -c "$T/pg.yaml" run --stream users
assert_eq 0 "$RC" "a run over changed rows exits 0"
assert_eq "$(q "SELECT max(run_id) FROM load_runs")|example.com" "$(q "SELECT load_run_id || '|' || email_domain FROM users_raw WHERE user_id = 1")" "a row that differs from its record is rewritten, stamped with the run"
assert_eq 0 "$(q "SELECT count(*) FROM subscriptions_raw WHERE user_id = 2 AND subscription_no = 9")" "a child row past its parent's array end is deleted"
assert_eq "$SUBSCRIPTIONS_ROWS" "$(q 'SELECT count(*) FROM subscriptions_raw')" "the other child rows stay"

# --- must-fail: the loader may not write a stream table: the batch rolls
# back whole, the run is failed with its error
psql_admin "$DB" "REVOKE INSERT ON maskload.messages_raw FROM maskload_${DB}_loader" >/dev/null
q "DELETE FROM messages_raw WHERE message_id = 1" >/dev/null
n_rej=$(q "SELECT count(*) FROM load_rejects")
ml -c "$T/pg.yaml" run --stream messages
assert_eq 1 "$RC" "a run that cannot write messages_raw exits 1"
assert_contains "$OUT" "permission denied for table messages_raw" "and says why"
assert_eq "failed" "$(q "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "the run is marked failed"
assert_contains "$(q "SELECT error_text FROM load_runs ORDER BY run_id DESC LIMIT 1")" "permission denied" "with its error"
assert_eq "$n_rej" "$(q "SELECT count(*) FROM load_rejects")" "its batch rolled back whole: no reject of it was kept"
assert_eq 0 "$(q 'SELECT count(*) FROM load_run_leases')" "and its lease is gone"
ml -c "$T/pg.yaml" init >/dev/null
ml -c "$T/pg.yaml" run --stream messages
assert_eq 0 "$RC" "after init restored the grants, the run exits 0"
assert_eq "$MESSAGES_LOADED" "$(q 'SELECT count(*) FROM messages_raw')" "and the deleted message is back"

# --- must-fail: another digest key is refused before anything is written
runs=$(q "SELECT count(*) FROM load_runs")
cfg "$(new_key_file other)" >"$T/other.yaml"
ml -c "$T/other.yaml" run
assert_eq 2 "$RC" "a run with another digest key exits 2"
assert_contains "$OUT" "fingerprint" "and says the key does not match the warehouse's"
assert_eq "$runs" "$(q "SELECT count(*) FROM load_runs")" "and records no run"

# --- must-fail: what PostgreSQL does not take yet is refused up front
ml -c "$T/pg.yaml" run --follow --stream users
assert_eq 2 "$RC" "run --follow of a stream that is no queue's exits 2"
assert_contains "$OUT" "--follow needs a stream of a queue source" "and says so"
assert_eq "$runs" "$(q "SELECT count(*) FROM load_runs")" "and records no run"

# --- check: the monitoring views' row counts against their thresholds
ml -c "$T/pg.yaml" check --format json
assert_eq 3 "$RC" "check exits 3 (anomalies) over the fixture's rows (default threshold 0)"
assert_contains "$OUT" '"view":"monitor_anomalous_messages","rows":'"$ANOMALOUS_MESSAGES" "check counts monitor_anomalous_messages as the fixture says"
assert_contains "$OUT" '"view":"monitor_subscription_anomalies","rows":'"$SUBSCRIPTION_ANOMALIES" "and monitor_subscription_anomalies"
assert_contains "$OUT" '"stream":"users"' "and names the streams' last successful runs"
cat "$T/pg.yaml" >"$T/thr.yaml"
printf 'check:\n  default_threshold: 100\n' >>"$T/thr.yaml"
ml -c "$T/thr.yaml" check
assert_eq 0 "$RC" "check exits 0 with every count under its threshold"
psql_admin "$DB" "DROP VIEW maskload.monitor_anomalous_messages CASCADE" >/dev/null
ml -c "$T/thr.yaml" check
assert_eq 1 "$RC" "must-fail: check with a monitoring view missing exits 1"
assert_contains "$OUT" "counting 'monitor_anomalous_messages' (did \`maskload init\` run?)" "and names the view"
ml -c "$T/pg.yaml" init >/dev/null

# --- a batch waiting on a row lock past lock_timeout (55P03, the retry
# class) is rolled back and replayed whole
sed 's/^  schema: maskload$/  schema: maskload\n  lock_wait_timeout: 1/' "$T/pg.yaml" >"$T/lock.yaml"
q "UPDATE users_raw SET email_domain = 'again.test' WHERE user_id = 3" >/dev/null
PGPASSWORD="$MASKLOAD_ADMIN_PASSWORD" psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$DB" \
  -c "BEGIN; SELECT 1 FROM maskload.users_raw WHERE user_id = 3 FOR UPDATE; SELECT pg_sleep(2.5); COMMIT" >/dev/null &
locker=$!
sleep 0.5
ml -c "$T/lock.yaml" run --stream users
wait "$locker" || true
assert_eq 0 "$RC" "a run meeting a held row lock exits 0"
assert_contains "$OUT" "retrying the whole batch transaction" "after retrying the batch it timed out on"
assert_contains "$OUT" "sqlstate 55P03" "named by its SQLSTATE"
assert_eq "example.com" "$(q "SELECT email_domain FROM users_raw WHERE user_id = 3")" "and the replayed batch wrote the row"

# --- concurrent loaders on a new warehouse: one id per value, none lost
q "TRUNCATE users_raw, subscriptions_raw, sensitive_city_ids, sensitive_zipcode_ids, sensitive_profession_ids" >/dev/null
for n in 1 2 3; do
  "$MASKLOAD_BIN" -c "$T/pg.yaml" run --stream users >"$T/conc$n.out" 2>&1 &
  eval "p$n=\$!"
done
crc=0
for n in 1 2 3; do eval "wait \$p$n" || crc=$?; done
assert_eq 0 "$crc" "three concurrent runs exit 0"
assert_eq "$DISTINCT_CITIES|$DISTINCT_CITIES" "$(q "SELECT count(*) || '|' || count(DISTINCT digest) FROM sensitive_city_ids")" "one city surrogate per value across concurrent loaders"
assert_eq "$DISTINCT_ZIPCODES" "$(q "SELECT count(*) FROM sensitive_zipcode_ids")" "one zipcode surrogate per value"
assert_eq 0 "$(q "SELECT count(*) FROM users_raw u LEFT JOIN sensitive_city_ids c ON c.id = u.city_id WHERE u.city_id IS NOT NULL AND c.id IS NULL")" "every city id of users_raw exists"
assert_eq "$USERS_LOADED|$SUBSCRIPTIONS_ROWS" "$(q "SELECT (SELECT count(*) FROM users_raw) || '|' || (SELECT count(*) FROM subscriptions_raw)")" "the rows are there once"

# --- a run killed after a committed batch: status shows it stale, the next
# run completes the work, nothing twice
q "TRUNCATE users_raw, subscriptions_raw, messages_raw" >/dev/null
MASKLOAD_TEST_KILL_AT=commit:2 ml -c "$T/pg.yaml" run
assert_eq 137 "$RC" "the test hook kills the run after its second commit (its first batch)"
killed=$(q "SELECT max(run_id) FROM load_runs")
assert_eq running "$(q "SELECT status FROM load_runs WHERE run_id = $killed")" "the killed run stays 'running' in load_runs"
assert_eq 1 "$(q "SELECT count(*) FROM load_run_leases WHERE run_id = $killed")" "with its lease"
assert_eq 3 "$(q "SELECT extract(epoch FROM expires_at - heartbeat_at)::int FROM load_run_leases WHERE run_id = $killed")" "its lease outlives three heartbeats of one second"
assert_eq t "$(q "SELECT node = coalesce(host(inet_server_addr()), 'socket') || ':' || current_setting('port') AND connection_id > 0 FROM load_run_leases WHERE run_id = $killed")" "it names this server and the run's backend"
partial=$(q 'SELECT count(*) FROM users_raw')
if [ "$partial" -gt 0 ] && [ "$partial" -lt "$USERS_LOADED" ]; then ok "its committed batches stay ($partial users)"; else not_ok "users after the kill: $partial"; fi
sleep 0.5
ml -c "$T/pg.yaml" status
assert_contains "$OUT" "stale" "status shows the killed run as stale"
ml -v -c "$T/pg.yaml" run
assert_eq 0 "$RC" "the next run exits 0"
assert_contains "$OUT" "users_raw holds rows: they are staged and upserted" "the killed run left rows: the next run upserts users_raw"
assert_eq "$USERS_LOADED|$SUBSCRIPTIONS_ROWS|$MESSAGES_LOADED" "$(q "SELECT (SELECT count(*) FROM users_raw) || '|' || (SELECT count(*) FROM subscriptions_raw) || '|' || (SELECT count(*) FROM messages_raw)")" "and completes the work, every row once"
assert_eq "$USERS_REJECTED" "$(q "SELECT count(*) FROM load_rejects WHERE stream = 'users' AND run_id = (SELECT max(run_id) FROM load_runs)")" "its rejects are its own"

# --- a declared mapping (tests/fixtures/orders: two child tables, every PII
# action) from a JSON Lines file
FIX="$SOURCE_DIR/tests/fixtures/orders"
cp "$FIX/orders.yaml" "$T/orders.yaml"
jq -c '.[]' "$FIX/orders.json" >"$T/orders.jsonl"
pg_drop "$DB"
DB=t72pgf
pg_drop "$DB"
cat >"$T/file.yaml" <<YAML
$(pg_config_head "$DB")
$(pii_section)
load:
  batch_size: 3
sources:
  api: { base_url: "http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1" }
  files: { kind: file, path: "$T/orders.jsonl", page_size: 2 }
streams:
  users: { source: api, path: /users }
  orders: { source: files, mapping: orders.yaml }
YAML
ml -c "$T/file.yaml" init
assert_eq 0 "$RC" "init of a declared file stream exits 0"; [ "$RC" = 0 ] || echo "$OUT"
ml -c "$T/file.yaml" run
assert_eq 0 "$RC" "run of the file stream (and the users) exits 0"
ml -c "$T/file.yaml" check --format json
assert_contains "$OUT" '"skipped":1' "check skips the monitoring view init skipped (no messages stream)"; [ "$RC" = 0 ] || echo "$OUT" | tail -3
assert_eq "8|6|2" "$(q "SELECT fetched || '|' || loaded || '|' || rejected FROM load_run_streams WHERE stream = 'orders'")" "orders counts: 8 fetched, 6 loaded, 2 rejected (as with MySQL)"
assert_eq 2 "$(q "SELECT count(*) FROM load_rejects WHERE stream = 'orders'")" "the two rejects are in load_rejects"
assert_eq 11 "$(q 'SELECT count(*) FROM order_lines_raw')" "order_lines_raw: 11 lines (as with MySQL)"
assert_eq 7 "$(q 'SELECT count(*) FROM order_payments_raw')" "order_payments_raw: 7 payments (as with MySQL)"
hmac_of() { printf 'hmac\0%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "key:$key" -r | cut -d' ' -f1; }
oid=$(q "SELECT order_id FROM orders_raw WHERE phone_hmac IS NOT NULL ORDER BY order_id LIMIT 1")
phone=$(jq -j --argjson id "$oid" '.[] | select(.id == $id) | .customer.phone' "$FIX/orders.json" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | tr '[:upper:]' '[:lower:]')
assert_eq "$(hmac_of "$phone")" "$(q "SELECT phone_hmac FROM orders_raw WHERE order_id = $oid")" "an hmac column is HMAC-SHA256(key, 'hmac' 0x00 value) as with MySQL"
assert_eq "$(q "SELECT id FROM sensitive_city_ids WHERE value = 'Berlin'")" "$(q "SELECT DISTINCT o.city_id FROM orders_raw o JOIN sensitive_city_ids c ON c.id = o.city_id WHERE c.value = 'Berlin'")" "an order's Berlin takes the surrogate the users' Berlin has"
ml -c "$T/file.yaml" run --stream orders
assert_eq 0 "$RC" "a rerun of the file stream exits 0"
assert_eq 11 "$(q 'SELECT count(*) FROM order_lines_raw')" "and changes no child row count"

# --- a record served twice in one run, in two batches: the second batch's
# COPY meets the first's key, rolls back to its savepoint and is upserted
pg_drop "$DB"
DB=t72pgd
pg_drop "$DB"
{ cat "$T/orders.jsonl"; jq -c '.[0] | .status = "returned" | .lines = [.lines[0]]' "$FIX/orders.json"; } >"$T/twice.jsonl"
sed -e "s|$T/orders.jsonl|$T/twice.jsonl|" -e "s|t72pgf|$DB|g" "$T/file.yaml" >"$T/twice.yaml"
ml -c "$T/twice.yaml" init
assert_eq 0 "$RC" "init for the record served twice exits 0"
ml -v -c "$T/twice.yaml" run --stream orders
assert_eq 0 "$RC" "a run meeting a record twice exits 0"; [ "$RC" = 0 ] || echo "$OUT" | tail -5
assert_contains "$OUT" "orders_raw: a key of this batch was written earlier in the run: the batch is upserted" "the second batch's COPY meets the key and the batch is upserted"
assert_eq "6|returned|1" "$(q "SELECT (SELECT count(*) FROM orders_raw) || '|' || (SELECT status FROM orders_raw WHERE order_id = 1001) || '|' || (SELECT count(*) FROM order_lines_raw WHERE order_id = 1001)")" "the record's last version is kept once, its shrunk lines trimmed"
assert_eq 9 "$(q 'SELECT count(*) FROM order_lines_raw')" "the other orders' lines stay"

# --- a batch the server refuses as too large (SQLSTATE 54000: here the key
# index's row limit, met by one record) is split in halves, each committed
# on its own, down to the one record no split can help: that record goes to
# load_rejects (the server's message, the masked row, no value in the log)
# and the run goes on with the records after it; a rerun loads nothing
# twice and rejects the record again
pg_drop "$DB"
DB=t72pgs
pg_drop "$DB"
cat >"$T/codes.yaml" <<'YAML'
table: codes_raw
key: [code]
columns:
  - { name: code, from: code, type: varchar(9000), required: true }
  - { name: n,    from: n,    type: int }
YAML
big=$(openssl rand -base64 4500 | tr -d '\n')
for i in 1 2 3 4 5 6 7 8 9 10; do
  if [ "$i" = 8 ]; then printf '{"code":"%s","n":%d}\n' "$big" "$i"; else printf '{"code":"c%d","n":%d}\n' "$i" "$i"; fi
done >"$T/codes.jsonl"
cat >"$T/split.yaml" <<YAML
$(pg_config_head "$DB")
$(pii_section)
load:
  batch_size: 10
sources:
  files: { kind: file, path: "$T/codes.jsonl", page_size: 10 }
streams:
  codes: { source: files, mapping: codes.yaml }
YAML
ml -c "$T/split.yaml" init
assert_eq 0 "$RC" "init of the codes stream exits 0"; [ "$RC" = 0 ] || echo "$OUT"
ml -c "$T/split.yaml" run
assert_eq 0 "$RC" "a record over the index's row limit does not stop the run"; [ "$RC" = 0 ] || echo "$OUT" | tail -5
assert_contains "$OUT" "a batch of 10 records is too large a transaction for the server" "the refused batch is split"
assert_contains "$OUT" "writing it as two of 5 and 5" "in two halves"
assert_contains "$OUT" "writing it as two of 1 and 2" "and halved again down to the one record"
assert_contains "$OUT" "a record is too large for the server even in a transaction of its own" "the log names the record no split can help"
assert_contains "$OUT" "rejected, see load_rejects" "and where it went"
assert_not_contains "$OUT" "$big" "and no value of it"
assert_eq "1,2,3,4,5,6,7,9,10" "$(q "SELECT string_agg(n::text, ',' ORDER BY n) FROM codes_raw")" "every other record is committed, each once"
assert_eq "succeeded|1" "$(q "SELECT status || '|' || (SELECT count(*) FROM load_rejects r WHERE r.run_id = l.run_id) FROM load_runs l ORDER BY run_id DESC LIMIT 1")" "the run succeeded with one reject"
assert_eq "codes|t|t|t|t" "$(q "SELECT stream, record_key IS NULL, reason LIKE 'too large for the server, even alone: %index row size%', payload::jsonb ->> 'n' = '8', length(payload) > 6000 FROM load_rejects ORDER BY reject_id DESC LIMIT 1")" \
  "the reject: no record key (the key is over 255 bytes), the server's reason, the masked row as its payload"
assert_eq 1 "$(q "SELECT rejected FROM load_run_streams WHERE stream = 'codes' ORDER BY run_id DESC LIMIT 1")" "the stream's counts have it as rejected"
ml -c "$T/split.yaml" run
assert_eq 0 "$RC" "the rerun exits 0"; [ "$RC" = 0 ] || echo "$OUT" | tail -5
assert_eq "1,2,3,4,5,6,7,9,10" "$(q "SELECT string_agg(n::text, ',' ORDER BY n) FROM codes_raw")" "and loads nothing twice"
assert_eq 2 "$(q "SELECT count(*) FROM load_rejects WHERE stream = 'codes'")" "the record is rejected again"

pg_drop "$DB"
finish
