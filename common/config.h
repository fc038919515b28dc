/*
 * config.h - the server's and the agent's configuration files.
 *
 * Both are YAML read through yamltree with a table of known keys per
 * mapping: an unknown key, a wrong type or an out-of-range value is an error
 * "file:line:col: message".  Relative paths are relative to the working
 * directory.  When no file is given, tocsind uses the default configuration
 * embedded at build time from etc/tocsind.yml (config_default_server).
 *
 * Which file a program reads (config_locate): -c FILE, else the environment
 * variable ($TOCSIN_CONFIG for tocsind and tocsin, $TOCSIN_AGENT_CONFIG for
 * tocsin-agent), else SYSCONFDIR/tocsin/NAME when the build has an install
 * layout and that file exists, else the embedded default.  The install
 * layout is fixed at build time (make SYSCONFDIR=/etc LOCALSTATEDIR=/var
 * PREFIX=/usr, as the Debian package builds it) into build/gen/paths.h; a
 * build without SYSCONFDIR is a source-tree build: no /etc lookup, data in
 * var/ under the working directory, rules from rules/default.
 */
#ifndef TOCSIN_CONFIG_H
#define TOCSIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* outputs: one entry of the `outputs:` list (outputs/outputs.h). */
enum output_type { OUTPUT_JSONL = 1, OUTPUT_LIVE, OUTPUT_FORWARD,
    OUTPUT_WEBHOOK };
/* What an output does with alerts of drills (alerts carrying "drill"). */
enum output_drills { OUTPUT_DRILLS_EXCLUDE = 0, OUTPUT_DRILLS_LABEL,
    OUTPUT_DRILLS_INCLUDE };
/* Records an output carries (a bit set). */
#define OUTPUT_REC_ALERTS	0x1
#define OUTPUT_REC_INCIDENTS	0x2
enum output_fsync { OUTPUT_FSYNC_BATCH = 0, OUTPUT_FSYNC_ALWAYS,
    OUTPUT_FSYNC_NEVER };
enum output_proto { OUTPUT_PROTO_TCP = 0, OUTPUT_PROTO_UDP,
	OUTPUT_PROTO_TLS };	/* TLS: syslog over TLS, RFC 5425 */
enum output_format { OUTPUT_FORMAT_JSON = 0, OUTPUT_FORMAT_CEF };

/* Most outputs in one configuration.  (Candidate for limits.h.) */
#define MAX_OUTPUTS		32

struct output_config {
	char		*name;		/* name: [A-Za-z0-9._-], unique */
	int		 type;		/* type: enum output_type */
	int		 enabled;	/* enabled (default true) */
	int		 min_level;	/* min_level: alerts below are skipped */
	int		 drills;	/* drills: enum output_drills */
	int		 records;	/* records: OUTPUT_REC_* bits */
	uint64_t	 retry_max_us;	/* retry_max: back-off ceiling */
	/* jsonl: */
	char		*path;		/* path */
	uint64_t	 max_bytes;	/* max_size: rotate past it */
	uint32_t	 keep;		/* keep: rotated files kept */
	int		 fsync;		/* fsync: enum output_fsync */
	/* live: */
	char		*endpoint;	/* endpoint: ZeroMQ PUB bind */
	/* forward: */
	char		*address;	/* address: "host:port" */
	int		 proto;		/* protocol: enum output_proto */
	int		 format;	/* format: enum output_format */
	char		*tls_ca;	/* tls_ca: CA bundle (PEM); NULL: the
					 * system's trust store */
	char		*tls_server_name; /* tls_server_name: the name the
					 * certificate must carry; NULL: the
					 * address's host */
	int		 tls_verify;	/* tls_verify (default true) */
	/* webhook: */
	char		*url;		/* url: http:// or https:// */
	uint64_t	 timeout_us;	/* timeout: per attempt (also forward
					 * connect/send) */
};

struct server_config {
	char		*source;		/* file name, or "(embedded default)" */
	char		*data_dir;		/* data_dir */
	int		 log_level;		/* log_level: LOG_LVL_* */
	/* collector: */
	char		*listen;		/* collector.listen: ZeroMQ endpoint */
	char		*enroll_listen;		/* collector.enroll_listen: the
						 * enrolment endpoint, or NULL */
	char		*syslog_udp;		/* collector.syslog_udp: "ip:port" or NULL */
	char		*syslog_tcp;		/* collector.syslog_tcp: "ip:port" or NULL */
	uint64_t	 journal_map_bytes;	/* collector.journal_map_size */
	uint64_t	 journal_max_bytes;	/* collector.journal_max_size: growth cap */
	uint64_t	 retention_us;		/* collector.retention: 0 = keep */
	uint32_t	 credit_events;		/* collector.credit */
	uint64_t	 max_frame_bytes;	/* collector.max_frame_size */
	char		*groups_dir;		/* collector.groups: the folder of
						 * the groups' NAME.yml (default:
						 * "groups" beside the config
						 * file; SYSCONFDIR/tocsin/groups
						 * or etc/groups for the embedded
						 * default) */
	/* engine: */
	char		**rule_paths;		/* engine.rules: files or folders */
	size_t		 nrule_paths;
	uint64_t	 state_map_bytes;	/* engine.state_map_size */
	uint32_t	 batch_events;		/* engine.batch */
	uint64_t	 agent_silent_us;	/* engine.agent_silent_after */
	uint64_t	 alert_retention_us;	/* engine.alert_retention: 0 = keep */
	uint64_t	 incident_retention_us;	/* engine.incident_retention: closed
						 * incidents; 0 = keep */
	char		*timezone;		/* engine.timezone: zone of syslog
						 * headers that give none
						 * (rules/decode.h syslog_tz_new);
						 * NULL: UTC */
	char		**tz_sources;		/* engine.source_timezones: agent
						 * or host names ... */
	char		**tz_zones;		/* ... and their zones */
	size_t		 ntz_sources;
	/* incidents: */
	int		 incident_min_level;	/* incidents.min_level: alerts at or
						 * above it open or join one */
	uint64_t	 incident_window_us;	/* incidents.window: an alert joins an
						 * open incident of the same entity
						 * seen within this window */
	/* api: (api/api.h) */
	char		*api_listen;		/* api.listen: "ip:port", or NULL
						 * (absent or empty): no API
						 * process */
	char		*api_tls_cert;		/* api.tls_cert: PEM file, or NULL:
						 * plain HTTP */
	char		*api_tls_key;		/* api.tls_key: PEM file */
	uint32_t	 api_rate;		/* api.rate: requests per second
						 * per token (sustained) */
	uint32_t	 api_burst;		/* api.burst: requests a token may
						 * make at once */
	uint32_t	 api_max_page;		/* api.max_page: largest page of a
						 * list */
	uint64_t	 api_max_body;		/* api.max_body: largest request
						 * body */
	/* outputs: */
	struct output_config *outputs;		/* outputs: list (may be empty) */
	size_t		 noutputs;
};

/* Name of an output type ("jsonl", ...); "?" when unknown. */
const char *output_type_name(int type);

struct agent_config {
	char		*source;		/* file name */
	char		*name;			/* agent.name */
	char		*host;			/* agent.host (default: gethostname) */
	char		*data_dir;		/* agent.data_dir: spool and offsets */
	char		*server_endpoint;	/* server.endpoint */
	char		 server_pub[KEY_Z85_BYTES];	/* server.public_key */
	char		 pub[KEY_Z85_BYTES];		/* keys.public */
	char		 sec[KEY_Z85_BYTES];		/* keys.secret */
	char		**follow;		/* follow: list of files */
	size_t		 nfollow;
	int		 from_start;		/* from_start: read files whole */
	uint32_t	 batch_max;		/* batch.max_events */
	uint64_t	 batch_wait_us;		/* batch.max_wait */
	uint64_t	 spool_max_bytes;	/* spool.max_size */
	uint64_t	 heartbeat_us;		/* heartbeat */
	/* journal: the systemd journal as a source (agents/sdjournal.c) */
	int		 journal;		/* the key is present */
	char		**journal_units;	/* journal.units (none: all) */
	size_t		 njournal_units;
	char		*journal_dir;		/* journal.directory, or NULL:
						 * the local system journal */
	/* eventlog: Windows Event Log channels (agents/win/evtlog.c) */
	int		 eventlog;		/* the key is present */
	char		**evt_channels;		/* channels (default: Security,
						 * System, Application, Defender,
						 * Sysmon, PowerShell) + add: */
	char		**evt_queries;		/* XPath per channel (filters:),
						 * NULL: every event */
	size_t		 nevt_channels;
};

/*
 * A group's central configuration: the collection settings the collector
 * sends to every agent of the group (DIR/groups/NAME.yml on the server; see
 * struct server_config.groups_dir).  Keys:
 *   follow:   [paths]          replaces the agent's follow list
 *   journal:  {units: [...]}   replaces the agent's journal source (present,
 *                              even empty: read the journal; units as there)
 *   spool:    {max_size: S}    replaces the agent's spool cap
 * A key the file does not set keeps the agent's own value.  Anything else
 * (identity, keys, endpoint) stays in the agent's own file.
 */
struct group_config {
	int		 has_follow;
	char		**follow;
	size_t		 nfollow;
	int		 journal;		/* the key is present */
	char		**journal_units;
	size_t		 njournal_units;
	uint64_t	 spool_max_bytes;	/* 0: not set */
};

/* Parse the text of a group file named name (for messages).  0, or
 * TS_EPARSE / TS_ENOMEM with "name:line:col: message" in err; *g is then
 * empty. */
int group_config_parse(const char *name, const char *buf, size_t len,
    struct group_config *g, char *err, size_t errlen);
void group_config_free(struct group_config *g);
/* The agent configuration base with g's settings over it (a shallow copy:
 * valid while base and g are). */
void group_config_apply(const struct agent_config *base,
    const struct group_config *g, struct agent_config *out);

/* The default server configuration embedded at build time (NUL-terminated
 * text of etc/tocsind.yml) and its length. */
extern const char config_default_server[];
extern const size_t config_default_server_len;

/* The file names config_locate looks for below SYSCONFDIR/tocsin. */
#define CONFIG_SERVER_NAME	"tocsind.yml"
#define CONFIG_AGENT_NAME	"agent.yml"
#define CONFIG_SERVER_ENV	"TOCSIN_CONFIG"
#define CONFIG_AGENT_ENV	"TOCSIN_AGENT_CONFIG"

/*
 * Choose the configuration file: explicit (-c) when not NULL, else the
 * environment variable env when set and not empty, else
 * SYSCONFDIR/tocsin/name when the build has an install layout and that
 * file exists; the path is copied into buf.  *out is the chosen path, or
 * NULL for "the embedded default".  *why says where it came from ("-c",
 * "$TOCSIN_CONFIG", the path of the system file, "embedded default").
 * 0, or TS_EINVAL when the path does not fit buf.
 */
int config_locate(const char *explicit, const char *env, const char *name,
    char *buf, size_t buflen, const char **out, const char **why);

/* The install layout of this build: the configuration folder
 * ("/etc/tocsin"; "" in a source-tree build), the default data folder of
 * the server ("/var/lib/tocsin"; "var/tocsind") and the folder of the
 * shipped rules and drills ("/usr/share/tocsin"; "" = the source tree). */
const char *config_sysconfdir(void);
const char *config_statedir(void);
const char *config_pkgdatadir(void);
/* The agent's default data folder ("/var/lib/tocsin-agent"), or NULL in a
 * source-tree build (then var/agent-NAME). */
const char *config_agent_statedir(void);

/*
 * Load a server configuration from path, or the embedded default when path is
 * NULL.  Defaults fill every key not given.  On error returns TS_EPARSE (or
 * TS_EIO) with "file:line:col: message" in err; *cfg is then empty.
 */
int server_config_load(const char *path, struct server_config *cfg,
    char *err, size_t errlen);
void server_config_free(struct server_config *cfg);

/* Same for an agent configuration (path required). */
int agent_config_load(const char *path, struct agent_config *cfg,
    char *err, size_t errlen);
void agent_config_free(struct agent_config *cfg);

#endif /* TOCSIN_CONFIG_H */
