/*
 * fuzz_groupconf.c - libFuzzer target for a group's central configuration
 * (group_config_parse), which the collector reads from the groups folder
 * and every agent parses again from a CONFIG frame: any bytes must parse
 * or fail with a "name:line:col: message" diagnostic, without leaks; what
 * parses must apply over an agent configuration within its limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "common/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct group_config g;
	struct agent_config base, eff;
	char err[512];
	int rc;

	rc = group_config_parse("g.yml", (const char *)data, size, &g, err,
	    sizeof(err));
	if (rc != 0) {
		if (rc != TS_EPARSE && rc != TS_ENOMEM)
			abort();
		if (rc == TS_EPARSE && strncmp(err, "g.yml:", 6) != 0)
			abort();
		if (g.follow != NULL || g.journal_units != NULL)
			abort();
		return 0;
	}
	memset(&base, 0, sizeof(base));
	base.spool_max_bytes = 1 << 20;
	group_config_apply(&base, &g, &eff);
	for (size_t i = 0; i < eff.nfollow; i++)
		if (eff.follow[i] == NULL || eff.follow[i][0] == '\0' ||
		    strlen(eff.follow[i]) > MAX_PATH_BYTES)
			abort();
	for (size_t i = 0; i < eff.njournal_units; i++)
		if (strlen(eff.journal_units[i]) > MAX_UNIT_BYTES)
			abort();
	if (eff.spool_max_bytes < 64 * 1024 &&
	    eff.spool_max_bytes != base.spool_max_bytes)
		abort();
	group_config_free(&g);
	return 0;
}
