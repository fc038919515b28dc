#!/bin/bash
# security.sh - what an attacker on the network or an enrolled agent could
# forge or break: tocsin's own events forged over syslog, one agent's poison
# batch failing others' batches.
set -u
source "$(dirname "$0")/lib.sh"

e2e_setup
start_server || { not_ok "server starts"; exit 1; }
ok "server starts"
enroll web01 >"$T/enroll.log" 2>&1 || not_ok "enroll web01"
RA=("$TOCSIN_TOOLS/rawagent" --wait-ms 3000)
ra() { local n=$1; shift; "${RA[@]}" -c "$T/$n.yml" "$@" 2>>"$T/rawagent.log"; }
counter_at_least() { local v; v=$(counter "$1"); [ "${v:-0}" -ge "$2" ]; }
# alerts_of RULE: how many alerts that rule raised.
alerts_of() {
	tocsin alerts --json --limit 0 2>/dev/null |
	    jq -r --arg r "$1" 'select(.rule.id == $r) | .rule.id' | wc -l
}
caught_up() { engine_caught_up "$(journaled)"; }

# ---- tocsin's own events cannot be forged ----------------------------------
# One UDP datagram that copies the collector's "journal full" text opened a
# severity-10 incident: the rules now also test the source the collector
# stamps (internal), which nothing outside can set.
line='<13>Jan 30 12:00:00 soc1 tocsin[1]: journal full: acknowledgements paused'
printf '%s' "$line" >"/dev/udp/127.0.0.1/$SYSLOG_PORT"
printf '%s\n' "$line" >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
check "forged internal lines received over UDP and TCP" wait_until 10 \
    counter_at_least collector.syslog_received 2
check "the engine processed them" wait_until 20 caught_up
forged=$(tocsin events --json --limit 0 2>/dev/null |
    jq -r 'select(.message | test("journal full")) | .source' | sort | tr '\n' ' ')
is "forged lines journaled with their real source" "$forged" \
    "syslog_tcp syslog_udp "
is "forged 'journal full' line raises nothing" "$(alerts_of tocsin.journal_full)" 0
# The real internal events still alert: an unenrolled key makes the
# collector say "counter collector.auth_refused reached 1".
read -r upub usec < <("$TOCSIN_TOOLS/rawagent" --genkey)
spub=$(head -c 40 "$DATA/keys/server.pub")
"${RA[@]}" --wait-ms 500 -e "tcp://127.0.0.1:$PORT" -s "$spub" \
    -p "$upub" -k "$usec" --hello >/dev/null 2>>"$T/rawagent.log"
real_alert() { [ "$(alerts_of tocsin.counter_threshold)" -ge 1 ]; }
check "a real internal event still raises its alert" wait_until 20 real_alert

# ---- one agent cannot make others' batches fail -----------------------------
# A BATCH whose first sequence is 2^64-1 passed the wire decoder but not the
# journal, which failed the whole group commit: the honest agent beside it
# got "journal error".  The two now share one bound (wire_seq_range_valid),
# and a group that fails is retried batch by batch.
enroll web02 >>"$T/enroll.log" 2>&1 || not_ok "enroll web02"
poison=0103$(printf '%016x' 1)ffffffffffffffff00000001$(printf '%016x' 1)0000000161000000017a
(for k in $(seq 1 20); do
	ra web02 --hello --raw-hex "$poison" --wait-ms 2000 | tail -n 1
done) >"$T/poison.out" &
ppid=$!
ra web01 --hello --batch 5 --from 1 --epoch 1 --repeat 200 >"$T/honest.out"
wait_until 60 not_running "$ppid"; wait "$ppid" 2>/dev/null
is "every poison batch refused MALFORMED" \
    "$(grep -c '^REFUSE code=1 ' "$T/poison.out")" 20
is "every honest batch acknowledged beside them" \
    "$(grep -c '^ACK epoch=1 seq=5 ' "$T/honest.out")" 200
check "poison batches counted as malformed" wait_until 10 counter_at_least \
    collector.frames_refused_malformed 20
out=$(ra web02 --hello --batch 1 --from 1 --epoch 1 | tail -n 1)
is "the poisoning agent's next good batch is served" "$out" \
    "ACK epoch=1 seq=1 credit=32768"

# ---- the HELLO host is checked like a syslog HOSTNAME -----------------------
for h in 'two words' $'esc\x1b[2Jhost' $'line\nbreak'; do
	out=$(ra web01 --hello --host "$h" | tail -n 1)
	case "$out" in "REFUSE code=1 reason=bad host name"*)
		ok "HELLO host $(printf %q "$h") refused MALFORMED" ;;
	*) not_ok "HELLO host $(printf %q "$h") refused MALFORMED"; diag "got: $out" ;;
	esac
done
out=$(ra web01 --hello --host 'web01.example.org' | tail -n 1)
case "$out" in "WELCOME "*) ok "a good HELLO host is welcomed" ;;
*) not_ok "a good HELLO host is welcomed"; diag "got: $out" ;; esac

# ---- the agent's configuration holds its secret key ------------------------
chmod 644 "$T/web02.yml"
"$TOCSIN_BIN/tocsin-agent" -c "$T/web02.yml" -f >"$T/agent-perm.log" 2>&1 &
apid=$!
E2E_PIDS+=("$apid")
if wait_until 10 not_running "$apid"; then
	wait "$apid"; rc=$?
	is "agent refuses a world-readable configuration (exit 2)" "$rc" 2
	check "and says why" grep -q "anyone on this machine can read it.*chmod 600" \
	    "$T/agent-perm.log"
else
	not_ok "agent refuses a world-readable configuration (exit 2)"
fi
chmod 640 "$T/web02.yml"
start_agent web02
check "a group-readable configuration is warned about" wait_until 10 \
    grep -q "WARNING: .*its group can read it" "$T/agent-web02.log"
stop_agent
chmod 600 "$T/web02.yml"

# ---- tocsin record -o writes through a private temporary file --------------
# It wrote OUT.tmp with fopen: a link planted there redirected the write.
echo "keep me" >"$T/victim"
ln -s "$T/victim" "$T/rec.jsonl.tmp"
check "tocsin record -o succeeds" tocsin record -o "$T/rec.jsonl"
is "a link at the old temporary name is not followed" "$(cat "$T/victim")" "keep me"
is "the recording is private (0600)" "$(stat -c %a "$T/rec.jsonl")" 600
check "the recording is whole" test "$(head -n 1 "$T/rec.jsonl" | jq -r .tocsin_recording)" = 1
is "no temporary file is left" "$(ls "$T" | grep -c '^rec\.jsonl\.')" 1

# ---- make install writes configurations 0640 ---------------------------------
# What make would run (-n: nothing is built or installed): every file it
# installs under the configuration folder gets mode 0640.
conf=$(make -s -n -C "$TOCSIN_TOP" install DESTDIR="$T/inst" PREFIX=/usr 2>/dev/null |
    grep -E "install -m [0-7]+ .* $T/inst/etc/tocsin/")
check "make install installs configurations" test -n "$conf"
is "every configuration file installed 0640" \
    "$(printf '%s\n' "$conf" | grep -vc 'install -m 0640 ')" 0

stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"
exit 0
