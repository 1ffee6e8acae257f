#!/usr/bin/env bash
# CLI contract: usage and configuration errors exit 2 with clear messages;
# failures exit 1 and are recorded. Runs against either warehouse
# (MASKLOAD_TEST_WAREHOUSE, see lib.sh).
. "$(dirname "$0")/lib.sh"
DB=it_cli
fresh_db "$DB"

ml --version; assert_eq 0 "$RC" "--version exits 0"; assert_contains "$OUT" "maskload " "--version prints the version"
ml --help; assert_eq 0 "$RC" "--help exits 0"; assert_contains "$OUT" "usage: maskload" "--help prints usage"
ml; assert_eq 2 "$RC" "no command exits 2"; assert_contains "$OUT" "no command" "no command message"
ml frobnicate; assert_eq 2 "$RC" "unknown command exits 2"; assert_contains "$OUT" "unknown command 'frobnicate'" "names the command"
ml --bogus run; assert_eq 2 "$RC" "unknown option exits 2"; assert_contains "$OUT" "unknown option '--bogus'" "names the option"
ml -c; assert_eq 2 "$RC" "-c without a file exits 2"; assert_contains "$OUT" "option '-c' needs a value" "and says so"
# help of one command, without reading any config (none exists here)
for c in init plan run check status privacy-report reveal forget rekey doctor infer; do
  ml -c "$T/absent.yaml" help "$c"
  assert_eq 0 "$RC" "help $c exits 0 without a config"
  assert_contains "$OUT" "usage: maskload [-c FILE] $c" "help $c prints its usage"
  ml -c "$T/absent.yaml" "$c" --help
  assert_eq 0 "$RC" "$c --help exits 0 without a config"
  assert_contains "$OUT" "usage: maskload [-c FILE] $c" "$c --help prints its usage"
done
ml -c "$T/absent.yaml" run --stream users -h; assert_eq 0 "$RC" "-h after other options"
ml help; assert_eq 0 "$RC" "help alone exits 0"; assert_contains "$OUT" "maskload help COMMAND" "and prints the overview"
ml help frobnicate; assert_eq 2 "$RC" "help of an unknown command exits 2"
assert_contains "$OUT" "commands: init, plan, run" "and lists the commands"
ml -c "$T/absent.yaml" run; assert_eq 2 "$RC" "without --help the config is read (must-fail twin)"
write_config "$T/c.yaml" "$DB"
ml -c "$T/c.yaml" run --nope; assert_eq 2 "$RC" "unknown run option exits 2"
# every command parses its options alike: the command and the option named
for c in init plan run check status privacy-report reveal forget rekey doctor infer; do
  ml -c "$T/c.yaml" "$c" --nope
  assert_eq 2 "$RC" "$c --nope exits 2"
  assert_contains "$OUT" "maskload: $c: unknown option '--nope'" "$c names itself and the option"
  ml -c "$T/c.yaml" "$c" stray
  assert_contains "$OUT" "maskload: $c: unexpected argument 'stray'" "$c refuses a stray argument"
done
for c in "run --stream" "check --format" "status --limit" "infer --source"; do
  ml -c "$T/c.yaml" $c
  assert_eq 2 "$RC" "$c without its value exits 2"
  assert_contains "$OUT" "maskload: ${c%% *}: option '${c#* }' needs a value" "$c: the option named"
done
ml -c "$T/c.yaml" check --format xml; assert_eq 2 "$RC" "bad check format exits 2"
ml -c "$T/c.yaml" run --stream nope; assert_eq 2 "$RC" "unknown stream exits 2"
assert_contains "$OUT" "unknown stream 'nope' (streams: users, messages)" "names the stream and lists the configured ones"
ml -c "$T/missing.yaml" run; assert_eq 2 "$RC" "missing config exits 2"; assert_contains "$OUT" "missing.yaml" "names the file"

# config errors: file:line:column and key
cp "$T/c.yaml" "$T/typo.yaml"
sed -i 's/^  password: \${MASKLOAD_LOADER_PASSWORD}/  pasword: x/' "$T/typo.yaml"
ml -c "$T/typo.yaml" init; assert_eq 2 "$RC" "unknown key exits 2"
line=$(grep -n '^  pasword: x' "$T/typo.yaml" | cut -d: -f1)
assert_contains "$OUT" "typo.yaml:$line:3: unknown key 'pasword' in 'warehouse' (did you mean 'password'?)" "unknown key with file:line:column, and the key meant"
( unset MASKLOAD_LOADER_PASSWORD; "$MASKLOAD_BIN" -c "$T/c.yaml" run >"$T/unset.out" 2>&1; echo $? >"$T/unset.rc" ) || true
assert_eq 2 "$(cat "$T/unset.rc")" "unset variable exits 2"
assert_contains "$(cat "$T/unset.out")" "MASKLOAD_LOADER_PASSWORD" "names the variable"
assert_contains "$(cat "$T/unset.out")" "c.yaml:$(grep -n 'MASKLOAD_LOADER_PASSWORD' "$T/c.yaml" | head -1 | cut -d: -f1):" "and where"
printf 'warehouse: [\n' >"$T/syntax.yaml"
ml -c "$T/syntax.yaml" run; assert_eq 2 "$RC" "yaml syntax error exits 2"; assert_contains "$OUT" "syntax.yaml:" "names the file"

# failures exit 1 and say what and where, and what to do
fresh_db it_cli_never
write_config "$T/never.yaml" it_cli_never
ml -c "$T/never.yaml" run; assert_eq 1 "$RC" "a database init never made: exit 1"
assert_contains "$OUT" "$(wh_pick "(error 1044); run \`maskload init\` first" "run \`maskload init\` if the account does not exist yet")" "it says to run init"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
write_config "$T/down.yaml" "$DB"
sed -i "s|base_url: http://127.0.0.1:$IT_API_PORT/|base_url: http://127.0.0.1:9/|" "$T/down.yaml"
ml -c "$T/down.yaml" run; assert_eq 1 "$RC" "unreachable API exits 1"
assert_contains "$OUT" "http://127.0.0.1:9/evaluation/dataengineer/jr/v1/users?page=1" "names the URL"
assert_eq "failed" "$(sql_admin "$DB" "SELECT status FROM load_runs ORDER BY run_id DESC LIMIT 1")" "failed run recorded"
assert_contains "$(sql_admin "$DB" "SELECT error_text FROM load_runs ORDER BY run_id DESC LIMIT 1")" "127.0.0.1:9" "error text recorded"
write_config "$T/nodb.yaml" "$DB"
sed -i "s/port: $(wh_pick "$IT_DB_PORT" "${PG_PORT:-}")$/port: 9/" "$T/nodb.yaml"
ml -c "$T/nodb.yaml" run; assert_eq 1 "$RC" "unreachable database exits 1"
assert_contains "$OUT" "cannot connect to '127.0.0.1:9'" "names the server"
# wrong password: denied, exit 1, password not echoed
MASKLOAD_LOADER_PASSWORD=wrong-Secret-123 ml -c "$T/c.yaml" run
assert_eq 1 "$RC" "wrong password exits 1"
assert_not_contains "$OUT" "wrong-Secret-123" "password not in the message"
assert_contains "$OUT" "$(wh_pick "(error 1045); check the password" "; check the password")" "and says what to check"
finish
