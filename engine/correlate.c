/*
 * correlate.c - correlation windows: the engine's evaluation of the rules
 * compiled by rules/correlate.c, on event time, with its state in the
 * state's "corr_windows" / "corr_age" dbs (state.h), written in the
 * batch's transaction so that a crash or a reload loses nothing and counts
 * nothing twice.
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
 * Cost per event does not grow with the window.  A batch reads a window
 * from the state once, when an event first needs it, and keeps it in
 * memory until the batch's commit writes it back once (state_txn_hook):
 * an attack that sends 200,000 events to one window costs one read and
 * one write of it per batch, not per event.  In memory the window carries
 * what the decision needs, kept up to date as entries enter and leave:
 * the entries in order (the oldest leave from the front), the count per
 * step, the distinct values with a reference count each (a hash table),
 * and for sequences the dynamic programme "latest start of a match of the
 * first j events of the pattern" (one slot per event the pattern needs,
 * shifted by one per entry).
 *
 * Every entry the window holds lies within timeframe of its newest, so the
 * window of an anchor is the prefix of the entries up to it.  An event in
 * time order (the common case) is the last anchor: its window is the whole
 * window, decided from the counts.  An event older than the newest (but
 * not late) is inserted in the middle; the counts still say whether any
 * prefix reaches the count (they only grow with the prefix), and only when
 * one does is the window read in order to find the anchor, once, before it
 * is emptied.  A sequence event out of time order rebuilds the programme
 * from the entries (the one case whose cost is the window's, bounded by
 * MAX_CORR_ENTRIES).  Firing reads at most MAX_CORR_ALERT_IDS alert ids.
 *
 * Memory: the windows a batch touched, at most MAX_CORR_CACHED; past it
 * they are written into the transaction and forgotten (and read again if
 * needed), so a batch of many groups stays bounded too.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "engine/engine_int.h"

/* Window value (version 3): u8 version, u64 newest event time, u64 fired
 * + 1 (0: never), u64 suppressed, u64 wall expiry, u64 next arrival, u32
 * sequence slots, u32 entries; then the slots {u64 time, u64 arrival + 1};
 * then the entries in order {u64 time, u64 arrival, u64 alert id, u8 step,
 * u16 len, distinct value bytes}. */
#define WIN_VERSION	3
#define WIN_HDR		(1 + 8 * 5 + 4 * 2)
#define ENT_HDR		(8 * 3 + 1 + 2)
/* Version 2 kept its entries as items of "corr_items" under a window id
 * (header offset 33) and its expiry at offset 25: read only to clear. */
#define WIN_V2		2
#define WIN_V2_MIN	(1 + 8 * 6)
#define SEQ_SLOTS	(MAX_CORR_STEPS * MAX_CORR_COUNT)
/* Longest distinct value kept (longer ones are cut; still distinct). */
#define MAX_CORR_VALUE	256
/* Windows a transaction keeps in memory at most (then written out). */
#define MAX_CORR_CACHED	65536
/* Key of the window count in "corr_windows" (no rule id starts with 0). */
static const char win_count_key[] = "\0count";
#define WIN_COUNT_KEYLEN	6
/* Keys collected per expiry pass. */
#define CORR_EXPIRE_BATCH	256
/* Version 2 items deleted per pass. */
#define ITEM_BATCH	64
#define VKEY_MAX	(8 + 1 + MAX_CORR_VALUE)
#define NO_VALUE	UINT32_MAX

/* A position in the window's order: event time, then arrival + 1 (0: no
 * position). */
struct pos {
	uint64_t	time_us;
	uint64_t	seq1;
};

/* One entry; its distinct value is vi of the window's values. */
struct entry {
	uint64_t	 time_us;
	uint64_t	 seq;
	uint64_t	 alert;
	uint32_t	 vi;		/* NO_VALUE: none */
	uint8_t		 step;
};

/* A distinct value and the number of entries holding it. */
struct value {
	uint64_t	 v_hash;
	uint32_t	 v_ref;
	uint16_t	 v_len;
	char		*v_bytes;	/* v_len bytes, malloc'd */
};

struct window {
	uint64_t	 newest, fired1, suppressed, expiry, next_seq;
	struct pos	 oldest;		/* first entry (n > 0) */
	uint32_t	 n, ndistinct, nslots;
	uint32_t	 stepc[MAX_CORR_STEPS];
	struct pos	*slot;			/* nslots + 1; [0] unused */
};

/* A window as a transaction holds it. */
struct cwin {
	unsigned char	*c_key;		/* its key in "corr_windows" */
	size_t		 c_klen;
	uint64_t	 c_hash;
	struct window	 c_w;
	struct entry	*c_ent;		/* [c_lo, c_lo + n): in order */
	size_t		 c_lo, c_cap;
	struct value	*c_val;		/* distinct values seen */
	size_t		 c_nval, c_valcap;
	uint32_t	*c_vix;		/* open addressing: index + 1 */
	size_t		 c_vixcap;
	size_t		 c_slotcap;	/* c_w.slot's size */
	uint64_t	 c_age;		/* expiry of its age key (0: none) */
	int		 c_dirty;	/* to write back */
};

/* The windows of one transaction (the engine evaluates one event at a
 * time, in one transaction at a time). */
static struct {
	state_txn_t	 *t;		/* NULL: empty */
	struct cwin	**tab;		/* open addressing */
	size_t		  cap, n;
	int64_t		  count_delta;	/* windows created - removed */
	unsigned char	 *buf;		/* encoding */
	size_t		  bufcap;
} wc;

static int
pos_cmp(struct pos a, struct pos b)
{
	if (a.time_us != b.time_us)
		return a.time_us < b.time_us ? -1 : 1;
	if (a.seq1 != b.seq1)
		return a.seq1 < b.seq1 ? -1 : 1;
	return 0;
}

static struct pos
ent_pos(const struct entry *e)
{
	struct pos p = { e->time_us, e->seq + 1 };

	return p;
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

	if (delta == 0)
		return 0;
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

/* Delete the items of a version 2 window (id). */
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

/* ---- a window in memory ---------------------------------------------------- */

static struct entry *
ent_at(const struct cwin *cw, size_t i)
{
	return &cw->c_ent[cw->c_lo + i];
}

static void
cwin_free(struct cwin *cw)
{
	if (cw == NULL)
		return;
	for (size_t i = 0; i < cw->c_nval; i++)
		free(cw->c_val[i].v_bytes);
	free(cw->c_val);
	free(cw->c_vix);
	free(cw->c_ent);
	free(cw->c_w.slot);
	free(cw->c_key);
	free(cw);
}

/* The index of value (p, len) in cw's values, added with no reference
 * if new.  0 or TS_ENOMEM. */
static int
val_index(struct cwin *cw, const char *p, size_t len, uint32_t *vi)
{
	uint64_t h = fnv64((const unsigned char *)p, len);
	size_t	 m, i;

	if (2 * (cw->c_nval + 1) > cw->c_vixcap) {
		size_t	  ncap = cw->c_vixcap ? cw->c_vixcap * 2 : 16;
		uint32_t *nix = calloc(ncap, sizeof(*nix));

		if (nix == NULL)
			return TS_ENOMEM;
		for (size_t k = 0; k < cw->c_nval; k++) {
			for (i = cw->c_val[k].v_hash & (ncap - 1); nix[i] != 0;
			    i = (i + 1) & (ncap - 1))
				;
			nix[i] = (uint32_t)k + 1;
		}
		free(cw->c_vix);
		cw->c_vix = nix;
		cw->c_vixcap = ncap;
	}
	m = cw->c_vixcap - 1;
	for (i = h & m; cw->c_vix[i] != 0; i = (i + 1) & m) {
		const struct value *v = &cw->c_val[cw->c_vix[i] - 1];

		if (v->v_hash == h && v->v_len == len &&
		    memcmp(v->v_bytes, p, len) == 0) {
			*vi = cw->c_vix[i] - 1;
			return 0;
		}
	}
	if (cw->c_nval == cw->c_valcap) {
		size_t		 ncap = cw->c_valcap ? cw->c_valcap * 2 : 8;
		struct value	*nv = realloc(cw->c_val, ncap * sizeof(*nv));

		if (nv == NULL)
			return TS_ENOMEM;
		cw->c_val = nv;
		cw->c_valcap = ncap;
	}
	if ((cw->c_val[cw->c_nval].v_bytes = malloc(len ? len : 1)) == NULL)
		return TS_ENOMEM;
	memcpy(cw->c_val[cw->c_nval].v_bytes, p, len);
	cw->c_val[cw->c_nval].v_hash = h;
	cw->c_val[cw->c_nval].v_len = (uint16_t)len;
	cw->c_val[cw->c_nval].v_ref = 0;
	cw->c_vix[i] = (uint32_t)cw->c_nval + 1;
	*vi = (uint32_t)cw->c_nval++;
	return 0;
}

/* Store entry e (its seq and vi set) in order and count it. */
static int
ent_add(struct cwin *cw, const struct entry *e)
{
	struct window	*w = &cw->c_w;
	size_t		 at;

	if (cw->c_lo + w->n == cw->c_cap) {
		/* move the entries to the front only when at least half the
		 * room is free before them: a full window that drops its
		 * oldest entry per event would otherwise move all of them
		 * per event */
		if (cw->c_lo > 0 && cw->c_lo >= w->n) {
			memmove(cw->c_ent, cw->c_ent + cw->c_lo,
			    w->n * sizeof(*cw->c_ent));
			cw->c_lo = 0;
		} else {
			size_t		 ncap = cw->c_cap ? cw->c_cap * 2 : 8;
			struct entry	*ne = realloc(cw->c_ent,
			    ncap * sizeof(*ne));

			if (ne == NULL)
				return TS_ENOMEM;
			cw->c_ent = ne;
			cw->c_cap = ncap;
		}
	}
	/* in time order: last; else after the last entry not after it */
	at = w->n;
	if (w->n > 0 && pos_cmp(ent_pos(e), ent_pos(ent_at(cw, w->n - 1))) < 0) {
		size_t lo = 0, hi = w->n;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (pos_cmp(ent_pos(ent_at(cw, mid)), ent_pos(e)) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		at = lo;
		memmove(ent_at(cw, at + 1), ent_at(cw, at),
		    (w->n - at) * sizeof(*cw->c_ent));
	}
	*ent_at(cw, at) = *e;
	if (e->vi != NO_VALUE && cw->c_val[e->vi].v_ref++ == 0)
		w->ndistinct++;
	if (e->step < MAX_CORR_STEPS)
		w->stepc[e->step]++;
	w->n++;
	w->oldest = ent_pos(ent_at(cw, 0));
	return 0;
}

/* Remove the oldest entry and uncount it. */
static void
ent_pop(struct cwin *cw)
{
	struct window	*w = &cw->c_w;
	struct entry	*e = ent_at(cw, 0);

	if (e->vi != NO_VALUE && cw->c_val[e->vi].v_ref > 0 &&
	    --cw->c_val[e->vi].v_ref == 0 && w->ndistinct > 0)
		w->ndistinct--;
	if (e->step < MAX_CORR_STEPS && w->stepc[e->step] > 0)
		w->stepc[e->step]--;
	cw->c_lo++;
	w->n--;
	if (w->n == 0) {
		cw->c_lo = 0;
		memset(&w->oldest, 0, sizeof(w->oldest));
	} else
		w->oldest = ent_pos(ent_at(cw, 0));
}

/* Entries leaving the front: those older than newest - timeframe, then
 * while more than keep remain the oldest (counted as dropped). */
static void
win_drop(struct cwin *cw, const struct corr_rule *r, uint32_t keep,
    struct corr_counters *cc)
{
	struct window *w = &cw->c_w;

	while (w->n > 0 && (w->oldest.time_us + r->timeframe_us < w->newest ||
	    w->n > keep)) {
		if (w->oldest.time_us + r->timeframe_us >= w->newest)
			cc->dropped++;
		ent_pop(cw);
	}
}

/* Empty the window (fired, or started again). */
static void
win_empty(struct cwin *cw)
{
	struct window *w = &cw->c_w;

	for (size_t i = 0; i < cw->c_nval; i++)
		free(cw->c_val[i].v_bytes);
	cw->c_nval = 0;
	if (cw->c_vix != NULL)
		memset(cw->c_vix, 0, cw->c_vixcap * sizeof(*cw->c_vix));
	cw->c_lo = 0;
	w->n = w->ndistinct = 0;
	memset(w->stepc, 0, sizeof(w->stepc));
	memset(&w->oldest, 0, sizeof(w->oldest));
	if (w->slot != NULL)
		memset(w->slot, 0, (w->nslots + 1) * sizeof(w->slot[0]));
}

/* Give w nslots programme slots (zeroed).  0 or TS_ENOMEM. */
static int
win_slots(struct cwin *cw, uint32_t nslots)
{
	if (nslots + 1 > cw->c_slotcap) {
		struct pos *ns = realloc(cw->c_w.slot,
		    (nslots + 1) * sizeof(*ns));

		if (ns == NULL)
			return TS_ENOMEM;
		cw->c_w.slot = ns;
		cw->c_slotcap = nslots + 1;
	}
	cw->c_w.nslots = nslots;
	memset(cw->c_w.slot, 0, (nslots + 1) * sizeof(cw->c_w.slot[0]));
	return 0;
}

/* Decode a stored window (version 3) into cw.  TS_EINVAL on a malformed
 * or other value, TS_ENOMEM. */
static int
win_decode(struct cwin *cw, const unsigned char *p, size_t len)
{
	struct window	*w = &cw->c_w;
	size_t		 off = 1;
	uint32_t	 nslots, nent;
	int		 ret;

	if (len < WIN_HDR || p[0] != WIN_VERSION)
		return TS_EINVAL;
	w->newest = get_be64(p + off);
	w->fired1 = get_be64(p + off + 8);
	w->suppressed = get_be64(p + off + 16);
	w->expiry = get_be64(p + off + 24);
	w->next_seq = get_be64(p + off + 32);
	off += 40;
	nslots = get_be32(p + off);
	nent = get_be32(p + off + 4);
	off += 8;
	if (nslots > SEQ_SLOTS || nent > MAX_CORR_ENTRIES + MAX_CORR_STEPS ||
	    (len - off) / 16 < nslots)
		return TS_EINVAL;
	if ((ret = win_slots(cw, nslots)) != 0)
		return ret;
	for (size_t j = 1; j <= nslots; j++, off += 16) {
		w->slot[j].time_us = get_be64(p + off);
		w->slot[j].seq1 = get_be64(p + off + 8);
	}
	for (uint32_t i = 0; i < nent; i++) {
		struct entry	e;
		size_t		vlen;

		if (len - off < ENT_HDR)
			return TS_EINVAL;
		e.time_us = get_be64(p + off);
		e.seq = get_be64(p + off + 8);
		e.alert = get_be64(p + off + 16);
		e.step = p[off + 24];
		vlen = get_be16(p + off + 25);
		off += ENT_HDR;
		if (vlen > MAX_CORR_VALUE || len - off < vlen)
			return TS_EINVAL;
		e.vi = NO_VALUE;
		if (vlen > 0 && (ret = val_index(cw, (const char *)p + off,
		    vlen, &e.vi)) != 0)
			return ret;
		off += vlen;
		if ((ret = ent_add(cw, &e)) != 0)
			return ret;
	}
	return off == len ? 0 : TS_EINVAL;
}

/* Encode cw into wc.buf; *len.  0 or TS_ENOMEM. */
static int
win_encode(const struct cwin *cw, size_t *len)
{
	const struct window *w = &cw->c_w;
	unsigned char	*p;
	size_t		 need = WIN_HDR + 16 * (size_t)w->nslots, off = 1;

	for (size_t i = 0; i < w->n; i++) {
		const struct entry *e = ent_at(cw, i);

		need += ENT_HDR + (e->vi != NO_VALUE ? cw->c_val[e->vi].v_len :
		    0);
	}
	if (need > wc.bufcap) {
		unsigned char *nb = realloc(wc.buf, need);

		if (nb == NULL)
			return TS_ENOMEM;
		wc.buf = nb;
		wc.bufcap = need;
	}
	p = wc.buf;
	p[0] = WIN_VERSION;
	put_be64(p + off, w->newest);
	put_be64(p + off + 8, w->fired1);
	put_be64(p + off + 16, w->suppressed);
	put_be64(p + off + 24, w->expiry);
	put_be64(p + off + 32, w->next_seq);
	off += 40;
	put_be32(p + off, w->nslots);
	put_be32(p + off + 4, w->n);
	off += 8;
	for (size_t j = 1; j <= w->nslots; j++, off += 16) {
		put_be64(p + off, w->slot[j].time_us);
		put_be64(p + off + 8, w->slot[j].seq1);
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct entry *e = ent_at(cw, i);
		const struct value *v = e->vi != NO_VALUE ? &cw->c_val[e->vi] :
		    NULL;

		put_be64(p + off, e->time_us);
		put_be64(p + off + 8, e->seq);
		put_be64(p + off + 16, e->alert);
		p[off + 24] = e->step;
		put_be16(p + off + 25, v != NULL ? v->v_len : 0);
		off += ENT_HDR;
		if (v != NULL) {
			memcpy(p + off, v->v_bytes, v->v_len);
			off += v->v_len;
		}
	}
	*len = off;
	return 0;
}

/* ---- the transaction's windows --------------------------------------------- */

static void
wc_drop(void)
{
	for (size_t i = 0; i < wc.cap; i++)
		cwin_free(wc.tab[i]);
	free(wc.tab);
	wc.tab = NULL;
	wc.cap = wc.n = 0;
	wc.count_delta = 0;
	wc.t = NULL;
}

/* Write the changed windows and the window count into t.  0 or a TS_E*. */
static int
wc_write(state_txn_t *t)
{
	size_t	len;
	int	ret;

	if (wc.t != t)
		return 0;
	for (size_t i = 0; i < wc.cap; i++) {
		struct cwin *cw = wc.tab[i];

		if (cw == NULL || !cw->c_dirty)
			continue;
		if ((ret = win_encode(cw, &len)) != 0 ||
		    (ret = state_txn_put(t, STATE_DB_CORR, cw->c_key,
		    cw->c_klen, wc.buf, len)) != 0)
			return ret;
		cw->c_dirty = 0;
	}
	if ((ret = win_count_add(t, wc.count_delta)) != 0)
		return ret;
	wc.count_delta = 0;
	return 0;
}

/* state_txn_hook's callbacks. */
static int
wc_flush_cb(state_txn_t *t, void *arg)
{
	(void)arg;
	return wc_write(t);
}

static void
wc_drop_cb(void *arg, int committed)
{
	(void)arg;
	(void)committed;
	wc_drop();
}

/* Write out and forget the windows held for t (before walking the
 * windows in the db). */
static int
wc_flush(state_txn_t *t)
{
	int ret;

	if (wc.t != t)
		return 0;
	ret = wc_write(t);
	wc_drop();
	return ret;
}

static int
wc_insert(struct cwin *cw)
{
	size_t i, m;

	if (2 * (wc.n + 1) > wc.cap) {
		size_t		  ncap = wc.cap ? wc.cap * 2 : 256;
		struct cwin	**nt = calloc(ncap, sizeof(*nt));

		if (nt == NULL)
			return TS_ENOMEM;
		for (size_t k = 0; k < wc.cap; k++) {
			if (wc.tab[k] == NULL)
				continue;
			for (i = wc.tab[k]->c_hash & (ncap - 1); nt[i] != NULL;
			    i = (i + 1) & (ncap - 1))
				;
			nt[i] = wc.tab[k];
		}
		free(wc.tab);
		wc.tab = nt;
		wc.cap = ncap;
	}
	m = wc.cap - 1;
	for (i = cw->c_hash & m; wc.tab[i] != NULL; i = (i + 1) & m)
		;
	wc.tab[i] = cw;
	wc.n++;
	return 0;
}

/*
 * The window of key in transaction t: held, read from the state, or new
 * (and counted).  An older or damaged stored window starts again (its
 * version 2 items and age key are removed).  0 or a TS_E*.
 */
static int
wc_get(state_txn_t *t, const struct corr_rule *r, const unsigned char *key,
    size_t klen, struct cwin **out)
{
	unsigned char	 akey[STATE_MAX_KV_KEY + 8];
	uint64_t	 h = fnv64(key, klen);
	struct cwin	*cw;
	const void	*v;
	size_t		 vlen;
	int		 ret;

	*out = NULL;
	if (wc.t != t) {
		/* another transaction's windows: still open, so written
		 * into it (never lost), then forgotten */
		if (wc.t != NULL && (ret = wc_flush(wc.t)) != 0)
			return ret;
		wc_drop();
		if ((ret = state_txn_hook(t, wc_flush_cb, wc_drop_cb, &wc))
		    != 0)
			return ret;
		wc.t = t;
	}
	for (size_t i = wc.cap ? h & (wc.cap - 1) : 0; wc.cap > 0 &&
	    wc.tab[i] != NULL; i = (i + 1) & (wc.cap - 1)) {
		cw = wc.tab[i];
		if (cw->c_hash == h && cw->c_klen == klen &&
		    memcmp(cw->c_key, key, klen) == 0) {
			*out = cw;
			return 0;
		}
	}
	if (wc.n >= MAX_CORR_CACHED) {
		/* bounded: write them all into t and start over */
		if ((ret = wc_write(t)) != 0)
			return ret;
		for (size_t i = 0; i < wc.cap; i++)
			cwin_free(wc.tab[i]);
		memset(wc.tab, 0, wc.cap * sizeof(*wc.tab));
		wc.n = 0;
	}
	if ((cw = calloc(1, sizeof(*cw))) == NULL ||
	    (cw->c_key = malloc(klen)) == NULL) {
		free(cw);
		return TS_ENOMEM;
	}
	memcpy(cw->c_key, key, klen);
	cw->c_klen = klen;
	cw->c_hash = h;
	ret = state_txn_get(t, STATE_DB_CORR, key, klen, &v, &vlen);
	if (ret == TS_ENOTFOUND) {
		wc.count_delta++;
		cw->c_dirty = 1;
		ret = 0;
	} else if (ret == 0 && (ret = win_decode(cw, v, vlen)) == 0) {
		cw->c_age = cw->c_w.expiry;
	} else if (ret == TS_EINVAL) {
		const unsigned char *p = v;

		/* an older engine's or a damaged window: start it again */
		if (vlen >= WIN_V2_MIN && p[0] == WIN_V2 &&
		    ((ret = state_txn_del(t, STATE_DB_CORR_AGE, akey,
		    age_key(akey, get_be64(p + 25), key, klen))) != 0 ||
		    (ret = items_clear(t, get_be64(p + 33))) != 0))
			goto fail;
		log_warn("engine: correlation window of %s malformed or "
		    "older; started again", r->id);
		win_empty(cw);
		memset(&cw->c_w, 0, offsetof(struct window, slot));
		cw->c_w.nslots = 0;
		cw->c_dirty = 1;
		ret = 0;
	}
	if (ret != 0)
		goto fail;
	if ((ret = wc_insert(cw)) != 0)
		goto fail;
	*out = cw;
	return 0;
fail:
	cwin_free(cw);
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
	struct cwin		*cw;
	int			 find;		/* look for the anchor */
	uint64_t		 first_new;	/* seq of the event's first */
	uint64_t		 stop_seq1;	/* find == 0: the anchor */
	int			 past_new;
	/* prefix counts */
	uint32_t		 n, stepc[MAX_CORR_STEPS];
	uint32_t		 ndistinct;
	uint32_t		*seen;		/* distinct: value indexes */
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

/* Distinct values of the prefix, up to the rule's count (the anchor's
 * loop stops there): the window's values are already distinct by
 * index. */
static void
scan_value(struct scan *sc, const struct entry *e)
{
	if (e->vi == NO_VALUE || sc->ndistinct >= sc->r->count)
		return;
	for (uint32_t i = 0; i < sc->ndistinct; i++)
		if (sc->seen[i] == e->vi)
			return;
	sc->seen[sc->ndistinct++] = e->vi;
}

/* One entry of the walk: 0 on, 1 stop. */
static int
scan_entry(struct scan *sc, const struct entry *e)
{
	const struct corr_rule	*r = sc->r;
	struct window		*w = &sc->cw->c_w;

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
		seq_push(r, w, e->step, ent_pos(e));
		if (sc->past_new && e->step == r->nsteps - 1 &&
		    w->nslots > 0 && w->slot[w->nslots].seq1 != 0) {
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
scan_run(struct scan *sc)
{
	struct window *w = &sc->cw->c_w;

	if (sc->find && sc->r->type == CORR_DISTINCT &&
	    (sc->seen = calloc((size_t)sc->r->count + 1,
	    sizeof(*sc->seen))) == NULL)
		return TS_ENOMEM;
	if (sc->find && sc->r->type == CORR_SEQUENCE && w->slot != NULL)
		memset(w->slot, 0, (w->nslots + 1) * sizeof(w->slot[0]));
	for (size_t i = 0; i < w->n; i++)
		if (scan_entry(sc, ent_at(sc->cw, i)) != 0)
			break;
	free(sc->seen);
	sc->seen = NULL;
	return 0;
}

/* ---- one event ------------------------------------------------------------- */

/* Build the window key of r for res in key; *klen.  0, or 1 when the
 * event lacks a same: field or it is "-" (counted). */
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

		/* "-" is how Windows (and many logs) write "none": an
		 * address-less network logon's IpAddress, a local account's
		 * MemberName.  Grouping on it would join unrelated events, as
		 * incidents do not (incident.c). */
		if (f == NULL || f->len == 0 || (f->len == 1 && f->val[0] == '-'))
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
win_fire(const struct corr_rule *r, struct cwin *cw,
    const struct rules_field *const *gf, struct scan *sc, uint64_t time_us,
    struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg)
{
	struct window	*w = &cw->c_w;
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
	win_empty(cw);
	w->suppressed = 0;
	w->fired1 = r->suppress_us == 0 ? 0 : time_us + 1;
out:
	for (size_t i = 0; i < MAX_CORR_SAME; i++)
		free(gvals[i]);
	return ret;
}

/* Add the event's entries (one per step of stepmask) to w and decide. */
static int
win_event(const struct corr_rule *r, struct cwin *cw,
    const struct rules_field *const *gf, const struct rules_field *df,
    uint64_t time_us, uint64_t event_alert, unsigned stepmask,
    struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg)
{
	struct window	*w = &cw->c_w;
	struct entry	 ne;
	struct scan	 sc;
	uint32_t	 k = 0, count;
	int		 inorder = time_us >= w->newest, ret;

	if (w->fired1 != 0 && time_us >= w->fired1 - 1 + r->suppress_us)
		w->fired1 = 0;	/* quiet time over */
	memset(&ne, 0, sizeof(ne));
	ne.time_us = time_us;
	ne.alert = event_alert;
	ne.vi = NO_VALUE;
	for (size_t s = 0; s < r->nsteps; s++)
		if (stepmask & (1u << s))
			k++;
	memset(&sc, 0, sizeof(sc));
	sc.r = r;
	sc.cw = cw;
	sc.first_new = w->next_seq;
	if (time_us > w->newest)
		w->newest = time_us;

	if (inorder) {
		/* the new entries go last: make room, then each is the
		 * anchor of the whole window */
		win_drop(cw, r, MAX_CORR_ENTRIES - k, cc);
		/* the value after the drop: it may have freed its index */
		if (df != NULL && (ret = val_index(cw, df->val, df->len >
		    MAX_CORR_VALUE ? MAX_CORR_VALUE : df->len, &ne.vi)) != 0)
			return ret;
		for (size_t s = 0; s < r->nsteps; s++) {
			int fires;

			if (!(stepmask & (1u << s)))
				continue;
			ne.step = (uint8_t)s;
			ne.seq = w->next_seq++;
			if ((ret = ent_add(cw, &ne)) != 0)
				return ret;
			if (r->type == CORR_SEQUENCE) {
				seq_push(r, w, ne.step, ent_pos(&ne));
				fires = s == r->nsteps - 1 && seq_done(w);
				count = r->count;
			} else
				fires = counts_fire(r, w->n, w->ndistinct,
				    w->stepc, &count);
			if (fires) {
				sc.stop_seq1 = ne.seq + 1;
				sc.count = count;
				sc.anchor_time = ne.time_us;
				if ((ret = scan_run(&sc)) != 0)
					return ret;
				return win_fire(r, cw, gf, &sc, time_us, cc,
				    fire, arg);
			}
		}
		return 0;
	}

	/* out of time order: into the middle */
	if (df != NULL && (ret = val_index(cw, df->val, df->len >
	    MAX_CORR_VALUE ? MAX_CORR_VALUE : df->len, &ne.vi)) != 0)
		return ret;
	for (size_t s = 0; s < r->nsteps; s++) {
		if (!(stepmask & (1u << s)))
			continue;
		ne.step = (uint8_t)s;
		ne.seq = w->next_seq++;
		if ((ret = ent_add(cw, &ne)) != 0)
			return ret;
	}
	win_drop(cw, r, MAX_CORR_ENTRIES, cc);
	if (r->type != CORR_SEQUENCE &&
	    !counts_fire(r, w->n, w->ndistinct, w->stepc, &count))
		return 0;	/* no prefix can reach what the whole lacks */
	sc.find = 1;
	if ((ret = scan_run(&sc)) != 0)
		return ret;
	if (!sc.fired)
		return 0;
	return win_fire(r, cw, gf, &sc, time_us, cc, fire, arg);
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
	struct cwin	*cw;
	struct window	*w;
	size_t		 klen;
	uint64_t	 expiry, span;
	int		 ret;

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
	if ((ret = wc_get(t, r, key, klen, &cw)) != 0)
		return ret;
	w = &cw->c_w;
	if (w->nslots != rule_slots(r) || (w->nslots > 0 && w->slot == NULL)) {
		/* a new window, or the rule's steps changed: (re)build the
		 * programme from the entries */
		struct scan sc;

		if ((ret = win_slots(cw, rule_slots(r))) != 0)
			return ret;
		if (w->n > 0 && w->nslots > 0) {
			memset(&sc, 0, sizeof(sc));
			sc.r = r;
			sc.cw = cw;
			sc.find = 1;
			sc.first_new = UINT64_MAX;
			if ((ret = scan_run(&sc)) != 0)
				return ret;
		}
	}
	cw->c_dirty = 1;

	if (w->fired1 != 0 && time_us < w->fired1 - 1 + r->suppress_us) {
		w->suppressed++;
		cc->suppressed++;
	} else if (w->n > 0 && time_us + r->timeframe_us < w->newest) {
		cc->late++;
	} else if ((ret = win_event(r, cw, gf, df, time_us, event_alert,
	    stepmask, cc, fire, arg)) != 0)
		return ret;

	/* the expiry moves by whole seconds: the age key is rewritten at
	 * most once a second per window */
	span = r->timeframe_us > r->suppress_us ? r->timeframe_us :
	    r->suppress_us;
	expiry = wall_us + span + CORR_GRACE_US;
	expiry += 1000000 - expiry % 1000000;
	if (expiry != cw->c_age) {
		if (cw->c_age != 0 && (ret = state_txn_del(t,
		    STATE_DB_CORR_AGE, akey, age_key(akey, cw->c_age, key,
		    klen))) != 0)
			return ret;
		if ((ret = state_txn_put(t, STATE_DB_CORR_AGE, akey,
		    age_key(akey, expiry, key, klen), NULL, 0)) != 0)
			return ret;
		cw->c_age = expiry;
	}
	w->expiry = expiry;
	return 0;
}

/*
 * The steps of each correlation rule that an event's matched rules feed,
 * for the last list of matched rules seen: the events of a flood match the
 * same rules one after the other, and comparing every step's rule ids and
 * groups with theirs was a visible share of each event.  Keyed by the
 * set's serial and the matched rules' addresses (the set's rule set owns
 * them while the set lives).
 */
#define STEP_MEMO_MATCHED	8
static struct {
	uint64_t		 serial;	/* corr_set_serial */
	size_t			 n;		/* its rules */
	const struct rule_info	*matched[STEP_MEMO_MATCHED];
	size_t			 nmatched;	/* 0: empty */
	unsigned		*mask;		/* per correlation rule */
	size_t			 cap;
} step_memo;

/* The step mask of each of cs's n rules for res's matched rules (n
 * entries, valid until the next call), or NULL without memory. */
static const unsigned *
step_masks(const corr_set_t *cs, size_t n, const struct rules_result *res)
{
	size_t nm = res->nmatched;

	if (step_memo.serial == corr_set_serial(cs) && step_memo.n == n &&
	    step_memo.nmatched == nm &&
	    memcmp(step_memo.matched, res->matched, nm *
	    sizeof(*res->matched)) == 0)
		return step_memo.mask;
	step_memo.nmatched = 0;
	if (n > step_memo.cap) {
		unsigned *nmask = realloc(step_memo.mask, n * sizeof(*nmask));

		if (nmask == NULL)
			return NULL;
		step_memo.mask = nmask;
		step_memo.cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct corr_rule *r = corr_set_rule(cs, i);
		unsigned mask = 0;

		for (size_t s = 0; s < r->nsteps; s++)
			for (size_t m = 0; m < nm; m++)
				if (corr_step_matches(&r->steps[s],
				    res->matched[m])) {
					mask |= 1u << s;
					break;
				}
		step_memo.mask[i] = mask;
	}
	if (nm > 0 && nm <= STEP_MEMO_MATCHED) {
		step_memo.serial = corr_set_serial(cs);
		step_memo.n = n;
		memcpy(step_memo.matched, res->matched, nm *
		    sizeof(*res->matched));
		step_memo.nmatched = nm;
	}
	return step_memo.mask;
}

int
corr_eval(state_txn_t *t, const corr_set_t *cs,
    const struct rules_result *res, uint64_t time_us, const char *drill,
    uint64_t event_alert, uint64_t wall_us, struct corr_counters *cc,
    int (*fire)(const struct corr_fire *f, void *arg), void *arg)
{
	size_t n = corr_set_count(cs);
	const unsigned *masks;
	int ret;

	if (drill == NULL)
		drill = "";
	if (n == 0)
		return 0;
	if ((masks = step_masks(cs, n, res)) == NULL)
		return TS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct corr_rule *r = corr_set_rule(cs, i);
		unsigned mask = masks[i];

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

/* Delete the window of key wk (and a version 2 window's items). */
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
	if (vlen >= WIN_V2_MIN && p[0] == WIN_V2 &&
	    (ret = items_clear(t, get_be64(p + 33))) != 0)
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
	uint64_t	 count, extra0;
	int		 ret;

	/* the windows held in memory first go where the walk sees them */
	if ((ret = wc_flush(t)) != 0)
		return ret;
	memset(&kl, 0, sizeof(kl));
	if ((ret = win_count_get(t, &count)) != 0)
		return ret;
	kl.before = wall_us;
	kl.extra = count > max_windows ? count - max_windows : 0;
	if (kl.extra > CORR_EXPIRE_BATCH)
		kl.extra = CORR_EXPIRE_BATCH;
	extra0 = kl.extra;
	ret = state_txn_walk(t, STATE_DB_CORR_AGE, NULL, 0, collect_age, &kl);
	if (ret == 0) {
		cc->evicted += extra0 - kl.extra;
		cc->expired += kl.n - (extra0 - kl.extra);
		ret = delete_aged(t, &kl);
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
	if ((ret = wc_flush(t)) != 0)
		return ret;
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
