#!/usr/bin/env bash
# Re-identification risk. A file source of 11 people whose groups on
# (birth_decade, zip_region, gender) are known: 5 rows in (1980, '101', F),
# 2 in (1990, '202', M), 1 in (2000, 'ÄÖÜ', F), 3 in (1970, '404', X); k: 3.
#  1. bucket, truncate and prefix store the generalised values, exactly
#     (negative numbers and decimals floor towards minus infinity; a prefix
#     counts Unicode characters); the stored types and COMMENTs say so;
#  2. init installs monitor_people_raw_small_groups (SQL SECURITY INVOKER,
#     granted to the analyst): the two small groups' values and counts, no
#     other column; the analyst reads it but cannot read a key through it or
#     replace it;
#  3. check counts it (exit 3 over the default threshold 0; 0 with a
#     threshold of 2); a declaration init has not applied yet fails check;
#  4. privacy-report's figures equal what SQL computes independently
#     (window functions), and it prints no value;
#  5. a built-in with quasi_identifiers on its entry (users beside the
#     fixture API) gets its view too, with the same counts as SQL;
#  6. must fail (exit 2, file:line:column): a quasi-identifier that is no
#     column, a key column, k: 1, truncate: hour on a date, bucket on text.
. "$(dirname "$0")/lib.sh"
DB=it_privacy
DB2=it_privacy_users
fresh_db "$DB"
fresh_db "$DB2"
q() { sql_admin "$DB" "$1"; }
analyst() { as_analyst "$1" "$2"; }
VIEW=monitor_people_raw_small_groups

# id born zip gender income seen signup score
{
  p() { printf '{"id":%s,"born":%s,"zip":"%s","gender":"%s","income":%s,"seen":"%s","signup":"%s","score":%s}\n' "$@"; }
  p 1 1980 10115 F '"1234.56"' 2024-03-17T09:45:12.345+02:00 2024-02-29 1
  p 2 1981 10116 F '"-0.01"' 2024-01-01T00:30:00Z 2023-12-31 1
  p 3 1982 10117 F 999.99 2024-01-01T00:30:00Z 2023-12-31 2
  p 4 1983 10118 F -1000 2024-01-01T00:30:00Z 2023-12-31 2
  p 5 1989 10119 F '"-1000.01"' 2024-01-01T00:30:00Z 2023-12-31 3
  p 6 1991 20201 M 50000 2024-01-01T00:30:00Z 2023-12-31 4
  p 7 1999 20299 M 50000 2024-01-01T00:30:00Z 2023-12-31 5
  p 8 2005 'ÄÖÜ-77' F 50000 2024-01-01T00:30:00Z 2023-12-31 6
  p 9 1970 40400 X 50000 2024-01-01T00:30:00Z 2023-12-31 7
  p 10 1975 40401 X 50000 2024-01-01T00:30:00Z 2023-12-31 7
  p 11 1979 404 X 50000 2024-01-01T00:30:00Z 2023-12-31 8
} >"$T/people.jsonl"

# people_config FILE DB [QUASI] [K] [CHECK_SECTION]
DEFAULT_CHECK='check: { default_threshold: 0 }'
people_config() {
  cat >"$1" <<YAML
$(config_head "$2")
pii: { digest_key_file: $MASKLOAD_DIGEST_KEY_FILE }
sources:
  people_file: { kind: file, path: people.jsonl }
streams:
  people:
    source: people_file
    table: people_raw
    key: [person_id]
    columns:
      - { name: person_id,    from: id,     type: bigint, required: true }
      - { name: birth_decade, from: born,   type: smallint, pii: { bucket: 10 } }
      - { name: zip_region,   from: zip,    pii: { prefix: 3 } }
      - { name: gender,       from: gender, type: varchar(8) }
      - { name: income,       from: income, type: "decimal(10,2)", pii: { bucket: 1000 } }
      - { name: seen_hour,    from: seen,   type: datetime, pii: { truncate: hour } }
      - { name: signup_month, from: signup, type: date, pii: { truncate: month } }
      - { name: score,        from: score,  type: int }
${3:+    quasi_identifiers: $3}
${4:+    k: $4}
${5:-$DEFAULT_CHECK}
YAML
}
people_config "$T/c.yaml" "$DB" "[birth_decade, zip_region, gender]" 3

# ---- 1. the generalised values ----
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init ($OUT)"
ml -c "$T/c.yaml" run; assert_eq 0 "$RC" "run ($OUT)"
assert_eq 11 "$(q 'SELECT COUNT(*) FROM people_raw')" "every person loaded"
assert_eq "1	1980	101	1000.00	2024-03-17 07:00:00.000	2024-02-01
2	1980	101	-1000.00	2024-01-01 00:00:00.000	2023-12-01
3	1980	101	0.00	2024-01-01 00:00:00.000	2023-12-01
4	1980	101	-1000.00	2024-01-01 00:00:00.000	2023-12-01
5	1980	101	-2000.00	2024-01-01 00:00:00.000	2023-12-01
6	1990	202	50000.00	2024-01-01 00:00:00.000	2023-12-01
7	1990	202	50000.00	2024-01-01 00:00:00.000	2023-12-01
8	2000	ÄÖÜ	50000.00	2024-01-01 00:00:00.000	2023-12-01
9	1970	404	50000.00	2024-01-01 00:00:00.000	2023-12-01
10	1970	404	50000.00	2024-01-01 00:00:00.000	2023-12-01
11	1970	404	50000.00	2024-01-01 00:00:00.000	2023-12-01" \
  "$(q 'SELECT person_id, birth_decade, zip_region, income, seen_hour, signup_month FROM people_raw ORDER BY person_id')" \
  "bucket (floors, negatives and decimals too), prefix (characters) and truncate store the generalised values"
assert_eq 0 "$(q "SELECT COUNT(*) FROM people_raw WHERE income IN (1234.56, 999.99) OR zip_region LIKE '1011%'")" \
  "no exact value is stored"
assert_eq "varchar(3)" "$(q "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='people_raw' AND COLUMN_NAME='zip_region'")" \
  "prefix: 3 stores varchar(3)"
assert_eq "decimal(10,2)" "$(q "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='people_raw' AND COLUMN_NAME='income'")" \
  "bucket keeps the column's type"
assert_eq "the lower bound of its range of width 1000" "$(q "SELECT COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='people_raw' AND COLUMN_NAME='income'")" \
  "the COMMENT says the width"

# ---- 2. the view ----
EXPECTED_GROUPS="1990	202	M	2
2000	ÄÖÜ	F	1"
assert_eq "$EXPECTED_GROUPS" "$(analyst "$DB" "SELECT * FROM $VIEW ORDER BY birth_decade")" \
  "the analyst reads the small groups: values and counts"
assert_eq "birth_decade,zip_region,gender,rows_in_group" \
  "$(q "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='$VIEW'")" \
  "the view has the quasi-identifiers and the count, nothing else"
assert_eq "INVOKER" "$(q "SELECT SECURITY_TYPE FROM information_schema.VIEWS WHERE TABLE_SCHEMA='$DB' AND TABLE_NAME='$VIEW'")" \
  "the view is SQL SECURITY INVOKER"
assert_contains "$(analyst "$DB" "SELECT person_id FROM $VIEW")" "Unknown column" \
  "must fail: no key of a person through the view"
assert_contains "$(analyst "$DB" "CREATE OR REPLACE VIEW $VIEW AS SELECT * FROM people_raw")" "denied" \
  "must fail: the analyst cannot replace the view"
assert_contains "$(analyst "$DB" "SELECT COUNT(*) FROM sensitive_city_ids")" "denied" \
  "the analyst still reads no sensitive table"
ml -c "$T/c.yaml" plan
assert_contains "$OUT" "CREATE OR REPLACE SQL SECURITY INVOKER VIEW \`$VIEW\` AS SELECT \`birth_decade\`, \`zip_region\`, \`gender\`, COUNT(*) AS \`rows_in_group\` FROM \`people_raw\` GROUP BY \`birth_decade\`, \`zip_region\`, \`gender\` HAVING COUNT(*) < 3" \
  "plan shows the generated view"

# ---- 3. check ----
ml -c "$T/c.yaml" check
assert_eq 3 "$RC" "check exits 3: two small groups over the threshold 0 ($OUT)"
assert_contains "$OUT" "$VIEW" "check names the view"
ml -c "$T/c.yaml" check --format json
assert_eq 2 "$(jq -r ".views[] | select(.view == \"$VIEW\") | .rows" <<<"$OUT")" "check counts its two rows"
people_config "$T/c2.yaml" "$DB" "[birth_decade, zip_region, gender]" 3 "check: { default_threshold: 0, thresholds: { $VIEW: 2 } }"
ml -c "$T/c2.yaml" check; assert_eq 0 "$RC" "check exits 0 with a threshold of 2 ($OUT)"
q "DROP VIEW $VIEW"
ml -c "$T/c.yaml" check
assert_eq 1 "$RC" "must fail: check when the declared view is not installed"
assert_contains "$OUT" "counting '$VIEW' (did \`maskload init\` run since quasi_identifiers were declared?)" "and says to run init"
ml -c "$T/c.yaml" init; assert_eq 0 "$RC" "init installs it again"
assert_eq "$EXPECTED_GROUPS" "$(analyst "$DB" "SELECT * FROM $VIEW ORDER BY birth_decade")" "the same groups"

# ---- 4. privacy-report ----
ml -c "$T/c.yaml" privacy-report --format json
assert_eq 0 "$RC" "privacy-report ($OUT)"
R=$OUT
assert_eq 11 "$(jq -r '.tables[0].rows' <<<"$R")" "privacy-report: rows"
small_sql=$(q "SELECT COUNT(*) FROM (SELECT COUNT(*) OVER (PARTITION BY birth_decade, zip_region, gender) AS c FROM people_raw) x WHERE c < 3")
assert_eq 3 "$small_sql" "SQL: 3 rows in groups smaller than 3"
assert_eq "$small_sql" "$(jq -r '.tables[0].rows_in_small_groups' <<<"$R")" "privacy-report: rows in small groups = SQL"
assert_eq 2 "$(jq -r '.tables[0].small_groups' <<<"$R")" "privacy-report: two small groups"
assert_eq "0.272727" "$(jq -r '.tables[0].small_group_share' <<<"$R")" "privacy-report: share 3/11"
for col in person_id birth_decade zip_region gender income seen_hour signup_month score; do
  want=$(q "SELECT COUNT(*) FROM (SELECT COUNT(*) OVER (PARTITION BY \`$col\`) AS c FROM people_raw) x WHERE c = 1")
  got=$(jq -r ".tables[0].columns[] | select(.name == \"$col\") | .unique_rows" <<<"$R")
  assert_eq "$want" "$got" "privacy-report: unique rows of $col = SQL ($want)"
done
assert_eq 5 "$(jq -r '.tables[0].columns[] | select(.name == "score") | .unique_rows' <<<"$R")" "score: 5 unique values"
ml -c "$T/c.yaml" privacy-report
assert_contains "$OUT" "3 rows (27.27%) in 2 groups smaller than k" "the table output gives the share"
assert_contains "$OUT" "score                                       5    45.45%" "and each column's share"
assert_not_contains "$OUT" "ÄÖÜ" "privacy-report prints no value"
assert_not_contains "$OUT" "2024-" "nor a date"
ml -c "$T/c.yaml" privacy-report --stream nope
assert_eq 2 "$RC" "must fail: privacy-report of an unknown stream"

# ---- 5. a built-in with quasi_identifiers on its entry ----
cat >"$T/u.yaml" <<YAML
$(config_head "$DB2")
pii: { digest_key_file: $MASKLOAD_DIGEST_KEY_FILE }
sources:
  api: { base_url: "http://127.0.0.1:$IT_API_PORT/evaluation/dataengineer/jr/v1", page_size: 4 }
streams:
  users: { source: api, path: /users, quasi_identifiers: [birth_year, zipcode_id, gender], k: 2 }
check: { default_threshold: 1000000 }
YAML
ml -c "$T/u.yaml" init; assert_eq 0 "$RC" "init with quasi_identifiers beside a built-in ($OUT)"
ml -c "$T/u.yaml" run; assert_eq 0 "$RC" "run ($OUT)"
want=$(sql_admin "$DB2" "SELECT COUNT(*) FROM (SELECT 1 FROM users_raw GROUP BY birth_year, zipcode_id, gender HAVING COUNT(*) < 2) g")
assert_eq "$want" "$(analyst "$DB2" "SELECT COUNT(*) FROM monitor_users_raw_small_groups")" \
  "the built-in's view lists the groups SQL finds ($want)"
ml -c "$T/u.yaml" check --format json
assert_eq "$want" "$(jq -r '.views[] | select(.view == "monitor_users_raw_small_groups") | .rows' <<<"$OUT")" "check counts it"
ml -c "$T/u.yaml" privacy-report --format json
assert_eq "users_raw subscriptions_raw" "$(jq -r '[.tables[].table] | join(" ")' <<<"$OUT")" "privacy-report covers the child table too"
assert_eq "$(sql_admin "$DB2" "SELECT COUNT(*) FROM (SELECT COUNT(*) OVER (PARTITION BY birth_year, zipcode_id, gender) AS c FROM users_raw) x WHERE c < 2")" \
  "$(jq -r '.tables[0].rows_in_small_groups' <<<"$OUT")" "privacy-report of the built-in = SQL"

# ---- 6. must fail: bad declarations ----
bad() { # DESCRIPTION WHERE MESSAGE  (config in $T/bad.yaml)
  ml -c "$T/bad.yaml" init
  assert_eq 2 "$RC" "must fail: $1"
  assert_contains "$OUT" "$2" "$1: file:line:column"
  assert_contains "$OUT" "$3" "$1: message"
}
people_config "$T/bad.yaml" "$DB" "[birth_decade, nope]" 3
bad "an unknown quasi-identifier" "bad.yaml:30:39:" "quasi-identifier 'nope' is not a column"
people_config "$T/bad.yaml" "$DB" "[person_id]" 3
bad "a key column as quasi-identifier" "bad.yaml:30:25:" "is a key column"
people_config "$T/bad.yaml" "$DB" "[gender]" 1
bad "k: 1" "bad.yaml:31:8:" "'1' is out of range for 'streams.people.k' (2..1000000)"
people_config "$T/bad.yaml" "$DB" "[gender]"
bad "quasi_identifiers without k" "bad.yaml:30:5:" "needs both"
people_config "$T/bad.yaml" "$DB"
sed -i 's/type: date, pii: { truncate: month }/type: date, pii: { truncate: hour }/' "$T/bad.yaml"
bad "truncate: hour on a date" "bad.yaml:28:62:" "a date has no hour"
people_config "$T/bad.yaml" "$DB"
sed -i 's/type: varchar(8) }/type: varchar(8), pii: { bucket: 5 } }/' "$T/bad.yaml"
bad "bucket on a text column" "bad.yaml:25:51:" "with pii: bucket must be a number type"
finish
