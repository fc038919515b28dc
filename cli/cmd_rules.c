/*
 * cmd_rules.c - `tocsin rules test|check|lint`: run log lines through the
 * engine's own evaluation path (rules_eval) and show what they decode to
 * and what they would raise; run the `.test` files kept beside rule files;
 * and report every problem of a rule set as file:line:col.
 *
 * Exit statuses: 0 ok; 1 a check failed (--expect, a .test line); 2 a usage
 * error, an unreadable input or a rule set that does not load.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "engine/engine.h"
#include "rules/correlate.h"
#include "rules/rules.h"
#include "rules/decode.h"

/* -r options accepted at once. */
#define MAX_RULE_PATHS		64
/* .test files or input files of one run. */
#define MAX_INPUT_FILES		4096
/* Lines read from one input (a bound on every loop over input). */
#define MAX_INPUT_LINES		100000000ULL
/* Largest file of multi-line JSON documents read whole. */
#define MAX_JSON_DOC_FILE_BYTES	(256ULL * 1024 * 1024)
/* "now" of .test files: 2026-01-30T12:00:00Z */
#define TEST_REF_US		1769774400000000ULL
/* Bytes of an untrusted value shown in text output (escaped). */
#define MAX_SHOW_BYTES		4096
/* Correlation rules one event of `rules test` can fire, shown. */
#define MAX_CORR_HITS		64

/* The correlation rules one event fired (`rules test`). */
struct corr_hits {
	const corr_set_t	*cs;		/* the set's correlation rules */
	const struct rule_info	*ri[MAX_CORR_HITS];
	uint32_t		 count[MAX_CORR_HITS];
	size_t			 n;
	uint64_t		 dropped;	/* past MAX_CORR_HITS */
};

enum { OPT_EXPECT = 256, OPT_JSON, OPT_TESTS, OPT_TZ };

/* Options of test and check (--expect, --json and --tests: test only). */
static const struct cli_opt run_opts[] = {
	{ "rules", 'r', 'r', "PATH",
	  "rule file or folder (repeatable); default: the\n"
	  "server configuration's engine.rules" },
	{ "expect", 0, OPT_EXPECT, "ID|none", "check mode for `test` (see above)" },
	{ "json", 0, OPT_JSON, NULL,
	  "`test`: one JSON object per line (JSON Lines)" },
	{ "tests", 0, OPT_TESTS, NULL, "`test`: the FILEs are .test files" },
	{ "timezone", 0, OPT_TZ, "ZONE",
	  "zone of syslog times that give none (UTC, +hh:mm,\n"
	  "Europe/Paris); default: engine.timezone, else UTC" },
};

static const struct cli_optgroup rules_groups[] = {
	{ "Options of test and check:", CLI_TABLE(run_opts) },
};

const struct cli_help cmd_rules_help = {
	"Usage: tocsin rules test [-r PATH]... [--expect RULE_ID|none] [--json]\n"
	"                         [--tests] [FILE|-]...\n"
	"       tocsin rules check [-r PATH]... [FILE.test]...\n"
	"       tocsin rules lint [PATH]...\n"
	"\n"
	"test   runs each line of FILE (default: standard input) through the\n"
	"       rules exactly as the engine does and prints, per line, the\n"
	"       decoder, the fields, every rule that matched and the alerts it\n"
	"       would raise, and the correlation rules that the lines so far\n"
	"       fire (the engine's own evaluation, on a throw-away state).\n"
	"       An .evtx FILE gives one event per record (its\n"
	"       Event XML, numbered by EventRecordID); a FILE of JSON objects\n"
	"       that span lines gives one event per object.  With --expect the\n"
	"       lines are a check: each must raise exactly RULE_ID (a\n"
	"       comma-separated list for several), or nothing with 'none'; exit\n"
	"       status 1 on any mismatch.  --tests treats each FILE as a .test\n"
	"       file (as `rules check`).\n"
	"check  runs .test files (format: docs/rules.md, \"Test files\"); without\n"
	"       FILE, every *.test found beside the rule files under the -r\n"
	"       paths.  Prints one line per failure and a summary; exit status 1\n"
	"       on any failure.\n"
	"lint   loads the rule files and folders (native and Sigma rules,\n"
	"       decoders and correlation rules, with the loader the engine\n"
	"       uses) and prints every error and warning as file:line:col;\n"
	"       exit status 1 on any error (the engine would refuse the set).\n",
	CLI_TABLE(rules_groups),
	"Lines of a .test file and of `rules check` are evaluated as if read at\n"
	"2026-01-30T12:00:00Z (a BSD syslog time without a year takes its year\n"
	"from it); lines of `rules test` as if read now.\n"
	"\n"
	"Examples:\n"
	"  tocsin rules test -r rules/default /var/log/auth.log\n"
	"  echo 'Jan 26 00:00:05 h sshd[1]: Invalid user x from 1.2.3.4 port 2' |\n"
	"      tocsin rules test -r rules/default --expect sshd.invalid_user -\n"
	"  tocsin rules check -r rules/default\n"
	"  tocsin rules lint rules/default my-rules/\n",
};

struct rules_run {
	const struct cli_cmd	*cmd;
	const char		*paths[MAX_RULE_PATHS];
	size_t			 npaths;
	const char		*expect;	/* --expect, or NULL */
	const char		*tzname;	/* --timezone, or NULL */
	struct syslog_tz	*tz;
	int			 json;
	int			 tests;		/* --tests */
	ruleset_t		*rs;
	rules_ctx_t		*ctx;
	corr_trial_t		*corr;		/* `test`: correlation state */
	struct corr_hits	 hits;		/* of the current event */
	uint64_t		 lines, failures, checks;
};

/* ---- common ------------------------------------------------------------- */

/* Print (s, n) escaped, at most MAX_SHOW_BYTES of it. */
static void
put_escaped(FILE *f, const char *s, size_t n)
{
	static char buf[MAX_SHOW_BYTES * 4 + 8];
	size_t cut = n > MAX_SHOW_BYTES ? MAX_SHOW_BYTES : n;

	escape_text(s, cut, buf, sizeof(buf));
	fputs(buf, f);
	if (cut < n)
		fputs("...", f);
}

/* Parse the options shared by test and check; paths default to the
 * configuration's engine.rules.  0 or an exit status. */
static int
run_options(struct cli *c, struct rules_run *r, int argc, char **argv,
    int is_test)
{
	struct cli_optparse p;
	int opt;

	cli_opt_init(&p, c, r->cmd, CLI_TABLE(run_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case 'r':
			if (r->npaths == MAX_RULE_PATHS)
				return cli_usage_error(r->cmd, "more than %d -r",
				    MAX_RULE_PATHS);
			r->paths[r->npaths++] = p.arg;
			break;
		case OPT_TZ:
			r->tzname = p.arg;
			break;
		case OPT_EXPECT:
		case OPT_JSON:
		case OPT_TESTS:
			if (!is_test)
				return cli_usage_error(r->cmd, "--%s is an "
				    "option of `rules test`", opt == OPT_EXPECT ?
				    "expect" : opt == OPT_JSON ? "json" :
				    "tests");
			if (opt == OPT_EXPECT)
				r->expect = p.arg;
			else if (opt == OPT_JSON)
				r->json = 1;
			else
				r->tests = 1;
			break;
		default:
			return cli_usage_error(r->cmd, "unhandled option");
		}
	}
	if (r->expect != NULL && r->tests)
		return cli_usage_error(r->cmd, "--expect and --tests do not go "
		    "together (a .test file says what it expects)");
	if (r->npaths == 0) {
		const struct server_config *cfg = cli_config(c);

		if (cfg == NULL)
			return CLI_EXIT_USAGE;
		if (r->tzname == NULL)
			r->tzname = cfg->timezone;
		for (size_t i = 0; i < cfg->nrule_paths &&
		    r->npaths < MAX_RULE_PATHS; i++)
			r->paths[r->npaths++] = cfg->rule_paths[i];
		if (r->npaths == 0)
			return cli_usage_error(r->cmd, "no rules: give -r PATH "
			    "(the configuration has no engine.rules)");
	}
	return 0;
}

/* Load the rule set; on errors print them all and return 2. */
static int
run_load(struct rules_run *r)
{
	struct rules_diags dl = { 0 };
	int rc;

	rc = ruleset_load(r->paths, r->npaths, &r->rs, &dl);
	if (rc != 0) {
		rules_diags_print(&dl, stderr);
		cli_err(r->cmd, "the rule set does not load (%zu error%s)",
		    dl.errors, dl.errors == 1 ? "" : "s");
		rules_diags_free(&dl);
		return rc == TS_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	}
	rules_diags_free(&dl);
	if ((r->ctx = rules_ctx_new(r->rs)) == NULL) {
		cli_err(r->cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	if (r->tzname != NULL) {
		char why[256];

		if ((rc = syslog_tz_new(r->tzname, &r->tz, why,
		    sizeof(why))) != 0) {
			cli_err(r->cmd, "--timezone: %s", why);
			return rc == TS_ENOMEM ? CLI_EXIT_FAIL :
			    CLI_EXIT_USAGE;
		}
		rules_ctx_set_tz(r->ctx, r->tz);
	}
	return 0;
}

static void
run_free(struct rules_run *r)
{
	corr_trial_close(&r->corr);
	rules_ctx_free(&r->ctx);
	ruleset_free(&r->rs);
	syslog_tz_free(&r->tz);
}

/* Whether the engine raises no alert of its own for rule ri: it only
 * feeds a Sigma correlation (generate: false).  ch NULL: never. */
static int
silenced(const struct corr_hits *ch, const struct rule_info *ri)
{
	return ch != NULL && ch->cs != NULL &&
	    corr_set_silences(ch->cs, ri->id);
}

/* Whether the alerts of res and the correlation rules of ch (NULL: none)
 * are exactly the comma-separated ids of want ("none" or "": no alert). */
static int
alerts_are(const struct rules_result *res, const struct corr_hits *ch,
    const char *want)
{
	size_t nch = ch != NULL ? ch->n : 0, nraised = nch;
	size_t nwant = 0;
	const char *p;

	for (size_t k = 0; k < res->nalerts; k++)
		nraised += !silenced(ch, res->alerts[k]);

	if (strcmp(want, "none") == 0)
		want = "";
	for (p = want; *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
		size_t k;

		for (k = 0; k < res->nalerts; k++)
			if (strlen(res->alerts[k]->id) == n &&
			    memcmp(res->alerts[k]->id, p, n) == 0 &&
			    !silenced(ch, res->alerts[k]))
				break;
		if (k == res->nalerts) {
			for (k = 0; k < nch; k++)
				if (strlen(ch->ri[k]->id) == n &&
				    memcmp(ch->ri[k]->id, p, n) == 0)
					break;
			if (k == nch)
				return 0;
		}
		nwant++;
		p = e != NULL ? e + 1 : p + n;
	}
	/* ids are unique in a set, and each alert is one rule */
	return nwant == nraised;
}

static void
print_alert_ids(FILE *f, const struct rules_result *res,
    const struct corr_hits *ch)
{
	size_t nch = ch != NULL ? ch->n : 0, n = 0;

	for (size_t k = 0; k < res->nalerts; k++)
		if (!silenced(ch, res->alerts[k]))
			fprintf(f, "%s%s", n++ ? "," : "", res->alerts[k]->id);
	for (size_t k = 0; k < nch; k++)
		fprintf(f, "%s%s", n++ ? "," : "", ch->ri[k]->id);
	if (n == 0)
		fputs("none", f);
}

/* Open FILE ("-": standard input).  NULL after a message. */
static FILE *
open_input(const struct cli_cmd *cmd, const char *path)
{
	FILE *f;

	if (strcmp(path, "-") == 0)
		return stdin;
	if ((f = fopen(path, "r")) == NULL)
		cli_err(cmd, "cannot open %s: %s", path, strerror(errno));
	return f;
}

/* ---- test: one line -------------------------------------------------------- */

static void
print_text(const struct rules_run *r, const char *src, uint64_t lineno,
    const char *line, size_t len, const struct rules_result *res)
{
	FILE *f = stdout;

	fprintf(f, "%s:%llu: ", src, (unsigned long long)lineno);
	put_escaped(f, line, len);
	fprintf(f, "\n  decoder: %s\n", res->decoder ? res->decoder : "-");
	for (size_t i = 0; i < res->nfields; i++) {
		fputs("  field ", f);
		put_escaped(f, res->fields[i].name, strlen(res->fields[i].name));
		fputs(" = ", f);
		put_escaped(f, res->fields[i].val, res->fields[i].len);
		fputc('\n', f);
	}
	fputs("  matched:", f);
	if (res->nmatched == 0)
		fputs(" -", f);
	for (size_t i = 0; i < res->nmatched; i++)
		fprintf(f, " %s(%d)", res->matched[i]->id,
		    res->matched[i]->level);
	fputc('\n', f);
	if (res->nalerts == 0)
		fputs("  alert: none\n", f);
	for (size_t i = 0; i < res->nalerts; i++) {
		const struct rule_info *ri = res->alerts[i];

		fprintf(f, "  alert: %s level %d: ", ri->id, ri->level);
		put_escaped(f, ri->title, strlen(ri->title));
		for (size_t k = 0; k < ri->nmitre; k++)
			fprintf(f, "%s%s", k ? "," : " [", ri->mitre[k]);
		if (ri->nmitre)
			fputc(']', f);
		for (size_t k = 0; k < ri->ngroups; k++)
			fprintf(f, "%s%s", k ? "," : " groups=", ri->groups[k]);
		if (silenced(&r->hits, ri))
			fputs(" (no alert in the engine: it feeds a "
			    "correlation, generate: false)", f);
		fputc('\n', f);
	}
	for (size_t i = 0; i < r->hits.n; i++) {
		const struct rule_info *ri = r->hits.ri[i];

		fprintf(f, "  correlation: %s level %d: ", ri->id, ri->level);
		put_escaped(f, ri->title, strlen(ri->title));
		fprintf(f, " (%u)\n", r->hits.count[i]);
	}
	if (r->hits.dropped > 0)
		fprintf(f, "  correlation: %llu more not shown\n",
		    (unsigned long long)r->hits.dropped);
}

static json_t *
strv_json(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* A JSON string of untrusted bytes: as they are when valid UTF-8 without
 * NUL, else escaped (escape_text: invalid bytes as \xNN).  NULL on ENOMEM. */
static json_t *
json_bytes(const char *s, size_t n)
{
	json_t *j = json_stringn(s, n);
	char *buf;

	if (j != NULL)
		return j;
	if (n > SIZE_MAX / 4 - 1 || (buf = malloc(n * 4 + 1)) == NULL)
		return NULL;
	escape_text(s, n, buf, n * 4 + 1);
	j = json_string(buf);
	free(buf);
	return j;
}

/* One JSON object per line.  0 or TS_ENOMEM. */
static int
print_json(const char *src, uint64_t lineno, const char *line, size_t len,
    const struct rules_result *res, const struct corr_hits *ch,
    const char *want)
{
	json_t *o = json_object(), *fields = json_object(),
	    *matched = json_array(), *alerts = json_array(),
	    *corr = json_array();
	char *s = NULL;
	char tbuf[40];
	int rc = TS_ENOMEM;

	if (o == NULL || fields == NULL || matched == NULL || alerts == NULL ||
	    corr == NULL)
		goto out;
	for (size_t i = 0; i < res->nfields; i++)
		if (json_object_setn_new(fields, res->fields[i].name,
		    strlen(res->fields[i].name), json_bytes(res->fields[i].val,
		    res->fields[i].len)))
			goto out;
	for (size_t i = 0; i < res->nmatched; i++)
		if (json_array_append_new(matched,
		    json_string(res->matched[i]->id)))
			goto out;
	for (size_t i = 0; i < res->nalerts; i++) {
		const struct rule_info *ri = res->alerts[i];
		json_t *a = json_pack("{s:s, s:s, s:i, s:o, s:o, s:s?, s:s?, "
		    "s:s, s:i, s:b}", "id", ri->id, "title", ri->title, "level",
		    ri->level, "mitre", strv_json(ri->mitre, ri->nmitre),
		    "groups", strv_json(ri->groups, ri->ngroups),
		    "description", ri->description, "author", ri->author,
		    "file", ri->file, "line", ri->line, "silenced",
		    silenced(ch, ri));

		if (a == NULL || json_array_append_new(alerts, a))
			goto out;
	}
	for (size_t i = 0; i < ch->n; i++) {
		const struct rule_info *ri = ch->ri[i];
		json_t *a = json_pack("{s:s, s:s, s:i, s:i, s:o, s:s, s:i}",
		    "id", ri->id, "title", ri->title, "level", ri->level,
		    "count", (json_int_t)ch->count[i], "mitre",
		    strv_json(ri->mitre, ri->nmitre), "file", ri->file,
		    "line", ri->line);

		if (a == NULL || json_array_append_new(corr, a))
			goto out;
	}
	format_rfc3339(res->time_us, tbuf, sizeof(tbuf));
	if (json_object_set_new(o, "source", json_string(src)) ||
	    json_object_set_new(o, "line", json_integer((json_int_t)lineno)) ||
	    json_object_set_new(o, "raw", json_bytes(line, len)) ||
	    json_object_set_new(o, "time", json_string(tbuf)) ||
	    json_object_set_new(o, "decoder", res->decoder ?
	    json_string(res->decoder) : json_null()) ||
	    json_object_set(o, "fields", fields) ||
	    json_object_set(o, "matched", matched) ||
	    json_object_set(o, "alerts", alerts) ||
	    json_object_set(o, "correlations", corr))
		goto out;
	if (want != NULL && json_object_set_new(o, "ok",
	    json_boolean(alerts_are(res, ch, want))))
		goto out;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		goto out;
	puts(s);
	rc = 0;
out:
	free(s);
	json_decref(fields);
	json_decref(matched);
	json_decref(alerts);
	json_decref(corr);
	json_decref(o);
	return rc;
}

/* corr_trial_feed's callback: remember a correlation rule that fired. */
static int
hit_cb(const struct rule_info *ri, uint32_t count, void *arg)
{
	struct corr_hits *ch = arg;

	if (ch->n == MAX_CORR_HITS) {
		ch->dropped++;
		return 0;
	}
	ch->ri[ch->n] = ri;
	ch->count[ch->n++] = count;
	return 0;
}

/* Run one event (a line, an .evtx record, a JSON document) numbered
 * lineno in src, and the correlation rules over the events so far.  0, or
 * an exit status on an error. */
static int
test_one(struct rules_run *r, const char *src, uint64_t lineno,
    const char *line, size_t len)
{
	struct rules_event ev = { 0 };
	struct rules_result res;
	int rc;

	struct rules_counters c0, c1;

	ev.raw = line;
	ev.raw_len = len;
	/* the input names the source (a W3C file's #Fields: apply to it) */
	ev.file = src;
	ev.file_len = strlen(src);
	ev.time_us = now_us();
	rules_ctx_counters(r->ctx, &c0);
	if ((rc = rules_eval(r->ctx, &ev, &res)) != 0) {
		cli_err(r->cmd, "%s", ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	/* a Windows event the decoder could not take is said, not just
	 * counted (the engine counts it in status) */
	rules_ctx_counters(r->ctx, &c1);
	if (c1.winevt_malformed > c0.winevt_malformed)
		fprintf(stderr, "%s:%llu: malformed Windows event (Event "
		    "XML that does not parse): not decoded\n", src,
		    (unsigned long long)lineno);
	if (c1.winevt_refused > c0.winevt_refused)
		fprintf(stderr, "%s:%llu: Windows event refused: past a bound "
		    "(nesting, data items) or with a DTD: not decoded\n", src,
		    (unsigned long long)lineno);
	memset(&r->hits, 0, sizeof(r->hits));
	r->hits.cs = ruleset_corr(r->rs);
	if (r->corr != NULL && (rc = corr_trial_feed(r->corr, &res,
	    ev.time_us, hit_cb, &r->hits)) != 0) {
		cli_err(r->cmd, "correlation: %s", ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	r->lines++;
	if (r->json) {
		if (print_json(src, lineno, line, len, &res, &r->hits,
		    r->expect) != 0) {
			cli_err(r->cmd, "out of memory");
			return CLI_EXIT_FAIL;
		}
	} else {
		print_text(r, src, lineno, line, len, &res);
	}
	if (r->expect != NULL) {
		r->checks++;
		if (!alerts_are(&res, &r->hits, r->expect)) {
			r->failures++;
			fprintf(stderr, "%s:%llu: want %s, got ", src,
			    (unsigned long long)lineno, r->expect);
			print_alert_ids(stderr, &res, &r->hits);
			fputc('\n', stderr);
		}
	}
	return 0;
}

/* Run the lines of f (named src).  0, or an exit status on an error. */
static int
test_stream(struct rules_run *r, FILE *f, const char *src)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t lineno = 0;
	int rc = 0;

	while (lineno < MAX_INPUT_LINES && (n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			len--;
		if ((rc = test_one(r, src, lineno, line, len)) != 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		cli_err(r->cmd, "reading %s: %s", src, strerror(errno));
		rc = CLI_EXIT_USAGE;
	}
	free(line);
	return rc;
}

/* ---- test: .evtx files and JSON documents ------------------------------------ */

struct evtx_run {
	struct rules_run	*r;
	const char		*src;
	int			 rc;
};

/* An .evtx record is numbered by its EventRecordID in the output. */
static int
evtx_event_cb(void *arg, uint64_t id, uint64_t offset, const char *xml,
    size_t len)
{
	struct evtx_run *er = arg;

	(void)offset;
	if ((er->rc = test_one(er->r, er->src, id, xml, len)) != 0)
		return TS_ESTOP;
	return 0;
}

static void
evtx_problem_cb(void *arg, uint64_t offset, const char *msg)
{
	struct evtx_run *er = arg;

	cli_err(er->r->cmd, "%s: offset %llu: %s", er->src,
	    (unsigned long long)offset, msg);
}

/* Every record of an .evtx file.  0, or an exit status (2 when the file
 * is not readable at all or partly damaged: what was read was run). */
static int
test_evtx(struct rules_run *r, const char *path)
{
	struct evtx_run er = { r, path, 0 };
	struct evtx_sink sink = { evtx_event_cb, evtx_problem_cb, &er };
	struct evtx_stats st;
	int rc = evtx_read(path, &sink, &st);

	if (er.rc != 0)
		return er.rc;
	if (rc == TS_ENOMEM) {
		cli_err(r->cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	if (rc != 0)
		return CLI_EXIT_USAGE;
	if (st.damaged || st.failed) {
		cli_err(r->cmd, "%s: damaged: %llu record%s read, %llu "
		    "unreadable (see above)", path,
		    (unsigned long long)st.records, st.records == 1 ? "" : "s",
		    (unsigned long long)st.failed);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

/* A file of JSON documents that span lines (evtx tools write one
 * pretty-printed object per event): each document is one event, given to
 * the rules as one compact line and numbered by the line it starts on. */
static int
test_json_docs(struct rules_run *r, const char *path)
{
	char *buf = NULL, *s;
	size_t len = 0, off = 0;
	uint64_t lineno = 1;
	int rc;

	if ((rc = read_file(path, MAX_JSON_DOC_FILE_BYTES, &buf, &len)) != 0) {
		cli_err(r->cmd, "cannot read %s: %s", path, rc == TS_ETOOBIG ?
		    "larger than the limit" : strerror(errno));
		return CLI_EXIT_USAGE;
	}
	rc = 0;
	while (rc == 0) {
		json_error_t jerr;
		json_t *doc;

		while (off < len && (buf[off] == ' ' || buf[off] == '\t' ||
		    buf[off] == '\r' || buf[off] == '\n')) {
			if (buf[off] == '\n')
				lineno++;
			off++;
		}
		if (off >= len)
			break;
		doc = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK,
		    &jerr);
		if (doc == NULL) {
			cli_err(r->cmd, "%s:%llu: not JSON: %s", path,
			    (unsigned long long)(lineno + (uint64_t)jerr.line -
			    1), jerr.text);
			rc = CLI_EXIT_USAGE;
			break;
		}
		s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(doc);
		if (s == NULL) {
			cli_err(r->cmd, "out of memory");
			rc = CLI_EXIT_FAIL;
			break;
		}
		rc = test_one(r, path, lineno, s, strlen(s));
		free(s);
		for (size_t k = 0; k < (size_t)jerr.position; k++)
			if (buf[off + k] == '\n')
				lineno++;
		off += (size_t)jerr.position;
	}
	free(buf);
	return rc;
}

/* What an input file holds, from its first bytes: an .evtx file, JSON
 * documents spanning lines (a '{' whose line is not a whole object), or
 * lines. */
enum { IN_LINES, IN_EVTX, IN_JSON_DOCS };

static int
input_kind(FILE *f)
{
	char head[4096];
	size_t n = fread(head, 1, sizeof(head), f), i = 0;
	int kind = IN_LINES;

	if (evtx_is_file(head, n)) {
		kind = IN_EVTX;
	} else {
		while (i < n && (head[i] == ' ' || head[i] == '\t' ||
		    head[i] == '\r' || head[i] == '\n'))
			i++;
		if (i < n && head[i] == '{') {
			const char *nl = memchr(head + i, '\n', n - i);
			json_error_t jerr;
			json_t *j = json_loadb(head + i, nl != NULL ?
			    (size_t)(nl - head - i) : n - i, 0, &jerr);

			if (j == NULL)
				kind = IN_JSON_DOCS;
			json_decref(j);
		}
	}
	rewind(f);
	return kind;
}

/* ---- .test files ------------------------------------------------------------- */

/* Run one .test file: failures and tests are added to r.  0, or an exit
 * status when the file cannot be read. */
static int
check_file(struct rules_run *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t lineno = 0;
	int have = 0;
	struct rules_result res;
	struct corr_hits nocorr;
	char source[MAX_SOURCE_NAME_BYTES + 1] = "";	/* @source */

	memset(&nocorr, 0, sizeof(nocorr));

	memset(&res, 0, sizeof(res));
	if (f == NULL) {
		cli_err(r->cmd, "cannot open %s: %s", path, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	while (lineno < MAX_INPUT_LINES && (n = getline(&line, &cap, f)) > 0) {
		char *p = line, *sp, *eq;
		size_t len = (size_t)n;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (strncmp(line, "@source", 7) == 0 &&
		    (line[7] == '\0' || line[7] == ' ')) {
			/* the source the collector stamps on the test lines
			 * that follow (none: the field is absent) */
			if (strlen(line + 7) > MAX_SOURCE_NAME_BYTES) {
				fprintf(stderr, "%s:%llu: @source: name too "
				    "long\n", path, (unsigned long long)lineno);
				r->failures++;
				continue;
			}
			snprintf(source, sizeof(source), "%s",
			    line[7] ? line + 8 : "");
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t') {	/* field check */
			const struct rules_field *fl;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '\0')
				continue;
			r->checks++;
			if (!have || (eq = strchr(p, '=')) == NULL) {
				fprintf(stderr, "%s:%llu: a field check "
				    "(name=value) must follow a test line\n",
				    path, (unsigned long long)lineno);
				r->failures++;
				continue;
			}
			*eq = '\0';
			fl = rules_result_field(&res, p);
			if (fl == NULL || fl->len != strlen(eq + 1) ||
			    memcmp(fl->val, eq + 1, fl->len) != 0) {
				fprintf(stderr, "%s:%llu: field %s: got ", path,
				    (unsigned long long)lineno, p);
				if (fl == NULL)
					fputs("(not set)", stderr);
				else {
					fputc('\'', stderr);
					put_escaped(stderr, fl->val, fl->len);
					fputc('\'', stderr);
				}
				fprintf(stderr, ", want '%s'\n", eq + 1);
				r->failures++;
			}
			continue;
		}
		have = 0;
		if ((sp = strchr(p, ' ')) == NULL) {
			fprintf(stderr, "%s:%llu: want 'EXPECT LINE' (EXPECT: "
			    "none or rule ids separated by commas)\n", path,
			    (unsigned long long)lineno);
			r->failures++;
			continue;
		}
		*sp++ = '\0';
		while (*sp == ' ')
			sp++;
		{
			struct rules_event ev = { .raw = sp,
			    .raw_len = strlen(sp), .host = "test",
			    .host_len = 4, .time_us = TEST_REF_US,
			    .file = path, .file_len = strlen(path),
			    .source = source[0] ? source : NULL,
			    .source_len = strlen(source) };
			int rc = rules_eval(r->ctx, &ev, &res);

			if (rc != 0) {
				cli_err(r->cmd, "%s", ts_strerror(rc));
				free(line);
				fclose(f);
				return CLI_EXIT_FAIL;
			}
		}
		have = 1;
		r->lines++;
		/* no correlation runs here, but a rule that only feeds one
		 * (generate: false) raises nothing, as in the engine */
		nocorr.cs = ruleset_corr(r->rs);
		if (!alerts_are(&res, &nocorr, p)) {
			fprintf(stderr, "%s:%llu: want %s, got ", path,
			    (unsigned long long)lineno, p);
			print_alert_ids(stderr, &res, &nocorr);
			fputc('\n', stderr);
			r->failures++;
		}
	}
	free(line);
	fclose(f);
	return 0;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.test file under path (a folder, recursively; or beside a rule
 * file: NAME.yml -> NAME.test), appended to *v.  0 or TS_ENOMEM. */
static int
find_tests(const char *path, int depth, char ***v, size_t *n)
{
	struct stat st;
	size_t len = strlen(path);

	if (stat(path, &st) != 0 || depth > MAX_YAML_DEPTH)
		return 0;
	if (!S_ISDIR(st.st_mode)) {
		char *t;
		size_t base = len;

		if (len > 4 && strcmp(path + len - 4, ".yml") == 0)
			base = len - 4;
		else if (len > 5 && strcmp(path + len - 5, ".yaml") == 0)
			base = len - 5;
		else
			return 0;
		if ((t = xasprintf("%.*s.test", (int)base, path)) == NULL)
			return TS_ENOMEM;
		if (stat(t, &st) != 0 || *n >= MAX_INPUT_FILES) {
			free(t);
			return 0;
		}
		(*v)[(*n)++] = t;
		return 0;
	}
	{
		DIR *d = opendir(path);
		struct dirent *de;
		int rc = 0;

		if (d == NULL)
			return 0;
		while (rc == 0 && (de = readdir(d)) != NULL) {
			size_t nl = strlen(de->d_name);
			char *p;

			if (de->d_name[0] == '.')
				continue;
			if ((p = xasprintf("%s/%s", path, de->d_name)) == NULL) {
				rc = TS_ENOMEM;
				break;
			}
			if (nl > 5 && strcmp(de->d_name + nl - 5, ".test") == 0 &&
			    stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
				if (*n < MAX_INPUT_FILES)
					(*v)[(*n)++] = p;
				else
					free(p);
				continue;
			}
			if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
				rc = find_tests(p, depth + 1, v, n);
			free(p);
		}
		closedir(d);
		return rc;
	}
}

/* Run .test files (files[nfiles]; none given: found under the rule
 * paths) and print the summary.  An exit status. */
static int
check_files(struct rules_run *r, char **files, size_t nfiles)
{
	char **found = NULL;
	size_t nfound = 0;
	int rc = 0;

	if (nfiles == 0) {
		if ((found = calloc(MAX_INPUT_FILES, sizeof(*found))) == NULL)
			return CLI_EXIT_FAIL;
		for (size_t i = 0; i < r->npaths && rc == 0; i++)
			rc = find_tests(r->paths[i], 0, &found, &nfound);
		if (rc != 0) {
			cli_err(r->cmd, "out of memory");
			rc = CLI_EXIT_FAIL;
			goto out;
		}
		qsort(found, nfound, sizeof(*found), str_cmp);
		if (nfound == 0) {
			cli_err(r->cmd, "no .test files under the rule paths");
			rc = CLI_EXIT_USAGE;
			goto out;
		}
		files = found;
		nfiles = nfound;
	}
	for (size_t i = 0; i < nfiles && rc == 0; i++)
		rc = check_file(r, files[i]);
	if (rc == 0) {
		printf("%zu file%s, %llu test lines, %llu field checks: ",
		    nfiles, nfiles == 1 ? "" : "s",
		    (unsigned long long)r->lines,
		    (unsigned long long)r->checks);
		if (r->failures == 0)
			printf("all passed\n");
		else
			printf("%llu failed\n", (unsigned long long)r->failures);
		rc = r->failures ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
out:
	for (size_t i = 0; i < nfound; i++)
		free(found[i]);
	free(found);
	return rc;
}

/* ---- sub-commands ---------------------------------------------------------- */

static int
rules_test(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct rules_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.cmd = cmd;
	if ((rc = run_options(c, &r, argc, argv, 1)) != 0)
		return rc;
	if (r.tests && optind >= argc)
		return cli_usage_error(cmd, "--tests needs .test FILEs (or use "
		    "`rules check` to find them)");
	if ((rc = run_load(&r)) != 0)
		goto out;
	if (!r.tests && corr_set_count(ruleset_corr(r.rs)) > 0 &&
	    (rc = corr_trial_open(ruleset_corr(r.rs), &r.corr)) != 0) {
		cli_err(cmd, "cannot make a correlation state: %s",
		    ts_strerror(rc));
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	if (r.tests) {
		rc = check_files(&r, argv + optind, (size_t)(argc - optind));
		goto out;
	}
	if (optind >= argc) {
		rc = test_stream(&r, stdin, "-");
	} else {
		for (int i = optind; i < argc && rc == 0; i++) {
			FILE *f = open_input(cmd, argv[i]);

			if (f == NULL) {
				rc = CLI_EXIT_USAGE;
				break;
			}
			switch (f == stdin ? IN_LINES : input_kind(f)) {
			case IN_EVTX:
				rc = test_evtx(&r, argv[i]);
				break;
			case IN_JSON_DOCS:
				rc = test_json_docs(&r, argv[i]);
				break;
			default:
				rc = test_stream(&r, f, argv[i]);
			}
			if (f != stdin)
				fclose(f);
		}
	}
	if (rc == 0 && r.expect != NULL) {
		if (!r.json)
			printf("%llu line%s checked, %llu mismatch%s\n",
			    (unsigned long long)r.checks,
			    r.checks == 1 ? "" : "s",
			    (unsigned long long)r.failures,
			    r.failures == 1 ? "" : "es");
		rc = r.failures ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
out:
	run_free(&r);
	return rc;
}

static int
rules_check(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct rules_run r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.cmd = cmd;
	if ((rc = run_options(c, &r, argc, argv, 0)) != 0)
		return rc;
	if ((rc = run_load(&r)) == 0)
		rc = check_files(&r, argv + optind, (size_t)(argc - optind));
	run_free(&r);
	return rc;
}

static int
rules_lint(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_optparse p;
	const char *paths[MAX_RULE_PATHS];
	size_t npaths = 0, warnings = 0;
	struct rules_diags dl = { 0 };
	ruleset_t *rs = NULL;
	int rc;

	cli_opt_init(&p, c, cmd, NULL, 0, 0, argc, argv);
	if (cli_opt_next(&p) != 0)
		return p.exit;
	for (int i = optind; i < argc; i++) {
		if (npaths == MAX_RULE_PATHS)
			return cli_usage_error(cmd, "more than %d paths",
			    MAX_RULE_PATHS);
		paths[npaths++] = argv[i];
	}
	if (npaths == 0) {
		const struct server_config *cfg = cli_config(c);

		if (cfg == NULL)
			return CLI_EXIT_USAGE;
		for (size_t i = 0; i < cfg->nrule_paths &&
		    npaths < MAX_RULE_PATHS; i++)
			paths[npaths++] = cfg->rule_paths[i];
		if (npaths == 0)
			return cli_usage_error(cmd, "no PATH given and the "
			    "configuration has no engine.rules");
	}
	rc = ruleset_load(paths, npaths, &rs, &dl);
	rules_diags_print(&dl, stdout);
	for (size_t i = 0; i < dl.n; i++)
		warnings += dl.d[i].warning != 0;
	if (rc == TS_ENOMEM) {
		cli_err(cmd, "out of memory");
		rc = CLI_EXIT_FAIL;
	} else if (rc != 0 || dl.errors > 0) {
		printf("%zu error%s, %zu warning%s\n", dl.errors,
		    dl.errors == 1 ? "" : "s", warnings,
		    warnings == 1 ? "" : "s");
		rc = CLI_EXIT_FAIL;
	} else {
		printf("ok: %zu rules, %zu correlation rules, %zu warning%s\n",
		    ruleset_rule_count(rs), corr_set_count(ruleset_corr(rs)),
		    warnings, warnings == 1 ? "" : "s");
		rc = CLI_EXIT_OK;
	}
	ruleset_free(&rs);
	rules_diags_free(&dl);
	return rc;
}

int
cmd_rules(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "test", rules_test },
		{ "check", rules_check },
		{ "lint", rules_lint },
	};

	return cli_sub_dispatch(c, cmd, CLI_TABLE(subs), NULL, argc, argv);
}
