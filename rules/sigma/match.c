/*
 * match.c - the leaf tests Sigma adds to the matcher: wildcard globs
 * compared byte by byte with ASCII case folding (no regex), numeric
 * comparisons and field-to-field references.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules/sigma/sigma.h"

static int
fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Token at p[i]: returns 0 (literal byte in *c), 1 ('*') or 2 ('?'), and
 * its length in *tl. */
static int
glob_tok(const char *p, size_t pl, size_t i, unsigned char *c, size_t *tl)
{
	if (p[i] == SIGMA_GLOB_ESC && i + 1 < pl) {
		*tl = 2;
		if (p[i + 1] == SIGMA_GLOB_STAR)
			return 1;
		if (p[i + 1] == SIGMA_GLOB_ONE)
			return 2;
		*c = (unsigned char)p[i + 1];
		return 0;
	}
	*tl = 1;
	*c = (unsigned char)p[i];
	return 0;
}

/* First byte at or after s (n bytes) equal to c (either case if nocase),
 * or NULL. */
static const char *
find_byte(const char *s, size_t n, unsigned char c, int nocase)
{
	const char *a = memchr(s, c, n), *b;
	int o = c >= 'a' && c <= 'z' ? c - 32 : c >= 'A' && c <= 'Z' ? c + 32 :
	    -1;

	if (nocase && o >= 0 &&
	    (b = memchr(s, o, a != NULL ? (size_t)(a - s) : n)) != NULL)
		a = b;
	return a;
}

/*
 * The glob "*lit*" (lit: ll >= 1 literal bytes): whether lit occurs in s,
 * ASCII case folded if nocase.  Most Sigma values are of this shape (a
 * caseless contains); the general walk below pays a token decode per
 * byte that this loop does not.
 */
static int
contains(const char *s, size_t len, const char *lit, size_t ll, int nocase)
{
	const char *p = s, *last;
	unsigned char c0 = (unsigned char)lit[0];

	if (ll > len)
		return 0;
	last = s + (len - ll);
	while (p <= last &&
	    (p = find_byte(p, (size_t)(last - p) + 1, c0, nocase)) != NULL) {
		size_t i = 1;

		if (nocase)
			while (i < ll && fold((unsigned char)p[i]) ==
			    fold((unsigned char)lit[i]))
				i++;
		else
			while (i < ll && p[i] == lit[i])
				i++;
		if (i == ll)
			return 1;
		p++;
	}
	return 0;
}

int
sigma_glob_match(const char *s, size_t len, const char *p, size_t pl,
    int nocase)
{
	size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0, tl;
	unsigned char c = 0;
	int t;

	if (pl > 4 && p[0] == SIGMA_GLOB_ESC && p[1] == SIGMA_GLOB_STAR &&
	    p[pl - 2] == SIGMA_GLOB_ESC && p[pl - 1] == SIGMA_GLOB_STAR &&
	    memchr(p + 2, SIGMA_GLOB_ESC, pl - 4) == NULL)
		return contains(s, len, p + 2, pl - 4, nocase);

	/* the classic greedy walk: on a mismatch, let the last '*' take one
	 * more byte; correct for '*' and '?'.  After a '*' followed by a
	 * literal byte, jump to that byte's next occurrence (memchr). */
	while (si < len) {
		if (pi < pl) {
			t = glob_tok(p, pl, pi, &c, &tl);
			if (t == 1) {
				pi += tl;
				star_p = pi;
				star_s = si;
				goto skip;
			}
			if (t == 2 || (nocase ? fold((unsigned char)s[si]) ==
			    fold(c) : (unsigned char)s[si] == c)) {
				si++;
				pi += tl;
				continue;
			}
		}
		if (star_p == (size_t)-1)
			return 0;
		pi = star_p;
		si = ++star_s;
skip:
		if (pi < pl && si < len && glob_tok(p, pl, pi, &c, &tl) == 0) {
			const char *f = find_byte(s + si, len - si, c, nocase);

			if (f == NULL)
				return 0;
			si = star_s = (size_t)(f - s);
		}
	}
	while (pi < pl && glob_tok(p, pl, pi, &c, &tl) == 1)
		pi += tl;
	return pi == pl;
}

/* A decimal number (optional sign, digits, optional fraction) or 0x hex;
 * -1 if s is not one. */
static int
parse_num(const char *s, size_t len, double *out)
{
	char buf[64], *end;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.' ||
		    buf[i] == '-' || buf[i] == '+' || buf[i] == 'x' ||
		    buf[i] == 'X' || (buf[i] >= 'a' && buf[i] <= 'f') ||
		    (buf[i] >= 'A' && buf[i] <= 'F')))
			return -1;	/* no "inf", "nan",
			    exponents of words */
	*out = strtod(buf, &end);
	if (end != buf + len || !isfinite(*out))
		return -1;
	return 0;
}

int
sigma_num_cmp(const char *s, size_t len, const char *num, int cmp)
{
	double a, b;

	if (parse_num(s, len, &a) || parse_num(num, strlen(num), &b))
		return 0;
	switch (cmp) {
	case LEAF_CMP_GT: return a > b;
	case LEAF_CMP_GTE: return a >= b;
	case LEAF_CMP_LT: return a < b;
	case LEAF_CMP_LTE: return a <= b;
	}
	return 0;
}

static int
eq(const char *a, const char *b, size_t n, int nocase)
{
	if (!nocase)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (fold((unsigned char)a[i]) != fold((unsigned char)b[i]))
			return 0;
	return 1;
}

int
sigma_str_cmp(const char *s, size_t len, const char *o, size_t olen, int op,
    int nocase)
{
	switch (op) {
	case LEAF_EQUALS:
		return len == olen && eq(s, o, len, nocase);
	case LEAF_STARTSWITH:
		return olen <= len && eq(s, o, olen, nocase);
	case LEAF_ENDSWITH:
		return olen <= len && eq(s + len - olen, o, olen, nocase);
	case LEAF_CONTAINS:
		for (size_t i = 0; i + olen <= len; i++)
			if (eq(s + i, o, olen, nocase))
				return 1;
		return 0;
	}
	return 0;
}
