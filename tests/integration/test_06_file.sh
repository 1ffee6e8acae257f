#!/usr/bin/env bash
# `kind: file` sources: users from a JSON Lines file (one record per line, with
# a blank line and a line that is not JSON), messages from a file holding one
# JSON array. The rows equal the fixture API's; the bad line is rejected with
# its position, not fatal; a missing file fails the run with its name. Runs
# against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_file
fresh_db "$DB"
perl -MJSON::PP -e '
  my $j = JSON::PP->new->utf8->canonical;
  local $/; open my $f, "<", $ARGV[0] or die; my $a = decode_json(<$f>);
  my $i = 0;
  for my $r (@$a) { print $j->encode($r), "\n"; print "\n" if ++$i == 2; print "this is {not json\n" if $i == 7 }
' "$FIXTURES/users.json" >"$T/users.jsonl"
cp "$FIXTURES/messages.json" "$T/messages.json"
cat >"$T/c.yaml" <<YAML
$(config_head "$DB")
$(pii_section)
load: { batch_size: 7 }
sources:
  user_file: { kind: file, path: users.jsonl, page_size: 4 }
  message_file: { kind: file, path: messages.json }
streams:
  users: { source: user_file }
  messages: { source: message_file }
YAML
q() { sql_admin "$DB" "$1"; }
TODAY=$(wh_pick "UTC_DATE()" "(now() AT TIME ZONE 'UTC')::date")
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run from files ($OUT)"
assert_eq "$USERS_LOADED" "$(q 'SELECT COUNT(*) FROM users_raw')" "users from JSON Lines"
assert_eq "$SUBSCRIPTIONS_ROWS" "$(q 'SELECT COUNT(*) FROM subscriptions_raw')" "subscriptions"
assert_eq "$MESSAGES_LOADED" "$(q 'SELECT COUNT(*) FROM messages_raw')" "messages from a JSON array file"
assert_eq "$((USERS_REJECTED + 1))" "$(q "SELECT COUNT(*) FROM load_rejects WHERE stream='users'")" \
  "the fixture's bad users plus the line that is not JSON are rejected"
bad=$(q "SELECT CONCAT(source_ref, ' | ', reason) FROM load_rejects WHERE reason LIKE 'record is not valid JSON%'")
# records on lines 1-2, a blank line 3, records on lines 4-8, the bad line 9
assert_contains "$bad" "users.jsonl:9 |" "the bad line's reject names the file and its real line"
assert_contains "$bad" "not JSON" "and says what was wrong"
assert_not_contains "$bad" "not json" "without quoting the line"
assert_eq "$ACTIVE_SUBSCRIPTIONS_TODAY" "$(q "SELECT COUNT(*) FROM subscriptions_raw WHERE status='Active' AND start_date <= $TODAY AND end_date >= $TODAY")" \
  "same answers as the API load"
# must fail: a missing file names itself and exits 1
sed -i 's/path: users.jsonl/path: nope.jsonl/' "$T/c.yaml"
ml -c "$T/c.yaml" run; assert_eq 1 "$RC" "missing file exits 1"
assert_contains "$OUT" "nope.jsonl" "and names the file"
finish
