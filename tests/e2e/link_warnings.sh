#!/usr/bin/env bash
# link_warnings.sh - say when something is wrong.
#
# The agent warns at once that it cannot reach (connection refused, timed
# out: tests/tools/blackhole drops the SYNs) or authenticate to (wrong
# server key, key revoked) its collector, then every minute while it lasts, and says when the collector is back.  `tocsin
# agents add` warns that a loopback endpoint only works on this machine and
# refuses (exit 2) a data directory that does not exist.  `tocsin alerts
# --follow` says when the live feed cannot be reached.
set -u
source "$(dirname "$0")/lib.sh"
e2e_setup
LIVE_PORT=$(free_port)
cat >>"$CFG" <<EOF
outputs:
  - name: live
    type: live
    endpoint: tcp://127.0.0.1:$LIVE_PORT
EOF
logged() { grep -qE -- "$2" "$T/agent-$1.log" 2>/dev/null; }

check "tocsind starts" start_server

# ---- tocsin agents add ----------------------------------------------------------
tocsin agents add a1 -o "$T/a1.yml" --agent-data "$T/agent-a1" \
    --follow "$T/a1.log" >/dev/null 2>"$T/add.err"
check "agents add: exit 0" test $? = 0
check "agents add warns that a loopback endpoint works on this machine only" \
    grep -q "warning: the endpoint tcp://127.0.0.1:$PORT .*only for an agent on this machine" \
    "$T/add.err"
tocsin agents add a9 -o "$T/a9.yml" --endpoint tcp://192.0.2.7:7514 \
    --agent-data "$T/agent-a9" >/dev/null 2>"$T/add9.err"
check "no warning for an explicit non-loopback endpoint" \
    bash -c "! grep -q warning '$T/add9.err'"
"$TOCSIN_BIN/tocsin" -c "$CFG" -D "$T/nosuch" agents add a8 -o "$T/a8.yml" \
    >/dev/null 2>"$T/add8.err"
is "agents add on a data directory that does not exist: exit 2" "$?" 2
check "... says so" grep -q "does not exist" "$T/add8.err"
check "... and creates no server keys there" test ! -e "$T/nosuch"
check "... nor the configuration" test ! -e "$T/a8.yml"

# ---- wrong server key ---------------------------------------------------------
check "agent a2 enrolled" enroll a2 --follow "$T/a2.log" 2>/dev/null
mkdir -p "$T/other"
"$TOCSIN_BIN/tocsin" -c "$CFG" -D "$T/other" agents add o1 -o "$T/o1.yml" \
    --agent-data "$T/agent-o1" >/dev/null 2>&1
other=$(sed -n 's/^  public_key: //p' "$T/o1.yml")
check "another server's key differs" \
    bash -c "[ -n '$other' ] && ! grep -qF '$other' '$T/a2.yml'"
# (Z85 has '&', which sed would read as "the match": replace by hand)
while IFS= read -r l; do
	case "$l" in "  public_key: "*) l="  public_key: $other" ;; esac
	printf '%s\n' "$l"
done <"$T/a2.yml" >"$T/a2.tmp" && mv "$T/a2.tmp" "$T/a2.yml"
chmod 0600 "$T/a2.yml"
start_agent a2
A2=$AGENT_PID
check "a wrong server key: warned at once" wait_until 20 logged a2 \
    "warn: cannot authenticate to collector tcp://127.0.0.1:$PORT: the CURVE handshake failed: wrong server key"
kill -TERM "$A2"; wait "$A2" 2>/dev/null

# ---- a revoked key --------------------------------------------------------------
check "agent a3 enrolled" enroll a3 --follow "$T/a3.log" 2>/dev/null
tocsin agents remove a3 >/dev/null 2>&1
start_agent a3
A3=$AGENT_PID
check "a revoked key: warned at once" wait_until 20 logged a3 \
    "warn: cannot authenticate to collector .*: it refused this agent's key \(ZAP status 400\)"
kill -TERM "$A3"; wait "$A3" 2>/dev/null

# ---- a connection that times out (SYNs dropped) ---------------------------------
"$TOCSIN_TOOLS/blackhole" >"$T/blackhole.out" 2>&1 &
E2E_PIDS+=("$!")
check "the blackhole listens" wait_until 20 grep -q '^ready [0-9]' "$T/blackhole.out"
BH_PORT=$(sed -n 's/^ready //p' "$T/blackhole.out")
check "agent a4 enrolled (endpoint that drops connections)" \
    enroll a4 --endpoint "tcp://127.0.0.1:$BH_PORT" --follow "$T/a4.log"
start_agent a4
A4=$AGENT_PID
check "a connection that times out: warned as such" wait_until 40 logged a4 \
    "warn: cannot reach collector tcp://127.0.0.1:$BH_PORT: connection timed out"
kill -TERM "$A4"; wait "$A4" 2>/dev/null

# ---- the collector down ---------------------------------------------------------
check "tocsind stops" stop_server
"$TOCSIN_BIN/tocsin" -c "$CFG" alerts --follow >/dev/null 2>"$T/follow.err" &
FOLLOW=$!
E2E_PIDS+=("$FOLLOW")
start_agent a1
check "connection refused: warned at once" wait_until 20 logged a1 \
    "warn: cannot reach collector tcp://127.0.0.1:$PORT: connection refused"
check "alerts --follow says the live feed cannot be reached" \
    wait_until 20 grep -q "cannot reach the live feed tcp://127.0.0.1:$LIVE_PORT" \
    "$T/follow.err"
is "one warning, not one per retry" \
    "$(grep -c 'cannot reach collector' "$T/agent-a1.log")" 1
check "...then again after a minute while it lasts" wait_until 80 logged a1 \
    "warn: still cannot reach collector tcp://127.0.0.1:$PORT after [0-9]+ s: connection refused"
check "tocsind starts again" start_server
check "the agent says the collector is reachable again" wait_until 30 logged a1 \
    "collector tcp://127.0.0.1:$PORT reachable again after"
check "alerts --follow says the live feed is reached again" \
    wait_until 30 grep -q "live feed tcp://127.0.0.1:$LIVE_PORT reached again" \
    "$T/follow.err"
kill -TERM "$FOLLOW"; wait "$FOLLOW" 2>/dev/null
stop_agent
check "tocsind stops" stop_server
exit 0
