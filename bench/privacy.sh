#!/usr/bin/env bash
# bench/privacy.sh - re-identification risk of the bench users, before and
# after generalising (docs/privacy-c.md shows the figures).
#
# On its own project-local MariaDB (port $PRIVACY_DB_PORT, default 3334,
# data under $BUILD_DIR/bench-privacy/db, stopped at the end), loads the
# users of bench/gen.c (PRIVACY_USERS, default 100000; seed BENCH_SEED,
# default 1) from a file source three times, each into its own database:
#   before   the built-in users mapping, quasi_identifiers [birth_year,
#            zipcode_id, gender] and k 5 on its entry;
#   moderate birth dates into 5-year ranges, zip codes to their first 3
#            characters, income into ranges of 1000, timestamps to the day;
#   strong   10-year ranges, 2 zip characters, income ranges of 10000.
# and prints `maskload privacy-report` of each. Exits non-zero when a step
# fails.
set -euo pipefail

: "${BUILD_DIR:?}"
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)
DIR=${PRIVACY_DIR:-$BUILD_DIR/bench-privacy}
PORT=${PRIVACY_DB_PORT:-3334}
USERS=${PRIVACY_USERS:-100000}
SEED=${BENCH_SEED:-1}
K=${PRIVACY_K:-5}
ML=$BUILD_DIR/maskload
GEN=$BUILD_DIR/bench_gen
for b in "$ML" "$GEN"; do
  [ -x "$b" ] || { echo "privacy: $b missing (make build first)" >&2; exit 2; }
done
mkdir -p "$DIR"
chmod 700 "$DIR"
if [ ! -f "$DIR/secrets.env" ]; then
  (umask 077; for v in MASKLOAD_ADMIN_PASSWORD MASKLOAD_LOADER_PASSWORD MASKLOAD_ANALYST_PASSWORD \
      MASKLOAD_STEWARD_PASSWORD MASKLOAD_DIGEST_KEY; do
    echo "export $v=$(openssl rand -hex 16)"; done >"$DIR/secrets.env")
fi
# shellcheck disable=SC1091
. "$DIR/secrets.env"
cleanup() {
  [ -n "${PRIVACY_KEEP_DB:-}" ] || "$SOURCE_DIR/scripts/dev-db" stop --dir "$DIR/db" --port "$PORT" >/dev/null || true
}
trap cleanup EXIT
"$SOURCE_DIR/scripts/dev-db" start --dir "$DIR/db" --port "$PORT" >/dev/null

data="$DIR/data-$USERS-$SEED"
if [ ! -f "$data/users.json" ]; then
  mkdir -p "$data"
  echo "privacy: generating $USERS users (seed $SEED)"
  "$GEN" --users "$USERS" --messages 1 --seed "$SEED" --out "$data" >/dev/null
fi

head_yaml() { # head_yaml DATABASE
  cat <<YAML
warehouse: { host: 127.0.0.1, port: $PORT, database: $1, user: maskload_loader, password: \${MASKLOAD_LOADER_PASSWORD} }
admin: { user: root, password: \${MASKLOAD_ADMIN_PASSWORD} }
accounts:
  analyst: { user: analyst, password: \${MASKLOAD_ANALYST_PASSWORD} }
  steward: { user: pii_steward, password: \${MASKLOAD_STEWARD_PASSWORD} }
pii: { digest_key: \${MASKLOAD_DIGEST_KEY} }
load: { batch_size: 5000 }
check: { default_threshold: 1000000000 }
sources:
  f: { kind: file, path: $data/users.json, page_size: 1000 }
YAML
}

generalised() { # generalised DATABASE BIRTH_RANGE ZIP_CHARS INCOME_RANGE
  head_yaml "$1"
  cat <<YAML
streams:
  users:
    source: f
    table: users_raw
    key: [user_id]
    columns:
      - { name: user_id,       from: id,                 type: bigint,   required: true }
      - { name: created_at,    from: createdAt,          type: datetime, required: true, pii: { truncate: day } }
      - { name: updated_at,    from: updatedAt,          type: datetime, pii: { truncate: day } }
      - { name: city_id,       from: city,               pii: surrogate, kind: city }
      - { name: country,       from: country,            type: varchar(100) }
      - { name: zip_region,    from: zipCode,            pii: { prefix: $3 } }
      - { name: email_domain,  from: email,              pii: email_domain }
      - { name: birth_year,    from: birthDate,          type: smallint, pii: { bucket: $2 } }
      - { name: gender,        from: profile.gender,     type: varchar(32) }
      - { name: is_smoking,    from: profile.isSmoking,  type: boolean }
      - { name: profession_id, from: profile.profession, pii: surrogate, kind: profession }
      - { name: income,        from: profile.income,     type: "decimal(14,2)", pii: { bucket: $4 } }
    drop: [firstName, lastName, address, subscription]
    quasi_identifiers: [birth_year, zip_region, gender]
    k: $K
YAML
}

run_one() { # run_one NAME CONFIG_FILE
  local cfg=$2
  MYSQL_PWD="$MASKLOAD_ADMIN_PASSWORD" mariadb --no-defaults -h 127.0.0.1 -P "$PORT" -u root \
    -e "DROP DATABASE IF EXISTS privacy_$1"
  "$ML" -q -c "$cfg" init
  "$ML" -q -c "$cfg" run
  echo "## $1"
  echo
  "$ML" -c "$cfg" privacy-report --stream users
  "$ML" -c "$cfg" privacy-report --stream users --format json >"$DIR/$1.json"
  echo
}

{ head_yaml privacy_before
  echo "streams:"
  echo "  users: { source: f, quasi_identifiers: [birth_year, zipcode_id, gender], k: $K }"
} >"$DIR/before.yaml"
generalised privacy_moderate 5 3 1000 >"$DIR/moderate.yaml"
generalised privacy_strong 10 2 10000 >"$DIR/strong.yaml"
echo "privacy: $USERS users (seed $SEED), k = $K"
echo
for n in before moderate strong; do
  run_one "$n" "$DIR/$n.yaml"
done
