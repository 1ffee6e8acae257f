#!/usr/bin/env bash
# Two loaders draining one SQS queue at once: every message is loaded (or
# rejected) exactly once, the queue ends empty, and the two runs' counts add
# up to the messages sent.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh; with
# postgres once SQS streams are, IT_PG_PENDING).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sqs-lib.sh"
DB=it_sqs_conc
fresh_db "$DB"
Q=$(sqs_tool create-queue "$SQS_EP" logins-conc)
sqs_tool seed "$SQS_EP" "$Q" 200 "$T/seed" >/dev/null
# shellcheck disable=SC1091
. "$T/seed/seed.env"
write_sqs_config "$T/c.yaml" "$DB" "$Q"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"

# load.batch_size is 7 and a page holds up to 10 messages: each loader
# commits and deletes page by page while the other one receives
set +e
"$MASKLOAD_BIN" -c "$T/c.yaml" run --stream user_logins >"$T/a.log" 2>&1 &
pa=$!
"$MASKLOAD_BIN" -c "$T/c.yaml" run --stream user_logins >"$T/b.log" 2>&1 &
pb=$!
wait "$pa"; ra=$?
wait "$pb"; rb=$?
set -e
assert_eq "0 0" "$ra $rb" "both loaders succeed ($(tail -1 "$T/a.log"); $(tail -1 "$T/b.log"))"
assert_eq 2 "$(sql_admin "$DB" "SELECT COUNT(DISTINCT run_id) FROM load_run_streams WHERE stream='user_logins' AND fetched > 0")" \
  "both loaders took messages"
assert_eq "$SEED_VALID" "$(sql_admin "$DB" "SELECT COUNT(*) FROM user_logins")" "every valid message is one row"
LC_ALL=C sort "$T/seed/expected.tsv" >"$T/expected.sorted"
logins_rows "$DB" >"$T/actual.tsv"
if cmp -s "$T/expected.sorted" "$T/actual.tsv"; then ok "rows exactly as expected"; else not_ok "rows differ: $(diff "$T/expected.sorted" "$T/actual.tsv" | head -4)"; fi
assert_eq "$SEED_MALFORMED" "$(sql_admin "$DB" "SELECT COUNT(DISTINCT record_key) FROM load_rejects")" "every malformed message rejected"
assert_eq "$SEED_MALFORMED" "$(sql_admin "$DB" "SELECT COUNT(*) FROM load_rejects")" "... exactly once"
assert_eq "$SEED_SENT" "$(sql_admin "$DB" "SELECT SUM(loaded + rejected) FROM load_run_streams WHERE stream='user_logins'")" \
  "the two runs' counts add up to the messages sent"
assert_eq "$SEED_DISTINCT_IPS" "$(sql_admin "$DB" "SELECT COUNT(*) FROM sensitive_ip_ids")" \
  "concurrent loaders share one surrogate per ip"
assert_eq "0 0" "$(sqs_count "$Q")" "queue empty"
finish
