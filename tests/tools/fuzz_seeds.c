/*
 * fuzz_seeds.c - writes seed inputs for the fuzz targets of binary formats,
 * made with the encoders themselves so that they follow the format as it
 * is: every wire message type (tests/fuzz/fuzz_wire.c) and journal event
 * records (tests/fuzz/fuzz_journal_record.c).  tests/fuzz/run.sh replays
 * them in make test and gives them to libFuzzer in make fuzz.
 *
 *   fuzz_seeds DIR      writes DIR/fuzz_wire/ and DIR/fuzz_journal_record/
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collector/journal.h"
#include "common/wire.h"

static int
seeds_write(const char *dir, const char *target, const char *name,
    const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	if ((f = fopen(path, "wb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int
seeds_wire_one(const char *dir, const char *name, struct wire_buf *w)
{
	int rc = w->failed ? -1 : seeds_write(dir, "fuzz_wire", name, w->data,
	    w->len);

	wire_buf_free(w);
	memset(w, 0, sizeof(*w));
	return rc;
}

static int
seeds_wire(const char *dir)
{
	static const char *const lines[] = {
		"Nov 27 10:00:00 web01 sshd[812]: Failed password for root "
		    "from 203.0.113.5 port 22 ssh2",
		"{\"EventID\":4625,\"Channel\":\"Security\"}",
		"",
	};
	struct wire_buf w = { 0 };
	int rc = 0;

	wire_hello(&w, 1, "0.1.0", "web01");
	rc |= seeds_wire_one(dir, "hello", &w);
	wire_hello_drill(&w, 2, "0.1.0", "web01", "brute-force");
	rc |= seeds_wire_one(dir, "hello_drill", &w);
	wire_welcome(&w, 1, 42, 256);
	rc |= seeds_wire_one(dir, "welcome", &w);
	wire_ack(&w, 1, 43, 256);
	rc |= seeds_wire_one(dir, "ack", &w);
	wire_heartbeat(&w, 1, 10, 33, 1);
	rc |= seeds_wire_one(dir, "heartbeat", &w);
	wire_refuse(&w, 3, "journal full");
	rc |= seeds_wire_one(dir, "refuse", &w);
	wire_heartbeat_cfg(&w, 1, 10, 33, 0, "0123456789abcdef");
	rc |= seeds_wire_one(dir, "heartbeat_cfg", &w);
	wire_config(&w, "web", "0123456789abcdef", "",
	    "follow:\n  - /var/log/syslog\n", 29);
	rc |= seeds_wire_one(dir, "config", &w);
	wire_config(&w, "web", "", "web.yml:3:1: unknown key", NULL, 0);
	rc |= seeds_wire_one(dir, "config_refused", &w);
	wire_batch_begin(&w, 1, 1);
	wire_batch_end(&w);
	rc |= seeds_wire_one(dir, "batch_empty", &w);
	wire_batch_begin(&w, 1, 7);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		wire_batch_add(&w, 1764237600000000ULL + i, 0,
		    "/var/log/auth.log", strlen("/var/log/auth.log"),
		    lines[i], strlen(lines[i]));
	wire_batch_end(&w);
	rc |= seeds_wire_one(dir, "batch", &w);
	return rc;
}

static int
seeds_journal(const char *dir)
{
	static const char raw[] = "<38>Nov 27 10:00:00 web01 sshd[812]: "
	    "Failed password for root from 203.0.113.5 port 22 ssh2";
	struct jevent ev[3];
	int rc = 0;

	memset(ev, 0, sizeof(ev));
	/* an agent's line */
	ev[0] = (struct jevent){ .jseq = 1, .source = JSRC_AGENT,
	    .recv_us = 1764237600000001ULL, .time_us = 1764237600000000ULL,
	    .epoch = 1, .seq = 7, .agent = "web01", .agent_len = 5,
	    .host = "web01", .host_len = 5, .file = "/var/log/auth.log",
	    .file_len = 17, .drill = "", .raw = raw + 4,
	    .raw_len = sizeof(raw) - 5 };
	/* a syslog datagram */
	ev[1] = (struct jevent){ .jseq = 2, .source = JSRC_SYSLOG_UDP,
	    .recv_us = 1764237600000002ULL, .time_us = 1764237600000000ULL,
	    .agent = "", .host = "web01", .host_len = 5,
	    .file = "udp:127.0.0.1:514", .file_len = 17, .drill = "",
	    .raw = raw, .raw_len = sizeof(raw) - 1 };
	/* a replayed drill line, truncated */
	ev[2] = ev[0];
	ev[2].jseq = 3;
	ev[2].flags = EV_TRUNCATED;
	ev[2].drill = "brute-force";
	ev[2].drill_len = 11;
	for (size_t i = 0; i < 3; i++) {
		size_t len = journal_record_size(&ev[i]);
		unsigned char *buf = malloc(len);
		char name[32];

		if (buf == NULL)
			return -1;
		journal_record_encode(&ev[i], buf);
		snprintf(name, sizeof(name), "record%zu", i + 1);
		rc |= seeds_write(dir, "fuzz_journal_record", name, buf, len);
		free(buf);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	if (seeds_wire(argv[1]) != 0 || seeds_journal(argv[1]) != 0)
		return 1;
	return 0;
}
