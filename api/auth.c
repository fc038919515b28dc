/*
 * auth.c - the API's credentials: tokens stored hashed (BLAKE2b, as the
 * enrolment tokens of common/tokens.c) and console users stored with
 * Argon2id (libsodium crypto_pwhash_str).  Schema in api.h.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <sodium.h>

#include "api/api.h"
#include "common/err.h"
#include "common/names.h"
#include "common/util.h"

#define API_HASH_BYTES		32
#define API_FILE_MAX		512
#define API_TOKENS_DIR		"keys/api-tokens"
#define API_USERS_DIR		"keys/api-users"

static const char *const role_names[] = { "none", "viewer", "analyst",
    "admin" };

const char *
api_role_name(int role)
{
	if (role < API_ROLE_VIEWER || role > API_ROLE_ADMIN)
		return role_names[0];
	return role_names[role];
}

int
api_role_parse(const char *s)
{
	for (int r = API_ROLE_VIEWER; s != NULL && r <= API_ROLE_ADMIN; r++)
		if (strcmp(s, role_names[r]) == 0)
			return r;
	return API_ROLE_NONE;
}

static void
hex_encode(const unsigned char *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
auth_init(void)
{
	return sodium_init() < 0 ? TS_EIO : 0;
}

static void
secret_hash(const char *secret, char out[2 * API_HASH_BYTES + 1])
{
	unsigned char h[API_HASH_BYTES];

	crypto_generichash(h, sizeof(h), (const unsigned char *)secret,
	    TOKEN_SECRET_HEX, NULL, 0);
	hex_encode(h, sizeof(h), out);
}

/* Write DATADIR/sub/file atomically (0600), creating the folder. */
static int
store_write(const char *datadir, const char *sub, const char *file,
    const char *text, size_t len)
{
	char	*dir, *path;
	int	 rc;

	if ((dir = xasprintf("%s/%s", datadir, sub)) == NULL)
		return TS_ENOMEM;
	rc = mkdir_p(dir, 0700) != 0 ? TS_EIO : 0;
	free(dir);
	if (rc != 0)
		return rc;
	if ((path = xasprintf("%s/%s/%s", datadir, sub, file)) == NULL)
		return TS_ENOMEM;
	rc = write_file_atomic(path, text, len, 0600) != 0 ? TS_EIO : 0;
	free(path);
	return rc;
}

/* Read DATADIR/sub/file (malloc'd text).  0, TS_ENOTFOUND, TS_EIO. */
static int
store_read(const char *datadir, const char *sub, const char *file,
    char **text)
{
	char	*path;
	size_t	 len;
	int	 rc = 0;

	if ((path = xasprintf("%s/%s/%s", datadir, sub, file)) == NULL)
		return TS_ENOMEM;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		rc = TS_ENOTFOUND;
	else if (read_file(path, API_FILE_MAX, text, &len) != 0) {
		log_err("%s: cannot read the credential file", path);
		rc = TS_EIO;
	}
	free(path);
	return rc;
}

static int
store_remove(const char *datadir, const char *sub, const char *file)
{
	char	*path;
	int	 rc = 0;

	if ((path = xasprintf("%s/%s/%s", datadir, sub, file)) == NULL)
		return TS_ENOMEM;
	if (unlink(path) != 0)
		rc = errno == ENOENT ? TS_ENOTFOUND : TS_EIO;
	free(path);
	return rc;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file names of DATADIR/sub accepted by ok(), sorted (malloc'd
 * vector of malloc'd names). */
static int
store_names(const char *datadir, const char *sub, int (*ok)(const char *),
    char ***out, size_t *nout)
{
	char		*dir, **v = NULL;
	size_t		 n = 0, cap = 0;
	struct dirent	*de;
	DIR		*dp;
	int		 rc = 0;

	*out = NULL;
	*nout = 0;
	if ((dir = xasprintf("%s/%s", datadir, sub)) == NULL)
		return TS_ENOMEM;
	dp = opendir(dir);
	free(dir);
	if (dp == NULL)
		return errno == ENOENT ? 0 : TS_EIO;
	while ((de = readdir(dp)) != NULL) {
		if (!ok(de->d_name))
			continue;
		if (n == cap) {
			size_t	 ncap = cap ? cap * 2 : 16;
			char	**nv = realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				rc = TS_ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		if ((v[n] = strdup(de->d_name)) == NULL) {
			rc = TS_ENOMEM;
			break;
		}
		n++;
	}
	closedir(dp);
	if (rc != 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return rc;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	*nout = n;
	return 0;
}

static void
names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- tokens ------------------------------------------------------------ */

struct token_rec {
	struct api_token_info	info;
	char			hash[2 * API_HASH_BYTES + 1];
};

static int
token_write(const char *datadir, const struct token_rec *r)
{
	char	buf[API_FILE_MAX];
	int	n;

	n = snprintf(buf, sizeof(buf), "tocsin-api-token 1 %s %s %llu %llu "
	    "%s\n", r->hash, api_role_name(r->info.role),
	    (unsigned long long)r->info.expires_us,
	    (unsigned long long)r->info.created_us, r->info.name);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return TS_EINVAL;
	return store_write(datadir, API_TOKENS_DIR, r->info.id, buf,
	    (size_t)n);
}

static int
token_read(const char *datadir, const char *id, struct token_rec *r)
{
	char			*text = NULL, role[16];
	unsigned long long	 exp, created;
	int			 rc;

	if ((rc = store_read(datadir, API_TOKENS_DIR, id, &text)) != 0)
		return rc;
	memset(r, 0, sizeof(*r));
	if (sscanf(text, "tocsin-api-token 1 %64s %15s %llu %llu %64s",
	    r->hash, role, &exp, &created, r->info.name) != 5 ||
	    strlen(r->hash) != 2 * API_HASH_BYTES ||
	    (r->info.role = api_role_parse(role)) == API_ROLE_NONE ||
	    !name_valid_str(NAME_AGENT, r->info.name)) {
		log_err("%s/%s/%s: not an API token file", datadir,
		    API_TOKENS_DIR, id);
		rc = TS_EIO;
	} else {
		snprintf(r->info.id, sizeof(r->info.id), "%s", id);
		r->info.expires_us = exp;
		r->info.created_us = created;
	}
	free(text);
	return rc;
}

int
api_token_create(const char *datadir, const char *name, int role,
    uint64_t ttl_us, char out[TOKEN_BYTES], struct api_token_info *info)
{
	unsigned char	 idb[TOKEN_ID_HEX / 2], sb[TOKEN_SECRET_HEX / 2];
	char		 secret[TOKEN_SECRET_HEX + 1], *text = NULL;
	struct token_rec r;
	int		 rc;

	if (!name_valid_str(NAME_AGENT, name) || role < API_ROLE_VIEWER ||
	    role > API_ROLE_ADMIN)
		return TS_EINVAL;
	if ((rc = auth_init()) != 0)
		return rc;
	memset(&r, 0, sizeof(r));
	for (int tries = 0;; tries++) {	/* a fresh id */
		if (tries > 16)
			return TS_EIO;
		randombytes_buf(idb, sizeof(idb));
		hex_encode(idb, sizeof(idb), r.info.id);
		rc = store_read(datadir, API_TOKENS_DIR, r.info.id, &text);
		free(text);
		text = NULL;
		if (rc == TS_ENOTFOUND)
			break;
	}
	randombytes_buf(sb, sizeof(sb));
	hex_encode(sb, sizeof(sb), secret);
	secret_hash(secret, r.hash);
	snprintf(r.info.name, sizeof(r.info.name), "%s", name);
	r.info.role = role;
	r.info.created_us = now_us();
	r.info.expires_us = ttl_us ? r.info.created_us + ttl_us : 0;
	if ((rc = token_write(datadir, &r)) != 0)
		return rc;
	snprintf(out, TOKEN_BYTES, "%s.%s", r.info.id, secret);
	sodium_memzero(secret, sizeof(secret));
	if (info != NULL)
		*info = r.info;
	return 0;
}

int
api_token_check(const char *datadir, const char *token, size_t len,
    uint64_t now, enum api_token_verdict *verdict,
    struct api_token_info *info)
{
	char		 id[TOKEN_ID_HEX + 1], h[2 * API_HASH_BYTES + 1];
	char		 secret[TOKEN_SECRET_HEX + 1];
	struct token_rec r;
	int		 rc;

	*verdict = API_TOKEN_UNKNOWN;
	if (token == NULL || len != TOKEN_BYTES - 1 ||
	    token[TOKEN_ID_HEX] != '.' || !is_hex(token, TOKEN_ID_HEX) ||
	    !is_hex(token + TOKEN_ID_HEX + 1, TOKEN_SECRET_HEX))
		return 0;
	if ((rc = auth_init()) != 0)
		return rc;
	memcpy(id, token, TOKEN_ID_HEX);
	id[TOKEN_ID_HEX] = '\0';
	if ((rc = token_read(datadir, id, &r)) == TS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	memcpy(secret, token + TOKEN_ID_HEX + 1, TOKEN_SECRET_HEX);
	secret[TOKEN_SECRET_HEX] = '\0';
	secret_hash(secret, h);
	sodium_memzero(secret, sizeof(secret));
	if (sodium_memcmp(h, r.hash, sizeof(h) - 1) != 0)
		return 0;		/* forged: the same answer as unknown */
	*verdict = r.info.expires_us != 0 && now >= r.info.expires_us ?
	    API_TOKEN_EXPIRED : API_TOKEN_OK;
	if (info != NULL)
		*info = r.info;
	return 0;
}

int
api_token_get(const char *datadir, const char *id,
    struct api_token_info *info)
{
	struct token_rec r;
	int		 rc;

	if (id == NULL || strlen(id) != TOKEN_ID_HEX ||
	    !is_hex(id, TOKEN_ID_HEX))
		return TS_ENOTFOUND;
	if ((rc = token_read(datadir, id, &r)) == 0 && info != NULL)
		*info = r.info;
	return rc;
}

int
api_token_revoke(const char *datadir, const char *id)
{
	if (id == NULL || strlen(id) != TOKEN_ID_HEX ||
	    !is_hex(id, TOKEN_ID_HEX))
		return TS_ENOTFOUND;
	return store_remove(datadir, API_TOKENS_DIR, id);
}

static int
token_name_ok(const char *s)
{
	return strlen(s) == TOKEN_ID_HEX && is_hex(s, TOKEN_ID_HEX);
}

int
api_token_list(const char *datadir,
    int (*cb)(const struct api_token_info *t, void *arg), void *arg)
{
	char	**ids;
	size_t	  n;
	int	  rc;

	if ((rc = store_names(datadir, API_TOKENS_DIR, token_name_ok, &ids,
	    &n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct token_rec r;

		if (token_read(datadir, ids[i], &r) == 0 && cb(&r.info, arg))
			break;
	}
	names_free(ids, n);
	return 0;
}

/* ---- users ------------------------------------------------------------- */

struct user_rec {
	struct api_user_info	info;
	char			pwhash[crypto_pwhash_STRBYTES];
};

static int
user_read(const char *datadir, const char *name, struct user_rec *r)
{
	char			*text = NULL, role[16];
	unsigned long long	 created;
	int			 rc;

	if (!name_valid_str(NAME_AGENT, name))
		return TS_ENOTFOUND;
	if ((rc = store_read(datadir, API_USERS_DIR, name, &text)) != 0)
		return rc;
	memset(r, 0, sizeof(*r));
	/* crypto_pwhash_STRBYTES is 128: the hash holds no space */
	if (sscanf(text, "tocsin-api-user 1 %15s %llu %127s", role, &created,
	    r->pwhash) != 3 ||
	    (r->info.role = api_role_parse(role)) == API_ROLE_NONE) {
		log_err("%s/%s/%s: not an API user file", datadir,
		    API_USERS_DIR, name);
		rc = TS_EIO;
	} else {
		snprintf(r->info.name, sizeof(r->info.name), "%s", name);
		r->info.created_us = created;
	}
	free(text);
	return rc;
}

int
api_user_add(const char *datadir, const char *name, int role,
    const char *password, int replace, struct api_user_info *info)
{
	struct user_rec	r;
	char		buf[API_FILE_MAX], *text = NULL;
	size_t		plen = password != NULL ? strlen(password) : 0;
	int		n, rc;

	if (!name_valid_str(NAME_AGENT, name) || role < API_ROLE_VIEWER ||
	    role > API_ROLE_ADMIN || plen < API_MIN_PASSWORD ||
	    plen > API_MAX_PASSWORD)
		return TS_EINVAL;
	if ((rc = auth_init()) != 0)
		return rc;
	rc = store_read(datadir, API_USERS_DIR, name, &text);
	free(text);
	if (rc == 0 && !replace)
		return TS_EEXIST;
	if (rc != 0 && rc != TS_ENOTFOUND)
		return rc;
	memset(&r, 0, sizeof(r));
	if (crypto_pwhash_str(r.pwhash, password, plen,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return TS_ENOMEM;
	snprintf(r.info.name, sizeof(r.info.name), "%s", name);
	r.info.role = role;
	r.info.created_us = now_us();
	n = snprintf(buf, sizeof(buf), "tocsin-api-user 1 %s %llu %s\n",
	    api_role_name(role), (unsigned long long)r.info.created_us,
	    r.pwhash);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return TS_EINVAL;
	if ((rc = store_write(datadir, API_USERS_DIR, name, buf,
	    (size_t)n)) != 0)
		return rc;
	if (info != NULL)
		*info = r.info;
	return 0;
}

/*
 * The hash an unknown user's password is checked against, made once from
 * a random password: a login for a user that does not exist costs the
 * same Argon2id run as one that does, so the time taken tells no one
 * which users exist.
 */
static char		dummy_hash[crypto_pwhash_STRBYTES];
static int		dummy_rc = -1;
static pthread_once_t	dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_make(void)
{
	unsigned char	rnd[32];
	char		pw[sizeof(rnd) * 2 + 1];

	if (auth_init() != 0)
		return;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(pw, sizeof(pw), rnd, sizeof(rnd));
	if (crypto_pwhash_str(dummy_hash, pw, strlen(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0)
		dummy_rc = 0;
	sodium_memzero(pw, sizeof(pw));
}

int
api_user_prepare(void)
{
	pthread_once(&dummy_once, dummy_make);
	return dummy_rc == 0 ? 0 : TS_ENOMEM;
}

int
api_user_check_ex(const char *datadir, const char *name, const char *password,
    struct api_user_info *info, int *unknown)
{
	struct user_rec	r;
	size_t		plen = password != NULL ? strlen(password) : 0;
	int		rc;

	if (unknown != NULL)
		*unknown = 0;
	if (plen == 0 || plen > API_MAX_PASSWORD)
		return TS_ENOTFOUND;
	if ((rc = auth_init()) != 0)
		return rc;
	if ((rc = user_read(datadir, name, &r)) == TS_ENOTFOUND) {
		/* the same work as for a known user, then the same answer */
		if (unknown != NULL)
			*unknown = 1;
		if (api_user_prepare() != 0)
			return TS_ENOMEM;
		if (crypto_pwhash_str_verify(dummy_hash, password, plen) == 0)
			log_err("api: a password matched the stand-in hash");
		return TS_ENOTFOUND;
	}
	if (rc != 0)
		return rc;
	if (crypto_pwhash_str_verify(r.pwhash, password, plen) != 0)
		return TS_ENOTFOUND;
	if (info != NULL)
		*info = r.info;
	return 0;
}

int
api_user_check(const char *datadir, const char *name, const char *password,
    struct api_user_info *info)
{
	return api_user_check_ex(datadir, name, password, info, NULL);
}

int
api_user_get(const char *datadir, const char *name,
    struct api_user_info *info)
{
	struct user_rec	r;
	int		rc;

	if ((rc = user_read(datadir, name, &r)) == 0 && info != NULL)
		*info = r.info;
	return rc;
}

int
api_user_remove(const char *datadir, const char *name)
{
	if (!name_valid_str(NAME_AGENT, name))
		return TS_ENOTFOUND;
	return store_remove(datadir, API_USERS_DIR, name);
}

static int
user_name_ok(const char *s)
{
	return name_valid_str(NAME_AGENT, s);
}

int
api_user_list(const char *datadir,
    int (*cb)(const struct api_user_info *u, void *arg), void *arg)
{
	char	**names;
	size_t	  n;
	int	  rc;

	if ((rc = store_names(datadir, API_USERS_DIR, user_name_ok, &names,
	    &n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct user_rec r;

		if (user_read(datadir, names[i], &r) == 0 && cb(&r.info, arg))
			break;
	}
	names_free(names, n);
	return 0;
}
