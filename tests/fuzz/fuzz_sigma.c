/*
 * fuzz_sigma.c - libFuzzer target for the Sigma rule compiler: each input
 * is written to a temporary .yml file (one fixed name per process,
 * rewritten every iteration) and loaded with ruleset_load after the
 * shipped Sigma log sources (rules/sigma) and the conformance suite's
 * decoders (tests/sigma/decoders.yml), both under $TOCSIN_TOP (default
 * ".").  Loading must succeed with a rule set or fail with an error
 * diagnostic and no rule set; everything is freed (LeakSanitizer checks).
 * A set that loads also runs on a JSON and a plain text event.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[128], lsrc[1024], decs[1024];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

static void
eval(rules_ctx_t *ctx, const char *line)
{
	struct rules_event ev = { .raw = line, .raw_len = strlen(line),
	    .host = "fuzz", .host_len = 4, .time_us = 1769774400000000ULL };
	struct rules_result res;

	if (rules_eval(ctx, &ev, &res) != 0)
		abort();
	if (res.nalerts > res.nmatched)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*paths[3];
	struct rules_diags	 dl;
	ruleset_t		*rs = NULL;
	FILE			*f;
	int			 rc;

	if (path[0] == '\0') {
		const char *top = getenv("TOCSIN_TOP");

		if (top == NULL || *top == '\0')
			top = ".";
		snprintf(path, sizeof(path), "/tmp/tocsin-fuzz-sigma-%ld.yml",
		    (long)getpid());
		snprintf(lsrc, sizeof(lsrc), "%s/rules/sigma", top);
		snprintf(decs, sizeof(decs), "%s/tests/sigma/decoders.yml",
		    top);
		atexit(cleanup);
	}
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	paths[0] = lsrc;
	paths[1] = decs;
	paths[2] = path;
	memset(&dl, 0, sizeof(dl));
	rc = ruleset_load(paths, 3, &rs, &dl);
	if (rc == 0) {
		rules_ctx_t *ctx;

		if (rs == NULL || dl.errors != 0)
			abort();
		if ((ctx = rules_ctx_new(rs)) != NULL) {
			eval(ctx, "<38>Jan 30 12:00:00 web01 test: {\"a\":\"b\","
			    "\"CommandLine\":\"whoami /all\",\"n\":3}");
			eval(ctx, "<38>Jan 30 12:00:00 web01 sshd[42]: Failed "
			    "password for root from 192.0.2.7 port 22 ssh2");
			rules_ctx_free(&ctx);
		}
		ruleset_free(&rs);
	} else if (rs != NULL || dl.errors == 0)
		abort();
	rules_diags_free(&dl);
	return 0;
}
