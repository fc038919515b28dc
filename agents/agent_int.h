/*
 * agent_int.h - private interfaces of tocsin-agent: the on-disk spool
 * (spool.c), file following (follow.c) and the connection loop (agent.c).
 *
 * The spool is an LMDB environment under DATA_DIR/spool.  Key schema (all
 * integers big-endian):
 *
 *   db "events"   key: u64 seq
 *                 val: u64 time_us, u16 flags (EV_*), u16 file_len,
 *                      u32 line_len, then the bytes of file and line
 *   db "offsets"  key: the followed path as configured
 *                 val: u8 SPOOL_OFFSET_FORMAT, u8 skip, u16 head_len,
 *                      u64 dev, u64 ino, u64 offset, u64 head_hash
 *   db "meta"     key "format"   val u32 SPOOL_FORMAT
 *                 key "epoch"    val u64 epoch of this spool
 *                 key "next_seq" val u64 seq the next event gets (from 1)
 *                 key "acked"    val u64 highest seq acknowledged
 *                 key "bytes"    val u64 bytes of key+value in "events"
 *                 key "groupconf" val the group configuration applied last:
 *                                "VERSION\nGROUP\n" then its YAML text
 *                 key "cursor:NAME"  val the bytes of a source's cursor
 *                                (the systemd journal's, NAME "journal")
 *   db "stats"    key: counter name ("agent.*"), val: u64 (common/stats.h);
 *                 totals over the life of the spool, saved every minute
 *                 and at exit
 *
 * Reading a chunk of a file appends its lines AND writes the file's new
 * offset in ONE write transaction (spool_begin .. spool_commit), so the
 * spool and the offsets agree after any crash: nothing lost, nothing read
 * twice.  The same transaction also deletes what a deferred ACK
 * (spool_ack_defer) acknowledged.
 */
#ifndef TOCSIN_AGENT_INT_H
#define TOCSIN_AGENT_INT_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#include "common/config.h"

#define SPOOL_FORMAT		1
#define SPOOL_OFFSET_FORMAT	1

/* ---- spool ------------------------------------------------------------ */

typedef struct spool spool_t;

struct spool_info {
	uint64_t	 epoch;		/* epoch of this spool */
	uint64_t	 next_seq;	/* seq the next appended event gets */
	uint64_t	 acked;		/* highest acknowledged seq (committed) */
	uint64_t	 ack_through;	/* the same with a deferred ACK
					   (spool_ack_defer) counted */
	uint64_t	 bytes;		/* bytes held in "events" */
	uint64_t	 max_bytes;	/* the cap (spool.max_size) */
};

/* Where a followed file was left.  The head (hash of its first head_len
 * bytes, head_len <= FOLLOW_HEAD_BYTES) recognises a file that was
 * truncated and rewritten past the old offset, or an inode reused. */
struct spool_offset {
	uint64_t	 dev, ino;
	uint64_t	 offset;	/* next unread byte; always a line start
					   unless skip is set */
	uint64_t	 head_hash;
	uint32_t	 head_len;
	uint32_t	 skip;		/* 1: discard bytes up to the next '\n'
					   (rest of a capped long line) */
};

/* One spooled event as read back; pointers valid only inside the callback. */
struct spool_event {
	uint64_t	 seq;
	uint64_t	 time_us;
	uint16_t	 flags;
	const char	*file;	size_t file_len;
	const char	*line;	size_t line_len;
};

/*
 * Open (creating if needed) the spool in dir (created with mode 0700) with
 * the cap max_bytes (0: no cap).  A new spool gets a fresh epoch (wall-clock
 * seconds) and next_seq 1.  *out is freed with spool_close.  0, TS_EIO,
 * TS_EDB or TS_ENOMEM.
 */
int spool_open(const char *dir, uint64_t max_bytes, spool_t **out);
/* The same with the map opened at initial_map bytes (0: the platform's
 * choice, plat_spool_initial_map) and grown as the spool fills: on Windows
 * the spool file takes the whole map size on disk when it opens. */
int spool_open_map(const char *dir, uint64_t max_bytes, uint64_t initial_map,
    spool_t **out);
/* The map size now, the most it may grow to, and how often it grew. */
void spool_map_info(const spool_t *sp, uint64_t *cur, uint64_t *max,
    uint64_t *grown);
/* Close; aborts an open write transaction.  Accepts NULL / *sp NULL. */
void spool_close(spool_t **sp);
void spool_get_info(const spool_t *sp, struct spool_info *out);
/* Events spooled and not yet acknowledged. */
uint64_t spool_pending(const spool_t *sp);
/* 1 when the spool holds max_bytes or more (reading should stop). */
int spool_is_full(const spool_t *sp);

/* Start the write transaction that spool_append / spool_offset_put fill and
 * spool_commit makes durable (or spool_abort drops).  One at a time. */
int spool_begin(spool_t *sp);
/*
 * Append one event with the next seq.  TS_EFULL when it would take the spool
 * past its cap (the transaction stays usable: commit what is in it); an
 * empty spool always takes one event so that a tiny cap cannot wedge it.
 * TS_EDB on an LMDB failure (the transaction is then dead: spool_commit
 * fails and drops everything in it).  *seq_out (may be NULL) gets the seq.
 */
int spool_append(spool_t *sp, uint64_t time_us, uint16_t flags,
    const char *file, size_t file_len, const char *line, size_t line_len,
    uint64_t *seq_out);
/* Store the offset of path in the open transaction. */
int spool_offset_put(spool_t *sp, const char *path,
    const struct spool_offset *o);
/* Commit the write transaction, a deferred ACK (spool_ack_defer) applied
 * in it.  0, or TS_EFULL / TS_EDB with nothing of it kept (the ACK stays
 * deferred). */
int spool_commit(spool_t *sp);
void spool_abort(spool_t *sp);

/* A value of db "meta" in a transaction of its own (none may be open):
 * put, or get into a malloc'd NUL-terminated buffer of at most max bytes.
 * 0, TS_ENOTFOUND (get), TS_EINVAL, TS_EFULL, TS_EDB, TS_ENOMEM. */
int spool_meta_put(spool_t *sp, const char *key, const void *data,
    size_t len);
int spool_meta_get(spool_t *sp, const char *key, size_t max, char **out,
    size_t *len);

/* Read the stored offset of path.  0 or TS_ENOTFOUND (or TS_EDB). */
int spool_offset_get(spool_t *sp, const char *path, struct spool_offset *o);

/* The cursor of a source that is not a file (the journal): stored in the
 * open transaction like a file's offset, so that the events read and the
 * cursor after them commit together.  1..MAX_CURSOR_BYTES bytes. */
int spool_cursor_put(spool_t *sp, const char *name, const char *cur,
    size_t len);
/* Copy the stored cursor of name into buf (NUL-terminated).  0,
 * TS_ENOTFOUND, TS_EINVAL (buf too small) or TS_EDB. */
int spool_cursor_get(spool_t *sp, const char *name, char *buf,
    size_t buflen);

/*
 * Delete every event with seq <= seq of this epoch and remember seq as
 * acknowledged (never beyond what was appended).  An ACK of another epoch
 * changes nothing (returns 0, *freed 0).  *freed (may be NULL) gets the
 * number of events deleted.  A deferred ACK (spool_ack_defer) beyond seq
 * is applied along.  TS_EINVAL while a write transaction is open.
 */
int spool_ack_through(spool_t *sp, uint64_t epoch, uint64_t seq,
    uint64_t *freed);

/*
 * Record an ACK through seq of this epoch without a transaction of its own:
 * the next spool_commit deletes those events and stores "acked" inside its
 * transaction (one fsync for the lines read and the ACKs received), or
 * spool_ack_flush does when no commit came.  Until then spool_get_info and
 * spool_pending still count the events.  An ACK of another epoch changes
 * nothing.  Always 0.
 */
int spool_ack_defer(spool_t *sp, uint64_t epoch, uint64_t seq);
/* Commit a deferred ACK now (own transaction) if one waits.  0, TS_EINVAL
 * (a transaction is open) or TS_EDB / TS_EFULL (the ACK stays deferred). */
int spool_ack_flush(spool_t *sp);

/* Start a new epoch greater than both the current one and min_epoch, keeping
 * the spooled events and their seqs (used when the collector already knows
 * an epoch at least as new as ours, e.g. after the spool was wiped). */
int spool_new_epoch(spool_t *sp, uint64_t min_epoch);

/* Load / save the agent's counters (db "stats"); names not stored keep
 * their value.  0 or TS_EDB. */
struct counter;
int spool_stats_load(spool_t *sp, struct counter *c, size_t n);
int spool_stats_save(spool_t *sp, const struct counter *c, size_t n);

/* Call cb for spooled events with seq >= from, in order, at most max; cb
 * returns 0 to go on, 1 to stop.  One read transaction. */
typedef int (*spool_event_cb)(const struct spool_event *ev, void *arg);
int spool_read(spool_t *sp, uint64_t from, size_t max, spool_event_cb cb,
    void *arg);

/* ---- following files ---------------------------------------------------- */

/* Bytes at the start of a file whose hash recognises it. */
#define FOLLOW_HEAD_BYTES	256
/* A file that stays this long without growth while its path points at a new
 * file is finished (its last partial line shipped) and closed. */
#define FOLLOW_ROTATE_GRACE_US	(1000 * 1000)

typedef struct follower follower_t;

struct follow_stats {
	uint64_t	 lines;		/* lines spooled */
	uint64_t	 bytes;		/* bytes of those lines */
	uint64_t	 truncated;	/* lines capped at MAX_LINE_BYTES */
	uint64_t	 rotations;	/* renames seen (new inode at the path) */
	uint64_t	 truncations;	/* files shrunk or rewritten (copy-truncate) */
	uint64_t	 read_errors;	/* open/read failures */
	uint64_t	 bad_encoding;	/* lines not valid UTF-8/UTF-16, NULs */
	uint64_t	 spool_full;	/* polls stopped by the spool cap */
};

/*
 * Follow the n paths (copied).  from_start: a file with no stored offset is
 * read from its start (else from its end, like tail -F).  Files that appear
 * later are always read from their start.  *out freed with follow_free.
 */
int follow_open(spool_t *sp, const char *const *paths, size_t n,
    int from_start, follower_t **out);
void follow_free(follower_t **f);

/*
 * Poll every file once: notice rotation and truncation, read new complete
 * lines and spool them (one transaction per chunk), at most max_lines in
 * all.  *more is set to 1 if a file still has unread data.  Returns 0, or
 * TS_EFULL when the spool cap stopped reading (nothing lost: the rest stays
 * in the files), or TS_EDB.
 */
int follow_poll(follower_t *f, size_t max_lines, int *more);
void follow_get_stats(const follower_t *f, struct follow_stats *out);

/* Classify a line: EV_CTRL if it holds control bytes other than TAB,
 * EV_BADUTF8 if it is not valid UTF-8. */
uint16_t follow_line_flags(const char *p, size_t len);

/* ---- the system's own log: the systemd journal (sdjournal.c) on Linux, -----
 * ---- the Windows Event Log (win/evtlog.c) on Windows ------------------- */

/*
 * A source with the contract of a follower: poll reads new entries into the
 * spool, the cursor after them in the same transaction (spool_cursor_put),
 * so nothing is lost or read twice across restarts.
 *
 * The systemd journal (cfg->journal): each entry becomes one syslog-like
 * line "TIME HOST IDENT[PID]: MESSAGE" (RFC 3339 time in UTC, the form
 * tocsin's syslog header parser reads) with the file name "journal" (or
 * "journal:UNIT").
 *
 * The Windows Event Log (cfg->eventlog): each event becomes its Event XML
 * as EvtRender writes it (the engine's Windows decoder reads it), with the
 * file name "eventlog:CHANNEL"; the cursor of a channel is its bookmark
 * (the bookmark XML), named "evt:CHANNEL".
 */
typedef struct oslog oslog_t;

struct oslog_stats {
	uint64_t	 entries;	/* entries spooled */
	uint64_t	 truncated;	/* lines capped at MAX_LINE_BYTES */
	uint64_t	 errors;	/* read errors (a channel missing or
					   unreadable counts once a spell) */
	uint64_t	 spool_full;	/* polls stopped by the spool cap */
};

/*
 * Open the system's log as cfg says.  The journal: the local system journal
 * (or the journal files of cfg->journal_dir), only the entries of
 * cfg->journal_units when there are some.  The event log: a subscription
 * per channel of cfg->evt_channels (with its XPath filter).  Without a
 * stored cursor it starts at the end (only new entries), or at the head
 * with cfg->from_start.  *out stays NULL when this platform has no log of
 * the kind cfg asks for (said once in the log).  0, TS_EIO (with a log
 * line) or TS_ENOMEM.
 */
int oslog_open(spool_t *sp, const struct agent_config *cfg,
    oslog_t **out);
void oslog_free(oslog_t **j);
/* Read at most max entries; *more = 1 when there may be more.  0, TS_EFULL
 * (the spool cap stopped reading; the rest stays in the journal) or
 * TS_EDB. */
int oslog_poll(oslog_t *j, size_t max, int *more);
/* The counts so far; all 0 for j NULL (no system log read). */
void oslog_get_stats(const oslog_t *j, struct oslog_stats *out);

/* ---- enrolment with a token (enroll.c) ------------------------------------ */

struct enroll_opts {
	const char	*server;	/* HOST[:PORT] of collector.enroll_listen */
	const char	*token;		/* "ID.SECRET" */
	const char	*fingerprint;	/* the server's public key, Z85 */
	const char	*name;		/* NULL: the host name */
	const char	*output;	/* configuration written (created) */
	const char	*data_dir;	/* agent.data_dir written, or NULL */
	char		**follow;	/* files written into follow: */
	size_t		 nfollow;
	int		 journal;	/* write journal: (also when no file) */
	const char	*journal_dir;	/* journal.directory, or NULL */
	int		 from_start;
	uint64_t	 timeout_us;	/* longest wait for the answer */
};

/* Generate a key pair, enrol it with the token over CURVE pinned to the
 * fingerprint, write the configuration.  Exit status: 0, 1 (refused,
 * unreachable, wrong fingerprint), 2 (usage); messages on stderr. */
int agent_enroll(const struct enroll_opts *o);

/* ---- the agent ---------------------------------------------------------- */

struct agent_opts {
	const char	*version;	/* software version sent in HELLO */
	const volatile sig_atomic_t *stop;	/* set by SIGTERM/SIGINT */
	/* Called once start-up succeeded (spool open, socket ready); may
	 * be NULL.  The daemon uses it to let its first parent exit 0. */
	void		(*ready_cb)(void *arg);
	void		*ready_arg;
};

/* Run until *opts->stop: follow, spool, ship.  0 or a TS_E* at start-up. */
int agent_run(const struct agent_config *cfg, const struct agent_opts *opts);

#endif /* TOCSIN_AGENT_INT_H */
