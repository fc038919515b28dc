#!/bin/sh
# make soak: the whole pipeline (agent -> collector -> journal -> engine ->
# alerts) under steady, realistic traffic for SOAK_MINUTES (default 30),
# printing the resident memory of each process every minute:
#   SOAK minute M rss_kb(heap+file) tocsind=A+F collector=A+F engine=A+F
#       agent=A+F processed=N sent=N data_kb=N
# Traffic: the real sshd corpus replayed at SOAK_RATE lines/s (default
# 1000) with its syslog times shifted to now and, on each pass over the
# corpus, its addresses moved to a new range (new attackers over time), so
# windows, incidents and the journal keep growing the way they would.
# Not part of `make test`.  The memory should stay flat after warm-up.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=bin
MINUTES=${SOAK_MINUTES:-30}
RATE=${SOAK_RATE:-1000}
corpus=../shared/corpus/rootly/openssh.log
[ -r "$corpus" ] || corpus=tests/data/sshd_sample.log
total=$(wc -l <"$corpus" | tr -d ' ')
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-soak.XXXXXX")
server=""; agent=""
cleanup() {
	[ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
cat >"$tmp/tocsind.yml" <<EOC
data_dir: $tmp/data
log_level: warn
collector:
  listen: tcp://127.0.0.1:$port
  syslog_udp: ""
  syslog_tcp: ""
engine:
  rules: [rules/default]
EOC
$B/tocsind -f -c "$tmp/tocsind.yml" 2>"$tmp/tocsind.log" &
server=$!
i=0
until [ -s "$tmp/data/run/collector.pid" ] && [ -s "$tmp/data/run/engine.pid" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { echo "soak: tocsind did not start" >&2; exit 1; }
	sleep 0.1
done
$B/tocsin -c "$tmp/tocsind.yml" agents add soak -o "$tmp/agent.yml" \
    --follow "$tmp/in.log" --agent-data "$tmp/agent" >/dev/null 2>&1 || exit 1
: >"$tmp/in.log"
$B/tocsin-agent -c "$tmp/agent.yml" -f 2>"$tmp/agent.log" &
agent=$!

# RSS as heap+file kB: the heap (RssAnon) is the process's own memory; the
# file part is the LMDB maps' pages in the page cache, which grow with the
# data kept (alerts, journal) until retention removes it.
rss() { awk '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } END { print a "+" f }' "/proc/$1/status" 2>/dev/null || echo 0; }
report() {
	p=$($B/tocsin -c "$tmp/tocsind.yml" status --json 2>/dev/null | jq -r '.processed // 0')
	echo "SOAK minute $1 rss_kb(heap+file) tocsind=$(rss "$server")" \
	    "collector=$(rss "$(cat "$tmp/data/run/collector.pid")")" \
	    "engine=$(rss "$(cat "$tmp/data/run/engine.pid")")" \
	    "agent=$(rss "$agent") processed=${p:-0} sent=$off" \
	    "data_kb=$(du -sk "$tmp/data" | cut -f1)"
}

echo "# soak: $MINUTES min at $RATE lines/s from $corpus ($total lines); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
off=0
start=$(date +%s)
end=$((start + MINUTES * 60))
next_report=$((start + 60))
minute=0
report 0
while :; do
	now=$(date +%s)
	[ "$now" -ge "$end" ] && break
	awk -v off="$off" -v n="$RATE" -v total="$total" \
	    -v ts="$(date '+%b %e %H:%M:%S')" '
	{ a[NR - 1] = $0 }
	END {
		for (i = 0; i < n; i++) {
			j = (off + i) % total; p = int((off + i) / total)
			l = a[j]
			if (l ~ /^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9] /)
				l = ts substr(l, 16)
			if (p > 0 && match(l, /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/)) {
				split(substr(l, RSTART, RLENGTH), q, ".")
				l = substr(l, 1, RSTART - 1) (10 + p % 200) "." (p % 256) "." q[3] "." q[4] substr(l, RSTART + RLENGTH)
			}
			print l
		}
	}' "$corpus" >>"$tmp/in.log"
	off=$((off + RATE))
	if [ "$now" -ge "$next_report" ]; then
		minute=$((minute + 1))
		report "$minute"
		next_report=$((next_report + 60))
	fi
	# one chunk a second
	while [ "$(date +%s)" -le "$now" ]; do sleep 0.1; done
done
report "$minute (end)"
