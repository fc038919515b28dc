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

struct server_config;

/* 0 on a clean stop, a negative TS_E* on a start-up failure (logged). */
int engine_run(const struct server_config *cfg,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

#endif /* TOCSIN_ENGINE_H */
