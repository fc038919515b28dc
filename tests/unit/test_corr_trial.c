/*
 * test_corr_trial.c - correlation trials (`tocsin rules test`, the API's
 * rule test) run side by side on threads, as the API's connections do:
 * each must fire exactly what it fires alone.  Correlation keeps its
 * caches in the process, so trials take turns (engine.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include "common/err.h"
#include "common/util.h"
#include "rules/rules.h"
#include "rules/correlate.h"
#include "engine/engine.h"

/* Addresses that each fail to log in eight times (a brute force each). */
#define TRIAL_ADDRS	300
#define TRIAL_TRIES	8

static ruleset_t *trial_rs;

struct trial {
	int	tr_ssh;		/* 1: brute force lines; 0: cron lines */
	long	tr_fired;	/* corr.ssh_brute_force */
	int	tr_err;		/* a call failed */
};

static int
fire_cb(const struct rule_info *ri, uint32_t count, void *arg)
{
	struct trial *tr = arg;

	(void)count;
	if (strcmp(ri->id, "corr.ssh_brute_force") == 0)
		tr->tr_fired++;
	return 0;
}

static void *
trial_run(void *arg)
{
	struct trial	*tr = arg;
	rules_ctx_t	*ctx = rules_ctx_new(trial_rs);
	corr_trial_t	*ct = NULL;
	char		 line[256];

	if (ctx == NULL || corr_trial_open(ruleset_corr(trial_rs), &ct) != 0) {
		tr->tr_err = 1;
		rules_ctx_free(&ctx);
		return NULL;
	}
	for (int a = 0; a < TRIAL_ADDRS && !tr->tr_err; a++)
		for (int k = 0; k < TRIAL_TRIES; k++) {
			struct rules_event	ev = { 0 };
			struct rules_result	res;
			int			s = a * 5 + k / 2;

			if (tr->tr_ssh)
				snprintf(line, sizeof(line), "Jan 26 %02d:%02d:"
				    "%02d web01 sshd[1%d]: Failed password for "
				    "root from 203.0.%d.%d port 22 ssh2",
				    s / 3600, s / 60 % 60, s % 60, k, a / 250,
				    a % 250);
			else
				snprintf(line, sizeof(line), "Jan 26 %02d:%02d:"
				    "%02d web01 CRON[1%d]: (root) CMD (run-parts "
				    "/etc/cron.hourly)", s / 3600, s / 60 % 60,
				    s % 60, k);
			ev.raw = line;
			ev.raw_len = strlen(line);
			ev.time_us = now_us();
			if (rules_eval(ctx, &ev, &res) != 0 ||
			    corr_trial_feed(ct, &res, ev.time_us, fire_cb,
			    tr) != 0) {
				tr->tr_err = 1;
				break;
			}
		}
	corr_trial_close(&ct);
	assert_null(ct);
	rules_ctx_free(&ctx);
	return NULL;
}

static void
test_trials_side_by_side(void **st)
{
	const char		*def[] = { "rules/default" };
	struct rules_diags	 dl;
	struct trial		 alone = { 1, 0, 0 };

	(void)st;
	memset(&dl, 0, sizeof(dl));
	assert_int_equal(ruleset_load(def, 1, &trial_rs, &dl), 0);
	rules_diags_free(&dl);

	trial_run(&alone);
	assert_int_equal(alone.tr_err, 0);
	assert_int_equal(alone.tr_fired, TRIAL_ADDRS);	/* one per address */
	for (int round = 0; round < 3; round++) {
		struct trial	ssh = { 1, 0, 0 }, cron1 = { 0, 0, 0 },
				cron2 = { 0, 0, 0 };
		pthread_t	t1, t2, t3;

		assert_int_equal(pthread_create(&t1, NULL, trial_run, &ssh),
		    0);
		assert_int_equal(pthread_create(&t2, NULL, trial_run, &cron1),
		    0);
		assert_int_equal(pthread_create(&t3, NULL, trial_run, &cron2),
		    0);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		pthread_join(t3, NULL);
		assert_int_equal(ssh.tr_err + cron1.tr_err + cron2.tr_err, 0);
		assert_int_equal(ssh.tr_fired, alone.tr_fired);
		assert_int_equal(cron1.tr_fired + cron2.tr_fired, 0);
	}
	ruleset_free(&trial_rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trials_side_by_side),
	};

	log_init("test_corr_trial", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
