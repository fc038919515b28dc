#!/bin/bash
# deb.sh - the Debian packages, as an administrator meets them: install,
# run, enrol an agent, ship events, upgrade over an edited configuration,
# purge.  TAP lines, then "N passed, N failed".
#
#   bash tests/pkg/deb.sh DEBDIR     (make test-deb builds DEBDIR first)
#
# The packages are installed on THIS machine (there is no Debian archive to
# make a chroot from when offline), so the test refuses to run where it
# could harm an installation: not root, a tocsin package already installed,
# /etc/tocsin or /var/lib/tocsin present.  It undoes everything it did, on
# success, failure and interrupt: daemons stopped, packages purged, the
# policy-rc.d it put removed, the tocsin user it created deleted.  Service
# starts by the maintainer scripts are forbidden (policy-rc.d), so systemd,
# where it runs, never starts the daemons: the test starts them itself.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
debdir=$(cd "${1:-$top/build/deb}" && pwd) || exit 2
source "$top/tests/e2e/lib.sh"	# ok, not_ok, check, wait_until, free_port

PKGS="tocsin tocsin-agent tocsin-cli"
T=$(mktemp -d /tmp/tocsin-pkg.XXXXXX)
chmod 0755 "$T"
POLICY=/usr/sbin/policy-rc.d
put_policy=0 made_user=0 installed=0
SERVER_PID= AGENT_PID=

PASSED=0
ok()   { echo "ok - $*"; PASSED=$((PASSED + 1)); }
skip() { echo "ok - $* # SKIP"; PASSED=$((PASSED + 1)); }

stop_pid() {	# PID: TERM, bounded wait, KILL
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	wait_until 30 not_running "$1" || kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

cleanup() {
	stop_pid "$AGENT_PID"; AGENT_PID=
	stop_pid "$SERVER_PID"; SERVER_PID=
	if [ "$installed" = 1 ]; then
		# shellcheck disable=SC2086
		dpkg --purge $PKGS >>"$T/dpkg.log" 2>&1
	fi
	case "$put_policy" in
	1) rm -f "$POLICY" ;;
	2) mv -f "$POLICY.tocsin-pkgtest" "$POLICY" ;;
	esac
	if [ "$made_user" = 1 ] && getent passwd tocsin >/dev/null; then
		userdel tocsin 2>/dev/null
		getent group tocsin >/dev/null && groupdel tocsin 2>/dev/null
	fi
	if [ "${E2E_FAILED:-0}" -gt 0 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "# ---- tail of $(basename "$f")"
			tail -n 25 "$f" | sed 's/^/# /'
		done
	fi
	rm -rf "$T"
	echo "$PASSED passed, $E2E_FAILED failed"
	[ "$E2E_FAILED" = 0 ]
}

# ---- preconditions: skip, never harm -------------------------------------
skip_all() {
	echo "ok - package test # SKIP $*"
	echo "1 passed, 0 failed"
	rm -rf "$T"
	exit 0
}
[ "$(id -u)" = 0 ] || skip_all "needs root (it installs the packages)"
command -v dpkg >/dev/null || skip_all "no dpkg"
for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		skip_all "$p is installed on this machine; not touching it"
	fi
done
[ -e /etc/tocsin ] || [ -e /var/lib/tocsin ] || [ -e /var/lib/tocsin-agent ] &&
    skip_all "/etc/tocsin or /var/lib/tocsin* exists; not touching it"
# A policy-rc.d that already forbids starts (as in container images) is
# kept; any other is moved aside for the test and put back.
policy_denies=0
if [ -x "$POLICY" ]; then
	"$POLICY" tocsind.service start >/dev/null 2>&1
	[ $? = 101 ] && policy_denies=1
fi
getent passwd tocsin >/dev/null || made_user=1

ver=$(dpkg-deb -f "$debdir"/tocsin_*_*.deb Version) || exit 2
deb() { ls "$debdir"/"$1"_"$ver"_*.deb; }

trap cleanup EXIT
trap 'exit 1' INT TERM HUP

if [ "$policy_denies" = 0 ]; then
	if [ -e "$POLICY" ]; then
		mv "$POLICY" "$POLICY.tocsin-pkgtest" || exit 2
		put_policy=2
	else
		put_policy=1
	fi
	printf '#!/bin/sh\n# tocsin package test: no service starts\nexit 101\n' >"$POLICY"
	chmod 0755 "$POLICY"
fi

# ---- lintian -------------------------------------------------------------
if command -v lintian >/dev/null; then
	lintian --tag-display-limit 0 "$debdir"/*.changes >"$T/lintian.log" 2>&1
	if grep -q '^E: ' "$T/lintian.log"; then
		not_ok "lintian: no errors"; grep '^E: ' "$T/lintian.log" | sed 's/^/# /'
	else
		ok "lintian: no errors"
	fi
else
	skip "lintian: not installed"
fi

# ---- install -------------------------------------------------------------
installed=1
if dpkg -i "$(deb tocsin-cli)" "$(deb tocsin)" "$(deb tocsin-agent)" \
    >"$T/dpkg.log" 2>&1; then
	ok "dpkg -i of the three packages"
else
	not_ok "dpkg -i of the three packages"
	exit 1
fi
has_user() { getent passwd tocsin >/dev/null; }
check "the tocsin system user exists" has_user
check "the package made /etc/tocsin/groups for group configurations" \
    test -d /etc/tocsin/groups
is "/var/lib/tocsin is 750 tocsin:tocsin" \
    "$(stat -c '%a %U:%G' /var/lib/tocsin)" "750 tocsin:tocsin"
is "/etc/tocsin/tocsind.yml is 640 root:tocsin" \
    "$(stat -c '%a %U:%G' /etc/tocsin/tocsind.yml)" "640 root:tocsin"
is "conffiles of tocsin" "$(dpkg-query --control-show tocsin conffiles | sort | tr '\n' ' ')" \
    "/etc/tocsin/rules.d/local.yml /etc/tocsin/tocsind.yml "
for m in /usr/share/man/man8/tocsind.8.gz /usr/share/man/man8/tocsin-agent.8.gz \
    /usr/share/man/man1/tocsin.1.gz /usr/share/man/man5/tocsind.yml.5.gz \
    /usr/share/man/man5/tocsin-rules.5.gz; do
	if ! [ -f "$m" ]; then
		not_ok "man page $m installed"
	elif command -v mandoc >/dev/null; then
		check "mandoc -T lint $(basename "$m" .gz)" \
		    mandoc -T lint -W warning "$m"
	else
		ok "man page $m installed (mandoc absent: not linted) # SKIP"
	fi
done
if command -v systemd-analyze >/dev/null; then
	for u in tocsind tocsin-agent; do
		if systemd-analyze verify "/lib/systemd/system/$u.service" \
		    >"$T/verify-$u.log" 2>&1; then
			ok "systemd-analyze verify $u.service"
		else
			not_ok "systemd-analyze verify $u.service"
			sed 's/^/# /' "$T/verify-$u.log"
		fi
	done
else
	skip "systemd-analyze verify: not installed"
fi

# ---- configure and run, as an administrator would --------------------------
PORT=$(free_port); SYSLOG_PORT=$(free_port); LIVE_PORT=$(free_port)
EPORT=$(free_port)
sed -i -e "s|tcp://127.0.0.1:7514|tcp://127.0.0.1:$PORT|" \
    -e "s|^  # enroll_listen: .*|  enroll_listen: tcp://127.0.0.1:$EPORT|" \
    -e "s|127.0.0.1:5514|127.0.0.1:$SYSLOG_PORT|" \
    -e "s|tcp://127.0.0.1:7516|tcp://127.0.0.1:$LIVE_PORT|" \
    -e 's|^  journal_map_size: .*|  journal_map_size: 64M|' \
    -e 's|^  state_map_size: .*|  state_map_size: 64M|' \
    /etc/tocsin/tocsind.yml
echo "# edited by the package test" >>/etc/tocsin/tocsind.yml
cp /etc/tocsin/tocsind.yml "$T/edited.yml"
as_tocsin() { setpriv --reuid=tocsin --regid=tocsin --init-groups -- "$@"; }

out=$(cd / && as_tocsin /usr/sbin/tocsind -t 2>&1)
case "$out" in
*"configuration /etc/tocsin/tocsind.yml: ok"*)
	ok "tocsind -t with no flags reads /etc/tocsin/tocsind.yml" ;;
*) not_ok "tocsind -t with no flags reads /etc/tocsin/tocsind.yml"; diag "$out" ;;
esac

(cd / && exec setpriv --reuid=tocsin --regid=tocsin --init-groups -- \
    /usr/sbin/tocsind -f) >>"$T/tocsind.log" 2>&1 &
SERVER_PID=$!
pkg_server_ready() { (cd / && as_tocsin tocsin status >/dev/null 2>&1); }
check "tocsind runs as tocsin; 'tocsin status' with no flags sees it" \
    wait_until 60 pkg_server_ready
is "tocsind's data went to /var/lib/tocsin" \
    "$(stat -c %U /var/lib/tocsin/run/tocsind.pid 2>/dev/null)" "tocsin"

# enrol the PC with a token, as a province's PCs are, then run the agent
: >"$T/app.log"
(cd / && as_tocsin tocsin agents token create --ttl 1h) >"$T/token.log" 2>&1
TOK=$(awk '/^token:/ {print $2}' "$T/token.log")
FP=$(awk '/^fingerprint:/ {print $2}' "$T/token.log")
if (cd / && /usr/sbin/tocsin-agent enroll --server "127.0.0.1:$EPORT" \
    --token "$TOK" --fingerprint "$FP" --name pkgtest \
    --follow "$T/app.log") >"$T/enrol.log" 2>&1; then
	ok "tocsin-agent enroll with a token writes /etc/tocsin/agent.yml"
else
	not_ok "tocsin-agent enroll with a token writes /etc/tocsin/agent.yml"
	sed 's/^/# /' "$T/token.log" "$T/enrol.log"
fi
is "agent.yml is 600" "$(stat -c %a /etc/tocsin/agent.yml 2>/dev/null)" 600
(cd / && exec /usr/sbin/tocsin-agent -f) >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
pkg_agent_following() {
	grep -qE 'follow: .*(following from offset|reading it from the start|resuming at offset)' \
	    "$T/agent.log"
}
check "tocsin-agent with no flags reads /etc/tocsin/agent.yml and follows" \
    wait_until 30 pkg_agent_following
check "the agent's spool is in /var/lib/tocsin-agent" \
    test -s /var/lib/tocsin-agent/agent.pid

mark="pkgtest-$$-$RANDOM"
for i in 1 2 3 4 5 6 7 8; do
	echo "$(date '+%b %e %H:%M:%S') web01 sshd[4$i]: Failed password for root from 192.0.2.77 port 5$i ssh2 $mark" >>"$T/app.log"
done
pkg_events() {
	[ "$( (cd / && as_tocsin tocsin events --grep "$mark") 2>/dev/null |
	    grep -c "$mark")" -ge 8 ]
}
check "the events went agent -> collector -> journal" wait_until 60 pkg_events
pkg_alert() {
	(cd / && as_tocsin tocsin alerts --host web01 --json) 2>/dev/null |
	    grep -q 'sshd.failed_password'
}
check "the engine raised alerts from the installed rules" wait_until 60 pkg_alert

kill -HUP "$SERVER_PID" 2>/dev/null
pkg_reloaded() { grep -q 'SIGHUP' "$T/tocsind.log"; }
check "SIGHUP (systemctl reload) reaches tocsind" wait_until 20 pkg_reloaded
stop_pid "$AGENT_PID"; AGENT_PID=
stop_pid "$SERVER_PID"; SERVER_PID=

# ---- upgrade over the edited configuration ---------------------------------
# A next version: the same packages repacked with a new version and a
# changed shipped tocsind.yml, so that dpkg meets a conffile changed on both
# sides.
newver="$ver+pkgtest1"
mkdir -p "$T/up"
for p in $PKGS; do
	d="$T/up/$p"
	dpkg-deb -R "$(deb "$p")" "$d" || not_ok "repack $p"
	sed -i -e "s/^Version: .*/Version: $newver/" \
	    -e "s/(= $ver)/(= $newver)/g" "$d/DEBIAN/control"
	[ "$p" = tocsin ] &&
	    echo "# a comment the next version adds" >>"$d/etc/tocsin/tocsind.yml"
	dpkg-deb --root-owner-group -b "$d" "$T/up/${p}_${newver}.deb" >/dev/null ||
	    not_ok "repack $p"
done
if dpkg -i --force-confdef --force-confold "$T/up/tocsin-cli_${newver}.deb" \
    "$T/up/tocsin_${newver}.deb" "$T/up/tocsin-agent_${newver}.deb" \
    >>"$T/dpkg.log" 2>&1; then
	ok "upgrade to $newver"
else
	not_ok "upgrade to $newver"
fi
is "the upgrade installed the new version" \
    "$(dpkg-query -W -f='${Version}' tocsin)" "$newver"
check "the edited tocsind.yml is kept" cmp -s "$T/edited.yml" /etc/tocsin/tocsind.yml
check "the new shipped one is beside it as tocsind.yml.dpkg-dist" \
    grep -q "a comment the next version adds" /etc/tocsin/tocsind.yml.dpkg-dist
check "the agent's configuration is kept" test -s /etc/tocsin/agent.yml
check "the journal survives the upgrade" pkg_events
is "tocsind.yml is still 640 root:tocsin" \
    "$(stat -c '%a %U:%G' /etc/tocsin/tocsind.yml)" "640 root:tocsin"
(cd / && exec setpriv --reuid=tocsin --regid=tocsin --init-groups -- \
    /usr/sbin/tocsind -f) >>"$T/tocsind.log" 2>&1 &
SERVER_PID=$!
check "tocsind starts again after the upgrade" wait_until 60 pkg_server_ready
stop_pid "$SERVER_PID"; SERVER_PID=

# ---- purge ---------------------------------------------------------------
# shellcheck disable=SC2086
if dpkg --purge $PKGS >>"$T/dpkg.log" 2>&1; then
	installed=0
	ok "dpkg --purge"
else
	not_ok "dpkg --purge"
fi
for p in /etc/tocsin /var/lib/tocsin /var/lib/tocsin-agent /usr/sbin/tocsind \
    /usr/sbin/tocsin-agent /usr/bin/tocsin /usr/share/tocsin \
    /lib/systemd/system/tocsind.service; do
	check "purge removed $p" test ! -e "$p"
done

