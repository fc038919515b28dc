/*
 * journal.c - the journal LMDB environment (schema in journal.h).
 *
 * One writer (the collector), any number of readers (engine, CLI).  Every
 * write is one transaction: a batch of events, the agent's high-water mark
 * and the counters commit together or not at all.  A full map or disk
 * aborts the transaction (TS_EFULL) so nothing half-written ever lands.
 * Events are refused a little before the map is full (room_check), so that
 * counters and agent records can still be written to say so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "collector/collector_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/stats.h"
#include "common/util.h"
#include "common/wire.h"

/* Named databases in the environment (events, agents, stats, meta). */
#define JOURNAL_MAX_DBS		8

/* Fixed part of an event record (see journal.h). */
#define JREC_FIXED	(1 + 1 + 2 + 8 * 4 + 2 * 4 + 4)

/* Fixed part of an agent record: seven u64, then two u16-prefixed strings
 * and the u64 health flags. */
#define JAGENT_FIXED	(8 * 7)

/*
 * Room kept free in the map for everything but events (counters, agent
 * records), so that a journal too full for events can still record that it
 * is full: map/16, at least 64 KiB, at most 1 MiB.  Events are refused
 * (TS_EFULL) when they would eat into it.
 */
#define JOURNAL_RESERVE_MIN	(64u * 1024)
#define JOURNAL_RESERVE_MAX	(1024u * 1024)

/* Readers retry a transaction this many times when the writer grew the map. */
#define MAX_RESIZE_RETRIES	4

/* The one write transaction a journal may have open (journal_txn_*). */
struct journal_txn {
	journal_t	*j;
	MDB_txn		*txn;		/* NULL: not open */
	uint64_t	 next_jseq;	/* 0: not looked up yet */
	size_t		 bytes, nev;	/* events added so far (room check) */
};

struct journal {
	MDB_env		*env;
	struct journal_txn w;		/* the writer's transaction */
	MDB_dbi		 events, agents, stats, meta;
	int		 rdonly;
	uint64_t	 map_bytes;	/* current map size */
	uint64_t	 readers_cleared; /* stale reader slots cleared, not
					 * yet handed to journal_readers_reclaim */
};

static int
lmdb_err(const char *what, int rc)
{
	if (rc == MDB_MAP_FULL || rc == ENOSPC) {
		/* The collector grows the map or refuses, and logs that once. */
		log_debug("journal: %s: %s", what, mdb_strerror(rc));
		return TS_EFULL;
	}
	log_err("journal: %s: %s", what, mdb_strerror(rc));
	if (rc == ENOMEM)
		return TS_ENOMEM;
	return TS_EDB;
}

/* Begin a transaction, adopting a map size grown by the writer process. */
static int
txn_begin(journal_t *j, unsigned flags, MDB_txn **txn)
{
	int rc;

	for (int i = 0; i < MAX_RESIZE_RETRIES; i++) {
		rc = mdb_txn_begin(j->env, NULL, flags, txn);
		if (rc != MDB_MAP_RESIZED)
			break;
		if (mdb_env_set_mapsize(j->env, 0) != 0)
			break;
	}
	if (rc != 0)
		return lmdb_err("mdb_txn_begin", rc);
	return 0;
}

/* ---- records -------------------------------------------------------- */

size_t
journal_record_size(const struct jevent *ev)
{
	return JREC_FIXED + ev->agent_len + ev->host_len + ev->file_len +
	    ev->drill_len + ev->raw_len;
}

/* Writes journal_record_size(ev) bytes; the lengths must have passed
 * jevent_check() (they fit their fields). */
void
journal_record_encode(const struct jevent *ev, void *buf)
{
	unsigned char *p = buf;

	p[0] = JOURNAL_FORMAT;
	p[1] = ev->source;
	put_be16(p + 2, ev->flags);
	put_be64(p + 4, ev->recv_us);
	put_be64(p + 12, ev->time_us);
	put_be64(p + 20, ev->epoch);
	put_be64(p + 28, ev->seq);
	put_be16(p + 36, (uint16_t)ev->agent_len);
	put_be16(p + 38, (uint16_t)ev->host_len);
	put_be16(p + 40, (uint16_t)ev->file_len);
	put_be16(p + 42, (uint16_t)ev->drill_len);
	put_be32(p + 44, (uint32_t)ev->raw_len);
	p += JREC_FIXED;
#define PUT(f) do { if (ev->f##_len) memcpy(p, ev->f, ev->f##_len); \
	p += ev->f##_len; } while (0)
	PUT(agent); PUT(host); PUT(file); PUT(drill); PUT(raw);
#undef PUT
}

/* 0 if every length is within its limit (and so fits its field). */
static int
jevent_check(const struct jevent *ev)
{
	if (ev->agent_len > MAX_NAME_BYTES || ev->host_len > MAX_HOST_BYTES ||
	    ev->file_len > MAX_PATH_BYTES || ev->drill_len > MAX_DRILL_BYTES ||
	    ev->raw_len > MAX_LINE_BYTES)
		return TS_EINVAL;
	if ((ev->agent_len && !ev->agent) || (ev->host_len && !ev->host) ||
	    (ev->file_len && !ev->file) || (ev->drill_len && !ev->drill) ||
	    (ev->raw_len && !ev->raw))
		return TS_EINVAL;
	return 0;
}

const char *
journal_source_name(uint8_t source)
{
	switch (source) {
	case JSRC_AGENT:	return "agent";
	case JSRC_SYSLOG_UDP:	return "syslog_udp";
	case JSRC_SYSLOG_TCP:	return "syslog_tcp";
	case JSRC_REPLAY:	return "replay";
	case JSRC_INTERNAL:	return "internal";
	default:		return "unknown";
	}
}

int
journal_record_decode(const void *buf, size_t len, struct jevent *ev)
{
	const unsigned char *p = buf;
	size_t need;

	if (buf == NULL || len < JREC_FIXED || p[0] != JOURNAL_FORMAT)
		return TS_EINVAL;
	memset(ev, 0, sizeof(*ev));
	ev->source = p[1];
	ev->flags = get_be16(p + 2);
	ev->recv_us = get_be64(p + 4);
	ev->time_us = get_be64(p + 12);
	ev->epoch = get_be64(p + 20);
	ev->seq = get_be64(p + 28);
	ev->agent_len = get_be16(p + 36);
	ev->host_len = get_be16(p + 38);
	ev->file_len = get_be16(p + 40);
	ev->drill_len = get_be16(p + 42);
	ev->raw_len = get_be32(p + 44);
	if (ev->source < JSRC_AGENT || ev->source > JSRC_INTERNAL)
		return TS_EINVAL;
	if (ev->agent_len > MAX_NAME_BYTES || ev->host_len > MAX_HOST_BYTES ||
	    ev->file_len > MAX_PATH_BYTES || ev->drill_len > MAX_DRILL_BYTES ||
	    ev->raw_len > MAX_LINE_BYTES)
		return TS_EINVAL;
	/* Each length is bounded above, so the sum cannot overflow. */
	need = JREC_FIXED + ev->agent_len + ev->host_len + ev->file_len +
	    ev->drill_len + ev->raw_len;
	if (need != len)
		return TS_EINVAL;
	p += JREC_FIXED;
	ev->agent = (const char *)p;	p += ev->agent_len;
	ev->host = (const char *)p;	p += ev->host_len;
	ev->file = (const char *)p;	p += ev->file_len;
	ev->drill = (const char *)p;	p += ev->drill_len;
	ev->raw = (const char *)p;
	return 0;
}

/* Agent record: JAGENT_FIXED bytes of u64, then str version, str host,
 * u64 health, then (absent in older records) str group, str cfgver, then
 * (absent in older records and until the agent reported them) u16 n and n
 * pairs of str name, u64 value: the agent's counters. */
#define JAGENT_CTRS_MAX	(2 + MAX_HB_COUNTERS * (2 + MAX_COUNTER_NAME_BYTES + 8))

int
journal_agent_counters_json(const struct jagent *a, json_t **all,
    json_t **losses)
{
	*all = *losses = NULL;
	if (!a->has_ctrs)
		return 0;
	if ((*all = json_object()) == NULL ||
	    (*losses = json_object()) == NULL)
		goto oom;
	for (size_t i = 0; i < a->nctrs && i < MAX_HB_COUNTERS; i++) {
		const struct jagent_ctr *k = &a->ctrs[i];
		size_t kl = strnlen(k->name, sizeof(k->name));

		if (k->value == 0 || kl == sizeof(k->name))
			continue;
		if (json_object_set_new(*all, k->name,
		    json_integer((json_int_t)k->value)) != 0 ||
		    (wire_hb_counter_is_loss(k->name, kl) &&
		    json_object_set_new(*losses, k->name,
		    json_integer((json_int_t)k->value)) != 0))
			goto oom;
	}
	return 0;
oom:
	json_decref(*all);
	json_decref(*losses);
	*all = *losses = NULL;
	return TS_ENOMEM;
}

static size_t
jagent_encode(const struct jagent *a, unsigned char *buf, size_t cap)
{
	size_t vl = strnlen(a->version, sizeof(a->version) - 1);
	size_t hl = strnlen(a->host, sizeof(a->host) - 1);
	size_t gl = strnlen(a->group, sizeof(a->group) - 1);
	size_t cl = strnlen(a->cfgver, sizeof(a->cfgver) - 1);
	size_t need = JAGENT_FIXED + 2 + vl + 2 + hl + 8 + 2 + gl + 2 + cl;
	size_t nc = a->has_ctrs ? (a->nctrs < MAX_HB_COUNTERS ? a->nctrs :
	    MAX_HB_COUNTERS) : 0;
	unsigned char *p = buf;

	if (a->has_ctrs) {
		need += 2;
		for (size_t i = 0; i < nc; i++)
			need += 2 + strnlen(a->ctrs[i].name,
			    sizeof(a->ctrs[i].name) - 1) + 8;
	}

	if (need > cap)
		return 0;
	put_be64(p, a->epoch);		p += 8;
	put_be64(p, a->seq);		p += 8;
	put_be64(p, a->last_event_us);	p += 8;
	put_be64(p, a->events);		p += 8;
	put_be64(p, a->last_seen_us);	p += 8;
	put_be64(p, a->spooled);	p += 8;
	put_be64(p, a->hb_flags);	p += 8;
	put_be16(p, (uint16_t)vl);	p += 2;
	memcpy(p, a->version, vl);	p += vl;
	put_be16(p, (uint16_t)hl);	p += 2;
	memcpy(p, a->host, hl);		p += hl;
	put_be64(p, a->health);		p += 8;
	put_be16(p, (uint16_t)gl);	p += 2;
	memcpy(p, a->group, gl);	p += gl;
	put_be16(p, (uint16_t)cl);	p += 2;
	memcpy(p, a->cfgver, cl);	p += cl;
	if (a->has_ctrs) {
		put_be16(p, (uint16_t)nc);	p += 2;
		for (size_t i = 0; i < nc; i++) {
			size_t l = strnlen(a->ctrs[i].name,
			    sizeof(a->ctrs[i].name) - 1);

			put_be16(p, (uint16_t)l);	p += 2;
			memcpy(p, a->ctrs[i].name, l);	p += l;
			put_be64(p, a->ctrs[i].value);	p += 8;
		}
	}
	return need;
}

static int
jagent_decode(const void *buf, size_t len, struct jagent *a)
{
	const unsigned char *p = buf, *end = p + len;
	size_t l;

	memset(a, 0, sizeof(*a));
	if (len < JAGENT_FIXED + 4)
		return TS_EINVAL;
	a->epoch = get_be64(p);		p += 8;
	a->seq = get_be64(p);		p += 8;
	a->last_event_us = get_be64(p);	p += 8;
	a->events = get_be64(p);	p += 8;
	a->last_seen_us = get_be64(p);	p += 8;
	a->spooled = get_be64(p);	p += 8;
	a->hb_flags = get_be64(p);	p += 8;
	l = get_be16(p); p += 2;
	if (l >= sizeof(a->version) || l + 2 > (size_t)(end - p))
		return TS_EINVAL;
	memcpy(a->version, p, l); p += l;
	l = get_be16(p); p += 2;
	if (l >= sizeof(a->host) || l > (size_t)(end - p))
		return TS_EINVAL;
	memcpy(a->host, p, l); p += l;
	/* health, group, cfgver: absent in records written before they
	 * existed. */
	if (p == end)
		return 0;
	if ((size_t)(end - p) < 8)
		return TS_EINVAL;
	a->health = get_be64(p);	p += 8;
	if (p == end)
		return 0;
	if ((size_t)(end - p) < 2)
		return TS_EINVAL;
	l = get_be16(p); p += 2;
	if (l >= sizeof(a->group) || l + 2 > (size_t)(end - p))
		return TS_EINVAL;
	memcpy(a->group, p, l); p += l;
	l = get_be16(p); p += 2;
	if (l >= sizeof(a->cfgver) || l > (size_t)(end - p))
		return TS_EINVAL;
	memcpy(a->cfgver, p, l); p += l;
	if (p == end)
		return 0;
	if ((size_t)(end - p) < 2)
		return TS_EINVAL;
	a->nctrs = get_be16(p); p += 2;
	if (a->nctrs > MAX_HB_COUNTERS)
		return TS_EINVAL;
	a->has_ctrs = 1;
	for (size_t i = 0; i < a->nctrs; i++) {
		if ((size_t)(end - p) < 2)
			return TS_EINVAL;
		l = get_be16(p); p += 2;
		if (l >= sizeof(a->ctrs[i].name) || l + 8 > (size_t)(end - p))
			return TS_EINVAL;
		memcpy(a->ctrs[i].name, p, l); p += l;
		a->ctrs[i].value = get_be64(p); p += 8;
	}
	if (p != end)
		return TS_EINVAL;
	return 0;
}

/* ---- open / close ------------------------------------------------------ */

static int
dbi_open(MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi)
{
	int rc = mdb_dbi_open(txn, name, flags, dbi);

	if (rc == MDB_NOTFOUND)
		return TS_ENOTFOUND;
	if (rc != 0)
		return lmdb_err("mdb_dbi_open", rc);
	return 0;
}

int
journal_open(const char *dir, int flags, uint64_t map_bytes, journal_t **out)
{
	journal_t *j = NULL;
	MDB_txn *txn = NULL;
	char *path = NULL;
	struct stat st;
	unsigned envflags = MDB_NOTLS, dbflags;
	int rc, err;
	MDB_val k, v;

	*out = NULL;
	if (map_bytes == 0)
		map_bytes = DEFAULT_JOURNAL_MAP_BYTES;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return TS_ENOMEM;
	j->rdonly = (flags & JOURNAL_RDONLY) != 0;
	if (j->rdonly) {
		if ((path = xasprintf("%s/data.mdb", dir)) == NULL) {
			err = TS_ENOMEM;
			goto fail;
		}
		if (stat(path, &st) != 0) {
			err = TS_ENOTFOUND;
			goto fail;
		}
		envflags |= MDB_RDONLY;
	} else if ((err = mkdir_p(dir, 0700)) != 0) {
		log_err("journal: cannot create %s", dir);
		goto fail;
	}
	if ((rc = mdb_env_create(&j->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(j->env, JOURNAL_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(j->env, (size_t)map_bytes)) != 0) {
		err = lmdb_err("mdb_env_create", rc);
		goto fail;
	}
	if ((rc = mdb_env_open(j->env, dir, envflags, 0600)) != 0) {
		log_err("journal: cannot open %s: %s", dir, mdb_strerror(rc));
		err = rc == ENOENT ? TS_ENOTFOUND : TS_EDB;
		goto fail;
	}
	/* Before the first transaction: a table full of dead readers would
	 * refuse it. */
	(void)stats_readers_reclaim(j->env, "journal", &j->readers_cleared);
	if ((err = txn_begin(j, j->rdonly ? MDB_RDONLY : 0, &txn)) != 0)
		goto fail;
	dbflags = j->rdonly ? 0 : MDB_CREATE;
	if ((err = dbi_open(txn, "events", dbflags, &j->events)) != 0 ||
	    (err = dbi_open(txn, "agents", dbflags, &j->agents)) != 0 ||
	    (err = dbi_open(txn, "stats", dbflags, &j->stats)) != 0 ||
	    (err = dbi_open(txn, "meta", dbflags, &j->meta)) != 0)
		goto fail;
	k.mv_data = "format";
	k.mv_size = 6;
	rc = mdb_get(txn, j->meta, &k, &v);
	if (rc == 0) {
		if (v.mv_size != 4 || get_be32(v.mv_data) != JOURNAL_FORMAT) {
			log_err("journal: %s has an unknown format", dir);
			err = TS_EINVAL;
			goto fail;
		}
	} else if (rc == MDB_NOTFOUND && !j->rdonly) {
		unsigned char f[4];

		put_be32(f, JOURNAL_FORMAT);
		v.mv_data = f;
		v.mv_size = 4;
		if ((rc = mdb_put(txn, j->meta, &k, &v, 0)) != 0) {
			err = lmdb_err("mdb_put meta", rc);
			goto fail;
		}
	} else if (rc != MDB_NOTFOUND) {
		err = lmdb_err("mdb_get meta", rc);
		goto fail;
	}
	/* Commit even a read-only transaction: the dbi handles opened in it
	 * would be closed by an abort. */
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		err = lmdb_err("mdb_txn_commit", rc);
		goto fail;
	}
	txn = NULL;
	{
		MDB_envinfo info;

		if (mdb_env_info(j->env, &info) == 0)
			j->map_bytes = info.me_mapsize;
		else
			j->map_bytes = map_bytes;
	}
	free(path);
	*out = j;
	return 0;
fail:
	if (txn)
		mdb_txn_abort(txn);
	if (j->env)
		mdb_env_close(j->env);
	free(j);
	free(path);
	return err;
}

void
journal_close(journal_t **j)
{
	if (j == NULL || *j == NULL)
		return;
	if ((*j)->w.txn != NULL)
		mdb_txn_abort((*j)->w.txn);
	mdb_env_close((*j)->env);
	free(*j);
	*j = NULL;
}

int
journal_readers_reclaim(journal_t *j, uint64_t *cleared)
{
	int err = stats_readers_reclaim(j->env, "journal",
	    &j->readers_cleared);

	if (cleared != NULL)
		*cleared += j->readers_cleared;
	j->readers_cleared = 0;
	return err;
}

uint64_t
journal_map_size(journal_t *j)
{
	return j->map_bytes;
}

int
journal_map_grow(journal_t *j, uint64_t max_bytes, uint64_t *new_bytes)
{
	uint64_t next;
	int rc;

	if (j->rdonly)
		return TS_EINVAL;
	if (j->map_bytes >= max_bytes)
		return TS_EFULL;
	next = j->map_bytes > max_bytes / 2 ? max_bytes : j->map_bytes * 2;
	if ((rc = mdb_env_set_mapsize(j->env, (size_t)next)) != 0)
		return lmdb_err("mdb_env_set_mapsize", rc);
	j->map_bytes = next;
	if (new_bytes)
		*new_bytes = next;
	return 0;
}

/* ---- writing ------------------------------------------------------------ */

/*
 * TS_EFULL if writing records of `bytes` bytes in total would leave less
 * than the reserve free.  The estimate is pessimistic (half again for the
 * B-tree and copy-on-write pages): a refusal costs a map growth, a miss an
 * unrecordable full journal.
 */
static int
room_check(journal_t *j, size_t bytes, size_t n)
{
	MDB_envinfo info;
	MDB_stat st;
	uint64_t used, need, reserve;

	if (mdb_env_info(j->env, &info) != 0 || mdb_env_stat(j->env, &st) != 0)
		return 0;	/* let LMDB say MDB_MAP_FULL itself */
	reserve = j->map_bytes / 16;
	if (reserve < JOURNAL_RESERVE_MIN)
		reserve = JOURNAL_RESERVE_MIN;
	if (reserve > JOURNAL_RESERVE_MAX)
		reserve = JOURNAL_RESERVE_MAX;
	used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	need = (uint64_t)bytes + bytes / 2 + (uint64_t)n * 16 +
	    4 * (uint64_t)st.ms_psize;
	if (used + need + reserve > j->map_bytes)
		return TS_EFULL;
	return 0;
}

/* Next jseq: one past the last key of "events". */
static int
next_jseq(journal_t *j, MDB_txn *txn, uint64_t *out)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, j->events, &cur)) != 0)
		return lmdb_err("mdb_cursor_open", rc);
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*out = 1;
		return 0;
	}
	if (rc != 0)
		return lmdb_err("mdb_cursor_get", rc);
	if (k.mv_size != 8)
		return TS_EDB;
	*out = get_be64(k.mv_data) + 1;
	return 0;
}

/* Put one event at jseq (keys only ever grow: MDB_APPEND). */
static int
put_event(journal_t *j, MDB_txn *txn, struct jevent *ev)
{
	unsigned char key[8];
	MDB_val k, v;
	int rc;

	put_be64(key, ev->jseq);
	k.mv_data = key;
	k.mv_size = 8;
	v.mv_size = journal_record_size(ev);
	v.mv_data = NULL;
	if ((rc = mdb_put(txn, j->events, &k, &v, MDB_APPEND | MDB_RESERVE)) != 0)
		return lmdb_err("mdb_put event", rc);
	journal_record_encode(ev, v.mv_data);
	return 0;
}

static int
agent_read(journal_t *j, MDB_txn *txn, const char *agent, struct jagent *a)
{
	MDB_val k, v;
	int rc;

	k.mv_data = (void *)agent;
	k.mv_size = strlen(agent);
	rc = mdb_get(txn, j->agents, &k, &v);
	if (rc == MDB_NOTFOUND) {
		memset(a, 0, sizeof(*a));
		return TS_ENOTFOUND;
	}
	if (rc != 0)
		return lmdb_err("mdb_get agent", rc);
	if (jagent_decode(v.mv_data, v.mv_size, a) != 0) {
		log_err("journal: agent record of %s is corrupt; reset", agent);
		memset(a, 0, sizeof(*a));
	}
	return 0;
}

static int
agent_write(journal_t *j, MDB_txn *txn, const char *agent,
    const struct jagent *a)
{
	unsigned char buf[JAGENT_FIXED + 4 + sizeof(a->version) +
	    sizeof(a->host) + 8 + 4 + sizeof(a->group) + sizeof(a->cfgver) +
	    JAGENT_CTRS_MAX];
	MDB_val k, v;
	int rc;

	k.mv_data = (void *)agent;
	k.mv_size = strlen(agent);
	v.mv_data = buf;
	v.mv_size = jagent_encode(a, buf, sizeof(buf));
	if ((rc = mdb_put(txn, j->agents, &k, &v, 0)) != 0)
		return lmdb_err("mdb_put agent", rc);
	return 0;
}

/* Write the counters (if any; same format as stats_write) and commit;
 * aborts on any failure.  Written here rather than through stats_write so
 * that a full map is told apart from other failures. */
static int
finish(journal_t *j, MDB_txn *txn, const struct counter *stats,
    size_t nstats)
{
	unsigned char val[8];
	MDB_val k, v;
	int rc;

	for (size_t i = 0; stats != NULL && i < nstats; i++) {
		if (stats[i].name == NULL || stats[i].name[0] == '\0')
			continue;
		k.mv_data = (void *)stats[i].name;
		k.mv_size = strlen(stats[i].name);
		put_be64(val, stats[i].value);
		v.mv_data = val;
		v.mv_size = 8;
		if ((rc = mdb_put(txn, j->stats, &k, &v, 0)) != 0) {
			mdb_txn_abort(txn);
			return lmdb_err("mdb_put stats", rc);
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_err("mdb_txn_commit", rc);
	return 0;
}

static void
copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	if (len)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ---- write transactions -------------------------------------------------- */

int
journal_txn_begin(journal_t *j, journal_txn_t **out)
{
	int err;

	*out = NULL;
	if (j->rdonly || j->w.txn != NULL)
		return TS_EINVAL;
	memset(&j->w, 0, sizeof(j->w));
	if ((err = txn_begin(j, 0, &j->w.txn)) != 0)
		return err;
	j->w.j = j;
	*out = &j->w;
	return 0;
}

void
journal_txn_abort(journal_txn_t **t)
{
	if (t == NULL || *t == NULL)
		return;
	if ((*t)->txn)
		mdb_txn_abort((*t)->txn);
	(*t)->txn = NULL;
	*t = NULL;
}

int
journal_txn_commit(journal_txn_t **t, const struct counter *stats,
    size_t nstats)
{
	journal_txn_t *w;
	int err;

	if (t == NULL || (w = *t) == NULL || w->txn == NULL)
		return TS_EINVAL;
	err = finish(w->j, w->txn, stats, nstats);	/* commits or aborts */
	w->txn = NULL;
	*t = NULL;
	return err;
}

/* Append ev[0..n) at the next jseqs.  Unless reserved, refuse (TS_EFULL)
 * events that would eat into the map's reserve, counting what this
 * transaction already added. */
static int
txn_put_events(journal_txn_t *t, struct jevent *ev, size_t n, int reserved,
    size_t bytes)
{
	int err;

	if (n == 0)
		return 0;
	if (!reserved && (err = room_check(t->j, t->bytes + bytes,
	    t->nev + n)) != 0)
		return err;
	if (t->next_jseq == 0 &&
	    (err = next_jseq(t->j, t->txn, &t->next_jseq)) != 0)
		return err;
	for (size_t i = 0; i < n; i++) {
		ev[i].jseq = t->next_jseq;
		if ((err = put_event(t->j, t->txn, &ev[i])) != 0)
			return err;
		t->next_jseq++;
	}
	t->bytes += bytes;
	t->nev += n;
	return 0;
}

int
journal_txn_batch(journal_txn_t *t, const char *agent, uint64_t epoch,
    uint64_t first_seq, struct jevent *ev, size_t n, struct jbatch_result *r)
{
	struct jagent a;
	uint64_t now = now_us();
	size_t skip, i, alen, bytes;
	int err;

	memset(r, 0, sizeof(*r));
	if (t == NULL || t->txn == NULL || agent == NULL ||
	    (alen = strlen(agent)) == 0 || alen > MAX_NAME_BYTES ||
	    (n > 0 && ev == NULL) || !wire_seq_range_valid(first_seq, n))
		return TS_EINVAL;
	for (i = 0; i < n; i++)
		if (jevent_check(&ev[i]) != 0)
			return TS_EINVAL;
	if ((err = agent_read(t->j, t->txn, agent, &a)) != 0 &&
	    err != TS_ENOTFOUND)
		return err;
	r->before = a;
	/* Which events are new: everything after the high-water mark (read
	 * inside this transaction, so earlier batches of it count). */
	if (epoch < a.epoch) {
		skip = n;
	} else if (epoch == a.epoch) {
		if (first_seq > a.seq)
			skip = 0;
		else if (a.seq - first_seq + 1 >= n)
			skip = n;
		else
			skip = (size_t)(a.seq - first_seq + 1);
		if (n > 0 && first_seq > a.seq + 1)
			r->gap = first_seq - a.seq - 1;
	} else {
		skip = 0;
		if (n > 0 && first_seq > 1)
			r->gap = first_seq - 1;
	}
	/* Only new events need room: a resent batch is answered even when
	 * the journal is full. */
	for (i = skip, bytes = 0; i < n; i++) {
		ev[i].epoch = epoch;
		ev[i].seq = first_seq + i;
		ev[i].agent = agent;
		ev[i].agent_len = alen;
		if (ev[i].recv_us == 0)
			ev[i].recv_us = now;
		if (ev[i].source == 0)
			ev[i].source = JSRC_AGENT;
		bytes += journal_record_size(&ev[i]);
		if (ev[i].time_us > a.last_event_us)
			a.last_event_us = ev[i].time_us;
	}
	if ((err = txn_put_events(t, ev + skip, n - skip, 0, bytes)) != 0)
		return err;
	if (skip < n) {
		a.epoch = epoch;
		a.seq = first_seq + n - 1;
		a.events += n - skip;
		if (ev[0].host_len > 0)
			copy_str(a.host, sizeof(a.host), ev[0].host,
			    ev[0].host_len);
	} else {
		r->gap = 0;
	}
	a.last_seen_us = now;
	if ((err = agent_write(t->j, t->txn, agent, &a)) != 0)
		return err;
	r->dups = skip;
	r->hw_epoch = a.epoch;
	r->hw_seq = a.seq;
	return 0;
}

int
journal_txn_plain(journal_txn_t *t, struct jevent *ev, size_t n,
    int reserved)
{
	uint64_t now = now_us();
	size_t i, bytes;

	if (t == NULL || t->txn == NULL || (n > 0 && ev == NULL))
		return TS_EINVAL;
	for (i = 0, bytes = 0; i < n; i++) {
		if (jevent_check(&ev[i]) != 0 || ev[i].source == 0 ||
		    ev[i].source > JSRC_INTERNAL)
			return TS_EINVAL;
		if (ev[i].recv_us == 0)
			ev[i].recv_us = now;
		bytes += journal_record_size(&ev[i]);
	}
	return txn_put_events(t, ev, n, reserved, bytes);
}

int
journal_txn_agent_touch(journal_txn_t *t, const char *agent,
    const struct jagent *a, struct jagent *before)
{
	struct jagent cur;
	size_t alen;
	int err;

	if (t == NULL || t->txn == NULL || agent == NULL ||
	    (alen = strlen(agent)) == 0 || alen > MAX_NAME_BYTES || a == NULL)
		return TS_EINVAL;
	if ((err = agent_read(t->j, t->txn, agent, &cur)) != 0 &&
	    err != TS_ENOTFOUND)
		return err;
	if (before)
		*before = cur;
	cur.last_seen_us = a->last_seen_us ? a->last_seen_us : now_us();
	cur.spooled = a->spooled;
	cur.hb_flags = a->hb_flags;
	if (a->version[0])
		copy_str(cur.version, sizeof(cur.version), a->version,
		    strnlen(a->version, sizeof(a->version)));
	if (a->host[0])
		copy_str(cur.host, sizeof(cur.host), a->host,
		    strnlen(a->host, sizeof(a->host)));
	if (a->group[0])
		copy_str(cur.group, sizeof(cur.group), a->group,
		    strnlen(a->group, sizeof(a->group)));
	if (a->cfgver[0])
		copy_str(cur.cfgver, sizeof(cur.cfgver), a->cfgver,
		    strnlen(a->cfgver, sizeof(a->cfgver)));
	if (a->has_ctrs) {
		cur.has_ctrs = 1;
		cur.nctrs = a->nctrs;
		memcpy(cur.ctrs, a->ctrs, sizeof(cur.ctrs));
	}
	return agent_write(t->j, t->txn, agent, &cur);
}

int
journal_txn_agent_health(journal_txn_t *t, const char *agent, uint64_t set,
    uint64_t clear, struct jagent *before)
{
	struct jagent cur;
	int err;

	if (t == NULL || t->txn == NULL || agent == NULL || agent[0] == '\0' ||
	    strlen(agent) > MAX_NAME_BYTES)
		return TS_EINVAL;
	if ((err = agent_read(t->j, t->txn, agent, &cur)) != 0)
		return err;
	if (before)
		*before = cur;
	cur.health = (cur.health & ~clear) | set;
	return agent_write(t->j, t->txn, agent, &cur);
}

/* ---- one-shot writes (one transaction each) -------------------------------- */

int
journal_append_batch_gap(journal_t *j, const char *agent, uint64_t epoch,
    uint64_t first_seq, struct jevent *ev, size_t n,
    const struct counter *stats, size_t nstats,
    size_t *dups, uint64_t *hw_epoch, uint64_t *hw_seq, uint64_t *gap)
{
	journal_txn_t *t;
	struct jbatch_result r;
	int err;

	if (dups)
		*dups = 0;
	if (gap)
		*gap = 0;
	if ((err = journal_txn_begin(j, &t)) != 0)
		return err;
	if ((err = journal_txn_batch(t, agent, epoch, first_seq, ev, n,
	    &r)) != 0) {
		journal_txn_abort(&t);
		return err;
	}
	if ((err = journal_txn_commit(&t, stats, nstats)) != 0)
		return err;
	if (dups)
		*dups = r.dups;
	if (gap)
		*gap = r.gap;
	if (hw_epoch)
		*hw_epoch = r.hw_epoch;
	if (hw_seq)
		*hw_seq = r.hw_seq;
	return 0;
}

int
journal_append_batch(journal_t *j, const char *agent, uint64_t epoch,
    uint64_t first_seq, struct jevent *ev, size_t n,
    const struct counter *stats, size_t nstats,
    size_t *dups, uint64_t *hw_epoch, uint64_t *hw_seq)
{
	return journal_append_batch_gap(j, agent, epoch, first_seq, ev, n,
	    stats, nstats, dups, hw_epoch, hw_seq, NULL);
}

int
journal_append_plain(journal_t *j, struct jevent *ev, size_t n,
    const struct counter *stats, size_t nstats)
{
	journal_txn_t *t;
	int err;

	if (j->rdonly || (n > 0 && ev == NULL))
		return TS_EINVAL;
	if ((err = journal_txn_begin(j, &t)) != 0)
		return err;
	if ((err = journal_txn_plain(t, ev, n, 0)) != 0) {
		journal_txn_abort(&t);
		return err;
	}
	return journal_txn_commit(&t, stats, nstats);
}

/*
 * Update an agent's health record.  The delivery fields (epoch, seq, events,
 * last_event_us) and the health flags move only with events or the
 * collector's own checks, so they are kept from the stored record whatever
 * *a holds; last_seen_us, spooled and hb_flags are taken from *a, version
 * and host too when non-empty.
 */
int
journal_agent_touch(journal_t *j, const char *agent, const struct jagent *a,
    const struct counter *stats, size_t nstats)
{
	journal_txn_t *t;
	int err;

	if ((err = journal_txn_begin(j, &t)) != 0)
		return err;
	if ((err = journal_txn_agent_touch(t, agent, a, NULL)) != 0) {
		journal_txn_abort(&t);
		return err;
	}
	return journal_txn_commit(&t, stats, nstats);
}
int
journal_stats_write(journal_t *j, const struct counter *stats, size_t n)
{
	journal_txn_t *t;
	int err;

	if ((err = journal_txn_begin(j, &t)) != 0)
		return err;
	return journal_txn_commit(&t, stats, n);
}

/* ---- retention ------------------------------------------------------------ */

int
journal_retain(journal_t *j, uint64_t before_us, uint64_t through,
    size_t max, size_t *deleted, int *more)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	uint64_t last, jseq;
	size_t n = 0;
	int rc, err = 0;

	*deleted = 0;
	*more = 0;
	if (j->rdonly || j->w.txn != NULL)
		return TS_EINVAL;
	if ((err = txn_begin(j, 0, &txn)) != 0)
		return err;
	if ((rc = mdb_cursor_open(txn, j->events, &cur)) != 0) {
		err = lmdb_err("mdb_cursor_open", rc);
		goto fail;
	}
	/* The newest event stays whatever its age: the next jseq is one past
	 * the last key, and must never go back. */
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND)
		goto done;
	if (rc != 0 || k.mv_size != 8) {
		err = rc ? lmdb_err("mdb_cursor_get", rc) : TS_EDB;
		goto fail;
	}
	last = get_be64(k.mv_data);
	if (through >= last)
		through = last - 1;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size < JREC_FIXED) {
			err = TS_EDB;
			goto fail;
		}
		jseq = get_be64(k.mv_data);
		if (jseq > through ||
		    get_be64((const unsigned char *)v.mv_data + 4) >= before_us)
			break;
		if (n == max) {
			*more = 1;
			break;
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0) {
			err = lmdb_err("mdb_cursor_del", rc);
			goto fail;
		}
		n++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		err = lmdb_err("mdb_cursor_get", rc);
		goto fail;
	}
done:
	mdb_cursor_close(cur);
	cur = NULL;
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_err("mdb_txn_commit", rc);
	*deleted = n;
	return 0;
fail:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

int
journal_span(journal_t *j, struct journal_span *sp)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	MDB_stat st;
	int rc, err = 0;

	memset(sp, 0, sizeof(*sp));
	if ((err = txn_begin(j, MDB_RDONLY, &txn)) != 0)
		return err;
	if ((rc = mdb_stat(txn, j->events, &st)) != 0 ||
	    (rc = mdb_cursor_open(txn, j->events, &cur)) != 0) {
		err = lmdb_err("mdb_stat", rc);
		goto out;
	}
	sp->events = st.ms_entries;
	sp->event_bytes = (uint64_t)st.ms_psize * (st.ms_branch_pages +
	    st.ms_leaf_pages + st.ms_overflow_pages);
	if ((rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0 &&
	    k.mv_size == 8 && v.mv_size >= JREC_FIXED) {
		sp->first_jseq = get_be64(k.mv_data);
		sp->first_recv_us = get_be64((const unsigned char *)v.mv_data +
		    4);
	}
	if ((rc = mdb_cursor_get(cur, &k, &v, MDB_LAST)) == 0 &&
	    k.mv_size == 8 && v.mv_size >= JREC_FIXED) {
		sp->last_jseq = get_be64(k.mv_data);
		sp->last_recv_us = get_be64((const unsigned char *)v.mv_data +
		    4);
	}
out:
	if (cur != NULL)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

/* ---- reading ------------------------------------------------------------ */

int
journal_agent_get(journal_t *j, const char *agent, struct jagent *out)
{
	MDB_txn *txn;
	int err;

	if (agent == NULL || out == NULL)
		return TS_EINVAL;
	if ((err = txn_begin(j, MDB_RDONLY, &txn)) != 0)
		return err;
	err = agent_read(j, txn, agent, out);
	mdb_txn_abort(txn);
	return err;
}

int
journal_agent_foreach(journal_t *j,
    int (*cb)(const char *agent, const struct jagent *a, void *arg), void *arg)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct jagent a;
	char name[MAX_NAME_BYTES + 1];
	int rc, err = 0;

	if ((err = txn_begin(j, MDB_RDONLY, &txn)) != 0)
		return err;
	if ((rc = mdb_cursor_open(txn, j->agents, &cur)) != 0) {
		err = lmdb_err("mdb_cursor_open", rc);
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size > MAX_NAME_BYTES ||
		    jagent_decode(v.mv_data, v.mv_size, &a) != 0)
			continue;	/* not ours to show */
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((err = cb(name, &a, arg)) != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		err = lmdb_err("mdb_cursor_get", rc);
	if (err > 0)
		err = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

int
journal_stats_foreach(journal_t *j,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg)
{
	MDB_txn *txn;
	int err;

	if ((err = txn_begin(j, MDB_RDONLY, &txn)) != 0)
		return err;
	err = stats_foreach(txn, j->stats, cb, arg);
	mdb_txn_abort(txn);
	return err;
}

int
journal_last_seq(journal_t *j, uint64_t *out)
{
	MDB_txn *txn;
	uint64_t next;
	int err;

	if ((err = txn_begin(j, MDB_RDONLY, &txn)) != 0)
		return err;
	err = next_jseq(j, txn, &next);
	mdb_txn_abort(txn);
	if (err == 0)
		*out = next - 1;
	return err;
}

/* Shared body of the two scans.  reverse: from 0 means "the newest". */
static int
scan(journal_t *j, uint64_t from, size_t max, int reverse,
    journal_event_cb cb, void *arg, uint64_t *last)
{
	MDB_txn *txn;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct jevent ev;
	unsigned char key[8];
	size_t given = 0;
	int rc, err = 0;

	if (cb == NULL)
		return TS_EINVAL;
	if ((err = txn_begin(j, MDB_RDONLY, &txn)) != 0)
		return err;
	if ((rc = mdb_cursor_open(txn, j->events, &cur)) != 0) {
		err = lmdb_err("mdb_cursor_open", rc);
		goto out;
	}
	put_be64(key, from);
	k.mv_data = key;
	k.mv_size = 8;
	if (reverse && from == 0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	} else {
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (reverse) {
			if (rc == MDB_NOTFOUND)
				rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
			else if (rc == 0 && (k.mv_size != 8 ||
			    get_be64(k.mv_data) > from))
				rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
		}
	}
	while (rc == 0 && (max == 0 || given < max)) {
		if (k.mv_size != 8 ||
		    journal_record_decode(v.mv_data, v.mv_size, &ev) != 0) {
			log_err("journal: corrupt event record");
			err = TS_EDB;
			goto out;
		}
		ev.jseq = get_be64(k.mv_data);
		given++;
		if (last)
			*last = ev.jseq;
		if ((err = cb(&ev, arg)) != 0)
			break;
		rc = mdb_cursor_get(cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
	}
	if (err == 0 && rc != 0 && rc != MDB_NOTFOUND)
		err = lmdb_err("mdb_cursor_get", rc);
	if (err > 0)
		err = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

int
journal_scan(journal_t *j, uint64_t from, size_t max, journal_event_cb cb,
    void *arg, uint64_t *last)
{
	return scan(j, from, max, 0, cb, arg, last);
}

int
journal_scan_reverse(journal_t *j, uint64_t from, size_t max,
    journal_event_cb cb, void *arg)
{
	return scan(j, from, max, 1, cb, arg, NULL);
}
