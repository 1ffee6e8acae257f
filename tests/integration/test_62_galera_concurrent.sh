#!/usr/bin/env bash
# Two loaders at once on a Galera cluster, one through node 1 and one
# through node 2, on the same data: both finish (a certification conflict,
# error 1213 on commit, retries the whole batch transaction, and the run
# logs how many it retried); every value has one surrogate cluster-wide, and
# the rows equal those of a single undisturbed run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/galera-lib.sh"
REF=it_galera_cref_$$
DB=it_galera_conc_$$
galera_config "$T/ref.yaml" "$REF" 3 1 2
ml -c "$T/ref.yaml" init; assert_eq 0 "$RC" "init of the reference"
ml -c "$T/ref.yaml" run; assert_eq 0 "$RC" "the reference run"

galera_config "$T/n1.yaml" "$DB" 1 2 3
galera_config "$T/n2.yaml" "$DB" 2 1 3
ml -c "$T/n1.yaml" init; assert_eq 0 "$RC" "init"
retries=0
for round in 1 2 3; do
  "$MASKLOAD_BIN" -c "$T/n1.yaml" run >"$T/a$round.log" 2>&1 &
  a=$!
  "$MASKLOAD_BIN" -c "$T/n2.yaml" run >"$T/b$round.log" 2>&1 &
  b=$!
  set +e; wait "$a"; ra=$?; wait "$b"; rb=$?; set -e
  assert_eq "0 0" "$ra $rb" "round $round: both loaders finish ($(tail -n1 "$T/a$round.log" | cut -c1-200) / $(tail -n1 "$T/b$round.log" | cut -c1-200))"
  n=$(cat "$T/a$round.log" "$T/b$round.log" | grep -c "retrying the whole batch transaction" || true)
  retries=$((retries + n))
  if [ "$n" -gt 0 ]; then
    assert_contains "$(cat "$T/a$round.log" "$T/b$round.log")" "batch transaction(s) retried" "round $round: the retries are counted at the end of the run"
  fi
  for k in 1 2 3; do
    for kind in city zipcode profession; do
      assert_eq 0 "$(gsql "$k" "$DB" "SET SESSION wsrep_sync_wait=1; SELECT COUNT(*) - COUNT(DISTINCT digest) FROM sensitive_${kind}_ids")" \
        "round $round: node $k: one surrogate per $kind value"
    done
  done
done
echo "# certification conflicts / deadlocks retried over 3 rounds: $retries"
ok "transaction retries logged over the rounds: $retries"
surrogate_checks "$DB" 2
assert_eq "$(canon "$REF" 3)" "$(canon "$DB" 3)" "the rows equal a single run's"
assert_eq "$(gsql 1 "$DB" "SELECT COUNT(*) FROM sensitive_city_ids")" \
  "$(gsql 1 "$REF" "SELECT COUNT(*) FROM sensitive_city_ids")" "as many city surrogates as one run makes"
finish
