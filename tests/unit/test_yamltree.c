/*
 * test_yamltree.c - YAML trees: positions, multi-document files, malformed
 * input (tabs, aliases, duplicate keys, depth bombs, bad UTF-8, oversize),
 * the known-keys check and the typed getters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/yamltree.h"

static int load(const char *text, yt_doc ***docs, size_t *n, char *err,
    size_t errlen)
{
	return yt_load_buf("t.yml", text, strlen(text), docs, n, err, errlen);
}

static void test_tree_positions(void **state)
{
	const char *y =
	    "# comment\n"
	    "name: web01\n"
	    "list:\n"
	    "  - a\n"
	    "  - \"b c\"\n"
	    "nested:\n"
	    "   deep: {x: 1, y: [2, 3]}\n"
	    "empty:\n"
	    "quoted: ''\n"
	    "tilde: ~\n";
	yt_doc **docs;
	size_t n;
	char err[256];
	const yt_node *r, *v;
	(void)state;

	assert_int_equal(load(y, &docs, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	r = docs[0]->root;
	assert_non_null(r);
	assert_int_equal(r->kind, YT_MAP);
	assert_int_equal(r->line, 2);
	assert_int_equal(r->col, 1);
	assert_string_equal(docs[0]->file, "t.yml");
	assert_int_equal(r->n, 6);

	v = yt_map_get(r, "name");
	assert_non_null(v);
	assert_int_equal(v->kind, YT_SCALAR);
	assert_string_equal(v->str, "web01");
	assert_true(v->plain);
	assert_int_equal(v->line, 2);
	assert_int_equal(v->col, 7);

	v = yt_map_get(r, "list");
	assert_int_equal(v->kind, YT_SEQ);
	assert_int_equal(v->n, 2);
	assert_string_equal(v->items[1]->str, "b c");
	assert_false(v->items[1]->plain);
	assert_int_equal(v->items[1]->line, 5);
	assert_int_equal(v->items[1]->col, 5);

	v = yt_map_get(yt_map_get(r, "nested"), "deep");
	assert_int_equal(v->kind, YT_MAP);
	assert_int_equal(v->line, 7);
	assert_int_equal(v->col, 10);
	v = yt_map_get(v, "y");
	assert_int_equal(v->kind, YT_SEQ);
	assert_string_equal(v->items[0]->str, "2");

	assert_true(yt_is_null(yt_map_get(r, "empty")));
	assert_false(yt_is_null(yt_map_get(r, "quoted")));	/* '' is a string */
	assert_true(yt_is_null(yt_map_get(r, "tilde")));
	assert_null(yt_map_get(r, "absent"));
	assert_null(yt_map_get(yt_map_get(r, "name"), "x"));	/* not a map */
	assert_null(yt_map_get(NULL, "x"));

	yt_docs_free(&docs, n);
	assert_null(docs);
	yt_docs_free(&docs, 0);		/* NULL is fine */
}

static void test_multi_doc(void **state)
{
	const char *y = "title: one\n---\ntitle: two\n---\n- x\n";
	yt_doc **docs;
	size_t n;
	char err[256];
	(void)state;

	assert_int_equal(load(y, &docs, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(yt_map_get(docs[1]->root, "title")->str, "two");
	assert_int_equal(docs[1]->root->line, 3);
	assert_int_equal(docs[2]->root->kind, YT_SEQ);
	yt_docs_free(&docs, n);

	/* an empty stream has no documents; "---" alone is a null document */
	assert_int_equal(load("", &docs, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	yt_docs_free(&docs, n);
	assert_int_equal(load("# only a comment\n", &docs, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(n, 0);
	yt_docs_free(&docs, n);
	assert_int_equal(load("---\n", &docs, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_true(docs[0]->root == NULL || yt_is_null(docs[0]->root));
	yt_docs_free(&docs, n);
}

static void test_nul_in_scalar(void **state)
{
	yt_doc **docs;
	size_t n;
	char err[256];
	char *s = NULL;
	(void)state;

	assert_int_equal(load("k: \"a\\0b\"\n", &docs, &n, err, sizeof(err)), 0);
	assert_int_equal(yt_map_get(docs[0]->root, "k")->len, 3);
	assert_int_equal(yt_get_str(docs[0]->root, "k", "t.yml", &s, err,
	    sizeof(err)), TS_EPARSE);
	assert_null(s);
	yt_docs_free(&docs, n);
}

/* Malformed documents with the exact diagnostic prefix they must produce. */
static void test_malformed_table(void **state)
{
	static const struct { const char *y; int rc; const char *prefix; } t[] = {
		{ "a: 1\na: 2\n", TS_EPARSE, "t.yml:2:1: duplicate key 'a'" },
		{ "x:\n  k: 1\n  j: 2\n  k: 3\n", TS_EPARSE,
		  "t.yml:4:3: duplicate key 'k'" },
		{ "{a: 1, b: 2, 'a': 3}", TS_EPARSE,
		  "t.yml:1:14: duplicate key 'a'" },
		{ "a: &x 1\nb: *x\n", TS_EPARSE,
		  "t.yml:2:4: aliases are not allowed" },
		{ "a: &x [1]\nb:\n  - *x\n", TS_EPARSE,
		  "t.yml:3:5: aliases are not allowed" },
		{ "a:\n\tb: 1\n", TS_EPARSE, "t.yml:2:1: " },
		{ "a: [1, 2\n", TS_EPARSE, "t.yml:" },
		{ "a: 'unterminated\n", TS_EPARSE, "t.yml:" },
		{ "a: b: c\n", TS_EPARSE, "t.yml:1:5: " },
		{ "? [a]\n: 1\n", TS_EPARSE,
		  "t.yml:1:3: mapping keys must be scalars" },
		{ "{[a]: 1}", TS_EPARSE, "t.yml:1:2: mapping keys must be scalars" },
		{ "a: \"\\xff\\u00\"\n", TS_EPARSE, "t.yml:" },
		{ "a: 1\n\x01\n", TS_EPARSE, "t.yml:2:1: " },
		{ "a: \xff\xfe\n", TS_EPARSE, "t.yml:1:4: " },	/* bad UTF-8 */
		{ "- a\nb: 1\n", TS_EPARSE, "t.yml:" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		yt_doc **docs = (yt_doc **)1;
		size_t n = 99;
		char err[256] = "";
		int rc = load(t[i].y, &docs, &n, err, sizeof(err));
		if (rc != t[i].rc ||
		    strncmp(err, t[i].prefix, strlen(t[i].prefix)) != 0)
			fail_msg("case %zu: rc %d err \"%s\", want \"%s\"", i, rc,
			    err, t[i].prefix);
		assert_null(docs);
		assert_int_equal(n, 0);
	}
}

static void test_anchor_without_alias(void **state)
{
	yt_doc **docs;
	size_t n;
	char err[256];
	(void)state;
	assert_int_equal(load("a: &x 1\nb: 2\n", &docs, &n, err, sizeof(err)), 0);
	assert_string_equal(yt_map_get(docs[0]->root, "a")->str, "1");
	yt_docs_free(&docs, n);
}

static char *nest(int depth, int flow)
{
	size_t cap = flow ? (size_t)depth * 2 + 16 :
	    (size_t)depth * ((size_t)depth + 8) + 16, o = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	if (flow) {
		for (int i = 0; i < depth; i++)
			s[o++] = '[';
		s[o++] = '1';
		for (int i = 0; i < depth; i++)
			s[o++] = ']';
	} else {
		for (int i = 0; i < depth; i++) {
			for (int j = 0; j < i; j++)
				s[o++] = ' ';
			memcpy(s + o, "k:\n", 3);
			o += 3;
		}
		for (int j = 0; j < depth; j++)
			s[o++] = ' ';
		s[o++] = '1';
		s[o++] = '\n';
	}
	s[o] = '\0';
	return s;
}

static void test_depth(void **state)
{
	yt_doc **docs;
	size_t n;
	char err[256];
	char *s;
	(void)state;

	s = nest(MAX_YAML_DEPTH, 1);
	assert_int_equal(load(s, &docs, &n, err, sizeof(err)), 0);
	yt_docs_free(&docs, n);
	free(s);
	s = nest(MAX_YAML_DEPTH + 1, 1);
	assert_int_equal(load(s, &docs, &n, err, sizeof(err)), TS_EPARSE);
	assert_non_null(strstr(err, "nesting deeper than"));
	assert_int_equal(strncmp(err, "t.yml:1:33: ", 12), 0);
	free(s);
	s = nest(MAX_YAML_DEPTH, 0);
	assert_int_equal(load(s, &docs, &n, err, sizeof(err)), 0);
	yt_docs_free(&docs, n);
	free(s);
	s = nest(MAX_YAML_DEPTH + 1, 0);
	assert_int_equal(load(s, &docs, &n, err, sizeof(err)), TS_EPARSE);
	assert_non_null(strstr(err, "nesting deeper than"));
	free(s);
	/* a deep bomb fails fast, without recursion */
	s = nest(100000, 1);
	assert_int_equal(load(s, &docs, &n, err, sizeof(err)), TS_EPARSE);
	free(s);
}

static void test_size_limit(void **state)
{
	yt_doc **docs;
	size_t n;
	char err[256];
	size_t len = MAX_YAML_BYTES + 1;
	char *s = malloc(len);
	(void)state;
	assert_non_null(s);
	memset(s, '#', len);
	assert_int_equal(yt_load_buf("big.yml", s, len, &docs, &n, err,
	    sizeof(err)), TS_ETOOBIG);
	assert_int_equal(strncmp(err, "big.yml: ", 9), 0);
	free(s);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/tocsin-yt-XXXXXX";
	yt_doc **docs;
	size_t n;
	char err[512];
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a: 1\n", 5), 5);
	close(fd);
	assert_int_equal(yt_load_file(path, &docs, &n, err, sizeof(err)), 0);
	assert_string_equal(docs[0]->file, path);
	yt_docs_free(&docs, n);
	unlink(path);
	assert_int_equal(yt_load_file(path, &docs, &n, err, sizeof(err)),
	    TS_EIO);
	char want[600];
	snprintf(want, sizeof(want), "%s: cannot read: No such file or "
	    "directory", path);
	assert_string_equal(err, want);
}

static void test_check_keys(void **state)
{
	static const char *const known[] = { "listen", "credit", "batch", NULL };
	const char *y = "listen: x\ncredit: 1\n  # c\nbatchh: 3\n";
	yt_doc **docs;
	size_t n;
	char err[256];
	(void)state;
	assert_int_equal(load(y, &docs, &n, err, sizeof(err)), 0);
	assert_int_equal(yt_check_keys(docs[0]->root, known, "t.yml",
	    "collector", err, sizeof(err)), TS_EPARSE);
	assert_string_equal(err, "t.yml:4:1: unknown key 'batchh' in collector "
	    "(known: listen, credit, batch)");
	/* not a mapping */
	assert_int_equal(yt_check_keys(yt_map_get(docs[0]->root, "listen"),
	    known, "t.yml", "collector", err, sizeof(err)), TS_EPARSE);
	assert_string_equal(err, "t.yml:1:9: collector must be a mapping");
	/* a tiny err buffer is still terminated */
	char small[10];
	assert_int_equal(yt_check_keys(docs[0]->root, known, "t.yml", "x",
	    small, sizeof(small)), TS_EPARSE);
	assert_int_equal(strlen(small), 9);
	yt_docs_free(&docs, n);

	/* control bytes in an unknown key are escaped in the message */
	assert_int_equal(load("\"a\\x1b[2J\": 1\n", &docs, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(yt_check_keys(docs[0]->root, known, "t.yml", "x", err,
	    sizeof(err)), TS_EPARSE);
	assert_non_null(strstr(err, "'a\\x1b[2J'"));
	yt_docs_free(&docs, n);

	assert_int_equal(load("listen: 1\nbatch: 2\n", &docs, &n, err,
	    sizeof(err)), 0);
	assert_int_equal(yt_check_keys(docs[0]->root, known, "t.yml", "x", err,
	    sizeof(err)), 0);
	yt_docs_free(&docs, n);
}

static void test_getters(void **state)
{
	const char *y =
	    "s: hello\n"
	    "num: 42\n"
	    "neg: -1\n"
	    "size: 64M\n"
	    "badsize: 64Q\n"
	    "dur: 15m\n"
	    "baddur: soon\n"
	    "t: true\n"
	    "f: off\n"
	    "maybe: perhaps\n"
	    "one: x\n"
	    "many: [a, b, c]\n"
	    "nested: [a, [b]]\n"
	    "map: {a: 1}\n"
	    "nul:\n";
	yt_doc **docs;
	size_t n;
	char err[256];
	const yt_node *r;
	char *s = NULL;
	unsigned long long u = 7;
	int b = 5;
	char **v = NULL;
	size_t nv = 0;
	(void)state;

	assert_int_equal(load(y, &docs, &n, err, sizeof(err)), 0);
	r = docs[0]->root;

	assert_int_equal(yt_get_str(r, "s", "t.yml", &s, err, sizeof(err)), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(yt_get_str(r, "num", "t.yml", &s, err, sizeof(err)), 0);
	assert_string_equal(s, "42");		/* old value freed */
	assert_int_equal(yt_get_str(r, "absent", "t.yml", &s, err,
	    sizeof(err)), 0);
	assert_string_equal(s, "42");		/* default kept */
	assert_int_equal(yt_get_str(r, "nul", "t.yml", &s, err, sizeof(err)), 0);
	assert_string_equal(s, "42");		/* null = not given */
	assert_int_equal(yt_get_str(r, "many", "t.yml", &s, err, sizeof(err)),
	    TS_EPARSE);
	assert_string_equal(err, "t.yml:12:7: many must be a string");
	free(s);

	assert_int_equal(yt_get_u64(r, "num", "t.yml", 1, 100, &u, err,
	    sizeof(err)), 0);
	assert_true(u == 42);
	assert_int_equal(yt_get_u64(r, "num", "t.yml", 1, 41, &u, err,
	    sizeof(err)), TS_EPARSE);
	assert_string_equal(err, "t.yml:2:6: num must be an integer from 1 to 41");
	assert_int_equal(yt_get_u64(r, "num", "t.yml", 43, 100, &u, err,
	    sizeof(err)), TS_EPARSE);
	assert_int_equal(yt_get_u64(r, "neg", "t.yml", 0, 100, &u, err,
	    sizeof(err)), TS_EPARSE);
	assert_int_equal(yt_get_u64(r, "absent", "t.yml", 0, 100, &u, err,
	    sizeof(err)), 0);
	assert_true(u == 42);

	assert_int_equal(yt_get_size(r, "size", "t.yml", &u, err, sizeof(err)), 0);
	assert_true(u == 64ULL << 20);
	assert_int_equal(yt_get_size(r, "badsize", "t.yml", &u, err,
	    sizeof(err)), TS_EPARSE);
	assert_int_equal(strncmp(err, "t.yml:5:10: badsize must be a size", 34), 0);

	assert_int_equal(yt_get_duration(r, "dur", "t.yml", &u, err,
	    sizeof(err)), 0);
	assert_true(u == 900000000ULL);
	assert_int_equal(yt_get_duration(r, "baddur", "t.yml", &u, err,
	    sizeof(err)), TS_EPARSE);
	assert_int_equal(strncmp(err, "t.yml:7:9: baddur must be a duration",
	    36), 0);

	assert_int_equal(yt_get_bool(r, "t", "t.yml", &b, err, sizeof(err)), 0);
	assert_int_equal(b, 1);
	assert_int_equal(yt_get_bool(r, "f", "t.yml", &b, err, sizeof(err)), 0);
	assert_int_equal(b, 0);
	assert_int_equal(yt_get_bool(r, "maybe", "t.yml", &b, err, sizeof(err)),
	    TS_EPARSE);
	assert_string_equal(err, "t.yml:10:8: maybe must be true or false");

	assert_int_equal(yt_get_strv(r, "one", "t.yml", &v, &nv, err,
	    sizeof(err)), 0);
	assert_int_equal(nv, 1);
	assert_string_equal(v[0], "x");
	assert_int_equal(yt_get_strv(r, "many", "t.yml", &v, &nv, err,
	    sizeof(err)), 0);
	assert_int_equal(nv, 3);
	assert_string_equal(v[2], "c");
	assert_int_equal(yt_get_strv(r, "nested", "t.yml", &v, &nv, err,
	    sizeof(err)), TS_EPARSE);
	assert_string_equal(err, "t.yml:13:13: nested: each item must be a string");
	assert_int_equal(yt_get_strv(r, "map", "t.yml", &v, &nv, err,
	    sizeof(err)), TS_EPARSE);
	assert_int_equal(nv, 3);		/* unchanged on error */
	yt_strv_free(&v, nv);
	assert_null(v);
	yt_docs_free(&docs, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_positions),
		cmocka_unit_test(test_multi_doc),
		cmocka_unit_test(test_nul_in_scalar),
		cmocka_unit_test(test_malformed_table),
		cmocka_unit_test(test_anchor_without_alias),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_check_keys),
		cmocka_unit_test(test_getters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
