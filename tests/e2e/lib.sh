# tests/e2e/lib.sh - shared helpers for end-to-end scenarios (bash).
#
# Each scenario sources this file, calls e2e_setup, starts the real daemons on
# loopback, drives them with real clients and prints TAP lines ("ok - ..." /
# "not ok - ...").  Every wait is bounded; cleanup stops every process the
# scenario started and fails the run if a sanitizer reported anything.
#
#   TOCSIN_BIN    binaries under test (default build/asan/bin)
#   TOCSIN_TOOLS  test tools (default build/asan/tools)
#   TOCSIN_TOP    project root

: "${TOCSIN_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TOCSIN_BIN:=$TOCSIN_TOP/build/asan/bin}"
: "${TOCSIN_TOOLS:=$TOCSIN_TOP/build/asan/tools}"
export TOCSIN_TOP TOCSIN_BIN TOCSIN_TOOLS
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:exitcode=86}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

E2E_FAILED=0
E2E_PIDS=()
CORPUS="$TOCSIN_TOP/../shared/corpus"

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; E2E_FAILED=$((E2E_FAILED + 1)); }
skip()   { echo "ok - $* # SKIP"; }
diag()   { echo "# $*"; }

# check DESC CMD...: ok if CMD succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is DESC GOT WANT: ok if the two strings are equal.
is() {
	if [ "$2" = "$3" ]; then ok "$1"
	else not_ok "$1"; diag "got: '$2'"; diag "want: '$3'"; fi
}

# wait_until SECONDS CMD...: run CMD until it succeeds or the time is up;
# every 0.1 s for the first second, then every 0.25 s, after 5 s every
# 0.5 s (a CMD often runs the sanitized CLI, and scenarios run side by
# side on few cores).  Returns CMD's last status.
wait_until() {
	local limit=$1; shift
	local start now pause
	start=$(( $(date +%s%N) / 1000000 ))
	while :; do
		"$@" && return 0
		now=$(( $(date +%s%N) / 1000000 ))
		[ $((now - start)) -ge $((limit * 1000)) ] && return 1
		if [ $((now - start)) -lt 1000 ]; then pause=0.1
		elif [ $((now - start)) -lt 5000 ]; then pause=0.25
		else pause=0.5; fi
		sleep "$pause"
	done
}

# A TCP/UDP port nobody listens on right now (loopback only), reserved for
# this scenario: scenarios run in parallel, and two of them must never get
# the same port.  A reservation is a folder E2E_PORT_DIR/PORT (mkdir is
# atomic) holding the pid of the scenario; it is released by e2e_cleanup,
# and one whose scenario is gone is taken over.  The port must also be free
# in /proc/net (no TCP or UDP socket bound to it, in any state).
E2E_PORT_DIR="${E2E_PORT_DIR:-${TMPDIR:-/tmp}/tocsin-e2e-ports}"
port_bound() {	# PORT: some socket of this machine is bound to it
	local hex
	hex=$(printf ':%04X ' "$1")
	cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 \
	    2>/dev/null | awk '{print $2}' | grep -q -F "$hex" && return 0
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
port_reserve() {	# PORT: take the reservation, or fail
	local d="$E2E_PORT_DIR/$1" owner
	mkdir -p "$E2E_PORT_DIR" 2>/dev/null
	if ! mkdir "$d" 2>/dev/null; then
		owner=$(cat "$d/pid" 2>/dev/null)
		# a reservation being written, or of a live scenario
		[ -z "$owner" ] || kill -0 "$owner" 2>/dev/null && return 1
		# the owner is gone: take it over (one winner, by rename)
		mv "$d" "$d.stale.$$" 2>/dev/null || return 1
		rm -rf "$d.stale.$$"
		mkdir "$d" 2>/dev/null || return 1
	fi
	echo "$$" >"$d/pid"
}
# Ports are taken below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range), so that the outgoing connections of
# tests, benchmarks and floods running beside us never hold a port a server
# is about to bind.
free_port() {
	local p tries=0 lo=32768 hi base span
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || :
	base=10000; span=$(( lo - base ))
	[ "$span" -ge 2000 ] || { base=20000; span=40000; }
	while [ $tries -lt 200 ]; do
		p=$(( base + (RANDOM * 32768 + RANDOM) % span ))
		tries=$((tries + 1))
		port_reserve "$p" || continue
		if port_bound "$p"; then
			rm -rf "${E2E_PORT_DIR:?}/$p"
			continue
		fi
		echo "$p"; return 0
	done
	return 1
}
# ports_release: drop the reservations of this scenario.
ports_release() {
	local f
	for f in "$E2E_PORT_DIR"/*/pid; do
		[ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$$" ] &&
		    rm -rf "${f%/pid}"
	done
	return 0
}

# descendants PID: every living descendant of PID (from /proc, no ps).
descendants() {
	local stat pid rest ppid i=0
	local -A kids=()
	local -a queue=("$1")
	for stat in /proc/[0-9]*/stat; do
		{ read -r pid rest <"$stat"; } 2>/dev/null || continue
		rest=${rest##*) }	# after the command name, which may hold blanks
		ppid=${rest#* }; ppid=${ppid%% *}
		case "$ppid" in ''|*[!0-9]*) continue ;; esac
		kids[$ppid]+=" $pid"
	done
	while [ "$i" -lt "${#queue[@]}" ]; do
		for pid in ${kids[${queue[$i]}]:-}; do
			[ "$pid" = "$BASHPID" ] && continue
			queue+=("$pid")
		done
		i=$((i + 1))
	done
	echo "${queue[@]:1}"
}

# e2e_setup [RULES_PATH...]: temp folder, ports and a server configuration.
e2e_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-e2e.XXXXXX")
	DATA="$T/data"
	PORT=$(free_port); SYSLOG_PORT=$(free_port)
	CFG="$T/tocsind.yml"
	local rules=("$@")
	[ ${#rules[@]} -eq 0 ] && rules=("$TOCSIN_TOP/rules/default")
	{
		echo "data_dir: $DATA"
		echo "log_level: ${E2E_LOG_LEVEL:-info}"
		echo "collector:"
		echo "  listen: tcp://127.0.0.1:$PORT"
		echo "  syslog_udp: 127.0.0.1:$SYSLOG_PORT"
		echo "  syslog_tcp: 127.0.0.1:$SYSLOG_PORT"
		echo "  journal_map_size: ${E2E_JOURNAL_MAP:-64M}"
		echo "engine:"
		echo "  rules:"
		for r in "${rules[@]}"; do echo "    - $r"; done
		echo "  state_map_size: 64M"
	} >"$CFG"
	trap e2e_cleanup EXIT
	# an interrupt or a timeout ends the scenario through e2e_cleanup
	trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP
}

tocsin() { "$TOCSIN_BIN/tocsin" -c "$CFG" "$@"; }

# start_server: tocsind in the foreground (as a background job), waiting
# until the collector and the engine have both written their pid files.
start_server() {
	"$TOCSIN_BIN/tocsind" -c "$CFG" -f "$@" >>"$T/tocsind.log" 2>&1 &
	SERVER_PID=$!
	E2E_PIDS+=("$SERVER_PID")
	wait_until 30 server_ready
}
server_ready() {
	[ -s "$DATA/run/collector.pid" ] && [ -s "$DATA/run/engine.pid" ] &&
	    kill -0 "$(cat "$DATA/run/collector.pid")" 2>/dev/null &&
	    kill -0 "$(cat "$DATA/run/engine.pid")" 2>/dev/null &&
	    [ -d "$DATA/journal" ] && server_listening
}
# tcp_listening PORT / udp_bound PORT: a socket of this machine listens on
# (is bound to) the port.
tcp_listening() {
	awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" && $4 == "0A" { f = 1 }
	    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
udp_bound() {
	awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" { f = 1 } END { exit !f }' \
	    /proc/net/udp /proc/net/udp6 2>/dev/null
}
# server_listening: the collector listens on every loopback port of $CFG
# (agents, syslog TCP and UDP), so that a line sent now is not refused.
server_listening() {
	local p
	for p in $(sed -n -e 's|^ *listen: *tcp://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' \
	    -e 's|^ *syslog_tcp: *127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$CFG"); do
		tcp_listening "$p" || return 1
	done
	for p in $(sed -n 's|^ *syslog_udp: *127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' \
	    "$CFG"); do
		udp_bound "$p" || return 1
	done
}
stop_server() {
	[ -n "${SERVER_PID:-}" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	wait_until 30 not_running "$SERVER_PID"
	local rc=$?
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
	return $rc
}
# not_running PID: the process is gone (or a zombie, dead but not reaped).
not_running() {
	local rest
	kill -0 "$1" 2>/dev/null || return 0
	read -r rest <"/proc/$1/stat" 2>/dev/null || return 0
	rest=${rest##*) }
	[ "${rest%% *}" = Z ]
}

# enroll NAME [tocsin agents add options...]: writes $T/NAME.yml.
enroll() {
	local name=$1; shift
	tocsin agents add "$name" -o "$T/$name.yml" \
	    --agent-data "$T/agent-$name" "$@"
}

# start_agent NAME [tocsin-agent options...]: sets AGENT_PID.
start_agent() {
	local name=$1; shift
	"$TOCSIN_BIN/tocsin-agent" -c "$T/$name.yml" -f "$@" \
	    >>"$T/agent-$name.log" 2>&1 &
	AGENT_PID=$!
	E2E_PIDS+=("$AGENT_PID")
}
# agent_following NAME: the agent has opened the files it follows (so that
# lines written from now on are read even without --from-start).
agent_following() {
	grep -qE 'follow: .*(following from offset|reading it from the start|resuming at offset)' \
	    "$T/agent-$1.log" 2>/dev/null
}
stop_agent() {
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait_until 20 not_running "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

# Counters and progress, read through the CLI like an operator would.
status_json() { tocsin status --json 2>/dev/null; }
# counter NAME: value of one counter from `tocsin status --json` (0 if absent).
counter() {
	status_json | jq -r --arg n "$1" \
	    '[.. | objects | select(has($n)) | .[$n]] | first // 0' 2>/dev/null
}
journaled()  { counter journal.events; }
processed()  { counter engine.cursor; }
# engine_caught_up N: the engine has processed at least N journaled events.
engine_caught_up() {
	local j p
	j=$(journaled); p=$(processed)
	[ "${j:-0}" -ge "$1" ] && [ "${p:-0}" -ge "$1" ]
}

# Sanitizer reports in any daemon log fail the scenario.
sanitizer_clean() {
	! grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
	    "$T"/*.log >/dev/null 2>&1
}

# e2e_cleanup: stop everything the scenario started (the daemons of
# E2E_PIDS gracefully first, then whatever else descends from the scenario,
# such as the program a backgrounded shell function runs), check the daemon
# logs, remove the temp folder and the port reservations.
e2e_cleanup() {
	local p rest all
	trap - INT TERM HUP
	# all before anything dies: an orphan is no descendant any more
	all=$(descendants $$)
	for p in "${E2E_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${E2E_PIDS[@]}"; do
		wait_until 20 not_running "$p" || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rest="$all $(descendants $$)"
	for p in $rest; do kill -TERM "$p" 2>/dev/null; done
	for p in $rest; do
		wait_until 10 not_running "$p" || kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	ports_release
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if sanitizer_clean; then ok "no sanitizer reports in daemon logs"
		else
			not_ok "no sanitizer reports in daemon logs"
			grep -h -A 20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
			    "$T"/*.log | head -n 60 | sed 's/^/# /'
		fi
		if [ "$E2E_FAILED" -gt 0 ]; then
			for f in "$T"/*.log; do
				[ -f "$f" ] || continue
				echo "# ---- tail of $(basename "$f")"
				tail -n 20 "$f" | sed 's/^/# /'
			done
		fi
		rm -rf "$T"
	fi
}
