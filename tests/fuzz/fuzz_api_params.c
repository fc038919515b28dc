/*
 * fuzz_api_params.c - libFuzzer target for the API's parsers of untrusted
 * input (api/params.c): the first byte chooses what the rest is.
 *
 *   'q'  a query string "k=v&k=v..." whose pairs go to
 *        api_alert_filter_set (keys and values as the network sent them)
 *   'c'  a paging cursor: parsed, then written back and parsed again,
 *        which must give the same two numbers
 *   'b'  a request body: api_body_object, then the text members and the
 *        lines of rules/test
 *
 * Beyond "no crash", it checks what a success promises: filter texts
 * NUL-terminated within their buffers, min_level 0..15, texts from a body
 * without control bytes other than tab and newline.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_filter(const struct api_alert_filter *f)
{
	if (memchr(f->host, '\0', sizeof(f->host)) == NULL ||
	    memchr(f->rule, '\0', sizeof(f->rule)) == NULL ||
	    memchr(f->drill, '\0', sizeof(f->drill)) == NULL ||
	    f->min_level < 0 || f->min_level > 15)
		abort();
}

static void
query(const char *s, size_t n)
{
	struct api_alert_filter f;
	char	*z = malloc(n + 1), *pair, *save = NULL, err[256];

	if (z == NULL)
		return;
	memcpy(z, s, n);
	z[n] = '\0';
	memset(&f, 0, sizeof(f));
	for (pair = strtok_r(z, "&", &save); pair != NULL;
	    pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');

		if (eq != NULL)
			*eq++ = '\0';
		err[0] = '\0';
		if (api_alert_filter_set(&f, pair, eq, 1700000000000000ULL,
		    err, sizeof(err)) != 0 && err[0] == '\0')
			abort();	/* a refusal always says why */
		check_filter(&f);
	}
	free(z);
}

static void
cursor(const char *s, size_t n)
{
	char	*z = malloc(n + 1), buf[64];
	uint64_t t, id, t2, id2;

	if (z == NULL)
		return;
	memcpy(z, s, n);
	z[n] = '\0';
	if (api_cursor_parse(z, &t, &id) == 0) {
		api_cursor_format(t, id, buf, sizeof(buf));
		if (api_cursor_parse(buf, &t2, &id2) != 0 || t2 != t ||
		    id2 != id || id == 0)
			abort();
	}
	free(z);
}

static void
body(const char *s, size_t n)
{
	static const char *const keys[] = { "token", "user", "password",
	    "note", "assignee", "name", "role", "ttl" };
	const char	**lines;
	const char	*v;
	size_t		 nl;
	char		 err[256];
	json_t		*o = api_body_object(s, n, err, sizeof(err));

	if (o == NULL)
		return;
	if (!json_is_object(o))
		abort();
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (api_body_text(o, keys[k], 4096, 0, &v, err,
		    sizeof(err)) != 0 || v == NULL)
			continue;
		for (const char *p = v; *p != '\0'; p++)
			if (((unsigned char)*p < 0x20 && *p != '\t' &&
			    *p != '\n') || *p == 0x7f)
				abort();
	}
	if (api_body_lines(o, &lines, &nl, err, sizeof(err)) == 0) {
		if (nl == 0 || nl > API_MAX_TEST_LINES)
			abort();
		for (size_t i = 0; i < nl; i++)
			if (lines[i] == NULL)
				abort();
		free(lines);
	}
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0]) {
	case 'q': query((const char *)data + 1, size - 1); break;
	case 'c': cursor((const char *)data + 1, size - 1); break;
	case 'b': body((const char *)data + 1, size - 1); break;
	default: break;
	}
	return 0;
}
