/*
 * cmd_drill.c - `tocsin drill run|report|clean`: scored security drills.
 *
 * A scenario (YAML, docs/drills.md) names recordings and expectations.
 * `drill run` checks the scenario whole (known keys, rule ids and MITRE
 * techniques against the loaded rule set, the recordings), replays the
 * recordings as a named drill through the real pipeline, waits (bounded)
 * until the engine has processed everything journaled, scores each
 * expectation from the drill's alerts and incidents in the state, prints a
 * scorecard and stores it with the control request "drill_save".
 */
#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "common/control.h"
#include "common/datadir.h"
#include "rules/correlate.h"
#include "common/err.h"
#include "collector/journal.h"
#include "common/limits.h"
#include "rules/rules.h"
#include "engine/state.h"
#include "common/util.h"
#include "common/yamltree.h"

/* Recordings of one scenario. */
#define MAX_DRILL_RECORDINGS	32
/* Expectations of one scenario. */
#define MAX_DRILL_EXPECT	256
/* Alerts of one drill kept for scoring. */
#define MAX_DRILL_ALERTS	1000000
/* How long `drill run` waits for the engine to catch up, by default. */
#define DRILL_WAIT_US		(120ULL * 1000000)
/* How long the CLI waits for the engine's answer to a control request. */
#define DRILL_CONTROL_WAIT_US	(10ULL * 1000000)
/* Largest stored scorecard read back. */
#define MAX_SCORECARD_BYTES	(4 * 1024 * 1024)

enum { OPT_JSON = 256, OPT_SPEED, OPT_ASAP, OPT_DRILL, OPT_WAIT, OPT_NOSAVE,
    OPT_RULES };

/* Options of run and check. */
static const struct cli_opt run_opts[] = {
	{ "json", 0, OPT_JSON, NULL, "the scorecard as one JSON object" },
	{ "speed", 0, OPT_SPEED, "N",
	  "divide the recorded gaps by N (default: the\n"
	  "scenario's speed:, else 1)" },
	{ "as-fast-as-possible", 0, OPT_ASAP, NULL, "no waits between events" },
	{ "drill", 0, OPT_DRILL, "NAME", "the drill's name" },
	{ "wait", 0, OPT_WAIT, "DUR",
	  "longest wait for the engine (default 2m)" },
	{ "no-save", 0, OPT_NOSAVE, NULL, "do not store the scorecard" },
	{ "rules", 0, OPT_RULES, "PATH",
	  "check against these rules (repeatable;\n"
	  "default: the configuration's engine.rules)" },
};

static const struct cli_opt report_opts[] = {
	{ "json", 0, OPT_JSON, NULL, "the scorecard as one JSON object" },
};

static const struct cli_optgroup drill_groups[] = {
	{ "Options of run and check:", CLI_TABLE(run_opts) },
	{ "Options of report:", CLI_TABLE(report_opts) },
};

const struct cli_help cmd_drill_help = {
	"usage: tocsin drill run SCENARIO.yml [--json] [--speed N |\n"
	"                        --as-fast-as-possible] [--drill NAME]\n"
	"                        [--wait DUR] [--no-save]\n"
	"       tocsin drill check SCENARIO.yml\n"
	"       tocsin drill report NAME [--json]\n"
	"       tocsin drill clean NAME\n"
	"       (each takes -c CONFIG and -D DATADIR)\n"
	"\n"
	"run     check the scenario (known keys; rule ids and MITRE techniques\n"
	"        must exist in the loaded rule set; every recording valid), then\n"
	"        replay its recordings as drill NAME (default: the scenario's\n"
	"        name, '-' and the UTC time, e.g. ssh-brute-20260126T080000Z),\n"
	"        wait until the engine has processed everything journaled,\n"
	"        score each expectation (met or missed, time to detect), print\n"
	"        the scorecard and store it (control request drill_save).\n"
	"        Exit 1 when any expectation is missed.\n"
	"check   only the checks of run: nothing is sent.\n"
	"report  print the stored scorecard of drill NAME again.\n"
	"clean   remove the alerts and incidents of drill NAME (control request\n"
	"        drill_clean, applied by the engine).\n"
	"\n"
	"Time to detect = the alert's \"detected\" time (wall clock when the\n"
	"engine raised it; an incident's \"created\") minus the wall-clock time\n"
	"replay sent the drill's first event.  With --speed N the recorded gaps\n"
	"are divided by N, so times to detect shrink with them.\n",
	CLI_TABLE(drill_groups),
	"Exit status: 0 all expectations met, 1 some missed or a run-time\n"
	"error, 2 a bad scenario, recording or option (nothing sent).\n"
	"\n"
	"Examples:\n"
	"  tocsin drill run drills/ssh_bruteforce_sudo.yml\n"
	"  tocsin drill report ssh-bruteforce-sudo-20260126T080000Z\n"
	"  tocsin drill clean ssh-bruteforce-sudo-20260126T080000Z\n",
};

enum expect_kind { EX_ALERT = 1, EX_INCIDENT, EX_ABSENT };

struct expect {
	enum expect_kind kind;
	char		*rule;		/* NULL: any */
	char		*mitre;		/* NULL: any */
	uint64_t	 min_count;
	int		 min_severity;	/* incidents; -1: any */
	uint64_t	 max_ttd_us;	/* 0: no limit */
	int		 line, col;
	int		 rule_line, rule_col, mitre_line, mitre_col;
	/* result */
	uint64_t	 count;
	int64_t		 ttd_us;	/* -1: none */
	int		 ttd_estimated;	/* no "detected": observation time */
	int		 met;
	char		 why[160];
};

struct scenario {
	char		*file;
	char		*name, *description;
	char		*recordings[MAX_DRILL_RECORDINGS];
	int		 rec_line[MAX_DRILL_RECORDINGS];
	size_t		 nrec;
	uint64_t	 speed;		/* 0: as fast as possible */
	int		 speed_set;
	uint64_t	 max_ttd_us;
	struct expect	 ex[MAX_DRILL_EXPECT];
	size_t		 nex;
};

static void scenario_free(struct scenario *s)
{
	size_t i;

	free(s->file);
	free(s->name);
	free(s->description);
	for (i = 0; i < s->nrec; i++)
		free(s->recordings[i]);
	for (i = 0; i < s->nex; i++) {
		free(s->ex[i].rule);
		free(s->ex[i].mitre);
	}
	memset(s, 0, sizeof(*s));
}

/* ---- scenario loading -------------------------------------------------- */

/* A scalar node's string, or NULL after writing "file:line:col: KEY must
 * be text" into err. */
static const char *scalar(const struct scenario *s, const yt_node *n,
    const char *what, char *err, size_t errlen)
{
	if (n == NULL || n->kind != YT_SCALAR || yt_is_null(n)) {
		snprintf(err, errlen, "%s:%d:%d: %s must be a value",
		    s->file, n ? n->line : 0, n ? n->col : 0, what);
		return NULL;
	}
	return n->str;
}

static int parse_expect_list(struct scenario *s, const yt_node *list,
    enum expect_kind kind, const char *what, char *err, size_t errlen)
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
		    s->file, list->line, list->col, what);
		return TS_EPARSE;
	}
	for (i = 0; i < list->n; i++) {
		const yt_node *m = list->items[i], *v;
		struct expect *e;
		unsigned long long u;
		const char *str;

		if (s->nex == MAX_DRILL_EXPECT) {
			snprintf(err, errlen, "%s:%d:%d: more than %d "
			    "expectations", s->file, m->line, m->col,
			    MAX_DRILL_EXPECT);
			return TS_EPARSE;
		}
		if (yt_check_keys(m, kind == EX_ALERT ? k_alert : kind ==
		    EX_INCIDENT ? k_inc : k_absent, s->file, what, err,
		    errlen) != 0)
			return TS_EPARSE;
		e = &s->ex[s->nex++];
		memset(e, 0, sizeof(*e));
		e->kind = kind;
		e->line = m->line;
		e->col = m->col;
		e->min_count = 1;
		e->min_severity = -1;
		if ((v = yt_map_get(m, "rule")) != NULL) {
			if ((str = scalar(s, v, "rule", err, errlen)) == NULL)
				return TS_EPARSE;
			if ((e->rule = strdup(str)) == NULL)
				return TS_ENOMEM;
			e->rule_line = v->line;
			e->rule_col = v->col;
		}
		if ((v = yt_map_get(m, "mitre")) != NULL) {
			if ((str = scalar(s, v, "mitre", err, errlen)) == NULL)
				return TS_EPARSE;
			if (!name_valid_str(NAME_MITRE, str)) {
				snprintf(err, errlen, "%s:%d:%d: mitre must be %s",
				    s->file, v->line, v->col,
				    name_expect(NAME_MITRE));
				return TS_EPARSE;
			}
			if ((e->mitre = strdup(str)) == NULL)
				return TS_ENOMEM;
			e->mitre_line = v->line;
			e->mitre_col = v->col;
		}
		if (kind != EX_INCIDENT && e->rule == NULL && e->mitre == NULL) {
			snprintf(err, errlen, "%s:%d:%d: an expectation needs "
			    "rule: or mitre:", s->file, m->line, m->col);
			return TS_EPARSE;
		}
		u = 1;
		if (yt_get_u64(m, "min_count", s->file, 1, 1000000, &u, err,
		    errlen) != 0)
			return TS_EPARSE;
		e->min_count = u;
		u = 0;
		if (kind == EX_INCIDENT) {
			if ((v = yt_map_get(m, "min_severity")) == NULL) {
				snprintf(err, errlen, "%s:%d:%d: an incident "
				    "expectation needs min_severity: (0-15)",
				    s->file, m->line, m->col);
				return TS_EPARSE;
			}
			if (yt_get_u64(m, "min_severity", s->file, 0, 15, &u,
			    err, errlen) != 0)
				return TS_EPARSE;
			e->min_severity = (int)u;
		}
		u = 0;
		if (yt_get_duration(m, "max_time_to_detect", s->file, &u, err,
		    errlen) != 0)
			return TS_EPARSE;
		e->max_ttd_us = u;
	}
	return 0;
}

/* Load and check the scenario's syntax.  0 or TS_E* with err. */
static int scenario_load(const char *path, struct scenario *s, char *err,
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
	if ((s->file = strdup(path)) == NULL)
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
	if ((s->name = strdup(v->str)) == NULL)
		goto oom;
	if ((v = yt_map_get(root, "description")) == NULL) {
		snprintf(err, errlen, "%s:%d:%d: missing key 'description' (the "
		    "attack and what the SOC should see, in plain English)",
		    path, root->line, root->col);
		goto out;
	}
	if (scalar(s, v, "description", err, errlen) == NULL)
		goto out;
	if ((s->description = strdup(v->str)) == NULL)
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
			s->recordings[s->nrec] = strdup(f);
		} else {
			if ((dup = strdup(path)) == NULL)
				goto oom;
			dir = dirname(dup);
			s->recordings[s->nrec] = xasprintf("%s/%s", dir, f);
			free(dup);
		}
		if (s->recordings[s->nrec] == NULL)
			goto oom;
		s->rec_line[s->nrec++] = v->items[i]->line;
	}
	s->speed = 1;
	if (yt_map_get(root, "speed") != NULL) {
		u = 1;
		if (yt_get_u64(root, "speed", path, 0, 1000000, &u, err,
		    errlen) != 0)
			goto out;
		s->speed = u;	/* 0: as fast as possible */
		s->speed_set = 1;
	}
	u = 0;
	if (yt_get_duration(root, "max_time_to_detect", path, &u, err,
	    errlen) != 0)
		goto out;
	s->max_ttd_us = u;
	if ((ex = yt_map_get(root, "expect")) == NULL) {
		snprintf(err, errlen, "%s:%d:%d: missing key 'expect'", path,
		    root->line, root->col);
		goto out;
	}
	if (yt_check_keys(ex, k_expect, path, "expect", err, errlen) != 0)
		goto out;
	if ((rc = parse_expect_list(s, yt_map_get(ex, "alerts"), EX_ALERT,
	    "alerts", err, errlen)) != 0 ||
	    (rc = parse_expect_list(s, yt_map_get(ex, "incidents"),
	    EX_INCIDENT, "incidents", err, errlen)) != 0 ||
	    (rc = parse_expect_list(s, yt_map_get(ex, "must_not_fire"),
	    EX_ABSENT, "must_not_fire", err, errlen)) != 0)
		goto out;
	rc = TS_EPARSE;
	if (s->nex == 0) {
		snprintf(err, errlen, "%s:%d:%d: expect: holds no expectation",
		    path, ex->line, ex->col);
		goto out;
	}
	for (i = 0; i < s->nex; i++)
		if (s->ex[i].kind != EX_ABSENT && s->ex[i].max_ttd_us == 0)
			s->ex[i].max_ttd_us = s->max_ttd_us;
	rc = 0;
	goto out;
oom:
	rc = TS_ENOMEM;
	snprintf(err, errlen, "%s: out of memory", path);
out:
	yt_docs_free(&docs, ndocs);
	return rc;
}

/* ---- checks against the rule set ------------------------------------- */

struct ruleref {
	ruleset_t		*rs;
	const corr_set_t	*cs;	/* rs' correlation rules */
};

static int rule_known(const struct ruleref *rr, const char *id)
{
	size_t i;

	for (i = 0; i < ruleset_rule_count(rr->rs); i++)
		if (strcmp(ruleset_rule(rr->rs, i)->id, id) == 0)
			return 1;
	for (i = 0; rr->cs != NULL && i < corr_set_count(rr->cs); i++)
		if (strcmp(corr_set_rule(rr->cs, i)->info.id, id) == 0)
			return 1;
	return 0;
}

static int info_has_mitre(const struct rule_info *ri, const char *t)
{
	size_t i, n = strlen(t);

	for (i = 0; i < ri->nmitre; i++)
		if (strncmp(ri->mitre[i], t, n) == 0 &&
		    (ri->mitre[i][n] == '\0' || ri->mitre[i][n] == '.'))
			return 1;
	return 0;
}

static int mitre_known(const struct ruleref *rr, const char *t)
{
	size_t i;

	for (i = 0; i < ruleset_rule_count(rr->rs); i++)
		if (info_has_mitre(ruleset_rule(rr->rs, i), t))
			return 1;
	for (i = 0; rr->cs != NULL && i < corr_set_count(rr->cs); i++)
		if (info_has_mitre(&corr_set_rule(rr->cs, i)->info, t))
			return 1;
	return 0;
}

/* Load the rules and check every rule id and technique of s.  CLI_EXIT_*
 * after printing. */
static int scenario_check_rules(const struct cli_cmd *cmd, struct cli *c,
    const struct scenario *s, const char *const *paths, size_t npaths)
{
	const struct server_config *cfg;
	struct rules_diags dg;
	struct ruleref rr;
	size_t i;
	int bad = 0;

	memset(&dg, 0, sizeof(dg));
	memset(&rr, 0, sizeof(rr));
	if (npaths == 0) {
		if ((cfg = cli_config(c)) == NULL)
			return CLI_EXIT_USAGE;
		paths = (const char *const *)cfg->rule_paths;
		npaths = cfg->nrule_paths;
	}
	if (ruleset_load(paths, npaths, &rr.rs, &dg) != 0) {
		rules_diags_print(&dg, stderr);
		cli_err(cmd, "the rule set does not load: cannot check the "
		    "scenario's rule ids");
		rules_diags_free(&dg);
		return CLI_EXIT_FAIL;
	}
	rr.cs = ruleset_corr(rr.rs);
	for (i = 0; i < s->nex; i++) {
		const struct expect *e = &s->ex[i];
		char eb[512];
		if (e->rule != NULL && !rule_known(&rr, e->rule)) {
			escape_text(e->rule, strlen(e->rule), eb, sizeof(eb));
			fprintf(stderr, "%s:%d:%d: unknown rule id '%s' (not in "
			    "the loaded rule set)\n", s->file, e->rule_line,
			    e->rule_col, eb);
			bad++;
		}
		if (e->mitre != NULL && !mitre_known(&rr, e->mitre)) {
			fprintf(stderr, "%s:%d:%d: no loaded rule carries MITRE "
			    "technique %s\n", s->file, e->mitre_line,
			    e->mitre_col, e->mitre);
			bad++;
		}
	}
	rules_diags_free(&dg);
	ruleset_free(&rr.rs);
	if (bad) {
		cli_err(cmd, "%d error(s) in the scenario (nothing sent)", bad);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

/* ---- scoring ------------------------------------------------------------ */

struct drill_alert {
	uint64_t	 id;
	char		*rule;
	json_t		*mitre;		/* array (owned) */
	int64_t		 detected_us;	/* -1: none */
};

struct collect {
	const char		*drill;
	struct drill_alert	*v;
	size_t			 n, cap;
	json_t			*incidents;	/* array of the drill's */
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

static int alert_cb(const char *json, size_t len, void *arg)
{
	struct collect *cl = arg;
	struct drill_alert *a;
	const char *d;
	json_t *o;

	if ((o = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;
	d = json_string_value(json_object_get(o, "drill"));
	if (d == NULL || strcmp(d, cl->drill) != 0) {
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
	a->id = (uint64_t)json_integer_value(json_object_get(o, "id"));
	d = json_string_value(json_object_get(json_object_get(o, "rule"),
	    "id"));
	a->rule = strdup(d ? d : "");
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

static int incident_cb(uint64_t id, const char *v, size_t vlen, void *arg)
{
	struct collect *cl = arg;
	const char *d;
	json_t *o;

	(void)id;
	if ((o = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	d = json_string_value(json_object_get(o, "drill"));
	if (d != NULL && strcmp(d, cl->drill) == 0)
		json_array_append(cl->incidents, o);
	json_decref(o);
	return 0;
}

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

static int alert_matches(const struct expect *e, const struct drill_alert *a)
{
	if (e->rule != NULL && strcmp(e->rule, a->rule) != 0)
		return 0;
	if (e->mitre != NULL && !mitre_in(a->mitre, e->mitre))
		return 0;
	return 1;
}

static const struct drill_alert *alert_by_id(const struct collect *cl,
    uint64_t id)
{
	size_t i;

	for (i = 0; i < cl->n; i++)
		if (cl->v[i].id == id)
			return &cl->v[i];
	return NULL;
}

static int incident_matches(const struct expect *e, const struct collect *cl,
    json_t *inc)
{
	json_t *ids, *v;
	size_t i;
	int found;

	if (json_integer_value(json_object_get(inc, "severity")) <
	    e->min_severity)
		return 0;
	if (e->mitre != NULL && !mitre_in(json_object_get(inc, "mitre"),
	    e->mitre))
		return 0;
	if (e->rule == NULL)
		return 1;
	ids = json_object_get(inc, "alerts");
	found = 0;
	json_array_foreach(ids, i, v) {
		const struct drill_alert *a = alert_by_id(cl,
		    (uint64_t)json_integer_value(v));
		if (a != NULL && strcmp(a->rule, e->rule) == 0)
			found = 1;
	}
	return found;
}

/* Time to detect from a detection time; observed is used when absent. */
static void note_ttd(struct expect *e, int64_t det, uint64_t first_sent,
    uint64_t observed)
{
	int64_t t;
	int est = 0;

	if (det < 0) {
		det = (int64_t)observed;
		est = 1;
	}
	t = det - (int64_t)first_sent;
	if (t < 0)
		t = 0;
	if (e->ttd_us < 0 || t < e->ttd_us) {
		e->ttd_us = t;
		e->ttd_estimated = est;
	}
}

static void score(struct scenario *s, const struct collect *cl,
    uint64_t first_sent, uint64_t observed)
{
	size_t i, k;
	json_t *inc;

	for (i = 0; i < s->nex; i++) {
		struct expect *e = &s->ex[i];

		e->count = 0;
		e->ttd_us = -1;
		e->why[0] = '\0';
		if (e->kind == EX_INCIDENT) {
			json_array_foreach(cl->incidents, k, inc) {
				if (!incident_matches(e, cl, inc))
					continue;
				e->count++;
				note_ttd(e, json_time_us(inc, "created"),
				    first_sent, observed);
			}
		} else {
			for (k = 0; k < cl->n; k++) {
				if (!alert_matches(e, &cl->v[k]))
					continue;
				e->count++;
				note_ttd(e, cl->v[k].detected_us, first_sent,
				    observed);
			}
		}
		if (e->kind == EX_ABSENT) {
			e->met = e->count == 0;
			e->ttd_us = -1;
			if (!e->met)
				snprintf(e->why, sizeof(e->why), "fired %llu "
				    "time(s): false positive",
				    (unsigned long long)e->count);
			continue;
		}
		e->met = e->count >= e->min_count;
		if (!e->met) {
			snprintf(e->why, sizeof(e->why), "%llu of %llu",
			    (unsigned long long)e->count,
			    (unsigned long long)e->min_count);
		} else if (e->max_ttd_us != 0 &&
		    (uint64_t)e->ttd_us > e->max_ttd_us) {
			e->met = 0;
			snprintf(e->why, sizeof(e->why), "detected too late");
		}
	}
}

/* ---- scorecard ----------------------------------------------------------- */

static json_t *scorecard_json(const struct scenario *s, const char *drill,
    const struct replay_result *res, uint64_t speed, uint64_t started,
    uint64_t finished, const struct collect *cl, size_t met)
{
	char t1[40], t2[40], t3[40];
	json_t *o, *arr, *x;
	size_t i;

	format_rfc3339(started, t1, sizeof(t1));
	format_rfc3339(finished, t2, sizeof(t2));
	format_rfc3339(res->first_sent_us, t3, sizeof(t3));
	arr = json_array();
	for (i = 0; arr != NULL && i < s->nex; i++) {
		const struct expect *e = &s->ex[i];
		x = json_pack("{s:s, s:s?, s:s?, s:I, s:I, s:b}",
		    "type", e->kind == EX_ALERT ? "alert" :
		    e->kind == EX_INCIDENT ? "incident" : "must_not_fire",
		    "rule", e->rule, "mitre", e->mitre,
		    "min_count", (json_int_t)(e->kind == EX_ABSENT ? 0 :
		    e->min_count),
		    "count", (json_int_t)e->count, "met", e->met);
		if (x == NULL)
			continue;
		if (e->kind == EX_INCIDENT)
			json_object_set_new(x, "min_severity",
			    json_integer(e->min_severity));
		json_object_set_new(x, "time_to_detect_ms", e->ttd_us >= 0 ?
		    json_integer(e->ttd_us / 1000) : json_null());
		if (e->ttd_us >= 0 && e->ttd_estimated)
			json_object_set_new(x, "time_to_detect_estimated",
			    json_true());
		json_object_set_new(x, "max_time_to_detect_ms",
		    e->max_ttd_us ? json_integer((json_int_t)(e->max_ttd_us /
		    1000)) : json_null());
		if (e->why[0] != '\0')
			json_object_set_new(x, "why", json_string(e->why));
		json_object_set_new(x, "line", json_integer(e->line));
		json_array_append_new(arr, x);
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:{s:I, s:I}, "
	    "s:s, s:I, s:I, s:o?, s:I, s:I, s:b}",
	    "drill", drill, "scenario", s->name, "description",
	    s->description, "file", s->file, "started", t1, "finished", t2,
	    "speed", (json_int_t)speed,
	    "events", "sent", (json_int_t)res->sent, "acknowledged",
	    (json_int_t)res->acked,
	    "first_sent", t3,
	    "alerts", (json_int_t)cl->n,
	    "incidents", (json_int_t)json_array_size(cl->incidents),
	    "expectations", arr,
	    "met", (json_int_t)met, "missed", (json_int_t)(s->nex - met),
	    "passed", met == s->nex);
	return o;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL ? v : "?";
}

static void fmt_ms(json_t *v, char *buf, size_t len)
{
	json_int_t ms;

	if (!json_is_integer(v)) {
		snprintf(buf, len, "-");
		return;
	}
	ms = json_integer_value(v);
	if (ms < 10000)
		snprintf(buf, len, "%.2fs", (double)ms / 1000.0);
	else
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
}

/* Print a scorecard (as stored) as a table with a summary. */
static int scorecard_print(json_t *sc)
{
	static const struct table_col cols[] = {
		{ "EXPECTATION", 60, 20, 1, 0 },
		{ "RESULT", 6, 6, 0, 0 },
		{ "COUNT", 9, 5, 0, 1 },
		{ "DETECTED IN", 12, 11, 0, 1 },
		{ "LIMIT", 8, 5, 0, 1 },
		{ "NOTE", 60, 4, 1, 0 },
	};
	table_t *t;
	json_t *x;
	size_t i;
	char b1[32], b2[32];

	printf("drill %s (scenario %s)\n",
	    jstr(sc, "drill"),
	    jstr(sc, "scenario"));
	printf("started %s, %lld events sent, %lld acknowledged, %lld alerts, "
	    "%lld incidents\n",
	    jstr(sc, "started"),
	    (long long)json_integer_value(json_object_get(json_object_get(sc,
	    "events"), "sent")),
	    (long long)json_integer_value(json_object_get(json_object_get(sc,
	    "events"), "acknowledged")),
	    (long long)json_integer_value(json_object_get(sc, "alerts")),
	    (long long)json_integer_value(json_object_get(sc, "incidents")));
	if ((t = table_new(cols, sizeof(cols) / sizeof(cols[0]))) == NULL)
		return TS_ENOMEM;
	json_array_foreach(json_object_get(sc, "expectations"), i, x) {
		const char *type = json_string_value(json_object_get(x, "type"));
		const char *rule = json_string_value(json_object_get(x, "rule"));
		const char *mitre = json_string_value(json_object_get(x,
		    "mitre"));
		const char *why = json_string_value(json_object_get(x, "why"));
		json_int_t minc = json_integer_value(json_object_get(x,
		    "min_count"));
		char d[300], sev[32] = "";

		if (json_object_get(x, "min_severity") != NULL)
			snprintf(sev, sizeof(sev), " severity>=%lld",
			    (long long)json_integer_value(json_object_get(x,
			    "min_severity")));
		snprintf(d, sizeof(d), "%s%s%s%s%s%s",
		    type && strcmp(type, "must_not_fire") == 0 ? "no alert" :
		    type ? type : "?", sev, rule ? " rule " : "",
		    rule ? rule : "", mitre ? " mitre " : "", mitre ? mitre :
		    "");
		table_cell_str(t, d);
		table_cell_str(t, json_is_true(json_object_get(x, "met")) ?
		    "met" : "MISSED");
		if (minc > 0)
			table_cellf(t, "%lld/%lld", (long long)
			    json_integer_value(json_object_get(x, "count")),
			    (long long)minc);
		else
			table_cellf(t, "%lld", (long long)json_integer_value(
			    json_object_get(x, "count")));
		fmt_ms(json_object_get(x, "time_to_detect_ms"), b1,
		    sizeof(b1));
		if (json_is_true(json_object_get(x,
		    "time_to_detect_estimated")))
			strcat(b1, "*");
		fmt_ms(json_object_get(x, "max_time_to_detect_ms"), b2,
		    sizeof(b2));
		table_cell_str(t, b1);
		table_cell_str(t, b2);
		table_cell_str(t, why);
	}
	table_free(&t);
	printf("result: %s (%lld met, %lld missed)\n",
	    json_is_true(json_object_get(sc, "passed")) ? "PASSED" : "FAILED",
	    (long long)json_integer_value(json_object_get(sc, "met")),
	    (long long)json_integer_value(json_object_get(sc, "missed")));
	return 0;
}

/* ---- control requests ------------------------------------------------------ */

static const char *who(void)
{
	const char *u = getenv("USER");

	return u != NULL && u[0] != '\0' ? u : "cli";
}

/*
 * Submit op with members of extra (stolen) and wait for the answer.
 * Returns 1 when the engine answered ok, 0 when it is queued (time-out),
 * -1 on a refusal or an error (printed).
 */
static int control_request(const struct cli_cmd *cmd, const char *dd,
    const char *op, json_t *extra, json_t **answer)
{
	char id[CONTROL_ID_BYTES], t[40], *s, *ans = NULL;
	json_t *o, *a;
	int rc;

	*answer = NULL;
	format_rfc3339(now_us(), t, sizeof(t));
	o = json_pack("{s:s, s:s, s:s}", "op", op, "by", who(), "time", t);
	if (o == NULL || json_object_update(o, extra) != 0) {
		json_decref(o);
		json_decref(extra);
		cli_err(cmd, "out of memory");
		return -1;
	}
	json_decref(extra);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL) {
		cli_err(cmd, "out of memory");
		return -1;
	}
	rc = control_submit(dd, s, strlen(s), id);
	free(s);
	if (rc != 0) {
		cli_err(cmd, "cannot submit the %s request under %s/control: %s",
		    op, dd, ts_strerror(rc));
		return -1;
	}
	rc = control_wait(dd, id, DRILL_CONTROL_WAIT_US, &ans);
	if (rc == TS_EAGAIN)
		return 0;
	if (rc != 0) {
		cli_err(cmd, "waiting for the answer to %s: %s", op,
		    ts_strerror(rc));
		return -1;
	}
	a = json_loads(ans, 0, NULL);
	free(ans);
	if (a == NULL || !json_is_true(json_object_get(a, "ok"))) {
		const char *e = json_string_value(json_object_get(a, "error"));
		char eb[512];
		escape_text(e ? e : "no reason given", strlen(e ? e :
		    "no reason given"), eb, sizeof(eb));
		cli_err(cmd, "the engine refused %s: %s", op, eb);
		json_decref(a);
		return -1;
	}
	*answer = a;
	return 1;
}

/* DATADIR/drills/NAME.json, the fallback store. */
static int scorecard_write_file(const char *dd, const char *drill,
    const char *text)
{
	char *dir = datadir_path(dd, DD_DRILLS), *path = NULL;
	int rc = TS_ENOMEM;

	if (dir == NULL)
		return rc;
	if ((rc = mkdir_p(dir, 0750)) == 0 &&
	    (path = xasprintf("%s/%s.json", dir, drill)) != NULL)
		rc = write_file_atomic(path, text, strlen(text), 0640);
	free(dir);
	free(path);
	return rc;
}

/* ---- drill run ------------------------------------------------------------ */

/* Wait until the engine's cursor reaches the journal's last sequence.
 * 0, or TS_EAGAIN on time-out. */
static int wait_engine(const char *dd, uint64_t wait_us, uint64_t *jlast,
    uint64_t *cursor)
{
	char *jp = datadir_path(dd, DD_JOURNAL), *sp = datadir_path(dd, DD_STATE);
	uint64_t deadline = mono_us() + wait_us;
	int rc = TS_ENOMEM;

	*jlast = *cursor = 0;
	if (jp == NULL || sp == NULL)
		goto out;
	{
		journal_t *j = NULL;
		if ((rc = journal_open(jp, JOURNAL_RDONLY, 0, &j)) != 0)
			goto out;
		rc = journal_last_seq(j, jlast);
		journal_close(&j);
		if (rc != 0)
			goto out;
	}
	for (;;) {
		state_t *st = NULL;
		if (state_open(sp, STATE_RDONLY, 0, &st) == 0) {
			(void)state_cursor_get(st, cursor);
			state_close(&st);
		}
		if (*cursor >= *jlast) {
			rc = 0;
			break;
		}
		if (mono_us() > deadline) {
			rc = TS_EAGAIN;
			break;
		}
		usleep(100000);
	}
out:
	free(jp);
	free(sp);
	return rc;
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
	memset(cl, 0, sizeof(*cl));
}

/* Read the drill's alerts and incidents from the state.  0 or TS_E*. */
static int collect_drill(const char *dd, const char *drill,
    struct collect *cl)
{
	struct alert_query q;
	state_t *st = NULL;
	char *sp = datadir_path(dd, DD_STATE);
	int rc;

	memset(cl, 0, sizeof(*cl));
	cl->drill = drill;
	if (sp == NULL || (cl->incidents = json_array()) == NULL) {
		free(sp);
		return TS_ENOMEM;
	}
	rc = state_open(sp, STATE_RDONLY, 0, &st);
	free(sp);
	if (rc != 0)
		return rc;
	memset(&q, 0, sizeof(q));
	rc = state_alerts_query(st, &q, alert_cb, cl);
	if (rc == TS_ESTOP)
		rc = 0;
	if (rc == 0)
		rc = cl->rc;
	if (rc == 0) {
		rc = state_incidents_foreach(st, 0, incident_cb, cl);
		if (rc == TS_ENOTFOUND || rc == TS_ESTOP)
			rc = 0;
	}
	state_close(&st);
	return rc;
}

static int drill_run(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, int check_only)
{
	struct cli_optparse p;
	static struct scenario s;	/* large: not on the stack */
	struct recording recs[MAX_DRILL_RECORDINGS];
	struct replay_opts ro;
	struct replay_result res;
	struct collect cl;
	const char *rules[16];
	size_t nrules = 0, i, nrecs = 0, met = 0;
	const char *drill = NULL, *dd = NULL;
	char err[2048], name[MAX_DRILL_BYTES + 1], eb[512], *text = NULL;
	uint64_t speed = 0, wait_us = DRILL_WAIT_US, v, started, jlast, cursor;
	int opt, rc, json = 0, speed_set = 0, asap = 0, save = 1;
	int exit_rc = CLI_EXIT_FAIL, stored = 0;
	json_t *sc = NULL, *ans = NULL;

	memset(recs, 0, sizeof(recs));
	memset(&cl, 0, sizeof(cl));
	cli_opt_init(&p, c, cmd, CLI_TABLE(run_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_JSON:
			json = 1;
			break;
		case OPT_SPEED:
			if (cli_parse_number(cmd, "--speed", p.arg, 1000000,
			    &v) != 0)
				return CLI_EXIT_USAGE;
			if (v == 0)
				return cli_usage_error(cmd, "--speed must be at "
				    "least 1 (or use --as-fast-as-possible)");
			speed = v;
			speed_set = 1;
			break;
		case OPT_ASAP:
			asap = 1;
			break;
		case OPT_DRILL:
			if (cli_check_name(cmd, NAME_DRILL, "--drill",
			    p.arg) != 0)
				return CLI_EXIT_USAGE;
			drill = p.arg;
			break;
		case OPT_WAIT:
			if (parse_duration(p.arg, &wait_us) != 0 ||
			    wait_us == 0)
				return cli_usage_error(cmd, "invalid --wait: "
				    "expected a duration such as 2m");
			break;
		case OPT_NOSAVE:
			save = 0;
			break;
		case OPT_RULES:
			if (nrules == sizeof(rules) / sizeof(rules[0]))
				return cli_usage_error(cmd, "too many --rules");
			rules[nrules++] = p.arg;
			break;
		default:
			return cli_usage_error(cmd, "unhandled option");
		}
	}
	if (speed_set && asap)
		return cli_usage_error(cmd, "--speed and --as-fast-as-possible "
		    "exclude each other");
	if (optind >= argc)
		return cli_usage_error(cmd, "which scenario? (tocsin drill run "
		    "SCENARIO.yml)");
	if (optind + 1 < argc)
		return cli_usage_error(cmd, "one scenario at a time");

	/* 1. everything is checked before anything is sent */
	if ((rc = scenario_load(argv[optind], &s, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		cli_err(cmd, "the scenario is not valid (nothing sent)");
		scenario_free(&s);
		return rc == TS_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	}
	if ((exit_rc = scenario_check_rules(cmd, c, &s, rules, nrules)) !=
	    CLI_EXIT_OK)
		goto out;
	exit_rc = CLI_EXIT_USAGE;
	for (i = 0; i < s.nrec; i++) {
		if (recording_load(s.recordings[i], &recs[i], err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			cli_err(cmd, "recording %zu of %s (line %d) is not valid "
			    "(nothing sent)", i + 1, s.file, s.rec_line[i]);
			goto out;
		}
		nrecs++;
	}
	if (check_only) {
		printf("%s: scenario %s: %zu expectation(s), %zu recording(s): "
		    "valid\n", s.file, s.name, s.nex, s.nrec);
		exit_rc = CLI_EXIT_OK;
		goto out;
	}
	exit_rc = CLI_EXIT_FAIL;
	if (!speed_set)
		speed = s.speed;
	if (asap)
		speed = 0;
	if (drill == NULL) {
		time_t now = time(NULL);
		struct tm tm;
		char ts[32];
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(name, sizeof(name), "%s-%s", s.name, ts);
		drill = name;
	}

	/* 2. replay as the drill */
	memset(&ro, 0, sizeof(ro));
	ro.drill = drill;
	ro.speed = speed;
	started = now_us();
	if (!json)
		fprintf(stderr, "tocsin drill: running %s as drill %s\n",
		    s.name, drill);
	if ((exit_rc = replay_send(c, cmd, recs, nrecs, &ro, &res)) !=
	    CLI_EXIT_OK)
		goto out;
	exit_rc = CLI_EXIT_FAIL;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		goto out;

	/* 3. wait for the engine, then score */
	rc = wait_engine(dd, wait_us, &jlast, &cursor);
	if (rc == TS_EAGAIN)
		cli_err(cmd, "the engine has processed %llu of %llu journaled "
		    "events after %llus: scoring what is there",
		    (unsigned long long)cursor, (unsigned long long)jlast,
		    (unsigned long long)(wait_us / 1000000));
	else if (rc != 0) {
		cli_err(cmd, "cannot read the journal/state: %s",
		    ts_strerror(rc));
		goto out;
	}
	if ((rc = collect_drill(dd, drill, &cl)) != 0) {
		cli_err(cmd, "reading the drill's alerts: %s", ts_strerror(rc));
		goto out;
	}
	score(&s, &cl, res.first_sent_us, now_us());
	for (i = 0; i < s.nex; i++)
		met += s.ex[i].met;
	sc = scorecard_json(&s, drill, &res, speed, started, now_us(), &cl,
	    met);
	if (sc == NULL || (text = json_dumps(sc, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL) {
		cli_err(cmd, "out of memory");
		goto out;
	}

	/* 4. store (the engine through drill_save; a file if it cannot) */
	if (save) {
		rc = control_request(cmd, dd, "drill_save", json_pack("{s:s, "
		    "s:O}", "drill", drill, "scorecard", sc), &ans);
		json_decref(ans);
		stored = rc == 1;
		if (rc != 1) {
			if (scorecard_write_file(dd, drill, text) == 0)
				cli_err(cmd, "%s; scorecard written to "
				    "%s/drills/%s.json", rc == 0 ? "queued; "
				    "the engine is not running" : "not stored "
				    "in the state", dd, drill);
			else
				cli_err(cmd, "cannot store the scorecard");
		}
	}
	if (json)
		printf("%s\n", text);
	else
		scorecard_print(sc);
	if (!json && save)
		printf("%s: tocsin drill report %s\n", stored ? "stored" :
		    "saved", drill);
	exit_rc = met == s.nex ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	(void)eb;
	free(text);
	json_decref(sc);
	collect_free(&cl);
	for (i = 0; i < nrecs; i++)
		recording_free(&recs[i]);
	scenario_free(&s);
	return exit_rc;
}

/* ---- drill report / clean ---------------------------------------------------- */

static int drill_report(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	const char *dd, *drill;
	char *sp = NULL, *text = NULL, *fp = NULL;
	size_t len = 0;
	state_t *st = NULL;
	json_t *sc = NULL;
	int opt, json = 0, exit_rc = CLI_EXIT_FAIL;

	cli_opt_init(&p, c, cmd, CLI_TABLE(report_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		json = 1;
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "drill report takes one drill name");
	drill = argv[optind];
	if (cli_check_name(cmd, NAME_DRILL, "drill name", drill) != 0)
		return CLI_EXIT_USAGE;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	/* The state first (drill_save), then the fallback file. */
	if ((sp = datadir_path(dd, DD_STATE)) != NULL &&
	    state_open(sp, STATE_RDONLY, 0, &st) == 0) {
		if (state_drill_get(st, drill, &text) != 0)
			text = NULL;
		state_close(&st);
	}
	if (text == NULL && (fp = xasprintf("%s/drills/%s.json", dd,
	    drill)) != NULL && read_file(fp, MAX_SCORECARD_BYTES, &text,
	    &len) != 0)
		text = NULL;
	if (text == NULL) {
		cli_err(cmd, "no scorecard for drill %s", drill);
		goto out;
	}
	if ((sc = json_loads(text, 0, NULL)) == NULL) {
		cli_err(cmd, "the stored scorecard of %s does not parse", drill);
		goto out;
	}
	if (json) {
		free(text);
		text = json_dumps(sc, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text != NULL)
			printf("%s\n", text);
	} else {
		scorecard_print(sc);
	}
	exit_rc = CLI_EXIT_OK;
out:
	json_decref(sc);
	free(text);
	free(sp);
	free(fp);
	return exit_rc;
}

static int drill_clean(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	const char *dd, *drill;
	json_t *ans = NULL;
	char *s;
	int rc;

	cli_opt_init(&p, c, cmd, NULL, 0, 0, argc, argv);
	if (cli_opt_next(&p) != 0)
		return p.exit;
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "drill clean takes one drill name");
	drill = argv[optind];
	if (cli_check_name(cmd, NAME_DRILL, "drill name", drill) != 0)
		return CLI_EXIT_USAGE;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	rc = control_request(cmd, dd, "drill_clean", json_pack("{s:s}",
	    "drill", drill), &ans);
	if (rc == 0) {
		printf("queued; the engine is not running (drill %s is cleaned "
		    "when it starts)\n", drill);
		return CLI_EXIT_OK;
	}
	if (rc < 0)
		return CLI_EXIT_FAIL;
	json_object_del(ans, "id");
	json_object_del(ans, "ok");
	s = json_dumps(ans, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("cleaned drill %s%s%s\n", drill, s && strcmp(s, "{}") ? ": " :
	    "", s && strcmp(s, "{}") ? s : "");
	free(s);
	json_decref(ans);
	return CLI_EXIT_OK;
}

static int drill_run_cmd(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	return drill_run(c, cmd, argc, argv, 0);
}

static int drill_check_cmd(struct cli *c, const struct cli_cmd *cmd,
    int argc, char **argv)
{
	return drill_run(c, cmd, argc, argv, 1);
}

int cmd_drill(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	static const struct cli_sub subs[] = {
		{ "run", drill_run_cmd },
		{ "check", drill_check_cmd },
		{ "report", drill_report },
		{ "clean", drill_clean },
	};

	return cli_sub_dispatch(c, cmd, CLI_TABLE(subs), NULL, argc, argv);
}
