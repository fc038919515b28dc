#!/usr/bin/env bash
# The MSI (bin/tocsin-agent.msi, built by wixl) under Wine's msiexec, as
# group policy would push it: an unattended install with the server, token
# and fingerprint as properties puts the agent under Program Files, enrols
# the PC with the real server (its configuration under ProgramData),
# registers and starts the service, which connects over CURVE; the
# uninstall stops and removes the service and the program.
source "$(dirname "$0")/lib.sh"
e2e_setup
source "$TOCSIN_TOP/tests/win/wine.sh"
wine_require
MSI="$TOCSIN_TOP/bin/tocsin-agent.msi"
if ! command -v wixl >/dev/null 2>&1; then
	skip "msitools (wixl) is not installed: no MSI to try (make deps)"
	exit 0
fi
check "bin/tocsin-agent.msi exists (make windows)" test -f "$MSI"
[ -f "$MSI" ] || exit 1
wine_setup
# Wine's own wevtapi aborts on EvtCreateBookmark: the service (which reads
# the event log by default) gets the tests' stand-in, from system32, with no
# channel to serve (each is then reported missing, as on a PC without it).
check "the stand-in wevtapi.dll builds" x86_64-w64-mingw32-gcc -std=c11 -O2 \
    -shared -o "$WINEPREFIX/drive_c/windows/system32/wevtapi.dll" \
    "$TOCSIN_TOP/tests/win/wevtapi_stub.c"
wine reg add 'HKCU\Software\Wine\DllOverrides' /v wevtapi /d native /f \
    >/dev/null 2>&1

EPORT=$(free_port)
sed -i "s|^  listen: .*|&\n  enroll_listen: tcp://127.0.0.1:$EPORT|" "$CFG"
check "tocsind starts" start_server
out=$(tocsin agents token create --uses 1 2>&1)
TOK=$(awk '/^token:/ {print $2}' <<<"$out")
FP=$(awk '/^fingerprint:/ {print $2}' <<<"$out")
check "a token for the PC" test -n "$TOK" -a ${#FP} = 40

PF="$WINEPREFIX/drive_c/Program Files/tocsin"
PD="$WINEPREFIX/drive_c/ProgramData/tocsin"
sc_state() { wine sc query tocsin-agent 2>/dev/null | tr -d '\r' |
    sed -n 's/.*STATE *: *[0-9]* *\([A-Z_]*\).*/\1/p'; }
state_is() { [ "$(sc_state)" = "$1" ]; }
msi() { wine msiexec "$@" >>"$T/msiexec.out" 2>&1; }

check "msiexec /i /qn with SERVER, TOKEN and FINGERPRINT succeeds" \
    msi /i "Z:$MSI" /qn /l*v "Z:$T/install.log" SERVER="127.0.0.1:$EPORT" \
    TOKEN="$TOK" FINGERPRINT="$FP"
check "the agent is installed under Program Files" test -f "$PF/tocsin-agent.exe"
check "its configuration is under ProgramData" test -f "$PD/agent.yml"
check "the configuration reads the event log" grep -q '^eventlog:' "$PD/agent.yml"
name=$(sed -n 's/^  name: *//p' "$PD/agent.yml" | head -n 1)
enrolled() { tocsin agents --json 2>/dev/null | jq -r .name | grep -qx "$name"; }
check "the PC is enrolled with the server ($name)" enrolled
# On a loaded machine Wine's service manager may give up on a first start
# that takes too long (as Windows' does after 30 s): ask again then.
running() {
	state_is RUNNING && return 0
	state_is STOPPED && wine sc start tocsin-agent >/dev/null 2>&1
	return 1
}
check "the service runs" wait_until 120 running
connected() {
	tocsin agents --json 2>/dev/null |
	    jq -e --arg n "$name" 'select(.name == $n and .state == "connected")' >/dev/null
}
check "the service's agent connects to the collector" wait_until 90 connected

check "msiexec /x removes it" msi /x "Z:$MSI" /qn /l*v "Z:$T/uninstall.log"
check "the service is gone" eval '! wine sc query tocsin-agent 2>/dev/null | grep -q STATE'
check "the program is gone" test ! -f "$PF/tocsin-agent.exe"
check "the configuration (keys, spool) stays" test -f "$PD/agent.yml"
check "tocsind stops cleanly" stop_server
