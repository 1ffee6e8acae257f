#!/usr/bin/env bash
# Records that are bad JSON, one at a time: each record of a page is parsed
# on its own, so one bad record is rejected (with its reason, never its PII)
# and the others load.
# - an API page (a second fixture_api, which serves elements byte for byte)
#   mixing good records with every kind of bad one: a lone high surrogate in
#   city, a reversed pair in country (rejected, naming the field), a lone
#   surrogate in firstName and in unknown fields (never read: the record
#   loads), an unknown field nested 1000 deep, ids over BIGINT, invalid UTF-8
#   (in a kept and in a dropped field), a raw TAB, a raw NUL, duplicate keys
#   (the last wins), a duplicate record, and exact 64-bit ids (2^53 + 1, the
#   BIGINT bounds) as JSON numbers;
# - the same records as JSON Lines (BOMs, a blank line): the same outcome,
#   each reject naming its real line; a JSON Lines file whose first line is
#   an array is read as lines by format auto, and fails the run with
#   format: json (must-fail);
# - a page that is not JSON at all (HTML) fails the run after the same body
#   twice (must-fail).
# Every run: fetched = loaded + rejected + duplicates, and the PII planted in
# rejected records (REJPII-) and in dropped fields is in no table. Runs
# against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_json_records
q() { sql_admin "$DB" "$1"; }
last_run_id() { q "SELECT MAX(run_id) FROM load_runs"; }
# counts RUN : fetched loaded rejected duplicates unknown_fields of users
counts() { q "SELECT fetched, loaded, rejected, duplicates, unknown_fields FROM load_run_streams WHERE run_id=$1 AND stream='users'"; }
# rejects RUN : one line per reject, "source_ref | record_key | reason"
rejects() { q "SELECT CONCAT(source_ref, ' | ', COALESCE(record_key, '-'), ' | ', reason) FROM load_rejects WHERE run_id=$1 ORDER BY reject_id"; }
# a backslash as the client prints it (mariadb -B doubles it, psql -A does not)
BS=$(wh_pick '\\' '\')

# ---- the records (raw JSON text: bytes that are not JSON are written as is)
mkdir -p "$T/api"
perl - "$T" <<'PERL'
use strict;
use warnings;
my $dir = shift;
my $BOM = "\xef\xbb\xbf";
# user(ID_TOKEN, TAG, KEY => RAW_VALUE, ...): a users record; KEY replaces a
# member, +KEY appends one (a duplicate or unknown key). Every PII value holds
# TAG: rejected records use REJPII-..., which must end up in no table.
sub user {
  my ($id, $tag, @mods) = @_;
  my @p = (id => $id, createdAt => '"2021-01-05T09:12:33.101Z"',
    firstName => qq("FNMARK-$tag"), lastName => qq("LNMARK-$tag"), address => qq("ADDRMARK-$tag"),
    city => qq("CITYMARK-$tag"), country => '"Brazil"', zipCode => qq("ZIPMARK-$tag"),
    email => qq("EMAILMARK-$tag\@json.example"),
    profile => qq({"gender":"female","isSmoking":false,"profession":"PROFMARK-$tag","income":"10.50"}));
  while (my ($k, $v) = splice(@mods, 0, 2)) {
    if ($k =~ s/^\+//) { push @p, $k, $v; next }
    my $found = 0;
    for (my $i = 0; $i < @p; $i += 2) { if ($p[$i] eq $k) { $p[$i + 1] = $v; $found = 1 } }
    die "no key $k" unless $found;
  }
  my @m;
  for (my $i = 0; $i < @p; $i += 2) { push @m, qq("$p[$i]":$p[$i + 1]) }
  return '{' . join(',', @m) . '}';
}
my $deep = ('[' x 1000) . (']' x 1000);
my @recs = (
  user('"1001"', 'g1001', country => '"Smile\ud83d\ude00"'),            #  0 good, a valid pair
  user('1002', 'REJPII-1002', city => '"REJPII-city\ud800x"'),           #  1 lone high surrogate, read
  user('1003', 'REJPII-1003', country => '"Rev\udc00\ud800"'),          #  2 reversed pair, read
  user('1004', 'g1004', firstName => '"FNMARK-lone\ud800"'),             #  3 dropped field: loads
  user('1005', 'g1005', '+nickname' => '"\udc00\ud800"', '+extra' => '{"note":"\ud800"}'), # 4 unknown: loads
  user('1006', 'REJPII-1006', '+deep' => $deep),                        #  5 nested 1000 deep
  user('99999999999999999999', 'REJPII-1007'),                          #  6 id over int64
  user('9223372036854775808', 'REJPII-1008'),                           #  7 INT64_MAX + 1
  user('1009', 'REJPII-1009', city => "\"REJPII-city\xff\xfe\""),        #  8 invalid UTF-8, kept field
  user('1010', 'REJPII-1010', firstName => "\"REJPII-fn\xc3\x28\""),     #  9 invalid UTF-8, dropped field
  user('1011', 'REJPII-1011', address => "\"REJPII-addr\there\""),       # 10 raw TAB
  user('1012', 'REJPII-1012', city => "\"REJPII-city\x00nul\""),         # 11 raw NUL
  user('1013', 'g1013', country => '"DUPFIRST-country"', '+country' => '"Dupland"',
       city => '"DUPFIRST-city"', '+city' => '"CITYMARK-dup-last"'),    # 12 duplicate keys
  user('9007199254740993', 'g2p53'),                                    # 13 2^53 + 1
  user('9223372036854775807', 'gmax'),                                  # 14
  user('-9223372036854775808', 'gmin'),                                 # 15
  user('1020', 'gd1', country => '"Firstland"'),                        # 16 superseded by 17
  user('1020', 'gd2', country => '"Lastland"'),                         # 17 (same page of 4)
);
sub put { my ($f, $s) = @_; open my $h, '>:raw', $f or die "$f: $!"; print $h $s; close $h or die }
put("$dir/api/users.json", "[\n" . join(",\n", @recs) . "\n]\n");
put("$dir/api/messages.json", "[]\n");
# JSON Lines: BOM on line 1, a blank line 5, so record k >= 4 is on line k + 2;
# a BOM on record 13's line (15)
my @lines = map { $_ == 0 || $_ == 13 ? $BOM . $recs[$_] : $recs[$_] } 0 .. $#recs;
splice(@lines, 4, 0, '');
put("$dir/users.jsonl", join("\n", @lines) . "\n");
put("$dir/array_first.jsonl", "[1,2]\n" . user('2001', 'ga1') . "\n" . user('2002', 'ga2') . "\n");
PERL
assert_eq 19 "$(wc -l <"$T/users.jsonl")" "the JSON Lines file has 18 records, a blank line and ends with a newline"

GOOD_IDS="-9223372036854775808,1001,1004,1005,1013,1020,9007199254740993,9223372036854775807"

# check_outcome WHAT RUN REF_OF : the outcome shared by the API and the file
# load; REF_OF N prints the source_ref expected for record N (0-based).
check_outcome() {
  local what=$1 run=$2 ref_of=$3 rej
  assert_eq "$GOOD_IDS" "$(q "SELECT $(wh_agg user_id user_id) FROM users_raw")" \
    "$what: every good record loaded, 64-bit ids exact"
  assert_eq "18	8	9	1	1" "$(counts "$run")" \
    "$what: 18 fetched, 8 loaded, 9 rejected, 1 duplicate, 1 with unknown fields"
  IFS=$'\t' read -r f l r d _ <<<"$(counts "$run")"
  assert_eq "$f" "$((l + r + d))" "$what: fetched = loaded + rejected + duplicates"
  assert_eq succeeded "$(q "SELECT status FROM load_runs WHERE run_id=$run")" "$what: load_runs says succeeded"
  assert_eq 9 "$(q "SELECT COUNT(*) FROM load_rejects WHERE run_id=$run")" "$what: 9 rejects recorded"

  rej=$(rejects "$run")
  echo "$rej" | cut -c1-220
  assert_contains "$rej" "$($ref_of 1) | 1002 | lone surrogate ${BS}ud800 (a high surrogate without its low half) in field 'city'" \
    "$what: lone high surrogate in city rejected, naming the field"
  assert_contains "$rej" "$($ref_of 2) | 1003 | lone surrogate ${BS}udc00 (a low surrogate without its high half) in field 'country'" \
    "$what: reversed surrogate pair in country rejected, naming the field"
  assert_contains "$rej" "$($ref_of 5) | - | record is not valid JSON: nesting deeper than 512 levels at byte " \
    "$what: an unknown field nested 1000 deep rejected"
  assert_contains "$rej" "$($ref_of 6) | 99999999999999999999 | field 'id': integer out of range" \
    "$what: id 99999999999999999999 rejected naming 'id', not rounded"
  assert_contains "$rej" "$($ref_of 7) | 9223372036854775808 | field 'id': integer out of range" \
    "$what: id INT64_MAX + 1 rejected naming 'id'"
  assert_contains "$rej" "$($ref_of 8) | - | record is not valid JSON: invalid UTF-8 in field 'city' at byte " \
    "$what: invalid UTF-8 in city rejected"
  assert_contains "$rej" "$($ref_of 9) | - | record is not valid JSON: invalid UTF-8 in field 'firstName' at byte " \
    "$what: invalid UTF-8 in a dropped field rejects the record too"
  assert_contains "$rej" "$($ref_of 10) | - | record is not valid JSON: raw control character U+0009 in a string in field 'address' at byte " \
    "$what: raw TAB rejected"
  assert_contains "$rej" "$($ref_of 11) | - | record is not valid JSON: raw control character U+0000 in a string in field 'city' at byte " \
    "$what: raw NUL rejected"

  assert_eq "536D696C65F09F9880" "$(q "SELECT $(wh_hex country) FROM users_raw WHERE user_id=1001")" \
    "$what: a valid surrogate pair is decoded to U+1F600"
  assert_eq "Dupland	CITYMARK-dup-last" \
    "$(q "SELECT u.country, c.value FROM users_raw u JOIN sensitive_city_ids c ON c.id=u.city_id WHERE u.user_id=1013")" \
    "$what: duplicate keys: the last one wins (kept text and surrogate)"
  assert_eq "Lastland" "$(q "SELECT country FROM users_raw WHERE user_id=1020")" \
    "$what: duplicate record: the last one wins"
  assert_eq 1 "$(q "SELECT COUNT(*) FROM users_raw WHERE user_id=9007199254740993 AND $(wh_pick "CAST(user_id AS CHAR)" "user_id::text")='9007199254740993'")" \
    "$what: 2^53 + 1 is not rounded through a double"

  # PII: not in any reject, and dropped / rejected values in no table at all
  assert_eq 0 "$(q "SELECT COUNT(*) FROM load_rejects WHERE CONCAT(reason, COALESCE(payload, ''), COALESCE(record_key, '')) $(wh_pick REGEXP '~') 'MARK-|REJPII-|DUPFIRST-|json[.]example'")" \
    "$what: no reject reason, key or payload holds a planted PII value"
  local bad_payload=0 p
  while IFS= read -r p; do
    printf '%s' "$p" | jq -e . >/dev/null 2>&1 || bad_payload=$((bad_payload + 1))
  done < <(q "SELECT payload FROM load_rejects WHERE run_id=$run AND payload IS NOT NULL")
  assert_eq 0 "$bad_payload" "$what: every reject payload is JSON"
  dump_tables "$DB"
  for m in REJPII- FNMARK- LNMARK- ADDRMARK- EMAILMARK- DUPFIRST-; do
    assert_eq "" "$(dumped_in "$m")" "$what: values marked $m are in no table"
  done
  assert_eq "sensitive_city_ids" "$(dumped_in CITYMARK-)" "$what: city values only in sensitive_city_ids"
  assert_eq "sensitive_zipcode_ids" "$(dumped_in ZIPMARK-)" "$what: zip codes only in sensitive_zipcode_ids"
}

# ---- 1. through the API: pages of 4 (record N is page N/4+1, index N%4)
start_api "$T/api"
API="http://127.0.0.1:$API_PORT"
write_config "$T/c.yaml" "$DB"
sed -i "s|http://127.0.0.1:$IT_API_PORT/|$API/|; s|^    page_size: 4\$|    page_size: 4\n    retries: 3\n    retry_base_ms: 10\n    retry_max_ms: 50|" "$T/c.yaml"
assert_contains "$(cat "$T/c.yaml")" "base_url: $API/" "config points at this test's API"
BASE="$API/evaluation/dataengineer/jr/v1"
api_ref() { echo "$BASE/users?page=$(($1 / 4 + 1))&limit=4#$(($1 % 4))"; }

fresh_db "$DB"
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"
ml -c "$T/c.yaml" run --stream users
assert_eq 0 "$RC" "API: the run over bad records exits 0"
echo "$OUT" | cut -c1-300 | tail -4
check_outcome API "$(last_run_id)" api_ref

# ---- 3. a page that is not JSON at all fails the run, after the same body twice
curl -sf -X POST --data '[{"path":"/users","page":1,"times":100,"body":"<html>oops</html>"}]' "$API/__faults" >/dev/null
curl -sf -X DELETE "$API/__requests" >/dev/null
ml -c "$T/c.yaml" run --stream users
assert_eq 1 "$RC" "HTML page: the run exits 1"
assert_contains "$OUT" "GET '$BASE/users?page=1&limit=4' (page 1): " "HTML page: the message names the URL and the page"
assert_contains "$OUT" "not JSON" "HTML page: the message says it is not JSON"
assert_contains "$OUT" "'<'" "HTML page: and what it starts with"
assert_contains "$OUT" "(the same body 2 times; not retried further)" "HTML page: and why it stopped"
assert_eq 2 "$(curl -sf "$API/__requests?path=/users&page=1" | jq -r .count)" \
  "HTML page: requested exactly twice (the same bad body is not retried further)"
assert_eq failed "$(q "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "HTML page: load_runs says failed"
curl -sf -X DELETE "$API/__faults" >/dev/null

# ---- 2. the same records as JSON Lines
# file_config FILE PATH [FORMAT]
file_config() {
  cat >"$1" <<YAML
$(config_head "$DB")
$(pii_section)
load: { batch_size: 7 }
sources:
  user_file: { kind: file, path: $2, page_size: 4${3:+, format: $3} }
streams:
  users: { source: user_file }
YAML
}
# line of record N: line 1 holds record 0, line 5 is blank
line_ref() { local n=$1; [ "$n" -ge 4 ] && n=$((n + 1)); echo "file:$T/users.jsonl:$((n + 1))"; }
file_config "$T/f.yaml" users.jsonl
fresh_db "$DB"
ml -c "$T/f.yaml" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"
ml -c "$T/f.yaml" run
assert_eq 0 "$RC" "JSON Lines: the run over bad lines exits 0"
echo "$OUT" | cut -c1-300 | tail -4
check_outcome "JSON Lines" "$(last_run_id)" line_ref

# a JSON Lines file whose first line is an array: format auto reads lines
file_config "$T/a.yaml" array_first.jsonl
ml -c "$T/a.yaml" run
assert_eq 0 "$RC" "array first line, format auto: the run exits 0"
run=$(last_run_id)
assert_eq "3	2	1	0	0" "$(counts "$run")" "array first line: 3 fetched, 2 loaded, 1 rejected"
assert_eq 2 "$(q "SELECT COUNT(*) FROM users_raw WHERE user_id IN (2001, 2002)")" "array first line: the good lines load"
assert_eq "file:$T/array_first.jsonl:1 | - | record must be a JSON object, got array" "$(rejects "$run")" \
  "array first line: line 1 rejected as an array"
# must fail: the same file as format json is not one array
file_config "$T/j.yaml" array_first.jsonl json
ml -c "$T/j.yaml" run
assert_eq 1 "$RC" "array first line, format json: the run exits 1"
assert_contains "$OUT" "file '$T/array_first.jsonl' (format json): " "format json: the message names the file"
assert_contains "$OUT" "unexpected bytes after the array" "format json: and says it is not one array"
assert_eq failed "$(q "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "format json: load_runs says failed"
finish
