/*
 * drill.c - drill scenarios, scoring and stored scorecards (drill.h).
 *
 * Scoring reads only what the drill added: the alerts above the alert id
 * and the incident-log records above the sequence noted when the drill
 * began (drill_alert_mark), plus the incidents that carry the drill's name.
 * A detection is timed by the alert that met the expectation: for
 * min_count N the N-th matching alert in the order the engine raised them,
 * for an incident the first record of its log where it held min_severity
 * (and an alert of the expected rule, when one is named).
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/datadir.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/util.h"
#include "common/yamltree.h"
#include "engine/drill.h"
#include "engine/state.h"

/* Records read from a state log per read transaction. */
#define DRILL_LOG_BATCH		4096

void drill_scenario_free(struct drill_scenario *s)
{
	size_t i;

	free(s->s_file);
	free(s->s_name);
	free(s->s_description);
	for (i = 0; i < s->s_nrec; i++)
		free(s->s_recordings[i]);
	for (i = 0; i < s->s_nex; i++) {
		free(s->s_ex[i].x_rule);
		free(s->s_ex[i].x_mitre);
	}
	memset(s, 0, sizeof(*s));
}

/* ---- scenario loading -------------------------------------------------- */

/* A scalar node's string, or NULL after writing "file:line:col: KEY must
 * be text" into err. */
static const char *scalar(const struct drill_scenario *s, const yt_node *n,
    const char *what, char *err, size_t errlen)
{
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		snprintf(err, errlen, "%s:%d:%d: %s must be a value",
		    s->s_file, n ? n->line : 0, n ? n->col : 0, what);
		return NULL;
	}
	return n->str;
}

static int parse_expect_list(struct drill_scenario *s, const yt_node *list,
    enum drill_expect_kind kind, const char *what, char *err, size_t errlen)
{
	static const char *const k_alert[] = { "rule", "mitre", "min_count",
	    "max_time_to_detect", NULL };
	static const char *const k_inc[] = { "rule", "mitre", "min_count",
	    "min_severity", "max_time_to_detect", NULL };
	static const char *const k_absent[] = { "rule", "mitre", NULL };
	size_t i;

	if (list == NULL)
		return 0;
	if (list->kind != YT_SEQ) {
		snprintf(err, errlen, "%s:%d:%d: expect.%s must be a list",
		    s->s_file, list->line, list->col, what);
		return TS_EPARSE;
	}
	for (i = 0; i < list->n; i++) {
		const yt_node *m = list->items[i], *v;
		struct drill_expect *e;
		unsigned long long u;
		const char *str;

		if (s->s_nex == MAX_DRILL_EXPECT) {
			snprintf(err, errlen, "%s:%d:%d: more than %d "
			    "expectations", s->s_file, m->line, m->col,
			    MAX_DRILL_EXPECT);
			return TS_EPARSE;
		}
		if (yt_check_keys(m, kind == DRILL_EX_ALERT ? k_alert : kind ==
		    DRILL_EX_INCIDENT ? k_inc : k_absent, s->s_file, what, err,
		    errlen) != 0)
			return TS_EPARSE;
		e = &s->s_ex[s->s_nex++];
		memset(e, 0, sizeof(*e));
		e->x_kind = kind;
		e->x_line = m->line;
		e->x_col = m->col;
		e->x_min_count = 1;
		e->x_min_severity = -1;
		if ((v = yt_map_get(m, "rule")) != NULL) {
			if ((str = scalar(s, v, "rule", err, errlen)) == NULL)
				return TS_EPARSE;
			if ((e->x_rule = strdup(str)) == NULL)
				return TS_ENOMEM;
			e->x_rule_line = v->line;
			e->x_rule_col = v->col;
		}
		if ((v = yt_map_get(m, "mitre")) != NULL) {
			if ((str = scalar(s, v, "mitre", err, errlen)) == NULL)
				return TS_EPARSE;
			if (!name_valid_str(NAME_MITRE, str)) {
				snprintf(err, errlen, "%s:%d:%d: mitre must be %s",
				    s->s_file, v->line, v->col,
				    name_expect(NAME_MITRE));
				return TS_EPARSE;
			}
			if ((e->x_mitre = strdup(str)) == NULL)
				return TS_ENOMEM;
			e->x_mitre_line = v->line;
			e->x_mitre_col = v->col;
		}
		if (kind != DRILL_EX_INCIDENT && e->x_rule == NULL && e->x_mitre == NULL) {
			snprintf(err, errlen, "%s:%d:%d: an expectation needs "
			    "rule: or mitre:", s->s_file, m->line, m->col);
			return TS_EPARSE;
		}
		u = 1;
		if (yt_get_u64(m, "min_count", s->s_file, 1, 1000000, &u, err,
		    errlen) != 0)
			return TS_EPARSE;
		e->x_min_count = u;
		u = 0;
		if (kind == DRILL_EX_INCIDENT) {
			if ((v = yt_map_get(m, "min_severity")) == NULL) {
				snprintf(err, errlen, "%s:%d:%d: an incident "
				    "expectation needs min_severity: (0-15)",
				    s->s_file, m->line, m->col);
				return TS_EPARSE;
			}
			if (yt_get_u64(m, "min_severity", s->s_file, 0, 15, &u,
			    err, errlen) != 0)
				return TS_EPARSE;
			e->x_min_severity = (int)u;
		}
		u = 0;
		if (yt_get_duration(m, "max_time_to_detect", s->s_file, &u, err,
		    errlen) != 0)
			return TS_EPARSE;
		e->x_max_ttd_us = u;
	}
	return 0;
}

int drill_scenario_load(const char *path, struct drill_scenario *s, char *err,
    size_t errlen)
{
	static const char *const k_top[] = { "name", "description",
	    "recordings", "speed", "max_time_to_detect", "expect", NULL };
	static const char *const k_expect[] = { "alerts", "incidents",
	    "must_not_fire", NULL };
	yt_doc **docs = NULL;
	size_t ndocs = 0, i;
	const yt_node *root, *v, *ex;
	unsigned long long u;
	int rc = TS_EPARSE;

	memset(s, 0, sizeof(*s));
	if ((s->s_file = strdup(path)) == NULL)
		return TS_ENOMEM;
	if ((rc = yt_load_file(path, &docs, &ndocs, err, errlen)) != 0)
		return rc;
	rc = TS_EPARSE;
	if (ndocs != 1 || (root = docs[0]->root) == NULL) {
		snprintf(err, errlen, "%s:1:1: a scenario is one YAML document",
		    path);
		goto out;
	}
	if (yt_check_keys(root, k_top, path, "scenario", err, errlen) != 0)
		goto out;
	if ((v = yt_map_get(root, "name")) == NULL) {
		snprintf(err, errlen, "%s:%d:%d: missing key 'name'", path,
		    root->line, root->col);
		goto out;
	}
	if (scalar(s, v, "name", err, errlen) == NULL)
		goto out;
	if (!name_valid_str(NAME_DRILL, v->str) ||
	    strlen(v->str) > MAX_DRILL_BYTES - 17) {
		snprintf(err, errlen, "%s:%d:%d: name must be 1 to %d letters, "
		    "digits, '.', '_' or '-'", path, v->line, v->col,
		    MAX_DRILL_BYTES - 17);
		goto out;
	}
	if ((s->s_name = strdup(v->str)) == NULL)
		goto oom;
	if ((v = yt_map_get(root, "description")) == NULL) {
		snprintf(err, errlen, "%s:%d:%d: missing key 'description' (the "
		    "attack and what the SOC should see, in plain English)",
		    path, root->line, root->col);
		goto out;
	}
	if (scalar(s, v, "description", err, errlen) == NULL)
		goto out;
	if ((s->s_description = strdup(v->str)) == NULL)
		goto oom;
	v = yt_map_get(root, "recordings");
	if (v == NULL || v->kind != YT_SEQ || v->n == 0) {
		snprintf(err, errlen, "%s:%d:%d: recordings must be a list of "
		    "one or more files (relative to the scenario)", path,
		    v ? v->line : root->line, v ? v->col : root->col);
		goto out;
	}
	if (v->n > MAX_DRILL_RECORDINGS) {
		snprintf(err, errlen, "%s:%d:%d: more than %d recordings", path,
		    v->line, v->col, MAX_DRILL_RECORDINGS);
		goto out;
	}
	for (i = 0; i < v->n; i++) {
		const char *f = scalar(s, v->items[i], "a recording", err,
		    errlen);
		char *dup, *dir;
		if (f == NULL)
			goto out;
		if (f[0] == '/') {
			s->s_recordings[s->s_nrec] = strdup(f);
		} else {
			if ((dup = strdup(path)) == NULL)
				goto oom;
			dir = dirname(dup);
			s->s_recordings[s->s_nrec] = xasprintf("%s/%s", dir, f);
			free(dup);
		}
		if (s->s_recordings[s->s_nrec] == NULL)
			goto oom;
		s->s_rec_line[s->s_nrec++] = v->items[i]->line;
	}
	s->s_speed = 1;
	if (yt_map_get(root, "speed") != NULL) {
		u = 1;
		if (yt_get_u64(root, "speed", path, 0, 1000000, &u, err,
		    errlen) != 0)
			goto out;
		s->s_speed = u;	/* 0: as fast as possible */
		s->s_speed_set = 1;
	}
	u = 0;
	if (yt_get_duration(root, "max_time_to_detect", path, &u, err,
	    errlen) != 0)
		goto out;
	s->s_max_ttd_us = u;
	if ((ex = yt_map_get(root, "expect")) == NULL) {
		snprintf(err, errlen, "%s:%d:%d: missing key 'expect'", path,
		    root->line, root->col);
		goto out;
	}
	if (yt_check_keys(ex, k_expect, path, "expect", err, errlen) != 0)
		goto out;
	if ((rc = parse_expect_list(s, yt_map_get(ex, "alerts"), DRILL_EX_ALERT,
	    "alerts", err, errlen)) != 0 ||
	    (rc = parse_expect_list(s, yt_map_get(ex, "incidents"),
	    DRILL_EX_INCIDENT, "incidents", err, errlen)) != 0 ||
	    (rc = parse_expect_list(s, yt_map_get(ex, "must_not_fire"),
	    DRILL_EX_ABSENT, "must_not_fire", err, errlen)) != 0)
		goto out;
	rc = TS_EPARSE;
	if (s->s_nex == 0) {
		snprintf(err, errlen, "%s:%d:%d: expect: holds no expectation",
		    path, ex->line, ex->col);
		goto out;
	}
	for (i = 0; i < s->s_nex; i++)
		if (s->s_ex[i].x_kind != DRILL_EX_ABSENT && s->s_ex[i].x_max_ttd_us == 0)
			s->s_ex[i].x_max_ttd_us = s->s_max_ttd_us;
	rc = 0;
	goto out;
oom:
	rc = TS_ENOMEM;
	snprintf(err, errlen, "%s: out of memory", path);
out:
	yt_docs_free(&docs, ndocs);
	return rc;
}


/* ---- the scenarios of a folder ------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int drill_scenarios_list(const char *dir, json_t **out)
{
	static struct drill_scenario s;	/* large: not on the stack */
	char *names[MAX_DRILL_SCENARIOS], err[1024];
	size_t n = 0, i, len;
	struct dirent *de;
	json_t *arr;
	DIR *d;
	int rc = 0;

	*out = NULL;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? TS_ENOTFOUND :
		    TS_EIO;
	while ((de = readdir(d)) != NULL && n < MAX_DRILL_SCENARIOS) {
		len = strlen(de->d_name);
		if (len < 5 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 4, ".yml") != 0)
			continue;
		if ((names[n] = xasprintf("%s/%s", dir, de->d_name)) == NULL) {
			rc = TS_ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc == 0 && (arr = json_array()) == NULL)
		rc = TS_ENOMEM;
	if (rc != 0)
		goto out;
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (i = 0; i < n; i++) {
		json_t *o;

		memset(&s, 0, sizeof(s));
		if (drill_scenario_load(names[i], &s, err, sizeof(err)) == 0)
			o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}",
			    "name", s.s_name, "description", s.s_description,
			    "file", names[i], "expectations",
			    (json_int_t)s.s_nex, "recordings",
			    (json_int_t)s.s_nrec, "speed",
			    (json_int_t)s.s_speed);
		else
			o = json_pack("{s:s, s:s}", "file", names[i], "error",
			    err);
		drill_scenario_free(&s);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			rc = TS_ENOMEM;
			goto out;
		}
	}
	*out = arr;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

/* ---- reading what the drill added ---------------------------------------- */

struct drill_alert {
	uint64_t	 id;
	char		*rule;
	json_t		*mitre;		/* array (owned) */
	int64_t		 detected_us;	/* -1: none */
};

struct collect {
	const char		*drill;
	struct drill_alert	*v;		/* in id order: as raised */
	size_t			 n, cap;
	json_t			*incidents;	/* array of the drill's */
	json_t			*log;		/* its incidents' log records */
	uint64_t		 progress;	/* alerts counted */
	uint64_t		 seen;		/* last log id read */
	int			 rc;
};

static int64_t json_time_us(json_t *o, const char *key)
{
	const char *t = json_string_value(json_object_get(o, key));
	uint64_t us;

	if (t == NULL || parse_rfc3339(t, strlen(t), &us) != 0)
		return -1;
	return (int64_t)us;
}

static int is_drill(json_t *o, const char *drill)
{
	const char *d = json_string_value(json_object_get(o, "drill"));

	return d != NULL && strcmp(d, drill) == 0;
}

static int alert_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct collect *cl = arg;
	struct drill_alert *a;
	const char *r;
	json_t *o;

	cl->seen = id;
	if ((o = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;
	if (!is_drill(o, cl->drill)) {
		json_decref(o);
		return 0;
	}
	if (cl->n == cl->cap) {
		size_t ncap = cl->cap ? cl->cap * 2 : 64;
		if (ncap > MAX_DRILL_ALERTS ||
		    (a = realloc(cl->v, ncap * sizeof(*a))) == NULL) {
			json_decref(o);
			cl->rc = TS_ENOMEM;
			return 1;
		}
		cl->v = a;
		cl->cap = ncap;
	}
	a = &cl->v[cl->n];
	memset(a, 0, sizeof(*a));
	a->id = id;
	r = json_string_value(json_object_get(json_object_get(o, "rule"),
	    "id"));
	a->rule = strdup(r ? r : "");
	a->mitre = json_incref(json_object_get(json_object_get(o, "rule"),
	    "mitre"));
	a->detected_us = json_time_us(o, "detected");
	json_decref(o);
	if (a->rule == NULL) {
		json_decref(a->mitre);
		cl->rc = TS_ENOMEM;
		return 1;
	}
	cl->n++;
	return 0;
}

static int count_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct collect *cl = arg;
	json_t *o;

	cl->seen = id;
	if ((o = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;
	cl->progress += is_drill(o, cl->drill);
	json_decref(o);
	return 0;
}

static int incident_cb(uint64_t id, const char *v, size_t vlen, void *arg)
{
	struct collect *cl = arg;
	json_t *o;

	(void)id;
	if ((o = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	if (is_drill(o, cl->drill))
		json_array_append(cl->incidents, o);
	json_decref(o);
	return 0;
}

static int inclog_cb(uint64_t id, const char *v, size_t vlen, void *arg)
{
	struct collect *cl = arg;
	json_t *o;

	cl->seen = id;
	if ((o = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	if (is_drill(json_object_get(o, "snapshot"), cl->drill) &&
	    json_array_append(cl->log, o) != 0)
		cl->rc = TS_ENOMEM;
	json_decref(o);
	return cl->rc != 0;
}

/* Read log records above after to the end, in batches (ids may have gaps:
 * drill_clean removes alerts).  0 or TS_E*. */
static int log_read_all(state_t *st, int log, uint64_t after, state_log_cb cb,
    struct collect *cl)
{
	uint64_t last = 0;
	int rc;

	for (;;) {
		cl->seen = after;
		rc = state_log_read(st, log, after, DRILL_LOG_BATCH, cb, cl,
		    &last);
		if (rc == TS_ENOTFOUND)
			return 0;
		if (rc != 0)
			return rc;
		if (cl->rc != 0)
			return cl->rc;
		if (cl->seen <= after || cl->seen >= last)
			return 0;
		after = cl->seen;
	}
}

static void collect_free(struct collect *cl)
{
	size_t i;

	for (i = 0; i < cl->n; i++) {
		free(cl->v[i].rule);
		json_decref(cl->v[i].mitre);
	}
	free(cl->v);
	json_decref(cl->incidents);
	json_decref(cl->log);
	memset(cl, 0, sizeof(*cl));
}

/* drill_use_state's handle (NULL: each call opens its own). */
static state_t *g_shared_state;

void drill_use_state(state_t *s)
{
	g_shared_state = s;
}

static int state_open_dd(const char *datadir, state_t **st)
{
	char *sp;
	int rc;

	if (g_shared_state != NULL) {
		*st = g_shared_state;
		return 0;
	}
	if ((sp = datadir_path(datadir, DD_STATE)) == NULL)
		return TS_ENOMEM;
	rc = state_open(sp, STATE_RDONLY, 0, st);
	free(sp);
	return rc;
}

/* Close what state_open_dd opened (a shared handle stays open). */
static void state_done_dd(state_t **st)
{
	if (*st == g_shared_state)
		*st = NULL;
	else
		state_close(st);
}

/* The highest id of a state log (0: empty). */
static int stop_cb(uint64_t id, const char *v, size_t vlen, void *arg)
{
	(void)id;
	(void)v;
	(void)vlen;
	(void)arg;
	return 1;
}

static int log_last(state_t *st, int log, uint64_t *last)
{
	int rc;

	*last = 0;
	rc = state_log_read(st, log, 0, 1, stop_cb, NULL, last);
	return rc == TS_ENOTFOUND ? 0 : rc;
}

int drill_alert_mark(const char *datadir, uint64_t *id)
{
	state_t *st = NULL;
	int rc;

	*id = 0;
	if ((rc = state_open_dd(datadir, &st)) != 0)
		return rc == TS_ENOTFOUND ? 0 : rc;
	rc = log_last(st, STATE_LOG_ALERTS, id);
	state_done_dd(&st);
	return rc;
}

int drill_alerts_progress(const char *datadir, const char *drill,
    uint64_t *after, uint64_t *count)
{
	struct collect cl;
	state_t *st = NULL;
	uint64_t last = *after;
	int rc;

	memset(&cl, 0, sizeof(cl));
	cl.drill = drill;
	if ((rc = state_open_dd(datadir, &st)) != 0)
		return rc == TS_ENOTFOUND ? 0 : rc;
	cl.seen = *after;
	rc = state_log_read(st, STATE_LOG_ALERTS, *after, DRILL_LOG_BATCH,
	    count_cb, &cl, &last);
	state_done_dd(&st);
	if (rc == TS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	/* At most one batch per call: the caller calls again. */
	*after = cl.seen;
	*count += cl.progress;
	return 0;
}

/* Read the drill's alerts and incidents from the state.  0 or TS_E*. */
static int collect_drill(const char *datadir, const char *drill,
    uint64_t alert_mark, struct collect *cl)
{
	state_t *st = NULL;
	int rc;

	memset(cl, 0, sizeof(*cl));
	cl->drill = drill;
	if ((cl->incidents = json_array()) == NULL ||
	    (cl->log = json_array()) == NULL)
		return TS_ENOMEM;
	if ((rc = state_open_dd(datadir, &st)) != 0)
		return rc;
	rc = log_read_all(st, STATE_LOG_ALERTS, alert_mark, alert_cb, cl);
	if (rc == 0) {
		rc = state_incidents_foreach(st, 0, incident_cb, cl);
		if (rc == TS_ENOTFOUND || rc == TS_ESTOP)
			rc = 0;
	}
	if (rc == 0 && json_array_size(cl->incidents) > 0)
		rc = log_read_all(st, STATE_LOG_INCIDENTS, 0, inclog_cb, cl);
	state_done_dd(&st);
	return rc;
}

/* ---- scoring ------------------------------------------------------------ */

static int mitre_in(json_t *arr, const char *t)
{
	size_t i, n = strlen(t);
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (s != NULL && strncmp(s, t, n) == 0 &&
		    (s[n] == '\0' || s[n] == '.'))
			return 1;
	}
	return 0;
}

static int alert_matches(const struct drill_expect *e,
    const struct drill_alert *a)
{
	if (e->x_rule != NULL && strcmp(e->x_rule, a->rule) != 0)
		return 0;
	if (e->x_mitre != NULL && !mitre_in(a->mitre, e->x_mitre))
		return 0;
	return 1;
}

static const struct drill_alert *alert_by_id(const struct collect *cl,
    uint64_t id)
{
	size_t lo = 0, hi = cl->n;

	/* cl->v is in id order (read from the alert log) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cl->v[mid].id == id)
			return &cl->v[mid];
		if (cl->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int has_rule_alert(const struct collect *cl, json_t *ids,
    const char *rule)
{
	const struct drill_alert *a;
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v) {
		a = alert_by_id(cl, (uint64_t)json_integer_value(v));
		if (a != NULL && strcmp(a->rule, rule) == 0)
			return 1;
	}
	return 0;
}

static int incident_matches(const struct drill_expect *e,
    const struct collect *cl, json_t *inc)
{
	if (json_integer_value(json_object_get(inc, "severity")) <
	    e->x_min_severity)
		return 0;
	if (e->x_mitre != NULL && !mitre_in(json_object_get(inc, "mitre"),
	    e->x_mitre))
		return 0;
	return e->x_rule == NULL || has_rule_alert(cl,
	    json_object_get(inc, "alerts"), e->x_rule);
}

/*
 * When incident inc first met e, from its log: the first record from
 * which on it held min_severity (and the technique), and had an alert of
 * e's rule.  -1 when its log does not tell (then its "created").
 */
static int64_t incident_met_us(const struct drill_expect *e,
    const struct collect *cl, json_t *inc)
{
	json_int_t id = json_integer_value(json_object_get(inc, "id"));
	int64_t sev_us = -1, rule_us = e->x_rule == NULL ? 0 : -1;
	size_t i;
	json_t *r;

	json_array_foreach(cl->log, i, r) {
		json_t *snap = json_object_get(r, "snapshot");
		int64_t t;

		if (json_integer_value(json_object_get(r, "incident")) != id)
			continue;
		t = json_integer_value(json_object_get(r, "time_us"));
		if (t <= 0)
			t = json_time_us(r, "time");
		if (sev_us < 0 && json_integer_value(json_object_get(snap,
		    "severity")) >= e->x_min_severity && (e->x_mitre == NULL ||
		    mitre_in(json_object_get(snap, "mitre"), e->x_mitre)))
			sev_us = t;
		if (rule_us < 0 && json_is_integer(json_object_get(r,
		    "alert"))) {
			const struct drill_alert *a = alert_by_id(cl,
			    (uint64_t)json_integer_value(json_object_get(r,
			    "alert")));
			if (a != NULL && strcmp(a->rule, e->x_rule) == 0)
				rule_us = t;
		}
	}
	if (sev_us < 0 || rule_us < 0)
		return -1;
	return sev_us > rule_us ? sev_us : rule_us;
}

static int i64_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Score e: count the matches, and time the detection by the min_count-th
 * match in the order they were raised.  A match without a detection time
 * (a state from an older engine) is timed by `observed` and marked
 * estimated.
 */
static int score_one(struct drill_expect *e, const struct collect *cl,
    uint64_t first_sent, uint64_t observed)
{
	int64_t *t = NULL;
	size_t n = 0, cap = 0, k;
	int est = 0;
	json_t *inc;

	e->x_count = 0;
	e->x_ttd_us = -1;
	e->x_ttd_estimated = 0;
	e->x_why[0] = '\0';
	cap = e->x_kind == DRILL_EX_INCIDENT ?
	    json_array_size(cl->incidents) : cl->n;
	if (cap > 0 && (t = calloc(cap, sizeof(*t))) == NULL)
		return TS_ENOMEM;
	if (e->x_kind == DRILL_EX_INCIDENT) {
		json_array_foreach(cl->incidents, k, inc) {
			if (!incident_matches(e, cl, inc))
				continue;
			t[n] = incident_met_us(e, cl, inc);
			if (t[n] < 0)
				t[n] = json_time_us(inc, "created");
			n++;
		}
	} else {
		for (k = 0; k < cl->n; k++)
			if (alert_matches(e, &cl->v[k]))
				t[n++] = cl->v[k].detected_us;
	}
	e->x_count = n;
	for (k = 0; k < n; k++)
		if (t[k] < 0) {
			t[k] = (int64_t)observed;
			est = 1;
		}
	if (e->x_kind == DRILL_EX_ABSENT) {
		e->x_met = n == 0;
		if (!e->x_met)
			snprintf(e->x_why, sizeof(e->x_why), "fired %zu "
			    "time(s): false positive", n);
		free(t);
		return 0;
	}
	e->x_met = n >= e->x_min_count;
	if (!e->x_met) {
		snprintf(e->x_why, sizeof(e->x_why), "%zu of %llu", n,
		    (unsigned long long)e->x_min_count);
		free(t);
		return 0;
	}
	qsort(t, n, sizeof(*t), i64_cmp);
	e->x_ttd_us = t[e->x_min_count - 1] - (int64_t)first_sent;
	if (e->x_ttd_us < 0)
		e->x_ttd_us = 0;
	e->x_ttd_estimated = est;
	if (e->x_max_ttd_us != 0 && (uint64_t)e->x_ttd_us > e->x_max_ttd_us) {
		e->x_met = 0;
		snprintf(e->x_why, sizeof(e->x_why), "detected too late");
	}
	free(t);
	return 0;
}

static json_t *scorecard_json(const struct drill_scenario *s,
    const char *drill, const struct drill_run_info *ri, uint64_t finished,
    const struct collect *cl, size_t met)
{
	char t1[40], t2[40], t3[40];
	json_t *o, *arr, *x;
	size_t i;

	format_rfc3339(ri->ri_started_us, t1, sizeof(t1));
	format_rfc3339(finished, t2, sizeof(t2));
	format_rfc3339(ri->ri_first_sent_us, t3, sizeof(t3));
	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < s->s_nex; i++) {
		const struct drill_expect *e = &s->s_ex[i];
		x = json_pack("{s:s, s:s?, s:s?, s:I, s:I, s:b}",
		    "type", e->x_kind == DRILL_EX_ALERT ? "alert" :
		    e->x_kind == DRILL_EX_INCIDENT ? "incident" :
		    "must_not_fire",
		    "rule", e->x_rule, "mitre", e->x_mitre,
		    "min_count", (json_int_t)(e->x_kind == DRILL_EX_ABSENT ?
		    0 : e->x_min_count),
		    "count", (json_int_t)e->x_count, "met", e->x_met);
		if (x == NULL || json_array_append_new(arr, x) != 0) {
			json_decref(arr);
			return NULL;
		}
		if (e->x_kind == DRILL_EX_INCIDENT)
			json_object_set_new(x, "min_severity",
			    json_integer(e->x_min_severity));
		json_object_set_new(x, "time_to_detect_ms", e->x_ttd_us >= 0 ?
		    json_integer(e->x_ttd_us / 1000) : json_null());
		if (e->x_ttd_us >= 0 && e->x_ttd_estimated)
			json_object_set_new(x, "time_to_detect_estimated",
			    json_true());
		json_object_set_new(x, "max_time_to_detect_ms",
		    e->x_max_ttd_us ? json_integer((json_int_t)
		    (e->x_max_ttd_us / 1000)) : json_null());
		if (e->x_why[0] != '\0')
			json_object_set_new(x, "why", json_string(e->x_why));
		json_object_set_new(x, "line", json_integer(e->x_line));
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:{s:I, s:I}, "
	    "s:s, s:I, s:I, s:o, s:I, s:I, s:b}",
	    "drill", drill, "scenario", s->s_name, "description",
	    s->s_description, "file", s->s_file, "started", t1, "finished",
	    t2, "speed", (json_int_t)ri->ri_speed,
	    "events", "sent", (json_int_t)ri->ri_sent, "acknowledged",
	    (json_int_t)ri->ri_acked,
	    "first_sent", t3,
	    "alerts", (json_int_t)cl->n,
	    "incidents", (json_int_t)json_array_size(cl->incidents),
	    "expectations", arr,
	    "met", (json_int_t)met, "missed", (json_int_t)(s->s_nex - met),
	    "passed", met == s->s_nex);
	return o;
}

int drill_score(const char *datadir, struct drill_scenario *s,
    const char *drill, const struct drill_run_info *ri, json_t **out,
    size_t *met)
{
	struct collect cl;
	uint64_t observed;
	size_t i;
	int rc;

	*out = NULL;
	*met = 0;
	if ((rc = collect_drill(datadir, drill, ri->ri_alert_mark, &cl)) != 0)
		goto out;
	observed = now_us();
	for (i = 0; i < s->s_nex; i++) {
		if ((rc = score_one(&s->s_ex[i], &cl, ri->ri_first_sent_us,
		    observed)) != 0)
			goto out;
		*met += s->s_ex[i].x_met;
	}
	if ((*out = scorecard_json(s, drill, ri, observed, &cl, *met)) ==
	    NULL)
		rc = TS_ENOMEM;
out:
	collect_free(&cl);
	return rc;
}

/* ---- stored scorecards ------------------------------------------------------ */

/* The summary drill_list shows of scorecard sc. */
static json_t *summary(json_t *sc, const char *name, const char *stored)
{
	json_t *o = json_object();
	static const char *const keys[] = { "scenario", "started",
	    "finished", "passed", "met", "missed", "alerts", "incidents",
	    NULL };
	size_t i;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "drill", json_string(name));
	for (i = 0; keys[i] != NULL; i++) {
		json_t *v = json_object_get(sc, keys[i]);
		json_object_set(o, keys[i], v != NULL ? v : json_null());
	}
	json_object_set_new(o, "stored", json_string(stored));
	return o;
}

struct list_walk {
	json_t	*arr;
	int	 rc;
};

static int list_cb(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct list_walk *lw = arg;
	char name[MAX_DRILL_BYTES + 1];
	json_t *sc, *o;

	if (klen == 0 || klen > MAX_DRILL_BYTES)
		return 0;
	memcpy(name, k, klen);
	name[klen] = '\0';
	if ((sc = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	o = summary(sc, name, "state");
	json_decref(sc);
	if (o == NULL || json_array_size(lw->arr) >= MAX_DRILLS_LISTED ||
	    json_array_append_new(lw->arr, o) != 0) {
		lw->rc = TS_ENOMEM;
		return 1;
	}
	return 0;
}

static int has_drill(json_t *arr, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
		if (strcmp(json_string_value(json_object_get(o, "drill")),
		    name) == 0)
			return 1;
	return 0;
}

static int started_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a,
	    "started"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b,
	    "started"));

	return strcmp(x ? x : "", y ? y : "");
}

/* The scorecards kept as files under DATADIR/drills, not in the state. */
static int list_files(const char *datadir, json_t *arr)
{
	char *dir = datadir_path(datadir, DD_DRILLS), *path, *text;
	struct dirent *de;
	size_t len, tlen;
	json_t *sc, *o;
	DIR *d;
	int rc = 0;

	if (dir == NULL)
		return TS_ENOMEM;
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return 0;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char name[MAX_DRILL_BYTES + 1];

		len = strlen(de->d_name);
		if (len < 6 || len - 5 > MAX_DRILL_BYTES ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (!name_valid_str(NAME_DRILL, name) || has_drill(arr, name))
			continue;
		if ((path = xasprintf("%s/%s", dir, de->d_name)) == NULL) {
			rc = TS_ENOMEM;
			break;
		}
		text = NULL;
		if (read_file(path, MAX_SCORECARD_FILE_BYTES, &text, &tlen) ==
		    0 && (sc = json_loads(text, 0, NULL)) != NULL) {
			o = summary(sc, name, "file");
			json_decref(sc);
			if (o == NULL || json_array_append_new(arr, o) != 0)
				rc = TS_ENOMEM;
		}
		free(text);
		free(path);
	}
	closedir(d);
	free(dir);
	return rc;
}

int drill_list(const char *datadir, json_t **out)
{
	struct list_walk lw;
	state_t *st = NULL;
	json_t **v, *arr, *o;
	size_t i, n;
	int rc;

	*out = NULL;
	memset(&lw, 0, sizeof(lw));
	if ((lw.arr = json_array()) == NULL)
		return TS_ENOMEM;
	rc = state_open_dd(datadir, &st);
	if (rc == 0) {
		rc = state_walk(st, STATE_DB_DRILLS, NULL, 0, 0, list_cb, &lw);
		state_done_dd(&st);
		if (rc == TS_ENOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = lw.rc;
	} else if (rc == TS_ENOTFOUND) {
		rc = 0;
	}
	if (rc == 0)
		rc = list_files(datadir, lw.arr);
	if (rc != 0) {
		json_decref(lw.arr);
		return rc;
	}
	/* oldest first, by start time */
	n = json_array_size(lw.arr);
	if ((v = calloc(n ? n : 1, sizeof(*v))) == NULL ||
	    (arr = json_array()) == NULL) {
		free(v);
		json_decref(lw.arr);
		return TS_ENOMEM;
	}
	json_array_foreach(lw.arr, i, o)
		v[i] = o;
	qsort(v, n, sizeof(*v), started_cmp);
	for (i = 0; i < n; i++)
		json_array_append(arr, v[i]);
	free(v);
	json_decref(lw.arr);
	*out = arr;
	return 0;
}

/* The scorecard stored for drill `name` exactly.  0, TS_ENOTFOUND. */
static int scorecard_exact(const char *datadir, const char *name,
    json_t **sc)
{
	char *text = NULL, *fp;
	state_t *st = NULL;
	size_t len;

	*sc = NULL;
	if (!name_valid_str(NAME_DRILL, name))
		return TS_ENOTFOUND;
	if (state_open_dd(datadir, &st) == 0) {
		if (state_drill_get(st, name, &text) != 0)
			text = NULL;
		state_done_dd(&st);
	}
	if (text == NULL && (fp = xasprintf("%s/drills/%s.json", datadir,
	    name)) != NULL) {
		if (read_file(fp, MAX_SCORECARD_FILE_BYTES, &text, &len) != 0)
			text = NULL;
		free(fp);
	}
	if (text == NULL)
		return TS_ENOTFOUND;
	*sc = json_loads(text, 0, NULL);
	free(text);
	return *sc != NULL ? 0 : TS_EPARSE;
}

int drill_scorecard_get(const char *datadir, const char *name, json_t **sc,
    char **drill)
{
	json_t *list = NULL, *o, *latest = NULL;
	const char *d;
	size_t i;
	int rc;

	*sc = NULL;
	if (drill != NULL)
		*drill = NULL;
	rc = scorecard_exact(datadir, name, sc);
	if (rc == 0) {
		if (drill != NULL && (*drill = strdup(name)) == NULL) {
			json_decref(*sc);
			*sc = NULL;
			return TS_ENOMEM;
		}
		return 0;
	}
	if (rc != TS_ENOTFOUND)
		return rc;
	/* A scenario's name: its latest run (the list is oldest first). */
	if ((rc = drill_list(datadir, &list)) != 0)
		return rc;
	json_array_foreach(list, i, o) {
		const char *s = json_string_value(json_object_get(o,
		    "scenario"));
		if (s != NULL && strcmp(s, name) == 0)
			latest = o;
	}
	rc = TS_ENOTFOUND;
	if (latest != NULL &&
	    (d = json_string_value(json_object_get(latest, "drill"))) != NULL) {
		rc = scorecard_exact(datadir, d, sc);
		if (rc == 0 && drill != NULL && (*drill = strdup(d)) == NULL) {
			json_decref(*sc);
			*sc = NULL;
			rc = TS_ENOMEM;
		}
	}
	json_decref(list);
	return rc;
}
