/*
 * limits.h - every bound tocsin enforces, in one place.
 *
 * Each limit is a named constant with the reason for its value.  Code that
 * refuses or caps something because of one of these counts it, and the
 * counter shows in `tocsin status` (see common/stats.h).
 */
#ifndef TOCSIN_LIMITS_H
#define TOCSIN_LIMITS_H

/* Longest raw line an event carries.  Longer lines are capped to this and
 * flagged EV_TRUNCATED, never split or dropped silently. */
#define MAX_LINE_BYTES		(64 * 1024)

/* Bytes of a message given to the rules.  A pathological line costs a
 * bounded time in PCRE2 whatever its length. */
#define MAX_MATCH_BYTES		(8 * 1024)

/* Agent names: [A-Za-z0-9._-], 1..MAX_NAME_BYTES. */
#define MAX_NAME_BYTES		64
/* systemd unit names in an agent's journal.units (systemd's UNIT_NAME_MAX). */
#define MAX_UNIT_BYTES		256
/* An XPath filter of a Windows Event Log channel (agent eventlog.filters). */
#define MAX_EVT_QUERY_BYTES	4096
/* A journal cursor kept in an agent's spool (systemd's are ~150 bytes). */
#define MAX_CURSOR_BYTES	1024

/* A group's central configuration (DIR/groups/NAME.yml): its text, and
 * the version string naming it (16 hex digits of its hash). */
#define MAX_GROUP_BYTES		(256 * 1024)
#define MAX_CONFIG_VERSION_BYTES	32
/* The counters an agent reports in its HEARTBEAT (wire.h): how many, and
 * the length of a name ("agent.lines_bad_encoding"). */
#define MAX_HB_COUNTERS		32
#define MAX_COUNTER_NAME_BYTES	48
/* Groups the collector keeps the configuration of. */
#define MAX_GROUPS		4096

/* Host names as reported by agents or read from syslog headers. */
#define MAX_HOST_BYTES		255

/* Path of the file an event came from, as the agent reports it. */
#define MAX_PATH_BYTES		1024

/* Drill name carried by replayed events. */
#define MAX_DRILL_BYTES		64

/* An event's source name as rules see it ("internal", "syslog_udp", ...). */
#define MAX_SOURCE_NAME_BYTES	16

/* Names and ids checked by common/names.h (plain numbers: the messages
 * quote them). */
/* Output names: they name files, counters and cursor keys. */
#define MAX_OUTPUT_NAME_BYTES	64
/* Longest rule (or decoder) id. */
#define MAX_RULE_ID_BYTES	128
/* Longest field name, and the longest JSON key path a decoder keeps
 * ("a.b.0.c"). */
#define MAX_JSON_PATH_BYTES	512

/* Events in one agent batch frame. */
#define MAX_BATCH_EVENTS	1024

/* Largest frame the collector accepts (ZMQ_MAXMSGSIZE).  A full batch of
 * capped lines fits; anything bigger is refused by libzmq and counted. */
#define MAX_FRAME_BYTES		(8 * 1024 * 1024)

/* Credit, in events, the collector grants one agent at a time: an agent never
 * has more than this many unacknowledged events in flight. */
#define DEFAULT_CREDIT_EVENTS	32768

/* YAML documents: nesting depth and file size (configs and rule files). */
#define MAX_YAML_DEPTH		32
#define MAX_YAML_BYTES		(4 * 1024 * 1024)

/* Rules in one loaded rule set. */
#define MAX_RULES		20000

/* PCRE2 match and depth limits attached to every pattern. */
#define PCRE2_MATCH_LIMIT	100000
#define PCRE2_DEPTH_LIMIT	1000

/* Default LMDB map sizes; the collector grows the journal map while the disk
 * has room (issue: map full). */
#define DEFAULT_JOURNAL_MAP_BYTES	(1ULL << 30)
#define DEFAULT_STATE_MAP_BYTES		(1ULL << 30)
#define DEFAULT_SPOOL_MAP_BYTES		(256ULL << 20)

/* Events the engine processes in one state transaction. */
#define ENGINE_BATCH_EVENTS	8192

/* Decoded fields per event. */
#define MAX_FIELDS		64

/* Incidents: alerts at or above this level open or join an incident, and
 * join one whose entity was seen within the window. */
#define DEFAULT_INCIDENT_MIN_LEVEL	8
#define DEFAULT_INCIDENT_WINDOW_US	(3600ULL * 1000000)

/* The HTTP API (api/api.h; it listens only where api.listen says: the
 * shipped configuration has 127.0.0.1:7517, a file without api.listen runs
 * no API): requests per second and at once per token, the default and
 * largest page of a list, the default and largest request body. */
#define DEFAULT_API_RATE	50
#define DEFAULT_API_BURST	200
#define DEFAULT_API_MAX_PAGE	1000
#define MAX_API_PAGE		10000
#define DEFAULT_API_MAX_BODY	(1024 * 1024)
#define MAX_API_BODY		(16 * 1024 * 1024)

/* Length of a printable CURVE key (Z85) plus NUL. */
#define KEY_Z85_BYTES		41

#endif /* TOCSIN_LIMITS_H */
