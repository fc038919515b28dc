/*
 * wire.c - encoding and decoding of the agent <-> collector frames.
 *
 * The decoder is the collector's first contact with a peer's bytes: it reads
 * through a bounded cursor that never moves past the end of the frame and
 * checks every length against what remains before using it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

/* Agent software version string in HELLO. */
#define MAX_WIRE_VERSION_BYTES	64
/* REFUSE reason text. */
#define MAX_WIRE_REASON_BYTES	1024
/* Fixed part of an event record: time_us, flags, file length, line length. */
#define WIRE_EVENT_MIN		(8 + 2 + 2 + 4)
/* Offset of the count in a BATCH frame: header, epoch, first_seq. */
#define WIRE_BATCH_COUNT_OFF	(2 + 8 + 8)

struct cursor {
	const unsigned char	*p;
	size_t			 left;
};

static int get_u8(struct cursor *c, uint8_t *v)
{
	if (c->left < 1)
		return -1;
	*v = c->p[0];
	c->p++;
	c->left--;
	return 0;
}

static int get_u16(struct cursor *c, uint16_t *v)
{
	if (c->left < 2)
		return -1;
	*v = get_be16(c->p);
	c->p += 2;
	c->left -= 2;
	return 0;
}

static int get_u32(struct cursor *c, uint32_t *v)
{
	if (c->left < 4)
		return -1;
	*v = get_be32(c->p);
	c->p += 4;
	c->left -= 4;
	return 0;
}

static int get_u64(struct cursor *c, uint64_t *v)
{
	if (c->left < 8)
		return -1;
	*v = get_be64(c->p);
	c->p += 8;
	c->left -= 8;
	return 0;
}

/* n bytes of string data; -1 if fewer remain, -2 if n > max. */
static int get_bytes(struct cursor *c, size_t n, size_t max,
    struct wire_str *s)
{
	if (n > max)
		return -2;
	if (n > c->left)
		return -1;
	s->p = (const char *)c->p;
	s->len = n;
	c->p += n;
	c->left -= n;
	return 0;
}

static int get_str(struct cursor *c, size_t max, struct wire_str *s)
{
	uint16_t n;

	if (get_u16(c, &n) != 0)
		return -1;
	return get_bytes(c, n, max, s);
}

static int get_lstr(struct cursor *c, size_t max, struct wire_str *s)
{
	uint32_t n;

	if (get_u32(c, &n) != 0)
		return -1;
	return get_bytes(c, n, max, s);
}

/* Validate one event record at the cursor, filling ev.  0, or a reason. */
static const char *event_decode(struct cursor *c, struct wire_event *ev)
{
	int r;

	if (get_u64(c, &ev->time_us) != 0 || get_u16(c, &ev->flags) != 0)
		return "truncated event";
	r = get_str(c, MAX_PATH_BYTES, &ev->file);
	if (r == -2)
		return "event file path too long";
	if (r != 0)
		return "truncated event file path";
	r = get_lstr(c, MAX_LINE_BYTES, &ev->line);
	if (r == -2)
		return "event line too long";
	if (r != 0)
		return "truncated event line";
	return NULL;
}

static int counter_name_valid(const struct wire_str *n)
{
	if (n->len == 0)
		return 0;
	for (size_t i = 0; i < n->len; i++) {
		unsigned char ch = (unsigned char)n->p[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-'))
			return 0;
	}
	return 1;
}

/* Validate a HEARTBEAT's counters section at the cursor (which it must
 * fill exactly).  0, or a reason. */
static const char *hb_counters_decode(struct cursor *c, struct wire_msg *m)
{
	struct wire_str names[MAX_HB_COUNTERS];
	uint64_t v;
	int r;

	if (get_u16(c, &m->nctrs) != 0)
		return "truncated HEARTBEAT counters";
	if (m->nctrs > MAX_HB_COUNTERS)
		return "too many HEARTBEAT counters";
	m->has_ctrs = 1;
	m->ctrs = c->p;
	for (uint16_t i = 0; i < m->nctrs; i++) {
		r = get_str(c, MAX_COUNTER_NAME_BYTES, &names[i]);
		if (r == -2)
			return "HEARTBEAT counter name too long";
		if (r != 0 || get_u64(c, &v) != 0)
			return "truncated HEARTBEAT counters";
		if (!counter_name_valid(&names[i]))
			return "bad HEARTBEAT counter name";
		for (uint16_t k = 0; k < i; k++)
			if (names[k].len == names[i].len &&
			    memcmp(names[k].p, names[i].p, names[i].len) == 0)
				return "HEARTBEAT counter named twice";
	}
	return NULL;
}

int wire_hb_counter_next(const struct wire_msg *m, size_t *off,
    struct wire_str *name, uint64_t *value)
{
	const unsigned char *p;
	uint16_t i = 0;
	size_t o = 0, l;

	/* *off counts the pairs already returned; the section was validated
	 * by wire_decode, so walking it again needs no bounds. */
	if (m->type != WIRE_HEARTBEAT || !m->has_ctrs || *off >= m->nctrs)
		return 0;
	p = m->ctrs;
	for (;;) {
		l = ((size_t)p[o] << 8) | p[o + 1];
		if (i == *off)
			break;
		o += 2 + l + 8;
		i++;
	}
	name->p = (const char *)p + o + 2;
	name->len = l;
	*value = get_be64(p + o + 2 + l);
	(*off)++;
	return 1;
}

int wire_hb_counter_is_loss(const char *n, size_t len)
{
	static const char *const loss[] = {
		"agent.lines_truncated", "agent.lines_bad_encoding",
		"agent.read_errors", "agent.spool_full", "agent.journal_errors",
		"agent.configs_refused",
	};

	for (size_t i = 0; i < sizeof(loss) / sizeof(loss[0]); i++)
		if (strlen(loss[i]) == len && memcmp(loss[i], n, len) == 0)
			return 1;
	return 0;
}

int wire_seq_range_valid(uint64_t first, uint64_t n)
{
	return first >= 1 && first <= WIRE_MAX_SEQ &&
	    (n == 0 || first - 1 <= WIRE_MAX_SEQ - n);
}

int wire_decode(const void *buf, size_t len, struct wire_msg *m,
    const char **why)
{
	struct cursor c = { buf, len };
	const char *reason = NULL;
	uint8_t version;
	int r;

	memset(m, 0, sizeof(*m));
	if (why != NULL)
		*why = NULL;
	if (buf == NULL || len < 2) {
		reason = "frame shorter than its header";
		goto bad;
	}
	(void)get_u8(&c, &version);
	(void)get_u8(&c, &m->type);
	if (version != WIRE_VERSION) {
		reason = "unknown protocol version";
		goto bad;
	}
	switch (m->type) {
	case WIRE_HELLO:
		if (get_u64(&c, &m->epoch) != 0) {
			reason = "truncated HELLO";
			goto bad;
		}
		r = get_str(&c, MAX_WIRE_VERSION_BYTES, &m->version);
		if (r == 0)
			r = get_str(&c, MAX_HOST_BYTES, &m->host);
		/* Optional trailing drill name (agreement: absent = none). */
		if (r == 0 && c.left > 0)
			r = get_str(&c, MAX_DRILL_BYTES, &m->drill);
		if (r == -2) {
			reason = "HELLO string too long";
			goto bad;
		}
		if (r != 0) {
			reason = "truncated HELLO";
			goto bad;
		}
		break;
	case WIRE_WELCOME:
	case WIRE_ACK:
		if (get_u64(&c, &m->epoch) != 0 || get_u64(&c, &m->seq) != 0 ||
		    get_u32(&c, &m->credit) != 0) {
			reason = m->type == WIRE_ACK ? "truncated ACK" :
			    "truncated WELCOME";
			goto bad;
		}
		break;
	case WIRE_HEARTBEAT:
		if (get_u64(&c, &m->epoch) != 0 ||
		    get_u64(&c, &m->spooled) != 0 ||
		    get_u64(&c, &m->sent) != 0 ||
		    get_u32(&c, &m->hb_flags) != 0) {
			reason = "truncated HEARTBEAT";
			goto bad;
		}
		/* Optional trailing configuration version. */
		if (c.left > 0) {
			r = get_str(&c, MAX_CONFIG_VERSION_BYTES, &m->cfgver);
			if (r != 0) {
				reason = r == -2 ? "HEARTBEAT config version "
				    "too long" : "truncated HEARTBEAT";
				goto bad;
			}
		}
		/* Optional trailing counters. */
		if (c.left > 0 && (reason = hb_counters_decode(&c, m)) !=
		    NULL)
			goto bad;
		break;
	case WIRE_CONFIG:
		r = get_str(&c, MAX_NAME_BYTES, &m->group);
		if (r == 0)
			r = get_str(&c, MAX_CONFIG_VERSION_BYTES, &m->cfgver);
		if (r == 0)
			r = get_str(&c, MAX_WIRE_REASON_BYTES, &m->cfgerr);
		if (r == 0)
			r = get_lstr(&c, MAX_GROUP_BYTES, &m->text);
		if (r != 0) {
			reason = r == -2 ? "CONFIG field too long" :
			    "truncated CONFIG";
			goto bad;
		}
		break;
	case WIRE_REFUSE:
		if (get_u16(&c, &m->code) != 0) {
			reason = "truncated REFUSE";
			goto bad;
		}
		r = get_str(&c, MAX_WIRE_REASON_BYTES, &m->reason);
		if (r != 0) {
			reason = r == -2 ? "REFUSE reason too long" :
			    "truncated REFUSE";
			goto bad;
		}
		break;
	case WIRE_BATCH: {
		struct wire_event ev;

		if (get_u64(&c, &m->epoch) != 0 || get_u64(&c, &m->seq) != 0 ||
		    get_u32(&c, &m->count) != 0) {
			reason = "truncated BATCH header";
			goto bad;
		}
		if (m->count == 0) {
			reason = "empty BATCH";
			goto bad;
		}
		if (m->count > MAX_BATCH_EVENTS) {
			reason = "too many events in BATCH";
			goto bad;
		}
		if (!wire_seq_range_valid(m->seq, m->count)) {
			reason = "BATCH seq out of range";
			goto bad;
		}
		/* Cheap bound before walking: every record has a fixed part. */
		if (c.left / WIRE_EVENT_MIN < m->count) {
			reason = "BATCH shorter than its count";
			goto bad;
		}
		m->events = c.p;
		m->events_len = c.left;
		for (uint32_t i = 0; i < m->count; i++) {
			reason = event_decode(&c, &ev);
			if (reason != NULL)
				goto bad;
		}
		m->events_len -= c.left;
		break;
	}
	default:
		reason = "unknown frame type";
		goto bad;
	}
	if (c.left != 0) {
		reason = "trailing bytes after the frame";
		goto bad;
	}
	return 0;
bad:
	{
		uint8_t type = m->type;
		memset(m, 0, sizeof(*m));
		m->type = type;
	}
	if (why != NULL)
		*why = reason;
	return TS_EINVAL;
}

int wire_batch_next(const struct wire_msg *m, size_t *off,
    struct wire_event *ev)
{
	struct cursor c;

	if (m->type != WIRE_BATCH || m->events == NULL ||
	    *off >= m->events_len)
		return 0;
	c.p = m->events + *off;
	c.left = m->events_len - *off;
	/* Validated by wire_decode; a failure here means a misuse. */
	if (event_decode(&c, ev) != NULL)
		return 0;
	*off = m->events_len - c.left;
	return 1;
}

/* ---- encoding ------------------------------------------------------------ */

void wire_buf_free(struct wire_buf *w)
{
	if (w == NULL)
		return;
	free(w->data);
	memset(w, 0, sizeof(*w));
}

/* Room for n more bytes; sets w->failed on failure. */
static int reserve(struct wire_buf *w, size_t n)
{
	unsigned char *nd;
	size_t nc;

	if (w->failed)
		return -1;
	if (n <= w->cap - w->len)
		return 0;
	if (n > SIZE_MAX / 2 - w->len) {
		w->failed = 1;
		return -1;
	}
	nc = w->cap ? w->cap : 256;
	while (nc - w->len < n)
		nc *= 2;
	nd = realloc(w->data, nc);
	if (nd == NULL) {
		w->failed = 1;
		return -1;
	}
	w->data = nd;
	w->cap = nc;
	return 0;
}

static void put_u8(struct wire_buf *w, uint8_t v)
{
	if (reserve(w, 1) == 0)
		w->data[w->len++] = v;
}

static void put_u16(struct wire_buf *w, uint16_t v)
{
	if (reserve(w, 2) == 0) {
		put_be16(w->data + w->len, v);
		w->len += 2;
	}
}

static void put_u32(struct wire_buf *w, uint32_t v)
{
	if (reserve(w, 4) == 0) {
		put_be32(w->data + w->len, v);
		w->len += 4;
	}
}

static void put_u64(struct wire_buf *w, uint64_t v)
{
	if (reserve(w, 8) == 0) {
		put_be64(w->data + w->len, v);
		w->len += 8;
	}
}

static void put_raw(struct wire_buf *w, const void *p, size_t n)
{
	if (n > 0 && reserve(w, n) == 0) {
		memcpy(w->data + w->len, p, n);
		w->len += n;
	}
}

/* str: u16 length + bytes, capped at max (<= 65535). */
static void put_str(struct wire_buf *w, const char *s, size_t n, size_t max)
{
	if (s == NULL)
		n = 0;
	if (n > max)
		n = max;
	put_u16(w, (uint16_t)n);
	put_raw(w, s, n);
}

static void begin(struct wire_buf *w, uint8_t type)
{
	w->len = 0;
	w->failed = 0;
	w->batch_count = 0;
	put_u8(w, WIRE_VERSION);
	put_u8(w, type);
}

void wire_hello(struct wire_buf *w, uint64_t epoch, const char *version,
    const char *host)
{
	begin(w, WIRE_HELLO);
	put_u64(w, epoch);
	put_str(w, version, version ? strlen(version) : 0,
	    MAX_WIRE_VERSION_BYTES);
	put_str(w, host, host ? strlen(host) : 0, MAX_HOST_BYTES);
}

void wire_hello_drill(struct wire_buf *w, uint64_t epoch, const char *version,
    const char *host, const char *drill)
{
	wire_hello(w, epoch, version, host);
	if (drill != NULL && drill[0] != '\0')
		put_str(w, drill, strlen(drill), MAX_DRILL_BYTES);
}

void wire_welcome(struct wire_buf *w, uint64_t epoch, uint64_t seq,
    uint32_t credit)
{
	begin(w, WIRE_WELCOME);
	put_u64(w, epoch);
	put_u64(w, seq);
	put_u32(w, credit);
}

void wire_ack(struct wire_buf *w, uint64_t epoch, uint64_t seq,
    uint32_t credit)
{
	begin(w, WIRE_ACK);
	put_u64(w, epoch);
	put_u64(w, seq);
	put_u32(w, credit);
}

void wire_heartbeat(struct wire_buf *w, uint64_t epoch, uint64_t spooled,
    uint64_t sent, uint32_t flags)
{
	begin(w, WIRE_HEARTBEAT);
	put_u64(w, epoch);
	put_u64(w, spooled);
	put_u64(w, sent);
	put_u32(w, flags);
}

void wire_heartbeat_cfg(struct wire_buf *w, uint64_t epoch, uint64_t spooled,
    uint64_t sent, uint32_t flags, const char *cfgver)
{
	wire_heartbeat(w, epoch, spooled, sent, flags);
	if (cfgver != NULL && cfgver[0] != '\0')
		put_str(w, cfgver, strlen(cfgver), MAX_CONFIG_VERSION_BYTES);
}

void wire_heartbeat_ctrs(struct wire_buf *w, uint64_t epoch,
    uint64_t spooled, uint64_t sent, uint32_t flags, const char *cfgver,
    const char *const *names, const uint64_t *values, size_t n)
{
	wire_heartbeat(w, epoch, spooled, sent, flags);
	put_str(w, cfgver, cfgver ? strlen(cfgver) : 0,
	    MAX_CONFIG_VERSION_BYTES);
	if (n > MAX_HB_COUNTERS)
		n = MAX_HB_COUNTERS;
	put_u16(w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		put_str(w, names[i], strlen(names[i]), MAX_COUNTER_NAME_BYTES);
		put_u64(w, values[i]);
	}
}

void wire_config(struct wire_buf *w, const char *group, const char *version,
    const char *error, const char *text, size_t text_len)
{
	begin(w, WIRE_CONFIG);
	put_str(w, group, group ? strlen(group) : 0, MAX_NAME_BYTES);
	put_str(w, version, version ? strlen(version) : 0,
	    MAX_CONFIG_VERSION_BYTES);
	put_str(w, error, error ? strlen(error) : 0, MAX_WIRE_REASON_BYTES);
	if (text == NULL || text_len > MAX_GROUP_BYTES)
		text_len = 0;
	put_u32(w, (uint32_t)text_len);
	put_raw(w, text, text_len);
}

void wire_refuse(struct wire_buf *w, uint16_t code, const char *reason)
{
	begin(w, WIRE_REFUSE);
	put_u16(w, code);
	put_str(w, reason, reason ? strlen(reason) : 0, MAX_WIRE_REASON_BYTES);
}

void wire_batch_begin(struct wire_buf *w, uint64_t epoch, uint64_t first_seq)
{
	begin(w, WIRE_BATCH);
	put_u64(w, epoch);
	put_u64(w, first_seq);
	put_u32(w, 0);		/* patched by wire_batch_end */
}

/*
 * Append one event.  Paths past MAX_PATH_BYTES are cut; lines past
 * MAX_LINE_BYTES are cut and flagged EV_TRUNCATED.  Adding more than
 * MAX_BATCH_EVENTS marks the frame failed (the collector would refuse it).
 */
void wire_batch_add(struct wire_buf *w, uint64_t time_us, uint16_t flags,
    const char *file, size_t file_len, const char *line, size_t line_len)
{
	if (w->batch_count >= MAX_BATCH_EVENTS) {
		w->failed = 1;
		return;
	}
	if (line == NULL)
		line_len = 0;
	if (line_len > MAX_LINE_BYTES) {
		line_len = MAX_LINE_BYTES;
		flags |= EV_TRUNCATED;
	}
	put_u64(w, time_us);
	put_u16(w, flags);
	put_str(w, file, file_len, MAX_PATH_BYTES);
	put_u32(w, (uint32_t)line_len);
	put_raw(w, line, line_len);
	w->batch_count++;
}

void wire_batch_end(struct wire_buf *w)
{
	if (w->failed || w->len < WIRE_BATCH_COUNT_OFF + 4)
		return;
	put_be32(w->data + WIRE_BATCH_COUNT_OFF, w->batch_count);
}
