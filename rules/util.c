/*
 * util.c - the helpers every part of rules/ shares (the native loader, the
 * Sigma compiler in rules/sigma/, the correlation compiler, the decoders
 * and the matcher): diagnostics, hashing, IP and CIDR parsing, field ids,
 * and the literals a regex requires.  It depends on nothing else in
 * rules/, so that the others can use it without depending on each other.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "rules/rules_int.h"

/* ---- diagnostics ------------------------------------------------------- */

void
rules_diags_free(struct rules_diags *dl)
{
	if (dl == NULL)
		return;
	for (size_t i = 0; i < dl->n; i++) {
		free(dl->d[i].file);
		free(dl->d[i].msg);
	}
	free(dl->d);
	dl->d = NULL;
	dl->n = dl->cap = dl->errors = 0;
}

void
rules_diags_print(const struct rules_diags *dl, void *fp)
{
	FILE *f = fp;

	for (size_t i = 0; dl != NULL && i < dl->n; i++) {
		const struct rules_diag *d = &dl->d[i];
		char esc[1024];

		escape_text(d->msg, strlen(d->msg), esc, sizeof(esc));
		if (d->line > 0)
			fprintf(f, "%s:%d:%d: %s: %s\n", d->file, d->line,
			    d->col, d->warning ? "warning" : "error", esc);
		else
			fprintf(f, "%s: %s: %s\n", d->file,
			    d->warning ? "warning" : "error", esc);
	}
}

/*
 * Append one diagnostic to dl (shared by the native, Sigma and correlation
 * loaders).  Returns 0, or TS_ENOMEM when it could not be recorded (the
 * caller then fails the load).
 */
int
rules_diags_vadd(struct rules_diags *dl, const char *file, int line, int col,
    int warning, const char *fmt, va_list ap)
{
	struct rules_diag *d;
	char buf[1024];

	if (!warning)
		dl->errors++;
	if (dl->n == dl->cap) {
		size_t ncap = dl->cap ? dl->cap * 2 : 16;
		struct rules_diag *nd = realloc(dl->d, ncap * sizeof(*nd));

		if (nd == NULL)
			return TS_ENOMEM;
		dl->d = nd;
		dl->cap = ncap;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	d = &dl->d[dl->n];
	d->file = strdup(file);
	d->msg = strdup(buf);
	if (d->file == NULL || d->msg == NULL) {
		free(d->file);
		free(d->msg);
		return TS_ENOMEM;
	}
	d->line = line;
	d->col = col;
	d->warning = warning;
	dl->n++;
	return 0;
}

/* ---- hashing and field ids ----------------------------------------------- */

uint32_t
rules_hash(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len, w;
	size_t i = 0;

	/* eight bytes a step: every decoded field name comes here */
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (i < len) {
		/* the last eight bytes (some hashed twice), or the few */
		if (len >= 8) {
			memcpy(&w, s + len - 8, 8);
		} else {
			w = 0;
			for (size_t k = 0; k < len; k++)
				w |= (uint64_t)(unsigned char)s[k] << (8 * k);
		}
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

int
rules_builtin_name(const char *s, size_t n)
{
	static const char *const b[] = { "host", "program", "pid", "message",
	    "agent", "msgid", "source" };

	if (n < 3 || n > 7)	/* every event's decoded names come here */
		return 0;
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (b[i][0] == s[0] && strlen(b[i]) == n &&
		    memcmp(b[i], s, n) == 0)
			return 1;
	return 0;
}

int
rules_field_id(struct ruleset *rs, const char *name, size_t len, size_t *cap)
{
	char *s;

	for (size_t i = 0; i < rs->nfield_names; i++)
		if (strlen(rs->field_names[i]) == len &&
		    memcmp(rs->field_names[i], name, len) == 0)
			return (int)i;
	if (rs->nfield_names == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		char **nv = realloc(rs->field_names, ncap * sizeof(*nv));

		if (nv == NULL)
			return TS_ENOMEM;
		rs->field_names = nv;
		*cap = ncap;
	}
	if ((s = strndup(name, len)) == NULL)
		return TS_ENOMEM;
	rs->field_names[rs->nfield_names++] = s;
	return (int)rs->nfield_names - 1;
}

int
ruleset_field_lookup(const struct ruleset *rs, const char *name, size_t len)
{
	size_t mask = rs->fhash_size - 1, h;

	if (rs->fhash_size == 0)
		return -1;
	h = rules_hash(name, len) & mask;
	for (size_t n = 0; n < rs->fhash_size && rs->fhash[h] != 0; n++) {
		const char *f = rs->field_names[rs->fhash[h] - 1];

		/* the first byte first: most probes are other names */
		if ((len == 0 ? f[0] == '\0' : f[0] == name[0]) &&
		    strlen(f) == len && memcmp(f, name, len) == 0)
			return (int)rs->fhash[h] - 1;
		h = (h + 1) & mask;
	}
	return -1;
}

/* ---- addresses ------------------------------------------------------------ */

int
rules_parse_ip(const char *s, size_t len, int *family, unsigned char addr[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return TS_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		static const unsigned char mapped[12] =
		    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(addr, mapped, 12) == 0) {	/* ::ffff:a.b.c.d */
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = 4;
		} else {
			*family = 6;
		}
		return 0;
	}
	return TS_EINVAL;
}

int
rules_parse_cidr(const char *s, struct cidr *c)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t bits;
	unsigned max;

	if (rules_parse_ip(s, alen, &c->family, c->addr))
		return TS_EINVAL;
	max = c->family == 4 ? 32 : 128;
	if (slash == NULL)
		bits = max;
	else if (parse_u64(slash + 1, strlen(slash + 1), max, &bits))
		return TS_EINVAL;
	c->bits = (unsigned)bits;
	/* clear host bits */
	for (unsigned i = 0; i < 16; i++) {
		unsigned lo = i * 8;

		if (lo >= c->bits)
			c->addr[i] = 0;
		else if (lo + 8 > c->bits)
			c->addr[i] &= (unsigned char)(0xff << (lo + 8 - c->bits));
	}
	return 0;
}

/* ---- literals of regexes ------------------------------------------------- */

/* Index after the escape "\X..." at pat[i] whose X is alphanumeric
 * (\x41, \x{263a}, \cA, \012, \p{Lu}, \g{-1}, \k<name>, ...), erring
 * towards skipping more; 0 if a bracket is not closed. */
static size_t
skip_escape(const char *pat, size_t i, size_t n)
{
	char e = pat[i + 1];
	size_t j = i + 2;

	if (e == 'c')
		return j + 1 <= n ? j + 1 : 0;
	if (strchr("xopPgkN", e) != NULL && j < n &&
	    strchr("{<'", pat[j]) != NULL) {
		char close = pat[j] == '{' ? '}' : pat[j] == '<' ? '>' : '\'';
		const char *c = memchr(pat + j + 1, close, n - j - 1);

		return c != NULL ? (size_t)(c - pat) + 1 : 0;
	}
	if (e == 'p' || e == 'P')
		return j + 1 <= n ? j + 1 : 0;
	/* \x41 (hex), \012 and \1 (octal, back-reference), \g1, \g-1 */
	if (e == 'g' && j < n && (pat[j] == '-' || pat[j] == '+'))
		j++;
	if (e == 'x') {
		for (int k = 0; k < 2 && j < n && ((pat[j] >= '0' &&
		    pat[j] <= '9') || (pat[j] >= 'a' && pat[j] <= 'f') ||
		    (pat[j] >= 'A' && pat[j] <= 'F')); k++)
			j++;
	} else if (e == 'g' || (e >= '0' && e <= '9')) {
		while (j < n && pat[j] >= '0' && pat[j] <= '9')
			j++;
	}
	return j;
}

int
rules_extract_literal(const char *pat, char **out, size_t *out_len)
{
	size_t n = strlen(pat), i = 0, run = 0, best = 0, best_at = 0;
	char *buf, *res;
	int prev_quant = 0;

	*out = NULL;
	*out_len = 0;
	if ((buf = malloc(n + 1)) == NULL)
		return TS_ENOMEM;
#define BREAK_RUN() do {						\
		if (run > best) {					\
			best = run;					\
			best_at = (size_t)(cur - buf);			\
		}							\
		cur += run;						\
		run = 0;						\
	} while (0)
	char *cur = buf;	/* start of the current run inside buf */
	while (i < n) {
		unsigned char c = (unsigned char)pat[i];

		if (c == '\\') {
			unsigned char e;

			if (i + 1 >= n)
				goto none;
			e = (unsigned char)pat[i + 1];
			if (e == 'Q' || e == 'E')
				goto none;
			prev_quant = 0;
			if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
			    (e >= '0' && e <= '9')) {
				/* a class, anchor, code or reference: none of
				 * its bytes are literal */
				if ((i = skip_escape(pat, i, n)) == 0)
					goto none;
				BREAK_RUN();
				continue;
			}
			i += 2;
			cur[run++] = (char)e;
			continue;
		}
		if (c == '[') {
			BREAK_RUN();
			i++;
			if (i < n && pat[i] == '^')
				i++;
			if (i < n && pat[i] == ']')
				i++;
			while (i < n && pat[i] != ']') {
				if (pat[i] == '\\')
					i++;
				else if (pat[i] == '[' && i + 1 < n &&
				    pat[i + 1] == ':') {
					const char *e = strstr(pat + i, ":]");

					if (e == NULL)
						goto none;
					i = (size_t)(e - pat) + 1;
				}
				i++;
			}
			if (i >= n)
				goto none;
			i++;
			prev_quant = 0;
			continue;
		}
		if (c == '(') {
			int depth = 0;

			if (i + 1 < n && pat[i + 1] == '*')
				goto none;	/* (*VERB) */
			if (i + 1 < n && pat[i + 1] == '?' && i + 2 < n &&
			    strchr("<:=!>P#|'", pat[i + 2]) == NULL)
				goto none;	/* option setting */
			BREAK_RUN();
			while (i < n) {
				if (pat[i] == '\\') {
					i += 2;
					continue;
				}
				if (pat[i] == '[') {	/* skip a class */
					i++;
					if (i < n && pat[i] == '^')
						i++;
					if (i < n && pat[i] == ']')
						i++;
					while (i < n && pat[i] != ']')
						i += pat[i] == '\\' ? 2 : 1;
					i++;
					continue;
				}
				if (pat[i] == '(')
					depth++;
				else if (pat[i] == ')' && --depth == 0)
					break;
				i++;
			}
			if (i >= n)
				goto none;
			i++;
			prev_quant = 0;
			continue;
		}
		if (c == ')' || c == '|')
			goto none;
		if (c == '*' || c == '?' || c == '+' || c == '{') {
			if (c == '{') {
				size_t j = i + 1;

				while (j < n && ((pat[j] >= '0' && pat[j] <= '9') ||
				    pat[j] == ','))
					j++;
				if (j >= n || pat[j] != '}')
					goto none;	/* literal '{': be safe */
				i = j;
			}
			if (!prev_quant) {
				/* x+ keeps one x; x*, x?, x{..} drop it */
				if (c != '+' && run > 0)
					run--;
				BREAK_RUN();
			}
			prev_quant = 1;
			i++;
			continue;
		}
		prev_quant = 0;
		if (c == '.' || c == '^' || c == '$') {
			BREAK_RUN();
			i++;
			continue;
		}
		cur[run++] = (char)c;
		i++;
	}
	BREAK_RUN();
#undef BREAK_RUN
	if (best >= 2) {
		if ((res = malloc(best + 1)) == NULL) {
			free(buf);
			return TS_ENOMEM;
		}
		memcpy(res, buf + best_at, best);
		res[best] = '\0';
		*out = res;
		*out_len = best;
	}
none:
	free(buf);
	return 0;
}

int
rules_extract_prefix(const char *pat, char **out, size_t *out_len)
{
	size_t n = strlen(pat), i = 1, len = 0;
	char *buf;

	*out = NULL;
	*out_len = 0;
	if (n < 2 || pat[0] != '^' || strchr(pat, '|') != NULL)
		return 0;	/* "^a|b": the ^ binds to one branch only */
	if ((buf = malloc(n)) == NULL)
		return TS_ENOMEM;
	while (i < n) {
		unsigned char c = (unsigned char)pat[i];

		if (c == '\\') {
			unsigned char e = i + 1 < n ? (unsigned char)pat[i + 1] : 0;

			if (e == 0 || (e >= 'a' && e <= 'z') ||
			    (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
				break;
			c = e;
			i += 2;
		} else if (strchr(".^$[]()|*+?{}", c) != NULL) {
			break;
		} else {
			i++;
		}
		/* a quantifier after this byte makes it optional or repeated */
		if (i < n && strchr("*?{", pat[i]) != NULL)
			break;
		buf[len++] = (char)c;
		if (i < n && pat[i] == '+')
			break;
	}
	if (len >= 2) {
		buf[len] = '\0';
		*out = buf;
		*out_len = len;
	} else {
		free(buf);
	}
	return 0;
}
