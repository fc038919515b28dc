#!/bin/bash
# enroll.sh - PCs enrol themselves with tokens (tocsin agents token create,
# tocsin-agent enroll): the key pair made on the PC, CURVE pinned to the
# server's key, tokens stored hashed; expired, used, forged tokens, a wrong
# fingerprint, a duplicate name and a revoked agent re-enrolling.
source "$(dirname "$0")/lib.sh"
e2e_setup
EPORT=$(free_port)
sed -i "s|^  listen: .*|&\n  enroll_listen: tcp://127.0.0.1:$EPORT|" "$CFG"
start_server || { not_ok "server starts"; exit 1; }
A="$TOCSIN_BIN/tocsin-agent"

# mktoken [tocsin agents token create options]: sets TOK and FP
mktoken() {
	local out
	out=$(tocsin agents token create "$@" 2>&1) || { diag "$out"; return 1; }
	TOK=$(awk '/^token:/ {print $2}' <<<"$out")
	FP=$(awk '/^fingerprint:/ {print $2}' <<<"$out")
	[ -n "$TOK" ] && [ ${#FP} = 40 ]
}
# enrol FILE [options]: tocsin-agent enroll against this server; sets OUT, RC
enrol() {
	local f=$1; shift
	OUT=$("$A" enroll --server 127.0.0.1:$EPORT -o "$T/$f" --timeout 10s "$@" 2>&1)
	RC=$?
}
enrolled() { tocsin agents --json 2>/dev/null | jq -r .name | grep -qx "$1"; }

check "token create prints a token and the server's key" mktoken --uses 1
is "the fingerprint is the server's public key" "$FP" "$(head -c 40 "$DATA/keys/server.pub")"
secret=${TOK#*.}
if grep -rq "$secret" "$DATA/keys/tokens"; then
	not_ok "tokens are stored hashed"
else
	ok "tokens are stored hashed (the secret is nowhere on disk)"
fi
is "token list shows it valid with 1 use" \
    "$(tocsin agents token list --json | jq -r '"\(.state) \(.uses_left)"')" "valid 1"

# a first PC: name = host name, ships at once
: >"$T/app.log"
enrol pc.yml --token "$TOK" --fingerprint "$FP" --follow "$T/app.log" \
    --data-dir "$T/agent-pc"
host=$(hostname)
is "enroll exits 0" "$RC" 0; [ "$RC" = 0 ] || diag "$OUT"
check "the agent is enrolled under the host name ($host)" enrolled "$host"
is "its configuration is mode 600" "$(stat -c %a "$T/pc.yml" 2>/dev/null)" 600
pub=$(awk -F'"' '/^  public:/ {print $2}' "$T/pc.yml")
is "the server holds the public key generated on the PC" \
    "$(head -c 40 "$DATA/keys/agents/$host.pub" 2>/dev/null)" "$pub"
"$A" -c "$T/pc.yml" -f >>"$T/agent-pc.log" 2>&1 &
AGENT_PID=$!; E2E_PIDS+=("$AGENT_PID")
check "the enrolled agent starts following" wait_until 20 agent_following pc
echo "Jan 26 10:00:00 pc1 sshd[1]: enrolled-and-shipping-$$" >>"$T/app.log"
shipped() { tocsin events --grep "enrolled-and-shipping-$$" 2>/dev/null | grep -q "$host"; }
check "and ships events" wait_until 20 shipped

# reuse of a one-time token
enrol reuse.yml --token "$TOK" --fingerprint "$FP" --name pc-reuse
case "$RC:$OUT" in 1:*"token already used"*) ok "a used token is refused" ;;
*) not_ok "a used token is refused"; diag "rc=$RC $OUT" ;; esac
check "nothing written for a refused enrolment" test ! -e "$T/reuse.yml"

# expiry
mktoken --ttl 1s
sleep 1.2
enrol exp.yml --token "$TOK" --fingerprint "$FP" --name pc-exp
case "$RC:$OUT" in 1:*"token expired"*) ok "an expired token is refused" ;;
*) not_ok "an expired token is refused"; diag "rc=$RC $OUT" ;; esac

# forged: a real id, a wrong secret
mktoken --uses 5
forged="${TOK%%.*}.0123456789abcdef0123456789abcdef"
enrol forged.yml --token "$forged" --fingerprint "$FP" --name pc-forged
case "$RC:$OUT" in 1:*"unknown or forged token"*) ok "a forged token is refused" ;;
*) not_ok "a forged token is refused"; diag "rc=$RC $OUT" ;; esac

# wrong fingerprint: another key; nothing is sent
other=$(tocsin -D "$T/other" agents token create 2>/dev/null | awk '/^fingerprint:/ {print $2}')
before=$(counter collector.enrolments_refused)
enrol fp.yml --token "$TOK" --fingerprint "$other" --name pc-fp
case "$RC:$OUT" in 1:*"CURVE handshake"*"wrong fingerprint"*)
	ok "a server that does not hold the fingerprint's key is refused by the PC" ;;
*) not_ok "a wrong fingerprint is refused by the PC"; diag "rc=$RC $OUT" ;; esac
if enrolled pc-fp; then not_ok "nothing enrolled with a wrong fingerprint"
else ok "nothing enrolled with a wrong fingerprint"; fi

# duplicate name
enrol dup.yml --token "$TOK" --fingerprint "$FP" --name "$host"
case "$RC:$OUT" in 1:*"enrolled already"*) ok "a duplicate name is refused" ;;
*) not_ok "a duplicate name is refused"; diag "rc=$RC $OUT" ;; esac

# revoked, then re-enrolled under the same name with a new key
tocsin agents remove "$host" >/dev/null 2>&1
stop_agent
enrol again.yml --token "$TOK" --fingerprint "$FP" --follow "$T/app.log" \
    --data-dir "$T/agent-again"
is "a revoked agent re-enrols with a new token use" "$RC" 0
newpub=$(awk -F'"' '/^  public:/ {print $2}' "$T/again.yml")
if [ -n "$newpub" ] && [ "$newpub" != "$pub" ]; then
	ok "with a new key pair"
else
	not_ok "with a new key pair"
fi
is "the server now holds the new key" \
    "$(head -c 40 "$DATA/keys/agents/$host.pub" 2>/dev/null)" "$newpub"
"$A" -c "$T/pc.yml" -f >>"$T/agent-old.log" 2>&1 &
OLD=$!; E2E_PIDS+=("$OLD")
"$A" -c "$T/again.yml" -f >>"$T/agent-again.log" 2>&1 &
AGENT_PID=$!; E2E_PIDS+=("$AGENT_PID")
wait_until 20 agent_following again
echo "Jan 26 10:00:01 pc1 sshd[1]: after-reenrol-$$" >>"$T/app.log"
after() { [ "$(tocsin events --grep "after-reenrol-$$" 2>/dev/null | grep -c "after-reenrol")" -ge 1 ]; }
check "the re-enrolled agent ships" wait_until 20 after
old_refused() { grep -qE "refused (our|this agent.s) key" "$T/agent-old.log"; }
check "the revoked key stays refused" wait_until 20 old_refused

kill -TERM "$OLD" 2>/dev/null

# tocsin's own events and counters
evs=$(tocsin events --grep 'enrolment' 2>/dev/null)
is "every enrolment is one of tocsin's own events" \
    "$(grep -c 'enrolment: agent .* enrolled' <<<"$evs")" 2
check "every refusal too" test "$(grep -c 'enrolment refused' <<<"$evs")" -ge 4
check "counted: collector.enrolments" test "$(counter collector.enrolments)" -ge 2
check "counted: collector.enrolments_refused" \
    test "$(counter collector.enrolments_refused)" -ge 4
diag "refusals counted before the wrong fingerprint: $before"

# usage errors
"$A" enroll --server 127.0.0.1:$EPORT --token x --fingerprint "$FP" -o "$T/u.yml" >/dev/null 2>&1
is "a malformed --token is a usage error" "$?" 2
"$A" enroll --server 127.0.0.1:$EPORT --token "$TOK" --fingerprint short -o "$T/u.yml" >/dev/null 2>&1
is "a malformed --fingerprint is a usage error" "$?" 2
tocsin agents token revoke "${TOK%%.*}" >/dev/null 2>&1
enrol rev.yml --token "$TOK" --fingerprint "$FP" --name pc-rev
case "$RC:$OUT" in 1:*"unknown or forged token"*) ok "a revoked token is refused" ;;
*) not_ok "a revoked token is refused"; diag "rc=$RC $OUT" ;; esac

# --start: enrol, then ship at once (outside systemd: the agent in the
# foreground, the same process)
check "a token for --start" mktoken --uses 1
: >"$T/start.log"
"$A" enroll --server 127.0.0.1:$EPORT -o "$T/start.yml" --timeout 10s \
    --token "$TOK" --fingerprint "$FP" --name pc-start --follow "$T/start.log" \
    --data-dir "$T/agent-start" --start >"$T/agent-pc-start.log" 2>&1 &
START_PID=$!; E2E_PIDS+=("$START_PID")
check "enroll --start enrols the agent" wait_until 20 enrolled pc-start
check "and becomes the agent, following its file" wait_until 20 agent_following pc-start
echo "Jan 26 10:00:02 pc2 sshd[1]: started-by-enroll-$$" >>"$T/start.log"
started() { tocsin events --grep "started-by-enroll-$$" 2>/dev/null | grep -q "started-by-enroll-$$"; }
check "and ships at once" wait_until 20 started
kill -TERM "$START_PID" 2>/dev/null; wait "$START_PID" 2>/dev/null
stop_agent
stop_server
