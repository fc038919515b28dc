/*
 * tocsin_main.c - `tocsin`, the analysts' and administrators' command line.
 *
 * Global options (-c CONFIG, -D DATADIR) come before or after the command
 * name; the commands are one static table, looked up once, then dispatched.
 * Adding a command is adding a row (and its cmd_*.c).
 */
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

static const struct cli_help cmd_help_help = {
	"usage: tocsin help [COMMAND]\n"
	"\n"
	"Show the list of commands, or the help of one command (the same as\n"
	"`tocsin COMMAND --help`).\n",
	NULL, 0, NULL
};

enum { OPT_VERSION = 256 };

/* The top level's own options (the common ones come with every table). */
static const struct cli_opt main_opts[] = {
	{ "version", 'V', OPT_VERSION, NULL, "print the version" },
};

/* The command table: {name, handler, summary, help}. */
static const struct cli_cmd commands[] = {
	{ "alerts", cmd_alerts, "list alerts, newest first", &cmd_alerts_help },
	{ "events", cmd_events, "list raw journaled events, oldest first",
	  &cmd_events_help },
	{ "agents", cmd_agents, "enroll, revoke and list agents",
	  &cmd_agents_help },
	{ "status", cmd_status, "health of tocsind: processes, lag, counters",
	  &cmd_status_help },
	{ "record", cmd_record, "export journal events (or a log file) as a "
	  "recording", &cmd_record_help },
	{ "replay", cmd_replay, "send a recording through the pipeline",
	  &cmd_replay_help },
	{ "drill", cmd_drill, "run, report and clean scored security drills",
	  &cmd_drill_help },
	{ "rules", cmd_rules, "test rules on log lines, run .test files, lint "
	  "rule files", &cmd_rules_help },
	{ "incidents", cmd_incidents, "list, show and work incidents (ack, "
	  "assign, note, resolve)", &cmd_incidents_help },
	{ "api", cmd_api, "tokens and users of the HTTP API and web console",
	  &cmd_api_help },
	{ "help", cmd_help, "show help for a command", &cmd_help_help },
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
	fputs("\nOptions (before or after the command):\n", fp);
	cli_opts_print(cli_common_opts, cli_common_nopts, fp);
	cli_opts_print(CLI_TABLE(main_opts), fp);
	fputs("\n"
	    "`tocsin COMMAND --help` shows the help of one command.\n"
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
	struct cli_optparse p;
	const struct cli_cmd *which;
	char eb[MAX_CMD_NAME_BYTES * 4 + 1];

	cli_opt_init(&p, c, cmd, NULL, 0, 0, argc, argv);
	if (cli_opt_next(&p) != 0)
		return p.exit;
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
	cli_help_print(which, stdout);
	return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cli_optparse p;
	struct cli c;
	const struct cli_cmd *cmd;
	char **sub = NULL;
	char *name = NULL;
	char eb[MAX_CMD_NAME_BYTES * 4 + 1];
	int opt, rc, i, subc;

	memset(&c, 0, sizeof(c));
	log_init("tocsin", 1, LOG_LVL_WARN);
	/* Stop at the command name; the rest belongs to the command. */
	cli_opt_init(&p, &c, NULL, CLI_TABLE(main_opts), CLI_OPTF_STOP, argc,
	    argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		switch (opt) {
		case CLI_OPT_HELP:
			usage_main(stdout);
			return CLI_EXIT_OK;
		case OPT_VERSION:
			printf("tocsin %s\n", TOCSIN_VERSION);
			return CLI_EXIT_OK;
		default:	/* CLI_OPT_EXIT: a usage error */
			return p.exit;
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
