/*
 * stream.c - GET /api/v1/stream: the live feed of alerts and incident
 * changes as Server-Sent Events, read from the state's logs (the same ones
 * the outputs deliver from: engine/state.h state_log_read), so the feed
 * needs no output configured and loses nothing: each event's id is
 * "a:ALERT_ID,i:INCIDENT_LOG_SEQ", and a client that reconnects with
 * Last-Event-ID carries on where it stopped.
 *
 *   event: alert        data: the alert JSON
 *   event: incident     data: the incident change (without its snapshot's
 *                       alert ids)
 *   : keep-alive        a comment every STREAM_KEEPALIVE_US
 *
 * Query: min_level=N (alerts below are skipped; incident changes always
 * come), no_drill=true.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"
#include "engine/state.h"

#define STREAM_POLL_US		(250 * 1000)
#define STREAM_KEEPALIVE_US	(15ULL * 1000000)
/* Records read per poll per log; more wait for the next poll. */
#define STREAM_BATCH		256
/* Largest record sent (an alert is far smaller). */
#define STREAM_MAX_RECORD	(1024 * 1024)

extern volatile sig_atomic_t *api_stop_flag;
static _Atomic int g_nstreams;

struct stream {
	struct api_ctx	*st_ctx;
	uint64_t	 st_alert, st_inc;	/* last sent of each log */
	int		 st_min_level;
	int		 st_no_drill;
	char		*st_buf;		/* pending bytes */
	size_t		 st_len, st_off, st_cap;
	uint64_t	 st_sent_us;		/* mono of the last write */
	int		 st_first;
};

static int
buf_add(struct stream *st, const char *s, size_t n)
{
	if (st->st_len + n > st->st_cap) {
		size_t	 cap = (st->st_len + n) * 2;
		char	*nb = realloc(st->st_buf, cap);

		if (nb == NULL)
			return TS_ENOMEM;
		st->st_buf = nb;
		st->st_cap = cap;
	}
	memcpy(st->st_buf + st->st_len, s, n);
	st->st_len += n;
	return 0;
}

static int
emit(struct stream *st, const char *event, const char *data, size_t len)
{
	char	head[160];
	int	n;

	n = snprintf(head, sizeof(head), "id: a:%llu,i:%llu\nevent: %s\n"
	    "data: ", (unsigned long long)st->st_alert,
	    (unsigned long long)st->st_inc, event);
	/* the JSON is compact: one line, no newline inside */
	if (buf_add(st, head, (size_t)n) != 0 || buf_add(st, data, len) != 0 ||
	    buf_add(st, "\n\n", 2) != 0)
		return TS_ENOMEM;
	return 0;
}

static int
alert_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct stream	*st = arg;
	json_t		*a;
	int		 pass = 1;

	st->st_alert = id;
	if (len > STREAM_MAX_RECORD) {
		api_count(AC_RECORDS_SKIPPED);
		return 0;
	}
	if (st->st_min_level > 0 || st->st_no_drill) {
		if ((a = json_loadb(json, len, 0, NULL)) == NULL) {
			api_count(AC_RECORDS_SKIPPED);
			return 0;
		}
		if (json_integer_value(json_object_get(a, "level")) <
		    st->st_min_level || (st->st_no_drill &&
		    json_object_get(a, "drill") != NULL))
			pass = 0;
		json_decref(a);
	}
	/* stored compact by the engine: one line */
	if (!pass)
		return 0;
	if (memchr(json, '\n', len) == NULL)
		return emit(st, "alert", json, len);
	api_count(AC_RECORDS_SKIPPED);
	return 0;
}

static int
inc_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct stream	*st = arg;
	json_t		*o, *snap;
	char		*txt;
	int		 rc;

	st->st_inc = id;
	if (len > STREAM_MAX_RECORD || (o = json_loadb(json, len, 0,
	    NULL)) == NULL) {
		api_count(AC_RECORDS_SKIPPED);
		return 0;
	}
	if ((snap = json_object_get(o, "snapshot")) != NULL)
		json_object_del(snap, "alerts");
	txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (txt == NULL)
		return TS_ENOMEM;
	rc = emit(st, "incident", txt, strlen(txt));
	free(txt);
	return rc;
}

/* Read what is new into the buffer.  0 or a TS_E*. */
static int
stream_poll(struct stream *st)
{
	state_t		*s = api_state(st->st_ctx);
	uint64_t	 last;
	int		 rc;

	if (s == NULL)
		return 0;
	api_db_lock(st->st_ctx);
	rc = state_log_read(s, STATE_LOG_ALERTS, st->st_alert, STREAM_BATCH,
	    alert_cb, st, &last);
	if (rc == 0 || rc == TS_ENOTFOUND)
		rc = state_log_read(s, STATE_LOG_INCIDENTS, st->st_inc,
		    STREAM_BATCH, inc_cb, st, &last);
	api_db_unlock(st->st_ctx);
	return rc == TS_ENOTFOUND ? 0 : rc;
}

static ssize_t
stream_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream	*st = cls;
	size_t		 n;

	(void)pos;
	/* one thread per connection: waiting here holds no one else */
	while (st->st_off == st->st_len) {
		st->st_off = st->st_len = 0;
		if (*api_stop_flag)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (st->st_first) {
			st->st_first = 0;
			if (buf_add(st, ": tocsin live feed\nretry: 2000\n\n",
			    31) != 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
		if (stream_poll(st) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (st->st_len > 0)
			break;
		if (mono_us() - st->st_sent_us >= STREAM_KEEPALIVE_US) {
			if (buf_add(st, ": keep-alive\n\n", 14) != 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			break;
		}
		usleep(STREAM_POLL_US);
	}
	n = st->st_len - st->st_off;
	if (n > max)
		n = max;
	memcpy(buf, st->st_buf + st->st_off, n);
	st->st_off += n;
	st->st_sent_us = mono_us();
	return (ssize_t)n;
}

static void
stream_free_cb(void *cls)
{
	struct stream *st = cls;

	free(st->st_buf);
	free(st);
	atomic_fetch_sub(&g_nstreams, 1);
}

/* "a:N,i:M" from Last-Event-ID.  0 or TS_EINVAL. */
static int
parse_last_id(const char *s, uint64_t *a, uint64_t *i)
{
	const char *c;

	if (strncmp(s, "a:", 2) != 0 || (c = strstr(s, ",i:")) == NULL)
		return TS_EINVAL;
	if (parse_u64(s + 2, (size_t)(c - s - 2), UINT64_MAX, a) != 0 ||
	    parse_u64(c + 3, strlen(c + 3), UINT64_MAX, i) != 0)
		return TS_EINVAL;
	return 0;
}

static int
noop_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	(void)id;
	(void)json;
	(void)len;
	(void)arg;
	return 1;
}

void
api_stream_start(struct api_req *q, struct api_resp *r)
{
	struct stream		*st;
	struct MHD_Response	*resp;
	const char		*v, *lei;
	uint64_t		 lv, last;
	state_t			*s;

	if (atomic_fetch_add(&g_nstreams, 1) >= API_MAX_STREAMS) {
		atomic_fetch_sub(&g_nstreams, 1);
		api_count(AC_STREAMS_REFUSED);
		api_error(r, 503, "too_many_streams", "at most %d live feeds "
		    "at once", API_MAX_STREAMS);
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		atomic_fetch_sub(&g_nstreams, 1);
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	st->st_ctx = q->rq_ctx;
	st->st_first = 1;
	st->st_sent_us = mono_us();
	if ((v = api_arg(q, "min_level")) != NULL) {
		if (parse_u64(v, strlen(v), 15, &lv) != 0)
			goto bad;
		st->st_min_level = (int)lv;
	}
	if ((v = api_arg(q, "no_drill")) != NULL)
		st->st_no_drill = strcmp(v, "false") != 0 &&
		    strcmp(v, "0") != 0;
	lei = MHD_lookup_connection_value(q->rq_conn, MHD_HEADER_KIND,
	    "Last-Event-ID");
	if (lei == NULL)
		lei = api_arg(q, "last_event_id");
	if (lei != NULL) {
		if (parse_last_id(lei, &st->st_alert, &st->st_inc) != 0)
			goto bad;
	} else if ((s = api_state(q->rq_ctx)) != NULL) {
		/* from now on: the logs' current ends */
		api_db_lock(q->rq_ctx);
		if (state_log_read(s, STATE_LOG_ALERTS, 0, 1, noop_cb, NULL,
		    &last) == 0)
			st->st_alert = last;
		if (state_log_read(s, STATE_LOG_INCIDENTS, 0, 1, noop_cb, NULL,
		    &last) == 0)
			st->st_inc = last;
		api_db_unlock(q->rq_ctx);
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
	    stream_read_cb, st, stream_free_cb);
	if (resp == NULL) {
		free(st);
		atomic_fetch_sub(&g_nstreams, 1);
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "text/event-stream; charset=utf-8");
	api_count(AC_STREAMS);
	r->rs_status = 200;
	r->rs_stream = resp;
	return;
bad:
	free(st);
	atomic_fetch_sub(&g_nstreams, 1);
	api_count(AC_REFUSED_MALFORMED);
	api_error(r, 400, "bad_argument", "min_level: 0-15; Last-Event-ID: "
	    "as sent by this feed");
}

void h_stream(struct api_req *q, struct api_resp *r);

void
h_stream(struct api_req *q, struct api_resp *r)
{
	api_stream_start(q, r);
}
