/*
 * tokens.c - enrolment tokens stored hashed (schema in tokens.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/err.h"
#include "common/names.h"
#include "common/tokens.h"
#include "common/util.h"

#define TOKEN_HASH_BYTES	32
#define TOKEN_FILE_MAX		256
#define TOKENS_DIR		"keys/tokens"

static void hex_encode(const unsigned char *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* 1 if s[0..n) is n lower-case hex digits. */
static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int token_init(void)
{
	return sodium_init() < 0 ? TS_EIO : 0;
}

static void secret_hash(const char *secret, char out[2 * TOKEN_HASH_BYTES + 1])
{
	unsigned char h[TOKEN_HASH_BYTES];

	crypto_generichash(h, sizeof(h), (const unsigned char *)secret,
	    TOKEN_SECRET_HEX, NULL, 0);
	hex_encode(h, sizeof(h), out);
}

static char *token_path(const char *datadir, const char *id)
{
	return xasprintf("%s/%s/%s", datadir, TOKENS_DIR, id);
}

struct token_rec {
	struct token_info info;
	char		 hash[2 * TOKEN_HASH_BYTES + 1];
};

static int rec_write(const char *datadir, const struct token_rec *r)
{
	char buf[TOKEN_FILE_MAX], *dir, *path;
	int n, rc;

	n = snprintf(buf, sizeof(buf), "tocsin-token 1 %s %llu %u %llu %s\n",
	    r->hash, (unsigned long long)r->info.expires_us, r->info.uses,
	    (unsigned long long)r->info.created_us, r->info.group);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return TS_EINVAL;
	if ((dir = xasprintf("%s/%s", datadir, TOKENS_DIR)) == NULL)
		return TS_ENOMEM;
	rc = mkdir_p(dir, 0700) != 0 ? TS_EIO : 0;
	free(dir);
	if (rc != 0)
		return rc;
	if ((path = token_path(datadir, r->info.id)) == NULL)
		return TS_ENOMEM;
	rc = write_file_atomic(path, buf, (size_t)n, 0600) != 0 ? TS_EIO : 0;
	free(path);
	return rc;
}

/* Read token id.  0, TS_ENOTFOUND, TS_EIO (unreadable or malformed). */
static int rec_read(const char *datadir, const char *id, struct token_rec *r)
{
	char *path, *text = NULL;
	unsigned long long exp, created;
	unsigned uses;
	size_t len;
	int rc = 0, nf;

	if ((path = token_path(datadir, id)) == NULL)
		return TS_ENOMEM;
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		free(path);
		return TS_ENOTFOUND;
	}
	if (read_file(path, TOKEN_FILE_MAX, &text, &len) != 0) {
		log_err("%s: cannot read the token file", path);
		free(path);
		return TS_EIO;
	}
	memset(r, 0, sizeof(*r));
	nf = sscanf(text, "tocsin-token 1 %64s %llu %u %llu %64s", r->hash,
	    &exp, &uses, &created, r->info.group);
	if (nf == 4)	/* written before groups existed */
		snprintf(r->info.group, sizeof(r->info.group), "default");
	if ((nf != 4 && nf != 5) || strlen(r->hash) != 2 * TOKEN_HASH_BYTES ||
	    !name_valid_str(NAME_AGENT, r->info.group)) {
		log_err("%s: not a token file", path);
		rc = TS_EIO;
	} else {
		snprintf(r->info.id, sizeof(r->info.id), "%s", id);
		r->info.expires_us = exp;
		r->info.created_us = created;
		r->info.uses = uses;
	}
	free(text);
	free(path);
	return rc;
}

int token_create(const char *datadir, uint64_t ttl_us, uint32_t uses,
    char out[TOKEN_BYTES], struct token_info *info)
{
	return token_create_group(datadir, ttl_us, uses, NULL, out, info);
}

int token_create_group(const char *datadir, uint64_t ttl_us, uint32_t uses,
    const char *group, char out[TOKEN_BYTES], struct token_info *info)
{
	unsigned char idb[TOKEN_ID_HEX / 2], sb[TOKEN_SECRET_HEX / 2];
	char secret[TOKEN_SECRET_HEX + 1], *path;
	struct token_rec r;
	int rc;

	if (uses == 0 || uses > TOKEN_MAX_USES || ttl_us == 0 ||
	    (group != NULL && !name_valid_str(NAME_AGENT, group)))
		return TS_EINVAL;
	if ((rc = token_init()) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	/* a fresh id: never one that exists */
	for (int tries = 0;; tries++) {
		if (tries > 16)
			return TS_EIO;
		randombytes_buf(idb, sizeof(idb));
		hex_encode(idb, sizeof(idb), r.info.id);
		if ((path = token_path(datadir, r.info.id)) == NULL)
			return TS_ENOMEM;
		rc = access(path, F_OK);
		free(path);
		if (rc != 0)
			break;
	}
	randombytes_buf(sb, sizeof(sb));
	hex_encode(sb, sizeof(sb), secret);
	secret_hash(secret, r.hash);
	r.info.created_us = now_us();
	r.info.expires_us = r.info.created_us + ttl_us;
	r.info.uses = uses;
	snprintf(r.info.group, sizeof(r.info.group), "%s",
	    group != NULL ? group : "default");
	if ((rc = rec_write(datadir, &r)) != 0)
		return rc;
	snprintf(out, TOKEN_BYTES, "%s.%s", r.info.id, secret);
	sodium_memzero(secret, sizeof(secret));
	if (info != NULL)
		*info = r.info;
	return 0;
}

int token_check(const char *datadir, const char *token, uint64_t now,
    enum token_verdict *verdict, struct token_info *info)
{
	char id[TOKEN_ID_HEX + 1], h[2 * TOKEN_HASH_BYTES + 1];
	struct token_rec r;
	int rc;

	*verdict = TOKEN_UNKNOWN;
	if (token == NULL || strlen(token) != TOKEN_BYTES - 1 ||
	    token[TOKEN_ID_HEX] != '.' || !is_hex(token, TOKEN_ID_HEX) ||
	    !is_hex(token + TOKEN_ID_HEX + 1, TOKEN_SECRET_HEX))
		return 0;
	if ((rc = token_init()) != 0)
		return rc;
	memcpy(id, token, TOKEN_ID_HEX);
	id[TOKEN_ID_HEX] = '\0';
	if ((rc = rec_read(datadir, id, &r)) == TS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	secret_hash(token + TOKEN_ID_HEX + 1, h);
	if (sodium_memcmp(h, r.hash, sizeof(h) - 1) != 0)
		return 0;		/* forged: same answer as unknown */
	if (info != NULL)
		*info = r.info;
	if (now >= r.info.expires_us)
		*verdict = TOKEN_EXPIRED;
	else if (r.info.uses == 0)
		*verdict = TOKEN_USED;
	else
		*verdict = TOKEN_OK;
	return 0;
}

int token_spend(const char *datadir, const char *id)
{
	struct token_rec r;
	int rc;

	if ((rc = rec_read(datadir, id, &r)) != 0)
		return rc;
	if (r.info.uses > 0)
		r.info.uses--;
	return rec_write(datadir, &r);
}

int token_revoke(const char *datadir, const char *id)
{
	char *path;
	int rc = 0;

	if (strlen(id) != TOKEN_ID_HEX || !is_hex(id, TOKEN_ID_HEX))
		return TS_ENOTFOUND;
	if ((path = token_path(datadir, id)) == NULL)
		return TS_ENOMEM;
	if (unlink(path) != 0)
		rc = errno == ENOENT ? TS_ENOTFOUND : TS_EIO;
	free(path);
	return rc;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int token_list(const char *datadir,
    int (*cb)(const struct token_info *t, void *arg), void *arg)
{
	char *dir, **ids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dp;
	int rc = 0;

	if ((dir = xasprintf("%s/%s", datadir, TOKENS_DIR)) == NULL)
		return TS_ENOMEM;
	if ((dp = opendir(dir)) == NULL) {
		rc = errno == ENOENT ? 0 : TS_EIO;
		free(dir);
		return rc;
	}
	while ((de = readdir(dp)) != NULL) {
		if (strlen(de->d_name) != TOKEN_ID_HEX ||
		    !is_hex(de->d_name, TOKEN_ID_HEX))
			continue;
		if (n == cap) {
			char **nv = realloc(ids, (cap ? cap * 2 : 16) *
			    sizeof(*ids));
			if (nv == NULL) {
				rc = TS_ENOMEM;
				break;
			}
			ids = nv;
			cap = cap ? cap * 2 : 16;
		}
		if ((ids[n] = strdup(de->d_name)) == NULL) {
			rc = TS_ENOMEM;
			break;
		}
		n++;
	}
	closedir(dp);
	if (rc == 0 && n > 0)
		qsort(ids, n, sizeof(*ids), id_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct token_rec r;

		if (rec_read(datadir, ids[i], &r) == 0 && cb(&r.info, arg))
			break;
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(dir);
	return rc;
}

const char *token_verdict_text(enum token_verdict v)
{
	switch (v) {
	case TOKEN_OK: return "ok";
	case TOKEN_UNKNOWN: return "unknown or forged token";
	case TOKEN_EXPIRED: return "token expired";
	case TOKEN_USED: return "token already used";
	}
	return "?";
}
