/*
 * values.c - Sigma values and their modifiers: the encoded value form
 * (wildcards as glob bytes, see SIGMA_GLOB_*), the transformations
 * (windash, base64, base64offset, utf16*, wide, contains / startswith /
 * endswith), and the leaves a list of values compiles to.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "rules/correlate.h"
#include "rules/sigma/sigma_int.h"

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

void
sigma_sv_free(struct sv *v)
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
int
sigma_sv_parse(struct sc *S, const char *s, size_t n, struct sv *v)
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
int
sigma_xf_windash(struct sc *S, const yt_node *at, struct sv **vals,
    size_t *nvals)
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

			/* after a wildcard too: pySigma applies the regex to
			 * each plain part, where the dash then starts it
			 * ("CommandLine|contains|windash: '-v'" is "*-v*") */
			if ((v->b[i] == '-' || v->b[i] == '/') &&
			    (i == 0 || !is_word(p)) &&
			    i + 1 < v->n &&
			    is_word((unsigned char)v->b[i + 1])) {
				if (np == MAX_WINDASH_POS) {
					sigma_unsup(S, at,
					    "windash on a value with "
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
				sigma_unsup(S, at, "more than %d values after "
				    "windash", MAX_SIGMA_VALUES);
				sigma_sv_free(&nv);
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
			sigma_sv_free(&nv);
			goto fail;
		}
	}
	for (size_t k = 0; k < *nvals; k++)
		sigma_sv_free(&(*vals)[k]);
	free(*vals);
	*vals = out;
	*nvals = nout;
	return 0;
fail:
	for (size_t k = 0; k < nout; k++)
		sigma_sv_free(&out[k]);
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
int
sigma_xf_base64(struct sc *S, const yt_node *at, struct sv **vals,
    size_t *nvals,
    int offset)
{
	struct sv *out = NULL;
	size_t nout = 0;

	for (size_t k = 0; k < *nvals; k++) {
		char *raw = NULL, *enc = NULL;
		unsigned char *buf = NULL;
		size_t rn = 0;

		if (sv_has_wild(&(*vals)[k])) {
			sigma_unsup(S, at, "base64 of a value with wildcards");
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
		sigma_sv_free(&(*vals)[k]);
	free(*vals);
	*vals = out;
	*nvals = nout;
	return 0;
fail:
	for (size_t k = 0; k < nout; k++)
		sigma_sv_free(&out[k]);
	free(out);
	return -1;
}

/* UTF-16 (le, be, or le with a byte-order mark) of the UTF-8 text of each
 * value; wildcards stay wildcards.  Invalid UTF-8 bytes count as Latin-1. */
int
sigma_xf_utf16(struct sc *S, struct sv *vals, size_t nvals, int be, int bom)
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
		sigma_sv_free(v);
		*v = nv;
		continue;
fail:
		sigma_sv_free(&nv);
		return -1;
	}
	return 0;
}

/* contains / startswith / endswith: '*' at the ends (not doubled). */
int
sigma_xf_stars(struct sc *S, struct sv *vals, size_t nvals, int front, int back)
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
			sigma_sv_free(&nv);
			return -1;
		}
		sigma_sv_free(v);
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
struct cond *
sigma_values_leaves(struct sc *S, int field, struct sv *vals, size_t nvals,
    int all, int nocase)
{
	struct cond *top = sigma_cond_new(S, all ? COND_AND : COND_OR);
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
			if ((c = sigma_leaf_new(S, field, LEAF_GLOB,
			    nocase)) == NULL ||
			    sigma_leaf_addval(S, &c->leaf, vals[k].b,
			    vals[k].n) ||
			    glob_literal(S, &vals[k], &c->leaf.rx)) {
				sigma_cond_free(c);
				break;
			}
			if (sigma_cond_add(S, top, c))
				break;
			continue;
		}
		if (op == LEAF_EXISTS) {
			free(lit);
			if (sigma_cond_add(S, top, sigma_leaf_new(S, field,
			    LEAF_EXISTS, 0)))
				break;
			continue;
		}
		if (all || bykind[op] == NULL) {
			if ((c = sigma_leaf_new(S, field, op,
			    nocase)) == NULL ||
			    sigma_cond_add(S, top, c)) {
				free(lit);
				break;
			}
			if (!all)
				bykind[op] = c;
		} else {
			c = bykind[op];
		}
		if (sigma_leaf_addval(S, &c->leaf, lit, ln)) {
			free(lit);
			break;
		}
		free(lit);
	}
	if (S->oom) {
		sigma_cond_free(top);
		return NULL;
	}
	return sigma_cond_flatten(top);
}
