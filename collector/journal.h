/*
 * journal.h - the journal: every accepted event, durably, in arrival order.
 *
 * An LMDB environment under DATADIR/journal that only the collector writes;
 * the engine and the CLI read it with read-only transactions.
 *
 * Key schema (all integers big-endian, so LMDB's byte order is time order):
 *
 *   db "events"  key: u64 jseq (1, 2, 3, ... gap-free until retention
 *                deletes the oldest)
 *                val: event record (below)
 *   db "agents"  key: agent name
 *                val: u64 epoch, u64 seq (highest committed (epoch, seq)),
 *                     u64 last_event_us, u64 events, u64 last_seen_us,
 *                     u64 spooled, u64 hb_flags, str version, str host,
 *                     then optionally u64 health (JAGENT_*; absent = 0)
 *   db "stats"   key: counter name, val: u64 (common/stats.h)
 *   db "meta"    key: "format" val: u32 JOURNAL_FORMAT
 *
 * Event record: u8 JOURNAL_FORMAT, u8 source (JSRC_*), u16 flags (EV_*),
 *   u64 recv_us, u64 time_us, u64 epoch, u64 seq,
 *   u16 agent_len, u16 host_len, u16 file_len, u16 drill_len, u32 raw_len,
 *   then the bytes of agent, host, file, drill, raw in that order.
 *
 * Sources: events of a session whose HELLO named a drill are journaled with
 * source JSRC_REPLAY and drill = that name.  The collector journals its own
 * events (source JSRC_INTERNAL, agent "", host = the server's host name,
 * file "tocsind", drill "") in its own write transactions, with the raw line
 *   <RFC3339 time> <host> tocsin[<collector pid>]: <message>
 * and exactly these messages (NAME: agent or counter name; DURATION like
 * "45s", "10m", "2h3m", "1d4h"):
 *   agent NAME silent for DURATION (last seen RFC3339)
 *   agent NAME reporting again after DURATION of silence
 *   agent NAME spool full (N events waiting; reading paused)
 *   agent NAME spool no longer full
 *   journal full: acknowledgements paused
 *   journal accepting again
 *   counter NAME reached VALUE (threshold THRESHOLD)
 *   process NAME crashed N times in DURATION (last: REASON)
 *     (from tocsind's supervisor: collector.h, collector_supervisor_fd)
 * An agent is silent when no frame came from it for engine.agent_silent_after
 * (counted from the collector's start at the earliest); the health flag
 * JAGENT_SILENT in its record makes each of the two events happen once per
 * episode, across restarts.  Counter thresholds are a ladder 1, 10, 100, ...
 * on every refusal/drop counter.
 *
 * Retention (journal_retain): events older than collector.retention are
 * deleted from the oldest on, never one past the engine's cursor, never the
 * newest, never an agent record.  A key of "events" is therefore not
 * gap-free from 1: readers start from the first key there is.
 *
 * Effectively-once: journal_append_batch() checks and advances the agent's
 * high-water mark in the same write transaction as the events it appends, so
 * a batch resent after a lost ACK is recognised and not journaled twice.
 */
#ifndef TOCSIN_JOURNAL_H
#define TOCSIN_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/limits.h"

#define JOURNAL_FORMAT	1

enum {
	JSRC_AGENT = 1,		/* shipped by tocsin-agent */
	JSRC_SYSLOG_UDP = 2,	/* network device, syslog over UDP */
	JSRC_SYSLOG_TCP = 3,	/* network device, syslog over TCP */
	JSRC_REPLAY = 4,	/* a recording replayed by `tocsin replay` */
	JSRC_INTERNAL = 5,	/* tocsin's own events (collector) */
};

/* The name of a source as `tocsin events` and recordings show it, and as
 * rules match it (the built-in field "source"): "agent", "syslog_udp",
 * "syslog_tcp", "replay", "internal"; "unknown" otherwise.  Static. */
const char *journal_source_name(uint8_t source);

/* One journaled event.  Transparent value carrier: the pointers point into
 * LMDB's memory when read (valid only inside the callback that got it) or
 * into the caller's buffers when appending. */
struct jevent {
	uint64_t	 jseq;		/* journal sequence (set by the journal) */
	uint8_t		 source;	/* JSRC_* */
	uint16_t	 flags;		/* EV_* from wire.h */
	uint64_t	 recv_us;	/* when the collector received it */
	uint64_t	 time_us;	/* when the agent read it (or syslog time) */
	uint64_t	 epoch, seq;	/* agent's (epoch, seq); 0 for syslog */
	const char	*agent;	size_t agent_len;	/* "" for syslog */
	const char	*host;	size_t host_len;
	const char	*file;	size_t file_len;	/* "udp:1.2.3.4:514" for syslog */
	const char	*drill;	size_t drill_len;	/* "" unless replayed in a drill */
	const char	*raw;	size_t raw_len;
};

/* Per-agent record from db "agents". */
struct jagent {
	uint64_t	 epoch, seq;		/* high-water mark */
	uint64_t	 last_event_us;		/* newest event time journaled */
	uint64_t	 events;		/* events journaled */
	uint64_t	 last_seen_us;		/* last frame of any kind */
	uint64_t	 spooled;		/* backlog from the last heartbeat */
	uint64_t	 hb_flags;		/* HB_* from the last heartbeat */
	char		 version[64];
	char		 host[256];
	uint64_t	 health;		/* JAGENT_* (collector's own) */
	char		 group[MAX_NAME_BYTES + 1];	/* its group */
	char		 cfgver[MAX_CONFIG_VERSION_BYTES + 1];	/* group
					 * configuration version it runs
					 * (its heartbeat's); "" unknown */
	/* The agent's own counters from its last heartbeat that had them
	 * (wire.h): lines truncated, read errors, ...  A record touched
	 * with has_ctrs 0 keeps the stored ones. */
	int		 has_ctrs;
	uint16_t	 nctrs;
	struct jagent_ctr {
		char	 name[MAX_COUNTER_NAME_BYTES + 1];
		uint64_t value;
	}		 ctrs[MAX_HB_COUNTERS];
};

/*
 * The counters agent record a carries from its agent's last heartbeat, as
 * two JSON objects of name -> value: *all the non-zero ones, *losses those
 * of them that count lost or damaged input (wire_hb_counter_is_loss).  Both
 * NULL when the agent never reported any (has_ctrs 0).  New references:
 * the caller decrefs them.  0, or TS_ENOMEM (both NULL).
 */
int journal_agent_counters_json(const struct jagent *a, json_t **all,
    json_t **losses);

/* Agent health flags (struct jagent.health). */
#define JAGENT_SILENT	0x1	/* "agent silent" journaled; cleared with
				 * "reporting again" */

typedef struct journal journal_t;

#define JOURNAL_RDONLY	0x1	/* readers: engine, CLI */

/*
 * Open (creating if needed, unless JOURNAL_RDONLY) the journal environment in
 * dir with the given map size (0: DEFAULT_JOURNAL_MAP_BYTES).  *out is freed
 * with journal_close.  TS_ENOTFOUND if RDONLY and it does not exist yet.
 */
int journal_open(const char *dir, int flags, uint64_t map_bytes,
    journal_t **out);
void journal_close(journal_t **j);

/*
 * Clear the reader slots that dead processes left in the journal's reader
 * table (stats_readers_reclaim; journal_open does it too) and add to
 * *cleared (may be NULL) how many were cleared since the last call, those
 * cleared at open included.  Every process that keeps the journal open
 * calls it on its statistics tick.  0 or TS_EDB.
 */
int journal_readers_reclaim(journal_t *j, uint64_t *cleared);

/*
 * Append the events of one agent batch (seqs first_seq .. first_seq+n-1 of
 * epoch) in ONE write transaction that also advances the agent's high-water
 * mark and writes the counters given (may be NULL/0).  Events at or below the
 * mark are skipped and counted in *dups; an older epoch is skipped whole
 * (*dups = n).  On success *hw_epoch and *hw_seq hold the new mark, which is
 * what the collector acknowledges.  TS_EFULL when the map or the disk is full
 * (nothing written; the caller stops acknowledging and retries later).
 */
struct counter;
int journal_append_batch(journal_t *j, const char *agent, uint64_t epoch,
    uint64_t first_seq, struct jevent *ev, size_t n,
    const struct counter *stats, size_t nstats,
    size_t *dups, uint64_t *hw_epoch, uint64_t *hw_seq);

/* Append events that carry no agent sequence (syslog): one transaction. */
int journal_append_plain(journal_t *j, struct jevent *ev, size_t n,
    const struct counter *stats, size_t nstats);

/* Update an agent's health record (heartbeats, hello) and counters.  The
 * delivery fields and health flags are kept from the stored record. */
int journal_agent_touch(journal_t *j, const char *agent,
    const struct jagent *a, const struct counter *stats, size_t nstats);
int journal_agent_get(journal_t *j, const char *agent, struct jagent *out);
int journal_agent_foreach(journal_t *j,
    int (*cb)(const char *agent, const struct jagent *a, void *arg), void *arg);

/* Write counters only (refusals with no batch to ride on). */
int journal_stats_write(journal_t *j, const struct counter *stats, size_t n);
/* Call cb for every stored counter. */
int journal_stats_foreach(journal_t *j,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg);

/* Highest jseq journaled (0 when empty). */
int journal_last_seq(journal_t *j, uint64_t *out);

/*
 * Call cb for each event with jseq >= from, in order (reverse: jseq <= from,
 * descending), at most max events (0: no limit), inside one read
 * transaction.  cb returns 0 to go on, 1 to stop, <0 to abort with that
 * error.  *last (may be NULL) gets the jseq of the last event given to cb.
 */
typedef int (*journal_event_cb)(const struct jevent *ev, void *arg);
int journal_scan(journal_t *j, uint64_t from, size_t max,
    journal_event_cb cb, void *arg, uint64_t *last);
int journal_scan_reverse(journal_t *j, uint64_t from, size_t max,
    journal_event_cb cb, void *arg);

/*
 * Retention (the collector, the journal's writer): delete, in ONE write
 * transaction, at most max events from the oldest on, stopping at the
 * first one received at or after before_us (recv_us) or with a jseq past
 * `through` (the engine's cursor: nothing it has not processed goes).  The
 * newest event always stays (the next jseq is one past it, and must never
 * go back), and the agents' records (their high-water marks, which make a
 * resent batch a duplicate) are never touched.  *deleted gets how many
 * went; *more is set when it stopped at max.  0, TS_EFULL, TS_EDB.
 */
int journal_retain(journal_t *j, uint64_t before_us, uint64_t through,
    size_t max, size_t *deleted, int *more);

/* What the journal holds, for `tocsin status` (sizing the disk). */
struct journal_span {
	uint64_t	 events;		/* events stored */
	uint64_t	 event_bytes;		/* pages they take */
	uint64_t	 first_jseq, first_recv_us;	/* oldest (0: empty) */
	uint64_t	 last_jseq, last_recv_us;	/* newest */
};
int journal_span(journal_t *j, struct journal_span *sp);

/* Encode/decode an event record (exposed for tests and fuzzing).
 * journal_record_decode returns 0 or TS_EINVAL; pointers go into buf. */
int journal_record_decode(const void *buf, size_t len, struct jevent *ev);
size_t journal_record_size(const struct jevent *ev);
void journal_record_encode(const struct jevent *ev, void *buf);

#endif /* TOCSIN_JOURNAL_H */
