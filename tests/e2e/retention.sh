#!/usr/bin/env bash
# retention.sh - retention deletes exactly what it should, across a restart.
#
#   collector.retention 4s: journal events older than that go, but never one
#     the engine has not processed (the engine is stopped with SIGSTOP while
#     batch B waits: A goes, B stays), and never the agents' records.
#   engine.alert_retention / incident_retention 30s: after a restart, the
#     alerts detected more than 30 s ago (batch A's) are gone and B's are
#     kept; A's incident, resolved, is gone; B's, open, stays.
#   tocsin status shows the counters and the disk (used, free, days left).
set -u
source "$(dirname "$0")/lib.sh"
e2e_setup
sed -i 's/^collector:$/collector:\n  retention: 4s/' "$CFG"
sed -i 's/^engine:$/engine:\n  alert_retention: 30s\n  incident_retention: 30s/' "$CFG"

# line N HOST USER SRCIP: one failed SSH login.
line() {
	printf 'Jan 26 00:00:%02d %s sshd[%d]: Failed password for %s from %s port %d ssh2\n' \
	    $(( $1 % 60 )) "$2" $(( 1000 + $1 )) "$3" "$4" $(( 40000 + $1 ))
}
batch() {	# FIRST LAST HOST USER SRCIP
	local i; for ((i = $1; i <= $2; i++)); do line "$i" "$3" "$4" "$5"; done
}
# in_journal SRCIP: events of the journal from that address.
in_journal() {
	tocsin events --json --limit 0 2>/dev/null |
	    jq -r '.message' | grep -c -- "from $1 port"
}
# alerts_for SRCIP: per-line alerts (sshd.failed_password) from that address.
alerts_for() {
	tocsin alerts --json --limit 0 2>/dev/null |
	    jq -r 'select(.rule.id == "sshd.failed_password") | .message' |
	    grep -c -- "from $1 port"
}
incident_for() {	# SRCIP: the id of the incident holding that address
	tocsin incidents --json --limit 0 2>/dev/null |
	    jq -r --arg a "$1" 'select((.entities.srcip // []) | index($a)) | .id' |
	    head -n 1
}
agent_events() {
	tocsin agents --json 2>/dev/null | jq -r 'select(.name == "r1") | .events'
}
events_at_least() { [ "$(agent_events)" -ge "$1" ] 2>/dev/null; }
count_is() { [ "$("$1" "$2")" = "$3" ]; }
has_incident() { [ -n "$(incident_for "$1")" ]; }
no_incident() { [ -z "$(incident_for "$1")" ]; }
incident_state() {
	tocsin incidents show "$1" --json 2>/dev/null | jq -r '.state'
}
state_is() { [ "$(incident_state "$1")" = "$2" ]; }
engine_pid() { cat "$DATA/run/engine.pid"; }

A=198.51.100.1 B=198.51.100.2 C=198.51.100.3
check "tocsind starts" start_server
check "agent r1 enrolled" enroll r1 --follow "$T/r1.syslog" 2>>"$T/cli.err"
: >"$T/r1.syslog"
start_agent r1 --from-start
wait_until 30 agent_following r1

# ---- A: journaled, processed, alerted, an incident resolved ----------------
batch 1 10 hostA alice "$A" >>"$T/r1.syslog"
check "A: 10 events journaled" wait_until 60 events_at_least 10
check "A: processed, 10 alerts" wait_until 60 count_is alerts_for "$A" 10
check "A: an incident opened" wait_until 30 has_incident "$A"
IA=$(incident_for "$A")
tocsin incidents resolve "$IA" --note "retention test" >/dev/null 2>&1
check "A: its incident resolved" wait_until 30 state_is "$IA" resolved
A_DONE=$(date +%s)
# B comes 20 s later, so that A's alerts pass alert_retention (30 s) well
# before B's do.
sleep 20

# ---- B: journaled while the engine is stopped --------------------------------
EP=$(engine_pid)
kill -STOP "$EP"
batch 11 20 hostB bob "$B" >>"$T/r1.syslog"
check "B: 10 events journaled" wait_until 60 events_at_least 20
check "A's events are deleted after 4 s" wait_until 30 count_is in_journal "$A" 0
is "B's events, as old but not processed, are all kept" "$(in_journal "$B")" 10
held() { [ "$(counter collector.retention_held)" -ge 10 ]; }
check "tocsin status counts the events held for the engine" wait_until 10 held
deleted=$(counter collector.retention_deleted)
check "collector.retention_deleted counts A's events (>= 10)" \
    test "${deleted:-0}" -ge 10
kill -CONT "$EP"
check "B: processed once the engine runs again" \
    wait_until 60 count_is alerts_for "$B" 10
check "B: its incident opened" wait_until 30 has_incident "$B"
check "tocsind stops" stop_server

# ---- across a restart -----------------------------------------------------------
# A's alerts and incident are more than 32 s old now; B's about 10 s.
while [ $(( $(date +%s) - A_DONE )) -lt 32 ]; do sleep 1; done
check "tocsind starts again" start_server
batch 21 25 hostC carol "$C" >>"$T/r1.syslog"
check "C: journaled after the restart" wait_until 60 events_at_least 25
check "A's alerts are deleted (older than alert_retention)" \
    wait_until 30 count_is alerts_for "$A" 0
check "A's resolved incident is deleted" wait_until 30 no_incident "$A"
is "B's alerts, newer than alert_retention, are all kept" \
    "$(alerts_for "$B")" 10
check "B's open incident is kept" has_incident "$B"
check "B's events are deleted now that they are processed" \
    wait_until 30 count_is in_journal "$B" 0
is "C's events are kept" "$(in_journal "$C")" 5
ret_alerts() { [ "$(counter engine.retention_alerts_deleted)" -ge 10 ]; }
ret_incidents() { [ "$(counter engine.retention_incidents_deleted)" -ge 1 ]; }
check "engine.retention_alerts_deleted counts A's alerts" wait_until 10 ret_alerts
check "engine.retention_incidents_deleted counts A's incident" \
    wait_until 10 ret_incidents
# the agent's high-water mark survives retention: nothing is journaled twice
is "the agent's record keeps its count" "$(agent_events)" 25
status_json >"$T/status.json"
check "tocsin status --json shows the disk" \
    jq -e '.disk.used_bytes > 0 and (.disk.free_bytes > 0)' "$T/status.json"
tocsin status >"$T/status.txt" 2>&1
check "tocsin status shows the disk" grep -qE '^disk: .* used, .* free' "$T/status.txt"
stop_agent
check "tocsind stops" stop_server
exit 0
