#!/usr/bin/env bash
# The Windows correlations of rules/default/correlation.yml on streams of
# Event XML through `tocsin rules test -r rules/default --json` (the
# engine's own evaluation on a throw-away state): each fires on an attack
# and stays silent on benign traffic of the same kind.  The logon events
# are Microsoft's documented 4625 and 4624 samples (the real events of
# rules/default/windows.test) with the account, logon type, address, host
# and time of each step put in; the Defender events are those of
# rules/default/defender.test.  TAP output.
source "$(dirname "$0")/lib.sh"
e2e_setup

BIN="$TOCSIN_BIN/tocsin"
DEF="$TOCSIN_TOP/rules/default"
ERR="$T/err.log"	# *.log: sanitizer reports in it fail the run

if ! command -v jq >/dev/null 2>&1; then
	skip "windows correlations: jq is not installed"
	exit 0
fi

# the real samples, by rule id, from windows.test
T4625=$(grep -m1 '^win.logon_failed <.*<EventID>4625<.*DC01.contoso.local' \
    "$DEF/windows.test" | cut -d' ' -f2-)
T4624=$(grep -m1 '^none <.*<EventID>4624<.*WIN-GG82ULGC9GO' \
    "$DEF/windows.test" | cut -d' ' -f2-)
check "the real 4625 sample is in windows.test" test -n "$T4625"
check "the real 4624 sample is in windows.test" test -n "$T4624"

# logon TEMPLATE SECONDS HOST USER TYPE IP: the sample at 2026-01-30
# 10:00 + SECONDS, on HOST, for USER, of logon type TYPE, from IP.
logon() {
	local t
	t=$(printf '2026-01-30T%02d:%02d:%02d.0000000Z' \
	    $((10 + $2 / 3600)) $(($2 % 3600 / 60)) $(($2 % 60)))
	printf '%s\n' "$1" | sed \
	    -e "s|SystemTime='[^']*'|SystemTime='$t'|" \
	    -e "s|<Computer>[^<]*</Computer>|<Computer>$3</Computer>|" \
	    -e "s|<Data Name='TargetUserName'>[^<]*<|<Data Name='TargetUserName'>$4<|" \
	    -e "s|<Data Name='LogonType'>[^<]*<|<Data Name='LogonType'>$5<|" \
	    -e "s|<Data Name='IpAddress'>[^<]*<|<Data Name='IpAddress'>$6<|"
}

# fired FILE ID: how many times correlation ID fires over FILE
fired() {
	"$BIN" rules test -r "$DEF" --json "$1" 2>>"$ERR" |
	    jq -s --arg id "$2" '[.[].correlations[]? | select(.id == $id)] | length'
}

# ---- RDP brute force: 8 failed type-10 logons from one address in 2 min
: >"$T/rdp.log"; : >"$T/rdp_ok.log"
for i in 0 1 2 3 4 5 6 7 8 9; do
	logon "$T4625" $((i * 10)) TS01.contoso.local "user$i" 10 \
	    203.0.113.9 >>"$T/rdp.log"
	# benign: the same ten failures spread over ten minutes... of
	# different users from different office PCs
	logon "$T4625" $((i * 60)) TS01.contoso.local "user$i" 10 \
	    "10.0.0.$((i + 1))" >>"$T/rdp_ok.log"
done
is "corr.win_rdp_brute_force fires once on 10 failures in 90 s" \
    "$(fired "$T/rdp.log" corr.win_rdp_brute_force)" 1
is "corr.win_rdp_brute_force is silent on failures from ten addresses" \
    "$(fired "$T/rdp_ok.log" corr.win_rdp_brute_force)" 0
# 7 failures are below the threshold
head -n 7 "$T/rdp.log" >"$T/rdp7.log"
is "corr.win_rdp_brute_force is silent on 7 failures" \
    "$(fired "$T/rdp7.log" corr.win_rdp_brute_force)" 0

# ---- SMB / network brute force: type 3
: >"$T/smb.log"; : >"$T/smb_slow.log"
for i in 0 1 2 3 4 5 6 7; do
	logon "$T4625" $((i * 5)) FS01.contoso.local administrator 3 \
	    198.51.100.20 >>"$T/smb.log"
	# benign: a stale mapped drive retrying once a minute
	logon "$T4625" $((i * 60)) FS01.contoso.local administrator 3 \
	    198.51.100.20 >>"$T/smb_slow.log"
done
is "corr.win_smb_brute_force fires on 8 network failures in 40 s" \
    "$(fired "$T/smb.log" corr.win_smb_brute_force)" 1
is "corr.win_smb_brute_force is silent on one failure a minute" \
    "$(fired "$T/smb_slow.log" corr.win_smb_brute_force)" 0
is "corr.win_rdp_brute_force is silent on network failures" \
    "$(fired "$T/smb.log" corr.win_rdp_brute_force)" 0

# ---- password spraying: one address, 10 accounts, across 5 hosts
: >"$T/spray.log"; : >"$T/spray_ok.log"
for i in 0 1 2 3 4 5 6 7 8 9; do
	logon "$T4625" $((i * 30)) "WS0$((i % 5)).contoso.local" "emp$i" 3 \
	    192.0.2.77 >>"$T/spray.log"
	# benign: nine accounts failing once each from their own PCs,
	# and one account failing ten times from one address
	logon "$T4625" $((i * 30)) "WS0$((i % 5)).contoso.local" \
	    "emp$((i % 9))" 3 "10.1.0.$((i % 9 + 1))" >>"$T/spray_ok.log"
done
is "corr.win_password_spraying fires on 10 accounts from one address over 5 hosts" \
    "$(fired "$T/spray.log" corr.win_password_spraying)" 1
is "corr.win_password_spraying is silent on accounts failing from their own PCs" \
    "$(fired "$T/spray_ok.log" corr.win_password_spraying)" 0

# benign: ten users failing network logons that carry no address
# (IpAddress "-", as NTLM logons without one do) on their own PCs: "-" is
# no address to group on
sed "s|<Data Name='IpAddress'>[^<]*<|<Data Name='IpAddress'>-<|" \
    "$T/spray.log" >"$T/spray_dash.log"
is "corr.win_password_spraying is silent on failures whose IpAddress is -" \
    "$(fired "$T/spray_dash.log" corr.win_password_spraying)" 0

# ---- brute force then success from the same address
cp "$T/smb.log" "$T/bfs.log"
logon "$T4624" 60 FS01.contoso.local administrator 3 198.51.100.20 \
    >>"$T/bfs.log"
is "corr.win_brute_force_success fires on 8 failures then a network logon" \
    "$(fired "$T/bfs.log" corr.win_brute_force_success)" 1
cp "$T/smb.log" "$T/bfs_ok.log"
logon "$T4624" 60 FS01.contoso.local administrator 3 10.0.0.5 >>"$T/bfs_ok.log"
is "corr.win_brute_force_success is silent on a success from another address" \
    "$(fired "$T/bfs_ok.log" corr.win_brute_force_success)" 0
logon "$T4624" 60 FS01.contoso.local administrator 3 198.51.100.20 \
    >"$T/bfs_only.log"
is "corr.win_brute_force_success is silent on a success without failures" \
    "$(fired "$T/bfs_only.log" corr.win_brute_force_success)" 0

# ---- lateral movement: one account on 5 hosts in 10 minutes
: >"$T/lat.log"; : >"$T/lat_ok.log"
for i in 1 2 3 4 5; do
	logon "$T4624" $((i * 60)) "SRV0$i.contoso.local" svc_backup 3 \
	    10.2.0.7 >>"$T/lat.log"
	# benign: five users each on their own server
	logon "$T4624" $((i * 60)) "SRV0$i.contoso.local" "user$i" 3 \
	    "10.2.0.$i" >>"$T/lat_ok.log"
	# benign: one account on one host five times
	logon "$T4624" $((i * 60)) SRV01.contoso.local svc_backup 3 \
	    10.2.0.7 >>"$T/lat_ok.log"
done
is "corr.win_lateral_movement fires on one account on 5 hosts" \
    "$(fired "$T/lat.log" corr.win_lateral_movement)" 1
is "corr.win_lateral_movement is silent on users on their own hosts" \
    "$(fired "$T/lat_ok.log" corr.win_lateral_movement)" 0
head -n 4 "$T/lat.log" >"$T/lat4.log"
is "corr.win_lateral_movement is silent on 4 hosts" \
    "$(fired "$T/lat4.log" corr.win_lateral_movement)" 0
# interactive logons (type 2) are not lateral movement
sed "s|<Data Name='LogonType'>3<|<Data Name='LogonType'>2<|" "$T/lat.log" \
    >"$T/lat2.log"
is "corr.win_lateral_movement is silent on interactive logons" \
    "$(fired "$T/lat2.log" corr.win_lateral_movement)" 0

# ---- new account added to a privileged group: 4720 then 4732/4728/4756,
# on the account's SID.  The real 4720 (ksmith, TargetSid ...-6609) and
# 4732 (MemberSid ...-500, group AccountOperators) of windows.test; the
# group change is put into Administrators (local, Builtin) or Domain
# Admins (4728) and onto the new account's SID for the attack.
T4720=$(grep -m1 '^win.account_created <.*<EventID>4720<.*DC01.contoso.local' \
    "$DEF/windows.test" | cut -d' ' -f2-)
T4732=$(grep -m1 '^win.group_member_added <.*<EventID>4732<.*DC01.contoso.local' \
    "$DEF/windows.test" | cut -d' ' -f2-)
check "the real 4720 sample is in windows.test" test -n "$T4720"
check "the real 4732 sample is in windows.test" test -n "$T4732"
KSID=S-1-5-21-3457937927-2839227994-823803824-6609
# member ID GROUP SID TIME: the 4732 sample as event ID, adding the
# account of SID to GROUP, at TIME (the 4720 sample is 2015-08-20 16:22:02)
member() {
	printf '%s\n' "$T4732" | sed \
	    -e "s|<EventID>4732<|<EventID>$1<|" \
	    -e "s|<Data Name='TargetUserName'>[^<]*<|<Data Name='TargetUserName'>$2<|" \
	    -e "s|<Data Name='MemberSid'>[^<]*<|<Data Name='MemberSid'>$3<|" \
	    -e "s|<Data Name='MemberName'>[^<]*<|<Data Name='MemberName'>-<|" \
	    -e "s|SystemTime='[^']*'|SystemTime='$4'|"
}
{ printf '%s\n' "$T4720"
  member 4732 Administrators "$KSID" 2015-08-20T16:25:00.0000000Z; } \
    >"$T/newadm.log"
is "corr.win_new_privileged_account fires on 4720 then 4732 Administrators for its SID" \
    "$(fired "$T/newadm.log" corr.win_new_privileged_account)" 1
{ printf '%s\n' "$T4720"
  member 4728 'Domain Admins' "$KSID" 2015-08-20T16:50:00.0000000Z; } \
    >"$T/newadm_dom.log"
is "corr.win_new_privileged_account fires on 4720 then 4728 Domain Admins" \
    "$(fired "$T/newadm_dom.log" corr.win_new_privileged_account)" 1
# both events carry the account's SID as account_sid (the correlation's key)
is "4720 and the group change both give account_sid the new account's SID" \
    "$("$BIN" rules test -r "$DEF" --json "$T/newadm.log" 2>>"$ERR" |
    jq -r '.fields.account_sid' | sort | uniq -c | awk '{print $1, $2}')" \
    "2 $KSID"
is "the group change's user is its member, not the group" \
    "$("$BIN" rules test -r "$DEF" --json "$T/newadm.log" 2>>"$ERR" |
    jq -r 'select(.line == 2) | .fields.user')" "-"
# benign: the group change is about another account (the sample's own
# MemberSid, ...-500), or the group is not a privileged one, or the
# membership comes first, or more than an hour later
{ printf '%s\n' "$T4720"
  member 4732 Administrators S-1-5-21-3457937927-2839227994-823803824-500 \
      2015-08-20T16:25:00.0000000Z; } >"$T/newadm_other.log"
is "corr.win_new_privileged_account is silent when another account joins Administrators" \
    "$(fired "$T/newadm_other.log" corr.win_new_privileged_account)" 0
is "... though the group change itself still alerts" \
    "$("$BIN" rules test -r "$DEF" --json "$T/newadm_other.log" 2>>"$ERR" |
    jq -s '[.[].alerts[]? | select(.id == "win.privileged_group_member_added")] | length')" 1
{ printf '%s\n' "$T4720"
  member 4732 'Print Operators' "$KSID" 2015-08-20T16:25:00.0000000Z; } \
    >"$T/newadm_unpriv.log"
is "corr.win_new_privileged_account is silent on a group that is not privileged" \
    "$(fired "$T/newadm_unpriv.log" corr.win_new_privileged_account)" 0
{ member 4732 Administrators "$KSID" 2015-08-20T16:20:00.0000000Z
  printf '%s\n' "$T4720"; } >"$T/newadm_rev.log"
is "corr.win_new_privileged_account is silent when the membership comes first" \
    "$(fired "$T/newadm_rev.log" corr.win_new_privileged_account)" 0
{ printf '%s\n' "$T4720"
  member 4732 Administrators "$KSID" 2015-08-20T17:30:00.0000000Z; } \
    >"$T/newadm_late.log"
is "corr.win_new_privileged_account is silent on a membership more than an hour later" \
    "$(fired "$T/newadm_late.log" corr.win_new_privileged_account)" 0
# the Linux rule keyed on dstuser does not fire on Windows events, and
# nothing of the Windows one on Linux lines (accounts.test is Linux)
is "corr.new_privileged_account (dstuser) stays out of Windows events" \
    "$(fired "$T/newadm.log" corr.new_privileged_account)" 0

# ---- malware detected, then protection disabled on the same host
D1116=$(grep -m1 '^defender.threat_detected <Event' "$DEF/defender.test" |
    cut -d' ' -f2-)
D5001=$(grep -m1 '^defender.rtp_disabled <Event' "$DEF/defender.test" |
    cut -d' ' -f2-)
printf '%s\n%s\n' "$D1116" "$D5001" >"$T/av.log"
is "corr.av_disabled_after_detection fires on 1116 then 5001 on one host" \
    "$(fired "$T/av.log" corr.av_disabled_after_detection)" 1
printf '%s\n%s\n' "$D1116" \
    "$(printf '%s' "$D5001" | sed 's|<Computer>[^<]*<|<Computer>WS10.corp.example<|')" \
    >"$T/av_other.log"
is "corr.av_disabled_after_detection is silent when protection goes off on another host" \
    "$(fired "$T/av_other.log" corr.av_disabled_after_detection)" 0
# protection turned off (11:05) before the detection (11:10): no sequence
printf '%s\n%s\n' \
    "$(printf '%s' "$D5001" | sed "s|SystemTime='[^']*'|SystemTime='2026-01-30T11:05:00.0000000Z'|")" \
    "$D1116" >"$T/av_rev.log"
is "corr.av_disabled_after_detection is silent on protection off before the detection" \
    "$(fired "$T/av_rev.log" corr.av_disabled_after_detection)" 0

exit "$E2E_FAILED"
