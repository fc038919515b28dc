/*
 * fuzz_recording.c - libFuzzer target for the drill recording parser
 * (recording_load, cli/cmd_replay.c): each input is written to a temporary
 * file (one fixed name per process, rewritten every iteration) and loaded;
 * a recording that loads is checked (strings present, events in time
 * order), shifted to a new time (which rewrites each raw line's syslog
 * timestamp) and freed.  A refusal must leave a message in err.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[128];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recording	 r;
	char			 err[512];
	FILE			*f;
	int			 rc;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path),
		    "/tmp/tocsin-fuzz-recording-%ld.jsonl", (long)getpid());
		atexit(cleanup);
	}
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	err[0] = '\0';
	rc = recording_load(path, &r, err, sizeof(err));
	if (rc != 0) {
		if (err[0] == '\0')
			abort();
		recording_free(&r);
		return 0;
	}
	for (size_t i = 0; i < r.n; i++) {
		if (r.ev[i].raw == NULL)
			abort();
		if (i > 0 && r.ev[i].time_us < r.ev[i - 1].time_us)
			abort();
	}
	if (recording_shift(&r, 1769774400000000ULL) == 0)
		for (size_t i = 0; i < r.n; i++)
			if (r.ev[i].raw == NULL)
				abort();
	recording_free(&r);
	return 0;
}
