/*
 * xmlscan.c - a fast path for the XML that Windows writes: one Event
 * element as EvtRender renders it (elements, attributes, text, the five
 * predefined entities and character references), scanned in one pass with
 * no allocation, its callbacks then made exactly as expat makes them.
 *
 * It is not a second XML parser.  Anything outside that small subset - an
 * XML declaration, a processing instruction, a comment, CDATA, a DOCTYPE,
 * a carriage return (which XML normalises), a tab or newline in an
 * attribute value (normalised too), a non-ASCII name, bytes that are not
 * well-formed UTF-8 or not XML characters, an undefined entity, a
 * mismatched tag, nesting or sizes past the bounds below - makes it give
 * up before any callback runs, and the caller hands the document to expat,
 * which stays the judge of everything unusual (and of every error and its
 * offset).  What it accepts is well-formed XML that expat accepts with the
 * same callbacks: start (name, attributes in document order), end, and
 * character data inside the root element (expat may split a run into
 * several calls; the caller joins them, so one call per run is the same).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "common/err.h"
#include "rules/xmlscan.h"

/* Bounds of the fast path; a document past one goes to expat. */
#define XS_MAX_DEPTH		64	/* open elements */
#define XS_MAX_TOKENS		8192	/* starts, ends and text runs */
#define XS_MAX_ATTRS		4096	/* attributes in the document */
#define XS_MAX_ELEM_ATTRS	32	/* attributes of one element */

enum { XT_START = 1, XT_END, XT_TEXT };

struct xtok {
	uint8_t		 type;
	uint8_t		 ref;		/* XT_TEXT: holds a reference */
	uint16_t	 natt;		/* XT_START */
	uint32_t	 off, len;	/* name, or the raw text */
	uint32_t	 att;		/* XT_START: first attribute */
};

struct xatt {
	uint32_t	 noff, nlen, voff, vlen;
	uint8_t		 ref;		/* the value holds a reference */
};

struct xmlscan {
	struct xtok	*t;
	size_t		 nt;
	struct xatt	*a;
	size_t		 na;
	char		*buf;		/* names and decoded values, NUL-
					 * terminated, for one callback */
	size_t		 cap;
	const char	*atts[2 * XS_MAX_ELEM_ATTRS + 1];
	unsigned char	 cls[256];	/* byte_class() */
	unsigned char	 namec[256];	/* name_char() */
};

static int name_char(unsigned char c);
static unsigned char byte_class(unsigned char c);

int
xmlscan_new(struct xmlscan **out)
{
	struct xmlscan *xs;

	*out = NULL;
	if ((xs = calloc(1, sizeof(*xs))) == NULL ||
	    (xs->t = malloc(XS_MAX_TOKENS * sizeof(*xs->t))) == NULL ||
	    (xs->a = malloc(XS_MAX_ATTRS * sizeof(*xs->a))) == NULL) {
		xmlscan_free(&xs);
		return TS_ENOMEM;
	}
	for (int c = 0; c < 256; c++) {
		xs->cls[c] = byte_class((unsigned char)c);
		xs->namec[c] = (unsigned char)name_char((unsigned char)c);
	}
	*out = xs;
	return 0;
}

void
xmlscan_free(struct xmlscan **xsp)
{
	struct xmlscan *xs;

	if (xsp == NULL || (xs = *xsp) == NULL)
		return;
	free(xs->t);
	free(xs->a);
	free(xs->buf);
	free(xs);
	*xsp = NULL;
}

static int
name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == ':';
}

static int
name_char(unsigned char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '.' ||
	    c == '-';
}

static int
space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Length of the well-formed UTF-8 sequence of an XML character at s (n
 * bytes left, s[0] >= 0x80), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
		unsigned char hi = c == 0xed ? 0x9f : 0xbf;	/* surrogates */

		if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe ||
		    s[2] == 0xbf))
			return 0;	/* U+FFFE, U+FFFF */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
		unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;

		if (n < 4 || s[1] < lo || s[1] > hi ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/* A reference at s ('&', n bytes left): its length, with the character's
 * UTF-8 bytes in out (*olen), or 0 when not one this path takes. */
static size_t
ref_parse(const char *s, size_t n, char out[4], size_t *olen)
{
	static const struct { const char *name; char c; } named[] = {
		{ "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	uint32_t cp = 0;
	size_t i = 2;

	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		size_t l = strlen(named[k].name);

		if (n >= l + 1 && memcmp(s + 1, named[k].name, l) == 0) {
			out[0] = named[k].c;
			*olen = 1;
			return l + 1;
		}
	}
	if (n < 4 || s[1] != '#')
		return 0;
	if (s[2] == 'x') {
		for (i = 3; i < n && i < 12 && s[i] != ';'; i++) {
			char c = s[i];

			cp = cp * 16 + (uint32_t)(c >= '0' && c <= '9' ? c - '0' :
			    c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			    c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0x7fffffff);
			if (cp > 0x10ffff)
				return 0;
		}
		if (i == 3)
			return 0;
	} else {
		for (i = 2; i < n && i < 12 && s[i] != ';'; i++) {
			if (s[i] < '0' || s[i] > '9')
				return 0;
			cp = cp * 10 + (uint32_t)(s[i] - '0');
			if (cp > 0x10ffff)
				return 0;
		}
		if (i == 2)
			return 0;
	}
	if (i >= n || s[i] != ';')
		return 0;
	/* an XML character: tab, newline, carriage return, or from space up,
	 * without surrogates, U+FFFE and U+FFFF */
	if (!(cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 &&
	    cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
	    (cp >= 0x10000 && cp <= 0x10ffff)))
		return 0;
	if (cp < 0x80) {
		out[0] = (char)cp;
		*olen = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		*olen = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		*olen = 3;
	} else {
		out[0] = (char)(0xf0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[3] = (char)(0x80 | (cp & 0x3f));
		*olen = 4;
	}
	return i + 1;
}

/* Byte classes: 0 an ordinary character of text and attribute values;
 * else what the scan must look at (see run_check). */
enum { C_PLAIN = 0, C_LT, C_AMP, C_RSQB, C_QUOT, C_WS, C_CTL, C_HIGH };

static unsigned char
byte_class(unsigned char c)
{
	if (c >= 0x80)
		return C_HIGH;
	if (c == '<')
		return C_LT;
	if (c == '&')
		return C_AMP;
	if (c == ']')
		return C_RSQB;
	if (c == '"' || c == '\'')
		return C_QUOT;
	if (c == '\t' || c == '\n')
		return C_WS;
	if (c < 0x20)
		return C_CTL;
	return C_PLAIN;
}

/*
 * The first byte at or after p that is not C_PLAIN, or end.  Text and
 * values are mostly plain ASCII, so sixteen bytes are classed at a time
 * where SSE2 is there (every x86-64): a signed compare below 0x20 takes
 * the control bytes and every byte from 0x80 at once, and the five
 * specials are compared one by one; the same bytes as byte_class().
 */
static const char *
skip_plain(const unsigned char *cls, const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i sp = _mm_set1_epi8(0x20), lt = _mm_set1_epi8('<'),
	    amp = _mm_set1_epi8('&'), rsqb = _mm_set1_epi8(']'),
	    dq = _mm_set1_epi8('"'), sq = _mm_set1_epi8('\'');

	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(
		    _mm_or_si128(_mm_cmplt_epi8(x, sp), _mm_cmpeq_epi8(x, lt)),
		    _mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(x, amp),
		    _mm_cmpeq_epi8(x, rsqb)),
		    _mm_or_si128(_mm_cmpeq_epi8(x, dq), _mm_cmpeq_epi8(x, sq))));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);

		if (mask != 0)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end && cls[(unsigned char)*p] == C_PLAIN)
		p++;
	return p;
}

/*
 * Check the bytes of a text run (attr 0: up to '<' or the end) or an
 * attribute value (up to quote): every byte an XML character this path
 * takes, every '&' a reference, no "]]>" in text.  Returns the end of the
 * run, or NULL to give up; *ref says whether a reference occurred.
 */
static const char *
run_check(const unsigned char *cls, const char *p, const char *end,
    int attr, char quote, int *ref)
{
	char tmp[4];
	size_t ol, l;

	*ref = 0;
	for (;;) {
		p = skip_plain(cls, p, end);
		if (p >= end)
			return attr ? NULL : p;
		switch (cls[(unsigned char)*p]) {
		case C_LT:
			return attr ? NULL : p;
		case C_AMP:
			if ((l = ref_parse(p, (size_t)(end - p), tmp,
			    &ol)) == 0)
				return NULL;
			*ref = 1;
			p += l;
			break;
		case C_RSQB:
			if (!attr && end - p >= 3 && p[1] == ']' && p[2] == '>')
				return NULL;
			p++;
			break;
		case C_QUOT:
			if (attr && *p == quote)
				return p;
			p++;
			break;
		case C_WS:
			/* normalised to a space in values */
			if (attr)
				return NULL;
			p++;
			break;
		case C_HIGH:
			if ((l = utf8_len((const unsigned char *)p,
			    (size_t)(end - p))) == 0)
				return NULL;
			p += l;
			break;
		default:	/* C_CTL: \r (normalised) and the rest */
			return NULL;
		}
	}
}

/* Decode the references of [s, s + n) (checked) into out; its length. */
static size_t
run_decode(const char *s, size_t n, char *out)
{
	size_t o = 0, ol;

	for (size_t i = 0; i < n;) {
		if (s[i] == '&') {
			i += ref_parse(s + i, n - i, out + o, &ol);
			o += ol;
		} else {
			out[o++] = s[i++];
		}
	}
	return o;
}

/* A name at p: its end, or NULL. */
static const char *
name_end(const struct xmlscan *xs, const char *p, const char *end)
{
	if (p >= end || !name_start((unsigned char)*p))
		return NULL;
	for (p++; p < end && xs->namec[(unsigned char)*p]; p++)
		;
	return p;
}

static int
push_tok(struct xmlscan *xs, int type, const char *base, const char *s,
    size_t len)
{
	struct xtok *t;

	if (xs->nt >= XS_MAX_TOKENS)
		return -1;
	t = &xs->t[xs->nt++];
	t->type = (uint8_t)type;
	t->ref = 0;
	t->natt = 0;
	t->off = (uint32_t)(s - base);
	t->len = (uint32_t)len;
	t->att = (uint32_t)xs->na;
	return 0;
}

/* Tokenize; 0, or -1 to give up. */
static int
scan(struct xmlscan *xs, const char *buf, size_t len, size_t max_text)
{
	const char *p = buf, *end = buf + len;
	const char *stk[XS_MAX_DEPTH];
	size_t stl[XS_MAX_DEPTH];
	int depth = 0, done = 0;

	xs->nt = xs->na = 0;
	while (p < end && space((unsigned char)*p))
		p++;
	if (p >= end || *p != '<')
		return -1;
	while (p < end) {
		if (*p != '<') {
			const char *q;
			int ref;

			if (depth == 0) {
				/* after the root: white space only */
				if (!done || !space((unsigned char)*p))
					return -1;
				p++;
				continue;
			}
			q = run_check(xs->cls, p, end, 0, 0, &ref);
			if (q == NULL || (size_t)(q - p) > max_text)
				return -1;
			if (push_tok(xs, XT_TEXT, buf, p, (size_t)(q - p)))
				return -1;
			xs->t[xs->nt - 1].ref = (uint8_t)ref;
			p = q;
			continue;
		}
		if (p + 1 >= end)
			return -1;
		if (p[1] == '/') {
			const char *ns = p + 2, *ne = name_end(xs, ns, end);

			if (ne == NULL || depth == 0)
				return -1;
			p = ne;
			while (p < end && space((unsigned char)*p))
				p++;
			if (p >= end || *p != '>')
				return -1;
			p++;
			depth--;
			if ((size_t)(ne - ns) != stl[depth] ||
			    memcmp(ns, stk[depth], stl[depth]) != 0)
				return -1;
			if (push_tok(xs, XT_END, buf, ns, (size_t)(ne - ns)))
				return -1;
			if (depth == 0)
				done = 1;
			continue;
		}
		if (done)
			return -1;	/* a second root, <? or <! */
		{
			const char *ns = p + 1, *ne = name_end(xs, ns, end);
			struct xtok *st;
			size_t first = xs->na;

			if (ne == NULL ||
			    push_tok(xs, XT_START, buf, ns, (size_t)(ne - ns)))
				return -1;
			st = &xs->t[xs->nt - 1];
			p = ne;
			for (;;) {
				const char *an, *ae, *vs, *ve;
				char quote;
				int sp = 0, ref;

				while (p < end && space((unsigned char)*p)) {
					p++;
					sp = 1;
				}
				if (p >= end)
					return -1;
				if (*p == '>' || *p == '/')
					break;
				if (!sp)
					return -1;
				an = p;
				if ((ae = name_end(xs, an, end)) == NULL)
					return -1;
				p = ae;
				while (p < end && space((unsigned char)*p))
					p++;
				if (p >= end || *p != '=')
					return -1;
				p++;
				while (p < end && space((unsigned char)*p))
					p++;
				if (p >= end || (*p != '"' && *p != '\''))
					return -1;
				quote = *p++;
				vs = p;
				ve = run_check(xs->cls, vs, end, 1, quote, &ref);
				if (ve == NULL || (size_t)(ve - vs) > max_text)
					return -1;
				p = ve + 1;
				/* a repeated attribute is an error */
				for (size_t k = first; k < xs->na; k++)
					if (xs->a[k].nlen == (size_t)(ae - an) &&
					    memcmp(buf + xs->a[k].noff, an,
					    xs->a[k].nlen) == 0)
						return -1;
				if (xs->na >= XS_MAX_ATTRS ||
				    xs->na - first >= XS_MAX_ELEM_ATTRS)
					return -1;
				xs->a[xs->na].noff = (uint32_t)(an - buf);
				xs->a[xs->na].nlen = (uint32_t)(ae - an);
				xs->a[xs->na].voff = (uint32_t)(vs - buf);
				xs->a[xs->na].vlen = (uint32_t)(ve - vs);
				xs->a[xs->na].ref = (uint8_t)ref;
				xs->na++;
				st->natt++;
			}
			if (*p == '/') {
				if (p + 1 >= end || p[1] != '>')
					return -1;
				p += 2;
				if (push_tok(xs, XT_END, buf, ns,
				    (size_t)(ne - ns)))
					return -1;
				if (depth == 0)
					done = 1;
				continue;
			}
			p++;
			if (depth >= XS_MAX_DEPTH)
				return -1;
			stk[depth] = ns;
			stl[depth] = (size_t)(ne - ns);
			depth++;
		}
	}
	return depth == 0 && done ? 0 : -1;
}

int
xmlscan_run(struct xmlscan *xs, const char *buf, size_t len, size_t max_text,
    const struct xmlscan_cb *cb, void *ud)
{
	if (len == 0 || len > UINT32_MAX / 2 || scan(xs, buf, len, max_text))
		return 1;
	/* every name and decoded value of one token fits in its raw bytes
	 * plus a NUL each */
	if (xs->cap < len + 2 * XS_MAX_ELEM_ATTRS + 2) {
		size_t ncap = len + 2 * XS_MAX_ELEM_ATTRS + 2;
		char *nb = realloc(xs->buf, ncap);

		if (nb == NULL)
			return TS_ENOMEM;
		xs->buf = nb;
		xs->cap = ncap;
	}
	for (size_t i = 0; i < xs->nt && !cb->halted(ud); i++) {
		const struct xtok *t = &xs->t[i];
		char *o = xs->buf;

		switch (t->type) {
		case XT_START: {
			const char *name = o;
			size_t k = 0;

			memcpy(o, buf + t->off, t->len);
			o += t->len;
			*o++ = '\0';
			for (size_t j = t->att; j < t->att + t->natt; j++) {
				const struct xatt *a = &xs->a[j];

				xs->atts[k++] = o;
				memcpy(o, buf + a->noff, a->nlen);
				o += a->nlen;
				*o++ = '\0';
				xs->atts[k++] = o;
				if (a->ref) {
					o += run_decode(buf + a->voff, a->vlen,
					    o);
				} else {
					memcpy(o, buf + a->voff, a->vlen);
					o += a->vlen;
				}
				*o++ = '\0';
			}
			xs->atts[k] = NULL;
			cb->start(ud, name, xs->atts);
			break;
		}
		case XT_END:
			memcpy(o, buf + t->off, t->len);
			o[t->len] = '\0';
			cb->end(ud, o);
			break;
		case XT_TEXT:
			if (t->ref)
				cb->text(ud, o, (int)run_decode(buf + t->off,
				    t->len, o));
			else
				cb->text(ud, buf + t->off, (int)t->len);
			break;
		}
	}
	return 0;
}
