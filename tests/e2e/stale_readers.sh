#!/usr/bin/env bash
# stale_readers.sh - LMDB reader slots left by killed readers are reclaimed.
#
# A `tocsin events` killed with SIGKILL in the middle of a read leaves its
# slot in the journal's reader table; LMDB has 126 of them.  Here 200 CLI
# readers are killed mid-read (each blocked writing its output into a full
# pipe, inside its read transaction), 50 at a time; afterwards the CLI
# still reads, an agent's new events are still journaled and processed by
# the engine, and `tocsin status` counts the slots the daemons cleared.
set -u
source "$(dirname "$0")/lib.sh"
e2e_setup

line() {
	printf 'Jan 26 00:00:%02d web01 sshd[%d]: Failed password for root from 203.0.113.%d port %d ssh2\n' \
	    $(( $1 % 60 )) $(( 1000 + $1 )) $(( $1 % 250 + 1 )) "$1"
}
lines() { local i; for ((i = $1; i <= $2; i++)); do line "$i"; done; }
agent_events() {
	tocsin agents --json 2>/dev/null |
	    jq -r --arg n "$1" 'select(.name == $n) | .events'
}
events_at_least() { [ "$(agent_events "$1")" -ge "$2" ] 2>/dev/null; }
# blocked PID: the process sleeps writing into a full pipe (mid-read).
blocked() { grep -q pipe_write "/proc/$1/wchan" 2>/dev/null; }
blocked_or_gone() { blocked "$1" || ! kill -0 "$1" 2>/dev/null; }

check "tocsind starts" start_server
check "agent r1 enrolled" enroll r1 --follow "$T/r1.syslog" 2>>"$T/cli.err"
lines 1 1500 >"$T/r1.syslog"
start_agent r1 --from-start
check "1500 events journaled" wait_until 60 events_at_least r1 1500

# One FIFO with a holder that never reads: every writer blocks once the
# pipe buffer is full, inside the journal scan.
mkfifo "$T/fifo"
sleep 600 <>"$T/fifo" &
HOLDER=$!
E2E_PIDS+=("$HOLDER")

killed=0 notblocked=0
for round in 1 2 3 4; do
	pids=()
	for i in $(seq 50); do
		"$TOCSIN_BIN/tocsin" -c "$CFG" events --json --limit 0 \
		    >"$T/fifo" 2>>"$T/readers.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait_until 60 blocked_or_gone "$p"
		blocked "$p" || notblocked=$((notblocked + 1))
	done
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; killed=$((killed + 1)); done
done
is "200 readers killed" "$killed" 200
is "each was killed in the middle of its read" "$notblocked" 0
kill -KILL "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
# No CLI runs now: the daemons' once-a-second checks find the last round's
# 50 slots themselves (a CLI would clear them at its open, uncounted).
sleep 3
cleared() {
	local v
	v=$(status_json | jq '[.. | objects | to_entries[] |
	    select(.key | test("readers_cleared$")) | .value] | add // 0')
	[ "${v:-0}" -ge "$1" ]
}
check "tocsin status counts the slots the daemons cleared (>= 50)" cleared 50

check "the CLI still reads the journal" \
    bash -c "'$TOCSIN_BIN/tocsin' -c '$CFG' events --limit 1 >/dev/null"
lines 1501 1600 >>"$T/r1.syslog"
check "the agent's new events are still accepted" \
    wait_until 60 events_at_least r1 1600
check "and processed by the engine" wait_until 60 engine_caught_up 1600
tocsin status >"$T/status.txt" 2>&1
check "tocsin status shows them" grep -q "readers_cleared" "$T/status.txt"
stop_agent
check "tocsind stops" stop_server
exit 0
