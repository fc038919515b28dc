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

#include "err.h"
#include "limits.h"
#include "rules_int.h"

struct fslot {
	const char	*v;
	size_t		 len;
	uint32_t	 gen;		/* set in this event iff == ctx->gen */
};

struct rules_ctx {
	const struct ruleset	*rs;
	pcre2_match_data	*md;
	char			*line;		/* copy of the raw line */
	char			 host[MAX_HOST_BYTES];
	char			 agent[MAX_HOST_BYTES];
	struct fslot		*slots;		/* one per field name */
	uint32_t		 gen;
	struct rules_field	 fields[MAX_FIELDS];
	size_t			 nfields;
	size_t			 fields_dropped;	/* past MAX_FIELDS */
	const struct rule_info	**matched;
	size_t			 nmatched;
	const struct rule_info	**alerts;
	size_t			 nalerts;
	int			 silenced;	/* an ignore rule matched */
	struct rules_counters	 c;
};

uint32_t
rules_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

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

int
rules_parse_ip(const char *s, size_t len, int *family, unsigned char addr[16])
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return TS_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		static const unsigned char mapped[12] =
		    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		if (memcmp(addr, mapped, 12) == 0) {	/* ::ffff:a.b.c.d */
			memmove(addr, addr + 12, 4);
			memset(addr + 4, 0, 12);
			*family = 4;
		} else {
			*family = 6;
		}
		return 0;
	}
	return TS_EINVAL;
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
	ctx->md = pcre2_match_data_create(rs->max_groups + 1, NULL);
	ctx->line = malloc(MAX_LINE_BYTES);
	ctx->slots = calloc(rs->nfield_names, sizeof(*ctx->slots));
	ctx->matched = calloc(n, sizeof(*ctx->matched));
	ctx->alerts = calloc(n, sizeof(*ctx->alerts));
	if (ctx->md == NULL || ctx->line == NULL || ctx->slots == NULL ||
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
	free(ctx->slots);
	free(ctx->matched);
	free(ctx->alerts);
	free(ctx);
	*ctxp = NULL;
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
	if (ctx->nfields >= MAX_FIELDS) {
		ctx->fields_dropped++;
		return;
	}
	s->gen = ctx->gen;
	s->v = v;
	s->len = len;
	ctx->fields[ctx->nfields].name = ctx->rs->field_names[id];
	ctx->fields[ctx->nfields].val = v;
	ctx->fields[ctx->nfields].len = len;
	ctx->nfields++;
}

static const struct fslot *
field_get(const struct rules_ctx *ctx, int id)
{
	const struct fslot *s = &ctx->slots[id];

	return s->gen == ctx->gen ? s : NULL;
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

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
mem_eq(const char *a, const char *b, size_t n, int nocase)
{
	if (!nocase)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
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

/* ---- one event ------------------------------------------------------------ */

int
rules_eval(rules_ctx_t *ctx, const struct rules_event *ev,
    struct rules_result *res)
{
	const struct ruleset *rs = ctx->rs;
	const struct route *rt;
	struct syslog_hdr h;
	size_t n, msg_len;
	const char *decoder = NULL;

	ctx->c.events++;
	if (++ctx->gen == 0) {	/* wrapped: forget every slot */
		memset(ctx->slots, 0, rs->nfield_names * sizeof(*ctx->slots));
		ctx->gen = 1;
	}
	ctx->nfields = ctx->nmatched = ctx->nalerts = 0;
	ctx->silenced = 0;

	n = ev->raw_len;
	if (n > MAX_LINE_BYTES) {
		n = MAX_LINE_BYTES;
		ctx->c.truncated++;
	}
	if (n > 0)
		memcpy(ctx->line, ev->raw, n);
	syslog_parse(ctx->line, n, ev->time_us, &h);

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
	if (ev->agent != NULL && ev->agent_len > 0) {
		size_t al = ev->agent_len < sizeof(ctx->agent) ?
		    ev->agent_len : sizeof(ctx->agent);

		memcpy(ctx->agent, ev->agent, al);
		field_set(ctx, FIELD_AGENT, ctx->agent, al);
	}

	rt = ruleset_route(rs, h.program, h.program_len);

	/* decoders: every one that matches adds the fields it captured; a
	 * field already set keeps its first value */
	for (size_t i = 0; i < rt->ndecoders; i++) {
		const struct decoder *d = rt->decoders[i];
		PCRE2_SIZE *ov;
		uint32_t top;

		if (!rx_match(ctx, &d->rx, h.msg, msg_len))
			continue;
		if (decoder == NULL)
			decoder = d->name;
		/* pairs of groups that did not take part are PCRE2_UNSET */
		top = pcre2_get_ovector_count(ctx->md) - 1;
		if (d->ngroups < top)
			top = d->ngroups;
		ov = pcre2_get_ovector_pointer(ctx->md);
		for (uint32_t g = 1; g <= top; g++) {
			if (d->group_field[g] < 0 ||
			    ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
				continue;
			field_set(ctx, d->group_field[g], h.msg + ov[2 * g],
			    ov[2 * g + 1] - ov[2 * g]);
		}
	}

	/* ignore rules first: one match and the event raises nothing */
	for (size_t i = 0; i < rt->nignores; i++)
		if (rule_eval(ctx, rt->ignores[i]))
			break;
	if (!ctx->silenced)
		for (size_t i = 0; i < rt->nroots; i++)
			(void)rule_eval(ctx, rt->roots[i]);
	if (ctx->silenced)
		ctx->nalerts = 0;

	res->decoder = decoder;
	res->fields = ctx->fields;
	res->nfields = ctx->nfields;
	res->time_us = h.has_time ? h.time_us : ev->time_us;
	res->matched = ctx->matched;
	res->nmatched = ctx->nmatched;
	res->alerts = ctx->alerts;
	res->nalerts = ctx->nalerts;
	return 0;
}
