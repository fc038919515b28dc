#!/bin/sh
# Run every test: unit tests (cmocka, TAP output) from build/asan/tests/ and
# end-to-end scenarios (tests/e2e/*.sh, TAP output) that start the real
# daemons on loopback.  Each "ok" / "not ok" line is one test; a program that
# exits non-zero without reporting a failure counts as one failure.
# Ends with "N passed, N failed" and exits 1 if anything failed.
#
#   sh tests/run.sh [PATTERN]    only programs whose name contains PATTERN
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
pattern=${1:-}
export TOCSIN_TOP="$top"
build=${TOCSIN_BUILD:-build/asan}	# another ASan build folder, if given
export TOCSIN_BIN="$top/$build/bin"
export TOCSIN_TOOLS="$top/$build/tools"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logdir="$top/$build/test-logs"
rm -rf "$logdir"; mkdir -p "$logdir"

passed=0; failed=0; failures=""
run_one() {	# name command...
	name=$1; shift
	log="$logdir/$name.log"
	printf '%s ... ' "$name"
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$f" != 0 ]; then
		echo "FAILED ($p passed, $f failed; log: $build/test-logs/$name.log)"
		grep '^not ok' "$log" | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    | /'
		failures="$failures $name"
	else
		echo "$p passed"
	fi
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	case "$n" in *"$pattern"*) ;; *) continue ;; esac
	run_one "$n" "$t"
done
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	[ "$n" = lib ] && continue
	case "$n" in *"$pattern"*) ;; *) continue ;; esac
	run_one "$n" timeout 600 bash "$t"
done

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
