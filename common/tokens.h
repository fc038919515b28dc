/*
 * tokens.h - enrolment tokens: one-time (or N-time) secrets with which a PC
 * enrols its own agent (`tocsin-agent enroll`) without any secret file
 * carried to it by hand.
 *
 * A token is "ID.SECRET": ID 8 hex digits (names the token in lists and
 * logs), SECRET 32 hex digits (128 random bits).  Only a hash of the secret
 * is stored (BLAKE2b-256, libsodium's crypto_generichash), one file per
 * token, written atomically:
 *
 *   DATADIR/keys/tokens/ID     "tocsin-token 1 HASH EXPIRES USES CREATED
 *                              [GROUP]\n"
 *                              HASH 64 hex digits; EXPIRES, CREATED
 *                              microseconds since the epoch; USES the
 *                              enrolments it still allows (0: used up);
 *                              GROUP the group the agents it enrols
 *                              join (absent: "default")
 *
 * `tocsin agents token create` writes them; the collector's enrolment
 * endpoint checks and spends them.  A token is refused when unknown or
 * forged (no file, or the secret's hash differs: the same answer, so a
 * guess learns nothing), expired, or used up.
 */
#ifndef TOCSIN_TOKENS_H
#define TOCSIN_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

#define TOKEN_ID_HEX		8
#define TOKEN_SECRET_HEX	32
/* "ID.SECRET" and its NUL. */
#define TOKEN_BYTES		(TOKEN_ID_HEX + 1 + TOKEN_SECRET_HEX + 1)
/* The most uses one token may allow. */
#define TOKEN_MAX_USES		1000000

struct token_info {
	char		 id[TOKEN_ID_HEX + 1];
	uint64_t	 expires_us;	/* wall clock */
	uint64_t	 created_us;
	uint32_t	 uses;		/* enrolments it still allows */
	char		 group[MAX_NAME_BYTES + 1];	/* agents it enrols join
							 * this group */
};

/* Why a token was refused (token_check). */
enum token_verdict { TOKEN_OK = 0, TOKEN_UNKNOWN, TOKEN_EXPIRED,
    TOKEN_USED };

/* Create a token valid for ttl_us and uses enrolments; the token text into
 * out.  0, TS_EINVAL, TS_EIO. */
int token_create(const char *datadir, uint64_t ttl_us, uint32_t uses,
    char out[TOKEN_BYTES], struct token_info *info);

/* The same with the group the enrolled agents join (NULL: "default"; else
 * a name as NAME_AGENT, TS_EINVAL otherwise). */
int token_create_group(const char *datadir, uint64_t ttl_us, uint32_t uses,
    const char *group, char out[TOKEN_BYTES], struct token_info *info);

/* Check a presented token at now_us (nothing spent).  0 with *verdict set
 * (and *info filled when the token exists), or TS_EIO. */
int token_check(const char *datadir, const char *token, uint64_t now_us,
    enum token_verdict *verdict, struct token_info *info);

/* Spend one use of token ID.  0, TS_ENOTFOUND, TS_EIO. */
int token_spend(const char *datadir, const char *id);

/* Remove token ID.  0 or TS_ENOTFOUND. */
int token_revoke(const char *datadir, const char *id);

/* Call cb for every stored token, in ID order.  0 or TS_EIO. */
int token_list(const char *datadir,
    int (*cb)(const struct token_info *t, void *arg), void *arg);

/* "unknown or forged token", "token expired", "token already used". */
const char *token_verdict_text(enum token_verdict v);

#endif /* TOCSIN_TOKENS_H */
