#!/usr/bin/env bash
# `run --metrics-file PATH`: the run's Prometheus textfile, written whole
# (temporary file + rename): per stream the run's counts, its duration and
# the last success time; the run's status. After a failed run it says 0;
# a file that cannot be written fails the run's exit status, naming it.
# Runs against either warehouse (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_metrics
fresh_db "$DB"
write_config "$T/c.yaml" "$DB"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run --metrics-file "$T/maskload.prom"
assert_eq 0 "$RC" "run with --metrics-file"
m=$(cat "$T/maskload.prom")
run=$(sql_admin "$DB" "SELECT MAX(run_id) FROM load_runs")
assert_contains "$m" "maskload_run_success 1" "the run's status"
assert_contains "$m" "maskload_run_id $run" "its id"
assert_contains "$m" "maskload_stream_records_loaded{stream=\"users\"} $USERS_LOADED" "users loaded"
assert_contains "$m" "maskload_stream_records_rejected{stream=\"users\"} $USERS_REJECTED" "users rejected"
assert_contains "$m" "maskload_stream_records_fetched{stream=\"messages\"} $(sql_admin "$DB" "SELECT fetched FROM load_run_streams WHERE run_id=$run AND stream='messages'")" \
  "messages fetched, as in load_run_streams"
assert_contains "$m" "# TYPE maskload_stream_duration_seconds gauge" "durations are gauges"
grep -q '^maskload_stream_duration_seconds{stream="users"} [0-9.e-]*$' "$T/maskload.prom" && ok "users has a duration" || not_ok "no users duration in: $m"
fin=$(sql_admin "$DB" "SELECT $(wh_pick "UNIX_TIMESTAMP(finished_at)" "extract(epoch FROM finished_at)") FROM load_runs WHERE run_id=$run")
ls_users=$(sed -n 's/^maskload_stream_last_success_timestamp_seconds{stream="users"} //p' "$T/maskload.prom")
assert_eq "${fin%.*}" "${ls_users%.*}" "the last success of users is this run's end"
assert_eq "" "$(ls "$T" | grep 'maskload.prom.tmp' || true)" "no temporary file is left"
# a failed run: status 0, the last success stays the earlier run's
sed "s|base_url: http://127.0.0.1:$IT_API_PORT/|base_url: http://127.0.0.1:9/|" "$T/c.yaml" >"$T/down.yaml"
ml -c "$T/down.yaml" run --metrics-file "$T/maskload.prom"
assert_eq 1 "$RC" "a failed run exits 1"
assert_contains "$OUT" "127.0.0.1:9" "with the run's own error, not the metrics'"
m=$(cat "$T/maskload.prom")
assert_contains "$m" "maskload_run_success 0" "the metrics say it failed"
assert_contains "$m" "maskload_stream_last_success_timestamp_seconds{stream=\"users\"} ${fin%.*}" "the last success is still the earlier run"
# must fail: a file that cannot be written
ml -c "$T/c.yaml" run --metrics-file "$T/no/such/dir/m.prom"
assert_eq 1 "$RC" "an unwritable metrics file fails the exit status"
assert_contains "$OUT" "metrics file '$T/no/such/dir/m.prom" "and names it"
finish
