/*
 * test_agent.c - the agent's connection state machine against a scripted
 * collector: agent_run in a thread, a ZeroMQ ROUTER with CURVE on loopback
 * in the test playing the collector frame by frame.
 *
 * Checked: HELLO first; a heartbeat right after WELCOME; batches with
 * consecutive seqs from 1; REFUSE NOHELLO starts a new session; a WELCOME
 * with a mark drops what it covers and resends the rest; an ACK frees the
 * spool and later lines go on from the next seq; a WELCOME that knows a
 * newer epoch makes the agent start a newer one.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <zmq.h>

#include "agents/agent_int.h"
#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "common/wire.h"

/* Longest wait for one frame from the agent. */
#define RECV_TIMEOUT_MS		10000
/* Frames skipped (heartbeats) while waiting for one of a given type. */
#define MAX_SKIP		64

struct fixture {
	char			 dir[256];
	char			 file[300];
	void			*zctx, *router;
	char			 rid[256];
	size_t			 rid_len;
	unsigned char		 frame[70000];
	size_t			 frame_len;
	struct wire_msg		 m;
	struct wire_buf		 wb;
	struct agent_config	 cfg;
	char			*follow[1];
	struct agent_opts	 opts;
	volatile sig_atomic_t	 stop;
	pthread_t		 th;
	int			 rc;
};

static int rm_cb(const char *p, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void *agent_thread(void *arg)
{
	struct fixture *f = arg;

	f->rc = agent_run(&f->cfg, &f->opts);
	return NULL;
}

static void append(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->file, "a");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* Receive the next frame from the agent into f->frame / f->m. */
static void recv_frame(struct fixture *f)
{
	const char *why = "?";
	int n;

	n = zmq_recv(f->router, f->rid, sizeof(f->rid), 0);
	assert_true(n > 0);	/* -1: no frame within RECV_TIMEOUT_MS */
	assert_true((size_t)n <= sizeof(f->rid));
	f->rid_len = (size_t)n;
	n = zmq_recv(f->router, f->frame, sizeof(f->frame), 0);
	assert_true(n > 0);
	assert_true((size_t)n <= sizeof(f->frame));
	f->frame_len = (size_t)n;
	assert_int_equal(wire_decode(f->frame, f->frame_len, &f->m, &why), 0);
}

/* Receive frames until one of type; heartbeats in between are counted in
 * *hb (may be NULL) and skipped. */
static void expect(struct fixture *f, uint8_t type, int *hb)
{
	for (int i = 0; i < MAX_SKIP; i++) {
		recv_frame(f);
		if (f->m.type == type)
			return;
		assert_int_equal(f->m.type, WIRE_HEARTBEAT);
		if (hb != NULL)
			(*hb)++;
	}
	fail_msg("no frame of type %u", (unsigned)type);
}

static void reply(struct fixture *f)
{
	assert_false(f->wb.failed);
	assert_int_equal(zmq_send(f->router, f->rid, f->rid_len, ZMQ_SNDMORE),
	    (int)f->rid_len);
	assert_int_equal(zmq_send(f->router, f->wb.data, f->wb.len, 0),
	    (int)f->wb.len);
}

/* The current BATCH holds count lines starting at first, equal to want[]. */
static void check_batch(struct fixture *f, uint64_t epoch, uint64_t first,
    const char *const *want, uint32_t count)
{
	struct wire_event ev;
	size_t off = 0;

	assert_int_equal(f->m.type, WIRE_BATCH);
	assert_int_equal(f->m.epoch, epoch);
	assert_int_equal(f->m.seq, first);
	assert_int_equal(f->m.count, count);
	for (uint32_t i = 0; i < count; i++) {
		assert_int_equal(wire_batch_next(&f->m, &off, &ev), 1);
		assert_int_equal(ev.line.len, strlen(want[i]));
		assert_memory_equal(ev.line.p, want[i], ev.line.len);
		assert_int_equal(ev.file.len, strlen(f->file));
	}
	assert_int_equal(wire_batch_next(&f->m, &off, &ev), 0);
}

static int setup(void **state)
{
	struct fixture *f;
	const char *tmp = getenv("TMPDIR");
	char spub[41], ssec[41], ep[128];
	size_t eplen = sizeof(ep);
	int one = 1, to = RECV_TIMEOUT_MS, zero = 0;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_agent.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->file, sizeof(f->file), "%s/auth.log", f->dir);
	if (zmq_curve_keypair(spub, ssec) != 0 ||
	    zmq_curve_keypair(f->cfg.pub, f->cfg.sec) != 0)
		return -1;
	memcpy(f->cfg.server_pub, spub, sizeof(spub));
	f->zctx = zmq_ctx_new();
	f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
	if (f->router == NULL ||
	    zmq_setsockopt(f->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(f->router, ZMQ_CURVE_SECRETKEY, ssec, 40) ||
	    zmq_setsockopt(f->router, ZMQ_RCVTIMEO, &to, sizeof(to)) ||
	    zmq_setsockopt(f->router, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_bind(f->router, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0)
		return -1;

	f->cfg.name = "unit";
	f->cfg.host = "unit-host";
	f->cfg.data_dir = f->dir;
	f->cfg.server_endpoint = strdup(ep);
	f->follow[0] = f->file;
	f->cfg.follow = f->follow;
	f->cfg.nfollow = 1;
	f->cfg.from_start = 1;
	f->cfg.batch_max = 512;
	f->cfg.batch_wait_us = 20 * 1000;
	f->cfg.spool_max_bytes = 0;
	f->cfg.heartbeat_us = 3600ULL * 1000000;	/* only early ones */
	f->opts.version = "9.9.9-test";
	f->opts.stop = &f->stop;
	if (f->cfg.server_endpoint == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->th) {
		f->stop = 1;
		pthread_join(f->th, NULL);
	}
	zmq_close(f->router);
	zmq_ctx_term(f->zctx);
	wire_buf_free(&f->wb);
	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f->cfg.server_endpoint);
	free(f);
	return 0;
}

static void test_session(void **state)
{
	static const char *const abc[] = { "line a", "line b", "line c" };
	struct fixture *f = *state;
	uint64_t epoch;
	int hb = 0;

	append(f, "line a\nline b\nline c\n");
	assert_int_equal(pthread_create(&f->th, NULL, agent_thread, f), 0);

	/* HELLO first, with the version and host. */
	recv_frame(f);
	assert_int_equal(f->m.type, WIRE_HELLO);
	epoch = f->m.epoch;
	assert_true(epoch > 0);
	assert_int_equal(f->m.version.len, strlen("9.9.9-test"));
	assert_memory_equal(f->m.version.p, "9.9.9-test", f->m.version.len);
	assert_int_equal(f->m.host.len, strlen("unit-host"));

	/* WELCOME from scratch: a heartbeat at once (the interval is an
	 * hour), and the three lines from seq 1. */
	wire_welcome(&f->wb, 0, 0, 1000);
	reply(f);
	expect(f, WIRE_BATCH, &hb);
	check_batch(f, epoch, 1, abc, 3);
	if (hb == 0) {
		expect(f, WIRE_HEARTBEAT, NULL);
		hb = 1;
	}
	assert_int_equal(hb, 1);

	/* No ACK; the collector lost the session: REFUSE NOHELLO brings a
	 * new HELLO.  Its WELCOME says seq 1 is committed: 2..3 come again. */
	wire_refuse(&f->wb, WIRE_REFUSE_NOHELLO, "who are you");
	reply(f);
	expect(f, WIRE_HELLO, NULL);
	assert_int_equal(f->m.epoch, epoch);
	wire_welcome(&f->wb, epoch, 1, 1000);
	reply(f);
	expect(f, WIRE_BATCH, NULL);
	check_batch(f, epoch, 2, abc + 1, 2);

	/* ACK through 3; a new line goes on with seq 4. */
	wire_ack(&f->wb, epoch, 3, 1000);
	reply(f);
	append(f, "line d\n");
	expect(f, WIRE_BATCH, NULL);
	{
		static const char *const d[] = { "line d" };
		check_batch(f, epoch, 4, d, 1);
	}

	/* The collector knows a newer epoch than ours (our spool was wiped):
	 * the agent starts a newer epoch and says HELLO with it. */
	wire_ack(&f->wb, epoch, 4, 1000);
	reply(f);
	wire_refuse(&f->wb, WIRE_REFUSE_NOHELLO, "again");
	reply(f);
	expect(f, WIRE_HELLO, NULL);
	wire_welcome(&f->wb, epoch + 5, 10, 1000);
	reply(f);
	expect(f, WIRE_HELLO, NULL);
	assert_true(f->m.epoch > epoch + 5);

	f->stop = 1;
	pthread_join(f->th, NULL);
	f->th = 0;
	assert_int_equal(f->rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
	};

	log_init("test_agent", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
