/*
 * supervisor.c - what the collector does for tocsind's supervisor: the
 * start-up check of its listeners (so that a port in use stops tocsind
 * before it daemonizes, instead of a collector restarted forever), and the
 * supervisor's notices (a child that keeps crashing) journaled as tocsin's
 * own events.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "collector/collector.h"
#include "collector/collector_int.h"
#include "common/config.h"
#include "common/err.h"
#include "common/util.h"

/* Notices read per call (the rest the next second). */
#define MAX_NOTICES_PER_READ	16

/* Longest child name in a notice. */
#define MAX_NOTICE_NAME		32

static int notice_fd = -1;		/* read end of the pipe, or -1 */
static char notice_buf[SUPERVISOR_NOTICE_MAX];	/* a partial line */
static size_t notice_len;

/* A port found in use is tried again for this long before tocsind gives
 * up: a client's connection may hold it for a moment (its local port). */
#define PREFLIGHT_BUSY_US	(3 * 1000000)
#define PREFLIGHT_RETRY_US	(200 * 1000)

static int preflight_once(const struct server_config *cfg, char *err,
    size_t errlen, int *busy);

int
collector_preflight(const struct server_config *cfg, char *err,
    size_t errlen)
{
	uint64_t start = mono_us();
	int ret, busy;

	for (;;) {
		busy = 0;
		ret = preflight_once(cfg, err, errlen, &busy);
		if (ret == 0 || !busy || mono_us() - start >= PREFLIGHT_BUSY_US)
			return ret;
		{
			struct timespec ts = { 0, PREFLIGHT_RETRY_US * 1000 };

			(void)nanosleep(&ts, NULL);
		}
	}
}

static int
preflight_once(const struct server_config *cfg, char *err, size_t errlen,
    int *busy)
{
	void *ctx = NULL, *sock = NULL;
	int zero = 0, ret = 0;

	if ((ctx = zmq_ctx_new()) == NULL ||
	    (sock = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0) {
		snprintf(err, errlen, "zeromq: %s", zmq_strerror(zmq_errno()));
		ret = TS_EIO;
		goto out;
	}
	if (zmq_bind(sock, cfg->listen) != 0) {
		int e = zmq_errno();

		snprintf(err, errlen, "cannot listen for agents on %s: %s%s",
		    cfg->listen, zmq_strerror(e), e == EADDRINUSE ?
		    " (another program, or another tocsind, has it)" : "");
		*busy = e == EADDRINUSE;
		ret = TS_EIO;
		goto out;
	}
	if (cfg->syslog_udp != NULL && cfg->syslog_udp[0] != '\0' &&
	    (ret = syslog_listen_probe(cfg->syslog_udp, SOCK_DGRAM, err,
	    errlen)) != 0) {
		*busy = ret == TS_EAGAIN;
		goto out;
	}
	if (cfg->syslog_tcp != NULL && cfg->syslog_tcp[0] != '\0' &&
	    (ret = syslog_listen_probe(cfg->syslog_tcp, SOCK_STREAM, err,
	    errlen)) != 0) {
		*busy = ret == TS_EAGAIN;
		goto out;
	}
out:
	if (sock != NULL)
		zmq_close(sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	return ret;
}

void
collector_supervisor_fd(int fd)
{
	notice_fd = fd;
	notice_len = 0;
}

/* One line "crashed NAME COUNT SECONDS REASON" into an internal event;
 * anything else is logged and dropped (it comes from our own parent, but
 * is checked like any input). */
static void
notice_one(internal_t *in, char *line, size_t len)
{
	char name[MAX_NOTICE_NAME + 1], dur[32], *p = line, *end = line + len;
	char *sp;
	uint64_t count, secs;
	size_t n;

	for (size_t i = 0; i < len; i++)	/* printable ASCII only */
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (len < 8 || memcmp(p, "crashed ", 8) != 0)
		goto bad;
	p += 8;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    (n = (size_t)(sp - p)) == 0 || n > MAX_NOTICE_NAME)
		goto bad;
	memcpy(name, p, n);
	name[n] = '\0';
	p = sp + 1;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    parse_u64(p, (size_t)(sp - p), UINT32_MAX, &count) != 0)
		goto bad;
	p = sp + 1;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    parse_u64(p, (size_t)(sp - p), UINT32_MAX, &secs) != 0)
		goto bad;
	p = sp + 1;
	internal_duration(secs * 1000000, dur, sizeof(dur));
	if (internal_add(in, now_us(), "process %s crashed %llu times in %s "
	    "(last: %.*s)", name, (unsigned long long)count, dur,
	    (int)(end - p), p) != 0)
		log_warn("collector: supervisor notice dropped (queue full)");
	return;
bad:
	log_warn("collector: unreadable supervisor notice '%.*s'", (int)len,
	    line);
}

void
supervisor_notices_read(internal_t *in)
{
	char *nl;
	ssize_t r;

	if (notice_fd < 0)
		return;
	for (int k = 0; k < MAX_NOTICES_PER_READ; k++) {
		r = read(notice_fd, notice_buf + notice_len,
		    sizeof(notice_buf) - notice_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;	/* EAGAIN: nothing more; 0: supervisor gone */
		notice_len += (size_t)r;
		while ((nl = memchr(notice_buf, '\n', notice_len)) != NULL) {
			size_t len = (size_t)(nl - notice_buf);

			notice_one(in, notice_buf, len);
			notice_len -= len + 1;
			memmove(notice_buf, nl + 1, notice_len);
		}
		if (notice_len == sizeof(notice_buf)) {
			log_warn("collector: supervisor notice too long; "
			    "dropped");
			notice_len = 0;
		}
	}
}
