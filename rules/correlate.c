/*
 * correlate.c - the `correlation:` key of the rule language: parse and
 * check correlation rules (errors at file:line:col), and compile them for
 * the engine (engine/correlate.c evaluates them).
 *
 *   - id: corr.ssh_brute_force
 *     title: SSH brute force
 *     level: 10
 *     mitre: [T1110.001]
 *     correlation:
 *       type: threshold          # threshold | distinct | sequence
 *       groups: [authentication_failed]   # and/or rules: [ids]
 *       count: 8
 *       timeframe: 2m
 *       same: [srcip]
 *       suppress: 10m            # default: the timeframe; 0: never
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/names.h"
#include "rules/rules_int.h"
#include "common/util.h"
#include "common/yamltree.h"
#include "rules/correlate.h"

struct corr_set {
	struct corr_rule	**rules;
	size_t			  n, cap;
	uint64_t		  serial;	/* corr_set_serial */
};

struct cparse {
	struct rules_diags	*dl;
	const char		*file;
	int			 oom;
};

static void cdiag(struct cparse *, const yt_node *, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* Append one diagnostic at node n (errors counted). */
static void
cdiag(struct cparse *P, const yt_node *n, int warning, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (rules_diags_vadd(P->dl, P->file, n != NULL ? n->line : 0,
	    n != NULL ? n->col : 0, warning, fmt, ap) != 0)
		P->oom = 1;
	va_end(ap);
}

static const yt_node *
cmap_get(const yt_node *map, const char *key, const yt_node **keynode)
{
	for (size_t i = 0; map != NULL && map->kind == YT_MAP && i < map->n;
	    i++)
		if (strcmp(map->keys[i]->str, key) == 0) {
			if (keynode != NULL)
				*keynode = map->keys[i];
			return map->items[i];
		}
	return NULL;
}

static void
ccheck_keys(struct cparse *P, const yt_node *map, const char *const *known,
    const char *what)
{
	for (size_t i = 0; i < map->n; i++) {
		size_t k;

		for (k = 0; known[k] != NULL; k++)
			if (strcmp(map->keys[i]->str, known[k]) == 0)
				break;
		if (known[k] == NULL) {
			char esc[128];

			escape_text(map->keys[i]->str, map->keys[i]->len, esc,
			    sizeof(esc));
			cdiag(P, map->keys[i], 0, "unknown key '%s' in %s",
			    esc, what);
		}
	}
}

static char *
cget_str(struct cparse *P, const yt_node *n, const char *what)
{
	char *s;

	if (n->kind != YT_SCALAR) {
		cdiag(P, n, 0, "%s must be a string", what);
		return NULL;
	}
	if (n->len == 0 || yt_is_null(n) || memchr(n->str, 0, n->len)) {
		cdiag(P, n, 0, "%s must be a non-empty string", what);
		return NULL;
	}
	if ((s = strdup(n->str)) == NULL)
		P->oom = 1;
	return s;
}

static void
cstrv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* A string or a non-empty list of strings. */
static int
cget_strv(struct cparse *P, const yt_node *n, const char *what, char ***out,
    size_t *nout, size_t max)
{
	size_t	 cnt = n->kind == YT_SEQ ? n->n : 1;
	char	**v;

	*out = NULL;
	*nout = 0;
	if (n->kind == YT_MAP || (n->kind == YT_SEQ && n->n == 0)) {
		cdiag(P, n, 0, "%s must be a string or a non-empty list of "
		    "strings", what);
		return -1;
	}
	if (cnt > max) {
		cdiag(P, n, 0, "%s has more than %zu entries", what, max);
		return -1;
	}
	if ((v = calloc(cnt, sizeof(*v))) == NULL) {
		P->oom = 1;
		return -1;
	}
	for (size_t i = 0; i < cnt; i++)
		if ((v[i] = cget_str(P, n->kind == YT_SEQ ? n->items[i] : n,
		    what)) == NULL) {
			cstrv_free(v, cnt);
			return -1;
		}
	*out = v;
	*nout = cnt;
	return 0;
}

static int
cget_count(struct cparse *P, const yt_node *n, uint32_t *out)
{
	uint64_t v;

	if (n->kind != YT_SCALAR || parse_u64(n->str, n->len, UINT64_MAX,
	    &v) != 0 || v < 1 || v > MAX_CORR_COUNT) {
		cdiag(P, n, 0, "count must be a number from 1 to %d",
		    MAX_CORR_COUNT);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
cget_duration(struct cparse *P, const yt_node *n, const char *what,
    int zero_ok, uint64_t *out)
{
	char	buf[64];

	if (n->kind != YT_SCALAR || n->len == 0 || n->len >= sizeof(buf)) {
		cdiag(P, n, 0, "%s must be a duration like 2m, 1h, 30s", what);
		return -1;
	}
	memcpy(buf, n->str, n->len);
	buf[n->len] = '\0';
	if (strcmp(buf, "0") == 0)
		*out = 0;
	else if (parse_duration(buf, out) != 0) {
		cdiag(P, n, 0, "%s must be a duration like 2m, 1h, 30s", what);
		return -1;
	}
	if ((*out == 0 && !zero_ok) || *out > MAX_CORR_TIMEFRAME_US) {
		cdiag(P, n, 0, "%s must be more than 0 and at most 7d", what);
		return -1;
	}
	return 0;
}

static void
step_free(struct corr_step *st)
{
	cstrv_free(st->rules, st->nrules);
	cstrv_free(st->groups, st->ngroups);
}

void
corr_rule_free(struct corr_rule *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->title);
	free(r->description);
	free(r->author);
	free(r->file);
	cstrv_free(r->mitre, r->info.nmitre);
	cstrv_free(r->groups, r->info.ngroups);
	for (size_t i = 0; i < r->nsteps; i++)
		step_free(&r->steps[i]);
	free(r->steps);
	cstrv_free(r->same, r->nsame);
	free(r->distinct);
	free(r);
}

static const char *const step_keys[] = { "rules", "groups", "count", NULL };

/* rules: / groups: of map n into st; at least one of them. */
static void
parse_step(struct cparse *P, const yt_node *n, struct corr_step *st,
    int with_count)
{
	const yt_node *v;

	st->count = 1;
	if ((v = cmap_get(n, "rules", NULL)) != NULL &&
	    cget_strv(P, v, "rules", &st->rules, &st->nrules, 1000) == 0) {
		for (size_t i = 0; i < st->nrules; i++)
			if (!name_valid_str(NAME_RULE_ID, st->rules[i]))
				cdiag(P, v, 0, "bad rule id '%s'",
				    st->rules[i]);
	}
	if ((v = cmap_get(n, "groups", NULL)) != NULL)
		(void)cget_strv(P, v, "groups", &st->groups, &st->ngroups,
		    1000);
	if (cmap_get(n, "rules", NULL) == NULL &&
	    cmap_get(n, "groups", NULL) == NULL)
		cdiag(P, n, 0, "say which rules count: rules: [ids] and/or "
		    "groups: [names]");
	if (with_count && (v = cmap_get(n, "count", NULL)) != NULL)
		(void)cget_count(P, v, &st->count);
}

static const char *const corr_keys[] = { "type", "rules", "groups", "count",
	"timeframe", "same", "distinct", "sequence", "suppress", "generate",
	NULL };
static const char *const crule_keys[] = { "id", "title", "level",
	"description", "author", "mitre", "groups", "correlation", NULL };

/*
 * Parse one rule mapping n with a correlation: key.  *out gets the rule
 * when it has no error (errors go to P->dl).
 */
static void
corr_parse(struct cparse *P, const yt_node *n, struct corr_rule **out)
{
	struct corr_rule	*r;
	const yt_node		*c, *v, *tn;
	uint64_t		 lvl;
	size_t			 errors0 = P->dl->errors;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		P->oom = 1;
		return;
	}
	r->info.line = n->line;
	if ((r->file = strdup(P->file)) == NULL) {
		P->oom = 1;
		goto fail;
	}
	ccheck_keys(P, n, crule_keys, "correlation rule");
	if ((v = cmap_get(n, "id", NULL)) == NULL)
		cdiag(P, n, 0, "rule without an id");
	else if ((r->id = cget_str(P, v, "id")) != NULL &&
	    !name_valid_str(NAME_RULE_ID, r->id))
		cdiag(P, v, 0, "bad rule id (1 to %d letters, digits, '.', "
		    "'_', '-')", MAX_RULE_ID_BYTES);
	if ((v = cmap_get(n, "title", NULL)) == NULL)
		cdiag(P, n, 0, "rule without a title");
	else
		r->title = cget_str(P, v, "title");
	if ((v = cmap_get(n, "level", NULL)) == NULL)
		cdiag(P, n, 0, "rule without a level");
	else if (v->kind != YT_SCALAR || parse_u64(v->str, v->len, 15,
	    &lvl) != 0 || lvl == 0)
		cdiag(P, v, 0, "level of a correlation rule must be a number "
		    "from 1 to 15");
	else
		r->info.level = (int)lvl;
	if ((v = cmap_get(n, "description", NULL)) != NULL)
		r->description = cget_str(P, v, "description");
	if ((v = cmap_get(n, "author", NULL)) != NULL)
		r->author = cget_str(P, v, "author");
	if ((v = cmap_get(n, "mitre", NULL)) != NULL &&
	    cget_strv(P, v, "mitre", &r->mitre, &r->info.nmitre, 100) == 0)
		for (size_t i = 0; i < r->info.nmitre; i++)
			if (!name_valid_str(NAME_MITRE, r->mitre[i]))
				cdiag(P, v, 0, "bad MITRE ATT&CK id '%s' (want "
				    "T1110 or T1110.001)", r->mitre[i]);
	if ((v = cmap_get(n, "groups", NULL)) != NULL)
		(void)cget_strv(P, v, "groups", &r->groups, &r->info.ngroups,
		    100);

	c = cmap_get(n, "correlation", NULL);
	if (c->kind != YT_MAP) {
		cdiag(P, c, 0, "correlation must be a mapping (type:, count:, "
		    "timeframe:, ...)");
		goto fail;
	}
	ccheck_keys(P, c, corr_keys, "correlation");
	if ((tn = cmap_get(c, "type", NULL)) == NULL) {
		cdiag(P, c, 0, "correlation without a type (threshold, "
		    "distinct, sequence or all)");
		goto fail;
	}
	r->generate = 1;	/* the rules counted alert too, unless
				 * generate: false */
	if (tn->kind == YT_SCALAR && strcmp(tn->str, "threshold") == 0)
		r->type = CORR_THRESHOLD;
	else if (tn->kind == YT_SCALAR && strcmp(tn->str, "distinct") == 0)
		r->type = CORR_DISTINCT;
	else if (tn->kind == YT_SCALAR && strcmp(tn->str, "sequence") == 0)
		r->type = CORR_SEQUENCE;
	else if (tn->kind == YT_SCALAR && strcmp(tn->str, "all") == 0)
		r->type = CORR_ALL;	/* the steps in any order */
	else {
		cdiag(P, tn, 0, "type must be threshold, distinct, "
		    "sequence or all");
		goto fail;
	}
	if ((v = cmap_get(c, "timeframe", NULL)) == NULL)
		cdiag(P, c, 0, "correlation without a timeframe (e.g. 2m)");
	else
		(void)cget_duration(P, v, "timeframe", 0, &r->timeframe_us);
	r->suppress_us = r->timeframe_us;
	if ((v = cmap_get(c, "suppress", NULL)) != NULL)
		(void)cget_duration(P, v, "suppress", 1, &r->suppress_us);
	/* generate: false: the rules it counts raise no alert of their own
	 * (single 404s feeding a 404-burst rule) */
	if ((v = cmap_get(c, "generate", NULL)) != NULL) {
		if (v->kind == YT_SCALAR && strcmp(v->str, "false") == 0)
			r->generate = 0;
		else if (!(v->kind == YT_SCALAR && strcmp(v->str, "true") == 0))
			cdiag(P, v, 0, "generate must be true or false");
	}
	if ((v = cmap_get(c, "same", NULL)) != NULL &&
	    cget_strv(P, v, "same", &r->same, &r->nsame, MAX_CORR_SAME) == 0)
		for (size_t i = 0; i < r->nsame; i++)
			if (!name_valid_str(NAME_FIELD, r->same[i]))
				cdiag(P, v, 0, "bad field name '%s'",
				    r->same[i]);

	if (r->type == CORR_SEQUENCE || r->type == CORR_ALL) {
		const yt_node *seq = cmap_get(c, "sequence", NULL);

		if ((v = cmap_get(c, "rules", &tn)) != NULL ||
		    (v = cmap_get(c, "groups", &tn)) != NULL)
			cdiag(P, tn, 0, "a sequence names its rules in its "
			    "steps (sequence: [{groups: [..]}, ...])");
		if ((v = cmap_get(c, "count", &tn)) != NULL)
			cdiag(P, tn, 0, "a sequence has a count per step");
		if (seq == NULL || seq->kind != YT_SEQ || seq->n < 2 ||
		    seq->n > MAX_CORR_STEPS) {
			cdiag(P, seq != NULL ? seq : c, 0, "sequence must be a "
			    "list of 2 to %d steps ({rules: [..], groups: "
			    "[..], count: N})", MAX_CORR_STEPS);
			goto fail;
		}
		if ((r->steps = calloc(seq->n, sizeof(*r->steps))) == NULL) {
			P->oom = 1;
			goto fail;
		}
		r->nsteps = seq->n;
		for (size_t i = 0; i < seq->n; i++) {
			const yt_node *s = seq->items[i];

			if (s->kind != YT_MAP) {
				cdiag(P, s, 0, "a sequence step is a mapping "
				    "({groups: [..], count: N})");
				continue;
			}
			ccheck_keys(P, s, step_keys, "sequence step");
			parse_step(P, s, &r->steps[i], 1);
			r->count += r->steps[i].count;
		}
		if (r->count > MAX_CORR_COUNT)
			cdiag(P, seq, 0, "the steps count more than %d events",
			    MAX_CORR_COUNT);
		if ((v = cmap_get(c, "distinct", &tn)) != NULL)
			cdiag(P, tn, 0, "distinct: is for type distinct");
	} else {
		if ((v = cmap_get(c, "sequence", &tn)) != NULL)
			cdiag(P, tn, 0, "sequence: is for types sequence "
			    "and all");
		if ((r->steps = calloc(1, sizeof(*r->steps))) == NULL) {
			P->oom = 1;
			goto fail;
		}
		r->nsteps = 1;
		parse_step(P, c, &r->steps[0], 0);
		if ((v = cmap_get(c, "count", NULL)) == NULL)
			cdiag(P, c, 0, "correlation without a count");
		else
			(void)cget_count(P, v, &r->count);
		v = cmap_get(c, "distinct", &tn);
		if (r->type == CORR_DISTINCT) {
			if (v == NULL)
				cdiag(P, c, 0, "type distinct needs distinct: "
				    "FIELD (the field whose values count)");
			else if ((r->distinct = cget_str(P, v, "distinct")) !=
			    NULL && !name_valid_str(NAME_FIELD, r->distinct))
				cdiag(P, v, 0, "bad field name '%s'",
				    r->distinct);
		} else if (v != NULL)
			cdiag(P, tn, 0, "distinct: is for type distinct");
	}
	if (P->oom || P->dl->errors != errors0)
		goto fail;
	r->info.id = r->id;
	r->info.title = r->title;
	r->info.description = r->description;
	r->info.author = r->author;
	r->info.mitre = (const char *const *)r->mitre;
	r->info.groups = (const char *const *)r->groups;
	r->info.file = r->file;
	*out = r;
	return;
fail:
	corr_rule_free(r);
}

/* ---- compiling into a set -------------------------------------------------- */

/* Does rs define rule id / use group g? */
static int
rs_has_rule(const struct ruleset *rs, const char *id)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i]->info.id, id) == 0)
			return 1;
	return 0;
}

static int
rs_has_group(const struct ruleset *rs, const char *g)
{
	for (size_t i = 0; i < rs->nrules; i++)
		for (size_t k = 0; k < rs->rules[i]->info.ngroups; k++)
			if (strcmp(rs->rules[i]->info.groups[k], g) == 0)
				return 1;
	return 0;
}

static int
cs_add(corr_set_t *cs, struct corr_rule *r)
{
	if (cs->n == cs->cap) {
		size_t ncap = cs->cap ? cs->cap * 2 : 16;
		struct corr_rule **nr = realloc(cs->rules,
		    ncap * sizeof(*nr));

		if (nr == NULL)
			return -1;
		cs->rules = nr;
		cs->cap = ncap;
	}
	cs->rules[cs->n++] = r;
	return 0;
}

int
corr_set_new(corr_set_t **out)
{
	static _Atomic uint64_t serials;

	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return TS_ENOMEM;
	(*out)->serial = atomic_fetch_add(&serials, 1) + 1;
	return 0;
}

uint64_t
corr_set_serial(const corr_set_t *cs)
{
	return cs != NULL ? cs->serial : 0;
}

/* The first scalar equal to s in the subtree of n (depth-first), or n: where
 * to point a diagnostic about the value s. */
static const yt_node *
node_of_value(const yt_node *n, const char *s, int depth)
{
	if (n == NULL || depth > MAX_YAML_DEPTH)
		return NULL;
	if (n->kind == YT_SCALAR)
		return strcmp(n->str, s) == 0 ? n : NULL;
	for (size_t i = 0; i < n->n; i++) {
		const yt_node *v = node_of_value(n->items[i], s, depth + 1);

		if (v != NULL)
			return v;
	}
	return NULL;
}

static const yt_node *
at_value(const yt_node *n, const char *s)
{
	const yt_node *v = node_of_value(cmap_get(n, "correlation", NULL), s,
	    0);

	return v != NULL ? v : n;
}

int
correlate_compile(corr_set_t *cs, const char *file, const struct yt_node *n,
    const struct ruleset *rs, struct rules_diags *dl)
{
	struct cparse		 P = { dl, file, 0 };
	struct corr_rule	*r;

	corr_parse(&P, n, &r);
	if (r == NULL)
		return P.oom ? TS_ENOMEM : 0;
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->rules[i]->id, r->id) == 0)
			cdiag(&P, n, 0, "duplicate correlation rule id '%s'",
			    r->id);
	if (rs_has_rule(rs, r->id))
		cdiag(&P, n, 0, "correlation rule id '%s' is also a rule's id",
		    r->id);
	for (size_t s = 0; s < r->nsteps; s++) {
		for (size_t i = 0; i < r->steps[s].nrules; i++)
			if (!rs_has_rule(rs, r->steps[s].rules[i]))
				cdiag(&P, at_value(n, r->steps[s].rules[i]), 0,
				    "correlation '%s' counts rule "
				    "'%s', which no rule file defines", r->id,
				    r->steps[s].rules[i]);
		for (size_t i = 0; i < r->steps[s].ngroups; i++)
			if (!rs_has_group(rs, r->steps[s].groups[i]))
				cdiag(&P, at_value(n, r->steps[s].groups[i]),
				    1, "correlation '%s' counts group "
				    "'%s', which no rule has (yet)", r->id,
				    r->steps[s].groups[i]);
	}
	if (cs_add(cs, r) != 0) {
		corr_rule_free(r);
		P.oom = 1;
	}
	return P.oom ? TS_ENOMEM : 0;
}

int
correlate_add(corr_set_t *cs, struct corr_rule *r, struct rules_diags *dl)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->rules[i]->id, r->id) == 0) {
			struct cparse	P = { dl, r->file, 0 };
			yt_node		at;

			memset(&at, 0, sizeof(at));
			at.line = r->info.line;
			at.col = 1;
			cdiag(&P, &at, 0, "duplicate correlation rule id '%s'",
			    r->id);
			corr_rule_free(r);
			return P.oom ? TS_ENOMEM : 0;
		}
	if (cs_add(cs, r) != 0) {
		corr_rule_free(r);
		return TS_ENOMEM;
	}
	return 0;
}

void
corr_set_free(corr_set_t **csp)
{
	if (csp == NULL || *csp == NULL)
		return;
	for (size_t i = 0; i < (*csp)->n; i++)
		corr_rule_free((*csp)->rules[i]);
	free((*csp)->rules);
	free(*csp);
	*csp = NULL;
}

size_t
corr_set_count(const corr_set_t *cs)
{
	return cs != NULL ? cs->n : 0;
}

const struct corr_rule *
corr_set_rule(const corr_set_t *cs, size_t i)
{
	return cs != NULL && i < cs->n ? cs->rules[i] : NULL;
}

int
corr_step_matches(const struct corr_step *st, const struct rule_info *ri)
{
	for (size_t i = 0; i < st->nrules; i++)
		if (strcmp(st->rules[i], ri->id) == 0)
			return 1;
	for (size_t i = 0; i < st->ngroups; i++)
		for (size_t k = 0; k < ri->ngroups; k++)
			if (strcmp(st->groups[i], ri->groups[k]) == 0)
				return 1;
	return 0;
}

int
corr_set_silences(const corr_set_t *cs, const char *rule_id)
{
	for (size_t i = 0; cs != NULL && i < cs->n; i++) {
		const struct corr_rule *r = cs->rules[i];

		if (r->generate)
			continue;
		for (size_t k = 0; k < r->nsteps; k++)
			for (size_t j = 0; j < r->steps[k].nrules; j++)
				if (strcmp(r->steps[k].rules[j], rule_id) == 0)
					return 1;
	}
	return 0;
}
