/*
 * sigma.h - the Sigma compiler (rules/sigma/) as the rest of rules/ sees
 * it: Sigma rules (specification 2.1) compiled into the same rule tree as
 * native rules (struct cond over struct leaf), Sigma correlations compiled
 * onto native correlation rules, and the leaf tests Sigma adds to the
 * matcher.
 *
 * The loader (rules/load.c) hands every YAML document to sigma_doc_kind();
 * the Sigma ones (rules, log source mappings) are left out of the native
 * checks and compiled by sigma_compile_all() once the decoders are known,
 * so that a rule whose log source no decoder feeds is reported at load.
 */
#ifndef TOCSIN_SIGMA_H
#define TOCSIN_SIGMA_H

#include <stddef.h>

#include "common/yamltree.h"
#include "rules/rules_int.h"

enum {
	SIGMA_DOC_NONE = 0,	/* not Sigma: a native rule file */
	SIGMA_DOC_RULE,		/* has detection: / logsource: / correlation:
				 * / action: (a Sigma rule or collection) */
	SIGMA_DOC_MAPPING	/* top key sigma_logsources: */
};

/* What kind of document root is (NULL root: SIGMA_DOC_NONE). */
int sigma_doc_kind(const yt_node *root);

struct corr_rule;

/*
 * Compile every Sigma document of the loaded files into rs: first the log
 * source mappings (the built-in one, then every sigma_logsources: document
 * in load order, later entries overriding earlier ones), then the rules,
 * then the correlation rules (once every rule they may name is known).
 * rcap and fcap are the loader's capacities of rs->rules and
 * rs->field_names (kept in step as this grows them).  Rules using a
 * feature this engine does not run, or a log source the mapping does not
 * know, are not loaded and are reported as warnings with their file, line
 * and reason; malformed rules are errors.  Each compiled correlation rule
 * goes to add (which takes it; nonzero: out of memory).  Returns 0 or
 * TS_ENOMEM.
 */
int sigma_compile_all(struct ruleset *rs, struct rules_diags *dl,
    char *const *files, yt_doc **const *docs, const size_t *ndocs,
    size_t nfiles, size_t *rcap, size_t *fcap,
    int (*add)(struct corr_rule *r, void *arg), void *arg);

/* The built-in log source mapping: the bytes of rules/sigma/logsources.yml,
 * embedded at build time (build/gen/sigma_logsources.c), NUL-terminated. */
extern const char sigma_default_logsources[];
extern const size_t sigma_default_logsources_len;

/*
 * Glob patterns of LEAF_GLOB values: bytes, where SIGMA_GLOB_ESC followed
 * by SIGMA_GLOB_STAR is '*' (any run), by SIGMA_GLOB_ONE is '?' (one
 * byte), and by SIGMA_GLOB_ESC is a literal 0xFF byte.
 */
#define SIGMA_GLOB_ESC	'\xff'
#define SIGMA_GLOB_STAR	'\x01'
#define SIGMA_GLOB_ONE	'\x02'

/* Whether s (len) matches glob pattern p (pl), ASCII case-folded if
 * nocase.  Linear in practice, O(len * pl) at worst, no allocation. */
int sigma_glob_match(const char *s, size_t len, const char *p, size_t pl,
    int nocase);

/* Whether the number in s (len) compares (LEAF_CMP_*) true with the number
 * num (NUL-terminated).  A value that is not a number never matches. */
int sigma_num_cmp(const char *s, size_t len, const char *num, int cmp);

/* Whether s (len) equals / contains / starts or ends with (op: LEAF_EQUALS,
 * LEAF_CONTAINS, LEAF_STARTSWITH, LEAF_ENDSWITH) o (olen). */
int sigma_str_cmp(const char *s, size_t len, const char *o, size_t olen,
    int op, int nocase);

#endif /* TOCSIN_SIGMA_H */
