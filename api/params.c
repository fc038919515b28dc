/*
 * params.c - the API's parsers of untrusted input: the query arguments of
 * the lists (the filters of `tocsin alerts`), the opaque paging cursors,
 * and the JSON bodies of actions.  Every function takes what the network
 * sent, bounds it, and refuses with a message rather than guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "common/err.h"
#include "common/names.h"
#include "common/util.h"

/* Deepest JSON body accepted (jansson has its own bound, 2048). */
#define BODY_MAX_DEPTH		8

static int
bounded_copy(char *dst, size_t dstlen, const char *val, const char *key,
    char *err, size_t errlen)
{
	size_t n = strlen(val);

	if (n == 0 || n >= dstlen) {
		snprintf(err, errlen, "%s: must be 1 to %zu bytes", key,
		    dstlen - 1);
		return TS_EINVAL;
	}
	memcpy(dst, val, n + 1);
	return 0;
}

int
api_alert_filter_set(struct api_alert_filter *f, const char *key,
    const char *val, uint64_t now, char *err, size_t errlen)
{
	uint64_t v;

	if (key == NULL || val == NULL) {
		snprintf(err, errlen, "an argument without a value");
		return TS_EINVAL;
	}
	if (strlen(val) > API_MAX_VALUE) {
		snprintf(err, errlen, "%.32s: longer than %d bytes", key,
		    API_MAX_VALUE);
		return TS_EINVAL;
	}
	if (strcmp(key, "since") == 0 || strcmp(key, "until") == 0) {
		if (parse_time_arg(val, now, &v) != 0) {
			snprintf(err, errlen, "%s: '%.64s' is not a duration "
			    "(15m, 2h, 7d) or an RFC 3339 time", key, val);
			return TS_EINVAL;
		}
		if (key[0] == 's')
			f->since_us = v;
		else
			f->until_us = v;
		return 0;
	}
	if (strcmp(key, "min_level") == 0) {
		if (parse_u64(val, strlen(val), 15, &v) != 0) {
			snprintf(err, errlen, "min_level: must be 0 to 15");
			return TS_EINVAL;
		}
		f->min_level = (int)v;
		return 0;
	}
	if (strcmp(key, "limit") == 0) {
		if (parse_u64(val, strlen(val), UINT32_MAX, &v) != 0 || v == 0) {
			snprintf(err, errlen, "limit: must be a number from 1");
			return TS_EINVAL;
		}
		f->limit = v;
		return 0;
	}
	if (strcmp(key, "host") == 0)
		return bounded_copy(f->host, sizeof(f->host), val, key, err,
		    errlen);
	if (strcmp(key, "rule") == 0) {
		if (!name_valid_str(NAME_RULE_ID, val)) {
			snprintf(err, errlen, "rule: %s", name_expect(
			    NAME_RULE_ID));
			return TS_EINVAL;
		}
		return bounded_copy(f->rule, sizeof(f->rule), val, key, err,
		    errlen);
	}
	if (strcmp(key, "drill") == 0) {
		if (!name_valid_str(NAME_DRILL, val)) {
			snprintf(err, errlen, "drill: %s", name_expect(
			    NAME_DRILL));
			return TS_EINVAL;
		}
		return bounded_copy(f->drill, sizeof(f->drill), val, key, err,
		    errlen);
	}
	if (strcmp(key, "grep") == 0)
		return bounded_copy(f->grep, sizeof(f->grep), val, key, err,
		    errlen);
	if (strcmp(key, "no_drill") == 0) {
		if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0 ||
		    val[0] == '\0')
			f->no_drill = 1;
		else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
			f->no_drill = 0;
		else {
			snprintf(err, errlen, "no_drill: true or false");
			return TS_EINVAL;
		}
		return 0;
	}
	if (strcmp(key, "cursor") == 0) {
		if (api_cursor_parse(val, &f->after_time_us,
		    &f->after_id) != 0) {
			snprintf(err, errlen, "cursor: not a cursor this API "
			    "returned");
			return TS_EINVAL;
		}
		return 0;
	}
	snprintf(err, errlen, "unknown argument '%.64s'", key);
	return TS_EINVAL;
}

void
api_cursor_format(uint64_t time_us, uint64_t id, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%llu.%llu", (unsigned long long)time_us,
	    (unsigned long long)id);
}

int
api_cursor_parse(const char *s, uint64_t *time_us, uint64_t *id)
{
	const char *dot;

	if (s == NULL || (dot = strchr(s, '.')) == NULL)
		return TS_EINVAL;
	if (parse_u64(s, (size_t)(dot - s), UINT64_MAX, time_us) != 0 ||
	    parse_u64(dot + 1, strlen(dot + 1), UINT64_MAX, id) != 0 ||
	    *id == 0)
		return TS_EINVAL;
	return 0;
}

static int
depth_ok(json_t *j, int depth)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	if (depth > BODY_MAX_DEPTH)
		return 0;
	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			if (!depth_ok(v, depth + 1))
				return 0;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (!depth_ok(v, depth + 1))
				return 0;
	}
	return 1;
}

json_t *
api_body_object(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t	 je;
	json_t		*o;

	if (body == NULL || len == 0) {
		snprintf(err, errlen, "the request needs a JSON object body");
		return NULL;
	}
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "body: line %d column %d: %s", je.line,
		    je.column, je.text);
		return NULL;
	}
	if (!json_is_object(o) || !depth_ok(o, 0)) {
		snprintf(err, errlen, "body: must be one JSON object, at most "
		    "%d levels deep", BODY_MAX_DEPTH);
		json_decref(o);
		return NULL;
	}
	return o;
}

int
api_body_text(json_t *o, const char *key, size_t max, int required,
    const char **out, char *err, size_t errlen)
{
	json_t		*v = json_object_get(o, key);
	const char	*s;
	size_t		 n;

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		snprintf(err, errlen, "body: \"%s\" is required", key);
		return TS_EINVAL;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "body: \"%s\" must be a string", key);
		return TS_EINVAL;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n > max || strlen(s) != n) {
		snprintf(err, errlen, "body: \"%s\" must be 1 to %zu bytes "
		    "without NUL", key, max);
		return TS_EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t' &&
		    s[i] != '\n') || s[i] == 0x7f) {
			snprintf(err, errlen, "body: \"%s\" holds a control "
			    "byte", key);
			return TS_EINVAL;
		}
	*out = s;
	return 0;
}

int
api_body_lines(json_t *o, const char ***lines, size_t *n, char *err,
    size_t errlen)
{
	json_t		*arr = json_object_get(o, "lines"), *v;
	const char	**vec;
	size_t		 i;

	*lines = NULL;
	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		snprintf(err, errlen, "body: \"lines\" must be a non-empty "
		    "array of log lines");
		return TS_EINVAL;
	}
	if (json_array_size(arr) > API_MAX_TEST_LINES) {
		snprintf(err, errlen, "body: at most %d lines",
		    API_MAX_TEST_LINES);
		return TS_EINVAL;
	}
	if ((vec = calloc(json_array_size(arr), sizeof(*vec))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return TS_ENOMEM;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) >
		    MAX_LINE_BYTES ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, errlen, "body: lines[%zu] must be a string "
			    "of at most %d bytes without NUL", i,
			    MAX_LINE_BYTES);
			free(vec);
			return TS_EINVAL;
		}
		vec[i] = json_string_value(v);
	}
	*lines = vec;
	*n = json_array_size(arr);
	return 0;
}
