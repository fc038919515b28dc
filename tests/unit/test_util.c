/*
 * test_util.c - numbers, sizes, durations, RFC 3339 times, escaping, files,
 * pid files, error names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "common/err.h"
#include "common/stats.h"
#include "common/util.h"

static void test_parse_u64(void **state)
{
	static const struct { const char *s; uint64_t max; int ok; uint64_t v; }
	    t[] = {
		{ "0", 10, 1, 0 },
		{ "10", 10, 1, 10 },
		{ "11", 10, 0, 0 },
		{ "18446744073709551615", UINT64_MAX, 1, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, 0, 0 },
		{ "99999999999999999999", UINT64_MAX, 0, 0 },
		{ "", 10, 0, 0 },
		{ "-1", 10, 0, 0 },
		{ "+1", 10, 0, 0 },
		{ " 1", 10, 0, 0 },
		{ "1 ", 10, 0, 0 },
		{ "1a", 100, 0, 0 },
		{ "0x1", 100, 0, 0 },
		{ "007", 100, 1, 7 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 12345;
		int rc = parse_u64(t[i].s, strlen(t[i].s), t[i].max, &v);
		if (t[i].ok) {
			assert_int_equal(rc, 0);
			assert_true(v == t[i].v);
		} else {
			assert_int_equal(rc, TS_EINVAL);
			assert_true(v == 12345);	/* untouched */
		}
	}
	/* exactly len bytes: a longer buffer without NUL */
	uint64_t v;
	assert_int_equal(parse_u64("12345", 2, 100, &v), 0);
	assert_true(v == 12);
}

static void test_parse_size(void **state)
{
	static const struct { const char *s; int ok; uint64_t v; } t[] = {
		{ "512", 1, 512 },
		{ "0", 1, 0 },
		{ "64k", 1, 64 << 10 },
		{ "64K", 1, 64 << 10 },
		{ "64KB", 1, 64 << 10 },
		{ "64KiB", 1, 64 << 10 },
		{ "256M", 1, 256ULL << 20 },
		{ "2G", 1, 2ULL << 30 },
		{ "1T", 1, 1ULL << 40 },
		{ "100B", 1, 100 },
		{ "16777215T", 1, 16777215ULL << 40 },
		{ "16777216T", 0, 0 },
		{ "99999999999999999999", 0, 0 },
		{ "", 0, 0 },
		{ "M", 0, 0 },
		{ "1.5G", 0, 0 },
		{ "-1", 0, 0 },
		{ "1 G", 0, 0 },
		{ "1GG", 0, 0 },
		{ "1X", 0, 0 },
		{ "12k3", 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 7;
		int rc = parse_size(t[i].s, &v);
		assert_int_equal(rc, t[i].ok ? 0 : TS_EINVAL);
		if (t[i].ok)
			assert_true(v == t[i].v);
	}
}

static void test_parse_duration(void **state)
{
	static const struct { const char *s; int ok; uint64_t us; } t[] = {
		{ "250ms", 1, 250000 },
		{ "30s", 1, 30000000 },
		{ "15m", 1, 900000000 },
		{ "2h", 1, 7200000000ULL },
		{ "7d", 1, 604800000000ULL },
		{ "1w", 1, 604800000000ULL },
		{ "45", 1, 45000000 },
		{ "0", 1, 0 },
		{ "0s", 1, 0 },
		{ "1h30m", 1, 5400000000ULL },
		{ "1m30s", 1, 90000000 },
		{ "", 0, 0 },
		{ "s", 0, 0 },
		{ "ms", 0, 0 },
		{ "10x", 0, 0 },
		{ "10 s", 0, 0 },
		{ " 10s", 0, 0 },
		{ "-5s", 0, 0 },
		{ "1.5h", 0, 0 },
		{ "1h30", 0, 0 },
		{ "10S", 0, 0 },
		{ "10sec", 0, 0 },
		{ "40000000w", 0, 0 },		/* overflows u64 microseconds */
		{ "18446744073709551616", 0, 0 },
		{ "18446744073709ms", 1, 18446744073709000ULL },
		{ "9999999999999999999h", 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 7;
		int rc = parse_duration(t[i].s, &v);
		if (rc != (t[i].ok ? 0 : TS_EINVAL))
			fail_msg("parse_duration(\"%s\") = %d", t[i].s, rc);
		if (t[i].ok && v != t[i].us)
			fail_msg("parse_duration(\"%s\") -> %llu", t[i].s,
			    (unsigned long long)v);
	}
}

static void test_parse_rfc3339(void **state)
{
	static const struct { const char *s; int ok; uint64_t us; } t[] = {
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "2026-01-26T00:00:05Z", 1, 1769385605000000ULL },
		{ "2026-01-26T00:00:05.123Z", 1, 1769385605123000ULL },
		{ "2026-01-26T00:00:05.123456789Z", 1, 1769385605123456ULL },
		{ "2026-01-26T00:00:05.5z", 1, 1769385605500000ULL },
		{ "2026-01-26t00:00:05Z", 1, 1769385605000000ULL },
		{ "2026-01-26 00:00:05Z", 1, 1769385605000000ULL },
		{ "2026-01-26T02:00:05+02:00", 1, 1769385605000000ULL },
		{ "2026-01-25T19:30:05-04:30", 1, 1769385605000000ULL },
		{ "2024-02-29T00:00:00Z", 1, 1709164800000000ULL },
		{ "2000-02-29T00:00:00Z", 1, 951782400000000ULL },
		{ "2016-12-31T23:59:60Z", 1, 1483228799000000ULL },
		{ "2023-02-29T00:00:00Z", 0, 0 },
		{ "1900-02-29T00:00:00Z", 0, 0 },
		{ "2026-13-01T00:00:00Z", 0, 0 },
		{ "2026-00-01T00:00:00Z", 0, 0 },
		{ "2026-04-31T00:00:00Z", 0, 0 },
		{ "2026-01-00T00:00:00Z", 0, 0 },
		{ "2026-01-01T24:00:00Z", 0, 0 },
		{ "2026-01-01T00:60:00Z", 0, 0 },
		{ "2026-01-01T00:00:61Z", 0, 0 },
		{ "2026-01-01T00:00:00", 0, 0 },	/* no offset */
		{ "2026-01-01T00:00:00.Z", 0, 0 },
		{ "2026-01-01T00:00:00+0200", 0, 0 },
		{ "2026-01-01T00:00:00+24:00", 0, 0 },
		{ "2026-01-01T00:00:00+02:60", 0, 0 },
		{ "2026-01-01T00:00:00ZZ", 0, 0 },
		{ "2026-01-01", 0, 0 },
		{ "26-01-01T00:00:00Z", 0, 0 },
		{ "2026-1-01T00:00:00Z", 0, 0 },
		{ "2026-01-01X00:00:00Z", 0, 0 },
		{ "1969-12-31T23:59:59Z", 0, 0 },	/* before the epoch */
		{ "1970-01-01T00:00:00+01:00", 0, 0 },
		{ "", 0, 0 },
		{ "garbage", 0, 0 },
		{ "2026-01-01T00:00:00 Z", 0, 0 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 7;
		int rc = parse_rfc3339(t[i].s, strlen(t[i].s), &v);
		if (rc != (t[i].ok ? 0 : TS_EINVAL))
			fail_msg("parse_rfc3339(\"%s\") = %d", t[i].s, rc);
		if (t[i].ok && v != t[i].us)
			fail_msg("parse_rfc3339(\"%s\") -> %llu", t[i].s,
			    (unsigned long long)v);
	}
	/* every truncation of a valid time is refused, and reads stay in
	 * bounds (ASan checks the heap copy) */
	const char *full = "2026-01-26T00:00:05.123+02:00";
	size_t fl = strlen(full);
	for (size_t n = 0; n < fl; n++) {
		char *cp = malloc(n + 1);
		uint64_t v;
		assert_non_null(cp);
		memcpy(cp, full, n);
		int rc = parse_rfc3339(cp, n, &v);
		free(cp);
		/* "...05.123+02:00" cut to "...05.12" etc. has no offset */
		assert_int_equal(rc, TS_EINVAL);
	}
}

static void test_format_roundtrip(void **state)
{
	char buf[32];
	uint64_t v;
	(void)state;
	format_rfc3339(1769385605123456ULL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-01-26T00:00:05.123Z");
	assert_int_equal(parse_rfc3339(buf, strlen(buf), &v), 0);
	assert_true(v == 1769385605123000ULL);
	format_rfc3339(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
}

static void test_parse_time_arg(void **state)
{
	uint64_t now = 1769385605000000ULL, v;
	(void)state;
	assert_int_equal(parse_time_arg("15m", now, &v), 0);
	assert_true(v == now - 900000000ULL);
	assert_int_equal(parse_time_arg("2026-01-26T00:00:05Z", now, &v), 0);
	assert_true(v == 1769385605000000ULL);
	assert_int_equal(parse_time_arg("now", now, &v), 0);
	assert_true(v == now);
	assert_int_equal(parse_time_arg("100000w", now, &v), TS_EINVAL);
	assert_int_equal(parse_time_arg("yesterday", now, &v), TS_EINVAL);
	assert_int_equal(parse_time_arg("", now, &v), TS_EINVAL);
}

static void test_clocks(void **state)
{
	(void)state;
	assert_true(now_us() > 1600000000000000ULL);
	uint64_t a = mono_us(), b = mono_us();
	assert_true(b >= a);
}

static void test_escape_text(void **state)
{
	static const struct { const char *in; size_t len; const char *out; }
	    t[] = {
		{ "plain text", 10, "plain text" },
		{ "a\nb", 3, "a\\nb" },
		{ "a\tb\r", 4, "a\\tb\\r" },
		{ "back\\slash", 10, "back\\\\slash" },
		{ "\x1b[31mred", 8, "\\x1b[31mred" },
		{ "del\x7f", 4, "del\\x7f" },
		{ "nul\0x", 5, "nul\\x00x" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },			/* é */
		{ "\xe2\x82\xac", 3, "\xe2\x82\xac" },			/* € */
		{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },		/* emoji */
		{ "\xc3", 1, "\\xc3" },				/* truncated */
		{ "\xc3(", 2, "\\xc3(" },
		{ "\xc0\xaf", 2, "\\xc0\\xaf" },			/* overlong */
		{ "\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf" },		/* overlong */
		{ "\xed\xa0\x80", 3, "\\xed\\xa0\\x80" },		/* surrogate */
		{ "\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80" },	/* > U+10FFFF */
		{ "\xff\xfe", 2, "\\xff\\xfe" },
		{ "\xc2\x9b", 2, "\\xc2\\x9b" },			/* C1 CSI */
		{ "\xe2\x80\xae", 3, "\\xe2\\x80\\xae" },		/* RLO */
		{ "", 0, "" },
	};
	char out[128];
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t used = escape_text(t[i].in, t[i].len, out, sizeof(out));
		assert_int_equal(used, t[i].len);
		assert_string_equal(out, t[i].out);
	}
}

static void test_escape_text_small_out(void **state)
{
	char out[6];
	size_t used;
	(void)state;
	/* never splits an escape or a UTF-8 sequence; always terminated */
	used = escape_text("abcd\n", 5, out, sizeof(out));
	assert_int_equal(used, 4);
	assert_string_equal(out, "abcd");
	used = escape_text("abc\xc3\xa9", 5, out, 5);
	assert_int_equal(used, 3);
	assert_string_equal(out, "abc");
	used = escape_text("\x01\x02", 2, out, sizeof(out));
	assert_int_equal(used, 1);
	assert_string_equal(out, "\\x01");
	used = escape_text("abc", 3, out, 1);
	assert_int_equal(used, 0);
	assert_string_equal(out, "");
	/* every input byte value, every output size: bounded, terminated */
	for (size_t osz = 1; osz < 12; osz++) {
		char in[256];
		char *o = malloc(osz);
		assert_non_null(o);
		for (int i = 0; i < 256; i++)
			in[i] = (char)i;
		size_t pos = 0;
		for (int guard = 0; pos < sizeof(in) && guard < 1000; guard++) {
			size_t u = escape_text(in + pos, sizeof(in) - pos, o, osz);
			assert_true(strlen(o) < osz);
			if (u == 0)
				break;	/* an escape longer than osz-1 */
			pos += u;
		}
		free(o);
	}
}

static void test_log_level_parse(void **state)
{
	(void)state;
	assert_int_equal(log_level_parse("error"), LOG_LVL_ERR);
	assert_int_equal(log_level_parse("warn"), LOG_LVL_WARN);
	assert_int_equal(log_level_parse("info"), LOG_LVL_INFO);
	assert_int_equal(log_level_parse("debug"), LOG_LVL_DEBUG);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse(NULL), -1);
}

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tocsin-test-util.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown_tmp(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	(void)state;
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void test_files(void **state)
{
	char *dir = xasprintf("%s/a/b//c", tmpdir);
	char *f = xasprintf("%s/a/b/c/file", tmpdir);
	char *buf;
	size_t len;
	struct stat st;
	(void)state;

	assert_int_equal(mkdir_p(dir, 0700), 0);
	assert_int_equal(mkdir_p(dir, 0700), 0);	/* exists: fine */
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	assert_int_equal(write_file_atomic(f, "hello\n", 6, 0600), 0);
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(read_file(f, 100, &buf, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	free(buf);
	assert_int_equal(read_file(f, 6, &buf, &len), 0);
	free(buf);
	assert_int_equal(read_file(f, 5, &buf, &len), TS_ETOOBIG);
	assert_null(buf);
	assert_int_equal(write_file_atomic(f, "", 0, 0644), 0);
	assert_int_equal(read_file(f, 5, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	char *missing = xasprintf("%s/nope", tmpdir);
	assert_int_equal(read_file(missing, 100, &buf, &len), TS_EIO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(read_file(dir, 100, &buf, &len), TS_EIO);

	/* mkdir_p through a regular file fails */
	char *bad = xasprintf("%s/sub", f);
	assert_int_equal(mkdir_p(bad, 0700), TS_EIO);

	free(bad);
	free(missing);
	free(dir);
	free(f);
}

static void test_pidfile(void **state)
{
	char *p = xasprintf("%s/x.pid", tmpdir);
	long pid = 0;
	(void)state;
	assert_int_equal(pidfile_read(p, &pid), TS_ENOTFOUND);
	assert_int_equal(pidfile_write(p), 0);
	assert_int_equal(pidfile_read(p, &pid), 0);
	assert_int_equal(pid, (long)getpid());
	assert_true(pid_alive(pid));
	assert_false(pid_alive(0));
	assert_false(pid_alive(-1));
	assert_int_equal(write_file_atomic(p, "12x\n", 4, 0644), 0);
	assert_int_equal(pidfile_read(p, &pid), TS_EINVAL);
	assert_int_equal(write_file_atomic(p, "", 0, 0644), 0);
	assert_int_equal(pidfile_read(p, &pid), TS_EINVAL);
	free(p);
}

static void test_xasprintf_strerror(void **state)
{
	char *s = xasprintf("%s-%d", "a", 42);
	(void)state;
	assert_string_equal(s, "a-42");
	free(s);
	for (int c = 0; c >= -12; c--)
		assert_non_null(ts_strerror(c));
	assert_string_equal(ts_strerror(-100), "unknown error");
}

static void test_be(void **state)
{
	unsigned char b[8];
	(void)state;
	put_be64(b, 0x0102030405060708ULL);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[7], 8);
	assert_true(get_be64(b) == 0x0102030405060708ULL);
	put_be32(b, 0xa1b2c3d4u);
	assert_true(get_be32(b) == 0xa1b2c3d4u);
	put_be16(b, 0xbeef);
	assert_int_equal(get_be16(b), 0xbeef);
}

static int stats_cb(const char *name, uint64_t value, void *arg)
{
	char *acc = arg;
	size_t o = strlen(acc);
	snprintf(acc + o, 256 - o, "%s=%llu;", name, (unsigned long long)value);
	return strcmp(name, "b.stop") == 0 ? TS_ESTOP : 0;
}

/* stats.c: write, load back, iterate in name order. */
static void test_stats(void **state)
{
	struct counter c[] = {
		{ "b.two", 2, "second" },
		{ "a.one", 1, "first" },
		{ "a.big", UINT64_MAX, "big" },
	};
	struct counter back[] = {
		{ "a.one", 0, "" }, { "b.two", 0, "" }, { "c.none", 7, "" },
	};
	char *dir = xasprintf("%s/stats", tmpdir);
	char acc[256] = "";
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	(void)state;

	assert_int_equal(mkdir_p(dir, 0700), 0);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "stats", MDB_CREATE, &dbi), 0);
	assert_int_equal(stats_write(txn, dbi, c, 3), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);

	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(stats_load(txn, dbi, back, 3), 0);
	assert_true(back[0].value == 1 && back[1].value == 2);
	assert_true(back[2].value == 7);	/* not stored: unchanged */
	assert_int_equal(stats_foreach(txn, dbi, stats_cb, acc), 0);
	assert_string_equal(acc,
	    "a.big=18446744073709551615;a.one=1;b.two=2;");
	mdb_txn_abort(txn);

	/* a callback's TS_ESTOP ends the walk early, as success */
	struct counter stop[] = { { "b.stop", 5, "" } };
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(stats_write(txn, dbi, stop, 1), 0);
	acc[0] = '\0';
	assert_int_equal(stats_foreach(txn, dbi, stats_cb, acc), 0);
	assert_string_equal(acc, "a.big=18446744073709551615;a.one=1;b.stop=5;");
	mdb_txn_abort(txn);
	mdb_env_close(env);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_rfc3339),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_parse_time_arg),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_escape_text),
		cmocka_unit_test(test_escape_text_small_out),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_xasprintf_strerror),
		cmocka_unit_test(test_be),
		cmocka_unit_test(test_stats),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
