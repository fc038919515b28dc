#!/usr/bin/env bash
# tocsind refuses bad configurations, bad rule sets and unusable data
# directories with a clear message naming the file and line, and exit 2 (or
# 1 for a system failure), before touching anything.
source "$(dirname "$0")/lib.sh"
e2e_setup

D="$TOCSIN_BIN/tocsind"

# expect_fail DESC STATUS PATTERN CMD...: CMD exits STATUS, stderr matches.
expect_fail() {
	local desc=$1 want=$2 pat=$3; shift 3
	"$@" >"$T/out.txt" 2>"$T/err.txt"
	local rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$pat" "$T/err.txt"; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $rc (want $want); stderr: $(head -c 400 "$T/err.txt")"
	fi
}

expect_fail "missing configuration file" 1 "nosuch\.yml" \
    "$D" -t -c "$T/nosuch.yml"

printf 'data_dir: %s\ncollector:\n  listen: tcp://127.0.0.1:1\n  lisen: x\n' \
    "$DATA" >"$T/typo.yml"
expect_fail "a misspelled key is an error with file:line:col" 1 \
    "typo\.yml:4:[0-9]+: .*unknown key 'lisen'" "$D" -t -c "$T/typo.yml"

printf 'data_dir: %s\ncollector: [1, 2\n' "$DATA" >"$T/broken.yml"
expect_fail "malformed YAML names file and line" 1 "broken\.yml:[23]:" \
    "$D" -t -c "$T/broken.yml"

printf 'data_dir: %s\ncollector:\n  credit: lots\n' "$DATA" >"$T/badnum.yml"
expect_fail "a non-number where a number goes" 1 "badnum\.yml:3:" \
    "$D" -t -c "$T/badnum.yml"

printf 'data_dir: %s\ncollector:\n  listen: http://example\n' "$DATA" >"$T/badep.yml"
expect_fail "a listen endpoint that is not tcp:// or ipc://" 1 "badep\.yml:3:" \
    "$D" -t -c "$T/badep.yml"

mkdir -p "$T/badrules"
printf 'rules:\n  - id: x.bad\n    title: bad regex\n    level: 5\n    match: "Failed (password"\n' \
    >"$T/badrules/bad.yml"
sed "s|    - .*rules/default|    - $T/badrules|" "$CFG" >"$T/badrules.yml"
expect_fail "a rule set with a bad regex is refused with file:line" 1 \
    "bad\.yml:5:[0-9]+:.*(regex|missing|parenthes)" "$D" -t -c "$T/badrules.yml"

expect_fail "a data directory that cannot be created" 1 \
    "cannot create data directory" "$D" -f -c "$CFG" -D /proc/tocsin-cannot/x

expect_fail "an unknown option" 2 "usage" "$D" -Z
expect_fail "an unexpected argument" 2 "unexpected argument" "$D" extra

check "tocsind -t accepts the shipped configuration" \
    "$D" -t -c "$TOCSIN_TOP/etc/tocsind.yml"
check "tocsind -t with no -c uses the embedded default" \
    bash -c "cd '$TOCSIN_TOP' && '$D' -t | grep -q 'embedded'"

check "tocsind starts" start_server
expect_fail "a second tocsind on the same data directory is refused" 1 \
    "already running" "$D" -f -c "$CFG"
check "the first one is unharmed" server_ready
check "tocsind stops on SIGTERM" stop_server

# ---- fail fast on what restarting cannot heal ------------------------------
# Each refusal comes before tocsind daemonizes: without -f too, the command
# itself exits 1 with the message on stderr.
: >"$T/afile"
sed "s|^data_dir: .*|data_dir: $T/afile|" "$CFG" >"$T/filedata.yml"
expect_fail "a data directory that is a file (tocsind -t)" 1 \
    "data directory .*afile is not a directory" "$D" -t -c "$T/filedata.yml"
expect_fail "a data directory that is a file (daemonizing)" 1 \
    "data directory .*afile is not a directory" "$D" -c "$T/filedata.yml"
mkdir -p "$T/ro/journal"
: >"$T/ro/journal/data.mdb"
chmod 0400 "$T/ro/journal/data.mdb"
if [ "$(id -u)" != 0 ]; then
	sed "s|^data_dir: .*|data_dir: $T/ro|" "$CFG" >"$T/ro.yml"
	expect_fail "an LMDB file that cannot be written" 1 \
	    "not writable: .*journal/data.mdb" "$D" -c "$T/ro.yml"
	chmod 0500 "$T/ro"
	expect_fail "a data directory that cannot be written (tocsind -t)" 1 \
	    "data directory .*ro is not writable" "$D" -t -c "$T/ro.yml"
	chmod 0700 "$T/ro"
else
	skip "an LMDB file that cannot be written (root writes anything)"
	skip "a data directory that cannot be written (root writes anything)"
fi

check "tocsind starts" start_server
# A second server on another data directory but the same ports.
sed "s|^data_dir: .*|data_dir: $T/data2|" "$CFG" >"$T/same_ports.yml"
expect_fail "an agent port in use: refused before daemonizing" 1 \
    "cannot listen for agents on tcp://127.0.0.1:$PORT: Address already in use" \
    "$D" -c "$T/same_ports.yml"
P2=$(free_port)
sed -e "s|^data_dir: .*|data_dir: $T/data3|" \
    -e "s|listen: tcp://127.0.0.1:$PORT|listen: tcp://127.0.0.1:$P2|" \
    "$CFG" >"$T/same_syslog.yml"
expect_fail "a syslog port in use: refused" 1 \
    "cannot listen for syslog on 127.0.0.1:$SYSLOG_PORT/(udp|tcp): Address already in use" \
    "$D" -f -c "$T/same_syslog.yml"
check "nothing was started for them" \
    bash -c "[ ! -e '$T/data2/run/collector.pid' ] && [ ! -e '$T/data3/run/collector.pid' ]"
check "the first server is unharmed" server_ready

# ---- a child that keeps crashing is restarted, and alerted -------------------
engine_pid() { cat "$DATA/run/engine.pid" 2>/dev/null; }
engine_restarted() {	# OLD: a live engine with another pid
	local p; p=$(engine_pid)
	[ -n "$p" ] && [ "$p" != "$1" ] && kill -0 "$p" 2>/dev/null
}
crashed=0
for i in 1 2 3; do
	old=$(engine_pid)
	kill -KILL "$old" 2>/dev/null
	wait_until 30 engine_restarted "$old" && crashed=$((crashed + 1))
done
is "the engine was restarted after each of 3 crashes" "$crashed" 3
crash_event() {
	tocsin events --json 2>/dev/null | jq -c 'select(.agent == "" and
	    (.message | test("tocsin\\[[0-9]+\\]: process engine crashed 3 times in [0-9a-z]+ \\(last: killed by signal 9\\)$")))' |
	    grep -q .
}
crash_alert() {
	tocsin alerts --json 2>/dev/null |
	    jq -c 'select(.rule.id == "tocsin.process_crashing")' | grep -q .
}
check "the collector journaled the repeated crashes" wait_until 30 crash_event
check "and the engine raised tocsin.process_crashing" wait_until 30 crash_alert
check "tocsind stops on SIGTERM after that" stop_server
