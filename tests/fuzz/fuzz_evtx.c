/*
 * fuzz_evtx.c - libFuzzer target for the .evtx path: the input is written
 * to a temporary file and read with evtx_read (libevtx plus the layout
 * checks of rules/evtx.c), and every record's Event XML goes through the
 * Windows decoder, as `tocsin rules test FILE.evtx` does.  evtx_read must
 * return 0, TS_EINVAL or TS_ENOMEM; each record must be non-empty XML
 * within EVTX_MAX_XML_BYTES.  Seeds: tests/fuzz/seeds/fuzz_evtx (small
 * real files) and any .evtx the corpus holds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "rules/rules.h"
#include "rules/rules_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct field_arena arena;
static struct winevt *dec;

static int
ignore_cb(void *arg, const char *name, size_t nl, const char *val, size_t vl)
{
	(void)arg; (void)name; (void)nl; (void)val; (void)vl;
	return 0;
}

static int
event_cb(void *arg, uint64_t id, uint64_t off, const char *xml, size_t len)
{
	struct winevt_info wi;

	(void)arg; (void)id; (void)off;
	if (len == 0 || len > EVTX_MAX_XML_BYTES)
		abort();
	arena.len = 0;
	(void)winevt_decode(dec, xml, len, &arena, ignore_cb, NULL, &wi);
	return 0;
}

static void
problem_cb(void *arg, uint64_t off, const char *msg)
{
	(void)arg; (void)off;
	if (strlen(msg) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct evtx_sink sink = { event_cb, problem_cb, NULL };
	struct evtx_stats st;
	FILE *f;
	int rc;

	if (arena.buf == NULL) {
		arena.cap = FIELD_ARENA_BYTES;
		if ((arena.buf = malloc(arena.cap)) == NULL ||
		    winevt_new(&dec) != 0)
			abort();
		snprintf(path, sizeof(path), "/tmp/fuzz_evtx.%d", (int)getpid());
	}
	if ((f = fopen(path, "wb")) == NULL)
		return 0;
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	rc = evtx_read(path, &sink, &st);
	if (rc != 0 && rc != TS_EINVAL && rc != TS_ENOMEM)
		abort();
	unlink(path);
	return 0;
}
