#!/usr/bin/env bash
# tests/e2e/api_tls.sh - the API over HTTPS with a certificate from the
# configuration: HTTPS answers, plain HTTP on that port does not, the
# console's cookie is Secure; and what stops tocsind before it starts: an
# unreadable certificate, the API's port taken.
. "$(dirname "$0")/lib.sh"

e2e_setup
API_PORT=$(free_port)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/api.key" \
    -out "$T/api.crt" >/dev/null 2>&1
check "a self-signed certificate is made" test -s "$T/api.crt" -a -s "$T/api.key"
cp "$CFG" "$T/plain.yml"
{
	echo "api:"
	echo "  listen: 127.0.0.1:$API_PORT"
	echo "  tls_cert: $T/api.crt"
	echo "  tls_key: $T/api.key"
} >>"$CFG"
api_listening() { tcp_listening "$API_PORT"; }
start_server || { not_ok "server starts"; exit 1; }
check "the api listens" wait_until 30 api_listening
TOK=$(tocsin api token create --name alice --role viewer 2>/dev/null |
    awk '/^token:/ { print $2 }')
B="https://127.0.0.1:$API_PORT"
is "HTTPS with the certificate: 200" "$(curl -s -o "$T/body" -w '%{http_code}' \
    --cacert "$T/api.crt" -H "Authorization: Bearer $TOK" "$B/api/v1/status")" 200
is "the status over HTTPS is the server's" "$(jq -r '.processes[4].name' "$T/body")" api
code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' \
    -H "Authorization: Bearer $TOK" "http://127.0.0.1:$API_PORT/api/v1/status")
check "plain HTTP on the HTTPS port gets no answer ($code)" test "$code" != 200
curl -s -D "$T/hdr" -o "$T/body" --cacert "$T/api.crt" -X POST \
    "$B/api/v1/session" -d "{\"token\":\"$TOK\"}"
check "under TLS the session cookie is Secure" \
    grep -qi '^set-cookie: tocsin_session=.*; HttpOnly; SameSite=Strict; Secure' "$T/hdr"

# ---- what stops tocsind at start ------------------------------------------------
second() {	# CONFIG: a second server on its own data and ports
	"$TOCSIN_BIN/tocsind" -c "$1" -f >"$T/second.log" 2>&1
}
P2=$(free_port); S2=$(free_port)
sed -e "s|^data_dir: .*|data_dir: $T/data2|" \
    -e "s|tcp://127.0.0.1:[0-9]*|tcp://127.0.0.1:$P2|" \
    -e "s|127.0.0.1:$SYSLOG_PORT|127.0.0.1:$S2|g" "$T/plain.yml" >"$T/taken.yml"
{ echo "api:"; echo "  listen: 127.0.0.1:$API_PORT"; } >>"$T/taken.yml"
second "$T/taken.yml"; rc=$?
is "the API's port taken: tocsind exits 1" "$rc" 1
check "and says which listener" grep -q "api.listen 127.0.0.1:$API_PORT" "$T/second.log"
A2=$(free_port)
sed -e "s|^  listen: 127.0.0.1:$API_PORT|  listen: 127.0.0.1:$A2|" "$T/taken.yml" >"$T/nocert.yml"
{ echo "  tls_cert: $T/missing.crt"; echo "  tls_key: $T/api.key"; } >>"$T/nocert.yml"
second "$T/nocert.yml"; rc=$?
is "a certificate that cannot be read: tocsind exits 1" "$rc" 1
check "and names the file" grep -q "$T/missing.crt" "$T/second.log"
none_left() { ! pgrep -f "[t]ocsind -c $T/(taken|nocert).yml" >/dev/null; }
check "nothing was left running for them" none_left
check "the first server is unharmed" sh -c "curl -s -o /dev/null -w '%{http_code}' --cacert '$T/api.crt' -H 'Authorization: Bearer $TOK' '$B/api/v1/status' | grep -q 200"

stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"
exit $((E2E_FAILED > 0))
