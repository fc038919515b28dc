/*
 * corr_trial.c - correlation without a daemon, for `tocsin rules test`: the
 * engine's own evaluation (corr_eval, its windows, suppression and
 * ordering) over a throw-away state in a temporary folder, so that what a
 * sequence of lines fires in a test is what it fires in the engine.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "engine/state.h"

/* Map size of the throw-away state (LMDB grows it as needed). */
#define CORR_TRIAL_MAP_BYTES	(16ULL * 1024 * 1024)
/* Events evaluated in one transaction: the state is thrown away, so a
 * commit (an fsync) per event would only slow a long test down. */
#define CORR_TRIAL_TXN_EVENTS	4096

struct corr_trial {
	const corr_set_t	*ct_cs;
	state_t			*ct_state;
	state_txn_t		*ct_txn;	/* open across feeds, or NULL */
	size_t			 ct_ntxn;	/* events in ct_txn */
	char			 ct_dir[256];	/* the temporary folder */
	struct corr_counters	 ct_cc;
	corr_trial_fire_cb	 ct_cb;		/* the caller's, per feed */
	void			*ct_arg;
};

/* Remove the state files and the folder (best effort). */
static void
trial_rmdir(const char *dir)
{
	static const char *const files[] = { "data.mdb", "lock.mdb" };
	char p[300];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		(void)unlink(p);
	}
	(void)rmdir(dir);
}

/*
 * One trial at a time in a process: corr_eval keeps its caches (the
 * windows of the transaction in use, the last matched rules' steps) in the
 * process, as the engine evaluates one event at a time.  The API answers
 * each request on a thread of its own, so a trial holds this from open to
 * close and a concurrent rule test waits for it.
 */
static pthread_mutex_t trial_mu = PTHREAD_MUTEX_INITIALIZER;

int
corr_trial_open(const corr_set_t *cs, corr_trial_t **out)
{
	struct corr_trial *ct;
	const char *tmp = getenv("TMPDIR");
	int ret;

	*out = NULL;
	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return TS_ENOMEM;
	pthread_mutex_lock(&trial_mu);
	ct->ct_cs = cs;
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(ct->ct_dir, sizeof(ct->ct_dir),
	    "%s/tocsin-rules-test.XXXXXX", tmp) >= sizeof(ct->ct_dir) ||
	    mkdtemp(ct->ct_dir) == NULL) {
		pthread_mutex_unlock(&trial_mu);
		free(ct);
		return TS_EIO;
	}
	/* thrown away at the end: a sync per commit would only cost time */
	if ((ret = state_open(ct->ct_dir, STATE_NOSYNC, CORR_TRIAL_MAP_BYTES,
	    &ct->ct_state)) != 0) {
		trial_rmdir(ct->ct_dir);
		pthread_mutex_unlock(&trial_mu);
		free(ct);
		return ret;
	}
	*out = ct;
	return 0;
}

/* corr_eval's callback: tell the caller. */
static int
trial_fire(const struct corr_fire *f, void *arg)
{
	struct corr_trial *ct = arg;

	return ct->ct_cb(&f->rule->info, f->count, ct->ct_arg);
}

int
corr_trial_feed(corr_trial_t *ct, const struct rules_result *res,
    uint64_t time_us, corr_trial_fire_cb cb, void *arg)
{
	int ret;

	if (corr_set_count(ct->ct_cs) == 0 || res->nmatched == 0)
		return 0;
	if (res->time_us != 0)
		time_us = res->time_us;
	ct->ct_cb = cb;
	ct->ct_arg = arg;
	if (ct->ct_txn == NULL &&
	    (ret = state_begin(ct->ct_state, &ct->ct_txn)) != 0)
		return ret;
	/* the event's own time stands for the wall clock: a test replays
	 * old lines, and their windows must not expire while it runs */
	ret = corr_eval(ct->ct_txn, ct->ct_cs, res, time_us, "", 0, time_us,
	    &ct->ct_cc, trial_fire, ct);
	if (ret != 0) {
		state_abort(&ct->ct_txn);
		ct->ct_ntxn = 0;
		return ret;
	}
	if (++ct->ct_ntxn >= CORR_TRIAL_TXN_EVENTS) {
		ct->ct_ntxn = 0;
		return state_commit(&ct->ct_txn);
	}
	return 0;
}

void
corr_trial_close(corr_trial_t **ctp)
{
	struct corr_trial *ct;

	if (ctp == NULL || (ct = *ctp) == NULL)
		return;
	state_abort(&ct->ct_txn);	/* thrown away with the state */
	state_close(&ct->ct_state);
	trial_rmdir(ct->ct_dir);
	free(ct);
	*ctp = NULL;
	pthread_mutex_unlock(&trial_mu);
}
