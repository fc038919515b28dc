/*
 * rules_int.h - private to rules/: the compiled form of a rule set, shared
 * by the loader (load.c), the syslog decoder (decode.c) and the matcher
 * (match.c).
 *
 * A rule is a tree of conditions (struct cond) over fields whose leaves are
 * literal, list, substring, regex and CIDR tests.  Native YAML rules compile
 * to an AND of leaves; Sigma rules will compile their condition grammar into
 * the same tree (AND / OR / NOT over the same leaves), so one matcher runs
 * both.
 */
#ifndef TOCSIN_RULES_INT_H
#define TOCSIN_RULES_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "rules/rules.h"
#include "rules/decode.h"

/* Longest program name (syslog TAG / APP-NAME) taken from a header.  RFC
 * 5424 allows 48 bytes for APP-NAME; real 3164 tags run longer. */
#define MAX_PROGRAM_BYTES	128
/* Longest pid / PROCID kept (RFC 5424: 128). */
#define MAX_PROCID_BYTES	128
/* Deepest if_rule chain: evaluation recurses once per level. */
#define MAX_RULE_DEPTH		16
/* Rule files found below one folder. */
#define MAX_RULE_FILES		4096
/* Entries of one `in:` list / one `cidr:` list. */
#define MAX_LEAF_VALUES		10000

/* ---- structured decoders (decode_json.c, decode_cef.c) ------------------ */

/* Fields one event may carry (header, decoders, JSON keys, CEF keys);
 * past it fields are dropped and counted. */
#define MAX_DECODED_FIELDS	512
/* JSON: nesting followed into objects/arrays (deeper values are skipped and
 * counted); the longest key path kept is MAX_JSON_PATH_BYTES (limits.h). */
#define MAX_JSON_DEPTH		32
/* CEF: longest header field (vendor, product, name, ...) and extension key;
 * a header field past it makes the line not CEF. */
#define MAX_CEF_HEADER_BYTES	1023
#define MAX_CEF_KEY_BYTES	63

enum dec_type { DEC_REGEX = 0, DEC_JSON, DEC_CEF, DEC_WINEVT, DEC_W3C,
    DEC_AUDIT, DEC_KV };

/* ---- Linux audit (decode_audit.c) ----------------------------------------- */

/* Events in progress the assembler holds per rule context; past it the
 * oldest is dropped (counted incomplete). */
#define MAX_AUDIT_PENDING	128
/* Bytes one event in progress keeps (executable, arguments, directory,
 * path, ...); past it values are cut (counted truncated). */
#define AUDIT_EVENT_BYTES	8192
/* The bounded wait: an event whose first record is this many seconds
 * older (record time) than a newer record is dropped, incomplete. */
#define AUDIT_WAIT_S		5

/* What audit_decode found besides the fields (pointers into the record). */
struct audit_info {
	const char	*type;		size_t type_len;
	const char	*node;		size_t node_len;	/* or NULL */
	const char	*stamp;		size_t stamp_len;	/* "S.MMM" */
	const char	*serial_txt;	size_t serial_len;
	uint64_t	 time_us;	/* msg=audit(TIME:...) */
	uint64_t	 serial;
	size_t		 badhex;	/* hex values kept as written */
	size_t		 dropped;	/* fields without arena room */
	size_t		 skipped;	/* words that are not key=value */
	size_t		 unterminated;	/* a quote never closed */
	int		 kv;		/* kv_decode: header-named keys are
					 * "kv.KEY" */
};

/*
 * Decode one audit record (buf, len; untrusted, not NUL-terminated; the
 * syslog message) into fields: type, audit_time, audit_serial, node, and
 * every KEY=VALUE (a key named like a header field is "audit.KEY"; the
 * items of a user-space msg='...' too), hex-encoded strings decoded.
 * Values are in the arena (hex-decoded ones, names) or point into buf
 * (not NUL-terminated: use their length).  Returns 0 (decoded as far as
 * it goes: info counts what was not), or 1 when buf is not an audit
 * record.
 */
int audit_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, struct audit_info *info);

/* Whether (buf, len) starts like an audit record ("type=T msg=audit(",
 * optionally after "node=N "). */
int audit_is_record(const char *buf, size_t len);

/* Key=value pairs a message needs to be decoded by a kv decoder. */
#define KV_MIN_PAIRS		3

/*
 * Decode a record of key=value pairs (FortiGate, Sophos XG, ...; values
 * bare or "quoted"): every pair becomes a field named by its key (a key
 * named like a header field is "kv.KEY").
 * Returns 0, or 1 when buf does not start with KV_MIN_PAIRS pairs, or is
 * an audit record (the audit decoder's).  info counts what was not read.
 */
int kv_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, struct audit_info *info);

struct audit_asm;		/* events in progress (opaque) */
struct audit_pending;		/* one of them */
struct audit_asm_stats {
	uint64_t	assembled;	/* events given whole */
	uint64_t	incomplete;	/* dropped before their last record */
	uint64_t	evicted;	/* of which for room */
	uint64_t	truncated;	/* values cut to AUDIT_EVENT_BYTES */
};
/* 0 or TS_ENOMEM; audit_asm_free takes NULL. */
int audit_asm_new(struct audit_asm **out);
void audit_asm_free(struct audit_asm **as);
/* Events in progress. */
size_t audit_asm_pending(const struct audit_asm *as);
/*
 * Add one decoded record (info and its fields f[0..nf)) of host (the
 * record's node= when it has one wins) to the table.  When the record ends
 * its event (PROCTITLE or EOE), *done is the whole event, valid until the
 * next call, for audit_assemble.  Always 0.
 */
int audit_asm_add(struct audit_asm *as, const char *host, size_t hl,
    const struct audit_info *info, const struct rules_field *f, size_t nf,
    struct audit_asm_stats *st, struct audit_pending **done);
/* Emit the fields of a whole event in Sysmon for Linux's names: Image,
 * CommandLine, CurrentDirectory, User, LogonId, ProcessId,
 * ParentProcessId, audit_key, Channel "Linux-Audit" and EventID 1
 * (execve), 3 (connect: DestinationIp, DestinationPort, Initiated) or 11
 * (a file created: TargetFilename).  0, or -1 (arena full or emit
 * stopped). */
int audit_assemble(const struct audit_pending *e, struct field_arena *a,
    field_emit_fn emit, void *arg);
/* The table as bytes (malloc'd, caller frees) and back, so that events in
 * progress survive a restart of the engine.  0, TS_ENOMEM; restore:
 * TS_EINVAL on bytes it did not write (the table is then empty). */
int audit_asm_save(const struct audit_asm *as, void **out, size_t *len);
int audit_asm_restore(struct audit_asm *as, const void *buf, size_t len);

/* The syslog header parser, struct field_arena, field_emit_fn and the
 * Windows event decoder: rules/decode.h */

/*
 * Decode a JSON object (buf, len; untrusted, not NUL-terminated): every
 * scalar becomes a field named by its key path joined with "." (arrays by
 * index: "a.0.b"); strings unescaped, numbers as text, true/false, null
 * skipped.  A top-level key equal to a header field name (host, program,
 * pid, message, agent, msgid) is named "json.KEY".  Returns 0 (fields
 * emitted; *dropped counts values skipped for depth, path length or arena
 * room) or TS_EINVAL when buf is not one JSON object.
 */
int json_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, size_t *dropped);

/*
 * Decode a CEF record "CEF:V|vendor|product|version|sigid|name|severity|ext"
 * (buf, len; untrusted) into cef.cef_version, cef.vendor, cef.product,
 * cef.version, cef.signature_id, cef.name, cef.severity and one field per
 * extension key (escapes \= \\ \n \r undone; a key equal to a header field
 * name is named "cef.KEY").  Returns 0 or TS_EINVAL when buf is not CEF
 * (no "CEF:", a bad version, fewer than 7 '|', a header field too long).
 * *dropped counts extension tokens that are not key=value and fields
 * without arena room.
 */
int cef_decode(const char *buf, size_t len, struct field_arena *a,
    field_emit_fn emit, void *arg, size_t *dropped);

/* ---- web logs (decode_web.c) --------------------------------------------- */

/* W3C sources (agent, host, file, program) whose #Fields: list is kept;
 * past it the least recently used is forgotten (counted). */
#define MAX_W3C_SOURCES		256
/* Columns of one #Fields: list kept (IIS offers about 25); more are
 * counted and their values not decoded. */
#define MAX_W3C_FIELDS		64
/* Longest W3C field name ("cs(X-Forwarded-For)"). */
#define MAX_W3C_NAME_BYTES	64

/*
 * Percent-decode (src, len) into dst (room for len bytes; the result is
 * never longer); plus: '+' is a space too (a query string, form data).
 * A '%' not followed by two hex digits is kept as written and counted in
 * *bad.  Returns the decoded length.
 */
size_t web_url_decode(const char *src, size_t len, char *dst, int plus,
    size_t *bad);

struct w3c;		/* the #Fields: of each source (one per ctx) */

/* What one w3c_decode found besides the fields. */
struct w3c_info {
	int	directive;	/* a #Directive: line */
	int	fields_changed;	/* a #Fields: that changed a source's list */
	int	bad_fields;	/* a #Fields: with no usable name (ignored) */
	int	defaulted;	/* read with IIS's default field list */
	int	mismatch;	/* columns != fields: decoded as far as
				 * they go */
	int	evicted;	/* a source forgotten for room */
	size_t	cut;		/* field names refused (too many, bad) */
	size_t	dropped;	/* values without arena room */
};

/* Whether (buf, len) may be a W3C line at all: a directive, a line shaped
 * like IIS's default columns, or any line once some source has #Fields:
 * (a cheap test before the source key is made). */
int w3c_candidate(const struct w3c *w, const char *buf, size_t len);

/* A table of sources; 0 or TS_ENOMEM.  w3c_free takes NULL. */
int w3c_new(struct w3c **out);
void w3c_free(struct w3c **w);

/*
 * Decode one W3C line (buf, len; untrusted) of the source named by (key,
 * klen): a directive (#Fields: sets the source's columns; every directive
 * gives w3c_directive and w3c_value) or a data line, each column a field
 * named as #Fields: names it, normalized (lower case, cs(User-Agent) ->
 * cs-user-agent); "-" is no value; IIS's '+' for a space in the user
 * agent is undone; "date time" gives w3c_datetime and cs-uri-stem with
 * cs-uri-query gives cs-uri (stem?query).  Returns 0 (decoded, as far as
 * the columns go), 1 (not W3C: no columns known for the source and not
 * shaped like IIS's default) or TS_ENOMEM.
 */
int w3c_decode(struct w3c *w, const char *key, size_t klen, const char *buf,
    size_t len, struct field_arena *a, field_emit_fn emit, void *arg,
    struct w3c_info *info);

/* rules/windows.yml, embedded at build time (build/gen/windows_decoder.c):
 * the built-in Windows decoder every rule set starts with. */
extern const char rules_windows_decoder[];
extern const size_t rules_windows_decoder_len;

/* An RFC 3339 / ISO 8601 time (buf, len: the whole of it) as microseconds
 * since the epoch (decode.c).  0 or TS_EINVAL. */
int rules_parse_time(const char *buf, size_t len, uint64_t *out);

/* ---- event time from the record (evtime.c) ------------------------------- */

/* Formats of one decoder's `time:` (see evtime.c for the directives). */
struct evtime_spec {
	int		 field;		/* field id holding the time, -1: none */
	char		**formats;	/* tried in order */
	size_t		 nformats;
	int		 zone;		/* EVTIME_ZONE_* */
	int32_t		 zone_off_s;	/* EVTIME_ZONE_FIXED: east of UTC */
};

/* ---- compiled rule set --------------------------------------------------- */

/* The field holding the whole raw line (header included, trailing CR/LF
 * not), set only when some rule tests it: Sigma keywords search it (ECS
 * calls it event.original).  The prefilter scans the raw line, of which
 * the message is a part, so literals of both gate rules. */
#define FIELD_RAW_NAME		"event.original"

/* Field ids that every event has (the first entries of the name table). */
enum {
	FIELD_HOST = 0,
	FIELD_PROGRAM,
	FIELD_PID,
	FIELD_MESSAGE,
	FIELD_AGENT,
	FIELD_MSGID,
	FIELD_SOURCE,
	FIELD_NBUILTIN
};

/* A compiled PCRE2 pattern with its cheap gate: a literal that every match
 * contains (lit NULL: no gate). */
struct rx {
	pcre2_code	*code;
	char		*src;		/* the pattern as written */
	char		*lit;		/* required literal, or NULL */
	size_t		 lit_len;
	char		*pre;		/* literal the subject must start with
					 * (pattern "^literal..."), or NULL */
	size_t		 pre_len;
};

enum leaf_op {
	LEAF_EQUALS = 1,	/* value equals one of vals */
	LEAF_CONTAINS,		/* value contains one of vals */
	LEAF_STARTSWITH,
	LEAF_ENDSWITH,
	LEAF_REGEX,		/* rx matches value */
	LEAF_CIDR,		/* value is an IP inside one of cidrs */
	LEAF_EXISTS,		/* the field is set */
	/* Sigma (rules/sigma/): */
	LEAF_GLOB,		/* value matches the glob vals[0]
				 * (rules/sigma/sigma.h SIGMA_GLOB_*) */
	LEAF_NUM,		/* value, a number, compares (cmp) with vals[0] */
	LEAF_FIELDREF,		/* value compares (cmp: a string op) with the
				 * value of field2 */
};

/* leaf.cmp of LEAF_NUM */
enum { LEAF_CMP_GT = 1, LEAF_CMP_GTE, LEAF_CMP_LT, LEAF_CMP_LTE };

struct cidr {
	int		family;		/* 4 or 6 */
	unsigned	bits;		/* prefix length */
	unsigned char	addr[16];	/* network, host bits zero */
};

struct leaf {
	int		 field;		/* index into ruleset field names */
	enum leaf_op	 op;
	int		 nocase;	/* ASCII case-insensitive string ops */
	char		**vals;		/* string ops */
	size_t		*lens;
	size_t		 nvals;
	struct rx	 rx;		/* LEAF_REGEX */
	struct cidr	*cidrs;		/* LEAF_CIDR */
	size_t		 ncidrs;
	int		 cmp;		/* LEAF_NUM: LEAF_CMP_*; LEAF_FIELDREF:
					 * LEAF_EQUALS, _CONTAINS, _STARTSWITH
					 * or _ENDSWITH */
	int		 field2;	/* LEAF_FIELDREF: the other field */
};

enum cond_kind { COND_AND = 1, COND_OR, COND_NOT, COND_LEAF };

struct cond {
	enum cond_kind	 kind;
	struct cond	**kids;		/* AND, OR: nkids; NOT: one */
	size_t		 nkids;
	struct leaf	 leaf;		/* COND_LEAF */
};

/* A decoder alias (`fields: {dst: src}` or `{dst: [src1, src2]}`): dst
 * takes the value of the first src that is set. */
struct alias {
	int		 dst;
	int		*src;
	size_t		 nsrc;
};

/* A decoder's `urldecode: {dst: src}` (form: `formdecode:`, '+' is a
 * space too): dst takes src's value URL-decoded. */
struct urlxf {
	int		 dst, src;
	int		 form;
};

struct decoder {
	char		*name;
	char		*file;
	int		 line;
	enum dec_type	 type;
	char		**programs;	/* NULL: every program */
	size_t		 nprograms;
	struct alias	*aliases;	/* applied after the decoder ran */
	size_t		 naliases;
	struct rx	 rx;		/* DEC_REGEX: applied to the message */
	int		*group_field;	/* capture number -> field id or -1 */
	uint32_t	 ngroups;	/* capture groups (group_field has +1) */
	struct evtime_spec time;	/* the event's time from a field */
	struct urlxf	*xforms;	/* urldecode: / formdecode: */
	size_t		 nxforms;
	int		*set_field;	/* `set: {field: value}`: constant */
	char		**set_val;	/* fields the decoder gives each */
	size_t		*set_len;	/* event it decodes (a log type for */
	size_t		 nset;		/* Sigma log-source conditions) */
};

/* A field a rule tests, kept until load checks that a decoder makes it. */
struct fieldref {
	int		field;
	int		line, col;
};

struct rule {
	struct rule_info info;		/* what callers see; its strings are
					 * the owned ones below */
	char		*id, *title, *description, *author, *file;
	char		**mitre, **groups;
	struct fieldref	*frefs;		/* load time only */
	size_t		 nfrefs;
	size_t		 idx;		/* position in load order */
	char		**programs;	/* routing (roots) or condition */
	size_t		 nprograms;
	char		*parent_id;	/* if_rule as written, or NULL */
	struct rule	*parent;
	struct rule	**kids;		/* children in load order */
	size_t		 nkids;
	struct cond	*cond;		/* NULL: always true */
	int		 ignore;	/* level 0 and no children */
	int		 col;		/* column of the rule's mapping */
	int		 if_line, if_col;	/* where if_rule was written */
};

/* The per-program routing entry: what to try for an event whose program is
 * `program` (the entry for "no/unknown program" has program NULL).  The
 * lists merge the program's own items with the program-less ones, in load
 * order, so evaluation is one lookup.  The multi-pattern prefilter
 * (prefilter.c, `pf`) narrows the decoders, ignores and roots to the
 * candidates whose literals occur in the message. */
struct prefilter;

struct route {
	char		 *program;
	struct decoder	**decoders;
	size_t		  ndecoders;
	struct rule	**ignores;	/* root ignore rules, tried first */
	size_t		  nignores;
	struct rule	**roots;	/* other root rules */
	size_t		  nroots;
	struct prefilter *pf;		/* NULL: no prefilter (every item is
					 * tried, each behind its own gate) */
};

struct ruleset {
	struct rule	**rules;	/* load order */
	size_t		  nrules;
	struct decoder	**decoders;
	size_t		  ndecoders;
	char		**field_names;	/* FIELD_* first, then decoder fields */
	size_t		  nfield_names;
	struct route	 *routes;	/* one per program named anywhere */
	size_t		  nroutes;
	struct route	  any;		/* for programs with no route */
	uint32_t	 *hash;		/* open addressing: route index + 1 */
	size_t		  hash_size;	/* power of two */
	pcre2_match_context *mctx;	/* match and depth limits */
	uint32_t	 *fhash;	/* field name -> id + 1 (open addressing) */
	size_t		  fhash_size;	/* power of two */
	uint32_t	  max_groups;	/* largest capture count of any pattern */
	struct corr_set	 *corr;		/* correlation rules (native, Sigma) */
	struct ruleindex *index;	/* root rules by what they need
					 * (ruleindex.c), or NULL */
};

/* Route for a program name (never NULL). */
const struct route *ruleset_route(const struct ruleset *rs,
    const char *program, size_t len);


/* ---- shared helpers (util.c) ---------------------------------------------- */

/* Append one diagnostic (errors counted in dl->errors); 0 or TS_ENOMEM. */
int rules_diags_vadd(struct rules_diags *dl, const char *file, int line,
    int col, int warning, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* Hash of a byte string (a multiply-xorshift over eight bytes at a time),
 * for the route and field tables. */
uint32_t rules_hash(const char *s, size_t len);

/* Whether (s, n) is the name of a header field (host, program, ...). */
int rules_builtin_name(const char *s, size_t n);

/* Id of field name (name, len) in rs->field_names, adding it when new
 * (*cap is the table's capacity, grown here).  The id, or TS_ENOMEM. */
int rules_field_id(struct ruleset *rs, const char *name, size_t len,
    size_t *cap);

/* Id of a field name in a loaded set (its hash table), or -1 when no rule
 * or decoder names it. */
int ruleset_field_lookup(const struct ruleset *rs, const char *name,
    size_t len);

/* Parse an IPv4 or IPv6 address (buf, len) into family 4/6 and 16 bytes
 * (an IPv4-mapped IPv6 address is IPv4).  0 or TS_EINVAL. */
int rules_parse_ip(const char *s, size_t len, int *family,
    unsigned char addr[16]);

/* Parse "ADDR" or "ADDR/BITS" (NUL-terminated) into c, host bits cleared.
 * 0 or TS_EINVAL. */
int rules_parse_cidr(const char *s, struct cidr *c);

/* Conservative required-literal extraction from a PCRE2 pattern: the
 * longest run of literal bytes at the top level of a pattern with no
 * top-level alternation and no option settings.  Returns a malloc'd
 * string (caller frees) in *out, or NULL in *out when none was found (or
 * shorter than 2 bytes).  0 or TS_ENOMEM. */
int rules_extract_literal(const char *pat, char **out, size_t *out_len);

/* The literal an anchored pattern ("^Failed password") starts with: a
 * malloc'd string in *out (caller frees), or NULL when the pattern is not
 * anchored or starts with anything but literal bytes (or is shorter than 2
 * bytes).  0 or TS_ENOMEM. */
int rules_extract_prefix(const char *pat, char **out, size_t *out_len);

/* ---- correlation rules (correlate.c) -------------------------------------- */

struct corr_set;
struct corr_rule;
struct yt_node;

/* An empty set; 0 or TS_ENOMEM. */
int corr_set_new(struct corr_set **out);

/* Compile the rule mapping n (with a `correlation:` key) of file into cs,
 * checking against rs (every rule and Sigma rule loaded) that the rule ids
 * it counts exist (an error) and its groups are used (a warning).
 * Problems go to dl.  0 or TS_ENOMEM. */
int correlate_compile(struct corr_set *cs, const char *file,
    const struct yt_node *n, const struct ruleset *rs,
    struct rules_diags *dl);

/* Add a compiled rule (Sigma); cs takes r.  An id already in cs is an
 * error in dl and r is freed.  0 or TS_ENOMEM. */
int correlate_add(struct corr_set *cs, struct corr_rule *r,
    struct rules_diags *dl);

/* Free one correlation rule (NULL accepted). */
void corr_rule_free(struct corr_rule *r);

/* ---- prefilter (prefilter.c) --------------------------------------------- */

/*
 * Per route, a Vectorscan literal database over the literals its decoders
 * and root rules (ignore rules included) need in the message.  Slots of a
 * route: decoders [0, nd), ignores [nd, nd + ni), roots after.  Results are
 * identical with and without it: a literal is only used where the matcher
 * would refuse the item without it.
 */
struct prefilter_scratch;

/* Build every route's database (routes with few gated items get none).
 * Set TOCSIN_RULES_PREFILTER=0 in the environment to skip it (for
 * comparisons).  0 or TS_ENOMEM. */
int prefilter_build(struct ruleset *rs);
/* Drop every route's database (the slow path remains). */
void prefilter_free(struct ruleset *rs);
/* Per-ctx scratch; *out NULL-free on error.  0 or TS_ENOMEM. */
int prefilter_scratch_new(const struct ruleset *rs,
    struct prefilter_scratch **out);
void prefilter_scratch_free(struct prefilter_scratch **ps);
/* Scan the message for route rt: 0 when scanned (prefilter_candidate then
 * answers from it), else every slot is a candidate. */
int prefilter_scan(struct prefilter_scratch *ps, const struct route *rt,
    const char *msg, size_t len);
/* After a successful prefilter_scan: the slots that may match (those
 * without a literal and those whose literal occurred), ascending; *slots
 * points into ps.  Returns how many. */
size_t prefilter_candidates(struct prefilter_scratch *ps,
    const struct route *rt, const uint32_t **slots);

/* ---- rule index (ruleindex.c) ---------------------------------------------- */

/*
 * Root rules gated on one requirement their condition implies (a field
 * equal to one of some values, or containing one of some literals), so
 * that an event tries only the roots that can match it, in load order.
 * Results are identical with and without it.
 */
struct ruleindex_scratch;

/* The value of field (in the event being evaluated) or NULL when unset. */
typedef const char *(*ruleindex_get_fn)(void *arg, int field, size_t *len);

/* Build rs->index over every root rule (after the routes).  Set
 * TOCSIN_RULES_INDEX=0 in the environment to skip it (for comparisons:
 * every root of a route is then tried).  0 or TS_ENOMEM. */
int ruleindex_build(struct ruleset *rs);
void ruleindex_free(struct ruleset *rs);
/* Roots gated on a requirement, and roots always tried. */
void ruleindex_stats(const struct ruleset *rs, size_t *gated,
    size_t *ungated);
/* Per-ctx scratch (*out NULL when rs has no index).  0 or TS_ENOMEM. */
int ruleindex_scratch_new(const struct ruleset *rs,
    struct ruleindex_scratch **out);
void ruleindex_scratch_free(struct ruleindex_scratch **ps);
/* The roots of route rt that the event may match, as rule indexes,
 * ascending; *out points into ps.  Returns how many.  ids[0..nids): the
 * ids of every field the event has set (one not set after all is
 * skipped), their values through get. */
size_t ruleindex_candidates(struct ruleindex_scratch *ps,
    const struct ruleset *rs, const struct route *rt, const uint32_t *ids,
    size_t nids, ruleindex_get_fn get, void *arg, const uint32_t **out);

#endif /* TOCSIN_RULES_INT_H */
