/*
 * tz.c - the time zone of a source whose log headers carry none (RFC 3164
 * BSD times, ISO 8601 times without an offset): "UTC", a fixed offset
 * ("+02:00", "-0700", "+05") or an IANA zone name ("Europe/Paris") read
 * from the system's compiled zone files (TZif, RFC 8536: the 64-bit
 * transition table of version 2+ files, else the 32-bit one).
 *
 * No process-wide state (no TZ variable, no tzset): each source may have
 * its own zone.  Times past the file's last transition keep its last
 * offset (Debian's tzdata writes transitions up to 2037).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/decode.h"

/* Largest zone file read (the biggest in tzdata are under 4 KiB). */
#define MAX_TZFILE_BYTES	(64 * 1024)
/* Longest zone name (tzdata's longest are about 30 bytes). */
#define MAX_TZNAME_BYTES	128

struct syslog_tz {
	int32_t		 fixed;		/* seconds east of UTC, when n == 0 */
	int64_t		*at;		/* transition times (UTC seconds) */
	int32_t		*off;		/* offset in force from at[i] */
	size_t		 n;
	int32_t		 off0;		/* before the first transition */
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* "+hh:mm", "+hhmm", "+hh" (or '-'); 0 or -1. */
static int
parse_fixed(const char *s, int32_t *out)
{
	size_t n = strlen(s);
	int h, m = 0;

	if (n < 3 || (s[0] != '+' && s[0] != '-'))
		return -1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] < '0' || s[i] > '9') && !(i == 3 && s[i] == ':'))
			return -1;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	if (n == 6 && s[3] == ':')
		m = (s[4] - '0') * 10 + (s[5] - '0');
	else if (n == 5 && s[3] != ':')
		m = (s[3] - '0') * 10 + (s[4] - '0');
	else if (n != 3)
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*out = (h * 3600 + m * 60) * (s[0] == '-' ? -1 : 1);
	return 0;
}

/* A zone name that cannot leave the zone folder. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MAX_TZNAME_BYTES || s[0] == '/' ||
	    strstr(s, "..") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '/' || s[i] == '_' || s[i] == '-' || s[i] == '+'))
			return 0;
	return 1;
}

/* Parse a TZif image (buf, len) into tz.  0 or TS_EINVAL / TS_ENOMEM. */
static int
tzif_parse(const unsigned char *buf, size_t len, struct syslog_tz *tz)
{
	const unsigned char *p = buf, *end = buf + len;
	uint32_t isut, isstd, leap, timecnt, typecnt, charcnt;
	size_t tsz = 4, body;
	int v2;

	for (int pass = 0; pass < 2; pass++) {
		if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4) != 0)
			return TS_EINVAL;
		v2 = p[4] >= '2';
		isut = be32(p + 20);
		isstd = be32(p + 24);
		leap = be32(p + 28);
		timecnt = be32(p + 32);
		typecnt = be32(p + 36);
		charcnt = be32(p + 40);
		if (typecnt == 0 || typecnt > 256 || timecnt > 100000 ||
		    leap > 100000 || charcnt > 100000 || isut > 256 ||
		    isstd > 256)
			return TS_EINVAL;
		body = timecnt * tsz + timecnt + typecnt * 6 + charcnt +
		    leap * (tsz + 4) + isstd + isut;
		p += 44;
		if ((size_t)(end - p) < body)
			return TS_EINVAL;
		if (pass == 0 && v2) {	/* skip the 32-bit block */
			p += body;
			tsz = 8;
			continue;
		}
		break;
	}
	{
		const unsigned char *times = p, *idx = p + timecnt * tsz;
		const unsigned char *types = idx + timecnt;

		tz->off0 = (int32_t)be32(types);	/* type 0 */
		/* the first non-DST type is the zone's time before its
		 * first transition (RFC 8536, 3.2) */
		for (uint32_t k = 0; k < typecnt; k++)
			if (types[6 * k + 4] == 0) {
				tz->off0 = (int32_t)be32(types + 6 * k);
				break;
			}
		if (timecnt == 0)
			return 0;
		tz->at = calloc(timecnt, sizeof(*tz->at));
		tz->off = calloc(timecnt, sizeof(*tz->off));
		if (tz->at == NULL || tz->off == NULL)
			return TS_ENOMEM;
		for (uint32_t i = 0; i < timecnt; i++) {
			if (idx[i] >= typecnt)
				return TS_EINVAL;
			tz->at[i] = tsz == 8 ? be64(times + 8 * i) :
			    (int64_t)(int32_t)be32(times + 4 * i);
			tz->off[i] = (int32_t)be32(types + 6 * idx[i]);
			if (tz->off[i] < -26 * 3600 || tz->off[i] > 26 * 3600)
				return TS_EINVAL;
			if (i > 0 && tz->at[i] < tz->at[i - 1])
				return TS_EINVAL;
		}
		tz->n = timecnt;
	}
	return 0;
}

int
syslog_tz_new(const char *spec, struct syslog_tz **out, char *err,
    size_t errlen)
{
	struct syslog_tz *tz;
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int rc;

	*out = NULL;
	if ((tz = calloc(1, sizeof(*tz))) == NULL)
		return TS_ENOMEM;
	if (strcmp(spec, "UTC") == 0 || strcmp(spec, "Z") == 0 ||
	    strcmp(spec, "utc") == 0) {
		*out = tz;
		return 0;
	}
	if (spec[0] == '+' || spec[0] == '-') {
		if (parse_fixed(spec, &tz->fixed) != 0) {
			snprintf(err, errlen, "time zone \"%s\": an offset is "
			    "+hh:mm, +hhmm or +hh", spec);
			free(tz);
			return TS_EINVAL;
		}
		*out = tz;
		return 0;
	}
	if (!name_ok(spec)) {
		snprintf(err, errlen, "time zone \"%s\": not UTC, an offset "
		    "or a zone name like Europe/Paris", spec);
		free(tz);
		return TS_EINVAL;
	}
	if (dir == NULL || dir[0] == '\0')
		dir = "/usr/share/zoneinfo";
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, spec) >=
	    sizeof(path) || (f = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "time zone \"%s\": %s: %s", spec, path,
		    f == NULL ? strerror(errno) : "name too long");
		free(tz);
		return TS_EINVAL;
	}
	if ((buf = malloc(MAX_TZFILE_BYTES)) == NULL) {
		fclose(f);
		free(tz);
		return TS_ENOMEM;
	}
	len = fread(buf, 1, MAX_TZFILE_BYTES, f);
	fclose(f);
	rc = tzif_parse(buf, len, tz);
	free(buf);
	if (rc != 0) {
		snprintf(err, errlen, "time zone \"%s\": %s is not a zone "
		    "file", spec, path);
		syslog_tz_free(&tz);
		return rc;
	}
	*out = tz;
	return 0;
}

void
syslog_tz_free(struct syslog_tz **tzp)
{
	if (tzp == NULL || *tzp == NULL)
		return;
	free((*tzp)->at);
	free((*tzp)->off);
	free(*tzp);
	*tzp = NULL;
}

/* Offset in force at UTC second t. */
static int32_t
offset_at(const struct syslog_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n;

	if (tz->n == 0)
		return tz->fixed;
	if (t < tz->at[0])
		return tz->off0;
	while (hi - lo > 1) {		/* last at[i] <= t */
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->off[lo];
}

uint64_t
syslog_tz_local(const struct syslog_tz *tz, uint64_t wall_us)
{
	int64_t w, u;
	int32_t o;

	if (tz == NULL)
		return wall_us;
	w = (int64_t)(wall_us / 1000000);
	/* the offset at the guess w - off(w), then once more: the offset
	 * in force at the result (a wall time that a change skips or
	 * repeats gets one of the two offsets) */
	o = offset_at(tz, w);
	o = offset_at(tz, w - o);
	u = (int64_t)wall_us - (int64_t)o * 1000000;
	return u < 0 ? 0 : (uint64_t)u;
}
