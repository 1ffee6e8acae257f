#!/usr/bin/env bash
# A user's subscription array that shrinks between runs loses the rows past
# its new end, in the transaction that loads the user; rows of users whose
# arrays did not change stay untouched (same load_run_id). The same within
# one run into fresh tables: a user served again in a later batch with a
# shorter array keeps only the later rows (with PostgreSQL the later batch
# cannot go by a direct COPY, and its child tails are deleted). The data is
# served by a second fixture_api from a directory the test rewrites between
# runs. On both warehouses.
. "$(dirname "$0")/lib.sh"
DB=it_shrink
fresh_db "$DB"
mkdir -p "$T/data"
sub() { printf '{"createdAt":"2021-0%s-01T00:00:00.000Z","startDate":"2021-0%s-01T00:00:00.000Z","endDate":"2099-12-31T00:00:00.000Z","status":"Active","amount":"9.99"}' "$1" "$1"; }
user() { # user ID SUBS...
  local id=$1 subs="" s; shift
  for s in "$@"; do subs+="${subs:+,}$(sub "$s")"; done
  printf '{"id":"%s","createdAt":"2021-01-01T00:00:00.000Z","city":"Zqcity%s","subscription":[%s]}' "$id" "$id" "$subs"
}
# serves the rewritten data directory and points the config at it
serve() {
  start_api "$T/data"
  write_config "$T/c.yaml" "$DB"
  sed -i "s|http://127.0.0.1:$IT_API_PORT/|http://127.0.0.1:$API_PORT/|; /messages:/d" "$T/c.yaml"
}
q() { sql_admin "$DB" "$1"; }

echo "[$(user 1 1 2 3),$(user 2 4 5),$(user 3 6)]" >"$T/data/users.json"
serve
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "first run"
assert_eq "1:3 2:2 3:1" "$(q "SELECT user_id, COUNT(*) FROM subscriptions_raw GROUP BY user_id ORDER BY user_id" | tr '\t' ':' | paste -sd' ')" \
  "first run: 3, 2 and 1 subscriptions"
first_run=$(q "SELECT MAX(run_id) FROM load_runs")

# user 1 drops two subscriptions, user 3 loses its only one; user 2 unchanged
echo "[$(user 1 1),$(user 2 4 5),$(user 3)]" >"$T/data/users.json"
serve
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "second run"
assert_eq "1:1 2:2" "$(q "SELECT user_id, COUNT(*) FROM subscriptions_raw GROUP BY user_id ORDER BY user_id" | tr '\t' ':' | paste -sd' ')" \
  "rows past each array's new end are gone"
assert_eq "0" "$(q "SELECT MAX(subscription_no) FROM subscriptions_raw WHERE user_id=1")" "user 1 keeps its first element"
assert_eq "$first_run" "$(q "SELECT MIN(load_run_id) FROM subscriptions_raw WHERE user_id=2")" \
  "unchanged rows keep their load_run_id"
# must-fail twin: an array that grows back adds rows again
echo "[$(user 1 1 2),$(user 2 4 5),$(user 3 6)]" >"$T/data/users.json"
serve
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "third run"
assert_eq "1:2 2:2 3:1" "$(q "SELECT user_id, COUNT(*) FROM subscriptions_raw GROUP BY user_id ORDER BY user_id" | tr '\t' ':' | paste -sd' ')" \
  "grown arrays add their rows"

# within one run into fresh tables: pages of 4 and batches of 7 records end
# the first batch after 8 users; user 1 comes again in the second batch with
# one subscription instead of three
DB=it_shrink_run
fresh_db "$DB"
recs=$(user 1 1 2 3)
for i in 2 3 4 5 6 7 8; do recs+=",$(user "$i" 4)"; done
recs+=",$(user 1 5),$(user 9 6)"
echo "[$recs]" >"$T/data/users.json"
serve
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init (one run)"
ml -v -c "$T/c.yaml" run; assert_eq 0 "$RC" "a run serving user 1 twice"
assert_eq "1:1 2:1 3:1 4:1 5:1 6:1 7:1 8:1 9:1" \
  "$(q "SELECT user_id, COUNT(*) FROM subscriptions_raw GROUP BY user_id ORDER BY user_id" | tr '\t' ':' | paste -sd' ')" \
  "the later record's one subscription replaces the earlier three"
assert_eq "2021-05-01" "$(q "SELECT $(wh_pick "DATE_FORMAT(start_date, '%Y-%m-%d')" "to_char(start_date, 'YYYY-MM-DD')") FROM subscriptions_raw WHERE user_id = 1")" \
  "and it is the later record's"
finish
