/*
 * routes.c - the handlers of /api/v1/ and the route table.  Reads go
 * through the owners' read APIs (engine/state.h, collector/journal.h,
 * common/keys.h); changes are control requests the engine applies
 * (common/control.h), signed with the caller's name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "api/api_int.h"
#include "collector/journal.h"
#include "common/config.h"
#include "common/control.h"
#include "common/datadir.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/util.h"
#include "engine/state.h"
#include "outputs/outputs.h"

/* Agents seen within this long count as connected (as `tocsin agents`). */
#define AGENT_CONNECTED_US	(90ULL * 1000000)

/* ---- helpers ---------------------------------------------------------------- */

struct arg_walk {
	struct api_alert_filter	*f;
	const char *const	*allowed;	/* keys this list takes */
	uint64_t		 now;
	char			 err[256];
	int			 bad;
};

static enum MHD_Result
arg_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *val)
{
	struct arg_walk *w = cls;
	size_t i;

	(void)kind;
	if (w->bad)
		return MHD_NO;
	for (i = 0; w->allowed[i] != NULL; i++)
		if (strcmp(w->allowed[i], key) == 0)
			break;
	if (w->allowed[i] == NULL) {
		snprintf(w->err, sizeof(w->err), "unknown argument '%.64s'",
		    key);
		w->bad = 1;
		return MHD_NO;
	}
	if (api_alert_filter_set(w->f, key, val != NULL ? val : "", w->now,
	    w->err, sizeof(w->err)) != 0) {
		w->bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

/* Parse the query into f, only keys in allowed.  0, or -1 with r set. */
static int
parse_filter(struct api_req *q, struct api_resp *r,
    const char *const *allowed, struct api_alert_filter *f)
{
	struct arg_walk w;
	uint64_t max = api_cfg(q->rq_ctx)->api_max_page;

	memset(f, 0, sizeof(*f));
	memset(&w, 0, sizeof(w));
	w.f = f;
	w.allowed = allowed;
	w.now = now_us();
	MHD_get_connection_values(q->rq_conn, MHD_GET_ARGUMENT_KIND, arg_cb,
	    &w);
	if (w.bad) {
		api_count(AC_REFUSED_MALFORMED);
		api_error(r, 400, "bad_argument", "%s", w.err);
		return -1;
	}
	if (f->limit == 0)
		f->limit = API_DEFAULT_PAGE < max ? API_DEFAULT_PAGE : max;
	if (f->limit > max) {
		api_count(AC_PAGE_CAPPED);
		f->limit = max;
	}
	return 0;
}

static state_t *
need_state(struct api_req *q, struct api_resp *r)
{
	state_t *s = api_state(q->rq_ctx);

	if (s == NULL)
		api_error(r, 503, "no_state", "the engine has not created its "
		    "state yet");
	return s;
}

static void
db_error(struct api_resp *r, int rc)
{
	api_error(r, 500, "internal", "reading the state: %s",
	    ts_strerror(rc));
}

static json_t *
time_or_null(uint64_t us)
{
	char t[40];

	if (us == 0)
		return json_null();
	format_rfc3339(us, t, sizeof(t));
	return json_string(t);
}

/* ---- status ------------------------------------------------------------------- */

static int
counter_cb(const char *name, uint64_t value, void *arg)
{
	json_object_set_new(arg, name, json_integer((json_int_t)value));
	return 0;
}

static void
h_status(struct api_req *q, struct api_resp *r)
{
	const struct server_config *cfg = api_cfg(q->rq_ctx);
	static const char *const procs[] = { "tocsind", "collector", "engine",
	    "outputs", "api" };
	json_t		*o, *pl, *counters;
	state_t		*s = api_state(q->rq_ctx);
	journal_t	*j = api_journal(q->rq_ctx);
	uint64_t	 cursor = 0, last = 0, nalerts = 0;
	char		*p;

	counters = json_object();
	pl = json_array();
	for (size_t i = 0; i < sizeof(procs) / sizeof(procs[0]); i++) {
		long pid = 0;

		if ((p = datadir_pidfile(cfg->data_dir, procs[i])) != NULL &&
		    pidfile_read(p, &pid) != 0)
			pid = 0;
		free(p);
		json_array_append_new(pl, json_pack("{s:s, s:I, s:b}", "name",
		    procs[i], "pid", (json_int_t)pid, "running",
		    pid > 0 && pid_alive(pid)));
	}
	api_db_lock(q->rq_ctx);
	if (s != NULL) {
		(void)state_cursor_get(s, &cursor);
		(void)state_alert_count(s, &nalerts);
		(void)state_stats_foreach(s, counter_cb, counters);
	}
	if (j != NULL) {
		(void)journal_last_seq(j, &last);
		(void)journal_stats_foreach(j, counter_cb, counters);
	}
	api_db_unlock(q->rq_ctx);
	if ((p = datadir_path(cfg->data_dir, DD_OUTPUTS)) != NULL) {
		(void)outputs_stats_foreach(p, counter_cb, counters);
		free(p);
	}
	(void)api_stats_foreach(cfg->data_dir, counter_cb, counters);
	o = json_pack("{s:s, s:o, s:{s:I}, s:{s:I, s:I, s:I}, s:o}",
	    "version", TOCSIN_VERSION, "processes", pl,
	    "journal", "last_seq", (json_int_t)last,
	    "engine", "cursor", (json_int_t)cursor, "lag",
	    (json_int_t)(last > cursor ? last - cursor : 0), "alerts",
	    (json_int_t)nalerts, "counters", counters);
	api_json(r, 200, o);
}

/* ---- alerts --------------------------------------------------------------------- */

struct page {
	const struct api_alert_filter	*f;
	json_t				*items;
	uint64_t			 n, scanned;
	uint64_t			 last_time, last_id;	/* last given */
	uint64_t			 seen_time, seen_id;	/* last looked
								 * at */
	int				 more;	/* one past the page seen */
	int				 capped;	/* API_MAX_SCAN reached */
};

static int
alert_page_cb(const char *json, size_t len, void *arg)
{
	struct page		*pg = arg;
	const struct api_alert_filter *f = pg->f;
	json_t			*a;
	uint64_t		 t, id;
	const char		*d;

	if ((a = json_loadb(json, len, 0, NULL)) == NULL) {
		api_count(AC_RECORDS_SKIPPED);
		return 0;
	}
	t = (uint64_t)json_integer_value(json_object_get(a, "time_us"));
	id = (uint64_t)json_integer_value(json_object_get(a, "id"));
	/* the cursor: strictly after (older than) the previous page's last */
	if (f->after_id != 0 && (t > f->after_time_us ||
	    (t == f->after_time_us && id >= f->after_id))) {
		json_decref(a);
		return 0;
	}
	if (++pg->scanned > API_MAX_SCAN && pg->seen_id != 0) {
		/* enough work for one request: the next page goes on after
		 * the last alert looked at (given or filtered out) */
		pg->last_time = pg->seen_time;
		pg->last_id = pg->seen_id;
		pg->more = pg->capped = 1;
		json_decref(a);
		return 1;
	}
	pg->seen_time = t;
	pg->seen_id = id;
	d = json_string_value(json_object_get(a, "drill"));
	if ((f->no_drill && d != NULL) || (f->drill[0] != '\0' &&
	    (d == NULL || strcmp(d, f->drill) != 0))) {
		json_decref(a);
		return 0;
	}
	if (pg->n == f->limit) {
		pg->more = 1;
		json_decref(a);
		return 1;
	}
	json_array_append_new(pg->items, a);
	pg->n++;
	pg->last_time = t;
	pg->last_id = id;
	return 0;
}

static void
h_alerts(struct api_req *q, struct api_resp *r)
{
	static const char *const keys[] = { "since", "until", "min_level",
	    "host", "rule", "drill", "no_drill", "limit", "cursor", NULL };
	struct api_alert_filter	 f;
	struct alert_query	 aq;
	struct page		 pg;
	state_t			*s;
	char			 cur[64];
	int			 rc;

	if (parse_filter(q, r, keys, &f) != 0 || (s = need_state(q, r)) ==
	    NULL)
		return;
	memset(&aq, 0, sizeof(aq));
	aq.since_us = f.since_us;
	aq.until_us = f.until_us;
	if (f.after_id != 0 && (aq.until_us == 0 ||
	    f.after_time_us < aq.until_us))
		aq.until_us = f.after_time_us;
	aq.min_level = f.min_level;
	aq.host = f.host[0] ? f.host : NULL;
	aq.rule = f.rule[0] ? f.rule : NULL;
	memset(&pg, 0, sizeof(pg));
	pg.f = &f;
	pg.items = json_array();
	if (f.after_id != 0 && f.after_time_us == 0)
		goto done;	/* nothing is older than time 0 */
	api_db_lock(q->rq_ctx);
	rc = state_alerts_query(s, &aq, alert_page_cb, &pg);
	api_db_unlock(q->rq_ctx);
	if (rc != 0) {
		json_decref(pg.items);
		db_error(r, rc);
		return;
	}
done:
	if (pg.capped)
		api_count(AC_SCAN_CAPPED);
	api_cursor_format(pg.last_time, pg.last_id, cur, sizeof(cur));
	api_json(r, 200, json_pack("{s:o, s:I, s:o}", "alerts", pg.items,
	    "limit", (json_int_t)f.limit, "next_cursor", pg.more ?
	    json_string(cur) : json_null()));
}

static void
h_alert_one(struct api_req *q, struct api_resp *r)
{
	state_t	*s;
	char	*txt = NULL;
	size_t	 len;
	json_t	*a;
	int	 rc;

	if ((s = need_state(q, r)) == NULL)
		return;
	api_db_lock(q->rq_ctx);
	rc = state_alert_get(s, q->rq_ids[0], &txt, &len);
	api_db_unlock(q->rq_ctx);
	if (rc != 0) {
		if (rc == TS_ENOTFOUND)
			api_error(r, 404, "not_found", "no alert %llu",
			    (unsigned long long)q->rq_ids[0]);
		else
			db_error(r, rc);
		return;
	}
	a = json_loadb(txt, len, 0, NULL);
	free(txt);
	if (a == NULL)
		api_error(r, 500, "internal", "alert %llu is not readable",
		    (unsigned long long)q->rq_ids[0]);
	else
		api_json(r, 200, a);
}

/* ---- route table ------------------------------------------------------------------ */

#define V	API_ROLE_VIEWER
#define A	API_ROLE_ANALYST
#define M	API_ROLE_ADMIN

/* Defined in routes_*.c. */
void h_incidents(struct api_req *q, struct api_resp *r);
void h_incident_one(struct api_req *q, struct api_resp *r);
void h_incident_action(struct api_req *q, struct api_resp *r);
void h_events(struct api_req *q, struct api_resp *r);
void h_agents(struct api_req *q, struct api_resp *r);
void h_agent_revoke(struct api_req *q, struct api_resp *r);
void h_agent_group(struct api_req *q, struct api_resp *r);
void h_tokens(struct api_req *q, struct api_resp *r);
void h_token_create(struct api_req *q, struct api_resp *r);
void h_token_revoke(struct api_req *q, struct api_resp *r);
void h_rules(struct api_req *q, struct api_resp *r);
void h_rules_test(struct api_req *q, struct api_resp *r);
void h_drills(struct api_req *q, struct api_resp *r);
void h_drill_one(struct api_req *q, struct api_resp *r);
void h_drill_run(struct api_req *q, struct api_resp *r);
void h_stream(struct api_req *q, struct api_resp *r);

const struct api_route api_routes[] = {
	{ "GET", "/api/v1/status", V, h_status },
	{ "GET", "/api/v1/alerts", V, h_alerts },
	{ "GET", "/api/v1/alerts/{id}", V, h_alert_one },
	{ "GET", "/api/v1/events", V, h_events },
	{ "GET", "/api/v1/incidents", V, h_incidents },
	{ "GET", "/api/v1/incidents/{id}", V, h_incident_one },
	{ "POST", "/api/v1/incidents/{id}/{name}", A, h_incident_action },
	{ "GET", "/api/v1/agents", V, h_agents },
	{ "DELETE", "/api/v1/agents/{name}", M, h_agent_revoke },
	{ "POST", "/api/v1/agents/{name}/group", M, h_agent_group },
	{ "GET", "/api/v1/rules", V, h_rules },
	{ "POST", "/api/v1/rules/test", V, h_rules_test },
	{ "GET", "/api/v1/drills", V, h_drills },
	{ "GET", "/api/v1/drills/{name}", V, h_drill_one },
	{ "POST", "/api/v1/drills/{name}/run", A, h_drill_run },
	{ "GET", "/api/v1/stream", V, h_stream },
	{ "GET", "/api/v1/tokens", M, h_tokens },
	{ "POST", "/api/v1/tokens", M, h_token_create },
	{ "DELETE", "/api/v1/tokens/{name}", M, h_token_revoke },
};
const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);

/* ---- incidents ------------------------------------------------------------------------ */

struct inc_page {
	const char	*state;
	uint64_t	 min_sev, since_us, after_id, limit, n, last;
	json_t		*items;
	int		 more;
};

static int
inc_page_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct inc_page	*p = arg;
	json_t		*o;

	if (p->after_id != 0 && id >= p->after_id)
		return 0;
	if ((o = json_loadb(json, len, 0, NULL)) == NULL) {
		api_count(AC_RECORDS_SKIPPED);
		return 0;
	}
	if (!state_incident_state_matches(p->state,
	    json_string_value(json_object_get(o, "state"))) ||
	    (uint64_t)json_integer_value(json_object_get(o,
	    "severity")) < p->min_sev || (uint64_t)json_integer_value(
	    json_object_get(o, "last_seen_us")) < p->since_us) {
		json_decref(o);
		return 0;
	}
	if (p->n == p->limit) {
		p->more = 1;
		json_decref(o);
		return 1;
	}
	json_object_del(o, "alerts");	/* ids only on the incident page */
	json_array_append_new(p->items, o);
	p->n++;
	p->last = id;
	return 0;
}

void
h_incidents(struct api_req *q, struct api_resp *r)
{
	static const char *const states[] = { "open", "acknowledged",
	    "resolved", "false_positive", "active", NULL };
	const struct server_config *cfg = api_cfg(q->rq_ctx);
	struct inc_page	 p;
	const char	*v;
	state_t		*s;
	char		 cur[32];
	int		 rc;

	memset(&p, 0, sizeof(p));
	p.limit = API_DEFAULT_PAGE;
	if ((v = api_arg(q, "state")) != NULL) {
		for (size_t i = 0; states[i] != NULL; i++)
			if (strcmp(states[i], v) == 0)
				p.state = states[i];
		if (p.state == NULL)
			goto bad;
	}
	if ((v = api_arg(q, "min_severity")) != NULL &&
	    parse_u64(v, strlen(v), 15, &p.min_sev) != 0)
		goto bad;
	if ((v = api_arg(q, "since")) != NULL &&
	    parse_time_arg(v, now_us(), &p.since_us) != 0)
		goto bad;
	if ((v = api_arg(q, "cursor")) != NULL &&
	    (parse_u64(v, strlen(v), UINT64_MAX, &p.after_id) != 0 ||
	    p.after_id == 0))
		goto bad;
	if ((v = api_arg(q, "limit")) != NULL &&
	    (parse_u64(v, strlen(v), UINT32_MAX, &p.limit) != 0 ||
	    p.limit == 0))
		goto bad;
	if (p.limit > cfg->api_max_page) {
		api_count(AC_PAGE_CAPPED);
		p.limit = cfg->api_max_page;
	}
	if ((s = need_state(q, r)) == NULL)
		return;
	p.items = json_array();
	api_db_lock(q->rq_ctx);
	rc = state_incidents_foreach(s, 1, inc_page_cb, &p);
	api_db_unlock(q->rq_ctx);
	if (rc != 0 && rc != TS_ENOTFOUND) {
		json_decref(p.items);
		db_error(r, rc);
		return;
	}
	snprintf(cur, sizeof(cur), "%llu", (unsigned long long)p.last);
	api_json(r, 200, json_pack("{s:o, s:I, s:o}", "incidents", p.items,
	    "limit", (json_int_t)p.limit, "next_cursor", p.more ?
	    json_string(cur) : json_null()));
	return;
bad:
	api_count(AC_REFUSED_MALFORMED);
	api_error(r, 400, "bad_argument", "state: open, acknowledged, "
	    "resolved, false_positive or active; min_severity: 0-15; since: "
	    "a duration or RFC 3339 time; limit: from 1; cursor: as returned");
}

struct hist_walk {
	uint64_t	 id;
	json_t		*items;
	uint64_t	 seen;	/* last sequence read */
};

static int
hist_cb(uint64_t seq, const char *json, size_t len, void *arg)
{
	struct hist_walk	*h = arg;
	json_t			*o;

	h->seen = seq;
	if ((o = json_loadb(json, len, 0, NULL)) == NULL) {
		api_count(AC_RECORDS_SKIPPED);
		return 0;
	}
	if ((uint64_t)json_integer_value(json_object_get(o, "incident")) !=
	    h->id) {
		json_decref(o);
		return 0;
	}
	json_object_del(o, "snapshot");
	json_array_append_new(h->items, o);
	return 0;
}

/* The incident's change log, oldest first (read in short transactions
 * of HIST_CHUNK records). */
#define HIST_CHUNK	4096
static int
incident_history(state_t *s, uint64_t id, json_t *items)
{
	struct hist_walk	h = { id, items, 0 };
	uint64_t		after, last = 0;
	int			rc;

	for (;;) {
		after = h.seen;
		rc = state_log_read(s, STATE_LOG_INCIDENTS, after, HIST_CHUNK,
		    hist_cb, &h, &last);
		if (rc == TS_ENOTFOUND)
			return 0;
		if (rc != 0)
			return rc;
		if (h.seen == after || h.seen >= last)
			return 0;
	}
}

void
h_incident_one(struct api_req *q, struct api_resp *r)
{
	state_t	*s;
	char	*txt = NULL;
	size_t	 len, i;
	json_t	*inc, *ids, *alerts, *hist, *v;
	int	 rc;

	if ((s = need_state(q, r)) == NULL)
		return;
	api_db_lock(q->rq_ctx);
	if ((rc = state_incident_get(s, q->rq_ids[0], &txt, &len)) != 0) {
		api_db_unlock(q->rq_ctx);
		if (rc == TS_ENOTFOUND)
			api_error(r, 404, "not_found", "no incident %llu",
			    (unsigned long long)q->rq_ids[0]);
		else
			db_error(r, rc);
		return;
	}
	inc = json_loadb(txt, len, 0, NULL);
	free(txt);
	if (inc == NULL) {
		api_db_unlock(q->rq_ctx);
		api_error(r, 500, "internal", "incident is not readable");
		return;
	}
	ids = json_object_get(inc, "alerts");
	alerts = json_array();
	json_array_foreach(ids, i, v) {
		char	*a = NULL;
		size_t	 al;
		json_t	*aj;

		if (!json_is_integer(v) || state_alert_get(s,
		    (uint64_t)json_integer_value(v), &a, &al) != 0)
			continue;
		if ((aj = json_loadb(a, al, 0, NULL)) != NULL)
			json_array_append_new(alerts, aj);
		else
			api_count(AC_RECORDS_SKIPPED);
		free(a);
	}
	hist = json_array();
	rc = incident_history(s, q->rq_ids[0], hist);
	api_db_unlock(q->rq_ctx);
	if (rc != 0) {
		json_decref(hist);
		json_decref(alerts);
		json_decref(inc);
		db_error(r, rc);
		return;
	}
	api_json(r, 200, json_pack("{s:o, s:o, s:o}", "incident", inc,
	    "alerts", alerts, "history", hist));
}

/* Submit a control request (o stolen) signed by the caller and wait for
 * the engine's answer: 200 with the answer, 409 when it refused, 202 when
 * the engine did not answer in time (the request stays queued). */
static void
control_answer(struct api_req *q, struct api_resp *r, json_t *o)
{
	const char	*dd = api_cfg(q->rq_ctx)->data_dir;
	char		 cid[CONTROL_ID_BYTES], tb[40], *txt, *ans = NULL;
	json_t		*a;
	int		 rc;

	format_rfc3339(now_us(), tb, sizeof(tb));
	json_object_set_new(o, "by", json_string(q->rq_actor));
	json_object_set_new(o, "time", json_string(tb));
	json_object_set_new(o, "via", json_string("api"));
	txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (txt == NULL) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	rc = control_submit(dd, txt, strlen(txt), cid);
	free(txt);
	if (rc != 0) {
		api_error(r, 500, "internal", "cannot submit the request: %s",
		    ts_strerror(rc));
		return;
	}
	api_count(AC_ACTIONS);
	rc = control_wait(dd, cid, API_ACTION_WAIT_US, &ans);
	if (rc == TS_EAGAIN) {
		api_json(r, 202, json_pack("{s:s, s:s}", "request", cid,
		    "status", "queued"));
		return;
	}
	if (rc != 0 || (a = json_loads(ans, 0, NULL)) == NULL) {
		free(ans);
		api_error(r, 500, "internal", "no answer for request %s", cid);
		return;
	}
	free(ans);
	if (!json_is_true(json_object_get(a, "ok"))) {
		const char *e = json_string_value(json_object_get(a, "error"));

		api_count(AC_ACTIONS_REFUSED);
		api_error(r, 409, "refused", "%s", e != NULL ? e : "refused");
		json_decref(a);
		return;
	}
	json_object_del(a, "ok");
	api_json(r, 200, a);
}

void
h_incident_action(struct api_req *q, struct api_resp *r)
{
	static const struct {
		const char	*word;
		const char	*op;
		int		 assignee;	/* needs "assignee" */
		int		 note;		/* needs "note" */
	} acts[] = {
		{ "ack", "incident_ack", 0, 0 },
		{ "resolve", "incident_resolve", 0, 0 },
		{ "reopen", "incident_reopen", 0, 0 },
		{ "false-positive", "incident_false_positive", 0, 0 },
		{ "assign", "incident_assign", 1, 0 },
		{ "note", "incident_note", 0, 1 },
	};
	const char	*who = NULL, *note = NULL;
	char		 err[256];
	json_t		*b = NULL, *o;
	size_t		 i;

	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (strcmp(acts[i].word, q->rq_word) == 0)
			break;
	if (i == sizeof(acts) / sizeof(acts[0])) {
		api_count(AC_NOT_FOUND);
		api_error(r, 404, "not_found", "no such action (ack, assign, "
		    "note, resolve, reopen, false-positive)");
		return;
	}
	if (q->rq_body_len > 0 || acts[i].assignee || acts[i].note) {
		if ((b = api_body_object(q->rq_body, q->rq_body_len, err,
		    sizeof(err))) == NULL ||
		    api_body_text(b, "assignee", MAX_NAME_BYTES,
		    acts[i].assignee, &who, err, sizeof(err)) != 0 ||
		    api_body_text(b, "note", 4096, acts[i].note, &note, err,
		    sizeof(err)) != 0) {
			api_count(AC_REFUSED_MALFORMED);
			api_error(r, 400, "malformed", "%s", err);
			json_decref(b);
			return;
		}
	}
	o = json_pack("{s:s, s:I}", "op", acts[i].op, "incident",
	    (json_int_t)q->rq_ids[0]);
	if (who != NULL)
		json_object_set_new(o, "assignee", json_string(who));
	if (note != NULL)
		json_object_set_new(o, "note", json_string(note));
	json_decref(b);
	control_answer(q, r, o);
}

/* ---- events (the journal) --------------------------------------------------------------- */

struct ev_page {
	const struct api_alert_filter	*f;
	json_t				*items;
	uint64_t			 n, last, scanned;
	int				 more;
	int				 capped;	/* API_MAX_SCAN reached */
	pcre2_code			*re;	/* grep, or NULL */
	pcre2_match_data		*md;
	pcre2_match_context		*mctx;
	uint64_t			 grep_failed;	/* limits hit */
};

static json_t *
jtext(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);

	if (v == NULL) {	/* not UTF-8: escaped */
		char *e = malloc(n * 4 + 1);

		if (e == NULL)
			return json_null();
		escape_text(s, n, e, n * 4 + 1);
		v = json_string(e);
		free(e);
	}
	return v != NULL ? v : json_null();
}

static int
ev_page_cb(const struct jevent *ev, void *arg)
{
	struct ev_page	*p = arg;
	const struct api_alert_filter *f = p->f;
	json_t		*o;
	char		 t[40];

	if (++p->scanned > API_MAX_SCAN) {
		/* enough work for one request: go on from here next time */
		p->more = p->capped = 1;
		p->last = ev->jseq + 1;
		return 1;
	}
	if (f->until_us != 0 && ev->time_us > f->until_us)
		return 0;
	if (f->since_us != 0 && ev->recv_us < f->since_us &&
	    ev->time_us < f->since_us)
		return 1;	/* older from here on (by arrival) */
	if (f->host[0] != '\0' && (ev->host_len != strlen(f->host) ||
	    memcmp(ev->host, f->host, ev->host_len) != 0))
		return 0;
	if ((f->no_drill && ev->drill_len > 0) || (f->drill[0] != '\0' &&
	    (ev->drill_len != strlen(f->drill) || memcmp(ev->drill, f->drill,
	    ev->drill_len) != 0)))
		return 0;
	if (p->re != NULL) {
		int m = pcre2_match(p->re, (PCRE2_SPTR)ev->raw, ev->raw_len, 0,
		    0, p->md, p->mctx);

		if (m == PCRE2_ERROR_NOMATCH)
			return 0;
		if (m < 0) {	/* a limit: counted, not shown as a match */
			p->grep_failed++;
			return 0;
		}
	}
	if (p->n == f->limit) {
		p->more = 1;
		return 1;
	}
	format_rfc3339(ev->time_us, t, sizeof(t));
	o = json_pack("{s:I, s:s, s:I, s:s, s:o, s:o, s:o, s:o}", "jseq",
	    (json_int_t)ev->jseq, "time", t, "time_us", (json_int_t)ev->time_us,
	    "source", journal_source_name(ev->source), "agent",
	    jtext(ev->agent, ev->agent_len), "host", jtext(ev->host,
	    ev->host_len), "file", jtext(ev->file, ev->file_len), "raw",
	    jtext(ev->raw, ev->raw_len));
	if (o == NULL)
		return 0;
	if (ev->drill_len > 0)
		json_object_set_new(o, "drill", jtext(ev->drill,
		    ev->drill_len));
	json_array_append_new(p->items, o);
	p->n++;
	p->last = ev->jseq;
	return 0;
}

void
h_events(struct api_req *q, struct api_resp *r)
{
	static const char *const keys[] = { "since", "until", "host", "drill",
	    "no_drill", "limit", "cursor", "grep", NULL };
	struct api_alert_filter	 f;
	struct ev_page		 p;
	journal_t		*j;
	uint64_t		 from = 0;
	char			 cur[64];
	int			 rc;

	if (parse_filter(q, r, keys, &f) != 0)
		return;
	if ((j = api_journal(q->rq_ctx)) == NULL) {
		api_error(r, 503, "no_journal", "the collector has not created "
		    "its journal yet");
		return;
	}
	memset(&p, 0, sizeof(p));
	p.f = &f;
	if (f.grep[0] != '\0') {
		int		ec;
		PCRE2_SIZE	eo;

		p.re = pcre2_compile((PCRE2_SPTR)f.grep, PCRE2_ZERO_TERMINATED,
		    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
		if (p.re == NULL) {
			PCRE2_UCHAR msg[128];

			pcre2_get_error_message(ec, msg, sizeof(msg));
			api_count(AC_REFUSED_MALFORMED);
			api_error(r, 400, "bad_argument", "grep: %s at offset "
			    "%zu", (const char *)msg, (size_t)eo);
			return;
		}
		(void)pcre2_jit_compile(p.re, PCRE2_JIT_COMPLETE);
		p.md = pcre2_match_data_create_from_pattern(p.re, NULL);
		p.mctx = pcre2_match_context_create(NULL);
		if (p.md == NULL || p.mctx == NULL) {
			rc = TS_ENOMEM;
			p.items = NULL;
			goto fail;
		}
		pcre2_set_match_limit(p.mctx, PCRE2_MATCH_LIMIT);
		pcre2_set_depth_limit(p.mctx, PCRE2_DEPTH_LIMIT);
	}
	p.items = json_array();
	/* the cursor of events is "0.JSEQ": the last jseq given */
	api_db_lock(q->rq_ctx);
	rc = 0;
	if (f.after_id != 0)
		from = f.after_id - 1;
	else
		rc = journal_last_seq(j, &from);
	if (rc == 0 && from > 0)
		rc = journal_scan_reverse(j, from, 0, ev_page_cb, &p);
	api_db_unlock(q->rq_ctx);
	if (rc != 0)
		goto fail;
	if (p.capped)
		api_count(AC_SCAN_CAPPED);
	for (uint64_t i = 0; i < p.grep_failed; i++)
		api_count(AC_GREP_LIMIT);
	api_cursor_format(0, p.last, cur, sizeof(cur));
	api_json(r, 200, json_pack("{s:o, s:I, s:o, s:I}", "events", p.items,
	    "limit", (json_int_t)f.limit, "next_cursor", p.more && p.last > 1 ?
	    json_string(cur) : json_null(), "grep_limit_hits",
	    (json_int_t)p.grep_failed));
	pcre2_match_data_free(p.md);
	pcre2_match_context_free(p.mctx);
	pcre2_code_free(p.re);
	return;
fail:
	json_decref(p.items);
	pcre2_match_data_free(p.md);
	pcre2_match_context_free(p.mctx);
	pcre2_code_free(p.re);
	api_error(r, 500, "internal", "reading the journal: %s",
	    ts_strerror(rc));
}

/* ---- agents ---------------------------------------------------------------------- */

static int
enrolled_cb(const char *name, const char *pub, void *arg)
{
	(void)pub;
	json_object_set_new(arg, name, json_pack("{s:s, s:b}", "name", name,
	    "enrolled", 1));
	return 0;
}

static int
jagent_cb(const char *name, const struct jagent *a, void *arg)
{
	json_t		*all = arg, *o = json_object_get(all, name);
	uint64_t	 now = now_us();
	int		 enrolled = o != NULL;
	char		 v[sizeof(a->version) * 4], h[sizeof(a->host) * 4];

	if (o == NULL) {
		o = json_pack("{s:s, s:b}", "name", name, "enrolled", 0);
		json_object_set_new(all, name, o);
	}
	escape_text(a->version, strnlen(a->version, sizeof(a->version)), v,
	    sizeof(v));
	escape_text(a->host, strnlen(a->host, sizeof(a->host)), h, sizeof(h));
	json_object_set_new(o, "state", json_string(!enrolled ?
	    "not_enrolled" : a->last_seen_us == 0 ? "never_seen" :
	    now < a->last_seen_us || now - a->last_seen_us <=
	    AGENT_CONNECTED_US ? "connected" : "disconnected"));
	json_object_set_new(o, "last_seen", time_or_null(a->last_seen_us));
	json_object_set_new(o, "last_event", time_or_null(a->last_event_us));
	json_object_set_new(o, "events", json_integer((json_int_t)a->events));
	json_object_set_new(o, "spooled", json_integer((json_int_t)
	    a->spooled));
	json_object_set_new(o, "silent", json_boolean(a->health &
	    JAGENT_SILENT));
	json_object_set_new(o, "version", json_string(v));
	json_object_set_new(o, "host", json_string(h));
	if (a->group[0] != '\0' && json_object_get(o, "group") == NULL)
		json_object_set_new(o, "group", json_string(a->group));
	if (a->cfgver[0] != '\0')
		json_object_set_new(o, "config_version",
		    json_string(a->cfgver));
	/* the agent's own counters from its last heartbeat: the non-zero
	 * ones, and apart those that count lost or damaged input */
	if (a->has_ctrs) {
		json_t *ctrs, *loss;

		if (journal_agent_counters_json(a, &ctrs, &loss) != 0)
			return TS_ENOMEM;
		json_object_set_new(o, "counters", ctrs);
		json_object_set_new(o, "losses", loss);
	}
	return 0;
}

void
h_agents(struct api_req *q, struct api_resp *r)
{
	const char	*dd = api_cfg(q->rq_ctx)->data_dir, *k;
	journal_t	*j = api_journal(q->rq_ctx);
	json_t		*all = json_object(), *arr = json_array(), *v;
	int		 rc;

	rc = keys_agent_list(dd, enrolled_cb, all);
	if (rc != 0 && rc != TS_ENOTFOUND && rc != TS_ESTOP)
		goto fail;
	json_object_foreach(all, k, v) {
		char g[MAX_NAME_BYTES + 1];

		keys_agent_group_get(dd, k, g);
		json_object_set_new(v, "group", json_string(g[0] ? g :
		    KEYS_DEFAULT_GROUP));
		json_object_set_new(v, "state", json_string("never_seen"));
	}
	if (j != NULL) {
		api_db_lock(q->rq_ctx);
		rc = journal_agent_foreach(j, jagent_cb, all);
		api_db_unlock(q->rq_ctx);
		if (rc != 0 && rc != TS_ESTOP)
			goto fail;
	}
	json_object_foreach(all, k, v) {
		if (strcmp(k, KEYS_REPLAY_AGENT) == 0)
			json_object_set_new(v, "replay", json_true());
		json_array_append(arr, v);
	}
	json_decref(all);
	api_json(r, 200, json_pack("{s:o}", "agents", arr));
	return;
fail:
	json_decref(all);
	json_decref(arr);
	api_error(r, 500, "internal", "listing agents: %s", ts_strerror(rc));
}

/* DELETE /api/v1/agents/{name}: revoke the agent's key (as `tocsin agents
 * remove`; the collector refuses it from its next connection). */
void
h_agent_revoke(struct api_req *q, struct api_resp *r)
{
	int rc;

	if (!name_valid_str(NAME_AGENT, q->rq_word)) {
		api_error(r, 404, "not_found", "no such agent");
		return;
	}
	if ((rc = keys_agent_revoke(api_cfg(q->rq_ctx)->data_dir,
	    q->rq_word)) != 0) {
		if (rc == TS_ENOTFOUND)
			api_error(r, 404, "not_found", "agent '%s' is not "
			    "enrolled", q->rq_word);
		else
			api_error(r, 500, "internal", "%s", ts_strerror(rc));
		return;
	}
	api_count(AC_ACTIONS);
	log_info("api: %s revoked agent %s", q->rq_actor, q->rq_word);
	api_json(r, 200, json_pack("{s:s, s:b}", "name", q->rq_word,
	    "revoked", 1));
}

/* POST /api/v1/agents/{name}/group {"group": G}: the group whose central
 * configuration the agent runs (as `tocsin agents add --group`). */
void
h_agent_group(struct api_req *q, struct api_resp *r)
{
	const char	*dd = api_cfg(q->rq_ctx)->data_dir, *g;
	char		 err[256], pub[KEY_Z85_BYTES];
	json_t		*b;
	int		 rc, found = 0;

	(void)pub;
	if ((b = api_body_object(q->rq_body, q->rq_body_len, err,
	    sizeof(err))) == NULL || api_body_text(b, "group", MAX_NAME_BYTES,
	    1, &g, err, sizeof(err)) != 0 || !name_valid_str(NAME_AGENT, g)) {
		json_decref(b);
		api_count(AC_REFUSED_MALFORMED);
		api_error(r, 400, "malformed", "%s", err[0] ? err :
		    "body: \"group\" must be a group name");
		return;
	}
	if (name_valid_str(NAME_AGENT, q->rq_word)) {
		json_t *all = json_object();

		(void)keys_agent_list(dd, enrolled_cb, all);
		found = json_object_get(all, q->rq_word) != NULL;
		json_decref(all);
	}
	if (!found) {
		json_decref(b);
		api_error(r, 404, "not_found", "agent is not enrolled");
		return;
	}
	if ((rc = keys_agent_group_set(dd, q->rq_word, g)) != 0) {
		json_decref(b);
		api_error(r, 500, "internal", "%s", ts_strerror(rc));
		return;
	}
	api_count(AC_ACTIONS);
	log_info("api: %s put agent %s in group %s", q->rq_actor, q->rq_word,
	    g);
	api_json(r, 200, json_pack("{s:s, s:s}", "name", q->rq_word, "group",
	    g));
	json_decref(b);
}

/* ---- tokens (admin) ------------------------------------------------------------------- */

static json_t *
token_json(const struct api_token_info *t)
{
	return json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", t->id, "name",
	    t->name, "role", api_role_name(t->role), "created",
	    time_or_null(t->created_us), "expires",
	    time_or_null(t->expires_us));
}

static int
token_list_cb(const struct api_token_info *t, void *arg)
{
	json_array_append_new(arg, token_json(t));
	return 0;
}

void
h_tokens(struct api_req *q, struct api_resp *r)
{
	json_t	*arr = json_array();
	int	 rc;

	if ((rc = api_token_list(api_cfg(q->rq_ctx)->data_dir, token_list_cb,
	    arr)) != 0) {
		json_decref(arr);
		api_error(r, 500, "internal", "listing tokens: %s",
		    ts_strerror(rc));
		return;
	}
	api_json(r, 200, json_pack("{s:o}", "tokens", arr));
}

void
h_token_create(struct api_req *q, struct api_resp *r)
{
	const char		*name, *role, *ttl;
	char			 err[256], tok[TOKEN_BYTES];
	struct api_token_info	 ti;
	uint64_t		 ttl_us = 0;
	json_t			*b, *o;
	int			 rl, rc;

	if ((b = api_body_object(q->rq_body, q->rq_body_len, err,
	    sizeof(err))) == NULL || api_body_text(b, "name", MAX_NAME_BYTES,
	    1, &name, err, sizeof(err)) != 0 || api_body_text(b, "role", 16,
	    1, &role, err, sizeof(err)) != 0 || api_body_text(b, "ttl", 32, 0,
	    &ttl, err, sizeof(err)) != 0)
		goto bad;
	if (!name_valid_str(NAME_AGENT, name)) {
		snprintf(err, sizeof(err), "name: %s", name_expect(NAME_AGENT));
		goto bad;
	}
	if ((rl = api_role_parse(role)) == API_ROLE_NONE) {
		snprintf(err, sizeof(err), "role: viewer, analyst or admin");
		goto bad;
	}
	if (ttl != NULL && (parse_duration(ttl, &ttl_us) != 0 ||
	    ttl_us == 0)) {
		snprintf(err, sizeof(err), "ttl: a duration (30d, 12h)");
		goto bad;
	}
	if ((rc = api_token_create(api_cfg(q->rq_ctx)->data_dir, name, rl,
	    ttl_us, tok, &ti)) != 0) {
		json_decref(b);
		api_error(r, 500, "internal", "cannot create the token: %s",
		    ts_strerror(rc));
		return;
	}
	json_decref(b);
	log_info("api: %s created token %s for %s (%s)", q->rq_actor, ti.id,
	    ti.name, api_role_name(ti.role));
	o = token_json(&ti);
	json_object_set_new(o, "token", json_string(tok));
	explicit_bzero(tok, sizeof(tok));
	api_json(r, 201, o);
	return;
bad:
	json_decref(b);
	api_count(AC_REFUSED_MALFORMED);
	api_error(r, 400, "malformed", "%s", err);
}

void
h_token_revoke(struct api_req *q, struct api_resp *r)
{
	char	id[TOKEN_ID_HEX + 1];
	size_t	n = strlen(q->rq_word);
	int	rc;

	if (n != TOKEN_ID_HEX) {
		api_error(r, 404, "not_found", "no such token");
		return;
	}
	memcpy(id, q->rq_word, n + 1);
	if ((rc = api_token_revoke(api_cfg(q->rq_ctx)->data_dir, id)) != 0) {
		if (rc == TS_ENOTFOUND)
			api_error(r, 404, "not_found", "no token %s", id);
		else
			api_error(r, 500, "internal", "%s", ts_strerror(rc));
		return;
	}
	log_info("api: %s revoked token %s", q->rq_actor, id);
	api_json(r, 200, json_pack("{s:s, s:b}", "id", id, "revoked", 1));
}
