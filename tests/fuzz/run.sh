#!/bin/sh
# Run every libFuzzer target in a folder for a while each.
#
#   sh tests/fuzz/run.sh [DIR [SECONDS]]     (default build/fuzz, 30 s)
#
# Each DIR/fuzz_* binary runs with -max_total_time=SECONDS on a fresh corpus
# folder (build/fuzz-corpus/NAME, kept between runs).  Prints one line per
# target and a summary; exits 1 if any target crashed or leaked.
set -u
dir=${1:-build/fuzz}
secs=${2:-30}
corpus_top=${FUZZ_CORPUS:-build/fuzz-corpus}
n=0; bad=0; failed=""
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	n=$((n + 1))
	mkdir -p "$corpus_top/$name"
	log="$corpus_top/$name.log"
	printf '%s ... ' "$name"
	"$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$corpus_top/$name-" "$corpus_top/$name" \
	    >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		bad=$((bad + 1)); failed="$failed $name"
		echo "CRASH (exit $rc; log: $log)"
		grep -m 5 -E 'ERROR|SUMMARY|Test unit written' "$log" | sed 's/^/    /'
	else
		echo "ok (${runs:-no run count})"
	fi
done
if [ "$n" = 0 ]; then
	echo "no fuzz targets in $dir" >&2
	exit 2
fi
echo "fuzz: $n targets, $((n - bad)) clean, $bad crashed${failed:+:$failed}"
[ "$bad" = 0 ]
