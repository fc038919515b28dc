/*
 * manyagents.c - many agents in one process, the way thousands of PCs look
 * to one collector: each with its own enrolled key and CURVE session (one
 * ZeroMQ DEALER socket per agent, all in one context, one poll loop),
 * saying HELLO, sending heartbeats and batches of events within its
 * credit, counting ACKs.
 *
 *   manyagents -d DATADIR -e ENDPOINT [-n AGENTS] [-P PREFIX] [-b EVENTS]
 *              [-i IDLE_S] [-s SEND_S] [-h HEARTBEAT_MS] [-p COLLECTOR_PID]
 *              [-t CONNECT_TIMEOUT_S] [-g GO] [-E] [-S SOURCE_IP]
 *              [-B LOW-HIGH]
 *
 * Phases, each reported on one stdout line:
 *   enrol    AGENTS new key pairs enrolled as PREFIX00000.. in DATADIR:
 *            with -E through keys_agent_enroll (what `tocsin agents add`
 *            does: it reads every enrolled key first, so N enrolments cost
 *            N*N/2 file reads, minutes for 10,000); by default by writing
 *            DATADIR/keys/agents/NAME.pub as keys.h lays it out
 *   connect  every socket connects and says HELLO: "connected C of N in
 *            S s" once every agent has its WELCOME (or the timeout passed),
 *            then "connect times: p10 .. p50 .. p90 .. p99 .. p100 S s",
 *            when the agents had theirs
 *   idle     IDLE_S seconds of heartbeats only (every HEARTBEAT_MS,
 *            staggered); with -p, the collector's CPU (utime + stime from
 *            /proc/PID/stat) over that time and its resident memory after
 *   go       with -g GO, the connect phase waits for the file GO.connect
 *            and the send phase for GO.send (heartbeats going on; at most
 *            CONNECT_TIMEOUT_S each): a script running several manyagents
 *            processes starts them together and measures the collector
 *            itself between the phases
 *   send     SEND_S seconds in which every agent keeps one BATCH of EVENTS
 *            events in flight (a new one on each ACK), heartbeats going on;
 *            then every outstanding batch is waited for: "acked A events in
 *            S s: E events/s".  A is the sum over agents of the highest
 *            acknowledged seq: what the collector must have journaled.
 * -S connects from SOURCE_IP (e.g. 127.0.0.2 to a collector on 127.0.0.1):
 * thousands of connections take thousands of ports, and from another
 * loopback address they never hold a port that a program binding 127.0.0.1
 * (a test picking a free port) wants.  Each agent gets its own source port
 * from -B LOW-HIGH (default 32768-60999, Linux's ephemeral range; one range
 * per process when several run), skipping any port a plain bind finds in
 * use.  The port is named, not left to the kernel: a bind to port 0
 * searches the ports in use on the address for a free one, which made
 * 10,000 connects cost tens of seconds of kernel time in libzmq's I/O
 * thread, ahead of every handshake.
 * Connecting as tocsin-agent does: ZMQ_CONNECT_TIMEOUT 10 s, a new attempt
 * 0.5 s after a failed one, doubling up to 10 s (ZMQ_RECONNECT_IVL,
 * _MAX).  Not ZMQ_IMMEDIATE: the HELLO is queued and leaves when the
 * handshake completes, which is when tocsin-agent sends its own.  Not
 * modelled: tocsin-agent's ZMTP heartbeats (PING every 5 s).
 * One thread drives all agents: epoll over the sockets' ZMQ_FDs, so that a
 * wakeup costs the sockets that have something to read (zmq_poll over
 * 10,000 sockets asks each of them, twice per wakeup).
 * An agent refused NOHELLO (its session evicted) says HELLO again and
 * resends from the WELCOME's mark, as tocsin-agent does (counted).
 *
 * Descriptors: each socket holds two (its mailbox and its TCP connection);
 * the soft limit is raised to fit, and the hard one too when allowed.  Where
 * the hard limit is too low for AGENTS, run several processes with distinct
 * PREFIXes and one GOFILE (tests/bench/agents.sh does).
 * Exit 0 when every agent connected and every batch sent was acknowledged,
 * 1 otherwise (the lines say what happened), 2 on a usage error.
 * Loopback only; every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include "common/err.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

#define MAX_AGENTS		100000
/* Sockets whose signal one epoll_wait returns. */
#define MAX_EVENTS		1024
/* Heartbeats due this close together go out in one pass over the agents
 * (at most 100 passes a second, however many agents). */
#define HB_SLACK_US		10000
/* Longest wait for the last ACKs once sending stops. */
#define DRAIN_TIMEOUT_US	(120ULL * 1000000)

enum { A_HELLO = 0, A_READY = 1 };

struct agent {
	void		*sock;
	int		 state;		/* A_* */
	int		 welcomed;	/* the first WELCOME came */
	uint64_t	 next_seq;	/* next seq to send */
	uint64_t	 acked;		/* highest acknowledged seq */
	uint32_t	 inflight;	/* events of the batch in flight */
	uint64_t	 next_hb_us;	/* mono */
	uint64_t	 sent;		/* events sent (HEARTBEAT field) */
	uint64_t	 welcome_us;	/* mono time of the first WELCOME */
	uint16_t	 sport;		/* source port (-S), else 0 */
};

struct run {
	struct agent	*a;
	int		 ep;		/* epoll over the sockets' ZMQ_FDs */
	size_t		 n, connected;
	uint64_t	 hb_due_us;	/* earliest heartbeat due (mono) */
	uint32_t	 batch;
	uint64_t	 hb_us;
	int		 sending;
	const char	*prefix, *gofile;
	uint64_t	 rehello, refused, send_failed, unexpected;
	struct wire_buf	 w;
	char		 line[128];
};

static void
usage(void)
{
	fprintf(stderr, "usage: manyagents -d DATADIR -e ENDPOINT [-n AGENTS] "
	    "[-P PREFIX] [-b EVENTS]\n  [-i IDLE_S] [-s SEND_S] "
	    "[-h HEARTBEAT_MS] [-p COLLECTOR_PID] [-t CONNECT_TIMEOUT_S]\n"
	    "  [-g GO] [-E] [-S SOURCE_IP] [-B LOW-HIGH]\n");
	exit(2);
}

static uint64_t
num(const char *s, uint64_t max)
{
	uint64_t v;

	if (s == NULL || parse_u64(s, strlen(s), max, &v) != 0)
		usage();
	return v;
}

/* Room for n sockets: two descriptors each, and some spare. */
static int
fd_limit_fit(size_t n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n * 2 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		rl.rlim_max = want;	/* allowed for root only */
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		fprintf(stderr, "manyagents: %zu agents need %llu descriptors, "
		    "the limit is %llu: %s\n", n, (unsigned long long)want,
		    (unsigned long long)rl.rlim_max, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Give every agent a source port on SOURCE_IP from [low, high]: the next
 * one that a plain bind (no SO_REUSEADDR) takes, so that a port held by
 * anything else, even in TIME_WAIT, is skipped.  0, or -1 with a message.
 */
static int
ports_pick(struct agent *a, size_t n, const char *source, unsigned low,
    unsigned high)
{
	struct addrinfo hints, *ai;
	unsigned port = low, skipped = 0;
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((err = getaddrinfo(source, "0", &hints, &ai)) != 0) {
		fprintf(stderr, "manyagents: -S %s: not an IPv4 address: %s\n",
		    source, gai_strerror(err));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		for (;; port++) {
			struct sockaddr_in sin;
			int fd, rc;

			if (port > high) {
				fprintf(stderr, "manyagents: ports %u-%u on %s: "
				    "%zu free (%u in use), %zu agents\n", low,
				    high, source, i, skipped, n);
				freeaddrinfo(ai);
				return -1;
			}
			memcpy(&sin, ai->ai_addr, sizeof(sin));
			sin.sin_port = htons((uint16_t)port);
			if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
				fprintf(stderr, "manyagents: socket: %s\n",
				    strerror(errno));
				freeaddrinfo(ai);
				return -1;
			}
			rc = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
			close(fd);
			if (rc == 0)
				break;
			skipped++;
		}
		a[i].sport = (uint16_t)port++;
	}
	freeaddrinfo(ai);
	return 0;
}

/* The collector's CPU ticks (utime + stime) and resident kB; 0 or -1. */
static int
proc_read(long pid, uint64_t *ticks, uint64_t *rss_kb)
{
	char path[64], buf[4096], *p;
	unsigned long long ut, st;
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	/* Fields after the command name (which may hold spaces): state is
	 * field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return -1;
	*ticks = ut + st;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	*rss_kb = 0;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (sscanf(buf, "VmRSS: %llu", &ut) == 1)
			*rss_kb = ut;
	fclose(f);
	return 0;
}

static void
agent_send(struct run *r, struct agent *a)
{
	if (r->w.failed || zmq_send(a->sock, r->w.data, r->w.len,
	    ZMQ_DONTWAIT) < 0)
		r->send_failed++;
}

static void
agent_hello(struct run *r, struct agent *a, size_t i)
{
	char host[MAX_NAME_BYTES + 1];

	snprintf(host, sizeof(host), "%s%05zu", r->prefix, i);
	wire_hello(&r->w, 1, "manyagents", host);
	a->state = A_HELLO;
	a->inflight = 0;
	agent_send(r, a);
}

static void
agent_batch(struct run *r, struct agent *a, size_t i)
{
	wire_batch_begin(&r->w, 1, a->next_seq);
	for (uint32_t k = 0; k < r->batch; k++) {
		int l = snprintf(r->line, sizeof(r->line), "<86>Dec  7 04:00:00 "
		    "pc%05zu sshd[%u]: Failed password for root from "
		    "192.0.2.%u port %u ssh2", i, 1000 + k,
		    (unsigned)(i % 250) + 1, (unsigned)(a->next_seq + k) % 60000);
		wire_batch_add(&r->w, now_us(), 0, "/var/log/auth.log", 17,
		    r->line, (size_t)l);
	}
	wire_batch_end(&r->w);
	a->inflight = r->batch;
	a->sent += r->batch;
	agent_send(r, a);
}

/* Read and act on the replies waiting on agent i.  Called after every
 * send too: a send may take a reply's signal off ZMQ_FD. */
static void
agent_read(struct run *r, size_t i)
{
	struct agent *a = &r->a[i];
	struct wire_msg m;
	zmq_msg_t msg;
	const char *why;

	/* Until EAGAIN: only then has libzmq taken the signal off the
	 * socket's ZMQ_FD, which is edge-like (a reply left unread would
	 * not wake epoll again). */
	for (;;) {
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, a->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			return;
		}
		if (wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m,
		    &why) != 0) {
			r->unexpected++;
		} else if (m.type == WIRE_WELCOME && a->state == A_HELLO) {
			if (!a->welcomed) {
				a->welcomed = 1;
				a->welcome_us = mono_us();
				r->connected++;
			}
			if (a->next_hb_us < r->hb_due_us)
				r->hb_due_us = a->next_hb_us;
			a->state = A_READY;
			if (m.epoch == 1 && m.seq > a->acked)
				a->acked = m.seq;
			a->next_seq = a->acked + 1;
		} else if (m.type == WIRE_ACK && a->state == A_READY) {
			if (m.epoch == 1 && m.seq > a->acked)
				a->acked = m.seq;
			a->inflight = 0;
		} else if (m.type == WIRE_REFUSE &&
		    m.code == WIRE_REFUSE_NOHELLO) {
			/* Session evicted: HELLO again, resend from the
			 * mark.  Replies to frames sent before it are
			 * dropped by the state check above. */
			if (a->state == A_READY) {
				r->rehello++;
				agent_hello(r, a, i);
			}
		} else if (m.type == WIRE_CONFIG) {
			/* the group's settings after each WELCOME: this tool
			 * collects nothing, so there is nothing to apply */
		} else if (m.type == WIRE_REFUSE) {
			r->refused++;
			if (r->refused <= 5)
				fprintf(stderr, "manyagents: agent %zu refused: "
				    "code %u %.*s\n", i, m.code,
				    (int)m.reason.len, m.reason.p);
			a->inflight = 0;
		} else {
			r->unexpected++;
		}
		zmq_msg_close(&msg);
		if (r->sending && a->state == A_READY && a->inflight == 0) {
			a->next_seq = a->acked + 1;
			agent_batch(r, a, i);
		}
	}
}

/* Send the heartbeats due; the earliest one due next. */
static void
heartbeats(struct run *r, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < r->n; i++) {
		struct agent *a = &r->a[i];

		if (a->state != A_READY)
			continue;
		if (now + HB_SLACK_US >= a->next_hb_us) {
			wire_heartbeat(&r->w, 1, a->inflight, a->sent, 0);
			agent_send(r, a);
			a->next_hb_us = now + r->hb_us;
			agent_read(r, i);
		}
		if (a->next_hb_us < next)
			next = a->next_hb_us;
	}
	r->hb_due_us = next;	/* agent_read lowers it on a WELCOME */
}

/*
 * Wait until the deadline (mono us) or until done() says so: replies read
 * as their sockets signal (epoll over the ZMQ_FDs: the cost of a wakeup is
 * the sockets that have something, not all of them, as with zmq_poll),
 * heartbeats sent when due.  Returns 1 if done() ended it.
 */
static int
loop_until(struct run *r, uint64_t deadline, int (*done)(struct run *))
{
	struct epoll_event ev[MAX_EVENTS];

	for (;;) {
		uint64_t now = mono_us(), next = deadline;
		long wait_ms;
		int rc;

		if (done != NULL && done(r))
			return 1;
		if (now >= deadline)
			return 0;
		if (now >= r->hb_due_us)
			heartbeats(r, now);
		if (r->hb_due_us < next)
			next = r->hb_due_us;
		wait_ms = (long)((next > now ? next - now + 999 : 0) / 1000);
		if (wait_ms > 100)
			wait_ms = 100;
		rc = epoll_wait(r->ep, ev, MAX_EVENTS, (int)wait_ms);
		if (rc < 0 && errno != EINTR) {
			fprintf(stderr, "manyagents: epoll_wait: %s\n",
			    strerror(errno));
			return 0;
		}
		for (int k = 0; k < rc; k++)
			agent_read(r, ev[k].data.u32);
	}
}

static int
u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* How long the agents took from the first connect to their WELCOME: the
 * quantiles say whether they came steadily or in waves (a SYN dropped by
 * a full listen queue is sent again after 1, 3, 7, 15, 31 s). */
static void
connect_times(struct run *r, uint64_t t0)
{
	static const unsigned q[] = { 10, 50, 90, 99, 100 };
	uint64_t *t;
	size_t n = 0;

	if ((t = calloc(r->n, sizeof(*t))) == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->a[i].welcomed)
			t[n++] = r->a[i].welcome_us - t0;
	if (n > 0) {
		qsort(t, n, sizeof(*t), u64_cmp);
		printf("connect times:");
		for (size_t k = 0; k < sizeof(q) / sizeof(q[0]); k++)
			printf(" p%u %.3f", q[k], (double)t[(n - 1) * q[k] /
			    100] / 1e6);
		printf(" s\n");
	}
	free(t);
}

static int
all_connected(struct run *r)
{
	return r->connected == r->n;
}

static int
go_send_exists(struct run *r)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s.send", r->gofile);
	return access(path, F_OK) == 0;
}

/* Wait (bounded) for the file GO.connect, before any socket connects. */
static int
go_connect_wait(const char *go, uint64_t timeout_s)
{
	char path[4096];
	uint64_t end = mono_us() + timeout_s * 1000000;

	snprintf(path, sizeof(path), "%s.connect", go);
	while (access(path, F_OK) != 0) {
		if (mono_us() >= end)
			return -1;
		usleep(20000);
	}
	return 0;
}

/* Enrol without reading the others: the key file keys.h describes,
 * created exclusively (an existing name is an error). */
static int
enrol_write(const char *datadir, const char *name, const char *pub)
{
	char path[4096], line[KEY_Z85_BYTES + 1];
	int fd, len, rc = 0;

	snprintf(path, sizeof(path), "%s/keys/agents", datadir);
	if (mkdir_p(path, 0755) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/keys/agents/%s.pub", datadir, name);
	len = snprintf(line, sizeof(line), "%s\n", pub);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0)
		return -1;
	if (write(fd, line, (size_t)len) != len)
		rc = -1;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

static int
all_acked(struct run *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->a[i].inflight != 0 || r->a[i].state != A_READY)
			return 0;
	return 1;
}

static uint64_t
acked_total(struct run *r)
{
	uint64_t t = 0;

	for (size_t i = 0; i < r->n; i++)
		t += r->a[i].acked;
	return t;
}

int
main(int argc, char **argv)
{
	const char *datadir = NULL, *endpoint = NULL, *source = NULL;
	char connect_to[512];
	char spub[KEY_Z85_BYTES], pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES];
	char name[MAX_NAME_BYTES + 1];
	uint64_t idle_s = 10, send_s = 10, timeout_s = 300, hb_ms = 5000;
	uint64_t t0, t1, ticks0 = 0, ticks1 = 0, rss = 0, a0, a1;
	unsigned plow = 32768, phigh = 60999;
	char junk;
	long pid = 0;
	int opt, zero = 0, ok = 1, drained, via_cli = 0;
	/* tocsin-agent's: a connect waits at most 10 s, a new attempt comes
	 * 0.5 s after a failed one, doubling up to 10 s */
	int conn_ms = 10000, reconn_ms = 500, reconn_max_ms = 10000;
	struct run r;
	void *ctx;

	memset(&r, 0, sizeof(r));
	r.n = 10000;
	r.batch = 5;
	r.prefix = "pc";
	log_init("manyagents", 1, LOG_LVL_WARN);
	while ((opt = getopt(argc, argv, "d:e:n:P:b:i:s:h:p:t:g:ES:B:")) != -1) {
		switch (opt) {
		case 'd': datadir = optarg; break;
		case 'e': endpoint = optarg; break;
		case 'n': r.n = (size_t)num(optarg, MAX_AGENTS); break;
		case 'P': r.prefix = optarg; break;
		case 'g': r.gofile = optarg; break;
		case 'E': via_cli = 1; break;
		case 'S': source = optarg; break;
		case 'B':
			if (sscanf(optarg, "%u-%u%c", &plow, &phigh, &junk) != 2)
				usage();
			break;
		case 'b': r.batch = (uint32_t)num(optarg, MAX_BATCH_EVENTS); break;
		case 'i': idle_s = num(optarg, 3600); break;
		case 's': send_s = num(optarg, 3600); break;
		case 'h': hb_ms = num(optarg, 600000); break;
		case 'p': pid = (long)num(optarg, 1u << 30); break;
		case 't': timeout_s = num(optarg, 3600); break;
		default: usage();
		}
	}
	if (endpoint == NULL || strlen(endpoint) >= sizeof(connect_to) - 64 ||
	    (source != NULL && (strncmp(endpoint, "tcp://", 6) != 0 ||
	    strlen(source) > 46)) || plow == 0 || plow > phigh ||
	    phigh > 65535)
		usage();
	if (datadir == NULL || endpoint == NULL || r.n == 0 || r.batch == 0 ||
	    hb_ms == 0 || strlen(r.prefix) > 16)
		usage();
	r.hb_us = hb_ms * 1000;
	if (fd_limit_fit(r.n) != 0)
		return 1;
	if (keys_server_load_or_create(datadir, spub, NULL) != 0) {
		fprintf(stderr, "manyagents: no server key in %s\n", datadir);
		return 1;
	}
	r.a = calloc(r.n, sizeof(*r.a));
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.a == NULL || r.ep < 0)
		return 1;
	if (source != NULL && ports_pick(r.a, r.n, source, plow, phigh) != 0)
		return 1;

	/* enrol */
	ctx = zmq_ctx_new();
	if (ctx == NULL || zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)r.n + 16)) {
		fprintf(stderr, "manyagents: context: %s\n",
		    zmq_strerror(zmq_errno()));
		return 1;
	}
	t0 = mono_us();
	for (size_t i = 0; i < r.n; i++) {
		struct agent *a = &r.a[i];
		size_t fdlen;
		int err, fd;

		snprintf(name, sizeof(name), "%s%05zu", r.prefix, i);
		if (keys_generate(pub, sec) != 0 || (via_cli ?
		    (err = keys_agent_enroll(datadir, name, pub)) != 0 :
		    enrol_write(datadir, name, pub) != 0)) {
			fprintf(stderr, "manyagents: cannot enrol %s\n", name);
			return 1;
		}
		a->sock = zmq_socket(ctx, ZMQ_DEALER);
		if (a->sock == NULL ||
		    zmq_setsockopt(a->sock, ZMQ_CURVE_SERVERKEY, spub, 40) ||
		    zmq_setsockopt(a->sock, ZMQ_CURVE_PUBLICKEY, pub, 40) ||
		    zmq_setsockopt(a->sock, ZMQ_CURVE_SECRETKEY, sec, 40) ||
		    zmq_setsockopt(a->sock, ZMQ_LINGER, &zero, sizeof(zero)) ||
		    zmq_setsockopt(a->sock, ZMQ_CONNECT_TIMEOUT, &conn_ms,
		    sizeof(conn_ms)) ||
		    zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL, &reconn_ms,
		    sizeof(reconn_ms)) ||
		    zmq_setsockopt(a->sock, ZMQ_RECONNECT_IVL_MAX, &reconn_max_ms,
		    sizeof(reconn_max_ms))) {
			fprintf(stderr, "manyagents: socket %zu: %s\n", i,
			    zmq_strerror(zmq_errno()));
			return 1;
		}
		fdlen = sizeof(fd);
		if (zmq_getsockopt(a->sock, ZMQ_FD, &fd, &fdlen) != 0 ||
		    epoll_ctl(r.ep, EPOLL_CTL_ADD, fd, &(struct epoll_event){
		    .events = EPOLLIN, .data.u32 = (uint32_t)i }) != 0) {
			fprintf(stderr, "manyagents: socket %zu: epoll: %s\n",
			    i, strerror(errno));
			return 1;
		}
	}
	t1 = mono_us();
	printf("enrolled %zu agents in %.3f s\n", r.n, (double)(t1 - t0) / 1e6);
	fflush(stdout);

	/* connect: every socket connects and says HELLO at once */
	if (r.gofile != NULL && go_connect_wait(r.gofile, timeout_s) != 0) {
		fprintf(stderr, "manyagents: %s.connect did not appear\n",
		    r.gofile);
		return 1;
	}
	t0 = mono_us();
	for (size_t i = 0; i < r.n; i++) {
		if (source != NULL)
			snprintf(connect_to, sizeof(connect_to),
			    "tcp://%s:%u;%s", source, (unsigned)r.a[i].sport,
			    endpoint + 6);
		else
			snprintf(connect_to, sizeof(connect_to), "%s", endpoint);
		if (zmq_connect(r.a[i].sock, connect_to) != 0) {
			fprintf(stderr, "manyagents: connect %zu: %s\n", i,
			    zmq_strerror(zmq_errno()));
			return 1;
		}
		agent_hello(&r, &r.a[i], i);
		agent_read(&r, i);
		r.a[i].next_hb_us = t0 + r.hb_us * (i + 1) / r.n;
	}
	loop_until(&r, t0 + timeout_s * 1000000, all_connected);
	t1 = mono_us();
	printf("connected %zu of %zu in %.3f s\n", r.connected, r.n,
	    (double)(t1 - t0) / 1e6);
	connect_times(&r, t0);
	fflush(stdout);
	if (r.connected != r.n) {
		ok = 0;
		idle_s = send_s = 0;	/* nothing to measure */
	}

	/* idle: heartbeats only */
	if (idle_s > 0) {
		if (pid > 0 && proc_read(pid, &ticks0, &rss) != 0)
			pid = 0;
		t0 = mono_us();
		loop_until(&r, t0 + idle_s * 1000000, NULL);
		t1 = mono_us();
		if (pid > 0 && proc_read(pid, &ticks1, &rss) == 0)
			printf("idle %.1f s: collector cpu %.1f %% rss %llu kB\n",
			    (double)(t1 - t0) / 1e6, 100.0 *
			    (double)(ticks1 - ticks0) / (double)sysconf(_SC_CLK_TCK) /
			    ((double)(t1 - t0) / 1e6), (unsigned long long)rss);
		else
			printf("idle %.1f s\n", (double)(t1 - t0) / 1e6);
		fflush(stdout);
	}

	if (ok && r.gofile != NULL && !loop_until(&r, mono_us() + timeout_s * 1000000,
	    go_send_exists)) {
		fprintf(stderr, "manyagents: %s.send did not appear\n",
		    r.gofile);
		ok = 0;
	}

	/* send: one batch in flight per agent, a new one on each ACK */
	if (send_s > 0) {
		a0 = acked_total(&r);
		r.sending = 1;
		t0 = mono_us();
		for (size_t i = 0; i < r.n; i++)
			if (r.a[i].state == A_READY && r.a[i].inflight == 0) {
				agent_batch(&r, &r.a[i], i);
				agent_read(&r, i);
			}
		loop_until(&r, t0 + send_s * 1000000, NULL);
		r.sending = 0;
		drained = loop_until(&r, mono_us() + DRAIN_TIMEOUT_US, all_acked);
		t1 = mono_us();
		a1 = acked_total(&r);
		printf("acked %llu events in %.3f s: %.0f events/s\n",
		    (unsigned long long)(a1 - a0), (double)(t1 - t0) / 1e6,
		    (double)(a1 - a0) / ((double)(t1 - t0) / 1e6));
		if (!drained)
			ok = 0;
	}
	printf("total acked %llu; rehello %llu refused %llu send_failed %llu "
	    "unexpected %llu\n", (unsigned long long)acked_total(&r),
	    (unsigned long long)r.rehello, (unsigned long long)r.refused,
	    (unsigned long long)r.send_failed, (unsigned long long)r.unexpected);
	fflush(stdout);
	for (size_t i = 0; i < r.n; i++)
		zmq_close(r.a[i].sock);
	zmq_ctx_term(ctx);
	wire_buf_free(&r.w);
	free(r.a);
	close(r.ep);
	return ok && r.refused == 0 ? 0 : 1;
}
