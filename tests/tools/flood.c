/*
 * flood.c - a test client that floods a listener, loopback only.
 *
 *   flood tcp HOST PORT N SECONDS   open N TCP connections that send
 *                                   nothing, print "connected K" once they
 *                                   are open, hold them SECONDS (at most
 *                                   600), then close them
 *   flood udp HOST PORT N           send N syslog datagrams
 *                                   ("<13>... flood: datagram K"), print
 *                                   "sent K"
 *
 * HOST must be a numeric loopback address (127.x.y.z or ::1): this tool is
 * for tests on this machine, never for anyone else's.  Exit 0 when every
 * connection or datagram went out, 1 otherwise, 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

/* Connections and datagrams one run may make. */
#define MAX_FLOOD_CONNS		100000
#define MAX_FLOOD_DATAGRAMS	10000000
/* Source ports of the TCP connections: above the kernel's ephemeral range
 * (32768-60999 by default) and the ports tests listen on (lib.sh's
 * free_port: 20000-59999), so that thousands of connections cannot take a
 * port another scenario is about to bind. */
#define FLOOD_PORT_FIRST	61000
#define FLOOD_PORT_LAST		65535

/* Longest hold, and longest wait for one connect. */
#define MAX_HOLD_S		600
#define CONNECT_TIMEOUT_MS	5000

static void
usage(void)
{
	fprintf(stderr, "usage: flood tcp HOST PORT N SECONDS | "
	    "flood udp HOST PORT N   (HOST: loopback)\n");
	exit(2);
}

static long
arg_num(const char *s, long max)
{
	uint64_t v;

	if (parse_u64(s, strlen(s), (uint64_t)max, &v) != 0)
		usage();
	return (long)v;
}

/* Resolve a numeric loopback address; NULL (after a message) otherwise. */
static struct addrinfo *
loopback(const char *host, const char *port, int socktype)
{
	struct addrinfo hints, *ai = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = socktype;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		fprintf(stderr, "flood: %s: not a numeric address\n", host);
		return NULL;
	}
	if (ai->ai_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ai->ai_addr;

		if ((ntohl(a->sin_addr.s_addr) >> 24) == 127)
			return ai;
	} else if (ai->ai_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ai->ai_addr;

		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return ai;
	}
	fprintf(stderr, "flood: %s is not a loopback address\n", host);
	freeaddrinfo(ai);
	return NULL;
}

/* One TCP connection, bounded in time.  The fd, or -1. */
static int
tcp_open(const struct addrinfo *ai)
{
	struct pollfd p;
	int fd, err = 0;
	socklen_t el = sizeof(err);

	static unsigned next_port = FLOOD_PORT_FIRST;
	struct sockaddr_storage src;
	socklen_t srclen;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -1;
	/* a port left in TIME_WAIT by an earlier run may be used again */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 },
	    sizeof(int));
	memset(&src, 0, sizeof(src));
	if (ai->ai_family == AF_INET) {
		struct sockaddr_in *a = (void *)&src;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		srclen = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&src;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		srclen = sizeof(*a);
	}
	for (;;) {
		if (next_port > FLOOD_PORT_LAST)
			goto fail;	/* out of source ports */
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)(void *)&src)->sin_port =
			    htons((uint16_t)next_port);
		else
			((struct sockaddr_in6 *)(void *)&src)->sin6_port =
			    htons((uint16_t)next_port);
		next_port++;
		if (bind(fd, (struct sockaddr *)&src, srclen) == 0)
			break;
		if (errno != EADDRINUSE)
			goto fail;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	p.fd = fd;
	p.events = POLLOUT;
	if (poll(&p, 1, CONNECT_TIMEOUT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int
flood_tcp(const struct addrinfo *ai, long n, long hold)
{
	struct rlimit rl;
	int *fds = calloc((size_t)n, sizeof(*fds));
	long ok = 0;

	if (fds == NULL)
		return 1;
	/* n descriptors and a few: raise the soft limit to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (long i = 0; i < n; i++)
		if ((fds[i] = tcp_open(ai)) >= 0)
			ok++;
	printf("connected %ld\n", ok);
	fflush(stdout);
	/* Hold them (a signal ends the process and closes them too). */
	for (long s = 0; s < hold; s++)
		sleep(1);
	for (long i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return ok == n ? 0 : 1;
}

static int
flood_udp(const struct addrinfo *ai, long n)
{
	char msg[128];
	long sent = 0;
	int fd;

	if ((fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 1;
	for (long i = 1; i <= n; i++) {
		int l = snprintf(msg, sizeof(msg),
		    "<13>Jan 30 12:00:00 flood flood: datagram %ld", i);

		for (int tries = 0; tries < 1000; tries++) {
			if (sendto(fd, msg, (size_t)l, 0, ai->ai_addr,
			    ai->ai_addrlen) == l) {
				sent++;
				break;
			}
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != EINTR)
				break;
			usleep(1000);
		}
	}
	close(fd);
	printf("sent %ld\n", sent);
	return sent == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct addrinfo *ai;
	int rc;

	if (argc < 5)
		usage();
	if (strcmp(argv[1], "tcp") == 0 && argc == 6) {
		long n = arg_num(argv[4], MAX_FLOOD_CONNS);
		long hold = arg_num(argv[5], MAX_HOLD_S);

		if ((ai = loopback(argv[2], argv[3], SOCK_STREAM)) == NULL)
			return 2;
		rc = flood_tcp(ai, n, hold);
	} else if (strcmp(argv[1], "udp") == 0 && argc == 5) {
		long n = arg_num(argv[4], MAX_FLOOD_DATAGRAMS);

		if ((ai = loopback(argv[2], argv[3], SOCK_DGRAM)) == NULL)
			return 2;
		rc = flood_udp(ai, n);
	} else {
		usage();
		return 2;
	}
	freeaddrinfo(ai);
	return rc;
}
