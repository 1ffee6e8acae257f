#!/usr/bin/env bash
# HTTP failures: the fixture API injects faults per
# request (POST /__faults) and counts the requests it saw (GET /__requests),
# so each case asserts how many attempts were made, never how long they took.
# - 503 twice then 200, a reset, a truncated body, invalid JSON, a non-array,
#   a timeout: retried, and the run succeeds; with retries: 0 the same fault
#   fails the run (the must-fail companion).
# - 429 with Retry-After: the wait is the server's, clamped to retry_after_max.
# - 404: not retried, exit 1, the message names the URL and the status.
# - persistent faults: exit 1 with URL, page and reason; load_runs says failed;
#   the same invalid body twice stops the retries (it would always repeat).
# - connection refused: retried, then exit 1; max_pages caps the walk.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
# - after all that, a clean rerun loads exactly the fixture's rows.
. "$(dirname "$0")/lib.sh"
DB=it_http_faults
API="http://127.0.0.1:$IT_API_PORT"
BASE="$API/evaluation/dataengineer/jr/v1"
fresh_db "$DB"

clear_faults() {
  curl -sf -X DELETE "$API/__faults" >/dev/null
  curl -sf -X DELETE "$API/__requests" >/dev/null
}
# the fixture API is shared by every test: never leave a rule behind
trap clear_faults EXIT
# add_faults JSON : installs rules (fails the test on a rejected rule)
add_faults() { curl -sf -X POST --data "$1" "$API/__faults" >/dev/null; }
# attempts PATH [PAGE] : requests seen for PATH (suffix match), page PAGE
attempts() { curl -sf "$API/__requests?path=$1${2:+&page=$2}" | jq -r .count; }
last_run() { sql_admin "$DB" "SELECT status, error_text FROM load_runs ORDER BY run_id DESC LIMIT 1"; }

# source keys go under sources.api, after page_size
config_with() {
  local file=$1 keys=$2
  write_config "$file" "$DB"
  local esc=${keys//$'\n'/\\n}
  sed -i "s|^    page_size: 4\$|    page_size: 4\n$esc|" "$file"
}
config_with "$T/c.yaml" "    retries: 3
    retry_base_ms: 10
    retry_max_ms: 50
    retry_after_max: 1
    timeout: 1
    connect_timeout: 1"
config_with "$T/noretry.yaml" "    retries: 0
    timeout: 1"
assert_contains "$(cat "$T/c.yaml")" "    retry_base_ms: 10" "config carries the retry keys"

# the control endpoints themselves: a bad rule is refused, not ignored
clear_faults
set +e
bad=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '[{"path":"/users","statsu":503}]' "$API/__faults")
set -e
assert_eq 400 "$bad" "fixture API refuses a rule with an unknown field"
assert_eq 0 "$(attempts /users)" "request log starts empty"

# the control endpoints answer loopback clients only: a second fixture API on
# this host's first non-loopback IPv4 address, reached through that address
EXT_IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n1 || true)
if [ -n "$EXT_IP" ]; then
  "${FIXTURE_API_BIN:?}" --data "$FIXTURES" --bind "$EXT_IP" --port 0 --port-file "$T/ext.port" \
    >"$T/ext.log" 2>&1 </dev/null &
  EXT_PID=$!
  trap 'clear_faults; kill "$EXT_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    [ -s "$T/ext.port" ] && break
    sleep 0.05
  done
  EXT="http://$EXT_IP:$(cat "$T/ext.port")"
  assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "$EXT/evaluation/dataengineer/jr/v1/users")" \
    "non-loopback client: data served"
  assert_eq 403 "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '[{"path":"/users","status":500}]' "$EXT/__faults")" \
    "non-loopback client: POST /__faults refused"
  assert_eq 403 "$(curl -s -o /dev/null -w '%{http_code}' "$EXT/__requests")" \
    "non-loopback client: GET /__requests refused"
  kill "$EXT_PID" 2>/dev/null || true
  wait "$EXT_PID" 2>/dev/null || true
  trap clear_faults EXIT
else
  echo "# no non-loopback IPv4 address here: the loopback-only check is not run"
fi

ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"

# ---- transient faults: retried, the run succeeds; without retries it fails
# name | rule for page 1 of users (applies once) | reason in the log
# Page 1 is the run's first request, on a fresh connection: libcurl itself
# silently repeats, once, a request whose REUSED keep-alive connection closes
# before any byte arrives (a stale connection), which would hide a reset on a
# later page from maskload's own retries and from the attempt counts.
cases=(
  "503|\"status\":503,\"times\":2|HTTP status 503"
  "reset|\"reset\":true|network error"
  "truncated|\"truncate\":true|truncated body"
  "invalid-json|\"body\":\"[{\\\"id\\\": \"|not a JSON array of records (got application/json): truncated at byte 8 of 8"
  "non-array|\"body\":\"{\\\"data\\\":[]}\"|not a JSON array of records (got application/json): got an object, not an array"
  "timeout|\"delay_ms\":1500|timeout"
)
for c in "${cases[@]}"; do
  IFS='|' read -r name rule reason <<<"$c"
  clear_faults
  add_faults "[{\"path\":\"/users\",\"page\":1,$rule}]"
  ml -c "$T/c.yaml" run --stream users
  assert_eq 0 "$RC" "$name: run succeeds after retrying"
  want=2
  [ "$name" = 503 ] && want=3
  assert_eq "$want" "$(attempts /users 1)" "$name: page 1 requested $want times"
  assert_eq 1 "$(attempts /users 2)" "$name: page 2 requested once"
  assert_contains "$OUT" "(page 1): $reason" "$name: the retry is logged with its reason"
  assert_contains "$OUT" "retry 1 of 3 in" "$name: the log says which retry and the wait"

  # must-fail companion: the same fault with retries: 0 fails the run
  clear_faults
  add_faults "[{\"path\":\"/users\",\"page\":1,$rule}]"
  ml -c "$T/noretry.yaml" run --stream users
  assert_eq 1 "$RC" "$name: with retries 0 the run fails"
  assert_eq 1 "$(attempts /users 1)" "$name: with retries 0 page 1 is requested once"
done
assert_eq "$USERS_LOADED" "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw")" "users loaded once, whatever the retries"

# ---- 429 with Retry-After: the server's wait, clamped to retry_after_max (1 s);
# the backoff alone is at most retry_max_ms (50 ms)
clear_faults
add_faults '[{"path":"/users","page":1,"status":429,"retry_after":1}]'
ml -c "$T/c.yaml" run --stream users
assert_eq 0 "$RC" "429: run succeeds"
assert_eq 2 "$(attempts /users 1)" "429: page 1 requested twice"
assert_contains "$OUT" "HTTP status 429; retry 1 of 3 in 1000 ms" "429: waits Retry-After (1 s), not the backoff"
clear_faults
add_faults '[{"path":"/users","page":1,"status":503,"retry_after":3600}]'
ml -c "$T/c.yaml" run --stream users
assert_eq 0 "$RC" "Retry-After 3600: run succeeds"
assert_contains "$OUT" "HTTP status 503; retry 1 of 3 in 1000 ms" "Retry-After 3600 is clamped to retry_after_max"

# ---- 404: permanent, not retried
clear_faults
add_faults '[{"path":"/users","page":1,"status":404}]'
ml -c "$T/c.yaml" run --stream users
assert_eq 1 "$RC" "404: exit 1"
assert_eq 1 "$(attempts /users 1)" "404: not retried"
assert_contains "$OUT" "GET '$BASE/users?page=1&limit=4' (page 1): HTTP status 404 (not retried)" \
  "404: message names the URL, the page and the status"
assert_not_contains "$OUT" "retry 1 of" "404: no retry logged"
IFS=$'\t' read -r st err <<<"$(last_run)"
assert_eq failed "$st" "404: load_runs says failed"
assert_contains "$err" "HTTP status 404" "404: load_runs keeps the error"

# ---- persistent faults: every attempt fails; the run fails naming URL, page, reason
# (users page 4: the batch of pages 1-2 is committed before it fails; the
# reset on page 1, for the reason given above)
for c in "${cases[@]}"; do
  IFS='|' read -r name rule reason <<<"$c"
  [ "$name" = timeout ] && continue # 4 x 1 s; the transient case covers it
  rule=${rule/,\"times\":2/}
  p=4
  [ "$name" = reset ] && p=1
  clear_faults
  add_faults "[{\"path\":\"/users\",\"page\":$p,\"times\":100,$rule}]"
  ml -c "$T/c.yaml" run --stream users
  assert_eq 1 "$RC" "persistent $name: exit 1"
  assert_contains "$OUT" "GET '$BASE/users?page=$p&limit=4' (page $p): $reason" \
    "persistent $name: message names the URL, the page and the reason"
  case $name in
  invalid-json | non-array)
    # the same invalid body twice would come back every time: no more tries
    assert_eq 2 "$(attempts /users $p)" "persistent $name: the same bad body twice, then no more"
    assert_contains "$OUT" "(the same body 2 times; not retried further)" \
      "persistent $name: message says why it stopped"
    ;;
  *)
    assert_eq 4 "$(attempts /users $p)" "persistent $name: 1 attempt + 3 retries"
    assert_contains "$OUT" "(gave up after 4 attempts)" "persistent $name: message says it gave up"
    ;;
  esac
  IFS=$'\t' read -r st err <<<"$(last_run)"
  assert_eq failed "$st" "persistent $name: load_runs says failed"
  assert_contains "$err" "(page $p): $reason" "persistent $name: load_runs keeps URL, page and reason"
done

# ---- messages fail half-way in a full run, then the rerun completes it
clear_faults
add_faults '[{"path":"/messages","page":5,"times":100,"status":500}]'
ml -c "$T/c.yaml" run
assert_eq 1 "$RC" "messages page 5 failing: run fails"
assert_eq 4 "$(attempts /messages 5)" "messages page 5: 4 attempts"
partial=$(sql_admin "$DB" "SELECT COUNT(*) FROM messages_raw")
if [ "$partial" -lt "$MESSAGES_LOADED" ]; then ok "failed run left messages incomplete ($partial)"; else not_ok "failed run loaded everything?"; fi

# ---- connection refused (nothing listens on port 1): retried, then exit 1
write_config "$T/refused.yaml" "$DB"
sed -i "s|base_url: http://127.0.0.1:$IT_API_PORT/|base_url: http://127.0.0.1:1/|; s|^    page_size: 4\$|    page_size: 4\n    retries: 2\n    retry_base_ms: 10\n    retry_max_ms: 20|" "$T/refused.yaml"
ml -c "$T/refused.yaml" run --stream users
assert_eq 1 "$RC" "connection refused: exit 1"
assert_contains "$OUT" "(page 1): connection failed" "connection refused: reason named"
assert_contains "$OUT" "retry 2 of 2 in" "connection refused: retried"
assert_contains "$OUT" "(gave up after 3 attempts)" "connection refused: gave up after 1 + 2 attempts"

# ---- max_pages caps the walk (users has 4 pages of 4 and an empty 5th)
clear_faults
config_with "$T/cap.yaml" "    max_pages: 2"
ml -c "$T/cap.yaml" run --stream users
assert_eq 1 "$RC" "max_pages 2: exit 1"
assert_contains "$OUT" "more than 2 pages" "max_pages 2: message says why"
assert_eq 0 "$(attempts /users 3)" "max_pages 2: page 3 never requested"

# ---- an API that ignores `page` (the same records on every page): an error
# naming the page, not max_pages fetches
clear_faults
curl -sf -X DELETE "$API/__requests" >/dev/null
add_faults '{"path":"/users","times":1000,"body":"[{\"id\":901,\"createdAt\":\"2021-01-01T00:00:00Z\",\"updatedAt\":\"2021-01-01T00:00:00Z\"}]"}'
ml -c "$T/c.yaml" run --stream users
assert_eq 1 "$RC" "a page equal to the previous one: exit 1"
assert_contains "$OUT" "(page 2): the same records as page 1: the API seems to ignore 'page'" "the message names the page and the likely cause"
assert_eq 0 "$(attempts /users 3)" "page 3 is never requested"
clear_faults
ml -c "$T/c.yaml" run --stream users
assert_eq 0 "$RC" "must-pass twin: the real pages (all different) load"

# ---- a clean rerun completes the work, no duplicates
clear_faults
ml -c "$T/c.yaml" run
assert_eq 0 "$RC" "clean rerun succeeds"
assert_not_contains "$OUT" "retry 1 of" "clean rerun needs no retry"
assert_eq "$USERS_LOADED" "$(sql_admin "$DB" "SELECT COUNT(*) FROM users_raw")" "users_raw rows equal the fixture's"
assert_eq "$SUBSCRIPTIONS_ROWS" "$(sql_admin "$DB" "SELECT COUNT(*) FROM subscriptions_raw")" "subscriptions_raw rows equal the fixture's"
assert_eq "$MESSAGES_LOADED" "$(sql_admin "$DB" "SELECT COUNT(*) FROM messages_raw")" "messages_raw rows equal the fixture's"
assert_eq "$MESSAGES_LOADED" "$(sql_admin "$DB" "SELECT COUNT(DISTINCT message_id) FROM messages_raw")" "no duplicate message"
assert_eq succeeded "$(sql_admin "$DB" "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "load_runs: last run succeeded"
finish
