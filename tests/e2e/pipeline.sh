#!/usr/bin/env bash
# The whole pipeline on loopback: tocsind (collector + engine), an enrolled
# agent following a file, the journal, the rules, the alerts, the CLI.
source "$(dirname "$0")/lib.sh"
e2e_setup

SAMPLE="$TOCSIN_TOP/tests/data/sshd_sample.log"
N=$(wc -l <"$SAMPLE")

check "tocsind starts (collector and engine up)" start_server
check "tocsin agents add writes an agent configuration" \
    enroll e2e --follow "$T/auth.log"
is "agent configuration has mode 0600" "$(stat -c %a "$T/e2e.yml")" 600

# The agent reads new lines only; write the file after it started.
: >"$T/auth.log"
start_agent e2e
check "the agent follows its file" wait_until 30 agent_following e2e
cat "$SAMPLE" >>"$T/auth.log"
check "all $N lines journaled and processed" wait_until 60 engine_caught_up "$N"

# --- events ------------------------------------------------------------
tocsin events --json >"$T/events.jsonl" 2>"$T/events.err"
is "tocsin events lists every line" "$(wc -l <"$T/events.jsonl")" "$N"
is "events are the lines, in order" \
    "$(jq -r .message "$T/events.jsonl")" "$(cat "$SAMPLE")"
is "events carry the agent name" \
    "$(jq -r .agent "$T/events.jsonl" | sort -u)" "e2e"
is "events carry the file they came from" \
    "$(jq -r .file "$T/events.jsonl" | sort -u)" "$T/auth.log"
is "events --limit 3 gives the 3 newest, oldest first" \
    "$(tocsin events --json --limit 3 | jq -r .message)" "$(tail -n 3 "$SAMPLE")"
is "events --grep filters with a regex" \
    "$(tocsin events --json --grep 'Accepted (password|publickey)' | wc -l)" 2

# --- alerts ------------------------------------------------------------
# tocsin's own alerts (rule set reloaded, agent silent...) are not the
# sample's: keep them apart.
own_alerts() { jq -c 'select(.rule.id | startswith("tocsin.") | not)'; }
tocsin alerts --json | own_alerts >"$T/alerts.jsonl"
count_msg() { jq -r .message "$T/alerts.jsonl" | grep -c -- "$1"; }
is "one alert per failed password" "$(count_msg 'Failed password')" 5
is "one alert per invalid user" "$(count_msg ': Invalid user')" 3
is "one alert per accepted login" "$(count_msg 'Accepted ')" 2
is "no alert for benign systemd/cron lines" \
    "$(count_msg -E 'systemd|CRON')" 0
check "every alert has id, time, level, rule{id,title,mitre}, agent, host, message" \
    jq -e 'select((.id|type)=="number" and (.time|type)=="string"
        and (.level|type)=="number" and (.rule.id|type)=="string"
        and (.rule.title|type)=="string" and (.rule.mitre|type)=="array"
        and .agent=="e2e" and .host=="web01" and (.message|type)=="string")
        | true' "$T/alerts.jsonl" >/dev/null
is "every alert passes that check" \
    "$(jq -c 'select(.agent=="e2e" and .host=="web01")' "$T/alerts.jsonl" | wc -l)" \
    "$(wc -l <"$T/alerts.jsonl")"
is "failed password alerts carry MITRE T1110" \
    "$(jq -r 'select(.message|test("Failed password")) | .rule.mitre[]' \
        "$T/alerts.jsonl" | grep -c '^T1110')" 5
ids=$(jq -r .id "$T/alerts.jsonl")
is "alerts are listed newest first" "$ids" "$(echo "$ids" | sort -rn)"
is "alert times come from the syslog header" \
    "$(jq -r .time "$T/alerts.jsonl" | cut -c5-19 | sort -u | head -n 1)" \
    "-01-26T00:00:05"
is "alerts --limit 1" "$(tocsin alerts --json --limit 1 | wc -l)" 1
is "alerts --host filters" "$(tocsin alerts --json --host nosuchhost | wc -l)" 0
min=$(jq -r .level "$T/alerts.jsonl" | sort -n | tail -n 1)
is "alerts --min-level keeps only that level and above" \
    "$(tocsin alerts --json --min-level "$min" | jq -r .level | sort -u)" "$min"
rule=$(jq -r .rule.id "$T/alerts.jsonl" | head -n 1)
is "alerts --rule filters by rule id" \
    "$(tocsin alerts --json --rule "$rule" | jq -r .rule.id | sort -u)" "$rule"
is "alerts --since 1h (alert times are January's) gives none" \
    "$(tocsin alerts --json --since 1h | wc -l)" 0
is "alerts --since an RFC 3339 time" \
    "$(tocsin alerts --json --since "$(date -u +%Y)-01-26T00:03:00Z" | wc -l)" \
    "$(jq -r 'select(.time >= "'"$(date -u +%Y)"'-01-26T00:03:00") | .id' "$T/alerts.jsonl" | wc -l)"
tocsin alerts >"$T/alerts.txt"
check "the alerts table shows the rule titles" \
    grep -q "$(jq -r .rule.title "$T/alerts.jsonl" | head -n 1)" "$T/alerts.txt"

# --- hostile bytes -------------------------------------------------------
printf 'Jan 26 00:09:00 web01 sshd[1]: Failed password for \033[31mroot\033[0m from 203.0.113.5 port 1 ssh2 \xff\xfe\n' \
    >>"$T/auth.log"
check "a line with control bytes and invalid UTF-8 is journaled" \
    wait_until 30 engine_caught_up $((N + 1))
tocsin events --limit 1 >"$T/ctrl.txt"
ctrl_escaped() { ! grep -q $'\033' "$T/ctrl.txt" && grep -q 'x1b' "$T/ctrl.txt"; }
check "the events table escapes control bytes" ctrl_escaped
newest_alert_is_failed_password() {
	tocsin alerts --json --limit 1 | jq -e '.message|test("Failed password")' >/dev/null
}
check "the alert for it is raised" newest_alert_is_failed_password

# --- status ------------------------------------------------------------
status_to_file() { tocsin status >"$T/status.txt"; }
check "tocsin status exits 0 with both processes up" status_to_file
check "status shows the engine's lag" grep -qi 'lag' "$T/status.txt"
is "status --json: journaled equals processed" "$(journaled)" "$(processed)"

# --- SIGHUP reload, then more events -------------------------------------
reloaded() { [ "$(counter engine.reloads)" -ge 1 ]; }
kill -HUP "$SERVER_PID"
wait_until 10 reloaded
echo "Jan 26 00:10:00 web01 sshd[2]: Failed password for root from 203.0.113.6 port 2 ssh2" >>"$T/auth.log"
check "events after a SIGHUP reload are processed" \
    wait_until 30 engine_caught_up $((N + 2))
check "the engine reloaded its rules" wait_until 10 reloaded

# --- clean stop ------------------------------------------------------------
stop_agent
check "tocsind stops cleanly on SIGTERM" stop_server
check "no pid file left" test ! -e "$DATA/run/tocsind.pid"
is "alerts still readable after the stop" \
    "$(tocsin alerts --json | own_alerts | wc -l)" "$(( $(wc -l <"$T/alerts.jsonl") + 2 ))"
is "the reload raised tocsin's own alert" \
    "$(tocsin alerts --json | jq -s 'map(select(.rule.id | startswith("tocsin."))) | length > 0')" true
