/*
 * collector_int.h - private interfaces shared inside collector/.
 *
 * journal.c: the writer's extras that readers never need (gap reporting and
 * map growth); zap.c: the ZAP handler; syslog.c: the syslog listeners and
 * their pure parsers (exposed for unit tests and fuzzing).
 */
#ifndef TOCSIN_COLLECTOR_INT_H
#define TOCSIN_COLLECTOR_INT_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "collector/journal.h"
#include "common/keys.h"
#include "common/limits.h"

struct counter;

/* ---- journal (writer side) -------------------------------------------- */

/*
 * journal_append_batch() plus *gap (may be NULL): how many sequence numbers
 * were skipped between the old high-water mark and the first new event
 * (0 when the batch continues the mark exactly; a new epoch counts from 1).
 * Gaps are accepted (the agent lost them before shipping) but the caller
 * counts them.
 */
int journal_append_batch_gap(journal_t *j, const char *agent, uint64_t epoch,
    uint64_t first_seq, struct jevent *ev, size_t n,
    const struct counter *stats, size_t nstats,
    size_t *dups, uint64_t *hw_epoch, uint64_t *hw_seq, uint64_t *gap);

/*
 * Write transactions of several steps (the collector's group commit: many
 * agent batches, its own events and the counters in one transaction).  A
 * journal has at most one open; journal_txn_begin gives it (owned by the
 * journal: end it with journal_txn_commit or journal_txn_abort, which NULL
 * the caller's pointer).  After any step fails the caller must abort: a
 * full map (TS_EFULL) leaves LMDB's transaction unusable.
 */
typedef struct journal_txn journal_txn_t;

int journal_txn_begin(journal_t *j, journal_txn_t **out);
void journal_txn_abort(journal_txn_t **t);
/* Write the counters (may be NULL/0) and commit.  TS_EFULL: nothing of the
 * transaction was written. */
int journal_txn_commit(journal_txn_t **t, const struct counter *stats,
    size_t nstats);

struct jbatch_result {
	size_t		 dups;		/* events at or below the mark, skipped */
	uint64_t	 gap;		/* seqs skipped before the first new one */
	uint64_t	 hw_epoch, hw_seq;	/* the mark after this batch */
	struct jagent	 before;	/* the agent's record before it (zero if
					 * none): health, last_seen_us */
};

/* One agent batch, as journal_append_batch_gap, inside t: the high-water
 * mark is read and advanced inside the transaction, so two batches of one
 * agent in one transaction are judged exactly as if committed apart. */
int journal_txn_batch(journal_txn_t *t, const char *agent, uint64_t epoch,
    uint64_t first_seq, struct jevent *ev, size_t n, struct jbatch_result *r);
/* Events without an agent sequence (syslog, internal).  reserved != 0 lets
 * them use the room kept for bookkeeping (the collector's own few events
 * that say the journal is full). */
int journal_txn_plain(journal_txn_t *t, struct jevent *ev, size_t n,
    int reserved);
/* journal_agent_touch inside t; *before (may be NULL) gets the record as
 * it was (zeroed if none). */
int journal_txn_agent_touch(journal_txn_t *t, const char *agent,
    const struct jagent *a, struct jagent *before);
/* Set then clear health flags (JAGENT_*) of an existing agent record.
 * TS_ENOTFOUND if the agent has none. */
int journal_txn_agent_health(journal_txn_t *t, const char *agent,
    uint64_t set, uint64_t clear, struct jagent *before);

/*
 * Double the map size (no transaction may be open), up to max_bytes.
 * 0 with *new_bytes set, TS_EFULL when already at max_bytes, TS_EDB.
 */
int journal_map_grow(journal_t *j, uint64_t max_bytes, uint64_t *new_bytes);

/* Current map size in bytes. */
uint64_t journal_map_size(journal_t *j);

/* ---- tocsin's own events (internal.c) ---------------------------------- */

/* Events the collector holds for its next write transaction; past this they
 * are counted as dropped (collector.internal_dropped). */
#define MAX_INTERNAL_PENDING	256
/* Longest internal line: time, host, tag and message. */
#define MAX_INTERNAL_LINE	(MAX_HOST_BYTES + 512)

typedef struct internal internal_t;

/* host: the server's host name; pid: shown in "tocsin[pid]".  NULL on
 * allocation failure.  Free with internal_free. */
internal_t *internal_open(const char *host, long pid);
void internal_free(internal_t **in);
/* Queue one event (printf-style message, logged at info level too).
 * 0, or TS_EFULL when the queue is full (the caller counts a drop). */
int internal_add(internal_t *in, uint64_t time_us, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
size_t internal_pending(const internal_t *in);
/* Append the queued events to t (source JSRC_INTERNAL, may use the
 * journal's reserve); internal_clear once t has committed. */
int internal_journal(internal_t *in, journal_txn_t *t);
void internal_clear(internal_t *in);
/* Forget events queued after the first n (a transaction that would have
 * carried them was aborted and will queue them again). */
void internal_truncate(internal_t *in, size_t n);
/* "45s", "10m", "1m30s", "2h3m", "1d4h" (two largest units at most). */
void internal_duration(uint64_t us, char *buf, size_t len);
/* Next rung of the threshold ladder 1, 10, 100, ... above value. */
uint64_t internal_next_threshold(uint64_t value);

/* ---- ZAP handler (zap.c) ----------------------------------------------- */

#define ZAP_ENDPOINT	"inproc://zeromq.zap.01"
#define ZAP_DOMAIN	"tocsin"
/* ZAP metadata property that carries the admitted key (Z85) to every
 * message of the connection (zmq_msg_gets). */
#define ZAP_KEY_PROPERTY	"X-Tocsin-Key"

typedef struct zap zap_t;

/* Bind the ZAP REP socket in ctx.  Must run before the CURVE socket binds:
 * libzmq admits every CURVE client when no ZAP handler is bound.  NULL on
 * failure (logged). */
zap_t *zap_open(void *ctx, keyring_t *kr);
void zap_free(zap_t **z);
/* The socket to poll for ZMQ_POLLIN. */
void *zap_socket(zap_t *z);
/* Answer every pending ZAP request without blocking.  Adds the number of
 * refusals to *refused and of admissions to *admitted. */
void zap_handle(zap_t *z, uint64_t *admitted, uint64_t *refused);

/* ---- the enrolment endpoint (enroll.c) ---------------------------------- */

/* ZAP domain of the enrolment socket: ZAP admits ANY CURVE client key there
 * (the PC enrolling proves it holds the secret of the key it enrols; the
 * token decides), and only there. */
#define ENROLL_ZAP_DOMAIN	"tocsin-enroll"

struct server_config;
typedef struct enroll enroll_t;

/* Record one of tocsin's own events (the collector's say()). */
typedef void (*enroll_say_fn)(void *arg, const char *msg);

/*
 * Bind the enrolment ROUTER (CURVE server with the server key sec, ZAP
 * domain ENROLL_ZAP_DOMAIN) on cfg->enroll_listen.  Requests are one JSON
 * frame {"token", "name", "host"}; the answer one JSON frame {"ok": true,
 * "name", "listen"} or {"ok": false, "error"}.  NULL on failure (logged).
 */
enroll_t *enroll_open(void *ctx, const struct server_config *cfg,
    const char *sec, enroll_say_fn say, void *say_arg);
void enroll_free(enroll_t **e);
void *enroll_socket(enroll_t *e);
/* Answer every pending request; counts into *admitted / *refused. */
void enroll_handle(enroll_t *e, uint64_t *admitted, uint64_t *refused);

/* ---- syslog parsers (syslog.c) ---------------------------------------- */

/* Largest octet count an RFC 6587 frame may announce.  Bytes beyond
 * MAX_LINE_BYTES are skipped (message flagged EV_TRUNCATED); a count past
 * this is a broken or hostile sender and the connection is closed. */
#define MAX_SYSLOG_OCTET_COUNT	(16u * 1024 * 1024)

/* Digits of an octet count ("16777216" has 8). */
#define MAX_SYSLOG_COUNT_DIGITS	10

/* Skip value meaning "discard up to and including the next newline". */
#define SYSLOG_SKIP_TO_NEWLINE	((size_t)-1)

struct syslog_frame {
	size_t	msg_off;	/* message start within buf */
	size_t	msg_len;	/* message length (<= MAX_LINE_BYTES) */
	size_t	skip;		/* stream bytes to discard after the frame:
				 * rest of a capped octet-counted message, or
				 * SYSLOG_SKIP_TO_NEWLINE for a capped line */
	int	truncated;	/* message was capped at MAX_LINE_BYTES */
	int	octet_counted;	/* RFC 6587 octet counting (else newline) */
};

/*
 * Cut one message off the front of a TCP stream buffer (RFC 6587): octet
 * counting ("LEN SP MSG", LEN = [1-9][0-9]*, detected by a leading digit) or
 * newline framing (anything else, ends at LF; a CR before it is dropped).
 * Returns the bytes consumed (> 0) with *f filled, 0 if more input is
 * needed, -1 if the stream is malformed (bad count: the caller closes).
 * An empty line yields msg_len 0 (nothing to journal).
 */
long syslog_frame_parse(const char *buf, size_t len, struct syslog_frame *f);

struct syslog_hdr {
	int		 format;	/* 3164 or 5424 */
	unsigned	 pri;		/* 0..191 */
	const char	*host;		/* points into the message; NULL if the
					 * header names no host ("-" in 5424) */
	size_t		 host_len;
};

/*
 * Parse the header of one syslog message (RFC 5424, or RFC 3164 with a
 * BSD "Mmm dd hh:mm:ss" or an RFC 3339 timestamp) far enough to find the
 * host name.  Returns the bytes consumed through the host name (> 0), or -1
 * if the message has no header this parser recognises.
 */
long syslog_header_parse(const char *buf, size_t len, struct syslog_hdr *h);

/* The syslog listeners (opaque); driven from the collector's poll loop. */
typedef struct syslog_in syslog_in_t;

/* Bind the listeners (either address may be NULL or "").  NULL on failure
 * (logged).  The counters table is the collector's; indexes are looked up
 * by name once. */
syslog_in_t *syslog_open(const char *udp_addr, const char *tcp_addr,
    journal_t *j, struct counter *c, size_t nc);
void syslog_free(syslog_in_t **s);
/* Bind spec ("ip:port") for socktype (SOCK_DGRAM, SOCK_STREAM) and let it
 * go again: can the listener be opened?  0, or TS_EINVAL / TS_EIO with one
 * line in err. */
int syslog_listen_probe(const char *spec, int socktype, char *err,
    size_t errlen);
/* Fill up to max poll items (raw fds) for zmq_poll; returns how many. */
size_t syslog_pollitems(syslog_in_t *s, zmq_pollitem_t *items, size_t max);
/* Handle the poll results of the items given by syslog_pollitems. */
void syslog_handle(syslog_in_t *s, const zmq_pollitem_t *items, size_t n);
/* Flush pending syslog events if due (or force); returns 0, TS_EFULL when
 * the journal cannot take them (kept, retried), another TS_E*. */
int syslog_flush(syslog_in_t *s, int force);
/* Milliseconds until the next flush is due (-1: nothing pending). */
long syslog_next_flush_ms(syslog_in_t *s);

/* ---- retention (retention.c) ----------------------------------------------- */

struct server_config;
/* One tick of the journal's retention (collector.retention; nothing when
 * 0): adds the events deleted to *deleted and the transactions to *txns;
 * *held (may be NULL) gets how many events past the age wait for the
 * engine.  Logs failures; the next tick tries again. */
void retention_run(journal_t *j, const struct server_config *cfg,
    uint64_t *deleted, uint64_t *txns, uint64_t *held);
/* Close the state opened to read the engine's cursor. */
void retention_close(void);

/* ---- the supervisor's notices (supervisor.c) ---------------------------- */

/* Read what tocsind's supervisor wrote on its notice pipe (see
 * collector_supervisor_fd) and queue each notice as an internal event.
 * Never blocks; bounded per call. */
void supervisor_notices_read(internal_t *in);

/* ---- groups' central configuration (groups.c) ---------------------------- */

/*
 * The collection settings of each group, read from DIR/NAME.yml (the
 * server's collector.groups) on first use and re-read when the file
 * changes (groupconf_tick, every second).  A file that does not parse is
 * refused as a whole: the group keeps its last good text and version, and
 * the error (file:line:col) is logged, counted and sent along to the
 * group's agents.  Every change of what a group sends bumps its
 * generation, so the collector knows which sessions to update.
 */
typedef struct groupconf groupconf_t;

struct groupconf_view {
	const char	*version;	/* "" when the group has no good file */
	const char	*error;		/* "" unless the file was refused */
	const char	*text;		/* last good text (may be NULL) */
	size_t		 len;
	uint64_t	 gen;		/* generation (>= 1) */
};

groupconf_t *groupconf_open(const char *dir);
void groupconf_free(groupconf_t **g);
/* The group's current state (loads it on first use).  0, or TS_EFULL past
 * MAX_GROUPS groups, TS_ENOMEM. */
int groupconf_get(groupconf_t *g, const char *group,
    struct groupconf_view *out);
/* Re-stat every known group file; re-read the changed ones.  Adds the files
 * refused to *refused, the ones accepted to *loaded.  Returns the number of
 * groups whose CONFIG changed. */
size_t groupconf_tick(groupconf_t *g, uint64_t *loaded, uint64_t *refused);

#endif /* TOCSIN_COLLECTOR_INT_H */
