/*
 * blackhole.c - a TCP port on loopback where connections time out.
 *
 *   blackhole
 *
 * Listens on 127.0.0.1, on a port the kernel picks, with a backlog of 0 and never accepts, then
 * fills that backlog with one connection of its own: the kernel drops the
 * SYNs of every later connect, which therefore hangs until the client
 * gives up (a server behind a firewall that drops, seen from the client).
 * Prints "ready PORT" on stdout, then waits to be killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int l, c;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: blackhole\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(l, 0) != 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &salen) != 0) {
		perror("blackhole: listen");
		return 1;
	}
	if ((c = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("blackhole: connect");
		return 1;
	}
	printf("ready %u\n", (unsigned)ntohs(sa.sin_port));
	fflush(stdout);
	for (;;)
		pause();
}
