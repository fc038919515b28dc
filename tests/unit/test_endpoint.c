/*
 * test_endpoint.c - endpoints and host:port addresses (common/endpoint.h):
 * tables of good and bad endpoints and addresses, and the rewriting of a
 * wildcard bind host into the loopback a local client connects to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/endpoint.h"
#include "common/limits.h"

static void test_endpoint_valid(void **state)
{
	static const struct { const char *s; int ok; } t[] = {
		{ "tcp://127.0.0.1:7514", 1 }, { "tcp://*:7514", 1 },
		{ "tcp://[::1]:7514", 1 }, { "tcp://soc.example.org:7514", 1 },
		{ "ipc:///run/tocsin/live", 1 },
		{ "", 0 }, { "tcp://", 0 }, { "ipc://", 0 },
		{ "127.0.0.1:7514", 0 }, { "udp://127.0.0.1:514", 0 },
		{ "TCP://127.0.0.1:7514", 0 }, { "tcp:/x", 0 },
		{ "inproc://x", 0 }, { "://x", 0 }, { " tcp://x:1", 0 },
	};
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (endpoint_valid(t[i].s) != t[i].ok)
			fail_msg("endpoint_valid(\"%s\") != %d", t[i].s,
			    t[i].ok);
	assert_false(endpoint_valid(NULL));
	/* at the bound and past it */
	assert_non_null(big = malloc(MAX_PATH_BYTES + 2));
	memcpy(big, "ipc://", 6);
	memset(big + 6, 'x', MAX_PATH_BYTES - 6);
	big[MAX_PATH_BYTES] = '\0';
	assert_true(endpoint_valid(big));
	big[MAX_PATH_BYTES] = 'x';
	big[MAX_PATH_BYTES + 1] = '\0';
	assert_false(endpoint_valid(big));
	free(big);
}

static void test_hostport_valid(void **state)
{
	static const struct { const char *s; int ok; } t[] = {
		{ "soc.example.org:6514", 1 }, { "127.0.0.1:1", 1 },
		{ "[::1]:65535", 1 }, { "h:514", 1 },
		{ "", 0 }, { ":514", 0 }, { "host", 0 }, { "host:", 0 },
		{ "host:0", 0 }, { "host:65536", 0 }, { "host:-1", 0 },
		{ "host:51x", 0 }, { "host: 514", 0 }, { "host:99999999999", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (endpoint_hostport_valid(t[i].s) != t[i].ok)
			fail_msg("endpoint_hostport_valid(\"%s\") != %d",
			    t[i].s, t[i].ok);
	assert_false(endpoint_hostport_valid(NULL));
}

static void test_local_connect(void **state)
{
	static const struct { const char *bind, *want; int replaced; } t[] = {
		{ "tcp://0.0.0.0:7514", "tcp://127.0.0.1:7514", 1 },
		{ "tcp://*:7514", "tcp://127.0.0.1:7514", 1 },
		{ "tcp://[::]:7514", "tcp://[::1]:7514", 1 },
		{ "tcp://127.0.0.1:7514", "tcp://127.0.0.1:7514", 0 },
		{ "tcp://192.0.2.10:7514", "tcp://192.0.2.10:7514", 0 },
		{ "tcp://0.0.0.01:7514", "tcp://0.0.0.01:7514", 0 },
		{ "tcp://10.0.0.0:7514", "tcp://10.0.0.0:7514", 0 },
		{ "ipc:///run/x", "ipc:///run/x", 0 },
		{ "tcp://*", "tcp://*", 0 },		/* no port: kept */
		{ "nothing", "nothing", 0 },
		{ "", "", 0 },
	};
	size_t i;
	char *got;
	int rep;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rep = -1;
		assert_non_null(got = endpoint_local_connect(t[i].bind, &rep));
		if (strcmp(got, t[i].want) != 0 || rep != t[i].replaced)
			fail_msg("endpoint_local_connect(\"%s\") = \"%s\" (%d), "
			    "want \"%s\" (%d)", t[i].bind, got, rep,
			    t[i].want, t[i].replaced);
		free(got);
	}
	assert_non_null(got = endpoint_local_connect("tcp://*:1", NULL));
	assert_string_equal(got, "tcp://127.0.0.1:1");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_valid),
		cmocka_unit_test(test_hostport_valid),
		cmocka_unit_test(test_local_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
