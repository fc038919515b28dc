/*
 * output_forward.c - records forwarded to an upstream SOC as syslog
 * (RFC 5424 header; body CEF or JSON) over TCP with RFC 6587 octet
 * counting, or over UDP, one datagram per record.
 *
 * TCP: connected with a bounded time-out; every send is bounded by the
 * same time-out (SO_SNDTIMEO).  Before each record the socket is checked
 * for a peer that closed its end (an upstream that went away): the record
 * is then NOT sent, the connection is dropped and outputs.c retries after
 * its back-off, from the output's cursor.  What TCP accepted into its
 * buffer just before the upstream died unnoticed may still be lost: syslog
 * has no acknowledgement (documented in docs/outputs.md).
 * UDP: datagrams may be lost silently (the protocol's nature); an ICMP
 * "port unreachable" reported on the next send counts as a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "outputs/outputs_int.h"

struct forward {
	int	 fd;
	int	 udp;
};

/* Split "host:port" / "[v6]:port" into host and port strings. */
static int split_hostport(const char *s, char *host, size_t hlen,
    char *port, size_t plen)
{
	const char *colon = strrchr(s, ':');
	size_t n;

	if (colon == NULL)
		return TS_EINVAL;
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= hlen || strlen(colon + 1) >= plen)
		return TS_EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

/* Non-blocking connect bounded by timeout_us, then back to blocking with
 * send/receive time-outs.  0 or TS_EIO. */
static int connect_bounded(int fd, const struct sockaddr *sa, socklen_t len,
    uint64_t timeout_us)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	struct timeval tv = { (time_t)(timeout_us / 1000000),
	    (suseconds_t)(timeout_us % 1000000) };
	int fl = fcntl(fd, F_GETFL), err = 0;
	socklen_t elen = sizeof(err);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return TS_EIO;
	if (connect(fd, sa, len) != 0) {
		if (errno != EINPROGRESS)
			return TS_EIO;
		if (poll(&p, 1, (int)(timeout_us / 1000)) != 1)
			return TS_EIO;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
		    err != 0) {
			errno = err;
			return TS_EIO;
		}
	}
	if (fcntl(fd, F_SETFL, fl) != 0)
		return TS_EIO;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

static void forward_close(void **impl)
{
	struct forward *f = *impl;

	if (f == NULL)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	*impl = NULL;
}

static int forward_open(const struct output_config *cfg, void **impl)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct forward *f;
	char host[256], port[16];
	int rc;

	if (split_hostport(cfg->address, host, sizeof(host), port,
	    sizeof(port)) != 0)
		return TS_EINVAL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return TS_ENOMEM;
	f->fd = -1;
	f->udp = cfg->proto == OUTPUT_PROTO_UDP;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = f->udp ? SOCK_DGRAM : SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warn("output %s: cannot resolve %s: %s", cfg->name,
		    cfg->address, gai_strerror(rc));
		free(f);
		return TS_EIO;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		f->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (f->fd < 0)
			continue;
		if (connect_bounded(f->fd, ai->ai_addr, ai->ai_addrlen,
		    cfg->timeout_us) == 0)
			break;
		close(f->fd);
		f->fd = -1;
	}
	freeaddrinfo(res);
	if (f->fd < 0) {
		log_debug("output %s: cannot connect to %s: %s", cfg->name,
		    cfg->address, strerror(errno));
		free(f);
		return TS_EAGAIN;
	}
	log_info("output %s: connected to %s (%s)", cfg->name, cfg->address,
	    f->udp ? "udp" : "tcp");
	*impl = f;
	return 0;
}

/* Has the peer closed its end (or reset)?  Data it sent is discarded
 * (a syslog receiver sends nothing). */
static int peer_gone(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[512];
	ssize_t n;

	for (int i = 0; i < 64; i++) {
		if (poll(&p, 1, 0) != 1)
			return 0;
		if (p.revents & (POLLERR | POLLHUP))
			return 1;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR;
	}
	return 0;
}

static int forward_send(void *impl, const struct output_config *cfg,
    int kind, json_t *rec)
{
	struct forward *f = impl;
	char *msg = NULL;
	const char *p;
	size_t len;
	int rc;

	if (!f->udp && peer_gone(f->fd)) {
		log_warn("output %s: %s closed the connection", cfg->name,
		    cfg->address);
		return TS_EIO;
	}
	rc = output_format_syslog(kind, rec, cfg->format, !f->udp, &msg,
	    &len);
	if (rc != 0)
		return rc;
	if (f->udp && len > OUTPUT_MAX_UDP_BYTES)
		len = OUTPUT_MAX_UDP_BYTES;
	p = msg;
	while (len > 0) {
		ssize_t w = send(f->fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_warn("output %s: send to %s: %s", cfg->name,
			    cfg->address, strerror(errno));
			rc = TS_EIO;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	free(msg);
	return rc;
}

static int forward_flush(void *impl)
{
	(void)impl;
	return 0;
}

const struct output_ops output_forward_ops = {
	forward_open, forward_send, forward_flush, forward_close
};
