/*
 * test_wire.c - frame round trips, and malformed frames: truncated at every
 * byte offset, bad lengths, over-limit counts and strings, trailing bytes,
 * unknown version and type.
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
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

/* Decode a heap copy of exactly len bytes so ASan sees any over-read. */
static int decode_copy(const void *buf, size_t len, struct wire_msg *m,
    const char **why, unsigned char **copy)
{
	*copy = malloc(len ? len : 1);
	assert_non_null(*copy);
	memcpy(*copy, buf, len);
	return wire_decode(*copy, len, m, why);
}

/* Every proper prefix of a valid frame is refused with a reason. */
static void check_truncations(const struct wire_buf *w)
{
	for (size_t n = 0; n < w->len; n++) {
		struct wire_msg m;
		const char *why = NULL;
		unsigned char *c;
		int rc = decode_copy(w->data, n, &m, &why, &c);
		if (rc != TS_EINVAL || why == NULL)
			fail_msg("prefix of %zu/%zu bytes: rc %d", n, w->len, rc);
		free(c);
	}
	/* and one byte more is trailing garbage */
	unsigned char *big = malloc(w->len + 1);
	struct wire_msg m;
	const char *why;
	assert_non_null(big);
	memcpy(big, w->data, w->len);
	big[w->len] = 0;
	assert_int_equal(wire_decode(big, w->len + 1, &m, &why), TS_EINVAL);
	assert_non_null(why);
	free(big);
}

static void test_hello(void **state)
{
	struct wire_buf w = { 0 };
	struct wire_msg m;
	const char *why;
	unsigned char *c;
	(void)state;

	wire_hello(&w, 7, "0.1.0", "web01");
	assert_false(w.failed);
	assert_int_equal(w.data[0], WIRE_VERSION);
	assert_int_equal(w.data[1], WIRE_HELLO);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_int_equal(m.type, WIRE_HELLO);
	assert_true(m.epoch == 7);
	assert_int_equal(m.version.len, 5);
	assert_memory_equal(m.version.p, "0.1.0", 5);
	assert_int_equal(m.host.len, 5);
	assert_memory_equal(m.host.p, "web01", 5);
	free(c);
	check_truncations(&w);

	/* an over-long host is capped by the encoder */
	char host[400];
	memset(host, 'h', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	wire_hello(&w, 1, "v", host);
	assert_int_equal(wire_decode(w.data, w.len, &m, &why), 0);
	assert_int_equal(m.host.len, MAX_HOST_BYTES);

	/* a hand-made HELLO with a host past MAX_HOST_BYTES is refused */
	unsigned char f[2 + 8 + 2 + 1 + 2 + 300];
	memset(f, 'x', sizeof(f));
	f[0] = WIRE_VERSION;
	f[1] = WIRE_HELLO;
	put_be64(f + 2, 1);
	put_be16(f + 10, 1);
	put_be16(f + 13, 300);
	assert_int_equal(wire_decode(f, sizeof(f), &m, &why), TS_EINVAL);
	assert_string_equal(why, "HELLO string too long");
	wire_buf_free(&w);
	assert_null(w.data);
}

/* Agreement: HELLO's optional trailing drill name. */
static void test_hello_drill(void **state)
{
	struct wire_buf w = { 0 };
	struct wire_msg m;
	const char *why;
	unsigned char *c;
	(void)state;

	/* Absent: a plain HELLO decodes with an empty drill. */
	wire_hello(&w, 7, "0.1.0", "web01");
	assert_int_equal(wire_decode(w.data, w.len, &m, &why), 0);
	assert_int_equal(m.drill.len, 0);
	/* Empty drill encodes no field at all. */
	size_t plain = w.len;
	wire_hello_drill(&w, 7, "0.1.0", "web01", "");
	assert_int_equal(w.len, plain);
	wire_hello_drill(&w, 7, "0.1.0", "web01", NULL);
	assert_int_equal(w.len, plain);

	wire_hello_drill(&w, 9, "0.1.0", "web01", "drill-2026");
	assert_false(w.failed);
	assert_int_equal(w.len, plain + 2 + 10);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_true(m.epoch == 9);
	assert_int_equal(m.host.len, 5);
	assert_int_equal(m.drill.len, 10);
	assert_memory_equal(m.drill.p, "drill-2026", 10);
	free(c);
	/* Cut inside the drill field: refused (only whole fields count). */
	assert_int_equal(wire_decode(w.data, plain + 1, &m, &why), TS_EINVAL);
	assert_int_equal(wire_decode(w.data, w.len - 1, &m, &why), TS_EINVAL);
	/* Bytes after the drill: refused. */
	{
		unsigned char f[512];

		memcpy(f, w.data, w.len);
		f[w.len] = 'x';
		assert_int_equal(wire_decode(f, w.len + 1, &m, &why),
		    TS_EINVAL);
	}
	/* A drill name past MAX_DRILL_BYTES: capped by the encoder, refused
	 * by the decoder when hand-made. */
	char longd[200];
	memset(longd, 'd', sizeof(longd) - 1);
	longd[sizeof(longd) - 1] = '\0';
	wire_hello_drill(&w, 1, "v", "h", longd);
	assert_int_equal(wire_decode(w.data, w.len, &m, &why), 0);
	assert_int_equal(m.drill.len, MAX_DRILL_BYTES);
	wire_hello(&w, 1, "v", "h");
	{
		unsigned char f[512];
		size_t n = w.len;

		memcpy(f, w.data, n);
		put_be16(f + n, MAX_DRILL_BYTES + 1);
		memset(f + n + 2, 'd', MAX_DRILL_BYTES + 1);
		assert_int_equal(wire_decode(f, n + 2 + MAX_DRILL_BYTES + 1, &m,
		    &why), TS_EINVAL);
		assert_string_equal(why, "HELLO string too long");
	}
	wire_buf_free(&w);
}

static void test_fixed_frames(void **state)
{
	struct wire_buf w = { 0 };
	struct wire_msg m;
	const char *why;
	unsigned char *c;
	(void)state;

	wire_welcome(&w, 3, 99, 4096);
	assert_int_equal(w.len, 2 + 8 + 8 + 4);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	free(c);
	assert_int_equal(m.type, WIRE_WELCOME);
	assert_true(m.epoch == 3 && m.seq == 99 && m.credit == 4096);
	check_truncations(&w);

	wire_ack(&w, UINT64_MAX, UINT64_MAX - 1, UINT32_MAX);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	free(c);
	assert_int_equal(m.type, WIRE_ACK);
	assert_true(m.epoch == UINT64_MAX && m.seq == UINT64_MAX - 1 &&
	    m.credit == UINT32_MAX);
	check_truncations(&w);

	wire_heartbeat(&w, 5, 10, 20, HB_SPOOL_FULL);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	free(c);
	assert_int_equal(m.type, WIRE_HEARTBEAT);
	assert_true(m.epoch == 5 && m.spooled == 10 && m.sent == 20 &&
	    m.hb_flags == HB_SPOOL_FULL);
	check_truncations(&w);

	wire_refuse(&w, WIRE_REFUSE_REVOKED, "key revoked");
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_int_equal(m.type, WIRE_REFUSE);
	assert_int_equal(m.code, WIRE_REFUSE_REVOKED);
	assert_int_equal(m.reason.len, 11);
	assert_memory_equal(m.reason.p, "key revoked", 11);
	free(c);
	check_truncations(&w);
	wire_buf_free(&w);
}

static void test_header_errors(void **state)
{
	static const struct { unsigned char b[4]; size_t len; const char *why; }
	    t[] = {
		{ { 0 }, 0, "frame shorter than its header" },
		{ { 1 }, 1, "frame shorter than its header" },
		{ { 2, 1 }, 2, "unknown protocol version" },
		{ { 0, 1 }, 2, "unknown protocol version" },
		{ { 1, 0 }, 2, "unknown frame type" },
		{ { 1, 7 }, 2, "truncated CONFIG" },
		{ { 1, 8 }, 2, "unknown frame type" },
		{ { 1, 255, 0, 0 }, 4, "unknown frame type" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct wire_msg m;
		const char *why = NULL;
		assert_int_equal(wire_decode(t[i].b, t[i].len, &m, &why),
		    TS_EINVAL);
		assert_string_equal(why, t[i].why);
	}
	struct wire_msg m;
	assert_int_equal(wire_decode(NULL, 0, &m, NULL), TS_EINVAL);
}

static void test_batch_roundtrip(void **state)
{
	struct wire_buf w = { 0 };
	struct wire_msg m;
	struct wire_event ev;
	const char *why;
	unsigned char *c;
	size_t off = 0;
	(void)state;

	wire_batch_begin(&w, 2, 100);
	wire_batch_add(&w, 1000, 0, "/var/log/auth.log", 17, "line one", 8);
	wire_batch_add(&w, 1001, EV_CTRL, "/f", 2, "", 0);
	wire_batch_add(&w, 1002, 0, "", 0, "x\0y", 3);
	wire_batch_end(&w);
	assert_false(w.failed);
	assert_int_equal(w.batch_count, 3);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_int_equal(m.type, WIRE_BATCH);
	assert_true(m.epoch == 2 && m.seq == 100);
	assert_int_equal(m.count, 3);
	assert_int_equal(wire_batch_next(&m, &off, &ev), 1);
	assert_true(ev.time_us == 1000 && ev.flags == 0);
	assert_int_equal(ev.file.len, 17);
	assert_memory_equal(ev.file.p, "/var/log/auth.log", 17);
	assert_memory_equal(ev.line.p, "line one", 8);
	assert_int_equal(wire_batch_next(&m, &off, &ev), 1);
	assert_int_equal(ev.flags, EV_CTRL);
	assert_int_equal(ev.line.len, 0);
	assert_int_equal(wire_batch_next(&m, &off, &ev), 1);
	assert_int_equal(ev.line.len, 3);
	assert_memory_equal(ev.line.p, "x\0y", 3);
	assert_int_equal(wire_batch_next(&m, &off, &ev), 0);
	assert_int_equal(wire_batch_next(&m, &off, &ev), 0);
	free(c);
	check_truncations(&w);

	/* re-using the buffer for another frame resets it */
	wire_ack(&w, 1, 2, 3);
	assert_int_equal(w.len, 22);
	wire_buf_free(&w);
}

static void test_batch_caps(void **state)
{
	struct wire_buf w = { 0 };
	struct wire_msg m;
	struct wire_event ev;
	const char *why;
	size_t off = 0;
	size_t big = MAX_LINE_BYTES + 100;
	char *line = malloc(big), *path = malloc(MAX_PATH_BYTES + 10);
	(void)state;

	assert_non_null(line);
	assert_non_null(path);
	memset(line, 'a', big);
	memset(path, 'p', MAX_PATH_BYTES + 10);
	wire_batch_begin(&w, 1, 1);
	wire_batch_add(&w, 1, 0, path, MAX_PATH_BYTES + 10, line, big);
	wire_batch_add(&w, 2, 0, path, MAX_PATH_BYTES, line, MAX_LINE_BYTES);
	wire_batch_end(&w);
	assert_int_equal(wire_decode(w.data, w.len, &m, &why), 0);
	assert_int_equal(wire_batch_next(&m, &off, &ev), 1);
	assert_int_equal(ev.flags, EV_TRUNCATED);
	assert_int_equal(ev.line.len, MAX_LINE_BYTES);
	assert_int_equal(ev.file.len, MAX_PATH_BYTES);
	assert_int_equal(wire_batch_next(&m, &off, &ev), 1);
	assert_int_equal(ev.flags, 0);		/* exactly at the cap */

	/* MAX_BATCH_EVENTS fit; one more marks the frame failed */
	wire_batch_begin(&w, 1, 1);
	for (int i = 0; i < MAX_BATCH_EVENTS; i++)
		wire_batch_add(&w, (uint64_t)i, 0, "f", 1, "l", 1);
	wire_batch_end(&w);
	assert_false(w.failed);
	assert_int_equal(wire_decode(w.data, w.len, &m, &why), 0);
	assert_int_equal(m.count, MAX_BATCH_EVENTS);
	wire_batch_add(&w, 0, 0, "f", 1, "l", 1);
	assert_true(w.failed);
	wire_batch_begin(&w, 1, 1);	/* a new frame clears it */
	assert_false(w.failed);

	free(line);
	free(path);
	wire_buf_free(&w);
}

/* Build a BATCH by hand: header with the given count, then raw bytes. */
static size_t mk_batch(unsigned char *f, uint64_t first, uint32_t count)
{
	f[0] = WIRE_VERSION;
	f[1] = WIRE_BATCH;
	put_be64(f + 2, 1);
	put_be64(f + 10, first);
	put_be32(f + 18, count);
	return 22;
}

/* One event record at f: time, flags, file, line lengths as given. */
static size_t mk_event(unsigned char *f, uint16_t flen, uint32_t llen)
{
	put_be64(f, 1);
	put_be16(f + 8, 0);
	put_be16(f + 10, flen);
	memset(f + 12, 'f', flen);
	put_be32(f + 12 + flen, llen);
	memset(f + 16 + flen, 'l', llen);
	return 16 + (size_t)flen + llen;
}

static void test_batch_malformed(void **state)
{
	unsigned char *f = malloc(MAX_LINE_BYTES + MAX_PATH_BYTES + 256);
	struct wire_msg m;
	const char *why;
	size_t n;
	(void)state;
	assert_non_null(f);

	/* count 0 */
	n = mk_batch(f, 1, 0);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "empty BATCH");
	/* count over the limit */
	n = mk_batch(f, 1, MAX_BATCH_EVENTS + 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "too many events in BATCH");
	n = mk_batch(f, 1, UINT32_MAX);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	/* seq 0 and seq overflow */
	n = mk_batch(f, 0, 1);
	n += mk_event(f + n, 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "BATCH seq out of range");
	n = mk_batch(f, UINT64_MAX, 2);
	n += mk_event(f + n, 1, 1);
	n += mk_event(f + n, 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "BATCH seq out of range");
	/* last seq = UINT64_MAX: the journal cannot keep it (its mark + 1
	 * would wrap), so the decoder refuses it too: one bound for both */
	n = mk_batch(f, UINT64_MAX, 1);
	n += mk_event(f + n, 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "BATCH seq out of range");
	n = mk_batch(f, WIRE_MAX_SEQ, 1);	/* last seq = WIRE_MAX_SEQ: fine */
	n += mk_event(f + n, 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), 0);
	n = mk_batch(f, WIRE_MAX_SEQ, 2);
	n += mk_event(f + n, 1, 1);
	n += mk_event(f + n, 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_int_equal(wire_seq_range_valid(1, MAX_BATCH_EVENTS), 1);
	assert_int_equal(wire_seq_range_valid(0, 1), 0);
	assert_int_equal(wire_seq_range_valid(WIRE_MAX_SEQ - 9, 10), 1);
	assert_int_equal(wire_seq_range_valid(WIRE_MAX_SEQ - 8, 10), 0);
	/* count says 2, one event present */
	n = mk_batch(f, 1, 2);
	n += mk_event(f + n, 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	/* count says 1, two events present: trailing bytes */
	n = mk_batch(f, 1, 1);
	n += mk_event(f + n, 1, 1);
	n += mk_event(f + n, 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "trailing bytes after the frame");
	/* line over MAX_LINE_BYTES */
	n = mk_batch(f, 1, 1);
	n += mk_event(f + n, 1, MAX_LINE_BYTES + 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "event line too long");
	/* path over MAX_PATH_BYTES */
	n = mk_batch(f, 1, 1);
	n += mk_event(f + n, MAX_PATH_BYTES + 1, 1);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "event file path too long");
	/* line length pointing past the end */
	n = mk_batch(f, 1, 1);
	n += mk_event(f + n, 1, 10);
	put_be32(f + n - 10 - 4, 11);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	assert_string_equal(why, "truncated event line");
	put_be32(f + n - 10 - 4, UINT32_MAX);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	/* file length pointing past the end */
	n = mk_batch(f, 1, 1);
	n += mk_event(f + n, 0, 0);
	put_be16(f + 22 + 10, 0xffff);
	assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
	free(f);
}

static void test_string_limits(void **state)
{
	unsigned char f[2 + 2 + 2 + 2000];
	struct wire_msg m;
	const char *why;
	(void)state;
	memset(f, 'r', sizeof(f));
	f[0] = WIRE_VERSION;
	f[1] = WIRE_REFUSE;
	put_be16(f + 2, 1);
	put_be16(f + 4, 1025);
	assert_int_equal(wire_decode(f, 6 + 1025, &m, &why), TS_EINVAL);
	assert_string_equal(why, "REFUSE reason too long");
	put_be16(f + 4, 1024);
	assert_int_equal(wire_decode(f, 6 + 1024, &m, &why), 0);
	assert_int_equal(wire_decode(f, 6 + 1023, &m, &why), TS_EINVAL);
	assert_string_equal(why, "truncated REFUSE");
}

/* CONFIG round trips, and the optional version trailing a HEARTBEAT. */
static void test_config_frames(void **state)
{
	static const struct {
		const char	*group, *version, *error, *text;
	} t[] = {
		{ "web", "0123456789abcdef", "", "follow:\n  - /var/log/x\n" },
		{ "default", "", "", "" },
		{ "ops", "ffffffffffffffff", "/etc/tocsin/groups/ops.yml:3:1: "
		  "unknown key 'folow'", "follow: []\n" },
		{ "a", "", "g.yml:1:1: bad", "" },
	};
	struct wire_buf w = { 0 };
	struct wire_msg m;
	const char *why;
	unsigned char *c;
	(void)state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		wire_config(&w, t[i].group, t[i].version, t[i].error,
		    t[i].text, strlen(t[i].text));
		assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
		assert_int_equal(m.type, WIRE_CONFIG);
		assert_int_equal(m.group.len, strlen(t[i].group));
		assert_memory_equal(m.group.p, t[i].group, m.group.len);
		assert_int_equal(m.cfgver.len, strlen(t[i].version));
		assert_memory_equal(m.cfgver.p, t[i].version, m.cfgver.len);
		assert_int_equal(m.cfgerr.len, strlen(t[i].error));
		assert_memory_equal(m.cfgerr.p, t[i].error, m.cfgerr.len);
		assert_int_equal(m.text.len, strlen(t[i].text));
		assert_memory_equal(m.text.p, t[i].text, m.text.len);
		free(c);
		check_truncations(&w);
	}
	/* a text past MAX_GROUP_BYTES is refused by the decoder */
	{
		size_t n = 2 + 2 + 1 + 2 + 2 + 4 + MAX_GROUP_BYTES + 1;
		unsigned char *f = calloc(1, n);

		assert_non_null(f);
		f[0] = WIRE_VERSION;
		f[1] = WIRE_CONFIG;
		put_be16(f + 2, 1);
		f[4] = 'g';
		put_be32(f + 9, MAX_GROUP_BYTES + 1);
		assert_int_equal(wire_decode(f, n, &m, &why), TS_EINVAL);
		assert_string_equal(why, "CONFIG field too long");
		put_be32(f + 9, MAX_GROUP_BYTES);
		assert_int_equal(wire_decode(f, n - 1, &m, &why), 0);
		free(f);
	}

	/* HEARTBEAT: no version (old agents, or none applied) or one */
	wire_heartbeat_cfg(&w, 5, 10, 20, 0, NULL);
	assert_int_equal(w.len, 2 + 8 + 8 + 8 + 4);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	free(c);
	assert_int_equal(m.cfgver.len, 0);
	wire_heartbeat_cfg(&w, 5, 10, 20, 0, "0123456789abcdef");
	assert_int_equal(w.len, 2 + 8 + 8 + 8 + 4 + 2 + 16);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_int_equal(m.type, WIRE_HEARTBEAT);
	assert_int_equal(m.cfgver.len, 16);
	assert_memory_equal(m.cfgver.p, "0123456789abcdef", 16);
	free(c);
	assert_int_equal(wire_decode(w.data, w.len - 1, &m, &why), TS_EINVAL);
	assert_string_equal(why, "truncated HEARTBEAT");
	assert_int_equal(wire_decode(w.data, 2 + 8 + 8 + 8 + 4 + 1, &m, &why),
	    TS_EINVAL);
	wire_buf_free(&w);
}

/* Build a HEARTBEAT by hand: fixed part, config "v1", then raw bytes. */
static size_t hb_raw(unsigned char *f, const unsigned char *tail,
    size_t tail_len)
{
	size_t n = 0;

	f[n++] = WIRE_VERSION;
	f[n++] = WIRE_HEARTBEAT;
	memset(f + n, 0, 8 + 8 + 8 + 4);
	n += 8 + 8 + 8 + 4;
	f[n++] = 0;
	f[n++] = 2;
	f[n++] = 'v';
	f[n++] = '1';
	memcpy(f + n, tail, tail_len);
	return n + tail_len;
}

/* The counters trailing a HEARTBEAT: round trip, absent/empty, every
 * truncation, and each malformed table refused with its reason. */
static void test_heartbeat_counters(void **state)
{
	static const char *const names[] = {
		"agent.lines_truncated", "agent.lines_bad_encoding",
		"agent.read_errors",
	};
	static const uint64_t values[] = { 3, 0, UINT64_MAX };
	const size_t fixed = 2 + 8 + 8 + 8 + 4;
	struct wire_buf w = { 0 };
	struct wire_msg m;
	struct wire_str n;
	const char *why;
	unsigned char *c, f[4096];
	size_t off, len, i;
	uint64_t v;
	(void)state;

	wire_heartbeat_ctrs(&w, 7, 1, 2, HB_SPOOL_FULL, "abc", names, values,
	    3);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_true(m.epoch == 7 && m.spooled == 1 && m.sent == 2 &&
	    m.hb_flags == HB_SPOOL_FULL);
	assert_int_equal(m.cfgver.len, 3);
	assert_true(m.has_ctrs);
	assert_int_equal(m.nctrs, 3);
	off = 0;
	for (i = 0; wire_hb_counter_next(&m, &off, &n, &v); i++) {
		assert_true(i < 3);
		assert_int_equal(n.len, strlen(names[i]));
		assert_memory_equal(n.p, names[i], n.len);
		assert_true(v == values[i]);
	}
	assert_int_equal(i, 3);
	free(c);
	/* the proper prefixes that decode are exactly the older forms: the
	 * fixed part alone, and with the config version */
	for (len = 0; len < w.len; len++) {
		int rc = decode_copy(w.data, len, &m, &why, &c);

		free(c);
		if (len == fixed || len == fixed + 2 + 3) {
			assert_int_equal(rc, 0);
			assert_false(m.has_ctrs);
		} else if (rc != TS_EINVAL || why == NULL) {
			fail_msg("prefix of %zu/%zu bytes: rc %d", len, w.len,
			    rc);
		}
	}
	/* no config: the version is sent empty, the counters follow */
	wire_heartbeat_ctrs(&w, 7, 1, 2, 0, NULL, names, values, 1);
	assert_int_equal(w.len, fixed + 2 + 2 + 2 + strlen(names[0]) + 8);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_int_equal(m.cfgver.len, 0);
	assert_int_equal(m.nctrs, 1);
	free(c);
	/* an empty table is a table */
	wire_heartbeat_ctrs(&w, 7, 1, 2, 0, "", NULL, NULL, 0);
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_true(m.has_ctrs);
	assert_int_equal(m.nctrs, 0);
	off = 0;
	assert_int_equal(wire_hb_counter_next(&m, &off, &n, &v), 0);
	free(c);
	/* old form: no table */
	wire_heartbeat_cfg(&w, 7, 1, 2, 0, "abc");
	assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
	assert_false(m.has_ctrs);
	off = 0;
	assert_int_equal(wire_hb_counter_next(&m, &off, &n, &v), 0);
	free(c);

	/* malformed tables */
	{
		static const unsigned char one_byte[] = { 0 };
		static const unsigned char too_many[] = { 0, MAX_HB_COUNTERS +
		    1 };
		static const unsigned char empty_name[] = { 0, 1, 0, 0,
		    0, 0, 0, 0, 0, 0, 0, 1 };
		static const unsigned char bad_char[] = { 0, 1, 0, 2, 'a', ' ',
		    0, 0, 0, 0, 0, 0, 0, 1 };
		static const unsigned char twice[] = { 0, 2,
		    0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 1,
		    0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 2 };
		static const unsigned char short_value[] = { 0, 1, 0, 1, 'a',
		    0, 0, 0 };
		static const unsigned char count_over[] = { 0, 2, 0, 1, 'a',
		    0, 0, 0, 0, 0, 0, 0, 1 };
		static const unsigned char trailing[] = { 0, 1, 0, 1, 'a',
		    0, 0, 0, 0, 0, 0, 0, 1, 9 };
		unsigned char long_name[2 + 2 + MAX_COUNTER_NAME_BYTES + 1 + 8];
		static const struct {
			const unsigned char *b;
			size_t len;
			const char *why;
		} t[] = {
			{ one_byte, sizeof(one_byte),
			  "truncated HEARTBEAT counters" },
			{ too_many, sizeof(too_many),
			  "too many HEARTBEAT counters" },
			{ empty_name, sizeof(empty_name),
			  "bad HEARTBEAT counter name" },
			{ bad_char, sizeof(bad_char),
			  "bad HEARTBEAT counter name" },
			{ twice, sizeof(twice),
			  "HEARTBEAT counter named twice" },
			{ short_value, sizeof(short_value),
			  "truncated HEARTBEAT counters" },
			{ count_over, sizeof(count_over),
			  "truncated HEARTBEAT counters" },
			{ trailing, sizeof(trailing),
			  "trailing bytes after the frame" },
		};

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			len = hb_raw(f, t[i].b, t[i].len);
			assert_int_equal(decode_copy(f, len, &m, &why, &c),
			    TS_EINVAL);
			free(c);
			assert_non_null(why);
			if (strcmp(why, t[i].why) != 0)
				fail_msg("table %zu: \"%s\", want \"%s\"", i,
				    why, t[i].why);
			assert_false(m.has_ctrs);
		}
		memset(long_name, 0, sizeof(long_name));
		long_name[1] = 1;
		long_name[3] = MAX_COUNTER_NAME_BYTES + 1;
		memset(long_name + 4, 'a', MAX_COUNTER_NAME_BYTES + 1);
		len = hb_raw(f, long_name, sizeof(long_name));
		assert_int_equal(decode_copy(f, len, &m, &why, &c), TS_EINVAL);
		free(c);
		assert_string_equal(why, "HEARTBEAT counter name too long");
		/* the longest name and the most counters pass */
		long_name[3] = MAX_COUNTER_NAME_BYTES;
		len = hb_raw(f, long_name, sizeof(long_name) - 1);
		assert_int_equal(decode_copy(f, len, &m, &why, &c), 0);
		free(c);
	}
	{
		char nb[MAX_HB_COUNTERS][8];
		const char *nn[MAX_HB_COUNTERS + 1];
		uint64_t vv[MAX_HB_COUNTERS + 1];

		for (i = 0; i < MAX_HB_COUNTERS; i++) {
			snprintf(nb[i], sizeof(nb[i]), "c%zu", i);
			nn[i] = nb[i];
			vv[i] = i;
		}
		wire_heartbeat_ctrs(&w, 1, 0, 0, 0, "", nn, vv,
		    MAX_HB_COUNTERS);
		assert_int_equal(decode_copy(w.data, w.len, &m, &why, &c), 0);
		assert_int_equal(m.nctrs, MAX_HB_COUNTERS);
		off = 0;
		for (i = 0; wire_hb_counter_next(&m, &off, &n, &v); i++)
			assert_true(v == i);
		assert_int_equal(i, MAX_HB_COUNTERS);
		free(c);
	}
	/* which counters count lost or damaged input */
	assert_true(wire_hb_counter_is_loss("agent.lines_truncated", 21));
	assert_true(wire_hb_counter_is_loss("agent.lines_bad_encoding", 24));
	assert_true(wire_hb_counter_is_loss("agent.read_errors", 17));
	assert_false(wire_hb_counter_is_loss("agent.lines_read", 16));
	assert_false(wire_hb_counter_is_loss("agent.read_errors", 16));
	wire_buf_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_hello_drill),
		cmocka_unit_test(test_fixed_frames),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_batch_roundtrip),
		cmocka_unit_test(test_batch_caps),
		cmocka_unit_test(test_batch_malformed),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_config_frames),
		cmocka_unit_test(test_heartbeat_counters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
