#!/bin/sh
# Sigma benchmark: events per second through decode and rules with every
# SigmaHQ rule of ../shared/corpus/sigma loaded beside rules/default, on the
# real sshd corpus (BENCH sigma_eps), and the same without the Sigma rules
# for comparison (BENCH sigma_base_eps), and sigma_eps without the rule
# index (BENCH sigma_eps_before: TOCSIN_RULES_INDEX=0, every root of the
# route tried) in the same run.  Release build (`make bench`); TOOLS
# overrides the tools folder.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
TOOLS=${TOOLS:-build/release/tools}
ROUNDS=${BENCH_ROUNDS:-5}
sigma=../shared/corpus/sigma/rules
input=../shared/corpus/rootly/openssh.log

if [ ! -d "$sigma" ] || [ ! -r "$input" ]; then
	echo "# sigma bench: $sigma or $input is absent; skipped"
	exit 0
fi
echo "# sigma: $(find "$sigma" -name '*.yml' | wc -l | tr -d ' ') SigmaHQ rules + rules/default; input $input ($(wc -l <"$input" | tr -d ' ') lines)"
$TOOLS/bench_engine -r rules/default -n "$ROUNDS" -N sigma_base_eps "$input"
$TOOLS/bench_engine -r rules/default -r "$sigma" -n "$ROUNDS" -N sigma_eps "$input"
TOCSIN_RULES_INDEX=0 $TOOLS/bench_engine -r rules/default -r "$sigma" \
    -n "$ROUNDS" -N sigma_eps_before "$input"
