/*
 * spool.c - the agent's on-disk spool of unacknowledged events and file
 * offsets (LMDB, key schema in agent_int.h).
 *
 * Single-threaded, single-process: the agent is the only writer (agent.pid
 * guards against a second agent on the same data directory).  The in-memory
 * copies of next_seq / acked / bytes change only when a transaction commits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "agents/agent_int.h"
#include "agents/platform.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/stats.h"
#include "common/util.h"
#include "common/wire.h"

/* Record header: u64 time_us, u16 flags, u16 file_len, u32 line_len. */
#define SPOOL_REC_HDR	16
/* Bytes of an offsets record. */
#define SPOOL_OFF_REC	36
/* Map headroom beyond the cap for LMDB's page overhead and the free list. */
#define SPOOL_MAP_SLACK	(64ULL << 20)
/* A write transaction starts only with at least this much of the map free
 * (else the map grows first): more than one follow_poll chunk or CONFIG
 * writes.  A transaction that still fills the map fails with nothing of it
 * kept (the sources are re-read) and the next one grows the map. */
#define SPOOL_MAP_HEADROOM	(4ULL << 20)
/* The smallest map the spool opens with. */
#define SPOOL_MAP_MIN		(1ULL << 20)

struct spool {
	MDB_env		*env;
	MDB_dbi		 db_events, db_offsets, db_meta, db_stats;
	MDB_txn		*wtxn;		/* open write transaction or NULL */
	int		 wtxn_dead;	/* an LMDB call failed inside wtxn */
	uint64_t	 max_bytes;
	uint64_t	 map_cur;	/* the map size now */
	uint64_t	 map_max;	/* the most it may grow to */
	uint64_t	 map_grown;	/* times the map grew (spool_map_info) */
	int		 map_hit;	/* an LMDB call found the map full */
	/* committed state */
	uint64_t	 epoch, next_seq, acked, bytes;
	/* state inside wtxn */
	uint64_t	 t_next_seq, t_bytes;
	/* deferred ACK (spool_ack_defer): seq of this epoch to delete
	   through in the next commit; 0 or <= acked: none */
	uint64_t	 d_seq;
};

static int spool_delete_through(spool_t *sp, MDB_txn *txn, uint64_t seq,
    uint64_t *bytes, uint64_t *n);

static int meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *name,
    uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc == MDB_NOTFOUND)
		return TS_ENOTFOUND;
	if (rc != 0 || v.mv_size != 8)
		return TS_EDB;
	*out = get_be64(v.mv_data);
	return 0;
}

static int meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *name,
    uint64_t val)
{
	unsigned char b[8];
	MDB_val k = { strlen(name), (void *)name }, v = { 8, b };

	put_be64(b, val);
	return mdb_put(txn, dbi, &k, &v, 0) == 0 ? 0 : TS_EDB;
}

static int spool_load_meta(spool_t *sp, MDB_txn *txn)
{
	unsigned char fb[4];
	MDB_val k = { 6, (void *)"format" }, v;
	int rc = mdb_get(txn, sp->db_meta, &k, &v);

	if (rc == MDB_NOTFOUND) {
		/* A new spool: a fresh epoch, seqs from 1. */
		sp->epoch = now_us() / 1000000;
		if (sp->epoch == 0)
			sp->epoch = 1;
		sp->next_seq = 1;
		sp->acked = 0;
		sp->bytes = 0;
		put_be32(fb, SPOOL_FORMAT);
		v.mv_size = 4;
		v.mv_data = fb;
		if (mdb_put(txn, sp->db_meta, &k, &v, 0) != 0 ||
		    meta_put_u64(txn, sp->db_meta, "epoch", sp->epoch) ||
		    meta_put_u64(txn, sp->db_meta, "next_seq", 1) ||
		    meta_put_u64(txn, sp->db_meta, "acked", 0) ||
		    meta_put_u64(txn, sp->db_meta, "bytes", 0))
			return TS_EDB;
		log_info("spool: new spool, epoch %llu",
		    (unsigned long long)sp->epoch);
		return 0;
	}
	if (rc != 0)
		return TS_EDB;
	if (v.mv_size != 4 || get_be32(v.mv_data) != SPOOL_FORMAT) {
		log_err("spool: unknown spool format");
		return TS_EINVAL;
	}
	if (meta_get_u64(txn, sp->db_meta, "epoch", &sp->epoch) ||
	    meta_get_u64(txn, sp->db_meta, "next_seq", &sp->next_seq) ||
	    meta_get_u64(txn, sp->db_meta, "acked", &sp->acked) ||
	    meta_get_u64(txn, sp->db_meta, "bytes", &sp->bytes))
		return TS_EDB;
	if (sp->next_seq == 0 || sp->acked >= sp->next_seq) {
		log_err("spool: inconsistent meta (next_seq %llu, acked %llu)",
		    (unsigned long long)sp->next_seq,
		    (unsigned long long)sp->acked);
		return TS_EINVAL;
	}
	return 0;
}

/*
 * Grow the map before a write transaction when less than
 * SPOOL_MAP_HEADROOM of it is free or the last one found it full: double
 * it (at least used + 2 * headroom), up to map_max.  No transaction may be
 * open (mdb_env_set_mapsize).  Failing to grow is not an error here: the
 * transaction then meets MDB_MAP_FULL and says so.
 */
static void spool_map_grow(spool_t *sp)
{
	MDB_envinfo ei;
	MDB_stat st;
	uint64_t used, want;
	int rc;

	if (sp->map_cur >= sp->map_max || mdb_env_info(sp->env, &ei) != 0 ||
	    mdb_env_stat(sp->env, &st) != 0)
		return;
	used = ((uint64_t)ei.me_last_pgno + 1) * st.ms_psize;
	if (!sp->map_hit && used + SPOOL_MAP_HEADROOM <= sp->map_cur)
		return;
	want = sp->map_cur * 2;
	if (want < used + 2 * SPOOL_MAP_HEADROOM)
		want = used + 2 * SPOOL_MAP_HEADROOM;
	if (want > sp->map_max)
		want = sp->map_max;
	want = (want + st.ms_psize - 1) / st.ms_psize * st.ms_psize;
	if ((rc = mdb_env_set_mapsize(sp->env, (size_t)want)) != 0) {
		log_warn("spool: cannot grow the map to %llu bytes: %s",
		    (unsigned long long)want, mdb_strerror(rc));
		return;
	}
	log_debug("spool: map grown from %llu to %llu bytes",
	    (unsigned long long)sp->map_cur, (unsigned long long)want);
	sp->map_cur = want;
	sp->map_grown++;
	sp->map_hit = 0;
}

/* Begin a write transaction of the spool's own, the map grown first if it
 * must.  An LMDB error code. */
static int spool_wtxn_begin(spool_t *sp, MDB_txn **txn)
{
	spool_map_grow(sp);
	return mdb_txn_begin(sp->env, NULL, 0, txn);
}

/* Note an LMDB result: a full map makes the next transaction grow it. */
static int spool_note(spool_t *sp, int rc)
{
	if (rc == MDB_MAP_FULL)
		sp->map_hit = 1;
	return rc;
}

void spool_map_info(const spool_t *sp, uint64_t *cur, uint64_t *max,
    uint64_t *grown)
{
	*cur = sp->map_cur;
	*max = sp->map_max;
	*grown = sp->map_grown;
}

int spool_open(const char *dir, uint64_t max_bytes, spool_t **out)
{
	return spool_open_map(dir, max_bytes, 0, out);
}

int spool_open_map(const char *dir, uint64_t max_bytes, uint64_t initial_map,
    spool_t **out)
{
	spool_t *sp = NULL;
	MDB_txn *txn = NULL;
	uint64_t map = DEFAULT_SPOOL_MAP_BYTES;
	int rc, err = TS_EDB;

	*out = NULL;
	if (mkdir_p(dir, 0700) != 0) {
		log_err("spool: cannot create %s: %s", dir, strerror(errno));
		return TS_EIO;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return TS_ENOMEM;
	sp->max_bytes = max_bytes;
	/* Room for the capped events plus LMDB overhead; the map is only
	 * address space, the file grows as pages are used. */
	if (max_bytes > 0 && max_bytes < (UINT64_MAX - SPOOL_MAP_SLACK) / 2 &&
	    max_bytes * 2 + SPOOL_MAP_SLACK > map)
		map = max_bytes * 2 + SPOOL_MAP_SLACK;
	sp->map_max = map;
	sp->map_cur = initial_map ? initial_map : plat_spool_initial_map(map);
	if (sp->map_cur < SPOOL_MAP_MIN)
		sp->map_cur = SPOOL_MAP_MIN;
	if (sp->map_cur > map)
		sp->map_cur = map;
	if ((rc = mdb_env_create(&sp->env)) != 0)
		goto lmdb_fail;
	if ((rc = mdb_env_set_maxdbs(sp->env, 4)) != 0 ||
	    (rc = mdb_env_set_mapsize(sp->env, (size_t)sp->map_cur)) != 0)
		goto lmdb_fail;
	/* MDB_NOMETASYNC keeps integrity; a system crash may undo the last
	 * transaction, which is harmless here: a chunk read and its offset go
	 * together (re-read), an undone ack means a resend (the collector
	 * drops duplicates). */
	if ((rc = mdb_env_open(sp->env, dir, MDB_NOTLS | MDB_NOMETASYNC,
	    0600)) != 0)
		goto lmdb_fail;
	{
		/* An existing spool may be bigger than the start: LMDB then
		 * took its size as the map. */
		MDB_envinfo ei;
		if (mdb_env_info(sp->env, &ei) == 0 &&
		    (uint64_t)ei.me_mapsize > sp->map_cur)
			sp->map_cur = (uint64_t)ei.me_mapsize;
		if (sp->map_cur > sp->map_max)
			sp->map_max = sp->map_cur;
	}
	if ((rc = spool_wtxn_begin(sp, &txn)) != 0)
		goto lmdb_fail;
	if ((rc = mdb_dbi_open(txn, "events", MDB_CREATE, &sp->db_events)) ||
	    (rc = mdb_dbi_open(txn, "offsets", MDB_CREATE, &sp->db_offsets)) ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &sp->db_meta)) ||
	    (rc = mdb_dbi_open(txn, "stats", MDB_CREATE, &sp->db_stats)))
		goto lmdb_fail;
	if ((err = spool_load_meta(sp, txn)) != 0)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto lmdb_fail;
	*out = sp;
	return 0;
lmdb_fail:
	log_err("spool: %s: %s", dir, mdb_strerror(rc));
	err = TS_EDB;
fail:
	if (txn)
		mdb_txn_abort(txn);
	spool_close(&sp);
	return err;
}

void spool_close(spool_t **spp)
{
	spool_t *sp;

	if (spp == NULL || (sp = *spp) == NULL)
		return;
	if (sp->wtxn)
		mdb_txn_abort(sp->wtxn);
	if (sp->env)
		mdb_env_close(sp->env);
	free(sp);
	*spp = NULL;
}

void spool_get_info(const spool_t *sp, struct spool_info *out)
{
	out->epoch = sp->epoch;
	out->next_seq = sp->next_seq;
	out->acked = sp->acked;
	out->ack_through = sp->d_seq > sp->acked ? sp->d_seq : sp->acked;
	out->bytes = sp->bytes;
	out->max_bytes = sp->max_bytes;
}

uint64_t spool_pending(const spool_t *sp)
{
	return sp->next_seq - 1 - sp->acked;
}

int spool_is_full(const spool_t *sp)
{
	return sp->max_bytes > 0 && sp->bytes >= sp->max_bytes;
}

int spool_begin(spool_t *sp)
{
	int rc;

	if (sp->wtxn)
		return TS_EINVAL;
	if ((rc = spool_wtxn_begin(sp, &sp->wtxn)) != 0) {
		log_err("spool: mdb_txn_begin: %s", mdb_strerror(rc));
		sp->wtxn = NULL;
		return TS_EDB;
	}
	sp->wtxn_dead = 0;
	sp->t_next_seq = sp->next_seq;
	sp->t_bytes = sp->bytes;
	return 0;
}

int spool_append(spool_t *sp, uint64_t time_us, uint16_t flags,
    const char *file, size_t file_len, const char *line, size_t line_len,
    uint64_t *seq_out)
{
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	unsigned char *p;
	uint64_t recsz;
	int rc;

	if (sp->wtxn == NULL || sp->wtxn_dead)
		return TS_EINVAL;
	if (file_len > MAX_PATH_BYTES)
		file_len = MAX_PATH_BYTES;
	if (line_len > MAX_LINE_BYTES) {
		line_len = MAX_LINE_BYTES;
		flags |= EV_TRUNCATED;
	}
	recsz = 8 + SPOOL_REC_HDR + file_len + line_len;
	if (sp->max_bytes > 0 && sp->t_bytes > 0 &&
	    sp->t_bytes + recsz > sp->max_bytes)
		return TS_EFULL;
	put_be64(kb, sp->t_next_seq);
	v.mv_size = SPOOL_REC_HDR + file_len + line_len;
	v.mv_data = NULL;
	/* MDB_APPEND: seqs only grow, so this is a cheap append at the end. */
	rc = mdb_put(sp->wtxn, sp->db_events, &k, &v, MDB_RESERVE | MDB_APPEND);
	if (rc != 0) {
		log_err("spool: append: %s", mdb_strerror(rc));
		sp->wtxn_dead = 1;
		return spool_note(sp, rc) == MDB_MAP_FULL ? TS_EFULL : TS_EDB;
	}
	p = v.mv_data;
	put_be64(p, time_us);
	put_be16(p + 8, flags);
	put_be16(p + 10, (uint16_t)file_len);
	put_be32(p + 12, (uint32_t)line_len);
	if (file_len)
		memcpy(p + SPOOL_REC_HDR, file, file_len);
	if (line_len)
		memcpy(p + SPOOL_REC_HDR + file_len, line, line_len);
	if (seq_out)
		*seq_out = sp->t_next_seq;
	sp->t_next_seq++;
	sp->t_bytes += recsz;
	return 0;
}

int spool_offset_put(spool_t *sp, const char *path,
    const struct spool_offset *o)
{
	unsigned char b[SPOOL_OFF_REC];
	MDB_val k = { strlen(path), (void *)path }, v = { sizeof(b), b };
	int rc;

	if (sp->wtxn == NULL || sp->wtxn_dead || k.mv_size == 0 ||
	    k.mv_size > MAX_PATH_BYTES)
		return TS_EINVAL;
	b[0] = SPOOL_OFFSET_FORMAT;
	b[1] = o->skip ? 1 : 0;
	put_be16(b + 2, (uint16_t)o->head_len);
	put_be64(b + 4, o->dev);
	put_be64(b + 12, o->ino);
	put_be64(b + 20, o->offset);
	put_be64(b + 28, o->head_hash);
	if ((rc = mdb_put(sp->wtxn, sp->db_offsets, &k, &v, 0)) != 0) {
		log_err("spool: offset: %s", mdb_strerror(rc));
		sp->wtxn_dead = 1;
		return spool_note(sp, rc) == MDB_MAP_FULL ? TS_EFULL : TS_EDB;
	}
	return 0;
}

int spool_commit(spool_t *sp)
{
	uint64_t ack_seq = sp->d_seq, n = 0;
	int rc;

	if (sp->wtxn == NULL)
		return TS_EINVAL;
	if (sp->wtxn_dead)
		goto dead;
	if (sp->t_next_seq != sp->next_seq &&
	    meta_put_u64(sp->wtxn, sp->db_meta, "next_seq", sp->t_next_seq))
		goto dead;
	if (ack_seq > sp->acked) {
		/* The deferred ACK rides along: its events were appended
		 * before this transaction, so they all precede its appends. */
		if ((rc = spool_delete_through(sp, sp->wtxn, ack_seq,
		    &sp->t_bytes, &n)) != 0) {
			log_err("spool: ack: %s", mdb_strerror(rc));
			goto dead;
		}
	}
	if (sp->t_bytes != sp->bytes &&
	    meta_put_u64(sp->wtxn, sp->db_meta, "bytes", sp->t_bytes))
		goto dead;
	rc = mdb_txn_commit(sp->wtxn);
	sp->wtxn = NULL;
	if (rc != 0) {
		log_err("spool: commit: %s", mdb_strerror(rc));
		return spool_note(sp, rc) == MDB_MAP_FULL ? TS_EFULL : TS_EDB;
	}
	sp->next_seq = sp->t_next_seq;
	sp->bytes = sp->t_bytes;
	if (ack_seq > sp->acked) {
		sp->acked = ack_seq;
		sp->d_seq = 0;
	}
	return 0;
dead:
	mdb_txn_abort(sp->wtxn);
	sp->wtxn = NULL;
	return TS_EDB;
}

void spool_abort(spool_t *sp)
{
	if (sp->wtxn) {
		mdb_txn_abort(sp->wtxn);
		sp->wtxn = NULL;
	}
}

/* "cursor:NAME" into buf; 0 or TS_EINVAL. */
static int cursor_key(const char *name, char *buf, size_t buflen)
{
	int n = snprintf(buf, buflen, "cursor:%s", name);

	return n > 7 && (size_t)n < buflen ? 0 : TS_EINVAL;
}

int spool_cursor_put(spool_t *sp, const char *name, const char *cur,
    size_t len)
{
	char key[MAX_NAME_BYTES + 8];
	MDB_val k, v = { len, (void *)cur };
	int rc;

	if (sp->wtxn == NULL || sp->wtxn_dead || len == 0 ||
	    len > MAX_CURSOR_BYTES || cursor_key(name, key, sizeof(key)))
		return TS_EINVAL;
	k.mv_size = strlen(key);
	k.mv_data = key;
	if ((rc = mdb_put(sp->wtxn, sp->db_meta, &k, &v, 0)) != 0) {
		log_err("spool: cursor: %s", mdb_strerror(rc));
		sp->wtxn_dead = 1;
		return spool_note(sp, rc) == MDB_MAP_FULL ? TS_EFULL : TS_EDB;
	}
	return 0;
}

int spool_meta_put(spool_t *sp, const char *key, const void *data,
    size_t len)
{
	MDB_txn *txn = NULL;
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)data };
	int rc;

	if (sp->wtxn != NULL || k.mv_size == 0)
		return TS_EINVAL;
	if ((rc = spool_wtxn_begin(sp, &txn)) != 0)
		return TS_EDB;
	if ((rc = mdb_put(txn, sp->db_meta, &k, &v, 0)) != 0) {
		mdb_txn_abort(txn);
		log_err("spool: %s: %s", key, mdb_strerror(rc));
		return spool_note(sp, rc) == MDB_MAP_FULL ? TS_EFULL : TS_EDB;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		log_err("spool: %s: %s", key, mdb_strerror(rc));
		return spool_note(sp, rc) == MDB_MAP_FULL ? TS_EFULL : TS_EDB;
	}
	return 0;
}

int spool_meta_get(spool_t *sp, const char *key, size_t max, char **out,
    size_t *len)
{
	MDB_txn *txn = NULL;
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc, err = TS_EDB;

	*out = NULL;
	*len = 0;
	if (mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn) != 0)
		return TS_EDB;
	rc = mdb_get(txn, sp->db_meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		err = TS_ENOTFOUND;
	else if (rc == 0 && v.mv_size > max)
		err = TS_EINVAL;
	else if (rc == 0 && (*out = malloc(v.mv_size + 1)) == NULL)
		err = TS_ENOMEM;
	else if (rc == 0) {
		memcpy(*out, v.mv_data, v.mv_size);
		(*out)[v.mv_size] = '\0';
		*len = v.mv_size;
		err = 0;
	}
	mdb_txn_abort(txn);
	return err;
}

int spool_cursor_get(spool_t *sp, const char *name, char *buf,
    size_t buflen)
{
	char key[MAX_NAME_BYTES + 8];
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, err = TS_EDB;

	if (cursor_key(name, key, sizeof(key)))
		return TS_EINVAL;
	k.mv_size = strlen(key);
	k.mv_data = key;
	if (mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn) != 0)
		return TS_EDB;
	rc = mdb_get(txn, sp->db_meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		err = TS_ENOTFOUND;
	else if (rc == 0 && (v.mv_size == 0 || v.mv_size >= buflen))
		err = TS_EINVAL;
	else if (rc == 0) {
		memcpy(buf, v.mv_data, v.mv_size);
		buf[v.mv_size] = '\0';
		err = 0;
	}
	mdb_txn_abort(txn);
	return err;
}

int spool_offset_get(spool_t *sp, const char *path, struct spool_offset *o)
{
	MDB_txn *txn = NULL;
	MDB_val k = { strlen(path), (void *)path }, v;
	const unsigned char *b;
	int rc, err = TS_EDB;

	if (k.mv_size == 0 || k.mv_size > MAX_PATH_BYTES)
		return TS_ENOTFOUND;
	if (mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn) != 0)
		return TS_EDB;
	rc = mdb_get(txn, sp->db_offsets, &k, &v);
	if (rc == MDB_NOTFOUND) {
		err = TS_ENOTFOUND;
		goto out;
	}
	if (rc != 0 || v.mv_size != SPOOL_OFF_REC ||
	    ((const unsigned char *)v.mv_data)[0] != SPOOL_OFFSET_FORMAT)
		goto out;
	b = v.mv_data;
	o->skip = b[1];
	o->head_len = get_be16(b + 2);
	o->dev = get_be64(b + 4);
	o->ino = get_be64(b + 12);
	o->offset = get_be64(b + 20);
	o->head_hash = get_be64(b + 28);
	err = 0;
out:
	mdb_txn_abort(txn);
	return err;
}

/*
 * Inside txn, delete every event with seq <= seq, subtract their size from
 * *bytes and store "acked" = seq (the caller stores "bytes").  *n gets the
 * number deleted.  0 or an LMDB error code (the transaction must then be
 * aborted).
 */
static int spool_delete_through(spool_t *sp, MDB_txn *txn, uint64_t seq,
    uint64_t *bytes, uint64_t *n)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	*n = 0;
	if ((rc = mdb_cursor_open(txn, sp->db_events, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || get_be64(k.mv_data) > seq)
			break;
		uint64_t sz = 8 + v.mv_size;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		*bytes = *bytes >= sz ? *bytes - sz : 0;
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (meta_put_u64(txn, sp->db_meta, "acked", seq))
		return MDB_PANIC;
	return 0;
}

int spool_ack_through(spool_t *sp, uint64_t epoch, uint64_t seq,
    uint64_t *freed)
{
	MDB_txn *txn = NULL;
	uint64_t n = 0, bytes = sp->bytes;
	int rc;

	if (freed)
		*freed = 0;
	if (epoch != sp->epoch)
		return 0;
	if (sp->wtxn)
		return TS_EINVAL;
	if (sp->d_seq > seq)
		seq = sp->d_seq;	/* a deferred ACK goes along */
	if (seq <= sp->acked)
		return 0;
	if (seq > sp->next_seq - 1)
		seq = sp->next_seq - 1;	/* never beyond what exists */
	if (seq <= sp->acked)
		return 0;
	if ((rc = spool_wtxn_begin(sp, &txn)) != 0)
		goto lmdb_fail;
	if ((rc = spool_delete_through(sp, txn, seq, &bytes, &n)) != 0)
		goto lmdb_fail;
	if (meta_put_u64(txn, sp->db_meta, "bytes", bytes)) {
		rc = MDB_PANIC;
		goto lmdb_fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto lmdb_fail;
	sp->acked = seq;
	sp->bytes = bytes;
	if (sp->d_seq <= seq)
		sp->d_seq = 0;
	if (freed)
		*freed = n;
	return 0;
lmdb_fail:
	log_err("spool: ack: %s", mdb_strerror(rc));
	if (txn)
		mdb_txn_abort(txn);
	return TS_EDB;
}

int spool_ack_defer(spool_t *sp, uint64_t epoch, uint64_t seq)
{
	if (epoch != sp->epoch)
		return 0;
	if (seq > sp->next_seq - 1)
		seq = sp->next_seq - 1;	/* never beyond what exists */
	if (seq > sp->acked && seq > sp->d_seq)
		sp->d_seq = seq;
	return 0;
}

int spool_ack_flush(spool_t *sp)
{
	int rc;

	if (sp->d_seq <= sp->acked) {
		sp->d_seq = 0;
		return 0;
	}
	if ((rc = spool_begin(sp)) != 0)
		return rc;
	return spool_commit(sp);
}

int spool_new_epoch(spool_t *sp, uint64_t min_epoch)
{
	MDB_txn *txn = NULL;
	uint64_t e = now_us() / 1000000;
	int rc;

	if (sp->wtxn)
		return TS_EINVAL;
	/* A deferred ACK belongs to the current epoch: apply it first. */
	if ((rc = spool_ack_flush(sp)) != 0)
		return rc;
	if (e <= sp->epoch)
		e = sp->epoch + 1;
	if (e <= min_epoch)
		e = min_epoch + 1;
	if (e == 0)
		return TS_EINVAL;	/* min_epoch was UINT64_MAX */
	if ((rc = spool_wtxn_begin(sp, &txn)) != 0)
		goto lmdb_fail;
	if (meta_put_u64(txn, sp->db_meta, "epoch", e)) {
		rc = MDB_PANIC;
		goto lmdb_fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto lmdb_fail;
	log_info("spool: epoch %llu -> %llu", (unsigned long long)sp->epoch,
	    (unsigned long long)e);
	sp->epoch = e;
	return 0;
lmdb_fail:
	log_err("spool: new epoch: %s", mdb_strerror(rc));
	if (txn)
		mdb_txn_abort(txn);
	return TS_EDB;
}

int spool_read(spool_t *sp, uint64_t from, size_t max, spool_event_cb cb,
    void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	unsigned char kb[8];
	MDB_val k = { 8, kb }, v;
	struct spool_event ev;
	size_t n = 0;
	int rc, err = TS_EDB;

	if (mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn) != 0)
		return TS_EDB;
	if (mdb_cursor_open(txn, sp->db_events, &cur) != 0)
		goto out;
	put_be64(kb, from);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	    rc == 0 && (max == 0 || n < max);
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const unsigned char *p = v.mv_data;
		if (k.mv_size != 8 || v.mv_size < SPOOL_REC_HDR)
			goto out;
		ev.seq = get_be64(k.mv_data);
		ev.time_us = get_be64(p);
		ev.flags = get_be16(p + 8);
		ev.file_len = get_be16(p + 10);
		ev.line_len = get_be32(p + 12);
		if (ev.file_len + ev.line_len != v.mv_size - SPOOL_REC_HDR)
			goto out;
		ev.file = (const char *)p + SPOOL_REC_HDR;
		ev.line = ev.file + ev.file_len;
		n++;
		if (cb(&ev, arg) != 0)
			break;
	}
	err = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

int spool_stats_load(spool_t *sp, struct counter *c, size_t n)
{
	MDB_txn *txn = NULL;
	int rc;

	if (mdb_txn_begin(sp->env, NULL, MDB_RDONLY, &txn) != 0)
		return TS_EDB;
	rc = stats_load(txn, sp->db_stats, c, n);
	mdb_txn_abort(txn);
	return rc;
}

int spool_stats_save(spool_t *sp, const struct counter *c, size_t n)
{
	MDB_txn *txn = NULL;
	int rc;

	if (sp->wtxn)
		return TS_EINVAL;
	if (spool_wtxn_begin(sp, &txn) != 0)
		return TS_EDB;
	if ((rc = stats_write(txn, sp->db_stats, c, n)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : TS_EDB;
}
