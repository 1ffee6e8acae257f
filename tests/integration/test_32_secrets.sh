#!/usr/bin/env bash
# Secrets never appear in logs, error messages, tables, `ps`
# output or core files. The logs (stderr, debug level) of init, run, check and
# status, and of failing runs (wrong passwords, a bad host), are searched for
# every configured password and the digest key; so are every table and the
# command lines of live loader processes. The loader disables core dumps for
# itself: RLIMIT_CORE 0 and not dumpable (/proc/<pid>/* then belong to root).
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_secrets
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
SECRETS=("$MASKLOAD_ADMIN_PASSWORD" "$MASKLOAD_LOADER_PASSWORD" "$MASKLOAD_ANALYST_PASSWORD"
         "$MASKLOAD_STEWARD_PASSWORD" "$(digest_key)")
NAMES=(admin loader analyst steward digest_key)
for i in "${!SECRETS[@]}"; do
  [ "${#SECRETS[$i]}" -ge 16 ] || { echo "secret ${NAMES[$i]} missing or short"; exit 1; }
done

# no_secret TEXT WHAT: asserts that TEXT holds none of the secrets (nor the
# wrong passwords of the failing runs below)
WRONG=wrong-pass-$$-c0ffee
no_secret() {
  local text=$1 what=$2 i bad=""
  for i in "${!SECRETS[@]}"; do
    [[ "$text" == *"${SECRETS[$i]}"* ]] && bad="$bad ${NAMES[$i]}"
  done
  [[ "$text" == *"$WRONG"* ]] && bad="$bad wrong-password"
  if [ -z "$bad" ]; then ok "no secret in $what"; else not_ok "$what holds:$bad"; fi
}

LOGS=""
for cmd in init run check status; do
  ml -v -c "$T/c.yaml" $cmd
  [ "$cmd" == check ] && want=3 || want=0
  assert_eq "$want" "$RC" "$cmd -v exits $want"
  no_secret "$OUT" "the debug log of $cmd"
  LOGS+=$OUT
done
assert_contains "$LOGS" "debug:" "the logs were taken at debug level"

# failing runs: their messages name what failed, never the secret
MASKLOAD_LOADER_PASSWORD=$WRONG ml -v -c "$T/c.yaml" run
assert_eq 1 "$RC" "run with a wrong loader password fails"
assert_contains "$OUT" "$(account loader "$DB")" "the error names the account"
no_secret "$OUT" "the log of a run with a wrong password"
MASKLOAD_ADMIN_PASSWORD=$WRONG ml -v -c "$T/c.yaml" init
assert_eq 1 "$RC" "init with a wrong admin password fails"
no_secret "$OUT" "the log of an init with a wrong admin password"
write_config "$T/badhost.yaml" "$DB"
sed -i 's/^  host: 127.0.0.1$/  host: no-such-host.invalid/' "$T/badhost.yaml"
ml -v -c "$T/badhost.yaml" run
assert_eq 1 "$RC" "run against a bad host fails"
assert_contains "$OUT" "no-such-host.invalid" "the error names the host"
no_secret "$OUT" "the log of a run against a bad host"
write_config "$T/badport.yaml" "$DB"
sed -i "s/^  port: $(wh_pick "$IT_DB_PORT" "${PG_PORT:-}")$/  port: 1/" "$T/badport.yaml"
assert_contains "$(cat "$T/badport.yaml")" "  port: 1" "the configuration names a closed port"
ml -v -c "$T/badport.yaml" status
assert_eq 1 "$RC" "status against a closed port fails"
no_secret "$OUT" "the log of a status against a closed port"
ml -v -c "$T/c.yaml" run --stream no_such_stream
no_secret "$OUT" "a usage error"

# nothing in the warehouse either (load_runs.error_text, rejects, ...)
dump_tables "$DB"
assert_contains "$(cat "$T"/dump_*.sql)" "$(wh_pick 'INSERT INTO `load_runs`' 'INSERT INTO maskload.load_runs')" "the dump holds the run log"
no_secret "$(cat "$T"/dump_*.sql)" "any table of the warehouse"

# A live loader process. Its config is a FIFO, so it waits, deterministically,
# in config_load() -- after the core-dump settings, which come first in main().
# When root, it runs as nobody: /proc/<pid>/status of a dumpable process
# belongs to the process's user, of a non-dumpable one to root.
P=$(mktemp -d /tmp/maskload-secrets.XXXXXX)
LIVE_PID=""
cleanup() {
  [ -n "$LIVE_PID" ] && kill "$LIVE_PID" 2>/dev/null
  exec 3>&-
  rm -rf "$P"
}
trap cleanup EXIT
chmod 755 "$P"
cp "$MASKLOAD_BIN" "$P/maskload"
chmod 755 "$P/maskload"
mkfifo -m 666 "$P/config.yaml"
exec 3<>"$P/config.yaml" # a writer that never blocks: the loader's open() succeeds, its read() waits
if [ "$(id -u)" -eq 0 ]; then
  AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  USER_OF_PROCESS=$(id -un 65534)
else
  AS=()
  USER_OF_PROCESS=$(id -un)
fi

# control: a process of the same user that is dumpable, waiting the same way
# (3>&-: the children must not inherit the writer, or the loader never sees EOF)
"${AS[@]}" cat "$P/config.yaml" >/dev/null 3>&- &
CTRL_PID=$!
"${AS[@]}" "$P/maskload" -v -c "$P/config.yaml" run >"$P/live.log" 2>&1 3>&- &
LIVE_PID=$!
opened=0
for _ in $(seq 1 200); do
  if ls -l "/proc/$LIVE_PID/fd" 2>/dev/null | grep -q "$P/config.yaml"; then opened=1; break; fi
  kill -0 "$LIVE_PID" 2>/dev/null || break
  sleep 0.05
done
assert_eq 1 "$opened" "the loader is waiting on its config"
if [ "$opened" -eq 1 ]; then
  assert_eq "$USER_OF_PROCESS" "$(stat -c %U "/proc/$CTRL_PID/status")" \
    "control: a dumpable process's /proc files belong to its user"
  assert_eq root "$(stat -c %U "/proc/$LIVE_PID/status")" \
    "the loader is not dumpable (PR_SET_DUMPABLE 0): its /proc files belong to root"
  assert_eq "0 0" "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$LIVE_PID/limits")" \
    "the loader's core file size limit is 0 (soft and hard)"
  no_secret "$(tr '\0' ' ' <"/proc/$LIVE_PID/cmdline")" "the loader's /proc cmdline"
  no_secret "$(ps -eo pid,args)" "ps output while loaders run"
fi
exec 3>&- # EOF: the loader reads an empty config and exits
kill "$CTRL_PID" 2>/dev/null || true
live_rc=0
wait "$LIVE_PID" || live_rc=$?
LIVE_PID=""
assert_eq 2 "$live_rc" "the loader exits 2 on the empty config"
no_secret "$(cat "$P/live.log")" "the log of the live loader"
finish
