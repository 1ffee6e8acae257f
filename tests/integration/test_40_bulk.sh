#!/usr/bin/env bash
# The bulk path (LOAD DATA LOCAL INFILE from memory) and the multi-row INSERT
# path load the same rows byte for byte, for the shared fixture and for
# values full of separators and escape characters; reruns through the
# staging table are idempotent and apply the "metadata changes only when
# data changes" rule; with local_infile=OFF on the server, method auto falls
# back to INSERT (logged) and method bulk fails.
. "$(dirname "$0")/lib.sh"

DATA_COLS_users_raw="user_id, created_at, updated_at, city_id, country, zipcode_id, email_domain, birth_year, birth_date, gender, is_smoking, profession_id, income"
DATA_COLS_subscriptions_raw="user_id, subscription_no, created_at, start_date, end_date, status, amount"
DATA_COLS_messages_raw="message_id, created_at, sender_id, receiver_id"

# dump DB: every data column of every loaded table, hex-encoded, in key order,
# with surrogates replaced by their values (ids may differ between databases)
dump() {
  local db=$1
  sql_admin "$db" "SELECT u.user_id, HEX(CONCAT_WS(0x1f, u.created_at, u.updated_at, c.value, u.country, z.value,
      u.email_domain, u.birth_year, u.birth_date, u.gender, u.is_smoking, p.value, u.income)),
      ISNULL(u.country), ISNULL(u.gender), ISNULL(u.email_domain)
    FROM users_raw u LEFT JOIN sensitive_city_ids c ON c.id=u.city_id
      LEFT JOIN sensitive_zipcode_ids z ON z.id=u.zipcode_id
      LEFT JOIN sensitive_profession_ids p ON p.id=u.profession_id ORDER BY u.user_id"
  sql_admin "$db" "SELECT user_id, subscription_no, HEX(CONCAT_WS(0x1f, $DATA_COLS_subscriptions_raw)), ISNULL(status)
    FROM subscriptions_raw ORDER BY user_id, subscription_no"
  sql_admin "$db" "SELECT HEX(CONCAT_WS(0x1f, $DATA_COLS_messages_raw)) FROM messages_raw ORDER BY message_id"
}
rejects() { sql_admin "$1" "SELECT COUNT(*), SUM(LENGTH(reason)) FROM load_rejects"; }
checksums() {
  sql_admin "$1" "CHECKSUM TABLE users_raw, subscriptions_raw, messages_raw, sensitive_city_ids" | cut -f2 | paste -sd' '
}
restore_infile() { sql_admin "" "SET GLOBAL local_infile=1" || true; }
trap restore_infile EXIT

# ---- 1. the shared fixture through both paths ----
for m in bulk insert; do
  fresh_db "it_bulk_$m"
  write_config "$T/$m.yaml" "it_bulk_$m"
  sed -i "s/^  batch_size: 7$/  batch_size: 7\n  method: $m/" "$T/$m.yaml"
  ml -c "$T/$m.yaml" init; assert_eq 0 "$RC" "init ($m)"
  ml -c "$T/$m.yaml" run
  assert_eq 0 "$RC" "run with load.method $m"
  echo "$OUT" >"$T/$m.log"
done
assert_contains "$(cat "$T/bulk.log")" "bulk load: LOAD DATA LOCAL INFILE from memory" "bulk run says it uses LOAD DATA LOCAL"
assert_contains "$(cat "$T/bulk.log")" "rows written by bulk load: $((USERS_LOADED + SUBSCRIPTIONS_ROWS + MESSAGES_LOADED))" "bulk run wrote every row through LOAD DATA"
assert_not_contains "$(cat "$T/insert.log")" "LOAD DATA LOCAL INFILE from memory" "insert run never uses LOAD DATA"
assert_eq "$USERS_LOADED" "$(sql_admin it_bulk_bulk "SELECT COUNT(*) FROM users_raw")" "bulk: users loaded"
assert_eq "$SUBSCRIPTIONS_ROWS" "$(sql_admin it_bulk_bulk "SELECT COUNT(*) FROM subscriptions_raw")" "bulk: subscriptions loaded"
assert_eq "$MESSAGES_LOADED" "$(sql_admin it_bulk_bulk "SELECT COUNT(*) FROM messages_raw")" "bulk: messages loaded"
assert_eq "$(dump it_bulk_insert)" "$(dump it_bulk_bulk)" "bulk and insert paths load identical data"
assert_eq "$(rejects it_bulk_insert)" "$(rejects it_bulk_bulk)" "and identical rejects"

# ---- 2. rerun through the staging table: idempotent ----
first=$(checksums it_bulk_bulk)
sleep 1.1
ml -c "$T/bulk.yaml" run; assert_eq 0 "$RC" "bulk rerun"
assert_eq "$first" "$(checksums it_bulk_bulk)" "bulk rerun (staging + set-based upsert) leaves CHECKSUM TABLE identical"
sql_admin it_bulk_bulk "UPDATE users_raw SET country='Changed' WHERE user_id=1; DELETE FROM messages_raw WHERE message_id=2"
ml -c "$T/bulk.yaml" run; assert_eq 0 "$RC" "bulk run repairs"
last=$(sql_admin it_bulk_bulk "SELECT MAX(run_id) FROM load_runs")
assert_eq "Brazil" "$(sql_admin it_bulk_bulk "SELECT country FROM users_raw WHERE user_id=1")" "changed row restored"
assert_eq "1:1" "$(sql_admin it_bulk_bulk "SELECT (SELECT COUNT(*) FROM users_raw WHERE load_run_id=$last), (SELECT COUNT(*) FROM messages_raw WHERE load_run_id=$last)" | tr '\t' ':')" \
  "only the changed and the missing rows carry the new run id"
assert_eq "$(dump it_bulk_insert)" "$(dump it_bulk_bulk)" "data still identical to the insert path"

# ---- 3. hostile separators through both paths (own fixture API) ----
NASTY="$T/nasty"; mkdir -p "$NASTY"
cat >"$NASTY/users.json" <<'JSON'
[
 {"id":"1","createdAt":"2021-01-01T00:00:00.000Z","city":"Tab\tCity","country":"back\\slash","zipCode":"\\N","email":"a@b.example","profile":{"gender":"\\N","profession":"NULL"},"subscription":[{"status":"NULL","amount":"1.00"}]},
 {"id":"2","createdAt":"2021-01-01T00:00:00.000Z","city":"New\nLine","country":"NULL","zipCode":"N","profile":{"gender":"\\t","profession":"\\\\"},"subscription":[{"status":"\\","amount":"2.00"},{"status":"a\\nb"}]},
 {"id":"3","createdAt":"2021-01-01T00:00:00.000Z","city":"cr\rz\u001a","country":"tab\there","profile":{"gender":"line\nbreak"},"subscription":[]},
 {"id":"4","createdAt":"2021-01-01T00:00:00.000Z","country":"","profile":{"gender":""}}
]
JSON
cat >"$NASTY/messages.json" <<'JSON'
[{"id":"1","createdAt":"2021-01-01T00:00:00.000Z","senderId":"1"},{"id":"2","createdAt":"2021-01-01T00:00:00.000Z"}]
JSON
rm -f "$T/api.port"
setsid "$FIXTURE_API_BIN" --data "$NASTY" --port 0 --port-file "$T/api.port" >"$T/api.log" 2>&1 </dev/null &
API=$!
for _ in $(seq 1 100); do [ -s "$T/api.port" ] && break; sleep 0.1; done
NPORT=$(cat "$T/api.port")
for m in bulk insert; do
  fresh_db "it_bulk_n$m"
  write_config "$T/n$m.yaml" "it_bulk_n$m"
  sed -i "s/^  batch_size: 7$/  batch_size: 7\n  method: $m/; s#127.0.0.1:$IT_API_PORT/#127.0.0.1:$NPORT/#" "$T/n$m.yaml"
  ml -c "$T/n$m.yaml" init; assert_eq 0 "$RC" "init (hostile, $m)"
  ml -c "$T/n$m.yaml" run; assert_eq 0 "$RC" "run (hostile, $m): $OUT"
done
assert_eq "$(dump it_bulk_ninsert)" "$(dump it_bulk_nbulk)" "hostile values: bulk and insert identical byte for byte"
assert_eq "back\\\\slash|NULL|0" "$(sql_admin it_bulk_nbulk "SELECT CONCAT(country,'|',(SELECT country FROM users_raw WHERE user_id=2),'|',ISNULL((SELECT country FROM users_raw WHERE user_id=2))) FROM users_raw WHERE user_id=1")" \
  "a backslash stays one backslash; the text NULL is not SQL NULL"
assert_eq "5C4E" "$(sql_admin it_bulk_nbulk "SELECT HEX(gender) FROM users_raw WHERE user_id=1")" "the text \\N is not SQL NULL"
assert_eq "0" "$(sql_admin it_bulk_nbulk "SELECT ISNULL(country) FROM users_raw WHERE user_id=4")" "an empty string stays empty, not NULL"
first=$(checksums it_bulk_nbulk)
ml -c "$T/nbulk.yaml" run; assert_eq 0 "$RC" "hostile rerun through staging"
assert_eq "$first" "$(checksums it_bulk_nbulk)" "hostile rerun through staging changes nothing"
kill "$API" 2>/dev/null || true

# ---- 4. local_infile=OFF: auto falls back, bulk fails ----
sql_admin "" "SET GLOBAL local_infile=0"
for m in auto bulk; do
  fresh_db "it_bulk_off$m"
  write_config "$T/off$m.yaml" "it_bulk_off$m"
  sed -i "s/^  batch_size: 7$/  batch_size: 7\n  method: $m/" "$T/off$m.yaml"
  ml -c "$T/off$m.yaml" init; assert_eq 0 "$RC" "init (local_infile off, $m)"
  ml -c "$T/off$m.yaml" run; echo "$OUT" >"$T/off$m.log"
done
restore_infile
ml_rc_auto=$(sql_admin it_bulk_offauto "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")
assert_eq "succeeded" "$ml_rc_auto" "method auto with local_infile=OFF: the run succeeds"
assert_contains "$(cat "$T/offauto.log")" "bulk load unavailable (the server has local_infile=OFF)" "the fallback is logged"
assert_eq "$(dump it_bulk_insert)" "$(dump it_bulk_offauto)" "fallback data identical to the insert path"
assert_eq "failed" "$(sql_admin it_bulk_offbulk "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "method bulk with local_infile=OFF: the run fails"
assert_contains "$(cat "$T/offbulk.log")" "load.method is bulk but the server refuses LOAD DATA LOCAL INFILE" "and says why"
assert_eq 0 "$(sql_admin it_bulk_offbulk "SELECT COUNT(*) FROM users_raw")" "nothing loaded by the failed run"
finish
