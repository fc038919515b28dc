/*
 * cmd_record.c - `tocsin record`: write a recording (the JSON Lines format
 * `tocsin replay` reads, described in cmd_replay.c) from the events of the
 * journal, or from a plain log file whose times come from the syslog
 * headers.
 */
/* memmem(3): glibc declares it only with _GNU_SOURCE. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "common/datadir.h"
#include "common/err.h"
#include "collector/journal.h"
#include "common/limits.h"
#include "rules/decode.h"
#include "rules/rules.h"
#include "common/util.h"

/* Events one recording may hold (they are sorted in memory). */
#define MAX_RECORD_EVENTS	5000000
/* Largest log file converted with --from-log. */
#define MAX_FROM_LOG_BYTES	(512ULL * 1024 * 1024)
/* Room for format_us (the compiler cannot bound struct tm's fields). */
#define US_TIME_BYTES		96
/* --host options. */
#define MAX_RECORD_HOSTS	64


enum { OPT_SINCE = 256, OPT_UNTIL, OPT_HOST, OPT_FROM_LOG, OPT_DRILLS,
	OPT_FROM_EVTX };

static const struct cli_opt record_opts[] = {
	{ "since", 0, OPT_SINCE, "DUR|TIME",
	  "events at or after this time" },
	{ "until", 0, OPT_UNTIL, "DUR|TIME",
	  "events at or before this time" },
	{ "host", 0, OPT_HOST, "H",
	  "only this host (repeatable); with --from-log the\n"
	  "host the events are recorded for (required)" },
	{ "drills", 0, OPT_DRILLS, NULL,
	  "include events replayed in drills" },
	{ "from-log", 0, OPT_FROM_LOG, "FILE",
	  "convert a plain log file instead" },
	{ "from-evtx", 0, OPT_FROM_EVTX, "FILE",
	  "convert a Windows .evtx file instead" },
	{ "output", 'o', 'o', "FILE",
	  "write here (default: standard output)" },
};

static const struct cli_optgroup record_groups[] = {
	{ NULL, CLI_TABLE(record_opts) },
};

const struct cli_help cmd_record_help = {
	"usage: tocsin record [--since DUR|TIME] [--until DUR|TIME] [--host H]...\n"
	"                     [--drills] [-o FILE] [-c CONFIG] [-D DATADIR]\n"
	"       tocsin record --from-log FILE --host H [-o FILE]\n"
	"       tocsin record --from-evtx FILE.evtx [--host H] [-o FILE]\n"
	"\n"
	"Write a recording: JSON Lines, first a header line\n"
	"  {\"tocsin_recording\": 1, \"created\": TIME, \"source\": \"...\",\n"
	"   \"events\": N, \"first\": TIME, \"last\": TIME, \"hosts\": [...]}\n"
	"then one event per line, in time order:\n"
	"  {\"time\": TIME, \"host\": \"...\", \"agent\": \"...\", \"source\": \"...\",\n"
	"   \"file\": \"...\", \"raw\": \"the raw line\"}\n"
	"(times RFC 3339 UTC with microseconds).  `tocsin replay` sends it back\n"
	"through the pipeline.  Bytes of a raw line that are not valid UTF-8\n"
	"are written as the text \\xNN.\n"
	"\n"
	"From the journal (the default): the events whose time (when the agent\n"
	"read the line, or the syslog time) is within --since/--until, from the\n"
	"hosts given (all when none).  Events of drills are left out unless\n"
	"--drills.\n"
	"\n"
	"From a log file (--from-log FILE --host H): every non-empty line, its\n"
	"time taken from its syslog header (a BSD time without a year is in\n"
	"the current year, or the previous one if that would be more than a\n"
	"day ahead), else from the time the record carries (an access log's\n"
	"[dd/Mon/yyyy:hh:mm:ss +zzzz], a W3C, nginx or Apache error line's\n"
	"leading time, audit(SECONDS.mmm:); one without a zone read as UTC);\n"
	"a line with neither is an error.  Lines are sorted by time (stable).\n"
	"\n"
	"From a Windows event log file (--from-evtx FILE.evtx): every record\n"
	"readable, as its Event XML on one line, at its TimeCreated, for the\n"
	"host named in its Computer; with --host H, for H (the Computer of\n"
	"each event is rewritten to H, so that the engine credits H too).  A\n"
	"damaged file is an error naming what could not be read and where.\n",
	CLI_TABLE(record_groups),
	"Examples:\n"
	"  tocsin record --since 2h --host web01 -o incident-42.jsonl\n"
	"  tocsin record --from-log /var/log/auth.log --host web01 -o auth.jsonl\n"
	"  tocsin record --from-evtx Security.evtx --host dc01 -o dc01.jsonl\n",
};

struct rec_out {
	uint64_t	 time_us;
	size_t		 order;		/* input order: stable sort */
	char		*line;		/* the event's JSON line (no newline) */
};

struct record_run {
	const char	*hosts[MAX_RECORD_HOSTS];
	size_t		 nhosts;
	uint64_t	 since_us, until_us;
	int		 drills;
	struct rec_out	*v;
	size_t		 n, cap;
	int		 rc;
};

/* RFC 3339 UTC with microseconds. */
static void format_us(uint64_t us, char *buf, size_t buflen)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, buflen, "1970-01-01T00:00:00.000000Z");
		return;
	}
	snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned)(us % 1000000));
}

/* A JSON string of untrusted bytes: as is when valid UTF-8, else each
 * invalid byte (and NUL) becomes the text \xNN.  NULL when out of memory. */
static json_t *json_text(const char *s, size_t len)
{
	json_t *v;
	char *buf;
	size_t i, o = 0;

	if (memchr(s, '\0', len) == NULL && (v = json_stringn(s, len)) != NULL)
		return v;
	if (len > (SIZE_MAX - 1) / 4 || (buf = malloc(len * 4 + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		/* ASCII stays; anything else is tried as UTF-8 byte-wise by
		 * jansson below, so escape only NUL and bytes >= 0x80 when
		 * the whole string failed. */
		if (ch != 0 && ch < 0x80)
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
	}
	buf[o] = '\0';
	v = json_stringn(buf, o);
	free(buf);
	return v;
}

static int push(struct record_run *r, uint64_t time_us, json_t *o)
{
	char *s;

	if (o == NULL)
		return TS_ENOMEM;
	if (r->n >= MAX_RECORD_EVENTS) {
		json_decref(o);
		return TS_ETOOBIG;
	}
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 1024;
		struct rec_out *nv = realloc(r->v, ncap * sizeof(*nv));
		if (nv == NULL) {
			json_decref(o);
			return TS_ENOMEM;
		}
		r->v = nv;
		r->cap = ncap;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return TS_ENOMEM;
	r->v[r->n].time_us = time_us;
	r->v[r->n].order = r->n;
	r->v[r->n].line = s;
	r->n++;
	return 0;
}

static const char *source_name(uint8_t src)
{
	switch (src) {
	case JSRC_AGENT:	return "agent";
	case JSRC_SYSLOG_UDP:	return "syslog_udp";
	case JSRC_SYSLOG_TCP:	return "syslog_tcp";
	case JSRC_REPLAY:	return "replay";
	case JSRC_INTERNAL:	return "internal";
	default:		return "other";
	}
}

static int journal_cb(const struct jevent *ev, void *arg)
{
	struct record_run *r = arg;
	char t[US_TIME_BYTES];
	size_t i;
	json_t *o;

	if (r->since_us != 0 && ev->time_us < r->since_us)
		return 0;
	if (r->until_us != 0 && ev->time_us > r->until_us)
		return 0;
	if (!r->drills && ev->drill_len != 0)
		return 0;
	if (r->nhosts > 0) {
		for (i = 0; i < r->nhosts; i++)
			if (strlen(r->hosts[i]) == ev->host_len &&
			    memcmp(r->hosts[i], ev->host, ev->host_len) == 0)
				break;
		if (i == r->nhosts)
			return 0;
	}
	format_us(ev->time_us, t, sizeof(t));
	o = json_pack("{s:s, s:o?, s:o?, s:s, s:o?, s:o?}",
	    "time", t,
	    "host", json_text(ev->host, ev->host_len),
	    "agent", json_text(ev->agent, ev->agent_len),
	    "source", source_name(ev->source),
	    "file", json_text(ev->file, ev->file_len),
	    "raw", json_text(ev->raw, ev->raw_len));
	if ((r->rc = push(r, ev->time_us, o)) != 0)
		return 1;
	return 0;
}

static int cmp_out(const void *a, const void *b)
{
	const struct rec_out *x = a, *y = b;

	if (x->time_us != y->time_us)
		return x->time_us < y->time_us ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Convert a log file: times from the syslog header, through the rule
 * language's header parser (syslog_parse, the one the engine uses; the
 * public rules_eval would need a loaded rule set just to read a time).
 * CLI_EXIT_*. */
static int from_log(const struct cli_cmd *cmd, struct record_run *r,
    const char *path, const char *host)
{
	struct syslog_hdr h;
	char *buf = NULL, eb[512];
	size_t len = 0, off = 0, lineno = 0, llen;
	uint64_t now = now_us();
	int rc, exit_rc = CLI_EXIT_FAIL;

	escape_text(path, strlen(path), eb, sizeof(eb));
	rc = read_file(path, MAX_FROM_LOG_BYTES, &buf, &len);
	if (rc != 0) {
		cli_err(cmd, "%s: cannot read: %s", eb, rc == TS_ETOOBIG ?
		    "larger than the limit" : strerror(errno));
		return CLI_EXIT_USAGE;
	}
	while (off < len) {
		const char *line = buf + off, *nl;
		char t[US_TIME_BYTES];
		json_t *o;

		nl = memchr(line, '\n', len - off);
		llen = nl ? (size_t)(nl - line) : len - off;
		off += llen + (nl != NULL);
		lineno++;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			continue;
		if (llen > MAX_LINE_BYTES) {
			cli_err(cmd, "%s:%zu: line longer than %d bytes", eb,
			    lineno, MAX_LINE_BYTES);
			exit_rc = CLI_EXIT_USAGE;
			goto out;
		}
		syslog_parse(line, llen, now, &h);
		if (!h.has_time) {
			/* a log file without syslog headers: the time the
			 * record carries (access, error, W3C, audit), as a
			 * wall clock when it gives no zone */
			struct rec_time rt;

			if (!cli_record_time(line, llen, &rt) ||
			    evtime_parse(rt.fmt, line + rt.pos, rt.len,
			    EVTIME_ZONE_UTC, 0, NULL, now, &h.time_us) != 0) {
				cli_err(cmd, "%s:%zu: no syslog timestamp at "
				    "the start of the line and no time in the "
				    "record (nothing written)", eb, lineno);
				exit_rc = CLI_EXIT_USAGE;
				goto out;
			}
		}
		format_us(h.time_us, t, sizeof(t));
		o = json_pack("{s:s, s:s, s:s, s:s, s:o?, s:o?}",
		    "time", t, "host", host, "agent", "", "source", "log",
		    "file", json_text(path, strlen(path)),
		    "raw", json_text(line, llen));
		if ((rc = push(r, h.time_us, o)) != 0) {
			cli_err(cmd, "%s:%zu: %s", eb, lineno, rc ==
			    TS_ETOOBIG ? "too many lines" : "out of memory");
			goto out;
		}
	}
	exit_rc = CLI_EXIT_OK;
out:
	free(buf);
	return exit_rc;
}

/* ---- --from-evtx ------------------------------------------------------------ */

struct evtx_conv {
	const struct cli_cmd	*cmd;
	struct record_run	*r;
	const char		*path;
	const char		*host;		/* --host, or NULL */
	struct winevt		*dec;
	struct field_arena	 arena;
	char			*hosts[MAX_RECORD_HOSTS];	/* Computers */
	size_t			 nhosts;
	int			 rc;
};

static int
ignore_field_cb(void *arg, const char *name, size_t nl, const char *val,
    size_t vl)
{
	(void)arg; (void)name; (void)nl; (void)val; (void)vl;
	return 0;
}

/* xml with the text of its <Computer> element replaced by host (malloc'd,
 * caller frees), or NULL when it has none or on ENOMEM. */
static char *
xml_set_computer(const char *xml, size_t len, const char *host, size_t *out)
{
	const char *a = memmem(xml, len, "<Computer>", 10), *b;
	size_t hl = strlen(host), n;
	char *x;

	if (a == NULL)
		return NULL;
	a += 10;
	if ((b = memmem(a, len - (size_t)(a - xml), "</Computer>", 11)) ==
	    NULL)
		return NULL;
	n = (size_t)(a - xml) + hl + (len - (size_t)(b - xml));
	if ((x = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(x, xml, (size_t)(a - xml));
	memcpy(x + (a - xml), host, hl);
	memcpy(x + (a - xml) + hl, b, len - (size_t)(b - xml));
	x[n] = '\0';
	*out = n;
	return x;
}

static int
evtx_conv_cb(void *arg, uint64_t id, uint64_t offset, const char *xml,
    size_t len)
{
	struct evtx_conv *ec = arg;
	struct winevt_info wi;
	char t[US_TIME_BYTES], host[MAX_HOST_BYTES + 1];
	char *rewritten = NULL;
	size_t i;
	json_t *o;
	int rc;

	ec->arena.len = 0;
	rc = winevt_decode(ec->dec, xml, len, &ec->arena, ignore_field_cb,
	    NULL, &wi);
	if (rc != 0 || !wi.has_time) {
		cli_err(ec->cmd, "%s: record %llu at offset %llu: %s", ec->path,
		    (unsigned long long)id, (unsigned long long)offset,
		    rc != 0 ? "Event XML that does not decode" :
		    "no TimeCreated");
		ec->rc = CLI_EXIT_USAGE;
		return 0;	/* read on: every problem is reported */
	}
	if (ec->host != NULL) {
		snprintf(host, sizeof(host), "%s", ec->host);
		if ((rewritten = xml_set_computer(xml, len, ec->host,
		    &len)) != NULL)
			xml = rewritten;
	} else if (wi.computer != NULL && wi.computer_len > 0 &&
	    wi.computer_len <= MAX_HOST_BYTES) {
		memcpy(host, wi.computer, wi.computer_len);
		host[wi.computer_len] = '\0';
	} else {
		cli_err(ec->cmd, "%s: record %llu: no Computer (give --host)",
		    ec->path, (unsigned long long)id);
		ec->rc = CLI_EXIT_USAGE;
		return 0;
	}
	for (i = 0; i < ec->nhosts; i++)
		if (strcmp(ec->hosts[i], host) == 0)
			break;
	if (i == ec->nhosts && ec->nhosts < MAX_RECORD_HOSTS &&
	    (ec->hosts[ec->nhosts] = strdup(host)) != NULL) {
		ec->r->hosts[ec->r->nhosts++] = ec->hosts[ec->nhosts];
		ec->nhosts++;
	}
	format_us(wi.time_us, t, sizeof(t));
	o = json_pack("{s:s, s:s, s:s, s:s, s:o?, s:o?}",
	    "time", t, "host", host, "agent", "", "source", "evtx",
	    "file", json_text(ec->path, strlen(ec->path)),
	    "raw", json_text(xml, len));
	free(rewritten);
	if ((rc = push(ec->r, wi.time_us, o)) != 0) {
		cli_err(ec->cmd, "%s: record %llu: %s", ec->path,
		    (unsigned long long)id, rc == TS_ETOOBIG ?
		    "too many events" : "out of memory");
		ec->rc = CLI_EXIT_FAIL;
		return TS_ESTOP;
	}
	return 0;
}

static void
evtx_conv_problem_cb(void *arg, uint64_t offset, const char *msg)
{
	struct evtx_conv *ec = arg;

	cli_err(ec->cmd, "%s: offset %llu: %s", ec->path,
	    (unsigned long long)offset, msg);
}

/* Convert an .evtx file.  CLI_EXIT_*; the Computers found are kept in
 * *ec (freed by the caller with evtx_conv_free). */
static int
from_evtx(struct evtx_conv *ec)
{
	struct evtx_sink sink = { evtx_conv_cb, evtx_conv_problem_cb, ec };
	struct evtx_stats st;
	int rc;

	ec->arena.cap = FIELD_ARENA_BYTES;
	if (winevt_new(&ec->dec) != 0 ||
	    (ec->arena.buf = malloc(ec->arena.cap)) == NULL) {
		cli_err(ec->cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	rc = evtx_read(ec->path, &sink, &st);
	if (ec->rc != 0)
		return ec->rc;
	if (rc != 0)
		return rc == TS_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	if (st.damaged || st.failed) {
		cli_err(ec->cmd, "%s: damaged: %llu record%s read, %llu "
		    "unreadable (see above); nothing written", ec->path,
		    (unsigned long long)st.records, st.records == 1 ? "" : "s",
		    (unsigned long long)st.failed);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

static void
evtx_conv_free(struct evtx_conv *ec)
{
	for (size_t i = 0; i < ec->nhosts; i++)
		free(ec->hosts[i]);
	winevt_free(&ec->dec);
	free(ec->arena.buf);
}

/* Header then events to fp.  0 or TS_EIO. */
static int write_recording(FILE *fp, struct record_run *r,
    const char *source)
{
	json_t *h, *hosts;
	char created[US_TIME_BYTES], first[US_TIME_BYTES], last[US_TIME_BYTES];
	char *s;
	size_t i;

	format_us(now_us(), created, sizeof(created));
	format_us(r->n ? r->v[0].time_us : 0, first, sizeof(first));
	format_us(r->n ? r->v[r->n - 1].time_us : 0, last, sizeof(last));
	hosts = json_array();
	for (i = 0; hosts != NULL && i < r->nhosts; i++)
		json_array_append_new(hosts, json_string(r->hosts[i]));
	h = json_pack("{s:i, s:s, s:o?, s:I, s:s, s:s, s:o?}",
	    "tocsin_recording", RECORDING_VERSION, "created", created,
	    "source", json_text(source, strlen(source)),
	    "events", (json_int_t)r->n, "first", first, "last", last,
	    "hosts", hosts);
	if (h == NULL || (s = json_dumps(h, JSON_COMPACT |
	    JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(h);
		return TS_ENOMEM;
	}
	json_decref(h);
	fprintf(fp, "%s\n", s);
	free(s);
	for (i = 0; i < r->n; i++)
		fprintf(fp, "%s\n", r->v[i].line);
	if (fflush(fp) != 0 || ferror(fp))
		return TS_EIO;
	return 0;
}

int cmd_record(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	struct record_run r;
	struct evtx_conv ec;
	journal_t *j = NULL;
	const char *from = NULL, *output = NULL, *dd;
	char *path = NULL, *source = NULL, *tmp = NULL;
	FILE *fp = stdout;
	uint64_t now = now_us();
	size_t i;
	int opt, rc, exit_rc = CLI_EXIT_FAIL;

	memset(&r, 0, sizeof(r));
	memset(&ec, 0, sizeof(ec));
	cli_opt_init(&p, c, cmd, CLI_TABLE(record_opts), 0, argc, argv);
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
			if (r.nhosts == MAX_RECORD_HOSTS)
				return cli_usage_error(cmd, "at most %d --host",
				    MAX_RECORD_HOSTS);
			if (p.arg[0] == '\0' || strlen(p.arg) >
			    MAX_HOST_BYTES)
				return cli_usage_error(cmd, "invalid --host: 1 "
				    "to %d bytes", MAX_HOST_BYTES);
			r.hosts[r.nhosts++] = p.arg;
			break;
		case OPT_FROM_LOG:
			from = p.arg;
			break;
		case OPT_FROM_EVTX:
			ec.path = p.arg;
			break;
		case OPT_DRILLS:
			r.drills = 1;
			break;
		case 'o':
			output = p.arg;
			break;
		default:
			return cli_usage_error(cmd, "unhandled option");
		}
	}
	if ((rc = cli_no_args(cmd, argc, argv)) != 0)
		return rc;
	if (r.since_us != 0 && r.until_us != 0 && r.since_us > r.until_us)
		return cli_usage_error(cmd, "--since is after --until");
	if (ec.path != NULL) {
		if (from != NULL || r.nhosts > 1 || r.since_us || r.until_us ||
		    r.drills)
			return cli_usage_error(cmd, "--from-evtx takes at most "
			    "one --host and no --from-log, --since, --until or "
			    "--drills");
		ec.host = r.nhosts == 1 ? r.hosts[0] : NULL;
		r.nhosts = 0;
		ec.cmd = cmd;
		ec.r = &r;
		if ((exit_rc = from_evtx(&ec)) != CLI_EXIT_OK)
			goto out;
		exit_rc = CLI_EXIT_FAIL;
		source = xasprintf("evtx %s", ec.path);
	} else if (from != NULL) {
		if (r.nhosts != 1)
			return cli_usage_error(cmd, "--from-log needs exactly "
			    "one --host (the host the log is from)");
		if (r.since_us || r.until_us || r.drills)
			return cli_usage_error(cmd, "--since, --until and "
			    "--drills apply to the journal, not --from-log");
		if ((exit_rc = from_log(cmd, &r, from, r.hosts[0])) !=
		    CLI_EXIT_OK)
			goto out;
		exit_rc = CLI_EXIT_FAIL;
		source = xasprintf("log %s", from);
	} else {
		if ((dd = cli_datadir_existing(c, cmd)) == NULL) {
			exit_rc = CLI_EXIT_USAGE;
			goto out;
		}
		if ((path = datadir_path(dd, DD_JOURNAL)) == NULL)
			goto oom;
		rc = journal_open(path, JOURNAL_RDONLY, 0, &j);
		if (rc == TS_ENOTFOUND) {
			cli_err(cmd, "no journal in %s yet (has tocsind run?)",
			    path);
			goto out;
		}
		if (rc == 0)
			rc = journal_scan(j, 1, 0, journal_cb, &r, NULL);
		if (rc == TS_ESTOP)
			rc = 0;
		if (rc == 0)
			rc = r.rc;
		if (rc != 0) {
			cli_err(cmd, "reading %s: %s", path, rc == TS_ETOOBIG ?
			    "more events than a recording holds (narrow with "
			    "--since/--until/--host)" : ts_strerror(rc));
			goto out;
		}
		source = xasprintf("journal %s", dd);
	}
	if (source == NULL)
		goto oom;
	if (r.n == 0) {
		cli_err(cmd, "no events to record");
		goto out;
	}
	qsort(r.v, r.n, sizeof(*r.v), cmp_out);
	if (output != NULL) {
		int fd;

		/* A private file of a fresh name beside the target (mkstemp:
		 * O_EXCL, mode 0600), renamed over it when whole: a link
		 * planted at a guessable name cannot redirect the write, and
		 * the log lines are never readable by others. */
		if ((tmp = xasprintf("%s.XXXXXX", output)) == NULL)
			goto oom;
		if ((fd = mkstemp(tmp)) < 0 ||
		    (fp = fdopen(fd, "w")) == NULL) {
			cli_err(cmd, "cannot write %s: %s", output,
			    strerror(errno));
			if (fd >= 0) {
				close(fd);
				(void)remove(tmp);
			}
			fp = stdout;
			goto out;
		}
	}
	rc = write_recording(fp, &r, source);
	if (fp != stdout) {
		if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
			rc = TS_EIO;
		if (fclose(fp) != 0)
			rc = TS_EIO;
		fp = stdout;
		if (rc == 0 && rename(tmp, output) != 0)
			rc = TS_EIO;
		if (rc != 0)
			(void)remove(tmp);
	}
	if (rc != 0) {
		cli_err(cmd, "cannot write the recording: %s", ts_strerror(rc));
		goto out;
	}
	if (output != NULL)
		cli_err(cmd, "wrote %zu events to %s", r.n, output);
	exit_rc = CLI_EXIT_OK;
	goto out;
oom:
	cli_err(cmd, "out of memory");
out:
	for (i = 0; i < r.n; i++)
		free(r.v[i].line);
	free(r.v);
	evtx_conv_free(&ec);
	journal_close(&j);
	free(path);
	free(source);
	free(tmp);
	return exit_rc;
}
