#!/bin/bash
# config_lookup.sh - where each program finds its configuration: -c FILE,
# then $TOCSIN_CONFIG ($TOCSIN_AGENT_CONFIG for the agent), then (installed
# builds only) /etc/tocsin, then the embedded default.  This is a source-tree
# build: it must never read /etc.  The installed layout is tested by
# tests/pkg/deb.sh on the Debian packages.
source "$(dirname "$0")/lib.sh"
e2e_setup
B=$TOCSIN_BIN

out=$(cd "$T" && TOCSIN_CONFIG="$CFG" "$B/tocsind" -t 2>&1)
case "$out" in
*"configuration $CFG: ok"*) ok "tocsind -t reads \$TOCSIN_CONFIG" ;;
*) not_ok "tocsind -t reads \$TOCSIN_CONFIG"; diag "$out" ;;
esac

# -c wins over the variable
printf 'log_level: nonsense\n' >"$T/bad.yml"
out=$(cd "$T" && TOCSIN_CONFIG="$T/bad.yml" "$B/tocsind" -c "$CFG" -t 2>&1)
case "$out" in
*"configuration $CFG: ok"*) ok "-c wins over \$TOCSIN_CONFIG" ;;
*) not_ok "-c wins over \$TOCSIN_CONFIG"; diag "$out" ;;
esac
out=$(cd "$T" && TOCSIN_CONFIG="$T/bad.yml" "$B/tocsind" -t 2>&1)
rc=$?
case "$rc:$out" in
1:*"$T/bad.yml:1:"*) ok "an error in \$TOCSIN_CONFIG's file names it" ;;
*) not_ok "an error in \$TOCSIN_CONFIG's file names it"; diag "rc=$rc $out" ;;
esac

# no -c, no variable: the embedded default (source tree), never /etc
out=$(cd "$TOCSIN_TOP" && env -u TOCSIN_CONFIG "$B/tocsind" -t 2>&1)
case "$out" in
*"configuration (embedded default): ok"*) ok "no -c, no variable: the embedded default" ;;
*) not_ok "no -c, no variable: the embedded default"; diag "$out" ;;
esac

# the CLI follows the same order: its data directory comes from the file
start_server
if TOCSIN_CONFIG="$CFG" "$B/tocsin" status >/dev/null 2>&1; then
	ok "tocsin status with no flags finds the server through \$TOCSIN_CONFIG"
else
	not_ok "tocsin status with no flags finds the server through \$TOCSIN_CONFIG"
fi

# the agent: its own variable, no embedded default
tocsin agents add lk -o "$T/lk.yml" --agent-data "$T/agent-lk" \
    --follow "$T/app.log" >/dev/null
: >"$T/app.log"
TOCSIN_AGENT_CONFIG="$T/lk.yml" TOCSIN_CONFIG="$CFG" "$B/tocsin-agent" -f \
    >>"$T/agent-lk.log" 2>&1 &
AGENT_PID=$!
E2E_PIDS+=("$AGENT_PID")
check "the agent reads \$TOCSIN_AGENT_CONFIG (not the server's \$TOCSIN_CONFIG)" \
    wait_until 20 agent_following lk
stop_agent
out=$(env -u TOCSIN_AGENT_CONFIG "$B/tocsin-agent" -f 2>&1)
rc=$?
case "$rc:$out" in
2:*"-c AGENT.yml (or \$TOCSIN_AGENT_CONFIG) is required"*)
	ok "an agent with no configuration says what it needs" ;;
*) not_ok "an agent with no configuration says what it needs"; diag "rc=$rc $out" ;;
esac
stop_server
