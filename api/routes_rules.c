/*
 * routes_rules.c - /api/v1/rules (the rule set the API loaded from the
 * engine's configuration with the engine's loader, reloaded on SIGHUP as
 * the engine's is) and /api/v1/rules/test (lines through that set and the
 * engine's correlation, as `tocsin rules test`); /api/v1/drills (shipped
 * scenarios, scorecards, running one).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/api_int.h"
#include "common/config.h"
#include "common/datadir.h"
#include "common/err.h"
#include "common/names.h"
#include "common/util.h"
#include "common/yamltree.h"
#include "engine/engine.h"
#include "engine/state.h"
#include "rules/correlate.h"
#include "rules/rules.h"

/* Correlation firings reported per line of a test. */
#define TEST_MAX_CORR	32
/* Shipped scenarios listed at most. */
#define MAX_SCENARIOS	256

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

/* The name: and description: of scenario file path (NULL name when it
 * does not load). */
static json_t *
scenario_json(const char *dir, const char *file)
{
	char		 err[256], *path = xasprintf("%s/%s", dir, file);
	yt_doc		**docs = NULL;
	size_t		 nd = 0;
	const yt_node	*root, *n, *d;
	json_t		*o = NULL;

	if (path == NULL)
		return NULL;
	if (yt_load_file(path, &docs, &nd, err, sizeof(err)) == 0 && nd > 0 &&
	    (root = docs[0]->root) != NULL &&
	    (n = yt_map_get(root, "name")) != NULL && n->kind == YT_SCALAR &&
	    name_valid(NAME_DRILL, n->str, n->len)) {
		o = json_pack("{s:s%, s:s}", "name", n->str, n->len, "file",
		    path);
		d = yt_map_get(root, "description");
		if (o != NULL && d != NULL && d->kind == YT_SCALAR)
			json_object_set_new(o, "description",
			    json_stringn(d->str, d->len));
	}
	yt_docs_free(&docs, nd);
	free(path);
	return o;
}

/* Every shipped scenario, by name. */
static json_t *
scenarios(void)
{
	char		*dir = drills_dir();
	DIR		*dp;
	struct dirent	*de;
	json_t		*all = json_object();
	size_t		 n = 0;

	if (dir == NULL || (dp = opendir(dir)) == NULL) {
		free(dir);
		return all;
	}
	while ((de = readdir(dp)) != NULL && n < MAX_SCENARIOS) {
		size_t	 l = strlen(de->d_name);
		json_t	*o;

		if (l < 5 || strcmp(de->d_name + l - 4, ".yml") != 0 ||
		    de->d_name[0] == '.')
			continue;
		if ((o = scenario_json(dir, de->d_name)) != NULL) {
			json_object_set_new(all, json_string_value(
			    json_object_get(o, "name")), o);
			n++;
		}
	}
	closedir(dp);
	free(dir);
	return all;
}

static int
card_cb(const void *k, size_t klen, const void *v, size_t vlen, void *arg)
{
	json_t	*all = arg, *sc, *o;
	char	 name[MAX_DRILL_BYTES + 1];

	if (klen == 0 || klen > MAX_DRILL_BYTES)
		return 0;
	memcpy(name, k, klen);
	name[klen] = '\0';
	if ((sc = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	if ((o = json_object_get(all, name)) == NULL) {
		o = json_pack("{s:s}", "name", name);
		json_object_set_new(all, name, o);
	}
	json_object_set_new(o, "scorecard", sc);
	return 0;
}

void
h_drills(struct api_req *q, struct api_resp *r)
{
	json_t		*all = scenarios(), *arr = json_array(), *v;
	state_t		*s = api_state(q->rq_ctx);
	const char	*k;
	int		 rc;

	if (s != NULL && (rc = state_walk(s, STATE_DB_DRILLS, NULL, 0, 0,
	    card_cb, all)) != 0 && rc != TS_ENOTFOUND) {
		json_decref(all);
		json_decref(arr);
		api_error(r, 500, "internal", "reading the scorecards: %s",
		    ts_strerror(rc));
		return;
	}
	json_object_foreach(all, k, v) {
		json_object_set_new(v, "running", json_boolean(
		    api_drill_running(q->rq_ctx, k)));
		json_array_append(arr, v);
	}
	json_decref(all);
	api_json(r, 200, json_pack("{s:o}", "drills", arr));
}

void
h_drill_one(struct api_req *q, struct api_resp *r)
{
	json_t	*all = scenarios(), *o;
	state_t	*s = api_state(q->rq_ctx);
	char	*card = NULL;

	if (!name_valid_str(NAME_DRILL, q->rq_word)) {
		json_decref(all);
		api_error(r, 404, "not_found", "no drill '%s'", "(bad name)");
		return;
	}
	o = json_incref(json_object_get(all, q->rq_word));
	json_decref(all);
	if (s != NULL && state_drill_get(s, q->rq_word, &card) == 0) {
		json_t *sc = json_loads(card, 0, NULL);

		if (o == NULL)
			o = json_pack("{s:s}", "name", q->rq_word);
		if (sc != NULL)
			json_object_set_new(o, "scorecard", sc);
	}
	free(card);
	if (o == NULL) {
		api_count(AC_NOT_FOUND);
		api_error(r, 404, "not_found", "no drill '%s'", q->rq_word);
		return;
	}
	json_object_set_new(o, "running", json_boolean(api_drill_running(
	    q->rq_ctx, q->rq_word)));
	api_json(r, 200, o);
}

void
h_drill_run(struct api_req *q, struct api_resp *r)
{
	json_t		*all = scenarios(), *o;
	const char	*file;
	char		 log[64];
	long		 pid;
	int		 rc;

	/* rq_word is "NAME/run" cut at the slash by the route */
	o = json_object_get(all, q->rq_word);
	if (o == NULL) {
		json_decref(all);
		api_count(AC_NOT_FOUND);
		api_error(r, 404, "not_found", "no shipped scenario '%s'",
		    name_valid_str(NAME_DRILL, q->rq_word) ? q->rq_word :
		    "(bad name)");
		return;
	}
	file = json_string_value(json_object_get(o, "file"));
	rc = api_drill_start(q->rq_ctx, q->rq_word, file, q->rq_actor, &pid,
	    log, sizeof(log));
	json_decref(all);
	if (rc == TS_EEXIST) {
		api_error(r, 409, "running", "drill '%s' is running already",
		    q->rq_word);
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
}
