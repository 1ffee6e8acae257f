#!/usr/bin/env bash
# contrib/systemd: the service and timer pass `systemd-analyze verify` with no
# warning (a unit with a bad value is flagged: the must-fail twin), and the
# example config reads its secrets from $CREDENTIALS_DIRECTORY. Skipped
# (exit 77) where systemd-analyze is missing.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null 2>&1 || { echo "# skip: systemd-analyze not installed"; exit 77; }
C="$SOURCE_DIR/contrib/systemd"
# the units as installed, with this build's binary (verify checks ExecStart)
sed "s|/usr/local/bin/maskload|$MASKLOAD_BIN|" "$C/maskload.service" >"$T/maskload.service"
cp "$C/maskload.timer" "$T/maskload.timer"
verify() { (cd "$T" && systemd-analyze verify "$@" 2>&1); }
out=$(verify "$T/maskload.service" "$T/maskload.timer"); rc=$?
assert_eq 0 "$rc" "systemd-analyze verify passes"
assert_eq "" "$out" "and prints no warning"
sed 's/^ProtectSystem=strict/ProtectSystem=bogus/' "$T/maskload.service" >"$T/bad.service"
out=$(verify "$T/bad.service" || true)
assert_contains "$out" "bogus" "must-fail twin: a bad value is reported"
svc=$(cat "$C/maskload.service")
for k in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes LoadCredential=loader-password: LimitCORE=0; do
  assert_contains "$svc" "$k" "the service sets $k"
done
assert_not_contains "$svc" "PASSWORD=" "no secret in the unit's environment"

# the example config takes every secret from the credentials directory
mkdir -p "$T/creds"
(umask 077; echo "pw-not-used" >"$T/creds/loader-password"; openssl rand -hex 32 >"$T/creds/digest-key")
sed "s|port: 3306|port: 1|" "$C/maskload.yaml" >"$T/m.yaml"   # nothing listens there
CREDENTIALS_DIRECTORY="$T/creds" ml -c "$T/m.yaml" status
assert_eq 1 "$RC" "with the credentials the config is valid (status then fails to connect: exit 1)"
assert_contains "$OUT" "127.0.0.1" "it tried the warehouse"
( unset CREDENTIALS_DIRECTORY; ml -c "$T/m.yaml" status; echo "$RC" >"$T/rc2"; echo "$OUT" >"$T/out2" )
assert_eq 2 "$(cat "$T/rc2")" "without CREDENTIALS_DIRECTORY the config is refused (exit 2)"
assert_contains "$(cat "$T/out2")" "CREDENTIALS_DIRECTORY" "naming the variable"
finish
