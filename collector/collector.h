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

/*
 * Before tocsind daemonizes: can the collector's listeners (the agents'
 * endpoint, syslog UDP and TCP) be bound?  Binds each and lets it go.  0, or
 * a TS_E* with one line in err saying which and why (a port in use).
 */
int collector_preflight(const struct server_config *cfg, char *err,
    size_t errlen);

/*
 * The read end of the supervisor's notice pipe (non-blocking), set in the
 * collector's process before collector_run.  The supervisor writes one
 * line per notice:
 *   crashed NAME COUNT SECONDS REASON...
 * (NAME a child process, COUNT crashes within SECONDS, REASON how the last
 * one ended), and the collector journals it as the internal event
 *   process NAME crashed COUNT times in DURATION (last: REASON)
 * which rules/default/tocsin.yml alerts on.  -1: none.
 */
void collector_supervisor_fd(int fd);

/* Longest notice line, newline included. */
#define SUPERVISOR_NOTICE_MAX	256

#endif /* TOCSIN_COLLECTOR_H */
