/*
 * test_api.c - the API's credentials (api/auth.c: tokens stored hashed,
 * checked as unknown, forged, expired or good, revoked; users with
 * Argon2id passwords) and its parsers of untrusted input (api/params.c:
 * the filters of the lists, the cursors, the bodies), with tables of
 * malformed inputs.
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

#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tocsin-test-api.XXXXXX");
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

static int count_cb(const struct api_token_info *t, void *arg)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

static void test_tokens(void **state)
{
	char tok[TOKEN_BYTES], forged[TOKEN_BYTES], tok2[TOKEN_BYTES];
	char *path, *text = NULL;
	struct api_token_info ti, got, ti2;
	enum api_token_verdict v;
	uint64_t now = now_us();
	size_t len;
	int n = 0;
	(void)state;

	assert_int_equal(api_token_create(dir, "alice", API_ROLE_ANALYST, 0,
	    tok, &ti), 0);
	assert_int_equal(strlen(tok), TOKEN_BYTES - 1);
	assert_int_equal(ti.expires_us, 0);
	/* good */
	assert_int_equal(api_token_check(dir, tok, strlen(tok), now, &v, &got),
	    0);
	assert_int_equal(v, API_TOKEN_OK);
	assert_string_equal(got.name, "alice");
	assert_int_equal(got.role, API_ROLE_ANALYST);
	/* the file holds the hash, not the secret */
	path = xasprintf("%s/keys/api-tokens/%s", dir, ti.id);
	assert_int_equal(read_file(path, 4096, &text, &len), 0);
	assert_null(strstr(text, tok + TOKEN_ID_HEX + 1));
	assert_non_null(strstr(text, "analyst"));
	free(text);
	free(path);
	/* forged: the right id, another secret */
	memcpy(forged, tok, sizeof(forged));
	forged[TOKEN_BYTES - 2] = forged[TOKEN_BYTES - 2] == '0' ? '1' : '0';
	assert_int_equal(api_token_check(dir, forged, strlen(forged), now, &v,
	    NULL), 0);
	assert_int_equal(v, API_TOKEN_UNKNOWN);
	/* malformed texts */
	{
		static const char *const bad[] = { "", "abc", "ZZZZZZZZ.00000000"
		    "000000000000000000000000", "12345678-0000000000000000"
		    "0000000000000000", "12345678.0000000000000000000000000000"
		    "00000", "../../../../etc/passwd" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(api_token_check(dir, bad[i],
			    strlen(bad[i]), now, &v, NULL), 0);
			assert_int_equal(v, API_TOKEN_UNKNOWN);
		}
	}
	/* a length that stops before the NUL is honoured */
	assert_int_equal(api_token_check(dir, tok, strlen(tok) - 1, now, &v,
	    NULL), 0);
	assert_int_equal(v, API_TOKEN_UNKNOWN);
	/* expiry */
	assert_int_equal(api_token_create(dir, "short", API_ROLE_VIEWER,
	    1000000, tok2, &ti2), 0);
	assert_int_equal(api_token_check(dir, tok2, strlen(tok2), now, &v,
	    NULL), 0);
	assert_int_equal(v, API_TOKEN_OK);
	assert_int_equal(api_token_check(dir, tok2, strlen(tok2),
	    ti2.expires_us, &v, NULL), 0);
	assert_int_equal(v, API_TOKEN_EXPIRED);
	/* list and revoke */
	assert_int_equal(api_token_list(dir, count_cb, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(api_token_get(dir, ti.id, &got), 0);
	assert_string_equal(got.name, "alice");
	assert_int_equal(api_token_revoke(dir, ti.id), 0);
	assert_int_equal(api_token_revoke(dir, ti.id), TS_ENOTFOUND);
	assert_int_equal(api_token_revoke(dir, "../x"), TS_ENOTFOUND);
	assert_int_equal(api_token_check(dir, tok, strlen(tok), now, &v, NULL),
	    0);
	assert_int_equal(v, API_TOKEN_UNKNOWN);
	/* refused at creation */
	assert_int_equal(api_token_create(dir, "bad name", API_ROLE_VIEWER, 0,
	    tok, NULL), TS_EINVAL);
	assert_int_equal(api_token_create(dir, "x", API_ROLE_NONE, 0, tok,
	    NULL), TS_EINVAL);
	assert_int_equal(api_role_parse("admin"), API_ROLE_ADMIN);
	assert_int_equal(api_role_parse("root"), API_ROLE_NONE);
	assert_string_equal(api_role_name(API_ROLE_VIEWER), "viewer");
}

static void test_users(void **state)
{
	struct api_user_info ui;
	(void)state;

	assert_int_equal(api_user_add(dir, "carol", API_ROLE_VIEWER,
	    "short", 0, NULL), TS_EINVAL);
	assert_int_equal(api_user_add(dir, "carol", API_ROLE_VIEWER,
	    "correct horse battery", 0, &ui), 0);
	assert_int_equal(api_user_add(dir, "carol", API_ROLE_ADMIN,
	    "another long one", 0, NULL), TS_EEXIST);
	assert_int_equal(api_user_check(dir, "carol", "correct horse battery",
	    &ui), 0);
	assert_int_equal(ui.role, API_ROLE_VIEWER);
	assert_int_equal(api_user_check(dir, "carol", "correct horse batterz",
	    NULL), TS_ENOTFOUND);
	assert_int_equal(api_user_check(dir, "nobody", "correct horse battery",
	    NULL), TS_ENOTFOUND);
	assert_int_equal(api_user_check(dir, "../keys", "x", NULL),
	    TS_ENOTFOUND);
	/* an unknown user goes through Argon2id too (the stand-in hash),
	 * a known one with a wrong password is not "unknown" */
	{
		int unknown = -1;

		assert_int_equal(api_user_prepare(), 0);
		assert_int_equal(api_user_check_ex(dir, "nobody",
		    "correct horse battery", NULL, &unknown), TS_ENOTFOUND);
		assert_int_equal(unknown, 1);
		assert_int_equal(api_user_check_ex(dir, "carol",
		    "correct horse batterz", NULL, &unknown), TS_ENOTFOUND);
		assert_int_equal(unknown, 0);
		assert_int_equal(api_user_check_ex(dir, "carol",
		    "correct horse battery", NULL, &unknown), 0);
		assert_int_equal(unknown, 0);
	}
	assert_int_equal(api_user_add(dir, "carol", API_ROLE_ADMIN,
	    "another long one", 1, NULL), 0);
	assert_int_equal(api_user_check(dir, "carol", "another long one", &ui),
	    0);
	assert_int_equal(ui.role, API_ROLE_ADMIN);
	assert_int_equal(api_user_remove(dir, "carol"), 0);
	assert_int_equal(api_user_get(dir, "carol", &ui), TS_ENOTFOUND);
}

static void test_filters(void **state)
{
	static const struct { const char *k, *v; } bad[] = {
		{ "min_level", "16" }, { "min_level", "-1" }, { "min_level", "" },
		{ "min_level", "1x" }, { "limit", "0" }, { "limit", "abc" },
		{ "since", "yesterday" }, { "until", "2026-13-01T00:00:00Z" },
		{ "rule", "a b" }, { "rule", "" }, { "drill", "-x" },
		{ "no_drill", "maybe" }, { "cursor", "12" }, { "cursor", "1.0" },
		{ "cursor", "a.b" }, { "host", "" }, { "levle", "3" },
		{ "cursor", "99999999999999999999.1" },
	};
	struct api_alert_filter f;
	char err[256], big[2048];
	uint64_t now = 1700000000000000ULL;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&f, 0, sizeof(f));
		err[0] = '\0';
		if (api_alert_filter_set(&f, bad[i].k, bad[i].v, now, err,
		    sizeof(err)) != TS_EINVAL)
			fail_msg("%s=%s accepted", bad[i].k, bad[i].v);
		assert_true(err[0] != '\0');
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(api_alert_filter_set(&f, "host", big, now, err,
	    sizeof(err)), TS_EINVAL);
	memset(&f, 0, sizeof(f));
	assert_int_equal(api_alert_filter_set(&f, "since", "1h", now, err,
	    sizeof(err)), 0);
	assert_int_equal(f.since_us, now - 3600ULL * 1000000);
	assert_int_equal(api_alert_filter_set(&f, "min_level", "15", now, err,
	    sizeof(err)), 0);
	assert_int_equal(f.min_level, 15);
	assert_int_equal(api_alert_filter_set(&f, "host", "web01", now, err,
	    sizeof(err)), 0);
	assert_string_equal(f.host, "web01");
	assert_int_equal(api_alert_filter_set(&f, "cursor", "1700.42", now, err,
	    sizeof(err)), 0);
	assert_int_equal(f.after_time_us, 1700);
	assert_int_equal(f.after_id, 42);
	{
		char buf[64];
		uint64_t t, id;

		api_cursor_format(UINT64_MAX, UINT64_MAX, buf, sizeof(buf));
		assert_int_equal(api_cursor_parse(buf, &t, &id), 0);
		assert_true(t == UINT64_MAX && id == UINT64_MAX);
	}
}

static void test_bodies(void **state)
{
	static const char *const bad[] = { "", "{", "[]", "\"x\"", "1",
	    "{\"a\":1,\"a\":2}", "{\"a\":[[[[[[[[[[1]]]]]]]]]]}",
	    "{\"note\":\"a\"} x", "{\"z\":\"a\\u0000b\"}" };
	const char **lines, *v, *b;
	size_t n;
	char err[256];
	json_t *o;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		o = api_body_object(bad[i], strlen(bad[i]), err, sizeof(err));
		if (o != NULL)
			fail_msg("body '%s' accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	b = "{\"note\":\"a\\u0007b\",\"ok\":\"đã\\nxong\",\"n\":5,"
	    "\"e\":\"\",\"z\":\"a\\u007fb\"}";
	o = api_body_object(b, strlen(b), err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(api_body_text(o, "note", 100, 1, &v, err,
	    sizeof(err)), TS_EINVAL);
	assert_int_equal(api_body_text(o, "ok", 100, 1, &v, err, sizeof(err)),
	    0);
	assert_string_equal(v, "đã\nxong");
	assert_int_equal(api_body_text(o, "ok", 3, 1, &v, err, sizeof(err)),
	    TS_EINVAL);
	assert_int_equal(api_body_text(o, "n", 100, 1, &v, err, sizeof(err)),
	    TS_EINVAL);
	assert_int_equal(api_body_text(o, "e", 100, 1, &v, err, sizeof(err)),
	    TS_EINVAL);
	assert_int_equal(api_body_text(o, "z", 100, 1, &v, err, sizeof(err)),
	    TS_EINVAL);
	assert_int_equal(api_body_text(o, "absent", 100, 0, &v, err,
	    sizeof(err)), 0);
	assert_null(v);
	assert_int_equal(api_body_text(o, "absent", 100, 1, &v, err,
	    sizeof(err)), TS_EINVAL);
	assert_int_equal(api_body_lines(o, &lines, &n, err, sizeof(err)),
	    TS_EINVAL);
	json_decref(o);
	b = "{\"lines\":[\"a\",\"b\"]}";
	o = api_body_object(b, strlen(b), err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(api_body_lines(o, &lines, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(lines[1], "b");
	free(lines);
	json_decref(o);
	b = "{\"lines\":[\"a\",2]}";
	o = api_body_object(b, strlen(b), err, sizeof(err));
	assert_non_null(o);
	assert_int_equal(api_body_lines(o, &lines, &n, err, sizeof(err)),
	    TS_EINVAL);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_bodies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
