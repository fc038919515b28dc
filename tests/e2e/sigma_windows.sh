#!/usr/bin/env bash
# SigmaHQ's Windows regression cases (../shared/corpus/sigma-regression/:
# per case the rule, the real .evtx recorded in a lab, the same events as
# JSON, and info.yml with match_count).  Each case runs through `tocsin
# rules test -r rule.yml --json` on the .evtx (decoded through libevtx) and
# on the JSON (evtx-tool form), with only the rule and the built-in mapping
# loaded, and must fire as SigmaHQ's own regression runner requires: at
# least match_count times (more is accepted there with a warning, which is
# shown here as a diagnostic line), at least once when match_count is not
# given; and the .evtx and the JSON must fire the same number of times.
# TAP output.
#
# The corpus is not part of the repository: absent, the test skips.
source "$(dirname "$0")/lib.sh"

BIN="$TOCSIN_BIN/tocsin"
DIR="$CORPUS/sigma-regression"

e2e_setup
ERR="$T/err.log"	# *.log: sanitizer reports in it fail the run

if ! command -v jq >/dev/null 2>&1; then
	skip "sigma regression: jq is not installed"
	exit 0
fi
if [ ! -d "$DIR" ]; then
	skip "sigma regression: no corpus at $DIR"
	exit 0
fi

# fires RULE FILE: how many alerts the rule raises over every event of FILE
# (empty when the CLI failed).
fires() {
	local out
	out=$("$BIN" rules test -r "$1" --json "$2" 2>>"$ERR") || return 1
	printf '%s\n' "$out" | jq -s '[.[].alerts | length] | add // 0'
}

ncases=0
for case in "$DIR"/*/; do
	name=$(basename "$case")
	[ -f "$case/rule.yml" ] && [ -f "$case/info.yml" ] || continue
	want=$(sed -n 's/^ *match_count: *\([0-9][0-9]*\).*/\1/p' \
	    "$case/info.yml" | head -n 1)
	counts=""
	for form in evtx json; do
		f=$(ls "$case"/*."$form" 2>/dev/null | head -n 1)
		if [ -z "$f" ]; then
			not_ok "$name ($form): no .$form file"
			continue
		fi
		got=$(fires "$case/rule.yml" "$f") || got="(rules test failed)"
		counts="$counts $got"
		if [ "$got" -ge "${want:-1}" ] 2>/dev/null; then
			ok "$name ($form): fires $got time(s), want ${want:-1}+"
			[ "$got" -gt "${want:-1}" ] &&
			    diag "$name ($form): $got matching events, match_count ${want:-none}"
		else
			not_ok "$name ($form): fires ${want:-1}+ time(s)"
			diag "got: $got"
		fi
	done
	set -- $counts
	is "$name: the .evtx and the JSON fire alike" "${1:-}" "${2:-}"
	ncases=$((ncases + 1))
done
check "sigma regression: cases found" test "$ncases" -gt 0

# Coverage: SigmaHQ's Windows rules (../shared/corpus/sigmahq/rules/windows)
# load, at least 95% of them, and no field a loaded rule names is left
# without a decoder ("produced by no decoder" warnings).
SIGMAHQ="$CORPUS/sigmahq/rules/windows"
if [ -d "$SIGMAHQ" ]; then
	nfiles=$(find "$SIGMAHQ" -name '*.yml' | wc -l)
	"$BIN" rules lint "$SIGMAHQ" >"$T/lint.txt" 2>&1
	loaded=$(sed -n 's/^ok: \([0-9]*\) rules.*/\1/p' "$T/lint.txt" | tail -n 1)
	diag "SigmaHQ Windows rules: ${loaded:-0} of $nfiles files load"
	check "SigmaHQ Windows rules: at least 95% load" \
	    test "$(( ${loaded:-0} * 100 ))" -ge "$(( nfiles * 95 ))"
	check "SigmaHQ Windows rules: no field produced by no decoder" \
	    sh -c "! grep -q 'produced by no decoder' '$T/lint.txt'"
else
	skip "SigmaHQ Windows rules: no corpus at $SIGMAHQ"
fi

# A damaged file is read as far as it goes and says what it lost, where.
f=$(ls "$DIR"/*/*.evtx | head -n 1)
rule=$(dirname "$f")/rule.yml
head -c 20000 "$f" >"$T/cut.evtx"
"$BIN" rules test -r "$rule" --json "$T/cut.evtx" >"$T/cut.out" 2>"$T/cut.err"
is "truncated .evtx: exit status 2" "$?" 2
check "truncated .evtx: the offset where it ends is named" \
    grep -q "offset 20000: file truncated" "$T/cut.err"
# record --from-evtx: one event per record, at its TimeCreated, for its
# Computer (or --host, which rewrites Computer); a damaged file is refused
# with the offset it ends at.
"$BIN" record --from-evtx "$f" -o "$T/rec.jsonl" 2>>"$ERR"
is "record --from-evtx: exit status 0" "$?" 0
want=$("$BIN" rules test -r "$rule" --json "$f" 2>>"$ERR" | jq -s length)
is "record --from-evtx: one event per record" \
    "$(tail -n +2 "$T/rec.jsonl" | jq -s length)" "$want"
computer=$(tail -n 1 "$T/rec.jsonl" | jq -r .raw |
    sed -n 's/.*<Computer>\([^<]*\)<.*/\1/p')
is "record --from-evtx: the event's host is its Computer" \
    "$(tail -n 1 "$T/rec.jsonl" | jq -r .host)" "$computer"
"$BIN" record --from-evtx "$f" --host WS-TEST -o "$T/rec2.jsonl" 2>>"$ERR"
check "record --from-evtx --host: Computer rewritten" \
    grep -q '<Computer>WS-TEST</Computer>' "$T/rec2.jsonl"
"$BIN" record --from-evtx "$T/cut.evtx" -o "$T/rec3.jsonl" 2>"$T/rec3.err"
is "record --from-evtx, truncated file: exit status 2" "$?" 2
check "record --from-evtx, truncated file: nothing written" \
    test ! -e "$T/rec3.jsonl"
check "record --from-evtx, truncated file: the offset is named" \
    grep -q "offset 20000" "$T/rec3.err"

exit "$E2E_FAILED"
