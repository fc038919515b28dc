/*
 * test_syslog_parse.c - the syslog parsers: RFC 6587 framing (octet
 * counting, newline framing) and RFC 3164 / 5424 headers, with tables of
 * valid and malformed inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "collector/collector_int.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

struct frame_case {
	const char	*in;
	long		 consumed;	/* expected return */
	const char	*msg;		/* expected message (when > 0) */
	size_t		 skip;
	int		 truncated;
};

static const struct frame_case frames[] = {
	/* octet counting */
	{ "5 hello",			7, "hello", 0, 0 },
	{ "5 hello5 world",		7, "hello", 0, 0 },
	{ "11 <13>1 - - x",		14, "<13>1 - - x", 0, 0 },
	{ "3 a\nb",			5, "a\nb", 0, 0 },
	{ "1  ",			3, " ", 0, 0 },
	/* newline framing */
	{ "<13>Jan  1 00:00:00 h t: m\n", 27, "<13>Jan  1 00:00:00 h t: m", 0, 0 },
	{ "plain text\nnext",		11, "plain text", 0, 0 },
	{ "crlf\r\n",			6, "crlf", 0, 0 },
	{ "\n",				1, "", 0, 0 },
	{ "\r\n",			2, "", 0, 0 },
	{ "<13>x\n\n",			6, "<13>x", 0, 0 },
	/* need more input */
	{ "",				0, NULL, 0, 0 },
	{ "5",				0, NULL, 0, 0 },
	{ "12",				0, NULL, 0, 0 },
	{ "5 hell",			0, NULL, 0, 0 },
	{ "<13>no newline yet",		0, NULL, 0, 0 },
	{ "1234567890",			0, NULL, 0, 0 },
	/* malformed */
	{ "0 x",			-1, NULL, 0, 0 },
	{ "05 hello",			-1, NULL, 0, 0 },
	{ "5x hello",			-1, NULL, 0, 0 },
	{ "5\thello",			-1, NULL, 0, 0 },
	{ "5\nhello",			-1, NULL, 0, 0 },
	{ "12345678901 x",		-1, NULL, 0, 0 },
	{ "99999999999999999999 x",	-1, NULL, 0, 0 },
	{ "16777217 x",			-1, NULL, 0, 0 },
	{ "2026-01-26 plain line\n",	-1, NULL, 0, 0 },
};

static void
test_frames_table(void **state)
{
	struct syslog_frame f;
	long r;

	(void)state;
	for (size_t i = 0; i < N(frames); i++) {
		const struct frame_case *c = &frames[i];

		r = syslog_frame_parse(c->in, strlen(c->in), &f);
		if (r != c->consumed)
			fail_msg("frame %zu '%s': returned %ld, want %ld", i,
			    c->in, r, c->consumed);
		if (r <= 0)
			continue;
		if (f.msg_len != strlen(c->msg) ||
		    memcmp(c->in + f.msg_off, c->msg, f.msg_len) != 0)
			fail_msg("frame %zu '%s': wrong message", i, c->in);
		assert_int_equal(f.skip, c->skip);
		assert_int_equal(f.truncated, c->truncated);
	}
}

/* Frames of MAX_LINE_BYTES and beyond are capped and flagged. */
static void
test_frames_overlong(void **state)
{
	size_t cap = MAX_LINE_BYTES + 64;
	char *buf = malloc(cap);
	struct syslog_frame f;
	int hl;
	long r;

	(void)state;
	assert_non_null(buf);

	/* Octet count announcing more than MAX_LINE_BYTES. */
	hl = snprintf(buf, cap, "%u ", (unsigned)MAX_LINE_BYTES + 100);
	memset(buf + hl, 'a', cap - (size_t)hl);
	r = syslog_frame_parse(buf, (size_t)hl + 10, &f);
	assert_int_equal(r, 0);			/* waits for the cap */
	r = syslog_frame_parse(buf, cap, &f);
	assert_int_equal(r, hl + MAX_LINE_BYTES);
	assert_int_equal(f.msg_len, MAX_LINE_BYTES);
	assert_int_equal(f.skip, 100);
	assert_true(f.truncated);

	/* Exactly MAX_LINE_BYTES octets: whole, not truncated. */
	hl = snprintf(buf, cap, "%u ", (unsigned)MAX_LINE_BYTES);
	memset(buf + hl, 'a', cap - (size_t)hl);
	r = syslog_frame_parse(buf, cap, &f);
	assert_int_equal(r, hl + MAX_LINE_BYTES);
	assert_false(f.truncated);
	assert_int_equal(f.skip, 0);

	/* A line without newline past the cap. */
	memset(buf, 'b', cap);
	r = syslog_frame_parse(buf, MAX_LINE_BYTES, &f);
	assert_int_equal(r, 0);
	r = syslog_frame_parse(buf, MAX_LINE_BYTES + 1, &f);
	assert_int_equal(r, MAX_LINE_BYTES);
	assert_true(f.truncated);
	assert_int_equal(f.skip, SYSLOG_SKIP_TO_NEWLINE);

	/* A line of exactly MAX_LINE_BYTES then its newline: whole. */
	buf[MAX_LINE_BYTES] = '\n';
	r = syslog_frame_parse(buf, MAX_LINE_BYTES + 1, &f);
	assert_int_equal(r, MAX_LINE_BYTES + 1);
	assert_int_equal(f.msg_len, MAX_LINE_BYTES);
	assert_false(f.truncated);
	free(buf);
}

struct hdr_case {
	const char	*in;
	long		 consumed;	/* -1: no header */
	int		 format;
	const char	*host;		/* NULL: none named */
};

static const struct hdr_case hdrs[] = {
	/* RFC 3164 */
	{ "<13>Jan  1 00:00:00 web01 sshd[12]: Failed password", 25, 3164, "web01" },
	{ "<38>Feb 28 23:59:59 fw-1.example.org kernel: x", 36, 3164, "fw-1.example.org" },
	{ "<0>Dec 31 12:00:00 h m", 20, 3164, "h" },
	{ "<191>Oct 10 10:10:10.123 h t: m", 26, 3164, "h" },
	{ "<13>Jan  1 2026 00:00:00 h t: m", 26, 3164, "h" },
	{ "<13>2026-01-26T00:00:05Z web02 sshd: x", 30, 3164, "web02" },
	{ "<13>2026-01-26T00:00:05.123+02:00 h t", 35, 3164, "h" },
	/* 3164 without a host: the next word is the tag */
	{ "<13>Jan  1 00:00:00 sshd[12]: Failed", 19, 3164, NULL },
	{ "<13>Jan  1 00:00:00 sshd: Failed", 19, 3164, NULL },
	{ "<13>Jan  1 00:00:00 lonely", 19, 3164, NULL },
	{ "<13>Jan  1 00:00:00", 19, 3164, NULL },
	/* RFC 5424 */
	{ "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - msg",
	  53, 5424, "mymachine.example.com" },
	{ "<34>1 - host01 app - - -", 14, 5424, "host01" },
	{ "<34>1 2003-10-11T22:14:15Z - app - - -", 28, 5424, NULL },
	{ "<34>12 - h a", 10, 5424, "h" },
	{ "<34>1 - h", 9, 5424, "h" },
	/* no header */
	{ "",				-1, 0, NULL },
	{ "<",				-1, 0, NULL },
	{ "<>",				-1, 0, NULL },
	{ "<13",			-1, 0, NULL },
	{ "<13>",			-1, 0, NULL },
	{ "<192>Jan  1 00:00:00 h t",	-1, 0, NULL },
	{ "<1000>Jan  1 00:00:00 h t",	-1, 0, NULL },
	{ "<013>Jan  1 00:00:00 h t",	-1, 0, NULL },
	{ "<-1>Jan  1 00:00:00 h t",	-1, 0, NULL },
	{ "<a>Jan  1 00:00:00 h t",	-1, 0, NULL },
	{ "13>Jan  1 00:00:00 h t",	-1, 0, NULL },
	{ "Jan  1 00:00:00 h t: plain file line", -1, 0, NULL },
	{ "<13>just a message",		-1, 0, NULL },
	{ "<13>Foo  1 00:00:00 h t",	-1, 0, NULL },
	{ "<13>Jan  1 00:00 h t",	-1, 0, NULL },
	{ "<13>Jan 1 00:00:00 h t",	-1, 0, NULL },
	{ "<13>Jan  1 0a:00:00 h t",	-1, 0, NULL },
	{ "<34>1 ",			-1, 0, NULL },
	{ "<34>1 -",			-1, 0, NULL },
	{ "<34>1 - \x01host app",	-1, 0, NULL },
	{ "<34>01 - h a",		-1, 0, NULL },
};

static void
test_headers_table(void **state)
{
	struct syslog_hdr h;
	long r;

	(void)state;
	for (size_t i = 0; i < N(hdrs); i++) {
		const struct hdr_case *c = &hdrs[i];

		r = syslog_header_parse(c->in, strlen(c->in), &h);
		if (r != c->consumed)
			fail_msg("header %zu '%s': returned %ld, want %ld", i,
			    c->in, r, c->consumed);
		if (r < 0)
			continue;
		assert_int_equal(h.format, c->format);
		if (c->host == NULL) {
			if (h.host != NULL)
				fail_msg("header %zu '%s': host '%.*s', want none",
				    i, c->in, (int)h.host_len, h.host);
			continue;
		}
		if (h.host == NULL || h.host_len != strlen(c->host) ||
		    memcmp(h.host, c->host, h.host_len) != 0)
			fail_msg("header %zu '%s': wrong host", i, c->in);
	}
}

/* A host name longer than MAX_HOST_BYTES is not taken as one; the parser
 * never reads past len even when the text goes on. */
static void
test_headers_bounds(void **state)
{
	char buf[600];
	struct syslog_hdr h;
	const char *m = "<13>Jan  1 00:00:00 web01 sshd: x";
	long r;
	size_t i;

	(void)state;
	memcpy(buf, "<13>Jan  1 00:00:00 ", 20);
	memset(buf + 20, 'h', 300);
	memcpy(buf + 320, " t: m", 5);
	r = syslog_header_parse(buf, 325, &h);
	assert_int_equal(r, 19);
	assert_null(h.host);

	/* Every prefix of a valid message is handled without overread
	 * (ASan checks): give each one in an exact-size heap copy. */
	for (i = 0; i <= strlen(m); i++) {
		char *p = malloc(i ? i : 1);

		assert_non_null(p);
		memcpy(p, m, i);
		(void)syslog_header_parse(p, i, &h);
		free(p);
	}
	for (i = 0; i <= 12; i++) {
		struct syslog_frame f;
		const char *fr = "10 0123456789";
		char *p = malloc(i ? i : 1);

		assert_non_null(p);
		memcpy(p, fr, i);
		(void)syslog_frame_parse(p, i, &f);
		free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_table),
		cmocka_unit_test(test_frames_overlong),
		cmocka_unit_test(test_headers_table),
		cmocka_unit_test(test_headers_bounds),
	};

	log_init("test_syslog_parse", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
