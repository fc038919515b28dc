/*
 * correlation.c - Sigma correlation rules (event_count, value_count,
 * temporal, temporal_ordered) compiled onto the native correlation rules of
 * rules/correlate.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/util.h"
#include "rules/correlate.h"
#include "rules/sigma/sigma_int.h"

/* ---- correlation rules ------------------------------------------------------ */

/* Record a loaded rule (id copied) for the correlations' references. */
void
sigma_ref_push(struct sc *S, const yt_node *root, const char *id,
    const struct lsmap *ls)
{
	struct sref *nr = realloc(S->refs, (S->nrefs + 1) * sizeof(*nr));
	const yt_node *nm = sigma_mget(root, "name");

	if (nr == NULL) {
		S->oom = 1;
		return;
	}
	S->refs = nr;
	nr[S->nrefs].name = sigma_is_scalar(nm) && nm->len > 0 ? nm->str : NULL;
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
		const yt_node *n = sigma_mget(S->pend[i].root, "name");
		const yt_node *d = sigma_mget(S->pend[i].root, "id");

		if ((sigma_is_scalar(n) && strcmp(n->str, s) == 0) ||
		    (sigma_is_scalar(d) && strcmp(d->str, s) == 0))
			return 1;
	}
	return 0;
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
	const yt_node *al = sigma_mget(aliases, g);
	const char *name = g;
	const struct lsmap *ls = ref->ls;
	char *out;

	if (al != NULL) {
		const yt_node *f;

		if (al->kind != YT_MAP) {
			sigma_bad(S, al,
			    "alias '%s' must map rule names to field "
			    "names", g);
			return NULL;
		}
		f = ref->name != NULL ? sigma_mget(al, ref->name) : NULL;
		if (!sigma_is_scalar(f) || f->len == 0) {
			sigma_bad(S, al,
			    "alias '%s' names no field for rule '%s' "
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
	if (!name_valid_str(NAME_FIELD, out)) {
		sigma_unsup(S, at,
		    "field '%s' (%s for rule '%s') is not a name the "
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
			sigma_unsup(S, at,
			    "field '%s' is '%s' in the events of rule "
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

	if (!sigma_is_scalar(v) || v->len < 2)
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
 * rule (caller frees with corr_rule_free), or NULL with the reason reported.
 */
struct corr_rule *
sigma_corr_compile(struct sc *S, const yt_node *root, const char *defid)
{
	struct corr_rule *r;
	const yt_node *c = sigma_mget(root, "correlation"), *v, *t, *rl, *gb,
	    *cn;
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
	r->file = sigma_strdup(S, S->file);
	if (!sigma_is_scalar(v = sigma_mget(root, "title"))) {
		sigma_bad(S, v ? v : root,
		    "a Sigma rule needs a title (a string)");
		goto fail;
	}
	r->title = sigma_strdup(S, v->str);
	r->id = sigma_strdup(S, sigma_is_scalar(v = sigma_mget(root,
	    "id")) ? v->str : defid);
	if (sigma_is_scalar(v = sigma_mget(root, "description")))
		r->description = sigma_strdup(S, v->str);
	if (sigma_is_scalar(v = sigma_mget(root, "author")))
		r->author = sigma_strdup(S, v->str);
	if (sigma_level_parse(S, sigma_mget(root, "level"), &r->info.level) != 0)
		goto fail;
	if ((v = sigma_mget(root, "tags")) != NULL && v->kind == YT_SEQ)
		for (size_t i = 0; i < v->n; i++) {
			char *tg, **nm;

			if (!sigma_is_scalar(v->items[i]) ||
			    (tg = sigma_attack_id(v->items[i]->str)) == NULL)
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
	if (sigma_strv_push(&r->groups, &r->info.ngroups, "sigma", 5) ||
	    S->oom) {
		S->oom = 1;
		goto fail;
	}
	if (c->kind != YT_MAP) {
		sigma_bad(S, c, "correlation must be a mapping (type:, rules:, "
		    "group-by:, timespan:, condition:)");
		goto fail;
	}
	for (size_t i = 0; i < c->n; i++) {
		size_t k;

		for (k = 0; scorr_keys[k] != NULL; k++)
			if (strcmp(c->keys[i]->str, scorr_keys[k]) == 0)
				break;
		if (scorr_keys[k] == NULL) {
			sigma_bad(S, c->keys[i], "unknown key '%s' in a Sigma "
			    "correlation", c->keys[i]->str);
			goto fail;
		}
	}
	if (!sigma_is_scalar(t = sigma_mget(c, "type"))) {
		sigma_bad(S, t ? t : c, "a Sigma correlation needs a type");
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
		sigma_unsup(S, t, "correlation type %s is not supported",
		    t->str);
		goto fail;
	} else {
		sigma_bad(S, t,
		    "correlation type must be event_count, value_count, "
		    "temporal or temporal_ordered");
		goto fail;
	}
	if ((v = sigma_mget(c, "generate")) != NULL && (!sigma_is_scalar(v) ||
	    (strcmp(v->str, "true") && strcmp(v->str, "false")))) {
		sigma_bad(S, v, "generate must be true or false");
		goto fail;
	}
	/* Sigma: without generate: true the referenced rules only feed the
	 * correlation and raise no alerts of their own. */
	r->generate = v != NULL && strcmp(v->str, "true") == 0;

	/* rules: each a loaded Sigma rule, by name or id */
	if ((rl = sigma_mget(c, "rules")) == NULL || (rl->kind == YT_SEQ &&
	    rl->n == 0) || rl->kind == YT_MAP) {
		sigma_bad(S, rl ? rl : c,
		    "a Sigma correlation needs rules: (names "
		    "or ids of Sigma rules)");
		goto fail;
	}
	nlisted = rl->kind == YT_SEQ ? rl->n : 1;
	if (nlisted > (type >= 3 ? MAX_CORR_STEPS : 64)) {
		sigma_unsup(S, rl, "more than %d rules in one correlation",
		    type >= 3 ? MAX_CORR_STEPS : 64);
		goto fail;
	}
	if (type >= 3 && nlisted < 2) {
		sigma_bad(S, rl, "temporal_ordered needs at least 2 rules");
		goto fail;
	}

	if ((v = sigma_mget(c, "timespan")) == NULL ||
	    scorr_timespan(v, &r->timeframe_us) != 0) {
		sigma_bad(S, v ? v : c,
		    "timespan must be a number and s, m, h or d "
		    "(at most 7d)");
		goto fail;
	}
	if (r->timeframe_us > MAX_CORR_TIMEFRAME_US) {
		sigma_unsup(S, v, "timespan longer than 7d");
		goto fail;
	}
	r->suppress_us = r->timeframe_us;

	/* condition: gte N / gt N (the engine fires when a count is reached) */
	cn = sigma_mget(c, "condition");
	if (cn != NULL && cn->kind != YT_MAP) {
		sigma_bad(S, cn, "condition must be a mapping (gte: N, ...)");
		goto fail;
	}
	if (cn == NULL && type < 3) {
		sigma_bad(S, c, "%s needs a condition (gte: N)", t->str);
		goto fail;
	}
	for (size_t i = 0; cn != NULL && i < cn->n; i++) {
		const char *k = cn->keys[i]->str;
		const yt_node *x = cn->items[i];
		uint64_t n;

		if (!strcmp(k, "field")) {
			if (type != 2) {
				sigma_bad(S, cn->keys[i],
				    "condition field: is for "
				    "value_count");
				goto fail;
			}
			continue;
		}
		if (strcmp(k, "gt") && strcmp(k, "gte") && strcmp(k, "lt") &&
		    strcmp(k, "lte") && strcmp(k, "eq") && strcmp(k, "neq")) {
			sigma_bad(S, cn->keys[i],
			    "unknown condition '%s' (gt, gte, "
			    "lt, lte, eq, neq, field)", k);
			goto fail;
		}
		if (!sigma_is_scalar(x) || parse_u64(x->str, x->len, UINT64_MAX,
		    &n) != 0) {
			sigma_bad(S, x, "condition %s needs a whole number", k);
			goto fail;
		}
		if (strcmp(k, "gt") && strcmp(k, "gte") && !(type >= 3 &&
		    !strcmp(k, "eq"))) {
			sigma_unsup(S, cn->keys[i],
			    "condition %s is not supported: "
			    "the correlation engine fires as soon as a count "
			    "is reached within the timespan and never "
			    "evaluates a window at its end (only gt and gte)",
			    k);
			goto fail;
		}
		if (cnt != 0) {
			sigma_unsup(S, cn->keys[i],
			    "a count range is not supported "
			    "(one gt or gte)");
			goto fail;
		}
		if (!strcmp(k, "gt"))
			n++;
		cnt = n > 0 ? n : 1;
		if (type >= 3 && cnt != nlisted) {
			sigma_unsup(S, x,
			    "temporal_ordered with a condition other "
			    "than every rule (%zu) is not supported", nlisted);
			goto fail;
		}
	}
	if (type < 3 && cnt == 0) {
		sigma_bad(S, cn, "condition needs gte: N or gt: N");
		goto fail;
	}
	if (type < 3 && cnt > MAX_CORR_COUNT) {
		sigma_unsup(S, cn, "a count above %d is not supported",
		    MAX_CORR_COUNT);
		goto fail;
	}

	for (size_t i = 0; i < nlisted; i++) {
		const yt_node *x = rl->kind == YT_SEQ ? rl->items[i] : rl;

		if (!sigma_is_scalar(x) || x->len == 0) {
			sigma_bad(S, x, "rules: lists names or ids");
			goto fail;
		}
		if ((refs[nrefs] = sref_find(S, x->str)) == NULL) {
			if (spend_names(S, x->str))
				sigma_unsup(S, x, "rule '%s' is a correlation: "
				    "chained correlations are not supported",
				    x->str);
			else
				sigma_unsup(S, x,
				    "rule '%s' is not a loaded Sigma "
				    "rule (no rule has that name or id, or it "
				    "was not loaded)", x->str);
			goto fail;
		}
		nrefs++;
	}

	/* group-by, through aliases and each rule's log source */
	al = sigma_mget(c, "aliases");
	if (al != NULL && al->kind != YT_MAP) {
		sigma_bad(S, al, "aliases must be a mapping");
		goto fail;
	}
	if ((gb = sigma_mget(c, "group-by")) != NULL) {
		size_t n = gb->kind == YT_SEQ ? gb->n : 1;

		if (gb->kind == YT_MAP) {
			sigma_bad(S, gb,
			    "group-by must be a list of field names");
			goto fail;
		}
		if (n > MAX_CORR_SAME) {
			sigma_unsup(S, gb, "more than %d group-by fields",
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

			if (!sigma_is_scalar(x) || x->len == 0) {
				sigma_bad(S, x, "group-by lists field names");
				goto fail;
			}
			if ((r->same[i] = scorr_field(S, x, al, x->str, refs,
			    nrefs)) == NULL)
				goto fail;
			r->nsame++;
		}
	}
	if (type == 2) {
		const yt_node *f = sigma_mget(cn, "field");

		if (f != NULL && f->kind == YT_SEQ && f->n == 1)
			f = f->items[0];
		if (f == NULL || (f->kind == YT_SEQ && f->n == 0)) {
			sigma_bad(S, cn,
			    "value_count needs condition field: FIELD");
			goto fail;
		}
		if (!sigma_is_scalar(f) || f->len == 0) {
			sigma_unsup(S, f,
			    "value_count over several fields is not "
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
		if (sigma_strv_push(&st->rules, &st->nrules, refs[i]->id,
		    strlen(refs[i]->id))) {
			S->oom = 1;
			goto fail;
		}
	}
	r->count = type >= 3 ? (uint32_t)nrefs : (uint32_t)cnt;
	if (S->oom || S->bad)
		goto fail;
	for (size_t i = 0; i < S->npend && S->pend[i].root != root; i++) {
		const yt_node *d = sigma_mget(S->pend[i].root, "id");

		if (strcmp(sigma_is_scalar(d) ? d->str : S->pend[i].defid,
		    r->id) == 0) {
			sigma_bad(S, root, "duplicate correlation id '%s'",
			    r->id);
			goto fail;
		}
	}
	for (size_t i = 0; i < S->rs->nrules; i++)
		if (strcmp(S->rs->rules[i]->info.id, r->id) == 0) {
			sigma_bad(S, root,
			    "correlation id '%s' is also a rule's id",
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
	corr_rule_free(r);
	return NULL;
}
