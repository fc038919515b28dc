/*
 * util.c - shared pieces of the Sigma compiler: diagnostics (an error
 * refuses the set, a rule this engine cannot run is a warning), YAML
 * lookups over the layered documents, string lists, field ids and the
 * condition tree builders every part uses.
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

/* ---- diagnostics ----------------------------------------------------------- */

void
sigma_diag(struct sc *S, const char *file, int line, int col, int warning,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (rules_diags_vadd(S->dl, file, line, col, warning, fmt, ap) != 0)
		S->oom = 1;
	va_end(ap);
}

/* The first problem of a rule, at `at` (may be NULL); later ones are not
 * reported (the first one decides what happens to the rule). */
static void
sigma_report(struct sc *S, const yt_node *at, int warning, const char *prefix,
    const char *fmt, va_list ap)
{
	char buf[768];

	if (S->bad)
		return;
	S->bad = 1;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	sigma_diag(S, S->file, at ? at->line : 0, at ? at->col : 0, warning,
	    "%s%s", prefix, buf);
}

/* The rule uses something this engine does not run: not loaded (warning,
 * the rest of the set loads). */
void
sigma_unsup(struct sc *S, const yt_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sigma_report(S, at, 1, "Sigma rule not loaded: ", fmt, ap);
	va_end(ap);
}

/* The rule is not valid Sigma: an error (the set is refused). */
void
sigma_bad(struct sc *S, const yt_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sigma_report(S, at, 0, "Sigma: ", fmt, ap);
	va_end(ap);
}

/* ---- small helpers ---------------------------------------------------------- */

const yt_node *
sigma_mget(const yt_node *map, const char *key)
{
	return yt_map_get(map, key);
}

/* Value of key in the first layer that has it. */
const yt_node *
sigma_lget(struct sc *S, const char *key)
{
	for (size_t i = 0; i < S->nlayers; i++) {
		const yt_node *v = sigma_mget(S->layers[i], key);

		if (v != NULL)
			return v;
	}
	return NULL;
}

int
sigma_is_scalar(const yt_node *n)
{
	return n != NULL && n->kind == YT_SCALAR && !yt_is_null(n);
}

void
sigma_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

int
sigma_strv_push(char ***v, size_t *n, const char *s, size_t len)
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

char *
sigma_strdup(struct sc *S, const char *s)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		S->oom = 1;
	return d;
}

/* Id of a field name, added to the table if new; -1 on ENOMEM. */
int
sigma_field_id(struct sc *S, const char *name, size_t len)
{
	int id = rules_field_id(S->rs, name, len, S->fcap);

	if (id < 0) {
		S->oom = 1;
		return -1;
	}
	return id;
}

/* ---- conditions ------------------------------------------------------------- */

void
sigma_cond_free(struct cond *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nkids; i++)
		sigma_cond_free(c->kids[i]);
	free(c->kids);
	sigma_strv_free(c->leaf.vals, c->leaf.nvals);
	free(c->leaf.lens);
	pcre2_code_free(c->leaf.rx.code);
	free(c->leaf.rx.src);
	free(c->leaf.rx.lit);
	free(c->leaf.rx.pre);
	free(c->leaf.cidrs);
	free(c);
}

struct cond *
sigma_cond_new(struct sc *S, enum cond_kind kind)
{
	struct cond *c = calloc(1, sizeof(*c));

	if (c == NULL)
		S->oom = 1;
	else
		c->kind = kind;
	return c;
}

/* Add kid to parent (kid NULL: nothing).  On failure frees kid. */
int
sigma_cond_add(struct sc *S, struct cond *parent, struct cond *kid)
{
	struct cond **nk;

	if (kid == NULL)
		return -1;
	if ((nk = realloc(parent->kids, (parent->nkids + 1) *
	    sizeof(*nk))) == NULL) {
		S->oom = 1;
		sigma_cond_free(kid);
		return -1;
	}
	parent->kids = nk;
	parent->kids[parent->nkids++] = kid;
	return 0;
}

struct cond *
sigma_cond_not(struct sc *S, struct cond *c)
{
	struct cond *n;

	if (c == NULL)
		return NULL;
	if ((n = sigma_cond_new(S, COND_NOT)) == NULL) {
		sigma_cond_free(c);
		return NULL;
	}
	if (sigma_cond_add(S, n, c)) {
		sigma_cond_free(n);
		return NULL;
	}
	return n;
}

/* A single-kid AND/OR becomes its kid. */
struct cond *
sigma_cond_flatten(struct cond *c)
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

struct cond *
sigma_leaf_new(struct sc *S, int field, enum leaf_op op, int nocase)
{
	struct cond *c = sigma_cond_new(S, COND_LEAF);

	if (c != NULL) {
		c->leaf.field = field;
		c->leaf.op = op;
		c->leaf.nocase = nocase;
	}
	return c;
}

int
sigma_leaf_addval(struct sc *S, struct leaf *lf, const char *v, size_t n)
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
