/*
 * decode.h - the decoders that other components call directly: the syslog
 * header parser (decode.c) and the Windows event decoder (decode_winevt.c:
 * one field model for Event XML as EvtRender writes it, evtx-tool JSON,
 * Winlogbeat JSON and NXLog JSON).  `tocsin record` turns log lines and
 * .evtx records into recordings with them.  The rule set's own decoders
 * stay private to rules/ (rules_int.h).
 */
#ifndef TOCSIN_DECODE_H
#define TOCSIN_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* ---- syslog header (decode.c) ------------------------------------------ */

enum { SYSLOG_NONE = 0, SYSLOG_3164 = 3164, SYSLOG_5424 = 5424 };

/* What the header parser found; every pointer points into the parsed buffer
 * and is NULL (len 0) when absent. */
struct syslog_hdr {
	int		 format;	/* SYSLOG_* */
	int		 pri;		/* 0..191, or -1 */
	int		 has_time;	/* time_us is from the header */
	int		 zoned;		/* the header gave its zone (ISO
					 * offset or Z); 0: time_us is the
					 * wall clock read as UTC, and the
					 * source's zone applies
					 * (syslog_tz_local) */
	uint64_t	 time_us;
	const char	*host;		size_t host_len;
	const char	*program;	size_t program_len;
	const char	*pid;		size_t pid_len;
	const char	*msgid;		size_t msgid_len;	/* 5424; Solaris
							 * "[ID n fac.lvl]": n */
	const char	*subsys;	size_t subsys_len;	/* "prog(sub)[pid]:" */
	const char	*msg;		size_t msg_len;		/* never NULL */
};

/*
 * Parse the syslog header of one line (buf, len; not NUL-terminated) into
 * *h.  Never fails: a line without a header recognized as RFC 3164 or RFC
 * 5424 is all message (format SYSLOG_NONE).  RFC 3164 times: BSD "Mmm dd
 * hh:mm:ss[.frac]" (optionally "Mmm dd yyyy hh:mm:ss", a leading '*' or a
 * trailing ':' as network devices write them) or ISO 8601 with 'T' or a
 * space, fractional seconds (also ",mmm") and a zone Z, +hh:mm, +hhmm or
 * +hh; then an optional host and an optional tag "prog[pid]:",
 * "prog(sub)[pid]:" and a Solaris "[ID n facility.level]".  ref_us is the
 * time the line was read: the year of a BSD time without one is the year
 * of ref_us, or the previous year if that would put the time more than a
 * day after ref_us.  A trailing CR/LF is not part of the message.
 */
void syslog_parse(const char *buf, size_t len, uint64_t ref_us,
    struct syslog_hdr *h);

/* ---- time zone of headers without one (tz.c) ---------------------------- */

struct syslog_tz;		/* a zone: UTC, a fixed offset or an IANA zone */

/*
 * The zone spec names: "UTC", an offset "+hh:mm" / "+hhmm" / "+hh" (or
 * '-'), or an IANA name ("Europe/Paris") read from $TZDIR or
 * /usr/share/zoneinfo.  *out NULL on error.  0, TS_EINVAL (err says why)
 * or TS_ENOMEM.  The caller frees it with syslog_tz_free (NULL accepted).
 */
int syslog_tz_new(const char *spec, struct syslog_tz **out, char *err,
    size_t errlen);
void syslog_tz_free(struct syslog_tz **tz);
/* UTC microseconds of a wall-clock time in tz (wall_us: the wall clock
 * read as if it were UTC, as syslog_parse leaves it when !zoned).  tz
 * NULL: UTC. */
uint64_t syslog_tz_local(const struct syslog_tz *tz, uint64_t wall_us);

/* Days since 1970-01-01 of a proleptic Gregorian date (exposed for tests). */
int64_t syslog_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Days in month m (1-12) of year y of the proleptic Gregorian calendar. */
unsigned syslog_days_in_month(int64_t y, unsigned m);

/* Scratch for decoded names and values of one event (unescaped strings,
 * numbers as text, key paths). */
#define FIELD_ARENA_BYTES	(4 * MAX_LINE_BYTES)


/* Bump allocator the structured decoders copy names and values into; reset
 * per event.  Every string put there is NUL-terminated. */
struct field_arena {
	char	*buf;
	size_t	 len, cap;
};

/* Copy (s, n) into the arena, NUL-terminated; NULL when it has no room. */
char *field_arena_dup(struct field_arena *a, const char *s, size_t n);

/* Called once per decoded field: name (NUL-terminated, name_len bytes) and
 * value, both in the arena or static.  Returns 0, or -1 to stop decoding. */
typedef int (*field_emit_fn)(void *arg, const char *name, size_t name_len,
    const char *val, size_t val_len);

/* ---- the event's time from the record (evtime.c) ------------------------ */

/* Zone of a decoder's time format that has no %z: */
enum {
	EVTIME_ZONE_UTC = 0,	/* the record's times are UTC (W3C) */
	EVTIME_ZONE_FIXED,	/* a fixed offset from UTC */
	EVTIME_ZONE_LOCAL	/* the configured zone (engine.timezone, a
				 * struct syslog_tz; UTC when none) */
};

/* Check a time format (NUL-terminated): 0, or TS_EINVAL with *bad at the
 * unknown directive (or fmt itself when empty). */
int evtime_check_format(const char *fmt, const char **bad);

/* Parse (s, len; untrusted, the whole of it, trailing blanks allowed) with
 * fmt into microseconds since the epoch (UTC).  A format without a zone
 * takes zone_kind / zone_off_s (EVTIME_ZONE_LOCAL: tz, NULL for UTC);
 * without a year, the year of ref_us (the
 * time the line was read; the year before when the result would be more
 * than a day after ref_us).  0 or TS_EINVAL. */
int evtime_parse(const char *fmt, const char *s, size_t len, int zone_kind,
    int32_t zone_off_s, const struct syslog_tz *tz, uint64_t ref_us,
    uint64_t *out);

/* A decoder's `zone:` ("UTC", "local", "+hh:mm", "-hhmm", ...) into
 * *zone_kind and *off_s.  0 or TS_EINVAL. */
int evtime_parse_zone(const char *s, int *zone_kind, int32_t *off_s);

/*
 * Write time t_us with fmt (the directives of evtime_parse but %p, %I and
 * %j; %S without a fraction, %f six digits, %z +hhmm) at offset off_s
 * (zone_kind EVTIME_ZONE_FIXED; else UTC) into buf (len bytes,
 * NUL-terminated).  Returns the length, 0 when it does not fit or
 * fmt has another directive.  `tocsin replay --shift-to-now` rewrites
 * record times with it.
 */
size_t evtime_format(const char *fmt, uint64_t t_us, int zone_kind,
    int32_t off_s, char *buf, size_t len);

/* ---- Windows events (decode_winevt.c) ------------------------------------ */

/* Element nesting followed in Event XML (EvtRender writes 4 levels; UserData
 * a few more); deeper refuses the event. */
#define MAX_WINEVT_DEPTH	16
/* Fields one Windows event may give (System and data items); past it the
 * rest are refused and counted.  Real events carry a few dozen. */
#define MAX_WINEVT_ITEMS	256
/* Longest field name and value kept; longer values are cut and counted. */
#define MAX_WINEVT_NAME_BYTES	128
#define MAX_WINEVT_VALUE_BYTES	(16 * 1024)

struct winevt;			/* a reusable decoder (holds an expat parser) */

/* What one decode found besides the fields; pointers into the arena. */
struct winevt_info {
	const char	*computer;	/* System/Computer, or NULL */
	size_t		 computer_len;
	uint64_t	 time_us;	/* System/TimeCreated, when has_time */
	int		 has_time;
	int		 time_local;	/* time_us is a wall-clock time with no
					 * zone (NXLog's default EventTime):
					 * the caller reads it in its zone */
	int		 refused;	/* a bound (depth, items) or a DTD */
	int		 json;		/* the malformed input was JSON */
	uint64_t	 error_offset;	/* where malformed input went wrong */
	size_t		 dropped;	/* items refused (count, arena room) */
	size_t		 truncated;	/* values cut to MAX_WINEVT_VALUE_BYTES */
};

/* A decoder; *out NULL on error.  0 or TS_ENOMEM.  winevt_free takes NULL. */
int winevt_new(struct winevt **out);
void winevt_free(struct winevt **w);

/*
 * Decode one Windows event (buf, len; untrusted, not NUL-terminated):
 * Event XML, evtx-tool JSON ({"Event": {"System": ...}}), Winlogbeat JSON
 * (winlog.*) or NXLog JSON (flat EventID and Channel or SourceName), into
 * the fields named at the top of decode_winevt.c, emitted through emit
 * with names and values in the arena.  Returns 0 (decoded), 1 (not a
 * Windows event: nothing emitted), TS_EINVAL (malformed XML or JSON, or
 * refused for a bound: info says which; fields emitted before the error
 * stand), or TS_ENOMEM.
 */
int winevt_decode(struct winevt *w, const char *buf, size_t len,
    struct field_arena *a, field_emit_fn emit, void *arg,
    struct winevt_info *info);

#endif /* TOCSIN_DECODE_H */
