#!/usr/bin/env bash
# Database TLS settings reach the client library.
# The test makes a CA, a server certificate for 127.0.0.1 (CN and SAN), a
# client certificate and an unrelated "wrong" CA with openssl, starts its own
# MariaDB with them (scripts/dev-db with MASKLOAD_DB_TLS_DIR, own datadir,
# port IT_DB_PORT+10 or $MASKLOAD_TEST_AUX_DB_PORT; the shared test server is
# left as it is), makes the loader account REQUIRE SSL, then shows:
#   off                                  -> refused by the server
#   required                             -> connects, session encrypted (cipher logged at debug)
#   verify_ca + the right CA             -> connects;  + a wrong CA -> fails
#   verify_identity to 127.0.0.1         -> connects;  to 'localhost' (not in the cert) -> fails
#   REQUIRE X509 without / with cert+key -> fails / connects
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 77; }
AUX_PORT=${MASKLOAD_TEST_AUX_DB_PORT:-$((IT_DB_PORT + 10))}
AUX_DIR="$WORK_DIR/db-aux-tls"
DEV_DB="$SOURCE_DIR/scripts/dev-db"
TLS="$T/tls"
mkdir -p "$TLS"
stop_aux() { "$DEV_DB" stop --dir "$AUX_DIR" --port "$AUX_PORT" >/dev/null 2>&1 || true; }
trap stop_aux EXIT

# certificates (EC P-256: fast to generate), valid for 2 days
mk_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
mk_ca() {
  mk_key "$TLS/$1-key.pem"
  openssl req -x509 -new -key "$TLS/$1-key.pem" -out "$TLS/$1.pem" -days 2 -subj "/CN=maskload test $1" 2>/dev/null
}
mk_cert() { # NAME SUBJECT EXT
  mk_key "$TLS/$1-key.pem"
  openssl req -new -key "$TLS/$1-key.pem" -out "$TLS/$1.csr" -subj "$2" 2>/dev/null
  openssl x509 -req -in "$TLS/$1.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca-key.pem" -CAcreateserial \
    -out "$TLS/$1-cert.pem" -days 2 -extfile <(printf '%s\n' "$3") 2>/dev/null
}
mk_ca ca
mk_ca wrong-ca
mk_cert server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1"
mk_cert client "/CN=maskload_loader" "extendedKeyUsage=clientAuth"
if [ -s "$TLS/server-cert.pem" ] && [ -s "$TLS/client-cert.pem" ]; then
  ok "certificates generated"
else
  not_ok "openssl could not make the certificates"; finish; exit 1
fi

stop_aux
MASKLOAD_DB_TLS_DIR="$TLS" "$DEV_DB" start --dir "$AUX_DIR" --port "$AUX_PORT" >"$T/dev-db.log" 2>&1 ||
  { cat "$T/dev-db.log"; not_ok "TLS MariaDB on port $AUX_PORT did not start"; finish; exit 1; }
aux_sql() { IT_DB_PORT=$AUX_PORT sql_admin "$@"; }
assert_eq "YES" "$(aux_sql "" "SELECT @@have_ssl")" "server serves TLS"

DB=it_tls
aux_sql "" "DROP DATABASE IF EXISTS $DB"
# cfg NAME TLS-FLOW-MAPPING [HOST]: a config whose warehouse (and so admin) uses that tls
cfg() {
  IT_DB_PORT=$AUX_PORT write_config "$T/$1.yaml" "$DB" "log: { level: debug }"
  sed -i "s|^warehouse:\$|warehouse:\n  tls: $2|" "$T/$1.yaml"
  [ -z "${3:-}" ] || sed -i "0,/^  host: 127.0.0.1\$/s//  host: $3/" "$T/$1.yaml"
}
cfg off "{ mode: off }"
cfg required "{ mode: required }"
cfg ca "{ mode: verify_ca, ca: $TLS/ca.pem }"
cfg wrong "{ mode: verify_ca, ca: $TLS/wrong-ca.pem }"
cfg ident "{ mode: verify_identity, ca: $TLS/ca.pem }"
cfg ident_lh "{ mode: verify_identity, ca: $TLS/ca.pem }" localhost
cfg ca_lh "{ mode: verify_ca, ca: $TLS/ca.pem }" localhost
cfg x509 "{ mode: verify_identity, ca: ca.pem, cert: client-cert.pem, key: client-key.pem }"
cp "$TLS"/{ca.pem,client-cert.pem,client-key.pem} "$T/"   # relative to the config file

ml -c "$T/off.yaml" init; assert_eq 0 "$RC" "init (root needs no TLS)"
aux_sql "" "ALTER USER 'maskload_loader'@'%' REQUIRE SSL"

ml -c "$T/off.yaml" run
assert_eq 1 "$RC" "mode off: a REQUIRE SSL account is refused"
assert_contains "$OUT" "Access denied for user 'maskload_loader'" "the server says why"

ml -c "$T/required.yaml" run
assert_eq 0 "$RC" "mode required: connects and loads"
assert_contains "$OUT" "connected as 'maskload_loader'" "connection logged at debug"
assert_not_contains "$OUT" "(tls: off)" "the session is encrypted"
assert_contains "$OUT" "(tls: TLS_" "the cipher is logged"
assert_eq 12 "$(aux_sql "$DB" "SELECT COUNT(*) FROM users_raw")" "the data arrived over TLS"

ml -c "$T/ca.yaml" run; assert_eq 0 "$RC" "verify_ca with the right CA connects"
ml -c "$T/wrong.yaml" run
assert_eq 1 "$RC" "verify_ca with a wrong CA fails"
assert_contains "$OUT" "cannot connect to '127.0.0.1:$AUX_PORT' as 'maskload_loader'" "naming the endpoint"
assert_contains "$OUT" "certificate" "and the certificate problem"

ml -c "$T/ident.yaml" run; assert_eq 0 "$RC" "verify_identity to 127.0.0.1 (in the certificate) connects"
ml -c "$T/ca_lh.yaml" run; assert_eq 0 "$RC" "verify_ca to 'localhost' connects (no name check)"
ml -c "$T/ident_lh.yaml" run
assert_eq 1 "$RC" "verify_identity to 'localhost' (not in the certificate) fails"
assert_contains "$OUT" "cannot connect to 'localhost:$AUX_PORT'" "naming the endpoint"

aux_sql "" "ALTER USER 'maskload_loader'@'%' REQUIRE X509"
ml -c "$T/ident.yaml" run
assert_eq 1 "$RC" "REQUIRE X509 without a client certificate fails"
ml -c "$T/x509.yaml" run
assert_eq 0 "$RC" "with the client certificate and key (paths relative to the config) it connects"
ml -c "$T/x509.yaml" status --limit 1
assert_contains "$OUT" "succeeded" "status works over TLS too"
finish
