#!/usr/bin/env bash
# Tables derived from the stream definitions (ddlgen) are the tables the
# hand-written DDL used to create, and load the same data:
#  1. tests/fixtures/ddl_before/0*.sql (ddl/ of the last commit with
#     hand-written stream DDL, copied verbatim) applied to one database and
#     `maskload init` (users, messages, user_logins) on another give the same
#     SHOW CREATE TABLE for every stream table and every sensitive_*_ids table,
#     with exactly two normalisations, both applied to the old side only:
#       (a) the derived load_run_id / loaded_at carry a COMMENT where the old
#           table had none: that COMMENT is removed from the derived text when
#           (and only when) the old column has no COMMENT;
#       (b) a sensitive table's COMMENT is 'PII: <kind>' (old: 'PII: zip
#           code', 'PII: ip address', ...): the old table COMMENT is rewritten
#           to 'PII: <kind>', <kind> taken from the table name.
#     Nothing else is normalised.
#  2. The fixture API loaded by the new binary gives, per table, the digests
#     over the data columns that the recorded binary gave
#     (tests/fixtures/ddl_before/data_digests.txt; README.md there says how
#     they were made).
#  3. Grants: the analyst reads every derived stream table and none of the
#     sensitive ones; nor does the steward (it reveals through pii_reveal); exactly
#     the tables of the configured streams are granted.
#  4. A config without the users and messages streams creates neither their
#     tables nor their sensitive tables, and init skips (and names) the views
#     that read them instead of failing.
#
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh): steps
# 1 and 2 compare with what MySQL had before (wh_has ddl_before: MySQL only),
# steps 3 and 4 hold for both.
#
# With DDL41_WRITE_DIGESTS=FILE only step 2's load runs, with $MASKLOAD_BIN,
# and its digests are written to FILE (how data_digests.txt was made).
. "$(dirname "$0")/lib.sh"
BEFORE="$SOURCE_DIR/tests/fixtures/ddl_before"

# data_digest DB TABLE -> "TABLE ROWS SHA256": SHA-256 over the data columns
# of every row in primary-key order, NULL kept apart from 'NULL' by QUOTE()
# and binary values by HEX(). Excluded: load_run_id and loaded_at (per run)
# and a sensitive table's first_seen_at (a time).
data_digest() {
  local db=$1 t=$2 cols key
  cols=$(sql_admin "" "SELECT GROUP_CONCAT(IF(DATA_TYPE='binary', CONCAT('HEX(\`', COLUMN_NAME, '\`)'),
      CONCAT('QUOTE(\`', COLUMN_NAME, '\`)')) ORDER BY ORDINAL_POSITION SEPARATOR ',')
    FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$db' AND TABLE_NAME='$t'
    AND COLUMN_NAME NOT IN ('load_run_id','loaded_at','first_seen_at')")
  key=$(sql_admin "" "SELECT GROUP_CONCAT(CONCAT('\`', COLUMN_NAME, '\`') ORDER BY ORDINAL_POSITION SEPARATOR ',')
    FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA='$db' AND TABLE_NAME='$t'
    AND CONSTRAINT_NAME='PRIMARY'")
  sql_admin "$db" "SET SESSION group_concat_max_len = 1073741824;
    SELECT CONCAT_WS(' ', '$t', COUNT(*), IFNULL(SHA2(GROUP_CONCAT(CONCAT_WS('|', $cols) ORDER BY $key SEPARATOR '\n'), 256), '-'))
    FROM \`$t\`"
}
DATA_TABLES="users_raw subscriptions_raw messages_raw sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids"

# load_fixture DB: init + run of the fixture API (users, messages), with a
# fixed digest key (in a key file of its own): surrogate digests depend on
# the key, which env.sh draws at random
DATA_DIGEST_KEY=test41-fixed-digest-key-not-secret
load_fixture() {
  local kf
  fresh_db "$1"
  kf=$(new_key_file data "$DATA_DIGEST_KEY")
  write_config "$T/data.yaml" "$1"
  sed -i "s|^  digest_key_file: .*|  digest_key_file: $kf|" "$T/data.yaml"
  grep -q "digest_key_file: $kf\$" "$T/data.yaml" || { not_ok "fixed digest key not set"; finish; exit 1; }
  ml -c "$T/data.yaml" init; assert_eq 0 "$RC" "init of the data database ($OUT)"
  ml -c "$T/data.yaml" run; assert_eq 0 "$RC" "run of the fixture API ($OUT)"
}

if [ -n "${DDL41_WRITE_DIGESTS:-}" ]; then
  load_fixture it_ddl_data
  {
    echo "# table rows sha256(data columns in key order); see README.md"
    for t in $DATA_TABLES; do data_digest it_ddl_data "$t"; done
  } >"$DDL41_WRITE_DIGESTS"
  cat "$DDL41_WRITE_DIGESTS"
  finish
  exit
fi

# ---- 1. DDL: hand-written (before) vs derived ----
OLD=it_ddl_before
NEW=it_ddl_derived
fresh_db "$NEW"
# users, messages and user_logins (an sqs source: init never contacts the queue)
write_config "$T/c.yaml" "$NEW" "  user_logins: { source: logins }"
src=$(printf '  logins:\n    kind: sqs\n    queue_url: http://127.0.0.1:9/000000000000/logins\n    region: us-east-1')
awk -v src="$src" '{ print } /^sources:$/ { print src }' "$T/c.yaml" >"$T/c.tmp" && mv "$T/c.tmp" "$T/c.yaml"
tables_of() {
  wh_tables "$1" | grep -E '^(users_raw|subscriptions_raw|messages_raw|user_logins|sensitive_.+_ids)$' | LC_ALL=C sort
}
if wh_has ddl_before "steps 1 and 2: the derived DDL and data against MySQL's hand-written DDL"; then
fresh_db "$OLD"
sql_admin "" "CREATE DATABASE \`$OLD\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
for f in "$BEFORE"/0*.sql; do
  MYSQL_PWD="$MASKLOAD_ADMIN_PASSWORD" mariadb --no-defaults --default-character-set=utf8mb4 -h 127.0.0.1 \
    -P "$IT_DB_PORT" -u root -D "$OLD" <"$f"
done
ok "old DDL applied ($(ls "$BEFORE"/0*.sql | wc -l) files)"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init derives the tables ($OUT)"

old_tables=$(tables_of "$OLD")
assert_eq "messages_raw sensitive_city_ids sensitive_device_ids sensitive_ip_ids sensitive_profession_ids sensitive_zipcode_ids subscriptions_raw user_logins users_raw" \
  "$(echo $old_tables)" "the old DDL has the expected tables"
assert_eq "$(echo $old_tables)" "$(echo $(tables_of "$NEW"))" "init created the same set of tables"

# show_create DB TABLE -> SHOW CREATE TABLE text (newlines kept)
show_create() { sql_admin "$1" "SHOW CREATE TABLE \`$2\`" | cut -f2- | sed 's/\\n/\n/g'; }
META_RUN=" COMMENT 'run that last changed this row (load_runs.run_id)'"
META_AT=" COMMENT 'UTC time this row last changed'"
for t in $old_tables; do
  show_create "$OLD" "$t" >"$T/$t.old"
  show_create "$NEW" "$t" >"$T/$t.new"
  cp "$T/$t.new" "$T/$t.new.norm"
  # (a) metadata COMMENTs: dropped from the derived text only where the old column has none
  for col in load_run_id loaded_at; do
    if ! grep -q "^  \`$col\` .* COMMENT " "$T/$t.old"; then
      if [ "$col" = load_run_id ]; then m=$META_RUN; else m=$META_AT; fi
      perl -pi -e 'BEGIN { ($c, $m) = splice(@ARGV, 0, 2) } s/\Q$m\E// if /^  `\Q$c\E` /' \
        "$col" "$m" "$T/$t.new.norm"
    fi
  done
  # (b) the sensitive tables' COMMENT names the kind
  case "$t" in
    sensitive_*_ids)
      kind=${t#sensitive_}; kind=${kind%_ids}
      assert_contains "$(tail -1 "$T/$t.new")" " COMMENT='PII: $kind'" "$t: COMMENT 'PII: $kind'"
      sed -i "\$s/ COMMENT='PII: [^']*'\$/ COMMENT='PII: $kind'/" "$T/$t.old"
      ;;
  esac
  if cmp -s "$T/$t.old" "$T/$t.new.norm"; then
    ok "$t: derived SHOW CREATE TABLE identical to the hand-written one"
  else
    not_ok "$t: SHOW CREATE TABLE differs: $(diff "$T/$t.old" "$T/$t.new.norm")"
  fi
done
# the normalisation (a) was needed only where the old DDL had no COMMENT
for t in users_raw user_logins; do
  if cmp -s "$T/$t.new" "$T/$t.new.norm"; then ok "$t: metadata COMMENTs as before, nothing normalised"
  else not_ok "$t: metadata COMMENTs were normalised although the old table had them"; fi
done

# the tables no stream describes still come from ddl/
for t in load_runs load_run_streams load_rejects load_processed_ids; do
  assert_eq 1 "$(sql_admin "" "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='$NEW' AND TABLE_NAME='$t'")" \
    "$t created from ddl/"
done
if cmp -s <(show_create "$OLD" load_processed_ids) <(show_create "$NEW" load_processed_ids); then
  ok "load_processed_ids unchanged by its move to ddl/070_load_processed_ids.sql"
else
  not_ok "load_processed_ids differs: $(diff <(show_create "$OLD" load_processed_ids) <(show_create "$NEW" load_processed_ids))"
fi

# init is idempotent over derived tables
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "a second init succeeds"
same=0
for t in $old_tables; do cmp -s <(show_create "$NEW" "$t") "$T/$t.new" || same=1; done
assert_eq 0 "$same" "a second init changes no derived table"

# ---- 2. data: the fixture loaded by the new binary, digests of the old one ----
load_fixture it_ddl_data
grep -v '^#' "$BEFORE/data_digests.txt" >"$T/digests.expected"
for t in $DATA_TABLES; do data_digest it_ddl_data "$t"; done >"$T/digests.actual"
if cmp -s "$T/digests.expected" "$T/digests.actual"; then
  ok "data digests of $(wc -l <"$T/digests.actual") tables identical to the pre-change loader's"
else
  not_ok "data digests differ: $(diff "$T/digests.expected" "$T/digests.actual")"
fi
else
  ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init derives the tables ($OUT)"
  assert_eq "messages_raw sensitive_city_ids sensitive_device_ids sensitive_ip_ids sensitive_profession_ids sensitive_zipcode_ids subscriptions_raw user_logins users_raw" \
    "$(echo $(tables_of "$NEW"))" "init created the stream tables and the sensitive tables of their kinds"
  for t in load_runs load_run_streams load_rejects load_processed_ids; do
    assert_eq "$t" "$(wh_tables "$NEW" | grep -x "$t" || true)" "$t created from ddl/postgres/"
  done
  before=$(PGPASSWORD="$MASKLOAD_ADMIN_PASSWORD" pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres -s "$NEW" | grep -v '^\\\(un\)\?restrict ')
  ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "a second init succeeds"
  assert_eq "$before" "$(PGPASSWORD="$MASKLOAD_ADMIN_PASSWORD" pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres -s "$NEW" | grep -v '^\\\(un\)\?restrict ')" \
    "a second init changes no derived table (pg_dump --schema-only)"
fi

# ---- 3. grants ----
analyst() { as_analyst "$NEW" "$1"; }
steward() { as_steward "$NEW" "$1"; }
for t in users_raw subscriptions_raw messages_raw user_logins; do
  set +e; out=$(analyst "SELECT COUNT(*) FROM $t"); rc=$?; set -e
  assert_eq "0 0" "$rc $out" "analyst reads derived $t"
  set +e; out=$(steward "SELECT COUNT(*) FROM $t"); rc=$?; set -e
  assert_eq "0 0" "$rc $out" "steward reads derived $t"
done
for t in sensitive_city_ids sensitive_zipcode_ids sensitive_profession_ids sensitive_ip_ids sensitive_device_ids load_rejects; do
  set +e; out=$(analyst "SELECT * FROM $t LIMIT 1"); rc=$?; set -e
  if [ "$rc" -ne 0 ] && [[ "$out" == *"$(wh_denied select)"* ]]; then ok "analyst denied on $t"; else not_ok "analyst on $t: rc=$rc $out"; fi
  set +e; out=$(steward "SELECT COUNT(*) FROM $t"); rc=$?; set -e
  if [ "$t" = load_rejects ]; then
    assert_eq "0 0" "$rc $out" "steward reads $t"
  elif [ "$rc" -ne 0 ] && [[ "$out" == *"$(wh_denied select)"* ]]; then ok "steward denied a plain SELECT on $t"
  else not_ok "steward on $t: rc=$rc $out"; fi
done
set +e; out=$(analyst "INSERT INTO user_logins (message_id, created_at, user_id, load_run_id, loaded_at) VALUES ('x', NOW(), 'u', 0, NOW())"); rc=$?; set -e
if [ "$rc" -ne 0 ] && [[ "$out" == *"$(wh_denied insert)"* ]]; then ok "analyst cannot write a derived table"; else not_ok "analyst wrote: $out"; fi
# exactly these table grants (views aside) in this database
granted() { wh_granted "$1" "$NEW"; }
assert_eq "load_run_streams load_runs messages_raw subscriptions_raw user_logins users_raw" \
  "$(granted "maskload_${NEW}_analyst")" "the analyst's table grants: the stream tables and the run audit"
assert_eq "load_rejects messages_raw pii_access_log pii_erasures subscriptions_raw user_logins users_raw" \
  "$(granted "maskload_${NEW}_steward")" "the steward's table grants: stream tables, rejects, the PII audit (no sensitive table)"
assert_eq "00" "$(wh_public_grants "$NEW" | paste -sd '' -)" "nothing granted to PUBLIC"

# ---- 4. only user_logins: only its tables, views over absent tables skipped ----
LOGINS=it_ddl_logins
fresh_db "$LOGINS"
sed -e "s/database: $NEW/database: $LOGINS/" -e '/^  users: /d' -e '/^  messages: /d' "$T/c.yaml" >"$T/logins.yaml"
ml -c "$T/logins.yaml" init; assert_eq 0 "$RC" "init with user_logins alone ($OUT)"
assert_eq "sensitive_device_ids sensitive_ip_ids user_logins" "$(echo $(tables_of "$LOGINS"))" \
  "only user_logins and its sensitive tables are created"
assert_contains "$OUT" "monitor_anomalous_messages" "a skipped view is named"
assert_contains "$OUT" "skipped" "and said to be skipped"
assert_eq "" "$(wh_views "$LOGINS" | grep -x monitor_anomalous_messages || true)" \
  "a view over messages_raw is not installed without that stream"
assert_contains " $(wh_granted "maskload_${LOGINS}_analyst" "$LOGINS") " " user_logins " "the analyst's grant on user_logins (the measure below can see one)"
assert_eq "" "$(wh_granted "maskload_${LOGINS}_analyst" "$LOGINS" | tr ' ' '\n' | grep -xE 'users_raw|messages_raw|subscriptions_raw|sensitive_city_ids' || true)" \
  "no grant on tables of streams not configured"
finish
