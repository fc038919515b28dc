/*
 * test_keys.c - CURVE key files: server key creation (also by racing
 * processes), agent names, enroll / revoke / list, and the keyring noticing
 * changes to the agents folder without a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "common/err.h"
#include "common/keys.h"
#include "common/names.h"
#include "common/util.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tocsin-test-keys.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void test_generate(void **state)
{
	char pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES], pub2[KEY_Z85_BYTES];
	uint8_t bin[32];
	(void)state;
	assert_int_equal(keys_generate(pub, sec), 0);
	assert_int_equal(strlen(pub), 40);
	assert_int_equal(strlen(sec), 40);
	assert_non_null(zmq_z85_decode(bin, pub));
	assert_int_equal(zmq_curve_public(pub2, sec), 0);
	assert_string_equal(pub, pub2);
}

static void test_server_keys(void **state)
{
	char *dd = xasprintf("%s/srv", tmpdir);
	char *keyf = xasprintf("%s/keys/server.key", dd);
	char *pubf = xasprintf("%s/keys/server.pub", dd);
	char pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES];
	char pub2[KEY_Z85_BYTES], sec2[KEY_Z85_BYTES], derived[KEY_Z85_BYTES];
	struct stat st;
	char *buf;
	size_t len;
	(void)state;

	assert_int_equal(keys_server_load_or_create(dd, pub, sec), 0);
	assert_int_equal(zmq_curve_public(derived, sec), 0);
	assert_string_equal(derived, pub);
	assert_int_equal(stat(keyf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(read_file(pubf, 100, &buf, &len), 0);
	assert_int_equal(len, 41);
	assert_memory_equal(buf, pub, 40);
	assert_int_equal(buf[40], '\n');
	free(buf);

	/* loading again gives the same pair; sec may be NULL */
	assert_int_equal(keys_server_load_or_create(dd, pub2, sec2), 0);
	assert_string_equal(pub, pub2);
	assert_string_equal(sec, sec2);
	assert_int_equal(keys_server_load_or_create(dd, pub2, NULL), 0);
	assert_string_equal(pub, pub2);

	/* a lost server.pub is rebuilt from the secret */
	assert_int_equal(unlink(pubf), 0);
	assert_int_equal(keys_server_load_or_create(dd, pub2, NULL), 0);
	assert_string_equal(pub, pub2);
	assert_int_equal(stat(pubf, &st), 0);

	/* a corrupt secret is an error, never silently replaced */
	assert_int_equal(write_file_atomic(keyf, "garbage\n", 8, 0600), 0);
	assert_int_not_equal(keys_server_load_or_create(dd, pub2, NULL), 0);
	free(dd);
	free(keyf);
	free(pubf);
}

/* Several processes create the server key at once: all end up with the same
 * pair, and the files hold it. */
static void test_server_keys_race(void **state)
{
	enum { NPROC = 8 };
	char *dd = xasprintf("%s/race", tmpdir);
	int fds[NPROC][2];
	pid_t pids[NPROC];
	char got[NPROC][KEY_Z85_BYTES];
	char pub[KEY_Z85_BYTES];
	(void)state;

	for (int i = 0; i < NPROC; i++) {
		assert_int_equal(pipe(fds[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char p[KEY_Z85_BYTES] = "";
			close(fds[i][0]);
			if (keys_server_load_or_create(dd, p, NULL) != 0)
				_exit(1);
			if (write(fds[i][1], p, KEY_Z85_BYTES) != KEY_Z85_BYTES)
				_exit(1);
			_exit(0);
		}
		close(fds[i][1]);
	}
	for (int i = 0; i < NPROC; i++) {
		int st;
		assert_int_equal(read(fds[i][0], got[i], KEY_Z85_BYTES),
		    KEY_Z85_BYTES);
		close(fds[i][0]);
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (int i = 1; i < NPROC; i++)
		assert_string_equal(got[0], got[i]);
	assert_int_equal(keys_server_load_or_create(dd, pub, NULL), 0);
	assert_string_equal(pub, got[0]);
	free(dd);
}

static void test_agent_name_valid(void **state)
{
	static const struct { const char *n; int ok; } t[] = {
		{ "web01", 1 }, { "a", 1 }, { "db-2.x_y", 1 }, { "A.B", 1 },
		{ "9", 1 }, { "_x", 1 },
		{ "", 0 }, { ".hidden", 0 }, { "-x", 0 }, { "a/b", 0 },
		{ "a b", 0 }, { "..", 0 }, { "é", 0 }, { "a\n", 0 },
		{ "a:b", 0 },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  1 },	/* 64 */
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  0 },	/* 65 */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (name_valid_str(NAME_AGENT, t[i].n) != t[i].ok)
			fail_msg("agent name \"%s\": valid != %d", t[i].n, t[i].ok);
	assert_false(name_valid_str(NAME_AGENT, NULL));
}

struct listing {
	char	names[8][80];
	char	keys[8][KEY_Z85_BYTES];
	int	n;
	int	stop_after;
};

static int list_cb(const char *name, const char *pub, void *arg)
{
	struct listing *l = arg;
	if (l->n >= 8)
		return TS_EFULL;
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", pub);
	l->n++;
	return l->stop_after && l->n >= l->stop_after ? TS_ESTOP : 0;
}

static void test_enroll_revoke_list(void **state)
{
	char *dd = xasprintf("%s/enr", tmpdir);
	char p1[KEY_Z85_BYTES], p2[KEY_Z85_BYTES], p3[KEY_Z85_BYTES];
	char s[KEY_Z85_BYTES];
	struct listing l;
	(void)state;

	assert_int_equal(keys_generate(p1, s), 0);
	assert_int_equal(keys_generate(p2, s), 0);
	assert_int_equal(keys_generate(p3, s), 0);

	memset(&l, 0, sizeof(l));
	assert_int_equal(keys_agent_list(dd, list_cb, &l), 0);	/* no folder */
	assert_int_equal(l.n, 0);

	assert_int_equal(keys_agent_enroll(dd, "web02", p2), 0);
	assert_int_equal(keys_agent_enroll(dd, "web01", p1), 0);
	assert_int_equal(keys_agent_enroll(dd, "web01", p3), TS_EEXIST);
	assert_int_equal(keys_agent_enroll(dd, "other", p1), TS_EEXIST);
	assert_int_equal(keys_agent_enroll(dd, "../x", p3), TS_EINVAL);
	/* a key generated just now: the name is still checked, the keys
	 * are not read */
	assert_int_equal(keys_agent_enroll_generated(dd, "web01", p3),
	    TS_EEXIST);
	assert_int_equal(keys_agent_enroll_generated(dd, "../x", p3),
	    TS_EINVAL);
	char bad[KEY_Z85_BYTES] = "short";
	assert_int_equal(keys_agent_enroll(dd, "ok", bad), TS_EINVAL);
	memset(bad, '~', 40);
	bad[40] = '\0';
	assert_int_equal(keys_agent_enroll(dd, "ok", bad), TS_EINVAL);

	/* stray files in the folder are ignored */
	char *stray = xasprintf("%s/keys/agents/.tmp.pub", dd);
	char *junk = xasprintf("%s/keys/agents/junk.pub", dd);
	char *other = xasprintf("%s/keys/agents/README", dd);
	assert_int_equal(write_file_atomic(stray, p3, 40, 0644), 0);
	assert_int_equal(write_file_atomic(junk, "nonsense", 8, 0644), 0);
	assert_int_equal(write_file_atomic(other, "x", 1, 0644), 0);

	memset(&l, 0, sizeof(l));
	assert_int_equal(keys_agent_list(dd, list_cb, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.names[0], "web01");	/* name order */
	assert_string_equal(l.keys[0], p1);
	assert_string_equal(l.names[1], "web02");
	assert_string_equal(l.keys[1], p2);

	memset(&l, 0, sizeof(l));
	l.stop_after = 1;
	assert_int_equal(keys_agent_list(dd, list_cb, &l), 0);
	assert_int_equal(l.n, 1);

	assert_int_equal(keys_agent_revoke(dd, "web01"), 0);
	assert_int_equal(keys_agent_revoke(dd, "web01"), TS_ENOTFOUND);
	assert_int_equal(keys_agent_revoke(dd, "a/b"), TS_EINVAL);
	memset(&l, 0, sizeof(l));
	assert_int_equal(keys_agent_list(dd, list_cb, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.names[0], "web02");
	/* re-enrolling a revoked name works */
	assert_int_equal(keys_agent_enroll(dd, "web01", p3), 0);

	free(stray);
	free(junk);
	free(other);
	free(dd);
}

static void test_keyring(void **state)
{
	char *dd = xasprintf("%s/ring", tmpdir);
	char p1[KEY_Z85_BYTES], p2[KEY_Z85_BYTES], s[KEY_Z85_BYTES];
	uint8_t b1[32], b2[32];
	keyring_t *kr;
	const char *name;
	(void)state;

	assert_int_equal(keys_generate(p1, s), 0);
	assert_int_equal(keys_generate(p2, s), 0);
	assert_non_null(zmq_z85_decode(b1, p1));
	assert_non_null(zmq_z85_decode(b2, p2));

	kr = keyring_open(dd);		/* no folder yet: nobody admitted */
	assert_non_null(kr);
	assert_null(keyring_lookup(kr, b1));
	assert_false(keyring_has_name(kr, "a1"));

	/* changes made right after a lookup (same timestamp tick) are seen */
	for (int round = 0; round < 3; round++) {
		assert_int_equal(keys_agent_enroll(dd, "a1", p1), 0);
		name = keyring_lookup(kr, b1);
		assert_non_null(name);
		assert_string_equal(name, "a1");
		assert_null(keyring_lookup(kr, b2));
		assert_int_equal(keys_agent_enroll(dd, "a2", p2), 0);
		name = keyring_lookup(kr, b2);
		assert_non_null(name);
		assert_string_equal(name, "a2");
		assert_true(keyring_has_name(kr, "a1"));
		assert_true(keyring_has_name(kr, "a2"));
		assert_int_equal(keys_agent_revoke(dd, "a1"), 0);
		assert_null(keyring_lookup(kr, b1));
		assert_false(keyring_has_name(kr, "a1"));
		assert_true(keyring_has_name(kr, "a2"));
		assert_int_equal(keys_agent_revoke(dd, "a2"), 0);
		assert_false(keyring_has_name(kr, "a2"));
		assert_null(keyring_lookup(kr, b2));
	}
	keyring_free(&kr);
	assert_null(kr);
	keyring_free(&kr);
	keyring_free(NULL);
	free(dd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_server_keys),
		cmocka_unit_test(test_server_keys_race),
		cmocka_unit_test(test_agent_name_valid),
		cmocka_unit_test(test_enroll_revoke_list),
		cmocka_unit_test(test_keyring),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
