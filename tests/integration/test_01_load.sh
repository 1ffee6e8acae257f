#!/usr/bin/env bash
# init + run load the fixture: expected rows, rejects, surrogates, run audit,
# monitoring views and the analysis queries' answers. Runs against either
# warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_load
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"

ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "run exits 0"
echo "$OUT" | tail -5

q() { sql_admin "$DB" "$1"; }
assert_eq "$USERS_LOADED" "$(q 'SELECT COUNT(*) FROM users_raw')" "users_raw rows"
assert_eq "$SUBSCRIPTIONS_ROWS" "$(q 'SELECT COUNT(*) FROM subscriptions_raw')" "subscriptions_raw rows"
assert_eq "$MESSAGES_LOADED" "$(q 'SELECT COUNT(*) FROM messages_raw')" "messages_raw rows"
assert_eq "$USERS_REJECTED" "$(q "SELECT COUNT(*) FROM load_rejects WHERE stream='users'")" "users rejected"
assert_eq "$MESSAGES_REJECTED" "$(q "SELECT COUNT(*) FROM load_rejects WHERE stream='messages'")" "messages rejected"
assert_eq "$DISTINCT_CITIES" "$(q 'SELECT COUNT(*) FROM sensitive_city_ids')" "one city surrogate per distinct city"
assert_eq "$DISTINCT_PROFESSIONS" "$(q 'SELECT COUNT(*) FROM sensitive_profession_ids')" "profession surrogates"
assert_eq "$DISTINCT_ZIPCODES" "$(q 'SELECT COUNT(*) FROM sensitive_zipcode_ids')" "zipcode surrogates"

# every reject says why and where, and names its record when it has an id
assert_eq 0 "$(q "SELECT COUNT(*) FROM load_rejects WHERE reason = '' OR source_ref NOT LIKE 'http://%page=%#%'")" \
  "rejects carry a reason and a source reference"
reasons=$(q "SELECT reason FROM load_rejects ORDER BY reject_id")
assert_contains "$reasons" "field 'id': missing required field" "missing id rejected with its reason"
assert_contains "$reasons" "not-a-date" "bad date rejected, value quoted (not PII)"
assert_contains "$reasons" "field 'createdAt': missing required field" "message without createdAt rejected"

# Muller and Müller: different surrogates although equal under MySQL's collation
BIN=$(wh_pick " COLLATE utf8mb4_bin" "") # an exact comparison of text
muller=$(q "SELECT u.city_id FROM users_raw u JOIN sensitive_city_ids c ON c.id = u.city_id WHERE c.value = 'Muller'$BIN")
mueller=$(q "SELECT u.city_id FROM users_raw u JOIN sensitive_city_ids c ON c.id = u.city_id WHERE c.value = 'Müller'$BIN")
if [ -n "$muller" ] && [ -n "$mueller" ] && [ "$muller" != "$mueller" ]; then
  ok "Muller ($muller) and Müller ($mueller) have different surrogates"
else
  not_ok "Muller/Müller surrogates: [$muller] [$mueller]"
fi
assert_eq 3 "$(q "SELECT COUNT(*) FROM users_raw u JOIN sensitive_city_ids c ON c.id = u.city_id WHERE c.value = 'Berlin'")" \
  "the three Berlin users share one surrogate"
for v in "São Paulo" "Zürich" "Kraków" "O'Fallon"; do
  esc=${v//\'/\'\'}
  assert_eq 1 "$(q "SELECT COUNT(*) FROM sensitive_city_ids WHERE value = '$esc'$BIN")" "city '$v' stored intact"
done

# digests: HMAC with the configured key, 32 bytes
assert_eq 0 "$(q 'SELECT COUNT(*) FROM sensitive_city_ids WHERE LENGTH(digest) <> 32')" "digests are 32 bytes"

# typed columns
assert_eq "$(wh_pick "datetime(3)" "timestamp(3) without time zone")" "$(wh_column_type "$DB" users_raw created_at)" "created_at is DATETIME(3) / timestamp(3)"
assert_eq 0 "$(q "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema='$(wh_schema "$DB")' AND table_name='users_raw' AND column_name IN ('firstName','first_name','last_name','address','email','city','zipcode','profession')")" "no PII columns in users_raw"

# run audit
run_row=$(q "SELECT status, CASE WHEN error_text IS NULL THEN 1 ELSE 0 END, CASE WHEN finished_at IS NOT NULL THEN 1 ELSE 0 END FROM load_runs ORDER BY run_id DESC LIMIT 1")
assert_eq "succeeded	1	1" "$run_row" "load_runs records a succeeded run"
assert_eq "$((USERS_LOADED + USERS_REJECTED))	$USERS_LOADED	$USERS_REJECTED" \
  "$(q "SELECT fetched, loaded, rejected FROM load_run_streams WHERE stream='users' ORDER BY run_id DESC LIMIT 1")" \
  "per-stream counts for users"
ml -c "$T/c.yaml" status
assert_eq 0 "$RC" "status exits 0"
assert_contains "$OUT" "succeeded" "status shows the run"

# monitoring
ml -c "$T/c.yaml" check
assert_eq 3 "$RC" "check exits 3: the fixture plants anomalies"
assert_contains "$OUT" "monitor_subscription_anomalies" "check lists the views"
ml -c "$T/c.yaml" check --format json
j=$OUT
for pair in "monitor_subscription_anomalies:$SUBSCRIPTION_ANOMALIES" "monitor_anomalous_messages:$ANOMALOUS_MESSAGES" \
            "monitor_orphan_messages:$ORPHAN_MESSAGES" "monitor_subscription_bad_period:$SUBSCRIPTION_BAD_PERIOD" \
            "monitor_future_timestamps:$FUTURE_TIMESTAMPS" "monitor_users_updated_before_created:$USERS_UPDATED_BEFORE_CREATED"; do
  v=${pair%%:*}; n=${pair##*:}
  assert_contains "$j" "{\"view\":\"$v\",\"rows\":$n," "$v has $n rows"
  assert_eq "$n" "$(q "SELECT COUNT(*) FROM $v")" "$v counted directly"
done
# thresholds from the config make check pass
write_config "$T/t.yaml" "$DB" "check:
  default_threshold: 100"
ml -c "$T/t.yaml" check --format prometheus
assert_eq 0 "$RC" "check exits 0 when every view is within its threshold"
assert_contains "$OUT" "maskload_monitor_rows{view=\"monitor_anomalous_messages\"} $ANOMALOUS_MESSAGES" "prometheus output"

# the analysis queries of the warehouse's dialect (queries/, queries/postgres/),
# run by the analyst with the real client
aq() { as_analyst "$DB" "$(cat "$SOURCE_DIR/queries/$(wh_pick "" postgres/)$1")"; }
per_day=$(aq 01_messages_per_day.sql | awk -F'\t' '{printf "%s%s:%s", (NR>1?",":""), $1, $2}')
assert_eq "$MESSAGES_PER_DAY" "$per_day" "messages per day"
assert_eq "$USERS_WITHOUT_RECEIVED" "$(aq 02_users_without_received_messages.sql | cut -f1 | sort -n | paste -sd,)" "users who received no message"
assert_eq "$ACTIVE_SUBSCRIPTIONS_TODAY" "$(aq 03_active_subscriptions_today.sql | head -1 | cut -f1)" "active subscriptions today"
assert_eq "$SENDERS_WITHOUT_ACTIVE" "$(aq 04_senders_without_active_subscription.sql | cut -f1 | sort -n | paste -sd,)" "senders without an active subscription"
noisy=$(aq 05_noisy_records.sql)
assert_contains "$noisy" "monitor_subscription_anomalies	$SUBSCRIPTION_ANOMALIES" "noisy records summary"
# the same answers through the installed analysis views
assert_eq "$ACTIVE_SUBSCRIPTIONS_TODAY" "$(as_analyst "$DB" 'SELECT * FROM analysis_active_subscriptions_today' | head -1 | cut -f1)" "analysis view answers like its query"
finish
