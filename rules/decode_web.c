/*
 * decode_web.c - what web server logs need beyond a regex: URL decoding
 * (a decoder's `urldecode:` / `formdecode:`), and the W3C Extended Log
 * File Format (IIS, and proxies that write it), whose columns are named by
 * a `#Fields:` directive that can change anywhere in a file.
 *
 * The W3C decoder keeps, per source, the field list of the last #Fields:
 * line it saw.  A source is what identifies one file's stream: the agent,
 * the host the event came from, the file the agent follows (or the
 * listener) and the syslog program when the lines came through syslog;
 * lines of one file arrive in order, so the state is right for the lines
 * after each directive.  The table is bounded (MAX_W3C_SOURCES, least
 * recently used evicted and counted).  It lives in the matching context,
 * in memory: after an engine restart a source's fields are known again at
 * its next #Fields: line (IIS writes one at the top of every file and at
 * every restart of the site); until then a data line is read with IIS's
 * default field list when it has exactly that many columns (counted),
 * else it is not decoded as W3C.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

/* ---- URL decoding ------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t
web_url_decode(const char *src, size_t len, char *dst, int plus,
    size_t *bad)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int h, l;

		if (src[i] == '%') {
			if (i + 2 < len &&
			    (h = hexval((unsigned char)src[i + 1])) >= 0 &&
			    (l = hexval((unsigned char)src[i + 2])) >= 0) {
				dst[o++] = (char)(h << 4 | l);
				i += 2;
				continue;
			}
			/* "%" not followed by two hex digits: kept */
			(*bad)++;
			dst[o++] = '%';
			continue;
		}
		dst[o++] = plus && src[i] == '+' ? ' ' : src[i];
	}
	return o;
}

/* ---- W3C extended log format --------------------------------------------- */

/* One source's field list. */
struct w3c_src {
	uint64_t	 hash;		/* of the source key; 0: free slot */
	uint64_t	 used;		/* LRU clock */
	uint64_t	 fields_hash;	/* of the last #Fields: text */
	char		*key;		/* the source key (malloc'd) */
	size_t		 key_len;
	char		*names;		/* normalized names, NUL-separated */
	size_t		 names_len;
	const char	*name[MAX_W3C_FIELDS];	/* into names */
	size_t		 name_len[MAX_W3C_FIELDS];
	size_t		 nfields;
};

/* Slots of the hash index over src[] (a power of two, at least twice
 * MAX_W3C_SOURCES so that probes stay short). */
#define W3C_INDEX_SLOTS	(4 * MAX_W3C_SOURCES)

struct w3c {
	struct w3c_src	 src[MAX_W3C_SOURCES];
	uint16_t	 index[W3C_INDEX_SLOTS];	/* src position + 1, 0:
							 * empty (linear probing) */
	size_t		 nsrc;			/* slots of src[] in use */
	uint64_t	 clock;
};

/* IIS's default W3C field lists (IIS 8.5 and later; IIS 7 without
 * cs(Referer)), used for a source whose #Fields: line was not seen. */
static const char *const iis_default[] = { "date", "time", "s-ip",
	"cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username",
	"c-ip", "cs-user-agent", "cs-referer", "sc-status", "sc-substatus",
	"sc-win32-status", "time-taken" };
static const char *const iis7_default[] = { "date", "time", "s-ip",
	"cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username",
	"c-ip", "cs-user-agent", "sc-status", "sc-substatus",
	"sc-win32-status", "time-taken" };

/* W3C directives (the spec's, and IIS's Date). */
static const char *const directives[] = { "Version", "Fields", "Software",
	"Start-Date", "End-Date", "Date", "Remark", NULL };

int
w3c_new(struct w3c **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return TS_ENOMEM;
	return 0;
}

static void
src_clear(struct w3c_src *s)
{
	free(s->key);
	free(s->names);
	memset(s, 0, sizeof(*s));
}

void
w3c_free(struct w3c **wp)
{
	if (wp == NULL || *wp == NULL)
		return;
	for (size_t i = 0; i < MAX_W3C_SOURCES; i++)
		src_clear(&(*wp)->src[i]);
	free(*wp);
	*wp = NULL;
}

static uint64_t
hash64(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h == 0 ? 1 : h;
}

/* The source of key (hash h), through the index; NULL when unknown.  An
 * engine sees every event here, W3C or not: one probe sequence, not a
 * scan of the table. */
static struct w3c_src *
src_find(struct w3c *w, const char *key, size_t klen, uint64_t h)
{
	size_t mask = W3C_INDEX_SLOTS - 1;

	for (size_t i = (size_t)h & mask, n = 0; n < W3C_INDEX_SLOTS &&
	    w->index[i] != 0; i = (i + 1) & mask, n++) {
		struct w3c_src *s = &w->src[w->index[i] - 1];

		if (s->hash == h && s->key_len == klen &&
		    memcmp(s->key, key, klen) == 0)
			return s;
	}
	return NULL;
}

/* Rebuild the index from src[] (after an eviction, which is rare: more
 * than MAX_W3C_SOURCES sources). */
static void
index_rebuild(struct w3c *w)
{
	size_t mask = W3C_INDEX_SLOTS - 1;

	memset(w->index, 0, sizeof(w->index));
	for (size_t k = 0; k < MAX_W3C_SOURCES; k++) {
		size_t i;

		if (w->src[k].hash == 0)
			continue;
		for (i = (size_t)w->src[k].hash & mask; w->index[i] != 0;
		    i = (i + 1) & mask)
			;
		w->index[i] = (uint16_t)(k + 1);
	}
}

/*
 * A W3C field name as tocsin names it: lower case, "prefix(Header)"
 * becoming "prefix-header" (cs(User-Agent) -> cs-user-agent, the Sigma
 * taxonomy's name).  Into out (room for MAX_W3C_NAME_BYTES + 1); the
 * length, 0 when the name is empty, too long or has control bytes.
 */
static size_t
norm_name(const char *s, size_t n, char *out)
{
	size_t o = 0;

	if (n == 0 || n > MAX_W3C_NAME_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f)
			return 0;
		if (c == '(')
			c = '-';
		else if (c == ')') {
			if (i + 1 != n)
				return 0;
			continue;
		} else if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

/* Set source s's fields from the list (p, n) of a #Fields: directive (or a
 * default list).  0, TS_EINVAL (no usable name: the old list stays) or
 * TS_ENOMEM.  *cut counts names past MAX_W3C_FIELDS or unusable. */
static int
src_set_fields(struct w3c_src *s, const char *p, size_t n, size_t *cut)
{
	char *names, nb[MAX_W3C_NAME_BYTES + 1];
	const char *end = p + n;
	size_t off = 0, nf = 0;

	if ((names = malloc(n + 1)) == NULL)
		return TS_ENOMEM;
	while (p < end) {
		const char *t;
		size_t nl;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		t = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		if (p == t)
			break;
		if (nf >= MAX_W3C_FIELDS ||
		    (nl = norm_name(t, (size_t)(p - t), nb)) == 0) {
			/* keeps its column, under no name */
			if (nf < MAX_W3C_FIELDS) {
				names[off] = '\0';
				s->name[nf] = NULL;
				s->name_len[nf++] = 0;
				off++;
			}
			(*cut)++;
			continue;
		}
		memcpy(names + off, nb, nl + 1);
		s->name[nf] = names + off;
		s->name_len[nf++] = nl;
		off += nl + 1;
	}
	if (nf == 0) {
		free(names);
		return TS_EINVAL;
	}
	free(s->names);
	s->names = names;
	s->names_len = off;
	s->nfields = nf;
	return 0;
}

/* The slot for a new source: a free one, else the least recently used
 * (evicted, counted by the caller). */
static struct w3c_src *
src_take(struct w3c *w, int *evicted)
{
	struct w3c_src *lru = &w->src[0];

	for (size_t i = 0; i < MAX_W3C_SOURCES; i++) {
		if (w->src[i].hash == 0)
			return &w->src[i];
		if (w->src[i].used < lru->used)
			lru = &w->src[i];
	}
	src_clear(lru);
	*evicted = 1;
	return lru;
}

/* Next column at *pp: a "quoted string" ("" is a quote) or a run of
 * non-blanks.  The value into (*v, *vl): in the arena when unquoted text
 * had to change, else pointing into the line.  0, 1 at the end, -1 when
 * the arena is full. */
static int
next_col(const char **pp, const char *end, struct field_arena *a,
    const char **v, size_t *vl, int *quoted)
{
	const char *p = *pp, *t;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end)
		return 1;
	*quoted = 0;
	if (*p == '"') {
		size_t cap = a->cap - a->len, o = 0;
		char *d = a->buf + a->len;

		p++;
		while (p < end) {
			if (*p == '"') {
				if (p + 1 < end && p[1] == '"') {
					p++;
				} else {
					p++;
					break;
				}
			}
			if (o + 1 >= cap)
				return -1;
			d[o++] = *p++;
		}
		d[o] = '\0';
		a->len += o + 1;
		*v = d;
		*vl = o;
		*quoted = 1;
		*pp = p;
		return 0;
	}
	t = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	*v = t;
	*vl = (size_t)(p - t);
	*pp = p;
	return 0;
}

/* Emit name = (v, vl) copied into the arena.  0, or -1 (arena full or
 * the callee stopped). */
static int
emit_copy(struct field_arena *a, field_emit_fn emit, void *arg,
    const char *name, size_t nl, const char *v, size_t vl, size_t *dropped)
{
	char *c;

	if ((c = field_arena_dup(a, v, vl)) == NULL) {
		(*dropped)++;
		return -1;
	}
	return emit(arg, name, nl, c, vl);
}

/* Whether the line starts like an IIS data line: "YYYY-MM-DD hh:mm:ss ". */
static int
looks_dated(const char *p, size_t n)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd ";

	if (n < sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd') {
			if (p[i] < '0' || p[i] > '9')
				return 0;
		} else if (p[i] != shape[i]) {
			return 0;
		}
	}
	return 1;
}

static size_t
count_cols(const char *p, const char *end)
{
	size_t n = 0;
	int inq = 0, intok = 0;

	for (; p < end; p++) {
		if (inq) {
			if (*p == '"')
				inq = 0;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			intok = 0;
			continue;
		}
		if (!intok) {
			n++;
			intok = 1;
			if (*p == '"')
				inq = 1;
		}
	}
	return n;
}

int
w3c_candidate(const struct w3c *w, const char *buf, size_t len)
{
	return len > 0 && (buf[0] == '#' || w->nsrc > 0 ||
	    looks_dated(buf, len));
}

/* A directive line "#Name: value".  0 decoded, 1 not a directive. */
static int
directive(struct w3c *w, const char *key, size_t klen, uint64_t h,
    const char *buf, size_t len, struct field_arena *a, field_emit_fn emit,
    void *arg, struct w3c_info *info)
{
	const char *p = buf + 1, *end = buf + len, *colon, *v;
	struct w3c_src *s;
	size_t nl, vl;
	int k, rc;

	if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL)
		return 1;
	nl = (size_t)(colon - p);
	for (k = 0; directives[k] != NULL; k++)
		if (strlen(directives[k]) == nl &&
		    memcmp(directives[k], p, nl) == 0)
			break;
	if (directives[k] == NULL)
		return 1;
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	vl = (size_t)(end - v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t' ||
	    v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	info->directive = 1;
	if (emit_copy(a, emit, arg, "w3c_directive", 13, p, nl,
	    &info->dropped) != 0 ||
	    emit_copy(a, emit, arg, "w3c_value", 9, v, vl,
	    &info->dropped) != 0)
		return 0;
	if (k != 1)		/* not Fields */
		return 0;
	if ((s = src_find(w, key, klen, h)) == NULL) {
		int ev = 0;
		char *kc;

		if ((kc = malloc(klen ? klen : 1)) == NULL)
			return TS_ENOMEM;
		s = src_take(w, &ev);
		info->evicted = ev;
		memcpy(kc, key, klen);
		s->key = kc;
		s->key_len = klen;
		s->hash = h;
		if (!ev)
			w->nsrc++;
		index_rebuild(w);
	} else if (s->nfields > 0 && s->fields_hash != hash64(v, vl)) {
		/* a changed list mid-stream is counted: the lines after
		 * it are read with the new one */
		info->fields_changed = 1;
	}
	s->fields_hash = hash64(v, vl);
	s->used = ++w->clock;
	rc = src_set_fields(s, v, vl, &info->cut);
	if (rc == TS_ENOMEM)
		return rc;
	if (rc != 0)
		info->bad_fields = 1;
	return 0;
}

int
w3c_decode(struct w3c *w, const char *key, size_t klen, const char *buf,
    size_t len, struct field_arena *a, field_emit_fn emit, void *arg,
    struct w3c_info *info)
{
	const char *const *names;
	const size_t *lens = NULL;
	const char *p = buf, *end = buf + len;
	size_t nf, ncols, dl = 0, tl = 0, sl = 0, ql = 0;
	const char *date = NULL, *tim = NULL, *stem = NULL, *query = NULL;
	int has_uri = 0;
	uint64_t h;
	struct w3c_src *s = NULL;
	size_t static_lens[15];

	memset(info, 0, sizeof(*info));
	while (len > 0 && (buf[len - 1] == '\r' || buf[len - 1] == '\n'))
		len--;
	end = buf + len;
	if (len == 0)
		return 1;
	if (!w3c_candidate(w, buf, len))
		return 1;
	h = hash64(key, klen);
	if (buf[0] == '#')
		return directive(w, key, klen, h, buf, len, a, emit, arg,
		    info);
	/* columns counted only once the line may be W3C: this decoder sees
	 * every line of every program (Windows events too) */
	if (w->nsrc > 0 && (s = src_find(w, key, klen, h)) != NULL &&
	    s->nfields > 0) {
		s->used = ++w->clock;
		names = s->name;
		lens = s->name_len;
		nf = s->nfields;
		ncols = count_cols(p, end);
	} else if (looks_dated(buf, len) &&
	    ((ncols = count_cols(p, end)) == 15 || ncols == 14)) {
		names = ncols == 15 ? iis_default : iis7_default;
		nf = ncols;
		for (size_t i = 0; i < nf; i++)
			static_lens[i] = strlen(names[i]);
		lens = static_lens;
		info->defaulted = 1;
	} else {
		return 1;
	}
	if (ncols != nf)
		info->mismatch = 1;
	for (size_t i = 0; i < nf; i++) {
		const char *v;
		size_t vl;
		int quoted, rc;

		if ((rc = next_col(&p, end, a, &v, &vl, &quoted)) == 1)
			break;
		if (rc < 0) {
			info->dropped++;
			break;
		}
		if (names[i] == NULL || lens[i] == 0)
			continue;
		if (!quoted && vl == 1 && v[0] == '-')
			continue;	/* W3C: no value */
		if (lens[i] == 4 && memcmp(names[i], "date", 4) == 0) {
			date = v;
			dl = vl;
		} else if (lens[i] == 4 && memcmp(names[i], "time", 4) == 0) {
			tim = v;
			tl = vl;
		} else if (lens[i] == 11 &&
		    memcmp(names[i], "cs-uri-stem", 11) == 0) {
			stem = v;
			sl = vl;
		} else if (lens[i] == 12 &&
		    memcmp(names[i], "cs-uri-query", 12) == 0) {
			query = v;
			ql = vl;
		} else if (lens[i] == 6 && memcmp(names[i], "cs-uri", 6) == 0) {
			has_uri = 1;
		}
		if (lens[i] == 13 && memcmp(names[i], "cs-user-agent", 13) ==
		    0 && !quoted) {
			/* IIS writes the user agent's spaces as '+' */
			char *c = field_arena_dup(a, v, vl);

			if (c == NULL) {
				info->dropped++;
				break;
			}
			for (size_t j = 0; j < vl; j++)
				if (c[j] == '+')
					c[j] = ' ';
			if (emit(arg, names[i], lens[i], c, vl) != 0)
				break;
			continue;
		}
		if (emit_copy(a, emit, arg, names[i], lens[i], v, vl,
		    &info->dropped) != 0)
			break;
	}
	if (p < end && count_cols(p, end) > 0)
		info->mismatch = 1;
	/* "date time": the record's time for a decoder's time: */
	if (date != NULL && tim != NULL) {
		char *c;

		if (dl + tl + 2 <= a->cap - a->len) {
			c = a->buf + a->len;
			memcpy(c, date, dl);
			c[dl] = ' ';
			memcpy(c + dl + 1, tim, tl);
			c[dl + 1 + tl] = '\0';
			a->len += dl + tl + 2;
			(void)emit(arg, "w3c_datetime", 12, c, dl + 1 + tl);
		} else {
			info->dropped++;
		}
	}
	/* the request target as a request line has it: stem?query */
	if (stem != NULL && !has_uri) {
		char *c;
		size_t n = sl + (query != NULL ? ql + 1 : 0);

		if (n + 1 <= a->cap - a->len) {
			c = a->buf + a->len;
			memcpy(c, stem, sl);
			if (query != NULL) {
				c[sl] = '?';
				memcpy(c + sl + 1, query, ql);
			}
			c[n] = '\0';
			a->len += n + 1;
			(void)emit(arg, "cs-uri", 6, c, n);
		} else {
			info->dropped++;
		}
	}
	return 0;
}
