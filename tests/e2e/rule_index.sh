#!/usr/bin/env bash
# The rule index and the prefilter lose no match: the same events through
# `tocsin rules test --json` with every loadable SigmaHQ rule beside
# rules/default, once as the engine runs them (index and prefilter on) and
# once by brute force (TOCSIN_RULES_INDEX=0 TOCSIN_RULES_PREFILTER=0: every
# decoder and every rule of the route tried on every event), give the same
# output line for line: decoder, fields, matched rules and alerts, in the
# same order.  Events: every record of the Sigma regression corpus (.evtx
# through libevtx, and the same events as evtx-tool JSON), the real sshd
# log of the corpus and the repository's sample.  TAP output.
#
# The corpus is not part of the repository: absent, the test skips.
source "$(dirname "$0")/lib.sh"

BIN="$TOCSIN_BIN/tocsin"
SIGMAHQ="$CORPUS/sigmahq/rules"
REG="$CORPUS/sigma-regression"
SSHD="$CORPUS/rootly/openssh.log"

e2e_setup
ERR="$T/err.log"	# *.log: sanitizer reports in it fail the run

if ! command -v jq >/dev/null 2>&1; then
	skip "rule index: jq is not installed"
	exit 0
fi
if [ ! -d "$SIGMAHQ" ] || [ ! -d "$REG" ]; then
	skip "rule index: no SigmaHQ corpus at $SIGMAHQ / $REG"
	exit 0
fi

# same NAME FILE...: run FILE... both ways; the outputs must be identical
# and raise at least one alert (else the comparison proves nothing).
same() {
	local name=$1; shift
	"$BIN" rules test -r "$TOCSIN_TOP/rules/default" -r "$SIGMAHQ" \
	    --json "$@" >"$T/on.json" 2>>"$ERR"
	is "$name: rules test exit status, index on" "$?" 0
	TOCSIN_RULES_INDEX=0 TOCSIN_RULES_PREFILTER=0 \
	    "$BIN" rules test -r "$TOCSIN_TOP/rules/default" -r "$SIGMAHQ" \
	    --json "$@" >"$T/off.json" 2>>"$ERR"
	is "$name: rules test exit status, brute force" "$?" 0
	local n a
	n=$(wc -l <"$T/on.json" | tr -d ' ')
	a=$(jq -s '[.[].alerts | length] | add // 0' "$T/on.json")
	diag "$name: $n events, $a alerts"
	check "$name: events were evaluated" test "$n" -gt 0
	check "$name: alerts were raised" test "$a" -gt 0
	if cmp -s "$T/on.json" "$T/off.json"; then
		ok "$name: identical decoders, fields, matches and alerts"
	else
		not_ok "$name: identical decoders, fields, matches and alerts"
		diff "$T/on.json" "$T/off.json" | head -n 6 |
		    while IFS= read -r l; do diag "${l:0:300}"; done
	fi
}

same "Windows regression events (.evtx)" "$REG"/*/*.evtx
same "Windows regression events (JSON)" "$REG"/*/*.json
if [ -r "$SSHD" ]; then
	head -n 3000 "$SSHD" >"$T/sshd.log"
	same "sshd log" "$T/sshd.log" "$TOCSIN_TOP/tests/data/sshd_sample.log"
else
	skip "rule index: no sshd log at $SSHD"
fi

exit "$E2E_FAILED"
