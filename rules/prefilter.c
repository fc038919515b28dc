/*
 * prefilter.c - the multi-pattern prefilter in front of PCRE2: per route,
 * one Vectorscan (Hyperscan) literal database over the literals that each
 * decoder and root rule needs in the message, scanned once per event; a
 * rule none of whose literals occurs cannot match and is not tried.
 *
 * A literal is only ever taken where the matcher itself would refuse the
 * item without it (the regex gate of struct rx, a contains / equals /
 * startswith / endswith on the message, or the longest literal run of a
 * Sigma glob on the message), so results are identical with and without
 * the prefilter; items with no such literal are always tried (the slow
 * path).  Literals of ASCII case-insensitive tests are compiled with
 * HS_FLAG_CASELESS, which folds ASCII letters only, as the tests do.  Routes with few gated items keep the
 * per-item gates, which are cheaper there than a scan.
 */
#include <hs.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

/* A route gets a database only with at least this many gated items. */
#define PREFILTER_MIN_ITEMS	8

struct prefilter {
	hs_database_t	*db;
	unsigned char	*always;	/* per slot: 1 = no literal, try it */
	uint32_t	*always_list;	/* those slots, ascending */
	size_t		 nalways;
	size_t		 nslots;
};

struct prefilter_scratch {
	hs_scratch_t	*hs;
	uint32_t	*mark;		/* slot matched iff mark == gen */
	uint32_t	*hit;		/* slots whose literal occurred */
	size_t		 nhit;
	uint32_t	*merged;	/* hit + always, ascending */
	size_t		 nmark;
	uint32_t	 gen;
};

/* A set of literals, one of which every match contains (caseless[i]:
 * in any ASCII case). */
struct lits {
	const char	**s;
	size_t		 *len;
	unsigned char	 *caseless;
	size_t		  n, cap;
};

static int
lits_push(struct lits *l, const char *s, size_t len, int caseless)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		const char **ns = realloc(l->s, ncap * sizeof(*ns));
		size_t *nl;
		unsigned char *nc;

		if (ns == NULL)
			return TS_ENOMEM;
		l->s = ns;
		if ((nl = realloc(l->len, ncap * sizeof(*nl))) == NULL)
			return TS_ENOMEM;
		l->len = nl;
		if ((nc = realloc(l->caseless, ncap * sizeof(*nc))) == NULL)
			return TS_ENOMEM;
		l->caseless = nc;
		l->cap = ncap;
	}
	l->s[l->n] = s;
	l->len[l->n] = len;
	l->caseless[l->n] = caseless != 0;
	l->n++;
	return 0;
}

static void
lits_free(struct lits *l)
{
	free(l->s);
	free(l->len);
	free(l->caseless);
	memset(l, 0, sizeof(*l));
}

static size_t
lits_min(const struct lits *l)
{
	size_t m = SIZE_MAX;

	for (size_t i = 0; i < l->n; i++)
		if (l->len[i] < m)
			m = l->len[i];
	return m;
}

/* The literal the regex gate of rx demands (as rx_match checks it). */
static int
rx_lit(const struct rx *rx, struct lits *out)
{
	if (rx->pre != NULL && rx->pre_len > 0)
		return lits_push(out, rx->pre, rx->pre_len, 0) ? -1 : 1;
	if (rx->lit != NULL && rx->lit_len > 0)
		return lits_push(out, rx->lit, rx->lit_len, 0) ? -1 : 1;
	return 0;
}

/*
 * The literals one of which the message must contain for c to hold: 1 with
 * out filled, 0 when there is no such requirement, -1 on ENOMEM.
 */
static int
cond_lits(const struct cond *c, struct lits *out, int depth, int raw)
{
	if (c == NULL || depth > MAX_RULE_DEPTH * 4)
		return 0;
	switch (c->kind) {
	case COND_LEAF: {
		const struct leaf *lf = &c->leaf;

		/* the scan is over the raw line, of which the message is a
		 * part: a literal of either field must occur in it */
		if (lf->field != FIELD_MESSAGE && (raw < 0 || lf->field != raw))
			return 0;
		if (lf->op == LEAF_REGEX)
			return rx_lit(&lf->rx, out);
		/* a Sigma glob holds only if its longest literal run occurs
		 * (in any ASCII case if nocase) */
		if (lf->op == LEAF_GLOB)
			return lf->rx.lit == NULL || lf->rx.lit_len == 0 ? 0 :
			    lits_push(out, lf->rx.lit, lf->rx.lit_len,
			    lf->nocase) ? -1 : 1;
		if ((lf->op == LEAF_EQUALS || lf->op == LEAF_CONTAINS ||
		    lf->op == LEAF_STARTSWITH || lf->op == LEAF_ENDSWITH) &&
		    lf->nvals > 0) {
			for (size_t i = 0; i < lf->nvals; i++)
				if (lf->lens[i] == 0)
					return 0;
			for (size_t i = 0; i < lf->nvals; i++)
				if (lits_push(out, lf->vals[i], lf->lens[i],
				    lf->nocase))
					return -1;
			return 1;
		}
		return 0;
	}
	case COND_AND: {
		/* any one kid's requirement will do: take the one whose
		 * shortest literal is longest */
		struct lits best = { 0 };
		size_t bestmin = 0;
		int found = 0;

		for (size_t i = 0; i < c->nkids; i++) {
			struct lits t = { 0 };
			int rc = cond_lits(c->kids[i], &t, depth + 1, raw);

			if (rc < 0) {
				lits_free(&t);
				lits_free(&best);
				return -1;
			}
			if (rc == 1 && (!found || lits_min(&t) > bestmin)) {
				lits_free(&best);
				best = t;
				bestmin = lits_min(&t);
				found = 1;
			} else {
				lits_free(&t);
			}
		}
		if (found)
			for (size_t i = 0; i < best.n; i++)
				if (lits_push(out, best.s[i], best.len[i],
				    best.caseless[i])) {
					lits_free(&best);
					return -1;
				}
		lits_free(&best);
		return found;
	}
	case COND_OR:
		/* every branch must bring its own requirement */
		if (c->nkids == 0)
			return 0;
		for (size_t i = 0; i < c->nkids; i++) {
			int rc = cond_lits(c->kids[i], out, depth + 1, raw);

			if (rc != 1)
				return rc;
		}
		return 1;
	case COND_NOT:
		return 0;
	}
	return 0;
}

static void
pf_free(struct prefilter *pf)
{
	if (pf == NULL)
		return;
	hs_free_database(pf->db);
	free(pf->always);
	free(pf->always_list);
	free(pf);
}

/* Build the database of one route (none when it would not pay).  0 or
 * TS_ENOMEM / TS_EINVAL (a compile error: the caller keeps the slow path). */
static int
route_build(const struct ruleset *rs, struct route *rt, int raw)
{
	/* with the rule index, the roots are its business */
	size_t nslots = rt->ndecoders + rt->nignores +
	    (rs->index != NULL ? 0 : rt->nroots), gated = 0;
	struct lits all = { 0 };
	unsigned *ids = NULL, *flags = NULL;
	struct prefilter *pf = NULL;
	hs_compile_error_t *cerr = NULL;
	int rc = TS_ENOMEM;

	if (nslots == 0 || nslots > UINT32_MAX)
		return 0;
	if ((pf = calloc(1, sizeof(*pf))) == NULL ||
	    (pf->always = calloc(nslots, 1)) == NULL)
		goto out;
	pf->nslots = nslots;
	for (size_t s = 0; s < nslots; s++) {
		size_t before = all.n;
		int r;

		if (s < rt->ndecoders) {
			const struct decoder *d = rt->decoders[s];

			r = d->type == DEC_REGEX ? rx_lit(&d->rx, &all) : 0;
		} else if (s < rt->ndecoders + rt->nignores) {
			r = cond_lits(rt->ignores[s - rt->ndecoders]->cond,
			    &all, 0, raw);
		} else {
			r = cond_lits(rt->roots[s - rt->ndecoders -
			    rt->nignores]->cond, &all, 0, raw);
		}
		if (r < 0)
			goto out;
		if (r == 0) {
			all.n = before;		/* drop a partial OR */
			pf->always[s] = 1;
			continue;
		}
		gated++;
		/* remember the slot of the new literals in ids (below) */
		{
			unsigned *ni = realloc(ids, all.n * sizeof(*ni));

			if (ni == NULL)
				goto out;
			ids = ni;
			for (size_t k = before; k < all.n; k++)
				ids[k] = (unsigned)s;
		}
	}
	if (gated < PREFILTER_MIN_ITEMS || all.n > UINT32_MAX) {
		rc = 0;
		goto out;
	}
	if ((pf->always_list = malloc((nslots - gated + 1) *
	    sizeof(uint32_t))) == NULL)
		goto out;
	for (size_t sl = 0; sl < nslots; sl++)
		if (pf->always[sl])
			pf->always_list[pf->nalways++] = (uint32_t)sl;
	if ((flags = malloc(all.n * sizeof(*flags))) == NULL)
		goto out;
	for (size_t k = 0; k < all.n; k++)
		flags[k] = HS_FLAG_SINGLEMATCH |
		    (all.caseless[k] ? HS_FLAG_CASELESS : 0);
	if (hs_compile_lit_multi(all.s, flags, ids, all.len, (unsigned)all.n,
	    HS_MODE_BLOCK, NULL, &pf->db, &cerr) != HS_SUCCESS) {
		hs_free_compile_error(cerr);
		pf->db = NULL;
		rc = TS_EINVAL;
		goto out;
	}
	rt->pf = pf;
	pf = NULL;
	rc = 0;
out:
	pf_free(pf);
	free(ids);
	free(flags);
	lits_free(&all);
	return rc;
}

int
prefilter_build(struct ruleset *rs)
{
	int rc, raw = ruleset_field_lookup(rs, FIELD_RAW_NAME,
	    sizeof(FIELD_RAW_NAME) - 1);

	for (size_t i = 0; i <= rs->nroutes; i++) {
		struct route *rt = i < rs->nroutes ? &rs->routes[i] : &rs->any;

		rc = route_build(rs, rt, raw);
		if (rc == TS_ENOMEM)
			return rc;
		/* a compile error leaves the route on the slow path */
	}
	return 0;
}

void
prefilter_free(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->nroutes; i++) {
		pf_free(rs->routes[i].pf);
		rs->routes[i].pf = NULL;
	}
	pf_free(rs->any.pf);
	rs->any.pf = NULL;
}

int
prefilter_scratch_new(const struct ruleset *rs,
    struct prefilter_scratch **out)
{
	struct prefilter_scratch *ps;
	size_t nmark = 1;

	*out = NULL;
	if ((ps = calloc(1, sizeof(*ps))) == NULL)
		return TS_ENOMEM;
	for (size_t i = 0; i <= rs->nroutes; i++) {
		const struct route *rt = i < rs->nroutes ? &rs->routes[i] :
		    &rs->any;

		if (rt->pf == NULL)
			continue;
		if (rt->pf->nslots > nmark)
			nmark = rt->pf->nslots;
		if (hs_alloc_scratch(rt->pf->db, &ps->hs) != HS_SUCCESS) {
			prefilter_scratch_free(&ps);
			return TS_ENOMEM;
		}
	}
	if ((ps->mark = calloc(nmark, sizeof(*ps->mark))) == NULL ||
	    (ps->hit = calloc(nmark, sizeof(*ps->hit))) == NULL ||
	    (ps->merged = calloc(nmark, sizeof(*ps->merged))) == NULL) {
		prefilter_scratch_free(&ps);
		return TS_ENOMEM;
	}
	ps->nmark = nmark;
	*out = ps;
	return 0;
}

void
prefilter_scratch_free(struct prefilter_scratch **psp)
{
	struct prefilter_scratch *ps;

	if (psp == NULL || (ps = *psp) == NULL)
		return;
	hs_free_scratch(ps->hs);
	free(ps->mark);
	free(ps->hit);
	free(ps->merged);
	free(ps);
	*psp = NULL;
}

static int
on_match(unsigned int id, unsigned long long from, unsigned long long to,
    unsigned int flags, void *arg)
{
	struct prefilter_scratch *ps = arg;

	(void)from;
	(void)to;
	(void)flags;
	if (id < ps->nmark && ps->mark[id] != ps->gen) {
		ps->mark[id] = ps->gen;
		ps->hit[ps->nhit++] = id;
	}
	return 0;
}

int
prefilter_scan(struct prefilter_scratch *ps, const struct route *rt,
    const char *msg, size_t len)
{
	if (rt->pf == NULL || ps == NULL)
		return 0;
	if (++ps->gen == 0) {
		memset(ps->mark, 0, ps->nmark * sizeof(*ps->mark));
		ps->gen = 1;
	}
	ps->nhit = 0;
	if (len > UINT32_MAX ||
	    hs_scan(rt->pf->db, len ? msg : "", (unsigned)len, 0, ps->hs,
	    on_match, ps) != HS_SUCCESS) {
		/* cannot scan: every slot is a candidate */
		return TS_EINVAL;
	}
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

size_t
prefilter_candidates(struct prefilter_scratch *ps, const struct route *rt,
    const uint32_t **slots)
{
	const struct prefilter *pf = rt->pf;
	size_t i = 0, j = 0, n = 0;

	/* few hits as a rule: insertion sort; many: qsort */
	if (ps->nhit > 32) {
		qsort(ps->hit, ps->nhit, sizeof(*ps->hit), u32_cmp);
	} else {
		for (size_t a = 1; a < ps->nhit; a++) {
			uint32_t v = ps->hit[a];
			size_t b = a;

			for (; b > 0 && ps->hit[b - 1] > v; b--)
				ps->hit[b] = ps->hit[b - 1];
			ps->hit[b] = v;
		}
	}
	/* merge: the two lists are disjoint (a slot is gated or always) */
	while (i < ps->nhit || j < pf->nalways) {
		if (j >= pf->nalways || (i < ps->nhit &&
		    ps->hit[i] < pf->always_list[j]))
			ps->merged[n++] = ps->hit[i++];
		else
			ps->merged[n++] = pf->always_list[j++];
	}
	*slots = ps->merged;
	return n;
}
