/*
 * decode.c - the built-in syslog header decoder: RFC 3164 (BSD time or an
 * ISO 8601 time, optional <PRI>, optional host, "prog[pid]: " tag) and
 * RFC 5424 ("<PRI>1 TS HOST APP PROCID MSGID SD MSG").
 *
 * The line is untrusted: every read is bounded by the end pointer, numbers
 * are parsed digit by digit with explicit widths, and anything that does not
 * fit a format leaves the whole line as the message rather than guessing.
 */
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "rules/rules_int.h"

#define US_PER_SEC	1000000ULL
#define SEC_PER_DAY	86400ULL
/* Digits of a numeric pid in a 3164 tag (a 32-bit pid has at most 10). */
#define MAX_PID_DIGITS	10

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Exactly n decimal digits at p (caller checked p + n <= end). */
static int
digits(const char *p, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned
syslog_days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] =
	    { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && is_leap(y))
		return 29;
	return dim[m - 1];
}

/* Howard Hinnant's days_from_civil. */
int64_t
syslog_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Year of a time in microseconds since the epoch (UTC). */
static int64_t
year_of(uint64_t us)
{
	int64_t z = (int64_t)(us / US_PER_SEC / SEC_PER_DAY) + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	return yoe + era * 400 + (m <= 2);
}

static uint64_t
civil_us(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi,
    unsigned s, unsigned frac_us)
{
	int64_t days = syslog_days_from_civil(y, mo, d);

	return ((uint64_t)days * SEC_PER_DAY + h * 3600ULL + mi * 60ULL + s) *
	    US_PER_SEC + frac_us;
}

/* Optional ".digits" fraction at *pp (at most 15 digits; the first 6 are
 * kept); microseconds into *us.  0 or -1. */
static int
parse_frac(const char **pp, const char *end, unsigned *us)
{
	const char *p = *pp, *ds;
	unsigned v = 0;
	size_t nd;

	*us = 0;
	if (p >= end || *p != '.')
		return 0;
	ds = ++p;
	while (p < end && *p >= '0' && *p <= '9') {
		if (p - ds < 6)
			v = v * 10 + (unsigned)(*p - '0');
		p++;
		if (p - ds > 15)
			return -1;
	}
	if (p == ds)
		return -1;
	for (nd = (size_t)(p - ds); nd < 6; nd++)
		v *= 10;
	*us = v;
	*pp = p;
	return 0;
}

/*
 * Numeric zone at p: "Z", "+hh:mm", "+hhmm" or "+hh" (and '-').  Seconds
 * east of UTC into *off; bytes consumed, 0 when there is none, -1 when it
 * starts like one but is malformed.
 */
static int
parse_zone(const char *p, const char *end, int64_t *off)
{
	unsigned oh, om = 0;
	int n;

	*off = 0;
	if (p >= end)
		return 0;
	if (*p == 'Z' || *p == 'z')
		return 1;
	if (*p != '+' && *p != '-')
		return 0;
	if (end - p < 3 || digits(p + 1, 2, &oh))
		return -1;
	n = 3;
	if (end - p >= 6 && p[3] == ':' && digits(p + 4, 2, &om) == 0)
		n = 6;
	else if (end - p >= 5 && digits(p + 3, 2, &om) == 0)
		n = 5;
	else if (p + 3 < end && p[3] >= '0' && p[3] <= '9')
		return -1;	/* "+123": three digits */
	if (oh > 23 || om > 59)
		return -1;
	*off = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	return n;
}

/*
 * ISO 8601 / RFC 3339 time at p: YYYY-MM-DDThh:mm:ss[.frac][zone] where
 * zone is Z, +hh:mm, +hhmm or +hh (parse_zone); with space_sep, a space
 * may stand for the T (the form many applications and rsyslog templates
 * write).  No zone: the wall clock is read as UTC and *zoned is 0, so the
 * caller can apply the source's zone.  Returns bytes consumed, 0 if not a
 * valid time.
 */
static size_t
parse_iso(const char *p, const char *end, int space_sep, uint64_t *out,
    int *zoned)
{
	const char *s = p;
	unsigned y, mo, d, h, mi, sec, frac;
	int64_t off = 0;
	uint64_t t;
	int zn;

	if (end - p < 19 || digits(p, 4, &y) || p[4] != '-' ||
	    digits(p + 5, 2, &mo) || p[7] != '-' || digits(p + 8, 2, &d) ||
	    (p[10] != 'T' && p[10] != 't' && !(space_sep && p[10] == ' ')) ||
	    digits(p + 11, 2, &h) ||
	    p[13] != ':' || digits(p + 14, 2, &mi) || p[16] != ':' ||
	    digits(p + 17, 2, &sec))
		return 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > syslog_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return 0;
	if (sec == 60)
		sec = 59;	/* leap second */
	p += 19;
	if (parse_frac(&p, end, &frac))
		return 0;
	/* "hh:mm:ss,mmm" (a comma, as log4j and Python write) is a fraction
	 * too, in the space-separated form those programs use */
	if (p < end && *p == ',' && space_sep) {
		const char *q = p;
		unsigned v = 0;
		size_t nd = 0;

		while (++q < end && *q >= '0' && *q <= '9' && nd < 9) {
			if (nd < 6)
				v = v * 10 + (unsigned)(*q - '0');
			nd++;
		}
		if (nd == 0)
			return 0;
		for (size_t k = nd; k < 6; k++)
			v *= 10;
		frac = v;
		p = q;
	}
	if ((zn = parse_zone(p, end, &off)) < 0)
		return 0;
	p += zn;
	*zoned = zn > 0;
	t = civil_us(y, mo, d, h, mi, sec, frac);
	if (off > 0 && t < (uint64_t)off * US_PER_SEC)
		return 0;
	t = (uint64_t)((int64_t)t - off * (int64_t)US_PER_SEC);
	*out = t;
	return (size_t)(p - s);
}

/*
 * BSD time at p: "Mmm dd hh:mm:ss" (day space-padded or one digit), with an
 * optional fraction; the day may be followed by a year ("Mmm dd yyyy
 * hh:mm:ss", as Cisco and other devices write with a year-stamp option).
 * Fills month/day/time and *year (0: none); returns bytes consumed or 0.
 */
static size_t
parse_bsd(const char *p, const char *end, unsigned *mo, unsigned *d,
    unsigned *year, unsigned *h, unsigned *mi, unsigned *s, unsigned *frac)
{
	const char *q;
	unsigned m;

	*year = 0;
	if (end - p < 14)
		return 0;
	for (m = 0; m < 12; m++)
		if (memcmp(p, months[m], 3) == 0)
			break;
	if (m == 12 || p[3] != ' ')
		return 0;
	q = p + 4;
	if (q[0] == ' ' && q[1] >= '1' && q[1] <= '9') {	/* " 5" */
		*d = (unsigned)(q[1] - '0');
		q += 2;
	} else if (q[0] >= '0' && q[0] <= '9' && q[1] == ' ') {	/* "5" */
		*d = (unsigned)(q[0] - '0');
		q += 1;
	} else if (digits(q, 2, d) == 0) {
		q += 2;
	} else {
		return 0;
	}
	if (end - q >= 6 && q[0] == ' ' && q[5] == ' ' &&
	    digits(q + 1, 4, year) == 0) {
		if (*year < 1970)
			return 0;
		q += 5;
	}
	if (end - q < 9 || q[0] != ' ' || digits(q + 1, 2, h) || q[3] != ':' ||
	    digits(q + 4, 2, mi) || q[6] != ':' || digits(q + 7, 2, s))
		return 0;
	q += 9;
	if (*d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60)
		return 0;
	if (*s == 60)
		*s = 59;
	if (parse_frac(&q, end, frac))
		return 0;
	*mo = m + 1;
	return (size_t)(q - p);
}

/* Next space-delimited token of 1..max bytes at *pp, consuming one space
 * after it unless at end.  -1 if empty, too long or not followed by a
 * space (when need_space). */
static int
token(const char **pp, const char *end, size_t max, int need_space,
    const char **tok, size_t *tok_len)
{
	const char *p = *pp, *s = p;

	while (p < end && *p != ' ')
		p++;
	if (p == s || (size_t)(p - s) > max)
		return -1;
	if (p == end && need_space)
		return -1;
	*tok = s;
	*tok_len = (size_t)(p - s);
	*pp = p < end ? p + 1 : p;
	return 0;
}

/* "-" is the RFC 5424 nil value. */
static void
nil_or(const char *tok, size_t len, const char **out, size_t *out_len)
{
	if (len == 1 && tok[0] == '-') {
		*out = NULL;
		*out_len = 0;
	} else {
		*out = tok;
		*out_len = len;
	}
}

/* RFC 5424 after "<PRI>": p points at the version.  0 or -1. */
static int
parse_5424(const char *p, const char *end, struct syslog_hdr *h)
{
	const char *tok;
	size_t n;
	uint64_t t;

	if (end - p < 2 || p[0] != '1' || p[1] != ' ')
		return -1;
	p += 2;
	if (token(&p, end, 64, 1, &tok, &n))
		return -1;
	if (!(n == 1 && tok[0] == '-')) {
		int zoned = 0;

		if (parse_iso(tok, tok + n, 0, &t, &zoned) != n)
			return -1;
		h->has_time = 1;
		h->zoned = zoned;
		h->time_us = t;
	}
	if (token(&p, end, MAX_HOST_BYTES, 1, &tok, &n))
		return -1;
	nil_or(tok, n, &h->host, &h->host_len);
	if (token(&p, end, MAX_PROGRAM_BYTES, 1, &tok, &n))
		return -1;
	nil_or(tok, n, &h->program, &h->program_len);
	if (token(&p, end, MAX_PROCID_BYTES, 1, &tok, &n))
		return -1;
	nil_or(tok, n, &h->pid, &h->pid_len);
	if (token(&p, end, 32, 1, &tok, &n))
		return -1;
	nil_or(tok, n, &h->msgid, &h->msgid_len);
	/* STRUCTURED-DATA: "-" or one or more [id param="v\]"...] */
	if (p >= end)
		return -1;
	if (*p == '-') {
		p++;
	} else if (*p == '[') {
		while (p < end && *p == '[') {
			int inq = 0;

			p++;
			while (p < end) {
				if (inq && *p == '\\' && p + 1 < end) {
					p += 2;
					continue;
				}
				if (*p == '"')
					inq = !inq;
				else if (*p == ']' && !inq)
					break;
				p++;
			}
			if (p >= end)
				return -1;
			p++;	/* ']' */
		}
	} else {
		return -1;
	}
	if (p < end) {
		if (*p != ' ')
			return -1;
		p++;
	}
	if (end - p >= 3 && (unsigned char)p[0] == 0xef &&
	    (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
		p += 3;
	h->format = SYSLOG_5424;
	h->msg = p;
	h->msg_len = (size_t)(end - p);
	return 0;
}

/*
 * 3164 tag at p: "prog[pid]: ", "prog: ", or with a parenthesised
 * subsystem "prog(pam_unix)[pid]: " (old PAM and Linux-PAM messages: the
 * program is the part before the parenthesis).  Programs may hold slashes
 * and dots ("postfix/smtpd", "/usr/sbin/cron", "org.gnome.Shell.desktop").
 * After the tag, a Solaris message id "[ID n facility.level] " is header,
 * not message.  Fills program/pid and returns where the message starts,
 * or NULL if p does not start with a valid tag.
 */
static const char *
parse_tag(const char *p, const char *end, struct syslog_hdr *h)
{
	const char *s = p, *ps, *pe;

	while (p < end && *p != '[' && *p != ':' && *p != ' ')
		p++;
	if (p == s || p == end || *p == ' ' ||
	    (size_t)(p - s) > MAX_PROGRAM_BYTES)
		return NULL;
	pe = p;
	/* Cisco "%FAC-SEV-MNEMONIC:" (%ASA-6-302013, %SYS-5-CONFIG_I): the
	 * program is the facility, the rest is the message id */
	if (*s == '%' && *p == ':') {
		const char *dash = memchr(s, '-', (size_t)(p - s));

		if (dash != NULL && dash > s + 1 && dash + 1 < p) {
			h->program = s + 1;
			h->program_len = (size_t)(dash - s - 1);
			h->msgid = dash + 1;
			h->msgid_len = (size_t)(p - dash - 1);
			p++;
			if (p < end && *p == ' ')
				p++;
			return p;
		}
	}
	/* "prog(sub)": the program is prog */
	if (pe - s >= 3 && pe[-1] == ')') {
		const char *o = memchr(s, '(', (size_t)(pe - s));

		if (o != NULL && o > s) {
			h->subsys = o + 1;
			h->subsys_len = (size_t)(pe - 1 - (o + 1));
			pe = o;
		}
	}
	h->program = s;
	h->program_len = (size_t)(pe - s);
	if (*p == '[') {
		ps = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == ps || (size_t)(p - ps) > MAX_PID_DIGITS || p >= end ||
		    *p != ']') {
			h->program = h->subsys = NULL;
			h->program_len = h->subsys_len = 0;
			return NULL;
		}
		h->pid = ps;
		h->pid_len = (size_t)(p - ps);
		p++;
		if (p >= end || *p != ':') {
			h->program = h->pid = h->subsys = NULL;
			h->program_len = h->pid_len = h->subsys_len = 0;
			return NULL;
		}
	}
	p++;	/* ':' */
	if (p < end && *p == ' ')
		p++;
	/* Solaris: "[ID 800047 auth.info] " */
	if (end - p >= 6 && memcmp(p, "[ID ", 4) == 0) {
		const char *q = p + 4, *ds = q;

		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (q > ds && q < end && *q == ' ') {
			const char *fs = ++q;

			while (q < end && q - fs < 32 && *q != ']' &&
			    *q != ' ')
				q++;
			if (q < end && *q == ']' && q > fs &&
			    memchr(fs, '.', (size_t)(q - fs)) != NULL) {
				h->msgid = ds;
				h->msgid_len = (size_t)(fs - 1 - ds);
				q++;
				if (q < end && *q == ' ')
					q++;
				p = q;
			}
		}
	}
	return p;
}

/* A token that looks like a tag rather than a host: ends in ':' or has
 * "[digits]:" (a 3164 line written without the host). */
static int
looks_like_tag(const char *p, const char *end)
{
	while (p < end && *p != ' ') {
		if (*p == ':' || *p == '[')
			return 1;
		p++;
	}
	return 0;
}

void
syslog_parse(const char *buf, size_t len, uint64_t ref_us,
    struct syslog_hdr *h)
{
	const char *p = buf, *end, *q, *tok, *host_at;
	unsigned mo = 0, d = 0, yr = 0, hh = 0, mi = 0, s = 0, frac = 0;
	size_t n, tl;
	uint64_t t = 0;
	int bsd = 0, zoned = 0;

	memset(h, 0, sizeof(*h));
	h->pri = -1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	end = buf + len;
	h->msg = buf;
	h->msg_len = len;

	/* <PRI>: 1 to 3 digits, 0..191 */
	if (p < end && *p == '<') {
		const char *ds = p + 1;

		q = ds;
		while (q < end && q - ds < 4 && *q >= '0' && *q <= '9')
			q++;
		if (q > ds && q - ds <= 3 && q < end && *q == '>') {
			unsigned v = 0;

			(void)digits(ds, (size_t)(q - ds), &v);
			if (v <= 191) {
				h->pri = (int)v;
				p = q + 1;
				h->msg = p;
				h->msg_len = (size_t)(end - p);
			}
		}
	}
	if (h->pri >= 0 && end - p >= 2 && p[0] == '1' && p[1] == ' ') {
		struct syslog_hdr save = *h;

		if (parse_5424(p, end, h) == 0)
			return;
		*h = save;
	}

	/* RFC 3164: time, then host (optional), then tag (optional).  A
	 * device with an unsynchronised clock marks its time with '*'
	 * (Cisco); one with a year-stamp may end it with ':'. */
	q = p;
	if (q < end && *q == '*')
		q++;
	if ((n = parse_bsd(q, end, &mo, &d, &yr, &hh, &mi, &s, &frac)) != 0)
		bsd = 1;
	else if ((n = parse_iso(p, end, 1, &t, &zoned)) == 0)
		return;
	q += n;
	if (bsd && q < end && *q == ':' && (q + 1 == end || q[1] == ' '))
		q++;
	if (q < end && *q != ' ')
		return;
	while (q < end && *q == ' ')
		q++;
	if (bsd) {
		int64_t y = yr != 0 ? (int64_t)yr : year_of(ref_us);

		if (yr == 0 && civil_us(y, mo,
		    d > syslog_days_in_month(y, mo) ? 1 : d, hh, mi, s, frac) >
		    ref_us + SEC_PER_DAY * US_PER_SEC)
			y--;
		if (y >= 1970 && d <= syslog_days_in_month(y, mo)) {
			h->has_time = 1;
			h->time_us = civil_us(y, mo, d, hh, mi, s, frac);
		}
	} else {
		h->has_time = 1;
		h->time_us = t;
		h->zoned = zoned;
	}
	h->format = SYSLOG_3164;
	h->msg = q;
	h->msg_len = (size_t)(end - q);
	if (q >= end)
		return;
	host_at = q;
	if (!looks_like_tag(q, end)) {
		const char *r = q;

		if (token(&r, end, MAX_HOST_BYTES, 0, &tok, &tl) == 0) {
			h->host = tok;
			h->host_len = tl;
			while (r < end && *r == ' ')
				r++;
			/* Cisco with a device id: "HOST : %ASA-..." */
			if (end - r >= 3 && r[0] == ':' && r[1] == ' ' &&
			    r[2] == '%')
				r += 2;
			q = r;
			h->msg = q;
			h->msg_len = (size_t)(end - q);
		} else {
			/* a token longer than any host name: not a header */
			h->format = SYSLOG_NONE;
			h->has_time = 0;
			h->zoned = 0;
			h->time_us = 0;
			h->msg = p;
			h->msg_len = (size_t)(end - p);
			return;
		}
	}
	if (q < end && (tok = parse_tag(q, end, h)) != NULL) {
		h->msg = tok;
		h->msg_len = (size_t)(end - tok);
	} else if (!bsd && p[10] == ' ' && h->host != NULL) {
		/* "2026-01-26 10:00:00,123 INFO started": an application's
		 * own log, not syslog; a word after the time is a host only
		 * when a tag follows it */
		h->host = NULL;
		h->host_len = 0;
		h->msg = host_at;
		h->msg_len = (size_t)(end - host_at);
	}
}

int
rules_parse_time(const char *buf, size_t len, uint64_t *out)
{
	uint64_t t;

	int zoned;

	/* parse_iso returns 0 for "not a time": an empty value is not one
	 * either (t would be unset) */
	if (len == 0 || parse_iso(buf, buf + len, 0, &t, &zoned) != len)
		return TS_EINVAL;
	*out = t;
	return 0;
}

char *
field_arena_dup(struct field_arena *a, const char *s, size_t n)
{
	char *p;

	if (n + 1 > a->cap - a->len)
		return NULL;
	p = a->buf + a->len;
	memcpy(p, s, n);
	p[n] = '\0';
	a->len += n + 1;
	return p;
}
