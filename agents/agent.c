/*
 * agent.c - tocsin-agent's main loop: follow files into the spool, ship the
 * spool to the collector over a ZeroMQ DEALER socket with CURVE, and delete
 * what the collector acknowledges.
 *
 * One thread.  zmq_poll with a short timeout (none while there is work)
 * drives file polling, batching, heartbeats and the protocol timers.  A
 * loop turn makes one spool transaction: the lines read and the ACKs
 * received go into the same commit (spool_ack_defer).
 *
 * Protocol state (wire.h):
 *   IDLE       no session: send HELLO as soon as a connection exists
 *              (ZMQ_IMMEDIATE: a send fails while there is none)
 *   HELLO_SENT waiting for WELCOME; HELLO again after AGENT_HELLO_TIMEOUT_US
 *   READY      WELCOME received: send batches within the credit
 *   BACKOFF    the collector refused us (revoked, full, ...): wait, then IDLE
 * A new connection (monitor: handshake succeeded) or a disconnect puts us
 * back to IDLE.  WELCOME drops spooled events up to its seq and resends the
 * rest; an ACK that does not come within AGENT_ACK_TIMEOUT_US while events
 * are in flight starts a new session (HELLO), which resends them too.  The
 * collector drops what it already committed, so resending is always safe.
 *
 * Heartbeats (backlog, events sent, HB_SPOOL_FULL) go out every
 * cfg->heartbeat while READY, and also at once after a WELCOME and when the
 * spool becomes full, so that the collector (`tocsin agents`, the "spool
 * full" alert) learns of it without waiting an interval.  HB_SPOOL_FULL
 * stays set in the first heartbeat after the spool drained, so that the
 * condition is visible for an interval at least.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "agents/agent_int.h"
#include "agents/platform.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/stats.h"
#include "common/util.h"
#include "common/wire.h"

/* Main loop tick: bounds the latency of timers and file polling. */
#define AGENT_TICK_MS		50
/* Interval between file polls (stat) when nothing is pending. */
#define FOLLOW_POLL_US		(100 * 1000)
/* Lines read per poll before the loop gets back to the network. */
#define FOLLOW_MAX_LINES	8192
/* No WELCOME within this: send HELLO again. */
#define AGENT_HELLO_TIMEOUT_US	(5 * 1000 * 1000)
/* Events in flight and no ACK within this: new session, resend. */
#define AGENT_ACK_TIMEOUT_US	(10 * 1000 * 1000)
/* Back-off after REFUSE: FULL (journal full) and other, REVOKED/VERSION. */
#define AGENT_BACKOFF_FULL_US	(5 * 1000 * 1000)
#define AGENT_BACKOFF_LONG_US	(60 * 1000 * 1000)
/* Largest BATCH frame the agent builds (the collector's default limit is
 * MAX_FRAME_BYTES; a smaller frame keeps latency and memory low).  One
 * event always fits: a capped line is 64 KiB. */
#define AGENT_MAX_FRAME_BYTES	(1024 * 1024)
/* Batches sent per loop turn, so that acks and files get their turn. */
#define AGENT_MAX_BATCHES_TURN	64
/* Frames read per loop turn. */
#define AGENT_MAX_RECV_TURN	256
/* Largest frame accepted from the collector (its frames are small). */
/* the largest collector frame: a CONFIG with a group file at its cap */
#define AGENT_MAX_RECV_BYTES	(MAX_GROUP_BYTES + 4096)
/* The refusal text kept from a CONFIG (the wire caps it at 1024). */
#define AGENT_CFGERR_BYTES	1025
/* Socket queues, in frames. */
#define AGENT_SNDHWM		64
#define AGENT_RCVHWM		1024
/* Heartbeats sent early (a new session, the spool filling or draining)
 * keep at least this far apart: the collector records at most one heartbeat
 * a second per session and would not see a quicker change. */
#define AGENT_HB_MIN_GAP_US	(1100 * 1000)
/* An ACK not committed along with lines read waits at most this long for
 * a commit of its own (a crash before it means a resend, not a loss). */
#define AGENT_ACK_FLUSH_US	(1000 * 1000)
/* Counters are logged at debug level this often. */
#define AGENT_STATS_LOG_US	(60ULL * 1000 * 1000)

#define AGENT_MONITOR_EP	"inproc://tocsin-agent-monitor"

/* A collector that cannot be reached or authenticated to is reported at
 * once, then this often while it lasts. */
#define AGENT_LINK_WARN_US	(60ULL * 1000 * 1000)
/* A TCP connect that takes this long is given up (and reported as timed
 * out); a refused one fails at once. */
#define AGENT_CONNECT_TIMEOUT_MS	10000

/* Why the collector cannot be used (struct agent.link). */
enum link_problem { LINK_OK, LINK_REFUSED, LINK_TIMEOUT, LINK_AUTH,
    LINK_HANDSHAKE };

enum agent_state { ST_IDLE, ST_HELLO_SENT, ST_READY, ST_BACKOFF };

/* The agent's counters, saved in the spool's "stats" db as totals. */
enum {
	K_LINES, K_SENT, K_ACKED, K_RESENT, K_BATCHES, K_SPOOL_FULL,
	K_TRUNCATED, K_ROTATIONS, K_TRUNCATIONS, K_READ_ERRORS, K_REFUSED,
	K_BAD_FRAMES, K_SESSIONS, K_ACK_TIMEOUTS, K_AUTH_FAILURES,
	K_JOURNAL_ENTRIES, K_JOURNAL_ERRORS, K_CONFIGS_APPLIED,
	K_CONFIGS_REFUSED, K_BAD_ENCODING, K_COUNT
};
/* every heartbeat carries the whole table (wire.h) */
_Static_assert(K_COUNT <= MAX_HB_COUNTERS, "too many agent counters");

struct agent_counters {
	uint64_t	 sent;		/* events sent (incl. resent) */
	uint64_t	 acked;		/* events acknowledged (deleted) */
	uint64_t	 resent;	/* events sent again */
	uint64_t	 batches;	/* BATCH frames sent */
	uint64_t	 spool_full;	/* episodes of a full spool */
	uint64_t	 refused;	/* REFUSE frames received */
	uint64_t	 bad_frames;	/* frames from the collector that did not decode */
	uint64_t	 sessions;	/* WELCOMEs received */
	uint64_t	 ack_timeouts;	/* sessions restarted for a missing ACK */
	uint64_t	 auth_failures;	/* CURVE/ZAP handshakes refused */
	uint64_t	 configs_applied, configs_refused;
};

struct agent {
	const struct agent_config *cfg;
	const struct agent_opts *opts;
	spool_t		*sp;
	follower_t	*fw;
	oslog_t	*jr;		/* the system's log (systemd journal,
					   Windows Event Log), or NULL */
	void		*zctx, *sock, *mon;
	char		 host[MAX_HOST_BYTES + 1];
	struct wire_buf	 wb;

	enum agent_state state;
	uint64_t	 state_at;	/* mono: entered HELLO_SENT / BACKOFF */
	uint64_t	 backoff_us;
	uint64_t	 sent_through;	/* highest seq sent in this session */
	uint64_t	 max_sent;	/* highest seq ever sent (resend count) */
	uint64_t	 credit_limit;	/* highest seq we may have in flight */
	uint64_t	 last_progress;	/* mono: last ACK, or send into an empty pipe */
	uint64_t	 pending_since;	/* mono: unsent events waiting since */
	uint64_t	 next_follow, next_hb, next_stats;
	uint64_t	 last_hb;	/* mono: last heartbeat sent (0: none) */
	int		 follow_more;	/* a file still has unread data */
	int		 spool_full;	/* reading stopped at the cap */
	int		 hb_full;	/* the spool was full since the last
					   heartbeat: the next one says so */
	enum link_problem link;		/* the current problem, if any */
	char		 link_why[160];	/* its words */
	uint64_t	 link_since;	/* mono: since when (LINK_OK: 0) */
	uint64_t	 link_logged;	/* mono: last warning about it */
	uint64_t	 connecting;	/* mono: a TCP connect started (0) */
	int		 tcp_up;	/* the last connect succeeded (a retry
					 * after it is not a reach problem) */
	int		 ack_pending;	/* an ACK waits for agent_apply_ack */
	int		 send_more;	/* the last turn stopped sending at
					   AGENT_MAX_BATCHES_TURN: go on */
	uint64_t	 acked_seen;	/* spool's acked when last counted */
	uint64_t	 ack_flushed;	/* mono: no deferred ACK waited */
	uint64_t	 ack_epoch, ack_seq;
	uint32_t	 ack_credit;
	struct agent_counters c;	/* since start-up */
	uint64_t	 base[K_COUNT];	/* totals stored before start-up */
	/* the group's central configuration (see common/config.h) */
	struct agent_config eff;	/* cfg with the group's settings */
	struct group_config gc;		/* the one applied (empty: none) */
	char		 group[MAX_NAME_BYTES + 1];
	char		 cfgver[MAX_CONFIG_VERSION_BYTES + 1];	/* "" none */
	int		 peer_cfg;	/* the collector sent a CONFIG in this
					 * session: it reads the heartbeat's
					 * configuration and counters */
	char		 cfgerr[AGENT_CFGERR_BYTES];	/* last refusal
					 * reported by the collector */
	struct follow_stats fcarry;	/* stats of followers replaced */
	struct oslog_stats jcarry;
};

/* Batch building state for spool_read. */
struct batch_ctx {
	struct agent	*a;
	uint64_t	 next;		/* seq expected next */
	uint32_t	 n;
};

static const char *state_name(enum agent_state s)
{
	switch (s) {
	case ST_IDLE: return "idle";
	case ST_HELLO_SENT: return "hello-sent";
	case ST_READY: return "ready";
	case ST_BACKOFF: return "backoff";
	}
	return "?";
}

static const struct counter agent_counter_defs[K_COUNT] = {
	[K_LINES] = { "agent.lines_read", 0, "lines read and spooled" },
	[K_SENT] = { "agent.events_sent", 0, "events sent (incl. resent)" },
	[K_ACKED] = { "agent.events_acked", 0, "events acknowledged" },
	[K_RESENT] = { "agent.events_resent", 0, "events sent again" },
	[K_BATCHES] = { "agent.batches_sent", 0, "BATCH frames sent" },
	[K_SPOOL_FULL] = { "agent.spool_full", 0,
	    "times the spool cap stopped reading" },
	[K_TRUNCATED] = { "agent.lines_truncated", 0,
	    "lines capped at MAX_LINE_BYTES" },
	[K_ROTATIONS] = { "agent.rotations", 0, "file rotations seen" },
	[K_TRUNCATIONS] = { "agent.truncations", 0,
	    "files truncated or rewritten" },
	[K_READ_ERRORS] = { "agent.read_errors", 0, "file open/read errors" },
	[K_REFUSED] = { "agent.frames_refused", 0,
	    "REFUSE frames from the collector" },
	[K_BAD_FRAMES] = { "agent.bad_frames", 0,
	    "collector frames that did not decode" },
	[K_SESSIONS] = { "agent.sessions", 0, "WELCOMEs received" },
	[K_ACK_TIMEOUTS] = { "agent.ack_timeouts", 0,
	    "sessions restarted for a missing ACK" },
	[K_AUTH_FAILURES] = { "agent.auth_failures", 0,
	    "CURVE handshakes refused" },
	[K_JOURNAL_ENTRIES] = { "agent.journal_entries", 0,
	    "systemd journal entries spooled" },
	[K_JOURNAL_ERRORS] = { "agent.journal_errors", 0,
	    "systemd journal read errors" },
	[K_CONFIGS_APPLIED] = { "agent.configs_applied", 0,
	    "group configurations from the collector applied" },
	[K_CONFIGS_REFUSED] = { "agent.configs_refused", 0,
	    "group configurations refused (by the collector: file:line:col "
	    "logged; the last good one kept)" },
	[K_BAD_ENCODING] = { "agent.lines_bad_encoding", 0,
	    "lines not valid UTF-8/UTF-16 (e.g. Latin-1), UTF-32 or with NUL "
	    "bytes: shipped flagged" },
};

/* Counter values since start-up. */
static void agent_counters_now(const struct agent *a, uint64_t v[K_COUNT])
{
	struct follow_stats fs;
	struct oslog_stats js;

	follow_get_stats(a->fw, &fs);
	oslog_get_stats(a->jr, &js);
	fs.lines += a->fcarry.lines;
	fs.truncated += a->fcarry.truncated;
	fs.rotations += a->fcarry.rotations;
	fs.truncations += a->fcarry.truncations;
	fs.read_errors += a->fcarry.read_errors;
	fs.bad_encoding += a->fcarry.bad_encoding;
	js.entries += a->jcarry.entries;
	js.truncated += a->jcarry.truncated;
	js.errors += a->jcarry.errors;
	v[K_LINES] = fs.lines + js.entries;
	v[K_SENT] = a->c.sent;
	v[K_ACKED] = a->c.acked;
	v[K_RESENT] = a->c.resent;
	v[K_BATCHES] = a->c.batches;
	v[K_SPOOL_FULL] = a->c.spool_full;
	v[K_TRUNCATED] = fs.truncated + js.truncated;
	v[K_ROTATIONS] = fs.rotations;
	v[K_TRUNCATIONS] = fs.truncations;
	v[K_READ_ERRORS] = fs.read_errors;
	v[K_REFUSED] = a->c.refused;
	v[K_BAD_FRAMES] = a->c.bad_frames;
	v[K_SESSIONS] = a->c.sessions;
	v[K_ACK_TIMEOUTS] = a->c.ack_timeouts;
	v[K_AUTH_FAILURES] = a->c.auth_failures;
	v[K_JOURNAL_ENTRIES] = js.entries;
	v[K_JOURNAL_ERRORS] = js.errors;
	v[K_CONFIGS_APPLIED] = a->c.configs_applied;
	v[K_CONFIGS_REFUSED] = a->c.configs_refused;
	v[K_BAD_ENCODING] = fs.bad_encoding;
}

/* Log the counters since start-up (info at exit, debug every minute) and
 * save the totals into the spool. */
static void agent_log_counters(struct agent *a, int info)
{
	struct counter tot[K_COUNT];
	uint64_t v[K_COUNT];
	char line[1024];
	size_t off = 0;

	agent_counters_now(a, v);
	for (size_t i = 0; i < K_COUNT; i++) {
		int n = snprintf(line + off, sizeof(line) - off, "%s%s=%llu",
		    i ? " " : "", agent_counter_defs[i].name + 6,
		    (unsigned long long)v[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - off)
			break;
		off += (size_t)n;
	}
	(info ? log_info : log_debug)("counters: %s spooled=%llu state=%s",
	    line, (unsigned long long)spool_pending(a->sp),
	    state_name(a->state));
	memcpy(tot, agent_counter_defs, sizeof(tot));
	for (size_t i = 0; i < K_COUNT; i++)
		tot[i].value = a->base[i] + v[i];
	if (spool_stats_save(a->sp, tot, K_COUNT) != 0)
		log_warn("cannot save counters into the spool");
}

/* Highest seq acknowledged, a deferred ACK included. */
static uint64_t agent_acked(const struct agent *a)
{
	struct spool_info si;

	spool_get_info(a->sp, &si);
	return si.ack_through;
}

/* Highest seq whose ACK is committed in the spool. */
static uint64_t agent_acked_committed(const struct agent *a)
{
	struct spool_info si;

	spool_get_info(a->sp, &si);
	return si.acked;
}

static void agent_set_state(struct agent *a, enum agent_state s)
{
	if (a->state != s)
		log_debug("session: %s -> %s", state_name(a->state),
		    state_name(s));
	a->state = s;
	a->state_at = mono_us();
}

/* Send the frame in a->wb without blocking.  0, TS_EAGAIN (no connection
 * or queue full: try later) or TS_EIO. */
static int agent_send_frame(struct agent *a)
{
	if (a->wb.failed)
		return TS_ENOMEM;
	if (zmq_send(a->sock, a->wb.data, a->wb.len, ZMQ_DONTWAIT) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return TS_EAGAIN;
		log_warn("zmq_send: %s", zmq_strerror(errno));
		return TS_EIO;
	}
	return 0;
}

static void agent_send_hello(struct agent *a)
{
	struct spool_info si;

	spool_get_info(a->sp, &si);
	wire_hello(&a->wb, si.epoch, a->opts->version, a->host);
	a->peer_cfg = 0;	/* maybe another collector now */
	if (agent_send_frame(a) == 0) {
		log_debug("HELLO epoch %llu", (unsigned long long)si.epoch);
		agent_set_state(a, ST_HELLO_SENT);
	}
}

static void agent_backoff(struct agent *a, uint64_t us)
{
	a->backoff_us = us;
	agent_set_state(a, ST_BACKOFF);
}

/* Start over: the next turn sends HELLO, and WELCOME resends. */
static void agent_restart_session(struct agent *a)
{
	agent_set_state(a, ST_IDLE);
}

static void agent_apply_ack(struct agent *a);
static void agent_count_acked(struct agent *a);

/* Send a heartbeat as soon as the collector can record it (a new session,
 * the spool just became full) instead of at the next interval.  A spool
 * that has room again is reported at the next interval: an operator looking
 * at `tocsin agents` then sees the condition for a heartbeat interval at
 * least, not for the instant it took to drain. */
static void agent_heartbeat_soon(struct agent *a)
{
	uint64_t at = a->last_hb != 0 ? a->last_hb + AGENT_HB_MIN_GAP_US : 0;

	if (at < a->next_hb)
		a->next_hb = at;
}

static void agent_on_welcome(struct agent *a, const struct wire_msg *m)
{
	struct spool_info si;
	uint64_t freed = 0;

	agent_apply_ack(a);
	spool_get_info(a->sp, &si);
	if (m->epoch > si.epoch ||
	    (m->epoch == si.epoch && m->seq > si.next_seq - 1)) {
		/* The collector knows a newer epoch, or more of ours than we
		 * ever wrote (the spool was wiped): our events would be taken
		 * for duplicates.  Start a newer epoch and say HELLO again. */
		log_warn("collector knows epoch %llu seq %llu, beyond this "
		    "spool (epoch %llu, next seq %llu): starting a new epoch",
		    (unsigned long long)m->epoch, (unsigned long long)m->seq,
		    (unsigned long long)si.epoch,
		    (unsigned long long)si.next_seq);
		if (spool_new_epoch(a->sp, m->epoch) != 0)
			agent_backoff(a, AGENT_BACKOFF_FULL_US);
		else
			agent_restart_session(a);
		return;
	}
	if (m->epoch == si.epoch)
		(void)spool_ack_through(a->sp, m->epoch, m->seq, &freed);
	agent_count_acked(a);
	spool_get_info(a->sp, &si);
	if (a->state == ST_READY && a->sent_through > si.ack_through) {
		/* A late WELCOME for an earlier HELLO of this session: treat
		 * it as an ACK, do not resend what is in flight. */
		a->credit_limit = si.ack_through + m->credit;
		return;
	}
	a->c.sessions++;
	agent_heartbeat_soon(a);	/* the spool's state, right away */
	a->sent_through = si.ack_through;
	a->credit_limit = si.ack_through + m->credit;
	a->last_progress = mono_us();
	a->pending_since = 0;
	log_info("connected: collector has epoch %llu seq %llu; %llu events "
	    "to send, credit %u", (unsigned long long)m->epoch,
	    (unsigned long long)m->seq,
	    (unsigned long long)spool_pending(a->sp), m->credit);
	agent_set_state(a, ST_READY);
}

/* Count the events the spool deleted for ACKs since the last call. */
static void agent_count_acked(struct agent *a)
{
	struct spool_info si;

	spool_get_info(a->sp, &si);
	if (si.acked > a->acked_seen)
		a->c.acked += si.acked - a->acked_seen;
	a->acked_seen = si.acked;
}

/* Apply the newest ACK received in this loop turn: the credit at once; the
 * deletion is deferred into the turn's spool transaction (the lines read
 * this turn, or spool_ack_flush), one fsync for a burst of ACKs and the
 * lines read instead of one each. */
static void agent_apply_ack(struct agent *a)
{
	struct spool_info si;
	uint64_t through;

	if (!a->ack_pending)
		return;
	a->ack_pending = 0;
	spool_get_info(a->sp, &si);
	if (a->ack_epoch != si.epoch)
		return;
	spool_ack_defer(a->sp, a->ack_epoch, a->ack_seq);
	through = a->ack_seq < si.next_seq - 1 ? a->ack_seq : si.next_seq - 1;
	if (a->sent_through < through)
		a->sent_through = through;
	if (a->ack_seq >= si.ack_through)
		a->credit_limit = a->ack_seq + a->ack_credit;
	a->last_progress = mono_us();
}

static void agent_on_ack(struct agent *a, const struct wire_msg *m)
{
	struct spool_info si;

	spool_get_info(a->sp, &si);
	if (m->epoch != si.epoch) {
		log_debug("ACK of epoch %llu ignored (ours: %llu)",
		    (unsigned long long)m->epoch,
		    (unsigned long long)si.epoch);
		return;
	}
	if (!a->ack_pending || m->seq >= a->ack_seq) {
		a->ack_epoch = m->epoch;
		a->ack_seq = m->seq;
		a->ack_credit = m->credit;
		a->ack_pending = 1;
	}
}

static void agent_on_refuse(struct agent *a, const struct wire_msg *m)
{
	char why[128];

	escape_text(m->reason.p, m->reason.len, why, sizeof(why));
	a->c.refused++;
	switch (m->code) {
	case WIRE_REFUSE_REVOKED:
		log_err("collector refused us: agent key revoked (%s); "
		    "spooling and retrying every %d s", why,
		    (int)(AGENT_BACKOFF_LONG_US / 1000000));
		agent_backoff(a, AGENT_BACKOFF_LONG_US);
		break;
	case WIRE_REFUSE_FULL:
		log_warn("collector is full (%s); retrying in %d s", why,
		    (int)(AGENT_BACKOFF_FULL_US / 1000000));
		agent_backoff(a, AGENT_BACKOFF_FULL_US);
		break;
	case WIRE_REFUSE_NOHELLO:
		log_info("collector asks for HELLO (%s)", why);
		agent_restart_session(a);
		break;
	case WIRE_REFUSE_CREDIT:
		log_warn("collector: sent beyond credit (%s); resending", why);
		agent_backoff(a, AGENT_BACKOFF_FULL_US / 5);
		break;
	case WIRE_REFUSE_VERSION:
		log_err("collector does not speak protocol version %d (%s)",
		    WIRE_VERSION, why);
		agent_backoff(a, AGENT_BACKOFF_LONG_US);
		break;
	default:
		/* MALFORMED, TOOBIG: our frame was wrong - a bug. */
		log_err("collector refused a frame: code %u (%s); this is a "
		    "bug, starting a new session", (unsigned)m->code, why);
		agent_backoff(a, AGENT_BACKOFF_FULL_US);
		break;
	}
}

/* ---- the group's central configuration ------------------------------------ */

/* A wire string into dst, NUL-terminated and cut at cap - 1. */
static void copy_wstr(char *dst, size_t cap, const struct wire_str *w)
{
	size_t n = w->len < cap - 1 ? w->len : cap - 1;

	if (n > 0)
		memcpy(dst, w->p, n);
	dst[n] = '\0';
}

/* Close the sources, keeping their counts. */
static void sources_close(struct agent *a)
{
	struct follow_stats fs;
	struct oslog_stats js;

	if (a->fw != NULL) {
		follow_get_stats(a->fw, &fs);
		a->fcarry.lines += fs.lines;
		a->fcarry.truncated += fs.truncated;
		a->fcarry.rotations += fs.rotations;
		a->fcarry.truncations += fs.truncations;
		a->fcarry.read_errors += fs.read_errors;
		a->fcarry.bad_encoding += fs.bad_encoding;
	}
	if (a->jr != NULL) {
		oslog_get_stats(a->jr, &js);
		a->jcarry.entries += js.entries;
		a->jcarry.truncated += js.truncated;
		a->jcarry.errors += js.errors;
	}
	follow_free(&a->fw);
	oslog_free(&a->jr);
}

/* Open the files and the journal of a->eff (offsets and cursors from the
 * spool: nothing read twice, nothing skipped). */
static int sources_open(struct agent *a)
{
	int rc;

	if ((rc = follow_open(a->sp, (const char *const *)a->eff.follow,
	    a->eff.nfollow, a->eff.from_start, &a->fw)) != 0) {
		log_err("cannot follow files: %s", ts_strerror(rc));
		return rc;
	}
	if ((a->eff.journal || a->eff.eventlog) && (rc = oslog_open(a->sp, &a->eff,
	    &a->jr)) != 0) {
		follow_free(&a->fw);
		return rc;
	}
	a->follow_more = 1;
	return 0;
}

/* Reopen the spool with cap bytes (all sources closed, no ACK deferred). */
static int spool_reopen(struct agent *a, uint64_t cap)
{
	char *dir = xasprintf("%s/spool", a->cfg->data_dir);
	int rc;

	if (dir == NULL)
		return TS_ENOMEM;
	spool_close(&a->sp);
	rc = spool_open(dir, cap, &a->sp);
	if (rc != 0)
		log_err("cannot reopen the spool %s: %s", dir, ts_strerror(rc));
	free(dir);
	return rc;
}

/*
 * Run with the group configuration gc (taken over on success) of version
 * ver: the sources rebuilt from the local configuration with gc over it,
 * the spool reopened when its cap changes.  On failure the previous
 * configuration is restored.  0 or an error (logged).
 */
static int agent_apply_group(struct agent *a, struct group_config *gc,
    const char *group, const char *ver)
{
	struct agent_config old = a->eff;
	int rc;

	if (spool_ack_flush(a->sp) != 0)
		return TS_EDB;
	sources_close(a);
	group_config_apply(a->cfg, gc, &a->eff);
	if (a->eff.spool_max_bytes != old.spool_max_bytes &&
	    (rc = spool_reopen(a, a->eff.spool_max_bytes)) != 0)
		goto fail;
	if ((rc = sources_open(a)) != 0)
		goto fail;
	group_config_free(&a->gc);
	a->gc = *gc;
	memset(gc, 0, sizeof(*gc));
	/* the shallow copy must point into a->gc, not into *gc */
	group_config_apply(a->cfg, &a->gc, &a->eff);
	snprintf(a->group, sizeof(a->group), "%s", group);
	snprintf(a->cfgver, sizeof(a->cfgver), "%s", ver);
	log_info("group %s configuration version %s applied: %zu files%s, "
	    "spool cap %llu bytes", group, ver, a->eff.nfollow,
	    a->eff.journal ? " and the journal" : "",
	    (unsigned long long)a->eff.spool_max_bytes);
	return 0;
fail:
	sources_close(a);
	a->eff = old;
	if (a->sp == NULL && spool_reopen(a, old.spool_max_bytes) != 0)
		return rc;
	if (a->sp != NULL && old.spool_max_bytes != a->eff.spool_max_bytes)
		(void)spool_reopen(a, old.spool_max_bytes);
	if (sources_open(a) != 0)
		log_err("cannot reopen the previous sources");
	return rc;
}

/* Load the configuration kept in the spool: VERSION\nGROUP\nTEXT. */
static void agent_load_group(struct agent *a)
{
	struct group_config gc;
	char *blob = NULL, *nl1, *nl2, err[600];
	size_t len;

	if (spool_meta_get(a->sp, "groupconf", MAX_GROUP_BYTES + 256, &blob,
	    &len) != 0)
		return;
	if ((nl1 = memchr(blob, '\n', len)) == NULL ||
	    (nl2 = memchr(nl1 + 1, '\n', len - (size_t)(nl1 + 1 - blob))) ==
	    NULL) {
		log_warn("spool: the stored group configuration is corrupt; "
		    "ignored");
		free(blob);
		return;
	}
	*nl1 = *nl2 = '\0';
	if (strlen(blob) > MAX_CONFIG_VERSION_BYTES ||
	    !name_valid_str(NAME_AGENT, nl1 + 1) ||
	    group_config_parse("stored group configuration", nl2 + 1,
	    len - (size_t)(nl2 + 1 - blob), &gc, err, sizeof(err)) != 0) {
		log_warn("spool: the stored group configuration does not "
		    "parse; ignored");
		free(blob);
		return;
	}
	if (agent_apply_group(a, &gc, nl1 + 1, blob) != 0)
		group_config_free(&gc);
	free(blob);
}

static void agent_on_config(struct agent *a, const struct wire_msg *m)
{
	char group[MAX_NAME_BYTES + 1], ver[MAX_CONFIG_VERSION_BYTES + 1];
	char cerr[AGENT_CFGERR_BYTES], perr[600], *blob = NULL;
	struct group_config gc;
	size_t blen;

	copy_wstr(group, sizeof(group), &m->group);
	copy_wstr(ver, sizeof(ver), &m->cfgver);
	copy_wstr(cerr, sizeof(cerr), &m->cfgerr);
	if (!a->peer_cfg) {
		/* this collector reads the counters: tell it soon */
		a->peer_cfg = 1;
		agent_heartbeat_soon(a);
	}
	if (!name_valid_str(NAME_AGENT, group)) {
		a->c.bad_frames++;
		log_warn("CONFIG with a bad group name: ignored");
		return;
	}
	if (cerr[0] != '\0' && strcmp(cerr, a->cfgerr) != 0) {
		a->c.configs_refused++;
		log_err("the server refused group %s's configuration: %s; "
		    "this agent keeps %s%s", group, cerr, a->cfgver[0] ?
		    "version " : "its own configuration", a->cfgver);
	}
	snprintf(a->cfgerr, sizeof(a->cfgerr), "%s", cerr);
	if (ver[0] == '\0' || strcmp(ver, a->cfgver) == 0)
		return;
	if (group_config_parse("group configuration from the server",
	    m->text.p, m->text.len, &gc, perr, sizeof(perr)) != 0) {
		a->c.configs_refused++;
		log_err("group %s configuration version %s refused: %s; this "
		    "agent keeps %s%s", group, ver, perr, a->cfgver[0] ?
		    "version " : "its own configuration", a->cfgver);
		return;
	}
	if (agent_apply_group(a, &gc, group, ver) != 0) {
		group_config_free(&gc);
		a->c.configs_refused++;
		return;
	}
	a->c.configs_applied++;
	/* kept for a restart without the server */
	if ((blob = xasprintf("%s\n%s\n%.*s", ver, group, (int)m->text.len,
	    m->text.p)) == NULL ||
	    spool_meta_put(a->sp, "groupconf", blob, (blen = strlen(blob))) !=
	    0)
		log_warn("spool: cannot keep the group configuration: it "
		    "applies until the agent restarts");
	free(blob);
	agent_heartbeat_soon(a);
}

static void agent_on_frame(struct agent *a, const void *buf, size_t len)
{
	struct wire_msg m;
	const char *why = "?";

	if (wire_decode(buf, len, &m, &why) != 0) {
		a->c.bad_frames++;
		log_warn("bad frame from collector (%zu bytes): %s", len, why);
		return;
	}
	switch (m.type) {
	case WIRE_WELCOME:
		agent_on_welcome(a, &m);
		break;
	case WIRE_ACK:
		agent_on_ack(a, &m);
		break;
	case WIRE_REFUSE:
		agent_on_refuse(a, &m);
		break;
	case WIRE_CONFIG:
		agent_on_config(a, &m);
		break;
	default:
		a->c.bad_frames++;
		log_warn("unexpected frame type %u from collector",
		    (unsigned)m.type);
		break;
	}
}

static void agent_recv(struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_RECV_TURN; i++) {
		zmq_msg_t msg;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, a->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			break;
		}
		if (zmq_msg_more(&msg)) {
			/* Our frames are single-part: drop the whole thing. */
			a->c.bad_frames++;
			while (zmq_msg_more(&msg)) {
				zmq_msg_close(&msg);
				zmq_msg_init(&msg);
				if (zmq_msg_recv(&msg, a->sock, ZMQ_DONTWAIT) < 0)
					break;
			}
			zmq_msg_close(&msg);
			continue;
		}
		agent_on_frame(a, zmq_msg_data(&msg), zmq_msg_size(&msg));
		zmq_msg_close(&msg);
	}
	agent_apply_ack(a);
}

/* "45 s", "12 min", "3 h" */
static void link_duration(uint64_t us, char *buf, size_t len)
{
	uint64_t sec = us / 1000000;

	if (sec < 120)
		snprintf(buf, len, "%llu s", (unsigned long long)sec);
	else if (sec < 7200)
		snprintf(buf, len, "%llu min", (unsigned long long)(sec / 60));
	else
		snprintf(buf, len, "%llu h", (unsigned long long)(sec / 3600));
}

/* The collector cannot be reached or authenticated to: warn at once when
 * the problem is new or changes, then every AGENT_LINK_WARN_US while it
 * lasts (link_tick).  Events are spooled meanwhile. */
static void link_problem(struct agent *a, enum link_problem p,
    const char *why)
{
	uint64_t now = mono_us();

	if (p == a->link && now - a->link_logged < AGENT_LINK_WARN_US)
		return;
	if (a->link == LINK_OK)
		a->link_since = now;
	if (p != a->link)
		log_warn("cannot %s collector %s: %s; spooling and retrying",
		    p == LINK_AUTH || p == LINK_HANDSHAKE ? "authenticate to" :
		    "reach", a->cfg->server_endpoint, why);
	else {
		char d[32];

		link_duration(now - a->link_since, d, sizeof(d));
		log_warn("still cannot %s collector %s after %s: %s; %llu "
		    "events spooled", p == LINK_AUTH || p == LINK_HANDSHAKE ?
		    "authenticate to" : "reach", a->cfg->server_endpoint, d,
		    why, (unsigned long long)spool_pending(a->sp));
	}
	a->link = p;
	snprintf(a->link_why, sizeof(a->link_why), "%s", why);
	a->link_logged = now;
}

/* Repeat the warning while the problem lasts, even when libzmq stops
 * telling (a connect that keeps timing out says so each time anyway). */
static void link_tick(struct agent *a, uint64_t now)
{
	if (a->link != LINK_OK && now - a->link_logged >= AGENT_LINK_WARN_US) {
		char why[sizeof(a->link_why)];

		memcpy(why, a->link_why, sizeof(why));
		link_problem(a, a->link, why);
	}
}

static void link_ok(struct agent *a)
{
	char d[32];

	if (a->link != LINK_OK) {
		link_duration(mono_us() - a->link_since, d, sizeof(d));
		log_info("collector %s reachable again after %s",
		    a->cfg->server_endpoint, d);
	}
	a->link = LINK_OK;
	a->link_since = 0;
}

/* Socket monitor: a new connection starts a session, a lost one ends it;
 * a connection refused, timed out or not authenticated is reported. */
static void agent_monitor(struct agent *a)
{
	for (int i = 0; i < AGENT_MAX_RECV_TURN; i++) {
		zmq_msg_t msg;
		uint16_t ev = 0;
		uint32_t val = 0;
		char why[160];
		uint64_t took;

		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, a->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		if (zmq_msg_size(&msg) >= 6) {
			memcpy(&ev, zmq_msg_data(&msg), 2);
			memcpy(&val, (char *)zmq_msg_data(&msg) + 2, 4);
		}
		while (zmq_msg_more(&msg)) {	/* the address frame */
			zmq_msg_close(&msg);
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, a->mon, ZMQ_DONTWAIT) < 0)
				break;
		}
		zmq_msg_close(&msg);
		switch (ev) {
		case ZMQ_EVENT_CONNECT_DELAYED:
			if (a->connecting == 0)
				a->connecting = mono_us();
			break;
		case ZMQ_EVENT_CONNECT_RETRIED:
			/* After a connection that was made (and failed its
			 * handshake, said above, or was lost): not a reach
			 * problem.  A refused connect fails at once; one that
			 * ran into ZMQ_CONNECT_TIMEOUT took (almost) all of
			 * it. */
			took = a->connecting ? mono_us() - a->connecting : 0;
			a->connecting = 0;
			if (a->tcp_up) {
				a->tcp_up = 0;
				break;
			}
			if (took >= AGENT_CONNECT_TIMEOUT_MS * 900ULL)
				link_problem(a, LINK_TIMEOUT, "connection timed "
				    "out (no answer: a firewall, a wrong "
				    "address, or the server is down)");
			else
				link_problem(a, LINK_REFUSED, "connection "
				    "refused (is tocsind running and listening "
				    "there?)");
			break;
		case ZMQ_EVENT_CONNECTED:
			a->connecting = 0;
			a->tcp_up = 1;
			break;
		case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
			log_info("connection to %s established",
			    a->cfg->server_endpoint);
			link_ok(a);
			/* A HELLO already sent went over this connection
			 * (ZMQ_IMMEDIATE); otherwise start a session on it. */
			if (a->state == ST_READY)
				agent_restart_session(a);
			break;
		case ZMQ_EVENT_DISCONNECTED:
			if (a->state == ST_READY || a->state == ST_HELLO_SENT)
				log_warn("connection to %s lost; spooling",
				    a->cfg->server_endpoint);
			if (a->state != ST_BACKOFF)
				agent_restart_session(a);
			break;
		case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
			a->c.auth_failures++;
			snprintf(why, sizeof(why), "it refused this agent's "
			    "key (ZAP status %u): not enrolled, revoked, or "
			    "enrolled on another server", (unsigned)val);
			link_problem(a, LINK_AUTH, why);
			break;
		case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
		case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
			a->c.auth_failures++;
			link_problem(a, LINK_HANDSHAKE, "the CURVE handshake "
			    "failed: wrong server key (server_key in this "
			    "configuration is not that collector's)");
			break;
		default:
			break;
		}
	}
}

static int batch_add_cb(const struct spool_event *ev, void *arg)
{
	struct batch_ctx *b = arg;
	struct wire_buf *w = &b->a->wb;
	size_t need = 8 + 2 + 2 + 4 + ev->file_len + ev->line_len;

	if (ev->seq != b->next)
		return 1;	/* a gap cannot be expressed in one batch */
	if (b->n > 0 && w->len + need > AGENT_MAX_FRAME_BYTES)
		return 1;
	wire_batch_add(w, ev->time_us, ev->flags, ev->file, ev->file_len,
	    ev->line, ev->line_len);
	b->n++;
	b->next++;
	return 0;
}

/* Send one batch if the credit and the batching rules allow.  1 if a batch
 * went out, 0 if not. */
static int agent_send_batch(struct agent *a, uint64_t now)
{
	struct spool_info si;
	struct batch_ctx b;
	uint64_t avail, window, n;

	spool_get_info(a->sp, &si);
	if (a->sent_through < si.ack_through)
		a->sent_through = si.ack_through;
	avail = si.next_seq - 1 - a->sent_through;
	if (avail == 0) {
		a->pending_since = 0;
		return 0;
	}
	if (a->pending_since == 0)
		a->pending_since = now;
	window = a->credit_limit > a->sent_through ?
	    a->credit_limit - a->sent_through : 0;
	n = avail < window ? avail : window;
	if (n > a->cfg->batch_max)
		n = a->cfg->batch_max;
	if (n > MAX_BATCH_EVENTS)
		n = MAX_BATCH_EVENTS;
	if (n == 0)
		return 0;
	/* Wait for a full batch, for batch_wait, or not at all when
	 * resending what the collector has not acknowledged or when a backlog
	 * waits only for credit (send as soon as the credit allows). */
	if (avail < a->cfg->batch_max && avail < MAX_BATCH_EVENTS &&
	    a->sent_through >= a->max_sent &&
	    now - a->pending_since < a->cfg->batch_wait_us)
		return 0;
	b.a = a;
	b.next = a->sent_through + 1;
	b.n = 0;
	wire_batch_begin(&a->wb, si.epoch, b.next);
	if (spool_read(a->sp, b.next, (size_t)n, batch_add_cb, &b) != 0 ||
	    b.n == 0)
		return 0;
	wire_batch_end(&a->wb);
	if (agent_send_frame(a) != 0)
		return 0;
	if (a->sent_through == si.ack_through)
		a->last_progress = now;	/* the ack clock starts now */
	uint64_t last = a->sent_through + b.n;
	if (a->max_sent > a->sent_through)
		a->c.resent += (a->max_sent < last ? a->max_sent : last) -
		    a->sent_through;
	a->sent_through = last;
	if (last > a->max_sent)
		a->max_sent = last;
	a->c.sent += b.n;
	a->c.batches++;
	a->pending_since = a->sent_through < si.next_seq - 1 ? now : 0;
	log_debug("BATCH seq %llu..%llu", (unsigned long long)b.next - b.n,
	    (unsigned long long)last);
	return 1;
}

static void agent_send_heartbeat(struct agent *a)
{
	struct spool_info si;

	spool_get_info(a->sp, &si);
	if (a->peer_cfg) {
		const char *names[K_COUNT];
		uint64_t v[K_COUNT];
		size_t n = 0;

		/* totals, as kept in the spool across restarts; the non-zero
		 * ones (an absent counter is zero) */
		agent_counters_now(a, v);
		for (size_t i = 0; i < K_COUNT; i++) {
			if (a->base[i] + v[i] == 0)
				continue;
			names[n] = agent_counter_defs[i].name;
			v[n++] = a->base[i] + v[i];
		}
		wire_heartbeat_ctrs(&a->wb, si.epoch,
		    si.next_seq - 1 - si.ack_through, a->c.sent,
		    a->spool_full || a->hb_full ? HB_SPOOL_FULL : 0, a->cfgver,
		    names, v, n);
	} else {
		wire_heartbeat_cfg(&a->wb, si.epoch,
		    si.next_seq - 1 - si.ack_through, a->c.sent,
		    a->spool_full || a->hb_full ? HB_SPOOL_FULL : 0,
		    a->cfgver);
	}
	if (agent_send_frame(a) == 0) {
		a->last_hb = mono_us();
		a->hb_full = a->spool_full;
	}
}

/* Microseconds from since to now; 0 if since is later (a timer set after
 * now was read). */
static uint64_t elapsed_us(uint64_t now, uint64_t since)
{
	return now > since ? now - since : 0;
}

/* Timers and sends of the protocol, twice per loop turn (before and after
 * reading the files). */
static void agent_tick(struct agent *a, uint64_t now)
{
	a->send_more = 0;
	switch (a->state) {
	case ST_BACKOFF:
		if (elapsed_us(now, a->state_at) >= a->backoff_us)
			agent_restart_session(a);
		break;
	case ST_HELLO_SENT:
		if (elapsed_us(now, a->state_at) >= AGENT_HELLO_TIMEOUT_US)
			agent_restart_session(a);
		break;
	case ST_READY:
		if (a->sent_through > agent_acked(a) &&
		    elapsed_us(now, a->last_progress) >= AGENT_ACK_TIMEOUT_US) {
			a->c.ack_timeouts++;
			log_warn("no ACK for %d s with %llu events in flight; "
			    "starting a new session",
			    (int)(AGENT_ACK_TIMEOUT_US / 1000000),
			    (unsigned long long)(a->sent_through -
			    agent_acked(a)));
			agent_restart_session(a);
			break;
		}
		a->send_more = 1;
		for (int i = 0; i < AGENT_MAX_BATCHES_TURN; i++)
			if (!agent_send_batch(a, now)) {
				a->send_more = 0;
				break;
			}
		break;
	case ST_IDLE:
		break;
	}
	if (a->state == ST_IDLE)
		agent_send_hello(a);
	if (now >= a->next_hb) {
		if (a->state == ST_READY)
			agent_send_heartbeat(a);
		a->next_hb = now + a->cfg->heartbeat_us;
	}
}

static void agent_follow(struct agent *a, uint64_t now)
{
	int rc;

	if (!a->follow_more && now < a->next_follow)
		return;
	rc = follow_poll(a->fw, FOLLOW_MAX_LINES, &a->follow_more);
	if (rc == 0 && a->jr != NULL) {
		int jmore = 0;

		rc = oslog_poll(a->jr, FOLLOW_MAX_LINES, &jmore);
		if (jmore)
			a->follow_more = 1;
	}
	a->next_follow = now + FOLLOW_POLL_US;
	if (rc == TS_EFULL) {
		a->follow_more = 0;
		if (!a->spool_full) {
			struct spool_info si;
			spool_get_info(a->sp, &si);
			log_warn("spool full (%llu of %llu bytes, %llu events): "
			    "reading stopped until the collector acknowledges",
			    (unsigned long long)si.bytes,
			    (unsigned long long)si.max_bytes,
			    (unsigned long long)spool_pending(a->sp));
			a->spool_full = 1;
			a->c.spool_full++;
			agent_heartbeat_soon(a);
		}
		a->hb_full = 1;
		return;
	}
	if (rc != 0) {
		log_err("reading files or the journal: %s", ts_strerror(rc));
		a->follow_more = 0;
		a->next_follow = now + 1000 * 1000;
		return;
	}
	if (a->spool_full) {
		log_info("spool has room again: reading resumed");
		a->spool_full = 0;
	}
}

static int set_int(void *sock, int opt, int val, const char *name)
{
	if (zmq_setsockopt(sock, opt, &val, sizeof(val)) != 0) {
		log_err("zmq_setsockopt %s: %s", name, zmq_strerror(errno));
		return TS_EIO;
	}
	return 0;
}

/* Create the DEALER socket with CURVE and its monitor, and connect. */
static int agent_connect(struct agent *a)
{
	const struct agent_config *cfg = a->cfg;

	if ((a->zctx = zmq_ctx_new()) == NULL) {
		log_err("zmq_ctx_new: %s", zmq_strerror(errno));
		return TS_EIO;
	}
	if ((a->sock = zmq_socket(a->zctx, ZMQ_DEALER)) == NULL) {
		log_err("zmq_socket: %s", zmq_strerror(errno));
		return TS_EIO;
	}
	if (zmq_setsockopt(a->sock, ZMQ_CURVE_SERVERKEY, cfg->server_pub, 40) ||
	    zmq_setsockopt(a->sock, ZMQ_CURVE_PUBLICKEY, cfg->pub, 40) ||
	    zmq_setsockopt(a->sock, ZMQ_CURVE_SECRETKEY, cfg->sec, 40)) {
		log_err("CURVE keys: %s", zmq_strerror(errno));
		return TS_EINVAL;
	}
	int64_t maxmsg = AGENT_MAX_RECV_BYTES;
	if (zmq_setsockopt(a->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg))) {
		log_err("zmq_setsockopt ZMQ_MAXMSGSIZE: %s", zmq_strerror(errno));
		return TS_EIO;
	}
	if (set_int(a->sock, ZMQ_LINGER, 0, "ZMQ_LINGER") ||
	    set_int(a->sock, ZMQ_IMMEDIATE, 1, "ZMQ_IMMEDIATE") ||
	    set_int(a->sock, ZMQ_CONNECT_TIMEOUT, AGENT_CONNECT_TIMEOUT_MS,
	    "ZMQ_CONNECT_TIMEOUT") ||
	    set_int(a->sock, ZMQ_SNDHWM, AGENT_SNDHWM, "ZMQ_SNDHWM") ||
	    set_int(a->sock, ZMQ_RCVHWM, AGENT_RCVHWM, "ZMQ_RCVHWM") ||
	    set_int(a->sock, ZMQ_RECONNECT_IVL, 500, "ZMQ_RECONNECT_IVL") ||
	    set_int(a->sock, ZMQ_RECONNECT_IVL_MAX, 10000,
	    "ZMQ_RECONNECT_IVL_MAX") ||
	    /* ZMTP heartbeats notice a dead peer or a cut network. */
	    set_int(a->sock, ZMQ_HEARTBEAT_IVL, 5000, "ZMQ_HEARTBEAT_IVL") ||
	    set_int(a->sock, ZMQ_HEARTBEAT_TIMEOUT, 15000,
	    "ZMQ_HEARTBEAT_TIMEOUT"))
		return TS_EIO;
	if (zmq_socket_monitor(a->sock, AGENT_MONITOR_EP,
	    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
	    ZMQ_EVENT_CONNECT_DELAYED | ZMQ_EVENT_CONNECT_RETRIED |
	    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
	    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0) {
		log_err("zmq_socket_monitor: %s", zmq_strerror(errno));
		return TS_EIO;
	}
	if ((a->mon = zmq_socket(a->zctx, ZMQ_PAIR)) == NULL ||
	    set_int(a->mon, ZMQ_LINGER, 0, "ZMQ_LINGER") ||
	    zmq_connect(a->mon, AGENT_MONITOR_EP) != 0) {
		log_err("monitor socket: %s", zmq_strerror(errno));
		return TS_EIO;
	}
	if (zmq_connect(a->sock, cfg->server_endpoint) != 0) {
		log_err("cannot connect to %s: %s", cfg->server_endpoint,
		    zmq_strerror(errno));
		return TS_EINVAL;
	}
	return 0;
}

static void agent_close(struct agent *a)
{
	if (a->sock) {
		zmq_socket_monitor(a->sock, NULL, 0);
		zmq_close(a->sock);
	}
	if (a->mon)
		zmq_close(a->mon);
	if (a->zctx)
		zmq_ctx_term(a->zctx);
	a->sock = a->mon = a->zctx = NULL;
	follow_free(&a->fw);
	oslog_free(&a->jr);
	spool_close(&a->sp);
	wire_buf_free(&a->wb);
	group_config_free(&a->gc);
}

int agent_run(const struct agent_config *cfg, const struct agent_opts *opts)
{
	struct agent a;
	char *dir = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	a.cfg = cfg;
	a.opts = opts;
	if (cfg->host && cfg->host[0])
		snprintf(a.host, sizeof(a.host), "%s", cfg->host);
	else if (plat_hostname(a.host, sizeof(a.host)) != 0)
		snprintf(a.host, sizeof(a.host), "%s", "unknown");
	a.host[sizeof(a.host) - 1] = '\0';
	if ((dir = xasprintf("%s/spool", cfg->data_dir)) == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	if ((rc = spool_open(dir, cfg->spool_max_bytes, &a.sp)) != 0) {
		log_err("cannot open the spool %s: %s", dir, ts_strerror(rc));
		goto out;
	}
	{
		struct counter tot[K_COUNT];
		memcpy(tot, agent_counter_defs, sizeof(tot));
		if (spool_stats_load(a.sp, tot, K_COUNT) == 0)
			for (size_t i = 0; i < K_COUNT; i++)
				a.base[i] = tot[i].value;
	}
	a.eff = *cfg;
	if ((rc = sources_open(&a)) != 0)
		goto out;
	/* the group configuration applied last, until the server says */
	agent_load_group(&a);
	if (a.sp == NULL || a.fw == NULL) {
		rc = TS_EIO;
		goto out;
	}
	if ((rc = agent_connect(&a)) != 0)
		goto out;
	{
		struct spool_info si;
		spool_get_info(a.sp, &si);
		log_info("agent %s (host %s) started: epoch %llu, %llu events "
		    "spooled, %zu files%s, collector %s", cfg->name, a.host,
		    (unsigned long long)si.epoch,
		    (unsigned long long)spool_pending(a.sp), a.eff.nfollow,
		    a.jr != NULL ? " and the system log" : "",
		    cfg->server_endpoint);
	}
	if (opts->ready_cb)
		opts->ready_cb(opts->ready_arg);
	a.state = ST_IDLE;
	a.acked_seen = agent_acked_committed(&a);
	a.next_stats = mono_us() + AGENT_STATS_LOG_US;
	while (!*opts->stop) {
		zmq_pollitem_t items[2] = {
			{ a.sock, 0, ZMQ_POLLIN, 0 },
			{ a.mon, 0, ZMQ_POLLIN, 0 },
		};
		uint64_t now;

		/* No wait while there is work: unread data in a file, or
		 * batches that the credit allows and the last turn left. */
		if (zmq_poll(items, 2, a.follow_more || a.send_more ? 0 :
		    AGENT_TICK_MS) < 0 &&
		    errno != EINTR) {
			log_err("zmq_poll: %s", zmq_strerror(errno));
			rc = TS_EIO;
			break;
		}
		if (*opts->stop)
			break;
		agent_monitor(&a);
		agent_recv(&a);
		now = mono_us();
		/* Send what the credit allows before reading more: the
		 * collector works on it while this turn reads its files;
		 * then once more for the lines just read. */
		agent_tick(&a, now);
		agent_follow(&a, now);
		/* ACKs not committed along with lines read go on their own
		 * every AGENT_ACK_FLUSH_US, or at once when the spool is full
		 * (their room is needed).  Until then a crash only means a
		 * resend, which the collector drops as duplicates. */
		if (agent_acked(&a) > agent_acked_committed(&a) &&
		    (now - a.ack_flushed >= AGENT_ACK_FLUSH_US ||
		    a.spool_full || spool_is_full(a.sp))) {
			if (spool_ack_flush(a.sp) != 0)
				log_warn("spool: cannot commit an ACK; "
				    "retrying");
		}
		if (agent_acked(&a) == agent_acked_committed(&a))
			a.ack_flushed = now;
		agent_count_acked(&a);
		now = mono_us();	/* the first tick may have set timers */
		agent_tick(&a, now);
		link_tick(&a, now);
		if (now >= a.next_stats) {
			agent_log_counters(&a, 0);
			a.next_stats = now + AGENT_STATS_LOG_US;
		}
	}
	log_info("stopping");
	if (spool_ack_flush(a.sp) != 0)
		log_warn("spool: cannot commit the last ACK");
	agent_count_acked(&a);
	agent_log_counters(&a, 1);
out:
	agent_close(&a);
	free(dir);
	return rc;
}
