#!/bin/bash
# journal_full.sh - a journal that cannot grow (issue: disk and map full):
# a real agent streams numbered lines into a tiny journal with a low cap;
# acknowledgements pause (REFUSE FULL, counted, said in the journal and in
# `tocsin status`), the agent keeps spooling, nothing is lost; after a
# restart with a higher cap everything arrives exactly once.
set -u
source "$(dirname "$0")/lib.sh"

N=${JOURNAL_FULL_LINES:-8000}
e2e_setup
sed -i -e 's/^  journal_map_size:.*/  journal_map_size: 256k\n  journal_max_size: 512k/' "$CFG"
start_server || { not_ok "server starts"; exit 1; }
ok "server starts on a 256k journal capped at 512k"
enroll web01 --follow "$T/app.log" >"$T/enroll.log" 2>&1 || not_ok "enroll web01"
: >"$T/app.log"
sed -i 's/^heartbeat:.*/heartbeat: 1s/' "$T/web01.yml"
start_agent web01
check "agent follows its file" wait_until 30 agent_following web01

counter_at_least() { local v; v=$(counter "$1"); [ "${v:-0}" -ge "$2" ]; }
# said TEXT: an internal event of the collector holds TEXT.
said() {
	tocsin events --json --limit 0 2>/dev/null |
	    jq -r 'select(.source == "internal" or .file == "tocsind") | .message' |
	    grep -qF "$1"
}
journaled_lines() {
	tocsin events --json --limit 0 2>/dev/null |
	    grep -o 'journal-full-test line [0-9]*' | awk '{ print $3 }'
}

# ~110-byte numbered lines: far more than 512k of journal.
pad=$(head -c 60 /dev/zero | tr '\0' x)
for i in $(seq -w 1 "$N"); do
	echo "Jan  1 00:00:00 web01 app[1]: journal-full-test line $i $pad"
done >>"$T/app.log"

check "journal refuses FULL once at its cap" wait_until 60 counter_at_least \
    collector.journal_full 1
check "map grown to the cap first" wait_until 10 counter_at_least \
    collector.journal_map_grown 1
# still paused: the agent's next try is refused as well
check "the agent's next batch is refused too" wait_until 30 counter_at_least \
    collector.journal_full 2
j1=$(counter collector.events_journaled)
check "acknowledgements paused: not everything journaled" test "${j1:-0}" -lt "$N"
diag "journaled $j1 of $N before the cap"
tocsin status >"$T/status.txt" 2>&1
check "tocsin status shows the full journal" grep -q 'journal_full' "$T/status.txt"
full_since=$(counter collector.journal_full_since_us)
check "status says since when the journal is full" test "${full_since:-0}" -gt 0
# The agent keeps its spool (nothing acknowledged is lost, nothing dropped).
check "agent keeps the rest spooled" grep -qi 'full' "$T/agent-web01.log"
check "journal full said in the journal" wait_until 10 said \
    'journal full: acknowledgements paused'
dups=$(journaled_lines | sort | uniq -d | wc -l)
is "no line journaled twice while full" "$dups" "0"

# ---- raise the cap: restart with a bigger journal_max_size ----------------
stop_server && ok "server stops cleanly when full" || not_ok "server stops cleanly when full"
sed -i -e 's/^  journal_max_size:.*/  journal_max_size: 64M/' "$CFG"
start_server || not_ok "server restarts with a higher cap"
all_in() { local v; v=$(journaled_lines | sort -u | wc -l); [ "$v" -ge "$N" ]; }
check "every line arrives after the cap is raised" wait_until 120 all_in
got=$(journaled_lines | wc -l)
uniq=$(journaled_lines | sort -u | wc -l)
is "every line journaled" "$uniq" "$N"
is "every line exactly once" "$got" "$N"
is "agent's events counted once" "$(counter collector.events_journaled)" "$N"
check "journal accepting again said in the journal" wait_until 10 said \
    'journal accepting again'
full_cleared() { [ "$(counter collector.journal_full_since_us)" = 0 ]; }
check "status says the journal accepts again" wait_until 10 full_cleared
stop_agent
stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"
exit 0
