/*
 * test_correlate.c - correlation rules: parsing (errors at file:line:col)
 * and evaluation on event time with exact boundaries: N-1 events, the
 * window's edge, out-of-order and late events, suppression, distinct
 * values, sequences, drills apart, and a restart in the middle of a window.
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
	assert_int_equal(corr_set_count(f->cs), 7);
	rules_diags_free(&dl);
}

/* A correlation that counts a rule id no rule has refuses the whole set
 * (in ruleset_load, the loader lint, tocsind -t and the engine share), at
 * the correlation rule's file:line:col. */
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
		    dl.d[i].line == 18 && dl.d[i].col == 5 &&
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
	};

	log_init("test_correlate", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
