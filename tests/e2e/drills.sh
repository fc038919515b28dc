#!/usr/bin/env bash
# Security drills against the real daemons: every shipped scenario under
# drills/ runs as a test (replayed through the collector, scored from the
# engine's alerts and incidents); recordings made from the journal and from
# a log file replay; bad recordings and scenarios are refused with the line
# and nothing is sent; drill alerts are isolated (--no-drill, drill clean)
# and marked in the alert table; a paced run shows its progress and times
# each detection by the alert that met it; drill list, report and clean
# take a scenario's name for its latest run and refuse an unknown one; the
# replay identity is never an agent gone silent.
source "$(dirname "$0")/lib.sh"
e2e_setup
# a short silence threshold: the replay identity must not trip it
sed -i 's/^engine:$/engine:\n  agent_silent_after: 2s/' "$CFG"

DRILLS="$TOCSIN_TOP/drills"
SAMPLE="$TOCSIN_TOP/tests/data/sshd_sample.log"
quiet() { "$@" >/dev/null; }

check "tocsind starts (collector and engine up)" start_server

# --- every shipped scenario ----------------------------------------------
nscen=0
for yml in "$DRILLS"/*.yml; do
	[ -f "$yml" ] || continue
	nscen=$((nscen + 1))
	base=$(basename "$yml" .yml)
	name="e2e-$base"
	tocsin drill run "$yml" --as-fast-as-possible --drill "$name" --json \
	    >"$T/$base.json" 2>"$T/$base.err"
	rc=$?
	if [ "$rc" -eq 0 ] && jq -e '.passed == true' "$T/$base.json" >/dev/null
	then ok "drill $base: every expectation met"
	else
		not_ok "drill $base: every expectation met (exit $rc)"
		sed 's/^/# /' "$T/$base.err"
		jq -c '.expectations[] | select(.met != true)' "$T/$base.json" \
		    2>/dev/null | sed 's/^/# missed: /'
	fi
	is "drill $base: every event sent was acknowledged" \
	    "$(jq -r '.events.sent == .events.acknowledged and .events.sent > 0' \
	    "$T/$base.json")" true
	is "drill $base: report prints the stored scorecard again" \
	    "$(tocsin drill report "$name" --json | jq -c '[.drill, .passed, .met]')" \
	    "$(jq -c '[.drill, .passed, .met]' "$T/$base.json")"
done
check "at least five scenarios ship" test "$nscen" -ge 5
for yml in "$DRILLS"/*.yml; do
	[ -f "$yml" ] || continue
	base=$(basename "$yml" .yml)
	check "scenario $base has a plain-English header" \
	    grep -q '^# What the SOC should see' "$yml"
done

# --- isolation ------------------------------------------------------------
drill_alerts() { tocsin alerts --json | jq -r --arg d "$1" 'select(.drill == $d) | .id' | wc -l; }
check "drill alerts carry the drill's name" \
    test "$(drill_alerts e2e-webshell)" -gt 0
# A real (non-drill) replay of the sshd sample, through --from-log.
tocsin record --from-log "$SAMPLE" --host web01 -o "$T/sample.jsonl" \
    2>"$T/record.err"
is "record --from-log writes one event per line" \
    "$(( $(wc -l <"$T/sample.jsonl") - 1 ))" "$(grep -c . "$SAMPLE")"
is "record --from-log: header names the events" \
    "$(head -n 1 "$T/sample.jsonl" | jq -c '[.tocsin_recording, .events]')" \
    "[1,$(grep -c . "$SAMPLE")]"
check "a converted log replays (not a drill)" \
    quiet tocsin replay "$T/sample.jsonl" --as-fast-as-possible
before=$(journaled)
check "engine caught up" wait_until 60 engine_caught_up "$before"
is "alerts --no-drill hides every drill alert" \
    "$(tocsin alerts --json --no-drill | jq -r 'select(.drill != null)' | wc -l)" 0
check "alerts --no-drill still shows real alerts" \
    test "$(tocsin alerts --json --no-drill | wc -l)" -gt 0
is "alerts --drill NAME shows only that drill" \
    "$(tocsin alerts --json --drill e2e-webshell | jq -r .drill | sort -u)" \
    e2e-webshell
real_before=$(tocsin alerts --json --no-drill | wc -l)
check "drill clean removes the drill" quiet tocsin drill clean e2e-webshell
is "no alert of the cleaned drill is left" "$(drill_alerts e2e-webshell)" 0
is "other drills keep their alerts" \
    "$(test "$(drill_alerts e2e-log_clearing)" -gt 0 && echo yes)" yes
is "real alerts are untouched by drill clean" \
    "$(tocsin alerts --json --no-drill | wc -l)" "$real_before"

# --- record from the journal, replay it --------------------------------------
tocsin record --host web01 -o "$T/journal.jsonl" 2>"$T/record2.err"
check "record from the journal writes a valid recording" \
    quiet jq -e 'select(.tocsin_recording == 1) | .events > 0' \
    <(head -n 1 "$T/journal.jsonl")
is "record leaves drill events out by default" \
    "$(tail -n +2 "$T/journal.jsonl" | jq -r .source | sort -u)" agent
is "record --host keeps that host only" \
    "$(tail -n +2 "$T/journal.jsonl" | jq -r .host | sort -u)" web01
check "the journal recording replays as a drill" \
    quiet tocsin replay "$T/journal.jsonl" --as-fast-as-possible --drill e2e-rerecord

# --- --shift-to-now -----------------------------------------------------------
# sshd lines carry their time in the syslog header only, which the shift
# rewrites (a web access log's own [dd/Mon/yyyy:...] time, which the
# engine now takes as the event time, is not shifted).
check "replay --shift-to-now" quiet tocsin replay "$DRILLS/ssh_bruteforce_sudo.jsonl" \
    --as-fast-as-possible --shift-to-now --drill e2e-shift
check "engine caught up" wait_until 60 engine_caught_up "$(journaled)"
tocsin events --json | jq -c 'select(.drill == "e2e-shift")' >"$T/shift.jsonl"
is "every shifted line's syslog header is its new event time" \
    "$(jq -r '(.time | sub("\\.[0-9]+Z$"; "Z") | fromdate | strftime("%b %e %H:%M:%S")) == .message[0:15]' \
    "$T/shift.jsonl" | sort -u)" true
is "the first shifted event is dated now (within the hour)" \
    "$(head -n 1 "$T/shift.jsonl" | jq -r '(.time | sub("\\.[0-9]+Z$"; "Z") | fromdate) > (now - 3600)')" true
recent=$(tocsin alerts --json --drill e2e-shift --since 1h | wc -l)
check "alerts of the shifted drill are dated now" test "$recent" -gt 0

# --- a missed expectation: exit 1 ------------------------------------------------
sed -e 's/^name: webshell/name: webshell-miss/' \
    -e 's#^  - webshell.jsonl#  - '"$DRILLS"'/webshell.jsonl#' \
    -e 's/^    - rule: web.sql_injection/    - rule: web.webshell_found/' \
    "$DRILLS/webshell.yml" >"$T/miss.yml"
tocsin drill run "$T/miss.yml" --as-fast-as-possible --drill e2e-miss --json \
    >"$T/miss.json" 2>"$T/miss.err"
is "a missed expectation exits 1" "$?" 1
is "the false positive is scored missed" \
    "$(jq -r '.expectations[] | select(.type == "must_not_fire" and .rule == "web.webshell_found") | .met' "$T/miss.json")" \
    false

# --- a paced run: progress, and detections timed by the alert that met them ---
tocsin drill run "$DRILLS/webshell.yml" --speed 30 --drill e2e-paced --json \
    >"$T/paced.json" 2>"$T/paced.err"
is "paced drill run: exit 0" "$?" 0
nweb=$(( $(wc -l <"$DRILLS/webshell.jsonl") - 1 ))
check "progress: a line while sending, with events sent and time left" \
    grep -Eq "^drill e2e-paced: [0-9]+/$nweb events sent, [0-9]+ acknowledged, [0-9]+ alerts so far, [1-9][0-9]*s left" \
    "$T/paced.err"
check "progress: the last line says every event was sent" \
    grep -Eq "^drill e2e-paced: $nweb/$nweb events sent, $nweb acknowledged, [0-9]+ alerts so far, 0s left" \
    "$T/paced.err"
is "progress: more than one line while a paced drill runs" \
    "$(test "$(grep -c '^drill e2e-paced: ' "$T/paced.err")" -ge 2 && echo yes)" yes
quiet_run() {
	tocsin drill run "$DRILLS/webshell.yml" --as-fast-as-possible \
	    --drill e2e-quiet --quiet --no-save >/dev/null 2>"$T/quiet.err" &&
	    ! grep -q "events sent" "$T/quiet.err"
}
check "--quiet: no progress line" quiet_run
# time to detect = detected of the min_count-th matching alert - first sent
us_of() { jq -r '. as $t | ($t | sub("\\.[0-9]+Z$"; "Z") | fromdate) * 1000000 + ($t | capture("\\.(?<f>[0-9]+)Z$").f // "0" | (. + "000000")[0:6] | tonumber)'; }
first_us=$(jq -r .first_sent "$T/paced.json" | jq -R . | us_of)
nbad=0; nchecked=0
while IFS=$'\t' read -r rule minc ttd; do
	[ "$ttd" = null ] && continue
	nth=$(tocsin alerts --json --drill e2e-paced --rule "$rule" |
	    jq -r .detected | sort | sed -n "${minc}p")
	[ -n "$nth" ] || { nbad=$((nbad + 1)); continue; }
	want=$(( ($(echo "$nth" | jq -R . | us_of) - first_us) / 1000 ))
	diff=$(( want - ttd )); diff=${diff#-}
	nchecked=$((nchecked + 1))
	if [ "$diff" -gt 1 ]; then
		nbad=$((nbad + 1))
		diag "rule $rule: scored ${ttd}ms, its alert number $minc was raised after ${want}ms"
	fi
done < <(jq -r '.expectations[] | select(.type == "alert" and .rule != null) | [.rule, .min_count, .time_to_detect_ms] | @tsv' "$T/paced.json")
check "paced drill: time to detect is checked for some expectations" \
    test "$nchecked" -ge 2
is "each time to detect is when the alert meeting min_count was raised" \
    "$nbad" 0
later=$(jq '[.expectations[] | select(.type == "alert" and .min_count > 1) | .time_to_detect_ms] | max' "$T/paced.json")
check "with min_count > 1 the detection comes after the first alert (${later}ms)" \
    test "$later" -gt 1000

# --- drill list, report and clean by scenario name; unknown drills ---------------
tocsin drill list --json >"$T/list.jsonl"
is "drill list: one line per stored drill, with its scenario" \
    "$(jq -r 'select(.drill == "e2e-paced" or .drill == "e2e-log_clearing") | [.drill, .scenario] | @tsv' "$T/list.jsonl" | sort | tr '\t\n' ' ')" \
    "e2e-log_clearing log-clearing e2e-paced webshell "
is "drill list: oldest first" \
    "$(jq -rs '[.[].started] == ([.[].started] | sort)' "$T/list.jsonl")" true
list_table() { tocsin drill list >"$T/list.txt"; grep -Eq "^e2e-paced +webshell +[0-9T:Z-]+ +passed +[0-9]+/[0-9]+ +[0-9]+ +[0-9]+" "$T/list.txt" || { sed "s/^/# /" "$T/list.txt"; false; }; }
check "drill list: a table with the drill, scenario and result" list_table
is "drill report SCENARIO: the scenario's latest run" \
    "$(tocsin drill report webshell --json | jq -r .drill)" e2e-paced
tocsin drill report no-such-drill >/dev/null 2>"$T/unknown.err"
is "drill report of an unknown drill: exit 1" "$?" 1
check "drill report of an unknown drill: says so" \
    grep -q "no drill or scenario run named no-such-drill" "$T/unknown.err"
tocsin drill clean no-such-drill >/dev/null 2>"$T/unknown_clean.err"
is "drill clean of an unknown drill: exit 1" "$?" 1
check "drill clean of an unknown drill: says so" \
    grep -q "no drill or scenario run named no-such-drill" "$T/unknown_clean.err"
marked() { tocsin alerts --drill e2e-paced | grep -q " DRILL e2e-paced "; }
check "drill alerts are marked DRILL in the alert table" marked
is "real alerts are not marked DRILL in the table" \
    "$(tocsin alerts --no-drill | grep -c ' DRILL ')" 0
clean_latest() { tocsin drill clean webshell | grep -q "cleaned drill e2e-paced"; }
check "drill clean SCENARIO cleans its latest run" clean_latest
is "no alert of the cleaned latest run is left" "$(drill_alerts e2e-paced)" 0

# --- the replay identity is no silent agent ------------------------------------
is "tocsin agents: the replay identity's state is replay" \
    "$(tocsin agents --json | jq -r 'select(.name == "replay") | .state')" replay
replay_row() { tocsin agents | grep -q "^replay  *drill replay"; }
check "tocsin agents: its table row says drill replay" replay_row
sleep 4	# past agent_silent_after (2s) since its last batch, several checks
is "no 'agent replay silent' event after the drills" \
    "$(tocsin events --json | jq -r 'select(.source == "internal") | .message' | grep -c 'agent replay silent')" 0
is "no silence alert for the replay identity" \
    "$(tocsin alerts --json | jq -r 'select(.rule.id == "tocsin.agent_silent") | .message' | grep -c 'agent replay silent')" 0

# --- bad input: a clear error with the line, nothing sent ----------------------
REC="$DRILLS/webshell.jsonl"
awk 'NR==3 { print "{\"time\": \"2026-01-28T14:02:14Z\", \"host\": \"web01\", raw: x}"; next } 1' \
    "$REC" >"$T/bad_malformed.jsonl"
awk 'NR==4 { sub(/"host":"web01",/, "") } 1' "$REC" >"$T/bad_missing.jsonl"
awk 'NR==1 { sub(/"tocsin_recording":1/, "\"tocsin_recording\":7") } 1' \
    "$REC" >"$T/bad_version.jsonl"
awk 'NR==7 { sub(/"time":"[^"]*"/, "\"time\":\"2026-01-28T13:00:00Z\"") } 1' \
    "$REC" >"$T/bad_order.jsonl"
bad_case() {	# NAME LINE MESSAGE
	local j0 rc
	j0=$(journaled)
	tocsin replay "$T/bad_$1.jsonl" --as-fast-as-possible --drill e2e-bad \
	    >/dev/null 2>"$T/bad_$1.err"
	rc=$?
	is "bad recording ($1): exit 2" "$rc" 2
	check "bad recording ($1): error names FILE:$2 and says '$3'" \
	    grep -q "bad_$1.jsonl:$2: .*$3" "$T/bad_$1.err"
	is "bad recording ($1): nothing journaled" "$(journaled)" "$j0"
}
bad_case malformed 3 "malformed line"
bad_case missing 4 'missing field "host"'
bad_case version 1 "unknown recording version 7"
bad_case order 7 "before the previous event"

j0=$(journaled)
sed -e 's/rule: web.webshell_found/rule: web.no_such_rule/' \
    -e 's#^  - webshell.jsonl#  - '"$DRILLS"'/webshell.jsonl#' \
    "$DRILLS/webshell.yml" >"$T/bad_rule.yml"
tocsin drill run "$T/bad_rule.yml" --as-fast-as-possible >/dev/null \
    2>"$T/bad_rule.err"
is "scenario with an unknown rule id: exit 2" "$?" 2
line=$(grep -n 'web.no_such_rule' "$T/bad_rule.yml" | cut -d: -f1)
check "unknown rule id: error names the scenario's line" \
    grep -q "bad_rule.yml:$line:[0-9]*: unknown rule id 'web.no_such_rule'" \
    "$T/bad_rule.err"
sed 's/^speed: 1/speeed: 1/' "$DRILLS/webshell.yml" >"$T/bad_key.yml"
tocsin drill run "$T/bad_key.yml" >/dev/null 2>"$T/bad_key.err"
is "scenario with an unknown key: exit 2" "$?" 2
check "unknown key: error names file:line:col" \
    grep -q "bad_key.yml:[0-9]*:1: unknown key 'speeed'" "$T/bad_key.err"
sed -e 's#^  - webshell.jsonl#  - '"$T"'/bad_order.jsonl#' \
    "$DRILLS/webshell.yml" >"$T/bad_rec.yml"
tocsin drill run "$T/bad_rec.yml" >/dev/null 2>"$T/bad_rec.err"
is "scenario with a bad recording: exit 2" "$?" 2
check "bad recording in a scenario: error names the recording's line" \
    grep -q "bad_order.jsonl:7: " "$T/bad_rec.err"
is "bad scenarios: nothing journaled" "$(journaled)" "$j0"

# --- the replay key -------------------------------------------------------------
is "the replay key file has mode 0600" \
    "$(stat -c %a "$DATA/keys/replay.key")" 600
check "replay is enrolled as the agent \"replay\"" \
    test -f "$DATA/keys/agents/replay.pub"

check "tocsind stops cleanly on SIGTERM" stop_server
