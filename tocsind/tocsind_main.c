/*
 * tocsind_main.c - the tocsin server: one command, two processes.
 *
 * The parent loads and checks the configuration and the rule set, then forks
 * the collector (network side: agents, syslog, journal), the engine (rules,
 * alerts, state) and the outputs (alerts and incident changes delivered to
 * files, the live feed, the upstream SOC, webhooks).  They share nothing but
 * the LMDB environments on disk, each written by one of them, so a bug in
 * network parsing cannot reach the alert store, an engine restart never
 * stops ingestion, and an upstream that hangs never slows detection (the
 * OpenBSD privilege-separation pattern).
 *
 * The parent only supervises: it restarts a child that dies (with a growing
 * back-off), forwards SIGHUP to the engine (rule reload) and stops both on
 * SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "collector/collector.h"
#include "common/config.h"
#include "engine/engine.h"
#include "common/err.h"
#include "common/keys.h"
#include "outputs/outputs.h"
#include "rules/correlate.h"
#include "rules/rules.h"
#include "common/util.h"

#define RESTART_BACKOFF_MIN_US	(500 * 1000)	/* first restart delay */
#define RESTART_BACKOFF_MAX_US	(30 * 1000000)	/* longest restart delay */
#define RESTART_STABLE_US	(60 * 1000000)	/* up this long: reset delay */
#define STOP_GRACE_US		(15 * 1000000)	/* SIGTERM, then SIGKILL */
#define NCHILDREN		3		/* collector, engine, outputs */
#define ENGINE			1		/* index of the engine in kids[] */

static volatile sig_atomic_t g_stop;	/* SIGTERM/SIGINT seen */
static volatile sig_atomic_t g_reload;	/* SIGHUP seen */

struct child {
	const char	*c_name;	/* "collector", "engine", "outputs" */
	pid_t		 c_pid;		/* 0 when not running */
	uint64_t	 c_started;	/* mono_us() at fork */
	uint64_t	 c_backoff;	/* next restart delay */
	uint64_t	 c_restart_at;	/* mono_us() when to restart, 0 = now */
	unsigned	 c_restarts;	/* restarts so far */
};

static void
stop_cb(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void
reload_cb(int sig)
{
	(void)sig;
	g_reload = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tocsind [-c FILE] [-D DATADIR] [-f] [-t]\n"
	    "\n"
	    "The tocsin server: starts the collector (agents over ZeroMQ+CURVE,\n"
	    "syslog from network devices, the journal), the engine (rules,\n"
	    "alerts, incidents, state) and the outputs (JSONL, live feed,\n"
	    "upstream syslog, webhooks) as three processes.\n"
	    "\n"
	    "  -c FILE     configuration (default: $TOCSIN_CONFIG, else\n"
	    "              SYSCONFDIR/tocsin/tocsind.yml when installed, else\n"
	    "              the embedded copy of etc/tocsind.yml)\n"
	    "  -D DATADIR  data directory (default: the configuration's data_dir)\n"
	    "  -f          stay in the foreground and log to stderr\n"
	    "  -t          check the configuration and the rule set, then exit\n"
	    "  -h          this help;  -V  version\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop every process cleanly; SIGHUP makes\n"
	    "the engine reload its rules (a rule set with errors is refused and\n"
	    "the old one kept).\n");
}

/* Load the rule set once in the parent, with the engine's loader (rules,
 * decoders, Sigma and correlation rules), so that errors are reported on
 * the terminal at start-up, not only in the engine's log, and a set the
 * engine would refuse never starts it.  0 or TS_EPARSE. */
static int
check_rules(const struct server_config *cfg, size_t *nrules, size_t *ncorr)
{
	struct rules_diags diags = {0};
	ruleset_t *rs = NULL;
	int rc;

	rc = ruleset_load((const char *const *)cfg->rule_paths,
	    cfg->nrule_paths, &rs, &diags);
	rules_diags_print(&diags, stderr);
	if (rc == 0) {
		*nrules = ruleset_rule_count(rs);
		*ncorr = corr_set_count(ruleset_corr(rs));
	}
	ruleset_free(&rs);
	rules_diags_free(&diags);
	return rc;
}

/* Detach from the terminal: fork, setsid, fork, stdio to /dev/null.  The
 * working directory is kept because relative paths in the configuration are
 * relative to it. */
static void
daemonize(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		fatal("setsid: %s", strerror(errno));
	if ((pid = fork()) < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static void
set_handlers(void (*term)(int), void (*hup)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Fork one child running the collector or the engine.  The child never
 * returns: it exits with 0 on a clean stop, 1 on a start-up failure. */
static void
child_start(struct child *c, const struct server_config *cfg, int foreground,
    int level)
{
	char name[64];
	pid_t pid;
	int rc;

	if ((pid = fork()) < 0) {
		log_err("fork %s: %s", c->c_name, strerror(errno));
		c->c_restart_at = mono_us() + c->c_backoff;
		return;
	}
	if (pid > 0) {
		c->c_pid = pid;
		c->c_started = mono_us();
		log_info("%s started (pid %ld)", c->c_name, (long)pid);
		return;
	}

	/* Child. */
#ifdef __linux__
	/* If the supervisor is killed outright, stop cleanly rather than run
	 * unsupervised. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	snprintf(name, sizeof(name), "tocsind/%s", c->c_name);
	log_init(name, foreground, level);
	g_stop = 0;
	g_reload = 0;
	set_handlers(stop_cb, reload_cb);
	if (getppid() == 1)	/* the parent died before prctl took effect */
		_exit(0);
	if (strcmp(c->c_name, "collector") == 0)
		rc = collector_run(cfg, &g_stop);
	else if (strcmp(c->c_name, "engine") == 0)
		rc = engine_run(cfg, &g_stop, &g_reload);
	else
		rc = outputs_run(cfg, &g_stop);
	if (rc != 0)
		log_err("%s stopped: %s", c->c_name, ts_strerror(rc));
	_exit(rc == 0 ? 0 : 1);
}

static void
child_reaped(struct child *c, int status)
{
	uint64_t up = mono_us() - c->c_started;

	if (WIFSIGNALED(status))
		log_err("%s (pid %ld) killed by signal %d", c->c_name,
		    (long)c->c_pid, WTERMSIG(status));
	else
		log_err("%s (pid %ld) exited with status %d", c->c_name,
		    (long)c->c_pid, WEXITSTATUS(status));
	c->c_pid = 0;
	if (up >= RESTART_STABLE_US)
		c->c_backoff = RESTART_BACKOFF_MIN_US;
	c->c_restart_at = mono_us() + c->c_backoff;
	log_info("restarting %s in %.1f s", c->c_name, c->c_backoff / 1e6);
	c->c_backoff *= 2;
	if (c->c_backoff > RESTART_BACKOFF_MAX_US)
		c->c_backoff = RESTART_BACKOFF_MAX_US;
	c->c_restarts++;
}

/* SIGTERM both children, wait for them, SIGKILL what is left after the
 * grace period. */
static void
children_stop(struct child *kids, size_t n)
{
	uint64_t deadline = mono_us() + STOP_GRACE_US;
	size_t alive;
	int status;

	for (size_t i = 0; i < n; i++)
		if (kids[i].c_pid > 0)
			kill(kids[i].c_pid, SIGTERM);
	for (;;) {
		alive = 0;
		for (size_t i = 0; i < n; i++) {
			if (kids[i].c_pid <= 0)
				continue;
			if (waitpid(kids[i].c_pid, &status, WNOHANG) ==
			    kids[i].c_pid) {
				log_info("%s stopped", kids[i].c_name);
				kids[i].c_pid = 0;
			} else
				alive++;
		}
		if (alive == 0)
			return;
		if (mono_us() > deadline) {
			for (size_t i = 0; i < n; i++)
				if (kids[i].c_pid > 0) {
					log_err("%s did not stop; killing it",
					    kids[i].c_name);
					kill(kids[i].c_pid, SIGKILL);
					(void)waitpid(kids[i].c_pid, &status, 0);
					kids[i].c_pid = 0;
				}
			return;
		}
		usleep(20000);
	}
}

int
main(int argc, char **argv)
{
	struct server_config cfg;
	const char *cfgopt = NULL, *cfgpath = NULL, *datadir = NULL;
	char err[1024], pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES];
	char cfgbuf[MAX_PATH_BYTES + 1];
	char *rundir = NULL, *pidpath = NULL;
	struct child kids[NCHILDREN] = {
		{ .c_name = "collector", .c_backoff = RESTART_BACKOFF_MIN_US },
		{ .c_name = "engine", .c_backoff = RESTART_BACKOFF_MIN_US },
		{ .c_name = "outputs", .c_backoff = RESTART_BACKOFF_MIN_US },
	};
	int foreground = 0, checkonly = 0, notified = 0, ch, rc, status;
	size_t nrules = 0, ncorr = 0;
	long oldpid;
	pid_t pid;

	while ((ch = getopt(argc, argv, "c:D:fthV")) != -1) {
		switch (ch) {
		case 'c': cfgopt = optarg; break;
		case 'D': datadir = optarg; break;
		case 'f': foreground = 1; break;
		case 't': checkonly = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("tocsind %s\n", TOCSIN_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tocsind: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}

	log_init("tocsind", 1, LOG_LVL_INFO);
	if (config_locate(cfgopt, CONFIG_SERVER_ENV, CONFIG_SERVER_NAME,
	    cfgbuf, sizeof(cfgbuf), &cfgpath, NULL) != 0) {
		fprintf(stderr, "tocsind: configuration path too long\n");
		return 2;
	}
	if (server_config_load(cfgpath, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "tocsind: %s\n", err);
		return 2;
	}
	if (datadir != NULL) {
		free(cfg.data_dir);
		if ((cfg.data_dir = strdup(datadir)) == NULL)
			fatal("out of memory");
	}
	if (check_rules(&cfg, &nrules, &ncorr) != 0) {
		fprintf(stderr, "tocsind: the rule set has errors; not "
		    "starting\n");
		server_config_free(&cfg);
		return 2;
	}
	if (checkonly) {
		printf("configuration %s: ok; %zu rules and %zu correlation "
		    "rules loaded\n", cfg.source, nrules, ncorr);
		server_config_free(&cfg);
		return 0;
	}

	rundir = xasprintf("%s/run", cfg.data_dir);
	pidpath = xasprintf("%s/run/tocsind.pid", cfg.data_dir);
	if (rundir == NULL || pidpath == NULL)
		fatal("out of memory");
	if (mkdir_p(cfg.data_dir, 0700) != 0 || mkdir_p(rundir, 0700) != 0) {
		fprintf(stderr, "tocsind: cannot create data directory %s: "
		    "%s\n", cfg.data_dir, strerror(errno));
		goto fail;
	}
	if (pidfile_read(pidpath, &oldpid) == 0 && pid_alive(oldpid) &&
	    oldpid != (long)getpid()) {
		fprintf(stderr, "tocsind: already running with pid %ld "
		    "(%s)\n", oldpid, pidpath);
		goto fail;
	}
	/* Create the server keys before forking, so that the collector and
	 * `tocsin agents add` agree on them from the first start. */
	if ((rc = keys_server_load_or_create(cfg.data_dir, pub, sec)) != 0) {
		fprintf(stderr, "tocsind: cannot read or create the server "
		    "keys in %s/keys: %s\n", cfg.data_dir, ts_strerror(rc));
		goto fail;
	}
	explicit_bzero(sec, sizeof(sec));

	if (!foreground)
		daemonize();
	log_init("tocsind", foreground, cfg.log_level);
	if (pidfile_write(pidpath) != 0)
		log_warn("cannot write %s: %s", pidpath, strerror(errno));
	set_handlers(stop_cb, reload_cb);
	log_info("tocsind %s starting: data %s, %zu rules, agents on %s",
	    TOCSIN_VERSION, cfg.data_dir, nrules, cfg.listen);

	while (!g_stop) {
		for (size_t i = 0; i < NCHILDREN; i++)
			if (kids[i].c_pid == 0 && mono_us() >= kids[i].c_restart_at
			    && !g_stop)
				child_start(&kids[i], &cfg, foreground,
				    cfg.log_level);
		if (!notified) {
			/* Type=notify: the configuration and the rule set
			 * are good and the processes are started.  A no-op
			 * when not started by systemd ($NOTIFY_SOCKET). */
			(void)sd_notifyf(0, "READY=1\n"
			    "STATUS=%zu rules, agents on %s", nrules,
			    cfg.listen);
			notified = 1;
		}
		if (g_reload) {
			g_reload = 0;
			if (kids[ENGINE].c_pid > 0) {
				log_info("SIGHUP: asking the engine to reload "
				    "its rules");
				kill(kids[ENGINE].c_pid, SIGHUP);
			}
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (size_t i = 0; i < NCHILDREN; i++)
				if (kids[i].c_pid == pid)
					child_reaped(&kids[i], status);
		usleep(50000);
	}

	log_info("stopping");
	(void)sd_notify(0, "STOPPING=1");
	children_stop(kids, NCHILDREN);
	unlink(pidpath);
	free(pidpath);
	free(rundir);
	server_config_free(&cfg);
	log_info("stopped");
	return 0;

fail:
	free(pidpath);
	free(rundir);
	server_config_free(&cfg);
	return 1;
}
