/*
 * fuzz_control.c - libFuzzer target for the control requests the engine
 * parses (common/control.c control_take, engine/control.c): the request
 * parsing is static, so the target goes through the public entry points.
 * Each input is submitted with control_submit into a private data folder
 * and applied with engine_control_run on a state that holds two incidents
 * (ids 1 and 2); exactly one answer must come back, and it must be a JSON
 * object with a boolean "ok".  The state is recreated every
 * RESET_EVERY inputs so it stays small.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/config.h"
#include "common/control.h"
#include "common/err.h"
#include "common/util.h"
#include "engine/state.h"
#include "engine/engine_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RESET_EVERY	2000

static char dir[64], sdir[128];
static state_t *st;
static unsigned iter;

static void
rm_tree(void)
{
	char cmd[256];

	if (dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)system(cmd);
}

static void
cleanup(void)
{
	state_close(&st);
	rm_tree();
}

static void
add_alert(const struct server_config *cfg, uint64_t aid, const char *host,
    const char *drill)
{
	static const char *const mitre[] = { "T1110" };
	struct inc_alert a;
	state_txn_t	*tx;
	uint64_t	 id;
	int		 isnew;

	memset(&a, 0, sizeof(a));
	a.id = aid;
	a.time_us = 1769774400000000ULL + aid;
	a.level = 10;
	a.rule_id = "r.x";
	a.rule_title = "something bad";
	a.host = host;
	a.srcip = "192.0.2.7";
	a.user = "root";
	a.mitre = mitre;
	a.nmitre = 1;
	a.drill = drill;
	if (state_begin(st, &tx) != 0)
		abort();
	if (incident_pick(tx, cfg, &a, &id, &isnew) != 0)
		abort();
	if (id != 0 && incident_attach(tx, id, isnew, &a, now_us()) != 0)
		abort();
	if (state_commit(&tx) != 0)
		abort();
}

static void
open_state(void)
{
	struct server_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.data_dir = dir;
	cfg.incident_min_level = 8;
	cfg.incident_window_us = 3600ULL * 1000000;
	if (state_open(sdir, 0, 64ULL << 20, &st) != 0)
		abort();
	add_alert(&cfg, 1, "web01", NULL);
	add_alert(&cfg, 2, "db01", "d1");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 id[CONTROL_ID_BYTES], *ans = NULL, *p;
	uint64_t	 applied = 0, refused = 0;
	json_t		*a;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/tocsin-fuzz-control-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(sdir, sizeof(sdir), "%s/state", dir);
		atexit(cleanup);
		open_state();
	}
	if (++iter % RESET_EVERY == 0) {
		state_close(&st);
		rm_tree();
		if (mkdir_p(dir, 0700) != 0)
			abort();
		open_state();
	}
	if (control_submit(dir, (const char *)data, size, id) != 0)
		abort();
	if (engine_control_run(st, dir, &applied, &refused) != 0)
		abort();
	/* refused by control_take itself: no count, but an answer */
	if (applied + refused > 1)
		abort();
	if (control_wait(dir, id, 0, &ans) != 0)
		abort();
	if ((a = json_loads(ans, 0, NULL)) == NULL ||
	    !json_is_boolean(json_object_get(a, "ok")))
		abort();
	json_decref(a);
	free(ans);
	/* the answer stays in done/: remove it */
	if ((p = xasprintf("%s/control/done/%s", dir, id)) == NULL)
		abort();
	(void)unlink(p);
	free(p);
	return 0;
}
