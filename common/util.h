/*
 * util.h - small helpers every component uses: logging, bounded number and
 * time parsing, display escaping, big-endian keys, files.
 */
#ifndef TOCSIN_UTIL_H
#define TOCSIN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

/* ---- logging ---------------------------------------------------------- */

enum { LOG_LVL_ERR = 0, LOG_LVL_WARN = 1, LOG_LVL_INFO = 2, LOG_LVL_DEBUG = 3 };

/* Set the process name shown in log lines, where they go (foreground: stderr,
 * otherwise syslog(3) with LOG_DAEMON) and the most verbose level printed. */
void log_init(const char *name, int foreground, int level);
/* Parse "error", "warn", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *s);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log at error level and exit(1).  Only during start-up or on a broken
 * invariant, never because a peer sent something bad. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- numbers and times ------------------------------------------------ */

/* Parse exactly len bytes of decimal digits into *out.  Rejects empty input,
 * signs, spaces, trailing garbage and overflow past max.  0 or TS_EINVAL. */
int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);

/* Parse a NUL-terminated size such as "512", "64k", "256M", "2G" (powers of
 * 1024) into bytes.  0 or TS_EINVAL. */
int parse_size(const char *s, uint64_t *out);

/* Parse a duration "250ms", "30s", "15m", "2h", "7d", "1w" (or plain
 * seconds) into microseconds.  0 or TS_EINVAL. */
int parse_duration(const char *s, uint64_t *out_us);

/* Parse an RFC 3339 time ("2026-01-26T00:00:05Z", "…+02:00", fractional
 * seconds allowed) into microseconds since the epoch.  0 or TS_EINVAL. */
int parse_rfc3339(const char *s, size_t len, uint64_t *out_us);

/* Parse a CLI time argument: a duration means "that long before now_us",
 * anything else must be RFC 3339.  0 or TS_EINVAL. */
int parse_time_arg(const char *s, uint64_t now_us, uint64_t *out_us);

/* Format microseconds since the epoch as RFC 3339 UTC with millisecond
 * precision ("2026-01-26T00:00:05.123Z") into buf (>= 32 bytes). */
void format_rfc3339(uint64_t us, char *buf, size_t buflen);

/* Wall clock and monotonic clock in microseconds. */
uint64_t now_us(void);
uint64_t mono_us(void);

/* ---- display ---------------------------------------------------------- */

/* Copy len bytes of untrusted text into out (outlen >= 1), escaping control
 * bytes and invalid UTF-8 as \xNN, \n, \t, \\ so that nothing from a log line
 * can move an analyst's cursor or forge a log line.  Always NUL-terminates;
 * returns the number of input bytes consumed (less than len if out filled). */
size_t escape_text(const char *in, size_t len, char *out, size_t outlen);

/* ---- big-endian keys -------------------------------------------------- */

static inline void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; }
}
static inline uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
	return v;
}
static inline void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}
static inline uint32_t get_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}
static inline void put_be16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8); p[1] = (unsigned char)v;
}
static inline uint16_t get_be16(const unsigned char *p)
{
	return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

/* ---- files ------------------------------------------------------------ */

/* mkdir -p with the given mode for created directories.  0 or TS_EIO. */
int mkdir_p(const char *path, unsigned mode);

/* Read a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer (*out, caller frees; *len excludes the NUL).  TS_ETOOBIG past max. */
int read_file(const char *path, size_t max, char **out, size_t *len);

/* Write data to path atomically (temporary file, fsync, rename) with mode.
 * 0 or TS_EIO. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* snprintf into a malloc'd string; NULL on failure.  Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write a pid file / read one; pid_alive tells whether that pid runs. */
int pidfile_write(const char *path);
int pidfile_read(const char *path, long *pid);
int pid_alive(long pid);

#endif /* TOCSIN_UTIL_H */
