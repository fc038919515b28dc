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

# ---- flood: brute force, then spraying -----------------------------------
# One scanning address failing 200,000 times within five minutes of event
# time, then 20,000 addresses each trying 10 users (200,000 more lines).
flood=$tmp/flood.log
awk 'BEGIN {
	for (i = 0; i < 200000; i++) {
		s = int(i * 300 / 200000)
		printf "Mar  1 10:%02d:%02d bastion sshd[%d]: Failed password for root from 198.51.100.7 port %d ssh2\n", int(s / 60), s % 60, 1000 + i % 30000, 1024 + i % 60000
	}
	for (a = 0; a < 20000; a++)
		for (u = 0; u < 10; u++) {
			k = a * 10 + u; s = 300 + int(k * 300 / 200000)
			printf "Mar  1 10:%02d:%02d bastion sshd[%d]: Failed password for invalid user user%d from 10.0.%d.%d port %d ssh2\n", int(s / 60), s % 60, 2000 + k % 30000, u, int(a / 256), a % 256, 1024 + k % 60000
		}
}' >"$flood"
nflood=$(wc -l <"$flood" | tr -d ' ')

# BENCH_ONLY=pipeline runs only the pipeline figures (pipeline_eps,
# flood_eps); BENCH_BIN / BENCH_TOOLS point at another build's binaries
# (before/after comparisons in one run).
only=${BENCH_ONLY:-}
B=${BENCH_BIN:-$B}
TOOLS=${BENCH_TOOLS:-$TOOLS}

now_ns() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# ---- engine: the real loop, and the matcher alone ------------------------
if [ -z "$only" ]; then
# engine_eps: journal -> decode -> rules -> correlation -> incidents ->
# alerts committed (engine_run); match_eps: decode + rules only.  The
# flood and the SigmaHQ rule set through the same loop, in the same run.
$TOOLS/bench_engine -E -r rules/default -n "$ROUNDS" -N engine_eps "$input"
$TOOLS/bench_engine -r rules/default -n "$ROUNDS" -N match_eps "$input"
$TOOLS/bench_engine -E -r rules/default -n "$ROUNDS" -N engine_flood_eps "$flood"
sigmahq=../shared/corpus/sigmahq/rules
if [ -d "$sigmahq" ]; then
	echo "# sigmahq_eps: every rule of $sigmahq the loader accepts, beside rules/default"
	$TOOLS/bench_engine -E -r rules/default -r "$sigmahq" -n "$ROUNDS" \
	    -N sigmahq_eps "$input" 2>"$tmp/sigmahq.log"
	# the same without the rule index (every root of the route tried)
	TOCSIN_RULES_INDEX=0 $TOOLS/bench_engine -E -r rules/default \
	    -r "$sigmahq" -n "$ROUNDS" -N sigmahq_eps_before "$input" \
	    2>"$tmp/sigmahq.log"
else
	echo "# sigmahq_eps: $sigmahq is absent; skipped"
fi

# ---- baseline: GNU grep -cE with the same patterns -------------------------
r=0
while [ $r -lt "$ROUNDS" ]; do
	t0=$(now_ns)
	grep -cE -f tests/bench/sshd_patterns.ere "$input" >/dev/null
	t1=$(now_ns)
	echo $(( n * 1000000000 / ( (t1 - t0) > 0 ? (t1 - t0) : 1 ) ))
	r=$((r + 1))
done | median | awk '{ print "BENCH grep_baseline_lps " $1 " lines/s" }'
fi

# ---- pipeline: agent -> collector -> journal -> engine -> alerts ----------
# The completion check is one bench_wait process per round reading the
# engine's counter in the state every 2 ms (no process per poll).
port() { echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 )); }
start_server() {	# DIR: 0 once up; a port another program holds: try another
	for try in 1 2 3; do
		rm -rf "$1/data"
		cat >"$1/tocsind.yml" <<EOF
data_dir: $1/data
log_level: warn
collector:
  listen: tcp://127.0.0.1:$(port)
  syslog_udp: ""
  syslog_tcp: ""
engine:
  rules: [rules/default]
EOF
		$B/tocsind -f -c "$1/tocsind.yml" 2>"$1/tocsind.log" &
		server=$!
		i=0
		until [ -s "$1/data/run/collector.pid" ] && [ -s "$1/data/run/engine.pid" ]; do
			kill -0 "$server" 2>/dev/null || break
			i=$((i + 1)); [ $i -gt 100 ] && break
			sleep 0.1
		done
		[ -s "$1/data/run/collector.pid" ] && [ -s "$1/data/run/engine.pid" ] && return 0
		kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null; server=""
	done
	echo "# tocsind did not start: $(tail -n 1 "$1/tocsind.log")" >&2
	return 1
}
pipeline_round() {	# NAME FILE LINES
	d=$tmp/p-$1-$r
	mkdir -p "$d"
	start_server "$d" || return 1
	$B/tocsin -c "$d/tocsind.yml" agents add bench -o "$d/agent.yml" \
	    --follow "$d/in.log" --agent-data "$d/agent" >/dev/null 2>&1
	: >"$d/in.log"
	$B/tocsin-agent -c "$d/agent.yml" -f 2>"$d/agent.log" &
	agent=$!
	sleep 0.5
	t0=$(now_ns)
	cat "$2" >>"$d/in.log"
	$TOOLS/bench_wait "$d/data" "$3" 600 || { echo "# $1 stalled" >&2; return 1; }
	t1=$(now_ns)
	kill -TERM "$agent"; wait "$agent" 2>/dev/null; agent=""
	kill -TERM "$server"; wait "$server" 2>/dev/null; server=""
	rm -rf "$d"
	echo "$1 $(( $3 * 1000000000 / (t1 - t0) ))"
}
# Five copies of the input, so that a run lasts long enough to time.
big=$tmp/big.log
for c in 1 2 3 4 5; do cat "$input"; done >"$big"
nbig=$((n * 5))
echo "# pipeline_eps: $nbig lines through agent, collector, journal, engine, alerts"
echo "# flood_eps: $nflood lines (brute force then spraying), the same path, rounds alternating"
r=0
while [ $r -lt "${BENCH_PIPELINE_ROUNDS:-3}" ]; do
	pipeline_round pipeline_eps "$big" "$nbig" || exit 1
	pipeline_round flood_eps "$flood" "$nflood" || exit 1
	r=$((r + 1))
done >"$tmp/pipeline.txt"
for f in pipeline_eps flood_eps; do
	awk -v f=$f '$1 == f { print $2 }' "$tmp/pipeline.txt" | median |
	    awk -v f=$f '{ print "BENCH " f " " $1 " events/s" }'
done

# ---- the other figures, each in its own script ------------------------------
#   rules.sh     engine_eps_1k / engine_eps_5k: flat cost as rules grow
#   sigma.sh     sigma_base_eps / sigma_eps: with the SigmaHQ rules loaded
#   windows.sh   windows_base_eps / windows_eps: real Windows events, with
#                the SigmaHQ Windows rules loaded
#   delivery.sh  agent_to_journal_eps beside zmq_raw_eps (same run)
#   agent.sh     agent_rss_kb / agent_cpu_pct at 50 events/s
#   agent_windows.sh  the same for tocsin-agent.exe under Wine
#   agents.sh    agents_10k_connect_s, _idle_cpu_pct, _idle_rss_kb, _eps:
#                AGENTS_N (10,000) agents on one collector
#   api.sh       api_alerts_rps, api_alerts_p99_ms: a page of 100 alerts
#                with filters from a state of a million alerts
[ -n "$only" ] && exit 0
for b in rules sigma windows delivery agent agent_windows agents api; do
	sh "tests/bench/$b.sh" || echo "# tests/bench/$b.sh failed (status $?)"
done
