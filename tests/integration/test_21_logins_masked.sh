#!/usr/bin/env bash
# The shipped mapping user_logins_masked into either warehouse, from a real
# SQS emulator: the seeds' user_logins table (user_id varchar(128), device_type
# varchar(32), masked_ip varchar(256), masked_device_id varchar(256), locale
# varchar(32), app_version integer, create_date date) behind the message_id
# key and before load_run_id/loaded_at; masked_ip and masked_device_id the
# keyed HMAC hex of the values (as openssl computes it with the digest key),
# app_version the major number, create_date the UTC day of SentTimestamp; no
# sensitive_* table; the analyst reads the table, never a raw ip or device id
# (pii_scan, whose control finds a planted one),
# and is denied load_processed_ids; a loader killed between its commit and
# its delete loads nothing twice. Must-fails: an hmac column narrower than 64
# characters or not text, epoch_ms_date generalised, the run without
# exactly_once loading a redelivered reject twice. The types as each
# catalog spells them (MySQL int(11), PostgreSQL character varying(128)).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sqs-lib.sh"
DB=it_logins_masked
fresh_db "$DB"
key=$(digest_key)
hmac() { printf 'hmac\0%s' "$1" | openssl dgst -sha256 -mac HMAC -macopt "key:$key" -r | cut -d' ' -f1; }

# masked_config FILE QUEUE_URL [MAPPING]
masked_config() {
  write_sqs_config "$1" "$DB" "$2"
  sed -i "s|  user_logins: { source: logins }|  user_logins: { source: logins, mapping: ${3:-user_logins_masked} }|" "$1"
}
# expected_masked SEED_DIR -> the rows user_logins must hold, as logins_masked_rows prints them
expected_masked() {
  local id user dt ip dev loc ver major
  while IFS=$'\t' read -r id user dt ip dev loc ver major; do
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$user" "$dt" "$(hmac "$ip")" "$(hmac "$dev")" "$loc" "$major"
  done <"$1/expected.tsv" | LC_ALL=C sort
}
rows_masked() {
  sql_admin "$DB" "SELECT message_id, user_id, device_type, masked_ip, masked_device_id, locale, app_version
    FROM user_logins" | LC_ALL=C sort
}

Q=$(sqs_tool create-queue "$SQS_EP" logins-masked)
sqs_tool seed "$SQS_EP" "$Q" 30 "$T/seed" >/dev/null
# shellcheck disable=SC1091
. "$T/seed/seed.env"
masked_config "$T/c.yaml" "$Q"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
ml -c "$T/c.yaml" run --stream user_logins; assert_eq 0 "$RC" "run ($OUT)"

# the seeds' columns, names, order and types, between maskload's own
cols=$(wh_cols "$DB" user_logins | sed 's/ \(YES\|NO\)$//' | paste -sd, | sed 's/,/, /g')
assert_eq "$(wh_pick "message_id varchar(128), user_id varchar(128), device_type varchar(32), masked_ip varchar(256), masked_device_id varchar(256), locale varchar(32), app_version int(11), create_date date, load_run_id bigint(20) unsigned, loaded_at datetime(3)" \
  "message_id character varying(128), user_id character varying(128), device_type character varying(32), masked_ip character varying(256), masked_device_id character varying(256), locale character varying(32), app_version integer, create_date date, load_run_id bigint, loaded_at timestamp(3) without time zone")" \
  "$cols" "user_logins: the key, the seeds' seven columns, maskload's two"
# the seven as the seeds write them (information_schema's data_type, with udt_name on PostgreSQL)
seven=$(sql_admin "$(wh_catalog "$DB")" "SELECT $(wh_agg "CONCAT(column_name, ' ', $(wh_pick data_type "CASE udt_name WHEN 'int4' THEN 'int' ELSE udt_name::text END"), $(wh_pick "IFNULL(CONCAT('(', character_maximum_length, ')'), '')" "COALESCE('(' || character_maximum_length || ')', '')"))" ordinal_position ', ')
  FROM information_schema.columns WHERE table_schema='$(wh_schema "$DB")' AND table_name='user_logins'
  AND column_name NOT IN ('message_id', 'load_run_id', 'loaded_at')")
assert_eq "user_id varchar(128), device_type varchar(32), masked_ip varchar(256), masked_device_id varchar(256), locale varchar(32), app_version int, create_date date" \
  "$seven" "exactly the seeds' column list and types"
assert_eq 0 "$(sql_admin "$(wh_catalog "$DB")" "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='$(wh_schema "$DB")' AND table_name IN ('sensitive_ip_ids', 'sensitive_device_ids')")" \
  "hmac columns need no sensitive_ip_ids or sensitive_device_ids table"

# the rows: keyed HMAC hex, the major version
expected_masked "$T/seed" >"$T/expected.tsv"
rows_masked >"$T/actual.tsv"
if [ -s "$T/expected.tsv" ] && cmp -s "$T/expected.tsv" "$T/actual.tsv"; then
  ok "user_logins holds the $SEED_VALID rows with the HMAC hex openssl computes with the digest key"
else
  not_ok "rows differ: $(diff "$T/expected.tsv" "$T/actual.tsv" | head -4)"
fi
assert_eq "$SEED_DISTINCT_IPS $SEED_DISTINCT_DEVICES" \
  "$(sql_admin "$DB" "SELECT CONCAT(COUNT(DISTINCT masked_ip), ' ', COUNT(DISTINCT masked_device_id)) FROM user_logins")" \
  "equal values share one HMAC (duplicates stay identifiable)"
assert_eq "0 2 3 4" "$(sql_admin "$DB" "SELECT DISTINCT app_version FROM user_logins ORDER BY 1" | paste -sd' ')" \
  "app_version is the major number (2.3.0, 0.96, 4.10.2, 3)"
day0=$(date -u -d "@$((SEED_STARTED_MS / 1000 - 1))" +%F) day1=$(date -u -d "@$((SEED_FINISHED_MS / 1000 + 1))" +%F)
assert_eq "$SEED_VALID" "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins WHERE create_date BETWEEN '$day0' AND '$day1'")" \
  "create_date is the UTC day of SentTimestamp"
assert_eq "$SEED_MALFORMED" "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects WHERE stream='user_logins'")" "malformed messages rejected"
assert_eq "0 0" "$(sqs_count "$Q")" "queue empty"
assert_eq "$SEED_SENT" "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_processed_ids WHERE stream='user_logins_masked'")" \
  "every message id recorded as processed"

# the analyst
dump=$(as_analyst "$DB" "SELECT * FROM user_logins")
assert_contains "$dump" "$(hmac 199.172.111.0)" "the analyst reads the HMAC of an ip"
assert_not_contains "$dump" "199.172." "no raw ip in what the analyst reads"
assert_not_contains "$dump" "-47-5928" "no raw device id in what the analyst reads"
# the PII scan (pii_scan) over everything the analyst can read, against
# every raw ip and device id of the messages
mkdir -p "$T/scan"
echo '[]' >"$T/scan/users.json"
cut -f4,5 "$T/seed/expected.tsv" | tr '\t' '\n' | LC_ALL=C sort -u | jq -R '{message: .}' | jq -s . >"$T/scan/messages.json"
set +e
scan=$(wh_pii_scan "$(account analyst "$DB")" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$T/scan"); rc=$?
set -e
assert_eq 0 "$rc" "pii_scan as the analyst finds no raw ip or device id ($(echo "$scan" | tail -1))"
# must-fail control: a raw ip planted where the analyst reads is found
planted=$(head -n1 "$T/seed/expected.tsv" | cut -f4)
sql_admin "$DB" "UPDATE user_logins SET device_type='$planted' WHERE message_id='$(head -n1 "$T/seed/expected.tsv" | cut -f1)'"
set +e
scan=$(wh_pii_scan "$(account analyst "$DB")" "$MASKLOAD_ANALYST_PASSWORD" "$DB" "$T/scan"); rc=$?
set -e
assert_eq 1 "$rc" "must-fail control: pii_scan finds a raw ip planted in user_logins"
assert_contains "$scan" "user_logins.device_type" "and says where"
sql_admin "$DB" "UPDATE user_logins SET device_type='$(head -n1 "$T/seed/expected.tsv" | cut -f3)' WHERE message_id='$(head -n1 "$T/seed/expected.tsv" | cut -f1)'"
out=$(as_analyst "$DB" "SELECT COUNT(*) FROM load_processed_ids" || true)
assert_contains "$out" "$(wh_denied select)" "the analyst is denied load_processed_ids"
assert_contains "$(as_loader "$DB" "SELECT COUNT(*) FROM load_processed_ids")" "$SEED_SENT" \
  "(the loader reads it: the denial is the grants')"

# killed after the commit, before the delete: nothing twice
Q2=$(sqs_tool create-queue "$SQS_EP" logins-masked-crash)
sqs_tool seed "$SQS_EP" "$Q2" 20 "$T/seed2" >/dev/null
SQS_VISIBILITY=1 masked_config "$T/crash.yaml" "$Q2"
set +e
OUT=$(MASKLOAD_TEST_CRASH_AFTER_COMMIT=1 "$MASKLOAD_BIN" -c "$T/crash.yaml" run --stream user_logins 2>&1); RC=$?
set -e
assert_eq 137 "$RC" "killed after its first commit, before deleting"
assert_eq 20 "$(sqs_count "$Q2" | awk '{print $1+$2}')" "no message was deleted"
wait_in_flight_zero "$Q2"
ml -c "$T/crash.yaml" run --stream user_logins; assert_eq 0 "$RC" "the next run completes"
assert_contains "$OUT" "10 records already processed by an earlier transaction" "the redelivered page is recognised"
{ expected_masked "$T/seed"; expected_masked "$T/seed2"; } | LC_ALL=C sort >"$T/expected2.tsv"
rows_masked >"$T/actual2.tsv"
if cmp -s "$T/expected2.tsv" "$T/actual2.tsv"; then ok "every row once after the crash"; else not_ok "rows differ after the crash: $(diff "$T/expected2.tsv" "$T/actual2.tsv" | head -4)"; fi
assert_eq 5 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects WHERE stream='user_logins'")" "no reject twice (3 + 2)"

# must-fail: the same stream without exactly_once loads a redelivered reject twice
sed -e 's/^exactly_once: true/exactly_once: false/' -e 's/^table: user_logins/table: user_logins_nx/' \
  "$SOURCE_DIR/mappings/user_logins_masked.yaml" >"$T/nx.yaml"
Q3=$(sqs_tool create-queue "$SQS_EP" logins-masked-nx)
sqs_tool seed "$SQS_EP" "$Q3" 10 "$T/seed3" >/dev/null
SQS_VISIBILITY=1 masked_config "$T/nx.yaml.cfg" "$Q3" "$T/nx.yaml"
ml -c "$T/nx.yaml.cfg" init; assert_eq 0 "$RC" "init of the stream without exactly_once ($OUT)"
set +e
OUT=$(MASKLOAD_TEST_CRASH_AFTER_COMMIT=1 "$MASKLOAD_BIN" -c "$T/nx.yaml.cfg" run --stream user_logins 2>&1); RC=$?
set -e
assert_eq 137 "$RC" "without exactly_once: killed after the commit"
wait_in_flight_zero "$Q3"
ml -c "$T/nx.yaml.cfg" run --stream user_logins; assert_eq 0 "$RC" "the next run"
assert_eq 2 "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects WHERE record_key=(SELECT MIN(record_key) FROM load_rejects WHERE run_id=(SELECT MAX(run_id) FROM load_runs))")" \
  "without exactly_once the redelivered reject is recorded twice (the guard matters)"

# must-fail: the mapping layer's new guards (config errors, exit 2, file:line:column)
bad() { # bad NAME SED_EXPR EXPECTED
  sed -e "$2" "$SOURCE_DIR/mappings/user_logins_masked.yaml" >"$T/$1.yaml"
  masked_config "$T/$1.cfg" "$Q" "$T/$1.yaml"
  ml -c "$T/$1.cfg" run --stream user_logins
  assert_eq 2 "$RC" "$1: a config error"
  assert_contains "$OUT" "$3" "$1: says where and why"
}
bad narrow_hmac 's/pii: hmac,          type: varchar(256)/pii: hmac, type: varchar(32)/' \
  "$T/narrow_hmac.yaml:28:"
assert_contains "$OUT" "with pii: hmac must be a varchar(n) with n >= 64" "narrow_hmac: names the rule"
bad int_hmac '0,/pii: hmac,          type: varchar(256)/s//pii: hmac, type: int/' "with pii: hmac must be a varchar(n)"
bad truncated_day 's/from: SentTimestamp,    type: epoch_ms_date,/from: SentTimestamp, type: epoch_ms_date, pii: { truncate: month },/' \
  "epoch_ms_date is stored as sent (pii: keep) only"
finish
