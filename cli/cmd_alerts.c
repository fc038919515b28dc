/*
 * cmd_alerts.c - `tocsin alerts`: the alerts the engine stored, newest first,
 * filtered by time, level, host, rule and drill, as a table or as JSON Lines
 * (the stored objects, exactly); with --follow, new alerts from the live
 * feed of the outputs process (outputs/outputs.h) as they are raised.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cli/cli_int.h"
#include "common/datadir.h"
#include "common/endpoint.h"
#include "common/err.h"
#include "common/limits.h"
#include "engine/state.h"
#include "common/util.h"


/* Highest alert level. */
#define MAX_ALERT_LEVEL		15

enum { OPT_SINCE = 256, OPT_UNTIL, OPT_MIN_LEVEL, OPT_HOST, OPT_RULE,
    OPT_LIMIT, OPT_JSON, OPT_BY_RULE, OPT_DRILL, OPT_NO_DRILL, OPT_FOLLOW,
    OPT_COUNT };

static const struct cli_opt alerts_opts[] = {
	{ "since", 0, OPT_SINCE, "DUR|TIME",
	  "only alerts at or after this time: a duration\n"
	  "before now (30s, 15m, 2h, 7d) or RFC 3339" },
	{ "until", 0, OPT_UNTIL, "DUR|TIME",
	  "only alerts at or before this time" },
	{ "min-level", 0, OPT_MIN_LEVEL, "N",
	  "only alerts of level N (0-15) or higher" },
	{ "host", 0, OPT_HOST, "HOST",
	  "only alerts about this host" },
	{ "rule", 0, OPT_RULE, "ID",
	  "only alerts of this rule id" },
	{ "drill", 0, OPT_DRILL, "NAME",
	  "only alerts of the drill NAME (replayed attacks)" },
	{ "no-drill", 0, OPT_NO_DRILL, NULL,
	  "only real alerts, none of any drill" },
	{ "follow", 0, OPT_FOLLOW, NULL,
	  "print new alerts as they come (live feed)" },
	{ "count", 0, OPT_COUNT, "N",
	  "with --follow: stop after N alerts" },
	{ "limit", 0, OPT_LIMIT, "N",
	  "at most N alerts (0: all)" },
	{ "by-rule", 0, OPT_BY_RULE, NULL,
	  "a summary instead: per rule, the number of\n"
	  "matching alerts, highest level, first and last\n"
	  "time, most frequent first" },
	{ "json", 0, OPT_JSON, NULL,
	  "one JSON object per line, exactly as stored" },
};

static const struct cli_optgroup alerts_groups[] = {
	{ NULL, CLI_TABLE(alerts_opts) },
};

const struct cli_help cmd_alerts_help = {
	"usage: tocsin alerts [--since DUR|TIME] [--until DUR|TIME]\n"
	"                     [--min-level N] [--host HOST] [--rule ID]\n"
	"                     [--drill NAME | --no-drill]\n"
	"                     [--limit N] [--by-rule] [--json]\n"
	"                     [--follow [--count N]] [-c CONFIG] [-D DATADIR]\n"
	"\n"
	"List the alerts the engine raised, newest first (all that match\n"
	"unless --limit).  Reads DATADIR/state; no running server needed.\n"
	"With --follow, print new alerts as they are raised instead, from the\n"
	"live feed (the first `type: live` output of the server configuration;\n"
	"tocsind must run), with the same filters, until interrupted.\n",
	CLI_TABLE(alerts_groups),
	"Table columns: TIME LEVEL RULE HOST AGENT TITLE MESSAGE (control bytes\n"
	"escaped, long values cut to fit the terminal).  Exit status 0 even\n"
	"when nothing matches (\"no alerts\" on stderr); 2 on a bad option or a\n"
	"missing data directory.\n"
	"\n"
	"Examples:\n"
	"  tocsin alerts --since 1h\n"
	"  tocsin alerts --min-level 10 --host web01 --limit 20\n"
	"  tocsin alerts --since 1d --by-rule\n"
	"  tocsin alerts --rule ssh-bruteforce --since 2026-01-26T00:00:00Z --json\n"
	"  tocsin alerts --follow --min-level 8 --no-drill\n",
};

/* --follow: wait for a message at most this long before looking at the
 * interrupt flag again. */
#define FOLLOW_POLL_MS		200
/* Largest live-feed message accepted (an alert is far smaller). */
#define FOLLOW_MAX_MSG_BYTES	(4 * 1024 * 1024)
/* A live feed that cannot be reached is said at once, then this often. */
#define FOLLOW_WARN_US		(60ULL * 1000000)
#define FOLLOW_MONITOR_EP	"inproc://tocsin-alerts-follow-monitor"

/* What the subscriber's monitor said: 1 connected, -1 refused (retrying),
 * 0 nothing new.  Reads every waiting event. */
static int follow_monitor(void *mon)
{
	int got = 0;

	for (;;) {
		zmq_msg_t m;
		uint16_t ev = 0;
		int more;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			return got;
		}
		if (zmq_msg_size(&m) >= 2)
			memcpy(&ev, zmq_msg_data(&m), 2);
		more = zmq_msg_more(&m);
		zmq_msg_close(&m);
		while (more) {
			zmq_msg_init(&m);
			more = zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) >= 0 &&
			    zmq_msg_more(&m);
			zmq_msg_close(&m);
		}
		if (ev == ZMQ_EVENT_CONNECTED)
			got = 1;
		else if (ev == ZMQ_EVENT_CONNECT_RETRIED ||
		    ev == ZMQ_EVENT_DISCONNECTED)
			got = -1;
	}
}

static const struct table_col alert_cols[] = {
	{ "TIME",    20,  20, 0, 0 },
	{ "LEVEL",    5,   5, 0, 1 },
	{ "RULE",    28,   8, 1, 0 },
	{ "HOST",    24,   8, 1, 0 },
	{ "AGENT",   32,   6, 1, 0 },
	{ "TITLE",   48,  12, 1, 0 },
	{ "MESSAGE", 400, 16, 1, 0 },
};
#define NALERT_COLS (sizeof(alert_cols) / sizeof(alert_cols[0]))

/* --by-rule: one summary row per rule. */
struct rule_agg {
	char		*rule;
	char		*title;		/* of the newest alert of the rule */
	int		 level;		/* highest */
	uint64_t	 count;
	uint64_t	 first_us, last_us;
};

/* Distinct rules summarised (a rule set holds at most MAX_RULES, and
 * removed rules may have left alerts behind). */
#define MAX_SUMMARY_RULES	(4 * MAX_RULES)

struct alerts_out {
	table_t		*table;		/* NULL in --json mode */
	int		 by_rule;
	struct rule_agg	*agg;		/* sorted by rule id */
	size_t		 nagg, capagg;
	uint64_t	 n;
	int		 rc;		/* first error inside the callback */
	const char	*drill;		/* --drill NAME */
	int		 no_drill;	/* --no-drill */
	uint64_t	 limit;		/* applied here when drill-filtering */
};

/* Does the alert pass --drill / --no-drill?  (Not JSON: only without
 * drill filters.) */
static int drill_pass(const struct alerts_out *o, const char *json,
    size_t len)
{
	json_t *a, *d;
	int pass;

	if (o->drill == NULL && !o->no_drill)
		return 1;
	if ((a = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;
	d = json_object_get(a, "drill");
	if (!json_is_string(d) || json_string_length(d) == 0)
		d = NULL;
	if (o->no_drill)
		pass = d == NULL;
	else
		pass = d != NULL && strcmp(json_string_value(d), o->drill) == 0;
	json_decref(a);
	return pass;
}

static const struct table_col summary_cols[] = {
	{ "COUNT",    10,  5, 0, 1 },
	{ "LEVEL",     5,  5, 0, 1 },
	{ "RULE",     32,  8, 1, 0 },
	{ "FIRST",    20, 20, 0, 0 },
	{ "LAST",     20, 20, 0, 0 },
	{ "TITLE",   200, 12, 1, 0 },
};
#define NSUMMARY_COLS (sizeof(summary_cols) / sizeof(summary_cols[0]))

static const char *obj_str(json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		*len = 0;
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

/* One cell from a JSON string member (untrusted text); "-" if absent. */
static int cell_from(table_t *t, json_t *o, const char *key)
{
	size_t len;
	const char *s = obj_str(o, key, &len);

	if (s == NULL || len == 0)
		return table_cell(t, "-", 1);
	return table_cell(t, s, len);
}

static int alert_row(table_t *t, const char *json, size_t len)
{
	json_t *a, *rule, *v;
	char tbuf[40];
	int rc = 0;

	if ((a = json_loadb(json, len, 0, NULL)) == NULL ||
	    !json_is_object(a)) {
		json_decref(a);
		rc |= table_cell(t, "?", 1);
		rc |= table_cell(t, "?", 1);
		rc |= table_cell(t, "?", 1);
		rc |= table_cell(t, "?", 1);
		rc |= table_cell(t, "?", 1);
		rc |= table_cell_str(t, "(alert that is not valid JSON)");
		rc |= table_cell(t, json, len);
		return rc != 0 ? TS_ENOMEM : 0;
	}
	v = json_object_get(a, "time_us");
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		cli_format_time_s((uint64_t)json_integer_value(v), tbuf,
		    sizeof(tbuf));
		rc |= table_cell_str(t, tbuf);
	} else {
		rc |= cell_from(t, a, "time");
	}
	v = json_object_get(a, "level");
	if (json_is_integer(v))
		rc |= table_cellf(t, "%lld", (long long)json_integer_value(v));
	else
		rc |= table_cell(t, "?", 1);
	rule = json_object_get(a, "rule");
	rc |= cell_from(t, rule, "id");
	rc |= cell_from(t, a, "host");
	/* A drill's alert says so where the agent would be (it came from
	 * the replay identity): no one mistakes a drill for an attack. */
	v = json_object_get(a, "drill");
	if (json_is_string(v))
		rc |= table_cellf(t, "DRILL %s", json_string_value(v));
	else
		rc |= cell_from(t, a, "agent");
	rc |= cell_from(t, rule, "title");
	rc |= cell_from(t, a, "message");
	json_decref(a);
	return rc != 0 ? TS_ENOMEM : 0;
}

/* JSON Lines: the stored text as it is, unless it spans lines (then the
 * same object, re-encoded compactly). */
static int alert_json(const char *json, size_t len)
{
	json_t *a;
	char *s;

	if (memchr(json, '\n', len) == NULL) {
		cli_print_line(json, len);
		return 0;
	}
	if ((a = json_loadb(json, len, 0, NULL)) == NULL)
		return TS_EINVAL;
	s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(a);
	if (s == NULL)
		return TS_ENOMEM;
	cli_print_line(s, strlen(s));
	free(s);
	return 0;
}

/* Find rule id in the sorted summary, inserting it if new.  NULL with
 * o->rc set on failure. */
static struct rule_agg *agg_get(struct alerts_out *o, const char *rule)
{
	size_t lo = 0, hi = o->nagg, mid;
	struct rule_agg *a;
	int cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(rule, o->agg[mid].rule);
		if (cmp == 0)
			return &o->agg[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (o->nagg == MAX_SUMMARY_RULES) {
		o->rc = TS_EFULL;
		return NULL;
	}
	if (o->nagg == o->capagg) {
		size_t cap = o->capagg ? o->capagg * 2 : 32;
		if ((a = realloc(o->agg, cap * sizeof(*a))) == NULL) {
			o->rc = TS_ENOMEM;
			return NULL;
		}
		o->agg = a;
		o->capagg = cap;
	}
	memmove(&o->agg[lo + 1], &o->agg[lo],
	    (o->nagg - lo) * sizeof(*o->agg));
	a = &o->agg[lo];
	memset(a, 0, sizeof(*a));
	if ((a->rule = strdup(rule)) == NULL) {
		memmove(&o->agg[lo], &o->agg[lo + 1],
		    (o->nagg - lo) * sizeof(*o->agg));
		o->rc = TS_ENOMEM;
		return NULL;
	}
	a->level = -1;
	o->nagg++;
	return a;
}

/* Count one alert into its rule's summary row.  Alerts come newest first,
 * so the first one seen of a rule gives its last time and title. */
static int alert_aggregate(struct alerts_out *o, const char *json,
    size_t len)
{
	json_t *a, *rule, *v;
	struct rule_agg *g;
	const char *id = "?", *title = NULL;
	uint64_t t = 0;

	if ((a = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;	/* not JSON: shown by the plain listing */
	rule = json_object_get(a, "rule");
	if (json_is_string(json_object_get(rule, "id")))
		id = json_string_value(json_object_get(rule, "id"));
	if (json_is_string(json_object_get(rule, "title")))
		title = json_string_value(json_object_get(rule, "title"));
	v = json_object_get(a, "time_us");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		t = (uint64_t)json_integer_value(v);
	if ((g = agg_get(o, id)) == NULL) {
		json_decref(a);
		return o->rc;
	}
	if (g->count == 0) {
		g->last_us = t;
		if (title != NULL && (g->title = strdup(title)) == NULL) {
			json_decref(a);
			return TS_ENOMEM;
		}
	}
	g->first_us = t;
	g->count++;
	v = json_object_get(a, "level");
	if (json_is_integer(v) && json_integer_value(v) > g->level &&
	    json_integer_value(v) <= MAX_ALERT_LEVEL)
		g->level = (int)json_integer_value(v);
	json_decref(a);
	return 0;
}

static int agg_cmp_count(const void *x, const void *y)
{
	const struct rule_agg *a = x, *b = y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->rule, b->rule);
}

/* Print the summary, most frequent rule first.  0 or TS_ENOMEM. */
static int summary_print(struct alerts_out *o, int json)
{
	table_t *t = NULL;
	char f[40], l[40];
	size_t i;
	int rc = 0;

	if (o->nagg > 1)
		qsort(o->agg, o->nagg, sizeof(*o->agg), agg_cmp_count);
	if (!json && (t = table_new(summary_cols, NSUMMARY_COLS)) == NULL)
		return TS_ENOMEM;
	for (i = 0; i < o->nagg && rc == 0; i++) {
		struct rule_agg *g = &o->agg[i];
		if (json) {
			json_t *obj;
			char *s;
			format_rfc3339(g->first_us, f, sizeof(f));
			format_rfc3339(g->last_us, l, sizeof(l));
			obj = json_pack("{s:s, s:s?, s:i, s:I, s:s, s:s}",
			    "rule", g->rule, "title", g->title,
			    "level", g->level, "count", (json_int_t)g->count,
			    "first", f, "last", l);
			s = obj != NULL ? json_dumps(obj, JSON_COMPACT |
			    JSON_PRESERVE_ORDER) : NULL;
			json_decref(obj);
			if (s == NULL) {
				rc = TS_ENOMEM;
				break;
			}
			cli_print_line(s, strlen(s));
			free(s);
			continue;
		}
		cli_format_time_s(g->first_us, f, sizeof(f));
		cli_format_time_s(g->last_us, l, sizeof(l));
		rc |= table_cellf(t, "%llu", (unsigned long long)g->count);
		if (g->level >= 0)
			rc |= table_cellf(t, "%d", g->level);
		else
			rc |= table_cell_str(t, "?");
		rc |= table_cell_str(t, g->rule);
		rc |= table_cell_str(t, f);
		rc |= table_cell_str(t, l);
		rc |= table_cell_str(t, g->title);
	}
	table_free(&t);
	return rc != 0 ? TS_ENOMEM : 0;
}

static int alert_cb(const char *json, size_t len, void *arg)
{
	struct alerts_out *o = arg;
	int rc;

	if (!drill_pass(o, json, len))
		return 0;
	if (o->limit != 0 && o->n >= o->limit)
		return 1;
	if (o->by_rule)
		rc = alert_aggregate(o, json, len);
	else if (o->table != NULL)
		rc = alert_row(o->table, json, len);
	else
		rc = alert_json(json, len);
	if (rc == TS_ENOMEM || rc == TS_EFULL) {
		o->rc = rc;
		return 1;
	}
	o->n++;
	return 0;
}

static void agg_free(struct alerts_out *o)
{
	size_t i;

	for (i = 0; i < o->nagg; i++) {
		free(o->agg[i].rule);
		free(o->agg[i].title);
	}
	free(o->agg);
	o->agg = NULL;
	o->nagg = o->capagg = 0;
}

static volatile sig_atomic_t follow_stop;

static void follow_signal(int sig)
{
	(void)sig;
	follow_stop = 1;
}

/* Does a live-feed alert pass the query's filters (time bounds, level,
 * host, rule)?  Drill filters are drill_pass's. */
static int follow_pass(const struct alert_query *q, const char *json,
    size_t len)
{
	json_t *a, *v;
	int pass = 1;

	if ((a = json_loadb(json, len, 0, NULL)) == NULL)
		return 0;
	v = json_object_get(a, "level");
	if (q->min_level > 0 && (!json_is_integer(v) ||
	    json_integer_value(v) < q->min_level))
		pass = 0;
	v = json_object_get(a, "time_us");
	if (json_is_integer(v) && ((q->since_us != 0 &&
	    (uint64_t)json_integer_value(v) < q->since_us) ||
	    (q->until_us != 0 && (uint64_t)json_integer_value(v) > q->until_us)))
		pass = 0;
	v = json_object_get(a, "host");
	if (q->host != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), q->host) != 0))
		pass = 0;
	v = json_object_get(json_object_get(a, "rule"), "id");
	if (q->rule != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), q->rule) != 0))
		pass = 0;
	json_decref(a);
	return pass;
}

/*
 * --follow: subscribe to the live feed of the server configuration and
 * print each alert that passes the filters (a table row, flushed at once,
 * or the JSON line) until SIGINT/SIGTERM or count alerts (0: no bound).
 */
static int alerts_follow(struct cli *c, const struct cli_cmd *cmd,
    const struct alert_query *q, struct alerts_out *o, int json,
    uint64_t count)
{
	const struct server_config *cfg = cli_config(c);
	const char *bind = NULL;
	void *ctx = NULL, *sub = NULL, *mon = NULL;
	char *msg = NULL, *ep = NULL;
	struct sigaction sa, old_int, old_term;
	uint64_t down_since = 0, down_said = 0, now;
	int link;
	int timeout = FOLLOW_POLL_MS, linger = 0, ret = CLI_EXIT_OK;
	const size_t tlen = strlen("alert ");

	if (cfg == NULL)
		return CLI_EXIT_USAGE;
	for (size_t i = 0; i < cfg->noutputs && ep == NULL; i++)
		if (cfg->outputs[i].type == OUTPUT_LIVE &&
		    cfg->outputs[i].enabled)
			bind = cfg->outputs[i].endpoint;
	if (bind == NULL) {
		cli_err(cmd, "--follow needs a live output in the server "
		    "configuration (outputs: - type: live); %s has none",
		    cfg->source);
		return CLI_EXIT_USAGE;
	}
	/* the feed binds; a wildcard host is reached on loopback */
	if ((ep = endpoint_local_connect(bind, NULL)) == NULL ||
	    (msg = malloc(FOLLOW_MAX_MSG_BYTES)) == NULL ||
	    (ctx = zmq_ctx_new()) == NULL ||
	    (sub = zmq_socket(ctx, ZMQ_SUB)) == NULL) {
		cli_err(cmd, "cannot create the subscriber");
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	(void)zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
	(void)zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
	/* The monitor tells a feed that cannot be reached (tocsind down, no
	 * live output running) from one that is merely quiet. */
	if (zmq_socket_monitor(sub, FOLLOW_MONITOR_EP, ZMQ_EVENT_CONNECTED |
	    ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED) != 0 ||
	    (mon = zmq_socket(ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(mon, FOLLOW_MONITOR_EP) != 0) {
		cli_err(cmd, "cannot monitor the subscriber: %s",
		    zmq_strerror(errno));
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "alert ", tlen) != 0 ||
	    zmq_connect(sub, ep) != 0) {
		cli_err(cmd, "cannot subscribe to %s: %s", ep,
		    zmq_strerror(errno));
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (!json && (o->table = table_new(alert_cols, NALERT_COLS)) == NULL) {
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = follow_signal;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (json)
		setvbuf(stdout, NULL, _IOLBF, 0);
	while (!follow_stop && (count == 0 || o->n < count)) {
		int n = zmq_recv(sub, msg, FOLLOW_MAX_MSG_BYTES, 0);
		const char *a;
		size_t alen;

		now = mono_us();
		if ((link = follow_monitor(mon)) < 0 && down_since == 0)
			down_since = now;
		else if (link > 0 && down_since != 0) {
			if (down_said != 0)
				fprintf(stderr, "tocsin alerts: live feed %s "
				    "reached again\n", ep);
			down_since = down_said = 0;
		}
		if (down_since != 0 && (down_said == 0 ||
		    now - down_said >= FOLLOW_WARN_US)) {
			fprintf(stderr, "tocsin alerts: cannot reach the live "
			    "feed %s (connection refused: is tocsind running, "
			    "with its live output?); retrying\n", ep);
			down_said = now;
		}
		if (n < 0)
			continue;	/* time-out or signal: look at the flag */
		if ((size_t)n > FOLLOW_MAX_MSG_BYTES || (size_t)n <= tlen)
			continue;	/* truncated or empty: not an alert */
		a = msg + tlen;
		alen = (size_t)n - tlen;
		if (!follow_pass(q, a, alen) || !drill_pass(o, a, alen))
			continue;
		if (json)
			(void)alert_json(a, alen);
		else {
			(void)alert_row(o->table, a, alen);
			table_flush(o->table);
		}
		fflush(stdout);
		o->n++;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	table_free(&o->table);
	if (mon != NULL) {
		zmq_socket_monitor(sub, NULL, 0);
		zmq_close(mon);
	}
	if (sub != NULL)
		zmq_close(sub);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	free(msg);
	free(ep);
	return ret;
}

int cmd_alerts(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	struct alert_query q;
	struct alerts_out out;
	state_t *st = NULL;
	const char *dd;
	char *path = NULL;
	uint64_t now = now_us(), v, count = 0;
	int opt, rc, json = 0, follow = 0, have_count = 0;

	memset(&q, 0, sizeof(q));
	memset(&out, 0, sizeof(out));
	cli_opt_init(&p, c, cmd, CLI_TABLE(alerts_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_SINCE:
			if (cli_parse_time(cmd, "--since", p.arg, now,
			    &q.since_us) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_UNTIL:
			if (cli_parse_time(cmd, "--until", p.arg, now,
			    &q.until_us) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_MIN_LEVEL:
			if (cli_parse_number(cmd, "--min-level", p.arg,
			    MAX_ALERT_LEVEL, &v) != 0)
				return CLI_EXIT_USAGE;
			q.min_level = (int)v;
			break;
		case OPT_HOST:
			q.host = p.arg;
			break;
		case OPT_RULE:
			q.rule = p.arg;
			break;
		case OPT_LIMIT:
			if (cli_parse_number(cmd, "--limit", p.arg, UINT64_MAX,
			    &q.limit) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_BY_RULE:
			out.by_rule = 1;
			break;
		case OPT_DRILL:
			if (p.arg[0] == '\0')
				return cli_usage_error(cmd, "--drill needs a "
				    "drill name");
			out.drill = p.arg;
			break;
		case OPT_NO_DRILL:
			out.no_drill = 1;
			break;
		case OPT_FOLLOW:
			follow = 1;
			break;
		case OPT_COUNT:
			if (cli_parse_number(cmd, "--count", p.arg,
			    UINT64_MAX, &count) != 0)
				return CLI_EXIT_USAGE;
			have_count = 1;
			break;
		default:
			return cli_usage_error(cmd, "unhandled option");
		}
	}
	if ((rc = cli_no_args(cmd, argc, argv)) != 0)
		return rc;
	if (q.since_us != 0 && q.until_us != 0 && q.since_us > q.until_us)
		return cli_usage_error(cmd, "--since is after --until");
	if (out.drill != NULL && out.no_drill)
		return cli_usage_error(cmd, "--drill and --no-drill exclude "
		    "each other");
	if (have_count && !follow)
		return cli_usage_error(cmd, "--count goes with --follow");
	if (follow && (out.by_rule || q.limit != 0))
		return cli_usage_error(cmd, "--follow does not go with "
		    "--by-rule or --limit (use --count)");
	if (follow)
		return alerts_follow(c, cmd, &q, &out, json, count);
	if (out.drill != NULL || out.no_drill) {
		/* the state's limit counts before the drill filter */
		out.limit = q.limit;
		q.limit = 0;
	}
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	if ((path = datadir_path(dd, DD_STATE)) == NULL) {
		cli_err(cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	rc = state_open(path, STATE_RDONLY, 0, &st);
	if (rc == TS_ENOTFOUND) {
		cli_err(cmd, "no state in %s yet (has tocsind run?): no alerts",
		    path);
		free(path);
		return CLI_EXIT_OK;
	}
	if (rc != 0) {
		cli_err(cmd, "cannot open %s: %s", path, ts_strerror(rc));
		free(path);
		return CLI_EXIT_FAIL;
	}
	if (!json && !out.by_rule &&
	    (out.table = table_new(alert_cols, NALERT_COLS)) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	rc = state_alerts_query(st, &q, alert_cb, &out);
	if (rc == TS_ESTOP)
		rc = 0;
	if (rc == 0)
		rc = out.rc;
	if (rc == 0 && out.by_rule)
		rc = summary_print(&out, json);
	if (rc != 0)
		goto fail;
	table_free(&out.table);
	if (out.n == 0 && !json)
		cli_err(cmd, "no alerts");
	agg_free(&out);
	state_close(&st);
	free(path);
	return CLI_EXIT_OK;

fail:
	agg_free(&out);
	table_free(&out.table);
	cli_err(cmd, "reading alerts from %s: %s", path, ts_strerror(rc));
	state_close(&st);
	free(path);
	return CLI_EXIT_FAIL;
}
