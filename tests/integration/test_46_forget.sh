#!/usr/bin/env bash
# Erasure of a data subject, end to end: load users, messages (the fixture
# API) and login events (a file), `maskload forget` one user, check what is
# gone and what stays, then rerun the same sources: the user is not loaded
# again, nothing of it is stored, and load_run_streams.erased counts it.
. "$(dirname "$0")/lib.sh"
DB=it_forget
fresh_db "$DB"
# login events: user "2" (ip only it used, a device shared with user 7),
# user "7", and two text ids that are not "2" byte for byte
cat >"$T/logins.jsonl" <<'JSONL'
{"MessageId":"m-1","SentTimestamp":"1636000000000","Body":{"user_id":"2","device_type":"ios","ip":"10.9.0.2","device_id":"dev-shared"}}
{"MessageId":"m-2","SentTimestamp":"1636000001000","Body":{"user_id":"7","device_type":"ios","ip":"10.9.0.7","device_id":"dev-shared"}}
{"MessageId":"m-3","SentTimestamp":"1636000002000","Body":{"user_id":"2 ","device_type":"web","ip":"10.9.0.3"}}
{"MessageId":"m-4","SentTimestamp":"1636000003000","Body":{"user_id":"02","device_type":"web","ip":"10.9.0.4"}}
JSONL
write_config "$T/c.yaml" "$DB" "  user_logins: { source: logins }"
sed -i "s|^sources:|sources:\n  logins: { kind: file, path: logins.jsonl }|" "$T/c.yaml"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run: $OUT"
q() { sql_admin "$DB" "$1" | tr '\t' ' '; }
assert_eq 4 "$(q "SELECT COUNT(*) FROM user_logins")" "4 login events loaded"

# user 2: a subscription, messages as sender and receiver (and a rejected
# one), a city and a zip code of its own, a profession shared with user 12
assert_eq 1 "$(q "SELECT COUNT(*) FROM subscriptions_raw WHERE user_id=2")" "user 2 has a subscription"
assert_eq "2 4" "$(q "SELECT SUM(sender_id=2), SUM(receiver_id=2) FROM messages_raw")" "user 2 sends and receives"
read -r city zip prof <<<"$(q "SELECT city_id, zipcode_id, profession_id FROM users_raw WHERE user_id=2")"
ip=$(q "SELECT ip_id FROM user_logins WHERE message_id='m-1'")
dev=$(q "SELECT device_id FROM user_logins WHERE message_id='m-1'")
assert_eq 1 "$(q "SELECT COUNT(*) FROM users_raw WHERE profession_id=$prof AND user_id<>2")" "user 2's profession is shared"
others_before=$(q "SELECT GROUP_CONCAT(CONCAT_WS(':', user_id, created_at, city_id, zipcode_id, email_domain, birth_year, profession_id, income) ORDER BY user_id) FROM users_raw WHERE user_id<>2")
msgs_before=$(q "SELECT COUNT(*) FROM messages_raw")
rej_msg=$(q "SELECT COUNT(*) FROM load_rejects WHERE stream='messages'")
assert_eq 1 "$rej_msg" "message 27 (sender 2) was rejected"

# must-fail: no reason, no subject: exit 2, nothing changed
ml -c "$T/c.yaml" forget --subject 2 --reason "   "
assert_eq 2 "$RC" "blank reason exits 2"
ml -c "$T/c.yaml" forget --subject 2
assert_eq 2 "$RC" "missing --reason exits 2"
ml -c "$T/c.yaml" forget --reason "erasure request"
assert_eq 2 "$RC" "missing --subject exits 2"
assert_eq "12 0 0" "$(q "SELECT (SELECT COUNT(*) FROM users_raw), (SELECT COUNT(*) FROM pii_erasures), (SELECT COUNT(*) FROM pii_access_log)")" "refused requests changed nothing"

# forget user 2
ml -c "$T/c.yaml" forget --subject 2 --reason "erasure request #17 (art. 17)"
assert_eq 0 "$RC" "forget: $OUT"
assert_contains "$OUT" "9 rows, 1 rejects, 3 surrogates deleted" "forget reports what it deleted"
assert_eq 0 "$(q "SELECT COUNT(*) FROM users_raw WHERE user_id=2")" "users_raw: user 2 gone"
assert_eq 0 "$(q "SELECT COUNT(*) FROM subscriptions_raw WHERE user_id=2")" "subscriptions_raw: its child rows gone"
assert_eq 0 "$(q "SELECT COUNT(*) FROM messages_raw WHERE sender_id=2 OR receiver_id=2")" "messages_raw: as sender and receiver gone"
assert_eq $((msgs_before - 6)) "$(q "SELECT COUNT(*) FROM messages_raw")" "no other message deleted"
assert_eq "m-2 m-3 m-4" "$(q "SELECT GROUP_CONCAT(message_id ORDER BY message_id SEPARATOR ' ') FROM user_logins")" "user_logins: '2' gone; '2 ' and '02' (other text ids) kept"
assert_eq 0 "$(q "SELECT COUNT(*) FROM load_rejects WHERE stream='messages'")" "the reject of its message gone"
assert_eq "0 0 0" "$(q "SELECT (SELECT COUNT(*) FROM sensitive_city_ids WHERE id=$city), (SELECT COUNT(*) FROM sensitive_zipcode_ids WHERE id=$zip), (SELECT COUNT(*) FROM sensitive_ip_ids WHERE id=$ip)")" "surrogates only user 2 used are gone"
assert_eq "1 1" "$(q "SELECT (SELECT COUNT(*) FROM sensitive_profession_ids WHERE id=$prof), (SELECT COUNT(*) FROM sensitive_device_ids WHERE id=$dev)")" "shared surrogates are kept"
assert_eq "$((DISTINCT_CITIES - 1)) $((DISTINCT_ZIPCODES - 1)) $DISTINCT_PROFESSIONS" "$(q "SELECT (SELECT COUNT(*) FROM sensitive_city_ids), (SELECT COUNT(*) FROM sensitive_zipcode_ids), (SELECT COUNT(*) FROM sensitive_profession_ids)")" "no other surrogate deleted"
assert_eq "$others_before" "$(q "SELECT GROUP_CONCAT(CONCAT_WS(':', user_id, created_at, city_id, zipcode_id, email_domain, birth_year, profession_id, income) ORDER BY user_id) FROM users_raw WHERE user_id<>2")" "other users unchanged"
# the erasure record: a keyed digest, never the id
want=$(printf 'maskload.subject\0002' | openssl dgst -sha256 -hmac "$(digest_key)" -r | cut -d' ' -f1)
plain=$(printf 'maskload.subject\0002' | openssl dgst -sha256 -r | cut -d' ' -f1)
got=$(q "SELECT LOWER(HEX(digest)), rows_deleted FROM pii_erasures")
assert_eq "$want 9" "$got" "pii_erasures: HMAC-SHA256 with the digest key of label, 0x00, id"
[ "$want" != "$plain" ] && ok "the digest is keyed (not plain SHA-256)" || not_ok "digest equals plain SHA-256"
# no id in clear: the table has no column for one, and its one value is the
# 32-byte digest checked above (a byte '2' inside a random digest means nothing)
assert_eq "digest,erased_at,rows_deleted" "$(q "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA=DATABASE() AND TABLE_NAME='pii_erasures'")" \
  "pii_erasures holds no id in clear (digest, time and count only)"
assert_eq 0 "$(q "SELECT COUNT(*) FROM pii_erasures WHERE LENGTH(digest)<>32")" "every digest is 32 bytes"
row=$(q "SELECT who, action, kind IS NULL, surrogate_id IS NULL, LOWER(HEX(subject_digest)), reason, found FROM pii_access_log")
assert_eq "maskload_loader@localhost forget 1 1 $want erasure request #17 (art. 17) 1" "$row" "pii_access_log: the forget, its digest, its reason"
left=$(q "SELECT (SELECT COUNT(*) FROM users_raw WHERE user_id=2) + (SELECT COUNT(*) FROM subscriptions_raw WHERE user_id=2) + (SELECT COUNT(*) FROM messages_raw WHERE 2 IN (sender_id, receiver_id)) + (SELECT COUNT(*) FROM user_logins WHERE CAST(user_id AS BINARY)='2') + (SELECT COUNT(*) FROM load_rejects WHERE payload LIKE '%\"2\"%' OR record_key='2')")
assert_eq 0 "$left" "no table holds the subject's id any more"

# rerun the same sources: user 2 is not loaded again, and stored nowhere
cs_before=$(q "CHECKSUM TABLE users_raw, subscriptions_raw, messages_raw, user_logins" | cut -f2 | tr '\n' ' ')
sur_before=$(q "SELECT (SELECT COUNT(*) FROM sensitive_city_ids), (SELECT COUNT(*) FROM sensitive_zipcode_ids), (SELECT COUNT(*) FROM sensitive_ip_ids)")
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "rerun"
assert_contains "$OUT" "stream 'users': 1 records of erased data subjects skipped" "the run's log counts the erased records"
run=$(q "SELECT MAX(run_id) FROM load_runs")
assert_eq "users:15:11:3:1 messages:27:20:0:7 user_logins:4:0:0:1" "$(q "SELECT GROUP_CONCAT(CONCAT_WS(':', stream, fetched, loaded, rejected, erased) ORDER BY FIELD(stream,'users','messages','user_logins') SEPARATOR ' ') FROM load_run_streams WHERE run_id=$run")" "load_run_streams.erased counts them (fetched = loaded + rejected + erased + already processed)"
assert_eq 0 "$(q "SELECT COUNT(*) FROM users_raw WHERE user_id=2")" "user 2 not loaded again"
assert_eq "$cs_before" "$(q "CHECKSUM TABLE users_raw, subscriptions_raw, messages_raw, user_logins" | cut -f2 | tr '\n' ' ')" "the rerun changed no stream table"
ml -c "$T/c.yaml" status --limit 1
assert_contains "$OUT" "users: 15 fetched, 11 loaded, 3 rejected, 0 duplicates, 1 erased," "status shows the erased count"
ml -c "$T/c.yaml" status --limit 1 --format json
assert_contains "$OUT" '"users":{"pages":' "status --format json has the users counts"
assert_contains "$OUT" '"fetched":15,"loaded":11,"rejected":3,"duplicates":0,"erased":1' "with every count"
assert_eq "$sur_before" "$(q "SELECT (SELECT COUNT(*) FROM sensitive_city_ids), (SELECT COUNT(*) FROM sensitive_zipcode_ids), (SELECT COUNT(*) FROM sensitive_ip_ids)")" "no surrogate created for the erased subject"
assert_eq 0 "$(q "SELECT COUNT(*) FROM load_rejects WHERE run_id=$run AND stream='messages'")" "its malformed message is not rejected again (stored nowhere)"
assert_eq 11 "$(q "SELECT COUNT(*) FROM users_raw")" "the other users are loaded"

# an id no row holds: nothing deleted, recorded all the same
ml -c "$T/c.yaml" forget --subject 424242 --reason "erasure request #18"
assert_eq 0 "$RC" "forget of an unknown subject: $OUT"
assert_contains "$OUT" "0 rows, 0 rejects, 0 surrogates deleted (no row held it" "it says nothing held it"
assert_eq "2 0" "$(q "SELECT COUNT(*), SUM(found) - 1 FROM pii_access_log WHERE action='forget'")" "logged as not found"
assert_eq 2 "$(q "SELECT COUNT(*) FROM pii_erasures")" "and recorded in pii_erasures"
# ids that only look like user 7's integer: no integer column matches
for s in 07 +7 7abc " 7" "7.0"; do
  ml -c "$T/c.yaml" forget --subject "$s" --reason "type check"
  assert_eq "0 1 1" "$RC $(q "SELECT COUNT(*) FROM users_raw WHERE user_id=7") $(q "SELECT COUNT(*) FROM user_logins WHERE user_id='7'")" "subject '$s' deletes nothing of user 7"
done
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run after the look-alike erasures"
assert_eq 1 "$(q "SELECT COUNT(*) FROM users_raw WHERE user_id=7")" "user 7 still loaded (its digest is of '7')"
# forgetting again: nothing left to delete, one erasure row, one more log entry
ml -c "$T/c.yaml" forget --subject 2 --reason "erasure request #17, repeated"
assert_eq 0 "$RC" "forget the same subject again"
assert_contains "$OUT" "0 rows, 0 rejects, 0 surrogates deleted (it was erased before)" "it says so"
assert_eq "1 9" "$(q "SELECT COUNT(*), SUM(rows_deleted) FROM pii_erasures WHERE LOWER(HEX(digest))='$want'")" "still one erasure row, its count kept"
# a text id
ml -c "$T/c.yaml" forget --subject "2 " --reason "erasure request #19"
assert_eq 0 "$RC" "forget a text subject"
assert_eq "m-2 m-4" "$(q "SELECT GROUP_CONCAT(message_id ORDER BY message_id SEPARATOR ' ') FROM user_logins")" "only the exact text id '2 ' is deleted"

# the language: subject only on a column kept as sent, of an integer or text type
bad() {
  write_config "$T/bad.yaml" "$DB" "$1"
  ml -c "$T/bad.yaml" plan
  if [ "$RC" -eq 2 ] && [[ "$OUT" == *"bad.yaml:"*":"*"$2"* ]]; then ok "$3"; else not_ok "$3: rc=$RC $OUT"; fi
}
bad "  shop:
    source: api
    path: /users
    table: shop_users
    key: [user_id]
    columns:
      - { name: user_id, from: id, type: bigint, required: true }
      - { name: city_id, from: city, pii: surrogate, kind: city, subject: true }" "column 'city_id' is surrogate" "subject on a surrogate column is a config error"
bad "  shop:
    source: api
    path: /users
    table: shop_users
    key: [user_id]
    columns:
      - { name: user_id, from: id, type: bigint, required: true }
      - { name: first, from: firstName, pii: drop, subject: true }" "has pii: drop" "subject on a dropped column is a config error"
bad "  shop:
    source: api
    path: /users
    table: shop_users
    key: [user_id]
    columns:
      - { name: user_id, from: id, type: bigint, required: true }
      - { name: mail, from: email, pii: email_domain, subject: true }" "column 'mail' is email_domain" "subject on a reduced column is a config error"
bad "  shop:
    source: api
    path: /users
    table: shop_users
    key: [user_id]
    columns:
      - { name: user_id, from: id, type: bigint, required: true }
      - { name: born, from: birthDate, type: date, subject: true }" "of another type" "subject on a date column is a config error"
bad "  shop:
    source: api
    path: /users
    table: shop_users
    key: [user_id]
    columns:
      - { name: user_id, from: id, type: bigint, required: true, subject: yes }" "must be true or false" "subject: yes is a config error"
bad "  shop:
    source: api
    path: /users
    table: shop_users
    key: [user_id]
    columns:
      - { name: user_id, from: id, type: bigint, required: true }
    children:
      - table: shop_subs
        from: subscription
        position: n
        columns:
          - { name: status, from: status, type: varchar(32), subject: true }" "declare 'subject: true' on the parent's column" "subject on a child column is a config error"
finish
