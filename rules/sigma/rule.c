/*
 * rule.c - one Sigma rule compiled into a native rule: metadata (id, title,
 * level, ATT&CK tags, author), log source routing, detection and condition,
 * and the check that a decoder produces every field it tests.
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

/* ---- rules ----------------------------------------------------------------- */

static const struct {
	const char	*name;
	int		 level;
} sigma_levels[] = {
	{ "informational", 2 }, { "low", 4 }, { "medium", 7 },
	{ "high", 10 }, { "critical", 13 },
};

int
sigma_level_parse(struct sc *S, const yt_node *v, int *level)
{
	*level = 7;
	if (v == NULL)
		return 0;
	for (size_t k = 0; k < sizeof(sigma_levels) / sizeof(sigma_levels[0]);
	    k++)
		if (sigma_is_scalar(v) && !strcasecmp(v->str,
		    sigma_levels[k].name)) {
			*level = sigma_levels[k].level;
			return 0;
		}
	sigma_bad(S, v, "level must be informational, low, medium, high or "
	    "critical");
	return -1;
}

/* "attack.t1059.001" -> "T1059.001" (also tactic ids "attack.ta0001");
 * NULL when the tag is not a technique id. */
char *
sigma_attack_id(const char *tag)
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

/* Whether decoder d can give events of log source ls.  A condition field
 * that decoders set as a constant (`set:`, the web decoders' log_type)
 * admits only the decoders that set it to an accepted value; any other
 * condition field, the decoders that make it. */
static int
decoder_meets_conds(struct sc *S, const struct decoder *d,
    const struct lsmap *ls)
{
	for (size_t i = 0; i < ls->nconds; i++) {
		int fid = sigma_field_id(S, ls->cfield[i],
		    strlen(ls->cfield[i]));
		int is_set = 0, ok = 0;

		if (i > 0 && strcmp(ls->cfield[i - 1], ls->cfield[i]) == 0)
			continue;	/* values of one field are adjacent */
		if (fid < 0)
			return 0;
		for (size_t k = 0; k < S->rs->ndecoders && !is_set; k++)
			for (size_t j = 0; j < S->rs->decoders[k]->nset; j++)
				if (S->rs->decoders[k]->set_field[j] == fid)
					is_set = 1;
		if (!is_set) {
			if (!sigma_decoder_makes(d, fid))
				return 0;
			continue;
		}
		for (size_t j = 0; j < d->nset; j++) {
			if (d->set_field[j] != fid)
				continue;
			for (size_t v = i; v < ls->nconds &&
			    strcmp(ls->cfield[v], ls->cfield[i]) == 0; v++)
				if (strcmp(ls->cval[v], d->set_val[j]) == 0)
					ok = 1;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/*
 * Warn about fields no decoder of the rule's programs produces: for a log
 * source that says which fields its events carry (produces:), a field not
 * among them; else a field no decoder of its programs (and of its log
 * source's conditions) makes.
 */
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
		if (S->ls != NULL && S->ls->has_produces) {
			for (size_t k = 0; k < S->ls->nproduces && !made; k++)
				made = strcmp(S->ls->produces[k],
				    S->rs->field_names[S->fused[i]]) == 0;
			if (!made)
				sigma_diag(S, S->file, S->fline[i], 0, 1,
				    "Sigma rule '%s': field '%s' (%s) is "
				    "produced by no decoder for log source %s "
				    "(its events do not carry it): the rule "
				    "cannot match until one does", r->title,
				    S->rs->field_names[S->fused[i]],
				    S->fsigma[i], srcname);
			continue;
		}
		for (size_t d = 0; d < S->rs->ndecoders && !made; d++)
			if (sigma_decoder_for(S->rs->decoders[d], r->programs,
			    r->nprograms) &&
			    decoder_meets_conds(S, S->rs->decoders[d], S->ls) &&
			    sigma_decoder_makes(S->rs->decoders[d],
			    S->fused[i]))
				made = 1;
		if (!made)
			sigma_diag(S, S->file, S->fline[i], 0, 1,
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
	sigma_strv_free(r->mitre, r->info.nmitre);
	sigma_strv_free(r->groups, r->info.ngroups);
	sigma_strv_free(r->programs, r->nprograms);
	sigma_cond_free(r->cond);
	free(r);
}

void
sigma_rule_reset(struct sc *S)
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
void
sigma_rule_compile(struct sc *S, const yt_node *root, const char *defid)
{
	struct ruleset *rs = S->rs;
	struct rule *r;
	const yt_node *v, *cn;
	char lsdesc[256];
	struct cond *c = NULL;

	sigma_rule_reset(S);
	if ((v = sigma_lget(S, "correlation")) != NULL) {
		sigma_unsup(S, v,
		    "correlation: in an action: global document is not "
		    "supported");
		return;
	}
	if (sigma_mget(root, "filter") != NULL && sigma_lget(S,
	    "detection") == NULL) {
		sigma_unsup(S, root, "Sigma filters are not supported yet");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		S->oom = 1;
		return;
	}
	r->idx = rs->nrules;
	r->info.line = root->line;
	r->col = root->col;
	r->file = sigma_strdup(S, S->file);
	v = sigma_lget(S, "title");
	if (!sigma_is_scalar(v)) {
		sigma_bad(S, v ? v : root,
		    "a Sigma rule needs a title (a string)");
		goto drop;
	}
	r->title = sigma_strdup(S, v->str);
	S->title = r->title;
	if ((v = sigma_lget(S, "id")) != NULL && sigma_is_scalar(v))
		r->id = sigma_strdup(S, v->str);
	else
		r->id = sigma_strdup(S, defid);
	if ((v = sigma_lget(S, "description")) != NULL && sigma_is_scalar(v))
		r->description = sigma_strdup(S, v->str);
	if ((v = sigma_lget(S, "author")) != NULL && sigma_is_scalar(v))
		r->author = sigma_strdup(S, v->str);
	else
		sigma_diag(S, S->file, root->line, root->col, 1,
		    "Sigma rule '%s' "
		    "has no author (the Detection Rule License requires it "
		    "in every alert of a SigmaHQ rule)", r->title);
	if (sigma_level_parse(S, sigma_lget(S, "level"), &r->info.level) != 0)
		goto drop;
	if ((v = sigma_lget(S, "tags")) != NULL && v->kind == YT_SEQ)
		for (size_t i = 0; i < v->n; i++) {
			char *t;

			if (!sigma_is_scalar(v->items[i]) ||
			    (t = sigma_attack_id(v->items[i]->str)) == NULL)
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
	if (sigma_strv_push(&r->groups, &r->info.ngroups, "sigma", 5)) {
		S->oom = 1;
		goto drop;
	}
	if (S->oom)
		goto drop;

	/* log source */
	if (sigma_lget(S, "logsource") == NULL) {
		sigma_bad(S, root, "a Sigma rule needs a logsource");
		goto drop;
	}
	if ((S->ls = sigma_logsource_find(S, sigma_lget(S, "logsource"), lsdesc,
	    sizeof(lsdesc), 0)) == NULL)
		goto drop;
	for (size_t i = 0; i < S->ls->nprograms; i++)
		if (sigma_strv_push(&r->programs, &r->nprograms,
		    S->ls->programs[i],
		    strlen(S->ls->programs[i]))) {
			S->oom = 1;
			goto drop;
		}

	/* detection */
	for (size_t l = 0; l < S->nlayers; l++) {
		const yt_node *d = sigma_mget(S->layers[l], "detection");

		if (d == NULL)
			continue;
		if (d->kind != YT_MAP) {
			sigma_bad(S, d, "detection must be a mapping");
			goto drop;
		}
		S->dets[S->ndets++] = d;
	}
	if (S->ndets == 0) {
		sigma_bad(S, root, "a Sigma rule needs a detection");
		goto drop;
	}
	cn = NULL;
	for (size_t l = 0; l < S->ndets && cn == NULL; l++)
		cn = sigma_mget(S->dets[l], "condition");
	for (size_t l = 0; l < S->ndets; l++)
		if ((v = sigma_mget(S->dets[l], "timeframe")) != NULL) {
			sigma_unsup(S, v,
			    "timeframe (Sigma 1 aggregation) is not "
			    "supported");
			goto drop;
		}
	if (cn == NULL || (cn->kind == YT_SCALAR && yt_is_null(cn))) {
		sigma_bad(S, root, "the detection needs a condition");
		goto drop;
	}
	if (cn->kind == YT_MAP) {
		sigma_bad(S, cn,
		    "condition must be a string or a list of strings");
		goto drop;
	}
	if (cn->kind == YT_SCALAR) {
		c = sigma_cond_parse(S, cn);
	} else {
		struct cond *or = sigma_cond_new(S, COND_OR);

		for (size_t i = 0; or != NULL && i < cn->n; i++) {
			if (!sigma_is_scalar(cn->items[i])) {
				sigma_bad(S, cn->items[i],
				    "condition must be a "
				    "string or a list of strings");
				break;
			}
			if (sigma_cond_add(S, or, sigma_cond_parse(S,
			    cn->items[i])))
				break;
		}
		if (S->bad || S->oom || or == NULL || or->nkids == 0)
			sigma_cond_free(or);
		else
			c = sigma_cond_flatten(or);
	}
	if (c == NULL || S->bad || S->oom) {
		if (!S->bad && !S->oom)
			sigma_bad(S, cn, "empty condition");
		sigma_cond_free(c);
		goto drop;
	}
	/* the log source's own conditions, first: they are cheap equality
	 * tests (Channel, EventID) that turn most events away before the
	 * rule's own detection runs */
	if (S->ls->nconds > 0) {
		struct cond *and = sigma_cond_new(S, COND_AND);

		if (and == NULL) {
			sigma_cond_free(c);
			goto drop;
		}
		/* one leaf per field: its values (a list in the mapping)
		 * are any-of */
		for (size_t i = 0; i < S->ls->nconds && !S->oom; i++) {
			struct cond *l;
			size_t j;
			int f;

			for (j = 0; j < i; j++)
				if (strcmp(S->ls->cfield[j],
				    S->ls->cfield[i]) == 0)
					break;
			if (j < i)
				continue;	/* added with its first */
			f = sigma_field_id(S, S->ls->cfield[i],
			    strlen(S->ls->cfield[i]));
			if (f < 0 || (l = sigma_leaf_new(S, f, LEAF_EQUALS,
			    1)) == NULL || sigma_cond_add(S, and, l))
				break;
			for (j = i; j < S->ls->nconds; j++)
				if (strcmp(S->ls->cfield[j],
				    S->ls->cfield[i]) == 0 &&
				    sigma_leaf_addval(S, &l->leaf,
				    S->ls->cval[j], strlen(S->ls->cval[j])))
					break;
		}
		if (sigma_cond_add(S, and, c)) {
			sigma_cond_free(and);
			goto drop;
		}
		c = and;
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
		sigma_diag(S, S->file, root->line, root->col, 0, "more than %d "
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

/* A default id for a rule without one: "sigma-<file name>[-<doc>]". */
void
sigma_default_id(const char *file, size_t k, char *out, size_t olen)
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
