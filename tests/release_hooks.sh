#!/usr/bin/env bash
# release_hooks.sh RELEASE_BIN TEST_BIN: the release binary holds none of the
# test hooks' names (MASKLOAD_TEST_*), the test binary holds each of them.
set -uo pipefail
rel=$1 tst=$2 fails=0
hooks=(MASKLOAD_TEST_KILL_AT MASKLOAD_TEST_PAUSE_AT MASKLOAD_TEST_PAUSE_FILE
  MASKLOAD_TEST_CRASH_AFTER_COMMIT MASKLOAD_TEST_REKEY_STOP_IN MASKLOAD_TEST_REKEY_STOP_AFTER
  MASKLOAD_TEST_NOW)
if grep -a -o 'MASKLOAD_TEST_[A-Z_]*' "$rel" | sort -u | grep .; then
  echo "not ok - the release binary $rel names the test hooks above"
  fails=1
else
  echo "ok - the release binary names no MASKLOAD_TEST_* hook"
fi
for h in "${hooks[@]}"; do
  if grep -a -q "$h" "$tst"; then
    echo "ok - the test binary has $h"
  else
    echo "not ok - the test binary lacks $h (the check would not see a hook)"
    fails=1
  fi
done
exit "$fails"
