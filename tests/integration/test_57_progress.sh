#!/usr/bin/env bash
# Progress of a long stream. Off a terminal: an info line per stream every
# log.progress_interval seconds (none with 0). On a terminal (a pseudo-tty
# from `script`): a live line redrawn in place, with records, records/s,
# pages, rejects, elapsed, and for a file a percentage and ETA; cleared
# before the summary. -q silences both.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null 2>&1 || { echo "# skip: script (util-linux) not installed"; exit 77; }
DB=it_progress
fresh_db "$DB"
API=http://127.0.0.1:$IT_API_PORT
# a slow API: every page of /users takes 0.6 s
curl -sf -X DELETE "$API/__faults" >/dev/null
trap 'curl -sf -X DELETE "$API/__faults" >/dev/null || true' EXIT
curl -sf -X POST --data '{"path":"/users","times":100,"delay_ms":600}' "$API/__faults" >/dev/null
WRITE_CONFIG_LOAD="  prefetch_pages: 0" write_config "$T/c.yaml" "$DB" "log: { progress_interval: 1 }"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init"
ml -c "$T/c.yaml" run --stream users
assert_eq 0 "$RC" "a slow run"
n=$(grep -c "stream 'users': [0-9]* records so far" <<<"$OUT" || true)
if [ "$n" -ge 2 ]; then ok "off a terminal: $n progress lines for a ~3 s stream at a 1 s interval"; else not_ok "progress lines: $n in $OUT"; fi
if grep -Eq "records so far \([0-9]+/s\), [0-9]+ pages, [0-9]+ rejects, 0:0[0-9] elapsed" <<<"$OUT"; then
  ok "a progress line counts records/s, pages, rejects and elapsed"
else
  not_ok "progress line format: $(grep 'so far' <<<"$OUT" | head -1)"
fi
sed 's/progress_interval: 1/progress_interval: 0/' "$T/c.yaml" >"$T/quiet.yaml"
ml -c "$T/quiet.yaml" run --stream users
assert_not_contains "$OUT" "records so far" "must-fail twin: progress_interval 0 prints none"
curl -sf -X DELETE "$API/__faults" >/dev/null

# on a terminal: a big JSON Lines file, with a percentage
awk 'BEGIN { for (i = 1; i <= 300000; i++) printf "{\"id\":%d,\"v\":\"value %d\"}\n", i, i }' >"$T/big.jsonl"
cat >"$T/t.yaml" <<YAML
$(config_head "$DB")
$(pii_section)
load: { batch_size: 5000 }
sources:
  big: { kind: file, path: big.jsonl, page_size: 500 }
streams:
  big:
    source: big
    table: big_raw
    key: [id]
    columns:
      - { name: id, from: id, type: bigint, required: true }
      - { name: v,  from: v,  type: varchar(32) }
YAML
ml -c "$T/t.yaml" init; assert_eq 0 "$RC" "init of the file stream"
script -qfec "$MASKLOAD_BIN -c $T/t.yaml run" "$T/tty.log" >/dev/null 2>&1 </dev/null
tty=$(cat "$T/tty.log")
assert_contains "$tty" $'\r\033[K'"big: " "on a terminal the line is redrawn in place"
if grep -aq 'big: [0-9]* records ([0-9]*/s), [0-9]* pages, 0 rejects, [0-9]*:[0-9][0-9], [0-9]*%, ETA ' "$T/tty.log"; then
  ok "with records/s, pages, rejects, elapsed, percentage and ETA"
else
  not_ok "no live line with a percentage in: $(tr '\r' '\n' <"$T/tty.log" | grep -a 'big:' | head -3)"
fi
assert_contains "$tty" "stream 'big': " "the summary line follows"
assert_eq 300000 "$(sql_admin "$DB" "SELECT COUNT(*) FROM big_raw")" "and the rows are loaded"
script -qfec "$MASKLOAD_BIN -q -c $T/t.yaml run" "$T/tty-q.log" >/dev/null 2>&1 </dev/null
if grep -aq 'records (' "$T/tty-q.log"; then not_ok "-q still shows progress"; else ok "-q: no progress on a terminal"; fi
finish
