#!/bin/sh
# tocsin benchmarks: one line per figure, "BENCH <name> <value> <unit>".
# Figures are medians of several rounds; the baseline (GNU grep) runs in the
# same run on the same lines, so compare the ratio, not absolute numbers.
# Run with `make bench` (release build).  Results and method:
# docs/benchmarks.md.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=bin
TOOLS=build/release/tools
ROUNDS=${BENCH_ROUNDS:-5}

corpus=../shared/corpus/rootly/openssh.log
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-bench.XXXXXX")
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
	echo "# $corpus is absent: benchmarking on the repository sample repeated"
	input=$tmp/sample.log
	i=0; while [ $i -lt 2000 ]; do cat tests/data/sshd_sample.log; i=$((i + 1)); done >"$input"
fi
n=$(wc -l <"$input" | tr -d ' ')
echo "# input: $input ($n lines); machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"

# ---- engine: decode + rules, one thread ----------------------------------
$TOOLS/bench_engine -r rules/default -n "$ROUNDS" -N engine_eps "$input"

# ---- baseline: GNU grep -cE with the same patterns -------------------------
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now_ns() { date +%s%N; }
r=0
while [ $r -lt "$ROUNDS" ]; do
	t0=$(now_ns)
	grep -cE -f tests/bench/sshd_patterns.ere "$input" >/dev/null
	t1=$(now_ns)
	echo $(( n * 1000000000 / ( (t1 - t0) > 0 ? (t1 - t0) : 1 ) ))
	r=$((r + 1))
done | median | awk '{ print "BENCH grep_baseline_lps " $1 " lines/s" }'

# ---- pipeline: agent -> collector -> journal -> engine -> alerts ----------
port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 )); }
pipeline_round() {
	d=$tmp/p$1
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
	: >"$d/in.log"
	$B/tocsin-agent -c "$d/agent.yml" -f 2>"$d/agent.log" &
	agent=$!
	sleep 0.5
	t0=$(now_ns)
	cat "$big" >>"$d/in.log"
	i=0
	while :; do
		p=$($B/tocsin -c "$d/tocsind.yml" status --json 2>/dev/null | jq -r '.processed // 0')
		[ "${p:-0}" -ge "$nbig" ] && break
		i=$((i + 1)); [ $i -gt 6000 ] && { echo "# pipeline stalled at $p of $nbig" >&2; return 1; }
		sleep 0.02
	done
	t1=$(now_ns)
	kill -TERM "$agent"; wait "$agent" 2>/dev/null; agent=""
	kill -TERM "$server"; wait "$server" 2>/dev/null; server=""
	echo $(( nbig * 1000000000 / (t1 - t0) ))
}
# Five copies of the input, so that a run lasts long enough to time.
big=$tmp/big.log
for c in 1 2 3 4 5; do cat "$input"; done >"$big"
nbig=$((n * 5))
echo "# pipeline_eps: $nbig lines through agent, collector, journal, engine, alerts"
r=0
while [ $r -lt 3 ]; do pipeline_round $r || exit 1; r=$((r + 1)); done | median |
    awk '{ print "BENCH pipeline_eps " $1 " events/s" }'

# ---- the other figures, each in its own script ------------------------------
#   rules.sh     engine_eps_1k / engine_eps_5k: flat cost as rules grow
#   sigma.sh     sigma_base_eps / sigma_eps: with the SigmaHQ rules loaded
#   delivery.sh  agent_to_journal_eps beside zmq_raw_eps (same run)
#   agent.sh     agent_rss_kb / agent_cpu_pct at 50 events/s
for b in rules sigma delivery agent; do
	sh "tests/bench/$b.sh" || echo "# tests/bench/$b.sh failed (status $?)"
done
