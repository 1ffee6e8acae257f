#!/usr/bin/env bash
# `maskload infer`: the mapping proposed from the fixture API passes `plan`
# unedited and loads (init + run), with the personal fields dropped or masked;
# a hostile JSON Lines sample (odd keys, mixed types, deep nesting, personal
# data under innocent names) is judged by value shape; no sampled value is
# ever printed (the twin check proves the values are in the sample); bad
# arguments and a queue source exit 2. Runs against either warehouse
# (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_infer
fresh_db "$DB"
# the fixture served under other names: tables named users_raw / messages_raw
# would meet the built-in analysis views, written for the built-in mappings
mkdir -p "$T/data"
cp "$FIXTURES/users.json" "$T/data/people.json"
cp "$FIXTURES/messages.json" "$T/data/chats.json"
start_api "$T/data"
write_config "$T/c.yaml" "$DB"
sed -i "s|127.0.0.1:$IT_API_PORT/|127.0.0.1:$API_PORT/|" "$T/c.yaml"
src=$(printf '  logins:\n    kind: sqs\n    queue_url: http://127.0.0.1:9/000000000000/logins\n    region: us-east-1\n  hostile:\n    kind: file\n    path: hostile.jsonl')
awk -v src="$src" '{ print } /^sources:$/ { print src }' "$T/c.yaml" >"$T/c.tmp" && mv "$T/c.tmp" "$T/c.yaml"

infer() { # infer OUTFILE ARGS... : stdout to OUTFILE, stderr in $ERR, status in $RC
  local out=$1
  shift
  set +e
  "$MASKLOAD_BIN" -c "$T/c.yaml" infer "$@" >"$out" 2>"$T/err"
  RC=$?
  set -e
  ERR=$(cat "$T/err")
}

# ---- the fixture API ----
infer "$T/users_inferred.yaml" --source api --path /people
assert_eq 0 "$RC" "infer /users ($ERR)"
infer "$T/messages_inferred.yaml" --source api --path /chats --sample 500
assert_eq 0 "$RC" "infer /messages ($ERR)"
assert_contains "$ERR" "27 records sampled" "every message is read (several pages of 4)"
U=$(cat "$T/users_inferred.yaml")
M=$(cat "$T/messages_inferred.yaml")
drop=$(grep '^drop:' "$T/users_inferred.yaml" || true)
for f in firstName lastName address; do
  assert_contains "$drop" "\"$f\"" "users: $f is dropped"
  assert_not_contains "$(grep -- '- {' "$T/users_inferred.yaml")" "from: \"$f\"" "users: $f is no column"
done
assert_contains "$U" 'from: "email", pii: email_domain' "users: email keeps the domain"
assert_contains "$U" "# PII: field name 'email' and e-mail values -> keeps the domain only" "with the reason"
assert_contains "$U" 'from: "city", pii: surrogate, kind: city' "users: city is a surrogate"
assert_contains "$U" 'from: "zipCode", pii: surrogate, kind: zipcode' "users: zipCode is a surrogate"
assert_contains "$U" 'from: "birthDate", pii: year' "users: birthDate keeps the year"
assert_contains "$U" 'key: [id]' "users: the key is id"
assert_contains "$U" '- { name: id, from: "id", type: bigint, required: true' "the key first, required, bigint"
assert_contains "$U" 'from: "profile.income", type: "decimal(' "a nested decimal as a dotted path"
assert_contains "$U" 'from: "profile.isSmoking", type: boolean' "a boolean"
assert_contains "$U" "children:" "users: a child table"
assert_contains "$U" 'from: "subscription"' "from the subscription array"
assert_contains "$U" "position: { name: subscription_no" "with a position"
assert_contains "$M" '"message"' "messages: the text is dropped"
assert_contains "$M" 'from: "senderId", type: bigint' "an id-like integer is a bigint, whatever its range"
assert_not_contains "$(grep -- '- {' "$T/messages_inferred.yaml")" 'from: "message"' "messages: no text column"

# used unedited as mappings: plan, init, run
cat >"$T/m.yaml" <<YAML
$(config_head "$DB")
$(pii_section)
sources:
  api:
    base_url: http://127.0.0.1:$API_PORT/evaluation/dataengineer/jr/v1
    page_size: 4
streams:
  people: { source: api, path: /people, mapping: users_inferred.yaml }
  chats: { source: api, path: /chats, mapping: messages_inferred.yaml }
YAML
ml -c "$T/m.yaml" plan
assert_eq 0 "$RC" "plan accepts the inferred mappings ($OUT)"
assert_contains "$OUT" "CREATE TABLE" "plan creates the tables"
ml -c "$T/m.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
ml -c "$T/m.yaml" run; assert_eq 0 "$RC" "run ($OUT)"
n=$(sql_admin "$DB" "SELECT COUNT(*) FROM people_raw")
[ "$n" -ge 10 ] && ok "users loaded ($n rows)" || not_ok "users loaded: $n rows"
n=$(sql_admin "$DB" "SELECT COUNT(*) FROM people_subscription_raw")
[ "$n" -ge 10 ] && ok "subscriptions loaded ($n rows)" || not_ok "subscriptions loaded: $n rows"
n=$(sql_admin "$DB" "SELECT COUNT(*) FROM chats_raw")
[ "$n" -ge 20 ] && ok "messages loaded ($n rows)" || not_ok "messages loaded: $n rows"
cols=$(sql_admin "$DB" "SELECT $(wh_agg column_name column_name) FROM information_schema.columns WHERE table_schema='$(wh_schema "$DB")' AND table_name='people_raw'")
for c in first_name last_name address email; do
  assert_not_contains ",$cols," ",$c," "people_raw has no $c column"
done
assert_eq "$(sql_admin "$DB" "SELECT COUNT(*) FROM people_raw WHERE email_domain LIKE '%@%'")" 0 "only domains stored"
[ "$(sql_admin "$DB" "SELECT COUNT(*) FROM sensitive_city_ids")" -gt 0 ] && ok "sensitive_city_ids filled" || not_ok "sensitive_city_ids empty"

# ---- a hostile sample ----
perl -e '
  sub luhn { my $d = shift; my ($s, $i) = (0, 0);
    for my $c (reverse split //, $d) { my $v = $c; if ($i++ % 2 == 0) { $v *= 2; $v -= 9 if $v > 9 } $s += $v }
    return (10 - $s % 10) % 10 }
  for my $i (1..30) {
    my $card = sprintf("45395787%07d", 1000 + $i * 37); $card .= luhn($card);
    my $deep = "\"deepsecret$i\""; $deep = "{\"k\":$deep}" for 1..20;
    my $mixed = $i % 3 ? $i : "\"fivefold$i\"";
    my $shape = $i % 2 ? "{\"inner\":\"innervalue$i\"}" : "\"shapevalue$i\"";
    printf "{\"id\":\"u-%04d\",\"notes\":\"person%d.secret\@corp-mail.example\",\"x\":\"10.1.%d.77\",\"misc\":\"%s\",".
           "\"ref\":\"DE89370400440532013000\",\"contact\":\"+41 44 668 18 %02d\",\"v6\":\"2001:db8::%x\",".
           "\"blurb\":\"write to jane%d\@example.org please\",\"mixed\":%s,\"a b\":%d,\"1st\":\"first%d\",".
           "\"dot.key\":\"dotted%d\",\"user%d\@example.com\":1,\"\":\"emptykey%d\",\"Straße Nr\":\"Hauptweg%d\",".
           "\"deep\":%s,\"tags\":[\"tagvalue%d\"],\"seenAt\":%d,\"loadedAt\":\"2024-01-%02dT10:00:00Z\",\"shape\":%s}\n",
           $i, $i, $i, $card, $i, $i + 4096, $i, $mixed, $i, $i, $i, $i, $i, $i, $deep, $i,
           1700000000000 + $i * 1000, $i, $shape;
  }' >"$T/hostile.jsonl"
infer "$T/h.yaml" --source hostile --sample 25
assert_eq 0 "$RC" "infer on the hostile sample ($ERR)"
assert_contains "$ERR" "25 records sampled" "--sample bounds the reading"
H=$(cat "$T/h.yaml")
hdrop=$(grep '^drop:' "$T/h.yaml" || true)
assert_contains "$H" 'from: "notes", pii: email_domain' "notes holding e-mails: email_domain"
assert_contains "$H" "# PII: e-mail values -> keeps the domain only" "said why, by shape"
assert_contains "$H" 'from: "x", pii: surrogate, kind: ip' "x holding IPv4s: an ip surrogate"
assert_contains "$H" "# PII: IPv4 values" "said why"
assert_contains "$H" 'from: "v6", pii: surrogate, kind: ip' "IPv6 values: an ip surrogate"
assert_contains "$hdrop" '"misc"' "card numbers (Luhn) are dropped"
assert_contains "$H" "# PII: card numbers (Luhn)" "said why"
assert_contains "$hdrop" '"ref"' "IBANs are dropped"
assert_contains "$hdrop" '"contact"' "phone numbers are dropped"
assert_contains "$hdrop" '"blurb"' "text holding an e-mail address is dropped"
assert_contains "$hdrop" '"tags"' "an array of values is dropped"
assert_contains "$H" 'from: "mixed", type: varchar' "mixed types: varchar"
assert_contains "$H" 'name: a_b, from: "a b"' "an odd key: a snake_case identifier"
assert_contains "$H" 'name: f_1st, from: "1st"' "a key with a leading digit"
assert_contains "$H" 'from: "Straße Nr"' "a non-ASCII key is addressed as written"
assert_contains "$H" 'key: [id]' "a short string id is the key"
assert_not_contains "$H" 'from: "shape.inner"' "a field that is sometimes an object: no member is a column"
assert_contains "$hdrop" '"shape"' "it is dropped"
assert_contains "$H" "dropped with its members" "saying why"
assert_contains "$H" 'from: "seenAt", type: epoch_ms' "milliseconds under a time-like name: epoch_ms"
assert_contains "$H" 'name: loaded_at_2, from: "loadedAt", type: datetime' "a name the loader uses itself gets a suffix"
assert_contains "$H" "fields were not proposed" "unaddressable and data-like keys counted"
assert_not_contains "$H" "dot.key" "a key with a dot is not proposed"
assert_not_contains "$H" "@example.com" "a key holding an e-mail is not printed"
# no sampled value in the output, the comments or the messages
perl -ne 'while (/"([^"\\]{5,})"(?!\s*:)/g) { print "$1\n" }' "$T/hostile.jsonl" | sort -u >"$T/values"
nvals=$(wc -l <"$T/values")
[ "$nvals" -gt 200 ] && ok "the sample holds $nvals distinct values" || not_ok "only $nvals values extracted"
found=$(grep -F -o -f "$T/values" "$T/hostile.jsonl" | sort -u | wc -l)
assert_eq "$nvals" "$found" "must-fail twin: the same search finds every value in the sample itself"
leaked=$(cat "$T/h.yaml" "$T/err" | grep -F -o -f "$T/values" | sort -u | head -5 || true)
assert_eq "" "$leaked" "no sampled value is printed"
perl -ne 'while (/"([^"\\]{5,})"(?!\s*:)/g) { print "$1\n" }' "$FIXTURES/users.json" "$FIXTURES/messages.json" |
  grep -v -E '^(Active|Inactive)$' | sort -u >"$T/fvalues"
leaked=$(cat "$T/users_inferred.yaml" "$T/messages_inferred.yaml" | grep -F -o -f "$T/fvalues" | sort -u | head -5 || true)
assert_eq "" "$leaked" "no fixture value is printed"
found=$(grep -c -F -f "$T/fvalues" "$FIXTURES/users.json" || true)
[ "$found" -gt 0 ] && ok "twin: the fixture values are found in the fixture" || not_ok "twin: nothing found"
# the hostile mapping is accepted as it is
cat >"$T/hm.yaml" <<YAML
$(config_head "$DB")
$(pii_section)
sources:
  hostile: { kind: file, path: hostile.jsonl }
streams:
  hostile: { source: hostile, mapping: h.yaml }
YAML
ml -c "$T/hm.yaml" plan
assert_eq 0 "$RC" "plan accepts the hostile mapping ($OUT)"
ml -c "$T/hm.yaml" init; assert_eq 0 "$RC" "init with the hostile mapping ($OUT)"
ml -c "$T/hm.yaml" run; assert_eq 0 "$RC" "run with the hostile mapping ($OUT)"
assert_eq 30 "$(sql_admin "$DB" "SELECT COUNT(*) FROM hostile_raw")" "every hostile record loads ($(sql_admin "$DB" "SELECT reason FROM load_rejects WHERE stream='hostile' LIMIT 2"))"
assert_eq "corp-mail.example" "$(sql_admin "$DB" "SELECT DISTINCT notes_domain FROM hostile_raw")" "notes keep the domain only"
assert_eq 30 "$(sql_admin "$DB" "SELECT COUNT(DISTINCT x_id) FROM hostile_raw")" "IPv4s behind surrogates"
hcols=$(sql_admin "$DB" "SELECT $(wh_agg column_name column_name) FROM information_schema.columns WHERE table_schema='$(wh_schema "$DB")' AND table_name='hostile_raw'")
for c in misc ref contact blurb notes x; do
  assert_not_contains ",$hcols," ",$c," "hostile_raw has no $c column"
done

# a key must be unique: duplicate ids propose none
printf '{"id":1,"n":2}\n{"id":1,"n":3}\n{"id":2,"n":4}\n' >"$T/dups.jsonl"
sed 's|path: hostile.jsonl|path: dups.jsonl|' "$T/c.yaml" >"$T/d.yaml"
set +e; "$MASKLOAD_BIN" -c "$T/d.yaml" infer --source hostile >"$T/dmap.yaml" 2>"$T/err"; RC=$?; set -e
assert_eq 0 "$RC" "infer on duplicate ids"
assert_contains "$(cat "$T/dmap.yaml")" "key: [n]" "duplicate ids: the id is no key, the unique field is"
assert_contains "$(cat "$T/dmap.yaml")" "check it" "with a warning"
assert_not_contains "$(cat "$T/dmap.yaml")" 'from: "id", type: smallint, required' "the duplicated id is not required"
sed 's|path: hostile.jsonl|path: dups.jsonl|; s|mapping: h.yaml|mapping: dmap.yaml|; s|database: it_infer|database: it_infer_dups|' "$T/hm.yaml" >"$T/dm.yaml"
ml -c "$T/dm.yaml" plan
assert_eq 0 "$RC" "a keyless proposal passes plan too ($OUT)"

printf '{"id":1,"n":2}\n{"id":1,"n":2}\n' >"$T/dups.jsonl"
set +e; "$MASKLOAD_BIN" -c "$T/d.yaml" infer --source hostile >"$T/d.out" 2>"$T/err"; RC=$?; set -e
assert_eq 1 "$RC" "nothing unique: no mapping (exit 1)"
assert_contains "$(cat "$T/err")" "needs a key; nothing printed" "saying why"
assert_eq "" "$(cat "$T/d.out")" "nothing on stdout"

# ---- refusals ----
infer "$T/o" --source logins
assert_eq 2 "$RC" "a queue source is refused"
assert_contains "$ERR" "is a queue" "saying why"
assert_eq "" "$(cat "$T/o")" "nothing on stdout"
infer "$T/o"; assert_eq 2 "$RC" "no --source: exit 2"
infer "$T/o" --source; assert_eq 2 "$RC" "--source without a value: exit 2"
infer "$T/o" --source api --sample 0; assert_eq 2 "$RC" "--sample 0: exit 2"
infer "$T/o" --source api --sample ten; assert_eq 2 "$RC" "--sample ten: exit 2"
infer "$T/o" --source api --bogus; assert_eq 2 "$RC" "an unknown option: exit 2"
infer "$T/o" --source nosuch; assert_eq 2 "$RC" "an unknown source: exit 2"
assert_contains "$ERR" "unknown source 'nosuch'" "named"
infer "$T/o" --source hostile --path /x; assert_eq 2 "$RC" "--path on a file source: exit 2"
ml -c "$T/c.yaml" infer --help; assert_eq 0 "$RC" "--help"
assert_contains "$OUT" "never prints a sampled value" "the help says it"
finish
