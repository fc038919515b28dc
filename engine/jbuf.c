/*
 * jbuf.c - the growing text buffer the engine prints its JSON into (an
 * alert, an incident and its change-log records), without building jansson
 * objects: printing them was a visible share of every alert.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

void
jb_need(struct jbuf *jb, size_t n)
{
	size_t	 ncap;
	char	*nb;

	if (jb->oom || n <= jb->cap - jb->len)
		return;
	if (n > SIZE_MAX / 2 - jb->len) {
		jb->oom = 1;
		return;
	}
	ncap = jb->cap ? jb->cap : 1024;
	while (ncap - jb->len < n)
		ncap *= 2;
	if ((nb = realloc(jb->b, ncap)) == NULL) {
		jb->oom = 1;
		return;
	}
	jb->b = nb;
	jb->cap = ncap;
}

void
jb_raw_grow(struct jbuf *jb, const char *p, size_t n)
{
	jb_need(jb, n);
	if (jb->oom)
		return;
	memcpy(jb->b + jb->len, p, n);
	jb->len += n;
}

void
jb_u64(struct jbuf *jb, uint64_t v)
{
	char	buf[24], *p = buf + sizeof(buf);

	/* by hand: snprintf was a visible share of every alert */
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jb_raw(jb, p, (size_t)(buf + sizeof(buf) - p));
}
