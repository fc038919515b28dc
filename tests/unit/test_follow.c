/*
 * test_follow.c - following files into the spool: new lines only or from the
 * start, partial lines, long lines, flags, rotation by rename, copy-truncate,
 * files that appear later, offsets across restarts.
 */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agents/agent_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

#define MAX_GOT		64
/* Polls of a rotation test; each sleeps 100 ms.  The rotation grace is
 * FOLLOW_ROTATE_GRACE_US, so this bounds the test at a few seconds. */
#define MAX_POLLS	100

struct fx {
	char		 dir[512];
	char		*spool_dir;
	char		*log;		/* dir/app.log */
	spool_t		*sp;
	follower_t	*fw;
	/* everything spooled so far, in order */
	char		*lines[MAX_GOT];
	size_t		 lens[MAX_GOT];
	uint16_t	 flags[MAX_GOT];
	size_t		 n;
	uint64_t	 read_through;
};

static int rm_cb(const char *p, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	const char *tmp = getenv("TMPDIR");

	snprintf(fx->dir, sizeof(fx->dir), "%s/test_follow.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	fx->spool_dir = xasprintf("%s/spool", fx->dir);
	fx->log = xasprintf("%s/app.log", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	follow_free(&fx->fw);
	spool_close(&fx->sp);
	for (size_t i = 0; i < fx->n; i++)
		free(fx->lines[i]);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx->spool_dir);
	free(fx->log);
	free(fx);
	return 0;
}

static void file_write(const char *path, const char *mode, const void *data,
    size_t len)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void append_str(const char *path, const char *s)
{
	file_write(path, "ab", s, strlen(s));
}

static void fx_open(struct fx *fx, int from_start)
{
	const char *paths[1] = { fx->log };

	if (fx->sp == NULL)
		assert_int_equal(spool_open(fx->spool_dir, 0, &fx->sp), 0);
	assert_int_equal(follow_open(fx->sp, paths, 1, from_start, &fx->fw), 0);
}

static void fx_close(struct fx *fx)
{
	follow_free(&fx->fw);
	spool_close(&fx->sp);
}

static int got_cb(const struct spool_event *ev, void *arg)
{
	struct fx *fx = arg;

	assert_true(fx->n < MAX_GOT);
	fx->lines[fx->n] = malloc(ev->line_len + 1);
	assert_non_null(fx->lines[fx->n]);
	memcpy(fx->lines[fx->n], ev->line, ev->line_len);
	fx->lines[fx->n][ev->line_len] = '\0';
	fx->lens[fx->n] = ev->line_len;
	fx->flags[fx->n] = ev->flags;
	fx->n++;
	fx->read_through = ev->seq;
	return 0;
}

/* Poll once and collect what was spooled since the last call. */
static size_t fx_poll(struct fx *fx)
{
	size_t before = fx->n;
	int more = 1;

	for (int i = 0; i < 100 && more; i++)
		assert_int_equal(follow_poll(fx->fw, 1000, &more), 0);
	assert_int_equal(spool_read(fx->sp, fx->read_through + 1, 0, got_cb,
	    fx), 0);
	return fx->n - before;
}

/* Poll (sleeping 100 ms between) until line s has been spooled. */
static void fx_poll_until(struct fx *fx, const char *s)
{
	for (int i = 0; i < MAX_POLLS; i++) {
		fx_poll(fx);
		for (size_t k = 0; k < fx->n; k++)
			if (strcmp(fx->lines[k], s) == 0)
				return;
		usleep(100 * 1000);
	}
	fail_msg("line '%s' never arrived", s);
}

static void test_new_lines_only(void **state)
{
	struct fx *fx = *state;

	append_str(fx->log, "old1\nold2\n");
	fx_open(fx, 0);
	assert_int_equal(fx_poll(fx), 0);
	append_str(fx->log, "new1\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_string_equal(fx->lines[0], "new1");
	assert_int_equal(fx->flags[0], 0);
}

/* A Windows .evtx file is binary records, not lines: refused, counted
 * once, nothing spooled. */
static void test_evtx_refused(void **state)
{
	struct fx *fx = *state;
	struct follow_stats st;

	file_write(fx->log, "w", "ElfFile\0\0\0\0\0\nline\n", 19);
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 0);
	assert_int_equal(fx_poll(fx), 0);
	follow_get_stats(fx->fw, &st);
	assert_int_equal(st.read_errors, 1);
	assert_int_equal(st.lines, 0);
}

static void test_from_start(void **state)
{
	struct fx *fx = *state;

	append_str(fx->log, "old1\nold2\n");
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 2);
	assert_string_equal(fx->lines[0], "old1");
	assert_string_equal(fx->lines[1], "old2");
	append_str(fx->log, "new1\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_string_equal(fx->lines[2], "new1");
}

static void test_start_at_end_mid_line(void **state)
{
	struct fx *fx = *state;

	/* the line being written when the agent starts ships whole */
	append_str(fx->log, "old1\npart");
	fx_open(fx, 0);
	assert_int_equal(fx_poll(fx), 0);
	append_str(fx->log, "ial\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_string_equal(fx->lines[0], "partial");
}

static void test_partial_line_held(void **state)
{
	struct fx *fx = *state;

	fx_open(fx, 0);
	append_str(fx->log, "");	/* appears empty after start */
	assert_int_equal(fx_poll(fx), 0);
	append_str(fx->log, "abc");
	assert_int_equal(fx_poll(fx), 0);
	assert_int_equal(fx_poll(fx), 0);
	append_str(fx->log, "def\r\nghi\n\n");
	assert_int_equal(fx_poll(fx), 3);
	assert_string_equal(fx->lines[0], "abcdef");	/* \r\n stripped */
	assert_string_equal(fx->lines[1], "ghi");
	assert_string_equal(fx->lines[2], "");		/* empty line kept */
}

static void test_long_line(void **state)
{
	struct fx *fx = *state;
	size_t len = MAX_LINE_BYTES + 100;
	char *big = malloc(len);

	assert_non_null(big);
	memset(big, 'x', len);
	fx_open(fx, 1);
	append_str(fx->log, "before\n");
	file_write(fx->log, "ab", big, len);
	append_str(fx->log, "\nafter\n");
	assert_int_equal(fx_poll(fx), 3);
	assert_string_equal(fx->lines[0], "before");
	assert_int_equal(fx->lens[1], MAX_LINE_BYTES);
	assert_int_equal(fx->flags[1], EV_TRUNCATED);
	assert_string_equal(fx->lines[2], "after");
	assert_int_equal(fx->flags[2], 0);

	/* a long line arriving without its newline: its start ships once,
	 * the rest is skipped when it arrives */
	file_write(fx->log, "ab", big, len);
	assert_int_equal(fx_poll(fx), 1);
	assert_int_equal(fx->lens[3], MAX_LINE_BYTES);
	assert_int_equal(fx->flags[3], EV_TRUNCATED);
	append_str(fx->log, "rest-of-long");
	assert_int_equal(fx_poll(fx), 0);
	append_str(fx->log, "\nnext\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_string_equal(fx->lines[4], "next");

	/* exactly MAX_LINE_BYTES is not truncated, also with \r\n */
	file_write(fx->log, "ab", big, MAX_LINE_BYTES);
	append_str(fx->log, "\r\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_int_equal(fx->lens[5], MAX_LINE_BYTES);
	assert_int_equal(fx->flags[5], 0);

	/* the cap does not split a UTF-8 character */
	memset(big, 'y', len);
	memcpy(big + MAX_LINE_BYTES - 1, "\xe2\x82\xac", 3);	/* euro sign */
	file_write(fx->log, "ab", big, len);
	append_str(fx->log, "\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_int_equal(fx->lens[6], MAX_LINE_BYTES - 1);
	assert_int_equal(fx->flags[6], EV_TRUNCATED);

	struct follow_stats st;
	follow_get_stats(fx->fw, &st);
	assert_int_equal(st.truncated, 3);
	free(big);
}

static void test_flags(void **state)
{
	struct fx *fx = *state;

	fx_open(fx, 1);
	append_str(fx->log, "plain\ttab\n");
	append_str(fx->log, "bell\x07here\n");
	append_str(fx->log, "bad\xff\xfeutf8\n");
	append_str(fx->log, "h\xc3\xa9llo \xe2\x82\xac\n");
	append_str(fx->log, "esc\x1b[31m\xc3\n");
	assert_int_equal(fx_poll(fx), 5);
	assert_int_equal(fx->flags[0], 0);
	assert_int_equal(fx->flags[1], EV_CTRL);
	assert_int_equal(fx->flags[2], EV_BADUTF8);
	assert_memory_equal(fx->lines[2], "bad\xff\xfeutf8", 9);
	assert_int_equal(fx->flags[3], 0);
	assert_int_equal(fx->flags[4], EV_CTRL | EV_BADUTF8);
}

static void test_line_flags_table(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
		uint16_t	 flags;
	} t[] = {
		{ "", 0, 0 },
		{ "abc", 3, 0 },
		{ "a\0b", 3, EV_CTRL },
		{ "\x7f", 1, EV_CTRL },
		{ "\xc2\x85", 2, EV_CTRL },		/* C1 NEL */
		{ "\xc0\xaf", 2, EV_BADUTF8 },		/* overlong */
		{ "\xed\xa0\x80", 3, EV_BADUTF8 },	/* surrogate */
		{ "\xf4\x90\x80\x80", 4, EV_BADUTF8 },	/* > U+10FFFF */
		{ "\xf0\x9f\x98\x80", 4, 0 },		/* emoji */
		{ "\xe2\x82", 2, EV_BADUTF8 },		/* cut short */
		{ "\x80", 1, EV_BADUTF8 },
		/* longer than a word: the 8-byte fast path and its fallback */
		{ "abcdefghijklmnopqrstuvwxyz0123456789", 36, 0 },
		{ "abcdefgh\tijklmnop", 17, 0 },
		{ "abcdefghijklmno\x7fqrstuvw", 24, EV_CTRL },
		{ "abcdefghijklmnop\x1f", 17, EV_CTRL },
		{ "abcdefghij\xc3\xa9klmnopqrstu", 23, 0 },
		{ "abcdefghijklmnopq\xffrstuvwxyz", 27, EV_BADUTF8 },
		{ "~~~~~~~~ ~~~~~~~~", 17, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(follow_line_flags(t[i].s, t[i].len), t[i].flags);
}

static void test_rename_rotation(void **state)
{
	struct fx *fx = *state;
	char *old = xasprintf("%s.1", fx->log);

	append_str(fx->log, "one\n");
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 1);
	append_str(fx->log, "two\nthree-partial");
	assert_int_equal(rename(fx->log, old), 0);
	append_str(fx->log, "new-one\n");
	/* the writer still appends to the old file for a moment */
	append_str(old, "-end\n");
	fx_poll_until(fx, "new-one");
	assert_int_equal(fx->n, 4);
	assert_string_equal(fx->lines[0], "one");
	assert_string_equal(fx->lines[1], "two");
	assert_string_equal(fx->lines[2], "three-partial-end");
	assert_string_equal(fx->lines[3], "new-one");
	append_str(fx->log, "new-two\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_string_equal(fx->lines[4], "new-two");

	struct follow_stats st;
	follow_get_stats(fx->fw, &st);
	assert_int_equal(st.rotations, 1);
	free(old);
}

static void test_rotation_partial_shipped(void **state)
{
	struct fx *fx = *state;
	char *old = xasprintf("%s.1", fx->log);

	fx_open(fx, 1);
	append_str(fx->log, "a\nno-newline");
	assert_int_equal(fx_poll(fx), 1);
	assert_int_equal(rename(fx->log, old), 0);
	append_str(fx->log, "b\n");
	fx_poll_until(fx, "b");
	assert_int_equal(fx->n, 3);
	assert_string_equal(fx->lines[1], "no-newline");
	assert_string_equal(fx->lines[2], "b");
	free(old);
}

static void test_copy_truncate(void **state)
{
	struct fx *fx = *state;

	append_str(fx->log, "aaaa\nbbbb\n");
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 2);
	/* truncated to empty, then a shorter line */
	assert_int_equal(truncate(fx->log, 0), 0);
	append_str(fx->log, "c\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_string_equal(fx->lines[2], "c");
	/* truncated and regrown past the old offset before we looked */
	assert_int_equal(truncate(fx->log, 0), 0);
	append_str(fx->log, "dddddddd\neeeeeeee\n");
	assert_int_equal(fx_poll(fx), 2);
	assert_string_equal(fx->lines[3], "dddddddd");
	assert_string_equal(fx->lines[4], "eeeeeeee");

	struct follow_stats st;
	follow_get_stats(fx->fw, &st);
	assert_int_equal(st.truncations, 2);
}

static void test_file_appears_later(void **state)
{
	struct fx *fx = *state;

	fx_open(fx, 0);
	assert_int_equal(fx_poll(fx), 0);
	assert_int_equal(fx_poll(fx), 0);
	/* a file that appears after start-up is new: read from its start */
	append_str(fx->log, "x\ny\n");
	assert_int_equal(fx_poll(fx), 2);
	assert_string_equal(fx->lines[0], "x");
	assert_string_equal(fx->lines[1], "y");
	/* removed and created again: read again from its start */
	assert_int_equal(unlink(fx->log), 0);
	append_str(fx->log, "z\n");
	fx_poll_until(fx, "z");
	assert_int_equal(fx->n, 3);
}

static void test_offsets_persist(void **state)
{
	struct fx *fx = *state;

	append_str(fx->log, "a\nb\n");
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 2);
	append_str(fx->log, "half");
	assert_int_equal(fx_poll(fx), 0);
	fx_close(fx);

	/* written while the agent was down */
	append_str(fx->log, "-line\nc\n");
	fx_open(fx, 0);		/* stored offset wins over from_start */
	fx->read_through = 2;
	assert_int_equal(fx_poll(fx), 2);
	assert_string_equal(fx->lines[2], "half-line");
	assert_string_equal(fx->lines[3], "c");
	fx_close(fx);

	/* again, from_start does not re-read what was read */
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 0);
}

static void test_rotated_while_down(void **state)
{
	struct fx *fx = *state;
	char *old = xasprintf("%s.1", fx->log);

	append_str(fx->log, "a\n");
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 1);
	fx_close(fx);
	append_str(fx->log, "b\n");
	assert_int_equal(rename(fx->log, old), 0);
	append_str(fx->log, "c\n");
	fx_open(fx, 0);
	fx->read_through = 1;
	fx_poll_until(fx, "c");
	assert_int_equal(fx->n, 3);
	assert_string_equal(fx->lines[1], "b");
	assert_string_equal(fx->lines[2], "c");
	free(old);
}

static void test_spool_full_stops_reading(void **state)
{
	struct fx *fx = *state;
	const char *paths[1] = { fx->log };
	char line[201];
	struct spool_info si;
	int more, rc;

	memset(line, 'q', 200);
	line[200] = '\n';
	for (int i = 0; i < 100; i++)
		file_write(fx->log, "ab", line, sizeof(line));
	assert_int_equal(spool_open(fx->spool_dir, 4096, &fx->sp), 0);
	assert_int_equal(follow_open(fx->sp, paths, 1, 1, &fx->fw), 0);
	rc = follow_poll(fx->fw, 1000, &more);
	assert_int_equal(rc, TS_EFULL);
	uint64_t first = spool_pending(fx->sp);
	assert_true(first > 0 && first < 100);
	assert_int_equal(follow_poll(fx->fw, 1000, &more), TS_EFULL);
	assert_int_equal(spool_pending(fx->sp), first);
	/* acks free space and reading resumes where it stopped */
	spool_get_info(fx->sp, &si);
	uint64_t total = 0;
	for (int i = 0; i < 200 && total < 100; i++) {
		spool_get_info(fx->sp, &si);
		total = si.next_seq - 1;
		assert_int_equal(spool_ack_through(fx->sp, si.epoch,
		    si.next_seq - 1, NULL), 0);
		rc = follow_poll(fx->fw, 1000, &more);
		assert_true(rc == 0 || rc == TS_EFULL);
	}
	spool_get_info(fx->sp, &si);
	assert_int_equal(si.next_seq - 1, 100);	/* every line exactly once */
}

static void test_two_files(void **state)
{
	struct fx *fx = *state;
	char *other = xasprintf("%s/other.log", fx->dir);
	char *dir = xasprintf("%s/adir", fx->dir);
	const char *paths[3] = { fx->log, other, dir };
	int more;

	assert_int_equal(mkdir(dir, 0700), 0);
	append_str(fx->log, "a1\n");
	append_str(other, "b1\n");
	assert_int_equal(spool_open(fx->spool_dir, 0, &fx->sp), 0);
	assert_int_equal(follow_open(fx->sp, paths, 3, 1, &fx->fw), 0);
	/* a directory is not followed, the others are */
	assert_int_equal(follow_poll(fx->fw, 1000, &more), 0);
	assert_int_equal(spool_pending(fx->sp), 2);
	append_str(other, "b2\n");
	append_str(fx->log, "a2\n");
	assert_int_equal(fx_poll(fx), 4);
	size_t a = 0, b = 0;
	for (size_t i = 0; i < fx->n; i++) {
		if (fx->lines[i][0] == 'a')
			a++;
		else if (fx->lines[i][0] == 'b')
			b++;
	}
	assert_int_equal(a, 2);
	assert_int_equal(b, 2);
	free(other);
	free(dir);
}

/* s (ASCII or UTF-8 of BMP and astral characters) as UTF-16 into out;
 * bytes written. */
static size_t to_utf16(const char *s, int be, unsigned char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	while (*p) {
		uint32_t c;
		if (*p < 0x80) c = *p++;
		else if (*p < 0xe0) { c = (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f); p += 2; }
		else if (*p < 0xf0) { c = (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f); p += 3; }
		else { c = (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 | (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f); p += 4; }
		uint32_t u[2];
		int n = 1;
		if (c >= 0x10000) {
			u[0] = 0xd800 + ((c - 0x10000) >> 10);
			u[1] = 0xdc00 + ((c - 0x10000) & 0x3ff);
			n = 2;
		} else {
			u[0] = c;
		}
		for (int k = 0; k < n; k++) {
			out[o++] = (unsigned char)(be ? u[k] >> 8 : u[k]);
			out[o++] = (unsigned char)(be ? u[k] : u[k] >> 8);
		}
	}
	return o;
}

/* UTF-16 logs (as Windows antivirus and applications write them), with
 * and without byte-order mark, little- and big-endian: shipped as UTF-8,
 * CRLF ends, a line written in two parts held until its end, a code unit
 * split across writes kept whole, an unpaired surrogate flagged. */
static void test_utf16(void **state)
{
	struct fx *fx = *state;
	unsigned char b[512];
	size_t n;

	for (int v = 0; v < 3; v++) {
		int be = v == 2, bom = v != 1;
		size_t base = fx->n;

		n = 0;
		if (bom) {
			b[n++] = be ? 0xfe : 0xff;
			b[n++] = be ? 0xff : 0xfe;
		}
		n += to_utf16("Threat found: Trojan:Win32/Caf\xc3\xa9\r\n"
		    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 ok\n", be, b + n);
		unlink(fx->log);
		file_write(fx->log, "wb", b, n);
		fx_close(fx);
		fx_open(fx, 1);
		assert_int_equal(fx_poll(fx), 2);
		assert_string_equal(fx->lines[base],
		    "Threat found: Trojan:Win32/Caf\xc3\xa9");
		assert_string_equal(fx->lines[base + 1],
		    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 ok");
		assert_int_equal(fx->flags[base] & (EV_BADUTF8 | EV_CTRL), 0);
		/* "part" then, in two writes split inside a code unit, "ial\n" */
		n = to_utf16("part", be, b);
		file_write(fx->log, "ab", b, n);
		assert_int_equal(fx_poll(fx), 0);
		n = to_utf16("ial\n", be, b);
		file_write(fx->log, "ab", b, 1);
		assert_int_equal(fx_poll(fx), 0);
		file_write(fx->log, "ab", b + 1, n - 1);
		assert_int_equal(fx_poll(fx), 1);
		assert_string_equal(fx->lines[base + 2], "partial");
		/* an unpaired high surrogate */
		n = 0;
		b[n++] = be ? 0xd8 : 0x00;
		b[n++] = be ? 0x00 : 0xd8;
		n += to_utf16("x\n", be, b + n);
		file_write(fx->log, "ab", b, n);
		assert_int_equal(fx_poll(fx), 1);
		assert_string_equal(fx->lines[base + 3], "\xef\xbf\xbdx");
		assert_true(fx->flags[base + 3] & EV_BADUTF8);
		fx_close(fx);
		/* a new spool for the next variant: offsets start afresh */
		nftw(fx->spool_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		fx->read_through = 0;
	}
}

/* A UTF-8 byte-order mark is not part of the first line. */
static void test_utf8_bom(void **state)
{
	struct fx *fx = *state;

	append_str(fx->log, "\xef\xbb\xbf" "first\nsecond\n");
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 2);
	assert_string_equal(fx->lines[0], "first");
	assert_string_equal(fx->lines[1], "second");
}

/* Run the follower's polls with stderr (where the log goes) captured into
 * dir/stderr; the number of lines of it holding needle. */
static int saved_stderr = -1;

static void capture_start(struct fx *fx)
{
	char *path = xasprintf("%s/stderr", fx->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	free(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static size_t capture_end(struct fx *fx, const char *needle)
{
	char *path = xasprintf("%s/stderr", fx->dir);
	char line[4096];
	size_t hits = 0;
	FILE *f;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	saved_stderr = -1;
	f = fopen(path, "r");
	free(path);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			hits++;
	fclose(f);
	return hits;
}

/* A Latin-1 (Windows-1252) antivirus log: every line that is not valid
 * UTF-8 is shipped as it is, flagged and counted; one warning only. */
static void test_latin1(void **state)
{
	struct fx *fx = *state;
	struct follow_stats st;

	append_str(fx->log, "Menace d\xe9" "tect\xe9" "e: Trojan\n"
	    "plain ascii\n" "Quarant\xe4" "ne \x80 ok\n");
	capture_start(fx);
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 3);
	append_str(fx->log, "encore \xe9\n");
	assert_int_equal(fx_poll(fx), 1);
	assert_int_equal(capture_end(fx, "lines_bad_encoding"), 1);
	assert_string_equal(fx->lines[0], "Menace d\xe9" "tect\xe9" "e: Trojan");
	assert_true(fx->flags[0] & EV_BADUTF8);
	assert_false(fx->flags[1] & EV_BADUTF8);
	assert_true(fx->flags[2] & EV_BADUTF8);
	follow_get_stats(fx->fw, &st);
	assert_int_equal(st.lines, 4);
	assert_int_equal(st.bad_encoding, 3);
}

/* Valid UTF-8 with one line of invalid bytes in the middle. */
static void test_bad_utf8_middle(void **state)
{
	struct fx *fx = *state;
	struct follow_stats st;

	append_str(fx->log, "caf\xc3\xa9 ok\n" "bad \xc3\x28 \xf8\x88\n"
	    "\xe2\x82\xac fine\n");
	capture_start(fx);
	fx_open(fx, 1);
	assert_int_equal(fx_poll(fx), 3);
	assert_int_equal(capture_end(fx, "not valid UTF-8"), 1);
	assert_true(fx->flags[1] & EV_BADUTF8);
	assert_string_equal(fx->lines[2], "\xe2\x82\xac fine");
	follow_get_stats(fx->fw, &st);
	assert_int_equal(st.bad_encoding, 1);
}

/* UTF-32 (both byte orders) is not decoded: one warning naming it, every
 * line counted, the file still followed to its end. */
static void test_utf32_bom(void **state)
{
	struct fx *fx = *state;
	struct follow_stats st;
	static const unsigned char le[] = { 0xff, 0xfe, 0, 0, 'a', 0, 0, 0,
	    '\n', 0, 0, 0, 'b', 0, 0, 0, '\n', 0, 0, 0 };
	static const unsigned char be[] = { 0, 0, 0xfe, 0xff, 0, 0, 0, 'a',
	    0, 0, 0, '\n', 0, 0, 0, 'b', 0, 0, 0, '\n' };

	for (int k = 0; k < 2; k++) {
		file_write(fx->log, "wb", k ? be : le, sizeof(le));
		capture_start(fx);
		fx_open(fx, 1);
		fx_poll(fx);
		assert_int_equal(capture_end(fx, "UTF-32 byte-order mark"), 1);
		follow_get_stats(fx->fw, &st);
		assert_true(st.lines >= 2);
		assert_int_equal(st.bad_encoding, st.lines);
		fx_close(fx);
		nftw(fx->spool_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		fx->read_through = 0;
	}
}

/* Binary data full of NULs, with and without line ends: counted, one
 * warning, never stuck (the follower reaches the file's end). */
static void test_binary_nul(void **state)
{
	struct fx *fx = *state;
	struct follow_stats st;
	size_t n = 3 * MAX_LINE_BYTES;
	char *b = calloc(1, n);

	assert_non_null(b);
	b[10] = '\n';
	b[20] = 'x';
	capture_start(fx);
	file_write(fx->log, "wb", b, n);
	append_str(fx->log, "\ntext after\n");
	fx_open(fx, 1);
	fx_poll_until(fx, "text after");
	assert_int_equal(capture_end(fx, "NUL bytes"), 1);
	follow_get_stats(fx->fw, &st);
	assert_true(st.bad_encoding >= 2);
	assert_int_equal(st.bad_encoding, st.lines - 1);
	free(b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_new_lines_only),
		T(test_from_start),
		T(test_evtx_refused),
		T(test_start_at_end_mid_line),
		T(test_partial_line_held),
		T(test_long_line),
		T(test_flags),
		cmocka_unit_test(test_line_flags_table),
		T(test_utf16),
		T(test_utf8_bom),
		T(test_latin1),
		T(test_bad_utf8_middle),
		T(test_utf32_bom),
		T(test_binary_nul),
		T(test_rename_rotation),
		T(test_rotation_partial_shipped),
		T(test_copy_truncate),
		T(test_file_appears_later),
		T(test_offsets_persist),
		T(test_rotated_while_down),
		T(test_spool_full_stops_reading),
		T(test_two_files),
	};
#undef T

	log_init("test_follow", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
