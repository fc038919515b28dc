/*
 * fuzz_web.c - libFuzzer target for the web log decoders: URL decoding,
 * the W3C decoder with its per-source #Fields: state, and the shipped
 * access / error / proxy / W3C decoders of rules/default through
 * rules_eval, with a decoder's `time:` and `urldecode:` applied.
 *
 * The input is split into lines, all from one source, so a #Fields: line
 * sets the columns of the lines after it (and may change between them).
 * Checks: URL decoding never grows a value and counts at most one bad
 * escape per '%'; every field the W3C decoder emits is NUL-terminated in
 * the arena and the arena never overflows; rules_eval returns 0 with
 * every field inside its buffers' reach (strlen-checked names).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "rules/rules_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ruleset_t *rs;
static rules_ctx_t *ctx;
static struct w3c *w3c;
static struct field_arena arena;
static int tried;

static void
load_once(void)
{
	static char dir[1024];
	const char *top = getenv("TOCSIN_TOP");
	const char *paths[1];
	struct rules_diags dl = { 0 };

	tried = 1;
	snprintf(dir, sizeof(dir), "%s/rules/default",
	    top != NULL && *top != '\0' ? top : ".");
	paths[0] = dir;
	if (ruleset_load(paths, 1, &rs, &dl) == 0)
		ctx = rules_ctx_new(rs);
	rules_diags_free(&dl);
	arena.cap = FIELD_ARENA_BYTES;
	arena.buf = malloc(arena.cap);
	if (w3c_new(&w3c) != 0)
		w3c = NULL;
}

static int
check_field(void *arg, const char *name, size_t nl, const char *val,
    size_t vl)
{
	(void)arg;
	if (strlen(name) != nl || nl == 0 || val[vl] != '\0')
		abort();
	if (val < arena.buf || val + vl >= arena.buf + arena.cap ||
	    arena.len > arena.cap)
		abort();
	return 0;
}

static void
check_url(const char *buf, size_t size)
{
	char *out = malloc(size ? size : 1);
	size_t pct = 0;

	if (out == NULL)
		return;
	for (size_t i = 0; i < size; i++)
		pct += buf[i] == '%';
	for (int plus = 0; plus < 2; plus++) {
		size_t bad = 0, n = web_url_decode(buf, size, out, plus, &bad);

		if (n > size || bad > pct)
			abort();
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact size: ASan sees overreads */
	char *buf = malloc(size ? size : 1);
	size_t off = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (!tried)
		load_once();
	check_url(buf, size);
	while (off < size) {
		const char *line = buf + off, *nl;
		size_t len;

		nl = memchr(line, '\n', size - off);
		len = nl != NULL ? (size_t)(nl - line) : size - off;
		off += len + (nl != NULL);
		if (w3c != NULL && arena.buf != NULL) {
			struct w3c_info wi;

			arena.len = 0;
			(void)w3c_decode(w3c, "fuzz", 4, line, len, &arena,
			    check_field, NULL, &wi);
			if (arena.len > arena.cap)
				abort();
		}
		if (ctx != NULL) {
			struct rules_event ev = { .raw = line, .raw_len = len,
			    .host = "fuzz", .host_len = 4, .file = "fuzz.log",
			    .file_len = 8, .time_us = 1769774400000000ULL };
			struct rules_result res;

			if (rules_eval(ctx, &ev, &res) != 0)
				abort();
			for (size_t i = 0; i < res.nfields; i++)
				if (res.fields[i].name == NULL ||
				    res.fields[i].val == NULL)
					abort();
		}
	}
	free(buf);
	return 0;
}
