#!/usr/bin/env bash
# Declared data-quality checks. Two file-source streams: customers (1, 2, 3)
# and orders (9 records, each bad row known):
#   2 customer NULL          -> customer_id not_null
#   3 customer 99 (no such)  -> customer_id references customers_raw.customer_id
#   4 status 'lost'          -> status accepted [open, closed]
#   5 qty 0, 6 qty 101       -> qty range [1, 100]
#   5 and 6 share code 'E'   -> code unique
#   7 ordered in 2099        -> ordered_at not_future (shared view, long shape)
#   9 shipped in 2098        -> shipped_at not_future (the same shared view)
#   8 ordered in 1999        -> ordered_at not_before 2000-01-01
#   8 shipped before ordered -> shipped_at not_before ordered_at
#  1. init generates one view per check, SQL SECURITY INVOKER, granted to the
#     analyst: exactly the offending rows, the key and the checked column only;
#  2. stream expectations: customers freshness 26h, orders min_rows 10: one row
#     each before any run, min_rows after a run of 9, freshness after the last
#     run is made old (load_runs as admin), none when fresh; a run that loads
#     nothing fails min_rows;
#  3. check: exit 3 over the thresholds, 0 within them; default_threshold does
#     not excuse a stale stream, an entry in check.thresholds does; JSON and
#     Prometheus carry the counts and the last success per stream;
#  4. must fail (exit 2, file:line:column): checks that do not fit the column,
#     bad arguments, references to unknown tables or columns, view names.
. "$(dirname "$0")/lib.sh"
DB=it_checks
fresh_db "$DB"
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
q() { sql_admin "$DB" "$1"; }
analyst() { as_analyst "$DB" "$1"; }

cat >"$T/customers.jsonl" <<'EOF'
{"id":1,"name":"zq one"}
{"id":2,"name":"zq two"}
{"id":3,"name":"zq three"}
EOF
o() { printf '{"id":%s,"customer":%s,"status":"%s","qty":%s,"code":"%s","ordered":"%s","shipped":%s}\n' "$@"; }
{
  o 1 1 open 5 A 2024-01-01T10:00:00Z '"2024-01-02T00:00:00Z"'
  o 2 null closed 10 B 2024-01-01T10:00:00Z '"2024-01-03T00:00:00Z"'
  o 3 99 open 1 C 2024-01-02T10:00:00Z null
  o 4 2 lost 100 D 2024-01-03T10:00:00Z null
  o 5 2 open 0 E 2024-01-04T10:00:00Z null
  o 6 3 closed 101 E 2024-01-05T10:00:00Z null
  o 7 3 open 7 F 2099-01-01T00:00:00Z null
  o 8 1 closed 8 G 1999-12-31T23:59:59Z '"1999-12-30T00:00:00Z"'
  o 9 1 open 9 H 2024-01-06T10:00:00Z '"2098-06-01T00:00:00Z"'
} >"$T/orders.jsonl"
cp "$T/orders.jsonl" "$T/orders.full"

DEFAULT_CHECK='check: { default_threshold: 0 }'
# checks_config FILE [ORDERS_EXTRA_COLUMN_CHECKS] [CHECK_SECTION] [MIN_ROWS]
checks_config() {
  cat >"$1" <<YAML
$(config_head "$DB")
$(pii_section)
sources:
  files: { kind: file, path: customers.jsonl }
  order_files: { kind: file, path: orders.jsonl }
streams:
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
    min_rows: ${4:-10}
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
${2:-}
${3:-$DEFAULT_CHECK}
YAML
}
checks_config "$T/c.yaml"

# ---- 1. the generated views ----
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
ml -c "$T/c.yaml" check --format json
assert_eq 3 "$RC" "check before any run: exit 3 (never loaded)"
assert_eq 1 "$(jq -r '.views[] | select(.view == "monitor_customers_freshness") | .rows' <<<"$OUT")" "freshness: one row before any run"
assert_eq 1 "$(jq -r '.views[] | select(.view == "monitor_orders_min_rows") | .rows' <<<"$OUT")" "min_rows: one row before any run"
assert_eq "null" "$(jq -r '.streams[] | select(.stream == "orders") | .last_success' <<<"$OUT")" "no last success yet"
ml -c "$T/c.yaml" check
assert_contains "$OUT" "$(printf '%-40s %s' customers never)" "the table output says a stream never succeeded"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run ($OUT)"
assert_eq 9 "$(q 'SELECT COUNT(*) FROM orders_raw')" "every order loaded"

view_rows() { analyst "SELECT * FROM $1 ORDER BY 1, 2" | tr '\t\n' ' ;' ; }
# ms TEXT: a datetime as the warehouse prints it (PostgreSQL drops zero milliseconds)
ms() { if [ "$IT_WAREHOUSE" = postgres ]; then printf '%s' "${1//.000/}"; else printf '%s' "$1"; fi; }
cols() { wh_columns "$DB" "$1" | paste -sd, -; }
assert_eq "2 NULL;" "$(view_rows monitor_orders_raw_customer_id_not_null)" "not_null: order 2"
assert_eq "3 99;" "$(view_rows monitor_orders_raw_customer_id_references)" "references: order 3's customer 99 (the NULL of order 2 is not an orphan)"
assert_eq "4 lost;" "$(view_rows monitor_orders_raw_status_accepted)" "accepted: order 4"
assert_eq "5 0;6 101;" "$(view_rows monitor_orders_raw_qty_range)" "range: orders 5 and 6 (1 and 100 are inside)"
assert_eq "5 E;6 E;" "$(view_rows monitor_orders_raw_code_unique)" "unique: both rows of code E"
assert_eq "$(ms "8 1999-12-31 23:59:59.000;")" "$(view_rows monitor_orders_raw_ordered_at_not_before)" "not_before a date: order 8"
assert_eq "$(ms "8 1999-12-30 00:00:00.000 1999-12-31 23:59:59.000;")" "$(view_rows monitor_orders_raw_shipped_at_not_before)" \
  "not_before a column: order 8 (key, the column, the other column)"
assert_eq "$(ms "orders_raw 7 ordered_at 2099-01-01 00:00:00.000;orders_raw 9 shipped_at 2098-06-01 00:00:00.000;")" \
  "$(analyst "SELECT * FROM monitor_orders_time_problems ORDER BY record_key" | tr '\t\n' ' ;')" \
  "not_future: two checks share one view by name (table, key, column, value)"
assert_eq "order_id,status" "$(cols monitor_orders_raw_status_accepted)" "a check view has the key and the checked column only"
assert_eq "table_name,record_key,column_name,value" "$(cols monitor_orders_time_problems)" "a shared view has the long shape"
assert_eq "0" "$(wh_not_invoker "$DB" 'monitor\_%')" \
  "every generated view is SQL SECURITY INVOKER"
assert_eq 10 "$(wh_views "$DB" | grep -c '^monitor_')" \
  "seven column views, one shared view, freshness and min_rows"
assert_contains "$(analyst "SELECT * FROM customers_raw JOIN monitor_orders_raw_qty_range USING (customer_id)")" "$(wh_pick "Unknown column" "does not exist")" \
  "must fail: no column beyond the key and the checked one through a view"
assert_contains "$(analyst "CREATE OR REPLACE VIEW monitor_orders_raw_qty_range AS SELECT 1")" "denied" \
  "must fail: the analyst cannot replace a generated view"

# ---- 2. expectations ----
assert_eq "" "$(analyst "SELECT * FROM monitor_customers_freshness")" "freshness: no row right after a run"
assert_eq "orders	1	9	10" "$(analyst "SELECT * FROM monitor_orders_min_rows")" "min_rows: the run read 9 of the 10 wanted"
ml -c "$T/c.yaml" check
assert_eq 3 "$RC" "check exits 3 over the thresholds"
assert_contains "$OUT" "monitor_orders_raw_qty_range" "the table output names the views"
assert_contains "$OUT" "$(printf '%-40s %s' orders "$(q "SELECT $(wh_iso 'MAX(finished_at)') FROM load_runs")")" \
  "and the last success of each stream"
# a check declared but not installed yet fails check until init
checks_config "$T/new.yaml" "      - { name: extra, from: extra, type: int, checks: { not_null: true } }"
ml -c "$T/new.yaml" check
assert_eq 1 "$RC" "must fail: check of a declared view init has not installed"
assert_contains "$OUT" "counting 'monitor_orders_raw_extra_not_null' (did \`maskload init\` run since its checks were declared?)" \
  "and says to run init"
checks_config "$T/ok.yaml" "" "check: { default_threshold: 100 }" 9
ml -c "$T/ok.yaml" init; assert_eq 0 "$RC" "init with min_rows 9"
assert_eq "" "$(analyst "SELECT * FROM monitor_orders_min_rows")" "min_rows: 9 read, 9 wanted"
ml -c "$T/ok.yaml" check --format json
assert_eq 0 "$RC" "check exits 0 within the thresholds ($OUT)"
J=$OUT
for pair in monitor_orders_raw_customer_id_not_null:1 monitor_orders_raw_customer_id_references:1 \
            monitor_orders_raw_status_accepted:1 monitor_orders_raw_qty_range:2 monitor_orders_raw_code_unique:2 \
            monitor_orders_time_problems:2 monitor_orders_raw_ordered_at_not_before:1 \
            monitor_orders_raw_shipped_at_not_before:1 monitor_customers_freshness:0 monitor_orders_min_rows:0; do
  v=${pair%%:*}; n=${pair##*:}
  assert_eq "$n" "$(jq -r ".views[] | select(.view == \"$v\") | .rows" <<<"$J")" "json: $v has $n rows"
done
assert_eq 0 "$(jq -r '.views[] | select(.view == "monitor_customers_freshness") | .threshold' <<<"$J")" \
  "an expectation's threshold is 0 whatever default_threshold says"
last=$(q "SELECT $(wh_epoch 'MAX(finished_at)') FROM load_runs WHERE status='succeeded'")
assert_eq "$last" "$(jq -r '.streams[] | select(.stream == "customers") | .last_success_timestamp' <<<"$J")" "json: last success of customers"
assert_eq "$(q "SELECT $(wh_iso 'MAX(finished_at)') FROM load_runs WHERE status='succeeded'")" \
  "$(jq -r '.streams[] | select(.stream == "orders") | .last_success' <<<"$J")" "json: last success as UTC text"
ml -c "$T/ok.yaml" check --format prometheus
assert_eq 0 "$RC" "prometheus: exit 0"
assert_contains "$OUT" "maskload_monitor_rows{view=\"monitor_orders_raw_qty_range\"} 2" "prometheus: a view's rows"
assert_contains "$OUT" "maskload_monitor_threshold{view=\"monitor_orders_raw_qty_range\"} 100" "prometheus: its threshold"
assert_contains "$OUT" "maskload_stream_last_success_timestamp_seconds{stream=\"orders\"} $last" "prometheus: last success per stream"

# stale: the last run finished two days ago
q "UPDATE load_runs SET started_at = started_at - INTERVAL '2' DAY, finished_at = finished_at - INTERVAL '2' DAY"
assert_eq "customers" "$(analyst "SELECT stream FROM monitor_customers_freshness WHERE age_seconds > max_age_seconds AND max_age_seconds = 93600")" \
  "freshness: one row when the last success is 48h old"
ml -c "$T/ok.yaml" check
assert_eq 3 "$RC" "must fail: check of a stale stream, even with default_threshold 100"
checks_config "$T/stale_ok.yaml" "" "check: { default_threshold: 100, thresholds: { monitor_customers_freshness: 1 } }" 9
ml -c "$T/stale_ok.yaml" check; assert_eq 0 "$RC" "a threshold named in check.thresholds excuses it"
ml -c "$T/ok.yaml" run; assert_eq 0 "$RC" "a new run"
ml -c "$T/ok.yaml" check; assert_eq 0 "$RC" "fresh again: check exits 0"
assert_eq 2 "$(q "SELECT COUNT(*) FROM load_runs")" "two runs"

# a run that loads nothing
: >"$T/orders.jsonl"
ml -c "$T/ok.yaml" run; assert_eq 0 "$RC" "a run over an empty file succeeds"
assert_eq "orders	0	9" "$(analyst "SELECT stream, loaded, min_rows FROM monitor_orders_min_rows")" "min_rows: the last run loaded nothing"
ml -c "$T/ok.yaml" check; assert_eq 3 "$RC" "must fail: check when a stream loaded nothing it should have"
cp "$T/orders.full" "$T/orders.jsonl"
ml -c "$T/ok.yaml" run; assert_eq 0 "$RC" "run again"
ml -c "$T/ok.yaml" check; assert_eq 0 "$RC" "and check passes"
ml -c "$T/ok.yaml" plan
assert_contains "$OUT" "$(wh_pick "CREATE OR REPLACE SQL SECURITY INVOKER VIEW \`monitor_orders_raw_status_accepted\` AS SELECT \`r\`.\`order_id\`, \`r\`.\`status\` FROM \`orders_raw\` AS \`r\` WHERE \`r\`.\`status\` NOT IN ('open', 'closed')" \
  "CREATE OR REPLACE VIEW \"monitor_orders_raw_status_accepted\" WITH (security_invoker = true) AS SELECT \"r\".\"order_id\", \"r\".\"status\" FROM \"orders_raw\" AS \"r\" WHERE \"r\".\"status\" NOT IN ('open', 'closed')")" \
  "plan shows a generated check view"

# ---- 3. must fail: bad declarations (exit 2, file:line:column) ----
bad() { # DESCRIPTION EXTRA_COLUMN MESSAGE
  checks_config "$T/bad.yaml" "      - $2"
  local line
  line=$(grep -n -F -- "- $2" "$T/bad.yaml" | cut -d: -f1)
  ml -c "$T/bad.yaml" init
  assert_eq 2 "$RC" "must fail: $1"
  assert_contains "$OUT" "bad.yaml:$line:" "$1: file and line"
  assert_contains "$OUT" "$3" "$1: message"
}
bad "range on text" "{ name: x, from: x, type: varchar(8), checks: { range: [1, 2] } }" \
  "range applies to a number, date or datetime column; column 'x' is not one"
bad "not_future on a number" "{ name: x, from: x, type: int, checks: { not_future: true } }" \
  "not_future applies to a date or datetime column"
bad "accepted on a datetime" "{ name: x, from: x, type: datetime, checks: { accepted: [a] } }" \
  "accepted applies to a number or text column"
bad "accepted on a surrogate" "{ name: x, from: x, pii: surrogate, kind: city, checks: { accepted: [a] } }" \
  "accepted applies to a number or text column"
bad "an unknown check" "{ name: x, from: x, type: int, checks: { positive: true } }" "unknown key 'positive'"
bad "accepted with a word for a number" "{ name: x, from: x, type: int, checks: { accepted: [1, two] } }" \
  "'two' is not a number"
bad "range with min above max" "{ name: x, from: x, type: int, checks: { range: [5, 1] } }" "min '5' is above max '1'"
bad "range of one value" "{ name: x, from: x, type: int, checks: { range: [5] } }" "must be [min, max]"
bad "not_before neither date nor column" "{ name: x, from: x, type: date, checks: { not_before: yesterday } }" \
  "'yesterday' is neither a date"
bad "not_before a bad date" "{ name: x, from: x, type: date, checks: { not_before: 1900-13-01 } }" \
  "'1900-13-01' is neither a date"
bad "references an unknown table" "{ name: x, from: x, type: bigint, checks: { references: nowhere.id } }" \
  "table 'nowhere' is no table of a configured stream"
bad "references an unknown column" "{ name: x, from: x, type: bigint, checks: { references: customers_raw.nope } }" \
  "table 'customers_raw' has no column 'nope'"
bad "references a column of another type" "{ name: x, from: x, type: date, checks: { references: customers_raw.customer_id } }" \
  "hold values of different types"
bad "references without a dot" "{ name: x, from: x, type: bigint, checks: { references: customers_raw } }" \
  "must be table.column"
bad "a monitor name without the prefix" "{ name: x, from: x, type: int, checks: { not_null: { monitor: x_view } } }" \
  "a monitoring view's name begins with 'monitor_'"
bad "a monitor name of a hand-written view" "{ name: x, from: x, type: int, checks: { not_null: { monitor: monitor_anomalous_messages } } }" \
  "is the name of a hand-written view"
bad "a monitor name another view derives" "{ name: x, from: x, type: int, checks: { not_null: { monitor: monitor_orders_raw_qty_range } } }" \
  "is also derived for another view"
bad "not_null: maybe" "{ name: x, from: x, type: int, checks: { not_null: maybe } }" "must be true or false"
# stream expectations
checks_config "$T/bad.yaml"
sed -i 's/freshness: 26h/freshness: 26x/' "$T/bad.yaml"
ml -c "$T/bad.yaml" init; assert_eq 2 "$RC" "must fail: freshness 26x"
assert_contains "$OUT" "bad.yaml:$(grep -n 'freshness: 26x' "$T/bad.yaml" | cut -d: -f1):16: 'streams.customers.freshness' must be a duration" "freshness 26x: file:line:column"
checks_config "$T/bad.yaml" "" "" 0
ml -c "$T/bad.yaml" init; assert_eq 2 "$RC" "must fail: min_rows 0"
assert_contains "$OUT" "bad.yaml:$(grep -n 'min_rows: 0' "$T/bad.yaml" | cut -d: -f1):15:" "min_rows 0: file:line:column"

# ---- 4. the built-ins' declared checks keep the hand-written views' names and rows ----
. "$SOURCE_DIR/tests/fixtures/api/expected.env"
DB2=it_checks_builtin
fresh_db "$DB2"
write_config "$T/b.yaml" "$DB2" "check: { default_threshold: 100 }"
ml -c "$T/b.yaml" init; assert_eq 0 "$RC" "init of the built-ins ($OUT)"
ml -c "$T/b.yaml" run; assert_eq 0 "$RC" "run of the built-ins"
b() { as_analyst "$DB2" "$1"; }
assert_eq "$FUTURE_TIMESTAMP_KEYS" "$(b "SELECT CONCAT(table_name, ':', record_key, ':', column_name) FROM monitor_future_timestamps")" \
  "monitor_future_timestamps: the same rows, generated"
assert_eq "table_name,record_key,column_name,value" \
  "$(wh_columns "$DB2" monitor_future_timestamps | paste -sd, -)" \
  "monitor_future_timestamps: the same columns"
assert_eq "$ORPHAN_MESSAGE_SIDES" "$(b "SELECT CONCAT(record_key, ':', REPLACE(column_name, '_id', '')) FROM monitor_orphan_messages")" \
  "monitor_orphan_messages: the same message, on the receiver side"
assert_eq "$USERS_UPDATED_BEFORE_CREATED_IDS" "$(b "SELECT user_id FROM monitor_users_updated_before_created")" \
  "monitor_users_updated_before_created: the same user"
assert_eq "$SUBSCRIPTION_BAD_PERIOD_KEYS" "$(b "SELECT CONCAT(user_id, ':', subscription_no) FROM monitor_subscription_bad_period")" \
  "monitor_subscription_bad_period: the same subscription"
assert_eq "0 0 0 0" "$(b "SELECT (SELECT COUNT(*) FROM monitor_subscriptions_raw_status_accepted), (SELECT COUNT(*) FROM monitor_subscriptions_raw_status_not_null), (SELECT COUNT(*) FROM monitor_ancient_timestamps), (SELECT COUNT(*) FROM monitor_messages_without_sender)" | tr '\t' ' ')" \
  "the built-ins' other checks find nothing in the fixture"
for v in monitor_future_timestamps monitor_orphan_messages monitor_users_updated_before_created monitor_subscription_bad_period; do
  assert_eq 0 "$(wh_not_invoker "$DB2" "$v")" "$v is SQL SECURITY INVOKER (security_invoker)"
done
ml -c "$T/b.yaml" check --format json
assert_eq "$FUTURE_TIMESTAMPS $ORPHAN_MESSAGES" \
  "$(jq -r '[.views[] | select(.view == "monitor_future_timestamps" or .view == "monitor_orphan_messages") | .rows] | join(" ")' <<<"$OUT")" \
  "check counts the generated built-in views"
assert_eq "$NOISY_RECORDS" "$(b "SELECT * FROM analysis_noisy_records ORDER BY 1" | tr '\t' ':' | paste -sd,)" \
  "the noisy-records query reads the generated views as before"
# only messages configured: the orphan check reads a table no stream creates and is left out
DB3=it_checks_messages
fresh_db "$DB3"
cat >"$T/m.yaml" <<YAML
$(config_head "$DB3")
$(pii_section)
sources:
  api: { base_url: "http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1", page_size: 4 }
streams:
  messages: { source: api, path: /messages }
YAML
ml -c "$T/m.yaml" init; assert_eq 0 "$RC" "init of messages alone"
assert_eq "monitor_ancient_timestamps,monitor_future_timestamps,monitor_messages_without_sender" \
  "$(wh_views "$DB3" | grep '^monitor_' | paste -sd, -)" \
  "no orphan view without users_raw"
finish
