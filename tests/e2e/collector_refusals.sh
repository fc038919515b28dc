#!/bin/bash
# collector_refusals.sh - the collector refuses and counts what it must, and
# keeps serving good agents afterwards: unenrolled key, malformed frame,
# oversized frame, BATCH before HELLO, a replayed batch (journal unchanged),
# a revoked key; syslog over UDP and TCP, and a malformed TCP frame.  Also
# drill sessions (HELLO naming a drill) and the collector's own events
# (spool full and free, counter thresholds, an agent silent and back).
set -u
source "$(dirname "$0")/lib.sh"

e2e_setup
# A small frame limit so that oversized frames are cheap to send.
sed -i 's/^collector:$/collector:\n  max_frame_size: 64k/' "$CFG"
# A short silence threshold, so that an agent goes silent within the test.
sed -i 's/^engine:$/engine:\n  agent_silent_after: 3s/' "$CFG"
start_server || { not_ok "server starts"; exit 1; }
ok "server starts"

enroll web01 >"$T/enroll.log" 2>&1 || not_ok "enroll web01"
enroll web02 >>"$T/enroll.log" 2>&1 || not_ok "enroll web02"
RA=("$TOCSIN_TOOLS/rawagent" --wait-ms 3000)

# ra NAME ARGS...: rawagent with NAME's configuration; output on stdout.
ra() { local n=$1; shift; "${RA[@]}" -c "$T/$n.yml" "$@" 2>>"$T/rawagent.log"; }

# counter_at_least NAME N
counter_at_least() { local v; v=$(counter "$1"); [ "${v:-0}" -ge "$2" ]; }

# The server still admits and answers a good agent.
still_serving() {
	local out
	out=$(ra web01 --hello)
	case "$out" in "WELCOME epoch="*) ok "still serving after $1" ;;
	*) not_ok "still serving after $1"; diag "got: $out" ;; esac
}

# ---- a good agent ---------------------------------------------------------
out=$(ra web01 --hello --batch 3 --from 1 --epoch 1)
is "good agent: HELLO then BATCH acknowledged" "$out" \
"WELCOME epoch=0 seq=0 credit=32768
ACK epoch=1 seq=3 credit=32768"
check "three events journaled" wait_until 10 counter_at_least \
    collector.events_journaled 3

# ---- unenrolled key -----------------------------------------------------------
read -r upub usec < <("$TOCSIN_TOOLS/rawagent" --genkey)
spub=$(head -c 40 "$DATA/keys/server.pub")
out=$("${RA[@]}" --wait-ms 1500 -e "tcp://127.0.0.1:$PORT" -s "$spub" \
    -p "$upub" -k "$usec" --hello 2>>"$T/rawagent.log")
is "unenrolled key gets no answer" "$out" "NO-REPLY"
check "ZAP refusal counted" wait_until 10 counter_at_least \
    collector.auth_refused 1
still_serving "an unenrolled key"

# ---- malformed frames ------------------------------------------------------
out=$(ra web01 --hello --raw-hex 0103ff | tail -n 1)
case "$out" in "REFUSE code=1 "*) ok "truncated frame refused MALFORMED" ;;
*) not_ok "truncated frame refused MALFORMED"; diag "got: $out" ;; esac
out=$(ra web01 --raw-hex 0901 | tail -n 1)
case "$out" in "REFUSE code=2 "*) ok "unknown version refused VERSION" ;;
*) not_ok "unknown version refused VERSION"; diag "got: $out" ;; esac
ra web01 --raw-hex "" >/dev/null
check "malformed frames counted" wait_until 10 counter_at_least \
    collector.frames_refused_malformed 2
still_serving "malformed frames"

# ---- oversized frames ------------------------------------------------------
out=$(ra web01 --hello --big 100000 | tail -n 1)
case "$out" in "REFUSE code=4 "*) ok "frame past max_frame_size refused TOOBIG" ;;
*) not_ok "frame past max_frame_size refused TOOBIG"; diag "got: $out" ;; esac
check "oversized frame counted" wait_until 10 counter_at_least \
    collector.frames_refused_toobig 1
# Past libzmq's hard limit the connection is dropped, not answered.
out=$(ra web01 --hello --big 1000000 --wait-ms 1500 | tail -n 1)
is "frame past the hard limit: connection dropped" "$out" "NO-REPLY"
check "dropped connection counted" wait_until 10 counter_at_least \
    collector.disconnects 1
still_serving "oversized frames"

# ---- BATCH before HELLO ------------------------------------------------------
out=$(ra web01 --batch 2 --from 4 --epoch 1)
case "$out" in "REFUSE code=5 "*) ok "BATCH before HELLO refused NOHELLO" ;;
*) not_ok "BATCH before HELLO refused NOHELLO"; diag "got: $out" ;; esac
check "BATCH before HELLO counted" wait_until 10 counter_at_least \
    collector.frames_refused_nohello 1
still_serving "BATCH before HELLO"

# ---- replayed batch ------------------------------------------------------------
before=$(counter collector.events_journaled)
out=$(ra web01 --hello --batch 3 --from 1 --epoch 1 | tail -n 1)
is "replayed batch acknowledged at the old mark" "$out" \
    "ACK epoch=1 seq=3 credit=32768"
check "duplicates counted" wait_until 10 counter_at_least \
    collector.events_duplicate 3
check "replayed batch counted" wait_until 10 counter_at_least \
    collector.batches_replayed 1
is "journal unchanged by the replay" "$(counter collector.events_journaled)" \
    "$before"
# An older epoch is a duplicate whole.
out=$(ra web01 --hello --batch 2 --from 50 --epoch 0 | tail -n 1)
is "older epoch acknowledged at the current mark" "$out" \
    "ACK epoch=1 seq=3 credit=32768"
is "journal unchanged by the older epoch" \
    "$(counter collector.events_journaled)" "$before"
# The next batch continues the mark.
out=$(ra web01 --hello --batch 2 --from 4 --epoch 1 | tail -n 1)
is "next batch advances the mark" "$out" "ACK epoch=1 seq=5 credit=32768"

# ---- drills: only replay's key may name a drill ------------------------------
# An ordinary agent that labels its HELLO with a drill would have its real
# events dropped by every output and deleted by `drill clean`.
out=$(ra web01 --hello --drill exercise-0 --batch 2 --from 6 --epoch 1)
case "$out" in "REFUSE code=8 "*) ok "forged drill HELLO refused FORBIDDEN" ;;
*) not_ok "forged drill HELLO refused FORBIDDEN"; diag "got: $out" ;; esac
check "forged drill HELLO counted" wait_until 10 counter_at_least \
    collector.frames_refused_drill 1
forged=$(tocsin events --json --limit 0 2>/dev/null |
    jq -r 'select(.drill == "exercise-0") | .seq' | wc -l)
is "nothing journaled under the forged drill" "$forged" 0
# replay's key (what `tocsin replay` makes on first use) may.
read -r rpub rsec < <("$TOCSIN_TOOLS/rawagent" --genkey)
printf '%s\n%s\n' "$rpub" "$rsec" >"$DATA/keys/replay.key"
chmod 600 "$DATA/keys/replay.key"
printf '%s\n' "$rpub" >"$DATA/keys/agents/replay.pub"
RAREPLAY=("${RA[@]}" -e "tcp://127.0.0.1:$PORT" -s "$spub" -p "$rpub" -k "$rsec")
out=$("${RAREPLAY[@]}" --hello --drill exercise-1 --batch 2 --from 1 \
    --epoch 1 2>>"$T/rawagent.log" | tail -n 1)
is "replay's drill session's batch acknowledged" "$out" \
    "ACK epoch=1 seq=2 credit=32768"
drill_events() {
	tocsin events --json --limit 0 2>/dev/null |
	    jq -r 'select(.drill == "exercise-1") | .source' | grep -c '^replay$'
}
drill_done() { [ "$(drill_events)" -ge 2 ]; }
check "drill events journaled as replayed, with the drill's name" \
    wait_until 10 drill_done
out=$("${RAREPLAY[@]}" --hello --drill 'bad drill!' 2>>"$T/rawagent.log" |
    tail -n 1)
case "$out" in "REFUSE code=1 "*) ok "bad drill name refused MALFORMED" ;;
*) not_ok "bad drill name refused MALFORMED"; diag "got: $out" ;; esac

# ---- revoked key ---------------------------------------------------------------
rm -f "$T/go"
ra web02 --hello --wait-file "$T/go" --batch 1 >"$T/web02.out" &
rapid=$!
wait_until 10 grep -q WELCOME "$T/web02.out"
tocsin agents remove web02 >>"$T/enroll.log" 2>&1 || not_ok "revoke web02"
touch "$T/go"
wait_until 20 not_running "$rapid"; wait "$rapid" 2>/dev/null
out=$(tail -n 1 "$T/web02.out")
case "$out" in "REFUSE code=3 "*) ok "revoked agent's BATCH refused REVOKED" ;;
*) not_ok "revoked agent's BATCH refused REVOKED"; diag "got: $out" ;; esac
check "revoked frame counted" wait_until 10 counter_at_least \
    collector.frames_refused_revoked 1
out=$(ra web02 --hello --wait-ms 1500)
is "revoked key cannot connect again" "$out" "NO-REPLY"
still_serving "a revoked key"

# ---- revoked key, name enrolled again with a new key --------------------------
# The session of the old key must end: the collector checks the (name, key)
# pair of every frame, not the name.
enroll web04 >>"$T/enroll.log" 2>&1 || not_ok "enroll web04"
cp "$T/web04.yml" "$T/web04-old.yml"
rm -f "$T/go4"
ra web04-old --hello --wait-file "$T/go4" --batch 1 --from 1 --epoch 1 \
    >"$T/web04.out" &
rapid=$!
wait_until 10 grep -q WELCOME "$T/web04.out"
j0=$(counter collector.events_journaled)
tocsin agents remove web04 >>"$T/enroll.log" 2>&1 || not_ok "revoke web04"
rm -f "$T/web04.yml"
enroll web04 >>"$T/enroll.log" 2>&1 || not_ok "enroll web04 again"
touch "$T/go4"
wait_until 20 not_running "$rapid"; wait "$rapid" 2>/dev/null
out=$(tail -n 1 "$T/web04.out")
case "$out" in "REFUSE code=3 "*) ok "old key's session refused REVOKED after re-enrolment" ;;
*) not_ok "old key's session refused REVOKED after re-enrolment"; diag "got: $out" ;; esac
is "nothing of the old key journaled" "$(counter collector.events_journaled)" "$j0"
out=$(ra web04 --hello --batch 1 --from 1 --epoch 1 | tail -n 1)
is "the new key is served" "$out" "ACK epoch=1 seq=1 credit=32768"

# ---- syslog ------------------------------------------------------------------------
if command -v logger >/dev/null; then
	logger -n 127.0.0.1 -P "$SYSLOG_PORT" -d --rfc3164 -t e2e \
	    "udp syslog message" 2>>"$T/rawagent.log"
	logger -n 127.0.0.1 -P "$SYSLOG_PORT" -T --octet-count -t e2e \
	    "tcp syslog message" 2>>"$T/rawagent.log"
	check "syslog over UDP and TCP received" wait_until 10 \
	    counter_at_least collector.syslog_received 2
else
	skip "syslog over UDP and TCP received (no logger)"
fi
# Newline framing, then a frame with a bad octet count: the connection is
# closed and the refusal counted.
printf '<13>Jan  1 00:00:00 fw1 test: newline framed\n0 bad\n' \
    >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
check "malformed syslog frame counted" wait_until 10 counter_at_least \
    collector.syslog_refused_malformed 1
check "newline-framed syslog received" wait_until 10 counter_at_least \
    collector.syslog_received 3
# Overlong messages are capped and flagged, and the stream stays in step:
# an octet-counted one, then a newline-framed one, each followed by a short
# message that must arrive whole.
long=$(head -c 70000 /dev/zero | tr '\0' a)
r0=$(counter collector.syslog_received)
{ printf '70000 %s' "$long"; printf '5 after'
  printf '%s\n' "$long"; printf 'after newline\n'; } \
    >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"
check "overlong syslog messages counted as truncated" wait_until 10 \
    counter_at_least collector.syslog_truncated 2
check "messages after overlong ones received" wait_until 10 \
    counter_at_least collector.syslog_received $((r0 + 4))
out=$(tocsin events --json 2>/dev/null | jq -r 'select(.message == "after" or
    .message == "after newline") | .message' | sort | tr '\n' ' ')
is "short messages after overlong ones journaled whole" "$out" \
    "after after newline "
still_serving "syslog refusals"

# ---- tocsin's own events ----------------------------------------------------
# said TEXT: an internal event (file "tocsind") holds TEXT.
said() {
	tocsin events --json --limit 0 2>/dev/null |
	    jq -r 'select(.file == "tocsind") | .message' | grep -qF -- "$1"
}
ra web01 --hello --heartbeat --spool-full --spooled 123 --wait-ms 300 >/dev/null
check "spool full said" wait_until 10 said \
    "agent web01 spool full (123 events waiting; reading paused)"
ra web01 --hello --heartbeat --wait-ms 300 >/dev/null
check "spool no longer full said" wait_until 10 said \
    "agent web01 spool no longer full"
check "refusal counter past its threshold said" wait_until 10 said \
    "counter collector.auth_refused reached"
check "an agent silent past agent_silent_after is said" wait_until 20 said \
    "agent web01 silent for"
ra web01 --hello >/dev/null
check "the agent reporting again is said" wait_until 10 said \
    "agent web01 reporting again after"
line=$(tocsin events --json --limit 0 2>/dev/null | jq -r 'select(.file ==
    "tocsind") | .message' | grep -F 'agent web01 spool no longer full' | head -n 1)
case "$line" in
20[0-9][0-9]-*Z" $(hostname) tocsin["[0-9]*"]: agent web01 spool no longer full")
	ok "internal event line format" ;;
*) not_ok "internal event line format"; diag "got: $line" ;;
esac

stop_server && ok "server stops cleanly" || not_ok "server stops cleanly"

# ---- journal map growth and a full journal --------------------------------
# A fresh data folder with a tiny map that may double once: batches first
# grow it, then are refused FULL (no ACK; counted), and the server keeps
# answering.
DATA="$T/full"
sed -i -e "s|^data_dir:.*|data_dir: $DATA|" \
    -e 's/^  journal_map_size:.*/  journal_map_size: 256k\n  journal_max_size: 512k/' \
    "$CFG"
start_server || not_ok "server starts on a tiny journal"
enroll web03 >>"$T/enroll.log" 2>&1 || not_ok "enroll web03"
seq=1; acks=0; full=""
for i in $(seq 1 12); do
	out=$(ra web03 --hello --batch 1000 --from "$seq" --epoch 1 | tail -n 1)
	case "$out" in
	"ACK "*) acks=$((acks + 1)); seq=$((seq + 1000)) ;;
	"REFUSE code=6 "*) full=$out; break ;;
	*) diag "unexpected: $out"; break ;;
	esac
done
check "batches acknowledged before the journal filled" test "$acks" -ge 1
case "$full" in "REFUSE code=6 "*) ok "full journal refuses FULL" ;;
*) not_ok "full journal refuses FULL"; diag "got: '$full' after $acks ACKs" ;; esac
check "map growth counted" wait_until 10 counter_at_least \
    collector.journal_map_grown 1
check "full journal counted" wait_until 10 counter_at_least \
    collector.journal_full 1
is "nothing journaled past the last ACK" \
    "$(counter collector.events_journaled)" "$((acks * 1000))"
out=$(ra web03 --hello)
is "full journal still welcomes agents at their mark" "$out" \
    "WELCOME epoch=1 seq=$((seq - 1)) credit=32768"
out=$(ra web03 --hello --batch 1000 --from 1 --epoch 1 | tail -n 1)
is "full journal still acknowledges a resent batch" "$out" \
    "ACK epoch=1 seq=$((seq - 1)) credit=32768"
stop_server && ok "server stops cleanly when full" ||
    not_ok "server stops cleanly when full"
exit 0
