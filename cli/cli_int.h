/*
 * cli_int.h - private to the tocsin CLI: the command table's row type, the
 * options every command shares, value parsing with clear messages, and a
 * small table printer that escapes untrusted text and never wraps a line.
 *
 * Exit statuses of every command: CLI_EXIT_OK (0) on success, CLI_EXIT_FAIL
 * (1) on a failed check or an error at run time, CLI_EXIT_USAGE (2) on a
 * usage or input error (the message names the option and the value).
 */
#ifndef TOCSIN_CLI_INT_H
#define TOCSIN_CLI_INT_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "common/names.h"

#define CLI_EXIT_OK	0
#define CLI_EXIT_FAIL	1
#define CLI_EXIT_USAGE	2

/* What the global options (-c, -D) chose; the configuration and the data
 * directory are resolved lazily, so a command that needs neither never
 * reads a configuration. */
struct cli {
	const char		*config_path;	/* -c FILE; NULL: embedded default */
	const char		*datadir_opt;	/* -D DIR; NULL: config's data_dir */
	struct server_config	 cfg;		/* valid when cfg_loaded */
	int			 cfg_loaded;
};

struct cli_cmd;
typedef int (*cli_handler)(struct cli *c, const struct cli_cmd *cmd,
    int argc, char **argv);

/* One row of the command table (tocsin_main.c).  argv[0] given to the
 * handler is the full command name ("tocsin alerts"), so messages name it. */
struct cli_cmd {
	const char	*name;		/* "alerts" */
	cli_handler	 run;
	const char	*summary;	/* one line for `tocsin --help` */
	const struct cli_help *help;	/* `tocsin CMD --help` */
};

/* Handlers and their help texts (one file per command). */
int cmd_alerts(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_events(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_status(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_agents(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
extern const struct cli_help cmd_alerts_help;
extern const struct cli_help cmd_events_help;
extern const struct cli_help cmd_status_help;
extern const struct cli_help cmd_agents_help;
int cmd_record(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_replay(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_drill(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_rules(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
extern const struct cli_help cmd_rules_help;
extern const struct cli_help cmd_record_help;
extern const struct cli_help cmd_replay_help;
extern const struct cli_help cmd_drill_help;
int cmd_api(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_incidents(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv);
extern const struct cli_help cmd_incidents_help;
extern const struct cli_help cmd_api_help;

/* ---- recordings and replay (cmd_replay.c; used by cmd_drill.c) ---------- */

/* Version of the recording format (the header's "tocsin_recording"). */
#define RECORDING_VERSION	1

/* One event of a recording (strings owned by the recording). */
struct rec_event {
	uint64_t	 time_us;	/* original time (shifted by
					 * recording_shift_to_now) */
	char		*host, *agent, *source, *file;
	char		*raw;
	size_t		 raw_len;
};

struct recording {
	char		*path;
	struct rec_event *ev;
	size_t		 n;
};

/* Load and validate a whole recording (JSON Lines: header, then events in
 * time order).  0, or TS_EPARSE/TS_EIO/TS_ETOOBIG/TS_ENOMEM with
 * "FILE:LINE: message" in err.  Free with recording_free. */
int recording_load(const char *path, struct recording *r, char *err,
    size_t errlen);
void recording_free(struct recording *r);

/* Move every event by (now - first event's time) and rewrite the syslog
 * timestamp of each raw line to match.  0 or TS_ENOMEM. */
int recording_shift(struct recording *r, uint64_t now);

/* A time written inside a record, which the shipped decoders take as the
 * event's time (rules/default/web.yml, iis.yml, auditd.yml). */
struct rec_time {
	size_t		 pos, len;	/* where in the line */
	const char	*fmt;		/* evtime_parse format that reads it */
	const char	*wfmt;		/* evtime_format format that writes it
					 * back; NULL: audit's SECONDS.mmm */
	int		 zone;		/* EVTIME_ZONE_* of a value without
					 * an offset (local: a wall clock) */
};

/* Find one in (raw, n): an access log's [dd/Mon/yyyy:hh:mm:ss +zzzz], an
 * audit record's audit(SECONDS.mmm:, and at the start of a line without a
 * syslog header W3C's "yyyy-mm-dd hh:mm:ss" (UTC), nginx's
 * "yyyy/mm/dd hh:mm:ss" and Apache's "[Www Mmm dd hh:mm:ss[.usec] yyyy]"
 * (local).  1 found (*rt set), 0 none. */
int cli_record_time(const char *raw, size_t n, struct rec_time *rt);

/* Where a replay stands, for a progress display. */
struct replay_progress {
	uint64_t	 rp_sent, rp_total, rp_acked;	/* events */
	uint64_t	 rp_left_us;	/* time left (estimate); UINT64_MAX:
					 * not known yet */
	int		 rp_done;	/* the last call: everything sent */
};

struct replay_opts {
	const char	*drill;		/* NULL or "": not a drill */
	uint64_t	 speed;		/* gaps divided by this; 0: no waits */
	uint64_t	 timeout_us;	/* longest wait without progress */
	const char	*endpoint;	/* NULL: from the configuration */
	/* NULL, or called about every REPLAY_PROGRESS_US while sending and
	 * once at the end (rp_done) */
	void		(*progress_cb)(const struct replay_progress *p,
			    void *arg);
	void		*progress_arg;
};

struct replay_result {
	uint64_t	 sent, acked, batches;
	uint64_t	 first_sent_us;	/* wall clock, first event sent */
	uint64_t	 last_ack_us;	/* wall clock, last ACK */
};

/* Send events of recs[0..nrec) (merged by time) into the collector as the
 * enrolled agent "replay", waiting for every ACK.  CLI_EXIT_* after printing
 * any error. */
int replay_send(struct cli *c, const struct cli_cmd *cmd,
    struct recording *recs, size_t nrec, const struct replay_opts *o,
    struct replay_result *res);

/* ---- options: one table per command ------------------------------------ */

/* One option of a command.  The command's static table of these drives
 * both the parsing (cli_opt_next) and the options part of --help
 * (cli_help_print); adding an option is adding a row. */
struct cli_opt {
	const char	*o_long;	/* "since", without "--" */
	int		 o_short;	/* 'o', or 0: no short form */
	int		 o_id;		/* what cli_opt_next returns, > 0 */
	const char	*o_arg;		/* the value's name in --help ("TIME");
					 * NULL: the option takes no value */
	const char	*o_help;	/* help; '\n' starts another line */
};

/* The options of a command or of one of its sub-commands, for --help. */
struct cli_optgroup {
	const char		*og_title;	/* "Options of add:"; NULL:
						 * "Options:" */
	const struct cli_opt	*og_opts;
	size_t			 og_n;
};

/* A command's --help: the synopsis and description, its option tables
 * (printed from the tables, then the common options), and the epilog
 * (exit status, examples). */
struct cli_help {
	const char			*h_usage;
	const struct cli_optgroup	*h_groups;
	size_t				 h_ngroups;
	const char			*h_epilog;	/* NULL: none */
};

/* Table and row count, for the (opts, n) arguments below. */
#define CLI_TABLE(t)	(t), (sizeof(t) / sizeof((t)[0]))

/* Rows one option table may have (the getopt arrays are built in place). */
#define MAX_CLI_OPTS		32

/* Flags of cli_opt_init. */
#define CLI_OPTF_STOP	0x1	/* stop at the first operand (the top level:
				 * the rest belongs to the command) */

/* Returned by cli_opt_next: the command must return p->exit (0 after
 * printing the help, 2 after printing a usage error). */
#define CLI_OPT_EXIT	(-1)

/* Top-level ids cli_opt_next returns when cmd is NULL. */
#define CLI_OPT_HELP	'h'

/* The state of one parse; on the caller's stack. */
struct cli_optparse {
	struct cli		*op_cli;
	const struct cli_cmd	*op_cmd;	/* NULL: the top level */
	const struct cli_opt	*op_opts;
	size_t			 op_n;
	int			 op_argc;
	char			**op_argv;
	struct option		 op_long[MAX_CLI_OPTS + 4];
	char			 op_short[MAX_CLI_OPTS * 2 + 12];
	const char		*arg;		/* value of the option just
						 * returned; NULL for a flag */
	int			 exit;		/* after CLI_OPT_EXIT */
};

/* The options every command takes (-c, -D, -h), appended to each table.
 * They work before and after the command name. */
extern const struct cli_opt cli_common_opts[];
extern const size_t cli_common_nopts;

/*
 * Start parsing argv[1..argc) of command cmd (NULL: the top level) with the
 * table opts[0..n) plus the common options.  Operands may be mixed with
 * options (unless CLI_OPTF_STOP); after the parse they are
 * argv[optind..argc).  A table over MAX_CLI_OPTS or with an id <= 0 is a
 * programming error (fatal).
 */
void cli_opt_init(struct cli_optparse *p, struct cli *c,
    const struct cli_cmd *cmd, const struct cli_opt *opts, size_t n,
    int flags, int argc, char **argv);

/*
 * The next option of the table: its o_id (p->arg holds its value), 0 when
 * the options end, or CLI_OPT_EXIT with p->exit set: 0 after printing the
 * command's help (-h), 2 after a usage error ("unknown option '--x'",
 * "option '--x' needs a value", "option '--x' takes no value").  -c and -D
 * are handled here; at the top level (cmd NULL) -h is returned as
 * CLI_OPT_HELP for the caller to print its own usage.
 */
int cli_opt_next(struct cli_optparse *p);

/* One sub-command of a command (`tocsin agents add`): the command's static
 * table of these is looked up once by cli_sub_dispatch. */
struct cli_sub {
	const char	*sub_name;	/* "add" */
	cli_handler	 sub_run;	/* gets argv[0] = the sub-command */
};

/*
 * Run the sub-command argv[1] of cmd from subs[0..n).  With no sub-command
 * (none, or an option first): -h/--help prints the help (0); else dflt
 * (may be NULL) runs with the whole argv, or it is a usage error "missing
 * sub-command (a, b or c)".  An unknown one is a usage error "unknown
 * sub-command 'x' (a, b or c)".  Returns the handler's exit status.
 */
int cli_sub_dispatch(struct cli *c, const struct cli_cmd *cmd,
    const struct cli_sub *subs, size_t n, cli_handler dflt, int argc,
    char **argv);

/* Print the help of cmd: its usage, its option tables, the common
 * options and its epilog. */
void cli_help_print(const struct cli_cmd *cmd, FILE *fp);

/* Print the rows opts[0..n) as --help does. */
void cli_opts_print(const struct cli_opt *opts, size_t n, FILE *fp);

/* Print "tocsin CMD: message (see tocsin CMD --help)" to stderr; returns
 * CLI_EXIT_USAGE so that callers can `return cli_usage_error(...)`. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "tocsin: message" (or "tocsin CMD: message") to stderr. */
void cli_err(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Untrusted text (a command-line argument, a name from a file), escaped
 * into buf for a message (escape_text); returns buf. */
const char *cli_esc(const char *s, char *buf, size_t buflen);

/* Refuse positional arguments past optind: 0, or 2 after a message. */
int cli_no_args(const struct cli_cmd *cmd, int argc, char **argv);

/* Parse the value of option opt ("--limit") as a number 0..max through
 * parse_u64.  0, or 2 after a message naming the option and the value. */
int cli_parse_number(const struct cli_cmd *cmd, const char *opt,
    const char *arg, uint64_t max, uint64_t *out);

/* Check s as a name of kind k (common/names.h): 0, or 2 after "invalid
 * WHAT 'S': what it must look like".  what: "agent name", "--drill". */
int cli_check_name(const struct cli_cmd *cmd, enum name_kind k,
    const char *what, const char *s);

/* Check s as a ZeroMQ endpoint (common/endpoint.h): 0, or 2 after
 * "invalid OPT 'S': expected a ZeroMQ endpoint such as ...". */
int cli_check_endpoint(const struct cli_cmd *cmd, const char *opt,
    const char *s);

/* Parse a time argument (duration before now, or RFC 3339).  0 or 2. */
int cli_parse_time(const struct cli_cmd *cmd, const char *opt,
    const char *arg, uint64_t now, uint64_t *out);

/* ---- configuration and data directory ----------------------------------- */

/* The server configuration (-c FILE or the embedded default), loaded once.
 * NULL after printing the parse error. */
const struct server_config *cli_config(struct cli *c);

/* The data directory: -D, else the configuration's data_dir.  NULL after
 * printing why.  Valid until cli_free. */
const char *cli_datadir(struct cli *c);

/* Like cli_datadir, and the directory must exist: NULL after printing
 * "data directory 'X' does not exist" (the caller exits 2). */
const char *cli_datadir_existing(struct cli *c, const struct cli_cmd *cmd);

void cli_free(struct cli *c);

/* ---- output -------------------------------------------------------------- */

/* RFC 3339 UTC with whole seconds ("2026-01-26T00:00:05Z"), buf >= 32. */
void cli_format_time_s(uint64_t us, char *buf, size_t buflen);

/* "12s", "4m", "3h", "2d" for an age in microseconds, buf >= 16. */
void cli_format_age(uint64_t us, char *buf, size_t buflen);

/* Who signs a change this command makes (control requests): $TOCSIN_ACTOR
 * (set by the API for the drills it runs on an analyst's behalf), else
 * $SUDO_USER (the person behind sudo), else the login name, else the
 * name of the user id, else "uid-N": never "unknown".  A name longer than
 * MAX_NAME_BYTES or holding a control byte is not taken.  Static storage. */
const char *cli_actor(void);

/* Columns: name, widest width a cell may take (the cell is cut with "..."
 * past it), whether the column may shrink further to fit the terminal and
 * its smallest width then, and right alignment (numbers). */
struct table_col {
	const char	*name;
	size_t		 max;
	size_t		 min;		/* smallest width when shrinking */
	int		 shrink;	/* may shrink to fit the terminal */
	int		 right;		/* right-aligned */
};

typedef struct table table_t;

/* A table printed to stdout.  Rows are buffered a page at a time: the
 * column widths come from the first page and stay for the rest, so a long
 * listing streams with bounded memory.  NULL when out of memory. */
table_t *table_new(const struct table_col *cols, size_t ncols);

/* Append the next cell of the current row: len bytes of UNTRUSTED text,
 * escaped (escape_text) and cut to the column's width.  A row ends when
 * every column has a cell.  0 or TS_ENOMEM. */
int table_cell(table_t *t, const char *s, size_t len);
int table_cell_str(table_t *t, const char *s);	/* NUL-terminated; NULL: "-" */
int table_cellf(table_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Rows added so far (all pages). */
uint64_t table_rows(const table_t *t);

/* Print what is buffered; table_free flushes too. */
void table_flush(table_t *t);
void table_free(table_t **t);

/* Write one line of text followed by "\n" to stdout. */
void cli_print_line(const char *s, size_t len);

#endif /* TOCSIN_CLI_INT_H */
