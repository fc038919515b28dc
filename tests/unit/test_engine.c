/*
 * test_engine.c - the engine process end to end on a real journal and a real
 * state: exact alerts, exactly-once across a restart and across kill -9,
 * refusal of a broken rule set, SIGHUP reload that keeps the old set on
 * errors.
 *
 * engine_run runs in a forked child (as under tocsind); the parent appends
 * events with the journal's writer and watches the state read-only.  Every
 * wait is a bounded poll; nothing asserts on timing.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/config.h"
#include "common/err.h"
#include "collector/journal.h"
#include "common/util.h"
#include "engine/state.h"
#include "engine/engine.h"

/* Polls of 10 ms: 60 s at most before a wait gives up (and fails). */
#define POLL_MAX	6000
#define POLL_US		10000

/* Three rules: two that alert, one at level 0 that never does. */
static const char rules_main[] =
    "rules:\n"
    "  - id: test.ssh.failed\n"
    "    title: SSH failed password\n"
    "    level: 5\n"
    "    mitre: [T1110]\n"
    "    groups: [authentication_failed]\n"
    "    fields:\n"
    "      message:\n"
    "        contains: \"Failed password\"\n"
    "  - id: test.ssh.accepted\n"
    "    title: SSH login\n"
    "    level: 3\n"
    "    groups: [authentication_success]\n"
    "    fields:\n"
    "      message:\n"
    "        contains: \"Accepted password\"\n"
    "  - id: test.cron.quiet\n"
    "    title: cron noise\n"
    "    level: 0\n"
    "    fields:\n"
    "      message:\n"
    "        contains: \"CRON\"\n";

static const char rules_alpha[] =
    "rules:\n"
    "  - id: test.alpha\n"
    "    title: alpha seen\n"
    "    level: 4\n"
    "    fields:\n"
    "      message:\n"
    "        contains: \"alpha\"\n";

static const char rules_beta[] =
    "rules:\n"
    "  - id: test.beta\n"
    "    title: beta seen\n"
    "    level: 6\n"
    "    fields:\n"
    "      message:\n"
    "        contains: \"beta\"\n";

/* Not YAML at all (unterminated flow sequence). */
static const char rules_broken[] = "rules: [ BROKEN\n  - id: x\n";

struct fixture {
	char			 dir[64];
	char			 rules[128];
	char			 sdir[128];
	char			 jdir[128];
	char			*paths[1];
	struct server_config	 cfg;
};

static int
setup(void **st)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/tocsin-test-engine-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->rules, sizeof(f->rules), "%s/rules.yml", f->dir);
	snprintf(f->sdir, sizeof(f->sdir), "%s/state", f->dir);
	snprintf(f->jdir, sizeof(f->jdir), "%s/journal", f->dir);
	f->paths[0] = f->rules;
	f->cfg.data_dir = f->dir;
	f->cfg.log_level = LOG_LVL_WARN;
	f->cfg.rule_paths = f->paths;
	f->cfg.nrule_paths = 1;
	f->cfg.state_map_bytes = 1 << 20;	/* small: exercises growth */
	f->cfg.batch_events = 3;
	*st = f;
	return 0;
}

static int
teardown(void **st)
{
	struct fixture	*f = *st;
	char		 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void
write_rules(struct fixture *f, const char *text)
{
	assert_int_equal(write_file_atomic(f->rules, text, strlen(text),
	    0644), 0);
}

static void
pause_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* One event to append. */
struct ev {
	const char	*raw;
	size_t		 raw_len;	/* 0: strlen */
	const char	*host;
	const char	*drill;		/* NULL: none */
	uint8_t		 source;	/* 0: JSRC_SYSLOG_UDP */
	uint64_t	 time_us;
};

static void
append(struct fixture *f, const struct ev *in, size_t n)
{
	journal_t	*j;
	struct jevent	*ev = calloc(n, sizeof(*ev));

	assert_non_null(ev);
	for (size_t i = 0; i < n; i++) {
		ev[i].source = in[i].source ? in[i].source : JSRC_SYSLOG_UDP;
		ev[i].time_us = in[i].time_us;
		ev[i].recv_us = in[i].time_us;
		ev[i].raw = in[i].raw;
		ev[i].raw_len = in[i].raw_len ? in[i].raw_len :
		    strlen(in[i].raw);
		ev[i].host = in[i].host ? in[i].host : "web01";
		ev[i].host_len = strlen(ev[i].host);
		ev[i].agent = "";
		ev[i].file = "udp:127.0.0.1:514";
		ev[i].file_len = strlen(ev[i].file);
		if (in[i].drill != NULL) {
			ev[i].drill = in[i].drill;
			ev[i].drill_len = strlen(in[i].drill);
		}
	}
	assert_int_equal(journal_open(f->jdir, 0, 1 << 20, &j), 0);
	assert_int_equal(journal_append_plain(j, ev, n, NULL, 0), 0);
	journal_close(&j);
	free(ev);
}

/* ---- the engine in a child process ---------------------------------------- */

static volatile sig_atomic_t child_stop, child_reload;

static void
child_sig(int sig)
{
	if (sig == SIGHUP)
		child_reload = 1;
	else
		child_stop = 1;
}

static pid_t
start_engine(struct fixture *f)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sigaction sa;
		int ret;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = child_sig;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		log_init("engine", 1, LOG_LVL_WARN);
		ret = engine_run(&f->cfg, &child_stop, &child_reload);
		_exit(ret == 0 ? 0 : 3);
	}
	return pid;
}

/* Signal the engine and reap it; returns its exit code (-1: killed). */
static int
stop_engine(pid_t pid, int sig)
{
	int status;

	assert_int_equal(kill(pid, sig), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The committed cursor, or 0 while the state does not exist. */
static uint64_t
cursor_now(struct fixture *f)
{
	state_t		*s;
	uint64_t	 c = 0;

	if (state_open(f->sdir, STATE_RDONLY, 0, &s) != 0)
		return 0;
	assert_int_equal(state_cursor_get(s, &c), 0);
	state_close(&s);
	return c;
}

/* Wait (bounded) until the cursor reaches at least target. */
static uint64_t
wait_cursor(struct fixture *f, pid_t pid, uint64_t target)
{
	uint64_t c = 0;

	for (int i = 0; i < POLL_MAX; i++) {
		if ((c = cursor_now(f)) >= target)
			break;
		assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* alive */
		pause_us(POLL_US);
	}
	assert_true(c >= target);
	return c;
}

struct stat_get {
	const char	*name;
	uint64_t	 value;
	int		 found;
};

static int
stat_cb(const char *name, uint64_t value, void *arg)
{
	struct stat_get *g = arg;

	if (strcmp(name, g->name) == 0) {
		g->value = value;
		g->found = 1;
	}
	return 0;
}

static uint64_t
stat_now(struct fixture *f, const char *name)
{
	struct stat_get	 g = { name, 0, 0 };
	state_t		*s;

	if (state_open(f->sdir, STATE_RDONLY, 0, &s) != 0)
		return 0;
	assert_int_equal(state_stats_foreach(s, stat_cb, &g), 0);
	state_close(&s);
	return g.value;
}

static void
wait_stat(struct fixture *f, const char *name, uint64_t want)
{
	uint64_t v = 0;

	for (int i = 0; i < POLL_MAX && (v = stat_now(f, name)) < want; i++)
		pause_us(POLL_US);
	assert_int_equal(v, want);
}

/* ---- alerts as stored ------------------------------------------------------- */

struct alerts {
	json_t	*a[4096];
	size_t	 n;
};

static int
alerts_cb(const char *json, size_t len, void *arg)
{
	struct alerts	*al = arg;
	json_error_t	 err;
	json_t		*root = json_loadb(json, len, 0, &err);

	assert_non_null(root);
	assert_true(al->n < 4096);
	al->a[al->n++] = root;
	return 0;
}

/* Every alert, oldest first. */
static void
alerts_load(struct fixture *f, struct alerts *al)
{
	struct alert_query	 q = { 0 };
	state_t			*s;

	memset(al, 0, sizeof(*al));
	assert_int_equal(state_open(f->sdir, STATE_RDONLY, 0, &s), 0);
	assert_int_equal(state_alerts_query(s, &q, alerts_cb, al), 0);
	state_close(&s);
	for (size_t i = 0; i < al->n / 2; i++) {
		json_t *t = al->a[i];

		al->a[i] = al->a[al->n - 1 - i];
		al->a[al->n - 1 - i] = t;
	}
}

static void
alerts_free(struct alerts *al)
{
	for (size_t i = 0; i < al->n; i++)
		json_decref(al->a[i]);
	al->n = 0;
}

static const char *
jstr(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t
jint(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Check one alert's rule and event. */
static void
assert_alert(json_t *a, json_int_t id, const char *rule, json_int_t jseq)
{
	assert_int_equal(jint(a, "id", NULL), id);
	assert_string_equal(jstr(a, "rule", "id"), rule);
	assert_int_equal(jint(a, "event", "jseq"), jseq);
}

/* ---- tests ------------------------------------------------------------------- */

#define T0	1790000000000000ULL	/* 2026-09-21, an event time */

static void
test_alerts_exact(void **st)
{
	struct fixture	*f = *st;
	struct alerts	 al;
	json_t		*a, *mitre;
	state_t		*s;
	struct alert_query q = { 0 };
	pid_t		 pid;
	char		 buf[64];
	static const char bad_utf8[] =
	    "sshd[4]: Failed password for \xff\xc3 from 10.0.0.4";
	/* JSON specials and control bytes survive the round trip. */
	static const char quoted[] =
	    "sshd[9]: Failed password \"x\\y\"\t\x01\x7f\n\0 end";
	const struct ev first[] = {
		{ "sshd[1]: Failed password for root from 10.0.0.1 port 22",
		    0, "web01", NULL, 0, T0 + 1000000 },
		{ "CRON[2]: (root) CMD (run-parts)", 0, "web01", NULL, 0,
		    T0 + 2000000 },
		{ "sshd[3]: Accepted password for bob from 10.0.0.3", 0,
		    "web02", NULL, JSRC_SYSLOG_TCP, T0 + 3000000 },
		{ bad_utf8, sizeof(bad_utf8) - 1, "web01", NULL, 0,
		    T0 + 4000000 },
		{ "sshd[5]: Failed password for admin from 10.0.0.5", 0,
		    "web03", "drill-2026", JSRC_REPLAY, T0 + 5000000 },
	};
	const struct ev second[] = {
		{ "kernel: nothing to see", 0, "web01", NULL, 0, T0 + 6000000 },
		{ "sshd[7]: Accepted password for eve from 10.0.0.7", 0,
		    "web01", NULL, 0, T0 + 7000000 },
		{ "sshd[8]: Failed password for eve from 10.0.0.8", 0,
		    "web01", NULL, 0, T0 + 8000000 },
		{ quoted, sizeof(quoted) - 1, "web\"04", NULL, 0,
		    T0 + 9000000 },
	};

	write_rules(f, rules_main);
	/* The engine starts before the collector made the journal. */
	pid = start_engine(f);
	append(f, first, 5);
	wait_cursor(f, pid, 5);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);

	alerts_load(f, &al);
	assert_int_equal(al.n, 4);
	assert_alert(al.a[0], 1, "test.ssh.failed", 1);
	assert_alert(al.a[1], 2, "test.ssh.accepted", 3);
	assert_alert(al.a[2], 3, "test.ssh.failed", 4);
	assert_alert(al.a[3], 4, "test.ssh.failed", 5);

	/* The whole first alert, member by member. */
	a = al.a[0];
	format_rfc3339(T0 + 1000000, buf, sizeof(buf));
	assert_string_equal(jstr(a, "time", NULL), buf);
	assert_int_equal(jint(a, "time_us", NULL), T0 + 1000000);
	assert_int_equal(jint(a, "level", NULL), 5);
	assert_string_equal(jstr(a, "rule", "title"), "SSH failed password");
	mitre = json_pack("[s]", "T1110");
	assert_true(json_equal(json_object_get(json_object_get(a, "rule"),
	    "mitre"), mitre));
	json_decref(mitre);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(a, "rule"), "groups"), 0)),
	    "authentication_failed");
	assert_null(json_object_get(json_object_get(a, "rule"), "author"));
	assert_string_equal(jstr(a, "agent", NULL), "");
	assert_string_equal(jstr(a, "host", NULL), "web01");
	assert_string_equal(jstr(a, "message", NULL),
	    "sshd[1]: Failed password for root from 10.0.0.1 port 22");
	assert_true(json_is_object(json_object_get(a, "fields")));
	assert_string_equal(jstr(a, "event", "file"), "udp:127.0.0.1:514");
	assert_string_equal(jstr(a, "event", "source"), "syslog-udp");
	assert_null(json_object_get(a, "drill"));
	/* The first member is "id". */
	assert_string_equal(json_object_iter_key(json_object_iter(a)), "id");

	assert_string_equal(jstr(al.a[1], "host", NULL), "web02");
	assert_string_equal(jstr(al.a[1], "event", "source"), "syslog-tcp");
	assert_int_equal(jint(al.a[1], "level", NULL), 3);
	/* Invalid UTF-8 is replaced, the rest kept. */
	assert_string_equal(jstr(al.a[2], "message", NULL),
	    "sshd[4]: Failed password for \xef\xbf\xbd\xef\xbf\xbd "
	    "from 10.0.0.4");
	assert_string_equal(jstr(al.a[3], "drill", NULL), "drill-2026");
	assert_string_equal(jstr(al.a[3], "event", "source"), "replay");
	assert_string_equal(jstr(al.a[3], "host", NULL), "web03");
	alerts_free(&al);
	assert_int_equal(stat_now(f, "engine.events_processed"), 5);
	assert_int_equal(stat_now(f, "engine.alerts"), 4);
	assert_int_equal(stat_now(f, "engine.cursor"), 5);
	assert_int_equal(stat_now(f, "engine.rules_loaded"), 3);
	assert_true(stat_now(f, "engine.heartbeat_us") > 0);

	/* More events, a new run: only the new ones are processed. */
	append(f, second, 4);
	pid = start_engine(f);
	wait_cursor(f, pid, 9);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);
	alerts_load(f, &al);
	assert_int_equal(al.n, 7);
	assert_alert(al.a[0], 1, "test.ssh.failed", 1);
	assert_alert(al.a[3], 4, "test.ssh.failed", 5);
	assert_alert(al.a[4], 5, "test.ssh.accepted", 7);
	assert_alert(al.a[5], 6, "test.ssh.failed", 8);
	assert_alert(al.a[6], 7, "test.ssh.failed", 9);
	/* ... except the NUL, shown as U+FFFD. */
	assert_string_equal(jstr(al.a[6], "message", NULL),
	    "sshd[9]: Failed password \"x\\y\"\t\x01\x7f\n\xef\xbf\xbd end");
	assert_string_equal(jstr(al.a[6], "host", NULL), "web\"04");
	alerts_free(&al);
	assert_int_equal(stat_now(f, "engine.events_processed"), 9);
	assert_int_equal(stat_now(f, "engine.alerts"), 7);
	assert_int_equal(cursor_now(f), 9);

	/* The host index holds the host as shown. */
	assert_int_equal(state_open(f->sdir, STATE_RDONLY, 0, &s), 0);
	q.host = "web\"04";
	assert_int_equal(state_alerts_query(s, &q, alerts_cb, &al), 0);
	assert_int_equal(al.n, 1);
	assert_alert(al.a[0], 7, "test.ssh.failed", 9);
	alerts_free(&al);
	q.host = "web03";
	assert_int_equal(state_alerts_query(s, &q, alerts_cb, &al), 0);
	assert_int_equal(al.n, 1);
	assert_alert(al.a[0], 4, "test.ssh.failed", 5);
	alerts_free(&al);
	state_close(&s);
}

/* kill -9 in the middle of the journal, then a restart: every event that
 * should alert did so exactly once. */
static void
test_kill9_exactly_once(void **st)
{
	struct fixture	*f = *st;
	enum { NEV = 1500 };
	static struct ev evs[NEV];
	static char	 lines[NEV][80];
	static int	 seen[NEV + 1];
	struct alerts	 al;
	pid_t		 pid;

	for (int i = 0; i < NEV; i++) {
		snprintf(lines[i], sizeof(lines[i]), (i + 1) % 3 == 0 ?
		    "sshd[%d]: Failed password for u%d" :
		    "sshd[%d]: session opened for u%d", i, i);
		evs[i] = (struct ev){ lines[i], 0, "web01", NULL, 0,
		    T0 + (uint64_t)i * 1000 };
	}
	write_rules(f, rules_main);
	append(f, evs, NEV);
	f->cfg.batch_events = 5;
	pid = start_engine(f);
	wait_cursor(f, pid, 1);
	assert_int_equal(stop_engine(pid, SIGKILL), -1);

	pid = start_engine(f);
	wait_cursor(f, pid, NEV);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);

	alerts_load(f, &al);
	assert_int_equal(al.n, NEV / 3);
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < al.n; i++) {
		json_int_t jseq = jint(al.a[i], "event", "jseq");

		assert_true(jseq >= 1 && jseq <= NEV && jseq % 3 == 0);
		assert_int_equal(seen[jseq]++, 0);
		assert_int_equal(jint(al.a[i], "id", NULL), (json_int_t)i + 1);
	}
	alerts_free(&al);
	assert_int_equal(stat_now(f, "engine.alerts"), NEV / 3);
}

/* An audit event whose records straddle an engine restart (kill -9 after
 * its first two records were committed) is still assembled, exactly
 * once: the events in progress commit with the cursor. */
static void
test_audit_across_restart(void **st)
{
	struct fixture	*f = *st;
	static const char rules_audit[] =
	    "decoders:\n"
	    "  - name: audit\n"
	    "    type: audit\n"
	    "rules:\n"
	    "  - id: test.audit.exec\n"
	    "    title: id run\n"
	    "    level: 5\n"
	    "    fields:\n"
	    "      EventID: '1'\n"
	    "      Image: /usr/bin/id\n"
	    "      CommandLine: id -u\n"
	    "      CurrentDirectory: /root\n";
	struct ev first[] = {
		{ "type=SYSCALL msg=audit(1790000000.100:77): arch=c000003e "
		  "syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 "
		  "ppid=10 pid=11 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
		  "egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"id\" "
		  "exe=\"/usr/bin/id\" key=(null)", 0, "srv", NULL, 0, T0 },
		{ "type=EXECVE msg=audit(1790000000.100:77): argc=2 a0=\"id\" "
		  "a1=\"-u\"", 0, "srv", NULL, 0, T0 + 1 },
	};
	struct ev second[] = {
		{ "type=CWD msg=audit(1790000000.100:77): cwd=\"/root\"", 0,
		  "srv", NULL, 0, T0 + 2 },
		{ "type=PROCTITLE msg=audit(1790000000.100:77): "
		  "proctitle=6964002D75", 0, "srv", NULL, 0, T0 + 3 },
		{ "type=EOE msg=audit(1790000000.100:77): ", 0, "srv", NULL, 0,
		  T0 + 4 },
	};
	struct alerts	 al;
	pid_t		 pid;

	write_rules(f, rules_audit);
	f->cfg.batch_events = 1;
	append(f, first, 2);
	pid = start_engine(f);
	wait_cursor(f, pid, 2);
	assert_int_equal(stop_engine(pid, SIGKILL), -1);

	append(f, second, 3);
	pid = start_engine(f);
	wait_cursor(f, pid, 5);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);

	alerts_load(f, &al);
	assert_int_equal(al.n, 1);
	assert_alert(al.a[0], 1, "test.audit.exec", 4);
	alerts_free(&al);
	assert_int_equal(stat_now(f, "engine.audit_events_assembled"), 1);
	assert_int_equal(stat_now(f, "engine.audit_events_incomplete"), 0);
}

static void
test_broken_rules_refused(void **st)
{
	struct fixture		*f = *st;
	volatile sig_atomic_t	 stop = 0, reload = 0;

	write_rules(f, rules_broken);
	log_init("engine", 1, LOG_LVL_ERR);
	assert_int_equal(engine_run(&f->cfg, &stop, &reload), TS_EPARSE);
	f->paths[0] = "/nonexistent/rules.yml";
	assert_true(engine_run(&f->cfg, &stop, &reload) < 0);
	f->paths[0] = f->rules;
}

static void
test_reload(void **st)
{
	struct fixture	*f = *st;
	struct alerts	 al;
	pid_t		 pid;
	const struct ev	 e1[] = {
		{ "app: alpha one", 0, "h1", NULL, 0, T0 + 1 },
		{ "app: beta one", 0, "h1", NULL, 0, T0 + 2 },
	};
	const struct ev	 e2[] = {
		{ "app: alpha two", 0, "h1", NULL, 0, T0 + 3 },
		{ "app: beta two", 0, "h1", NULL, 0, T0 + 4 },
	};

	write_rules(f, rules_alpha);
	append(f, e1, 2);
	pid = start_engine(f);
	wait_cursor(f, pid, 2);

	/* A broken set is refused; the running one stays. */
	write_rules(f, rules_broken);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_stat(f, "engine.reload_failed", 1);
	assert_int_equal(stat_now(f, "engine.reloads"), 0);

	write_rules(f, rules_beta);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_stat(f, "engine.reloads", 1);
	append(f, e2, 2);
	wait_cursor(f, pid, 4);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);

	alerts_load(f, &al);
	assert_int_equal(al.n, 2);
	assert_alert(al.a[0], 1, "test.alpha", 1);
	assert_alert(al.a[1], 2, "test.beta", 4);
	assert_int_equal(jint(al.a[1], "level", NULL), 6);
	alerts_free(&al);
	assert_int_equal(stat_now(f, "engine.reload_failed"), 1);
	assert_int_equal(stat_now(f, "engine.rules_loaded"), 1);
}

/* Rules for the engine's own events (agreement: synthetic tocsin lines). */
static const char rules_tocsin[] =
    "rules:\n"
    "  - id: t.reloaded\n"
    "    title: reloaded\n"
    "    level: 3\n"
    "    program: tocsin\n"
    "    match: '^rule set reloaded: 2 rules$'\n"
    "  - id: t.refused\n"
    "    title: refused\n"
    "    level: 9\n"
    "    program: tocsin\n"
    "    match: '^rule set reload refused: [0-9]+ errors?$'\n";

/* A refused and an accepted reload are evaluated as tocsin's own lines;
 * alerts carry "detected" and, at or above the incident level, "incident". */
static void
test_reload_internal_events(void **st)
{
	struct fixture	*f = *st;
	struct alerts	 al;
	pid_t		 pid;
	const struct ev	 e1[] = {
		{ "app: nothing", 0, "h1", NULL, 0, T0 + 1 },
	};

	f->cfg.incident_min_level = 8;
	f->cfg.incident_window_us = 3600ULL * 1000000;
	write_rules(f, rules_tocsin);
	append(f, e1, 1);
	pid = start_engine(f);
	wait_cursor(f, pid, 1);
	write_rules(f, rules_broken);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_stat(f, "engine.reload_failed", 1);
	write_rules(f, rules_tocsin);
	assert_int_equal(kill(pid, SIGHUP), 0);
	wait_stat(f, "engine.reloads", 1);
	wait_stat(f, "engine.alerts", 2);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);

	alerts_load(f, &al);
	assert_int_equal(al.n, 2);
	assert_string_equal(jstr(al.a[0], "rule", "id"), "t.refused");
	assert_string_equal(jstr(al.a[0], "event", "source"), "internal");
	assert_string_equal(jstr(al.a[0], "event", "file"), "tocsind");
	assert_non_null(jstr(al.a[0], "detected", NULL));
	assert_int_equal(jint(al.a[0], "incident", NULL), 1);
	assert_string_equal(jstr(al.a[1], "rule", "id"), "t.reloaded");
	assert_null(json_object_get(al.a[1], "incident"));	/* level 3 */
	alerts_free(&al);
}

/* A Sigma correlation with its base rule: JSON events, a test log source. */
#define SIGMA_GEN_RULES(generate)					\
    "decoders:\n"							\
    "  - name: gen-json\n"						\
    "    type: json\n"							\
    "---\n"								\
    "sigma_logsources:\n"						\
    "  - product: test\n"						\
    "---\n"								\
    "title: failed login\n"						\
    "id: gen-fail\n"							\
    "name: fail\n"							\
    "author: tocsin\n"							\
    "logsource: {product: test}\n"					\
    "detection:\n"							\
    "  sel:\n"								\
    "    Kind: fail\n"							\
    "  condition: sel\n"						\
    "level: low\n"							\
    "---\n"								\
    "title: two failures\n"						\
    "id: gen-corr\n"							\
    "author: tocsin\n"							\
    "correlation:\n"							\
    "  type: event_count\n"						\
    "  rules: [fail]\n"						\
    "  group-by: [User]\n"						\
    "  timespan: 1m\n"							\
    "  condition: {gte: 2}\n"						\
    generate								\
    "level: high\n"

/* Sigma's generate: false (the default) keeps the base rule's matches for
 * the correlation only; generate: true lets it alert too. */
static void
test_sigma_generate(void **st)
{
	struct fixture	*f = *st;
	struct alerts	 al;
	pid_t		 pid;
	const struct ev	 e1[] = {
		{ "{\"Kind\": \"fail\", \"User\": \"a\"}", 0, "h1", NULL, 0,
		    T0 + 1 },
		{ "{\"Kind\": \"fail\", \"User\": \"a\"}", 0, "h1", NULL, 0,
		    T0 + 2 },
	};
	const struct ev	 e2[] = {	/* past the first firing's quiet time */
		{ "{\"Kind\": \"fail\", \"User\": \"a\"}", 0, "h1", NULL, 0,
		    T0 + 200000000 },
		{ "{\"Kind\": \"fail\", \"User\": \"a\"}", 0, "h1", NULL, 0,
		    T0 + 200000001 },
	};

	write_rules(f, SIGMA_GEN_RULES(""));
	append(f, e1, 2);
	pid = start_engine(f);
	wait_cursor(f, pid, 2);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);
	alerts_load(f, &al);
	assert_int_equal(al.n, 1);
	assert_string_equal(jstr(al.a[0], "rule", "id"), "gen-corr");
	alerts_free(&al);

	write_rules(f, SIGMA_GEN_RULES("  generate: true\n"));
	append(f, e2, 2);
	pid = start_engine(f);
	wait_cursor(f, pid, 4);
	assert_int_equal(stop_engine(pid, SIGTERM), 0);
	alerts_load(f, &al);
	assert_int_equal(al.n, 4);	/* + two base alerts and the second
					 * correlation alert */
	assert_string_equal(jstr(al.a[1], "rule", "id"), "gen-fail");
	assert_string_equal(jstr(al.a[2], "rule", "id"), "gen-fail");
	assert_string_equal(jstr(al.a[3], "rule", "id"), "gen-corr");
	alerts_free(&al);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alerts_exact, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kill9_exactly_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit_across_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_rules_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigma_generate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_internal_events,
		    setup, teardown),
	};

	log_init("test_engine", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
