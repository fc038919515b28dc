/*
 * decode_audit.c - Linux audit records and the assembly of one event's
 * records into one process / file / network event.
 *
 * A record (audit.log, or audisp / audisp-syslog after a syslog header):
 *
 *   [node=NAME ]type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): KEY=VALUE ...
 *
 * VALUE is "quoted" (no escapes: the kernel hex-encodes any string that
 * holds a quote, a space or a control byte), 'single-quoted' (user-space
 * records: msg='op=... acct="root" res=failed', whose items are decoded
 * as fields too), or bare.  The kernel writes the "untrusted strings"
 * (audit_log_untrustedstring: comm, exe, cwd, name, proctitle, key, the
 * EXECVE arguments, ...) either quoted or as bare hex; a bare value of
 * such a key is hex-decoded (PROCTITLE's NUL separators become spaces).
 * Hex that does not decode (odd length, a non-hex digit) is kept as
 * written and counted.  auditd's ENRICHED format appends, after a 0x1d
 * byte, the interpreted values in upper case (UID="root" SYSCALL=execve):
 * they are fields too.
 *
 * The records of one kernel event share (node, serial): SYSCALL, then
 * EXECVE (argc, a0..aN, long arguments as aN_len / aN[k]), CWD, PATH (one
 * per file), SOCKADDR, PROCTITLE, and in audit.log an EOE.  The assembler
 * keeps a bounded table of events in progress (struct audit_asm) and, on
 * the record that ends one (PROCTITLE or EOE, whichever comes first),
 * gives the fields of the whole event in the names of Sysmon for Linux
 * (Image, CommandLine, CurrentDirectory, User, ...; audit_assemble).
 * An event that never ends (a lost record, a forwarder that drops
 * PROCTITLE and EOE) is dropped from the table after AUDIT_WAIT_S seconds
 * of record time, or for room, and counted (incomplete).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"

/* Keys whose bare values are hex-encoded strings (audit_log_untrustedstring
 * and audit_log_n_untrustedstring callers in the kernel and auditd). */
static const char *const hex_keys[] = {
	"acct", "cmd", "comm", "cwd", "data", "dir", "exe", "file", "grp",
	"key", "name", "new-disk", "new_group", "ocomm", "old-disk", "path",
	"proctitle", "root_dir", "saddr_path", "vm", "watch", NULL
};

static int
is_hexdig(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
	    (c >= 'a' && c <= 'f');
}

static int
hexval(int c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* "a12" or "a12[3]" (an EXECVE argument or piece of one). */
static int
is_arg_key(const char *k, size_t n)
{
	size_t i = 1;

	if (n < 2 || k[0] != 'a' || k[1] < '0' || k[1] > '9')
		return 0;
	while (i < n && k[i] >= '0' && k[i] <= '9')
		i++;
	if (i == n)
		return 1;
	if (k[i] != '[')
		return 0;
	i++;
	while (i < n && k[i] >= '0' && k[i] <= '9')
		i++;
	return i + 1 == n && k[i] == ']';
}

static int
hex_key(const char *k, size_t n, int execve)
{
	if (execve > 0 && is_arg_key(k, n))
		return 1;
	for (size_t i = 0; hex_keys[i] != NULL; i++)
		if (strlen(hex_keys[i]) == n && memcmp(hex_keys[i], k, n) == 0)
			return 1;
	return 0;
}

/* Decode hex (v, n) into the arena; NULL when it is not hex (or no room:
 * *oom).  NULs become spaces (PROCTITLE separates arguments with them). */
static char *
hex_decode(struct field_arena *a, const char *v, size_t n, size_t *out_len,
    int *oom)
{
	char *o;

	*oom = 0;
	if (n == 0 || n % 2 != 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!is_hexdig((unsigned char)v[i]))
			return NULL;
	if (n / 2 + 1 > a->cap - a->len) {
		*oom = 1;
		return NULL;
	}
	o = a->buf + a->len;
	for (size_t i = 0; i < n / 2; i++) {
		int c = hexval((unsigned char)v[2 * i]) << 4 |
		    hexval((unsigned char)v[2 * i + 1]);

		o[i] = c == 0 ? ' ' : (char)c;
	}
	*out_len = n / 2;
	/* a trailing NUL (proctitle of one argument) is not part of it */
	while (*out_len > 0 && o[*out_len - 1] == ' ' &&
	    v[2 * (*out_len - 1)] == '0' && v[2 * (*out_len - 1) + 1] == '0')
		(*out_len)--;
	o[*out_len] = '\0';
	a->len += n / 2 + 1;
	return o;
}

/* The fixed prefix "[node=N ]type=T msg=audit(S.M:SERIAL): "; bytes
 * consumed, 0 when (p, end) is not an audit record. */
static size_t
parse_prefix(const char *p, const char *end, struct audit_info *ai)
{
	const char *s = p, *q;

	if (end - p > 5 && memcmp(p, "node=", 5) == 0) {
		q = p + 5;
		while (q < end && *q != ' ')
			q++;
		if (q == end || q == p + 5)
			return 0;
		ai->node = p + 5;
		ai->node_len = (size_t)(q - p - 5);
		p = q + 1;
	}
	if (end - p < 5 || memcmp(p, "type=", 5) != 0)
		return 0;
	p += 5;
	q = p;
	while (q < end && ((*q >= 'A' && *q <= 'Z') || *q == '_' ||
	    (*q >= '0' && *q <= '9')))
		q++;
	if (q == p || q - p > 40 || end - q < 12 || memcmp(q, " msg=audit(",
	    11) != 0)
		return 0;
	ai->type = p;
	ai->type_len = (size_t)(q - p);
	p = q + 11;
	ai->stamp = p;
	{
		uint64_t sec = 0, ms = 0, serial = 0;
		size_t nd = 0, nf = 0, ns = 0;

		while (p < end && *p >= '0' && *p <= '9' && nd < 12) {
			sec = sec * 10 + (uint64_t)(*p++ - '0');
			nd++;
		}
		if (nd == 0 || p >= end || *p != '.')
			return 0;
		p++;
		while (p < end && *p >= '0' && *p <= '9' && nf < 9) {
			if (nf < 6)
				ms = ms * 10 + (uint64_t)(*p - '0');
			p++;
			nf++;
		}
		if (nf == 0 || p >= end || *p != ':')
			return 0;
		for (size_t k = nf; k < 6; k++)
			ms *= 10;
		ai->stamp_len = (size_t)(p - ai->stamp);
		p++;
		while (p < end && *p >= '0' && *p <= '9' && ns < 20) {
			serial = serial * 10 + (uint64_t)(*p++ - '0');
			ns++;
		}
		if (ns == 0 || ns == 20 || end - p < 2 || p[0] != ')' ||
		    p[1] != ':')
			return 0;
		ai->time_us = sec * 1000000 + ms;
		ai->serial = serial;
		ai->serial_txt = p - ns;
		ai->serial_len = ns;
	}
	p += 2;
	if (p < end && *p == ' ')
		p++;
	return (size_t)(p - s);
}

/* Emit one field; a key named like a header field is "audit.KEY". */
static int
put(struct field_arena *a, field_emit_fn emit, void *arg, const char *k,
    size_t kn, const char *v, size_t vn, struct audit_info *ai)
{
	char *name;

	if (rules_builtin_name(k, kn)) {
		const char *pre = ai->kv ? "kv." : "audit.";
		size_t pl = strlen(pre);
		char tmp[64];

		if (kn > sizeof(tmp) - pl - 1)
			return 0;
		memcpy(tmp, pre, pl);
		memcpy(tmp + pl, k, kn);
		name = field_arena_dup(a, tmp, kn + pl);
		kn += pl;
	} else {
		name = field_arena_dup(a, k, kn);
	}
	if (name == NULL) {
		ai->dropped++;
		return 0;
	}
	return emit(arg, name, kn, v, vn);
}

/* key=value items of (p, end); depth 0: the record, 1: inside msg='..'. */
static int
parse_items(const char *p, const char *end, int depth, int execve,
    struct field_arena *a, field_emit_fn emit, void *arg,
    struct audit_info *ai)
{
	int hex = execve >= 0;	/* -1: a key=value record, no hex */

	while (p < end) {
		const char *k, *v;
		size_t kn, vn;
		int quoted = 0;

		while (p < end && (*p == ' ' || *p == '\x1d' || *p == ','))
			p++;
		if (p >= end)
			break;
		k = p;
		while (p < end && *p != '=' && *p != ' ' && *p != '\x1d')
			p++;
		kn = (size_t)(p - k);
		if (p >= end || *p != '=' || kn == 0 || kn > 48) {
			/* a word that is not key=value: skip it */
			ai->skipped++;
			while (p < end && *p != ' ' && *p != '\x1d')
				p++;
			continue;
		}
		p++;
		if (p < end && (*p == '"' || *p == '\'')) {
			char qc = *p++;

			v = p;
			while (p < end && *p != qc)
				p++;
			vn = (size_t)(p - v);
			if (p < end)
				p++;
			else
				ai->unterminated++;
			quoted = qc == '"' ? 1 : 2;
		} else {
			v = p;
			while (p < end && *p != ' ' && *p != '\x1d')
				p++;
			vn = (size_t)(p - v);
		}
		if (quoted == 2 && depth == 0 && kn == 3 &&
		    memcmp(k, "msg", 3) == 0) {
			/* user-space record: its items are fields */
			if (parse_items(v, v + vn, 1, 0, a, emit, arg, ai))
				return -1;
			continue;
		}
		if (hex && !quoted && hex_key(k, kn, execve) &&
		    !(vn == 6 && memcmp(v, "(null)", 6) == 0) &&
		    !(vn == 1 && v[0] == '?')) {
			size_t dn;
			int oom;
			char *d = hex_decode(a, v, vn, &dn, &oom);

			if (d != NULL) {
				v = d;
				vn = dn;
			} else if (oom) {
				ai->dropped++;
				continue;
			} else {
				ai->badhex++;
			}
		}
		if (put(a, emit, arg, k, kn, v, vn, ai) != 0)
			return -1;
	}
	return 0;
}

int
audit_is_record(const char *buf, size_t len)
{
	struct audit_info ai;

	memset(&ai, 0, sizeof(ai));
	return len >= 20 && (buf[0] == 't' || buf[0] == 'n') &&
	    parse_prefix(buf, buf + len, &ai) != 0;
}

int
audit_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, struct audit_info *ai)
{
	const char *end = buf + len;
	size_t n;
	int execve;

	memset(ai, 0, sizeof(*ai));
	while (len > 0 && (*buf == ' ' || *buf == '\t')) {
		buf++;
		len--;
	}
	if ((n = parse_prefix(buf, end, ai)) == 0)
		return 1;
	execve = ai->type_len == 6 && memcmp(ai->type, "EXECVE", 6) == 0;
	if (emit(arg, "type", 4, ai->type, ai->type_len) != 0 ||
	    emit(arg, "audit_time", 10, ai->stamp, ai->stamp_len) != 0 ||
	    emit(arg, "audit_serial", 12, ai->serial_txt, ai->serial_len) != 0)
		return 0;
	if (ai->node != NULL &&
	    emit(arg, "node", 4, ai->node, ai->node_len) != 0)
		return 0;
	(void)parse_items(buf + n, end, 0, execve, a, emit, arg, ai);
	return 0;
}

/* ---- key=value records (FortiGate, Sophos, ...) --------------------------- */

int
kv_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, struct audit_info *ai)
{
	const char *p = buf, *end = buf + len;
	size_t pairs = 0;

	memset(ai, 0, sizeof(*ai));
	while (p < end && *p == ' ')
		p++;
	/* the first word is key=value, and there are at least three */
	for (const char *q = p; q < end && pairs < KV_MIN_PAIRS; ) {
		const char *k = q;

		while (q < end && *q != '=' && *q != ' ')
			q++;
		if (q >= end || *q != '=' || q == k) {
			if (pairs == 0 || q >= end)
				return 1;
		} else {
			pairs++;
			q++;
			if (q < end && *q == '"') {
				const char *c = memchr(q + 1, '"',
				    (size_t)(end - q - 1));

				q = c != NULL ? c + 1 : end;
			}
		}
		while (q < end && *q != ' ')
			q++;
		while (q < end && *q == ' ')
			q++;
	}
	if (pairs < KV_MIN_PAIRS || audit_is_record(p, (size_t)(end - p)))
		return 1;
	ai->kv = 1;
	/* depth 1: a msg='...' is a value like any other; no hex */
	(void)parse_items(p, end, 1, -1, a, emit, arg, ai);
	return 0;
}

/* ---- assembly ------------------------------------------------------------- */

/* What one event in progress keeps of its records (strings in buf). */
enum {
	AS_EXE = 0, AS_COMM, AS_UID, AS_UNAME, AS_AUID, AS_AUNAME, AS_PID,
	AS_PPID, AS_SES, AS_SYSCALL, AS_SYSNAME, AS_SUCCESS, AS_KEY, AS_CWD,
	AS_ARGS, AS_PROCTITLE, AS_PATH, AS_CREATE, AS_SADDR, AS_TTY,
	AS_NSTR
};

struct audit_pending {
	int		 used;
	uint64_t	 serial;
	uint64_t	 time_us;	/* of its first record */
	uint64_t	 seq;		/* arrival order, for eviction */
	char		 host[MAX_HOST_BYTES];
	size_t		 host_len;
	uint16_t	 off[AS_NSTR];	/* into buf; len 0: absent */
	uint16_t	 len[AS_NSTR];
	uint32_t	 argc;		/* EXECVE argc */
	int		 has_execve;
	char		 buf[AUDIT_EVENT_BYTES];
	size_t		 blen;
};

struct audit_asm {
	struct audit_pending	 p[MAX_AUDIT_PENDING];
	uint64_t		 seq;
};

int
audit_asm_new(struct audit_asm **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? TS_ENOMEM : 0;
}

void
audit_asm_free(struct audit_asm **as)
{
	if (as == NULL)
		return;
	free(*as);
	*as = NULL;
}

size_t
audit_asm_pending(const struct audit_asm *as)
{
	size_t n = 0;

	for (size_t i = 0; as != NULL && i < MAX_AUDIT_PENDING; i++)
		n += as->p[i].used;
	return n;
}

/* Append (v, n) to slot k of e (only its first value); 1 when cut. */
static int
pend_set(struct audit_pending *e, int k, const char *v, size_t n)
{
	int cut = 0;

	if (e->len[k] != 0)
		return 0;
	if (n > sizeof(e->buf) - e->blen) {
		n = sizeof(e->buf) - e->blen;
		cut = 1;
	}
	if (n > UINT16_MAX)
		n = UINT16_MAX;
	memcpy(e->buf + e->blen, v, n);
	e->off[k] = (uint16_t)e->blen;
	e->len[k] = (uint16_t)n;
	e->blen += n;
	return cut;
}

/* Append an argument to the command line (space-separated). */
static int
pend_arg(struct audit_pending *e, const char *v, size_t n)
{
	size_t room = sizeof(e->buf) - e->blen;
	int cut = 0;

	if (e->len[AS_ARGS] == 0) {
		e->off[AS_ARGS] = (uint16_t)e->blen;
	} else if (e->off[AS_ARGS] + e->len[AS_ARGS] != e->blen) {
		return 1;	/* another slot was written after it */
	} else {
		if (room == 0)
			return 1;
		e->buf[e->blen++] = ' ';
		e->len[AS_ARGS]++;
		room--;
	}
	if (n > room) {
		n = room;
		cut = 1;
	}
	if ((size_t)e->len[AS_ARGS] + n > UINT16_MAX)
		return 1;
	memcpy(e->buf + e->blen, v, n);
	e->blen += n;
	e->len[AS_ARGS] = (uint16_t)(e->len[AS_ARGS] + n);
	return cut;
}

static const char *
pend_get(const struct audit_pending *e, int k, size_t *n)
{
	*n = e->len[k];
	return e->len[k] ? e->buf + e->off[k] : NULL;
}

/* The pending event of (host, serial), made when absent: the oldest is
 * dropped for room (counted incomplete). */
static struct audit_pending *
pend_find(struct audit_asm *as, const char *host, size_t hl, uint64_t serial,
    uint64_t t, struct audit_asm_stats *st)
{
	struct audit_pending *e, *free_e = NULL, *old = NULL;

	if (hl > MAX_HOST_BYTES)
		hl = MAX_HOST_BYTES;
	for (size_t i = 0; i < MAX_AUDIT_PENDING; i++) {
		e = &as->p[i];
		if (!e->used) {
			if (free_e == NULL)
				free_e = e;
			continue;
		}
		if (e->serial == serial && e->host_len == hl &&
		    memcmp(e->host, host, hl) == 0)
			return e;
		/* the bounded wait: an event of this host older than
		 * AUDIT_WAIT_S in record time will not be completed */
		if (t > e->time_us + AUDIT_WAIT_S * 1000000ULL) {
			e->used = 0;
			st->incomplete++;
			if (free_e == NULL)
				free_e = e;
			continue;
		}
		if (old == NULL || e->seq < old->seq)
			old = e;
	}
	if (free_e == NULL) {
		free_e = old;
		st->incomplete++;
		st->evicted++;
	}
	e = free_e;
	memset(e, 0, offsetof(struct audit_pending, buf));
	e->blen = 0;
	e->used = 1;
	e->serial = serial;
	e->time_us = t;
	e->seq = ++as->seq;
	memcpy(e->host, host, hl);
	e->host_len = hl;
	return e;
}

/* Record types that end a kernel event. */
static int
ends_event(const char *t, size_t n)
{
	return (n == 9 && memcmp(t, "PROCTITLE", 9) == 0) ||
	    (n == 3 && memcmp(t, "EOE", 3) == 0);
}

/* Record types of the multi-record kernel events the assembler keeps. */
static int
kernel_part(const char *t, size_t n)
{
	static const char *const k[] = { "SYSCALL", "EXECVE", "CWD", "PATH",
	    "SOCKADDR", "PROCTITLE", "EOE", "BPRM_FCAPS", "MMAP", "FD_PAIR",
	    "OBJ_PID", "EXECVE", NULL };

	for (size_t i = 0; k[i] != NULL; i++)
		if (strlen(k[i]) == n && memcmp(k[i], t, n) == 0)
			return 1;
	return 0;
}

static int
fname_is(const struct rules_field *f, const char *s)
{
	return strcmp(f->name, s) == 0;
}

int
audit_asm_add(struct audit_asm *as, const char *host, size_t hl,
    const struct audit_info *ai, const struct rules_field *f, size_t nf,
    struct audit_asm_stats *st, struct audit_pending **done)
{
	struct audit_pending *e;
	int is_exec, is_path, is_sys, is_cwd, is_sock, is_ptitle, cut = 0;
	const char *t = ai->type;
	size_t tn = ai->type_len;

	*done = NULL;
	if (!kernel_part(t, tn))
		return 0;
	if (ai->node != NULL) {
		host = ai->node;
		hl = ai->node_len;
	}
	e = pend_find(as, host, hl, ai->serial, ai->time_us, st);
	if (e->len[AS_EXE] == 0 && e->has_execve == 0 && e->len[AS_CWD] == 0 &&
	    tn == 3 && memcmp(t, "EOE", 3) == 0 && e->blen == 0) {
		/* an EOE of an event already given (PROCTITLE came first) or
		 * never seen: nothing to give */
		e->used = 0;
		return 0;
	}
	is_exec = tn == 6 && memcmp(t, "EXECVE", 6) == 0;
	is_path = tn == 4 && memcmp(t, "PATH", 4) == 0;
	/* the record type is the same for every field: test it once */
	is_sys = tn == 7 && memcmp(t, "SYSCALL", 7) == 0;
	is_cwd = tn == 3 && memcmp(t, "CWD", 3) == 0;
	is_sock = tn == 8 && memcmp(t, "SOCKADDR", 8) == 0;
	is_ptitle = tn == 9 && memcmp(t, "PROCTITLE", 9) == 0;
	if (is_exec)
		e->has_execve = 1;
	for (size_t i = 0; i < nf; i++) {
		const struct rules_field *x = &f[i];

		if (is_sys) {
			static const struct { const char *n; int k; } m[] = {
				{ "exe", AS_EXE }, { "comm", AS_COMM },
				{ "uid", AS_UID }, { "UID", AS_UNAME },
				{ "auid", AS_AUID }, { "AUID", AS_AUNAME },
				{ "audit.pid", AS_PID }, { "ppid", AS_PPID },
				{ "ses", AS_SES }, { "syscall", AS_SYSCALL },
				{ "SYSCALL", AS_SYSNAME },
				{ "success", AS_SUCCESS }, { "key", AS_KEY },
				{ "tty", AS_TTY },
			};

			for (size_t j = 0; j < sizeof(m) / sizeof(m[0]); j++)
				if (fname_is(x, m[j].n))
					cut |= pend_set(e, m[j].k, x->val,
					    x->len);
		} else if (is_exec && is_arg_key(x->name, strlen(x->name))) {
			cut |= pend_arg(e, x->val, x->len);
		} else if (is_cwd && fname_is(x, "cwd")) {
			cut |= pend_set(e, AS_CWD, x->val, x->len);
		} else if (is_path && fname_is(x, "name") &&
		    e->len[AS_PATH] == 0) {
			/* the file of the call: the PATH with nametype
			 * CREATE, else the first that is not the parent
			 * directory */
			const struct rules_field *nt = NULL;

			for (size_t j = 0; j < nf; j++)
				if (fname_is(&f[j], "nametype"))
					nt = &f[j];
			if (nt != NULL && nt->len == 6 &&
			    memcmp(nt->val, "PARENT", 6) == 0)
				continue;
			if (nt != NULL && nt->len == 6 &&
			    memcmp(nt->val, "CREATE", 6) == 0)
				cut |= pend_set(e, AS_CREATE, "1", 1);
			cut |= pend_set(e, AS_PATH, x->val, x->len);
		} else if (is_sock && fname_is(x, "saddr")) {
			cut |= pend_set(e, AS_SADDR, x->val, x->len);
		} else if (is_ptitle && fname_is(x, "proctitle")) {
			cut |= pend_set(e, AS_PROCTITLE, x->val, x->len);
		}
	}
	if (cut)
		st->truncated++;
	if (ends_event(t, tn)) {
		e->used = 0;	/* given now; its memory stays valid until
				 * the next audit_asm_add */
		st->assembled++;
		*done = e;
	}
	return 0;
}

/* "02000016C0A801010000000000000000" (sockaddr_in: family 2, port, ip)
 * or family 10 (sockaddr_in6) into text; 0 or -1. */
static int
saddr_inet(const char *h, size_t n, char *ip, size_t iplen, char *port,
    size_t plen)
{
	unsigned char b[28];
	size_t nb = n / 2;

	if (n % 2 != 0 || nb < 8)
		return -1;
	if (nb > sizeof(b))
		nb = sizeof(b);
	for (size_t i = 0; i < nb; i++) {
		if (!is_hexdig((unsigned char)h[2 * i]) ||
		    !is_hexdig((unsigned char)h[2 * i + 1]))
			return -1;
		b[i] = (unsigned char)(hexval((unsigned char)h[2 * i]) << 4 |
		    hexval((unsigned char)h[2 * i + 1]));
	}
	/* family is host order (little-endian on the machines audit runs
	 * on: x86, arm); port and address network order */
	if (b[0] == 2 && b[1] == 0) {
		snprintf(ip, iplen, "%u.%u.%u.%u", b[4], b[5], b[6], b[7]);
	} else if (b[0] == 10 && b[1] == 0 && nb >= 24) {
		size_t o = 0;

		for (int i = 0; i < 8 && o < iplen; i++)
			o += (size_t)snprintf(ip + o, iplen - o, "%s%x",
			    i ? ":" : "", (unsigned)(b[8 + 2 * i] << 8 |
			    b[9 + 2 * i]));
	} else {
		return -1;
	}
	snprintf(port, plen, "%u", (unsigned)(b[2] << 8 | b[3]));
	return 0;
}

int
audit_assemble(const struct audit_pending *e, struct field_arena *a,
    field_emit_fn emit, void *arg)
{
	const char *v, *img;
	size_t n, imgn;
	char ip[64], port[8];
	const char *sc;
	size_t scn;
	int execve, connect;

	img = pend_get(e, AS_EXE, &imgn);
	sc = pend_get(e, AS_SYSNAME, &scn);
	if (sc == NULL)
		sc = pend_get(e, AS_SYSCALL, &scn);
	/* syscall numbers: execve 59 / execveat 322 on x86_64, 11 on i386,
	 * 221 on aarch64; connect 42 / 102 / 203 (interpreted names from
	 * ENRICHED logs are used when present) */
	execve = e->has_execve;
	connect = sc != NULL && ((scn == 7 && memcmp(sc, "connect", 7) == 0) ||
	    (scn == 2 && memcmp(sc, "42", 2) == 0)) &&
	    e->len[AS_SADDR] != 0;
#define EMIT(name, val, len) do {					\
	if ((val) != NULL && emit(arg, name, strlen(name), val, len) != 0)	\
		return -1;						\
} while (0)
	EMIT("Image", img, imgn);
	if (img == NULL)
		EMIT("Image", pend_get(e, AS_COMM, &n), n);
	if ((v = pend_get(e, AS_UNAME, &n)) != NULL)
		EMIT("User", v, n);
	else
		EMIT("User", pend_get(e, AS_UID, &n), n);
	EMIT("LogonId", pend_get(e, AS_SES, &n), n);
	EMIT("ProcessId", pend_get(e, AS_PID, &n), n);
	EMIT("ParentProcessId", pend_get(e, AS_PPID, &n), n);
	EMIT("CurrentDirectory", pend_get(e, AS_CWD, &n), n);
	if ((v = pend_get(e, AS_KEY, &n)) != NULL &&
	    !(n == 6 && memcmp(v, "(null)", 6) == 0))
		EMIT("audit_key", v, n);
	EMIT("Channel", "Linux-Audit", 11);
	if (execve) {
		if ((v = pend_get(e, AS_ARGS, &n)) != NULL)
			EMIT("CommandLine", v, n);
		else
			EMIT("CommandLine", pend_get(e, AS_PROCTITLE, &n), n);
		EMIT("EventID", "1", 1);
		return 0;
	}
	if (connect && saddr_inet(e->buf + e->off[AS_SADDR],
	    e->len[AS_SADDR], ip, sizeof(ip), port, sizeof(port)) == 0) {
		char *ipd = field_arena_dup(a, ip, strlen(ip));
		char *pd = field_arena_dup(a, port, strlen(port));

		if (ipd == NULL || pd == NULL)
			return -1;
		EMIT("DestinationIp", ipd, strlen(ipd));
		EMIT("DestinationPort", pd, strlen(pd));
		EMIT("Initiated", "true", 4);
		EMIT("EventID", "3", 1);
		return 0;
	}
	if (e->len[AS_CREATE] != 0 && (v = pend_get(e, AS_PATH, &n)) != NULL) {
		const char *cwd;
		size_t cn;

		if (v[0] != '/' && (cwd = pend_get(e, AS_CWD, &cn)) != NULL) {
			char *j;

			if (cn + n + 2 > a->cap - a->len)
				return -1;
			j = a->buf + a->len;
			memcpy(j, cwd, cn);
			j[cn] = '/';
			memcpy(j + cn + 1, v, n);
			j[cn + 1 + n] = '\0';
			a->len += cn + n + 2;
			v = j;
			n = cn + 1 + n;
		}
		EMIT("TargetFilename", v, n);
		EMIT("EventID", "11", 2);
	}
#undef EMIT
	return 0;
}

/* ---- saving the table across restarts ------------------------------------ */

/* Layout: "AUA1", u32 count, then per event: u64 serial, u64 time, u16
 * host_len, host, u16 off[], u16 len[], u32 argc, u8 has_execve, u32
 * blen, buf.  Little-endian; for one machine's own state only. */

static void
put_u(unsigned char **p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		*(*p)++ = (unsigned char)(v >> (8 * i));
}

static int
get_u(const unsigned char **p, const unsigned char *end, int n, uint64_t *v)
{
	if (end - *p < n)
		return -1;
	*v = 0;
	for (int i = 0; i < n; i++)
		*v |= (uint64_t)(*(*p)++) << (8 * i);
	return 0;
}

int
audit_asm_save(const struct audit_asm *as, void **out, size_t *out_len)
{
	size_t need = 8;
	unsigned char *b, *p;
	uint32_t cnt = 0;

	for (size_t i = 0; i < MAX_AUDIT_PENDING; i++)
		if (as->p[i].used) {
			need += 8 + 8 + 2 + as->p[i].host_len + 4 * AS_NSTR +
			    4 + 1 + 4 + as->p[i].blen;
			cnt++;
		}
	if ((b = malloc(need)) == NULL)
		return TS_ENOMEM;
	p = b;
	memcpy(p, "AUA1", 4);
	p += 4;
	put_u(&p, cnt, 4);
	for (size_t i = 0; i < MAX_AUDIT_PENDING; i++) {
		const struct audit_pending *e = &as->p[i];

		if (!e->used)
			continue;
		put_u(&p, e->serial, 8);
		put_u(&p, e->time_us, 8);
		put_u(&p, e->host_len, 2);
		memcpy(p, e->host, e->host_len);
		p += e->host_len;
		for (int k = 0; k < AS_NSTR; k++)
			put_u(&p, e->off[k], 2);
		for (int k = 0; k < AS_NSTR; k++)
			put_u(&p, e->len[k], 2);
		put_u(&p, e->argc, 4);
		put_u(&p, (uint64_t)e->has_execve, 1);
		put_u(&p, e->blen, 4);
		memcpy(p, e->buf, e->blen);
		p += e->blen;
	}
	*out = b;
	*out_len = (size_t)(p - b);
	return 0;
}

int
audit_asm_restore(struct audit_asm *as, const void *buf, size_t len)
{
	const unsigned char *p = buf, *end = p + len;
	uint64_t cnt, v;

	memset(as, 0, sizeof(*as));
	if (len < 8 || memcmp(p, "AUA1", 4) != 0)
		return TS_EINVAL;
	p += 4;
	if (get_u(&p, end, 4, &cnt) || cnt > MAX_AUDIT_PENDING)
		return TS_EINVAL;
	for (uint64_t i = 0; i < cnt; i++) {
		struct audit_pending *e = &as->p[i];

		if (get_u(&p, end, 8, &e->serial) ||
		    get_u(&p, end, 8, &e->time_us) ||
		    get_u(&p, end, 2, &v) || v > MAX_HOST_BYTES ||
		    (size_t)(end - p) < v)
			goto bad;
		e->host_len = (size_t)v;
		memcpy(e->host, p, e->host_len);
		p += e->host_len;
		for (int k = 0; k < AS_NSTR; k++) {
			if (get_u(&p, end, 2, &v))
				goto bad;
			e->off[k] = (uint16_t)v;
		}
		for (int k = 0; k < AS_NSTR; k++) {
			if (get_u(&p, end, 2, &v))
				goto bad;
			e->len[k] = (uint16_t)v;
		}
		if (get_u(&p, end, 4, &v))
			goto bad;
		e->argc = (uint32_t)v;
		if (get_u(&p, end, 1, &v))
			goto bad;
		e->has_execve = v != 0;
		if (get_u(&p, end, 4, &v) || v > sizeof(e->buf) ||
		    (size_t)(end - p) < v)
			goto bad;
		e->blen = (size_t)v;
		memcpy(e->buf, p, e->blen);
		p += e->blen;
		for (int k = 0; k < AS_NSTR; k++)
			if ((size_t)e->off[k] + e->len[k] > e->blen)
				goto bad;
		e->used = 1;
		e->seq = ++as->seq;
	}
	return 0;
bad:
	memset(as, 0, sizeof(*as));
	return TS_EINVAL;
}
