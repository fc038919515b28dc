/*
 * test_spool.c - the agent's on-disk spool: append, read back, acknowledge,
 * reopen, epochs, offsets, the size cap.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "agents/agent_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

static int rm_cb(const char *p, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char tmpl[512];
	char *d;

	snprintf(tmpl, sizeof(tmpl), "%s/test_spool.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if ((d = mkdtemp(tmpl)) == NULL)
		return -1;
	*state = xasprintf("%s/spool", d);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	char *p = *state;
	char *slash = strrchr(p, '/');

	*slash = '\0';
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(p);
	return 0;
}

/* Append n events "line-<i>" in one transaction. */
static void append_n(spool_t *sp, int first, int n)
{
	char line[64];

	assert_int_equal(spool_begin(sp), 0);
	for (int i = first; i < first + n; i++) {
		int len = snprintf(line, sizeof(line), "line-%d", i);
		assert_int_equal(spool_append(sp, 1000 + (uint64_t)i, 0,
		    "/var/log/x", 10, line, (size_t)len, NULL), 0);
	}
	assert_int_equal(spool_commit(sp), 0);
}

struct collect {
	uint64_t	 seqs[64];
	char		 lines[64][32];
	size_t		 n;
};

static int collect_cb(const struct spool_event *ev, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < 64);
	assert_true(ev->line_len < 32);
	assert_int_equal(ev->file_len, 10);
	assert_memory_equal(ev->file, "/var/log/x", 10);
	c->seqs[c->n] = ev->seq;
	memcpy(c->lines[c->n], ev->line, ev->line_len);
	c->lines[c->n][ev->line_len] = '\0';
	c->n++;
	return 0;
}

static void test_new_spool(void **state)
{
	spool_t *sp = NULL;
	struct spool_info si;

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	spool_get_info(sp, &si);
	assert_true(si.epoch > 0);
	assert_int_equal(si.next_seq, 1);
	assert_int_equal(si.acked, 0);
	assert_int_equal(si.bytes, 0);
	assert_int_equal(spool_pending(sp), 0);
	assert_false(spool_is_full(sp));
	spool_close(&sp);
	assert_null(sp);
	spool_close(&sp);	/* NULL is fine */
}

static void test_append_read_ack(void **state)
{
	spool_t *sp = NULL;
	struct spool_info si;
	struct collect c;
	uint64_t freed;

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	append_n(sp, 1, 10);
	spool_get_info(sp, &si);
	assert_int_equal(si.next_seq, 11);
	assert_int_equal(spool_pending(sp), 10);
	assert_true(si.bytes > 0);

	memset(&c, 0, sizeof(c));
	assert_int_equal(spool_read(sp, 1, 0, collect_cb, &c), 0);
	assert_int_equal(c.n, 10);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(c.seqs[i], i + 1);
	assert_string_equal(c.lines[0], "line-1");
	assert_string_equal(c.lines[9], "line-10");

	/* at most max, from a given seq */
	memset(&c, 0, sizeof(c));
	assert_int_equal(spool_read(sp, 4, 3, collect_cb, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seqs[0], 4);
	assert_int_equal(c.seqs[2], 6);

	/* ACK of another epoch changes nothing */
	assert_int_equal(spool_ack_through(sp, si.epoch + 1, 5, &freed), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(spool_pending(sp), 10);

	assert_int_equal(spool_ack_through(sp, si.epoch, 4, &freed), 0);
	assert_int_equal(freed, 4);
	assert_int_equal(spool_pending(sp), 6);
	memset(&c, 0, sizeof(c));
	assert_int_equal(spool_read(sp, 1, 0, collect_cb, &c), 0);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.seqs[0], 5);

	/* an older ACK again is a no-op; one beyond what exists is clamped */
	assert_int_equal(spool_ack_through(sp, si.epoch, 2, &freed), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(spool_ack_through(sp, si.epoch, 1000, &freed), 0);
	assert_int_equal(freed, 6);
	spool_get_info(sp, &si);
	assert_int_equal(si.acked, 10);
	assert_int_equal(si.bytes, 0);
	assert_int_equal(spool_pending(sp), 0);

	/* seqs go on after a full ack */
	append_n(sp, 11, 1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(spool_read(sp, 1, 0, collect_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seqs[0], 11);
	spool_close(&sp);
}

static void test_reopen(void **state)
{
	spool_t *sp = NULL;
	struct spool_info a, b;
	struct collect c;

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	append_n(sp, 1, 5);
	spool_get_info(sp, &a);
	assert_int_equal(spool_ack_through(sp, a.epoch, 2, NULL), 0);
	spool_get_info(sp, &a);
	spool_close(&sp);

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	spool_get_info(sp, &b);
	assert_int_equal(b.epoch, a.epoch);
	assert_int_equal(b.next_seq, 6);
	assert_int_equal(b.acked, 2);
	assert_int_equal(b.bytes, a.bytes);
	memset(&c, 0, sizeof(c));
	assert_int_equal(spool_read(sp, 1, 0, collect_cb, &c), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.seqs[0], 3);
	assert_string_equal(c.lines[2], "line-5");
	spool_close(&sp);
}

static void test_abort_keeps_nothing(void **state)
{
	spool_t *sp = NULL;
	struct spool_offset o = { .dev = 1, .ino = 2, .offset = 3 }, g;

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	assert_int_equal(spool_begin(sp), 0);
	assert_int_equal(spool_begin(sp), TS_EINVAL);	/* one at a time */
	assert_int_equal(spool_append(sp, 1, 0, "f", 1, "x", 1, NULL), 0);
	assert_int_equal(spool_offset_put(sp, "f", &o), 0);
	spool_abort(sp);
	assert_int_equal(spool_pending(sp), 0);
	assert_int_equal(spool_offset_get(sp, "f", &g), TS_ENOTFOUND);
	/* the next transaction reuses the seq */
	append_n(sp, 1, 1);
	struct collect c;
	memset(&c, 0, sizeof(c));
	assert_int_equal(spool_read(sp, 1, 0, collect_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.seqs[0], 1);
	spool_close(&sp);
}

static void test_offsets(void **state)
{
	spool_t *sp = NULL;
	struct spool_offset o = { .dev = 7, .ino = 123456789012ULL,
	    .offset = 4096, .head_hash = 0xdeadbeefcafeULL, .head_len = 200,
	    .skip = 1 }, g;

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	assert_int_equal(spool_offset_get(sp, "/var/log/a", &g), TS_ENOTFOUND);
	assert_int_equal(spool_begin(sp), 0);
	assert_int_equal(spool_append(sp, 1, 0, "/var/log/a", 10, "l", 1,
	    NULL), 0);
	assert_int_equal(spool_offset_put(sp, "/var/log/a", &o), 0);
	assert_int_equal(spool_commit(sp), 0);
	spool_close(&sp);

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(spool_offset_get(sp, "/var/log/a", &g), 0);
	assert_int_equal(g.dev, 7);
	assert_int_equal(g.ino, 123456789012ULL);
	assert_int_equal(g.offset, 4096);
	assert_int_equal(g.head_hash, 0xdeadbeefcafeULL);
	assert_int_equal(g.head_len, 200);
	assert_int_equal(g.skip, 1);
	assert_int_equal(spool_pending(sp), 1);
	spool_close(&sp);
}

static void test_new_epoch(void **state)
{
	spool_t *sp = NULL;
	struct spool_info a, b;
	uint64_t freed;

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	append_n(sp, 1, 3);
	spool_get_info(sp, &a);
	assert_int_equal(spool_new_epoch(sp, a.epoch + 100), 0);
	spool_get_info(sp, &b);
	assert_true(b.epoch > a.epoch + 100);
	assert_int_equal(b.next_seq, a.next_seq);	/* events kept */
	assert_int_equal(spool_pending(sp), 3);
	/* ACKs of the old epoch are ignored now */
	assert_int_equal(spool_ack_through(sp, a.epoch, 3, &freed), 0);
	assert_int_equal(freed, 0);
	assert_int_equal(spool_ack_through(sp, b.epoch, 3, &freed), 0);
	assert_int_equal(freed, 3);
	spool_close(&sp);
	assert_int_equal(spool_open(*state, 0, &sp), 0);
	spool_get_info(sp, &a);
	assert_int_equal(a.epoch, b.epoch);
	spool_close(&sp);
}

static void test_cap(void **state)
{
	spool_t *sp = NULL;
	struct spool_info si;
	char line[1000];
	uint64_t seq;
	int n = 0, rc;

	memset(line, 'a', sizeof(line));
	assert_int_equal(spool_open(*state, 10 * 1024, &sp), 0);
	assert_int_equal(spool_begin(sp), 0);
	for (int i = 0; i < 100; i++) {
		rc = spool_append(sp, 1, 0, "f", 1, line, sizeof(line), &seq);
		if (rc == TS_EFULL)
			break;
		assert_int_equal(rc, 0);
		n++;
	}
	assert_true(n >= 9 && n < 11);
	/* the transaction stays usable after TS_EFULL */
	assert_int_equal(spool_commit(sp), 0);
	assert_int_equal(spool_pending(sp), (uint64_t)n);
	spool_get_info(sp, &si);
	assert_true(si.bytes <= 10 * 1024);
	/* full once the next record does not fit */
	assert_int_equal(spool_begin(sp), 0);
	assert_int_equal(spool_append(sp, 1, 0, "f", 1, line, sizeof(line),
	    NULL), TS_EFULL);
	spool_abort(sp);

	/* acks free space */
	assert_int_equal(spool_ack_through(sp, si.epoch, 3, NULL), 0);
	assert_false(spool_is_full(sp));
	assert_int_equal(spool_begin(sp), 0);
	assert_int_equal(spool_append(sp, 1, 0, "f", 1, line, sizeof(line),
	    NULL), 0);
	assert_int_equal(spool_commit(sp), 0);
	spool_close(&sp);
}

static void test_cap_tiny_takes_one(void **state)
{
	spool_t *sp = NULL;
	char line[2000];

	memset(line, 'b', sizeof(line));
	assert_int_equal(spool_open(*state, 100, &sp), 0);
	assert_int_equal(spool_begin(sp), 0);
	/* an empty spool takes one event whatever the cap */
	assert_int_equal(spool_append(sp, 1, 0, "f", 1, line, sizeof(line),
	    NULL), 0);
	assert_int_equal(spool_append(sp, 1, 0, "f", 1, line, sizeof(line),
	    NULL), TS_EFULL);
	assert_int_equal(spool_commit(sp), 0);
	assert_true(spool_is_full(sp));
	spool_close(&sp);
}

struct one {
	size_t	 len;
	uint16_t flags;
	size_t	 n;
};

static int one_cb(const struct spool_event *ev, void *arg)
{
	struct one *o = arg;

	o->len = ev->line_len;
	o->flags = ev->flags;
	o->n++;
	return 0;
}

static void test_long_line_capped(void **state)
{
	spool_t *sp = NULL;
	size_t len = MAX_LINE_BYTES + 10;
	char *line = malloc(len);
	struct one got = { 0, 0, 0 };

	assert_non_null(line);
	memset(line, 'c', len);
	assert_int_equal(spool_open(*state, 0, &sp), 0);
	assert_int_equal(spool_begin(sp), 0);
	assert_int_equal(spool_append(sp, 1, EV_CTRL, "f", 1, line, len, NULL),
	    0);
	assert_int_equal(spool_commit(sp), 0);
	assert_int_equal(spool_read(sp, 1, 0, one_cb, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.len, MAX_LINE_BYTES);
	assert_int_equal(got.flags, EV_TRUNCATED | EV_CTRL);
	spool_close(&sp);
	free(line);
}

/* A deferred ACK is committed with the next transaction (with the lines
 * appended in it), or by spool_ack_flush; it survives a reopen only once
 * committed. */
static void test_ack_deferred(void **state)
{
	spool_t *sp = NULL;
	struct spool_info si;
	struct spool_offset o = { .dev = 1, .ino = 2, .offset = 77 }, g;
	struct collect c;

	assert_int_equal(spool_open(*state, 0, &sp), 0);
	append_n(sp, 1, 6);
	spool_get_info(sp, &si);

	/* another epoch: nothing */
	assert_int_equal(spool_ack_defer(sp, si.epoch + 1, 3), 0);
	spool_get_info(sp, &si);
	assert_int_equal(si.ack_through, 0);

	/* recorded, not yet committed */
	assert_int_equal(spool_ack_defer(sp, si.epoch, 2), 0);
	assert_int_equal(spool_ack_defer(sp, si.epoch, 3), 0);
	assert_int_equal(spool_ack_defer(sp, si.epoch, 1), 0);	/* older */
	spool_get_info(sp, &si);
	assert_int_equal(si.acked, 0);
	assert_int_equal(si.ack_through, 3);
	assert_int_equal(spool_pending(sp), 6);

	/* the next transaction (lines and an offset) commits it too */
	assert_int_equal(spool_begin(sp), 0);
	assert_int_equal(spool_append(sp, 1, 0, "/var/log/x", 10, "line-7", 6,
	    NULL), 0);
	assert_int_equal(spool_offset_put(sp, "/f", &o), 0);
	assert_int_equal(spool_commit(sp), 0);
	spool_get_info(sp, &si);
	assert_int_equal(si.acked, 3);
	assert_int_equal(si.ack_through, 3);
	assert_int_equal(si.next_seq, 8);
	assert_int_equal(spool_pending(sp), 4);
	memset(&c, 0, sizeof(c));
	assert_int_equal(spool_read(sp, 1, 0, collect_cb, &c), 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.seqs[0], 4);
	assert_string_equal(c.lines[3], "line-7");

	/* an aborted transaction keeps it deferred; flush commits it */
	assert_int_equal(spool_ack_defer(sp, si.epoch, 1000), 0);	/* clamped */
	spool_get_info(sp, &si);
	assert_int_equal(si.ack_through, 7);
	assert_int_equal(spool_begin(sp), 0);
	spool_abort(sp);
	spool_get_info(sp, &si);
	assert_int_equal(si.acked, 3);
	assert_int_equal(spool_ack_flush(sp), 0);
	spool_get_info(sp, &si);
	assert_int_equal(si.acked, 7);
	assert_int_equal(si.bytes, 0);
	assert_int_equal(spool_pending(sp), 0);
	assert_int_equal(spool_ack_flush(sp), 0);	/* nothing waits */

	/* a deferred ACK not committed is gone after a reopen (a resend) */
	append_n(sp, 8, 2);
	spool_get_info(sp, &si);
	assert_int_equal(spool_ack_defer(sp, si.epoch, 8), 0);
	spool_close(&sp);
	assert_int_equal(spool_open(*state, 0, &sp), 0);
	spool_get_info(sp, &si);
	assert_int_equal(si.acked, 7);
	assert_int_equal(spool_pending(sp), 2);
	assert_int_equal(spool_offset_get(sp, "/f", &g), 0);
	assert_int_equal(g.offset, 77);

	/* spool_ack_through takes a larger deferred ACK along */
	assert_int_equal(spool_ack_defer(sp, si.epoch, 9), 0);
	assert_int_equal(spool_ack_through(sp, si.epoch, 8, NULL), 0);
	spool_get_info(sp, &si);
	assert_int_equal(si.acked, 9);
	assert_int_equal(spool_pending(sp), 0);
	spool_close(&sp);
}

static int count_cb(const struct spool_event *ev, void *arg)
{
	uint64_t *n = arg;

	(void)ev;
	(*n)++;
	return 0;
}

/* A spool opened with a small map (as on Windows, where the file takes the
 * map's size at once) grows the map as it fills, keeps every event across
 * the growth and a reopen, and the data file stays near what it holds. */
static void test_map_grows(void **state)
{
	spool_t *sp = NULL;
	uint64_t cur, max, grown, n = 0;
	char line[4000];
	struct stat sb;
	char *data;

	memset(line, 'x', sizeof(line));
	assert_int_equal(spool_open_map(*state, 64ULL << 20, 1ULL << 20, &sp),
	    0);
	spool_map_info(sp, &cur, &max, &grown);
	assert_true(cur < 16ULL << 20);	/* the start plus headroom */
	assert_true(max >= 64ULL << 20);
	/* 40 MB in transactions of 1 MB each */
	for (int t = 0; t < 40; t++) {
		assert_int_equal(spool_begin(sp), 0);
		for (int i = 0; i < 256; i++)
			assert_int_equal(spool_append(sp, 1, 0, "/var/log/x",
			    10, line, sizeof(line), NULL), 0);
		assert_int_equal(spool_commit(sp), 0);
	}
	spool_map_info(sp, &cur, &max, &grown);
	assert_true(grown >= 3);
	assert_true(cur > 40ULL << 20 && cur <= max);
	assert_int_equal(spool_read(sp, 1, 100000, count_cb, &n), 0);
	assert_int_equal(n, 40 * 256);
	spool_close(&sp);
	/* reopened small, the map is the file's size at least */
	assert_int_equal(spool_open_map(*state, 64ULL << 20, 1ULL << 20, &sp),
	    0);
	spool_map_info(sp, &cur, &max, &grown);
	assert_true(cur > 40ULL << 20);
	n = 0;
	assert_int_equal(spool_read(sp, 1, 100000, count_cb, &n), 0);
	assert_int_equal(n, 40 * 256);
	spool_close(&sp);
	data = xasprintf("%s/data.mdb", (char *)*state);
	assert_non_null(data);
	assert_int_equal(stat(data, &sb), 0);
	assert_true((uint64_t)sb.st_size <= cur);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_read_ack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_deferred, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_nothing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_tiny_takes_one, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_line_capped, setup,
		    teardown),
	};

	log_init("test_spool", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
