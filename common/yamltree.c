/*
 * yamltree.c - YAML documents as trees with positions, built from libyaml's
 * event API (yaml_parser_parse) so that depth and size are bounded while
 * parsing, before anything is built.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/yamltree.h"

/* Nodes in one file: 4 MiB of "[1,1,1,...]" would otherwise cost hundreds of
 * MiB of nodes. */
#define MAX_YAML_NODES	(1 << 20)

/* A collection under construction, with the capacity of its arrays. */
struct frame {
	yt_node	*node;
	size_t	 cap;
	yt_node	*pending_key;	/* YT_MAP: key waiting for its value */
};

struct builder {
	const char	*name;
	char		*err;
	size_t		 errlen;
	struct frame	 stack[MAX_YAML_DEPTH + 1];
	int		 depth;
	size_t		 nodes;
	yt_doc		**docs;
	size_t		 ndocs, capdocs;
	yt_doc		*cur;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void node_free(yt_node *n)
{
	if (n == NULL)
		return;
	free(n->str);
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys != NULL)
			node_free(n->keys[i]);
		node_free(n->items[i]);
	}
	free(n->keys);
	free(n->items);
	free(n);
}

static void doc_free(yt_doc *d)
{
	if (d == NULL)
		return;
	node_free(d->root);
	free(d->file);
	free(d);
}

void yt_docs_free(yt_doc ***docs, size_t ndocs)
{
	if (docs == NULL || *docs == NULL)
		return;
	for (size_t i = 0; i < ndocs; i++)
		doc_free((*docs)[i]);
	free(*docs);
	*docs = NULL;
}

static yt_node *node_new(struct builder *b, yt_kind kind,
    const yaml_mark_t *mark)
{
	yt_node *n;

	if (b->nodes >= MAX_YAML_NODES) {
		set_err(b->err, b->errlen, "%s:%zu:%zu: more than %d nodes",
		    b->name, mark->line + 1, mark->column + 1, MAX_YAML_NODES);
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		set_err(b->err, b->errlen, "%s: out of memory", b->name);
		return NULL;
	}
	b->nodes++;
	n->kind = kind;
	n->line = mark->line + 1 > (size_t)INT32_MAX ? INT32_MAX :
	    (int)mark->line + 1;
	n->col = mark->column + 1 > (size_t)INT32_MAX ? INT32_MAX :
	    (int)mark->column + 1;
	return n;
}

/* Compare two key scalars by content. */
static int key_cmp(const yt_node *a, const yt_node *b)
{
	size_t l = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->str, b->str, l);
	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int pos_cmp(const yt_node *a, const yt_node *b)
{
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->col < b->col ? -1 : a->col > b->col;
}

static int key_sort_cb(const void *pa, const void *pb)
{
	const yt_node *a = *(yt_node *const *)pa, *b = *(yt_node *const *)pb;
	int c = key_cmp(a, b);
	return c != 0 ? c : pos_cmp(a, b);
}

/*
 * Find duplicate keys in a finished mapping in O(n log n).  Returns the
 * earliest second occurrence in document order, or NULL.
 */
static int map_find_dup(struct builder *b, const yt_node *map,
    const yt_node **dup)
{
	yt_node **v;

	*dup = NULL;
	if (map->n < 2)
		return 0;
	if (map->n <= 8) {
		for (size_t i = 1; i < map->n; i++)
			for (size_t j = 0; j < i; j++)
				if (key_cmp(map->keys[i], map->keys[j]) == 0) {
					*dup = map->keys[i];
					return 0;
				}
		return 0;
	}
	v = malloc(map->n * sizeof(*v));
	if (v == NULL) {
		set_err(b->err, b->errlen, "%s: out of memory", b->name);
		return TS_ENOMEM;
	}
	memcpy(v, map->keys, map->n * sizeof(*v));
	qsort(v, map->n, sizeof(*v), key_sort_cb);
	for (size_t i = 1; i < map->n; i++)
		if (key_cmp(v[i], v[i - 1]) == 0 &&
		    (*dup == NULL || pos_cmp(v[i], *dup) < 0))
			*dup = v[i];
	free(v);
	return 0;
}

/* Append n to the collection on top of the stack (or make it the root). */
static int attach(struct builder *b, yt_node *n)
{
	struct frame *f;
	yt_node *p;

	if (b->depth == 0) {
		b->cur->root = n;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	p = f->node;
	if (p->kind == YT_MAP && f->pending_key == NULL) {
		if (n->kind != YT_SCALAR) {
			set_err(b->err, b->errlen, "%s:%d:%d: mapping keys must "
			    "be scalars", b->name, n->line, n->col);
			node_free(n);
			return TS_EPARSE;
		}
		f->pending_key = n;
		return 0;
	}
	if (p->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 4;
		yt_node **ni = realloc(p->items, nc * sizeof(*ni));
		if (ni == NULL)
			goto nomem;
		p->items = ni;
		if (p->kind == YT_MAP) {
			yt_node **nk = realloc(p->keys, nc * sizeof(*nk));
			if (nk == NULL)
				goto nomem;
			p->keys = nk;
		}
		f->cap = nc;
	}
	if (p->kind == YT_MAP) {
		p->keys[p->n] = f->pending_key;
		f->pending_key = NULL;
	}
	p->items[p->n++] = n;
	return 0;
nomem:
	set_err(b->err, b->errlen, "%s: out of memory", b->name);
	node_free(n);
	return TS_ENOMEM;
}

/* 1 if the byte at 1-based line:col (counted in bytes) is a tab. */
static int tab_at(const char *buf, size_t len, size_t line, size_t col)
{
	size_t i = 0;

	for (size_t l = 1; l < line && i < len; i++)
		if (buf[i] == '\n')
			l++;
	return col >= 1 && col - 1 < len - i && buf[i + col - 1] == '\t';
}

/* Report a libyaml parser error as file:line:col. */
static void parser_err(struct builder *b, const yaml_parser_t *ps,
    const char *buf, size_t len)
{
	const char *problem = ps->problem ? ps->problem : "syntax error";
	size_t line = ps->problem_mark.line + 1;
	size_t col = ps->problem_mark.column + 1;
	char pesc[256], cesc[256];

	if (ps->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset only. */
		size_t off = ps->problem_offset < len ? ps->problem_offset : len;
		line = 1;
		col = 1;
		for (size_t i = 0; i < off; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
	}
	escape_text(problem, strlen(problem), pesc, sizeof(pesc));
	if (tab_at(buf, len, line, col)) {
		set_err(b->err, b->errlen, "%s:%zu:%zu: tab character: YAML "
		    "indents with spaces only", b->name, line, col);
		return;
	}
	if (ps->context != NULL) {
		escape_text(ps->context, strlen(ps->context), cesc, sizeof(cesc));
		set_err(b->err, b->errlen, "%s:%zu:%zu: %s %s", b->name, line,
		    col, pesc, cesc);
	} else {
		set_err(b->err, b->errlen, "%s:%zu:%zu: %s", b->name, line, col,
		    pesc);
	}
}

static int push(struct builder *b, yt_kind kind, const yaml_mark_t *mark)
{
	yt_node *n;

	if (b->depth > 0) {
		struct frame *f = &b->stack[b->depth - 1];
		if (f->node->kind == YT_MAP && f->pending_key == NULL) {
			set_err(b->err, b->errlen, "%s:%zu:%zu: mapping keys "
			    "must be scalars", b->name, mark->line + 1,
			    mark->column + 1);
			return TS_EPARSE;
		}
	}
	if (b->depth >= MAX_YAML_DEPTH) {
		set_err(b->err, b->errlen, "%s:%zu:%zu: nesting deeper than %d",
		    b->name, mark->line + 1, mark->column + 1, MAX_YAML_DEPTH);
		return TS_EPARSE;
	}
	n = node_new(b, kind, mark);
	if (n == NULL)
		return b->nodes >= MAX_YAML_NODES ? TS_ETOOBIG : TS_ENOMEM;
	b->stack[b->depth].node = n;
	b->stack[b->depth].cap = 0;
	b->stack[b->depth].pending_key = NULL;
	b->depth++;
	return 0;
}

static int pop(struct builder *b)
{
	struct frame *f = &b->stack[--b->depth];
	yt_node *n = f->node;

	if (n->kind == YT_MAP) {
		const yt_node *dup;
		char kesc[128];
		int rc;

		/* libyaml never ends a mapping between key and value. */
		node_free(f->pending_key);
		f->pending_key = NULL;
		rc = map_find_dup(b, n, &dup);
		if (rc == 0 && dup != NULL) {
			escape_text(dup->str, dup->len, kesc, sizeof(kesc));
			set_err(b->err, b->errlen, "%s:%d:%d: duplicate key '%s'",
			    b->name, dup->line, dup->col, kesc);
			rc = TS_EPARSE;
		}
		if (rc != 0) {
			node_free(n);
			return rc;
		}
	}
	return attach(b, n);
}

static int add_scalar(struct builder *b, const yaml_event_t *ev)
{
	yt_node *n = node_new(b, YT_SCALAR, &ev->start_mark);
	size_t len = ev->data.scalar.length;

	if (n == NULL)
		return b->nodes >= MAX_YAML_NODES ? TS_ETOOBIG : TS_ENOMEM;
	n->str = malloc(len + 1);
	if (n->str == NULL) {
		node_free(n);
		set_err(b->err, b->errlen, "%s: out of memory", b->name);
		return TS_ENOMEM;
	}
	memcpy(n->str, ev->data.scalar.value, len);
	n->str[len] = '\0';
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return attach(b, n);
}

static int doc_begin(struct builder *b)
{
	if (b->ndocs == b->capdocs) {
		size_t nc = b->capdocs ? b->capdocs * 2 : 2;
		yt_doc **nd = realloc(b->docs, nc * sizeof(*nd));
		if (nd == NULL)
			goto nomem;
		b->docs = nd;
		b->capdocs = nc;
	}
	b->cur = calloc(1, sizeof(*b->cur));
	if (b->cur == NULL)
		goto nomem;
	b->cur->file = strdup(b->name);
	if (b->cur->file == NULL) {
		free(b->cur);
		b->cur = NULL;
		goto nomem;
	}
	b->docs[b->ndocs++] = b->cur;
	return 0;
nomem:
	set_err(b->err, b->errlen, "%s: out of memory", b->name);
	return TS_ENOMEM;
}

int yt_load_buf(const char *name, const char *buf, size_t len,
    yt_doc ***docs, size_t *ndocs, char *err, size_t errlen)
{
	struct builder b;
	yaml_parser_t ps;
	int rc = 0, done = 0;

	*docs = NULL;
	*ndocs = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (name == NULL)
		name = "(buffer)";
	if (buf == NULL) {	/* libyaml asserts on a NULL input */
		buf = "";
		len = 0;
	}
	if (len > MAX_YAML_BYTES) {
		set_err(err, errlen, "%s: larger than %d bytes", name,
		    MAX_YAML_BYTES);
		return TS_ETOOBIG;
	}
	memset(&b, 0, sizeof(b));
	b.name = name;
	b.err = err;
	b.errlen = errlen;
	if (!yaml_parser_initialize(&ps)) {
		set_err(err, errlen, "%s: out of memory", name);
		return TS_ENOMEM;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
	while (!done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&ps, &ev)) {
			parser_err(&b, &ps, buf, len);
			rc = ps.error == YAML_MEMORY_ERROR ? TS_ENOMEM : TS_EPARSE;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			rc = doc_begin(&b);
			break;
		case YAML_DOCUMENT_END_EVENT:
			b.cur = NULL;
			break;
		case YAML_ALIAS_EVENT:
			set_err(err, errlen, "%s:%zu:%zu: aliases are not "
			    "allowed", name, ev.start_mark.line + 1,
			    ev.start_mark.column + 1);
			rc = TS_EPARSE;
			break;
		case YAML_SCALAR_EVENT:
			rc = b.cur ? add_scalar(&b, &ev) : TS_EPARSE;
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = b.cur ? push(&b, YT_SEQ, &ev.start_mark) : TS_EPARSE;
			break;
		case YAML_MAPPING_START_EVENT:
			rc = b.cur ? push(&b, YT_MAP, &ev.start_mark) : TS_EPARSE;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = b.depth > 0 ? pop(&b) : TS_EPARSE;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (rc != 0) {
			if (err != NULL && errlen > 0 && err[0] == '\0')
				set_err(err, errlen, "%s: malformed YAML", name);
			break;
		}
	}
	yaml_parser_delete(&ps);
	/* Unwind collections still open after an error. */
	while (b.depth > 0) {
		struct frame *f = &b.stack[--b.depth];
		node_free(f->pending_key);
		node_free(f->node);
	}
	if (rc != 0) {
		yt_docs_free(&b.docs, b.ndocs);
		return rc;
	}
	*docs = b.docs;
	*ndocs = b.ndocs;
	return 0;
}

int yt_load_file(const char *path, yt_doc ***docs, size_t *ndocs,
    char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	*docs = NULL;
	*ndocs = 0;
	rc = read_file(path, MAX_YAML_BYTES, &buf, &len);
	if (rc == TS_ETOOBIG) {
		set_err(err, errlen, "%s: larger than %d bytes", path,
		    MAX_YAML_BYTES);
		return rc;
	}
	if (rc != 0) {
		set_err(err, errlen, "%s: cannot read: %s", path,
		    rc == TS_EIO ? strerror(errno) : ts_strerror(rc));
		return rc == TS_ENOMEM ? rc : TS_EIO;
	}
	rc = yt_load_buf(path, buf, len, docs, ndocs, err, errlen);
	free(buf);
	return rc;
}

/* ---- queries ------------------------------------------------------------ */

const yt_node *yt_map_get(const yt_node *map, const char *key)
{
	size_t kl;

	if (map == NULL || map->kind != YT_MAP || key == NULL)
		return NULL;
	kl = strlen(key);
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->len == kl &&
		    memcmp(map->keys[i]->str, key, kl) == 0)
			return map->items[i];
	return NULL;
}

int yt_is_null(const yt_node *n)
{
	if (n == NULL || n->kind != YT_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || strcmp(n->str, "~") == 0 ||
	    strcmp(n->str, "null") == 0 || strcmp(n->str, "Null") == 0 ||
	    strcmp(n->str, "NULL") == 0;
}

int yt_check_keys(const yt_node *map, const char *const *known,
    const char *file, const char *what, char *err, size_t errlen)
{
	if (map == NULL) {
		set_err(err, errlen, "%s: %s must be a mapping", file, what);
		return TS_EPARSE;
	}
	if (map->kind != YT_MAP) {
		set_err(err, errlen, "%s:%d:%d: %s must be a mapping", file,
		    map->line, map->col, what);
		return TS_EPARSE;
	}
	for (size_t i = 0; i < map->n; i++) {
		const yt_node *k = map->keys[i];
		size_t j, o;
		char kesc[128];
		int n;

		for (j = 0; known[j] != NULL; j++)
			if (strlen(known[j]) == k->len &&
			    memcmp(known[j], k->str, k->len) == 0)
				break;
		if (known[j] != NULL)
			continue;
		escape_text(k->str, k->len, kesc, sizeof(kesc));
		n = snprintf(err, errlen, "%s:%d:%d: unknown key '%s' in %s "
		    "(known: ", file, k->line, k->col, kesc, what);
		o = n < 0 ? 0 : (size_t)n;
		for (j = 0; known[j] != NULL && o < errlen; j++) {
			n = snprintf(err + o, errlen - o, "%s%s", j ? ", " : "",
			    known[j]);
			o += n < 0 ? 0 : (size_t)n;
		}
		if (o < errlen)
			snprintf(err + o, errlen - o, ")");
		return TS_EPARSE;
	}
	return 0;
}

/* ---- typed getters ------------------------------------------------------ */

/*
 * The scalar value of key, or NULL when the key is missing or null (both
 * leave the caller's default).  *rc is TS_EPARSE (with err) when the value
 * is not a scalar.
 */
static const yt_node *get_scalar(const yt_node *map, const char *key,
    const char *file, const char *want, char *err, size_t errlen, int *rc)
{
	const yt_node *v = yt_map_get(map, key);

	*rc = 0;
	if (v == NULL || yt_is_null(v))
		return NULL;
	if (v->kind != YT_SCALAR) {
		set_err(err, errlen, "%s:%d:%d: %s must be %s", file, v->line,
		    v->col, key, want);
		*rc = TS_EPARSE;
		return NULL;
	}
	return v;
}

int yt_get_str(const yt_node *map, const char *key, const char *file,
    char **out, char *err, size_t errlen)
{
	const yt_node *v;
	char *s;
	int rc;

	v = get_scalar(map, key, file, "a string", err, errlen, &rc);
	if (v == NULL)
		return rc;
	if (strlen(v->str) != v->len) {
		set_err(err, errlen, "%s:%d:%d: %s must not contain NUL bytes",
		    file, v->line, v->col, key);
		return TS_EPARSE;
	}
	s = strdup(v->str);
	if (s == NULL) {
		set_err(err, errlen, "%s: out of memory", file);
		return TS_ENOMEM;
	}
	free(*out);
	*out = s;
	return 0;
}

int yt_get_u64(const yt_node *map, const char *key, const char *file,
    unsigned long long min, unsigned long long max,
    unsigned long long *out, char *err, size_t errlen)
{
	const yt_node *v;
	uint64_t x;
	int rc;

	v = get_scalar(map, key, file, "an integer", err, errlen, &rc);
	if (v == NULL)
		return rc;
	if (parse_u64(v->str, v->len, max, &x) != 0 || x < min) {
		set_err(err, errlen, "%s:%d:%d: %s must be an integer from %llu "
		    "to %llu", file, v->line, v->col, key, min, max);
		return TS_EPARSE;
	}
	*out = x;
	return 0;
}

int yt_get_size(const yt_node *map, const char *key, const char *file,
    unsigned long long *out, char *err, size_t errlen)
{
	const yt_node *v;
	uint64_t x;
	int rc;

	v = get_scalar(map, key, file, "a size", err, errlen, &rc);
	if (v == NULL)
		return rc;
	if (strlen(v->str) != v->len || parse_size(v->str, &x) != 0) {
		set_err(err, errlen, "%s:%d:%d: %s must be a size such as 512, "
		    "64k, 256M or 2G", file, v->line, v->col, key);
		return TS_EPARSE;
	}
	*out = x;
	return 0;
}

int yt_get_duration(const yt_node *map, const char *key, const char *file,
    unsigned long long *out_us, char *err, size_t errlen)
{
	const yt_node *v;
	uint64_t x;
	int rc;

	v = get_scalar(map, key, file, "a duration", err, errlen, &rc);
	if (v == NULL)
		return rc;
	if (strlen(v->str) != v->len || parse_duration(v->str, &x) != 0) {
		set_err(err, errlen, "%s:%d:%d: %s must be a duration such as "
		    "250ms, 30s, 15m, 2h, 7d or 1w", file, v->line, v->col, key);
		return TS_EPARSE;
	}
	*out_us = x;
	return 0;
}

int yt_get_bool(const yt_node *map, const char *key, const char *file,
    int *out, char *err, size_t errlen)
{
	static const char *const yes[] = { "true", "yes", "on", NULL };
	static const char *const no[] = { "false", "no", "off", NULL };
	const yt_node *v;
	int rc;

	v = get_scalar(map, key, file, "true or false", err, errlen, &rc);
	if (v == NULL)
		return rc;
	for (int i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(v->str, yes[i]) == 0 && strlen(v->str) == v->len) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v->str, no[i]) == 0 && strlen(v->str) == v->len) {
			*out = 0;
			return 0;
		}
	}
	set_err(err, errlen, "%s:%d:%d: %s must be true or false", file,
	    v->line, v->col, key);
	return TS_EPARSE;
}

void yt_strv_free(char ***v, size_t n)
{
	if (v == NULL || *v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
}

int yt_get_strv(const yt_node *map, const char *key, const char *file,
    char ***out, size_t *n, char *err, size_t errlen)
{
	const yt_node *v = yt_map_get(map, key);
	const yt_node *const *items;
	char **res;
	size_t cnt;

	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind == YT_SCALAR) {
		items = (const yt_node *const *)&v;
		cnt = 1;
	} else if (v->kind == YT_SEQ) {
		items = (const yt_node *const *)v->items;
		cnt = v->n;
	} else {
		set_err(err, errlen, "%s:%d:%d: %s must be a string or a list "
		    "of strings", file, v->line, v->col, key);
		return TS_EPARSE;
	}
	for (size_t i = 0; i < cnt; i++) {
		const yt_node *it = items[i];
		if (it->kind != YT_SCALAR || strlen(it->str) != it->len) {
			set_err(err, errlen, "%s:%d:%d: %s: each item must be a "
			    "string", file, it->line, it->col, key);
			return TS_EPARSE;
		}
	}
	res = calloc(cnt + 1, sizeof(*res));
	if (res == NULL)
		goto nomem;
	for (size_t i = 0; i < cnt; i++) {
		res[i] = strdup(items[i]->str);
		if (res[i] == NULL) {
			yt_strv_free(&res, i);
			goto nomem;
		}
	}
	yt_strv_free(out, *n);
	*out = res;
	*n = cnt;
	return 0;
nomem:
	set_err(err, errlen, "%s: out of memory", file);
	return TS_ENOMEM;
}

void
yt_write_quoted(void *out, const char *s)
{
	FILE *fp = out;

	fputc('"', fp);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(fp, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(fp, "\\x%02x", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}
