/*
 * fuzz_names.c - libFuzzer target for the checks of untrusted names and
 * endpoints (common/names.h, common/endpoint.h): every kind of name on the
 * raw bytes (a length, no NUL), then on a NUL-terminated copy, and the
 * endpoint checks and the wildcard rewriting on that copy.  Beyond "no
 * crash", it checks what a valid name promises: within the kind's bound,
 * no control byte, and the NUL-terminated form agreeing with (buf, len).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/endpoint.h"
#include "common/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *z, *ep;
	int k, v, rep;

	if ((z = malloc(size + 1)) == NULL)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	for (k = 0; k < NAME_NKINDS; k++) {
		v = name_valid((enum name_kind)k, s, size);
		if (v) {
			for (size_t i = 0; i < size; i++)
				if ((unsigned char)s[i] < 0x20 ||
				    (unsigned char)s[i] == 0x7f)
					abort();	/* a control byte passed */
			/* no NUL inside: the string form must agree */
			if (name_valid_str((enum name_kind)k, z) != 1)
				abort();
		}
		(void)name_valid_str((enum name_kind)k, z);
		if (name_expect((enum name_kind)k) == NULL)
			abort();
	}
	(void)endpoint_valid(z);
	(void)endpoint_hostport_valid(z);
	rep = -1;
	if ((ep = endpoint_local_connect(z, &rep)) != NULL) {
		if (rep != 0 && rep != 1)
			abort();
		if (!rep && strcmp(ep, z) != 0)
			abort();	/* only a wildcard host is rewritten */
		free(ep);
	}
	free(z);
	return 0;
}
