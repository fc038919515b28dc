#!/bin/sh
# The tocsin demo: the server on its embedded default configuration, one
# enrolled agent shipping real sshd logs, the alerts they raise.
#
# Leaves its data in var/demo, so that afterwards
#   bin/tocsin alerts -D var/demo
#   bin/tocsin events -D var/demo --limit 20
#   bin/tocsin status -D var/demo
# work on what it did.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
B=bin
D=var/demo
LIMIT_S=50

corpus=../shared/corpus/rootly/openssh.log
if [ -r "$corpus" ]; then
	input=$corpus
	echo "demo: shipping the real production sshd log $corpus"
else
	input=tests/data/sshd_sample.log
	echo "demo: $corpus is absent; shipping the sample $input instead"
fi
n=$(wc -l <"$input" | tr -d ' ')

if [ -s "$D/run/tocsind.pid" ] && kill -0 "$(cat "$D/run/tocsind.pid")" 2>/dev/null; then
	echo "demo: a tocsind is already running on $D (pid $(cat "$D/run/tocsind.pid")); stop it first" >&2
	exit 1
fi
rm -rf "$D"
mkdir -p "$D/input"
: >"$D/input/auth.log"

server=""; agent=""
cleanup() {
	[ -n "$agent" ] && kill -TERM "$agent" 2>/dev/null
	[ -n "$server" ] && kill -TERM "$server" 2>/dev/null
	[ -n "$agent" ] && wait "$agent" 2>/dev/null
	[ -n "$server" ] && wait "$server" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "demo: starting tocsind (embedded default configuration, data in $D)"
$B/tocsind -f -D "$D" 2>"$D/tocsind.log" &
server=$!
i=0
until [ -s "$D/run/collector.pid" ] && [ -s "$D/run/engine.pid" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then
		echo "demo: tocsind did not start; its log:" >&2
		cat "$D/tocsind.log" >&2
		exit 1
	fi
	sleep 0.1
done

echo "demo: enrolling agent 'demo'"
$B/tocsin -D "$D" agents add demo -o "$D/agent-demo.yml" \
    --follow "$D/input/auth.log" --agent-data "$D/agent" >/dev/null || exit 1
$B/tocsin-agent -c "$D/agent-demo.yml" -f 2>"$D/agent.log" &
agent=$!
sleep 0.5

echo "demo: appending $n sshd lines to the followed file"
cat "$input" >>"$D/input/auth.log"

start=$(date +%s)
processed=0
while :; do
	processed=$($B/tocsin -D "$D" status --json 2>/dev/null |
	    sed -n 's/.*"processed": *\([0-9][0-9]*\).*/\1/p' | head -n 1)
	processed=${processed:-0}
	[ "$processed" -ge "$n" ] && break
	if [ $(( $(date +%s) - start )) -ge $LIMIT_S ]; then
		echo "demo: only $processed of $n events processed after ${LIMIT_S}s" >&2
		$B/tocsin -D "$D" status >&2
		exit 1
	fi
	sleep 0.2
done
secs=$(( $(date +%s) - start ))
echo "demo: $n events shipped, journaled and processed in about ${secs}s"
echo

$B/tocsin -D "$D" alerts --by-rule
echo
echo "demo: the 5 newest alerts:"
$B/tocsin -D "$D" alerts --limit 5
echo

kill -TERM "$agent"; wait "$agent" 2>/dev/null; agent=""
kill -TERM "$server"; wait "$server" 2>/dev/null; server=""
echo "demo: stopped. The data stays in $D: try"
echo "  bin/tocsin alerts -D $D --min-level 8"
echo "  bin/tocsin events -D $D --grep 'Accepted' --limit 10"
echo "  bin/tocsin status -D $D"
