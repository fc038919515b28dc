#!/usr/bin/env bash
# The Windows agent's event-log reader under Wine.  Wine's own wevtapi is a
# stub, so the agent runs beside a stand-in wevtapi.dll of the tests'
# (tests/win/wevtapi_stub.c) that serves real events: the .evtx files of
# the corpus converted with the project's own libevtx path
# (`tocsin record --from-evtx`).  Checked: every event shipped exactly once
# as its Event XML; the bookmark of each channel kept in the spool, so a
# kill -9 and a restart resume without loss or duplicate; channels that do
# not exist reported once and retried; a channel that disappears and comes
# back; an XPath filter applied, and one that does not parse reported.
source "$(dirname "$0")/lib.sh"
CORPUS="$TOCSIN_TOP/../shared/corpus/sigma-regression"
# a SigmaHQ rule with its regression .evtx: it must fire match_count times
CASE="$CORPUS/proc_creation_win_certutil_download"
e2e_setup "$TOCSIN_TOP/rules/default" "$CASE/rule.yml"
source "$TOCSIN_TOP/tests/win/wine.sh"
wine_require
if [ ! -d "$CORPUS" ] || [ ! -f "$CASE/rule.yml" ]; then
	skip "the corpus (../shared/corpus/sigma-regression) is absent:" \
	    "no real .evtx to serve"
	exit 0
fi
wine_setup

AGENT=wevt
SYSMON="Microsoft-Windows-Sysmon/Operational"
TASKS="Microsoft-Windows-TaskScheduler/Operational"
EVT="$T/evt"
mkdir -p "$EVT" "$T/winbin"
chanfile() { echo "$EVT/${1//\//%}.xml"; }

# The stand-in wevtapi.dll beside a copy of the agent (Wine loads a DLL
# from the program's folder first when told to prefer native ones).
check "the stand-in wevtapi.dll builds" x86_64-w64-mingw32-gcc -std=c11 -O2 \
    -shared -o "$T/winbin/wevtapi.dll" "$TOCSIN_TOP/tests/win/wevtapi_stub.c"
cp "$WIN_EXE" "$T/winbin/tocsin-agent.exe"
export WINEDLLOVERRIDES="$WINEDLLOVERRIDES;wevtapi=n"
export TOCSIN_EVT_DIR="Z:$EVT"
WIN_EXE="$T/winbin/tocsin-agent.exe"

# Every event of the corpus's .evtx files as Event XML, one a line, sorted
# into the file of its channel.
for f in "$CORPUS"/*/*.evtx; do
	"$TOCSIN_BIN/tocsin" record --from-evtx "$f" -o "$T/rec.jsonl" \
	    2>>"$T/record.err" || continue
	tail -n +2 "$T/rec.jsonl" | jq -r .raw
done >"$T/all.xml"
grep -F "<Channel>$SYSMON</Channel>" "$T/all.xml" >"$T/sysmon.xml"
grep -F "<Channel>$TASKS</Channel>" "$T/all.xml" >"$T/tasks.xml"
NS=$(wc -l <"$T/sysmon.xml")
NT=$(wc -l <"$T/tasks.xml")
check "real events to serve ($NS Sysmon, $NT Task Scheduler)" \
    test "$NS" -ge 40 -a "$NT" -ge 1
FIRST=$((NS / 2))
head -n "$FIRST" "$T/sysmon.xml" >"$(chanfile "$SYSMON")"
cp "$T/tasks.xml" "$(chanfile "$TASKS")"
: >"$(chanfile System)"		# exists, but a filter that does not parse

check "tocsind starts" start_server
check "agent enrolled" enroll "$AGENT" 2>>"$T/cli.err"
win_config "$AGENT"
sed -i 's/^  max_wait: .*/  max_wait: 1s/' "$T/$AGENT.yml"
cat >>"$T/$AGENT.yml" <<EOT
eventlog:
  add: ["$TASKS"]
  filters:
    System: "*[System[(EventID=7045)"
EOT
agent_log() { cat "$T/agent-$AGENT.log" 2>/dev/null; }
logged() { agent_log | grep -q -- "$1"; }
nlogged() { agent_log | grep -c -- "$1"; }
# The agent's journaled events of a channel, their raw XML one a line.
shipped() {
	tocsin events --json 2>/dev/null |
	    jq -r --arg a "$AGENT" --arg f "eventlog:$1" \
	    'select(.agent == $a and .file == $f) | .message'
}
count_ge() { [ "$(shipped "$1" | wc -l)" -ge "$2" ]; }
# same_lines A B: the two files hold the same lines, as many times each.
same_lines() { cmp -s <(sort "$1") <(sort "$2"); }

start_win_agent "$AGENT" --from-start
check "the agent subscribes to the Sysmon channel" \
    wait_until 60 logged "eventlog: $SYSMON: subscribed"
check "first $FIRST Sysmon events arrive" wait_until 90 count_ge "$SYSMON" "$FIRST"
check "the Task Scheduler channel (eventlog.add) arrives" \
    wait_until 60 count_ge "$TASKS" "$NT"
shipped "$SYSMON" >"$T/got.sysmon"
check "each shipped once, as its Event XML" \
    same_lines "$T/got.sysmon" "$(chanfile "$SYSMON")"
check "a missing channel is reported" \
    logged "eventlog: Security: cannot subscribe: the channel does not exist"
check "an XPath that does not parse is reported" \
    logged "eventlog: System: cannot subscribe: the XPath filter does not parse"
sleep 12	# past one retry of the missing channels
check "a missing channel is reported once, not at every retry" \
    test "$(nlogged 'eventlog: Security: cannot subscribe')" -eq 1

# --- kill -9, new events meanwhile, restart: resume after the bookmark -----
exec 4>&2 2>/dev/null
check "agent killed" kill -KILL "$AGENT_PID"
wait "$AGENT_PID"
exec 2>&4 4>&-
sed -n "$((FIRST + 1)),$((FIRST + 10))p" "$T/sysmon.xml" >>"$(chanfile "$SYSMON")"
start_win_agent "$AGENT"
check "the restarted agent resumes after its bookmark" \
    wait_until 60 logged "eventlog: $SYSMON: subscribed (after the stored bookmark)"
check "the events written while it was down arrive" \
    wait_until 90 count_ge "$SYSMON" $((FIRST + 10))
sleep 3
shipped "$SYSMON" >"$T/got.sysmon"
check "no event lost or repeated across the kill" \
    same_lines "$T/got.sysmon" "$(chanfile "$SYSMON")"

# --- the channel disappears, then comes back with more events --------------
mv "$(chanfile "$SYSMON")" "$T/sysmon.saved"
check "a channel that disappears is reported" \
    wait_until 30 logged "eventlog: $SYSMON: reading stopped"
cp "$T/sysmon.saved" "$(chanfile "$SYSMON")"
sed -n "$((FIRST + 11)),\$p" "$T/sysmon.xml" >>"$(chanfile "$SYSMON")"
check "it is read again when it is back" \
    wait_until 60 logged "eventlog: $SYSMON: reading again"
check "all $NS Sysmon events arrive" wait_until 90 count_ge "$SYSMON" "$NS"
sleep 3
shipped "$SYSMON" >"$T/got.sysmon"
check "every Sysmon event exactly once" same_lines "$T/got.sysmon" "$T/sysmon.xml"
shipped "$TASKS" >"$T/got.tasks"
check "every Task Scheduler event exactly once" same_lines "$T/got.tasks" "$T/tasks.xml"

# --- the engine decodes what the agent shipped ---------------------------------
# The regression case's rule fires exactly match_count times on the events
# of its .evtx, shipped through the agent, and credits the event's Computer.
rule_id=$(sed -n 's/^id: *//p' "$CASE/rule.yml" | head -n 1)
want=$(sed -n 's/^ *match_count: *//p' "$CASE/info.yml" | head -n 1)
"$TOCSIN_BIN/tocsin" record --from-evtx "$CASE/$rule_id.evtx" -o "$T/case.jsonl"
host=$(tail -n +2 "$T/case.jsonl" | jq -r .raw |
    sed -n 's/.*<Computer>\([^<]*\)<\/Computer>.*/\1/p' | head -n 1)
rule_alerts() {
	tocsin alerts --json --limit 0 2>/dev/null |
	    jq -c --arg id "$rule_id" 'select(tostring | contains($id))'
}
alerts_ge() { [ "$(rule_alerts | wc -l)" -ge "$1" ]; }
check "the SigmaHQ rule fires on the shipped events" wait_until 60 alerts_ge 1
sleep 2
is "it fires exactly match_count ($want) times" "$(rule_alerts | wc -l)" "$want"
is "the alert names the event's Computer" \
    "$(rule_alerts | jq -r .host | sort -u)" "$host"

exec 4>&2 2>/dev/null
kill -KILL "$AGENT_PID"; wait "$AGENT_PID"
exec 2>&4 4>&-
check "tocsind stops cleanly" stop_server
