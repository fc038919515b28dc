#!/usr/bin/env bash
# Agent health as an operator sees it: `tocsin agents` shows an agent
# connected with its version, last event, events and spool backlog; an agent
# that stops reporting raises the "agent silent" alert (and "reporting
# again" when it is back); a spool that fills up while the server is away is
# reported by the agent's heartbeat, shown by `tocsin agents` and alerted.
# The agent's own counters of damaged input (a line capped, a line in
# Latin-1, the spool full) reach `tocsin agents` and `tocsin status`.
source "$(dirname "$0")/lib.sh"
e2e_setup
# A short silence threshold so that the test need not wait ten minutes.
sed -i 's/^engine:$/engine:\n  agent_silent_after: 2s/' "$CFG"

VERSION=$("$TOCSIN_BIN/tocsin-agent" --version | awk '{print $2}')

line() {
	printf 'Jan 26 00:00:%02d web01 sshd[%d]: Failed password for root from 203.0.113.%d port %d ssh2\n' \
	    $(( $1 % 60 )) $(( 1000 + $1 )) $(( $1 % 250 + 1 )) "$1"
}
lines() { local i; for ((i = $1; i <= $2; i++)); do line "$i"; done; }

# agent_field NAME JQ-EXPR: a field of NAME's row in `tocsin agents --json`.
agent_field() {
	tocsin agents --json 2>/dev/null |
	    jq -r --arg n "$1" "select(.name == \$n) | $2"
}
field_is() { [ "$(agent_field "$1" "$2")" = "$3" ]; }
# internal_event REGEX: tocsin's own event (agent "") whose message matches.
internal_event() {
	tocsin events --json 2>/dev/null |
	    jq -c --arg r "$1" 'select(.agent == "" and (.message | test($r)))' |
	    grep -q .
}
alert_for() {
	tocsin alerts --json 2>/dev/null |
	    jq -c --arg id "$1" --arg r "$2" \
	    'select(.rule.id == $id and (.message | test($r)))' | grep -q .
}

check "tocsind starts" start_server
check "agent h1 enrolled" enroll h1 --follow "$T/h1.syslog" 2>>"$T/cli.err"
check "agent h2 enrolled" enroll h2 --follow "$T/h2.syslog" 2>>"$T/cli.err"
is "a new agent is never seen" "$(agent_field h1 .state)" never_seen

# --- connected, with version, last event, events, backlog -----------------
: >"$T/h1.syslog"
start_agent h1 --from-start
H1_PID=$AGENT_PID
check "h1 shows connected" wait_until 30 field_is h1 .state connected
is "h1 shows its version" "$(agent_field h1 .version)" "$VERSION"
lines 1 20 >>"$T/h1.syslog"
check "h1's 20 events counted" wait_until 30 field_is h1 .events 20
check "h1 shows the time of its last event" \
    wait_until 5 field_is h1 '.last_event | type' string
check "h1 shows its spool drained (heartbeat backlog 0)" \
    wait_until 30 field_is h1 .spooled 0
is "h1's spool is not full" "$(agent_field h1 .spool_full)" false
tocsin agents >"$T/agents.txt" 2>&1
check "the agents table lists h1 as connected with its version" \
    grep -q -E "^h1 +connected .* $VERSION" "$T/agents.txt"
check "h1 reports its counters, none of lost input yet" \
    wait_until 30 field_is h1 '.losses | tojson' "{}"

# --- the agent's own counters of damaged input reach the server ------------
# One line past MAX_LINE_BYTES (64 KiB: capped) and one in Latin-1 (not
# UTF-8): the agent counts them, its heartbeat carries the counts.
{ head -c 70000 /dev/zero | tr '\0' x; echo; } >>"$T/h1.syslog"
printf 'Jan 26 00:01:00 web01 app: caf\351 ferm\351\n' >>"$T/h1.syslog"
check "h1's two new lines journaled" wait_until 30 field_is h1 .events 22
check "tocsin agents --json: h1 agent.lines_truncated 1" \
    wait_until 30 field_is h1 '.losses["agent.lines_truncated"]' 1
is "tocsin agents --json: h1 agent.lines_bad_encoding 1" \
    "$(agent_field h1 '.losses["agent.lines_bad_encoding"]')" 1
is "tocsin agents --json: h1 lines read (not a loss) in counters only" \
    "$(agent_field h1 '[.counters["agent.lines_read"] > 0,
        (.losses | has("agent.lines_read"))] | @tsv')" "$(printf 'true\tfalse')"
tocsin agents >"$T/agents.txt" 2>&1
check "the agents table shows h1's losses" grep -q -E \
    "^h1 +connected .*lines_truncated=1 lines_bad_encoding=1" "$T/agents.txt"
tocsin status >"$T/status.txt" 2>&1
check "tocsin status names h1's truncated line" \
    grep -q -E '^! h1 agent\.lines_truncated +1$' "$T/status.txt"
check "tocsin status names h1's Latin-1 line" \
    grep -q -E '^! h1 agent\.lines_bad_encoding +1$' "$T/status.txt"
is "tocsin status --json: h1's losses" \
    "$(status_json | jq -c '.agent_losses.h1')" \
    '{"agent.lines_truncated":1,"agent.lines_bad_encoding":1}'

# --- silent, then reporting again ----------------------------------------
AGENT_PID=$H1_PID
stop_agent
check "agent silent event journaled for h1" \
    wait_until 60 internal_event '^.* tocsin\[[0-9]+\]: agent h1 silent for [0-9a-z]+ \(last seen '
check "agent silent alert raised for h1" \
    wait_until 60 alert_for tocsin.agent_silent 'agent h1 silent for'
start_agent h1
H1_PID=$AGENT_PID
check "agent reporting again event journaled for h1" \
    wait_until 60 internal_event 'agent h1 reporting again after [0-9a-z]+ of silence$'
n=$(tocsin events --json 2>/dev/null |
    jq -r 'select(.agent == "") | .message' | grep -c 'agent h1 silent for')
is "one silent event for one silence" "$n" 1
AGENT_PID=$H1_PID
stop_agent

# --- spool full while the server is away -----------------------------------
# 64k is the smallest spool: about 500 of these lines fill it.
sed -i 's/^  max_size: .*/  max_size: 64k/; s/^heartbeat: .*/heartbeat: 5s/' \
    "$T/h2.yml"
: >"$T/h2.syslog"
start_agent h2 --from-start
H2_PID=$AGENT_PID
check "h2 connects" wait_until 30 field_is h2 .state connected
check "tocsind stopped" stop_server
lines 1 3000 >>"$T/h2.syslog"
full_logged() { grep -q 'spool full' "$T/agent-h2.log"; }
check "h2 stops reading at its spool cap" wait_until 30 full_logged
check "tocsind started again" start_server
check "tocsin agents shows h2's spool full" \
    wait_until 30 field_is h2 .spool_full true
check "agent spool full event journaled for h2" wait_until 30 internal_event \
    'agent h2 spool full \([0-9]+ events waiting; reading paused\)$'
check "agent spool full alert raised for h2" \
    wait_until 30 alert_for tocsin.agent_spool_full 'agent h2 spool full'
check "all of h2's lines arrive once the spool drains" \
    wait_until 60 field_is h2 .events 3000
check "h2's spool no longer full" wait_until 30 field_is h2 .spool_full false
spool_full_counted() {
	[ "$(agent_field h2 '.losses["agent.spool_full"] // 0')" -ge 1 ]
}
check "tocsin agents --json: h2 agent.spool_full counted" \
    wait_until 30 spool_full_counted
tocsin status >"$T/status.txt" 2>&1
check "tocsin status names h2's spool full" \
    grep -q -E '^! h2 agent\.spool_full +[1-9]' "$T/status.txt"
check "agent spool no longer full event journaled for h2" \
    wait_until 30 internal_event 'agent h2 spool no longer full$'
tocsin events --json 2>/dev/null |
    jq -r 'select(.agent == "h2") | .message' >"$T/h2.got"
is "h2's lines journaled exactly once, in order" \
    "$(cat "$T/h2.got")" "$(lines 1 3000)"
AGENT_PID=$H2_PID
stop_agent
check "tocsind stops cleanly" stop_server
