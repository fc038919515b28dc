/*
 * fuzz_xmlscan.c - libFuzzer target for the Event XML fast path
 * (rules/xmlscan.c), differential: every input goes to the Windows event
 * decoder twice, once with the fast path (which hands anything outside
 * its subset to expat) and once with expat alone (TOCSIN_XML_FASTPATH=0),
 * and the two must agree on everything: the return code, every field
 * emitted (name and value, in order), the host, the time, the refusal,
 * the error offset and the dropped and truncated counts.  Any difference
 * aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one decode gave, as text to compare. */
struct out {
	char	*b;
	size_t	 n, cap;
};

static struct field_arena arena;
static struct winevt *fast, *slow;
static struct out o[2];

static void
out_add(struct out *x, const char *s, size_t n)
{
	if (x->n + n + 1 > x->cap) {
		size_t ncap = (x->n + n + 1) * 2;
		char *nb = realloc(x->b, ncap);

		if (nb == NULL)
			abort();
		x->b = nb;
		x->cap = ncap;
	}
	memcpy(x->b + x->n, s, n);
	x->n += n;
}

static int
field_cb(void *arg, const char *name, size_t nl, const char *val, size_t vl)
{
	struct out *x = arg;

	out_add(x, name, nl);
	out_add(x, "=", 1);
	out_add(x, val, vl);
	out_add(x, "\n", 1);
	return 0;
}

static void
run(struct winevt *w, struct out *x, const uint8_t *data, size_t size)
{
	struct winevt_info wi;
	char head[256];
	int rc, n;

	x->n = 0;
	arena.len = 0;
	rc = winevt_decode(w, (const char *)data, size, &arena, field_cb, x,
	    &wi);
	n = snprintf(head, sizeof(head), "rc %d refused %d json %d off %llu "
	    "dropped %zu truncated %zu time %d %llu host %zu\n", rc,
	    wi.refused, wi.json, (unsigned long long)wi.error_offset,
	    wi.dropped, wi.truncated, wi.has_time,
	    (unsigned long long)wi.time_us, wi.computer_len);
	out_add(x, head, (size_t)n);
	if (wi.computer != NULL)
		out_add(x, wi.computer, wi.computer_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (arena.buf == NULL) {
		arena.cap = FIELD_ARENA_BYTES;
		if ((arena.buf = malloc(arena.cap)) == NULL ||
		    setenv("TOCSIN_XML_FASTPATH", "0", 1) != 0 ||
		    winevt_new(&slow) != 0 ||
		    unsetenv("TOCSIN_XML_FASTPATH") != 0 ||
		    winevt_new(&fast) != 0)
			abort();
	}
	run(fast, &o[0], data, size);
	run(slow, &o[1], data, size);
	if (o[0].n != o[1].n || memcmp(o[0].b, o[1].b, o[0].n) != 0) {
		fprintf(stderr, "fast path:\n%.*s\nexpat:\n%.*s\n",
		    (int)o[0].n, o[0].b, (int)o[1].n, o[1].b);
		abort();
	}
	return 0;
}
