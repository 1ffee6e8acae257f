#!/usr/bin/env bash
# Every value reaches SQL escaped. Quotes, backslashes, NUL
# bytes, an SQL injection, 4-byte UTF-8 and 64 KiB strings in every field of
# users and messages: the values are found intact (byte for byte, HEX()) where
# they belong -- the sensitive_* tables for surrogate fields, the kept text
# columns -- and nowhere else; values that cannot be stored are rejected with
# a reason; users_raw still exists.
#
# The records are served by this test's own fixture_api, which sends every
# element of a fixture array byte for byte ("\u0000" escapes included); the
# test first checks that it does. Runs against either warehouse
# (MASKLOAD_TEST_WAREHOUSE, see lib.sh): PostgreSQL text cannot hold a NUL
# byte, so there each NUL of a stored value is U+FFFD (writer_pg.h), and the
# expected bytes say so.
. "$(dirname "$0")/lib.sh"
DB=it_hostile
HOSTILE="$SOURCE_DIR/tests/fixtures/hostile"
fresh_db "$DB"

perl "$HOSTILE/make.pl" "$T"
start_api "$T"
API="http://127.0.0.1:$API_PORT"
BASE="$API/evaluation/dataengineer/jr/v1"
for name in users messages; do
  curl -sf "$BASE/$name" -o "$T/served_$name.json" || true
  if tr -d '\n' <"$T/$name.json" | cmp -s - "$T/served_$name.json"; then
    ok "fixture_api serves the hostile $name byte for byte"
  else
    not_ok "fixture_api serves the hostile $name byte for byte: $(tr -d '\n' <"$T/$name.json" | cmp - "$T/served_$name.json" 2>&1 | head -1)"
  fi
done

write_config "$T/c.yaml" "$DB"
sed -i "s|http://127.0.0.1:$IT_API_PORT/|$API/|" "$T/c.yaml"
assert_contains "$(cat "$T/c.yaml")" "base_url: $API/" "config points at this test's API"

ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "run over hostile records exits 0"
echo "$OUT" | cut -c1-300 | tail -4

q() { sql_admin "$DB" "$1"; }
# exp NAME: the expected bytes (hex) of NAME; on PostgreSQL each NUL byte
# (a whole 00 byte of the hex) is U+FFFD's EFBFBD
exp() {
  if [ "$IT_WAREHOUSE" = postgres ]; then # (on stdin: a 64 KiB value is too long an argument)
    awk -v k="$1" '$1 == k { print $2 }' "$T/expected.txt" |
      perl -ne 'chomp; print join "", map { $_ eq "00" ? "EFBFBD" : $_ } unpack("(A2)*", $_)'
  else
    awk -v k="$1" '$1 == k { print $2 }' "$T/expected.txt"
  fi
}
LEN=$(wh_pick LENGTH octet_length) # bytes

assert_eq "users_raw" "$(wh_tables "$DB" | grep -x users_raw)" "users_raw still exists"
assert_eq "101,102,103,104,105,106" "$(q "SELECT $(wh_agg user_id user_id) FROM users_raw")" \
  "the six hostile users are loaded, the rejected ones are not"
assert_eq "1,2,3,4,5,6" "$(q "SELECT $(wh_agg message_id message_id) FROM messages_raw")" \
  "the six hostile messages are loaded"

# surrogate values intact, byte for byte, behind each user's surrogate id
for id in 101 102 103 104 105 106; do
  for pair in city:city_id:city zip:zipcode_id:zipcode profession:profession_id:profession; do
    IFS=: read -r key col kind <<<"$pair"
    got=$(q "SELECT $(wh_hex s.value) FROM users_raw u JOIN sensitive_${kind}_ids s ON s.id = u.$col WHERE u.user_id = $id")
    want=$(exp "${key}_$id")
    if [ -n "$want" ] && [ "$got" == "$want" ]; then
      ok "user $id: $kind value intact (${#want} hex digits)"
    else
      not_ok "user $id: $kind value: got ${#got} hex digits [${got:0:80}...], want ${#want} [${want:0:80}...]"
    fi
  done
  for pair in country:users_raw:country gender:users_raw:gender status:subscriptions_raw:status; do
    IFS=: read -r key tab col <<<"$pair"
    assert_eq "$(exp "${key}_$id")" "$(q "SELECT $(wh_hex "$col") FROM $tab WHERE user_id = $id")" \
      "user $id: kept $tab.$col intact"
  done
done
big=$(q "SELECT $LEN(s.value) FROM users_raw u JOIN sensitive_city_ids s ON s.id = u.city_id WHERE u.user_id = 106")
assert_eq $((65536 + 13)) "$big" "the 64 KiB city value is stored whole"
if [ "$IT_WAREHOUSE" = postgres ]; then
  nul=$(q "SELECT octet_length(s.value) || '	' || position(U&'\FFFD' IN s.value) FROM users_raw u JOIN sensitive_city_ids s ON s.id = u.city_id WHERE u.user_id = 102")
  want_nul="$((31 + 2 * $(exp city_102 | grep -o EFBFBD | wc -l)))	17"
else
  nul=$(q "SELECT LENGTH(s.value), LOCATE(CHAR(0), s.value) FROM users_raw u JOIN sensitive_city_ids s ON s.id = u.city_id WHERE u.user_id = 102")
  want_nul="31	17"
fi
assert_eq "$want_nul" "$nul" "the city value with NUL bytes is stored whole (31 bytes, the first NUL at 17: U+FFFD on PostgreSQL)"
for kind in city zipcode profession; do
  assert_eq 6 "$(q "SELECT COUNT(*) FROM sensitive_${kind}_ids")" "sensitive_${kind}_ids: one row per hostile value, none from rejected records"
done

# rejected with a reason, counted
assert_eq "14	6	8	0	0" "$(q "SELECT fetched, loaded, rejected, duplicates, unknown_fields FROM load_run_streams WHERE stream='users'")" \
  "users: 14 fetched, 6 loaded, 8 rejected"
assert_eq "8	6	2" "$(q "SELECT fetched, loaded, rejected FROM load_run_streams WHERE stream='messages'")" \
  "messages: 8 fetched, 6 loaded, 2 rejected"
reasons=$(q "SELECT CONCAT(record_key, ': ', reason) FROM load_rejects WHERE stream='users' ORDER BY reject_id" | cut -c1-200)
echo "$reasons"
assert_contains "$reasons" "201: field 'country': longer than 100 characters" "64 KiB country rejected"
assert_contains "$reasons" "202: field 'email' (PII, value not shown): not an e-mail address (holds a NUL byte)" "NUL in e-mail rejected, value not shown"
assert_contains "$reasons" "field 'id': not an integer" "SQL injection as id rejected"
assert_contains "$reasons" "204: field 'createdAt': not an ISO 8601 timestamp (holds a NUL byte)" "NUL after a valid timestamp rejected"
assert_contains "$reasons" "205: field 'profile.gender': longer than 32 characters" "64 KiB gender rejected"
assert_contains "$reasons" "206: field 'birthDate' (PII, value not shown): not an ISO 8601 date" "injection as birth date rejected"
assert_contains "$reasons" "207: field 'profile.income': not a decimal number (holds a NUL byte)" "NUL in a number rejected"
assert_contains "$reasons" "208: field 'createdAt'" "Feb 30 rejected"
assert_eq "$(exp reject_key_203)" "$(q "SELECT $(wh_hex record_key) FROM load_rejects WHERE reason LIKE 'field ''id''%' AND stream='users'")" \
  "the injection stored intact as the reject's record_key"
assert_eq 2 "$(q "SELECT COUNT(*) FROM load_rejects WHERE stream='messages'")" "both bad messages rejected"

# nowhere else: dump every table and look for each marker
dump_tables "$DB"
assert_eq "sensitive_city_ids" "$(dumped_in CITYMARK-)" "city values only in sensitive_city_ids"
assert_eq "sensitive_zipcode_ids" "$(dumped_in ZIPMARK-)" "zip codes only in sensitive_zipcode_ids"
assert_eq "sensitive_profession_ids" "$(dumped_in PROFMARK-)" "professions only in sensitive_profession_ids"
assert_eq "users_raw" "$(dumped_in COUNTRYMARK-)" "kept country values only in users_raw"
for m in FIRSTDROP- LASTDROP- ADDRDROP- EMAILDROP- MSGDROP- REJPII-; do
  assert_eq "" "$(dumped_in "$m")" "dropped or rejected values marked $m are in no table"
done
assert_eq "" "$(grep -a -l -e 'DROPMARK' -e 'hostile.example' "$T"/dump_sensitive_*.sql | paste -sd, || true)" \
  "no e-mail domain in a sensitive table"
assert_eq 6 "$(q "SELECT COUNT(*) FROM users_raw WHERE email_domain = 'hostile.example'")" "e-mail domains kept"

# a rerun over the same hostile data finds the same surrogates
before=$(wh_checksum "$DB" sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids users_raw)
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "rerun exits 0"
assert_eq "$before" "$(wh_checksum "$DB" sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids users_raw)" \
  "rerun leaves the sensitive tables and users_raw unchanged"
finish
