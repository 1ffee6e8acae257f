#!/usr/bin/env bash
# Audited reveal: the steward reads a surrogate's value only through the
# procedure pii_reveal, every call is logged in pii_access_log with the
# calling account, the log is read-only for the steward and invisible to the
# analyst; `maskload reveal` wraps it for the steward's own (minimal) config.
. "$(dirname "$0")/lib.sh"
DB=it_reveal
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run"

analyst() { as_analyst "$DB" "$1"; }
steward() { as_steward "$DB" "$1"; }
log_rows() { sql_admin "$DB" "SELECT COUNT(*) FROM pii_access_log"; }
# denied CMD SQL WHAT: the statement fails with "CMD command denied"
denied() {
  local out rc
  set +e; out=$($1 "$2"); rc=$?; set -e
  if [ "$rc" -ne 0 ] && [[ "$out" == *"$3 command denied"* ]]; then ok "$4"; else not_ok "$4: rc=$rc $out"; fi
}

# the upgrade path: an install made by an older init gave the steward SELECT
# on the sensitive maps; init takes it back (plan shows it)
for k in city zipcode profession; do
  sql_admin "" "GRANT SELECT ON \`$DB\`.sensitive_${k}_ids TO maskload_${DB}_steward"
done
ml -c "$T/c.yaml" plan; assert_eq 0 "$RC" "plan"
assert_contains "$OUT" "REVOKE SELECT ON \`$DB\`.\`sensitive_city_ids\` FROM \`maskload_${DB}_steward\`;" "plan shows the revoke of the old grant"
assert_contains "$OUT" "CREATE OR REPLACE DEFINER=\`maskload_${DB}_loader\` PROCEDURE \`$DB\`.\`pii_reveal\`" "plan shows the procedure"
assert_contains "$OUT" "GRANT EXECUTE ON PROCEDURE \`$DB\`.\`pii_reveal\` TO \`maskload_${DB}_steward\`;" "plan shows the steward's EXECUTE"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init again (idempotent, revokes)"
n=$(sql_admin "" "SELECT COUNT(*) FROM mysql.tables_priv WHERE Db='$DB' AND Table_name LIKE 'sensitive%'")
assert_eq 0 "$n" "no table grant on a sensitive map is left"
ml -c "$T/c.yaml" plan
assert_not_contains "$OUT" "REVOKE" "a second plan has nothing to revoke"
definer=$(sql_admin "" "SELECT CONCAT(DEFINER, ' ', SECURITY_TYPE) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='$DB' AND ROUTINE_NAME='pii_reveal'")
assert_eq "maskload_${DB}_loader DEFINER" "$definer" "pii_reveal runs as the loader role (SQL SECURITY DEFINER)"

# the steward: no plain SELECT on any sensitive table
for k in city zipcode profession; do
  denied steward "SELECT value FROM sensitive_${k}_ids LIMIT 1" SELECT "steward denied a plain SELECT on sensitive_${k}_ids"
done
grants=$(sql_admin "" "SHOW GRANTS FOR maskload_${DB}_steward")
assert_not_contains "$grants" "sensitive_" "the steward role is granted no sensitive table"
assert_contains "$grants" "load_rejects" "the steward keeps load_rejects"
assert_contains "$grants" "users_raw" "the steward keeps the stream tables"

# CALL pii_reveal: the value, and exactly one log row per call
id=$(sql_admin "$DB" "SELECT city_id FROM users_raw WHERE user_id=3")
want=$(sql_admin "$DB" "SELECT value FROM sensitive_city_ids WHERE id=$id")
before=$(log_rows)
got=$(steward "CALL pii_reveal('city', $id, 'ticket 4711: court order')")
assert_eq "$want" "$got" "CALL pii_reveal returns the value (Kraków)"
assert_eq $((before + 1)) "$(log_rows)" "one log row for the call"
got=$(steward "CALL pii_reveal('city', $id, 'ticket 4712')")
assert_eq $((before + 2)) "$(log_rows)" "one more log row for the second call"
row=$(sql_admin "$DB" "SELECT who, action, kind, surrogate_id, reason, found, TIMESTAMPDIFF(SECOND, at, UTC_TIMESTAMP(6)) < 60 FROM pii_access_log ORDER BY id DESC LIMIT 1")
assert_eq "pii_steward@localhost	reveal	city	$id	ticket 4712	1	1" "$row" "the log row: who = the steward account (USER()), kind, id, reason, found, now"
got=$(steward "CALL pii_reveal('zipcode', 999999, 'no such id')")
assert_eq "NULL" "$got" "an unknown id reveals nothing"
assert_eq "0" "$(sql_admin "$DB" "SELECT found FROM pii_access_log ORDER BY id DESC LIMIT 1")" "an unknown id is logged as not found"

# refused calls: blank or missing reason, unknown kind; nothing is logged
before=$(log_rows)
for r in "''" "'   '" "NULL" "CONCAT(CHAR(9), CHAR(10))"; do
  set +e; out=$(steward "CALL pii_reveal('city', $id, $r)"); rc=$?; set -e
  if [ "$rc" -ne 0 ] && [[ "$out" == *"a reason is required"* ]] && [[ "$out" != *"$want"* ]]; then ok "reason $r refused"; else not_ok "reason $r: rc=$rc $out"; fi
done
set +e; out=$(steward "CALL pii_reveal('City', $id, 'case differs')"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"unknown kind (known: city, zipcode, profession)"* ]]; then ok "unknown kind refused"; else not_ok "unknown kind: rc=$rc $out"; fi
set +e; out=$(steward "CALL pii_reveal('city; DROP TABLE users_raw', 1, 'x')"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"unknown kind"* ]]; then ok "a kind is never SQL"; else not_ok "hostile kind: rc=$rc $out"; fi
assert_eq "$before" "$(log_rows)" "refused calls are not logged (nothing was revealed)"
assert_eq 12 "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw")" "users_raw intact"

# the steward reads the log but cannot change it
n=$(steward "SELECT COUNT(*) FROM pii_access_log")
assert_eq "$(log_rows)" "$n" "the steward reads pii_access_log"
denied steward "INSERT INTO pii_access_log (at, who, action, reason, found) VALUES (NOW(), 'x', 'reveal', 'forged', 1)" INSERT "steward cannot INSERT into pii_access_log"
denied steward "UPDATE pii_access_log SET reason='rewritten'" UPDATE "steward cannot UPDATE pii_access_log"
denied steward "DELETE FROM pii_access_log" DELETE "steward cannot DELETE from pii_access_log"
denied steward "DROP PROCEDURE pii_reveal" "alter routine" "steward cannot drop the procedure"

# the analyst: neither the procedure nor the log
set +e; out=$(analyst "CALL pii_reveal('city', $id, 'curious')"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"execute command denied"* ]]; then ok "analyst cannot CALL pii_reveal"; else not_ok "analyst CALL: rc=$rc $out"; fi
denied analyst "SELECT * FROM pii_access_log" SELECT "analyst cannot read pii_access_log"
denied analyst "SELECT * FROM pii_erasures" SELECT "analyst cannot read pii_erasures"
assert_eq "$before" "$(log_rows)" "the analyst's attempt left no log row"

# maskload reveal with the steward's own minimal config (warehouse only)
cat >"$T/steward.yaml" <<YAML
warehouse:
  host: 127.0.0.1
  port: $IT_DB_PORT
  database: $DB
  user: pii_steward
  password: \${MASKLOAD_STEWARD_PASSWORD}
YAML
before=$(log_rows)
ml -c "$T/steward.yaml" reveal --kind city --id "$id" --reason "ticket 4713"
assert_eq "0 $want" "$RC $OUT" "maskload reveal prints the value"
assert_eq $((before + 1)) "$(log_rows)" "maskload reveal is logged"
assert_eq "pii_steward@localhost ticket 4713" "$(sql_admin "$DB" "SELECT CONCAT(who, ' ', reason) FROM pii_access_log ORDER BY id DESC LIMIT 1")" "logged as the steward"
ml -c "$T/steward.yaml" reveal --kind city --id 999999 --reason "ticket 4714"
assert_eq 1 "$RC" "reveal of an unknown id exits 1"
assert_contains "$OUT" "no city with id 999999" "and says so"
before=$(log_rows)
ml -c "$T/steward.yaml" reveal --kind city --id "$id" --reason "  "
assert_eq 2 "$RC" "blank reason exits 2"
assert_contains "$OUT" "a reason is required" "and says why"
ml -c "$T/steward.yaml" reveal --kind city --id "$id"
assert_eq 2 "$RC" "missing --reason exits 2"
ml -c "$T/steward.yaml" reveal --kind city --id 12x --reason r
assert_eq 2 "$RC" "a bad --id exits 2"
ml -c "$T/steward.yaml" reveal --kind nope --id "$id" --reason "ticket 4715"
assert_eq 2 "$RC" "unknown kind exits 2"
assert_contains "$OUT" "unknown kind" "and says so"
assert_eq "$before" "$(log_rows)" "refused reveals are not logged"
# the analyst's config cannot reveal
sed "s/user: pii_steward/user: analyst/; s/MASKLOAD_STEWARD_PASSWORD/MASKLOAD_ANALYST_PASSWORD/" "$T/steward.yaml" >"$T/analyst.yaml"
ml -c "$T/analyst.yaml" reveal --kind city --id "$id" --reason "curious"
assert_eq 1 "$RC" "the analyst's reveal fails"
assert_contains "$OUT" "execute command denied" "with the server's denial"
assert_not_contains "$OUT" "$want" "and shows no value"
finish
