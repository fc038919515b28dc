/*
 * incident.c - incidents: alerts at or above incidents.min_level open one,
 * or join an open one sharing an entity (host, source address, user) seen
 * within incidents.window (event time); drill alerts only join incidents of
 * the same drill.  Stored in the state's "incidents", "incident_entities"
 * and "incident_log" dbs (state.h) in the batch's transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "engine/engine_int.h"

static const char *const entity_kinds[] = { "host", "srcip", "user" };

/* Entity key: drill, 0, kind, 0, value (cut to the key limit). */
static size_t
entity_key(unsigned char *buf, const char *drill, const char *kind,
    const char *val)
{
	size_t dl = strlen(drill), kl = strlen(kind), vl = strlen(val), n;

	if (dl > 64)
		dl = 64;
	n = dl + 1 + kl + 1;
	if (vl > STATE_MAX_KV_KEY - n)
		vl = STATE_MAX_KV_KEY - n;
	memcpy(buf, drill, dl);
	buf[dl] = 0;
	memcpy(buf + dl + 1, kind, kl);
	buf[dl + 1 + kl] = 0;
	memcpy(buf + n, val, vl);
	return n + vl;
}

/*
 * Incidents the batch's transaction changed, kept parsed until the batch
 * commits (incident_flush): an incident that gathers thousands of alerts
 * (a flood) is parsed and written once per batch, not once per alert.
 * Reads go through the cache too, so the transaction sees its own changes.
 * A transaction that ends with incident_flush and commits leaves the
 * cache to the next one, which sees exactly what it committed (its number
 * follows: state_txn_id): a flood's incident is not parsed again for
 * every batch.  Any other end (an abort, a transaction that changed
 * incidents without incident_flush) empties it.
 */
#define INC_CACHE	64

/*
 * The text of a member of a cached incident that changes seldom while it
 * gathers alerts ("mitre", "entities": up to MAX_INCIDENT_ENTITIES values
 * of each kind), as its change-log snapshots print it: a flood logs a
 * change per alert, and printing a hundred addresses each time was most
 * of the cost of an alert.  Valid while the member is the same object
 * holding as many values as when it was printed: values are only ever
 * appended (set_add), and a new incident object (inc_keep) drops it.
 * "alerts" (up to MAX_INCIDENT_ALERTS ids, written with the incident once
 * per batch) is kept without its closing bracket and only the ids
 * appended since are printed.
 */
struct memo {
	json_t	*m_val;		/* the member it was printed from */
	size_t	 m_count;	/* its values when printed (memo_count) */
	char	*m_txt;		/* compact JSON, as json_dumps prints it */
	size_t	 m_len;
	size_t	 m_cap;		/* m_txt's size (the alert ids' grows) */
};

enum { MEMO_MITRE, MEMO_ENTITIES, MEMO_ALERTS, NMEMO };
static const char *const memo_keys[NMEMO] = { "mitre", "entities",
    "alerts" };

static struct {
	state_txn_t	*t;		/* the transaction holding it */
	uint64_t	 flushed;	/* written out by incident_flush in
					 * this transaction (its number);
					 * 0: changed since, or never */
	size_t		 n;
	uint64_t	 id[INC_CACHE];
	json_t		*inc[INC_CACHE];
	int		 dirty[INC_CACHE];
	struct memo	 memo[INC_CACHE][NMEMO];
} inc_cache;

static void
memo_clear(struct memo *m)
{
	free(m->m_txt);
	memset(m, 0, sizeof(*m));
}

static void
memo_clear_slot(size_t i)
{
	for (size_t k = 0; k < NMEMO; k++)
		memo_clear(&inc_cache.memo[i][k]);
}

static int inc_store(state_txn_t *t, uint64_t id, json_t *inc);

void
incident_forget(void)
{
	for (size_t i = 0; i < inc_cache.n; i++) {
		json_decref(inc_cache.inc[i]);
		memo_clear_slot(i);
	}
	memset(&inc_cache, 0, sizeof(inc_cache));
}

/* Write the changed incidents into t. */
static int
inc_write(state_txn_t *t)
{
	int ret = 0;

	if (inc_cache.t != t)
		return 0;
	for (size_t i = 0; i < inc_cache.n && ret == 0; i++)
		if (inc_cache.dirty[i]) {
			ret = inc_store(t, inc_cache.id[i], inc_cache.inc[i]);
			inc_cache.dirty[i] = 0;
		}
	return ret;
}

/* Write the changed incidents into t and empty the cache: before t
 * changes incidents behind it (deletes them), or when it is full. */
static int
inc_write_forget(state_txn_t *t)
{
	int ret = inc_write(t);

	incident_forget();
	return ret;
}

int
incident_flush(state_txn_t *t)
{
	int ret;

	if (inc_cache.t != t)
		return 0;
	if ((ret = inc_write(t)) != 0) {
		incident_forget();
		return ret;
	}
	inc_cache.flushed = state_txn_id(t);
	return 0;
}

/* state_txn_hook's: at commit, what is still changed is written (a caller
 * that did not flush; the cache then goes at the end); at the end of t,
 * the cache is kept only when incident_flush wrote it last and t
 * committed (an abort, or a commit that failed after the flush, empties
 * it: what it holds is not on disk). */
static int
inc_commit_cb(state_txn_t *t, void *arg)
{
	(void)arg;
	return inc_write(t);
}

static void
inc_end_cb(void *arg, int committed)
{
	(void)arg;
	if (!committed || inc_cache.flushed == 0)
		incident_forget();
	inc_cache.t = NULL;
}

/* Make the cache t's: the one the previous transaction flushed and
 * committed, or an empty one.  0 or a TS_E*. */
static int
inc_cache_use(state_txn_t *t)
{
	int ret;

	if (inc_cache.t == t)
		return 0;
	if (inc_cache.t != NULL || inc_cache.flushed == 0 ||
	    state_txn_id(t) != inc_cache.flushed + 1)
		incident_forget();
	inc_cache.flushed = 0;
	if ((ret = state_txn_hook(t, inc_commit_cb, inc_end_cb, NULL)) != 0)
		return ret;
	inc_cache.t = t;
	return 0;
}

/* Load incident id from the txn (a new reference; caller decrefs). */
static int
inc_load(state_txn_t *t, uint64_t id, json_t **out)
{
	unsigned char	 k[8];
	const void	*v;
	size_t		 vlen;
	int		 ret;

	*out = NULL;
	if ((ret = inc_cache_use(t)) != 0)
		return ret;
	for (size_t i = 0; i < inc_cache.n; i++)
		if (inc_cache.id[i] == id) {
			*out = json_incref(inc_cache.inc[i]);
			return 0;
		}
	put_be64(k, id);
	if ((ret = state_txn_get(t, STATE_DB_INCIDENTS, k, 8, &v, &vlen)) != 0)
		return ret;
	if ((*out = json_loadb(v, vlen, 0, NULL)) == NULL)
		return TS_EINVAL;
	return 0;
}

/* Text being written (incident.c's JSON printer, below). */
static void tb_object(struct jbuf *tb, json_t *inc, int snapshot);

/* Write incident inc (as json_dumps prints it; a cached one's long
 * members from their memos). */
static int
inc_store(state_txn_t *t, uint64_t id, json_t *inc)
{
	struct jbuf	 tb = { NULL, 0, 0, 0 };
	unsigned char	 k[8];
	int		 ret;

	put_be64(k, id);
	tb_object(&tb, inc, 0);
	if (tb.oom) {
		free(tb.b);
		return TS_ENOMEM;
	}
	ret = state_txn_put(t, STATE_DB_INCIDENTS, k, 8, tb.b, tb.len);
	free(tb.b);
	return ret;
}

/* Keep inc (changed) in the cache until incident_flush; a full cache is
 * written out first. */
static int
inc_keep(state_txn_t *t, uint64_t id, json_t *inc)
{
	size_t	i;
	int	ret;

	if ((ret = inc_cache_use(t)) != 0)
		return ret;
	for (i = 0; i < inc_cache.n; i++)
		if (inc_cache.id[i] == id)
			break;
	if (i == inc_cache.n) {
		if (inc_cache.n == INC_CACHE) {
			/* full: write them out and start again */
			if ((ret = inc_write_forget(t)) != 0 ||
			    (ret = inc_cache_use(t)) != 0)
				return ret;
			i = 0;
		}
		inc_cache.id[i] = id;
		inc_cache.inc[i] = json_incref(inc);
		inc_cache.n = i + 1;
	} else if (inc_cache.inc[i] != inc) {
		json_decref(inc_cache.inc[i]);
		inc_cache.inc[i] = json_incref(inc);
		memo_clear_slot(i);
	}
	inc_cache.dirty[i] = 1;
	inc_cache.flushed = 0;
	return 0;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static uint64_t
ju64(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v < 0 ? 0 : (uint64_t)v;
}

static int
is_closed(json_t *inc)
{
	const char *st = jstr(inc, "state");

	return strcmp(st, "resolved") == 0 ||
	    strcmp(st, "false_positive") == 0;
}

static int
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0' && strcmp(s, "-") != 0;
}

int
incident_pick(state_txn_t *t, const struct server_config *cfg,
    const struct inc_alert *a, uint64_t *incid, int *isnew)
{
	const char	*vals[3] = { a->host, a->srcip, a->user };
	const char	*drill = a->drill != NULL ? a->drill : "";
	unsigned char	 key[STATE_MAX_KV_KEY];
	uint64_t	 win = cfg->incident_window_us;
	int		 ret;

	*incid = 0;
	*isnew = 0;
	if (a->level < cfg->incident_min_level)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		const void	*v;
		size_t		 vlen;
		json_t		*inc;
		uint64_t	 id, first, last;
		int		 ok;

		if (!nonempty(vals[i]))
			continue;
		ret = state_txn_get(t, STATE_DB_INC_ENTITY, key,
		    entity_key(key, drill, entity_kinds[i], vals[i]), &v, &vlen);
		if (ret == TS_ENOTFOUND)
			continue;
		if (ret != 0)
			return ret;
		if (vlen != 8)
			continue;
		id = get_be64(v);
		if ((ret = inc_load(t, id, &inc)) == TS_ENOTFOUND ||
		    ret == TS_EINVAL)
			continue;
		if (ret != 0)
			return ret;
		first = ju64(inc, "first_seen_us");
		last = ju64(inc, "last_seen_us");
		ok = !is_closed(inc) && strcmp(jstr(inc, "drill"), drill) == 0 &&
		    a->time_us + win >= first && a->time_us <= last + win;
		json_decref(inc);
		if (ok) {
			*incid = id;
			return 0;
		}
	}
	if ((ret = state_txn_next_id(t, "next_incident_id", incid)) != 0)
		return ret;
	*isnew = 1;
	return 0;
}

/* Add s to the string array arr unless there or full; 1 when added. */
static int
set_add(json_t *arr, const char *s, size_t max)
{
	size_t	 i;
	json_t	*v;

	/* full: nothing changes, whether s is there or not */
	if (!nonempty(s) || json_array_size(arr) >= max)
		return 0;
	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return 0;
	return json_array_append_new(arr, json_string(s)) == 0;
}

/* ---- the change log's records, printed as json_dumps(JSON_COMPACT) would
 * print them (the same bytes), without building them as objects ------- */

/* What json_dumps prints for v, appended. */
static void
tb_dump(struct jbuf *tb, json_t *v)
{
	char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (txt == NULL) {
		tb->oom = 1;
		return;
	}
	jb_lit(tb, txt);
	free(txt);
}

/* The n bytes at s as a JSON string.  jansson escapes '"', '\\' and the
 * bytes below 0x20 and copies the rest (valid UTF-8) as it is: a string
 * without those is copied between quotes, any other goes through
 * jansson. */
static void
tb_str(struct jbuf *tb, const char *s, size_t n)
{
	json_t *v;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == '"' || c == '\\') {
			if ((v = json_stringn(s, n)) == NULL) {
				tb->oom = 1;
				return;
			}
			tb_dump(tb, v);
			json_decref(v);
			return;
		}
	}
	jb_raw(tb, "\"", 1);
	jb_raw(tb, s, n);
	jb_raw(tb, "\"", 1);
}

/* "key": (after a comma unless first) */
static void
tb_key(struct jbuf *tb, const char *key, int first)
{
	if (!first)
		jb_raw(tb, ",", 1);
	tb_str(tb, key, strlen(key));
	jb_raw(tb, ":", 1);
}

/* A member's value: strings and integers directly, the rest through
 * jansson. */
static void
tb_value(struct jbuf *tb, json_t *v)
{
	if (json_is_string(v))
		tb_str(tb, json_string_value(v), json_string_length(v));
	else if (json_is_integer(v) && json_integer_value(v) >= 0)
		jb_u64(tb, (uint64_t)json_integer_value(v));
	else if (json_is_null(v))
		jb_lit(tb, "null");
	else
		tb_dump(tb, v);
}

/* How many values a memoized member holds: the array's, or the arrays'
 * of an object plus its members. */
static size_t
memo_count(json_t *v)
{
	const char	*k;
	json_t		*e;
	size_t		 n;

	if (!json_is_object(v))
		return json_array_size(v);
	n = json_object_size(v);
	json_object_foreach(v, k, e)
		n += json_array_size(e);
	return n;
}

/* The memo of member key of incident inc, when inc is a cached incident
 * and key one of memo_keys (*kind: which); else NULL. */
static struct memo *
memo_find(json_t *inc, const char *key, size_t *kind)
{
	for (size_t i = 0; i < inc_cache.n; i++) {
		if (inc_cache.inc[i] != inc)
			continue;
		for (size_t k = 0; k < NMEMO; k++)
			if (strcmp(key, memo_keys[k]) == 0) {
				*kind = k;
				return &inc_cache.memo[i][k];
			}
		return NULL;
	}
	return NULL;
}

/* The array arr (of alert ids) from memo m, printing only what was
 * appended since. */
static void
tb_append_memo(struct jbuf *tb, struct memo *m, json_t *arr)
{
	struct jbuf	 mt;
	size_t		 n = json_array_size(arr);

	if (m->m_txt == NULL || m->m_val != arr || m->m_count > n)
		memo_clear(m);
	mt.b = m->m_txt;
	mt.len = m->m_len;
	mt.cap = m->m_cap;
	mt.oom = 0;
	if (mt.b == NULL)
		jb_raw(&mt, "[", 1);
	for (size_t i = m->m_count; i < n; i++) {
		if (i > 0)
			jb_raw(&mt, ",", 1);
		tb_value(&mt, json_array_get(arr, i));
	}
	m->m_txt = mt.b;	/* grown or not, still the memo's */
	if (mt.oom) {
		memo_clear(m);
		tb->oom = 1;
		return;
	}
	m->m_len = mt.len;
	m->m_cap = mt.cap;
	m->m_val = arr;
	m->m_count = n;
	jb_raw(tb, m->m_txt, m->m_len);
	jb_raw(tb, "]", 1);
}

/* Member val (named key) of incident inc, from its memo when valid. */
static void
tb_member(struct jbuf *tb, json_t *inc, const char *key, json_t *val)
{
	struct memo	*m;
	size_t		 off, kind;

	if (!json_is_array(val) && !json_is_object(val)) {
		tb_value(tb, val);
		return;
	}
	if ((m = memo_find(inc, key, &kind)) == NULL ||
	    (kind == MEMO_ALERTS && !json_is_array(val))) {
		tb_dump(tb, val);
		return;
	}
	if (kind == MEMO_ALERTS) {
		tb_append_memo(tb, m, val);
		return;
	}
	if (m->m_txt == NULL || m->m_val != val ||
	    m->m_count != memo_count(val)) {
		memo_clear(m);
		off = tb->len;
		tb_dump(tb, val);
		if (tb->oom || (m->m_txt = malloc(tb->len - off)) == NULL)
			return;
		memcpy(m->m_txt, tb->b + off, tb->len - off);
		m->m_len = m->m_cap = tb->len - off;
		m->m_val = val;
		m->m_count = memo_count(val);
		return;
	}
	jb_raw(tb, m->m_txt, m->m_len);
}

/* Incident inc as an object; snapshot: without "alerts" and "notes". */
static void
tb_object(struct jbuf *tb, json_t *inc, int snapshot)
{
	const char	*key;
	json_t		*val;
	int		 first = 1;

	jb_raw(tb, "{", 1);
	json_object_foreach(inc, key, val) {
		if (snapshot && (strcmp(key, "alerts") == 0 ||
		    strcmp(key, "notes") == 0))
			continue;
		tb_key(tb, key, first);
		first = 0;
		tb_member(tb, inc, key, val);
	}
	jb_raw(tb, "}", 1);
}

int
incident_log(state_txn_t *t, uint64_t incid, const char *change,
    const char *by, uint64_t wall_us, void *extra, void *snapshot)
{
	static const char *const base[] = { "seq", "incident", "change", "by",
	    "time", "time_us", "snapshot" };
	struct jbuf	 tb = { NULL, 0, 0, 0 };
	unsigned char	 k[8];
	char		 tm[40];
	const char	*key;
	json_t		*val;
	uint64_t	 seq;
	int		 ret;

	if ((ret = state_txn_next_id(t, "next_incident_log", &seq)) != 0)
		return ret;
	format_rfc3339(wall_us, tm, sizeof(tm));
	/* {"seq","incident","change","by","time","time_us", the extra
	 * members, "snapshot": the incident without alerts and notes} */
	jb_lit(&tb, "{\"seq\":");
	jb_u64(&tb, seq);
	jb_lit(&tb, ",\"incident\":");
	jb_u64(&tb, incid);
	tb_key(&tb, "change", 0);
	tb_str(&tb, change, strlen(change));
	tb_key(&tb, "by", 0);
	tb_str(&tb, by, strlen(by));
	tb_key(&tb, "time", 0);
	tb_str(&tb, tm, strlen(tm));
	jb_lit(&tb, ",\"time_us\":");
	jb_u64(&tb, wall_us);
	if (extra != NULL)
		json_object_foreach((json_t *)extra, key, val) {
			/* the record's own members come from the
			 * arguments, never from extra */
			for (size_t i = 0; i < sizeof(base) / sizeof(base[0]);
			    i++)
				if (strcmp(key, base[i]) == 0) {
					free(tb.b);
					return TS_EINVAL;
				}
			tb_key(&tb, key, 0);
			tb_value(&tb, val);
		}
	if (snapshot != NULL) {
		jb_lit(&tb, ",\"snapshot\":");
		tb_object(&tb, snapshot, 1);
	}
	jb_raw(&tb, "}", 1);
	if (tb.oom) {
		free(tb.b);
		return TS_ENOMEM;
	}
	put_be64(k, seq);
	ret = state_txn_append(t, STATE_DB_INC_LOG, k, 8, tb.b, tb.len);
	free(tb.b);
	return ret;
}

int
incident_attach(state_txn_t *t, uint64_t incid, int isnew,
    const struct inc_alert *a, uint64_t wall_us)
{
	const char	*vals[3] = { a->host, a->srcip, a->user };
	const char	*drill = a->drill != NULL ? a->drill : "";
	unsigned char	 key[STATE_MAX_KV_KEY], idb[8];
	char		 tb[40], wb[40];
	json_t		*inc = NULL, *ents, *extra;
	const char	*change = "alert";
	int		 ret;

	format_rfc3339(a->time_us, tb, sizeof(tb));
	format_rfc3339(wall_us, wb, sizeof(wb));
	if (isnew) {
		char title[512];

		if (nonempty(a->host))
			snprintf(title, sizeof(title), "%s on %s",
			    a->rule_title != NULL ? a->rule_title : "?",
			    a->host);
		else
			snprintf(title, sizeof(title), "%s",
			    a->rule_title != NULL ? a->rule_title : "?");
		inc = json_pack("{s:I, s:s, s:i, s:s, s:n, s:s, s:s, s:s, s:I, "
		    "s:s, s:I, s:[], s:I, s:[], s:{s:[], s:[], s:[]}, s:[]}",
		    "id", (json_int_t)incid, "title", title, "severity",
		    a->level, "state", "open", "assignee", "created", wb,
		    "updated", wb, "first_seen", tb, "first_seen_us",
		    (json_int_t)a->time_us, "last_seen", tb, "last_seen_us",
		    (json_int_t)a->time_us, "alerts", "alert_count",
		    (json_int_t)0, "mitre", "entities", "host", "srcip", "user",
		    "notes");
		if (inc == NULL)
			return TS_ENOMEM;
		if (drill[0] != '\0')
			json_object_set_new(inc, "drill", json_string(drill));
		change = "opened";
	} else {
		if ((ret = inc_load(t, incid, &inc)) != 0)
			return ret;
		if (a->level > (int)ju64(inc, "severity")) {
			json_object_set_new(inc, "severity",
			    json_integer(a->level));
			change = "escalated";
		}
		if (a->time_us < ju64(inc, "first_seen_us")) {
			json_object_set_new(inc, "first_seen", json_string(tb));
			json_object_set_new(inc, "first_seen_us",
			    json_integer((json_int_t)a->time_us));
		}
		if (a->time_us > ju64(inc, "last_seen_us")) {
			json_object_set_new(inc, "last_seen", json_string(tb));
			json_object_set_new(inc, "last_seen_us",
			    json_integer((json_int_t)a->time_us));
		}
		json_object_set_new(inc, "updated", json_string(wb));
	}
	if (json_array_size(json_object_get(inc, "alerts")) <
	    MAX_INCIDENT_ALERTS)
		json_array_append_new(json_object_get(inc, "alerts"),
		    json_integer((json_int_t)a->id));
	json_object_set_new(inc, "alert_count",
	    json_integer((json_int_t)ju64(inc, "alert_count") + 1));
	for (size_t i = 0; i < a->nmitre; i++)
		set_add(json_object_get(inc, "mitre"), a->mitre[i], 100);
	ents = json_object_get(inc, "entities");
	for (size_t i = 0; i < 3; i++)
		set_add(json_object_get(ents, entity_kinds[i]), vals[i],
		    MAX_INCIDENT_ENTITIES);
	if ((ret = inc_keep(t, incid, inc)) != 0)
		goto out;
	put_be64(idb, incid);
	for (size_t i = 0; i < 3; i++)
		if (nonempty(vals[i]) && (ret = state_txn_put(t,
		    STATE_DB_INC_ENTITY, key, entity_key(key, drill,
		    entity_kinds[i], vals[i]), idb, 8)) != 0)
			goto out;
	extra = json_pack("{s:I, s:s}", "alert", (json_int_t)a->id, "rule",
	    a->rule_id != NULL ? a->rule_id : "");
	ret = incident_log(t, incid, change, "engine", wall_us, extra, inc);
	json_decref(extra);
out:
	json_decref(inc);
	return ret;
}

/* Copy a request's string member (bounded), or NULL. */
static const char *
req_str(json_t *req, const char *key)
{
	const char *s = json_string_value(json_object_get(req, key));

	if (s == NULL || s[0] == '\0' || strlen(s) > MAX_NOTE_BYTES)
		return NULL;
	return s;
}

int
incident_apply(state_txn_t *t, const char *op, void *reqp, uint64_t wall_us,
    void **answer, char *err, size_t errlen)
{
	json_t		*req = reqp, *inc = NULL, *extra = NULL;
	json_t		*idv = json_object_get(req, "incident");
	const char	*by = req_str(req, "by"), *note = req_str(req, "note");
	const char	*change = NULL, *newstate = NULL, *st;
	char		 wb[40];
	uint64_t	 id;
	int		 ret;

	*answer = NULL;
	if (by == NULL)
		by = "unknown";
	if (!json_is_integer(idv) || json_integer_value(idv) <= 0) {
		snprintf(err, errlen, "\"incident\" must be an incident id");
		return TS_EINVAL;
	}
	id = (uint64_t)json_integer_value(idv);
	if ((ret = inc_load(t, id, &inc)) != 0) {
		snprintf(err, errlen, "no incident %llu",
		    (unsigned long long)id);
		return ret == TS_ENOTFOUND || ret == TS_EINVAL ? TS_ENOTFOUND :
		    ret;
	}
	st = jstr(inc, "state");
	format_rfc3339(wall_us, wb, sizeof(wb));
	/* Every refusal comes before the first change: inc may be the
	 * transaction's cached incident, which a refused request must leave
	 * as it found it. */
	if (note != NULL && json_array_size(json_object_get(inc, "notes")) >=
	    MAX_INCIDENT_NOTES) {
		snprintf(err, errlen, "incident has %d notes already",
		    MAX_INCIDENT_NOTES);
		ret = TS_EINVAL;
		goto out;
	}
	if (strcmp(op, "incident_ack") == 0) {
		if (strcmp(st, "open") != 0 && strcmp(st, "acknowledged") != 0) {
			snprintf(err, errlen, "incident %llu is %s: reopen it "
			    "first", (unsigned long long)id, st);
			ret = TS_EINVAL;
			goto out;
		}
		newstate = "acknowledged";
		change = "acknowledged";
	} else if (strcmp(op, "incident_resolve") == 0) {
		newstate = "resolved";
		change = "resolved";
	} else if (strcmp(op, "incident_false_positive") == 0) {
		newstate = "false_positive";
		change = "false_positive";
	} else if (strcmp(op, "incident_reopen") == 0) {
		newstate = "open";
		change = "reopened";
	} else if (strcmp(op, "incident_assign") == 0) {
		const char *who = req_str(req, "assignee");

		if (who == NULL) {
			snprintf(err, errlen, "\"assignee\" must be a name");
			ret = TS_EINVAL;
			goto out;
		}
		json_object_set_new(inc, "assignee", json_string(who));
		change = "assigned";
		extra = json_pack("{s:s}", "assignee", who);
	} else if (strcmp(op, "incident_note") == 0) {
		if (note == NULL) {
			snprintf(err, errlen, "\"note\" must be a text of 1 to "
			    "%d bytes", MAX_NOTE_BYTES);
			ret = TS_EINVAL;
			goto out;
		}
		change = "note";
	} else {
		snprintf(err, errlen, "unknown operation");
		ret = TS_EINVAL;
		goto out;
	}
	if (newstate != NULL)
		json_object_set_new(inc, "state", json_string(newstate));
	if (note != NULL) {
		json_t *notes = json_object_get(inc, "notes");

		json_array_append_new(notes, json_pack("{s:s, s:s, s:s}", "by",
		    by, "time", wb, "text", note));
		if (extra == NULL)
			extra = json_object();
		json_object_set_new(extra, "note", json_string(note));
	}
	json_object_set_new(inc, "updated", json_string(wb));
	if ((ret = inc_store(t, id, inc)) != 0 ||
	    (ret = incident_log(t, id, change, by, wall_us, extra, inc)) != 0)
		goto out;
	*answer = json_pack("{s:O}", "incident", inc);
	ret = *answer != NULL ? 0 : TS_ENOMEM;
out:
	json_decref(extra);
	json_decref(inc);
	return ret;
}

struct drill_walk {
	const char	*drill;
	uint64_t	 ids[256];
	size_t		 n;
};

static int
drill_inc_cb(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct drill_walk	*w = arg;
	json_t			*inc;
	int			 hit;

	if (klen != 8 || w->n >= 256)
		return w->n >= 256;
	if ((inc = json_loadb(v, vlen, 0, NULL)) == NULL)
		return 0;
	hit = strcmp(jstr(inc, "drill"), w->drill) == 0;
	json_decref(inc);
	if (hit)
		w->ids[w->n++] = get_be64(k);
	return 0;
}

/* Delete the entity keys of drill (they start with "drill\0"). */
struct ent_walk {
	unsigned char	*k[256];
	size_t		 len[256];
	size_t		 n;
	const char	*drill;
};

static int
drill_ent_cb(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct ent_walk	*w = arg;
	size_t		 dl = strlen(w->drill);

	(void)v;
	(void)vlen;
	if (klen <= dl || memcmp(k, w->drill, dl) != 0 ||
	    ((const unsigned char *)k)[dl] != 0 || w->n >= 256)
		return 1;
	if ((w->k[w->n] = malloc(klen)) == NULL)
		return TS_ENOMEM;
	memcpy(w->k[w->n], k, klen);
	w->len[w->n++] = klen;
	return 0;
}

int
incident_drill_clean(state_txn_t *t, const char *drill, const char *by,
    uint64_t wall_us, uint64_t *n)
{
	struct drill_walk	 dw;
	struct ent_walk		 ew;
	unsigned char		 k[8];
	int			 ret;

	*n = 0;
	if (drill == NULL || drill[0] == '\0')
		return TS_EINVAL;
	/* it deletes incidents the cache may hold */
	if ((ret = inc_write_forget(t)) != 0)
		return ret;
	do {
		memset(&dw, 0, sizeof(dw));
		dw.drill = drill;
		if ((ret = state_txn_walk(t, STATE_DB_INCIDENTS, NULL, 0,
		    drill_inc_cb, &dw)) != 0)
			return ret;
		for (size_t i = 0; i < dw.n; i++) {
			put_be64(k, dw.ids[i]);
			if ((ret = state_txn_del(t, STATE_DB_INCIDENTS, k,
			    8)) != 0 || (ret = incident_log(t, dw.ids[i],
			    "removed", by, wall_us, NULL, NULL)) != 0)
				return ret;
			(*n)++;
		}
	} while (dw.n == 256);
	do {
		memset(&ew, 0, sizeof(ew));
		ew.drill = drill;
		ret = state_txn_walk(t, STATE_DB_INC_ENTITY, drill,
		    strlen(drill) + 1, drill_ent_cb, &ew);
		for (size_t i = 0; i < ew.n; i++) {
			if (ret == 0)
				ret = state_txn_del(t, STATE_DB_INC_ENTITY,
				    ew.k[i], ew.len[i]);
			free(ew.k[i]);
		}
		if (ret != 0)
			return ret;
	} while (ew.n == 256);
	return 0;
}

int
incident_remove(state_txn_t *t, uint64_t id)
{
	unsigned char	 k[8], key[STATE_MAX_KV_KEY];
	const void	*v = NULL;
	size_t		 vlen, klen;
	json_t		*inc = NULL, *arr, *e;
	int		 ret;

	/* the cache may hold it */
	if ((ret = inc_write_forget(t)) != 0)
		return ret;
	put_be64(k, id);
	if ((ret = inc_load(t, id, &inc)) != 0) {
		if (ret == TS_EINVAL)	/* unreadable: nothing to follow */
			return state_txn_del(t, STATE_DB_INCIDENTS, k, 8);
		return ret == TS_ENOTFOUND ? 0 : ret;
	}
	for (size_t i = 0; i < 3 && ret == 0; i++) {
		size_t j;

		arr = json_object_get(json_object_get(inc, "entities"),
		    entity_kinds[i]);
		json_array_foreach(arr, j, e) {
			if (!json_is_string(e))
				continue;
			klen = entity_key(key, jstr(inc, "drill"),
			    entity_kinds[i], json_string_value(e));
			ret = state_txn_get(t, STATE_DB_INC_ENTITY, key, klen,
			    &v, &vlen);
			if (ret == TS_ENOTFOUND) {
				ret = 0;
				continue;
			}
			if (ret == 0 && vlen == 8 && get_be64(v) == id)
				ret = state_txn_del(t, STATE_DB_INC_ENTITY, key,
				    klen);
			if (ret != 0)
				break;
		}
	}
	json_decref(inc);
	if (ret == 0)
		ret = state_txn_del(t, STATE_DB_INCIDENTS, k, 8);
	return ret;
}
