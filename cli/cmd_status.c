/*
 * cmd_status.c - `tocsin status`: is the server alive and keeping up?
 *
 * Processes: the pid files under DATADIR/run (tocsind, collector, engine)
 * with the gauges "<proc>.started_us" and "<proc>.heartbeat_us" the
 * collector and the engine write into their stats dbs.  Progress: the last
 * journaled jseq and the engine's cursor (their difference is the lag).
 * Counters: every counter of both stats dbs, the ones that count refusals,
 * drops and caps apart and marked "!" when non-zero.
 */
#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli_int.h"
#include "common/config.h"
#include "common/datadir.h"
#include "common/err.h"
#include "collector/journal.h"
#include "outputs/outputs.h"
#include "engine/state.h"
#include "common/util.h"
#include "common/wire.h"


/* A process whose heartbeat (written at least every second) is older than
 * this is reported stalled. */
#define HEARTBEAT_STALE_US	(10ULL * 1000000)

/* Counters kept for the report; both stats dbs together stay far below. */
#define MAX_STATUS_COUNTERS	4096

enum { OPT_JSON = 256 };

static const struct cli_opt status_opts[] = {
	{ "json", 0, OPT_JSON, NULL,
	  "one JSON object instead of the report" },
};

static const struct cli_optgroup status_groups[] = {
	{ NULL, CLI_TABLE(status_opts) },
};

const struct cli_help cmd_status_help = {
	"usage: tocsin status [--json] [-c CONFIG] [-D DATADIR]\n"
	"\n"
	"Show the health of the server in DATADIR: the tocsind, collector and\n"
	"engine processes (pid, running or not, started, age of the last\n"
	"heartbeat), events journaled, events processed by the engine and the\n"
	"engine's lag, and every counter of the collector and the engine.\n"
	"Counters of refusals, drops and caps are listed apart; a non-zero one\n"
	"is marked with '!'.  So are the agents' own counters of lost or\n"
	"damaged input (lines truncated, bad encoding, read errors, spool full,\n"
	"journal errors, configurations refused) from their last heartbeat,\n"
	"each with the agent's name.\n",
	CLI_TABLE(status_groups),
	"Exit status: 0 if the collector and the engine both run (with a fresh\n"
	"heartbeat), 1 if not, 2 on a usage error or a missing data directory.\n"
	"\n"
	"Examples:\n"
	"  tocsin status\n"
	"  tocsin -D /var/lib/tocsin status --json\n",
};

/* Name fragments of counters that count refusals, drops and caps (the
 * delivery contract: nothing is dropped silently, so these must stand out).
 * The daemons name their counters; this table is the CLI's reading of them. */
static const char *const refusal_words[] = {
	"refus", "drop", "reject", "denied", "overflow", "truncat", "malformed",
	"toobig", "too_big", "full", "limit", "lost", "evict", "fail", "error",
	"invalid", "capped", "missed", "gap", "unroutable",
};

struct stat_counter {
	char		*name;
	uint64_t	 value;
};

struct counters {
	struct stat_counter	*c;
	size_t			 n, cap;
	int			 rc;
};

struct proc {
	const char	*name;		/* "collector" */
	int		 has_stats;	/* writes heartbeat/started gauges */
	long		 pid;		/* 0: no pid file */
	int		 alive;		/* pid runs */
	uint64_t	 started_us, heartbeat_us;	/* 0: unknown */
	const char	*state;		/* "running", "stalled", ... */
	int		 ok;
};

static int is_refusal(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(refusal_words) / sizeof(refusal_words[0]); i++)
		if (strstr(name, refusal_words[i]) != NULL)
			return 1;
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "*.pid" and "*_us" are gauges (common/stats.h), not counts. */
static int is_gauge(const char *name)
{
	return ends_with(name, ".pid") || ends_with(name, "_us");
}

static int counter_cb(const char *name, uint64_t value, void *arg)
{
	struct counters *cs = arg;
	struct stat_counter *c;
	size_t cap;

	if (cs->n == MAX_STATUS_COUNTERS)
		return 1;
	if (cs->n == cs->cap) {
		cap = cs->cap ? cs->cap * 2 : 64;
		if ((c = realloc(cs->c, cap * sizeof(*c))) == NULL) {
			cs->rc = TS_ENOMEM;
			return 1;
		}
		cs->c = c;
		cs->cap = cap;
	}
	if ((cs->c[cs->n].name = strdup(name)) == NULL) {
		cs->rc = TS_ENOMEM;
		return 1;
	}
	cs->c[cs->n++].value = value;
	return 0;
}

static const struct stat_counter *counter_find(const struct counters *cs,
    const char *name)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->c[i].name, name) == 0)
			return &cs->c[i];
	return NULL;
}

/* The agents' counters of lost or damaged input, from their last heartbeat
 * (the journal's agent records): named "AGENT agent.lines_truncated". */
static int agent_loss_cb(const char *agent, const struct jagent *a,
    void *arg)
{
	struct counters *cs = arg;
	char n[MAX_NAME_BYTES + 2 + MAX_COUNTER_NAME_BYTES + 1];

	for (size_t i = 0; i < a->nctrs && i < MAX_HB_COUNTERS; i++) {
		const struct jagent_ctr *k = &a->ctrs[i];
		size_t kl = strnlen(k->name, sizeof(k->name));

		if (k->value == 0 || kl == sizeof(k->name) ||
		    !wire_hb_counter_is_loss(k->name, kl))
			continue;
		snprintf(n, sizeof(n), "%s %s", agent, k->name);
		if (counter_cb(n, k->value, cs) != 0)
			return 1;
	}
	return 0;
}

static void counters_free(struct counters *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		free(cs->c[i].name);
	free(cs->c);
	memset(cs, 0, sizeof(*cs));
}

static void proc_probe(const char *dd, struct proc *p,
    const struct counters *cs, uint64_t now)
{
	const struct stat_counter *sc;
	char *path, name[64];

	p->pid = 0;
	if ((path = datadir_pidfile(dd, p->name)) != NULL &&
	    pidfile_read(path, &p->pid) != 0)
		p->pid = 0;
	free(path);
	p->alive = p->pid > 0 && pid_alive(p->pid);
	if (p->has_stats) {
		snprintf(name, sizeof(name), "%s.started_us", p->name);
		if ((sc = counter_find(cs, name)) != NULL)
			p->started_us = sc->value;
		snprintf(name, sizeof(name), "%s.heartbeat_us", p->name);
		if ((sc = counter_find(cs, name)) != NULL)
			p->heartbeat_us = sc->value;
	}
	if (!p->alive) {
		p->state = p->pid > 0 ? "not running (stale pid file)" :
		    "not running";
		p->ok = 0;
	} else if (p->heartbeat_us != 0 && now > p->heartbeat_us &&
	    now - p->heartbeat_us > HEARTBEAT_STALE_US) {
		p->state = "stalled (old heartbeat)";
		p->ok = 0;
	} else {
		p->state = "running";
		p->ok = 1;
	}
}

static size_t nonzero_refusals(const struct counters *cs)
{
	size_t i, n = 0;

	for (i = 0; i < cs->n; i++)
		if (cs->c[i].value != 0 && !is_gauge(cs->c[i].name) &&
		    is_refusal(cs->c[i].name))
			n++;
	return n;
}

static void print_counters(const char *group, const struct counters *cs)
{
	size_t i, w = 0, nref = 0, nplain = 0, ngauge = 0;
	char t[40];

	for (i = 0; i < cs->n; i++) {
		size_t l = strlen(cs->c[i].name);
		if (l > w)
			w = l;
		if (is_gauge(cs->c[i].name))
			continue;
		if (is_refusal(cs->c[i].name))
			nref++;
		else
			nplain++;
	}
	printf("\n%s counters:\n", group);
	if (nplain == 0)
		printf("  (none stored)\n");
	for (i = 0; i < cs->n; i++)
		if (!is_gauge(cs->c[i].name) && !is_refusal(cs->c[i].name))
			printf("  %-*s  %llu\n", (int)w, cs->c[i].name,
			    (unsigned long long)cs->c[i].value);
	printf("\n%s refusals, drops and caps ('!' = non-zero):\n", group);
	if (nref == 0)
		printf("  (none stored)\n");
	for (i = 0; i < cs->n; i++)
		if (!is_gauge(cs->c[i].name) && is_refusal(cs->c[i].name))
			printf("%c %-*s  %llu\n", cs->c[i].value ? '!' : ' ',
			    (int)w, cs->c[i].name,
			    (unsigned long long)cs->c[i].value);
	/* Other gauges (pid, heartbeat and start time show in the process
	 * table above). */
	for (i = 0; i < cs->n; i++) {
		const char *n = cs->c[i].name;
		if (!is_gauge(n) || strstr(n, ".heartbeat_us") != NULL ||
		    strstr(n, ".started_us") != NULL ||
		    ends_with(n, ".pid"))
			continue;
		if (ngauge++ == 0)
			printf("\n%s gauges:\n", group);
		/* a wall-clock gauge (after 2001) shows as a time */
		if (ends_with(n, "_us") && cs->c[i].value > 1000000000000000ULL) {
			cli_format_time_s(cs->c[i].value, t, sizeof(t));
			printf("  %-*s  %s\n", (int)w, n, t);
		} else {
			printf("  %-*s  %llu\n", (int)w, n,
			    (unsigned long long)cs->c[i].value);
		}
	}
}

/* The counters of one process, as `status` groups them. */
struct cgroup {
	const char		*title;
	const struct counters	*cs;
};

/* Disk use of the data directory, for sizing it (docs/operations.md). */
struct disk {
	int		 ok;		/* statvfs worked */
	uint64_t	 used;		/* bytes of the LMDB files */
	uint64_t	 free;		/* bytes free for tocsind */
	uint64_t	 per_day;	/* journal growth, bytes a day (0: unknown) */
	uint64_t	 oldest_us;	/* oldest journaled event (0: none) */
	uint64_t	 readers_now;	/* stale reader slots this command
					 * cleared when it opened them */
};

/* Journal history shorter than this gives no rate. */
#define DISK_MIN_SPAN_US	(3600ULL * 1000000)
#define DAY_US			(86400ULL * 1000000)

static void disk_probe(const char *dd, journal_t *j, struct disk *d)
{
	struct journal_span sp;
	struct statvfs vfs;
	struct stat st;
	char *p;

	/* the LMDB environments of the data directory (common/datadir.h) */
	for (size_t i = 0; i < DD_NENTRIES; i++) {
		if (!datadir_entries[i].dd_lmdb)
			continue;
		if ((p = xasprintf("%s/%s/data.mdb", dd,
		    datadir_entries[i].dd_name)) == NULL)
			continue;
		if (stat(p, &st) == 0)
			d->used += (uint64_t)st.st_blocks * 512;
		free(p);
	}
	if (statvfs(dd, &vfs) == 0) {
		d->ok = 1;
		d->free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	if (j != NULL && journal_span(j, &sp) == 0 && sp.first_jseq != 0) {
		d->oldest_us = sp.first_recv_us;
		if (sp.last_recv_us > sp.first_recv_us &&
		    sp.last_recv_us - sp.first_recv_us >= DISK_MIN_SPAN_US)
			d->per_day = (uint64_t)((double)sp.event_bytes *
			    (double)DAY_US / (double)(sp.last_recv_us -
			    sp.first_recv_us));
	}
}

static void size_str(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)b);
	else
		snprintf(buf, len, "%.1f %ciB", v, units[u]);
}

static void print_disk(const struct disk *d, uint64_t now)
{
	char a[32], b[32], c[32];

	size_str(d->used, a, sizeof(a));
	size_str(d->free, b, sizeof(b));
	if (!d->ok) {
		printf("disk:              %s used, free space unknown\n", a);
		return;
	}
	if (d->per_day == 0) {
		printf("disk:              %s used, %s free; days left: "
		    "unknown (less than an hour of journal)\n", a, b);
	} else {
		size_str(d->per_day, c, sizeof(c));
		printf("disk:              %s used, %s free; journal grows "
		    "%s/day: %.0f days left at this rate\n", a, b, c,
		    (double)d->free / (double)d->per_day);
	}
	if (d->readers_now != 0)
		printf("reader slots:      %llu left by dead processes, cleared "
		    "now\n", (unsigned long long)d->readers_now);
	if (d->oldest_us != 0) {
		cli_format_age(now > d->oldest_us ? now - d->oldest_us : 0, a,
		    sizeof(a));
		printf("oldest event:      %s ago\n", a);
	}
}

static json_t *json_disk(const struct disk *d)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:I}",
	    "used_bytes", (json_int_t)d->used,
	    "free_bytes", d->ok ? json_integer((json_int_t)d->free) :
	    json_null(),
	    "journal_bytes_per_day", d->per_day ?
	    json_integer((json_int_t)d->per_day) : json_null(),
	    "days_left", d->ok && d->per_day ?
	    json_real((double)d->free / (double)d->per_day) : json_null(),
	    "oldest_event_us", d->oldest_us ?
	    json_integer((json_int_t)d->oldest_us) : json_null(),
	    "readers_cleared_now", (json_int_t)d->readers_now);
}

/* The agents' non-zero loss counters ("AGENT counter" names). */
static void print_agent_losses(const struct counters *al)
{
	size_t i, w = 0;

	printf("\nagents: lost or damaged input, from their heartbeats ('!' "
	    "= non-zero):\n");
	if (al->n == 0)
		printf("  (none reported)\n");
	for (i = 0; i < al->n; i++)
		if (strlen(al->c[i].name) > w)
			w = strlen(al->c[i].name);
	for (i = 0; i < al->n; i++)
		printf("! %-*s  %llu\n", (int)w, al->c[i].name,
		    (unsigned long long)al->c[i].value);
}

static void print_report(const char *dd, struct proc *procs, size_t nprocs,
    int have_journal, uint64_t last, int have_state, uint64_t cursor,
    const struct cgroup *g, size_t ng, const struct counters *al,
    const struct disk *disk, uint64_t now)
{
	table_t *t;
	static const struct table_col cols[] = {
		{ "PROCESS",   10, 10, 0, 0 },
		{ "STATE",     28, 10, 1, 0 },
		{ "PID",       10,  3, 0, 1 },
		{ "STARTED",   20, 20, 0, 0 },
		{ "HEARTBEAT", 12,  9, 0, 0 },
	};
	char tb[40], ab[24];
	size_t i, nz;

	printf("data directory: %s\n\n", dd);
	if ((t = table_new(cols, sizeof(cols) / sizeof(cols[0]))) != NULL) {
		for (i = 0; i < nprocs; i++) {
			struct proc *p = &procs[i];
			table_cell_str(t, p->name);
			table_cell_str(t, p->state);
			if (p->pid > 0)
				table_cellf(t, "%ld", p->pid);
			else
				table_cell_str(t, "-");
			if (p->started_us != 0) {
				cli_format_time_s(p->started_us, tb,
				    sizeof(tb));
				table_cell_str(t, tb);
			} else {
				table_cell_str(t, "-");
			}
			if (p->heartbeat_us != 0) {
				cli_format_age(now > p->heartbeat_us ?
				    now - p->heartbeat_us : 0, ab, sizeof(ab));
				table_cellf(t, "%s ago", ab);
			} else {
				table_cell_str(t, "-");
			}
		}
		table_free(&t);
	}
	printf("\n");
	if (have_journal)
		printf("events journaled:  %llu\n", (unsigned long long)last);
	else
		printf("events journaled:  - (no journal yet)\n");
	if (have_state)
		printf("events processed:  %llu\n", (unsigned long long)cursor);
	else
		printf("events processed:  - (no state yet)\n");
	if (have_journal && have_state)
		printf("engine lag:        %llu event(s)\n",
		    (unsigned long long)(last > cursor ? last - cursor : 0));
	print_disk(disk, now);
	nz = 0;
	for (i = 0; i < ng; i++)
		nz += nonzero_refusals(g[i].cs);
	nz += al->n;
	if (nz != 0)
		printf("! refusals/drops:  %zu counter(s) non-zero, marked '!' "
		    "below\n", nz);
	else
		printf("refusals/drops:    none\n");
	for (i = 0; i < ng; i++)
		print_counters(g[i].title, g[i].cs);
	print_agent_losses(al);
}

static json_t *json_counters(const struct counters *cs, int refusals)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o != NULL && i < cs->n; i++) {
		if (refusals && (is_gauge(cs->c[i].name) ||
		    !is_refusal(cs->c[i].name)))
			continue;
		json_object_set_new(o, cs->c[i].name,
		    json_integer((json_int_t)cs->c[i].value));
	}
	return o;
}

static int print_json(const char *dd, struct proc *procs, size_t nprocs,
    int ok, int have_journal, uint64_t last, int have_state, uint64_t cursor,
    const struct cgroup *g, size_t ng, const struct counters *al,
    const struct disk *disk, uint64_t now)
{
	json_t *o, *pa, *counters, *refusals, *losses, *tmp;
	char tb[40];
	char *s;
	size_t i;

	o = json_object();
	pa = json_array();
	for (i = 0; o != NULL && pa != NULL && i < nprocs; i++) {
		struct proc *p = &procs[i];
		json_t *po = json_object();
		if (po == NULL)
			break;
		json_object_set_new(po, "name", json_string(p->name));
		json_object_set_new(po, "pid", p->pid > 0 ?
		    json_integer(p->pid) : json_null());
		json_object_set_new(po, "running", json_boolean(p->ok));
		json_object_set_new(po, "state", json_string(p->state));
		if (p->started_us != 0) {
			format_rfc3339(p->started_us, tb, sizeof(tb));
			json_object_set_new(po, "started", json_string(tb));
		} else {
			json_object_set_new(po, "started", json_null());
		}
		json_object_set_new(po, "heartbeat_age_ms",
		    p->heartbeat_us == 0 ? json_null() :
		    json_integer((json_int_t)((now > p->heartbeat_us ?
		    now - p->heartbeat_us : 0) / 1000)));
		json_array_append_new(pa, po);
	}
	counters = json_object();
	refusals = json_object();
	for (i = 0; counters != NULL && refusals != NULL && i < ng; i++) {
		tmp = json_counters(g[i].cs, 0);
		if (tmp != NULL)
			json_object_update(counters, tmp);
		json_decref(tmp);
		tmp = json_counters(g[i].cs, 1);
		if (tmp != NULL)
			json_object_update(refusals, tmp);
		json_decref(tmp);
	}
	if (o == NULL || pa == NULL || counters == NULL || refusals == NULL) {
		json_decref(o);
		json_decref(pa);
		json_decref(counters);
		json_decref(refusals);
		return TS_ENOMEM;
	}
	json_object_set_new(o, "datadir", json_string(dd));
	json_object_set_new(o, "ok", json_boolean(ok));
	json_object_set_new(o, "processes", pa);
	/* Progress both flat and under the names scripts look counters up
	 * by ("journal.events", "engine.cursor", "engine.lag"). */
	json_object_set_new(o, "journaled", have_journal ?
	    json_integer((json_int_t)last) : json_null());
	json_object_set_new(o, "processed", have_state ?
	    json_integer((json_int_t)cursor) : json_null());
	json_object_set_new(o, "lag", have_journal && have_state ?
	    json_integer((json_int_t)(last > cursor ? last - cursor : 0)) :
	    json_null());
	if ((tmp = json_object()) != NULL) {
		json_object_set_new(tmp, "journal.events",
		    json_integer((json_int_t)last));
		json_object_set_new(tmp, "engine.cursor",
		    json_integer((json_int_t)cursor));
		json_object_set_new(tmp, "engine.lag",
		    json_integer((json_int_t)(last > cursor ? last - cursor :
		    0)));
		json_object_set_new(o, "progress", tmp);
	}
	json_object_set_new(o, "disk", json_disk(disk));
	json_object_set_new(o, "counters", counters);
	json_object_set_new(o, "refusals", refusals);
	/* {"AGENT": {"agent.lines_truncated": N, ...}, ...}: non-zero only */
	if ((losses = json_object()) != NULL) {
		for (i = 0; i < al->n; i++) {
			const char *sp = strchr(al->c[i].name, ' ');
			char agent[MAX_NAME_BYTES + 1];
			json_t *ao;

			if (sp == NULL || (size_t)(sp - al->c[i].name) >=
			    sizeof(agent))
				continue;
			memcpy(agent, al->c[i].name,
			    (size_t)(sp - al->c[i].name));
			agent[sp - al->c[i].name] = '\0';
			if ((ao = json_object_get(losses, agent)) == NULL) {
				ao = json_object();
				if (ao == NULL ||
				    json_object_set_new(losses, agent, ao) != 0)
					continue;
			}
			json_object_set_new(ao, sp + 1,
			    json_integer((json_int_t)al->c[i].value));
		}
		json_object_set_new(o, "agent_losses", losses);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return TS_ENOMEM;
	cli_print_line(s, strlen(s));
	free(s);
	return 0;
}

int cmd_status(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	struct proc procs[] = {
		{ .name = "tocsind",   .has_stats = 0 },
		{ .name = "collector", .has_stats = 1 },
		{ .name = "engine",    .has_stats = 1 },
		{ .name = "outputs",   .has_stats = 1 },
		{ .name = "api",       .has_stats = 1 },
	};
	const struct server_config *cfg = cli_config(c);
	/* the api process runs only when the configuration gives it an
	 * address */
	size_t nprocs = cfg != NULL && cfg->api_listen != NULL ? 5 : 4;
	struct counters jc, sc, oc, ac, al;
	struct cgroup groups[4];
	struct disk disk = { 0 };
	journal_t *j = NULL;
	state_t *st = NULL;
	const char *dd;
	char *jpath = NULL, *spath = NULL, *opath = NULL;
	uint64_t now = now_us(), last = 0, cursor = 0;
	int opt, rc, json = 0, ok, exit_rc = CLI_EXIT_FAIL;
	int have_journal = 0, have_state = 0;

	memset(&jc, 0, sizeof(jc));
	memset(&sc, 0, sizeof(sc));
	memset(&oc, 0, sizeof(oc));
	memset(&ac, 0, sizeof(ac));
	memset(&al, 0, sizeof(al));
	cli_opt_init(&p, c, cmd, CLI_TABLE(status_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_JSON:
			json = 1;
			break;
		default:
			return cli_usage_error(cmd, "unhandled option");
		}
	}
	if ((rc = cli_no_args(cmd, argc, argv)) != 0)
		return rc;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	jpath = datadir_path(dd, DD_JOURNAL);
	spath = datadir_path(dd, DD_STATE);
	opath = datadir_path(dd, DD_OUTPUTS);
	if (jpath == NULL || spath == NULL || opath == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}

	rc = journal_open(jpath, JOURNAL_RDONLY, 0, &j);
	if (rc == 0) {
		have_journal = 1;
		(void)journal_readers_reclaim(j, &disk.readers_now);
		if ((rc = journal_last_seq(j, &last)) != 0 ||
		    ((rc = journal_stats_foreach(j, counter_cb, &jc)) != 0 &&
		    rc != TS_ESTOP) || (rc = jc.rc) != 0)
			goto fail;
		if (((rc = journal_agent_foreach(j, agent_loss_cb, &al)) != 0 &&
		    rc != TS_ESTOP) || (rc = al.rc) != 0)
			goto fail;
	} else if (rc != TS_ENOTFOUND) {
		goto fail;
	}
	rc = state_open(spath, STATE_RDONLY, 0, &st);
	if (rc == 0) {
		have_state = 1;
		(void)state_readers_reclaim(st, &disk.readers_now);
		if ((rc = state_cursor_get(st, &cursor)) != 0 ||
		    ((rc = state_stats_foreach(st, counter_cb, &sc)) != 0 &&
		    rc != TS_ESTOP) || (rc = sc.rc) != 0)
			goto fail;
	} else if (rc != TS_ENOTFOUND) {
		goto fail;
	}
	rc = outputs_stats_foreach(opath, counter_cb, &oc);
	if (rc != 0 && rc != TS_ENOTFOUND && rc != TS_ESTOP)
		goto fail;
	if ((rc = oc.rc) != 0)
		goto fail;
	rc = api_stats_foreach(dd, counter_cb, &ac);
	if (rc != 0 && rc != TS_ENOTFOUND)
		goto fail;
	if ((rc = ac.rc) != 0)
		goto fail;

	proc_probe(dd, &procs[0], NULL, now);
	proc_probe(dd, &procs[1], &jc, now);
	proc_probe(dd, &procs[2], &sc, now);
	proc_probe(dd, &procs[3], &oc, now);
	proc_probe(dd, &procs[4], &ac, now);
	ok = procs[1].ok && procs[2].ok && procs[3].ok &&
	    (nprocs < 5 || procs[4].ok);
	disk_probe(dd, j, &disk);
	groups[0] = (struct cgroup){ "collector (journal)", &jc };
	groups[1] = (struct cgroup){ "engine (state)", &sc };
	groups[2] = (struct cgroup){ "outputs", &oc };
	groups[3] = (struct cgroup){ "api", &ac };
	if (json)
		rc = print_json(dd, procs, nprocs, ok, have_journal, last,
		    have_state, cursor, groups, 4, &al, &disk, now);
	else
		print_report(dd, procs, nprocs, have_journal, last, have_state,
		    cursor, groups, 4, &al, &disk, now);
	if (rc != 0)
		goto fail;
	exit_rc = ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	goto out;

fail:
	cli_err(cmd, "%s: %s", jpath != NULL ? dd : "status",
	    ts_strerror(rc));
	exit_rc = CLI_EXIT_FAIL;
out:
	journal_close(&j);
	state_close(&st);
	counters_free(&jc);
	counters_free(&sc);
	counters_free(&oc);
	counters_free(&ac);
	counters_free(&al);
	free(jpath);
	free(spath);
	free(opath);
	return exit_rc;
}
