#!/bin/bash
# forward_tls.sh - syslog forwarding over TLS (RFC 5425) to a real TLS
# receiver on loopback (openssl s_server), with certificates made here:
# verification on by default (a trusted certificate for the right name is
# delivered to; an untrusted one, or one for another name, is not, and the
# log says why); tls_verify: false delivers with a warning.
set -u
source "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null; then
	skip "TLS forwarding (no openssl)"; exit 0
fi
e2e_setup
P_OK=$(free_port); P_SYS=$(free_port); P_NAME=$(free_port); P_OFF=$(free_port)
C="$T/certs"; mkdir -p "$C"
# A self-signed certificate for localhost and 127.0.0.1 (the test's CA).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$C/key.pem" \
    -out "$C/cert.pem" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$T/openssl.log" 2>&1 ||
    { not_ok "test certificate made"; exit 1; }
cat >>"$CFG" <<CFGEOF
outputs:
  - name: tls-ok
    type: forward
    address: 127.0.0.1:$P_OK
    protocol: tls
    tls_ca: $C/cert.pem
    tls_server_name: localhost
    retry_max: 1s
  - name: tls-system-store
    type: forward
    address: localhost:$P_SYS
    protocol: tls
    retry_max: 1s
  - name: tls-wrong-name
    type: forward
    address: 127.0.0.1:$P_NAME
    protocol: tls
    tls_ca: $C/cert.pem
    tls_server_name: soc.example.org
    retry_max: 1s
  - name: tls-noverify
    type: forward
    address: 127.0.0.1:$P_OFF
    protocol: tls
    tls_verify: false
    format: json
    retry_max: 1s
CFGEOF

# s_server IN_FIFO PORT OUT: a TLS receiver; its standard input is held open
# (at EOF it would end the connection).
start_tls_receiver() {
	local port=$1 out=$2
	mkfifo "$T/in.$port"
	openssl s_server -accept "127.0.0.1:$port" -cert "$C/cert.pem" \
	    -key "$C/key.pem" -quiet <"$T/in.$port" >"$out" 2>>"$T/s_server.log" &
	E2E_PIDS+=("$!")
	exec {fd}>"$T/in.$port"		# hold the fifo open
	eval "HOLD_$port=$fd"
}
for p in "$P_OK" "$P_SYS" "$P_NAME" "$P_OFF"; do
	start_tls_receiver "$p" "$T/recv.$p"
done
tls_listening() {
	local p
	for p in "$P_OK" "$P_SYS" "$P_NAME" "$P_OFF"; do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || return 1
	done
}
check "TLS receivers listen" wait_until 20 tls_listening
start_server || { not_ok "server starts"; exit 1; }
ok "server starts with TLS forward outputs"

# Alerts: failed passwords over TCP syslog.
{
	for i in 1 2 3; do
		printf '<38>Nov 28 00:00:%02d web01 sshd[%d]: Failed password for root from 10.9.0.%d port 22 ssh2\n' \
		    "$i" "$((1000 + i))" "$i"
	done
} >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
# got PORT TEXT: TEXT received three times (frames are octet-counted, not
# lines).
got() { [ "$(grep -oF -- "$2" "$T/recv.$1" 2>/dev/null | wc -l)" -ge 3 ]; }
check "verified TLS forward delivers the alerts (CEF)" wait_until 60 \
    got "$P_OK" 'CEF:0|tocsin|tocsin|1|sshd.failed_password_root'
check "tls_verify: false delivers too (JSON)" wait_until 30 \
    got "$P_OFF" '"sshd.failed_password_root"'
case "$(head -c 5 "$T/recv.$P_OK")" in
[1-9]*" "*|[1-9][0-9]*) ok "RFC 5425 octet-counted frames" ;;
*) not_ok "RFC 5425 octet-counted frames"; diag "got: $(head -c 40 "$T/recv.$P_OK")" ;;
esac
logs() { cat "$T"/*.log 2>/dev/null; }
refused() { logs | grep -q "output $1: certificate of .* refused"; }
check "an untrusted certificate is refused and said" wait_until 30 \
    refused tls-system-store
check "a certificate for another name is refused and said" wait_until 30 \
    refused tls-wrong-name
check "turning verification off is warned about" \
    sh -c "cat '$T'/*.log | grep -q 'output tls-noverify: tls_verify is off'"
is "nothing delivered to the untrusted receiver" \
    "$(grep -oF 'sshd' "$T/recv.$P_SYS" | wc -l)" 0
is "nothing delivered to the wrongly named receiver" \
    "$(grep -oF 'sshd' "$T/recv.$P_NAME" | wc -l)" 0

# A tls_ option without protocol: tls is a configuration error.
cat >"$T/bad.yml" <<BADEOF
data_dir: $T/bad
outputs:
  - name: x
    type: forward
    address: 127.0.0.1:1
    tls_ca: /nonexistent
BADEOF
out=$("$TOCSIN_BIN/tocsind" -c "$T/bad.yml" -t 2>&1)
case "$out" in *"bad.yml:"*"tls_ca"*"needs protocol: tls"*)
	ok "tls_ca without protocol: tls refused with file:line" ;;
*) not_ok "tls_ca without protocol: tls refused with file:line"; diag "got: $out" ;;
esac

stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"
exit 0
