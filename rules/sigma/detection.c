/*
 * detection.c - Sigma detection items: one field test (name|modifiers:
 * values) or a keyword list compiled into a condition over leaves, with the
 * field mapped through the rule's log source.
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

/* ---- field tests ----------------------------------------------------------- */

enum {
	M_CONTAINS = 1 << 0, M_STARTSWITH = 1 << 1, M_ENDSWITH = 1 << 2,
	M_ALL = 1 << 3, M_RE = 1 << 4, M_CIDR = 1 << 5, M_EXISTS = 1 << 6,
	M_CASED = 1 << 7, M_NUM = 1 << 8, M_FIELDREF = 1 << 9,
	M_NEQ = 1 << 10, M_XFORM = 1 << 11, M_RE_OPT = 1 << 12
};

/* The tocsin field a Sigma field name maps to (mapping, prefix, or the
 * name itself); -1 with a report when it cannot be a field name. */
static int
map_field(struct sc *S, const yt_node *at, const char *name, size_t len)
{
	char buf[MAX_SIGMA_FIELD_BYTES + 1];
	const char *out = name;
	size_t n = len;
	int id;

	if (len == 0 || len > MAX_SIGMA_FIELD_BYTES) {
		sigma_bad(S, at, "field name empty or longer than %d bytes",
		    MAX_SIGMA_FIELD_BYTES);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			sigma_bad(S, at, "control character in a field name");
			return -1;
		}
	if (S->ls != NULL) {
		size_t k;

		for (k = 0; k < S->ls->nfields; k++)
			if (strlen(S->ls->fsrc[k]) == len &&
			    strncasecmp(S->ls->fsrc[k], name, len) == 0)
				break;
		if (k < S->ls->nfields) {
			out = S->ls->fdst[k];
			n = strlen(out);
		} else if (S->ls->prefix != NULL) {
			int w = snprintf(buf, sizeof(buf), "%s%.*s",
			    S->ls->prefix, (int)len, name);

			if (w < 0 || (size_t)w >= sizeof(buf)) {
				sigma_bad(S, at, "mapped field name too long");
				return -1;
			}
			out = buf;
			n = (size_t)w;
		}
	}
	if ((id = sigma_field_id(S, out, n)) < 0)
		return -1;
	if (id >= FIELD_NBUILTIN) {
		int *nf = realloc(S->fused, (S->nfused + 1) * sizeof(*nf));
		int *nl = nf ? realloc(S->fline, (S->nfused + 1) *
		    sizeof(*nl)) : NULL;
		char **ns;

		if (nf != NULL)
			S->fused = nf;
		if (nl != NULL)
			S->fline = nl;
		ns = nl ? realloc(S->fsigma, (S->nfused + 1) *
		    sizeof(*ns)) : NULL;
		if (ns == NULL) {
			S->oom = 1;
			return -1;
		}
		S->fsigma = ns;
		if ((ns[S->nfused] = strndup(name, len)) == NULL) {
			S->oom = 1;
			return -1;
		}
		S->fused[S->nfused] = id;
		S->fline[S->nfused] = at->line;
		S->nfused++;
	}
	return id;
}

/* A scalar's text: a plain empty or '~' / 'null' scalar is null (handled
 * by the caller); quoted '' is the empty string. */
static int
node_is_null(const yt_node *n)
{
	return n->kind == YT_SCALAR && n->plain && yt_is_null(n);
}

/* The values of a field test: a scalar or a list of scalars. */
static int
value_nodes(struct sc *S, const yt_node *v, const yt_node ***out, size_t *n)
{
	if (v->kind == YT_MAP) {
		sigma_bad(S, v,
		    "a field value must be a string, number or list, "
		    "not a mapping");
		return -1;
	}
	if (v->kind == YT_SEQ) {
		if (v->n == 0) {
			sigma_bad(S, v, "empty list of values");
			return -1;
		}
		if (v->n > MAX_SIGMA_VALUES) {
			sigma_unsup(S, v, "more than %d values",
			    MAX_SIGMA_VALUES);
			return -1;
		}
		for (size_t i = 0; i < v->n; i++) {
			if (v->items[i]->kind != YT_SCALAR) {
				sigma_bad(S, v->items[i], "a value list holds "
				    "strings and numbers only");
				return -1;
			}
			if (node_is_null(v->items[i])) {
				sigma_bad(S, v->items[i],
				    "null cannot be part of a "
				    "list of values (make it its own "
				    "selection)");
				return -1;
			}
		}
		*out = (const yt_node **)v->items;
		*n = v->n;
		return 0;
	}
	*out = NULL;
	*n = 1;
	return 0;
}

/*
 * One "field|mod|mod: value(s)" test (field -1: keywords over the
 * message, with contains implied).  Returns the condition or NULL (reported
 * or out of memory).
 */
static struct cond *
field_test(struct sc *S, const yt_node *key, const char *fname, size_t flen,
    const char *mods, const yt_node *v, int keyword)
{
	unsigned m = 0;
	int field = FIELD_MESSAGE, reopts = 0, cmp = 0, nocase = 1;
	const yt_node **items = NULL;
	size_t nitems = 0, nvals = 0;
	struct sv *vals = NULL;
	struct cond *c = NULL;
	/* transformations in order, applied after parsing the values */
	char xf[16];
	size_t nxf = 0;

	/* modifiers, left to right */
	for (const char *p = mods; p != NULL && *p != '\0';) {
		const char *e = strchr(p, '|');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		char mod[32];

		if (l == 0 || l >= sizeof(mod)) {
			sigma_bad(S, key, "empty or overlong modifier");
			return NULL;
		}
		memcpy(mod, p, l);
		mod[l] = '\0';
		p = e ? e + 1 : NULL;
		if (m & M_RE && strcmp(mod, "i") && strcmp(mod, "m") &&
		    strcmp(mod, "s") && strcmp(mod, "all") &&
		    strcmp(mod, "neq")) {
			sigma_unsup(S, key, "modifier '%s' after re", mod);
			return NULL;
		}
		if (!strcmp(mod, "contains")) {
			m |= M_CONTAINS;
			if (!(m & M_FIELDREF) && nxf < sizeof(xf))
				xf[nxf++] = 'c';
		} else if (!strcmp(mod, "startswith")) {
			m |= M_STARTSWITH;
			if (!(m & M_FIELDREF) && nxf < sizeof(xf))
				xf[nxf++] = 's';
		} else if (!strcmp(mod, "endswith")) {
			m |= M_ENDSWITH;
			if (!(m & M_FIELDREF) && nxf < sizeof(xf))
				xf[nxf++] = 'e';
		} else if (!strcmp(mod, "all")) {
			m |= M_ALL;
		} else if (!strcmp(mod, "re")) {
			m |= M_RE;
		} else if (!strcmp(mod, "i") || !strcmp(mod, "m") ||
		    !strcmp(mod, "s")) {
			if (!(m & M_RE)) {
				sigma_bad(S, key,
				    "modifier '%s' only follows re", mod);
				return NULL;
			}
			reopts |= mod[0] == 'i' ? PCRE2_CASELESS :
			    mod[0] == 'm' ? PCRE2_MULTILINE : PCRE2_DOTALL;
		} else if (!strcmp(mod, "cidr")) {
			m |= M_CIDR;
		} else if (!strcmp(mod, "exists")) {
			m |= M_EXISTS;
		} else if (!strcmp(mod, "cased")) {
			m |= M_CASED;
		} else if (!strcmp(mod, "gt") || !strcmp(mod, "gte") ||
		    !strcmp(mod, "lt") || !strcmp(mod, "lte")) {
			if (m & M_NUM) {
				sigma_bad(S, key, "two numeric comparisons");
				return NULL;
			}
			m |= M_NUM;
			cmp = !strcmp(mod, "gt") ? LEAF_CMP_GT :
			    !strcmp(mod, "gte") ? LEAF_CMP_GTE :
			    !strcmp(mod, "lt") ? LEAF_CMP_LT : LEAF_CMP_LTE;
		} else if (!strcmp(mod, "fieldref")) {
			if (m & (M_CONTAINS | M_STARTSWITH | M_ENDSWITH)) {
				sigma_unsup(S, key, "fieldref after contains, "
				    "startswith or endswith (write fieldref "
				    "first)");
				return NULL;
			}
			m |= M_FIELDREF;
		} else if (!strcmp(mod, "neq")) {
			m |= M_NEQ;
		} else if (!strcmp(mod, "windash") || !strcmp(mod, "base64") ||
		    !strcmp(mod, "base64offset") || !strcmp(mod, "utf16le") ||
		    !strcmp(mod, "wide") || !strcmp(mod, "utf16be") ||
		    !strcmp(mod, "utf16")) {
			m |= M_XFORM;
			if (nxf < sizeof(xf))
				xf[nxf++] = !strcmp(mod, "windash") ? 'w' :
				    !strcmp(mod, "base64") ? 'b' :
				    !strcmp(mod, "base64offset") ? 'o' :
				    !strcmp(mod, "utf16be") ? 'B' :
				    !strcmp(mod, "utf16") ? 'U' : 'u';
			if (xf[nxf - 1] == 'b' || xf[nxf - 1] == 'o')
				m |= M_CASED;	/* base64 is case-significant */
		} else if (!strcmp(mod, "expand")) {
			sigma_unsup(S, key,
			    "modifier 'expand' (placeholders) is not "
			    "supported");
			return NULL;
		} else if (!strcmp(mod, "minute") || !strcmp(mod, "hour") ||
		    !strcmp(mod, "day") || !strcmp(mod, "week") ||
		    !strcmp(mod, "month") || !strcmp(mod, "year")) {
			sigma_unsup(S, key,
			    "time modifier '%s' is not supported",
			    mod);
			return NULL;
		} else {
			sigma_bad(S, key, "unknown modifier '%s'", mod);
			return NULL;
		}
		if (nxf >= sizeof(xf)) {
			sigma_unsup(S, key, "too many modifiers");
			return NULL;
		}
	}
	if ((m & M_RE) && (m & ~(M_RE | M_ALL | M_NEQ))) {
		sigma_unsup(S, key, "re combined with other modifiers");
		return NULL;
	}
	if ((m & M_CIDR) && (m & ~(M_CIDR | M_ALL | M_NEQ))) {
		sigma_unsup(S, key, "cidr combined with other modifiers");
		return NULL;
	}
	if ((m & M_EXISTS) && m != M_EXISTS) {
		sigma_bad(S, key, "exists takes no other modifier");
		return NULL;
	}
	if ((m & M_NUM) && (m & ~(M_NUM | M_ALL | M_NEQ))) {
		sigma_unsup(S, key, "a numeric comparison combined with other "
		    "modifiers");
		return NULL;
	}
	if ((m & M_FIELDREF) && (m & (M_XFORM | M_RE | M_CIDR | M_NUM))) {
		sigma_unsup(S, key,
		    "fieldref combined with encoding, re, cidr or "
		    "a comparison");
		return NULL;
	}
	if (keyword && (m & ~(M_ALL | M_CASED | M_XFORM | M_CONTAINS)) != 0) {
		sigma_unsup(S, key, "keyword modifiers other than all");
		return NULL;
	}
	if ((m & M_CASED))
		nocase = 0;
	if (!keyword && (field = map_field(S, key, fname, flen)) < 0)
		return NULL;
	/* keywords search the whole raw line, header and program included
	 * (SigmaHQ's Linux keyword rules name programs: "pkexec") */
	if (keyword && (field = sigma_field_id(S, FIELD_RAW_NAME,
	    sizeof(FIELD_RAW_NAME) - 1)) < 0)
		return NULL;

	/* null: the field is absent */
	if (v->kind == YT_SCALAR && node_is_null(v)) {
		if (m != 0 || keyword) {
			sigma_bad(S, v, "null takes no modifier");
			return NULL;
		}
		return sigma_cond_not(S, sigma_leaf_new(S, field, LEAF_EXISTS,
		    0));
	}
	if (m & M_EXISTS) {
		if (v->kind != YT_SCALAR || (strcmp(v->str, "true") &&
		    strcmp(v->str, "false"))) {
			sigma_bad(S, v, "exists takes true or false");
			return NULL;
		}
		c = sigma_leaf_new(S, field, LEAF_EXISTS, 0);
		return strcmp(v->str, "true") ? sigma_cond_not(S, c) : c;
	}
	if (value_nodes(S, v, &items, &nitems))
		return NULL;
	if ((m & M_ALL) && nitems < 2 && !keyword) {
		sigma_bad(S, key, "all needs a list of two or more values");
		return NULL;
	}

	if (m & (M_RE | M_CIDR | M_NUM | M_FIELDREF)) {
		struct cond *top = sigma_cond_new(S,
		    (m & M_ALL) ? COND_AND : COND_OR);

		if (top == NULL)
			return NULL;
		for (size_t i = 0; i < nitems; i++) {
			const yt_node *it = items ? items[i] : v;
			struct cond *l = NULL;

			if (m & M_RE) {
				int ec;
				PCRE2_SIZE eo;
				uint32_t cap = 0;

				if ((l = sigma_leaf_new(S, field, LEAF_REGEX,
				    !!(reopts & PCRE2_CASELESS))) == NULL)
					break;
				l->leaf.rx.code = pcre2_compile((PCRE2_SPTR)it->str,
				    it->len, (uint32_t)reopts, &ec, &eo, NULL);
				if (l->leaf.rx.code == NULL) {
					PCRE2_UCHAR msg[256];

					pcre2_get_error_message(ec, msg,
					    sizeof(msg));
					sigma_bad(S, it,
					    "regex error at offset %zu: %s",
					    (size_t)eo, (char *)msg);
					sigma_cond_free(l);
					break;
				}
				(void)pcre2_jit_compile(l->leaf.rx.code,
				    PCRE2_JIT_COMPLETE);
				pcre2_pattern_info(l->leaf.rx.code,
				    PCRE2_INFO_CAPTURECOUNT, &cap);
				if (cap > S->rs->max_groups)
					S->rs->max_groups = cap;
				if ((l->leaf.rx.src = sigma_strdup(S,
				    it->str)) == NULL ||
				    (reopts == 0 && rules_extract_literal(
				    it->str, &l->leaf.rx.lit,
				    &l->leaf.rx.lit_len)) ||
				    (reopts == 0 && rules_extract_prefix(
				    it->str, &l->leaf.rx.pre,
				    &l->leaf.rx.pre_len))) {
					S->oom = 1;
					sigma_cond_free(l);
					break;
				}
			} else if (m & M_CIDR) {
				if ((l = sigma_leaf_new(S, field, LEAF_CIDR,
				    0)) == NULL)
					break;
				if ((l->leaf.cidrs = calloc(1,
				    sizeof(struct cidr))) == NULL) {
					S->oom = 1;
					sigma_cond_free(l);
					break;
				}
				l->leaf.ncidrs = 1;
				if (rules_parse_cidr(it->str, l->leaf.cidrs) != 0) {
					sigma_bad(S, it, "bad CIDR '%s'",
					    it->str);
					sigma_cond_free(l);
					break;
				}
			} else if (m & M_NUM) {
				double d;
				char *end;

				d = strtod(it->str, &end);
				(void)d;
				if (it->len == 0 || *end != '\0') {
					sigma_bad(S, it, "%s is not a number",
					    it->str);
					break;
				}
				if ((l = sigma_leaf_new(S, field, LEAF_NUM,
				    0)) == NULL ||
				    sigma_leaf_addval(S, &l->leaf, it->str,
				    it->len)) {
					sigma_cond_free(l);
					break;
				}
				l->leaf.cmp = cmp;
			} else {	/* fieldref */
				int f2;

				if ((f2 = map_field(S, it, it->str,
				    it->len)) < 0)
					break;
				if ((l = sigma_leaf_new(S, field, LEAF_FIELDREF,
				    nocase)) == NULL)
					break;
				l->leaf.field2 = f2;
				l->leaf.cmp = (m & M_CONTAINS) ? LEAF_CONTAINS :
				    (m & M_STARTSWITH) ? LEAF_STARTSWITH :
				    (m & M_ENDSWITH) ? LEAF_ENDSWITH :
				    LEAF_EQUALS;
			}
			if (sigma_cond_add(S, top, l))
				break;
		}
		if (S->bad || S->oom || top->nkids != nitems) {
			sigma_cond_free(top);
			return NULL;
		}
		c = sigma_cond_flatten(top);
		return (m & M_NEQ) ? sigma_cond_not(S, c) : c;
	}

	/* string values: parse, transform in order, then leaves */
	if ((vals = calloc(nitems, sizeof(*vals))) == NULL) {
		S->oom = 1;
		return NULL;
	}
	for (size_t i = 0; i < nitems; i++) {
		const yt_node *it = items ? items[i] : v;

		if (sigma_sv_parse(S, it->str, it->len, &vals[nvals]))
			goto out;
		nvals++;
	}
	if (keyword && nxf == 0)
		xf[nxf++] = 'c';
	else if (keyword && !(m & M_CONTAINS) && nxf < sizeof(xf))
		xf[nxf++] = 'c';
	for (size_t i = 0; i < nxf; i++) {
		int rc = 0;

		switch (xf[i]) {
		case 'c': rc = sigma_xf_stars(S, vals, nvals, 1, 1); break;
		case 's': rc = sigma_xf_stars(S, vals, nvals, 0, 1); break;
		case 'e': rc = sigma_xf_stars(S, vals, nvals, 1, 0); break;
		case 'w': rc = sigma_xf_windash(S, key, &vals, &nvals); break;
		case 'b': rc = sigma_xf_base64(S, key, &vals, &nvals, 0); break;
		case 'o': rc = sigma_xf_base64(S, key, &vals, &nvals, 1); break;
		case 'u': rc = sigma_xf_utf16(S, vals, nvals, 0, 0); break;
		case 'B': rc = sigma_xf_utf16(S, vals, nvals, 1, 0); break;
		case 'U': rc = sigma_xf_utf16(S, vals, nvals, 0, 1); break;
		}
		if (rc)
			goto out;
	}
	c = sigma_values_leaves(S, field, vals, nvals, !!(m & M_ALL), nocase);
	if (c != NULL && (m & M_NEQ))
		c = sigma_cond_not(S, c);
out:
	for (size_t i = 0; i < nvals; i++)
		sigma_sv_free(&vals[i]);
	free(vals);
	return c;
}

/* A map of field tests: AND of them. */
static struct cond *
map_cond(struct sc *S, const yt_node *map)
{
	struct cond *and;

	if (map->n == 0) {
		sigma_bad(S, map, "empty mapping in a detection");
		return NULL;
	}
	if ((and = sigma_cond_new(S, COND_AND)) == NULL)
		return NULL;
	for (size_t i = 0; i < map->n; i++) {
		const yt_node *k = map->keys[i];
		const char *bar = memchr(k->str, '|', k->len);
		size_t flen = bar ? (size_t)(bar - k->str) : k->len;
		struct cond *c;

		if (memchr(k->str, '\0', k->len) != NULL) {
			sigma_bad(S, k, "NUL byte in a field name");
			break;
		}
		if (flen == 0)	/* '|all': keywords */
			c = field_test(S, k, NULL, 0, bar + 1, map->items[i],
			    1);
		else
			c = field_test(S, k, k->str, flen, bar ? bar + 1 : NULL,
			    map->items[i], 0);
		if (c == NULL || sigma_cond_add(S, and, c))
			break;
	}
	if (S->bad || S->oom) {
		sigma_cond_free(and);
		return NULL;
	}
	return sigma_cond_flatten(and);
}

/* The condition of one search identifier's definition. */
struct cond *
sigma_det_item(struct sc *S, const yt_node *n)
{
	if (n->kind == YT_MAP)
		return map_cond(S, n);
	if (n->kind == YT_SCALAR) {
		if (node_is_null(n)) {
			sigma_bad(S, n, "empty search identifier");
			return NULL;
		}
		return field_test(S, n, NULL, 0, NULL, n, 1);
	}
	if (n->n == 0) {
		sigma_bad(S, n, "empty list in a detection");
		return NULL;
	}
	{
		struct cond *or = sigma_cond_new(S, COND_OR);
		int scalars = 0;

		if (or == NULL)
			return NULL;
		for (size_t i = 0; i < n->n; i++) {
			const yt_node *it = n->items[i];

			if (it->kind == YT_SCALAR) {
				scalars++;
			} else if (it->kind == YT_MAP) {
				if (sigma_cond_add(S, or, map_cond(S, it)))
					break;
			} else {
				sigma_bad(S, it,
				    "a list in a list in a detection");
				break;
			}
		}
		if (!S->bad && !S->oom && scalars > 0) {
			if (scalars == (int)n->n) {
				if (sigma_cond_add(S, or, field_test(S, n, NULL,
				    0, NULL,
				    n, 1))) {
					sigma_cond_free(or);
					return NULL;
				}
			} else {
				for (size_t i = 0; i < n->n; i++)
					if (n->items[i]->kind == YT_SCALAR &&
					    sigma_cond_add(S, or, field_test(S,
					    n->items[i], NULL, 0, NULL,
					    n->items[i], 1)))
						break;
			}
		}
		if (S->bad || S->oom) {
			sigma_cond_free(or);
			return NULL;
		}
		return sigma_cond_flatten(or);
	}
}
