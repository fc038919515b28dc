/*
 * correlate.c - correlation windows: the engine's evaluation of the rules
 * compiled by rules/correlate.c, on event time, with its state in the
 * state's "corr_windows" / "corr_items" / "corr_age" dbs (state.h), written
 * in the batch's transaction so that a crash or a reload loses nothing and
 * counts nothing twice.
 *
 * A window is kept per (rule, drill, group); it holds the matching events
 * of the last timeframe (time, alert id, sequence step, distinct value),
 * sorted by event time (equal times: arrival order).  A rule fires when
 * some event of the window (the anchor) has, within [anchor - timeframe,
 * anchor]:
 *   threshold  at least count events
 *   distinct   at least count distinct values of the distinct: field
 *   sequence   each step's count of events, the steps in time order, the
 *              anchor being an event of the last step
 *   all        each step's count of events, in any order
 * On firing the window is emptied and the group is quiet for suppress
 * (event time): its matches are counted as suppressed and reported with
 * the next alert.  An event older than the window's newest minus timeframe
 * cannot share a window with it: it is counted as late and ignored.
 *
 * Cost per event does not grow with the window.  The window's header
 * (one value) carries what the decision needs, kept up to date as entries
 * enter and leave: the number of entries, the count per step, the number
 * of distinct values (each value a refcounted item), and for sequences
 * the dynamic programme "latest start of a match of the first j events of
 * the pattern" (one slot per event the pattern needs, shifted by one per
 * entry).  Entries are items of their own, keyed by (window id, time,
 * arrival), so an event adds one item and the oldest leave from the front.
 *
 * Every entry the window holds lies within timeframe of its newest, so the
 * window of an anchor is the prefix of the entries up to it.  An event in
 * time order (the common case) is the last anchor: its window is the whole
 * window, decided from the header.  An event older than the newest (but
 * not late) is inserted in the middle; the counts still say whether any
 * prefix reaches the count (they only grow with the prefix), and only when
 * one does is the window read in order to find the anchor, once, before it
 * is emptied.  A sequence event out of time order rebuilds the programme
 * from the entries (the one case whose cost is the window's, bounded by
 * MAX_CORR_ENTRIES).  Firing reads at most MAX_CORR_ALERT_IDS alert ids
 * and deletes the window's items: each item is written and deleted once.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "engine/engine_int.h"

/* Window header: version, newest, fired+1 (0: never), suppressed, expiry,
 * id, next arrival, oldest entry (time, arrival+1), n, distinct values,
 * sequence slots, count per step; then the slots (time, arrival+1). */
#define WIN_VERSION	2
#define WIN_HDR		(1 + 8 * 6 + 16 + 4 * 3 + 4 * MAX_CORR_STEPS)
#define SEQ_SLOTS	(MAX_CORR_STEPS * MAX_CORR_COUNT)
/* Longest distinct value kept (longer ones are cut; still distinct). */
#define MAX_CORR_VALUE	256
/* Key of the window count in "corr_windows" (no rule id starts with 0). */
static const char win_count_key[] = "\0count";
#define WIN_COUNT_KEYLEN	6
/* Keys collected per expiry pass. */
#define CORR_EXPIRE_BATCH	256
/* Items read per pass when entries leave or a window is emptied. */
#define ITEM_BATCH	64
/* Item keys: window id, kind, then (entry) time, arrival or (value) the
 * value's bytes. */
#define ITEM_ENTRY	'e'
#define ITEM_VALUE	'v'
#define EKEY_LEN	(8 + 1 + 16)
#define VKEY_MAX	(8 + 1 + MAX_CORR_VALUE)

/* A position in the window's order: event time, then arrival + 1 (0: no
 * position). */
struct pos {
	uint64_t	time_us;
	uint64_t	seq1;
};

struct entry {
	uint64_t	 time_us;
	uint64_t	 seq;
	uint64_t	 alert;
	uint8_t		 step;
	uint16_t	 vlen;
	char		 val[MAX_CORR_VALUE];
};

struct window {
	uint64_t	 newest, fired1, suppressed, expiry, id, next_seq;
	struct pos	 oldest;		/* first entry (n > 0) */
	uint32_t	 n, ndistinct, nslots;
	uint32_t	 stepc[MAX_CORR_STEPS];
	struct pos	*slot;			/* nslots + 1; [0] unused */
};

/* The engine evaluates one event at a time: one sequence programme and
 * one encoding buffer serve every window. */
static struct pos	 seq_slots[SEQ_SLOTS + 1];
static unsigned char	 win_buf[WIN_HDR + 16 * SEQ_SLOTS];

static int
pos_cmp(struct pos a, struct pos b)
{
	if (a.time_us != b.time_us)
		return a.time_us < b.time_us ? -1 : 1;
	if (a.seq1 != b.seq1)
		return a.seq1 < b.seq1 ? -1 : 1;
	return 0;
}

/* Slots of r's programme: one per event the sequence needs. */
static uint32_t
rule_slots(const struct corr_rule *r)
{
	uint32_t n = 0;

	if (r->type != CORR_SEQUENCE)
		return 0;
	for (size_t s = 0; s < r->nsteps; s++)
		n += r->steps[s].count;
	return n > SEQ_SLOTS ? SEQ_SLOTS : n;
}

/* Decode a stored window header.  TS_EINVAL on a malformed or older
 * value (the window starts again). */
static int
win_decode(const unsigned char *p, size_t len, struct window *w)
{
	size_t off = 1;

	if (len < WIN_HDR || p[0] != WIN_VERSION)
		return TS_EINVAL;
	w->newest = get_be64(p + off);
	w->fired1 = get_be64(p + off + 8);
	w->suppressed = get_be64(p + off + 16);
	w->expiry = get_be64(p + off + 24);
	w->id = get_be64(p + off + 32);
	w->next_seq = get_be64(p + off + 40);
	off += 48;
	w->oldest.time_us = get_be64(p + off);
	w->oldest.seq1 = get_be64(p + off + 8);
	off += 16;
	w->n = get_be32(p + off);
	w->ndistinct = get_be32(p + off + 4);
	w->nslots = get_be32(p + off + 8);
	off += 12;
	for (size_t s = 0; s < MAX_CORR_STEPS; s++, off += 4)
		w->stepc[s] = get_be32(p + off);
	if (w->n > MAX_CORR_ENTRIES + MAX_CORR_STEPS ||
	    w->nslots > SEQ_SLOTS || len != WIN_HDR + 16 * (size_t)w->nslots)
		return TS_EINVAL;
	for (size_t j = 1; j <= w->nslots; j++, off += 16) {
		w->slot[j].time_us = get_be64(p + off);
		w->slot[j].seq1 = get_be64(p + off + 8);
	}
	return 0;
}

/* Encode w into win_buf; its length. */
static size_t
win_encode(const struct window *w)
{
	unsigned char	*p = win_buf;
	size_t		 off = 1;

	p[0] = WIN_VERSION;
	put_be64(p + off, w->newest);
	put_be64(p + off + 8, w->fired1);
	put_be64(p + off + 16, w->suppressed);
	put_be64(p + off + 24, w->expiry);
	put_be64(p + off + 32, w->id);
	put_be64(p + off + 40, w->next_seq);
	off += 48;
	put_be64(p + off, w->oldest.time_us);
	put_be64(p + off + 8, w->oldest.seq1);
	off += 16;
	put_be32(p + off, w->n);
	put_be32(p + off + 4, w->ndistinct);
	put_be32(p + off + 8, w->nslots);
	off += 12;
	for (size_t s = 0; s < MAX_CORR_STEPS; s++, off += 4)
		put_be32(p + off, w->stepc[s]);
	for (size_t j = 1; j <= w->nslots; j++, off += 16) {
		put_be64(p + off, w->slot[j].time_us);
		put_be64(p + off + 8, w->slot[j].seq1);
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

/* ---- items: entries and distinct values ------------------------------------ */

static size_t
ekey(unsigned char *k, uint64_t id, uint64_t time_us, uint64_t seq)
{
	put_be64(k, id);
	k[8] = ITEM_ENTRY;
	put_be64(k + 9, time_us);
	put_be64(k + 17, seq);
	return EKEY_LEN;
}

static size_t
vkey(unsigned char *k, uint64_t id, const char *val, size_t vlen)
{
	put_be64(k, id);
	k[8] = ITEM_VALUE;
	memcpy(k + 9, val, vlen);
	return 9 + vlen;
}

/* Change the refcount of value e->val by delta; the distinct count
 * follows values that appear and vanish. */
static int
value_ref(state_txn_t *t, struct window *w, const struct entry *e, int delta)
{
	unsigned char	 k[VKEY_MAX], b[4];
	size_t		 klen = vkey(k, w->id, e->val, e->vlen), vlen;
	const void	*v;
	uint32_t	 c = 0;
	int		 ret;

	ret = state_txn_get(t, STATE_DB_CORR_ITEMS, k, klen, &v, &vlen);
	if (ret == 0 && vlen == 4)
		c = get_be32(v);
	else if (ret != 0 && ret != TS_ENOTFOUND)
		return ret;
	if (delta > 0) {
		if (c++ == 0)
			w->ndistinct++;
	} else {
		if (c == 0)
			return 0;
		if (--c == 0) {
			if (w->ndistinct > 0)
				w->ndistinct--;
			return state_txn_del(t, STATE_DB_CORR_ITEMS, k, klen);
		}
	}
	put_be32(b, c);
	return state_txn_put(t, STATE_DB_CORR_ITEMS, k, klen, b, 4);
}

/* Store entry e (its seq set) and count it. */
static int
ent_add(state_txn_t *t, struct window *w, const struct entry *e)
{
	unsigned char	 k[EKEY_LEN], v[11 + MAX_CORR_VALUE];
	struct pos	 p = { e->time_us, e->seq + 1 };
	int		 ret;

	put_be64(v, e->alert);
	v[8] = e->step;
	put_be16(v + 9, e->vlen);
	memcpy(v + 11, e->val, e->vlen);
	if ((ret = state_txn_put(t, STATE_DB_CORR_ITEMS, k,
	    ekey(k, w->id, e->time_us, e->seq), v, 11 + e->vlen)) != 0)
		return ret;
	if (e->vlen > 0 && (ret = value_ref(t, w, e, 1)) != 0)
		return ret;
	if (e->step < MAX_CORR_STEPS)
		w->stepc[e->step]++;
	if (w->n == 0 || pos_cmp(p, w->oldest) < 0)
		w->oldest = p;
	w->n++;
	return 0;
}

/* Delete entry e and uncount it (the caller updates w->oldest). */
static int
ent_del(state_txn_t *t, struct window *w, const struct entry *e)
{
	unsigned char	k[EKEY_LEN];
	int		ret;

	if ((ret = state_txn_del(t, STATE_DB_CORR_ITEMS, k,
	    ekey(k, w->id, e->time_us, e->seq))) != 0)
		return ret;
	if (e->vlen > 0 && (ret = value_ref(t, w, e, -1)) != 0)
		return ret;
	if (e->step < MAX_CORR_STEPS && w->stepc[e->step] > 0)
		w->stepc[e->step]--;
	if (w->n > 0)
		w->n--;
	return 0;
}

/* Walk the entries of window id in order: cb per entry (0 on, 1 stop). */
struct ent_walk {
	uint64_t	  id;
	int		(*cb)(const struct entry *e, void *arg);
	void		 *arg;
};

static int
ent_walk_cb(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct ent_walk		*ew = arg;
	const unsigned char	*kp = k, *vp = v;
	struct entry		 e;

	if (klen != EKEY_LEN || get_be64(kp) != ew->id || kp[8] != ITEM_ENTRY)
		return 1;
	if (vlen < 11)
		return TS_EINVAL;
	e.time_us = get_be64(kp + 9);
	e.seq = get_be64(kp + 17);
	e.alert = get_be64(vp);
	e.step = vp[8];
	e.vlen = get_be16(vp + 9);
	if (e.vlen > MAX_CORR_VALUE || vlen != 11 + (size_t)e.vlen)
		return TS_EINVAL;
	memcpy(e.val, vp + 11, e.vlen);
	return ew->cb(&e, ew->arg);
}

static int
ent_walk(state_txn_t *t, uint64_t id, int (*cb)(const struct entry *e,
    void *arg), void *arg)
{
	struct ent_walk	ew = { id, cb, arg };
	unsigned char	from[9];

	put_be64(from, id);
	from[8] = ITEM_ENTRY;
	return state_txn_walk(t, STATE_DB_CORR_ITEMS, from, sizeof(from),
	    ent_walk_cb, &ew);
}

/* Entries leaving the front: those older than newest - timeframe, then
 * while more than keep remain the oldest (counted as dropped). */
struct drop {
	const struct corr_rule	*r;
	const struct window	*w;
	uint32_t		 keep;
	struct entry		 e[ITEM_BATCH];
	size_t			 n;
	size_t			 over;		/* of them: for room */
	struct pos		 next;		/* first entry kept */
};

static int
drop_cb(const struct entry *e, void *arg)
{
	struct drop *d = arg;

	if (d->n >= ITEM_BATCH)
		return 1;
	if (e->time_us + d->r->timeframe_us < d->w->newest)
		;
	else if (d->w->n - d->n > d->keep)
		d->over++;
	else {
		d->next.time_us = e->time_us;
		d->next.seq1 = e->seq + 1;
		return 1;
	}
	d->e[d->n++] = *e;
	return 0;
}

static int
win_drop(state_txn_t *t, const struct corr_rule *r, struct window *w,
    uint32_t keep, struct corr_counters *cc)
{
	struct drop	*d;
	int		 ret = 0;

	while (w->n > 0 && (w->oldest.time_us + r->timeframe_us < w->newest ||
	    w->n > keep)) {
		if ((d = calloc(1, sizeof(*d))) == NULL)
			return TS_ENOMEM;
		d->r = r;
		d->w = w;
		d->keep = keep;
		if ((ret = ent_walk(t, w->id, drop_cb, d)) < 0)
			goto out;
		ret = 0;
		if (d->n == 0 && d->next.seq1 == 0) {
			/* the header counts entries the items lack */
			log_warn("engine: correlation window of %s lost "
			    "entries; recounted", r->id);
			w->n = 0;
			goto out;
		}
		for (size_t i = 0; i < d->n && ret == 0; i++)
			ret = ent_del(t, w, &d->e[i]);
		cc->dropped += d->over;
		if (d->next.seq1 != 0)
			w->oldest = d->next;
out:
		free(d);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* Delete every item of window id. */
struct item_keys {
	uint64_t	id;
	unsigned char	k[ITEM_BATCH][VKEY_MAX];
	size_t		len[ITEM_BATCH];
	size_t		n;
};

static int
item_keys_cb(const void *k, size_t klen, const void *v, size_t vlen,
    void *arg)
{
	struct item_keys *ik = arg;

	(void)v;
	(void)vlen;
	if (klen < 9 || klen > VKEY_MAX || get_be64(k) != ik->id ||
	    ik->n >= ITEM_BATCH)
		return 1;
	memcpy(ik->k[ik->n], k, klen);
	ik->len[ik->n++] = klen;
	return 0;
}

static int
items_clear(state_txn_t *t, uint64_t id)
{
	struct item_keys	*ik;
	unsigned char		 from[8];
	int			 ret;

	if ((ik = malloc(sizeof(*ik))) == NULL)
		return TS_ENOMEM;
	ik->id = id;
	put_be64(from, id);
	do {
		ik->n = 0;
		if ((ret = state_txn_walk(t, STATE_DB_CORR_ITEMS, from,
		    sizeof(from), item_keys_cb, ik)) < 0)
			break;
		ret = 0;
		for (size_t i = 0; i < ik->n && ret == 0; i++)
			ret = state_txn_del(t, STATE_DB_CORR_ITEMS, ik->k[i],
			    ik->len[i]);
	} while (ret == 0 && ik->n == ITEM_BATCH);
	free(ik);
	return ret;
}

/* Empty w (fired, or malformed). */
static int
win_empty(state_txn_t *t, struct window *w)
{
	int ret = items_clear(t, w->id);

	w->n = w->ndistinct = 0;
	memset(w->stepc, 0, sizeof(w->stepc));
	memset(&w->oldest, 0, sizeof(w->oldest));
	for (size_t j = 0; j <= w->nslots; j++)
		memset(&w->slot[j], 0, sizeof(w->slot[j]));
	return ret;
}

/* ---- deciding -------------------------------------------------------------- */

/* Token offset of step s in the sequence programme. */
static uint32_t
seq_off(const struct corr_rule *r, size_t s)
{
	uint32_t off = 0;

	for (size_t i = 0; i < s; i++)
		off += r->steps[i].count;
	return off;
}

/*
 * One entry of step s at position p enters the programme: slot j holds
 * the latest start of a match of the pattern's first j events up to here;
 * an entry of step s extends the matches of the step's slots by one (the
 * slots are non-increasing, so this is a shift).
 */
static void
seq_push(const struct corr_rule *r, struct window *w, unsigned step,
    struct pos p)
{
	uint32_t	off, c;
	struct pos	in;

	if (step >= r->nsteps || w->nslots == 0)
		return;
	off = seq_off(r, step);
	c = r->steps[step].count;
	if (off + c > w->nslots)
		return;
	in = step == 0 ? p : w->slot[off];
	if (in.seq1 == 0)
		return;
	memmove(&w->slot[off + 2], &w->slot[off + 1],
	    (c - 1) * sizeof(w->slot[0]));
	w->slot[off + 1] = in;
}

/* Is the whole pattern matched within the entries held? */
static int
seq_done(const struct window *w)
{
	return w->nslots > 0 && w->slot[w->nslots].seq1 != 0 && w->n > 0 &&
	    pos_cmp(w->slot[w->nslots], w->oldest) >= 0;
}

/* Do the counts of the whole window reach the rule's (threshold,
 * distinct, all)?  *count: what the anchor's loop would count. */
static int
counts_fire(const struct corr_rule *r, uint32_t n, uint32_t ndistinct,
    const uint32_t *stepc, uint32_t *count)
{
	uint32_t c = 0;
	int all = 1;

	switch (r->type) {
	case CORR_THRESHOLD:
		*count = n;
		return n >= r->count;
	case CORR_DISTINCT:
		*count = ndistinct < r->count ? ndistinct : r->count;
		return ndistinct >= r->count;
	case CORR_ALL:
		for (size_t s = 0; s < r->nsteps; s++) {
			uint32_t need = r->steps[s].count;

			c += stepc[s] < need ? stepc[s] : need;
			if (stepc[s] < need)
				all = 0;
		}
		*count = c;
		return all;
	case CORR_SEQUENCE:
		break;
	}
	*count = 0;
	return 0;
}

/*
 * Reading the window in order to the anchor: the alert ids it lists (the
 * first MAX_CORR_ALERT_IDS), and for an event out of time order the
 * prefix counts (or the rebuilt sequence programme) to find the first
 * anchor at or after the new entries whose window fires.
 */
struct scan {
	const struct corr_rule	*r;
	struct window		*w;
	int			 find;		/* look for the anchor */
	uint64_t		 first_new;	/* seq of the event's first */
	uint64_t		 stop_seq1;	/* find == 0: the anchor */
	int			 past_new;
	/* prefix counts */
	uint32_t		 n, stepc[MAX_CORR_STEPS];
	uint32_t		 ndistinct;
	uint64_t		*vh;		/* distinct values: hashes */
	char			(*vv)[MAX_CORR_VALUE];
	uint16_t		*vl;
	/* result */
	int			 fired;
	uint32_t		 count;
	uint64_t		 anchor_time;
	uint64_t		 ids[MAX_CORR_ALERT_IDS];
	size_t			 nids;
};

static void
scan_id(struct scan *sc, uint64_t alert)
{
	size_t d;

	if (alert == 0 || sc->nids >= MAX_CORR_ALERT_IDS)
		return;
	for (d = 0; d < sc->nids; d++)
		if (sc->ids[d] == alert)
			return;
	sc->ids[sc->nids++] = alert;
}

static void
scan_value(struct scan *sc, const struct entry *e)
{
	uint64_t h = fnv64((const unsigned char *)e->val, e->vlen);

	if (sc->ndistinct >= sc->r->count)
		return;		/* the anchor's loop stops at count */
	for (uint32_t i = 0; i < sc->ndistinct; i++)
		if (sc->vh[i] == h && sc->vl[i] == e->vlen &&
		    memcmp(sc->vv[i], e->val, e->vlen) == 0)
			return;
	sc->vh[sc->ndistinct] = h;
	sc->vl[sc->ndistinct] = e->vlen;
	memcpy(sc->vv[sc->ndistinct], e->val, e->vlen);
	sc->ndistinct++;
}

static int
scan_cb(const struct entry *e, void *arg)
{
	struct scan		*sc = arg;
	const struct corr_rule	*r = sc->r;
	struct pos		 p = { e->time_us, e->seq + 1 };

	scan_id(sc, e->alert);
	if (!sc->find) {
		if (e->seq + 1 == sc->stop_seq1 ||
		    sc->nids >= MAX_CORR_ALERT_IDS)
			return 1;
		return 0;
	}
	if (e->seq >= sc->first_new)
		sc->past_new = 1;
	sc->n++;
	if (e->step < MAX_CORR_STEPS)
		sc->stepc[e->step]++;
	if (r->type == CORR_DISTINCT)
		scan_value(sc, e);
	if (r->type == CORR_SEQUENCE) {
		seq_push(r, sc->w, e->step, p);
		if (sc->past_new && e->step == r->nsteps - 1 &&
		    sc->w->nslots > 0 && sc->w->slot[sc->w->nslots].seq1 != 0) {
			sc->fired = 1;
			sc->count = r->count;
		}
	} else if (sc->past_new)
		sc->fired = counts_fire(r, sc->n, sc->ndistinct, sc->stepc,
		    &sc->count);
	if (sc->fired) {
		sc->anchor_time = e->time_us;
		return 1;
	}
	return 0;
}

static int
scan_run(state_txn_t *t, struct scan *sc)
{
	int ret;

	if (sc->find && sc->r->type == CORR_DISTINCT) {
		size_t m = sc->r->count + 1;

		sc->vh = calloc(m, sizeof(*sc->vh));
		sc->vl = calloc(m, sizeof(*sc->vl));
		sc->vv = calloc(m, sizeof(*sc->vv));
		if (sc->vh == NULL || sc->vl == NULL || sc->vv == NULL) {
			ret = TS_ENOMEM;
			goto out;
		}
	}
	if (sc->find && sc->r->type == CORR_SEQUENCE)
		for (size_t j = 0; j <= sc->w->nslots; j++)
			memset(&sc->w->slot[j], 0, sizeof(sc->w->slot[j]));
	ret = ent_walk(t, sc->w->id, scan_cb, sc);
	if (ret > 0)
		ret = 0;
out:
	free(sc->vh);
	free(sc->vl);
	free(sc->vv);
	sc->vh = NULL;
	sc->vl = NULL;
	sc->vv = NULL;
	return ret;
}

/* ---- one event ------------------------------------------------------------- */

/* Build the window key of r for res in key; *klen.  0, or 1 when the
 * event lacks a same: field (counted). */
static int
win_key(const struct corr_rule *r, const struct rules_result *res,
    const char *drill, unsigned char *key, size_t *klen,
    const struct rules_field **gf)
{
	int cut = 0;

	*klen = 0;
	key_add(key, klen, STATE_MAX_KV_KEY - 8, r->id, strlen(r->id) + 1,
	    &cut);
	key_add(key, klen, STATE_MAX_KV_KEY - 8, drill, strlen(drill) + 1,
	    &cut);
	for (size_t i = 0; i < r->nsame; i++) {
		const struct rules_field *f = rules_result_field(res,
		    r->same[i]);

		if (f == NULL || f->len == 0)
			return 1;
		gf[i] = f;
		if (i > 0)
			key_add(key, klen, STATE_MAX_KV_KEY - 8, "\x1f", 1,
			    &cut);
		key_add(key, klen, STATE_MAX_KV_KEY - 8, f->val, f->len, &cut);
	}
	if (cut) {
		uint64_t h = fnv64(key, *klen);

		*klen = STATE_MAX_KV_KEY - 8;
		put_be64(key + *klen, h);
		*klen += 8;
	}
	return 0;
}

/* Raise the alert of w (anchor found by sc), then empty w. */
static int
win_fire(state_txn_t *t, const struct corr_rule *r, struct window *w,
    const struct rules_field *const *gf, struct scan *sc, uint64_t time_us,
    struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg)
{
	char		*gvals[MAX_CORR_SAME] = { 0 };
	struct corr_fire f;
	int		 ret = 0;

	for (size_t i = 0; i < r->nsame; i++) {
		if ((gvals[i] = malloc(gf[i]->len + 1)) == NULL) {
			ret = TS_ENOMEM;
			goto out;
		}
		memcpy(gvals[i], gf[i]->val, gf[i]->len);
		gvals[i][gf[i]->len] = '\0';
	}
	memset(&f, 0, sizeof(f));
	f.rule = r;
	f.time_us = sc->anchor_time > time_us ? sc->anchor_time : time_us;
	f.count = sc->count;
	f.suppressed = w->suppressed;
	f.group_names = (const char *const *)r->same;
	f.group_vals = (const char *const *)gvals;
	f.ngroup = r->nsame;
	f.alert_ids = sc->ids;
	f.nalert_ids = sc->nids;
	cc->fired++;
	if ((ret = fire(&f, arg)) != 0)
		goto out;
	ret = win_empty(t, w);
	w->suppressed = 0;
	w->fired1 = r->suppress_us == 0 ? 0 : time_us + 1;
out:
	for (size_t i = 0; i < MAX_CORR_SAME; i++)
		free(gvals[i]);
	return ret;
}

/* Add the event's entries (one per step of stepmask) to w and decide. */
static int
win_event(state_txn_t *t, const struct corr_rule *r, struct window *w,
    const struct rules_field *const *gf, const struct rules_field *df,
    uint64_t time_us, uint64_t event_alert, unsigned stepmask,
    struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg)
{
	struct entry	 ne;
	struct scan	 sc;
	uint32_t	 k = 0, count;
	int		 inorder = time_us >= w->newest, ret;

	if (w->fired1 != 0 && time_us >= w->fired1 - 1 + r->suppress_us)
		w->fired1 = 0;	/* quiet time over */
	memset(&ne, 0, sizeof(ne));
	ne.time_us = time_us;
	ne.alert = event_alert;
	if (df != NULL) {
		ne.vlen = (uint16_t)(df->len > MAX_CORR_VALUE ?
		    MAX_CORR_VALUE : df->len);
		memcpy(ne.val, df->val, ne.vlen);
	}
	for (size_t s = 0; s < r->nsteps; s++)
		if (stepmask & (1u << s))
			k++;
	memset(&sc, 0, sizeof(sc));
	sc.r = r;
	sc.w = w;
	sc.first_new = w->next_seq;
	if (time_us > w->newest)
		w->newest = time_us;

	if (inorder) {
		/* the new entries go last: make room, then each is the
		 * anchor of the whole window */
		if ((ret = win_drop(t, r, w, MAX_CORR_ENTRIES - k, cc)) != 0)
			return ret;
		for (size_t s = 0; s < r->nsteps; s++) {
			int fires;

			if (!(stepmask & (1u << s)))
				continue;
			ne.step = (uint8_t)s;
			ne.seq = w->next_seq++;
			if ((ret = ent_add(t, w, &ne)) != 0)
				return ret;
			if (r->type == CORR_SEQUENCE) {
				struct pos p = { ne.time_us, ne.seq + 1 };

				seq_push(r, w, ne.step, p);
				fires = s == r->nsteps - 1 && seq_done(w);
				count = r->count;
			} else
				fires = counts_fire(r, w->n, w->ndistinct,
				    w->stepc, &count);
			if (fires) {
				sc.stop_seq1 = ne.seq + 1;
				sc.count = count;
				sc.anchor_time = ne.time_us;
				if ((ret = scan_run(t, &sc)) != 0)
					return ret;
				return win_fire(t, r, w, gf, &sc, time_us, cc,
				    fire, arg);
			}
		}
		return 0;
	}

	/* out of time order: into the middle */
	for (size_t s = 0; s < r->nsteps; s++) {
		if (!(stepmask & (1u << s)))
			continue;
		ne.step = (uint8_t)s;
		ne.seq = w->next_seq++;
		if ((ret = ent_add(t, w, &ne)) != 0)
			return ret;
	}
	if ((ret = win_drop(t, r, w, MAX_CORR_ENTRIES, cc)) != 0)
		return ret;
	if (r->type != CORR_SEQUENCE &&
	    !counts_fire(r, w->n, w->ndistinct, w->stepc, &count))
		return 0;	/* no prefix can reach what the whole lacks */
	sc.find = 1;
	if ((ret = scan_run(t, &sc)) != 0)
		return ret;
	if (!sc.fired)
		return 0;
	return win_fire(t, r, w, gf, &sc, time_us, cc, fire, arg);
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
	const struct rules_field *gf[MAX_CORR_SAME] = { 0 };
	const struct rules_field *df = NULL;
	struct window	 w;
	const void	*v;
	size_t		 vlen, klen, nbuf;
	uint64_t	 expiry, span;
	int		 ret, isnew = 0;

	if (win_key(r, res, drill, key, &klen, gf) != 0) {
		cc->no_group++;
		return 0;
	}
	if (r->type == CORR_DISTINCT &&
	    ((df = rules_result_field(res, r->distinct)) == NULL ||
	    df->len == 0)) {
		cc->no_group++;
		return 0;
	}

	memset(&w, 0, sizeof(w));
	w.slot = seq_slots;
	ret = state_txn_get(t, STATE_DB_CORR, key, klen, &v, &vlen);
	if (ret == TS_ENOTFOUND)
		isnew = 1;
	else if (ret != 0)
		return ret;
	if (!isnew && win_decode(v, vlen, &w) != 0) {
		const unsigned char *p = v;

		/* an older engine's or a damaged window: start it again */
		if (vlen >= 36 && p[0] == 0 && (ret = state_txn_del(t,
		    STATE_DB_CORR_AGE, akey, age_key(akey, get_be64(p + 24),
		    key, klen))) != 0)
			return ret;
		log_warn("engine: correlation window of %s malformed or "
		    "older; started again", r->id);
		memset(&w, 0, sizeof(w));
		w.slot = seq_slots;
		if ((ret = state_txn_next_id(t, "next_corr_window", &w.id)) != 0)
			return ret;
	} else if (isnew) {
		if ((ret = state_txn_next_id(t, "next_corr_window", &w.id)) != 0)
			return ret;
	}
	if (w.nslots != rule_slots(r)) {
		/* a new window, or the rule's steps changed: (re)build the
		 * programme from the entries */
		struct scan sc;

		w.nslots = rule_slots(r);
		memset(w.slot, 0, (w.nslots + 1) * sizeof(w.slot[0]));
		if (w.n > 0 && w.nslots > 0) {
			memset(&sc, 0, sizeof(sc));
			sc.r = r;
			sc.w = &w;
			sc.find = 1;
			sc.first_new = UINT64_MAX;
			if ((ret = scan_run(t, &sc)) != 0)
				return ret;
		}
	}

	if (w.fired1 != 0 && time_us < w.fired1 - 1 + r->suppress_us) {
		w.suppressed++;
		cc->suppressed++;
	} else if (w.n > 0 && time_us + r->timeframe_us < w.newest) {
		cc->late++;
	} else if ((ret = win_event(t, r, &w, gf, df, time_us, event_alert,
	    stepmask, cc, fire, arg)) != 0)
		return ret;

	/* the expiry moves by whole seconds: the age key is rewritten at
	 * most once a second per window */
	span = r->timeframe_us > r->suppress_us ? r->timeframe_us :
	    r->suppress_us;
	expiry = wall_us + span + CORR_GRACE_US;
	expiry += 1000000 - expiry % 1000000;
	if (!isnew && expiry != w.expiry && w.expiry != 0 &&
	    (ret = state_txn_del(t, STATE_DB_CORR_AGE, akey,
	    age_key(akey, w.expiry, key, klen))) != 0)
		return ret;
	if (expiry != w.expiry && (ret = state_txn_put(t, STATE_DB_CORR_AGE,
	    akey, age_key(akey, expiry, key, klen), NULL, 0)) != 0)
		return ret;
	w.expiry = expiry;
	nbuf = win_encode(&w);
	if ((ret = state_txn_put(t, STATE_DB_CORR, key, klen, win_buf,
	    nbuf)) != 0)
		return ret;
	if (isnew)
		ret = win_count_add(t, 1);
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

/* Delete the window of key wk with its items. */
static int
win_destroy(state_txn_t *t, const unsigned char *wk, size_t wklen)
{
	const void		*v;
	const unsigned char	*p;
	size_t			 vlen;
	int			 ret;

	ret = state_txn_get(t, STATE_DB_CORR, wk, wklen, &v, &vlen);
	if (ret == TS_ENOTFOUND)
		return 0;
	if (ret != 0)
		return ret;
	p = v;
	if (vlen >= WIN_HDR && p[0] == WIN_VERSION &&
	    (ret = items_clear(t, get_be64(p + 1 + 32))) != 0)
		return ret;
	if ((ret = state_txn_del(t, STATE_DB_CORR, wk, wklen)) != 0)
		return ret;
	return win_count_add(t, -1);
}

/* Delete the windows of the age keys in kl (and the age keys). */
static int
delete_aged(state_txn_t *t, struct keylist *kl)
{
	int ret = 0;

	for (size_t i = 0; i < kl->n && ret == 0; i++) {
		if ((ret = state_txn_del(t, STATE_DB_CORR_AGE, kl->k[i],
		    kl->len[i])) == 0)
			ret = win_destroy(t, kl->k[i] + 8, kl->len[i] - 8);
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
