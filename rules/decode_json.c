/*
 * decode_json.c - the JSON decoder (Windows event forwarders such as NXLog
 * and Winlogbeat, and most modern agents): one JSON object per line, every
 * scalar a field named by its key path ("winlog.event_data.Threat Name",
 * arrays by index: "tags.0").
 *
 * Parsing is jansson's (bounded by the line length it is given); the walk
 * over the parsed tree is bounded in depth and path length, and every name
 * and value is copied into the caller's arena, which is bounded too.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

struct walk {
	struct field_arena	*a;
	field_emit_fn		 emit;
	void			*arg;
	size_t			*dropped;
	char			 path[MAX_JSON_PATH_BYTES + 1];
	int			 stop;
};

/* Shortest "%.*g" text of d that reads back as d. */
static int
real_text(double d, char *buf, size_t cap)
{
	int n = 0;

	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, d);
		if (n > 0 && (size_t)n < cap && strtod(buf, NULL) == d)
			break;
	}
	return n;
}

static void
emit_scalar(struct walk *w, size_t plen, const json_t *v)
{
	char num[64];
	const char *val = NULL;
	size_t vlen = 0;
	char *name, *vcopy;
	int n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		val = json_string_value(v);
		vlen = json_string_length(v);
		break;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		val = num;
		vlen = n > 0 ? (size_t)n : 0;
		break;
	case JSON_REAL:
		n = real_text(json_real_value(v), num, sizeof(num));
		val = num;
		vlen = n > 0 && (size_t)n < sizeof(num) ? (size_t)n : 0;
		break;
	case JSON_TRUE:
		val = "true";
		vlen = 4;
		break;
	case JSON_FALSE:
		val = "false";
		vlen = 5;
		break;
	default:		/* null: no field */
		return;
	}
	if ((name = field_arena_dup(w->a, w->path, plen)) == NULL ||
	    (vcopy = field_arena_dup(w->a, val, vlen)) == NULL) {
		(*w->dropped)++;
		w->stop = 1;	/* arena full: later fields will not fit */
		return;
	}
	if (w->emit(w->arg, name, plen, vcopy, vlen))
		w->stop = 1;
}

/* Append ".seg" (or "seg" at the top) to the path at plen; the new length,
 * or 0 when it would be too long. */
static size_t
path_push(struct walk *w, size_t plen, const char *seg, size_t slen)
{
	size_t need = plen + (plen ? 1 : 0) + slen;

	if (need > MAX_JSON_PATH_BYTES || slen == 0)
		return 0;
	if (plen)
		w->path[plen++] = '.';
	memcpy(w->path + plen, seg, slen);
	w->path[need] = '\0';
	return need;
}

/* Emit the scalars below v whose path so far is path[0..plen). */
static void
walk_value(struct walk *w, const json_t *v, size_t plen, int depth)
{
	if (w->stop)
		return;
	if (json_is_object(v) || json_is_array(v)) {
		if (depth >= MAX_JSON_DEPTH) {
			(*w->dropped)++;
			return;
		}
	}
	if (json_is_object(v)) {
		const char *key;
		json_t *kid;
		size_t klen;

		json_object_keylen_foreach((json_t *)v, key, klen, kid) {
			size_t np;
			char tmp[MAX_JSON_PATH_BYTES + 8];

			if (plen == 0 && rules_builtin_name(key, klen) &&
			    klen + 5 <= sizeof(tmp)) {
				memcpy(tmp, "json.", 5);
				memcpy(tmp + 5, key, klen);
				np = path_push(w, 0, tmp, klen + 5);
			} else {
				np = path_push(w, plen, key, klen);
			}
			if (np == 0 || memchr(key, '\0', klen) != NULL) {
				(*w->dropped)++;
				continue;
			}
			walk_value(w, kid, np, depth + 1);
			if (w->stop)
				return;
		}
		return;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *kid;

		json_array_foreach((json_t *)v, i, kid) {
			char idx[24];
			int n = snprintf(idx, sizeof(idx), "%zu", i);
			size_t np = path_push(w, plen, idx, (size_t)n);

			if (np == 0) {
				(*w->dropped)++;
				continue;
			}
			walk_value(w, kid, np, depth + 1);
			if (w->stop)
				return;
		}
		return;
	}
	if (plen > 0)
		emit_scalar(w, plen, v);
}

int
json_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, size_t *dropped)
{
	struct walk wk, *w = &wk;
	json_error_t jerr;
	json_t *root;
	size_t i = 0;

	*dropped = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	if (i >= len || buf[i] != '{')
		return TS_EINVAL;
	root = json_loadb(buf + i, len - i, 0, &jerr);
	if (root == NULL)
		return TS_EINVAL;
	if (!json_is_object(root)) {
		json_decref(root);
		return TS_EINVAL;
	}
	w->a = a;
	w->emit = emit;
	w->arg = arg;
	w->dropped = dropped;
	w->path[0] = '\0';
	w->stop = 0;
	walk_value(w, root, 0, 0);
	json_decref(root);
	return 0;
}
