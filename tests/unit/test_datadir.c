/*
 * test_datadir.c - the top level of the data directory (common/datadir.h):
 * the paths every process builds, and the table itself (names unique and
 * plain, the LMDB environments the ones their owners' headers describe).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/datadir.h"

static void test_paths(void **state)
{
	char *p;

	(void)state;
	assert_non_null(p = datadir_path("/var/lib/tocsin", DD_JOURNAL));
	assert_string_equal(p, "/var/lib/tocsin/journal");
	free(p);
	assert_non_null(p = datadir_path("d", DD_STATE));
	assert_string_equal(p, "d/state");
	free(p);
	assert_non_null(p = datadir_path("d", DD_OUTPUTS));
	assert_string_equal(p, "d/outputs");
	free(p);
	assert_non_null(p = datadir_pidfile("d", "engine"));
	assert_string_equal(p, "d/run/engine.pid");
	free(p);
	assert_string_equal(datadir_name(DD_KEYS), "keys");
	assert_string_equal(datadir_name(DD_CONTROL), "control");
	assert_string_equal(datadir_name(DD_NENTRIES), "?");
	assert_string_equal(datadir_name((enum datadir_entry)-1), "?");
}

static void test_table(void **state)
{
	size_t i, j, nlmdb = 0;

	(void)state;
	for (i = 0; i < DD_NENTRIES; i++) {
		const char *n = datadir_entries[i].dd_name;

		assert_non_null(n);
		assert_true(n[0] != '\0' && strchr(n, '/') == NULL &&
		    n[0] != '.');
		assert_non_null(datadir_entries[i].dd_owner);
		for (j = i + 1; j < DD_NENTRIES; j++)
			assert_string_not_equal(n, datadir_entries[j].dd_name);
		nlmdb += datadir_entries[i].dd_lmdb != 0;
	}
	/* journal, state, outputs: the three environments */
	assert_int_equal(nlmdb, 3);
	assert_true(datadir_entries[DD_JOURNAL].dd_lmdb);
	assert_true(datadir_entries[DD_STATE].dd_lmdb);
	assert_true(datadir_entries[DD_OUTPUTS].dd_lmdb);
	assert_string_equal(datadir_entries[DD_STATE].dd_owner, "engine");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
