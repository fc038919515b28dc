#!/usr/bin/env bash
# tocsin-agent.exe as a Windows service under Wine: `install` registers it
# with the service control manager (auto start), Wine's `sc` starts it, the
# service ships a followed file to the Linux collector, `sc stop` stops it
# cleanly (its spool keeps the offset: lines written while it is stopped
# arrive once after `tocsin-agent start`), `uninstall` removes it.
source "$(dirname "$0")/lib.sh"
e2e_setup
source "$TOCSIN_TOP/tests/win/wine.sh"
wine_require
wine_setup

AGENT=wsvc
F="$T/app.log"
SVC=tocsin-agent
lines() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i <= b; i++)
	    printf "Jan 26 00:00:%02d pc02 app[%d]: service line %d\n", i % 60, i, i }'
}
shipped() {
	tocsin events --json 2>/dev/null |
	    jq -r --arg a "$AGENT" 'select(.agent == $a) | .message' |
	    sed -n 's/.*service line \([0-9]*\)$/\1/p' | sort -n
}
count_ge() { [ "$(shipped | wc -l)" -ge "$1" ]; }
exactly() { [ "$(shipped | tr '\n' ' ')" = "$(seq 1 "$1" | tr '\n' ' ')" ]; }
sc_state() { wine sc query "$SVC" 2>/dev/null | tr -d '\r' |
    sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p'; }
state_is() { [ "$(sc_state)" = "$1" ]; }
agent() { wine "$WIN_EXE" "$@" >>"$T/install.log" 2>&1; }
sc() { wine sc "$@" >>"$T/sc.log" 2>&1; }
# Start type 2: automatic (Wine's sc has no qc: the registry says it)
auto_start() {
	wine reg query 'HKLM\System\CurrentControlSet\Services\tocsin-agent' \
	    /v Start 2>/dev/null | tr -d '\r' | grep -q 'REG_DWORD.*0x2'
}

check "tocsind starts" start_server
check "agent enrolled" enroll "$AGENT" --follow "$F" 2>>"$T/cli.err"
win_config "$AGENT"
sed -i 's/^  max_wait: .*/  max_wait: 1s/' "$T/$AGENT.yml"
if grep -q '^from_start:' "$T/$AGENT.yml"; then
	sed -i 's/^from_start: .*/from_start: true/' "$T/$AGENT.yml"
else
	echo "from_start: true" >>"$T/$AGENT.yml"
fi
lines 1 50 >"$F"
printf 'agent:\n  name: bad\n' >"$T/bad.yml"

check "tocsin-agent install registers the service" \
    agent install -c "Z:$T/$AGENT.yml"
check "sc shows it, stopped" wait_until 10 state_is STOPPED
check "it starts at boot (start type automatic)" auto_start
sc start "$SVC"	# (Wine's sc exits non-zero even when it started it)
# On a loaded machine Wine's service manager may give up on a first start
# that takes too long (as Windows' does after 30 s): ask again then.
running() {
	state_is RUNNING && return 0
	state_is STOPPED && sc start "$SVC"
	return 1
}
check "the service runs" wait_until 120 running
check "the service ships the followed file" wait_until 90 count_ge 50
check "sc stop stops it" sc stop "$SVC"
check "the service stopped" wait_until 30 state_is STOPPED
lines 51 80 >>"$F"
check "tocsin-agent start starts it again" agent start
check "the lines written while it was stopped arrive" wait_until 90 count_ge 80
check "every line exactly once" exactly 80
check "tocsin-agent stop stops it" agent stop
check "tocsin-agent uninstall removes it" agent uninstall
check "sc no longer knows it" eval '! wine sc query "$SVC" 2>/dev/null | grep -q STATE'
check "a service that cannot start says why beside its configuration" \
    eval 'agent install -c "Z:$T/bad.yml" && sc start "$SVC"; sleep 3;
        grep -q "bad.yml" "$T/tocsin-agent.log"'
agent uninstall
check "tocsind stops cleanly" stop_server
