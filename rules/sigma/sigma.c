/*
 * sigma.c - the Sigma compiler's entry points (Sigma specification 2.1
 * compiled into tocsin's rule tree): which documents are Sigma, and the
 * pass over every loaded document: log source mappings first, then rules,
 * then correlations once every rule they may name is known.
 *
 * Matching semantics (docs/sigma.md): string values are whole-value and
 * ASCII case-insensitive unless modified; '*' and '?' are wildcards with
 * the specification's backslash escaping; keywords are case-insensitive
 * substrings of the message.  Wildcard values become byte-wise glob leaves
 * (LEAF_GLOB), never regexes.  Anything this engine does not run is not
 * loaded and is reported with its file, line and reason.
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

int
sigma_doc_kind(const yt_node *root)
{
	if (root == NULL || root->kind != YT_MAP)
		return SIGMA_DOC_NONE;
	if (sigma_mget(root, "sigma_logsources") != NULL)
		return SIGMA_DOC_MAPPING;
	if (sigma_mget(root, "detection") != NULL || sigma_mget(root,
	    "logsource") != NULL ||
	    sigma_mget(root, "correlation") != NULL ||
	    (sigma_mget(root, "action") != NULL && sigma_mget(root,
	    "rules") == NULL &&
	    sigma_mget(root, "decoders") == NULL))
		return SIGMA_DOC_RULE;
	return SIGMA_DOC_NONE;
}

/* ---- all documents ------------------------------------------------------------ */

/*
 * Compile every Sigma document, then the correlation documents; each
 * compiled correlation goes to add (NULL: checked and freed).  0 or
 * TS_ENOMEM.
 */
static int
sigma_run(struct sc *S, char *const *files, yt_doc **const *docs,
    const size_t *ndocs, size_t nfiles,
    int (*add)(struct corr_rule *r, void *arg), void *arg)
{
	yt_doc **def = NULL;
	size_t ndef = 0;
	char err[256];

	if (yt_load_buf("sigma-logsources(built-in)", sigma_default_logsources,
	    sigma_default_logsources_len, &def, &ndef, err,
	    sizeof(err)) != 0 || ndef != 1) {
		yt_docs_free(&def, ndef);
		return TS_ENOMEM;
	}
	sigma_lsmap_load(S, "sigma-logsources(built-in)", def[0]->root);
	yt_docs_free(&def, ndef);
	for (size_t i = 0; i < nfiles && !S->oom; i++)
		for (size_t k = 0; docs[i] != NULL && k < ndocs[i]; k++)
			if (sigma_doc_kind(docs[i][k]->root) ==
			    SIGMA_DOC_MAPPING)
				sigma_lsmap_load(S, files[i], docs[i][k]->root);
	for (size_t i = 0; i < nfiles && !S->oom; i++) {
		const yt_node *global = NULL, *prev = NULL;
		size_t nrule = 0, nsigma = 0;

		for (size_t k = 0; docs[i] != NULL && k < ndocs[i]; k++)
			if (sigma_doc_kind(docs[i][k]->root) == SIGMA_DOC_RULE)
				nsigma++;
		for (size_t k = 0; docs[i] != NULL && k < ndocs[i] && !S->oom;
		    k++) {
			const yt_node *root = docs[i][k]->root, *act;
			char defid[128];
			size_t n0;

			if (sigma_doc_kind(root) != SIGMA_DOC_RULE)
				continue;
			S->file = files[i];
			S->bad = 0;
			act = sigma_mget(root, "action");
			if (act != NULL) {
				if (!sigma_is_scalar(act)) {
					sigma_bad(S, act,
					    "action must be global, "
					    "reset or repeat");
					continue;
				}
				if (!strcmp(act->str, "global")) {
					global = root;
					continue;
				}
				if (!strcmp(act->str, "reset")) {
					global = NULL;
					continue;
				}
				if (strcmp(act->str, "repeat") != 0) {
					sigma_bad(S, act,
					    "action must be global, "
					    "reset or repeat");
					continue;
				}
				if (prev == NULL) {
					sigma_bad(S, act,
					    "action: repeat without a "
					    "rule before it");
					continue;
				}
			}
			sigma_default_id(files[i], nsigma > 1 ? ++nrule : 0,
			    defid,
			    sizeof(defid));
			if (sigma_mget(root, "correlation") != NULL) {
				struct spend *np = realloc(S->pend,
				    (S->npend + 1) * sizeof(*np));

				if (np == NULL) {
					S->oom = 1;
					break;
				}
				S->pend = np;
				np[S->npend].file = files[i];
				np[S->npend].root = root;
				snprintf(np[S->npend].defid,
				    sizeof(np[S->npend].defid), "%s", defid);
				S->npend++;
				continue;
			}
			S->nlayers = 0;
			S->layers[S->nlayers++] = root;
			if (act != NULL)
				S->layers[S->nlayers++] = prev;
			if (global != NULL)
				S->layers[S->nlayers++] = global;
			n0 = S->rs->nrules;
			sigma_rule_compile(S, root, defid);
			if (S->rs->nrules > n0)
				sigma_ref_push(S, root,
				    S->rs->rules[n0]->info.id, S->ls);
			if (act == NULL)
				prev = root;
		}
	}
	for (size_t i = 0; i < S->npend && !S->oom; i++) {
		struct corr_rule *r;

		S->file = S->pend[i].file;
		S->nlayers = 1;
		S->layers[0] = S->pend[i].root;
		r = sigma_corr_compile(S, S->pend[i].root, S->pend[i].defid);
		if (r != NULL && add != NULL) {
			if (add(r, arg) != 0)
				S->oom = 1;
		} else
			corr_rule_free(r);
	}
	sigma_rule_reset(S);
	for (size_t i = 0; i < S->nmaps; i++)
		sigma_lsmap_clear(&S->maps[i]);
	free(S->maps);
	for (size_t i = 0; i < S->nrefs; i++)
		free(S->refs[i].id);
	free(S->refs);
	free(S->pend);
	return S->oom ? TS_ENOMEM : 0;
}

int
sigma_compile_all(struct ruleset *rs, struct rules_diags *dl,
    char *const *files, yt_doc **const *docs, const size_t *ndocs,
    size_t nfiles, size_t *rcap, size_t *fcap,
    int (*add)(struct corr_rule *r, void *arg), void *arg)
{
	struct sc S;

	memset(&S, 0, sizeof(S));
	S.rs = rs;
	S.dl = dl;
	S.rcap = rcap;
	S.fcap = fcap;
	return sigma_run(&S, files, docs, ndocs, nfiles, add, arg);
}
