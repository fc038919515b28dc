/*
 * collector.c - the collector process: agents over ZeroMQ + CURVE, syslog
 * from network devices, everything into the journal.
 *
 * One thread, one poll loop: the agents' ROUTER socket, the ZAP handler's
 * REP socket (zap.c), a monitor of the ROUTER's connections and the syslog
 * sockets (syslog.c).  An agent's BATCH is acknowledged only after the
 * journal transaction that holds it (and the agent's new high-water mark)
 * commits; a full journal that cannot grow gets REFUSE FULL and no ACK, so
 * the agent keeps its spool and retries.
 *
 * Group commit: the BATCH frames that are ready when the ROUTER wakes us
 * (up to MAX_GROUP_FRAMES / MAX_GROUP_EVENTS) are journaled in ONE write
 * transaction (one fsync), then all their ACKs are sent.  Each batch is
 * judged against its agent's high-water mark as read inside that
 * transaction, so several batches of one agent in a group are exactly as
 * if committed one by one.  HELLO and HEARTBEAT records join the group's
 * transaction too (a HELLO's WELCOME is sent after it commits, and a HELLO
 * first commits the batches of its own agent in the group, whose mark it
 * reports); any other reply first commits the group, so replies keep the
 * order of the frames.  If the group does not
 * fit a journal at its cap, its batches are retried one transaction each
 * and those that do not fit are refused FULL; after that the session gets
 * FULL for every batch until it says HELLO again, so no later batch of that
 * agent can land beyond one that was refused (which would lose it).  If the
 * group fails for any other reason, one batch may be the cause (one the
 * journal refuses although the wire decoder let it through): the batches
 * are retried one transaction each, and only those that fail alone are
 * refused (MALFORMED for a batch the journal calls invalid, counted in
 * collector.frames_refused_malformed), so one agent cannot make the others'
 * batches fail.
 *
 * The collector also journals tocsin's own events (internal.c, journal.h):
 * agents gone silent and back, spools and the journal full and free again,
 * refusal and drop counters past a threshold.
 *
 * Frame size: libzmq's ZMQ_MAXMSGSIZE is set to FRAME_HARD_FACTOR times
 * collector.max_frame_size.  Frames between the two are received and
 * answered REFUSE TOOBIG (counted in collector.frames_refused_toobig);
 * frames past the hard limit make libzmq drop the connection without
 * telling which message it was, so they show only as a disconnect
 * (collector.disconnects, from the socket monitor).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include "collector/collector_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/config.h"
#include "common/datadir.h"
#include "common/keys.h"
#include "common/names.h"
#include "common/stats.h"
#include "common/util.h"
#include "common/wire.h"
#include "collector/collector.h"

/* Frames up to this many times max_frame_bytes are read (and refused if
 * past max_frame_bytes); beyond that libzmq disconnects the peer.  Also
 * leaves room for the CURVE envelope of a frame right at the limit. */
#define FRAME_HARD_FACTOR	2

/* Agent connections the collector remembers a HELLO for.  The least
 * recently used session is evicted past this (counted); its agent gets
 * REFUSE NOHELLO on its next frame and says HELLO again.  Above the
 * 10,000 agents one collector is measured with (docs/benchmarks.md): past
 * the cap every heartbeat evicts another agent's session, and the HELLOs
 * that follow leave no time for events. */
#define MAX_SESSIONS		16384
/* Buckets of the sessions' index by routing id (a power of two). */
#define SESSION_BUCKETS		32768

/* A connection that has not finished its ZMTP/CURVE handshake by then is
 * closed by libzmq (bare TCP connections to the agent port cannot hold
 * descriptors for long).  One agent finishes in milliseconds, but libzmq's
 * I/O thread moves all the handshakes in progress forward together, so
 * when thousands connect at once (after a restart) they finish together,
 * after the CPU time of all of them: at 10 s, 10,000 agents on a loaded
 * 2-core machine timed out together and came back to do it again (1,747
 * and 6,826 handshakes failed in two runs).  30 s is libzmq's default, and
 * the agents' own limit. */
#define HANDSHAKE_IVL_MS	30000

/* Connections the kernel may hold, handshake done, until libzmq accepts
 * them: listen(2)'s backlog, which the kernel caps at net.core.somaxconn
 * (collector.listen_backlog says what it granted).  libzmq's default is
 * 100: when thousands of agents connect at once (all of them after a
 * collector restart) the queue overflowed, the kernel dropped their SYNs
 * and they came back 1, 3, 7, 15 s later (collector.listen_drops). */
#define LISTEN_BACKLOG		65535

/* Longest ZeroMQ routing id (libzmq's own limit). */
#define MAX_ROUTING_ID		255

/* Agent frames handled per poll wake-up, so syslog gets its turn. */
#define MAX_FRAMES_PER_POLL	64

/* Group commit bounds: batches, and their events, in one transaction. */
#define MAX_GROUP_FRAMES	MAX_FRAMES_PER_POLL
#define MAX_GROUP_EVENTS	16384

/* Agents found silent and flagged per check (the rest next second). */
#define MAX_SILENT_PER_CHECK	256

/* Map growths tried for one transaction before giving up. */
#define MAX_GROW_TRIES		64

/* Counters are written at least this often, even when idle. */
#define STATS_INTERVAL_US	(1000 * 1000)

/* Heartbeats update an agent's record at most this often. */
#define HEARTBEAT_TOUCH_US	(1000 * 1000)

/* Poll items besides syslog's: ROUTER, ZAP, monitor. */
#define FIXED_ITEMS		3
#define MAX_POLL_ITEMS		(FIXED_ITEMS + 2 + 256)

#define MONITOR_ENDPOINT	"inproc://tocsin-collector-monitor"

enum {
	C_FRAMES_RECEIVED, C_EVENTS_JOURNALED, C_EVENTS_DUPLICATE,
	C_BATCHES_REPLAYED, C_EVENTS_GAP, C_REFUSED_MALFORMED,
	C_REFUSED_TOOBIG, C_REFUSED_REVOKED, C_REFUSED_NOHELLO,
	C_REFUSED_CREDIT, C_AUTH_REFUSED, C_AUTH_ADMITTED, C_HANDSHAKE_FAILED,
	C_DISCONNECTS, C_SESSIONS_EVICTED, C_REPLIES_UNROUTABLE,
	C_JOURNAL_FULL, C_JOURNAL_GROWN,
	C_SYSLOG_RECEIVED, C_SYSLOG_MALFORMED, C_SYSLOG_TRUNCATED,
	C_SYSLOG_NOHEADER, C_SYSLOG_CONN_REFUSED, C_SYSLOG_DROPPED_FULL,
	C_INTERNAL_EVENTS, C_INTERNAL_DROPPED, C_GROUP_COMMITS,
	C_READERS_CLEARED, C_RETENTION_DELETED, C_RETENTION_TXNS,
	C_RETENTION_HELD,
	C_SESSIONS_REVOKED, C_REFUSED_DRILL, C_ENROLL_ADMITTED, C_ENROLL_REFUSED,
	C_ACCEPT_FAILED, C_CONNECTIONS_ACCEPTED, C_SYSLOG_CONN_EVICTED,
	C_SYSLOG_CONN_IDLE, C_SYSLOG_ACCEPT_FAILED, C_SYSLOG_UDP_KDROPS,
	C_SYSLOG_UDP_RCVBUF, C_FD_LIMIT, C_LISTEN_BACKLOG, C_LISTEN_DROPS,
	C_GROUPS_LOADED, C_GROUPS_REFUSED, C_CONFIGS_SENT,
	C_PID, C_STARTED_US, C_HEARTBEAT_US, C_FULL_SINCE_US,
	C_COUNT
};

static struct counter counters[C_COUNT] = {
	[C_FRAMES_RECEIVED] = { "collector.frames_received", 0,
	    "frames received from agents" },
	[C_EVENTS_JOURNALED] = { "collector.events_journaled", 0,
	    "events appended to the journal (agents and syslog)" },
	[C_EVENTS_DUPLICATE] = { "collector.events_duplicate", 0,
	    "resent events already journaled (skipped)" },
	[C_BATCHES_REPLAYED] = { "collector.batches_replayed", 0,
	    "batches that held already-journaled events" },
	[C_EVENTS_GAP] = { "collector.events_gap", 0,
	    "sequence numbers an agent skipped (never received)" },
	[C_REFUSED_MALFORMED] = { "collector.frames_refused_malformed", 0,
	    "agent frames refused: did not decode" },
	[C_REFUSED_TOOBIG] = { "collector.frames_refused_toobig", 0,
	    "agent frames refused: larger than max_frame_size" },
	[C_REFUSED_REVOKED] = { "collector.frames_refused_revoked", 0,
	    "agent frames refused: key revoked" },
	[C_REFUSED_NOHELLO] = { "collector.frames_refused_nohello", 0,
	    "agent frames refused: no HELLO on this connection" },
	[C_REFUSED_CREDIT] = { "collector.frames_refused_credit", 0,
	    "agent batches refused: more events than the credit" },
	[C_AUTH_REFUSED] = { "collector.auth_refused", 0,
	    "connections refused by ZAP (key not enrolled)" },
	[C_AUTH_ADMITTED] = { "collector.auth_admitted", 0,
	    "connections admitted by ZAP" },
	[C_HANDSHAKE_FAILED] = { "collector.handshake_failed", 0,
	    "ZMTP/CURVE handshakes that failed (not ZAP)" },
	[C_DISCONNECTS] = { "collector.disconnects", 0,
	    "agent connections closed (by the agent, or by libzmq for a "
	    "frame past the hard size limit)" },
	[C_SESSIONS_EVICTED] = { "collector.sessions_evicted", 0,
	    "agent sessions forgotten (table full)" },
	[C_REPLIES_UNROUTABLE] = { "collector.replies_unroutable", 0,
	    "replies that could not be sent (agent gone)" },
	[C_JOURNAL_FULL] = { "collector.journal_full", 0,
	    "batches refused because the journal is full" },
	[C_JOURNAL_GROWN] = { "collector.journal_map_grown", 0,
	    "times the journal map was doubled" },
	[C_SYSLOG_RECEIVED] = { "collector.syslog_received", 0,
	    "syslog messages received" },
	[C_SYSLOG_MALFORMED] = { "collector.syslog_refused_malformed", 0,
	    "syslog frames refused (bad octet count, empty datagram)" },
	[C_SYSLOG_TRUNCATED] = { "collector.syslog_truncated", 0,
	    "syslog messages capped at the line limit" },
	[C_SYSLOG_NOHEADER] = { "collector.syslog_noheader", 0,
	    "syslog messages without a host in the header (sender address "
	    "used)" },
	[C_SYSLOG_CONN_REFUSED] = { "collector.syslog_connections_refused", 0,
	    "syslog TCP connections refused (limit reached)" },
	[C_SYSLOG_DROPPED_FULL] = { "collector.syslog_dropped_full", 0,
	    "syslog messages dropped because the journal was full" },
	[C_INTERNAL_EVENTS] = { "collector.internal_events", 0,
	    "tocsin's own events journaled (silent agents, full spools, ...)" },
	[C_INTERNAL_DROPPED] = { "collector.internal_dropped", 0,
	    "tocsin's own events dropped (queue full while the journal was)" },
	[C_GROUP_COMMITS] = { "collector.batch_commits", 0,
	    "journal transactions that committed agent batches (group "
	    "commit: events_journaled / batch_commits per transaction)" },
	[C_READERS_CLEARED] = { "collector.readers_cleared", 0,
	    "journal reader slots of dead processes cleared (a reader killed "
	    "mid-read)" },
	[C_RETENTION_DELETED] = { "collector.retention_deleted", 0,
	    "journal events deleted by retention (older than "
	    "collector.retention, processed by the engine)" },
	[C_RETENTION_TXNS] = { "collector.retention_txns", 0,
	    "retention transactions (each deletes a bounded batch)" },
	[C_RETENTION_HELD] = { "collector.retention_held", 0,
	    "events past the retention age kept until the engine has "
	    "processed them (gauge)" },
	[C_SESSIONS_REVOKED] = { "collector.sessions_revoked", 0,
	    "agent sessions dropped because their key was revoked or their "
	    "name re-enrolled with another key" },
	[C_REFUSED_DRILL] = { "collector.frames_refused_drill", 0,
	    "HELLOs refused: a drill label from a key other than tocsin "
	    "replay's" },
	[C_ENROLL_ADMITTED] = { "collector.enrolments", 0,
	    "agents enrolled through the enrolment endpoint (tokens)" },
	[C_ENROLL_REFUSED] = { "collector.enrolments_refused", 0,
	    "enrolments refused (unknown, forged, expired or used token, "
	    "duplicate or bad name, malformed request)" },
	[C_ACCEPT_FAILED] = { "collector.accept_failed", 0,
	    "agent-port connections the kernel could not hand us (out of "
	    "descriptors or memory; socket monitor)" },
	[C_CONNECTIONS_ACCEPTED] = { "collector.connections_accepted", 0,
	    "TCP connections accepted on the agent port (before CURVE)" },
	[C_SYSLOG_CONN_EVICTED] = { "collector.syslog_connections_evicted", 0,
	    "syslog TCP connections closed to make room (the longest idle, "
	    "of the same address when it is at its cap)" },
	[C_SYSLOG_CONN_IDLE] = { "collector.syslog_connections_idle_closed", 0,
	    "syslog TCP connections closed after 5 minutes without data" },
	[C_SYSLOG_ACCEPT_FAILED] = { "collector.syslog_accept_failed", 0,
	    "syslog TCP connections accept() could not take (out of "
	    "descriptors or memory)" },
	[C_SYSLOG_UDP_KDROPS] = { "collector.syslog_udp_dropped_kernel", 0,
	    "syslog UDP datagrams the kernel dropped (receive buffer full; "
	    "SO_RXQ_OVFL)" },
	[C_SYSLOG_UDP_RCVBUF] = { "collector.syslog_udp_rcvbuf_bytes", 0,
	    "the UDP syslog socket's receive buffer (the kernel doubles what "
	    "it grants)" },
	[C_FD_LIMIT] = { "collector.fd_limit", 0,
	    "descriptors the collector may open (RLIMIT_NOFILE, raised to "
	    "its hard limit at start)" },
	[C_LISTEN_BACKLOG] = { "collector.listen_backlog", 0,
	    "connections the kernel may queue on the agent port until the "
	    "collector accepts them (listen backlog as granted: at most "
	    "net.core.somaxconn)" },
	[C_LISTEN_DROPS] = { "collector.listen_drops", 0,
	    "connection attempts to the agent port the kernel dropped, its "
	    "queue of connections not yet accepted being full (the agent "
	    "retries 1, 3, 7 ... s later; raise net.core.somaxconn)" },
	[C_GROUPS_LOADED] = { "collector.group_configs_loaded", 0,
	    "group configuration files read and accepted" },
	[C_GROUPS_REFUSED] = { "collector.group_configs_refused", 0,
	    "group configuration files refused (file:line:col in the log; "
	    "the group's agents keep their last good configuration)" },
	[C_CONFIGS_SENT] = { "collector.configs_sent", 0,
	    "group configurations sent to agents (CONFIG)" },
	[C_PID] = { "collector.pid", 0, "collector process id" },
	[C_STARTED_US] = { "collector.started_us", 0,
	    "when the collector started" },
	[C_HEARTBEAT_US] = { "collector.heartbeat_us", 0,
	    "collector liveness (wall clock)" },
	[C_FULL_SINCE_US] = { "collector.journal_full_since_us", 0,
	    "journal full (acknowledgements paused) since then; 0: accepting" },
};

struct session {
	int		 used;
	int		 linked;	/* in the index, chain of bucket */
	uint32_t	 bucket;
	int32_t		 next;		/* next session of its chain, -1 */
	unsigned char	 rid[MAX_ROUTING_ID];
	size_t		 rid_len;
	char		 agent[MAX_NAME_BYTES + 1];
	uint8_t		 key[32];	/* the agent's public key (from ZAP) */
	char		 host[MAX_HOST_BYTES + 1];
	char		 version[64];
	char		 drill[MAX_DRILL_BYTES + 1];	/* "" unless a replay */
	uint64_t	 last_used;	/* collector's frame clock (LRU) */
	uint64_t	 last_touch_us;	/* mono time of the last heartbeat write */
	uint64_t	 hb_flags;	/* HB_* last recorded */
	int		 full_refused;	/* a batch got REFUSE FULL: refuse the
					 * rest until HELLO (never a gap) */
	char		 group[MAX_NAME_BYTES + 1];	/* the agent's group */
	uint64_t	 cfg_gen;	/* generation of the group configuration
					 * last sent (0: none yet) */
	char		 cfgver[MAX_CONFIG_VERSION_BYTES + 1];	/* the version
					 * the agent last said it runs */
};

/* An agent's record (HELLO, HEARTBEAT) waiting for the group's
 * transaction; a HELLO's WELCOME is sent once it is written.  Owns rid
 * (HELLO). */
struct touch {
	char		 agent[MAX_NAME_BYTES + 1];
	struct jagent	 a;
	struct session	*s;
	int		 heartbeat;	/* else a HELLO */
	zmq_msg_t	 rid;		/* HELLO: where the WELCOME goes */
	uint64_t	 w_epoch, w_seq;	/* HELLO: the mark it says */
};

/* One BATCH waiting in the group for its transaction.  Owns the frame (the
 * events point into it) and the routing id. */
struct pending {
	zmq_msg_t	 rid, msg;
	struct session	*s;
	char		 agent[MAX_NAME_BYTES + 1];
	uint64_t	 epoch, first;
	size_t		 ev_off, n;	/* its events in c->ev */
	struct jbatch_result r;
	int		 done;		/* committed (ACK) */
	int		 err;		/* not committed: why, alone (0: the
					 * group's error) */
};

struct collector {
	const struct server_config *cfg;
	journal_t	*j;
	keyring_t	*kr;
	groupconf_t	*gc;		/* the groups' configuration */
	zap_t		*zap;
	enroll_t	*enroll;	/* the enrolment endpoint, or NULL */
	syslog_in_t	*syslog;
	void		*ctx, *router, *monitor;
	int		 listen_fd;	/* the agent port's listening socket
					 * (libzmq's; from the monitor), -1 */
	uint64_t	 listen_drops0;	/* collector.listen_drops before it */
	struct session	*sessions;	/* MAX_SESSIONS */
	int32_t		*buckets;	/* SESSION_BUCKETS chains, -1 */
	struct touch	*touch;		/* MAX_GROUP_FRAMES */
	size_t		 ntouch;
	uint64_t	 clock;		/* frames seen, for LRU */
	struct jevent	*ev;		/* MAX_GROUP_EVENTS */
	struct pending	*group;		/* MAX_GROUP_FRAMES */
	size_t		 ngroup, group_events;
	struct wire_buf	 out;
	int		 full;		/* journal full: ACKs paused */
	int		 config_retry;	/* a CONFIG could not be sent */
	uint64_t	 last_stats_us;	/* mono */
	uint64_t	 started_us;	/* wall */
	internal_t	*in;		/* tocsin's own events, queued */
	uint64_t	 thresh_next[C_COUNT];	/* next rung per watched counter */
};

static void group_flush(struct collector *c);
static void stats_flush(struct collector *c);

/* Counters that raise an internal event when they pass 1, 10, 100, ...:
 * every refusal, drop and cap. */
static const int watched[] = {
	C_EVENTS_GAP, C_REFUSED_MALFORMED, C_REFUSED_TOOBIG, C_REFUSED_REVOKED,
	C_REFUSED_NOHELLO, C_REFUSED_CREDIT, C_AUTH_REFUSED, C_HANDSHAKE_FAILED,
	C_SESSIONS_EVICTED, C_REPLIES_UNROUTABLE, C_JOURNAL_FULL,
	C_SESSIONS_REVOKED, C_REFUSED_DRILL, C_ACCEPT_FAILED,
	C_SYSLOG_CONN_EVICTED, C_SYSLOG_ACCEPT_FAILED, C_SYSLOG_UDP_KDROPS,
	C_SYSLOG_MALFORMED, C_SYSLOG_TRUNCATED, C_SYSLOG_CONN_REFUSED,
	C_SYSLOG_DROPPED_FULL, C_INTERNAL_DROPPED, C_GROUPS_REFUSED,
	C_LISTEN_DROPS,
};
#define NWATCHED	(sizeof(watched) / sizeof(watched[0]))

/* ---- counters ------------------------------------------------------------ */

static int
is_gauge(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && strcmp(name + n - 4, ".pid") == 0) ||
	    (n > 3 && strcmp(name + n - 3, "_us") == 0);
}

static int
load_counter_cb(const char *name, uint64_t value, void *arg)
{
	/* The full state outlives a restart: "accepting again" is said by
	 * the process that finds room, whichever it is. */
	if (strcmp(name, counters[C_FULL_SINCE_US].name) == 0)
		*(uint64_t *)arg = value;
	for (size_t i = 0; i < C_COUNT; i++)
		if (strcmp(counters[i].name, name) == 0 &&
		    !is_gauge(counters[i].name))
			counters[i].value = value;
	return 0;
}

/* Grow the journal map by doubling, up to journal_max_size.  0 if it grew. */
static int
journal_grow(struct collector *c)
{
	uint64_t bytes;
	int err;

	err = journal_map_grow(c->j, c->cfg->journal_max_bytes, &bytes);
	if (err != 0)
		return err;
	counters[C_JOURNAL_GROWN].value++;
	log_info("collector: journal map grown to %llu bytes",
	    (unsigned long long)bytes);
	return 0;
}

/* ---- tocsin's own events -------------------------------------------------- */

/* Queue one internal event (journal.h's messages), counted; journaled by
 * the next write transaction. */
static void say(struct collector *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
say(struct collector *c, const char *fmt, ...)
{
	char msg[MAX_INTERNAL_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (internal_add(c->in, now_us(), "%s", msg) != 0) {
		counters[C_INTERNAL_DROPPED].value++;
		log_err("collector: internal event dropped: %s", msg);
	}
}

/* enroll.c's way to record an enrolment or a refusal. */
static void
enroll_say(void *arg, const char *msg)
{
	say(arg, "%s", msg);
}

/* Journal the internal events queued since n0 was taken: internal_journal
 * into t.  Counted here; the caller rolls the count back on abort. */
static int
journal_internal(struct collector *c, journal_txn_t *t)
{
	int err = internal_journal(c->in, t);

	if (err == 0)
		counters[C_INTERNAL_EVENTS].value += internal_pending(c->in);
	return err;
}

/* "agent NAME reporting again ..." for an agent flagged silent: clears
 * the flag inside t. */
static int
note_back(struct collector *c, journal_txn_t *t, const char *agent,
    const struct jagent *before)
{
	char dur[32];
	uint64_t now = now_us();
	int err;

	if (!(before->health & JAGENT_SILENT))
		return 0;
	if ((err = journal_txn_agent_health(t, agent, 0, JAGENT_SILENT,
	    NULL)) != 0)
		return err;
	internal_duration(now > before->last_seen_us ?
	    now - before->last_seen_us : 0, dur, sizeof(dur));
	say(c, "agent %s reporting again after %s of silence", agent, dur);
	return 0;
}

/* The journal is full (at its cap) or has room again: say so once. */
static void
set_full(struct collector *c, int full)
{
	if (full == c->full)
		return;
	c->full = full;
	counters[C_FULL_SINCE_US].value = full ? now_us() : 0;
	if (full) {
		log_err("collector: journal full at its cap of %llu bytes: "
		    "acknowledgements paused until there is room",
		    (unsigned long long)c->cfg->journal_max_bytes);
		say(c, "journal full: acknowledgements paused");
		stats_flush(c);		/* written into the reserve now */
	} else {
		log_info("collector: journal accepting again");
		say(c, "journal accepting again");
	}
}

/* Watched counters past their next rung: one event each. */
static void
thresholds_check(struct collector *c)
{
	for (size_t i = 0; i < NWATCHED; i++) {
		int k = watched[i];
		uint64_t v = counters[k].value;

		if (c->thresh_next[k] == 0 || v < c->thresh_next[k])
			continue;
		c->thresh_next[k] = internal_next_threshold(v);
		say(c, "counter %s reached %llu (threshold %llu)",
		    counters[k].name, (unsigned long long)v,
		    (unsigned long long)(c->thresh_next[k] == UINT64_MAX ?
		    v : c->thresh_next[k] / 10));
	}
}

struct silent_scan {
	struct collector *c;
	uint64_t	 now;
	size_t		 n;
	char		 name[MAX_SILENT_PER_CHECK][MAX_NAME_BYTES + 1];
};

static int
silent_cb(const char *agent, const struct jagent *a, void *arg)
{
	struct silent_scan *sc = arg;
	uint64_t since;

	if (sc->n >= MAX_SILENT_PER_CHECK)
		return 1;
	if ((a->health & JAGENT_SILENT) || a->last_seen_us == 0)
		return 0;
	/* The replay identity sends only while a drill or a replay runs: its
	 * quiet is no endpoint going dark. */
	if (strcmp(agent, KEYS_REPLAY_AGENT) == 0)
		return 0;
	/* No agent can report while the collector is down.  The keyring
	 * (a scan of the enrolled names) only for the few that are silent:
	 * every second, for every agent, it was most of an idle collector's
	 * time with 10,000 agents. */
	since = a->last_seen_us > sc->c->started_us ? a->last_seen_us :
	    sc->c->started_us;
	if (sc->now > since && sc->now - since >= sc->c->cfg->agent_silent_us &&
	    keyring_has_name(sc->c->kr, agent))
		snprintf(sc->name[sc->n++], MAX_NAME_BYTES + 1, "%s", agent);
	return 0;
}

/* Flag the agents silent past engine.agent_silent_after, inside t. */
static int
silent_check(struct collector *c, journal_txn_t *t, struct silent_scan *sc)
{
	struct jagent before;
	char dur[32], ts[40];
	int err;

	for (size_t i = 0; i < sc->n; i++) {
		err = journal_txn_agent_health(t, sc->name[i], JAGENT_SILENT, 0,
		    &before);
		if (err == TS_ENOTFOUND)
			continue;
		if (err != 0)
			return err;
		if (before.health & JAGENT_SILENT)
			continue;
		internal_duration(sc->now - before.last_seen_us, dur,
		    sizeof(dur));
		format_rfc3339(before.last_seen_us, ts, sizeof(ts));
		say(c, "agent %s silent for %s (last seen %s)", sc->name[i],
		    dur, ts);
	}
	return 0;
}

/*
 * The agent port's listen queue, from the listening socket libzmq opened:
 * the backlog the kernel granted (TCP_INFO: tcpi_sacked on a listener) and
 * the connection attempts it dropped on that socket (SO_MEMINFO: its
 * sk_drops, counted by the kernel when the queue is full).  Read from this
 * thread: only getsockopt, on a socket libzmq keeps open until we close
 * the ROUTER.
 */
static void
listen_read(struct collector *c)
{
	struct tcp_info ti;
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len;

	if (c->listen_fd < 0)
		return;
	memset(&ti, 0, sizeof(ti));
	len = sizeof(ti);
	if (getsockopt(c->listen_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    ti.tcpi_state == TCP_LISTEN)
		counters[C_LISTEN_BACKLOG].value = ti.tcpi_sacked;
	len = sizeof(mem);
	if (getsockopt(c->listen_fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 &&
	    len > SK_MEMINFO_DROPS * sizeof(mem[0]))
		counters[C_LISTEN_DROPS].value = c->listen_drops0 +
		    mem[SK_MEMINFO_DROPS];
}

/*
 * The collector's own transaction, at least once a second: counters,
 * heartbeat, silent agents, counter thresholds and the queued internal
 * events.  Retried once after growing the map; internal events stay queued
 * if it fails.
 */
static void
stats_flush(struct collector *c)
{
	static struct silent_scan sc;
	journal_txn_t *t;
	uint64_t saved = counters[C_INTERNAL_EVENTS].value;
	size_t n0;
	int err;

	counters[C_HEARTBEAT_US].value = now_us();
	listen_read(c);
	(void)journal_readers_reclaim(c->j, &counters[C_READERS_CLEARED].value);
	supervisor_notices_read(c->in);
	retention_run(c->j, c->cfg, &counters[C_RETENTION_DELETED].value,
	    &counters[C_RETENTION_TXNS].value,
	    &counters[C_RETENTION_HELD].value);
	thresholds_check(c);
	memset(&sc, 0, sizeof(sc));
	sc.c = c;
	sc.now = now_us();
	if (c->cfg->agent_silent_us > 0)
		(void)journal_agent_foreach(c->j, silent_cb, &sc);
	n0 = internal_pending(c->in);
	for (int tries = 0; ; tries++) {
		err = journal_txn_begin(c->j, &t);
		if (err == 0)
			err = silent_check(c, t, &sc);
		if (err == 0)
			err = journal_internal(c, t);
		if (err == 0)
			err = journal_txn_commit(&t, counters, C_COUNT);
		else
			journal_txn_abort(&t);
		if (err == 0) {
			internal_clear(c->in);
			break;
		}
		counters[C_INTERNAL_EVENTS].value = saved;
		internal_truncate(c->in, n0);
		if (err != TS_EFULL || tries >= 1 || journal_grow(c) != 0)
			break;
	}
	if (err != 0 && err != TS_EFULL)
		log_warn("collector: cannot write counters: %s",
		    ts_strerror(err));
	c->last_stats_us = mono_us();
}

/* ---- replies ------------------------------------------------------------- */

static void
send_reply(struct collector *c, zmq_msg_t *rid)
{
	if (c->out.failed) {
		log_err("collector: out of memory building a reply");
		return;
	}
	if (zmq_send(c->router, zmq_msg_data(rid), zmq_msg_size(rid),
	    ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(c->router, c->out.data, c->out.len, ZMQ_DONTWAIT) < 0)
		counters[C_REPLIES_UNROUTABLE].value++;
}

/* A REFUSE; the pending group is committed first so that replies keep the
 * order of the frames. */
static void
refuse(struct collector *c, zmq_msg_t *rid, int counter, uint16_t code,
    const char *reason)
{
	group_flush(c);
	if (counter >= 0)
		counters[counter].value++;
	wire_refuse(&c->out, code, reason);
	send_reply(c, rid);
}

/* ---- groups' configuration --------------------------------------------------- */

/* Send the session's group configuration when it changed since the last
 * one sent (or none was).  The first of a session goes out even when the
 * group has no file (empty version: "keep your own"): it tells the agent
 * that this collector reads the heartbeat's configuration version and
 * counters (wire.h). */
static void
send_config(struct collector *c, struct session *s)
{
	struct groupconf_view v;
	int err, first;

	if (c->gc == NULL || s->group[0] == '\0')
		return;
	if ((err = groupconf_get(c->gc, s->group, &v)) != 0) {
		log_warn("collector: group %s: %s", s->group, ts_strerror(err));
		return;
	}
	if (v.gen == s->cfg_gen)
		return;
	first = s->cfg_gen == 0;
	s->cfg_gen = v.gen;
	if (v.version[0] == '\0' && v.error[0] == '\0' && !first)
		return;		/* no file for this group: said once */
	wire_config(&c->out, s->group, v.version, v.error, v.text, v.len);
	if (c->out.failed) {
		log_err("collector: out of memory building a CONFIG");
		return;
	}
	if (zmq_send(c->router, s->rid, s->rid_len, ZMQ_SNDMORE |
	    ZMQ_DONTWAIT) < 0 ||
	    zmq_send(c->router, c->out.data, c->out.len, ZMQ_DONTWAIT) < 0) {
		counters[C_REPLIES_UNROUTABLE].value++;
		s->cfg_gen = 0;		/* try again on the next tick */
		c->config_retry = 1;
		return;
	}
	counters[C_CONFIGS_SENT].value++;
	log_debug("collector: agent %s: group %s configuration %s sent%s%s",
	    s->agent, s->group, v.version[0] ? v.version : "(none)",
	    v.error[0] ? ", with the refusal " : "", v.error);
}

/* Re-read the group files that changed and update the sessions. */
static void
groups_tick(struct collector *c)
{
	if (c->gc == NULL)
		return;
	/* the sessions are walked only when a group changed (or a CONFIG
	 * waits to be sent again) */
	if (groupconf_tick(c->gc, &counters[C_GROUPS_LOADED].value,
	    &counters[C_GROUPS_REFUSED].value) == 0 && !c->config_retry)
		return;
	c->config_retry = 0;
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		if (c->sessions[i].used && c->sessions[i].drill[0] == '\0')
			send_config(c, &c->sessions[i]);
}

/* ---- sessions ------------------------------------------------------------ */

/* 1 if name is still enrolled with exactly this key: a key revoked, or a
 * name re-enrolled with another key, ends every session of the old key. */
static int
identity_current(struct collector *c, const char *name, const uint8_t key[32])
{
	const char *n = keyring_lookup(c->kr, key);

	return n != NULL && strcmp(n, name) == 0;
}

/* Drop, at once, the sessions whose (name, key) is no longer enrolled. */
static void
sessions_revalidate(struct collector *c)
{
	for (size_t i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &c->sessions[i];

		if (!s->used || identity_current(c, s->agent, s->key))
			continue;
		log_info("collector: agent %s: key revoked, session dropped",
		    s->agent);
		s->used = 0;
		counters[C_SESSIONS_REVOKED].value++;
	}
}

/* Bucket of a routing id (FNV-1a). */
static uint32_t
rid_bucket(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h & (SESSION_BUCKETS - 1);
}

static void
session_unlink(struct collector *c, struct session *s)
{
	int32_t	*pp, idx = (int32_t)(s - c->sessions);

	if (!s->linked)
		return;
	for (pp = &c->buckets[s->bucket]; *pp != -1;
	    pp = &c->sessions[*pp].next)
		if (*pp == idx) {
			*pp = s->next;
			break;
		}
	s->linked = 0;
}

/* The session of routing id rid for (agent, key), or NULL: one chain of
 * the index (10,000 agents made a scan of every session per frame the
 * collector's largest cost). */
static struct session *
session_find(struct collector *c, zmq_msg_t *rid, const char *agent,
    const uint8_t key[32])
{
	size_t n = zmq_msg_size(rid);

	for (int32_t i = c->buckets[rid_bucket(zmq_msg_data(rid), n)]; i != -1;
	    i = c->sessions[i].next) {
		struct session *s = &c->sessions[i];

		if (s->used && s->rid_len == n &&
		    memcmp(s->rid, zmq_msg_data(rid), n) == 0) {
			if (strcmp(s->agent, agent) != 0 ||
			    memcmp(s->key, key, sizeof(s->key)) != 0) {
				s->used = 0;	/* routing id reused */
				return NULL;
			}
			s->last_used = ++c->clock;
			return s;
		}
	}
	return NULL;
}

static struct session *
session_new(struct collector *c, zmq_msg_t *rid, const char *agent,
    const uint8_t key[32])
{
	struct session *s = NULL, *lru = NULL;
	size_t n = zmq_msg_size(rid);

	if (n > MAX_ROUTING_ID)
		return NULL;
	if ((s = session_find(c, rid, agent, key)) == NULL) {
		for (size_t i = 0; i < MAX_SESSIONS && s == NULL; i++) {
			if (!c->sessions[i].used)
				s = &c->sessions[i];
			else if (lru == NULL ||
			    c->sessions[i].last_used < lru->last_used)
				lru = &c->sessions[i];
		}
		if (s == NULL) {
			s = lru;
			counters[C_SESSIONS_EVICTED].value++;
		}
	}
	session_unlink(c, s);
	memset(s, 0, sizeof(*s));
	s->used = 1;
	memcpy(s->rid, zmq_msg_data(rid), n);
	s->rid_len = n;
	snprintf(s->agent, sizeof(s->agent), "%s", agent);
	memcpy(s->key, key, sizeof(s->key));
	s->last_used = ++c->clock;
	s->bucket = rid_bucket(s->rid, n);
	s->next = c->buckets[s->bucket];
	c->buckets[s->bucket] = (int32_t)(s - c->sessions);
	s->linked = 1;
	return s;
}

static void
copy_wstr(char *dst, size_t cap, const struct wire_str *w)
{
	size_t n = w->len < cap - 1 ? w->len : cap - 1;

	if (n)
		memcpy(dst, w->p, n);
	dst[n] = '\0';
}

/* ---- frames -------------------------------------------------------------- */

/* 1 if key is `tocsin replay`'s (DATADIR/keys/replay.key, read each time:
 * a drill HELLO is rare, and the key may be made after we start). */
static int
is_replay_key(struct collector *c, const uint8_t key[32])
{
	uint8_t rk[32];

	return keys_replay_pub(c->cfg->data_dir, rk) == 0 &&
	    memcmp(rk, key, sizeof(rk)) == 0;
}

static void
on_hello(struct collector *c, zmq_msg_t *rid, const char *agent,
    const uint8_t key[32], const struct wire_msg *m)
{
	struct session *s;
	struct jagent a, cur;
	struct touch *tc;
	char drill[MAX_DRILL_BYTES + 1];
	int err;

	/* The mark the WELCOME says must count this agent's batches of the
	 * group: those are journaled first (other agents' wait). */
	for (size_t i = 0; i < c->ngroup; i++)
		if (strcmp(c->group[i].agent, agent) == 0) {
			group_flush(c);
			break;
		}
	if (c->ntouch >= MAX_GROUP_FRAMES)
		group_flush(c);
	copy_wstr(drill, sizeof(drill), &m->drill);
	if (drill[0] != '\0' && (!name_valid_str(NAME_DRILL, drill) ||
	    m->drill.len != strlen(drill))) {
		refuse(c, rid, C_REFUSED_MALFORMED, WIRE_REFUSE_MALFORMED,
		    "bad drill name");
		return;
	}
	/* The host names the events that carry no host of their own, in
	 * every output: the same rule as a syslog header's HOSTNAME. */
	if (m->host.len > 0 && !name_valid(NAME_HOST, m->host.p, m->host.len)) {
		refuse(c, rid, C_REFUSED_MALFORMED, WIRE_REFUSE_MALFORMED,
		    "bad host name (want an RFC 5424 HOSTNAME: printable "
		    "ASCII, no space)");
		return;
	}
	/* A drill label makes every output drop the events and `drill clean`
	 * delete them: only replay's own key may set it. */
	if (drill[0] != '\0' && !is_replay_key(c, key)) {
		log_warn("collector: agent %s: HELLO naming drill %s refused: "
		    "only tocsin replay may label a drill", agent, drill);
		refuse(c, rid, C_REFUSED_DRILL, WIRE_REFUSE_FORBIDDEN,
		    "only tocsin replay may label a drill");
		return;
	}
	if ((s = session_new(c, rid, agent, key)) == NULL) {
		refuse(c, rid, C_REFUSED_MALFORMED, WIRE_REFUSE_MALFORMED,
		    "routing id too long");
		return;
	}
	copy_wstr(s->host, sizeof(s->host), &m->host);
	copy_wstr(s->version, sizeof(s->version), &m->version);
	snprintf(s->drill, sizeof(s->drill), "%s", drill);
	if (s->host[0] == '\0')
		snprintf(s->host, sizeof(s->host), "%s", agent);
	err = journal_agent_get(c->j, agent, &cur);
	if (err != 0 && err != TS_ENOTFOUND) {
		refuse(c, rid, -1, WIRE_REFUSE_FULL, "journal unavailable");
		return;
	}
	if (err == TS_ENOTFOUND)
		memset(&cur, 0, sizeof(cur));
	/* A HELLO says nothing of the spool: keep the last heartbeat's. */
	memset(&a, 0, sizeof(a));
	a.last_seen_us = now_us();
	a.spooled = cur.spooled;
	a.hb_flags = cur.hb_flags;
	snprintf(a.version, sizeof(a.version), "%s", s->version);
	snprintf(a.host, sizeof(a.host), "%s", s->host);
	keys_agent_group_get(c->cfg->data_dir, agent, s->group);
	snprintf(a.group, sizeof(a.group), "%s", s->group);
	s->hb_flags = cur.hb_flags;
	log_debug("collector: HELLO from %s (epoch %llu%s%s), mark %llu:%llu",
	    agent, (unsigned long long)m->epoch, drill[0] ? ", drill " : "",
	    drill, (unsigned long long)cur.epoch, (unsigned long long)cur.seq);
	/* The record goes into the group's transaction (10,000 agents
	 * connecting were 10,000 transactions); the WELCOME follows it. */
	tc = &c->touch[c->ntouch++];
	memset(tc, 0, sizeof(*tc));
	snprintf(tc->agent, sizeof(tc->agent), "%s", agent);
	tc->a = a;
	tc->s = s;
	tc->w_epoch = cur.epoch;
	tc->w_seq = cur.seq;
	zmq_msg_init(&tc->rid);
	zmq_msg_move(&tc->rid, rid);
}

/* ---- group commit ----------------------------------------------------------- */

/* Commit group[from..to) (those not yet done and whose session was not
 * refused FULL) in one transaction, with the internal events and counters.
 * Counters and the internal queue are rolled back on failure. */
static int
group_commit_range(struct collector *c, size_t from, size_t to,
    int touches)
{
	uint64_t saved[C_COUNT];
	journal_txn_t *t;
	size_t n0 = internal_pending(c->in), i;
	int err;

	for (i = 0; i < C_COUNT; i++)
		saved[i] = counters[i].value;
	if ((err = journal_txn_begin(c->j, &t)) != 0)
		return err;
	for (i = 0; touches && i < c->ntouch && err == 0; i++) {
		struct touch *tc = &c->touch[i];
		struct jagent before;

		err = journal_txn_agent_touch(t, tc->agent, &tc->a, &before);
		if (err == 0)
			err = note_back(c, t, tc->agent, &before);
		if (err == 0 && tc->heartbeat) {
			int was = (before.hb_flags & HB_SPOOL_FULL) != 0;
			int is = (tc->a.hb_flags & HB_SPOOL_FULL) != 0;

			if (is && !was)
				say(c, "agent %s spool full (%llu events "
				    "waiting; reading paused)", tc->agent,
				    (unsigned long long)tc->a.spooled);
			else if (was && !is)
				say(c, "agent %s spool no longer full",
				    tc->agent);
		}
	}
	for (i = from; i < to && err == 0; i++) {
		struct pending *p = &c->group[i];

		if (p->done || p->s->full_refused)
			continue;
		err = journal_txn_batch(t, p->agent, p->epoch, p->first,
		    c->ev + p->ev_off, p->n, &p->r);
		if (err == 0)
			err = note_back(c, t, p->agent, &p->r.before);
		if (err != 0)
			break;
		counters[C_EVENTS_JOURNALED].value += p->n - p->r.dups;
		counters[C_EVENTS_DUPLICATE].value += p->r.dups;
		counters[C_BATCHES_REPLAYED].value += p->r.dups > 0;
		counters[C_EVENTS_GAP].value += p->r.gap;
	}
	if (err == 0)
		err = journal_internal(c, t);
	if (err == 0) {
		counters[C_GROUP_COMMITS].value++;
		err = journal_txn_commit(&t, counters, C_COUNT);
	} else {
		journal_txn_abort(&t);
	}
	if (err != 0) {
		for (i = 0; i < C_COUNT; i++)
			counters[i].value = saved[i];
		internal_truncate(c->in, n0);
		return err;
	}
	internal_clear(c->in);
	for (i = from; i < to; i++)
		if (!c->group[i].done && !c->group[i].s->full_refused)
			c->group[i].done = 1;
	for (i = 0; touches && i < c->ntouch; i++)
		if (c->touch[i].heartbeat)
			c->touch[i].s->hb_flags = c->touch[i].a.hb_flags;
	return 0;
}

/* group_commit_range, growing the map while it is full and may grow. */
static int
group_commit_grow(struct collector *c, size_t from, size_t to, int touches)
{
	int err;

	for (int tries = 0; ; tries++) {
		err = group_commit_range(c, from, to, touches);
		if (err != TS_EFULL || tries >= MAX_GROW_TRIES ||
		    journal_grow(c) != 0)
			return err;
	}
}

/* Send the WELCOMEs of the HELLOs whose records were just committed (or
 * failed: a record is the agent's status, not its events), and forget the
 * records. */
static void
touches_reply(struct collector *c)
{
	size_t n = c->ntouch;

	c->ntouch = 0;
	for (size_t i = 0; i < n; i++) {
		struct touch *tc = &c->touch[i];

		if (!tc->heartbeat) {
			wire_welcome(&c->out, tc->w_epoch, tc->w_seq,
			    c->cfg->credit_events);
			send_reply(c, &tc->rid);
			if (tc->s->used && tc->s->drill[0] == '\0')
				send_config(c, tc->s);
		}
		zmq_msg_close(&tc->rid);
	}
}

/*
 * Journal the pending batches (one transaction if they fit), then send
 * their ACKs, or REFUSE FULL / an error for those that could not be
 * journaled.  Releases every frame of the group.
 */
static void
group_flush(struct collector *c)
{
	uint64_t before = counters[C_EVENTS_JOURNALED].value;
	size_t i, n = c->ngroup;
	int err, full = 0;

	if (n == 0 && c->ntouch == 0)
		return;
	c->ngroup = 0;		/* refuse() below must not recurse */
	err = group_commit_grow(c, 0, n, c->ntouch > 0);
	if (err != 0 && c->ntouch > 0) {
		/* the agents' records alone, then the batches without them */
		int terr = group_commit_grow(c, 0, 0, 1);

		if (terr != 0 && terr != TS_EFULL)
			log_warn("collector: %zu agent records (HELLO, "
			    "heartbeat) not written: %s", c->ntouch,
			    ts_strerror(terr));
		err = n > 0 ? group_commit_grow(c, 0, n, 0) : 0;
	}
	touches_reply(c);
	if (err == TS_EFULL && n > 1) {
		/* At the cap: what fits goes in, in order, one by one. */
		for (i = 0; i < n; i++) {
			struct pending *p = &c->group[i];

			if (p->s->full_refused)
				continue;
			if (group_commit_grow(c, i, i + 1, 0) == TS_EFULL)
				p->s->full_refused = 1;
		}
	} else if (err == TS_EFULL) {
		c->group[0].s->full_refused = 1;
	} else if (err != 0 && n > 1) {
		/* Find the offender: each batch alone. */
		for (i = 0; i < n; i++) {
			struct pending *p = &c->group[i];

			if (p->s->full_refused)
				continue;
			p->err = group_commit_grow(c, i, i + 1, 0);
			if (p->err == TS_EFULL)
				p->s->full_refused = 1;
		}
	} else if (err != 0) {
		c->group[0].err = err;
	}
	for (i = 0; i < n; i++) {
		struct pending *p = &c->group[i];

		if (p->done) {
			if (p->r.gap > 0)
				log_warn("collector: agent %s skipped %llu "
				    "events before %llu:%llu", p->agent,
				    (unsigned long long)p->r.gap,
				    (unsigned long long)p->epoch,
				    (unsigned long long)p->first);
			wire_ack(&c->out, p->r.hw_epoch, p->r.hw_seq,
			    c->cfg->credit_events);
		} else if (err == TS_EFULL || p->s->full_refused) {
			p->s->full_refused = 1;
			full = 1;
			counters[C_JOURNAL_FULL].value++;
			wire_refuse(&c->out, WIRE_REFUSE_FULL, "journal full");
		} else if (p->err == TS_EINVAL) {
			/* This batch alone: the agent's fault, not the
			 * journal's; its session goes on. */
			counters[C_REFUSED_MALFORMED].value++;
			log_warn("collector: agent %s: batch %llu:%llu refused "
			    "by the journal as invalid", p->agent,
			    (unsigned long long)p->epoch,
			    (unsigned long long)p->first);
			wire_refuse(&c->out, WIRE_REFUSE_MALFORMED,
			    "batch refused by the journal");
		} else {
			p->s->full_refused = 1;
			log_err("collector: agent %s: batch not journaled: %s",
			    p->agent, ts_strerror(p->err ? p->err : err));
			wire_refuse(&c->out, WIRE_REFUSE_FULL, "journal error");
		}
		send_reply(c, &p->rid);
		zmq_msg_close(&p->rid);
		zmq_msg_close(&p->msg);
	}
	c->group_events = 0;
	if (full)
		set_full(c, 1);
	else if (counters[C_EVENTS_JOURNALED].value > before)
		set_full(c, 0);
}

/* Validate one BATCH and add it to the group (taking rid and msg). */
static void
on_batch(struct collector *c, zmq_msg_t *rid, zmq_msg_t *msg,
    const char *agent, const uint8_t key[32], const struct wire_msg *m)
{
	struct session *s;
	struct pending *p;
	struct wire_event we;
	struct wire_msg mm;
	const void *old;
	size_t off = 0, n = 0;
	uint64_t now = now_us();

	if ((s = session_find(c, rid, agent, key)) == NULL) {
		refuse(c, rid, C_REFUSED_NOHELLO, WIRE_REFUSE_NOHELLO,
		    "BATCH before HELLO");
		return;
	}
	if (m->count > c->cfg->credit_events) {
		refuse(c, rid, C_REFUSED_CREDIT, WIRE_REFUSE_CREDIT,
		    "batch larger than the credit");
		return;
	}
	if (s->full_refused) {
		/* Until HELLO: never journal past a refused batch. */
		refuse(c, rid, C_JOURNAL_FULL, WIRE_REFUSE_FULL, "journal full");
		return;
	}
	if (c->ngroup >= MAX_GROUP_FRAMES ||
	    c->group_events + m->count > MAX_GROUP_EVENTS)
		group_flush(c);
	/* Take the frame first: the events point into its data (which a
	 * move may relocate for tiny frames: decode again then). */
	p = &c->group[c->ngroup];
	memset(p, 0, sizeof(*p));
	old = zmq_msg_data(msg);
	zmq_msg_init(&p->rid);
	zmq_msg_init(&p->msg);
	zmq_msg_move(&p->rid, rid);
	zmq_msg_move(&p->msg, msg);
	mm = *m;
	if (zmq_msg_data(&p->msg) != old &&
	    wire_decode(zmq_msg_data(&p->msg), zmq_msg_size(&p->msg), &mm,
	    NULL) != 0)
		mm.count = UINT32_MAX;	/* cannot happen: refused below */
	while (n < MAX_BATCH_EVENTS && n < mm.count &&
	    wire_batch_next(&mm, &off, &we) == 1) {
		struct jevent *e = &c->ev[c->group_events + n++];

		memset(e, 0, sizeof(*e));
		e->source = s->drill[0] ? JSRC_REPLAY : JSRC_AGENT;
		e->flags = we.flags;
		e->recv_us = now;
		e->time_us = we.time_us;
		e->host = s->host;
		e->host_len = strlen(s->host);
		e->file = we.file.p;
		e->file_len = we.file.len;
		e->drill = s->drill;
		e->drill_len = strlen(s->drill);
		e->raw = we.line.p;
		e->raw_len = we.line.len;
	}
	if (n != mm.count || wire_batch_next(&mm, &off, &we) == 1) {
		refuse(c, &p->rid, C_REFUSED_MALFORMED, WIRE_REFUSE_MALFORMED,
		    "event count mismatch");
		zmq_msg_close(&p->rid);
		zmq_msg_close(&p->msg);
		return;
	}
	p->s = s;
	snprintf(p->agent, sizeof(p->agent), "%s", agent);
	p->epoch = mm.epoch;
	p->first = mm.seq;
	p->ev_off = c->group_events;
	p->n = n;
	c->ngroup++;
	c->group_events += n;
}

static void
on_heartbeat(struct collector *c, zmq_msg_t *rid, const char *agent,
    const uint8_t key[32], const struct wire_msg *m)
{
	struct session *s;
	struct jagent a;
	struct touch *tc;
	uint64_t mono = mono_us();
	int changed;

	if ((s = session_find(c, rid, agent, key)) == NULL) {
		refuse(c, rid, C_REFUSED_NOHELLO, WIRE_REFUSE_NOHELLO,
		    "HEARTBEAT before HELLO");
		return;
	}
	/* A change of the spool-full flag is written at once. */
	changed = (m->hb_flags & HB_SPOOL_FULL) != (s->hb_flags & HB_SPOOL_FULL);
	{
		char ver[MAX_CONFIG_VERSION_BYTES + 1];

		copy_wstr(ver, sizeof(ver), &m->cfgver);
		if (strcmp(ver, s->cfgver) != 0) {
			changed = 1;
			snprintf(s->cfgver, sizeof(s->cfgver), "%s", ver);
		}
	}
	if (!changed && s->last_touch_us != 0 &&
	    mono - s->last_touch_us < HEARTBEAT_TOUCH_US)
		return;
	s->last_touch_us = mono;
	memset(&a, 0, sizeof(a));
	a.last_seen_us = now_us();
	a.spooled = m->spooled;
	a.hb_flags = m->hb_flags;
	snprintf(a.version, sizeof(a.version), "%s", s->version);
	snprintf(a.host, sizeof(a.host), "%s", s->host);
	snprintf(a.group, sizeof(a.group), "%s", s->group);
	snprintf(a.cfgver, sizeof(a.cfgver), "%s", s->cfgver);
	if (m->has_ctrs) {
		struct wire_str n;
		size_t off = 0;
		uint64_t v;

		a.has_ctrs = 1;
		while (a.nctrs < MAX_HB_COUNTERS &&
		    wire_hb_counter_next(m, &off, &n, &v)) {
			copy_wstr(a.ctrs[a.nctrs].name,
			    sizeof(a.ctrs[a.nctrs].name), &n);
			a.ctrs[a.nctrs++].value = v;
		}
	}
	/* into the group's transaction, not one of its own */
	if (c->ntouch >= MAX_GROUP_FRAMES)
		group_flush(c);
	tc = &c->touch[c->ntouch++];
	memset(tc, 0, sizeof(*tc));
	snprintf(tc->agent, sizeof(tc->agent), "%s", agent);
	tc->a = a;
	tc->s = s;
	tc->heartbeat = 1;
	zmq_msg_init(&tc->rid);
}

/* Receive and handle one agent frame.  0 if one was handled, -1 if none. */
static int
router_one(struct collector *c)
{
	zmq_msg_t rid, msg, extra;
	struct wire_msg m;
	const char *agent, *zkey, *why = NULL;
	char name[MAX_NAME_BYTES + 1];
	uint8_t key[32];
	int more, nparts = 1;

	zmq_msg_init(&rid);
	zmq_msg_init(&msg);
	if (zmq_msg_recv(&rid, c->router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&rid);
		zmq_msg_close(&msg);
		return -1;
	}
	if (!zmq_msg_more(&rid) || zmq_msg_recv(&msg, c->router, 0) < 0)
		goto out;
	counters[C_FRAMES_RECEIVED].value++;
	/* One frame per message: drain and refuse anything more. */
	for (more = zmq_msg_more(&msg); more; nparts++) {
		zmq_msg_init(&extra);
		if (zmq_msg_recv(&extra, c->router, 0) < 0)
			more = 0;
		else
			more = zmq_msg_more(&extra);
		zmq_msg_close(&extra);
	}
	agent = zmq_msg_gets(&msg, "User-Id");
	if (!name_valid_str(NAME_AGENT, agent)) {
		/* Cannot happen with ZAP in place; never trust it anyway. */
		counters[C_AUTH_REFUSED].value++;
		goto out;
	}
	snprintf(name, sizeof(name), "%s", agent);
	zkey = zmq_msg_gets(&msg, ZAP_KEY_PROPERTY);
	if (zkey == NULL || strlen(zkey) != KEY_Z85_BYTES - 1 ||
	    zmq_z85_decode(key, zkey) == NULL) {
		counters[C_AUTH_REFUSED].value++;	/* cannot happen */
		goto out;
	}
	if (nparts > 1) {
		refuse(c, &rid, C_REFUSED_MALFORMED, WIRE_REFUSE_MALFORMED,
		    "more than one frame");
		goto out;
	}
	if (zmq_msg_size(&msg) > c->cfg->max_frame_bytes) {
		refuse(c, &rid, C_REFUSED_TOOBIG, WIRE_REFUSE_TOOBIG,
		    "frame larger than max_frame_size");
		goto out;
	}
	/* The (name, key) pair, not the name: a session opened before the
	 * name was revoked and enrolled again with a new key is over. */
	if (!identity_current(c, name, key)) {
		struct session *s = session_find(c, &rid, name, key);

		if (s != NULL) {
			s->used = 0;
			counters[C_SESSIONS_REVOKED].value++;
		}
		log_info("collector: frame from revoked agent %s refused", name);
		refuse(c, &rid, C_REFUSED_REVOKED, WIRE_REFUSE_REVOKED,
		    "agent key revoked");
		goto out;
	}
	if (wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m, &why) != 0) {
		const unsigned char *p = zmq_msg_data(&msg);
		int badver = zmq_msg_size(&msg) >= 1 && p[0] != WIRE_VERSION;

		log_info("collector: agent %s: malformed frame: %s", name,
		    why ? why : "?");
		refuse(c, &rid, C_REFUSED_MALFORMED, badver ?
		    WIRE_REFUSE_VERSION : WIRE_REFUSE_MALFORMED,
		    why ? why : "malformed frame");
		goto out;
	}
	switch (m.type) {
	case WIRE_HELLO:
		on_hello(c, &rid, name, key, &m);
		break;
	case WIRE_BATCH:
		on_batch(c, &rid, &msg, name, key, &m);
		break;
	case WIRE_HEARTBEAT:
		on_heartbeat(c, &rid, name, key, &m);
		break;
	default:
		refuse(c, &rid, C_REFUSED_MALFORMED, WIRE_REFUSE_MALFORMED,
		    "frame type not sent by agents");
		break;
	}
out:
	zmq_msg_close(&rid);
	zmq_msg_close(&msg);
	return 0;
}

/* Socket monitor: count failed handshakes and disconnects; note the
 * listening socket. */
static void
monitor_handle(struct collector *c)
{
	for (int k = 0; k < MAX_FRAMES_PER_POLL; k++) {
		zmq_msg_t ev;
		uint16_t event = 0;
		uint32_t value = 0;
		int more;

		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, c->monitor, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		if (zmq_msg_size(&ev) >= 2)
			memcpy(&event, zmq_msg_data(&ev), 2);	/* host order */
		if (zmq_msg_size(&ev) >= 6)
			memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
		more = zmq_msg_more(&ev);
		zmq_msg_close(&ev);
		while (more) {		/* the endpoint frame */
			zmq_msg_init(&ev);
			more = zmq_msg_recv(&ev, c->monitor, 0) >= 0 &&
			    zmq_msg_more(&ev);
			zmq_msg_close(&ev);
		}
		if (event == ZMQ_EVENT_LISTENING) {
			/* the fd; drops before this start are the kernel's */
			c->listen_fd = (int)value;
			c->listen_drops0 = counters[C_LISTEN_DROPS].value;
			listen_read(c);
		} else if (event == ZMQ_EVENT_CLOSED &&
		    (int)value == c->listen_fd) {
			listen_read(c);
			c->listen_fd = -1;
		} else if (event == ZMQ_EVENT_DISCONNECTED)
			counters[C_DISCONNECTS].value++;
		else if (event == ZMQ_EVENT_ACCEPTED)
			counters[C_CONNECTIONS_ACCEPTED].value++;
		else if (event == ZMQ_EVENT_ACCEPT_FAILED)
			counters[C_ACCEPT_FAILED].value++;
		else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
		    event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
			counters[C_HANDSHAKE_FAILED].value++;
	}
}

/* ---- start, loop, stop --------------------------------------------------- */

static int
router_open(struct collector *c, const char *sec)
{
	int one = 1, zero = 0, hs = HANDSHAKE_IVL_MS, backlog = LISTEN_BACKLOG;
	int64_t maxmsg;
	uint64_t hard;

	hard = c->cfg->max_frame_bytes > (uint64_t)INT64_MAX / FRAME_HARD_FACTOR ?
	    (uint64_t)INT64_MAX : c->cfg->max_frame_bytes * FRAME_HARD_FACTOR;
	maxmsg = (int64_t)hard;
	if ((c->router = zmq_socket(c->ctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(c->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(c->router, ZMQ_CURVE_SECRETKEY, sec, 40) ||
	    zmq_setsockopt(c->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN,
	    strlen(ZAP_DOMAIN)) ||
	    zmq_setsockopt(c->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) ||
	    zmq_setsockopt(c->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) ||
	    zmq_setsockopt(c->router, ZMQ_HANDSHAKE_IVL, &hs, sizeof(hs)) ||
	    zmq_setsockopt(c->router, ZMQ_BACKLOG, &backlog, sizeof(backlog)) ||
	    zmq_setsockopt(c->router, ZMQ_LINGER, &zero, sizeof(zero))) {
		log_err("collector: agent socket: %s", zmq_strerror(zmq_errno()));
		return TS_EIO;
	}
	if (zmq_socket_monitor(c->router, MONITOR_ENDPOINT,
	    ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_ACCEPTED |
	    ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_LISTENING |
	    ZMQ_EVENT_CLOSED) != 0 ||
	    (c->monitor = zmq_socket(c->ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(c->monitor, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_connect(c->monitor, MONITOR_ENDPOINT) != 0) {
		log_err("collector: socket monitor: %s",
		    zmq_strerror(zmq_errno()));
		return TS_EIO;
	}
	if (zmq_bind(c->router, c->cfg->listen) != 0) {
		log_err("collector: cannot listen on %s: %s", c->cfg->listen,
		    zmq_strerror(zmq_errno()));
		return TS_EIO;
	}
	log_info("collector: agents on %s", c->cfg->listen);
	return 0;
}

static void
collector_close(struct collector *c)
{
	if (c->group)
		group_flush(c);
	syslog_free(&c->syslog);
	if (c->j && c->in)
		stats_flush(c);
	if (c->monitor) {
		zmq_socket_monitor(c->router, NULL, 0);
		zmq_close(c->monitor);
	}
	if (c->router)
		zmq_close(c->router);
	enroll_free(&c->enroll);
	zap_free(&c->zap);
	if (c->ctx)
		zmq_ctx_term(c->ctx);
	retention_close();
	journal_close(&c->j);
	keyring_free(&c->kr);
	groupconf_free(&c->gc);
	wire_buf_free(&c->out);
	free(c->sessions);
	free(c->buckets);
	free(c->touch);
	free(c->ev);
	free(c->group);
	internal_free(&c->in);
}

static void
loop(struct collector *c, volatile sig_atomic_t *stop)
{
	zmq_pollitem_t items[MAX_POLL_ITEMS];
	size_t n, ns, base = FIXED_ITEMS + (c->enroll ? 1 : 0);
	long timeout, fl;
	int err;

	while (!*stop) {
		items[0] = (zmq_pollitem_t){ c->router, 0, ZMQ_POLLIN, 0 };
		items[1] = (zmq_pollitem_t){ zap_socket(c->zap), 0, ZMQ_POLLIN, 0 };
		items[2] = (zmq_pollitem_t){ c->monitor, 0, ZMQ_POLLIN, 0 };
		if (c->enroll)
			items[FIXED_ITEMS] = (zmq_pollitem_t){
			    enroll_socket(c->enroll), 0, ZMQ_POLLIN, 0 };
		ns = c->syslog ? syslog_pollitems(c->syslog, items + base,
		    MAX_POLL_ITEMS - base) : 0;
		n = base + ns;
		timeout = (long)((STATS_INTERVAL_US -
		    (mono_us() - c->last_stats_us > STATS_INTERVAL_US ?
		    STATS_INTERVAL_US : mono_us() - c->last_stats_us)) / 1000);
		if (c->syslog && (fl = syslog_next_flush_ms(c->syslog)) >= 0 &&
		    fl < timeout)
			timeout = fl;
		if (zmq_poll(items, (int)n, timeout) < 0) {
			if (zmq_errno() == EINTR)
				continue;
			log_err("collector: zmq_poll: %s",
			    zmq_strerror(zmq_errno()));
			break;
		}
		/* ZAP first: handshakes wait on it. */
		if (items[1].revents & ZMQ_POLLIN)
			zap_handle(c->zap, &counters[C_AUTH_ADMITTED].value,
			    &counters[C_AUTH_REFUSED].value);
		if (items[2].revents & ZMQ_POLLIN)
			monitor_handle(c);
		if (c->enroll && (items[FIXED_ITEMS].revents & ZMQ_POLLIN)) {
			enroll_handle(c->enroll,
			    &counters[C_ENROLL_ADMITTED].value,
			    &counters[C_ENROLL_REFUSED].value);
			/* the events recorded are journaled by stats_flush
			 * within STATS_INTERVAL_US */
		}
		if (items[0].revents & ZMQ_POLLIN) {
			for (int k = 0; k < MAX_FRAMES_PER_POLL; k++)
				if (router_one(c) != 0)
					break;
			/* Everything that was ready: one transaction. */
			group_flush(c);
		}
		if (c->syslog) {
			syslog_handle(c->syslog, items + base, ns);
			int had = syslog_next_flush_ms(c->syslog) >= 0;

			err = syslog_flush(c->syslog, 0);
			if (err == TS_EFULL && journal_grow(c) == 0)
				err = syslog_flush(c->syslog, 0);
			if (err == TS_EFULL)
				set_full(c, 1);
			else if (err == 0 && had &&
			    syslog_next_flush_ms(c->syslog) < 0)
				set_full(c, 0);
		}
		if (mono_us() - c->last_stats_us >= STATS_INTERVAL_US) {
			sessions_revalidate(c);
			groups_tick(c);
			stats_flush(c);
		}
	}
}

/* Raise the descriptor limit to its hard limit: every agent connection,
 * and every bare connection until its handshake times out, holds one. */
static void
fd_limit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			log_warn("collector: cannot raise the descriptor limit "
			    "from %llu: %s", (unsigned long long)was,
			    strerror(errno));
			rl.rlim_cur = was;
		}
	}
	counters[C_FD_LIMIT].value = rl.rlim_cur == RLIM_INFINITY ?
	    UINT64_MAX : (uint64_t)rl.rlim_cur;
}

int
collector_run(const struct server_config *cfg, volatile sig_atomic_t *stop)
{
	struct collector c;
	char pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES];
	char *path = NULL;
	int err;

	memset(&c, 0, sizeof(c));
	c.listen_fd = -1;
	c.cfg = cfg;
	if ((path = datadir_path(cfg->data_dir, DD_RUN)) == NULL ||
	    mkdir_p(path, 0700) != 0) {
		log_err("collector: cannot create %s/run", cfg->data_dir);
		err = TS_EIO;
		goto fail;
	}
	free(path);
	if ((path = datadir_pidfile(cfg->data_dir, "collector")) == NULL ||
	    pidfile_write(path) != 0) {
		log_err("collector: cannot write its pid file");
		err = TS_EIO;
		goto fail;
	}
	if ((err = keys_server_load_or_create(cfg->data_dir, pub, sec)) != 0) {
		log_err("collector: no server key in %s/keys", cfg->data_dir);
		goto fail;
	}
	if ((c.kr = keyring_open(cfg->data_dir)) == NULL) {
		err = TS_EIO;
		goto fail;
	}
	if ((c.gc = groupconf_open(cfg->groups_dir)) == NULL) {
		err = TS_ENOMEM;
		goto fail;
	}
	log_info("collector: group configurations from %s", cfg->groups_dir);
	c.sessions = calloc(MAX_SESSIONS, sizeof(*c.sessions));
	c.buckets = malloc(SESSION_BUCKETS * sizeof(*c.buckets));
	c.touch = calloc(MAX_GROUP_FRAMES, sizeof(*c.touch));
	if (c.buckets != NULL)
		memset(c.buckets, 0xff, SESSION_BUCKETS * sizeof(*c.buckets));
	c.ev = calloc(MAX_GROUP_EVENTS, sizeof(*c.ev));
	c.group = calloc(MAX_GROUP_FRAMES, sizeof(*c.group));
	{
		char host[MAX_HOST_BYTES + 1];

		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		c.in = internal_open(host, (long)getpid());
	}
	if (c.sessions == NULL || c.buckets == NULL || c.touch == NULL ||
	    c.ev == NULL || c.group == NULL ||
	    c.in == NULL) {
		err = TS_ENOMEM;
		goto fail;
	}
	{
		char *jdir = datadir_path(cfg->data_dir, DD_JOURNAL);

		if (jdir == NULL) {
			err = TS_ENOMEM;
			goto fail;
		}
		err = journal_open(jdir, 0, cfg->journal_map_bytes, &c.j);
		free(jdir);
		if (err != 0)
			goto fail;
	}
	(void)journal_stats_foreach(c.j, load_counter_cb,
	    &counters[C_FULL_SINCE_US].value);
	c.full = counters[C_FULL_SINCE_US].value != 0;
	counters[C_PID].value = (uint64_t)getpid();
	fd_limit_raise();	/* before any socket; a gauge, after the load */
	c.started_us = counters[C_STARTED_US].value = now_us();
	/* Thresholds count from the stored totals: no event again for what
	 * was reported before a restart. */
	for (size_t i = 0; i < NWATCHED; i++)
		c.thresh_next[watched[i]] =
		    internal_next_threshold(counters[watched[i]].value);
	if ((c.ctx = zmq_ctx_new()) == NULL) {
		err = TS_EIO;
		goto fail;
	}
	/* The ZAP handler must exist before the CURVE socket binds. */
	if ((c.zap = zap_open(c.ctx, c.kr)) == NULL) {
		err = TS_EIO;
		goto fail;
	}
	if ((err = router_open(&c, sec)) != 0)
		goto fail;
	if (cfg->enroll_listen != NULL && (c.enroll = enroll_open(c.ctx, cfg,
	    sec, enroll_say, &c)) == NULL) {
		err = TS_EIO;
		goto fail;
	}
	explicit_bzero(sec, sizeof(sec));
	if ((cfg->syslog_udp && cfg->syslog_udp[0]) ||
	    (cfg->syslog_tcp && cfg->syslog_tcp[0])) {
		c.syslog = syslog_open(cfg->syslog_udp, cfg->syslog_tcp, c.j,
		    counters, C_COUNT);
		if (c.syslog == NULL) {
			err = TS_EIO;
			goto fail;
		}
	}
	stats_flush(&c);
	log_info("collector: running (pid %ld)", (long)getpid());
	loop(&c, stop);
	log_info("collector: stopping");
	collector_close(&c);
	(void)unlink(path);
	free(path);
	return 0;
fail:
	explicit_bzero(sec, sizeof(sec));
	collector_close(&c);
	free(path);
	return err;
}
