/*
 * fuzz_decode.c - libFuzzer target for the syslog header decoder and the
 * whole rules_eval path.
 *
 * Every input is parsed by syslog_parse with two reference times, checking
 * that every span it returns lies inside the input; then, if the shipped
 * rule set loads (from $TOCSIN_TOP/rules/default, default "."), the input
 * is run through rules_eval, which must return 0 and fields inside its
 * buffers.  The same bytes are also given to the regex literal extraction
 * as a pattern, and to the CEF and JSON decoders directly (every name and
 * value they emit must lie in their arena, NUL-terminated, and the arena
 * must not overflow).
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
}

static struct field_arena arena;

/* field_emit_fn: names and values are NUL-terminated, values in the arena
 * or static ("true"/"false"), names in the arena or static header names. */
static int
check_field(void *arg, const char *name, size_t nl, const char *val,
    size_t vl)
{
	(void)arg;
	if (strlen(name) != nl || val[vl] != '\0')
		abort();
	if (arena.len > arena.cap)
		abort();
	return 0;
}

static void
check_structured(const char *buf, size_t size)
{
	size_t dropped;

	if (arena.buf == NULL) {
		arena.cap = FIELD_ARENA_BYTES;
		if ((arena.buf = malloc(arena.cap)) == NULL)
			return;
	}
	arena.len = 0;
	(void)cef_decode(buf, size, &arena, check_field, NULL, &dropped);
	arena.len = 0;
	(void)json_decode(buf, size, &arena, check_field, NULL, &dropped);
	/* and as a CEF / JSON message after a syslog header */
	if (size > 4 && memcmp(buf, "CEF:", 4) != 0) {
		arena.len = 0;
		(void)cef_decode(buf + 1, size - 1, &arena, check_field, NULL,
		    &dropped);
	}
}

static void
check_span(const char *base, size_t size, const char *p, size_t len)
{
	if (p == NULL)
		return;
	if (p < base || len > size || p + len > base + size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t refs[2] = { 0, 1769774400000000ULL };
	char *buf = malloc(size ? size : 1);	/* exact size: ASan sees overreads */
	struct syslog_hdr h;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (int i = 0; i < 2; i++) {
		syslog_parse(buf, size, refs[i], &h);
		check_span(buf, size, h.host, h.host_len);
		check_span(buf, size, h.program, h.program_len);
		check_span(buf, size, h.pid, h.pid_len);
		check_span(buf, size, h.msgid, h.msgid_len);
		if (h.msg == NULL)
			abort();
		check_span(buf, size, h.msg, h.msg_len);
	}
	/* the same bytes as a regex: literal extraction stays in bounds and
	 * returns a substring-sized answer */
	if (size > 0 && memchr(buf, '\0', size) == NULL) {
		char *pat = malloc(size + 1), *lit, *pre;
		size_t ll, pl;

		if (pat != NULL) {
			memcpy(pat, buf, size);
			pat[size] = '\0';
			if (rules_extract_literal(pat, &lit, &ll) == 0) {
				if (lit != NULL && (ll > size || strlen(lit) != ll))
					abort();
				free(lit);
			}
			if (rules_extract_prefix(pat, &pre, &pl) == 0) {
				if (pre != NULL && (pl > size || strlen(pre) != pl))
					abort();
				free(pre);
			}
			free(pat);
		}
	}
	check_structured(buf, size);
	if (!tried)
		load_once();
	if (ctx != NULL) {
		struct rules_event ev = { .raw = buf, .raw_len = size,
		    .host = "fuzz", .host_len = 4, .time_us = refs[1] };
		struct rules_result res;

		if (rules_eval(ctx, &ev, &res) != 0)
			abort();
		for (size_t i = 0; i < res.nfields; i++)
			if (res.fields[i].name == NULL ||
			    (res.fields[i].val == NULL && res.fields[i].len))
				abort();
		if (res.nalerts > res.nmatched)
			abort();
	}
	free(buf);
	return 0;
}
