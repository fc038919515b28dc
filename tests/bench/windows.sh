#!/bin/sh
# Windows benchmark: Windows events per second through decode and rules on
# one core (BENCH windows_eps), with every SigmaHQ Windows rule of
# ../shared/corpus/sigmahq/rules/windows loaded beside rules/default, on the
# real events of the Sigma regression corpus (every record of every .evtx,
# as the one-line Event XML the agent ships) replayed in a loop; the same
# events with rules/default alone (BENCH windows_base_eps); and, in the
# same run, windows_eps the way it was before the rule index and the XML
# fast path (BENCH windows_eps_before: TOCSIN_RULES_INDEX=0
# TOCSIN_XML_FASTPATH=0, every Windows rule tried on every event, expat on
# every event; on a tenth of the events, as it is slow).  Release build
# (`make bench`); TOOLS overrides the tools folder.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=${TOCSIN_BENCH_BIN:-bin}
TOOLS=${TOOLS:-build/release/tools}
ROUNDS=${BENCH_ROUNDS:-5}
LOOPS=${BENCH_WINDOWS_LOOPS:-100}
sigma=../shared/corpus/sigmahq/rules/windows
events=../shared/corpus/sigma-regression

if [ ! -d "$sigma" ] || [ ! -d "$events" ]; then
	echo "# windows bench: $sigma or $events is absent; skipped"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tocsin-bench-win.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# the events as the engine gets them: one Event XML per line
for f in "$events"/*/*.evtx; do
	$B/tocsin record --from-evtx "$f" 2>/dev/null | tail -n +2
done | jq -r .raw >"$tmp/once.xml" || exit 1
n=$(wc -l <"$tmp/once.xml" | tr -d ' ')
i=0; while [ $i -lt "$LOOPS" ]; do cat "$tmp/once.xml"; i=$((i + 1)); done \
    >"$tmp/events.xml"
echo "# windows: $(find "$sigma" -name '*.yml' | wc -l | tr -d ' ') SigmaHQ Windows rules + rules/default; $n real events from $(ls "$events"/*/*.evtx | wc -l | tr -d ' ') .evtx files, $LOOPS times"
$TOOLS/bench_engine -r rules/default -n "$ROUNDS" -N windows_base_eps "$tmp/events.xml"
$TOOLS/bench_engine -r rules/default -r "$sigma" -n "$ROUNDS" -N windows_eps "$tmp/events.xml"
i=0; while [ $i -lt $(( (LOOPS + 9) / 10 )) ]; do cat "$tmp/once.xml"; i=$((i + 1)); done \
    >"$tmp/before.xml"
TOCSIN_RULES_INDEX=0 TOCSIN_XML_FASTPATH=0 $TOOLS/bench_engine -r rules/default \
    -r "$sigma" -n "$ROUNDS" -N windows_eps_before "$tmp/before.xml"
