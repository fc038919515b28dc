#!/usr/bin/env bash
# Delivery under faults: the real daemons on loopback, one agent following a
# file that a writer fills with numbered sshd lines, and in the middle of
# the stream: kill -9 of the engine, of the collector, of the agent; the
# server stopped for a while; a rotation by rename and one by copy-truncate.
# After each, the journal must hold every line written so far exactly once
# (no gap, no duplicate) and the engine must have raised exactly one alert
# per line.
source "$(dirname "$0")/lib.sh"
e2e_setup

F="$T/auth.log"
AGENT=faults
# Lines per phase and the writer's pace (chunk lines, pause between chunks).
PHASE=1000

# Lines FROM..TO: failed root passwords (one alert each), numbered by the
# port; the source address varies so that no brute-force correlation keys on
# one address.
lines() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++)
	    printf "Jan 26 00:%02d:%02d web01 sshd[%d]: Failed password for root from 203.0.113.%d port %d ssh2\n",
	        int(i / 60) % 60, i % 60, 1000 + i, i % 250 + 1, i }'
}

# write FROM TO CHUNK PAUSE: append lines FROM..TO to $F, CHUNK lines at a
# time (each chunk reopens $F, as a logger does after a rotation), pausing
# PAUSE seconds between chunks.  $T/written holds the last number written.
write() {
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

# The numbers of the agent's events in the journal / of its alerts, one a
# line, in journal order.
event_numbers() {
	tocsin events --json 2>/dev/null |
	    jq -r --arg a "$AGENT" 'select(.agent == $a) | .message' |
	    sed -n 's/.* port \([0-9]*\) ssh2$/\1/p'
}
alert_numbers() {
	tocsin alerts --json 2>/dev/null |
	    jq -r --arg a "$AGENT" 'select(.agent == $a and .correlation == null
	        and (.message | test("Failed password for root"))) | .message' |
	    sed -n 's/.* port \([0-9]*\) ssh2$/\1/p'
}
# At least N of the agent's events journaled (the counter first: cheap).
count_ge() {
	[ "$(journaled)" -ge "$1" ] && [ "$(event_numbers | wc -l)" -ge "$1" ]
}
# The engine has processed everything journaled so far.
engine_done() {
	local j p
	j=$(journaled); p=$(processed)
	[ "${j:-0}" -gt 0 ] && [ "${p:-0}" -ge "$j" ]
}

# exactly_once WHAT N: the numbers on stdin are 1..N, each once.
exactly_once() {
	local what=$1 n=$2 got dups
	got=$(sort -n | tee "$T/got.$what")
	dups=$(uniq -d <<<"$got" | head -n 5 | tr '\n' ' ')
	if [ -n "$dups" ]; then
		diag "$what: duplicated: $dups"
		return 1
	fi
	if [ "$got" != "$(seq 1 "$n")" ]; then
		diag "$what: $(wc -l <<<"$got") of $n; missing: $(seq 1 "$n" |
		    comm -23 - <(sort <<<"$got") | sort -n | head -n 5 | tr '\n' ' ')"
		return 1
	fi
}

# verify PHASE N: wait until the agent's N events are journaled and the
# engine processed them, then check events and alerts exactly once.
verify() {
	local what=$1 n=$2
	diag "$(date +%T) $what: verifying"
	check "$what: all $n lines arrive" wait_until 60 count_ge "$n"
	check "$what: the engine catches up" wait_until 60 engine_done
	check "$what: every line journaled exactly once" \
	    exactly_once "events" "$n" < <(event_numbers)
	check "$what: every line alerted exactly once" \
	    exactly_once "alerts" "$n" < <(alert_numbers)
}

pid_of() { cat "$DATA/run/$1.pid" 2>/dev/null; }
# restarted NAME OLDPID: a new process wrote NAME's pid file and is alive.
restarted() {
	local p
	p=$(pid_of "$1")
	[ -n "$p" ] && [ "$p" != "$2" ] && kill -0 "$p" 2>/dev/null
}

check "tocsind starts" start_server
check "agent enrolled" enroll "$AGENT" --follow "$F" 2>>"$T/cli.err"
# Batches wait up to 1 s to fill: at any moment of the stream the agent
# holds lines read and spooled but not yet acknowledged, which is what a
# kill -9 must not lose or duplicate.
sed -i 's/^  max_wait: .*/  max_wait: 1s/' "$T/$AGENT.yml"
: >"$F"
start_agent "$AGENT" --from-start
agent_up() { grep -q 'connection to .* established' "$T/agent-$AGENT.log"; }
check "agent connects" wait_until 30 agent_up

# --- 1. kill -9 the engine mid-stream ------------------------------------
n=0
write $((n + 1)) $((n + PHASE)) 20 0.02 &
W=$!
wait_until 30 written_ge $((n + PHASE / 3))
old=$(pid_of engine)
check "engine killed mid-stream" kill -KILL "$old"
wait "$W"
check "tocsind restarts the engine" wait_until 60 restarted engine "$old"
n=$((n + PHASE))
verify "engine killed" "$n"

# --- 2. kill -9 the collector mid-stream ------------------------------------
write $((n + 1)) $((n + PHASE)) 20 0.02 &
W=$!
wait_until 30 written_ge $((n + PHASE / 3))
old=$(pid_of collector)
check "collector killed mid-stream" kill -KILL "$old"
wait "$W"
check "tocsind restarts the collector" wait_until 60 restarted collector "$old"
n=$((n + PHASE))
verify "collector killed" "$n"

# --- 3. kill -9 the agent mid-batch, then start it again ------------------
write $((n + 1)) $((n + PHASE)) 20 0.02 &
W=$!
wait_until 30 written_ge $((n + PHASE / 3))
exec 4>&2 2>/dev/null	# no "Killed" notice from bash's job control
check "agent killed mid-stream" kill -KILL "$AGENT_PID"
wait "$AGENT_PID"
exec 2>&4 4>&-
diag "agent killed with $(written) lines written, $(journaled) journaled"
# the writer goes on while no agent runs (a batch more, if not done)
before=$(written)
wait_until 10 eval 'written_ge $((before + 20)) || not_running "$W"'
start_agent "$AGENT"
wait "$W"
n=$((n + PHASE))
verify "agent killed and restarted" "$n"

# --- 4. the server stopped for a while as the agent keeps reading --------
write $((n + 1)) $((n + PHASE)) 10 0.03 &
W=$!
wait_until 30 written_ge $((n + PHASE / 5))
check "tocsind stopped mid-stream" stop_server
before=$(written)
wait_until 30 written_ge $((before + PHASE / 4))
spooling() { grep -q 'lost; spooling' "$T/agent-$AGENT.log"; }
check "the agent noticed and spools" wait_until 30 spooling
check "tocsind started again" start_server
wait "$W"
n=$((n + PHASE))
verify "server stopped and started" "$n"

# --- 5. rotation by rename in the middle of the stream -------------------
half=$((PHASE / 2))
write $((n + 1)) $((n + half)) 20 0.02
mv "$F" "$F.1"
write $((n + half + 1)) $((n + PHASE)) 20 0.02
n=$((n + PHASE))
verify "rotation by rename" "$n"

# --- 6. rotation by copy-truncate in the middle of the stream -------------
# copytruncate loses what the logger writes between the copy and the
# truncation, for any reader: pause the writer there, as logrotate's own
# window is the only loss it allows.
write $((n + 1)) $((n + half)) 20 0.02
wait_until 60 count_ge $((n + half))
cp "$F" "$F.2"
: >"$F"
write $((n + half + 1)) $((n + PHASE)) 20 0.02
n=$((n + PHASE))
verify "rotation by copy-truncate" "$n"

# --- the agent's own account ---------------------------------------------
apid=$AGENT_PID
stop_agent
check "agent stops cleanly on SIGTERM" not_running "$apid"
check "agent noticed the rename" grep -q 'was rotated or removed' \
    "$T/agent-$AGENT.log"
check "agent noticed the truncation" grep -q 'was truncated or rewritten' \
    "$T/agent-$AGENT.log"
check "tocsind stops cleanly" stop_server
