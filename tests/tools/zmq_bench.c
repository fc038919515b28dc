/*
 * zmq_bench.c - the raw ZeroMQ figure beside the delivery benchmark: the
 * same transport as agent -> collector (DEALER -> ROUTER over TCP on
 * loopback, CURVE-encrypted) with BATCH frames of the agent's size and a
 * small ACK frame back for each, a window of frames in flight like the
 * agent's credit, and no journal, spool or files.
 *
 *   zmq_bench [-n EVENTS] [-b BATCH] [-l LINE_BYTES | -f FILE] [-w FRAMES]
 *             [-N NAME] [-c AGENT.yml]
 *
 * Prints "BENCH NAME N events/s" (NAME: zmq_raw_eps).  With -c, no server
 * of its own: it speaks the agent protocol (HELLO, then BATCHes within the
 * credit, counting ACKs) to the real collector named by an enrolled
 * agent's configuration, so the figure is the collector's and the
 * journal's alone, without the agent's files and spool (NAME defaults to
 * collector_journal_eps).  The lines come from
 * FILE (cycled) or are LINE_BYTES of filler; the frames are real BATCH
 * frames built with wire.h.  Loopback only; bounded by EVENTS.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/config.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

/* Distinct lines kept from -f FILE. */
#define MAX_BENCH_LINES		100000
/* Largest -n. */
#define MAX_BENCH_EVENTS	(1ULL << 32)

struct bench {
	void		*ctx;
	char		 endpoint[64];
	char		 spub[41], ssec[41];
	uint64_t	 frames;	/* frames the server answers */
	int		 ready;
};

static void
usage(void)
{
	fprintf(stderr, "usage: zmq_bench [-n EVENTS] [-b BATCH] [-l LINE_BYTES"
	    " | -f FILE] [-w FRAMES] [-N NAME]\n");
	exit(2);
}

static uint64_t
num(const char *s, uint64_t max)
{
	uint64_t v;

	if (s == NULL || parse_u64(s, strlen(s), max, &v) != 0 || v == 0)
		usage();
	return v;
}

/* The ROUTER side: answer each frame with an ACK, like the collector. */
static void *
server_main(void *arg)
{
	struct bench *b = arg;
	struct wire_buf out = { 0 };
	void *sock = zmq_socket(b->ctx, ZMQ_ROUTER);
	int one = 1;

	if (sock == NULL ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, b->ssec, 40) ||
	    zmq_bind(sock, "tcp://127.0.0.1:*") != 0) {
		fprintf(stderr, "zmq_bench: server: %s\n",
		    zmq_strerror(zmq_errno()));
		exit(1);
	}
	size_t len = sizeof(b->endpoint);
	zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, b->endpoint, &len);
	__atomic_store_n(&b->ready, 1, __ATOMIC_RELEASE);
	for (uint64_t i = 0; i < b->frames; i++) {
		zmq_msg_t rid, msg;
		struct wire_msg m;

		zmq_msg_init(&rid);
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&rid, sock, 0) < 0 ||
		    zmq_msg_recv(&msg, sock, 0) < 0)
			break;
		/* Decode like the collector does (validation is part of it). */
		if (wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m,
		    NULL) != 0) {
			fprintf(stderr, "zmq_bench: bad frame\n");
			exit(1);
		}
		wire_ack(&out, m.epoch, m.seq + m.count - 1, DEFAULT_CREDIT_EVENTS);
		zmq_send(sock, zmq_msg_data(&rid), zmq_msg_size(&rid),
		    ZMQ_SNDMORE);
		zmq_send(sock, out.data, out.len, 0);
		zmq_msg_close(&rid);
		zmq_msg_close(&msg);
	}
	wire_buf_free(&out);
	zmq_close(sock);
	return NULL;
}

/*
 * Ship events to a real collector as agent ac (a new epoch, so nothing is a
 * duplicate): HELLO, WELCOME, then batches while the credit allows, until
 * an ACK covers them all.  Returns the elapsed microseconds, 0 on failure.
 */
static uint64_t
run_collector(const struct agent_config *ac, char **lines, size_t *lens,
    size_t nlines, uint64_t events, uint64_t batch)
{
	struct wire_buf w = { 0 };
	struct wire_msg m;
	void *ctx = zmq_ctx_new(), *sock;
	uint64_t epoch = now_us(), next = 1, acked = 0, credit = 0, t0, t1 = 0;
	int zero = 0;
	zmq_pollitem_t it;

	sock = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
	if (sock == NULL ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, ac->server_pub, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, ac->pub, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, ac->sec, 40) ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_connect(sock, ac->server_endpoint) != 0)
		return 0;
	it = (zmq_pollitem_t){ sock, 0, ZMQ_POLLIN, 0 };
	wire_hello(&w, epoch, "zmq_bench", "benchhost");
	if (zmq_send(sock, w.data, w.len, 0) < 0 || zmq_poll(&it, 1, 10000) <= 0)
		return 0;
	t0 = mono_us();
	while (acked < events) {
		zmq_msg_t msg;

		if (zmq_poll(&it, 1, 30000) <= 0) {
			fprintf(stderr, "zmq_bench: no reply from the collector\n");
			return 0;
		}
		do {
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&msg);
				break;
			}
			if (wire_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &m,
			    NULL) != 0 || m.type == WIRE_REFUSE) {
				fprintf(stderr, "zmq_bench: refused or bad reply\n");
				return 0;
			}
			if (m.type == WIRE_WELCOME)
				credit = m.credit;
			else if (m.type == WIRE_ACK && m.epoch == epoch &&
			    m.seq > acked) {
				acked = m.seq;
				credit = m.credit;
			}
			zmq_msg_close(&msg);
		} while (1);
		/* Send what the credit allows (events beyond the ACK). */
		while (next <= events && next - 1 - acked < credit) {
			uint64_t n = events - next + 1 < batch ?
			    events - next + 1 : batch;

			if (next - 1 + n - acked > credit)
				n = credit - (next - 1 - acked);
			wire_batch_begin(&w, epoch, next);
			for (uint64_t k = 0; k < n; k++) {
				size_t li = (size_t)((next + k) % nlines);

				wire_batch_add(&w, now_us(), 0,
				    "/var/log/auth.log", 17, lines[li], lens[li]);
			}
			wire_batch_end(&w);
			if (w.failed || zmq_send(sock, w.data, w.len, 0) < 0)
				return 0;
			next += n;
		}
	}
	t1 = mono_us();
	zmq_close(sock);
	zmq_ctx_term(ctx);
	wire_buf_free(&w);
	return t1 - t0 > 0 ? t1 - t0 : 1;
}

int
main(int argc, char **argv)
{
	const char *agent_cfg = NULL;
	struct bench b;
	struct wire_buf w = { 0 };
	char **lines = NULL, cpub[41], csec[41];
	size_t nlines = 0, *lens = NULL;
	uint64_t events = 1000000, batch = 512, linelen = 107, window = 8;
	uint64_t sent = 0, acked = 0, inflight = 0, seq = 1, t0, t1;
	const char *file = NULL, *name = "zmq_raw_eps";
	pthread_t th;
	void *sock;
	int zero = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			events = num(argv[++i], MAX_BENCH_EVENTS);
		else if (strcmp(argv[i], "-b") == 0 && i + 1 < argc)
			batch = num(argv[++i], MAX_BATCH_EVENTS);
		else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
			linelen = num(argv[++i], MAX_LINE_BYTES);
		else if (strcmp(argv[i], "-w") == 0 && i + 1 < argc)
			window = num(argv[++i], 1024);
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-N") == 0 && i + 1 < argc)
			name = argv[++i];
		else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			agent_cfg = argv[++i];
		else
			usage();
	}
	if (file != NULL) {
		FILE *fp = fopen(file, "r");
		char *line = NULL;
		size_t cap = 0;
		ssize_t r;

		if (fp == NULL) {
			perror(file);
			return 1;
		}
		lines = calloc(MAX_BENCH_LINES, sizeof(*lines));
		lens = calloc(MAX_BENCH_LINES, sizeof(*lens));
		if (lines == NULL || lens == NULL)
			return 1;
		while (nlines < MAX_BENCH_LINES &&
		    (r = getline(&line, &cap, fp)) > 0) {
			if (line[r - 1] == '\n')
				r--;
			if ((lines[nlines] = malloc((size_t)r + 1)) == NULL)
				return 1;
			memcpy(lines[nlines], line, (size_t)r);
			lens[nlines++] = (size_t)r;
		}
		free(line);
		fclose(fp);
		if (nlines == 0) {
			fprintf(stderr, "zmq_bench: %s is empty\n", file);
			return 1;
		}
	} else {
		lines = calloc(1, sizeof(*lines));
		lens = calloc(1, sizeof(*lens));
		if (lines == NULL || lens == NULL ||
		    (lines[0] = malloc(linelen)) == NULL)
			return 1;
		memset(lines[0], 'x', linelen);
		lens[0] = linelen;
		nlines = 1;
	}

	if (agent_cfg != NULL) {
		struct agent_config ac;
		char err[512];
		uint64_t us;

		if (agent_config_load(agent_cfg, &ac, err, sizeof(err)) != 0) {
			fprintf(stderr, "zmq_bench: %s\n", err);
			return 2;
		}
		us = run_collector(&ac, lines, lens, nlines, events, batch);
		agent_config_free(&ac);
		if (us == 0)
			return 1;
		printf("BENCH %s %llu events/s\n", strcmp(name, "zmq_raw_eps") ?
		    name : "collector_journal_eps",
		    (unsigned long long)(events * 1000000ULL / us));
		for (size_t i = 0; i < nlines; i++)
			free(lines[i]);
		free(lines);
		free(lens);
		return 0;
	}
	memset(&b, 0, sizeof(b));
	b.frames = (events + batch - 1) / batch;
	if ((b.ctx = zmq_ctx_new()) == NULL ||
	    zmq_curve_keypair(b.spub, b.ssec) != 0 ||
	    zmq_curve_keypair(cpub, csec) != 0) {
		fprintf(stderr, "zmq_bench: no CURVE in this libzmq\n");
		return 1;
	}
	if (pthread_create(&th, NULL, server_main, &b) != 0)
		return 1;
	while (!__atomic_load_n(&b.ready, __ATOMIC_ACQUIRE))
		;
	sock = zmq_socket(b.ctx, ZMQ_DEALER);
	if (sock == NULL ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, b.spub, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, cpub, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, csec, 40) ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_connect(sock, b.endpoint) != 0) {
		fprintf(stderr, "zmq_bench: client: %s\n",
		    zmq_strerror(zmq_errno()));
		return 1;
	}
	t0 = mono_us();
	while (acked < b.frames) {
		while (inflight < window && sent < b.frames) {
			uint64_t n = events - (sent * batch) < batch ?
			    events - sent * batch : batch;

			wire_batch_begin(&w, 1, seq);
			for (uint64_t k = 0; k < n; k++) {
				size_t li = (size_t)((seq + k) % nlines);

				wire_batch_add(&w, now_us(), 0, "/var/log/auth.log",
				    17, lines[li], lens[li]);
			}
			wire_batch_end(&w);
			if (w.failed || zmq_send(sock, w.data, w.len, 0) < 0) {
				fprintf(stderr, "zmq_bench: send failed\n");
				return 1;
			}
			seq += n;
			sent++;
			inflight++;
		}
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, 0) < 0)
			return 1;
		zmq_msg_close(&m);
		acked++;
		inflight--;
	}
	t1 = mono_us();
	pthread_join(th, NULL);
	zmq_close(sock);
	zmq_ctx_term(b.ctx);
	printf("BENCH %s %llu events/s\n", name, (unsigned long long)(events *
	    1000000ULL / (t1 - t0 > 0 ? t1 - t0 : 1)));
	wire_buf_free(&w);
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(lens);
	return 0;
}
