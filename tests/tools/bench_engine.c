/*
 * bench_engine.c - events per second through the engine.
 *
 *   bench_engine -r RULES [-r RULES]... [-n ROUNDS] [-N NAME] [-E] FILE
 *
 * Reads FILE into memory.  Without -E (the matcher, match_eps): runs every
 * line through rules_eval ROUNDS times and prints the median round as
 *   BENCH <NAME> <events/s> events/s
 * plus the alerts per round (the same every round, or the run fails).
 *
 * With -E (the engine, engine_eps): the lines are first journaled (one
 * journal, outside the timing), then each round runs the engine's real
 * loop, engine_run in a child process with a fresh state: journal read,
 * decode, rules, correlation, incident grouping, alerts committed with the
 * cursor in batched transactions.  The round is timed from the first
 * committed batch (the rule set loaded) to the last, read in-process from
 * the state every 2 ms; its rate is the events of those batches over that
 * time.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "collector/journal.h"
#include "engine/engine.h"
#include "engine/state.h"
#include "rules/rules.h"
#include "common/util.h"

#define MAX_ROUNDS	50

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static volatile sig_atomic_t engine_stop, engine_reload;

static void
on_term(int sig)
{
	(void)sig;
	engine_stop = 1;
}

/* Journal the lines into dir/journal, as an agent's events. */
static void
journal_lines(const char *dir, char **lines, size_t *lens, size_t n)
{
	char		*jdir = xasprintf("%s/journal", dir);
	journal_t	*j = NULL;
	struct jevent	*ev;
	size_t		 chunk = 1024, dups;
	uint64_t	 t = now_us(), he, hs;

	if (jdir == NULL || (ev = calloc(chunk, sizeof(*ev))) == NULL)
		fatal("out of memory");
	if (mkdir_p(jdir, 0700) != 0 ||
	    journal_open(jdir, 0, 1ULL << 32, &j) != 0)
		fatal("cannot create the journal in %s", jdir);
	for (size_t i = 0; i < n; i += chunk) {
		size_t m = n - i < chunk ? n - i : chunk;

		for (size_t k = 0; k < m; k++) {
			memset(&ev[k], 0, sizeof(ev[k]));
			ev[k].source = JSRC_AGENT;
			ev[k].recv_us = ev[k].time_us = t;
			ev[k].epoch = 1;
			ev[k].seq = i + k + 1;
			ev[k].agent = "bench";
			ev[k].agent_len = 5;
			ev[k].host = "bench";
			ev[k].host_len = 5;
			ev[k].file = "/var/log/auth.log";
			ev[k].file_len = 17;
			ev[k].drill = "";
			ev[k].raw = lines[i + k];
			ev[k].raw_len = lens[i + k];
		}
		if (journal_append_batch(j, "bench", 1, i + 1, ev, m, NULL, 0,
		    &dups, &he, &hs) != 0)
			fatal("cannot journal the lines");
	}
	journal_close(&j);
	free(ev);
	free(jdir);
}

/* The engine's processed-events counter and cursor, read in-process. */
static int
state_progress(const char *statedir, uint64_t *cursor)
{
	state_t	*st = NULL;
	int	 ret;

	if ((ret = state_open(statedir, STATE_RDONLY, 0, &st)) != 0)
		return ret;
	ret = state_cursor_get(st, cursor);
	state_close(&st);
	return ret;
}

/* One round of the engine's real loop over the journal of dir; events/s,
 * *alerts the alerts it stored. */
static double
engine_round(const char *dir, const char *const *paths, size_t npaths,
    uint64_t last, uint64_t *alerts)
{
	struct server_config	 cfg;
	char			 err[256], *statedir, *cmd;
	uint64_t		 c = 0, c0 = 0, t0 = 0, t1 = 0, deadline;
	pid_t			 pid;
	int			 status;
	state_t			*st = NULL;

	statedir = xasprintf("%s/state", dir);
	cmd = xasprintf("rm -rf '%s' '%s/run'", statedir, dir);
	if (statedir == NULL || cmd == NULL || system(cmd) != 0)
		fatal("cannot clear %s", statedir);
	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGTERM, on_term);
		if (server_config_load(NULL, &cfg, err, sizeof(err)) != 0)
			fatal("default configuration: %s", err);
		free(cfg.data_dir);
		for (size_t i = 0; i < cfg.nrule_paths; i++)
			free(cfg.rule_paths[i]);
		free(cfg.rule_paths);
		cfg.data_dir = strdup(dir);
		cfg.rule_paths = calloc(npaths, sizeof(char *));
		if (cfg.rule_paths == NULL)
			fatal("out of memory");
		for (size_t i = 0; i < npaths; i++)
			cfg.rule_paths[i] = strdup(paths[i]);
		cfg.nrule_paths = npaths;
		log_init("bench_engine", 1, LOG_LVL_ERR);
		_exit(engine_run(&cfg, &engine_stop, &engine_reload) == 0 ?
		    0 : 1);
	}
	deadline = mono_us() + 3600ULL * 1000000;
	while (c < last) {
		if (mono_us() > deadline || waitpid(pid, &status, WNOHANG) ==
		    pid)
			fatal("the engine stopped or stalled at %llu of %llu",
			    (unsigned long long)c, (unsigned long long)last);
		if (state_progress(statedir, &c) == 0 && c > 0 && t0 == 0) {
			c0 = c;
			t0 = mono_us();
		}
		if (c < last)
			usleep(2000);
	}
	t1 = mono_us();
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	*alerts = 0;
	if (state_open(statedir, STATE_RDONLY, 0, &st) == 0) {
		(void)state_alert_count(st, alerts);
		state_close(&st);
	}
	free(statedir);
	free(cmd);
	if (c0 >= last || t1 <= t0)
		fatal("the round was too short to time (one batch)");
	return (double)(last - c0) / ((double)(t1 - t0) / 1e6);
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
	int rounds = 5, ch, engine = 0;

	while ((ch = getopt(argc, argv, "r:n:N:E")) != -1) {
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
		case 'E': engine = 1; break;
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
	if (engine) {
		char tmpl[] = "/tmp/tocsin-bench-engine.XXXXXX", *cmd;
		uint64_t alerts = 0;

		log_init("bench_engine", 1, LOG_LVL_WARN);
		if (mkdtemp(tmpl) == NULL)
			fatal("mkdtemp: %s", strerror(errno));
		journal_lines(tmpl, lines, lens, nlines);
		for (int r = 0; r < rounds; r++) {
			eps[r] = engine_round(tmpl, paths, npaths, nlines,
			    &alerts);
			if (r == 0)
				alerts_first = alerts;
			else if (alerts != alerts_first)
				fatal("round %d stored %llu alerts, round 0 "
				    "%llu", r, (unsigned long long)alerts,
				    (unsigned long long)alerts_first);
		}
		if ((cmd = xasprintf("rm -rf '%s'", tmpl)) != NULL &&
		    system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpl);
		free(cmd);
		qsort(eps, (size_t)rounds, sizeof(eps[0]), cmp_double);
		printf("# %s: the engine's loop (journal, decode, rules, "
		    "correlation, incidents, state commits), %zu lines, "
		    "%llu alerts stored per round, median of %d rounds\n",
		    name, nlines, (unsigned long long)alerts_first, rounds);
		printf("BENCH %s %.0f events/s\n", name, eps[rounds / 2]);
		free(lines);
		free(lens);
		free(buf);
		return 0;
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
	fprintf(stderr, "usage: bench_engine -r RULES... [-n ROUNDS] [-N NAME] "
	    "[-E] FILE\n");
	return 2;
}
