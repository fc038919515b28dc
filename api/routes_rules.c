/*
 * routes_rules.c - /api/v1/rules (the rule set the API loaded from the
 * engine's configuration with the engine's loader, reloaded on SIGHUP as
 * the engine's is) and /api/v1/rules/test (lines through that set and the
 * engine's correlation, as `tocsin rules test`); /api/v1/drills (shipped
 * scenarios, scorecards, running one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/config.h"
#include "common/datadir.h"
#include "common/err.h"
#include "common/names.h"
#include "common/util.h"
#include "engine/drill.h"
#include "engine/engine.h"
#include "rules/correlate.h"
#include "rules/rules.h"

/* Correlation firings reported per line of a test. */
#define TEST_MAX_CORR	32

void h_rules(struct api_req *q, struct api_resp *r);
void h_rules_test(struct api_req *q, struct api_resp *r);
void h_drills(struct api_req *q, struct api_resp *r);
void h_drill_one(struct api_req *q, struct api_resp *r);
void h_drill_run(struct api_req *q, struct api_resp *r);

static json_t *
strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
rule_json(const struct rule_info *ri)
{
	json_t *o = json_pack("{s:s, s:s?, s:i, s:o, s:o, s:s?, s:i}", "id",
	    ri->id, "title", ri->title, "level", ri->level, "mitre",
	    strv_json(ri->mitre, ri->nmitre), "groups", strv_json(ri->groups,
	    ri->ngroups), "file", ri->file, "line", ri->line);

	if (o != NULL && ri->author != NULL)
		json_object_set_new(o, "author", json_string(ri->author));
	if (o != NULL && ri->description != NULL)
		json_object_set_new(o, "description",
		    json_string(ri->description));
	return o;
}

void
h_rules(struct api_req *q, struct api_resp *r)
{
	const ruleset_t	*rs = api_rules_hold(q->rq_ctx);
	json_t		*arr;
	size_t		 n;

	if (rs == NULL) {
		api_rules_release(q->rq_ctx);
		api_error(r, 503, "no_rules", "the rule set did not load");
		return;
	}
	arr = json_array();
	n = ruleset_rule_count(rs);
	for (size_t i = 0; i < n; i++) {
		json_t *o = rule_json(ruleset_rule(rs, i));

		if (o != NULL)
			json_array_append_new(arr, o);
	}
	api_json(r, 200, json_pack("{s:I, s:I, s:o}", "count", (json_int_t)n,
	    "correlations", (json_int_t)corr_set_count(ruleset_corr(rs)),
	    "rules", arr));
	api_rules_release(q->rq_ctx);
}

struct corr_hits {
	json_t	*arr;
	size_t	 n;
};

static int
hit_cb(const struct rule_info *ri, uint32_t count, void *arg)
{
	struct corr_hits *h = arg;

	if (h->n++ < TEST_MAX_CORR)
		json_array_append_new(h->arr, json_pack("{s:s, s:s?, s:i, "
		    "s:I}", "id", ri->id, "title", ri->title, "level",
		    ri->level, "count", (json_int_t)count));
	return 0;
}

static json_t *
field_text(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);

	if (v == NULL) {
		char *e = malloc(n * 4 + 1);

		if (e != NULL) {
			escape_text(s, n, e, n * 4 + 1);
			v = json_string(e);
			free(e);
		}
	}
	return v != NULL ? v : json_null();
}

void
h_rules_test(struct api_req *q, struct api_resp *r)
{
	const ruleset_t	*rs;
	rules_ctx_t	*ctx = NULL;
	corr_trial_t	*ct = NULL;
	const char	**lines = NULL;
	size_t		 n = 0;
	char		 err[256];
	json_t		*b, *out = NULL;
	int		 rc;

	if ((b = api_body_object(q->rq_body, q->rq_body_len, err,
	    sizeof(err))) == NULL || api_body_lines(b, &lines, &n, err,
	    sizeof(err)) != 0) {
		json_decref(b);
		api_count(AC_REFUSED_MALFORMED);
		api_error(r, 400, "malformed", "%s", err);
		return;
	}
	rs = api_rules_hold(q->rq_ctx);
	if (rs == NULL) {
		api_error(r, 503, "no_rules", "the rule set did not load");
		goto out;
	}
	if ((ctx = rules_ctx_new(rs)) == NULL ||
	    corr_trial_open(ruleset_corr(rs), &ct) != 0) {
		api_error(r, 500, "internal", "cannot make a test context");
		goto out;
	}
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		struct rules_event	ev = { 0 };
		struct rules_result	res;
		struct corr_hits	hits = { json_array(), 0 };
		json_t			*fields = json_object(), *matched,
					*alerts, *o;

		ev.raw = lines[i];
		ev.raw_len = strlen(lines[i]);
		ev.time_us = now_us();
		if ((rc = rules_eval(ctx, &ev, &res)) != 0 ||
		    (rc = corr_trial_feed(ct, &res, ev.time_us, hit_cb,
		    &hits)) != 0) {
			json_decref(fields);
			json_decref(hits.arr);
			api_error(r, 500, "internal", "%s", ts_strerror(rc));
			goto out;
		}
		for (size_t f = 0; f < res.nfields; f++)
			json_object_set_new(fields, res.fields[f].name,
			    field_text(res.fields[f].val, res.fields[f].len));
		matched = json_array();
		for (size_t m = 0; m < res.nmatched; m++)
			json_array_append_new(matched,
			    json_string(res.matched[m]->id));
		alerts = json_array();
		for (size_t m = 0; m < res.nalerts; m++)
			json_array_append_new(alerts, json_pack("{s:s, s:s?, "
			    "s:i}", "id", res.alerts[m]->id, "title",
			    res.alerts[m]->title, "level",
			    res.alerts[m]->level));
		o = json_pack("{s:I, s:s?, s:o, s:o, s:o, s:o}", "line",
		    (json_int_t)(i + 1), "decoder", res.decoder, "fields",
		    fields, "matched", matched, "alerts", alerts,
		    "correlations", hits.arr);
		if (o != NULL)
			json_array_append_new(out, o);
	}
	api_json(r, 200, json_pack("{s:o}", "results", out));
	out = NULL;
out:
	json_decref(out);
	corr_trial_close(&ct);
	rules_ctx_free(&ctx);
	api_rules_release(q->rq_ctx);
	free(lines);
	json_decref(b);
}

/* ---- drills ----------------------------------------------------------------- */

/* The folder of the shipped scenarios: PKGDATADIR/drills when installed,
 * else drills/ of the source tree. */
static char *
drills_dir(void)
{
	const char *p = config_pkgdatadir();

	return p[0] != '\0' ? xasprintf("%s/drills", p) : strdup("drills");
}

/* Every shipped scenario (engine/drill.h), each with whether it runs. */
static json_t *
scenarios(struct api_ctx *x)
{
	char	*dir = drills_dir();
	json_t	*arr = NULL, *v;
	size_t	 i;

	if (dir == NULL || drill_scenarios_list(dir, &arr) != 0)
		arr = json_array();
	free(dir);
	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));

		json_object_set_new(v, "running", json_boolean(n != NULL &&
		    api_drill_running(x, n)));
	}
	return arr;
}

static json_t *
scenario_find(json_t *arr, const char *name)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(arr, i, v) {
		const char *n = json_string_value(json_object_get(v, "name"));

		if (n != NULL && strcmp(n, name) == 0 &&
		    json_object_get(v, "error") == NULL)
			return v;
	}
	return NULL;
}

/* GET /api/v1/drills: the shipped scenarios (each with its latest run)
 * and every past drill, oldest first. */
void
h_drills(struct api_req *q, struct api_resp *r)
{
	json_t	*sc = scenarios(q->rq_ctx), *runs = NULL, *run;
	size_t	 i;
	int	 rc;

	(void)api_state(q->rq_ctx);	/* read through the API's handle */
	api_db_lock(q->rq_ctx);
	rc = drill_list(api_cfg(q->rq_ctx)->data_dir, &runs);
	api_db_unlock(q->rq_ctx);
	if (rc != 0) {
		json_decref(sc);
		api_error(r, 500, "internal", "reading the scorecards: %s",
		    ts_strerror(rc));
		return;
	}
	json_array_foreach(runs, i, run) {
		const char *n = json_string_value(json_object_get(run,
		    "scenario"));
		json_t *s = n != NULL ? scenario_find(sc, n) : NULL;

		if (s != NULL)	/* oldest first: the last one wins */
			json_object_set(s, "latest", run);
	}
	api_json(r, 200, json_pack("{s:o, s:o}", "drills", sc, "runs", runs));
}

/* GET /api/v1/drills/{name}: a scenario (with its latest scorecard) or a
 * past drill's scorecard. */
void
h_drill_one(struct api_req *q, struct api_resp *r)
{
	json_t	*all = scenarios(q->rq_ctx), *o, *card = NULL;
	char	*drill = NULL;
	int	 rc;

	if (!name_valid_str(NAME_DRILL, q->rq_word)) {
		json_decref(all);
		api_count(AC_NOT_FOUND);
		api_error(r, 404, "not_found", "no such drill");
		return;
	}
	o = json_incref(scenario_find(all, q->rq_word));
	json_decref(all);
	(void)api_state(q->rq_ctx);
	api_db_lock(q->rq_ctx);
	rc = drill_scorecard_get(api_cfg(q->rq_ctx)->data_dir, q->rq_word,
	    &card, &drill);
	api_db_unlock(q->rq_ctx);
	if (rc != 0 && rc != TS_ENOTFOUND) {
		json_decref(o);
		api_error(r, 500, "internal", "%s", ts_strerror(rc));
		return;
	}
	if (o == NULL && card == NULL) {
		api_count(AC_NOT_FOUND);
		api_error(r, 404, "not_found", "no drill or scenario '%s'",
		    q->rq_word);
		return;
	}
	if (o == NULL)
		o = json_pack("{s:s}", "name", q->rq_word);
	if (card != NULL) {
		json_object_set_new(o, "scorecard", card);
		json_object_set_new(o, "drill", json_string(drill));
	}
	free(drill);
	if (json_object_get(o, "running") == NULL)
		json_object_set_new(o, "running", json_false());
	api_json(r, 200, o);
}

void
h_drill_run(struct api_req *q, struct api_resp *r)
{
	json_t		*all = scenarios(q->rq_ctx), *o, *b = NULL, *v;
	const char	*file;
	char		 err[256], speed[24];
	long		 pid;
	int		 rc;

	speed[0] = '\0';
	if (q->rq_body_len > 0) {
		if ((b = api_body_object(q->rq_body, q->rq_body_len, err,
		    sizeof(err))) == NULL)
			goto bad;
		if ((v = json_object_get(b, "speed")) != NULL) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 100000) {
				snprintf(err, sizeof(err), "body: \"speed\" must "
				    "be an integer from 1 to 100000");
				goto bad;
			}
			snprintf(speed, sizeof(speed), "%lld",
			    (long long)json_integer_value(v));
		}
		if (json_is_true(json_object_get(b, "as_fast_as_possible")))
			snprintf(speed, sizeof(speed), "max");
	}
	o = scenario_find(all, q->rq_word);
	if (o == NULL) {
		json_decref(all);
		json_decref(b);
		api_count(AC_NOT_FOUND);
		api_error(r, 404, "not_found", "no shipped scenario '%s'",
		    name_valid_str(NAME_DRILL, q->rq_word) ? q->rq_word :
		    "(bad name)");
		return;
	}
	file = json_string_value(json_object_get(o, "file"));
	rc = api_drill_start(q->rq_ctx, q->rq_word, file, speed, q->rq_actor,
	    &pid);
	json_decref(all);
	json_decref(b);
	if (rc == TS_EEXIST || rc == TS_EFULL) {
		if (rc == TS_EEXIST)
			api_error(r, 409, "running", "drill '%s' is running "
			    "already", q->rq_word);
		else
			api_error(r, 409, "running", "%d drills are running "
			    "already", API_MAX_DRILLS);
		return;
	}
	if (rc != 0) {
		api_error(r, 500, "internal", "cannot start the drill: %s",
		    ts_strerror(rc));
		return;
	}
	api_count(AC_ACTIONS);
	api_json(r, 202, json_pack("{s:s, s:I, s:s}", "drill", q->rq_word,
	    "pid", (json_int_t)pid, "status", "running"));
	return;
bad:
	json_decref(all);
	json_decref(b);
	api_count(AC_REFUSED_MALFORMED);
	api_error(r, 400, "malformed", "%s", err);
}
