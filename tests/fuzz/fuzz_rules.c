/*
 * fuzz_rules.c - libFuzzer target for the native rule / decoder file
 * compiler: each input is written to a temporary .yml file (one fixed name
 * per process, rewritten every iteration) and loaded with ruleset_load.
 * Loading must succeed with a rule set or fail with at least one error
 * diagnostic and no rule set; everything is freed (LeakSanitizer checks).
 * A set that loads also gets a matching context and one event.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[128];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*paths[1];
	struct rules_diags	 dl;
	ruleset_t		*rs = NULL;
	FILE			*f;
	int			 rc;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/tocsin-fuzz-rules-%ld.yml",
		    (long)getpid());
		atexit(cleanup);
	}
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	paths[0] = path;
	memset(&dl, 0, sizeof(dl));
	rc = ruleset_load(paths, 1, &rs, &dl);
	if (rc == 0) {
		rules_ctx_t *ctx;

		if (rs == NULL || dl.errors != 0)
			abort();
		(void)ruleset_rule_count(rs);
		if ((ctx = rules_ctx_new(rs)) != NULL) {
			static const char line[] = "<38>Jan 30 12:00:00 web01 "
			    "sshd[42]: Failed password for root from "
			    "192.0.2.7 port 22 ssh2";
			struct rules_event ev = { .raw = line,
			    .raw_len = sizeof(line) - 1, .host = "fuzz",
			    .host_len = 4, .time_us = 1769774400000000ULL };
			struct rules_result res;

			if (rules_eval(ctx, &ev, &res) != 0)
				abort();
			rules_ctx_free(&ctx);
		}
		ruleset_free(&rs);
	} else if (rs != NULL || dl.errors == 0)
		abort();
	for (size_t i = 0; i < dl.n; i++)
		if (dl.d[i].msg == NULL)
			abort();
	rules_diags_free(&dl);
	return 0;
}
