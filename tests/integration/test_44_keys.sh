#!/usr/bin/env bash
# Keyed surrogates and the key fingerprint:
#  1. a config without a digest key: init and run exit 2 naming
#     pii.digest_key_file, file:line:col and how to make a key; nothing is
#     created. A key together with `digest: sha256` is an error.
#  2. `digest: sha256` (explicitly unkeyed): init and run warn; digests are
#     SHA-256(kind 0x00 value); pii_key holds 'unkeyed'; a keyed config on
#     that warehouse is refused (exit 2, both fingerprints), nothing written.
#  3. keyed: init stores HMAC-SHA256(key, 'maskload key fingerprint v1') in
#     pii_key (as openssl computes it); neither the analyst nor the steward can
#     read pii_key; run/init/plan with another key exit 2 naming both
#     fingerprints and write nothing; a warehouse without a recorded
#     fingerprint: run refused, init checks the key against stored digests.
#  4. surrogate ids follow first appearance, not digest order (and the digest
#     order is shown to differ, so the check can fail).
#  5. rekey: every must-fail (same key, wrong configured key, hmac columns,
#     erased subjects, a live run), a rekey killed after one kind and one
#     killed inside a kind's transaction, init/run refused while pending, the
#     resume; then ids and values identical, every digest HMAC(new key, kind
#     0x00 value) (a sensitive table no configured stream uses included),
#     analyst tables unchanged, the old key refused, the new key loads the same
#     data without a new sensitive row.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh), the
# rekey included (digest BINARY(32) in MySQL, bytea in PostgreSQL).
. "$(dirname "$0")/lib.sh"
DB=it_keys
q() { sql_admin "$DB" "$1"; }
fp_of() { printf '%s' 'maskload key fingerprint v1' | openssl dgst -sha256 -mac HMAC -macopt "key:$1" -r | cut -d' ' -f1; }
# digest_hex KEY KIND VALUE -> lower-case hex of HMAC-SHA256(KEY, KIND 0x00 VALUE)
digest_hex() { printf '%s\0%s' "$2" "$3" | openssl dgst -sha256 -mac HMAC -macopt "key:$1" -r | cut -d' ' -f1; }
# bad_digests KEY KIND -> how many rows of sensitive_KIND_ids have a digest that
# is not HMAC-SHA256(KEY, KIND 0x00 value) (values read as hex: any byte), as
# openssl computes it (checked on one row); "no rows" when none is read
bad_digests() {
  q "SELECT $(wh_hex value), $(wh_bhex digest) FROM sensitive_${2}_ids" |
    perl -MDigest::SHA=hmac_sha256_hex -ne '
      BEGIN { ($key, $kind) = splice @ARGV, 0, 2 }
      chomp; my ($hv, $d) = split /\t/;
      $bad++ if hmac_sha256_hex($kind . "\0" . pack("H*", $hv), $key) ne lc $d;
      END { print $. ? $bad + 0 : "no rows", "\n" }' "$1" "$2"
}
assert_eq "$(digest_hex k1 city 'Zürich')" \
  "$(perl -MDigest::SHA=hmac_sha256_hex -e 'print hmac_sha256_hex("city\0Z\xc3\xbcrich", "k1")')" \
  "bad_digests' HMAC is openssl's"
schemas() { wh_db_exists "$1"; }

# ---- 1. no key: refused ----
fresh_db "$DB"
write_config "$T/nokey.yaml" "$DB"
sed -i '/^pii:$/d; /^  digest_key_file:/d' "$T/nokey.yaml"
grep -q digest_key "$T/nokey.yaml" && not_ok "nokey.yaml still has a key"
ml -c "$T/nokey.yaml" init
assert_eq 2 "$RC" "init without a digest key: exit 2"
assert_contains "$OUT" "$T/nokey.yaml:1:1: missing key 'pii.digest_key_file'" "the message names the file and the key"
assert_contains "$OUT" "openssl rand -hex 32 > F; chmod 600 F" "the message says how to make a key"
assert_eq 0 "$(schemas "$DB")" "nothing was created"
ml -c "$T/nokey.yaml" run
assert_eq 2 "$RC" "run without a digest key: exit 2"
assert_contains "$OUT" "missing key 'pii.digest_key_file'" "run names the key"
ml -c "$T/nokey.yaml" plan
assert_eq 2 "$RC" "plan without a digest key: exit 2"
# a pii section without a key: its line and column
write_config "$T/nokey2.yaml" "$DB"
sed -i 's/^  digest_key_file: .*/  birth_date: year/' "$T/nokey2.yaml"
line=$(grep -n '^pii:$' "$T/nokey2.yaml" | cut -d: -f1)
ml -c "$T/nokey2.yaml" init
assert_eq 2 "$RC" "init with a pii section and no key: exit 2"
assert_contains "$OUT" "$T/nokey2.yaml:$line:1: missing key 'pii.digest_key_file'" "the message names the pii section's line $line"
# a key and digest: sha256
write_config "$T/both.yaml" "$DB"
sed -i 's/^\(  digest_key_file: .*\)/\1\n  digest: sha256/' "$T/both.yaml"
line=$(grep -n '^  digest: sha256' "$T/both.yaml" | cut -d: -f1)
ml -c "$T/both.yaml" init
assert_eq 2 "$RC" "a key with digest: sha256: exit 2"
assert_contains "$OUT" "$T/both.yaml:$line:11: 'pii.digest' is sha256 (unkeyed) but a digest key is set" "the message names digest's line and column"
# an unknown digest
sed -i 's/^  digest: sha256/  digest: md5/' "$T/both.yaml"
ml -c "$T/both.yaml" init
assert_eq 2 "$RC" "digest: md5: exit 2"
assert_contains "$OUT" "use hmac-sha256 or sha256" "the message lists the digests"
assert_eq 0 "$(schemas "$DB")" "still nothing created"

# ---- 2. digest: sha256, explicitly unkeyed ----
DBU=it_keys_unkeyed
fresh_db "$DBU"
write_config "$T/unkeyed.yaml" "$DBU"
sed -i 's/^  digest_key_file: .*/  digest: sha256/' "$T/unkeyed.yaml"
ml -c "$T/unkeyed.yaml" init
assert_eq 0 "$RC" "init with digest: sha256 ($OUT)"
assert_contains "$OUT" "warning: init: pii.digest is sha256: surrogate digests are unkeyed" "init warns"
ml -c "$T/unkeyed.yaml" run
assert_eq 0 "$RC" "run with digest: sha256"
assert_contains "$OUT" "warning: run: pii.digest is sha256" "run warns"
assert_eq unkeyed "$(sql_admin "$DBU" 'SELECT fingerprint FROM pii_key')" "pii_key holds 'unkeyed'"
assert_eq "0 $DISTINCT_CITIES" "$(sql_admin "$DBU" "SELECT SUM($(wh_bool "$(wh_pick "digest <> UNHEX(SHA2(CONCAT('city', CHAR(0), value), 256))" "digest <> sha256(convert_to('city', 'UTF8') || '\\x00'::bytea || convert_to(value, 'UTF8'))")")), COUNT(*)
  FROM sensitive_city_ids" | tr '\t' ' ')" "unkeyed digests are SHA-256(kind 0x00 value)"
runs_u=$(sql_admin "$DBU" 'SELECT COUNT(*) FROM load_runs')
write_config "$T/keyed_on_unkeyed.yaml" "$DBU"
ml -c "$T/keyed_on_unkeyed.yaml" run
assert_eq 2 "$RC" "a keyed run on an unkeyed warehouse: exit 2"
assert_contains "$OUT" "configured digest key (fingerprint $(fp_of "$(digest_key)" | cut -c1-16)) is not the key of this warehouse's surrogates (fingerprint unkeyed" \
  "the message names both fingerprints"
ml -c "$T/keyed_on_unkeyed.yaml" init
assert_eq 2 "$RC" "a keyed init on an unkeyed warehouse: exit 2"
assert_eq "$runs_u unkeyed" "$(sql_admin "$DBU" 'SELECT (SELECT COUNT(*) FROM load_runs), fingerprint FROM pii_key' | tr '\t' ' ')" \
  "nothing written (no run row, fingerprint kept)"

# ---- 3. keyed: the fingerprint ----
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init with the key file ($OUT)"
K1_FP=$(fp_of "$(digest_key)")
assert_eq "$K1_FP" "$(q 'SELECT fingerprint FROM pii_key')" "pii_key holds HMAC-SHA256(key, label) as openssl computes it"
assert_contains "$OUT" "recorded the digest key's fingerprint ${K1_FP:0:16}" "init says it recorded the fingerprint"
assert_not_contains "$(q "SELECT CONCAT_WS(',', fingerprint, COALESCE(pending_fingerprint, '')) FROM pii_key")" "$(digest_key)" \
  "pii_key does not hold the key"
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "a second init with the same key"
assert_eq 1 "$(q 'SELECT COUNT(*) FROM pii_key')" "pii_key has one row"
for who in analyst steward; do
  set +e; out=$(as_$who "$DB" 'SELECT fingerprint FROM pii_key'); rc=$?; set -e
  assert_eq 1 "$rc" "$who cannot read pii_key"
  assert_contains "$out" "denied" "$who: the server denies it"
done
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "run with the key file ($OUT)"
K2=$(new_key_file k2)
write_config "$T/k2.yaml" "$DB"
sed -i "s|^  digest_key_file: .*|  digest_key_file: $K2|" "$T/k2.yaml"
K2_FP=$(fp_of "$(head -n1 "$K2")")
runs0=$(q 'SELECT COUNT(*) FROM load_runs')
cities0=$(q 'SELECT COUNT(*) FROM sensitive_city_ids')
for cmd in run init plan; do
  ml -c "$T/k2.yaml" $cmd
  assert_eq 2 "$RC" "$cmd with another key: exit 2"
  assert_contains "$OUT" "configured digest key (fingerprint ${K2_FP:0:16}) is not the key of this warehouse's surrogates (fingerprint ${K1_FP:0:16}" \
    "$cmd names both fingerprints"
done
assert_eq "$runs0 $cities0 $K1_FP" "$(q 'SELECT (SELECT COUNT(*) FROM load_runs), (SELECT COUNT(*) FROM sensitive_city_ids), fingerprint FROM pii_key' | tr '\t' ' ')" \
  "another key wrote nothing (no run row, no surrogate, fingerprint kept)"

# a warehouse without a recorded fingerprint (made before they were kept):
# init checks the key against the stored digests before recording it
DBL=it_keys_legacy
fresh_db "$DBL"
write_config "$T/legacy.yaml" "$DBL"
ml -c "$T/legacy.yaml" init; ml -c "$T/legacy.yaml" run; assert_eq 0 "$RC" "legacy: init and run"
sql_admin "$DBL" "DELETE FROM pii_key"
ml -c "$T/legacy.yaml" run
assert_eq 2 "$RC" "legacy: run without a recorded fingerprint: exit 2"
assert_contains "$OUT" "holds no key fingerprint (table pii_key is empty): run \`maskload init\` first" "run says to run init"
sed "s|^  digest_key_file: .*|  digest_key_file: $K2|" "$T/legacy.yaml" >"$T/legacy2.yaml"
ml -c "$T/legacy2.yaml" init
assert_eq 2 "$RC" "legacy: init with another key: exit 2"
assert_contains "$OUT" "does not reproduce the digests stored in sensitive_city_ids: it is not the key these surrogates were made with" \
  "the message says the key does not fit the stored digests"
assert_eq 0 "$(sql_admin "$DBL" 'SELECT COUNT(*) FROM pii_key')" "legacy: nothing recorded"
ml -c "$T/legacy.yaml" init
assert_eq 0 "$RC" "legacy: init with the right key ($OUT)"
assert_eq "$K1_FP" "$(sql_admin "$DBL" 'SELECT fingerprint FROM pii_key')" "legacy: the right key's fingerprint recorded"
ml -c "$T/legacy.yaml" run; assert_eq 0 "$RC" "legacy: run again"

# ---- 4. ids in order of first appearance ----
DBO=it_keys_order
fresh_db "$DBO"
# 40 records, 30 distinct cities, some repeated; batches of 7 (several batches)
: >"$T/places.jsonl"
expected=""
for i in $(seq 1 40); do
  c=$(( (i * 7) % 30 + 1 ))
  name="city-$(printf '%02d' "$c")"
  printf '{"id":%d,"city":"%s"}\n' "$i" "$name" >>"$T/places.jsonl"
  case " $expected " in *" $name "*) ;; *) expected="$expected $name" ;; esac
done
expected=$(echo $expected)
cat >"$T/order.yaml" <<YAML
$(config_head "$DBO")
$(pii_section)
load: { batch_size: ${ORDER_BATCH:-7} }
sources:
  f: { kind: file, path: places.jsonl, page_size: 5 }
streams:
  places:
    source: f
    key: [id]
    columns:
      - { name: id,      from: id,   type: bigint, required: true }
      - { name: city_id, from: city, pii: surrogate, kind: city }
YAML
ml -c "$T/order.yaml" init; assert_eq 0 "$RC" "init of the order test ($OUT)"
ml -c "$T/order.yaml" run; assert_eq 0 "$RC" "run of the order test ($OUT)"
by_id=$(sql_admin "$DBO" "SELECT $(wh_agg value id ' ') FROM sensitive_city_ids")
by_digest=$(sql_admin "$DBO" "SELECT $(wh_agg value digest ' ') FROM sensitive_city_ids")
assert_eq "$expected" "$by_id" "surrogate ids ascend in order of first appearance (30 values, 6 batches)"
if [ "$by_digest" != "$expected" ]; then ok "the digest order differs from the appearance order (the check above can fail)"
else not_ok "digest order equals appearance order: the check proves nothing"; fi
assert_eq 1 "$(sql_admin "$DBO" "SELECT $(wh_bool 'COUNT(*) = 1') FROM places p JOIN sensitive_city_ids s ON s.id = p.city_id WHERE p.id = 1 AND s.id = 1")" \
  "the first record's city has id 1"
# one batch holding everything: the order within a batch
fresh_db "$DBO"
sed -i 's/^load: { batch_size: 7 }/load: { batch_size: 1000 }/' "$T/order.yaml"
sed -i 's/page_size: 5 }/page_size: 100 }/' "$T/order.yaml"
ml -c "$T/order.yaml" init; ml -c "$T/order.yaml" run; assert_eq 0 "$RC" "run as one batch"
assert_eq "$expected" "$(sql_admin "$DBO" "SELECT $(wh_agg value id ' ') FROM sensitive_city_ids")" \
  "within one batch too, ids follow first appearance"

# ---- 5. rekey ----
# a sensitive table that no configured stream uses: rekey finds it in the warehouse
q "$(wh_pick "CREATE TABLE sensitive_legacy_ids LIKE sensitive_city_ids" \
  "CREATE TABLE sensitive_legacy_ids (LIKE sensitive_city_ids INCLUDING ALL)")"
q "INSERT INTO sensitive_legacy_ids (digest, value, first_seen_at) VALUES
   ($(wh_unhex "$(digest_hex "$(digest_key)" legacy 'old value')"), 'old value', $(wh_now))"
# and 1200 more rows in it: a kind of several chunks (rekey.c reads and
# writes 500 rows a statement)
rows="" pre=$(wh_pick "UNHEX(SHA2('" "sha256(convert_to('") post=$(wh_pick "', 256))" "', 'UTF8'))") now=$(wh_now)
for i in $(seq 1 1200); do rows+="${rows:+,}(${pre}old $i${post}, 'legacy value $i', $now)"; done
q "INSERT INTO sensitive_legacy_ids (digest, value, first_seen_at) VALUES $rows"
KINDS="city legacy profession zipcode"
snap_ids() { for k in $KINDS; do q "SELECT '$k', id, value FROM sensitive_${k}_ids ORDER BY id"; done; }
snap_digests() { for k in $KINDS; do q "SELECT '$k', id, $(wh_bhex digest) FROM sensitive_${k}_ids ORDER BY id"; done; }
sums() { wh_checksum "$DB" users_raw subscriptions_raw messages_raw; }
counts() { for k in $KINDS; do q "SELECT COUNT(*) FROM sensitive_${k}_ids"; done | paste -sd,; }
ids0=$(snap_ids); dig0=$(snap_digests); sums0=$(sums); counts0=$(counts)
pending() { q "SELECT CONCAT_WS(' ', COALESCE(pending_fingerprint, '-'), COALESCE(pending_done, '-')) FROM pii_key"; }

ml -c "$T/c.yaml" rekey
assert_eq 2 "$RC" "rekey without --new-key-file: exit 2"
ml -c "$T/c.yaml" rekey --new-key-file "$MASKLOAD_DIGEST_KEY_FILE"
assert_eq 2 "$RC" "rekey to the configured key: exit 2"
assert_contains "$OUT" "the new key is the configured key" "the message says why"
ml -c "$T/c.yaml" rekey --new-key-file "$T/no-such.key"
assert_eq 2 "$RC" "rekey with a missing key file: exit 2"
assert_contains "$OUT" "cannot read '$T/no-such.key' for '--new-key-file'" "the message names the file"
K3=$(new_key_file k3)
ml -c "$T/k2.yaml" rekey --new-key-file "$K3"
assert_eq 2 "$RC" "rekey from a key that is not the warehouse's: exit 2"
assert_contains "$OUT" "configured digest key (fingerprint ${K2_FP:0:16}) is not the warehouse's (fingerprint ${K1_FP:0:16}" \
  "the message names both fingerprints"
# hmac columns of the configured streams
cat "$T/c.yaml" >"$T/hmac.yaml"
cat >>"$T/hmac.yaml" <<'YAML'
  phones:
    source: api
    path: /users
    key: [email]
    columns:
      - { name: email,      from: email, type: varchar(255), required: true }
      - { name: phone_hmac, from: phone, pii: hmac }
YAML
ml -c "$T/hmac.yaml" rekey --new-key-file "$K2"
assert_eq 2 "$RC" "rekey with pii: hmac columns configured: exit 2"
assert_contains "$OUT" "pii: hmac columns (phones.phone_hmac)" "the message lists the hmac columns"
assert_contains "$OUT" "--hmac-columns-change" "the message names the option"
# erased subjects
q "INSERT INTO pii_erasures (digest, erased_at) VALUES ($(wh_unhex "$(printf %s someone | openssl dgst -sha256 -r | cut -d' ' -f1)"), $(wh_now))"
ml -c "$T/c.yaml" rekey --new-key-file "$K2"
assert_eq 2 "$RC" "rekey with erased subjects: exit 2"
assert_contains "$OUT" "pii_erasures holds 1 erased subjects" "the message says why"
assert_contains "$OUT" "--erased-subjects-loadable" "the message names the option"
# a live run
rm -f "$T/pause"
MASKLOAD_TEST_PAUSE_AT=commit:1 MASKLOAD_TEST_PAUSE_FILE="$T/pause" "$MASKLOAD_BIN" -c "$T/c.yaml" run >"$T/paused.log" 2>&1 &
LOADER=$!
for _ in $(seq 1 300); do [ -e "$T/pause" ] && break; sleep 0.1; done
[ -e "$T/pause" ] || not_ok "the paused run did not reach its pause point"
ml -c "$T/c.yaml" rekey --new-key-file "$K2" --erased-subjects-loadable
assert_eq 1 "$RC" "rekey while a run is live: exit 1"
assert_contains "$OUT" "is in progress: rekey when no run is live" "the message names the live run"
rm -f "$T/pause"
set +e; wait "$LOADER"; lrc=$?; set -e
assert_eq 0 "$lrc" "the paused run finishes"
assert_eq "- -" "$(pending)" "no refused rekey left a pending mark"
assert_eq "$dig0" "$(snap_digests)" "no refused rekey changed a digest"

# killed after its first kind (city)
set +e
MASKLOAD_TEST_REKEY_STOP_AFTER=1 "$MASKLOAD_BIN" -c "$T/c.yaml" rekey --new-key-file "$K2" --erased-subjects-loadable >"$T/rekey1.log" 2>&1
rc=$?; set -e
assert_eq 137 "$rc" "rekey killed after one kind (SIGKILL)"
assert_eq "$K2_FP city," "$(pending)" "pending: the new fingerprint, city done"
assert_eq 0 "$(bad_digests "$(head -n1 "$K2")" city)" "city: every digest is HMAC(new key, 'city' 0x00 value)"
assert_eq "$(echo "$dig0" | grep -v '^city')" "$(snap_digests | grep -v '^city')" "the other kinds are untouched"
# while pending: run and init refused, nothing written
runs1=$(q 'SELECT COUNT(*) FROM load_runs')
for cfg in c k2; do
  for cmd in run init; do
    ml -c "$T/$cfg.yaml" $cmd
    assert_eq 2 "$RC" "$cmd ($cfg.yaml) while a rekey is pending: exit 2"
    assert_contains "$OUT" "a rekey to the key with fingerprint ${K2_FP:0:16} is not finished (1 kinds converted): finish it with \`maskload rekey" \
      "$cmd ($cfg.yaml) says to finish the rekey"
  done
done
assert_eq "$runs1" "$(q 'SELECT COUNT(*) FROM load_runs')" "no run row written while pending"
# a rekey to another key while this one is pending
ml -c "$T/c.yaml" rekey --new-key-file "$K3" --erased-subjects-loadable
assert_eq 2 "$RC" "rekey to a third key while one is pending: exit 2"
assert_contains "$OUT" "a rekey to another key (fingerprint ${K2_FP:0:16}) is pending" "the message names the pending key"
# killed inside the next kind's transaction (legacy): nothing of it changes
set +e
MASKLOAD_TEST_REKEY_STOP_IN=1 "$MASKLOAD_BIN" -c "$T/c.yaml" rekey --new-key-file "$K2" --erased-subjects-loadable >"$T/rekey2.log" 2>&1
rc=$?; set -e
assert_eq 137 "$rc" "rekey killed inside a kind's transaction"
assert_eq "$K2_FP city," "$(pending)" "progress unchanged: city only"
assert_eq "$(echo "$dig0" | grep -v '^city')" "$(snap_digests | grep -v '^city')" "the kind killed midway is not half converted"
# the resume
ml -c "$T/c.yaml" rekey --new-key-file "$K2" --erased-subjects-loadable
assert_eq 0 "$RC" "the same rekey resumes and finishes ($OUT)"
assert_contains "$OUT" "rekey: done (resumed): 4 kinds (3 converted now, 1 before)" "it says it resumed and what it did"
assert_contains "$OUT" "now point pii.digest_key_file at $K2" "it says to point the config at the new key"
assert_eq "$K2_FP - -" "$(q "SELECT CONCAT_WS(' ', fingerprint, COALESCE(pending_fingerprint, '-'), COALESCE(pending_done, '-')) FROM pii_key")" \
  "pii_key: the new fingerprint, nothing pending"
assert_eq "$ids0" "$(snap_ids)" "every id and value is unchanged"
assert_eq "$counts0" "$(counts)" "no sensitive row added or lost"
changed=$(diff <(echo "$dig0") <(snap_digests) | grep -c '^>' || true)
assert_eq "$(echo "$dig0" | wc -l)" "$changed" "every digest changed"
assert_eq "$(digest_hex "$(head -n1 "$K2")" legacy 'old value')" "$(q "SELECT LOWER($(wh_bhex digest)) FROM sensitive_legacy_ids WHERE value = 'old value'")" \
  "the table no configured stream uses is converted too"
assert_eq "1201 0" "$(q 'SELECT COUNT(*) FROM sensitive_legacy_ids') $(bad_digests "$(head -n1 "$K2")" legacy)" \
  "legacy: all 1201 digests (three chunks) are HMAC(new key, 'legacy' 0x00 value)"
assert_eq "0 0" "$(bad_digests "$(head -n1 "$K2")" profession) $(bad_digests "$(head -n1 "$K2")" zipcode)" \
  "profession, zipcode: every digest is HMAC(new key, kind 0x00 value) (a value with quotes and a backslash included)"
assert_eq "$DISTINCT_CITIES" "$(bad_digests "$(digest_key)" city)" "must-fail companion: no city digest matches the old key"
assert_eq "$sums0" "$(sums)" "analyst tables unchanged (wh_checksum)"
q "DELETE FROM pii_erasures"
# afterwards: the old key is refused, the new one loads the same data
runs2=$(q 'SELECT COUNT(*) FROM load_runs')
ml -c "$T/c.yaml" run
assert_eq 2 "$RC" "run with the old key after the rekey: exit 2"
assert_contains "$OUT" "(fingerprint ${K1_FP:0:16}) is not the key of this warehouse's surrogates (fingerprint ${K2_FP:0:16}" \
  "the message names both fingerprints"
assert_eq "$runs2" "$(q 'SELECT COUNT(*) FROM load_runs')" "the refused run wrote nothing"
ml -c "$T/k2.yaml" init; assert_eq 0 "$RC" "init with the new key ($OUT)"
ml -c "$T/k2.yaml" run; assert_eq 0 "$RC" "run with the new key ($OUT)"
assert_eq "$counts0" "$(counts)" "the new key finds every value: no new sensitive row"
assert_eq 0 "$(q 'SELECT SUM(surrogates_created) FROM load_run_streams WHERE run_id = (SELECT MAX(run_id) FROM load_runs)')" \
  "the run created no surrogate"
assert_eq "$ids0" "$(snap_ids)" "ids and values still unchanged"
assert_eq "$sums0" "$(sums)" "analyst tables unchanged by the run with the new key"
ml -c "$T/k2.yaml" rekey --new-key-file "$K2"
assert_eq 2 "$RC" "rekey to the key in use: exit 2"

# hmac columns accepted with --hmac-columns-change
sed "s|^  digest_key_file: .*|  digest_key_file: $K2|" "$T/hmac.yaml" >"$T/hmac2.yaml"
K4=$(new_key_file k4)
set +e
MASKLOAD_TEST_REKEY_STOP_AFTER=2 "$MASKLOAD_BIN" -c "$T/hmac2.yaml" rekey --new-key-file "$K4" --hmac-columns-change >"$T/rekey4.log" 2>&1
rc=$?; set -e
assert_eq 137 "$rc" "rekey with hmac columns and --hmac-columns-change, killed after two kinds"
# the owner points the config at the new key too early: the rekey still finishes
sed "s|^  digest_key_file: .*|  digest_key_file: $K4|" "$T/hmac.yaml" >"$T/hmac4.yaml"
ml -c "$T/hmac4.yaml" rekey --new-key-file "$K4" --hmac-columns-change
assert_eq 0 "$RC" "the rekey finishes with the config already naming the new key ($OUT)"
assert_contains "$OUT" "(resumed): 4 kinds (2 converted now, 2 before)" "it resumed after the two kinds done"
assert_contains "$OUT" "1 pii: hmac columns keep old-key values" "it warns about the hmac columns"
assert_eq "$(fp_of "$(head -n1 "$K4")")" "$(q 'SELECT fingerprint FROM pii_key')" "the fourth key is the warehouse's"
assert_eq "$ids0" "$(snap_ids)" "ids and values unchanged by a second rekey"

# a kind whose stored digests are its new ones swapped between two rows (no
# loader writes that): rewriting them in place, in any row order and even in
# one statement, meets the other row's digest in the unique index midway
K5=$(new_key_file k5)
q "$(wh_pick "CREATE TABLE sensitive_swap_ids LIKE sensitive_city_ids" \
  "CREATE TABLE sensitive_swap_ids (LIKE sensitive_city_ids INCLUDING ALL)")"
q "INSERT INTO sensitive_swap_ids (digest, value, first_seen_at) VALUES
   ($(wh_unhex "$(digest_hex "$(head -n1 "$K5")" swap b)"), 'a', $(wh_now)),
   ($(wh_unhex "$(digest_hex "$(head -n1 "$K5")" swap a)"), 'b', $(wh_now))"
ml -c "$T/hmac4.yaml" rekey --new-key-file "$K5" --hmac-columns-change
assert_eq 0 "$RC" "a rekey whose new digests are stored ones, swapped, finishes ($OUT)"
assert_eq "2 0" "$(q 'SELECT COUNT(*) FROM sensitive_swap_ids') $(bad_digests "$(head -n1 "$K5")" swap)" \
  "swap: both digests are HMAC(new key, 'swap' 0x00 value)"
assert_eq "$ids0" "$(snap_ids)" "ids and values unchanged by a third rekey"

# unkeyed -> keyed: the way out of digest: sha256
KU=$(new_key_file ku)
ml -c "$T/unkeyed.yaml" rekey --new-key-file "$KU"
assert_eq 0 "$RC" "rekey of the unkeyed warehouse to a key ($OUT)"
write_config "$T/ku.yaml" "$DBU"
sed -i "s|^  digest_key_file: .*|  digest_key_file: $KU|" "$T/ku.yaml"
before=$(sql_admin "$DBU" 'SELECT COUNT(*) FROM sensitive_city_ids')
ml -c "$T/ku.yaml" run
assert_eq 0 "$RC" "keyed run after the rekey"
assert_not_contains "$OUT" "unkeyed" "no unkeyed warning any more"
assert_eq "$before" "$(sql_admin "$DBU" 'SELECT COUNT(*) FROM sensitive_city_ids')" "no new city rows"
ml -c "$T/unkeyed.yaml" run
assert_eq 2 "$RC" "the unkeyed config is refused afterwards"

finish
