#!/bin/bash
# groups.sh - groups and central configuration: an agent enrolled with a
# token of group "web" receives web.yml from the server's groups folder
# when it connects and whenever the file changes, without anything done on
# the PC; a broken group file is refused as a whole (file:line:col, at both
# ends, counted) and the agent keeps its last good configuration, also
# across a restart while the server is down; `tocsin agents` shows each
# agent's group and the configuration version it runs.
source "$(dirname "$0")/lib.sh"
e2e_setup
EPORT=$(free_port)
sed -i "s|^  listen: .*|&\n  enroll_listen: tcp://127.0.0.1:$EPORT|" "$CFG"
G="$T/groups"		# the default: "groups" beside the configuration file
mkdir -p "$G"
: >"$T/local.log"; : >"$T/a.log"; : >"$T/b.log"
printf 'follow:\n  - "%s"\n' "$T/a.log" >"$G/web.yml"
start_server || { not_ok "server starts"; exit 1; }
A="$TOCSIN_BIN/tocsin-agent"

out=$(tocsin agents token create --group web 2>&1)
TOK=$(awk '/^token:/ {print $2}' <<<"$out")
FP=$(awk '/^fingerprint:/ {print $2}' <<<"$out")
is "token create prints its group" "$(awk '/^group:/ {print $2}' <<<"$out")" web
is "token list shows the group" \
    "$(tocsin agents token list --json | jq -r .group)" web
tocsin agents token create --group 'bad/group' >/dev/null 2>&1
is "a bad group name is a usage error" "$?" 2

"$A" enroll --server 127.0.0.1:$EPORT --token "$TOK" --fingerprint "$FP" \
    --name pcg --follow "$T/local.log" --data-dir "$T/agent-pcg" \
    -o "$T/pcg.yml" --timeout 10s >"$T/enroll.out" 2>&1
is "the PC enrols" "$?" 0
is "its group is recorded with the enrolment" \
    "$(tocsin agents --json | jq -r 'select(.name == "pcg") | .group')" web

# what `tocsin agents` says of pcg: "GROUP VERSION"
row() { tocsin agents --json 2>/dev/null |
    jq -r 'select(.name == "pcg") | "\(.group) \(.config_version)"'; }
# loaded_version N: the N-th version of web.yml the server loaded
loaded_version() {
	grep -o 'group web: configuration version [0-9a-f]*' "$T/tocsind.log" |
	    awk '{print $NF}' | sed -n "${1}p"
}
have_version() { [ -n "$(loaded_version "$1")" ]; }
runs() { [ "$(row)" = "web $1" ]; }
shipped() { tocsin events --grep "$1" 2>/dev/null | grep -q "$1"; }

"$A" -c "$T/pcg.yml" -f >>"$T/agent-pcg.log" 2>&1 &
AGENT_PID=$!; E2E_PIDS+=("$AGENT_PID")
check "the server loads web.yml" wait_until 20 have_version 1
V1=$(loaded_version 1)
check "the agent applies the group's configuration on connect" \
    wait_until 20 grep -q "group web configuration version $V1 applied" "$T/agent-pcg.log"
check "tocsin agents shows group web running version $V1" wait_until 20 runs "$V1"
echo "Jan 26 10:00:00 pcg sshd[1]: from-group-a-$$" >>"$T/a.log"
check "the agent ships from the group's file" wait_until 20 shipped "from-group-a-$$"

# a change reaches the running agent
printf 'follow:\n  - "%s"\n  - "%s"\nspool:\n  max_size: 8M\n' \
    "$T/a.log" "$T/b.log" >"$G/web.yml"
check "the server loads the changed file" wait_until 20 have_version 2
V2=$(loaded_version 2)
if [ -n "$V2" ] && [ "$V2" != "$V1" ]; then ok "with a new version"
else not_ok "with a new version ($V1 -> $V2)"; fi
check "the running agent runs the new version" wait_until 20 runs "$V2"
echo "Jan 26 10:00:01 pcg sshd[1]: from-group-b-$$" >>"$T/b.log"
check "and ships from the newly listed file" wait_until 20 shipped "from-group-b-$$"

# a broken file: refused as a whole, the agent keeps version 2
refused0=$(counter collector.group_configs_refused)
printf 'follow:\n  - "%s"\nfolow: oops\n' "$T/a.log" >"$G/web.yml"
refused() { [ "$(counter collector.group_configs_refused)" -gt "${refused0:-0}" ]; }
check "the broken file is counted" wait_until 20 refused
check "the server names file:line:col" \
    grep -q "$G/web.yml:3:1: .*refused as a whole" "$T/tocsind.log"
check "the agent says so too" wait_until 20 \
    grep -q "server refused group web.s configuration: $G/web.yml:3:1" "$T/agent-pcg.log"
is "tocsin agents still shows version 2" "$(row)" "web $V2"
echo "Jan 26 10:00:02 pcg sshd[1]: still-b-$$" >>"$T/b.log"
check "the agent keeps shipping from the last good configuration" \
    wait_until 20 shipped "still-b-$$"

# the last good configuration survives a restart with the server down
stop_server
stop_agent
check "the agent counted it (its counters at exit)" \
    grep -q "configs_applied=2 configs_refused=1" "$T/agent-pcg.log"
: >"$T/agent-pcg2.log"
"$A" -c "$T/pcg.yml" -f >>"$T/agent-pcg2.log" 2>&1 &
AGENT_PID=$!; E2E_PIDS+=("$AGENT_PID")
check "restarted offline, the agent applies the kept version" wait_until 20 \
    grep -q "group web configuration version $V2 applied" "$T/agent-pcg2.log"
echo "Jan 26 10:00:03 pcg sshd[1]: offline-b-$$" >>"$T/b.log"
sleep 1
start_server || not_ok "server restarts"
check "what it read offline from the group's file arrives" \
    wait_until 30 shipped "offline-b-$$"
check "still version 2 with the broken file in place" wait_until 20 runs "$V2"

# manual enrolment with a group
tocsin agents add man --group ops -o "$T/man.yml" --agent-data "$T/agent-man" \
    >/dev/null 2>&1
is "tocsin agents add --group records the group" \
    "$(tocsin agents --json | jq -r 'select(.name == "man") | .group')" ops
tocsin agents add man2 --group '-x' -o "$T/man2.yml" >/dev/null 2>&1
is "a bad --group is a usage error" "$?" 2
check "the table shows GROUP and CONFIG" \
    eval "tocsin agents | head -1 | grep -q 'GROUP.*CONFIG'"

stop_agent
stop_server
