/*
 * bench_wait.c - wait until the engine of DATADIR has processed N events.
 *
 *   bench_wait DATADIR N [TIMEOUT_S]
 *
 * The benchmarks' completion check: one process for the whole wait that
 * reads the engine's counter engine.events_processed from the state
 * (read-only LMDB transaction) every 2 ms, instead of a CLI process per
 * poll.  Exits 0 once the counter reaches N, 1 on timeout (default 600 s)
 * with the last value on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "engine/state.h"

struct want {
	uint64_t	value;
};

static int
on_stat(const char *name, uint64_t value, void *arg)
{
	struct want *w = arg;

	if (strcmp(name, "engine.events_processed") == 0) {
		w->value = value;
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char		*statedir;
	uint64_t	 n, timeout_s = 600, deadline;
	struct want	 w = { 0 };
	state_t		*st = NULL;

	if (argc < 3 || argc > 4 ||
	    parse_u64(argv[2], strlen(argv[2]), UINT64_MAX, &n) != 0 ||
	    (argc == 4 && parse_u64(argv[3], strlen(argv[3]), 86400,
	    &timeout_s) != 0)) {
		fprintf(stderr, "usage: bench_wait DATADIR N [TIMEOUT_S]\n");
		return 2;
	}
	if ((statedir = xasprintf("%s/state", argv[1])) == NULL)
		return 2;
	deadline = mono_us() + timeout_s * 1000000;
	while (w.value < n) {
		if (mono_us() > deadline) {
			fprintf(stderr, "bench_wait: %llu of %llu events "
			    "processed after %llu s\n",
			    (unsigned long long)w.value, (unsigned long long)n,
			    (unsigned long long)timeout_s);
			free(statedir);
			return 1;
		}
		if (st == NULL)
			(void)state_open(statedir, STATE_RDONLY, 0, &st);
		if (st != NULL)
			(void)state_stats_foreach(st, on_stat, &w);
		if (w.value < n)
			usleep(2000);
	}
	state_close(&st);
	free(statedir);
	return 0;
}
