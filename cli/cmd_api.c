/*
 * cmd_api.c - `tocsin api`: the credentials of the HTTP API and the web
 * console (api/api.h): tokens (create, list, revoke) and console users
 * (add, remove, list).  Only files under DATADIR/keys change, so it works
 * whether the server runs or not; the API reads them at each request, so
 * a revocation takes effect at once.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "api/api.h"
#include "cli/cli_int.h"
#include "common/err.h"
#include "common/names.h"
#include "common/util.h"

enum { OPT_NAME = 256, OPT_ROLE, OPT_TTL, OPT_JSON, OPT_PWFILE, OPT_REPLACE };

static const struct cli_opt api_opts[] = {
	{ "name", 0, OPT_NAME, "NAME",
	  "token create: who holds the token (signs its\n"
	  "changes): A-Z a-z 0-9 . _ -" },
	{ "role", 0, OPT_ROLE, "ROLE",
	  "viewer (reads), analyst (also works incidents and\n"
	  "runs drills) or admin (also manages tokens)" },
	{ "ttl", 0, OPT_TTL, "DUR",
	  "token create: valid this long (30d, 12h; default:\n"
	  "no expiry)" },
	{ "password-file", 0, OPT_PWFILE, "FILE",
	  "user add: read the password from FILE (- : stdin);\n"
	  "default: asked on the terminal" },
	{ "replace", 0, OPT_REPLACE, NULL,
	  "user add: change the password and role of an\n"
	  "existing user" },
	{ "json", 0, OPT_JSON, NULL,
	  "list: JSON Lines" },
};

static const struct cli_optgroup api_groups[] = {
	{ NULL, CLI_TABLE(api_opts) },
};

const struct cli_help cmd_api_help = {
	"usage: tocsin api token create --name NAME --role ROLE [--ttl DUR]\n"
	"       tocsin api token list [--json]\n"
	"       tocsin api token revoke ID\n"
	"       tocsin api user add NAME --role ROLE [--password-file FILE]\n"
	"                           [--replace]\n"
	"       tocsin api user remove NAME\n"
	"       tocsin api user list [--json]\n"
	"\n"
	"Credentials of the HTTP API and the web console (tocsind's api\n"
	"process, api.listen in the server configuration; docs/api.md).  A\n"
	"token is sent as \"Authorization: Bearer TOKEN\"; the console logs in\n"
	"with a token or a user's name and password.  Only hashes are stored\n"
	"(tokens: BLAKE2b; passwords: Argon2id) under DATADIR/keys.  Roles:\n"
	"viewer reads; analyst also acknowledges, assigns, notes, resolves\n"
	"incidents and runs drills; admin also manages tokens.\n",
	CLI_TABLE(api_groups),
	"Exit status 0 on success, 1 when a file cannot be written or read, 2\n"
	"on a usage error (unknown token or user, bad name, role or password).\n"
	"\n"
	"Examples:\n"
	"  tocsin api token create --name alice --role analyst --ttl 30d\n"
	"  tocsin api token list\n"
	"  tocsin api token revoke 3fa2c1d0\n"
	"  tocsin api user add bob --role viewer\n",
};

struct api_opts {
	const char	*name;
	int		 role;
	uint64_t	 ttl;
	const char	*pwfile;
	int		 replace;
	int		 json;
};

/* Read a password: from file ("-": stdin), else from the terminal without
 * echo.  Into buf (NUL-terminated, the newline cut).  0 or -1. */
static int
read_password(const struct cli_cmd *cmd, const char *file, char *buf,
    size_t len)
{
	FILE		*f = NULL;
	struct termios	 old, noecho;
	int		 tty = 0, ok;

	if (file != NULL && strcmp(file, "-") != 0) {
		if ((f = fopen(file, "r")) == NULL) {
			cli_err(cmd, "cannot read %s", file);
			return -1;
		}
	} else if (file == NULL && isatty(STDIN_FILENO)) {
		tty = tcgetattr(STDIN_FILENO, &old) == 0;
		fprintf(stderr, "password: ");
		if (tty) {
			noecho = old;
			noecho.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(STDIN_FILENO, TCSANOW, &noecho);
		}
	}
	ok = fgets(buf, (int)len, f != NULL ? f : stdin) != NULL;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fputc('\n', stderr);
	}
	if (f != NULL)
		fclose(f);
	if (!ok) {
		cli_err(cmd, "no password given");
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

static int
token_row_cb(const struct api_token_info *t, void *arg)
{
	const struct api_opts	*o = arg;
	char			 cre[40], exp[40];

	if (o->json) {
		json_t *j;
		char *s;

		format_rfc3339(t->created_us, cre, sizeof(cre));
		format_rfc3339(t->expires_us, exp, sizeof(exp));
		j = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "id", t->id, "name",
		    t->name, "role", api_role_name(t->role), "created", cre,
		    "expires", t->expires_us ? exp : NULL);
		if (j != NULL && (s = json_dumps(j, JSON_COMPACT |
		    JSON_PRESERVE_ORDER)) != NULL) {
			puts(s);
			free(s);
		}
		json_decref(j);
		return 0;
	}
	cli_format_time_s(t->created_us, cre, sizeof(cre));
	if (t->expires_us != 0)
		cli_format_time_s(t->expires_us, exp, sizeof(exp));
	else
		snprintf(exp, sizeof(exp), "never");
	printf("%-8s  %-7s  %-7s  %-20s  %-20s  %s\n", t->id,
	    t->expires_us != 0 && now_us() >= t->expires_us ? "expired" :
	    "valid", api_role_name(t->role), cre, exp, t->name);
	return 0;
}

static int
user_row_cb(const struct api_user_info *u, void *arg)
{
	const struct api_opts	*o = arg;
	char			 cre[40];

	if (o->json) {
		format_rfc3339(u->created_us, cre, sizeof(cre));
		printf("{\"name\":\"%s\",\"role\":\"%s\",\"created\":\"%s\"}\n",
		    u->name, api_role_name(u->role), cre);
		return 0;
	}
	cli_format_time_s(u->created_us, cre, sizeof(cre));
	printf("%-24s  %-7s  %s\n", u->name, api_role_name(u->role), cre);
	return 0;
}

static int
api_token(const struct cli_cmd *cmd, const char *dd, const struct api_opts *o,
    int nargs, char **args)
{
	char			 tok[TOKEN_BYTES], exp[80], eb[300];
	struct api_token_info	 ti;
	int			 rc;

	if (nargs == 1 && strcmp(args[0], "create") == 0) {
		if (o->name == NULL || o->role == API_ROLE_NONE)
			return cli_usage_error(cmd, "token create needs --name "
			    "NAME and --role viewer|analyst|admin");
		if ((rc = api_token_create(dd, o->name, o->role, o->ttl, tok,
		    &ti)) != 0) {
			cli_err(cmd, "cannot create a token in %s/keys: %s", dd,
			    ts_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		if (ti.expires_us != 0)
			cli_format_time_s(ti.expires_us, exp, sizeof(exp));
		else
			snprintf(exp, sizeof(exp), "never (revoke it with "
			    "`tocsin api token revoke %s`)", ti.id);
		printf("token:   %s\nid:      %s\nname:    %s\nrole:    %s\n"
		    "expires: %s\n", tok, ti.id, ti.name,
		    api_role_name(ti.role), exp);
		fprintf(stderr, "the token is shown only now; send it as "
		    "\"Authorization: Bearer TOKEN\"\n");
		explicit_bzero(tok, sizeof(tok));
		return CLI_EXIT_OK;
	}
	if (nargs == 1 && strcmp(args[0], "list") == 0) {
		if (!o->json)
			printf("%-8s  %-7s  %-7s  %-20s  %-20s  %s\n", "ID",
			    "STATE", "ROLE", "CREATED", "EXPIRES", "NAME");
		if (api_token_list(dd, token_row_cb, (void *)o) != 0) {
			cli_err(cmd, "cannot read %s/keys/api-tokens", dd);
			return CLI_EXIT_FAIL;
		}
		return CLI_EXIT_OK;
	}
	if (nargs == 2 && strcmp(args[0], "revoke") == 0) {
		rc = api_token_revoke(dd, args[1]);
		if (rc == TS_ENOTFOUND)
			return cli_usage_error(cmd, "no token '%s'",
			    cli_esc(args[1], eb, sizeof(eb)));
		if (rc != 0) {
			cli_err(cmd, "cannot revoke: %s", ts_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		fprintf(stderr, "revoked token %s\n", args[1]);
		return CLI_EXIT_OK;
	}
	return cli_usage_error(cmd, "token: create --name NAME --role ROLE "
	    "[--ttl DUR], list [--json] or revoke ID");
}

static int
api_user(const struct cli_cmd *cmd, const char *dd, const struct api_opts *o,
    int nargs, char **args)
{
	char	pw[API_MAX_PASSWORD + 2], eb[300];
	struct api_user_info ui;
	int	rc;

	if (nargs == 2 && strcmp(args[0], "add") == 0) {
		if (cli_check_name(cmd, NAME_AGENT, "NAME", args[1]) != 0)
			return CLI_EXIT_USAGE;
		if (o->role == API_ROLE_NONE)
			return cli_usage_error(cmd, "user add needs --role "
			    "viewer|analyst|admin");
		if (read_password(cmd, o->pwfile, pw, sizeof(pw)) != 0)
			return CLI_EXIT_USAGE;
		if (strlen(pw) < API_MIN_PASSWORD ||
		    strlen(pw) > API_MAX_PASSWORD) {
			explicit_bzero(pw, sizeof(pw));
			return cli_usage_error(cmd, "the password must be %d to "
			    "%d bytes", API_MIN_PASSWORD, API_MAX_PASSWORD);
		}
		rc = api_user_add(dd, args[1], o->role, pw, o->replace, &ui);
		explicit_bzero(pw, sizeof(pw));
		if (rc == TS_EEXIST)
			return cli_usage_error(cmd, "user '%s' exists (--replace "
			    "changes it)", args[1]);
		if (rc != 0) {
			cli_err(cmd, "cannot add the user in %s/keys: %s", dd,
			    ts_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		printf("user %s: %s\n", ui.name, api_role_name(ui.role));
		return CLI_EXIT_OK;
	}
	if (nargs == 2 && strcmp(args[0], "remove") == 0) {
		rc = api_user_remove(dd, args[1]);
		if (rc == TS_ENOTFOUND)
			return cli_usage_error(cmd, "no user '%s'",
			    cli_esc(args[1], eb, sizeof(eb)));
		if (rc != 0) {
			cli_err(cmd, "cannot remove: %s", ts_strerror(rc));
			return CLI_EXIT_FAIL;
		}
		fprintf(stderr, "removed user %s\n", args[1]);
		return CLI_EXIT_OK;
	}
	if (nargs == 1 && strcmp(args[0], "list") == 0) {
		if (!o->json)
			printf("%-24s  %-7s  %s\n", "NAME", "ROLE", "CREATED");
		if (api_user_list(dd, user_row_cb, (void *)o) != 0) {
			cli_err(cmd, "cannot read %s/keys/api-users", dd);
			return CLI_EXIT_FAIL;
		}
		return CLI_EXIT_OK;
	}
	return cli_usage_error(cmd, "user: add NAME --role ROLE, remove NAME "
	    "or list [--json]");
}

int
cmd_api(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_optparse	p;
	struct api_opts		o;
	const char		*dd;
	char			 eb[300];
	int			 opt, nargs;
	char			**args;

	memset(&o, 0, sizeof(o));
	cli_opt_init(&p, c, cmd, CLI_TABLE(api_opts), 0, argc, argv);
	while ((opt = cli_opt_next(&p)) != 0) {
		if (opt == CLI_OPT_EXIT)
			return p.exit;
		switch (opt) {
		case OPT_NAME:
			if (cli_check_name(cmd, NAME_AGENT, "--name",
			    p.arg) != 0)
				return CLI_EXIT_USAGE;
			o.name = p.arg;
			break;
		case OPT_ROLE:
			if ((o.role = api_role_parse(p.arg)) == API_ROLE_NONE)
				return cli_usage_error(cmd, "--role: '%s' is not "
				    "viewer, analyst or admin",
				    cli_esc(p.arg, eb, sizeof(eb)));
			break;
		case OPT_TTL:
			if (parse_duration(p.arg, &o.ttl) != 0 || o.ttl == 0)
				return cli_usage_error(cmd, "--ttl: '%s' is not "
				    "a duration such as 12h or 30d",
				    cli_esc(p.arg, eb, sizeof(eb)));
			break;
		case OPT_PWFILE:
			o.pwfile = p.arg;
			break;
		case OPT_REPLACE:
			o.replace = 1;
			break;
		case OPT_JSON:
			o.json = 1;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	args = argv + optind;
	nargs = argc - optind;
	if (nargs < 1)
		return cli_usage_error(cmd, "missing sub-command (token or "
		    "user)");
	if ((dd = cli_datadir(c)) == NULL)
		return CLI_EXIT_USAGE;
	if (strcmp(args[0], "token") == 0)
		return api_token(cmd, dd, &o, nargs - 1, args + 1);
	if (strcmp(args[0], "user") == 0)
		return api_user(cmd, dd, &o, nargs - 1, args + 1);
	return cli_usage_error(cmd, "unknown sub-command '%s' (token or user)",
	    cli_esc(args[0], eb, sizeof(eb)));
}
