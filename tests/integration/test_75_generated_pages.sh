#!/usr/bin/env bash
# The benchmark's generator mode (fixture_api --generate): every page and the
# whole array it makes on request equal, byte for byte, what the fixture API
# serves from the files bench_gen writes for the same sizes and seed; and
# bench_gen --expected-only counts the same rows as writing the files.
# Must-fails: another seed serves other pages; a reply over 100000 records,
# --since with --generate, a malformed --generate, --data with --generate.
# shellcheck disable=SC2154 # PORT_<name> is set by serve() (printf -v)
. "$(dirname "$0")/lib.sh"

GEN=$(dirname "$MASKLOAD_BIN")/bench_gen
[ -x "$GEN" ] || { not_ok "bench_gen built beside maskload ($GEN)"; finish; }
PREFIX=/evaluation/dataengineer/jr/v1
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# serve NAME ARGS... : starts a fixture API, sets PORT_<NAME>
serve() {
  local name=$1 pf="$T/$1.port"
  shift
  rm -f "$pf"
  "$FIXTURE_API_BIN" "$@" --port 0 --port-file "$pf" >"$T/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  for _ in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.1; done
  [ -s "$pf" ] || { cat "$T/$name.log"; not_ok "fixture_api $name started"; finish; }
  printf -v "PORT_$name" '%s' "$(cat "$pf")"
}
get() { # get PORT PATH -> body on stdout; HTTP status in $T/status
  curl -s -o - -w '%{stderr}%{http_code}' "http://127.0.0.1:$1$PREFIX$2" 2>"$T/status"
}

mkdir -p "$T/files"
"$GEN" --users 300 --messages 500 --seed 7 --out "$T/files"
assert_eq 0 "$?" "bench_gen writes the files"
cp "$T/files/expected.env" "$T/expected-files.env"
"$GEN" --users 300 --messages 500 --seed 7 --out "$T/files" --expected-only
assert_eq "$(cat "$T/expected-files.env")" "$(cat "$T/files/expected.env")" \
  "--expected-only counts the rows writing the files counted"
assert_contains "$(cat "$T/files/expected.env")" "EXPECT_USERS=29" "some users are invalid (rejects)"
mkdir -p "$T/other"
"$GEN" --users 300 --messages 500 --seed 8 --out "$T/other"

serve file --data "$T/files"
serve gen --generate users=300,messages=500,seed=7
serve gen8 --generate users=300,messages=500,seed=8
serve other --data "$T/other"

same=0 differ=0
for ep in users messages; do
  for q in "" "?page=1&limit=1" "?page=2&limit=7" "?page=43&limit=7" "?page=3&limit=100" \
    "?page=1&limit=1000" "?page=6&limit=100" "?page=100&limit=7"; do
    a=$(get "$PORT_file" "/$ep$q" | sha256sum)
    b=$(get "$PORT_gen" "/$ep$q" | sha256sum)
    if [ "$a" = "$b" ] && [ "$(cat "$T/status")" = 200 ]; then same=$((same + 1)); else
      differ=$((differ + 1)); echo "differs: /$ep$q"; fi
  done
done
assert_eq "16:0" "$same:$differ" "every page and the whole array of --generate equal the files' (byte for byte)"
assert_eq "[]" "$(get "$PORT_gen" "/users?page=31&limit=10")" "past the end: []"
assert_eq 300 "$(get "$PORT_gen" "/users" | grep -o '"firstName"' | wc -l)" "the whole users array has 300 records"

# must-fail: the comparison sees another seed
a=$(get "$PORT_file" "/users?page=1&limit=50" | sha256sum)
b=$(get "$PORT_gen8" "/users?page=1&limit=50" | sha256sum)
[ "$a" != "$b" ] && ok "seed 8 serves other pages than seed 7" || not_ok "seed 8 serves other pages than seed 7"
assert_eq "$(get "$PORT_other" "/messages?page=2&limit=30" | sha256sum)" \
  "$(get "$PORT_gen8" "/messages?page=2&limit=30" | sha256sum)" "and seed 8's pages are its files'"

body=$(get "$PORT_gen" "/users?page=1&limit=100001")
assert_eq 400 "$(cat "$T/status")" "a page over 100000 records -> 400"
assert_contains "$body" "at most 100000 records" "and says why"
serve big --generate users=100001,messages=0
get "$PORT_big" "/users" >/dev/null
assert_eq 400 "$(cat "$T/status")" "the whole array of 100001 generated users -> 400"
assert_eq "[]" "$(get "$PORT_big" "/messages?page=1&limit=10")" "an endpoint of 0 messages serves []"

set +e
out=$("$FIXTURE_API_BIN" --generate users=3,messages=3 --since since=updatedAt --port 0 2>&1)
assert_eq 2 "$?" "--since with --generate exits 2"
assert_contains "$out" "--since cannot be used with --generate" "and says why"
for spec in "users=0,messages=1" "users=3" "users=3,messages=x" "users=3,messages=3,colour=red" \
  "users=3,users=4,messages=1" "users=-3,messages=1"; do
  out=$("$FIXTURE_API_BIN" --generate "$spec" --port 0 2>&1)
  rc=$?
  assert_eq 2 "$rc" "--generate '$spec' exits 2"
done
assert_contains "$out" "invalid --generate" "a malformed --generate is named"
out=$("$FIXTURE_API_BIN" --generate users=3,messages=3 --data "$T/files" --port 0 2>&1)
assert_eq 2 "$?" "--data with --generate exits 2"
set -e
finish
