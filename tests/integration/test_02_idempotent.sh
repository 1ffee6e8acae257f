#!/usr/bin/env bash
# A second run over the same data changes nothing; init twice is harmless.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_idem
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
TABLES="users_raw subscriptions_raw messages_raw sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids"
snapshot() {
  # shellcheck disable=SC2086
  wh_checksum "$DB" $TABLES
  for t in users_raw subscriptions_raw messages_raw sensitive_city_ids; do
    sql_admin "$DB" "SELECT COUNT(*) FROM $t"
  done
}

ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "first run"
first=$(snapshot)
sleep 1.1   # a changed loaded_at would show in the checksum
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "second run"
second=$(snapshot)
assert_eq "$first" "$second" "second run leaves tables identical (checksums of every row and column, and counts)"
assert_eq 2 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_runs WHERE status='succeeded'")" "both runs recorded"
assert_eq 0 "$(sql_admin "$DB" "SELECT surrogates_created FROM load_run_streams WHERE stream='users' ORDER BY run_id DESC LIMIT 1")" \
  "second run creates no surrogates"

# must-fail companion: a changed row does change the checksum and its metadata
sql_admin "$DB" "UPDATE users_raw SET country='Changed' WHERE user_id=1"
changed=$(snapshot)
if [ "$changed" != "$first" ]; then ok "checksum sees a changed row"; else not_ok "checksum blind to a change"; fi
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "third run repairs the row"
assert_eq "Brazil" "$(sql_admin "$DB" "SELECT country FROM users_raw WHERE user_id=1")" "row 1 restored from the source" 
last_run=$(sql_admin "$DB" "SELECT MAX(run_id) FROM load_runs")
assert_eq "$last_run" "$(sql_admin "$DB" "SELECT load_run_id FROM users_raw WHERE user_id=1")" "repaired row carries the repairing run's id"
assert_eq 1 "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw WHERE load_run_id=$last_run")" "only the repaired row changed metadata"

# init twice: harmless, data kept
before=$(snapshot)
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init again"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "and again"
assert_eq "$before" "$(snapshot)" "init keeps the data"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run after re-init"
assert_eq "$before" "$(snapshot)" "run after re-init changes nothing"
finish
