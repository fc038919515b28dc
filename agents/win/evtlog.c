/*
 * evtlog.c - the Windows Event Log as a source of tocsin-agent (the oslog_*
 * contract of agent_int.h): one pull subscription per channel
 * (EvtSubscribe with a signal event, read with EvtNext), each event rendered
 * to its Event XML with EvtRender - the form the engine's Windows decoder
 * reads - and spooled with the file name "eventlog:CHANNEL".
 *
 * Each channel has a bookmark (EvtCreateBookmark / EvtUpdateBookmark),
 * rendered to its XML and stored as the cursor "evt:CHANNEL" in the SAME
 * spool transaction as the events it covers: after a crash or a reboot the
 * subscription starts after the bookmark, so nothing is lost or shipped
 * twice.  When a transaction fails or the spool is full, the events that
 * EvtNext already handed over but that were not committed would be lost to
 * the subscription: it is reopened from the committed bookmark instead.
 *
 * A channel that does not exist, cannot be read (Security needs the
 * service's rights) or whose XPath filter does not parse is reported once,
 * counted once, and tried again every EVT_RETRY_US.  An event larger than
 * MAX_LINE_BYTES as UTF-8 is shipped cut and flagged EV_TRUNCATED.
 */
/* winsock2.h declares the real one (compat/wincompat.h maps it) */
#undef gethostname
#include <winsock2.h>
#include <windows.h>
#include <winevt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/agent_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

/* Events taken from a channel per EvtNext call. */
#define EVT_BATCH		64
/* A missing or unreadable channel is tried again this often. */
#define EVT_RETRY_US		(10ULL * 1000 * 1000)
/* The rendering buffer starts at this many bytes and grows as needed, up
 * to the UTF-16 size of the largest event kept. */
#define EVT_RENDER_START	(64 * 1024)
#define EVT_RENDER_MAX		(16 * 1024 * 1024)
#define EVT_CURSOR_PREFIX	"evt:"
#define EVT_FILE_PREFIX		"eventlog:"

struct evt_chan {
	char		*name;		/* UTF-8, as configured */
	char		*cursor;	/* "evt:NAME" */
	char		*file;		/* "eventlog:NAME" */
	size_t		 file_len;
	wchar_t		*wname;
	wchar_t		*wquery;	/* XPath, or "*" */
	EVT_HANDLE	 sub;		/* the subscription, or NULL */
	EVT_HANDLE	 bm;		/* bookmark of what is committed */
	HANDLE		 signal;	/* set by the service when events come */
	uint64_t	 retry_at;	/* mono: subscribe again then */
	DWORD		 err_logged;	/* the error reported (0: none) */
};

struct oslog {
	spool_t		*sp;
	struct evt_chan	*ch;
	size_t		 n;
	int		 from_start;
	wchar_t		*wbuf;		/* EvtRender's output */
	size_t		 wcap;		/* bytes */
	char		*line;		/* the UTF-8 event, MAX_LINE_BYTES */
	int		 big_logged;	/* an over-long event was reported */
	struct oslog_stats st;
};

/* s as a new wide string (caller frees), or NULL. */
static wchar_t *to_wide(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, 0, s, -1, NULL, 0);
	wchar_t *w;

	if (n <= 0 || (w = malloc((size_t)n * sizeof(*w))) == NULL)
		return NULL;
	MultiByteToWideChar(CP_UTF8, 0, s, -1, w, n);
	return w;
}

/* The message of an event-log error. */
static const char *evt_strerror(DWORD e, char *buf, size_t len)
{
	DWORD n;

	switch (e) {
	case ERROR_EVT_CHANNEL_NOT_FOUND:
		return "the channel does not exist on this computer";
	case ERROR_ACCESS_DENIED:
		return "access denied (the Security channel needs the "
		    "service's rights: run as the installed service, or as an "
		    "administrator)";
	case ERROR_EVT_INVALID_QUERY:
		return "the XPath filter does not parse";
	default:
		break;
	}
	n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
	    FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0, buf, (DWORD)len, NULL);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == '.'))
		buf[--n] = '\0';
	if (n == 0)
		snprintf(buf, len, "error %lu", (unsigned long)e);
	return buf;
}

/* Report a channel's problem once a spell (logged, counted), and try again
 * later. */
static void chan_fail(oslog_t *s, struct evt_chan *c, DWORD e,
    const char *what)
{
	char buf[256];

	if (c->err_logged != e) {
		log_warn("eventlog: %s: %s: %s; trying again every %d s",
		    c->name, what, evt_strerror(e, buf, sizeof(buf)),
		    (int)(EVT_RETRY_US / 1000000));
		s->st.errors++;
		c->err_logged = e;
	}
	if (c->sub != NULL)
		EvtClose(c->sub);
	c->sub = NULL;
	c->retry_at = mono_us() + EVT_RETRY_US;
}

/* Subscribe to c after its stored bookmark (or from the start / the end
 * when it has none).  0, or -1 (reported, retried later). */
static int chan_subscribe(oslog_t *s, struct evt_chan *c)
{
	char cur[MAX_CURSOR_BYTES + 1];
	DWORD flags;
	int rc;

	if (c->bm != NULL)
		EvtClose(c->bm);
	c->bm = NULL;
	rc = spool_cursor_get(s->sp, c->cursor, cur, sizeof(cur));
	if (rc == 0) {
		wchar_t *w = to_wide(cur);
		c->bm = w ? EvtCreateBookmark(w) : NULL;
		free(w);
		if (c->bm == NULL)
			log_warn("eventlog: %s: the stored bookmark is not "
			    "usable; reading new events only", c->name);
	} else if (rc != TS_ENOTFOUND) {
		log_err("eventlog: %s: cannot read the stored bookmark",
		    c->name);
		c->retry_at = mono_us() + EVT_RETRY_US;
		return -1;
	}
	if (c->bm != NULL) {
		flags = EvtSubscribeStartAfterBookmark;
	} else {
		flags = s->from_start ? EvtSubscribeStartAtOldestRecord :
		    EvtSubscribeToFutureEvents;
		if ((c->bm = EvtCreateBookmark(NULL)) == NULL) {
			chan_fail(s, c, GetLastError(), "cannot create a "
			    "bookmark");
			return -1;
		}
	}
	ResetEvent(c->signal);
	c->sub = EvtSubscribe(NULL, c->signal, c->wname, c->wquery,
	    flags == EvtSubscribeStartAfterBookmark ? c->bm : NULL, NULL,
	    NULL, flags);
	if (c->sub == NULL) {
		chan_fail(s, c, GetLastError(), "cannot subscribe");
		return -1;
	}
	if (c->err_logged != 0)
		log_info("eventlog: %s: reading again", c->name);
	else
		log_info("eventlog: %s: subscribed (%s)", c->name,
		    flags == EvtSubscribeStartAfterBookmark ? "after the stored "
		    "bookmark" : flags == EvtSubscribeStartAtOldestRecord ?
		    "from the oldest event" : "new events");
	c->err_logged = 0;
	return 0;
}

/* The XML of handle h (an event or a bookmark) as UTF-8 into s->line (at
 * most MAX_LINE_BYTES; *cut set when longer).  Bytes, or -1 (GetLastError). */
static long render_xml(oslog_t *s, EVT_HANDLE h, DWORD what, int *cut)
{
	DWORD used = 0, props = 0;
	int n;

	*cut = 0;
	while (!EvtRender(NULL, h, what, (DWORD)s->wcap, s->wbuf, &used,
	    &props)) {
		size_t want;
		wchar_t *nb;

		if (GetLastError() != ERROR_INSUFFICIENT_BUFFER)
			return -1;
		want = (size_t)used + sizeof(wchar_t);
		if (want > EVT_RENDER_MAX) {
			SetLastError(ERROR_INSUFFICIENT_BUFFER);
			return -1;
		}
		if ((nb = realloc(s->wbuf, want)) == NULL) {
			SetLastError(ERROR_OUTOFMEMORY);
			return -1;
		}
		s->wbuf = nb;
		s->wcap = want;
	}
	n = WideCharToMultiByte(CP_UTF8, 0, s->wbuf, -1, s->line,
	    MAX_LINE_BYTES + 1, NULL, NULL);
	if (n == 0 && GetLastError() == ERROR_INSUFFICIENT_BUFFER) {
		/* longer than a line may be: keep the whole characters that
		 * fit */
		size_t wl = wcslen(s->wbuf);
		while (wl > 0 && (n = WideCharToMultiByte(CP_UTF8, 0, s->wbuf,
		    (int)wl, s->line, MAX_LINE_BYTES, NULL, NULL)) == 0)
			wl = wl * 3 / 4;
		*cut = 1;
		return n;
	}
	if (n <= 0)
		return -1;
	return n - 1;	/* without the NUL */
}

/* Read c: events and the bookmark after them in one transaction per
 * EvtNext batch.  0, TS_EFULL, TS_EDB. */
static int chan_poll(oslog_t *s, struct evt_chan *c, size_t *budget,
    int *more)
{
	EVT_HANDLE ev[EVT_BATCH];
	DWORD got = 0;
	int rc = 0;

	while (*budget > 0) {
		DWORD want = *budget < EVT_BATCH ? (DWORD)*budget : EVT_BATCH;
		DWORD i, taken = 0;
		long len;
		int cut;

		if (spool_is_full(s->sp))
			return TS_EFULL;
		if (!EvtNext(c->sub, want, ev, 0, 0, &got)) {
			DWORD e = GetLastError();
			if (e == ERROR_NO_MORE_ITEMS || e == ERROR_TIMEOUT)
				return 0;
			chan_fail(s, c, e, "reading stopped");
			return 0;
		}
		if ((rc = spool_begin(s->sp)) != 0)
			goto close_all;
		for (i = 0; i < got; i++) {
			uint16_t flags = 0;

			len = render_xml(s, ev[i], EvtRenderEventXml, &cut);
			if (len < 0) {
				/* an event that does not render: counted and
				 * passed (the bookmark goes past it) */
				char buf[256];
				s->st.errors++;
				log_warn("eventlog: %s: an event does not "
				    "render: %s; skipped", c->name,
				    evt_strerror(GetLastError(), buf,
				    sizeof(buf)));
				EvtUpdateBookmark(c->bm, ev[i]);
				taken++;
				continue;
			}
			if (cut) {
				flags |= EV_TRUNCATED;
				s->st.truncated++;
				if (!s->big_logged)
					log_warn("eventlog: %s: an event is "
					    "longer than %d bytes: shipped cut "
					    "(counted as truncated)", c->name,
					    MAX_LINE_BYTES);
				s->big_logged = 1;
			}
			flags |= follow_line_flags(s->line, (size_t)len);
			rc = spool_append(s->sp, now_us(), flags, c->file,
			    c->file_len, s->line, (size_t)len, NULL);
			if (rc != 0)
				break;
			EvtUpdateBookmark(c->bm, ev[i]);
			taken++;
		}
		if (taken > 0) {
			len = render_xml(s, c->bm, EvtRenderBookmark, &cut);
			if (len <= 0 || cut || (size_t)len > MAX_CURSOR_BYTES ||
			    spool_cursor_put(s->sp, c->cursor, s->line,
			    (size_t)len) != 0) {
				log_err("eventlog: %s: cannot store the bookmark",
				    c->name);
				spool_abort(s->sp);
				rc = TS_EDB;
				goto reopen;
			}
			if (rc == TS_EFULL || rc == 0) {
				int crc = spool_commit(s->sp);
				if (crc != 0) {
					rc = crc;
					goto reopen;
				}
			} else {
				spool_abort(s->sp);
				goto reopen;
			}
			s->st.entries += taken;
		} else {
			spool_abort(s->sp);
		}
		for (i = 0; i < got; i++)
			EvtClose(ev[i]);
		*budget -= taken < *budget ? taken : *budget;
		if (taken < got) {
			/* the spool stopped us: what EvtNext gave beyond it
			 * comes again from the bookmark */
			EvtClose(c->sub);
			c->sub = NULL;
			(void)chan_subscribe(s, c);
			if (rc == TS_EFULL)
				s->st.spool_full++;
			return rc ? rc : TS_EFULL;
		}
		if (got < want)
			return 0;
	}
	*more = 1;
	return 0;
reopen:
	for (DWORD i = 0; i < got; i++)
		EvtClose(ev[i]);
	EvtClose(c->sub);
	c->sub = NULL;
	(void)chan_subscribe(s, c);
	return rc;
close_all:
	for (DWORD i = 0; i < got; i++)
		EvtClose(ev[i]);
	EvtClose(c->sub);
	c->sub = NULL;
	(void)chan_subscribe(s, c);
	return rc;
}

int oslog_poll(oslog_t *s, size_t max, int *more)
{
	size_t budget = max;
	uint64_t now = mono_us();
	int rc;

	*more = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct evt_chan *c = &s->ch[i];

		if (c->sub == NULL) {
			if (now < c->retry_at || chan_subscribe(s, c) != 0)
				continue;
		}
		if ((rc = chan_poll(s, c, &budget, more)) != 0)
			return rc;
	}
	return 0;
}

int oslog_open(spool_t *sp, const struct agent_config *cfg, oslog_t **out)
{
	oslog_t *s;

	*out = NULL;
	if (cfg->journal)
		log_warn("journal: is the systemd journal, which Windows does "
		    "not have; use eventlog: (docs/windows.md)");
	if (!cfg->eventlog || cfg->nevt_channels == 0)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->ch = calloc(cfg->nevt_channels, sizeof(*s->ch))) == NULL ||
	    (s->line = malloc(MAX_LINE_BYTES + 1)) == NULL ||
	    (s->wbuf = malloc(EVT_RENDER_START)) == NULL)
		goto nomem;
	s->wcap = EVT_RENDER_START;
	s->sp = sp;
	s->from_start = cfg->from_start;
	for (size_t i = 0; i < cfg->nevt_channels; i++) {
		struct evt_chan *c = &s->ch[i];
		const char *q = cfg->evt_queries && cfg->evt_queries[i] ?
		    cfg->evt_queries[i] : "*";

		s->n = i + 1;
		if ((c->name = strdup(cfg->evt_channels[i])) == NULL ||
		    (c->cursor = xasprintf("%s%s", EVT_CURSOR_PREFIX,
		    c->name)) == NULL ||
		    (c->file = xasprintf("%s%s", EVT_FILE_PREFIX, c->name)) ==
		    NULL || (c->wname = to_wide(c->name)) == NULL ||
		    (c->wquery = to_wide(q)) == NULL ||
		    (c->signal = CreateEventA(NULL, TRUE, FALSE, NULL)) == NULL)
			goto nomem;
		c->file_len = strlen(c->file);
		(void)chan_subscribe(s, c);
	}
	*out = s;
	return 0;
nomem:
	oslog_free(&s);
	return TS_ENOMEM;
}

void oslog_free(oslog_t **sp)
{
	oslog_t *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct evt_chan *c = &s->ch[i];
		if (c->sub != NULL)
			EvtClose(c->sub);
		if (c->bm != NULL)
			EvtClose(c->bm);
		if (c->signal != NULL)
			CloseHandle(c->signal);
		free(c->name);
		free(c->cursor);
		free(c->file);
		free(c->wname);
		free(c->wquery);
	}
	free(s->ch);
	free(s->wbuf);
	free(s->line);
	free(s);
	*sp = NULL;
}

void oslog_get_stats(const oslog_t *s, struct oslog_stats *out)
{
	if (s == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = s->st;
}
