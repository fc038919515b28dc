#!/bin/sh
# api.sh - the HTTP API under load, against a state holding a million
# alerts:
#
#   BENCH api_alerts_rps R requests/s     GET /api/v1/alerts?limit=100 with
#       filters (min_level=5&host=pc-042, the kind of page an analyst's
#       console asks for), API_THREADS (4) clients each on one kept-alive
#       connection, for API_SECONDS (10) seconds
#   BENCH api_alerts_p99_ms L ms          the 99th percentile of those
#       requests' latency (and the median on a comment line)
#   BENCH api_alerts_nofilter_rps R requests/s   the same for the newest
#       page of all alerts (limit=100, no filter)
#
# The state is filled by tests/tools/api_fill through the state's own
# write API (API_ALERTS, default 1,000,000 alerts over 500 hosts, 200 rules,
# 30 days), then one real tocsind serves it; the rate limit is raised out
# of the way (the benchmark measures the API, not its limiter).  One round.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=${BENCH_BIN:-bin}
TOOLS=${BENCH_TOOLS:-build/release/tools}
N=${API_ALERTS:-1000000}
THREADS=${API_THREADS:-4}
SECS=${API_SECONDS:-10}
label=$N
[ "$N" = 1000000 ] && label=1m

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-api-bench.XXXXXX")
server=""
cleanup() {
	[ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

d=$tmp
mkdir -p "$d/data"
t0=$(date +%s)
$TOOLS/api_fill "$d/data/state" "$N" || { echo "# api_fill failed"; exit 1; }
echo "# api: $N alerts written in $(( $(date +%s) - t0 )) s ($(du -sh "$d/data/state" | cut -f1) of state)"

port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 )); }
for try in 1 2 3; do
	p=$(port); ap=$(port)
	cat >"$d/tocsind.yml" <<EOF2
data_dir: $d/data
log_level: warn
collector:
  listen: tcp://127.0.0.1:$p
  syslog_udp: ""
  syslog_tcp: ""
engine:
  rules: [rules/default]
  state_map_size: 8G
api:
  listen: 127.0.0.1:$ap
  rate: 100000
  burst: 1000000
EOF2
	$B/tocsind -f -c "$d/tocsind.yml" 2>"$d/tocsind.log" &
	server=$!
	i=0
	until [ -s "$d/data/run/api.pid" ]; do
		kill -0 "$server" 2>/dev/null || break
		i=$((i + 1)); [ $i -gt 200 ] && break
		sleep 0.1
	done
	[ -s "$d/data/run/api.pid" ] && break
	kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=""
done
[ -n "$server" ] || { echo "# tocsind did not start: $(tail -n 1 "$d/tocsind.log")"; exit 1; }
tok=$($B/tocsin -c "$d/tocsind.yml" api token create --name bench --role viewer 2>/dev/null |
    awk '/^token:/ { print $2 }')
url="http://127.0.0.1:$ap/api/v1/alerts?limit=100&min_level=5&host=pc-042"
# the page must be full: the benchmark reads 100 alerts each time
got=$(curl -s -H "Authorization: Bearer $tok" "$url" | jq '.alerts | length')
[ "$got" = 100 ] || { echo "# api: the filtered page holds $got alerts, not 100"; exit 1; }
set -- $($TOOLS/api_load "$url" "$tok" "$THREADS" "$SECS")
[ "${4:-1}" = 0 ] || echo "# api: $4 requests failed"
echo "# api_alerts: $2 requests, median ${8} ms, p99 ${10} ms, $THREADS clients, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "BENCH api_alerts_rps $6 requests/s"
echo "BENCH api_alerts_p99_ms ${10} ms"
set -- $($TOOLS/api_load "http://127.0.0.1:$ap/api/v1/alerts?limit=100" "$tok" "$THREADS" "$SECS")
echo "# api_alerts_nofilter: $2 requests, median ${8} ms, p99 ${10} ms"
echo "BENCH api_alerts_nofilter_rps $6 requests/s"
