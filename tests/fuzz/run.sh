#!/bin/sh
# Run every libFuzzer target in a folder for a while each.
#
#   sh tests/fuzz/run.sh [DIR [SECONDS]]     (default build/fuzz, 30 s)
#   sh tests/fuzz/run.sh --replay TARGET     replay once (make test)
#
# Each DIR/fuzz_* binary runs with -max_total_time=SECONDS on its corpus
# folder (build/fuzz-corpus/NAME, kept between runs), seeded from
# tests/fuzz/seeds/NAME, build/fuzz-seeds/NAME (made by make test-build
# with the encoders of the binary formats) and the shipped inputs its
# parser reads (see seeds_of; seed folders are only read, new inputs go to
# the corpus).
# Prints one line per target and a summary; exits 1 if any target crashed
# or leaked.
#
# --replay runs one target built with tests/fuzz/replay.c instead of
# libFuzzer (the ASan build of make test, no clang needed) over the same
# seed folders and the kept corpus, each input once; TAP output.
set -u

# Seed folders of target $1 that exist (relative to the project root).
seeds_of() {
	own="tests/fuzz/seeds/$1"
	# seeds of the binary formats, written by tests/tools/fuzz_seeds.c
	gen="${FUZZ_SEEDS:-build/fuzz-seeds}/$1"
	case "$1" in
	fuzz_rules)	set -- rules/default ;;
	fuzz_sigma)	set -- tests/sigma/cases tests/sigma/corr tests/sigma/bad \
			    ../shared/corpus/sigma/rules ;;
	fuzz_recording)	set -- drills ;;
	fuzz_decode)	set -- rules/default ;;
	fuzz_web)	set -- rules/default ;;
	fuzz_yamltree)	set -- etc rules/default tests/sigma/cases ;;
	*)		set -- ;;
	esac
	for d in "$own" "$gen" "$@"; do
		[ -d "$d" ] && printf '%s\n' "$d"
	done
}

corpus_top=${FUZZ_CORPUS:-build/fuzz-corpus}
# leaks inside third-party libraries (see the file) are not ours to fix
LSAN_OPTIONS="suppressions=$(pwd)/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
if [ "${1:-}" = --replay ]; then
	name=$(basename "$2")
	# shellcheck disable=SC2046
	set -- "$2" $(seeds_of "$name")
	[ -d "$corpus_top/$name" ] && set -- "$@" "$corpus_top/$name"
	exec "$@"
fi

dir=${1:-build/fuzz}
secs=${2:-30}
n=0; bad=0; failed=""
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	n=$((n + 1))
	mkdir -p "$corpus_top/$name"
	log="$corpus_top/$name.log"
	printf '%s ... ' "$name"
	# seed folder names have no blanks: word splitting is intended
	# shellcheck disable=SC2046
	"$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix="$corpus_top/$name-" "$corpus_top/$name" \
	    $(seeds_of "$name") >"$log" 2>&1
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
