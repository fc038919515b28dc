#!/bin/sh
# agents.sh - a province's agents on one collector: AGENTS_N (default
# 10,000) agents, each with its own enrolled key and CURVE session, held by
# one tests/tools/manyagents process against one real tocsind.
#
#   BENCH agents_10k_connect_s S s         from the first connect until every
#       agent has its WELCOME (HELLO acknowledged)
#   BENCH agents_10k_idle_rss_kb K kB      the collector's resident memory,
#   BENCH agents_10k_idle_cpu_pct P %      and CPU (utime + stime from /proc)
#       over AGENTS_IDLE_S (10) seconds in which every agent only sends
#       heartbeats (every 5 s, as tocsin-agent does by default, staggered)
#   BENCH agents_10k_eps E events/s        AGENTS_SEND_S (10) seconds in
#       which every agent keeps one BATCH of AGENTS_BATCH (5) events in
#       flight, a new one on each ACK: events acknowledged per second, and
#       the collector's collector.events_journaled checked against the sum
#       of the agents' acknowledged seqs (nothing lost, nothing twice)
#
# With AGENTS_N other than 10000 the names say the count (agents_500_...).
# One round (a run enrols AGENTS_N keys and takes a minute or more).  The
# descriptor limit is raised to 65536 first where allowed, as the systemd
# unit's LimitNOFILE does; the collector raises its soft limit to the hard
# one itself.  Loopback only, every wait bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=${BENCH_BIN:-bin}
TOOLS=${BENCH_TOOLS:-build/release/tools}
N=${AGENTS_N:-10000}
IDLE=${AGENTS_IDLE_S:-10}
SEND=${AGENTS_SEND_S:-10}
BATCH=${AGENTS_BATCH:-5}
label=$N
[ "$N" = 10000 ] && label=10k

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-agents.XXXXXX")
server=""
cleanup() {
	[ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 )); }
d=$tmp
for try in 1 2 3; do
	rm -rf "$d/data"
	p=$(port)
	cat >"$d/tocsind.yml" <<EOF
data_dir: $d/data
log_level: warn
collector:
  listen: tcp://127.0.0.1:$p
  syslog_udp: ""
  syslog_tcp: ""
engine:
  rules: [rules/default]
EOF
	$B/tocsind -f -c "$d/tocsind.yml" 2>"$d/tocsind.log" &
	server=$!
	i=0
	until [ -s "$d/data/run/collector.pid" ] && [ -s "$d/data/run/engine.pid" ]; do
		kill -0 "$server" 2>/dev/null || break
		i=$((i + 1)); [ $i -gt 100 ] && break
		sleep 0.1
	done
	[ -s "$d/data/run/collector.pid" ] && [ -s "$d/data/run/engine.pid" ] && break
	kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=""
done
[ -n "$server" ] || { echo "# tocsind did not start: $(tail -n 1 "$d/tocsind.log")"; exit 1; }
cpid=$(cat "$d/data/run/collector.pid")
# libzmq holds two descriptors per agent socket (mailbox, connection): split
# the agents over as few processes as the hard limit allows.
lim=$(ulimit -Hn)
[ "$lim" = unlimited ] && lim=1048576
per=$(( (lim - 300) / 2 ))
[ "$per" -lt 100 ] && { echo "# agents: a hard descriptor limit of $lim is too low"; exit 1; }
procs=$(( (N + per - 1) / per ))
echo "# agents: $N agents in $procs manyagents process(es), batch $BATCH, idle ${IDLE} s, send ${SEND} s; descriptor limit $(awk '/Max open files/ { print $4 }' /proc/"$cpid"/limits) (collector), $lim (hard); $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"

now_ns() { date +%s%N; }
ticks() { sed 's/.*) //' /proc/"$cpid"/stat | awk '{ print $12 + $13 }'; }
count() { cat "$d"/out.* 2>/dev/null | grep -c "^$1"; }
wait_lines() {	# WORD SECONDS: 0 once every process printed a WORD line
	i=0
	while [ "$(count "$1")" -lt "$procs" ]; do
		i=$((i + 1)); [ $i -gt $(($2 * 20)) ] && return 1
		for pid in $pids; do
			kill -0 "$pid" 2>/dev/null && continue
			[ "$(count "$1")" -ge "$procs" ] && return 0
			return 1	# one exited without it
		done
		sleep 0.05
	done
}
# Each process its own share of the source ports on 127.0.0.2, named by
# manyagents (-B): the kernel's ephemeral range, which is what it would
# pick from, without its search for a free port on every connect.
set -- $(cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768 60999)
plo=$1; span=$(( ($2 - $1 + 1) / procs ))
pids=""; k=0; left=$N
while [ $k -lt "$procs" ]; do
	nk=$(( left / (procs - k) ))
	left=$((left - nk))
	lo=$(( plo + k * span ))
	$TOOLS/manyagents -d "$d/data" -e "tcp://127.0.0.1:$p" -n "$nk" \
	    -P "p${k}a" -b "$BATCH" -i 0 -s "$SEND" -g "$d/go" -S 127.0.0.2 \
	    -B "$lo-$(( lo + span - 1 ))" >"$d/out.$k" 2>"$d/err.$k" &
	pids="$pids $!"
	k=$((k + 1))
done
fail=""
wait_lines enrolled 1200 || fail="enrolment"
t0=$(now_ns)
[ -z "$fail" ] && : >"$d/go.connect"
[ -z "$fail" ] && { wait_lines connected 600 || fail="connect"; }
t1=$(now_ns)
if [ -z "$fail" ]; then
	sleep 2
	c0=$(ticks); s0=$(now_ns)
	sleep "$IDLE"
	c1=$(ticks); s1=$(now_ns)
	rss=$(awk '/^VmRSS:/ { print $2 }' /proc/"$cpid"/status)
	: >"$d/go.send"
fi
st=0
for pid in $pids; do wait "$pid" || st=$?; done
cat "$d"/out.* | sed 's/^/# /'
cat "$d"/err.* | head -n 5 | sed 's/^/# manyagents: /'
[ -n "$fail" ] && { echo "# agents: stopped at the $fail phase"; exit 1; }

conn=$(cat "$d"/out.* | awk '/^connected / { c += $2; n += $4 } END { print c + 0, n + 0 }')
if [ "$conn" = "$N $N" ]; then
	echo "BENCH agents_${label}_connect_s $(( (t1 - t0) / 1000000 ))" |
	    awk '{ printf "%s %s %.3f s\n", $1, $2, $3 / 1000 }'
else
	echo "# agents: connected (of) $conn"
fi
tck=$(getconf CLK_TCK)
echo "BENCH agents_${label}_idle_cpu_pct $(awk -v a="$c0" -v b="$c1" -v t="$tck" -v ns=$((s1 - s0)) 'BEGIN { printf "%.1f", 100 * (b - a) / t / (ns / 1e9) }') %"
echo "BENCH agents_${label}_idle_rss_kb $rss kB"

# Every acknowledged event journaled exactly once: the collector's count
# against the agents' acknowledged seqs.
acked=$(cat "$d"/out.* | awk '/^total acked/ { sub(";", "", $3); t += $3 } END { print t + 0 }')
sent=$(cat "$d"/out.* | awk '/^acked / { a += $2; if ($5 > s) s = $5 } END { printf "%d %.3f", a, s }')
status=$($B/tocsin -c "$d/tocsind.yml" status --json 2>/dev/null)
journaled=$(echo "$status" | jq -r '[.. | objects | select(has("collector.events_journaled")) |
    .["collector.events_journaled"]] | first // 0')
evicted=$(echo "$status" | jq -r '[.. | objects | select(has("collector.sessions_evicted")) |
    .["collector.sessions_evicted"]] | first // 0')
ctr() { echo "$status" | jq -r --arg n "$1" '[.. | objects | select(has($n)) | .[$n]] | first // 0'; }
echo "# collector.events_journaled $journaled, acknowledged $acked, collector.sessions_evicted $evicted"
echo "# collector.connections_accepted $(ctr collector.connections_accepted), handshake_failed $(ctr collector.handshake_failed), listen_backlog $(ctr collector.listen_backlog), listen_drops $(ctr collector.listen_drops)"
if [ "$st" = 0 ] && [ "$journaled" = "$acked" ] && [ "$acked" -gt 0 ]; then
	echo "$sent" | awk -v l="$label" '{ printf "BENCH agents_%s_eps %.0f events/s\n", l, $1 / $2 }'
else
	echo "# agents_${label}_eps not reported: manyagents status $st, journaled $journaled of $acked acknowledged"
	exit 1
fi
