/*
 * match.c - running a ruleset on one event: syslog header, per-program
 * decoders, then the rule forest (ignore rules first, then each root and,
 * under a root that matched, its children).
 *
 * The steady state allocates nothing: the ctx holds a copy of the line, the
 * field slots, the result arrays and one pcre2_match_data sized for the
 * largest pattern.
 */
/* memmem(3): glibc declares it only with _GNU_SOURCE (also in BSD libcs). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "rules/rules_int.h"
#include "rules/sigma/sigma.h"

/* A W3C source key: agent, host, file and program, each capped, with
 * separators. */
#define SRCKEY_BYTES	(2 * MAX_HOST_BYTES + MAX_PATH_BYTES + \
			    MAX_PROGRAM_BYTES + 4)

struct fslot {
	const char	*v;
	size_t		 len;
	uint32_t	 gen;		/* set in this event iff == ctx->gen */
};

struct audit_capture;

struct rules_ctx {
	const struct ruleset	*rs;
	pcre2_match_data	*md;
	char			*line;		/* copy of the raw line */
	char			 host[MAX_HOST_BYTES];
	char			 agent[MAX_HOST_BYTES];
	char			 source[MAX_SOURCE_NAME_BYTES];
	struct fslot		*slots;		/* one per field name */
	uint32_t		 gen;
	struct rules_field	 fields[MAX_DECODED_FIELDS];
	size_t			 nfields;
	uint32_t		 setids[MAX_DECODED_FIELDS];	/* ids of
						 * the slots set (the rule
						 * index looks at these) */
	size_t			 nsetids;
	struct field_arena	 arena;		/* JSON / CEF names, values */
	struct prefilter_scratch *pf;		/* NULL: no route has one */
	struct ruleindex_scratch *ix;		/* NULL: no rule index */
	const struct rule_info	**matched;
	size_t			 nmatched;
	const struct rule_info	**alerts;
	size_t			 nalerts;
	int			 silenced;	/* an ignore rule matched */
	struct winevt		*win;		/* made at the first Windows
						 * decoder run */
	uint64_t		 win_time_us;	/* TimeCreated of this event */
	int			 has_win_time;
	const struct syslog_tz	*tz;		/* zone of unzoned headers */
	int			 raw_field;	/* FIELD_RAW_NAME's id, or -1 */
	struct audit_asm	*audit;		/* audit events in progress,
						 * made at the first record */
	struct audit_capture	*acap;		/* with it */
	uint64_t		 rec_time_us;	/* from a decoder's `time:` */
	int			 has_rec_time;
	uint64_t		 read_us;	/* rules_event.time_us */
	const struct rules_event *ev;		/* the event being decoded */
	struct w3c		*w3c;		/* made at the first W3C
						 * decoder run */
	char			*srckey;	/* the W3C source key */
	size_t			 line_len;	/* bytes of line */
	struct rules_counters	 c;
};

const struct route *
ruleset_route(const struct ruleset *rs, const char *program, size_t len)
{
	size_t h, mask = rs->hash_size - 1;

	if (program == NULL || rs->hash_size == 0)
		return &rs->any;
	h = rules_hash(program, len) & mask;
	for (size_t n = 0; n < rs->hash_size && rs->hash[h] != 0; n++) {
		const struct route *rt = &rs->routes[rs->hash[h] - 1];

		if (strlen(rt->program) == len &&
		    memcmp(rt->program, program, len) == 0)
			return rt;
		h = (h + 1) & mask;
	}
	return &rs->any;
}

/* ---- ctx ------------------------------------------------------------------ */

rules_ctx_t *
rules_ctx_new(const ruleset_t *rs)
{
	struct rules_ctx *ctx;
	size_t n = rs->nrules ? rs->nrules : 1;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return NULL;
	ctx->rs = rs;
	ctx->raw_field = ruleset_field_lookup(rs, FIELD_RAW_NAME,
	    sizeof(FIELD_RAW_NAME) - 1);
	ctx->md = pcre2_match_data_create(rs->max_groups + 1, NULL);
	ctx->line = malloc(MAX_LINE_BYTES);
	ctx->arena.buf = malloc(FIELD_ARENA_BYTES);
	ctx->arena.cap = FIELD_ARENA_BYTES;
	ctx->slots = calloc(rs->nfield_names, sizeof(*ctx->slots));
	ctx->matched = calloc(n, sizeof(*ctx->matched));
	ctx->alerts = calloc(n, sizeof(*ctx->alerts));
	ctx->srckey = malloc(SRCKEY_BYTES);
	if (prefilter_scratch_new(rs, &ctx->pf) != 0 ||
	    ruleindex_scratch_new(rs, &ctx->ix) != 0 ||
	    ctx->md == NULL || ctx->line == NULL || ctx->arena.buf == NULL ||
	    ctx->slots == NULL || ctx->srckey == NULL ||
	    ctx->matched == NULL || ctx->alerts == NULL)
		rules_ctx_free(&ctx);
	return ctx;
}

void
rules_ctx_free(rules_ctx_t **ctxp)
{
	struct rules_ctx *ctx;

	if (ctxp == NULL || (ctx = *ctxp) == NULL)
		return;
	pcre2_match_data_free(ctx->md);
	free(ctx->line);
	free(ctx->arena.buf);
	prefilter_scratch_free(&ctx->pf);
	ruleindex_scratch_free(&ctx->ix);
	free(ctx->slots);
	free(ctx->matched);
	free(ctx->alerts);
	winevt_free(&ctx->win);
	audit_asm_free(&ctx->audit);
	free(ctx->acap);
	w3c_free(&ctx->w3c);
	free(ctx->srckey);
	free(ctx);
	*ctxp = NULL;
}

void
rules_ctx_set_tz(rules_ctx_t *ctx, const struct syslog_tz *tz)
{
	ctx->tz = tz;
}

int
rules_ctx_save(const rules_ctx_t *ctx, void **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (ctx->audit == NULL || audit_asm_pending(ctx->audit) == 0)
		return 0;
	return audit_asm_save(ctx->audit, out, len);
}

int
rules_ctx_restore(rules_ctx_t *ctx, const void *buf, size_t len)
{
	int rc;

	if (len == 0) {
		audit_asm_free(&ctx->audit);
		return 0;
	}
	if (ctx->audit == NULL && (rc = audit_asm_new(&ctx->audit)) != 0)
		return rc;
	return audit_asm_restore(ctx->audit, buf, len);
}

void
rules_ctx_counters(const rules_ctx_t *ctx, struct rules_counters *out)
{
	*out = ctx->c;
}

const struct rules_field *
rules_result_field(const struct rules_result *res, const char *name)
{
	for (size_t i = 0; i < res->nfields; i++)
		if (strcmp(res->fields[i].name, name) == 0)
			return &res->fields[i];
	return NULL;
}

/* ---- fields ------------------------------------------------------------- */

/* Set a field unless it is already set in this event (first one wins). */
static void
field_set(struct rules_ctx *ctx, int id, const char *v, size_t len)
{
	struct fslot *s = &ctx->slots[id];

	if (s->gen == ctx->gen)
		return;
	if (ctx->nfields >= MAX_DECODED_FIELDS) {
		ctx->c.fields_dropped++;
		return;
	}
	s->gen = ctx->gen;
	s->v = v;
	s->len = len;
	ctx->setids[ctx->nsetids++] = (uint32_t)id;
	ctx->fields[ctx->nfields].name = ctx->rs->field_names[id];
	ctx->fields[ctx->nfields].val = v;
	ctx->fields[ctx->nfields].len = len;
	ctx->nfields++;
}

/* field_emit_fn of the JSON and CEF decoders: a field some rule or
 * decoder names goes to its slot (first value wins); any other is listed
 * for `rules test` and outputs only. */
static int
field_put(void *arg, const char *name, size_t name_len, const char *val,
    size_t val_len)
{
	struct rules_ctx *ctx = arg;
	int id = ruleset_field_lookup(ctx->rs, name, name_len);

	if (id >= 0) {
		field_set(ctx, id, val, val_len);
		return 0;
	}
	if (ctx->nfields >= MAX_DECODED_FIELDS) {
		ctx->c.fields_dropped++;
		return -1;
	}
	ctx->fields[ctx->nfields].name = name;
	ctx->fields[ctx->nfields].val = val;
	ctx->fields[ctx->nfields].len = val_len;
	ctx->nfields++;
	return 0;
}

/* Set a field even if it is set (the Windows event's own host replaces
 * the forwarder's). */
static void
field_replace(struct rules_ctx *ctx, int id, const char *v, size_t len)
{
	struct fslot *s = &ctx->slots[id];

	if (s->gen != ctx->gen) {
		field_set(ctx, id, v, len);
		return;
	}
	for (size_t i = 0; i < ctx->nfields; i++)
		if (ctx->fields[i].name == ctx->rs->field_names[id]) {
			ctx->fields[i].val = v;
			ctx->fields[i].len = len;
		}
	s->v = v;
	s->len = len;
}

static const struct fslot *
field_get(const struct rules_ctx *ctx, int id)
{
	const struct fslot *s = &ctx->slots[id];

	return s->gen == ctx->gen ? s : NULL;
}

/* ruleindex_get_fn over the event's slots. */
static const char *
field_value_cb(void *arg, int id, size_t *len)
{
	const struct fslot *s = field_get(arg, id);

	if (s == NULL)
		return NULL;
	*len = s->len;
	return s->v;
}

/* ---- leaves --------------------------------------------------------------- */

/* Whether lit (ll >= 1) occurs in h.  Subjects are short (a log message),
 * where memchr + memcmp beats a general memmem's set-up. */
static int
lit_find(const char *h, size_t hl, const char *lit, size_t ll)
{
	const char *p = h, *last;

	if (ll > hl)
		return 0;
	last = h + (hl - ll);
	while (p <= last &&
	    (p = memchr(p, lit[0], (size_t)(last - p) + 1)) != NULL) {
		if (memcmp(p + 1, lit + 1, ll - 1) == 0)
			return 1;
		p++;
	}
	return 0;
}

/* PCRE2 match with the literal gate; limit hits count and do not match. */
static int
rx_match(struct rules_ctx *ctx, const struct rx *rx, const char *s,
    size_t len)
{
	int rc;

	if (rx->pre != NULL) {
		if (rx->pre_len > len || s[0] != rx->pre[0] ||
		    memcmp(s, rx->pre, rx->pre_len) != 0)
			return 0;
	} else if (rx->lit != NULL && !lit_find(s, len, rx->lit, rx->lit_len)) {
		return 0;
	}
	rc = pcre2_match(rx->code, (PCRE2_SPTR)s, len, 0, 0, ctx->md,
	    ctx->rs->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
		ctx->c.regex_limit_hits++;
	return 0;
}

/* ASCII case folding by table: the compares below run per byte of
 * every value a Sigma rule tests. */
static const unsigned char fold_tab[256] = {
#define F1(c)	(unsigned char)((c) >= 'A' && (c) <= 'Z' ? (c) + 32 : (c))
#define F4(c)	F1(c), F1((c) + 1), F1((c) + 2), F1((c) + 3)
#define F16(c)	F4(c), F4((c) + 4), F4((c) + 8), F4((c) + 12)
#define F64(c)	F16(c), F16((c) + 16), F16((c) + 32), F16((c) + 48)
	F64(0), F64(64), F64(128), F64(192)
#undef F64
#undef F16
#undef F4
#undef F1
};

/* Eight bytes with A-Z folded to a-z and every other byte (those from
 * 0x80 too) kept: fold_tab on each byte at once. */
static inline uint64_t
fold8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t low7 = x & 0x7f7f7f7f7f7f7f7fULL;
	uint64_t ge_a = low7 + (0x80 - 'A') * ones;	/* high bit: >= 'A' */
	uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones;	/* high bit: > 'Z' */
	uint64_t up = (ge_a ^ gt_z) & ~x & 0x8080808080808080ULL;

	return x | up >> 2;
}

static int
mem_eq(const char *a, const char *b, size_t n, int nocase)
{
	size_t i = 0;

	if (!nocase)
		return memcmp(a, b, n) == 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y && fold8(x) != fold8(y))
			return 0;
	}
	for (; i < n; i++)
		if (fold_tab[(unsigned char)a[i]] !=
		    fold_tab[(unsigned char)b[i]])
			return 0;
	return 1;
}

static int
mem_contains(const char *h, size_t hl, const char *n, size_t nl, int nocase)
{
	if (!nocase)
		return memmem(h, hl, n, nl) != NULL;
	for (size_t i = 0; i + nl <= hl; i++)
		if (mem_eq(h + i, n, nl, 1))
			return 1;
	return 0;
}

static int
cidr_match(const struct leaf *lf, const char *v, size_t len)
{
	unsigned char a[16];
	int fam;

	if (rules_parse_ip(v, len, &fam, a))
		return 0;
	for (size_t i = 0; i < lf->ncidrs; i++) {
		const struct cidr *c = &lf->cidrs[i];
		unsigned full = c->bits / 8, rem = c->bits % 8;

		if (c->family != fam)
			continue;
		if (memcmp(a, c->addr, full) != 0)
			continue;
		if (rem != 0 && ((a[full] ^ c->addr[full]) &
		    (unsigned char)(0xff << (8 - rem))) != 0)
			continue;
		return 1;
	}
	return 0;
}

static int
leaf_eval(struct rules_ctx *ctx, const struct leaf *lf)
{
	const struct fslot *s = field_get(ctx, lf->field);

	if (s == NULL)
		return 0;
	switch (lf->op) {
	case LEAF_EXISTS:
		return 1;
	case LEAF_REGEX:
		return rx_match(ctx, &lf->rx, s->v, s->len);
	case LEAF_CIDR:
		return cidr_match(lf, s->v, s->len);
	case LEAF_EQUALS:
		for (size_t i = 0; i < lf->nvals; i++)
			if (lf->lens[i] == s->len &&
			    mem_eq(s->v, lf->vals[i], s->len, lf->nocase))
				return 1;
		return 0;
	case LEAF_CONTAINS:
		for (size_t i = 0; i < lf->nvals; i++)
			if (mem_contains(s->v, s->len, lf->vals[i],
			    lf->lens[i], lf->nocase))
				return 1;
		return 0;
	case LEAF_STARTSWITH:
		for (size_t i = 0; i < lf->nvals; i++)
			if (lf->lens[i] <= s->len &&
			    mem_eq(s->v, lf->vals[i], lf->lens[i], lf->nocase))
				return 1;
		return 0;
	case LEAF_ENDSWITH:
		for (size_t i = 0; i < lf->nvals; i++)
			if (lf->lens[i] <= s->len &&
			    mem_eq(s->v + s->len - lf->lens[i], lf->vals[i],
			    lf->lens[i], lf->nocase))
				return 1;
		return 0;
	case LEAF_GLOB:		/* Sigma (rules/sigma/match.c) */
		return sigma_glob_match(s->v, s->len, lf->vals[0],
		    lf->lens[0], lf->nocase);
	case LEAF_NUM:
		return sigma_num_cmp(s->v, s->len, lf->vals[0], lf->cmp);
	case LEAF_FIELDREF: {
		const struct fslot *o = field_get(ctx, lf->field2);

		return o != NULL && sigma_str_cmp(s->v, s->len, o->v, o->len,
		    lf->cmp, lf->nocase);
	}
	}
	return 0;
}

/* Conditions nest at most a few levels (native rules: 2; Sigma: the
 * condition's own nesting, bounded by the YAML depth at load). */
static int
cond_eval(struct rules_ctx *ctx, const struct cond *c)
{
	if (c == NULL)
		return 1;
	switch (c->kind) {
	case COND_AND:
		for (size_t i = 0; i < c->nkids; i++)
			if (!cond_eval(ctx, c->kids[i]))
				return 0;
		return 1;
	case COND_OR:
		for (size_t i = 0; i < c->nkids; i++)
			if (cond_eval(ctx, c->kids[i]))
				return 1;
		return 0;
	case COND_NOT:
		return c->nkids == 1 && !cond_eval(ctx, c->kids[0]);
	case COND_LEAF:
		return leaf_eval(ctx, &c->leaf);
	}
	return 0;
}

/*
 * Try r; if it matches, record it and try its children.  The alert of a
 * matched branch is its most specific rule: a matched rule none of whose
 * children matched.  A matched ignore rule (level 0, no children) silences
 * the event.  Depth is bounded by MAX_RULE_DEPTH at load.
 */
static int
rule_eval(struct rules_ctx *ctx, const struct rule *r)
{
	int kid_matched = 0;

	if (!cond_eval(ctx, r->cond))
		return 0;
	ctx->matched[ctx->nmatched++] = &r->info;
	for (size_t i = 0; i < r->nkids; i++)
		if (rule_eval(ctx, r->kids[i]))
			kid_matched = 1;
	if (r->ignore)
		ctx->silenced = 1;
	else if (!kid_matched && r->info.level > 0)
		ctx->alerts[ctx->nalerts++] = &r->info;
	return 1;
}

/* ---- decoders ------------------------------------------------------------- */

/* The CEF text of a message: the message itself when it starts "CEF:", or,
 * when the 3164 tag parser took "CEF" for a program ("host CEF:0|..."), the
 * text from that "program" on.  NULL when the line is not CEF. */
static const char *
cef_text(const struct syslog_hdr *h, size_t *len)
{
	if (h->msg_len >= 4 && memcmp(h->msg, "CEF:", 4) == 0) {
		*len = h->msg_len;
		return h->msg;
	}
	if (h->program != NULL && h->program_len == 3 &&
	    memcmp(h->program, "CEF", 3) == 0 && h->pid == NULL &&
	    h->msg == h->program + 4) {
		*len = h->msg_len + 4;
		return h->program;
	}
	return NULL;
}

/* Bits of `tried`: a JSON / CEF record is parsed once per event, however
 * many decoders of that type apply; the later ones only add aliases. */
#define TRIED_JSON	1u
#define TRIED_JSON_OK	2u
#define TRIED_CEF	4u
#define TRIED_CEF_OK	8u
#define TRIED_WIN	16u
#define TRIED_WIN_OK	32u
#define TRIED_W3C	64u
#define TRIED_W3C_OK	128u
#define TRIED_AUDIT	256u
#define TRIED_AUDIT_OK	512u
#define TRIED_KV	1024u
#define TRIED_KV_OK	2048u

/* Most fields of one audit record the assembler looks at. */
#define MAX_AUDIT_CAPTURE	256

/* Forwards the audit decoder's fields to field_put and keeps a copy of
 * each for the assembler (field_put keeps only the first value of a name
 * some earlier decoder already set). */
struct audit_capture {
	struct rules_ctx	*ctx;
	struct rules_field	 f[MAX_AUDIT_CAPTURE];
	size_t			 n;
};

static int
audit_capture_cb(void *arg, const char *name, size_t name_len,
    const char *val, size_t val_len)
{
	struct audit_capture *c = arg;

	if (c->n < MAX_AUDIT_CAPTURE) {
		c->f[c->n].name = name;
		c->f[c->n].val = val;
		c->f[c->n].len = val_len;
		c->n++;
	}
	return field_put(c->ctx, name, name_len, val, val_len);
}

/* The audit decoder and the assembler on the message; 0 decoded, 1 not an
 * audit record, TS_ENOMEM.  The event's time is the record's. */
static int
audit_run(struct rules_ctx *ctx, const struct syslog_hdr *h)
{
	struct audit_capture *cap;
	struct audit_info ai;
	struct audit_asm_stats st = { 0 };
	struct audit_pending *done = NULL;
	const struct fslot *host;
	int rc;

	if (h->msg_len < 20 || (h->msg[0] != 't' && h->msg[0] != 'n'))
		return 1;
	if (ctx->acap == NULL &&
	    (ctx->acap = malloc(sizeof(*ctx->acap))) == NULL)
		return TS_ENOMEM;
	if (ctx->audit == NULL && (rc = audit_asm_new(&ctx->audit)) != 0)
		return rc;
	cap = ctx->acap;
	cap->ctx = ctx;
	cap->n = 0;
	rc = audit_decode(h->msg, h->msg_len, &ctx->arena, audit_capture_cb,
	    cap, &ai);
	if (rc != 0)
		return 1;
	ctx->c.audit_records++;
	ctx->c.audit_badhex += ai.badhex;
	ctx->c.fields_dropped += ai.dropped;
	/* words that are not key=value are normal (AVC: "avc:  denied  {
	 * read }"); an open quote is not */
	if (ai.unterminated > 0)
		ctx->c.audit_malformed++;
	host = field_get(ctx, FIELD_HOST);
	(void)audit_asm_add(ctx->audit, host ? host->v : "", host ?
	    host->len : 0, &ai, cap->f, cap->n, &st, &done);
	ctx->c.audit_assembled += st.assembled;
	ctx->c.audit_incomplete += st.incomplete;
	ctx->c.truncated += st.truncated;
	if (done != NULL &&
	    audit_assemble(done, &ctx->arena, field_put, ctx) != 0)
		ctx->c.fields_dropped++;
	if (!ctx->has_rec_time) {
		ctx->rec_time_us = ai.time_us;
		ctx->has_rec_time = 1;
	}
	return 0;
}

/* The Windows decoder on the message; 0 decoded, 1 not (or malformed,
 * counted), TS_ENOMEM.  The event's host becomes its Computer and its time
 * its TimeCreated. */
static int
winevt_run(struct rules_ctx *ctx, const struct syslog_hdr *h)
{
	struct winevt_info wi;
	size_t n0 = ctx->nfields, ns0 = ctx->nsetids;
	int rc;

	if (ctx->win == NULL && (rc = winevt_new(&ctx->win)) != 0)
		return rc;
	rc = winevt_decode(ctx->win, h->msg, h->msg_len, &ctx->arena,
	    field_put, ctx, &wi);
	ctx->c.fields_dropped += wi.dropped;
	ctx->c.truncated += wi.truncated;
	if (rc == TS_ENOMEM || rc == 1)
		return rc;
	if (rc != 0) {
		/* the XML walk emits as it goes: a malformed or refused event
		 * keeps none of the fields it made before the fault, so no
		 * rule matches half an event */
		for (size_t i = n0; i < ctx->nfields; i++) {
			int id = ruleset_field_lookup(ctx->rs,
			    ctx->fields[i].name, strlen(ctx->fields[i].name));

			if (id >= 0)
				ctx->slots[id].gen = ctx->gen - 1;
		}
		ctx->nfields = n0;
		ctx->nsetids = ns0;
		if (wi.refused)
			ctx->c.winevt_refused++;
		else if (wi.json)
			ctx->c.json_malformed++;
		else
			ctx->c.winevt_malformed++;
		return 1;
	}
	if (wi.computer != NULL && wi.computer_len > 0)
		field_replace(ctx, FIELD_HOST, wi.computer,
		    wi.computer_len < MAX_HOST_BYTES ? wi.computer_len :
		    MAX_HOST_BYTES);
	if (wi.has_time) {
		ctx->win_time_us = wi.time_local && ctx->tz != NULL ?
		    syslog_tz_local(ctx->tz, wi.time_us) : wi.time_us;
		ctx->has_win_time = 1;
	}
	return 0;
}

/* Append (s, n), capped at max, and a separator to the key at *off. */
static void
key_add(char *key, size_t *off, const char *s, size_t n, size_t max)
{
	if (s == NULL)
		n = 0;
	if (n > max)
		n = max;
	if (n > 0)
		memcpy(key + *off, s, n);
	*off += n;
	key[(*off)++] = '\x1f';
}

/* The W3C decoder with the event's source (agent, host, file, syslog
 * program) naming whose #Fields: apply.  A W3C line is the message of a
 * syslog line that names a program (an NXLog forwarder's), else the whole
 * line: a data line starts "date time", which the header parser takes
 * for an ISO 8601 header time.  0 decoded, 1 not, TS_ENOMEM. */
static int
w3c_run(struct rules_ctx *ctx, const struct syslog_hdr *h, size_t msg_len)
{
	const struct rules_event *ev = ctx->ev;
	const char *text = h->msg;
	struct w3c_info wi;
	size_t klen = 0;
	int rc;

	if (h->program == NULL) {
		text = ctx->line;
		msg_len = ctx->line_len < MAX_MATCH_BYTES ? ctx->line_len :
		    MAX_MATCH_BYTES;
		while (msg_len > 0 && (text[msg_len - 1] == '\n' ||
		    text[msg_len - 1] == '\r'))
			msg_len--;
	}

	if (ctx->w3c == NULL && (rc = w3c_new(&ctx->w3c)) != 0)
		return rc;
	if (!w3c_candidate(ctx->w3c, text, msg_len))
		return 1;
	key_add(ctx->srckey, &klen, ev->agent, ev->agent_len, MAX_HOST_BYTES);
	key_add(ctx->srckey, &klen, ev->host, ev->host_len, MAX_HOST_BYTES);
	key_add(ctx->srckey, &klen, ev->file, ev->file_len, MAX_PATH_BYTES);
	key_add(ctx->srckey, &klen, h->program, h->program_len,
	    MAX_PROGRAM_BYTES);
	rc = w3c_decode(ctx->w3c, ctx->srckey, klen, text, msg_len,
	    &ctx->arena, field_put, ctx, &wi);
	ctx->c.fields_dropped += wi.dropped;
	ctx->c.w3c_fields_changed += (uint64_t)wi.fields_changed;
	ctx->c.w3c_mismatch += (uint64_t)wi.mismatch;
	ctx->c.w3c_defaulted += (uint64_t)wi.defaulted;
	ctx->c.w3c_evicted += (uint64_t)wi.evicted;
	ctx->c.w3c_names_refused += wi.cut + (uint64_t)wi.bad_fields;
	return rc;
}

/* Each urldecode: / formdecode: of d whose source is set and holds a '%'
 * (or a '+', form) sets its destination to the decoded value; otherwise
 * the destination is the source's value itself.  Without arena room the
 * field is dropped (counted). */
static void
decoder_xforms(struct rules_ctx *ctx, const struct decoder *d)
{
	for (size_t i = 0; i < d->nxforms; i++) {
		const struct urlxf *x = &d->xforms[i];
		const struct fslot *s = field_get(ctx, x->src);
		size_t bad = 0, n;
		char *dst;

		if (s == NULL)
			continue;
		if (memchr(s->v, '%', s->len) == NULL &&
		    (!x->form || memchr(s->v, '+', s->len) == NULL)) {
			field_set(ctx, x->dst, s->v, s->len);
			continue;
		}
		if (s->len + 1 > ctx->arena.cap - ctx->arena.len) {
			ctx->c.fields_dropped++;
			continue;
		}
		dst = ctx->arena.buf + ctx->arena.len;
		n = web_url_decode(s->v, s->len, dst, x->form, &bad);
		dst[n] = '\0';
		ctx->arena.len += n + 1;
		ctx->c.url_malformed += bad;
		field_set(ctx, x->dst, dst, n);
	}
}

/* Run decoder d on the event.  0 when it matched (fields set), 1 when it
 * did not, TS_ENOMEM. */
static int
decoder_run(struct rules_ctx *ctx, const struct decoder *d,
    const struct syslog_hdr *h, size_t msg_len, unsigned *tried)
{
	size_t dropped = 0, len;
	const char *p;
	int rc;

	switch (d->type) {
	case DEC_JSON:
		if (*tried & TRIED_JSON)
			return *tried & TRIED_JSON_OK ? 0 : 1;
		*tried |= TRIED_JSON;
		p = h->msg;
		len = h->msg_len;	/* the whole message: not capped */
		while (len > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		if (len == 0 || *p != '{')
			return 1;
		rc = json_decode(p, len, &ctx->arena, field_put, ctx,
		    &dropped);
		ctx->c.fields_dropped += dropped;
		if (rc == TS_ENOMEM)
			return rc;
		if (rc != 0) {
			ctx->c.json_malformed++;
			return 1;
		}
		*tried |= TRIED_JSON_OK;
		return 0;
	case DEC_CEF:
		if (*tried & TRIED_CEF)
			return *tried & TRIED_CEF_OK ? 0 : 1;
		*tried |= TRIED_CEF;
		if ((p = cef_text(h, &len)) == NULL)
			return 1;
		rc = cef_decode(p, len, &ctx->arena, field_put, ctx, &dropped);
		ctx->c.fields_dropped += dropped;
		if (rc != 0) {
			ctx->c.cef_malformed++;
			return 1;
		}
		*tried |= TRIED_CEF_OK;
		return 0;
	case DEC_WINEVT:
		if (*tried & TRIED_WIN)
			return *tried & TRIED_WIN_OK ? 0 : 1;
		*tried |= TRIED_WIN;
		if ((rc = winevt_run(ctx, h)) != 0)
			return rc;
		*tried |= TRIED_WIN_OK;
		return 0;
	case DEC_W3C:
		/* stateful: run once per event */
		if (*tried & TRIED_W3C)
			return *tried & TRIED_W3C_OK ? 0 : 1;
		*tried |= TRIED_W3C;
		if ((rc = w3c_run(ctx, h, msg_len)) != 0)
			return rc;
		*tried |= TRIED_W3C_OK;
		return 0;
	case DEC_KV: {
		struct audit_info ki;

		if (*tried & TRIED_KV)
			return *tried & TRIED_KV_OK ? 0 : 1;
		*tried |= TRIED_KV;
		if (kv_decode(h->msg, h->msg_len, &ctx->arena, field_put, ctx,
		    &ki) != 0)
			return 1;
		ctx->c.fields_dropped += ki.dropped;
		*tried |= TRIED_KV_OK;
		return 0;
	}
	case DEC_AUDIT:
		if (*tried & TRIED_AUDIT)
			return *tried & TRIED_AUDIT_OK ? 0 : 1;
		*tried |= TRIED_AUDIT;
		if ((rc = audit_run(ctx, h)) != 0)
			return rc;
		*tried |= TRIED_AUDIT_OK;
		return 0;
	case DEC_REGEX:
		break;
	}
	if (!rx_match(ctx, &d->rx, h->msg, msg_len))
		return 1;
	{
		/* pairs of groups that did not take part are PCRE2_UNSET */
		uint32_t top = pcre2_get_ovector_count(ctx->md) - 1;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ctx->md);

		if (d->ngroups < top)
			top = d->ngroups;
		for (uint32_t g = 1; g <= top; g++) {
			if (d->group_field[g] < 0 ||
			    ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
				continue;
			field_set(ctx, d->group_field[g], h->msg + ov[2 * g],
			    ov[2 * g + 1] - ov[2 * g]);
		}
	}
	return 0;
}

/* The event's time from the field decoder d declares (`time:`), unless an
 * earlier decoder set it: the first format that reads the whole value
 * wins; a value none reads is counted (time_unparsed) and the event keeps
 * its header's or reading time. */
static void
decoder_time(struct rules_ctx *ctx, const struct decoder *d)
{
	const struct evtime_spec *ts = &d->time;
	const struct fslot *s;
	uint64_t t;

	if (ts->field < 0 || ctx->has_rec_time ||
	    (s = field_get(ctx, ts->field)) == NULL)
		return;
	for (size_t i = 0; i < ts->nformats; i++)
		if (evtime_parse(ts->formats[i], s->v, s->len, ts->zone,
		    ts->zone_off_s, ctx->tz, ctx->read_us, &t) == 0) {
			ctx->rec_time_us = t;
			ctx->has_rec_time = 1;
			return;
		}
	ctx->c.time_unparsed++;
}

/* Run decoder d and, when it matched, name it (the first), apply its
 * aliases and take the event's time.  0 or TS_ENOMEM. */
static int
decoder_step(struct rules_ctx *ctx, const struct decoder *d,
    const struct syslog_hdr *h, size_t msg_len, unsigned *tried,
    const char **decoder)
{
	int rc = decoder_run(ctx, d, h, msg_len, tried);

	if (rc == TS_ENOMEM)
		return rc;
	if (rc != 0)
		return 0;
	if (*decoder == NULL)
		*decoder = d->name;
	for (size_t k = 0; k < d->naliases; k++) {
		const struct alias *al = &d->aliases[k];

		for (size_t j = 0; j < al->nsrc; j++) {
			const struct fslot *s = field_get(ctx, al->src[j]);

			if (s != NULL) {
				field_set(ctx, al->dst, s->v, s->len);
				break;
			}
		}
	}
	for (size_t k = 0; k < d->nset; k++)
		field_set(ctx, d->set_field[k], d->set_val[k], d->set_len[k]);
	decoder_xforms(ctx, d);
	decoder_time(ctx, d);
	return 0;
}

/* ---- one event ------------------------------------------------------------ */

int
rules_eval(rules_ctx_t *ctx, const struct rules_event *ev,
    struct rules_result *res)
{
	const struct ruleset *rs = ctx->rs;
	const struct route *rt;
	struct syslog_hdr h;
	size_t n, msg_len, raw_len, scan_len;
	const char *decoder = NULL;
	unsigned tried = 0;
	int scanned;

	ctx->c.events++;
	if (++ctx->gen == 0) {	/* wrapped: forget every slot */
		memset(ctx->slots, 0, rs->nfield_names * sizeof(*ctx->slots));
		ctx->gen = 1;
	}
	ctx->nfields = ctx->nmatched = ctx->nalerts = ctx->nsetids = 0;
	ctx->silenced = 0;
	ctx->has_win_time = 0;
	ctx->has_rec_time = 0;
	ctx->read_us = ev->time_us;
	ctx->ev = ev;
	ctx->arena.len = 0;

	n = ev->raw_len;
	if (n > MAX_LINE_BYTES) {
		n = MAX_LINE_BYTES;
		ctx->c.truncated++;
	}
	if (n > 0)
		memcpy(ctx->line, ev->raw, n);
	ctx->line_len = n;
	syslog_parse(ctx->line, n, ev->time_us, &h);
	if (h.has_time && !h.zoned && (ev->tz != NULL || ctx->tz != NULL))
		h.time_us = syslog_tz_local(ev->tz != NULL ? ev->tz : ctx->tz,
		    h.time_us);

	/* A raw audit.log record has no header: it is the audit
	 * subsystem's line, routed as program "audit" (as audisp-syslog's
	 * are by their tag), so that rules and Sigma's service auditd
	 * reach it. */
	if (h.program == NULL && h.format == SYSLOG_NONE &&
	    audit_is_record(h.msg, h.msg_len)) {
		h.program = "audit";
		h.program_len = 5;
	}
	/* First, so that no decoder can set it from the line. */
	if (ev->source != NULL && ev->source_len > 0) {
		size_t sl = ev->source_len < sizeof(ctx->source) ?
		    ev->source_len : sizeof(ctx->source);

		memcpy(ctx->source, ev->source, sl);
		field_set(ctx, FIELD_SOURCE, ctx->source, sl);
	}
	if (h.host != NULL) {
		field_set(ctx, FIELD_HOST, h.host, h.host_len);
	} else if (ev->host != NULL && ev->host_len > 0) {
		size_t hl = ev->host_len < sizeof(ctx->host) ?
		    ev->host_len : sizeof(ctx->host);

		memcpy(ctx->host, ev->host, hl);
		field_set(ctx, FIELD_HOST, ctx->host, hl);
	}
	if (h.program != NULL)
		field_set(ctx, FIELD_PROGRAM, h.program, h.program_len);
	if (h.pid != NULL)
		field_set(ctx, FIELD_PID, h.pid, h.pid_len);
	if (h.msgid != NULL)
		field_set(ctx, FIELD_MSGID, h.msgid, h.msgid_len);
	msg_len = h.msg_len;
	if (msg_len > MAX_MATCH_BYTES) {
		msg_len = MAX_MATCH_BYTES;
		ctx->c.truncated++;
	}
	field_set(ctx, FIELD_MESSAGE, h.msg, msg_len);
	raw_len = (size_t)(h.msg + h.msg_len - ctx->line);	/* no CR/LF */
	if (raw_len > MAX_MATCH_BYTES)
		raw_len = MAX_MATCH_BYTES;
	if (ctx->raw_field >= 0)
		field_set(ctx, ctx->raw_field, ctx->line, raw_len);
	/* the prefilter scans up to the end of both the message and the raw
	 * line as the leaves see them */
	scan_len = (size_t)(h.msg - ctx->line) + msg_len;
	if (scan_len < raw_len)
		scan_len = raw_len;
	if (ev->agent != NULL && ev->agent_len > 0) {
		size_t al = ev->agent_len < sizeof(ctx->agent) ?
		    ev->agent_len : sizeof(ctx->agent);

		memcpy(ctx->agent, ev->agent, al);
		field_set(ctx, FIELD_AGENT, ctx->agent, al);
	}

	rt = ruleset_route(rs, h.program, h.program_len);
	/* one multi-literal scan of the message gives the candidates */
	scanned = rt->pf != NULL &&
	    prefilter_scan(ctx->pf, rt, ctx->line, scan_len) == 0;

	/* decoders: every one that matches adds the fields it captured; a
	 * field already set keeps its first value.  Then ignore rules (one
	 * match and the event raises nothing), then the other roots.  With a
	 * prefilter, only the candidate slots, in the same order. */
	if (scanned) {
		const uint32_t *slots;
		size_t nc = prefilter_candidates(ctx->pf, rt, &slots), k = 0;
		size_t nd = rt->ndecoders, ni = rt->nignores;

		for (; k < nc && slots[k] < nd; k++) {
			int rc = decoder_step(ctx, rt->decoders[slots[k]], &h,
			    msg_len, &tried, &decoder);

			if (rc != 0)
				return rc;
		}
		for (; k < nc && slots[k] < nd + ni; k++)
			if (rule_eval(ctx, rt->ignores[slots[k] - nd]))
				break;
		while (k < nc && slots[k] < nd + ni)
			k++;
		if (!ctx->silenced && ctx->ix == NULL)
			for (; k < nc; k++)
				(void)rule_eval(ctx,
				    rt->roots[slots[k] - nd - ni]);
	} else {
		for (size_t i = 0; i < rt->ndecoders; i++) {
			int rc = decoder_step(ctx, rt->decoders[i], &h,
			    msg_len, &tried, &decoder);

			if (rc != 0)
				return rc;
		}
		for (size_t i = 0; i < rt->nignores; i++)
			if (rule_eval(ctx, rt->ignores[i]))
				break;
		if (!ctx->silenced && ctx->ix == NULL)
			for (size_t i = 0; i < rt->nroots; i++)
				(void)rule_eval(ctx, rt->roots[i]);
	}
	/* with the rule index: only the roots the event's fields allow, in
	 * the same (load) order */
	if (!ctx->silenced && ctx->ix != NULL && rt->nroots > 0) {
		const uint32_t *idx;
		size_t nc = ruleindex_candidates(ctx->ix, rs, rt,
		    ctx->setids, ctx->nsetids, field_value_cb, ctx, &idx);

		for (size_t k = 0; k < nc; k++)
			(void)rule_eval(ctx, rs->rules[idx[k]]);
	}
	if (ctx->silenced)
		ctx->nalerts = 0;

	res->decoder = decoder;
	res->fields = ctx->fields;
	res->nfields = ctx->nfields;
	/* the record's own time (Windows TimeCreated, a decoder's `time:`)
	 * before the syslog header's, which is when it was shipped */
	res->time_us = ctx->has_win_time ? ctx->win_time_us :
	    ctx->has_rec_time ? ctx->rec_time_us :
	    h.has_time ? h.time_us : ev->time_us;
	res->read_us = ev->time_us;
	res->matched = ctx->matched;
	res->nmatched = ctx->nmatched;
	res->alerts = ctx->alerts;
	res->nalerts = ctx->nalerts;
	return 0;
}
