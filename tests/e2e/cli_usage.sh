#!/usr/bin/env bash
# The tocsin CLI without a daemon: help texts, usage errors (exit 2 with a
# message naming the option and the value), a missing data directory,
# enrollment (agents add / remove / list) and queries on a fresh data
# directory.  TAP output.
source "$(dirname "$0")/lib.sh"
e2e_setup

BIN="$TOCSIN_BIN/tocsin"
OUT="$T/out.txt"
ERR="$T/err.log"		# *.log: sanitizer reports in it fail the run

# run ARGS...: run tocsin with the test configuration, stdout to $OUT,
# stderr to $ERR; sets RC.
run() {
	"$BIN" -c "$CFG" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}
# expect DESC WANT_RC [GREP_ERR] -- ARGS...: run, check the exit status and
# (when given) that stderr matches GREP_ERR.
expect() {
	local desc=$1 want=$2 pat=$3
	shift 3
	[ "$1" = "--" ] && shift
	run "$@"
	if [ "$RC" != "$want" ]; then
		not_ok "$desc (exit $RC, want $want)"
		sed 's/^/# /' "$ERR" | head -n 5
		return
	fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$ERR"; then
		not_ok "$desc (stderr lacks '$pat')"
		sed 's/^/# /' "$ERR" | head -n 5
		return
	fi
	ok "$desc"
}

# ---- help and version ------------------------------------------------------
run --help
check "--help exits 0" test "$RC" = 0
for c in alerts events agents status; do
	check "--help lists $c" grep -q "^  $c " "$OUT"
done
run --version
check "--version prints the version" grep -q '^tocsin [0-9]' "$OUT"
for c in alerts events agents status help; do
	run "$c" --help
	check "$c --help exits 0 with its usage" \
	    bash -c '[ "$1" = 0 ] && grep -q "^usage: tocsin $2" "$3"' _ "$RC" "$c" "$OUT"
done
for c in alerts events agents status; do
	run "$c" --help
	check "$c --help has examples" grep -q '^Examples:' "$OUT"
done
run help events
check "help CMD shows the command's usage" grep -q '^usage: tocsin events' "$OUT"
run agents add --help
check "agents add --help exits 0" test "$RC" = 0

# ---- usage errors ----------------------------------------------------------
expect "no command: exit 2" 2 "usage:" --
expect "unknown command: exit 2" 2 "unknown command 'frobnicate'" -- frobnicate
expect "unknown global option: exit 2" 2 "unknown option '--frob'" -- --frob alerts
expect "unknown command option: exit 2" 2 "unknown option '--frob'" -- alerts --frob
expect "option without its value: exit 2" 2 "needs a value" -- alerts --limit
expect "bad --since: exit 2 naming it" 2 "invalid --since 'yesterday'" -- \
    alerts --since yesterday
expect "bad --until time: exit 2" 2 "invalid --until" -- \
    events --until 2026-13-45T99:00:00Z
expect "--since after --until: exit 2" 2 "after --until" -- \
    alerts --since 1h --until 2h
expect "--min-level 16: exit 2" 2 "invalid --min-level '16'" -- \
    alerts --min-level 16
expect "--min-level -1: exit 2" 2 "invalid --min-level '-1'" -- \
    alerts --min-level -1
expect "--min-level abc: exit 2" 2 "invalid --min-level 'abc'" -- \
    alerts --min-level abc
expect "--limit 1x: exit 2" 2 "invalid --limit '1x'" -- events --limit 1x
expect "stray argument: exit 2" 2 "unexpected argument 'extra'" -- \
    alerts extra
expect "bad --grep: exit 2 with the offset" 2 "at offset" -- \
    events --grep 'a(b'
expect "unknown agents sub-command: exit 2" 2 "unknown sub-command" -- \
    agents frob
printf 'data_dir: %s\nno_such_key: 1\n' "$DATA" >"$T/bad.yml"
expect "bad configuration: exit 2 with file:line" 2 "bad.yml:2" -- \
    -c "$T/bad.yml" alerts

# ---- missing data directory ------------------------------------------------
for c in alerts events status agents; do
	expect "$c with a missing data directory: exit 2 naming it" 2 \
	    "$T/nowhere" -- -D "$T/nowhere" "$c"
done
expect "the config's data_dir is used without -D" 2 "$DATA" -- alerts
expect "agents remove with a missing data directory: exit 2" 2 \
    "does not exist" -- agents remove web01

mkdir -p "$T/empty"
expect "agents on a data dir with no keys yet: exit 0, none" 0 \
    "no agents enrolled" -- -D "$T/empty" agents
check "... and prints nothing on stdout" test ! -s "$OUT"
expect "alerts --by-rule on a data dir with no state: exit 0" 0 "no state" -- \
    -D "$T/empty" alerts --by-rule

# ---- enrollment -------------------------------------------------------------
for bad in 'a/b' '.hidden' 'sp ace' "$(printf 'x%.0s' $(seq 65))"; do
	expect "agents add '${bad:0:12}': bad name, exit 2" 2 \
	    "invalid agent name" -- agents add "$bad" -o "$T/bad-agent.yml"
done
check "a bad name writes no file" test ! -e "$T/bad-agent.yml"

expect "agents add before the data directory exists: exit 2" 2 \
    "does not exist" -- agents add web01 -o "$T/web01.yml"
check "... it makes no server keys there" test ! -e "$DATA"
mkdir -p "$DATA"
expect "agents add web01 -o FILE: exit 0" 0 "" -- \
    agents add web01 -o "$T/web01.yml" --follow "$T/auth.log" \
    --agent-data "$T/agent-web01"
check "the server keys were created" test -d "$DATA/keys"
is "agent configuration has mode 0600" "$(stat -c %a "$T/web01.yml")" 600
check "the configuration says it holds a secret key" \
    grep -q '^# tocsin-agent configuration for agent "web01".*secret' "$T/web01.yml"
check "the configuration has keys.secret" \
    grep -qE '^  secret: "[^"]{40}"$' "$T/web01.yml"
check "its public key is the enrolled one" \
    grep -qF "public: \"$(cat "$DATA/keys/agents/web01.pub")\"" "$T/web01.yml"
check "its server key is the server's" \
    grep -qF "public_key: \"$(cat "$DATA/keys/server.pub")\"" "$T/web01.yml"
check "the endpoint is the server's listen address" \
    grep -qF "endpoint: \"tcp://127.0.0.1:$PORT\"" "$T/web01.yml"
check "the followed file is listed" grep -qF -- "- \"$T/auth.log\"" "$T/web01.yml"
check "the agent data dir is set" \
    grep -qF "data_dir: \"$T/agent-web01\"" "$T/web01.yml"
if [ -x "$TOCSIN_BIN/tocsin-agent" ]; then
	# tocsin-agent exits 2 at once on a configuration error; otherwise it
	# runs (and spools) until the timeout stops it.
	timeout -s TERM 3 "$TOCSIN_BIN/tocsin-agent" -c "$T/web01.yml" -f \
	    >"$T/agent-load.log" 2>&1
	arc=$?
	if [ "$arc" != 2 ] && ! grep -q "web01.yml:" "$T/agent-load.log"; then
		ok "tocsin-agent loads the configuration"
	else
		not_ok "tocsin-agent loads the configuration (exit $arc)"
		sed 's/^/# /' "$T/agent-load.log" | head -n 5
	fi
else
	skip "tocsin-agent loads the configuration (no tocsin-agent)"
fi

sum_before=$(md5sum <"$T/web01.yml")
expect "agents add web01 again: exit 2" 2 "already enrolled" -- \
    agents add web01 -o "$T/web01.yml"
is "a refused second add leaves the first configuration intact" \
    "$(md5sum <"$T/web01.yml")" "$sum_before"
expect "agents add again to a new file: exit 2" 2 "already enrolled" -- \
    agents add web01 -o "$T/web01-again.yml"
check "a refused add leaves no new file behind" test ! -e "$T/web01-again.yml"

run agents add db02
check "agents add without -o writes the configuration to stdout" \
    bash -c '[ "$1" = 0 ] && grep -q "^  secret: " "$2"' _ "$RC" "$OUT"

printf 'data_dir: %s\ncollector:\n  listen: tcp://0.0.0.0:%s\n' \
    "$DATA" "$PORT" >"$T/wild.yml"
"$BIN" -c "$T/wild.yml" agents add wild >"$T/wild-agent.yml" 2>"$ERR"
check "a wildcard listen host becomes 127.0.0.1" \
    grep -qF "endpoint: \"tcp://127.0.0.1:$PORT\"" "$T/wild-agent.yml"
check "... and the file says so" grep -q '^  #.*0\.0\.0\.0' "$T/wild-agent.yml"

run agents
check "agents lists the enrolled agents" \
    bash -c '[ "$1" = 0 ] && grep -q "^web01 .*never seen" "$2" &&
        grep -q "^db02 " "$2" && head -n 1 "$2" | grep -q "^NAME .*STATE"' \
    _ "$RC" "$OUT"
run agents list --json
is "agents list --json: one object per agent" \
    "$(jq -r .name "$OUT" | sort | tr '\n' ' ')" "db02 web01 wild "
is "agents list --json: never seen" \
    "$(jq -r 'select(.name=="web01") | .state' "$OUT")" "never_seen"

expect "agents remove of an unknown name: exit 2" 2 "not enrolled" -- \
    agents remove nosuch
expect "agents remove of a bad name: exit 2" 2 "invalid agent name" -- \
    agents remove '../x'
expect "agents remove web01: exit 0" 0 "" -- agents remove web01
check "the key is gone" test ! -e "$DATA/keys/agents/web01.pub"
expect "agents remove web01 twice: exit 2" 2 "not enrolled" -- \
    agents remove web01

# ---- queries on a fresh data directory (keys only, no journal, no state) --
expect "alerts on a fresh data dir: exit 0, says why" 0 "no state" -- alerts
check "... and prints nothing on stdout" test ! -s "$OUT"
expect "alerts --json on a fresh data dir: exit 0" 0 "" -- alerts --json
check "... and prints nothing on stdout" test ! -s "$OUT"
expect "events on a fresh data dir: exit 0, says why" 0 "no journal" -- events
check "... and prints nothing on stdout" test ! -s "$OUT"
expect "events --limit 5 --json on a fresh data dir: exit 0" 0 "" -- \
    events --limit 5 --json
expect "status with no daemon running: exit 1" 1 "" -- status
check "status says the processes do not run" \
    grep -q '^collector  *not running' "$OUT"
run status --json
is "status --json: ok is false" "$(jq -r .ok "$OUT")" "false"
is "status --json: four processes (supervisor, collector, engine, outputs)" \
    "$(jq -r '[.processes[].name] | join(" ")' "$OUT")" "tocsind collector engine outputs"
expect "global options also work after the command" 0 "no state" -- \
    alerts -D "$DATA"
expect "and before it" 0 "no state" -- -D "$DATA" alerts --limit 3

exit 0
