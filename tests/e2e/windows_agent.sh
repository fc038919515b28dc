#!/usr/bin/env bash
# The Windows agent (bin/tocsin-agent.exe, cross-built) under Wine against
# the real Linux server over ZeroMQ + CURVE: a followed file shipped
# exactly once across a kill -9 of the collector and of the agent, a
# rotation done by a Windows program while the agent holds the file (it
# must share it for deletion), a UTF-16 log, a full spool that stops
# reading and resumes (its spool_full counter reaching tocsin agents and
# status through the heartbeat), and revocation.
source "$(dirname "$0")/lib.sh"
e2e_setup
source "$TOCSIN_TOP/tests/win/wine.sh"
wine_require
wine_setup

F="$T/av.log"
AGENT=win1
PHASE=300

lines() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++)
	    printf "Jan 26 00:%02d:%02d pc01 sshd[%d]: Failed password for root from 203.0.113.%d port %d ssh2\n",
	        int(i / 60) % 60, i % 60, 1000 + i, i % 250 + 1, i }'
}
write() {	# FROM TO CHUNK PAUSE
	local i=$1 to=$2 chunk=$3 pause=$4 j
	while [ "$i" -le "$to" ]; do
		j=$((i + chunk - 1))
		[ "$j" -gt "$to" ] && j=$to
		lines "$i" "$j" >>"$F"
		echo "$j" >"$T/written.tmp"
		mv -f "$T/written.tmp" "$T/written"
		i=$((j + 1))
		sleep "$pause"
	done
}
written() { local w; w=$(cat "$T/written" 2>/dev/null); echo "${w:-0}"; }
written_ge() { [ "$(written)" -ge "$1" ]; }
event_numbers() {
	tocsin events --json 2>/dev/null |
	    jq -r --arg a "$AGENT" 'select(.agent == $a) | .message' |
	    sed -n 's/.* port \([0-9]*\) ssh2$/\1/p'
}
count_ge() { [ "$(event_numbers | wc -l)" -ge "$1" ]; }
exactly_once() {
	local n=$1 got dups
	got=$(sort -n)
	dups=$(uniq -d <<<"$got" | head -n 5 | tr '\n' ' ')
	[ -z "$dups" ] || { diag "duplicated: $dups"; return 1; }
	[ "$got" = "$(seq 1 "$n")" ] || {
		diag "$(wc -l <<<"$got") of $n; missing: $(seq 1 "$n" |
		    comm -23 - <(sort <<<"$got") | sort -n | head -n 5 | tr '\n' ' ')"
		return 1; }
}
verify() {	# WHAT N
	check "$1: all $2 lines arrive" wait_until 90 count_ge "$2"
	check "$1: every line journaled exactly once" \
	    exactly_once "$2" < <(event_numbers)
}
pid_of() { cat "$DATA/run/$1.pid" 2>/dev/null; }
restarted() {
	local p; p=$(pid_of "$1")
	[ -n "$p" ] && [ "$p" != "$2" ] && kill -0 "$p" 2>/dev/null
}
agent_log() { cat "$T/agent-$AGENT.log" 2>/dev/null; }
logged() { agent_log | grep -q -- "$1"; }

check "tocsind starts" start_server
check "agent enrolled" enroll "$AGENT" --follow "$F" 2>>"$T/cli.err"
win_config "$AGENT"
sed -i 's/^  max_wait: .*/  max_wait: 1s/' "$T/$AGENT.yml"
: >"$F"
start_win_agent "$AGENT" --from-start
check "the Windows agent connects over CURVE" \
    wait_until 60 logged 'connection to .* established'
check "it follows the file by its Windows name" logged "follow: Z:$F"

# --- steady stream -----------------------------------------------------------
n=0
write 1 $PHASE 20 0.02
n=$PHASE
verify "stream" "$n"

# --- kill -9 the collector mid-stream --------------------------------------
write $((n + 1)) $((n + PHASE)) 20 0.02 &
W=$!
wait_until 30 written_ge $((n + PHASE / 3))
old=$(pid_of collector)
check "collector killed mid-stream" kill -KILL "$old"
wait "$W"
check "tocsind restarts the collector" wait_until 60 restarted collector "$old"
n=$((n + PHASE))
verify "collector killed" "$n"

# --- kill -9 the agent mid-stream, then start it again ---------------------
write $((n + 1)) $((n + PHASE)) 20 0.02 &
W=$!
wait_until 30 written_ge $((n + PHASE / 3))
exec 4>&2 2>/dev/null
check "Windows agent killed mid-stream" kill -KILL "$AGENT_PID"
wait "$AGENT_PID"
exec 2>&4 4>&-
start_win_agent "$AGENT"
wait "$W"
n=$((n + PHASE))
verify "agent killed and restarted" "$n"
check "the restarted agent resumed at its committed offset" \
    logged "resuming at offset"

# --- rotation by a Windows program while the agent holds the file ----------
half=$((PHASE / 2))
write $((n + 1)) $((n + half)) 20 0.02
wait_until 60 count_ge $((n + half))
check "a Windows program renames the followed file (shared for deletion)" \
    wine cmd /c move "$(winpath "$F")" "$(winpath "$F.1")"
write $((n + half + 1)) $((n + PHASE)) 20 0.02
n=$((n + PHASE))
verify "rotation by rename" "$n"
check "the agent saw the rotation by file index" \
    logged 'was rotated or removed'

# --- a UTF-16 log ------------------------------------------------------------
# av.log from now on is written by a Windows program in UTF-16LE (BOM).
mv -f "$F" "$F.2"
printf '\xff\xfe' >"$F"
lines $((n + 1)) $((n + 50)) | iconv -f UTF-8 -t UTF-16LE >>"$F"
n=$((n + 50))
verify "UTF-16 log" "$n"
check "the agent said the file is UTF-16" logged 'is UTF-16 (little-endian)'

# --- the spool full while the server is away ----------------------------------
stop_agent_hard() {
	exec 4>&2 2>/dev/null
	kill -KILL "$AGENT_PID"; wait "$AGENT_PID"
	exec 2>&4 4>&-
}
stop_agent_hard
mv -f "$F" "$F.3"
: >"$F"
if grep -q '^spool:' "$T/$AGENT.yml"; then
	sed -i 's/^  max_size: .*/  max_size: 64k/' "$T/$AGENT.yml"
else
	printf 'spool:\n  max_size: 64k\n' >>"$T/$AGENT.yml"
fi
check "tocsind stopped" stop_server
start_win_agent "$AGENT"
# more than the 64k cap holds (about 160 bytes an event)
FULL=1000
write $((n + 1)) $((n + FULL)) 100 0.02
check "the agent reports its spool full and stops reading" \
    wait_until 60 logged 'spool full'
check "tocsind started again" start_server
n=$((n + FULL))
verify "spool full, then drained" "$n"
check "reading resumed" wait_until 30 logged 'reading resumed'
# the Windows agent's heartbeat carries its counters to the server too
win_spool_full_counted() {
	[ "$(tocsin agents --json 2>/dev/null | jq -r --arg n "$AGENT" \
	    'select(.name == $n) | .losses["agent.spool_full"] // 0')" -ge 1 ]
}
check "tocsin agents --json shows the Windows agent's agent.spool_full" \
    wait_until 30 win_spool_full_counted
tocsin status >"$T/status.txt" 2>&1
check "tocsin status names it" \
    grep -q -E "^! $AGENT agent\.spool_full +[1-9]" "$T/status.txt"

# --- revocation ------------------------------------------------------------------
check "agent revoked" tocsin agents remove "$AGENT"
lines $((n + 1)) $((n + 5)) >>"$F"
check "the collector refuses the revoked Windows agent" \
    wait_until 60 logged 'agent key revoked'
sleep 2
check "nothing more of the revoked agent journaled" \
    exactly_once "$n" < <(event_numbers)

# Ctrl+C (Wine turns SIGINT into CTRL_C_EVENT): a clean stop, status 0
kill -INT "$AGENT_PID"
check "Ctrl+C stops the Windows agent" wait_until 30 not_running "$AGENT_PID"
wait "$AGENT_PID"
is "it exits 0" "$?" 0
check "it said so" logged 'info: stopped'
check "tocsind stops cleanly" stop_server
