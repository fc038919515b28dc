/*
 * internal.c - tocsin's own events: the collector says in the journal what
 * the IR team must see (an agent gone silent, a full spool or journal, a
 * drop counter past a threshold), as events the rules match like any other.
 *
 * Events wait in a small fixed queue until the collector's next write
 * transaction (journal_txn_plain, using the journal's reserve so that "journal
 * full" itself can be written).  The line format is fixed by journal.h:
 *   <RFC3339 time> <host> tocsin[<pid>]: <message>
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"

struct internal_ev {
	uint64_t	 time_us;
	size_t		 len;
	char		 line[MAX_INTERNAL_LINE];
};

struct internal {
	char		 host[MAX_HOST_BYTES + 1];
	long		 pid;
	struct internal_ev q[MAX_INTERNAL_PENDING];
	struct jevent	 ev[MAX_INTERNAL_PENDING];
	size_t		 n;
};

void
internal_duration(uint64_t us, char *buf, size_t len)
{
	uint64_t s = us / 1000000, big, small;
	const char *bu, *su;

	if (s < 60) {
		snprintf(buf, len, "%llus", (unsigned long long)s);
		return;
	}
	if (s < 3600) {
		big = s / 60; bu = "m"; small = s % 60; su = "s";
	} else if (s < 86400) {
		big = s / 3600; bu = "h"; small = s % 3600 / 60; su = "m";
	} else {
		big = s / 86400; bu = "d"; small = s % 86400 / 3600; su = "h";
	}
	if (small)
		snprintf(buf, len, "%llu%s%llu%s", (unsigned long long)big, bu,
		    (unsigned long long)small, su);
	else
		snprintf(buf, len, "%llu%s", (unsigned long long)big, bu);
}

uint64_t
internal_next_threshold(uint64_t value)
{
	uint64_t t = 1;

	while (t <= value && t <= UINT64_MAX / 10)
		t *= 10;
	return t > value ? t : UINT64_MAX;
}

internal_t *
internal_open(const char *host, long pid)
{
	internal_t *in;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	snprintf(in->host, sizeof(in->host), "%s",
	    host && host[0] ? host : "localhost");
	in->pid = pid;
	return in;
}

void
internal_free(internal_t **in)
{
	if (in == NULL || *in == NULL)
		return;
	free(*in);
	*in = NULL;
}

int
internal_add(internal_t *in, uint64_t time_us, const char *fmt, ...)
{
	struct internal_ev *e;
	char ts[40], msg[MAX_INTERNAL_LINE], line[MAX_INTERNAL_LINE];
	va_list ap;
	int r;

	if (in->n >= MAX_INTERNAL_PENDING)
		return TS_EFULL;
	va_start(ap, fmt);
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r < 0)
		return TS_EINVAL;
	format_rfc3339(time_us, ts, sizeof(ts));
	e = &in->q[in->n];
	r = snprintf(line, sizeof(line), "%s %s tocsin[%ld]: %s", ts,
	    in->host, in->pid, msg);
	if (r < 0)
		return TS_EINVAL;
	e->len = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	memcpy(e->line, line, e->len + 1);
	e->time_us = time_us;
	in->n++;
	log_info("collector: %s", msg);
	return 0;
}

size_t
internal_pending(const internal_t *in)
{
	return in->n;
}

int
internal_journal(internal_t *in, journal_txn_t *t)
{
	for (size_t i = 0; i < in->n; i++) {
		struct jevent *ev = &in->ev[i];

		memset(ev, 0, sizeof(*ev));
		ev->source = JSRC_INTERNAL;
		ev->time_us = in->q[i].time_us;
		ev->agent = "";
		ev->host = in->host;
		ev->host_len = strlen(in->host);
		ev->file = "tocsind";
		ev->file_len = 7;
		ev->drill = "";
		ev->raw = in->q[i].line;
		ev->raw_len = in->q[i].len;
	}
	return journal_txn_plain(t, in->ev, in->n, 1);
}

void
internal_clear(internal_t *in)
{
	in->n = 0;
}

void
internal_truncate(internal_t *in, size_t n)
{
	if (n < in->n)
		in->n = n;
}
