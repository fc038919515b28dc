/*
 * cmd_incidents.c - `tocsin incidents`: list and show the incidents the
 * engine keeps in its state, and change them (acknowledge, resolve, reopen,
 * mark false positive, assign, note) through control requests that the
 * engine applies (common/control.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "common/control.h"
#include "common/datadir.h"
#include "common/err.h"
#include "common/limits.h"
#include "engine/state.h"
#include "common/util.h"

/* How long a change waits for the engine's answer. */
#define INCIDENTS_WAIT_US	(10ULL * 1000000)
/* Longest note or name accepted from the command line. */
#define INCIDENTS_MAX_TEXT	4096


struct inc_opts {
	const char	*state;
	uint64_t	 min_sev;
	uint64_t	 since_us;
	uint64_t	 limit;
	int		 json;
	const char	*note;
	const char	*by;
};

/* Open DATADIR/state read-only; NULL (message printed) if absent. */
static state_t *
inc_state(struct cli *c, const struct cli_cmd *cmd, int *exitc)
{
	const char	*dd = cli_datadir_existing(c, cmd);
	char		*p;
	state_t		*s = NULL;
	int		 rc;

	*exitc = CLI_EXIT_USAGE;
	if (dd == NULL)
		return NULL;
	if ((p = datadir_path(dd, DD_STATE)) == NULL) {
		*exitc = CLI_EXIT_FAIL;
		return NULL;
	}
	rc = state_open(p, STATE_RDONLY, 0, &s);
	free(p);
	if (rc == TS_ENOTFOUND) {
		*exitc = CLI_EXIT_OK;
		fprintf(stderr, "no incidents (the engine has not run yet)\n");
		return NULL;
	}
	if (rc != 0) {
		cli_err(cmd, "cannot read the state: %s", ts_strerror(rc));
		*exitc = CLI_EXIT_FAIL;
		return NULL;
	}
	return s;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s;
}

static uint64_t
ju64(json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v < 0 ? 0 : (uint64_t)v;
}

struct list_ctx {
	const struct inc_opts	*o;
	table_t			*t;
	uint64_t		 n;
	int			 fail;
};

static int
list_cb(uint64_t id, const char *v, size_t vlen, void *arg)
{
	struct list_ctx	*L = arg;
	json_t		*inc;
	char		 f[32], l[32];

	(void)id;
	if ((inc = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	if (!state_incident_state_matches(L->o->state, jstr(inc, "state")) ||
	    ju64(inc, "severity") < L->o->min_sev ||
	    ju64(inc, "last_seen_us") < L->o->since_us) {
		json_decref(inc);
		return 0;
	}
	if (L->o->json)
		cli_print_line(v, vlen);
	else {
		cli_format_time_s(ju64(inc, "first_seen_us"), f, sizeof(f));
		cli_format_time_s(ju64(inc, "last_seen_us"), l, sizeof(l));
		if (table_cellf(L->t, "%llu", (unsigned long long)ju64(inc,
		    "id")) || table_cellf(L->t, "%llu",
		    (unsigned long long)ju64(inc, "severity")) ||
		    table_cell_str(L->t, jstr(inc, "state")) ||
		    table_cell_str(L->t, jstr(inc, "assignee")) ||
		    table_cellf(L->t, "%llu", (unsigned long long)ju64(inc,
		    "alert_count")) ||
		    table_cell_str(L->t, f) || table_cell_str(L->t, l) ||
		    table_cell_str(L->t, jstr(inc, "drill")) ||
		    table_cell_str(L->t, jstr(inc, "title")))
			L->fail = 1;
	}
	json_decref(inc);
	L->n++;
	return L->o->limit != 0 && L->n >= L->o->limit ? 1 : 0;
}

static int
inc_list(struct cli *c, const struct cli_cmd *cmd, const struct inc_opts *o)
{
	static const struct table_col cols[] = {
		{ "ID", 10, 2, 0, 1 }, { "SEV", 3, 3, 0, 1 },
		{ "STATE", 14, 4, 0, 0 }, { "ASSIGNEE", 16, 4, 1, 0 },
		{ "ALERTS", 7, 3, 0, 1 }, { "FIRST", 20, 20, 0, 0 },
		{ "LAST", 20, 20, 0, 0 }, { "DRILL", 16, 1, 1, 0 },
		{ "TITLE", 80, 10, 1, 0 },
	};
	struct list_ctx	 L;
	state_t		*s;
	int		 ex, rc;

	if ((s = inc_state(c, cmd, &ex)) == NULL)
		return ex;
	memset(&L, 0, sizeof(L));
	L.o = o;
	if (!o->json && (L.t = table_new(cols, sizeof(cols) /
	    sizeof(cols[0]))) == NULL) {
		state_close(&s);
		return CLI_EXIT_FAIL;
	}
	rc = state_incidents_foreach(s, 1, list_cb, &L);
	table_free(&L.t);
	state_close(&s);
	if (rc != 0) {
		cli_err(cmd, "cannot read the incidents: %s", ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if (L.n == 0)
		fprintf(stderr, "no incidents\n");
	return L.fail ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

/* One timeline entry: an alert or a note. */
struct tl {
	uint64_t	 time_us;
	json_t		*alert;		/* or NULL */
	json_t		*note;		/* or NULL */
};

static int
tl_cmp(const void *a, const void *b)
{
	const struct tl *x = a, *y = b;

	return x->time_us < y->time_us ? -1 : x->time_us > y->time_us;
}

static void
print_kv(const char *k, const char *v)
{
	char	esc[1024];

	escape_text(v != NULL ? v : "-", v != NULL ? strlen(v) : 1, esc,
	    sizeof(esc));
	printf("%-12s %s\n", k, esc);
}

static void
print_list(const char *k, json_t *arr)
{
	char	buf[1024];
	size_t	off = 0, i;
	json_t	*v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && off < sizeof(buf))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			    "%s%s", i ? ", " : "", json_string_value(v));
	print_kv(k, off > 0 ? buf : NULL);
}

static int print_history(state_t *s, uint64_t id);

static int
inc_show(struct cli *c, const struct cli_cmd *cmd, uint64_t id,
    const struct inc_opts *o)
{
	state_t		*s;
	char		*txt = NULL, buf[64];
	json_t		*inc, *alerts, *notes, *v;
	struct tl	*tl = NULL;
	size_t		 ntl = 0, i, len;
	int		 ex, rc;

	if ((s = inc_state(c, cmd, &ex)) == NULL)
		return ex == CLI_EXIT_OK ? CLI_EXIT_FAIL : ex;
	rc = state_incident_get(s, id, &txt, &len);
	if (rc != 0) {
		if (rc == TS_ENOTFOUND)
			cli_err(cmd, "no incident %llu",
			    (unsigned long long)id);
		else
			cli_err(cmd, "cannot read the state: %s",
			    ts_strerror(rc));
		state_close(&s);
		return CLI_EXIT_FAIL;
	}
	if (o->json) {
		cli_print_line(txt, len);
		free(txt);
		state_close(&s);
		return CLI_EXIT_OK;
	}
	if ((inc = json_loadb(txt, len, 0, NULL)) == NULL) {
		cli_err(cmd, "incident %llu is not readable",
		    (unsigned long long)id);
		free(txt);
		state_close(&s);
		return CLI_EXIT_FAIL;
	}
	free(txt);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	print_kv("incident", buf);
	print_kv("title", jstr(inc, "title"));
	snprintf(buf, sizeof(buf), "%llu",
	    (unsigned long long)ju64(inc, "severity"));
	print_kv("severity", buf);
	print_kv("state", jstr(inc, "state"));
	print_kv("assignee", jstr(inc, "assignee"));
	print_kv("first seen", jstr(inc, "first_seen"));
	print_kv("last seen", jstr(inc, "last_seen"));
	snprintf(buf, sizeof(buf), "%llu",
	    (unsigned long long)ju64(inc, "alert_count"));
	print_kv("alerts", buf);
	print_list("mitre", json_object_get(inc, "mitre"));
	print_list("hosts", json_object_get(json_object_get(inc, "entities"),
	    "host"));
	print_list("srcips", json_object_get(json_object_get(inc, "entities"),
	    "srcip"));
	print_list("users", json_object_get(json_object_get(inc, "entities"),
	    "user"));
	if (jstr(inc, "drill") != NULL)
		print_kv("drill", jstr(inc, "drill"));

	alerts = json_object_get(inc, "alerts");
	notes = json_object_get(inc, "notes");
	tl = calloc(json_array_size(alerts) + json_array_size(notes) + 1,
	    sizeof(*tl));
	if (tl == NULL) {
		json_decref(inc);
		state_close(&s);
		return CLI_EXIT_FAIL;
	}
	json_array_foreach(alerts, i, v) {
		char	*a = NULL;
		size_t	 al;
		json_t	*aj;

		if (!json_is_integer(v) || state_alert_get(s,
		    (uint64_t)json_integer_value(v), &a, &al) != 0)
			continue;
		aj = json_loadb(a, al, 0, NULL);
		free(a);
		if (aj == NULL)
			continue;
		tl[ntl].time_us = ju64(aj, "time_us");
		tl[ntl++].alert = aj;
	}
	json_array_foreach(notes, i, v) {
		uint64_t t = 0;
		const char *ts = jstr(v, "time");

		if (ts != NULL)
			(void)parse_rfc3339(ts, strlen(ts), &t);
		tl[ntl].time_us = t;
		tl[ntl++].note = v;
	}
	qsort(tl, ntl, sizeof(*tl), tl_cmp);
	printf("\ntimeline:\n");
	for (i = 0; i < ntl; i++) {
		char	t[32], line[2048], esc[2048];

		cli_format_time_s(tl[i].time_us, t, sizeof(t));
		if (tl[i].alert != NULL) {
			json_t *r = json_object_get(tl[i].alert, "rule");

			snprintf(line, sizeof(line), "alert %llu level %llu "
			    "%s on %s: %s", (unsigned long long)ju64(
			    tl[i].alert, "id"), (unsigned long long)ju64(
			    tl[i].alert, "level"), jstr(r, "id") ?
			    jstr(r, "id") : "?", jstr(tl[i].alert, "host") ?
			    jstr(tl[i].alert, "host") : "?",
			    jstr(tl[i].alert, "message") ?
			    jstr(tl[i].alert, "message") : "");
			json_decref(tl[i].alert);
		} else
			snprintf(line, sizeof(line), "note by %s: %s",
			    jstr(tl[i].note, "by") ? jstr(tl[i].note, "by") :
			    "?", jstr(tl[i].note, "text") ?
			    jstr(tl[i].note, "text") : "");
		escape_text(line, strlen(line), esc, sizeof(esc));
		printf("  %s  %s\n", t, esc);
	}
	free(tl);
	json_decref(inc);
	rc = print_history(s, id);
	state_close(&s);
	if (rc != 0) {
		cli_err(cmd, "cannot read the incident log: %s",
		    ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* The incident's change log, printed oldest first: every change but the
 * alerts joining (those are in the timeline), with who made it. */
struct hist_walk {
	uint64_t	 id;
	uint64_t	 seen;	/* last sequence read */
	size_t		 n;
};

static int
hist_cb(uint64_t seq, const char *v, size_t vlen, void *arg)
{
	struct hist_walk	*h = arg;
	json_t			*o;
	const char		*ch, *by, *tm, *x;
	char			 line[2048], esc[2048], t[32];
	uint64_t		 tus;

	h->seen = seq;
	if ((o = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	ch = jstr(o, "change");
	if (ju64(o, "incident") != h->id || ch == NULL ||
	    strcmp(ch, "alert") == 0) {
		json_decref(o);
		return 0;
	}
	by = jstr(o, "by");
	tus = ju64(o, "time_us");
	if (tus == 0 && (tm = jstr(o, "time")) != NULL)
		(void)parse_rfc3339(tm, strlen(tm), &tus);
	cli_format_time_s(tus, t, sizeof(t));
	if ((x = jstr(o, "assignee")) != NULL && strcmp(ch, "assigned") == 0)
		snprintf(line, sizeof(line), "%s to %s by %s", ch, x,
		    by ? by : "?");
	else if ((x = jstr(o, "note")) != NULL && strcmp(ch, "note") == 0)
		snprintf(line, sizeof(line), "note added by %s: %s",
		    by ? by : "?", x);
	else if ((x = jstr(o, "note")) != NULL)
		snprintf(line, sizeof(line), "%s by %s (note: %s)", ch,
		    by ? by : "?", x);
	else if (json_is_integer(json_object_get(o, "alert")))
		snprintf(line, sizeof(line), "%s by %s (alert %llu)", ch,
		    by ? by : "?", (unsigned long long)ju64(o, "alert"));
	else
		snprintf(line, sizeof(line), "%s by %s", ch, by ? by : "?");
	escape_text(line, strlen(line), esc, sizeof(esc));
	printf("  %s  %s\n", t, esc);
	h->n++;
	json_decref(o);
	return 0;
}

/* Rounds of the log read at once (short read transactions). */
#define HIST_CHUNK	4096

static int
print_history(state_t *s, uint64_t id)
{
	struct hist_walk	h = { id, 0, 0 };
	uint64_t		after, last = 0;
	int			rc;

	printf("\nhistory:\n");
	for (;;) {
		after = h.seen;
		rc = state_log_read(s, STATE_LOG_INCIDENTS, after, HIST_CHUNK,
		    hist_cb, &h, &last);
		if (rc == TS_ENOTFOUND)
			break;
		if (rc != 0)
			return rc;
		if (h.seen == after || h.seen >= last)
			break;
	}
	if (h.n == 0)
		printf("  (none recorded)\n");
	return 0;
}

/* Who makes a change: --by, else the Unix user (cli_actor). */
static const char *
default_by(const char *by)
{
	if (by != NULL && by[0] != '\0')
		return by;
	return cli_actor();
}

/* Submit a change and print the engine's answer. */
static int
inc_change(struct cli *c, const struct cli_cmd *cmd, const char *op,
    uint64_t id, const char *assignee, const char *note, const char *by)
{
	const char	*dd = cli_datadir_existing(c, cmd);
	char		 tb[40], cid[CONTROL_ID_BYTES], *txt, *ans = NULL;
	json_t		*req, *a;
	int		 rc, ret = CLI_EXIT_OK;

	if (dd == NULL)
		return CLI_EXIT_USAGE;
	format_rfc3339(now_us(), tb, sizeof(tb));
	req = json_pack("{s:s, s:s, s:s, s:I}", "op", op, "by",
	    default_by(by), "time", tb, "incident", (json_int_t)id);
	if (req == NULL)
		return CLI_EXIT_FAIL;
	if (assignee != NULL)
		json_object_set_new(req, "assignee", json_string(assignee));
	if (note != NULL)
		json_object_set_new(req, "note", json_string(note));
	txt = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (txt == NULL)
		return CLI_EXIT_FAIL;
	rc = control_submit(dd, txt, strlen(txt), cid);
	free(txt);
	if (rc != 0) {
		cli_err(cmd, "cannot submit the request: %s", ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	rc = control_wait(dd, cid, INCIDENTS_WAIT_US, &ans);
	if (rc == TS_EAGAIN) {
		printf("queued; the engine is not running (request %s is "
		    "applied when it runs)\n", cid);
		return CLI_EXIT_OK;
	}
	if (rc != 0) {
		cli_err(cmd, "no answer for request %s: %s", cid,
		    ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if ((a = json_loads(ans, 0, NULL)) == NULL) {
		cli_err(cmd, "unreadable answer for request %s", cid);
		free(ans);
		return CLI_EXIT_FAIL;
	}
	if (json_is_true(json_object_get(a, "ok"))) {
		json_t *inc = json_object_get(a, "incident");
		char	esc[256];
		const char *as = jstr(inc, "assignee");

		escape_text(as != NULL ? as : "-", as != NULL ? strlen(as) : 1,
		    esc, sizeof(esc));
		printf("incident %llu: %s, assignee %s\n",
		    (unsigned long long)id, jstr(inc, "state") ?
		    jstr(inc, "state") : "?", esc);
	} else {
		const char *e = jstr(a, "error");

		cli_err(cmd, "refused: %s", e != NULL ? e : "?");
		ret = CLI_EXIT_FAIL;
	}
	json_decref(a);
	free(ans);
	return ret;
}

static int
text_ok(const struct cli_cmd *cmd, const char *what, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > INCIDENTS_MAX_TEXT) {
		cli_usage_error(cmd, "%s must be 1 to %d bytes", what,
		    INCIDENTS_MAX_TEXT);
		return 0;
	}
	return 1;
}

/* The verbs of `tocsin incidents`: the operands each takes after it and
 * the control request it sends (NULL: it reads the state). */
static const struct inc_verb {
	const char	*iv_name;
	int		 iv_nargs;	/* operands after the verb */
	const char	*iv_args;	/* what they are, for messages */
	const char	*iv_text;	/* the second operand (NAME, TEXT) */
	const char	*iv_op;		/* control request */
} inc_verbs[] = {
	{ "list", 0, NULL, NULL, NULL },
	{ "show", 1, "an incident id", NULL, NULL },
	{ "ack", 1, "an incident id", NULL, "incident_ack" },
	{ "resolve", 1, "an incident id", NULL, "incident_resolve" },
	{ "reopen", 1, "an incident id", NULL, "incident_reopen" },
	{ "false-positive", 1, "an incident id", NULL,
	  "incident_false_positive" },
	{ "assign", 2, "an incident id and a name", "NAME", "incident_assign" },
	{ "note", 2, "an incident id and a text", "TEXT", "incident_note" },
};
#define NINC_VERBS	(sizeof(inc_verbs) / sizeof(inc_verbs[0]))

enum { OPT_STATE = 256, OPT_MINSEV, OPT_SINCE, OPT_LIMIT, OPT_JSON,
	OPT_NOTE, OPT_BY };

static const struct cli_opt incidents_opts[] = {
	{ "state", 0, OPT_STATE, "S",
	  "open, acknowledged, resolved, false_positive, or\n"
	  "active (open or acknowledged)" },
	{ "min-severity", 0, OPT_MINSEV, "N",
	  "only incidents of severity N (0-15) or higher" },
	{ "since", 0, OPT_SINCE, "DUR|TIME",
	  "only incidents seen at or after this time" },
	{ "limit", 0, OPT_LIMIT, "N",
	  "at most N incidents (0: all)" },
	{ "json", 0, OPT_JSON, NULL,
	  "JSON objects as stored, one per line" },
	{ "note", 0, OPT_NOTE, "TEXT",
	  "add a note with the change" },
	{ "by", 0, OPT_BY, "NAME",
	  "who makes the change (default: $SUDO_USER, else\n"
	  "the login name)" },
};

static const struct cli_optgroup incidents_groups[] = {
	{ NULL, CLI_TABLE(incidents_opts) },
};

const struct cli_help cmd_incidents_help = {
	"usage: tocsin incidents [list] [--state S] [--min-severity N]\n"
	"                        [--since DUR|TIME] [--limit N] [--json]\n"
	"       tocsin incidents show ID [--json]\n"
	"       tocsin incidents ack|resolve|reopen|false-positive ID\n"
	"                        [--note TEXT] [--by NAME]\n"
	"       tocsin incidents assign ID NAME [--note TEXT] [--by NAME]\n"
	"       tocsin incidents note ID TEXT [--by NAME]\n"
	"\n"
	"Incidents group the alerts of one attack: an alert at or above\n"
	"incidents.min_level opens one, or joins an open one that shares its\n"
	"host, source address or user within incidents.window.\n"
	"\n"
	"list   the incidents, newest first (table or JSON Lines)\n"
	"show   one incident, its timeline of alerts and notes, and its\n"
	"       history: every change (opened, escalated, acknowledged,\n"
	"       assigned, note, resolved, reopened, false positive) with who\n"
	"       made it and when\n"
	"ack, resolve, reopen, false-positive, assign, note\n"
	"       change an incident: the request goes to the engine, which\n"
	"       applies and logs it (who, when); the command waits up to 10 s\n"
	"       for the answer, else says \"queued; the engine is not running\"\n"
	"       (the change is applied when it runs again).\n",
	CLI_TABLE(incidents_groups),
	"Exit status 0 on success, 1 when the engine refused a change or the\n"
	"state cannot be read, 2 on a usage error.\n"
	"\n"
	"Examples:\n"
	"  tocsin incidents --state active\n"
	"  tocsin incidents show 12\n"
	"  tocsin incidents ack 12 --note \"looking at it\"\n"
	"  tocsin incidents assign 12 alice\n"
	"  tocsin incidents resolve 12 --note \"password reset, IP blocked\"\n",
};

int
cmd_incidents(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	static const char *const states[] = { "open", "acknowledged",
	    "resolved", "false_positive", "active", NULL };
	struct inc_opts	 o;
	const struct inc_verb *v;
	const char	*sub = "list";
	char		 eb[256];
	uint64_t	 id = 0;
	int		 opt, nargs;
	char		**args;

	memset(&o, 0, sizeof(o));
	/* Options and operands mix: the subcommand and ids may come
	 * anywhere. */
	cli_opt_init(&p, c, cmd, CLI_TABLE(incidents_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_STATE: {
			size_t i;

			for (i = 0; states[i] != NULL; i++)
				if (strcmp(states[i], p.arg) == 0)
					break;
			if (states[i] == NULL)
				return cli_usage_error(cmd, "--state: '%s' is "
				    "not open, acknowledged, resolved, "
				    "false_positive or active",
				    cli_esc(p.arg, eb, sizeof(eb)));
			o.state = states[i];
			break;
		}
		case OPT_MINSEV:
			if (cli_parse_number(cmd, "--min-severity", p.arg, 15,
			    &o.min_sev) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_SINCE:
			if (cli_parse_time(cmd, "--since", p.arg, now_us(),
			    &o.since_us) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_LIMIT:
			if (cli_parse_number(cmd, "--limit", p.arg,
			    UINT64_MAX, &o.limit) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			o.json = 1;
			break;
		case OPT_NOTE:
			if (!text_ok(cmd, "--note", p.arg))
				return CLI_EXIT_USAGE;
			o.note = p.arg;
			break;
		case OPT_BY:
			if (!text_ok(cmd, "--by", p.arg))
				return CLI_EXIT_USAGE;
			o.by = p.arg;
			break;
		}
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs > 0) {
		sub = args[0];
		args++;
		nargs--;
	}
	for (v = inc_verbs; v < inc_verbs + NINC_VERBS; v++)
		if (strcmp(sub, v->iv_name) == 0)
			break;
	if (v == inc_verbs + NINC_VERBS)
		return cli_usage_error(cmd, "unknown subcommand '%s'",
		    cli_esc(sub, eb, sizeof(eb)));
	if (v->iv_nargs == 0) {		/* list */
		if (nargs > 0)
			return cli_usage_error(cmd, "list takes no arguments");
		return inc_list(c, cmd, &o);
	}
	if (nargs != v->iv_nargs)
		return cli_usage_error(cmd, "%s takes %s", sub, v->iv_args);
	if (parse_u64(args[0], strlen(args[0]), UINT64_MAX, &id) != 0 ||
	    id == 0)
		return cli_usage_error(cmd, "'%s' is not an incident id",
		    cli_esc(args[0], eb, sizeof(eb)));
	if (v->iv_op == NULL)		/* show */
		return inc_show(c, cmd, id, &o);
	if (v->iv_nargs == 1)
		return inc_change(c, cmd, v->iv_op, id, NULL, o.note, o.by);
	/* assign ID NAME, note ID TEXT */
	if (!text_ok(cmd, v->iv_text, args[1]))
		return CLI_EXIT_USAGE;
	if (strcmp(v->iv_text, "NAME") == 0)
		return inc_change(c, cmd, v->iv_op, id, args[1], o.note, o.by);
	return inc_change(c, cmd, v->iv_op, id, NULL, args[1], o.by);
}
