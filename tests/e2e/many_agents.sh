#!/usr/bin/env bash
# Many agents in one process (tests/tools/manyagents): 50 agents, each with
# its own key enrolled through the code `tocsin agents add` uses and its own
# CURVE session, all connect to one collector, send heartbeats and batches
# for two seconds, and every acknowledged event is journaled exactly once.
# The 10,000-agent figures are `make bench` (tests/bench/agents.sh).
source "$(dirname "$0")/lib.sh"
e2e_setup
N=50

check "tocsind starts" start_server || exit 1
"$TOCSIN_TOOLS/manyagents" -d "$DATA" -e "tcp://127.0.0.1:$PORT" -n "$N" \
    -E -P m -b 5 -i 1 -s 2 -h 500 -t 60 >"$T/many.out" 2>"$T/many.log"
rc=$?
diag "$(tr '\n' ';' <"$T/many.out")"
is "manyagents exits 0 (all connected, every batch acknowledged)" "$rc" 0
check "all $N agents connected" grep -q "^connected $N of $N " "$T/many.out"
is "$N keys enrolled" "$(ls "$DATA/keys/agents" | grep -c '^m[0-9]*\.pub$')" "$N"
acked=$(awk '/^total acked/ { sub(";", "", $3); print $3 }' "$T/many.out")
check "events were acknowledged" [ "${acked:-0}" -gt 0 ]
is "every acknowledged event journaled once" \
    "$(counter collector.events_journaled)" "$acked"
is "no duplicate" "$(counter collector.events_duplicate)" 0
is "no session evicted" "$(counter collector.sessions_evicted)" 0
is "no refusal" "$(grep -c 'refused' "$T/many.log")" 0
is "tocsin agents lists all $N" \
    "$(tocsin agents --json 2>/dev/null | jq -r 'select(.name | test("^m[0-9]+$")) | .name' | wc -l)" "$N"

check "tocsind stops cleanly" stop_server
