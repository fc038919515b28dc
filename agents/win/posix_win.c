/*
 * posix_win.c - the POSIX calls of the shared code that mingw-w64's C
 * library lacks, on Windows (declared in compat/wincompat.h), and syslog(3)
 * served by the Windows event log (source "tocsin-agent", registered by
 * `tocsin-agent install`).
 */
/* winsock2.h declares the real one (compat/wincompat.h maps it) */
#undef gethostname
#include <winsock2.h>
#include <windows.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compat/syslog.h"

/* errno for a Win32 error code (the few the shared code tells apart). */
static int win_errno(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return ENOENT;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return EEXIST;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		return EACCES;
	case ERROR_DISK_FULL:
		return ENOSPC;
	default:
		return EIO;
	}
}

/* "X:" or "X:\\" or "X:/": a drive, which exists. */
static int is_drive(const char *p)
{
	return ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
	    p[1] == ':' && (p[2] == '\0' || ((p[2] == '\\' || p[2] == '/') &&
	    p[3] == '\0'));
}

/* mkdir, creating missing parents too (common/util.c's mkdir_p splits at
 * '/' only, and Windows paths use '\\'); a drive "X:" exists. */
int tocsin_win_mkdir(const char *path, unsigned mode)
{
	char buf[MAX_PATH + 1];
	size_t len = strlen(path);

	(void)mode;	/* folders inherit their parent's ACL */
	if (is_drive(path)) {
		errno = EEXIST;
		return -1;
	}
	if (_mkdir(path) == 0)
		return 0;
	if (errno != ENOENT || len >= sizeof(buf))
		return -1;
	memcpy(buf, path, len + 1);
	for (size_t i = len; i > 0; i--) {
		if (buf[i - 1] == '\\' || buf[i - 1] == '/') {
			buf[i - 1] = '\0';
			if (buf[0] != '\0' && !is_drive(buf))
				(void)tocsin_win_mkdir(buf, mode);
			break;
		}
	}
	return _mkdir(path);
}

int tocsin_win_rename(const char *from, const char *to)
{
	if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING |
	    MOVEFILE_WRITE_THROUGH))
		return 0;
	errno = win_errno(GetLastError());
	return -1;
}

int tocsin_win_link(const char *from, const char *to)
{
	if (CreateHardLinkA(to, from, NULL))
		return 0;
	errno = win_errno(GetLastError());
	return -1;
}

int tocsin_win_fchmod(int fd, int mode)
{
	(void)fd;
	(void)mode;	/* files inherit their folder's ACL */
	return 0;
}

int tocsin_win_kill(long pid, int sig)
{
	HANDLE h;
	DWORD code = 0;

	(void)sig;
	h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, (DWORD)pid);
	if (h == NULL) {
		errno = GetLastError() == ERROR_ACCESS_DENIED ? EPERM : ESRCH;
		return -1;
	}
	if (!GetExitCodeProcess(h, &code) || code != STILL_ACTIVE) {
		CloseHandle(h);
		errno = ESRCH;
		return -1;
	}
	CloseHandle(h);
	return 0;
}

int tocsin_win_gethostname(char *buf, size_t len)
{
	DWORD n = (DWORD)len;

	if (len == 0 || !GetComputerNameExA(ComputerNameDnsHostname, buf, &n)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int tocsin_win_open(const char *path, int flags, ...)
{
	int mode = 0;

	if (flags & O_CREAT) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	/* Binary, not inherited; read-only unless the owner may write. */
	return _open(path, flags | _O_BINARY | _O_NOINHERIT,
	    (mode & 0200) ? (_S_IREAD | _S_IWRITE) : _S_IREAD);
}

static void stat_fill(const struct _stat64 *s, struct tocsin_win_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = (unsigned long long)s->st_dev;
	st->st_ino = (unsigned long long)s->st_ino;
	st->st_mode = s->st_mode;
	st->st_size = s->st_size;
	st->st_mtim.tv_sec = s->st_mtime;
}

int tocsin_win_stat(const char *path, struct tocsin_win_stat *st)
{
	struct _stat64 s;
	char drive[4];

	if (is_drive(path)) {	/* msvcrt's stat wants "X:\\" */
		snprintf(drive, sizeof(drive), "%c:\\", path[0]);
		path = drive;
	}
	if (_stat64(path, &s) != 0)
		return -1;
	stat_fill(&s, st);
	return 0;
}

int tocsin_win_fstat(int fd, struct tocsin_win_stat *st)
{
	struct _stat64 s;

	if (_fstat64(fd, &s) != 0)
		return -1;
	stat_fill(&s, st);
	return 0;
}

void explicit_bzero(void *p, size_t n)
{
	SecureZeroMemory(p, n);
}

char *strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = malloc(len + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* ---- syslog(3) into the Windows event log ------------------------------- */

static HANDLE evlog;

void openlog(const char *ident, int option, int facility)
{
	(void)option;
	(void)facility;
	if (evlog == NULL)
		evlog = RegisterEventSourceA(NULL, ident ? ident :
		    "tocsin-agent");
}

/* Event ids of the message table (win/messages.mc): one per level, the
 * text is the whole message. */
#define MSG_ERROR	0xC0000001UL
#define MSG_WARNING	0x80000002UL
#define MSG_INFO	0x40000003UL

void syslog(int priority, const char *fmt, ...)
{
	char msg[2048];
	const char *strs[1] = { msg };
	va_list ap;
	WORD type;
	DWORD id;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (evlog == NULL)
		openlog("tocsin-agent", 0, 0);
	if (priority <= LOG_ERR) {
		type = EVENTLOG_ERROR_TYPE;
		id = MSG_ERROR;
	} else if (priority == LOG_WARNING) {
		type = EVENTLOG_WARNING_TYPE;
		id = MSG_WARNING;
	} else {
		type = EVENTLOG_INFORMATION_TYPE;
		id = MSG_INFO;
	}
	if (evlog == NULL ||
	    !ReportEventA(evlog, type, 0, id, NULL, 1, 0, strs, NULL)) {
		/* no event log (or none yet): stderr, which a console shows */
		fprintf(stderr, "tocsin-agent: %s\n", msg);
		fflush(stderr);
	}
}

void closelog(void)
{
	if (evlog != NULL)
		DeregisterEventSource(evlog);
	evlog = NULL;
}
