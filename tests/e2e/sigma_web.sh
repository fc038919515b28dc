#!/usr/bin/env bash
# SigmaHQ's web rules (../shared/corpus/sigmahq/rules/web: webserver,
# proxy, apache, nginx) with the shipped decoders: how many load, how many
# name a field no decoder of their log source produces (docs/sigma.md lists
# them), and that they fire on real-format lines of their log source and
# only there (a keyword of a webserver rule in an sshd line stays silent,
# a proxy rule does not fire on a web server's line).
# TAP output; skipped with a message when the corpus is absent.
source "$(dirname "$0")/lib.sh"
e2e_setup

BIN="$TOCSIN_BIN/tocsin"
RULES="$TOCSIN_TOP/rules/default"
WEB="$CORPUS/sigmahq/rules/web"
ERR="$T/err.log"		# *.log: sanitizer reports in it fail the run
# Rules docs/sigma.md lists as left out (a field no decoder produces).
MAX_UNPRODUCED=1

if [ ! -d "$WEB" ]; then
	skip "SigmaHQ web rules: no corpus at $WEB"
	exit 0
fi
if ! command -v jq >/dev/null 2>&1; then
	skip "SigmaHQ web rules: jq is not installed"
	exit 0
fi

nfiles=$(find "$WEB" -name '*.yml' | wc -l)
"$BIN" rules lint "$RULES" "$WEB" >"$T/lint.txt" 2>&1
"$BIN" rules lint "$RULES" >"$T/lint0.txt" 2>&1
all=$(sed -n 's/^ok: \([0-9]*\) rules.*/\1/p' "$T/lint.txt" | tail -n 1)
base=$(sed -n 's/^ok: \([0-9]*\) rules.*/\1/p' "$T/lint0.txt" | tail -n 1)
loaded=$(( ${all:-0} - ${base:-0} ))
unproduced=$(grep 'produced by no decoder' "$T/lint.txt" |
    sed 's/:.*//' | sort -u | wc -l)
diag "SigmaHQ web rules: $loaded of $nfiles load, $unproduced with a field no decoder produces"
grep -E 'not loaded|produced by no decoder' "$T/lint.txt" | sed 's/^/#   /'
check "SigmaHQ web rules: every rule loads" test "$loaded" -eq "$nfiles"
check "SigmaHQ web rules: at most $MAX_UNPRODUCED with a field no decoder produces" \
    test "$unproduced" -le "$MAX_UNPRODUCED"
check "SigmaHQ web rules: at least 95% load with every field produced" \
    test "$(( (loaded - unproduced) * 100 ))" -ge "$(( nfiles * 95 ))"

# fires ID LINE: the Sigma rule with that id raises an alert on LINE.
sig() {	# the id of the rule in FILE
	sed -n 's/^id: *//p' "$WEB/$1" | head -n 1
}
alerts_of() {
	printf '%s\n' "$1" | "$BIN" rules test -r "$RULES" -r "$WEB" --json - \
	    2>>"$ERR" | jq -r '.alerts[].id'
}
fires() {
	local id; id=$(sig "$1")
	if alerts_of "$2" | grep -q -x -F "$id"; then
		ok "$3"
	else
		not_ok "$3"
		diag "rule $1 ($id) did not fire on: $2"
	fi
}
silent() {	# stays silent: rules test must itself succeed on the line
	local id out rc
	id=$(sig "$1")
	out=$(printf '%s\n' "$2" | "$BIN" rules test -r "$RULES" -r "$WEB" \
	    --json - 2>>"$ERR"); rc=$?
	if [ -z "$id" ]; then
		not_ok "$3"
		diag "no id in $1"
	elif [ "$rc" -ne 0 ] ||
	    [ "$(printf '%s\n' "$out" | jq -s length 2>/dev/null)" != 1 ]; then
		not_ok "$3"
		diag "rules test failed on the line (exit $rc): $2"
	elif printf '%s\n' "$out" | jq -r '.alerts[].id' | grep -q -x -F "$id"; then
		not_ok "$3"
	else
		ok "$3"
	fi
}

fires webserver_generic/web_sql_injection_in_access_logs.yml \
    '198.51.100.1 - - [30/Jan/2026:10:00:00 +0000] "GET /item.php?id=1%20UNION%20SELECT%20password%20FROM%20users HTTP/1.1" 200 512 "-" "Mozilla/5.0"' \
    "webserver: SQL injection strings in a GET (cs-method, keywords)"
silent webserver_generic/web_sql_injection_in_access_logs.yml \
    '198.51.100.1 - - [30/Jan/2026:10:00:00 +0000] "GET /item.php?id=1%20UNION%20SELECT%20password%20FROM%20users HTTP/1.1" 404 512 "-" "Mozilla/5.0"' \
    "webserver: ... not when answered 404 (its sc-status filter)"
fires webserver_generic/web_susp_useragents.yml \
    '198.51.100.2 - - [30/Jan/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 512 "-" "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)"' \
    "webserver: recon tool user agent (cs-user-agent)"
fires webserver_generic/web_path_traversal_exploitation_attempt.yml \
    '198.51.100.3 - - [30/Jan/2026:10:00:02 +0000] "GET /cgi-bin/../../../etc/passwd HTTP/1.1" 400 226 "-" "curl/8"' \
    "webserver: path traversal (cs-uri-query as the whole target)"
fires webserver_generic/web_f5_tm_utility_bash_api_request.yml \
    '198.51.100.4 - - [30/Jan/2026:10:00:03 +0000] "POST /mgmt/tm/util/bash HTTP/1.1" 200 512 "-" "curl/8"' \
    "webserver: F5 iControl bash (cs-uri-query|endswith on the path)"
fires webserver_generic/web_source_code_enumeration.yml \
    '198.51.100.5 - - [30/Jan/2026:10:00:04 +0000] "GET /.git/config HTTP/1.1" 404 226 "-" "curl/8"' \
    "webserver: keyword .git/ in an access line"
silent webserver_generic/web_source_code_enumeration.yml \
    'Jan 30 10:00:05 h sshd[1]: Invalid user .git/ from 198.51.100.5 port 22' \
    "webserver: keyword .git/ in an sshd line stays silent (log_type)"
printf '%s\n' '#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status cs(User-Agent)' \
    '2026-01-30 10:00:06 198.51.100.6 GET /index.aspx cmd=whoami 200 Mozilla/5.0' >"$T/iis.log"
id=$(sig webserver_generic/web_win_webshells_in_access_logs.yml)
if "$BIN" rules test -r "$RULES" -r "$WEB" --json "$T/iis.log" 2>>"$ERR" |
    jq -r '.alerts[].id' | grep -q -x -F "$id"; then
	ok "webserver: Windows web shell strings in an IIS W3C line"
else
	not_ok "webserver: Windows web shell strings in an IIS W3C line"
fi
fires proxy_generic/proxy_ua_hacktool.yml \
    '10.1.2.3 - - [30/Jan/2026:10:00:07 +0000] "GET http://www.example.com/ HTTP/1.1" 200 512 "-" "Mozilla/5.0 (compatible) arachni/v1.5.1" TCP_MISS:HIER_DIRECT' \
    "proxy: hack tool user agent (c-useragent) in a proxy access line"
silent proxy_generic/proxy_ua_hacktool.yml \
    '10.1.2.3 - - [30/Jan/2026:10:00:07 +0000] "GET / HTTP/1.1" 200 512 "-" "Mozilla/5.0 (compatible) arachni/v1.5.1"' \
    "proxy: ... not in a web server's access line"
fires proxy_generic/proxy_raw_paste_service_access.yml \
    '1769774822.120    180 10.1.2.4 TCP_MISS/200 4110 GET https://paste.ee/r/abc123 - HIER_DIRECT/104.20.67.143 text/plain' \
    "proxy: raw paste service in a Squid native line (c-uri)"
fires product/apache/web_apache_segfault.yml \
    '[Thu Jan 30 10:00:08.000001 2026] [core:notice] [pid 811] AH00052: child pid 4343 exit signal Segmentation fault (11)' \
    "apache: segfault keyword in an Apache error line"
fires product/nginx/web_nginx_core_dump.yml \
    '2026/01/30 10:00:09 [alert] 1000#1000: worker process 4242 exited on signal 6 (core dumped)' \
    "nginx: core dump keyword in an nginx error line"
exit "$E2E_FAILED"
