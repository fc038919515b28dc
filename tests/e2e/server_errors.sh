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

expect_fail "missing configuration file" 2 "nosuch\.yml" \
    "$D" -t -c "$T/nosuch.yml"

printf 'data_dir: %s\ncollector:\n  listen: tcp://127.0.0.1:1\n  lisen: x\n' \
    "$DATA" >"$T/typo.yml"
expect_fail "a misspelled key is an error with file:line:col" 2 \
    "typo\.yml:4:[0-9]+: .*unknown key 'lisen'" "$D" -t -c "$T/typo.yml"

printf 'data_dir: %s\ncollector: [1, 2\n' "$DATA" >"$T/broken.yml"
expect_fail "malformed YAML names file and line" 2 "broken\.yml:[23]:" \
    "$D" -t -c "$T/broken.yml"

printf 'data_dir: %s\ncollector:\n  credit: lots\n' "$DATA" >"$T/badnum.yml"
expect_fail "a non-number where a number goes" 2 "badnum\.yml:3:" \
    "$D" -t -c "$T/badnum.yml"

printf 'data_dir: %s\ncollector:\n  listen: http://example\n' "$DATA" >"$T/badep.yml"
expect_fail "a listen endpoint that is not tcp:// or ipc://" 2 "badep\.yml:3:" \
    "$D" -t -c "$T/badep.yml"

mkdir -p "$T/badrules"
printf 'rules:\n  - id: x.bad\n    title: bad regex\n    level: 5\n    match: "Failed (password"\n' \
    >"$T/badrules/bad.yml"
sed "s|    - .*rules/default|    - $T/badrules|" "$CFG" >"$T/badrules.yml"
expect_fail "a rule set with a bad regex is refused with file:line" 2 \
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
