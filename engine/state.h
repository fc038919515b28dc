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
 * The cursor, the alerts a batch of events produced and the counters commit
 * in one write transaction: a crash re-runs nothing twice, skips nothing.
 *
 * Alert JSON (the contract of `tocsin alerts --json`):
 *   {"id":N, "time":"RFC 3339", "time_us":N, "level":0-15,
 *    "rule":{"id":"...","title":"...","mitre":["T1110"],"groups":[...],
 *            "author":"..." (when the rule has one)},
 *    "agent":"...", "host":"...", "message":"raw line",
 *    "fields":{"program":"sshd", "srcip":"...", ...},
 *    "event":{"jseq":N, "file":"...", "source":"agent"},
 *    "drill":"name" (only for drill events)}
 */
#ifndef TOCSIN_STATE_H
#define TOCSIN_STATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct state state_t;
typedef struct state_txn state_txn_t;
struct counter;

#define STATE_RDONLY	0x1	/* the CLI */

/* Open (creating unless STATE_RDONLY) DATADIR/state.  map_bytes 0: default.
 * TS_ENOTFOUND if RDONLY and it does not exist yet. */
int state_open(const char *dir, int flags, uint64_t map_bytes, state_t **out);
void state_close(state_t **s);

/* Last journal sequence the engine has processed (0 if none). */
int state_cursor_get(state_t *s, uint64_t *jseq);

/* One write transaction (engine only).  commit/abort free *t and NULL it. */
int state_begin(state_t *s, state_txn_t **t);
int state_commit(state_txn_t **t);
void state_abort(state_txn_t **t);

int state_txn_set_cursor(state_txn_t *t, uint64_t jseq);

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

#endif /* TOCSIN_STATE_H */
