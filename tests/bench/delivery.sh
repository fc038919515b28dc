#!/bin/sh
# delivery.sh - acknowledged delivery figures (issue: no event lost).
#
#   BENCH agent_to_journal_eps N events/s   a real tocsin-agent shipping a
#       big file over CURVE on loopback to a real tocsind, timed from the
#       first line written until collector.events_journaled counts them all
#       (every event committed, fsynced and acknowledged);
#   BENCH zmq_raw_eps N events/s            the same transport with the same
#       BATCH frames (agent's batch size, same lines), no journal, no spool:
#       tests/tools/zmq_bench, in the same run;
#   BENCH collector_journal_eps N events/s  zmq_bench speaking the agent
#       protocol to the real collector (HELLO, batches within the credit,
#       ACKs): the collector and the journal without the agent's files and
#       spool, which tells which side limits agent_to_journal_eps.
#
# Medians of BENCH_ROUNDS (3) rounds.  Release binaries from $BENCH_BIN (bin)
# and tools from $BENCH_TOOLS (build/release/tools): run after `make` and the
# tools' build (`make bench` does both).  Loopback only, every wait bounded.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=${BENCH_BIN:-bin}
TOOLS=${BENCH_TOOLS:-build/release/tools}
ROUNDS=${BENCH_ROUNDS:-3}
COPIES=${BENCH_COPIES:-10}
BATCH=${BENCH_BATCH:-512}

corpus=../shared/corpus/rootly/openssh.log
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-delivery.XXXXXX")
server=""; agent=""
cleanup() {
	[ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ -r "$corpus" ]; then
	input=$corpus
else
	echo "# $corpus is absent: generated sshd lines instead"
	input=$tmp/gen.log
	i=0
	while [ $i -lt 40000 ]; do
		echo "Dec 10 06:55:46 LabSZ sshd[$((24200 + i % 1000))]: Failed password for invalid user u$i from 10.0.$((i % 250)).$((i % 200)) port $((40000 + i % 20000)) ssh2"
		i=$((i + 1))
	done >"$input"
fi
big=$tmp/big.log
c=0; while [ $c -lt "$COPIES" ]; do cat "$input"; c=$((c + 1)); done >"$big"
nbig=$(wc -l <"$big" | tr -d ' ')
echo "# input: $COPIES x $input ($nbig lines); batch.max_events $BATCH; machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now_ns() { date +%s%N; }
port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 )); }
journaled() {
	$B/tocsin -c "$1" status --json 2>/dev/null |
	    jq -r '[.. | objects | select(has("collector.events_journaled")) |
	    .["collector.events_journaled"]] | first // 0'
}

delivery_round() {
	d=$tmp/r$1
	mkdir -p "$d"
	cat >"$d/tocsind.yml" <<EOF
data_dir: $d/data
log_level: warn
collector:
  listen: tcp://127.0.0.1:$(port)
  syslog_udp: ""
  syslog_tcp: ""
engine:
  rules: [rules/default]
EOF
	$B/tocsind -f -c "$d/tocsind.yml" 2>"$d/tocsind.log" &
	server=$!
	i=0
	until [ -s "$d/data/run/collector.pid" ] && [ -s "$d/data/run/engine.pid" ]; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "# tocsind did not start" >&2; return 1; }
		sleep 0.1
	done
	$B/tocsin -c "$d/tocsind.yml" agents add bench -o "$d/agent.yml" \
	    --follow "$d/in.log" --agent-data "$d/agent" >/dev/null 2>&1
	sed -i "s/max_events: .*/max_events: $BATCH/" "$d/agent.yml"
	: >"$d/in.log"
	$B/tocsin-agent -c "$d/agent.yml" -f 2>"$d/agent.log" &
	agent=$!
	i=0
	until grep -q 'follow: ' "$d/agent.log" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && break
		sleep 0.1
	done
	sleep 0.5
	t0=$(now_ns)
	cat "$big" >>"$d/in.log"
	i=0
	while :; do
		j=$(journaled "$d/tocsind.yml")
		[ "${j:-0}" -ge "$nbig" ] && break
		i=$((i + 1)); [ $i -gt 3000 ] && { echo "# delivery stalled at $j of $nbig" >&2; return 1; }
		sleep 0.05
	done
	t1=$(now_ns)
	kill -TERM "$agent"; wait "$agent" 2>/dev/null; agent=""
	echo "$1 agent $(( nbig * 1000000000 / (t1 - t0) ))" >>"$tmp/figures"
	# The collector alone, with a second enrolled agent's keys.
	$B/tocsin -c "$d/tocsind.yml" agents add bench2 -o "$d/agent2.yml" \
	    --agent-data "$d/agent2" >/dev/null 2>&1
	$TOOLS/zmq_bench -c "$d/agent2.yml" -n "$nbig" -b "$BATCH" -f "$input" |
	    awk -v r="$1" '{ print r " collector " $3 }' >>"$tmp/figures"
	kill -TERM "$server"; wait "$server" 2>/dev/null; server=""
}

: >"$tmp/figures"
r=0
while [ $r -lt "$ROUNDS" ]; do delivery_round $r || exit 1; r=$((r + 1)); done
awk '$2 == "agent" { print $3 }' "$tmp/figures" | median |
    awk '{ print "BENCH agent_to_journal_eps " $1 " events/s" }'
awk '$2 == "collector" { print $3 }' "$tmp/figures" | median |
    awk '{ print "BENCH collector_journal_eps " $1 " events/s" }'
r=0
while [ $r -lt "$ROUNDS" ]; do
	$TOOLS/zmq_bench -n "$nbig" -b "$BATCH" -f "$input" | awk '{ print $3 }'
	r=$((r + 1))
done | median | awk '{ print "BENCH zmq_raw_eps " $1 " events/s" }'
