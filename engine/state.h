/*
 * state.h - the engine's state: alerts (and later incidents, correlation
 * windows), the journal cursor and the engine's counters.
 *
 * An LMDB environment under DATADIR/state that only the engine writes; the
 * CLI reads it with read-only transactions.
 *
 * Key schema (integers big-endian, so LMDB's byte order is time order):
 *
 *   db "alerts"          key: u64 alert id (1, 2, 3, ...)
 *                        val: the alert as one JSON object (UTF-8 text)
 *   db "alerts_by_time"  key: u64 time_us, u64 id          val: empty
 *   db "alerts_by_level" key: u8 level, u64 time_us, u64 id val: empty
 *   db "alerts_by_host"  key: host, 0x00, u64 time_us, u64 id val: empty
 *   db "alerts_by_rule"  key: rule id, 0x00, u64 time_us, u64 id val: empty
 *   db "meta"            key: "cursor"        val: u64 last jseq processed
 *                        key: "next_alert_id" val: u64
 *   db "stats"           key: counter name    val: u64 (common/stats.h)
 *
 * Correlation (engine/correlate.c; docs/incidents.md):
 *
 *   db "corr_windows"    key: correlation rule id, 0x00, drill, 0x00, group
 *                        (the `same:` field values joined by 0x1f; a key
 *                        longer than STATE_MAX_KV_KEY is cut and ends with
 *                        a 64-bit hash of the whole)
 *                        val: the window (engine/correlate.c): u8
 *                        version 3, u64 newest event time, u64 last fire
 *                        time + 1, u64 suppressed, u64 wall expiry, u64
 *                        next arrival number, u32 sequence slots, u32
 *                        entries; the slots {u64 time_us, u64 arrival + 1}
 *                        (latest start of a match of the sequence's first
 *                        j events); the entries in order {u64 time_us, u64
 *                        arrival, u64 alert id, u8 step, u16 len, distinct
 *                        value bytes (at most 256)}.  Read once and written
 *                        once per batch that touches it.
 *                        key "\0count": u64 number of windows
 *   db "corr_items"      version 2 windows' entries (an older engine):
 *                        cleared when such a window is met again or
 *                        expires; nothing new is written
 *   db "corr_age"        key: u64 wall-clock expiry, then the window key
 *                        val: empty (oldest first: what expires first)
 *
 * Incidents (engine/incident.c):
 *
 *   db "incidents"       key: u64 incident id (1, 2, ...)
 *                        val: the incident as one JSON object:
 *     {"id":N, "title":"...", "severity":0-15, "state":"open" |
 *      "acknowledged" | "resolved" | "false_positive", "assignee":"..."|null,
 *      "created":"RFC 3339", "updated":"RFC 3339",
 *      "first_seen":"RFC 3339", "first_seen_us":N, "last_seen":..,
 *      "last_seen_us":N (event times of its alerts),
 *      "alerts":[ids] (at most MAX_INCIDENT_ALERTS), "alert_count":N,
 *      "mitre":["T1110",...], "entities":{"host":[..],"srcip":[..],
 *      "user":[..]}, "notes":[{"by":"..","time":"RFC 3339","text":".."}],
 *      "drill":"name" (only for drill incidents)}
 *   db "incident_entities" key: drill, 0x00, kind ("host"|"srcip"|"user"),
 *                        0x00, value  val: u64 id of the newest incident
 *                        that holds this entity
 *   db "incident_log"    key: u64 sequence (1, 2, ...): append-only
 *                        val: JSON {"seq":N, "incident":id, "change":
 *                        "opened" | "alert" | "escalated" | "acknowledged" |
 *                        "resolved" | "reopened" | "false_positive" |
 *                        "assigned" | "note" | "removed" (drill_clean),
 *                        "by":"engine" or the analyst, "time":"RFC 3339",
 *                        "time_us":N, "alert":id (opened/alert/escalated),
 *                        "note":"..", "assignee":"..",
 *                        "snapshot":{the incident without "alerts" and
 *                        "notes"}}
 *   db "meta"            key: "next_incident_id", "next_incident_log" (u64)
 *
 * Control requests and drills (engine/control.c, common/control.h):
 *
 *   db "control_applied" key: request ID   val: the answer JSON
 *   db "drills"          key: drill name   val: scorecard JSON (drill_save)
 *
 * Decoder state carried across events (engine/engine.c):
 *
 *   db "decode_state"    key: "audit"   val: the audit events in progress
 *                        (rules_ctx_save), written with the cursor in
 *                        each batch, so a restart goes on assembling them
 *
 * The cursor, the alerts a batch of events produced, the correlation windows
 * and incidents they changed and the counters commit in one write
 * transaction: a crash re-runs nothing twice, skips nothing.
 *
 * Alert JSON (the contract of `tocsin alerts --json`):
 *   {"id":N, "time":"RFC 3339" (the event's time: the record's own when
 *    its decoder reads one, else its syslog header's, else when read),
 *    "time_us":N, "level":0-15,
 *    "rule":{"id":"...","title":"...","mitre":["T1110"],"groups":[...],
 *            "author":"..." (when the rule has one)},
 *    "agent":"...", "host":"...", "message":"raw line",
 *    "fields":{"program":"sshd", "srcip":"...", ...},
 *    "event":{"jseq":N, "file":"...", "source":"agent",
 *             "read_time":"RFC 3339" (when the agent or listener read it)},
 *    "drill":"name" (only for drill events),
 *    "detected":"RFC 3339" (wall clock when the engine raised it),
 *    "incident":N (the incident it opened or joined, when any),
 *    "correlation":{"type":"threshold"|"distinct"|"sequence","count":N,
 *        "window":"2m","group":{"srcip":"..."},"alerts":[ids],
 *        "suppressed":N} (only for correlation alerts)}
 */
#ifndef TOCSIN_STATE_H
#define TOCSIN_STATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct state state_t;
typedef struct state_txn state_txn_t;
struct counter;

#define STATE_RDONLY	0x1	/* the CLI */
#define STATE_NOSYNC	0x2	/* a throw-away state: commits not synced */

/* Open (creating unless STATE_RDONLY) DATADIR/state.  map_bytes 0: default.
 * TS_ENOTFOUND if RDONLY and it does not exist yet. */
int state_open(const char *dir, int flags, uint64_t map_bytes, state_t **out);
void state_close(state_t **s);

/*
 * Clear the reader slots that dead processes left in the state's reader
 * table (stats_readers_reclaim; state_open does it too) and add to
 * *cleared (may be NULL) how many were cleared since the last call, those
 * cleared at open included.  0 or TS_EDB.
 */
int state_readers_reclaim(state_t *s, uint64_t *cleared);

/* Last journal sequence the engine has processed (0 if none). */
int state_cursor_get(state_t *s, uint64_t *jseq);

/* One write transaction (engine only).  commit/abort free *t and NULL it. */
int state_begin(state_t *s, state_txn_t **t);
int state_commit(state_txn_t **t);
void state_abort(state_txn_t **t);

int state_txn_set_cursor(state_txn_t *t, uint64_t jseq);

/* The write transaction's number: one more than the last committed one's
 * (an aborted or failed one leaves it for the next).  A cache of what
 * transaction N committed is still true in transaction N + 1. */
uint64_t state_txn_id(state_txn_t *t);

/*
 * A write-back cache that lives in transaction t (the correlation windows
 * of a batch): state_commit calls flush(t, arg) first, which writes what
 * the cache holds into t (a failure aborts the commit); then, once the
 * transaction's outcome is known, drop(arg, committed) (may be NULL):
 * committed is 1 when mdb_txn_commit succeeded, 0 when t was aborted or
 * failed (state_abort, a failed put, a failed flush or commit), so a cache
 * never outlives a transaction that did not keep what it holds.  The same
 * (flush, arg) registers once.  0, or TS_ETOOBIG past a few caches.
 */
int state_txn_hook(state_txn_t *t, int (*flush)(state_txn_t *t, void *arg),
    void (*drop)(void *arg, int committed), void *arg);

/*
 * Store one alert.  json is the alert object WITHOUT "id" (UTF-8, len bytes,
 * not NUL-terminated necessarily); the state assigns the id and stores the
 * object with "id" as its first member.  time_us/level/host/rule feed the
 * indexes.  *id (may be NULL) receives the id.
 */
int state_txn_add_alert(state_txn_t *t, uint64_t time_us, int level,
    const char *host, const char *rule_id, const char *json, size_t len,
    uint64_t *id);

int state_txn_write_stats(state_txn_t *t, const struct counter *c, size_t n);
/* Counters stored by an earlier run, to continue counting after restart. */
int state_stats_load(state_t *s, struct counter *c, size_t n);

struct alert_query {
	uint64_t	 since_us;	/* 0: no lower bound */
	uint64_t	 until_us;	/* 0: no upper bound */
	int		 min_level;	/* 0: all */
	const char	*host;		/* NULL: any */
	const char	*rule;		/* NULL: any */
	uint64_t	 limit;		/* 0: all */
};

/* Call cb with each matching alert's JSON, newest first.  cb returns 0 to go
 * on, 1 to stop.  The text is valid only during the call. */
int state_alerts_query(state_t *s, const struct alert_query *q,
    int (*cb)(const char *json, size_t len, void *arg), void *arg);

/* Number of alerts stored. */
int state_alert_count(state_t *s, uint64_t *n);

int state_stats_foreach(state_t *s,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg);

/* ---- generic access to the correlation, incident and control dbs ------ */

enum state_db {
	STATE_DB_CORR = 0,	/* "corr_windows" */
	STATE_DB_CORR_AGE,	/* "corr_age" */
	STATE_DB_INCIDENTS,	/* "incidents" */
	STATE_DB_INC_ENTITY,	/* "incident_entities" */
	STATE_DB_INC_LOG,	/* "incident_log" */
	STATE_DB_CONTROL,	/* "control_applied" */
	STATE_DB_DRILLS,	/* "drills" */
	STATE_DB_CORR_ITEMS,	/* "corr_items" */
	STATE_DB_DECODE,	/* "decode_state": what a decoder carries from
				 * one event to the next (audit events in
				 * progress, key "audit") */
	STATE_DB_NKV
};

/* Largest key of these dbs (LMDB's default limit). */
#define STATE_MAX_KV_KEY	511

/* In the engine's transaction: *v points into the map until the next write
 * in t.  0, TS_ENOTFOUND or a TS_E*. */
int state_txn_get(state_txn_t *t, int db, const void *k, size_t klen,
    const void **v, size_t *vlen);
int state_txn_put(state_txn_t *t, int db, const void *k, size_t klen,
    const void *v, size_t vlen);
/* state_txn_put for keys that mostly come in increasing order (a log by
 * sequence): appended without a search when above the db's last key. */
int state_txn_append(state_txn_t *t, int db, const void *k, size_t klen,
    const void *v, size_t vlen);
/* 0 also when the key was absent. */
int state_txn_del(state_txn_t *t, int db, const void *k, size_t klen);
/* Call cb for each key >= from (NULL: all) in key order; cb returns 0 to go
 * on, 1 to stop, negative to fail (returned).  cb must not write t. */
typedef int (*state_kv_cb)(const void *k, size_t klen, const void *v,
    size_t vlen, void *arg);
int state_txn_walk(state_txn_t *t, int db, const void *from, size_t flen,
    state_kv_cb cb, void *arg);
/* Read, increment and store the u64 counter `name` of db "meta" (starting
 * at 1): *id receives the value before the increment.  The transaction
 * keeps the counter and stores it at commit: name must stay valid until
 * then (a string literal). */
int state_txn_next_id(state_txn_t *t, const char *name, uint64_t *id);
/* Remove alert id and its index entries.  0 also when it is absent. */
int state_txn_del_alert(state_txn_t *t, uint64_t id);
/* Walk every alert in id order (JSON text valid during the call). */
int state_txn_walk_alerts(state_txn_t *t,
    int (*cb)(uint64_t id, const char *json, size_t len, void *arg),
    void *arg);

/* Read side (the CLI, outputs): one read transaction per call.  A db an
 * older engine did not create reads as empty. */
int state_walk(state_t *s, int db, const void *from, size_t flen, int reverse,
    state_kv_cb cb, void *arg);
/* A copy of one value (malloc'd, NUL-terminated; caller frees). */
int state_get(state_t *s, int db, const void *k, size_t klen, char **v,
    size_t *vlen);
/* One alert's JSON by id (malloc'd, NUL-terminated; caller frees). */
int state_alert_get(state_t *s, uint64_t id, char **json, size_t *len);
/* The scorecard stored by drill_save for drill name (malloc'd JSON,
 * NUL-terminated; caller frees).  TS_ENOTFOUND when none. */
int state_drill_get(state_t *s, const char *name, char **json);

/* ---- the logs the outputs deliver (read side) --------------------------- */

enum state_log {
	STATE_LOG_ALERTS = 0,	/* db "alerts": alert JSON by id */
	STATE_LOG_INCIDENTS,	/* db "incident_log": incident changes by
				 * sequence */
	STATE_NLOGS
};

/* What state_log_read calls per record: the text is valid only during the
 * call.  Returns 0 to go on, 1 to stop, negative to fail (returned). */
typedef int (*state_log_cb)(uint64_t id, const char *json, size_t len,
    void *arg);

/*
 * Call cb for the records of log with an id above `after`, in id order, at
 * most max of them, in one short read transaction (a reader copies what it
 * needs and delivers after the call, so that a slow consumer never pins
 * the state's pages).  *last receives the highest id the log holds, or
 * `after` when it holds none above it (the reader's lag is *last - its
 * cursor).  0; TS_ENOTFOUND when the log does not exist (a state made by
 * an older engine: looked for again at each call); or a TS_E*.
 */
int state_log_read(state_t *s, int log, uint64_t after, size_t max,
    state_log_cb cb, void *arg, uint64_t *last);

/* ---- incidents (read side: the CLI) ------------------------------------- */

/* One incident's JSON by id (malloc'd, NUL-terminated; caller frees).
 * TS_ENOTFOUND when there is none. */
int state_incident_get(state_t *s, uint64_t id, char **json, size_t *len);

/* Call cb for every incident, in id order (newest first when reverse), in
 * one read transaction.  A state without incidents reads as empty.  0, cb's
 * negative return, or a TS_E*. */
int state_incidents_foreach(state_t *s, int reverse, state_log_cb cb,
    void *arg);

/* Whether an incident in state st ("open", "acknowledged", "resolved", ...;
 * NULL when it has none) passes the filter want: NULL passes all, "active"
 * open and acknowledged ones, anything else that state alone. */
int state_incident_state_matches(const char *want, const char *st);

#endif /* TOCSIN_STATE_H */
