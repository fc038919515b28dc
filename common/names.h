/*
 * names.h - the one check of every name tocsin accepts from a file, the
 * network or the command line: agent, drill, output, rule id, MITRE ATT&CK
 * id, field name.  Each kind is one row of a table (names.c): its alphabet,
 * its length bound (common/limits.h) and the words that describe it in an
 * error message, so that a name is checked, and explained, the same way
 * everywhere.
 */
#ifndef TOCSIN_NAMES_H
#define TOCSIN_NAMES_H

#include <stddef.h>

enum name_kind {
	NAME_AGENT,	/* enrolled agent: [A-Za-z0-9._-], 1..MAX_NAME_BYTES,
			 * not starting with '.' or '-' (it names key files) */
	NAME_DRILL,	/* drill: as an agent name, 1..MAX_DRILL_BYTES */
	NAME_OUTPUT,	/* output: [A-Za-z0-9._-], 1..MAX_OUTPUT_NAME_BYTES */
	NAME_RULE_ID,	/* rule or decoder id: [A-Za-z0-9._-],
			 * 1..MAX_RULE_ID_BYTES */
	NAME_MITRE,	/* ATT&CK id: T1234, T1234.567 or tactic TA1234 */
	NAME_FIELD,	/* event field: printable bytes (JSON key paths hold
			 * spaces), no control byte, no leading or trailing
			 * space, 1..MAX_JSON_PATH_BYTES */
	NAME_HOST,	/* host name an agent reports (HELLO): an RFC 5424
			 * HOSTNAME, 1..MAX_HOST_BYTES of PRINTUSASCII
			 * (0x21-0x7e: no space, no control byte) */
	NAME_NKINDS
};

/* 1 if (s, n) is a valid name of kind k, else 0.  s need not be
 * NUL-terminated; NULL is never valid. */
int name_valid(enum name_kind k, const char *s, size_t n);

/* name_valid on a NUL-terminated string. */
int name_valid_str(enum name_kind k, const char *s);

/* What kind k must look like, for messages: "1 to 64 of A-Z a-z 0-9 . _ -,
 * not starting with '.' or '-'".  Static storage. */
const char *name_expect(enum name_kind k);

/* The kind's name in messages ("agent name", "MITRE ATT&CK id").  Static. */
const char *name_what(enum name_kind k);

#endif /* TOCSIN_NAMES_H */
