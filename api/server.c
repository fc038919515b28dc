/*
 * server.c - the API process: libmicrohttpd (one thread per connection, so
 * that a handler may block on LMDB or the engine's answer and the live
 * feed may wait for news), authentication (bearer tokens, the console's
 * session cookie with its CSRF token), roles, the per-principal request
 * rate, the body size bound, routing, the web console's files, and the
 * counters `tocsin status` shows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api/api_int.h"
#include "collector/journal.h"
#include "common/config.h"
#include "common/datadir.h"
#include "common/err.h"
#include "common/util.h"
#include "engine/drill.h"
#include "engine/state.h"
#include "rules/rules.h"

#define SESSION_COOKIE		"tocsin_session"
#define SESSION_ID_HEX		64
#define CSRF_HEX		64
#define CSRF_HEADER		"X-CSRF-Token"
/* Password checks (Argon2id, 64 MiB each) run at once; more: 503. */
#define API_PASSWORD_SLOTS	2
/* POST /api/v1/session per address: logins a second, burst. */
#define API_LOGIN_RATE		0.5
#define API_LOGIN_BURST		10.0
/* Failed bearer tokens per address: a second, burst; past it 429 before
 * the token is looked at. */
#define API_AUTHFAIL_RATE	1.0
#define API_AUTHFAIL_BURST	20.0

struct session {
	char		 se_id[SESSION_ID_HEX + 1];	/* "" when free */
	char		 se_csrf[CSRF_HEX + 1];
	char		 se_name[MAX_NAME_BYTES + 1];	/* the actor */
	char		 se_token[TOKEN_ID_HEX + 1];	/* "" for a user */
	int		 se_role;
	uint64_t	 se_seen_us;			/* last request */
	uint64_t	 se_created_us;
};

struct bucket {
	char		 bk_key[MAX_NAME_BYTES + 16];	/* principal; "" when
							 * free */
	double		 bk_tokens;
	uint64_t	 bk_at_us;	/* last refill (mono) */
};

struct api_ctx {
	const struct server_config *x_cfg;
	struct MHD_Daemon	*x_mhd;
	int			 x_tls;
	pthread_mutex_t		 x_dbmu;	/* api_db_lock */
	pthread_mutex_t		 x_mu;		/* everything below */
	state_t			*x_state;
	journal_t		*x_journal;
	struct session		 x_sessions[API_MAX_SESSIONS];
	struct bucket		 x_buckets[API_MAX_BUCKETS];
	char			*x_tls_cert, *x_tls_key;
	sem_t			 x_pwsem;	/* password checks at once */
	pthread_rwlock_t	 x_rslock;	/* x_rs */
	ruleset_t		*x_rs;
	struct {
		char	 name[MAX_DRILL_BYTES + 1];
		pid_t	 pid;		/* 0: free */
	}			 x_drills[API_MAX_DRILLS];	/* under x_mu */
};

/* The stop flag of the process, for the live feed's threads. */
volatile sig_atomic_t *api_stop_flag;

/* ---- counters ---------------------------------------------------------- */

static _Atomic uint64_t g_counts[AC_NCOUNTERS];
static const char *const counter_names[AC_NCOUNTERS] = {
	[AC_REQUESTS] = "api.requests",
	[AC_REFUSED_UNAUTH] = "api.refused_unauthenticated",
	[AC_REFUSED_EXPIRED] = "api.refused_token_expired",
	[AC_REFUSED_FORBIDDEN] = "api.refused_forbidden",
	[AC_REFUSED_CSRF] = "api.refused_csrf",
	[AC_REFUSED_RATE] = "api.refused_rate_limit",
	[AC_REFUSED_TOOBIG] = "api.refused_too_big",
	[AC_REFUSED_MALFORMED] = "api.refused_malformed",
	[AC_NOT_FOUND] = "api.not_found",
	[AC_PAGE_CAPPED] = "api.page_capped",
	[AC_SCAN_CAPPED] = "api.scan_capped",
	[AC_GREP_LIMIT] = "api.grep_limit_hits",
	[AC_ACTIONS] = "api.actions",
	[AC_ACTIONS_REFUSED] = "api.actions_refused",
	[AC_LOGINS] = "api.logins",
	[AC_LOGINS_FAILED] = "api.logins_failed",
	[AC_SESSIONS_EVICTED] = "api.sessions_evicted",
	[AC_STREAMS] = "api.streams",
	[AC_STREAMS_REFUSED] = "api.streams_refused_limit",
	[AC_ERRORS] = "api.errors",
	[AC_PASSWORD_CHECKS] = "api.password_checks",
	[AC_PASSWORD_UNKNOWN_USER] = "api.password_checks_unknown_user",
	[AC_REFUSED_PASSWORD_BUSY] = "api.refused_password_busy",
	[AC_REFUSED_LOGIN_RATE] = "api.refused_login_rate",
	[AC_REFUSED_AUTH_FAIL_RATE] = "api.refused_auth_fail_rate",
	[AC_RECORDS_SKIPPED] = "api.records_skipped",
};

void
api_count(enum api_counter c)
{
	if ((unsigned)c < AC_NCOUNTERS)
		atomic_fetch_add(&g_counts[c], 1);
}

/* ---- context accessors --------------------------------------------------- */

const struct server_config *
api_cfg(const struct api_ctx *x)
{
	return x->x_cfg;
}

void
api_db_lock(struct api_ctx *x)
{
	pthread_mutex_lock(&x->x_dbmu);
}

void
api_db_unlock(struct api_ctx *x)
{
	pthread_mutex_unlock(&x->x_dbmu);
}

struct state *
api_state(struct api_ctx *x)
{
	state_t	*s;
	char	*p;

	pthread_mutex_lock(&x->x_mu);
	if (x->x_state == NULL &&
	    (p = datadir_path(x->x_cfg->data_dir, DD_STATE)) != NULL) {
		if (state_open(p, STATE_RDONLY, 0, &x->x_state) != 0)
			x->x_state = NULL;
		else	/* the drill functions read through it too */
			drill_use_state(x->x_state);
		free(p);
	}
	s = x->x_state;
	pthread_mutex_unlock(&x->x_mu);
	return s;
}

struct journal *
api_journal(struct api_ctx *x)
{
	journal_t	*j;
	char		*p;

	pthread_mutex_lock(&x->x_mu);
	if (x->x_journal == NULL &&
	    (p = datadir_path(x->x_cfg->data_dir, DD_JOURNAL)) != NULL) {
		if (journal_open(p, JOURNAL_RDONLY, 0, &x->x_journal) != 0)
			x->x_journal = NULL;
		free(p);
	}
	j = x->x_journal;
	pthread_mutex_unlock(&x->x_mu);
	return j;
}

const struct ruleset *
api_rules_hold(struct api_ctx *x)
{
	pthread_rwlock_rdlock(&x->x_rslock);
	return x->x_rs;
}

void
api_rules_release(struct api_ctx *x)
{
	pthread_rwlock_unlock(&x->x_rslock);
}

/* Load the rule set (again); keep the old one when the new one has
 * errors, as the engine does. */
static void
rules_reload(struct api_ctx *x)
{
	struct rules_diags	diags = {0};
	ruleset_t		*rs = NULL, *old;

	if (ruleset_load((const char *const *)x->x_cfg->rule_paths,
	    x->x_cfg->nrule_paths, &rs, &diags) != 0) {
		log_err("api: the rule set has errors (%zu); keeping the "
		    "loaded one", diags.n);
		rules_diags_free(&diags);
		return;
	}
	rules_diags_free(&diags);
	pthread_rwlock_wrlock(&x->x_rslock);
	old = x->x_rs;
	x->x_rs = rs;
	pthread_rwlock_unlock(&x->x_rslock);
	ruleset_free(&old);
	log_info("api: %zu rules loaded", ruleset_rule_count(rs));
}

/* ---- drills ------------------------------------------------------------ */

/* The tocsin program beside this one (bin/ of a build, or the installed
 * bin/ next to sbin/); else "tocsin" from PATH. */
static void
tocsin_path(char *buf, size_t len)
{
	char	exe[PATH_MAX], *dir;
	ssize_t	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	snprintf(buf, len, "tocsin");
	if (n <= 0)
		return;
	exe[n] = '\0';
	dir = dirname(exe);
	snprintf(buf, len, "%s/tocsin", dir);
	if (access(buf, X_OK) == 0)
		return;
	snprintf(buf, len, "%s/../bin/tocsin", dir);
	if (access(buf, X_OK) == 0)
		return;
	snprintf(buf, len, "tocsin");
}

int
api_drill_running(struct api_ctx *x, const char *name)
{
	int found = 0;

	pthread_mutex_lock(&x->x_mu);
	for (size_t i = 0; i < API_MAX_DRILLS; i++)
		if (x->x_drills[i].pid > 0 &&
		    strcmp(x->x_drills[i].name, name) == 0)
			found = 1;
	pthread_mutex_unlock(&x->x_mu);
	return found;
}

/* Reap finished drills (the main loop). */
static void
drills_reap(struct api_ctx *x)
{
	int status;

	pthread_mutex_lock(&x->x_mu);
	for (size_t i = 0; i < API_MAX_DRILLS; i++)
		if (x->x_drills[i].pid > 0 && waitpid(x->x_drills[i].pid,
		    &status, WNOHANG) == x->x_drills[i].pid) {
			log_info("api: drill %s finished (%s %d)",
			    x->x_drills[i].name, WIFEXITED(status) ?
			    "exit status" : "signal", WIFEXITED(status) ?
			    WEXITSTATUS(status) : WTERMSIG(status));
			x->x_drills[i].pid = 0;
		}
	pthread_mutex_unlock(&x->x_mu);
}

int
api_drill_start(struct api_ctx *x, const char *name, const char *file,
    const char *speed, const char *actor, long *pidout)
{
	const struct server_config *cfg = x->x_cfg;
	char	 prog[PATH_MAX], *logpath = NULL, *rundir = NULL;
	size_t	 slot = API_MAX_DRILLS;
	pid_t	 pid;
	int	 fd, rc = 0;

	pthread_mutex_lock(&x->x_mu);
	for (size_t i = 0; i < API_MAX_DRILLS; i++) {
		if (x->x_drills[i].pid > 0 &&
		    strcmp(x->x_drills[i].name, name) == 0) {
			rc = TS_EEXIST;
			goto out;
		}
		if (x->x_drills[i].pid == 0 && slot == API_MAX_DRILLS)
			slot = i;
	}
	if (slot == API_MAX_DRILLS) {
		rc = TS_EFULL;
		goto out;
	}
	tocsin_path(prog, sizeof(prog));
	if ((rundir = datadir_path(cfg->data_dir, DD_RUN)) == NULL ||
	    (logpath = xasprintf("%s/drill-%s.log", rundir, name)) == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	if ((pid = fork()) < 0) {
		rc = TS_EIO;
		goto out;
	}
	if (pid == 0) {
		const char *argv[16];
		int a = 0;

		if ((fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >=
		    0) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
			(void)dup2(fd, STDIN_FILENO);
			close(fd);
		}
		setenv("TOCSIN_ACTOR", actor, 1);
		argv[a++] = prog;
		if (strcmp(cfg->source, "(embedded default)") != 0 &&
		    access(cfg->source, R_OK) == 0) {
			argv[a++] = "-c";
			argv[a++] = cfg->source;
		}
		argv[a++] = "-D";
		argv[a++] = cfg->data_dir;
		argv[a++] = "drill";
		argv[a++] = "run";
		argv[a++] = file;
		if (strcmp(speed, "max") == 0)
			argv[a++] = "--as-fast-as-possible";
		else if (speed[0] != '\0') {
			argv[a++] = "--speed";
			argv[a++] = speed;
		}
		argv[a] = NULL;
		execvp(prog, (char *const *)argv);
		_exit(127);
	}
	x->x_drills[slot].pid = pid;
	snprintf(x->x_drills[slot].name, sizeof(x->x_drills[slot].name), "%s",
	    name);
	*pidout = (long)pid;
	log_info("api: %s started drill %s (pid %ld)", actor, name, (long)pid);
out:
	pthread_mutex_unlock(&x->x_mu);
	free(logpath);
	free(rundir);
	return rc;
}

/* ---- responses ------------------------------------------------------------- */

void
api_json(struct api_resp *r, unsigned status, json_t *j)
{
	json_decref(r->rs_json);
	r->rs_status = status;
	r->rs_json = j;
}

void
api_error(struct api_resp *r, unsigned status, const char *code,
    const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->rs_error_code = code;
	api_json(r, status, json_pack("{s:{s:s, s:s}}", "error", "code", code,
	    "message", msg));
}

const char *
api_arg(const struct api_req *q, const char *key)
{
	return MHD_lookup_connection_value(q->rq_conn, MHD_GET_ARGUMENT_KIND,
	    key);
}

/* ---- sessions ---------------------------------------------------------------- */

static void
random_hex(char *out, size_t nhex)
{
	unsigned char	b[64];
	static const char hx[] = "0123456789abcdef";

	randombytes_buf(b, nhex / 2);
	for (size_t i = 0; i < nhex / 2; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[nhex] = '\0';
}

/* A new session for name with role; its id and CSRF token into se. */
static void
session_new(struct api_ctx *x, const char *name, int role,
    const char *token_id, struct session *out)
{
	struct session	*free_slot = NULL, *oldest = NULL;
	uint64_t	 now = now_us();

	pthread_mutex_lock(&x->x_mu);
	for (size_t i = 0; i < API_MAX_SESSIONS; i++) {
		struct session *se = &x->x_sessions[i];

		if (se->se_id[0] != '\0' &&
		    now - se->se_seen_us > API_SESSION_IDLE_US)
			se->se_id[0] = '\0';
		if (se->se_id[0] == '\0') {
			if (free_slot == NULL)
				free_slot = se;
		} else if (oldest == NULL || se->se_seen_us <
		    oldest->se_seen_us)
			oldest = se;
	}
	if (free_slot == NULL) {
		free_slot = oldest;
		api_count(AC_SESSIONS_EVICTED);
	}
	memset(free_slot, 0, sizeof(*free_slot));
	random_hex(free_slot->se_id, SESSION_ID_HEX);
	random_hex(free_slot->se_csrf, CSRF_HEX);
	snprintf(free_slot->se_name, sizeof(free_slot->se_name), "%s", name);
	snprintf(free_slot->se_token, sizeof(free_slot->se_token), "%s",
	    token_id != NULL ? token_id : "");
	free_slot->se_role = role;
	free_slot->se_seen_us = free_slot->se_created_us = now;
	*out = *free_slot;
	pthread_mutex_unlock(&x->x_mu);
}

/* Look up (and touch) session id; 0 with *out, or TS_ENOTFOUND. */
static int
session_get(struct api_ctx *x, const char *id, struct session *out)
{
	uint64_t	now = now_us();
	int		rc = TS_ENOTFOUND;

	if (id == NULL || strlen(id) != SESSION_ID_HEX)
		return rc;
	pthread_mutex_lock(&x->x_mu);
	for (size_t i = 0; i < API_MAX_SESSIONS; i++) {
		struct session *se = &x->x_sessions[i];

		if (se->se_id[0] == '\0' ||
		    sodium_memcmp(se->se_id, id, SESSION_ID_HEX) != 0)
			continue;
		if (now - se->se_seen_us > API_SESSION_IDLE_US) {
			se->se_id[0] = '\0';
			break;
		}
		se->se_seen_us = now;
		*out = *se;
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&x->x_mu);
	return rc;
}

static void
session_end(struct api_ctx *x, const char *id)
{
	pthread_mutex_lock(&x->x_mu);
	for (size_t i = 0; i < API_MAX_SESSIONS; i++)
		if (x->x_sessions[i].se_id[0] != '\0' &&
		    strcmp(x->x_sessions[i].se_id, id) == 0)
			x->x_sessions[i].se_id[0] = '\0';
	pthread_mutex_unlock(&x->x_mu);
}

/* ---- request rate ------------------------------------------------------------ */

/* Take cost (0: only look) requests from key's bucket (rate per second,
 * burst at most).  1 when allowed (a token was there), 0 when over the
 * rate.  Keys of different kinds ("addr:", "login:", "authfail:", a
 * principal) are separate buckets. */
static int
rate_take_at(struct api_ctx *x, const char *key, double rate, double burst,
    double cost)
{
	uint64_t	 now = mono_us(), h = 1469598103934665603ULL;
	struct bucket	*b = NULL, *victim = NULL;
	int		 ok;

	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	pthread_mutex_lock(&x->x_mu);
	for (size_t i = 0; i < 8; i++) {
		struct bucket *c = &x->x_buckets[(h + i) % API_MAX_BUCKETS];

		if (strcmp(c->bk_key, key) == 0) {
			b = c;
			break;
		}
		if (victim == NULL || c->bk_key[0] == '\0' ||
		    (victim->bk_key[0] != '\0' && c->bk_at_us <
		    victim->bk_at_us))
			victim = c;
	}
	if (b == NULL) {	/* new, or the least recent of its slots */
		b = victim;
		snprintf(b->bk_key, sizeof(b->bk_key), "%s", key);
		b->bk_tokens = burst;
		b->bk_at_us = now;
	}
	b->bk_tokens += (double)(now - b->bk_at_us) * rate / 1e6;
	if (b->bk_tokens > burst)
		b->bk_tokens = burst;
	b->bk_at_us = now;
	ok = b->bk_tokens >= 1.0;
	if (ok)
		b->bk_tokens -= cost;
	pthread_mutex_unlock(&x->x_mu);
	return ok;
}

static int
rate_take(struct api_ctx *x, const char *key)
{
	return rate_take_at(x, key, x->x_cfg->api_rate, x->x_cfg->api_burst,
	    1.0);
}

/* ---- authentication --------------------------------------------------------- */

/* The value of cookie name in the Cookie header, or NULL. */
static const char *
cookie_get(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, name);
}

static const char *
client_addr(struct MHD_Connection *conn, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(buf, len, "?");
	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
		    (socklen_t)len);
	return buf;
}

/*
 * Who is calling: a bearer token, else the session cookie (then a request
 * that changes anything must carry the session's CSRF token in
 * X-CSRF-Token: a page of another site can make the browser send the
 * cookie, never read the token).  0 with q->rq_role and q->rq_actor set;
 * else the error response is set in r.
 */
static int
authenticate(struct api_req *q, struct api_resp *r)
{
	struct api_ctx	*x = q->rq_ctx;
	const char	*h = MHD_lookup_connection_value(q->rq_conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char	*sid;
	struct session	 se;

	if (h != NULL) {
		enum api_token_verdict	v;
		struct api_token_info	ti;

		if (strncasecmp(h, "Bearer ", 7) != 0) {
			api_count(AC_REFUSED_UNAUTH);
			api_error(r, 401, "unauthenticated", "Authorization "
			    "must be \"Bearer TOKEN\"");
			return -1;
		}
		h += 7;
		while (*h == ' ')
			h++;
		if (api_token_check(x->x_cfg->data_dir, h, strlen(h), now_us(),
		    &v, &ti) != 0) {
			api_count(AC_ERRORS);
			api_error(r, 500, "internal", "cannot read the tokens");
			return -1;
		}
		if (v == API_TOKEN_EXPIRED) {
			api_count(AC_REFUSED_EXPIRED);
			api_error(r, 401, "token_expired", "the token expired");
			return -1;
		}
		if (v != API_TOKEN_OK) {
			api_count(AC_REFUSED_UNAUTH);
			api_error(r, 401, "unauthenticated", "unknown or "
			    "revoked token");
			return -1;
		}
		q->rq_role = ti.role;
		snprintf(q->rq_actor, sizeof(q->rq_actor), "%s", ti.name);
		snprintf(q->rq_principal, sizeof(q->rq_principal), "token:%s",
		    ti.id);
		return 0;
	}
	sid = cookie_get(q->rq_conn, SESSION_COOKIE);
	if (sid == NULL || session_get(x, sid, &se) != 0) {
		api_count(AC_REFUSED_UNAUTH);
		api_error(r, 401, "unauthenticated", sid == NULL ?
		    "no token and no session" : "the session ended; log in "
		    "again");
		return -1;
	}
	/* the credential behind the session must still be valid: a revoked
	 * token or removed user ends its sessions at once */
	if (se.se_token[0] != '\0') {
		struct api_token_info ti;
		int found = 0;

		if (api_token_get(x->x_cfg->data_dir, se.se_token, &ti) == 0)
			found = ti.expires_us == 0 || now_us() < ti.expires_us;
		if (!found) {
			session_end(x, se.se_id);
			api_count(AC_REFUSED_UNAUTH);
			api_error(r, 401, "unauthenticated", "the token of this "
			    "session was revoked or expired");
			return -1;
		}
	} else {
		struct api_user_info ui;

		if (api_user_get(x->x_cfg->data_dir, se.se_name, &ui) != 0) {
			session_end(x, se.se_id);
			api_count(AC_REFUSED_UNAUTH);
			api_error(r, 401, "unauthenticated", "the user of this "
			    "session was removed");
			return -1;
		}
		se.se_role = ui.role;	/* a changed role applies at once */
	}
	if (strcmp(q->rq_method, "GET") != 0 &&
	    strcmp(q->rq_method, "HEAD") != 0) {
		const char *t = MHD_lookup_connection_value(q->rq_conn,
		    MHD_HEADER_KIND, CSRF_HEADER);

		if (t == NULL || strlen(t) != CSRF_HEX ||
		    sodium_memcmp(t, se.se_csrf, CSRF_HEX) != 0) {
			api_count(AC_REFUSED_CSRF);
			api_error(r, 403, "csrf", "a change made with the "
			    "session cookie needs the session's %s header",
			    CSRF_HEADER);
			return -1;
		}
	}
	q->rq_role = se.se_role;
	snprintf(q->rq_actor, sizeof(q->rq_actor), "%s", se.se_name);
	snprintf(q->rq_principal, sizeof(q->rq_principal), "%s:%s",
	    se.se_token[0] ? "token" : "user", se.se_token[0] ? se.se_token :
	    se.se_name);
	return 0;
}

/* ---- the session endpoints (no authentication before them) --------------- */

static json_t *
session_json(const struct session *se)
{
	char	t[40];

	format_rfc3339(se->se_seen_us + API_SESSION_IDLE_US, t, sizeof(t));
	return json_pack("{s:s, s:s, s:s, s:s}", "name", se->se_name,
	    "role", api_role_name(se->se_role), "csrf_token", se->se_csrf,
	    "expires", t);
}

static void
set_session_cookie(struct api_ctx *x, struct api_resp *r, const char *id,
    int clear)
{
	free(r->rs_cookie);
	r->rs_cookie = xasprintf("%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
	    SESSION_COOKIE, clear ? "" : id, x->x_tls ? "; Secure" : "",
	    clear ? "; Max-Age=0" : "");
}

/* POST /api/v1/session {"token": T} or {"user": U, "password": P}. */
static void
session_login(struct api_req *q, struct api_resp *r)
{
	struct api_ctx	*x = q->rq_ctx;
	const char	*dd = x->x_cfg->data_dir, *tok, *user, *pw;
	char		 err[256];
	struct session	 se;
	json_t		*b;

	if ((b = api_body_object(q->rq_body, q->rq_body_len, err,
	    sizeof(err))) == NULL) {
		api_count(AC_REFUSED_MALFORMED);
		api_error(r, 400, "malformed", "%s", err);
		return;
	}
	if (api_body_text(b, "token", TOKEN_BYTES, 0, &tok, err,
	    sizeof(err)) != 0 || api_body_text(b, "user", MAX_NAME_BYTES, 0,
	    &user, err, sizeof(err)) != 0 || api_body_text(b, "password",
	    API_MAX_PASSWORD, 0, &pw, err, sizeof(err)) != 0 ||
	    (tok == NULL && (user == NULL || pw == NULL))) {
		api_count(AC_REFUSED_MALFORMED);
		api_error(r, 400, "malformed", "%s", err[0] ? err : "give "
		    "\"token\", or \"user\" and \"password\"");
		json_decref(b);
		return;
	}
	if (tok != NULL) {
		enum api_token_verdict	v;
		struct api_token_info	ti;

		if (api_token_check(dd, tok, strlen(tok), now_us(), &v,
		    &ti) != 0 || v != API_TOKEN_OK) {
			api_count(AC_LOGINS_FAILED);
			api_error(r, 401, v == API_TOKEN_EXPIRED ?
			    "token_expired" : "unauthenticated",
			    v == API_TOKEN_EXPIRED ? "the token expired" :
			    "unknown or revoked token");
			json_decref(b);
			return;
		}
		session_new(x, ti.name, ti.role, ti.id, &se);
	} else {
		struct api_user_info ui;
		int unknown = 0, rc;

		if (sem_trywait(&x->x_pwsem) != 0) {
			api_count(AC_REFUSED_PASSWORD_BUSY);
			api_error(r, 503, "password_checks_busy", "%d password "
			    "checks are running; try again", API_PASSWORD_SLOTS);
			json_decref(b);
			return;
		}
		api_count(AC_PASSWORD_CHECKS);
		rc = api_user_check_ex(dd, user, pw, &ui, &unknown);
		sem_post(&x->x_pwsem);
		if (unknown)
			api_count(AC_PASSWORD_UNKNOWN_USER);
		if (rc != 0) {
			api_count(AC_LOGINS_FAILED);
			api_error(r, 401, "unauthenticated", "wrong user or "
			    "password");
			json_decref(b);
			return;
		}
		session_new(x, ui.name, ui.role, NULL, &se);
	}
	json_decref(b);
	api_count(AC_LOGINS);
	set_session_cookie(x, r, se.se_id, 0);
	api_json(r, 200, session_json(&se));
}

/* GET /api/v1/session: who the cookie is (and its CSRF token, which a
 * reloaded console page needs again); DELETE: log out. */
static void
session_other(struct api_req *q, struct api_resp *r)
{
	struct api_ctx	*x = q->rq_ctx;
	const char	*sid = cookie_get(q->rq_conn, SESSION_COOKIE);
	struct session	 se;

	if (sid == NULL || session_get(x, sid, &se) != 0) {
		if (strcmp(q->rq_method, "DELETE") == 0) {
			set_session_cookie(x, r, "", 1);
			api_json(r, 200, json_pack("{s:b}", "ok", 1));
			return;
		}
		api_count(AC_REFUSED_UNAUTH);
		api_error(r, 401, "unauthenticated", "no session");
		return;
	}
	if (strcmp(q->rq_method, "DELETE") == 0) {
		const char *t = MHD_lookup_connection_value(q->rq_conn,
		    MHD_HEADER_KIND, CSRF_HEADER);

		if (t == NULL || strcmp(t, se.se_csrf) != 0) {
			api_count(AC_REFUSED_CSRF);
			api_error(r, 403, "csrf", "log-out needs the session's "
			    "%s header", CSRF_HEADER);
			return;
		}
		session_end(x, se.se_id);
		set_session_cookie(x, r, "", 1);
		api_json(r, 200, json_pack("{s:b}", "ok", 1));
		return;
	}
	api_json(r, 200, session_json(&se));
}

/* ---- routing ------------------------------------------------------------------- */

/* Match path against a pattern with {id} (a number) and {name} segments.
 * 1 on a match (numbers into q->rq_ids, the name into q->rq_word). */
static int
route_match(const char *pat, const char *path, struct api_req *q)
{
	size_t nid = 0;

	while (*pat != '\0' && *path != '\0') {
		if (*pat == '{') {
			const char *pe = strchr(pat, '}');
			const char *se = strchr(path, '/');
			size_t n = se ? (size_t)(se - path) : strlen(path);

			if (pe == NULL || n == 0)
				return 0;
			if (strncmp(pat, "{id}", 4) == 0) {
				uint64_t v;

				if (parse_u64(path, n, UINT64_MAX, &v) != 0 ||
				    v == 0 || nid >= 2)
					return 0;
				q->rq_ids[nid++] = v;
			} else {
				if (n > API_MAX_WORD)
					return 0;
				memcpy(q->rq_word, path, n);
				q->rq_word[n] = '\0';
			}
			pat = pe + 1;
			path += n;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	return *pat == '\0' && *path == '\0';
}

static void
dispatch(struct api_req *q, struct api_resp *r)
{
	const struct api_route	*rt, *found = NULL;
	int			 path_known = 0, bearer;
	char			 addr[64], key[MAX_NAME_BYTES + 16];

	/* public: the OpenAPI document and logging in */
	if (strcmp(q->rq_path, "/api/v1/openapi.json") == 0 &&
	    strcmp(q->rq_method, "GET") == 0) {
		r->rs_status = 200;
		r->rs_static = api_openapi_json;
		r->rs_static_len = api_openapi_json_len;
		r->rs_type = "application/json";
		return;
	}
	if (strcmp(q->rq_path, "/api/v1/session") == 0) {
		snprintf(key, sizeof(key), "addr:%s", client_addr(q->rq_conn,
		    addr, sizeof(addr)));
		if (!rate_take(q->rq_ctx, key)) {
			api_count(AC_REFUSED_RATE);
			api_error(r, 429, "rate_limited", "too many requests");
			return;
		}
		if (strcmp(q->rq_method, "POST") == 0) {
			snprintf(key, sizeof(key), "login:%s", addr);
			if (!rate_take_at(q->rq_ctx, key, API_LOGIN_RATE,
			    API_LOGIN_BURST, 1.0)) {
				api_count(AC_REFUSED_LOGIN_RATE);
				api_error(r, 429, "login_rate_limited", "more "
				    "than %.0f logins (then one in %.0f s) from "
				    "this address", API_LOGIN_BURST,
				    1.0 / API_LOGIN_RATE);
				return;
			}
			session_login(q, r);
		} else if (strcmp(q->rq_method, "GET") == 0 ||
		    strcmp(q->rq_method, "DELETE") == 0)
			session_other(q, r);
		else
			api_error(r, 405, "method_not_allowed", "%s is not "
			    "allowed here", q->rq_method);
		return;
	}
	for (size_t i = 0; i < api_nroutes; i++) {
		rt = &api_routes[i];
		q->rq_word[0] = '\0';
		if (!route_match(rt->rt_path, q->rq_path, q))
			continue;
		path_known = 1;
		if (strcmp(rt->rt_method, q->rq_method) == 0) {
			found = rt;
			break;
		}
	}
	/* failed bearer tokens are limited per address, before the token
	 * is looked at: guessing costs the guesser, not the server */
	bearer = MHD_lookup_connection_value(q->rq_conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION) != NULL;
	snprintf(key, sizeof(key), "authfail:%s", client_addr(q->rq_conn,
	    addr, sizeof(addr)));
	if (bearer && !rate_take_at(q->rq_ctx, key, API_AUTHFAIL_RATE,
	    API_AUTHFAIL_BURST, 0.0)) {
		api_count(AC_REFUSED_AUTH_FAIL_RATE);
		api_error(r, 429, "auth_fail_rate_limited", "more than %.0f "
		    "failed tokens from this address; wait", API_AUTHFAIL_BURST);
		return;
	}
	if (authenticate(q, r) != 0) {
		if (bearer)
			(void)rate_take_at(q->rq_ctx, key, API_AUTHFAIL_RATE,
			    API_AUTHFAIL_BURST, 1.0);
		return;
	}
	if (!rate_take(q->rq_ctx, q->rq_principal)) {
		api_count(AC_REFUSED_RATE);
		api_error(r, 429, "rate_limited", "more than %u requests a "
		    "second (burst %u) for this token",
		    (unsigned)q->rq_ctx->x_cfg->api_rate,
		    (unsigned)q->rq_ctx->x_cfg->api_burst);
		return;
	}
	if (found == NULL) {
		api_count(AC_NOT_FOUND);
		if (path_known)
			api_error(r, 405, "method_not_allowed", "%s is not "
			    "allowed here", q->rq_method);
		else
			api_error(r, 404, "not_found", "no such endpoint");
		return;
	}
	if (q->rq_role < found->rt_role) {
		api_count(AC_REFUSED_FORBIDDEN);
		api_error(r, 403, "forbidden", "this needs the %s role (yours: "
		    "%s)", api_role_name(found->rt_role),
		    api_role_name(q->rq_role));
		return;
	}
	found->rt_run(q, r);
}

/* The console's files: "/" is /index.html; anything else not under /api/
 * that names no file is the console too (its own routing), unless it
 * looks like a file (has a dot in its last segment). */
static void
serve_static(struct api_req *q, struct api_resp *r)
{
	const char	*p = q->rq_path, *last;
	const struct api_web_file *idx = NULL;

	if (strcmp(q->rq_method, "GET") != 0 &&
	    strcmp(q->rq_method, "HEAD") != 0) {
		api_error(r, 405, "method_not_allowed", "%s is not allowed "
		    "here", q->rq_method);
		return;
	}
	if (strcmp(p, "/") == 0)
		p = "/index.html";
	for (size_t i = 0; i < api_web_nfiles; i++) {
		if (strcmp(api_web_files[i].wf_path, "/index.html") == 0)
			idx = &api_web_files[i];
		if (strcmp(api_web_files[i].wf_path, p) == 0) {
			r->rs_status = 200;
			r->rs_static = api_web_files[i].wf_data;
			r->rs_static_len = api_web_files[i].wf_len;
			r->rs_type = api_web_files[i].wf_type;
			return;
		}
	}
	last = strrchr(p, '/');
	if (idx != NULL && last != NULL && strchr(last, '.') == NULL) {
		r->rs_status = 200;
		r->rs_static = idx->wf_data;
		r->rs_static_len = idx->wf_len;
		r->rs_type = idx->wf_type;
		return;
	}
	api_count(AC_NOT_FOUND);
	api_error(r, 404, "not_found", "no such file");
}

/* ---- libmicrohttpd glue ------------------------------------------------------ */

struct conn_state {
	char	*cs_body;
	size_t	 cs_len, cs_cap;
	int	 cs_toobig;
};

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct conn_state *cs = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (cs != NULL) {
		free(cs->cs_body);
		free(cs);
		*con_cls = NULL;
	}
}

/* Send r on conn.  MHD_YES/MHD_NO. */
static enum MHD_Result
send_resp(struct MHD_Connection *conn, struct api_ctx *x, struct api_resp *r,
    int is_api)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			*txt = NULL;

	(void)x;
	if (r->rs_stream != NULL)
		resp = r->rs_stream;
	else if (r->rs_json != NULL) {
		txt = json_dumps(r->rs_json, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (txt == NULL) {
			txt = strdup("{\"error\":{\"code\":\"internal\","
			    "\"message\":\"out of memory\"}}");
			r->rs_status = 500;
		}
		resp = MHD_create_response_from_buffer(txt ? strlen(txt) : 0,
		    txt, MHD_RESPMEM_MUST_FREE);
		r->rs_type = "application/json";
	} else if (r->rs_raw != NULL) {
		resp = MHD_create_response_from_buffer(r->rs_raw_len,
		    r->rs_raw, MHD_RESPMEM_MUST_FREE);
		r->rs_raw = NULL;
	} else
		resp = MHD_create_response_from_buffer(r->rs_static_len,
		    (void *)(uintptr_t)r->rs_static, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(txt);
		return MHD_NO;
	}
	if (r->rs_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    r->rs_type);
	if (r->rs_cookie != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
		    r->rs_cookie);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (is_api)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
		    "no-store");
	else
		MHD_add_response_header(resp, "Content-Security-Policy",
		    "default-src 'self'; img-src 'self' data:; "
		    "frame-ancestors 'none'; form-action 'self'");
	if (r->rs_status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "Bearer realm=\"tocsin\"");
	if (r->rs_status == 429)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	ret = MHD_queue_response(conn, r->rs_status ? r->rs_status : 500,
	    resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
resp_clear(struct api_resp *r)
{
	json_decref(r->rs_json);
	free(r->rs_raw);
	free(r->rs_cookie);
	memset(r, 0, sizeof(*r));
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api_ctx		*x = cls;
	struct conn_state	*cs = *con_cls;
	struct api_req		 q;
	struct api_resp		 r;
	enum MHD_Result		 ret;
	int			 is_api;

	(void)version;
	if (cs == NULL) {	/* headers only: check the announced size */
		const char *cl = MHD_lookup_connection_value(conn,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n = 0;

		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return MHD_NO;
		*con_cls = cs;
		if (cl != NULL && (parse_u64(cl, strlen(cl), UINT64_MAX,
		    &n) != 0 || n > x->x_cfg->api_max_body))
			cs->cs_toobig = 1;
		if (cs->cs_toobig) {
			/* answer at once; libmicrohttpd then closes the
			 * connection instead of reading the body */
			memset(&r, 0, sizeof(r));
			api_count(AC_REQUESTS);
			api_count(AC_REFUSED_TOOBIG);
			api_error(&r, 413, "too_big", "the body is larger than "
			    "%llu bytes",
			    (unsigned long long)x->x_cfg->api_max_body);
			ret = send_resp(conn, x, &r, 1);
			resp_clear(&r);
			return ret;
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		if (!cs->cs_toobig && cs->cs_len + n > x->x_cfg->api_max_body)
			cs->cs_toobig = 1;
		if (!cs->cs_toobig) {
			if (cs->cs_len + n + 1 > cs->cs_cap) {
				size_t	 cap = (cs->cs_len + n + 1) * 2;
				char	*nb;

				if (cap > x->x_cfg->api_max_body + 1)
					cap = x->x_cfg->api_max_body + 1;
				if ((nb = realloc(cs->cs_body, cap)) == NULL)
					return MHD_NO;
				cs->cs_body = nb;
				cs->cs_cap = cap;
			}
			memcpy(cs->cs_body + cs->cs_len, upload_data, n);
			cs->cs_len += n;
			cs->cs_body[cs->cs_len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	memset(&q, 0, sizeof(q));
	memset(&r, 0, sizeof(r));
	q.rq_ctx = x;
	q.rq_conn = conn;
	q.rq_method = method;
	q.rq_path = url;
	q.rq_body = cs->cs_body;
	q.rq_body_len = cs->cs_len;
	api_count(AC_REQUESTS);
	is_api = strncmp(url, "/api/", 5) == 0;
	if (cs->cs_toobig) {
		api_count(AC_REFUSED_TOOBIG);
		api_error(&r, 413, "too_big", "the body is larger than %llu "
		    "bytes", (unsigned long long)x->x_cfg->api_max_body);
	} else if (strlen(url) > API_MAX_PATH) {
		api_count(AC_REFUSED_MALFORMED);
		api_error(&r, 414, "malformed", "the path is longer than %d "
		    "bytes", API_MAX_PATH);
	} else if (is_api)
		dispatch(&q, &r);
	else
		serve_static(&q, &r);
	if (r.rs_status >= 500)
		api_count(AC_ERRORS);
	ret = send_resp(conn, x, &r, is_api);
	resp_clear(&r);
	return ret;
}

static void
mhd_log_cb(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warn("api: %s", buf);
}

/* ---- listener ----------------------------------------------------------------- */

/* "ip:port" (or "[ip6]:port") into ss.  0 or TS_EINVAL. */
static int
listen_addr(const char *hostport, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	char		 host[128];
	const char	*colon = strrchr(hostport, ':');
	struct addrinfo	 hints, *ai = NULL;
	size_t		 hl;

	if (colon == NULL)
		return TS_EINVAL;
	hl = (size_t)(colon - hostport);
	if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
		hostport++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return TS_EINVAL;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(strcmp(host, "*") == 0 ? "0.0.0.0" : host, colon + 1,
	    &hints, &ai) != 0 || ai == NULL)
		return TS_EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int
read_pem(const char *path, char **out, char *err, size_t errlen)
{
	size_t len;

	if (read_file(path, 1024 * 1024, out, &len) != 0) {
		snprintf(err, errlen, "api: cannot read %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
api_preflight(const struct server_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			*pem = NULL;
	int			 fd, one = 1, rc = 0;

	if (cfg->api_listen == NULL)
		return 0;
	if (listen_addr(cfg->api_listen, &ss, &sl) != 0) {
		snprintf(err, errlen, "api.listen: '%s' is not ip:port",
		    cfg->api_listen);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "api: socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
		snprintf(err, errlen, "api.listen %s: %s", cfg->api_listen,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	if (rc == 0 && cfg->api_tls_cert != NULL) {
		if (read_pem(cfg->api_tls_cert, &pem, err, errlen) != 0)
			return -1;
		free(pem);
		pem = NULL;
		if (read_pem(cfg->api_tls_key, &pem, err, errlen) != 0)
			return -1;
		explicit_bzero(pem, strlen(pem));
		free(pem);
	}
	return rc;
}

/* ---- counters file ------------------------------------------------------------- */

#define STATS_FILE	"api.stats"

static void
stats_write_file(const struct server_config *cfg, uint64_t started_us)
{
	char	*rundir = datadir_path(cfg->data_dir, DD_RUN), *path = NULL;
	char	 buf[4096];
	size_t	 off = 0;

	if (rundir == NULL || (path = xasprintf("%s/%s", rundir,
	    STATS_FILE)) == NULL)
		goto out;
	off += (size_t)snprintf(buf + off, sizeof(buf) - off,
	    "api.pid %ld\napi.started_us %llu\napi.heartbeat_us %llu\n",
	    (long)getpid(), (unsigned long long)started_us,
	    (unsigned long long)now_us());
	for (size_t i = 0; i < AC_NCOUNTERS && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "%s %llu\n", counter_names[i],
		    (unsigned long long)atomic_load(&g_counts[i]));
	if (off < sizeof(buf) && write_file_atomic(path, buf, off, 0600) != 0)
		log_warn("api: cannot write %s: %s", path, strerror(errno));
out:
	free(path);
	free(rundir);
}

int
api_stats_foreach(const char *datadir,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg)
{
	char	*rundir = datadir_path(datadir, DD_RUN), *path = NULL;
	char	*text = NULL, *line, *save = NULL;
	size_t	 len;
	int	 rc = 0;

	if (rundir == NULL || (path = xasprintf("%s/%s", rundir,
	    STATS_FILE)) == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	if (read_file(path, 64 * 1024, &text, &len) != 0) {
		rc = errno == ENOENT ? TS_ENOTFOUND : TS_EIO;
		goto out;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char		*sp = strchr(line, ' ');
		uint64_t	 v;

		if (sp == NULL || parse_u64(sp + 1, strlen(sp + 1), UINT64_MAX,
		    &v) != 0)
			continue;
		*sp = '\0';
		if (cb(line, v, arg) != 0)
			break;
	}
out:
	free(text);
	free(path);
	free(rundir);
	return rc;
}

/* ---- the process ----------------------------------------------------------------- */

int
api_run(const struct server_config *cfg, volatile sig_atomic_t *stop,
    volatile sig_atomic_t *reload)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct api_ctx		*x;
	char			 err[512], *pidpath = NULL;
	unsigned		 flags;
	uint64_t		 started = now_us(), last = 0;
	int			 ret = 0;

	if (cfg->api_listen == NULL) {
		log_info("api: api.listen is empty; not serving");
		while (!*stop)
			usleep(200000);
		return 0;
	}
	if (sodium_init() < 0)
		return TS_EIO;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return TS_ENOMEM;
	api_stop_flag = stop;
	x->x_cfg = cfg;
	pthread_mutex_init(&x->x_mu, NULL);
	pthread_mutex_init(&x->x_dbmu, NULL);
	pthread_rwlock_init(&x->x_rslock, NULL);
	sem_init(&x->x_pwsem, 0, API_PASSWORD_SLOTS);
	if (api_user_prepare() != 0)
		log_warn("api: cannot make the hash unknown users are checked "
		    "against; it is made at the first login instead");
	rules_reload(x);
	if (listen_addr(cfg->api_listen, &ss, &sl) != 0) {
		log_err("api: api.listen '%s' is not ip:port", cfg->api_listen);
		ret = TS_EINVAL;
		goto out;
	}
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (cfg->api_tls_cert != NULL) {
		if (read_pem(cfg->api_tls_cert, &x->x_tls_cert, err,
		    sizeof(err)) != 0 || read_pem(cfg->api_tls_key,
		    &x->x_tls_key, err, sizeof(err)) != 0) {
			log_err("%s", err);
			ret = TS_EIO;
			goto out;
		}
		flags |= MHD_USE_TLS;
		x->x_tls = 1;
	}
	x->x_mhd = x->x_tls ?
	    MHD_start_daemon(flags, 0, NULL, NULL, access_cb, x,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, x,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, x,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	    MHD_OPTION_HTTPS_MEM_CERT, x->x_tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, x->x_tls_key,
	    MHD_OPTION_END) :
	    MHD_start_daemon(flags, 0, NULL, NULL, access_cb, x,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log_cb, x,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, x,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
	    MHD_OPTION_END);
	if (x->x_mhd == NULL) {
		log_err("api: cannot serve on %s: %s", cfg->api_listen,
		    strerror(errno));
		ret = TS_EIO;
		goto out;
	}
	if ((pidpath = datadir_pidfile(cfg->data_dir, "api")) != NULL &&
	    pidfile_write(pidpath) != 0)
		log_warn("api: cannot write %s: %s", pidpath, strerror(errno));
	log_info("api: serving %s on %s", x->x_tls ? "https" : "http",
	    cfg->api_listen);
	while (!*stop) {
		if (*reload) {
			*reload = 0;
			rules_reload(x);
		}
		drills_reap(x);
		if (mono_us() - last >= 1000000) {
			last = mono_us();
			stats_write_file(cfg, started);
			api_db_lock(x);
			pthread_mutex_lock(&x->x_mu);
			if (x->x_state != NULL)
				(void)state_readers_reclaim(x->x_state, NULL);
			pthread_mutex_unlock(&x->x_mu);
			api_db_unlock(x);
		}
		usleep(100000);
	}
	MHD_stop_daemon(x->x_mhd);
	stats_write_file(cfg, started);
	if (pidpath != NULL)
		unlink(pidpath);
out:
	free(pidpath);
	drill_use_state(NULL);
	state_close(&x->x_state);
	journal_close(&x->x_journal);
	if (x->x_tls_key != NULL)
		explicit_bzero(x->x_tls_key, strlen(x->x_tls_key));
	free(x->x_tls_key);
	free(x->x_tls_cert);
	for (size_t i = 0; i < API_MAX_DRILLS; i++)
		if (x->x_drills[i].pid > 0) {	/* let them finish alone */
			log_info("api: drill %s (pid %ld) goes on without "
			    "the API", x->x_drills[i].name,
			    (long)x->x_drills[i].pid);
		}
	ruleset_free(&x->x_rs);
	pthread_rwlock_destroy(&x->x_rslock);
	pthread_mutex_destroy(&x->x_mu);
	pthread_mutex_destroy(&x->x_dbmu);
	free(x);
	return ret;
}
