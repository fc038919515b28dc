/*
 * test_journal.c - the journal: effectively-once appends, scans, persistence,
 * a full map, and the event record decoder against malformed records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "collector/collector_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/stats.h"
#include "common/util.h"
#include "common/wire.h"

/* Events per test batch array. */
#define TEST_MAX_EVENTS	16

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tocsin-tj-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
jdir(void)
{
	static char p[128];

	snprintf(p, sizeof(p), "%s/journal", tmpdir);
	return p;
}

/* Fill n agent events whose raw text names their seq. */
static char lines[TEST_MAX_EVENTS][64];
static void
make_events(struct jevent *ev, size_t n, uint64_t first_seq)
{
	assert_true(n <= TEST_MAX_EVENTS);
	memset(ev, 0, n * sizeof(*ev));
	for (size_t i = 0; i < n; i++) {
		snprintf(lines[i], sizeof(lines[i]), "line %llu",
		    (unsigned long long)(first_seq + i));
		ev[i].source = JSRC_AGENT;
		ev[i].time_us = 1000 + first_seq + i;
		ev[i].host = "web01";
		ev[i].host_len = 5;
		ev[i].file = "/var/log/auth.log";
		ev[i].file_len = strlen(ev[i].file);
		ev[i].raw = lines[i];
		ev[i].raw_len = strlen(lines[i]);
	}
}

static int
append(journal_t *j, uint64_t epoch, uint64_t first, size_t n, size_t *dups,
    uint64_t *hwe, uint64_t *hws, uint64_t *gap)
{
	struct jevent ev[TEST_MAX_EVENTS];

	make_events(ev, n, first);
	return journal_append_batch_gap(j, "web01", epoch, first, ev, n, NULL,
	    0, dups, hwe, hws, gap);
}

static uint64_t
last_seq(journal_t *j)
{
	uint64_t s = 99;

	assert_int_equal(journal_last_seq(j, &s), 0);
	return s;
}

static void
test_append_dups_epochs_gaps(void **state)
{
	journal_t *j = NULL;
	size_t dups;
	uint64_t e, s, gap;
	struct jagent a;

	(void)state;
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	assert_int_equal(last_seq(j), 0);

	/* First batch: all new. */
	assert_int_equal(append(j, 1, 1, 3, &dups, &e, &s, &gap), 0);
	assert_int_equal(dups, 0);
	assert_int_equal(e, 1);
	assert_int_equal(s, 3);
	assert_int_equal(gap, 0);
	assert_int_equal(last_seq(j), 3);

	/* Same batch again (lost ACK): all duplicates, nothing appended. */
	assert_int_equal(append(j, 1, 1, 3, &dups, &e, &s, &gap), 0);
	assert_int_equal(dups, 3);
	assert_int_equal(s, 3);
	assert_int_equal(last_seq(j), 3);

	/* Overlap: 2..5, of which 2 and 3 are known. */
	assert_int_equal(append(j, 1, 2, 4, &dups, &e, &s, &gap), 0);
	assert_int_equal(dups, 2);
	assert_int_equal(s, 5);
	assert_int_equal(last_seq(j), 5);

	/* Older epoch: skipped whole. */
	assert_int_equal(append(j, 0, 100, 2, &dups, &e, &s, &gap), 0);
	assert_int_equal(dups, 2);
	assert_int_equal(e, 1);
	assert_int_equal(s, 5);
	assert_int_equal(last_seq(j), 5);

	/* Gap within the epoch: accepted, reported. */
	assert_int_equal(append(j, 1, 9, 2, &dups, &e, &s, &gap), 0);
	assert_int_equal(dups, 0);
	assert_int_equal(gap, 3);
	assert_int_equal(s, 10);
	assert_int_equal(last_seq(j), 7);

	/* New epoch restarts at 1. */
	assert_int_equal(append(j, 2, 1, 1, &dups, &e, &s, &gap), 0);
	assert_int_equal(dups, 0);
	assert_int_equal(gap, 0);
	assert_int_equal(e, 2);
	assert_int_equal(s, 1);
	assert_int_equal(last_seq(j), 8);

	/* The old epoch is now entirely duplicate. */
	assert_int_equal(append(j, 1, 11, 2, &dups, &e, &s, &gap), 0);
	assert_int_equal(dups, 2);
	assert_int_equal(e, 2);

	assert_int_equal(journal_agent_get(j, "web01", &a), 0);
	assert_int_equal(a.epoch, 2);
	assert_int_equal(a.seq, 1);
	assert_int_equal(a.events, 8);
	assert_string_equal(a.host, "web01");
	assert_int_equal(journal_agent_get(j, "nobody", &a), TS_ENOTFOUND);

	/* Bad arguments. */
	assert_int_equal(append(j, 1, 0, 1, &dups, &e, &s, &gap), TS_EINVAL);
	journal_close(&j);
	assert_null(j);
	journal_close(&j);	/* accepts NULL */
}

struct collect {
	uint64_t	jseq[64];
	char		raw[64][32];
	size_t		n;
	size_t		stop_after;	/* 0: never */
};

static int
collect_cb(const struct jevent *ev, void *arg)
{
	struct collect *c = arg;

	assert_true(c->n < 64);
	c->jseq[c->n] = ev->jseq;
	snprintf(c->raw[c->n], sizeof(c->raw[0]), "%.*s", (int)ev->raw_len,
	    ev->raw);
	c->n++;
	return c->stop_after && c->n >= c->stop_after ? 1 : 0;
}

static int
abort_cb(const struct jevent *ev, void *arg)
{
	(void)ev;
	(void)arg;
	return TS_EIO;
}

static void
test_scan_reopen(void **state)
{
	journal_t *j = NULL;
	struct collect c;
	uint64_t last = 0, e, s;
	size_t dups;
	struct jagent a;
	struct jevent pl;

	(void)state;
	assert_int_equal(journal_open(jdir(), JOURNAL_RDONLY, 0, &j),
	    TS_ENOTFOUND);
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	assert_int_equal(append(j, 1, 1, 5, &dups, &e, &s, NULL), 0);
	memset(&pl, 0, sizeof(pl));
	pl.source = JSRC_SYSLOG_UDP;
	pl.host = "fw1";
	pl.host_len = 3;
	pl.file = "udp:127.0.0.1:5514";
	pl.file_len = strlen(pl.file);
	pl.raw = "<13>Jan  1 00:00:00 fw1 x: y";
	pl.raw_len = strlen(pl.raw);
	assert_int_equal(journal_append_plain(j, &pl, 1, NULL, 0), 0);
	assert_int_equal(pl.jseq, 6);
	journal_close(&j);

	/* Reopen read-only: everything persisted. */
	assert_int_equal(journal_open(jdir(), JOURNAL_RDONLY, 0, &j), 0);
	assert_int_equal(last_seq(j), 6);
	assert_int_equal(journal_agent_get(j, "web01", &a), 0);
	assert_int_equal(a.seq, 5);

	memset(&c, 0, sizeof(c));
	assert_int_equal(journal_scan(j, 1, 0, collect_cb, &c, &last), 0);
	assert_int_equal(c.n, 6);
	assert_int_equal(last, 6);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(c.jseq[i], i + 1);
	assert_string_equal(c.raw[0], "line 1");
	assert_string_equal(c.raw[5], "<13>Jan  1 00:00:00 fw1 x: y");

	memset(&c, 0, sizeof(c));
	assert_int_equal(journal_scan(j, 3, 2, collect_cb, &c, &last), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.jseq[0], 3);
	assert_int_equal(last, 4);

	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	assert_int_equal(journal_scan(j, 2, 0, collect_cb, &c, NULL), 0);
	assert_int_equal(c.n, 1);

	memset(&c, 0, sizeof(c));
	assert_int_equal(journal_scan(j, 7, 0, collect_cb, &c, NULL), 0);
	assert_int_equal(c.n, 0);

	assert_int_equal(journal_scan(j, 1, 0, abort_cb, NULL, NULL), TS_EIO);

	memset(&c, 0, sizeof(c));
	assert_int_equal(journal_scan_reverse(j, 0, 0, collect_cb, &c), 0);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.jseq[0], 6);
	assert_int_equal(c.jseq[5], 1);

	memset(&c, 0, sizeof(c));
	assert_int_equal(journal_scan_reverse(j, 4, 2, collect_cb, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.jseq[0], 4);
	assert_int_equal(c.jseq[1], 3);

	memset(&c, 0, sizeof(c));
	assert_int_equal(journal_scan_reverse(j, 1000, 1, collect_cb, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.jseq[0], 6);

	/* Readers cannot write. */
	assert_int_equal(journal_append_plain(j, &pl, 1, NULL, 0), TS_EINVAL);
	journal_close(&j);
}

struct seen {
	int	found;
	uint64_t value;
};

static int
stat_cb(const char *name, uint64_t value, void *arg)
{
	struct seen *s = arg;

	if (strcmp(name, "collector.test_count") == 0) {
		s->found = 1;
		s->value = value;
	}
	return 0;
}

static void
test_stats_touch(void **state)
{
	journal_t *j = NULL;
	struct counter c[] = {
		{ "collector.test_count", 42, "a test counter" },
	};
	struct seen s = { 0, 0 };
	struct jagent a, got;
	size_t dups;
	uint64_t e, sq;

	(void)state;
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	assert_int_equal(journal_stats_write(j, c, 1), 0);
	assert_int_equal(journal_stats_foreach(j, stat_cb, &s), 0);
	assert_true(s.found);
	assert_int_equal(s.value, 42);

	assert_int_equal(append(j, 3, 1, 4, &dups, &e, &sq, NULL), 0);
	/* A touch never moves the high-water mark. */
	memset(&a, 0, sizeof(a));
	a.epoch = 99;
	a.seq = 99;
	a.spooled = 17;
	a.hb_flags = HB_SPOOL_FULL;
	a.last_seen_us = 5;
	strcpy(a.version, "0.1.0");
	assert_int_equal(journal_agent_touch(j, "web01", &a, c, 1), 0);
	assert_int_equal(journal_agent_get(j, "web01", &got), 0);
	assert_int_equal(got.epoch, 3);
	assert_int_equal(got.seq, 4);
	assert_int_equal(got.spooled, 17);
	assert_int_equal(got.hb_flags, HB_SPOOL_FULL);
	assert_string_equal(got.version, "0.1.0");
	assert_string_equal(got.host, "web01");
	assert_false(got.has_ctrs);

	/* The agent's counters: kept as reported, replaced by the next
	 * heartbeat that has them, kept by a touch without them. */
	memset(&a, 0, sizeof(a));
	a.has_ctrs = 1;
	a.nctrs = MAX_HB_COUNTERS;
	for (size_t i = 0; i < MAX_HB_COUNTERS; i++) {
		memset(a.ctrs[i].name, 'n', MAX_COUNTER_NAME_BYTES);
		a.ctrs[i].name[0] = (char)('A' + i);
		a.ctrs[i].value = UINT64_MAX - i;
	}
	assert_int_equal(journal_agent_touch(j, "web01", &a, NULL, 0), 0);
	assert_int_equal(journal_agent_get(j, "web01", &got), 0);
	assert_true(got.has_ctrs);
	assert_int_equal(got.nctrs, MAX_HB_COUNTERS);
	for (size_t i = 0; i < MAX_HB_COUNTERS; i++) {
		assert_string_equal(got.ctrs[i].name, a.ctrs[i].name);
		assert_true(got.ctrs[i].value == UINT64_MAX - i);
	}
	assert_string_equal(got.version, "0.1.0");	/* kept */
	a.nctrs = 1;
	strcpy(a.ctrs[0].name, "agent.lines_truncated");
	a.ctrs[0].value = 2;
	assert_int_equal(journal_agent_touch(j, "web01", &a, NULL, 0), 0);
	memset(&a, 0, sizeof(a));	/* a HELLO: no counters */
	assert_int_equal(journal_agent_touch(j, "web01", &a, NULL, 0), 0);
	assert_int_equal(journal_agent_get(j, "web01", &got), 0);
	assert_true(got.has_ctrs);
	assert_int_equal(got.nctrs, 1);
	assert_string_equal(got.ctrs[0].name, "agent.lines_truncated");
	assert_true(got.ctrs[0].value == 2);
	journal_close(&j);
}

/* A map too small for the batch: TS_EFULL, nothing written; after growth
 * the same batch goes in. */
static void
test_map_full(void **state)
{
	journal_t *j = NULL;
	struct jevent ev[TEST_MAX_EVENTS];
	char *big;
	size_t dups = 7;
	uint64_t e = 0, s = 0, before, grown = 0;
	int rc = 0, i;
	struct jagent a;

	(void)state;
	big = malloc(MAX_LINE_BYTES);
	assert_non_null(big);
	memset(big, 'x', MAX_LINE_BYTES);
	assert_int_equal(journal_open(jdir(), 0, 256 * 1024, &j), 0);
	/* Fill with single events until the map is full (bounded loop). */
	for (i = 0; i < 64; i++) {
		make_events(ev, 1, (uint64_t)i + 1);
		ev[0].raw = big;
		ev[0].raw_len = MAX_LINE_BYTES;
		rc = journal_append_batch(j, "web01", 1, (uint64_t)i + 1, ev, 1,
		    NULL, 0, &dups, &e, &s);
		if (rc != 0)
			break;
	}
	assert_int_equal(rc, TS_EFULL);
	before = last_seq(j);
	assert_int_equal(before, (uint64_t)i);
	assert_int_equal(journal_agent_get(j, "web01", &a), 0);
	assert_int_equal(a.seq, (uint64_t)i);

	/* A whole multi-event batch fails as one. */
	make_events(ev, 4, (uint64_t)i + 1);
	for (int k = 0; k < 4; k++) {
		ev[k].raw = big;
		ev[k].raw_len = MAX_LINE_BYTES;
	}
	assert_int_equal(journal_append_batch(j, "web01", 1, (uint64_t)i + 1,
	    ev, 4, NULL, 0, &dups, &e, &s), TS_EFULL);
	assert_int_equal(last_seq(j), before);
	assert_int_equal(journal_agent_get(j, "web01", &a), 0);
	assert_int_equal(a.seq, (uint64_t)i);

	/* A resent batch is still recognised (nothing to write). */
	make_events(ev, 1, (uint64_t)i);
	assert_int_equal(journal_append_batch(j, "web01", 1, (uint64_t)i,
	    ev, 1, NULL, 0, &dups, &e, &s), 0);
	assert_int_equal(dups, 1);
	assert_int_equal(s, (uint64_t)i);
	assert_int_equal(last_seq(j), before);

	/* Room is kept to record the refusal. */
	{
		struct counter c = { "collector.journal_full", 1, "" };

		assert_int_equal(journal_stats_write(j, &c, 1), 0);
		memset(&a, 0, sizeof(a));
		a.spooled = 9;
		assert_int_equal(journal_agent_touch(j, "web01", &a, &c, 1), 0);
	}

	/* Growth is capped. */
	assert_int_equal(journal_map_grow(j, 256 * 1024, &grown), TS_EFULL);
	assert_int_equal(journal_map_grow(j, 16 * 1024 * 1024, &grown), 0);
	assert_int_equal(grown, 512 * 1024);
	assert_int_equal(journal_map_grow(j, 16 * 1024 * 1024, &grown), 0);
	assert_int_equal(journal_map_grow(j, 16 * 1024 * 1024, &grown), 0);
	assert_int_equal(grown, 2 * 1024 * 1024);
	assert_int_equal(journal_append_batch(j, "web01", 1, (uint64_t)i + 1,
	    ev, 4, NULL, 0, &dups, &e, &s), 0);
	assert_int_equal(dups, 0);
	assert_int_equal(s, (uint64_t)i + 4);
	assert_int_equal(last_seq(j), before + 4);
	journal_close(&j);
	free(big);
}

/* Encode one valid record into buf; returns its size. */
static size_t
valid_record(unsigned char *buf, size_t cap)
{
	struct jevent ev;
	size_t n;

	memset(&ev, 0, sizeof(ev));
	ev.source = JSRC_AGENT;
	ev.flags = EV_TRUNCATED;
	ev.recv_us = 11;
	ev.time_us = 12;
	ev.epoch = 13;
	ev.seq = 14;
	ev.agent = "web01";	ev.agent_len = 5;
	ev.host = "h";		ev.host_len = 1;
	ev.file = "/f";		ev.file_len = 2;
	ev.drill = "";		ev.drill_len = 0;
	ev.raw = "hello";	ev.raw_len = 5;
	n = journal_record_size(&ev);
	assert_true(n <= cap);
	journal_record_encode(&ev, buf);
	return n;
}

static void
test_record_roundtrip(void **state)
{
	unsigned char buf[256];
	struct jevent ev;
	size_t n;

	(void)state;
	n = valid_record(buf, sizeof(buf));
	assert_int_equal(n, 48 + 5 + 1 + 2 + 0 + 5);
	assert_int_equal(journal_record_decode(buf, n, &ev), 0);
	assert_int_equal(ev.source, JSRC_AGENT);
	assert_int_equal(ev.flags, EV_TRUNCATED);
	assert_int_equal(ev.recv_us, 11);
	assert_int_equal(ev.time_us, 12);
	assert_int_equal(ev.epoch, 13);
	assert_int_equal(ev.seq, 14);
	assert_memory_equal(ev.agent, "web01", 5);
	assert_memory_equal(ev.host, "h", 1);
	assert_memory_equal(ev.file, "/f", 2);
	assert_int_equal(ev.drill_len, 0);
	assert_memory_equal(ev.raw, "hello", 5);
}

/* Malformed records: each mutates a valid one at an offset. */
struct bad_record {
	const char	*what;
	size_t		 off;		/* byte to overwrite (SIZE_MAX: none) */
	unsigned char	 val[4];
	size_t		 vlen;
	long		 len_delta;	/* change to the length given */
};

static const struct bad_record bad_records[] = {
	{ "empty",		SIZE_MAX, {0},		0, -61 },
	{ "fixed part short",	SIZE_MAX, {0},		0, -14 },
	{ "one byte short",	SIZE_MAX, {0},		0, -1 },
	{ "one byte long",	SIZE_MAX, {0},		0, +1 },
	{ "format 0",		0,  {0},		1, 0 },
	{ "format 2",		0,  {2},		1, 0 },
	{ "source 0",		1,  {0},		1, 0 },
	{ "source 99",		1,  {99},		1, 0 },
	{ "agent_len +1",	36, {0, 6},		2, 0 },
	{ "agent_len huge",	36, {0xff, 0xff},	2, 0 },
	{ "host_len huge",	38, {0x7f, 0xff},	2, 0 },
	{ "file_len past max",	40, {0x04, 0x01},	2, 0 },
	{ "drill_len 1",	42, {0, 1},		2, 0 },
	{ "raw_len 0",		44, {0, 0, 0, 0},	4, 0 },
	{ "raw_len 4G",		44, {0xff, 0xff, 0xff, 0xff}, 4, 0 },
	{ "raw_len past max",	44, {0, 1, 0, 1},	4, 0 },
};

static void
test_record_malformed(void **state)
{
	unsigned char buf[256], copy[256];
	struct jevent ev;
	size_t n, len;

	(void)state;
	n = valid_record(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(bad_records) / sizeof(bad_records[0]);
	    i++) {
		const struct bad_record *b = &bad_records[i];

		memcpy(copy, buf, sizeof(copy));
		if (b->off != SIZE_MAX)
			memcpy(copy + b->off, b->val, b->vlen);
		len = (size_t)((long)n + b->len_delta);
		if (journal_record_decode(copy, len, &ev) != TS_EINVAL)
			fail_msg("record '%s' was accepted", b->what);
	}
	assert_int_equal(journal_record_decode(NULL, 0, &ev), TS_EINVAL);
}

/* Group commit: two batches of one agent (the second overlapping the
 * first) and internal events in ONE transaction are judged exactly as if
 * committed apart; an aborted transaction leaves nothing. */
static void
test_txn_group(void **state)
{
	journal_t *j = NULL;
	journal_txn_t *t = NULL;
	struct jevent a[TEST_MAX_EVENTS], b[TEST_MAX_EVENTS], in;
	struct jbatch_result r1, r2;
	struct jagent got;
	struct counter c[] = { { "collector.test_group", 7, "x" } };
	static char la[4][64], lb[4][64];

	(void)state;
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	make_events(a, 4, 1);		/* seqs 1..4 */
	for (int i = 0; i < 4; i++) {
		strcpy(la[i], lines[i]);
		a[i].raw = la[i];
	}
	make_events(b, 4, 3);		/* seqs 3..6: 3 and 4 are dups */
	for (int i = 0; i < 4; i++) {
		strcpy(lb[i], lines[i]);
		b[i].raw = lb[i];
	}
	memset(&in, 0, sizeof(in));
	in.source = JSRC_INTERNAL;
	in.agent = "";
	in.host = "soc";
	in.host_len = 3;
	in.file = "tocsind";
	in.file_len = 7;
	in.drill = "";
	in.raw = "2026-01-01T00:00:00.000Z soc tocsin[1]: journal accepting again";
	in.raw_len = strlen(in.raw);

	/* Only one write transaction at a time. */
	assert_int_equal(journal_txn_begin(j, &t), 0);
	{
		journal_txn_t *t2 = NULL;
		assert_int_equal(journal_txn_begin(j, &t2), TS_EINVAL);
		assert_null(t2);
	}
	assert_int_equal(journal_txn_batch(t, "web01", 1, 1, a, 4, &r1), 0);
	assert_int_equal(journal_txn_batch(t, "web01", 1, 3, b, 4, &r2), 0);
	assert_int_equal(journal_txn_plain(t, &in, 1, 1), 0);
	assert_int_equal(journal_txn_commit(&t, c, 1), 0);
	assert_null(t);
	assert_int_equal(r1.dups, 0);
	assert_true(r1.hw_epoch == 1 && r1.hw_seq == 4);
	assert_int_equal(r2.dups, 2);
	assert_true(r2.gap == 0 && r2.hw_seq == 6);
	assert_true(r2.before.seq == 4);	/* saw the first batch */
	assert_true(last_seq(j) == 7);		/* 4 + 2 new + 1 internal */
	assert_int_equal(journal_agent_get(j, "web01", &got), 0);
	assert_true(got.seq == 6 && got.events == 6);

	/* Abort: nothing of it lands. */
	make_events(a, 2, 7);
	assert_int_equal(journal_txn_begin(j, &t), 0);
	assert_int_equal(journal_txn_batch(t, "web01", 1, 7, a, 2, &r1), 0);
	journal_txn_abort(&t);
	assert_null(t);
	assert_true(last_seq(j) == 7);
	assert_int_equal(journal_agent_get(j, "web01", &got), 0);
	assert_true(got.seq == 6);
	journal_close(&j);
}

static int
find_internal_cb(const struct jevent *ev, void *arg)
{
	int *n = arg;

	if (ev->source == JSRC_INTERNAL && ev->file_len == 7 &&
	    memcmp(ev->file, "tocsind", 7) == 0)
		(*n)++;
	return 0;
}

/* Health flags live in the agent record, survive touches and reopen, and
 * records without them (older format) still decode. */
static void
test_agent_health(void **state)
{
	journal_t *j = NULL;
	journal_txn_t *t = NULL;
	struct jagent a, got, before;
	size_t dups;
	uint64_t e, sq;

	(void)state;
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	assert_int_equal(journal_txn_begin(j, &t), 0);
	assert_int_equal(journal_txn_agent_health(t, "nobody", JAGENT_SILENT,
	    0, NULL), TS_ENOTFOUND);
	journal_txn_abort(&t);
	assert_int_equal(append(j, 1, 1, 2, &dups, &e, &sq, NULL), 0);
	assert_int_equal(journal_txn_begin(j, &t), 0);
	assert_int_equal(journal_txn_agent_health(t, "web01", JAGENT_SILENT,
	    0, &before), 0);
	assert_true(before.health == 0);
	assert_int_equal(journal_txn_commit(&t, NULL, 0), 0);
	memset(&a, 0, sizeof(a));
	a.last_seen_us = 5;
	assert_int_equal(journal_agent_touch(j, "web01", &a, NULL, 0), 0);
	journal_close(&j);
	assert_int_equal(journal_open(jdir(), JOURNAL_RDONLY, 0, &j), 0);
	assert_int_equal(journal_agent_get(j, "web01", &got), 0);
	assert_true(got.health == JAGENT_SILENT);
	assert_true(got.seq == 2);
	journal_close(&j);
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	assert_int_equal(journal_txn_begin(j, &t), 0);
	assert_int_equal(journal_txn_agent_health(t, "web01", 0, JAGENT_SILENT,
	    &before), 0);
	assert_true(before.health == JAGENT_SILENT);
	assert_int_equal(journal_txn_commit(&t, NULL, 0), 0);
	assert_int_equal(journal_agent_get(j, "web01", &got), 0);
	assert_true(got.health == 0);
	journal_close(&j);
}

/* Internal events: the fixed line format, the queue bound, the durations,
 * the threshold ladder; journaled with the reserve. */
static void
test_internal(void **state)
{
	internal_t *in;
	journal_t *j = NULL;
	journal_txn_t *t = NULL;
	char d[32];
	int n = 0;

	(void)state;
	internal_duration(45ULL * 1000000, d, sizeof(d));
	assert_string_equal(d, "45s");
	internal_duration(600ULL * 1000000, d, sizeof(d));
	assert_string_equal(d, "10m");
	internal_duration(90ULL * 1000000, d, sizeof(d));
	assert_string_equal(d, "1m30s");
	internal_duration((2 * 3600 + 3 * 60 + 9) * 1000000ULL, d, sizeof(d));
	assert_string_equal(d, "2h3m");
	internal_duration((86400 + 4 * 3600) * 1000000ULL, d, sizeof(d));
	assert_string_equal(d, "1d4h");
	assert_true(internal_next_threshold(0) == 1);
	assert_true(internal_next_threshold(1) == 10);
	assert_true(internal_next_threshold(9) == 10);
	assert_true(internal_next_threshold(10) == 100);
	assert_true(internal_next_threshold(UINT64_MAX) == UINT64_MAX);

	in = internal_open("soc1", 4242);
	assert_non_null(in);
	assert_int_equal(internal_add(in, 1769385605000000ULL,
	    "agent %s spool no longer full", "web01"), 0);
	assert_int_equal(internal_pending(in), 1);
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	assert_int_equal(journal_txn_begin(j, &t), 0);
	assert_int_equal(internal_journal(in, t), 0);
	assert_int_equal(journal_txn_commit(&t, NULL, 0), 0);
	internal_clear(in);
	assert_int_equal(internal_pending(in), 0);
	assert_int_equal(journal_scan(j, 1, 0, find_internal_cb, &n, NULL), 0);
	assert_int_equal(n, 1);
	for (int i = 0; i < MAX_INTERNAL_PENDING; i++)
		assert_int_equal(internal_add(in, 1, "x %d", i), 0);
	assert_int_equal(internal_add(in, 1, "one too many"), TS_EFULL);
	internal_truncate(in, 3);
	assert_int_equal(internal_pending(in), 3);
	internal_free(&in);
	assert_null(in);
	internal_free(&in);
	journal_close(&j);
}

static int
raw_cb(const struct jevent *ev, void *arg)
{
	char *out = arg;

	if (ev->source == JSRC_INTERNAL) {
		memcpy(out, ev->raw, ev->raw_len < 255 ? ev->raw_len : 255);
		out[ev->raw_len < 255 ? ev->raw_len : 255] = '\0';
		if (ev->host_len != 4 || memcmp(ev->host, "soc1", 4) != 0 ||
		    ev->agent_len != 0)
			out[0] = '!';
	}
	return 0;
}

static void
test_internal_line(void **state)
{
	internal_t *in = internal_open("soc1", 4242);
	journal_t *j = NULL;
	journal_txn_t *t = NULL;
	char raw[256] = "";

	(void)state;
	assert_non_null(in);
	/* 2026-01-26T00:00:05Z */
	assert_int_equal(internal_add(in, 1769385605000000ULL,
	    "counter %s reached %d (threshold %d)", "collector.x", 12, 10), 0);
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	assert_int_equal(journal_txn_begin(j, &t), 0);
	assert_int_equal(internal_journal(in, t), 0);
	assert_int_equal(journal_txn_commit(&t, NULL, 0), 0);
	assert_int_equal(journal_scan(j, 1, 0, raw_cb, raw, NULL), 0);
	assert_string_equal(raw, "2026-01-26T00:00:05.000Z soc1 tocsin[4242]: "
	    "counter collector.x reached 12 (threshold 10)");
	internal_free(&in);
	journal_close(&j);
}

/* Retention deletes by receive time from the oldest, never past `through`
 * (the engine's cursor), never the newest event (so the next jseq never
 * goes back), in batches of at most max, and keeps the agents' records. */
static void
test_retain(void **state)
{
	journal_t *j;
	struct jevent ev;
	struct journal_span sp;
	struct jagent a;
	size_t n;
	int more;
	(void)state;

	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	for (uint64_t i = 1; i <= 10; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.source = JSRC_SYSLOG_UDP;
		ev.recv_us = i * 1000;	/* received at i ms */
		ev.raw = "x";
		ev.raw_len = 1;
		assert_int_equal(journal_append_plain(j, &ev, 1, NULL, 0), 0);
		assert_true(ev.jseq == i);
	}
	/* events 1..4 are older than 4.5 ms, but the engine is at 2 */
	assert_int_equal(journal_retain(j, 4500, 2, 100, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_false(more);
	assert_int_equal(journal_span(j, &sp), 0);
	assert_true(sp.first_jseq == 3 && sp.events == 8);
	/* the engine caught up: 3 and 4 go, one per transaction */
	assert_int_equal(journal_retain(j, 4500, 10, 1, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_true(more);
	assert_int_equal(journal_retain(j, 4500, 10, 1, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_int_equal(journal_retain(j, 4500, 10, 1, &n, &more), 0);
	assert_int_equal(n, 0);
	assert_false(more);
	/* everything is old: all but the newest */
	assert_int_equal(journal_retain(j, UINT64_MAX, UINT64_MAX, 100, &n,
	    &more), 0);
	assert_int_equal(n, 5);
	assert_int_equal(journal_span(j, &sp), 0);
	assert_true(sp.first_jseq == 10 && sp.last_jseq == 10 &&
	    sp.events == 1 && sp.first_recv_us == 10000);
	/* the next event follows the newest, never restarts at 1 */
	memset(&ev, 0, sizeof(ev));
	ev.source = JSRC_SYSLOG_UDP;
	ev.raw = "y";
	ev.raw_len = 1;
	assert_int_equal(journal_append_plain(j, &ev, 1, NULL, 0), 0);
	assert_true(ev.jseq == 11);
	journal_close(&j);

	/* an agent's high-water mark outlives its events */
	assert_int_equal(journal_open(jdir(), 0, 0, &j), 0);
	{
		size_t dups;
		uint64_t e, s;

		assert_int_equal(append(j, 7, 1, 3, &dups, &e, &s, NULL), 0);
		assert_int_equal(journal_retain(j, UINT64_MAX, UINT64_MAX, 100,
		    &n, &more), 0);
		assert_int_equal(journal_agent_get(j, "web01", &a), 0);
		assert_true(a.epoch == 7 && a.seq == 3);
		assert_int_equal(append(j, 7, 1, 3, &dups, &e, &s, NULL), 0);
		assert_int_equal(dups, 3);	/* a resend stays a duplicate */
	}
	journal_close(&j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_dups_epochs_gaps,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_scan_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stats_touch, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_health, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_internal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_internal_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retain, setup, teardown),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_malformed),
	};

	log_init("test_journal", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
