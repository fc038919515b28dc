/*
 * correlate.c - correlation windows: the engine's evaluation of the rules
 * compiled by rules/correlate.c, on event time, with its state in the
 * state's "corr_windows" / "corr_age" dbs (state.h), written in the batch's
 * transaction so that a crash or a reload loses nothing and counts nothing
 * twice.
 *
 * A window is kept per (rule, drill, group); it holds the matching events
 * of the last timeframe (time, alert id, sequence step, distinct value),
 * sorted by event time.  A rule fires when some event of the window (the
 * anchor) has, within [anchor - timeframe, anchor]:
 *   threshold  at least count events
 *   distinct   at least count distinct values of the distinct: field
 *   sequence   each step's count of events, the steps in time order, the
 *              anchor being an event of the last step
 * On firing the window is emptied and the group is quiet for suppress
 * (event time): its matches are counted as suppressed and reported with
 * the next alert.  An event older than the window's newest minus timeframe
 * cannot share a window with it: it is counted as late and ignored.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "engine/engine_int.h"

/* Window value header: newest, fired+1 (0: never), suppressed, expiry, n. */
#define WIN_HDR		36
#define ENT_HDR		19	/* time, alert, step, vlen */
/* Longest distinct value kept (longer ones are cut; still distinct). */
#define MAX_CORR_VALUE	256
/* Key of the window count in "corr_windows" (no rule id starts with 0). */
static const char win_count_key[] = "\0count";
#define WIN_COUNT_KEYLEN	6
/* Keys collected per expiry pass. */
#define CORR_EXPIRE_BATCH	256

struct entry {
	uint64_t	 time_us;
	uint64_t	 alert;
	uint8_t		 step;
	uint16_t	 vlen;
	char		 val[MAX_CORR_VALUE];
};

struct window {
	uint64_t	 newest, fired1, suppressed, expiry;
	struct entry	*e;
	size_t		 n;
};

/* Decode a stored window.  TS_EINVAL on a malformed value. */
static int
win_decode(const unsigned char *p, size_t len, struct window *w)
{
	size_t off = WIN_HDR, n;

	if (len < WIN_HDR)
		return TS_EINVAL;
	w->newest = get_be64(p);
	w->fired1 = get_be64(p + 8);
	w->suppressed = get_be64(p + 16);
	w->expiry = get_be64(p + 24);
	n = get_be32(p + 32);
	if (n > MAX_CORR_ENTRIES)
		return TS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct entry *e = &w->e[w->n];

		if (len - off < ENT_HDR)
			return TS_EINVAL;
		e->time_us = get_be64(p + off);
		e->alert = get_be64(p + off + 8);
		e->step = p[off + 16];
		e->vlen = get_be16(p + off + 17);
		off += ENT_HDR;
		if (e->vlen > MAX_CORR_VALUE || len - off < e->vlen)
			return TS_EINVAL;
		memcpy(e->val, p + off, e->vlen);
		off += e->vlen;
		w->n++;
	}
	return 0;
}

/* Encode w into buf (large enough: win_size). */
static size_t
win_encode(const struct window *w, unsigned char *buf)
{
	size_t off = WIN_HDR;

	put_be64(buf, w->newest);
	put_be64(buf + 8, w->fired1);
	put_be64(buf + 16, w->suppressed);
	put_be64(buf + 24, w->expiry);
	put_be32(buf + 32, (uint32_t)w->n);
	for (size_t i = 0; i < w->n; i++) {
		const struct entry *e = &w->e[i];

		put_be64(buf + off, e->time_us);
		put_be64(buf + off + 8, e->alert);
		buf[off + 16] = e->step;
		put_be16(buf + off + 17, e->vlen);
		memcpy(buf + off + ENT_HDR, e->val, e->vlen);
		off += ENT_HDR + e->vlen;
	}
	return off;
}

/* FNV-1a 64 of a byte string. */
static uint64_t
fnv64(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Append n bytes to the key; past the limit, remember to hash. */
static void
key_add(unsigned char *key, size_t *klen, size_t cap, const void *p,
    size_t n, int *cut)
{
	if (*klen + n > cap) {
		n = cap > *klen ? cap - *klen : 0;
		*cut = 1;
	}
	memcpy(key + *klen, p, n);
	*klen += n;
}

/* Change the window count (db "corr_windows", key "\0count") by delta. */
static int
win_count_add(state_txn_t *t, int64_t delta)
{
	const void	*v;
	size_t		 vlen;
	uint64_t	 c = 0;
	unsigned char	 buf[8];
	int		 ret;

	ret = state_txn_get(t, STATE_DB_CORR, win_count_key, WIN_COUNT_KEYLEN,
	    &v, &vlen);
	if (ret == 0 && vlen == 8)
		c = get_be64(v);
	else if (ret != 0 && ret != TS_ENOTFOUND)
		return ret;
	if (delta < 0 && c < (uint64_t)-delta)
		c = 0;
	else
		c += (uint64_t)delta;
	put_be64(buf, c);
	return state_txn_put(t, STATE_DB_CORR, win_count_key, WIN_COUNT_KEYLEN,
	    buf, 8);
}

static int
win_count_get(state_txn_t *t, uint64_t *c)
{
	const void	*v;
	size_t		 vlen;
	int		 ret;

	*c = 0;
	ret = state_txn_get(t, STATE_DB_CORR, win_count_key, WIN_COUNT_KEYLEN,
	    &v, &vlen);
	if (ret == 0 && vlen == 8)
		*c = get_be64(v);
	return ret == TS_ENOTFOUND ? 0 : ret;
}

/* Age key: u64 expiry, window key. */
static size_t
age_key(unsigned char *buf, uint64_t expiry, const unsigned char *wk,
    size_t wklen)
{
	put_be64(buf, expiry);
	memcpy(buf + 8, wk, wklen);
	return 8 + wklen;
}

/* Insert e keeping w sorted by time (after equal times: arrival order);
 * returns its index. */
static size_t
win_insert(struct window *w, const struct entry *e)
{
	size_t i = w->n;

	while (i > 0 && w->e[i - 1].time_us > e->time_us)
		i--;
	memmove(&w->e[i + 1], &w->e[i], (w->n - i) * sizeof(*w->e));
	w->e[i] = *e;
	w->n++;
	return i;
}

/* Is value v (len n) among the entries [lo, hi) before index k? */
static int
seen_before(const struct window *w, size_t lo, size_t k)
{
	for (size_t i = lo; i < k; i++)
		if (w->e[i].vlen == w->e[k].vlen &&
		    memcmp(w->e[i].val, w->e[k].val, w->e[k].vlen) == 0)
			return 1;
	return 0;
}

/*
 * Does the window fire with anchor a?  [*lo, a] gets the entries of the
 * window; *count what it counted.
 */
static int
win_fires_at(const struct corr_rule *r, const struct window *w, size_t a,
    size_t *lo, uint32_t *count)
{
	uint64_t	 from = w->e[a].time_us >= r->timeframe_us ?
	    w->e[a].time_us - r->timeframe_us : 0;
	size_t		 i = a;
	uint32_t	 c = 0, need[MAX_CORR_STEPS];
	size_t		 step = 0;

	while (i > 0 && w->e[i - 1].time_us >= from)
		i--;
	*lo = i;
	switch (r->type) {
	case CORR_THRESHOLD:
		c = (uint32_t)(a - i + 1);
		break;
	case CORR_DISTINCT:
		/* enough distinct values is enough: stop counting there */
		for (size_t k = i; k <= a && c < r->count; k++)
			if (!seen_before(w, i, k))
				c++;
		break;
	case CORR_SEQUENCE:
		if (w->e[a].step != r->nsteps - 1)
			return 0;
		for (size_t s = 0; s < r->nsteps; s++)
			need[s] = r->steps[s].count;
		for (size_t k = i; k <= a && step < r->nsteps; k++) {
			if (w->e[k].step != step)
				continue;
			c++;
			if (--need[step] == 0)
				step++;
		}
		*count = c;
		return step == r->nsteps;
	case CORR_ALL:
		/* every step its count of times within the window, in any
		 * order */
		for (size_t s = 0; s < r->nsteps; s++)
			need[s] = r->steps[s].count;
		for (size_t k = i; k <= a; k++) {
			if (w->e[k].step < r->nsteps &&
			    need[w->e[k].step] > 0) {
				need[w->e[k].step]--;
				c++;
			}
		}
		*count = c;
		for (size_t s = 0; s < r->nsteps; s++)
			if (need[s] != 0)
				return 0;
		return 1;
	}
	*count = c;
	return c >= r->count;
}

/* Run rule r on an event matching steps (bitmask) of its group. */
static int
corr_rule_event(state_txn_t *t, const struct corr_rule *r,
    const struct rules_result *res, uint64_t time_us, const char *drill,
    uint64_t event_alert, uint64_t wall_us, unsigned stepmask,
    struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg)
{
	unsigned char	 key[STATE_MAX_KV_KEY], akey[STATE_MAX_KV_KEY + 8];
	unsigned char	*buf = NULL;
	char		*gvals[MAX_CORR_SAME] = { 0 };
	struct window	 w;
	struct entry	 ne;
	const struct rules_field *df = NULL;
	const void	*v;
	size_t		 vlen, klen = 0, alen, lo = 0, nbuf;
	uint64_t	 ids[MAX_CORR_ALERT_IDS];
	uint32_t	 count = 0;
	int		 cut = 0, ret, isnew = 0, fired = 0;
	size_t		 first_new = SIZE_MAX, pos;

	memset(&w, 0, sizeof(w));
	/* the window key: rule id, 0, drill, 0, same: values joined by 0x1f */
	key_add(key, &klen, STATE_MAX_KV_KEY - 8, r->id, strlen(r->id) + 1,
	    &cut);
	key_add(key, &klen, STATE_MAX_KV_KEY - 8, drill, strlen(drill) + 1,
	    &cut);
	for (size_t i = 0; i < r->nsame; i++) {
		const struct rules_field *f = rules_result_field(res,
		    r->same[i]);

		if (f == NULL || f->len == 0) {
			cc->no_group++;
			ret = 0;
			goto out;
		}
		if ((gvals[i] = malloc(f->len + 1)) == NULL) {
			ret = TS_ENOMEM;
			goto out;
		}
		memcpy(gvals[i], f->val, f->len);
		gvals[i][f->len] = '\0';
		if (i > 0)
			key_add(key, &klen, STATE_MAX_KV_KEY - 8, "\x1f", 1,
			    &cut);
		key_add(key, &klen, STATE_MAX_KV_KEY - 8, f->val, f->len,
		    &cut);
	}
	if (cut) {
		uint64_t h = fnv64(key, klen);

		klen = STATE_MAX_KV_KEY - 8;
		put_be64(key + klen, h);
		klen += 8;
	}
	if (r->type == CORR_DISTINCT &&
	    ((df = rules_result_field(res, r->distinct)) == NULL ||
	    df->len == 0)) {
		cc->no_group++;
		ret = 0;
		goto out;
	}

	ret = state_txn_get(t, STATE_DB_CORR, key, klen, &v, &vlen);
	if (ret == TS_ENOTFOUND)
		isnew = 1;
	else if (ret != 0)
		goto out;
	{
		/* room for the stored entries plus this event's steps */
		size_t n = 0;

		if (!isnew && vlen >= WIN_HDR)
			n = get_be32((const unsigned char *)v + 32);
		if (n > MAX_CORR_ENTRIES)
			n = MAX_CORR_ENTRIES;
		if ((w.e = calloc(n + MAX_CORR_STEPS + 1,
		    sizeof(*w.e))) == NULL) {
			ret = TS_ENOMEM;
			goto out;
		}
	}
	if (!isnew && win_decode(v, vlen, &w) != 0) {
		memset(w.e, 0, sizeof(*w.e));	/* start it again */
		w.n = w.newest = w.fired1 = w.suppressed = w.expiry = 0;
		log_warn("engine: correlation window of %s malformed; reset",
		    r->id);
	}
	if (!isnew && (ret = state_txn_del(t, STATE_DB_CORR_AGE, akey,
	    age_key(akey, w.expiry, key, klen))) != 0)
		goto out;

	if (w.fired1 != 0 && time_us < w.fired1 - 1 + r->suppress_us) {
		w.suppressed++;
		cc->suppressed++;
	} else if (w.n > 0 && time_us + r->timeframe_us < w.newest) {
		cc->late++;
	} else {
		if (w.fired1 != 0 && time_us >= w.fired1 - 1 + r->suppress_us)
			w.fired1 = 0;	/* quiet time over */
		memset(&ne, 0, sizeof(ne));
		ne.time_us = time_us;
		ne.alert = event_alert;
		if (df != NULL) {
			ne.vlen = (uint16_t)(df->len > MAX_CORR_VALUE ?
			    MAX_CORR_VALUE : df->len);
			memcpy(ne.val, df->val, ne.vlen);
		}
		for (size_t s = 0; s < r->nsteps; s++)
			if (stepmask & (1u << s)) {
				ne.step = (uint8_t)s;
				pos = win_insert(&w, &ne);
				if (pos < first_new)
					first_new = pos;
			}
		if (time_us > w.newest)
			w.newest = time_us;
		/* forget what no longer shares a window with the newest */
		{
			size_t drop = 0;

			while (drop < w.n && w.e[drop].time_us +
			    r->timeframe_us < w.newest)
				drop++;
			if (w.n - drop > MAX_CORR_ENTRIES) {
				cc->dropped += w.n - drop - MAX_CORR_ENTRIES;
				drop = w.n - MAX_CORR_ENTRIES;
			}
			memmove(w.e, w.e + drop, (w.n - drop) * sizeof(*w.e));
			w.n -= drop;
			first_new = first_new > drop ? first_new - drop : 0;
		}
		/* Only windows that end at or after the new entries can
		 * have changed (the others did not fire before), so the
		 * anchors before them need no look: one pass per event
		 * instead of one per entry of the window. */
		for (size_t a = first_new; a < w.n && !fired; a++)
			fired = win_fires_at(r, &w, a, &lo, &count);
		if (fired) {
			struct corr_fire	f;
			size_t			nids = 0;
			size_t			a = 0;

			/* the anchor that fired: recompute lo..a */
			for (a = first_new; a < w.n; a++)
				if (win_fires_at(r, &w, a, &lo, &count))
					break;
			for (size_t k = lo; k <= a && nids < MAX_CORR_ALERT_IDS;
			    k++) {
				size_t d;

				if (w.e[k].alert == 0)
					continue;
				for (d = 0; d < nids; d++)
					if (ids[d] == w.e[k].alert)
						break;
				if (d == nids)
					ids[nids++] = w.e[k].alert;
			}
			memset(&f, 0, sizeof(f));
			f.rule = r;
			f.time_us = w.e[a].time_us > time_us ? w.e[a].time_us :
			    time_us;
			f.count = count;
			f.suppressed = w.suppressed;
			f.group_names = (const char *const *)r->same;
			f.group_vals = (const char *const *)gvals;
			f.ngroup = r->nsame;
			f.alert_ids = ids;
			f.nalert_ids = nids;
			cc->fired++;
			if ((ret = fire(&f, arg)) != 0)
				goto out;
			w.n = 0;
			w.suppressed = 0;
			w.fired1 = time_us + 1;
			if (r->suppress_us == 0)
				w.fired1 = 0;
		}
	}
	w.expiry = wall_us + (r->timeframe_us > r->suppress_us ?
	    r->timeframe_us : r->suppress_us) + CORR_GRACE_US;
	nbuf = WIN_HDR + w.n * (ENT_HDR + MAX_CORR_VALUE);
	if ((buf = malloc(nbuf)) == NULL) {
		ret = TS_ENOMEM;
		goto out;
	}
	nbuf = win_encode(&w, buf);
	alen = age_key(akey, w.expiry, key, klen);
	if ((ret = state_txn_put(t, STATE_DB_CORR, key, klen, buf, nbuf)) != 0 ||
	    (ret = state_txn_put(t, STATE_DB_CORR_AGE, akey, alen, NULL,
	    0)) != 0)
		goto out;
	if (isnew)
		ret = win_count_add(t, 1);
out:
	for (size_t i = 0; i < MAX_CORR_SAME; i++)
		free(gvals[i]);
	free(w.e);
	free(buf);
	return ret;
}

int
corr_eval(state_txn_t *t, const corr_set_t *cs,
    const struct rules_result *res, uint64_t time_us, const char *drill,
    uint64_t event_alert, uint64_t wall_us, struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg)
{
	size_t n = corr_set_count(cs);
	int ret;

	if (drill == NULL)
		drill = "";
	for (size_t i = 0; i < n; i++) {
		const struct corr_rule *r = corr_set_rule(cs, i);
		unsigned mask = 0;

		for (size_t s = 0; s < r->nsteps; s++)
			for (size_t m = 0; m < res->nmatched; m++)
				if (corr_step_matches(&r->steps[s],
				    res->matched[m])) {
					mask |= 1u << s;
					break;
				}
		if (mask == 0)
			continue;
		if ((ret = corr_rule_event(t, r, res, time_us, drill,
		    event_alert, wall_us, mask, cc, fire, arg)) != 0)
			return ret;
	}
	return 0;
}

/* ---- expiry ----------------------------------------------------------------- */

struct keylist {
	unsigned char	*k[CORR_EXPIRE_BATCH];
	size_t		 len[CORR_EXPIRE_BATCH];
	size_t		 n;
	uint64_t	 before;	/* expiry below this */
	uint64_t	 extra;		/* plus this many oldest regardless */
	const char	*drill;		/* drill_clean: match on the key */
};

static int
collect_age(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct keylist *kl = arg;

	(void)v;
	(void)vlen;
	if (klen < 9 || kl->n >= CORR_EXPIRE_BATCH)
		return 1;
	if (get_be64(k) >= kl->before) {
		if (kl->extra == 0)
			return 1;
		kl->extra--;
	}
	if ((kl->k[kl->n] = malloc(klen)) == NULL)
		return TS_ENOMEM;
	memcpy(kl->k[kl->n], k, klen);
	kl->len[kl->n++] = klen;
	return 0;
}

static void
keylist_free(struct keylist *kl)
{
	for (size_t i = 0; i < kl->n; i++)
		free(kl->k[i]);
	kl->n = 0;
}

/* Delete the windows of the age keys in kl (and the age keys). */
static int
delete_aged(state_txn_t *t, struct keylist *kl)
{
	int ret = 0;

	for (size_t i = 0; i < kl->n && ret == 0; i++) {
		if ((ret = state_txn_del(t, STATE_DB_CORR_AGE, kl->k[i],
		    kl->len[i])) == 0 &&
		    (ret = state_txn_del(t, STATE_DB_CORR, kl->k[i] + 8,
		    kl->len[i] - 8)) == 0)
			ret = win_count_add(t, -1);
	}
	return ret;
}

int
corr_expire(state_txn_t *t, uint64_t wall_us, uint64_t max_windows,
    struct corr_counters *cc)
{
	struct keylist	 kl;
	uint64_t	 count;
	int		 ret;

	memset(&kl, 0, sizeof(kl));
	if ((ret = win_count_get(t, &count)) != 0)
		return ret;
	kl.before = wall_us;
	kl.extra = count > max_windows ? count - max_windows : 0;
	if (kl.extra > CORR_EXPIRE_BATCH)
		kl.extra = CORR_EXPIRE_BATCH;
	{
		uint64_t extra0 = kl.extra;

		ret = state_txn_walk(t, STATE_DB_CORR_AGE, NULL, 0, collect_age,
		    &kl);
		if (ret == 0) {
			cc->evicted += extra0 - kl.extra;
			cc->expired += kl.n - (extra0 - kl.extra);
			ret = delete_aged(t, &kl);
		}
	}
	keylist_free(&kl);
	return ret;
}

static int
collect_drill(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct keylist		*kl = arg;
	const unsigned char	*p = k, *z;
	size_t			 dl = strlen(kl->drill);

	(void)v;
	(void)vlen;
	if (kl->n >= CORR_EXPIRE_BATCH)
		return 1;
	if (klen < 10)
		return 0;
	/* age key: expiry, rule id, 0, drill, 0, ... */
	if ((z = memchr(p + 8, 0, klen - 8)) == NULL)
		return 0;
	z++;
	if ((size_t)(p + klen - z) <= dl || memcmp(z, kl->drill, dl) != 0 ||
	    z[dl] != 0)
		return 0;
	if ((kl->k[kl->n] = malloc(klen)) == NULL)
		return TS_ENOMEM;
	memcpy(kl->k[kl->n], k, klen);
	kl->len[kl->n++] = klen;
	return 0;
}

int
corr_drill_clean(state_txn_t *t, const char *drill)
{
	struct keylist	kl;
	int		ret;

	if (drill == NULL || drill[0] == '\0')
		return TS_EINVAL;
	for (;;) {
		memset(&kl, 0, sizeof(kl));
		kl.drill = drill;
		ret = state_txn_walk(t, STATE_DB_CORR_AGE, NULL, 0,
		    collect_drill, &kl);
		if (ret == 0)
			ret = delete_aged(t, &kl);
		if (ret != 0 || kl.n < CORR_EXPIRE_BATCH) {
			keylist_free(&kl);
			return ret;
		}
		keylist_free(&kl);
	}
}
