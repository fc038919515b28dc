/*
 * syslog.h for the Windows build of tocsin-agent: the few syslog(3) calls
 * of common/util.c, served by the Windows event log (win/posix_win.c).
 */
#ifndef TOCSIN_WIN_SYSLOG_H
#define TOCSIN_WIN_SYSLOG_H

#define LOG_ERR		3
#define LOG_WARNING	4
#define LOG_NOTICE	5
#define LOG_INFO	6
#define LOG_DEBUG	7
#define LOG_PID		0x01
#define LOG_NDELAY	0x08
#define LOG_DAEMON	(3 << 3)

void openlog(const char *ident, int option, int facility);
void syslog(int priority, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void closelog(void);

#endif
