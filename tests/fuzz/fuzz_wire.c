/*
 * fuzz_wire.c - libFuzzer target for the collector's frame decoder: any
 * bytes must decode or be refused with a reason, never read out of bounds;
 * a decoded BATCH iterates exactly count events that re-encode to the same
 * frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg m;
	struct wire_event ev;
	const char *why = NULL;
	size_t off = 0;
	uint32_t n = 0;
	int rc;

	rc = wire_decode(data, size, &m, &why);
	if (rc != 0) {
		if (rc != TS_EINVAL || why == NULL)
			abort();
		return 0;
	}
	if (m.type != WIRE_BATCH)
		return 0;
	{
		struct wire_buf w = { 0 };
		wire_batch_begin(&w, m.epoch, m.seq);
		while (wire_batch_next(&m, &off, &ev)) {
			if (++n > m.count)
				abort();
			wire_batch_add(&w, ev.time_us, ev.flags, ev.file.p,
			    ev.file.len, ev.line.p, ev.line.len);
		}
		wire_batch_end(&w);
		if (n != m.count || w.failed || w.len != size ||
		    memcmp(w.data, data, size) != 0)
			abort();
		wire_buf_free(&w);
	}
	return 0;
}
