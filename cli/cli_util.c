/*
 * cli_util.c - what every tocsin command shares: the common options, value
 * parsing with messages that name the option, the data directory, and the
 * table printer.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "common/endpoint.h"
#include "common/err.h"
#include "common/util.h"
#include "rules/decode.h"

/* Rows buffered before the table prints a page; the widths of the first page
 * hold for the whole table, so memory stays bounded on long listings. */
#define TABLE_PAGE_ROWS		1000

/* Bytes of escaped text kept per cell (a cell is cut long before that). */
#define TABLE_CELL_MAX_BYTES	8192

/* Gap between columns. */
#define TABLE_GAP		2

/* Marker for a cut cell. */
#define TABLE_CUT		"..."
#define TABLE_CUT_LEN		3

/* ---- messages and options ----------------------------------------------- */

static void vmsg(const struct cli_cmd *cmd, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vmsg(const struct cli_cmd *cmd, const char *fmt, va_list ap)
{
	fflush(stdout);
	if (cmd != NULL)
		fprintf(stderr, "tocsin %s: ", cmd->name);
	else
		fputs("tocsin: ", stderr);
	vfprintf(stderr, fmt, ap);
}

void cli_err(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(cmd, fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		fprintf(stderr, " (see tocsin %s --help)\n", cmd->name);
	else
		fputs(" (see tocsin --help)\n", stderr);
	return CLI_EXIT_USAGE;
}

static int actor_ok(const char *s)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > MAX_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

const char *cli_actor(void)
{
	static char buf[MAX_NAME_BYTES + 1];
	const char *s;
	struct passwd *pw;

	if (actor_ok(s = getenv("TOCSIN_ACTOR")) ||
	    actor_ok(s = getenv("SUDO_USER")) || actor_ok(s = getlogin()) ||
	    ((pw = getpwuid(geteuid())) != NULL && actor_ok(s = pw->pw_name))) {
		snprintf(buf, sizeof(buf), "%s", s);
		return buf;
	}
	snprintf(buf, sizeof(buf), "uid-%ld", (long)geteuid());
	return buf;
}

const char *cli_esc(const char *s, char *buf, size_t buflen)
{
	escape_text(s, strlen(s), buf, buflen);
	return buf;
}

/* ---- the option tables -------------------------------------------------- */

/* Ids of the common options; no table may use them (checked at init). */
enum { OPT_COMMON_CONFIG = 'c', OPT_COMMON_DATADIR = 'D' };

const struct cli_opt cli_common_opts[] = {
	{ "config", 'c', OPT_COMMON_CONFIG, "FILE", "server configuration "
	  "(default: $TOCSIN_CONFIG,\nelse the installed tocsind.yml, else "
	  "the\nembedded default)" },
	{ "datadir", 'D', OPT_COMMON_DATADIR, "DIR", "data directory (default: "
	  "the\nconfiguration's data_dir)" },
	{ "help", 'h', CLI_OPT_HELP, NULL, "this help" },
};
const size_t cli_common_nopts = sizeof(cli_common_opts) /
    sizeof(cli_common_opts[0]);

/* Column where the help of an option starts. */
#define HELP_COL	24

/* Append the getopt form of row o to p's arrays. */
static void opt_add(struct cli_optparse *p, size_t *nl, size_t *ns,
    const struct cli_opt *o)
{
	struct option *lo = &p->op_long[(*nl)++];

	lo->name = o->o_long;
	lo->has_arg = o->o_arg != NULL ? required_argument : no_argument;
	lo->flag = NULL;
	lo->val = o->o_id;
	if (o->o_short != 0) {
		p->op_short[(*ns)++] = (char)o->o_short;
		if (o->o_arg != NULL)
			p->op_short[(*ns)++] = ':';
	}
}

void cli_opt_init(struct cli_optparse *p, struct cli *c,
    const struct cli_cmd *cmd, const struct cli_opt *opts, size_t n,
    int flags, int argc, char **argv)
{
	size_t i, nl = 0, ns = 0;

	memset(p, 0, sizeof(*p));
	if (n > MAX_CLI_OPTS)
		fatal("cli: option table of %zu rows (at most %d)", n,
		    MAX_CLI_OPTS);
	p->op_cli = c;
	p->op_cmd = cmd;
	p->op_opts = opts;
	p->op_n = n;
	p->op_argc = argc;
	p->op_argv = argv;
	/* '+': stop at the first operand; ':': errors come back to us. */
	if (flags & CLI_OPTF_STOP)
		p->op_short[ns++] = '+';
	p->op_short[ns++] = ':';
	for (i = 0; i < n; i++) {
		if (opts[i].o_id <= 0 || opts[i].o_long == NULL ||
		    opts[i].o_id == OPT_COMMON_CONFIG ||
		    opts[i].o_id == OPT_COMMON_DATADIR ||
		    opts[i].o_id == CLI_OPT_HELP)
			fatal("cli: option table row %zu (--%s): no name, or "
			    "an id <= 0 or of a common option", i,
			    opts[i].o_long != NULL ? opts[i].o_long : "?");
		opt_add(p, &nl, &ns, &opts[i]);
	}
	for (i = 0; i < cli_common_nopts; i++)
		opt_add(p, &nl, &ns, &cli_common_opts[i]);
	p->op_short[ns] = '\0';
	memset(&p->op_long[nl], 0, sizeof(p->op_long[nl]));
	optind = 0;	/* glibc: full re-initialisation of getopt */
	opterr = 0;
}

/* A getopt error as a usage error: p->exit = 2, CLI_OPT_EXIT. */
static int opt_error(struct cli_optparse *p, int opt)
{
	const char *arg;
	char eb[256];

	arg = optind >= 1 && optind - 1 < p->op_argc ?
	    p->op_argv[optind - 1] : "";
	if (strncmp(arg, "--", 2) == 0) {
		/* "--name=value": name only */
		char *eq = strchr(arg, '=');
		size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		escape_text(arg, n, eb, sizeof(eb));
	} else {
		snprintf(eb, sizeof(eb), "-%c", optopt > 32 && optopt < 127 ?
		    optopt : '?');
	}
	if (opt == ':')
		p->exit = cli_usage_error(p->op_cmd, "option '%s' needs a value",
		    eb);
	else if (optopt != 0 && strncmp(arg, "--", 2) == 0)
		p->exit = cli_usage_error(p->op_cmd, "option '%s' takes no "
		    "value", eb);
	else
		p->exit = cli_usage_error(p->op_cmd, "unknown option '%s'", eb);
	return CLI_OPT_EXIT;
}

int cli_opt_next(struct cli_optparse *p)
{
	int opt;

	p->arg = NULL;
	for (;;) {
		opt = getopt_long(p->op_argc, p->op_argv, p->op_short,
		    p->op_long, NULL);
		if (opt == -1)
			return 0;
		p->arg = optarg;
		switch (opt) {
		case OPT_COMMON_CONFIG:
			p->op_cli->config_path = optarg;
			continue;
		case OPT_COMMON_DATADIR:
			p->op_cli->datadir_opt = optarg;
			continue;
		case CLI_OPT_HELP:
			if (p->op_cmd == NULL)
				return CLI_OPT_HELP;
			cli_help_print(p->op_cmd, stdout);
			p->exit = CLI_EXIT_OK;
			return CLI_OPT_EXIT;
		case ':':
		case '?':
			return opt_error(p, opt);
		default:
			return opt;
		}
	}
}

/* One line of help text (up to '\n' or the end) at the help column. */
static const char *help_line(const char *s, FILE *fp)
{
	const char *nl = strchr(s, '\n');
	size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);

	fprintf(fp, "%.*s\n", (int)n, s);
	return nl != NULL ? nl + 1 : NULL;
}

void cli_opts_print(const struct cli_opt *opts, size_t n, FILE *fp)
{
	size_t i;
	int w;

	for (i = 0; i < n; i++) {
		const struct cli_opt *o = &opts[i];
		const char *h = o->o_help != NULL ? o->o_help : "";

		if (o->o_short != 0)
			w = fprintf(fp, "  -%c, --%s", o->o_short, o->o_long);
		else
			w = fprintf(fp, "      --%s", o->o_long);
		if (o->o_arg != NULL)
			w += fprintf(fp, " %s", o->o_arg);
		if (w >= HELP_COL - 1) {
			fputc('\n', fp);
			w = 0;
		}
		fprintf(fp, "%*s", HELP_COL - w, "");
		while ((h = help_line(h, fp)) != NULL)
			fprintf(fp, "%*s", HELP_COL, "");
	}
}

void cli_help_print(const struct cli_cmd *cmd, FILE *fp)
{
	const struct cli_help *h = cmd->help;
	size_t i;

	fputs(h->h_usage, fp);
	for (i = 0; i < h->h_ngroups; i++) {
		const struct cli_optgroup *g = &h->h_groups[i];

		fprintf(fp, "\n%s\n", g->og_title != NULL ? g->og_title :
		    "Options:");
		cli_opts_print(g->og_opts, g->og_n, fp);
	}
	fputs("\nCommon options (before or after the command):\n", fp);
	cli_opts_print(cli_common_opts, cli_common_nopts, fp);
	if (h->h_epilog != NULL) {
		fputc('\n', fp);
		fputs(h->h_epilog, fp);
	}
}

/* "a, b or c" of the sub-command names into buf. */
static void sub_names(const struct cli_sub *subs, size_t n, char *buf,
    size_t buflen)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < n && used < buflen; i++)
		used += (size_t)snprintf(buf + used, buflen - used, "%s%s",
		    i == 0 ? "" : i + 1 == n ? " or " : ", ", subs[i].sub_name);
}

int cli_sub_dispatch(struct cli *c, const struct cli_cmd *cmd,
    const struct cli_sub *subs, size_t n, cli_handler dflt, int argc,
    char **argv)
{
	char names[256], eb[256];
	size_t i;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			cli_help_print(cmd, stdout);
			return CLI_EXIT_OK;
		}
		if (dflt != NULL)
			return dflt(c, cmd, argc, argv);
		sub_names(subs, n, names, sizeof(names));
		return cli_usage_error(cmd, "missing sub-command (%s)", names);
	}
	for (i = 0; i < n; i++)
		if (strcmp(argv[1], subs[i].sub_name) == 0)
			return subs[i].sub_run(c, cmd, argc - 1, argv + 1);
	sub_names(subs, n, names, sizeof(names));
	return cli_usage_error(cmd, "unknown sub-command '%s' (%s)",
	    cli_esc(argv[1], eb, sizeof(eb)), names);
}

int cli_no_args(const struct cli_cmd *cmd, int argc, char **argv)
{
	char eb[256];

	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'",
		    cli_esc(argv[optind], eb, sizeof(eb)));
	return 0;
}

int cli_parse_number(const struct cli_cmd *cmd, const char *opt,
    const char *arg, uint64_t max, uint64_t *out)
{
	char eb[256];

	if (parse_u64(arg, strlen(arg), max, out) != 0)
		return cli_usage_error(cmd, "invalid %s '%s': expected a whole "
		    "number from 0 to %llu", opt, cli_esc(arg, eb, sizeof(eb)),
		    (unsigned long long)max);
	return 0;
}

int cli_check_name(const struct cli_cmd *cmd, enum name_kind k,
    const char *what, const char *s)
{
	char eb[256];

	if (!name_valid_str(k, s))
		return cli_usage_error(cmd, "invalid %s '%s': %s", what,
		    cli_esc(s, eb, sizeof(eb)), name_expect(k));
	return 0;
}

int cli_check_endpoint(const struct cli_cmd *cmd, const char *opt,
    const char *s)
{
	char eb[256];

	if (!endpoint_valid(s))
		return cli_usage_error(cmd, "invalid %s '%s': expected a ZeroMQ "
		    "endpoint such as tcp://192.0.2.10:7514 or ipc:///run/x",
		    opt, cli_esc(s, eb, sizeof(eb)));
	return 0;
}

int cli_parse_time(const struct cli_cmd *cmd, const char *opt,
    const char *arg, uint64_t now, uint64_t *out)
{
	char eb[256];

	if (parse_time_arg(arg, now, out) != 0)
		return cli_usage_error(cmd, "invalid %s '%s': expected a "
		    "duration (30s, 15m, 2h, 7d) or an RFC 3339 time "
		    "(2026-01-26T08:00:00Z)", opt,
		    cli_esc(arg, eb, sizeof(eb)));
	return 0;
}

/* ---- configuration and data directory ----------------------------------- */

const struct server_config *cli_config(struct cli *c)
{
	char err[512], buf[MAX_PATH_BYTES + 1];
	const char *path;

	if (c->cfg_loaded)
		return &c->cfg;
	memset(&c->cfg, 0, sizeof(c->cfg));
	err[0] = '\0';
	/* -c, $TOCSIN_CONFIG, the installed tocsind.yml, the embedded one */
	if (config_locate(c->config_path, CONFIG_SERVER_ENV,
	    CONFIG_SERVER_NAME, buf, sizeof(buf), &path, NULL) != 0) {
		cli_err(NULL, "configuration path too long");
		return NULL;
	}
	if (server_config_load(path, &c->cfg, err,
	    sizeof(err)) != 0) {
		cli_err(NULL, "%s", err[0] != '\0' ? err :
		    "cannot load the server configuration");
		server_config_free(&c->cfg);
		return NULL;
	}
	c->cfg_loaded = 1;
	return &c->cfg;
}

const char *cli_datadir(struct cli *c)
{
	const struct server_config *cfg;

	if (c->datadir_opt != NULL)
		return c->datadir_opt;
	if ((cfg = cli_config(c)) == NULL)
		return NULL;
	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
		cli_err(NULL, "%s: no data_dir (use -D DATADIR)", cfg->source ?
		    cfg->source : "configuration");
		return NULL;
	}
	return cfg->data_dir;
}

const char *cli_datadir_existing(struct cli *c, const struct cli_cmd *cmd)
{
	const char *dd;
	struct stat st;
	char eb[1024];

	if ((dd = cli_datadir(c)) == NULL)
		return NULL;
	if (stat(dd, &st) != 0) {
		if (errno == ENOENT)
			cli_err(cmd, "data directory '%s' does not exist (has "
			    "tocsind run? choose one with -D DATADIR or "
			    "-c CONFIG)", cli_esc(dd, eb, sizeof(eb)));
		else
			cli_err(cmd, "data directory '%s': %s",
			    cli_esc(dd, eb, sizeof(eb)), strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_err(cmd, "data directory '%s' is not a directory",
		    cli_esc(dd, eb, sizeof(eb)));
		return NULL;
	}
	return dd;
}

void cli_free(struct cli *c)
{
	if (c->cfg_loaded)
		server_config_free(&c->cfg);
	c->cfg_loaded = 0;
}

/* ---- output -------------------------------------------------------------- */

void cli_format_time_s(uint64_t us, char *buf, size_t buflen)
{
	char *dot;

	format_rfc3339(us, buf, buflen);
	/* "....:05.123Z" -> "....:05Z" */
	if ((dot = strchr(buf, '.')) != NULL) {
		char *z = strchr(dot, 'Z');
		if (z != NULL)
			memmove(dot, z, strlen(z) + 1);
	}
}

void cli_format_age(uint64_t us, char *buf, size_t buflen)
{
	uint64_t s = us / 1000000;

	if (s < 120)
		snprintf(buf, buflen, "%llus", (unsigned long long)s);
	else if (s < 7200)
		snprintf(buf, buflen, "%llum", (unsigned long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(buf, buflen, "%lluh", (unsigned long long)(s / 3600));
	else
		snprintf(buf, buflen, "%llud", (unsigned long long)(s / 86400));
}

void cli_print_line(const char *s, size_t len)
{
	fwrite(s, 1, len, stdout);
	fputc('\n', stdout);
}

struct table {
	const struct table_col	*cols;
	size_t			 ncols;
	char			**cells;	/* TABLE_PAGE_ROWS * ncols */
	size_t			 nrows;		/* complete rows buffered */
	size_t			 ncell;		/* cells of the row being added */
	size_t			*width;		/* fixed at the first page */
	size_t			 last_max;	/* the last column (never padded)
						 * may grow to this on later
						 * pages */
	int			 widths_fixed;
	uint64_t		 total;		/* rows added, all pages */
};

/* Display width of escaped (valid UTF-8) text: one column per code point. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* Byte offset where the code point number n of s starts (or its end). */
static size_t text_offset(const char *s, size_t n)
{
	size_t i, w = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (w == n)
				return i;
			w++;
		}
	}
	return i;
}

/* Columns of the terminal on stdout, else $COLUMNS, else 0 (no limit). */
static size_t terminal_width(void)
{
	struct winsize ws;
	const char *env;
	uint64_t v;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0
	    && ws.ws_col > 0)
		return ws.ws_col;
	env = getenv("COLUMNS");
	if (env != NULL && parse_u64(env, strlen(env), 100000, &v) == 0 &&
	    v >= 20)
		return (size_t)v;
	return 0;
}

table_t *table_new(const struct table_col *cols, size_t ncols)
{
	table_t *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cols = cols;
	t->ncols = ncols;
	t->cells = calloc(TABLE_PAGE_ROWS * ncols, sizeof(char *));
	t->width = calloc(ncols, sizeof(size_t));
	if (t->cells == NULL || t->width == NULL) {
		free(t->cells);
		free(t->width);
		free(t);
		return NULL;
	}
	return t;
}

int table_cell(table_t *t, const char *s, size_t len)
{
	const struct table_col *col = &t->cols[t->ncell];
	size_t outlen, used;
	char *out;

	if (t->nrows == TABLE_PAGE_ROWS)
		table_flush(t);
	/* Enough for col->max code points of escaped text (4 bytes each at
	 * most) plus the cut marker. */
	outlen = col->max * 4 + TABLE_CUT_LEN + 1;
	if (outlen > TABLE_CELL_MAX_BYTES)
		outlen = TABLE_CELL_MAX_BYTES;
	if ((out = malloc(outlen)) == NULL)
		return TS_ENOMEM;
	used = escape_text(s, len, out, outlen - TABLE_CUT_LEN);
	if (used < len)
		strcat(out, TABLE_CUT);	/* forces a cut when printed */
	t->cells[t->nrows * t->ncols + t->ncell] = out;
	if (++t->ncell == t->ncols) {
		t->ncell = 0;
		t->nrows++;
		t->total++;
	}
	return 0;
}

int table_cell_str(table_t *t, const char *s)
{
	if (s == NULL || s[0] == '\0')
		s = "-";
	return table_cell(t, s, strlen(s));
}

int table_cellf(table_t *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		buf[0] = '\0';
	return table_cell(t, buf, strlen(buf));
}

uint64_t table_rows(const table_t *t)
{
	return t->total;
}

/* Widths from the buffered page, then shrunk (last shrinkable column first)
 * until the line fits the terminal. */
static void table_fix_widths(table_t *t)
{
	size_t i, r, total, termw;

	for (i = 0; i < t->ncols; i++) {
		size_t w = text_width(t->cols[i].name);
		for (r = 0; r < t->nrows; r++) {
			size_t cw = text_width(t->cells[r * t->ncols + i]);
			if (cw > w)
				w = cw;
		}
		if (w > t->cols[i].max)
			w = t->cols[i].max;
		t->width[i] = w;
	}
	termw = terminal_width();
	if (termw == 0)
		goto done;
	total = TABLE_GAP * (t->ncols - 1);
	for (i = 0; i < t->ncols; i++)
		total += t->width[i];
	/* One column at a time, always the widest that may still shrink, so
	 * that long columns give up room evenly.  Bounded: each round takes
	 * one column off the total or stops. */
	while (total > termw) {
		size_t best = t->ncols;
		for (i = 0; i < t->ncols; i++) {
			if (!t->cols[i].shrink || t->width[i] <= t->cols[i].min)
				continue;
			if (best == t->ncols || t->width[i] > t->width[best])
				best = i;
		}
		if (best == t->ncols)
			break;		/* as narrow as it gets: let it wrap */
		t->width[best]--;
		total--;
	}
done:
	/* The last column is not padded, so later pages may use the room
	 * left on the line (or its cap when there is no terminal). */
	i = t->ncols - 1;
	t->last_max = t->cols[i].max;
	if (termw > 0) {
		size_t others = total - t->width[i];
		t->last_max = termw > others ? termw - others : 0;
		if (t->last_max > t->cols[i].max)
			t->last_max = t->cols[i].max;
	}
	if (t->last_max < t->width[i])
		t->last_max = t->width[i];
	t->widths_fixed = 1;
}

static void table_put(const table_t *t, size_t i, const char *s)
{
	int last = i + 1 == t->ncols;
	size_t w = last ? t->last_max : t->width[i], tw = text_width(s), pad;

	if (i > 0)
		printf("%*s", TABLE_GAP, "");
	if (tw > w) {
		if (w > TABLE_CUT_LEN * 2) {
			fwrite(s, 1, text_offset(s, w - TABLE_CUT_LEN), stdout);
			fputs(TABLE_CUT, stdout);
		} else {
			fwrite(s, 1, text_offset(s, w), stdout);
		}
		return;
	}
	if (last && !t->cols[i].right) {
		fputs(s, stdout);	/* no trailing blanks */
		return;
	}
	pad = t->width[i] > tw ? t->width[i] - tw : 0;
	if (t->cols[i].right)
		printf("%*s%s", (int)pad, "", s);
	else
		printf("%s%*s", s, (int)pad, "");
}

void table_flush(table_t *t)
{
	size_t i, r;

	if (t->nrows == 0)
		return;
	if (!t->widths_fixed) {
		table_fix_widths(t);
		for (i = 0; i < t->ncols; i++)
			table_put(t, i, t->cols[i].name);
		fputc('\n', stdout);
	}
	for (r = 0; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			char **cell = &t->cells[r * t->ncols + i];
			table_put(t, i, *cell);
			free(*cell);
			*cell = NULL;
		}
		fputc('\n', stdout);
	}
	t->nrows = 0;
}

void table_free(table_t **tp)
{
	table_t *t;
	size_t i;

	if (tp == NULL || (t = *tp) == NULL)
		return;
	/* A half-added row is dropped. */
	for (i = 0; i < t->ncell; i++)
		free(t->cells[t->nrows * t->ncols + i]);
	t->ncell = 0;
	table_flush(t);
	free(t->cells);
	free(t->width);
	free(t);
	*tp = NULL;
}

static int
rt_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
cli_record_time(const char *p, size_t n, struct rec_time *rt)
{
	const char *q;
	size_t i;

	for (i = 0; i + 28 <= n; i++)
		if (p[i] == '[' && p[i + 3] == '/' && p[i + 7] == '/' &&
		    p[i + 12] == ':' && p[i + 27] == ']') {
			rt->pos = i + 1;
			rt->len = 26;
			rt->fmt = rt->wfmt = "%d/%b/%Y:%H:%M:%S %z";
			rt->zone = EVTIME_ZONE_UTC;
			return 1;
		}
	for (i = 0; i + 6 + 15 <= n; i++)
		if (memcmp(p + i, "audit(", 6) == 0) {
			size_t at = i + 6;

			for (size_t k = 0; k < 14; k++)
				if (!(k == 10 ? p[at + k] == '.' :
				    rt_digit(p[at + k])))
					return 0;
			if (p[at + 14] != ':')
				return 0;
			rt->pos = at;
			rt->len = 14;
			rt->fmt = "%s";
			rt->wfmt = NULL;
			rt->zone = EVTIME_ZONE_UTC;
			return 1;
		}
	if (n >= 20 && (p[4] == '-' || p[4] == '/') && p[7] == p[4] &&
	    p[10] == ' ' && p[13] == ':' && p[19] == ' ') {
		rt->pos = 0;
		rt->len = 19;
		rt->fmt = rt->wfmt = p[4] == '-' ? "%Y-%m-%d %H:%M:%S" :
		    "%Y/%m/%d %H:%M:%S";
		rt->zone = p[4] == '-' ? EVTIME_ZONE_UTC : EVTIME_ZONE_LOCAL;
		return 1;
	}
	if (n > 2 && p[0] == '[' && (q = memchr(p, ']', n < 40 ? n : 40)) !=
	    NULL) {
		rt->pos = 1;
		rt->len = (size_t)(q - p) - 1;
		rt->fmt = "%a %b %d %H:%M:%S %Y";
		rt->wfmt = memchr(p + 1, '.', rt->len) != NULL ?
		    "%a %b %d %H:%M:%S.%f %Y" : "%a %b %d %H:%M:%S %Y";
		rt->zone = EVTIME_ZONE_LOCAL;
		return 1;
	}
	return 0;
}
