/*
 * names.c - one table of the names tocsin accepts (see names.h).
 */
#include <string.h>

#include "common/limits.h"
#include "common/names.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)

/* Alphabets. */
enum { ALPHA_WORD = 1,		/* A-Z a-z 0-9 . _ - */
       ALPHA_PRINTABLE,		/* any byte but controls and DEL */
       ALPHA_MITRE,		/* the ATT&CK id grammar */
       ALPHA_PRINTUSASCII };	/* 0x21-0x7e (RFC 5424 header fields) */

static const struct name_row {
	enum name_kind	 n_kind;
	const char	*n_what;	/* for messages */
	int		 n_alpha;
	size_t		 n_max;		/* bytes */
	int		 n_no_lead;	/* no leading '.' or '-' */
	int		 n_no_edge_space; /* no leading or trailing ' ' */
	const char	*n_expect;	/* what it must look like */
} name_table[NAME_NKINDS] = {
	{ NAME_AGENT, "agent name", ALPHA_WORD, MAX_NAME_BYTES, 1, 0,
	  "1 to " STR(MAX_NAME_BYTES) " of A-Z a-z 0-9 . _ -, not starting "
	  "with '.' or '-'" },
	{ NAME_DRILL, "drill name", ALPHA_WORD, MAX_DRILL_BYTES, 1, 0,
	  "1 to " STR(MAX_DRILL_BYTES) " letters, digits, '.', '_' or '-', "
	  "not starting with '.' or '-'" },
	{ NAME_OUTPUT, "output name", ALPHA_WORD, MAX_OUTPUT_NAME_BYTES, 0, 0,
	  "1 to " STR(MAX_OUTPUT_NAME_BYTES) " of A-Z a-z 0-9 . _ -" },
	{ NAME_RULE_ID, "rule id", ALPHA_WORD, MAX_RULE_ID_BYTES, 0, 0,
	  "1 to " STR(MAX_RULE_ID_BYTES) " of A-Z a-z 0-9 . _ -" },
	{ NAME_MITRE, "MITRE ATT&CK id", ALPHA_MITRE, 10, 0, 0,
	  "a technique T1234 or T1234.567, or a tactic TA1234" },
	{ NAME_FIELD, "field name", ALPHA_PRINTABLE, MAX_JSON_PATH_BYTES, 0, 1,
	  "1 to " STR(MAX_JSON_PATH_BYTES) " printable bytes, no control "
	  "byte, no leading or trailing space" },
	{ NAME_HOST, "host name", ALPHA_PRINTUSASCII, MAX_HOST_BYTES, 0, 0,
	  "1 to " STR(MAX_HOST_BYTES) " printable ASCII characters, no "
	  "space (an RFC 5424 HOSTNAME)" },
};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_word(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    is_digit(c) || c == '.' || c == '_' || c == '-';
}

/* "T" or "TA", four digits, then optionally "." and three digits (at
 * most 10 bytes: "TA0006.001"). */
static int mitre_valid(const char *s, size_t n)
{
	size_t i = 1, k;

	if (n < 5 || s[0] != 'T')
		return 0;
	if (s[1] == 'A')
		i = 2;
	for (k = 0; k < 4; k++, i++)
		if (i >= n || !is_digit(s[i]))
			return 0;
	if (i == n)
		return 1;
	if (s[i] != '.' || n != i + 4)
		return 0;
	for (i++; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

int name_valid(enum name_kind k, const char *s, size_t n)
{
	const struct name_row *r;
	size_t i;

	if ((unsigned)k >= NAME_NKINDS || s == NULL || n == 0)
		return 0;
	r = &name_table[k];
	if (n > r->n_max)
		return 0;
	if (r->n_no_lead && (s[0] == '.' || s[0] == '-'))
		return 0;
	if (r->n_no_edge_space && (s[0] == ' ' || s[n - 1] == ' '))
		return 0;
	switch (r->n_alpha) {
	case ALPHA_MITRE:
		return mitre_valid(s, n);
	case ALPHA_WORD:
		for (i = 0; i < n; i++)
			if (!is_word(s[i]))
				return 0;
		return 1;
	case ALPHA_PRINTUSASCII:
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x21 ||
			    (unsigned char)s[i] > 0x7e)
				return 0;
		return 1;
	default:	/* ALPHA_PRINTABLE */
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 ||
			    (unsigned char)s[i] == 0x7f)
				return 0;
		return 1;
	}
}

int name_valid_str(enum name_kind k, const char *s)
{
	size_t n;

	if (s == NULL || (unsigned)k >= NAME_NKINDS)
		return 0;
	/* never read past what the kind allows (+1 to see "too long") */
	n = strnlen(s, name_table[k].n_max + 1);
	return name_valid(k, s, n);
}

const char *name_expect(enum name_kind k)
{
	return (unsigned)k < NAME_NKINDS ? name_table[k].n_expect : "?";
}

const char *name_what(enum name_kind k)
{
	return (unsigned)k < NAME_NKINDS ? name_table[k].n_what : "name";
}
