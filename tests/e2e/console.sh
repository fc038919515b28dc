#!/usr/bin/env bash
# tests/e2e/console.sh - the web console in a real browser: the daemons on
# loopback with the API, the demo's data (an enrolled agent shipping real
# sshd logs), and headless Chromium driven by tests/browser/console.py
# (Debian chromium, chromium-driver, python3-selenium; nothing downloaded).
# Logs in, reads the overview, filters alerts, acknowledges an incident
# with a Vietnamese note (the browser in vi-VN), checks the change with the
# CLI, runs a drill and reads its scorecard.  Screenshots: build/console/
# (`make console-shots` copies them to docs/console/).
source "$(dirname "$0")/lib.sh"

if ! [ -f "$TOCSIN_TOP/api/embed_web.sh" ]; then
	skip "browser tests: this tree has no API process (api/) to serve" \
	    "the console"
	exit 0
fi
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ] ||
    ! /usr/bin/python3 -c 'import selenium' 2>/dev/null; then
	skip "browser tests: chromium, chromium-driver or python3-selenium" \
	    "is not installed (make deps installs them)"
	exit 0
fi

e2e_setup
API_PORT=$(free_port)
{
	echo "api:"
	echo "  listen: 127.0.0.1:$API_PORT"
} >>"$CFG"
SHOTS=${CONSOLE_SHOTS:-$TOCSIN_TOP/build/console}
mkdir -p "$SHOTS"
rm -f "$SHOTS"/0*.png "$SHOTS/result.json"	# only this run's
api_listening() { tcp_listening "$API_PORT"; }
check "tocsind starts" start_server
check "the api listens" wait_until 30 api_listening

# --- the demo's data: real sshd logs through an enrolled agent ----------------
corpus=$TOCSIN_TOP/../shared/corpus/rootly/openssh.log
if [ -r "$corpus" ]; then
	head -n 4000 "$corpus" >"$T/input.log"
	diag "shipping the first 4000 lines of the real sshd log $corpus"
else
	cp "$TOCSIN_TOP/tests/data/sshd_sample.log" "$T/input.log"
	diag "$corpus is absent: shipping the sample sshd log"
fi
n=$(wc -l <"$T/input.log")
: >"$T/auth.log"
enroll demo --follow "$T/auth.log" >/dev/null
start_agent demo
check "the demo agent follows its file" wait_until 30 agent_following demo
cat "$T/input.log" >>"$T/auth.log"
journaled_ge() { [ "$(journaled)" -ge "$1" ]; }
check "the demo's $n lines are journaled" wait_until 120 journaled_ge "$n"
check "the engine has processed them" wait_until 120 engine_caught_up "$(journaled)"
nalerts=$(tocsin alerts --json | wc -l)
check "the demo raised alerts ($nalerts)" test "$nalerts" -gt 0
ninc=$(tocsin incidents --json | jq -r 'select(.state == "open") | .id' | wc -l)
check "the demo opened incidents ($ninc)" test "$ninc" -gt 0

TOKEN=$(tocsin api token create --name alice --role analyst 2>/dev/null |
    awk '/^token:/ { print $2 }')
check "an analyst token for alice" test -n "$TOKEN"

# --- the browser ---------------------------------------------------------------
/usr/bin/python3 "$TOCSIN_TOP/tests/browser/console.py" \
    "http://127.0.0.1:$API_PORT" "$TOKEN" "$SHOTS" 2>"$T/browser.err" |
    grep -v '^1\.\.'
check "the browser script ran without a Python error" \
    test ! -s "$T/browser.err" -o -z "$(grep -v '^$' "$T/browser.err" | grep -vi 'DevTools\|^$')"
sed 's/^/# browser: /' "$T/browser.err" | head -20
R="$SHOTS/result.json"

# --- what the console did, seen by the CLI ----------------------------------------------
inc=$(jq -r '.incident // empty' "$R")
check "the console acknowledged an incident (#$inc)" test -n "$inc"
if [ -n "$inc" ]; then
	tocsin incidents show "$inc" >"$T/show.txt" 2>&1
	is "tocsin incidents show: the incident is acknowledged" \
	    "$(tocsin incidents show "$inc" --json | jq -r .state)" acknowledged
	check "tocsin incidents show: the acknowledgement is signed alice" \
	    grep -Eq 'acknowledged.*alice|alice.*acknowledged' "$T/show.txt"
	check "tocsin incidents show: the Vietnamese note, byte for byte" \
	    grep -qF "$(jq -r .note "$R")" "$T/show.txt"
	is "the assignee with Vietnamese letters, as typed" \
	    "$(tocsin incidents show "$inc" --json | jq -r .assignee)" \
	    "$(jq -r .assignee "$R")"
	grep -E 'acknowledged|alice|note' "$T/show.txt" | head -5 | sed 's/^/# /'
fi
drill=$(jq -r '.drill // empty' "$R")
check "the console ran a drill ($drill)" test -n "$drill" ||
    for f in "$DATA"/run/drill-*.log; do
	[ -f "$f" ] && sed "s|^|# $(basename "$f"): |" "$f" | tail -n 30
    done
if [ -n "$drill" ]; then
	is "tocsin drill report: the same drill, the same result" \
	    "$(tocsin drill report "$drill" --json | jq -r 'if .passed then "PASSED" else "FAILED" end')" \
	    "$(jq -r .drill_result "$R")"
fi
for s in 01-login 02-overview 03-alerts-filtered 04-incident-board \
    05-incident-acknowledged 06-agents 07-drill-scorecard; do
	check "screenshot $s.png saved" test -s "$SHOTS/$s.png"
done

check "tocsind stops cleanly" stop_server
