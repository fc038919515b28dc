#!/bin/sh
# The Windows agent's footprint at a PC's normal load, under Wine:
# bin/tocsin-agent.exe follows a file written at 50 events per second for
# about 20 s and ships it to a real tocsind on loopback (CURVE); prints
#   BENCH agent_win_rss_kb N kB      resident memory of the agent's process
#                                    at the end (VmRSS; under Wine it holds
#                                    Wine's own ntdll, kernel32, ... too)
#   BENCH agent_win_cpu_pct N %      its CPU (user + system) over the
#                                    interval, in percent of one core
#   BENCH agent_win_wineserver_cpu_pct N %   wineserver's CPU meanwhile (the
#                                    system calls Wine serves for it)
#   BENCH agent_win_spool_kb N kB    the spool data file's size (Windows
#                                    sizes it to the LMDB map)
# Goal on Windows: under 10 MB and 1% of a core; Wine's figures are an
# upper bound, not Windows'.  Skipped without Wine or bin/tocsin-agent.exe.
#
#   sh tests/bench/agent_windows.sh [SECONDS]    (default 20)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=${TOCSIN_BENCH_BIN:-bin}
SECS=${1:-20}
RATE=50
TICK=10
if ! command -v wine >/dev/null 2>&1 || [ ! -f bin/tocsin-agent.exe ]; then
	echo "# agent_windows: no Wine or no bin/tocsin-agent.exe (make windows): skipped"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-bench-winagent.XXXXXX")
export WINEPREFIX="$tmp/wine" WINEDEBUG=-all WINEARCH=win64
export WINEDLLOVERRIDES="mscoree,mshtml="
server=""; agent=""
cleanup() {
	[ -n "$agent" ] && kill -INT "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
	wineserver -k 2>/dev/null; wineserver -w 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 )); }
wait_for() {
	n=$(( $1 * 10 )); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}
wineboot -i >/dev/null 2>&1
wineserver -p >/dev/null 2>&1

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
wait_for 30 up || { echo "# tocsind did not start"; exit 1; }
"$B/tocsin" -c "$tmp/tocsind.yml" agents add bench -o "$tmp/bench.yml" \
    --agent-data "$tmp/agent" --follow "$tmp/auth.log" 2>/dev/null || exit 1
sed -i "s|$tmp/|Z:$tmp/|g" "$tmp/bench.yml"
: >"$tmp/auth.log"
wine bin/tocsin-agent.exe -c "Z:$tmp/bench.yml" -f >"$tmp/agent.log" 2>&1 &
agent=$!
connected() { grep -q 'connected: collector has' "$tmp/agent.log" 2>/dev/null; }
wait_for 60 connected || { echo "# the agent did not connect"; cat "$tmp/agent.log"; exit 1; }
# this prefix's wineserver (it serves the agent's system calls)
ws=""
for p in $(pgrep -u "$(id -u)" wineserver); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
	    grep -qx "WINEPREFIX=$WINEPREFIX" && ws=$p
done

cpu_ticks() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" || echo 0; }
journaled() {
	"$B/tocsin" -c "$tmp/tocsind.yml" status --json 2>/dev/null |
	    jq -r '[.. | objects | select(has("journal.events")) |
	        .["journal.events"]] | first // 0'
}
per=$((RATE / TICK))
total=$((SECS * RATE))
line='sshd[4242]: Failed password for root from 203.0.113.7 port 50022 ssh2'
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks "$agent"); w0=$(cpu_ticks "$ws")
t0=$(date +%s%N)
i=0
while [ "$i" -lt "$total" ]; do
	next=$(( t0 + (i / per + 1) * 1000000000 / TICK ))
	j=0
	while [ "$j" -lt "$per" ]; do
		echo "$(date -u '+%b %e %H:%M:%S') pc01 $line n=$i"
		i=$((i + 1)); j=$((j + 1))
	done >>"$tmp/auth.log"
	now=$(date +%s%N)
	[ "$now" -lt "$next" ] &&
	    sleep "$(awk -v d=$((next - now)) 'BEGIN { printf "%.3f", d / 1e9 }')"
done
t1=$(date +%s%N)
c1=$(cpu_ticks "$agent"); w1=$(cpu_ticks "$ws")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent/status")
all_in() { [ "$(journaled)" -ge "$total" ]; }
wait_for 30 all_in || echo "# only $(journaled) of $total events journaled"
spool=$(( $(stat -c %s "$tmp/agent/spool/data.mdb") / 1024 ))
echo "# Windows agent under Wine: $total events at $RATE/s over $(( (t1 - t0) / 1000000 )) ms"
echo "BENCH agent_win_rss_kb $rss kB"
awk -v c=$((c1 - c0)) -v hz="$hz" -v ns=$((t1 - t0)) \
    'BEGIN { printf "BENCH agent_win_cpu_pct %.2f %%\n", 100 * c / hz / (ns / 1e9) }'
awk -v c=$((w1 - w0)) -v hz="$hz" -v ns=$((t1 - t0)) \
    'BEGIN { printf "BENCH agent_win_wineserver_cpu_pct %.2f %%\n", 100 * c / hz / (ns / 1e9) }'
echo "BENCH agent_win_spool_kb $spool kB"
