/*
 * blackhole.c - a TCP port on loopback where connections time out.
 *
 *   blackhole PORT
 *
 * Listens on 127.0.0.1:PORT with a backlog of 0 and never accepts, then
 * fills that backlog with one connection of its own: the kernel drops the
 * SYNs of every later connect, which therefore hangs until the client
 * gives up (a server behind a firewall that drops, seen from the client).
 * Prints "ready" on stdout, then waits to be killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	uint64_t port;
	int l, c, one = 1;

	if (argc != 2 || parse_u64(argv[1], strlen(argv[1]), 65535, &port) != 0
	    || port == 0) {
		fprintf(stderr, "usage: blackhole PORT\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(l, 0) != 0) {
		perror("blackhole: listen");
		return 1;
	}
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("blackhole: connect");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
