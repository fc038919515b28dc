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

#include "common/config.h"

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
	const char	*usage;		/* `tocsin CMD --help`: usage, options,
					 * examples */
};

/* Handlers and their help texts (one file per command). */
int cmd_alerts(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_events(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_status(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_agents(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
extern const char cmd_alerts_usage[];
extern const char cmd_events_usage[];
extern const char cmd_status_usage[];
extern const char cmd_agents_usage[];
int cmd_record(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_replay(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_drill(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
int cmd_rules(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv);
extern const char cmd_rules_usage[];
extern const char cmd_record_usage[];
extern const char cmd_replay_usage[];
extern const char cmd_drill_usage[];
int cmd_incidents(struct cli *c, const struct cli_cmd *cmd, int argc,
    char **argv);
extern const char cmd_incidents_usage[];

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

struct replay_opts {
	const char	*drill;		/* NULL or "": not a drill */
	uint64_t	 speed;		/* gaps divided by this; 0: no waits */
	uint64_t	 timeout_us;	/* longest wait without progress */
	const char	*endpoint;	/* NULL: from the configuration */
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

/* ---- options ------------------------------------------------------------ */

/* Every command's getopt_long tables end with these, so that the global
 * options also work after the command name.  The leading ':' makes getopt
 * report errors to us instead of printing them. */
#define CLI_COMMON_SHORTOPTS	":c:D:h"
#define CLI_COMMON_LONGOPTS \
	{ "config", required_argument, NULL, 'c' }, \
	{ "datadir", required_argument, NULL, 'D' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }

/* Returned by cli_opt_common when parsing goes on. */
#define CLI_OPT_NEXT	(-1)
/* Returned by cli_opt_common when opt is the command's own option. */
#define CLI_OPT_OWN	(-2)

/*
 * Handle an option every command takes (-c, -D, -h) or a getopt error
 * ('?' unknown option, ':' missing value).  Returns CLI_OPT_NEXT when
 * handled, CLI_OPT_OWN when opt is not common, or an exit status: 0 after
 * printing the help, 2 after a usage error (message printed).
 */
int cli_opt_common(struct cli *c, const struct cli_cmd *cmd, int opt,
    int argc, char **argv);

/* Print "tocsin CMD: message (see tocsin CMD --help)" to stderr; returns
 * CLI_EXIT_USAGE so that callers can `return cli_usage_error(...)`. */
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "tocsin: message" (or "tocsin CMD: message") to stderr. */
void cli_err(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Refuse positional arguments past optind: 0, or 2 after a message. */
int cli_no_args(const struct cli_cmd *cmd, int argc, char **argv);

/* Parse the value of option opt ("--limit") as a number 0..max through
 * parse_u64.  0, or 2 after a message naming the option and the value. */
int cli_parse_number(const struct cli_cmd *cmd, const char *opt,
    const char *arg, uint64_t max, uint64_t *out);

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

/* DATADIR/sub (xasprintf; caller frees).  NULL when out of memory. */
char *cli_path(const char *datadir, const char *sub);

void cli_free(struct cli *c);

/* ---- output -------------------------------------------------------------- */

/* RFC 3339 UTC with whole seconds ("2026-01-26T00:00:05Z"), buf >= 32. */
void cli_format_time_s(uint64_t us, char *buf, size_t buflen);

/* "12s", "4m", "3h", "2d" for an age in microseconds, buf >= 16. */
void cli_format_age(uint64_t us, char *buf, size_t buflen);

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
