/*
 * condition.c - the Sigma condition grammar: search identifiers, "1 of" /
 * "all of" with name patterns, and / or / not and parentheses, compiled
 * into the condition tree.
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
		sigma_bad(P->S, P->at,
		    "condition names '%.*s', which the detection "
		    "does not define", (int)t->n, t->s);
		return NULL;
	}
	return sigma_det_item(P->S, def);
}

static struct cond *
cp_primary(struct cp *P)
{
	struct sc *S = P->S;
	struct tok *t;

	if (P->i >= P->nt) {
		sigma_bad(S, P->at, "condition ends early");
		return NULL;
	}
	t = &P->t[P->i++];
	if (tok_is(t, "(")) {
		struct cond *c;

		if (++S->depth > MAX_COND_NEST) {
			sigma_unsup(S, P->at, "condition nested deeper than %d",
			    MAX_COND_NEST);
			return NULL;
		}
		c = cp_or(P);
		S->depth--;
		if (c == NULL)
			return NULL;
		if (P->i >= P->nt || !tok_is(&P->t[P->i], ")")) {
			sigma_bad(S, P->at, "missing ')' in the condition");
			sigma_cond_free(c);
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
			sigma_unsup(S, P->at,
			    "'%.*s of': only '1 of' and 'all of' "
			    "are supported", (int)t->n, t->s);
			return NULL;
		}
		P->i++;
		if (P->i >= P->nt) {
			sigma_bad(S, P->at,
			    "'of' without a name pattern or them");
			return NULL;
		}
		pat = &P->t[P->i++];
		if (tok_is(pat, "(") || tok_is(pat, ")")) {
			sigma_bad(S, P->at,
			    "'of' without a name pattern or them");
			return NULL;
		}
		if ((top = sigma_cond_new(S, all ? COND_AND : COND_OR)) == NULL)
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
				if (sigma_cond_add(S, top, sigma_det_item(S,
				    d->items[i])))
					goto ofail;
			}
		}
		if (hits == 0) {
			sigma_bad(S, P->at,
			    "'%.*s' matches no search identifier",
			    (int)pat->n, pat->s);
			goto ofail;
		}
		return sigma_cond_flatten(top);
ofail:
		sigma_cond_free(top);
		return NULL;
	}
	if (tok_is(t, ")") || tok_is(t, "and") || tok_is(t, "or") ||
	    tok_is(t, "not") || tok_is(t, "of")) {
		sigma_bad(S, P->at, "unexpected '%.*s' in the condition",
		    (int)t->n, t->s);
		return NULL;
	}
	if (memchr(t->s, '*', t->n) != NULL) {
		sigma_bad(S, P->at, "'%.*s': a name pattern needs '1 of' or "
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
			sigma_unsup(P->S, P->at,
			    "condition nested deeper than %d",
			    MAX_COND_NEST);
			return NULL;
		}
		c = cp_not(P);
		P->S->depth--;
		return sigma_cond_not(P->S, c);
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
	if ((top = sigma_cond_new(P->S, is_or ? COND_OR : COND_AND)) == NULL ||
	    sigma_cond_add(P->S, top, c)) {
		if (top == NULL)
			sigma_cond_free(c);
		sigma_cond_free(top);
		return NULL;
	}
	while (P->i < P->nt && tok_is(&P->t[P->i], is_or ? "or" : "and")) {
		P->i++;
		c = is_or ? cp_bin(P, 0) : cp_not(P);
		if (c == NULL || sigma_cond_add(P->S, top, c)) {
			sigma_cond_free(top);
			return NULL;
		}
	}
	return sigma_cond_flatten(top);
}

static struct cond *
cp_or(struct cp *P)
{
	return cp_bin(P, 1);
}

/* Compile one condition string. */
struct cond *
sigma_cond_parse(struct sc *S, const yt_node *cn)
{
	struct cp P;
	struct cond *c = NULL;
	const char *s = cn->str;
	size_t n = cn->len;

	memset(&P, 0, sizeof(P));
	P.S = S;
	P.at = cn;
	if (memchr(s, '|', n) != NULL) {
		sigma_unsup(S, cn,
		    "aggregation in the condition ('| count()' ...): "
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
		sigma_bad(S, cn, "empty condition");
		goto done;
	}
	S->depth = 0;
	c = cp_or(&P);
	if (c != NULL && P.i < P.nt) {
		sigma_bad(S, cn, "unexpected '%.*s' in the condition",
		    (int)P.t[P.i].n, P.t[P.i].s);
		sigma_cond_free(c);
		c = NULL;
	}
done:
	free(P.t);
	return c;
}
