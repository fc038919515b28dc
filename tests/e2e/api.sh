#!/usr/bin/env bash
# tests/e2e/api.sh - the HTTP API through the real daemons and curl: every
# endpoint with every role (allowed and refused), token expiry and
# revocation, the console's session cookie and its CSRF token, paging,
# the live feed (SSE), malformed and oversized requests, the request rate,
# changes signed with the caller's name and seen by the CLI, and the API
# process killed while collection and detection go on.
. "$(dirname "$0")/lib.sh"

e2e_setup
API_PORT=$(free_port)
{
	echo "api:"
	echo "  listen: 127.0.0.1:$API_PORT"
	echo "  rate: 20"
	echo "  burst: 60"
	echo "  max_page: 50"
	echo "  max_body: 4k"
} >>"$CFG"
B="http://127.0.0.1:$API_PORT"
api_listening() { tcp_listening "$API_PORT"; }
start_server || { not_ok "server starts"; exit 1; }
check "the api listens" wait_until 30 api_listening

# ---- tokens ---------------------------------------------------------------------
mktoken() {	# NAME ROLE [--ttl DUR]: prints the token
	tocsin api token create --name "$1" --role "$2" "${@:3}" 2>/dev/null |
	    awk '/^token:/ { print $2 }'
}
V=$(mktoken vera viewer); A=$(mktoken alice analyst); M=$(mktoken root-admin admin)
X=$(mktoken short viewer --ttl 1s); F=$(mktoken flood viewer)
check "tokens created for each role" test -n "$V" -a -n "$A" -a -n "$M" -a -n "$X"
is "tokens listed with their role, secrets never" \
    "$(tocsin api token list --json | jq -sc '[.[] | [.name, .role]] | sort')" \
    '[["alice","analyst"],["flood","viewer"],["root-admin","admin"],["short","viewer"],["vera","viewer"]]'
check "the list holds no secret" sh -c "! tocsin api token list --json | grep -q '${V#*.}'"
check "token files hold only hashes" sh -c "! grep -rq '${V#*.}' '$DATA/keys/api-tokens'"

# req TOKEN METHOD PATH [curl args]: the status code; the body in $T/body
req() {
	local tok=$1 m=$2 p=$3; shift 3
	curl -s -o "$T/body" -w '%{http_code}' -X "$m" \
	    ${tok:+-H "Authorization: Bearer $tok"} "$@" "$B$p"
}
code() { jq -r '.error.code // empty' "$T/body"; }

# ---- alerts and an incident to work on -------------------------------------------------
send() { printf '%s\n' "$@" >"/dev/tcp/127.0.0.1/$SYSLOG_PORT"; }
fail_line() {	# SECOND USER IP
	echo "<38>2026-01-01T10:00:$1Z web01 sshd[101]: Failed password for $2 from $3 port 40022 ssh2"
}
lines=()
for s in 10 11 12 13 14 15 16 17 18 19 20 21; do
	lines+=("$(fail_line "$s" root 203.0.113.5)")
done
send "${lines[@]}"
n_alerts() { tocsin alerts --json 2>/dev/null | wc -l; }
alerts_ge() { [ "$(n_alerts)" -ge "$1" ]; }
check "alerts raised" wait_until 30 alerts_ge 12
inc_open() { tocsin incidents --json 2>/dev/null | grep -q '"id":1'; }
check "an incident opened" wait_until 30 inc_open

# ---- authentication ---------------------------------------------------------------
is "no credentials: 401 unauthenticated" \
    "$(req "" GET /api/v1/alerts)/$(code)" "401/unauthenticated"
is "a forged token: 401" "$(req "${V%%.*}.00000000000000000000000000000000" \
    GET /api/v1/alerts)/$(code)" "401/unauthenticated"
is "not a bearer header: 401" "$(curl -s -o "$T/body" -w '%{http_code}' \
    -H "Authorization: Basic Zm9vOmJhcg==" "$B/api/v1/alerts")/$(code)" \
    "401/unauthenticated"
sleep 1.2
is "an expired token: 401 token_expired" \
    "$(req "$X" GET /api/v1/status)/$(code)" "401/token_expired"
is "the OpenAPI document needs no token and is JSON" \
    "$(req "" GET /api/v1/openapi.json)/$(jq -r .openapi "$T/body")" "200/3.0.3"
is "it describes every route of the API" \
    "$(jq -r '.paths | keys | length' "$T/body")" 20

# ---- every read endpoint, every role ---------------------------------------------------
for tok in V A M; do
	t=${!tok}
	bad=0
	for p in /api/v1/status /api/v1/alerts /api/v1/alerts/1 /api/v1/events \
	    /api/v1/incidents /api/v1/incidents/1 /api/v1/agents \
	    /api/v1/rules /api/v1/drills /api/v1/drills/ssh-bruteforce-sudo; do
		c=$(req "$t" GET "$p")
		[ "$c" = 200 ] || { not_ok "$tok GET $p: $c $(head -c 200 "$T/body")"; bad=1; }
	done
	[ "$bad" = 0 ] && ok "role $tok reads every read endpoint (200)"
done
is "status: the five processes and the engine's counters" \
    "$(req "$V" GET /api/v1/status >/dev/null; jq -c '[[.processes[] | .name], (.counters["engine.alerts"] >= 12), (.counters["api.requests"] >= 1)]' "$T/body")" \
    '[["tocsind","collector","engine","outputs","api"],true,true]'
is "alerts as the CLI stores them" \
    "$(req "$V" GET "/api/v1/alerts?limit=1" >/dev/null; jq -c '.alerts[0] | [.id, .rule.id, .host]' "$T/body")" \
    "$(tocsin alerts --json --limit 1 | jq -c '[.id, .rule.id, .host]')"
is "one alert; a missing one is 404 not_found" \
    "$(req "$V" GET /api/v1/alerts/1 >/dev/null; jq .id "$T/body")/$(req "$V" GET /api/v1/alerts/999999)/$(code)" \
    "1/404/not_found"
is "the CLI's filters: host, rule, min_level" \
    "$(req "$V" GET "/api/v1/alerts?host=web01&rule=sshd.failed_password_root&min_level=1&limit=50" >/dev/null; jq '.alerts | length' "$T/body")" \
    "$(tocsin alerts --json --host web01 --rule sshd.failed_password_root --min-level 1 | wc -l)"
is "events: the journal, newest first" \
    "$(req "$V" GET "/api/v1/events?limit=2" >/dev/null; jq -c '[.events[].jseq] | (.[0] > .[1])' "$T/body")" true
is "events: grep, a PCRE2 pattern on the raw line (the CLI's --grep)" \
    "$(req "$V" GET "/api/v1/events?limit=50&grep=for%20root%20from%20203%5C.0" >/dev/null; jq -c '[(.events | length), ([.events[].raw | test("for root from 203[.]0")] | all)]' "$T/body")" \
    '[12,true]'
is "events: a pattern that does not compile: 400 with its offset" \
    "$(req "$V" GET "/api/v1/events?grep=a(b")/$(jq -r '.error.message | test("offset 3")' "$T/body")" \
    "400/true"
is "rules: the loaded set" \
    "$(req "$V" GET /api/v1/rules >/dev/null; jq -c '[(.count > 100), (.rules | map(.id) | index("sshd.failed_password") != null)]' "$T/body")" \
    '[true,true]'
is "rules/test runs a line through the live set (viewer may)" \
    "$(req "$V" POST /api/v1/rules/test -d "{\"lines\":[\"$(fail_line 30 root 198.51.100.1)\"]}")/$(jq -c '.results[0] | [.decoder, .fields.srcip, ([.alerts[].id] | index("sshd.failed_password_root") != null)]' "$T/body")" \
    '200/["sshd.auth_result","198.51.100.1",true]'
is "drills: the shipped scenarios" \
    "$(req "$V" GET /api/v1/drills >/dev/null; jq -c '[.drills[].name] | sort | index("ssh-bruteforce-sudo") != null' "$T/body")" true
is "a drill that does not exist: 404" \
    "$(req "$V" GET /api/v1/drills/no-such-drill)/$(code)" "404/not_found"
is "incident page: the incident, its alerts, its history" \
    "$(req "$V" GET /api/v1/incidents/1 >/dev/null; jq -c '[.incident.id, (.alerts | length > 0), .history[0].change, .history[0].by]' "$T/body")" \
    '[1,true,"opened","engine"]'

# ---- roles: refused ------------------------------------------------------------------------
is "viewer may not act on an incident: 403 forbidden" \
    "$(req "$V" POST /api/v1/incidents/1/ack)/$(code)" "403/forbidden"
is "viewer may not run a drill: 403" \
    "$(req "$V" POST /api/v1/drills/ssh-bruteforce-sudo/run)/$(code)" "403/forbidden"
is "viewer may not list tokens: 403" "$(req "$V" GET /api/v1/tokens)/$(code)" \
    "403/forbidden"
is "analyst may not list tokens: 403" "$(req "$A" GET /api/v1/tokens)/$(code)" \
    "403/forbidden"
is "analyst may not create tokens: 403" "$(req "$A" POST /api/v1/tokens \
    -d '{"name":"x","role":"admin"}')/$(code)" "403/forbidden"
is "admin lists tokens (no secrets)" \
    "$(req "$M" GET /api/v1/tokens)/$(jq '.tokens | length' "$T/body")/$(grep -c "${A#*.}" "$T/body")" \
    "200/5/0"

# ---- agents: viewers read, admins manage --------------------------------------------------
enroll web07 >/dev/null 2>&1
is "agents: an enrolled agent, its state and group" \
    "$(req "$V" GET /api/v1/agents >/dev/null; jq -c '.agents[] | select(.name == "web07") | [.enrolled, .state, .group]' "$T/body")" \
    '[true,"never_seen","default"]'
is "analyst may not revoke an agent: 403" \
    "$(req "$A" DELETE /api/v1/agents/web07)/$(code)" "403/forbidden"
is "admin puts it in a group" \
    "$(req "$M" POST /api/v1/agents/web07/group -d '{"group":"web"}')/$(req "$V" GET /api/v1/agents >/dev/null; jq -r '.agents[] | select(.name == "web07") | .group' "$T/body")" \
    "200/web"
is "a bad group name: 400" "$(req "$M" POST /api/v1/agents/web07/group -d '{"group":"../x"}')" 400
is "admin revokes it" "$(req "$M" DELETE /api/v1/agents/web07)" 200
is "then it is no longer enrolled (the CLI agrees)" \
    "$(tocsin agents --json | jq -r 'select(.name == "web07") | .enrolled' | tr -d '\n')" ""
is "revoking it again: 404" "$(req "$M" DELETE /api/v1/agents/web07)" 404

# ---- actions, signed with the caller's name ---------------------------------------------------
is "analyst acknowledges: applied by the engine" \
    "$(req "$A" POST /api/v1/incidents/1/ack -d '{"note":"looking"}')/$(jq -r .incident.state "$T/body")" \
    "200/acknowledged"
is "assign needs an assignee: 400 malformed" \
    "$(req "$A" POST /api/v1/incidents/1/assign -d '{}')/$(code)" "400/malformed"
is "assign" "$(req "$A" POST /api/v1/incidents/1/assign -d '{"assignee":"bob"}')/$(jq -r .incident.assignee "$T/body")" "200/bob"
is "note (UTF-8 kept)" "$(req "$A" POST /api/v1/incidents/1/note -d '{"note":"đã chặn IP"}')" 200
is "resolve" "$(req "$A" POST /api/v1/incidents/1/resolve)/$(jq -r .incident.state "$T/body")" "200/resolved"
is "ack of a resolved incident: 409 refused by the engine" \
    "$(req "$A" POST /api/v1/incidents/1/ack)/$(code)" "409/refused"
is "reopen" "$(req "$A" POST /api/v1/incidents/1/reopen)/$(jq -r .incident.state "$T/body")" "200/open"
is "false-positive" "$(req "$M" POST /api/v1/incidents/1/false-positive)/$(jq -r .incident.state "$T/body")" "200/false_positive"
is "an unknown action: 404" "$(req "$A" POST /api/v1/incidents/1/delete)/$(code)" "404/not_found"
is "a missing incident: 409 refused" "$(req "$A" POST /api/v1/incidents/9999/ack)/$(code)" "409/refused"
is "the history names every change and who made it" \
    "$(req "$V" GET /api/v1/incidents/1 >/dev/null; jq -c '[.history[] | select(.by != "engine") | [.change, .by]]' "$T/body")" \
    '[["acknowledged","alice"],["assigned","alice"],["note","alice"],["resolved","alice"],["reopened","alice"],["false_positive","root-admin"]]'
is "the note's text in the history" \
    "$(jq -r '[.history[] | select(.change == "note") | .note][0]' "$T/body")" "đã chặn IP"
is "the CLI sees the API's changes" \
    "$(tocsin incidents show 1 --json | jq -r '[.state, .assignee] | join(" ")')" \
    "false_positive bob"

show=$(tocsin incidents show 1)
check "tocsin incidents show: the history with actor" sh -c \
    "echo \"\$0\" | grep -q 'acknowledged by alice (note: looking)'" "$show"
check "tocsin incidents show: the assignment and the note" sh -c \
    "echo \"\$0\" | grep -q 'assigned to bob by alice' && echo \"\$0\" | grep -q 'note added by alice: đã chặn IP'" "$show"
check "tocsin incidents show: status changes and who" sh -c \
    "echo \"\$0\" | grep -q 'false_positive by root-admin' && echo \"\$0\" | grep -q 'opened by engine'" "$show"
me=${SUDO_USER:-$(id -un)}
tocsin incidents note 1 "from the command line" >/dev/null
is "the CLI signs its change with the Unix user, never unknown" \
    "$(req "$A" GET /api/v1/incidents/1 >/dev/null; jq -r '.history[-1] | .by + " " + .note' "$T/body")" \
    "$me from the command line"

# ---- paging ----------------------------------------------------------------------------------
all=$(tocsin alerts --json | jq -s -c '[.[].id]')
cur=""; got="[]"; pages=0
while :; do
	c=$(req "$V" GET "/api/v1/alerts?limit=5${cur:+&cursor=$cur}")
	[ "$c" = 200 ] || break
	got=$(jq -c --argjson g "$got" '$g + [.alerts[].id]' "$T/body")
	pages=$((pages + 1))
	cur=$(jq -r '.next_cursor // empty' "$T/body")
	[ -n "$cur" ] && [ "$pages" -lt 100 ] || break
done
is "pages of 5 walk every alert once, newest first" "$got" "$all"
check "more than one page" test "$pages" -gt 2
before=$(counter api.page_capped)
is "a page larger than max_page is capped (and counted)" \
    "$(req "$V" GET "/api/v1/alerts?limit=5000" >/dev/null; jq .limit "$T/body")" 50
capped_more() { [ "$(counter api.page_capped)" -gt "${before:-0}" ]; }
check "api.page_capped counted in tocsin status" wait_until 10 capped_more
is "a cursor not from this API: 400 bad_argument" \
    "$(req "$V" GET "/api/v1/alerts?cursor=abc")/$(code)" "400/bad_argument"
is "incident pages by id" \
    "$(req "$V" GET "/api/v1/incidents?limit=1" >/dev/null; jq -c '[(.incidents | length), .next_cursor]' "$T/body")" \
    "$(n=$(tocsin incidents --json | wc -l); [ "$n" -gt 1 ] && echo "[1,\"$n\"]" || echo '[1,null]')"

# ---- malformed and oversized requests ------------------------------------------------------------
is "a bad min_level: 400 bad_argument" \
    "$(req "$V" GET "/api/v1/alerts?min_level=99")/$(code)" "400/bad_argument"
is "a bad since: 400" "$(req "$V" GET "/api/v1/alerts?since=yesterday")/$(code)" \
    "400/bad_argument"
is "an unknown argument: 400" "$(req "$V" GET "/api/v1/alerts?levle=3")/$(code)" \
    "400/bad_argument"
is "a body that is not JSON: 400 malformed" \
    "$(req "$A" POST /api/v1/incidents/1/note -d '{"note":')/$(code)" "400/malformed"
is "a JSON body that is not an object: 400" \
    "$(req "$A" POST /api/v1/rules/test -d '["a"]')/$(code)" "400/malformed"
is "a note with a control byte: 400" \
    "$(req "$A" POST /api/v1/incidents/1/note -d '{"note":"a\u0007b"}')/$(code)" "400/malformed"
head -c 5000 /dev/zero | tr '\0' a >"$T/big"
is "a body over max_body: 413 too_big" \
    "$(req "$A" POST /api/v1/rules/test --data-binary "@$T/big")/$(code)" "413/too_big"
is "a chunked body over max_body: 413 too_big" \
    "$(req "$A" POST /api/v1/rules/test -H 'Transfer-Encoding: chunked' --data-binary "@$T/big")/$(code)" "413/too_big"
is "an unknown endpoint: 404" "$(req "$V" GET /api/v1/nothing)/$(code)" "404/not_found"
is "a wrong method: 405" "$(req "$V" DELETE /api/v1/alerts)/$(code)" \
    "405/method_not_allowed"
refused_counted() { [ "$(counter api.refused_too_big)" -ge 2 ] && [ "$(counter api.refused_malformed)" -ge 4 ]; }
check "refusals counted in tocsin status" wait_until 10 refused_counted

# ---- the request rate ---------------------------------------------------------------------------
urls=(); for i in $(seq 1 150); do urls+=(-o /dev/null "$B/api/v1/status"); done
curl -s -w '%{http_code}\n' -H "Authorization: Bearer $F" \
    "${urls[@]}" >"$T/codes"
n429=$(grep -c '^429$' "$T/codes"); n200=$(grep -c '^200$' "$T/codes")
check "a flood of one token is refused with 429 past its burst ($n200 ok, $n429 refused)" \
    test "$n429" -gt 0 -a "$n200" -ge 60
is "other tokens are not slowed by it" "$(req "$V" GET /api/v1/status)" 200
rate_counted() { [ "$(counter api.refused_rate_limit)" -ge "$n429" ]; }
check "api.refused_rate_limit counted" wait_until 10 rate_counted

# ---- the console's session -------------------------------------------------------------------
printf 'correct horse battery\n' >"$T/pw"
check "a console user is added" tocsin api user add carol --role analyst \
    --password-file "$T/pw"
check "the password is stored as Argon2id" grep -q 'argon2id' \
    "$DATA/keys/api-users/carol"
is "a wrong password: 401" "$(curl -s -o "$T/body" -w '%{http_code}' -X POST \
    "$B/api/v1/session" -d '{"user":"carol","password":"wrong password!"}')" 401
curl -s -D "$T/hdr" -o "$T/body" -c "$T/jar" -X POST "$B/api/v1/session" \
    -d '{"user":"carol","password":"correct horse battery"}'
check "log-in sets an HttpOnly SameSite=Strict cookie" \
    grep -qi '^set-cookie: tocsin_session=[0-9a-f]*; Path=/; HttpOnly; SameSite=Strict' "$T/hdr"
csrf=$(jq -r .csrf_token "$T/body")
is "the session reads" "$(curl -s -o "$T/body" -w '%{http_code}' -b "$T/jar" \
    "$B/api/v1/incidents")" 200
is "a change with the cookie and no CSRF token: 403 csrf" \
    "$(curl -s -o "$T/body" -w '%{http_code}' -b "$T/jar" -X POST \
    "$B/api/v1/incidents/1/reopen")/$(code)" "403/csrf"
is "a change with a wrong CSRF token: 403" \
    "$(curl -s -o "$T/body" -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: ${csrf//[0-9a-f]/0}" \
    -X POST "$B/api/v1/incidents/1/reopen")" 403
is "with the session's CSRF token: applied, signed carol" \
    "$(curl -s -o "$T/body" -w '%{http_code}' -b "$T/jar" -H "X-CSRF-Token: $csrf" \
    -X POST "$B/api/v1/incidents/1/reopen")/$(req "$V" GET /api/v1/incidents/1 >/dev/null; jq -r '.history[-1] | .by + " " + .change' "$T/body")" \
    "200/carol reopened"
curl -s -o /dev/null -b "$T/jar" -H "X-CSRF-Token: $csrf" -X DELETE "$B/api/v1/session"
is "after log-out the cookie is refused" "$(curl -s -o "$T/body" -w '%{http_code}' \
    -b "$T/jar" "$B/api/v1/incidents")" 401
curl -s -o "$T/body" -c "$T/jar2" -X POST "$B/api/v1/session" -d "{\"token\":\"$V\"}"
is "log-in with a token gives its role" "$(jq -r .role "$T/body")" viewer

# ---- password checks: unknown users, a bound on them at once, the login rate ----------------
login() {	# USER PASSWORD: the status code; the body in $T/body
	curl -s -o "$T/body" -w '%{http_code}' -X POST "$B/api/v1/session" \
	    -d "{\"user\":\"$1\",\"password\":\"$2\"}"
}
# the two password logins above, once published, are the baseline
two_checks() { [ "$(counter api.password_checks)" -ge 2 ]; }
check "the password logins above are counted (api.password_checks)" wait_until 10 two_checks
pc0=$(counter api.password_checks); pu0=$(counter api.password_checks_unknown_user)
is "an unknown user: 401, the same answer as a wrong password" \
    "$(login nosuchuser 'correct horse battery')/$(jq -c .error "$T/body")" \
    "401/$(login carol 'wrong password!' >/dev/null; jq -c .error "$T/body")"
pw_counted() { [ "$(counter api.password_checks)" -ge $((pc0 + 2)) ]; }
check "both ran a password check (api.password_checks +2)" wait_until 10 pw_counted
unknown_counted() { [ "$(counter api.password_checks_unknown_user)" = $((pu0 + 1)) ]; }
check "the unknown user's check ran against the stand-in hash (api.password_checks_unknown_user +1, the wrong password not)" \
    wait_until 10 unknown_counted
# more logins at once than the password slots, and more than the per-address
# burst: some wait for nothing (503), the rest are refused by the rate (429)
pargs=()
for i in $(seq 1 16); do pargs+=(-o "$T/par.$i" "$B/api/v1/session"); done
curl -s --parallel --parallel-immediate --parallel-max 16 -X POST \
    -d '{"user":"carol","password":"correct horse battery"}' \
    -w '%{http_code}\n' "${pargs[@]}" >"$T/pcodes"
n503=$(grep -c '^503$' "$T/pcodes"); n429=$(grep -c '^429$' "$T/pcodes")
check "logins at once past the password slots: 503 ($n503 of 16)" test "$n503" -gt 0
check "logins past the per-address burst: 429 ($n429 of 16)" test "$n429" -gt 0
check "503 carries error code password_checks_busy, 429 login_rate_limited" sh -c \
    "cat '$T'/par.* | jq -r '.error.code // empty' | sort -u | grep -x -e password_checks_busy -e login_rate_limited | wc -l | grep -qx 2"
busy_counted() { [ "$(counter api.refused_password_busy)" -ge "$n503" ] &&
    [ "$(counter api.refused_login_rate)" -ge "$n429" ]; }
check "api.refused_password_busy and api.refused_login_rate counted in tocsin status" \
    wait_until 10 busy_counted

# ---- revocation ------------------------------------------------------------------------------
vid=${V%%.*}
check "the viewer token is revoked" tocsin api token revoke "$vid"
is "a revoked token: 401 at once" "$(req "$V" GET /api/v1/status)/$(code)" \
    "401/unauthenticated"
is "and the session made with it ends" "$(curl -s -o "$T/body" -w '%{http_code}' \
    -b "$T/jar2" "$B/api/v1/status")" 401
is "admin creates a token through the API" \
    "$(req "$M" POST /api/v1/tokens -d '{"name":"dave","role":"viewer","ttl":"1h"}')/$(jq -r .role "$T/body")" \
    "201/viewer"
D=$(jq -r .token "$T/body")
is "it works" "$(req "$D" GET /api/v1/status)" 200
is "admin revokes it through the API" "$(req "$M" DELETE "/api/v1/tokens/${D%%.*}")" 200
is "then it is refused" "$(req "$D" GET /api/v1/status)" 401

# ---- a drill run through the API ------------------------------------------------------------
is "analyst runs a shipped scenario: 202" \
    "$(req "$A" POST /api/v1/drills/ssh-bruteforce-sudo/run -d '{"as_fast_as_possible":true}')/$(jq -r .status "$T/body")" \
    "202/running"
is "an unknown scenario: 404" "$(req "$A" POST /api/v1/drills/no-such/run)" 404
is "a bad speed: 400" "$(req "$A" POST /api/v1/drills/webshell/run -d '{"speed":0}')" 400
drill_done() {
	req "$A" GET /api/v1/drills/ssh-bruteforce-sudo >/dev/null &&
	    [ "$(jq -r '.running' "$T/body")" = false ] &&
	    [ "$(jq -r '.scorecard.scenario // empty' "$T/body")" = ssh-bruteforce-sudo ]
}
check "the drill ends with its scorecard stored" wait_until 90 drill_done
is "the scorecard: every expectation met" \
    "$(jq -c '.scorecard | [.passed, .missed]' "$T/body")" '[true,0]'
is "the run is listed among past drills, and as the scenario's latest" \
    "$(req "$A" GET /api/v1/drills >/dev/null; jq -c '[(.runs | map(.scenario) | index("ssh-bruteforce-sudo") != null), ([.drills[] | select(.name == "ssh-bruteforce-sudo") | .latest.passed][0])]' "$T/body")" \
    '[true,true]'
check "its output is kept in DATADIR/run" test -s "$DATA/run/drill-ssh-bruteforce-sudo.log"
is "the CLI sees the same drill" \
    "$(tocsin drill list --json | jq -r 'select(.scenario == "ssh-bruteforce-sudo") | .passed' | tail -n 1)" true

# ---- the live feed (SSE) ---------------------------------------------------------------------------
curl -s -N -H "Authorization: Bearer $A" "$B/api/v1/stream" >"$T/sse" &
SSE_PID=$!
sse_open() { grep -q '^: tocsin live feed' "$T/sse"; }
check "the feed opens" wait_until 10 sse_open
send "$(fail_line 40 root 198.51.100.77)"
sse_alert() { grep -q '^data: .*198\.51\.100\.77' "$T/sse"; }
check "a new alert arrives on the feed as 'event: alert'" wait_until 30 sse_alert
check "each event carries an id to resume from" grep -q '^id: a:[0-9]*,i:[0-9]*$' "$T/sse"
req "$A" POST /api/v1/incidents/1/note -d '{"note":"on the feed"}' >/dev/null
sse_inc() { grep -q '^data: .*on the feed' "$T/sse"; }
check "an incident change arrives as 'event: incident'" wait_until 30 sse_inc
check "the feed's JSON lines parse" sh -c "sed -n 's/^data: //p' '$T/sse' | jq -e . >/dev/null"
kill "$SSE_PID" 2>/dev/null; wait "$SSE_PID" 2>/dev/null
last_id=$(grep '^id:' "$T/sse" | head -n 1 | sed 's/^id: //')
curl -s -N -m 3 -H "Authorization: Bearer $A" -H "Last-Event-ID: $last_id" \
    "$B/api/v1/stream" >"$T/sse2"
check "Last-Event-ID resumes after that event (the note comes again)" \
    grep -q 'on the feed' "$T/sse2"

# ---- the console's files -------------------------------------------------------------------------
nweb=0
while IFS= read -r f; do
	rel=${f#"$TOCSIN_TOP/api/web"}
	curl -s -o "$T/web" "$B$rel"
	if cmp -s "$f" "$T/web"; then nweb=$((nweb + 1)); else not_ok "GET $rel serves $f"; fi
done < <(find "$TOCSIN_TOP/api/web" -type f ! -name '.*' 2>/dev/null)
if [ "$nweb" -gt 0 ]; then ok "the $nweb embedded console files are served as they are in api/web"
else skip "no console files in api/web yet"; fi
is "a file that is not there: 404" "$(req "" GET /no-such-file.js)" 404

# ---- failed bearer tokens are limited per address ---------------------------------------------------
af0=$(counter api.refused_auth_fail_rate)
: >"$T/fcodes"
for i in $(seq 1 30); do
	req "${M%%.*}.0000000000000000000000000000000$((i % 10))" GET /api/v1/status >>"$T/fcodes"
	echo >>"$T/fcodes"
done
nf401=$(grep -c '^401$' "$T/fcodes"); nf429=$(grep -c '^429$' "$T/fcodes")
check "30 forged tokens from one address: refused 429 past the burst ($nf401 x 401, $nf429 x 429)" \
    test "$nf429" -gt 0 -a "$nf401" -gt 0 -a $((nf401 + nf429)) = 30
is "with error code auth_fail_rate_limited, before the token is looked at" "$(code)" auth_fail_rate_limited
af_counted() { [ "$(counter api.refused_auth_fail_rate)" -ge $((af0 + nf429)) ]; }
check "api.refused_auth_fail_rate counted in tocsin status" wait_until 10 af_counted

# ---- the API killed: collection and detection go on -------------------------------------------------
api_pid=$(cat "$DATA/run/api.pid")
n0=$(n_alerts)
kill -KILL "$api_pid"
send "$(fail_line 50 root 198.51.100.88)" "$(fail_line 51 root 198.51.100.88)"
check "with the API dead, alerts are still raised" wait_until 30 alerts_ge $((n0 + 2))
api_back() {
	p=$(cat "$DATA/run/api.pid" 2>/dev/null)
	[ -n "$p" ] && [ "$p" != "$api_pid" ] && kill -0 "$p" 2>/dev/null &&
	    [ "$(req "$A" GET /api/v1/status)" = 200 ]
}
check "tocsind restarts the API and it serves again" wait_until 30 api_back
is "the new alerts through the restarted API" \
    "$(req "$A" GET "/api/v1/alerts?limit=1&no_drill=true" >/dev/null; jq -r '.alerts[0].fields.srcip' "$T/body")" \
    198.51.100.88
check "tocsin status shows the api process" sh -c \
    "'$TOCSIN_BIN/tocsin' -c '$CFG' status | grep -q '^ *api'"

stop_server
check "server stops cleanly" test -z "${SERVER_PID:-}"
exit $((E2E_FAILED > 0))
