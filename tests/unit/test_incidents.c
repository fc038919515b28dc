/*
 * test_incidents.c - incidents: open at the minimum level, join on a shared
 * entity within the window (event time), never across drills or into a
 * closed incident; analysts' changes through control requests, applied
 * once, logged in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/config.h"
#include "common/control.h"
#include "common/err.h"
#include "common/util.h"
#include "engine/state.h"
#include "engine/engine_int.h"

#define S	1000000ULL
#define T0	(1767225600ULL * S)

struct fixture {
	char			 dir[64];
	char			 sdir[128];
	state_t			*st;
	struct server_config	 cfg;
	uint64_t		 next_alert;
};

static int
setup(void **st)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/tocsin-test-inc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sdir, sizeof(f->sdir), "%s/state", f->dir);
	assert_int_equal(state_open(f->sdir, 0, 1 << 20, &f->st), 0);
	f->cfg.data_dir = f->dir;
	f->cfg.incident_min_level = 8;
	f->cfg.incident_window_us = 3600 * S;
	f->next_alert = 1;
	*st = f;
	return 0;
}

static int
teardown(void **st)
{
	struct fixture	*f = *st;
	char		 cmd[128];

	state_close(&f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Raise one alert; returns its incident (0: none). */
static uint64_t
alert(struct fixture *f, uint64_t t, int level, const char *host,
    const char *srcip, const char *user, const char *drill)
{
	static const char *const mitre[] = { "T1110" };
	struct inc_alert a;
	state_txn_t	*tx;
	uint64_t	 id;
	int		 isnew;

	memset(&a, 0, sizeof(a));
	a.time_us = t;
	a.level = level;
	a.rule_id = "r.x";
	a.rule_title = "something bad";
	a.host = host;
	a.srcip = srcip;
	a.user = user;
	a.mitre = mitre;
	a.nmitre = 1;
	a.drill = drill;
	assert_int_equal(state_begin(f->st, &tx), 0);
	assert_int_equal(incident_pick(tx, &f->cfg, &a, &id, &isnew), 0);
	a.id = f->next_alert++;
	if (id != 0)
		assert_int_equal(incident_attach(tx, id, isnew, &a, now_us()),
		    0);
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_commit(&tx), 0);
	return id;
}

static json_t *
incident(struct fixture *f, uint64_t id)
{
	unsigned char	 k[8];
	char		*txt;
	size_t		 len;
	json_t		*j;

	put_be64(k, id);
	assert_int_equal(state_get(f->st, STATE_DB_INCIDENTS, k, 8, &txt,
	    &len), 0);
	assert_non_null(j = json_loadb(txt, len, 0, NULL));
	/* stored as jansson prints it, byte for byte */
	{
		char *again = json_dumps(j, JSON_COMPACT);

		assert_non_null(again);
		assert_int_equal(strlen(again), len);
		assert_memory_equal(again, txt, len);
		free(again);
	}
	free(txt);
	return j;
}

static void
test_open_and_join(void **st)
{
	struct fixture	*f = *st;
	json_t		*j;

	assert_int_equal(alert(f, T0, 7, "h1", "1.2.3.4", NULL, NULL), 0);
	assert_int_equal(alert(f, T0, 8, "h1", "1.2.3.4", NULL, NULL), 1);
	/* same source address on another host: joins, escalates */
	assert_int_equal(alert(f, T0 + 60 * S, 12, "h2", "1.2.3.4", "bob",
	    NULL), 1);
	/* shares only the user, within the window: joins */
	assert_int_equal(alert(f, T0 + 3660 * S, 9, "h3", "5.6.7.8", "bob",
	    NULL), 1);
	/* nothing shared: a new one */
	assert_int_equal(alert(f, T0, 9, "h9", "9.9.9.9", NULL, NULL), 2);
	/* h1 again, but past the window of incident 1's last alert */
	assert_int_equal(alert(f, T0 + 3660 * S + 3600 * S + 1, 9, "h1",
	    NULL, NULL, NULL), 3);
	/* drill alerts never join a real incident; same drill joins */
	assert_int_equal(alert(f, T0, 9, "h9", "9.9.9.9", NULL, "d1"), 4);
	assert_int_equal(alert(f, T0, 9, "h9", NULL, NULL, "d1"), 4);
	assert_int_equal(alert(f, T0, 9, "h9", NULL, NULL, "d2"), 5);

	j = incident(f, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "severity")),
	    12);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "open");
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 3);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "first_seen_us")), (json_int_t)T0);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "last_seen_us")), (json_int_t)(T0 + 3660 * S));
	assert_int_equal(json_array_size(json_object_get(json_object_get(j,
	    "entities"), "host")), 3);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(j, "mitre"), 0)), "T1110");
	json_decref(j);
	j = incident(f, 4);
	assert_string_equal(json_string_value(json_object_get(j, "drill")),
	    "d1");
	json_decref(j);
}

struct log_ctx {
	char	changes[32][32];
	size_t	n;
};

static int
log_cb(const void *k, size_t klen, const void *v, size_t vlen, void *arg)
{
	struct log_ctx	*L = arg;
	json_t		*j = json_loadb(v, vlen, 0, NULL);

	assert_int_equal(klen, 8);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")),
	    (json_int_t)get_be64(k));
	assert_true(L->n < 32);
	snprintf(L->changes[L->n++], 32, "%s", json_string_value(
	    json_object_get(j, "change")));
	json_decref(j);
	return 0;
}

/* Submit a request, let the engine side apply it, return the answer. */
static json_t *
request(struct fixture *f, const char *json)
{
	char		 id[CONTROL_ID_BYTES], *ans;
	uint64_t	 applied = 0, refused = 0;
	json_t		*a;

	assert_int_equal(control_submit(f->dir, json, strlen(json), id), 0);
	assert_int_equal(engine_control_run(f->st, f->dir, &applied,
	    &refused), 0);
	assert_int_equal(applied + refused, 1);
	assert_int_equal(control_wait(f->dir, id, 1000000, &ans), 0);
	assert_non_null(a = json_loads(ans, 0, NULL));
	free(ans);
	return a;
}

static void
test_changes(void **st)
{
	struct fixture	*f = *st;
	struct log_ctx	 L;
	json_t		*a, *j;
	char		*ans;

	assert_int_equal(alert(f, T0, 10, "h1", NULL, NULL, NULL), 1);
	a = request(f, "{\"op\":\"incident_ack\",\"by\":\"alice\","
	    "\"incident\":1,\"note\":\"on it\"}");
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	a = request(f, "{\"op\":\"incident_assign\",\"by\":\"alice\","
	    "\"incident\":1,\"assignee\":\"bob\"}");
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	a = request(f, "{\"op\":\"incident_resolve\",\"by\":\"bob\","
	    "\"incident\":1,\"note\":\"blocked\"}");
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	/* a resolved incident cannot be acknowledged; unknown ids refused */
	a = request(f, "{\"op\":\"incident_ack\",\"by\":\"x\",\"incident\":1}");
	assert_true(json_is_false(json_object_get(a, "ok")));
	json_decref(a);
	a = request(f, "{\"op\":\"incident_ack\",\"by\":\"x\",\"incident\":9}");
	assert_true(json_is_false(json_object_get(a, "ok")));
	json_decref(a);
	/* a resolved incident is not joined */
	assert_int_equal(alert(f, T0 + 1, 10, "h1", NULL, NULL, NULL), 2);

	j = incident(f, 1);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "resolved");
	assert_string_equal(json_string_value(json_object_get(j, "assignee")),
	    "bob");
	assert_int_equal(json_array_size(json_object_get(j, "notes")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "notes"), 1), "by")), "bob");
	json_decref(j);

	memset(&L, 0, sizeof(L));
	assert_int_equal(state_walk(f->st, STATE_DB_INC_LOG, NULL, 0, 0,
	    log_cb, &L), 0);
	assert_int_equal(L.n, 5);
	assert_string_equal(L.changes[0], "opened");
	assert_string_equal(L.changes[1], "acknowledged");
	assert_string_equal(L.changes[2], "assigned");
	assert_string_equal(L.changes[3], "resolved");
	assert_string_equal(L.changes[4], "opened");

	/* the engine down: the request waits, the CLI times out */
	{
		char id[CONTROL_ID_BYTES];

		assert_int_equal(control_submit(f->dir, "{\"op\":\"x\"}", 10,
		    id), 0);
		assert_int_equal(control_wait(f->dir, id, 50000, &ans),
		    TS_EAGAIN);
	}
}

/* Applied before a crash (state committed, answer not written): answered
 * again from the state, not applied twice. */
static void
test_applied_once(void **st)
{
	struct fixture	*f = *st;
	char		 id[CONTROL_ID_BYTES], *ans, *keep, *p;
	uint64_t	 applied = 0, refused = 0;
	size_t		 len;
	json_t		*j;
	const char	*req = "{\"op\":\"incident_note\",\"by\":\"a\","
	    "\"incident\":1,\"note\":\"n1\"}";

	assert_int_equal(alert(f, T0, 10, "h1", NULL, NULL, NULL), 1);
	assert_int_equal(control_submit(f->dir, req, strlen(req), id), 0);
	p = xasprintf("%s/control/new/%s", f->dir, id);
	assert_int_equal(read_file(p, 4096, &keep, &len), 0);
	assert_int_equal(engine_control_run(f->st, f->dir, &applied,
	    &refused), 0);
	/* the crash: the request is back in new/ as if never answered */
	assert_int_equal(write_file_atomic(p, keep, len, 0600), 0);
	assert_int_equal(engine_control_run(f->st, f->dir, &applied,
	    &refused), 0);
	assert_int_equal(applied, 1);
	assert_int_equal(control_wait(f->dir, id, 1000000, &ans), 0);
	free(ans);
	j = incident(f, 1);
	assert_int_equal(json_array_size(json_object_get(j, "notes")), 1);
	json_decref(j);
	free(keep);
	free(p);
}

/* drill_save / state_drill_get, drill_clean removes the drill's
 * incidents. */
static void
test_drills(void **st)
{
	struct fixture	*f = *st;
	json_t		*a;
	char		*sc;
	unsigned char	 k[8];
	size_t		 len;

	assert_int_equal(alert(f, T0, 10, "h1", NULL, NULL, "d1"), 1);
	assert_int_equal(alert(f, T0, 10, "h1", NULL, NULL, NULL), 2);
	a = request(f, "{\"op\":\"drill_save\",\"by\":\"a\",\"drill\":\"d1\","
	    "\"scorecard\":{\"score\":7}}");
	assert_true(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
	assert_int_equal(state_drill_get(f->st, "d1", &sc), 0);
	assert_string_equal(sc, "{\"score\":7}");
	free(sc);
	assert_int_equal(state_drill_get(f->st, "d2", &sc), TS_ENOTFOUND);
	a = request(f, "{\"op\":\"drill_clean\",\"by\":\"a\",\"drill\":\"d1\"}");
	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_int_equal(json_integer_value(json_object_get(a,
	    "incidents_removed")), 1);
	json_decref(a);
	put_be64(k, 1);
	assert_int_equal(state_get(f->st, STATE_DB_INCIDENTS, k, 8, &sc, &len),
	    TS_ENOTFOUND);
	put_be64(k, 2);
	assert_int_equal(state_get(f->st, STATE_DB_INCIDENTS, k, 8, &sc, &len),
	    0);
	free(sc);
	/* a new d1 alert opens a new incident (entity keys were removed) */
	assert_int_equal(alert(f, T0, 10, "h1", NULL, NULL, "d1"), 3);
}

/* Many alerts in one transaction (one engine batch): the incident is kept
 * parsed, written at the flush, and holds them all; the alerts of an
 * aborted batch are forgotten. */
static void
test_batch_flush(void **st)
{
	struct fixture		*f = *st;
	struct inc_alert	 a;
	state_txn_t		*tx;
	json_t			*j;
	uint64_t		 id = 0, first = 0;
	int			 isnew;

	assert_int_equal(state_begin(f->st, &tx), 0);
	for (int i = 0; i < 300; i++) {
		memset(&a, 0, sizeof(a));
		a.level = 12;
		a.rule_id = "r.flood";
		a.rule_title = "flood";
		a.host = "h9";
		a.srcip = i < 150 ? "10.9.9.9" : "10.9.9.10";
		a.time_us = T0 + (uint64_t)i * S;
		a.id = 5000 + (uint64_t)i;
		assert_int_equal(incident_pick(tx, &f->cfg, &a, &id, &isnew),
		    0);
		if (i == 0) {
			assert_true(isnew);
			first = id;
		} else {
			assert_false(isnew);
			assert_int_equal(id, first);
		}
		assert_int_equal(incident_attach(tx, id, isnew, &a, now_us()),
		    0);
	}
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_commit(&tx), 0);
	j = incident(f, first);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "alert_count")), 300);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 300);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j,
	    "alerts"), 299)), 5299);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j,
	    "entities"), "srcip")), 2);
	json_decref(j);

	/* a batch that fails: nothing of it stays */
	assert_int_equal(state_begin(f->st, &tx), 0);
	a.id = 9999;
	assert_int_equal(incident_pick(tx, &f->cfg, &a, &id, &isnew), 0);
	assert_int_equal(id, first);
	assert_int_equal(incident_attach(tx, id, isnew, &a, now_us()), 0);
	incident_forget();
	state_abort(&tx);
	j = incident(f, first);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "alert_count")), 300);
	json_decref(j);
}

/* Incident id holds two alerts, the second second_alert, from two
 * addresses: what the disk has after a batch that did not commit. */
static void
assert_two_alerts(struct fixture *f, uint64_t id, uint64_t second_alert)
{
	json_t *j = incident(f, id);

	assert_int_equal(json_integer_value(json_object_get(j,
	    "alert_count")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "alerts")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j,
	    "alerts"), 1)), second_alert);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j,
	    "entities"), "srcip")), 2);
	json_decref(j);
}

/* The parsed incidents a committed batch leaves to the next: the next
 * batch goes on from them, one that aborts leaves nothing of its own. */
static void
test_cache_across_batches(void **st)
{
	struct fixture		*f = *st;
	struct inc_alert	 a;
	state_txn_t		*tx;
	uint64_t		 id = 0;
	int			 isnew;

	for (int b = 0; b < 3; b++) {
		memset(&a, 0, sizeof(a));
		a.level = 12;
		a.rule_id = "r.x";
		a.rule_title = "x";
		a.host = "h5";
		a.srcip = b == 1 ? "10.5.5.1" : b == 2 ? "10.5.5.2" :
		    "10.5.5.0";
		a.time_us = T0 + (uint64_t)b * S;
		a.id = 100 + (uint64_t)b;
		assert_int_equal(state_begin(f->st, &tx), 0);
		assert_int_equal(incident_pick(tx, &f->cfg, &a, &id, &isnew),
		    0);
		assert_int_equal(incident_attach(tx, id, isnew, &a, now_us()),
		    0);
		if (b == 1) {
			state_abort(&tx);	/* no incident_forget */
			continue;
		}
		assert_int_equal(incident_flush(tx), 0);
		assert_int_equal(state_commit(&tx), 0);
	}
	assert_two_alerts(f, id, 102);
}

/* Attach alert aid from srcip to the incident of host h6 in tx. */
static void
attach_h6(struct fixture *f, state_txn_t *tx, uint64_t aid,
    const char *srcip, uint64_t *id)
{
	struct inc_alert	a;
	int			isnew;

	memset(&a, 0, sizeof(a));
	a.level = 12;
	a.rule_id = "r.x";
	a.rule_title = "x";
	a.host = "h6";
	a.srcip = srcip;
	a.time_us = T0 + aid * S;
	a.id = aid;
	assert_int_equal(incident_pick(tx, &f->cfg, &a, id, &isnew), 0);
	assert_int_equal(incident_attach(tx, *id, isnew, &a, now_us()), 0);
}

/* A cache hook whose write-back fails, as the correlation windows' does
 * when the map is full. */
static int
failing_flush_cb(state_txn_t *t, void *arg)
{
	(void)t;
	(void)arg;
	return TS_EFULL;
}

/* A batch that flushed its incidents but whose commit then failed leaves
 * nothing behind: not even after a transaction that takes its number
 * and commits without touching incidents (a stats write, a smaller retry
 * batch), so the next batch reads the incident as the disk has it. */
static void
test_cache_commit_fails(void **st)
{
	struct fixture	*f = *st;
	state_txn_t	*tx;
	uint64_t	 id = 0, id2 = 0;
	int		 flag;

	assert_int_equal(state_begin(f->st, &tx), 0);
	attach_h6(f, tx, 201, "10.6.0.1", &id);
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_commit(&tx), 0);

	assert_int_equal(state_begin(f->st, &tx), 0);
	attach_h6(f, tx, 202, "10.6.0.2", &id2);
	assert_int_equal(id2, id);
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_txn_hook(tx, failing_flush_cb, NULL, &flag), 0);
	assert_int_equal(state_commit(&tx), TS_EFULL);

	assert_int_equal(state_begin(f->st, &tx), 0);
	assert_int_equal(state_txn_set_cursor(tx, 7), 0);
	assert_int_equal(state_commit(&tx), 0);

	assert_int_equal(state_begin(f->st, &tx), 0);
	attach_h6(f, tx, 203, "10.6.0.3", &id2);
	assert_int_equal(id2, id);
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_commit(&tx), 0);
	incident_forget();

	assert_two_alerts(f, id, 203);
}

/* A refused control request leaves the incident as it found it, even when
 * the incident is the one a committed batch left cached: a later request
 * of the same control transaction must not store the refused change. */
static void
test_refused_request_changes_nothing(void **st)
{
	struct fixture	*f = *st;
	state_txn_t	*tx;
	json_t		*req, *j;
	void		*ans;
	char		 err[256];
	uint64_t	 id = 0;

	assert_int_equal(state_begin(f->st, &tx), 0);
	attach_h6(f, tx, 301, "10.6.1.1", &id);
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_commit(&tx), 0);
	assert_int_equal(state_begin(f->st, &tx), 0);
	for (int i = 0; i < MAX_INCIDENT_NOTES; i++) {
		if (i % 50 == 49) {	/* a few requests per transaction */
			assert_int_equal(state_commit(&tx), 0);
			assert_int_equal(state_begin(f->st, &tx), 0);
		}
		req = json_pack("{s:s, s:s, s:I, s:s}", "op", "incident_note",
		    "by", "ana", "incident", (json_int_t)id, "note", "n");
		assert_int_equal(incident_apply(tx, "incident_note", req,
		    now_us(), &ans, err, sizeof(err)), 0);
		json_decref(ans);
		json_decref(req);
	}
	assert_int_equal(state_commit(&tx), 0);
	/* a batch leaves the incident in the cache */
	assert_int_equal(state_begin(f->st, &tx), 0);
	attach_h6(f, tx, 302, "10.6.1.2", &id);
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_commit(&tx), 0);

	assert_int_equal(state_begin(f->st, &tx), 0);
	req = json_pack("{s:s, s:s, s:I, s:s}", "op", "incident_resolve", "by",
	    "ana", "incident", (json_int_t)id, "note", "done");
	assert_int_equal(incident_apply(tx, "incident_resolve", req, now_us(),
	    &ans, err, sizeof(err)), TS_EINVAL);
	assert_non_null(strstr(err, "notes already"));
	json_decref(req);
	req = json_pack("{s:s, s:s, s:I, s:s}", "op", "incident_assign", "by",
	    "ana", "incident", (json_int_t)id, "assignee", "bob");
	assert_int_equal(incident_apply(tx, "incident_assign", req, now_us(),
	    &ans, err, sizeof(err)), 0);
	json_decref(ans);
	json_decref(req);
	assert_int_equal(state_commit(&tx), 0);
	incident_forget();

	j = incident(f, id);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "open");
	assert_string_equal(json_string_value(json_object_get(j, "assignee")),
	    "bob");
	assert_int_equal(json_array_size(json_object_get(j, "notes")),
	    MAX_INCIDENT_NOTES);
	json_decref(j);
}

static int
log_text_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	json_t	**recs = arg;
	json_t	 *o;
	char	 *again;

	(void)id;
	assert_non_null(o = json_loadb(json, len, 0, NULL));
	/* printed as jansson prints it, byte for byte */
	assert_non_null(again = json_dumps(o, JSON_COMPACT));
	assert_int_equal(strlen(again), len);
	assert_memory_equal(again, json, len);
	free(again);
	json_array_append_new(*recs, o);
	return 0;
}

/* The change log's records while an incident's entities grow past
 * MAX_INCIDENT_ENTITIES in one batch: each snapshot holds the entities of
 * its moment (not a stale copy), and strings that need escaping print as
 * jansson prints them. */
static void
test_log_text(void **st)
{
	struct fixture		*f = *st;
	struct inc_alert	 a;
	state_txn_t		*tx;
	json_t			*recs, *r, *snap, *extra, *ips;
	uint64_t		 id = 0, first = 0, last;
	char			 ip[32];
	int			 isnew, n = MAX_INCIDENT_ENTITIES + 20;

	assert_int_equal(state_begin(f->st, &tx), 0);
	for (int i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		a.level = 12;
		a.rule_id = "r\\spray";
		a.rule_title = "spray \\ \"quoted\"\ttab, caf\xc3\xa9";
		a.host = "h\x01" "7";
		snprintf(ip, sizeof(ip), "10.7.%d.%d", i / 256, i % 256);
		a.srcip = ip;
		a.user = i % 2 ? "jo\"e\n" : "\xe6\x97\xa5";
		a.time_us = T0 + (uint64_t)i * S;
		a.id = 7000 + (uint64_t)i;
		assert_int_equal(incident_pick(tx, &f->cfg, &a, &id, &isnew),
		    0);
		if (i == 0)
			first = id;
		assert_int_equal(id, first);
		assert_int_equal(incident_attach(tx, id, isnew, &a, now_us()),
		    0);
	}
	assert_non_null(extra = json_pack("{s:s, s:I}", "note",
	    "line\none \"q\" \\ \x1f end", "alert", (json_int_t)-3));
	assert_int_equal(incident_log(tx, first, "note", "an\"alyst", now_us(),
	    extra, NULL), 0);
	json_decref(extra);
	assert_int_equal(incident_flush(tx), 0);
	assert_int_equal(state_commit(&tx), 0);

	assert_non_null(recs = json_array());
	assert_int_equal(state_log_read(f->st, STATE_LOG_INCIDENTS, 0,
	    (size_t)n + 10, log_text_cb, &recs, &last), 0);
	assert_int_equal(json_array_size(recs), (size_t)n + 1);
	for (int i = 0; i < n; i++) {
		r = json_array_get(recs, (size_t)i);
		snap = json_object_get(r, "snapshot");
		ips = json_object_get(json_object_get(snap, "entities"),
		    "srcip");
		assert_int_equal(json_array_size(ips), i < MAX_INCIDENT_ENTITIES
		    ? (size_t)i + 1 : MAX_INCIDENT_ENTITIES);
		assert_int_equal(json_array_size(json_object_get(
		    json_object_get(snap, "entities"), "user")), i == 0 ? 1 : 2);
		assert_int_equal(json_integer_value(json_object_get(snap,
		    "alert_count")), i + 1);
		assert_null(json_object_get(snap, "alerts"));
		assert_int_equal(json_integer_value(json_object_get(r,
		    "alert")), 7000 + i);
		assert_string_equal(json_string_value(json_object_get(r,
		    "rule")), "r\\spray");
	}
	r = json_array_get(recs, (size_t)n);
	assert_string_equal(json_string_value(json_object_get(r, "note")),
	    "line\none \"q\" \\ \x1f end");
	assert_string_equal(json_string_value(json_object_get(r, "by")),
	    "an\"alyst");
	assert_int_equal(json_integer_value(json_object_get(r, "alert")), -3);
	assert_null(json_object_get(r, "snapshot"));
	json_decref(recs);
	r = incident(f, first);
	assert_int_equal(json_array_size(json_object_get(r, "alerts")),
	    (size_t)n);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(r,
	    "alerts"), (size_t)n - 1)), 7000 + n - 1);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_and_join, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_applied_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_drills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_flush, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_text, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cache_across_batches,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_commit_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refused_request_changes_nothing, setup, teardown),
	};

	log_init("test_incidents", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
