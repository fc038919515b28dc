/*
 * test_names.c - the one validator of names (common/names.h): per kind, a
 * table of good and bad names, the length bounds at and past the limit,
 * lengths that are not NUL-terminated, and the message texts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "common/names.h"

struct nt {
	enum name_kind	 k;
	const char	*s;
	int		 ok;
};

static const struct nt table[] = {
	/* agents: the alphabet, no leading '.' or '-' (they name files) */
	{ NAME_AGENT, "web01", 1 }, { NAME_AGENT, "db-2.x_y", 1 },
	{ NAME_AGENT, "_x", 1 }, { NAME_AGENT, "9", 1 },
	{ NAME_AGENT, "", 0 }, { NAME_AGENT, ".hidden", 0 },
	{ NAME_AGENT, "-x", 0 }, { NAME_AGENT, "..", 0 },
	{ NAME_AGENT, "a/b", 0 }, { NAME_AGENT, "../x", 0 },
	{ NAME_AGENT, "a b", 0 }, { NAME_AGENT, "a\n", 0 },
	{ NAME_AGENT, "a:b", 0 }, { NAME_AGENT, "\xc3\xa9", 0 },
	{ NAME_AGENT, "a\x7f", 0 }, { NAME_AGENT, "a*", 0 },
	/* drills: as agents */
	{ NAME_DRILL, "ssh-brute-20260126T080000Z", 1 },
	{ NAME_DRILL, "exercise_1.b", 1 },
	{ NAME_DRILL, "", 0 }, { NAME_DRILL, "-rf", 0 },
	{ NAME_DRILL, ".x", 0 }, { NAME_DRILL, "a b", 0 },
	{ NAME_DRILL, "a\tb", 0 }, { NAME_DRILL, "x/../y", 0 },
	{ NAME_DRILL, "\"q\"", 0 },
	/* outputs: the alphabet, any first byte of it */
	{ NAME_OUTPUT, "siem", 1 }, { NAME_OUTPUT, "-x", 1 },
	{ NAME_OUTPUT, "", 0 }, { NAME_OUTPUT, "a/b", 0 },
	{ NAME_OUTPUT, "a b", 0 },
	/* rule ids */
	{ NAME_RULE_ID, "sshd.invalid_user", 1 }, { NAME_RULE_ID, "5710", 1 },
	{ NAME_RULE_ID, "a-b_c.d", 1 },
	{ NAME_RULE_ID, "", 0 }, { NAME_RULE_ID, "a b", 0 },
	{ NAME_RULE_ID, "a,b", 0 }, { NAME_RULE_ID, "r\x01", 0 },
	{ NAME_RULE_ID, "caf\xc3\xa9", 0 }, { NAME_RULE_ID, "a/b", 0 },
	/* MITRE ATT&CK: techniques, sub-techniques, tactics */
	{ NAME_MITRE, "T1110", 1 }, { NAME_MITRE, "T1110.001", 1 },
	{ NAME_MITRE, "TA0006", 1 }, { NAME_MITRE, "TA0006.001", 1 },
	{ NAME_MITRE, "", 0 }, { NAME_MITRE, "T", 0 },
	{ NAME_MITRE, "T111", 0 }, { NAME_MITRE, "T11100", 0 },
	{ NAME_MITRE, "t1110", 0 }, { NAME_MITRE, "X1", 0 },
	{ NAME_MITRE, "T1110.", 0 }, { NAME_MITRE, "T1110.01", 0 },
	{ NAME_MITRE, "T1110.0011", 0 }, { NAME_MITRE, "T1110,001", 0 },
	{ NAME_MITRE, "T111a", 0 }, { NAME_MITRE, "TA", 0 },
	{ NAME_MITRE, "TA006", 0 }, { NAME_MITRE, "TB0006", 0 },
	{ NAME_MITRE, " T1110", 0 }, { NAME_MITRE, "T1110 ", 0 },
	{ NAME_MITRE, "T1110.abc", 0 },
	/* fields: printable, spaces inside only */
	{ NAME_FIELD, "srcip", 1 }, { NAME_FIELD, "winlog.event_data.Threat Name", 1 },
	{ NAME_FIELD, "0x", 1 }, { NAME_FIELD, "a/b:c", 1 },
	{ NAME_FIELD, "", 0 }, { NAME_FIELD, " a", 0 }, { NAME_FIELD, "a ", 0 },
	{ NAME_FIELD, " ", 0 }, { NAME_FIELD, "a\nb", 0 },
	{ NAME_FIELD, "a\tb", 0 }, { NAME_FIELD, "a\x7f", 0 },
	{ NAME_FIELD, "\x1b[31m", 0 },
};

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct nt *t = &table[i];

		if (name_valid_str(t->k, t->s) != t->ok)
			fail_msg("%s '%s' (row %zu): valid should be %d",
			    name_what(t->k), t->s, i, t->ok);
		if (name_valid(t->k, t->s, strlen(t->s)) != t->ok)
			fail_msg("%s '%s' (row %zu, with a length): valid "
			    "should be %d", name_what(t->k), t->s, i, t->ok);
	}
}

/* Each kind at its length limit and one byte past it. */
static void test_lengths(void **state)
{
	static const struct { enum name_kind k; size_t max; char fill; } t[] = {
		{ NAME_AGENT, MAX_NAME_BYTES, 'a' },
		{ NAME_DRILL, MAX_DRILL_BYTES, 'd' },
		{ NAME_OUTPUT, MAX_OUTPUT_NAME_BYTES, 'o' },
		{ NAME_RULE_ID, MAX_RULE_ID_BYTES, 'r' },
		{ NAME_FIELD, MAX_JSON_PATH_BYTES, 'f' },
	};
	char *buf;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_non_null(buf = malloc(t[i].max + 2));
		memset(buf, t[i].fill, t[i].max + 1);
		buf[t[i].max + 1] = '\0';
		if (name_valid_str(t[i].k, buf))
			fail_msg("%s of %zu bytes accepted", name_what(t[i].k),
			    t[i].max + 1);
		buf[t[i].max] = '\0';
		if (!name_valid_str(t[i].k, buf))
			fail_msg("%s of %zu bytes refused", name_what(t[i].k),
			    t[i].max);
		free(buf);
	}
}

/* (s, n) is exactly n bytes: what follows is not looked at. */
static void test_not_terminated(void **state)
{
	static const char s[] = "web01/../../etc";

	(void)state;
	assert_true(name_valid(NAME_AGENT, s, 5));
	assert_false(name_valid(NAME_AGENT, s, 6));
	assert_true(name_valid(NAME_MITRE, "T1110.001xyz", 9));
	assert_true(name_valid(NAME_MITRE, "T1110.001xyz", 5));
	assert_false(name_valid(NAME_MITRE, "T1110.001xyz", 10));
	assert_true(name_valid(NAME_FIELD, "a b ", 3));
	assert_false(name_valid(NAME_FIELD, "a b ", 4));
	/* a NUL inside the length is a control byte */
	assert_false(name_valid(NAME_FIELD, "a\0b", 3));
	assert_false(name_valid(NAME_RULE_ID, "a\0b", 3));
}

static void test_bad_arguments(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < NAME_NKINDS; k++) {
		assert_false(name_valid_str((enum name_kind)k, NULL));
		assert_false(name_valid((enum name_kind)k, NULL, 3));
		assert_false(name_valid((enum name_kind)k, "x", 0));
	}
	assert_false(name_valid_str(NAME_NKINDS, "x"));
	assert_false(name_valid_str((enum name_kind)-1, "x"));
}

static void test_messages(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < NAME_NKINDS; k++) {
		assert_non_null(name_expect((enum name_kind)k));
		assert_true(strlen(name_expect((enum name_kind)k)) > 10);
		assert_true(strlen(name_what((enum name_kind)k)) > 4);
	}
	assert_string_equal(name_expect(NAME_AGENT), "1 to 64 of A-Z a-z 0-9 "
	    ". _ -, not starting with '.' or '-'");
	assert_string_equal(name_what(NAME_MITRE), "MITRE ATT&CK id");
	assert_non_null(strstr(name_expect(NAME_RULE_ID), "128"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_not_terminated),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
