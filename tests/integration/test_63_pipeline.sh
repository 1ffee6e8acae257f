#!/usr/bin/env bash
# The batch writer thread (load.writer: thread, the default) loads exactly
# what batches written in line (load.writer: inline) load: the same rows, the
# same surrogate ids for the same values (resolved batch by batch, in
# order), the same bookkeeping; a batch the server refuses fails the run with
# the server's message, and neither it nor the batch mapped meanwhile is
# written; -v logs the per-stage times; a bad load.writer is a config error.
#
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"

# dump DB: data columns in key order, then every surrogate table id by id
dump() {
  sql_admin "$1" "SELECT user_id, created_at, updated_at, city_id, country, zipcode_id, email_domain,
      birth_year, gender, is_smoking, profession_id, income FROM users_raw ORDER BY user_id"
  sql_admin "$1" "SELECT user_id, subscription_no, created_at, start_date, end_date, status, amount
    FROM subscriptions_raw ORDER BY user_id, subscription_no"
  sql_admin "$1" "SELECT message_id, created_at, sender_id, receiver_id FROM messages_raw ORDER BY message_id"
  for k in city zipcode profession; do
    sql_admin "$1" "SELECT id, $(wh_hex value) FROM sensitive_${k}_ids ORDER BY id"
  done
}
bookkeeping() {
  sql_admin "$1" "SELECT stream, pages, fetched, loaded, rejected, surrogates_created, duplicates
    FROM load_run_streams ORDER BY stream"
  sql_admin "$1" "SELECT COUNT(*) FROM load_rejects"
}

# ---- 1. thread and inline load the same ----
for w in thread inline; do
  fresh_db "it_pipe_$w"
  WRITE_CONFIG_LOAD="  writer: $w" write_config "$T/$w.yaml" "it_pipe_$w"
  ml -c "$T/$w.yaml" init; assert_eq 0 "$RC" "init ($w)"
  ml -v -c "$T/$w.yaml" run
  assert_eq 0 "$RC" "run with load.writer $w: $OUT"
  echo "$OUT" >"$T/$w.log"
done
assert_contains "$(cat "$T/thread.log")" "stream 'users': batches written by the writer thread while the next one is mapped" \
  "thread: the writer thread writes the batches"
assert_contains "$(cat "$T/inline.log")" "stream 'users': batches written in line" "inline: no writer thread"
assert_not_contains "$(cat "$T/inline.log")" "writer thread while" "inline: not the thread"
assert_contains "$(cat "$T/thread.log")" "stages (wall s): main thread: fetch wait" "-v logs the time per stage"
assert_contains "$(cat "$T/thread.log")" "stages (cpu s): main thread" "and the CPU per thread"
assert_eq "$USERS_LOADED" "$(sql_admin it_pipe_thread "SELECT COUNT(*) FROM users_raw")" "thread: users loaded"
assert_eq "$MESSAGES_LOADED" "$(sql_admin it_pipe_thread "SELECT COUNT(*) FROM messages_raw")" "thread: messages loaded"
assert_eq "$(dump it_pipe_inline)" "$(dump it_pipe_thread)" "thread and inline: same rows and the same surrogate id for every value"
assert_eq "$(bookkeeping it_pipe_inline)" "$(bookkeeping it_pipe_thread)" "and the same counts in load_run_streams and load_rejects"

# ---- 2. a rerun through the thread writes nothing new and changes nothing ----
before=$(dump it_pipe_thread)
ml -c "$T/thread.yaml" run; assert_eq 0 "$RC" "rerun with the writer thread"
assert_eq "$before" "$(dump it_pipe_thread)" "the rerun leaves every row and surrogate as it was"

# ---- 3. a batch refused by the server: the run fails, later batches are not written ----
# pages of 4, batches of 7 records: messages are written in batches of 8
# (positions 1-8, 9-16, 17-24, 25-27); message 18 is in the third
fresh_db it_pipe_fail
WRITE_CONFIG_LOAD="  writer: thread" write_config "$T/fail.yaml" it_pipe_fail
ml -c "$T/fail.yaml" init; assert_eq 0 "$RC" "init (refusal)"
sql_admin it_pipe_fail "$(wh_refuse refuse_18 messages_raw "NEW.message_id = 18" "message 18 refused")"
ml -c "$T/fail.yaml" run
assert_eq 1 "$([ "$RC" -ne 0 ] && echo 1 || echo 0)" "a batch refused by the server fails the run (rc $RC)"
assert_contains "$OUT" "message 18 refused" "with the server's message"
assert_contains "$OUT" "stream 'messages'" "naming the stream"
assert_eq "$USERS_LOADED" "$(sql_admin it_pipe_fail "SELECT COUNT(*) FROM users_raw")" "the users stream, before, is committed"
assert_eq "15 15" "$(sql_admin it_pipe_fail "SELECT COUNT(*), MAX(message_id) FROM messages_raw" | tr '\t' ' ')" \
  "the two batches before the refused one are committed, whole"
assert_eq 0 "$(sql_admin it_pipe_fail "SELECT COUNT(*) FROM messages_raw WHERE message_id >= 16")" \
  "neither the refused batch nor the one mapped meanwhile is written"
assert_eq "failed" "$(sql_admin it_pipe_fail "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "the run is recorded failed"
assert_eq 15 "$(sql_admin it_pipe_fail "SELECT loaded FROM load_run_streams WHERE stream='messages' ORDER BY run_id DESC LIMIT 1")" \
  "its bookkeeping counts the committed batches only"
sql_admin it_pipe_fail "DROP TRIGGER refuse_18$(wh_pick "" " ON messages_raw")"
ml -c "$T/fail.yaml" run; assert_eq 0 "$RC" "the next run completes the work"
assert_eq "$MESSAGES_LOADED" "$(sql_admin it_pipe_fail "SELECT COUNT(*) FROM messages_raw")" "every message is loaded then"

# ---- 4. must fail: load.writer takes thread or inline only ----
WRITE_CONFIG_LOAD="  writer: threads" write_config "$T/bad.yaml" it_pipe_bad
ml -c "$T/bad.yaml" plan
assert_eq 2 "$RC" "an unknown load.writer is a config error: $OUT"
assert_contains "$OUT" "bad.yaml:" "with the file"
assert_contains "$OUT" "writer" "and the key"
assert_contains "$OUT" "thread or inline" "and what it takes"

finish
