/*
 * test_web.c - what rules/decode_web.c adds for web logs: URL decoding
 * (a table of well-formed and broken escapes) and the W3C decoder: #Fields:
 * per source, a list that changes mid-file, IIS's default columns, quoted
 * strings, too few and too many columns, bad names, more sources than the
 * table holds, and lines that are not W3C.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

struct ucase {
	const char	*in;
	int		 plus;
	const char	*out;
	size_t		 bad;
};

static const struct ucase ucases[] = {
	{ "/a%20b", 0, "/a b", 0 },
	{ "q=a+b%2Bc", 1, "q=a b+c", 0 },
	{ "q=a+b", 0, "q=a+b", 0 },
	{ "%41%42%43", 0, "ABC", 0 },
	{ "%c3%a9", 0, "\xc3\xa9", 0 },
	{ "%252e", 0, "%2e", 0 },		/* one pass only */
	{ "%", 0, "%", 1 },
	{ "%4", 0, "%4", 1 },
	{ "a%zzb", 0, "a%zzb", 1 },
	{ "%%41", 0, "%A", 1 },
	{ "%g1%2", 0, "%g1%2", 2 },
	{ "", 0, "", 0 },
};

static void
test_url_decode(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++) {
		const struct ucase *c = &ucases[i];
		size_t bad = 0, n;

		n = web_url_decode(c->in, strlen(c->in), out, c->plus, &bad);
		if (n != strlen(c->out) || memcmp(out, c->out, n) != 0 ||
		    bad != c->bad)
			fail_msg("case %zu '%s': got '%.*s' (%zu bad), want "
			    "'%s' (%zu bad)", i, c->in, (int)n, out, bad,
			    c->out, c->bad);
	}
}

/* A field sink: the last decode's fields, by name. */
#define NF 128
static struct {
	char	name[NF][80];
	char	val[NF][512];
	size_t	n;
} got;

static int
sink(void *arg, const char *name, size_t nl, const char *val, size_t vl)
{
	(void)arg;
	assert_true(got.n < NF);
	assert_true(nl < 80 && vl < 512);
	memcpy(got.name[got.n], name, nl);
	got.name[got.n][nl] = '\0';
	memcpy(got.val[got.n], val, vl);
	got.val[got.n][vl] = '\0';
	got.n++;
	return 0;
}

static const char *
field(const char *name)
{
	for (size_t i = 0; i < got.n; i++)
		if (strcmp(got.name[i], name) == 0)
			return got.val[i];
	return NULL;
}

static struct field_arena arena;

static int
dec(struct w3c *w, const char *key, const char *line, struct w3c_info *wi)
{
	got.n = 0;
	arena.len = 0;
	return w3c_decode(w, key, strlen(key), line, strlen(line), &arena,
	    sink, NULL, wi);
}

static int
setup(void **state)
{
	(void)state;
	arena.cap = 64 * 1024;
	arena.buf = malloc(arena.cap);
	return arena.buf == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	free(arena.buf);
	return 0;
}

static void
test_w3c_fields_change(void **state)
{
	struct w3c *w = NULL;
	struct w3c_info wi;

	(void)state;
	assert_int_equal(w3c_new(&w), 0);
	/* a data line before any #Fields: and not IIS-shaped: not W3C */
	assert_int_equal(dec(w, "a", "GET /x 200", &wi), 1);
	assert_int_equal(dec(w, "a", "#Fields: date time c-ip cs-method "
	    "cs-uri-stem cs(User-Agent) sc-status", &wi), 0);
	assert_true(wi.directive);
	assert_string_equal(field("w3c_directive"), "Fields");
	assert_int_equal(dec(w, "a", "2026-01-30 10:00:00 203.0.113.5 GET "
	    "/a.aspx Mozilla/5.0+(X11;+Linux) 200", &wi), 0);
	assert_string_equal(field("c-ip"), "203.0.113.5");
	assert_string_equal(field("cs-user-agent"), "Mozilla/5.0 (X11; Linux)");
	assert_string_equal(field("w3c_datetime"), "2026-01-30 10:00:00");
	assert_string_equal(field("cs-uri"), "/a.aspx");
	assert_false(wi.mismatch);
	/* another source has its own (no) list */
	assert_int_equal(dec(w, "b", "2026-01-30 10:00:00 203.0.113.5 GET "
	    "/a.aspx x 200", &wi), 1);
	/* the list changes mid-file: counted, the next lines use it */
	assert_int_equal(dec(w, "a", "#Fields: date time cs-method "
	    "cs-uri-stem cs-uri-query c-ip sc-status", &wi), 0);
	assert_true(wi.fields_changed);
	assert_int_equal(dec(w, "a", "2026-01-30 10:00:01 POST /b.aspx "
	    "id=1&x=%27 198.51.100.1 500", &wi), 0);
	assert_string_equal(field("c-ip"), "198.51.100.1");
	assert_string_equal(field("cs-uri"), "/b.aspx?id=1&x=%27");
	assert_null(field("cs-user-agent"));
	/* the same list again is no change */
	assert_int_equal(dec(w, "a", "#Fields: date time cs-method "
	    "cs-uri-stem cs-uri-query c-ip sc-status", &wi), 0);
	assert_false(wi.fields_changed);
	/* too few, too many columns: decoded as far as they go, counted */
	assert_int_equal(dec(w, "a", "2026-01-30 10:00:02 GET /c", &wi), 0);
	assert_true(wi.mismatch);
	assert_string_equal(field("cs-uri-stem"), "/c");
	assert_null(field("sc-status"));
	assert_int_equal(dec(w, "a", "2026-01-30 10:00:02 GET /c - 1.2.3.4 "
	    "200 extra more", &wi), 0);
	assert_true(wi.mismatch);
	assert_string_equal(field("sc-status"), "200");
	assert_null(field("cs-uri-query"));	/* "-": no value */
	w3c_free(&w);
	assert_null(w);
	w3c_free(&w);
}

static void
test_w3c_default_quoted_bad(void **state)
{
	struct w3c *w = NULL;
	struct w3c_info wi;

	(void)state;
	assert_int_equal(w3c_new(&w), 0);
	/* no #Fields: seen (engine restarted): IIS's 15 default columns */
	assert_int_equal(dec(w, "s", "2026-01-30 10:00:00 192.0.2.10 GET "
	    "/default.aspx - 443 - 203.0.113.20 Mozilla/5.0 - 200 0 0 15",
	    &wi), 0);
	assert_true(wi.defaulted);
	assert_string_equal(field("c-ip"), "203.0.113.20");
	assert_string_equal(field("time-taken"), "15");
	/* quoted strings ("" a quote), as the W3C draft writes them */
	assert_int_equal(dec(w, "q", "#Fields: date time cs(User-Agent) "
	    "cs-uri-stem", &wi), 0);
	assert_int_equal(dec(w, "q", "2026-01-30 10:00:00 \"Mozilla 5.0 "
	    "\"\"x\"\"\" /a", &wi), 0);
	assert_string_equal(field("cs-user-agent"), "Mozilla 5.0 \"x\"");
	assert_string_equal(field("cs-uri-stem"), "/a");
	/* an unterminated quote runs to the end */
	assert_int_equal(dec(w, "q", "2026-01-30 10:00:00 \"open", &wi), 0);
	assert_string_equal(field("cs-user-agent"), "open");
	/* names with control bytes keep their column, without a name */
	assert_int_equal(dec(w, "r", "#Fields: date \x01x time", &wi), 0);
	assert_int_equal(wi.cut, 1);
	assert_int_equal(dec(w, "r", "2026-01-30 junk 10:00:00", &wi), 0);
	assert_string_equal(field("time"), "10:00:00");
	/* an empty #Fields: keeps nothing */
	assert_int_equal(dec(w, "e", "#Fields:   ", &wi), 0);
	assert_true(wi.bad_fields);
	/* not directives, not W3C */
	assert_int_equal(dec(w, "z", "#Comment: x", &wi), 1);
	assert_int_equal(dec(w, "z", "#Fields x", &wi), 1);
	assert_int_equal(dec(w, "z", "", &wi), 1);
	w3c_free(&w);
}

static void
test_w3c_many_sources(void **state)
{
	struct w3c *w = NULL;
	struct w3c_info wi;
	char key[32];
	int evicted = 0;

	(void)state;
	assert_int_equal(w3c_new(&w), 0);
	for (int i = 0; i < MAX_W3C_SOURCES + 10; i++) {
		snprintf(key, sizeof(key), "src%d", i);
		assert_int_equal(dec(w, key, "#Fields: date time c-ip", &wi),
		    0);
		evicted += wi.evicted;
	}
	assert_int_equal(evicted, 10);
	/* the oldest were forgotten, the newest are known */
	assert_int_equal(dec(w, "src0", "1 2 3", &wi), 1);
	snprintf(key, sizeof(key), "src%d", MAX_W3C_SOURCES + 9);
	assert_int_equal(dec(w, key, "1 2 3", &wi), 0);
	assert_string_equal(field("c-ip"), "3");
	w3c_free(&w);
}

/* More columns than MAX_W3C_FIELDS, and a value larger than the arena. */
static void
test_w3c_bounds(void **state)
{
	struct w3c *w = NULL;
	struct w3c_info wi;
	char *line = malloc(200000);
	size_t o;

	(void)state;
	assert_non_null(line);
	assert_int_equal(w3c_new(&w), 0);
	o = (size_t)snprintf(line, 200000, "#Fields:");
	for (int i = 0; i < MAX_W3C_FIELDS + 5; i++)
		o += (size_t)snprintf(line + o, 200000 - o, " f%d", i);
	assert_int_equal(dec(w, "k", line, &wi), 0);
	assert_int_equal(wi.cut, 5);
	memset(line, 'A', 199998);
	line[0] = '"';
	line[199998] = '\0';
	got.n = 0;
	arena.len = 0;
	assert_int_equal(w3c_decode(w, "k", 1, line, strlen(line), &arena,
	    sink, NULL, &wi), 0);
	assert_true(wi.dropped >= 1);
	assert_true(arena.len <= arena.cap);
	free(line);
	w3c_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_w3c_fields_change),
		cmocka_unit_test(test_w3c_default_quoted_bad),
		cmocka_unit_test(test_w3c_many_sources),
		cmocka_unit_test(test_w3c_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
