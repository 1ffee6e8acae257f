#!/usr/bin/env bash
# `maskload doctor`: OK on a healthy setup; each broken part is a FAIL (or a
# WARN) naming what and the fix, and exit 1: a wrong key, an unreachable
# source, an uninitialised database, an anonymous account shadowing the
# configured ones (which init also refuses), local_infile off. On both
# warehouses, the checks of each (PostgreSQL's session, PUBLIC's access;
# MariaDB's local_infile, sql_mode, anonymous accounts: MySQL only, their
# PostgreSQL counterparts in test_71).
. "$(dirname "$0")/lib.sh"
DB=it_doctor
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
cleanup() {
  [ "$IT_WAREHOUSE" = postgres ] ||
    sql_admin "" "DROP USER IF EXISTS ''@'localhost'; SET GLOBAL local_infile = 1" >/dev/null 2>&1 || true
  [ -z "${API_PID:-}" ] || kill "$API_PID" 2>/dev/null || true
}
trap cleanup EXIT
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run"

ml -c "$T/c.yaml" doctor
assert_eq 0 "$RC" "a healthy setup: exit 0 ($OUT)"
if [ "$IT_WAREHOUSE" = postgres ]; then
  healthy=("OK    warehouse" "OK    server" "OK    session" "OK    loader privileges" "OK    digest key"
           "OK    public access" "OK    stream users" "OK    stream messages")
else
  healthy=("OK    warehouse" "OK    server" "OK    local_infile" "OK    sql_mode" "OK    time zone"
           "OK    loader privileges" "OK    digest key" "OK    anonymous accounts"
           "OK    stream users" "OK    stream messages")
fi
for c in "${healthy[@]}"; do
  assert_contains "$OUT" "$c" "healthy: $c"
done
assert_contains "$OUT" "first page read: 4 records" "the source's first page is read (page_size 4)"
assert_not_contains "$OUT" "FAIL" "nothing fails"
assert_eq "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_runs")" "1" "doctor records no run"

# a wrong key
sed "s|digest_key_file: .*|digest_key_file: $(new_key_file other)|" "$T/c.yaml" >"$T/key.yaml"
ml -c "$T/key.yaml" doctor
assert_eq 1 "$RC" "another key: exit 1"
assert_contains "$OUT" "FAIL  digest key" "the key check fails"
assert_contains "$OUT" "fingerprint" "naming the fingerprints"

# an unreachable source
sed "s|base_url: http://127.0.0.1:$IT_API_PORT/|base_url: http://127.0.0.1:1/|" "$T/c.yaml" >"$T/src.yaml"
ml -c "$T/src.yaml" doctor
assert_eq 1 "$RC" "an unreachable source: exit 1"
assert_contains "$OUT" "FAIL  stream users" "the stream's source fails"
assert_contains "$OUT" "fix: check the source's URL" "with the fix"
assert_contains "$OUT" "OK    warehouse" "the warehouse checks still pass"

# a database init never made
write_config "$T/none.yaml" it_doctor_never_initialised
ml -c "$T/none.yaml" doctor
assert_eq 1 "$RC" "an uninitialised database: exit 1"
assert_contains "$OUT" "FAIL  warehouse" "the connection fails"
assert_contains "$OUT" '`maskload init`' "and the fix says to run init"

if ! wh_has mysql_accounts "local_infile and anonymous accounts"; then
  ml -c "$T/c.yaml" doctor --bogus
  assert_eq 2 "$RC" "an unknown doctor option: exit 2"
  finish
  exit
fi
# local_infile off: a warning (loads fall back to INSERT), not a failure
sql_admin "" "SET GLOBAL local_infile = 0"
ml -c "$T/c.yaml" doctor
assert_eq 0 "$RC" "local_infile off is a warning only"
assert_contains "$OUT" "WARN  local_infile" "it is reported"
assert_contains "$OUT" "SET GLOBAL local_infile = ON" "with the fix"
sql_admin "" "SET GLOBAL local_infile = 1"

# an anonymous account shadowing the configured ones (as a fresh
# mariadb-install-db leaves): doctor fails, init refuses before changing anything
sql_admin "" "CREATE USER ''@'localhost'"
ml -c "$T/c.yaml" doctor
assert_eq 1 "$RC" "an anonymous account: exit 1"
assert_contains "$OUT" "FAIL  anonymous accounts" "doctor names the anonymous accounts"
assert_contains "$OUT" "''@'localhost'" "the shadowing account"
assert_contains "$OUT" "DROP USER" "and the fix"
fresh_db it_doctor_new
write_config "$T/new.yaml" it_doctor_new
ml -c "$T/new.yaml" init
assert_eq 2 "$RC" "init refuses while an anonymous account shadows its accounts"
assert_contains "$OUT" "would shadow the accounts init creates" "saying why"
assert_eq 0 "$(sql_admin "" "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='it_doctor_new'")" \
  "and creates nothing"
sql_admin "" "DROP USER ''@'localhost'"
ml -c "$T/new.yaml" init
assert_eq 0 "$RC" "without it init works (must-pass twin)"
ml -c "$T/c.yaml" doctor
assert_eq 0 "$RC" "and doctor passes again"
ml -c "$T/c.yaml" doctor --bogus
assert_eq 2 "$RC" "an unknown doctor option: exit 2"
finish
