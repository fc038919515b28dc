#!/bin/bash
# syslog.sh - syslog from network devices with real clients: util-linux
# `logger` (UDP and TCP, RFC 3164 and 5424, newline framing and RFC 6587
# octet counting) and syslog-ng's `loggen` (a TCP stream and a modest UDP
# flow).  TCP counts are exact (each message journaled once, in order);
# UDP may lose datagrams in the kernel under load, so for UDP the test
# asserts that what the collector received (collector.syslog_received) is
# exactly what it journaled, and that the kernel's drop counter accounts
# for any datagram that never reached it.  Sender addresses are recorded.
set -u
source "$(dirname "$0")/lib.sh"

e2e_setup
start_server || { not_ok "server starts"; exit 1; }
ok "server starts"

# ev_json: every journaled event as JSON Lines.
ev_json() { tocsin events --json --limit 0 2>/dev/null; }
counter_at_least() { local v; v=$(counter "$1"); [ "${v:-0}" -ge "$2" ]; }
# count_msg TEXT: events whose message contains TEXT.
count_msg() { ev_json | jq -r '.message' | grep -cF -- "$1"; }
has_msg() { [ "$(count_msg "$1")" -ge "${2:-1}" ]; }
# field_of TEXT FIELD: FIELD of the (first) event whose message has TEXT.
field_of() {
	ev_json | jq -r --arg t "$1" --arg f "$2" \
	    'select(.message | contains($t)) | .[$f]' | head -n 1
}
myhost=$(hostname)

# ---- logger ---------------------------------------------------------------
if command -v logger >/dev/null; then
	L=(logger -n 127.0.0.1 -P "$SYSLOG_PORT" -t e2elogger)
	"${L[@]}" -d --rfc3164 "logger udp rfc3164 one"
	"${L[@]}" -d --rfc5424 "logger udp rfc5424 two"
	"${L[@]}" -T --rfc3164 "logger tcp rfc3164 three"
	"${L[@]}" -T --rfc5424 "logger tcp rfc5424 four"
	"${L[@]}" -T --octet-count --rfc5424 "logger tcp octet-counted five"
	"${L[@]}" -T --octet-count --rfc3164 "logger tcp octet-counted six"
	for m in "udp rfc3164 one" "udp rfc5424 two" "tcp rfc3164 three" \
	    "tcp rfc5424 four" "tcp octet-counted five" "tcp octet-counted six"; do
		if wait_until 10 has_msg "logger $m"; then
			is "logger $m: journaled once" "$(count_msg "logger $m")" 1
		else
			not_ok "logger $m: journaled"
		fi
	done
	is "UDP message: source recorded" \
	    "$(field_of 'logger udp rfc3164 one' source)" "syslog_udp"
	is "TCP message: source recorded" \
	    "$(field_of 'logger tcp rfc5424 four' source)" "syslog_tcp"
	case "$(field_of 'logger udp rfc5424 two' file)" in
	"udp:127.0.0.1:"[0-9]*) ok "UDP sender address recorded" ;;
	*) not_ok "UDP sender address recorded"
	   diag "got: $(field_of 'logger udp rfc5424 two' file)" ;;
	esac
	case "$(field_of 'logger tcp octet-counted five' file)" in
	"tcp:127.0.0.1:"[0-9]*) ok "TCP sender address recorded" ;;
	*) not_ok "TCP sender address recorded"
	   diag "got: $(field_of 'logger tcp octet-counted five' file)" ;;
	esac
	is "RFC 5424 header host used" \
	    "$(field_of 'logger tcp rfc5424 four' host)" "$myhost"
	is "RFC 3164 header host used" \
	    "$(field_of 'logger udp rfc3164 one' host)" "$myhost"
	framed=$(ev_json | jq -r 'select(.message | contains("octet-counted")) |
	    .message' | grep -c '^[0-9]* <')
	is "octet counts are not part of the message" "$framed" "0"
else
	skip "logger tests (no logger)"
fi

# A message whose header names no host: the sender's address is the host.
printf '<13>no header at all, from a bare sender' \
    >"/dev/udp/127.0.0.1/$SYSLOG_PORT"
if wait_until 10 has_msg "no header at all"; then
	is "headerless message: sender address as host" \
	    "$(field_of 'no header at all' host)" "127.0.0.1"
else
	not_ok "headerless message journaled"
fi

# ---- loggen: TCP, exact -----------------------------------------------------
if command -v loggen >/dev/null; then
	N=3000
	r0=$(counter collector.syslog_received)
	loggen -i -S -n "$N" -r 1000 -I 10 -Q 127.0.0.1 "$SYSLOG_PORT" \
	    >"$T/loggen-tcp.log" 2>&1
	diag "loggen tcp: $(tr '\n' ' ' <"$T/loggen-tcp.log" | cut -c1-200)"
	tcp_count() {
		ev_json | jq -r 'select(.source == "syslog_tcp" and
		    (.message | contains("seq: "))) | .message' |
		    grep -o 'seq: [0-9]*' | sort -u | wc -l
	}
	tcp_done() { [ "$(tcp_count)" -ge "$N" ]; }
	check "loggen TCP: all messages arrive" wait_until 60 tcp_done
	is "loggen TCP: every message journaled once" "$(tcp_count)" "$N"
	dup=$(ev_json | jq -r 'select(.source == "syslog_tcp") | .message' |
	    grep -o 'seq: [0-9]*' | sort | uniq -d | wc -l)
	is "loggen TCP: no duplicates" "$dup" "0"
	r1=$(counter collector.syslog_received)
	is "loggen TCP: syslog_received counts them" "$((r1 - r0))" "$N"

	# RFC 5424 with octet-counting framing (-P).
	loggen -i -S -P -n 500 -r 1000 -I 10 -Q 127.0.0.1 "$SYSLOG_PORT" \
	    >>"$T/loggen-tcp.log" 2>&1
	p_count() {
		ev_json | jq -r 'select(.source == "syslog_tcp") | .message' |
		    grep -c '^<[0-9]*>1 .*seq: '
	}
	p_done() { [ "$(p_count)" -ge 500 ]; }
	check "loggen TCP RFC 5424 framed: all arrive" wait_until 60 p_done
	is "loggen TCP RFC 5424 framed: each once, unframed" "$(p_count)" 500

	# ---- loggen: UDP, what the kernel delivered ----------------------------
	NU=1000
	kdrop() { awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 }
	    else print $c["RcvbufErrors"] + $c["InErrors"] }' /proc/net/snmp; }
	d0=$(kdrop); r0=$(counter collector.syslog_received)
	j0=$(ev_json | jq -r 'select(.source == "syslog_udp")' | grep -c '^{')
	loggen -i -D -n "$NU" -r 500 -I 10 -Q 127.0.0.1 "$SYSLOG_PORT" \
	    >"$T/loggen-udp.log" 2>&1
	udp_arriving() { [ "$(counter collector.syslog_received)" -gt "$r0" ]; }
	wait_until 10 udp_arriving
	udp_settled() {
		local a b
		a=$(counter collector.syslog_received); sleep 0.5
		b=$(counter collector.syslog_received); [ "$a" = "$b" ]
	}
	wait_until 20 udp_settled
	r1=$(counter collector.syslog_received); d1=$(kdrop)
	got=$((r1 - r0))
	j1=$(ev_json | jq -r 'select(.source == "syslog_udp")' | grep -c '^{')
	diag "loggen udp: sent $NU, received $got, kernel drops $((d1 - d0))"
	check "loggen UDP: most datagrams received" test "$got" -gt 0
	is "loggen UDP: everything received is journaled" "$((j1 - j0))" "$got"
	check "loggen UDP: every loss is the kernel's (counted there)" \
	    test $((got + d1 - d0)) -ge "$NU"
	is "loggen UDP: nothing dropped by the collector" \
	    "$(counter collector.syslog_dropped_full)" "0"
else
	skip "loggen tests (no loggen)"
fi

stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"
exit 0
