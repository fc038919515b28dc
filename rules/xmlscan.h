/*
 * xmlscan.h - private to rules/: the fast path for Windows Event XML
 * (xmlscan.c), in front of expat.
 */
#ifndef TOCSIN_XMLSCAN_H
#define TOCSIN_XMLSCAN_H

#include <stddef.h>

struct xmlscan;

/* The callbacks, with expat's arguments: names and attribute names and
 * values NUL-terminated, attributes as name, value, ..., NULL; text not
 * terminated.  Pointers are valid during the call only.  halted: nonzero
 * stops the walk (as XML_StopParser does). */
struct xmlscan_cb {
	void	(*start)(void *ud, const char *name, const char **atts);
	void	(*end)(void *ud, const char *name);
	void	(*text)(void *ud, const char *s, int len);
	int	(*halted)(void *ud);
};

/* A scanner (its token and text buffers); *out NULL on error.  0 or
 * TS_ENOMEM.  xmlscan_free accepts NULL and NULLs the pointer. */
int xmlscan_new(struct xmlscan **out);
void xmlscan_free(struct xmlscan **xs);

/*
 * Scan the document (buf, len; untrusted).  0: it is well-formed XML of
 * the subset xmlscan.c describes, and the callbacks ran as expat's would;
 * 1: it is not (a text run or attribute value longer than max_text
 * included), and no callback ran - hand it to expat; TS_ENOMEM.
 */
int xmlscan_run(struct xmlscan *xs, const char *buf, size_t len,
    size_t max_text, const struct xmlscan_cb *cb, void *ud);

#endif /* TOCSIN_XMLSCAN_H */
