/*
 * util.c - logging, bounded number and time parsing, display escaping, files.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"

/* ---- logging ---------------------------------------------------------- */

/* Longest log line; longer ones are cut (with "..." at the end). */
#define MAX_LOG_LINE	4096

static char log_name[64] = "tocsin";
static int log_foreground = 1;
static int log_level = LOG_LVL_INFO;

void log_init(const char *name, int foreground, int level)
{
	if (name != NULL)
		snprintf(log_name, sizeof(log_name), "%s", name);
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog(log_name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int log_level_parse(const char *s)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	if (s == NULL)
		return -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	if (strcmp(s, "err") == 0)
		return LOG_LVL_ERR;
	if (strcmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	return -1;
}

/*
 * Format and emit one log line.  Raw control bytes that slipped through a
 * caller are replaced by \xNN here too, so that no message can forge a line;
 * backslashes are left alone (callers' escape_text output stays readable).
 */
static void log_emit(int lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void log_emit(int lvl, const char *fmt, va_list ap)
{
	static const char *const lname[] = { "error", "warn", "info", "debug" };
	static const int sysprio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char raw[MAX_LOG_LINE], msg[MAX_LOG_LINE];
	size_t o = 0;
	int n;

	if (lvl > log_level)
		return;
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		snprintf(raw, sizeof(raw), "(unprintable log message)");
	for (const unsigned char *p = (const unsigned char *)raw; *p; p++) {
		if (o + 5 >= sizeof(msg))
			break;
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(msg + o, 5, "\\x%02x", *p);
			o += 4;
		} else {
			msg[o++] = (char)*p;
		}
	}
	msg[o] = '\0';
	if (log_foreground) {
		int saved = errno;
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_name, (long)getpid(),
		    lname[lvl], msg);
		fflush(stderr);
		errno = saved;
	} else {
		syslog(sysprio[lvl], "%s", msg);
	}
}

void log_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_INFO, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_DEBUG, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

/* ---- numbers ---------------------------------------------------------- */

int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || len == 0)
		return TS_EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9')
			return TS_EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return TS_EINVAL;
		v = v * 10 + d;
	}
	if (v > max)
		return TS_EINVAL;
	*out = v;
	return 0;
}

/* Length of the run of decimal digits at s. */
static size_t digits_len(const char *s)
{
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

int parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;
	size_t n;
	const char *p;

	if (s == NULL)
		return TS_EINVAL;
	n = digits_len(s);
	if (parse_u64(s, n, UINT64_MAX, &v) != 0)
		return TS_EINVAL;
	p = s + n;
	switch (*p) {
	case '\0':		break;
	case 'b': case 'B':	p++; break;
	case 'k': case 'K':	mult = 1ULL << 10; p++; break;
	case 'm': case 'M':	mult = 1ULL << 20; p++; break;
	case 'g': case 'G':	mult = 1ULL << 30; p++; break;
	case 't': case 'T':	mult = 1ULL << 40; p++; break;
	default:		return TS_EINVAL;
	}
	/* "64K", "64KB", "64KiB" */
	if (mult > 1) {
		if (*p == 'i')
			p++;
		if (*p == 'B' || *p == 'b')
			p++;
	}
	if (*p != '\0')
		return TS_EINVAL;
	if (v > UINT64_MAX / mult)
		return TS_EINVAL;
	*out = v * mult;
	return 0;
}

/*
 * Durations: one or more NUMBER UNIT parts ("1h30m"), or one plain number of
 * seconds.  Units: ms s m h d w.
 */
int parse_duration(const char *s, uint64_t *out_us)
{
	uint64_t total = 0;
	const char *p = s;
	int parts = 0;

	if (s == NULL || *s == '\0')
		return TS_EINVAL;
	while (*p != '\0') {
		uint64_t v, mult;
		size_t n = digits_len(p);

		if (parts >= 8 || parse_u64(p, n, UINT64_MAX, &v) != 0)
			return TS_EINVAL;
		p += n;
		if (p[0] == 'm' && p[1] == 's') {
			mult = 1000ULL; p += 2;
		} else if (*p == 's') {
			mult = 1000000ULL; p++;
		} else if (*p == 'm') {
			mult = 60ULL * 1000000ULL; p++;
		} else if (*p == 'h') {
			mult = 3600ULL * 1000000ULL; p++;
		} else if (*p == 'd') {
			mult = 86400ULL * 1000000ULL; p++;
		} else if (*p == 'w') {
			mult = 7ULL * 86400ULL * 1000000ULL; p++;
		} else if (*p == '\0' && parts == 0) {
			mult = 1000000ULL;	/* plain seconds */
		} else {
			return TS_EINVAL;
		}
		if (v > UINT64_MAX / mult || v * mult > UINT64_MAX - total)
			return TS_EINVAL;
		total += v * mult;
		parts++;
	}
	*out_us = total;
	return 0;
}

/* ---- times ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Exactly n digits at s[*i] (bounded by len) into *v. */
static int take_digits(const char *s, size_t len, size_t *i, size_t n,
    unsigned *v)
{
	uint64_t x;

	if (len - *i < n || parse_u64(s + *i, n, 9999, &x) != 0)
		return -1;
	*v = (unsigned)x;
	*i += n;
	return 0;
}

int parse_rfc3339(const char *s, size_t len, uint64_t *out_us)
{
	static const unsigned mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	unsigned Y, M, D, h, mi, sec, dim;
	uint64_t frac = 0;
	int64_t days, t, off = 0;
	size_t i = 0;

	if (s == NULL)
		return TS_EINVAL;
	if (take_digits(s, len, &i, 4, &Y) || i >= len || s[i++] != '-' ||
	    take_digits(s, len, &i, 2, &M) || i >= len || s[i++] != '-' ||
	    take_digits(s, len, &i, 2, &D) || i >= len ||
	    (s[i] != 'T' && s[i] != 't' && s[i] != ' ') || (++i, 0) ||
	    take_digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
	    take_digits(s, len, &i, 2, &mi) || i >= len || s[i++] != ':' ||
	    take_digits(s, len, &i, 2, &sec))
		return TS_EINVAL;
	if (Y < 1970 || M < 1 || M > 12 || D < 1 || h > 23 || mi > 59 ||
	    sec > 60)
		return TS_EINVAL;
	dim = mdays[M - 1] + (M == 2 && is_leap(Y));
	if (D > dim)
		return TS_EINVAL;
	if (sec == 60)		/* leap second: count it as the last one */
		sec = 59;
	if (i < len && s[i] == '.') {
		size_t nd = 0;
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (nd < 6)
				frac = frac * 10 + (uint64_t)(s[i] - '0');
			nd++;
			i++;
		}
		if (nd == 0)
			return TS_EINVAL;
		for (; nd < 6; nd++)
			frac *= 10;
	}
	if (i >= len)
		return TS_EINVAL;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		unsigned oh, om;
		int neg = s[i] == '-';
		i++;
		if (take_digits(s, len, &i, 2, &oh) || i >= len ||
		    s[i++] != ':' || take_digits(s, len, &i, 2, &om) ||
		    oh > 23 || om > 59)
			return TS_EINVAL;
		off = ((int64_t)oh * 60 + om) * 60;
		if (neg)
			off = -off;
	} else {
		return TS_EINVAL;
	}
	if (i != len)
		return TS_EINVAL;
	days = days_from_civil(Y, M, D);
	t = days * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off;
	if (t < 0)
		return TS_EINVAL;
	*out_us = (uint64_t)t * 1000000ULL + frac;
	return 0;
}

int parse_time_arg(const char *s, uint64_t now, uint64_t *out_us)
{
	uint64_t d;

	if (s == NULL)
		return TS_EINVAL;
	if (strcmp(s, "now") == 0) {
		*out_us = now;
		return 0;
	}
	if (parse_duration(s, &d) == 0) {
		if (d > now)
			return TS_EINVAL;
		*out_us = now - d;
		return 0;
	}
	return parse_rfc3339(s, strlen(s), out_us);
}

/* Two decimal digits of v (< 100) at p. */
static void
put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void format_rfc3339(uint64_t us, char *buf, size_t buflen)
{
	time_t secs = (time_t)(us / 1000000ULL);
	struct tm tm;
	uint64_t days = us / 1000000ULL / 86400, sod;
	uint64_t z, era, doe, yoe, doy, mp, y, m, d, ms;

	if (buflen == 0)
		return;
	/* The days to a civil date by arithmetic (H. Hinnant's
	 * days_from_civil inverse): alerts and incident changes format two
	 * or three times each, and gmtime_r + snprintf was a tenth of the
	 * engine's alert cost.  Same text as the snprintf below. */
	z = days + 719468;
	era = z / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	if (y <= 9999 && buflen >= 25) {
		sod = us / 1000000ULL % 86400;
		ms = us % 1000000ULL / 1000;
		put2(buf, (unsigned)(y / 100));
		put2(buf + 2, (unsigned)(y % 100));
		buf[4] = '-';
		put2(buf + 5, (unsigned)m);
		buf[7] = '-';
		put2(buf + 8, (unsigned)d);
		buf[10] = 'T';
		put2(buf + 11, (unsigned)(sod / 3600));
		buf[13] = ':';
		put2(buf + 14, (unsigned)(sod / 60 % 60));
		buf[16] = ':';
		put2(buf + 17, (unsigned)(sod % 60));
		buf[19] = '.';
		buf[20] = (char)('0' + ms / 100);
		put2(buf + 21, (unsigned)(ms % 100));
		buf[23] = 'Z';
		buf[24] = '\0';
		return;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, buflen, "(bad time)");
		return;
	}
	snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(us % 1000000ULL / 1000));
}

uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- display ---------------------------------------------------------- */

/*
 * Length of the valid UTF-8 sequence at p (at most n bytes available) that
 * is safe to show, or 0 if it is invalid (overlong, surrogate, past U+10FFFF,
 * truncated) or a code point that steers a terminal or the text direction
 * (C1 controls, bidi overrides and isolates): those are escaped too.
 */
static size_t utf8_safe_len(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t need;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2; cp = p[0] & 0x1fu;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3; cp = p[0] & 0x0fu;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4; cp = p[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	if (cp >= 0x80 && cp <= 0x9f)			/* C1 controls */
		return 0;
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	    cp == 0x200e || cp == 0x200f || cp == 0x061c)	/* bidi */
		return 0;
	return need;
}

size_t escape_text(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0;

	if (outlen == 0)
		return 0;
	while (i < len) {
		unsigned char c = p[i];
		char tmp[5];
		size_t tl = 0, ul;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			tmp[0] = (char)c; tl = 1;
		} else if (c == '\\') {
			tmp[0] = '\\'; tmp[1] = '\\'; tl = 2;
		} else if (c == '\n') {
			tmp[0] = '\\'; tmp[1] = 'n'; tl = 2;
		} else if (c == '\t') {
			tmp[0] = '\\'; tmp[1] = 't'; tl = 2;
		} else if (c == '\r') {
			tmp[0] = '\\'; tmp[1] = 'r'; tl = 2;
		} else if (c >= 0x80 && (ul = utf8_safe_len(p + i, len - i)) > 0) {
			if (outlen - o <= ul)
				break;
			memcpy(out + o, p + i, ul);
			o += ul;
			i += ul;
			continue;
		} else {
			static const char hex[] = "0123456789abcdef";
			tmp[0] = '\\'; tmp[1] = 'x';
			tmp[2] = hex[c >> 4]; tmp[3] = hex[c & 15];
			tl = 4;
		}
		if (outlen - o <= tl)
			break;
		memcpy(out + o, tmp, tl);
		o += tl;
		i++;
	}
	out[o] = '\0';
	return i;
}

/* ---- files ------------------------------------------------------------ */

int mkdir_p(const char *path, unsigned mode)
{
	char *buf;
	size_t len;
	int rc = 0;

	if (path == NULL || *path == '\0')
		return TS_EINVAL;
	len = strlen(path);
	buf = malloc(len + 1);
	if (buf == NULL)
		return TS_ENOMEM;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		struct stat st;
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')	/* "a//b" */
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) != 0) {
			int e = errno;
			if (e != EEXIST || stat(buf, &st) != 0 ||
			    !S_ISDIR(st.st_mode)) {
				errno = e == EEXIST ? ENOTDIR : e;
				rc = TS_EIO;
				break;
			}
		}
		if (i < len)
			buf[i] = '/';
	}
	free(buf);
	return rc;
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	char *buf = NULL;
	size_t cap, n = 0;
	struct stat st;
	int fd, rc = TS_EIO, e = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return TS_EIO;
	if (fstat(fd, &st) != 0) {
		e = errno;
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		e = EISDIR;
		goto fail;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = TS_ETOOBIG;
		goto fail;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap + 1);
	if (buf == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	for (;;) {
		ssize_t r;
		if (n == cap) {
			char *nb;
			if (cap > max) {	/* read max+1 bytes: too big */
				rc = TS_ETOOBIG;
				goto fail;
			}
			cap = cap > max / 2 ? max + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				rc = TS_ENOMEM;
				goto fail;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		rc = TS_ETOOBIG;
		goto fail;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	close(fd);
	if (e != 0)
		errno = e;
	return rc;
}

/* Write all of data to fd.  0 or -1 (errno). */
static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* fsync the directory that holds path, so that a rename survives a crash. */
static void fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(dir);
}

int write_file_atomic(const char *path, const void *data, size_t len,
    unsigned mode)
{
	char *tmp;
	int fd, e;

	tmp = xasprintf("%s.tmpXXXXXX", path);
	if (tmp == NULL)
		return TS_ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0) {
		e = errno;
		free(tmp);
		errno = e;
		return TS_EIO;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || write_all(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		e = errno;
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		e = errno;
		goto fail;
	}
	free(tmp);
	fsync_parent(path);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	errno = e;
	return TS_EIO;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- pid files -------------------------------------------------------- */

int pidfile_write(const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	return write_file_atomic(path, buf, (size_t)n, 0644);
}

/* Read a pid file.  0, TS_ENOTFOUND if there is none, TS_EINVAL if it does
 * not hold a pid, TS_EIO otherwise. */
int pidfile_read(const char *path, long *pid)
{
	char *buf;
	size_t len;
	uint64_t v;
	int rc;

	rc = read_file(path, 64, &buf, &len);
	if (rc != 0)
		return rc == TS_EIO && errno == ENOENT ? TS_ENOTFOUND :
		    rc == TS_ETOOBIG ? TS_EINVAL : rc;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
	    buf[len - 1] == '\r'))
		len--;
	rc = parse_u64(buf, len, INT32_MAX, &v);
	free(buf);
	if (rc != 0 || v == 0)
		return TS_EINVAL;
	*pid = (long)v;
	return 0;
}

int pid_alive(long pid)
{
	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	if (kill((pid_t)pid, 0) == 0)
		return 1;
	return errno == EPERM;
}
