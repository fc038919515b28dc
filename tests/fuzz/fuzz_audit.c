/*
 * fuzz_audit.c - libFuzzer target for the Linux audit decoder, the
 * assembler of one event's records and the key=value decoder of FortiGate
 * and Sophos records (rules/decode_audit.c).
 *
 * The input is split into lines; each is decoded (every name and value
 * must be NUL-terminated and inside the arena or static) and added to one
 * assembler, whose finished events are assembled; after every line the
 * assembler's table is saved and restored into a second one, which must
 * save to the same bytes.  The whole input is also given to
 * audit_asm_restore as if it were a saved table: it must be refused or
 * taken, never read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "rules/rules_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CAPTURED	256

static struct field_arena arena;
static struct rules_field fields[MAX_CAPTURED];
static size_t nfields;

/* The line being decoded: values lie in it or in the arena. */
static const char *cur;
static size_t cur_len;

static int
keep_field(void *arg, const char *name, size_t nl, const char *val,
    size_t vl)
{
	int in_line = val >= cur && val + vl <= cur + cur_len;
	int in_arena = val >= arena.buf && val + vl < arena.buf + arena.cap &&
	    val[vl] == '\0';

	(void)arg;
	if (strlen(name) != nl || arena.len > arena.cap ||
	    (!in_line && !in_arena && strlen(val) != vl))
		abort();
	if (nfields < MAX_CAPTURED) {
		fields[nfields].name = name;
		fields[nfields].val = val;
		fields[nfields].len = vl;
		nfields++;
	}
	return 0;
}

static int
check_field(void *arg, const char *name, size_t nl, const char *val,
    size_t vl)
{
	(void)arg;
	(void)val;
	(void)vl;
	if (strlen(name) != nl || arena.len > arena.cap)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct audit_asm *as = NULL, *as2 = NULL;
	struct audit_asm_stats st = { 0 };

	if (arena.buf == NULL) {
		arena.cap = FIELD_ARENA_BYTES;
		if ((arena.buf = malloc(arena.cap)) == NULL)
			return 0;
	}
	if (audit_asm_new(&as) != 0 || audit_asm_new(&as2) != 0)
		goto out;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		/* a copy of exactly len bytes: reads past it are caught */
		char *line = malloc(len ? len : 1);
		struct audit_info ai;
		struct audit_pending *done = NULL;
		void *b1 = NULL, *b2 = NULL;
		size_t l1 = 0, l2 = 0;

		if (line == NULL)
			break;
		memcpy(line, p, len);
		cur = line;
		cur_len = len;
		arena.len = 0;
		nfields = 0;
		if (audit_decode(line, len, &arena, keep_field, NULL,
		    &ai) == 0) {
			(void)audit_asm_add(as, "h", 1, &ai, fields, nfields,
			    &st, &done);
			if (done != NULL)
				(void)audit_assemble(done, &arena,
				    check_field, NULL);
		}
		arena.len = 0;
		nfields = 0;
		(void)kv_decode(line, len, &arena, keep_field, NULL, &ai);
		if (audit_asm_save(as, &b1, &l1) == 0) {
			if (audit_asm_restore(as2, b1, l1) != 0)
				abort();
			if (audit_asm_save(as2, &b2, &l2) != 0 || l1 != l2 ||
			    memcmp(b1, b2, l1) != 0)
				abort();
		}
		free(b1);
		free(b2);
		free(line);
		p += len + (nl != NULL);
	}
	(void)audit_asm_restore(as2, data, size);
out:
	audit_asm_free(&as);
	audit_asm_free(&as2);
	return 0;
}
