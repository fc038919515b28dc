/*
 * decode_cef.c - the CEF decoder (ArcSight Common Event Format, as
 * Kaspersky Security Center and most appliances export it):
 *
 *   CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|Extension
 *
 * The header fields end at an unescaped '|' ("\|" is a pipe, "\\" a
 * backslash).  The extension is "key=value" pairs separated by spaces; a
 * value runs to the space before the next "key=" and may hold spaces,
 * "\=" (an equal sign), "\\", "\n" and "\r".
 *
 * The record is untrusted: every read is bounded by the end pointer, header
 * fields and keys have named maximum lengths, and text that is not CEF is
 * refused rather than guessed at.
 */
#include <stddef.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

/* Digits of the CEF format version ("0", "1"). */
#define MAX_CEF_VERSION_DIGITS	3

static const char *const hdr_names[6] = {
	"cef.vendor", "cef.product", "cef.version", "cef.signature_id",
	"cef.name", "cef.severity"
};

/* Reserve n bytes in the arena; NULL when full. */
static char *
arena_take(struct field_arena *a, size_t n)
{
	char *p;

	if (n > a->cap - a->len)
		return NULL;
	p = a->buf + a->len;
	a->len += n;
	return p;
}

static int
is_key_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
	    c == '[' || c == ']';
}

/* Length of a key at p followed by '=', or 0 when p does not start one. */
static size_t
key_at(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && is_key_char((unsigned char)*p) &&
	    (size_t)(p - s) <= MAX_CEF_KEY_BYTES)
		p++;
	if (p == s || p >= end || *p != '=' ||
	    (size_t)(p - s) > MAX_CEF_KEY_BYTES)
		return 0;
	return (size_t)(p - s);
}

/* Copy a header field (s, n) with "\|" and "\\" undone into the arena. */
static char *
hdr_unescape(struct field_arena *a, const char *s, size_t n, size_t *out_len)
{
	char *d = arena_take(a, n + 1), *w = d;

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '|' ||
		    s[i + 1] == '\\'))
			i++;
		*w++ = s[i];
	}
	*w = '\0';
	*out_len = (size_t)(w - d);
	a->len -= n - *out_len;		/* give back what unescaping saved */
	return d;
}

/* Copy an extension value with "\=", "\\", "\n", "\r" (and "\|") undone. */
static char *
val_unescape(struct field_arena *a, const char *s, size_t n, size_t *out_len)
{
	char *d = arena_take(a, n + 1), *w = d;

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			char c = s[i + 1];

			if (c == '=' || c == '\\' || c == '|') {
				*w++ = c;
				i++;
				continue;
			}
			if (c == 'n' || c == 'r') {
				*w++ = c == 'n' ? '\n' : '\r';
				i++;
				continue;
			}
		}
		*w++ = s[i];
	}
	*w = '\0';
	*out_len = (size_t)(w - d);
	a->len -= n - *out_len;
	return d;
}

/* An extension key as a field name: "cef.KEY" when KEY is a header field
 * name, else KEY; NUL-terminated in the arena. */
static char *
ext_name(struct field_arena *a, const char *k, size_t kl, size_t *out_len)
{
	int pre = rules_builtin_name(k, kl);
	size_t n = kl + (pre ? 4 : 0);
	char *d = arena_take(a, n + 1);

	if (d == NULL)
		return NULL;
	if (pre)
		memcpy(d, "cef.", 4);
	memcpy(d + (pre ? 4 : 0), k, kl);
	d[n] = '\0';
	*out_len = n;
	return d;
}

int
cef_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, size_t *dropped)
{
	const char *p = buf, *end = buf + len, *vs, *fs[6];
	size_t fl[6], vl;
	char *v;

	*dropped = 0;
	while (end > p && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' '))
		end--;
	if (end - p < 4 || memcmp(p, "CEF:", 4) != 0)
		return TS_EINVAL;
	p += 4;
	vs = p;
	while (p < end && *p >= '0' && *p <= '9' &&
	    p - vs <= MAX_CEF_VERSION_DIGITS)
		p++;
	vl = (size_t)(p - vs);
	if (vl == 0 || vl > MAX_CEF_VERSION_DIGITS || p >= end || *p != '|')
		return TS_EINVAL;
	p++;
	/* six header fields, each ended by an unescaped '|' */
	for (int i = 0; i < 6; i++) {
		const char *s = p;

		while (p < end && *p != '|') {
			if (*p == '\\' && p + 1 < end)
				p++;
			p++;
		}
		if (p >= end || (size_t)(p - s) > MAX_CEF_HEADER_BYTES)
			return TS_EINVAL;
		fs[i] = s;
		fl[i] = (size_t)(p - s);
		p++;
	}
	/* the header is valid: emit it */
	if ((v = arena_take(a, vl + 1)) == NULL) {
		(*dropped)++;
		return 0;
	}
	memcpy(v, vs, vl);
	v[vl] = '\0';
	if (emit(arg, "cef.cef_version", 15, v, vl))
		return 0;
	for (int i = 0; i < 6; i++) {
		size_t n;

		if ((v = hdr_unescape(a, fs[i], fl[i], &n)) == NULL) {
			(*dropped)++;
			return 0;
		}
		if (emit(arg, hdr_names[i], strlen(hdr_names[i]), v, n))
			return 0;
	}
	/* extension */
	while (p < end) {
		const char *k, *q;
		size_t kl, nl, n;
		char *name;

		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		if ((kl = key_at(p, end)) == 0) {	/* junk: skip a word */
			(*dropped)++;
			while (p < end && *p != ' ')
				p++;
			continue;
		}
		k = p;
		p += kl + 1;
		for (q = p; q < end; q++) {
			if (*q == '\\' && q + 1 < end) {
				q++;
				continue;
			}
			if (*q == ' ' && key_at(q + 1, end) != 0)
				break;
		}
		n = (size_t)(q - p);
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if ((name = ext_name(a, k, kl, &nl)) == NULL ||
		    (v = val_unescape(a, p, n, &vl)) == NULL) {
			(*dropped)++;
			return 0;
		}
		if (emit(arg, name, nl, v, vl))
			return 0;
		p = q;
	}
	return 0;
}
