#!/usr/bin/env bash
# `tocsin rules test|check|lint` without a daemon: every shipped .test file
# runs through the CLI (the engine's own rules_eval path); --expect turns
# `rules test` into a check (exit 1 on a mismatch); --json gives JSON Lines;
# `rules lint` prints every error as file:line:col and exits 1 on bad files;
# JSON and CEF lines decode.  TAP output.
source "$(dirname "$0")/lib.sh"
e2e_setup

BIN="$TOCSIN_BIN/tocsin"
RULES="$TOCSIN_TOP/rules/default"
OUT="$T/out.txt"
ERR="$T/err.log"		# *.log: sanitizer reports in it fail the run

# run ARGS...: stdout to $OUT, stderr to $ERR, exit status in RC.
run() {
	"$BIN" -c "$CFG" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}
# run_in INPUT ARGS...: the same with INPUT on standard input.
run_in() {
	local input=$1; shift
	printf '%s\n' "$input" | "$BIN" -c "$CFG" "$@" >"$OUT" 2>"$ERR"
	RC=$?
}
show() { sed 's/^/# /' "$ERR" | head -n 8; sed 's/^/# /' "$OUT" | head -n 8; }

# ---- every shipped .test file, one TAP line each ----------------------------
n=0
for t in "$RULES"/*.test; do
	[ -f "$t" ] || continue
	n=$((n + 1))
	run rules check -r "$RULES" "$t"
	if [ "$RC" = 0 ] && grep -q 'all passed' "$OUT"; then
		ok "rules check $(basename "$t")"
	else
		not_ok "rules check $(basename "$t") (exit $RC)"; show
	fi
done
if [ "$n" -gt 0 ]; then ok "found $n .test files"
else not_ok "no .test files in $RULES"; fi

run rules check -r "$RULES"
if [ "$RC" = 0 ] && grep -q "^$n files, .* all passed" "$OUT"; then
	ok "rules check without FILE finds and runs all $n files"
else
	not_ok "rules check without FILE (exit $RC)"; show
fi
run rules test --tests -r "$RULES" "$RULES/sshd.test"
if [ "$RC" = 0 ]; then ok "rules test --tests runs a .test file"
else not_ok "rules test --tests (exit $RC)"; show; fi

# ---- rules test ---------------------------------------------------------------
L='Jan 26 00:00:05 h sshd[1]: Invalid user sammy from 35.246.248.48 port 47192'
run_in "$L" rules test -r "$RULES" -
if [ "$RC" = 0 ] && grep -q '^  decoder: sshd.invalid_user$' "$OUT" &&
    grep -q '^  field srcip = 35.246.248.48$' "$OUT" &&
    grep -q '^  matched: sshd.invalid_user(5)$' "$OUT" &&
    grep -q '^  alert: sshd.invalid_user level 5: ' "$OUT"; then
	ok "rules test shows decoder, fields, matched rules and the alert"
else
	not_ok "rules test text output (exit $RC)"; show
fi
run_in "$L" rules test -r "$RULES" --expect sshd.invalid_user -
is "--expect with the right id exits 0" "$RC" 0
run_in "$L" rules test -r "$RULES" --expect none -
if [ "$RC" = 1 ] && grep -q 'want none, got sshd.invalid_user' "$ERR"; then
	ok "--expect none on an alerting line exits 1 and says why"
else
	not_ok "--expect mismatch (exit $RC)"; show
fi
run_in "$L" rules test -r "$RULES" --json -
if [ "$RC" = 0 ] && jq -e '.decoder == "sshd.invalid_user" and
    .fields.user == "sammy" and .alerts[0].id == "sshd.invalid_user" and
    .alerts[0].level == 5 and (.matched | length) == 1' "$OUT" >/dev/null
then
	ok "--json gives one JSON object per line"
else
	not_ok "--json output (exit $RC)"; show
fi
printf 'Jan 26 00:00:05 h sshd[1]: Invalid user \xe9t\xff from 1.2.3.4 port 2\n' |
    "$BIN" -c "$CFG" rules test -r "$RULES" --json - >"$OUT" 2>"$ERR"
RC=$?
if [ "$RC" = 0 ] && jq -e '.fields.user == "\\xe9t\\xff"' "$OUT" >/dev/null; then
	ok "--json escapes bytes that are not UTF-8"
else
	not_ok "--json with invalid UTF-8 (exit $RC)"; show
fi
printf '%s\nnot a log line\n' "$L" >"$T/two.log"
run rules test -r "$RULES" --json "$T/two.log"
is "--json: one line per input line" "$(wc -l <"$OUT" | tr -d ' ')" 2
run rules test -r "$RULES" "$T/does-not-exist.log"
is "a missing input file exits 2" "$RC" 2

# the default rule paths come from the configuration (engine.rules)
cat >"$T/rules-cfg.yml" <<EOF
data_dir: $T/data
engine:
  rules:
    - $RULES
EOF
printf '%s\n' "$L" | "$BIN" -c "$T/rules-cfg.yml" rules test \
    --expect sshd.invalid_user - >"$OUT" 2>"$ERR"
RC=$?
is "rules test uses engine.rules of the configuration" "$RC" 0

# ---- JSON and CEF decoders through the CLI --------------------------------
mkdir -p "$T/sr"
cat >"$T/sr/structured.yml" <<'EOF'
decoders:
  - name: winlogbeat
    type: json
    fields: {EventID: winlog.event_id}
  - name: cef
    type: cef
rules:
  - id: t.defender
    title: Defender threat
    level: 10
    fields:
      EventID: '1116'
      'winlog.event_data.Threat Name': {contains: EICAR}
  - id: t.ksc
    title: KSC virus
    level: 9
    fields:
      cef.vendor: KasperskyLab
      act: Deleted
EOF
run_in '{"winlog":{"event_id":1116,"event_data":{"Threat Name":"Virus:DOS/EICAR_Test_File"}}}' \
    rules test -r "$T/sr" --expect t.defender --json -
if [ "$RC" = 0 ] && jq -e '.decoder == "winlogbeat" and
    .fields["winlog.event_data.Threat Name"] == "Virus:DOS/EICAR_Test_File"' \
    "$OUT" >/dev/null; then
	ok "a JSON line decodes by key path and alerts"
else
	not_ok "JSON line (exit $RC)"; show
fi
run_in '<134>Jan 26 00:00:05 ksc01 CEF:0|KasperskyLab|SecurityCenter|13.2|GNRL_EV_VIRUS_FOUND|Virus found|4|fname=C:\\x y.exe act=Deleted' \
    rules test -r "$T/sr" --expect t.ksc --json -
if [ "$RC" = 0 ] && jq -e '.decoder == "cef" and
    .fields.fname == "C:\\x y.exe" and .fields["cef.severity"] == "4"' \
    "$OUT" >/dev/null; then
	ok "a CEF line decodes header and extension and alerts"
else
	not_ok "CEF line (exit $RC)"; show
fi

# ---- rules test runs the correlation rules over the lines ---------------------
# Eight invalid users from one address within two minutes: the eighth line
# fires corr.ssh_brute_force (threshold 8 in rules/default/correlation.yml),
# as it would in the engine; no line before it does.
: >"$T/brute.log"
for i in 1 2 3 4 5 6 7 8; do
	echo "Jan 26 00:00:0$i h sshd[1]: Invalid user u$i from 35.246.248.48 port 4719$i" >>"$T/brute.log"
done
run rules test -r "$RULES" "$T/brute.log"
ncorr=$(grep -c '^  correlation: corr.ssh_brute_force level 10: .* (8)$' "$OUT")
last=$(awk '/^[^ ]/ { src = $0 } /^  correlation: corr.ssh_brute_force/ { print src }' "$OUT")
if [ "$RC" = 0 ] && [ "$ncorr" = 1 ] && case "$last" in *brute.log:8:*) true ;; *) false ;; esac; then
	ok "rules test fires corr.ssh_brute_force on the eighth line, once"
else
	not_ok "rules test fires corr.ssh_brute_force on the eighth line (exit $RC, $ncorr times, at '$last')"; show
fi
run rules test --json -r "$RULES" "$T/brute.log"
if [ "$RC" = 0 ] && [ "$(jq -r '.correlations[].id' "$OUT" | sort | uniq -c | awk '{ print $1, $2 }')" = "1 corr.ssh_brute_force" ] &&
    [ "$(jq -r 'select(.correlations | length > 0) | .line' "$OUT")" = 8 ]; then
	ok "rules test --json lists the correlation of line 8"
else
	not_ok "rules test --json lists the correlation of line 8 (exit $RC)"; show
fi
run rules test -r "$RULES" --expect sshd.invalid_user "$T/brute.log"
if [ "$RC" = 1 ] && grep -q 'brute.log:8: want sshd.invalid_user, got sshd.invalid_user,corr.ssh_brute_force' "$ERR"; then
	ok "rules test --expect counts the correlation alert of line 8"
else
	not_ok "rules test --expect counts the correlation alert (exit $RC)"; show
fi

# A Sigma base rule that only feeds a correlation (generate: false) raises
# no alert of its own in the engine: rules test says so, and --expect
# counts only what the engine raises.
SC="$TOCSIN_TOP/tests/sigma"
printf '%s\n' '{"Kind": "fail", "User": "a"}' '{"Kind": "fail", "User": "a"}' \
    '{"Kind": "fail", "User": "a"}' >"$T/ec.json"
run rules test -r "$SC/decoders.yml" -r "$SC/corr/event_count.yml" --expect none "$T/ec.json"
if [ "$RC" = 1 ] && [ "$(grep -c 'want none' "$ERR")" = 1 ] &&
    grep -q 'ec.json:3: want none, got conf-corr-ec$' "$ERR" &&
    [ "$(grep -c '^  alert: conf-corr-ec-fail .*(no alert in the engine: it feeds a correlation, generate: false)$' "$OUT")" = 3 ]; then
	ok "rules test: a generate: false base rule raises nothing, its correlation does"
else
	not_ok "rules test: generate: false (exit $RC)"; show
fi

# ---- lint ---------------------------------------------------------------------
run rules lint "$RULES"
if [ "$RC" = 0 ] && grep -q '^ok: [0-9]* rules' "$OUT"; then
	ok "rules lint of the shipped set exits 0"
else
	not_ok "rules lint rules/default (exit $RC)"; show
fi
mkdir -p "$T/bad"
cat >"$T/bad/a.yml" <<'EOF'
rules:
  - id: dup
    title: t
    level: 3
    levle: 4
    match: '(unclosed'
  - id: child
    title: t
    level: 3
    if_rule: nosuch
EOF
cat >"$T/bad/b.yml" <<'EOF'
rules:
  - id: dup
    title: t
    level: 3
    program: sshd
    fields:
      nosuchfield: x
EOF
run rules lint "$T/bad"
want=(
	"$T/bad/a.yml:5:5: error: unknown key 'levle' in rule"
	"$T/bad/a.yml:6:12: error: regex error at offset 9: "
	"$T/bad/a.yml:10:14: error: if_rule 'nosuch': no rule has this id"
	"$T/bad/b.yml:2:5: error: duplicate rule id 'dup' (first defined at $T/bad/a.yml:2)"
)
missing=0
for w in "${want[@]}"; do
	grep -qF "$w" "$OUT" || { missing=1; diag "missing: $w"; }
done
if [ "$RC" = 1 ] && [ "$missing" = 0 ]; then
	ok "rules lint prints every error as file:line:col and exits 1"
else
	not_ok "rules lint on bad files (exit $RC)"; show
fi
run rules test -r "$T/bad" --expect none /dev/null
if [ "$RC" = 2 ] && grep -q 'does not load' "$ERR"; then
	ok "rules test refuses a rule set with errors (exit 2)"
else
	not_ok "rules test with bad rules (exit $RC)"; show
fi
# a failing .test file: exit 1 and the line named
printf 'none %s\n    user=nobody\n' "$L" >"$T/fail.test"
run rules check -r "$RULES" "$T/fail.test"
if [ "$RC" = 1 ] && grep -q "fail.test:1: want none, got sshd.invalid_user" "$ERR" &&
    grep -q "fail.test:2: field user: got 'sammy', want 'nobody'" "$ERR"; then
	ok "a failing .test file exits 1 naming file:line"
else
	not_ok "failing .test (exit $RC)"; show
fi
run rules
is "rules without a sub-command is a usage error" "$RC" 2
run rules frob
is "an unknown sub-command is a usage error" "$RC" 2
run rules lint --help
is "rules lint --help exits 0" "$RC" 0

exit 0
