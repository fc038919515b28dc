#!/bin/bash
# agent_journal.sh - the agent reads the systemd journal (sd_journal) with
# its cursor kept in the spool like a file offset: only the units asked
# for, lines the rules read like syslog lines, entries appended while it
# runs, and across a restart nothing read twice and nothing skipped.
#
# The journal files are written by systemd-journal-remote from the journal
# export format, into a folder the agent reads (journal.directory), so the
# test needs no running journald.
source "$(dirname "$0")/lib.sh"
JREMOTE=/lib/systemd/systemd-journal-remote
if ! [ -x "$JREMOTE" ]; then
	skip "journal source: $JREMOTE missing (apt-get install systemd-journal-remote)"
	exit 0
fi
e2e_setup
start_server || { not_ok "server starts"; exit 1; }

J="$T/journal"
mkdir -p "$J"
BOOT=0123456789abcdef0123456789abcdef
mark="jr$$x$RANDOM"
seq_no=0
# jwrite UNIT IDENT MESSAGE...: one entry per message, appended to the file
jwrite() {
	local unit=$1 ident=$2 m; shift 2
	for m in "$@"; do
		seq_no=$((seq_no + 1))
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n_BOOT_ID=%s\n_HOSTNAME=jhost\n_SYSTEMD_UNIT=%s\nSYSLOG_IDENTIFIER=%s\n_PID=%s\nMESSAGE=%s\n\n' \
		    "$(date +%s%6N)" "$seq_no" "$BOOT" "$unit" "$ident" \
		    "$((100 + seq_no))" "$m"
	done | "$JREMOTE" -o "$J/remote.journal" - >>"$T/jremote.log" 2>&1
}

jwrite ssh.service sshd \
    "Failed password for root from 192.0.2.51 port 40001 ssh2 $mark-1" \
    "Failed password for root from 192.0.2.51 port 40002 ssh2 $mark-2"
jwrite cron.service CRON "(root) CMD (true) $mark-cron"

tocsin agents add jr -o "$T/jr.yml" --agent-data "$T/agent-jr" \
    --follow "$T/none.log" >/dev/null
sed -i 's/^from_start: false/from_start: true/' "$T/jr.yml"
printf 'journal:\n  directory: %s\n  units: [ssh.service]\n' "$J" >>"$T/jr.yml"

nmark() { tocsin events --grep "$mark" --json 2>/dev/null | grep -c "$mark"; }
has_n() { [ "$(nmark)" = "$1" ]; }

start_agent jr
check "the journal's ssh.service entries are shipped" wait_until 30 has_n 2
is "cron.service is not (journal.units)" \
    "$(tocsin events --grep "$mark-cron" 2>/dev/null | grep -c "$mark")" 0
ev=$(tocsin events --grep "$mark-1" --json 2>/dev/null | head -n 1)
case "$(jq -r .message <<<"$ev")" in
*" jhost sshd[101]: Failed password for root from 192.0.2.51"*)
	ok "an entry becomes a syslog line: TIME HOST IDENT[PID]: MESSAGE" ;;
*) not_ok "an entry becomes a syslog line"; diag "$ev" ;;
esac
is "its file is \"journal\"" "$(jq -r .file <<<"$ev")" journal
alerted() {
	tocsin alerts --host jhost --json 2>/dev/null |
	    grep -q '"sshd.failed_password'
}
check "the rules read journal lines like syslog lines (alert on the entry's host)" \
    wait_until 30 alerted

jwrite ssh.service sshd "Failed password for root from 192.0.2.51 port 40003 ssh2 $mark-3"
check "an entry appended while the agent runs is shipped" wait_until 30 has_n 3

stop_agent
jwrite ssh.service sshd \
    "Failed password for root from 192.0.2.51 port 40004 ssh2 $mark-4" \
    "Failed password for root from 192.0.2.51 port 40005 ssh2 $mark-5"
start_agent jr
check "after a restart the agent goes on after its cursor" wait_until 30 has_n 5
sleep 1	# anything read twice would have arrived by now
is "nothing read twice across the restart" "$(nmark)" 5
for i in 1 2 3 4 5; do
	n=$(tocsin events --grep "$mark-$i\$" 2>/dev/null | grep -c "$mark")
	[ "$n" = 1 ] || { not_ok "entry $i journaled once"; diag "count $n"; }
done
stop_agent
grep -q 'journal_entries=' "$T/agent-jr.log" &&
    ok "the agent counts journal entries" ||
    not_ok "the agent counts journal entries"

# a bad journal section is refused with file:line:col
cp "$T/jr.yml" "$T/bad.yml"
printf '  units: ["a=b"]\n' >>"$T/bad.yml"
sed -i '/^  units: \[ssh.service\]$/d' "$T/bad.yml"
out=$("$TOCSIN_BIN/tocsin-agent" -c "$T/bad.yml" -f 2>&1)
rc=$?
case "$rc:$out" in
2:*"$T/bad.yml:"*"unit names"*) ok "a bad journal.units is refused with file:line" ;;
*) not_ok "a bad journal.units is refused with file:line"; diag "rc=$rc $out" ;;
esac
stop_server
