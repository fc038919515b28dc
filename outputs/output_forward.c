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
 * TLS (RFC 5425): the TCP framing inside a GnuTLS session.  The upstream's
 * certificate is verified by default (against tls_ca, or the system's
 * trust store) for tls_server_name (default: the address's host); a
 * failed verification fails the connection like a refused one, logged
 * with the reason.  tls_verify: false turns that off, with a warning at
 * every connection.
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

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "outputs/outputs_int.h"

struct forward {
	int	 fd;
	int	 udp;
	gnutls_session_t tls;			/* NULL: plain TCP or UDP */
	gnutls_certificate_credentials_t cred;
	int	 tls_up;			/* handshake done */
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
	if (f->tls != NULL) {
		if (f->tls_up)	/* bounded by SO_SNDTIMEO */
			(void)gnutls_bye(f->tls, GNUTLS_SHUT_WR);
		gnutls_deinit(f->tls);
	}
	if (f->cred != NULL)
		gnutls_certificate_free_credentials(f->cred);
	if (f->fd >= 0)
		close(f->fd);
	free(f);
	*impl = NULL;
}

/* 1 if host is a numeric IPv4 or IPv6 address (no SNI for those). */
static int host_is_ip(const char *host)
{
	unsigned char b[16];

	return inet_pton(AF_INET, host, b) == 1 ||
	    inet_pton(AF_INET6, host, b) == 1;
}

/*
 * The TLS handshake on f->fd, bounded by the output's timeout, verifying
 * the upstream's certificate for name unless tls_verify is off.  0, or
 * TS_EIO (logged with the reason) with f ready for forward_close.
 */
static int tls_start(struct forward *f, const struct output_config *cfg,
    const char *host)
{
	const char *name = cfg->tls_server_name ? cfg->tls_server_name : host;
	int rc;

	if ((rc = gnutls_certificate_allocate_credentials(&f->cred)) < 0)
		goto fail;
	if (cfg->tls_ca != NULL)
		rc = gnutls_certificate_set_x509_trust_file(f->cred,
		    cfg->tls_ca, GNUTLS_X509_FMT_PEM);
	else
		rc = gnutls_certificate_set_x509_system_trust(f->cred);
	if (rc <= 0) {
		log_warn("output %s: no trusted certificate in %s%s%s",
		    cfg->name, cfg->tls_ca ? cfg->tls_ca :
		    "the system's trust store", rc < 0 ? ": " : "",
		    rc < 0 ? gnutls_strerror(rc) : "");
		return TS_EIO;
	}
	if ((rc = gnutls_init(&f->tls, GNUTLS_CLIENT)) < 0 ||
	    (rc = gnutls_set_default_priority(f->tls)) < 0 ||
	    (rc = gnutls_credentials_set(f->tls, GNUTLS_CRD_CERTIFICATE,
	    f->cred)) < 0)
		goto fail;
	if (!host_is_ip(name) && (rc = gnutls_server_name_set(f->tls,
	    GNUTLS_NAME_DNS, name, strlen(name))) < 0)
		goto fail;
	if (cfg->tls_verify)
		gnutls_session_set_verify_cert(f->tls, name, 0);
	else
		log_warn("output %s: tls_verify is off: the certificate of %s "
		    "is NOT checked (anyone on the path can read and change "
		    "what is forwarded)", cfg->name, cfg->address);
	gnutls_transport_set_int(f->tls, f->fd);
	gnutls_handshake_set_timeout(f->tls,
	    (unsigned)(cfg->timeout_us / 1000));
	do {
		rc = gnutls_handshake(f->tls);
	} while (rc < 0 && !gnutls_error_is_fatal(rc));
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t why = { NULL, 0 };
		unsigned status = gnutls_session_get_verify_cert_status(f->tls);

		(void)gnutls_certificate_verification_status_print(status,
		    gnutls_certificate_type_get(f->tls), &why, 0);
		log_warn("output %s: certificate of %s refused for \"%s\": %s",
		    cfg->name, cfg->address, name,
		    why.data ? (const char *)why.data : "not trusted");
		gnutls_free(why.data);
		return TS_EIO;
	}
	if (rc < 0)
		goto fail;
	f->tls_up = 1;
	return 0;
fail:
	log_warn("output %s: TLS with %s: %s", cfg->name, cfg->address,
	    gnutls_strerror(rc));
	return TS_EIO;
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
	if (cfg->proto == OUTPUT_PROTO_TLS && tls_start(f, cfg, host) != 0) {
		void *p = f;

		forward_close(&p);
		return TS_EAGAIN;
	}
	log_info("output %s: connected to %s (%s)", cfg->name, cfg->address,
	    f->udp ? "udp" : f->tls ? "tls" : "tcp");
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

/* peer_gone for a TLS session: records the upstream sends (TLS 1.3 session
 * tickets, an alert, close_notify) go through GnuTLS, never around it. */
static int tls_peer_gone(struct forward *f)
{
	struct pollfd p = { f->fd, POLLIN, 0 };
	char buf[512];
	int fl, gone = 0;
	ssize_t n;

	if ((fl = fcntl(f->fd, F_GETFL)) < 0 ||
	    fcntl(f->fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return 1;
	for (int i = 0; i < 64; i++) {
		if (gnutls_record_check_pending(f->tls) == 0 &&
		    (poll(&p, 1, 0) != 1 || !(p.revents & (POLLIN | POLLERR |
		    POLLHUP))))
			break;
		n = gnutls_record_recv(f->tls, buf, sizeof(buf));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			break;
		if (n == 0 || (n < 0 && gnutls_error_is_fatal((int)n))) {
			gone = 1;
			break;
		}
	}
	if (fcntl(f->fd, F_SETFL, fl) != 0)
		gone = 1;
	return gone;
}

static int forward_send(void *impl, const struct output_config *cfg,
    int kind, json_t *rec)
{
	struct forward *f = impl;
	char *msg = NULL;
	const char *p;
	size_t len;
	int rc;

	if (!f->udp && (f->tls ? tls_peer_gone(f) : peer_gone(f->fd))) {
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
		ssize_t w;

		if (f->tls != NULL) {
			w = gnutls_record_send(f->tls, p, len);
			if (w == GNUTLS_E_INTERRUPTED)
				continue;
			if (w <= 0) {
				log_warn("output %s: send to %s: %s",
				    cfg->name, cfg->address, w == 0 ? "closed" :
				    gnutls_strerror((int)w));
				rc = TS_EIO;
				break;
			}
			p += w;
			len -= (size_t)w;
			continue;
		}
		w = send(f->fd, p, len, MSG_NOSIGNAL);
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
