/*
 * engine.c - the rules process: journal -> decode -> rules -> alerts.
 *
 * The loop reads the journal from the state's cursor in batches.  For each
 * batch it opens ONE state write transaction that receives the alerts the
 * batch raised, the advanced cursor and the counters, and commits it: a
 * crash before the commit leaves the cursor where it was (the batch runs
 * again, its alerts were never stored), a crash after it leaves everything
 * done.  No journal read transaction stays open while the engine sleeps.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/datadir.h"
#include "common/err.h"
#include "collector/journal.h"
#include "common/limits.h"
#include "rules/rules.h"
#include "rules/decode.h"
#include "common/stats.h"
#include "common/util.h"
#include "engine/state.h"
#include "rules/correlate.h"
#include "engine/engine_int.h"
#include "engine/engine.h"

/* Sleep between two looks at an idle journal. */
#define ENGINE_IDLE_SLEEP_US	20000
/* A batch (one state transaction) ends after this long even when fewer
 * than engine.batch events were read: expensive events (a large Sigma
 * set) keep alerts committing at least this often. */
#define ENGINE_BATCH_MAX_US	250000
/* While events flow, a batch that would start with less than a quarter of
 * engine.batch waits this long once for more: fewer, larger commits. */
#define ENGINE_BATCH_GATHER_US	3000
/* Poll for a journal that does not exist yet. */
#define ENGINE_JOURNAL_WAIT_US	100000
/* Heartbeat gauge period while idle (tocsin status: alive if recent). */
#define ENGINE_HEARTBEAT_US	1000000
/* Pause after a failed batch (state full, LMDB error) before retrying. */
#define ENGINE_RETRY_US		1000000
/* Debug rate line period. */
#define ENGINE_RATE_LOG_US	10000000
/* Length of an escaped diagnostic message in the log. */
#define ENGINE_DIAG_LOG_BYTES	1024

enum {
	C_EVENTS, C_ALERTS, C_REGEX_LIMIT, C_TRUNCATED, C_RELOADS,
	C_RELOAD_FAILED, C_RULES_LOADED, C_CURSOR, C_PID, C_STARTED,
	C_HEARTBEAT, C_MISSED, C_STATE_FULL, C_BATCH_FAILED,
	C_CORR_FIRED, C_CORR_SUPPRESSED, C_CORR_LATE, C_CORR_DROPPED,
	C_CORR_EXPIRED, C_CORR_EVICTED, C_CORR_NO_GROUP, C_CORR_RULES,
	C_INC_OPENED, C_CONTROL_APPLIED, C_CONTROL_REFUSED, C_CONTROL_FAILED,
	C_READERS_CLEARED, C_RET_ALERTS, C_RET_INCIDENTS, C_RET_CHANGES,
	C_WIN_MALFORMED, C_WIN_REFUSED, C_TIME_UNPARSED, C_URL_MALFORMED,
	C_W3C_CHANGED, C_W3C_MISMATCH, C_W3C_DEFAULTED, C_W3C_EVICTED,
	C_W3C_NAMES_REFUSED,
	C_AUDIT_MALFORMED, C_AUDIT_BADHEX, C_AUDIT_ASSEMBLED,
	C_AUDIT_INCOMPLETE,
	C_FIELDS_DROPPED, C_JSON_MALFORMED, C_CEF_MALFORMED,
	C_NCOUNTERS
};

/* Counters shown by `tocsin status`; restored from the state at start. */
static const struct counter engine_counters_init[C_NCOUNTERS] = {
	[C_EVENTS] = { "engine.events_processed", 0,
	    "journal events decoded and matched" },
	[C_ALERTS] = { "engine.alerts", 0, "alerts raised" },
	[C_REGEX_LIMIT] = { "engine.regex_limit_hits", 0,
	    "PCRE2 matches stopped by the match or depth limit" },
	[C_WIN_MALFORMED] = { "engine.windows_malformed", 0,
	    "Windows Event XML that did not parse (decoded as far as read)" },
	[C_WIN_REFUSED] = { "engine.windows_refused", 0,
	    "Windows events refused past MAX_WINEVT_DEPTH / _ITEMS or for "
	    "a DTD" },
	[C_AUDIT_MALFORMED] = { "engine.audit_malformed", 0,
	    "Linux audit records with a quote never closed (decoded up to "
	    "it)" },
	[C_AUDIT_BADHEX] = { "engine.audit_bad_hex", 0,
	    "audit values that should be hex and are not (kept as "
	    "written)" },
	[C_AUDIT_ASSEMBLED] = { "engine.audit_events_assembled", 0,
	    "audit events whose records were assembled into one" },
	[C_AUDIT_INCOMPLETE] = { "engine.audit_events_incomplete", 0,
	    "audit events dropped before their last record (AUDIT_WAIT_S "
	    "in record time, or MAX_AUDIT_PENDING in progress)" },
	[C_FIELDS_DROPPED] = { "engine.fields_dropped", 0,
	    "decoded fields left out past MAX_DECODED_FIELDS in one event "
	    "(the event is still matched on the rest)" },
	[C_JSON_MALFORMED] = { "engine.json_malformed", 0,
	    "JSON events that did not parse (decoded as far as read)" },
	[C_CEF_MALFORMED] = { "engine.cef_malformed", 0,
	    "CEF records whose header did not parse" },
	[C_TIME_UNPARSED] = { "engine.record_time_unparsed", 0,
	    "records whose time field no format of their decoder read (the "
	    "event kept its header's or reading time)" },
	[C_URL_MALFORMED] = { "engine.url_malformed_escapes", 0,
	    "'%' escapes in URLs not followed by two hex digits (kept as "
	    "written)" },
	[C_W3C_CHANGED] = { "engine.w3c_fields_changed", 0,
	    "W3C #Fields: lists that changed a source's columns mid-stream" },
	[C_W3C_MISMATCH] = { "engine.w3c_column_mismatch", 0,
	    "W3C lines whose columns did not fit #Fields: (decoded as far "
	    "as they go)" },
	[C_W3C_DEFAULTED] = { "engine.w3c_default_fields", 0,
	    "W3C lines read with IIS's default fields (no #Fields: seen)" },
	[C_W3C_EVICTED] = { "engine.w3c_sources_evicted", 0,
	    "W3C sources whose #Fields: was forgotten (MAX_W3C_SOURCES)" },
	[C_W3C_NAMES_REFUSED] = { "engine.w3c_names_refused", 0,
	    "W3C #Fields: names refused (past MAX_W3C_FIELDS, bad bytes)" },
	[C_TRUNCATED] = { "engine.messages_truncated", 0,
	    "messages capped to MAX_MATCH_BYTES before matching" },
	[C_RELOADS] = { "engine.reloads", 0, "rule sets reloaded (SIGHUP)" },
	[C_RELOAD_FAILED] = { "engine.reload_failed", 0,
	    "reloads refused because the new rule set has errors" },
	[C_RULES_LOADED] = { "engine.rules_loaded", 0,
	    "rules in the running rule set (gauge)" },
	[C_CURSOR] = { "engine.cursor", 0,
	    "last journal sequence processed (gauge)" },
	[C_PID] = { "engine.pid", 0, "engine process id" },
	[C_STARTED] = { "engine.started_us", 0, "engine start time" },
	[C_HEARTBEAT] = { "engine.heartbeat_us", 0, "engine last heartbeat" },
	[C_MISSED] = { "engine.events_missed", 0,
	    "journal events gone before the engine read them (retention)" },
	[C_STATE_FULL] = { "engine.state_full", 0,
	    "batches retried because the state map or disk was full" },
	[C_BATCH_FAILED] = { "engine.batch_failed", 0,
	    "batches retried after an error (LMDB, memory)" },
	[C_CORR_FIRED] = { "engine.correlation_alerts", 0,
	    "alerts raised by correlation rules" },
	[C_CORR_SUPPRESSED] = { "engine.correlation_suppressed", 0,
	    "correlation matches inside a suppression period" },
	[C_CORR_LATE] = { "engine.correlation_late", 0,
	    "events older than their correlation window (ignored)" },
	[C_CORR_DROPPED] = { "engine.correlation_entries_dropped", 0,
	    "window entries dropped because a window was full" },
	[C_CORR_EXPIRED] = { "engine.correlation_windows_expired", 0,
	    "correlation windows expired (time)" },
	[C_CORR_EVICTED] = { "engine.correlation_windows_evicted", 0,
	    "correlation windows evicted, oldest first (too many windows)" },
	[C_CORR_NO_GROUP] = { "engine.correlation_no_group", 0,
	    "matches without the same:/distinct: field (not counted)" },
	[C_CORR_RULES] = { "engine.correlation_rules", 0,
	    "correlation rules in the running rule set (gauge)" },
	[C_INC_OPENED] = { "engine.incidents_opened", 0, "incidents opened" },
	[C_CONTROL_APPLIED] = { "engine.control_applied", 0,
	    "analyst requests applied (incident changes, drills)" },
	[C_CONTROL_REFUSED] = { "engine.control_refused", 0,
	    "analyst requests refused (bad request, unknown incident)" },
	[C_CONTROL_FAILED] = { "engine.control_failed", 0,
	    "control rounds retried after a state error" },
	[C_READERS_CLEARED] = { "engine.readers_cleared", 0,
	    "LMDB reader slots of dead processes cleared (journal, state)" },
	[C_RET_ALERTS] = { "engine.retention_alerts_deleted", 0,
	    "alerts deleted by retention (engine.alert_retention)" },
	[C_RET_INCIDENTS] = { "engine.retention_incidents_deleted", 0,
	    "closed incidents deleted by retention "
	    "(engine.incident_retention)" },
	[C_RET_CHANGES] = { "engine.retention_changes_deleted", 0,
	    "incident log entries deleted by retention" },
};

struct engine {
	const struct server_config *e_cfg;
	state_t		*e_state;
	journal_t	*e_journal;
	ruleset_t	*e_rules;
	rules_ctx_t	*e_ctx;
	const corr_set_t *e_corr;	/* e_rules' correlation rules */
	char		 e_hostname[MAX_HOST_BYTES + 1];
	struct counter	 e_c[C_NCOUNTERS];
	uint64_t	 e_cursor;	/* committed cursor */
	size_t		 e_batch_max;	/* events per batch (config) */
	size_t		 e_batch;	/* current (halved after EFULL) */
	struct jbuf	 e_jb;		/* alert JSON being written */
	struct jbuf	 e_host;	/* host as indexed */
	/* per batch: */
	state_txn_t	*e_txn;
	uint64_t	 e_expect;	/* next jseq expected */
	uint64_t	 e_batch_end;	/* mono_us: end the batch after it */
	uint64_t	 e_nevents, e_nalerts, e_nmissed, e_nopened;
	struct corr_counters e_cc;
	uint64_t	 e_wall;	/* wall clock of the batch */
	void		*e_dstate;	/* decoder state as last committed
					 * (rules_ctx_save), or NULL */
	size_t		 e_dstate_len;
	const struct jevent *e_ev;	/* event being evaluated */
	const struct rules_result *e_res;
	int		 e_err;
};

/* What an alert carries besides its rule and event. */
struct alert_extra {
	uint64_t		 incident;	/* 0: none */
	uint64_t		 detected_us;
	const struct corr_fire	*cf;		/* correlation alerts */
};

/* engine.source_timezones: an agent's or host's own zone, by name. */
static struct syslog_tz **engine_src_tz;
static size_t engine_nsrc_tz;

/* The configured zone of an event's source: its agent's name, else its
 * host's; NULL: engine.timezone applies. */
static const struct syslog_tz *
engine_source_tz(const struct server_config *cfg, const struct jevent *ev)
{
	for (size_t i = 0; i < engine_nsrc_tz; i++) {
		size_t n = strlen(cfg->tz_sources[i]);

		if ((ev->agent_len == n &&
		    memcmp(ev->agent, cfg->tz_sources[i], n) == 0) ||
		    (ev->host_len == n &&
		    memcmp(ev->host, cfg->tz_sources[i], n) == 0))
			return engine_src_tz[i];
	}
	return NULL;
}

/* ---- helpers -------------------------------------------------------------- */

static void
sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000),
	    (long)(us % 1000000) * 1000 };

	/* A signal ends the sleep early: the loop then looks at its flags. */
	(void)nanosleep(&ts, NULL);
}

/* Sleep up to us, in slices, returning early when *stop is set. */
static void
sleep_unless_stop(uint64_t us, volatile sig_atomic_t *stop)
{
	while (us > 0 && !*stop) {
		uint64_t slice = us > 100000 ? 100000 : us;

		sleep_us(slice);
		us -= slice;
	}
}

/*
 * Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if the
 * bytes there are not one (overlong forms, surrogates and code points past
 * U+10FFFF are invalid, as jansson requires).
 */
static size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t	 len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* ---- alert JSON --------------------------------------------------------------
 *
 * The alert text is written directly (compact, as jansson would print it):
 * one alert per matching rule on a busy server makes a DOM plus a dump per
 * alert the engine's largest cost.  Every string goes through jb_str, which
 * escapes what JSON requires and replaces invalid UTF-8 bytes with U+FFFD
 * each (the raw bytes stay in the journal).
 */

/* Bytes copied as they are inside a JSON string: printable ASCII but the
 * quote and the backslash. */
static const unsigned char jb_plain[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
	R16(0), R16(0),
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x20: '"' */
	R16(1), R16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x50: '\\' */
	R16(1),
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0,	/* 0x70: DEL */
	R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0),
#undef R16
};

/* Whether the 8 bytes of w are all plain (jb_plain), tested at once: none
 * at or above 0x80, none below 0x20 (exact for bytes below 0x80), none
 * equal to '"', '\\' or DEL.  A word it refuses goes byte by byte. */
static inline int
jb_word_plain(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = 0x8080808080808080ULL;
	uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
	uint64_t d = w ^ (ones * 0x7f);

	return ((w & high) | ((w - ones * 0x20) & ~w & high) |
	    ((q - ones) & ~q & high) | ((b - ones) & ~b & high) |
	    ((d - ones) & ~d & high)) == 0;
}

/* A JSON string of the len bytes at p (NULL: ""), quotes included. */
static void
jb_str(struct jbuf *jb, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)p;
	size_t	 i = 0, run, l;
	char	*o;

	/* Worst case 6 output bytes per input byte (\u00XX), plus quotes. */
	if (len > (SIZE_MAX - 2) / 6) {
		jb->oom = 1;
		return;
	}
	jb_need(jb, len * 6 + 2);
	if (jb->oom)
		return;
	o = jb->b + jb->len;
	*o++ = '"';
	while (i < len) {
		/* Plain printable ASCII in one copy. */
		for (run = i; len - run >= 8; run += 8) {
			uint64_t w;

			memcpy(&w, u + run, 8);
			if (!jb_word_plain(w))
				break;
		}
		for (; run < len && jb_plain[u[run]]; run++)
			;
		if (run > i) {
			memcpy(o, p + i, run - i);
			o += run - i;
			i = run;
			continue;
		}
		if (u[i] == '"' || u[i] == '\\') {
			*o++ = '\\';
			*o++ = (char)u[i++];
		} else if (u[i] == 0) {
			/* \u0000 is valid JSON, but jansson (the CLI) and
			 * C-string consumers refuse or cut it. */
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else if (u[i] < 0x20 || u[i] == 0x7f) {
			switch (u[i]) {
			case '\n': *o++ = '\\'; *o++ = 'n'; break;
			case '\r': *o++ = '\\'; *o++ = 'r'; break;
			case '\t': *o++ = '\\'; *o++ = 't'; break;
			default:
				memcpy(o, "\\u00", 4);
				o[4] = hex[u[i] >> 4];
				o[5] = hex[u[i] & 0xf];
				o += 6;
			}
			i++;
		} else if ((l = utf8_seq_len(u + i, len - i)) == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			i++;
		} else {
			memcpy(o, p + i, l);
			o += l;
			i += l;
		}
	}
	*o++ = '"';
	jb->len = (size_t)(o - jb->b);
}

/* The len bytes at p with invalid UTF-8 bytes replaced by U+FFFD. */
static void
jb_utf8(struct jbuf *jb, const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t	 l;

	for (size_t i = 0; i < len; i += l) {
		if ((l = utf8_seq_len(u + i, len - i)) == 0) {
			jb_raw(jb, "\xef\xbf\xbd", 3);
			l = 1;
		} else
			jb_raw(jb, p + i, l);
	}
}

static void
jb_cstr(struct jbuf *jb, const char *s)
{
	jb_str(jb, s, s == NULL ? 0 : strlen(s));
}

/* ,"key": */
static inline void
jb_key(struct jbuf *jb, const char *key)
{
	jb_raw(jb, ",\"", 2);
	jb_lit(jb, key);
	jb_raw(jb, "\":", 2);
}

static void
jb_list(struct jbuf *jb, const char *const *v, size_t n)
{
	jb_raw(jb, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			jb_raw(jb, ",", 1);
		jb_cstr(jb, v[i]);
	}
	jb_raw(jb, "]", 1);
}

static const char *
source_name(uint8_t src)
{
	switch (src) {
	case JSRC_AGENT:	return "agent";
	case JSRC_SYSLOG_UDP:	return "syslog-udp";
	case JSRC_SYSLOG_TCP:	return "syslog-tcp";
	case JSRC_REPLAY:	return "replay";
	case JSRC_INTERNAL:	return "internal";
	default:		return "unknown";
	}
}

/*
 * Write the alert object of state.h (without "id") for rule ri raised by
 * event ev whose evaluation is res, at time_us, for host, into jb (reset
 * first).  A field name decoded twice appears once, with its last value.
 * 0 or TS_ENOMEM.
 */
/* A duration as "2m", "1h30m", "45s", "1500ms". */
static void
format_duration(uint64_t us, char *buf, size_t len)
{
	uint64_t s = us / 1000000;
	size_t	 off = 0;

	buf[0] = '\0';
	if (us % 1000000 != 0 || us == 0) {
		snprintf(buf, len, "%llums", (unsigned long long)(us / 1000));
		return;
	}
	if (s >= 86400 && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%llud",
		    (unsigned long long)(s / 86400));
	if (s % 86400 >= 3600 && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%lluh",
		    (unsigned long long)(s % 86400 / 3600));
	if (s % 3600 >= 60 && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%llum",
		    (unsigned long long)(s % 3600 / 60));
	if (s % 60 != 0 && off < len)
		(void)snprintf(buf + off, len - off, "%llus",
		    (unsigned long long)(s % 60));
}

static const char *
corr_type_name(enum corr_type t)
{
	switch (t) {
	case CORR_THRESHOLD:	return "threshold";
	case CORR_DISTINCT:	return "distinct";
	case CORR_SEQUENCE:	return "sequence";
	case CORR_ALL:		return "all";
	}
	return "?";
}

/* The "message" of a correlation alert into buf. */
static void
corr_message(const struct corr_fire *cf, char *buf, size_t len)
{
	char	w[32];
	size_t	off;

	format_duration(cf->rule->timeframe_us, w, sizeof(w));
	off = (size_t)snprintf(buf, len, "%s: %u %s within %s",
	    cf->rule->title, cf->count, cf->rule->type == CORR_DISTINCT ?
	    "distinct values" : "events", w);
	for (size_t i = 0; i < cf->ngroup && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s=%s",
		    i == 0 ? " (" : ", ", cf->group_names[i],
		    cf->group_vals[i]);
	if (cf->ngroup > 0 && off < len)
		(void)snprintf(buf + off, len - off, ")");
}

static int
engine_alert_json(struct jbuf *jb, const struct jevent *ev,
    const struct rules_result *res, const struct rule_info *ri,
    uint64_t time_us, const char *host, size_t hostlen,
    const struct alert_extra *x)
{
	char	tbuf[40];
	int	first = 1;

	jb->len = 0;
	jb->oom = 0;
	format_rfc3339(time_us, tbuf, sizeof(tbuf));
	jb_lit(jb, "{\"time\":");
	jb_cstr(jb, tbuf);
	jb_key(jb, "time_us");
	jb_u64(jb, time_us);
	jb_key(jb, "level");
	jb_u64(jb, (uint64_t)(ri->level < 0 ? 0 : ri->level));

	jb_lit(jb, ",\"rule\":{\"id\":");
	jb_cstr(jb, ri->id);
	jb_key(jb, "title");
	jb_cstr(jb, ri->title);
	jb_key(jb, "mitre");
	jb_list(jb, ri->mitre, ri->nmitre);
	jb_key(jb, "groups");
	jb_list(jb, ri->groups, ri->ngroups);
	if (ri->author != NULL) {
		jb_key(jb, "author");
		jb_cstr(jb, ri->author);
	}
	jb_raw(jb, "}", 1);

	jb_key(jb, "agent");
	jb_str(jb, ev->agent, ev->agent_len);
	jb_key(jb, "host");
	jb_str(jb, host, hostlen);
	jb_key(jb, "message");
	if (x->cf != NULL) {
		char msg[1024];

		corr_message(x->cf, msg, sizeof(msg));
		jb_cstr(jb, msg);
	} else
		jb_str(jb, ev->raw, ev->raw_len);

	jb_lit(jb, ",\"fields\":{");
	for (size_t i = 0; x->cf != NULL && i < x->cf->ngroup; i++) {
		if (i > 0)
			jb_raw(jb, ",", 1);
		jb_cstr(jb, x->cf->group_names[i]);
		jb_raw(jb, ":", 1);
		jb_cstr(jb, x->cf->group_vals[i]);
	}
	for (size_t i = 0; x->cf == NULL && i < res->nfields; i++) {
		const struct rules_field *f = &res->fields[i];
		size_t k;

		if (f->name == NULL)
			continue;
		/* names are mostly the rule set's own strings: the same
		 * pointer, or a first byte that differs, decides at once */
		for (k = i + 1; k < res->nfields; k++)
			if (res->fields[k].name != NULL &&
			    (res->fields[k].name == f->name ||
			    (res->fields[k].name[0] == f->name[0] &&
			    strcmp(res->fields[k].name, f->name) == 0)))
				break;
		if (k < res->nfields)
			continue;	/* a later value wins */
		if (!first)
			jb_raw(jb, ",", 1);
		first = 0;
		jb_cstr(jb, f->name);
		jb_raw(jb, ":", 1);
		jb_str(jb, f->val, f->val == NULL ? 0 : f->len);
	}
	jb_raw(jb, "}", 1);

	jb_lit(jb, ",\"event\":{\"jseq\":");
	jb_u64(jb, ev->jseq);
	jb_key(jb, "file");
	jb_str(jb, ev->file, ev->file_len);
	jb_key(jb, "source");
	jb_cstr(jb, source_name(ev->source));
	/* when it was read, beside the alert's time (the record's own) */
	format_rfc3339(ev->time_us != 0 ? ev->time_us : ev->recv_us, tbuf,
	    sizeof(tbuf));
	jb_key(jb, "read_time");
	jb_cstr(jb, tbuf);
	jb_raw(jb, "}", 1);
	if (ev->drill_len > 0) {
		jb_key(jb, "drill");
		jb_str(jb, ev->drill, ev->drill_len);
	}
	format_rfc3339(x->detected_us, tbuf, sizeof(tbuf));
	jb_key(jb, "detected");
	jb_cstr(jb, tbuf);
	if (x->incident != 0) {
		jb_key(jb, "incident");
		jb_u64(jb, x->incident);
	}
	if (x->cf != NULL) {
		char w[32];

		format_duration(x->cf->rule->timeframe_us, w, sizeof(w));
		jb_lit(jb, ",\"correlation\":{\"type\":");
		jb_cstr(jb, corr_type_name(x->cf->rule->type));
		jb_key(jb, "count");
		jb_u64(jb, x->cf->count);
		jb_key(jb, "window");
		jb_cstr(jb, w);
		jb_lit(jb, ",\"group\":{");
		for (size_t i = 0; i < x->cf->ngroup; i++) {
			if (i > 0)
				jb_raw(jb, ",", 1);
			jb_cstr(jb, x->cf->group_names[i]);
			jb_raw(jb, ":", 1);
			jb_cstr(jb, x->cf->group_vals[i]);
		}
		jb_lit(jb, "},\"alerts\":[");
		for (size_t i = 0; i < x->cf->nalert_ids; i++) {
			if (i > 0)
				jb_raw(jb, ",", 1);
			jb_u64(jb, x->cf->alert_ids[i]);
		}
		jb_raw(jb, "]", 1);
		jb_key(jb, "suppressed");
		jb_u64(jb, x->cf->suppressed);
		jb_raw(jb, "}", 1);
	}
	jb_raw(jb, "}", 1);
	return jb->oom ? TS_ENOMEM : 0;
}

/* A NUL-terminated copy of a decoded field (or of cf's group value). */
static char *
field_dup(const struct rules_result *res, const struct corr_fire *cf,
    const char *name)
{
	const struct rules_field *f;
	char *s;

	if (cf != NULL) {
		for (size_t i = 0; i < cf->ngroup; i++)
			if (strcmp(cf->group_names[i], name) == 0)
				return strdup(cf->group_vals[i]);
		return NULL;
	}
	if ((f = rules_result_field(res, name)) == NULL || f->len == 0 ||
	    memchr(f->val, 0, f->len) != NULL)
		return NULL;
	if ((s = malloc(f->len + 1)) == NULL)
		return NULL;
	memcpy(s, f->val, f->len);
	s[f->len] = '\0';
	return s;
}

/*
 * Store one alert in the batch's transaction: pick its incident, write
 * the JSON, record it in the incident.  cf: a correlation rule fired (ri is
 * its rule).  *aid (may be NULL) gets the alert id.  0 or a TS_E*.
 */
static int
engine_raise(struct engine *e, const struct jevent *ev,
    const struct rules_result *res, const struct rule_info *ri,
    const struct corr_fire *cf, uint64_t *aid)
{
	const struct rules_field *hf;
	const char	*host = ev->host;
	size_t		 hostlen = ev->host_len;
	uint64_t	 time_us, id = 0;
	struct alert_extra x;
	struct inc_alert ia;
	char		*srcip = NULL, *user = NULL, *drill = NULL;
	int		 ret, level, isnew = 0;

	/* The host the line names in its syslog header (the entity the IR
	 * team works on; an agent may forward other hosts' logs), else the
	 * one the agent or the listener reported.  The authenticated agent
	 * name is in the alert too. */
	if ((hf = rules_result_field(res, "host")) != NULL && hf->len > 0) {
		host = hf->val;
		hostlen = hf->len;
	}
	time_us = cf != NULL ? cf->time_us : res->time_us != 0 ?
	    res->time_us : ev->time_us != 0 ? ev->time_us : ev->recv_us;
	level = ri->level < 0 ? 0 : ri->level > 15 ? 15 : ri->level;

	/* The host index takes the host as the alert shows it once decoded:
	 * invalid UTF-8 replaced, not JSON-escaped. */
	e->e_host.len = 0;
	e->e_host.oom = 0;
	jb_utf8(&e->e_host, host, hostlen);
	jb_raw(&e->e_host, "", 1);
	if (e->e_host.oom)
		return TS_ENOMEM;

	memset(&ia, 0, sizeof(ia));
	/* the entities only for an alert that opens or joins an incident
	 * (incident_pick passes the others by) */
	if (level >= e->e_cfg->incident_min_level) {
		srcip = field_dup(res, cf, "srcip");
		user = field_dup(res, cf, "user");
		if (ev->drill_len > 0 &&
		    (drill = malloc(ev->drill_len + 1)) == NULL) {
			ret = TS_ENOMEM;
			goto out;
		}
		if (drill != NULL) {
			memcpy(drill, ev->drill, ev->drill_len);
			drill[ev->drill_len] = '\0';
		}
	}
	ia.time_us = time_us;
	ia.level = level;
	ia.rule_id = ri->id;
	ia.rule_title = ri->title;
	ia.host = e->e_host.b;
	ia.srcip = srcip;
	ia.user = user;
	ia.mitre = ri->mitre;
	ia.nmitre = ri->nmitre;
	ia.drill = drill;
	if ((ret = incident_pick(e->e_txn, e->e_cfg, &ia, &x.incident,
	    &isnew)) != 0)
		goto out;
	x.detected_us = e->e_wall;
	x.cf = cf;
	if ((ret = engine_alert_json(&e->e_jb, ev, res, ri, time_us, host,
	    hostlen, &x)) != 0)
		goto out;
	if ((ret = state_txn_add_alert(e->e_txn, time_us, level,
	    e->e_host.b, ri->id, e->e_jb.b, e->e_jb.len, &id)) != 0)
		goto out;
	if (x.incident != 0) {
		ia.id = id;
		if ((ret = incident_attach(e->e_txn, x.incident, isnew, &ia,
		    e->e_wall)) != 0)
			goto out;
		if (isnew)
			e->e_nopened++;
	}
	if (aid != NULL)
		*aid = id;
out:
	free(srcip);
	free(user);
	free(drill);
	return ret;
}

/* corr_eval's callback: raise the correlation alert. */
static int
engine_corr_fire(const struct corr_fire *f, void *arg)
{
	struct engine *e = arg;
	int ret;

	if ((ret = engine_raise(e, e->e_ev, e->e_res, &f->rule->info, f,
	    NULL)) != 0)
		return ret;
	e->e_nalerts++;
	return 0;
}

/* Decode, match, raise the alerts of one event and run correlation. */
static int
engine_eval_event(struct engine *e, const struct jevent *ev)
{
	struct rules_event	 re;
	struct rules_result	 res;
	uint64_t		 first_alert = 0, aid, time_us;
	char			*drill = NULL;
	int			 ret;

	memset(&re, 0, sizeof(re));
	re.raw = ev->raw;
	re.raw_len = ev->raw_len;
	re.host = ev->host;
	re.host_len = ev->host_len;
	re.agent = ev->agent;
	re.agent_len = ev->agent_len;
	re.file = ev->file;
	re.file_len = ev->file_len;
	re.source = journal_source_name(ev->source);
	re.source_len = strlen(re.source);
	re.time_us = ev->time_us != 0 ? ev->time_us : ev->recv_us;
	re.tz = engine_source_tz(e->e_cfg, ev);
	memset(&res, 0, sizeof(res));
	if ((ret = rules_eval(e->e_ctx, &re, &res)) != 0)
		return ret < 0 ? ret : TS_EINVAL;
	e->e_nevents++;
	for (size_t i = 0; i < res.nalerts; i++) {
		/* a rule that only feeds a Sigma correlation (generate:
		 * false) raises no alert of its own */
		if (corr_set_silences(e->e_corr, res.alerts[i]->id))
			continue;
		if ((ret = engine_raise(e, ev, &res, res.alerts[i], NULL,
		    &aid)) != 0)
			return ret;
		if (first_alert == 0)
			first_alert = aid;
		e->e_nalerts++;
	}
	if (corr_set_count(e->e_corr) == 0 || res.nmatched == 0)
		return 0;
	time_us = res.time_us != 0 ? res.time_us : re.time_us;
	if (ev->drill_len > 0) {
		if ((drill = malloc(ev->drill_len + 1)) == NULL)
			return TS_ENOMEM;
		memcpy(drill, ev->drill, ev->drill_len);
		drill[ev->drill_len] = '\0';
	}
	e->e_ev = ev;
	e->e_res = &res;
	ret = corr_eval(e->e_txn, e->e_corr, &res, time_us, drill, first_alert,
	    e->e_wall, &e->e_cc, engine_corr_fire, e);
	e->e_ev = NULL;
	e->e_res = NULL;
	free(drill);
	return ret;
}

/* journal_scan callback: one journal event, once. */
static int
engine_event_cb(const struct jevent *ev, void *arg)
{
	struct engine	*e = arg;
	int		 ret;

	if (ev->jseq < e->e_expect)
		return 0;	/* already processed: never twice */
	if (ev->jseq > e->e_expect)
		e->e_nmissed += ev->jseq - e->e_expect;
	e->e_expect = ev->jseq + 1;
	if ((ret = engine_eval_event(e, ev)) != 0) {
		e->e_err = ret;
		return ret;
	}
	/* batch long enough by time: commit what it has */
	return (e->e_nevents & 63) == 0 && mono_us() > e->e_batch_end ? 1 : 0;
}

/* ---- rule sets ----------------------------------------------------------- */

static void
engine_log_diags(const struct rules_diags *dl)
{
	char msg[ENGINE_DIAG_LOG_BYTES], file[ENGINE_DIAG_LOG_BYTES];

	for (size_t i = 0; i < dl->n; i++) {
		const struct rules_diag *d = &dl->d[i];

		escape_text(d->file ? d->file : "?",
		    d->file ? strlen(d->file) : 1, file, sizeof(file));
		escape_text(d->msg ? d->msg : "",
		    d->msg ? strlen(d->msg) : 0, msg, sizeof(msg));
		if (d->line <= 0)	/* about the whole file */
			(d->warning ? log_warn : log_err)("%s: %s%s", file,
			    d->warning ? "warning: " : "", msg);
		else if (d->warning)
			log_warn("%s:%d:%d: warning: %s", file, d->line,
			    d->col, msg);
		else
			log_err("%s:%d:%d: %s", file, d->line, d->col, msg);
	}
}

/* engine.timezone: the zone of syslog headers that give none; loaded once
 * at start (NULL: UTC), used by every rule context of the process. */
static struct syslog_tz *engine_tz;

/* Load the configured rule set (its correlation rules included: one loader,
 * the one `tocsin rules lint` and `tocsind -t` use) and a context for it.
 * 0, TS_EPARSE (logged; *nerrors says how many) or TS_ENOMEM. */
static int
engine_load_rules(const struct server_config *cfg, ruleset_t **rs,
    rules_ctx_t **ctx, size_t *nerrors)
{
	struct rules_diags	dl;
	int			ret;

	memset(&dl, 0, sizeof(dl));
	*rs = NULL;
	*ctx = NULL;
	ret = ruleset_load((const char *const *)cfg->rule_paths,
	    cfg->nrule_paths, rs, &dl);
	engine_log_diags(&dl);
	if (ret == 0 && dl.errors > 0)
		ret = TS_EPARSE;
	if (nerrors != NULL)
		*nerrors = dl.errors > 0 ? dl.errors : 1;
	rules_diags_free(&dl);
	if (ret != 0) {
		ruleset_free(rs);
		log_err("engine: rule set refused (%s)", ts_strerror(ret));
		return ret;
	}
	if ((*ctx = rules_ctx_new(*rs)) == NULL) {
		ruleset_free(rs);
		return TS_ENOMEM;
	}
	rules_ctx_set_tz(*ctx, engine_tz);
	return 0;
}

/*
 * Evaluate one of the engine's own events (agreement: a syslog line
 * "<RFC3339> <host> tocsin[<pid>]: <message>", source internal) through the
 * rules, in a transaction of its own.  Failures are logged, not fatal.
 */
static void
engine_internal_event(struct engine *e, const char *msg)
{
	struct jevent	ev;
	char		tb[40], *line;
	uint64_t	t = now_us();
	int		ret;

	if (e->e_state == NULL)
		return;
	format_rfc3339(t, tb, sizeof(tb));
	if ((line = xasprintf("%s %s tocsin[%ld]: %s", tb, e->e_hostname,
	    (long)getpid(), msg)) == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.source = JSRC_INTERNAL;
	ev.recv_us = ev.time_us = t;
	ev.agent = "";
	ev.host = e->e_hostname;
	ev.host_len = strlen(e->e_hostname);
	ev.file = "tocsind";
	ev.file_len = 7;
	ev.drill = "";
	ev.raw = line;
	ev.raw_len = strlen(line);
	e->e_wall = t;
	e->e_nevents = e->e_nalerts = e->e_nopened = 0;
	memset(&e->e_cc, 0, sizeof(e->e_cc));
	if ((ret = state_begin(e->e_state, &e->e_txn)) == 0) {
		ret = engine_eval_event(e, &ev);
		if (ret == 0)
			ret = incident_flush(e->e_txn);
		if (ret == 0)
			ret = state_commit(&e->e_txn);
		else {
			incident_forget();
			state_abort(&e->e_txn);
		}
	}
	if (ret != 0)
		log_warn("engine: internal event not evaluated: %s",
		    ts_strerror(ret));
	else {
		e->e_c[C_ALERTS].value += e->e_nalerts;
		e->e_c[C_INC_OPENED].value += e->e_nopened;
	}
	free(line);
}

/* SIGHUP: load the new set; keep the old one if it has errors. */
static void
engine_reload(struct engine *e)
{
	ruleset_t	*rs;
	rules_ctx_t	*ctx;
	const corr_set_t *cs;
	size_t		 nerr = 0;
	char		 msg[96];

	log_info("engine: reloading rules");
	if (engine_load_rules(e->e_cfg, &rs, &ctx, &nerr) != 0) {
		e->e_c[C_RELOAD_FAILED].value++;
		log_err("engine: reload failed, keeping the running rule set "
		    "(%zu rules)", ruleset_rule_count(e->e_rules));
		snprintf(msg, sizeof(msg), "rule set reload refused: %zu "
		    "errors", nerr);
		engine_internal_event(e, msg);
		return;
	}
	if (rules_ctx_restore(ctx, e->e_dstate, e->e_dstate_len) != 0)
		log_err("engine: audit events in progress lost at reload");
	rules_ctx_free(&e->e_ctx);
	ruleset_free(&e->e_rules);
	cs = ruleset_corr(rs);
	e->e_rules = rs;
	e->e_ctx = ctx;
	e->e_corr = cs;
	e->e_c[C_RELOADS].value++;
	e->e_c[C_RULES_LOADED].value = ruleset_rule_count(rs);
	e->e_c[C_CORR_RULES].value = corr_set_count(cs);
	log_info("engine: %zu rules loaded (%zu correlation rules)",
	    ruleset_rule_count(rs), corr_set_count(cs));
	snprintf(msg, sizeof(msg), "rule set reloaded: %zu rules",
	    ruleset_rule_count(rs) + corr_set_count(cs));
	engine_internal_event(e, msg);
}

/* ---- batches --------------------------------------------------------------- */

/* Clear the reader slots dead processes left in the journal and the state
 * (a CLI killed mid-read), counting them. */
static void
engine_readers_reclaim(struct engine *e)
{
	if (e->e_state != NULL)
		(void)state_readers_reclaim(e->e_state,
		    &e->e_c[C_READERS_CLEARED].value);
	if (e->e_journal != NULL)
		(void)journal_readers_reclaim(e->e_journal,
		    &e->e_c[C_READERS_CLEARED].value);
}

/* Commit the counters (and the heartbeat) alone.  0 or a TS_E*. */
static int
engine_write_stats(struct engine *e)
{
	state_txn_t	*t;
	int		 ret;

	e->e_c[C_HEARTBEAT].value = now_us();
	if ((ret = state_begin(e->e_state, &t)) != 0)
		return ret;
	if ((ret = state_txn_write_stats(t, e->e_c, C_NCOUNTERS)) != 0) {
		state_abort(&t);
		return ret;
	}
	return state_commit(&t);
}

/* Which engine counter each decoder counter of the rules ctx feeds: a
 * batch adds what the ctx counted while it ran (after - before). */
static const struct {
	int	c;
	size_t	off;
} rc_map[] = {
#define RC(idx, field) { idx, offsetof(struct rules_counters, field) }
	RC(C_REGEX_LIMIT, regex_limit_hits),
	RC(C_TRUNCATED, truncated),
	RC(C_WIN_MALFORMED, winevt_malformed),
	RC(C_WIN_REFUSED, winevt_refused),
	RC(C_TIME_UNPARSED, time_unparsed),
	RC(C_URL_MALFORMED, url_malformed),
	RC(C_W3C_CHANGED, w3c_fields_changed),
	RC(C_W3C_MISMATCH, w3c_mismatch),
	RC(C_W3C_DEFAULTED, w3c_defaulted),
	RC(C_W3C_EVICTED, w3c_evicted),
	RC(C_W3C_NAMES_REFUSED, w3c_names_refused),
	RC(C_AUDIT_MALFORMED, audit_malformed),
	RC(C_AUDIT_BADHEX, audit_badhex),
	RC(C_AUDIT_ASSEMBLED, audit_assembled),
	RC(C_AUDIT_INCOMPLETE, audit_incomplete),
	RC(C_FIELDS_DROPPED, fields_dropped),
	RC(C_JSON_MALFORMED, json_malformed),
	RC(C_CEF_MALFORMED, cef_malformed),
#undef RC
};

static void
rc_delta(struct engine *e, const struct rules_counters *rc0,
    const struct rules_counters *rc1)
{
	size_t	 i;
	uint64_t a, b;

	for (i = 0; i < sizeof(rc_map) / sizeof(rc_map[0]); i++) {
		memcpy(&a, (const char *)rc0 + rc_map[i].off, sizeof(a));
		memcpy(&b, (const char *)rc1 + rc_map[i].off, sizeof(b));
		e->e_c[rc_map[i].c].value += b - a;
	}
}

/*
 * Process at most e_batch events after the cursor in one state transaction;
 * jlast is the journal's last sequence, read before.  *n gets the number of
 * journal sequences consumed.  0, or a TS_E* with nothing committed (the
 * counters are left as they were).
 */
static int
engine_batch(struct engine *e, uint64_t jlast, size_t *n)
{
	struct counter		 saved[C_NCOUNTERS];
	struct rules_counters	 rc0, rc1;
	uint64_t		 last = 0;
	void			*dstate = NULL;
	size_t			 dlen = 0;
	int			 ret;

	*n = 0;
	memcpy(saved, e->e_c, sizeof(saved));
	rules_ctx_counters(e->e_ctx, &rc0);
	e->e_expect = e->e_cursor + 1;
	e->e_nevents = e->e_nalerts = e->e_nmissed = e->e_nopened = 0;
	memset(&e->e_cc, 0, sizeof(e->e_cc));
	e->e_wall = now_us();
	e->e_batch_end = mono_us() + ENGINE_BATCH_MAX_US;
	e->e_err = 0;
	if ((ret = state_begin(e->e_state, &e->e_txn)) != 0)
		return ret;
	if ((ret = corr_expire(e->e_txn, e->e_wall, MAX_CORR_WINDOWS,
	    &e->e_cc)) != 0)
		goto fail;
	ret = journal_scan(e->e_journal, e->e_cursor + 1, e->e_batch,
	    engine_event_cb, e, &last);
	if (ret == 0 && e->e_err != 0)
		ret = e->e_err;
	if (ret != 0)
		goto fail;
	if (last <= e->e_cursor) {
		/* The journal holds sequences up to jlast but none of them
		 * after the cursor: retention removed them before the engine
		 * read them.  Count them and move on. */
		last = jlast;
		e->e_nmissed = jlast - e->e_cursor;
	}
	rules_ctx_counters(e->e_ctx, &rc1);
	e->e_c[C_EVENTS].value += e->e_nevents;
	e->e_c[C_ALERTS].value += e->e_nalerts;
	e->e_c[C_INC_OPENED].value += e->e_nopened;
	e->e_c[C_CORR_FIRED].value += e->e_cc.fired;
	e->e_c[C_CORR_SUPPRESSED].value += e->e_cc.suppressed;
	e->e_c[C_CORR_LATE].value += e->e_cc.late;
	e->e_c[C_CORR_DROPPED].value += e->e_cc.dropped;
	e->e_c[C_CORR_EXPIRED].value += e->e_cc.expired;
	e->e_c[C_CORR_EVICTED].value += e->e_cc.evicted;
	e->e_c[C_CORR_NO_GROUP].value += e->e_cc.no_group;
	e->e_c[C_MISSED].value += e->e_nmissed;
	rc_delta(e, &rc0, &rc1);
	/* the decoders' state (audit events in progress) commits with the
	 * cursor: a restart goes on from exactly these events */
	if ((ret = rules_ctx_save(e->e_ctx, &dstate, &dlen)) != 0)
		goto fail;
	ret = dlen > 0 ? state_txn_put(e->e_txn, STATE_DB_DECODE, "audit", 5,
	    dstate, dlen) : state_txn_del(e->e_txn, STATE_DB_DECODE, "audit",
	    5);
	if (ret != 0)
		goto fail;
	e->e_c[C_CURSOR].value = last;
	e->e_c[C_HEARTBEAT].value = now_us();
	if ((ret = incident_flush(e->e_txn)) != 0 ||
	    (ret = state_txn_set_cursor(e->e_txn, last)) != 0 ||
	    (ret = state_txn_write_stats(e->e_txn, e->e_c, C_NCOUNTERS)) != 0)
		goto fail;
	ret = state_commit(&e->e_txn);
	if (ret != 0)
		goto restore;
	free(e->e_dstate);
	e->e_dstate = dstate;
	e->e_dstate_len = dlen;
	if (e->e_nmissed > 0)
		log_warn("engine: %llu journal events were gone before "
		    "processing (retention)", (unsigned long long)e->e_nmissed);
	*n = (size_t)(last - e->e_cursor);
	e->e_cursor = last;
	return 0;
fail:
	incident_forget();
	state_abort(&e->e_txn);
restore:
	memcpy(e->e_c, saved, sizeof(saved));
	/* the events of the batch will be read again: the decoders' state
	 * goes back to what the state holds */
	free(dstate);
	if (rules_ctx_restore(e->e_ctx, e->e_dstate, e->e_dstate_len) != 0)
		log_err("engine: audit events in progress lost at a failed "
		    "batch");
	return ret;
}

/* ---- the process ----------------------------------------------------------- */

static void
engine_cleanup(struct engine *e)
{
	incident_forget();
	state_abort(&e->e_txn);
	rules_ctx_free(&e->e_ctx);
	ruleset_free(&e->e_rules);
	syslog_tz_free(&engine_tz);
	for (size_t i = 0; i < engine_nsrc_tz; i++)
		syslog_tz_free(&engine_src_tz[i]);
	free(engine_src_tz);
	engine_src_tz = NULL;
	engine_nsrc_tz = 0;
	free(e->e_dstate);
	e->e_dstate = NULL;
	e->e_dstate_len = 0;
	e->e_corr = NULL;
	journal_close(&e->e_journal);
	state_close(&e->e_state);
	free(e->e_jb.b);
	free(e->e_host.b);
	memset(&e->e_jb, 0, sizeof(e->e_jb));
	memset(&e->e_host, 0, sizeof(e->e_host));
}

/* Open the journal read-only, waiting for the collector to create it.
 * 0, 1 when *stop was set first, or a TS_E*. */
static int
engine_wait_journal(struct engine *e, const char *dir,
    volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
	uint64_t	last_beat = mono_us();
	int		ret, said = 0;

	while (!*stop) {
		ret = journal_open(dir, JOURNAL_RDONLY, 0, &e->e_journal);
		if (ret != TS_ENOTFOUND)
			return ret;
		if (!said++)
			log_info("engine: waiting for the journal in %s", dir);
		if (*reload) {
			*reload = 0;
			engine_reload(e);
		}
		if (mono_us() - last_beat >= ENGINE_HEARTBEAT_US) {
			(void)engine_write_stats(e);
			last_beat = mono_us();
		}
		sleep_us(ENGINE_JOURNAL_WAIT_US);
	}
	return 1;
}

int
engine_run(const struct server_config *cfg, volatile sig_atomic_t *stop,
    volatile sig_atomic_t *reload)
{
	struct engine	 e;
	char		*rundir = NULL, *pidpath = NULL, *statedir = NULL;
	char		*jdir = NULL;
	uint64_t	 last_beat, last_rate, rate_events = 0, jlast, t;
	uint64_t	 last_fail_log = 0, last_reclaim = 0;
	size_t		 n;
	int		 ret, behind_said = 0, flowing = 0;

	memset(&e, 0, sizeof(e));
	e.e_cfg = cfg;
	memcpy(e.e_c, engine_counters_init, sizeof(e.e_c));
	e.e_batch_max = cfg->batch_events ? cfg->batch_events :
	    ENGINE_BATCH_EVENTS;
	e.e_batch = e.e_batch_max;

	rundir = datadir_path(cfg->data_dir, DD_RUN);
	pidpath = datadir_pidfile(cfg->data_dir, "engine");
	statedir = datadir_path(cfg->data_dir, DD_STATE);
	jdir = datadir_path(cfg->data_dir, DD_JOURNAL);
	if (!rundir || !pidpath || !statedir || !jdir) {
		ret = TS_ENOMEM;
		goto out;
	}
	if ((ret = mkdir_p(rundir, 0700)) != 0 ||
	    (ret = pidfile_write(pidpath)) != 0) {
		log_err("engine: cannot write %s: %s", pidpath,
		    ts_strerror(ret));
		goto out;
	}
	if (gethostname(e.e_hostname, sizeof(e.e_hostname) - 1) != 0 ||
	    e.e_hostname[0] == '\0')
		snprintf(e.e_hostname, sizeof(e.e_hostname), "localhost");
	for (char *p = e.e_hostname; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			*p = '_';
	if (cfg->timezone != NULL) {
		char why[256];

		if ((ret = syslog_tz_new(cfg->timezone, &engine_tz, why,
		    sizeof(why))) != 0) {
			log_err("engine: %s: engine.timezone: %s", cfg->source,
			    why);
			goto out;
		}
	}
	if (cfg->ntz_sources > 0 && (engine_src_tz = calloc(cfg->ntz_sources,
	    sizeof(*engine_src_tz))) == NULL) {
		ret = TS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->ntz_sources; i++) {
		char why[256];

		if ((ret = syslog_tz_new(cfg->tz_zones[i], &engine_src_tz[i],
		    why, sizeof(why))) != 0) {
			log_err("engine: %s: engine.source_timezones: %s: %s",
			    cfg->source, cfg->tz_sources[i], why);
			goto out;
		}
		engine_nsrc_tz = i + 1;
	}
	if ((ret = engine_load_rules(cfg, &e.e_rules, &e.e_ctx, NULL)) != 0)
		goto out;
	e.e_corr = ruleset_corr(e.e_rules);
	if ((ret = state_open(statedir, 0, cfg->state_map_bytes,
	    &e.e_state)) != 0) {
		log_err("engine: cannot open the state in %s: %s", statedir,
		    ts_strerror(ret));
		goto out;
	}
	if ((ret = state_stats_load(e.e_state, e.e_c, C_NCOUNTERS)) != 0 ||
	    (ret = state_cursor_get(e.e_state, &e.e_cursor)) != 0) {
		log_err("engine: cannot read the state: %s", ts_strerror(ret));
		goto out;
	}
	{
		char *ds = NULL;
		size_t dl = 0;

		ret = state_get(e.e_state, STATE_DB_DECODE, "audit", 5, &ds,
		    &dl);
		if (ret == 0) {
			e.e_dstate = ds;
			e.e_dstate_len = dl;
			if (rules_ctx_restore(e.e_ctx, ds, dl) != 0)
				log_err("engine: audit events in progress in "
				    "the state are unreadable: dropped");
		} else if (ret != TS_ENOTFOUND) {
			log_err("engine: cannot read the state: %s",
			    ts_strerror(ret));
			goto out;
		}
		ret = 0;
	}
	e.e_c[C_PID].value = (uint64_t)getpid();
	e.e_c[C_STARTED].value = now_us();
	e.e_c[C_RULES_LOADED].value = ruleset_rule_count(e.e_rules);
	e.e_c[C_CORR_RULES].value = corr_set_count(e.e_corr);
	e.e_c[C_CURSOR].value = e.e_cursor;
	if ((ret = engine_write_stats(&e)) != 0) {
		log_err("engine: cannot write the state: %s", ts_strerror(ret));
		goto out;
	}
	log_info("engine: %zu rules, cursor at %llu",
	    ruleset_rule_count(e.e_rules), (unsigned long long)e.e_cursor);

	ret = engine_wait_journal(&e, jdir, stop, reload);
	if (ret == 1) {
		ret = 0;
		goto out;
	}
	if (ret != 0) {
		log_err("engine: cannot open the journal in %s: %s", jdir,
		    ts_strerror(ret));
		goto out;
	}

	last_beat = last_rate = mono_us();
	while (!*stop) {
		if (mono_us() - last_reclaim >= ENGINE_HEARTBEAT_US) {
			engine_readers_reclaim(&e);
			if (engine_retention_run(e.e_state, cfg,
			    &e.e_c[C_RET_ALERTS].value,
			    &e.e_c[C_RET_INCIDENTS].value,
			    &e.e_c[C_RET_CHANGES].value) != 0)
				log_warn("engine: retention failed; retrying");
			last_reclaim = mono_us();
		}
		if (*reload) {
			*reload = 0;
			engine_reload(&e);
		}
		if (engine_control_run(e.e_state, cfg->data_dir,
		    &e.e_c[C_CONTROL_APPLIED].value,
		    &e.e_c[C_CONTROL_REFUSED].value) != 0)
			e.e_c[C_CONTROL_FAILED].value++;
		ret = journal_last_seq(e.e_journal, &jlast);
		if (ret == 0 && jlast > e.e_cursor && flowing &&
		    jlast - e.e_cursor < e.e_batch / 4) {
			/* events are flowing but few are here yet: let the
			 * collector commit more, then take them together */
			sleep_us(ENGINE_BATCH_GATHER_US);
			ret = journal_last_seq(e.e_journal, &jlast);
		}
		if (ret == 0 && jlast > e.e_cursor)
			ret = engine_batch(&e, jlast, &n);
		else
			n = 0;
		flowing = ret == 0 && n > 0;
		if (ret == 0 && jlast < e.e_cursor && !behind_said) {
			/* Never rewind by itself: that would raise every
			 * alert of the journal's new life twice. */
			log_err("engine: the journal ends at %llu, before the "
			    "state's cursor %llu: was the journal replaced? "
			    "Waiting for it to pass the cursor",
			    (unsigned long long)jlast,
			    (unsigned long long)e.e_cursor);
			behind_said = 1;
		}
		t = mono_us();
		if (ret != 0) {
			if (ret == TS_EFULL) {
				e.e_c[C_STATE_FULL].value++;
				if (e.e_batch > 1) {
					e.e_batch /= 2;
					continue;	/* retry smaller now */
				}
			} else
				e.e_c[C_BATCH_FAILED].value++;
			if (last_fail_log == 0 ||
			    t - last_fail_log >= ENGINE_RATE_LOG_US) {
				log_err("engine: batch after %llu failed: %s; "
				    "retrying", (unsigned long long)e.e_cursor,
				    ts_strerror(ret));
				last_fail_log = t;
			}
			(void)engine_write_stats(&e);
			sleep_unless_stop(ENGINE_RETRY_US, stop);
			e.e_batch = e.e_batch_max;
			continue;
		}
		last_fail_log = 0;
		if (n > 0) {
			rate_events += n;
			last_beat = t;
			if (e.e_batch < e.e_batch_max)
				e.e_batch = e.e_batch * 2 > e.e_batch_max ?
				    e.e_batch_max : e.e_batch * 2;
		} else {
			if (t - last_beat >= ENGINE_HEARTBEAT_US) {
				if (engine_write_stats(&e) != 0)
					log_warn("engine: heartbeat not "
					    "written");
				last_beat = t;
			}
			sleep_us(ENGINE_IDLE_SLEEP_US);
		}
		if (t - last_rate >= ENGINE_RATE_LOG_US) {
			log_debug("engine: %.1f events/s, cursor %llu",
			    (double)rate_events * 1e6 / (double)(t - last_rate),
			    (unsigned long long)e.e_cursor);
			rate_events = 0;
			last_rate = t;
		}
	}
	ret = 0;
	(void)engine_write_stats(&e);
	log_info("engine: stopped at cursor %llu",
	    (unsigned long long)e.e_cursor);
	unlink(pidpath);
out:
	engine_cleanup(&e);
	free(rundir);
	free(pidpath);
	free(statedir);
	free(jdir);
	return ret;
}
