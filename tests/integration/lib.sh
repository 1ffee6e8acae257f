# Shared helpers of the integration tests (sourced, bash).
# The environment (MariaDB + fixture API) is started by env.sh start and
# described in $WORK_DIR/env.sh.
set -euo pipefail

: "${WORK_DIR:?}" "${MASKLOAD_BIN:?}" "${SOURCE_DIR:?}"
if [ ! -f "$WORK_DIR/env.sh" ]; then
  echo "integration environment not started ($WORK_DIR/env.sh missing)" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$WORK_DIR/env.sh"

FIXTURES="$SOURCE_DIR/tests/fixtures/api"
# shellcheck disable=SC1091
. "$FIXTURES/expected.env"
TEST_NAME=$(basename "$0" .sh)
# The warehouse the test runs against: mysql (the default) or postgres, set
# by the test's ctest registration (test_NN_name for mysql, test_NN_name@pg
# for postgres; tests/CMakeLists.txt). The helpers below (config_head,
# fresh_db, sql_admin, sql_as, as_analyst, as_steward, wh_*) follow it, so
# that one script runs against either.
IT_WAREHOUSE=${MASKLOAD_TEST_WAREHOUSE:-mysql}
case "$IT_WAREHOUSE" in
  mysql) ;;
  postgres) TEST_NAME+="@pg" ;;
  *) echo "MASKLOAD_TEST_WAREHOUSE: '$IT_WAREHOUSE' is not mysql or postgres" >&2; exit 2 ;;
esac
# What a PostgreSQL warehouse cannot do yet, one line per feature: the
# feature, what it is, and the scripts that need it whole. Their @pg
# registrations skip (exit 77) naming it; a check of another script that
# needs it is skipped by `wh_has FEATURE` and counted. A line goes when its
# feature lands with PostgreSQL.
IT_PG_PENDING='
'
# What stays MySQL's, one line per feature (checks of parametrised scripts
# that wh_has skips on postgres; whole MySQL-only scripts are simply not
# registered @pg, see tests/CMakeLists.txt)
IT_MYSQL_ONLY='
userstat|the server user statistics (TABLE_STATISTICS) and Handler_* counters of MariaDB
load_data|the LOAD DATA bulk path and load.method (PostgreSQL always loads by COPY)
mysql_catalog|the mysql.* grant tables and SHOW GRANTS
ddl_before|the hand-written MySQL DDL the derived tables replaced, and the digests its loader recorded
mysql_accounts|the local_infile setting and the anonymous accounts of MariaDB (the PostgreSQL counterpart, what PUBLIC holds, is in test_71)
'
SKIPS=0
if [ "$IT_WAREHOUSE" = postgres ]; then
  while IFS='|' read -r _feature what scripts; do
    for s in $scripts; do
      if [ "$s" = "${TEST_NAME%@pg}" ]; then
        echo "SKIP: $TEST_NAME: needs $what, not supported yet (IT_PG_PENDING in tests/integration/lib.sh)"
        exit 77
      fi
    done
  done <<<"$IT_PG_PENDING"
fi
T="$WORK_DIR/$TEST_NAME"
rm -rf "$T"
mkdir -p "$T"
FAILS=0
PASSES=0
# a command failing under set -e says where, so no test stops silently
trap '[[ $- != *e* ]] || echo "not ok - $TEST_NAME: stopped at line $LINENO by a failing command: $BASH_COMMAND" >&2' ERR

ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
not_ok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }

# assert_eq EXPECTED ACTUAL DESCRIPTION
assert_eq() {
  if [ "$1" == "$2" ]; then ok "$3"; else not_ok "$3: expected [$1], got [$2]"; fi
}
# assert_contains HAYSTACK NEEDLE DESCRIPTION
assert_contains() {
  if [[ "$1" == *"$2"* ]]; then ok "$3"; else not_ok "$3: [$2] not in [$1]"; fi
}
assert_not_contains() {
  if [[ "$1" != *"$2"* ]]; then ok "$3"; else not_ok "$3: [$2] unexpectedly in [$1]"; fi
}

finish() {
  local skipped=""
  [ "$SKIPS" -eq 0 ] || skipped=", $SKIPS checks skipped on $IT_WAREHOUSE (said above)"
  echo "# $TEST_NAME: $PASSES passed, $FAILS failed$skipped"
  [ "$FAILS" -eq 0 ]
}

# sql USER PASSWORD [DB] QUERY -> tab-separated rows, no headers (NULL as
# NULL with either warehouse)
sql_as() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    wh_psql "$1" "$2" "${3:-postgres}" "$4"
    return
  fi
  sql_as_mysql "$@"
}
sql_as_mysql() {
  local user=$1 pass=$2 db=$3 q=$4
  MYSQL_PWD="$pass" mariadb --no-defaults --default-character-set=utf8mb4 -h 127.0.0.1 -P "$IT_DB_PORT" -u "$user" \
    ${db:+-D "$db"} -N -B -e "$q"
}
# sql_admin DB QUERY: as the admin account (with postgres, in the schema
# maskload of DB; DB "" is the server's postgres database)
sql_admin() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    PGOPTIONS="-c search_path=maskload -c client_min_messages=warning" \
      wh_psql postgres "$MASKLOAD_ADMIN_PASSWORD" "${1:-postgres}" "$2"
    return
  fi
  sql_as root "$MASKLOAD_ADMIN_PASSWORD" "$1" "$2"
}
# as_analyst DB QUERY / as_steward DB QUERY / as_loader DB QUERY: through the
# real client (mariadb or psql) as the configured account of config_head,
# stderr included
as_analyst() { sql_as "$(account analyst "$1")" "$MASKLOAD_ANALYST_PASSWORD" "$1" "$2" 2>&1; }
as_steward() { sql_as "$(account steward "$1")" "$MASKLOAD_STEWARD_PASSWORD" "$1" "$2" 2>&1; }
as_loader() { sql_as "$(account loader "$1")" "$MASKLOAD_LOADER_PASSWORD" "$1" "$2" 2>&1; }
# account loader|analyst|steward DB: the account config_head DB configures
# (mysql: maskload_loader, analyst, pii_steward; postgres: DB_loader,
# DB_analyst, DB_steward, as roles are the server's, not the database's)
account() {
  if [ "$IT_WAREHOUSE" = postgres ]; then echo "$2_$1"; return; fi
  case "$1" in loader) echo maskload_loader ;; analyst) echo analyst ;; steward) echo pii_steward ;; esac
}

# write_config FILE DATABASE [extra yaml appended]; $WRITE_CONFIG_LOAD, when set, is
# added to its load section (indented keys)
write_config() {
  local file=$1 db=$2 extra=${3:-}
  cat >"$file" <<YAML
$(config_head "$db")
$(pii_section)
load:
  batch_size: 7
${WRITE_CONFIG_LOAD:-}
sources:
  api:
    base_url: http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1
    page_size: 4
streams:
  users: { source: api, path: /users }
  messages: { source: api, path: /messages }
$extra
YAML
}

# items_streams JSONL TABLE [LINE...] : appended right after a config's
# sources (a config cut at its `streams:` line), a file source `items` over
# JSONL (pages of 2) and the only stream, `items`, of its {"id": N, "v":
# "..."} records into TABLE; each LINE (a key of the stream, as
# "history: scd2") is added to the stream
items_streams() {
  local jsonl=$1 table=$2 line
  shift 2
  printf '  items: { kind: file, path: %s, page_size: 2 }\nstreams:\n  items:\n    source: items\n    table: %s\n    key: [id]\n' "$jsonl" "$table"
  for line in "$@"; do printf '    %s\n' "$line"; done
  printf '    columns:\n      - { name: id, from: id, type: bigint, required: true }\n      - { name: v, from: v, type: varchar(16) }\n'
}

# ml ARGS... : runs maskload, output in $OUT, status in $RC
ml() {
  set +e
  OUT=$("$MASKLOAD_BIN" "$@" 2>&1)
  RC=$?
  set -e
}

# pii_section [KEY_FILE] : the pii section of a test config: keyed surrogate
# digests with KEY_FILE (default: the environment's generated key file,
# $MASKLOAD_DIGEST_KEY_FILE, mode 600, outside the database)
pii_section() {
  printf 'pii:\n  digest_key_file: %s\n' "${1:-$MASKLOAD_DIGEST_KEY_FILE}"
}

# new_key_file NAME [CONTENT] : writes a key file $T/NAME.key (mode 600) holding
# CONTENT, or a new random key (openssl rand -hex 32), and prints its path
new_key_file() {
  local f="$T/$1.key"
  (umask 077; if [ $# -ge 2 ]; then printf '%s\n' "$2"; else openssl rand -hex 32; fi >"$f")
  echo "$f"
}

# digest_key : the environment's digest key (the first line of its file), for
# tests that compute an expected HMAC themselves
digest_key() { head -n1 "$MASKLOAD_DIGEST_KEY_FILE"; }

# fresh_db NAME : drops the database so a test starts clean
# config_head DB : the warehouse, admin and accounts sections of a test
# config for database DB (secrets as ${VAR} references, never values).
config_head() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    pg_config_head "$1"
    return
  fi
  cat <<YAML
warehouse:
  host: 127.0.0.1
  port: $IT_DB_PORT
  database: $1
  user: maskload_loader
  password: \${MASKLOAD_LOADER_PASSWORD}
admin:
  user: root
  password: \${MASKLOAD_ADMIN_PASSWORD}
accounts:
  analyst: { user: analyst, password: \${MASKLOAD_ANALYST_PASSWORD} }
  steward: { user: pii_steward, password: \${MASKLOAD_STEWARD_PASSWORD} }
YAML
}

# fresh_db DB : drops DB and the table and routine grants left on it (DROP
# DATABASE keeps them, and a rerun in the same environment would see the last
# run's grants).
fresh_db() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    pg_drop "$1"
    return
  fi
  sql_admin "" "DROP DATABASE IF EXISTS \`$1\`"
  sql_admin "" "DELETE FROM mysql.tables_priv WHERE Db='$1'; DELETE FROM mysql.procs_priv WHERE Db='$1'; FLUSH PRIVILEGES"
}

# start_api DATA_DIR [FIXTURE_API ARGS...] : serves DATA_DIR with a second
# fixture_api on a free loopback port (stopping the one this test started
# before, if any) and sets API_PORT; the server is stopped when the test exits.
API_PID=
start_api() {
  if [ -n "$API_PID" ]; then
    kill "$API_PID" 2>/dev/null || true
    wait "$API_PID" 2>/dev/null || true
  fi
  rm -f "$T/api.port"
  setsid "$FIXTURE_API_BIN" --data "$1" --port 0 --port-file "$T/api.port" "${@:2}" >"$T/api.log" 2>&1 </dev/null &
  API_PID=$!
  trap '[ -z "$API_PID" ] || kill "$API_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    [ -s "$T/api.port" ] && break
    sleep 0.1
  done
  [ -s "$T/api.port" ] || { cat "$T/api.log"; echo "fixture_api did not start"; exit 1; }
  API_PORT=$(cat "$T/api.port")
}

# --- What differs between the warehouses, for one script to run on either.
# wh_psql USER PASSWORD DB QUERY: psql with the output of `mariadb -N -B`:
# tab-separated, no headers, NULL as NULL; the password in the environment
wh_psql() {
  PGPASSWORD="$2" PGCONNECT_TIMEOUT=5 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
    -U "$1" -d "$3" -At -F $'\t' -P null=NULL -c "$4"
}
# wh_has FEATURE WHAT: true when the test's warehouse has FEATURE; otherwise
# says that the check WHAT is skipped and why (IT_PG_PENDING or
# IT_MYSQL_ONLY above) and counts it
wh_has() {
  [ "$IT_WAREHOUSE" = postgres ] || return 0
  local f why
  while IFS='|' read -r f why _; do
    if [ "$f" = "$1" ]; then
      SKIPS=$((SKIPS + 1))
      echo "skip - $2: needs $why, not with PostgreSQL yet"
      return 1
    fi
  done <<<"$IT_PG_PENDING"
  while IFS='|' read -r f why; do
    if [ "$f" = "$1" ]; then
      SKIPS=$((SKIPS + 1))
      echo "skip - $2: MySQL only: $why"
      return 1
    fi
  done <<<"$IT_MYSQL_ONLY"
  echo "wh_has: unknown feature '$1'" >&2
  exit 2
}
# wh_pick MYSQL_TEXT POSTGRES_TEXT: the text of the test's warehouse (a
# statement or a message that differs between the dialects)
wh_pick() { if [ "$IT_WAREHOUSE" = postgres ]; then printf '%s' "$2"; else printf '%s' "$1"; fi; }
# wh_denied select|insert|execute: what the client says when the account
# lacks the privilege
wh_denied() {
  if [ "$IT_WAREHOUSE" = postgres ]; then echo "permission denied"; return; fi
  case "$1" in select) echo "SELECT command denied" ;; insert) echo "INSERT command denied" ;; *) echo "command denied" ;; esac
}
# wh_q NAME: an identifier quoted for the warehouse
wh_q() { wh_pick "\`$1\`" "\"$1\""; }
# wh_schema DB: where the tables of DB live (mysql: the database; postgres:
# its schema maskload)
wh_schema() { wh_pick "$1" maskload; }
# wh_tables DB: the base tables of DB, one a line, sorted
wh_tables() {
  sql_admin "$(wh_catalog "$1")" "SELECT table_name FROM information_schema.tables WHERE table_schema = '$(wh_schema "$1")' AND table_type = 'BASE TABLE' ORDER BY 1"
}
# wh_catalog DB: the information_schema database to query information_schema.columns/tables in
wh_catalog() { wh_pick "" "$1"; }
# wh_columns DB TABLE: the columns of TABLE in order, one a line
wh_columns() {
  sql_admin "$(wh_catalog "$1")" "SELECT column_name FROM information_schema.columns WHERE table_schema = '$(wh_schema "$1")' AND table_name = '$2' ORDER BY ordinal_position"
}
# wh_column_type DB TABLE COLUMN: the column's type as the catalog spells
# it (mysql column_type: datetime(3); postgres: timestamp(3) without time zone)
wh_column_type() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'maskload.$2'::regclass AND attname = '$3'"
  else
    sql_admin "" "SELECT column_type FROM information_schema.columns WHERE table_schema = '$1' AND table_name = '$2' AND column_name = '$3'"
  fi
}
# wh_checksum DB TABLE...: one checksum per table over every column and row,
# space-separated (mysql CHECKSUM TABLE; postgres the md5 of its rows as text)
wh_checksum() {
  local db=$1 t out=()
  shift
  for t in "$@"; do
    t=${t%,}
    if [ "$IT_WAREHOUSE" = postgres ]; then
      out+=("$(sql_admin "$db" "SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM $t r")")
    else
      out+=("$(sql_admin "$db" "CHECKSUM TABLE \`$t\`" | cut -f2)")
    fi
  done
  echo "${out[*]}"
}
# wh_hash_sql DB: one query giving "table rows md5" per data table of DB
# (every base table but the audit tables, load_runs, load_run_streams,
# load_rejects, load_run_leases, and pii_key, the key's fingerprint with the
# time init recorded it), over the data columns only (load_run_id, loaded_at
# and first_seen_at differ between two runs of the same load); QUOTE() /
# quote_nullable() keep NULL apart from 'NULL' and values apart from
# separators. Built once per schema and run against any database of it, so
# that two loads compare by their data
wh_hash_sql() {
  local db=$1 t c cols q=""
  for t in $(wh_tables "$db" | grep -vxE 'load_runs|load_run_streams|load_rejects|load_run_leases|pii_key'); do
    cols=""
    for c in $(wh_columns "$db" "$t" | grep -vxE 'load_run_id|loaded_at|first_seen_at'); do
      cols+="${cols:+,}$(wh_pick "QUOTE(\`$c\`)" "quote_nullable(\"$c\")")"
    done
    if [ "$IT_WAREHOUSE" = postgres ]; then
      q+="${q:+ UNION ALL }SELECT '$t', count(*), md5(coalesce(string_agg(x, E'\\n' ORDER BY x), '')) FROM (SELECT concat_ws(',',$cols) AS x FROM \"$t\") s"
    else
      q+="${q:+ UNION ALL }SELECT '$t', COUNT(*), MD5(GROUP_CONCAT(CONCAT_WS(',',$cols) ORDER BY CONCAT_WS(',',$cols) SEPARATOR '\n')) FROM \`$t\`"
    fi
  done
  wh_pick "SET SESSION group_concat_max_len = 1073741824; $q" "$q ORDER BY 1"
}
# wh_refuse NAME TABLE CONDITION MESSAGE: the SQL of a trigger NAME that makes
# the server refuse a row inserted into TABLE for which CONDITION (on NEW)
# holds, with MESSAGE as its error (mysql: SIGNAL SQLSTATE '45000'; postgres:
# a plpgsql trigger function NAME, RAISE EXCEPTION); DROP TRIGGER NAME (ON
# TABLE, with postgres) lifts it
wh_refuse() {
  wh_pick "DELIMITER //
CREATE TRIGGER $1 BEFORE INSERT ON $2 FOR EACH ROW
  BEGIN IF $3 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '$4'; END IF; END//" \
    "CREATE FUNCTION $1() RETURNS trigger LANGUAGE plpgsql AS \$f\$
  BEGIN IF $3 THEN RAISE EXCEPTION '$4'; END IF; RETURN NEW; END \$f\$;
CREATE TRIGGER $1 BEFORE INSERT ON $2 FOR EACH ROW EXECUTE FUNCTION $1()"
}
# wh_empty DB: every base table of DB but pii_key emptied, identities and
# AUTO_INCREMENT counters reset (the state init leaves)
wh_empty() {
  local t q
  if [ "$IT_WAREHOUSE" = postgres ]; then
    q=$(wh_tables "$1" | grep -vx pii_key | paste -sd, -)
    sql_admin "$1" "TRUNCATE TABLE $q RESTART IDENTITY CASCADE"
    return
  fi
  q="SET FOREIGN_KEY_CHECKS=0;"
  for t in $(wh_tables "$1"); do
    [ "$t" = pii_key ] || q+="TRUNCATE TABLE \`$t\`;"
  done
  sql_admin "$1" "$q"
}
# wh_stats_reset / wh_rows_changed DB: "table=rows" of every table of DB
# in which rows were inserted, updated or deleted since wh_stats_reset, sorted
# (mysql: the user statistics' ROWS_CHANGED, reset by FLUSH TABLE_STATISTICS;
# postgres: pg_stat_user_tables' n_tup_ins + n_tup_upd + n_tup_del against a
# snapshot, every database's, taken by wh_stats_reset)
wh_stats_reset() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    local db
    sleep 1 # backends flush their counts at most once a second and at exit
    : >"$T/.wh_stats"
    for db in $(sql_admin "" "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'"); do
      wh_pg_stats "$db" | sed "s/^/$db /" >>"$T/.wh_stats"
    done
    return
  fi
  sql_admin "" "SET GLOBAL userstat=1; FLUSH TABLE_STATISTICS"
}
wh_pg_stats() {
  sql_admin "$1" "SELECT relname || '=' || (n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_user_tables WHERE schemaname = 'maskload' ORDER BY relname"
}
wh_rows_changed() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    local line t n was
    sleep 1
    while IFS= read -r line; do
      t=${line%%=*} n=${line#*=}
      was=$(awk -v k="$1 $t" '{ split($2, a, "="); if ($1 " " a[1] == k) print a[2] }' "$T/.wh_stats")
      [ $((n - ${was:-0})) -gt 0 ] && printf '%s=%s\n' "$t" $((n - ${was:-0}))
    done < <(wh_pg_stats "$1") | paste -sd' ' -
    return 0
  fi
  sql_admin "" "SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, '=', ROWS_CHANGED) ORDER BY TABLE_NAME SEPARATOR ' ')
    FROM information_schema.TABLE_STATISTICS WHERE TABLE_SCHEMA='$1' AND ROWS_CHANGED > 0"
}
# wh_granted ROLE DB: the base tables of DB the role may SELECT by a grant of
# its own (views aside), space-separated, sorted (mysql: mysql.tables_priv;
# postgres: the tables' ACLs)
wh_granted() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$2" "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a WHERE n.nspname = 'maskload' AND c.relkind IN ('r', 'p') AND a.privilege_type = 'SELECT' AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = '$1')" | sed 's/^NULL$//'
    return
  fi
  sql_admin "" "SELECT GROUP_CONCAT(Table_name ORDER BY Table_name SEPARATOR ' ') FROM mysql.tables_priv
    WHERE User='$1' AND Db='$2' AND Table_name NOT LIKE 'monitor\\_%' AND Table_name NOT LIKE 'analysis\\_%'" | sed 's/^NULL$//'
}
# wh_public_grants DB: what PUBLIC holds on DB, "00" for nothing (mysql: its
# rows in mysql.db and mysql.tables_priv; postgres: table privileges in the
# schema, then 1 if it may use the schema or connect to the database)
wh_public_grants() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a WHERE n.nspname = 'maskload' AND a.grantee = 0"
    sql_admin "$1" "SELECT CASE WHEN has_schema_privilege('public', 'maskload', 'USAGE') OR has_database_privilege('public', '$1', 'CONNECT') THEN 1 ELSE 0 END"
    return
  fi
  sql_admin "" "SELECT COUNT(*) FROM mysql.db WHERE User='PUBLIC' AND Db='$1'"
  sql_admin "" "SELECT COUNT(*) FROM mysql.tables_priv WHERE User='PUBLIC' AND Db='$1'"
}
# wh_views DB: the views of DB, one a line, sorted
wh_views() {
  sql_admin "$(wh_catalog "$1")" "SELECT table_name FROM information_schema.views WHERE table_schema = '$(wh_schema "$1")' ORDER BY 1"
}
# wh_pii_scan ACCOUNT PASSWORD DB [FIXTURE_DIR]: pii_scan over everything
# ACCOUNT can read in DB, for the PII values of FIXTURE_DIR (default the API's)
wh_pii_scan() {
  local port=$IT_DB_PORT kind=()
  if [ "$IT_WAREHOUSE" = postgres ]; then port=$PG_PORT kind=(-k postgres -S maskload); fi
  PII_SCAN_PASSWORD="$2" "$PII_SCAN_BIN" -P "$port" -u "$1" -D "$3" -f "${4:-$FIXTURES}" "${kind[@]}"
}
# wh_db_exists DB: 1 when the database exists, else 0
wh_db_exists() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "" "SELECT count(*) FROM pg_database WHERE datname = '$1'"
  else
    sql_admin "" "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='$1'"
  fi
}
# wh_cols DB TABLE: "name type nullable(YES|NO)" per column, in order (the
# type as the catalog spells it: mysql COLUMN_TYPE, postgres format_type)
wh_cols() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT attname || ' ' || format_type(atttypid, atttypmod) || ' ' || CASE WHEN attnotnull THEN 'NO' ELSE 'YES' END FROM pg_attribute WHERE attrelid = 'maskload.$2'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
  else
    sql_admin "$1" "SELECT CONCAT_WS(' ', COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$1' AND TABLE_NAME='$2' ORDER BY ORDINAL_POSITION"
  fi
}
# wh_pk DB TABLE: the primary key's columns, comma-separated
wh_pk() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, n), pg_attribute a WHERE i.indrelid = 'maskload.$2'::regclass AND i.indisprimary AND a.attrelid = i.indrelid AND a.attnum = k.attnum"
  else
    sql_admin "$1" "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA='$1' AND TABLE_NAME='$2' AND CONSTRAINT_NAME='PRIMARY'"
  fi
}
# wh_index DB TABLE INDEX: the columns of the declared index INDEX of TABLE,
# comma-separated (postgres names it TABLE_INDEX, index names being per schema)
wh_index() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid, unnest(i.indkey) WITH ORDINALITY k(attnum, n), pg_attribute a WHERE i.indrelid = 'maskload.$2'::regclass AND c.relname = '$2_$3' AND a.attrelid = i.indrelid AND a.attnum = k.attnum"
  else
    sql_admin "$1" "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA='$1' AND TABLE_NAME='$2' AND INDEX_NAME='$3'"
  fi
}
# wh_col_comments DB TABLE: "name=comment" per column but load_run_id and
# loaded_at, in order ("name=" for none)
wh_col_comments() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT attname || '=' || coalesce(col_description(attrelid, attnum), '') FROM pg_attribute WHERE attrelid = 'maskload.$2'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT IN ('load_run_id', 'loaded_at') ORDER BY attnum"
  else
    sql_admin "$1" "SELECT CONCAT(COLUMN_NAME, '=', COLUMN_COMMENT) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$1' AND TABLE_NAME='$2' AND COLUMN_NAME NOT IN ('load_run_id','loaded_at') ORDER BY ORDINAL_POSITION"
  fi
}
# wh_table_comment DB TABLE: the table's comment
wh_table_comment() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT coalesce(obj_description('maskload.$2'::regclass, 'pg_class'), '')"
  else
    sql_admin "$1" "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='$1' AND TABLE_NAME='$2'"
  fi
}
# wh_not_invoker DB LIKE: how many views of DB named LIKE run with their
# owner's privileges (mysql: not SQL SECURITY INVOKER; postgres: without
# security_invoker)
wh_not_invoker() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    sql_admin "$1" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'maskload' AND c.relkind = 'v' AND c.relname LIKE '$2' AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)"
  else
    sql_admin "" "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA='$1' AND TABLE_NAME LIKE '$2' AND SECURITY_TYPE <> 'INVOKER'"
  fi
}
# SQL fragments of the test's dialect:
# wh_iso EXPR: a datetime as 'YYYY-MM-DDTHH:MM:SSZ'; wh_epoch EXPR: as whole Unix seconds
wh_iso() { wh_pick "DATE_FORMAT($1, '%Y-%m-%dT%H:%i:%sZ')" "to_char($1, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"; }
wh_epoch() { wh_pick "TIMESTAMPDIFF(SECOND, '1970-01-01', $1)" "floor(extract(epoch FROM $1))::bigint"; }
# wh_agg EXPR ORDER_BY [SEPARATOR]: the values of EXPR as one text (GROUP_CONCAT / string_agg)
wh_agg() {
  wh_pick "GROUP_CONCAT($1 ORDER BY $2 SEPARATOR '${3:-,}')" "string_agg(($1)::text, '${3:-,}' ORDER BY $2)"
}
# wh_hex EXPR: the bytes of a text in upper-case hex (HEX())
wh_hex() { wh_pick "HEX($1)" "upper(encode(convert_to($1, 'UTF8'), 'hex'))"; }
# wh_bhex EXPR: the bytes of a binary value (a digest) in upper-case hex
wh_bhex() { wh_pick "HEX($1)" "upper(encode($1, 'hex'))"; }
# wh_unhex HEX: the bytes HEX (hex digits) spell, as a binary value
wh_unhex() { wh_pick "UNHEX('$1')" "decode('$1', 'hex')"; }
# wh_now: the current UTC time, as the loader's datetime columns hold it
wh_now() { wh_pick "UTC_TIMESTAMP(6)" "(now() AT TIME ZONE 'UTC')"; }
# wh_text EXPR: EXPR as text, NULL as 'NULL'
wh_text() { wh_pick "IFNULL($1, 'NULL')" "coalesce(($1)::text, 'NULL')"; }
# wh_ms EXPR: a datetime as 'YYYY-MM-DD HH:MM:SS.mmm'
wh_ms() { wh_pick "$1" "to_char($1, 'YYYY-MM-DD HH24:MI:SS.MS')"; }
# wh_bool EXPR: a condition as 1 or 0
wh_bool() { echo "CASE WHEN $1 THEN 1 ELSE 0 END"; }
# wh_bin: the clause comparing or sorting text byte for byte
wh_bin() { wh_pick " COLLATE utf8mb4_bin" ' COLLATE "C"'; }
# wh_dump DB TABLE: the rows of TABLE as the server's dump tool writes them (INSERT
# statements), binary columns in hex on both servers: a keyed digest is random
# bytes, and as raw bytes it would now and then spell a marker a scan greps for
wh_dump() {
  if [ "$IT_WAREHOUSE" = postgres ]; then
    # without pg_dump's \restrict / \unrestrict lines: their random key
    # would match a scan for a marker by chance
    PGPASSWORD="$MASKLOAD_ADMIN_PASSWORD" pg_dump -h 127.0.0.1 -p "$PG_PORT" -U postgres -a --inserts -t "maskload.$2" "$1" |
      grep -av '^\\\(un\)\?restrict '
  else
    MYSQL_PWD="$MASKLOAD_ADMIN_PASSWORD" mariadb-dump --no-defaults -h 127.0.0.1 -P "$IT_DB_PORT" -u root \
      --skip-extended-insert --no-create-info --skip-comments --hex-blob "$1" "$2"
  fi
}

# dump_tables DB: every base table of DB through wh_dump, each into
# $T/dump_<table>.sql (the dumps of an earlier call removed first)
dump_tables() {
  local t
  rm -f "$T"/dump_*.sql
  for t in $(wh_tables "$1"); do
    wh_dump "$1" "$t" >"$T/dump_$t.sql"
  done
}
# dumped_in TEXT: the tables whose dump by dump_tables holds TEXT (a fixed
# string), comma-separated in name order; empty when none does
dumped_in() { grep -a -l -F -- "$1" "$T"/dump_*.sql 2>/dev/null | sed 's|.*/dump_||; s|\.sql$||' | paste -sd, || true; }

# the PostgreSQL server's helpers (a skip when the suite has none)
if [ "$IT_WAREHOUSE" = postgres ]; then
  # shellcheck disable=SC1091
  . "$SOURCE_DIR/tests/integration/pg-lib.sh"
fi
