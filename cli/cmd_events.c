/*
 * cmd_events.c - `tocsin events`: the raw events of the journal, oldest
 * first, filtered by time, host and a PCRE2 pattern, as a table or as JSON
 * Lines.  With --limit N and no --since it shows the N newest (read
 * backwards from the end of the journal, printed oldest first).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "common/datadir.h"
#include "common/err.h"
#include "collector/journal.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"


enum { OPT_SINCE = 256, OPT_UNTIL, OPT_HOST, OPT_GREP, OPT_LIMIT, OPT_JSON };

static const struct cli_opt events_opts[] = {
	{ "since", 0, OPT_SINCE, "DUR|TIME",
	  "only events at or after this time (the time the\n"
	  "agent read the line): a duration before now\n"
	  "(30s, 15m, 2h, 7d) or RFC 3339" },
	{ "until", 0, OPT_UNTIL, "DUR|TIME",
	  "only events at or before this time" },
	{ "host", 0, OPT_HOST, "HOST",
	  "only events from this host" },
	{ "grep", 0, OPT_GREP, "REGEX",
	  "only events whose message matches this PCRE2\n"
	  "pattern (Perl syntax, case-sensitive; (?i) for\n"
	  "case-insensitive)" },
	{ "limit", 0, OPT_LIMIT, "N",
	  "at most N events (0: all)" },
	{ "json", 0, OPT_JSON, NULL,
	  "one JSON object per line: jseq, time, received,\n"
	  "source, agent, host, file, flags, drill, message" },
};

static const struct cli_optgroup events_groups[] = {
	{ NULL, CLI_TABLE(events_opts) },
};

const struct cli_help cmd_events_help = {
	"usage: tocsin events [--since DUR|TIME] [--until DUR|TIME] [--host HOST]\n"
	"                     [--grep REGEX] [--limit N] [--json]\n"
	"                     [-c CONFIG] [-D DATADIR]\n"
	"\n"
	"List the raw events the collector journaled, oldest first (all that\n"
	"match unless --limit).  With --limit N and no --since: the N newest\n"
	"that match, still printed oldest first.  Reads DATADIR/journal.\n",
	CLI_TABLE(events_groups),
	"Table columns: TIME HOST AGENT FILE MESSAGE (control bytes escaped,\n"
	"long values cut to fit the terminal).  Exit status 0 even when nothing\n"
	"matches; 2 on a bad option, a bad pattern or a missing data directory.\n"
	"\n"
	"Examples:\n"
	"  tocsin events --limit 50\n"
	"  tocsin events --since 15m --host web01\n"
	"  tocsin events --grep 'Failed password for (invalid user )?\\w+' --json\n",
};

static const struct table_col event_cols[] = {
	{ "TIME",    20,  20, 0, 0 },
	{ "HOST",    24,   8, 1, 0 },
	{ "AGENT",   16,   6, 1, 0 },
	{ "FILE",    32,   8, 1, 0 },
	{ "MESSAGE", 400, 16, 1, 0 },
};
#define NEVENT_COLS (sizeof(event_cols) / sizeof(event_cols[0]))

struct events_run {
	/* filters */
	uint64_t		 since_us, until_us;	/* 0: no bound */
	const char		*host;
	pcre2_code		*re;
	pcre2_match_data	*md;
	pcre2_match_context	*mctx;
	uint64_t		 limit;			/* 0: all */
	/* output */
	int			 json;
	table_t			*table;
	uint64_t		 n;		/* events shown or collected */
	uint64_t		 grep_failed;	/* match errors (limits hit) */
	int			 rc;		/* first error in a callback */
	/* --limit without --since: newest first, kept to print reversed */
	struct event_copy	*keep;
	size_t			 nkeep, capkeep;
};

/* An event copied out of the read transaction (strings in one block). */
struct event_copy {
	struct jevent	 ev;
	char		*mem;
};

static const char *source_name(uint8_t src)
{
	switch (src) {
	case JSRC_AGENT:	return "agent";
	case JSRC_SYSLOG_UDP:	return "syslog_udp";
	case JSRC_SYSLOG_TCP:	return "syslog_tcp";
	case JSRC_REPLAY:	return "replay";
	case JSRC_INTERNAL:	return "internal";
	default:		return "unknown";
	}
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		len = 2;
		cp = p[0] & 0x1F;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		len = 3;
		cp = p[0] & 0x0F;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return len;
}

/* A JSON string of untrusted bytes: as they are when valid UTF-8 (JSON
 * escapes control bytes itself); otherwise each invalid byte becomes the
 * text \xNN, as escape_text shows it.  NULL when out of memory. */
static json_t *json_text(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *v;
	char *buf;
	size_t i = 0, o = 0, n;

	if ((v = json_stringn(s, len)) != NULL)
		return v;
	if (len > (SIZE_MAX - 1) / 4 || (buf = malloc(len * 4 + 1)) == NULL)
		return NULL;
	while (i < len) {
		if (p[i] != 0 && (n = utf8_seq_len(p + i, len - i)) > 0) {
			memcpy(buf + o, p + i, n);
			o += n;
			i += n;
		} else {
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", p[i]);
			i++;
		}
	}
	buf[o] = '\0';
	v = json_stringn(buf, o);
	free(buf);
	return v;
}

static int event_print_json(const struct jevent *ev)
{
	json_t *o, *flags;
	char t[40], r[40];
	char *s;
	int rc = 0;

	format_rfc3339(ev->time_us, t, sizeof(t));
	format_rfc3339(ev->recv_us, r, sizeof(r));
	flags = json_array();
	if (flags != NULL && (ev->flags & EV_TRUNCATED))
		rc |= json_array_append_new(flags, json_string("truncated"));
	if (flags != NULL && (ev->flags & EV_BADUTF8))
		rc |= json_array_append_new(flags, json_string("bad_utf8"));
	if (flags != NULL && (ev->flags & EV_CTRL))
		rc |= json_array_append_new(flags, json_string("ctrl"));
	o = json_pack("{s:I, s:s, s:s, s:s, s:o?, s:o?, s:o?, s:o?, s:o?, s:o?}",
	    "jseq", (json_int_t)ev->jseq,
	    "time", t,
	    "received", r,
	    "source", source_name(ev->source),
	    "agent", json_text(ev->agent, ev->agent_len),
	    "host", json_text(ev->host, ev->host_len),
	    "file", json_text(ev->file, ev->file_len),
	    "flags", flags,
	    "drill", json_text(ev->drill, ev->drill_len),
	    "message", json_text(ev->raw, ev->raw_len));
	if (o == NULL || rc != 0) {
		json_decref(o);
		return TS_ENOMEM;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return TS_ENOMEM;
	cli_print_line(s, strlen(s));
	free(s);
	return 0;
}

static int event_print_row(table_t *t, const struct jevent *ev)
{
	char tbuf[40];
	int rc = 0;

	cli_format_time_s(ev->time_us, tbuf, sizeof(tbuf));
	rc |= table_cell_str(t, tbuf);
	rc |= ev->host_len ? table_cell(t, ev->host, ev->host_len) :
	    table_cell(t, "-", 1);
	rc |= ev->agent_len ? table_cell(t, ev->agent, ev->agent_len) :
	    table_cell(t, "-", 1);
	rc |= ev->file_len ? table_cell(t, ev->file, ev->file_len) :
	    table_cell(t, "-", 1);
	rc |= table_cell(t, ev->raw, ev->raw_len);
	return rc != 0 ? TS_ENOMEM : 0;
}

static int event_print(struct events_run *r, const struct jevent *ev)
{
	return r->json ? event_print_json(ev) : event_print_row(r->table, ev);
}

/* 1 if ev passes every filter. */
static int event_matches(struct events_run *r, const struct jevent *ev)
{
	int m;

	if (r->since_us != 0 && ev->time_us < r->since_us)
		return 0;
	if (r->until_us != 0 && ev->time_us > r->until_us)
		return 0;
	if (r->host != NULL && (ev->host_len != strlen(r->host) ||
	    memcmp(ev->host, r->host, ev->host_len) != 0))
		return 0;
	if (r->re != NULL) {
		m = pcre2_match(r->re, (PCRE2_SPTR)ev->raw, ev->raw_len, 0, 0,
		    r->md, r->mctx);
		if (m == PCRE2_ERROR_NOMATCH)
			return 0;
		if (m < 0) {
			/* match or depth limit: counted and reported */
			r->grep_failed++;
			return 0;
		}
	}
	return 1;
}

static int forward_cb(const struct jevent *ev, void *arg)
{
	struct events_run *r = arg;
	int rc;

	if (!event_matches(r, ev))
		return 0;
	if ((rc = event_print(r, ev)) != 0) {
		r->rc = rc;
		return 1;
	}
	r->n++;
	return r->limit != 0 && r->n >= r->limit ? 1 : 0;
}

static int copy_event(const struct jevent *ev, struct event_copy *c)
{
	size_t total = ev->agent_len + ev->host_len + ev->file_len +
	    ev->drill_len + ev->raw_len + 1;
	char *p;

	if ((c->mem = malloc(total)) == NULL)
		return TS_ENOMEM;
	c->ev = *ev;
	p = c->mem;
#define COPY_FIELD(f) do { \
		memcpy(p, ev->f, ev->f##_len); c->ev.f = p; p += ev->f##_len; \
	} while (0)
	COPY_FIELD(agent);
	COPY_FIELD(host);
	COPY_FIELD(file);
	COPY_FIELD(drill);
	COPY_FIELD(raw);
#undef COPY_FIELD
	return 0;
}

static int reverse_cb(const struct jevent *ev, void *arg)
{
	struct events_run *r = arg;
	struct event_copy *k;
	size_t cap;

	if (!event_matches(r, ev))
		return 0;
	if (r->nkeep == r->capkeep) {
		cap = r->capkeep ? r->capkeep * 2 : 64;
		if (cap > r->limit)
			cap = (size_t)r->limit;
		if ((k = realloc(r->keep, cap * sizeof(*k))) == NULL) {
			r->rc = TS_ENOMEM;
			return 1;
		}
		r->keep = k;
		r->capkeep = cap;
	}
	if ((r->rc = copy_event(ev, &r->keep[r->nkeep])) != 0)
		return 1;
	r->nkeep++;
	return r->nkeep >= r->limit ? 1 : 0;
}

/* Compile --grep: 0, or 2 after "invalid --grep 'RE': why at offset N". */
static int grep_compile(const struct cli_cmd *cmd, struct events_run *r,
    const char *pattern)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	char eb[512];
	int err;

	r->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
	if (r->re == NULL) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		escape_text(pattern, strlen(pattern), eb, sizeof(eb));
		return cli_usage_error(cmd, "invalid --grep '%s': %s at offset "
		    "%zu", eb, (const char *)msg, (size_t)off);
	}
	(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	r->md = pcre2_match_data_create_from_pattern(r->re, NULL);
	r->mctx = pcre2_match_context_create(NULL);
	if (r->md == NULL || r->mctx == NULL) {
		cli_err(cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	pcre2_set_match_limit(r->mctx, PCRE2_MATCH_LIMIT);
	pcre2_set_depth_limit(r->mctx, PCRE2_DEPTH_LIMIT);
	return 0;
}

static void events_run_free(struct events_run *r)
{
	size_t i;

	for (i = 0; i < r->nkeep; i++)
		free(r->keep[i].mem);
	free(r->keep);
	pcre2_match_data_free(r->md);
	pcre2_match_context_free(r->mctx);
	pcre2_code_free(r->re);
	table_free(&r->table);
}

int cmd_events(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	struct events_run r;
	journal_t *j = NULL;
	const char *dd, *grep = NULL;
	char *path = NULL;
	uint64_t now = now_us();
	size_t i;
	int opt, rc, exit_rc = CLI_EXIT_OK;

	memset(&r, 0, sizeof(r));
	cli_opt_init(&p, c, cmd, CLI_TABLE(events_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_SINCE:
			if (cli_parse_time(cmd, "--since", p.arg, now,
			    &r.since_us) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_UNTIL:
			if (cli_parse_time(cmd, "--until", p.arg, now,
			    &r.until_us) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_HOST:
			r.host = p.arg;
			break;
		case OPT_GREP:
			grep = p.arg;
			break;
		case OPT_LIMIT:
			if (cli_parse_number(cmd, "--limit", p.arg, SIZE_MAX,
			    &r.limit) != 0)
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			r.json = 1;
			break;
		default:
			return cli_usage_error(cmd, "unhandled option");
		}
	}
	if ((rc = cli_no_args(cmd, argc, argv)) != 0)
		return rc;
	if (r.since_us != 0 && r.until_us != 0 && r.since_us > r.until_us)
		return cli_usage_error(cmd, "--since is after --until");
	if (grep != NULL && (rc = grep_compile(cmd, &r, grep)) != 0) {
		events_run_free(&r);
		return rc;
	}
	if ((dd = cli_datadir_existing(c, cmd)) == NULL) {
		events_run_free(&r);
		return CLI_EXIT_USAGE;
	}
	if ((path = datadir_path(dd, DD_JOURNAL)) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	rc = journal_open(path, JOURNAL_RDONLY, 0, &j);
	if (rc == TS_ENOTFOUND) {
		cli_err(cmd, "no journal in %s yet (has tocsind run?): no "
		    "events", path);
		goto out;
	}
	if (rc != 0)
		goto fail;
	if (!r.json && (r.table = table_new(event_cols, NEVENT_COLS)) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}

	if (r.limit != 0 && r.since_us == 0) {
		/* The N newest: backwards from the end, then printed in
		 * journal order. */
		uint64_t last = 0;
		rc = journal_last_seq(j, &last);
		if (rc == 0 && last != 0)
			rc = journal_scan_reverse(j, last, 0, reverse_cb, &r);
		if (rc == TS_ESTOP)
			rc = 0;
		if (rc == 0)
			rc = r.rc;
		for (i = r.nkeep; rc == 0 && i-- > 0;) {
			rc = event_print(&r, &r.keep[i].ev);
			r.n++;
		}
	} else {
		rc = journal_scan(j, 1, 0, forward_cb, &r, NULL);
		if (rc == TS_ESTOP)
			rc = 0;
		if (rc == 0)
			rc = r.rc;
	}
	if (rc != 0)
		goto fail;
	table_free(&r.table);
	if (r.grep_failed != 0)
		cli_err(cmd, "%llu event(s) not searched to the end: the "
		    "pattern hit its match limit", (unsigned long long)
		    r.grep_failed);
	if (r.n == 0 && !r.json)
		cli_err(cmd, "no events");
	goto out;

fail:
	table_free(&r.table);
	cli_err(cmd, "reading events from %s: %s", path ? path : dd,
	    ts_strerror(rc));
	exit_rc = CLI_EXIT_FAIL;
out:
	journal_close(&j);
	free(path);
	events_run_free(&r);
	return exit_rc;
}
