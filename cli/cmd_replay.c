/*
 * cmd_replay.c - `tocsin replay`: send a recording through the real pipeline
 * into the collector, like an agent (DEALER + CURVE, HELLO, BATCH within the
 * granted credit, wait for every ACK), with its own enrolled key.
 *
 * Also the recording reader shared with `tocsin drill run`: the whole file
 * is validated before anything is sent, so a bad recording sends nothing.
 *
 * Recording format (JSON Lines, UTF-8):
 *   line 1:  {"tocsin_recording": 1, "created": "RFC 3339", "source": "...",
 *             "events": N, ...}                      (other keys ignored)
 *   line 2+: {"time": "RFC 3339", "host": "web01", "raw": "the raw line",
 *             "agent": "...", "source": "...", "file": "..."}
 *            time, host and raw are required; events in time order.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli/cli_int.h"
#include "common/endpoint.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"
#include "rules/decode.h"

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "unknown"
#endif

/* Largest recording file read. */
#define MAX_RECORDING_BYTES	(512ULL * 1024 * 1024)
/* Events of one recording. */
#define MAX_RECORDING_EVENTS	5000000
/* Events per BATCH frame (also capped by the credit). */
#define REPLAY_BATCH_EVENTS	512
/* Default longest wait without progress (connect, WELCOME, ACK). */
#define REPLAY_TIMEOUT_US	(30ULL * 1000000)
/* Largest frame accepted from the collector. */
#define REPLAY_MAX_FRAME	4096
/* How often replay_opts.progress_cb is called while sending. */
#define REPLAY_PROGRESS_US	(250ULL * 1000)
/* Name of the agent replay sends as, and its key file under DATADIR. */
#define REPLAY_AGENT		KEYS_REPLAY_AGENT
#define REPLAY_KEY_FILE		KEYS_REPLAY_FILE


enum { OPT_SPEED = 256, OPT_ASAP, OPT_DRILL, OPT_SHIFT, OPT_ENDPOINT,
    OPT_TIMEOUT };

static const struct cli_opt replay_opts[] = {
	{ "speed", 0, OPT_SPEED, "N",
	  "keep the recorded gaps between events, divided\n"
	  "by N (default 1: real time)" },
	{ "as-fast-as-possible", 0, OPT_ASAP, NULL,
	  "no waits between events" },
	{ "drill", 0, OPT_DRILL, "NAME",
	  "mark the events as drill NAME: journaled as\n"
	  "source \"replay\", their alerts and incidents\n"
	  "carry \"drill\": NAME (letters, digits, . _ -)" },
	{ "shift-to-now", 0, OPT_SHIFT, NULL,
	  "move the recording so that its first event is\n"
	  "now: every event time moves by the same amount\n"
	  "and each raw line's syslog timestamp is\n"
	  "rewritten to its new time, in the same style\n"
	  "(BSD \"Mmm dd hh:mm:ss\" stays BSD, in UTC;\n"
	  "RFC 3339 becomes RFC 3339 UTC \"...Z\", with\n"
	  "microseconds if it had a fraction); the times\n"
	  "the decoders read inside the record (access\n"
	  "log, audit, W3C, Apache and nginx error logs)\n"
	  "move too.  Lines with no recognised timestamp\n"
	  "are sent unchanged." },
	{ "endpoint", 0, OPT_ENDPOINT, "EP",
	  "collector endpoint (default: the server\n"
	  "configuration's collector.listen, a wildcard\n"
	  "host replaced by 127.0.0.1)" },
	{ "timeout", 0, OPT_TIMEOUT, "DUR",
	  "give up after this long without progress\n"
	  "(default 30s)" },
};

static const struct cli_optgroup replay_groups[] = {
	{ NULL, CLI_TABLE(replay_opts) },
};

const struct cli_help cmd_replay_help = {
	"usage: tocsin replay FILE [--speed N | --as-fast-as-possible]\n"
	"                     [--drill NAME] [--shift-to-now] [--endpoint EP]\n"
	"                     [--timeout DUR] [-c CONFIG] [-D DATADIR]\n"
	"\n"
	"Send a recording (see `tocsin record`) through the real pipeline into\n"
	"the collector, like an agent: CURVE-encrypted, within the collector's\n"
	"credit, waiting for every acknowledgement, so that when replay returns\n"
	"every event is journaled.  The whole recording is checked first: a\n"
	"malformed line, a missing field, an unknown version or times out of\n"
	"order is an error \"FILE:LINE: message\" (exit 2) and nothing is sent.\n"
	"\n"
	"replay sends as the agent \"replay\": on first use it enrolls that agent\n"
	"and keeps its key pair in DATADIR/keys/replay.key (mode 0600).  The raw\n"
	"lines are sent unchanged; the event time is the recording's.  A line's\n"
	"host is the one its event names.\n",
	CLI_TABLE(replay_groups),
	"Prints what was sent and acknowledged.  Exit status 0 when every event\n"
	"was acknowledged, 1 on a run-time error (collector unreachable,\n"
	"refused), 2 on a usage error or a bad recording.\n"
	"\n"
	"Examples:\n"
	"  tocsin replay attack.jsonl --as-fast-as-possible --drill exercise-1\n"
	"  tocsin replay attack.jsonl --speed 10 --shift-to-now\n",
};

/* ---- recordings -------------------------------------------------------- */

static void rec_event_free(struct rec_event *e)
{
	free(e->host);
	free(e->agent);
	free(e->source);
	free(e->file);
	free(e->raw);
}

void recording_free(struct recording *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		rec_event_free(&r->ev[i]);
	free(r->ev);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

/* An optional string member: *out malloc'd copy (NULL when absent).
 * 0, 1 when present but not a string, TS_ENOMEM. */
static int opt_string(json_t *o, const char *key, size_t max, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
		return 1;
	if ((*out = strdup(json_string_value(v))) == NULL)
		return TS_ENOMEM;
	return 0;
}

/* Parse the header line.  0 or TS_EPARSE (message in err). */
static int header_check(const char *name, const char *line, size_t len,
    uint64_t *want_events, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o, *v;
	int rc = TS_EPARSE;

	*want_events = UINT64_MAX;
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "%s:1: not a tocsin recording: the first "
		    "line must be a JSON object with \"tocsin_recording\": %d",
		    name, RECORDING_VERSION);
		goto out;
	}
	v = json_object_get(o, "tocsin_recording");
	if (v == NULL) {
		snprintf(err, errlen, "%s:1: not a tocsin recording: the header "
		    "line has no \"tocsin_recording\" version", name);
		goto out;
	}
	if (!json_is_integer(v) || json_integer_value(v) != RECORDING_VERSION) {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		char eb[64];
		escape_text(s ? s : "?", s ? strlen(s) : 1, eb, sizeof(eb));
		snprintf(err, errlen, "%s:1: unknown recording version %s "
		    "(this tocsin reads version %d)", name, eb,
		    RECORDING_VERSION);
		free(s);
		goto out;
	}
	v = json_object_get(o, "events");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			snprintf(err, errlen, "%s:1: \"events\" must be a "
			    "whole number", name);
			goto out;
		}
		*want_events = (uint64_t)json_integer_value(v);
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Parse one event line into *e.  0, TS_EPARSE (err) or TS_ENOMEM. */
static int event_parse(const char *name, size_t lineno, const char *line,
    size_t len, struct rec_event *e, char *err, size_t errlen)
{
	static const char *const strs[] = { "agent", "source", "file" };
	json_error_t je;
	json_t *o, *v;
	char **dst[3];
	const char *t;
	size_t i;
	int rc = TS_EPARSE, r;

	memset(e, 0, sizeof(*e));
	dst[0] = &e->agent;
	dst[1] = &e->source;
	dst[2] = &e->file;
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (o == NULL) {
		snprintf(err, errlen, "%s:%zu: malformed line: %s (column %d)",
		    name, lineno, je.text, je.column);
		goto out;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s:%zu: malformed line: an event must be "
		    "a JSON object", name, lineno);
		goto out;
	}
	v = json_object_get(o, "time");
	if (v == NULL) {
		snprintf(err, errlen, "%s:%zu: missing field \"time\"", name,
		    lineno);
		goto out;
	}
	t = json_string_value(v);
	if (t == NULL || parse_rfc3339(t, strlen(t), &e->time_us) != 0) {
		snprintf(err, errlen, "%s:%zu: \"time\" must be an RFC 3339 "
		    "time such as \"2026-01-26T08:00:00Z\"", name, lineno);
		goto out;
	}
	v = json_object_get(o, "host");
	if (v == NULL) {
		snprintf(err, errlen, "%s:%zu: missing field \"host\"", name,
		    lineno);
		goto out;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > MAX_HOST_BYTES ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "%s:%zu: \"host\" must be a host name of "
		    "1 to %d bytes", name, lineno, MAX_HOST_BYTES);
		goto out;
	}
	if ((e->host = strdup(json_string_value(v))) == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	v = json_object_get(o, "raw");
	if (v == NULL) {
		snprintf(err, errlen, "%s:%zu: missing field \"raw\"", name,
		    lineno);
		goto out;
	}
	if (!json_is_string(v) || json_string_length(v) > MAX_LINE_BYTES ||
	    memchr(json_string_value(v), '\0', json_string_length(v)) ||
	    memchr(json_string_value(v), '\n', json_string_length(v))) {
		snprintf(err, errlen, "%s:%zu: \"raw\" must be one line of at "
		    "most %d bytes (no newline, no NUL)", name, lineno,
		    MAX_LINE_BYTES);
		goto out;
	}
	e->raw_len = json_string_length(v);
	if ((e->raw = malloc(e->raw_len + 1)) == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	memcpy(e->raw, json_string_value(v), e->raw_len + 1);
	for (i = 0; i < 3; i++) {
		r = opt_string(o, strs[i], i == 2 ? MAX_PATH_BYTES :
		    MAX_HOST_BYTES, dst[i]);
		if (r == TS_ENOMEM) {
			rc = r;
			goto out;
		}
		if (r != 0) {
			snprintf(err, errlen, "%s:%zu: \"%s\" must be a string",
			    name, lineno, strs[i]);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		rec_event_free(e);
	json_decref(o);
	return rc;
}

int recording_load(const char *path, struct recording *r, char *err,
    size_t errlen)
{
	char *buf = NULL, name[512], tb[2][40];
	size_t len = 0, off = 0, lineno = 0, cap = 0, llen;
	uint64_t want = UINT64_MAX;
	int rc;

	memset(r, 0, sizeof(*r));
	escape_text(path, strlen(path), name, sizeof(name));
	rc = read_file(path, MAX_RECORDING_BYTES, &buf, &len);
	if (rc != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", name,
		    rc == TS_ETOOBIG ? "larger than the limit" :
		    errno ? strerror(errno) : ts_strerror(rc));
		return rc == TS_ETOOBIG ? rc : TS_EIO;
	}
	if ((r->path = strdup(path)) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	while (off < len) {
		const char *line = buf + off, *nl;

		nl = memchr(line, '\n', len - off);
		llen = nl ? (size_t)(nl - line) : len - off;
		off += llen + (nl != NULL);
		lineno++;
		if (llen > 0 && line[llen - 1] == '\r')
			llen--;
		if (llen == 0) {
			if (off >= len)
				break;	/* trailing empty line */
			snprintf(err, errlen, "%s:%zu: malformed line: empty",
			    name, lineno);
			rc = TS_EPARSE;
			goto fail;
		}
		if (lineno == 1) {
			if ((rc = header_check(name, line, llen, &want, err,
			    errlen)) != 0)
				goto fail;
			continue;
		}
		if (r->n >= MAX_RECORDING_EVENTS) {
			snprintf(err, errlen, "%s:%zu: more than %d events",
			    name, lineno, MAX_RECORDING_EVENTS);
			rc = TS_ETOOBIG;
			goto fail;
		}
		if (r->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct rec_event *ne = realloc(r->ev, ncap *
			    sizeof(*ne));
			if (ne == NULL) {
				rc = TS_ENOMEM;
				goto fail;
			}
			r->ev = ne;
			cap = ncap;
		}
		if ((rc = event_parse(name, lineno, line, llen, &r->ev[r->n],
		    err, errlen)) != 0)
			goto fail;
		r->n++;
		if (r->n > 1 && r->ev[r->n - 1].time_us <
		    r->ev[r->n - 2].time_us) {
			format_rfc3339(r->ev[r->n - 1].time_us, tb[0], 40);
			format_rfc3339(r->ev[r->n - 2].time_us, tb[1], 40);
			snprintf(err, errlen, "%s:%zu: time %s is before the "
			    "previous event's (%s): events must be in time "
			    "order", name, lineno, tb[0], tb[1]);
			rc = TS_EPARSE;
			goto fail;
		}
	}
	if (lineno == 0) {
		snprintf(err, errlen, "%s:1: empty file: not a tocsin recording",
		    name);
		rc = TS_EPARSE;
		goto fail;
	}
	if (want != UINT64_MAX && want != r->n) {
		snprintf(err, errlen, "%s:1: the header says %llu events, the "
		    "file holds %zu", name, (unsigned long long)want, r->n);
		rc = TS_EPARSE;
		goto fail;
	}
	if (r->n == 0) {
		snprintf(err, errlen, "%s:1: the recording holds no events",
		    name);
		rc = TS_EPARSE;
		goto fail;
	}
	free(buf);
	return 0;
fail:
	if (rc == TS_ENOMEM)
		snprintf(err, errlen, "%s: out of memory", name);
	free(buf);
	recording_free(r);
	return rc;
}

/* ---- --shift-to-now: rewrite syslog timestamps ---------------------------- */

static const char month_names[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Length of a BSD timestamp "Mmm dd hh:mm:ss" at p (n bytes), 0 if none. */
static size_t bsd_time_len(const char *p, size_t n)
{
	int m, ok = 0;

	if (n < 15)
		return 0;
	for (m = 0; m < 12; m++)
		if (memcmp(p, month_names[m], 3) == 0)
			ok = 1;
	if (!ok || p[3] != ' ' || !(p[4] == ' ' || is_digit(p[4])) ||
	    !is_digit(p[5]) || p[6] != ' ' || !is_digit(p[7]) ||
	    !is_digit(p[8]) || p[9] != ':' || !is_digit(p[10]) ||
	    !is_digit(p[11]) || p[12] != ':' || !is_digit(p[13]) ||
	    !is_digit(p[14]))
		return 0;
	return 15;
}

/* Length of an ISO 8601 / RFC 3339 timestamp at p, 0 if none; *frac set
 * when it has a fractional part. */
static size_t iso_time_len(const char *p, size_t n, int *frac)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t i;

	*frac = 0;
	if (n < sizeof(shape) - 1)
		return 0;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !is_digit(p[i]) :
		    (shape[i] == 'T' ? (p[i] != 'T' && p[i] != ' ') :
		    p[i] != shape[i]))
			return 0;
	}
	if (i < n && p[i] == '.') {
		*frac = 1;
		for (i++; i < n && is_digit(p[i]); i++)
			;
	}
	if (i < n && (p[i] == 'Z' || p[i] == 'z'))
		return i + 1;
	if (i + 6 <= n && (p[i] == '+' || p[i] == '-') && is_digit(p[i + 1]) &&
	    is_digit(p[i + 2]) && p[i + 3] == ':' && is_digit(p[i + 4]) &&
	    is_digit(p[i + 5]))
		return i + 6;
	return i;	/* no zone: read as UTC */
}

/* Rewrite the syslog timestamp of e->raw to e->time_us (see the usage).
 * 0 or TS_ENOMEM; unchanged when no timestamp is recognised. */
static int shift_raw(struct rec_event *e)
{
	const char *p = e->raw;
	size_t n = e->raw_len, pos = 0, tlen, outlen;
	char stamp[64], *out;
	struct tm tm;
	time_t secs = (time_t)(e->time_us / 1000000);
	int frac;

	if (gmtime_r(&secs, &tm) == NULL)
		return 0;
	if (n > 0 && p[0] == '<') {
		for (pos = 1; pos < n && pos < 5 && is_digit(p[pos]); pos++)
			;
		if (pos >= n || p[pos] != '>')
			return 0;
		pos++;
		if (pos + 2 < n && p[pos] == '1' && p[pos + 1] == ' ')
			pos += 2;	/* RFC 5424 VERSION */
	}
	if ((tlen = bsd_time_len(p + pos, n - pos)) != 0) {
		snprintf(stamp, sizeof(stamp), "%s %2d %02d:%02d:%02d",
		    month_names[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
	} else if ((tlen = iso_time_len(p + pos, n - pos, &frac)) != 0) {
		if (frac)
			snprintf(stamp, sizeof(stamp),
			    "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec,
			    (unsigned)(e->time_us % 1000000));
		else
			snprintf(stamp, sizeof(stamp),
			    "%04d-%02d-%02dT%02d:%02d:%02dZ",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			    tm.tm_hour, tm.tm_min, tm.tm_sec);
	} else {
		return 0;
	}
	outlen = n - tlen + strlen(stamp);
	if (outlen > MAX_LINE_BYTES)
		return 0;	/* keep the line as it is */
	if ((out = malloc(outlen + 1)) == NULL)
		return TS_ENOMEM;
	memcpy(out, p, pos);
	memcpy(out + pos, stamp, strlen(stamp));
	memcpy(out + pos + strlen(stamp), p + pos + tlen, n - pos - tlen);
	out[outlen] = '\0';
	free(e->raw);
	e->raw = out;
	e->raw_len = outlen;
	return 0;
}

/* Replace raw[pos, pos + n) of e with (s, sn).  0 or TS_ENOMEM; the line
 * is kept as it is when the result would pass MAX_LINE_BYTES. */
static int splice_raw(struct rec_event *e, size_t pos, size_t n,
    const char *s, size_t sn)
{
	size_t outlen = e->raw_len - n + sn;
	char *out;

	if (outlen > MAX_LINE_BYTES)
		return 0;
	if ((out = malloc(outlen + 1)) == NULL)
		return TS_ENOMEM;
	memcpy(out, e->raw, pos);
	memcpy(out + pos, s, sn);
	memcpy(out + pos + sn, e->raw + pos + n, e->raw_len - pos - n);
	out[outlen] = '\0';
	free(e->raw);
	e->raw = out;
	e->raw_len = outlen;
	return 0;
}

/* Shift the time written as fmt in raw[pos, pos + n) by delta (zone: how
 * the decoders read it; an explicit offset in the text is kept).  0 or
 * TS_ENOMEM; unchanged when it does not read. */
static int shift_at(struct rec_event *e, size_t pos, size_t n,
    const char *fmt, const char *wfmt, int zone, int64_t delta)
{
	char stamp[64];
	uint64_t t;
	int32_t off = 0;
	size_t sl;

	if (evtime_parse(fmt, e->raw + pos, n, zone, 0, NULL, e->time_us,
	    &t) != 0)
		return 0;
	if (strstr(fmt, "%z") != NULL && n >= 5) {
		char z[6];

		memcpy(z, e->raw + pos + n - 5, 5);
		z[5] = '\0';
		if (evtime_parse_zone(z, &zone, &off) != 0)
			zone = EVTIME_ZONE_UTC;
	}
	if (delta < 0 && (uint64_t)-delta > t)
		return 0;
	t = (uint64_t)((int64_t)t + delta);
	if ((sl = evtime_format(wfmt, t, zone, off, stamp, sizeof(stamp))) ==
	    0)
		return 0;
	return splice_raw(e, pos, n, stamp, sl);
}

/* Shift the time written inside the record (cli_record_time), which the
 * decoders take as the event's time, by delta; a local time moves as a
 * wall clock (read and written as if UTC).  0 or TS_ENOMEM. */
static int shift_record_time(struct rec_event *e, int64_t delta)
{
	struct rec_time rt;
	char stamp[32];
	uint64_t t;

	if (!cli_record_time(e->raw, e->raw_len, &rt))
		return 0;
	if (rt.wfmt != NULL)
		return shift_at(e, rt.pos, rt.len, rt.fmt, rt.wfmt,
		    EVTIME_ZONE_UTC, delta);
	if (evtime_parse(rt.fmt, e->raw + rt.pos, rt.len, EVTIME_ZONE_UTC, 0,
	    NULL, 0, &t) != 0 || (delta < 0 && (uint64_t)-delta > t))
		return 0;
	t = (uint64_t)((int64_t)t + delta);
	snprintf(stamp, sizeof(stamp), "%llu.%03u",
	    (unsigned long long)(t / 1000000), (unsigned)(t % 1000000 / 1000));
	return splice_raw(e, rt.pos, rt.len, stamp, strlen(stamp));
}

int recording_shift(struct recording *r, uint64_t now)
{
	uint64_t first;
	size_t i;
	int rc;

	if (r->n == 0)
		return 0;
	first = r->ev[0].time_us;
	for (i = 0; i < r->n; i++) {
		uint64_t d = r->ev[i].time_us - first, old = r->ev[i].time_us;
		r->ev[i].time_us = now + d;
		if ((rc = shift_raw(&r->ev[i])) != 0 ||
		    (rc = shift_record_time(&r->ev[i],
		    (int64_t)(r->ev[i].time_us - old))) != 0)
			return rc;
	}
	return 0;
}

/* ---- the replay agent's key ------------------------------------------- */

/*
 * Load DATADIR/keys/replay.key (line 1: public key, line 2: secret key,
 * Z85), or on first use generate a pair, enroll the agent "replay" and
 * write the file (0600).  CLI_EXIT_* after printing any error.
 */
static int replay_key(const struct cli_cmd *cmd, const char *dd,
    char pub[KEY_Z85_BYTES], char sec[KEY_Z85_BYTES])
{
	char *path = xasprintf("%s/%s", dd, REPLAY_KEY_FILE), *buf = NULL, *text = NULL;
	size_t len = 0;
	int rc, exit_rc = CLI_EXIT_FAIL;

	if (path == NULL) {
		cli_err(cmd, "out of memory");
		return CLI_EXIT_FAIL;
	}
	rc = read_file(path, 1024, &buf, &len);
	if (rc == 0) {
		if (len < 2 * (KEY_Z85_BYTES - 1) + 1 ||
		    buf[KEY_Z85_BYTES - 1] != '\n') {
			cli_err(cmd, "%s: not a replay key file (remove it and "
			    "`tocsin agents revoke %s` to start again)", path,
			    REPLAY_AGENT);
			goto out;
		}
		memcpy(pub, buf, KEY_Z85_BYTES - 1);
		pub[KEY_Z85_BYTES - 1] = '\0';
		memcpy(sec, buf + KEY_Z85_BYTES, KEY_Z85_BYTES - 1);
		sec[KEY_Z85_BYTES - 1] = '\0';
		exit_rc = CLI_EXIT_OK;
		goto out;
	}
	if (errno != ENOENT) {
		cli_err(cmd, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (keys_server_load_or_create(dd, pub, NULL) != 0 ||
	    keys_generate(pub, sec) != 0) {
		cli_err(cmd, "cannot create keys under %s/keys", dd);
		goto out;
	}
	rc = keys_agent_enroll(dd, REPLAY_AGENT, pub);
	if (rc == TS_EEXIST) {
		cli_err(cmd, "an agent named \"%s\" is enrolled but %s is "
		    "missing: revoke it (tocsin agents revoke %s) and try "
		    "again", REPLAY_AGENT, path, REPLAY_AGENT);
		goto out;
	}
	if (rc != 0) {
		cli_err(cmd, "cannot enroll the agent \"%s\": %s", REPLAY_AGENT,
		    ts_strerror(rc));
		goto out;
	}
	if ((text = xasprintf("%s\n%s\n", pub, sec)) == NULL ||
	    write_file_atomic(path, text, strlen(text), 0600) != 0) {
		cli_err(cmd, "cannot write %s", path);
		(void)keys_agent_revoke(dd, REPLAY_AGENT);
		goto out;
	}
	exit_rc = CLI_EXIT_OK;
out:
	if (text != NULL)
		memset(text, 0, strlen(text));
	if (buf != NULL)
		memset(buf, 0, len);
	free(text);
	free(buf);
	free(path);
	return exit_rc;
}

/* ---- the session ---------------------------------------------------------- */

struct session {
	const struct cli_cmd	*cmd;
	void			*zctx, *sock;
	struct wire_buf		 wb;
	uint64_t		 epoch;
	uint64_t		 next_seq;	/* next seq to send */
	uint64_t		 acked;		/* highest seq acknowledged */
	uint32_t		 credit;	/* beyond acked */
	int			 welcomed;	/* WELCOME for the last HELLO */
	int			 have_epoch;	/* epoch chosen after the first */
	const char		*drill;
	uint64_t		 timeout_us;
};

/* Send w as one frame.  0 or TS_EIO (printed). */
static int sess_send(struct session *s, const void *data, size_t len)
{
	if (zmq_send(s->sock, data, len, 0) < 0) {
		cli_err(s->cmd, "sending to the collector: %s",
		    zmq_strerror(errno));
		return TS_EIO;
	}
	return 0;
}

/* HELLO for host, naming the drill (wire.h: an optional trailing str). */
static int sess_hello(struct session *s, const char *host)
{
	wire_hello_drill(&s->wb, s->epoch, "tocsin-replay " TOCSIN_VERSION,
	    host, s->drill);
	if (s->wb.failed)
		return TS_ENOMEM;
	return sess_send(s, s->wb.data, s->wb.len);
}

/*
 * Receive and handle frames for up to wait_us.  0, TS_EAGAIN when nothing
 * came, TS_EIO/TS_EINVAL after printing (refused, malformed).
 */
static int sess_poll(struct session *s, uint64_t wait_us)
{
	zmq_pollitem_t pi = { s->sock, 0, ZMQ_POLLIN, 0 };
	unsigned char buf[REPLAY_MAX_FRAME];
	struct wire_msg m;
	const char *why;
	char eb[1100];
	int n, got = 0;

	n = zmq_poll(&pi, 1, (long)(wait_us / 1000));
	if (n < 0 && errno != EINTR) {
		cli_err(s->cmd, "zmq_poll: %s", zmq_strerror(errno));
		return TS_EIO;
	}
	for (;;) {
		n = zmq_recv(s->sock, buf, sizeof(buf), ZMQ_DONTWAIT);
		if (n < 0)
			break;
		got = 1;
		if ((size_t)n > sizeof(buf) ||
		    wire_decode(buf, (size_t)n, &m, &why) != 0) {
			cli_err(s->cmd, "malformed frame from the collector");
			return TS_EINVAL;
		}
		switch (m.type) {
		case WIRE_WELCOME:
			if (!s->have_epoch) {
				/* A fresh epoch above the collector's mark
				 * for this agent, seqs from 1. */
				if (s->epoch <= m.epoch)
					s->epoch = m.epoch + 1;
				s->next_seq = 1;
				s->acked = 0;
				s->have_epoch = 1;
			}
			s->credit = m.credit;
			s->welcomed = 1;
			break;
		case WIRE_ACK:
			if (m.epoch == s->epoch && m.seq > s->acked &&
			    m.seq < s->next_seq)
				s->acked = m.seq;
			if (m.epoch == s->epoch)
				s->credit = m.credit;
			break;
		case WIRE_REFUSE:
			escape_text(m.reason.p, m.reason.len, eb, sizeof(eb));
			if (m.code == WIRE_REFUSE_MALFORMED && s->drill &&
			    !s->welcomed)
				cli_err(s->cmd, "the collector refused the drill "
				    "HELLO (%s): does this collector know "
				    "drills?", eb);
			else
				cli_err(s->cmd, "the collector refused: %s "
				    "(code %u)", eb, (unsigned)m.code);
			return TS_EIO;
		default:
			break;
		}
	}
	return got ? 0 : TS_EAGAIN;
}

/* Wait until cond holds: welcomed (want_seq 0) or acked >= want_seq.  0, or
 * an error after printing (time-out included). */
static int sess_wait(struct session *s, uint64_t want_seq, const char *what)
{
	uint64_t last = mono_us();
	int rc;

	for (;;) {
		if (want_seq == 0 ? s->welcomed : s->acked >= want_seq)
			return 0;
		rc = sess_poll(s, 100000);
		if (rc == 0) {
			last = mono_us();
			continue;
		}
		if (rc != TS_EAGAIN)
			return rc;
		if (mono_us() - last > s->timeout_us) {
			cli_err(s->cmd, "no answer from the collector for %llus "
			    "while waiting for %s (is tocsind running?)",
			    (unsigned long long)(s->timeout_us / 1000000), what);
			return TS_EAGAIN;
		}
	}
}

static int set_opt(struct session *s, int opt, int val)
{
	return zmq_setsockopt(s->sock, opt, &val, sizeof(val));
}

/* Socket, CURVE keys, connect.  0 or TS_EIO (printed). */
static int sess_open(struct session *s, const char *endpoint,
    const char *server_pub, const char *pub, const char *sec)
{
	int64_t maxmsg = REPLAY_MAX_FRAME;

	if ((s->zctx = zmq_ctx_new()) == NULL ||
	    (s->sock = zmq_socket(s->zctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, server_pub, 40) ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, pub, 40) ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, sec, 40) ||
	    zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) ||
	    set_opt(s, ZMQ_LINGER, 0) != 0 ||
	    zmq_connect(s->sock, endpoint) != 0) {
		cli_err(s->cmd, "cannot connect to %s: %s", endpoint,
		    zmq_strerror(errno));
		return TS_EIO;
	}
	return 0;
}

static void sess_close(struct session *s)
{
	if (s->sock != NULL)
		zmq_close(s->sock);
	if (s->zctx != NULL)
		zmq_ctx_term(s->zctx);
	wire_buf_free(&s->wb);
	s->sock = s->zctx = NULL;
}

/* Tell o->progress_cb where the replay stands: sent of n, the last event
 * due at last_due (monotonic; 0: as fast as possible, estimated from the
 * rate since start). */
static void progress_report(const struct replay_opts *o,
    const struct session *s, uint64_t sent, uint64_t n, uint64_t start,
    uint64_t last_due, int done)
{
	struct replay_progress p;
	uint64_t now = mono_us();

	if (o->progress_cb == NULL)
		return;
	p.rp_sent = sent;
	p.rp_total = n;
	p.rp_acked = s->acked > sent ? sent : s->acked;
	p.rp_done = done;
	if (done || sent >= n)
		p.rp_left_us = 0;
	else if (o->speed != 0)
		p.rp_left_us = last_due > now ? last_due - now : 0;
	else if (sent == 0 || now <= start)
		p.rp_left_us = UINT64_MAX;
	else
		p.rp_left_us = (uint64_t)((double)(now - start) *
		    (double)(n - sent) / (double)sent);
	o->progress_cb(&p, o->progress_arg);
}

/* Events of every recording, merged by time (stable: recording order). */
static int merge_events(struct recording *recs, size_t nrec,
    struct rec_event ***out, size_t *nout)
{
	struct rec_event **v;
	size_t *pos, total = 0, i, k;

	for (i = 0; i < nrec; i++)
		total += recs[i].n;
	if ((v = calloc(total ? total : 1, sizeof(*v))) == NULL ||
	    (pos = calloc(nrec ? nrec : 1, sizeof(*pos))) == NULL) {
		free(v);
		return TS_ENOMEM;
	}
	for (k = 0; k < total; k++) {
		size_t best = nrec;
		for (i = 0; i < nrec; i++) {
			if (pos[i] >= recs[i].n)
				continue;
			if (best == nrec || recs[i].ev[pos[i]].time_us <
			    recs[best].ev[pos[best]].time_us)
				best = i;
		}
		v[k] = &recs[best].ev[pos[best]++];
	}
	free(pos);
	*out = v;
	*nout = total;
	return 0;
}

int replay_send(struct cli *c, const struct cli_cmd *cmd,
    struct recording *recs, size_t nrec, const struct replay_opts *o,
    struct replay_result *res)
{
	struct session s;
	struct rec_event **ev = NULL;
	const struct server_config *cfg;
	const char *dd, *host = NULL;
	char pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES], spub[KEY_Z85_BYTES];
	char *endpoint = NULL;
	size_t n = 0, i = 0;
	uint64_t t0 = 0, start = 0, last_due = 0, shown = 0;
	int rc = CLI_EXIT_FAIL;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	s.cmd = cmd;
	s.drill = o->drill != NULL && o->drill[0] != '\0' ? o->drill : NULL;
	s.timeout_us = o->timeout_us ? o->timeout_us : REPLAY_TIMEOUT_US;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	if ((rc = replay_key(cmd, dd, pub, sec)) != CLI_EXIT_OK)
		return rc;
	rc = CLI_EXIT_FAIL;
	if (keys_server_load_or_create(dd, spub, NULL) != 0) {
		cli_err(cmd, "cannot read the server key under %s/keys", dd);
		goto out;
	}
	if ((cfg = cli_config(c)) == NULL)
		goto out;
	endpoint = endpoint_local_connect(o->endpoint ? o->endpoint :
	    cfg->listen ? cfg->listen : "", NULL);
	if (merge_events(recs, nrec, &ev, &n) != 0) {
		cli_err(cmd, "out of memory");
		goto out;
	}
	if (endpoint == NULL || endpoint[0] == '\0') {
		cli_err(cmd, "no collector endpoint (use --endpoint or -c)");
		goto out;
	}
	if (sess_open(&s, endpoint, spub, pub, sec) != 0)
		goto out;
	s.epoch = now_us();
	t0 = n ? ev[0]->time_us : 0;
	start = mono_us();
	if (n > 0 && o->speed != 0)
		last_due = start + (ev[n - 1]->time_us - t0) / o->speed;

	while (i < n) {
		uint64_t due, now, room, last_seq;
		size_t k;

		if (o->progress_cb != NULL && mono_us() - shown >=
		    REPLAY_PROGRESS_US) {
			progress_report(o, &s, res->sent, n, start, last_due,
			    0);
			shown = mono_us();
		}

		/* A HELLO names the host of the events that follow: on a
		 * change of host, drain, then say hello again. */
		if (host == NULL || strcmp(host, ev[i]->host) != 0) {
			if (s.next_seq > 1 && sess_wait(&s, s.next_seq - 1,
			    "acknowledgements") != 0)
				goto out;
			host = ev[i]->host;
			s.welcomed = 0;
			if (sess_hello(&s, host) != 0 ||
			    sess_wait(&s, 0, "the WELCOME") != 0)
				goto out;
		}
		/* Pace: event i is due at start + (t_i - t0) / speed. */
		if (o->speed != 0) {
			due = start + (ev[i]->time_us - t0) / o->speed;
			now = mono_us();
			if (now < due) {
				uint64_t w = due - now;
				if (w > 200000)
					w = 200000;
				rc = sess_poll(&s, w);
				if (rc != 0 && rc != TS_EAGAIN) {
					rc = CLI_EXIT_FAIL;
					goto out;
				}
				rc = CLI_EXIT_FAIL;
				continue;
			}
		}
		/* Room within the credit. */
		last_seq = s.next_seq - 1;
		room = s.acked + s.credit > last_seq ?
		    s.acked + s.credit - last_seq : 0;
		if (room == 0) {
			if (sess_wait(&s, last_seq, "credit") != 0)
				goto out;
			continue;
		}
		if (room > REPLAY_BATCH_EVENTS)
			room = REPLAY_BATCH_EVENTS;
		wire_batch_begin(&s.wb, s.epoch, s.next_seq);
		now = mono_us();
		for (k = 0; i < n && k < room; k++, i++) {
			const struct rec_event *e = ev[i];
			const char *file = e->file ? e->file : "replay";

			if (strcmp(e->host, host) != 0)
				break;
			if (o->speed != 0 && start + (e->time_us - t0) /
			    o->speed > now)
				break;
			wire_batch_add(&s.wb, e->time_us, 0, file,
			    strlen(file), e->raw, e->raw_len);
		}
		wire_batch_end(&s.wb);
		if (s.wb.failed) {
			cli_err(cmd, "out of memory");
			goto out;
		}
		if (res->first_sent_us == 0)
			res->first_sent_us = now_us();
		if (sess_send(&s, s.wb.data, s.wb.len) != 0)
			goto out;
		s.next_seq += k;
		res->sent += k;
		res->batches++;
		/* take what arrived meanwhile */
		if ((rc = sess_poll(&s, 0)) != 0 && rc != TS_EAGAIN) {
			rc = CLI_EXIT_FAIL;
			goto out;
		}
		rc = CLI_EXIT_FAIL;
	}
	if (n > 0 && sess_wait(&s, s.next_seq - 1, "the last "
	    "acknowledgement") != 0)
		goto out;
	progress_report(o, &s, res->sent, n, start, last_due, 1);
	rc = CLI_EXIT_OK;
out:
	res->acked = s.acked > res->sent ? res->sent : s.acked;
	res->last_ack_us = now_us();
	sess_close(&s);
	memset(sec, 0, sizeof(sec));
	free(ev);
	free(endpoint);
	return rc;
}

/* ---- the command ---------------------------------------------------------- */

int cmd_replay(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	struct replay_opts o;
	struct replay_result res;
	struct recording r;
	const char *endpoint = NULL;
	char err[1024], eb[256], t0[40], t1[40];
	uint64_t v;
	int opt, rc, speed_set = 0, asap = 0, shift = 0;

	memset(&o, 0, sizeof(o));
	o.speed = 1;
	cli_opt_init(&p, c, cmd, CLI_TABLE(replay_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_SPEED:
			if (cli_parse_number(cmd, "--speed", p.arg, 1000000,
			    &v) != 0)
				return CLI_EXIT_USAGE;
			if (v == 0)
				return cli_usage_error(cmd, "--speed must be at "
				    "least 1 (or use --as-fast-as-possible)");
			o.speed = v;
			speed_set = 1;
			break;
		case OPT_ASAP:
			asap = 1;
			break;
		case OPT_DRILL:
			if (cli_check_name(cmd, NAME_DRILL, "--drill",
			    p.arg) != 0)
				return CLI_EXIT_USAGE;
			o.drill = p.arg;
			break;
		case OPT_SHIFT:
			shift = 1;
			break;
		case OPT_ENDPOINT:
			if (cli_check_endpoint(cmd, "--endpoint", p.arg) != 0)
				return CLI_EXIT_USAGE;
			endpoint = p.arg;
			break;
		case OPT_TIMEOUT:
			if (parse_duration(p.arg, &o.timeout_us) != 0 ||
			    o.timeout_us == 0)
				return cli_usage_error(cmd, "invalid --timeout "
				    "'%s': expected a duration such as 30s",
				    (escape_text(p.arg, strlen(p.arg), eb,
				    sizeof(eb)), eb));
			break;
		default:
			return cli_usage_error(cmd, "unhandled option");
		}
	}
	if (speed_set && asap)
		return cli_usage_error(cmd, "--speed and --as-fast-as-possible "
		    "exclude each other");
	if (asap)
		o.speed = 0;
	if (optind >= argc)
		return cli_usage_error(cmd, "which recording? (tocsin replay "
		    "FILE)");
	if (optind + 1 < argc)
		return cli_usage_error(cmd, "one recording at a time");
	if (recording_load(argv[optind], &r, err, sizeof(err)) != 0) {
		cli_err(cmd, "%s (nothing sent)", err);
		return CLI_EXIT_USAGE;
	}
	if (shift && recording_shift(&r, now_us()) != 0) {
		cli_err(cmd, "out of memory");
		recording_free(&r);
		return CLI_EXIT_FAIL;
	}
	o.endpoint = endpoint;
	rc = replay_send(c, cmd, &r, 1, &o, &res);
	format_rfc3339(r.ev[0].time_us, t0, sizeof(t0));
	format_rfc3339(r.ev[r.n - 1].time_us, t1, sizeof(t1));
	escape_text(r.path, strlen(r.path), err, sizeof(err));
	printf("recording %s: %zu events (%s .. %s)%s%s\n", err, r.n, t0,
	    t1, o.drill ? ", drill " : "", o.drill ? o.drill : "");
	printf("sent %llu events in %llu batches, acknowledged %llu\n",
	    (unsigned long long)res.sent, (unsigned long long)res.batches,
	    (unsigned long long)res.acked);
	recording_free(&r);
	return rc;
}
