/*
 * sigma_int.h - private to rules/sigma/: the compiler's state and the
 * pieces its files share.  One compile pass (struct sc) runs over every
 * loaded document; a rule is compiled from up to MAX_LAYERS documents
 * (the rule, the one it repeats, the global one).
 *
 * Files, bottom up: util.c (diagnostics, YAML lookups, condition tree
 * builders), values.c (values and modifiers), detection.c (field tests and
 * keyword lists), condition.c (the condition grammar), logsource.c (the
 * log source mapping), rule.c (one rule), correlation.c (correlation
 * rules), sigma.c (the pass over all documents).  match.c holds the leaf
 * tests the matcher runs and depends on none of them.
 */
#ifndef TOCSIN_SIGMA_INT_H
#define TOCSIN_SIGMA_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/yamltree.h"
#include "rules/rules_int.h"
#include "rules/sigma/sigma.h"

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
	char	**fsrc,
	    **fdst;			/* Sigma field -> tocsin field */
	size_t	 nfields;
	char	*prefix;			/* for unmapped names,
	    or NULL */
	char	**cfield, **cval;		/* conditions: field equals */
	size_t	 nconds;
	char	**produces;			/* decoded fields its events
	    carry (field sets expanded) */
	size_t	 nproduces;
	int	 has_produces;			/* produces: given; else any
	    field a decoder makes */
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

/* A rule's or correlation's `level:` (v may be NULL: absent) as the native
 * level: informational 2, low 4, medium 7 (also the default), high 10,
 * critical 13.  0, or -1 after reporting the bad value (sigma_bad). */
int sigma_level_parse(struct sc *S, const yt_node *v, int *level);

/* ---- util.c ---- */

void sigma_bad(struct sc *S, const yt_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sigma_is_scalar(const yt_node *n);
int sigma_leaf_addval(struct sc *S, struct leaf *lf, const char *v, size_t n);
const yt_node *sigma_lget(struct sc *S, const char *key);
const yt_node *sigma_mget(const yt_node *map, const char *key);
int sigma_cond_add(struct sc *S, struct cond *parent, struct cond *kid);
void sigma_cond_free(struct cond *c);
void sigma_diag(struct sc *S, const char *file, int line, int col, int warning,
    const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
char *sigma_strdup(struct sc *S, const char *s);
int sigma_field_id(struct sc *S, const char *name, size_t len);
struct cond *sigma_cond_flatten(struct cond *c);
struct cond *sigma_leaf_new(struct sc *S, int field, enum leaf_op op,
    int nocase);
struct cond *sigma_cond_new(struct sc *S, enum cond_kind kind);
struct cond *sigma_cond_not(struct sc *S, struct cond *c);
void sigma_strv_free(char **v, size_t n);
int sigma_strv_push(char ***v, size_t *n, const char *s, size_t len);
void sigma_unsup(struct sc *S, const yt_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- values.c ---- */

void sigma_sv_free(struct sv *v);
int sigma_sv_parse(struct sc *S, const char *s, size_t n, struct sv *v);
struct cond *sigma_values_leaves(struct sc *S, int field, struct sv *vals,
    size_t nvals,
    int all, int nocase);
int sigma_xf_base64(struct sc *S, const yt_node *at, struct sv **vals,
    size_t *nvals,
    int offset);
int sigma_xf_stars(struct sc *S, struct sv *vals, size_t nvals, int front,
    int back);
int sigma_xf_utf16(struct sc *S, struct sv *vals, size_t nvals, int be,
    int bom);
int sigma_xf_windash(struct sc *S, const yt_node *at, struct sv **vals,
    size_t *nvals);

/* ---- detection.c ---- */

struct cond *sigma_det_item(struct sc *S, const yt_node *n);

/* ---- condition.c ---- */

struct cond *sigma_cond_parse(struct sc *S, const yt_node *cn);

/* ---- logsource.c ---- */

int sigma_decoder_for(const struct decoder *d, char *const *progs, size_t np);
int sigma_decoder_makes(const struct decoder *d, int field);
const struct lsmap *sigma_logsource_find(struct sc *S, const yt_node *at,
    char *desc, size_t dlen,
    int quiet);
void sigma_lsmap_clear(struct lsmap *m);
void sigma_lsmap_load(struct sc *S, const char *file, const yt_node *root);

/* ---- rule.c ---- */

char *sigma_attack_id(const char *tag);
void sigma_rule_compile(struct sc *S, const yt_node *root, const char *defid);
void sigma_default_id(const char *file, size_t k, char *out, size_t olen);
void sigma_rule_reset(struct sc *S);

/* ---- correlation.c ---- */

struct corr_rule *sigma_corr_compile(struct sc *S, const yt_node *root,
    const char *defid);
void sigma_ref_push(struct sc *S, const yt_node *root, const char *id,
    const struct lsmap *ls);
#endif /* TOCSIN_SIGMA_INT_H */
