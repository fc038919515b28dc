/*
 * endpoint.c - endpoints and host:port addresses (see endpoint.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/endpoint.h"
#include "common/limits.h"
#include "common/util.h"

/* Schemes tocsin binds and connects. */
static const char *const schemes[] = { "tcp://", "ipc://" };

/* Wildcard hosts of a bind endpoint and the loopback a local client uses
 * instead. */
static const struct {
	const char	*w_any;
	const char	*w_local;
} wildcards[] = {
	{ "0.0.0.0", "127.0.0.1" },
	{ "*", "127.0.0.1" },
	{ "[::]", "[::1]" },
};

int endpoint_valid(const char *s)
{
	size_t i, n;

	if (s == NULL || strnlen(s, MAX_PATH_BYTES + 1) > MAX_PATH_BYTES)
		return 0;
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i]);
		if (strncmp(s, schemes[i], n) == 0 && s[n] != '\0')
			return 1;
	}
	return 0;
}

int endpoint_hostport_valid(const char *s)
{
	const char *colon;
	uint64_t port;

	if (s == NULL || (colon = strrchr(s, ':')) == NULL || colon == s)
		return 0;
	if (parse_u64(colon + 1, strlen(colon + 1), 65535, &port) != 0 ||
	    port == 0)
		return 0;
	return 1;
}

char *endpoint_local_connect(const char *bind, int *replaced)
{
	const char *host, *colon;
	size_t i, hlen;

	if (replaced != NULL)
		*replaced = 0;
	if ((host = strstr(bind, "://")) == NULL)
		return strdup(bind);
	host += 3;
	if ((colon = strrchr(host, ':')) == NULL)
		return strdup(bind);
	hlen = (size_t)(colon - host);
	for (i = 0; i < sizeof(wildcards) / sizeof(wildcards[0]); i++) {
		if (strlen(wildcards[i].w_any) == hlen &&
		    memcmp(host, wildcards[i].w_any, hlen) == 0) {
			if (replaced != NULL)
				*replaced = 1;
			return xasprintf("%.*s%s%s", (int)(host - bind), bind,
			    wildcards[i].w_local, colon);
		}
	}
	return strdup(bind);
}

int endpoint_local_only(const char *ep)
{
	const char *host, *colon;
	size_t hlen;

	if (ep == NULL)
		return 0;
	if (strncmp(ep, "ipc://", 6) == 0)
		return 1;
	if (strncmp(ep, "tcp://", 6) != 0)
		return 0;
	host = ep + 6;
	if ((colon = strrchr(host, ':')) == NULL)
		return 0;
	hlen = (size_t)(colon - host);
	if ((hlen == 9 && memcmp(host, "localhost", 9) == 0) ||
	    (hlen == 5 && memcmp(host, "[::1]", 5) == 0) ||
	    (hlen >= 4 && memcmp(host, "127.", 4) == 0))
		return 1;
	return 0;
}
