#!/usr/bin/env bash
# A stream defined only in YAML, no C: tests/fixtures/orders/orders.json
# (served by a second fixture API) through tests/fixtures/orders/orders.yaml
# (`mapping: orders.yaml`, a file beside the config) and, for the same route,
# a small inline mapping (columns beside source and path) with
# `unknown_fields: reject`.
#  1. init creates the tables of both definitions with the declared types,
#     keys, index and COMMENTs (information_schema), and no PII column;
#  2. run loads what the fixture implies: nested customer.* fields, the
#     `lines` array as child rows with line_no 0..n-1 and the `payments`
#     array as rows of a second child table (payment_no 0..n-1, the card
#     number dropped), exact decimals and
#     timestamps (offsets to UTC), hostile text byte for byte (quotes,
#     backslashes, "'); DROP TABLE", unicode, a NUL escape);
#  3. every PII action: email_domain (an address without '@' nulled by
#     on_invalid: null and counted in invalid_nulled), year,
#     date_if_allowed (NULL: the policy keeps the year), surrogate city
#     (trim + NFC: one id per city, across batches; the steward recovers the
#     value, the analyst cannot), hmac of the phone (64 lowercase hex =
#     HMAC-SHA256(key, "hmac" 0x00 trimmed lower-cased phone), equal for
#     phones that differ only in case and spaces, different for different
#     phones), drop (customer.name, customer.street, note in no table);
#  4. rejects: a missing required createdAt (both streams), a line without
#     its required sku (orders only), an unknown field under
#     unknown_fields: reject (inline stream only, naming the field); a
#     reject's payload keeps the kept fields of both arrays; no planted PII
#     in any reject or table; the analyst's PII scan finds none;
#  5. a second database loaded with another key file: other hmac
#     values for the same phones;
#  6. a rerun changes nothing (CHECKSUM TABLE); a payments array that
#     shrinks loses the rows past its new end in order_payments_raw only
#     (the lines and the other orders' payments untouched);
#  7. must fail (exit 2, file:line:column of the mapping file): pii: hmac
#     without pii.digest_key; a mapping with an unknown type.
. "$(dirname "$0")/lib.sh"
#
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh), the
# catalog and the SQL through lib.sh's wh_* helpers. With PostgreSQL a NUL
# in a text is stored as U+FFFD (docs/postgres.md), and the steward's reveal
# is a CALL of the procedure on MySQL, a SELECT of the function on PostgreSQL.
FIX="$SOURCE_DIR/tests/fixtures/orders"
DB=it_yaml_stream
DB2=it_yaml_stream_key2
q() { sql_admin "$DB" "$1"; }
analyst() { as_analyst "$1" "$2"; }
steward() { as_steward "$1" "$2"; }
# hexof: stdin as upper-case hex, like SQL HEX()
hexof() { od -An -tx1 -v | tr -d ' \n' | tr a-f A-F; }
# fx ID JQ_FILTER: a raw value of fixture record ID (no newline added)
fx() { jq -j --argjson id "$1" ".[] | select(.id == \$id) | $2" "$FIX/orders.json"; }
# hmac_of KEY VALUE: the expected hmac column for an already normalised value
hmac_of() { printf 'hmac\0%s' "$2" | openssl dgst -sha256 -mac HMAC -macopt "key:$1" -r | cut -d' ' -f1; }

start_api "$FIX"
cp "$FIX/orders.yaml" "$T/orders.yaml"

# orders_config FILE DATABASE MAPPING PII_SECTION
orders_config() {
  cat >"$1" <<YAML
$(config_head "$2")
$4
load:
  batch_size: 4
sources:
  api:
    base_url: http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1
    page_size: 3
streams:
  orders: { source: api, path: /orders, mapping: $3 }
  order_status:
    source: api
    path: /orders
    table: order_status_raw
    description: "status of each order (an inline mapping)"
    key: [order_id]
    unknown_fields: reject
    columns:
      - { name: order_id,   from: id,        type: bigint,      required: true, description: order id }
      - { name: created_at, from: createdAt, type: datetime,    required: true }
      - { name: status,     from: status,    type: varchar(32), description: as sent }
    drop: [total, paid, note, comment, customer, lines, payments]
YAML
}
KEYED=$(pii_section)

# ---- 1. init: the tables of the definitions ----
fresh_db "$DB"
orders_config "$T/c.yaml" "$DB" orders.yaml "$KEYED"
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"

# cols TABLE -> "name type null" per column, in order
cols() { wh_cols "$DB" "$1"; }
if [ "$IT_WAREHOUSE" = postgres ]; then
assert_eq "order_id bigint NO
created_at timestamp(3) without time zone NO
status character varying(32) YES
total numeric(12,2) YES
paid boolean YES
comment text YES
email_domain character varying(255) YES
birth_year smallint YES
birth_date date YES
city_id bigint YES
load_run_id bigint NO
loaded_at timestamp(3) without time zone NO" "$(cols orders_raw | grep -v '^phone_hmac ')" "orders_raw: the declared columns and types"
assert_eq "phone_hmac character(64) YES" "$(cols orders_raw | sed -n 11p)" "orders_raw: phone_hmac is column 11, char(64)"
assert_eq "order_id bigint NO
line_no integer NO
sku character varying(64) NO
qty integer YES
price numeric(10,2) YES
load_run_id bigint NO
loaded_at timestamp(3) without time zone NO" "$(cols order_lines_raw)" "order_lines_raw: parent key, position, declared columns"
assert_eq "order_id bigint NO
payment_no integer NO
method character varying(16) NO
amount numeric(12,2) YES
load_run_id bigint NO
loaded_at timestamp(3) without time zone NO" "$(cols order_payments_raw)" "order_payments_raw (a second child): parent key, position, declared columns"
assert_eq "order_id bigint NO
created_at timestamp(3) without time zone NO
status character varying(32) YES
load_run_id bigint NO
loaded_at timestamp(3) without time zone NO" "$(cols order_status_raw)" "order_status_raw (inline mapping): its columns"
else
assert_eq "order_id bigint(20) NO
created_at datetime(3) NO
status varchar(32) YES
total decimal(12,2) YES
paid tinyint(1) YES
comment mediumtext YES
email_domain varchar(255) YES
birth_year smallint(6) YES
birth_date date YES
city_id bigint(20) unsigned YES
load_run_id bigint(20) unsigned NO
loaded_at datetime(3) NO" "$(cols orders_raw | grep -v '^phone_hmac ')" "orders_raw: the declared columns and types"
assert_eq "phone_hmac" "$(q "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$DB'
  AND TABLE_NAME='orders_raw' AND ORDINAL_POSITION=11")" "orders_raw: phone_hmac is column 11"
assert_eq "order_id bigint(20) NO
line_no smallint(5) unsigned NO
sku varchar(64) NO
qty int(11) YES
price decimal(10,2) YES
load_run_id bigint(20) unsigned NO
loaded_at datetime(3) NO" "$(cols order_lines_raw)" "order_lines_raw: parent key, position, declared columns"
assert_eq "order_id bigint(20) NO
payment_no smallint(5) unsigned NO
method varchar(16) NO
amount decimal(12,2) YES
load_run_id bigint(20) unsigned NO
loaded_at datetime(3) NO" "$(cols order_payments_raw)" "order_payments_raw (a second child): parent key, position, declared columns"
assert_eq "order_id bigint(20) NO
created_at datetime(3) NO
status varchar(32) YES
load_run_id bigint(20) unsigned NO
loaded_at datetime(3) NO" "$(cols order_status_raw)" "order_status_raw (inline mapping): its columns"
assert_eq "bigint datetime varchar decimal tinyint mediumtext varchar smallint date bigint" \
  "$(echo $(q "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='orders_raw'
     AND ORDINAL_POSITION <= 10 ORDER BY ORDINAL_POSITION"))" "orders_raw: DATA_TYPE of each declared column"
fi
assert_eq sensitive_city_ids "$(wh_tables "$DB" | grep -x sensitive_city_ids || true)" \
  "sensitive_city_ids created for the surrogate kind in use"

# keys and the declared index
pk() { wh_pk "$DB" "$1"; }
assert_eq order_id "$(pk orders_raw)" "orders_raw: primary key (order_id)"
assert_eq order_id,line_no "$(pk order_lines_raw)" "order_lines_raw: primary key (order_id, line_no)"
assert_eq order_id,payment_no "$(pk order_payments_raw)" "order_payments_raw: primary key (order_id, payment_no)"
assert_eq order_id "$(pk order_status_raw)" "order_status_raw: primary key (order_id)"
assert_eq city_id "$(wh_index "$DB" orders_raw idx_orders_city)" "orders_raw: index idx_orders_city (city_id)"

# descriptions are the COMMENTs the analyst reads
comments() { wh_col_comments "$DB" "$1"; }
assert_eq "order_id=order id from the source API
created_at=UTC
status=as sent, e.g. shipped / pending
total=order total, exact
paid=
comment=free text as sent (not PII)
email_domain=domain of the customer's e-mail address, lower case; NULL when it is no address
birth_year=customer's year of birth
birth_date=full date of birth, only when the PII policy keeps it
city_id=surrogate of the customer's city (sensitive_city_ids.id)
phone_hmac=HMAC-SHA256 of the customer's phone number, trimmed and lower-cased" "$(comments orders_raw)" \
  "orders_raw: every description is its column's COMMENT (quotes intact)"
assert_eq "order_id=
line_no=
sku=stock keeping unit, as sent
qty=
price=unit price" "$(comments order_lines_raw)" "order_lines_raw: column COMMENTs"
assert_eq "order_id=
payment_no=0-based position in the order's payments array
method=card, cash or voucher
amount=" "$(comments order_payments_raw)" "order_payments_raw: column COMMENTs"
assert_eq "order_id=order id
created_at=
status=as sent" "$(comments order_status_raw)" "order_status_raw: column COMMENTs from the inline mapping"
cmt=$(analyst "$DB" "$(wh_pick "SHOW FULL COLUMNS FROM orders_raw WHERE Field = 'city_id'" \
  "SELECT col_description('orders_raw'::regclass, attnum) FROM pg_attribute WHERE attrelid = 'orders_raw'::regclass AND attname = 'city_id'")")
assert_contains "$cmt" "surrogate of the customer's city (sensitive_city_ids.id)" "the analyst reads the COMMENTs (SHOW FULL COLUMNS / col_description)"
tcomment() { wh_table_comment "$DB" "$1"; }
assert_eq "orders from the fixture API; customer name, street and note dropped" "$(tcomment orders_raw)" "orders_raw: table COMMENT"
assert_eq "order lines split out of orders" "$(tcomment order_lines_raw)" "order_lines_raw: table COMMENT"
assert_eq "payments of each order; card numbers dropped" "$(tcomment order_payments_raw)" "order_payments_raw: table COMMENT"
assert_eq "status of each order (an inline mapping)" "$(tcomment order_status_raw)" "order_status_raw: table COMMENT"
assert_eq 0 "$(sql_admin "$(wh_catalog "$DB")" "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$(wh_schema "$DB")'
  AND TABLE_NAME IN ('orders_raw','order_lines_raw','order_payments_raw','order_status_raw')
  AND COLUMN_NAME IN ('name','street','note','email','city','phone','birthDate','customer','referrerEmail','card')")" \
  "no column for a dropped or PII field"

# ---- 2. run: the rows the fixture implies ----
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "run exits 0"
RUN_OUT=$OUT
echo "$OUT" | tail -6
RUN=$(q "SELECT MAX(run_id) FROM load_runs")
assert_eq succeeded "$(q "SELECT status FROM load_runs WHERE run_id=$RUN")" "load_runs: succeeded"

assert_eq "1001,1002,1003,1004,1007,1008" "$(q "SELECT $(wh_agg order_id order_id) FROM orders_raw")" \
  "orders_raw: the 6 good orders (1005: no createdAt, 1006: a line without sku)"
assert_eq "1001,1002,1003,1006,1007,1008" "$(q "SELECT $(wh_agg order_id order_id) FROM order_status_raw")" \
  "order_status_raw: 6 orders (1004: unknown field, 1005: no createdAt)"
assert_eq 11 "$(q 'SELECT COUNT(*) FROM order_lines_raw')" "order_lines_raw: 11 lines"
assert_eq "1001:0,1,2 1002:0 1004:0,1 1007:0,1,2,3 1008:0" \
  "$(echo $(q "SELECT CONCAT(order_id, ':', $(wh_agg line_no line_no)) FROM order_lines_raw GROUP BY order_id ORDER BY order_id"))" \
  "line_no is 0..n-1 per order; an empty array gives no line"
assert_eq 0 "$(q 'SELECT COUNT(*) FROM order_lines_raw l LEFT JOIN orders_raw o USING (order_id) WHERE o.order_id IS NULL')" \
  "no line without its order (the rejected 1006's lines are not loaded)"
assert_eq "1001:0:2:10.00 1001:1:1:19.99 1001:2:3:0.50 1002:0:10:99999999.99 1004:0:1:1.00 1004:1:-1:-1.00 1007:0:1:1.10 1007:1:2:2.20 1007:2:3:3.30 1007:3:4:4.40 1008:0:8:8.88" \
  "$(echo $(q "SELECT CONCAT_WS(':', order_id, line_no, qty, price) FROM order_lines_raw ORDER BY order_id, line_no"))" \
  "order lines: qty and exact prices in array order"
# the second child: payments, in their own table, positions per order
assert_eq 7 "$(q 'SELECT COUNT(*) FROM order_payments_raw')" "order_payments_raw: 7 payments"
assert_eq "1001:0:card:1200.00 1001:1:voucher:34.50 1002:0:cash:0.10 1004:0:card:-5.25 1007:0:card:70.00 1007:1:cash:7.70 1007:2:voucher:0.00" \
  "$(echo $(q "SELECT CONCAT_WS(':', order_id, payment_no, method, amount) FROM order_payments_raw ORDER BY order_id, payment_no"))" \
  "payments: payment_no 0..n-1 per order, exact amounts; an empty or absent array gives none"
assert_eq 0 "$(q 'SELECT COUNT(*) FROM order_payments_raw p LEFT JOIN orders_raw o USING (order_id) WHERE o.order_id IS NULL')" \
  "no payment without its order (the rejected 1005's and 1006's are not loaded)"
for ol in 1001:0 1001:1 1001:2 1002:0 1007:3; do
  o=${ol%:*}; l=${ol#*:}
  assert_eq "$(fx "$o" ".lines[$l].sku" | hexof)" "$(q "SELECT $(wh_hex sku) FROM order_lines_raw WHERE order_id=$o AND line_no=$l")" \
    "line $o/$l: sku byte for byte (quotes, backslashes, DROP TABLE)"
done

assert_eq "1001=1234.50 1002=0.10 1003=9999999999.99 1004=-5.25 1007=77.70 1008=88.80" \
  "$(echo $(q "SELECT CONCAT(order_id, '=', total) FROM orders_raw ORDER BY order_id"))" "totals exact (strings and JSON numbers)"
assert_eq 10000001395.84 "$(q 'SELECT SUM(total) FROM orders_raw')" "sum of totals exact"
assert_eq "1001=2024-03-01 10:15:30.123|1002=2024-03-02 00:00:00.000|1003=2024-03-03 08:30:00.500|1004=2024-03-05 00:59:59.999|1007=2024-03-07 07:07:07.000|1008=2024-03-08 08:08:08.000" \
  "$(q "SELECT $(wh_agg "CONCAT(order_id, '=', $(wh_ms created_at))" order_id '|') FROM orders_raw")" \
  "created_at in UTC with milliseconds (offsets applied)"
assert_eq "1001=1 1002=0 1003=1 1004=NULL 1007=1 1008=0" \
  "$(echo $(q "SELECT CONCAT(order_id, '=', $(wh_text "$(wh_pick paid paid::int)")) FROM orders_raw ORDER BY order_id"))" "paid: booleans, null kept"
# nul: a text as the warehouse keeps it (PostgreSQL text holds no NUL: U+FFFD)
nul() { if [ "$IT_WAREHOUSE" = postgres ]; then perl -pe 's/\0/\xef\xbf\xbd/g'; else cat; fi; }
for o in 1001 1002 1003 1007; do
  assert_eq "$(fx "$o" .comment | nul | hexof)" "$(q "SELECT $(wh_hex comment) FROM orders_raw WHERE order_id=$o")" \
    "order $o: kept comment byte for byte"
done
if [ "$IT_WAREHOUSE" = postgres ]; then
  assert_eq 1 "$(q "SELECT $(wh_bool "position(U&'\\FFFD' in comment) > 0") FROM orders_raw WHERE order_id=1002")" "the NUL escape is stored as U+FFFD"
  assert_contains "$RUN_OUT" "U+FFFD" "and the run says so"
else
  assert_eq 1 "$(q "SELECT LOCATE(X'00', comment) > 0 FROM orders_raw WHERE order_id=1002")" "the NUL escape is kept as a NUL byte"
fi
assert_eq NULL "$(q "SELECT $(wh_text comment) FROM orders_raw WHERE order_id=1004")" "an absent kept field is NULL"
for o in 1001 1002 1003 1007 1008; do
  assert_eq "$(fx "$o" .status | hexof)" "$(q "SELECT $(wh_hex status) FROM orders_raw WHERE order_id=$o")" "order $o: status byte for byte"
  assert_eq "$(fx "$o" .status | hexof)" "$(q "SELECT $(wh_hex status) FROM order_status_raw WHERE order_id=$o")" \
    "order $o: status byte for byte in the inline stream's table"
done
assert_eq 5 "$(wh_tables "$DB" | grep -cxE 'orders_raw|order_lines_raw|order_payments_raw|order_status_raw|load_runs')" "the tables survived the DROP TABLE texts"

# ---- 3. the PII actions ----
assert_eq "1001=example.com 1002=mail.example.org 1003=NULL 1004=example.com 1007=navy.example 1008=elm.example" \
  "$(echo $(q "SELECT CONCAT(order_id, '=', $(wh_text email_domain)) FROM orders_raw ORDER BY order_id"))" \
  "email_domain: lower-cased domains; the address without '@' is NULL (on_invalid: null)"
assert_eq "1001=1985 1002=1990 1003=1971 1004=2000 1007=1906 1008=1973" \
  "$(echo $(q "SELECT CONCAT(order_id, '=', birth_year) FROM orders_raw ORDER BY order_id"))" "year: the year of birth only"
assert_eq 0 "$(q 'SELECT COUNT(*) FROM orders_raw WHERE birth_date IS NOT NULL')" \
  "date_if_allowed: NULL everywhere (pii.birth_date is not 'date')"
# counts, with the on_invalid: null value and the unknown field
IFS=$'\t' read -r f l r d u n <<<"$(q "SELECT fetched, loaded, rejected, duplicates, unknown_fields, invalid_nulled
  FROM load_run_streams WHERE run_id=$RUN AND stream='orders'")"
assert_eq "8 6 2 0 1 1" "$f $l $r $d $u $n" \
  "orders counts: 8 fetched, 6 loaded, 2 rejected, 1 with an unknown field, 1 value nulled (invalid_nulled)"
IFS=$'\t' read -r f l r d n <<<"$(q "SELECT fetched, loaded, rejected, duplicates, invalid_nulled
  FROM load_run_streams WHERE run_id=$RUN AND stream='order_status'")"
assert_eq "8 6 2 0 0" "$f $l $r $d $n" "order_status counts: 8 fetched, 6 loaded, 2 rejected"

# surrogates: one id per city (trim + NFC), across batches of 4
assert_eq "Berlin|O'Fallon|São Paulo|Zürich" \
  "$(q "SELECT $(wh_agg value "value$(wh_bin)" '|') FROM sensitive_city_ids")" \
  "sensitive_city_ids: the 4 cities of the loaded orders, trimmed, nothing of the rejected ones"
assert_eq 5AC3BC72696368 "$(q "SELECT $(wh_hex c.value) FROM orders_raw o JOIN sensitive_city_ids c ON c.id = o.city_id WHERE o.order_id=1002")" \
  "the decomposed Zu+U+0308rich is stored NFC"
assert_eq 1 "$(q "SELECT $(wh_bool 'COUNT(DISTINCT city_id) = 1 AND COUNT(*) = 2') FROM orders_raw WHERE order_id IN (1001, 1002)")" \
  "Zürich composed and decomposed: one surrogate"
assert_eq 1 "$(q "SELECT $(wh_bool 'COUNT(DISTINCT city_id) = 1 AND COUNT(*) = 2') FROM orders_raw WHERE order_id IN (1004, 1008)")" \
  "Berlin and ' Berlin ' (in another batch): one surrogate"
assert_eq 4 "$(q 'SELECT COUNT(DISTINCT city_id) FROM orders_raw')" "4 distinct city ids in orders_raw"
assert_eq 0 "$(q 'SELECT COUNT(*) FROM orders_raw WHERE city_id IS NULL')" "every loaded order has a city id"
assert_eq 0 "$(q 'SELECT COUNT(*) FROM sensitive_city_ids WHERE LENGTH(digest) <> 32')" "city digests are 32 bytes"
# the steward recovers a city behind its id; the analyst cannot
cid=$(q "SELECT COALESCE(city_id, 0) FROM orders_raw WHERE order_id=1003"); cid=${cid:-0}
assert_eq "O'Fallon" "$(steward "$DB" "$(wh_pick CALL SELECT) pii_reveal('city', $cid, 'yaml stream test')")" \
  "steward recovers the city behind surrogate $cid (pii_reveal)"

set +e; out=$(analyst "$DB" "SELECT value FROM sensitive_city_ids WHERE id=$cid"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"$(wh_denied select)"* ]]; then ok "analyst denied on sensitive_city_ids"
else not_ok "analyst on sensitive_city_ids: rc=$rc $out"; fi
for t in orders_raw order_lines_raw order_status_raw; do
  set +e; out=$(analyst "$DB" "SELECT COUNT(*) FROM $t"); rc=$?; set -e
  assert_eq 0 "$rc" "analyst reads $t ($out)"
done

# hmac: 64 lowercase hex characters of HMAC-SHA256(key, "hmac" 0x00 value)
assert_eq "5 5" "$(q "SELECT COUNT(phone_hmac), SUM($(wh_pick "CAST(phone_hmac AS CHAR) REGEXP BINARY '^[0-9a-f]{64}\$'" "CASE WHEN phone_hmac ~ '^[0-9a-f]{64}\$' THEN 1 ELSE 0 END")) FROM orders_raw" | tr '\t' ' ')" \
  "hmac: 5 phones, each 64 lowercase hex characters"
assert_eq NULL "$(q "SELECT $(wh_text phone_hmac) FROM orders_raw WHERE order_id=1004")" "hmac: a null phone is NULL"
h1001=$(q 'SELECT phone_hmac FROM orders_raw WHERE order_id=1001')
h1002=$(q 'SELECT phone_hmac FROM orders_raw WHERE order_id=1002')
if [ -n "$h1001" ] && [ "$h1001" = "$h1002" ]; then ok "hmac: equal for phones that differ only in case and surrounding spaces"
else not_ok "hmac of '+1-800-FLOWERS x12' and '  +1-800-flowers X12 ': [$h1001] [$h1002]"; fi
assert_eq 4 "$(q 'SELECT COUNT(DISTINCT phone_hmac) FROM orders_raw')" "hmac: different phones, different values"
assert_eq 1 "$(q "SELECT $(wh_bool 'COUNT(DISTINCT phone_hmac) = 2') FROM orders_raw WHERE order_id IN (1007, 1008)")" \
  "hmac: phones one digit apart differ"
assert_eq "$(hmac_of "$(digest_key)" "+1-800-flowers x12")" "$h1001" \
  "hmac: HMAC-SHA256(digest key, 'hmac' 0x00 trimmed lower-cased phone)"
assert_eq "$(hmac_of "$(digest_key)" "+49 30 1234567")" "$(q 'SELECT phone_hmac FROM orders_raw WHERE order_id=1003')" \
  "hmac of order 1003's phone as computed by openssl"

# ---- 4. rejects: reasons name the field, never a PII value ----
rej() { q "SELECT CONCAT(COALESCE(record_key, '-'), ' | ', reason) FROM load_rejects WHERE run_id=$RUN AND stream='$1' ORDER BY reject_id"; }
orej=$(rej orders); srej=$(rej order_status)
echo "$orej"; echo "$srej"
assert_contains "$orej" "1005 | field 'createdAt': missing required field" "orders: 1005 rejected, createdAt missing"
assert_contains "$orej" "1006 | element 1 of 'lines'" "orders: 1006 rejected at element 1 of lines"
assert_contains "$orej" "field 'sku': missing required field" "orders: the required sku named"
assert_contains "$srej" "1004 | field 'referrerEmail' is not in the mapping (unknown_fields: reject)" \
  "order_status: the record with an unknown field rejected, naming the field"
assert_contains "$srej" "1005 | field 'createdAt': missing required field" "order_status: 1005 rejected"
assert_eq 2 "$(grep -c . <<<"$srej" || true)" "order_status: exactly 2 rejects"
# a reject's payload keeps the kept fields of both arrays, never the card
pl() { q "SELECT $2 FROM load_rejects WHERE run_id=$RUN AND stream='orders' AND record_key='$1'"; }
# jlen PATH / jval PATH: MySQL's JSON_LENGTH (elements of an array, keys of an
# object) / JSON_VALUE at PATH ($.a[0].b) of the payload
jpath() { sed -e 's/^\$\.//' -e 's/\[\([0-9]*\)\]/.\1/g' -e 's/\./,/g' <<<"$1"; }
jlen() {
  wh_pick "JSON_LENGTH(payload, '$1')" "(SELECT CASE json_typeof(j) WHEN 'array' THEN json_array_length(j) WHEN 'object' THEN (SELECT count(*)::int FROM json_object_keys(j)) END FROM (SELECT payload::json #> '{$(jpath "$1")}' AS j) x)"
}
jval() { wh_pick "JSON_VALUE(payload, '$1')" "(payload::json #>> '{$(jpath "$1")}')"; }
assert_eq "2 2 cash card 2.00" "$(pl 1006 "CONCAT_WS(' ', $(jlen '$.lines'), $(jlen '$.payments'),
  $(jval '$.payments[0].method'), $(jval '$.payments[1].method'), $(jval '$.payments[0].amount'))")" \
  "1006's payload: both lines and both payments, their kept fields"
assert_eq "SKU-F1 1" "$(pl 1006 "CONCAT_WS(' ', $(jval '$.lines[0].sku'), $(jlen '$.payments[1]'))")" \
  "1006's payload: a line's sku; the second payment keeps its method only (card dropped)"
assert_eq "card 1.00" "$(pl 1005 "CONCAT_WS(' ', $(jval '$.payments[0].method'), $(jval '$.payments[0].amount'))")" \
  "1005's payload: its payment's kept fields"
assert_eq 0 "$(q "SELECT COUNT(*) FROM load_rejects WHERE CONCAT(reason, COALESCE(payload, ''), COALESCE(record_key, '')) $(wh_pick REGEXP '~') 'REJPII-|REFPII-|NOTEPII-|CARDPII-|[.]example|Zürich|Berlin|800-|7946|1234567'")" \
  "no reject reason, key or payload holds a planted PII value"

# nothing of the dropped or rejected PII in any table (root's view)
dump_tables "$DB"
assert_contains "$(cat "$T/dump_orders_raw.sql")" "INSERT INTO" "the dumps hold the rows (the search below can find)"
for m in NOTEPII- REFPII- REJPII- CARDPII- "O'Brien-Schmidt" "O\\'Brien-Schmidt" "Hauptstraße" "Navy Yard" "Klum-Weber" \
         "Anna.Schmidt" "carol.at.example" "1-800" "7946 0958"; do
  assert_eq "" "$(dumped_in "$m")" "[$m] is in no table"
done

# the analyst's PII scan: the fixture's PII as pii_scan reads it (users.json:
# name, street, city, email, birthDate; messages.json: phones as sent and
# normalised, notes, the unknown field's value)
mkdir -p "$T/scan"
jq '[.[] | .customer | {firstName: .name, address: .street, city, email, birthDate}]' "$FIX/orders.json" >"$T/scan/users.json"
jq '[.[] | (.customer.phone, (.customer.phone | strings | ascii_downcase | sub("^ +"; "") | sub(" +$"; "")), .note, .referrerEmail)
     | strings | {message: .}]' "$FIX/orders.json" >"$T/scan/messages.json"
assert_eq 20 "$(jq length "$T/scan/messages.json")" "scan fixture: 7 phones as sent and normalised, 5 notes, 1 unknown field"
set +e
scan=$(wh_pii_scan "$(account analyst "$DB")" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$T/scan"); rc=$?
set -e
echo "$scan" | tail -3
assert_eq 0 "$rc" "PII scan as analyst finds none of the planted values"
assert_contains "$scan" " 0 findings" "scan reports zero findings"
set +e
scan=$(wh_pii_scan "$(account loader "$DB")" "$MASKLOAD_LOADER_PASSWORD" "$DB" "$T/scan"); rc=$?
set -e
assert_eq 1 "$rc" "PII scan as the loader finds the cities (the scan can fail)"
assert_contains "$scan" "sensitive_city_ids.value" "scanner reports where"

# ---- 5. another key: other hmac values for the same phones ----
OTHER_KEY=test42-another-digest-key-not-secret
fresh_db "$DB2"
orders_config "$T/k2.yaml" "$DB2" orders.yaml "$(pii_section "$(new_key_file other "$OTHER_KEY")")"
ml -c "$T/k2.yaml" init; assert_eq 0 "$RC" "second database: init ($OUT)"
ml -c "$T/k2.yaml" run --stream orders
assert_eq 0 "$RC" "second database: run with another key file"
k2=$(sql_admin "$DB2" 'SELECT phone_hmac FROM orders_raw WHERE order_id=1001')
if [ -n "$k2" ] && [ "$k2" != "$h1001" ]; then ok "another key gives another hmac for the same phone"
else not_ok "hmac under another key: [$k2] vs [$h1001]"; fi
assert_eq "$(hmac_of "$OTHER_KEY" "+1-800-flowers x12")" "$k2" "the other key's hmac as computed by openssl"
k2b=$(sql_admin "$DB2" 'SELECT phone_hmac FROM orders_raw WHERE order_id=1002')
if [ -n "$k2" ] && [ "$k2" = "$k2b" ]; then ok "another key: still equal for the case/space variants"
else not_ok "another key, case/space variants: [$k2] [$k2b]"; fi
hmacs() { sql_admin "$1" "SELECT phone_hmac FROM orders_raw WHERE phone_hmac IS NOT NULL" | LC_ALL=C sort; }
assert_eq "5 0" "$(hmacs "$DB2" | wc -l) $(LC_ALL=C comm -12 <(hmacs "$DB" | uniq) <(hmacs "$DB2" | uniq) | wc -l)" \
  "another key: 5 hmac values, none shared with the first key's"

# ---- 6. a rerun changes nothing ----
sums() { wh_checksum "$DB" orders_raw order_lines_raw order_payments_raw order_status_raw sensitive_city_ids; }
before=$(sums)
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "rerun exits 0"
assert_eq "$before" "$(sums)" "rerun: the checksums of the tables unchanged"

# a payments array that shrinks: 1007 keeps its first payment, 1001 none;
# only order_payments_raw loses rows, the lines stay as they were
mkdir -p "$T/shrink"
sed 's|"payments":\[{"method":"card","amount":"70.00"},{"method":"cash","amount":"7.70"},{"method":"voucher","amount":"0"}\]|"payments":[{"method":"card","amount":"70.00"}]|;
     s|"payments":\[{"method":"card","amount":"1200.00","card":"CARDPII-4111 1111 1111 1111"},{"method":"voucher","amount":34.50}\]|"payments":[]|' \
  "$FIX/orders.json" >"$T/shrink/orders.json"
assert_eq 2 "$(diff "$FIX/orders.json" "$T/shrink/orders.json" | grep -c '^>' || true)" "shrink fixture: two orders' payments cut"
first_run=$RUN
lines_before=$(wh_checksum "$DB" order_lines_raw)
start_api "$T/shrink"
orders_config "$T/c.yaml" "$DB" orders.yaml "$KEYED"
ml -c "$T/c.yaml" run --stream orders
assert_eq 0 "$RC" "run over the shrunk payments exits 0"
assert_eq "1002:0 1004:0 1007:0" "$(echo $(q "SELECT CONCAT(order_id, ':', payment_no) FROM order_payments_raw ORDER BY order_id, payment_no"))" \
  "payments past each array's new end are gone (1001: all, 1007: all but the first)"
assert_eq "$first_run $first_run" "$(q "SELECT MIN(load_run_id), MAX(load_run_id) FROM order_payments_raw" | tr '\t' ' ')" \
  "the payments kept are untouched (first run's load_run_id)"
assert_eq "$lines_before" "$(wh_checksum "$DB" order_lines_raw)" "order_lines_raw unchanged: the other child is not trimmed"
assert_eq 11 "$(q 'SELECT COUNT(*) FROM order_lines_raw')" "order_lines_raw: still 11 lines"

# ---- 7. must fail: configuration errors name the mapping file ----
# pii: hmac without a digest key
fresh_db it_yaml_nokey
orders_config "$T/nokey.yaml" it_yaml_nokey orders.yaml ""
line=$(grep -n 'name: phone_hmac' "$T/orders.yaml" | cut -d: -f1)
col=$(sed -n "${line}p" "$T/orders.yaml" | awk '{ print index($0, "{") }')
ml -c "$T/nokey.yaml" init
assert_eq 2 "$RC" "pii: hmac without pii.digest_key: exit 2"
assert_contains "$OUT" "$T/orders.yaml:$line:$col: column 'phone_hmac' has pii: hmac, which needs a digest key" \
  "the message names the mapping file, line $line, column $col and the column"
assert_eq 0 "$(wh_db_exists it_yaml_nokey)" \
  "nothing was created"
# an unknown type
mkdir -p "$T/bad"
sed 's|type: "decimal(12,2)", description: "order total|type: money,           description: "order total|' "$T/orders.yaml" >"$T/bad/orders_badtype.yaml"
line=$(grep -n 'type: money' "$T/bad/orders_badtype.yaml" | cut -d: -f1)
col=$(sed -n "${line}p" "$T/bad/orders_badtype.yaml" | awk '{ print index($0, "money") }')
if [ -n "$line" ]; then ok "bad mapping written (type: money on line $line)"; else not_ok "bad mapping not written"; fi
orders_config "$T/badtype.yaml" it_yaml_nokey bad/orders_badtype.yaml "$KEYED"
ml -c "$T/badtype.yaml" init
assert_eq 2 "$RC" "unknown type: exit 2"
assert_contains "$OUT" "$T/bad/orders_badtype.yaml:$line:$col: unknown type 'money' for 'columns[3].type'" \
  "the message names the mapping file, line $line, column $col and the key"
assert_eq 0 "$(wh_db_exists it_yaml_nokey)" \
  "nothing was created"
finish
