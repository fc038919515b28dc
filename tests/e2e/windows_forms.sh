#!/usr/bin/env bash
# One Windows event in every form the Windows decoder reads - Event XML
# (EvtRender), the evtx-tool JSON, Winlogbeat JSON, NXLog JSON - through
# `tocsin rules test --json` with rules/default: each form decodes to the
# same fields, fires the same rule, and its host is the event's Computer
# (Winlogbeat: winlog.computer_name, NXLog: Hostname) and its time the
# event's TimeCreated (Winlogbeat: @timestamp, else event.created; NXLog:
# EventTime, in NXLog's default zoneless form - read in the zone of
# unzoned times - or ISO 8601 with a zone).
# The event is Microsoft's documented 4625 (a failed network logon).
# TAP output.
source "$(dirname "$0")/lib.sh"
e2e_setup

BIN="$TOCSIN_BIN/tocsin"
DEF="$TOCSIN_TOP/rules/default"
ERR="$T/err.log"	# *.log: sanitizer reports in it fail the run

if ! command -v jq >/dev/null 2>&1; then
	skip "windows forms: jq is not installed"
	exit 0
fi

# decode FILE: "host time rule TargetUserName IpAddress" of its one event
decode() {
	"$BIN" rules test -r "$DEF" --json "$1" 2>>"$ERR" |
	    jq -r '[.fields.host, .time, (.alerts | map(.id) | join(",")),
	    .fields.TargetUserName, .fields.IpAddress] | join(" ")'
}

want="WS-0042.corp.example 2026-01-30T11:00:05.123Z win.logon_failed_network jsmith 203.0.113.50"

cat >"$T/xml.log" <<'EOF'
<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='2026-01-30T11:00:05.1230000Z'/><EventRecordID>229977</EventRecordID><Correlation/><Execution ProcessID='516' ThreadID='3240'/><Channel>Security</Channel><Computer>WS-0042.corp.example</Computer><Security/></System><EventData><Data Name='SubjectUserSid'>S-1-0-0</Data><Data Name='TargetUserName'>jsmith</Data><Data Name='TargetDomainName'>CORP</Data><Data Name='Status'>0xc000006d</Data><Data Name='SubStatus'>0xc000006a</Data><Data Name='LogonType'>3</Data><Data Name='IpAddress'>203.0.113.50</Data><Data Name='IpPort'>0</Data></EventData></Event>
EOF
is "Event XML: host = Computer, time = TimeCreated" "$(decode "$T/xml.log")" "$want"

cat >"$T/evtx.json" <<'EOF'
{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"54849625-5478-4994-A5BA-3E3B0328C30D"}},"EventID":4625,"Version":0,"Level":0,"Task":12544,"Opcode":0,"Keywords":"0x8010000000000000","TimeCreated":{"#attributes":{"SystemTime":"2026-01-30T11:00:05.123000Z"}},"EventRecordID":229977,"Correlation":null,"Execution":{"#attributes":{"ProcessID":516,"ThreadID":3240}},"Channel":"Security","Computer":"WS-0042.corp.example","Security":null},"EventData":{"SubjectUserSid":"S-1-0-0","TargetUserName":"jsmith","TargetDomainName":"CORP","Status":"0xc000006d","SubStatus":"0xc000006a","LogonType":3,"IpAddress":"203.0.113.50","IpPort":"0"}}}
EOF
is "evtx JSON: host = Computer, time = TimeCreated" "$(decode "$T/evtx.json")" "$want"

# Winlogbeat: @timestamp is the record's time; agent.hostname is the
# machine that shipped it, which must not become the host.
wlb='"agent":{"hostname":"collector01"},"host":{"name":"collector01"},"event":{"code":"4625","created":"2026-01-30T11:07:00.000Z"},"winlog":{"channel":"Security","computer_name":"WS-0042.corp.example","event_id":4625,"provider_name":"Microsoft-Windows-Security-Auditing","record_id":229977,"task":"Logon","event_data":{"TargetUserName":"jsmith","TargetDomainName":"CORP","Status":"0xc000006d","LogonType":"3","IpAddress":"203.0.113.50","IpPort":"0"}}'
printf '{"@timestamp":"2026-01-30T11:00:05.123Z",%s}\n' "$wlb" >"$T/wlb.json"
is "Winlogbeat: host = computer_name, time = @timestamp" \
    "$(decode "$T/wlb.json")" "$want"
printf '{%s}\n' "$(printf '%s' "$wlb" |
    sed 's/"created":"2026-01-30T11:07:00.000Z"/"created":"2026-01-30T11:00:05.123Z"/')" \
    >"$T/wlb2.json"
is "Winlogbeat without @timestamp: time = event.created" \
    "$(decode "$T/wlb2.json")" "$want"

# NXLog im_msvistalog + to_json: flat keys, Hostname, EventTime.
nx='"Hostname":"WS-0042.corp.example","EventReceivedTime":"2026-01-30 11:09:00","SourceModuleName":"eventlog","SourceModuleType":"im_msvistalog","EventID":4625,"SourceName":"Microsoft-Windows-Security-Auditing","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","Version":0,"Task":12544,"OpcodeValue":0,"RecordNumber":229977,"Channel":"Security","Keywords":"-9218868437227405312","EventType":"AUDIT_FAILURE","Category":"Logon","TargetUserName":"jsmith","TargetDomainName":"CORP","Status":"0xc000006d","LogonType":"3","IpAddress":"203.0.113.50","IpPort":"0"'
printf '{"EventTime":"2026-01-30 11:00:05.123",%s}\n' "$nx" >"$T/nx.json"
is "NXLog: host = Hostname, time = EventTime (default format, no zone)" \
    "$(decode "$T/nx.json")" "$want"
# the default format has no zone: it is the sender's wall clock, read in
# the zone of unzoned times (timezone: in tocsind.yml, --timezone here)
is "NXLog: a zoneless EventTime is read in the configured zone" \
    "$("$BIN" rules test -r "$DEF" --timezone +01:00 --json "$T/nx.json" \
    2>>"$ERR" | jq -r .time)" 2026-01-30T10:00:05.123Z
printf '{"EventTime":"2026-01-30T12:00:05.123+01:00",%s}\n' "$nx" >"$T/nx2.json"
is "NXLog: time = EventTime (ISO 8601 with a zone)" \
    "$(decode "$T/nx2.json")" "$want"
printf '{"EventTime":"last tuesday, about noon",%s}\n' "$nx" >"$T/nx3.json"
got=$(decode "$T/nx3.json")
check "NXLog: an EventTime that is no time is not taken as one" \
    test "${got#* }" != "${want#* }"
is "NXLog: the event still decodes and fires" \
    "$(printf '%s' "$got" | cut -d' ' -f1,3-)" \
    "$(printf '%s' "$want" | cut -d' ' -f1,3-)"

# ---- bad input: said on stderr with the line, counted, nothing half-decoded
x4625=$(head -n 1 "$T/xml.log")
{
	# malformed: an element closed by the wrong name
	printf '%s\n' "$x4625" | sed 's|</System>|</Systm>|'
	# thousands of data items (past the decoder's bound)
	printf '%s\n' "$x4625" | sed "s|<EventData>|<EventData>$(for i in $(seq 1 3000); do printf "<Data Name='n%d'>v</Data>" "$i"; done)|"
	# a DTD with an entity (refused, never expanded)
	printf '%s\n' "<!DOCTYPE Event [<!ENTITY a 'x'>]>$x4625"
} >"$T/bad.log"
"$BIN" rules test -r "$DEF" --json "$T/bad.log" >"$T/bad.out" 2>"$T/bad.err"
is "bad Event XML: every line is still reported on" \
    "$(jq -s length "$T/bad.out")" 3
is "bad Event XML: no rule fires on a half-decoded event" \
    "$(jq -s '[.[].alerts | length] | add' "$T/bad.out")" 0
check "malformed Event XML is named with its line" \
    grep -q '/bad.log:1: malformed Windows event' "$T/bad.err"
check "thousands of data items: refused, named with its line" \
    grep -q '/bad.log:2: Windows event refused' "$T/bad.err"
check "a DTD: refused, named with its line" \
    grep -q '/bad.log:3: Windows event refused' "$T/bad.err"
# a huge value is cut at the decoder's bound (16 KiB), the event decodes
printf '%s\n' "$x4625" | sed "s|>jsmith<|>$(head -c 60000 /dev/zero | tr '\0' A)<|" \
    >"$T/huge.log"
is "a 60,000-byte value is cut to 16 KiB and the event still fires" \
    "$("$BIN" rules test -r "$DEF" --json "$T/huge.log" 2>>"$ERR" |
    jq -r '[(.fields.TargetUserName | length), (.alerts | map(.id) | join(","))] | join(" ")')" \
    "16384 win.logon_failed_network"
printf '%s\n' '{"Event":{"System":{"EventID":4625,"Channel":"Security"},"EventData":{"a":1,}}}' \
    >"$T/badjson.log"
"$BIN" rules test -r "$DEF" --json "$T/badjson.log" >/dev/null 2>"$T/badjson.err"
check "malformed JSON is named with its line" \
    grep -q 'badjson.log:1: not JSON' "$T/badjson.err"

exit "$E2E_FAILED"
