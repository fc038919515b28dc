#!/bin/sh
# How evaluation cost grows with the number of rules: events per second
# through decode + rules (one thread, the engine's own rules_eval) with the
# shipped rules alone and with 1,000 and 5,000 generated rules of the same
# shapes added (tests/tools/gen_rules.c), on the shared sshd corpus.
#
#   sh tests/bench/rules.sh        (after `make bench` built the tools)
#
# Prints "BENCH match_eps_default|_1k|_5k N events/s" and the same without
# the Vectorscan prefilter (TOCSIN_RULES_PREFILTER=0) for comparison:
# "BENCH match_eps_5k_noprefilter ...".  BENCH_ROUNDS (default 5) rounds,
# median.  Skips (exit 0, with a message) when the corpus is absent.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
TOOLS=${TOCSIN_BENCH_TOOLS:-build/release/tools}
ROUNDS=${BENCH_ROUNDS:-5}
corpus=../shared/corpus/rootly/openssh.log

if [ ! -r "$corpus" ]; then
	echo "# rules bench skipped: $corpus is absent"
	exit 0
fi
for t in bench_engine gen_rules; do
	if [ ! -x "$TOOLS/$t" ]; then
		echo "# rules bench: $TOOLS/$t is missing (run make bench)" >&2
		exit 2
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-rules-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/1k" "$tmp/5k"
"$TOOLS/gen_rules" 1000 >"$tmp/1k/gen.yml" || exit 1
"$TOOLS/gen_rules" 5000 >"$tmp/5k/gen.yml" || exit 1
echo "# input: $corpus ($(wc -l <"$corpus" | tr -d ' ') lines);" \
    "machine: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null)"

bench() {	# NAME RULES...
	name=$1; shift
	set -- $(for r in "$@"; do printf -- '-r %s ' "$r"; done)
	"$TOOLS/bench_engine" "$@" -n "$ROUNDS" -N "$name" "$corpus"
}
bench match_eps_default rules/default
bench match_eps_1k rules/default "$tmp/1k"
bench match_eps_5k rules/default "$tmp/5k"
TOCSIN_RULES_PREFILTER=0 bench match_eps_default_noprefilter rules/default
TOCSIN_RULES_PREFILTER=0 bench match_eps_1k_noprefilter rules/default "$tmp/1k"
