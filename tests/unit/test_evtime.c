/*
 * test_evtime.c - the event time from the record (rules/evtime.c): the
 * formats of the logs tocsin decodes (access logs, W3C, Apache and nginx
 * error logs, audit, syslog-like devices), zones (numeric, fixed, local),
 * year inference, a table of malformed times that must be refused, format
 * checking at load, and a rule set whose decoder declares `time:` so that
 * rules_eval's event time is the record's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "rules/rules.h"
#include "rules/rules_int.h"

#define REF "2026-01-30T12:00:00Z"

static uint64_t
t3339(const char *s)
{
	uint64_t t;

	assert_int_equal(rules_parse_time(s, strlen(s), &t), 0);
	return t;
}

struct tcase {
	const char	*fmt;
	const char	*in;
	int		 zone;
	int32_t		 off;
	const char	*want;		/* RFC 3339, NULL: refused */
};

static const struct tcase cases[] = {
	/* access logs (Apache, nginx) */
	{ "%d/%b/%Y:%H:%M:%S %z", "29/Jan/2025:00:00:13 +0000", 0, 0,
	  "2025-01-29T00:00:13Z" },
	{ "%d/%b/%Y:%H:%M:%S %z", "30/Jan/2026:12:00:00 +0100", 0, 0,
	  "2026-01-30T11:00:00Z" },
	{ "%d/%b/%Y:%H:%M:%S %z", "30/Jan/2026:12:00:00 -0530", 0, 0,
	  "2026-01-30T17:30:00Z" },
	/* W3C date time (UTC) */
	{ "%Y-%m-%d %H:%M:%S", "2024-03-05 07:08:09", EVTIME_ZONE_UTC, 0,
	  "2024-03-05T07:08:09Z" },
	/* Apache 2.4 error log, local time given as a fixed zone here */
	{ "%a %b %d %H:%M:%S %Y", "Wed Oct 11 14:32:52.123456 2000",
	  EVTIME_ZONE_FIXED, 2 * 3600, "2000-10-11T12:32:52.123456Z" },
	/* Apache 2.2 (no fraction), full weekday and month names too */
	{ "%a %b %d %H:%M:%S %Y", "Sun Mar 07 16:02:00 2004", 0, 0,
	  "2004-03-07T16:02:00Z" },
	{ "%a %b %d %H:%M:%S %Y", "Sunday March 07 16:02:00 2004", 0, 0,
	  "2004-03-07T16:02:00Z" },
	/* nginx error log */
	{ "%Y/%m/%d %H:%M:%S", "2026/01/30 12:00:05", 0, 0,
	  "2026-01-30T12:00:05Z" },
	/* audit: msg=audit(1450875964.131:...) */
	{ "%s", "1450875964.131", 0, 0, "2015-12-23T13:06:04.131Z" },
	{ "%s", "1450875964", 0, 0, "2015-12-23T13:06:04Z" },
	/* ISO 8601 with T, fraction and offsets */
	{ "%FT%T%z", "2020-03-24T08:38:42.344447-07:00", 0, 0,
	  "2020-03-24T15:38:42.344447Z" },
	{ "%FT%T%z", "2020-03-24T08:38:42Z", 0, 0, "2020-03-24T08:38:42Z" },
	{ "%F %T%z", "2020-03-24 08:38:42.5+0530", 0, 0,
	  "2020-03-24T03:08:42.5Z" },
	{ "%F %T%z", "2020-03-24 08:38:42+05", 0, 0, "2020-03-24T03:38:42Z" },
	/* BSD-like, no year: the reading time's year, or the one before */
	{ "%b %e %H:%M:%S", "Jan  5 01:02:03", 0, 0, "2026-01-05T01:02:03Z" },
	{ "%b %e %H:%M:%S", "Dec 31 23:59:59", 0, 0, "2025-12-31T23:59:59Z" },
	{ "%b %d %H:%M:%S", "Jan 31 12:00:00", 0, 0, "2026-01-31T12:00:00Z" },
	/* 12-hour clock, two-digit years, day of year, zone names */
	{ "%m/%d/%y %I:%M:%S %p", "03/07/24 01:02:03 PM", 0, 0,
	  "2024-03-07T13:02:03Z" },
	{ "%m/%d/%y %I:%M:%S %p", "03/07/99 12:00:00 am", 0, 0,
	  "1999-03-07T00:00:00Z" },
	{ "%Y.%j %T", "2024.060 00:00:00", 0, 0, "2024-02-29T00:00:00Z" },
	{ "%F %T %Z", "2024-01-01 10:00:00 GMT", EVTIME_ZONE_FIXED, 3600,
	  "2024-01-01T10:00:00Z" },
	{ "%F %T %f", "2024-01-01 10:00:00 25", 0, 0,
	  "2024-01-01T10:00:00.25Z" },
	{ "%% %F", "% 2024-01-01", 0, 0, "2024-01-01T00:00:00Z" },
	/* trailing blanks are allowed, leap second folds onto :59 */
	{ "%F %T", "2016-12-31 23:59:60  ", 0, 0, "2016-12-31T23:59:59Z" },

	/* refused */
	{ "%d/%b/%Y:%H:%M:%S %z", "29/Jan/2025:00:00:13", 0, 0, NULL },
	{ "%d/%b/%Y:%H:%M:%S %z", "29/Foo/2025:00:00:13 +0000", 0, 0, NULL },
	{ "%d/%b/%Y:%H:%M:%S %z", "32/Jan/2025:00:00:13 +0000", 0, 0, NULL },
	{ "%d/%b/%Y:%H:%M:%S %z", "29/Jan/2025:24:00:13 +0000", 0, 0, NULL },
	{ "%d/%b/%Y:%H:%M:%S %z", "29/Jan/2025:00:00:13 +2500", 0, 0, NULL },
	{ "%d/%b/%Y:%H:%M:%S %z", "29/Jan/2025:00:00:13 +00:", 0, 0, NULL },
	{ "%F", "2023-02-29", 0, 0, NULL },
	{ "%F", "1969-12-31", 0, 0, NULL },
	{ "%F", "2024-01-01x", 0, 0, NULL },
	{ "%F", "", 0, 0, NULL },
	{ "%a %b %d", "Xyz Jan 01", 0, 0, NULL },
	{ "%b %d", "Janu 01", 0, 0, NULL },
	{ "%I:%M", "01:00", 0, 0, NULL },		/* %I without %p */
	{ "%H:%M %p", "13:00 PM", 0, 0, NULL },	/* %p without %I */
	{ "%s", "abc", 0, 0, NULL },
	{ "%s", "99999999999999999999", 0, 0, NULL },
	{ "%F %T %Z", "2024-01-01 10:00:00 CEST", 0, 0, NULL },
	{ "%Y.%j", "2023.366", 0, 0, NULL },
	{ "%S", "5", 0, 0, NULL },
	{ "%F %T", "2024-01-01 10:00:00.", 0, 0, NULL },
};

static void
test_formats(void **state)
{
	uint64_t ref = t3339(REF);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		const char *bad = NULL;
		uint64_t got = 0;
		int rc;

		assert_int_equal(evtime_check_format(c->fmt, &bad), 0);
		rc = evtime_parse(c->fmt, c->in, strlen(c->in), c->zone,
		    c->off, NULL, ref, &got);
		if (c->want == NULL) {
			if (rc == 0)
				fail_msg("case %zu (%s | %s): accepted", i,
				    c->fmt, c->in);
			continue;
		}
		if (rc != 0)
			fail_msg("case %zu (%s | %s): refused", i, c->fmt,
			    c->in);
		if (got != t3339(c->want))
			fail_msg("case %zu (%s | %s): got %llu, want %s", i,
			    c->fmt, c->in, (unsigned long long)got, c->want);
	}
}

/* Not NUL-terminated input: a read past len would see the digits. */
static void
test_bounded(void **state)
{
	const char buf[] = "2024-01-01 10:00:0099";
	uint64_t got;

	(void)state;
	assert_int_equal(evtime_parse("%F %T", buf, 19, 0, 0, NULL, 0, &got),
	    0);
	assert_int_equal(got, t3339("2024-01-01T10:00:00Z"));
	assert_int_equal(evtime_parse("%F %T", buf, 18, 0, 0, NULL, 0, &got),
	    TS_EINVAL);
}

static void
test_check_format(void **state)
{
	const char *bad = NULL;
	const char *f = "%d/%q/%Y";

	(void)state;
	assert_int_equal(evtime_check_format(f, &bad), TS_EINVAL);
	assert_ptr_equal(bad, f + 3);
	assert_int_equal(evtime_check_format("%Y%", &bad), TS_EINVAL);
	assert_int_equal(evtime_check_format("", &bad), TS_EINVAL);
	assert_int_equal(evtime_check_format("%Y-%m-%d %T", &bad), 0);
}

/* zone: local is the configured zone (engine.timezone), daylight saving
 * included; no zone configured is UTC; a %z in the text wins. */
static void
test_local_zone(void **state)
{
	struct syslog_tz *tz = NULL;
	char why[256];
	uint64_t got;

	(void)state;
	if (syslog_tz_new("Europe/Paris", &tz, why, sizeof(why)) != 0)
		skip();		/* no tz database on this machine */
	/* winter: +01:00; summer: +02:00 */
	assert_int_equal(evtime_parse("%F %T", "2024-01-15 12:00:00", 19,
	    EVTIME_ZONE_LOCAL, 0, tz, 0, &got), 0);
	assert_int_equal(got, t3339("2024-01-15T11:00:00Z"));
	assert_int_equal(evtime_parse("%F %T", "2024-07-15 12:00:00", 19,
	    EVTIME_ZONE_LOCAL, 0, tz, 0, &got), 0);
	assert_int_equal(got, t3339("2024-07-15T10:00:00Z"));
	/* just after the spring change (02:00 -> 03:00 on 31 March) */
	assert_int_equal(evtime_parse("%F %T", "2024-03-31 03:30:00", 19,
	    EVTIME_ZONE_LOCAL, 0, tz, 0, &got), 0);
	assert_int_equal(got, t3339("2024-03-31T01:30:00Z"));
	/* an offset in the text wins over the zone */
	assert_int_equal(evtime_parse("%F %T%z", "2024-07-15 12:00:00+0000",
	    24, EVTIME_ZONE_LOCAL, 0, tz, 0, &got), 0);
	assert_int_equal(got, t3339("2024-07-15T12:00:00Z"));
	/* no zone configured: UTC */
	assert_int_equal(evtime_parse("%F %T", "2024-07-15 12:00:00", 19,
	    EVTIME_ZONE_LOCAL, 0, NULL, 0, &got), 0);
	assert_int_equal(got, t3339("2024-07-15T12:00:00Z"));
	syslog_tz_free(&tz);
}

static void
test_parse_zone(void **state)
{
	int k;
	int32_t off;

	(void)state;
	assert_int_equal(evtime_parse_zone("UTC", &k, &off), 0);
	assert_int_equal(k, EVTIME_ZONE_UTC);
	assert_int_equal(evtime_parse_zone("local", &k, &off), 0);
	assert_int_equal(k, EVTIME_ZONE_LOCAL);
	assert_int_equal(evtime_parse_zone("+05:30", &k, &off), 0);
	assert_int_equal(k, EVTIME_ZONE_FIXED);
	assert_int_equal(off, 5 * 3600 + 30 * 60);
	assert_int_equal(evtime_parse_zone("-0800", &k, &off), 0);
	assert_int_equal(off, -8 * 3600);
	assert_int_equal(evtime_parse_zone("Mars/Olympus", &k, &off),
	    TS_EINVAL);
	assert_int_equal(evtime_parse_zone("+05:", &k, &off), TS_EINVAL);
}

/* Write text to a fresh file under dir; the path into out. */
static void
write_file(const char *dir, const char *name, const char *text, char *out,
    size_t outlen)
{
	FILE *f;

	snprintf(out, outlen, "%s/%s", dir, name);
	assert_non_null(f = fopen(out, "w"));
	fputs(text, f);
	fclose(f);
}

static const char *const yml =
    "decoders:\n"
    "  - name: acc\n"
    "    match: '^(?<ip>\\S+) \\[(?<t>[^\\]]+)\\] (?<rest>.*)$'\n"
    "    time: {field: t, format: ['%d/%b/%Y:%H:%M:%S %z', '%F %T'],"
    " zone: '+02:00'}\n"
    "rules:\n"
    "  - id: r1\n"
    "    title: any\n"
    "    level: 3\n"
    "    fields:\n"
    "      ip: {regex: '.'}\n";

/* rules_eval: the record's time, the fallbacks, and the counter. */
static void
test_rules_eval_time(void **state)
{
	char dir[] = "/tmp/evtime.XXXXXX", path[256];
	const char *paths[1] = { path };
	struct rules_diags dl = { 0 };
	struct rules_counters c;
	struct rules_result res;
	struct rules_event ev;
	ruleset_t *rs = NULL;
	rules_ctx_t *ctx;
	const char *l1 = "1.2.3.4 [29/Jan/2025:00:00:13 +0000] GET /";
	const char *l2 = "1.2.3.4 [2025-01-29 04:00:00] GET /";
	const char *l3 = "Jan 29 05:00:00 h prog: 1.2.3.4 [yesterday] GET /";

	(void)state;
	assert_non_null(mkdtemp(dir));
	write_file(dir, "a.yml", yml, path, sizeof(path));
	assert_int_equal(ruleset_load(paths, 1, &rs, &dl), 0);
	assert_non_null(ctx = rules_ctx_new(rs));
	memset(&ev, 0, sizeof(ev));
	ev.time_us = t3339(REF);

	ev.raw = l1;
	ev.raw_len = strlen(l1);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_int_equal(res.time_us, t3339("2025-01-29T00:00:13Z"));
	assert_int_equal(res.read_us, t3339(REF));

	/* second format, the decoder's fixed zone */
	ev.raw = l2;
	ev.raw_len = strlen(l2);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_int_equal(res.time_us, t3339("2025-01-29T02:00:00Z"));

	/* unreadable: the header's time, counted */
	ev.raw = l3;
	ev.raw_len = strlen(l3);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_int_equal(res.time_us, t3339("2026-01-29T05:00:00Z"));
	rules_ctx_counters(ctx, &c);
	assert_int_equal(c.time_unparsed, 1);

	rules_ctx_free(&ctx);
	ruleset_free(&rs);
	rules_diags_free(&dl);
	unlink(path);
	rmdir(dir);
}

/* Errors at load: a bad directive, a field the decoder does not make, a
 * bad zone, an unknown key; each names file and line. */
static void
test_load_errors(void **state)
{
	static const char *const bad[] = {
	    "decoders:\n  - name: d\n    match: '(?<t>.*)'\n"
	    "    time: {field: t, format: '%d/%q'}\n",
	    "decoders:\n  - name: d\n    match: '(?<t>.*)'\n"
	    "    time: {field: other, format: '%F'}\n",
	    "decoders:\n  - name: d\n    match: '(?<t>.*)'\n"
	    "    time: {field: t, format: '%F', zone: 'Mars'}\n",
	    "decoders:\n  - name: d\n    match: '(?<t>.*)'\n"
	    "    time: {field: t, format: '%F', tz: UTC}\n",
	    "decoders:\n  - name: d\n    match: '(?<t>.*)'\n"
	    "    time: {format: '%F'}\n",
	    "decoders:\n  - name: d\n    match: '(?<t>.*)'\n"
	    "    time: '%F'\n",
	};
	char dir[] = "/tmp/evtime.XXXXXX", path[256];
	const char *paths[1] = { path };

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rules_diags dl = { 0 };
		ruleset_t *rs = NULL;

		write_file(dir, "b.yml", bad[i], path, sizeof(path));
		assert_int_equal(ruleset_load(paths, 1, &rs, &dl), TS_EPARSE);
		assert_null(rs);
		assert_true(dl.errors >= 1);
		assert_true(dl.d[0].line == 4);
		rules_diags_free(&dl);
	}
	unlink(path);
	rmdir(dir);
}

/* evtime_format writes what evtime_parse reads back (replay's shift). */
static void
test_format(void **state)
{
	/* written with fmts[i], read with reads[i] (%S reads a fraction) */
	static const char *const fmts[] = { "%d/%b/%Y:%H:%M:%S %z",
	    "%Y-%m-%d %H:%M:%S", "%a %b %d %H:%M:%S.%f %Y", "%F %T", "%s" };
	static const char *const reads[] = { "%d/%b/%Y:%H:%M:%S %z",
	    "%Y-%m-%d %H:%M:%S", "%a %b %d %H:%M:%S %Y", "%F %T", "%s" };
	uint64_t t = t3339("2026-03-05T07:08:09.123456Z"), back;
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		size_t n = evtime_format(fmts[i], t, EVTIME_ZONE_FIXED, 3600,
		    buf, sizeof(buf));

		assert_true(n > 0);
		assert_int_equal(evtime_parse(reads[i], buf, n,
		    EVTIME_ZONE_FIXED, 3600, NULL, 0, &back), 0);
		/* %f keeps microseconds; the others whole seconds */
		assert_int_equal(back / 1000000, t / 1000000);
		if (i == 2)
			assert_int_equal(back, t);
	}
	assert_true(evtime_format("%d/%b/%Y:%H:%M:%S %z", t,
	    EVTIME_ZONE_FIXED, -5 * 3600, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "05/Mar/2026:02:08:09 -0500");
	assert_int_equal(evtime_format("%F", t, 0, 0, buf, 5), 0);
	assert_int_equal(evtime_format("%q", t, 0, 0, buf, sizeof(buf)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_check_format),
		cmocka_unit_test(test_local_zone),
		cmocka_unit_test(test_parse_zone),
		cmocka_unit_test(test_rules_eval_time),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
