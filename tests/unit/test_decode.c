/*
 * test_decode.c - the built-in syslog header decoder (rules/decode.c):
 * RFC 3164 with BSD and ISO 8601 times, RFC 5424, year inference, and a
 * table of malformed headers (truncated, no colon, huge pid, bad dates);
 * the CEF decoder (rules/decode_cef.c) with its own table of malformed
 * records; the JSON decoder (rules/decode_json.c); and a bounded seeded
 * mutation run over both under the sanitizers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"
#include "common/util.h"

struct hcase {
	const char	*line;
	const char	*ref;		/* RFC 3339; when the line was read */
	int		 format;
	int		 pri;
	const char	*host;		/* NULL: absent */
	const char	*program;
	const char	*pid;
	const char	*msgid;
	const char	*msg;
	const char	*time;		/* NULL: no time from the header */
};

#define REF "2026-01-30T12:00:00Z"

static const struct hcase cases[] = {
	/* RFC 3164, BSD time */
	{ "Jan 26 00:00:05 d2-4-bhs5 sshd[3578055]: Invalid user sammy from "
	  "35.246.248.48 port 47192", REF, SYSLOG_3164, -1, "d2-4-bhs5", "sshd",
	  "3578055", NULL, "Invalid user sammy from 35.246.248.48 port 47192",
	  "2026-01-26T00:00:05Z" },
	{ "<38>Jan 26 00:00:05 web01 sshd[1]: hello", REF, SYSLOG_3164, 38,
	  "web01", "sshd", "1", NULL, "hello", "2026-01-26T00:00:05Z" },
	{ "Jan  5 01:02:03 h cron: job done", REF, SYSLOG_3164, -1, "h", "cron",
	  NULL, NULL, "job done", "2026-01-05T01:02:03Z" },
	{ "Jan 5 01:02:03 h cron: x", REF, SYSLOG_3164, -1, "h", "cron", NULL,
	  NULL, "x", "2026-01-05T01:02:03Z" },
	{ "Jan 26 00:00:05.250 h p: frac", REF, SYSLOG_3164, -1, "h", "p", NULL,
	  NULL, "frac", "2026-01-26T00:00:05.250Z" },
	{ "Jan 26 00:00:05 h p:nospace", REF, SYSLOG_3164, -1, "h", "p", NULL,
	  NULL, "nospace", "2026-01-26T00:00:05Z" },
	{ "Jan 26 00:00:05 h p: ", REF, SYSLOG_3164, -1, "h", "p", NULL, NULL,
	  "", "2026-01-26T00:00:05Z" },
	{ "Jan 26 00:00:05 h org.gnome.Shell.desktop[2201]: x", REF,
	  SYSLOG_3164, -1, "h", "org.gnome.Shell.desktop", "2201", NULL, "x",
	  "2026-01-26T00:00:05Z" },
	/* year inference: December seen in January is last year */
	{ "Dec 31 23:59:59 h p: x", REF, SYSLOG_3164, -1, "h", "p", NULL, NULL,
	  "x", "2025-12-31T23:59:59Z" },
	{ "Jan 31 00:00:00 h p: x", REF, SYSLOG_3164, -1, "h", "p", NULL, NULL,
	  "x", "2026-01-31T00:00:00Z" },	/* 12 h ahead: clock skew */
	{ "Feb 01 00:00:01 h p: x", REF, SYSLOG_3164, -1, "h", "p", NULL, NULL,
	  "x", "2025-02-01T00:00:01Z" },	/* 36 h ahead: last year */
	{ "Feb 29 00:00:00 h p: x", "2028-03-01T00:00:00Z", SYSLOG_3164, -1,
	  "h", "p", NULL, NULL, "x", "2028-02-29T00:00:00Z" },
	/* no such day in the inferred year: header kept, time not */
	{ "Feb 29 00:00:00 h p: x", REF, SYSLOG_3164, -1, "h", "p", NULL, NULL,
	  "x", NULL },
	/* RFC 3164 with an ISO 8601 time (rsyslog high precision) */
	{ "2026-01-26T00:00:05.123456+01:00 h sshd[7]: m", REF, SYSLOG_3164,
	  -1, "h", "sshd", "7", NULL, "m", "2026-01-25T23:00:05.123456Z" },
	{ "<13>2026-01-26T00:00:05Z h p: m", REF, SYSLOG_3164, 13, "h", "p",
	  NULL, NULL, "m", "2026-01-26T00:00:05Z" },
	{ "2026-01-26T00:00:05 h p: m", REF, SYSLOG_3164, -1, "h", "p", NULL,
	  NULL, "m", "2026-01-26T00:00:05Z" },
	/* ISO 8601 with a space, fraction and a numeric offset without a
	 * colon, two spaces before the host */
	{ "2020-03-24 08:38:42.344447-0700  host1 prog[12]: m", REF,
	  SYSLOG_3164, -1, "host1", "prog", "12", NULL, "m",
	  "2020-03-24T15:38:42.344447Z" },
	{ "2020-03-24T08:38:42+05 h p: m", REF, SYSLOG_3164, -1, "h", "p",
	  NULL, NULL, "m", "2020-03-24T03:38:42Z" },
	{ "2020-03-24 08:38:42 h sshd[1]: m", REF, SYSLOG_3164, -1, "h",
	  "sshd", "1", NULL, "m", "2020-03-24T08:38:42Z" },
	/* an application's own log: time, no host, no tag */
	{ "2026-01-26 10:00:00,123 INFO app started", REF, SYSLOG_3164, -1,
	  NULL, NULL, NULL, NULL, "INFO app started",
	  "2026-01-26T10:00:00.123Z" },
	/* RFC 3164 with a year; Cisco's '*' and ':' after the time */
	{ "Mar 24 2020 08:38:42 fw1 sshd[3]: m", REF, SYSLOG_3164, -1, "fw1",
	  "sshd", "3", NULL, "m", "2020-03-24T08:38:42Z" },
	{ "<166>Mar 24 2020 08:38:42: %ASA-6-302013: Built x", REF,
	  SYSLOG_3164, 166, NULL, "ASA", NULL, "6-302013", "Built x",
	  "2020-03-24T08:38:42Z" },
	{ "*Jan 26 00:00:05.123: %SYS-5-CONFIG_I: Configured", REF,
	  SYSLOG_3164, -1, NULL, "SYS", NULL, "5-CONFIG_I", "Configured",
	  "2026-01-26T00:00:05.123Z" },
	{ "Mar 01 2023 10:00:01 fw01 : %ASA-2-106001: Inbound TCP", REF,
	  SYSLOG_3164, -1, "fw01", "ASA", NULL, "2-106001", "Inbound TCP",
	  "2023-03-01T10:00:01Z" },
	/* old PAM: "prog(module)[pid]:"; Solaris message ids */
	{ "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication "
	  "failure; rhost=218.188.2.4", REF, SYSLOG_3164, -1, "combo", "sshd",
	  "19939", NULL, "authentication failure; rhost=218.188.2.4",
	  "2025-06-14T15:16:01Z" },
	{ "Jun 14 15:16:01 combo su(pam_unix): x", REF, SYSLOG_3164, -1,
	  "combo", "su", NULL, NULL, "x", "2025-06-14T15:16:01Z" },
	{ "Nov 27 10:00:00 sol1 sshd[123]: [ID 800047 auth.info] Failed "
	  "password", REF, SYSLOG_3164, -1, "sol1", "sshd", "123", "800047",
	  "Failed password", "2025-11-27T10:00:00Z" },
	{ "Nov 27 10:00:00 sol1 sshd[123]: [ID x auth.info] m", REF,
	  SYSLOG_3164, -1, "sol1", "sshd", "123", NULL, "[ID x auth.info] m",
	  "2025-11-27T10:00:00Z" },
	/* programs with slashes and dots */
	{ "Jan 26 00:00:05 h postfix/smtpd[12]: connect", REF, SYSLOG_3164, -1,
	  "h", "postfix/smtpd", "12", NULL, "connect",
	  "2026-01-26T00:00:05Z" },
	{ "Jan 26 00:00:05 h /usr/sbin/cron[9]: x", REF, SYSLOG_3164, -1, "h",
	  "/usr/sbin/cron", "9", NULL, "x", "2026-01-26T00:00:05Z" },
	/* no header at all: a raw audit record */
	{ "type=SYSCALL msg=audit(1450875964.131:8741): arch=c000003e", REF,
	  SYSLOG_NONE, -1, NULL, NULL, NULL, NULL,
	  "type=SYSCALL msg=audit(1450875964.131:8741): arch=c000003e", NULL },
	/* no host: the first token is a tag */
	{ "Jan 26 00:00:05 sshd[12]: no host", REF, SYSLOG_3164, -1, NULL,
	  "sshd", "12", NULL, "no host", "2026-01-26T00:00:05Z" },
	/* no tag */
	{ "Jan 26 00:00:05 h no colon here", REF, SYSLOG_3164, -1, "h", NULL,
	  NULL, NULL, "no colon here", "2026-01-26T00:00:05Z" },
	/* RFC 5424 (examples of the RFC) */
	{ "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
	  "'su root' failed for lonvick on /dev/pts/8", REF, SYSLOG_5424, 34,
	  "mymachine.example.com", "su", NULL, "ID47",
	  "'su root' failed for lonvick on /dev/pts/8",
	  "2003-10-11T22:14:15.003Z" },
	{ "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - "
	  "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
	  "eventID=\"1011\"] %% It's time to make the do-nuts.", REF,
	  SYSLOG_5424, 165, "192.0.2.1", "myproc", "8710", NULL,
	  "%% It's time to make the do-nuts.", "2003-08-24T12:14:15.000003Z" },
	{ "<165>1 2003-10-11T22:14:15.003Z h app - - [a x=\"1\\]\"][b y=\"2\"] "
	  "\xef\xbb\xbf" "BOM", REF, SYSLOG_5424, 165, "h", "app", NULL, NULL,
	  "BOM", "2003-10-11T22:14:15.003Z" },
	{ "<14>1 - - - - - -", REF, SYSLOG_5424, 14, NULL, NULL, NULL, NULL, "",
	  NULL },
	{ "<14>1 - h sshd-session 99 - - m", REF, SYSLOG_5424, 14, "h",
	  "sshd-session", "99", NULL, "m", NULL },
	/* trailing newline is not message */
	{ "Jan 26 00:00:05 h p: crlf\r\n", REF, SYSLOG_3164, -1, "h", "p", NULL,
	  NULL, "crlf", "2026-01-26T00:00:05Z" },

	/* ---- malformed: the whole line (after a valid PRI) is message ---- */
	{ "", REF, SYSLOG_NONE, -1, NULL, NULL, NULL, NULL, "", NULL },
	{ "hello world", REF, SYSLOG_NONE, -1, NULL, NULL, NULL, NULL,
	  "hello world", NULL },
	{ "Jan 26 00:00:0", REF, SYSLOG_NONE, -1, NULL, NULL, NULL, NULL,
	  "Jan 26 00:00:0", NULL },			/* truncated */
	{ "Jan 26", REF, SYSLOG_NONE, -1, NULL, NULL, NULL, NULL, "Jan 26",
	  NULL },
	{ "Jan 26 00:00:05", REF, SYSLOG_3164, -1, NULL, NULL, NULL, NULL, "",
	  "2026-01-26T00:00:05Z" },			/* time only */
	{ "Jan 26 00:00:05 host", REF, SYSLOG_3164, -1, "host", NULL, NULL,
	  NULL, "", "2026-01-26T00:00:05Z" },
	{ "Jan 26 00:00:05x h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "Jan 26 00:00:05x h p: m", NULL },
	{ "Jan 26 00:00:05 h sshd[123", REF, SYSLOG_3164, -1, "h", NULL, NULL,
	  NULL, "sshd[123", "2026-01-26T00:00:05Z" },	/* unclosed pid */
	{ "Jan 26 00:00:05 h sshd[123] x", REF, SYSLOG_3164, -1, "h", NULL,
	  NULL, NULL, "sshd[123] x", "2026-01-26T00:00:05Z" },	/* no colon */
	{ "Jan 26 00:00:05 h sshd[12345678901234567890]: x", REF, SYSLOG_3164,
	  -1, "h", NULL, NULL, NULL, "sshd[12345678901234567890]: x",
	  "2026-01-26T00:00:05Z" },			/* huge pid */
	{ "Jan 26 00:00:05 h sshd[]: x", REF, SYSLOG_3164, -1, "h", NULL, NULL,
	  NULL, "sshd[]: x", "2026-01-26T00:00:05Z" },
	{ "Jan 26 00:00:05 h sshd[-1]: x", REF, SYSLOG_3164, -1, "h", NULL,
	  NULL, NULL, "sshd[-1]: x", "2026-01-26T00:00:05Z" },
	{ "Jan 26 00:00:05 h : x", REF, SYSLOG_3164, -1, "h", NULL, NULL, NULL,
	  ": x", "2026-01-26T00:00:05Z" },		/* empty tag */
	{ "Jan 32 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "Jan 32 00:00:05 h p: m", NULL },
	{ "Jan 00 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "Jan 00 00:00:05 h p: m", NULL },
	{ "Foo 26 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "Foo 26 00:00:05 h p: m", NULL },
	{ "jan 26 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "jan 26 00:00:05 h p: m", NULL },
	{ "Jan 26 24:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "Jan 26 24:00:05 h p: m", NULL },
	{ "Jan 26 00:60:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "Jan 26 00:60:05 h p: m", NULL },
	{ "Jan 26 0a:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "Jan 26 0a:00:05 h p: m", NULL },
	{ "2026-13-26T00:00:05Z h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "2026-13-26T00:00:05Z h p: m", NULL },
	{ "2026-02-30T00:00:05Z h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "2026-02-30T00:00:05Z h p: m", NULL },
	{ "2026-01-26T00:00:05+123 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "2026-01-26T00:00:05+123 h p: m", NULL },
	{ "Jan 26 1969 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "Jan 26 1969 00:00:05 h p: m", NULL },
	{ "2026-01-26T00:00:05+25:00 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "2026-01-26T00:00:05+25:00 h p: m", NULL },
	{ "2026-01-26T00:00:05. h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "2026-01-26T00:00:05. h p: m", NULL },
	{ "1969-12-31T23:59:59Z h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "1969-12-31T23:59:59Z h p: m", NULL },
	/* PRI out of range or malformed: not a PRI, no header */
	{ "<192>Jan 26 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "<192>Jan 26 00:00:05 h p: m", NULL },
	{ "<1234>Jan 26 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL,
	  NULL, NULL, "<1234>Jan 26 00:00:05 h p: m", NULL },
	{ "<>Jan 26 00:00:05 h p: m", REF, SYSLOG_NONE, -1, NULL, NULL, NULL,
	  NULL, "<>Jan 26 00:00:05 h p: m", NULL },
	{ "<13", REF, SYSLOG_NONE, -1, NULL, NULL, NULL, NULL, "<13", NULL },
	{ "<13>", REF, SYSLOG_NONE, 13, NULL, NULL, NULL, NULL, "", NULL },
	{ "<13>just text", REF, SYSLOG_NONE, 13, NULL, NULL, NULL, NULL,
	  "just text", NULL },
	/* broken RFC 5424: falls back, header not guessed */
	{ "<13>1 notatime h app - - - m", REF, SYSLOG_NONE, 13, NULL, NULL,
	  NULL, NULL, "1 notatime h app - - - m", NULL },
	{ "<13>1 2003-10-11T22:14:15Z h app", REF, SYSLOG_NONE, 13, NULL, NULL,
	  NULL, NULL, "1 2003-10-11T22:14:15Z h app", NULL },	/* truncated */
	{ "<13>1 - h app - - [unterminated x=\"]\" m", REF, SYSLOG_NONE, 13,
	  NULL, NULL, NULL, NULL, "1 - h app - - [unterminated x=\"]\" m",
	  NULL },
	{ "<13>1 - h app - - -m", REF, SYSLOG_NONE, 13, NULL, NULL, NULL, NULL,
	  "1 - h app - - -m", NULL },
};

static void
expect_str(const char *what, size_t i, const char *want, const char *got,
    size_t got_len)
{
	if (want == NULL) {
		if (got != NULL)
			fail_msg("case %zu: %s: want none, got '%.*s'", i, what,
			    (int)got_len, got);
		return;
	}
	if (got == NULL)
		fail_msg("case %zu: %s: want '%s', got none", i, what, want);
	if (strlen(want) != got_len || memcmp(want, got, got_len) != 0)
		fail_msg("case %zu: %s: want '%s', got '%.*s'", i, what, want,
		    (int)got_len, got);
}

static void
test_header_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct hcase *c = &cases[i];
		struct syslog_hdr h;
		uint64_t ref, want;

		assert_int_equal(parse_rfc3339(c->ref, strlen(c->ref), &ref), 0);
		syslog_parse(c->line, strlen(c->line), ref, &h);
		if (h.format != c->format)
			fail_msg("case %zu (%s): format %d, want %d", i,
			    c->line, h.format, c->format);
		if (h.pri != c->pri)
			fail_msg("case %zu: pri %d, want %d", i, h.pri, c->pri);
		expect_str("host", i, c->host, h.host, h.host_len);
		expect_str("program", i, c->program, h.program,
		    h.program_len);
		expect_str("pid", i, c->pid, h.pid, h.pid_len);
		expect_str("msgid", i, c->msgid, h.msgid, h.msgid_len);
		expect_str("msg", i, c->msg, h.msg, h.msg_len);
		if (c->time == NULL) {
			if (h.has_time)
				fail_msg("case %zu: unexpected time", i);
			continue;
		}
		assert_int_equal(parse_rfc3339(c->time, strlen(c->time),
		    &want), 0);
		if (!h.has_time || h.time_us != want)
			fail_msg("case %zu: time %llu (has %d), want %s (%llu)",
			    i, (unsigned long long)h.time_us, h.has_time,
			    c->time, (unsigned long long)want);
	}
}

/* The parser reads only len bytes: a line that is not NUL-terminated, and
 * every prefix of a valid line, stay in bounds (ASan checks). */
static void
test_not_nul_terminated(void **state)
{
	static const char *lines[] = {
		"<34>1 2003-10-11T22:14:15.003Z mymachine su 12 ID47 "
		    "[a b=\"c\"] msg",
		"<38>Jan 26 00:00:05 web01 sshd[3578055]: Invalid user x",
		"2026-01-26T00:00:05.123456+01:00 h sshd[7]: m",
	};
	(void)state;
	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		size_t n = strlen(lines[k]);

		for (size_t len = 0; len <= n; len++) {
			char *buf = malloc(len ? len : 1);
			struct syslog_hdr h;

			assert_non_null(buf);
			memcpy(buf, lines[k], len);
			syslog_parse(buf, len, 0, &h);
			assert_true(h.msg >= buf && h.msg + h.msg_len <= buf + len);
			if (h.host != NULL)
				assert_true(h.host + h.host_len <= buf + len);
			if (h.program != NULL)
				assert_true(h.program + h.program_len <=
				    buf + len);
			free(buf);
		}
	}
}

static void
test_long_host(void **state)
{
	char line[600];
	struct syslog_hdr h;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "Jan 26 00:00:05 %0300d p: m", 7);
	syslog_parse(line, (size_t)n, 0, &h);
	assert_int_equal(h.format, SYSLOG_NONE);	/* not a host name */
	assert_int_equal(h.msg_len, (size_t)n);
}

static void
test_nul_in_message(void **state)
{
	static const char line[] = "Jan 26 00:00:05 h p: a\0b";
	struct syslog_hdr h;

	(void)state;
	syslog_parse(line, sizeof(line) - 1, 0, &h);
	assert_int_equal(h.format, SYSLOG_3164);
	assert_int_equal(h.msg_len, 3);
	assert_memory_equal(h.msg, "a\0b", 3);
}

/* Headers without a zone take the source's: fixed offsets, IANA zones
 * (DST on both sides of a change), refused specs. */
static void
test_timezone(void **state)
{
	struct syslog_tz *tz = NULL;
	struct syslog_hdr h;
	char err[256];
	uint64_t want;
	static const char line[] = "2026-07-01 12:00:00 h p: m";
	static const char zl[] = "2026-07-01T12:00:00+00:00 h p: m";

	(void)state;
	syslog_parse(line, sizeof(line) - 1, 0, &h);
	assert_true(h.has_time);
	assert_int_equal(h.zoned, 0);
	syslog_parse(zl, sizeof(zl) - 1, 0, &h);
	assert_int_equal(h.zoned, 1);

	assert_int_equal(syslog_tz_new("+02:00", &tz, err, sizeof(err)), 0);
	assert_int_equal(parse_rfc3339("2026-07-01T10:00:00Z", 20, &want), 0);
	assert_int_equal(syslog_tz_local(tz, want + 7200000000ULL), want);
	syslog_tz_free(&tz);
	assert_int_equal(syslog_tz_new("-0700", &tz, err, sizeof(err)), 0);
	assert_int_equal(syslog_tz_local(tz, want), want + 7 * 3600000000ULL);
	syslog_tz_free(&tz);
	assert_int_equal(syslog_tz_new("UTC", &tz, err, sizeof(err)), 0);
	assert_int_equal(syslog_tz_local(tz, want), want);
	syslog_tz_free(&tz);
	assert_null(tz);

	if (syslog_tz_new("Europe/Paris", &tz, err, sizeof(err)) == 0) {
		uint64_t w;

		/* summer: +02:00 */
		assert_int_equal(parse_rfc3339("2026-07-01T12:00:00Z", 20,
		    &w), 0);
		assert_int_equal(syslog_tz_local(tz, w), w - 7200000000ULL);
		/* winter: +01:00 */
		assert_int_equal(parse_rfc3339("2026-01-15T12:00:00Z", 20,
		    &w), 0);
		assert_int_equal(syslog_tz_local(tz, w), w - 3600000000ULL);
		syslog_tz_free(&tz);
	} else {
		print_message("Europe/Paris: %s (no tzdata: skipped)\n", err);
	}
	assert_int_not_equal(syslog_tz_new("+25:00", &tz, err, sizeof(err)),
	    0);
	assert_null(tz);
	assert_int_not_equal(syslog_tz_new("../../etc/passwd", &tz, err,
	    sizeof(err)), 0);
	assert_int_not_equal(syslog_tz_new("No/Such_Zone", &tz, err,
	    sizeof(err)), 0);
	assert_non_null(strstr(err, "No/Such_Zone"));
	assert_int_not_equal(syslog_tz_new("+1", &tz, err, sizeof(err)), 0);
}

static void
test_days_from_civil(void **state)
{
	(void)state;
	assert_int_equal(syslog_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(syslog_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(syslog_days_from_civil(2026, 1, 26), 20479);
	assert_int_equal(syslog_days_from_civil(1969, 12, 31), -1);
}


/* ---- CEF and JSON ---------------------------------------------------------- */

#define MAX_GOT 64
struct got {
	size_t	n;
	char	name[MAX_GOT][128];
	char	val[MAX_GOT][256];
};

static int
collect(void *arg, const char *name, size_t nl, const char *val, size_t vl)
{
	struct got *g = arg;

	assert_int_equal(strlen(name), nl);
	assert_int_equal(val[vl], '\0');
	if (g->n < MAX_GOT) {
		snprintf(g->name[g->n], sizeof(g->name[0]), "%s", name);
		snprintf(g->val[g->n], sizeof(g->val[0]), "%.*s", (int)vl, val);
		g->n++;
	}
	return 0;
}

static const char *
got_get(const struct got *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->name[i], name) == 0)
			return g->val[i];
	return NULL;
}

static char arena_buf[FIELD_ARENA_BYTES];

static int
run_cef(const char *rec, struct got *g, size_t *dropped)
{
	struct field_arena a = { arena_buf, 0, sizeof(arena_buf) };
	size_t len = strlen(rec);
	char *copy = malloc(len ? len : 1);	/* exact size: ASan */
	int rc;

	assert_non_null(copy);
	memcpy(copy, rec, len);
	memset(g, 0, sizeof(*g));
	rc = cef_decode(copy, len, &a, collect, g, dropped);
	free(copy);
	return rc;
}

static void
test_cef_fields(void **state)
{
	struct got g;
	size_t dropped;

	(void)state;
	assert_int_equal(run_cef("CEF:0|KasperskyLab|SecurityCenter|13.2.0.1511"
	    "|GNRL_EV_VIRUS_FOUND|Virus found|4|rt=1769774400000 "
	    "dhost=WS-ACC-07 dst=10.1.2.3 cs1Label=Threat cs1=Trojan.Win32.Agent "
	    "msg=Object infected: C:\\\\Users\\\\a b\\\\x.exe act=Deleted", &g,
	    &dropped), 0);
	assert_string_equal(got_get(&g, "cef.cef_version"), "0");
	assert_string_equal(got_get(&g, "cef.vendor"), "KasperskyLab");
	assert_string_equal(got_get(&g, "cef.product"), "SecurityCenter");
	assert_string_equal(got_get(&g, "cef.version"), "13.2.0.1511");
	assert_string_equal(got_get(&g, "cef.signature_id"),
	    "GNRL_EV_VIRUS_FOUND");
	assert_string_equal(got_get(&g, "cef.name"), "Virus found");
	assert_string_equal(got_get(&g, "cef.severity"), "4");
	assert_string_equal(got_get(&g, "dhost"), "WS-ACC-07");
	assert_string_equal(got_get(&g, "cs1"), "Trojan.Win32.Agent");
	assert_string_equal(got_get(&g, "msg"),
	    "Object infected: C:\\Users\\a b\\x.exe");
	assert_string_equal(got_get(&g, "act"), "Deleted");
	assert_int_equal(dropped, 0);

	/* escapes: \| in the header, \= \n in values, a header-name key */
	assert_int_equal(run_cef("CEF:1|V\\|x|P\\\\|1|id|N a|High|a=b\\=c "
	    "host=h1 msg=l1\\nl2 empty= trail=t   ", &g, &dropped), 0);
	assert_string_equal(got_get(&g, "cef.vendor"), "V|x");
	assert_string_equal(got_get(&g, "cef.product"), "P\\");
	assert_string_equal(got_get(&g, "cef.severity"), "High");
	assert_string_equal(got_get(&g, "a"), "b=c");
	assert_string_equal(got_get(&g, "cef.host"), "h1");
	assert_null(got_get(&g, "host"));
	assert_string_equal(got_get(&g, "msg"), "l1\nl2");
	assert_string_equal(got_get(&g, "empty"), "");
	assert_string_equal(got_get(&g, "trail"), "t");

	/* empty extension, and junk words in it (counted, skipped) */
	assert_int_equal(run_cef("CEF:0|V|P|1|id|N|5|", &g, &dropped), 0);
	assert_int_equal(g.n, 7);
	assert_int_equal(run_cef("CEF:0|V|P|1|id|N|5|junk =x k=v", &g,
	    &dropped), 0);
	assert_string_equal(got_get(&g, "k"), "v");
	assert_int_equal(dropped, 2);
}

/* Records that are not CEF: refused whole, nothing emitted. */
static const char *const cef_bad[] = {
	"",
	"CEF",
	"CEF:",
	"cef:0|V|P|1|id|N|5|",
	"CEF:|V|P|1|id|N|5|",			/* no version */
	"CEF:x|V|P|1|id|N|5|",			/* version not a number */
	"CEF:0000|V|P|1|id|N|5|",		/* version too long */
	"CEF:0 |V|P|1|id|N|5|",
	"CEF:0|V|P|1|id|N|5",			/* 6 pipes */
	"CEF:0|V|P|1|id|N",
	"CEF:0|V|P|1|id|N|5\\|",		/* last pipe escaped */
	"CEF:0|V\\",				/* ends in a backslash */
	" CEF:0|V|P|1|id|N|5|",			/* not at the start */
};

static void
test_cef_malformed(void **state)
{
	struct got g;
	size_t dropped;
	char big[MAX_CEF_HEADER_BYTES + 64];

	(void)state;
	for (size_t i = 0; i < sizeof(cef_bad) / sizeof(cef_bad[0]); i++) {
		if (run_cef(cef_bad[i], &g, &dropped) != TS_EINVAL)
			fail_msg("accepted as CEF: '%s'", cef_bad[i]);
		assert_int_equal(g.n, 0);
	}
	/* a header field longer than MAX_CEF_HEADER_BYTES */
	memset(big, 'A', sizeof(big));
	memcpy(big, "CEF:0|", 6);
	memcpy(big + sizeof(big) - 12, "|P|1|id|N|5|", 12);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(run_cef(big, &g, &dropped), TS_EINVAL);
	/* a key longer than MAX_CEF_KEY_BYTES is not a key */
	{
		char rec[256];

		snprintf(rec, sizeof(rec), "CEF:0|V|P|1|id|N|5|%0*d=v k=w",
		    MAX_CEF_KEY_BYTES + 1, 0);
		assert_int_equal(run_cef(rec, &g, &dropped), 0);
		assert_string_equal(got_get(&g, "k"), "w");
		assert_int_equal(g.n, 8);
		assert_int_equal(dropped, 1);
	}
}

static int
run_json(const char *rec, struct got *g, size_t *dropped)
{
	struct field_arena a = { arena_buf, 0, sizeof(arena_buf) };
	size_t len = strlen(rec);
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, rec, len);
	memset(g, 0, sizeof(*g));
	rc = json_decode(copy, len, &a, collect, g, dropped);
	free(copy);
	return rc;
}

static void
test_json_fields(void **state)
{
	static const char *const bad[] = { "", "[1,2]", "\"x\"", "{", "{}x",
	    "{\"a\":}", "{'a':1}", "{\"a\":\"\\u0000\"}", "nope" };
	struct got g;
	size_t dropped;
	char deep[4096];
	size_t n = 0;

	(void)state;
	assert_int_equal(run_json("  {\"winlog\":{\"event_id\":1116,"
	    "\"event_data\":{\"Threat Name\":\"Virus:DOS/EICAR_Test_File\","
	    "\"Path\":\"file:_C:\\\\x.com\"}},\"message\":\"m\",\"host\":"
	    "{\"name\":\"WS1\"},\"tags\":[\"a\",{\"b\":true}],\"f\":1.5,"
	    "\"z\":null,\"neg\":-3,\"no\":false}\r\n", &g, &dropped), 0);
	assert_string_equal(got_get(&g, "winlog.event_id"), "1116");
	assert_string_equal(got_get(&g, "winlog.event_data.Threat Name"),
	    "Virus:DOS/EICAR_Test_File");
	assert_string_equal(got_get(&g, "winlog.event_data.Path"),
	    "file:_C:\\x.com");
	assert_string_equal(got_get(&g, "json.message"), "m");
	assert_string_equal(got_get(&g, "json.host.name"), "WS1");
	assert_string_equal(got_get(&g, "tags.0"), "a");
	assert_string_equal(got_get(&g, "tags.1.b"), "true");
	assert_string_equal(got_get(&g, "f"), "1.5");
	assert_string_equal(got_get(&g, "neg"), "-3");
	assert_string_equal(got_get(&g, "no"), "false");
	assert_null(got_get(&g, "z"));
	assert_null(got_get(&g, "message"));
	assert_int_equal(dropped, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (run_json(bad[i], &g, &dropped) != TS_EINVAL)
			fail_msg("accepted as JSON: '%s'", bad[i]);
		assert_int_equal(g.n, 0);
	}
	/* nesting deeper than MAX_JSON_DEPTH: the deep part is dropped */
	n += (size_t)snprintf(deep, sizeof(deep), "{\"top\":1,");
	for (int i = 0; i < MAX_JSON_DEPTH + 5; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "\"k\":{");
	n += (size_t)snprintf(deep + n, sizeof(deep) - n, "\"v\":1");
	for (int i = 0; i < MAX_JSON_DEPTH + 5; i++)
		deep[n++] = '}';
	deep[n++] = '}';
	deep[n] = '\0';
	assert_int_equal(run_json(deep, &g, &dropped), 0);
	assert_string_equal(got_get(&g, "top"), "1");
	assert_int_equal(g.n, 1);
	assert_int_equal(dropped, 1);
}

/* Seeded mutations of valid records (bounded: a fixed number of rounds);
 * the sanitizers catch any read outside the exact-size copies. */
static void
test_structured_mutations(void **state)
{
	static const char *const seeds[] = {
		"CEF:0|KasperskyLab|SecurityCenter|13|GNRL_EV_VIRUS_FOUND|"
		"Virus found|4|dhost=WS msg=a\\=b c\\\\d act=Deleted",
		"{\"a\":{\"b\":[1,2,{\"c\":\"x\\u00e9\\n\"}]},\"d\":1e300}",
	};
	static const char alphabet[] = "|\\=: {}[]\",CEF0a1\n";
	uint32_t rng = 12345;
	struct got g;
	size_t dropped;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		const char *seed = seeds[round % 2];
		size_t len = strlen(seed);
		char buf[256];
		int muts;

		memcpy(buf, seed, len + 1);
		rng = rng * 1103515245u + 12345u;
		muts = 1 + (int)((rng >> 16) % 4);
		for (int m = 0; m < muts; m++) {
			size_t pos;

			rng = rng * 1103515245u + 12345u;
			pos = (rng >> 8) % len;
			rng = rng * 1103515245u + 12345u;
			switch ((rng >> 16) % 3) {
			case 0:		/* replace a byte */
				buf[pos] = alphabet[(rng >> 4) %
				    (sizeof(alphabet) - 1)];
				break;
			case 1:		/* truncate */
				buf[pos] = '\0';
				len = pos;
				break;
			default:	/* random byte */
				buf[pos] = (char)(rng >> 24);
				if (buf[pos] == '\0')
					buf[pos] = 'x';
				break;
			}
			if (len == 0)
				break;
		}
		buf[len] = '\0';
		(void)run_cef(buf, &g, &dropped);
		(void)run_json(buf, &g, &dropped);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_table),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_long_host),
		cmocka_unit_test(test_nul_in_message),
		cmocka_unit_test(test_days_from_civil),
		cmocka_unit_test(test_timezone),
		cmocka_unit_test(test_cef_fields),
		cmocka_unit_test(test_cef_malformed),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_structured_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
