/*
 * fuzz_winevt.c - libFuzzer target for the Windows event decoder (Event
 * XML through expat, and the evtx-tool / Winlogbeat / NXLog JSON forms).
 *
 * Every input goes to winevt_decode twice with one reused decoder (the
 * expat parser is reset between events, as in the engine): it must return
 * 0, 1, TS_EINVAL or TS_ENOMEM, every name and value it emits must be
 * NUL-terminated inside the arena, the Computer it reports must lie in the
 * arena, and no name may exceed MAX_WINEVT_NAME_BYTES + 4 ("win.").
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct field_arena arena;
static struct winevt *dec;
static size_t nitems;

static int
check_field(void *arg, const char *name, size_t nl, const char *val,
    size_t vl)
{
	(void)arg;
	if (name < arena.buf || name >= arena.buf + arena.cap ||
	    val < arena.buf || val + vl >= arena.buf + arena.cap)
		abort();
	if (strlen(name) != nl || val[vl] != '\0' || nl == 0 ||
	    nl > MAX_WINEVT_NAME_BYTES + 4 || vl > MAX_WINEVT_VALUE_BYTES)
		abort();
	if (arena.len > arena.cap || ++nitems > MAX_WINEVT_ITEMS)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct winevt_info wi;

	if (arena.buf == NULL) {
		arena.cap = FIELD_ARENA_BYTES;
		if ((arena.buf = malloc(arena.cap)) == NULL ||
		    winevt_new(&dec) != 0)
			abort();
	}
	for (int pass = 0; pass < 2; pass++) {
		int rc;

		arena.len = 0;
		nitems = 0;
		rc = winevt_decode(dec, (const char *)data, size, &arena,
		    check_field, NULL, &wi);
		if (rc != 0 && rc != 1 && rc != TS_EINVAL && rc != TS_ENOMEM)
			abort();
		if (wi.computer != NULL && (wi.computer < arena.buf ||
		    wi.computer + wi.computer_len > arena.buf + arena.cap))
			abort();
	}
	return 0;
}
