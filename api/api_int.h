/*
 * api_int.h - inside the API process: the request a handler sees, the
 * route table, the counters, the parsers of untrusted query strings and
 * bodies (api/params.c, fuzzed by tests/fuzz/fuzz_api_params.c), and the
 * web console's files embedded at build time.
 */
#ifndef TOCSIN_API_INT_H
#define TOCSIN_API_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"

struct server_config;
struct api_ctx;

/* ---- limits ---------------------------------------------------------------- */

/* Sessions of the web console held at once (in memory: they end with the
 * process); the oldest is dropped, and counted, when a new one needs room. */
#define API_MAX_SESSIONS	1024
/* A session lasts this long after its last request. */
#define API_SESSION_IDLE_US	(8ULL * 3600 * 1000000)
/* Principals (tokens, users, addresses) whose request rate is tracked. */
#define API_MAX_BUCKETS		4096
/* Connections served at once (one thread each: the live feed holds one). */
#define API_MAX_CONNECTIONS	256
/* Live-feed clients at once. */
#define API_MAX_STREAMS		64
/* Longest URL path and query value looked at. */
#define API_MAX_PATH		1024
#define API_MAX_VALUE		1024
/* Records one list request examines at most (alerts the filters refuse,
 * events of other hosts): past it the page ends early with a next_cursor
 * where the scan stopped, so that a filter matching nothing never walks a
 * whole journal in one request. */
#define API_MAX_SCAN		200000
/* Longest {name} segment of a path. */
#define API_MAX_WORD		128
/* Lines one POST rules/test may carry. */
#define API_MAX_TEST_LINES	1000
/* Default page of a list. */
#define API_DEFAULT_PAGE	100
/* How long an action waits for the engine's answer. */
#define API_ACTION_WAIT_US	(10ULL * 1000000)

/* ---- counters (`tocsin status`) ------------------------------------------ */

enum api_counter {
	AC_REQUESTS,
	AC_REFUSED_UNAUTH,
	AC_REFUSED_EXPIRED,
	AC_REFUSED_FORBIDDEN,
	AC_REFUSED_CSRF,
	AC_REFUSED_RATE,
	AC_REFUSED_TOOBIG,
	AC_REFUSED_MALFORMED,
	AC_NOT_FOUND,
	AC_PAGE_CAPPED,
	AC_SCAN_CAPPED,
	AC_GREP_LIMIT,
	AC_ACTIONS,
	AC_ACTIONS_REFUSED,
	AC_LOGINS,
	AC_LOGINS_FAILED,
	AC_SESSIONS_EVICTED,
	AC_STREAMS,
	AC_STREAMS_REFUSED,
	AC_ERRORS,
	AC_PASSWORD_CHECKS,
	AC_PASSWORD_UNKNOWN_USER,
	AC_REFUSED_PASSWORD_BUSY,
	AC_REFUSED_LOGIN_RATE,
	AC_REFUSED_AUTH_FAIL_RATE,
	AC_RECORDS_SKIPPED,	/* stored records a list or the live feed
				 * left out: unreadable or past a bound */
	AC_NCOUNTERS
};

void api_count(enum api_counter c);

/* ---- requests ------------------------------------------------------------- */

struct api_req {
	struct api_ctx	*rq_ctx;
	void		*rq_conn;	/* struct MHD_Connection */
	const char	*rq_method;
	const char	*rq_path;	/* without the query */
	char		*rq_body;	/* NUL-terminated copy, or NULL */
	size_t		 rq_body_len;
	int		 rq_role;	/* of the caller */
	char		 rq_actor[MAX_NAME_BYTES + 1];	/* who: signs changes */
	char		 rq_principal[MAX_NAME_BYTES + 16];	/* "token:ID",
						 * "user:NAME" */
	uint64_t	 rq_ids[2];	/* numbers in the path ({id}) */
	char		 rq_word[API_MAX_WORD + 1];	/* a name in the path
							 * ({name}) */
};

/* A response a handler builds: status and JSON (stolen), or raw bytes. */
struct api_resp {
	unsigned	 rs_status;
	json_t		*rs_json;
	const char	*rs_error_code;	/* set with a JSON error body */
	char		*rs_raw;	/* malloc'd body, else NULL */
	size_t		 rs_raw_len;
	const void	*rs_static;	/* static body, else NULL */
	size_t		 rs_static_len;
	const char	*rs_type;	/* Content-Type */
	char		*rs_cookie;	/* Set-Cookie value, malloc'd */
	void		*rs_stream;	/* the live feed: api/stream.c */
};

/* Set an error response: {"error": {"code": code, "message": ...}}. */
void api_error(struct api_resp *r, unsigned status, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Set a JSON response (steals j). */
void api_json(struct api_resp *r, unsigned status, json_t *j);

/* A query argument of the request (decoded by libmicrohttpd), or NULL. */
const char *api_arg(const struct api_req *q, const char *key);

typedef void (*api_handler)(struct api_req *q, struct api_resp *r);

/* One row of the route table. */
struct api_route {
	const char	*rt_method;	/* "GET", "POST" */
	const char	*rt_path;	/* "/api/v1/incidents/{id}/ack" */
	int		 rt_role;	/* least role allowed */
	api_handler	 rt_run;
};

extern const struct api_route api_routes[];
extern const size_t api_nroutes;

/* The process's shared context, for the handlers. */
const struct server_config *api_cfg(const struct api_ctx *x);
/* The state, opened read-only at first use (NULL when the engine has not
 * made it yet). */
struct state *api_state(struct api_ctx *x);
/* The journal likewise. */
struct journal *api_journal(struct api_ctx *x);
/* Every read of the state or the journal runs between these: LMDB lets
 * many threads read, but a map grown by the writer is adopted inside a
 * read (mdb_env_set_mapsize with no other transaction alive in the
 * process) and a named db is opened on first use (mdb_dbi_open, one at a
 * time), so the API's threads take turns. */
void api_db_lock(struct api_ctx *x);
void api_db_unlock(struct api_ctx *x);

/* The rule set (loaded at start and on SIGHUP with the engine's loader).
 * hold returns it (NULL when it did not load) with a read lock that
 * release drops; call release in every case. */
struct ruleset;
const struct ruleset *api_rules_hold(struct api_ctx *x);
void api_rules_release(struct api_ctx *x);

/* Drills run by the API: `tocsin drill run FILE [--speed N |
 * --as-fast-as-possible]` (speed "" : the scenario's; "max": as fast as
 * possible) as a child process, signed by actor ($TOCSIN_ACTOR), its
 * output in DATADIR/run/drill-NAME.log.  0, TS_EEXIST (that drill is
 * running), TS_EFULL (API_MAX_DRILLS run), TS_EIO. */
#define API_MAX_DRILLS		4
int api_drill_start(struct api_ctx *x, const char *name, const char *file,
    const char *speed, const char *actor, long *pid);
int api_drill_running(struct api_ctx *x, const char *name);

/* ---- parsers of untrusted input (params.c) -------------------------------- */

/* The filters of alerts, as `tocsin alerts` takes them. */
struct api_alert_filter {
	uint64_t	 since_us, until_us;	/* 0: none */
	int		 min_level;
	char		 host[MAX_HOST_BYTES + 1];	/* "": any */
	char		 rule[MAX_RULE_ID_BYTES + 1];
	char		 drill[MAX_DRILL_BYTES + 1];
	int		 no_drill;
	char		 grep[API_MAX_VALUE + 1];	/* events: a PCRE2
						 * pattern on the raw line */
	uint64_t	 limit;		/* page size asked (0: default) */
	/* cursor: the last alert of the previous page */
	uint64_t	 after_time_us, after_id;	/* 0: first page */
};

/* Set one query argument of an alert (or event) list: since, until,
 * min_level, host, rule, drill, no_drill, limit, cursor, grep (compiled
 * by the events handler).  now_us for
 * durations.  0, or TS_EINVAL with a message in err ("since: ...");
 * unknown keys are TS_EINVAL too (a misspelt filter must not return
 * everything). */
int api_alert_filter_set(struct api_alert_filter *f, const char *key,
    const char *val, uint64_t now_us, char *err, size_t errlen);

/* Cursors are opaque to clients: "T.I" as two base-10 numbers.  Write the
 * cursor after (time_us, id) into buf; parse one back (0 or TS_EINVAL). */
void api_cursor_format(uint64_t time_us, uint64_t id, char *buf,
    size_t buflen);
int api_cursor_parse(const char *s, uint64_t *time_us, uint64_t *id);

/* A request body as a JSON object (len bytes, untrusted): NULL with a
 * message in err when it is not one object of at most max_depth levels. */
json_t *api_body_object(const char *body, size_t len, char *err,
    size_t errlen);

/* A text member of a body: NULL when absent; TS_EINVAL (message in err)
 * when not a string of 1..max bytes of UTF-8 without control bytes other
 * than tab and newline (jansson checks the UTF-8). */
int api_body_text(json_t *o, const char *key, size_t max, int required,
    const char **out, char *err, size_t errlen);

/* The "lines" of POST rules/test: an array of strings (or one "text" with
 * newlines).  Fills a malloc'd vector of pointers into o (valid while o
 * is).  0 or TS_EINVAL. */
int api_body_lines(json_t *o, const char ***lines, size_t *n, char *err,
    size_t errlen);

/* ---- the live feed (stream.c) --------------------------------------------- */

/* Make r a Server-Sent Events stream of alerts and incident changes after
 * the state's current ends (or after Last-Event-ID "a:N,i:M"). */
void api_stream_start(struct api_req *q, struct api_resp *r);

/* ---- the web console's files (generated from api/web/) ---------------------- */

struct api_web_file {
	const char		*wf_path;	/* "/index.html" */
	const char		*wf_type;	/* Content-Type */
	const unsigned char	*wf_data;
	size_t			 wf_len;
};

extern const struct api_web_file api_web_files[];
extern const size_t api_web_nfiles;

/* The OpenAPI document (api/openapi.json, embedded). */
extern const char api_openapi_json[];
extern const size_t api_openapi_json_len;

#endif /* TOCSIN_API_INT_H */
