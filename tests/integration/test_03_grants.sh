#!/usr/bin/env bash
# Roles and grants: the analyst reads the allow-list and is denied the rest
# through the real client (mariadb or psql); no fixture PII is readable by the
# analyst. Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_grants
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run"

analyst() { as_analyst "$DB" "$1"; }
steward() { as_steward "$DB" "$1"; }

# every sensitive map of the warehouse (with MySQL init creates those of every
# kind; with PostgreSQL those of the kinds the streams use)
sensitive=$(wh_tables "$DB" | grep '^sensitive_' | paste -sd' ' -)
assert_contains " $sensitive " " sensitive_city_ids sensitive_profession_ids sensitive_zipcode_ids " "the users' sensitive maps exist ($sensitive)"
for t in $sensitive load_rejects; do
  set +e; out=$(analyst "SELECT * FROM $t LIMIT 1"); rc=$?; set -e
  if [ "$rc" -ne 0 ] && [[ "$out" == *"$(wh_denied select)"* ]]; then ok "analyst denied on $t"; else not_ok "analyst on $t: rc=$rc $out"; fi
done
for t in users_raw subscriptions_raw messages_raw load_runs load_run_streams monitor_subscription_anomalies monitor_anomalous_messages \
         monitor_orphan_messages monitor_subscription_bad_period monitor_future_timestamps analysis_messages_per_day; do
  set +e; out=$(analyst "SELECT COUNT(*) FROM $t"); rc=$?; set -e
  assert_eq 0 "$rc" "analyst reads $t ($out)"
done
set +e; out=$(analyst "INSERT INTO messages_raw (message_id, created_at, load_run_id, loaded_at) VALUES (-1, NOW(), 0, NOW())"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"$(wh_denied insert)"* ]]; then ok "analyst cannot write"; else not_ok "analyst wrote: $out"; fi

# the steward reads the rejects, never the sensitive maps directly
set +e; out=$(steward "SELECT COUNT(*) FROM sensitive_city_ids"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"$(wh_denied select)"* ]]; then ok "steward denied a plain SELECT on sensitive_city_ids"; else not_ok "steward on sensitive_city_ids: rc=$rc $out"; fi
set +e; out=$(steward "SELECT COUNT(*) FROM load_rejects"); rc=$?; set -e
assert_eq "0 $((USERS_REJECTED + MESSAGES_REJECTED))" "$rc $out" "steward reads load_rejects"
# ... and recovers values only through the audited procedure
set +e; out=$(steward "$(wh_pick CALL SELECT) pii_reveal('city', 1, 'grants test')"); rc=$?; set -e
assert_eq "0 $(sql_admin "$DB" "SELECT value FROM sensitive_city_ids WHERE id=1")" "$rc $out" "steward reveals a city through pii_reveal"


# nothing granted to PUBLIC on this database
assert_eq "00" "$(wh_public_grants "$DB" | paste -sd '' -)" "nothing granted to PUBLIC"
if [ "$IT_WAREHOUSE" = postgres ]; then
  grants=$(analyst "SELECT table_name FROM information_schema.role_table_grants WHERE grantee IN (SELECT b.rolname FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.member JOIN pg_roles b ON b.oid = m.roleid WHERE a.rolname = current_user) OR grantee = current_user")
  assert_contains "$grants" "users_raw" "the analyst's role holds its grants on the stream tables"
  assert_eq "0" "$(analyst "SELECT CASE WHEN has_schema_privilege('maskload', 'CREATE') THEN 1 ELSE 0 END")" "analyst cannot create in the schema"
else
  grants=$(analyst "SHOW GRANTS")
  assert_not_contains "$grants" "\`$DB\`.*" "analyst has no database-wide grant"
fi
assert_not_contains "$grants" "sensitive_" "analyst's grants name no sensitive table"

# no plaintext PII value of the fixture in anything the analyst can read
set +e
scan=$(wh_pii_scan "$(account analyst "$DB")" "$MASKLOAD_ANALYST_PASSWORD" "$DB"); rc=$?
set -e
echo "$scan" | tail -3
assert_eq 0 "$rc" "PII scan as analyst finds nothing"
assert_contains "$scan" "0 findings" "scan reports zero findings"
# the scanner must be able to fail: as the loader it sees the sensitive maps
set +e
scan=$(wh_pii_scan "$(account loader "$DB")" "$MASKLOAD_LOADER_PASSWORD" "$DB"); rc=$?
set -e
assert_eq 1 "$rc" "PII scan as the loader finds the sensitive values (scanner works)"
assert_contains "$scan" "sensitive_city_ids.value" "scanner reports where"
finish
