# Helpers of the cluster tests (sourced after lib.sh): the three-node Galera
# cluster started by galera.sh; a skip (exit 77) when it could not start.
: "${GALERA_DIR:?}"
if [ -f "$GALERA_DIR/skip" ]; then
  echo "SKIP: $(cat "$GALERA_DIR/skip")"
  exit 77
fi
if [ ! -f "$GALERA_DIR/galera.env" ]; then
  echo "SKIP: the Galera cluster fixture did not run ($GALERA_DIR/galera.env missing)"
  exit 77
fi
# shellcheck disable=SC1091
. "$GALERA_DIR/galera.env"
node_port() { echo $((GALERA_PORT + $1 - 1)); }

# gsql K DB QUERY : root on node K
gsql() {
  MYSQL_PWD="$MASKLOAD_ADMIN_PASSWORD" mariadb --no-defaults --default-character-set=utf8mb4 \
    -h 127.0.0.1 -P "$(node_port "$1")" -u root ${2:+-D "$2"} -N -B -e "$3"
}

# galera_config FILE DB K... : a config whose warehouse.hosts are nodes K...
# in that order (admin: the same hosts), heartbeat every second
galera_config() {
  local file=$1 db=$2 k hosts=""
  shift 2
  for k in "$@"; do hosts+="${hosts:+, }127.0.0.1:$(node_port "$k")"; done
  write_config "$file" "$db"
  sed -i "s/^  host: 127.0.0.1\$/  hosts: [$hosts]/; /^  port: $IT_DB_PORT\$/d" "$file"
  sed -i 's/^load:$/load:\n  heartbeat_interval: 1/' "$file"
}

# node_pid K : the mariadbd of node K
node_pid() { tr -dc '0-9' <"$GALERA_DIR/node$1/mysqld.pid"; }

# canon DB K : every data table of DB on node K, rows sorted, with each
# surrogate id replaced by its value's digest and the load bookkeeping
# columns (load_run_id, loaded_at) left out: equal for equal data whatever
# ids the cluster's auto-increment handed out
canon() {
  local db=$1 k=$2 t cols c kinds
  kinds=$(gsql "$k" "$db" "SELECT SUBSTRING(table_name, 11, CHAR_LENGTH(table_name) - 14) FROM information_schema.tables WHERE table_schema='$db' AND table_name LIKE 'sensitive\\_%\\_ids'")
  for t in $(gsql "$k" "$db" "SELECT table_name FROM information_schema.tables WHERE table_schema='$db' AND table_type='BASE TABLE' AND table_name NOT LIKE 'load\\_%' AND table_name NOT LIKE 'sensitive\\_%' AND table_name NOT LIKE 'pii\\_%' ORDER BY 1"); do
    cols=""
    for c in $(gsql "$k" "$db" "SELECT column_name FROM information_schema.columns WHERE table_schema='$db' AND table_name='$t' AND column_name NOT IN ('load_run_id','loaded_at') ORDER BY ordinal_position"); do
      if [[ "$c" == *_id ]] && grep -qx "${c%_id}" <<<"$kinds"; then
        cols+="${cols:+,}HEX((SELECT s.digest FROM sensitive_${c%_id}_ids s WHERE s.id=\`$t\`.\`$c\`))"
      else
        cols+="${cols:+,}\`$c\`"
      fi
    done
    echo "== $t"
    gsql "$k" "$db" "SELECT $cols FROM \`$t\`" | sort
  done
}

# galera_start : starts every node that is down (a killed one rejoins by IST)
galera_start() {
  MASKLOAD_ADMIN_PASSWORD="$MASKLOAD_ADMIN_PASSWORD" "$SOURCE_DIR/scripts/dev-galera" start \
    --dir "$GALERA_DIR" --port "$GALERA_PORT" --gcomm-port "$GALERA_GCOMM_PORT" \
    --ist-port "$GALERA_IST_PORT" --sst-port "$GALERA_SST_PORT"
}

# surrogate_checks DB K : no surrogate value twice, and every surrogate
# column of users_raw maps to a row of its sensitive table
surrogate_checks() {
  local db=$1 k=$2 kind
  for kind in city zipcode profession; do
    assert_eq 0 "$(gsql "$k" "$db" "SELECT COUNT(*) - COUNT(DISTINCT digest) FROM sensitive_${kind}_ids")" \
      "$db: every $kind value has one surrogate"
    assert_eq 0 "$(gsql "$k" "$db" "SELECT COUNT(*) FROM users_raw u LEFT JOIN sensitive_${kind}_ids s ON s.id=u.${kind}_id WHERE u.${kind}_id IS NOT NULL AND s.id IS NULL")" \
      "$db: every ${kind}_id maps to its value"
  done
}
