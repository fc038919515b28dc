/*
 * bench_engine.c - events per second through decode and rules, one thread.
 *
 *   bench_engine -r RULES [-r RULES]... [-n ROUNDS] [-N NAME] FILE
 *
 * Reads FILE into memory, then runs every line through rules_eval (the
 * engine's own code path) ROUNDS times and prints the median round as
 *   BENCH <NAME> <events/s> events/s
 * plus the alerts per round (the same every round, or the run fails).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "rules/rules.h"
#include "common/util.h"

#define MAX_ROUNDS	50

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	const char *paths[16], *name = "engine_eps";
	size_t npaths = 0, nlines = 0, cap = 0;
	struct rules_diags diags = {0};
	struct rules_result res;
	struct rules_event ev;
	ruleset_t *rs = NULL;
	rules_ctx_t *ctx;
	char *buf, **lines = NULL;
	size_t *lens = NULL, len;
	double eps[MAX_ROUNDS];
	uint64_t alerts_first = 0;
	int rounds = 5, ch;

	while ((ch = getopt(argc, argv, "r:n:N:")) != -1) {
		switch (ch) {
		case 'r':
			if (npaths == 16)
				fatal("too many -r");
			paths[npaths++] = optarg;
			break;
		case 'n': {
			uint64_t v;
			if (parse_u64(optarg, strlen(optarg), MAX_ROUNDS, &v) != 0)
				goto usage;
			rounds = (int)v;
			break;
		}
		case 'N': name = optarg; break;
		default: goto usage;
		}
	}
	if (optind + 1 != argc || npaths == 0 || rounds < 1 ||
	    rounds > MAX_ROUNDS)
		goto usage;
	if (read_file(argv[optind], 1u << 30, &buf, &len) != 0)
		fatal("cannot read %s", argv[optind]);
	for (char *p = buf, *e; p < buf + len; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			e = buf + len;
		if (nlines == cap) {
			cap = cap ? cap * 2 : 4096;
			lines = realloc(lines, cap * sizeof(*lines));
			lens = realloc(lens, cap * sizeof(*lens));
			if (lines == NULL || lens == NULL)
				fatal("out of memory");
		}
		lines[nlines] = p;
		lens[nlines++] = (size_t)(e - p);
	}
	if (ruleset_load(paths, npaths, &rs, &diags) != 0) {
		rules_diags_print(&diags, stderr);
		fatal("rule set has errors");
	}
	rules_diags_free(&diags);
	if ((ctx = rules_ctx_new(rs)) == NULL)
		fatal("out of memory");

	memset(&ev, 0, sizeof(ev));
	ev.host = "bench"; ev.host_len = 5;
	ev.agent = "bench"; ev.agent_len = 5;
	ev.file = "bench.log"; ev.file_len = 9;
	ev.time_us = now_us();
	for (int r = 0; r < rounds; r++) {
		uint64_t alerts = 0, t0 = mono_us(), dt;
		for (size_t i = 0; i < nlines; i++) {
			ev.raw = lines[i];
			ev.raw_len = lens[i];
			if (rules_eval(ctx, &ev, &res) != 0)
				fatal("rules_eval failed");
			alerts += res.nalerts;
		}
		dt = mono_us() - t0;
		eps[r] = (double)nlines / ((double)(dt ? dt : 1) / 1e6);
		if (r == 0)
			alerts_first = alerts;
		else if (alerts != alerts_first)
			fatal("round %d raised %llu alerts, round 0 %llu", r,
			    (unsigned long long)alerts,
			    (unsigned long long)alerts_first);
	}
	qsort(eps, (size_t)rounds, sizeof(eps[0]), cmp_double);
	printf("# %s: %zu lines, %zu rules, %llu alerts per round, median of "
	    "%d rounds\n", name, nlines, ruleset_rule_count(rs),
	    (unsigned long long)alerts_first, rounds);
	printf("BENCH %s %.0f events/s\n", name, eps[rounds / 2]);
	rules_ctx_free(&ctx);
	ruleset_free(&rs);
	free(lines);
	free(lens);
	free(buf);
	return 0;
usage:
	fprintf(stderr, "usage: bench_engine -r RULES... [-n ROUNDS] [-N NAME] FILE\n");
	return 2;
}
