#!/usr/bin/env bash
# docs_rules.sh - every rule id of rules/default/*.yml is listed in
# docs/detections.md (sshd.yml's in docs/rules.md, to which the page
# points), as `ID`, or in a row `BASE_ok` / `_refused` for BASE_refused.
# A rule added without its line in the documentation fails here.  TAP.
source "$(dirname "$0")/lib.sh"

DOC="$TOCSIN_TOP/docs/detections.md"
RDOC="$TOCSIN_TOP/docs/rules.md"
n=0; missing=0
for f in "$TOCSIN_TOP"/rules/default/*.yml; do
	while IFS= read -r id; do
		n=$((n + 1))
		if grep -qF "\`$id\`" "$DOC"; then continue; fi
		case $id in
		*_refused) grep -qF "\`${id%_refused}_ok\` / \`_refused\`" "$DOC" && continue ;;
		esac
		case $(basename "$f") in
		sshd.yml) grep -qF "\`$id\`" "$RDOC" && continue ;;
		esac
		not_ok "rule $id ($(basename "$f")) is in docs/detections.md"
		missing=$((missing + 1))
	done < <(sed -n 's/^[[:space:]]*-[[:space:]]*id:[[:space:]]*\([A-Za-z0-9_.-]*\).*/\1/p' "$f")
done
check "rule ids read from rules/default/*.yml ($n)" test "$n" -gt 200
[ "$missing" = 0 ] && ok "all $n rule ids of rules/default are documented"
exit $((E2E_FAILED > 0))
