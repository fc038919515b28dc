#!/usr/bin/env bash
# tests/e2e/incidents.sh - correlation and incidents through the real
# daemons: recorded sequences sent as syslog over TCP (the host names in
# the syslog headers stand for several machines), benign noise between
# them, a kill -9 of the engine in the middle of a correlation window, and
# analysts' changes through the CLI seen at once in `incidents show`.
. "$(dirname "$0")/lib.sh"

e2e_setup
start_server || { not_ok "server starts"; exit 1; }
ok "server starts"

# send LINE...: newline-framed syslog over TCP, one connection.
send() {
	printf '%s\n' "$@" >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
}
# n_alerts RULE: alerts of RULE stored.
n_alerts() {
	tocsin alerts --json 2>/dev/null |
	    jq -r --arg r "$1" 'select(.rule.id == $r) | .id' | wc -l
}
alerts_at_least() { [ "$(n_alerts "$1")" -ge "$2" ]; }
n_all() { tocsin alerts --json 2>/dev/null | wc -l; }
all_at_least() { [ "$(n_all)" -ge "$1" ]; }
fail_line() {	# TIME HOST USER IP
	echo "<38>2026-01-01T$1Z $2 sshd[101]: Failed password for $3 from $4 port 40022 ssh2"
}

# ---- brute force, with a kill -9 of the engine in the middle ------------------
# Benign noise first: a key login, a single typo, an unrelated address.
send "<38>2026-01-01T09:59:00Z web01 sshd[100]: Accepted publickey for deploy from 10.0.0.5 port 50000 ssh2" \
    "$(fail_line 09:59:30 web01 alice 10.1.1.1)" \
    "$(fail_line 09:59:40 web01 root 192.0.2.50)" \
    "$(fail_line 09:59:41 web01 root 192.0.2.50)"
for s in 00 01 02 03; do send "$(fail_line 10:00:$s web01 root 203.0.113.5)"; done
check "first half of the brute force processed" wait_until 20 \
    alerts_at_least sshd.failed_password_root 6
old_engine=$(cat "$DATA/run/engine.pid")
kill -KILL "$old_engine"
check "the engine is restarted after kill -9" wait_until 30 sh -c \
    "p=\$(cat '$DATA/run/engine.pid' 2>/dev/null); [ -n \"\$p\" ] && [ \"\$p\" != '$old_engine' ] && kill -0 \"\$p\""
for s in 04 05 06; do send "$(fail_line 10:00:$s web01 root 203.0.113.5)"; done
check "seven failures processed" wait_until 30 \
    alerts_at_least sshd.failed_password_root 9
is "no brute force alert at 7 failures" "$(n_alerts corr.ssh_brute_force)" 0
send "$(fail_line 10:00:07 web01 root 203.0.113.5)"
check "brute force alert at the 8th failure" wait_until 20 \
    alerts_at_least corr.ssh_brute_force 1
send "<38>2026-01-01T10:01:00Z web01 sshd[102]: Accepted password for root from 203.0.113.5 port 40023 ssh2"
check "success after the brute force raises the sequence alert" \
    wait_until 20 alerts_at_least corr.ssh_brute_force_success 1
bf=$(tocsin alerts --json --rule corr.ssh_brute_force 2>/dev/null)
is "brute force alert: correlation type, count, window, group" \
    "$(echo "$bf" | jq -c '[.correlation.type, .correlation.count, .correlation.window, .correlation.group, (.correlation.alerts | length), .level, .time]')" \
    '["threshold",8,"2m",{"srcip":"203.0.113.5"},8,10,"2026-01-01T10:00:07.000Z"]'
is "brute force alert has detected and incident" \
    "$(echo "$bf" | jq -c '[(.detected | test("^20[0-9-]+T")), .incident]')" '[true,1]'

# ---- password spraying from another address (web02) -----------------------------
lines=()
for i in 0 1 2 3 4 5 6 7 8 9; do
	lines+=("<38>2026-01-01T11:0$((i / 6)):$((i % 6))0Z web02 sshd[200]: Failed password for invalid user user$i from 198.51.100.7 port 5000$i ssh2")
	[ "$i" = 4 ] && lines+=("<86>2026-01-01T11:00:45Z web02 CRON[300]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)")
done
send "${lines[@]}"
check "spraying alert at the 10th user" wait_until 20 \
    alerts_at_least corr.ssh_password_spraying 1
sp=$(tocsin alerts --json --rule corr.ssh_password_spraying 2>/dev/null)
is "spraying alert: distinct count and group" \
    "$(echo "$sp" | jq -c '[.correlation.type, .correlation.count, .correlation.group.srcip, .incident]')" \
    '["distinct",10,"198.51.100.7",2]'

# ---- outbreak: one signature on three hosts ------------------------------------
send "<38>2026-01-01T12:00:00Z ws1 clamd[9]: /tmp/a.exe: Win.Trojan.Agent-123 FOUND" \
    "<38>2026-01-01T12:05:00Z ws1 clamd[9]: /tmp/b.exe: Win.Trojan.Other-9 FOUND" \
    "<38>2026-01-01T12:10:00Z ws2 clamd[9]: /tmp/a.exe: Win.Trojan.Agent-123 FOUND"
check "two hosts processed" wait_until 20 alerts_at_least clamav.malware_found 3
is "no outbreak on two hosts" "$(n_alerts corr.malware_outbreak)" 0
send "<38>2026-01-01T12:20:00Z ws3 clamd[9]: /tmp/a.exe: Win.Trojan.Agent-123 FOUND"
check "outbreak alert on the third host" wait_until 20 \
    alerts_at_least corr.malware_outbreak 1
is "outbreak alert: distinct hosts of one signature" \
    "$(tocsin alerts --json --rule corr.malware_outbreak 2>/dev/null | jq -c '[.correlation.count, .correlation.group.signature, .level]')" \
    '[3,"Win.Trojan.Agent-123",13]'

# ---- the exact alerts --------------------------------------------------------------
check "every alert stored" wait_until 20 all_at_least 32
got=$(tocsin alerts --json 2>/dev/null | jq -r '.rule.id' | sort | uniq -c |
    awk '{print $2 "=" $1}' | tr '\n' ' ')
is "exact alerts by rule" "$got" \
    "clamav.malware_found=4 corr.malware_outbreak=1 corr.ssh_brute_force=2 corr.ssh_brute_force_success=1 corr.ssh_password_spraying=1 sshd.accepted_password_root=1 sshd.accepted_publickey=1 sshd.failed_password=1 sshd.failed_password_invalid_user=10 sshd.failed_password_root=10 "
is "brute force alerts: one per address" \
    "$(tocsin alerts --json --rule corr.ssh_brute_force 2>/dev/null | jq -r '.correlation.group.srcip' | sort | tr '\n' ' ')" \
    "198.51.100.7 203.0.113.5 "
is "engine counted the suppressed spraying failures" \
    "$(counter engine.correlation_suppressed)" 2

# ---- the exact incidents ---------------------------------------------------------
inc=$(tocsin incidents list --json 2>/dev/null | jq -c '[.id, .severity, .alert_count, .entities.host, .state]' | sort | tr '\n' ' ')
is "exact incidents" "$inc" \
    '[1,13,3,["web01"],"open"] [2,10,2,["web02"],"open"] [3,10,2,["ws1"],"open"] [4,10,1,["ws2"],"open"] [5,13,2,["ws3"],"open"] '

# ---- analysts at work ---------------------------------------------------------------
out=$(tocsin incidents ack 1 --note "looking at it" --by alice 2>&1)
is "ack answered by the engine" "$out" "incident 1: acknowledged, assignee -"
out=$(tocsin incidents assign 1 bob --by alice 2>&1)
is "assign answered" "$out" "incident 1: acknowledged, assignee bob"
tocsin incidents note 1 "root password changed" --by bob >/dev/null 2>&1
out=$(tocsin incidents resolve 1 --note "address blocked" --by bob 2>&1)
is "resolve answered" "$out" "incident 1: resolved, assignee bob"
show=$(tocsin incidents show 1 2>&1)
check "show: state resolved" grep -q '^state        resolved$' <<<"$show"
check "show: assignee bob" grep -q '^assignee     bob$' <<<"$show"
is "show: timeline of alerts and notes" \
    "$(grep -c -E '^  2026-.*  (alert [0-9]+ level|note by (alice|bob): )' <<<"$show")" 6
check "show: alice's note" grep -q 'note by alice: looking at it' <<<"$show"
out=$(tocsin incidents ack 1 2>&1); rc=$?
is "ack of a resolved incident refused" "$rc" 1
out=$(tocsin incidents reopen 1 --by carol 2>&1)
is "reopen" "$out" "incident 1: open, assignee bob"
is "incident changes logged in order" \
    "$(tocsin incidents list --json --state open 2>/dev/null | jq -r 'select(.id == 1) | .notes | map(.by) | join(",")')" \
    "alice,bob,bob"
is "active incidents listed" \
    "$(tocsin incidents list --json --state active --min-severity 13 2>/dev/null | jq -r .id | sort | tr '\n' ' ')" "1 5 "

# ---- the engine down: the change waits ----------------------------------------------
stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"
out=$(tocsin incidents ack 2 --by dave 2>&1)
check "ack with the engine down is queued" grep -q '^queued; the engine is not running' <<<"$out"
start_server || not_ok "server restarts"
check "queued ack applied after the restart" wait_until 20 sh -c \
    "'$TOCSIN_BIN/tocsin' -c '$CFG' incidents show 2 | grep -q '^state        acknowledged$'"
stop_server && ok "server stops cleanly again" || not_ok "server stops cleanly again"
check "no sanitizer reports" sanitizer_clean
exit $((E2E_FAILED > 0))
