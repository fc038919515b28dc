/*
 * ruleindex.c - which root rules an event can match, found without trying
 * them all, so that the cost per event stays nearly flat as the rule count
 * grows (thousands of Sigma rules, most of them for other log sources).
 *
 * Each root rule is gated on one requirement that its condition implies:
 * an OR of atoms, each either "field F equals v" (ASCII case-folded) or
 * "field F contains the literal l" (in any ASCII case if the test is
 * caseless).  A rule none of whose atoms holds cannot match and is not
 * tried.  The requirement is taken only from tests the matcher itself
 * makes (an AND needs each of its kids, an OR needs one of them, NOT and
 * tests without a literal need nothing), so results are identical with and
 * without the index:
 *
 *   equals v           ->  F equals v (folded: a superset of the test)
 *   contains / starts-
 *   / ends with v      ->  F contains v
 *   Sigma glob         ->  F contains its longest literal run
 *   regex              ->  F contains its required literal (struct rx)
 *   anything else      ->  no requirement
 *
 * Of an AND the requirement least likely to hold is taken, judged by how
 * many rules share its atoms (EventID 1 is shared by a thousand process
 * creation rules, "\rundll32.exe" by a few) and, for literals, by their
 * length; and with it the next least likely, as a second gate: a rule is
 * a candidate only when both hold (an AND needs every kid, so both are
 * implied).  One common literal ("C:\Windows\" in Image) then no longer
 * makes every rule naming it a candidate.  Of an OR whose every branch
 * brings two, the two are the ORs of each branch's first and second.
 *
 * Per event: one hash lookup per field that some root of the event's
 * route needs equal to a value (Channel, EventID, ...), one
 * Vectorscan scan per field that some root of the route needs to contain
 * a literal (a field only rules of other routes need is not looked at: a
 * Windows event skips the literals syslog rules need in the message), and
 * the rules whose atom held are the candidates, tried in load order
 * within the event's route.
 *
 * Set TOCSIN_RULES_INDEX=0 in the environment to skip it (every root of
 * the route is tried, as before): benchmarks and the equivalence test run
 * both.
 */
#include <hs.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

/* Atoms one rule's requirement may hold; past it (an OR of thousands of
 * hashes, say) the rule goes without a gate and is always tried. */
#define INDEX_MAX_ATOMS		4096
/* Rules sharing one equality past which it is kept as bitmaps. */
#define EQ_BITMAP_MIN		64
/* Condition nesting followed (deeper: no requirement). */
#define INDEX_MAX_DEPTH		64

enum { ATOM_EQ = 1, ATOM_LIT };

struct atom {
	int		 type;		/* ATOM_EQ, ATOM_LIT */
	int		 field;
	const char	*s;		/* borrowed from the leaf */
	size_t		 len;
	int		 caseless;	/* ATOM_LIT: any ASCII case */
};

struct req {
	struct atom	*a;
	size_t		 n, cap;
	double		 cost;		/* lower: holds less often */
};

/* One distinct atom: its frequency (build) or its rules (the EQ table). */
struct akey {
	uint32_t	 h;
	int		 type, field, caseless;
	char		*s;		/* owned; folded for ATOM_EQ */
	size_t		 len;
	uint32_t	 count;		/* rules naming it (build) */
	size_t		 last;		/* last rule counted, + 1 */
	uint32_t	*rules;		/* ATOM_EQ: gate codes, ascending */
	size_t		 nrules, rcap;
	uint64_t	*bm;		/* ATOM_EQ with many rules: the codes
					 * as two bitmaps (requirement 0,
					 * then 1), or NULL */
};

struct atab {
	struct akey	*k;
	size_t		 n;
	uint32_t	*slot;		/* open addressing: key index + 1 */
	size_t		 size;		/* power of two */
};

/* A field some rule's requirement names. */
struct ifield {
	int		 field;
	size_t		 eq_max;	/* longest EQ value (0: none) */
	int		 has_eq;
	hs_database_t	*db;		/* literals, ids = gate codes */
	/* build only: */
	const char	**ls;
	size_t		*ll;
	unsigned	*lid, *lfl;
	size_t		 nl, lcap;
};

/*
 * The gates of a rule: requirement 0 (the least likely to hold) and, when
 * its condition implies a second, requirement 1.  An atom of requirement k
 * of rule ri is entered under the code 2 * ri + k (the EQ table's rule
 * lists, the literal databases' ids).
 */
#define GATE_CODE(ri, k)	((uint32_t)(2 * (ri) + (k)))

struct ruleindex {
	struct atab	 eq;		/* ATOM_EQ atoms of the chosen
					 * requirements */
	struct ifield	*f;
	size_t		 nf;
	int		*fpos;		/* field id -> index into f, or -1 */
	size_t		 nfields;	/* of the rule set */
	size_t		 nwords;	/* bitmap words over rule indexes */
	uint64_t	*always;	/* roots without a requirement */
	uint64_t	*one;		/* roots gated on one requirement */
	uint64_t	*masks;		/* per route (routes, then any): its
					 * roots */
	uint64_t	*rfmask;	/* per route: bitmap over f of the
					 * fields its gated roots need */
	int		 twin[2];	/* the message and the raw line's
					 * field ids (-1: none) ... */
	hs_database_t	*twin_db;	/* ... the literals of both, for an
					 * event where they are one text */
	size_t		 fwords;	/* words of one such bitmap */
	size_t		 nroutes;
	size_t		 gated, ungated;	/* roots with / without */
};

struct ruleindex_scratch {
	hs_scratch_t	*hs;
	uint64_t	*cand;		/* requirement 0 held (or no gate) */
	uint64_t	*held1;		/* requirement 1 held */
	uint32_t	*list;
	size_t		 nwords;
};

static int
fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Hash of (type, field, bytes), folded when fold_it. */
static uint32_t
akey_hash(int type, int field, const char *s, size_t len, int fold_it,
    int caseless)
{
	uint32_t h = 2166136261u ^ (uint32_t)type ^
	    ((uint32_t)field * 0x9e3779b1u) ^ (uint32_t)(caseless << 7);

	for (size_t i = 0; i < len; i++) {
		h ^= (uint32_t)(fold_it ? fold((unsigned char)s[i]) :
		    (unsigned char)s[i]);
		h *= 16777619u;
	}
	return h;
}

static int
atab_grow(struct atab *t)
{
	size_t nsize = t->size ? t->size * 2 : 256;
	uint32_t *ns = calloc(nsize, sizeof(*ns));

	if (ns == NULL)
		return TS_ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t p = t->k[i].h & (nsize - 1);

		while (ns[p] != 0)
			p = (p + 1) & (nsize - 1);
		ns[p] = (uint32_t)i + 1;
	}
	free(t->slot);
	t->slot = ns;
	t->size = nsize;
	return 0;
}

/* The key of atom a in t, added when absent (add); NULL when absent and
 * not added, or out of memory (*oom). */
static struct akey *
atab_get(struct atab *t, const struct atom *a, int add, int *oom)
{
	int fo = a->type == ATOM_EQ;
	int cl = a->type == ATOM_LIT && a->caseless;
	uint32_t h = akey_hash(a->type, a->field, a->s, a->len, fo, cl);
	struct akey *k;
	size_t p;

	if (t->size != 0) {
		for (p = h & (t->size - 1); t->slot[p] != 0;
		    p = (p + 1) & (t->size - 1)) {
			k = &t->k[t->slot[p] - 1];
			if (k->h != h || k->type != a->type ||
			    k->field != a->field || k->caseless != cl ||
			    k->len != a->len)
				continue;
			if (fo) {
				size_t i = 0;

				while (i < a->len && fold((unsigned char)
				    a->s[i]) == (unsigned char)k->s[i])
					i++;
				if (i == a->len)
					return k;
			} else if (memcmp(k->s, a->s, a->len) == 0) {
				return k;
			}
		}
	}
	if (!add)
		return NULL;
	if ((t->n + 1) * 2 > t->size && atab_grow(t) != 0)
		goto oom;
	if ((t->n & (t->n - 1)) == 0 || t->n == 0) {
		/* capacity doubles at powers of two */
		struct akey *nk = realloc(t->k, (t->n ? t->n * 2 : 1) *
		    sizeof(*nk));

		if (nk == NULL)
			goto oom;
		t->k = nk;
	}
	k = &t->k[t->n];
	memset(k, 0, sizeof(*k));
	if ((k->s = malloc(a->len + 1)) == NULL)
		goto oom;
	for (size_t i = 0; i < a->len; i++)
		k->s[i] = fo ? (char)fold((unsigned char)a->s[i]) : a->s[i];
	k->s[a->len] = '\0';
	k->h = h;
	k->type = a->type;
	k->field = a->field;
	k->caseless = cl;
	k->len = a->len;
	for (p = h & (t->size - 1); t->slot[p] != 0; p = (p + 1) &
	    (t->size - 1))
		;
	t->slot[p] = (uint32_t)t->n + 1;
	t->n++;
	return k;
oom:
	*oom = 1;
	return NULL;
}

static void
atab_free(struct atab *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->k[i].s);
		free(t->k[i].rules);
		free(t->k[i].bm);
	}
	free(t->k);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ---- requirements ------------------------------------------------------- */

static int
req_push(struct req *r, const struct atom *a)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 4;
		struct atom *na = realloc(r->a, ncap * sizeof(*na));

		if (na == NULL)
			return TS_ENOMEM;
		r->a = na;
		r->cap = ncap;
	}
	r->a[r->n++] = *a;
	return 0;
}

static void
req_free(struct req *r)
{
	free(r->a);
	memset(r, 0, sizeof(*r));
}

/* Strings the build made (caseless regex literals), freed after it. */
struct owned {
	char	**v;
	size_t	  n;
};

/*
 * The literal a caseless regex needs (in any ASCII case): PCRE2_CASELESS
 * or a leading "(?i)", no other option that changes what a literal
 * means (UTF and UCP fold more than ASCII; extended ignores spaces), and
 * the required literal of the rest, all ASCII.  rx_match has no such
 * gate, so this one is the index's own.  0 with *s NULL when there is
 * none; -1 on ENOMEM.
 */
static int
rx_caseless_lit(const struct rx *rx, struct owned *own, const char **s,
    size_t *len)
{
	uint32_t opts = 0;
	const char *src = rx->src;
	int ci;
	char *lit = NULL, **nv;
	size_t ll = 0;

	*s = NULL;
	if (rx->code == NULL || src == NULL ||
	    pcre2_pattern_info(rx->code, PCRE2_INFO_ALLOPTIONS, &opts) != 0)
		return 0;
	ci = (opts & PCRE2_CASELESS) != 0;
	if (strncmp(src, "(?i)", 4) == 0) {
		src += 4;
		ci = 1;
	}
	if (!ci || (opts & ~(uint32_t)(PCRE2_CASELESS | PCRE2_MULTILINE |
	    PCRE2_DOTALL)) != 0)
		return 0;
	if (rules_extract_literal(src, &lit, &ll))
		return -1;
	if (lit == NULL)
		return 0;
	for (size_t i = 0; i < ll; i++)
		if ((unsigned char)lit[i] >= 0x80) {
			free(lit);
			return 0;
		}
	if ((nv = realloc(own->v, (own->n + 1) * sizeof(*nv))) == NULL) {
		free(lit);
		return -1;
	}
	own->v = nv;
	own->v[own->n++] = lit;
	*s = lit;
	*len = ll;
	return 0;
}

static void
owned_free(struct owned *own)
{
	for (size_t i = 0; i < own->n; i++)
		free(own->v[i]);
	free(own->v);
	memset(own, 0, sizeof(*own));
}

/* The atoms one leaf implies: 1 with out filled, 0 when none. */
static int
leaf_atoms(const struct leaf *lf, struct req *out, struct owned *own)
{
	struct atom a = { 0, lf->field, NULL, 0, lf->nocase };

	switch (lf->op) {
	case LEAF_EQUALS:
	case LEAF_CONTAINS:
	case LEAF_STARTSWITH:
	case LEAF_ENDSWITH:
		if (lf->nvals == 0)
			return 0;
		a.type = lf->op == LEAF_EQUALS ? ATOM_EQ : ATOM_LIT;
		for (size_t i = 0; i < lf->nvals; i++)
			if (a.type == ATOM_LIT && lf->lens[i] == 0)
				return 0;	/* contains "": always */
		for (size_t i = 0; i < lf->nvals; i++) {
			a.s = lf->vals[i];
			a.len = lf->lens[i];
			if (req_push(out, &a))
				return -1;
		}
		return 1;
	case LEAF_GLOB:
		if (lf->rx.lit == NULL || lf->rx.lit_len == 0)
			return 0;
		a.type = ATOM_LIT;
		a.s = lf->rx.lit;
		a.len = lf->rx.lit_len;
		return req_push(out, &a) ? -1 : 1;
	case LEAF_REGEX:
		/* the gate rx_match applies, case-sensitive as it is */
		a.type = ATOM_LIT;
		a.caseless = 0;
		if (lf->rx.pre != NULL && lf->rx.pre_len > 0) {
			a.s = lf->rx.pre;
			a.len = lf->rx.pre_len;
		} else if (lf->rx.lit != NULL && lf->rx.lit_len > 0) {
			a.s = lf->rx.lit;
			a.len = lf->rx.lit_len;
		} else {
			if (rx_caseless_lit(&lf->rx, own, &a.s, &a.len))
				return -1;
			if (a.s == NULL || a.len == 0)
				return 0;
			a.caseless = 1;
		}
		return req_push(out, &a) ? -1 : 1;
	default:
		return 0;
	}
}

/* Count every atom of c once for rule number ri (+ 1). */
static int
count_atoms(struct atab *t, const struct cond *c, size_t ri, int depth,
    struct owned *own)
{
	struct req r = { 0 };
	int oom = 0;

	if (c == NULL || depth > INDEX_MAX_DEPTH)
		return 0;
	if (c->kind != COND_LEAF) {
		for (size_t i = 0; i < c->nkids; i++)
			if (count_atoms(t, c->kids[i], ri, depth + 1, own))
				return TS_ENOMEM;
		return 0;
	}
	if (leaf_atoms(&c->leaf, &r, own) < 0) {
		req_free(&r);
		return TS_ENOMEM;
	}
	for (size_t i = 0; i < r.n && !oom; i++) {
		struct akey *k = atab_get(t, &r.a[i], 1, &oom);

		if (k != NULL && k->last != ri) {
			k->last = ri;
			k->count++;
		}
	}
	req_free(&r);
	return oom ? TS_ENOMEM : 0;
}

/*
 * How likely an atom is to hold, as a score (the sum over an OR's atoms
 * compares requirements; lower is better).  An equality is as common as
 * the rules that share it suggest (EventID 1 is named by every process
 * creation rule, and such events are common); a literal is rarer the
 * longer it is, and commoner the more rules name it.
 */
static double
atom_cost(const struct atab *freq, const struct atom *a)
{
	struct akey *k;
	int oom = 0;
	double n, base;

	k = atab_get((struct atab *)freq, a, 0, &oom);
	n = k != NULL ? (double)k->count : 1.0;
	if (a->type == ATOM_EQ)
		return n < 1 ? 0.02 : n / 50.0;
	base = a->len >= 6 ? 0.001 : a->len >= 4 ? 0.005 : a->len == 3 ?
	    0.03 : a->len == 2 ? 0.2 : 0.8;
	return base * (1.0 + n / 20.0);
}

/* Keep t among the two cheapest of best[0..*n) (sorted by cost); t is
 * taken over or freed. */
static void
req_keep(struct req best[2], int *n, struct req *t)
{
	if (*n < 2) {
		best[(*n)++] = *t;
	} else if (t->cost < best[1].cost) {
		req_free(&best[1]);
		best[1] = *t;
	} else {
		req_free(t);
		return;
	}
	if (*n == 2 && best[1].cost < best[0].cost) {
		struct req x = best[0];

		best[0] = best[1];
		best[1] = x;
	}
	memset(t, 0, sizeof(*t));
}

/*
 * The requirements c implies, at most two, the least likely first: out[0]
 * and out[1] filled (with their costs), the count returned (0: c implies
 * none), -1 on ENOMEM.  out[] starts empty.
 */
static int
cond_reqs(const struct atab *freq, const struct cond *c, struct req out[2],
    int depth, struct owned *own)
{
	if (c == NULL || depth > INDEX_MAX_DEPTH)
		return 0;
	switch (c->kind) {
	case COND_LEAF: {
		int rc = leaf_atoms(&c->leaf, &out[0], own);

		if (rc == 1) {
			out[0].cost = 0;
			for (size_t i = 0; i < out[0].n; i++)
				out[0].cost += atom_cost(freq, &out[0].a[i]);
		} else {
			req_free(&out[0]);
		}
		return rc;
	}
	case COND_AND: {
		/* each kid's requirements are the AND's: the two least
		 * likely of them all */
		int n = 0;

		for (size_t i = 0; i < c->nkids; i++) {
			struct req t[2] = { { 0 }, { 0 } };
			int rc = cond_reqs(freq, c->kids[i], t, depth + 1,
			    own);

			if (rc < 0) {
				req_free(&t[0]);
				req_free(&t[1]);
				for (int k = 0; k < n; k++)
					req_free(&out[k]);
				return -1;
			}
			for (int k = 0; k < rc; k++)
				req_keep(out, &n, &t[k]);
		}
		return n;
	}
	case COND_OR: {
		/* every branch must bring its own requirement; the second
		 * only when every branch brings a second */
		int n = 2;

		if (c->nkids == 0)
			return 0;
		for (size_t i = 0; i < c->nkids; i++) {
			struct req t[2] = { { 0 }, { 0 } };
			int rc = cond_reqs(freq, c->kids[i], t, depth + 1,
			    own);

			if (rc < 1 || out[0].n + t[0].n > INDEX_MAX_ATOMS) {
				req_free(&t[0]);
				req_free(&t[1]);
				req_free(&out[0]);
				req_free(&out[1]);
				return rc < 0 ? -1 : 0;
			}
			if (rc < 2 || out[1].n + t[1].n > INDEX_MAX_ATOMS)
				n = 1;
			for (int k = 0; k < n; k++) {
				for (size_t j = 0; j < t[k].n; j++)
					if (req_push(&out[k], &t[k].a[j])) {
						req_free(&t[0]);
						req_free(&t[1]);
						req_free(&out[0]);
						req_free(&out[1]);
						return -1;
					}
				out[k].cost += t[k].cost;
			}
			req_free(&t[0]);
			req_free(&t[1]);
		}
		if (n == 1) {
			req_free(&out[1]);
		} else if (out[1].cost < out[0].cost) {
			struct req x = out[0];

			out[0] = out[1];
			out[1] = x;
		}
		return n;
	}
	case COND_NOT:
		return 0;
	}
	return 0;
}

/* ---- build ---------------------------------------------------------------- */

static struct ifield *
ifield_of(struct ruleindex *ix, int field)
{
	if (ix->fpos[field] < 0) {
		struct ifield *nf = realloc(ix->f, (ix->nf + 1) * sizeof(*nf));

		if (nf == NULL)
			return NULL;
		ix->f = nf;
		memset(&ix->f[ix->nf], 0, sizeof(*ix->f));
		ix->f[ix->nf].field = field;
		ix->fpos[field] = (int)ix->nf++;
	}
	return &ix->f[ix->fpos[field]];
}

/* A literal of f with its gate code as the database id. */
static int
lit_push(struct ifield *f, const struct atom *a, uint32_t code)
{
	if (f->nl == f->lcap) {
		size_t ncap = f->lcap ? f->lcap * 2 : 16;
		const char **ns = realloc(f->ls, ncap * sizeof(*ns));
		size_t *nl;
		unsigned *ni, *nfl;

		if (ns == NULL)
			return TS_ENOMEM;
		f->ls = ns;
		if ((nl = realloc(f->ll, ncap * sizeof(*nl))) == NULL)
			return TS_ENOMEM;
		f->ll = nl;
		if ((ni = realloc(f->lid, ncap * sizeof(*ni))) == NULL)
			return TS_ENOMEM;
		f->lid = ni;
		if ((nfl = realloc(f->lfl, ncap * sizeof(*nfl))) == NULL)
			return TS_ENOMEM;
		f->lfl = nfl;
		f->lcap = ncap;
	}
	f->ls[f->nl] = a->s;
	f->ll[f->nl] = a->len;
	f->lid[f->nl] = code;
	f->lfl[f->nl] = HS_FLAG_SINGLEMATCH |
	    (a->caseless ? HS_FLAG_CASELESS : 0);
	f->nl++;
	return 0;
}

static void
ifield_build_free(struct ifield *f)
{
	free(f->ls);
	free(f->ll);
	free(f->lid);
	free(f->lfl);
	f->ls = NULL;
	f->ll = NULL;
	f->lid = NULL;
	f->lfl = NULL;
	f->nl = f->lcap = 0;
}

static void
bit_set(uint64_t *b, size_t i)
{
	b[i / 64] |= (uint64_t)1 << (i % 64);
}

/* ix->twin_db from the literals of the message and the raw line (both
 * have some, else none is made); one that does not compile is no twin.
 * 0 or TS_ENOMEM. */
static int
twin_build(struct ruleindex *ix)
{
	const struct ifield *a = &ix->f[ix->fpos[ix->twin[0]]];
	const struct ifield *b = &ix->f[ix->fpos[ix->twin[1]]];
	size_t n = a->nl + b->nl;
	const char **ls;
	size_t *ll;
	unsigned *lid, *lfl;
	hs_compile_error_t *cerr = NULL;
	int rc = TS_ENOMEM;

	if (a->nl == 0 || b->nl == 0 || n > UINT32_MAX)
		return 0;
	ls = malloc(n * sizeof(*ls));
	ll = malloc(n * sizeof(*ll));
	lid = malloc(n * sizeof(*lid));
	lfl = malloc(n * sizeof(*lfl));
	if (ls == NULL || ll == NULL || lid == NULL || lfl == NULL)
		goto out;
	memcpy(ls, a->ls, a->nl * sizeof(*ls));
	memcpy(ls + a->nl, b->ls, b->nl * sizeof(*ls));
	memcpy(ll, a->ll, a->nl * sizeof(*ll));
	memcpy(ll + a->nl, b->ll, b->nl * sizeof(*ll));
	memcpy(lid, a->lid, a->nl * sizeof(*lid));
	memcpy(lid + a->nl, b->lid, b->nl * sizeof(*lid));
	memcpy(lfl, a->lfl, a->nl * sizeof(*lfl));
	memcpy(lfl + a->nl, b->lfl, b->nl * sizeof(*lfl));
	if (hs_compile_lit_multi(ls, lfl, lid, ll, (unsigned)n, HS_MODE_BLOCK,
	    NULL, &ix->twin_db, &cerr) != HS_SUCCESS) {
		hs_free_compile_error(cerr);
		ix->twin_db = NULL;
	}
	rc = 0;
out:
	free(ls);
	free(ll);
	free(lid);
	free(lfl);
	return rc;
}

/* The fields each gated root needs, as (rule, index into ix->f) pairs
 * (build only): a route scans only the fields its own roots need. */
struct rfpairs {
	uint32_t	*v;		/* rule, field, rule, field, ... */
	size_t		 n, cap;	/* pairs */
};

static int
rfpairs_add(struct rfpairs *p, size_t ri, size_t fi)
{
	if (p->n > 0 && p->v[2 * p->n - 2] == (uint32_t)ri &&
	    p->v[2 * p->n - 1] == (uint32_t)fi)
		return 0;
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 256;
		uint32_t *nv = realloc(p->v, 2 * ncap * sizeof(*nv));

		if (nv == NULL)
			return TS_ENOMEM;
		p->v = nv;
		p->cap = ncap;
	}
	p->v[2 * p->n] = (uint32_t)ri;
	p->v[2 * p->n + 1] = (uint32_t)fi;
	p->n++;
	return 0;
}

/* Gate rule r (a root, index ri) on its requirement k, q. */
static int
gate_rule(struct ruleindex *ix, const struct req *q, size_t ri, int k,
    struct rfpairs *rfp)
{
	uint32_t code = GATE_CODE(ri, k);

	int oom = 0;

	for (size_t i = 0; i < q->n; i++) {
		const struct atom *a = &q->a[i];
		struct ifield *f = ifield_of(ix, a->field);

		if (f == NULL ||
		    rfpairs_add(rfp, ri, (size_t)ix->fpos[a->field]))
			return TS_ENOMEM;
		if (a->type == ATOM_LIT) {
			if (lit_push(f, a, code))
				return TS_ENOMEM;
			continue;
		}
		{
			struct akey *e = atab_get(&ix->eq, a, 1, &oom);

			if (e == NULL)
				return TS_ENOMEM;
			f->has_eq = 1;
			if (a->len > f->eq_max)
				f->eq_max = a->len;
			if (e->nrules > 0 && e->rules[e->nrules - 1] == code)
				continue;
			if (e->nrules == e->rcap) {
				size_t ncap = e->rcap ? e->rcap * 2 : 4;
				uint32_t *nr = realloc(e->rules, ncap *
				    sizeof(*nr));

				if (nr == NULL)
					return TS_ENOMEM;
				e->rules = nr;
				e->rcap = ncap;
			}
			e->rules[e->nrules++] = code;
		}
	}
	return 0;
}

static void
ix_free(struct ruleindex *ix)
{
	if (ix == NULL)
		return;
	atab_free(&ix->eq);
	hs_free_database(ix->twin_db);
	for (size_t i = 0; i < ix->nf; i++) {
		hs_free_database(ix->f[i].db);
		ifield_build_free(&ix->f[i]);
	}
	free(ix->f);
	free(ix->fpos);
	free(ix->always);
	free(ix->one);
	free(ix->masks);
	free(ix->rfmask);
	free(ix);
}

int
ruleindex_build(struct ruleset *rs)
{
	struct ruleindex *ix;
	struct atab freq = { 0 };
	struct owned own = { 0 };
	struct rfpairs rfp = { 0 };
	int rc = TS_ENOMEM;

	if (rs->nrules == 0 || rs->nrules > UINT32_MAX / 2 - 1)
		return 0;
	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return TS_ENOMEM;
	ix->nfields = rs->nfield_names;
	ix->nwords = (rs->nrules + 63) / 64;
	ix->nroutes = rs->nroutes + 1;
	if ((ix->fpos = malloc((ix->nfields + 1) * sizeof(*ix->fpos))) ==
	    NULL ||
	    (ix->always = calloc(ix->nwords, sizeof(uint64_t))) == NULL ||
	    (ix->one = calloc(ix->nwords, sizeof(uint64_t))) == NULL ||
	    (ix->masks = calloc(ix->nwords * ix->nroutes,
	    sizeof(uint64_t))) == NULL)
		goto out;
	for (size_t i = 0; i < ix->nfields; i++)
		ix->fpos[i] = -1;

	/* how many rules name each atom */
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i]->parent == NULL &&
		    count_atoms(&freq, rs->rules[i]->cond, i + 1, 0, &own))
			goto out;
	/* each root's requirement */
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = rs->rules[i];
		struct req q[2] = { { 0 }, { 0 } };
		int g;

		if (r->parent != NULL)
			continue;
		g = cond_reqs(&freq, r->cond, q, 0, &own);
		if (g < 0)
			goto out;
		if (g >= 1 && q[0].n > 0 && q[0].n <= INDEX_MAX_ATOMS) {
			if (gate_rule(ix, &q[0], i, 0, &rfp) ||
			    (g == 2 && q[1].n > 0 && q[1].n <= INDEX_MAX_ATOMS &&
			    gate_rule(ix, &q[1], i, 1, &rfp))) {
				req_free(&q[0]);
				req_free(&q[1]);
				goto out;
			}
			if (!(g == 2 && q[1].n > 0 && q[1].n <= INDEX_MAX_ATOMS))
				bit_set(ix->one, i);
			ix->gated++;
		} else {
			bit_set(ix->always, i);
			ix->ungated++;
		}
		req_free(&q[0]);
		req_free(&q[1]);
	}
	/* the message and the raw line are the same bytes when the line has
	 * no header (an agent's Event XML): then one scan for the literals
	 * of both (no database: each is scanned on its own) */
	ix->twin[0] = FIELD_MESSAGE;
	ix->twin[1] = ruleset_field_lookup(rs, FIELD_RAW_NAME,
	    sizeof(FIELD_RAW_NAME) - 1);
	if (ix->twin[1] >= 0 && (size_t)ix->twin[1] < ix->nfields &&
	    ix->fpos[FIELD_MESSAGE] >= 0 && ix->fpos[ix->twin[1]] >= 0 &&
	    twin_build(ix) != 0)
		goto out;
	/* one literal database per field */
	for (size_t i = 0; i < ix->nf; i++) {
		struct ifield *f = &ix->f[i];
		hs_compile_error_t *cerr = NULL;

		if (f->nl == 0)
			continue;
		if (f->nl > UINT32_MAX ||
		    hs_compile_lit_multi(f->ls, f->lfl, f->lid, f->ll,
		    (unsigned)f->nl, HS_MODE_BLOCK, NULL, &f->db, &cerr) !=
		    HS_SUCCESS) {
			/* cannot compile: its rules are always tried */
			hs_free_compile_error(cerr);
			f->db = NULL;
			for (size_t k = 0; k < f->nl; k++)
				bit_set(ix->always, f->lid[k] / 2);
		}
		ifield_build_free(f);
	}
	/* an equality many rules share (EventID 1) sets its bits a word at
	 * a time */
	for (size_t i = 0; i < ix->eq.n; i++) {
		struct akey *k = &ix->eq.k[i];

		if (k->nrules < EQ_BITMAP_MIN)
			continue;
		if ((k->bm = calloc(2 * ix->nwords, sizeof(uint64_t))) == NULL)
			goto out;
		for (size_t j = 0; j < k->nrules; j++)
			bit_set(k->bm + (k->rules[j] & 1) * ix->nwords,
			    k->rules[j] / 2);
	}
	/* the roots of each route */
	for (size_t ri = 0; ri < ix->nroutes; ri++) {
		const struct route *rt = ri < rs->nroutes ? &rs->routes[ri] :
		    &rs->any;
		uint64_t *m = &ix->masks[ri * ix->nwords];

		for (size_t k = 0; k < rt->nroots; k++)
			bit_set(m, rt->roots[k]->idx);
	}
	/* the fields each route's gated roots need */
	ix->fwords = ix->nf / 64 + 1;
	if ((ix->rfmask = calloc(ix->nroutes * ix->fwords,
	    sizeof(uint64_t))) == NULL)
		goto out;
	for (size_t ri = 0; ri < ix->nroutes; ri++) {
		const uint64_t *m = &ix->masks[ri * ix->nwords];

		for (size_t k = 0; k < rfp.n; k++) {
			uint32_t r = rfp.v[2 * k], fi = rfp.v[2 * k + 1];

			if ((m[r / 64] >> (r % 64) & 1) != 0)
				bit_set(&ix->rfmask[ri * ix->fwords], fi);
		}
	}
	rs->index = ix;
	ix = NULL;
	rc = 0;
out:
	free(rfp.v);
	atab_free(&freq);
	owned_free(&own);
	ix_free(ix);
	return rc;
}

void
ruleindex_free(struct ruleset *rs)
{
	ix_free(rs->index);
	rs->index = NULL;
}

void
ruleindex_stats(const struct ruleset *rs, size_t *gated, size_t *ungated)
{
	*gated = rs->index != NULL ? rs->index->gated : 0;
	*ungated = rs->index != NULL ? rs->index->ungated : 0;
}

/* ---- per event ------------------------------------------------------------ */

int
ruleindex_scratch_new(const struct ruleset *rs,
    struct ruleindex_scratch **out)
{
	const struct ruleindex *ix = rs->index;
	struct ruleindex_scratch *ps;

	*out = NULL;
	if (ix == NULL)
		return 0;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return TS_ENOMEM;
	ps->nwords = ix->nwords;
	if ((ps->cand = calloc(ix->nwords, sizeof(uint64_t))) == NULL ||
	    (ps->held1 = calloc(ix->nwords, sizeof(uint64_t))) == NULL ||
	    (ps->list = calloc(rs->nrules, sizeof(uint32_t))) == NULL)
		goto fail;
	for (size_t i = 0; i < ix->nf; i++)
		if (ix->f[i].db != NULL &&
		    hs_alloc_scratch(ix->f[i].db, &ps->hs) != HS_SUCCESS)
			goto fail;
	if (ix->twin_db != NULL &&
	    hs_alloc_scratch(ix->twin_db, &ps->hs) != HS_SUCCESS)
		goto fail;
	*out = ps;
	return 0;
fail:
	ruleindex_scratch_free(&ps);
	return TS_ENOMEM;
}

void
ruleindex_scratch_free(struct ruleindex_scratch **psp)
{
	struct ruleindex_scratch *ps;

	if (psp == NULL || (ps = *psp) == NULL)
		return;
	hs_free_scratch(ps->hs);
	free(ps->cand);
	free(ps->held1);
	free(ps->list);
	free(ps);
	*psp = NULL;
}

/* Requirement (code & 1) of rule (code / 2) held. */
static void
gate_held(struct ruleindex_scratch *ps, uint32_t code)
{
	bit_set((code & 1) ? ps->held1 : ps->cand, code / 2);
}

static int
on_lit_cb(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *arg)
{
	(void)from;
	(void)to;
	(void)flags;
	gate_held(arg, id);
	return 0;
}

/* The EQ key equal to (field, v, len) after folding, or NULL. */
static const struct akey *
eq_find(const struct atab *t, int field, const char *v, size_t len)
{
	uint32_t h = akey_hash(ATOM_EQ, field, v, len, 1, 0);

	for (size_t p = h & (t->size - 1); t->slot[p] != 0;
	    p = (p + 1) & (t->size - 1)) {
		const struct akey *k = &t->k[t->slot[p] - 1];
		size_t i = 0;

		if (k->h != h || k->field != field || k->len != len)
			continue;
		while (i < len && fold((unsigned char)v[i]) ==
		    (unsigned char)k->s[i])
			i++;
		if (i == len)
			return k;
	}
	return NULL;
}

size_t
ruleindex_candidates(struct ruleindex_scratch *ps, const struct ruleset *rs,
    const struct route *rt, const uint32_t *ids, size_t nids,
    ruleindex_get_fn get, void *arg, const uint32_t **out)
{
	const struct ruleindex *ix = rs->index;
	size_t ri = rt == &rs->any ? rs->nroutes :
	    (size_t)(rt - rs->routes), n = 0;
	const uint64_t *m = &ix->masks[ri * ix->nwords];
	const uint64_t *fm = &ix->rfmask[ri * ix->fwords];
	int twin = 0, failed = 0;

	memset(ps->cand, 0, ix->nwords * sizeof(uint64_t));
	memset(ps->held1, 0, ix->nwords * sizeof(uint64_t));
	if (ix->twin_db != NULL) {
		int f0 = ix->fpos[ix->twin[0]], f1 = ix->fpos[ix->twin[1]];
		const char *v0, *v1;
		size_t l0, l1;

		if ((fm[f0 / 64] >> (f0 % 64) & 1) != 0 &&
		    (fm[f1 / 64] >> (f1 % 64) & 1) != 0 &&
		    (v0 = get(arg, ix->twin[0], &l0)) != NULL &&
		    (v1 = get(arg, ix->twin[1], &l1)) != NULL &&
		    v0 == v1 && l0 == l1 && l0 <= UINT32_MAX) {
			twin = 1;
			failed = hs_scan(ix->twin_db, l0 ? v0 : "",
			    (unsigned)l0, 0, ps->hs, on_lit_cb, ps) !=
			    HS_SUCCESS;
		}
	}
	for (size_t i = 0; i < nids && !failed; i++) {
		const struct ifield *f;
		size_t len;
		const char *v;
		int fi;

		if (ids[i] >= ix->nfields || (fi = ix->fpos[ids[i]]) < 0 ||
		    (fm[fi / 64] >> (fi % 64) & 1) == 0)
			continue;
		f = &ix->f[fi];
		if ((v = get(arg, f->field, &len)) == NULL)
			continue;
		if (f->has_eq && len <= f->eq_max) {
			const struct akey *k = eq_find(&ix->eq, f->field, v,
			    len);

			if (k != NULL && k->bm != NULL) {
				for (size_t w = 0; w < ix->nwords; w++) {
					ps->cand[w] |= k->bm[w];
					ps->held1[w] |= k->bm[ix->nwords + w];
				}
			} else {
				for (size_t j = 0; k != NULL && j < k->nrules;
				    j++)
					gate_held(ps, k->rules[j]);
			}
		}
		if (twin && (f->field == ix->twin[0] ||
		    f->field == ix->twin[1]))
			continue;	/* scanned above */
		failed = f->db != NULL && (len > UINT32_MAX ||
		    hs_scan(f->db, len ? v : "", (unsigned)len, 0, ps->hs,
		    on_lit_cb, ps) != HS_SUCCESS);
	}
	if (failed) {
		/* cannot scan: every root is a candidate */
		memset(ps->cand, 0xff, ix->nwords * sizeof(uint64_t));
		memset(ps->held1, 0xff, ix->nwords * sizeof(uint64_t));
	}
	/* a candidate: no gate, or both gates held (the second of a rule
	 * with one gate holds by itself) */
	for (size_t w = 0; w < ix->nwords; w++) {
		uint64_t b = (ix->always[w] | (ps->cand[w] &
		    (ps->held1[w] | ix->one[w]))) & m[w];

		while (b != 0) {
			ps->list[n++] = (uint32_t)(w * 64 +
			    (size_t)__builtin_ctzll(b));
			b &= b - 1;
		}
	}
	*out = ps->list;
	return n;
}
