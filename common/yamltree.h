/*
 * yamltree.h - YAML documents as trees with line and column, through libyaml.
 *
 * Configurations and rule files (native and Sigma) are read into this tree
 * first, then checked against a table of known keys per mapping, so that an
 * unknown or misspelled key is an error with its file, line and column.
 * Limits: MAX_YAML_DEPTH nesting, MAX_YAML_BYTES per file.  Aliases and
 * duplicate keys are errors; anchors without aliases are accepted.
 */
#ifndef TOCSIN_YAMLTREE_H
#define TOCSIN_YAMLTREE_H

#include <stddef.h>

typedef enum { YT_SCALAR = 1, YT_SEQ, YT_MAP } yt_kind;

/* Transparent value carrier; the tree is owned by its yt_doc. */
typedef struct yt_node {
	yt_kind		 kind;
	int		 line, col;	/* 1-based position of the node's start */
	char		*str;		/* YT_SCALAR: value, NUL-terminated */
	size_t		 len;		/* YT_SCALAR: length (may hold NULs) */
	int		 plain;		/* YT_SCALAR: unquoted (so "null", "~",
					 * "" with no quotes mean null) */
	struct yt_node	**keys;		/* YT_MAP: key scalars, n of them */
	struct yt_node	**items;	/* YT_MAP: values; YT_SEQ: items */
	size_t		 n;
} yt_node;

typedef struct yt_doc {
	yt_node	*root;		/* NULL for an empty document */
	char	*file;		/* name used in diagnostics */
} yt_doc;

/*
 * Parse every document of a YAML file (Sigma files may hold several).
 * On success *docs is a malloc'd array of *ndocs documents (free with
 * yt_docs_free).  On failure returns TS_EPARSE/TS_EIO/TS_ETOOBIG and writes
 * "file:line:col: message" into err.
 */
int yt_load_file(const char *path, yt_doc ***docs, size_t *ndocs,
    char *err, size_t errlen);

/* Same from a buffer; name is used in diagnostics. */
int yt_load_buf(const char *name, const char *buf, size_t len,
    yt_doc ***docs, size_t *ndocs, char *err, size_t errlen);

/* Free what yt_load_* returned; NULLs *docs.  Accepts NULL. */
void yt_docs_free(yt_doc ***docs, size_t ndocs);

/* Value of key in a mapping, or NULL (also when map is not a YT_MAP). */
const yt_node *yt_map_get(const yt_node *map, const char *key);

/* A plain scalar that YAML reads as null: "", "~", "null", "Null", "NULL". */
int yt_is_null(const yt_node *n);

/*
 * Check that every key of map is in known (a NULL-terminated list).  On the
 * first unknown key returns TS_EPARSE with "file:line:col: unknown key 'k'
 * in <what> (known: a, b, c)" in err.  Also fails if map is not a mapping.
 */
int yt_check_keys(const yt_node *map, const char *const *known,
    const char *file, const char *what, char *err, size_t errlen);

/*
 * Typed getters for configuration values; each writes "file:line:col:
 * message" into err on a wrong type or range.  Missing keys are not errors:
 * the out-parameter keeps its default and 0 is returned.
 */
int yt_get_str(const yt_node *map, const char *key, const char *file,
    char **out, char *err, size_t errlen);	/* *out malloc'd; old freed */
int yt_get_u64(const yt_node *map, const char *key, const char *file,
    unsigned long long min, unsigned long long max,
    unsigned long long *out, char *err, size_t errlen);
int yt_get_size(const yt_node *map, const char *key, const char *file,
    unsigned long long *out, char *err, size_t errlen);	/* "64M" etc. */
int yt_get_duration(const yt_node *map, const char *key, const char *file,
    unsigned long long *out_us, char *err, size_t errlen);	/* "15m" */
int yt_get_bool(const yt_node *map, const char *key, const char *file,
    int *out, char *err, size_t errlen);
/* A scalar or a sequence of scalars, into a malloc'd array of malloc'd
 * strings (free with yt_strv_free). */
int yt_get_strv(const yt_node *map, const char *key, const char *file,
    char ***out, size_t *n, char *err, size_t errlen);
void yt_strv_free(char ***v, size_t n);

/* Write s to fp (a FILE *) as a YAML double-quoted scalar: backslash, quote
 * and control bytes escaped, so that any path, endpoint or key written into
 * a configuration reads back exactly as it was given. */
void yt_write_quoted(void *fp, const char *s);

#endif /* TOCSIN_YAMLTREE_H */
