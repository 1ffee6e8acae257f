#!/usr/bin/env bash
# Streams loaded at the same time (load.parallel_streams: 2), each on
# connections of its own, load exactly what the same streams load one after
# the other: the same rows, the same surrogate id for every value, the same
# bookkeeping; the two streams really overlap (the messages stream starts
# before the slowed users stream ends); a run killed at any of a sweep of
# points is completed by the next parallel run to the undisturbed result; a
# batch refused by the server fails the run, the other stream stops after
# the batch it is writing and what it committed is whole, and the next run
# completes the work; streams sharing a table run one after the other; a bad
# load.parallel_streams is a config error.
#
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"

# our own fixture API (its fault rules slow the users pages down without
# touching the API the other tests share)
start_api "$FIXTURES"
API="http://127.0.0.1:$API_PORT"
slow_users() { # slow_users MS [PAGE] : users pages (or page PAGE) answered after MS ms
  curl -sf -X DELETE "$API/__faults" >/dev/null
  [ "$1" = 0 ] || curl -sf -X POST --data "{\"path\":\"/users\",\"times\":1000,\"delay_ms\":$1${2:+,\"page\":$2}}" \
    "$API/__faults" >/dev/null
}

# pconfig FILE DB N [extra streams yaml]: the test config with parallel_streams N
pconfig() {
  cat >"$1" <<YAML
$(config_head "$2")
$(pii_section)
load:
  batch_size: 7
  parallel_streams: $3
sources:
  api:
    base_url: $API/evaluation/dataengineer/jr/v1
    page_size: 4
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
${4:-}
YAML
}

# dump DB: data columns in key order, then every surrogate table id by id
dump() {
  sql_admin "$1" "SELECT user_id, created_at, updated_at, city_id, country, zipcode_id, email_domain,
      birth_year, gender, is_smoking, profession_id, income FROM users_raw ORDER BY user_id"
  sql_admin "$1" "SELECT user_id, subscription_no, created_at, start_date, end_date, status, amount
    FROM subscriptions_raw ORDER BY user_id, subscription_no"
  sql_admin "$1" "SELECT message_id, created_at, sender_id, receiver_id FROM messages_raw ORDER BY message_id"
  for k in city zipcode profession; do
    sql_admin "$1" "SELECT id, $(wh_hex value) FROM sensitive_${k}_ids ORDER BY id"
  done
}
bookkeeping() {
  sql_admin "$1" "SELECT stream, pages, fetched, loaded, rejected, surrogates_created, duplicates,
      finished_at IS NOT NULL FROM load_run_streams ORDER BY stream"
  sql_admin "$1" "SELECT stream, source_ref, record_key, reason FROM load_rejects ORDER BY stream, source_ref"
  sql_admin "$1" "SELECT status, error_text FROM load_runs"
}
# overlap DB: 1 when the messages stream started before the users stream ended
overlap() {
  sql_admin "$1" "SELECT $(wh_pick "m.started_at < u.finished_at" "(m.started_at < u.finished_at)::int") FROM load_run_streams u JOIN load_run_streams m
    ON m.run_id = u.run_id AND m.stream = 'messages' WHERE u.stream = 'users' ORDER BY u.run_id DESC LIMIT 1"
}

# ---- 1. serial and parallel load the same; the parallel streams overlap ----
slow_users 300
for n in 1 2; do
  fresh_db "it_par_$n"
  pconfig "$T/p$n.yaml" "it_par_$n" "$n"
  ml -c "$T/p$n.yaml" init; assert_eq 0 "$RC" "init (parallel_streams $n)"
  ml -v -c "$T/p$n.yaml" run
  assert_eq 0 "$RC" "run with load.parallel_streams $n: $OUT"
  echo "$OUT" >"$T/p$n.log"
done
assert_contains "$(cat "$T/p2.log")" "streams 2 at a time (load.parallel_streams 2), each on connections of its own" \
  "parallel: the log says the streams run at the same time"
assert_not_contains "$(cat "$T/p1.log")" "at a time" "serial: it does not"
assert_eq 0 "$(overlap it_par_1)" "serial: the messages stream starts after the users stream ended"
assert_eq 1 "$(overlap it_par_2)" "parallel: the messages stream starts before the (slowed) users stream ended"
assert_eq "$USERS_LOADED" "$(sql_admin it_par_2 "SELECT COUNT(*) FROM users_raw")" "parallel: users loaded"
assert_eq "$MESSAGES_LOADED" "$(sql_admin it_par_2 "SELECT COUNT(*) FROM messages_raw")" "parallel: messages loaded"
assert_eq "$(dump it_par_1)" "$(dump it_par_2)" "serial and parallel: the same rows and the same surrogate id for every value"
assert_eq "$(bookkeeping it_par_1)" "$(bookkeeping it_par_2)" "and the same load_run_streams, load_rejects and load_runs"
for st in users messages; do
  line=$(grep -o "stream '$st': [0-9]* pages, .*" "$T/p1.log")
  assert_contains "$(cat "$T/p2.log")" "$line" "the $st stream's summary line is whole, as in the serial run"
done
hits1=$(grep -o 'surrogate cache: [0-9]* lookups' "$T/p1.log")
assert_contains "$(cat "$T/p2.log")" "$hits1" "the surrogate lookups of both streams are counted"
assert_contains "$(cat "$T/p2.log")" "stages (cpu s): main thread" "-v logs the CPU of the threads"
before=$(dump it_par_2)
ml -c "$T/p2.yaml" run; assert_eq 0 "$RC" "a parallel rerun"
assert_eq "$before" "$(dump it_par_2)" "the parallel rerun leaves every row and surrogate as it was"
slow_users 0

# ---- 2. killed during a parallel run, completed by the next ----
# the data columns of every data table compared (as test_12_kill_resume
# compares them), each attempt from emptied tables with the counters reset
HASH_SQL=$(wh_hash_sql it_par_1)
REF_HASH=$(sql_admin it_par_1 "$HASH_SQL" | tr '\t' ' ')
DB=it_par_kill
fresh_db "$DB"
pconfig "$T/k.yaml" "$DB" 2
ml -c "$T/k.yaml" init; assert_eq 0 "$RC" "init (kill)"
killed=0 bad=0 differ_killed=0
# statements are counted over every connection of the process: a MySQL run
# makes about 74 (stmt:75 and stmt:90 then complete the run), a PostgreSQL
# run about 109, so PostgreSQL gets one point more, near the end of its
# users stream
for point in commit:2 commit:3 commit:4 commit:5 commit:6 stmt:15 stmt:30 stmt:45 stmt:60 stmt:75 stmt:90 \
  $(wh_pick "" stmt:100); do
  wh_empty "$DB"
  MASKLOAD_TEST_KILL_AT=$point ml -c "$T/k.yaml" run
  [ "$RC" -eq 137 ] || { echo "# $point: exit $RC (not killed)"; continue; }
  killed=$((killed + 1))
  [ "$(sql_admin "$DB" "$HASH_SQL" | tr '\t' ' ')" = "$REF_HASH" ] || differ_killed=$((differ_killed + 1))
  ml -c "$T/k.yaml" run
  if [ "$RC" -ne 0 ]; then bad=$((bad + 1)); not_ok "$point: the next run failed: $OUT"; continue; fi
  h=$(sql_admin "$DB" "$HASH_SQL" | tr '\t' ' ')
  if [ "$h" != "$REF_HASH" ]; then
    bad=$((bad + 1)); not_ok "$point: tables differ from the undisturbed run"; diff <(echo "$REF_HASH") <(echo "$h") || true
  fi
done
if [ "$killed" -ge 8 ]; then ok "killed a parallel run at $killed points"; else not_ok "only $killed kill points reached"; fi
if [ "$differ_killed" -ge 1 ]; then ok "a killed run leaves the tables incomplete ($differ_killed times)"; else not_ok "no kill left the tables incomplete: the sweep proves nothing"; fi
assert_eq 0 "$bad" "after each kill the next parallel run completes and equals the undisturbed serial run"

# ---- 3. must fail: a batch of one stream refused; the other stops after its batch ----
# pages of 4, batches of 7 records: messages are written in batches of 8
# (positions 1-8, 9-16, 17-24, 25-27); message 18 is in the third
DB=it_par_fail
fresh_db "$DB"
pconfig "$T/f.yaml" "$DB" 2
ml -c "$T/f.yaml" init; assert_eq 0 "$RC" "init (refusal)"
sql_admin "$DB" "$(wh_refuse refuse_18 messages_raw "NEW.message_id = 18" "message 18 refused")"
# the users stream commits its first batch (pages 1-2), then waits for page 3
# while the messages stream fails
slow_users 3000 3
ml -c "$T/f.yaml" run
slow_users 0
assert_eq 1 "$([ "$RC" -ne 0 ] && echo 1 || echo 0)" "a batch refused by the server fails the parallel run (rc $RC)"
assert_contains "$OUT" "message 18 refused" "with the server's message"
assert_contains "$OUT" "stream 'messages'" "naming the stream"
assert_contains "$OUT" "stream 'users': stopped: another stream of the run failed" "the users stream stops"
assert_eq "15 15" "$(sql_admin "$DB" "SELECT COUNT(*), MAX(message_id) FROM messages_raw" | tr '\t' ' ')" \
  "the messages batches before the refused one are committed, whole"
users_now=$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw")
assert_eq "$users_now" "$(sql_admin "$DB" "SELECT loaded FROM load_run_streams WHERE stream='users'")" \
  "the users rows committed are exactly those its bookkeeping counts"
if [ "$users_now" -gt 0 ] && [ "$users_now" -lt "$USERS_LOADED" ]; then ok "the users stream committed its first batch and stopped ($users_now of $USERS_LOADED users)"; else not_ok "the users stream committed $users_now of $USERS_LOADED users"; fi
assert_eq "$(sql_admin it_par_1 "SELECT s.user_id, s.subscription_no, s.status, s.amount FROM subscriptions_raw s
    WHERE s.user_id IN ($(sql_admin "$DB" "SELECT COALESCE($(wh_agg user_id user_id), '0') FROM users_raw")) ORDER BY 1, 2")" \
  "$(sql_admin "$DB" "SELECT user_id, subscription_no, status, amount FROM subscriptions_raw ORDER BY 1, 2")" \
  "every committed user has all its subscriptions, and no other user any"
assert_eq "failed" "$(sql_admin "$DB" "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "the run is recorded failed"
assert_contains "$(sql_admin "$DB" "SELECT error_text FROM load_runs ORDER BY run_id DESC LIMIT 1")" "message 18 refused" \
  "with the refused stream's error"
sql_admin "$DB" "DROP TRIGGER refuse_18$(wh_pick "" " ON messages_raw")"
ml -c "$T/f.yaml" run; assert_eq 0 "$RC" "the next run completes the work"
assert_eq "$REF_HASH" "$(sql_admin "$DB" "$HASH_SQL" | tr '\t' ' ')" "and the tables equal the undisturbed run's"

# ---- 4. streams resolving a surrogate kind in common run one after the other ----
# (two streams never write one table: the config refuses it)
fresh_db it_par_same
pconfig "$T/s.yaml" it_par_same 2 "  user_cities:
    source: api
    path: /users
    table: user_cities_raw
    key: [user_id]
    columns:
      - { name: user_id, from: id, type: bigint, required: true }
      - { name: city_id, from: city, pii: surrogate, kind: city }"
ml -c "$T/s.yaml" init; assert_eq 0 "$RC" "init (surrogate kinds in common): $OUT"
ml -c "$T/s.yaml" run; assert_eq 0 "$RC" "run with two streams resolving city, zipcode, profession: $OUT"
assert_contains "$OUT" "within: users, user_cities | messages" "users and user_cities share a group (kind city), messages runs beside"
assert_eq 1 "$(sql_admin it_par_same "SELECT $(wh_pick "a.started_at >= u.finished_at" "(a.started_at >= u.finished_at)::int") FROM load_run_streams u JOIN load_run_streams a
  ON a.run_id = u.run_id AND a.stream = 'user_cities' WHERE u.stream = 'users'")" "user_cities starts after users ended"
assert_eq 0 "$(sql_admin it_par_same "SELECT COUNT(*) FROM users_raw u JOIN user_cities_raw c USING (user_id)
  WHERE NOT ($(wh_pick "u.city_id <=> c.city_id" "u.city_id IS NOT DISTINCT FROM c.city_id"))")" "and both streams hold the same city id for every user"

# ---- 5. must fail: load.parallel_streams takes 1..16 ----
for v in 0 17 two; do
  pconfig "$T/bad.yaml" it_par_bad "$v"
  ml -c "$T/bad.yaml" plan
  assert_eq 2 "$RC" "load.parallel_streams $v is a config error: $OUT"
  assert_contains "$OUT" "bad.yaml:$(grep -n '^  parallel_streams:' "$T/bad.yaml" | cut -d: -f1):21:" "with the file, line and column ($v)"
  assert_contains "$OUT" "parallel_streams" "and the key ($v)"
done

finish
