/*
 * cmd_record.c - `tocsin record`: write a recording (the JSON Lines format
 * `tocsin replay` reads, described in cmd_replay.c) from the events of the
 * journal, or from a plain log file whose times come from the syslog
 * headers.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_int.h"
#include "common/err.h"
#include "collector/journal.h"
#include "common/limits.h"
#include "rules/rules_int.h"
#include "common/util.h"

/* Events one recording may hold (they are sorted in memory). */
#define MAX_RECORD_EVENTS	5000000
/* Largest log file converted with --from-log. */
#define MAX_FROM_LOG_BYTES	(512ULL * 1024 * 1024)
/* Room for format_us (the compiler cannot bound struct tm's fields). */
#define US_TIME_BYTES		96
/* --host options. */
#define MAX_RECORD_HOSTS	64


enum { OPT_SINCE = 256, OPT_UNTIL, OPT_HOST, OPT_FROM_LOG, OPT_DRILLS };

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
	"day ahead); a line without a header time is an error.  Lines are\n"
	"sorted by time (stable).\n",
	CLI_TABLE(record_groups),
	"Examples:\n"
	"  tocsin record --since 2h --host web01 -o incident-42.jsonl\n"
	"  tocsin record --from-log /var/log/auth.log --host web01 -o auth.jsonl\n",
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
			cli_err(cmd, "%s:%zu: no syslog timestamp at the start of "
			    "the line (nothing written)", eb, lineno);
			exit_rc = CLI_EXIT_USAGE;
			goto out;
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
	journal_t *j = NULL;
	const char *from = NULL, *output = NULL, *dd;
	char *path = NULL, *source = NULL, *tmp = NULL;
	FILE *fp = stdout;
	uint64_t now = now_us();
	size_t i;
	int opt, rc, exit_rc = CLI_EXIT_FAIL;

	memset(&r, 0, sizeof(r));
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
	if (from != NULL) {
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
		if ((path = cli_path(dd, "journal")) == NULL)
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
		if ((tmp = xasprintf("%s.tmp", output)) == NULL)
			goto oom;
		if ((fp = fopen(tmp, "w")) == NULL) {
			cli_err(cmd, "cannot write %s: %s", output,
			    strerror(errno));
			fp = stdout;
			goto out;
		}
	}
	rc = write_recording(fp, &r, source);
	if (fp != stdout) {
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
	journal_close(&j);
	free(path);
	free(source);
	free(tmp);
	return exit_rc;
}
