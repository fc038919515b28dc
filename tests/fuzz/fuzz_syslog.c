/*
 * fuzz_syslog.c - libFuzzer target for the syslog parsers: the input is a
 * TCP stream cut into frames (RFC 6587) exactly as a connection does, and
 * every message's header is parsed.  Results must stay inside the input and
 * within the limits; nothing may read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector_int.h"
#include "common/err.h"
#include "common/limits.h"

/* Frames cut from one input (each consumes at least one byte anyway). */
#define MAX_FUZZ_FRAMES	100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_header(const char *msg, size_t len)
{
	struct syslog_hdr h;
	long r = syslog_header_parse(msg, len, &h);

	if (r < -1 || r > (long)len)
		abort();
	if (r < 0)
		return;
	if (h.pri > 191 || (h.format != 3164 && h.format != 5424))
		abort();
	if (h.host != NULL && (h.host < msg || h.host_len == 0 ||
	    h.host_len > MAX_HOST_BYTES ||
	    h.host + h.host_len > msg + len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t off = 0, skip = 0;
	struct syslog_frame f;

	/* The whole input as one datagram. */
	check_header(p, size);
	for (int k = 0; k < MAX_FUZZ_FRAMES && off < size; k++) {
		long r;

		if (skip == SYSLOG_SKIP_TO_NEWLINE) {
			const char *lf = memchr(p + off, '\n', size - off);

			if (lf == NULL)
				break;
			off = (size_t)(lf - p) + 1;
			skip = 0;
			continue;
		}
		if (skip > 0) {
			size_t d = size - off < skip ? size - off : skip;

			off += d;
			skip -= d;
			continue;
		}
		r = syslog_frame_parse(p + off, size - off, &f);
		if (r < 0 || r == 0)
			break;
		if ((size_t)r > size - off || f.msg_len > MAX_LINE_BYTES ||
		    f.msg_off > (size_t)r || f.msg_len > (size_t)r - f.msg_off)
			abort();
		check_header(p + off + f.msg_off, f.msg_len);
		off += (size_t)r;
		skip = f.skip;
	}
	return 0;
}
