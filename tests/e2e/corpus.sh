#!/usr/bin/env bash
# The whole default rule set over the real logs of the shared corpus
# (../shared/corpus/rootly/*.log): the alerts per rule, per file (alerts a
# rule raises itself, and correlation alerts over the file in order, on the
# records' own times), must be the counts kept in docs/detections.md, so that any change in detections
# (a rule loosened, tightened, added) shows up in review.  Runs through
# `tocsin rules test --json`, the engine's own evaluation path.  TAP output.
#
#   bash tests/e2e/corpus.sh            the check
#   bash tests/e2e/corpus.sh --print    print the table for docs/detections.md
#
# A corpus file that is absent is skipped with a message (the corpus is not
# part of the repository).
source "$(dirname "$0")/lib.sh"
export LC_ALL=C		# one sort order for the table everywhere

BIN="$TOCSIN_BIN/tocsin"
RULES="$TOCSIN_TOP/rules/default"
DOC="$TOCSIN_TOP/docs/detections.md"
DIR="$CORPUS/rootly"
BEGIN_MARK='<!-- corpus-counts:begin -->'
END_MARK='<!-- corpus-counts:end -->'

# counts FILE: the table rows for one corpus file, sorted:
#   | FILE | RULE_ID | LEVEL | ALERTS |
# plus a "(lines)" row with the number of lines read.  Status 1 if the CLI
# or jq failed.
counts() {
	local f=$1 name lines
	name=$(basename "$f")
	lines=$(wc -l <"$f" | tr -d ' ')
	set -o pipefail
	{
		printf '| %s | (lines) | | %s |\n' "$name" "$lines"
		"$BIN" rules test -r "$RULES" --json "$f" 2>>"$ERR" |
		    jq -r '(.alerts[] | select(.silenced | not) |
			"\(.id) \(.level)"),
			(.correlations[]? | "\(.id) \(.level)")' |
		    sort | uniq -c |
		    awk -v f="$name" '{ printf "| %s | %s | %s | %d |\n", f, $2, $3, $1 }'
	} || { set +o pipefail; return 1; }
	set +o pipefail
}

# doc_rows FILE: the rows of docs/detections.md for one corpus file.
doc_rows() {
	sed -n "/^$BEGIN_MARK\$/,/^$END_MARK\$/p" "$DOC" |
	    grep -F "| $1 |" || true
}

if [ "${1:-}" = "--print" ]; then
	ERR=/dev/stderr
	echo "$BEGIN_MARK"
	echo "| file | rule | level | alerts |"
	echo "|------|------|-------|--------|"
	for f in "$DIR"/*.log; do
		[ -f "$f" ] || continue
		counts "$f" || exit 1
	done
	echo "$END_MARK"
	exit 0
fi

e2e_setup
ERR="$T/err.log"	# *.log: sanitizer reports in it fail the run

if ! command -v jq >/dev/null 2>&1; then
	skip "corpus detections: jq is not installed"
	exit 0
fi
if [ ! -d "$DIR" ]; then
	skip "corpus detections: no corpus at $DIR"
	exit 0
fi
check "docs/detections.md has the corpus table" \
    grep -q -x -F "$BEGIN_MARK" "$DOC"

if "$BIN" rules lint "$RULES" >"$T/lint.txt" 2>&1; then
	ok "default rule set loads"
else
	not_ok "default rule set loads"
	sed 's/^/# /' "$T/lint.txt" | head -n 20
fi

nfiles=0
for name in $(sed -n "/^$BEGIN_MARK\$/,/^$END_MARK\$/p" "$DOC" |
    awk -F'|' 'NF > 4 && $2 ~ /\.log/ { gsub(/ /, "", $2); print $2 }' |
    sort -u); do
	if [ ! -f "$DIR/$name" ]; then
		skip "corpus $name: file absent from $DIR"
		continue
	fi
	nfiles=$((nfiles + 1))
	if ! counts "$DIR/$name" >"$T/got.txt"; then
		not_ok "corpus $name: rules test --json ran"
		sed 's/^/# /' "$ERR" | tail -n 10
		continue
	fi
	doc_rows "$name" >"$T/want.txt"
	if diff -u "$T/want.txt" "$T/got.txt" >"$T/diff.txt"; then
		ok "corpus $name: alerts per rule as in docs/detections.md"
	else
		not_ok "corpus $name: alerts per rule as in docs/detections.md"
		diag "diff (- docs/detections.md, + now); update the doc with"
		diag "bash tests/e2e/corpus.sh --print if the change is intended"
		sed 's/^/# /' "$T/diff.txt"
	fi
done
# a corpus file the document does not know yet
for f in "$DIR"/*.log; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	if [ -z "$(doc_rows "$name")" ]; then
		not_ok "corpus $name: counted in docs/detections.md"
		diag "new corpus file; add its rows (bash tests/e2e/corpus.sh --print)"
	fi
done
[ "$nfiles" -gt 0 ] || skip "corpus detections: no corpus file present"

exit "$E2E_FAILED"
