/*
 * engine.h - the rules process of tocsind.
 *
 * engine_run() loads the rule set, then loops: read the journal from the
 * state's cursor in batches, decode and match each event, and commit the
 * alerts with the advanced cursor in one state transaction.  When *reload is
 * set (SIGHUP) it loads the rule set again between two batches and keeps the
 * old one if the new one has errors.  Returns when *stop becomes non-zero.
 */
#ifndef TOCSIN_ENGINE_H
#define TOCSIN_ENGINE_H

#include <signal.h>
#include <stdint.h>

#include "rules/correlate.h"

struct server_config;

/* 0 on a clean stop, a negative TS_E* on a start-up failure (logged). */
int engine_run(const struct server_config *cfg,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

/*
 * Correlation without a daemon (`tocsin rules test`): the engine's own
 * evaluation of cs over a throw-away state in a temporary folder (TMPDIR,
 * else /tmp) that corr_trial_close removes.  Feed it each event's rules
 * result in order; cb is called for each correlation rule that fires (ri
 * is the rule, count its events or distinct values; nonzero stops).  The
 * event time (res->time_us, else time_us) stands for the wall clock.
 * Functions return 0 or a TS_E*.  One trial is open at a time in a
 * process (correlation keeps its caches in the process): corr_trial_open
 * waits until the open one is closed, so a thread opens one at most.
 */
typedef struct corr_trial corr_trial_t;
typedef int (*corr_trial_fire_cb)(const struct rule_info *ri,
    uint32_t count, void *arg);

int corr_trial_open(const corr_set_t *cs, corr_trial_t **out);
int corr_trial_feed(corr_trial_t *ct, const struct rules_result *res,
    uint64_t time_us, corr_trial_fire_cb cb, void *arg);
void corr_trial_close(corr_trial_t **ct);

#endif /* TOCSIN_ENGINE_H */
