/*
 * wire.h - the agent <-> collector protocol over ZeroMQ (DEALER <-> ROUTER,
 * CURVE-encrypted).  Every message is ONE ZeroMQ frame (on the ROUTER side
 * preceded by the routing-id frame that libzmq adds):
 *
 *   offset 0  u8   version (WIRE_VERSION)
 *          1  u8   type (WIRE_*)
 *          2  ...  body, all integers big-endian
 *
 *   HELLO     agent -> collector, on connect and after every reconnect
 *             u64 epoch   agent spool epoch (see below)
 *             str version agent software version
 *             str host    the endpoint's host name
 *             str drill   OPTIONAL (may be absent): the drill this session
 *                         replays (`tocsin replay`); absent or empty = a
 *                         normal agent.  The collector journals the
 *                         session's events with source JSRC_REPLAY and this
 *                         drill name.  [A-Za-z0-9._-], <= MAX_DRILL_BYTES;
 *                         anything else is refused MALFORMED.  Only the
 *                         replay key (keys.h) may send it; from any other
 *                         key the HELLO is refused FORBIDDEN.
 *   WELCOME   collector -> agent, answer to HELLO
 *             u64 epoch, u64 seq   highest (epoch, seq) committed for this
 *                                  agent; the agent drops spooled events up
 *                                  to it and resends the rest
 *             u32 credit           events the agent may send unacknowledged
 *   BATCH     agent -> collector
 *             u64 epoch, u64 first_seq, u32 count, then count events:
 *               u64 time_us   when the agent read the line
 *               u16 flags     EV_* (EV_TRUNCATED, ...)
 *               str file      path of the file the line came from
 *               lstr line     the raw line, no newline, <= MAX_LINE_BYTES
 *             seqs are first_seq .. first_seq+count-1, consecutive
 *   ACK       collector -> agent, after the journal transaction commits
 *             u64 epoch, u64 seq   everything up to seq is durable
 *             u32 credit           new credit (events beyond seq)
 *   HEARTBEAT agent -> collector, every few seconds
 *             u64 epoch, u64 spooled (events not yet acknowledged),
 *             u64 sent (events sent since start), u32 flags (HB_*)
 *             str config   OPTIONAL: the version of the group configuration
 *                          the agent runs, empty if none (sent only once it
 *                          got a CONFIG, so an old collector never sees it)
 *             u16 n        OPTIONAL, only after config (present then even
 *                          if empty): the agent's counters, n <=
 *                          MAX_HB_COUNTERS pairs of
 *               str name     [A-Za-z0-9._-], 1..MAX_COUNTER_NAME_BYTES,
 *                            no name twice ("agent.lines_truncated")
 *               u64 value    its total (kept across agent restarts)
 *                          sent, like config, only to a collector that sent
 *                          a CONFIG in this session; each heartbeat carries
 *                          the whole table of non-zero counters (one not
 *                          named is zero).  Anything else is MALFORMED.
 *   REFUSE    collector -> agent: the frame was refused
 *             u16 code (WIRE_REFUSE_*), str reason
 *   CONFIG    collector -> agent, after WELCOME and whenever the agent's
 *             group file changes: the group's collection settings
 *             str group    the agent's group ([A-Za-z0-9._-])
 *             str version  the configuration's version (hash of its text);
 *                          empty: the group has no file (keep your own)
 *             str error    empty, or why the group file was refused
 *                          ("file:line:col: message"); the text below is
 *                          then the last good one (or empty)
 *             lstr text    the YAML of the group file, <= MAX_GROUP_BYTES
 *             An agent that does not know CONFIG logs and ignores it.
 *
 *   str  = u16 length + bytes;  lstr = u32 length + bytes.
 *
 * The agent's identity is never in the payload: the collector takes it from
 * ZAP (the User-Id of the enrolled key).  An epoch is a fresh random-free
 * counter the agent starts when it creates a new spool (so seq restarts at
 * 1); the collector keeps the highest (epoch, seq) per agent.
 *
 * The decoders below take (buf, len), never trust lengths, and return 0 or
 * TS_EINVAL for a malformed frame.  Decoded strings point into buf.
 */
#ifndef TOCSIN_WIRE_H
#define TOCSIN_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION	1

enum {
	WIRE_HELLO = 1,
	WIRE_WELCOME = 2,
	WIRE_BATCH = 3,
	WIRE_ACK = 4,
	WIRE_HEARTBEAT = 5,
	WIRE_REFUSE = 6,
	WIRE_CONFIG = 7,
};

enum {
	WIRE_REFUSE_MALFORMED = 1,	/* frame did not decode */
	WIRE_REFUSE_VERSION = 2,	/* unknown protocol version */
	WIRE_REFUSE_REVOKED = 3,	/* key no longer enrolled */
	WIRE_REFUSE_TOOBIG = 4,		/* a field past its limit */
	WIRE_REFUSE_NOHELLO = 5,	/* BATCH before HELLO */
	WIRE_REFUSE_FULL = 6,		/* journal cannot grow: retry later */
	WIRE_REFUSE_CREDIT = 7,		/* sent beyond granted credit */
	WIRE_REFUSE_FORBIDDEN = 8,	/* not allowed for this key (a drill
					 * label from anyone but replay) */
};

/* Event flags (journal records keep them too). */
#define EV_TRUNCATED	0x0001	/* line was longer than MAX_LINE_BYTES */
#define EV_BADUTF8	0x0002	/* line held invalid UTF-8 (kept as bytes) */
#define EV_CTRL		0x0004	/* line held control bytes (kept as bytes) */

/* Heartbeat flags. */
#define HB_SPOOL_FULL	0x0001	/* spool at its cap: agent stopped reading */

struct wire_str {
	const char	*p;
	size_t		 len;
};

struct wire_event {
	uint64_t	 time_us;
	uint16_t	 flags;
	struct wire_str	 file;
	struct wire_str	 line;
};

struct wire_msg {
	uint8_t		 type;
	uint64_t	 epoch;		/* HELLO WELCOME BATCH ACK HEARTBEAT */
	uint64_t	 seq;		/* WELCOME ACK: committed; BATCH: first */
	uint32_t	 credit;	/* WELCOME ACK */
	uint32_t	 count;		/* BATCH: events */
	struct wire_str	 version;	/* HELLO */
	struct wire_str	 host;		/* HELLO */
	struct wire_str	 drill;		/* HELLO: len 0 when absent/empty */
	uint64_t	 spooled, sent;	/* HEARTBEAT */
	uint32_t	 hb_flags;	/* HEARTBEAT */
	uint16_t	 code;		/* REFUSE */
	struct wire_str	 reason;	/* REFUSE */
	struct wire_str	 group;		/* CONFIG */
	struct wire_str	 cfgver;	/* CONFIG; HEARTBEAT (len 0: absent) */
	int		 has_ctrs;	/* HEARTBEAT: the counters section is
					 * there (nctrs may still be 0) */
	uint16_t	 nctrs;		/* HEARTBEAT: counters */
	const unsigned char *ctrs;	/* HEARTBEAT: start of the pairs */
	struct wire_str	 cfgerr;	/* CONFIG */
	struct wire_str	 text;		/* CONFIG */
	const unsigned char *events;	/* BATCH: start of the event records */
	size_t		 events_len;	/* BATCH: their total length */
};

/*
 * The one bound on agent sequence numbers, which the wire decoder and the
 * journal both apply: a BATCH of n events from first holds seqs first ..
 * first+n-1, all in 1 .. WIRE_MAX_SEQ.  The top value is kept free so that
 * "the mark plus one" never wraps.  1 if valid.
 */
#define WIRE_MAX_SEQ	(UINT64_MAX - 1)
int wire_seq_range_valid(uint64_t first, uint64_t n);

/*
 * Decode the header and fixed part of a frame into *m.  For BATCH, the
 * events are validated (count records, each within limits, exactly filling
 * the frame) but not copied: iterate them with wire_batch_next.
 * Returns 0, or TS_EINVAL with a short static reason in *why.
 */
int wire_decode(const void *buf, size_t len, struct wire_msg *m,
    const char **why);

/* Iterate the events of a decoded BATCH: *off starts at 0; returns 1 with
 * *ev filled, 0 at the end. */
int wire_batch_next(const struct wire_msg *m, size_t *off,
    struct wire_event *ev);

/* Iterate the counters of a decoded HEARTBEAT: *off starts at 0; returns 1
 * with *name (not NUL-terminated) and *value filled, 0 at the end. */
int wire_hb_counter_next(const struct wire_msg *m, size_t *off,
    struct wire_str *name, uint64_t *value);

/* 1 if the agent counter named (n, len) counts lost or damaged input
 * (lines truncated, bad encoding, read errors, spool full, journal read
 * errors, configurations refused): what `tocsin status` and `tocsin
 * agents` point out. */
int wire_hb_counter_is_loss(const char *n, size_t len);

/*
 * Encoders write into a growable buffer.  wire_buf_reset() starts a new
 * message; the wire_put_* calls append; w->data/w->len is the frame.
 */
struct wire_buf {
	unsigned char	*data;
	size_t		 len, cap;
	int		 failed;	/* an allocation failed: frame unusable */
	uint32_t	 batch_count;	/* events added since wire_batch_begin */
};

void wire_buf_free(struct wire_buf *w);
void wire_hello(struct wire_buf *w, uint64_t epoch, const char *version,
    const char *host);
/* HELLO of a drill replay session: as wire_hello, plus the trailing drill
 * name (NULL or "" encodes no drill field at all). */
void wire_hello_drill(struct wire_buf *w, uint64_t epoch, const char *version,
    const char *host, const char *drill);
void wire_welcome(struct wire_buf *w, uint64_t epoch, uint64_t seq,
    uint32_t credit);
void wire_ack(struct wire_buf *w, uint64_t epoch, uint64_t seq,
    uint32_t credit);
void wire_heartbeat(struct wire_buf *w, uint64_t epoch, uint64_t spooled,
    uint64_t sent, uint32_t flags);
/* HEARTBEAT with the trailing configuration version (NULL or "": none). */
void wire_heartbeat_cfg(struct wire_buf *w, uint64_t epoch, uint64_t spooled,
    uint64_t sent, uint32_t flags, const char *cfgver);
/* HEARTBEAT with the configuration version (NULL: "") and n counters
 * (n <= MAX_HB_COUNTERS; names valid as above). */
void wire_heartbeat_ctrs(struct wire_buf *w, uint64_t epoch,
    uint64_t spooled, uint64_t sent, uint32_t flags, const char *cfgver,
    const char *const *names, const uint64_t *values, size_t n);
void wire_refuse(struct wire_buf *w, uint16_t code, const char *reason);
/* CONFIG; error and text may be NULL (empty). */
void wire_config(struct wire_buf *w, const char *group, const char *version,
    const char *error, const char *text, size_t text_len);
/* Start a batch; then one wire_batch_add per event; then wire_batch_end
 * patches the count.  Lines longer than MAX_LINE_BYTES are capped and
 * flagged EV_TRUNCATED here. */
void wire_batch_begin(struct wire_buf *w, uint64_t epoch, uint64_t first_seq);
void wire_batch_add(struct wire_buf *w, uint64_t time_us, uint16_t flags,
    const char *file, size_t file_len, const char *line, size_t line_len);
void wire_batch_end(struct wire_buf *w);

#endif /* TOCSIN_WIRE_H */
