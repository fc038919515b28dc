/*
 * rules.h - the rule language: decoders and rules compiled from YAML, and
 * the one code path that runs them on an event (used by the engine and by
 * `tocsin rules test`, so what a rule author tests is what runs).
 *
 * A rule set is loaded from files and folders (every *.yml / *.yaml below a
 * folder, in name order) by one loader, ruleset_load: native rules and
 * decoders, Sigma rules, and the correlation rules of both, so the engine,
 * `tocsind -t`, `tocsin rules lint|test|check` and `tocsin drill check`
 * accept and refuse exactly the same sets.  Loading is all-or-nothing: any
 * error refuses the whole set, and every error found is reported as
 * "file:line:col: message".
 */
#ifndef TOCSIN_RULES_H
#define TOCSIN_RULES_H

#include <stddef.h>
#include <stdint.h>

typedef struct ruleset ruleset_t;	/* compiled, immutable, shareable */
typedef struct rules_ctx rules_ctx_t;	/* per-thread scratch for matching */
struct rule_info;

/* Diagnostics found while loading; a growable list the caller frees. */
struct rules_diag {
	char	*file;
	int	 line, col;
	int	 warning;	/* 1: warning (loaded anyway), 0: error */
	char	*msg;
};
struct rules_diags {
	struct rules_diag	*d;
	size_t			 n, cap;
	size_t			 errors;
};
void rules_diags_free(struct rules_diags *dl);
/* Print each as "file:line:col: error: msg" to f (a FILE *). */
void rules_diags_print(const struct rules_diags *dl, void *f);

/*
 * Load and compile every rule and decoder file under paths.  On success
 * (no errors) *out is the rule set; otherwise TS_EPARSE and *out is NULL.
 * Warnings and errors are appended to diags either way.
 */
int ruleset_load(const char *const *paths, size_t npaths, ruleset_t **out,
    struct rules_diags *diags);
void ruleset_free(ruleset_t **rs);
size_t ruleset_rule_count(const ruleset_t *rs);
/* The i-th rule (load order; i < ruleset_rule_count), valid while rs is. */
const struct rule_info *ruleset_rule(const ruleset_t *rs, size_t i);

/* What a rule is, for alerts and for `rules test`. */
struct rule_info {
	const char		*id;
	const char		*title;
	const char		*description;	/* may be NULL */
	const char		*author;	/* may be NULL; Sigma: required */
	int			 level;		/* 0..15; 0 = ignore */
	const char *const	*mitre;		/* technique ids, "T1110.001" */
	size_t			 nmitre;
	const char *const	*groups;
	size_t			 ngroups;
	const char		*file;		/* where it was defined */
	int			 line;
};

struct syslog_tz;

/* The event as the engine has it. */
struct rules_event {
	const char	*raw;	size_t raw_len;		/* the raw line */
	const char	*host;	size_t host_len;	/* host the agent reported */
	const char	*agent;	size_t agent_len;
	const char	*file;	size_t file_len;	/* source file or listener */
	/* Who journaled it, stamped by the collector where nothing outside
	 * can forge it: "internal" (tocsin's own events), "agent",
	 * "syslog_udp", "syslog_tcp", "replay"; the built-in field
	 * "source".  NULL: not set (the field is absent). */
	const char	*source; size_t source_len;
	uint64_t	 time_us;			/* when read */
	/* Zone of the event's syslog header when it gives none (its
	 * source's configured zone); NULL: the ctx's (rules_ctx_set_tz). */
	const struct syslog_tz *tz;
};

/* A decoded field; name and value point into the ctx (valid until the next
 * rules_eval on that ctx). */
struct rules_field {
	const char	*name;
	const char	*val;
	size_t		 len;
};

struct rules_result {
	const char		 *decoder;	/* name of the decoder used, or NULL */
	const struct rules_field *fields;	/* decoded fields, incl. "host",
						 * "program", "pid", "message" */
	size_t			  nfields;
	uint64_t		  time_us;	/* event time: the record's own
						 * (Windows TimeCreated, a
						 * decoder's `time:` field), else
						 * its syslog header's, else
						 * rules_event.time_us */
	uint64_t		  read_us;	/* rules_event.time_us: when it
						 * was read */
	const struct rule_info	**matched;	/* every rule that matched */
	size_t			  nmatched;
	const struct rule_info	**alerts;	/* the rules that raise an alert
						 * (level > 0, not ignored, most
						 * specific child only) */
	size_t			  nalerts;
};

/* A matching context for one thread.  NULL on allocation failure. */
rules_ctx_t *rules_ctx_new(const ruleset_t *rs);
void rules_ctx_free(rules_ctx_t **ctx);

/*
 * Decode ev and run the rules.  *res points into ctx and stays valid until
 * the next call on ctx.  Returns 0, or TS_ENOMEM.  PCRE2 limit hits are not
 * errors: they are counted in the ctx (rules_ctx_counters).
 */
int rules_eval(rules_ctx_t *ctx, const struct rules_event *ev,
    struct rules_result *res);

/* The zone of syslog headers that give none (BSD times, ISO times without
 * an offset) for events evaluated on ctx from now on; NULL: UTC (the
 * default).  ctx does not own tz: it must outlive ctx or be replaced. */
struct syslog_tz;
void rules_ctx_set_tz(rules_ctx_t *ctx, const struct syslog_tz *tz);

/* What ctx carries from one event to the next (the Linux audit events in
 * progress, rules/decode_audit.c), as bytes: *out malloc'd (caller frees),
 * NULL with *len 0 when there is nothing.  0 or TS_ENOMEM.  restore puts
 * ctx back to what save wrote (len 0: nothing in progress); TS_EINVAL for
 * bytes save did not write (ctx then holds nothing in progress), or
 * TS_ENOMEM. */
int rules_ctx_save(const rules_ctx_t *ctx, void **out, size_t *len);
int rules_ctx_restore(rules_ctx_t *ctx, const void *buf, size_t len);

/* Counters of a ctx since it was made: events, pcre2 limit hits, truncated
 * messages; fields dropped (past the per-event field cap, or JSON/CEF
 * values skipped for depth, path length or scratch room); JSON / CEF /
 * Windows records that a decoder of that type was tried on and refused as
 * malformed or past a bound. */
struct rules_counters {
	uint64_t	events;
	uint64_t	regex_limit_hits;
	uint64_t	truncated;
	uint64_t	fields_dropped;
	uint64_t	json_malformed;
	uint64_t	cef_malformed;
	uint64_t	winevt_malformed;	/* Event XML that did not parse */
	uint64_t	winevt_refused;		/* Windows events past a bound
						 * (depth, items) or with a DTD */
	uint64_t	time_unparsed;		/* a decoder's time field that
						 * none of its formats read */
	uint64_t	url_malformed;		/* '%' escapes not followed by
						 * two hex digits (kept as
						 * written) */
	uint64_t	w3c_fields_changed;	/* #Fields: lists that changed
						 * mid-stream */
	uint64_t	w3c_mismatch;		/* W3C lines whose columns do
						 * not fit #Fields: (decoded as
						 * far as they go) */
	uint64_t	w3c_defaulted;		/* W3C lines read with IIS's
						 * default fields (no #Fields:
						 * seen for the source) */
	uint64_t	w3c_evicted;		/* W3C sources forgotten
						 * (MAX_W3C_SOURCES) */
	uint64_t	w3c_names_refused;	/* #Fields: names refused (past
						 * MAX_W3C_FIELDS, bad bytes) */
	uint64_t	audit_records;		/* Linux audit records decoded */
	uint64_t	audit_malformed;	/* ... with a quote never
						 * closed (decoded up to it) */
	uint64_t	audit_badhex;		/* hex values that did not
						 * decode (kept as written) */
	uint64_t	audit_assembled;	/* events given whole */
	uint64_t	audit_incomplete;	/* events dropped before their
						 * last record (bounded wait,
						 * or for room) */
};
void rules_ctx_counters(const rules_ctx_t *ctx, struct rules_counters *out);

/* Value of a decoded field by name, or NULL. */
const struct rules_field *rules_result_field(const struct rules_result *res,
    const char *name);

/* ---- .evtx files (evtx.c, through libevtx) ------------------------------ */

/* Largest rendered Event XML of one record taken from an .evtx file (the
 * engine caps a line at MAX_LINE_BYTES anyway; past this it is an error). */
#define EVTX_MAX_XML_BYTES	(1024 * 1024)

/* Whether the first bytes of a file are an .evtx signature ("ElfFile"). */
int evtx_is_file(const void *head, size_t len);

/* Where evtx_read sends records and problems.  event: one record's Event
 * XML (xml, len; not NUL-terminated, valid until it returns), one line;
 * returns 0 or an error code that stops the read (returned by evtx_read).
 * problem: something unreadable, with the file offset it concerns (0 when
 * unknown) and a message. */
struct evtx_sink {
	int	(*event)(void *arg, uint64_t record_id, uint64_t offset,
		    const char *xml, size_t len);
	void	(*problem)(void *arg, uint64_t offset, const char *msg);
	void	*arg;
};
struct evtx_stats {
	uint64_t	records;	/* given to event */
	uint64_t	failed;		/* records libevtx could not render,
					 * or that a damaged chunk lost */
	uint64_t	recovered;	/* deleted records found in slack space
					 * (counted, not read) */
	int		damaged;	/* truncated, bad chunks or corrupted */
};

/*
 * Read every record of the .evtx file at path, in file order, as far as it
 * is readable: what cannot be read is reported through problem and
 * counted, and the rest is still read.  Returns 0 (even for a damaged file:
 * st says), TS_EINVAL when the file is not an .evtx file libevtx opens
 * (problem says why), TS_ENOMEM, or what event returned.
 */
int evtx_read(const char *path, const struct evtx_sink *s,
    struct evtx_stats *st);

#endif /* TOCSIN_RULES_H */
