#!/bin/sh
# The agent's footprint at a PC's normal load: tocsin-agent ships 50 events
# per second for about 20 s to a real tocsind on loopback (CURVE); prints
#   BENCH agent_rss_kb N kB      resident memory at the end (VmRSS)
#   BENCH agent_cpu_pct N %      CPU (user + system) over the interval, in
#                                percent of one core
# Goal: under 10 MB and under 1% of a core.  Release build (bin/, or
# $TOCSIN_BENCH_BIN).  Every wait is bounded.
#
#   sh tests/bench/agent.sh [SECONDS]    (default 20)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=${TOCSIN_BENCH_BIN:-bin}
AB=${TOCSIN_BENCH_AGENT_BIN:-$B}
SECS=${1:-20}
RATE=50		# events per second
TICK=10		# writes per second (RATE/TICK lines each)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-bench-agent.XXXXXX")
server=""; agent=""
cleanup() {
	[ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 )); }
# wait_for SECONDS CMD...: bounded wait for CMD to succeed.
wait_for() {
	n=$(( $1 * 10 )); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

cat >"$tmp/tocsind.yml" <<EOF
data_dir: $tmp/data
log_level: warn
collector:
  listen: tcp://127.0.0.1:$(port)
  syslog_udp: ""
  syslog_tcp: ""
engine:
  rules:
    - $top/rules/default
EOF
"$B/tocsind" -c "$tmp/tocsind.yml" -f >"$tmp/tocsind.log" 2>&1 &
server=$!
up() { [ -s "$tmp/data/run/collector.pid" ] && [ -s "$tmp/data/run/engine.pid" ]; }
if ! wait_for 30 up; then
	echo "# tocsind did not start"; cat "$tmp/tocsind.log"; exit 1
fi
"$B/tocsin" -c "$tmp/tocsind.yml" agents add bench -o "$tmp/bench.yml" \
    --agent-data "$tmp/agent" --follow "$tmp/auth.log" 2>/dev/null || exit 1
: >"$tmp/auth.log"
"$AB/tocsin-agent" -c "$tmp/bench.yml" -f >"$tmp/agent.log" 2>&1 &
agent=$!
connected() { grep -q 'connected: collector has' "$tmp/agent.log"; }
if ! wait_for 30 connected; then
	echo "# the agent did not connect"; cat "$tmp/agent.log"; exit 1
fi

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
journaled() {
	"$B/tocsin" -c "$tmp/tocsind.yml" status --json 2>/dev/null |
	    jq -r '[.. | objects | select(has("journal.events")) |
	        .["journal.events"]] | first // 0'
}

per=$((RATE / TICK))
total=$((SECS * RATE))
line='sshd[4242]: Failed password for root from 203.0.113.7 port 50022 ssh2'
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks "$agent")
t0=$(date +%s%N)
i=0
while [ "$i" -lt "$total" ]; do
	# Paced on the clock so that the rate holds whatever a write costs.
	next=$(( t0 + (i / per + 1) * 1000000000 / TICK ))
	j=0
	while [ "$j" -lt "$per" ]; do
		echo "$(date -u '+%b %e %H:%M:%S') web01 $line n=$i"
		i=$((i + 1)); j=$((j + 1))
	done >>"$tmp/auth.log"
	now=$(date +%s%N)
	[ "$now" -lt "$next" ] &&
	    sleep "$(awk -v d=$((next - now)) 'BEGIN { printf "%.3f", d / 1e9 }')"
done
t1=$(date +%s%N)
c1=$(cpu_ticks "$agent")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status")
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$agent/status")
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$agent/status")
all_in() { [ "$(journaled)" -ge "$total" ]; }
wait_for 30 all_in || echo "# only $(journaled) of $total events journaled"

echo "# agent: $total events at $RATE/s over $(( (t1 - t0) / 1000000 )) ms;" \
    "peak RSS $hwm kB; $threads threads"
echo "BENCH agent_rss_kb $rss kB"
awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$((t1 - t0)) \
    'BEGIN { printf "BENCH agent_cpu_pct %.2f %%\n", 100 * c / hz / (ns / 1e9) }'
