/*
 * platform_win.c - tocsin-agent's platform layer on Windows (platform.h):
 * files opened with full sharing and identified by volume serial number and
 * file index, the console's Ctrl+C and the service control manager instead
 * of signals, the Windows event log instead of syslog, and the service's
 * own subcommands:
 *
 *   tocsin-agent install [-c CONFIG] [-D DATADIR]   register the service
 *   tocsin-agent uninstall | start | stop
 *   tocsin-agent service [options]    what the service control manager runs
 */
/* winsock2.h declares the real one (compat/wincompat.h maps it) */
#undef gethostname
#include <winsock2.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/platform.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/yamltree.h"

#define SVC_NAME	"tocsin-agent"
#define SVC_DISPLAY	"tocsin agent"
#define SVC_DESC	"Ships this PC's event log channels and log files to " \
			"the tocsin collector (ZeroMQ + CURVE)."
/* The spool map Windows opens with (it sizes the file to the map). */
#define WIN_SPOOL_MAP_START	(16ULL << 20)
/* Longest wait for the service to stop (`tocsin-agent stop`). */
#define WIN_STOP_WAIT_MS	30000
#define EVLOG_KEY "SYSTEM\\CurrentControlSet\\Services\\EventLog\\" \
		  "Application\\" SVC_NAME

struct plat_file {
	HANDLE		 h;
};

static DWORD last_win;			/* failure of the last plat_* call */
static volatile sig_atomic_t *stop_flag;
static int service_mode;
static SERVICE_STATUS_HANDLE svc_handle;
static SERVICE_STATUS svc_status;
static plat_agent_main_cb svc_run;
static int svc_argc;
static char **svc_argv;

const char *plat_error(void)
{
	static char buf[256];
	DWORD e = last_win, n;

	if (e == 0)
		return strerror(errno);
	last_win = 0;
	n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
	    FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0, buf, sizeof(buf), NULL);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == '.'))
		buf[--n] = '\0';
	if (n == 0)
		snprintf(buf, sizeof(buf), "Windows error %lu",
		    (unsigned long)e);
	return buf;
}

/* path (UTF-8, as in the configuration) as a wide string; caller frees. */
static wchar_t *wide_path(const char *path)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1,
	    NULL, 0);
	wchar_t *w;

	if (n <= 0 || (w = malloc((size_t)n * sizeof(*w))) == NULL)
		return NULL;
	MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n);
	for (wchar_t *p = w; *p; p++)
		if (*p == L'/')
			*p = L'\\';
	return w;
}

static int open_error(DWORD e)
{
	last_win = e;
	return e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND ||
	    e == ERROR_INVALID_NAME ? TS_ENOTFOUND : TS_EIO;
}

/* Full sharing: the writer may go on writing, rename the file away or
 * delete it while the agent holds it. */
static HANDLE open_shared(const char *path, DWORD access, int *rc)
{
	wchar_t *w = wide_path(path);
	HANDLE h;

	if (w == NULL) {
		last_win = ERROR_INVALID_NAME;
		*rc = TS_EINVAL;
		return INVALID_HANDLE_VALUE;
	}
	h = CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL,
	    NULL);
	free(w);
	*rc = h == INVALID_HANDLE_VALUE ? open_error(GetLastError()) : 0;
	return h;
}

int plat_file_open(const char *path, plat_file_t **out)
{
	BY_HANDLE_FILE_INFORMATION bi;
	plat_file_t *f;
	HANDLE h;
	int rc;

	*out = NULL;
	h = open_shared(path, GENERIC_READ, &rc);
	if (h == INVALID_HANDLE_VALUE)
		return rc;
	if (GetFileType(h) != FILE_TYPE_DISK ||
	    !GetFileInformationByHandle(h, &bi) ||
	    (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
		CloseHandle(h);
		return TS_EINVAL;
	}
	if ((f = malloc(sizeof(*f))) == NULL) {
		CloseHandle(h);
		return TS_ENOMEM;
	}
	f->h = h;
	*out = f;
	return 0;
}

static void info_fill(const BY_HANDLE_FILE_INFORMATION *bi,
    struct plat_file_info *out)
{
	out->dev = bi->dwVolumeSerialNumber;
	out->ino = ((uint64_t)bi->nFileIndexHigh << 32) | bi->nFileIndexLow;
	out->size = ((uint64_t)bi->nFileSizeHigh << 32) | bi->nFileSizeLow;
}

int plat_file_info(plat_file_t *f, struct plat_file_info *out)
{
	BY_HANDLE_FILE_INFORMATION bi;

	if (!GetFileInformationByHandle(f->h, &bi)) {
		last_win = GetLastError();
		return TS_EIO;
	}
	info_fill(&bi, out);
	return 0;
}

int64_t plat_file_pread(plat_file_t *f, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		OVERLAPPED ov;
		DWORD n = 0, want = len - got > 0x40000000 ? 0x40000000 :
		    (DWORD)(len - got);
		uint64_t at = off + got;

		memset(&ov, 0, sizeof(ov));
		ov.Offset = (DWORD)at;
		ov.OffsetHigh = (DWORD)(at >> 32);
		if (!ReadFile(f->h, (char *)buf + got, want, &n, &ov)) {
			DWORD e = GetLastError();
			if (e == ERROR_HANDLE_EOF)
				break;
			last_win = e;
			return -1;
		}
		if (n == 0)
			break;
		got += n;
	}
	return (int64_t)got;
}

void plat_file_close(plat_file_t **fp)
{
	if (fp == NULL || *fp == NULL)
		return;
	CloseHandle((*fp)->h);
	free(*fp);
	*fp = NULL;
}

int plat_path_info(const char *path, struct plat_file_info *out)
{
	BY_HANDLE_FILE_INFORMATION bi;
	HANDLE h;
	int rc;

	h = open_shared(path, FILE_READ_ATTRIBUTES, &rc);
	if (h == INVALID_HANDLE_VALUE)
		return rc == TS_ENOTFOUND ? TS_ENOTFOUND : TS_EIO;
	if (!GetFileInformationByHandle(h, &bi)) {
		last_win = GetLastError();
		CloseHandle(h);
		return TS_EIO;
	}
	CloseHandle(h);
	info_fill(&bi, out);
	return 0;
}

int plat_hostname(char *buf, size_t len)
{
	DWORD n = (DWORD)len;

	if (len < 2 || !GetComputerNameExA(ComputerNameDnsHostname, buf, &n) ||
	    buf[0] == '\0') {
		last_win = GetLastError();
		return TS_EIO;
	}
	return 0;
}

uint64_t plat_spool_initial_map(uint64_t full)
{
	return full < WIN_SPOOL_MAP_START ? full : WIN_SPOOL_MAP_START;
}

/* ---- stopping ------------------------------------------------------------- */

static BOOL WINAPI on_console(DWORD ev)
{
	switch (ev) {
	case CTRL_C_EVENT:
	case CTRL_BREAK_EVENT:
	case CTRL_CLOSE_EVENT:
	case CTRL_SHUTDOWN_EVENT:
		if (stop_flag != NULL)
			*stop_flag = 1;
		return TRUE;
	default:
		return FALSE;
	}
}

void plat_stop_on_request(volatile sig_atomic_t *stop)
{
	stop_flag = stop;
	SetConsoleCtrlHandler(on_console, TRUE);
}

int plat_detach(void)
{
	/* Nothing to detach from: as a service the service control manager
	 * runs the agent; from a console it stays there. */
	return 0;
}

static void svc_set(DWORD state, DWORD exit_code, DWORD wait_ms)
{
	if (svc_handle == NULL)
		return;
	svc_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	svc_status.dwCurrentState = state;
	svc_status.dwControlsAccepted = state == SERVICE_RUNNING ?
	    SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	svc_status.dwWin32ExitCode = exit_code ?
	    ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
	svc_status.dwServiceSpecificExitCode = exit_code;
	svc_status.dwWaitHint = wait_ms;
	if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
		svc_status.dwCheckPoint++;
	else
		svc_status.dwCheckPoint = 0;
	SetServiceStatus(svc_handle, &svc_status);
}

void plat_ready(void)
{
	svc_set(SERVICE_RUNNING, 0, 0);
}

int plat_config_private_check(const char *path)
{
	/* The installer gives the configuration's folder an ACL of SYSTEM
	 * and Administrators only (docs/windows.md); Windows has no mode
	 * bits to look at here. */
	if (GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES) {
		fprintf(stderr, "tocsin-agent: %s: cannot read it\n", path);
		return -1;
	}
	return 0;
}

/* Owner, SYSTEM and Administrators full control, inheritance from the
 * folder cut: what mode 0600 means for a file that holds a secret key. */
#define PRIVATE_SDDL	"D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;OW)"

int plat_private_file(const char *path)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PACL dacl = NULL;
	BOOL present = FALSE, defaulted = FALSE;
	DWORD r;

	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(PRIVATE_SDDL,
	    SDDL_REVISION_1, &sd, NULL) ||
	    !GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted)) {
		last_win = GetLastError();
		fprintf(stderr, "tocsin-agent: cannot build the ACL of %s: %s\n",
		    path, plat_error());
		if (sd != NULL)
			LocalFree(sd);
		return -1;
	}
	r = SetNamedSecurityInfoA((char *)path, SE_FILE_OBJECT,
	    DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
	    NULL, NULL, dacl, NULL);
	LocalFree(sd);
	if (r != ERROR_SUCCESS) {
		last_win = r;
		fprintf(stderr, "tocsin-agent: cannot make %s readable by "
		    "SYSTEM and Administrators only: %s\n", path, plat_error());
		return -1;
	}
	return 0;
}

void plat_oslog_config(void *fp, const char *journal_dir)
{
	(void)journal_dir;	/* the systemd journal: not on Windows */
	fputs("# the Windows Event Log: Security, System, Application, Defender,\n"
	    "# Sysmon and PowerShell; add: [...] more channels, filters:\n"
	    "# {CHANNEL: XPATH} (see docs/windows.md)\n"
	    "eventlog:\n", fp);
}

int plat_is_service(void)
{
	return service_mode;
}

const char *plat_self_exe(void)
{
	static char buf[MAX_PATH_BYTES + 1];
	DWORD n = GetModuleFileNameA(NULL, buf, sizeof(buf));

	if (n == 0 || n >= sizeof(buf))
		return "tocsin-agent.exe";
	return buf;
}

/* ---- the service ------------------------------------------------------------ */

static DWORD WINAPI svc_control(DWORD ctl, DWORD type, void *data, void *ctx)
{
	(void)type;
	(void)data;
	(void)ctx;
	switch (ctl) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		svc_set(SERVICE_STOP_PENDING, 0, WIN_STOP_WAIT_MS);
		if (stop_flag != NULL)
			*stop_flag = 1;
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	default:
		return ERROR_CALL_NOT_IMPLEMENTED;
	}
}

static void WINAPI svc_main(DWORD argc, LPSTR *argv)
{
	int rc;

	(void)argc;
	(void)argv;
	svc_handle = RegisterServiceCtrlHandlerExA(SVC_NAME, svc_control,
	    NULL);
	if (svc_handle == NULL)
		return;
	svc_set(SERVICE_START_PENDING, 0, 10000);
	rc = svc_run(svc_argc, svc_argv);
	/* A non-zero status makes the service control manager apply the
	 * failure actions (restart) set at install. */
	svc_set(SERVICE_STOPPED, (DWORD)rc, 0);
}

/* `tocsin-agent service OPTIONS`: the command line the service is
 * registered with. */
static int svc_dispatch(int argc, char **argv, plat_agent_main_cb run_cb)
{
	SERVICE_TABLE_ENTRYA table[] = {
		{ (LPSTR)SVC_NAME, svc_main },
		{ NULL, NULL },
	};

	service_mode = 1;
	svc_run = run_cb;
	svc_argc = argc - 1;	/* argv[1] "service" dropped */
	svc_argv = argv + 1;
	svc_argv[0] = argv[0];
	/* A service has no console: what the agent would print before its
	 * log is set up (a configuration that does not load, a usage error)
	 * goes to tocsin-agent.log beside the configuration; the rest goes to
	 * the event log. */
	for (int i = 2; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			char logp[MAX_PATH_BYTES + 32];
			const char *c = argv[i + 1], *sl = strrchr(c, '\\');
			const char *sl2 = strrchr(c, '/');
			size_t dl;

			if (sl2 != NULL && (sl == NULL || sl2 > sl))
				sl = sl2;
			dl = sl ? (size_t)(sl - c + 1) : 0;
			if (dl < MAX_PATH_BYTES) {
				snprintf(logp, sizeof(logp), "%.*stocsin-agent.log",
				    (int)dl, c);
				/* a service's stderr is no stream: freopen
				 * fails on it, so give its descriptor 2 a
				 * file and stderr a stream on it */
				FILE *lf = fopen(logp, "a");
				if (lf != NULL) {
					/* msvcrt's stderr is _iob[2]: make it
					 * the stream just opened */
					*stderr = *lf;
					setvbuf(stderr, NULL, _IONBF, 0);
				}
			}
			break;
		}
	}
	if (!StartServiceCtrlDispatcherA(table)) {
		DWORD e = GetLastError();
		if (e == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
			fprintf(stderr, "tocsin-agent service: this is what the "
			    "service control manager runs; from a console, "
			    "run `tocsin-agent -f -c CONFIG` or `tocsin-agent "
			    "start`\n");
			return 2;
		}
		last_win = e;
		fprintf(stderr, "tocsin-agent service: %s\n", plat_error());
		return 1;
	}
	return 0;
}

static int svc_fail(const char *what)
{
	last_win = GetLastError();
	fprintf(stderr, "tocsin-agent: %s: %s\n", what, plat_error());
	return 1;
}

/* Register the event log source: the agent's messages (win/messages.mc)
 * are in its own executable. */
static int evlog_register(const char *exe)
{
	HKEY k;
	DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE |
	    EVENTLOG_INFORMATION_TYPE;
	LONG r;

	r = RegCreateKeyExA(HKEY_LOCAL_MACHINE, EVLOG_KEY, 0, NULL, 0,
	    KEY_SET_VALUE, NULL, &k, NULL);
	if (r != ERROR_SUCCESS) {
		SetLastError((DWORD)r);
		return svc_fail("registering the event log source");
	}
	RegSetValueExA(k, "EventMessageFile", 0, REG_EXPAND_SZ,
	    (const BYTE *)exe, (DWORD)strlen(exe) + 1);
	RegSetValueExA(k, "TypesSupported", 0, REG_DWORD,
	    (const BYTE *)&types, sizeof(types));
	RegCloseKey(k);
	return 0;
}

static int svc_install(int argc, char **argv)
{
	char cmd[3 * MAX_PATH_BYTES + 64], full[MAX_PATH_BYTES + 1];
	const char *exe = plat_self_exe(), *config = NULL, *datadir = NULL;
	SC_HANDLE scm, svc;
	SERVICE_FAILURE_ACTIONSA fa;
	SERVICE_FAILURE_ACTIONS_FLAG faf;
	SERVICE_DESCRIPTIONA desc;
	SC_ACTION act[3];
	int n;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			config = argv[++i];
		else if ((strcmp(argv[i], "-D") == 0 ||
		    strcmp(argv[i], "--data-dir") == 0) && i + 1 < argc)
			datadir = argv[++i];
		else {
			fprintf(stderr, "usage: tocsin-agent install -c CONFIG "
			    "[-D DATADIR]\n");
			return 2;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "usage: tocsin-agent install -c CONFIG "
		    "[-D DATADIR]\n");
		return 2;
	}
	if (GetFullPathNameA(config, sizeof(full), full, NULL) == 0)
		return svc_fail(config);
	n = snprintf(cmd, sizeof(cmd), "\"%s\" service -c \"%s\"", exe, full);
	if (n > 0 && datadir != NULL) {
		char dfull[MAX_PATH_BYTES + 1];
		if (GetFullPathNameA(datadir, sizeof(dfull), dfull, NULL) == 0)
			return svc_fail(datadir);
		n = snprintf(cmd + n, sizeof(cmd) - (size_t)n, " -D \"%s\"",
		    dfull);
	}
	if (n < 0 || (size_t)n >= sizeof(cmd)) {
		fprintf(stderr, "tocsin-agent install: paths too long\n");
		return 2;
	}
	if ((scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_ALL_ACCESS)) == NULL)
		return svc_fail("the service control manager (run this as an "
		    "administrator)");
	svc = CreateServiceA(scm, SVC_NAME, SVC_DISPLAY, SERVICE_ALL_ACCESS,
	    SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
	    SERVICE_ERROR_NORMAL, cmd, NULL, NULL, NULL, NULL, NULL);
	if (svc == NULL) {
		int rc = svc_fail("creating the service " SVC_NAME);
		CloseServiceHandle(scm);
		return rc;
	}
	desc.lpDescription = (LPSTR)SVC_DESC;
	ChangeServiceConfig2A(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
	/* Restart after 5 s, 30 s, then every minute; the count resets
	 * after a day without failure. */
	act[0].Type = act[1].Type = act[2].Type = SC_ACTION_RESTART;
	act[0].Delay = 5000;
	act[1].Delay = 30000;
	act[2].Delay = 60000;
	memset(&fa, 0, sizeof(fa));
	fa.dwResetPeriod = 86400;
	fa.cActions = 3;
	fa.lpsaActions = act;
	if (!ChangeServiceConfig2A(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa))
		fprintf(stderr, "tocsin-agent install: WARNING: cannot set the "
		    "restart on failure: %s\n", (last_win = GetLastError(),
		    plat_error()));
	/* an exit with an error status counts as a failure too */
	faf.fFailureActionsOnNonCrashFailures = TRUE;
	ChangeServiceConfig2A(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &faf);
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	(void)evlog_register(exe);
	printf("tocsin-agent: service %s installed (starts at boot): %s\n",
	    SVC_NAME, cmd);
	return 0;
}

static SC_HANDLE svc_open(DWORD access, SC_HANDLE *scm)
{
	SC_HANDLE svc;

	if ((*scm = OpenSCManagerA(NULL, NULL, SC_MANAGER_CONNECT)) == NULL)
		return NULL;
	if ((svc = OpenServiceA(*scm, SVC_NAME, access)) == NULL) {
		DWORD e = GetLastError();
		CloseServiceHandle(*scm);
		*scm = NULL;
		SetLastError(e);
	}
	return svc;
}

/* Ask the service to stop and wait until it has.  0, or 1. */
static int svc_stop_wait(SC_HANDLE svc)
{
	SERVICE_STATUS st;

	if (!QueryServiceStatus(svc, &st))
		return svc_fail("querying the service");
	if (st.dwCurrentState == SERVICE_STOPPED)
		return 0;
	if (!ControlService(svc, SERVICE_CONTROL_STOP, &st) &&
	    GetLastError() != ERROR_SERVICE_NOT_ACTIVE)
		return svc_fail("stopping the service");
	for (int waited = 0; waited < WIN_STOP_WAIT_MS; waited += 250) {
		if (!QueryServiceStatus(svc, &st))
			return svc_fail("querying the service");
		if (st.dwCurrentState == SERVICE_STOPPED)
			return 0;
		Sleep(250);
	}
	fprintf(stderr, "tocsin-agent: the service did not stop within %d s\n",
	    WIN_STOP_WAIT_MS / 1000);
	return 1;
}

static int svc_simple(const char *what)
{
	SC_HANDLE scm, svc;
	int rc = 0;

	svc = svc_open(SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS |
	    DELETE, &scm);
	if (svc == NULL)
		return svc_fail("opening the service " SVC_NAME " (installed? "
		    "run as an administrator)");
	if (strcmp(what, "start") == 0) {
		if (!StartServiceA(svc, 0, NULL) &&
		    GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
			rc = svc_fail("starting the service");
		else
			printf("tocsin-agent: service started\n");
	} else if (strcmp(what, "stop") == 0) {
		if ((rc = svc_stop_wait(svc)) == 0)
			printf("tocsin-agent: service stopped\n");
	} else {
		(void)svc_stop_wait(svc);
		if (!DeleteService(svc))
			rc = svc_fail("removing the service");
		else {
			RegDeleteKeyA(HKEY_LOCAL_MACHINE, EVLOG_KEY);
			printf("tocsin-agent: service removed\n");
		}
	}
	CloseServiceHandle(svc);
	CloseServiceHandle(scm);
	return rc;
}

int plat_subcommand(int argc, char **argv, plat_agent_main_cb run_cb)
{
	if (argc < 2)
		return -1;
	if (strcmp(argv[1], "service") == 0)
		return svc_dispatch(argc, argv, run_cb);
	if (strcmp(argv[1], "install") == 0)
		return svc_install(argc - 1, argv + 1);
	if (strcmp(argv[1], "uninstall") == 0 || strcmp(argv[1], "start") == 0 ||
	    strcmp(argv[1], "stop") == 0) {
		if (argc != 2) {
			fprintf(stderr, "usage: tocsin-agent %s\n", argv[1]);
			return 2;
		}
		return svc_simple(argv[1]);
	}
	return -1;
}
