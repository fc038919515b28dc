/*
 * test_cli_opts.c - the CLI's option-table parser (cli/cli_util.c): options
 * and operands in any order, the common options, values, the top level's
 * stop at the command name, a table of bad command lines (each a usage
 * error, exit 2), the --help text drawn from the table, and the
 * sub-command dispatch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

enum { T_SINCE = 256, T_SPEED, T_JSON, T_OUTPUT = 'o' };

static const struct cli_opt topts[] = {
	{ "since", 0, T_SINCE, "TIME", "only after TIME" },
	{ "speed", 0, T_SPEED, "N", "divide the gaps by N\nsecond line" },
	{ "json", 0, T_JSON, NULL, "JSON Lines" },
	{ "output", 'o', T_OUTPUT, "FILE", "write to FILE" },
};

static const struct cli_optgroup tgroups[] = {
	{ NULL, CLI_TABLE(topts) },
};

static const struct cli_help thelp = {
	"usage: tocsin t [--since TIME]\n",
	CLI_TABLE(tgroups),
	"Examples:\n  tocsin t\n",
};

static const struct cli_cmd tcmd = { "t", NULL, "a test command", &thelp };

/* Parse a NULL-terminated list of words (argv[0] first) into a string of
 * "id=value;" items, then "end" with the operands, or "exit=N". */
static void parse(struct cli *c, int flags, const struct cli_cmd *cmd,
    char *out, size_t outlen, ...)
{
	char *argv[32];
	struct cli_optparse p;
	va_list ap;
	int argc = 0, opt, i;
	size_t n = 0;

	va_start(ap, outlen);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	out[0] = '\0';
	cli_opt_init(&p, c, cmd, CLI_TABLE(topts), flags, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT) {
			snprintf(out + n, outlen - n, "exit=%d", p.exit);
			return;
		}
		n += (size_t)snprintf(out + n, outlen - n, "%d=%s;", opt,
		    p.arg != NULL ? p.arg : "-");
	}
	n += (size_t)snprintf(out + n, outlen - n, "end");
	for (i = optind; i < argc; i++)
		n += (size_t)snprintf(out + n, outlen - n, " %s", argv[i]);
}

static void test_options_and_operands(void **state)
{
	struct cli c;
	char out[512];

	(void)state;
	memset(&c, 0, sizeof(c));
	parse(&c, 0, &tcmd, out, sizeof(out), "tocsin t", "a", "--since", "1h",
	    "-o", "f.txt", "b", "--json", "--speed=3", "-ofile2", NULL);
	assert_string_equal(out, "256=1h;111=f.txt;258=-;257=3;111=file2;end a b");

	/* the common options are consumed, not returned */
	parse(&c, 0, &tcmd, out, sizeof(out), "tocsin t", "-c", "x.yml",
	    "--json", "--datadir", "/d", "op", NULL);
	assert_string_equal(out, "258=-;end op");
	assert_string_equal(c.config_path, "x.yml");
	assert_string_equal(c.datadir_opt, "/d");

	/* "--" ends the options */
	parse(&c, 0, &tcmd, out, sizeof(out), "tocsin t", "--", "--json",
	    NULL);
	assert_string_equal(out, "end --json");

	/* an unambiguous prefix of a long option is that option */
	parse(&c, 0, &tcmd, out, sizeof(out), "tocsin t", "--js", NULL);
	assert_string_equal(out, "258=-;end");
}

static void test_stop_at_operand(void **state)
{
	struct cli c;
	char out[512];

	(void)state;
	memset(&c, 0, sizeof(c));
	/* the top level: the command name ends the options */
	parse(&c, CLI_OPTF_STOP, NULL, out, sizeof(out), "tocsin", "-D", "/x",
	    "alerts", "--json", NULL);
	assert_string_equal(out, "end alerts --json");
	assert_string_equal(c.datadir_opt, "/x");
	/* -h at the top level is handed back to the caller */
	parse(&c, CLI_OPTF_STOP, NULL, out, sizeof(out), "tocsin", "-h", NULL);
	assert_string_equal(out, "104=-;end");
}

/* Every bad command line is a usage error: exit 2, nothing returned. */
static void test_bad_command_lines(void **state)
{
	static const char *const bad[][4] = {
		{ "--frob", NULL },
		{ "-x", NULL },
		{ "--since", NULL },		/* no value */
		{ "-o", NULL },			/* no value */
		{ "--json=1", NULL },		/* a flag with a value */
		{ "--s", "1", NULL },		/* ambiguous: since, speed */
		{ "-c", NULL },			/* a common option, no value */
		{ "--datadir", NULL },
		{ "---json", NULL },
		{ "--json", "--config", NULL },	/* bad after a good one */
	};
	struct cli c;
	char *argv[8];
	struct cli_optparse p;
	size_t i;
	int argc, opt;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		argv[0] = (char *)"tocsin t";
		for (argc = 1; bad[i][argc - 1] != NULL; argc++)
			argv[argc] = (char *)bad[i][argc - 1];
		argv[argc] = NULL;
		cli_opt_init(&p, &c, &tcmd, CLI_TABLE(topts), 0, argc, argv);
		while ((opt = cli_opt_next(&p)) > 0)
			;
		if (opt != CLI_OPT_EXIT || p.exit != CLI_EXIT_USAGE)
			fail_msg("bad command line %zu (%s): returned %d, "
			    "exit %d", i, bad[i][0], opt, p.exit);
	}
}

static void test_help_exits_zero(void **state)
{
	struct cli c;
	char out[512];

	(void)state;
	memset(&c, 0, sizeof(c));
	parse(&c, 0, &tcmd, out, sizeof(out), "tocsin t", "--json", "--help",
	    "--frob", NULL);
	assert_string_equal(out, "258=-;exit=0");
}

static void test_help_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_non_null(fp = open_memstream(&buf, &len));
	cli_help_print(&tcmd, fp);
	fclose(fp);
	assert_non_null(strstr(buf, "usage: tocsin t [--since TIME]\n"));
	assert_non_null(strstr(buf, "\nOptions:\n"));
	assert_non_null(strstr(buf,
	    "      --since TIME      only after TIME\n"));
	/* a second line of help starts at the help column */
	assert_non_null(strstr(buf,
	    "      --speed N         divide the gaps by N\n"
	    "                        second line\n"));
	assert_non_null(strstr(buf, "  -o, --output FILE     write to FILE\n"));
	/* the common options, from their own table */
	assert_non_null(strstr(buf, "  -c, --config FILE"));
	assert_non_null(strstr(buf, "  -D, --datadir DIR"));
	assert_non_null(strstr(buf, "  -h, --help"));
	/* the epilog last */
	assert_non_null(strstr(buf, "\nExamples:\n  tocsin t\n"));
	assert_int_equal(strcmp(buf + len - strlen("  tocsin t\n"),
	    "  tocsin t\n"), 0);
	free(buf);
}

/* An option too long for the option column gets its help on the next
 * line, still at the help column. */
static void test_help_long_option(void **state)
{
	static const struct cli_opt lopts[] = {
		{ "as-fast-as-possible", 0, 300, NULL, "no waits" },
	};
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_non_null(fp = open_memstream(&buf, &len));
	cli_opts_print(CLI_TABLE(lopts), fp);
	fclose(fp);
	assert_string_equal(buf, "      --as-fast-as-possible\n"
	    "                        no waits\n");
	free(buf);
}

/* Sub-command handlers that say who ran, with what. */
static char ran[64];

static int sub_a(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	(void)c;
	(void)cmd;
	snprintf(ran, sizeof(ran), "a:%d:%s", argc, argv[0]);
	return 7;
}

static int sub_b(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	(void)c;
	(void)cmd;
	snprintf(ran, sizeof(ran), "b:%d:%s", argc, argv[argc - 1]);
	return 0;
}

static void test_sub_dispatch(void **state)
{
	static const struct cli_sub subs[] = {
		{ "alpha", sub_a }, { "beta", sub_b },
	};
	static const struct {
		const char	*args[4];
		int		 dflt;		/* beta is the default */
		int		 rc;
		const char	*ran;
	} t[] = {
		{ { "alpha", "x", NULL }, 0, 7, "a:2:alpha" },
		{ { "beta", NULL }, 0, 0, "b:1:beta" },
		{ { NULL }, 1, 0, "b:1:tocsin t" },	/* the default */
		{ { "--json", NULL }, 1, 0, "b:2:--json" },
		{ { "--help", NULL }, 1, 0, "" },	/* help, not dflt */
		{ { "-h", NULL }, 0, 0, "" },
		/* usage errors: nothing runs */
		{ { NULL }, 0, 2, "" },
		{ { "--json", NULL }, 0, 2, "" },
		{ { "gamma", NULL }, 1, 2, "" },
		{ { "Alpha", NULL }, 0, 2, "" },
		{ { "alph", NULL }, 0, 2, "" },
		{ { "", NULL }, 0, 2, "" },
	};
	struct cli c;
	char *argv[8];
	size_t i;
	int argc, rc;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		argv[0] = (char *)"tocsin t";
		for (argc = 1; t[i].args[argc - 1] != NULL; argc++)
			argv[argc] = (char *)t[i].args[argc - 1];
		argv[argc] = NULL;
		ran[0] = '\0';
		rc = cli_sub_dispatch(&c, &tcmd, CLI_TABLE(subs),
		    t[i].dflt ? sub_b : NULL, argc, argv);
		if (rc != t[i].rc || strcmp(ran, t[i].ran) != 0)
			fail_msg("dispatch row %zu: rc %d ran '%s', want %d "
			    "'%s'", i, rc, ran, t[i].rc, t[i].ran);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options_and_operands),
		cmocka_unit_test(test_stop_at_operand),
		cmocka_unit_test(test_bad_command_lines),
		cmocka_unit_test(test_help_exits_zero),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test(test_help_long_option),
		cmocka_unit_test(test_sub_dispatch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
