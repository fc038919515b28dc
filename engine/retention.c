/*
 * retention.c - the state's retention, run by the engine (its only writer)
 * between batches, once a second.
 *
 *   alerts     detected (wall clock, "detected") longer ago than
 *              engine.alert_retention: deleted with their index keys,
 *              oldest id first (ids grow with detection time).  The event
 *              time is not used: a drill replays old events, and its
 *              alerts are new.
 *   incidents  resolved or false positive, last updated longer ago than
 *              engine.incident_retention: deleted with the entity keys
 *              that still point at them; an open or acknowledged incident
 *              is never deleted, whatever its age.
 *   incident_log  changes older than engine.incident_retention.
 *
 * Each transaction deletes at most RETENTION_BATCH records and a tick
 * spends at most RETENTION_BUDGET_US, so detection waits at most that long.
 * The incidents are walked RETENTION_BATCH at a time from where the last
 * tick stopped, so a large table costs a bounded amount per tick.
 */
/* memmem(3): glibc declares it only with _GNU_SOURCE (also in BSD libcs). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "engine/engine_int.h"
#include "engine/state.h"

/* Records deleted (or incidents looked at) per write transaction. */
#define RETENTION_BATCH		256
/* Time one tick may spend. */
#define RETENTION_BUDGET_US	(50 * 1000)

struct ret_walk {
	uint64_t	 before_us;	/* delete what is older */
	uint64_t	 ids[RETENTION_BATCH];
	size_t		 n;		/* ids collected */
	size_t		 seen;		/* records looked at */
	uint64_t	 next;		/* incidents: key to resume from */
	int		 more;		/* stopped at the batch size */
};

/* Microseconds of an RFC 3339 member of o; 0 if absent or bad. */
static uint64_t
json_time(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	uint64_t us;

	if (s == NULL || parse_rfc3339(s, strlen(s), &us) != 0)
		return 0;
	return us;
}

/* Alerts: collect ids, oldest first, while detected before the cutoff. */
static int
alert_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct ret_walk *w = arg;
	json_t *a;
	uint64_t det;

	if (w->n == RETENTION_BATCH) {
		w->more = 1;
		return 1;
	}
	if ((a = json_loadb(json, len, 0, NULL)) == NULL) {
		w->ids[w->n++] = id;	/* unreadable: nothing to keep */
		return 0;
	}
	det = json_time(a, "detected");
	json_decref(a);
	if (det == 0 || det >= w->before_us)
		return 1;
	w->ids[w->n++] = id;
	return 0;
}

static int
closed(json_t *inc)
{
	const char *st = json_string_value(json_object_get(inc, "state"));

	return st != NULL && (strcmp(st, "resolved") == 0 ||
	    strcmp(st, "false_positive") == 0);
}

/* The state member of an open or acknowledged incident, as printed. */
static const char st_open[] = "\"state\":\"open\"";
static const char st_ack[] = "\"state\":\"acknowledged\"";

/* Incidents: collect closed ones updated before the cutoff, looking at
 * RETENTION_BATCH incidents from w->next on. */
static int
incident_cb(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct ret_walk *w = arg;
	json_t *inc;
	uint64_t id, upd;

	if (klen != 8)
		return 0;
	if (w->seen == RETENTION_BATCH) {
		w->more = 1;
		return 1;
	}
	w->seen++;
	id = get_be64(k);
	w->next = id + 1;
	/* An open or acknowledged incident is kept whatever its age: the
	 * engine prints its state member exactly so (a quote inside a
	 * string value is always escaped), and a flood's incident (ten
	 * thousand alert ids) is not parsed each second to learn it. */
	if (memmem(v, vlen, st_open, sizeof(st_open) - 1) != NULL ||
	    memmem(v, vlen, st_ack, sizeof(st_ack) - 1) != NULL)
		return 0;
	if ((inc = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	upd = json_time(inc, "updated");
	if (closed(inc) && upd != 0 && upd < w->before_us)
		w->ids[w->n++] = id;
	json_decref(inc);
	return 0;
}

/* Incident log: collect sequences of changes before the cutoff. */
static int
log_cb(const void *k, size_t klen, const void *v, size_t vlen, void *arg)
{
	struct ret_walk *w = arg;
	json_t *ch;
	json_int_t t;

	if (klen != 8)
		return 0;
	if (w->n == RETENTION_BATCH) {
		w->more = 1;
		return 1;
	}
	if ((ch = json_loadb(v, vlen, 0, NULL)) == NULL) {
		w->ids[w->n++] = get_be64(k);
		return 0;
	}
	t = json_integer_value(json_object_get(ch, "time_us"));
	json_decref(ch);
	if (t <= 0 || (uint64_t)t >= w->before_us)
		return 1;
	w->ids[w->n++] = get_be64(k);
	return 0;
}

/* One transaction of one kind.  0 with *more set when there is more. */
static int
retention_step(state_t *s, int kind, uint64_t before_us, uint64_t *resume,
    uint64_t *deleted, int *more)
{
	state_txn_t *t = NULL;
	struct ret_walk *w;
	unsigned char k[8];
	int ret;

	*more = 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return TS_ENOMEM;
	w->before_us = before_us;
	if ((ret = state_begin(s, &t)) != 0)
		goto out;
	if (kind == 0)
		ret = state_txn_walk_alerts(t, alert_cb, w);
	else if (kind == 1) {
		put_be64(k, *resume);
		ret = state_txn_walk(t, STATE_DB_INCIDENTS, k, 8, incident_cb,
		    w);
	} else
		ret = state_txn_walk(t, STATE_DB_INC_LOG, NULL, 0, log_cb, w);
	for (size_t i = 0; ret == 0 && i < w->n; i++) {
		if (kind == 0)
			ret = state_txn_del_alert(t, w->ids[i]);
		else if (kind == 1)
			ret = incident_remove(t, w->ids[i]);
		else {
			put_be64(k, w->ids[i]);
			ret = state_txn_del(t, STATE_DB_INC_LOG, k, 8);
		}
	}
	if (ret != 0) {
		state_abort(&t);
		goto out;
	}
	if ((ret = state_commit(&t)) != 0)
		goto out;
	*deleted += w->n;
	*more = w->more;
	if (kind == 1)
		*resume = w->more ? w->next : 0;	/* wrap around */
out:
	free(w);
	return ret;
}

int
engine_retention_run(state_t *s, const struct server_config *cfg,
    uint64_t *alerts, uint64_t *incidents, uint64_t *changes)
{
	static uint64_t inc_resume;
	uint64_t start = mono_us(), now = now_us(), before;
	int more, ret = 0;

	if (cfg->alert_retention_us > 0 && now > cfg->alert_retention_us) {
		before = now - cfg->alert_retention_us;
		do {
			ret = retention_step(s, 0, before, NULL, alerts, &more);
		} while (ret == 0 && more &&
		    mono_us() - start < RETENTION_BUDGET_US);
	}
	if (ret == 0 && cfg->incident_retention_us > 0 &&
	    now > cfg->incident_retention_us) {
		before = now - cfg->incident_retention_us;
		do {
			ret = retention_step(s, 1, before, &inc_resume,
			    incidents, &more);
		} while (ret == 0 && more &&
		    mono_us() - start < RETENTION_BUDGET_US);
		do {
			if (ret != 0)
				break;
			ret = retention_step(s, 2, before, NULL, changes,
			    &more);
		} while (ret == 0 && more &&
		    mono_us() - start < RETENTION_BUDGET_US);
	}
	return ret;
}
