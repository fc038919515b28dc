#!/bin/sh
# The include graph, checked from the sources (TAP lines; exit 1 on any
# failure):
#
# 1. No include runs from a lower layer up to a higher one.  Layers, bottom
#    up: common/ <- rules/ <- collector/ engine/ outputs/ api/ agents/ <-
#    tocsind/ cli/ (DESIGN.md).  Every `#include "DIR/..."` of a file under
#    one of these folders must name a DIR of its own layer or a lower one.
# 2. No circle inside rules/ (rules/sigma/ included): file A depends on
#    file B when A calls a function that B defines (not static), through a
#    header A includes.  Those dependencies must form no cycle, so that each
#    file can be read knowing only the ones below it.  Headers including
#    each other in a circle fail too.
# 3. A component's private header (DIR/*_int.h) is included only inside
#    DIR (and by the tests): reaching into another component's internals
#    must go through its public header.
#
#   sh tests/include_graph.sh [TOP]    TOP: the source tree (default: ..)
set -u
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 2
failed=0
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

layer_of() {
	case "$1" in
	common) echo 0 ;;
	rules) echo 1 ;;
	collector|engine|outputs|api|agents) echo 2 ;;
	tocsind|cli) echo 3 ;;
	*) echo "" ;;
	esac
}

# ---- 1: includes across folders ----------------------------------
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
find common rules collector engine outputs api agents tocsind cli \
    \( -name '*.c' -o -name '*.h' \) -type f 2>/dev/null | sort >"$tmp/files"
nfiles=$(wc -l <"$tmp/files")
: >"$tmp/up"
while IFS= read -r f; do
	from=${f%%/*}
	lf=$(layer_of "$from")
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]*/' "$f" |
	    sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1 \2/' |
	while read -r line inc; do
		to=${inc%%/*}
		lt=$(layer_of "$to")
		[ -n "$lt" ] || continue
		if [ "$lt" -gt "$lf" ]; then
			echo "$f:$line: includes $inc (layer $lf includes" \
			    "layer $lt)" >>"$tmp/up"
		fi
	done
done <"$tmp/files"
if [ "$nfiles" -lt 10 ]; then
	not_ok "found only $nfiles source files under $top"
elif [ -s "$tmp/up" ]; then
	not_ok "no include runs from a lower layer up ($(wc -l <"$tmp/up")" \
	    "do)"
	sed 's/^/# /' "$tmp/up"
else
	ok "no include runs from a lower layer up ($nfiles files)"
fi

# ---- 2: circles inside rules/ ---------------------------------------------
find rules -name '*.c' -type f | sort >"$tmp/rules_c"
find rules -name '*.h' -type f | sort >"$tmp/rules_h"
# Function definitions in house style: the name at column 0 followed by
# '(', its return type on the line before ("static ..." for a file's own).
# Edges "A B": A calls a function B defines.  Comments and strings are
# blanked first so that a word in them is no call.
# shellcheck disable=SC2046
awk '
function strip(s,   out, i, c, n) {
	out = ""; n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		if (incomment) {
			if (c == "*" && substr(s, i + 1, 1) == "/") {
				incomment = 0; i++
			}
			continue
		}
		if (instr != "") {
			if (c == "\\") { i++; continue }
			if (c == instr) instr = ""
			continue
		}
		if (c == "/" && substr(s, i + 1, 1) == "*") {
			incomment = 1; i++; continue
		}
		if (c == "/" && substr(s, i + 1, 1) == "/") break
		if (c == "\"" || c == "\047") { instr = c; out = out " "; continue }
		out = out c
	}
	return out
}
FNR == 1 { incomment = 0; instr = ""; prev = "" ; nf++; file[nf] = FILENAME }
{
	line = strip($0)
	text[FILENAME] = text[FILENAME] "\n" line
	if (match(line, /^[a-z_][a-z0-9_]*\(/) && prev !~ /^static/ &&
	    prev !~ /^[ \t]*$/ && prev !~ /[;,]$/)
		def[substr(line, 1, RLENGTH - 1)] = FILENAME
	prev = line
}
END {
	for (k = 1; k <= nf; k++) {
		f = file[k]; s = text[f]
		while (match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
			w = substr(s, RSTART, RLENGTH - 1)
			sub(/[ \t]*$/, "", w)
			s = substr(s, RSTART + RLENGTH)
			if ((w in def) && def[w] != f && !((f, def[w]) in seen)) {
				seen[f, def[w]] = 1
				print f, def[w], w
			}
		}
	}
}' $(cat "$tmp/rules_c") >"$tmp/edges"
# Header includes inside rules/: "A.h B.h".
while IFS= read -r h; do
	grep '^[[:space:]]*#[[:space:]]*include[[:space:]]*"rules/' "$h" |
	    sed 's/.*"\([^"]*\)".*/\1/' | while read -r inc; do
		echo "$h $inc include"
	done
done <"$tmp/rules_h" >>"$tmp/edges"
nedges=$(wc -l <"$tmp/edges")
# Cycle search: repeatedly drop nodes with no outgoing edge; what remains
# lies on (or leads only into) a cycle.  Print the remaining edges.
awk '
{ from[NR] = $1; to[NR] = $2; via[NR] = $3; n = NR; out[$1]++ }
END {
	do {
		changed = 0
		for (i = 1; i <= n; i++)
			if (!(i in gone) && !(to[i] in out)) {
				gone[i] = 1
				if (--out[from[i]] == 0) delete out[from[i]]
				changed = 1
			}
	} while (changed)
	for (i = 1; i <= n; i++)
		if (!(i in gone))
			print from[i] " -> " to[i] " (" via[i] ")"
}' "$tmp/edges" >"$tmp/cycle"
if [ "$nedges" -lt 5 ]; then
	not_ok "rules/: found only $nedges dependencies between files"
elif [ -s "$tmp/cycle" ]; then
	not_ok "no circle of dependencies inside rules/"
	sed 's/^/# /' "$tmp/cycle"
else
	ok "no circle of dependencies inside rules/ ($(wc -l \
	    <"$tmp/rules_c") files, $nedges dependencies)"
fi
# ---- 3: private headers stay inside their component -----------------------
: >"$tmp/priv"
while IFS= read -r f; do
	from=${f%/*}
	grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_/]*_int\.h"' \
	    "$f" | sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1 \2/' |
	while read -r line inc; do
		owner=${inc%/*}
		case "$from/" in
		"$owner"/*) ;;
		*) echo "$f:$line: includes $inc, private to $owner/" \
		    >>"$tmp/priv" ;;
		esac
	done
done <"$tmp/files"
if [ -s "$tmp/priv" ]; then
	not_ok "no component includes another's private header"
	sed 's/^/# /' "$tmp/priv"
else
	ok "no component includes another's private header"
fi
[ "$failed" = 0 ]
