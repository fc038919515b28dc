/*
 * cmd_agents.c - `tocsin agents`: enroll an agent (a fresh CURVE key pair,
 * its public key admitted, its complete configuration written), revoke one,
 * and list the enrolled agents with what the journal knows of them.
 *
 * Enrollment only touches files under DATADIR/keys (common/keys.h), so it
 * works whether the server runs or not; a running collector notices.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "common/datadir.h"
#include "common/endpoint.h"
#include "common/err.h"
#include "collector/journal.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/tokens.h"
#include "common/util.h"
#include "common/yamltree.h"
#include "common/wire.h"

/* An agent heard from within this is "connected". */
#define AGENT_CONNECTED_US	(30ULL * 1000000)

/* --follow options accepted by one `agents add`. */
#define MAX_FOLLOW_FILES	256

/* Enrolled agents listed at most (keeps memory bounded). */
#define MAX_LIST_AGENTS		100000

enum { OPT_JSON = 256, OPT_ENDPOINT, OPT_FOLLOW, OPT_AGENT_DATA, OPT_TTL,
    OPT_USES, OPT_GROUP };

static const struct cli_opt list_opts[] = {
	{ "json", 0, OPT_JSON, NULL, "one JSON object per agent and line" },
};

static const struct cli_opt add_opts[] = {
	{ "output", 'o', 'o', "FILE",
	  "write the configuration to FILE (default:\n"
	  "standard output)" },
	{ "endpoint", 0, OPT_ENDPOINT, "EP",
	  "server endpoint the agent connects to\n"
	  "(default: the server's collector.listen,\n"
	  "a 0.0.0.0 or * host replaced by 127.0.0.1)" },
	{ "follow", 0, OPT_FOLLOW, "FILE",
	  "a log file to follow; repeat for more\n"
	  "(default: /var/log/auth.log)" },
	{ "agent-data", 0, OPT_AGENT_DATA, "DIR",
	  "the agent's spool and offsets (default:\n"
	  "var/agent-NAME)" },
	{ "group", 0, OPT_GROUP, "G",
	  "the agent's group, whose central\n"
	  "configuration it runs (default: default)" },
};

static const struct cli_opt token_opts[] = {
	{ "ttl", 0, OPT_TTL, "DUR",
	  "create: how long the token is valid\n(default 7d)" },
	{ "uses", 0, OPT_USES, "N",
	  "create: enrolments it allows (default 1)" },
	{ "group", 0, OPT_GROUP, "G",
	  "create: the group the agents it enrols\n"
	  "join (default: default)" },
	{ "json", 0, OPT_JSON, NULL, "list: one JSON object per token" },
};

static const struct cli_optgroup agents_groups[] = {
	{ "Options of list:", CLI_TABLE(list_opts) },
	{ "Options of add:", CLI_TABLE(add_opts) },
	{ "Options of token:", CLI_TABLE(token_opts) },
};

const struct cli_help cmd_agents_help = {
	"usage: tocsin agents [list] [--json]\n"
	"       tocsin agents add NAME [-o FILE] [--endpoint EP] [--follow FILE]...\n"
	"                     [--agent-data DIR] [--group G]\n"
	"       tocsin agents remove NAME\n"
	"       tocsin agents token create [--ttl DUR] [--uses N] [--group G]\n"
	"       tocsin agents token list [--json]\n"
	"       tocsin agents token revoke ID\n"
	"       (each also takes -c CONFIG and -D DATADIR)\n"
	"\n"
	"list    The enrolled agents with their state: connected (heard from in\n"
	"        the last 30 s), disconnected since a time, or never seen; the\n"
	"        time of their last event, events journaled, events waiting in\n"
	"        their spool (\"full!\" when the spool is at its cap and the\n"
	"        agent stopped reading), version and host, its group and the\n"
	"        version of the group configuration it runs (\"-\": none yet).\n"
	"        Agents the journal knows that are no longer enrolled show as\n"
	"        \"not enrolled\".\n"
	"\n"
	"add     Enroll agent NAME ([A-Za-z0-9._-], at most 64, not starting\n"
	"        with '.' or '-'): generate its CURVE key pair, admit its public\n"
	"        key (the server's key pair is created if the server never ran)\n"
	"        and write its complete tocsin-agent configuration, which holds\n"
	"        its SECRET key, with mode 0600.\n"
	"\n"
	"        Its group (--group) says which central configuration it runs.\n"
	"\n"
	"remove  Revoke agent NAME: the collector refuses its key from now on.\n"
	"\n"
	"token   Enrolment tokens, with which PCs enrol themselves\n"
	"        (`tocsin-agent enroll`) through the server's\n"
	"        collector.enroll_listen: no secret file is carried by hand.\n"
	"        create prints a new token (stored hashed; valid for --ttl\n"
	"        and --uses enrolments) and the server's public key, which\n"
	"        the PC pins as --fingerprint.  list shows the tokens (never\n"
	"        their secret); revoke removes one.\n"
	"\n"
	"Groups: every agent belongs to a group (\"default\" unless its token\n"
	"or --group says otherwise).  The collection settings of group G\n"
	"(follow:, journal:, spool:) live on the server in G.yml in the\n"
	"folder collector.groups (/etc/tocsin/groups when installed); the\n"
	"collector sends them to the group's agents when they connect and\n"
	"whenever the file changes.  A file with an error is refused as a\n"
	"whole (file:line:col in the server's log) and the agents keep their\n"
	"last good configuration.\n",
	CLI_TABLE(agents_groups),
	"Exit status: 0 on success; 2 on a bad name, an agent already enrolled\n"
	"(add), an agent not enrolled (remove) or a missing data directory.\n"
	"\n"
	"Examples:\n"
	"  tocsin agents add web01 -o web01.yml --follow /var/log/auth.log \\\n"
	"      --follow /var/log/syslog --endpoint tcp://soc.example.org:7514\n"
	"  tocsin agents\n"
	"  tocsin agents remove web01\n"
	"  tocsin agents token create --ttl 7d --uses 500 --group web\n",
};

static int agents_add(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv);
static int agents_remove(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv);
static int agents_list(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv);
static int agents_token(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv);

/* The sub-command table of `tocsin agents`. */
static const struct cli_sub agents_subcommands[] = {
	{ "list", agents_list },
	{ "add", agents_add },
	{ "remove", agents_remove },
	{ "token", agents_token },
};

/* The single NAME argument of add/remove: 0, or 2 after a message. */
static int one_name(const struct cli_cmd *cmd, int argc, char **argv,
    const char **name)
{
	char eb[300];

	if (optind >= argc)
		return cli_usage_error(cmd, "missing agent NAME");
	if (optind + 1 < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    cli_esc(argv[optind + 1], eb, sizeof(eb)));
	*name = argv[optind];
	return cli_check_name(cmd, NAME_AGENT, "agent name", *name);
}

/* ---- add ------------------------------------------------------------------ */

struct agent_conf {
	const char	*name;
	const char	*data_dir;
	const char	*endpoint;
	const char	*listen;	/* set when endpoint was derived */
	int		 replaced;	/* wildcard host replaced */
	const char	*server_pub;
	const char	*pub, *sec;
	const char	**follow;
	size_t		 nfollow;
};

/* The complete agent configuration (format of agent_config_load) into a
 * malloc'd buffer (*out, *len; caller frees).  0 or TS_ENOMEM. */
static int agent_conf_render(const struct agent_conf *a, char **out,
    size_t *len)
{
	FILE *fp;
	char now[40];
	size_t i;

	*out = NULL;
	if ((fp = open_memstream(out, len)) == NULL)
		return TS_ENOMEM;
	cli_format_time_s(now_us(), now, sizeof(now));
	fprintf(fp,
	    "# tocsin-agent configuration for agent \"%s\" (contains its "
	    "secret key: mode 0600)\n"
	    "# Written by `tocsin agents add %s` on %s.  Whoever holds\n"
	    "# keys.secret can send events as %s: keep this file on that "
	    "endpoint\n"
	    "# only.  Revoke the agent with `tocsin agents remove %s`.\n"
	    "agent:\n"
	    "  name: %s\n"
	    "  data_dir: ", a->name, a->name, now, a->name, a->name, a->name);
	yt_write_quoted(fp, a->data_dir);
	fprintf(fp, "     # spool and file offsets\n"
	    "  # host: %s                 # default: gethostname()\n"
	    "server:\n", a->name);
	if (a->listen != NULL && a->replaced)
		fprintf(fp, "  # The server listens on %s; its wildcard host "
		    "is replaced\n  # by loopback here.  On another machine, "
		    "put the server's address.\n", a->listen);
	fputs("  endpoint: ", fp);
	yt_write_quoted(fp, a->endpoint);
	fprintf(fp, "\n  public_key: \"%s\"\n"
	    "keys:\n"
	    "  public: \"%s\"\n"
	    "  secret: \"%s\"\n"
	    "# Log files to follow, across rotation and truncation.\n"
	    "follow:\n", a->server_pub, a->pub, a->sec);
	for (i = 0; i < a->nfollow; i++) {
		fputs("  - ", fp);
		yt_write_quoted(fp, a->follow[i]);
		fputc('\n', fp);
	}
	fputs("# true: read the files from their start the first time; "
	    "false: only new lines.\n"
	    "from_start: false\n"
	    "batch:\n"
	    "  max_events: 512\n"
	    "  max_wait: 200ms\n"
	    "# Events kept on disk until the server acknowledges them; at the "
	    "cap the\n"
	    "# agent stops reading (the files are the buffer) and says so.\n"
	    "spool:\n"
	    "  max_size: 1G\n"
	    "heartbeat: 5s\n", fp);
	if (fclose(fp) != 0) {
		free(*out);
		*out = NULL;
		return TS_ENOMEM;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return TS_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int agents_add(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	static const char *default_follow[] = { "/var/log/auth.log" };
	const char *follow[MAX_FOLLOW_FILES];
	const char *name = NULL, *output = NULL, *endpoint = NULL, *dd = NULL;
	const char *group = NULL;
	const struct server_config *cfg;
	struct agent_conf ac;
	char *derived = NULL, *agent_dir = NULL, *text = NULL;
	char spub[KEY_Z85_BYTES], pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES];
	char eb[1100];
	size_t nfollow = 0, len = 0;
	int opt, rc, fd = -1, created = 0, enrolled = 0;
	int exit_rc = CLI_EXIT_FAIL;
	struct stat st;

	memset(&ac, 0, sizeof(ac));
	cli_opt_init(&p, c, cmd, CLI_TABLE(add_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case 'o':
			output = p.arg;
			break;
		case OPT_ENDPOINT:
			if (cli_check_endpoint(cmd, "--endpoint", p.arg) != 0)
				return CLI_EXIT_USAGE;
			endpoint = p.arg;
			break;
		case OPT_FOLLOW:
			if (p.arg[0] == '\0' || strlen(p.arg) > MAX_PATH_BYTES)
				return cli_usage_error(cmd, "invalid --follow "
				    "'%s': expected a file path of 1 to %d "
				    "bytes", cli_esc(p.arg, eb, sizeof(eb)),
				    MAX_PATH_BYTES);
			if (nfollow == MAX_FOLLOW_FILES)
				return cli_usage_error(cmd, "too many --follow "
				    "(at most %d)", MAX_FOLLOW_FILES);
			follow[nfollow++] = p.arg;
			break;
		case OPT_AGENT_DATA:
			if (p.arg[0] == '\0' || strlen(p.arg) > MAX_PATH_BYTES)
				return cli_usage_error(cmd, "invalid "
				    "--agent-data '%s': expected a directory",
				    cli_esc(p.arg, eb, sizeof(eb)));
			ac.data_dir = p.arg;
			break;
		case OPT_GROUP:
			if (cli_check_name(cmd, NAME_AGENT, "--group",
			    p.arg) != 0)
				return CLI_EXIT_USAGE;
			group = p.arg;
			break;
		default:
			return cli_usage_error(cmd, "unhandled option");
		}
	}
	if ((rc = one_name(cmd, argc, argv, &name)) != 0)
		return rc;

	/* The server configuration gives the endpoint and the data dir. */
	if (endpoint == NULL) {
		if ((cfg = cli_config(c)) == NULL)
			return CLI_EXIT_USAGE;
		if (cfg->listen == NULL || cfg->listen[0] == '\0')
			return cli_usage_error(cmd, "the server configuration "
			    "has no collector.listen: give --endpoint");
		/* where an agent on this machine reaches a wildcard
		 * listen address */
		if ((derived = endpoint_local_connect(cfg->listen,
		    &ac.replaced)) == NULL)
			goto nomem;
		endpoint = derived;
		ac.listen = cfg->listen;
	}
	/* An existing data directory only: creating one here would make a
	 * new server key pair that no tocsind uses (a -D typo). */
	if ((dd = cli_datadir_existing(c, cmd)) == NULL) {
		free(derived);
		return CLI_EXIT_USAGE;
	}
	if (derived != NULL && endpoint_local_only(endpoint))
		fprintf(stderr, "tocsin agents add: warning: the endpoint %s "
		    "(from collector.listen) works only for an agent on this "
		    "machine; for another machine give --endpoint "
		    "tcp://SERVER:PORT, and have the collector listen on an "
		    "address it can reach\n", endpoint);
	if (ac.data_dir == NULL) {
		/* the installed layout's folder, else the source tree's */
		if ((agent_dir = config_agent_statedir() != NULL ?
		    strdup(config_agent_statedir()) :
		    xasprintf("var/agent-%s", name)) == NULL)
			goto nomem;
		ac.data_dir = agent_dir;
	}

	/* Open the output before enrolling (a bad path enrolls nothing), but
	 * truncate it only after: a second `add` of the same name must not
	 * destroy the first one's configuration. */
	if (output != NULL) {
		created = !(lstat(output, &st) == 0);
		fd = open(output, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd < 0 || fchmod(fd, 0600) != 0) {
			cli_err(cmd, "cannot write %s: %s",
			    cli_esc(output, eb, sizeof(eb)), strerror(errno));
			goto out;
		}
	}

	if (mkdir_p(dd, 0700) != 0) {
		cli_err(cmd, "cannot create data directory %s: %s",
		    cli_esc(dd, eb, sizeof(eb)), strerror(errno));
		goto out;
	}
	if ((rc = keys_server_load_or_create(dd, spub, NULL)) != 0) {
		cli_err(cmd, "server keys in %s/keys: %s",
		    cli_esc(dd, eb, sizeof(eb)), ts_strerror(rc));
		goto out;
	}
	if ((rc = keys_generate(pub, sec)) != 0) {
		cli_err(cmd, "cannot generate a key pair: %s", ts_strerror(rc));
		goto out;
	}
	rc = keys_agent_enroll_generated(dd, name, pub);
	if (rc == TS_EEXIST) {
		cli_err(cmd, "agent %s is already enrolled (tocsin agents "
		    "remove %s first to give it new keys)", name, name);
		exit_rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (rc != 0) {
		cli_err(cmd, "cannot enroll %s: %s", name, ts_strerror(rc));
		goto out;
	}
	enrolled = 1;
	if ((rc = keys_agent_group_set(dd, name, group != NULL ? group :
	    KEYS_DEFAULT_GROUP)) != 0) {
		cli_err(cmd, "cannot record the group of %s: %s", name,
		    ts_strerror(rc));
		goto out;
	}

	ac.name = name;
	ac.endpoint = endpoint;
	ac.server_pub = spub;
	ac.pub = pub;
	ac.sec = sec;
	ac.follow = nfollow > 0 ? follow : default_follow;
	ac.nfollow = nfollow > 0 ? nfollow : 1;
	if (agent_conf_render(&ac, &text, &len) != 0)
		goto nomem;
	if (fd >= 0) {
		if (ftruncate(fd, 0) != 0 || write_all(fd, text, len) != 0 ||
		    fsync(fd) != 0) {
			cli_err(cmd, "cannot write %s: %s",
			    cli_esc(output, eb, sizeof(eb)), strerror(errno));
			goto out;
		}
	} else {
		fwrite(text, 1, len, stdout);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			cli_err(cmd, "cannot write the configuration: %s",
			    strerror(errno));
			goto out;
		}
	}
	cli_err(cmd, "enrolled agent %s; its configuration (with its secret "
	    "key) %s%s", name, output != NULL ? "is in " : "went to standard "
	    "output", output != NULL ? cli_esc(output, eb, sizeof(eb)) : "");
	enrolled = 0;	/* keep it */
	exit_rc = CLI_EXIT_OK;
	goto out;

nomem:
	cli_err(cmd, "out of memory");
out:
	if (enrolled)	/* no configuration written: undo */
		(void)keys_agent_revoke(dd, name);
	if (fd >= 0) {
		close(fd);
		if (exit_rc != CLI_EXIT_OK && created)
			(void)unlink(output);
	}
	explicit_bzero(sec, sizeof(sec));
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	free(derived);
	free(agent_dir);
	return exit_rc;
}

/* ---- remove ----------------------------------------------------------------- */

static int agents_remove(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	const char *name, *dd;
	int rc;

	cli_opt_init(&p, c, cmd, NULL, 0, 0, argc, argv);
	if (cli_opt_next(&p) != 0)
		return p.exit;
	if ((rc = one_name(cmd, argc, argv, &name)) != 0)
		return rc;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;
	rc = keys_agent_revoke(dd, name);
	if (rc == TS_ENOTFOUND) {
		cli_err(cmd, "agent %s is not enrolled", name);
		return CLI_EXIT_USAGE;
	}
	if (rc != 0) {
		cli_err(cmd, "cannot revoke %s: %s", name, ts_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	cli_err(cmd, "revoked agent %s: the collector refuses its key from "
	    "now on", name);
	return CLI_EXIT_OK;
}

/* ---- list ------------------------------------------------------------------- */

struct agent_row {
	char		*name;
	char		 group[MAX_NAME_BYTES + 1];	/* enrolled: its group */
	int		 enrolled;
	int		 seen;		/* has a journal record */
	struct jagent	 j;
};

struct agent_rows {
	struct agent_row	*r;
	size_t			 n, cap;
	size_t			 nsorted;	/* r[0..nsorted) sorted by name */
	int			 rc;
};

static struct agent_row *rows_add(struct agent_rows *rs, const char *name)
{
	struct agent_row *r;
	size_t cap;

	if (rs->n == MAX_LIST_AGENTS) {
		rs->rc = TS_EFULL;
		return NULL;
	}
	if (rs->n == rs->cap) {
		cap = rs->cap ? rs->cap * 2 : 64;
		if ((r = realloc(rs->r, cap * sizeof(*r))) == NULL) {
			rs->rc = TS_ENOMEM;
			return NULL;
		}
		rs->r = r;
		rs->cap = cap;
	}
	r = &rs->r[rs->n];
	memset(r, 0, sizeof(*r));
	if ((r->name = strdup(name)) == NULL) {
		rs->rc = TS_ENOMEM;
		return NULL;
	}
	rs->n++;
	return r;
}

static int enrolled_cb(const char *name, const char *pub_z85, void *arg)
{
	struct agent_row *r;

	(void)pub_z85;
	if ((r = rows_add(arg, name)) == NULL)
		return 1;
	r->enrolled = 1;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct agent_row *)a)->name,
	    ((const struct agent_row *)b)->name);
}

/* Join a journal record onto the (sorted) enrolled rows; a record of an
 * agent no longer enrolled becomes a row of its own. */
static int journal_agent_cb(const char *name, const struct jagent *a,
    void *arg)
{
	struct agent_rows *rs = arg;
	struct agent_row key, *r;

	key.name = (char *)name;
	r = rs->nsorted == 0 ? NULL :
	    bsearch(&key, rs->r, rs->nsorted, sizeof(*rs->r), row_cmp);
	/* Not enrolled: appended past the sorted part (journal names are
	 * unique, so later lookups need not see it). */
	if (r == NULL && (r = rows_add(rs, name)) == NULL)
		return 1;
	r->seen = 1;
	r->j = *a;
	r->j.version[sizeof(r->j.version) - 1] = '\0';
	r->j.host[sizeof(r->j.host) - 1] = '\0';
	r->j.group[sizeof(r->j.group) - 1] = '\0';
	r->j.cfgver[sizeof(r->j.cfgver) - 1] = '\0';
	return 0;
}

/* The identity `tocsin replay` and drills send as: not an endpoint, so
 * never "disconnected" (nor silent: the collector skips it too). */
static int is_replay(const struct agent_row *r)
{
	return strcmp(r->name, KEYS_REPLAY_AGENT) == 0;
}

static const char *agent_state(const struct agent_row *r, uint64_t now,
    char *buf, size_t buflen)
{
	char t[40];

	if (!r->enrolled) {
		if (r->j.last_seen_us == 0)
			return "not enrolled";
		cli_format_time_s(r->j.last_seen_us, t, sizeof(t));
		snprintf(buf, buflen, "not enrolled (last seen %s)", t);
		return buf;
	}
	if (!r->seen || r->j.last_seen_us == 0)
		return is_replay(r) ? "drill replay (never used)" : "never seen";
	if (now < r->j.last_seen_us ||
	    now - r->j.last_seen_us <= AGENT_CONNECTED_US)
		return is_replay(r) ? "drill replay (sending)" : "connected";
	cli_format_time_s(r->j.last_seen_us, t, sizeof(t));
	if (is_replay(r))
		snprintf(buf, buflen, "drill replay (last used %s)", t);
	else
		snprintf(buf, buflen, "disconnected since %s", t);
	return buf;
}

static const char *agent_state_word(const struct agent_row *r, uint64_t now)
{
	if (!r->enrolled)
		return "not_enrolled";
	if (is_replay(r))
		return "replay";
	if (!r->seen || r->j.last_seen_us == 0)
		return "never_seen";
	if (now < r->j.last_seen_us ||
	    now - r->j.last_seen_us <= AGENT_CONNECTED_US)
		return "connected";
	return "disconnected";
}

static json_t *json_time_or_null(uint64_t us)
{
	char t[40];

	if (us == 0)
		return json_null();
	format_rfc3339(us, t, sizeof(t));
	return json_string(t);
}

/* The agent's group: its recorded one when enrolled, else the one the
 * journal last saw. */
static const char *row_group(const struct agent_row *r)
{
	if (r->enrolled && r->group[0])
		return r->group;
	return r->j.group[0] ? r->j.group : KEYS_DEFAULT_GROUP;
}

static int print_agent_json(const struct agent_row *r, uint64_t now)
{
	json_t *o;
	char *s;

	o = json_pack("{s:s, s:b, s:s, s:o, s:o, s:I, s:I, s:b, s:s%, s:s%}",
	    "name", r->name,
	    "enrolled", r->enrolled,
	    "state", agent_state_word(r, now),
	    "last_seen", json_time_or_null(r->j.last_seen_us),
	    "last_event", json_time_or_null(r->j.last_event_us),
	    "events", (json_int_t)r->j.events,
	    "spooled", (json_int_t)r->j.spooled,
	    "spool_full", (r->j.hb_flags & HB_SPOOL_FULL) != 0,
	    "version", r->j.version, strlen(r->j.version),
	    "host", r->j.host, strlen(r->j.host));
	if (o == NULL) {
		/* invalid UTF-8 from an agent: the escaped text instead */
		char v[sizeof(r->j.version) * 4], h[sizeof(r->j.host) * 4];
		escape_text(r->j.version, strlen(r->j.version), v, sizeof(v));
		escape_text(r->j.host, strlen(r->j.host), h, sizeof(h));
		o = json_pack("{s:s, s:b, s:s, s:o, s:o, s:I, s:I, s:b, s:s, "
		    "s:s}", "name", r->name, "enrolled", r->enrolled,
		    "state", agent_state_word(r, now),
		    "last_seen", json_time_or_null(r->j.last_seen_us),
		    "last_event", json_time_or_null(r->j.last_event_us),
		    "events", (json_int_t)r->j.events,
		    "spooled", (json_int_t)r->j.spooled,
		    "spool_full", (r->j.hb_flags & HB_SPOOL_FULL) != 0,
		    "version", v, "host", h);
	}
	if (o == NULL)
		return TS_ENOMEM;
	/* group and configuration version: names and hex digits only */
	json_object_set_new(o, "group", json_string(row_group(r)));
	json_object_set_new(o, "config_version", r->j.cfgver[0] ?
	    json_string(r->j.cfgver) : json_null());
	/* the agent's own counters: non-zero ones, and apart those that
	 * count lost or damaged input; null until the agent reported any */
	{
		json_t *all, *loss;

		if (journal_agent_counters_json(&r->j, &all, &loss) != 0) {
			json_decref(o);
			return TS_ENOMEM;
		}
		json_object_set_new(o, "counters", all ? all : json_null());
		json_object_set_new(o, "losses", loss ? loss : json_null());
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return TS_ENOMEM;
	cli_print_line(s, strlen(s));
	free(s);
	return 0;
}

static int print_agent_row(table_t *t, const struct agent_row *r,
    uint64_t now)
{
	char sb[96], tb[40];
	int rc = 0;

	rc |= table_cell_str(t, r->name);
	rc |= table_cell_str(t, agent_state(r, now, sb, sizeof(sb)));
	if (r->j.last_event_us != 0) {
		cli_format_time_s(r->j.last_event_us, tb, sizeof(tb));
		rc |= table_cell_str(t, tb);
	} else {
		rc |= table_cell_str(t, "-");
	}
	rc |= table_cellf(t, "%llu", (unsigned long long)r->j.events);
	if (r->j.hb_flags & HB_SPOOL_FULL)
		rc |= table_cellf(t, "%llu full!",
		    (unsigned long long)r->j.spooled);
	else
		rc |= table_cellf(t, "%llu", (unsigned long long)r->j.spooled);
	rc |= table_cell_str(t, r->j.version);
	rc |= table_cell_str(t, r->j.host);
	rc |= table_cell_str(t, row_group(r));
	rc |= table_cell_str(t, r->j.cfgver[0] ? r->j.cfgver : "-");
	/* lost or damaged input the agent reported: "lines_truncated=2" */
	{
		char lb[256];
		size_t off = 0;

		lb[0] = '\0';
		for (size_t i = 0; i < r->j.nctrs && i < MAX_HB_COUNTERS;
		    i++) {
			const struct jagent_ctr *k = &r->j.ctrs[i];
			const char *n = k->name;
			int w;

			if (k->value == 0 ||
			    !wire_hb_counter_is_loss(n, strlen(n)))
				continue;
			if (strncmp(n, "agent.", 6) == 0)
				n += 6;
			w = snprintf(lb + off, sizeof(lb) - off, "%s%s=%llu",
			    off ? " " : "", n, (unsigned long long)k->value);
			if (w < 0 || (size_t)w >= sizeof(lb) - off)
				break;
			off += (size_t)w;
		}
		rc |= table_cell_str(t, off ? lb : "-");
	}
	return rc != 0 ? TS_ENOMEM : 0;
}

static int agents_list(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	static const struct table_col cols[] = {
		{ "NAME",       24,  8, 1, 0 },
		{ "STATE",      48, 10, 1, 0 },
		{ "LAST EVENT", 20, 20, 0, 0 },
		{ "EVENTS",     12,  6, 0, 1 },
		{ "SPOOLED",    18,  7, 0, 1 },
		{ "VERSION",    16,  7, 1, 0 },
		{ "HOST",       40,  8, 1, 0 },
		{ "GROUP",      24,  7, 1, 0 },
		{ "CONFIG",     16,  6, 1, 0 },
		{ "LOSSES",     80,  6, 1, 0 },
	};
	struct agent_rows rs;
	journal_t *j = NULL;
	table_t *t = NULL;
	const char *dd;
	char *jpath = NULL;
	uint64_t now = now_us();
	size_t i;
	int opt, rc, json = 0, exit_rc = CLI_EXIT_FAIL;

	memset(&rs, 0, sizeof(rs));
	cli_opt_init(&p, c, cmd, CLI_TABLE(list_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		if (opt == OPT_JSON)
			json = 1;
		else
			return cli_usage_error(cmd, "unhandled option");
	}
	if ((rc = cli_no_args(cmd, argc, argv)) != 0)
		return rc;
	if ((dd = cli_datadir_existing(c, cmd)) == NULL)
		return CLI_EXIT_USAGE;

	rc = keys_agent_list(dd, enrolled_cb, &rs);
	if (rc == TS_ENOTFOUND || rc == TS_ESTOP)
		rc = 0;
	if (rc == 0)
		rc = rs.rc;
	if (rc != 0)
		goto fail;
	if (rs.n > 1)
		qsort(rs.r, rs.n, sizeof(*rs.r), row_cmp);
	rs.nsorted = rs.n;
	for (i = 0; i < rs.n; i++)
		keys_agent_group_get(dd, rs.r[i].name, rs.r[i].group);
	if ((jpath = datadir_path(dd, DD_JOURNAL)) == NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	rc = journal_open(jpath, JOURNAL_RDONLY, 0, &j);
	if (rc == 0) {
		rc = journal_agent_foreach(j, journal_agent_cb, &rs);
		if (rc == TS_ESTOP)
			rc = 0;
		if (rc == 0)
			rc = rs.rc;
	} else if (rc == TS_ENOTFOUND) {
		rc = 0;		/* the server never ran: nobody seen yet */
	}
	if (rc != 0)
		goto fail;
	if (rs.n > 1)
		qsort(rs.r, rs.n, sizeof(*rs.r), row_cmp);

	if (!json && (t = table_new(cols, sizeof(cols) / sizeof(cols[0]))) ==
	    NULL) {
		rc = TS_ENOMEM;
		goto fail;
	}
	for (i = 0; i < rs.n && rc == 0; i++)
		rc = json ? print_agent_json(&rs.r[i], now) :
		    print_agent_row(t, &rs.r[i], now);
	if (rc != 0)
		goto fail;
	table_free(&t);
	if (rs.n == 0 && !json)
		cli_err(cmd, "no agents enrolled (tocsin agents add NAME)");
	exit_rc = CLI_EXIT_OK;
	goto out;

fail:
	cli_err(cmd, "listing agents in %s: %s", dd, ts_strerror(rc));
out:
	table_free(&t);
	journal_close(&j);
	for (i = 0; i < rs.n; i++)
		free(rs.r[i].name);
	free(rs.r);
	free(jpath);
	return exit_rc;
}

/* ---- dispatch ---------------------------------------------------------------- */

int cmd_agents(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	/* `tocsin agents` and `tocsin agents --json` list. */
	return cli_sub_dispatch(c, cmd, CLI_TABLE(agents_subcommands),
	    agents_list, argc, argv);
}

/* ---- enrolment tokens --------------------------------------------------- */

struct token_list_ctx {
	int		 json;
	uint64_t	 now;
	size_t		 n;
};

static int token_row_cb(const struct token_info *t, void *arg)
{
	struct token_list_ctx *x = arg;
	char exp[40], cre[40];
	const char *state = t->uses == 0 ? "used" :
	    x->now >= t->expires_us ? "expired" : "valid";

	x->n++;
	cli_format_time_s(t->expires_us, exp, sizeof(exp));
	cli_format_time_s(t->created_us, cre, sizeof(cre));
	if (x->json)
		printf("{\"id\":\"%s\",\"state\":\"%s\",\"uses_left\":%u,"
		    "\"created\":\"%s\",\"expires\":\"%s\",\"group\":\"%s\"}\n",
		    t->id, state, t->uses, cre, exp, t->group);
	else
		printf("%-8s  %-7s  %9u  %-20s  %-20s  %s\n", t->id, state,
		    t->uses, cre, exp, t->group);
	return 0;
}

static int agents_token(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv)
{
	struct cli_optparse p;
	uint64_t ttl = 7ULL * 24 * 3600 * 1000000, uses = 1;
	const char *dd, *what, *group = NULL;
	char eb[300];
	int opt, rc, json = 0;

	cli_opt_init(&p, c, cmd, CLI_TABLE(token_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_TTL:
			if (parse_duration(p.arg, &ttl) != 0 || ttl == 0)
				return cli_usage_error(cmd, "invalid --ttl "
				    "'%s': expected a duration such as 1h or "
				    "7d", cli_esc(p.arg, eb, sizeof(eb)));
			break;
		case OPT_USES:
			if (parse_u64(p.arg, strlen(p.arg), TOKEN_MAX_USES,
			    &uses) != 0 || uses == 0)
				return cli_usage_error(cmd, "invalid --uses "
				    "'%s': expected 1 to %d",
				    cli_esc(p.arg, eb, sizeof(eb)), TOKEN_MAX_USES);
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_GROUP:
			if (cli_check_name(cmd, NAME_AGENT, "--group",
			    p.arg) != 0)
				return CLI_EXIT_USAGE;
			group = p.arg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "token: create, list or revoke");
	what = argv[optind];
	if ((dd = cli_datadir(c)) == NULL)
		return CLI_EXIT_USAGE;
	if (strcmp(what, "create") == 0 && optind + 1 == argc) {
		char tok[TOKEN_BYTES], pub[KEY_Z85_BYTES];
		const struct server_config *cfg = cli_config(c);
		struct token_info ti;
		char exp[40];

		/* the key the PC pins; created if the server never ran */
		if ((rc = keys_server_load_or_create(dd, pub, NULL)) != 0) {
			cli_err(cmd, "cannot read or create the server key in "
			    "%s/keys: %s", dd, ts_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		if ((rc = token_create_group(dd, ttl, (uint32_t)uses, group,
		    tok, &ti)) != 0) {
			cli_err(cmd, "cannot create a token in %s/keys/tokens: "
			    "%s", dd, ts_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		cli_format_time_s(ti.expires_us, exp, sizeof(exp));
		printf("token:       %s\n"
		    "fingerprint: %s\n"
		    "valid until: %s, for %u enrolment%s\n"
		    "group:       %s\n", tok, pub, exp,
		    ti.uses, ti.uses == 1 ? "" : "s", ti.group);
		{
			const char *el = cfg && cfg->enroll_listen ?
			    cfg->enroll_listen : "tcp://SERVER:7515";
			const char *port = strrchr(el, ':');

			printf("on each PC:  tocsin-agent enroll --server "
			    "SERVER%s --token %s --fingerprint '%s'\n",
			    strncmp(el, "tcp://", 6) == 0 && port ? port :
			    ":7515", tok, pub);
		}
		if (cfg == NULL || cfg->enroll_listen == NULL)
			cli_err(cmd, "note: collector.enroll_listen is not set "
			    "in the server configuration: enrolments need it");
		return CLI_EXIT_OK;
	}
	if (strcmp(what, "list") == 0 && optind + 1 == argc) {
		struct token_list_ctx x = { json, now_us(), 0 };

		if (!json)
			printf("%-8s  %-7s  %9s  %-20s  %-20s  %s\n", "ID",
			    "STATE", "USES_LEFT", "CREATED", "EXPIRES", "GROUP");
		if (token_list(dd, token_row_cb, &x) != 0) {
			cli_err(cmd, "cannot read %s/keys/tokens", dd);
			return CLI_EXIT_FAIL;
		}
		if (x.n == 0)
			cli_err(cmd, "no tokens");
		return CLI_EXIT_OK;
	}
	if (strcmp(what, "revoke") == 0 && optind + 2 == argc) {
		rc = token_revoke(dd, argv[optind + 1]);
		if (rc == TS_ENOTFOUND)
			return cli_usage_error(cmd, "no token '%s'",
			    cli_esc(argv[optind + 1], eb, sizeof(eb)));
		if (rc != 0) {
			cli_err(cmd, "cannot revoke: %s", ts_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		cli_err(cmd, "revoked token %s", argv[optind + 1]);
		return CLI_EXIT_OK;
	}
	return cli_usage_error(cmd, "token: create [--ttl DUR] [--uses N] "
	    "[--group G], "
	    "list [--json] or revoke ID");
}
