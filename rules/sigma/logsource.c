/*
 * logsource.c - Sigma log sources: the mapping from a rule's logsource
 * (product, category, service) onto programs, decoded field names and
 * conditions. The built-in mapping is rules/sigma/logsources.yml, embedded
 * at build time (build/gen/sigma_logsources.c); sigma_logsources: documents
 * in the rule paths add or replace entries.
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

/* ---- log source mapping ------------------------------------------------- */

void
sigma_lsmap_clear(struct lsmap *m)
{
	free(m->product);
	free(m->category);
	free(m->service);
	sigma_strv_free(m->programs, m->nprograms);
	sigma_strv_free(m->fsrc, m->nfields);
	sigma_strv_free(m->fdst, m->nfields);
	free(m->prefix);
	sigma_strv_free(m->cfield, m->nconds);
	sigma_strv_free(m->cval, m->nconds);
	sigma_strv_free(m->produces, m->nproduces);
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
	"program", "fields", "prefix", "conditions", "produces", NULL };

/*
 * Read an entry's produces: (a list of field names and names of the
 * sigma_fieldsets: of the same document, which stand for their fields)
 * into m.  0, or -1 (reported, or S->oom).
 */
static int
produces_load(struct sc *S, const char *file, const yt_node *sets,
    const yt_node *v, struct lsmap *m)
{
	if (v->kind != YT_SEQ) {
		sigma_diag(S, file, v->line, v->col, 0,
		    "produces must be a list of field names");
		return -1;
	}
	m->has_produces = 1;
	for (size_t j = 0; j < v->n; j++) {
		const yt_node *it = v->items[j], *set;

		if (!sigma_is_scalar(it)) {
			sigma_diag(S, file, it->line, it->col, 0,
			    "produces: field names are strings");
			return -1;
		}
		if ((set = sigma_mget(sets, it->str)) == NULL) {
			if (sigma_strv_push(&m->produces, &m->nproduces,
			    it->str, it->len))
				goto oom;
			continue;
		}
		for (size_t q = 0; q < set->n; q++)
			if (sigma_strv_push(&m->produces, &m->nproduces,
			    set->items[q]->str, set->items[q]->len))
				goto oom;
	}
	return 0;
oom:
	S->oom = 1;
	return -1;
}

/* Check sigma_fieldsets: (name: list of field names); 0 or -1. */
static int
fieldsets_check(struct sc *S, const char *file, const yt_node *sets)
{
	if (sets == NULL)
		return 0;
	if (sets->kind != YT_MAP) {
		sigma_diag(S, file, sets->line, sets->col, 0,
		    "sigma_fieldsets must be a mapping of names to lists of "
		    "field names");
		return -1;
	}
	for (size_t i = 0; i < sets->n; i++) {
		const yt_node *l = sets->items[i];

		if (l->kind != YT_SEQ) {
			sigma_diag(S, file, l->line, l->col, 0,
			    "field set %s must be a list of field names",
			    sets->keys[i]->str);
			return -1;
		}
		for (size_t j = 0; j < l->n; j++)
			if (!sigma_is_scalar(l->items[j])) {
				sigma_diag(S, file, l->items[j]->line,
				    l->items[j]->col, 0, "field set %s: "
				    "field names are strings",
				    sets->keys[i]->str);
				return -1;
			}
	}
	return 0;
}

/* Read one sigma_logsources: document (file for diagnostics). */
void
sigma_lsmap_load(struct sc *S, const char *file, const yt_node *root)
{
	const yt_node *list = sigma_mget(root, "sigma_logsources");
	const yt_node *sets = sigma_mget(root, "sigma_fieldsets");
	char err[512];

	S->file = file;
	S->bad = 0;
	if (yt_check_keys(root, (const char *const[]){ "sigma_logsources",
	    "sigma_fieldsets", NULL }, file, "log source mapping", err,
	    sizeof(err)) != 0) {
		sigma_diag(S, file, root->line, root->col, 0, "%s", err);
		return;
	}
	if (fieldsets_check(S, file, sets) != 0)
		return;
	if (list == NULL || list->kind != YT_SEQ) {
		sigma_diag(S, file, root->line, root->col, 0,
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
			sigma_diag(S, file, e->line, e->col, 0, "%s",
			    e->kind != YT_MAP ? "a log source is a mapping" :
			    err);
			continue;
		}
#define STRKEY(k, dst) do {						\
		if ((v = sigma_mget(e, k)) != NULL) {		\
			if (!sigma_is_scalar(v)) {			\
				sigma_diag(S, file, v->line, v->col, 0,	\
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
		if ((v = sigma_mget(e, "program")) != NULL) {
			const yt_node *one = v;

			for (size_t j = 0; j < (v->kind == YT_SEQ ? v->n : 1);
			    j++) {
				one = v->kind == YT_SEQ ? v->items[j] : v;
				if (!sigma_is_scalar(one)) {
					sigma_diag(S, file, one->line, one->col,
					    0,
					    "program must be a string or a "
					    "list of strings");
					fail = 1;
					break;
				}
				if (sigma_strv_push(&m.programs, &m.nprograms,
				    one->str, one->len))
					S->oom = 1;
			}
		}
		for (int pass = 0; pass < 2; pass++) {
			const char *key = pass ? "conditions" : "fields";
			char ***src = pass ? &m.cfield : &m.fsrc;
			char ***dst = pass ? &m.cval : &m.fdst;
			size_t *cnt = pass ? &m.nconds : &m.nfields;

			if ((v = sigma_mget(e, key)) == NULL)
				continue;
			if (v->kind != YT_MAP) {
				sigma_diag(S, file, v->line, v->col, 0,
				    "%s must be a mapping", key);
				fail = 1;
				continue;
			}
			for (size_t j = 0; j < v->n && !S->oom; j++) {
				const yt_node *it = v->items[j];
				/* conditions: a list is any of its values,
				 * kept as one pair per value */
				size_t nv = pass && it->kind == YT_SEQ ?
				    it->n : 1;

				if (nv == 0 || (!sigma_is_scalar(it) &&
				    !(pass && it->kind == YT_SEQ))) {
					sigma_diag(S, file, it->line, it->col,
					    0, "%s values are strings%s", key,
					    pass ? " (or lists of strings)" :
					    "");
					fail = 1;
					continue;
				}
				for (size_t q = 0; q < nv; q++) {
					const yt_node *one = it->kind ==
					    YT_SEQ ? it->items[q] : it;
					size_t n0 = *cnt;

					if (!sigma_is_scalar(one)) {
						sigma_diag(S, file, one->line,
						    one->col, 0, "%s values "
						    "are strings", key);
						fail = 1;
						break;
					}
					if (sigma_strv_push(src, cnt,
					    v->keys[j]->str,
					    v->keys[j]->len)) {
						S->oom = 1;
						break;
					}
					*cnt = n0;
					if (sigma_strv_push(dst, cnt, one->str,
					    one->len)) {
						S->oom = 1;
						*cnt = n0;
						break;
					}
				}
			}
		}
		if ((v = sigma_mget(e, "produces")) != NULL &&
		    produces_load(S, file, sets, v, &m) != 0)
			fail = 1;
		if (m.product == NULL && m.category == NULL &&
		    m.service == NULL) {
			sigma_diag(S, file, e->line, e->col, 0, "a log source "
			    "names a product, category or service");
			fail = 1;
		}
		if (fail || S->oom) {
			sigma_lsmap_clear(&m);
			continue;
		}
		for (k = 0; k < S->nmaps; k++)
			if (opt_eq(S->maps[k].product, m.product) &&
			    opt_eq(S->maps[k].category, m.category) &&
			    opt_eq(S->maps[k].service, m.service))
				break;
		if (k < S->nmaps) {
			sigma_lsmap_clear(&S->maps[k]);
			S->maps[k] = m;
		} else {
			struct lsmap *nm = realloc(S->maps, (S->nmaps + 1) *
			    sizeof(*nm));

			if (nm == NULL) {
				S->oom = 1;
				sigma_lsmap_clear(&m);
				break;
			}
			S->maps = nm;
			S->maps[S->nmaps++] = m;
		}
	}
}

int
sigma_decoder_for(const struct decoder *d, char *const *progs, size_t np)
{
	if (d->nprograms == 0 || np == 0)
		return 1;
	for (size_t i = 0; i < np; i++)
		for (size_t k = 0; k < d->nprograms; k++)
			if (strcmp(d->programs[k], progs[i]) == 0)
				return 1;
	return 0;
}

int
sigma_decoder_makes(const struct decoder *d, int field)
{
	if (d->type != DEC_REGEX)
		return 1;	/* JSON / CEF: names come from the data */
	for (size_t i = 0; i < d->naliases; i++)
		if (d->aliases[i].dst == field)
			return 1;
	for (uint32_t g = 1; d->group_field != NULL && g <= d->ngroups; g++)
		if (d->group_field[g] == field)
			return 1;
	for (size_t i = 0; i < d->nxforms; i++)
		if (d->xforms[i].dst == field)
			return 1;
	for (size_t i = 0; i < d->nset; i++)
		if (d->set_field[i] == field)
			return 1;
	return 0;
}

/* The logsource of the rule (merged over the layers) and its mapping. */
const struct lsmap *
sigma_logsource_find(struct sc *S, const yt_node *at, char *desc, size_t dlen,
    int quiet)
{
	const char *want[3] = { NULL, NULL, NULL };
	static const char *const keys[3] = { "product", "category",
	    "service" };
	size_t off = 0;

	for (int k = 0; k < 3; k++) {
		for (size_t l = 0; l < S->nlayers && want[k] == NULL; l++) {
			const yt_node *ls = sigma_mget(S->layers[l],
			    "logsource");
			const yt_node *v = sigma_mget(ls, keys[k]);

			if (v != NULL && sigma_is_scalar(v))
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
	sigma_unsup(S, at,
	    "log source %s is not in the Sigma log source mapping "
	    "(add it under sigma_logsources:)", desc);
	return NULL;
}
