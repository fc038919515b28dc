/*
 * control.c - the engine's side of the control requests (common/control.h):
 * analysts' incident changes and drill housekeeping, applied in a state
 * transaction of their own that also records each request ID (db
 * "control_applied"), so a request is applied once even when the engine
 * dies between the commit and the answer.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/control.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/util.h"
#include "engine/drill.h"
#include "engine/engine_int.h"

/* Requests applied per transaction at most. */
#define CONTROL_PER_TXN		64
struct pending {
	char	 id[CONTROL_ID_BYTES];
	char	*answer;
};

struct control_run {
	state_txn_t	*t;
	struct pending	 p[CONTROL_PER_TXN];
	size_t		 n;
	uint64_t	 applied, refused;
	uint64_t	 wall_us;
};

struct alert_ids {
	const char	*drill;
	uint64_t	*ids;
	size_t		 n, cap;
	int		 oom;
};

static int
drill_alert_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct alert_ids	*a = arg;
	json_t			*root;
	const char		*d;
	int			 hit;

	if ((root = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;
	d = json_string_value(json_object_get(root, "drill"));
	hit = d != NULL && strcmp(d, a->drill) == 0;
	json_decref(root);
	if (!hit)
		return 0;
	if (a->n == a->cap) {
		size_t	  ncap = a->cap ? a->cap * 2 : 256;
		uint64_t *ni = realloc(a->ids, ncap * sizeof(*ni));

		if (ni == NULL) {
			a->oom = 1;
			return 1;
		}
		a->ids = ni;
		a->cap = ncap;
	}
	a->ids[a->n++] = id;
	return 0;
}

/* drill_clean: the drill's alerts, incidents and correlation windows. */
static int
control_drill_clean(struct control_run *cr, const char *drill,
    const char *by, json_t *ans)
{
	struct alert_ids	a;
	uint64_t		ninc = 0;
	int			ret;

	memset(&a, 0, sizeof(a));
	a.drill = drill;
	if ((ret = state_txn_walk_alerts(cr->t, drill_alert_cb, &a)) != 0)
		goto out;
	if (a.oom) {
		ret = TS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < a.n; i++)
		if ((ret = state_txn_del_alert(cr->t, a.ids[i])) != 0)
			goto out;
	if ((ret = incident_drill_clean(cr->t, drill, by, cr->wall_us,
	    &ninc)) != 0 ||
	    (ret = corr_drill_clean(cr->t, drill)) != 0)
		goto out;
	json_object_set_new(ans, "alerts_removed", json_integer((json_int_t)a.n));
	json_object_set_new(ans, "incidents_removed",
	    json_integer((json_int_t)ninc));
out:
	free(a.ids);
	return ret;
}

/*
 * Apply one request inside cr->t.  Fills ans ("ok", "error", ...).
 * Returns 0 when the request was applied or refused, a TS_E* when the
 * transaction failed (then nothing is answered; it is retried).
 */
static int
control_apply(struct control_run *cr, const char *id, json_t *req,
    json_t *ans)
{
	const char	*op = json_string_value(json_object_get(req, "op"));
	char		 err[256];
	void		*res = NULL;
	int		 ret;

	err[0] = '\0';
	if (strncmp(op, "incident_", 9) == 0) {
		ret = incident_apply(cr->t, op, req, cr->wall_us, &res, err,
		    sizeof(err));
		if (ret == 0) {
			json_object_update(ans, res);
			json_decref(res);
		}
	} else if (strcmp(op, "drill_clean") == 0) {
		const char *d = json_string_value(json_object_get(req,
		    "drill"));

		if (!name_valid_str(NAME_DRILL, d)) {
			snprintf(err, sizeof(err), "\"drill\" must be a drill "
			    "name");
			ret = TS_EINVAL;
		} else {
			const char *by = json_string_value(json_object_get(req,
			    "by"));

			ret = control_drill_clean(cr, d, by != NULL &&
			    by[0] != '\0' ? by : "unknown", ans);
		}
	} else if (strcmp(op, "drill_save") == 0) {
		const char	*d = json_string_value(json_object_get(req,
		    "drill"));
		json_t		*sc = json_object_get(req, "scorecard");
		char		*txt = NULL;

		if (!name_valid_str(NAME_DRILL, d) || !json_is_object(sc)) {
			snprintf(err, sizeof(err), "drill_save needs \"drill\" "
			    "and a \"scorecard\" object");
			ret = TS_EINVAL;
		} else if ((txt = json_dumps(sc, JSON_COMPACT)) == NULL)
			ret = TS_ENOMEM;
		else if (strlen(txt) > MAX_SCORECARD_BYTES) {
			snprintf(err, sizeof(err), "scorecard larger than %d "
			    "bytes", MAX_SCORECARD_BYTES);
			ret = TS_EINVAL;
		} else
			ret = state_txn_put(cr->t, STATE_DB_DRILLS, d,
			    strlen(d), txt, strlen(txt));
		free(txt);
	} else {
		snprintf(err, sizeof(err), "unknown operation");
		ret = TS_EINVAL;
	}
	(void)id;
	if (ret == TS_EINVAL || ret == TS_ENOTFOUND) {
		json_object_set_new(ans, "ok", json_false());
		json_object_set_new(ans, "error", json_string(err[0] ? err :
		    ts_strerror(ret)));
		cr->refused++;
		return 0;
	}
	if (ret != 0)
		return ret;
	json_object_set_new(ans, "ok", json_true());
	cr->applied++;
	return 0;
}

static int
control_cb(const char *id, const char *json, size_t len, void *arg)
{
	struct control_run	*cr = arg;
	const void		*v;
	size_t			 vlen;
	json_t			*req = NULL, *ans = NULL;
	char			*txt;
	int			 ret;

	if (cr->n >= CONTROL_PER_TXN)
		return 0;	/* next round */
	if (strlen(id) >= CONTROL_ID_BYTES)
		return 0;
	/* applied before a crash: answer again, apply nothing */
	ret = state_txn_get(cr->t, STATE_DB_CONTROL, id, strlen(id), &v, &vlen);
	if (ret == 0) {
		if ((txt = malloc(vlen + 1)) == NULL)
			return TS_ENOMEM;
		memcpy(txt, v, vlen);
		txt[vlen] = '\0';
		goto queue;
	}
	if (ret != TS_ENOTFOUND)
		return ret;
	if ((req = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;	/* control_take checked it */
	ans = json_pack("{s:s}", "id", id);
	if (ans == NULL) {
		json_decref(req);
		return TS_ENOMEM;
	}
	ret = control_apply(cr, id, req, ans);
	json_decref(req);
	if (ret != 0) {
		json_decref(ans);
		return ret;
	}
	txt = json_dumps(ans, JSON_COMPACT);
	json_decref(ans);
	if (txt == NULL)
		return TS_ENOMEM;
	if ((ret = state_txn_put(cr->t, STATE_DB_CONTROL, id, strlen(id), txt,
	    strlen(txt))) != 0) {
		free(txt);
		return ret;
	}
queue:
	snprintf(cr->p[cr->n].id, CONTROL_ID_BYTES, "%s", id);
	cr->p[cr->n++].answer = txt;
	return 0;
}

/* Is there anything in DATADIR/control/new?  (Cheap: no transaction.) */
static int
control_pending(const char *datadir)
{
	char		*dir = xasprintf("%s/control/new", datadir);
	DIR		*dp;
	struct dirent	*de;
	int		 any = 0;

	if (dir == NULL)
		return 1;
	if ((dp = opendir(dir)) != NULL) {
		while (!any && (de = readdir(dp)) != NULL)
			any = de->d_name[0] != '.';
		closedir(dp);
	}
	free(dir);
	return any;
}

int
engine_control_run(state_t *s, const char *datadir, uint64_t *applied,
    uint64_t *refused)
{
	struct control_run	cr;
	int			ret;

	if (!control_pending(datadir))
		return 0;
	memset(&cr, 0, sizeof(cr));
	cr.wall_us = now_us();
	if ((ret = state_begin(s, &cr.t)) != 0)
		return ret;
	ret = control_take(datadir, CONTROL_PER_TXN, control_cb, &cr);
	if (ret == 0 && cr.n == 0) {
		state_abort(&cr.t);
		return 0;
	}
	if (ret == 0)
		ret = state_commit(&cr.t);
	else
		state_abort(&cr.t);
	for (size_t i = 0; i < cr.n; i++) {
		if (ret == 0 && control_done(datadir, cr.p[i].id,
		    cr.p[i].answer, strlen(cr.p[i].answer)) != 0)
			log_warn("engine: cannot answer control request %s",
			    cr.p[i].id);
		free(cr.p[i].answer);
	}
	if (ret == 0) {
		*applied += cr.applied;
		*refused += cr.refused;
	}
	return ret;
}
