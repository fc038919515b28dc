/*
 * collector.h - the network-facing process of tocsind.
 *
 * collector_run() binds the agents' ZeroMQ ROUTER socket (CURVE server, ZAP
 * handler admitting only enrolled keys) and the syslog listeners, appends
 * what it receives to the journal and acknowledges agents after commit.  It
 * returns when *stop becomes non-zero (set from a SIGTERM handler).
 */
#ifndef TOCSIN_COLLECTOR_H
#define TOCSIN_COLLECTOR_H

#include <signal.h>

struct server_config;

/* Returns 0 on a clean stop, a negative TS_E* on a start-up failure (logged). */
int collector_run(const struct server_config *cfg,
    volatile sig_atomic_t *stop);

#endif /* TOCSIN_COLLECTOR_H */
