#!/bin/bash
# floods.sh - connection floods are bounded and counted: 2,000 idle TCP
# connections to the agent port and to the syslog port, then a real agent
# and a real syslog sender still get through; 100,000 UDP datagrams are all
# accounted for in `tocsin status` (received, or dropped by the kernel and
# counted); connections past the agent port's listen queue are counted
# too.  Loopback only.
set -u
source "$(dirname "$0")/lib.sh"

e2e_setup
start_server || { not_ok "server starts"; exit 1; }
ok "server starts"
enroll web01 --follow "$T/web01.log" >"$T/enroll.log" 2>&1 || not_ok "enroll web01"
FLOOD="$TOCSIN_TOOLS/flood"
counter_at_least() { local v; v=$(counter "$1"); [ "${v:-0}" -ge "$2" ]; }
fd_limit=$(counter collector.fd_limit)
check "the collector's descriptor limit is known ($fd_limit)" \
    test "${fd_limit:-0}" -ge 1024

# ---- 2,000 idle TCP connections on each port ----------------------------------
"$FLOOD" tcp 127.0.0.1 "$PORT" 2000 60 >"$T/flood-agent.out" 2>&1 &
E2E_PIDS+=("$!"); fa=$!
"$FLOOD" tcp 127.0.0.1 "$SYSLOG_PORT" 2000 60 >"$T/flood-syslog.out" 2>&1 &
E2E_PIDS+=("$!"); fs=$!
check "2,000 idle connections opened to the agent port" wait_until 60 \
    grep -q '^connected 2000$' "$T/flood-agent.out"
check "2,000 idle connections opened to the syslog port" wait_until 60 \
    grep -q '^connected 2000$' "$T/flood-syslog.out"
check "agent-port connections counted" wait_until 10 counter_at_least \
    collector.connections_accepted 2000
check "idle syslog connections evicted and counted" wait_until 10 \
    counter_at_least collector.syslog_connections_evicted 1000

# A real agent, while the flood holds its connections.
start_agent web01
wait_until 10 agent_following web01
echo "Jan 30 12:00:00 web01 flood-test: real agent line" >>"$T/web01.log"
agent_line() {
	tocsin events --json --limit 0 2>/dev/null |
	    jq -r '.message' | grep -q 'real agent line'
}
check "a real agent gets through the flood" wait_until 30 agent_line
# A real syslog sender over TCP.
if command -v logger >/dev/null; then
	logger -n 127.0.0.1 -P "$SYSLOG_PORT" -T --octet-count -t e2e \
	    "real syslog sender" 2>>"$T/logger.log"
else
	printf '<13>Jan 30 12:00:00 dev1 e2e: real syslog sender\n' \
	    >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
fi
syslog_line() {
	tocsin events --json --limit 0 2>/dev/null |
	    jq -r '.message' | grep -q 'real syslog sender'
}
check "a real syslog sender gets through the flood" wait_until 30 syslog_line
stop_agent
kill -TERM "$fa" "$fs" 2>/dev/null
wait_until 20 not_running "$fa"; wait_until 20 not_running "$fs"

# ---- 100,000 UDP datagrams, every one accounted for ---------------------------
r0=$(counter collector.syslog_received); d0=$(counter collector.syslog_udp_dropped_kernel)
m0=$(counter collector.syslog_refused_malformed); f0=$(counter collector.syslog_dropped_full)
# The collector is stopped while they arrive, so that the kernel's receive
# buffer overflows: what it drops must be counted, not lost silently.
cpid=$(cat "$DATA/run/collector.pid")
kill -STOP "$cpid"
out=$("$FLOOD" udp 127.0.0.1 "$SYSLOG_PORT" 100000)
kill -CONT "$cpid"
is "100,000 datagrams sent" "$out" "sent 100000"
accounted() {
	local r d m f
	r=$(counter collector.syslog_received); d=$(counter collector.syslog_udp_dropped_kernel)
	m=$(counter collector.syslog_refused_malformed); f=$(counter collector.syslog_dropped_full)
	ACC=$(( (r - r0) + (d - d0) + (m - m0) + (f - f0) ))
	[ "$ACC" -ge 100000 ]
}
ACC=0
check "received + dropped = 100,000 in tocsin status" wait_until 60 accounted
is "nothing counted twice" "$ACC" 100000
diag "received $(( $(counter collector.syslog_received) - r0 )), kernel drops $(( $(counter collector.syslog_udp_dropped_kernel) - d0 )), receive buffer $(counter collector.syslog_udp_rcvbuf_bytes) bytes"
check "the kernel's drops were counted" counter_at_least \
    collector.syslog_udp_dropped_kernel $((d0 + 1))
check "tocsin status shows the kernel drop counter" \
    sh -c "'$TOCSIN_BIN/tocsin' -c '$CFG' status | grep -q syslog_udp_dropped_kernel"

# ---- the agent port's listen queue: its bound and its drops counted ------------
# The collector asks for a backlog of 65535; the kernel grants at most
# net.core.somaxconn.  With the collector stopped, connections fill the
# queue; the one past it is dropped by the kernel (its SYN and the
# retransmissions), which collector.listen_drops must show.
backlog=$(counter collector.listen_backlog)
somax=$(cat /proc/sys/net/core/somaxconn 2>/dev/null || echo 4096)
want=$(( somax < 65535 ? somax : 65535 ))
is "collector.listen_backlog is what the kernel granted (min of 65535 and somaxconn)" \
    "$backlog" "$want"
if [ "${backlog:-0}" -gt 0 ] && [ "$backlog" -le 4400 ]; then
	l0=$(counter collector.listen_drops)
	kill -STOP "$cpid"
	# backlog + 1 fill the queue, one more cannot get in (5 s, then
	# given up by the flood tool)
	"$FLOOD" tcp 127.0.0.1 "$PORT" $((backlog + 2)) 1 >"$T/flood-listen.out" 2>&1
	kill -CONT "$cpid"
	is "the queue took backlog + 1 connections, not one more" \
	    "$(cat "$T/flood-listen.out")" "connected $((backlog + 1))"
	check "the kernel's listen drops were counted" wait_until 20 \
	    counter_at_least collector.listen_drops $((l0 + 1))
	diag "collector.listen_drops $(counter collector.listen_drops) (was $l0)"
	check "tocsin status shows the listen drop counter" \
	    sh -c "'$TOCSIN_BIN/tocsin' -c '$CFG' status | grep -q listen_drops"
else
	skip "listen drops: a backlog of ${backlog:-?} is more than the flood tool's source ports"
fi

stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"
exit 0
