/*
 * test_tokens.c - enrolment tokens: stored hashed, checked (unknown,
 * forged, expired, used), spent, listed and revoked.
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
#include "common/tokens.h"
#include "common/util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tocsin-test-tokens.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int count_cb(const struct token_info *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

static void test_lifecycle(void **state)
{
	char tok[TOKEN_BYTES], forged[TOKEN_BYTES], *path, *text = NULL;
	struct token_info ti, got;
	enum token_verdict v;
	uint64_t now = now_us();
	size_t len;
	int n = 0;
	(void)state;

	assert_int_equal(token_create(dir, 3600ULL * 1000000, 2, tok, &ti), 0);
	assert_int_equal(strlen(tok), TOKEN_BYTES - 1);
	assert_int_equal(tok[TOKEN_ID_HEX], '.');
	assert_int_equal(memcmp(tok, ti.id, TOKEN_ID_HEX), 0);

	/* only the hash is on disk */
	path = xasprintf("%s/keys/tokens/%s", dir, ti.id);
	assert_int_equal(read_file(path, 4096, &text, &len), 0);
	assert_null(strstr(text, tok + TOKEN_ID_HEX + 1));
	assert_non_null(strstr(text, "tocsin-token 1 "));
	free(text);
	free(path);

	assert_int_equal(token_check(dir, tok, now, &v, &got), 0);
	assert_int_equal(v, TOKEN_OK);
	assert_int_equal(got.uses, 2);

	/* forged: the right id, another secret; and garbage */
	snprintf(forged, sizeof(forged), "%.*s.%s", TOKEN_ID_HEX, tok,
	    "00000000000000000000000000000000");
	assert_int_equal(token_check(dir, forged, now, &v, &got), 0);
	assert_int_equal(v, TOKEN_UNKNOWN);
	assert_int_equal(token_check(dir, "nonsense", now, &v, &got), 0);
	assert_int_equal(v, TOKEN_UNKNOWN);
	assert_int_equal(token_check(dir, "ffffffff.00000000000000000000000000000000",
	    now, &v, &got), 0);
	assert_int_equal(v, TOKEN_UNKNOWN);

	/* expired after its ttl */
	assert_int_equal(token_check(dir, tok, ti.expires_us, &v, &got), 0);
	assert_int_equal(v, TOKEN_EXPIRED);

	/* used up after its uses */
	assert_int_equal(token_spend(dir, ti.id), 0);
	assert_int_equal(token_check(dir, tok, now, &v, &got), 0);
	assert_int_equal(v, TOKEN_OK);
	assert_int_equal(got.uses, 1);
	assert_int_equal(token_spend(dir, ti.id), 0);
	assert_int_equal(token_check(dir, tok, now, &v, &got), 0);
	assert_int_equal(v, TOKEN_USED);
	assert_string_equal(token_verdict_text(v), "token already used");

	assert_int_equal(token_list(dir, count_cb, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(token_revoke(dir, ti.id), 0);
	assert_int_equal(token_revoke(dir, ti.id), TS_ENOTFOUND);
	assert_int_equal(token_revoke(dir, "../../x"), TS_ENOTFOUND);
	assert_int_equal(token_check(dir, tok, now, &v, &got), 0);
	assert_int_equal(v, TOKEN_UNKNOWN);

	/* bad arguments */
	assert_int_equal(token_create(dir, 0, 1, tok, NULL), TS_EINVAL);
	assert_int_equal(token_create(dir, 1000, 0, tok, NULL), TS_EINVAL);
}

static int old_cb(const struct token_info *t, void *arg)
{
	if (strcmp(t->id, "00000001") == 0)
		*(struct token_info *)arg = *t;
	return 0;
}

/* A token's group: "default" unless given, kept across spending, and a
 * token file written before groups existed reads as "default". */
static void test_group(void **state)
{
	(void)state;
	char tok[TOKEN_BYTES], *path;
	struct token_info ti, got;
	enum token_verdict v;
	static const char old[] = "tocsin-token 1 "
	    "0000000000000000000000000000000000000000000000000000000000000000"
	    " 99999999999999999 1 1\n";

	assert_int_equal(token_create(dir, 3600ULL * 1000000, 2, tok, &ti), 0);
	assert_string_equal(ti.group, "default");
	assert_int_equal(token_create_group(dir, 3600ULL * 1000000, 2, "web",
	    tok, &ti), 0);
	assert_string_equal(ti.group, "web");
	assert_int_equal(token_check(dir, tok, now_us(), &v, &got), 0);
	assert_int_equal(v, TOKEN_OK);
	assert_string_equal(got.group, "web");
	assert_int_equal(token_spend(dir, ti.id), 0);
	assert_int_equal(token_check(dir, tok, now_us(), &v, &got), 0);
	assert_int_equal(got.uses, 1);
	assert_string_equal(got.group, "web");
	assert_int_equal(token_create_group(dir, 1000, 1, "a/b", tok, NULL),
	    TS_EINVAL);
	assert_int_equal(token_create_group(dir, 1000, 1, "-x", tok, NULL),
	    TS_EINVAL);

	path = xasprintf("%s/keys/tokens/00000001", dir);
	assert_int_equal(write_file_atomic(path, old, sizeof(old) - 1, 0600),
	    0);
	memset(&got, 0, sizeof(got));
	assert_int_equal(token_list(dir, old_cb, &got), 0);
	assert_string_equal(got.id, "00000001");
	assert_string_equal(got.group, "default");
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_group),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
