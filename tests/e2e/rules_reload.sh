#!/usr/bin/env bash
# tests/e2e/rules_reload.sh - one rule set, the same everywhere: a copy of
# rules/default with one rule id misspelt in a correlation rule is refused
# by `tocsin rules lint` and `tocsind -t` with the file, line and column of
# the misspelt id, and a running engine given it on SIGHUP keeps its old
# set (it still raises alerts and is not restarted); the corrected set then
# reloads.  TAP output.
. "$(dirname "$0")/lib.sh"

e2e_setup @RULES@
R="$T/rules"			# a copy of rules/default, removed with $T
mkdir "$R" && cp -R "$TOCSIN_TOP/rules/default/." "$R/" &&
    sed -i "s|@RULES@|$R|" "$CFG" || { not_ok "copy rules/default"; exit 1; }
CORR="$R/correlation.yml"

# send LINE...: newline-framed syslog over TCP, one connection.
send() { printf '%s\n' "$@" >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"; }
n_alerts() {	# RULE: alerts of RULE stored
	tocsin alerts --json 2>/dev/null |
	    jq -r --arg r "$1" 'select(.rule.id == $r) | .id' | wc -l
}
alerts_at_least() { [ "$(n_alerts "$1")" -ge "$2" ]; }
counter_at_least() { local v; v=$(counter "$1"); [ "${v:-0}" -ge "$2" ]; }
engine_pid() { cat "$DATA/run/engine.pid" 2>/dev/null; }
root_fail() {	# TIME IP
	echo "<38>2026-01-01T$1Z web01 sshd[101]: Failed password for root from $2 port 40022 ssh2"
}

# ---- the shipped set, running ---------------------------------------------------
start_server || { not_ok "server starts"; exit 1; }
ok "server starts with a copy of rules/default"
send "$(root_fail 10:00:00 198.51.100.1)"
check "an alert of the running set" wait_until 30 \
    alerts_at_least sshd.failed_password_root 1
EP=$(engine_pid)

# ---- one rule id misspelt in a correlation rule ----------------------------------
# The first rule id of corr.ssh_brute_force's list, as the file spells it.
start=$(grep -n 'id: corr.ssh_brute_force$' "$CORR" | cut -d: -f1)
line=$(awk -v s="$start" 'NR > s && /rules: \[sshd\.failed_password,/ { print NR; exit }' "$CORR")
if [ -n "$start" ] && [ -n "$line" ]; then
	ok "found corr.ssh_brute_force's rule list at line $line"
else
	not_ok "found corr.ssh_brute_force's rule list"; exit 1
fi
sed -i "${line}s/sshd\.failed_password,/sshd.failed_pasword,/" "$CORR"
col=$(sed -n "${line}p" "$CORR" | awk '{ print index($0, "sshd.failed_pasword") }')
where="$CORR:$line:$col:"

"$TOCSIN_BIN/tocsin" rules lint "$R" >"$T/lint.out" 2>&1
rc=$?
is "rules lint refuses the set (exit 1: a failed check)" "$rc" 1
if grep -qF "$where error: correlation 'corr.ssh_brute_force' counts rule 'sshd.failed_pasword'" "$T/lint.out"; then
	ok "rules lint names the misspelt id at $where"
else
	not_ok "rules lint names the misspelt id at $where"
	sed 's/^/# /' "$T/lint.out" | head -n 10
fi

"$TOCSIN_BIN/tocsind" -c "$CFG" -t >"$T/t.out" 2>&1
rc=$?
is "tocsind -t refuses the set (exit 1)" "$rc" 1
if grep -qF "$where error: correlation 'corr.ssh_brute_force' counts rule 'sshd.failed_pasword'" "$T/t.out"; then
	ok "tocsind -t names the misspelt id at $where, as lint does"
else
	not_ok "tocsind -t names the misspelt id at $where"
	sed 's/^/# /' "$T/t.out" | head -n 10
fi

"$TOCSIN_BIN/tocsin" -c "$CFG" rules check -r "$R" >"$T/check.out" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -qF "$where" "$T/check.out"; then
	ok "rules check refuses it too"
else
	not_ok "rules check refuses it too (exit $rc)"
	sed 's/^/# /' "$T/check.out" | head -n 10
fi

# ---- SIGHUP: the running engine keeps its set ---------------------------------------
kill -HUP "$SERVER_PID"
check "the engine refused the reload (engine.reload_failed)" wait_until 30 \
    counter_at_least engine.reload_failed 1
if grep -qF "$where" "$T/tocsind.log"; then
	ok "the engine logged the misspelt id at $where"
else
	not_ok "the engine logged the misspelt id at $where"
	tail -n 10 "$T/tocsind.log" | sed 's/^/# /'
fi
send "$(root_fail 10:01:00 198.51.100.2)"
check "the old set still raises alerts" wait_until 30 \
    alerts_at_least sshd.failed_password_root 2
is "the engine was not restarted (same pid)" "$(engine_pid)" "$EP"
is "the engine is running" "$(kill -0 "$EP" 2>/dev/null && echo yes)" yes
is "nothing was restarted" "$(grep -c 'restarting ' "$T/tocsind.log")" 0
is "no reload went through (engine.reloads)" "$(counter engine.reloads)" 0

# ---- the corrected set reloads ---------------------------------------------------------
sed -i "${line}s/sshd\.failed_pasword,/sshd.failed_password,/" "$CORR"
"$TOCSIN_BIN/tocsin" rules lint "$R" >"$T/lint2.out" 2>&1
is "rules lint accepts the corrected set" "$?" 0
kill -HUP "$SERVER_PID"
check "the corrected set reloads (engine.reloads)" wait_until 30 \
    counter_at_least engine.reloads 1
is "still the same engine" "$(engine_pid)" "$EP"

check "tocsind stops on SIGTERM" stop_server
