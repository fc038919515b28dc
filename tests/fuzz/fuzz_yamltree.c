/*
 * fuzz_yamltree.c - libFuzzer target for the YAML tree builder and the
 * getters the configuration loaders use: any bytes must load or fail with a
 * "name:..." diagnostic, within the depth limit, without leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/yamltree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walk a tree, checking its invariants; depth is bounded by the parser. */
static void walk(const yt_node *n, int depth)
{
	static const char *const known[] = { "a", "b", NULL };
	char err[256];
	char *s = NULL;
	char **v = NULL;
	size_t nv = 0;
	unsigned long long u = 0;
	int b = 0;

	if (n == NULL)
		return;
	if (depth > 40 || n->line < 1 || n->col < 1)
		abort();
	switch (n->kind) {
	case YT_SCALAR:
		if (n->str == NULL || n->str[n->len] != '\0')
			abort();
		(void)yt_is_null(n);
		break;
	case YT_SEQ:
		for (size_t i = 0; i < n->n; i++)
			walk(n->items[i], depth + 1);
		break;
	case YT_MAP:
		for (size_t i = 0; i < n->n; i++) {
			if (n->keys[i]->kind != YT_SCALAR)
				abort();
			walk(n->items[i], depth + 1);
		}
		(void)yt_check_keys(n, known, "f", "x", err, sizeof(err));
		if (n->n > 0) {
			const char *k = n->keys[0]->str;
			(void)yt_get_str(n, k, "f", &s, err, sizeof(err));
			(void)yt_get_u64(n, k, "f", 0, 100, &u, err, sizeof(err));
			(void)yt_get_size(n, k, "f", &u, err, sizeof(err));
			(void)yt_get_duration(n, k, "f", &u, err, sizeof(err));
			(void)yt_get_bool(n, k, "f", &b, err, sizeof(err));
			(void)yt_get_strv(n, k, "f", &v, &nv, err, sizeof(err));
			free(s);
			yt_strv_free(&v, nv);
		}
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	yt_doc **docs = NULL;
	size_t ndocs = 0;
	char err[512];
	int rc;

	err[0] = '\0';
	rc = yt_load_buf("f", (const char *)data, size, &docs, &ndocs, err,
	    sizeof(err));
	if (rc != 0) {
		if (docs != NULL || ndocs != 0 || strncmp(err, "f", 1) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < ndocs; i++)
		walk(docs[i]->root, 0);
	yt_docs_free(&docs, ndocs);
	return 0;
}
