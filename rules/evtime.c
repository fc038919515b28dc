/*
 * evtime.c - the event's time from the record itself: a decoder declares
 * which of its fields holds a time and in which format (`time:` in the
 * decoder's YAML, docs/rules.md), and the matcher sets the event's time
 * from it.  Formats are strptime-like (the directives below), parsed here
 * with bounded reads rather than by strptime(3), which needs a
 * NUL-terminated string, follows the locale for month names and knows no
 * fractions or numeric zones.
 *
 * Directives (anything else is a literal byte; a space matches one or
 * more spaces or tabs):
 *   %Y 4-digit year      %y 2-digit year (69-99: 19xx)   %m month 1-12
 *   %d day 1-31          %e day, may be space-padded      %j day of year
 *   %H hour 0-23         %I hour 1-12 (with %p)           %p AM / PM
 *   %M minute            %S second (0-60), then an optional ".frac" or
 *                        ",frac" (the fraction's first 6 digits are kept)
 *   %f fraction digits   %s seconds since the epoch, optional ".frac"
 *   %b month name (English, abbreviated or full, any case)
 *   %a weekday name (checked as a name, otherwise ignored)
 *   %z zone offset: Z, +hh, +hhmm or +hh:mm     %Z zone name: UTC, GMT, Z
 *   %T = %H:%M:%S        %F = %Y-%m-%d          %% a literal %
 * A format without %Y/%y takes the year the way a BSD syslog header does:
 * the year of the reading time, or the one before when that would put the
 * record more than a day after it.  A format without %z/%Z/%s takes the
 * decoder's zone: UTC, a fixed offset, or local (the engine host's zone,
 * with its daylight-saving rules, through localtime_r).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "rules/rules_int.h"

#define US_PER_SEC	1000000LL
#define SEC_PER_DAY	86400LL

static const char *const month_names[12] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};
static const char *const day_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

struct tparts {
	int64_t		 year;
	int		 has_year;
	unsigned	 mon, day, yday;	/* yday: 1..366, 0 unset */
	unsigned	 hour, min, sec, us;
	int		 pm;			/* -1 none, 0 AM, 1 PM */
	int		 hour12;
	int		 has_zone;
	int64_t		 zone_s;		/* offset east of UTC */
	int		 has_epoch;
	int64_t		 epoch_s;
};

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Between min and max digits at *pp (not past end) into *v.  0 or -1. */
static int
num(const char **pp, const char *end, size_t min, size_t max, unsigned *v)
{
	const char *p = *pp;
	unsigned x = 0;
	size_t n = 0;

	while (n < max && p < end && is_digit((unsigned char)*p)) {
		x = x * 10 + (unsigned)(*p - '0');
		p++;
		n++;
	}
	if (n < min)
		return -1;
	*v = x;
	*pp = p;
	return 0;
}

/* Fraction digits (1..15, first 6 kept) at *pp into microseconds. */
static int
frac(const char **pp, const char *end, unsigned *us)
{
	const char *p = *pp, *s = p;
	unsigned v = 0;

	while (p < end && is_digit((unsigned char)*p) && p - s < 15) {
		if (p - s < 6)
			v = v * 10 + (unsigned)(*p - '0');
		p++;
	}
	if (p == s)
		return -1;
	for (ptrdiff_t n = p - s; n < 6; n++)
		v *= 10;
	*us = v;
	*pp = p;
	return 0;
}

/*
 * An optional fraction after seconds: '.' or ',' then digits, into
 * microseconds.  Nothing there (or a separator not followed by a digit)
 * is no error and leaves *pp and *us alone.
 */
static int
opt_frac(const char **pp, const char *end, unsigned *us)
{
	const char *p = *pp;

	if (p + 1 < end && (*p == '.' || *p == ',') &&
	    is_digit((unsigned char)p[1])) {
		p++;
		if (frac(&p, end, us))
			return -1;
		*pp = p;
	}
	return 0;
}

/* Whether (p, n) equals the lower-case name nm (n bytes), any case. */
static int
name_eq(const char *p, const char *nm, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (lower((unsigned char)p[k]) != nm[k])
			return 0;
	return 1;
}

/* One of names (full, lower case) at *pp: the full name or its first
 * three letters, any case, not followed by a letter.  Index or -1. */
static int
name(const char **pp, const char *end, const char *const *names, int n)
{
	const char *p = *pp;

	if (p >= end)
		return -1;
	for (int i = 0; i < n; i++) {
		size_t full;

		if (lower((unsigned char)*p) != names[i][0])
			continue;	/* most names differ at once */
		full = strlen(names[i]);
		for (int tr = 0; tr < 2; tr++) {
			size_t k = tr == 0 ? full : 3;

			if ((size_t)(end - p) < k || !name_eq(p, names[i], k))
				continue;
			if (p + k < end && lower((unsigned char)p[k]) >= 'a' &&
			    lower((unsigned char)p[k]) <= 'z')
				continue;
			*pp = p + k;
			return i;
		}
	}
	return -1;
}

/* Zone offset at *pp: Z, +hh, +hhmm, +hh:mm.  0 or -1. */
static int
zone(const char **pp, const char *end, int64_t *off)
{
	const char *p = *pp;
	unsigned h, m = 0;
	int sign;

	if (p < end && (*p == 'Z' || *p == 'z')) {
		*off = 0;
		*pp = p + 1;
		return 0;
	}
	if (p >= end || (*p != '+' && *p != '-'))
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (end - p < 2 || num(&p, p + 2, 2, 2, &h) || h > 23)
		return -1;
	if (p < end && *p == ':')
		p++;
	if (end - p >= 2 && is_digit((unsigned char)p[0]) &&
	    is_digit((unsigned char)p[1])) {
		if (num(&p, p + 2, 2, 2, &m) || m > 59)
			return -1;
	} else if (p[-1] == ':') {
		return -1;
	}
	*off = sign * (int64_t)(h * 3600 + m * 60);
	*pp = p;
	return 0;
}

/*
 * Walk fmt over (s, len), filling *t.  check_only: fmt alone is checked
 * (s unused).  Returns 0, or -1 with *bad pointing at the offending
 * directive of fmt (check_only) or -1 when the text does not fit.
 */
static int
walk(const char *fmt, const char *s, size_t len, struct tparts *t,
    int check_only, const char **bad)
{
	const char *p = s, *end = s + len, *f;
	unsigned v;
	int i;

	for (f = fmt; *f != '\0'; f++) {
		if (*f == ' ') {
			if (check_only)
				continue;
			if (p >= end || (*p != ' ' && *p != '\t'))
				return -1;
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			continue;
		}
		if (*f != '%') {
			if (check_only)
				continue;
			if (p >= end || *p != *f)
				return -1;
			p++;
			continue;
		}
		f++;
		if (check_only) {
			if (*f == '\0' || strchr("YymdejHIpMSfsbhaAzZTF%",
			    *f) == NULL) {
				*bad = f - 1;
				return -1;
			}
			continue;
		}
		switch (*f) {
		case 'Y':
			if (num(&p, end, 4, 4, &v))
				return -1;
			t->year = v;
			t->has_year = 1;
			break;
		case 'y':
			if (num(&p, end, 2, 2, &v))
				return -1;
			t->year = v < 69 ? 2000 + v : 1900 + v;
			t->has_year = 1;
			break;
		case 'm':
			if (num(&p, end, 1, 2, &v) || v < 1 || v > 12)
				return -1;
			t->mon = v;
			break;
		case 'e':
			if (p < end && *p == ' ')
				p++;
			/* FALLTHROUGH */
		case 'd':
			if (num(&p, end, 1, 2, &v) || v < 1 || v > 31)
				return -1;
			t->day = v;
			break;
		case 'j':
			if (num(&p, end, 1, 3, &v) || v < 1 || v > 366)
				return -1;
			t->yday = v;
			break;
		case 'H':
			if (num(&p, end, 1, 2, &v) || v > 23)
				return -1;
			t->hour = v;
			break;
		case 'I':
			if (num(&p, end, 1, 2, &v) || v < 1 || v > 12)
				return -1;
			t->hour = v;
			t->hour12 = 1;
			break;
		case 'p':
			if (end - p < 2 || lower((unsigned char)p[1]) != 'm' ||
			    (lower((unsigned char)p[0]) != 'a' &&
			    lower((unsigned char)p[0]) != 'p'))
				return -1;
			t->pm = lower((unsigned char)p[0]) == 'p';
			p += 2;
			break;
		case 'M':
			if (num(&p, end, 2, 2, &v) || v > 59)
				return -1;
			t->min = v;
			break;
		case 'S':
			if (num(&p, end, 2, 2, &v) || v > 60)
				return -1;
			t->sec = v == 60 ? 59 : v;	/* leap second */
			if (opt_frac(&p, end, &t->us))
				return -1;
			break;
		case 'f':
			if (frac(&p, end, &t->us))
				return -1;
			break;
		case 's': {
			int64_t e = 0;
			const char *s0 = p;

			while (p < end && is_digit((unsigned char)*p) &&
			    p - s0 < 12)
				e = e * 10 + (*p++ - '0');
			if (p == s0)
				return -1;
			t->epoch_s = e;
			t->has_epoch = 1;
			if (opt_frac(&p, end, &t->us))
				return -1;
			break;
		}
		case 'b':
		case 'h':
			if ((i = name(&p, end, month_names, 12)) < 0)
				return -1;
			t->mon = (unsigned)i + 1;
			break;
		case 'a':
		case 'A':
			if (name(&p, end, day_names, 7) < 0)
				return -1;
			break;
		case 'z':
			if (zone(&p, end, &t->zone_s))
				return -1;
			t->has_zone = 1;
			break;
		case 'Z':
			if (end - p >= 3 && (memcmp(p, "UTC", 3) == 0 ||
			    memcmp(p, "GMT", 3) == 0)) {
				p += 3;
			} else if (p < end && *p == 'Z') {
				p++;
			} else {
				return -1;
			}
			t->zone_s = 0;
			t->has_zone = 1;
			break;
		case 'T':
			if (num(&p, end, 1, 2, &v) || v > 23)
				return -1;
			t->hour = v;
			if (p >= end || *p++ != ':' ||
			    num(&p, end, 2, 2, &v) || v > 59)
				return -1;
			t->min = v;
			if (p >= end || *p++ != ':' ||
			    num(&p, end, 2, 2, &v) || v > 60)
				return -1;
			t->sec = v == 60 ? 59 : v;
			if (opt_frac(&p, end, &t->us))
				return -1;
			break;
		case 'F':
			if (num(&p, end, 4, 4, &v))
				return -1;
			t->year = v;
			t->has_year = 1;
			if (p >= end || *p++ != '-' ||
			    num(&p, end, 1, 2, &v) || v < 1 || v > 12)
				return -1;
			t->mon = v;
			if (p >= end || *p++ != '-' ||
			    num(&p, end, 1, 2, &v) || v < 1 || v > 31)
				return -1;
			t->day = v;
			break;
		case '%':
			if (p >= end || *p != '%')
				return -1;
			p++;
			break;
		default:
			return -1;
		}
	}
	if (check_only)
		return 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p == end ? 0 : -1;
}

int
evtime_check_format(const char *fmt, const char **bad)
{
	const char *b = NULL;

	if (fmt == NULL || *fmt == '\0') {
		*bad = fmt;
		return TS_EINVAL;
	}
	if (walk(fmt, NULL, 0, NULL, 1, &b) != 0) {
		*bad = b;
		return TS_EINVAL;
	}
	return 0;
}

/* Seconds since the epoch of a civil time in UTC. */
static int64_t
civil_s(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi,
    unsigned s)
{
	return syslog_days_from_civil(y, mo, d) * SEC_PER_DAY +
	    (int64_t)h * 3600 + (int64_t)mi * 60 + s;
}

int
evtime_parse(const char *fmt, const char *s, size_t len, int zone_kind,
    int32_t zone_off_s, const struct syslog_tz *tz, uint64_t ref_us,
    uint64_t *out)
{
	struct tparts t;
	const char *bad = NULL;
	int64_t secs;

	memset(&t, 0, sizeof(t));
	t.pm = -1;
	if (walk(fmt, s, len, &t, 0, &bad) != 0)
		return TS_EINVAL;
	if (t.has_epoch) {
		if (t.epoch_s > INT64_MAX / US_PER_SEC - 1)
			return TS_EINVAL;
		*out = (uint64_t)(t.epoch_s * US_PER_SEC + t.us);
		return 0;
	}
	if (t.hour12) {
		if (t.pm < 0)
			return TS_EINVAL;
		t.hour = t.hour % 12 + (t.pm ? 12 : 0);
	} else if (t.pm >= 0) {
		return TS_EINVAL;
	}
	if (!t.has_year) {
		/* the reading time's year, or the one before when that puts
		 * the record more than a day after the reading */
		time_t rt = (time_t)(ref_us / US_PER_SEC);
		struct tm tm;

		if (gmtime_r(&rt, &tm) == NULL)
			return TS_EINVAL;
		t.year = (int64_t)tm.tm_year + 1900;
		if (t.mon != 0 && t.day != 0 &&
		    t.day <= syslog_days_in_month(t.year, t.mon) && civil_s(t.year, t.mon, t.day, t.hour, t.min,
		    t.sec) > (int64_t)(ref_us / US_PER_SEC) + SEC_PER_DAY)
			t.year--;
	}
	if (t.yday != 0 && t.mon == 0) {
		unsigned d = t.yday, m = 1;

		if (d > (syslog_days_in_month(t.year, 2) == 29 ? 366u : 365u))
			return TS_EINVAL;
		while (d > syslog_days_in_month(t.year, m)) {
			d -= syslog_days_in_month(t.year, m);
			m++;
		}
		t.mon = m;
		t.day = d;
	}
	if (t.mon == 0 || t.day == 0 || t.year < 1970 || t.year > 9999 ||
	    t.day > syslog_days_in_month(t.year, t.mon))
		return TS_EINVAL;
	secs = civil_s(t.year, t.mon, t.day, t.hour, t.min, t.sec);
	if (t.has_zone)
		secs -= t.zone_s;
	else if (zone_kind == EVTIME_ZONE_FIXED)
		secs -= zone_off_s;
	if (secs < 0)
		return TS_EINVAL;
	*out = (uint64_t)secs * US_PER_SEC + t.us;
	if (!t.has_zone && zone_kind == EVTIME_ZONE_LOCAL)
		*out = syslog_tz_local(tz, *out);
	return 0;
}

int
evtime_parse_zone(const char *s, int *zone_kind, int32_t *off_s)
{
	const char *p = s;
	int64_t off;

	if (strcmp(s, "UTC") == 0 || strcmp(s, "utc") == 0 ||
	    strcmp(s, "Z") == 0) {
		*zone_kind = EVTIME_ZONE_UTC;
		*off_s = 0;
		return 0;
	}
	if (strcmp(s, "local") == 0) {
		*zone_kind = EVTIME_ZONE_LOCAL;
		*off_s = 0;
		return 0;
	}
	if (zone(&p, s + strlen(s), &off) != 0 || *p != '\0')
		return TS_EINVAL;
	*zone_kind = EVTIME_ZONE_FIXED;
	*off_s = (int32_t)off;
	return 0;
}

/* Append (s, n) to buf at *o if it fits; -1 when it does not. */
static int
put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
	if (n >= len - *o)
		return -1;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
	return 0;
}

size_t
evtime_format(const char *fmt, uint64_t t_us, int zone_kind, int32_t off_s,
    char *buf, size_t len)
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const char wday[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	int64_t secs = (int64_t)(t_us / US_PER_SEC), off;
	time_t tt;
	struct tm tm;
	size_t o = 0;
	char tmp[32];
	int n;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	off = zone_kind == EVTIME_ZONE_FIXED ? off_s : 0;
	tt = (time_t)(secs + off);
	if (gmtime_r(&tt, &tm) == NULL)
		return 0;
	for (const char *f = fmt; *f != '\0'; f++) {
		if (*f != '%' || f[1] == '\0') {
			if (put(buf, len, &o, f, 1))
				return 0;
			continue;
		}
		switch (*++f) {
		case 'Y': n = snprintf(tmp, sizeof(tmp), "%04d",
		    tm.tm_year + 1900); break;
		case 'y': n = snprintf(tmp, sizeof(tmp), "%02d",
		    tm.tm_year % 100); break;
		case 'm': n = snprintf(tmp, sizeof(tmp), "%02d",
		    tm.tm_mon + 1); break;
		case 'd': n = snprintf(tmp, sizeof(tmp), "%02d", tm.tm_mday);
		    break;
		case 'e': n = snprintf(tmp, sizeof(tmp), "%2d", tm.tm_mday);
		    break;
		case 'H': n = snprintf(tmp, sizeof(tmp), "%02d", tm.tm_hour);
		    break;
		case 'M': n = snprintf(tmp, sizeof(tmp), "%02d", tm.tm_min);
		    break;
		case 'S': n = snprintf(tmp, sizeof(tmp), "%02d", tm.tm_sec);
		    break;
		case 'f': n = snprintf(tmp, sizeof(tmp), "%06u",
		    (unsigned)(t_us % US_PER_SEC)); break;
		case 's': n = snprintf(tmp, sizeof(tmp), "%lld",
		    (long long)secs); break;
		case 'b': case 'h': n = snprintf(tmp, sizeof(tmp), "%s",
		    mon[tm.tm_mon]); break;
		case 'a': n = snprintf(tmp, sizeof(tmp), "%s",
		    wday[tm.tm_wday]); break;
		case 'z': n = snprintf(tmp, sizeof(tmp), "%c%02d%02d",
		    off < 0 ? '-' : '+', (int)((off < 0 ? -off : off) / 3600),
		    (int)((off < 0 ? -off : off) % 3600 / 60)); break;
		case 'Z': n = snprintf(tmp, sizeof(tmp), "UTC"); break;
		case 'T': n = snprintf(tmp, sizeof(tmp), "%02d:%02d:%02d",
		    tm.tm_hour, tm.tm_min, tm.tm_sec); break;
		case 'F': n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday); break;
		case '%': n = snprintf(tmp, sizeof(tmp), "%%"); break;
		default: return 0;
		}
		if (n < 0 || put(buf, len, &o, tmp, (size_t)n))
			return 0;
	}
	return o;
}
