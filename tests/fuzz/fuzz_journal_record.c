/*
 * fuzz_journal_record.c - libFuzzer target for the journal's event record
 * decoder: any bytes decode or are refused, never read out of bounds; a
 * decoded record re-encodes to exactly the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector_int.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jevent ev;
	unsigned char *out;
	int rc;

	rc = journal_record_decode(data, size, &ev);
	if (rc != 0) {
		if (rc != TS_EINVAL)
			abort();
		return 0;
	}
	if (journal_record_size(&ev) != size)
		abort();
	if ((out = malloc(size)) == NULL)
		return 0;
	journal_record_encode(&ev, out);
	if (memcmp(out, data, size) != 0)
		abort();
	free(out);
	return 0;
}
