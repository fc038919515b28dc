/*
 * test_state.c - the engine's LMDB state: alerts and their indexes, the
 * cursor, counters, queries, persistence across reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/err.h"
#include "common/stats.h"
#include "common/util.h"
#include "engine/state.h"

struct fixture {
	char	 dir[64];
	char	 sdir[96];
};

static int
setup(void **st)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/tocsin-test-state-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sdir, sizeof(f->sdir), "%s/state", f->dir);
	*st = f;
	return 0;
}

static int
teardown(void **st)
{
	struct fixture	*f = *st;
	char		 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Collected query output: the "id" of each alert, in order. */
struct got {
	uint64_t	ids[64];
	size_t		n;
};

static int
collect_cb(const char *json, size_t len, void *arg)
{
	struct got	*g = arg;
	json_t		*root = json_loadb(json, len, 0, NULL);

	assert_non_null(root);
	assert_true(g->n < 64);
	assert_true(json_is_integer(json_object_get(root, "id")));
	g->ids[g->n++] = (uint64_t)json_integer_value(
	    json_object_get(root, "id"));
	json_decref(root);
	return 0;
}

static void
query(state_t *s, const struct alert_query *q, struct got *g)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(state_alerts_query(s, q, collect_cb, g), 0);
}

static void
assert_ids(const struct got *g, size_t n, ...)
{
	va_list ap;

	assert_int_equal(g->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(g->ids[i], va_arg(ap, int));
	va_end(ap);
}

/* Add one alert as the engine would; returns its id. */
static uint64_t
add(state_txn_t *t, uint64_t time_us, int level, const char *host,
    const char *rule)
{
	char		buf[2048];
	uint64_t	id = 0;
	int		n;

	n = snprintf(buf, sizeof(buf), "{\"time_us\":%llu,\"level\":%d,"
	    "\"rule\":{\"id\":\"%s\"},\"host\":\"%s\"}",
	    (unsigned long long)time_us, level, rule, host);
	assert_int_equal(state_txn_add_alert(t, time_us, level, host, rule,
	    buf, (size_t)n, &id), 0);
	return id;
}

/*
 * Alerts used by the query tests (id: time, level, host, rule):
 *   1: 100 3 web01 r.ssh     2: 200 10 web02 r.ssh   3: 300 5 web01 r.web
 *   4: 300 12 db01 r.ssh     5: 400 3 web01 r.ssh    6: 50 15 web02 r.web
 */
static state_t *
open_filled(struct fixture *f)
{
	state_t		*s;
	state_txn_t	*t;

	assert_int_equal(state_open(f->sdir, 0, 1 << 20, &s), 0);
	assert_int_equal(state_begin(s, &t), 0);
	assert_int_equal(add(t, 100, 3, "web01", "r.ssh"), 1);
	assert_int_equal(add(t, 200, 10, "web02", "r.ssh"), 2);
	assert_int_equal(add(t, 300, 5, "web01", "r.web"), 3);
	assert_int_equal(state_txn_set_cursor(t, 7), 0);
	assert_int_equal(state_commit(&t), 0);
	assert_null(t);
	assert_int_equal(state_begin(s, &t), 0);
	assert_int_equal(add(t, 300, 12, "db01", "r.ssh"), 4);
	assert_int_equal(add(t, 400, 3, "web01", "r.ssh"), 5);
	assert_int_equal(add(t, 50, 15, "web02", "r.web"), 6);
	assert_int_equal(state_txn_set_cursor(t, 9), 0);
	assert_int_equal(state_commit(&t), 0);
	return s;
}

static void
test_cursor_and_abort(void **st)
{
	struct fixture	*f = *st;
	state_t		*s;
	state_txn_t	*t;
	uint64_t	 c, n;

	assert_int_equal(state_open(f->sdir, 0, 0, &s), 0);
	assert_int_equal(state_cursor_get(s, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(state_alert_count(s, &n), 0);
	assert_int_equal(n, 0);

	/* An aborted transaction leaves nothing behind. */
	assert_int_equal(state_begin(s, &t), 0);
	assert_int_equal(add(t, 1, 1, "h", "r"), 1);
	assert_int_equal(state_txn_set_cursor(t, 42), 0);
	state_abort(&t);
	assert_null(t);
	assert_int_equal(state_cursor_get(s, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(state_alert_count(s, &n), 0);
	assert_int_equal(n, 0);

	/* The id the aborted alert had is given again. */
	assert_int_equal(state_begin(s, &t), 0);
	assert_int_equal(add(t, 1, 1, "h", "r"), 1);
	assert_int_equal(state_txn_set_cursor(t, 42), 0);
	assert_int_equal(state_commit(&t), 0);
	assert_int_equal(state_cursor_get(s, &c), 0);
	assert_int_equal(c, 42);
	assert_int_equal(state_alert_count(s, &n), 0);
	assert_int_equal(n, 1);
	state_close(&s);
	assert_null(s);
	state_close(&s);	/* NULL is fine */
}

/* The stored text is {"id":N, then the given object's members. */
static int
text_cb(const char *json, size_t len, void *arg)
{
	char **out = arg;

	*out = strndup(json, len);
	return 1;
}

static void
test_stored_text(void **st)
{
	struct fixture	*f = *st;
	state_t		*s;
	state_txn_t	*t;
	char		*text = NULL;
	uint64_t	 id;
	struct alert_query q = { 0 };
	static const char obj[] = " {\"time\":\"x\",\"level\":2} \n";

	assert_int_equal(state_open(f->sdir, 0, 0, &s), 0);
	assert_int_equal(state_begin(s, &t), 0);
	/* Not objects: refused, and the transaction stays usable. */
	assert_int_equal(state_txn_add_alert(t, 5, 2, "h", "r", "[]", 2,
	    &id), TS_EINVAL);
	assert_int_equal(state_txn_add_alert(t, 5, 2, "h", "r", "{", 1,
	    &id), TS_EINVAL);
	assert_int_equal(state_txn_add_alert(t, 5, 2, "h", "r", "", 0,
	    &id), TS_EINVAL);
	assert_int_equal(state_txn_add_alert(t, 5, 16, "h", "r", "{}", 2,
	    &id), TS_EINVAL);
	/* Not NUL-terminated: only len bytes are taken. */
	assert_int_equal(state_txn_add_alert(t, 5, 2, "h", "r",
	    "{\"a\":1}GARBAGE", 7, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(state_txn_add_alert(t, 6, 2, "h", "r", "{ }", 3,
	    &id), 0);
	assert_int_equal(id, 2);
	assert_int_equal(state_txn_add_alert(t, 7, 2, "h", "r", obj,
	    strlen(obj), &id), 0);
	assert_int_equal(id, 3);
	assert_int_equal(state_commit(&t), 0);

	q.limit = 1;
	assert_int_equal(state_alerts_query(s, &q, text_cb, &text), 0);
	assert_string_equal(text, "{\"id\":3,\"time\":\"x\",\"level\":2}");
	free(text);
	q.until_us = 6;
	assert_int_equal(state_alerts_query(s, &q, text_cb, &text), 0);
	assert_string_equal(text, "{\"id\":2}");
	free(text);
	q.until_us = 5;
	assert_int_equal(state_alerts_query(s, &q, text_cb, &text), 0);
	assert_string_equal(text, "{\"id\":1,\"a\":1}");
	free(text);
	state_close(&s);
}

static void
test_query_time(void **st)
{
	struct fixture		*f = *st;
	state_t			*s = open_filled(f);
	struct alert_query	 q = { 0 };
	struct got		 g;
	uint64_t		 c;

	assert_int_equal(state_cursor_get(s, &c), 0);
	assert_int_equal(c, 9);
	query(s, &q, &g);		/* newest first; same time: by id */
	assert_ids(&g, 6, 5, 4, 3, 2, 1, 6);
	q.since_us = 200;
	q.until_us = 300;
	query(s, &q, &g);		/* bounds included */
	assert_ids(&g, 3, 4, 3, 2);
	q.since_us = 301;
	q.until_us = 399;
	query(s, &q, &g);
	assert_ids(&g, 0);
	q.since_us = 500;
	q.until_us = 0;
	query(s, &q, &g);
	assert_ids(&g, 0);
	q.since_us = 0;
	q.until_us = 10;
	query(s, &q, &g);
	assert_ids(&g, 0);
	q.since_us = 400;
	q.until_us = 100;		/* empty range */
	query(s, &q, &g);
	assert_ids(&g, 0);
	q.since_us = 0;
	q.until_us = 0;
	q.limit = 2;
	query(s, &q, &g);
	assert_ids(&g, 2, 5, 4);
	state_close(&s);
}

static void
test_query_level(void **st)
{
	struct fixture		*f = *st;
	state_t			*s = open_filled(f);
	struct alert_query	 q = { 0 };
	struct got		 g;

	q.min_level = 5;
	query(s, &q, &g);
	assert_ids(&g, 4, 4, 3, 2, 6);
	q.min_level = 12;
	query(s, &q, &g);
	assert_ids(&g, 2, 4, 6);
	q.min_level = 15;
	query(s, &q, &g);
	assert_ids(&g, 1, 6);
	q.min_level = 16;
	query(s, &q, &g);
	assert_ids(&g, 0);
	q.min_level = 4;
	q.since_us = 100;
	q.until_us = 300;
	query(s, &q, &g);
	assert_ids(&g, 3, 4, 3, 2);
	q.limit = 1;
	query(s, &q, &g);
	assert_ids(&g, 1, 4);
	state_close(&s);
}

static void
test_query_host_rule(void **st)
{
	struct fixture		*f = *st;
	state_t			*s = open_filled(f);
	struct alert_query	 q = { 0 };
	struct got		 g;

	q.host = "web01";
	query(s, &q, &g);
	assert_ids(&g, 3, 5, 3, 1);
	q.host = "web0";		/* no prefix matching */
	query(s, &q, &g);
	assert_ids(&g, 0);
	q.host = "web012";
	query(s, &q, &g);
	assert_ids(&g, 0);
	q.host = "web02";
	query(s, &q, &g);
	assert_ids(&g, 2, 2, 6);
	q.host = "web01";
	q.min_level = 4;
	query(s, &q, &g);
	assert_ids(&g, 1, 3);
	q.min_level = 0;
	q.since_us = 101;
	q.until_us = 400;
	query(s, &q, &g);
	assert_ids(&g, 2, 5, 3);
	q.since_us = q.until_us = 0;
	q.rule = "r.ssh";		/* host and rule */
	query(s, &q, &g);
	assert_ids(&g, 2, 5, 1);
	q.host = NULL;
	query(s, &q, &g);
	assert_ids(&g, 4, 5, 4, 2, 1);
	q.limit = 3;
	query(s, &q, &g);
	assert_ids(&g, 3, 5, 4, 2);
	q.limit = 0;
	q.rule = "r.web";
	q.min_level = 10;
	query(s, &q, &g);
	assert_ids(&g, 1, 6);
	q.rule = "r.none";
	q.min_level = 0;
	query(s, &q, &g);
	assert_ids(&g, 0);
	state_close(&s);
}

/* A callback that stops after the first alert. */
static int
stop_cb(const char *json, size_t len, void *arg)
{
	(void)json;
	(void)len;
	(*(int *)arg)++;
	return 1;
}

static void
test_query_cb_stop(void **st)
{
	struct fixture		*f = *st;
	state_t			*s = open_filled(f);
	struct alert_query	 q = { 0 };
	int			 n = 0;

	assert_int_equal(state_alerts_query(s, &q, stop_cb, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	q.min_level = 1;
	assert_int_equal(state_alerts_query(s, &q, stop_cb, &n), 0);
	assert_int_equal(n, 1);
	state_close(&s);
}

/* Host and rule ids longer than an LMDB key can hold still index and
 * query exactly. */
static void
test_long_keys(void **st)
{
	struct fixture		*f = *st;
	state_t			*s;
	state_txn_t		*t;
	struct alert_query	 q = { 0 };
	struct got		 g;
	char			 h1[700], h2[700];

	memset(h1, 'a', sizeof(h1) - 1);
	h1[sizeof(h1) - 1] = 0;
	memcpy(h2, h1, sizeof(h2));
	h2[650] = 'b';
	assert_int_equal(state_open(f->sdir, 0, 0, &s), 0);
	assert_int_equal(state_begin(s, &t), 0);
	assert_int_equal(add(t, 10, 3, h1, "r"), 1);
	assert_int_equal(add(t, 20, 3, h2, "r"), 2);
	assert_int_equal(state_commit(&t), 0);
	q.host = h1;
	query(s, &q, &g);
	assert_ids(&g, 1, 1);
	q.host = h2;
	query(s, &q, &g);
	assert_ids(&g, 1, 2);
	q.host = NULL;
	q.rule = "r";
	query(s, &q, &g);
	assert_ids(&g, 2, 2, 1);
	state_close(&s);
}

static int
stats_cb(const char *name, uint64_t value, void *arg)
{
	uint64_t *sum = arg;

	if (strncmp(name, "engine.", 7) == 0)
		*sum += value;
	return 0;
}

static void
test_persistence_and_stats(void **st)
{
	struct fixture		*f = *st;
	state_t			*s = open_filled(f), *r;
	state_txn_t		*t;
	struct counter		 c[2] = {
		{ "engine.alerts", 6, "x" }, { "engine.cursor", 9, "y" } };
	struct alert_query	 q = { 0 };
	struct got		 g;
	uint64_t		 v, sum = 0;

	assert_int_equal(state_begin(s, &t), 0);
	assert_int_equal(state_txn_write_stats(t, c, 2), 0);
	assert_int_equal(state_commit(&t), 0);
	state_close(&s);

	/* A reader sees what the writer committed. */
	assert_int_equal(state_open(f->sdir, STATE_RDONLY, 0, &r), 0);
	assert_int_equal(state_cursor_get(r, &v), 0);
	assert_int_equal(v, 9);
	assert_int_equal(state_alert_count(r, &v), 0);
	assert_int_equal(v, 6);
	query(r, &q, &g);
	assert_ids(&g, 6, 5, 4, 3, 2, 1, 6);
	assert_int_equal(state_stats_foreach(r, stats_cb, &sum), 0);
	assert_int_equal(sum, 15);
	assert_int_equal(state_begin(r, &t), TS_EINVAL);
	state_close(&r);

	/* The writer reopens: counters and ids continue. */
	c[0].value = c[1].value = 0;
	assert_int_equal(state_open(f->sdir, 0, 1 << 20, &s), 0);
	assert_int_equal(state_stats_load(s, c, 2), 0);
	assert_int_equal(c[0].value, 6);
	assert_int_equal(c[1].value, 9);
	assert_int_equal(state_begin(s, &t), 0);
	assert_int_equal(add(t, 500, 1, "x", "y"), 7);
	assert_int_equal(state_commit(&t), 0);
	state_close(&s);
}

static void
test_rdonly_missing(void **st)
{
	struct fixture	*f = *st;
	state_t		*s = (state_t *)1;

	assert_int_equal(state_open(f->sdir, STATE_RDONLY, 0, &s),
	    TS_ENOTFOUND);
	assert_null(s);
	assert_int_equal(access(f->sdir, F_OK), -1);	/* not created */
}

/* A tiny map fills up: the failed batch leaves nothing, the map grows, the
 * same batch then commits. */
static void
test_map_grows(void **st)
{
	struct fixture	*f = *st;
	state_t		*s, *r;
	state_txn_t	*t;
	struct alert_query q = { 0 };
	struct got	 g;
	char		*big;
	size_t		 len = 200000;
	uint64_t	 n, id;
	int		 ret = 0, full = 0;

	big = malloc(len);
	assert_non_null(big);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	memcpy(big + 1, "\"a\":1", 5);
	assert_int_equal(state_open(f->sdir, 0, 64 * 1024, &s), 0);
	/* A reader opened before the map grows (the CLI) adopts the new
	 * size.  (Same process only in this test; LMDB allows it as long as
	 * neither environment is closed while the other is used by another
	 * process.) */
	assert_int_equal(state_open(f->sdir, STATE_RDONLY, 0, &r), 0);
	for (int attempt = 0; attempt < 12; attempt++) {
		assert_int_equal(state_begin(s, &t), 0);
		for (int i = 0; i < 20 && ret == 0; i++)
			ret = state_txn_add_alert(t, (uint64_t)i, 1, "h", "r",
			    big, len, &id);
		if (ret == 0)
			ret = state_commit(&t);
		else
			state_abort(&t);
		if (ret == 0)
			break;
		assert_int_equal(ret, TS_EFULL);
		full++;
		ret = 0;
		assert_int_equal(state_alert_count(s, &n), 0);
		assert_int_equal(n, 0);
	}
	assert_true(full > 0);
	assert_int_equal(state_alert_count(s, &n), 0);
	assert_int_equal(n, 20);
	assert_int_equal(state_alert_count(r, &n), 0);
	assert_int_equal(n, 20);
	query(r, &q, &g);
	assert_int_equal(g.n, 20);
	state_close(&r);
	state_close(&s);
	free(big);
}

/* Records seen by a state_log_cb: ids and the first bytes of the text. */
struct logs {
	uint64_t	ids[16];
	char		text[16][16];
	size_t		n;
	size_t		stop_at;	/* return 1 after this many; 0: never */
	int		fail_at;	/* return -99 at this id; 0: never */
};

static int
log_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct logs *L = arg;

	assert_true(L->n < 16);
	if (L->fail_at != 0 && id == (uint64_t)L->fail_at)
		return -99;
	L->ids[L->n] = id;
	snprintf(L->text[L->n], sizeof(L->text[0]), "%.*s",
	    (int)(len < 15 ? len : 15), json);
	L->n++;
	return L->stop_at != 0 && L->n >= L->stop_at ? 1 : 0;
}

/* Put one record of a u64-keyed db as the engine does. */
static void
put_rec(state_txn_t *t, int db, uint64_t id, const char *text)
{
	unsigned char k[8];

	put_be64(k, id);
	assert_int_equal(state_txn_put(t, db, k, 8, text, strlen(text)), 0);
}

/* The read side the outputs and the CLI use: logs after a cursor, in
 * batches, with the highest id for the lag; incidents by id and in order. */
static void
test_log_read(void **st)
{
	struct fixture	*f = *st;
	state_t		*s = open_filled(f), *r;
	state_txn_t	*t;
	struct logs	 L;
	uint64_t	 last;
	char		*txt;
	size_t		 len;

	assert_int_equal(state_begin(s, &t), 0);
	put_rec(t, STATE_DB_INC_LOG, 1, "{\"seq\":1}");
	put_rec(t, STATE_DB_INC_LOG, 2, "{\"seq\":2}");
	/* a key that is not a u64 id is not a record */
	assert_int_equal(state_txn_put(t, STATE_DB_INC_LOG, "zz", 2, "x", 1),
	    0);
	put_rec(t, STATE_DB_INCIDENTS, 1, "{\"id\":1}");
	put_rec(t, STATE_DB_INCIDENTS, 2, "{\"id\":2}");
	put_rec(t, STATE_DB_INCIDENTS, 3, "{\"id\":3}");
	assert_int_equal(state_commit(&t), 0);
	state_close(&s);
	assert_int_equal(state_open(f->sdir, STATE_RDONLY, 0, &r), 0);

	/* a batch of 4 after 0, then the rest, then nothing */
	memset(&L, 0, sizeof(L));
	assert_int_equal(state_log_read(r, STATE_LOG_ALERTS, 0, 4, log_cb, &L,
	    &last), 0);
	assert_int_equal(L.n, 4);
	assert_int_equal(L.ids[0], 1);
	assert_int_equal(L.ids[3], 4);
	assert_int_equal(last, 6);
	assert_string_equal(L.text[0], "{\"id\":1,\"time_u");
	memset(&L, 0, sizeof(L));
	assert_int_equal(state_log_read(r, STATE_LOG_ALERTS, 4, 10, log_cb,
	    &L, &last), 0);
	assert_int_equal(L.n, 2);
	assert_int_equal(L.ids[0], 5);
	assert_int_equal(L.ids[1], 6);
	memset(&L, 0, sizeof(L));
	assert_int_equal(state_log_read(r, STATE_LOG_ALERTS, 6, 10, log_cb,
	    &L, &last), 0);
	assert_int_equal(L.n, 0);
	assert_int_equal(last, 6);
	/* past the highest id: *last stays the cursor */
	assert_int_equal(state_log_read(r, STATE_LOG_ALERTS, UINT64_MAX, 10,
	    log_cb, &L, &last), 0);
	assert_int_equal(L.n, 0);
	assert_true(last == UINT64_MAX);
	/* max 0 reads nothing, still says the log exists and its last id */
	assert_int_equal(state_log_read(r, STATE_LOG_ALERTS, 0, 0, log_cb, &L,
	    &last), 0);
	assert_int_equal(L.n, 0);
	assert_int_equal(last, 6);

	/* the incident log; the odd key is skipped */
	memset(&L, 0, sizeof(L));
	assert_int_equal(state_log_read(r, STATE_LOG_INCIDENTS, 0, 10, log_cb,
	    &L, &last), 0);
	assert_int_equal(L.n, 2);
	assert_int_equal(L.ids[1], 2);
	assert_string_equal(L.text[1], "{\"seq\":2}");

	/* the callback stops, or fails */
	memset(&L, 0, sizeof(L));
	L.stop_at = 2;
	assert_int_equal(state_log_read(r, STATE_LOG_ALERTS, 0, 10, log_cb, &L,
	    &last), 0);
	assert_int_equal(L.n, 2);
	memset(&L, 0, sizeof(L));
	L.fail_at = 3;
	assert_int_equal(state_log_read(r, STATE_LOG_ALERTS, 0, 10, log_cb, &L,
	    &last), -99);
	assert_int_equal(L.n, 2);
	assert_int_equal(state_log_read(r, STATE_NLOGS, 0, 10, log_cb, &L,
	    &last), TS_EINVAL);
	assert_int_equal(state_log_read(r, -1, 0, 10, log_cb, &L, &last),
	    TS_EINVAL);

	/* incidents */
	assert_int_equal(state_incident_get(r, 2, &txt, &len), 0);
	assert_string_equal(txt, "{\"id\":2}");
	assert_int_equal(len, 8);
	free(txt);
	assert_int_equal(state_incident_get(r, 9, &txt, &len), TS_ENOTFOUND);
	assert_null(txt);
	memset(&L, 0, sizeof(L));
	assert_int_equal(state_incidents_foreach(r, 1, log_cb, &L), 0);
	assert_int_equal(L.n, 3);
	assert_int_equal(L.ids[0], 3);
	assert_int_equal(L.ids[2], 1);
	memset(&L, 0, sizeof(L));
	assert_int_equal(state_incidents_foreach(r, 0, log_cb, &L), 0);
	assert_int_equal(L.ids[0], 1);
	state_close(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cursor_and_abort, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_stored_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_level, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_host_rule, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_query_cb_stop, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_keys, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_persistence_and_stats,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rdonly_missing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_grows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_read, setup,
		    teardown),
	};

	log_init("test_state", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
