#!/usr/bin/env bash
# silent_drops.sh - what the decoders leave out is counted and shown by
# `tocsin status`: a Windows Event XML with 4,000 data items (past the
# decoder's MAX_WINEVT_ITEMS and the engine's MAX_DECODED_FIELDS) raises
# engine.fields_dropped, a Windows JSON event that is not JSON raises
# engine.json_malformed, a CEF record whose header does not parse raises
# engine.cef_malformed.  Through the real daemons, over syslog TCP.
source "$(dirname "$0")/lib.sh"
e2e_setup
start_server || { not_ok "server starts"; exit 1; }
ok "server starts"

send() { printf '%s\n' "$@" >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"; }
hdr='<13>2026-01-30T11:00:05Z ws0042 EventLog:'
ev="<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4625</EventID><TimeCreated SystemTime='2026-01-30T11:00:05.1230000Z'/><Channel>Security</Channel><Computer>WS-0042.corp.example</Computer></System><EventData>"
items=$(for i in $(seq 1 4000); do printf '<Data>v</Data>'; done)
line="$hdr $ev$items</EventData></Event>"
check "the event line fits one syslog line (${#line} bytes)" test "${#line}" -lt 65536

fd0=$(counter engine.fields_dropped); jm0=$(counter engine.json_malformed)
cm0=$(counter engine.cef_malformed); ev0=$(counter engine.events_processed)
send "$line" \
    "$hdr "'{"Event":{"System":{"EventID":4625,"Channel":"Security"},"EventData":{"a":1,}}}' \
    "$hdr CEF:0|Vendor|Product"
processed3() { [ "$(counter engine.events_processed)" -ge $((ev0 + 3)) ]; }
check "the three lines processed" wait_until 30 processed3
is_more() { [ "$(counter "$1")" -gt "$2" ]; }
check "4,000 data items: engine.fields_dropped rises ($fd0 -> $(counter engine.fields_dropped))" \
    wait_until 10 is_more engine.fields_dropped "$fd0"
check "JSON that does not parse: engine.json_malformed rises" \
    wait_until 10 is_more engine.json_malformed "$jm0"
check "a CEF header that does not parse: engine.cef_malformed rises" \
    wait_until 10 is_more engine.cef_malformed "$cm0"
tocsin status >"$T/status.txt" 2>&1
for c in engine.fields_dropped engine.json_malformed engine.cef_malformed; do
	check "tocsin status (text) shows $c" grep -q "$c" "$T/status.txt"
done

stop_server
check "server stops cleanly" test -z "${SERVER_PID:-}"
exit $((E2E_FAILED > 0))
