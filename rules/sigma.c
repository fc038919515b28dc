/*
 * sigma.c - Sigma rules (specification 2.1) compiled into tocsin's rule
 * tree: search identifiers, value modifiers, the condition grammar, log
 * source mapping onto programs and decoded fields, and the alert metadata
 * (id, title, level, ATT&CK tags, author).
 *
 * Matching semantics (docs/sigma.md): string values are whole-value and
 * ASCII case-insensitive unless modified; '*' and '?' are wildcards with
 * the specification's backslash escaping; keywords are case-insensitive
 * substrings of the message.  Wildcard values become byte-wise glob leaves
 * (LEAF_GLOB), never regexes.  Anything this engine does not run is not
 * loaded and is reported with its file, line and reason.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/limits.h"
#include "rules/correlate.h"
#include "rules/sigma_int.h"
#include "common/util.h"

/* Values of one field test after expansion (windash, lists). */
#define MAX_SIGMA_VALUES	10000
/* '-' / '/' positions windash expands in one value (5^n variants). */
#define MAX_WINDASH_POS		4
/* Nesting of parentheses and 'not' in a condition. */
#define MAX_COND_NEST		32
/* Documents layered by action: global / repeat. */
#define MAX_LAYERS		3
/* Longest decoded field name a mapping may produce. */
#define MAX_SIGMA_FIELD_BYTES	512

/* One log source of the mapping. */
struct lsmap {
	char	*product, *category, *service;	/* NULL: not specified */
	char	**programs;			/* routing; none: every program */
	size_t	 nprograms;
	char	**fsrc, **fdst;			/* Sigma field -> tocsin field */
	size_t	 nfields;
	char	*prefix;			/* for unmapped names, or NULL */
	char	**cfield, **cval;		/* conditions: field equals */
	size_t	 nconds;
};

/* An encoded value (glob bytes, see SIGMA_GLOB_*). */
struct sv {
	char	*b;
	size_t	 n, cap;
};

struct sc {
	struct ruleset		*rs;
	struct rules_diags	*dl;
	size_t			*rcap, *fcap;
	struct lsmap		*maps;
	size_t			 nmaps;
	int			 oom;
	/* the rule being compiled */
	const char		*file;
	const yt_node		*layers[MAX_LAYERS];
	size_t			 nlayers;
	const yt_node		*dets[MAX_LAYERS];	/* detection maps */
	size_t			 ndets;
	const struct lsmap	*ls;
	const char		*title;
	int			 bad;		/* reported; not loaded */
	int			 depth;
	int			*fused;		/* field ids the rule tests */
	int			*fline;
	char			**fsigma;
	size_t			 nfused;
	/* correlation rules (sigma_run) */
	int			 corr_mode;	/* only resolve; compile none */
	struct sref		*refs;		/* loaded rules */
	size_t			 nrefs;
	struct spend		*pend;		/* correlation documents */
	size_t			 npend;
};

/* A loaded Sigma rule a correlation may reference (by name or id). */
struct sref {
	const char		*name;		/* in the document, or NULL */
	char			*id;
	const struct lsmap	*ls;
};

/* A correlation document, compiled once every rule is known. */
struct spend {
	const char		*file;
	const yt_node		*root;
	char			 defid[128];
};

/* ---- diagnostics ----------------------------------------------------------- */

static void sdiag(struct sc *, const char *, int, int, int, const char *,
    ...) __attribute__((format(printf, 6, 7)));

static void
sdiag(struct sc *S, const char *file, int line, int col, int warning,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (rules_diags_vadd(S->dl, file, line, col, warning, fmt, ap) != 0)
		S->oom = 1;
	va_end(ap);
}

static void unsup(struct sc *, const yt_node *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void bad(struct sc *, const yt_node *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* The rule uses something this engine does not run: not loaded (warning,
 * the rest of the set loads).  Only the first reason is reported. */
static void
unsup(struct sc *S, const yt_node *at, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (S->bad)
		return;
	S->bad = 1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sdiag(S, S->file, at ? at->line : 0, at ? at->col : 0, 1,
	    "Sigma rule not loaded: %s", buf);
}

/* The rule is not valid Sigma: an error (the set is refused). */
static void
bad(struct sc *S, const yt_node *at, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	if (S->bad)
		return;
	S->bad = 1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sdiag(S, S->file, at ? at->line : 0, at ? at->col : 0, 0,
	    "Sigma: %s", buf);
}

/* ---- small helpers ---------------------------------------------------------- */

static const yt_node *
mget(const yt_node *map, const char *key)
{
	return yt_map_get(map, key);
}

/* Value of key in the first layer that has it. */
static const yt_node *
lget(struct sc *S, const char *key)
{
	for (size_t i = 0; i < S->nlayers; i++) {
		const yt_node *v = mget(S->layers[i], key);

		if (v != NULL)
			return v;
	}
	return NULL;
}

static int
is_scalar(const yt_node *n)
{
	return n != NULL && n->kind == YT_SCALAR && !yt_is_null(n);
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static int
strv_push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strndup(s, len)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static char *
sdup(struct sc *S, const char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		S->oom = 1;
	return d;
}

/* Id of a field name, added to the table if new; -1 on ENOMEM. */
static int
sfield_id(struct sc *S, const char *name, size_t len)
{
	struct ruleset *rs = S->rs;
	char *s;

	for (size_t i = 0; i < rs->nfield_names; i++)
		if (strlen(rs->field_names[i]) == len &&
		    memcmp(rs->field_names[i], name, len) == 0)
			return (int)i;
	if (rs->nfield_names == *S->fcap) {
		size_t ncap = *S->fcap ? *S->fcap * 2 : 32;
		char **nv = realloc(rs->field_names, ncap * sizeof(*nv));

		if (nv == NULL)
			goto oom;
		rs->field_names = nv;
		*S->fcap = ncap;
	}
	if ((s = strndup(name, len)) == NULL)
		goto oom;
	rs->field_names[rs->nfield_names++] = s;
	return (int)rs->nfield_names - 1;
oom:
	S->oom = 1;
	return -1;
}

/* ---- conditions ------------------------------------------------------------- */

static void
scond_free(struct cond *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nkids; i++)
		scond_free(c->kids[i]);
	free(c->kids);
	strv_free(c->leaf.vals, c->leaf.nvals);
	free(c->leaf.lens);
	pcre2_code_free(c->leaf.rx.code);
	free(c->leaf.rx.src);
	free(c->leaf.rx.lit);
	free(c->leaf.rx.pre);
	free(c->leaf.cidrs);
	free(c);
}

static struct cond *
snew(struct sc *S, enum cond_kind kind)
{
	struct cond *c = calloc(1, sizeof(*c));

	if (c == NULL)
		S->oom = 1;
	else
		c->kind = kind;
	return c;
}

/* Add kid to parent (kid NULL: nothing).  On failure frees kid. */
static int
sadd(struct sc *S, struct cond *parent, struct cond *kid)
{
	struct cond **nk;

	if (kid == NULL)
		return -1;
	if ((nk = realloc(parent->kids, (parent->nkids + 1) *
	    sizeof(*nk))) == NULL) {
		S->oom = 1;
		scond_free(kid);
		return -1;
	}
	parent->kids = nk;
	parent->kids[parent->nkids++] = kid;
	return 0;
}

static struct cond *
snot(struct sc *S, struct cond *c)
{
	struct cond *n;

	if (c == NULL)
		return NULL;
	if ((n = snew(S, COND_NOT)) == NULL) {
		scond_free(c);
		return NULL;
	}
	if (sadd(S, n, c)) {
		scond_free(n);
		return NULL;
	}
	return n;
}

/* A single-kid AND/OR becomes its kid. */
static struct cond *
sflat(struct cond *c)
{
	struct cond *k;

	if (c == NULL || (c->kind != COND_AND && c->kind != COND_OR) ||
	    c->nkids != 1)
		return c;
	k = c->kids[0];
	free(c->kids);
	free(c);
	return k;
}

static struct cond *
sleaf(struct sc *S, int field, enum leaf_op op, int nocase)
{
	struct cond *c = snew(S, COND_LEAF);

	if (c != NULL) {
		c->leaf.field = field;
		c->leaf.op = op;
		c->leaf.nocase = nocase;
	}
	return c;
}

static int
leaf_addval(struct sc *S, struct leaf *lf, const char *v, size_t n)
{
	char **nv;
	size_t *nl;
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		goto oom;
	if (n > 0)
		memcpy(s, v, n);
	s[n] = '\0';
	nv = realloc(lf->vals, (lf->nvals + 1) * sizeof(*nv));
	if (nv == NULL) {
		free(s);
		goto oom;
	}
	lf->vals = nv;
	nl = realloc(lf->lens, (lf->nvals + 1) * sizeof(*nl));
	if (nl == NULL) {
		free(s);
		goto oom;
	}
	lf->lens = nl;
	lf->vals[lf->nvals] = s;
	lf->lens[lf->nvals] = n;
	lf->nvals++;
	return 0;
oom:
	S->oom = 1;
	return -1;
}

/* ---- encoded values ------------------------------------------------------- */

static int
sv_put(struct sc *S, struct sv *v, const char *b, size_t n)
{
	if (v->n + n + 1 > v->cap) {
		size_t ncap = v->cap ? v->cap : 32;
		char *nb;

		while (ncap < v->n + n + 1)
			ncap *= 2;
		if ((nb = realloc(v->b, ncap)) == NULL) {
			S->oom = 1;
			return -1;
		}
		v->b = nb;
		v->cap = ncap;
	}
	if (n > 0)
		memcpy(v->b + v->n, b, n);
	v->n += n;
	v->b[v->n] = '\0';
	return 0;
}

static int
sv_lit(struct sc *S, struct sv *v, unsigned char c)
{
	char e[2] = { SIGMA_GLOB_ESC, SIGMA_GLOB_ESC };

	if (c == 0xff)
		return sv_put(S, v, e, 2);
	return sv_put(S, v, (const char *)&c, 1);
}

static int
sv_wild(struct sc *S, struct sv *v, char kind)
{
	char e[2] = { SIGMA_GLOB_ESC, kind };

	return sv_put(S, v, e, 2);
}

static void
sv_free(struct sv *v)
{
	free(v->b);
	memset(v, 0, sizeof(*v));
}

/* Token i of v: 0 literal (*c), 1 '*', 2 '?'; *tl its length. */
static int
sv_tok(const struct sv *v, size_t i, unsigned char *c, size_t *tl)
{
	if (v->b[i] == SIGMA_GLOB_ESC && i + 1 < v->n) {
		*tl = 2;
		if (v->b[i + 1] == SIGMA_GLOB_STAR)
			return 1;
		if (v->b[i + 1] == SIGMA_GLOB_ONE)
			return 2;
		*c = 0xff;
		return 0;
	}
	*tl = 1;
	*c = (unsigned char)v->b[i];
	return 0;
}

/* A Sigma string with its escapes: '*', '?' wildcards; '\' escapes '*',
 * '?' and '\'; any other '\x' is the two bytes. */
static int
sv_parse(struct sc *S, const char *s, size_t n, struct sv *v)
{
	int esc = 0;

	memset(v, 0, sizeof(*v));
	if (sv_put(S, v, "", 0))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int rc;

		if (esc) {
			if (c != '*' && c != '?' && c != '\\' &&
			    sv_lit(S, v, '\\'))
				return -1;
			rc = sv_lit(S, v, c);
			esc = 0;
		} else if (c == '\\') {
			esc = 1;
			rc = 0;
		} else if (c == '*') {
			rc = sv_wild(S, v, SIGMA_GLOB_STAR);
		} else if (c == '?') {
			rc = sv_wild(S, v, SIGMA_GLOB_ONE);
		} else {
			rc = sv_lit(S, v, c);
		}
		if (rc)
			return -1;
	}
	if (esc && sv_lit(S, v, '\\'))
		return -1;
	return 0;
}

/* A plain byte string (no wildcards) as a value. */
static int
sv_plain(struct sc *S, const char *s, size_t n, struct sv *v)
{
	memset(v, 0, sizeof(*v));
	if (sv_put(S, v, "", 0))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (sv_lit(S, v, (unsigned char)s[i]))
			return -1;
	return 0;
}

static int
sv_has_wild(const struct sv *v)
{
	unsigned char c = 0;
	size_t tl;

	for (size_t i = 0; i < v->n; i += tl)
		if (sv_tok(v, i, &c, &tl) != 0)
			return 1;
	return 0;
}

/* The literal bytes of v (no wildcards) into out (malloc'd). */
static int
sv_bytes(struct sc *S, const struct sv *v, char **out, size_t *n)
{
	unsigned char c = 0;
	size_t tl, k = 0;

	if ((*out = malloc(v->n + 1)) == NULL) {
		S->oom = 1;
		return -1;
	}
	for (size_t i = 0; i < v->n; i += tl) {
		(void)sv_tok(v, i, &c, &tl);
		(*out)[k++] = (char)c;
	}
	(*out)[k] = '\0';
	*n = k;
	return 0;
}

/* ---- transformations ---------------------------------------------------- */

static int
is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* windash: every '-' or '/' that starts a word after a non-word byte
 * (\B[-/]\b) becomes each of - / en-dash em-dash horizontal-bar. */
static int
xf_windash(struct sc *S, const yt_node *at, struct sv **vals, size_t *nvals)
{
	static const char *const dash[] = { "-", "/", "\xe2\x80\x93",
	    "\xe2\x80\x94", "\xe2\x80\x95" };
	struct sv *out = NULL;
	size_t nout = 0;

	for (size_t k = 0; k < *nvals; k++) {
		const struct sv *v = &(*vals)[k];
		size_t pos[MAX_WINDASH_POS], np = 0, combos = 1;

		for (size_t i = 0; i < v->n; i++) {
			unsigned char p = i > 0 ? (unsigned char)v->b[i - 1] : 0;

			if ((v->b[i] == '-' || v->b[i] == '/') &&
			    (i == 0 || (!is_word(p) &&
			    !(i >= 1 && p == SIGMA_GLOB_STAR && i >= 2 &&
			    v->b[i - 2] == SIGMA_GLOB_ESC))) &&
			    i + 1 < v->n && is_word((unsigned char)v->b[i + 1])) {
				if (np == MAX_WINDASH_POS) {
					unsup(S, at, "windash on a value with "
					    "more than %d dashes",
					    MAX_WINDASH_POS);
					goto fail;
				}
				pos[np++] = i;
				combos *= 5;
			}
		}
		for (size_t c = 0; c < combos; c++) {
			struct sv nv, *grown;
			size_t cc = c, p = 0;

			memset(&nv, 0, sizeof(nv));
			if (sv_put(S, &nv, "", 0))
				goto fail;
			for (size_t i = 0; i < v->n; i++) {
				if (p < np && pos[p] == i) {
					const char *d = dash[cc % 5];

					cc /= 5;
					p++;
					if (sv_put(S, &nv, d, strlen(d)))
						goto failnv;
				} else if (sv_put(S, &nv, v->b + i, 1)) {
					goto failnv;
				}
			}
			if (nout >= MAX_SIGMA_VALUES) {
				unsup(S, at, "more than %d values after "
				    "windash", MAX_SIGMA_VALUES);
				sv_free(&nv);
				goto fail;
			}
			if ((grown = realloc(out, (nout + 1) *
			    sizeof(*grown))) == NULL) {
				S->oom = 1;
				goto failnv;
			}
			out = grown;
			out[nout++] = nv;
			continue;
failnv:
			sv_free(&nv);
			goto fail;
		}
	}
	for (size_t k = 0; k < *nvals; k++)
		sv_free(&(*vals)[k]);
	free(*vals);
	*vals = out;
	*nvals = nout;
	return 0;
fail:
	for (size_t k = 0; k < nout; k++)
		sv_free(&out[k]);
	free(out);
	return -1;
}

static void
b64(const unsigned char *in, size_t n, char *out)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i = 0;

	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
		    in[i + 2];

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = t[(v >> 6) & 63];
		out[o++] = t[v & 63];
	}
	if (i < n) {
		unsigned v = (unsigned)in[i] << 16 |
		    (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);

		out[o++] = t[v >> 18];
		out[o++] = t[(v >> 12) & 63];
		out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* base64 (offset 0) or base64offset (the three shifted forms, cut to their
 * position-independent middle, as the specification's reference does). */
static int
xf_base64(struct sc *S, const yt_node *at, struct sv **vals, size_t *nvals,
    int offset)
{
	struct sv *out = NULL;
	size_t nout = 0;

	for (size_t k = 0; k < *nvals; k++) {
		char *raw = NULL, *enc = NULL;
		unsigned char *buf = NULL;
		size_t rn = 0;

		if (sv_has_wild(&(*vals)[k])) {
			unsup(S, at, "base64 of a value with wildcards");
			goto fail;
		}
		if (sv_bytes(S, &(*vals)[k], &raw, &rn))
			goto fail;
		for (size_t sh = 0; sh < (offset ? 3u : 1u); sh++) {
			static const size_t startcut[3] = { 0, 2, 3 };
			static const size_t endcut[3] = { 0, 3, 2 };
			size_t el, s0, e0;
			struct sv nv, *grown;

			free(buf);
			free(enc);
			buf = malloc(rn + 3);
			enc = malloc((rn + 3) / 3 * 4 + 8);
			if (buf == NULL || enc == NULL) {
				S->oom = 1;
				free(raw);
				free(buf);
				free(enc);
				goto fail;
			}
			memset(buf, ' ', sh);
			memcpy(buf + sh, raw, rn);
			b64(buf, rn + sh, enc);
			el = strlen(enc);
			s0 = offset ? startcut[sh] : 0;
			e0 = offset ? endcut[(rn + sh) % 3] : 0;
			if (s0 + e0 >= el)
				continue;
			if (sv_plain(S, enc + s0, el - s0 - e0, &nv) ||
			    (grown = realloc(out, (nout + 1) *
			    sizeof(*grown))) == NULL) {
				S->oom = 1;
				free(raw);
				free(buf);
				free(enc);
				goto fail;
			}
			out = grown;
			out[nout++] = nv;
		}
		free(raw);
		free(buf);
		free(enc);
	}
	for (size_t k = 0; k < *nvals; k++)
		sv_free(&(*vals)[k]);
	free(*vals);
	*vals = out;
	*nvals = nout;
	return 0;
fail:
	for (size_t k = 0; k < nout; k++)
		sv_free(&out[k]);
	free(out);
	return -1;
}

/* UTF-16 (le, be, or le with a byte-order mark) of the UTF-8 text of each
 * value; wildcards stay wildcards.  Invalid UTF-8 bytes count as Latin-1. */
static int
xf_utf16(struct sc *S, struct sv *vals, size_t nvals, int be, int bom)
{
	for (size_t k = 0; k < nvals; k++) {
		struct sv *v = &vals[k], nv;
		unsigned char c = 0;
		size_t tl;

		memset(&nv, 0, sizeof(nv));
		if (sv_put(S, &nv, "", 0))
			return -1;
		if (bom && (sv_lit(S, &nv, 0xff) || sv_lit(S, &nv, 0xfe)))
			goto fail;
		for (size_t i = 0; i < v->n;) {
			uint32_t cp;
			size_t need = 0;
			int t = sv_tok(v, i, &c, &tl);

			if (t != 0) {
				if (sv_put(S, &nv, v->b + i, tl))
					goto fail;
				i += tl;
				continue;
			}
			cp = c;
			if (c >= 0xc2 && c <= 0xdf)
				need = 1;
			else if (c >= 0xe0 && c <= 0xef)
				need = 2;
			else if (c >= 0xf0 && c <= 0xf4)
				need = 3;
			if (need > 0 && i + need < v->n) {
				uint32_t x = c & (0x3f >> need);
				size_t j;

				for (j = 1; j <= need; j++) {
					unsigned char d = (unsigned char)v->b[i + j];

					if ((d & 0xc0) != 0x80)
						break;
					x = x << 6 | (d & 0x3f);
				}
				if (j > need) {
					cp = x;
					tl = need + 1;
				}
			}
			i += tl;
			{
				uint32_t u[2];
				size_t nu = 1;

				if (cp >= 0x10000) {
					u[0] = 0xd800 + ((cp - 0x10000) >> 10);
					u[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
					nu = 2;
				} else {
					u[0] = cp;
				}
				for (size_t q = 0; q < nu; q++) {
					unsigned char lo = u[q] & 0xff,
					    hi = (u[q] >> 8) & 0xff;

					if (sv_lit(S, &nv, be ? hi : lo) ||
					    sv_lit(S, &nv, be ? lo : hi))
						goto fail;
				}
			}
		}
		sv_free(v);
		*v = nv;
		continue;
fail:
		sv_free(&nv);
		return -1;
	}
	return 0;
}

/* contains / startswith / endswith: '*' at the ends (not doubled). */
static int
xf_stars(struct sc *S, struct sv *vals, size_t nvals, int front, int back)
{
	for (size_t k = 0; k < nvals; k++) {
		struct sv *v = &vals[k], nv;
		int has_front = v->n >= 2 && v->b[0] == SIGMA_GLOB_ESC &&
		    v->b[1] == SIGMA_GLOB_STAR;
		int has_back = 0;
		unsigned char c = 0;
		size_t tl, last = 0;

		for (size_t i = 0; i < v->n; i += tl) {
			last = i;
			has_back = sv_tok(v, i, &c, &tl) == 1;
		}
		(void)last;
		memset(&nv, 0, sizeof(nv));
		if (sv_put(S, &nv, "", 0) ||
		    (front && !has_front && sv_wild(S, &nv, SIGMA_GLOB_STAR)) ||
		    sv_put(S, &nv, v->b, v->n) ||
		    (back && !has_back && sv_wild(S, &nv, SIGMA_GLOB_STAR))) {
			sv_free(&nv);
			return -1;
		}
		sv_free(v);
		*v = nv;
	}
	return 0;
}

/* ---- leaves from values ------------------------------------------------- */

/*
 * The leaf kind of one value: a literal core with '*' only at its ends
 * maps onto equals / startswith / endswith / contains (op, core in
 * *lit); anything else is a glob.  A value of only '*' tests existence.
 */
static enum leaf_op
sv_classify(struct sc *S, const struct sv *v, char **lit, size_t *ln)
{
	size_t i = 0, end = v->n, tl;
	int front = 0, back = 0;
	unsigned char c = 0;
	struct sv core;
	enum leaf_op op;

	*lit = NULL;
	while (i < end && sv_tok(v, i, &c, &tl) == 1) {
		front = 1;
		i += tl;
	}
	/* trailing stars: walk tokens from i, remember where the run of
	 * trailing '*' starts */
	{
		size_t j = i, run = (size_t)-1;

		while (j < end) {
			int t = sv_tok(v, j, &c, &tl);

			if (t == 1) {
				if (run == (size_t)-1)
					run = j;
			} else {
				run = (size_t)-1;
			}
			j += tl;
		}
		if (run != (size_t)-1) {
			back = 1;
			end = run;
		}
	}
	if (i >= end)
		return front || back ? LEAF_EXISTS : LEAF_EQUALS;
	memset(&core, 0, sizeof(core));
	core.b = v->b + i;
	core.n = end - i;
	if (sv_has_wild(&core))
		return LEAF_GLOB;
	op = front && back ? LEAF_CONTAINS : front ? LEAF_ENDSWITH :
	    back ? LEAF_STARTSWITH : LEAF_EQUALS;
	if (sv_bytes(S, &core, lit, ln))
		return LEAF_EXISTS;
	return op;
}

/* Longest literal run of a glob, as the leaf's required literal (the
 * prefilter's gate, like a regex's rx.lit). */
static int
glob_literal(struct sc *S, const struct sv *v, struct rx *rx)
{
	size_t best = 0, bat = 0, run = 0, rat = 0, tl;
	unsigned char c = 0;
	char *raw;
	size_t rn;

	for (size_t i = 0; i < v->n; i += tl) {
		if (sv_tok(v, i, &c, &tl) != 0) {
			run = 0;
			continue;
		}
		if (run == 0)
			rat = i;
		run++;
		if (run > best) {
			best = run;
			bat = rat;
		}
	}
	if (best < 2)
		return 0;
	{
		struct sv part = { v->b + bat, 0, 0 };
		size_t i = bat, k = 0;

		while (k < best) {
			(void)sv_tok(v, i, &c, &tl);
			i += tl;
			k++;
		}
		part.n = i - bat;
		if (sv_bytes(S, &part, &raw, &rn))
			return -1;
	}
	rx->lit = raw;
	rx->lit_len = rn;
	return 0;
}

/*
 * Leaves for values on field: OR of them (all: AND).  Literal values of
 * the same kind share one leaf; globs get one leaf each.
 */
static struct cond *
values_leaves(struct sc *S, int field, struct sv *vals, size_t nvals,
    int all, int nocase)
{
	struct cond *top = snew(S, all ? COND_AND : COND_OR);
	struct cond *bykind[LEAF_EXISTS + 1] = { 0 };

	if (top == NULL)
		return NULL;
	for (size_t k = 0; k < nvals && !S->oom; k++) {
		char *lit = NULL;
		size_t ln = 0;
		enum leaf_op op = sv_classify(S, &vals[k], &lit, &ln);
		struct cond *c;

		if (S->oom)
			break;
		/* case-folded substrings: the glob walk jumps with memchr,
		 * much faster than a compare at every position */
		if (op == LEAF_CONTAINS && nocase) {
			free(lit);
			lit = NULL;
			op = LEAF_GLOB;
		}
		if (op == LEAF_GLOB) {
			if ((c = sleaf(S, field, LEAF_GLOB, nocase)) == NULL ||
			    leaf_addval(S, &c->leaf, vals[k].b, vals[k].n) ||
			    glob_literal(S, &vals[k], &c->leaf.rx)) {
				scond_free(c);
				break;
			}
			if (sadd(S, top, c))
				break;
			continue;
		}
		if (op == LEAF_EXISTS) {
			free(lit);
			if (sadd(S, top, sleaf(S, field, LEAF_EXISTS, 0)))
				break;
			continue;
		}
		if (all || bykind[op] == NULL) {
			if ((c = sleaf(S, field, op, nocase)) == NULL ||
			    sadd(S, top, c)) {
				free(lit);
				break;
			}
			if (!all)
				bykind[op] = c;
		} else {
			c = bykind[op];
		}
		if (leaf_addval(S, &c->leaf, lit, ln)) {
			free(lit);
			break;
		}
		free(lit);
	}
	if (S->oom) {
		scond_free(top);
		return NULL;
	}
	return sflat(top);
}

/* ---- field tests ----------------------------------------------------------- */

enum {
	M_CONTAINS = 1 << 0, M_STARTSWITH = 1 << 1, M_ENDSWITH = 1 << 2,
	M_ALL = 1 << 3, M_RE = 1 << 4, M_CIDR = 1 << 5, M_EXISTS = 1 << 6,
	M_CASED = 1 << 7, M_NUM = 1 << 8, M_FIELDREF = 1 << 9,
	M_NEQ = 1 << 10, M_XFORM = 1 << 11, M_RE_OPT = 1 << 12
};

/* The tocsin field a Sigma field name maps to (mapping, prefix, or the
 * name itself); -1 with a report when it cannot be a field name. */
static int
map_field(struct sc *S, const yt_node *at, const char *name, size_t len)
{
	char buf[MAX_SIGMA_FIELD_BYTES + 1];
	const char *out = name;
	size_t n = len;
	int id;

	if (len == 0 || len > MAX_SIGMA_FIELD_BYTES) {
		bad(S, at, "field name empty or longer than %d bytes",
		    MAX_SIGMA_FIELD_BYTES);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			bad(S, at, "control character in a field name");
			return -1;
		}
	if (S->ls != NULL) {
		size_t k;

		for (k = 0; k < S->ls->nfields; k++)
			if (strlen(S->ls->fsrc[k]) == len &&
			    strncasecmp(S->ls->fsrc[k], name, len) == 0)
				break;
		if (k < S->ls->nfields) {
			out = S->ls->fdst[k];
			n = strlen(out);
		} else if (S->ls->prefix != NULL) {
			int w = snprintf(buf, sizeof(buf), "%s%.*s",
			    S->ls->prefix, (int)len, name);

			if (w < 0 || (size_t)w >= sizeof(buf)) {
				bad(S, at, "mapped field name too long");
				return -1;
			}
			out = buf;
			n = (size_t)w;
		}
	}
	if ((id = sfield_id(S, out, n)) < 0)
		return -1;
	if (id >= FIELD_NBUILTIN) {
		int *nf = realloc(S->fused, (S->nfused + 1) * sizeof(*nf));
		int *nl = nf ? realloc(S->fline, (S->nfused + 1) *
		    sizeof(*nl)) : NULL;
		char **ns;

		if (nf != NULL)
			S->fused = nf;
		if (nl != NULL)
			S->fline = nl;
		ns = nl ? realloc(S->fsigma, (S->nfused + 1) *
		    sizeof(*ns)) : NULL;
		if (ns == NULL) {
			S->oom = 1;
			return -1;
		}
		S->fsigma = ns;
		if ((ns[S->nfused] = strndup(name, len)) == NULL) {
			S->oom = 1;
			return -1;
		}
		S->fused[S->nfused] = id;
		S->fline[S->nfused] = at->line;
		S->nfused++;
	}
	return id;
}

static int
parse_cidr(const char *s, struct cidr *c)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t bits;
	unsigned max;

	if (rules_parse_ip(s, alen, &c->family, c->addr))
		return -1;
	max = c->family == 4 ? 32 : 128;
	if (slash == NULL)
		bits = max;
	else if (parse_u64(slash + 1, strlen(slash + 1), max, &bits))
		return -1;
	c->bits = (unsigned)bits;
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;

		if (lo >= c->bits)
			c->addr[i] = 0;
		else if (lo + 8 > c->bits)
			c->addr[i] &= (unsigned char)(0xff << (lo + 8 - c->bits));
	}
	return 0;
}

/* A scalar's text: a plain empty or '~' / 'null' scalar is null (handled
 * by the caller); quoted '' is the empty string. */
static int
node_is_null(const yt_node *n)
{
	return n->kind == YT_SCALAR && n->plain && yt_is_null(n);
}

/* The values of a field test: a scalar or a list of scalars. */
static int
value_nodes(struct sc *S, const yt_node *v, const yt_node ***out, size_t *n)
{
	if (v->kind == YT_MAP) {
		bad(S, v, "a field value must be a string, number or list, "
		    "not a mapping");
		return -1;
	}
	if (v->kind == YT_SEQ) {
		if (v->n == 0) {
			bad(S, v, "empty list of values");
			return -1;
		}
		if (v->n > MAX_SIGMA_VALUES) {
			unsup(S, v, "more than %d values", MAX_SIGMA_VALUES);
			return -1;
		}
		for (size_t i = 0; i < v->n; i++) {
			if (v->items[i]->kind != YT_SCALAR) {
				bad(S, v->items[i], "a value list holds "
				    "strings and numbers only");
				return -1;
			}
			if (node_is_null(v->items[i])) {
				bad(S, v->items[i], "null cannot be part of a "
				    "list of values (make it its own "
				    "selection)");
				return -1;
			}
		}
		*out = (const yt_node **)v->items;
		*n = v->n;
		return 0;
	}
	*out = NULL;
	*n = 1;
	return 0;
}

/*
 * One "field|mod|mod: value(s)" test (field -1: keywords over the
 * message, with contains implied).  Returns the condition or NULL (reported
 * or out of memory).
 */
static struct cond *
field_test(struct sc *S, const yt_node *key, const char *fname, size_t flen,
    const char *mods, const yt_node *v, int keyword)
{
	unsigned m = 0;
	int field = FIELD_MESSAGE, reopts = 0, cmp = 0, nocase = 1;
	const yt_node **items = NULL;
	size_t nitems = 0, nvals = 0;
	struct sv *vals = NULL;
	struct cond *c = NULL;
	/* transformations in order, applied after parsing the values */
	char xf[16];
	size_t nxf = 0;

	/* modifiers, left to right */
	for (const char *p = mods; p != NULL && *p != '\0';) {
		const char *e = strchr(p, '|');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char mod[32];

		if (l == 0 || l >= sizeof(mod)) {
			bad(S, key, "empty or overlong modifier");
			return NULL;
		}
		memcpy(mod, p, l);
		mod[l] = '\0';
		p = e ? e + 1 : NULL;
		if (m & M_RE && strcmp(mod, "i") && strcmp(mod, "m") &&
		    strcmp(mod, "s") && strcmp(mod, "all") &&
		    strcmp(mod, "neq")) {
			unsup(S, key, "modifier '%s' after re", mod);
			return NULL;
		}
		if (!strcmp(mod, "contains")) {
			m |= M_CONTAINS;
			if (!(m & M_FIELDREF) && nxf < sizeof(xf))
				xf[nxf++] = 'c';
		} else if (!strcmp(mod, "startswith")) {
			m |= M_STARTSWITH;
			if (!(m & M_FIELDREF) && nxf < sizeof(xf))
				xf[nxf++] = 's';
		} else if (!strcmp(mod, "endswith")) {
			m |= M_ENDSWITH;
			if (!(m & M_FIELDREF) && nxf < sizeof(xf))
				xf[nxf++] = 'e';
		} else if (!strcmp(mod, "all")) {
			m |= M_ALL;
		} else if (!strcmp(mod, "re")) {
			m |= M_RE;
		} else if (!strcmp(mod, "i") || !strcmp(mod, "m") ||
		    !strcmp(mod, "s")) {
			if (!(m & M_RE)) {
				bad(S, key, "modifier '%s' only follows re", mod);
				return NULL;
			}
			reopts |= mod[0] == 'i' ? PCRE2_CASELESS :
			    mod[0] == 'm' ? PCRE2_MULTILINE : PCRE2_DOTALL;
		} else if (!strcmp(mod, "cidr")) {
			m |= M_CIDR;
		} else if (!strcmp(mod, "exists")) {
			m |= M_EXISTS;
		} else if (!strcmp(mod, "cased")) {
			m |= M_CASED;
		} else if (!strcmp(mod, "gt") || !strcmp(mod, "gte") ||
		    !strcmp(mod, "lt") || !strcmp(mod, "lte")) {
			if (m & M_NUM) {
				bad(S, key, "two numeric comparisons");
				return NULL;
			}
			m |= M_NUM;
			cmp = !strcmp(mod, "gt") ? LEAF_CMP_GT :
			    !strcmp(mod, "gte") ? LEAF_CMP_GTE :
			    !strcmp(mod, "lt") ? LEAF_CMP_LT : LEAF_CMP_LTE;
		} else if (!strcmp(mod, "fieldref")) {
			if (m & (M_CONTAINS | M_STARTSWITH | M_ENDSWITH)) {
				unsup(S, key, "fieldref after contains, "
				    "startswith or endswith (write fieldref "
				    "first)");
				return NULL;
			}
			m |= M_FIELDREF;
		} else if (!strcmp(mod, "neq")) {
			m |= M_NEQ;
		} else if (!strcmp(mod, "windash") || !strcmp(mod, "base64") ||
		    !strcmp(mod, "base64offset") || !strcmp(mod, "utf16le") ||
		    !strcmp(mod, "wide") || !strcmp(mod, "utf16be") ||
		    !strcmp(mod, "utf16")) {
			m |= M_XFORM;
			if (nxf < sizeof(xf))
				xf[nxf++] = !strcmp(mod, "windash") ? 'w' :
				    !strcmp(mod, "base64") ? 'b' :
				    !strcmp(mod, "base64offset") ? 'o' :
				    !strcmp(mod, "utf16be") ? 'B' :
				    !strcmp(mod, "utf16") ? 'U' : 'u';
			if (xf[nxf - 1] == 'b' || xf[nxf - 1] == 'o')
				m |= M_CASED;	/* base64 is case-significant */
		} else if (!strcmp(mod, "expand")) {
			unsup(S, key, "modifier 'expand' (placeholders) is not "
			    "supported");
			return NULL;
		} else if (!strcmp(mod, "minute") || !strcmp(mod, "hour") ||
		    !strcmp(mod, "day") || !strcmp(mod, "week") ||
		    !strcmp(mod, "month") || !strcmp(mod, "year")) {
			unsup(S, key, "time modifier '%s' is not supported",
			    mod);
			return NULL;
		} else {
			bad(S, key, "unknown modifier '%s'", mod);
			return NULL;
		}
		if (nxf >= sizeof(xf)) {
			unsup(S, key, "too many modifiers");
			return NULL;
		}
	}
	if ((m & M_RE) && (m & ~(M_RE | M_ALL | M_NEQ))) {
		unsup(S, key, "re combined with other modifiers");
		return NULL;
	}
	if ((m & M_CIDR) && (m & ~(M_CIDR | M_ALL | M_NEQ))) {
		unsup(S, key, "cidr combined with other modifiers");
		return NULL;
	}
	if ((m & M_EXISTS) && m != M_EXISTS) {
		bad(S, key, "exists takes no other modifier");
		return NULL;
	}
	if ((m & M_NUM) && (m & ~(M_NUM | M_ALL | M_NEQ))) {
		unsup(S, key, "a numeric comparison combined with other "
		    "modifiers");
		return NULL;
	}
	if ((m & M_FIELDREF) && (m & (M_XFORM | M_RE | M_CIDR | M_NUM))) {
		unsup(S, key, "fieldref combined with encoding, re, cidr or "
		    "a comparison");
		return NULL;
	}
	if (keyword && (m & ~(M_ALL | M_CASED | M_XFORM | M_CONTAINS)) != 0) {
		unsup(S, key, "keyword modifiers other than all");
		return NULL;
	}
	if ((m & M_CASED))
		nocase = 0;
	if (!keyword && (field = map_field(S, key, fname, flen)) < 0)
		return NULL;

	/* null: the field is absent */
	if (v->kind == YT_SCALAR && node_is_null(v)) {
		if (m != 0 || keyword) {
			bad(S, v, "null takes no modifier");
			return NULL;
		}
		return snot(S, sleaf(S, field, LEAF_EXISTS, 0));
	}
	if (m & M_EXISTS) {
		if (v->kind != YT_SCALAR || (strcmp(v->str, "true") &&
		    strcmp(v->str, "false"))) {
			bad(S, v, "exists takes true or false");
			return NULL;
		}
		c = sleaf(S, field, LEAF_EXISTS, 0);
		return strcmp(v->str, "true") ? snot(S, c) : c;
	}
	if (value_nodes(S, v, &items, &nitems))
		return NULL;
	if ((m & M_ALL) && nitems < 2 && !keyword) {
		bad(S, key, "all needs a list of two or more values");
		return NULL;
	}

	if (m & (M_RE | M_CIDR | M_NUM | M_FIELDREF)) {
		struct cond *top = snew(S, (m & M_ALL) ? COND_AND : COND_OR);

		if (top == NULL)
			return NULL;
		for (size_t i = 0; i < nitems; i++) {
			const yt_node *it = items ? items[i] : v;
			struct cond *l = NULL;

			if (m & M_RE) {
				int ec;
				PCRE2_SIZE eo;
				uint32_t cap = 0;

				if ((l = sleaf(S, field, LEAF_REGEX,
				    !!(reopts & PCRE2_CASELESS))) == NULL)
					break;
				l->leaf.rx.code = pcre2_compile((PCRE2_SPTR)it->str,
				    it->len, (uint32_t)reopts, &ec, &eo, NULL);
				if (l->leaf.rx.code == NULL) {
					PCRE2_UCHAR msg[256];

					pcre2_get_error_message(ec, msg,
					    sizeof(msg));
					bad(S, it, "regex error at offset %zu: %s",
					    (size_t)eo, (char *)msg);
					scond_free(l);
					break;
				}
				(void)pcre2_jit_compile(l->leaf.rx.code,
				    PCRE2_JIT_COMPLETE);
				pcre2_pattern_info(l->leaf.rx.code,
				    PCRE2_INFO_CAPTURECOUNT, &cap);
				if (cap > S->rs->max_groups)
					S->rs->max_groups = cap;
				if ((l->leaf.rx.src = sdup(S, it->str)) == NULL ||
				    (reopts == 0 && rules_extract_literal(
				    it->str, &l->leaf.rx.lit,
				    &l->leaf.rx.lit_len)) ||
				    (reopts == 0 && rules_extract_prefix(
				    it->str, &l->leaf.rx.pre,
				    &l->leaf.rx.pre_len))) {
					S->oom = 1;
					scond_free(l);
					break;
				}
			} else if (m & M_CIDR) {
				if ((l = sleaf(S, field, LEAF_CIDR, 0)) == NULL)
					break;
				if ((l->leaf.cidrs = calloc(1,
				    sizeof(struct cidr))) == NULL) {
					S->oom = 1;
					scond_free(l);
					break;
				}
				l->leaf.ncidrs = 1;
				if (parse_cidr(it->str, l->leaf.cidrs)) {
					bad(S, it, "bad CIDR '%s'", it->str);
					scond_free(l);
					break;
				}
			} else if (m & M_NUM) {
				double d;
				char *end;

				d = strtod(it->str, &end);
				(void)d;
				if (it->len == 0 || *end != '\0') {
					bad(S, it, "%s is not a number",
					    it->str);
					break;
				}
				if ((l = sleaf(S, field, LEAF_NUM, 0)) == NULL ||
				    leaf_addval(S, &l->leaf, it->str,
				    it->len)) {
					scond_free(l);
					break;
				}
				l->leaf.cmp = cmp;
			} else {	/* fieldref */
				int f2;

				if ((f2 = map_field(S, it, it->str,
				    it->len)) < 0)
					break;
				if ((l = sleaf(S, field, LEAF_FIELDREF,
				    nocase)) == NULL)
					break;
				l->leaf.field2 = f2;
				l->leaf.cmp = (m & M_CONTAINS) ? LEAF_CONTAINS :
				    (m & M_STARTSWITH) ? LEAF_STARTSWITH :
				    (m & M_ENDSWITH) ? LEAF_ENDSWITH :
				    LEAF_EQUALS;
			}
			if (sadd(S, top, l))
				break;
		}
		if (S->bad || S->oom || top->nkids != nitems) {
			scond_free(top);
			return NULL;
		}
		c = sflat(top);
		return (m & M_NEQ) ? snot(S, c) : c;
	}

	/* string values: parse, transform in order, then leaves */
	if ((vals = calloc(nitems, sizeof(*vals))) == NULL) {
		S->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < nitems; i++) {
		const yt_node *it = items ? items[i] : v;

		if (sv_parse(S, it->str, it->len, &vals[nvals]))
			goto out;
		nvals++;
	}
	if (keyword && nxf == 0)
		xf[nxf++] = 'c';
	else if (keyword && !(m & M_CONTAINS) && nxf < sizeof(xf))
		xf[nxf++] = 'c';
	for (size_t i = 0; i < nxf; i++) {
		int rc = 0;

		switch (xf[i]) {
		case 'c': rc = xf_stars(S, vals, nvals, 1, 1); break;
		case 's': rc = xf_stars(S, vals, nvals, 0, 1); break;
		case 'e': rc = xf_stars(S, vals, nvals, 1, 0); break;
		case 'w': rc = xf_windash(S, key, &vals, &nvals); break;
		case 'b': rc = xf_base64(S, key, &vals, &nvals, 0); break;
		case 'o': rc = xf_base64(S, key, &vals, &nvals, 1); break;
		case 'u': rc = xf_utf16(S, vals, nvals, 0, 0); break;
		case 'B': rc = xf_utf16(S, vals, nvals, 1, 0); break;
		case 'U': rc = xf_utf16(S, vals, nvals, 0, 1); break;
		}
		if (rc)
			goto out;
	}
	c = values_leaves(S, field, vals, nvals, !!(m & M_ALL), nocase);
	if (c != NULL && (m & M_NEQ))
		c = snot(S, c);
out:
	for (size_t i = 0; i < nvals; i++)
		sv_free(&vals[i]);
	free(vals);
	return c;
}

/* A map of field tests: AND of them. */
static struct cond *
map_cond(struct sc *S, const yt_node *map)
{
	struct cond *and;

	if (map->n == 0) {
		bad(S, map, "empty mapping in a detection");
		return NULL;
	}
	if ((and = snew(S, COND_AND)) == NULL)
		return NULL;
	for (size_t i = 0; i < map->n; i++) {
		const yt_node *k = map->keys[i];
		const char *bar = memchr(k->str, '|', k->len);
		size_t flen = bar ? (size_t)(bar - k->str) : k->len;
		struct cond *c;

		if (memchr(k->str, '\0', k->len) != NULL) {
			bad(S, k, "NUL byte in a field name");
			break;
		}
		if (flen == 0)	/* '|all': keywords */
			c = field_test(S, k, NULL, 0, bar + 1, map->items[i], 1);
		else
			c = field_test(S, k, k->str, flen, bar ? bar + 1 : NULL,
			    map->items[i], 0);
		if (c == NULL || sadd(S, and, c))
			break;
	}
	if (S->bad || S->oom) {
		scond_free(and);
		return NULL;
	}
	return sflat(and);
}

/* The condition of one search identifier's definition. */
static struct cond *
det_item(struct sc *S, const yt_node *n)
{
	if (n->kind == YT_MAP)
		return map_cond(S, n);
	if (n->kind == YT_SCALAR) {
		if (node_is_null(n)) {
			bad(S, n, "empty search identifier");
			return NULL;
		}
		return field_test(S, n, NULL, 0, NULL, n, 1);
	}
	if (n->n == 0) {
		bad(S, n, "empty list in a detection");
		return NULL;
	}
	{
		struct cond *or = snew(S, COND_OR);
		int scalars = 0;

		if (or == NULL)
			return NULL;
		for (size_t i = 0; i < n->n; i++) {
			const yt_node *it = n->items[i];

			if (it->kind == YT_SCALAR) {
				scalars++;
			} else if (it->kind == YT_MAP) {
				if (sadd(S, or, map_cond(S, it)))
					break;
			} else {
				bad(S, it, "a list in a list in a detection");
				break;
			}
		}
		if (!S->bad && !S->oom && scalars > 0) {
			if (scalars == (int)n->n) {
				if (sadd(S, or, field_test(S, n, NULL, 0, NULL,
				    n, 1))) {
					scond_free(or);
					return NULL;
				}
			} else {
				for (size_t i = 0; i < n->n; i++)
					if (n->items[i]->kind == YT_SCALAR &&
					    sadd(S, or, field_test(S,
					    n->items[i], NULL, 0, NULL,
					    n->items[i], 1)))
						break;
			}
		}
		if (S->bad || S->oom) {
			scond_free(or);
			return NULL;
		}
		return sflat(or);
	}
}

/* ---- the condition grammar -------------------------------------------- */

struct tok {
	const char	*s;
	size_t		 n;
};

struct cp {
	struct sc	*S;
	const yt_node	*at;		/* the condition node */
	struct tok	*t;
	size_t		 nt, i;
};

static int
tok_is(const struct tok *t, const char *w)
{
	return t->n == strlen(w) && strncasecmp(t->s, w, t->n) == 0;
}

/* Definition of search identifier (s, n) in the merged detection. */
static const yt_node *
det_get(struct sc *S, const char *s, size_t n, const yt_node **keyout)
{
	for (size_t l = 0; l < S->ndets; l++) {
		const yt_node *d = S->dets[l];

		for (size_t i = 0; i < d->n; i++)
			if (d->keys[i]->len == n &&
			    memcmp(d->keys[i]->str, s, n) == 0 &&
			    strcmp(d->keys[i]->str, "condition") != 0 &&
			    strcmp(d->keys[i]->str, "timeframe") != 0) {
				if (keyout)
					*keyout = d->keys[i];
				return d->items[i];
			}
	}
	return NULL;
}

static int
name_glob(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, sp = (size_t)-1, ss = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			sp = ++pi;
			ss = si;
			continue;
		}
		if (pi < pn && p[pi] == s[si]) {
			pi++;
			si++;
			continue;
		}
		if (sp == (size_t)-1)
			return 0;
		pi = sp;
		si = ++ss;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

static struct cond *cp_or(struct cp *P);

static struct cond *
cp_ident(struct cp *P, const struct tok *t)
{
	const yt_node *def = det_get(P->S, t->s, t->n, NULL);

	if (def == NULL) {
		bad(P->S, P->at, "condition names '%.*s', which the detection "
		    "does not define", (int)t->n, t->s);
		return NULL;
	}
	return det_item(P->S, def);
}

static struct cond *
cp_primary(struct cp *P)
{
	struct sc *S = P->S;
	struct tok *t;

	if (P->i >= P->nt) {
		bad(S, P->at, "condition ends early");
		return NULL;
	}
	t = &P->t[P->i++];
	if (tok_is(t, "(")) {
		struct cond *c;

		if (++S->depth > MAX_COND_NEST) {
			unsup(S, P->at, "condition nested deeper than %d",
			    MAX_COND_NEST);
			return NULL;
		}
		c = cp_or(P);
		S->depth--;
		if (c == NULL)
			return NULL;
		if (P->i >= P->nt || !tok_is(&P->t[P->i], ")")) {
			bad(S, P->at, "missing ')' in the condition");
			scond_free(c);
			return NULL;
		}
		P->i++;
		return c;
	}
	if (P->i < P->nt && tok_is(&P->t[P->i], "of")) {
		int all;
		struct tok *pat;
		struct cond *top;
		size_t hits = 0;

		if (tok_is(t, "all"))
			all = 1;
		else if (tok_is(t, "1") || tok_is(t, "any"))
			all = 0;
		else {
			unsup(S, P->at, "'%.*s of': only '1 of' and 'all of' "
			    "are supported", (int)t->n, t->s);
			return NULL;
		}
		P->i++;
		if (P->i >= P->nt) {
			bad(S, P->at, "'of' without a name pattern or them");
			return NULL;
		}
		pat = &P->t[P->i++];
		if (tok_is(pat, "(") || tok_is(pat, ")")) {
			bad(S, P->at, "'of' without a name pattern or them");
			return NULL;
		}
		if ((top = snew(S, all ? COND_AND : COND_OR)) == NULL)
			return NULL;
		for (size_t l = 0; l < S->ndets; l++) {
			const yt_node *d = S->dets[l];

			for (size_t i = 0; i < d->n; i++) {
				const yt_node *k = d->keys[i];
				const yt_node *first = NULL;
				int them = tok_is(pat, "them");

				if (!strcmp(k->str, "condition") ||
				    !strcmp(k->str, "timeframe"))
					continue;
				/* '_' names: not in 'them', nor in a pattern
				 * that does not itself start with '_' */
				if (k->str[0] == '_' && (them ||
				    pat->s[0] != '_'))
					continue;
				if (!them && !name_glob(pat->s, pat->n, k->str,
				    k->len))
					continue;
				/* a name shadowed by an earlier layer */
				(void)det_get(S, k->str, k->len, &first);
				if (first != k)
					continue;
				hits++;
				if (sadd(S, top, det_item(S, d->items[i])))
					goto ofail;
			}
		}
		if (hits == 0) {
			bad(S, P->at, "'%.*s' matches no search identifier",
			    (int)pat->n, pat->s);
			goto ofail;
		}
		return sflat(top);
ofail:
		scond_free(top);
		return NULL;
	}
	if (tok_is(t, ")") || tok_is(t, "and") || tok_is(t, "or") ||
	    tok_is(t, "not") || tok_is(t, "of")) {
		bad(S, P->at, "unexpected '%.*s' in the condition",
		    (int)t->n, t->s);
		return NULL;
	}
	if (memchr(t->s, '*', t->n) != NULL) {
		bad(S, P->at, "'%.*s': a name pattern needs '1 of' or "
		    "'all of'", (int)t->n, t->s);
		return NULL;
	}
	return cp_ident(P, t);
}

static struct cond *
cp_not(struct cp *P)
{
	struct cond *c;

	if (P->i < P->nt && tok_is(&P->t[P->i], "not")) {
		P->i++;
		if (++P->S->depth > MAX_COND_NEST) {
			unsup(P->S, P->at, "condition nested deeper than %d",
			    MAX_COND_NEST);
			return NULL;
		}
		c = cp_not(P);
		P->S->depth--;
		return snot(P->S, c);
	}
	return cp_primary(P);
}

static struct cond *
cp_bin(struct cp *P, int is_or)
{
	struct cond *top, *c;

	c = is_or ? cp_bin(P, 0) : cp_not(P);
	if (c == NULL)
		return NULL;
	if ((top = snew(P->S, is_or ? COND_OR : COND_AND)) == NULL ||
	    sadd(P->S, top, c)) {
		if (top == NULL)
			scond_free(c);
		scond_free(top);
		return NULL;
	}
	while (P->i < P->nt && tok_is(&P->t[P->i], is_or ? "or" : "and")) {
		P->i++;
		c = is_or ? cp_bin(P, 0) : cp_not(P);
		if (c == NULL || sadd(P->S, top, c)) {
			scond_free(top);
			return NULL;
		}
	}
	return sflat(top);
}

static struct cond *
cp_or(struct cp *P)
{
	return cp_bin(P, 1);
}

/* Compile one condition string. */
static struct cond *
cond_parse(struct sc *S, const yt_node *cn)
{
	struct cp P;
	struct cond *c = NULL;
	const char *s = cn->str;
	size_t n = cn->len;

	memset(&P, 0, sizeof(P));
	P.S = S;
	P.at = cn;
	if (memchr(s, '|', n) != NULL) {
		unsup(S, cn, "aggregation in the condition ('| count()' ...): "
		    "Sigma 1 aggregations are not supported (correlation "
		    "rules are not supported yet either)");
		return NULL;
	}
	if ((P.t = calloc(n + 1, sizeof(*P.t))) == NULL) {
		S->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < n;) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r') {
			i++;
			continue;
		}
		P.t[P.nt].s = s + i;
		if (s[i] == '(' || s[i] == ')') {
			P.t[P.nt++].n = 1;
			i++;
			continue;
		}
		{
			size_t j = i;

			while (j < n && s[j] != ' ' && s[j] != '\t' &&
			    s[j] != '\n' && s[j] != '\r' && s[j] != '(' &&
			    s[j] != ')')
				j++;
			P.t[P.nt++].n = j - i;
			i = j;
		}
	}
	if (P.nt == 0) {
		bad(S, cn, "empty condition");
		goto done;
	}
	S->depth = 0;
	c = cp_or(&P);
	if (c != NULL && P.i < P.nt) {
		bad(S, cn, "unexpected '%.*s' in the condition",
		    (int)P.t[P.i].n, P.t[P.i].s);
		scond_free(c);
		c = NULL;
	}
done:
	free(P.t);
	return c;
}

/* ---- log source mapping ------------------------------------------------- */

/*
 * The built-in mapping; rules/sigma/logsources.yml holds the same text
 * (a unit test keeps them equal).  Edit both.
 */
const char sigma_default_logsources[] =
"# Sigma log sources mapped onto tocsin events.  Each entry names the Sigma\n"
"# logsource (product / category / service, exactly as a rule writes them;\n"
"# a key the entry leaves out must be absent from the rule too), the\n"
"# programs whose lines it covers (none: every line), field names\n"
"# (Sigma name: decoded field), a prefix for unmapped names, and field\n"
"# conditions every event of the source meets.  Documents with\n"
"# sigma_logsources: anywhere in the rule paths add entries; an entry for\n"
"# the same logsource replaces the earlier one.\n"
"sigma_logsources:\n"
"  - product: linux\n"
"  - product: linux\n"
"    service: syslog\n"
"  - product: linux\n"
"    service: auth\n"
"    program: [sshd, sudo, su, login, useradd, userdel, usermod, groupadd,\n"
"      groupdel, groupmod, passwd, chpasswd, chage, gpasswd, newgrp,\n"
"      systemd-logind, polkitd, pkexec, unix_chkpwd, runuser, doas]\n"
"  - product: linux\n"
"    service: sshd\n"
"    program: [sshd]\n"
"  - product: linux\n"
"    service: sudo\n"
"    program: [sudo]\n"
"  - product: linux\n"
"    service: cron\n"
"    program: [cron, CRON, crond, crontab, anacron]\n"
"  - product: linux\n"
"    service: clamav\n"
"    program: [clamd, clamav, freshclam, clamscan, clamdscan, clamonacc]\n"
"  - product: linux\n"
"    service: vsftpd\n"
"    program: [vsftpd]\n"
"  - product: linux\n"
"    service: auditd\n"
"    program: [auditd, audit, audispd, audisp-syslog]\n"
"  - product: linux\n"
"    service: guacamole\n"
"    program: [guacd, guacamole, tomcat, tomcat9, tomcat10]\n"
"  - category: antivirus\n"
"    fields:\n"
"      Signature: signature\n"
"      Filename: file\n"
"      Action: action\n"
"  # Defender events forwarded as JSON (Winlogbeat or NXLog); the names on\n"
"  # the right are the aliases the Defender decoder gives both layouts;\n"
"  # other names are looked up under winlog.event_data.\n"
"  - product: windows\n"
"    service: windefend\n"
"    fields:\n"
"      EventID: event_id\n"
"      Channel: channel\n"
"      Computer: computer\n"
"      NewValue: new_value\n"
"      OldValue: old_value\n"
"      Path: file\n"
"    prefix: winlog.event_data.\n"
"    conditions:\n"
"      channel: Microsoft-Windows-Windows Defender/Operational\n";

static void
lsmap_clear(struct lsmap *m)
{
	free(m->product);
	free(m->category);
	free(m->service);
	strv_free(m->programs, m->nprograms);
	strv_free(m->fsrc, m->nfields);
	strv_free(m->fdst, m->nfields);
	free(m->prefix);
	strv_free(m->cfield, m->nconds);
	strv_free(m->cval, m->nconds);
	memset(m, 0, sizeof(*m));
}

static int
opt_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcasecmp(a, b) == 0;
}

static const char *const map_keys[] = { "product", "category", "service",
	"program", "fields", "prefix", "conditions", NULL };

/* Read one sigma_logsources: document (file for diagnostics). */
static void
lsmap_load(struct sc *S, const char *file, const yt_node *root)
{
	const yt_node *list = mget(root, "sigma_logsources");
	char err[512];

	S->file = file;
	S->bad = 0;
	if (yt_check_keys(root, (const char *const[]){ "sigma_logsources",
	    NULL }, file, "log source mapping", err, sizeof(err)) != 0) {
		sdiag(S, file, root->line, root->col, 0, "%s", err);
		return;
	}
	if (list == NULL || list->kind != YT_SEQ) {
		sdiag(S, file, root->line, root->col, 0,
		    "sigma_logsources must be a list");
		return;
	}
	for (size_t i = 0; i < list->n && !S->oom; i++) {
		const yt_node *e = list->items[i], *v;
		struct lsmap m;
		size_t k;
		int fail = 0;

		memset(&m, 0, sizeof(m));
		if (e->kind != YT_MAP || yt_check_keys(e, map_keys, file,
		    "log source", err, sizeof(err)) != 0) {
			sdiag(S, file, e->line, e->col, 0, "%s",
			    e->kind != YT_MAP ? "a log source is a mapping" :
			    err);
			continue;
		}
#define STRKEY(k, dst) do {						\
		if ((v = mget(e, k)) != NULL) {				\
			if (!is_scalar(v)) {				\
				sdiag(S, file, v->line, v->col, 0,	\
				    "%s must be a string", k);		\
				fail = 1;				\
			} else if ((dst = strdup(v->str)) == NULL)	\
				S->oom = 1;				\
		}							\
	} while (0)
		STRKEY("product", m.product);
		STRKEY("category", m.category);
		STRKEY("service", m.service);
		STRKEY("prefix", m.prefix);
#undef STRKEY
		if ((v = mget(e, "program")) != NULL) {
			const yt_node *one = v;

			for (size_t j = 0; j < (v->kind == YT_SEQ ? v->n : 1);
			    j++) {
				one = v->kind == YT_SEQ ? v->items[j] : v;
				if (!is_scalar(one)) {
					sdiag(S, file, one->line, one->col, 0,
					    "program must be a string or a "
					    "list of strings");
					fail = 1;
					break;
				}
				if (strv_push(&m.programs, &m.nprograms,
				    one->str, one->len))
					S->oom = 1;
			}
		}
		for (int pass = 0; pass < 2; pass++) {
			const char *key = pass ? "conditions" : "fields";
			char ***src = pass ? &m.cfield : &m.fsrc;
			char ***dst = pass ? &m.cval : &m.fdst;
			size_t *cnt = pass ? &m.nconds : &m.nfields;

			if ((v = mget(e, key)) == NULL)
				continue;
			if (v->kind != YT_MAP) {
				sdiag(S, file, v->line, v->col, 0,
				    "%s must be a mapping", key);
				fail = 1;
				continue;
			}
			for (size_t j = 0; j < v->n; j++) {
				size_t n0 = *cnt;

				if (!is_scalar(v->items[j])) {
					sdiag(S, file, v->items[j]->line,
					    v->items[j]->col, 0, "%s values "
					    "are strings", key);
					fail = 1;
					continue;
				}
				if (strv_push(src, cnt, v->keys[j]->str,
				    v->keys[j]->len)) {
					S->oom = 1;
					break;
				}
				*cnt = n0;
				if (strv_push(dst, cnt, v->items[j]->str,
				    v->items[j]->len)) {
					S->oom = 1;
					*cnt = n0;
					break;
				}
			}
		}
		if (m.product == NULL && m.category == NULL &&
		    m.service == NULL) {
			sdiag(S, file, e->line, e->col, 0, "a log source "
			    "names a product, category or service");
			fail = 1;
		}
		if (fail || S->oom) {
			lsmap_clear(&m);
			continue;
		}
		for (k = 0; k < S->nmaps; k++)
			if (opt_eq(S->maps[k].product, m.product) &&
			    opt_eq(S->maps[k].category, m.category) &&
			    opt_eq(S->maps[k].service, m.service))
				break;
		if (k < S->nmaps) {
			lsmap_clear(&S->maps[k]);
			S->maps[k] = m;
		} else {
			struct lsmap *nm = realloc(S->maps, (S->nmaps + 1) *
			    sizeof(*nm));

			if (nm == NULL) {
				S->oom = 1;
				lsmap_clear(&m);
				break;
			}
			S->maps = nm;
			S->maps[S->nmaps++] = m;
		}
	}
}

/* ---- rules ----------------------------------------------------------------- */

static const struct {
	const char	*name;
	int		 level;
} levels[] = {
	{ "informational", 2 }, { "low", 4 }, { "medium", 7 },
	{ "high", 10 }, { "critical", 13 },
};

/* "attack.t1059.001" -> "T1059.001" (also tactic ids "attack.ta0001");
 * NULL when the tag is not a technique id. */
static char *
attack_id(const char *tag)
{
	size_t n, i = 1;
	char *out;

	if (strncasecmp(tag, "attack.t", 8) != 0)
		return NULL;
	tag += 7;
	n = strlen(tag);
	if (n >= 2 && (tag[1] == 'a' || tag[1] == 'A'))
		i = 2;
	for (size_t k = 0; k < 4; k++, i++)
		if (i >= n || tag[i] < '0' || tag[i] > '9')
			return NULL;
	if (i != n) {
		if (tag[i] != '.' || n != i + 4)
			return NULL;
		for (size_t k = i + 1; k < n; k++)
			if (tag[k] < '0' || tag[k] > '9')
				return NULL;
	}
	if ((out = strdup(tag)) == NULL)
		return NULL;
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'a' && out[i] <= 'z')
			out[i] -= 32;
	return out;
}

static int
decoder_for(const struct decoder *d, char *const *progs, size_t np)
{
	if (d->nprograms == 0 || np == 0)
		return 1;
	for (size_t i = 0; i < np; i++)
		for (size_t k = 0; k < d->nprograms; k++)
			if (strcmp(d->programs[k], progs[i]) == 0)
				return 1;
	return 0;
}

static int
decoder_makes(const struct decoder *d, int field)
{
	if (d->type != DEC_REGEX)
		return 1;	/* JSON / CEF: names come from the data */
	for (size_t i = 0; i < d->naliases; i++)
		if (d->aliases[i].dst == field)
			return 1;
	for (uint32_t g = 1; d->group_field != NULL && g <= d->ngroups; g++)
		if (d->group_field[g] == field)
			return 1;
	return 0;
}

/* Warn about fields no decoder of the rule's programs produces. */
static void
check_fields(struct sc *S, const struct rule *r, const char *srcname)
{
	for (size_t i = 0; i < S->nfused; i++) {
		int made = 0, dup = 0;

		for (size_t j = 0; j < i; j++)
			if (S->fused[j] == S->fused[i])
				dup = 1;
		if (dup)
			continue;
		for (size_t d = 0; d < S->rs->ndecoders && !made; d++)
			if (decoder_for(S->rs->decoders[d], r->programs,
			    r->nprograms) &&
			    decoder_makes(S->rs->decoders[d], S->fused[i]))
				made = 1;
		if (!made)
			sdiag(S, S->file, S->fline[i], 0, 1,
			    "Sigma rule '%s': field '%s' (%s) is produced by "
			    "no decoder for log source %s: the rule cannot "
			    "match until one does", r->title,
			    S->rs->field_names[S->fused[i]], S->fsigma[i],
			    srcname);
	}
}

static void
rule_discard(struct rule *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->title);
	free(r->description);
	free(r->author);
	free(r->file);
	strv_free(r->mitre, r->info.nmitre);
	strv_free(r->groups, r->info.ngroups);
	strv_free(r->programs, r->nprograms);
	scond_free(r->cond);
	free(r);
}

/* The logsource of the rule (merged over the layers) and its mapping. */
static const struct lsmap *
find_logsource(struct sc *S, const yt_node *at, char *desc, size_t dlen,
    int quiet)
{
	const char *want[3] = { NULL, NULL, NULL };
	static const char *const keys[3] = { "product", "category",
	    "service" };
	size_t off = 0;

	for (int k = 0; k < 3; k++) {
		for (size_t l = 0; l < S->nlayers && want[k] == NULL; l++) {
			const yt_node *ls = mget(S->layers[l], "logsource");
			const yt_node *v = mget(ls, keys[k]);

			if (v != NULL && is_scalar(v))
				want[k] = v->str;
		}
		if (want[k] != NULL && off < dlen)
			off += (size_t)snprintf(desc + off, dlen - off,
			    "%s%s=%s", off ? " " : "", keys[k], want[k]);
	}
	if (off == 0)
		snprintf(desc, dlen, "(none)");
	for (size_t i = 0; i < S->nmaps; i++)
		if (opt_eq(S->maps[i].product, want[0]) &&
		    opt_eq(S->maps[i].category, want[1]) &&
		    opt_eq(S->maps[i].service, want[2]))
			return &S->maps[i];
	if (quiet)
		return NULL;
	unsup(S, at, "log source %s is not in the Sigma log source mapping "
	    "(add it under sigma_logsources:)", desc);
	return NULL;
}

static void
sc_rule_reset(struct sc *S)
{
	for (size_t i = 0; i < S->nfused; i++)
		free(S->fsigma[i]);
	free(S->fsigma);
	free(S->fused);
	free(S->fline);
	S->fsigma = NULL;
	S->fused = NULL;
	S->fline = NULL;
	S->nfused = 0;
	S->bad = 0;
	S->ls = NULL;
	S->ndets = 0;
}

/* Compile the rule made of S->layers (document first). */
static void
compile_rule(struct sc *S, const yt_node *root, const char *defid)
{
	struct ruleset *rs = S->rs;
	struct rule *r;
	const yt_node *v, *cn;
	char lsdesc[256];
	struct cond *c = NULL;

	sc_rule_reset(S);
	if ((v = lget(S, "correlation")) != NULL) {
		unsup(S, v, "correlation: in an action: global document is not "
		    "supported");
		return;
	}
	if (mget(root, "filter") != NULL && lget(S, "detection") == NULL) {
		unsup(S, root, "Sigma filters are not supported yet");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		S->oom = 1;
		return;
	}
	r->idx = rs->nrules;
	r->info.line = root->line;
	r->col = root->col;
	r->file = sdup(S, S->file);
	v = lget(S, "title");
	if (!is_scalar(v)) {
		bad(S, v ? v : root, "a Sigma rule needs a title (a string)");
		goto drop;
	}
	r->title = sdup(S, v->str);
	S->title = r->title;
	if ((v = lget(S, "id")) != NULL && is_scalar(v))
		r->id = sdup(S, v->str);
	else
		r->id = sdup(S, defid);
	if ((v = lget(S, "description")) != NULL && is_scalar(v))
		r->description = sdup(S, v->str);
	if ((v = lget(S, "author")) != NULL && is_scalar(v))
		r->author = sdup(S, v->str);
	else
		sdiag(S, S->file, root->line, root->col, 1, "Sigma rule '%s' "
		    "has no author (the Detection Rule License requires it "
		    "in every alert of a SigmaHQ rule)", r->title);
	r->info.level = 7;
	if ((v = lget(S, "level")) != NULL) {
		size_t k;

		for (k = 0; k < sizeof(levels) / sizeof(levels[0]); k++)
			if (is_scalar(v) && !strcasecmp(v->str, levels[k].name))
				break;
		if (k == sizeof(levels) / sizeof(levels[0])) {
			bad(S, v, "level must be informational, low, medium, "
			    "high or critical");
			goto drop;
		}
		r->info.level = levels[k].level;
	}
	if ((v = lget(S, "tags")) != NULL && v->kind == YT_SEQ)
		for (size_t i = 0; i < v->n; i++) {
			char *t;

			if (!is_scalar(v->items[i]) ||
			    (t = attack_id(v->items[i]->str)) == NULL)
				continue;
			{
				char **nm = realloc(r->mitre,
				    (r->info.nmitre + 1) * sizeof(*nm));

				if (nm == NULL) {
					free(t);
					S->oom = 1;
					goto drop;
				}
				r->mitre = nm;
				r->mitre[r->info.nmitre++] = t;
			}
		}
	if (strv_push(&r->groups, &r->info.ngroups, "sigma", 5)) {
		S->oom = 1;
		goto drop;
	}
	if (S->oom)
		goto drop;

	/* log source */
	if (lget(S, "logsource") == NULL) {
		bad(S, root, "a Sigma rule needs a logsource");
		goto drop;
	}
	if ((S->ls = find_logsource(S, lget(S, "logsource"), lsdesc,
	    sizeof(lsdesc), 0)) == NULL)
		goto drop;
	for (size_t i = 0; i < S->ls->nprograms; i++)
		if (strv_push(&r->programs, &r->nprograms, S->ls->programs[i],
		    strlen(S->ls->programs[i]))) {
			S->oom = 1;
			goto drop;
		}

	/* detection */
	for (size_t l = 0; l < S->nlayers; l++) {
		const yt_node *d = mget(S->layers[l], "detection");

		if (d == NULL)
			continue;
		if (d->kind != YT_MAP) {
			bad(S, d, "detection must be a mapping");
			goto drop;
		}
		S->dets[S->ndets++] = d;
	}
	if (S->ndets == 0) {
		bad(S, root, "a Sigma rule needs a detection");
		goto drop;
	}
	cn = NULL;
	for (size_t l = 0; l < S->ndets && cn == NULL; l++)
		cn = mget(S->dets[l], "condition");
	for (size_t l = 0; l < S->ndets; l++)
		if ((v = mget(S->dets[l], "timeframe")) != NULL) {
			unsup(S, v, "timeframe (Sigma 1 aggregation) is not "
			    "supported");
			goto drop;
		}
	if (cn == NULL || (cn->kind == YT_SCALAR && yt_is_null(cn))) {
		bad(S, root, "the detection needs a condition");
		goto drop;
	}
	if (cn->kind == YT_MAP) {
		bad(S, cn, "condition must be a string or a list of strings");
		goto drop;
	}
	if (cn->kind == YT_SCALAR) {
		c = cond_parse(S, cn);
	} else {
		struct cond *or = snew(S, COND_OR);

		for (size_t i = 0; or != NULL && i < cn->n; i++) {
			if (!is_scalar(cn->items[i])) {
				bad(S, cn->items[i], "condition must be a "
				    "string or a list of strings");
				break;
			}
			if (sadd(S, or, cond_parse(S, cn->items[i])))
				break;
		}
		if (S->bad || S->oom || or == NULL || or->nkids == 0)
			scond_free(or);
		else
			c = sflat(or);
	}
	if (c == NULL || S->bad || S->oom) {
		if (!S->bad && !S->oom)
			bad(S, cn, "empty condition");
		scond_free(c);
		goto drop;
	}
	/* the log source's own conditions */
	if (S->ls->nconds > 0) {
		struct cond *and = snew(S, COND_AND);

		if (and == NULL || sadd(S, and, c)) {
			if (and == NULL)
				scond_free(c);
			scond_free(and);
			goto drop;
		}
		c = and;
		for (size_t i = 0; i < S->ls->nconds; i++) {
			struct cond *l;
			int f = sfield_id(S, S->ls->cfield[i],
			    strlen(S->ls->cfield[i]));

			if (f < 0 || (l = sleaf(S, f, LEAF_EQUALS, 1)) == NULL ||
			    sadd(S, and, l) || leaf_addval(S, &l->leaf,
			    S->ls->cval[i], strlen(S->ls->cval[i])))
				break;
		}
	}
	r->cond = c;
	if (S->oom)
		goto drop;
	check_fields(S, r, lsdesc);

	r->info.id = r->id;
	r->info.title = r->title;
	r->info.description = r->description;
	r->info.author = r->author;
	r->info.mitre = (const char *const *)r->mitre;
	r->info.groups = (const char *const *)r->groups;
	r->info.file = r->file;
	if (rs->nrules >= MAX_RULES) {
		sdiag(S, S->file, root->line, root->col, 0, "more than %d "
		    "rules", MAX_RULES);
		goto drop;
	}
	if (rs->nrules == *S->rcap) {
		size_t ncap = *S->rcap ? *S->rcap * 2 : 64;
		struct rule **nr = realloc(rs->rules, ncap * sizeof(*nr));

		if (nr == NULL) {
			S->oom = 1;
			goto drop;
		}
		rs->rules = nr;
		*S->rcap = ncap;
	}
	rs->rules[rs->nrules++] = r;
	return;
drop:
	rule_discard(r);
}

int
sigma_doc_kind(const yt_node *root)
{
	if (root == NULL || root->kind != YT_MAP)
		return SIGMA_DOC_NONE;
	if (mget(root, "sigma_logsources") != NULL)
		return SIGMA_DOC_MAPPING;
	if (mget(root, "detection") != NULL || mget(root, "logsource") != NULL ||
	    mget(root, "correlation") != NULL ||
	    (mget(root, "action") != NULL && mget(root, "rules") == NULL &&
	    mget(root, "decoders") == NULL))
		return SIGMA_DOC_RULE;
	return SIGMA_DOC_NONE;
}

/* A default id for a rule without one: "sigma-<file name>[-<doc>]". */
static void
default_id(const char *file, size_t k, char *out, size_t olen)
{
	const char *b = strrchr(file, '/');
	size_t n;

	b = b ? b + 1 : file;
	n = strcspn(b, ".");
	if (n > 80)
		n = 80;
	if (k > 0)
		snprintf(out, olen, "sigma-%.*s-%zu", (int)n, b, k);
	else
		snprintf(out, olen, "sigma-%.*s", (int)n, b);
}

/* ---- correlation rules ------------------------------------------------------ */

static void
scorr_free(struct corr_rule *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->title);
	free(r->description);
	free(r->author);
	free(r->file);
	strv_free(r->mitre, r->info.nmitre);
	strv_free(r->groups, r->info.ngroups);
	for (size_t i = 0; i < r->nsteps; i++) {
		strv_free(r->steps[i].rules, r->steps[i].nrules);
		strv_free(r->steps[i].groups, r->steps[i].ngroups);
	}
	free(r->steps);
	strv_free(r->same, r->nsame);
	free(r->distinct);
	free(r);
}

/* Record a loaded rule (id copied) for the correlations' references. */
static void
sref_push(struct sc *S, const yt_node *root, const char *id,
    const struct lsmap *ls)
{
	struct sref *nr = realloc(S->refs, (S->nrefs + 1) * sizeof(*nr));
	const yt_node *nm = mget(root, "name");

	if (nr == NULL) {
		S->oom = 1;
		return;
	}
	S->refs = nr;
	nr[S->nrefs].name = is_scalar(nm) && nm->len > 0 ? nm->str : NULL;
	nr[S->nrefs].ls = ls;
	if ((nr[S->nrefs].id = strdup(id)) == NULL) {
		S->oom = 1;
		return;
	}
	S->nrefs++;
}

/* The loaded rule a correlation names (by name first, then id), or NULL. */
static const struct sref *
sref_find(const struct sc *S, const char *s)
{
	for (size_t i = 0; i < S->nrefs; i++)
		if (S->refs[i].name != NULL && strcmp(S->refs[i].name, s) == 0)
			return &S->refs[i];
	for (size_t i = 0; i < S->nrefs; i++)
		if (strcmp(S->refs[i].id, s) == 0)
			return &S->refs[i];
	return NULL;
}

/* Is s the name or id of a correlation document? */
static int
spend_names(const struct sc *S, const char *s)
{
	for (size_t i = 0; i < S->npend; i++) {
		const yt_node *n = mget(S->pend[i].root, "name");
		const yt_node *d = mget(S->pend[i].root, "id");

		if ((is_scalar(n) && strcmp(n->str, s) == 0) ||
		    (is_scalar(d) && strcmp(d->str, s) == 0))
			return 1;
	}
	return 0;
}

/* A field name the correlation engine can group by (as correlate.c). */
static int
scorr_field_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/*
 * The decoded field that Sigma field (or alias) name g is in the events of
 * rule ref: aliases[g][ref's name] if g is an alias, mapped through the
 * rule's log source.  Malloc'd, or NULL (reported).
 */
static char *
scorr_map_field(struct sc *S, const yt_node *at, const yt_node *aliases,
    const char *g, const struct sref *ref)
{
	const yt_node *al = mget(aliases, g);
	const char *name = g;
	const struct lsmap *ls = ref->ls;
	char *out;

	if (al != NULL) {
		const yt_node *f;

		if (al->kind != YT_MAP) {
			bad(S, al, "alias '%s' must map rule names to field "
			    "names", g);
			return NULL;
		}
		f = ref->name != NULL ? mget(al, ref->name) : NULL;
		if (!is_scalar(f) || f->len == 0) {
			bad(S, al, "alias '%s' names no field for rule '%s' "
			    "(aliases are keyed by the rules' name:)", g,
			    ref->name != NULL ? ref->name : ref->id);
			return NULL;
		}
		name = f->str;
	}
	out = NULL;
	for (size_t k = 0; ls != NULL && k < ls->nfields; k++)
		if (strcasecmp(ls->fsrc[k], name) == 0) {
			out = strdup(ls->fdst[k]);
			goto done;
		}
	if (ls != NULL && ls->prefix != NULL)
		out = xasprintf("%s%s", ls->prefix, name);
	else
		out = strdup(name);
done:
	if (out == NULL) {
		S->oom = 1;
		return NULL;
	}
	if (!scorr_field_ok(out)) {
		unsup(S, at, "field '%s' (%s for rule '%s') is not a name the "
		    "correlation engine can group by", g, out, ref->id);
		free(out);
		return NULL;
	}
	return out;
}

/* The one decoded field g is in every referenced rule (they must agree). */
static char *
scorr_field(struct sc *S, const yt_node *at, const yt_node *aliases,
    const char *g, const struct sref *const *refs, size_t nrefs)
{
	char *f = NULL;

	for (size_t i = 0; i < nrefs; i++) {
		char *x = scorr_map_field(S, at, aliases, g, refs[i]);

		if (x == NULL) {
			free(f);
			return NULL;
		}
		if (f == NULL) {
			f = x;
			continue;
		}
		if (strcmp(f, x) != 0) {
			unsup(S, at, "field '%s' is '%s' in the events of rule "
			    "'%s' but '%s' in those of '%s': the correlation "
			    "engine groups every rule by one field name", g,
			    f, refs[0]->id, x, refs[i]->id);
			free(f);
			free(x);
			return NULL;
		}
		free(x);
	}
	return f;
}

/* Timespan "N" + s/m/h/d (specification) into *us.  -1 if malformed. */
static int
scorr_timespan(const yt_node *v, uint64_t *us)
{
	uint64_t n, mul;

	if (!is_scalar(v) || v->len < 2)
		return -1;
	switch (v->str[v->len - 1]) {
	case 's': mul = 1000000ULL; break;
	case 'm': mul = 60000000ULL; break;
	case 'h': mul = 3600000000ULL; break;
	case 'd': mul = 86400000000ULL; break;
	default: return -1;
	}
	if (parse_u64(v->str, v->len - 1, MAX_CORR_TIMEFRAME_US / mul + 1,
	    &n) != 0 || n == 0)
		return -1;
	*us = n * mul;
	return 0;
}

static const char *const scorr_keys[] = { "type", "rules", "group-by",
	"timespan", "condition", "aliases", "generate", NULL };

/*
 * Compile the correlation document root (S->file, layers set) onto the
 * native correlation engine (threshold, distinct, sequence).  Returns the
 * rule (caller frees with scorr_free), or NULL with the reason reported.
 */
static struct corr_rule *
scorr_compile(struct sc *S, const yt_node *root, const char *defid)
{
	struct corr_rule *r;
	const yt_node *c = mget(root, "correlation"), *v, *t, *rl, *gb, *cn;
	const yt_node *al;
	const struct sref *refs[MAX_CORR_STEPS > 64 ? MAX_CORR_STEPS : 64];
	size_t nrefs = 0, nlisted;
	int type = 0;	/* 1 event_count, 2 value_count, 3 temporal_ordered,
			 * 4 temporal (any order); 3 and 4 have one step per
			 * rule */
	uint64_t cnt = 0;

	S->bad = 0;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		S->oom = 1;
		return NULL;
	}
	r->info.line = root->line;
	r->file = sdup(S, S->file);
	if (!is_scalar(v = mget(root, "title"))) {
		bad(S, v ? v : root, "a Sigma rule needs a title (a string)");
		goto fail;
	}
	r->title = sdup(S, v->str);
	r->id = sdup(S, is_scalar(v = mget(root, "id")) ? v->str : defid);
	if (is_scalar(v = mget(root, "description")))
		r->description = sdup(S, v->str);
	if (is_scalar(v = mget(root, "author")))
		r->author = sdup(S, v->str);
	r->info.level = 7;
	if ((v = mget(root, "level")) != NULL) {
		size_t k;

		for (k = 0; k < sizeof(levels) / sizeof(levels[0]); k++)
			if (is_scalar(v) && !strcasecmp(v->str, levels[k].name))
				break;
		if (k == sizeof(levels) / sizeof(levels[0])) {
			bad(S, v, "level must be informational, low, medium, "
			    "high or critical");
			goto fail;
		}
		r->info.level = levels[k].level;
	}
	if ((v = mget(root, "tags")) != NULL && v->kind == YT_SEQ)
		for (size_t i = 0; i < v->n; i++) {
			char *tg, **nm;

			if (!is_scalar(v->items[i]) ||
			    (tg = attack_id(v->items[i]->str)) == NULL)
				continue;
			if ((nm = realloc(r->mitre, (r->info.nmitre + 1) *
			    sizeof(*nm))) == NULL) {
				free(tg);
				S->oom = 1;
				goto fail;
			}
			r->mitre = nm;
			r->mitre[r->info.nmitre++] = tg;
		}
	if (strv_push(&r->groups, &r->info.ngroups, "sigma", 5) || S->oom) {
		S->oom = 1;
		goto fail;
	}
	if (c->kind != YT_MAP) {
		bad(S, c, "correlation must be a mapping (type:, rules:, "
		    "group-by:, timespan:, condition:)");
		goto fail;
	}
	for (size_t i = 0; i < c->n; i++) {
		size_t k;

		for (k = 0; scorr_keys[k] != NULL; k++)
			if (strcmp(c->keys[i]->str, scorr_keys[k]) == 0)
				break;
		if (scorr_keys[k] == NULL) {
			bad(S, c->keys[i], "unknown key '%s' in a Sigma "
			    "correlation", c->keys[i]->str);
			goto fail;
		}
	}
	if (!is_scalar(t = mget(c, "type"))) {
		bad(S, t ? t : c, "a Sigma correlation needs a type");
		goto fail;
	}
	if (!strcmp(t->str, "event_count"))
		type = 1;
	else if (!strcmp(t->str, "value_count"))
		type = 2;
	else if (!strcmp(t->str, "temporal_ordered"))
		type = 3;
	else if (!strcmp(t->str, "temporal"))
		type = 4;
	else if (!strcmp(t->str, "value_sum") ||
	    !strcmp(t->str, "value_avg") ||
	    !strcmp(t->str, "value_percentile")) {
		unsup(S, t, "correlation type %s is not supported", t->str);
		goto fail;
	} else {
		bad(S, t, "correlation type must be event_count, value_count, "
		    "temporal or temporal_ordered");
		goto fail;
	}
	if ((v = mget(c, "generate")) != NULL && (!is_scalar(v) ||
	    (strcmp(v->str, "true") && strcmp(v->str, "false")))) {
		bad(S, v, "generate must be true or false");
		goto fail;
	}
	/* Sigma: without generate: true the referenced rules only feed the
	 * correlation and raise no alerts of their own. */
	r->generate = v != NULL && strcmp(v->str, "true") == 0;

	/* rules: each a loaded Sigma rule, by name or id */
	if ((rl = mget(c, "rules")) == NULL || (rl->kind == YT_SEQ &&
	    rl->n == 0) || rl->kind == YT_MAP) {
		bad(S, rl ? rl : c, "a Sigma correlation needs rules: (names "
		    "or ids of Sigma rules)");
		goto fail;
	}
	nlisted = rl->kind == YT_SEQ ? rl->n : 1;
	if (nlisted > (type >= 3 ? MAX_CORR_STEPS : 64)) {
		unsup(S, rl, "more than %d rules in one correlation",
		    type >= 3 ? MAX_CORR_STEPS : 64);
		goto fail;
	}
	if (type >= 3 && nlisted < 2) {
		bad(S, rl, "temporal_ordered needs at least 2 rules");
		goto fail;
	}

	if ((v = mget(c, "timespan")) == NULL ||
	    scorr_timespan(v, &r->timeframe_us) != 0) {
		bad(S, v ? v : c, "timespan must be a number and s, m, h or d "
		    "(at most 7d)");
		goto fail;
	}
	if (r->timeframe_us > MAX_CORR_TIMEFRAME_US) {
		unsup(S, v, "timespan longer than 7d");
		goto fail;
	}
	r->suppress_us = r->timeframe_us;

	/* condition: gte N / gt N (the engine fires when a count is reached) */
	cn = mget(c, "condition");
	if (cn != NULL && cn->kind != YT_MAP) {
		bad(S, cn, "condition must be a mapping (gte: N, ...)");
		goto fail;
	}
	if (cn == NULL && type < 3) {
		bad(S, c, "%s needs a condition (gte: N)", t->str);
		goto fail;
	}
	for (size_t i = 0; cn != NULL && i < cn->n; i++) {
		const char *k = cn->keys[i]->str;
		const yt_node *x = cn->items[i];
		uint64_t n;

		if (!strcmp(k, "field")) {
			if (type != 2) {
				bad(S, cn->keys[i], "condition field: is for "
				    "value_count");
				goto fail;
			}
			continue;
		}
		if (strcmp(k, "gt") && strcmp(k, "gte") && strcmp(k, "lt") &&
		    strcmp(k, "lte") && strcmp(k, "eq") && strcmp(k, "neq")) {
			bad(S, cn->keys[i], "unknown condition '%s' (gt, gte, "
			    "lt, lte, eq, neq, field)", k);
			goto fail;
		}
		if (!is_scalar(x) || parse_u64(x->str, x->len, UINT64_MAX,
		    &n) != 0) {
			bad(S, x, "condition %s needs a whole number", k);
			goto fail;
		}
		if (strcmp(k, "gt") && strcmp(k, "gte") && !(type >= 3 &&
		    !strcmp(k, "eq"))) {
			unsup(S, cn->keys[i], "condition %s is not supported: "
			    "the correlation engine fires as soon as a count "
			    "is reached within the timespan and never "
			    "evaluates a window at its end (only gt and gte)",
			    k);
			goto fail;
		}
		if (cnt != 0) {
			unsup(S, cn->keys[i], "a count range is not supported "
			    "(one gt or gte)");
			goto fail;
		}
		if (!strcmp(k, "gt"))
			n++;
		cnt = n > 0 ? n : 1;
		if (type >= 3 && cnt != nlisted) {
			unsup(S, x, "temporal_ordered with a condition other "
			    "than every rule (%zu) is not supported", nlisted);
			goto fail;
		}
	}
	if (type < 3 && cnt == 0) {
		bad(S, cn, "condition needs gte: N or gt: N");
		goto fail;
	}
	if (type < 3 && cnt > MAX_CORR_COUNT) {
		unsup(S, cn, "a count above %d is not supported",
		    MAX_CORR_COUNT);
		goto fail;
	}

	for (size_t i = 0; i < nlisted; i++) {
		const yt_node *x = rl->kind == YT_SEQ ? rl->items[i] : rl;

		if (!is_scalar(x) || x->len == 0) {
			bad(S, x, "rules: lists names or ids");
			goto fail;
		}
		if ((refs[nrefs] = sref_find(S, x->str)) == NULL) {
			if (spend_names(S, x->str))
				unsup(S, x, "rule '%s' is a correlation: "
				    "chained correlations are not supported",
				    x->str);
			else
				unsup(S, x, "rule '%s' is not a loaded Sigma "
				    "rule (no rule has that name or id, or it "
				    "was not loaded)", x->str);
			goto fail;
		}
		nrefs++;
	}

	/* group-by, through aliases and each rule's log source */
	al = mget(c, "aliases");
	if (al != NULL && al->kind != YT_MAP) {
		bad(S, al, "aliases must be a mapping");
		goto fail;
	}
	if ((gb = mget(c, "group-by")) != NULL) {
		size_t n = gb->kind == YT_SEQ ? gb->n : 1;

		if (gb->kind == YT_MAP) {
			bad(S, gb, "group-by must be a list of field names");
			goto fail;
		}
		if (n > MAX_CORR_SAME) {
			unsup(S, gb, "more than %d group-by fields",
			    MAX_CORR_SAME);
			goto fail;
		}
		if (n > 0 && (r->same = calloc(n, sizeof(*r->same))) ==
		    NULL) {
			S->oom = 1;
			goto fail;
		}
		for (size_t i = 0; i < n; i++) {
			const yt_node *x = gb->kind == YT_SEQ ? gb->items[i] :
			    gb;

			if (!is_scalar(x) || x->len == 0) {
				bad(S, x, "group-by lists field names");
				goto fail;
			}
			if ((r->same[i] = scorr_field(S, x, al, x->str, refs,
			    nrefs)) == NULL)
				goto fail;
			r->nsame++;
		}
	}
	if (type == 2) {
		const yt_node *f = mget(cn, "field");

		if (f != NULL && f->kind == YT_SEQ && f->n == 1)
			f = f->items[0];
		if (f == NULL || (f->kind == YT_SEQ && f->n == 0)) {
			bad(S, cn, "value_count needs condition field: FIELD");
			goto fail;
		}
		if (!is_scalar(f) || f->len == 0) {
			unsup(S, f, "value_count over several fields is not "
			    "supported");
			goto fail;
		}
		if ((r->distinct = scorr_field(S, f, al, f->str, refs,
		    nrefs)) == NULL)
			goto fail;
	}

	/* the native rule */
	r->type = type == 1 ? CORR_THRESHOLD : type == 2 ? CORR_DISTINCT :
	    type == 3 ? CORR_SEQUENCE : CORR_ALL;
	r->nsteps = type >= 3 ? nrefs : 1;
	if ((r->steps = calloc(r->nsteps, sizeof(*r->steps))) == NULL) {
		S->oom = 1;
		goto fail;
	}
	for (size_t i = 0; i < nrefs; i++) {
		struct corr_step *st = &r->steps[type >= 3 ? i : 0];

		st->count = 1;
		if (strv_push(&st->rules, &st->nrules, refs[i]->id,
		    strlen(refs[i]->id))) {
			S->oom = 1;
			goto fail;
		}
	}
	r->count = type >= 3 ? (uint32_t)nrefs : (uint32_t)cnt;
	if (S->oom || S->bad)
		goto fail;
	for (size_t i = 0; i < S->npend && S->pend[i].root != root; i++) {
		const yt_node *d = mget(S->pend[i].root, "id");

		if (strcmp(is_scalar(d) ? d->str : S->pend[i].defid,
		    r->id) == 0) {
			bad(S, root, "duplicate correlation id '%s'", r->id);
			goto fail;
		}
	}
	for (size_t i = 0; i < S->rs->nrules; i++)
		if (strcmp(S->rs->rules[i]->info.id, r->id) == 0) {
			bad(S, root, "correlation id '%s' is also a rule's id",
			    r->id);
			goto fail;
		}
	r->info.id = r->id;
	r->info.title = r->title;
	r->info.description = r->description;
	r->info.author = r->author;
	r->info.mitre = (const char *const *)r->mitre;
	r->info.groups = (const char *const *)r->groups;
	r->info.file = r->file;
	return r;
fail:
	scorr_free(r);
	return NULL;
}

/* ---- all documents ------------------------------------------------------------ */

/*
 * Compile (or, in corr_mode, only resolve) every Sigma document, then the
 * correlation documents; each compiled correlation goes to add (NULL:
 * checked and freed).  0 or TS_ENOMEM.
 */
static int
sigma_run(struct sc *S, char *const *files, yt_doc **const *docs,
    const size_t *ndocs, size_t nfiles,
    int (*add)(struct corr_rule *r, void *arg), void *arg)
{
	yt_doc **def = NULL;
	size_t ndef = 0;
	char err[256];

	if (yt_load_buf("sigma-logsources(built-in)", sigma_default_logsources,
	    sizeof(sigma_default_logsources) - 1, &def, &ndef, err,
	    sizeof(err)) != 0 || ndef != 1) {
		yt_docs_free(&def, ndef);
		return TS_ENOMEM;
	}
	lsmap_load(S, "sigma-logsources(built-in)", def[0]->root);
	yt_docs_free(&def, ndef);
	for (size_t i = 0; i < nfiles && !S->oom; i++)
		for (size_t k = 0; docs[i] != NULL && k < ndocs[i]; k++)
			if (sigma_doc_kind(docs[i][k]->root) ==
			    SIGMA_DOC_MAPPING)
				lsmap_load(S, files[i], docs[i][k]->root);
	for (size_t i = 0; i < nfiles && !S->oom; i++) {
		const yt_node *global = NULL, *prev = NULL;
		size_t nrule = 0, nsigma = 0;

		for (size_t k = 0; docs[i] != NULL && k < ndocs[i]; k++)
			if (sigma_doc_kind(docs[i][k]->root) == SIGMA_DOC_RULE)
				nsigma++;
		for (size_t k = 0; docs[i] != NULL && k < ndocs[i] && !S->oom;
		    k++) {
			const yt_node *root = docs[i][k]->root, *act;
			char defid[128];

			if (sigma_doc_kind(root) != SIGMA_DOC_RULE)
				continue;
			S->file = files[i];
			S->bad = 0;
			act = mget(root, "action");
			if (act != NULL) {
				if (!is_scalar(act)) {
					bad(S, act, "action must be global, "
					    "reset or repeat");
					continue;
				}
				if (!strcmp(act->str, "global")) {
					global = root;
					continue;
				}
				if (!strcmp(act->str, "reset")) {
					global = NULL;
					continue;
				}
				if (strcmp(act->str, "repeat") != 0) {
					bad(S, act, "action must be global, "
					    "reset or repeat");
					continue;
				}
				if (prev == NULL) {
					bad(S, act, "action: repeat without a "
					    "rule before it");
					continue;
				}
			}
			default_id(files[i], nsigma > 1 ? ++nrule : 0, defid,
			    sizeof(defid));
			if (mget(root, "correlation") != NULL) {
				struct spend *np = realloc(S->pend,
				    (S->npend + 1) * sizeof(*np));

				if (np == NULL) {
					S->oom = 1;
					break;
				}
				S->pend = np;
				np[S->npend].file = files[i];
				np[S->npend].root = root;
				snprintf(np[S->npend].defid,
				    sizeof(np[S->npend].defid), "%s", defid);
				S->npend++;
				continue;
			}
			S->nlayers = 0;
			S->layers[S->nlayers++] = root;
			if (act != NULL)
				S->layers[S->nlayers++] = prev;
			if (global != NULL)
				S->layers[S->nlayers++] = global;
			if (S->corr_mode) {
				/* the rule as ruleset_load compiled it */
				const yt_node *idn = lget(S, "id");
				const char *id = is_scalar(idn) ? idn->str :
				    defid;
				char lsdesc[256];

				for (size_t q = 0; q < S->rs->nrules; q++)
					if (!strcmp(S->rs->rules[q]->info.id,
					    id)) {
						sref_push(S, root, id,
						    find_logsource(S, root,
						    lsdesc, sizeof(lsdesc),
						    1));
						break;
					}
			} else {
				size_t n0 = S->rs->nrules;

				compile_rule(S, root, defid);
				if (S->rs->nrules > n0)
					sref_push(S, root,
					    S->rs->rules[n0]->info.id, S->ls);
			}
			if (act == NULL)
				prev = root;
		}
	}
	for (size_t i = 0; i < S->npend && !S->oom; i++) {
		struct corr_rule *r;

		S->file = S->pend[i].file;
		S->nlayers = 1;
		S->layers[0] = S->pend[i].root;
		r = scorr_compile(S, S->pend[i].root, S->pend[i].defid);
		if (r != NULL && add != NULL) {
			if (add(r, arg) != 0)
				S->oom = 1;
		} else
			scorr_free(r);
	}
	sc_rule_reset(S);
	for (size_t i = 0; i < S->nmaps; i++)
		lsmap_clear(&S->maps[i]);
	free(S->maps);
	for (size_t i = 0; i < S->nrefs; i++)
		free(S->refs[i].id);
	free(S->refs);
	free(S->pend);
	return S->oom ? TS_ENOMEM : 0;
}

int
sigma_compile_all(struct ruleset *rs, struct rules_diags *dl,
    char *const *files, yt_doc **const *docs, const size_t *ndocs,
    size_t nfiles, size_t *rcap, size_t *fcap)
{
	struct sc S;

	memset(&S, 0, sizeof(S));
	S.rs = rs;
	S.dl = dl;
	S.rcap = rcap;
	S.fcap = fcap;
	return sigma_run(&S, files, docs, ndocs, nfiles, NULL, NULL);
}

int
sigma_corr_load(const struct ruleset *rs, char *const *files,
    yt_doc **const *docs, const size_t *ndocs, size_t nfiles,
    int (*add)(struct corr_rule *r, void *arg), void *arg)
{
	struct sc S;
	struct rules_diags quiet;
	int ret;

	memset(&S, 0, sizeof(S));
	memset(&quiet, 0, sizeof(quiet));
	S.rs = (struct ruleset *)(uintptr_t)rs;	/* only read */
	S.dl = &quiet;
	S.corr_mode = 1;
	ret = sigma_run(&S, files, docs, ndocs, nfiles, add, arg);
	rules_diags_free(&quiet);
	return ret;
}

void
sigma_corr_free(struct corr_rule *r)
{
	scorr_free(r);
}
