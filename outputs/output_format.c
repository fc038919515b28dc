/*
 * output_format.c - how outputs write a record: compact JSON, CEF, and
 * RFC 5424 syslog with optional RFC 6587 octet counting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "outputs/outputs_int.h"

/* CEF severity is 0-10, alert levels 0-15. */
#define CEF_MAX_SEVERITY	10
#define MAX_LEVEL		15
/* syslog facility local4 (20) for everything tocsin forwards. */
#define SYSLOG_FACILITY		20
/* Longest host name put in a syslog header. */
#define SYSLOG_MAX_HOST		255

/* A growable string; oom latches an allocation failure. */
struct sbuf {
	char	*b;
	size_t	 len, cap;
	int	 oom;
};

static void sb_add(struct sbuf *s, const char *p, size_t n)
{
	if (s->oom)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 256;
		char *nb;
		while (cap < s->len + n + 1)
			cap *= 2;
		if ((nb = realloc(s->b, cap)) == NULL) {
			s->oom = 1;
			return;
		}
		s->b = nb;
		s->cap = cap;
	}
	memcpy(s->b + s->len, p, n);
	s->len += n;
	s->b[s->len] = '\0';
}

static void sb_str(struct sbuf *s, const char *p) { sb_add(s, p, strlen(p)); }

static int sb_done(struct sbuf *s, char **out, size_t *len)
{
	if (s->oom || s->b == NULL) {
		free(s->b);
		return TS_ENOMEM;
	}
	if (s->len > OUTPUT_MAX_RECORD_BYTES) {
		free(s->b);
		return TS_ETOOBIG;
	}
	*out = s->b;
	*len = s->len;
	return 0;
}

int output_format_json(json_t *rec, char **out, size_t *len)
{
	char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (s == NULL)
		return TS_ENOMEM;
	*len = strlen(s);
	if (*len > OUTPUT_MAX_RECORD_BYTES) {
		free(s);
		return TS_ETOOBIG;
	}
	*out = s;
	return 0;
}

/* The incident an incident-change record describes: its "snapshot"
 * (state.h), or the record itself when it has none. */
static json_t *inc_body(json_t *rec)
{
	json_t *s = json_object_get(rec, "snapshot");

	return json_is_object(s) ? s : rec;
}

int output_record_level(int kind, json_t *rec)
{
	json_t *v = kind == OUT_KIND_ALERT ? json_object_get(rec, "level") :
	    json_object_get(inc_body(rec), "severity");

	if (!json_is_integer(v))
		v = json_object_get(rec, "level");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return 0;
	if (json_integer_value(v) > MAX_LEVEL)
		return MAX_LEVEL;
	return (int)json_integer_value(v);
}

const char *output_record_drill(json_t *rec)
{
	json_t *v = json_object_get(rec, "drill");

	if (!json_is_string(v))
		v = json_object_get(json_object_get(rec, "snapshot"), "drill");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return NULL;
	return json_string_value(v);
}

int output_incident_pages(json_t *rec)
{
	json_t *v = json_object_get(rec, "change");
	const char *c;

	if (!json_is_string(v))
		return 0;
	c = json_string_value(v);
	return strcmp(c, "opened") == 0 || strcmp(c, "escalated") == 0;
}

int output_label_drill(int kind, json_t *rec)
{
	const char *d = output_record_drill(rec);
	json_t *holder = kind == OUT_KIND_ALERT ?
	    json_object_get(rec, "rule") : inc_body(rec);
	json_t *t;
	char *label, *title;
	int rc = 0;

	if (d == NULL)
		return 0;
	if ((label = xasprintf("DRILL %s", d)) == NULL)
		return TS_ENOMEM;
	if (json_object_set_new(rec, "drill_label", json_string(label)) != 0)
		rc = TS_ENOMEM;
	t = json_object_get(holder, "title");
	if (rc == 0 && json_is_object(holder) && json_is_string(t)) {
		title = xasprintf("[%s] %s", label, json_string_value(t));
		if (title == NULL || json_object_set_new(holder, "title",
		    json_string(title)) != 0)
			rc = TS_ENOMEM;
		free(title);
	}
	free(label);
	return rc;
}

/*
 * Length of the control character at p (NUL-terminated UTF-8 from jansson),
 * 0 if there is none: C0 (0x00-0x1f), DEL (0x7f), and C1 (U+0080-U+009F,
 * 0xc2 0x80-0x9f; a stray byte 0x80-0x9f too).  A log line must not reach
 * an upstream SIEM's console or parser with a byte that moves a cursor or
 * ends a record.
 */
static size_t cef_ctrl_len(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	if (u[0] < 0x20 || u[0] == 0x7f || (u[0] >= 0x80 && u[0] <= 0x9f))
		return 1;
	if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
		return 2;
	return 0;
}

/* A control character as \xNN (its code point, as escape_text writes
 * them); returns the input bytes consumed. */
static size_t cef_ctrl_put(struct sbuf *s, const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	char x[8];

	snprintf(x, sizeof(x), "\\x%02x", n == 2 ? u[1] : u[0]);
	sb_add(s, x, 4);
	return n;
}

/* CEF header field: escape \ and |, line breaks become spaces, other
 * control characters \xNN. */
static void cef_hdr(struct sbuf *s, const char *p)
{
	size_t n;

	while (p != NULL && *p != '\0') {
		if (*p == '\r' || *p == '\n') {
			sb_add(s, " ", 1);
			p++;
			continue;
		}
		if ((n = cef_ctrl_len(p)) > 0) {
			p += cef_ctrl_put(s, p, n);
			continue;
		}
		if (*p == '\\' || *p == '|')
			sb_add(s, "\\", 1);
		sb_add(s, p++, 1);
	}
}

/* CEF extension "key=value" (value escaped: \ = and line breaks as CEF
 * says; other control characters \xNN). */
static void cef_ext(struct sbuf *s, const char *key, const char *p)
{
	size_t n;

	if (p == NULL)
		return;
	if (s->len > 0 && s->b[s->len - 1] != '|')
		sb_add(s, " ", 1);
	sb_str(s, key);
	sb_add(s, "=", 1);
	while (*p != '\0') {
		if (*p == '\n') {
			sb_add(s, "\\n", 2);
			p++;
		} else if (*p == '\r') {
			sb_add(s, "\\r", 2);
			p++;
		} else if ((n = cef_ctrl_len(p)) > 0) {
			p += cef_ctrl_put(s, p, n);
		} else {
			if (*p == '\\' || *p == '=')
				sb_add(s, "\\", 1);
			sb_add(s, p++, 1);
		}
	}
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Number member as text (into buf), NULL if absent. */
static const char *num_of(json_t *o, const char *key, char *buf, size_t n)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return NULL;
	snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	return buf;
}

int output_format_cef(int kind, json_t *rec, char **out, size_t *len)
{
	struct sbuf s = { 0 };
	json_t *rule = json_object_get(rec, "rule");
	json_t *fields = json_object_get(rec, "fields");
	json_t *mitre = json_object_get(rule, "mitre");
	int level = output_record_level(kind, rec);
	char num[32], rt[32], sev[16], *sigid = NULL;
	const char *drill = output_record_drill(rec);

	snprintf(sev, sizeof(sev), "%d",
	    (level * CEF_MAX_SEVERITY + MAX_LEVEL / 2) / MAX_LEVEL);
	sb_str(&s, "CEF:0|tocsin|tocsin|1|");
	if (kind == OUT_KIND_ALERT) {
		cef_hdr(&s, str_of(rule, "id"));
		sb_add(&s, "|", 1);
		cef_hdr(&s, str_of(rule, "title"));
	} else {
		const char *ch = str_of(rec, "change");
		sigid = xasprintf("incident-%s", ch ? ch : "change");
		if (sigid == NULL)
			s.oom = 1;
		cef_hdr(&s, sigid);
		free(sigid);
		sb_add(&s, "|", 1);
		cef_hdr(&s, str_of(inc_body(rec), "title"));
	}
	sb_add(&s, "|", 1);
	sb_str(&s, sev);
	sb_add(&s, "|", 1);
	if (json_is_integer(json_object_get(rec, "time_us"))) {
		snprintf(rt, sizeof(rt), "%lld", (long long)(json_integer_value(
		    json_object_get(rec, "time_us")) / 1000));
		cef_ext(&s, "rt", rt);
	}
	cef_ext(&s, "externalId", num_of(rec, kind == OUT_KIND_ALERT ? "id" :
	    "seq", num, sizeof(num)));
	if (kind == OUT_KIND_ALERT) {
		cef_ext(&s, "dvchost", str_of(rec, "host"));
		cef_ext(&s, "src", str_of(fields, "srcip"));
		cef_ext(&s, "suser", str_of(fields, "user"));
		cef_ext(&s, "cs2Label", str_of(rec, "agent") ? "agent" : NULL);
		cef_ext(&s, "cs2", str_of(rec, "agent"));
		if (json_is_array(mitre) && json_array_size(mitre) > 0) {
			struct sbuf m = { 0 };
			size_t i;
			json_t *v;
			json_array_foreach(mitre, i, v) {
				if (!json_is_string(v))
					continue;
				if (m.len > 0)
					sb_add(&m, ",", 1);
				sb_str(&m, json_string_value(v));
			}
			if (m.oom)
				s.oom = 1;
			else if (m.b != NULL) {
				cef_ext(&s, "cs3Label", "mitre");
				cef_ext(&s, "cs3", m.b);
			}
			free(m.b);
		}
		cef_ext(&s, "cn1Label", "level");
		snprintf(num, sizeof(num), "%d", level);
		cef_ext(&s, "cn1", num);
		cef_ext(&s, "cn2Label", num_of(rec, "incident", num,
		    sizeof(num)) ? "incident" : NULL);
		cef_ext(&s, "cn2", num_of(rec, "incident", num, sizeof(num)));
		cef_ext(&s, "msg", str_of(rec, "message"));
	} else {
		cef_ext(&s, "cn2Label", "incident");
		cef_ext(&s, "cn2", num_of(rec, "incident", num, sizeof(num)));
		cef_ext(&s, "cs4Label", "state");
		cef_ext(&s, "cs4", str_of(inc_body(rec), "state"));
		cef_ext(&s, "suser", str_of(rec, "by"));
	}
	if (drill != NULL) {
		cef_ext(&s, "cs1Label", "drill");
		cef_ext(&s, "cs1", drill);
	}
	return sb_done(&s, out, len);
}

int output_format_syslog(int kind, json_t *rec, int format, int octet,
    char **out, size_t *len)
{
	struct sbuf s = { 0 };
	char hdr[128 + SYSLOG_MAX_HOST], tbuf[40], host[SYSLOG_MAX_HOST + 1];
	char *body = NULL, *frame;
	size_t blen = 0, hlen;
	int rc, sev, level = output_record_level(kind, rec);

	rc = format == OUTPUT_FORMAT_CEF ? output_format_cef(kind, rec, &body, &blen) :
	    output_format_json(rec, &body, &blen);
	if (rc != 0)
		return rc;
	/* level 12+ crit, 8+ err, 5+ warning, else notice */
	sev = level >= 12 ? 2 : level >= 8 ? 3 : level >= 5 ? 4 : 5;
	format_rfc3339(now_us(), tbuf, sizeof(tbuf));
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "-");
	host[SYSLOG_MAX_HOST] = '\0';
	for (char *p = host; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			*p = '_';
	snprintf(hdr, sizeof(hdr), "<%d>1 %s %s tocsin - %s - ",
	    SYSLOG_FACILITY * 8 + sev, tbuf, host,
	    kind == OUT_KIND_ALERT ? "alert" : "incident");
	hlen = strlen(hdr);
	if (octet) {
		char n[24];
		snprintf(n, sizeof(n), "%zu ", hlen + blen);
		sb_str(&s, n);
	}
	sb_add(&s, hdr, hlen);
	sb_add(&s, body, blen);
	free(body);
	if ((rc = sb_done(&s, &frame, len)) != 0)
		return rc;
	*out = frame;
	return 0;
}

int output_wants(const struct output_config *cfg, int kind, json_t *rec)
{
	const char *drill = output_record_drill(rec);

	if (output_record_level(kind, rec) < cfg->min_level)
		return 0;
	if (drill != NULL && cfg->drills == OUTPUT_DRILLS_EXCLUDE)
		return 0;
	if (kind == OUT_KIND_INCIDENT && cfg->type == OUTPUT_WEBHOOK &&
	    !output_incident_pages(rec))
		return 0;
	if (drill != NULL && cfg->drills == OUTPUT_DRILLS_LABEL &&
	    output_label_drill(kind, rec) != 0)
		return 0;
	return 1;
}
