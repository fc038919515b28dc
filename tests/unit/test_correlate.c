/*
 * test_correlate.c - correlation rules: parsing (errors at file:line:col)
 * and evaluation on event time with exact boundaries: N-1 events, the
 * window's edge, out-of-order and late events, suppression, distinct
 * values, sequences, drills apart, and a restart in the middle of a window;
 * and the incremental windows against a brute-force reference on random
 * event streams.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/util.h"
#include "rules/rules.h"
#include "rules/correlate.h"
#include "engine/state.h"
#include "engine/engine_int.h"

#define S	1000000ULL
#define T0	(1767225600ULL * S)	/* 2026-01-01T00:00:00Z */

static const char base_rules[] =
    "decoders:\n"
    "  - name: t.login\n"
    "    program: [app]\n"
    "    match: '^(?<action>fail|ok) user=(?<user>\\S+) src=(?<srcip>\\S+)$'\n"
    "rules:\n"
    "  - id: t.fail\n"
    "    title: fail\n"
    "    level: 3\n"
    "    groups: [authentication_failed]\n"
    "    program: [app]\n"
    "    match: '^fail '\n"
    "  - id: t.ok\n"
    "    title: ok\n"
    "    level: 3\n"
    "    groups: [authentication_success]\n"
    "    program: [app]\n"
    "    match: '^ok '\n";

struct fixture {
	char		 dir[64];
	char		 rules[128];
	char		 sdir[128];
	const char	*paths[1];
	ruleset_t	*rs;
	rules_ctx_t	*ctx;
	const corr_set_t *cs;	/* rs' correlation rules */
	state_t		*st;
	struct corr_counters cc;
	/* fired: */
	char		 fired_rule[8][64];
	uint32_t	 fired_count[8];
	uint64_t	 fired_supp[8];
	size_t		 nfired;
	uint64_t	 next_alert;
};

static int
setup(void **st)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/tocsin-test-corr-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->rules, sizeof(f->rules), "%s/rules.yml", f->dir);
	snprintf(f->sdir, sizeof(f->sdir), "%s/state", f->dir);
	f->paths[0] = f->rules;
	f->next_alert = 100;
	*st = f;
	return 0;
}

static int
teardown(void **st)
{
	struct fixture	*f = *st;
	char		 cmd[128];

	rules_ctx_free(&f->ctx);
	ruleset_free(&f->rs);
	f->cs = NULL;
	state_close(&f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Load base_rules plus the correlation rules corr; open the state. */
static void
load(struct fixture *f, const char *corr)
{
	struct rules_diags	dl;
	char			*text = xasprintf("%s%s", base_rules, corr);

	assert_non_null(text);
	assert_int_equal(write_file_atomic(f->rules, text, strlen(text),
	    0644), 0);
	free(text);
	memset(&dl, 0, sizeof(dl));
	assert_int_equal(ruleset_load(f->paths, 1, &f->rs, &dl), 0);
	assert_non_null(f->cs = ruleset_corr(f->rs));
	rules_diags_free(&dl);
	assert_non_null(f->ctx = rules_ctx_new(f->rs));
	if (f->st == NULL)
		assert_int_equal(state_open(f->sdir, 0, 1 << 20, &f->st), 0);
}

static int
on_fire(const struct corr_fire *cf, void *arg)
{
	struct fixture *f = arg;

	assert_true(f->nfired < 8);
	snprintf(f->fired_rule[f->nfired], 64, "%s", cf->rule->id);
	f->fired_count[f->nfired] = cf->count;
	f->fired_supp[f->nfired] = cf->suppressed;
	f->nfired++;
	return 0;
}

/* One event "app: MSG" at time t (drill: NULL or a name), committed. */
static void
ev_drill(struct fixture *f, uint64_t t, const char *msg, const char *drill)
{
	struct rules_event	 re;
	struct rules_result	 res;
	state_txn_t		*tx;
	char			 line[256];

	snprintf(line, sizeof(line), "<13>Jan  1 00:00:00 h1 app: %s", msg);
	memset(&re, 0, sizeof(re));
	re.raw = line;
	re.raw_len = strlen(line);
	re.host = "h1";
	re.host_len = 2;
	re.agent = "a";
	re.agent_len = 1;
	re.file = "f";
	re.file_len = 1;
	re.time_us = t;
	assert_int_equal(rules_eval(f->ctx, &re, &res), 0);
	assert_true(res.nmatched > 0);
	assert_int_equal(state_begin(f->st, &tx), 0);
	assert_int_equal(corr_eval(tx, f->cs, &res, t, drill, f->next_alert++,
	    now_us(), &f->cc, on_fire, f), 0);
	assert_int_equal(state_commit(&tx), 0);
}

static void
ev(struct fixture *f, uint64_t t, const char *msg)
{
	ev_drill(f, t, msg, NULL);
}

static const char thr3[] =
    "  - id: c.thr\n"
    "    title: three fails\n"
    "    level: 10\n"
    "    correlation:\n"
    "      type: threshold\n"
    "      rules: [t.fail]\n"
    "      count: 3\n"
    "      timeframe: 60s\n"
    "      same: [srcip]\n"
    "      suppress: 0\n";

/* N-1 events do not fire; the Nth does, with count N. */
static void
test_threshold_n_minus_1(void **st)
{
	struct fixture *f = *st;

	load(f, thr3);
	ev(f, T0, "fail user=a src=10.0.0.1");
	ev(f, T0 + 1 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 0);
	ev(f, T0 + 2 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
	assert_string_equal(f->fired_rule[0], "c.thr");
	assert_int_equal(f->fired_count[0], 3);
	/* the window was emptied: two more do not fire, a third does */
	ev(f, T0 + 3 * S, "fail user=a src=10.0.0.1");
	ev(f, T0 + 4 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
	ev(f, T0 + 5 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 2);
}

/* Newest minus oldest == timeframe is inside; one microsecond more is
 * not. */
static void
test_window_edge(void **st)
{
	struct fixture *f = *st;

	load(f, thr3);
	ev(f, T0, "fail user=a src=10.0.0.1");
	ev(f, T0 + 30 * S, "fail user=a src=10.0.0.1");
	ev(f, T0 + 60 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);

	ev(f, T0, "fail user=a src=10.0.0.2");
	ev(f, T0 + 30 * S, "fail user=a src=10.0.0.2");
	ev(f, T0 + 60 * S + 1, "fail user=a src=10.0.0.2");
	assert_int_equal(f->nfired, 1);
	/* the first fell out; one more inside the new window fires */
	ev(f, T0 + 61 * S, "fail user=a src=10.0.0.2");
	assert_int_equal(f->nfired, 2);
}

/* Groups are apart: 2 + 2 from two addresses fire nothing. */
static void
test_groups_apart(void **st)
{
	struct fixture *f = *st;

	load(f, thr3);
	ev(f, T0, "fail user=a src=10.0.0.1");
	ev(f, T0 + 1, "fail user=a src=10.0.0.2");
	ev(f, T0 + 2, "fail user=a src=10.0.0.1");
	ev(f, T0 + 3, "fail user=a src=10.0.0.2");
	assert_int_equal(f->nfired, 0);
	/* a drill's events never count with real ones */
	ev_drill(f, T0 + 4, "fail user=a src=10.0.0.1", "d1");
	assert_int_equal(f->nfired, 0);
	ev_drill(f, T0 + 5, "fail user=a src=10.0.0.1", "d1");
	ev_drill(f, T0 + 6, "fail user=a src=10.0.0.1", "d1");
	assert_int_equal(f->nfired, 1);
}

/* Out of order within the window fires; older than newest - timeframe is
 * late (counted, ignored). */
static void
test_out_of_order_and_late(void **st)
{
	struct fixture *f = *st;

	load(f, thr3);
	ev(f, T0 + 50 * S, "fail user=a src=10.0.0.1");
	ev(f, T0 + 10 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 0);
	ev(f, T0 + 30 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);

	ev(f, T0 + 200 * S, "fail user=a src=10.0.0.3");
	ev(f, T0 + 199 * S, "fail user=a src=10.0.0.3");
	ev(f, T0 + 100 * S, "fail user=a src=10.0.0.3");	/* late */
	assert_int_equal(f->cc.late, 1);
	assert_int_equal(f->nfired, 1);
	ev(f, T0 + 140 * S, "fail user=a src=10.0.0.3");	/* edge: in */
	assert_int_equal(f->nfired, 2);
}

/* Suppression: quiet for `suppress` after firing; the matches in between
 * are reported with the next alert. */
static void
test_suppression(void **st)
{
	struct fixture *f = *st;

	load(f,
	    "  - id: c.supp\n"
	    "    title: three fails, quiet 2m\n"
	    "    level: 10\n"
	    "    correlation:\n"
	    "      type: threshold\n"
	    "      groups: [authentication_failed]\n"
	    "      count: 3\n"
	    "      timeframe: 60s\n"
	    "      same: [srcip]\n"
	    "      suppress: 2m\n");
	for (int i = 0; i < 3; i++)
		ev(f, T0 + (uint64_t)i * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
	assert_int_equal(f->fired_supp[0], 0);
	for (int i = 0; i < 5; i++)
		ev(f, T0 + 10 * S + (uint64_t)i * S,
		    "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
	assert_int_equal(f->cc.suppressed, 5);
	/* the last suppressed instant: fired at T0+2s, quiet until +122s */
	ev(f, T0 + 122 * S - 1, "fail user=a src=10.0.0.1");
	assert_int_equal(f->cc.suppressed, 6);
	ev(f, T0 + 122 * S, "fail user=a src=10.0.0.1");
	ev(f, T0 + 123 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
	ev(f, T0 + 124 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 2);
	assert_int_equal(f->fired_supp[1], 6);
}

/* Distinct values: repeats do not count. */
static void
test_distinct(void **st)
{
	struct fixture *f = *st;

	load(f,
	    "  - id: c.spray\n"
	    "    title: spraying\n"
	    "    level: 10\n"
	    "    correlation:\n"
	    "      type: distinct\n"
	    "      rules: [t.fail]\n"
	    "      distinct: user\n"
	    "      count: 3\n"
	    "      timeframe: 5m\n"
	    "      same: [srcip]\n");
	ev(f, T0, "fail user=a src=10.0.0.1");
	ev(f, T0 + 1, "fail user=a src=10.0.0.1");
	ev(f, T0 + 2, "fail user=b src=10.0.0.1");
	ev(f, T0 + 3, "fail user=b src=10.0.0.1");
	assert_int_equal(f->nfired, 0);
	ev(f, T0 + 4, "fail user=c src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
	assert_int_equal(f->fired_count[0], 3);
}

static const char seq[] =
    "  - id: c.seq\n"
    "    title: fails then ok\n"
    "    level: 12\n"
    "    correlation:\n"
    "      type: sequence\n"
    "      sequence:\n"
    "        - {rules: [t.fail], count: 2}\n"
    "        - {groups: [authentication_success]}\n"
    "      timeframe: 10m\n"
    "      same: [srcip]\n";

/* Sequence: in order fires; the success before the failures does not. */
static void
test_sequence(void **st)
{
	struct fixture *f = *st;

	load(f, seq);
	ev(f, T0, "ok user=a src=10.0.0.1");
	ev(f, T0 + 1 * S, "fail user=a src=10.0.0.1");
	ev(f, T0 + 2 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 0);
	ev(f, T0 + 3 * S, "fail user=a src=10.0.0.2");
	ev(f, T0 + 4 * S, "ok user=a src=10.0.0.2");
	assert_int_equal(f->nfired, 0);		/* one fail only */
	ev(f, T0 + 5 * S, "ok user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
	assert_string_equal(f->fired_rule[0], "c.seq");
	assert_int_equal(f->fired_count[0], 3);
	/* a late failure completing 10.0.0.2's sequence before its success
	 * (event time) fires too */
	ev(f, T0 + 3 * S + 500000, "fail user=a src=10.0.0.2");
	assert_int_equal(f->nfired, 2);
}

/* A restart in the middle of a window: the state keeps it. */
static void
test_restart_mid_window(void **st)
{
	struct fixture *f = *st;

	load(f, thr3);
	ev(f, T0, "fail user=a src=10.0.0.1");
	ev(f, T0 + 1 * S, "fail user=a src=10.0.0.1");
	state_close(&f->st);
	rules_ctx_free(&f->ctx);
	ruleset_free(&f->rs);
	f->cs = NULL;
	load(f, thr3);		/* a reload, and a new state handle */
	assert_int_equal(f->nfired, 0);
	ev(f, T0 + 2 * S, "fail user=a src=10.0.0.1");
	assert_int_equal(f->nfired, 1);
}

/* Windows expire by wall clock; past max they are evicted oldest first. */
static void
test_expiry_bound(void **st)
{
	struct fixture	*f = *st;
	state_txn_t	*tx;
	struct corr_counters cc;
	char		 msg[64];

	load(f, thr3);
	for (int i = 0; i < 5; i++) {
		snprintf(msg, sizeof(msg), "fail user=a src=10.0.1.%d", i);
		ev(f, T0, msg);
	}
	memset(&cc, 0, sizeof(cc));
	assert_int_equal(state_begin(f->st, &tx), 0);
	assert_int_equal(corr_expire(tx, now_us(), 3, &cc), 0);
	assert_int_equal(state_commit(&tx), 0);
	assert_int_equal(cc.evicted, 2);
	assert_int_equal(cc.expired, 0);
	/* everything expires 60s + timeframe after its last change */
	assert_int_equal(state_begin(f->st, &tx), 0);
	assert_int_equal(corr_expire(tx, now_us() + 3600 * S, 100, &cc), 0);
	assert_int_equal(state_commit(&tx), 0);
	assert_int_equal(cc.expired, 3);
}

/* ---- brute force reference ------------------------------------------------
 *
 * The documented semantics computed the plain way, in memory: each window
 * holds its entries sorted by time; after each event every anchor at or
 * after the new entries is tried by scanning its window.  The engine's
 * incremental windows (in LMDB, across restarts) must raise the same
 * alerts in the same order. */

#define REF_MAX_WIN	64
#define REF_VAL		256

struct ref_entry {
	uint64_t	time_us, alert;
	uint8_t		step;
	uint16_t	vlen;
	char		val[REF_VAL];
};

struct ref_win {
	char		 key[256];
	uint64_t	 newest, fired1, suppressed;
	struct ref_entry *e;
	size_t		 n;
};

struct ref {
	struct ref_win	 w[REF_MAX_WIN];
	size_t		 nw;
	uint64_t	 late, suppressed, dropped;
};

/* One fire as text, to compare. */
static void
fire_text(char *buf, size_t len, const char *rule, uint64_t time_us,
    uint32_t count, uint64_t supp, const char *const *gv, size_t ng,
    const uint64_t *ids, size_t nids)
{
	size_t off = (size_t)snprintf(buf, len, "%s t=%llu n=%u s=%llu", rule,
	    (unsigned long long)time_us, count, (unsigned long long)supp);

	for (size_t i = 0; i < ng && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " g=%s", gv[i]);
	for (size_t i = 0; i < nids && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %llu",
		    (unsigned long long)ids[i]);
}

struct firelog {
	char	(*t)[512];
	size_t	 n, cap;
};

static void
firelog_add(struct firelog *fl, const char *text)
{
	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? fl->cap * 2 : 64;
		fl->t = realloc(fl->t, fl->cap * sizeof(*fl->t));
		assert_non_null(fl->t);
	}
	snprintf(fl->t[fl->n++], 512, "%s", text);
}

static int
ref_seen_before(const struct ref_win *w, size_t lo, size_t k)
{
	for (size_t i = lo; i < k; i++)
		if (w->e[i].vlen == w->e[k].vlen &&
		    memcmp(w->e[i].val, w->e[k].val, w->e[k].vlen) == 0)
			return 1;
	return 0;
}

static int
ref_fires_at(const struct corr_rule *r, const struct ref_win *w, size_t a,
    size_t *lo, uint32_t *count)
{
	uint64_t	from = w->e[a].time_us >= r->timeframe_us ?
	    w->e[a].time_us - r->timeframe_us : 0;
	size_t		i = a, step = 0;
	uint32_t	c = 0, need[MAX_CORR_STEPS];

	while (i > 0 && w->e[i - 1].time_us >= from)
		i--;
	*lo = i;
	switch (r->type) {
	case CORR_THRESHOLD:
		c = (uint32_t)(a - i + 1);
		break;
	case CORR_DISTINCT:
		for (size_t k = i; k <= a && c < r->count; k++)
			if (!ref_seen_before(w, i, k))
				c++;
		break;
	case CORR_SEQUENCE:
		if (w->e[a].step != r->nsteps - 1)
			return 0;
		for (size_t s = 0; s < r->nsteps; s++)
			need[s] = r->steps[s].count;
		for (size_t k = i; k <= a && step < r->nsteps; k++) {
			if (w->e[k].step != step)
				continue;
			c++;
			if (--need[step] == 0)
				step++;
		}
		*count = c;
		return step == r->nsteps;
	case CORR_ALL:
		for (size_t s = 0; s < r->nsteps; s++)
			need[s] = r->steps[s].count;
		for (size_t k = i; k <= a; k++)
			if (need[w->e[k].step] > 0) {
				need[w->e[k].step]--;
				c++;
			}
		*count = c;
		for (size_t s = 0; s < r->nsteps; s++)
			if (need[s] != 0)
				return 0;
		return 1;
	}
	*count = c;
	return c >= r->count;
}

static void
ref_rule_event(struct ref *rf, struct firelog *fl, const struct corr_rule *r,
    const struct rules_result *res, uint64_t time_us, const char *drill,
    uint64_t alert, unsigned mask)
{
	char			 key[256], gbuf[MAX_CORR_SAME][128];
	const char		*gv[MAX_CORR_SAME];
	const struct rules_field *df = NULL;
	struct ref_win		*w = NULL;
	size_t			 off, first_new = SIZE_MAX;
	int			 fired = 0;

	off = (size_t)snprintf(key, sizeof(key), "%s|%s", r->id, drill);
	for (size_t i = 0; i < r->nsame; i++) {
		const struct rules_field *f = rules_result_field(res,
		    r->same[i]);

		if (f == NULL || f->len == 0)
			return;
		snprintf(gbuf[i], sizeof(gbuf[i]), "%.*s", (int)f->len, f->val);
		gv[i] = gbuf[i];
		off += (size_t)snprintf(key + off, sizeof(key) - off, "|%s",
		    gbuf[i]);
	}
	if (r->type == CORR_DISTINCT && ((df = rules_result_field(res,
	    r->distinct)) == NULL || df->len == 0))
		return;
	for (size_t i = 0; i < rf->nw; i++)
		if (strcmp(rf->w[i].key, key) == 0)
			w = &rf->w[i];
	if (w == NULL) {
		assert_true(rf->nw < REF_MAX_WIN);
		w = &rf->w[rf->nw++];
		snprintf(w->key, sizeof(w->key), "%s", key);
		w->e = calloc(MAX_CORR_ENTRIES + MAX_CORR_STEPS + 1,
		    sizeof(*w->e));
		assert_non_null(w->e);
	}
	if (w->fired1 != 0 && time_us < w->fired1 - 1 + r->suppress_us) {
		w->suppressed++;
		rf->suppressed++;
		return;
	}
	if (w->n > 0 && time_us + r->timeframe_us < w->newest) {
		rf->late++;
		return;
	}
	if (w->fired1 != 0)
		w->fired1 = 0;
	for (size_t s = 0; s < r->nsteps; s++) {
		struct ref_entry ne;
		size_t i = w->n;

		if (!(mask & (1u << s)))
			continue;
		memset(&ne, 0, sizeof(ne));
		ne.time_us = time_us;
		ne.alert = alert;
		ne.step = (uint8_t)s;
		if (df != NULL) {
			ne.vlen = (uint16_t)(df->len > REF_VAL ? REF_VAL :
			    df->len);
			memcpy(ne.val, df->val, ne.vlen);
		}
		while (i > 0 && w->e[i - 1].time_us > time_us)
			i--;
		memmove(&w->e[i + 1], &w->e[i], (w->n - i) * sizeof(*w->e));
		w->e[i] = ne;
		w->n++;
		if (i < first_new)
			first_new = i;
	}
	if (time_us > w->newest)
		w->newest = time_us;
	{
		size_t drop = 0;

		while (drop < w->n && w->e[drop].time_us + r->timeframe_us <
		    w->newest)
			drop++;
		if (w->n - drop > MAX_CORR_ENTRIES) {
			rf->dropped += w->n - drop - MAX_CORR_ENTRIES;
			drop = w->n - MAX_CORR_ENTRIES;
		}
		memmove(w->e, w->e + drop, (w->n - drop) * sizeof(*w->e));
		w->n -= drop;
		first_new = first_new > drop ? first_new - drop : 0;
	}
	for (size_t a = first_new; a < w->n && !fired; a++) {
		size_t lo;
		uint32_t count;

		if (!ref_fires_at(r, w, a, &lo, &count))
			continue;
		{
			uint64_t ids[MAX_CORR_ALERT_IDS];
			size_t nids = 0;
			char text[512];

			for (size_t k = lo; k <= a && nids <
			    MAX_CORR_ALERT_IDS; k++) {
				size_t d;

				if (w->e[k].alert == 0)
					continue;
				for (d = 0; d < nids; d++)
					if (ids[d] == w->e[k].alert)
						break;
				if (d == nids)
					ids[nids++] = w->e[k].alert;
			}
			fire_text(text, sizeof(text), r->id,
			    w->e[a].time_us > time_us ? w->e[a].time_us :
			    time_us, count, w->suppressed, gv, r->nsame, ids,
			    nids);
			firelog_add(fl, text);
		}
		fired = 1;
		w->n = 0;
		w->suppressed = 0;
		w->fired1 = r->suppress_us == 0 ? 0 : time_us + 1;
	}
}

static void
ref_eval(struct ref *rf, struct firelog *fl, const corr_set_t *cs,
    const struct rules_result *res, uint64_t time_us, const char *drill,
    uint64_t alert)
{
	for (size_t i = 0; i < corr_set_count(cs); i++) {
		const struct corr_rule *r = corr_set_rule(cs, i);
		unsigned mask = 0;

		for (size_t s = 0; s < r->nsteps; s++)
			for (size_t m = 0; m < res->nmatched; m++)
				if (corr_step_matches(&r->steps[s],
				    res->matched[m])) {
					mask |= 1u << s;
					break;
				}
		if (mask != 0)
			ref_rule_event(rf, fl, r, res, time_us, drill, alert,
			    mask);
	}
}

static void
ref_free(struct ref *rf)
{
	for (size_t i = 0; i < rf->nw; i++)
		free(rf->w[i].e);
}

static int
log_fire(const struct corr_fire *cf, void *arg)
{
	struct firelog	*fl = arg;
	char		 text[512];

	fire_text(text, sizeof(text), cf->rule->id, cf->time_us, cf->count,
	    cf->suppressed, cf->group_vals, cf->ngroup, cf->alert_ids,
	    cf->nalert_ids);
	firelog_add(fl, text);
	return 0;
}

static const char random_rules[] =
    "  - id: c.thr\n"
    "    title: fails\n"
    "    level: 10\n"
    "    correlation:\n"
    "      type: threshold\n"
    "      rules: [t.fail]\n"
    "      count: 4\n"
    "      timeframe: 60s\n"
    "      same: [srcip]\n"
    "      suppress: 20s\n"
    "  - id: c.thr0\n"
    "    title: any login\n"
    "    level: 10\n"
    "    correlation:\n"
    "      type: threshold\n"
    "      groups: [authentication_failed, authentication_success]\n"
    "      count: 6\n"
    "      timeframe: 30s\n"
    "      suppress: 0\n"
    "  - id: c.dist\n"
    "    title: spraying\n"
    "    level: 10\n"
    "    correlation:\n"
    "      type: distinct\n"
    "      rules: [t.fail]\n"
    "      distinct: user\n"
    "      count: 3\n"
    "      timeframe: 45s\n"
    "      same: [srcip]\n"
    "      suppress: 0\n"
    "  - id: c.seq\n"
    "    title: fails then ok\n"
    "    level: 12\n"
    "    correlation:\n"
    "      type: sequence\n"
    "      sequence:\n"
    "        - {rules: [t.fail], count: 2}\n"
    "        - {rules: [t.ok]}\n"
    "      timeframe: 40s\n"
    "      same: [srcip]\n"
    "      suppress: 0\n"
    "  - id: c.seq3\n"
    "    title: fail ok fail\n"
    "    level: 12\n"
    "    correlation:\n"
    "      type: sequence\n"
    "      sequence:\n"
    "        - {rules: [t.fail]}\n"
    "        - {groups: [authentication_success], count: 2}\n"
    "        - {rules: [t.fail], count: 2}\n"
    "      timeframe: 50s\n"
    "      same: [user]\n"
    "      suppress: 10s\n"
    "  - id: c.all\n"
    "    title: ok and fails any order\n"
    "    level: 12\n"
    "    correlation:\n"
    "      type: all\n"
    "      sequence:\n"
    "        - {rules: [t.ok]}\n"
    "        - {rules: [t.fail], count: 3}\n"
    "      timeframe: 35s\n"
    "      same: [srcip, user]\n"
    "      suppress: 0\n";

/* Close the state and reload the rules: a restart. */
static void
restart(struct fixture *f, const char *corr)
{
	state_close(&f->st);
	rules_ctx_free(&f->ctx);
	ruleset_free(&f->rs);
	f->cs = NULL;
	load(f, corr);
}

/*
 * Random streams (fixed seeds): mostly in time order, some equal times,
 * some out of order within the window, some late, a restart now and then;
 * the engine's windows raise the reference's alerts, same order, same
 * counts, groups and alert ids, and count the same late and suppressed.
 */
static void
run_random(struct fixture *f, const char *corr, unsigned seed, int nev,
    int nsrc, int nuser, uint64_t maxstep_us, int back_pct, int ok_pct,
    int restarts)
{
	struct ref	*rf = calloc(1, sizeof(*rf));
	struct firelog	 got = { 0 }, want = { 0 };
	state_txn_t	*tx = NULL;
	uint64_t	 t = T0;

	assert_non_null(rf);
	srand(seed);
	load(f, corr);
	for (int i = 0; i < nev; i++) {
		struct rules_event	 re;
		struct rules_result	 res;
		char			 line[256];
		uint64_t		 et, alert = f->next_alert++;
		int			 r = rand() % 100;

		if (r < back_pct)
			et = t - (uint64_t)(rand() % 80) * S / 2;
		else if (r < back_pct + 10)
			et = t;
		else
			et = t = t + (uint64_t)rand() % maxstep_us;
		if (rand() % 10 == 0)
			alert = 0;	/* an event that raised no alert */
		snprintf(line, sizeof(line),
		    "<13>Jan  1 00:00:00 h1 app: %s user=u%d src=10.0.0.%d",
		    rand() % 100 < ok_pct ? "ok" : "fail", rand() % nuser,
		    rand() % nsrc);
		memset(&re, 0, sizeof(re));
		re.raw = line;
		re.raw_len = strlen(line);
		re.host = "h1";
		re.host_len = 2;
		re.agent = "a";
		re.agent_len = 1;
		re.file = "f";
		re.file_len = 1;
		re.time_us = et;
		assert_int_equal(rules_eval(f->ctx, &re, &res), 0);
		ref_eval(rf, &want, f->cs, &res, et, "", alert);
		if (tx == NULL)
			assert_int_equal(state_begin(f->st, &tx), 0);
		assert_int_equal(corr_eval(tx, f->cs, &res, et, "", alert,
		    now_us(), &f->cc, log_fire, &got), 0);
		/* transactions of a few events, as the engine's batches */
		if (rand() % 8 == 0)
			assert_int_equal(state_commit(&tx), 0);
		if (got.n != want.n || (got.n > 0 &&
		    strcmp(got.t[got.n - 1], want.t[want.n - 1]) != 0)) {
			print_error("event %d (seed %u): engine %zu alerts, "
			    "reference %zu\n  engine:    %s\n  reference: %s\n",
			    i, seed, got.n, want.n,
			    got.n ? got.t[got.n - 1] : "-",
			    want.n ? want.t[want.n - 1] : "-");
			fail();
		}
		if (f->cc.late != rf->late ||
		    f->cc.suppressed != rf->suppressed) {
			print_error("event %d (seed %u): late %llu/%llu "
			    "suppressed %llu/%llu\n", i, seed,
			    (unsigned long long)f->cc.late,
			    (unsigned long long)rf->late,
			    (unsigned long long)f->cc.suppressed,
			    (unsigned long long)rf->suppressed);
			fail();
		}
		if (restarts && tx == NULL && rand() % 5 == 0)
			restart(f, corr);
	}
	if (tx != NULL)
		assert_int_equal(state_commit(&tx), 0);
	assert_true(want.n > 0);
	assert_int_equal(f->cc.late, rf->late);
	assert_int_equal(f->cc.suppressed, rf->suppressed);
	assert_int_equal(f->cc.dropped, rf->dropped);
	free(got.t);
	free(want.t);
	ref_free(rf);
	free(rf);
}

/* Every type, mostly in order, restarts. */
static void
test_random_in_order(void **st)
{
	run_random(*st, random_rules, 1, 1500, 4, 4, 6 * S, 0, 33, 1);
}

/* Out of order and late events, equal times, restarts. */
static void
test_random_out_of_order(void **st)
{
	struct fixture *f = *st;

	run_random(f, random_rules, 2, 2000, 3, 5, 5 * S, 25, 33, 1);
	assert_true(f->cc.late > 0);
}

/* Dense: many events within the window (fires at its edges). */
static void
test_random_dense(void **st)
{
	run_random(*st, random_rules, 3, 1500, 2, 3, S / 2, 10, 33, 1);
}

/* Full windows: entries beyond MAX_CORR_ENTRIES dropped from the front,
 * out of order too. */
static void
test_random_full(void **st)
{
	struct fixture *f = *st;

	run_random(f,
	    "  - id: c.many\n"
	    "    title: many users\n"
	    "    level: 10\n"
	    "    correlation:\n"
	    "      type: distinct\n"
	    "      groups: [authentication_failed, authentication_success]\n"
	    "      distinct: user\n"
	    "      count: 1000\n"
	    "      timeframe: 1h\n"
	    "      suppress: 0\n"
	    "  - id: c.seqmany\n"
	    "    title: long sequence\n"
	    "    level: 10\n"
	    "    correlation:\n"
	    "      type: sequence\n"
	    "      sequence:\n"
	    "        - {rules: [t.fail], count: 900}\n"
	    "        - {rules: [t.ok], count: 3}\n"
	    "      timeframe: 1h\n"
	    "      suppress: 0\n",
	    4, 1800, 2, 50, S / 10, 5, 3, 1);
	assert_true(f->cc.dropped > 0);
}

/* Errors name file:line:col; the default set loads. */
static void
test_parse_errors(void **st)
{
	struct fixture		*f = *st;
	struct rules_diags	 dl;
	const char		*def[] = { "rules/default" };
	int			 found = 0;
	char			*text = xasprintf("%s%s", base_rules,
	    "  - id: c.bad\n"
	    "    title: bad\n"
	    "    level: 10\n"
	    "    correlation:\n"
	    "      type: thresold\n"
	    "      count: 3\n"
	    "      timeframe: 60s\n");

	assert_non_null(text);
	assert_int_equal(write_file_atomic(f->rules, text, strlen(text),
	    0644), 0);
	free(text);
	memset(&dl, 0, sizeof(dl));
	assert_int_equal(ruleset_load(f->paths, 1, &f->rs, &dl), TS_EPARSE);
	for (size_t i = 0; i < dl.n; i++)
		if (dl.d[i].line == 22 && dl.d[i].col == 13 &&
		    strstr(dl.d[i].msg, "threshold, distinct, sequence or all"))
			found = 1;
	assert_true(found);
	rules_diags_free(&dl);

	memset(&dl, 0, sizeof(dl));
	assert_int_equal(ruleset_load(def, 1, &f->rs, &dl), 0);
	assert_non_null(f->cs = ruleset_corr(f->rs));
	assert_int_equal(dl.errors, 0);
	assert_int_equal(corr_set_count(f->cs), 17);
	rules_diags_free(&dl);
}

/* A correlation that counts a rule id no rule has refuses the whole set
 * (in ruleset_load, the loader lint, tocsind -t and the engine share), at
 * the misspelt id's file:line:col. */
static void
test_unknown_rule_id(void **st)
{
	struct fixture		*f = *st;
	struct rules_diags	 dl;
	int			 found = 0;
	char			*text = xasprintf("%s%s", base_rules,
	    "  - id: c.typo\n"
	    "    title: typo\n"
	    "    level: 10\n"
	    "    correlation:\n"
	    "      type: threshold\n"
	    "      rules: [t.fial]\n"
	    "      count: 3\n"
	    "      timeframe: 60s\n");

	assert_non_null(text);
	assert_int_equal(write_file_atomic(f->rules, text, strlen(text),
	    0644), 0);
	free(text);
	memset(&dl, 0, sizeof(dl));
	assert_int_equal(ruleset_load(f->paths, 1, &f->rs, &dl), TS_EPARSE);
	assert_null(f->rs);
	for (size_t i = 0; i < dl.n; i++)
		if (!dl.d[i].warning && strcmp(dl.d[i].file, f->rules) == 0 &&
		    dl.d[i].line == 23 && dl.d[i].col == 15 &&
		    strstr(dl.d[i].msg, "counts rule 't.fial'"))
			found = 1;
	assert_true(found);
	assert_int_equal(dl.errors, 1);
	rules_diags_free(&dl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_threshold_n_minus_1,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_edge, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_groups_apart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_and_late,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_suppression, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_distinct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_mid_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expiry_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_rule_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_random_in_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_random_out_of_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_dense, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_random_full, setup,
		    teardown),
	};

	log_init("test_correlate", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
