/*
 * api.h - the HTTP API and web console process of tocsind, and the stores
 * of the credentials it accepts.
 *
 * api_run() serves JSON under /api/v1/ (api/openapi.json describes every
 * route) and the web console's files (embedded at build time from api/web/)
 * on api.listen, over HTTPS when api.tls_cert and api.tls_key are set.  It
 * reads the state and the journal through their owners' read APIs
 * (engine/state.h, collector/journal.h) and changes things only by control
 * requests that the engine applies (common/control.h), exactly like the
 * CLI: it never writes the state.
 *
 * Credentials (written by `tocsin api ...`, read by the API process at each
 * request, so that a revocation takes effect at once):
 *
 *   DATADIR/keys/api-tokens/ID   "tocsin-api-token 1 HASH ROLE EXPIRES
 *                                CREATED NAME\n": HASH BLAKE2b-256 of the
 *                                secret (64 hex digits), ROLE viewer |
 *                                analyst | admin, EXPIRES and CREATED
 *                                microseconds since the epoch (EXPIRES 0:
 *                                never), NAME who holds it (the actor its
 *                                changes are signed with)
 *   DATADIR/keys/api-users/NAME  "tocsin-api-user 1 ROLE CREATED PWHASH\n":
 *                                PWHASH libsodium's crypto_pwhash_str
 *                                (Argon2id) of the password
 *
 * A token is "ID.SECRET" as an enrolment token (common/tokens.h): ID 8 hex
 * digits, SECRET 32 hex digits (128 random bits); only its hash is kept.
 *
 * Counters (`tocsin status`): the process writes them at least once a second
 * to DATADIR/run/api.stats ("name value" lines, replaced atomically), since
 * it owns no LMDB environment; api_stats_foreach reads them.
 */
#ifndef TOCSIN_API_H
#define TOCSIN_API_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/tokens.h"

struct server_config;

/* Roles, each allowing what the one below allows and more. */
enum api_role {
	API_ROLE_NONE = 0,
	API_ROLE_VIEWER,	/* reads everything */
	API_ROLE_ANALYST,	/* also works incidents and runs drills */
	API_ROLE_ADMIN,		/* also manages agents and tokens */
};

/* "viewer", "analyst", "admin" ("none" for anything else).  Static. */
const char *api_role_name(int role);
/* The role named s, or API_ROLE_NONE. */
int api_role_parse(const char *s);

/* ---- tokens ------------------------------------------------------------ */

struct api_token_info {
	char		 id[TOKEN_ID_HEX + 1];
	char		 name[MAX_NAME_BYTES + 1];	/* its holder */
	int		 role;				/* enum api_role */
	uint64_t	 expires_us;			/* 0: never */
	uint64_t	 created_us;
};

/* Create a token for name (an agent-like name: common/names.h NAME_AGENT)
 * with role, valid for ttl_us (0: no expiry); the token text into out.
 * 0, TS_EINVAL (bad name or role), TS_EIO. */
int api_token_create(const char *datadir, const char *name, int role,
    uint64_t ttl_us, char out[TOKEN_BYTES], struct api_token_info *info);

/* Why a token was refused. */
enum api_token_verdict { API_TOKEN_OK = 0, API_TOKEN_UNKNOWN,
    API_TOKEN_EXPIRED };

/* Check the presented token text (len bytes, untrusted) at now_us.  0 with
 * *verdict (and *info when API_TOKEN_OK), or TS_EIO. */
int api_token_check(const char *datadir, const char *token, size_t len,
    uint64_t now_us, enum api_token_verdict *verdict,
    struct api_token_info *info);

/* Token id as stored (no secret needed: a session made with it checks it
 * still exists).  0, TS_ENOTFOUND, TS_EIO. */
int api_token_get(const char *datadir, const char *id,
    struct api_token_info *info);

/* Remove token id.  0 or TS_ENOTFOUND. */
int api_token_revoke(const char *datadir, const char *id);

/* Call cb for each token in id order (cb returns non-zero to stop).  0 or
 * TS_EIO. */
int api_token_list(const char *datadir,
    int (*cb)(const struct api_token_info *t, void *arg), void *arg);

/* ---- users (the console's password login) -------------------------------- */

struct api_user_info {
	char		 name[MAX_NAME_BYTES + 1];
	int		 role;
	uint64_t	 created_us;
};

/* Shortest password accepted. */
#define API_MIN_PASSWORD	10
/* Longest password accepted (crypto_pwhash takes any; a bound on work). */
#define API_MAX_PASSWORD	1024

/* Add (replace: set the password and role of) user name.  0, TS_EINVAL
 * (name, role or password length), TS_EEXIST (exists and !replace), TS_EIO,
 * TS_ENOMEM (Argon2id could not get its memory). */
int api_user_add(const char *datadir, const char *name, int role,
    const char *password, int replace, struct api_user_info *info);

/* Check name and password.  0 with *info, TS_ENOTFOUND (no such user or a
 * wrong password: the same answer), TS_EIO. */
int api_user_check(const char *datadir, const char *name,
    const char *password, struct api_user_info *info);

/* api_user_check, and *unknown set to 1 when no such user exists (its
 * password is still run through Argon2id, against a hash made once from
 * a random password, so both cost the same). */
int api_user_check_ex(const char *datadir, const char *name,
    const char *password, struct api_user_info *info, int *unknown);

/* Make the hash unknown users are checked against (once; later calls
 * return at once).  0 or TS_ENOMEM. */
int api_user_prepare(void);

/* User name as stored.  0, TS_ENOTFOUND, TS_EIO. */
int api_user_get(const char *datadir, const char *name,
    struct api_user_info *info);

/* Remove user name.  0 or TS_ENOTFOUND. */
int api_user_remove(const char *datadir, const char *name);

int api_user_list(const char *datadir,
    int (*cb)(const struct api_user_info *u, void *arg), void *arg);

/* ---- the process ----------------------------------------------------------- */

/* What tocsind checks before it forks: the listener can be bound and the
 * certificate and key read.  0, or -1 with one line in err. */
int api_preflight(const struct server_config *cfg, char *err, size_t errlen);

/* Serve until *stop becomes non-zero; reload the rule set when *reload is
 * set (SIGHUP, as the engine).  0 on a clean stop, a TS_E* on a start-up
 * failure (logged). */
int api_run(const struct server_config *cfg, volatile sig_atomic_t *stop,
    volatile sig_atomic_t *reload);

/* For `tocsin status`: the counters the API process last wrote under
 * datadir.  TS_ENOTFOUND when it never ran there. */
int api_stats_foreach(const char *datadir,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg);

#endif /* TOCSIN_API_H */
