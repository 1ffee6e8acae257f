#!/usr/bin/env bash
# A reject whose source reference is longer than load_rejects.source_ref
# (2048 characters: here a file path of about 2150, with two-byte
# characters where the cut falls) is stored cut to 2048 characters at a
# character's start, and the load goes on; a batch of 1501 rejects is
# written whole (in more than one statement). Runs against either warehouse
# (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_reject_text
fresh_db "$DB"

# nine directories of 200 'a', then three of 100 'ü' (200 bytes each): the
# 2048th character of "file:<path>:<line>" falls among the 'ü'
d="$T"
a=$(printf 'a%.0s' $(seq 1 200))
u=$(printf '\303\274%.0s' $(seq 1 100))
for _ in $(seq 1 9); do d="$d/$a"; done
for _ in 1 2 3; do d="$d/$u"; done
mkdir -p "$d" || { not_ok "cannot create the long directory"; finish; }
# two good records around 1501 without an id: one batch's rejects take two
# statements (1000 rows each at most)
{
  printf '%s\n' '{"id":1,"v":"kept"}'
  for i in $(seq 1 1501); do printf '{"v":"no id %d"}\n' "$i"; done
  printf '%s\n' '{"id":3,"v":"kept too"}'
} >"$d/r.jsonl"
chars=$(( ${#T} + 9 * 201 + 3 * 101 ))
if [ "$chars" -gt 2100 ] && [ $(( ${#T} + 9 * 201 + 5 )) -lt 2040 ] &&
  [ $(( (2048 - ${#T} - 9 * 201 - 5) % 101 )) -ne 1 ]; then
  ok "the reference is $chars characters, the cut inside the 'ü' part"
else
  not_ok "the temporary directory's path (${#T} characters) does not fit this test's layout"
fi

cat >"$T/c.yaml" <<YAML
$(config_head "$DB")
$(pii_section)
sources:
  f: { kind: file, path: "$d/r.jsonl", page_size: 2000 }
load: { batch_size: 2000 }
streams:
  items:
    table: items_raw
    source: f
    key: [id]
    columns:
      - { name: id, from: id, type: bigint, required: true }
      - { name: v,  from: v,  type: varchar(32) }
YAML
ml -c "$T/c.yaml" init
assert_eq 0 "$RC" "init exits 0 ($OUT)"
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "run exits 0 with a reject whose reference is too long for its column ($OUT)"
q() { sql_admin "$DB" "$1"; }
assert_eq 2 "$(q 'SELECT COUNT(*) FROM items_raw')" "the two good records are loaded"
assert_eq 1501 "$(q 'SELECT COUNT(*) FROM load_rejects')" "the 1501 bad ones are in load_rejects"
assert_eq 1501 "$(q 'SELECT COUNT(*) FROM load_rejects WHERE char_length(source_ref) = 2048')" "each source_ref cut to 2048 characters"
ref="file:$d/r.jsonl:2"
assert_eq 1501 "$(q "SELECT COUNT(*) FROM load_rejects WHERE source_ref = substring('$ref' from 1 for 2048)")" \
  "its first 2048 characters, each whole (the warehouse's own substring of the full reference)"
assert_eq "ü" "$(q 'SELECT DISTINCT substring(source_ref from 2048 for 1) FROM load_rejects')" "ending in a whole 'ü'"
assert_eq 1501 "$(q "SELECT COUNT(DISTINCT payload) FROM load_rejects")" "each reject its own record"
assert_contains "$(q 'SELECT DISTINCT reason FROM load_rejects')" "field 'id': missing required field" "with its reason"
finish
