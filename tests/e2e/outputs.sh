#!/usr/bin/env bash
# outputs.sh - the outputs of tocsind against real receivers on loopback:
# a JSON Lines file (rotated), the live feed (`tocsin alerts --follow`),
# forwarding as syslog over TCP (CEF, JSON) and UDP, and a webhook; an
# upstream that is down gets its backlog on return, nothing lost or twice.
set -u
. "$(dirname "$0")/lib.sh"

e2e_setup
R="$TOCSIN_TOOLS/receiver"
LIVE_PORT=$(free_port); CEF_PORT=$(free_port); JSON_PORT=$(free_port)
UDP_PORT=$(free_port); HTTP_PORT=$(free_port); INC_PORT=$(free_port)
OUT="$T/out"
mkdir -p "$OUT"
cat >>"$CFG" <<CFGEOF
incidents:
  min_level: 6
outputs:
  - name: file
    type: jsonl
    path: $OUT/alerts.jsonl
    max_size: 4k
    keep: 50
  - name: live
    type: live
    endpoint: tcp://127.0.0.1:$LIVE_PORT
  - name: soc-cef
    type: forward
    address: 127.0.0.1:$CEF_PORT
    protocol: tcp
    format: cef
    retry_max: 1s
  - name: soc-json
    type: forward
    address: 127.0.0.1:$JSON_PORT
    format: json
    retry_max: 1s
  - name: soc-udp
    type: forward
    address: 127.0.0.1:$UDP_PORT
    protocol: udp
    format: json
  - name: oncall
    type: webhook
    url: http://127.0.0.1:$HTTP_PORT/hook
    records: alerts
    min_level: 6
    timeout: 2s
    retry_max: 1s
  - name: pager
    type: webhook
    url: http://127.0.0.1:$INC_PORT/incident
    timeout: 2s
    retry_max: 1s
CFGEOF

start_receiver() {	# MODE PORT FILE
	rm -f "$T/ready.$2"
	"$R" "$1" -p "$2" -o "$3" -t 300 --ready "$T/ready.$2" \
	    >>"$T/receiver.log" 2>&1 &
	E2E_PIDS+=("$!")
	eval "RECV_$2=$!"
	wait_until 10 test -e "$T/ready.$2"
}
start_receiver tcp "$CEF_PORT" "$T/cef.txt"
start_receiver tcp "$JSON_PORT" "$T/json.txt"
start_receiver udp "$UDP_PORT" "$T/udp.txt"
start_receiver http "$HTTP_PORT" "$T/http.txt"
start_receiver http "$INC_PORT" "$T/incidents.txt"

check "tocsind starts with an outputs section" start_server
# tocsind runs the outputs process itself once it is wired in; until then
# the test runs it through outputs_driver.
outputs_up() {
	[ -s "$DATA/run/outputs.pid" ] &&
	    kill -0 "$(cat "$DATA/run/outputs.pid")" 2>/dev/null
}
if wait_until 10 outputs_up; then
	diag "tocsind runs the outputs process"
else
	"$TOCSIN_TOOLS/outputs_driver" -c "$CFG" >>"$T/outputs.log" 2>&1 &
	DRIVER_PID=$!
	E2E_PIDS+=("$DRIVER_PID")
	wait_until 20 test -s "$DATA/run/outputs.pid"
fi

tocsin alerts --follow --json >"$T/follow.jsonl" 2>>"$T/follow.log" &
FOLLOW_PID=$!
E2E_PIDS+=("$FOLLOW_PID")
tocsin alerts --follow --min-level 6 --count 5 >"$T/follow.txt" \
    2>>"$T/follow.log" &
FOLLOW_TABLE_PID=$!
E2E_PIDS+=("$FOLLOW_TABLE_PID")
# live_clients N: N connections to the live feed are established (the
# subscriptions follow at once; the first alert is far behind them).
live_clients() {
	[ "$(awk -v p="$(printf ':%04X' "$LIVE_PORT")" \
	    '$3 ~ p"$" && $4 == "01"' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    wc -l)" -ge "$1" ]
}
check "both followers connect to the live feed" wait_until 20 live_clients 2

# send N: N failed logins by syslog over TCP, alternating a plain user
# (level 5) and root (level 6).
SENT=0
send() {
	local i user
	{
		for i in $(seq 1 "$1"); do
			SENT=$((SENT + 1))
			user=alice; [ $((SENT % 2)) -eq 0 ] && user=root
			printf '<38>Nov 28 00:00:%02d web01 sshd[%d]: Failed password for %s from 10.9.0.%d port 22 ssh2\n' \
			    $((SENT % 60)) $((1000 + SENT)) "$user" $((SENT % 250))
		done
	} >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
}
alerts_stored() { tocsin alerts --json 2>/dev/null | wc -l; }
lines() { cat "$@" 2>/dev/null | wc -l; }
file_lines() { cat "$OUT"/alerts.jsonl* 2>/dev/null | grep -vc '"change":'; }
has_lines() { [ "$(lines "$2")" -ge "$1" ]; }
file_has() { [ "$(file_lines)" -ge "$1" ]; }

send 10
wait_until 30 test "$(alerts_stored)" -ge 10
is "the engine stored 10 alerts" "$(alerts_stored)" 10

check "jsonl file gets the alerts" wait_until 30 file_has 10
check "forward tcp/cef gets the alerts" wait_until 30 has_lines 10 "$T/cef.txt"
check "forward tcp/json gets the alerts" wait_until 30 has_lines 10 "$T/json.txt"
check "forward udp/json gets the alerts" wait_until 30 has_lines 10 "$T/udp.txt"
check "live feed subscriber gets the alerts" wait_until 30 has_lines 10 "$T/follow.jsonl"
check "webhook gets the alerts of level >= 6" wait_until 30 has_lines 5 "$T/http.txt"

is "follow prints the stored alerts" \
    "$(jq -r .id "$T/follow.jsonl" | sort -n | tr '\n' ' ')" \
    "$(seq 1 10 | tr '\n' ' ')"
check "follow --count 5 ends after 5 alerts" \
    wait_until 20 not_running "$FOLLOW_TABLE_PID"
is "follow as a table: a header and the 5 alerts of level >= 6" \
    "$(grep -c '^20[0-9-]*T[0-9:]*Z  *6  *sshd\.' "$T/follow.txt"),$(grep -c '^TIME ' "$T/follow.txt")" "5,1"
is "cef lines are RFC 5424 syslog with a CEF body" \
    "$(grep -c '^<1[0-9][0-9]>1 [0-9T:.Z-]* [^ ]* tocsin - alert - CEF:0|tocsin|tocsin|1|sshd\.' "$T/cef.txt")" 10
is "cef carries the source address" \
    "$(grep -c ' src=10\.9\.0\.' "$T/cef.txt")" 10
is "json forward bodies are the alerts" \
    "$(sed 's/^[^{]*//' "$T/json.txt" | jq -r .id | sort -n | tr '\n' ' ')" \
    "$(seq 1 10 | tr '\n' ' ')"
is "udp forward bodies are the alerts" \
    "$(sed 's/^[^{]*//' "$T/udp.txt" | jq -r .id | sort -n | tr '\n' ' ')" \
    "$(seq 1 10 | tr '\n' ' ')"
is "webhook POST bodies: one per alert of level >= 6" \
    "$(jq -r .level "$T/http.txt" | sort -u | tr '\n' ' ')" "6 "
is "webhook POSTs nothing twice" \
    "$(jq -r .id "$T/http.txt" | sort | uniq -d | wc -l)" 0

# --- incidents: one POST per incident opened ------------------------------
# The level-6 alerts (root) of host web01 open one incident and join it.
check "webhook gets the incident opened" \
    wait_until 30 has_lines 1 "$T/incidents.txt"
# out_done NAME N: output NAME moved past N records (delivered or filtered)
# and has nothing left to deliver (counters of the outputs process).
out_done() {
	local j
	j=$(status_json) || return 1
	jq -e --arg n "outputs.$1." --argjson want "$2" '
	    [.. | objects | to_entries[] | select(.key | startswith($n))] |
	    from_entries as $c |
	    ($c[$n + "delivered"] // 0) + ($c[$n + "filtered"] // 0) >= $want
	    and ($c[$n + "lag"] // 1) == 0' <<<"$j" >/dev/null 2>&1
}
# the 5 incident records so far: the opening and 4 alerts joining it
check "the pager output went through every incident record" \
    wait_until 30 out_done pager 5
is "webhook: exactly one POST, for the opening" \
    "$(jq -r .change "$T/incidents.txt" | tr '\n' ' ')" "opened "
is "the POST carries the incident" \
    "$(jq -r '.snapshot.severity' "$T/incidents.txt")" 6

# --- drill filters of tocsin alerts ------------------------------------------
is "alerts --no-drill keeps real alerts" \
    "$(tocsin alerts --json --no-drill | wc -l)" 10
is "alerts --drill NAME: none of that drill" \
    "$(tocsin alerts --json --drill nosuchdrill 2>/dev/null | wc -l)" 0
is "alerts --no-drill --limit counts after the filter" \
    "$(tocsin alerts --json --no-drill --limit 3 | wc -l)" 3

# --- the upstream goes away; alerts keep coming; it returns ---------------
kill -TERM "$(eval echo "\$RECV_$CEF_PORT")"
wait_until 10 not_running "$(eval echo "\$RECV_$CEF_PORT")"
send 20
check "jsonl keeps going while the upstream is down" wait_until 30 file_has 30
counter_at_least() { local v; v=$(counter "$1"); [ "${v:-0}" -ge "$2" ]; }
check "the forward output fails and backs off while the upstream is down" \
    wait_until 30 counter_at_least outputs.soc-cef.failed 2
is "the down upstream got nothing meanwhile" "$(lines "$T/cef.txt")" 10
start_receiver tcp "$CEF_PORT" "$T/cef.txt"
check "the backlog arrives when the upstream returns" \
    wait_until 30 has_lines 30 "$T/cef.txt"
check "the forward output has nothing left to deliver" \
    wait_until 30 out_done soc-cef 30
ids=$(grep -o 'externalId=[0-9]*' "$T/cef.txt" | cut -d= -f2 | sort -n)
is "forward: every alert exactly once" "$(echo "$ids" | tr '\n' ' ')" \
    "$(seq 1 30 | tr '\n' ' ')"
check "forward delivered in alert order" \
    test "$(grep -o 'externalId=[0-9]*' "$T/cef.txt" | cut -d= -f2 | tr '\n' ' ')" = \
    "$(seq 1 30 | tr '\n' ' ')"

# --- jsonl: rotation keeps every line once --------------------------------
check "jsonl rotated by size" test -e "$OUT/alerts.jsonl.1"
is "jsonl: every alert once across the rotated files" \
    "$(cat "$OUT"/alerts.jsonl* | jq -r 'select(has("change") | not) | .id' | sort -n |
    tr '\n' ' ')" "$(seq 1 30 | tr '\n' ' ')"
is "jsonl: the incident changes too (one opening, 14 joins)" \
    "$(cat "$OUT"/alerts.jsonl* | jq -r 'select(.change) | .change' |
    sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" "alert=14 opened=1 "
big=0
for f in "$OUT"/alerts.jsonl*; do
	[ "$(stat -c %s "$f")" -le 4096 ] || big=1
done
is "no rotated file passes max_size" "$big" 0

# --- counters ---------------------------------------------------------------
check "webhook posted the backlog's level-6 alerts too" \
    wait_until 30 has_lines 15 "$T/http.txt"
if [ -n "${DRIVER_PID:-}" ]; then
	kill -TERM "$DRIVER_PID"
	check "the outputs process stops on SIGTERM" \
	    wait_until 20 not_running "$DRIVER_PID"
	wait "$DRIVER_PID"; is "outputs exit status" "$?" 0
fi
is "still one incident POST after the backlog" \
    "$(jq -r .change "$T/incidents.txt" | tr '\n' ' ')" "opened "
exit "$E2E_FAILED"
