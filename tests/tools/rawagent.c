/*
 * rawagent.c - a test client that speaks the agent protocol by hand.
 *
 *   rawagent -e ENDPOINT -s SERVERPUB -p PUB -k SECRET [options]
 *   rawagent -c AGENT.yml [options]        (endpoint and keys from a config)
 *   rawagent --genkey                      (print "PUB SECRET")
 *
 * Options (performed in this order, each followed by a wait for replies):
 *   --hello              send HELLO (epoch from --epoch)
 *   --wait-file PATH     then wait (at most 60 s) until PATH exists, on the
 *                        same connection (e.g. while a test revokes the key)
 *   --raw-hex HEX        send these bytes as one frame
 *   --big BYTES          send a frame of BYTES bytes (a BATCH header, then
 *                        filler)
 *   --batch N            send a BATCH of N events, seqs --from SEQ (1) of
 *                        --epoch E (1), lines "rawagent line SEQ"
 *   --heartbeat          send a HEARTBEAT
 *   --repeat K           send the batch K times (default 1)
 *   --wait-ms N          how long to wait for each reply (default 3000)
 *   --host H             host name in HELLO (default "rawhost")
 *   --drill NAME         HELLO names this drill (replayed events)
 *   --spooled N --spool-full   HEARTBEAT fields (default 0, not full)
 *
 * Prints one line per reply: "WELCOME epoch=E seq=S credit=C",
 * "ACK epoch=E seq=S credit=C", "REFUSE code=N reason=TEXT", or "NO-REPLY"
 * when none came in time; "UNDECODABLE" for a reply that did not decode.
 * Exit 0 (2 on a usage error), so scripts judge by the output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/util.h"
#include "common/wire.h"

/* Largest --big frame, and --raw-hex input. */
#define MAX_BIG_BYTES	(256u * 1024 * 1024)
#define MAX_HEX_BYTES	(1024 * 1024)

struct opts {
	const char	*endpoint, *server_pub, *pub, *sec, *host, *drill;
	uint64_t	 spooled;
	int		 spool_full;
	int		 hello, heartbeat;
	uint64_t	 batch, from, epoch, big, repeat, wait_ms;
	const char	*raw_hex, *wait_file;
};

static void
usage(void)
{
	fprintf(stderr, "usage: rawagent (-e ENDPOINT -s SERVERPUB -p PUB -k "
	    "SECRET | -c AGENT.yml) [--hello] [--raw-hex HEX] [--big BYTES]\n"
	    "  [--batch N [--from SEQ] [--epoch E] [--repeat K]] [--heartbeat]"
	    " [--wait-file PATH]\n  [--wait-ms N] [--host H] [--drill NAME] [--spooled N]"
	    " [--spool-full]\n"
	    "       rawagent --genkey\n");
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

static void
print_reply(const void *buf, size_t len)
{
	struct wire_msg m;
	const char *why;
	char reason[512];

	if (wire_decode(buf, len, &m, &why) != 0) {
		printf("UNDECODABLE %s\n", why ? why : "");
		return;
	}
	switch (m.type) {
	case WIRE_WELCOME:
		printf("WELCOME epoch=%llu seq=%llu credit=%u\n",
		    (unsigned long long)m.epoch, (unsigned long long)m.seq,
		    m.credit);
		break;
	case WIRE_ACK:
		printf("ACK epoch=%llu seq=%llu credit=%u\n",
		    (unsigned long long)m.epoch, (unsigned long long)m.seq,
		    m.credit);
		break;
	case WIRE_REFUSE:
		escape_text(m.reason.p, m.reason.len, reason, sizeof(reason));
		printf("REFUSE code=%u reason=%s\n", m.code, reason);
		break;
	default:
		printf("UNEXPECTED type=%u\n", m.type);
		break;
	}
}

/* Send one frame and print the reply (or NO-REPLY). */
static void
exchange(void *sock, const void *buf, size_t len, uint64_t wait_ms)
{
	zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
	zmq_msg_t m;

	if (zmq_send(sock, buf, len, 0) < 0) {
		printf("SEND-FAILED %s\n", zmq_strerror(zmq_errno()));
		return;
	}
	for (;;) {
		if (zmq_poll(&it, 1, (long)wait_ms) <= 0 ||
		    !(it.revents & ZMQ_POLLIN)) {
			printf("NO-REPLY\n");
			fflush(stdout);
			return;
		}
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, 0) < 0) {
			zmq_msg_close(&m);
			break;
		}
		/* A CONFIG follows every WELCOME (the group's settings, or
		 * none): not the reply to the frame sent next; skipped. */
		if (zmq_msg_size(&m) >= 2 &&
		    ((const unsigned char *)zmq_msg_data(&m))[1] ==
		    WIRE_CONFIG) {
			zmq_msg_close(&m);
			continue;
		}
		print_reply(zmq_msg_data(&m), zmq_msg_size(&m));
		zmq_msg_close(&m);
		break;
	}
	fflush(stdout);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct agent_config ac;
	struct wire_buf w;
	char err[512], line[64];
	void *ctx, *sock;
	int zero = 0, have_cfg = 0;

	memset(&o, 0, sizeof(o));
	memset(&w, 0, sizeof(w));
	memset(&ac, 0, sizeof(ac));
	o.from = 1;
	o.epoch = 1;
	o.repeat = 1;
	o.wait_ms = 3000;
	o.host = "rawhost";
	log_init("rawagent", 1, LOG_LVL_WARN);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--genkey") == 0) {
			char pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES];

			if (keys_generate(pub, sec) != 0)
				return 1;
			printf("%s %s\n", pub, sec);
			return 0;
		} else if (strcmp(a, "-e") == 0 && v) {
			o.endpoint = v; i++;
		} else if (strcmp(a, "-s") == 0 && v) {
			o.server_pub = v; i++;
		} else if (strcmp(a, "-p") == 0 && v) {
			o.pub = v; i++;
		} else if (strcmp(a, "-k") == 0 && v) {
			o.sec = v; i++;
		} else if (strcmp(a, "-c") == 0 && v) {
			if (agent_config_load(v, &ac, err, sizeof(err)) != 0) {
				fprintf(stderr, "rawagent: %s\n", err);
				return 2;
			}
			have_cfg = 1;
			i++;
		} else if (strcmp(a, "--hello") == 0) {
			o.hello = 1;
		} else if (strcmp(a, "--heartbeat") == 0) {
			o.heartbeat = 1;
		} else if (strcmp(a, "--batch") == 0 && v) {
			o.batch = num(v, MAX_BATCH_EVENTS * 16); i++;
		} else if (strcmp(a, "--from") == 0 && v) {
			o.from = num(v, UINT64_MAX / 2); i++;
		} else if (strcmp(a, "--epoch") == 0 && v) {
			o.epoch = num(v, UINT64_MAX); i++;
		} else if (strcmp(a, "--repeat") == 0 && v) {
			o.repeat = num(v, 1000); i++;
		} else if (strcmp(a, "--big") == 0 && v) {
			o.big = num(v, MAX_BIG_BYTES); i++;
		} else if (strcmp(a, "--raw-hex") == 0 && v) {
			o.raw_hex = v; i++;
		} else if (strcmp(a, "--wait-ms") == 0 && v) {
			o.wait_ms = num(v, 600000); i++;
		} else if (strcmp(a, "--wait-file") == 0 && v) {
			o.wait_file = v; i++;
		} else if (strcmp(a, "--host") == 0 && v) {
			o.host = v; i++;
		} else if (strcmp(a, "--drill") == 0 && v) {
			o.drill = v; i++;
		} else if (strcmp(a, "--spooled") == 0 && v) {
			o.spooled = num(v, UINT64_MAX); i++;
		} else if (strcmp(a, "--spool-full") == 0) {
			o.spool_full = 1;
		} else {
			usage();
		}
	}
	if (have_cfg) {
		if (!o.endpoint) o.endpoint = ac.server_endpoint;
		if (!o.server_pub) o.server_pub = ac.server_pub;
		if (!o.pub) o.pub = ac.pub;
		if (!o.sec) o.sec = ac.sec;
	}
	if (!o.endpoint || !o.server_pub || !o.pub || !o.sec ||
	    strlen(o.server_pub) != 40 || strlen(o.pub) != 40 ||
	    strlen(o.sec) != 40)
		usage();

	ctx = zmq_ctx_new();
	sock = zmq_socket(ctx, ZMQ_DEALER);
	if (sock == NULL ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, o.server_pub, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, o.pub, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, o.sec, 40) ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_connect(sock, o.endpoint) != 0) {
		fprintf(stderr, "rawagent: %s\n", zmq_strerror(zmq_errno()));
		return 2;
	}

	if (o.hello) {
		wire_hello_drill(&w, o.epoch, "rawagent", o.host, o.drill);
		exchange(sock, w.data, w.len, o.wait_ms);
	}
	if (o.wait_file) {
		/* Bounded: 600 polls of 100 ms. */
		for (int k = 0; k < 600 && access(o.wait_file, F_OK) != 0; k++)
			zmq_poll(NULL, 0, 100);
	}
	if (o.raw_hex) {
		size_t hl = strlen(o.raw_hex), n = hl / 2;
		unsigned char *b;

		if (hl % 2 || n > MAX_HEX_BYTES || (b = malloc(n + 1)) == NULL)
			usage();
		for (size_t i = 0; i < n; i++) {
			int hi = hexval(o.raw_hex[2 * i]);
			int lo = hexval(o.raw_hex[2 * i + 1]);

			if (hi < 0 || lo < 0)
				usage();
			b[i] = (unsigned char)(hi << 4 | lo);
		}
		exchange(sock, b, n, o.wait_ms);
		free(b);
	}
	if (o.big) {
		unsigned char *b = calloc(1, (size_t)o.big);

		if (b == NULL)
			return 1;
		b[0] = WIRE_VERSION;
		if (o.big > 1)
			b[1] = WIRE_BATCH;
		memset(b + (o.big > 2 ? 2 : o.big), 'B',
		    (size_t)(o.big > 2 ? o.big - 2 : 0));
		exchange(sock, b, (size_t)o.big, o.wait_ms);
		free(b);
	}
	for (uint64_t r = 0; o.batch && r < o.repeat; r++) {
		wire_batch_begin(&w, o.epoch, o.from);
		for (uint64_t i = 0; i < o.batch; i++) {
			int l = snprintf(line, sizeof(line),
			    "rawagent line %llu",
			    (unsigned long long)(o.from + i));
			wire_batch_add(&w, now_us(), 0, "/rawagent/test.log", 18,
			    line, (size_t)l);
		}
		wire_batch_end(&w);
		exchange(sock, w.data, w.len, o.wait_ms);
	}
	if (o.heartbeat) {
		wire_heartbeat(&w, o.epoch, o.spooled, o.batch,
		    o.spool_full ? HB_SPOOL_FULL : 0);
		exchange(sock, w.data, w.len, o.wait_ms);
		/* A heartbeat gets no reply unless it is refused. */
	}
	wire_buf_free(&w);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	if (have_cfg)
		agent_config_free(&ac);
	return 0;
}
