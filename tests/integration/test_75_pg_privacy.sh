#!/usr/bin/env bash
# The privacy tools on a PostgreSQL warehouse, against the suite's real
# PostgreSQL 15 and fixture API, through the real psql as the steward and the
# analyst: the audited reveal (the function pii_reveal, SECURITY DEFINER and
# owned by the loader role; every call logged in pii_access_log as the
# calling account, in the caller's transaction, and in the server's log,
# which a rollback does not take back; the steward may run it and read the log but neither read
# a sensitive table nor change the log; the analyst may do neither) and
# `maskload reveal` with the steward's own config; `maskload privacy-report`
# (its figures as SQL computes them, no value printed). Must-fails: a blank or
# missing reason, an unknown or hostile kind, an unknown id, the analyst's
# config; privacy-report's unknown stream or format and a wrong password;
# `maskload forget` (the subject's rows gone, logged, and not loaded again by
# a rerun; without a reason it changes nothing); rekey refused while
# pii_erasures holds an erased subject.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg-lib.sh"

DB=t75pg
A=${DB}_analyst S=${DB}_steward
pg_drop "$DB"
cat >"$T/pg.yaml" <<YAML
$(pg_config_head "$DB")
$(pii_section)
sources:
  api: { base_url: "http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1", page_size: 4 }
streams:
  users: { source: api, path: /users, quasi_identifiers: [birth_year, zipcode_id, gender], k: 3 }
  messages: { source: api, path: /messages }
YAML
as_a() { psql_as "$A" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$1" 2>&1; }
as_s() { psql_as "$S" "$MASKLOAD_STEWARD_PASSWORD" "$DB" "$1" 2>&1; }
q() { psql_admin "$DB" "SET search_path = maskload; $1"; }
log_rows() { q "SELECT count(*) FROM pii_access_log"; }
# fails WHO SQL WANT WHAT: the statement as WHO fails with WANT in its message
fails() {
  local out rc
  set +e; out=$($1 "$2"); rc=$?; set -e
  if [ "$rc" -ne 0 ] && [[ "$out" == *"$3"* ]]; then ok "$4"; else not_ok "$4: rc=$rc $out"; fi
}

ml -c "$T/pg.yaml" plan
assert_eq 0 "$RC" "plan exits 0"
assert_contains "$OUT" 'CREATE OR REPLACE FUNCTION "maskload"."pii_reveal"(p_kind varchar, p_id bigint, p_reason varchar)' "plan shows the reveal function"
assert_contains "$OUT" "GRANT EXECUTE ON FUNCTION \"maskload\".\"pii_reveal\"(varchar, bigint, varchar) TO \"maskload_${DB}_steward\";" "plan shows the steward's EXECUTE"
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "init exits 0"
ml -c "$T/pg.yaml" run
assert_eq 0 "$RC" "run exits 0"
ml -c "$T/pg.yaml" init
assert_eq 0 "$RC" "a second init exits 0 (the function is replaced)"
assert_eq "maskload_${DB}_loader|t|{maskload_${DB}_loader=X/maskload_${DB}_loader,maskload_${DB}_steward=X/maskload_${DB}_loader}" \
  "$(q "SELECT pg_get_userbyid(p.proowner), p.prosecdef, p.proacl FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'maskload' AND p.proname = 'pii_reveal'")" \
  "pii_reveal: owned by the loader role, SECURITY DEFINER, executable by the loader and the steward only"

# --- the function through psql
id=$(q "SELECT city_id FROM users_raw WHERE user_id = 3")
want=$(q "SELECT value FROM sensitive_city_ids WHERE id = $id")
assert_eq "Kraków" "$want" "user 3's city (the fixture's)"
before=$(log_rows)
assert_eq "$want" "$(as_s "SELECT pii_reveal('city', $id, 'ticket 4711: court order')")" "the steward's SELECT pii_reveal returns the value"
assert_eq $((before + 1)) "$(log_rows)" "one log row for the call"
assert_eq "$S|reveal|city|$id|ticket 4711: court order|t|t" \
  "$(q "SELECT who, action, kind, surrogate_id, reason, found, abs(extract(epoch FROM (now() AT TIME ZONE 'UTC') - at)) < 60 FROM pii_access_log ORDER BY id DESC LIMIT 1")" \
  "the log row: who = the steward account (session_user), kind, id, reason, found, now in UTC"
# a call in a transaction the caller rolls back: the log row goes with it
# (a function cannot commit), the server's log keeps the call
srv_log=$PG_SERVER_DIR/postgres.log
logged() { grep -c "pii_reveal: $S revealed city id $id (found: t)" "$srv_log" || true; }
n_logged=$(logged)
assert_eq "$want" "$(as_s "BEGIN; SELECT pii_reveal('city', $id, 'then rolled back'); ROLLBACK;")" \
  "a call inside BEGIN ... ROLLBACK returns the value"
assert_eq $((before + 1)) "$(log_rows)" "and its log row is rolled back with the transaction"
assert_eq $((n_logged + 1)) "$(logged)" "the server's log has the call (account, kind, id, found)"
assert_not_contains "$(grep 'pii_reveal: .* revealed ' "$srv_log")" "rolled back" "the server's log has no reason"
assert_not_contains "$(grep 'pii_reveal: .* revealed ' "$srv_log")" "$want" "nor the value"
assert_eq "" "$(as_s "SELECT pii_reveal('zipcode', 999999, 'no such id')")" "an unknown id reveals nothing (NULL)"
assert_eq "f" "$(q "SELECT found FROM pii_access_log ORDER BY id DESC LIMIT 1")" "and is logged as not found"

# must-fail: refused calls reveal and log nothing
before=$(log_rows)
for r in "''" "'   '" "NULL" "E'\\t\\n'"; do
  fails as_s "SELECT pii_reveal('city', $id, $r)" "a reason is required" "the function refuses the reason $r"
done
fails as_s "SELECT pii_reveal('city', NULL, 'x')" "an id is required" "the function refuses a NULL id"
fails as_s "SELECT pii_reveal('City', $id, 'case differs')" "unknown kind (known: city, zipcode, profession)" "the function refuses an unknown kind, naming the known ones"
fails as_s "SELECT pii_reveal('city''; DROP TABLE users_raw; --', 1, 'x')" "unknown kind" "a kind is never SQL"
assert_eq "$before" "$(log_rows)" "refused calls are not logged"
assert_eq "$USERS_LOADED" "$(q "SELECT count(*) FROM users_raw")" "users_raw intact"

# the steward: no sensitive table, the log read-only, the function its owner's
for k in city zipcode profession; do
  fails as_s "SELECT value FROM sensitive_${k}_ids LIMIT 1" "permission denied" "the steward is denied a plain SELECT on sensitive_${k}_ids"
done
assert_eq "$(log_rows)" "$(as_s "SELECT count(*) FROM pii_access_log")" "the steward reads pii_access_log"
fails as_s "INSERT INTO pii_access_log (at, who, action, reason, found) VALUES (now(), 'x', 'reveal', 'forged', true)" "permission denied" "the steward cannot INSERT into pii_access_log"
fails as_s "UPDATE pii_access_log SET reason = 'rewritten'" "permission denied" "the steward cannot UPDATE pii_access_log"
fails as_s "DELETE FROM pii_access_log" "permission denied" "the steward cannot DELETE from pii_access_log"
fails as_s "DROP FUNCTION pii_reveal(varchar, bigint, varchar)" "must be owner" "the steward cannot drop the function"
fails as_s "CREATE OR REPLACE FUNCTION pii_reveal(p_kind varchar, p_id bigint, p_reason varchar) RETURNS text LANGUAGE sql AS 'SELECT NULL::text'" "" "the steward cannot replace the function"

# the analyst: neither the function nor the log
before=$(log_rows)
fails as_a "SELECT pii_reveal('city', $id, 'curious')" "permission denied for function pii_reveal" "the analyst is denied pii_reveal"
fails as_a "SELECT count(*) FROM pii_access_log" "permission denied" "the analyst cannot read pii_access_log"
fails as_a "SELECT count(*) FROM pii_erasures" "permission denied" "the analyst cannot read pii_erasures"
assert_eq "$before" "$(log_rows)" "the analyst's attempt left no log row"

# --- maskload reveal with the steward's own minimal config
cat >"$T/steward.yaml" <<YAML
warehouse:
  kind: postgres
  host: 127.0.0.1
  port: $PG_PORT
  database: $DB
  schema: maskload
  user: $S
  password: \${MASKLOAD_STEWARD_PASSWORD}
YAML
before=$(log_rows)
ml -c "$T/steward.yaml" reveal --kind city --id "$id" --reason "ticket 4713"
assert_eq "0 $want" "$RC $OUT" "maskload reveal prints the value"
assert_eq $((before + 1)) "$(log_rows)" "maskload reveal is logged"
assert_eq "$S ticket 4713 true" "$(q "SELECT who || ' ' || reason || ' ' || found FROM pii_access_log ORDER BY id DESC LIMIT 1")" "logged as the steward"
ml -c "$T/steward.yaml" reveal --kind city --id 999999 --reason "ticket 4714"
assert_eq 1 "$RC" "reveal of an unknown id exits 1"
assert_contains "$OUT" "no city with id 999999 (the request is logged)" "and says so"
assert_eq $((before + 2)) "$(log_rows)" "and is logged"
before=$(log_rows)
ml -c "$T/steward.yaml" reveal --kind city --id "$id" --reason "  "
assert_eq 2 "$RC" "a blank reason exits 2"
assert_contains "$OUT" "a reason is required" "and says why"
ml -c "$T/steward.yaml" reveal --kind city --id "$id"
assert_eq 2 "$RC" "a missing --reason exits 2"
ml -c "$T/steward.yaml" reveal --kind nope --id "$id" --reason "ticket 4715"
assert_eq 2 "$RC" "an unknown kind exits 2 (the function's refusal)"
assert_contains "$OUT" "pii_reveal: unknown kind (known: city, zipcode, profession)" "with the function's message"
ml -c "$T/steward.yaml" reveal --kind "city;x" --id "$id" --reason "ticket 4716"
assert_eq 2 "$RC" "a kind that is not a name exits 2 before connecting"
assert_eq "$before" "$(log_rows)" "refused reveals are not logged"
sed "s/user: $S/user: $A/; s/MASKLOAD_STEWARD_PASSWORD/MASKLOAD_ANALYST_PASSWORD/" "$T/steward.yaml" >"$T/analyst.yaml"
ml -c "$T/analyst.yaml" reveal --kind city --id "$id" --reason "curious"
assert_eq 1 "$RC" "the analyst's reveal exits 1"
assert_contains "$OUT" "permission denied for function pii_reveal" "with the server's denial"
assert_not_contains "$OUT" "$want" "and shows no value"
assert_eq "$before" "$(log_rows)" "and is not logged"

# --- privacy-report: the analyst's tables, every column (the PII ones
# included), counts equal to what SQL computes independently, no value
ml -c "$T/pg.yaml" privacy-report
assert_eq 0 "$RC" "privacy-report exits 0"
report=$OUT
echo "$report" | head -20
assert_contains "$report" "stream users, table users_raw: $USERS_LOADED rows" "the report counts users_raw"
assert_contains "$report" "stream users, child table subscriptions_raw: $SUBSCRIPTIONS_ROWS rows" "and its child table"
assert_contains "$report" "stream messages, table messages_raw: $MESSAGES_LOADED rows" "and messages_raw"
# unique rows of a column, by a window (NULL one value, as GROUP BY)
uniq() { q "SELECT count(*) FROM (SELECT count(*) OVER (PARTITION BY \"$2\") AS c FROM $1) x WHERE c = 1"; }
for c in user_id city_id zipcode_id email_domain birth_year gender profession_id income; do
  line=$(echo "$report" | grep -E "^  $c +[0-9]" | head -1)
  assert_eq "$(uniq users_raw "$c")" "$(echo "$line" | awk '{print $2}')" "privacy-report lists users_raw.$c with its unique rows as SQL counts them"
done
assert_contains "$(echo "$report" | grep -E '^  user_id ')" "(key)" "the key column is marked"
small=$(q "SELECT coalesce(sum(n), 0) || ' ' || count(*) FROM (SELECT count(*) AS n FROM users_raw GROUP BY birth_year, zipcode_id, gender HAVING count(*) < 3) g")
assert_contains "$report" "quasi-identifiers (birth_year, zipcode_id, gender), k = 3: ${small% *} rows" "rows in small groups as SQL counts them"
assert_contains "$report" "in ${small#* } groups smaller than k" "and the groups"
for v in "$want" "Berlin" "Zürich" "@"; do
  assert_not_contains "$report" "$v" "privacy-report prints no value ($v)"
done
ml -c "$T/pg.yaml" privacy-report --stream users --format json
assert_eq 0 "$RC" "privacy-report --format json exits 0"
assert_contains "$OUT" '{"tables":[{"stream":"users","table":"users_raw","child":false,"rows":'"$USERS_LOADED" "json: the users table"
assert_not_contains "$OUT" '"messages_raw"' "json: --stream keeps to the stream"
ml -c "$T/pg.yaml" privacy-report --stream nope
assert_eq 2 "$RC" "privacy-report --stream of an unknown stream exits 2"
assert_contains "$OUT" "no stream 'nope' in the configuration" "and says so"
ml -c "$T/pg.yaml" privacy-report --format xml
assert_eq 2 "$RC" "privacy-report --format xml exits 2"
sed "s/password: \${MASKLOAD_LOADER_PASSWORD}/password: wrong-pw-75/" "$T/pg.yaml" >"$T/badpw.yaml"
ml -c "$T/badpw.yaml" privacy-report
assert_eq 1 "$RC" "privacy-report with a wrong loader password exits 1"
assert_contains "$OUT" "password authentication failed" "with the server's refusal"

# --- forget: the subject's rows, rejects and own surrogates go, and a rerun
# of the same sources stores it nowhere again
subj_rows() { q "SELECT (SELECT count(*) FROM users_raw WHERE user_id = 3) + (SELECT count(*) FROM subscriptions_raw WHERE user_id = 3) + (SELECT count(*) FROM messages_raw WHERE 3 IN (sender_id, receiver_id))"; }
before=$(subj_rows)
others=$(q "SELECT count(*) FROM users_raw WHERE user_id <> 3")
[ "$before" -gt 0 ] && ok "user 3 has $before rows before the forget" || not_ok "user 3 has no row to forget"
ml -c "$T/pg.yaml" forget --subject 3
assert_eq 2 "$RC" "must-fail: forget without --reason exits 2"
assert_eq "$before 0" "$(subj_rows) $(q "SELECT count(*) FROM pii_erasures")" "and changes nothing"
ml -c "$T/pg.yaml" forget --subject 3 --reason "erasure request #75"
assert_eq 0 "$RC" "forget on PostgreSQL: $OUT"
assert_contains "$OUT" "$before rows," "it reports the rows it deleted"
assert_eq 0 "$(subj_rows)" "no stream table holds user 3 any more"
assert_eq "$others" "$(q "SELECT count(*) FROM users_raw WHERE user_id <> 3")" "no other user deleted"
want=$(printf 'maskload.subject\0003' | openssl dgst -sha256 -hmac "$(digest_key)" -r | cut -d' ' -f1)
assert_eq "$want $before" "$(q "SELECT encode(digest, 'hex') || ' ' || rows_deleted FROM pii_erasures")" "pii_erasures: the keyed digest of the subject and the count"
assert_eq "forget|true|erasure request #75" "$(q "SELECT action || '|' || found || '|' || reason FROM pii_access_log WHERE action = 'forget'")" "the forget is logged with its reason"
fails as_a "SELECT count(*) FROM pii_erasures" "permission denied" "the analyst is denied pii_erasures"
ml -c "$T/pg.yaml" run
assert_eq 0 "$RC" "the rerun of the same sources"
assert_contains "$OUT" "stream 'users': 1 records of erased data subjects skipped" "the run's log counts the erased record"
assert_eq 0 "$(subj_rows)" "user 3 is not loaded again"
assert_eq "$others" "$(q "SELECT count(*) FROM users_raw")" "the other users are all there (the rerun did read the source)"
assert_eq 1 "$(q "SELECT erased FROM load_run_streams WHERE stream = 'users' AND run_id = (SELECT max(run_id) FROM load_runs)")" "load_run_streams.erased counts it"

# --- must-fail: rekey refuses while a subject is erased (its digest in
# pii_erasures cannot be recomputed with a new key), and changes nothing
fp=$(q "SELECT fingerprint FROM pii_key")
ml -c "$T/pg.yaml" rekey --new-key-file "$(new_key_file k2)"
assert_eq 2 "$RC" "rekey with an erased subject exits 2"
assert_contains "$OUT" "pii_erasures holds $(q 'SELECT count(*) FROM pii_erasures') erased subjects" "rekey says why"
assert_contains "$OUT" "--erased-subjects-loadable" "and names the option that accepts it"
assert_eq "$fp -" "$(q "SELECT fingerprint || ' ' || coalesce(pending_fingerprint, '-') FROM pii_key")" "the key and no pending rekey: nothing changed"

pg_drop "$DB"
finish
