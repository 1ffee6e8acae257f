#!/usr/bin/env bash
# Roles and grants: the analyst reads the allow-list and is denied the rest
# through the real mariadb client; no fixture PII is readable by the analyst.
. "$(dirname "$0")/lib.sh"
DB=it_grants
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run"

analyst() { as_analyst "$DB" "$1"; }
steward() { as_steward "$DB" "$1"; }

for t in sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids sensitive_ip_ids sensitive_device_ids load_rejects; do
  set +e; out=$(analyst "SELECT * FROM $t LIMIT 1"); rc=$?; set -e
  if [ "$rc" -ne 0 ] && [[ "$out" == *"SELECT command denied"* ]]; then ok "analyst denied on $t"; else not_ok "analyst on $t: rc=$rc $out"; fi
done
for t in users_raw subscriptions_raw messages_raw load_runs monitor_subscription_anomalies monitor_anomalous_messages \
         monitor_orphan_messages monitor_subscription_bad_period monitor_future_timestamps analysis_messages_per_day; do
  set +e; out=$(analyst "SELECT COUNT(*) FROM $t"); rc=$?; set -e
  assert_eq 0 "$rc" "analyst reads $t ($out)"
done
set +e; out=$(analyst "INSERT INTO messages_raw (message_id, created_at, load_run_id, loaded_at) VALUES (-1, NOW(), 0, NOW())"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"INSERT command denied"* ]]; then ok "analyst cannot write"; else not_ok "analyst wrote: $out"; fi

# the steward recovers values only through the audited procedure
set +e; out=$(steward "SELECT COUNT(*) FROM sensitive_city_ids"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"SELECT command denied"* ]]; then ok "steward denied a plain SELECT on sensitive_city_ids"; else not_ok "steward on sensitive_city_ids: rc=$rc $out"; fi
set +e; out=$(steward "CALL pii_reveal('city', 1, 'grants test')"); rc=$?; set -e
assert_eq "0 $(sql_admin "$DB" "SELECT value FROM sensitive_city_ids WHERE id=1")" "$rc $out" "steward reveals a city through pii_reveal"

# nothing granted to PUBLIC on this database
pub=$(sql_admin "" "SELECT COUNT(*) FROM mysql.db WHERE User='PUBLIC' AND Db='$DB'")$(sql_admin "" "SELECT COUNT(*) FROM mysql.tables_priv WHERE User='PUBLIC' AND Db='$DB'")
assert_eq "00" "$pub" "nothing granted to PUBLIC"
grants=$(analyst "SHOW GRANTS")
assert_not_contains "$grants" "sensitive_" "analyst's grants name no sensitive table"
assert_not_contains "$grants" "\`$DB\`.*" "analyst has no database-wide grant"

# no plaintext PII value of the fixture in anything the analyst can read
set +e
scan=$(PII_SCAN_PASSWORD="$MASKLOAD_ANALYST_PASSWORD" "$PII_SCAN_BIN" -P "$IT_DB_PORT" -u analyst -D "$DB" -f "$FIXTURES"); rc=$?
set -e
echo "$scan" | tail -3
assert_eq 0 "$rc" "PII scan as analyst finds nothing"
assert_contains "$scan" "0 findings" "scan reports zero findings"
# the scanner must be able to fail: as the loader it sees the sensitive maps
set +e
scan=$(PII_SCAN_PASSWORD="$MASKLOAD_LOADER_PASSWORD" "$PII_SCAN_BIN" -P "$IT_DB_PORT" -u maskload_loader -D "$DB" -f "$FIXTURES"); rc=$?
set -e
assert_eq 1 "$rc" "PII scan as the loader finds the sensitive values (scanner works)"
assert_contains "$scan" "sensitive_city_ids.value" "scanner reports where"
finish
