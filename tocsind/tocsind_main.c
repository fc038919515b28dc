/*
 * tocsind_main.c - the tocsin server: one command, a supervisor and four
 * processes.
 *
 * The parent loads and checks the configuration and the rule set, then forks
 * the collector (network side: agents, syslog, journal), the engine (rules,
 * alerts, state), the outputs (alerts and incident changes delivered to
 * files, the live feed, the upstream SOC, webhooks) and the api (the HTTP
 * API and web console, api/api.h; not started without api.listen).  They
 * share nothing but the LMDB environments on disk, each written by one of
 * them, so a bug in network parsing cannot reach the alert store, an engine
 * or API restart never stops ingestion, and an upstream that hangs never
 * slows detection (the OpenBSD privilege-separation pattern).
 *
 * The parent only supervises: it restarts a child that dies (with a growing
 * back-off, at most RESTART_BACKOFF_MAX_US), forwards SIGHUP to the engine
 * and the api (rule reload) and stops them all on SIGTERM or SIGINT.  A
 * child that crashes CRASH_ALERT_COUNT times within CRASH_ALERT_WINDOW_US is reported on the
 * notice pipe to the collector, which journals it as one of tocsin's own
 * events (collector.h), and rules/default/tocsin.yml raises an alert.
 *
 * Fail fast: what restarting cannot heal stops tocsind before it
 * daemonizes, with one message on stderr and exit status 1: a
 * configuration or rule set that does not load, a data directory that
 * cannot be created or written, a server already running on it, a
 * listener whose port is taken.  (2 is left for a wrong command line.)  `tocsind -t` checks the data directory
 * too (without creating anything).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
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
#include "common/datadir.h"
#include "engine/engine.h"
#include "api/api.h"
#include "common/err.h"
#include "common/keys.h"
#include "outputs/outputs.h"
#include "rules/correlate.h"
#include "rules/rules.h"
#include "rules/decode.h"
#include "common/util.h"

#define RESTART_BACKOFF_MIN_US	(500 * 1000)	/* first restart delay */
#define RESTART_BACKOFF_MAX_US	(30 * 1000000)	/* longest restart delay */
#define RESTART_STABLE_US	(60 * 1000000)	/* up this long: reset delay */
#define STOP_GRACE_US		(15 * 1000000)	/* SIGTERM, then SIGKILL */
#define NCHILDREN		4		/* collector, engine, outputs, api */
#define COLLECTOR		0		/* index of the collector in kids[] */
#define ENGINE			1		/* index of the engine in kids[] */
#define API			3		/* index of the api in kids[] */
#define CRASH_ALERT_COUNT	3		/* crashes within the window ... */
#define CRASH_ALERT_WINDOW_US	(600ULL * 1000000)	/* ... raise an alert */

static volatile sig_atomic_t g_stop;	/* SIGTERM/SIGINT seen */
static volatile sig_atomic_t g_reload;	/* SIGHUP seen */

struct child {
	const char	*c_name;	/* "collector", "engine", "outputs",
					 * "api" */
	int		 c_off;		/* not configured: never started */
	pid_t		 c_pid;		/* 0 when not running */
	uint64_t	 c_started;	/* mono_us() at fork */
	uint64_t	 c_backoff;	/* next restart delay */
	uint64_t	 c_restart_at;	/* mono_us() when to restart, 0 = now */
	unsigned	 c_restarts;	/* restarts so far */
	uint64_t	 c_crash_window;	/* mono_us() of the window's first
					 * crash */
	unsigned	 c_crashes;	/* crashes in that window */
	char		 c_last[64];	/* how the last one ended */
};

/* Notice pipe to the collector: [0] read end (the collector's), [1] the
 * supervisor's write end (non-blocking: a full pipe drops the notice). */
static int g_notice[2] = { -1, -1 };

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
	    "alerts, incidents, state), the outputs (JSONL, live feed,\n"
	    "upstream syslog, webhooks) and the api (HTTP API and web\n"
	    "console) as four processes.\n"
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
	if (cfg->timezone != NULL) {
		struct syslog_tz *tz = NULL;
		char why[256];

		if (syslog_tz_new(cfg->timezone, &tz, why, sizeof(why)) != 0) {
			fprintf(stderr, "%s: engine.timezone: %s\n",
			    cfg->source, why);
			if (rc == 0)
				rc = TS_EPARSE;
		}
		syslog_tz_free(&tz);
	}
	for (size_t i = 0; i < cfg->ntz_sources; i++) {
		struct syslog_tz *tz = NULL;
		char why[256];

		if (syslog_tz_new(cfg->tz_zones[i], &tz, why, sizeof(why)) !=
		    0) {
			fprintf(stderr, "%s: engine.source_timezones: %s: %s\n",
			    cfg->source, cfg->tz_sources[i], why);
			if (rc == 0)
				rc = TS_EPARSE;
		}
		syslog_tz_free(&tz);
	}
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


/* Can a file be created in dir?  0 or errno. */
static int
dir_writable(const char *dir)
{
	char *probe = xasprintf("%s/.tocsind-write-check.%ld", dir,
	    (long)getpid());
	int fd, e = 0;

	if (probe == NULL)
		return ENOMEM;
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		e = errno;
	else if (write(fd, "x", 1) != 1)
		e = errno ? errno : EIO;
	if (fd >= 0) {
		close(fd);
		(void)unlink(probe);
	}
	free(probe);
	return e;
}

/*
 * Is the data directory usable: creatable (create: created) and writable,
 * with every subfolder that exists writable and every LMDB file that
 * exists openable for writing?  check-only (create 0) creates nothing: a
 * missing directory is fine when its nearest existing parent is writable.
 * 0, or -1 with one line in err.
 */
static int
datadir_check(const char *dir, int create, char *err, size_t errlen)
{
	struct stat st;
	char *path = NULL, *copy = NULL, *parent;
	int e;

	if (stat(dir, &st) != 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "data directory %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		if (create) {
			if (mkdir_p(dir, 0700) != 0) {
				snprintf(err, errlen, "cannot create data "
				    "directory %s: %s", dir, strerror(errno));
				return -1;
			}
		} else {
			/* the nearest existing parent must take it */
			if ((copy = strdup(dir)) == NULL)
				return -1;
			parent = copy;
			do {
				parent = dirname(parent);
			} while (stat(parent, &st) != 0 && errno == ENOENT &&
			    strcmp(parent, "/") != 0 && strcmp(parent, ".") != 0);
			if (!S_ISDIR(st.st_mode))
				e = ENOTDIR;
			else
				e = access(parent, W_OK | X_OK) == 0 ? 0 : errno;
			if (e != 0)
				snprintf(err, errlen, "cannot create data "
				    "directory %s: %s: %s", dir, parent,
				    strerror(e));
			free(copy);
			return e != 0 ? -1 : 0;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "data directory %s is not a directory",
		    dir);
		return -1;
	}
	/* the directory itself (i == 0), then the entries tocsind checks
	 * (common/datadir.h) */
	for (size_t i = 0; i <= DD_NENTRIES; i++) {
		if (i > 0 && !datadir_entries[i - 1].dd_checked)
			continue;
		free(path);
		path = i > 0 ? datadir_path(dir, (enum datadir_entry)(i - 1)) :
		    strdup(dir);
		if (path == NULL)
			return -1;
		if (stat(path, &st) != 0)
			continue;	/* made by its process */
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "data directory %s: %s is not a "
			    "directory", dir, path);
			goto fail;
		}
		if ((e = dir_writable(path)) != 0) {
			snprintf(err, errlen, "data directory %s is not "
			    "writable: %s: %s", dir, path, strerror(e));
			goto fail;
		}
	}
	for (size_t i = 0; i < DD_NENTRIES; i++) {
		static const char *const files[] = { "data.mdb", "lock.mdb" };

		if (!datadir_entries[i].dd_lmdb)
			continue;	/* LMDB files must be writable */
		for (size_t f = 0; f < 2; f++) {
			int fd;

			free(path);
			if ((path = xasprintf("%s/%s/%s", dir,
			    datadir_entries[i].dd_name, files[f])) == NULL)
				return -1;
			if ((fd = open(path, O_RDWR | O_CLOEXEC)) >= 0) {
				close(fd);
				continue;
			}
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "data directory %s is not "
			    "writable: %s: %s", dir, path, strerror(errno));
			goto fail;
		}
	}
	free(path);
	return 0;
fail:
	free(path);
	return -1;
}

/* Tell the collector (through the notice pipe) that child c keeps
 * crashing.  A full pipe drops the notice (logged). */
static void
crash_notice(const struct child *c, uint64_t window_us)
{
	char line[SUPERVISOR_NOTICE_MAX];
	int n;

	n = snprintf(line, sizeof(line), "crashed %s %u %llu %s\n",
	    c->c_name, c->c_crashes,
	    (unsigned long long)(window_us / 1000000), c->c_last);
	if (n < 0 || (size_t)n >= sizeof(line) || g_notice[1] < 0)
		return;
	if (write(g_notice[1], line, (size_t)n) != n)
		log_warn("crash notice for %s not sent: %s", c->c_name,
		    strerror(errno));
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
	if (g_notice[1] >= 0)
		close(g_notice[1]);
	if (strcmp(c->c_name, "collector") == 0)
		collector_supervisor_fd(g_notice[0]);
	else if (g_notice[0] >= 0)
		close(g_notice[0]);
	if (strcmp(c->c_name, "collector") == 0)
		rc = collector_run(cfg, &g_stop);
	else if (strcmp(c->c_name, "engine") == 0)
		rc = engine_run(cfg, &g_stop, &g_reload);
	else if (strcmp(c->c_name, "api") == 0)
		rc = api_run(cfg, &g_stop, &g_reload);
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

	uint64_t now = mono_us();

	if (WIFSIGNALED(status)) {
		log_err("%s (pid %ld) killed by signal %d", c->c_name,
		    (long)c->c_pid, WTERMSIG(status));
		snprintf(c->c_last, sizeof(c->c_last), "killed by signal %d",
		    WTERMSIG(status));
	} else {
		log_err("%s (pid %ld) exited with status %d", c->c_name,
		    (long)c->c_pid, WEXITSTATUS(status));
		snprintf(c->c_last, sizeof(c->c_last), "exited with status %d",
		    WEXITSTATUS(status));
	}
	c->c_pid = 0;
	if (c->c_crashes == 0 || now - c->c_crash_window > CRASH_ALERT_WINDOW_US) {
		c->c_crash_window = now;
		c->c_crashes = 0;
	}
	if (++c->c_crashes == CRASH_ALERT_COUNT) {
		log_err("%s crashed %u times in %llu s", c->c_name,
		    c->c_crashes,
		    (unsigned long long)((now - c->c_crash_window) / 1000000));
		crash_notice(c, now - c->c_crash_window);
	}
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
		{ .c_name = "api", .c_backoff = RESTART_BACKOFF_MIN_US },
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
		return 1;
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
		return 1;
	}
	if (checkonly) {
		if (datadir_check(cfg.data_dir, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "tocsind: %s\n", err);
			server_config_free(&cfg);
			return 1;
		}
		printf("configuration %s: ok; %zu rules and %zu correlation "
		    "rules loaded; data directory %s usable\n", cfg.source,
		    nrules, ncorr, cfg.data_dir);
		server_config_free(&cfg);
		return 0;
	}

	rundir = datadir_path(cfg.data_dir, DD_RUN);
	pidpath = datadir_pidfile(cfg.data_dir, "tocsind");
	if (rundir == NULL || pidpath == NULL)
		fatal("out of memory");
	if (datadir_check(cfg.data_dir, 1, err, sizeof(err)) != 0) {
		fprintf(stderr, "tocsind: %s\n", err);
		goto fail;
	}
	if (mkdir_p(rundir, 0700) != 0) {
		fprintf(stderr, "tocsind: cannot create data directory %s: "
		    "%s\n", rundir, strerror(errno));
		goto fail;
	}
	if (pidfile_read(pidpath, &oldpid) == 0 && pid_alive(oldpid) &&
	    oldpid != (long)getpid()) {
		fprintf(stderr, "tocsind: already running with pid %ld "
		    "(%s)\n", oldpid, pidpath);
		goto fail;
	}
	if (collector_preflight(&cfg, err, sizeof(err)) != 0 ||
	    api_preflight(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "tocsind: %s\n", err);
		goto fail;
	}
	kids[API].c_off = cfg.api_listen == NULL;
	/* Create the server keys before forking, so that the collector and
	 * `tocsin agents add` agree on them from the first start. */
	if ((rc = keys_server_load_or_create(cfg.data_dir, pub, sec)) != 0) {
		fprintf(stderr, "tocsind: cannot read or create the server "
		    "keys in %s/keys: %s\n", cfg.data_dir, ts_strerror(rc));
		goto fail;
	}
	explicit_bzero(sec, sizeof(sec));
	if (pipe(g_notice) != 0 ||
	    fcntl(g_notice[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(g_notice[1], F_SETFL, O_NONBLOCK) != 0) {
		fprintf(stderr, "tocsind: pipe: %s\n", strerror(errno));
		goto fail;
	}

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
			if (kids[i].c_pid == 0 && !kids[i].c_off &&
			    mono_us() >= kids[i].c_restart_at && !g_stop)
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
			if (kids[API].c_pid > 0)
				kill(kids[API].c_pid, SIGHUP);
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
