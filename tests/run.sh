#!/bin/sh
# Run every test: unit tests (cmocka, TAP output) from build/asan/tests/,
# a replay of every fuzz target's seeds and corpus (build/asan/fuzz/, the
# gcc ASan build linked with tests/fuzz/replay.c), and end-to-end scenarios
# (tests/e2e/*.sh, TAP output) that start the real daemons on loopback.
#
# Programs run in parallel, at most TOCSIN_TEST_JOBS at once (default: 2
# per core, at least 3), the slowest of the last run first.  Each program
# writes its own log (build/asan/test-logs/NAME.log) and gets one summary
# line when it ends.  Each "ok" line is a passed test, each "not ok" a
# failed one, and a line with a "# SKIP" directive (ok or not ok) a skipped
# one; a program that exits non-zero without reporting a failure counts as
# one failure.  Every program runs in a session of its own with a tag in its
# environment: a process of it that is still alive when it ends is killed
# and counted as a failure ("left N processes behind").  Ends with
# "N passed, N failed, N skipped" and exits 1 if anything failed.
#
#   sh tests/run.sh [PATTERN...]  only programs whose name contains a PATTERN
#
#   TOCSIN_TEST_JOBS   programs at once (1: one after the other)
#   TOCSIN_BUILD       another ASan build folder (default build/asan)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
patterns=("$@")
export TOCSIN_TOP="$top"
build=${TOCSIN_BUILD:-build/asan}
export TOCSIN_BIN="$top/$build/bin"
export TOCSIN_TOOLS="$top/$build/tools"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
logdir="$top/$build/test-logs"
times="$top/$build/test-times"	# NAME SECONDS of the last run: the order
cores=$(nproc 2>/dev/null || echo 2)
jobs=${TOCSIN_TEST_JOBS:-$((cores * 2 < 3 ? 3 : cores * 2))}
# Every process a program starts inherits this tag: what still carries it
# once the program has ended was left behind.
run_tag="$$.$(date +%s%N)"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(now_ms)

# ---- the programs -----------------------------------------------------------
names=(); declare -A cmd_of=()
add() {		# NAME COMMAND...  (the command is kept as one quoted string)
	local p hit=${#patterns[@]}
	for p in "${patterns[@]}"; do
		case "$1" in *"$p"*) hit=0; break ;; esac
	done
	[ "$hit" = 0 ] || return
	names+=("$1")
	local n=$1; shift
	cmd_of[$n]=$(printf '%q ' "$@")
}
for t in "$build"/tests/test_*; do
	[ -x "$t" ] && add "$(basename "$t")" "$t"
done
for t in "$build"/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	add "$n" sh tests/fuzz/run.sh --replay "$t"
done
for t in tests/e2e/*.sh; do
	n=$(basename "$t" .sh)
	[ -f "$t" ] && [ "$n" != lib ] && add "$n" timeout 600 bash "$t"
done
# checks of the source tree itself
add include_graph sh tests/include_graph.sh
if [ ${#names[@]} = 0 ]; then
	echo "no test program matches '${patterns[*]}' (run make test-build first?)" >&2
	exit 2
fi

# The slowest first: times of the last run in this build folder, else those
# kept in tests/test-times (a copy of build/asan/test-times; only the order
# depends on it), else e2e scenarios first.
declare -A last=()
for f in tests/test-times "$times"; do
	[ -r "$f" ] || continue
	while read -r n s; do
		case "$n" in ''|'#'*) continue ;; esac
		last[$n]=$s
	done <"$f"
done
order=$(for n in "${names[@]}"; do
	s=${last[$n]:-}
	if [ -z "$s" ]; then
		case "${cmd_of[$n]}" in *tests/e2e/*) s=100000 ;; *) s=0 ;; esac
	fi
	echo "$s $n"
done | sort -k1,1nr -k2,2 | awk '{print $2}')

# only the logs of the programs run now are replaced: two runs with
# different PATTERNs may share the folder
mkdir -p "$logdir"
for n in "${names[@]}"; do rm -f "$logdir/$n.log"; done

# ---- processes left behind ------------------------------------------------
# tagged TAG: pids of the processes whose environment holds
# TOCSIN_TEST_TAG=TAG or TAG/... (the runner itself carries no tag).
tagged() {
	grep -l -s -z -E "^TOCSIN_TEST_TAG=${1//./\\.}(/|\$)" /proc/[0-9]*/environ |
	    sed -e 's|^/proc/||' -e 's|/environ$||'
}
# reap TAG: kill what carries TAG (TERM, then KILL); prints what was found.
reap() {
	local pids p n=0
	pids=$(tagged "$1")
	[ -n "$pids" ] || return 0
	for p in $pids; do
		echo "$p $({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | cut -c 1-200)"
		kill -TERM "$p" 2>/dev/null
	done
	while [ $n -lt 50 ] && [ -n "$(tagged "$1")" ]; do sleep 0.1; n=$((n + 1)); done
	for p in $(tagged "$1"); do kill -KILL "$p" 2>/dev/null; done
}

# ---- running ------------------------------------------------------------------
passed=0; failed=0; skipped=0; failures=""
declare -A pid_name=() start_of=()

start() {	# NAME
	local n=$1
	start_of[$n]=$(now_ms)
	(
		export TOCSIN_TEST_TAG="$run_tag/$n"
		# its own session: a terminal's ^C reaches the runner only
		eval "exec setsid -w ${cmd_of[$n]}" >"$logdir/$n.log" 2>&1 </dev/null
	) &
	pid_name[$!]=$n
}

finish() {	# NAME STATUS
	local n=$1 rc=$2 log="$logdir/$1.log" p f s left secs
	left=$(reap "$run_tag/$n")
	if [ -n "$left" ]; then
		{
			echo "not ok - $n left $(echo "$left" | wc -l) processes behind"
			echo "$left" | sed 's/^/# /'
		} >>"$log"
	fi
	s=$(grep -c -i -E '^(not )?ok\b.*#[[:space:]]*skip' "$log")
	p=$(grep -v -i -E '#[[:space:]]*skip' "$log" | grep -c '^ok\b')
	f=$(grep -v -i -E '#[[:space:]]*skip' "$log" | grep -c '^not ok\b')
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "not ok - $n exited with status $rc" >>"$log"
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	secs=$(( ($(now_ms) - ${start_of[$n]}) / 100 ))
	secs="$((secs / 10)).$((secs % 10))"
	echo "$n $secs" >>"$times.new.$$"
	if [ "$f" != 0 ]; then
		echo "$n ... FAILED ($p passed, $f failed, $s skipped; ${secs} s; log: $build/test-logs/$n.log)"
		grep -i -v -E '#[[:space:]]*skip' "$log" | grep '^not ok' | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    | /'
		failures="$failures $n"
	else
		echo "$n ... $p passed${s:+, $s skipped} (${secs} s)" | sed 's/, 0 skipped//'
		[ "$s" = 0 ] || grep -i -E '^(not )?ok\b.*#[[:space:]]*skip' "$log" |
		    sed 's/^/    /'
	fi
}

interrupted() {
	trap - INT TERM
	echo "interrupted: stopping the running programs" >&2
	local pid
	for pid in "${!pid_name[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${!pid_name[@]}"; do reap "$run_tag/${pid_name[$pid]}" >/dev/null; done
	wait
	exit 130
}
trap interrupted INT TERM HUP

rm -f "$times.new.$$"
echo "running ${#names[@]} programs, $jobs at once (logs: $build/test-logs/)"
for n in $order; do
	while [ ${#pid_name[@]} -ge "$jobs" ]; do
		wait -n -p done_pid "${!pid_name[@]}"
		rc=$?
		[ -n "${done_pid:-}" ] || continue
		finish "${pid_name[$done_pid]}" "$rc"
		unset "pid_name[$done_pid]"
	done
	start "$n"
done
while [ ${#pid_name[@]} -gt 0 ]; do
	wait -n -p done_pid "${!pid_name[@]}"
	rc=$?
	[ -n "${done_pid:-}" ] || continue
	finish "${pid_name[$done_pid]}" "$rc"
	unset "pid_name[$done_pid]"
done
# keep the times of programs this run did not run (a PATTERN run)
if [ -r "$times" ]; then
	while read -r n s; do
		grep -q "^$n " "$times.new.$$" || echo "$n $s"
	done <"$times" >>"$times.new.$$"
fi
mv -f "$times.new.$$" "$times"

# Nothing of this run may survive it.
left=$(reap "$run_tag")
if [ -n "$left" ]; then
	failed=$((failed + 1))
	echo "not ok - processes of this run left behind (killed):"
	echo "$left" | sed 's/^/    /'
fi

el=$(( ($(now_ms) - t0) / 1000 ))
echo "wall time: ${el} s for ${#names[@]} programs, $jobs at once"
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
