# Helpers of the SQS integration tests (sourced after lib.sh): one SQS
# emulator per test on loopback, stopped when the test exits; a config with an
# sqs source. A machine without the emulator makes the test a skip (exit 77).
SQS_EMU="$SOURCE_DIR/tests/integration/sqs-emulator.sh"
"$SQS_EMU" install
"$SQS_EMU" start "$T/sqs"
trap '"$SQS_EMU" stop "$T/sqs"' EXIT
SQS_EP="http://127.0.0.1:$(cat "$T/sqs/sqs.port")"
# fauxqs checks no signature; maskload signs anyway, with these
export AWS_ACCESS_KEY_ID=AKIDMASKLOADTEST AWS_SECRET_ACCESS_KEY=test-secret-not-real
unset AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION

sqs_tool() { "$SQS_EMU" tool "$@"; }
# sqs_count URL -> "<visible> <in flight>"
sqs_count() { sqs_tool count "$SQS_EP" "$1"; }

# write_sqs_config FILE DB QUEUE_URL [extra source keys, one per line, indented 4]
# (SQS_VISIBILITY: the source's visibility_timeout, default 30)
# The warehouse part and the api source of write_config, plus a source
# `logins` (kind sqs, endpoint = the emulator) and the stream user_logins.
write_sqs_config() {
  local file=$1 db=$2 url=$3 extra=${4:-}
  write_config "$file" "$db" "  user_logins: { source: logins }"
  local src
  src=$(printf '  logins:\n    kind: sqs\n    queue_url: %s\n    endpoint: %s\n    region: us-east-1\n    wait_seconds: 1\n    visibility_timeout: %s\n%s' \
    "$url" "$SQS_EP" "${SQS_VISIBILITY:-30}" "$extra")
  awk -v src="$src" '{ print } /^sources:$/ { print src }' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
}

# wait_in_flight_zero URL: waits (bounded, ~60 s) until no message of the queue
# is in flight, i.e. every visibility timeout has expired.
wait_in_flight_zero() {
  local c
  for _ in $(seq 1 200); do
    c=$(sqs_count "$1")
    [ "${c#* }" = 0 ] && return 0
    sleep 0.2
  done
  echo "messages still in flight after ~60 s: $c" >&2
  return 1
}

# logins_rows DB -> the loaded rows with the surrogates resolved (as admin),
# in the order and format of the seed's expected.tsv
logins_rows() {
  sql_admin "$1" "SELECT l.message_id, l.user_id, l.device_type, i.value, d.value, l.locale,
      l.app_version, l.app_version_major
    FROM user_logins l LEFT JOIN sensitive_ip_ids i ON i.id = l.ip_id
    LEFT JOIN sensitive_device_ids d ON d.id = l.device_id ORDER BY l.message_id" | LC_ALL=C sort
}
