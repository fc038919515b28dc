/*
 * wincompat.h - included first in every file of the Windows build of
 * tocsin-agent (gcc -include): the POSIX calls that the shared code
 * (common/, agents/) makes and that mingw-w64's C library lacks or spells
 * differently, mapped onto Windows in win/posix_win.c.  It deliberately
 * does not include <windows.h>: its macros would leak into portable code.
 */
#ifndef TOCSIN_WIN_COMPAT_H
#define TOCSIN_WIN_COMPAT_H

#include <io.h>
#include <direct.h>
#include <fcntl.h>
#include <process.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC	0	/* handles are not inherited by default */
#endif
#ifndef O_NOCTTY
#define O_NOCTTY	0
#endif
#ifndef O_NONBLOCK
#define O_NONBLOCK	0
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW	0
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY	0x40000000	/* open() of a folder fails: skipped */
#endif
#ifndef S_IRGRP
#define S_IRGRP	0040
#define S_IWGRP	0020
#define S_IXGRP	0010
#define S_IROTH	0004
#define S_IWOTH	0002
#define S_IXOTH	0001
#endif
#ifndef ELOOP
#define ELOOP	114
#endif

/* mkdir(path, mode): Windows has no modes; folders inherit their ACL. */
#define mkdir(p, m)	tocsin_win_mkdir(p, m)
int tocsin_win_mkdir(const char *path, unsigned mode);
/* struct stat with st_mtim (nanosecond times) like POSIX 2008's. */
#include <time.h>
struct tocsin_win_stat {
	unsigned long long st_dev, st_ino;
	unsigned	 st_mode;
	long long	 st_size;
	struct timespec	 st_mtim;
};
#define stat	tocsin_win_stat
#define fstat	tocsin_win_fstat
#define lstat	tocsin_win_stat
int tocsin_win_stat(const char *path, struct tocsin_win_stat *st);
int tocsin_win_fstat(int fd, struct tocsin_win_stat *st);
void explicit_bzero(void *p, size_t n);
/* rename over an existing file (MoveFileEx MOVEFILE_REPLACE_EXISTING):
 * the C library's rename refuses to. */
#define rename(a, b)	tocsin_win_rename(a, b)
int tocsin_win_rename(const char *from, const char *to);
/* link(2) for write-once files: CreateHardLink. */
#define link(a, b)	tocsin_win_link(a, b)
int tocsin_win_link(const char *from, const char *to);
#define fsync(fd)	_commit(fd)
#define fchmod(fd, m)	tocsin_win_fchmod(fd, m)
int tocsin_win_fchmod(int fd, int mode);
/* kill(pid, 0) only: does the process exist. */
#define kill(pid, sig)	tocsin_win_kill(pid, sig)
int tocsin_win_kill(long pid, int sig);
/* gethostname without WinSock set up first. */
#define gethostname(b, n)	tocsin_win_gethostname(b, n)
int tocsin_win_gethostname(char *buf, size_t len);
/* open(2) in binary mode, and with the share modes that let a writer
 * rename or delete what we hold. */
#define open(...)	tocsin_win_open(__VA_ARGS__)
int tocsin_win_open(const char *path, int flags, ...);

char *strndup(const char *s, size_t n);

#endif /* TOCSIN_WIN_COMPAT_H */
