/*
 * load.c - the one loader: rule and decoder files (YAML) compiled into a
 * ruleset with their Sigma rules (rules/sigma/) and the correlation rules
 * of both (rules/correlate.c): key tables, regex compilation (JIT, with
 * limits), id and parent checks, field checks, routing tables, and the
 * diagnostics for all of it.  The engine, tocsind -t and every `tocsin
 * rules` and `drill check` command call ruleset_load, so they accept and
 * refuse the same sets.
 *
 * Loading is all-or-nothing and loud: every problem found is reported with
 * its file, line and column, and any error refuses the whole set.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/names.h"
#include "rules/rules_int.h"
#include "rules/sigma/sigma.h"
#include "rules/correlate.h"
#include "common/util.h"
#include "common/yamltree.h"

/* A rule mapping with a `correlation:` key, compiled once every rule it
 * may count is known. */
struct corr_src {
	const char		*file;
	const yt_node		*node;
};

struct loader {
	struct ruleset		*rs;
	struct rules_diags	*dl;
	size_t			 rcap, dcap, fcap;
	int			 oom;
	struct corr_src		*corr;		/* native correlation rules */
	size_t			 ncorr;
	struct corr_rule	**scorr;	/* Sigma correlations compiled */
	size_t			 nscorr;
};

/* ---- diagnostics ------------------------------------------------------- */

static void diag(struct loader *, const char *, int, int, int,
    const char *, ...) __attribute__((format(printf, 6, 7)));

/* Append one diagnostic; on allocation failure remember it (load fails). */
static void
diag(struct loader *L, const char *file, int line, int col, int warning,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (rules_diags_vadd(L->dl, file, line, col, warning, fmt, ap) != 0)
		L->oom = 1;
	va_end(ap);
}

#define ERR(L, f, n, ...)	diag((L), (f), (n)->line, (n)->col, 0, __VA_ARGS__)

/* A yamltree error "file:line:col: message" turned into a diagnostic. */
static void
diag_yaml(struct loader *L, const char *file, const char *err)
{
	size_t fl = strlen(file);
	const char *p = err, *q;
	uint64_t line = 0, col = 0;

	if (strncmp(err, file, fl) == 0 && err[fl] == ':') {
		p = err + fl + 1;
		for (q = p; *q >= '0' && *q <= '9'; q++)
			;
		if (q > p && *q == ':' && parse_u64(p, (size_t)(q - p),
		    1u << 30, &line) == 0) {
			p = q + 1;
			for (q = p; *q >= '0' && *q <= '9'; q++)
				;
			if (q > p && *q == ':' && parse_u64(p,
			    (size_t)(q - p), 1u << 30, &col) == 0) {
				p = q + 1;
				while (*p == ' ')
					p++;
			} else {
				line = 0;
				p = err;
			}
		} else {
			p = err;
		}
	}
	if (line == 0 && p != err)
		p = err;
	diag(L, file, (int)line, (int)col, 0, "%s", p);
}

/* ---- small helpers -------------------------------------------------------- */

static const char *
kind_name(const yt_node *n)
{
	switch (n->kind) {
	case YT_SCALAR: return "a string";
	case YT_SEQ: return "a list";
	case YT_MAP: return "a mapping";
	}
	return "?";
}

/* Report every key of map that is not in known (NULL-terminated). */
static int
check_keys(struct loader *L, const char *file, const yt_node *map,
    const char *const *known, const char *what)
{
	char list[512];
	size_t off = 0;
	int bad = 0;

	list[0] = '\0';
	for (size_t k = 0; known[k] != NULL && off < sizeof(list); k++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    k ? ", " : "", known[k]);
	for (size_t i = 0; i < map->n; i++) {
		const yt_node *key = map->keys[i];
		size_t k;

		for (k = 0; known[k] != NULL; k++)
			if (strcmp(key->str, known[k]) == 0)
				break;
		if (known[k] == NULL) {
			char esc[128];

			escape_text(key->str, key->len, esc, sizeof(esc));
			ERR(L, file, key, "unknown key '%s' in %s (known: %s)",
			    esc, what, list);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static const yt_node *
map_get(const yt_node *map, const char *key, const yt_node **keynode)
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

/* A non-empty string scalar, copied.  NULL (with a diagnostic) otherwise. */
static char *
get_str(struct loader *L, const char *file, const yt_node *n,
    const char *what)
{
	char *s;

	if (n->kind != YT_SCALAR) {
		ERR(L, file, n, "%s must be a string, not %s", what,
		    kind_name(n));
		return NULL;
	}
	if (n->len == 0 || yt_is_null(n)) {
		ERR(L, file, n, "%s must not be empty", what);
		return NULL;
	}
	if (memchr(n->str, '\0', n->len) != NULL) {
		ERR(L, file, n, "%s must not contain NUL bytes", what);
		return NULL;
	}
	if ((s = strdup(n->str)) == NULL)
		L->oom = 1;
	return s;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/* A string or a list of strings, copied into *out (n of them). */
static int
get_strv(struct loader *L, const char *file, const yt_node *n,
    const char *what, char ***out, size_t *nout)
{
	size_t cnt = n->kind == YT_SEQ ? n->n : 1;
	char **v;

	*out = NULL;
	*nout = 0;
	if (n->kind == YT_MAP) {
		ERR(L, file, n, "%s must be a string or a list of strings",
		    what);
		return -1;
	}
	if (n->kind == YT_SEQ && n->n == 0) {
		ERR(L, file, n, "%s must not be an empty list", what);
		return -1;
	}
	if (cnt > MAX_LEAF_VALUES) {
		ERR(L, file, n, "%s has more than %d entries", what,
		    MAX_LEAF_VALUES);
		return -1;
	}
	if ((v = calloc(cnt, sizeof(*v))) == NULL) {
		L->oom = 1;
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		v[i] = get_str(L, file, n->kind == YT_SEQ ? n->items[i] : n,
		    what);
		if (v[i] == NULL) {
			strv_free(v, cnt);
			return -1;
		}
	}
	*out = v;
	*nout = cnt;
	return 0;
}

/* Id of a field name, adding it to the table if new; -1 on ENOMEM. */
static int
field_id(struct loader *L, const char *name, size_t len)
{
	int id = rules_field_id(L->rs, name, len, &L->fcap);

	if (id < 0) {
		L->oom = 1;
		return -1;
	}
	return id;
}

/* ---- regexes ------------------------------------------------------------ */

/*
 * Compile pattern node n into rx (JIT; literal gate from litnode or
 * extracted).  Errors are reported at n.  0 or -1.
 */
static int
rx_compile(struct loader *L, const char *file, const yt_node *n,
    uint32_t opts, const yt_node *litnode, struct rx *rx)
{
	int errcode;
	PCRE2_SIZE erroff;
	uint32_t cap = 0;

	memset(rx, 0, sizeof(*rx));
	if ((rx->src = get_str(L, file, n, "a regex")) == NULL)
		return -1;
	rx->code = pcre2_compile((PCRE2_SPTR)n->str, n->len, opts, &errcode,
	    &erroff, NULL);
	if (rx->code == NULL) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof(msg));
		ERR(L, file, n, "regex error at offset %zu: %s",
		    (size_t)erroff, (char *)msg);
		return -1;
	}
	/* Without JIT (unsupported platform) the interpreter still runs with
	 * the same limits, only slower. */
	(void)pcre2_jit_compile(rx->code, PCRE2_JIT_COMPLETE);
	pcre2_pattern_info(rx->code, PCRE2_INFO_CAPTURECOUNT, &cap);
	if (cap > L->rs->max_groups)
		L->rs->max_groups = cap;
	if (litnode != NULL) {
		if ((rx->lit = get_str(L, file, litnode, "literal")) == NULL)
			return -1;
		rx->lit_len = strlen(rx->lit);
		if (!(opts & PCRE2_CASELESS) && strstr(rx->src, rx->lit) == NULL)
			diag(L, file, litnode->line, litnode->col, 1,
			    "literal '%s' does not appear in the regex; "
			    "make sure every match contains it", rx->lit);
	} else if (!(opts & PCRE2_CASELESS)) {
		if (rules_extract_literal(rx->src, &rx->lit, &rx->lit_len))
			L->oom = 1;
	}
	if (!(opts & PCRE2_CASELESS) &&
	    rules_extract_prefix(rx->src, &rx->pre, &rx->pre_len))
		L->oom = 1;
	return 0;
}

static void
rx_free(struct rx *rx)
{
	pcre2_code_free(rx->code);
	free(rx->src);
	free(rx->lit);
	free(rx->pre);
	memset(rx, 0, sizeof(*rx));
}

/* ---- conditions --------------------------------------------------------- */

static void
cond_free(struct cond *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->nkids; i++)
		cond_free(c->kids[i]);
	free(c->kids);
	strv_free(c->leaf.vals, c->leaf.nvals);
	free(c->leaf.lens);
	rx_free(&c->leaf.rx);
	free(c->leaf.cidrs);
	free(c);
}

static struct cond *
cond_new(struct loader *L, enum cond_kind kind)
{
	struct cond *c = calloc(1, sizeof(*c));

	if (c == NULL)
		L->oom = 1;
	else
		c->kind = kind;
	return c;
}

static int
cond_add(struct loader *L, struct cond *parent, struct cond *kid)
{
	struct cond **nk = realloc(parent->kids,
	    (parent->nkids + 1) * sizeof(*nk));

	if (nk == NULL) {
		L->oom = 1;
		cond_free(kid);
		return -1;
	}
	parent->kids = nk;
	parent->kids[parent->nkids++] = kid;
	return 0;
}

/* A string-valued leaf (equals, contains, ...) from node n. */
static struct cond *
leaf_strings(struct loader *L, const char *file, const yt_node *n, int field,
    enum leaf_op op, int nocase, const char *what)
{
	struct cond *c = cond_new(L, COND_LEAF);

	if (c == NULL)
		return NULL;
	c->leaf.field = field;
	c->leaf.op = op;
	c->leaf.nocase = nocase;
	if (get_strv(L, file, n, what, &c->leaf.vals, &c->leaf.nvals))
		goto fail;
	if ((c->leaf.lens = calloc(c->leaf.nvals, sizeof(size_t))) == NULL) {
		L->oom = 1;
		goto fail;
	}
	for (size_t i = 0; i < c->leaf.nvals; i++)
		c->leaf.lens[i] = strlen(c->leaf.vals[i]);
	return c;
fail:
	cond_free(c);
	return NULL;
}

static struct cond *
leaf_cidr(struct loader *L, const char *file, const yt_node *n, int field)
{
	struct cond *c = cond_new(L, COND_LEAF);
	char **v = NULL;
	size_t nv = 0;
	int bad = 0;

	if (c == NULL)
		return NULL;
	c->leaf.field = field;
	c->leaf.op = LEAF_CIDR;
	if (get_strv(L, file, n, "cidr", &v, &nv))
		goto fail;
	if ((c->leaf.cidrs = calloc(nv, sizeof(struct cidr))) == NULL) {
		L->oom = 1;
		goto fail;
	}
	for (size_t i = 0; i < nv; i++) {
		const yt_node *at = n->kind == YT_SEQ ? n->items[i] : n;

		if (rules_parse_cidr(v[i], &c->leaf.cidrs[i]) != 0) {
			ERR(L, file, at, "bad CIDR '%s' (want 10.0.0.0/8, "
			    "2001:db8::/32 or an address)", v[i]);
			bad = 1;
		}
	}
	c->leaf.ncidrs = nv;
	strv_free(v, nv);
	if (bad)
		goto fail_c;
	return c;
fail:
	strv_free(v, nv);
fail_c:
	cond_free(c);
	return NULL;
}

static struct cond *
leaf_regex(struct loader *L, const char *file, const yt_node *n, int field,
    int nocase, const yt_node *litnode)
{
	struct cond *c = cond_new(L, COND_LEAF);

	if (c == NULL)
		return NULL;
	c->leaf.field = field;
	c->leaf.op = LEAF_REGEX;
	c->leaf.nocase = nocase;
	if (rx_compile(L, file, n, nocase ? PCRE2_CASELESS : 0, litnode,
	    &c->leaf.rx)) {
		cond_free(c);
		return NULL;
	}
	return c;
}

/* Keys of a field test mapping: one row per operator. */
static const struct field_op {
	const char	*key;
	enum leaf_op	 op;
} field_ops[] = {
	{ "equals",	LEAF_EQUALS },
	{ "in",		LEAF_EQUALS },
	{ "contains",	LEAF_CONTAINS },
	{ "startswith",	LEAF_STARTSWITH },
	{ "endswith",	LEAF_ENDSWITH },
	{ "regex",	LEAF_REGEX },
	{ "cidr",	LEAF_CIDR },
};
static const char *const field_keys[] = { "equals", "in", "contains",
	"startswith", "endswith", "regex", "cidr", "nocase", "literal", NULL };

/* Compile the tests of one field (value node v) into and, with regex tests
 * at the end (cheap tests first).  0 or -1. */
static int
compile_field(struct loader *L, const char *file, struct rule *r,
    const yt_node *key, const yt_node *v, struct cond *and)
{
	int fid, nocase = 0, bad = 0;
	const yt_node *nc, *lit;
	struct cond *c;

	if (!name_valid(NAME_FIELD, key->str, key->len)) {
		ERR(L, file, key, "bad field name (1 to %d printable bytes, "
		    "no leading or trailing space)", MAX_JSON_PATH_BYTES);
		return -1;
	}
	if ((fid = field_id(L, key->str, key->len)) < 0)
		return -1;
	{
		struct fieldref *nf = realloc(r->frefs,
		    (r->nfrefs + 1) * sizeof(*nf));

		if (nf == NULL) {
			L->oom = 1;
			return -1;
		}
		r->frefs = nf;
		nf[r->nfrefs].field = fid;
		nf[r->nfrefs].line = key->line;
		nf[r->nfrefs].col = key->col;
		r->nfrefs++;
	}
	if (v->kind != YT_MAP) {	/* plain value or list: equals */
		if ((c = leaf_strings(L, file, v, fid, LEAF_EQUALS, 0,
		    "field value")) == NULL)
			return -1;
		return cond_add(L, and, c);
	}
	if (check_keys(L, file, v, field_keys, "field test"))
		bad = 1;
	if (v->n == 0) {
		ERR(L, file, v, "empty field test (use equals, in, regex, "
		    "cidr, contains, startswith or endswith)");
		return -1;
	}
	if ((nc = map_get(v, "nocase", NULL)) != NULL) {
		if (nc->kind == YT_SCALAR && (strcmp(nc->str, "true") == 0 ||
		    strcmp(nc->str, "false") == 0))
			nocase = strcmp(nc->str, "true") == 0;
		else {
			ERR(L, file, nc, "nocase must be true or false");
			bad = 1;
		}
	}
	lit = map_get(v, "literal", NULL);
	if (lit != NULL && map_get(v, "regex", NULL) == NULL) {
		ERR(L, file, lit, "literal is only for a regex test");
		bad = 1;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < sizeof(field_ops) / sizeof(field_ops[0]);
		    k++) {
			const struct field_op *fo = &field_ops[k];
			const yt_node *val = map_get(v, fo->key, NULL);

			if (val == NULL || (pass == 0) == (fo->op == LEAF_REGEX))
				continue;
			if (fo->op == LEAF_REGEX)
				c = leaf_regex(L, file, val, fid, nocase, lit);
			else if (fo->op == LEAF_CIDR)
				c = leaf_cidr(L, file, val, fid);
			else if (strcmp(fo->key, "equals") == 0 &&
			    val->kind != YT_SCALAR) {
				ERR(L, file, val, "equals takes one string "
				    "(use in: for a list)");
				c = NULL;
			} else
				c = leaf_strings(L, file, val, fid, fo->op,
				    nocase, fo->key);
			if (c == NULL || cond_add(L, and, c))
				bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* ---- decoders ----------------------------------------------------------- */

static void
decoder_free(struct decoder *d)
{
	if (d == NULL)
		return;
	free(d->name);
	free(d->file);
	strv_free(d->programs, d->nprograms);
	for (size_t i = 0; i < d->naliases; i++)
		free(d->aliases[i].src);
	free(d->aliases);
	rx_free(&d->rx);
	free(d->group_field);
	strv_free(d->time.formats, d->time.nformats);
	free(d->xforms);
	free(d->set_field);
	strv_free(d->set_val, d->nset);
	free(d->set_len);
	free(d);
}

static const char *const decoder_keys[] = { "name", "type", "program",
	"match", "literal", "fields", "description", "time", "urldecode",
	"formdecode", "set", NULL };

static const char *const time_keys[] = { "field", "format", "zone", NULL };

/* Whether decoder d produces field id f (a named group or an alias; a
 * structured decoder may produce any field). */
static int
decoder_produces(const struct decoder *d, int f)
{
	if (d->type != DEC_REGEX)
		return 1;
	for (uint32_t g = 0; d->group_field != NULL && g <= d->ngroups; g++)
		if (d->group_field[g] == f)
			return 1;
	for (size_t i = 0; i < d->naliases; i++)
		if (d->aliases[i].dst == f)
			return 1;
	for (size_t i = 0; i < d->nxforms; i++)
		if (d->xforms[i].dst == f)
			return 1;
	for (size_t i = 0; i < d->nset; i++)
		if (d->set_field[i] == f)
			return 1;
	return 0;
}

static int alias_source(struct loader *L, const struct decoder *d,
    const char *s, size_t n);

/* `set: {FIELD: VALUE}`: constant fields of every event the decoder
 * decodes.  0, or -1 on an error (reported) or out of memory (L->oom). */
static int
load_set(struct loader *L, const char *file, struct decoder *d,
    const yt_node *v)
{
	if (v->kind != YT_MAP) {
		ERR(L, file, v, "set must be a mapping of field name to a "
		    "constant value, not %s", kind_name(v));
		return -1;
	}
	if ((d->set_field = calloc(v->n + 1, sizeof(int))) == NULL ||
	    (d->set_val = calloc(v->n + 1, sizeof(char *))) == NULL ||
	    (d->set_len = calloc(v->n + 1, sizeof(size_t))) == NULL) {
		L->oom = 1;
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		const yt_node *k = v->keys[i], *val = v->items[i];
		size_t j = d->nset;

		if (!name_valid(NAME_FIELD, k->str, k->len) ||
		    rules_builtin_name(k->str, k->len)) {
			ERR(L, file, k, "bad field name '%s' (not a header "
			    "field)", k->str);
			continue;
		}
		if (val->kind != YT_SCALAR) {
			ERR(L, file, val, "the value of '%s' must be a string",
			    k->str);
			continue;
		}
		if ((d->set_field[j] = field_id(L, k->str, k->len)) < 0)
			return -1;
		if ((d->set_val[j] = strdup(val->str)) == NULL) {
			L->oom = 1;
			return -1;
		}
		d->set_len[j] = val->len;
		d->nset++;
	}
	return 0;
}

/* `urldecode: {DST: SRC}` / `formdecode: {DST: SRC}` (form: '+' is a
 * space too): DST takes SRC's value URL-decoded.  0, or -1 on an error
 * (reported) or out of memory (L->oom). */
static int
load_xforms(struct loader *L, const char *file, struct decoder *d,
    const yt_node *v, int form)
{
	struct urlxf *nx;

	if (v->kind != YT_MAP) {
		ERR(L, file, v, "%s must be a mapping of new field name to "
		    "source field, not %s", form ? "formdecode" : "urldecode",
		    kind_name(v));
		return -1;
	}
	if ((nx = realloc(d->xforms, (d->nxforms + v->n + 1) *
	    sizeof(*nx))) == NULL) {
		L->oom = 1;
		return -1;
	}
	d->xforms = nx;
	for (size_t i = 0; i < v->n; i++) {
		const yt_node *k = v->keys[i], *src = v->items[i];
		struct urlxf *x = &d->xforms[d->nxforms];

		if (!name_valid(NAME_FIELD, k->str, k->len) ||
		    rules_builtin_name(k->str, k->len)) {
			ERR(L, file, k, "bad field name '%s' (not a header "
			    "field)", k->str);
			continue;
		}
		if (src->kind != YT_SCALAR ||
		    !name_valid(NAME_FIELD, src->str, src->len)) {
			ERR(L, file, src, "the source of '%s' must be a field "
			    "name", k->str);
			continue;
		}
		if ((x->dst = field_id(L, k->str, k->len)) < 0 ||
		    (x->src = alias_source(L, d, src->str, src->len)) < 0)
			return -1;
		if (!decoder_produces(d, x->src))
			ERR(L, file, src, "field '%s' is not produced by this "
			    "decoder", src->str);
		x->form = form;
		d->nxforms++;
	}
	return 0;
}

/* `time: {field: F, format: FMT | [FMT, ...], zone: UTC | local | +hh:mm}`:
 * the event's time from field F of this decoder (rules/evtime.c).  0, or
 * -1 on an error (reported) or out of memory (L->oom). */
static int
load_time(struct loader *L, const char *file, struct decoder *d,
    const yt_node *n)
{
	const yt_node *v;
	char *s;

	d->time.field = -1;
	if (n->kind != YT_MAP) {
		ERR(L, file, n, "time must be a mapping (field, format, zone), "
		    "not %s", kind_name(n));
		return -1;
	}
	if (check_keys(L, file, n, time_keys, "time"))
		return -1;
	if ((v = map_get(n, "field", NULL)) == NULL) {
		ERR(L, file, n, "time without a field");
		return -1;
	}
	if ((s = get_str(L, file, v, "field")) == NULL)
		return -1;
	if (!name_valid(NAME_FIELD, s, strlen(s))) {
		ERR(L, file, v, "bad field name '%s'", s);
		free(s);
		return -1;
	}
	d->time.field = field_id(L, s, strlen(s));
	if (d->time.field >= 0 && !decoder_produces(d, d->time.field))
		ERR(L, file, v, "time field '%s' is not produced by this "
		    "decoder", s);
	free(s);
	if (d->time.field < 0)
		return -1;
	if ((v = map_get(n, "format", NULL)) == NULL) {
		ERR(L, file, n, "time without a format");
		return -1;
	}
	if (get_strv(L, file, v, "format", &d->time.formats,
	    &d->time.nformats))
		return -1;
	for (size_t i = 0; i < d->time.nformats; i++) {
		const char *bad = NULL, *f = d->time.formats[i];

		if (evtime_check_format(f, &bad) == 0)
			continue;
		if (*f == '\0')
			ERR(L, file, v->kind == YT_SEQ ? v->items[i] : v,
			    "empty time format");
		else
			ERR(L, file, v->kind == YT_SEQ ? v->items[i] : v,
			    "bad time format '%s': unknown directive '%.2s' "
			    "at offset %d", f, bad, (int)(bad - f));
	}
	if ((v = map_get(n, "zone", NULL)) != NULL) {
		if ((s = get_str(L, file, v, "zone")) == NULL)
			return -1;
		if (evtime_parse_zone(s, &d->time.zone, &d->time.zone_off_s))
			ERR(L, file, v, "bad time zone '%s' (UTC, local, or an "
			    "offset +hh:mm)", s);
		free(s);
	}
	return 0;
}

/* Prefix the structured decoders give a key named like a header field. */
static const char *
dec_type_prefix(enum dec_type t)
{
	return t == DEC_JSON ? "json" : t == DEC_CEF ? "cef" :
	    t == DEC_AUDIT ? "audit" : t == DEC_KV ? "kv" : t == DEC_W3C ?
	    "w3c" : "win";
}

static const char *
dec_type_name(enum dec_type t)
{
	return t == DEC_JSON ? "json" : t == DEC_CEF ? "cef" :
	    t == DEC_WINEVT ? "windows" : t == DEC_W3C ? "w3c" :
	    t == DEC_AUDIT ? "audit" : t == DEC_KV ? "kv" : "regex";
}

/* A source path of an alias: a header field name means the decoded key of
 * that name, which the structured decoders call "json.KEY" / "cef.KEY". */
static int
alias_source(struct loader *L, const struct decoder *d, const char *s,
    size_t n)
{
	char buf[MAX_JSON_PATH_BYTES + 8];

	if (d->type != DEC_REGEX && rules_builtin_name(s, n)) {
		int k = snprintf(buf, sizeof(buf), "%s.%.*s",
		    dec_type_prefix(d->type), (int)n, s);

		return field_id(L, buf, (size_t)k);
	}
	return field_id(L, s, n);
}

/* `fields: {NEW: SOURCE}` or `{NEW: [SOURCE, ...]}`: aliases.  0 or -1. */
static int
load_aliases(struct loader *L, const char *file, struct decoder *d,
    const yt_node *v)
{
	if (v->kind != YT_MAP) {
		ERR(L, file, v, "decoder fields must be a mapping of new "
		    "field name to source field (or list of them), not %s",
		    kind_name(v));
		return -1;
	}
	if ((d->aliases = calloc(v->n ? v->n : 1, sizeof(*d->aliases))) ==
	    NULL) {
		L->oom = 1;
		return -1;
	}
	for (size_t i = 0; i < v->n; i++) {
		const yt_node *k = v->keys[i], *src = v->items[i];
		struct alias *al = &d->aliases[d->naliases];
		char **names = NULL;
		size_t nn = 0;

		if (!name_valid(NAME_FIELD, k->str, k->len) ||
		    rules_builtin_name(k->str, k->len)) {
			ERR(L, file, k, "bad field name '%s' (1 to %d printable "
			    "bytes; not a header field)", k->str,
			    MAX_JSON_PATH_BYTES);
			continue;
		}
		if (get_strv(L, file, src, "alias source", &names, &nn))
			continue;
		if ((al->src = calloc(nn, sizeof(int))) == NULL) {
			strv_free(names, nn);
			L->oom = 1;
			return -1;
		}
		if ((al->dst = field_id(L, k->str, k->len)) < 0) {
			free(al->src);
			strv_free(names, nn);
			return -1;
		}
		for (size_t j = 0; j < nn; j++) {
			size_t sl = strlen(names[j]);

			if (!name_valid(NAME_FIELD, names[j], sl))
				ERR(L, file, src->kind == YT_SEQ ?
				    src->items[j] : src, "bad field name "
				    "'%s'", names[j]);
			else if ((al->src[al->nsrc++] = alias_source(L, d,
			    names[j], sl)) < 0) {
				free(al->src);
				strv_free(names, nn);
				return -1;
			}
		}
		strv_free(names, nn);
		d->naliases++;
	}
	return 0;
}

static void
load_decoder(struct loader *L, const char *file, const yt_node *n)
{
	struct ruleset *rs = L->rs;
	struct decoder *d;
	const yt_node *v, *match;
	uint32_t namecount = 0, entsize = 0;
	PCRE2_SPTR table;

	if (n->kind != YT_MAP) {
		ERR(L, file, n, "a decoder must be a mapping, not %s",
		    kind_name(n));
		return;
	}
	(void)check_keys(L, file, n, decoder_keys, "decoder");
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		L->oom = 1;
		return;
	}
	d->line = n->line;
	d->time.field = -1;
	if ((d->file = strdup(file)) == NULL)
		goto oom;
	if ((v = map_get(n, "name", NULL)) == NULL)
		ERR(L, file, n, "decoder without a name");
	else if ((d->name = get_str(L, file, v, "name")) != NULL &&
	    !name_valid_str(NAME_RULE_ID, d->name))
		ERR(L, file, v, "bad decoder name (letters, digits, '.', '_', "
		    "'-')");
	if ((v = map_get(n, "program", NULL)) != NULL)
		(void)get_strv(L, file, v, "program", &d->programs,
		    &d->nprograms);
	if ((v = map_get(n, "type", NULL)) != NULL) {
		if (v->kind == YT_SCALAR && strcmp(v->str, "json") == 0)
			d->type = DEC_JSON;
		else if (v->kind == YT_SCALAR && strcmp(v->str, "cef") == 0)
			d->type = DEC_CEF;
		else if (v->kind == YT_SCALAR &&
		    strcmp(v->str, "windows") == 0)
			d->type = DEC_WINEVT;
		else if (v->kind == YT_SCALAR && strcmp(v->str, "w3c") == 0)
			d->type = DEC_W3C;
		else if (v->kind == YT_SCALAR && strcmp(v->str, "audit") == 0)
			d->type = DEC_AUDIT;
		else if (v->kind == YT_SCALAR && strcmp(v->str, "kv") == 0)
			d->type = DEC_KV;
		else if (!(v->kind == YT_SCALAR && strcmp(v->str, "regex") == 0))
			ERR(L, file, v, "unknown decoder type (known: regex, "
			    "json, cef, windows, w3c, audit, kv)");
	}
	if ((v = map_get(n, "fields", NULL)) != NULL &&
	    load_aliases(L, file, d, v) && L->oom)
		goto oom;
	match = map_get(n, "match", NULL);
	if (d->type != DEC_REGEX) {
		if (match != NULL)
			ERR(L, file, match, "a %s decoder takes no match",
			    dec_type_name(d->type));
		if ((v = map_get(n, "literal", NULL)) != NULL)
			ERR(L, file, v, "a %s decoder takes no literal",
			    dec_type_name(d->type));
		goto done;
	}
	if (match == NULL) {
		ERR(L, file, n, "decoder without match (or type: json / cef / "
		    "windows / w3c)");
		goto done;
	}
	if (rx_compile(L, file, match, 0, map_get(n, "literal", NULL),
	    &d->rx))
		goto done;
	pcre2_pattern_info(d->rx.code, PCRE2_INFO_CAPTURECOUNT, &d->ngroups);
	if ((d->group_field = malloc((d->ngroups + 1) * sizeof(int))) == NULL)
		goto oom;
	for (uint32_t i = 0; i <= d->ngroups; i++)
		d->group_field[i] = -1;
	pcre2_pattern_info(d->rx.code, PCRE2_INFO_NAMECOUNT, &namecount);
	pcre2_pattern_info(d->rx.code, PCRE2_INFO_NAMEENTRYSIZE, &entsize);
	pcre2_pattern_info(d->rx.code, PCRE2_INFO_NAMETABLE, &table);
	if (namecount == 0)
		diag(L, file, match->line, match->col, 1, "decoder regex has "
		    "no named group (?<field>...): it produces no field");
	for (uint32_t i = 0; i < namecount; i++) {
		PCRE2_SPTR e = table + (size_t)i * entsize;
		unsigned num = ((unsigned)e[0] << 8) | e[1];
		const char *name = (const char *)e + 2;
		int fid;

		if (strcmp(name, "message") == 0 || strcmp(name, "program") == 0) {
			ERR(L, file, match, "decoder field '%s' is set by the "
			    "syslog header", name);
			continue;
		}
		if ((fid = field_id(L, name, strlen(name))) < 0)
			goto oom;
		if (num <= d->ngroups)
			d->group_field[num] = fid;
	}
done:
	if ((v = map_get(n, "time", NULL)) != NULL &&
	    load_time(L, file, d, v) && L->oom)
		goto oom;
	if ((v = map_get(n, "set", NULL)) != NULL &&
	    load_set(L, file, d, v) && L->oom)
		goto oom;
	if ((v = map_get(n, "urldecode", NULL)) != NULL &&
	    load_xforms(L, file, d, v, 0) && L->oom)
		goto oom;
	if ((v = map_get(n, "formdecode", NULL)) != NULL &&
	    load_xforms(L, file, d, v, 1) && L->oom)
		goto oom;
	if (rs->ndecoders == L->dcap) {
		size_t ncap = L->dcap ? L->dcap * 2 : 16;
		struct decoder **nd = realloc(rs->decoders, ncap * sizeof(*nd));

		if (nd == NULL)
			goto oom;
		rs->decoders = nd;
		L->dcap = ncap;
	}
	rs->decoders[rs->ndecoders++] = d;
	return;
oom:
	L->oom = 1;
	decoder_free(d);
}

/* ---- rules -------------------------------------------------------------- */

static void
rule_free(struct rule *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->title);
	free(r->description);
	free(r->author);
	free(r->file);
	strv_free(r->mitre, r->info.nmitre);
	strv_free(r->groups, r->info.ngroups);
	free(r->frefs);
	strv_free(r->programs, r->nprograms);
	free(r->parent_id);
	free(r->kids);
	cond_free(r->cond);
	free(r);
}

static const char *const rule_keys[] = { "id", "title", "level",
	"description", "author", "mitre", "groups", "program", "if_rule",
	"match", "literal", "fields", NULL };

static void
load_rule(struct loader *L, const char *file, const yt_node *n)
{
	struct ruleset *rs = L->rs;
	struct rule *r;
	const yt_node *v, *match;
	struct cond *and = NULL, *c;
	uint64_t lvl;

	if (n->kind != YT_MAP) {
		ERR(L, file, n, "a rule must be a mapping, not %s",
		    kind_name(n));
		return;
	}
	if (map_get(n, "correlation", NULL) != NULL) {
		/* a correlation rule (rules/correlate.c): compiled after
		 * linking, when every rule id it may count is known */
		struct corr_src *nc = realloc(L->corr,
		    (L->ncorr + 1) * sizeof(*nc));

		if (nc == NULL) {
			L->oom = 1;
			return;
		}
		L->corr = nc;
		nc[L->ncorr].file = file;
		nc[L->ncorr].node = n;
		L->ncorr++;
		return;
	}
	if (rs->nrules >= MAX_RULES) {
		if (rs->nrules == MAX_RULES)
			ERR(L, file, n, "more than %d rules", MAX_RULES);
		return;
	}
	(void)check_keys(L, file, n, rule_keys, "rule");
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		L->oom = 1;
		return;
	}
	r->idx = rs->nrules;
	r->info.line = n->line;
	r->col = n->col;
	r->info.level = -1;
	if ((r->file = strdup(file)) == NULL)
		goto oom;
	if ((v = map_get(n, "id", NULL)) == NULL)
		ERR(L, file, n, "rule without an id");
	else if ((r->id = get_str(L, file, v, "id")) != NULL &&
	    !name_valid_str(NAME_RULE_ID, r->id))
		ERR(L, file, v, "bad rule id (1 to %d letters, digits, '.', "
		    "'_', '-')", MAX_RULE_ID_BYTES);
	if ((v = map_get(n, "title", NULL)) == NULL)
		ERR(L, file, n, "rule without a title");
	else
		r->title = get_str(L, file, v, "title");
	if ((v = map_get(n, "level", NULL)) == NULL)
		ERR(L, file, n, "rule without a level");
	else if (v->kind != YT_SCALAR || parse_u64(v->str, v->len,
	    UINT64_MAX, &lvl))
		ERR(L, file, v, "level must be a number from 0 to 15");
	else if (lvl > 15)
		ERR(L, file, v, "level %llu out of range 0..15",
		    (unsigned long long)lvl);
	else
		r->info.level = (int)lvl;
	if ((v = map_get(n, "description", NULL)) != NULL)
		r->description = get_str(L, file, v, "description");
	if ((v = map_get(n, "author", NULL)) != NULL)
		r->author = get_str(L, file, v, "author");
	if ((v = map_get(n, "mitre", NULL)) != NULL &&
	    get_strv(L, file, v, "mitre", &r->mitre, &r->info.nmitre) == 0) {
		for (size_t i = 0; i < r->info.nmitre; i++)
			if (!name_valid_str(NAME_MITRE, r->mitre[i]))
				ERR(L, file, v->kind == YT_SEQ ? v->items[i] : v,
				    "bad MITRE ATT&CK id '%s' (want T1110 or "
				    "T1110.001)", r->mitre[i]);
	}
	if ((v = map_get(n, "groups", NULL)) != NULL)
		(void)get_strv(L, file, v, "groups", &r->groups,
		    &r->info.ngroups);
	if ((v = map_get(n, "program", NULL)) != NULL)
		(void)get_strv(L, file, v, "program", &r->programs,
		    &r->nprograms);
	if ((v = map_get(n, "if_rule", NULL)) != NULL) {
		r->parent_id = get_str(L, file, v, "if_rule");
		r->if_line = v->line;
		r->if_col = v->col;
	}

	/* the condition: AND of program (children), fields, match */
	if ((and = cond_new(L, COND_AND)) == NULL)
		goto oom;
	if (r->parent_id != NULL && r->nprograms > 0) {
		if ((c = cond_new(L, COND_LEAF)) == NULL)
			goto oom;
		c->leaf.field = FIELD_PROGRAM;
		c->leaf.op = LEAF_EQUALS;
		c->leaf.lens = calloc(r->nprograms, sizeof(size_t));
		c->leaf.vals = calloc(r->nprograms, sizeof(char *));
		if (cond_add(L, and, c) || c->leaf.lens == NULL ||
		    c->leaf.vals == NULL)
			goto oom;
		for (size_t i = 0; i < r->nprograms; i++) {
			if ((c->leaf.vals[i] = strdup(r->programs[i])) == NULL)
				goto oom;
			c->leaf.nvals = i + 1;
			c->leaf.lens[i] = strlen(r->programs[i]);
		}
	}
	if ((v = map_get(n, "fields", NULL)) != NULL) {
		if (v->kind != YT_MAP)
			ERR(L, file, v, "fields must be a mapping of field "
			    "name to test, not %s", kind_name(v));
		else
			for (size_t i = 0; i < v->n; i++)
				(void)compile_field(L, file, r, v->keys[i],
				    v->items[i], and);
	}
	match = map_get(n, "match", NULL);
	v = map_get(n, "literal", NULL);
	if (v != NULL && (match == NULL || match->kind != YT_SCALAR))
		ERR(L, file, v, "literal needs a match: regex (one string)");
	if (match != NULL && match->kind == YT_SEQ) {
		struct cond *or = cond_new(L, COND_OR);

		if (or == NULL || cond_add(L, and, or))
			goto oom;
		if (match->n == 0)
			ERR(L, file, match, "match must not be an empty list");
		for (size_t i = 0; i < match->n; i++)
			if ((c = leaf_regex(L, file, match->items[i],
			    FIELD_MESSAGE, 0, NULL)) != NULL &&
			    cond_add(L, or, c))
				goto oom;
	} else if (match != NULL) {
		if ((c = leaf_regex(L, file, match, FIELD_MESSAGE, 0, v)) !=
		    NULL && cond_add(L, and, c))
			goto oom;
	}
	/* cheap tests first: a stable partition, regex leaves (and ORs of
	 * them) last */
	{
		size_t w = 0;
		struct cond *tmp;

		for (size_t pass = 0; pass < 2; pass++)
			for (size_t i = w; i < and->nkids; i++) {
				int rx = and->kids[i]->kind != COND_LEAF ||
				    and->kids[i]->leaf.op == LEAF_REGEX;

				if (rx != (int)pass)
					continue;
				tmp = and->kids[i];
				memmove(&and->kids[w + 1], &and->kids[w],
				    (i - w) * sizeof(*and->kids));
				and->kids[w++] = tmp;
			}
	}
	if (and->nkids == 0) {
		cond_free(and);
	} else if (and->nkids == 1) {
		r->cond = and->kids[0];
		free(and->kids);
		free(and);
	} else {
		r->cond = and;
	}
	and = NULL;

	r->info.id = r->id;
	r->info.title = r->title;
	r->info.description = r->description;
	r->info.author = r->author;
	r->info.mitre = (const char *const *)r->mitre;
	r->info.groups = (const char *const *)r->groups;
	r->info.file = r->file;
	if (rs->nrules == L->rcap) {
		size_t ncap = L->rcap ? L->rcap * 2 : 64;
		struct rule **nr = realloc(rs->rules, ncap * sizeof(*nr));

		if (nr == NULL)
			goto oom;
		rs->rules = nr;
		L->rcap = ncap;
	}
	rs->rules[rs->nrules++] = r;
	return;
oom:
	L->oom = 1;
	cond_free(and);
	rule_free(r);
}

/* ---- linking: ids, parents, fields, routes -------------------------------- */

static int
rule_cmp_id(const void *a, const void *b)
{
	const struct rule *x = *(const struct rule *const *)a;
	const struct rule *y = *(const struct rule *const *)b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static struct rule *
find_rule(struct rule **sorted, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(sorted[mid]->id, id);

		if (c == 0) {
			while (mid > 0 && strcmp(sorted[mid - 1]->id, id) == 0)
				mid--;
			return sorted[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int
str_in(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static void
link_rules(struct loader *L)
{
	struct ruleset *rs = L->rs;
	struct rule **sorted;
	size_t n = 0;

	if ((sorted = malloc((rs->nrules + 1) * sizeof(*sorted))) == NULL) {
		L->oom = 1;
		return;
	}
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i]->id != NULL)
			sorted[n++] = rs->rules[i];
	qsort(sorted, n, sizeof(*sorted), rule_cmp_id);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i]->id, sorted[i - 1]->id) == 0) {
			struct rule *first = find_rule(sorted, n, sorted[i]->id);

			diag(L, sorted[i]->file, sorted[i]->info.line,
			    sorted[i]->col, 0,
			    "duplicate rule id '%s' (first defined at %s:%d)",
			    sorted[i]->id, first->file, first->info.line);
		}
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i];

		if (r->parent_id == NULL)
			continue;
		r->parent = find_rule(sorted, n, r->parent_id);
		if (r->parent == NULL)
			diag(L, r->file, r->if_line, r->if_col, 0,
			    "if_rule '%s': no rule has this id", r->parent_id);
		else if (r->parent == r)
			diag(L, r->file, r->if_line, r->if_col, 0,
			    "if_rule '%s': a rule cannot be its own parent",
			    r->parent_id);
	}
	free(sorted);
	/* cycles and depth: walk up at most MAX_RULE_DEPTH steps */
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i], *p = r;
		int steps = 0;

		if (r->parent == NULL || r->parent == r)
			continue;
		while (p->parent != NULL && p->parent != p &&
		    steps <= MAX_RULE_DEPTH) {
			p = p->parent;
			steps++;
			if (p == r)
				break;
		}
		if (p == r)
			diag(L, r->file, r->if_line, r->if_col, 0,
			    "if_rule '%s': parent cycle (a chain of if_rule "
			    "leads back to '%s')", r->parent_id, r->id);
		else if (steps > MAX_RULE_DEPTH)
			diag(L, r->file, r->if_line, r->if_col, 0,
			    "if_rule '%s': chain of parents longer than %d "
			    "(or a cycle)", r->parent_id, MAX_RULE_DEPTH);
	}
	if (L->dl->errors > 0)
		return;
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i], *p = r->parent, **nk;

		if (p == NULL)
			continue;
		if ((nk = realloc(p->kids, (p->nkids + 1) * sizeof(*nk))) ==
		    NULL) {
			L->oom = 1;
			return;
		}
		p->kids = nk;
		p->kids[p->nkids++] = r;
	}
	for (size_t i = 0; i < rs->nrules; i++)
		rs->rules[i]->ignore = rs->rules[i]->info.level == 0 &&
		    rs->rules[i]->nkids == 0;
}

static int
decoder_routes(const struct decoder *d, const char *program)
{
	return d->nprograms == 0 || (program != NULL &&
	    str_in(d->programs, d->nprograms, program));
}

static int
decoder_makes(const struct decoder *d, int field)
{
	/* a JSON or CEF record may hold any key */
	if (d->type != DEC_REGEX)
		return 1;
	for (size_t i = 0; i < d->naliases; i++)
		if (d->aliases[i].dst == field)
			return 1;
	for (uint32_t g = 1; g <= d->ngroups; g++)
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

/* Every field a rule tests must come from the header or from a decoder
 * that runs for the rule's programs (its own or its nearest ancestor's). */
static void
check_fields(struct loader *L)
{
	struct ruleset *rs = L->rs;

	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i], *p = r;
		int depth = 0;

		while (p->nprograms == 0 && p->parent != NULL &&
		    depth++ < MAX_RULE_DEPTH)
			p = p->parent;
		for (size_t f = 0; f < r->nfrefs; f++) {
			const struct fieldref *fr = &r->frefs[f];
			const char *fname = rs->field_names[fr->field];
			size_t np = p->nprograms ? p->nprograms : 1;

			if (fr->field < FIELD_NBUILTIN)
				continue;
			for (size_t k = 0; k < np; k++) {
				const char *prog = p->nprograms ?
				    p->programs[k] : NULL;
				int routed = 0, made = 0;

				for (size_t d = 0; d < rs->ndecoders; d++) {
					const struct decoder *dec =
					    rs->decoders[d];

					if (prog != NULL &&
					    !decoder_routes(dec, prog))
						continue;
					routed = 1;
					if (decoder_makes(dec, fr->field))
						made = 1;
				}
				if (made)
					continue;
				if (prog != NULL && !routed)
					diag(L, r->file, fr->line, fr->col, 1,
					    "field '%s': no decoder for program "
					    "'%s'", fname, prog);
				else if (prog != NULL)
					diag(L, r->file, fr->line, fr->col, 0,
					    "field '%s' is not produced by any "
					    "decoder for program '%s'", fname,
					    prog);
				else
					diag(L, r->file, fr->line, fr->col, 0,
					    "field '%s' is not produced by any "
					    "decoder", fname);
			}
		}
		free(r->frefs);
		r->frefs = NULL;
		r->nfrefs = 0;
	}
}

static int
ptr_push(void ***v, size_t *n, void *p)
{
	void **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	nv[(*n)++] = p;
	*v = nv;
	return 0;
}

/* Fill a route's lists for program (NULL: the program-less items only). */
static int
route_fill(struct ruleset *rs, struct route *rt, const char *program)
{
	for (size_t d = 0; d < rs->ndecoders; d++) {
		struct decoder *dec = rs->decoders[d];

		if ((dec->nprograms == 0 || (program != NULL &&
		    str_in(dec->programs, dec->nprograms, program))) &&
		    ptr_push((void ***)&rt->decoders, &rt->ndecoders, dec))
			return -1;
	}
	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = rs->rules[i];

		if (r->parent != NULL)
			continue;
		if (!(r->nprograms == 0 || (program != NULL &&
		    str_in(r->programs, r->nprograms, program))))
			continue;
		if (r->ignore ? ptr_push((void ***)&rt->ignores, &rt->nignores, r)
		    : ptr_push((void ***)&rt->roots, &rt->nroots, r))
			return -1;
	}
	return 0;
}

static int
add_program(struct ruleset *rs, const char *prog, size_t *cap)
{
	for (size_t i = 0; i < rs->nroutes; i++)
		if (strcmp(rs->routes[i].program, prog) == 0)
			return 0;
	if (rs->nroutes == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct route *nr = realloc(rs->routes, ncap * sizeof(*nr));

		if (nr == NULL)
			return -1;
		rs->routes = nr;
		*cap = ncap;
	}
	memset(&rs->routes[rs->nroutes], 0, sizeof(struct route));
	if ((rs->routes[rs->nroutes].program = strdup(prog)) == NULL)
		return -1;
	rs->nroutes++;
	return 0;
}

static int
build_field_hash(struct ruleset *rs)
{
	rs->fhash_size = 16;
	while (rs->fhash_size < rs->nfield_names * 2 + 1)
		rs->fhash_size *= 2;
	if ((rs->fhash = calloc(rs->fhash_size, sizeof(uint32_t))) == NULL)
		return -1;
	for (size_t i = 0; i < rs->nfield_names; i++) {
		const char *p = rs->field_names[i];
		size_t h = rules_hash(p, strlen(p)) & (rs->fhash_size - 1);

		while (rs->fhash[h] != 0)
			h = (h + 1) & (rs->fhash_size - 1);
		rs->fhash[h] = (uint32_t)i + 1;
	}
	return 0;
}

static int
build_routes(struct ruleset *rs)
{
	size_t cap = 0;

	for (size_t d = 0; d < rs->ndecoders; d++)
		for (size_t k = 0; k < rs->decoders[d]->nprograms; k++)
			if (add_program(rs, rs->decoders[d]->programs[k], &cap))
				return -1;
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i]->parent == NULL)
			for (size_t k = 0; k < rs->rules[i]->nprograms; k++)
				if (add_program(rs, rs->rules[i]->programs[k],
				    &cap))
					return -1;
	for (size_t i = 0; i < rs->nroutes; i++)
		if (route_fill(rs, &rs->routes[i], rs->routes[i].program))
			return -1;
	if (route_fill(rs, &rs->any, NULL))
		return -1;
	rs->hash_size = 16;
	while (rs->hash_size < rs->nroutes * 2 + 1)
		rs->hash_size *= 2;
	if ((rs->hash = calloc(rs->hash_size, sizeof(uint32_t))) == NULL)
		return -1;
	for (size_t i = 0; i < rs->nroutes; i++) {
		const char *p = rs->routes[i].program;
		size_t h = rules_hash(p, strlen(p)) & (rs->hash_size - 1);

		while (rs->hash[h] != 0)
			h = (h + 1) & (rs->hash_size - 1);
		rs->hash[h] = (uint32_t)i + 1;
	}
	return 0;
}

/* ---- files and folders ---------------------------------------------------- */

static int
path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_rule_file(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
	    (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

/* Collect *.yml / *.yaml below dir (recursively, skipping dot entries). */
static int
walk_dir(struct loader *L, const char *dir, int depth, char ***files,
    size_t *n)
{
	DIR *dp;
	struct dirent *de;
	int rc = 0;

	if (depth > MAX_YAML_DEPTH) {
		diag(L, dir, 0, 0, 0, "folders nested too deep");
		return -1;
	}
	if ((dp = opendir(dir)) == NULL) {
		diag(L, dir, 0, 0, 0, "cannot open folder: %s", strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		char *p;

		if (de->d_name[0] == '.')
			continue;
		if ((p = xasprintf("%s/%s", dir, de->d_name)) == NULL) {
			L->oom = 1;
			rc = -1;
			break;
		}
		if (stat(p, &st) != 0) {
			diag(L, p, 0, 0, 0, "cannot stat: %s", strerror(errno));
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			(void)walk_dir(L, p, depth + 1, files, n);
			free(p);
		} else if (S_ISREG(st.st_mode) && is_rule_file(de->d_name)) {
			if (*n >= MAX_RULE_FILES) {
				diag(L, dir, 0, 0, 0, "more than %d rule files",
				    MAX_RULE_FILES);
				free(p);
				rc = -1;
				break;
			}
			if (ptr_push((void ***)files, n, p)) {
				free(p);
				L->oom = 1;
				rc = -1;
				break;
			}
		} else {
			free(p);
		}
	}
	closedir(dp);
	return rc;
}

static const char *const top_keys[] = { "decoders", "rules", NULL };

/* sigma_compile_all's add: keep a Sigma correlation until the native ones
 * are compiled (they come first in the set). */
static int
sigma_corr_keep(struct corr_rule *r, void *arg)
{
	struct loader *L = arg;
	struct corr_rule **nv = realloc(L->scorr,
	    (L->nscorr + 1) * sizeof(*nv));

	if (nv == NULL) {
		corr_rule_free(r);
		return -1;
	}
	L->scorr = nv;
	nv[L->nscorr++] = r;
	return 0;
}

/* Whether some document is a Sigma rule for product windows or declares a
 * decoder of type windows. */
static int
wants_windows(char **files, yt_doc ***docs, size_t *ndocs, size_t nfiles)
{
	(void)files;
	for (size_t i = 0; i < nfiles; i++)
		for (size_t k = 0; docs[i] != NULL && k < ndocs[i]; k++) {
			const yt_node *root = docs[i][k]->root, *v, *list;

			if (root == NULL || root->kind != YT_MAP)
				continue;
			v = map_get(map_get(root, "logsource", NULL),
			    "product", NULL);
			if (v != NULL && v->kind == YT_SCALAR &&
			    strcasecmp(v->str, "windows") == 0)
				return 1;
			list = map_get(root, "decoders", NULL);
			for (size_t j = 0; list != NULL &&
			    list->kind == YT_SEQ && j < list->n; j++) {
				v = list->items[j]->kind == YT_MAP ?
				    map_get(list->items[j], "type", NULL) :
				    NULL;
				if (v != NULL && v->kind == YT_SCALAR &&
				    strcmp(v->str, "windows") == 0)
					return 1;
			}
		}
	return 0;
}

int
ruleset_load(const char *const *paths, size_t npaths, ruleset_t **out,
    struct rules_diags *diags)
{
	struct loader L;
	struct ruleset *rs;
	char **files = NULL;
	size_t nfiles = 0;
	yt_doc ***docs = NULL;
	size_t *ndocs = NULL;
	size_t errors0 = diags->errors;
	int rc = TS_EPARSE;

	*out = NULL;
	memset(&L, 0, sizeof(L));
	L.dl = diags;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return TS_ENOMEM;
	L.rs = rs;
	/* the built-in fields come first, in FIELD_* order */
	{
		static const char *const builtin[FIELD_NBUILTIN] =
		    { "host", "program", "pid", "message", "agent", "msgid",
		      "source" };

		for (int i = 0; i < FIELD_NBUILTIN; i++)
			if (field_id(&L, builtin[i], strlen(builtin[i])) != i)
				goto fail;
	}
	if (npaths == 0)
		diag(&L, "rules", 0, 0, 0, "no rule files or folders given");
	for (size_t i = 0; i < npaths; i++) {
		struct stat st;
		size_t before = nfiles;

		if (stat(paths[i], &st) != 0) {
			diag(&L, paths[i], 0, 0, 0, "cannot open: %s",
			    strerror(errno));
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			char *p = strdup(paths[i]);

			if (p == NULL || ptr_push((void ***)&files, &nfiles, p)) {
				free(p);
				L.oom = 1;
				goto fail;
			}
			continue;
		}
		(void)walk_dir(&L, paths[i], 0, &files, &nfiles);
		if (nfiles == before)
			diag(&L, paths[i], 0, 0, 0, "folder holds no rule files "
			    "(*.yml, *.yaml)");
		if (nfiles > before)
			qsort(files + before, nfiles - before, sizeof(*files),
			    path_cmp);
	}
	if (L.oom)
		goto fail;
	if (nfiles > 0 && ((docs = calloc(nfiles, sizeof(*docs))) == NULL ||
	    (ndocs = calloc(nfiles, sizeof(*ndocs))) == NULL)) {
		L.oom = 1;
		goto fail;
	}
	for (size_t i = 0; i < nfiles; i++) {
		char err[512];
		int lrc;

		err[0] = '\0';
		lrc = yt_load_file(files[i], &docs[i], &ndocs[i], err,
		    sizeof(err));
		if (lrc == TS_ENOMEM) {
			L.oom = 1;
			goto fail;
		}
		if (lrc != 0) {
			diag_yaml(&L, files[i], err[0] ? err : ts_strerror(lrc));
			docs[i] = NULL;
			ndocs[i] = 0;
			continue;
		}
		for (size_t k = 0; k < ndocs[i]; k++) {
			const yt_node *root = docs[i][k]->root;

			if (root == NULL)
				continue;
			if (root->kind != YT_MAP) {
				ERR(&L, files[i], root, "a rule file is a "
				    "mapping with decoders: and rules:, not %s",
				    kind_name(root));
				continue;
			}
			if (sigma_doc_kind(root) == SIGMA_DOC_NONE)
				(void)check_keys(&L, files[i], root, top_keys,
				    "rule file");
		}
	}
	/* the built-in Windows decoder (rules/windows.yml) comes first, in a
	 * rule set that has Windows events in mind: a Sigma rule of product
	 * windows or a decoder of type windows */
	if (wants_windows(files, docs, ndocs, nfiles)) {
		char err[512];
		yt_doc **wd = NULL;
		size_t nwd = 0;
		const yt_node *list;

		if (yt_load_buf("windows.yml(built-in)", rules_windows_decoder,
		    rules_windows_decoder_len, &wd, &nwd, err,
		    sizeof(err)) != 0 || nwd != 1 || wd[0]->root == NULL ||
		    (list = map_get(wd[0]->root, "decoders", NULL)) == NULL ||
		    list->kind != YT_SEQ) {
			diag(&L, "windows.yml(built-in)", 0, 0, 0, "does not "
			    "load: %s", err);
		} else {
			for (size_t j = 0; j < list->n && !L.oom; j++)
				load_decoder(&L, "windows.yml(built-in)",
				    list->items[j]);
		}
		if (wd != NULL)
			yt_docs_free(&wd, nwd);
	}
	/* decoders first, so rules in any file may use any decoder's fields */
	for (int pass = 0; pass < 2 && !L.oom; pass++)
		for (size_t i = 0; i < nfiles; i++)
			for (size_t k = 0; k < ndocs[i]; k++) {
				const yt_node *root = docs[i][k]->root, *list;

				if (root == NULL || root->kind != YT_MAP)
					continue;
				list = map_get(root, pass ? "rules" : "decoders",
				    NULL);
				if (list == NULL || yt_is_null(list))
					continue;
				if (list->kind != YT_SEQ) {
					ERR(&L, files[i], list, "%s must be a "
					    "list, not %s", pass ? "rules" :
					    "decoders", kind_name(list));
					continue;
				}
				for (size_t j = 0; j < list->n && !L.oom; j++) {
					if (pass)
						load_rule(&L, files[i],
						    list->items[j]);
					else
						load_decoder(&L, files[i],
						    list->items[j]);
				}
			}
	/* Sigma documents, once every decoder is known (rules/sigma/) */
	if (!L.oom && sigma_compile_all(rs, L.dl, files, docs, ndocs, nfiles,
	    &L.rcap, &L.fcap, sigma_corr_keep, &L) != 0)
		L.oom = 1;
	if (L.oom)
		goto fail;
	link_rules(&L);
	if (L.oom)
		goto fail;
	/* correlations last: native ones, then Sigma ones, against every
	 * rule id of the set */
	if (corr_set_new(&rs->corr) != 0) {
		L.oom = 1;
		goto fail;
	}
	for (size_t i = 0; i < L.ncorr && !L.oom; i++)
		if (correlate_compile(rs->corr, L.corr[i].file, L.corr[i].node,
		    rs, L.dl) != 0)
			L.oom = 1;
	for (size_t i = 0; i < L.nscorr; i++) {
		if (!L.oom && correlate_add(rs->corr, L.scorr[i], L.dl) != 0)
			L.oom = 1;
		else if (L.oom)
			corr_rule_free(L.scorr[i]);
		L.scorr[i] = NULL;
	}
	L.nscorr = 0;
	if (L.oom)
		goto fail;
	check_fields(&L);
	if (L.oom)
		goto fail;
	if (diags->errors != errors0)
		goto fail;
	if (build_routes(rs) || build_field_hash(rs)) {
		L.oom = 1;
		goto fail;
	}
	{
		const char *pf = getenv("TOCSIN_RULES_PREFILTER");
		const char *ix = getenv("TOCSIN_RULES_INDEX");

		/* the index first: with it, the prefilter leaves the roots
		 * out of its message scan */
		if ((ix == NULL || strcmp(ix, "0") != 0) &&
		    ruleindex_build(rs) != 0) {
			L.oom = 1;
			goto fail;
		}
		if ((pf == NULL || strcmp(pf, "0") != 0) &&
		    prefilter_build(rs) != 0) {
			L.oom = 1;
			goto fail;
		}
	}
	if ((rs->mctx = pcre2_match_context_create(NULL)) == NULL) {
		L.oom = 1;
		goto fail;
	}
	pcre2_set_match_limit(rs->mctx, PCRE2_MATCH_LIMIT);
	pcre2_set_depth_limit(rs->mctx, PCRE2_DEPTH_LIMIT);
	*out = rs;
	rs = NULL;
	rc = 0;
fail:
	if (L.oom)
		rc = TS_ENOMEM;
	for (size_t i = 0; i < nfiles; i++) {
		if (docs != NULL && docs[i] != NULL)
			yt_docs_free(&docs[i], ndocs[i]);
		free(files[i]);
	}
	free(docs);
	free(ndocs);
	free(files);
	free(L.corr);
	for (size_t i = 0; i < L.nscorr; i++)
		corr_rule_free(L.scorr[i]);
	free(L.scorr);
	ruleset_free(&rs);
	return rc;
}

void
ruleset_free(ruleset_t **rsp)
{
	struct ruleset *rs;

	if (rsp == NULL || (rs = *rsp) == NULL)
		return;
	prefilter_free(rs);
	ruleindex_free(rs);
	for (size_t i = 0; i < rs->nrules; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	for (size_t i = 0; i < rs->ndecoders; i++)
		decoder_free(rs->decoders[i]);
	free(rs->decoders);
	strv_free(rs->field_names, rs->nfield_names);
	for (size_t i = 0; i < rs->nroutes; i++) {
		free(rs->routes[i].program);
		free(rs->routes[i].decoders);
		free(rs->routes[i].ignores);
		free(rs->routes[i].roots);
	}
	free(rs->routes);
	free(rs->any.decoders);
	free(rs->any.ignores);
	free(rs->any.roots);
	free(rs->hash);
	free(rs->fhash);
	pcre2_match_context_free(rs->mctx);
	corr_set_free(&rs->corr);
	free(rs);
	*rsp = NULL;
}

const struct rule_info *
ruleset_rule(const ruleset_t *rs, size_t i)
{
	return i < rs->nrules ? &rs->rules[i]->info : NULL;
}

const corr_set_t *
ruleset_corr(const ruleset_t *rs)
{
	return rs->corr;
}

size_t
ruleset_rule_count(const ruleset_t *rs)
{
	return rs != NULL ? rs->nrules : 0;
}
