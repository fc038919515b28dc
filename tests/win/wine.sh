# tests/win/wine.sh - running tocsin-agent.exe under Wine in end-to-end
# scenarios (sourced after tests/e2e/lib.sh and e2e_setup).
#
#   wine_require        skip the whole scenario (exit 0) when the Windows
#                       agent cannot be built here; fail when it could be
#                       but was not
#   wine_setup          a Wine prefix of the scenario's own under $T
#                       (wineboot once per scenario), stopped by cleanup
#   winpath PATH        the Windows name of a Linux path (Z:/...)
#   win_config NAME     $T/NAME.yml (from `tocsin agents add`) rewritten for
#                       Windows: its paths on drive Z:
#   start_win_agent NAME [options]   the agent under Wine; sets AGENT_PID

WIN_EXE="$TOCSIN_TOP/bin/tocsin-agent.exe"

wine_require() {
	local why=""
	command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 ||
	    why="mingw-w64 is not installed"
	command -v wine >/dev/null 2>&1 || why="${why:+$why, }wine is not installed"
	if [ -n "$why" ]; then
		skip "the Windows agent cannot be built and run here: $why" \
		    "(make deps installs them)"
		exit 0
	fi
	if [ ! -f "$WIN_EXE" ]; then
		not_ok "bin/tocsin-agent.exe exists (make windows; make test builds it)"
		exit 1
	fi
}

wine_stop() {
	[ -n "${WINEPREFIX:-}" ] || return 0
	wineserver -k >/dev/null 2>&1
	wineserver -w >/dev/null 2>&1
}

wine_setup() {
	export WINEPREFIX="$T/wine" WINEDEBUG=-all WINEARCH=win64
	export WINEDLLOVERRIDES="mscoree,mshtml="	# no Mono/Gecko prompts
	trap 'wine_stop; e2e_cleanup' EXIT
	wineboot -i >"$T/wineboot.log" 2>&1
	# The service manager waits this long for a service process to
	# connect (Windows' ServicesPipeTimeout, which Wine reads too; its
	# default is too short for a Wine process started on a loaded
	# machine); read when the service manager starts, so restart it.
	wine reg add 'HKLM\System\CurrentControlSet\Control' /v \
	    ServicesPipeTimeout /t REG_DWORD /d 180000 /f >/dev/null 2>&1
	wineserver -k >/dev/null 2>&1
	wineserver -w >/dev/null 2>&1
	# a persistent server for the scenario: every wine call reuses it
	wineserver -p >/dev/null 2>&1
}

winpath() { echo "Z:$1"; }

win_config() {
	sed -i "s|$T/|Z:$T/|g" "$T/$1.yml"
}

start_win_agent() {
	local name=$1; shift
	wine "$WIN_EXE" -c "Z:$T/$name.yml" -f "$@" \
	    >>"$T/agent-$name.log" 2>&1 &
	AGENT_PID=$!
	E2E_PIDS+=("$AGENT_PID")
}
