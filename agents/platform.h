/*
 * platform.h - what differs between tocsin-agent on POSIX systems
 * (platform_posix.c) and on Windows (win/platform_win.c): file identity and
 * reading, how the process is told to stop (signals or the service
 * control manager), where its log goes, the host name, and how the spool's
 * map is sized.  The agent's logic (agent.c, follow.c, spool.c) calls only
 * these; neither side has #ifdefs.
 */
#ifndef TOCSIN_AGENT_PLATFORM_H
#define TOCSIN_AGENT_PLATFORM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* ---- files ---------------------------------------------------------------- */

/* An open followed file.  POSIX: a descriptor.  Windows: a handle opened
 * with FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, so that the
 * writer can still rotate (rename, delete) the file while it is followed. */
typedef struct plat_file plat_file_t;

/* What identifies a file whatever its name: POSIX (st_dev, st_ino);
 * Windows (volume serial number, 64-bit file index), as
 * GetFileInformationByHandle gives them. */
struct plat_file_info {
	uint64_t	 dev;
	uint64_t	 ino;
	uint64_t	 size;
};

/*
 * Open path read-only for following.  0; TS_ENOTFOUND (no such file or
 * folder); TS_EINVAL (not a regular file); TS_EIO (anything else:
 * plat_error() says what).  *out is freed with plat_file_close.
 */
int plat_file_open(const char *path, plat_file_t **out);
/* Identity and size of the open file.  0 or TS_EIO. */
int plat_file_info(plat_file_t *f, struct plat_file_info *out);
/* Read up to len bytes at off; fewer only at the end of the file.  Bytes
 * read, or -1 (plat_error() says why). */
int64_t plat_file_pread(plat_file_t *f, void *buf, size_t len, uint64_t off);
/* Close; accepts NULL and *f NULL, sets *f to NULL. */
void plat_file_close(plat_file_t **f);

/*
 * The identity of the file that path names now (without keeping it open).
 * 0; TS_ENOTFOUND when path names nothing any more (rotated away or
 * removed); TS_EIO for a failure that says nothing about rotation
 * (permissions, a sharing violation, I/O).
 */
int plat_path_info(const char *path, struct plat_file_info *out);

/* Text of the last failure of a plat_* call or of the C library (errno,
 * or GetLastError on Windows).  Static storage, valid until the next call. */
const char *plat_error(void);

/* ---- the host and the spool ------------------------------------------------ */

/* This machine's name into buf (NUL-terminated).  0 or TS_EIO. */
int plat_hostname(char *buf, size_t len);

/*
 * The LMDB map size to open the spool with, given the most it may need.
 * POSIX: all of it (the map is address space; the file stays sparse).
 * Windows: a small start, because Windows sizes the file to the map when
 * it opens it; the spool grows the map as it fills (spool.c).
 */
uint64_t plat_spool_initial_map(uint64_t full);

/* ---- running -------------------------------------------------------------- */

/* Make *stop become 1 when the agent is asked to stop: SIGTERM or SIGINT on
 * POSIX (SIGPIPE and SIGHUP ignored); Ctrl+C, Ctrl+Break, closing the
 * console or a service stop request on Windows. */
void plat_stop_on_request(volatile sig_atomic_t *stop);

/*
 * Detach from the terminal for a run without -f.  POSIX: become a daemon
 * (double fork, setsid, standard streams on /dev/null); the first parent
 * waits for plat_ready() and exits 0 then, or 1 if the daemon died first.
 * Windows: nothing to detach (a service is started by the service control
 * manager; see platform_main_hook).  0 or TS_EIO.
 */
int plat_detach(void);
/* Start-up succeeded: tell the waiting parent, systemd (sd_notify) or the
 * service control manager. */
void plat_ready(void);

/* 0 when the file that holds the agent's secret key is private enough to
 * start with (messages on stderr), -1 when it is not (refused). */
int plat_config_private_check(const char *path);

/* Make the file that enroll just wrote (it holds the secret key) readable
 * by its owner only: POSIX created it with mode 0600 already; Windows gives
 * it a protected ACL of SYSTEM and Administrators only.  0, or -1 after a
 * message on stderr. */
int plat_private_file(const char *path);

/* The configuration that enroll writes for the system's own log when no
 * file is followed: "journal:" (the systemd journal) or "eventlog:" (the
 * Windows Event Log's default channels), with a comment.  journal_dir is
 * the --journal-dir given, or NULL. */
void plat_oslog_config(void *fp, const char *journal_dir);

/*
 * Subcommands that exist on one platform only (Windows: install,
 * uninstall, start, stop and service; see docs/windows.md).  Returns -1
 * when argv[1] is none of them, else the exit status of the subcommand.
 * run_cb runs the agent as `tocsin-agent argc argv` would (used by the
 * Windows service to run the agent inside the service control manager's
 * thread); it returns the exit status.
 */
typedef int (*plat_agent_main_cb)(int argc, char **argv);
int plat_subcommand(int argc, char **argv, plat_agent_main_cb run_cb);

/* 1 when the agent runs as a service (logs go to the system log). */
int plat_is_service(void);

/* The path of this program, for `enroll --start` to run the agent again.
 * Static storage. */
const char *plat_self_exe(void);

#endif /* TOCSIN_AGENT_PLATFORM_H */
