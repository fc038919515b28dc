/*
 * engine_int.h - private to the engine process: correlation windows
 * (correlate.c), incidents (incident.c) and control requests (control.c),
 * all kept in the state's dbs (state.h) within the batch's transaction.
 */
#ifndef TOCSIN_ENGINE_INT_H
#define TOCSIN_ENGINE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/correlate.h"
#include "rules/rules.h"
#include "engine/state.h"

/*
 * A growing text buffer (engine/jbuf.c): the engine prints alerts,
 * incidents and change-log records into one instead of building jansson
 * objects.  Appends never fail: on an allocation failure (or a size past
 * SIZE_MAX / 2) oom is set, later appends do nothing, and the caller
 * checks oom once at the end.  The caller owns b (free it).
 */
struct jbuf {
	char	*b;
	size_t	 len, cap;
	int	 oom;		/* an append failed: b is incomplete */
};

/* Room for n more bytes (or oom). */
void jb_need(struct jbuf *jb, size_t n);
/* jb_raw's slow path: grow, then copy. */
void jb_raw_grow(struct jbuf *jb, const char *p, size_t n);
/* v in decimal. */
void jb_u64(struct jbuf *jb, uint64_t v);

/* Append n bytes of p.  Inline with the room checked first: an alert is
 * some sixty of these, most a few bytes of a literal. */
static inline void
jb_raw(struct jbuf *jb, const char *p, size_t n)
{
	if (!jb->oom && n <= jb->cap - jb->len) {
		memcpy(jb->b + jb->len, p, n);
		jb->len += n;
	} else
		jb_raw_grow(jb, p, n);
}

/* Append the NUL-terminated s. */
static inline void
jb_lit(struct jbuf *jb, const char *s)
{
	jb_raw(jb, s, strlen(s));
}

struct server_config;

/* Correlation windows kept at most; past it the oldest expire first. */
#define MAX_CORR_WINDOWS	100000
/* Entries one window keeps; past it its oldest are dropped (counted). */
#define MAX_CORR_ENTRIES	1024
/* Alert ids a correlation alert lists at most. */
#define MAX_CORR_ALERT_IDS	64
/* A window lives this long (wall clock) past max(timeframe, suppress)
 * after its last change, so late events still find it. */
#define CORR_GRACE_US		(60ULL * 1000000)
/* Alert ids an incident lists at most (alert_count keeps counting). */
#define MAX_INCIDENT_ALERTS	10000
/* Notes and entities of one incident at most. */
#define MAX_INCIDENT_NOTES	1000
#define MAX_INCIDENT_ENTITIES	100
/* Longest note, assignee, analyst name. */
#define MAX_NOTE_BYTES		4096

/* Counters of correlation (engine.c puts them in its table). */
struct corr_counters {
	uint64_t	fired;		/* correlation alerts */
	uint64_t	suppressed;	/* matches inside a suppression */
	uint64_t	late;		/* events older than their window */
	uint64_t	dropped;	/* entries dropped: window full */
	uint64_t	expired;	/* windows expired (time) */
	uint64_t	evicted;	/* windows evicted (MAX_CORR_WINDOWS) */
	uint64_t	no_group;	/* events without a same:/distinct: field */
};

/* A correlation rule fired: what the alert says. */
struct corr_fire {
	const struct corr_rule	*rule;
	uint64_t		 time_us;	/* event time of the last event */
	uint32_t		 count;		/* events (distinct: values) */
	uint64_t		 suppressed;	/* since the previous alert */
	const char *const	*group_names;	/* rule->same */
	const char *const	*group_vals;	/* NUL-terminated copies */
	size_t			 ngroup;
	const uint64_t		*alert_ids;
	size_t			 nalert_ids;
};

/*
 * Run every correlation rule of cs on one evaluated event (res; its event
 * time time_us, drill name or "", event_alert the id of the first alert
 * the event raised or 0).  fire is called for each rule that fires (its
 * strings valid during the call).  0 or a TS_E*.
 */
int corr_eval(state_txn_t *t, const corr_set_t *cs,
    const struct rules_result *res, uint64_t time_us, const char *drill,
    uint64_t event_alert, uint64_t wall_us, struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg);

/* Expire windows past their wall-clock expiry, and the oldest while more
 * than max_windows are kept.  0 or a TS_E*. */
int corr_expire(state_txn_t *t, uint64_t wall_us, uint64_t max_windows,
    struct corr_counters *cc);

/* Remove every window of drill.  0 or a TS_E*. */
int corr_drill_clean(state_txn_t *t, const char *drill);

/* An alert as incidents see it (strings NUL-terminated, may be NULL). */
struct inc_alert {
	uint64_t		 id;		/* alert id (incident_attach) */
	uint64_t		 time_us;	/* event time */
	int			 level;
	const char		*rule_id, *rule_title;
	const char		*host, *srcip, *user;
	const char *const	*mitre;
	size_t			 nmitre;
	const char		*drill;		/* NULL or "": not a drill */
};

/*
 * The incident an alert at or above cfg->incident_min_level opens or joins:
 * *incid (0: none, below the level), *isnew when it opens one (the id is
 * allocated).  0 or a TS_E*.
 */
int incident_pick(state_txn_t *t, const struct server_config *cfg,
    const struct inc_alert *a, uint64_t *incid, int *isnew);
/* Incidents changed in transaction t are kept parsed until the batch
 * ends: incident_flush writes them into t (call it before the commit),
 * incident_forget drops them (after an abort).  0 or a TS_E*. */
int incident_flush(state_txn_t *t);
void incident_forget(void);
/* Record alert a (id set) in incident incid (open it when isnew), index
 * its entities and log the change.  0 or a TS_E*. */
int incident_attach(state_txn_t *t, uint64_t incid, int isnew,
    const struct inc_alert *a, uint64_t wall_us);

/*
 * Apply an analyst's change op ("incident_ack", ...) of request req (a
 * jansson json_t *, object) to its incident.  On success *answer (jansson
 * object, caller decrefs) holds {"incident": {...}}; on a refusal returns
 * TS_EINVAL / TS_ENOTFOUND with the reason in err.
 */
int incident_apply(state_txn_t *t, const char *op, void *req,
    uint64_t wall_us, void **answer, char *err, size_t errlen);

/* Delete incident id and the entity keys that still point at it (they
 * would make a new alert join a case that is gone).  Retention: no
 * "removed" change is logged.  0 if it is not there. */
int incident_remove(state_txn_t *t, uint64_t id);

/* The state's retention (retention.c): one tick, at most about 50 ms,
 * adding what it deleted to the three counters.  0 or a TS_E* (the next
 * tick tries again). */
struct server_config;
int engine_retention_run(state_t *s, const struct server_config *cfg,
    uint64_t *alerts, uint64_t *incidents, uint64_t *changes);

/* Remove drill's incidents (and their entity keys), logging "removed"
 * for each (by whom, when).  *n: how many. */
int incident_drill_clean(state_txn_t *t, const char *drill, const char *by,
    uint64_t wall_us, uint64_t *n);

/* Append one change to db "incident_log".  extra (json_t * object or
 * NULL) members are added; snapshot (json_t * incident) is copied without
 * alerts and notes.  0 or a TS_E*. */
int incident_log(state_txn_t *t, uint64_t incid, const char *change,
    const char *by, uint64_t wall_us, void *extra, void *snapshot);

/*
 * Apply the pending control requests of DATADIR/control in one state
 * transaction of their own, then answer them.  counters: applied, refused.
 * 0 or a TS_E*.
 */
int engine_control_run(state_t *s, const char *datadir, uint64_t *applied,
    uint64_t *refused);

#endif /* TOCSIN_ENGINE_INT_H */
