/*
 * state.c - the engine's LMDB state environment (see state.h for the key
 * schema and the alert JSON).
 *
 * One writer (the engine process), many readers (the CLI).  The environment
 * is opened with MDB_NOTLS so that read transactions are not tied to threads.
 * When a write transaction finds the map full, the transaction fails with
 * TS_EFULL; aborting it grows the map (doubling, up to STATE_MAX_MAP_BYTES)
 * while no transaction is open, and the caller retries its batch.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <lmdb.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/stats.h"
#include "common/util.h"
#include "engine/state.h"

/* The state map grows by doubling up to this size; past it a batch fails
 * with TS_EFULL and the engine says so.  (Candidate for limits.h.) */
#define STATE_MAX_MAP_BYTES	(64ULL << 30)

/* The map grows before a write transaction when its used part passes this
 * share, so that a batch rarely meets a full map at all. */
#define STATE_GROW_PERCENT	80

/* Named databases in the environment (state.h lists them). */
#define STATE_MAX_DBS		24

/* LMDB's default largest key is 511 bytes; the host and rule index keys are
 * "<text> 0x00 u64 u64", so the text part is capped at this many bytes.
 * A longer host or rule id is indexed by its prefix and a query for it
 * confirms the match on the alert itself. */
#define STATE_MAX_KEYTEXT	(511 - 17)

/* Levels an alert can carry (state.h: 0-15). */
#define STATE_MAX_LEVEL		15

enum {
	DB_ALERTS, DB_BY_TIME, DB_BY_LEVEL, DB_BY_HOST, DB_BY_RULE, DB_META,
	DB_STATS, DB_KV0, DB_COUNT = DB_KV0 + STATE_DB_NKV
};

/* The first DB_KV0 must exist for a reader; the others (state_db, newer)
 * read as empty when an older engine made the state. */
static const char *const db_names[DB_COUNT] = {
	"alerts", "alerts_by_time", "alerts_by_level", "alerts_by_host",
	"alerts_by_rule", "meta", "stats",
	"corr_windows", "corr_age", "incidents", "incident_entities",
	"incident_log", "control_applied", "drills", "corr_items",
	"decode_state",
};

struct state {
	MDB_env		*s_env;
	MDB_dbi		 s_dbi[DB_COUNT];
	int		 s_have[DB_COUNT];	/* the db exists */
	int		 s_rdonly;
	int		 s_grow;	/* map was full: grow before next txn */
	int		 s_cap_logged;	/* "map at its cap" said once */
	uint64_t	 s_readers_cleared; /* stale reader slots cleared, not
					 * yet handed to state_readers_reclaim */
};

/* Named counters (state_txn_next_id) a transaction keeps in memory: read
 * once, written back once at commit, instead of a get and a put of "meta"
 * per alert's incident change. */
#define TXN_IDS		8

struct txn_id {
	const char	*ti_name;	/* the caller's (a literal) */
	uint64_t	 ti_next;	/* value to hand out next */
};

/* Write-back caches a transaction carries (state_txn_hook). */
#define TXN_HOOKS	4

struct txn_hook {
	int	(*th_flush)(state_txn_t *t, void *arg);
	void	(*th_drop)(void *arg, int committed);
	void	 *th_arg;
};

struct state_txn {
	state_t		*t_state;
	MDB_txn		*t_txn;
	uint64_t	 t_next_id;	/* 0: not read yet */
	int		 t_ids_dirty;	/* next_alert_id must be written */
	int		 t_failed;	/* a put failed (its TS_E*): abort only */
	struct txn_id	 t_ids[TXN_IDS];	/* next_id counters, dirty */
	size_t		 t_nids;
	struct txn_hook	 t_hooks[TXN_HOOKS];	/* state_txn_hook */
	size_t		 t_nhooks;
	/* The alert dbs' cursors (opened at the first alert; LMDB closes
	 * them with the transaction): a put through a cursor still on the
	 * leaf page where the key goes searches that page only, not the
	 * tree from its root, and the alerts of a batch mostly land beside
	 * the previous one of their db. */
	MDB_cursor	*t_cur[DB_META];
};

/*
 * Map an LMDB return code to a TS_E* code, logging what failed unless the
 * condition is an expected one (full, not found).  Remembers a full map so
 * that the map grows once the transaction is gone.
 */
static int
state_err(state_t *s, int rc, const char *what)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return TS_ENOTFOUND;
	case MDB_MAP_FULL:
		if (s != NULL)
			s->s_grow = 1;
		return TS_EFULL;
	case MDB_TXN_FULL:
	case ENOSPC:
		return TS_EFULL;
	case ENOMEM:
		return TS_ENOMEM;
	default:
		log_err("state: %s: %s", what, mdb_strerror(rc));
		return TS_EDB;
	}
}

/* Grow the map (doubling, up to the cap), while no transaction is open.
 * Called after a MAP_FULL, and before a write transaction when the used
 * part of the map passes STATE_GROW_PERCENT. */
static void
state_grow(state_t *s)
{
	MDB_envinfo	info;
	uint64_t	size;
	int		rc;

	s->s_grow = 0;
	if (mdb_env_info(s->s_env, &info) != 0)
		return;
	size = (uint64_t)info.me_mapsize;
	if (size >= STATE_MAX_MAP_BYTES) {
		if (!s->s_cap_logged)
			log_err("state: map at its cap of %llu bytes; it "
			    "cannot grow further", (unsigned long long)size);
		s->s_cap_logged = 1;
		return;
	}
	size = size * 2 > STATE_MAX_MAP_BYTES ? STATE_MAX_MAP_BYTES : size * 2;
	rc = mdb_env_set_mapsize(s->s_env, (size_t)size);
	if (rc != 0)
		log_err("state: grow map to %llu bytes: %s",
		    (unsigned long long)size, mdb_strerror(rc));
	else
		log_info("state: map grown to %llu bytes",
		    (unsigned long long)size);
}

/* Is the used part of the map (its high-water mark) past the threshold? */
static int
state_near_full(state_t *s)
{
	MDB_envinfo	info;
	MDB_stat	st;
	uint64_t	used;

	if (mdb_env_info(s->s_env, &info) != 0 ||
	    mdb_env_stat(s->s_env, &st) != 0)
		return 0;
	used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	return used > (uint64_t)info.me_mapsize / 100 * STATE_GROW_PERCENT;
}

/* Begin a read-only transaction; adopts a map grown by the writer. */
static int
state_rtxn(state_t *s, MDB_txn **txn)
{
	int rc;

	rc = mdb_txn_begin(s->s_env, NULL, MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED) {
		rc = mdb_env_set_mapsize(s->s_env, 0);
		if (rc == 0)
			rc = mdb_txn_begin(s->s_env, NULL, MDB_RDONLY, txn);
	}
	return state_err(s, rc, "mdb_txn_begin(read)");
}

/*
 * Open (creating unless STATE_RDONLY) the environment in dir.  *out is freed
 * with state_close.  TS_ENOTFOUND if RDONLY and the state does not exist (or
 * was never initialised by the engine).
 */
int
state_open(const char *dir, int flags, uint64_t map_bytes, state_t **out)
{
	state_t		*s = NULL;
	MDB_txn		*txn = NULL;
	char		*datafile = NULL;
	struct stat	 st;
	unsigned int	 envflags = MDB_NOTLS;
	int		 rc, ret;

	*out = NULL;
	if (map_bytes == 0)
		map_bytes = DEFAULT_STATE_MAP_BYTES;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return TS_ENOMEM;
	s->s_rdonly = (flags & STATE_RDONLY) != 0;

	if (s->s_rdonly) {
		if ((datafile = xasprintf("%s/data.mdb", dir)) == NULL) {
			ret = TS_ENOMEM;
			goto fail;
		}
		if (stat(datafile, &st) != 0) {
			ret = errno == ENOENT ? TS_ENOTFOUND : TS_EIO;
			goto fail;
		}
		envflags |= MDB_RDONLY;
	} else if ((ret = mkdir_p(dir, 0700)) != 0)
		goto fail;
	if (flags & STATE_NOSYNC)
		envflags |= MDB_NOSYNC;

	if ((rc = mdb_env_create(&s->s_env)) != 0) {
		ret = state_err(NULL, rc, "mdb_env_create");
		goto fail;
	}
	mdb_env_set_maxdbs(s->s_env, STATE_MAX_DBS);
	/* A reader takes the size the writer left in the file. */
	if (!s->s_rdonly &&
	    (rc = mdb_env_set_mapsize(s->s_env, (size_t)map_bytes)) != 0) {
		ret = state_err(NULL, rc, "mdb_env_set_mapsize");
		goto fail;
	}
	if ((rc = mdb_env_open(s->s_env, dir, envflags, 0600)) != 0) {
		ret = rc == ENOENT ? TS_ENOTFOUND :
		    state_err(NULL, rc, "mdb_env_open");
		goto fail;
	}
	/* Before the first transaction: a table full of dead readers would
	 * refuse it. */
	(void)stats_readers_reclaim(s->s_env, "state", &s->s_readers_cleared);
	if (s->s_rdonly)
		ret = state_rtxn(s, &txn);
	else
		ret = state_err(s, mdb_txn_begin(s->s_env, NULL, 0, &txn),
		    "mdb_txn_begin");
	if (ret != 0)
		goto fail;
	for (int i = 0; i < DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i],
		    s->s_rdonly ? 0 : MDB_CREATE, &s->s_dbi[i]);
		if (rc == MDB_NOTFOUND && i >= DB_KV0)
			continue;	/* older state: reads as empty */
		if (rc != 0) {
			ret = rc == MDB_NOTFOUND ? TS_ENOTFOUND :
			    state_err(s, rc, "mdb_dbi_open");
			goto fail;
		}
		s->s_have[i] = 1;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		ret = state_err(s, rc, "mdb_txn_commit(open)");
		goto fail;
	}
	free(datafile);
	*out = s;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (s->s_env != NULL)
		mdb_env_close(s->s_env);
	free(datafile);
	free(s);
	return ret;
}

int
state_readers_reclaim(state_t *s, uint64_t *cleared)
{
	int ret = stats_readers_reclaim(s->s_env, "state",
	    &s->s_readers_cleared);

	if (cleared != NULL)
		*cleared += s->s_readers_cleared;
	s->s_readers_cleared = 0;
	return ret;
}

void
state_close(state_t **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	mdb_env_close((*sp)->s_env);
	free(*sp);
	*sp = NULL;
}

/* Read a u64 from db "meta" in txn; *v = 0 when the key is absent. */
static int
state_meta_get(state_t *s, MDB_txn *txn, const char *name, uint64_t *v)
{
	MDB_val	k = { strlen(name), (void *)(uintptr_t)name }, d;
	int	rc;

	*v = 0;
	rc = mdb_get(txn, s->s_dbi[DB_META], &k, &d);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return state_err(s, rc, "mdb_get(meta)");
	if (d.mv_size != 8) {
		log_err("state: meta \"%s\" has %zu bytes, not 8", name,
		    d.mv_size);
		return TS_EDB;
	}
	*v = get_be64(d.mv_data);
	return 0;
}

static int
state_meta_put(state_t *s, MDB_txn *txn, const char *name, uint64_t v)
{
	unsigned char	buf[8];
	MDB_val		k = { strlen(name), (void *)(uintptr_t)name };
	MDB_val		d = { 8, buf };

	put_be64(buf, v);
	return state_err(s, mdb_put(txn, s->s_dbi[DB_META], &k, &d, 0),
	    "mdb_put(meta)");
}

int
state_cursor_get(state_t *s, uint64_t *jseq)
{
	MDB_txn	*txn;
	int	 ret;

	*jseq = 0;
	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	ret = state_meta_get(s, txn, "cursor", jseq);
	mdb_txn_abort(txn);
	return ret;
}

/* Begin the engine's write transaction; grows the map first when the last
 * one found it full.  *t is freed by state_commit or state_abort. */
int
state_begin(state_t *s, state_txn_t **t)
{
	state_txn_t	*tx;
	int		 rc;

	*t = NULL;
	if (s->s_rdonly)
		return TS_EINVAL;
	if (s->s_grow || state_near_full(s))
		state_grow(s);
	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		return TS_ENOMEM;
	tx->t_state = s;
	rc = mdb_txn_begin(s->s_env, NULL, 0, &tx->t_txn);
	if (rc != 0) {
		free(tx);
		return state_err(s, rc, "mdb_txn_begin");
	}
	*t = tx;
	return 0;
}

/* Commit and free *t.  TS_EFULL when the map or the disk filled up (nothing
 * of the transaction is kept; the map grows before the next one). */
/* End the caches of tx once its outcome is known: committed (1) or
 * aborted (0). */
static void
txn_hooks_drop(state_txn_t *tx, int committed)
{
	for (size_t i = 0; i < tx->t_nhooks; i++)
		if (tx->t_hooks[i].th_drop != NULL)
			tx->t_hooks[i].th_drop(tx->t_hooks[i].th_arg,
			    committed);
	tx->t_nhooks = 0;
}

int
state_txn_hook(state_txn_t *t, int (*flush)(state_txn_t *t, void *arg),
    void (*drop)(void *arg, int committed), void *arg)
{
	for (size_t i = 0; i < t->t_nhooks; i++)
		if (t->t_hooks[i].th_arg == arg &&
		    t->t_hooks[i].th_flush == flush)
			return 0;
	if (t->t_nhooks == TXN_HOOKS)
		return TS_ETOOBIG;
	t->t_hooks[t->t_nhooks].th_flush = flush;
	t->t_hooks[t->t_nhooks].th_drop = drop;
	t->t_hooks[t->t_nhooks++].th_arg = arg;
	return 0;
}

int
state_commit(state_txn_t **t)
{
	state_txn_t	*tx = *t;
	state_t		*s;
	int		 ret = 0;

	if (tx == NULL)
		return TS_EINVAL;
	*t = NULL;
	s = tx->t_state;
	if (tx->t_failed) {
		ret = tx->t_failed;
		txn_hooks_drop(tx, 0);
		mdb_txn_abort(tx->t_txn);
		free(tx);
		if (s->s_grow)
			state_grow(s);
		return ret;
	}
	/* the caches write what they hold first (they may take ids) */
	for (size_t i = 0; i < tx->t_nhooks && ret == 0; i++)
		if ((ret = tx->t_hooks[i].th_flush(tx, tx->t_hooks[i].th_arg))
		    == 0 && tx->t_failed)
			ret = tx->t_failed;
	if (ret == 0 && tx->t_ids_dirty)
		ret = state_meta_put(s, tx->t_txn, "next_alert_id",
		    tx->t_next_id);
	for (size_t i = 0; i < tx->t_nids && ret == 0; i++)
		ret = state_meta_put(s, tx->t_txn, tx->t_ids[i].ti_name,
		    tx->t_ids[i].ti_next);
	if (ret != 0)
		mdb_txn_abort(tx->t_txn);
	else
		ret = state_err(s, mdb_txn_commit(tx->t_txn),
		    "mdb_txn_commit");
	/* only now is it known whether what the caches hold is on disk */
	txn_hooks_drop(tx, ret == 0);
	free(tx);
	if (s->s_grow)
		state_grow(s);
	return ret;
}

void
state_abort(state_txn_t **t)
{
	state_t *s;

	if (t == NULL || *t == NULL)
		return;
	s = (*t)->t_state;
	txn_hooks_drop(*t, 0);
	mdb_txn_abort((*t)->t_txn);
	free(*t);
	*t = NULL;
	if (s->s_grow)
		state_grow(s);
}

/* Record the outcome of a put inside tx: any failure poisons the txn. */
static int
state_txn_check(state_txn_t *tx, int rc, const char *what)
{
	int ret = state_err(tx->t_state, rc, what);

	if (ret != 0)
		tx->t_failed = ret;
	return ret;
}

int
state_txn_set_cursor(state_txn_t *t, uint64_t jseq)
{
	int ret;

	if (t->t_failed)
		return t->t_failed;
	ret = state_meta_put(t->t_state, t->t_txn, "cursor", jseq);
	if (ret != 0)
		t->t_failed = ret;
	return ret;
}

uint64_t
state_txn_id(state_txn_t *t)
{
	return (uint64_t)mdb_txn_id(t->t_txn);
}

/* Build an index key "<text> 0x00 time id" (text capped) into buf. */
static size_t
state_text_key(unsigned char *buf, const char *text, uint64_t time_us,
    uint64_t id)
{
	size_t n = text == NULL ? 0 : strlen(text);

	if (n > STATE_MAX_KEYTEXT)
		n = STATE_MAX_KEYTEXT;
	if (n > 0)
		memcpy(buf, text, n);
	buf[n] = 0;
	put_be64(buf + n + 1, time_us);
	put_be64(buf + n + 9, id);
	return n + 17;
}

/*
 * Store one alert (see state.h).  The stored value is `{"id":N,` followed by
 * json without its opening brace (or `{"id":N}` for an empty object).  The
 * input must be one JSON object: first and last non-blank bytes '{' and '}'.
 * TS_EINVAL for anything else, TS_EFULL when the map is full.
 */
/*
 * mdb_put with MDB_APPEND first: the key of an alert (its id) and most keys
 * of the time index (event time, id) come in increasing order, and an
 * append neither searches the tree nor splits pages in half (they fill up,
 * so a batch writes fewer pages).  A key below the last one is refused by
 * LMDB with MDB_KEYEXIST before anything changes; it then goes in the
 * ordinary way (which, with MDB_NOOVERWRITE, refuses a key that exists).
 */
static int
put_append(MDB_cursor *c, MDB_val *k, MDB_val *d, unsigned flags)
{
	MDB_val	d0 = *d;
	int	rc;

	rc = mdb_cursor_put(c, k, d, flags | MDB_APPEND);
	if (rc != MDB_KEYEXIST)
		return rc;
	*d = d0;
	return mdb_cursor_put(c, k, d, flags);
}

/* put_append for a db without a cursor of its own. */
static int
put_append_txn(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *d)
{
	MDB_val	d0 = *d;
	int	rc;

	rc = mdb_put(txn, dbi, k, d, MDB_APPEND);
	if (rc != MDB_KEYEXIST)
		return rc;
	*d = d0;
	return mdb_put(txn, dbi, k, d, 0);
}

/* Open t's cursors on the alert dbs unless open.  0 or a TS_E*. */
static int
txn_alert_cursors(state_txn_t *t)
{
	int rc;

	for (int i = DB_ALERTS; i < DB_META; i++)
		if (t->t_cur[i] == NULL && (rc = mdb_cursor_open(t->t_txn,
		    t->t_state->s_dbi[i], &t->t_cur[i])) != 0) {
			t->t_cur[i] = NULL;
			return state_txn_check(t, rc, "mdb_cursor_open");
		}
	return 0;
}

int
state_txn_add_alert(state_txn_t *t, uint64_t time_us, int level,
    const char *host, const char *rule_id, const char *json, size_t len,
    uint64_t *id)
{
	state_t		*s = t->t_state;
	unsigned char	 kid[8], kbuf[STATE_MAX_KEYTEXT + 17];
	char		 head[32];
	const char	*body, *end;
	size_t		 headlen, bodylen;
	MDB_val		 k, d;
	uint64_t	 aid;
	int		 ret, empty;

	if (t->t_failed)
		return t->t_failed;
	if (json == NULL || level < 0 || level > STATE_MAX_LEVEL)
		return TS_EINVAL;
	body = json;
	end = json + len;
	while (body < end && (*body == ' ' || *body == '\t' ||
	    *body == '\n' || *body == '\r'))
		body++;
	while (end > body && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if (end - body < 2 || body[0] != '{' || end[-1] != '}')
		return TS_EINVAL;
	body++;				/* past '{', up to and with '}' */
	bodylen = (size_t)(end - body);
	empty = 1;
	for (const char *p = body; p < end - 1; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			empty = 0;
			break;
		}

	if (t->t_next_id == 0) {
		if ((ret = state_meta_get(s, t->t_txn, "next_alert_id",
		    &t->t_next_id)) != 0) {
			t->t_failed = ret;
			return ret;
		}
		if (t->t_next_id == 0)
			t->t_next_id = 1;
	}
	aid = t->t_next_id;
	if ((ret = txn_alert_cursors(t)) != 0)
		return ret;

	/* The alert itself, written straight into LMDB's page. */
	headlen = (size_t)snprintf(head, sizeof(head), empty ?
	    "{\"id\":%llu" : "{\"id\":%llu,", (unsigned long long)aid);
	if (empty) {
		body = "}";
		bodylen = 1;
	}
	if (bodylen > SIZE_MAX - headlen)
		return TS_ETOOBIG;
	put_be64(kid, aid);
	k.mv_size = 8;
	k.mv_data = kid;
	d.mv_size = headlen + bodylen;
	d.mv_data = NULL;
	if ((ret = state_txn_check(t, put_append(t->t_cur[DB_ALERTS], &k, &d,
	    MDB_RESERVE | MDB_NOOVERWRITE), "mdb_put(alerts)")) != 0)
		return ret;
	memcpy(d.mv_data, head, headlen);
	memcpy((char *)d.mv_data + headlen, body, bodylen);

	/* The indexes: empty values, all information in the key. */
	d.mv_size = 0;
	d.mv_data = "";
	put_be64(kbuf, time_us);
	put_be64(kbuf + 8, aid);
	k.mv_size = 16;
	k.mv_data = kbuf;
	if ((ret = state_txn_check(t, put_append(t->t_cur[DB_BY_TIME], &k, &d,
	    0), "mdb_put(alerts_by_time)")) != 0)
		return ret;
	kbuf[0] = (unsigned char)level;
	put_be64(kbuf + 1, time_us);
	put_be64(kbuf + 9, aid);
	k.mv_size = 17;
	if ((ret = state_txn_check(t, mdb_cursor_put(t->t_cur[DB_BY_LEVEL], &k,
	    &d, 0), "mdb_put(alerts_by_level)")) != 0)
		return ret;
	k.mv_size = state_text_key(kbuf, host, time_us, aid);
	if ((ret = state_txn_check(t, mdb_cursor_put(t->t_cur[DB_BY_HOST], &k,
	    &d, 0), "mdb_put(alerts_by_host)")) != 0)
		return ret;
	k.mv_size = state_text_key(kbuf, rule_id, time_us, aid);
	if ((ret = state_txn_check(t, mdb_cursor_put(t->t_cur[DB_BY_RULE], &k,
	    &d, 0), "mdb_put(alerts_by_rule)")) != 0)
		return ret;

	t->t_next_id = aid + 1;
	t->t_ids_dirty = 1;
	if (id != NULL)
		*id = aid;
	return 0;
}

int
state_txn_write_stats(state_txn_t *t, const struct counter *c, size_t n)
{
	int ret;

	if (t->t_failed)
		return t->t_failed;
	ret = stats_write(t->t_txn, t->t_state->s_dbi[DB_STATS], c, n);
	if (ret != 0)
		t->t_failed = ret;
	return ret;
}

int
state_stats_load(state_t *s, struct counter *c, size_t n)
{
	MDB_txn	*txn;
	int	 ret;

	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	ret = stats_load(txn, s->s_dbi[DB_STATS], c, n);
	mdb_txn_abort(txn);
	return ret;
}

int
state_stats_foreach(state_t *s,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg)
{
	MDB_txn	*txn;
	int	 ret;

	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	ret = stats_foreach(txn, s->s_dbi[DB_STATS], cb, arg);
	mdb_txn_abort(txn);
	return ret;
}

int
state_alert_count(state_t *s, uint64_t *n)
{
	MDB_txn	*txn;
	MDB_stat st;
	int	 ret;

	*n = 0;
	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	ret = state_err(s, mdb_stat(txn, s->s_dbi[DB_ALERTS], &st),
	    "mdb_stat(alerts)");
	if (ret == 0)
		*n = st.ms_entries;
	mdb_txn_abort(txn);
	return ret;
}

/* ---- queries ------------------------------------------------------------ */

/* What a query walk needs besides the index. */
struct query_walk {
	state_t			*qw_state;
	MDB_txn			*qw_txn;
	const struct alert_query *qw_q;
	uint64_t		 qw_since, qw_until;
	int			 qw_need_level;	/* level not given by the index */
	int			 qw_need_host;	/* host not given by the index */
	int			 qw_need_rule;	/* rule not given by the index */
	uint64_t		 qw_count;
	int			(*qw_cb)(const char *, size_t, void *);
	void			*qw_arg;
};

/* Does the JSON string value v equal the C string want? */
static int
json_str_is(json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	    memcmp(json_string_value(v), want, strlen(want)) == 0;
}

/*
 * Fetch alert id, check the filters that the walked index does not settle,
 * and hand it to the callback.  Returns 0 to go on, 1 to stop (callback or
 * limit), or a negative TS_E*.
 */
static int
query_emit(struct query_walk *w, uint64_t id)
{
	unsigned char	 kid[8];
	MDB_val		 k = { 8, kid }, d;
	json_t		*root, *rule;
	int		 rc, ok = 1;

	put_be64(kid, id);
	rc = mdb_get(w->qw_txn, w->qw_state->s_dbi[DB_ALERTS], &k, &d);
	if (rc == MDB_NOTFOUND)
		return 0;		/* index without alert: skip */
	if (rc != 0)
		return state_err(w->qw_state, rc, "mdb_get(alerts)");
	if (w->qw_need_level || w->qw_need_host || w->qw_need_rule) {
		root = json_loadb(d.mv_data, d.mv_size, 0, NULL);
		if (root == NULL)
			return 0;	/* not ours to show */
		if (w->qw_need_level) {
			json_t *lv = json_object_get(root, "level");

			ok = json_is_integer(lv) &&
			    json_integer_value(lv) >= w->qw_q->min_level;
		}
		if (ok && w->qw_need_host)
			ok = json_str_is(json_object_get(root, "host"),
			    w->qw_q->host);
		if (ok && w->qw_need_rule) {
			rule = json_object_get(root, "rule");
			ok = json_str_is(json_object_get(rule, "id"),
			    w->qw_q->rule);
		}
		json_decref(root);
		if (!ok)
			return 0;
	}
	if (w->qw_cb((const char *)d.mv_data, d.mv_size, w->qw_arg) != 0)
		return 1;
	w->qw_count++;
	if (w->qw_q->limit != 0 && w->qw_count >= w->qw_q->limit)
		return 1;
	return 0;
}

/*
 * Position cur on the last key <= target (keys compared as bytes); 0 or
 * TS_ENOTFOUND when every key is greater (or the db is empty).
 */
static int
cursor_seek_le(state_t *s, MDB_cursor *cur, const unsigned char *target,
    size_t tlen, MDB_val *k)
{
	MDB_val	d;
	int	rc;

	k->mv_size = tlen;
	k->mv_data = (void *)(uintptr_t)target;
	rc = mdb_cursor_get(cur, k, &d, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(cur, k, &d, MDB_LAST);
	else if (rc == 0) {
		size_t	m = k->mv_size < tlen ? k->mv_size : tlen;
		int	c = memcmp(k->mv_data, target, m);

		if (c > 0 || (c == 0 && k->mv_size > tlen))
			rc = mdb_cursor_get(cur, k, &d, MDB_PREV);
	}
	return state_err(s, rc, "mdb_cursor_get");
}

/* Walk a "prefix time id" index (prefix: plen bytes, maybe 0) backwards
 * from until to since. */
static int
query_walk_prefixed(struct query_walk *w, int db, const unsigned char *prefix,
    size_t plen)
{
	unsigned char	 target[STATE_MAX_KEYTEXT + 17];
	MDB_cursor	*cur;
	MDB_val		 k, d;
	const unsigned char *kp;
	uint64_t	 t;
	int		 rc, ret;

	rc = mdb_cursor_open(w->qw_txn, w->qw_state->s_dbi[db], &cur);
	if (rc != 0)
		return state_err(w->qw_state, rc, "mdb_cursor_open");
	if (plen > 0)
		memcpy(target, prefix, plen);
	put_be64(target + plen, w->qw_until);
	put_be64(target + plen + 8, UINT64_MAX);
	ret = cursor_seek_le(w->qw_state, cur, target, plen + 16, &k);
	while (ret == 0) {
		kp = k.mv_data;
		if (k.mv_size != plen + 16 ||
		    (plen > 0 && memcmp(kp, prefix, plen) != 0))
			break;
		t = get_be64(kp + plen);
		if (t < w->qw_since)
			break;
		if ((ret = query_emit(w, get_be64(kp + plen + 8))) != 0)
			break;
		ret = state_err(w->qw_state,
		    mdb_cursor_get(cur, &k, &d, MDB_PREV), "mdb_cursor_get");
	}
	mdb_cursor_close(cur);
	return ret == TS_ENOTFOUND || ret == 1 ? 0 : ret;
}

/*
 * Walk alerts_by_level for levels >= min_level, newest first: one cursor per
 * level, each positioned at its newest alert within the range, merged by
 * (time, id).
 */
static int
query_walk_levels(struct query_walk *w)
{
	MDB_cursor	*cur[STATE_MAX_LEVEL + 1] = { 0 };
	MDB_val		 k[STATE_MAX_LEVEL + 1], d;
	int		 live[STATE_MAX_LEVEL + 1] = { 0 };
	unsigned char	 target[17];
	int		 lo = w->qw_q->min_level, rc, ret = 0, best;

	if (lo > STATE_MAX_LEVEL)
		return 0;
	for (int l = lo; l <= STATE_MAX_LEVEL && ret == 0; l++) {
		rc = mdb_cursor_open(w->qw_txn, w->qw_state->s_dbi[DB_BY_LEVEL],
		    &cur[l]);
		if (rc != 0) {
			ret = state_err(w->qw_state, rc, "mdb_cursor_open");
			break;
		}
		target[0] = (unsigned char)l;
		put_be64(target + 1, w->qw_until);
		put_be64(target + 9, UINT64_MAX);
		ret = cursor_seek_le(w->qw_state, cur[l], target, 17, &k[l]);
		if (ret == TS_ENOTFOUND)
			ret = 0;
		else if (ret == 0)
			live[l] = 1;
	}
	while (ret == 0) {
		best = -1;
		for (int l = lo; l <= STATE_MAX_LEVEL; l++) {
			const unsigned char *kp = k[l].mv_data;

			if (!live[l])
				continue;
			if (k[l].mv_size != 17 || kp[0] != l ||
			    get_be64(kp + 1) < w->qw_since) {
				live[l] = 0;
				continue;
			}
			if (best < 0 || memcmp(kp + 1,
			    (const unsigned char *)k[best].mv_data + 1, 16) > 0)
				best = l;
		}
		if (best < 0)
			break;
		ret = query_emit(w, get_be64((const unsigned char *)
		    k[best].mv_data + 9));
		if (ret != 0)
			break;
		rc = mdb_cursor_get(cur[best], &k[best], &d, MDB_PREV);
		if (rc == MDB_NOTFOUND)
			live[best] = 0;
		else if (rc != 0)
			ret = state_err(w->qw_state, rc, "mdb_cursor_get");
	}
	for (int l = lo; l <= STATE_MAX_LEVEL; l++)
		if (cur[l] != NULL)
			mdb_cursor_close(cur[l]);
	return ret == 1 ? 0 : ret;
}

/*
 * Call cb with each alert matching q, newest first (by time, then id).  The
 * most selective index is walked: host, else rule, else level (when a
 * minimum level is asked), else time; the other criteria are checked on the
 * alert itself.  The JSON text is valid only during the call.
 */
int
state_alerts_query(state_t *s, const struct alert_query *q,
    int (*cb)(const char *json, size_t len, void *arg), void *arg)
{
	struct query_walk	 w;
	unsigned char		 prefix[STATE_MAX_KEYTEXT + 1];
	size_t			 plen;
	int			 ret;

	memset(&w, 0, sizeof(w));
	w.qw_state = s;
	w.qw_q = q;
	w.qw_since = q->since_us;
	w.qw_until = q->until_us == 0 ? UINT64_MAX : q->until_us;
	w.qw_cb = cb;
	w.qw_arg = arg;
	if (w.qw_since > w.qw_until)
		return 0;
	if ((ret = state_rtxn(s, &w.qw_txn)) != 0)
		return ret;

	if (q->host != NULL || q->rule != NULL) {
		const char *text = q->host != NULL ? q->host : q->rule;

		plen = strlen(text);
		if (plen > STATE_MAX_KEYTEXT)
			plen = STATE_MAX_KEYTEXT;
		memcpy(prefix, text, plen);
		prefix[plen++] = 0;
		w.qw_need_level = q->min_level > 0;
		if (q->host != NULL) {
			w.qw_need_host = strlen(q->host) > STATE_MAX_KEYTEXT;
			w.qw_need_rule = q->rule != NULL;
		} else
			w.qw_need_rule = strlen(q->rule) > STATE_MAX_KEYTEXT;
		ret = query_walk_prefixed(&w, q->host != NULL ? DB_BY_HOST :
		    DB_BY_RULE, prefix, plen);
	} else if (q->min_level > 0)
		ret = query_walk_levels(&w);
	else
		ret = query_walk_prefixed(&w, DB_BY_TIME, NULL, 0);
	mdb_txn_abort(w.qw_txn);
	return ret;
}

/* ---- generic key/value access (state.h: enum state_db) ------------------ */

static int
kv_dbi(state_t *s, int db, MDB_dbi *dbi)
{
	if (db < 0 || db >= STATE_DB_NKV)
		return TS_EINVAL;
	if (!s->s_have[DB_KV0 + db])
		return TS_ENOTFOUND;
	*dbi = s->s_dbi[DB_KV0 + db];
	return 0;
}

int
state_txn_get(state_txn_t *t, int db, const void *k, size_t klen,
    const void **v, size_t *vlen)
{
	MDB_dbi	dbi;
	MDB_val	key = { klen, (void *)(uintptr_t)k }, d;
	int	ret;

	if (t->t_failed)
		return t->t_failed;
	if ((ret = kv_dbi(t->t_state, db, &dbi)) != 0)
		return ret;
	if (klen == 0 || klen > STATE_MAX_KV_KEY)
		return TS_EINVAL;
	ret = state_err(t->t_state, mdb_get(t->t_txn, dbi, &key, &d),
	    "mdb_get(kv)");
	if (ret != 0)
		return ret;
	*v = d.mv_data;
	*vlen = d.mv_size;
	return 0;
}

/* state_txn_put and state_txn_append: append puts a key that sorts after
 * every key of db (put_append falls back to a plain put when it does not). */
static int
txn_kv_put(state_txn_t *t, int db, const void *k, size_t klen,
    const void *v, size_t vlen, int append)
{
	MDB_dbi	dbi;
	MDB_val	key = { klen, (void *)(uintptr_t)k };
	MDB_val	d = { vlen, (void *)(uintptr_t)(v != NULL ? v : "") };
	int	ret;

	if (t->t_failed)
		return t->t_failed;
	if ((ret = kv_dbi(t->t_state, db, &dbi)) != 0)
		return ret;
	if (klen == 0 || klen > STATE_MAX_KV_KEY)
		return TS_EINVAL;
	return state_txn_check(t, append ?
	    put_append_txn(t->t_txn, dbi, &key, &d) :
	    mdb_put(t->t_txn, dbi, &key, &d, 0), "mdb_put(kv)");
}

int
state_txn_put(state_txn_t *t, int db, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	return txn_kv_put(t, db, k, klen, v, vlen, 0);
}

int
state_txn_append(state_txn_t *t, int db, const void *k, size_t klen,
    const void *v, size_t vlen)
{
	return txn_kv_put(t, db, k, klen, v, vlen, 1);
}

int
state_txn_del(state_txn_t *t, int db, const void *k, size_t klen)
{
	MDB_dbi	dbi;
	MDB_val	key = { klen, (void *)(uintptr_t)k };
	int	ret, rc;

	if (t->t_failed)
		return t->t_failed;
	if ((ret = kv_dbi(t->t_state, db, &dbi)) != 0)
		return ret;
	if (klen == 0 || klen > STATE_MAX_KV_KEY)
		return TS_EINVAL;
	rc = mdb_del(t->t_txn, dbi, &key, NULL);
	if (rc == MDB_NOTFOUND)
		return 0;
	return state_txn_check(t, rc, "mdb_del(kv)");
}

/* Walk dbi in txn from the first key >= from (or the last key <= from when
 * reverse), calling cb.  0, or cb's negative return, or a TS_E*. */
static int
kv_walk(state_t *s, MDB_txn *txn, MDB_dbi dbi, const void *from,
    size_t flen, int reverse, state_kv_cb cb, void *arg)
{
	MDB_cursor	*cur;
	MDB_val		 k, d;
	int		 rc, ret = 0;
	MDB_cursor_op	 next = reverse ? MDB_PREV : MDB_NEXT;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc != 0)
		return state_err(s, rc, "mdb_cursor_open");
	if (from != NULL && flen > 0) {
		if (reverse) {
			ret = cursor_seek_le(s, cur, from, flen, &k);
			rc = ret == 0 ? 0 : MDB_NOTFOUND;
			ret = 0;
			if (rc == 0)
				rc = mdb_cursor_get(cur, &k, &d,
				    MDB_GET_CURRENT);
		} else {
			k.mv_size = flen;
			k.mv_data = (void *)(uintptr_t)from;
			rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
		}
	} else
		rc = mdb_cursor_get(cur, &k, &d, reverse ? MDB_LAST : MDB_FIRST);
	while (rc == 0) {
		ret = cb(k.mv_data, k.mv_size, d.mv_data, d.mv_size, arg);
		if (ret != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &d, next);
	}
	mdb_cursor_close(cur);
	if (ret == 1)
		return 0;
	if (ret < 0)
		return ret;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return state_err(s, rc, "mdb_cursor_get(kv)");
	return 0;
}

int
state_txn_walk(state_txn_t *t, int db, const void *from, size_t flen,
    state_kv_cb cb, void *arg)
{
	MDB_dbi	dbi;
	int	ret;

	if (t->t_failed)
		return t->t_failed;
	if ((ret = kv_dbi(t->t_state, db, &dbi)) != 0)
		return ret;
	return kv_walk(t->t_state, t->t_txn, dbi, from, flen, 0, cb, arg);
}

int
state_txn_next_id(state_txn_t *t, const char *name, uint64_t *id)
{
	uint64_t v;
	size_t	 i;
	int	 ret;

	if (t->t_failed)
		return t->t_failed;
	for (i = 0; i < t->t_nids; i++)
		if (strcmp(t->t_ids[i].ti_name, name) == 0) {
			*id = t->t_ids[i].ti_next++;
			return 0;
		}
	if ((ret = state_meta_get(t->t_state, t->t_txn, name, &v)) != 0) {
		t->t_failed = ret;
		return ret;
	}
	*id = v == 0 ? 1 : v;
	if (t->t_nids < TXN_IDS) {
		/* kept until the commit writes it */
		t->t_ids[t->t_nids].ti_name = name;
		t->t_ids[t->t_nids++].ti_next = *id + 1;
		return 0;
	}
	if ((ret = state_meta_put(t->t_state, t->t_txn, name, *id + 1)) != 0)
		t->t_failed = ret;
	return ret;
}

/* Delete one index key; absent is fine. */
static int
del_key(state_txn_t *t, int db, const unsigned char *k, size_t klen)
{
	MDB_val	key = { klen, (void *)(uintptr_t)k };
	int	rc = mdb_del(t->t_txn, t->t_state->s_dbi[db], &key, NULL);

	return rc == MDB_NOTFOUND ? 0 : state_txn_check(t, rc, "mdb_del");
}

int
state_txn_del_alert(state_txn_t *t, uint64_t id)
{
	state_t		*s = t->t_state;
	unsigned char	 kid[8], kbuf[STATE_MAX_KEYTEXT + 17];
	MDB_val		 k = { 8, kid }, d;
	json_t		*root, *rule;
	uint64_t	 time_us;
	json_int_t	 level;
	const char	*host, *rid;
	int		 rc, ret = 0;

	if (t->t_failed)
		return t->t_failed;
	put_be64(kid, id);
	rc = mdb_get(t->t_txn, s->s_dbi[DB_ALERTS], &k, &d);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return state_txn_check(t, rc, "mdb_get(alerts)");
	if ((root = json_loadb(d.mv_data, d.mv_size, 0, NULL)) == NULL)
		return del_key(t, DB_ALERTS, kid, 8);
	time_us = (uint64_t)json_integer_value(json_object_get(root,
	    "time_us"));
	level = json_integer_value(json_object_get(root, "level"));
	host = json_string_value(json_object_get(root, "host"));
	rule = json_object_get(root, "rule");
	rid = json_string_value(json_object_get(rule, "id"));
	put_be64(kbuf, time_us);
	put_be64(kbuf + 8, id);
	if ((ret = del_key(t, DB_BY_TIME, kbuf, 16)) != 0)
		goto out;
	kbuf[0] = (unsigned char)(level < 0 || level > STATE_MAX_LEVEL ? 0 :
	    level);
	put_be64(kbuf + 1, time_us);
	put_be64(kbuf + 9, id);
	if ((ret = del_key(t, DB_BY_LEVEL, kbuf, 17)) != 0)
		goto out;
	if ((ret = del_key(t, DB_BY_HOST, kbuf, state_text_key(kbuf,
	    host != NULL ? host : "", time_us, id))) != 0)
		goto out;
	if ((ret = del_key(t, DB_BY_RULE, kbuf, state_text_key(kbuf,
	    rid != NULL ? rid : "", time_us, id))) != 0)
		goto out;
	ret = del_key(t, DB_ALERTS, kid, 8);
out:
	json_decref(root);
	return ret;
}

struct alert_walk {
	int	(*cb)(uint64_t, const char *, size_t, void *);
	void	*arg;
};

static int
alert_walk_cb(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct alert_walk *w = arg;

	if (klen != 8)
		return 0;
	return w->cb(get_be64(k), v, vlen, w->arg);
}

int
state_txn_walk_alerts(state_txn_t *t,
    int (*cb)(uint64_t id, const char *json, size_t len, void *arg),
    void *arg)
{
	struct alert_walk w = { cb, arg };

	if (t->t_failed)
		return t->t_failed;
	return kv_walk(t->t_state, t->t_txn, t->t_state->s_dbi[DB_ALERTS],
	    NULL, 0, 0, alert_walk_cb, &w);
}

int
state_walk(state_t *s, int db, const void *from, size_t flen, int reverse,
    state_kv_cb cb, void *arg)
{
	MDB_dbi	 dbi;
	MDB_txn	*txn;
	int	 ret;

	if ((ret = kv_dbi(s, db, &dbi)) != 0)
		return ret == TS_ENOTFOUND ? 0 : ret;
	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	ret = kv_walk(s, txn, dbi, from, flen, reverse, cb, arg);
	mdb_txn_abort(txn);
	return ret;
}

/* Copy one value of dbi into a malloc'd NUL-terminated buffer. */
static int
get_copy(state_t *s, MDB_dbi dbi, const void *k, size_t klen, char **v,
    size_t *vlen)
{
	MDB_txn	*txn;
	MDB_val	 key = { klen, (void *)(uintptr_t)k }, d;
	int	 ret;

	*v = NULL;
	if (klen == 0 || klen > STATE_MAX_KV_KEY)
		return TS_EINVAL;
	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	ret = state_err(s, mdb_get(txn, dbi, &key, &d), "mdb_get");
	if (ret == 0) {
		if ((*v = malloc(d.mv_size + 1)) == NULL)
			ret = TS_ENOMEM;
		else {
			memcpy(*v, d.mv_data, d.mv_size);
			(*v)[d.mv_size] = '\0';
			if (vlen != NULL)
				*vlen = d.mv_size;
		}
	}
	mdb_txn_abort(txn);
	return ret;
}

int
state_get(state_t *s, int db, const void *k, size_t klen, char **v,
    size_t *vlen)
{
	MDB_dbi	dbi;
	int	ret;

	*v = NULL;
	if ((ret = kv_dbi(s, db, &dbi)) != 0)
		return ret;
	return get_copy(s, dbi, k, klen, v, vlen);
}

int
state_alert_get(state_t *s, uint64_t id, char **json, size_t *len)
{
	unsigned char kid[8];

	put_be64(kid, id);
	return get_copy(s, s->s_dbi[DB_ALERTS], kid, 8, json, len);
}

int
state_drill_get(state_t *s, const char *name, char **json)
{
	size_t n = name == NULL ? 0 : strlen(name);

	*json = NULL;
	if (n == 0 || n > STATE_MAX_KV_KEY)
		return TS_EINVAL;
	return state_get(s, STATE_DB_DRILLS, name, n, json, NULL);
}

/* ---- the logs the outputs deliver (state.h: enum state_log) ------------- */

static const int log_db[STATE_NLOGS] = {
	DB_ALERTS, DB_KV0 + STATE_DB_INC_LOG
};

/* A db a read-only open did not find (an older engine made the state) is
 * looked for again: 0 once it exists, TS_ENOTFOUND while it does not. */
static int
state_relook(state_t *s, int db)
{
	MDB_txn	*txn;
	int	 rc, ret;

	if (s->s_have[db])
		return 0;
	if (!s->s_rdonly)
		return TS_ENOTFOUND;
	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	rc = mdb_dbi_open(txn, db_names[db], 0, &s->s_dbi[db]);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? TS_ENOTFOUND :
		    state_err(s, rc, "mdb_dbi_open");
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return state_err(s, rc, "mdb_txn_commit(dbi)");
	s->s_have[db] = 1;
	return 0;
}

int
state_log_read(state_t *s, int log, uint64_t after, size_t max,
    state_log_cb cb, void *arg, uint64_t *last)
{
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, d;
	unsigned char	 kb[8];
	size_t		 n = 0;
	int		 db, rc, ret;

	*last = after;
	if (log < 0 || log >= STATE_NLOGS)
		return TS_EINVAL;
	db = log_db[log];
	if ((ret = state_relook(s, db)) != 0)
		return ret;
	if ((ret = state_rtxn(s, &txn)) != 0)
		return ret;
	if ((rc = mdb_cursor_open(txn, s->s_dbi[db], &cur)) != 0) {
		mdb_txn_abort(txn);
		return state_err(s, rc, "mdb_cursor_open(log)");
	}
	if (mdb_cursor_get(cur, &k, &d, MDB_LAST) == 0 && k.mv_size == 8 &&
	    get_be64(k.mv_data) > after)
		*last = get_be64(k.mv_data);
	rc = MDB_NOTFOUND;
	if (after < UINT64_MAX) {
		put_be64(kb, after + 1);
		k.mv_size = sizeof(kb);
		k.mv_data = kb;
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	}
	for (ret = 0; rc == 0 && n < max; ) {
		if (k.mv_size == 8) {	/* ids are u64; skip anything else */
			n++;
			if ((ret = cb(get_be64(k.mv_data), d.mv_data,
			    d.mv_size, arg)) != 0)
				break;
		}
		rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (ret == 1)
		return 0;
	if (ret < 0)
		return ret;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return state_err(s, rc, "mdb_cursor_get(log)");
	return 0;
}

/* ---- incidents (read side) ------------------------------------------------ */

int
state_incident_get(state_t *s, uint64_t id, char **json, size_t *len)
{
	unsigned char kid[8];

	put_be64(kid, id);
	return state_get(s, STATE_DB_INCIDENTS, kid, sizeof(kid), json, len);
}

struct id_walk {
	state_log_cb	 cb;
	void		*arg;
};

/* state_kv_cb over a db keyed by u64 ids: anything else is skipped. */
static int
id_walk_cb(const void *k, size_t klen, const void *v, size_t vlen, void *arg)
{
	struct id_walk *w = arg;

	if (klen != 8)
		return 0;
	return w->cb(get_be64(k), v, vlen, w->arg);
}

int
state_incidents_foreach(state_t *s, int reverse, state_log_cb cb, void *arg)
{
	struct id_walk w = { cb, arg };

	return state_walk(s, STATE_DB_INCIDENTS, NULL, 0, reverse, id_walk_cb,
	    &w);
}

int state_incident_state_matches(const char *want, const char *st)
{
	if (want == NULL)
		return 1;
	if (st == NULL)
		return 0;
	if (strcmp(want, "active") == 0)
		return strcmp(st, "open") == 0 ||
		    strcmp(st, "acknowledged") == 0;
	return strcmp(want, st) == 0;
}
