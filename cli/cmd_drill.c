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
#include "engine/drill.h"
#include "engine/state.h"
#include "common/util.h"
#include "common/yamltree.h"

/* How long `drill run` waits for the engine to catch up, by default. */
#define DRILL_WAIT_US		(120ULL * 1000000)
/* How often the progress line counts the drill's alerts so far. */
#define DRILL_PROGRESS_POLL_US	(1000ULL * 1000)
/* A new progress line at most this often when stderr is not a terminal. */
#define DRILL_PROGRESS_LINE_US	(2000ULL * 1000)
/* How long the CLI waits for the engine's answer to a control request. */
#define DRILL_CONTROL_WAIT_US	(10ULL * 1000000)

enum { OPT_JSON = 256, OPT_SPEED, OPT_ASAP, OPT_DRILL, OPT_WAIT, OPT_NOSAVE,
    OPT_RULES, OPT_QUIET };

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
	{ "quiet", 'q', OPT_QUIET, NULL,
	  "no progress line on stderr while it runs" },
	{ "rules", 0, OPT_RULES, "PATH",
	  "check against these rules (repeatable;\n"
	  "default: the configuration's engine.rules)" },
};

static const struct cli_opt report_opts[] = {
	{ "json", 0, OPT_JSON, NULL, "the scorecard as one JSON object" },
};

static const struct cli_optgroup drill_groups[] = {
	{ "Options of run and check:", CLI_TABLE(run_opts) },
	{ "Options of list and report:", CLI_TABLE(report_opts) },
};

const struct cli_help cmd_drill_help = {
	"usage: tocsin drill run SCENARIO.yml [--json] [--speed N |\n"
	"                        --as-fast-as-possible] [--drill NAME]\n"
	"                        [--wait DUR] [--no-save] [--quiet]\n"
	"       tocsin drill check SCENARIO.yml\n"
	"       tocsin drill list [--json]\n"
	"       tocsin drill report NAME [--json]\n"
	"       tocsin drill clean NAME\n"
	"       (each takes -c CONFIG and -D DATADIR)\n"
	"\n"
	"run     check the scenario (known keys; rule ids and MITRE techniques\n"
	"        must exist in the loaded rule set; every recording valid), then\n"
	"        replay its recordings as drill NAME (default: the scenario's\n"
	"        name, '-' and the UTC time, e.g. ssh-brute-20260126T080000Z),\n"
	"        showing on stderr the events sent, the drill's alerts so far\n"
	"        and the time left; wait until the engine has processed\n"
	"        everything journaled, score each expectation (met or missed,\n"
	"        time to detect), print the scorecard and store it (control\n"
	"        request drill_save).  Exit 1 when any expectation is missed.\n"
	"check   only the checks of run: nothing is sent.\n"
	"list    the past drills (stored scorecards), oldest first.\n"
	"report  print the stored scorecard of NAME again: a drill's name, or\n"
	"        a scenario's name for its latest run.\n"
	"clean   remove the alerts and incidents of NAME (a drill, or a\n"
	"        scenario's latest run; control request drill_clean, applied\n"
	"        by the engine).  The scorecard stays in the list.\n"
	"\n"
	"Time to detect = when the engine raised the alert that met the\n"
	"expectation (with min_count: N, the N-th matching alert; for an\n"
	"incident, when it first held min_severity) minus the wall-clock time\n"
	"replay sent the drill's first event.  With --speed N the recorded\n"
	"gaps are divided by N, so times to detect shrink with them.\n",
	CLI_TABLE(drill_groups),
	"Exit status: 0 all expectations met, 1 some missed, an unknown drill\n"
	"or a run-time error, 2 a bad scenario, recording or option (nothing\n"
	"sent).\n"
	"\n"
	"Examples:\n"
	"  tocsin drill run drills/ssh_bruteforce_sudo.yml\n"
	"  tocsin drill list\n"
	"  tocsin drill report ssh-bruteforce-sudo   (its latest run)\n"
	"  tocsin drill clean ssh-bruteforce-sudo-20260126T080000Z\n",
};

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
    const struct drill_scenario *s, const char *const *paths, size_t npaths)
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
	for (i = 0; i < s->s_nex; i++) {
		const struct drill_expect *e = &s->s_ex[i];
		char eb[512];
		if (e->x_rule != NULL && !rule_known(&rr, e->x_rule)) {
			escape_text(e->x_rule, strlen(e->x_rule), eb, sizeof(eb));
			fprintf(stderr, "%s:%d:%d: unknown rule id '%s' (not in "
			    "the loaded rule set)\n", s->s_file, e->x_rule_line,
			    e->x_rule_col, eb);
			bad++;
		}
		if (e->x_mitre != NULL && !mitre_known(&rr, e->x_mitre)) {
			fprintf(stderr, "%s:%d:%d: no loaded rule carries MITRE "
			    "technique %s\n", s->s_file, e->x_mitre_line,
			    e->x_mitre_col, e->x_mitre);
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

/* ---- scorecard ----------------------------------------------------------- */

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
	return cli_actor();
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

/* The progress line of a running drill, on stderr: rewritten in place on
 * a terminal, else one line every DRILL_PROGRESS_LINE_US and at the end. */
struct drill_progress {
	const char	*dd;
	const char	*drill;
	uint64_t	 alert_after;	/* drill_alerts_progress's position */
	uint64_t	 alerts;	/* of the drill so far */
	uint64_t	 polled;	/* mono_us of the last alert count */
	uint64_t	 printed;	/* mono_us of the last line */
	int		 tty;
	int		 open;		/* a line without '\n' on the tty */
};

/* Count the drill's alerts (at most every DRILL_PROGRESS_POLL_US). */
static void progress_poll(struct drill_progress *dp, int force)
{
	uint64_t now = mono_us();

	if (!force && now - dp->polled < DRILL_PROGRESS_POLL_US)
		return;
	dp->polled = now;
	(void)drill_alerts_progress(dp->dd, dp->drill, &dp->alert_after,
	    &dp->alerts);
}

static void progress_line(struct drill_progress *dp, const char *what,
    int final)
{
	uint64_t now = mono_us();

	if (!final && !dp->tty && now - dp->printed < DRILL_PROGRESS_LINE_US)
		return;
	dp->printed = now;
	if (dp->tty)
		fprintf(stderr, "\r\033[K%s%s", what, final ? "\n" : "");
	else
		fprintf(stderr, "%s\n", what);
	dp->open = dp->tty && !final;
	fflush(stderr);
}

static void drill_progress_cb(const struct replay_progress *p, void *arg)
{
	struct drill_progress *dp = arg;
	char line[200], left[48];

	progress_poll(dp, p->rp_done);
	if (p->rp_left_us == UINT64_MAX)
		snprintf(left, sizeof(left), "time left not known yet");
	else if (p->rp_left_us >= 60000000ULL)
		snprintf(left, sizeof(left), "%llum%02llus left",
		    (unsigned long long)(p->rp_left_us / 60000000ULL),
		    (unsigned long long)(p->rp_left_us / 1000000ULL % 60));
	else
		snprintf(left, sizeof(left), "%llus left",
		    (unsigned long long)((p->rp_left_us + 999999) / 1000000));
	snprintf(line, sizeof(line), "drill %s: %llu/%llu events sent, "
	    "%llu acknowledged, %llu alerts so far, %s", dp->drill,
	    (unsigned long long)p->rp_sent, (unsigned long long)p->rp_total,
	    (unsigned long long)p->rp_acked, (unsigned long long)dp->alerts,
	    left);
	progress_line(dp, line, p->rp_done);
}

/* Wait until the engine's cursor reaches the journal's last sequence,
 * showing the drill's alerts as they come.  0, or TS_EAGAIN on time-out. */
static int wait_engine(const char *dd, uint64_t wait_us, uint64_t *jlast,
    uint64_t *cursor, struct drill_progress *dp)
{
	char *jp = datadir_path(dd, DD_JOURNAL), *sp = datadir_path(dd, DD_STATE);
	uint64_t deadline = mono_us() + wait_us;
	char line[200];
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
		if (dp != NULL) {
			progress_poll(dp, 0);
			snprintf(line, sizeof(line), "drill %s: the engine is "
			    "at %llu of %llu events, %llu alerts so far",
			    dp->drill, (unsigned long long)*cursor,
			    (unsigned long long)*jlast,
			    (unsigned long long)dp->alerts);
			progress_line(dp, line, 0);
		}
		usleep(100000);
	}
	if (dp != NULL && dp->open) {
		fprintf(stderr, "\r\033[K");
		dp->open = 0;
	}
out:
	free(jp);
	free(sp);
	return rc;
}

static int drill_run(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv, int check_only)
{
	struct cli_optparse p;
	static struct drill_scenario s;	/* large: not on the stack */
	struct recording recs[MAX_DRILL_RECORDINGS];
	struct replay_opts ro;
	struct replay_result res;
	struct drill_run_info ri;
	struct drill_progress dp;
	const char *rules[16];
	size_t nrules = 0, i, nrecs = 0, met = 0;
	const char *drill = NULL, *dd = NULL;
	char err[2048], name[MAX_DRILL_BYTES + 1], *text = NULL;
	uint64_t speed = 0, wait_us = DRILL_WAIT_US, v, jlast, cursor;
	int opt, rc, json = 0, speed_set = 0, asap = 0, save = 1;
	int progress = 1, exit_rc = CLI_EXIT_FAIL, stored = 0;
	json_t *sc = NULL, *ans = NULL;

	memset(recs, 0, sizeof(recs));
	memset(&ri, 0, sizeof(ri));
	memset(&dp, 0, sizeof(dp));
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
		case OPT_QUIET:
			progress = 0;
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
	if ((rc = drill_scenario_load(argv[optind], &s, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		cli_err(cmd, "the scenario is not valid (nothing sent)");
		drill_scenario_free(&s);
		return rc == TS_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	}
	if ((exit_rc = scenario_check_rules(cmd, c, &s, rules, nrules)) !=
	    CLI_EXIT_OK)
		goto out;
	exit_rc = CLI_EXIT_USAGE;
	for (i = 0; i < s.s_nrec; i++) {
		if (recording_load(s.s_recordings[i], &recs[i], err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			cli_err(cmd, "recording %zu of %s (line %d) is not valid "
			    "(nothing sent)", i + 1, s.s_file, s.s_rec_line[i]);
			goto out;
		}
		nrecs++;
	}
	if (check_only) {
		printf("%s: scenario %s: %zu expectation(s), %zu recording(s): "
		    "valid\n", s.s_file, s.s_name, s.s_nex, s.s_nrec);
		exit_rc = CLI_EXIT_OK;
		goto out;
	}
	exit_rc = CLI_EXIT_FAIL;
	if (!speed_set)
		speed = s.s_speed;
	if (asap)
		speed = 0;
	if (drill == NULL) {
		time_t now = time(NULL);
		struct tm tm;
		char ts[32];
		gmtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(name, sizeof(name), "%s-%s", s.s_name, ts);
		drill = name;
	}
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		goto out;

	/* 2. replay as the drill, showing where it stands */
	if ((rc = drill_alert_mark(dd, &ri.ri_alert_mark)) != 0) {
		cli_err(cmd, "cannot read the state: %s", ts_strerror(rc));
		goto out;
	}
	dp.dd = dd;
	dp.drill = drill;
	dp.alert_after = ri.ri_alert_mark;
	dp.tty = isatty(STDERR_FILENO);
	memset(&ro, 0, sizeof(ro));
	ro.drill = drill;
	ro.speed = speed;
	if (progress) {
		ro.progress_cb = drill_progress_cb;
		ro.progress_arg = &dp;
	}
	ri.ri_started_us = now_us();
	ri.ri_speed = speed;
	if (!json || progress)
		fprintf(stderr, "tocsin drill: running %s as drill %s\n",
		    s.s_name, drill);
	rc = replay_send(c, cmd, recs, nrecs, &ro, &res);
	ri.ri_sent = res.sent;
	ri.ri_acked = res.acked;
	ri.ri_first_sent_us = res.first_sent_us;
	if (rc != CLI_EXIT_OK) {
		exit_rc = rc;
		goto out;
	}

	/* 3. wait for the engine, then score */
	rc = wait_engine(dd, wait_us, &jlast, &cursor, progress ? &dp : NULL);
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
	if ((rc = drill_score(dd, &s, drill, &ri, &sc, &met)) != 0) {
		cli_err(cmd, "scoring the drill from the state: %s",
		    ts_strerror(rc));
		goto out;
	}
	if ((text = json_dumps(sc, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL) {
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
	exit_rc = met == s.s_nex ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	free(text);
	json_decref(sc);
	for (i = 0; i < nrecs; i++)
		recording_free(&recs[i]);
	drill_scenario_free(&s);
	return exit_rc;
}

/* ---- drill list / report / clean ------------------------------------------- */

static int drill_list_cmd(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	static const struct table_col cols[] = {
		{ "DRILL", 64, 8, 1, 0 },
		{ "SCENARIO", 40, 8, 1, 0 },
		{ "STARTED", 20, 20, 0, 0 },
		{ "RESULT", 6, 6, 0, 0 },
		{ "MET", 7, 3, 0, 1 },
		{ "ALERTS", 8, 6, 0, 1 },
		{ "INCIDENTS", 9, 9, 0, 1 },
	};
	struct cli_optparse p;
	const char *dd;
	json_t *list = NULL, *o;
	table_t *t = NULL;
	const char *st;
	char tb[40];
	uint64_t us;
	size_t i;
	int opt, json = 0, rc;

	cli_opt_init(&p, c, cmd, CLI_TABLE(report_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		json = 1;
	}
	if (optind != argc)
		return cli_usage_error(cmd, "drill list takes no argument");
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	if ((rc = drill_list(dd, &list)) != 0) {
		cli_err(cmd, "cannot list the drills: %s", ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if (!json && (t = table_new(cols, sizeof(cols) / sizeof(cols[0]))) ==
	    NULL) {
		json_decref(list);
		cli_err(cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	json_array_foreach(list, i, o) {
		if (json) {
			char *line = json_dumps(o, JSON_COMPACT |
			    JSON_PRESERVE_ORDER);
			if (line != NULL)
				cli_print_line(line, strlen(line));
			free(line);
			continue;
		}
		table_cell_str(t, jstr(o, "drill"));
		table_cell_str(t, jstr(o, "scenario"));
		st = json_string_value(json_object_get(o, "started"));
		if (st != NULL && parse_rfc3339(st, strlen(st), &us) == 0) {
			cli_format_time_s(us, tb, sizeof(tb));
			table_cell_str(t, tb);
		} else {
			table_cell_str(t, "?");
		}
		table_cell_str(t, json_is_true(json_object_get(o, "passed")) ?
		    "passed" : "FAILED");
		table_cellf(t, "%lld/%lld", (long long)json_integer_value(
		    json_object_get(o, "met")), (long long)(json_integer_value(
		    json_object_get(o, "met")) + json_integer_value(
		    json_object_get(o, "missed"))));
		table_cellf(t, "%lld", (long long)json_integer_value(
		    json_object_get(o, "alerts")));
		table_cellf(t, "%lld", (long long)json_integer_value(
		    json_object_get(o, "incidents")));
	}
	if (!json && json_array_size(list) == 0)
		fprintf(stderr, "no drill has run yet (tocsin drill run "
		    "SCENARIO.yml)\n");
	table_free(&t);
	json_decref(list);
	return CLI_EXIT_OK;
}

static int drill_report(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	const char *dd, *name;
	char *text = NULL, *drill = NULL;
	json_t *sc = NULL;
	int opt, json = 0, rc;

	cli_opt_init(&p, c, cmd, CLI_TABLE(report_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		json = 1;
	}
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "drill report takes one drill or "
		    "scenario name");
	name = argv[optind];
	if (cli_check_name(cmd, NAME_DRILL, "drill name", name) != 0)
		return CLI_EXIT_USAGE;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	rc = drill_scorecard_get(dd, name, &sc, &drill);
	if (rc == TS_ENOTFOUND) {
		cli_err(cmd, "no drill or scenario run named %s (tocsin drill "
		    "list shows the past drills)", name);
		return CLI_EXIT_FAIL;
	}
	if (rc != 0) {
		cli_err(cmd, "the scorecard of %s: %s", name, ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if (json) {
		text = json_dumps(sc, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text != NULL)
			printf("%s\n", text);
	} else {
		scorecard_print(sc);
	}
	free(text);
	free(drill);
	json_decref(sc);
	return CLI_EXIT_OK;
}

static int drill_clean(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	const char *dd, *name;
	char *drill = NULL, *s;
	json_t *ans = NULL, *sc = NULL;
	int rc, known, exit_rc = CLI_EXIT_FAIL;
	json_int_t nalerts, nincs;

	cli_opt_init(&p, c, cmd, NULL, 0, 0, argc, argv);
	if (cli_opt_next(&p) != 0)
		return p.exit;
	if (optind + 1 != argc)
		return cli_usage_error(cmd, "drill clean takes one drill or "
		    "scenario name");
	name = argv[optind];
	if (cli_check_name(cmd, NAME_DRILL, "drill name", name) != 0)
		return CLI_EXIT_USAGE;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	/* A drill with a scorecard, or a scenario's latest run; else a drill
	 * replayed without one (tocsin replay --drill): the engine says
	 * whether it held anything of it. */
	rc = drill_scorecard_get(dd, name, &sc, &drill);
	json_decref(sc);
	if (rc != 0 && rc != TS_ENOTFOUND) {
		cli_err(cmd, "reading the drills: %s", ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	known = rc == 0;
	if (drill == NULL && (drill = strdup(name)) == NULL) {
		cli_err(cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	rc = control_request(cmd, dd, "drill_clean", json_pack("{s:s}",
	    "drill", drill), &ans);
	if (rc == 0) {
		printf("queued; the engine is not running (drill %s is cleaned "
		    "when it starts)\n", drill);
		exit_rc = CLI_EXIT_OK;
		goto out;
	}
	if (rc < 0)
		goto out;
	nalerts = json_integer_value(json_object_get(ans, "alerts_removed"));
	nincs = json_integer_value(json_object_get(ans, "incidents_removed"));
	if (!known && nalerts == 0 && nincs == 0) {
		cli_err(cmd, "no drill or scenario run named %s (tocsin drill "
		    "list shows the past drills)", name);
		goto out;
	}
	json_object_del(ans, "id");
	json_object_del(ans, "ok");
	s = json_dumps(ans, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("cleaned drill %s%s%s\n", drill, s && strcmp(s, "{}") ? ": " :
	    "", s && strcmp(s, "{}") ? s : "");
	free(s);
	exit_rc = CLI_EXIT_OK;
out:
	json_decref(ans);
	free(drill);
	return exit_rc;
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
		{ "list", drill_list_cmd },
		{ "report", drill_report },
		{ "clean", drill_clean },
	};

	return cli_sub_dispatch(c, cmd, CLI_TABLE(subs), NULL, argc, argv);
}
