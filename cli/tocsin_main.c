/*
 * tocsin_main.c - `tocsin`, the analysts' and administrators' command line.
 *
 * Global options (-c CONFIG, -D DATADIR) come before or after the command
 * name; the commands are one static table, looked up once, then dispatched.
 * Adding a command is adding a row (and its cmd_*.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "common/util.h"

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "unknown"
#endif

/* Longest command name accepted before lookup (names are short words). */
#define MAX_CMD_NAME_BYTES	32

static int cmd_help(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv);

static const char cmd_help_usage[] =
    "usage: tocsin help [COMMAND]\n"
    "\n"
    "Show the list of commands, or the help of one command (the same as\n"
    "`tocsin COMMAND --help`).\n";

/* The command table: {name, handler, summary, usage}. */
static const struct cli_cmd commands[] = {
	{ "alerts", cmd_alerts, "list alerts, newest first", cmd_alerts_usage },
	{ "events", cmd_events, "list raw journaled events, oldest first",
	  cmd_events_usage },
	{ "agents", cmd_agents, "enroll, revoke and list agents",
	  cmd_agents_usage },
	{ "status", cmd_status, "health of tocsind: processes, lag, counters",
	  cmd_status_usage },
	{ "record", cmd_record, "export journal events (or a log file) as a "
	  "recording", cmd_record_usage },
	{ "replay", cmd_replay, "send a recording through the pipeline",
	  cmd_replay_usage },
	{ "drill", cmd_drill, "run, report and clean scored security drills",
	  cmd_drill_usage },
	{ "rules", cmd_rules, "test rules on log lines, run .test files, lint "
	  "rule files", cmd_rules_usage },
	{ "incidents", cmd_incidents, "list, show and work incidents (ack, "
	  "assign, note, resolve)", cmd_incidents_usage },
	{ "help", cmd_help, "show help for a command", cmd_help_usage },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_cmd *command_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage_main(FILE *fp)
{
	size_t i;

	fputs("usage: tocsin [-c CONFIG] [-D DATADIR] COMMAND [OPTIONS]\n"
	    "\n"
	    "Query and administer a tocsin server: alerts, journaled events,\n"
	    "agents and the health of the daemons.  tocsin reads the data\n"
	    "directory directly (no running server needed).\n"
	    "\n"
	    "Commands:\n", fp);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name,
		    commands[i].summary);
	fputs("\n"
	    "Options (before or after the command):\n"
	    "  -c, --config FILE    server configuration (default:\n"
	    "                       $TOCSIN_CONFIG, else the installed\n"
	    "                       tocsind.yml, else the embedded default)\n"
	    "  -D, --datadir DIR    data directory (default: the\n"
	    "                       configuration's data_dir)\n"
	    "  -h, --help           this help; `tocsin COMMAND --help` for one\n"
	    "                       command\n"
	    "  -V, --version        print the version\n"
	    "\n"
	    "Times take durations before now (30s, 15m, 2h, 7d) or RFC 3339\n"
	    "times.  Exit status: 0 success, 1 failed check or run-time error,\n"
	    "2 usage or input error.\n"
	    "\n"
	    "Examples:\n"
	    "  tocsin alerts --since 1h --min-level 10\n"
	    "  tocsin events --host web01 --grep 'Failed password' --limit 20\n"
	    "  tocsin agents add web01 -o web01.yml --follow /var/log/auth.log\n"
	    "  tocsin -D /var/lib/tocsin status\n", fp);
}

static int cmd_help(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS };
	const struct cli_cmd *which;
	char eb[MAX_CMD_NAME_BYTES * 4 + 1];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1)
		if ((rc = cli_opt_common(c, cmd, opt, argc, argv)) !=
		    CLI_OPT_NEXT)
			return rc == CLI_OPT_OWN ? CLI_EXIT_USAGE : rc;
	if (optind >= argc) {
		usage_main(stdout);
		return CLI_EXIT_OK;
	}
	if (optind + 1 < argc)
		return cli_usage_error(cmd, "one command at most");
	if ((which = command_lookup(argv[optind])) == NULL) {
		escape_text(argv[optind], strnlen(argv[optind],
		    MAX_CMD_NAME_BYTES), eb, sizeof(eb));
		return cli_usage_error(cmd, "unknown command '%s'", eb);
	}
	fputs(which->usage, stdout);
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "datadir", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c;
	const struct cli_cmd *cmd;
	char **sub = NULL;
	char *name = NULL;
	char eb[MAX_CMD_NAME_BYTES * 4 + 1];
	int opt, rc, i, subc;

	memset(&c, 0, sizeof(c));
	log_init("tocsin", 1, LOG_LVL_WARN);
	/* '+': stop at the command name; the rest belongs to the command. */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:D:hV", longopts,
	    NULL)) != -1) {
		switch (opt) {
		case 'c':
			c.config_path = optarg;
			break;
		case 'D':
			c.datadir_opt = optarg;
			break;
		case 'h':
			usage_main(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("tocsin %s\n", TOCSIN_VERSION);
			return CLI_EXIT_OK;
		default:
			/* ':' missing value, '?' unknown option */
			rc = cli_opt_common(&c, NULL, opt, argc, argv);
			return rc < 0 ? CLI_EXIT_USAGE : rc;
		}
	}
	if (optind >= argc) {
		usage_main(stderr);
		return CLI_EXIT_USAGE;
	}
	if ((cmd = command_lookup(argv[optind])) == NULL) {
		escape_text(argv[optind], strnlen(argv[optind],
		    MAX_CMD_NAME_BYTES), eb, sizeof(eb));
		return cli_usage_error(NULL, "unknown command '%s'", eb);
	}

	/* The command sees argv[0] = "tocsin CMD" and its own arguments. */
	subc = argc - optind;
	name = xasprintf("tocsin %s", cmd->name);
	sub = calloc((size_t)subc + 1, sizeof(char *));
	if (name == NULL || sub == NULL) {
		cli_err(NULL, "out of memory");
		free(name);
		free(sub);
		return CLI_EXIT_FAIL;
	}
	sub[0] = name;
	for (i = 1; i < subc; i++)
		sub[i] = argv[optind + i];
	optind = 0;	/* glibc: full re-initialisation of getopt */
	opterr = 0;
	rc = cmd->run(&c, cmd, subc, sub);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err(cmd, "cannot write the output");
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_FAIL;
	}
	cli_free(&c);
	free(sub);
	free(name);
	return rc;
}
