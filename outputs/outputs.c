/*
 * outputs.c - the outputs process (see outputs.h for the model and the key
 * schema of DATADIR/outputs).
 *
 * The state is read through its owner's read API (engine/state.h,
 * state_log_read), read-only as the CLI does: the alerts in id order after
 * each output's cursor, and the incident-change log when the state has
 * it.  Read transactions are short: a batch of records is copied out, the
 * transaction ends, then the batch is delivered, so a slow upstream never
 * pins the state's pages.  Only DATADIR/outputs, the outputs' own
 * environment, is opened here with LMDB.
 *
 * Per output and kind, each loop turn: copy up to OUTPUTS_BATCH records
 * after the cursor, filter (min_level, drills, webhook: openings and
 * escalations only), label drills when asked, send, flush (fsync for
 * jsonl), then commit the advanced cursor with the counters in one
 * transaction of DATADIR/outputs.  A failure (upstream down, HTTP error,
 * disk error) closes the output and retries it after a back-off doubling
 * from OUTPUTS_RETRY_MIN_US to the output's retry_max, from its cursor:
 * records wait in the state, none is dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <lmdb.h>

#include "common/config.h"
#include "common/datadir.h"
#include "common/err.h"
#include "common/stats.h"
#include "common/util.h"
#include "engine/state.h"
#include "outputs/outputs.h"
#include "outputs/outputs_int.h"

/* Records copied out of the state per output and kind per turn. */
#define OUTPUTS_BATCH		256
/* First back-off after a failure (doubles up to retry_max). */
#define OUTPUTS_RETRY_MIN_US	250000ULL
/* Sleep when nothing was delivered in a turn. */
#define OUTPUTS_IDLE_US		50000ULL
/* Heartbeat and counters written at least this often. */
#define OUTPUTS_HEARTBEAT_US	1000000ULL
/* How often to look again for a state or an incident log not there yet. */
#define OUTPUTS_STATE_WAIT_US	500000ULL
/* Map of DATADIR/outputs: cursors and counters only. */
#define OUTPUTS_MAP_BYTES	(16ULL << 20)
#define OUTPUTS_MAX_DBS		4
/* Longest cursor key: name (<= 64) + 0x00 + "incident". */
#define OUTPUTS_MAX_KEY		96

static const char *const kind_names[OUT_NKINDS] = { "alert", "incident" };

/* Per-output counters, in this order in the table. */
enum { OC_DELIVERED, OC_FAILED, OC_RETRIES, OC_FILTERED, OC_LAG, OC_N };
static const char *const oc_names[OC_N] = { "delivered", "failed",
    "retries", "filtered", "lag" };
static const char *const oc_help[OC_N] = {
	"records delivered",
	"failed delivery attempts (connect, send, HTTP, write)",
	"attempts made again after a failure",
	"records skipped by min_level, drills or the record kind",
	"records in the state not delivered yet (gauge)",
};
enum { GC_PID, GC_STARTED, GC_HEARTBEAT, GC_READERS, GC_N };

struct out {
	const struct output_config *cfg;
	const struct output_ops *ops;
	void		*impl;
	uint64_t	 cur[OUT_NKINDS];	/* committed */
	uint64_t	 backoff_us;		/* 0: healthy */
	uint64_t	 next_try_us;		/* mono */
	struct counter	*c;			/* OC_N counters */
};

struct rec {
	uint64_t	 id;
	char		*text;
	size_t		 len;
};

struct outputs {
	const struct server_config *cfg;
	char		*state_dir;
	MDB_env		*oenv;			/* DATADIR/outputs */
	MDB_dbi		 o_cursors, o_stats;
	state_t		*st;			/* DATADIR/state, read-only */
	int		 s_have[OUT_NKINDS];	/* the state has this log */
	uint64_t	 s_next_look_us;
	struct out	*outs;
	size_t		 nouts;
	struct counter	*ctab;			/* GC_N + OC_N * nouts */
	size_t		 nc;
	int		 dirty;
	uint64_t	 readers_at_open;	/* slots cleared before the
						 * counters were loaded */
	struct rec	 batch[OUTPUTS_BATCH];
	size_t		 nbatch;
};

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000),
	    (long)(us % 1000000) * 1000 };

	(void)nanosleep(&ts, NULL);
}

static const struct output_ops *ops_of(int type)
{
	switch (type) {
	case OUTPUT_JSONL:	return &output_jsonl_ops;
	case OUTPUT_LIVE:	return &output_live_ops;
	case OUTPUT_FORWARD:	return &output_forward_ops;
	case OUTPUT_WEBHOOK:	return &output_webhook_ops;
	default:		return NULL;
	}
}

/* Cursor key "name\0kind" into buf; its length. */
static size_t cursor_key(const char *name, int kind, char *buf)
{
	size_t n = strlen(name), k = strlen(kind_names[kind]);

	memcpy(buf, name, n);
	buf[n] = '\0';
	memcpy(buf + n + 1, kind_names[kind], k);
	return n + 1 + k;
}

/* ---- own environment ------------------------------------------------------ */

static int oenv_open(struct outputs *o, const char *dir)
{
	MDB_txn *txn = NULL;
	int rc;

	if (mkdir_p(dir, 0700) != 0) {
		log_err("outputs: cannot create %s: %s", dir, strerror(errno));
		return TS_EIO;
	}
	if ((rc = mdb_env_create(&o->oenv)) != 0)
		goto fail;
	mdb_env_set_maxdbs(o->oenv, OUTPUTS_MAX_DBS);
	mdb_env_set_mapsize(o->oenv, (size_t)OUTPUTS_MAP_BYTES);
	if ((rc = mdb_env_open(o->oenv, dir, MDB_NOTLS, 0600)) != 0)
		goto fail;
	/* Counted once the stored counters are loaded (outputs_run). */
	(void)stats_readers_reclaim(o->oenv, "outputs", &o->readers_at_open);
	if ((rc = mdb_txn_begin(o->oenv, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cursors", MDB_CREATE, &o->o_cursors)) ||
	    (rc = mdb_dbi_open(txn, "stats", MDB_CREATE, &o->o_stats)))
		goto fail;
	for (size_t i = 0; i < o->nouts; i++) {
		for (int k = 0; k < OUT_NKINDS; k++) {
			char kb[OUTPUTS_MAX_KEY];
			MDB_val key, val;
			key.mv_data = kb;
			key.mv_size = cursor_key(o->outs[i].cfg->name, k, kb);
			rc = mdb_get(txn, o->o_cursors, &key, &val);
			if (rc == 0 && val.mv_size == 8)
				o->outs[i].cur[k] = get_be64(val.mv_data);
			else if (rc != 0 && rc != MDB_NOTFOUND)
				goto fail;
		}
	}
	if ((rc = stats_load(txn, o->o_stats, o->ctab, o->nc)) != 0)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	log_err("outputs: %s: %s", dir, rc < 0 ? ts_strerror(rc) :
	    mdb_strerror(rc));
	return TS_EDB;
}

/* Commit every cursor and counter.  0 or TS_EDB (logged). */
static int oenv_commit(struct outputs *o)
{
	MDB_txn *txn = NULL;
	int rc;

	if ((rc = mdb_txn_begin(o->oenv, NULL, 0, &txn)) != 0)
		goto fail;
	for (size_t i = 0; i < o->nouts; i++) {
		for (int k = 0; k < OUT_NKINDS; k++) {
			char kb[OUTPUTS_MAX_KEY];
			unsigned char vb[8];
			MDB_val key, val;
			key.mv_data = kb;
			key.mv_size = cursor_key(o->outs[i].cfg->name, k, kb);
			put_be64(vb, o->outs[i].cur[k]);
			val.mv_data = vb;
			val.mv_size = 8;
			if ((rc = mdb_put(txn, o->o_cursors, &key, &val, 0)))
				goto fail;
		}
	}
	if ((rc = stats_write(txn, o->o_stats, o->ctab, o->nc)) != 0)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	o->dirty = 0;
	return 0;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	log_err("outputs: committing cursors: %s", rc < 0 ? ts_strerror(rc) :
	    mdb_strerror(rc));
	return TS_EDB;
}

/* ---- the state, read-only ------------------------------------------------- */

/* The state's log of each record kind. */
static const int kind_log[OUT_NKINDS] = {
	STATE_LOG_ALERTS, STATE_LOG_INCIDENTS
};

/* Open the state once the engine has made it, and see which logs it has;
 * a log not there yet is looked for again. */
static void state_look(struct outputs *o)
{
	uint64_t last;
	int k, rc;

	if (mono_us() < o->s_next_look_us)
		return;
	o->s_next_look_us = mono_us() + OUTPUTS_STATE_WAIT_US;
	if (o->st == NULL) {
		if (state_open(o->state_dir, STATE_RDONLY, 0, &o->st) != 0) {
			o->st = NULL;
			return;
		}
		(void)state_readers_reclaim(o->st, &o->ctab[GC_READERS].value);
		log_info("outputs: reading %s", o->state_dir);
	}
	for (k = 0; k < OUT_NKINDS; k++) {
		if (o->s_have[k])
			continue;
		/* max 0: only whether the log exists */
		rc = state_log_read(o->st, kind_log[k], UINT64_MAX, 0, NULL,
		    NULL, &last);
		if (rc == 0) {
			o->s_have[k] = 1;
			log_info("outputs: delivering the state's %s log",
			    kind_names[k]);
		}
	}
}

static void batch_clear(struct outputs *o)
{
	for (size_t i = 0; i < o->nbatch; i++)
		free(o->batch[i].text);
	o->nbatch = 0;
}

/* state_log_cb: copy one record into the batch. */
static int batch_add_cb(uint64_t id, const char *json, size_t len, void *arg)
{
	struct outputs *o = arg;
	struct rec *r = &o->batch[o->nbatch];

	if ((r->text = malloc(len + 1)) == NULL)
		return TS_ENOMEM;
	memcpy(r->text, json, len);
	r->text[len] = '\0';
	r->len = len;
	r->id = id;
	o->nbatch++;
	return 0;
}

/* Copy up to OUTPUTS_BATCH records of kind after id `after` into o->batch,
 * and the highest id present into *last.  0, TS_ENOMEM or TS_EDB. */
static int batch_read(struct outputs *o, int kind, uint64_t after,
    uint64_t *last)
{
	int rc;

	batch_clear(o);
	*last = after;
	if (!o->s_have[kind])
		return 0;
	rc = state_log_read(o->st, kind_log[kind], after, OUTPUTS_BATCH,
	    batch_add_cb, o, last);
	if (rc == TS_ENOMEM)
		return rc;
	return rc != 0 ? TS_EDB : 0;
}

/* ---- delivery ------------------------------------------------------------- */

static void out_failed(struct out *u, const char *what, int rc)
{
	u->c[OC_FAILED].value++;
	u->ops->close(&u->impl);
	u->backoff_us = u->backoff_us == 0 ? OUTPUTS_RETRY_MIN_US :
	    u->backoff_us * 2;
	if (u->backoff_us > u->cfg->retry_max_us)
		u->backoff_us = u->cfg->retry_max_us;
	u->next_try_us = mono_us() + u->backoff_us;
	log_debug("output %s: %s failed (%s); retrying in %llums",
	    u->cfg->name, what, ts_strerror(rc),
	    (unsigned long long)(u->backoff_us / 1000));
}

/* One turn of output u: returns the number of records it moved past. */
static size_t out_turn(struct outputs *o, struct out *u)
{
	size_t moved = 0;
	int rc;

	if (u->impl == NULL) {
		if (mono_us() < u->next_try_us)
			return 0;
		if (u->backoff_us != 0)
			u->c[OC_RETRIES].value++;
		if ((rc = u->ops->open(u->cfg, &u->impl)) != 0) {
			u->impl = NULL;
			out_failed(u, "open", rc);
			o->dirty = 1;
			return 0;
		}
	}
	for (int k = 0; k < OUT_NKINDS; k++) {
		int bit = k == OUT_KIND_ALERT ? OUTPUT_REC_ALERTS :
		    OUTPUT_REC_INCIDENTS;
		uint64_t last, upto;
		size_t i;
		int send_rc = 0;

		if (!(u->cfg->records & bit) || !o->s_have[k])
			continue;
		if (batch_read(o, k, u->cur[k], &last) != 0)
			return moved;
		upto = u->cur[k];
		for (i = 0; i < o->nbatch; i++) {
			struct rec *r = &o->batch[i];
			json_t *j = json_loadb(r->text, r->len, 0, NULL);

			if (j == NULL || !json_is_object(j)) {
				/* not JSON: never deliverable; skip, counted */
				json_decref(j);
				u->c[OC_FILTERED].value++;
				upto = r->id;
				continue;
			}
			if (!output_wants(u->cfg, k, j)) {
				json_decref(j);
				u->c[OC_FILTERED].value++;
				upto = r->id;
				continue;
			}
			rc = u->ops->send(u->impl, u->cfg, k, j);
			json_decref(j);
			if (rc == TS_ETOOBIG) {
				u->c[OC_FILTERED].value++;
				upto = r->id;
				continue;
			}
			if (rc != 0) {
				send_rc = rc;
				break;
			}
			if (u->backoff_us != 0) {
				log_info("output %s: delivering again",
				    u->cfg->name);
				u->backoff_us = 0;
			}
			u->c[OC_DELIVERED].value++;
			upto = r->id;
		}
		/* What was sent before a failed send counts only once
		 * flushed (fsynced): a failed flush leaves the cursor where
		 * it was and everything is sent again (at least once). */
		if ((rc = u->ops->flush(u->impl)) != 0) {
			out_failed(u, "flush", rc);
			upto = u->cur[k];
		} else if (send_rc != 0)
			out_failed(u, "send", send_rc);
		if (upto != u->cur[k]) {
			moved += 1;
			u->cur[k] = upto;
			o->dirty = 1;
		}
		u->c[OC_LAG].value = last > u->cur[k] ? last - u->cur[k] : 0;
		if (u->impl == NULL)
			break;
	}
	batch_clear(o);
	return moved;
}

/* ---- set-up --------------------------------------------------------------- */

static void outputs_free(struct outputs *o)
{
	batch_clear(o);
	for (size_t i = 0; i < o->nouts; i++)
		if (o->outs[i].ops != NULL)
			o->outs[i].ops->close(&o->outs[i].impl);
	for (size_t i = GC_N; i < o->nc; i++)
		free((char *)o->ctab[i].name);
	free(o->ctab);
	free(o->outs);
	state_close(&o->st);
	if (o->oenv != NULL)
		mdb_env_close(o->oenv);
	free(o->state_dir);
}

static int outputs_setup(struct outputs *o, const struct server_config *cfg)
{
	size_t i, n = 0;

	o->cfg = cfg;
	for (i = 0; i < cfg->noutputs; i++)
		if (cfg->outputs[i].enabled)
			n++;
	o->outs = calloc(n ? n : 1, sizeof(*o->outs));
	o->nc = GC_N + OC_N * n;
	o->ctab = calloc(o->nc, sizeof(*o->ctab));
	o->state_dir = datadir_path(cfg->data_dir, DD_STATE);
	if (o->outs == NULL || o->ctab == NULL || o->state_dir == NULL)
		return TS_ENOMEM;
	o->ctab[GC_PID] = (struct counter){ "outputs.pid", 0,
	    "outputs process id" };
	o->ctab[GC_STARTED] = (struct counter){ "outputs.started_us", 0,
	    "outputs start time" };
	o->ctab[GC_HEARTBEAT] = (struct counter){ "outputs.heartbeat_us", 0,
	    "outputs last heartbeat" };
	o->ctab[GC_READERS] = (struct counter){ "outputs.readers_cleared", 0,
	    "LMDB reader slots of dead processes cleared (outputs, state)" };
	for (i = 0; i < cfg->noutputs; i++) {
		const struct output_config *oc = &cfg->outputs[i];
		struct out *u;
		if (!oc->enabled)
			continue;
		u = &o->outs[o->nouts];
		u->cfg = oc;
		u->ops = ops_of(oc->type);
		u->c = &o->ctab[GC_N + OC_N * o->nouts];
		o->nouts++;
		if (u->ops == NULL)
			return TS_EINVAL;
		for (int k = 0; k < OC_N; k++) {
			u->c[k].name = xasprintf("outputs.%s.%s", oc->name,
			    oc_names[k]);
			u->c[k].help = oc_help[k];
			if (u->c[k].name == NULL)
				return TS_ENOMEM;
		}
	}
	return 0;
}

int outputs_run(const struct server_config *cfg, volatile sig_atomic_t *stop)
{
	struct outputs o;
	char *dir = NULL, *pidf = NULL;
	uint64_t last_beat = 0;
	int rc;

	memset(&o, 0, sizeof(o));
	if ((rc = outputs_setup(&o, cfg)) != 0) {
		log_err("outputs: set-up: %s", ts_strerror(rc));
		goto out;
	}
	dir = datadir_path(cfg->data_dir, DD_OUTPUTS);
	pidf = datadir_pidfile(cfg->data_dir, "outputs");
	if (dir == NULL || pidf == NULL) {
		rc = TS_ENOMEM;
		goto out;
	}
	if ((rc = oenv_open(&o, dir)) != 0)
		goto out;
	{
		char *rundir = datadir_path(cfg->data_dir, DD_RUN);
		if (rundir != NULL)
			(void)mkdir_p(rundir, 0700);
		free(rundir);
	}
	if (pidfile_write(pidf) != 0)
		log_warn("outputs: cannot write %s", pidf);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_err("outputs: libcurl initialisation failed");
		rc = TS_EIO;
		goto out;
	}
	o.ctab[GC_READERS].value += o.readers_at_open;
	o.ctab[GC_PID].value = (uint64_t)getpid();
	o.ctab[GC_STARTED].value = now_us();
	log_info("outputs: started with %zu output%s", o.nouts,
	    o.nouts == 1 ? "" : "s");
	while (!*stop) {
		size_t moved = 0;

		state_look(&o);
		for (size_t i = 0; i < o.nouts && !*stop; i++)
			moved += out_turn(&o, &o.outs[i]);
		if (o.dirty || mono_us() - last_beat >= OUTPUTS_HEARTBEAT_US) {
			if (mono_us() - last_beat >= OUTPUTS_HEARTBEAT_US) {
				(void)stats_readers_reclaim(o.oenv, "outputs",
				    &o.ctab[GC_READERS].value);
				if (o.st != NULL)
					(void)state_readers_reclaim(o.st,
					    &o.ctab[GC_READERS].value);
			}
			o.ctab[GC_HEARTBEAT].value = now_us();
			if (oenv_commit(&o) == 0)
				last_beat = mono_us();
		}
		if (moved == 0)
			sleep_us(OUTPUTS_IDLE_US);
	}
	o.ctab[GC_HEARTBEAT].value = now_us();
	(void)oenv_commit(&o);
	log_info("outputs: stopped");
	curl_global_cleanup();
	rc = 0;
out:
	outputs_free(&o);
	if (pidf != NULL)
		(void)unlink(pidf);
	free(pidf);
	free(dir);
	return rc;
}

/*
 * Read-only view of the outputs' counters for `tocsin status`: open
 * DATADIR/outputs (dir) with a read-only transaction and call cb for every
 * stored counter.  TS_ENOTFOUND when the outputs process never ran.
 */
int outputs_stats_foreach(const char *dir,
    int (*cb)(const char *name, uint64_t value, void *arg), void *arg)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	struct stat sb;
	char *data;
	int rc;

	if ((data = xasprintf("%s/data.mdb", dir)) == NULL)
		return TS_ENOMEM;
	rc = stat(data, &sb);
	free(data);
	if (rc != 0)
		return TS_ENOTFOUND;
	if (mdb_env_create(&env) != 0)
		return TS_ENOMEM;
	mdb_env_set_maxdbs(env, OUTPUTS_MAX_DBS);
	if (mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0600) != 0) {
		rc = TS_EDB;
		goto out;
	}
	(void)stats_readers_reclaim(env, "outputs", NULL);
	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0) {
		rc = TS_EDB;
		goto out;
	}
	if ((rc = mdb_dbi_open(txn, "stats", 0, &dbi)) != 0) {
		rc = rc == MDB_NOTFOUND ? TS_ENOTFOUND : TS_EDB;
		goto out;
	}
	rc = stats_foreach(txn, dbi, cb, arg);
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}
