/*
 * syslog.c - plain syslog from network devices: UDP datagrams and TCP
 * streams (RFC 6587 octet counting or newline framing), RFC 3164 and 5424
 * headers read far enough to name the host.
 *
 * Messages are journaled as they came (without the framing), with the host
 * from the header (or the sender's address when the header names none),
 * file "udp:IP:PORT" / "tcp:IP:PORT" and the receive time.  They are
 * batched: one journal transaction per SYSLOG_FLUSH_US or per
 * MAX_SYSLOG_BATCH messages.  Every cap and refusal is counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector/collector_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/stats.h"
#include "common/util.h"
#include "common/wire.h"

/* Simultaneous TCP syslog connections, so a flood of idle connections
 * cannot exhaust descriptors.  A connection past the table, or past
 * MAX_SYSLOG_CONNS_PER_ADDR from one address, evicts the connection that
 * has been idle longest (of that address when it is at its cap): one
 * address cannot hold the slots of others, and a flood of idle
 * connections cannot keep a real sender out.  Counted. */
#define MAX_SYSLOG_CONNS	256
#define MAX_SYSLOG_CONNS_PER_ADDR	32

/* A TCP connection that sends nothing for this long is closed (counted);
 * senders reconnect when they have something to say. */
#define SYSLOG_IDLE_US		(300ULL * 1000 * 1000)

/* After accept() fails for lack of descriptors, the listener is not
 * polled for this long (it would stay readable and spin). */
#define SYSLOG_ACCEPT_PAUSE_US	(100 * 1000)

/* UDP receive buffer asked for (SO_RCVBUFFORCE, else SO_RCVBUF up to
 * net.core.rmem_max): bursts wait in the kernel instead of being dropped.
 * Drops that still happen are counted (SO_RXQ_OVFL, SO_MEMINFO). */
#define SYSLOG_UDP_RCVBUF	(32 * 1024 * 1024)

/* How often idle connections and kernel drops are checked. */
#define SYSLOG_TICK_US		(1000 * 1000)

/* Messages held for one journal transaction, and their bytes. */
#define MAX_SYSLOG_BATCH	1024
#define MAX_SYSLOG_PENDING_BYTES	(8u * 1024 * 1024)

/* Longest time a received message waits for its transaction. */
#define SYSLOG_FLUSH_US		(50 * 1000)

/* Datagrams read per poll wake-up, so TCP and agents get their turn. */
#define MAX_UDP_READS_PER_POLL	64

/* Per-connection stream buffer: one capped message plus its octet count. */
#define SYSLOG_CONN_BUF		(MAX_LINE_BYTES + MAX_SYSLOG_COUNT_DIGITS + 2)

/* "udp:" + "[" IPv6 "]" + ":" + port. */
#define MAX_PEER_BYTES		(4 + INET6_ADDRSTRLEN + 2 + 1 + 5 + 1)

/* ---- the pure parsers -------------------------------------------------- */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

long
syslog_frame_parse(const char *buf, size_t len, struct syslog_frame *f)
{
	size_t i, hdr, keep;
	uint64_t count = 0;
	const char *lf;

	memset(f, 0, sizeof(*f));
	if (buf == NULL || len == 0)
		return 0;
	if (is_digit(buf[0])) {
		/* RFC 6587 octet counting: MSG-LEN = NONZERO-DIGIT *DIGIT. */
		if (buf[0] == '0')
			return -1;
		for (i = 0; i < len && is_digit(buf[i]); i++) {
			if (i >= MAX_SYSLOG_COUNT_DIGITS)
				return -1;
			count = count * 10 + (uint64_t)(buf[i] - '0');
		}
		if (i == len)
			return i > MAX_SYSLOG_COUNT_DIGITS ? -1 : 0;
		if (buf[i] != ' ' || count > MAX_SYSLOG_OCTET_COUNT)
			return -1;
		hdr = i + 1;
		keep = count > MAX_LINE_BYTES ? MAX_LINE_BYTES : (size_t)count;
		if (len - hdr < keep)
			return 0;
		f->msg_off = hdr;
		f->msg_len = keep;
		f->truncated = count > keep;
		f->skip = (size_t)(count - keep);
		f->octet_counted = 1;
		return (long)(hdr + keep);
	}
	/* Newline framing; a LF right after MAX_LINE_BYTES still ends it. */
	lf = memchr(buf, '\n', len > MAX_LINE_BYTES ? MAX_LINE_BYTES + 1 : len);
	if (lf != NULL) {
		i = (size_t)(lf - buf);
		f->msg_len = i;
		if (i > 0 && buf[i - 1] == '\r')
			f->msg_len--;
		if (f->msg_len > MAX_LINE_BYTES) {
			f->msg_len = MAX_LINE_BYTES;
			f->truncated = 1;
		}
		return (long)(i + 1);
	}
	if (len > MAX_LINE_BYTES) {
		f->msg_len = MAX_LINE_BYTES;
		f->truncated = 1;
		f->skip = SYSLOG_SKIP_TO_NEWLINE;
		return MAX_LINE_BYTES;
	}
	return 0;
}

/* Length of the token at buf[0..len) up to a space (or the end). */
static size_t
token_len(const char *buf, size_t len)
{
	const char *sp = memchr(buf, ' ', len);

	return sp ? (size_t)(sp - buf) : len;
}

/* 1 if [p, p+n) is a plausible host name: printable ASCII, no tag syntax. */
static int
host_ok(const char *p, size_t n)
{
	if (n == 0 || n > MAX_HOST_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 33 || c > 126 || c == '[' || c == ']')
			return 0;
	}
	return p[n - 1] != ':';
}

/* Length of a BSD timestamp "Mmm dd hh:mm:ss" (optionally with a year
 * before the time, or fractions after it) at p, or 0. */
static size_t
bsd_time_len(const char *p, size_t len)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	size_t i, t;
	int ok = 0;

	if (len < 15)
		return 0;
	for (i = 0; i + 3 <= sizeof(months) - 1; i += 3)
		if (memcmp(p, months + i, 3) == 0)
			ok = 1;
	if (!ok || p[3] != ' ')
		return 0;
	if (!((p[4] == ' ' || is_digit(p[4])) && is_digit(p[5]) &&
	    p[6] == ' '))
		return 0;
	i = 7;
	/* Optional year ("Jan  1 2026 00:00:00"). */
	if (len - i >= 5 && is_digit(p[i]) && is_digit(p[i + 1]) &&
	    is_digit(p[i + 2]) && is_digit(p[i + 3]) && p[i + 4] == ' ')
		i += 5;
	if (len - i < 8)
		return 0;
	if (!(is_digit(p[i]) && is_digit(p[i + 1]) && p[i + 2] == ':' &&
	    is_digit(p[i + 3]) && is_digit(p[i + 4]) && p[i + 5] == ':' &&
	    is_digit(p[i + 6]) && is_digit(p[i + 7])))
		return 0;
	t = i + 8;
	if (t < len && p[t] == '.')
		for (t++; t < len && is_digit(p[t]); t++)
			;
	return t;
}

/* Length of an RFC 3339 timestamp token at p ("2026-01-26T00:00:05Z",
 * fractions and offsets allowed), or 0. */
static size_t
rfc3339_len(const char *p, size_t len)
{
	size_t n = token_len(p, len);

	if (n < 19 || n > 40)
		return 0;
	if (!(is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) &&
	    is_digit(p[3]) && p[4] == '-' && p[10] == 'T'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(is_digit(p[i]) || p[i] == '-' || p[i] == ':' ||
		    p[i] == 'T' || p[i] == '.' || p[i] == '+' || p[i] == 'Z'))
			return 0;
	return n;
}

long
syslog_header_parse(const char *buf, size_t len, struct syslog_hdr *h)
{
	size_t i, n, ts;
	unsigned pri = 0;

	memset(h, 0, sizeof(*h));
	if (buf == NULL || len < 3 || buf[0] != '<')
		return -1;
	/* PRI: "<" 1*3DIGIT ">", no leading zero, at most 191. */
	for (i = 1; i < len && i <= 4 && is_digit(buf[i]); i++)
		pri = pri * 10 + (unsigned)(buf[i] - '0');
	if (i == 1 || i > 4 || i >= len || buf[i] != '>' ||
	    (buf[1] == '0' && i > 2) || pri > 191)
		return -1;
	h->pri = pri;
	i++;
	/* RFC 5424: VERSION SP TIMESTAMP SP HOSTNAME. */
	n = 0;
	while (i + n < len && n < 3 && is_digit(buf[i + n]))
		n++;
	if (n > 0 && buf[i] != '0' && i + n < len && buf[i + n] == ' ') {
		h->format = 5424;
		i += n + 1;
		ts = token_len(buf + i, len - i);
		if (ts == 0 || i + ts >= len)
			return -1;
		i += ts + 1;
		n = token_len(buf + i, len - i);
		if (n == 1 && buf[i] == '-')
			return (long)(i + n);
		if (n == 0 || n > MAX_HOST_BYTES)
			return -1;
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)buf[i + k] < 33 ||
			    (unsigned char)buf[i + k] > 126)
				return -1;
		h->host = buf + i;
		h->host_len = n;
		return (long)(i + n);
	}
	/* RFC 3164: TIMESTAMP SP HOSTNAME SP TAG. */
	h->format = 3164;
	ts = bsd_time_len(buf + i, len - i);
	if (ts == 0)
		ts = rfc3339_len(buf + i, len - i);
	if (ts == 0)
		return -1;
	i += ts;
	if (i >= len || buf[i] != ' ')
		return (long)i;		/* timestamp, then nothing */
	n = token_len(buf + i + 1, len - i - 1);
	/* The host is followed by the tag; a lone last word is the message. */
	if (i + 1 + n < len && host_ok(buf + i + 1, n)) {
		h->host = buf + i + 1;
		h->host_len = n;
		return (long)(i + 1 + n);
	}
	return (long)i;
}

/* ---- listeners ----------------------------------------------------------- */

struct sconn {
	int	 fd;			/* -1: free slot */
	char	 peer[MAX_PEER_BYTES];	/* "tcp:IP:PORT" */
	char	 ip[INET6_ADDRSTRLEN];
	char	*buf;			/* SYSLOG_CONN_BUF bytes */
	size_t	 len;
	size_t	 skip;			/* bytes (or to newline) still to drop */
	uint64_t last_us;		/* mono time of its last bytes (or
					 * accept) */
};

struct syslog_in {
	journal_t	*j;
	int		 udp_fd, tcp_fd;
	struct sconn	 conns[MAX_SYSLOG_CONNS];
	int		 map[MAX_SYSLOG_CONNS + 2];	/* poll item -> slot */
	struct jevent	 pev[MAX_SYSLOG_BATCH];	/* pending messages */
	char		*pmem[MAX_SYSLOG_BATCH];	/* their host, file, raw */
	size_t		 npend, pend_bytes;
	int		 resume;	/* unblocked: re-drain connections */
	uint64_t	 first_pend_us;	/* mono time of the oldest pending */
	int		 blocked;	/* journal full: stop reading TCP */
	struct counter	*c;
	size_t		 nc;
	uint64_t	*c_received, *c_malformed, *c_truncated, *c_noheader,
			*c_conn_refused, *c_dropped_full, *c_journaled,
			*c_evicted, *c_idle_closed, *c_accept_failed,
			*c_udp_kdrops, *c_udp_rcvbuf;
	uint32_t	 udp_drops_seen;	/* kernel's cumulative count */
	uint64_t	 accept_pause_until;	/* mono; 0: listening */
	uint64_t	 last_tick_us;		/* mono */
	uint64_t	 dummy;
	char		*rbuf;		/* UDP receive buffer */
};

static uint64_t *
counter_ref(syslog_in_t *s, const char *name)
{
	for (size_t i = 0; i < s->nc; i++)
		if (strcmp(s->c[i].name, name) == 0)
			return &s->c[i].value;
	log_warn("syslog: no counter %s", name);
	return &s->dummy;
}

/* Split "ip:port" ("[v6]:port" too) and resolve numerically. */
static int
addr_parse(const char *spec, int socktype, struct addrinfo **res)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints;
	uint64_t port;
	size_t hl;

	if (colon == NULL || colon == spec)
		return TS_EINVAL;
	if (parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != 0)
		return TS_EINVAL;
	hl = (size_t)(colon - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return TS_EINVAL;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	return getaddrinfo(host, colon + 1, &hints, res) == 0 ? 0 : TS_EINVAL;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return TS_EIO;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

static int
listen_on(const char *spec, int socktype)
{
	struct addrinfo *ai = NULL;
	int fd = -1, one = 1;

	if (addr_parse(spec, socktype, &ai) != 0) {
		log_err("syslog: bad address '%s' (want ip:port)", spec);
		return -1;
	}
	fd = socket(ai->ai_family, socktype, 0);
	if (fd < 0)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    (socktype == SOCK_STREAM && listen(fd, 64) != 0) ||
	    set_nonblock(fd) != 0)
		goto fail;
	freeaddrinfo(ai);
	return fd;
fail:
	log_err("syslog: cannot listen on %s/%s: %s", spec,
	    socktype == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -1;
}

int
syslog_listen_probe(const char *spec, int socktype, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	const char *proto = socktype == SOCK_STREAM ? "tcp" : "udp";
	int fd = -1, one = 1, ret = 0;

	if (addr_parse(spec, socktype, &ai) != 0) {
		snprintf(err, errlen, "syslog_%s: bad address '%s' (want "
		    "ip:port)", proto, spec);
		return TS_EINVAL;
	}
	if ((fd = socket(ai->ai_family, socktype, 0)) < 0) {
		snprintf(err, errlen, "syslog_%s: socket: %s", proto,
		    strerror(errno));
		ret = TS_EIO;
		goto out;
	}
	/* TCP: as the listener will (a closed connection's TIME_WAIT is no
	 * conflict).  UDP: not, so a socket bound there already fails us. */
	if (socktype == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    (socktype == SOCK_STREAM && listen(fd, 1) != 0)) {
		snprintf(err, errlen, "cannot listen for syslog on %s/%s: %s%s",
		    spec, proto, strerror(errno), errno == EADDRINUSE ?
		    " (another program, or another tocsind, has it)" : "");
		ret = errno == EADDRINUSE ? TS_EAGAIN : TS_EIO;
	}
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ret;
}

/* "IP" and "proto:IP:PORT" of a peer address. */
static void
peer_name(const struct sockaddr_storage *ss, const char *proto, char *ip,
    size_t iplen, char *peer, size_t peerlen)
{
	unsigned port = 0;

	ip[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
		port = ntohs(a->sin_port);
		snprintf(peer, peerlen, "%s:%s:%u", proto, ip, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
		port = ntohs(a->sin6_port);
		snprintf(peer, peerlen, "%s:[%s]:%u", proto, ip, port);
	} else {
		snprintf(ip, iplen, "unknown");
		snprintf(peer, peerlen, "%s:unknown", proto);
	}
}

syslog_in_t *
syslog_open(const char *udp_addr, const char *tcp_addr, journal_t *j,
    struct counter *c, size_t nc)
{
	syslog_in_t *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->j = j;
	s->c = c;
	s->nc = nc;
	s->udp_fd = s->tcp_fd = -1;
	for (size_t i = 0; i < MAX_SYSLOG_CONNS; i++)
		s->conns[i].fd = -1;
	s->c_received = counter_ref(s, "collector.syslog_received");
	s->c_malformed = counter_ref(s, "collector.syslog_refused_malformed");
	s->c_truncated = counter_ref(s, "collector.syslog_truncated");
	s->c_noheader = counter_ref(s, "collector.syslog_noheader");
	s->c_conn_refused = counter_ref(s,
	    "collector.syslog_connections_refused");
	s->c_dropped_full = counter_ref(s, "collector.syslog_dropped_full");
	s->c_journaled = counter_ref(s, "collector.events_journaled");
	s->c_evicted = counter_ref(s, "collector.syslog_connections_evicted");
	s->c_idle_closed = counter_ref(s,
	    "collector.syslog_connections_idle_closed");
	s->c_accept_failed = counter_ref(s, "collector.syslog_accept_failed");
	s->c_udp_kdrops = counter_ref(s, "collector.syslog_udp_dropped_kernel");
	s->c_udp_rcvbuf = counter_ref(s, "collector.syslog_udp_rcvbuf_bytes");
	if ((s->rbuf = malloc(MAX_LINE_BYTES + 1)) == NULL)
		goto fail;
	if (udp_addr && udp_addr[0] &&
	    (s->udp_fd = listen_on(udp_addr, SOCK_DGRAM)) < 0)
		goto fail;
	if (tcp_addr && tcp_addr[0] &&
	    (s->tcp_fd = listen_on(tcp_addr, SOCK_STREAM)) < 0)
		goto fail;
	if (s->udp_fd >= 0) {
		int want = SYSLOG_UDP_RCVBUF, one = 1, got = 0;
		socklen_t gl = sizeof(got);

		if (setsockopt(s->udp_fd, SOL_SOCKET, SO_RCVBUFFORCE, &want,
		    sizeof(want)) != 0)
			(void)setsockopt(s->udp_fd, SOL_SOCKET, SO_RCVBUF,
			    &want, sizeof(want));
		if (getsockopt(s->udp_fd, SOL_SOCKET, SO_RCVBUF, &got,
		    &gl) == 0 && got > 0)
			*s->c_udp_rcvbuf = (uint64_t)got;
		if (setsockopt(s->udp_fd, SOL_SOCKET, SO_RXQ_OVFL, &one,
		    sizeof(one)) != 0)
			log_warn("syslog: SO_RXQ_OVFL: %s: datagrams the "
			    "kernel drops are counted once a second only",
			    strerror(errno));
		log_info("syslog: listening on udp %s (receive buffer %d "
		    "bytes)", udp_addr, got);
	}
	if (s->tcp_fd >= 0)
		log_info("syslog: listening on tcp %s", tcp_addr);
	return s;
fail:
	syslog_free(&s);
	return NULL;
}

static void
conn_close(struct sconn *cn)
{
	if (cn->fd >= 0)
		close(cn->fd);
	cn->fd = -1;
	free(cn->buf);
	cn->buf = NULL;
	cn->len = cn->skip = 0;
	cn->last_us = 0;
}

static void
pending_clear(syslog_in_t *s)
{
	for (size_t i = 0; i < s->npend; i++) {
		free(s->pmem[i]);
		s->pmem[i] = NULL;
	}
	s->npend = 0;
	s->pend_bytes = 0;
}

void
syslog_free(syslog_in_t **sp)
{
	syslog_in_t *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	if (s->npend > 0)
		(void)syslog_flush(s, 1);
	if (s->npend > 0)
		log_err("syslog: %zu messages not journaled at shutdown",
		    s->npend);
	pending_clear(s);
	for (size_t i = 0; i < MAX_SYSLOG_CONNS; i++)
		conn_close(&s->conns[i]);
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	free(s->rbuf);
	free(s);
	*sp = NULL;
}

/* 1 when no more messages can be held. */
static int
pending_full(const syslog_in_t *s)
{
	return s->npend >= MAX_SYSLOG_BATCH ||
	    s->pend_bytes >= MAX_SYSLOG_PENDING_BYTES;
}

/*
 * Queue one message for the journal (copying it).  src is JSRC_SYSLOG_*,
 * ip the sender's address (host when the header names none), peer the file.
 * Returns 0, or TS_EFULL when the queue is full (the caller counts a drop).
 */
static int
syslog_queue(syslog_in_t *s, int src, const char *msg, size_t len,
    int truncated, const char *ip, const char *peer)
{
	struct syslog_hdr h;
	struct jevent *ev;
	char *mem;
	const char *host;
	size_t hl, fl;
	uint16_t flags = 0;

	if (pending_full(s))
		return TS_EFULL;
	if (syslog_header_parse(msg, len, &h) < 0 || h.host == NULL) {
		(*s->c_noheader)++;
		host = ip;
		hl = strlen(ip);
	} else {
		host = h.host;
		hl = h.host_len;
	}
	fl = strlen(peer);
	if (hl > MAX_HOST_BYTES)
		hl = MAX_HOST_BYTES;
	ev = &s->pev[s->npend];
	if ((mem = malloc(hl + fl + len + 1)) == NULL)
		return TS_ENOMEM;
	s->pmem[s->npend] = mem;
	memcpy(mem, host, hl);
	memcpy(mem + hl, peer, fl);
	if (len)
		memcpy(mem + hl + fl, msg, len);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)msg[i] < 0x20 && msg[i] != '\t') {
			flags |= EV_CTRL;
			break;
		}
	if (truncated) {
		flags |= EV_TRUNCATED;
		(*s->c_truncated)++;
	}
	memset(ev, 0, sizeof(*ev));
	ev->source = (uint8_t)src;
	ev->flags = flags;
	ev->recv_us = now_us();
	ev->time_us = ev->recv_us;
	ev->agent = "";
	ev->host = mem;
	ev->host_len = hl;
	ev->file = mem + hl;
	ev->file_len = fl;
	ev->drill = "";
	ev->raw = mem + hl + fl;
	ev->raw_len = len;
	if (s->npend == 0)
		s->first_pend_us = mono_us();
	s->npend++;
	s->pend_bytes += hl + fl + len;
	(*s->c_received)++;
	return 0;
}

int
syslog_flush(syslog_in_t *s, int force)
{
	int err;

	if (s->npend == 0)
		return 0;
	if (!force && !pending_full(s) &&
	    mono_us() - s->first_pend_us < SYSLOG_FLUSH_US)
		return 0;
	*s->c_journaled += s->npend;
	err = journal_append_plain(s->j, s->pev, s->npend, s->c, s->nc);
	if (err != 0) {
		*s->c_journaled -= s->npend;
		s->blocked = 1;
		return err;
	}
	if (s->blocked)
		s->resume = 1;
	s->blocked = 0;
	pending_clear(s);
	return 0;
}

long
syslog_next_flush_ms(syslog_in_t *s)
{
	uint64_t age;

	if (s->npend == 0)
		return -1;
	if (s->blocked)
		return 100;
	age = mono_us() - s->first_pend_us;
	return age >= SYSLOG_FLUSH_US ? 0 :
	    (long)((SYSLOG_FLUSH_US - age + 999) / 1000);
}

size_t
syslog_pollitems(syslog_in_t *s, zmq_pollitem_t *items, size_t max)
{
	size_t n = 0;
	/* Journal full: stop reading TCP (senders feel it); UDP is read and
	 * counted as dropped, since the kernel would drop it uncounted. */
	int tcp_in = !(s->blocked && pending_full(s));
	int listen_in = tcp_in && (s->accept_pause_until == 0 ||
	    mono_us() >= s->accept_pause_until);

	if (s->udp_fd >= 0 && n < max) {
		items[n] = (zmq_pollitem_t){ NULL, s->udp_fd, ZMQ_POLLIN, 0 };
		s->map[n++] = -1;
	}
	if (s->tcp_fd >= 0 && n < max) {
		items[n] = (zmq_pollitem_t){ NULL, s->tcp_fd,
		    (short)(listen_in ? ZMQ_POLLIN : 0), 0 };
		s->map[n++] = -2;
	}
	for (int i = 0; i < MAX_SYSLOG_CONNS && n < max; i++) {
		if (s->conns[i].fd < 0)
			continue;
		items[n] = (zmq_pollitem_t){ NULL, s->conns[i].fd,
		    (short)(tcp_in ? ZMQ_POLLIN : 0), 0 };
		s->map[n++] = i;
	}
	return n;
}

/* The kernel's cumulative count of datagrams it dropped on the UDP socket
 * (a 32-bit counter that wraps): count what is new since last seen. */
static void
udp_drops_update(syslog_in_t *s, uint32_t total)
{
	uint32_t d = total - s->udp_drops_seen;

	if (d == 0 || d >= 0x80000000u)
		return;		/* nothing new, or an older reading */
	*s->c_udp_kdrops += d;
	s->udp_drops_seen = total;
}

static void
udp_read(syslog_in_t *s)
{
	struct sockaddr_storage ss;
	char ip[INET6_ADDRSTRLEN], peer[MAX_PEER_BYTES];
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(sizeof(uint32_t))];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t r;
	size_t len;
	int trunc;

	for (int k = 0; k < MAX_UDP_READS_PER_POLL; k++) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = s->rbuf;
		iov.iov_len = MAX_LINE_BYTES + 1;
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof(ss);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		r = recvmsg(s->udp_fd, &mh, MSG_TRUNC);
		if (r < 0)
			return;		/* EAGAIN, or nothing we can act on */
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm)) {
			uint32_t total;

			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SO_RXQ_OVFL &&
			    cm->cmsg_len >= CMSG_LEN(sizeof(total))) {
				memcpy(&total, CMSG_DATA(cm), sizeof(total));
				udp_drops_update(s, total);
			}
		}
		trunc = (size_t)r > MAX_LINE_BYTES;
		len = trunc ? MAX_LINE_BYTES : (size_t)r;
		/* Many senders end a datagram with a newline or a NUL. */
		while (!trunc && len > 0 && (s->rbuf[len - 1] == '\n' ||
		    s->rbuf[len - 1] == '\r' || s->rbuf[len - 1] == '\0'))
			len--;
		if (len == 0) {
			(*s->c_malformed)++;
			continue;
		}
		if (pending_full(s))
			(void)syslog_flush(s, 1);
		peer_name(&ss, "udp", ip, sizeof(ip), peer, sizeof(peer));
		if (syslog_queue(s, JSRC_SYSLOG_UDP, s->rbuf, len, trunc, ip,
		    peer) != 0)
			(*s->c_dropped_full)++;
	}
}

static void
tcp_accept(syslog_in_t *s)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sconn *cn = NULL, *old_all = NULL, *old_addr = NULL;
	char ip[INET6_ADDRSTRLEN], peer[MAX_PEER_BYTES];
	int fd, same = 0;

	fd = accept(s->tcp_fd, (struct sockaddr *)&ss, &sl);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			(*s->c_accept_failed)++;
			s->accept_pause_until = mono_us() +
			    SYSLOG_ACCEPT_PAUSE_US;
		}
		return;
	}
	s->accept_pause_until = 0;
	peer_name(&ss, "tcp", ip, sizeof(ip), peer, sizeof(peer));
	for (int i = 0; i < MAX_SYSLOG_CONNS; i++) {
		struct sconn *c = &s->conns[i];

		if (c->fd < 0) {
			if (cn == NULL)
				cn = c;
			continue;
		}
		if (old_all == NULL || c->last_us < old_all->last_us)
			old_all = c;
		if (strcmp(c->ip, ip) == 0) {
			same++;
			if (old_addr == NULL || c->last_us < old_addr->last_us)
				old_addr = c;
		}
	}
	if (same >= MAX_SYSLOG_CONNS_PER_ADDR)
		cn = old_addr;
	else if (cn == NULL)
		cn = old_all;
	if (cn != NULL && cn->fd >= 0) {
		log_debug("syslog: %s: evicted (idle %llu ms) for %s",
		    cn->peer, (unsigned long long)((mono_us() - cn->last_us) /
		    1000), peer);
		(*s->c_evicted)++;
		conn_close(cn);
	}
	if (cn == NULL || set_nonblock(fd) != 0 ||
	    (cn->buf = malloc(SYSLOG_CONN_BUF)) == NULL) {
		(*s->c_conn_refused)++;
		close(fd);
		return;
	}
	cn->fd = fd;
	cn->len = cn->skip = 0;
	cn->last_us = mono_us();
	memcpy(cn->ip, ip, sizeof(cn->ip));
	memcpy(cn->peer, peer, sizeof(cn->peer));
}

/* Once a second: close idle connections; read the UDP socket's kernel
 * drop count (SO_MEMINFO), so drops show even when no datagram follows. */
static void
syslog_tick(syslog_in_t *s)
{
	uint64_t now = mono_us();

	if (now - s->last_tick_us < SYSLOG_TICK_US)
		return;
	s->last_tick_us = now;
	for (int i = 0; i < MAX_SYSLOG_CONNS; i++) {
		struct sconn *c = &s->conns[i];

		if (c->fd >= 0 && now - c->last_us >= SYSLOG_IDLE_US) {
			log_debug("syslog: %s: closed after %llu s idle",
			    c->peer, (unsigned long long)(SYSLOG_IDLE_US /
			    1000000));
			(*s->c_idle_closed)++;
			conn_close(c);
		}
	}
	if (s->udp_fd >= 0) {
		uint32_t mi[SK_MEMINFO_VARS];
		socklen_t ml = sizeof(mi);

		if (getsockopt(s->udp_fd, SOL_SOCKET, SO_MEMINFO, mi,
		    &ml) == 0 && ml > SK_MEMINFO_DROPS * sizeof(uint32_t))
			udp_drops_update(s, mi[SK_MEMINFO_DROPS]);
	}
}

/* Frame and queue what the connection's buffer holds.  -1: close it. */
static int
conn_drain(syslog_in_t *s, struct sconn *cn)
{
	struct syslog_frame f;
	size_t off = 0;
	long r;
	int rc = 0;

	while (off < cn->len) {
		if (cn->skip == SYSLOG_SKIP_TO_NEWLINE) {
			const char *lf = memchr(cn->buf + off, '\n',
			    cn->len - off);

			if (lf == NULL) {
				off = cn->len;
				break;
			}
			off = (size_t)(lf - cn->buf) + 1;
			cn->skip = 0;
			continue;
		}
		if (cn->skip > 0) {
			size_t d = cn->len - off < cn->skip ? cn->len - off :
			    cn->skip;

			off += d;
			cn->skip -= d;
			continue;
		}
		if (pending_full(s) && syslog_flush(s, 1) != 0)
			break;		/* keep the bytes; retried later */
		r = syslog_frame_parse(cn->buf + off, cn->len - off, &f);
		if (r < 0) {
			(*s->c_malformed)++;
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		if (f.msg_len > 0 && syslog_queue(s, JSRC_SYSLOG_TCP,
		    cn->buf + off + f.msg_off, f.msg_len, f.truncated, cn->ip,
		    cn->peer) != 0) {
			break;		/* queue full: keep the frame */
		}
		off += (size_t)r;
		cn->skip = f.skip;
	}
	if (off > 0) {
		memmove(cn->buf, cn->buf + off, cn->len - off);
		cn->len -= off;
	}
	return rc;
}

static void
tcp_read(syslog_in_t *s, struct sconn *cn)
{
	ssize_t r;

	if (cn->len >= SYSLOG_CONN_BUF) {
		/* Buffer full of an unparsed frame: only when blocked. */
		(void)conn_drain(s, cn);
		return;
	}
	r = read(cn->fd, cn->buf + cn->len, SYSLOG_CONN_BUF - cn->len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		/* End of stream: a last newline-framed message may lack its
		 * newline; an unfinished octet-counted frame is malformed. */
		if (conn_drain(s, cn) == 0 && cn->len > 0 && cn->skip == 0) {
			if (is_digit(cn->buf[0]))
				(*s->c_malformed)++;
			else if (syslog_queue(s, JSRC_SYSLOG_TCP, cn->buf,
			    cn->len, 0, cn->ip, cn->peer) != 0)
				(*s->c_dropped_full)++;
		}
		conn_close(cn);
		return;
	}
	cn->len += (size_t)r;
	cn->last_us = mono_us();
	if (conn_drain(s, cn) != 0)
		conn_close(cn);
}

void
syslog_handle(syslog_in_t *s, const zmq_pollitem_t *items, size_t n)
{
	syslog_tick(s);
	if (s->resume) {
		/* Frames left in buffers while the journal was full. */
		s->resume = 0;
		for (int i = 0; i < MAX_SYSLOG_CONNS; i++)
			if (s->conns[i].fd >= 0 && s->conns[i].len > 0 &&
			    conn_drain(s, &s->conns[i]) != 0)
				conn_close(&s->conns[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (!(items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
			continue;
		if (s->map[i] == -1)
			udp_read(s);
		else if (s->map[i] == -2)
			tcp_accept(s);
		else if (s->conns[s->map[i]].fd == items[i].fd)
			tcp_read(s, &s->conns[s->map[i]]);
	}
}
