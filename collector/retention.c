/*
 * retention.c - the journal's retention, run by the collector (its only
 * writer) on its statistics tick.
 *
 * Events received longer ago than collector.retention are deleted from the
 * oldest on (journal_retain), never one the engine has not processed: the
 * engine's cursor is read through the state's module, read-only.  Each
 * transaction deletes at most RETENTION_BATCH events and a tick spends at
 * most RETENTION_BUDGET_US, so agents and syslog wait at most that long
 * for their next commit; a backlog (a retention shortened, a server
 * stopped for days) is worked off over the following ticks.
 */
#include <stdlib.h>

#include "collector/collector_int.h"
#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "engine/state.h"

/* Events deleted per write transaction. */
#define RETENTION_BATCH		1024
/* Time one tick may spend deleting. */
#define RETENTION_BUDGET_US	(50 * 1000)

static state_t *ret_state;	/* the engine's state, read-only */

void
retention_run(journal_t *j, const struct server_config *cfg,
    uint64_t *deleted, uint64_t *txns, uint64_t *held)
{
	uint64_t start = mono_us(), cursor = 0, before;
	size_t n;
	int more, err;
	char *dir;

	if (cfg->retention_us == 0)
		return;
	if (ret_state == NULL) {
		if ((dir = xasprintf("%s/state", cfg->data_dir)) == NULL)
			return;
		err = state_open(dir, STATE_RDONLY, 0, &ret_state);
		free(dir);
		if (err != 0) {	/* no engine yet: it has processed nothing */
			ret_state = NULL;
			return;
		}
	}
	(void)state_readers_reclaim(ret_state, NULL);
	if (state_cursor_get(ret_state, &cursor) != 0)
		return;
	before = now_us();
	before = before > cfg->retention_us ? before - cfg->retention_us : 0;
	do {
		if ((err = journal_retain(j, before, cursor, RETENTION_BATCH, &n,
		    &more)) != 0) {
			log_warn("collector: retention: %s", ts_strerror(err));
			return;
		}
		if (n > 0) {
			*deleted += n;
			*txns += 1;
		}
	} while (more && mono_us() - start < RETENTION_BUDGET_US);
	/* Old events the engine still has to process (gauge). */
	if (held != NULL) {
		struct journal_span sp;

		*held = 0;
		if (journal_span(j, &sp) == 0 && sp.first_jseq != 0 &&
		    sp.first_recv_us < before && sp.first_jseq > cursor)
			*held = sp.last_jseq - cursor;
	}
}

void
retention_close(void)
{
	state_close(&ret_state);
}
