/*
 * agent_main.c - tocsin-agent: command line, daemon start-up, signals.
 *
 *   tocsin-agent -c AGENT.yml [-D DATADIR] [-f] [-v] [--follow FILE]...
 *                [--from-start] [--version] [--help]
 *
 * Without -f the agent becomes a daemon (double fork, setsid, standard
 * streams on /dev/null) and logs to syslog.  It does NOT change directory:
 * relative paths in the configuration and on the command line stay relative
 * to the directory it was started from, as they are for tocsind.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/agent_int.h"
#include "agents/platform.h"
#include "common/config.h"
#include "common/err.h"
#include "common/util.h"

#ifndef TOCSIN_VERSION
#define TOCSIN_VERSION "0.0.0"
#endif

/* --follow given more often than this is a usage error. */
#define MAX_EXTRA_FOLLOW	256

static volatile sig_atomic_t stop_flag;

static void ready_cb(void *arg)
{
	(void)arg;
	plat_ready();
}

static void usage(FILE *out)
{
	fprintf(out,
	    "usage: tocsin-agent [-c AGENT.yml] [-D DATADIR] [-f] [-v] "
	    "[--follow FILE]... [--from-start]\n"
	    "       tocsin-agent enroll --server HOST[:PORT] --token TOKEN "
	    "--fingerprint KEY ...\n"
	    "       tocsin-agent --version | --help\n"
	    "\n"
	    "Follow log files and ship their lines to the tocsin collector\n"
	    "(ZeroMQ + CURVE), spooling them on disk until acknowledged.\n"
	    "\n"
	    "  -c, --config FILE  agent configuration (written by `tocsin agents add`;\n"
	    "                     default: $TOCSIN_AGENT_CONFIG, else\n"
	    "                     SYSCONFDIR/tocsin/agent.yml when installed)\n"
	    "  -D, --data-dir DIR spool and file offsets (default: agent.data_dir)\n"
	    "  -f, --foreground   stay in the foreground and log to stderr\n"
	    "                     (default: become a daemon, log to syslog)\n"
	    "  -v, --verbose      log at debug level (counters every minute)\n"
	    "      --follow FILE  follow FILE too (may be repeated)\n"
	    "      --from-start   read files with no stored offset from their start\n"
	    "      --version      print the version and exit\n"
	    "      --help         print this help and exit\n"
	    "\n"
	    "Relative paths are relative to the directory the agent is started\n"
	    "from (the daemon does not change directory).  SIGTERM or SIGINT\n"
	    "stops it cleanly; the pid is in DATADIR/agent.pid.\n");
}

static void short_usage(void)
{
	fprintf(stderr, "usage: tocsin-agent [-c AGENT.yml] [-D DATADIR] [-f] [-v] "
	    "[--follow FILE]... [--from-start]\n"
	    "       (tocsin-agent --help for more)\n");
}

/* 1 if s is already among v[0..n). */
static int strv_has(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static const char enroll_usage[] =
    "usage: tocsin-agent enroll --server HOST[:PORT] --token TOKEN\n"
    "                           --fingerprint KEY [--name NAME] [-o FILE]\n"
    "                           [--follow FILE]... [--journal]\n"
    "                           [--journal-dir DIR] [--data-dir DIR]\n"
    "                           [--from-start] [--timeout DUR] [--start]\n"
    "\n"
    "Enrol this machine with a token from `tocsin agents token create`:\n"
    "generate the agent's key pair here (the secret never leaves this\n"
    "machine), send its public key and the token over CURVE to the\n"
    "server's enrolment endpoint (collector.enroll_listen, default port\n"
    "7515), authenticating the server by KEY, and write the agent's\n"
    "configuration (mode 0600; never over an existing file).\n"
    "\n"
    "  --server HOST[:PORT]  the server's enrolment endpoint\n"
    "  --token TOKEN         the enrolment token (ID.SECRET)\n"
    "  --fingerprint KEY     the server's public key (40 Z85 characters;\n"
    "                        the token command prints it)\n"
    "  --name NAME           the agent's name (default: the host name)\n"
    "  -o, --output FILE     the configuration to write (default:\n"
    "                        SYSCONFDIR/tocsin/agent.yml when installed)\n"
    "  --follow FILE         a log file to follow (repeatable)\n"
    "  --journal             read the systemd journal (the default when no\n"
    "                        --follow is given)\n"
    "  --journal-dir DIR     journal files of DIR instead of the system's\n"
    "  --data-dir DIR        the agent's spool (default: the built-in one)\n"
    "  --from-start          read files and the journal from their start\n"
    "  --timeout DUR         longest wait for the server (default 15s)\n"
    "  --start               once enrolled, start shipping: under systemd,\n"
    "                        with the installed configuration, `systemctl\n"
    "                        start tocsin-agent`; otherwise become the agent\n"
    "                        in the foreground (tocsin-agent -f -c FILE)\n"
    "\n"
    "Exit status: 0 enrolled, 1 refused (unknown, expired or used token,\n"
    "name taken), unreachable or wrong fingerprint, 2 usage error.\n";

/* After `enroll --start`: start shipping with the configuration just
 * written.  Under systemd with the installed configuration the service is
 * started (its unit waits for that file); anywhere else this process
 * becomes the agent in the foreground, for a terminal or a supervisor.
 * Returns only on failure: 1. */
static int enroll_start(const char *cfg, int installed)
{
	fflush(NULL);
	if (installed && access("/run/systemd/system", F_OK) == 0) {
		execlp("systemctl", "systemctl", "start",
		    "tocsin-agent.service", (char *)NULL);
		fprintf(stderr, "tocsin-agent enroll: cannot run systemctl: "
		    "%s; start the agent with: systemctl start "
		    "tocsin-agent\n", strerror(errno));
		return 1;
	}
	execl(plat_self_exe(), "tocsin-agent", "-f", "-c", cfg, (char *)NULL);
	fprintf(stderr, "tocsin-agent enroll: cannot start the agent: %s; "
	    "start it with: tocsin-agent -c %s\n", strerror(errno), cfg);
	return 1;
}

/* `tocsin-agent enroll ...` */
static int enroll_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "fingerprint", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "follow", required_argument, NULL, 'F' },
		{ "journal", no_argument, NULL, 'j' },
		{ "journal-dir", required_argument, NULL, 'J' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "from-start", no_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "start", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enroll_opts o;
	char *follow[MAX_EXTRA_FOLLOW], out[MAX_PATH_BYTES + 1];
	int ch, start = 0, rc;

	memset(&o, 0, sizeof(o));
	o.follow = follow;
	o.timeout_us = 15ULL * 1000000;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': o.server = optarg; break;
		case 't': o.token = optarg; break;
		case 'p': o.fingerprint = optarg; break;
		case 'n': o.name = optarg; break;
		case 'o': o.output = optarg; break;
		case 'j': o.journal = 1; break;
		case 'J': o.journal_dir = optarg; o.journal = 1; break;
		case 'D': o.data_dir = optarg; break;
		case 'S': o.from_start = 1; break;
		case 'R': start = 1; break;
		case 'F':
			if (o.nfollow >= MAX_EXTRA_FOLLOW || optarg[0] == '\0' ||
			    strlen(optarg) > MAX_PATH_BYTES) {
				fprintf(stderr, "tocsin-agent enroll: --follow: "
				    "1 to %d paths of 1 to %d bytes\n",
				    MAX_EXTRA_FOLLOW, MAX_PATH_BYTES);
				return 2;
			}
			follow[o.nfollow++] = optarg;
			break;
		case 'T':
			if (parse_duration(optarg, &o.timeout_us) != 0 ||
			    o.timeout_us == 0) {
				fprintf(stderr, "tocsin-agent enroll: --timeout: "
				    "a duration such as 15s\n");
				return 2;
			}
			break;
		case 'h': fputs(enroll_usage, stdout); return 0;
		case ':':
			fprintf(stderr, "tocsin-agent enroll: option %s needs "
			    "an argument\n", argv[optind - 1]);
			fputs(enroll_usage, stderr);
			return 2;
		default:
			fprintf(stderr, "tocsin-agent enroll: unknown option "
			    "%s\n", argv[optind - 1]);
			fputs(enroll_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tocsin-agent enroll: unexpected argument "
		    "'%s'\n", argv[optind]);
		return 2;
	}
	if (o.server == NULL || o.token == NULL || o.fingerprint == NULL) {
		fprintf(stderr, "tocsin-agent enroll: --server, --token and "
		    "--fingerprint are required\n");
		fputs(enroll_usage, stderr);
		return 2;
	}
	if (o.output == NULL) {
		if (config_sysconfdir()[0] == '\0') {
			fprintf(stderr, "tocsin-agent enroll: -o FILE is "
			    "required (this build has no installed layout)\n");
			return 2;
		}
		snprintf(out, sizeof(out), "%s/%s", config_sysconfdir(),
		    CONFIG_AGENT_NAME);
		o.output = out;
	}
	if ((rc = agent_enroll(&o)) != 0 || !start)
		return rc;
	return enroll_start(o.output, o.output == out);
}

/* The agent proper: `tocsin-agent [options]` (also what the Windows
 * service runs).  Exit status. */
static int agent_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "follow", required_argument, NULL, 'F' },
		{ "from-start", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_config cfg;
	struct agent_opts opts;
	const char *cfg_opt = NULL, *cfg_path = NULL, *data_dir = NULL;
	char cfg_buf[MAX_PATH_BYTES + 1];
	char *extra[MAX_EXTRA_FOLLOW];
	size_t nextra = 0, nall = 0;
	char **all = NULL, **saved_follow;
	size_t saved_nfollow;
	char *saved_dir, *pidpath = NULL;
	char err[512];
	int foreground = 0, verbose = 0, from_start = 0, ch, rc, status = 1;
	long oldpid;

	memset(&cfg, 0, sizeof(cfg));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:D:fv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg_opt = optarg;
			break;
		case 'D':
			data_dir = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'F':
			if (nextra >= MAX_EXTRA_FOLLOW) {
				fprintf(stderr, "tocsin-agent: at most %d "
				    "--follow options\n", MAX_EXTRA_FOLLOW);
				return 2;
			}
			if (optarg[0] == '\0' || strlen(optarg) > MAX_PATH_BYTES) {
				fprintf(stderr, "tocsin-agent: --follow: path "
				    "must be 1 to %d bytes\n", MAX_PATH_BYTES);
				return 2;
			}
			extra[nextra++] = optarg;
			break;
		case 'S':
			from_start = 1;
			break;
		case 'V':
			printf("tocsin-agent %s\n", TOCSIN_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "tocsin-agent: option %s needs an "
			    "argument\n", argv[optind - 1]);
			short_usage();
			return 2;
		default:
			fprintf(stderr, "tocsin-agent: unknown option %s\n",
			    argv[optind - 1]);
			short_usage();
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tocsin-agent: unexpected argument '%s'\n",
		    argv[optind]);
		short_usage();
		return 2;
	}
	/* -c, $TOCSIN_AGENT_CONFIG, SYSCONFDIR/tocsin/agent.yml when
	 * installed.  There is no embedded default: the file holds the
	 * agent's keys, written when it is enrolled. */
	if (config_locate(cfg_opt, CONFIG_AGENT_ENV, CONFIG_AGENT_NAME,
	    cfg_buf, sizeof(cfg_buf), &cfg_path, NULL) != 0) {
		fprintf(stderr, "tocsin-agent: configuration path too long\n");
		return 2;
	}
	if (cfg_path == NULL) {
		if (config_sysconfdir()[0] != '\0')
			fprintf(stderr, "tocsin-agent: no configuration: %s/%s "
			    "does not exist; enroll this agent (`tocsin agents "
			    "add` on the server) or give -c AGENT.yml\n",
			    config_sysconfdir(), CONFIG_AGENT_NAME);
		else
			fprintf(stderr, "tocsin-agent: -c AGENT.yml (or $%s) "
			    "is required\n", CONFIG_AGENT_ENV);
		short_usage();
		return 2;
	}
	if (data_dir != NULL && data_dir[0] == '\0') {
		fprintf(stderr, "tocsin-agent: -D: empty directory name\n");
		return 2;
	}
	if ((rc = agent_config_load(cfg_path, &cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (plat_config_private_check(cfg_path) != 0) {
		agent_config_free(&cfg);
		return 2;
	}

	/* Merge the command line into the configuration (restored before
	 * agent_config_free, which owns only what it allocated). */
	saved_follow = cfg.follow;
	saved_nfollow = cfg.nfollow;
	saved_dir = cfg.data_dir;
	if ((all = calloc(cfg.nfollow + nextra + 1, sizeof(*all))) == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < cfg.nfollow; i++)
		if (!strv_has(all, nall, cfg.follow[i]))
			all[nall++] = cfg.follow[i];
	for (size_t i = 0; i < nextra; i++)
		if (!strv_has(all, nall, extra[i]))
			all[nall++] = extra[i];
	cfg.follow = all;
	cfg.nfollow = nall;
	if (data_dir != NULL)
		cfg.data_dir = (char *)data_dir;
	if (from_start)
		cfg.from_start = 1;
	if (nall == 0 && !cfg.journal)
		log_warn("no files to follow (follow: in %s, or --follow)",
		    cfg_path);

	if (mkdir_p(cfg.data_dir, 0700) != 0) {
		fprintf(stderr, "tocsin-agent: cannot create %s: %s\n",
		    cfg.data_dir, strerror(errno));
		status = 1;
		goto out;
	}
	if ((pidpath = xasprintf("%s/agent.pid", cfg.data_dir)) == NULL)
		fatal("out of memory");
	if (pidfile_read(pidpath, &oldpid) == 0 && oldpid != (long)getpid() &&
	    pid_alive(oldpid)) {
		fprintf(stderr, "tocsin-agent: already running with %s "
		    "(pid %ld)\n", cfg.data_dir, oldpid);
		status = 1;
		goto out;
	}

	if (!foreground && !plat_is_service() && plat_detach() != 0) {
		status = 1;
		goto out;
	}
	log_init("tocsin-agent", foreground && !plat_is_service(),
	    verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (pidfile_write(pidpath) != 0) {
		log_err("cannot write %s: %s", pidpath, strerror(errno));
		status = 1;
		goto out;
	}

	plat_stop_on_request(&stop_flag);

	memset(&opts, 0, sizeof(opts));
	opts.version = TOCSIN_VERSION;
	opts.stop = &stop_flag;
	opts.ready_cb = ready_cb;
	opts.ready_arg = NULL;
	rc = agent_run(&cfg, &opts);
	status = rc == 0 ? 0 : 1;
	unlink(pidpath);
	if (rc == 0)
		log_info("stopped");
out:
	cfg.follow = saved_follow;
	cfg.nfollow = saved_nfollow;
	cfg.data_dir = saved_dir;
	free(all);
	free(pidpath);
	agent_config_free(&cfg);
	return status;
}

int main(int argc, char **argv)
{
	int rc;

	log_init("tocsin-agent", 1, LOG_LVL_INFO);
	if (argc > 1 && strcmp(argv[1], "enroll") == 0)
		return enroll_main(argc - 1, argv + 1);
	if ((rc = plat_subcommand(argc, argv, agent_main)) >= 0)
		return rc;
	return agent_main(argc, argv);
}
