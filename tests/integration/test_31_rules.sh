#!/usr/bin/env bash
# Records with missing keys, wrong types, out-of-range dates,
# duplicate ids, or unknown extra fields are each handled by a stated rule
# (README "What happens when things go wrong", mapping.h) and counted in
# load_run_streams; none is dropped silently:
#   fetched = loaded + rejected + duplicates.
# The fixture (tests/fixtures/rules) is served by a second fixture_api.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_rules
fresh_db "$DB"

start_api "$SOURCE_DIR/tests/fixtures/rules"

# page_size 4 and batch_size 7 (write_config): pages 1-2 form the first batch,
# pages 3-4 the second
write_config "$T/c.yaml" "$DB"
sed -i "s|http://127.0.0.1:$IT_API_PORT/|http://127.0.0.1:$API_PORT/|" "$T/c.yaml"
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "run exits 0"
LOG=$OUT
echo "$LOG" | grep -v '^$' | tail -6

q() { sql_admin "$DB" "$1"; }
assert_eq "13	4	7	2	2" \
  "$(q "SELECT fetched, loaded, rejected, duplicates, unknown_fields FROM load_run_streams WHERE stream='users'")" \
  "users: 13 fetched = 4 loaded + 7 rejected + 2 duplicates; 2 with unknown fields"
assert_eq "4	2	1	1	1" \
  "$(q "SELECT fetched, loaded, rejected, duplicates, unknown_fields FROM load_run_streams WHERE stream='messages'")" \
  "messages: 4 fetched = 2 loaded + 1 rejected + 1 duplicate; 1 with unknown fields"
assert_eq 0 "$(q "SELECT COUNT(*) FROM load_run_streams WHERE fetched <> loaded + rejected + duplicates")" \
  "no record unaccounted for"

# duplicates: the last one wins, child rows included
assert_eq "1:NextBatch-1,2:Again-2,3:Chile" \
  "$(q "SELECT $(wh_agg "CONCAT(user_id, ':', country)" user_id) FROM users_raw")" \
  "the last record of each id wins (in a page, across pages, across batches)"
assert_eq "1:0,2:0,3:0" \
  "$(q "SELECT $(wh_agg "CONCAT(user_id, ':', subscription_no)" "user_id, subscription_no") FROM subscriptions_raw")" \
  "user 1 keeps only the subscriptions of its last record"
assert_eq "1:3,2:2" "$(q "SELECT $(wh_agg "CONCAT(message_id, ':', receiver_id)" message_id) FROM messages_raw")" \
  "the last message with id 1 wins"
assert_eq 3 "$(q "SELECT COUNT(*) FROM sensitive_city_ids")" \
  "superseded and rejected records created no surrogates"

# rejects: one per bad record, with the rule in the reason
reasons=$(q "SELECT CONCAT(COALESCE(record_key, '-'), ' ', reason) FROM load_rejects WHERE stream='users' ORDER BY reject_id")
echo "$reasons"
assert_contains "$reasons" "- field 'id': missing required field" "missing key rejected"
assert_contains "$reasons" "field 'id': must be an integer" "boolean id rejected (wrong type)"
assert_contains "$reasons" "6 field 'createdAt': must be a timestamp string" "number as timestamp rejected (wrong type)"
assert_contains "$reasons" "7 field 'createdAt'" "month 13 rejected"
assert_contains "$reasons" "8 field 'birthDate' (PII, value not shown)" "Feb 30 birth date rejected, value hidden"
assert_contains "$reasons" "9 element 0 of 'subscription': field 'startDate'" "year 10000 rejected"
assert_contains "$reasons" "10 field 'createdAt'" "year 999 rejected"
assert_contains "$(q "SELECT reason FROM load_rejects WHERE stream='messages'")" "field 'senderId'" "bad sender rejected"

# unknown fields: accepted, not stored, their names logged once per stream
assert_eq 1 "$(grep -c "stream 'users': records carry fields outside the mapping" <<<"$LOG")" \
  "one warning for the users stream"
assert_eq 1 "$(grep -c "stream 'messages': records carry fields outside the mapping" <<<"$LOG")" \
  "one warning for the messages stream"
warn=$(grep "stream 'users': records carry fields outside the mapping" <<<"$LOG")
for name in ssn profile.hobby "subscription[].coupon" nickname; do
  assert_contains "$warn" "$name" "unknown field '$name' named in the warning"
done
assert_contains "$warn" "maskload: warning: " "logged at warning level"
assert_not_contains "$LOG" "UNKNOWNVALUE" "no unknown field's value in the log"
assert_contains "$(grep "stream 'users':.*fetched" <<<"$LOG")" "2 duplicates" "the summary line counts duplicates"
dump_tables "$DB"
assert_eq 0 "$(cat "$T"/dump_*.sql | grep -a -c UNKNOWNVALUE || true)" "no unknown field's value in any table"
assert_eq 0 "$(cat "$T"/dump_*.sql | grep -a -ci zq || true)" "no dropped PII in any table"

# the counter columns are added to databases made by an older init (MySQL's:
# PostgreSQL's bookkeeping tables have had them since their first version)
if [ "$IT_WAREHOUSE" = postgres ]; then
  ok "no older PostgreSQL load_run_streams to upgrade (its columns date from its first version)"
else
  q "ALTER TABLE load_run_streams DROP COLUMN duplicates, DROP COLUMN unknown_fields"
  ml -c "$T/c.yaml" init
  assert_eq 0 "$RC" "init upgrades an old load_run_streams ($OUT)"
  assert_eq 2 "$(q "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema='$(wh_schema "$DB")' AND table_name='load_run_streams' AND column_name IN ('duplicates','unknown_fields')")" \
    "init adds the counter columns"
  ml -c "$T/c.yaml" init
  assert_eq 0 "$RC" "init is still idempotent"
fi
finish
