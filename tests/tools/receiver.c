/*
 * receiver.c - test receivers for the outputs: a syslog sink over TCP
 * (RFC 6587 octet counting, or newline framing) or UDP, and a minimal HTTP
 * server that records the body of each POST.  Loopback only, bounded in
 * time and in count.
 *
 *   receiver tcp|udp|http -p PORT -o FILE [-n MAX] [-t SECONDS]
 *            [--status CODE] [--ready PATH]
 *
 * Each message (syslog frame, datagram or POST body) is appended to FILE as
 * one line (line breaks inside it become spaces) and flushed at once.
 * Stops after MAX messages (default unlimited) or SECONDS (default 120),
 * or on SIGTERM.  http answers CODE (default 200) to every request.
 * --ready: create PATH once listening.  Exit 0, 2 on a usage error, 1 when
 * the port cannot be bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_MSG		(1024 * 1024 + 64)
#define MAX_CONNS	16

static volatile sig_atomic_t stop_flag;
static FILE *out;
static long max_msgs = -1, nmsgs;
static int http_status = 200;

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static void record(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputc(p[i] == '\n' || p[i] == '\r' ? ' ' : p[i], out);
	fputc('\n', out);
	fflush(out);
	nmsgs++;
	if (max_msgs >= 0 && nmsgs >= max_msgs)
		stop_flag = 1;
}

struct conn {
	int	 fd;
	char	*buf;
	size_t	 len;
};

/* Consume complete syslog frames from c->buf. */
static void syslog_frames(struct conn *c)
{
	size_t off = 0;

	for (;;) {
		char *p = c->buf + off;
		size_t avail = c->len - off, n = 0, i = 0;
		if (avail == 0)
			break;
		if (p[0] >= '1' && p[0] <= '9') {	/* octet counting */
			while (i < avail && i < 8 && p[i] >= '0' && p[i] <= '9')
				n = n * 10 + (size_t)(p[i++] - '0');
			if (i == avail)
				break;
			if (p[i] != ' ' || n > MAX_MSG) {
				c->len = 0;	/* garbage: drop the buffer */
				return;
			}
			if (avail - i - 1 < n)
				break;
			record(p + i + 1, n);
			off += i + 1 + n;
		} else {				/* newline framing */
			char *nl = memchr(p, '\n', avail);
			if (nl == NULL)
				break;
			record(p, (size_t)(nl - p));
			off += (size_t)(nl - p) + 1;
		}
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

/* A complete HTTP request in c->buf: record its body, answer, return 1. */
static int http_request(struct conn *c)
{
	char *end, *cl;
	size_t hlen, blen = 0;
	char ans[128];

	c->buf[c->len] = '\0';
	if ((end = strstr(c->buf, "\r\n\r\n")) == NULL)
		return 0;
	hlen = (size_t)(end - c->buf) + 4;
	for (cl = c->buf; cl + 17 <= end; cl++) {
		if (strncasecmp(cl, "\r\ncontent-length:", 17) == 0) {
			blen = strtoul(cl + 17, NULL, 10);
			break;
		}
	}
	if (blen > MAX_MSG || c->len < hlen + blen)
		return 0;
	if (strncmp(c->buf, "POST ", 5) == 0)
		record(c->buf + hlen, blen);
	snprintf(ans, sizeof(ans), "HTTP/1.1 %d X\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n", http_status);
	(void)send(c->fd, ans, strlen(ans), MSG_NOSIGNAL);
	return 1;
}

int main(int argc, char **argv)
{
	const char *mode, *file = NULL, *ready = NULL;
	struct sockaddr_in sa;
	struct conn conns[MAX_CONNS];
	struct sigaction sig;
	long port = 0, secs = 120;
	int lfd, udp, http, one = 1;
	time_t deadline;

	if (argc < 2) {
		fprintf(stderr, "usage: receiver tcp|udp|http -p PORT -o FILE "
		    "[-n MAX] [-t SECONDS] [--status CODE] [--ready PATH]\n");
		return 2;
	}
	mode = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-p") == 0)
			port = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-o") == 0)
			file = argv[i + 1];
		else if (strcmp(argv[i], "-n") == 0)
			max_msgs = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-t") == 0)
			secs = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--status") == 0)
			http_status = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--ready") == 0)
			ready = argv[i + 1];
		else {
			fprintf(stderr, "receiver: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	udp = strcmp(mode, "udp") == 0;
	http = strcmp(mode, "http") == 0;
	if ((!udp && !http && strcmp(mode, "tcp") != 0) || file == NULL ||
	    port <= 0 || port > 65535 || secs <= 0 || secs > 3600) {
		fprintf(stderr, "receiver: bad arguments\n");
		return 2;
	}
	if ((out = fopen(file, "a")) == NULL) {
		perror(file);
		return 1;
	}
	memset(&sig, 0, sizeof(sig));
	sig.sa_handler = on_signal;
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    (!udp && listen(lfd, 8) != 0)) {
		perror("receiver: bind");
		return 1;
	}
	if (ready != NULL) {
		FILE *r = fopen(ready, "w");
		if (r != NULL)
			fclose(r);
	}
	for (int i = 0; i < MAX_CONNS; i++) {
		conns[i].fd = -1;
		conns[i].len = 0;
		conns[i].buf = malloc(MAX_MSG + 1);
		if (conns[i].buf == NULL)
			return 1;
	}
	deadline = time(NULL) + secs;
	while (!stop_flag && time(NULL) < deadline) {
		struct pollfd p[MAX_CONNS + 1];
		int np = 0, map[MAX_CONNS + 1];

		p[np].fd = lfd;
		p[np].events = POLLIN;
		map[np++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (conns[i].fd < 0)
				continue;
			p[np].fd = conns[i].fd;
			p[np].events = POLLIN;
			map[np++] = i;
		}
		if (poll(p, (nfds_t)np, 200) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			if (udp) {
				char *b = conns[0].buf;
				ssize_t n = recv(lfd, b, MAX_MSG, 0);
				if (n > 0)
					record(b, (size_t)n);
			} else {
				int fd = accept(lfd, NULL, NULL);
				int slot = -1;
				for (int i = 0; i < MAX_CONNS; i++)
					if (conns[i].fd < 0) { slot = i; break; }
				if (fd >= 0 && slot < 0)
					close(fd);
				else if (fd >= 0) {
					conns[slot].fd = fd;
					conns[slot].len = 0;
				}
			}
		}
		for (int k = 1; k < np; k++) {
			struct conn *c = &conns[map[k]];
			ssize_t n;
			if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = recv(c->fd, c->buf + c->len, MAX_MSG - c->len, 0);
			if (n <= 0) {
				close(c->fd);
				c->fd = -1;
				continue;
			}
			c->len += (size_t)n;
			if (http) {
				if (http_request(c)) {
					close(c->fd);
					c->fd = -1;
				} else if (c->len >= MAX_MSG) {
					close(c->fd);
					c->fd = -1;
				}
			} else {
				syslog_frames(c);
				if (c->len >= MAX_MSG)
					c->len = 0;
			}
		}
	}
	for (int i = 0; i < MAX_CONNS; i++) {
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		free(conns[i].buf);
	}
	close(lfd);
	fclose(out);
	return 0;
}
