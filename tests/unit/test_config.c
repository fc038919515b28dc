/*
 * test_config.c - server and agent configuration: the embedded default,
 * defaults for missing keys, and every error with its exact file:line:col.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/util.h"

static char tmpdir[64];
static char apub[KEY_Z85_BYTES], asec[KEY_Z85_BYTES], spub[KEY_Z85_BYTES];

static int setup(void **state)
{
	char sec2[KEY_Z85_BYTES];
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tocsin-test-config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	if (keys_generate(apub, asec) != 0 || keys_generate(spub, sec2) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* Write text to DIR/name; returns the malloc'd path. */
static char *put(const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	assert_non_null(p);
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0600), 0);
	return p;
}

static void test_server_default(void **state)
{
	struct server_config c;
	char err[512];
	(void)state;

	assert_int_equal(server_config_load(NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.source, "(embedded default)");
	assert_string_equal(c.data_dir, "var/tocsind");
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_string_equal(c.listen, "tcp://127.0.0.1:7514");
	assert_string_equal(c.syslog_udp, "127.0.0.1:5514");
	assert_string_equal(c.syslog_tcp, "127.0.0.1:5514");
	assert_true(c.journal_map_bytes == 256ULL << 20);
	assert_true(c.journal_max_bytes == 64ULL << 30);
	assert_int_equal(c.credit_events, 32768);
	assert_true(c.max_frame_bytes == 8ULL << 20);
	assert_int_equal(c.nrule_paths, 1);
	assert_string_equal(c.rule_paths[0], "rules/default");
	assert_true(c.state_map_bytes == 256ULL << 20);
	assert_int_equal(c.batch_events, ENGINE_BATCH_EVENTS);
	assert_true(c.agent_silent_us == 600ULL * 1000000);
	assert_true(c.retention_us == 30ULL * 86400 * 1000000);
	assert_true(c.alert_retention_us == 365ULL * 86400 * 1000000);
	assert_true(c.incident_retention_us == 365ULL * 86400 * 1000000);
	server_config_free(&c);
	server_config_free(&c);		/* twice is harmless */
}

static void test_server_file(void **state)
{
	struct server_config c;
	char err[512];
	char *p;
	(void)state;

	/* empty file: all defaults */
	p = put("empty.yml", "# nothing\n");
	assert_int_equal(server_config_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.source, p);
	assert_string_equal(c.data_dir, "var/tocsind");
	assert_null(c.syslog_udp);
	assert_int_equal(c.credit_events, DEFAULT_CREDIT_EVENTS);
	assert_true(c.journal_map_bytes == DEFAULT_JOURNAL_MAP_BYTES);
	assert_int_equal(c.batch_events, ENGINE_BATCH_EVENTS);
	server_config_free(&c);
	free(p);

	p = put("s.yml",
	    "data_dir: /srv/tocsin\n"
	    "log_level: debug\n"
	    "collector:\n"
	    "  listen: ipc:///run/tocsin.sock\n"
	    "  syslog_udp: \"\"\n"
	    "  syslog_tcp:\n"
	    "  credit: 100\n"
	    "  retention: 30d\n"
	    "engine:\n"
	    "  rules: [a.yml, dir]\n"
	    "  batch: 1\n"
	    "  agent_silent_after: 90s\n"
	    "  alert_retention: 90d\n"
	    "  incident_retention: 2w\n");
	assert_int_equal(server_config_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.data_dir, "/srv/tocsin");
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_string_equal(c.listen, "ipc:///run/tocsin.sock");
	assert_null(c.syslog_udp);
	assert_null(c.syslog_tcp);
	assert_int_equal(c.credit_events, 100);
	assert_true(c.retention_us == 30ULL * 86400 * 1000000);
	assert_int_equal(c.nrule_paths, 2);
	assert_string_equal(c.rule_paths[1], "dir");
	assert_int_equal(c.batch_events, 1);
	assert_true(c.agent_silent_us == 90000000ULL);
	assert_true(c.alert_retention_us == 90ULL * 86400 * 1000000);
	assert_true(c.incident_retention_us == 14ULL * 86400 * 1000000);
	server_config_free(&c);
	free(p);
}

static void test_server_errors(void **state)
{
	static const struct { const char *y; const char *err; } t[] = {
		{ "data_dir: x\ncolector:\n  listen: tcp://a:1\n",
		  "F:2:1: unknown key 'colector' in the top level (known: "
		  "data_dir, log_level, collector, engine, incidents, api, "
		  "outputs)" },
		{ "api:\n  listen: localhost\n",
		  "F:2:11: api.listen must be \"ip:port\" (or empty to "
		  "disable)" },
		{ "api:\n  tls_cert: a.pem\n",
		  "F:2:13: api.tls_cert needs both tls_cert and tls_key" },
		{ "api:\n  max_body: 10\n",
		  "F:2:13: api.max_body must be from 1k to 16M" },
		{ "api:\n  rate: 0\n",
		  "F:2:9: rate must be an integer from 1 to 100000" },
		{ "api:\n  lisen: 127.0.0.1:1\n",
		  "F:2:3: unknown key 'lisen' in api (known: listen, tls_cert, "
		  "tls_key, rate, burst, max_page, max_body)" },
		{ "collector:\n  listen: tcp://a:1\n  credits: 5\n",
		  "F:3:3: unknown key 'credits' in collector (known: listen, "
		  "syslog_udp, syslog_tcp, journal_map_size, journal_max_size, "
		  "retention, credit, max_frame_size, enroll_listen, groups)" },
		{ "engine:\n  rule: [a]\n",
		  "F:2:3: unknown key 'rule' in engine (known: rules, "
		  "state_map_size, batch, agent_silent_after, alert_retention, "
		  "incident_retention, timezone, source_timezones)" },
		{ "collector:\n  listen: udp://a:1\n",
		  "F:2:11: collector.listen must be a ZeroMQ endpoint "
		  "tcp://HOST:PORT or ipc://PATH" },
		{ "collector:\n  credit: 0\n",
		  "F:2:11: credit must be an integer from 1 to 1000000" },
		{ "collector:\n  credit: 1000001\n",
		  "F:2:11: credit must be an integer from 1 to 1000000" },
		{ "collector:\n  credit: lots\n",
		  "F:2:11: credit must be an integer from 1 to 1000000" },
		{ "engine:\n  batch: 65537\n",
		  "F:2:10: batch must be an integer from 1 to 65536" },
		{ "engine:\n  batch: 0\n",
		  "F:2:10: batch must be an integer from 1 to 65536" },
		{ "collector:\n  journal_map_size: 12Q\n",
		  "F:2:21: journal_map_size must be a size such as 512, 64k, "
		  "256M or 2G" },
		{ "collector:\n  journal_map_size: 2G\n  journal_max_size: 1G\n",
		  "F:3:21: collector.journal_max_size must not be smaller than "
		  "journal_map_size" },
		{ "engine:\n  agent_silent_after: forever\n",
		  "F:2:23: agent_silent_after must be a duration such as 250ms, "
		  "30s, 15m, 2h, 7d or 1w" },
		{ "log_level: loud\n",
		  "F:1:12: log_level must be one of error, warn, info, debug" },
		{ "collector:\n  syslog_udp: nohost\n",
		  "F:2:15: collector.syslog_udp must be \"ip:port\" (or empty to "
		  "disable)" },
		{ "collector:\n  syslog_tcp: 127.0.0.1:70000\n",
		  "F:2:15: collector.syslog_tcp must be \"ip:port\" (or empty to "
		  "disable)" },
		{ "collector: [a]\n", "F:1:12: collector must be a mapping" },
		{ "- a\n", "F:1:1: the configuration must be a mapping" },
		{ "data_dir: a\n---\ndata_dir: b\n",
		  "F:3:1: a configuration file holds one YAML document" },
		{ "data_dir: [x]\n", "F:1:11: data_dir must be a string" },
		{ "data_dir: a\ndata_dir: b\n", "F:2:1: duplicate key 'data_dir'" },
		{ "engine:\n  source_timezones: [a]\n",
		  "F:2:21: engine.source_timezones must be a mapping of agent "
		  "or host names to time zones" },
		{ "engine:\n  source_timezones: {fw1: [x]}\n",
		  "F:2:27: engine.source_timezones: the zone of 'fw1' must be "
		  "a string" },
		{ "engine:\n  rules: {a: 1}\n",
		  "F:2:10: rules must be a string or a list of strings" },
		{ "collector:\n  max_frame_size: 10\n",
		  "F:2:19: collector.max_frame_size must be from 1k to 1G" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct server_config c;
		char err[512], want[512];
		char *p = put("bad.yml", t[i].y);
		int rc = server_config_load(p, &c, err, sizeof(err));
		/* t[i].err starts with "F": the file name */
		snprintf(want, sizeof(want), "%s%s", p, t[i].err + 1);
		if (rc != TS_EPARSE || strcmp(err, want) != 0)
			fail_msg("case %zu: rc %d\n got: %s\nwant: %s", i, rc, err,
			    want);
		assert_null(c.data_dir);	/* empty on error */
		assert_null(c.rule_paths);
		free(p);
	}
}

/* engine.timezone and engine.source_timezones as written. */
static void test_timezones(void **state)
{
	struct server_config c;
	char err[512];
	char *p = put("tz.yml", "engine:\n  timezone: Europe/Paris\n"
	    "  source_timezones:\n    fw1.example.org: -05:00\n"
	    "    agent-7: Asia/Tokyo\n");

	(void)state;
	assert_int_equal(server_config_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.timezone, "Europe/Paris");
	assert_int_equal(c.ntz_sources, 2);
	assert_string_equal(c.tz_sources[0], "fw1.example.org");
	assert_string_equal(c.tz_zones[0], "-05:00");
	assert_string_equal(c.tz_sources[1], "agent-7");
	assert_string_equal(c.tz_zones[1], "Asia/Tokyo");
	server_config_free(&c);
	free(p);
}

static void test_missing_file(void **state)
{
	struct server_config c;
	struct agent_config a;
	char err[512], want[512];
	char *p = xasprintf("%s/absent.yml", tmpdir);
	(void)state;
	snprintf(want, sizeof(want), "%s: cannot read: No such file or "
	    "directory", p);
	assert_int_equal(server_config_load(p, &c, err, sizeof(err)), TS_EIO);
	assert_string_equal(err, want);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), TS_EIO);
	assert_string_equal(err, want);
	free(p);
}

/* A valid agent file, with optional extra text appended. */
static char *agent_text(const char *extra)
{
	char *s = xasprintf(
	    "# tocsin-agent configuration\n"
	    "agent:\n"
	    "  name: web01\n"
	    "server:\n"
	    "  endpoint: tcp://127.0.0.1:7514\n"
	    "  public_key: \"%s\"\n"
	    "keys:\n"
	    "  public: \"%s\"\n"
	    "  secret: \"%s\"\n"
	    "%s", spub, apub, asec, extra);
	assert_non_null(s);
	return s;
}

static void test_agent_ok(void **state)
{
	struct agent_config a;
	char err[512], hn[256];
	char *t, *p;
	(void)state;

	t = agent_text("");
	p = put("a.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_string_equal(a.source, p);
	assert_string_equal(a.name, "web01");
	assert_string_equal(a.data_dir, "var/agent-web01");
	assert_int_equal(gethostname(hn, sizeof(hn)), 0);
	hn[sizeof(hn) - 1] = '\0';
	assert_string_equal(a.host, hn);
	assert_string_equal(a.server_endpoint, "tcp://127.0.0.1:7514");
	assert_string_equal(a.server_pub, spub);
	assert_string_equal(a.pub, apub);
	assert_string_equal(a.sec, asec);
	assert_int_equal(a.nfollow, 0);
	assert_int_equal(a.from_start, 0);
	assert_int_equal(a.batch_max, 512);
	assert_true(a.batch_wait_us == 200000);
	assert_true(a.spool_max_bytes == 1ULL << 30);
	assert_true(a.heartbeat_us == 5000000);
	assert_int_equal(a.journal, 0);
	agent_config_free(&a);
	agent_config_free(&a);
	free(t);
	free(p);

	/* journal: present (even empty) turns the journal source on */
	t = agent_text("journal:\n");
	p = put("a.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.journal, 1);
	assert_int_equal(a.njournal_units, 0);
	assert_null(a.journal_dir);
	agent_config_free(&a);
	free(t);
	free(p);
	t = agent_text("journal:\n  units: [ssh.service, cron.service]\n"
	    "  directory: /var/log/journal\n");
	p = put("a.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.journal, 1);
	assert_int_equal(a.njournal_units, 2);
	assert_string_equal(a.journal_units[1], "cron.service");
	assert_string_equal(a.journal_dir, "/var/log/journal");
	agent_config_free(&a);
	free(t);
	free(p);

	t = agent_text(
	    "follow:\n"
	    "  - /var/log/auth.log\n"
	    "  - /var/log/syslog\n"
	    "from_start: true\n"
	    "batch:\n"
	    "  max_events: 1024\n"
	    "  max_wait: 50ms\n"
	    "spool:\n"
	    "  max_size: 64M\n"
	    "heartbeat: 2s\n");
	p = put("a.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.nfollow, 2);
	assert_string_equal(a.follow[1], "/var/log/syslog");
	assert_int_equal(a.from_start, 1);
	assert_int_equal(a.batch_max, 1024);
	assert_true(a.batch_wait_us == 50000);
	assert_true(a.spool_max_bytes == 64ULL << 20);
	assert_true(a.heartbeat_us == 2000000);
	agent_config_free(&a);
	free(t);
	free(p);

	/* data_dir and host given; follow as a single string */
	p = put("a2.yml", "agent:\n  name: db-2.x_y\n  data_dir: /d\n"
	    "  host: h1\nfollow: /f\n");
	{
		char *full = xasprintf("%s"
		    "server:\n  endpoint: ipc:///s\n  public_key: \"%s\"\n"
		    "keys:\n  public: \"%s\"\n  secret: \"%s\"\n",
		    "agent:\n  name: db-2.x_y\n  data_dir: /d\n  host: h1\n"
		    "follow: /f\n", spub, apub, asec);
		free(p);
		p = put("a2.yml", full);
		free(full);
	}
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_string_equal(a.name, "db-2.x_y");
	assert_string_equal(a.data_dir, "/d");
	assert_string_equal(a.host, "h1");
	assert_int_equal(a.nfollow, 1);
	assert_string_equal(a.follow[0], "/f");
	agent_config_free(&a);
	free(p);
}

static void test_agent_errors(void **state)
{
	char badkey[KEY_Z85_BYTES];
	(void)state;
	/* 40 chars, but '"' is not a Z85 character (and would need escaping):
	 * use '~' is not Z85 either */
	memset(badkey, '~', 40);
	badkey[40] = '\0';

	struct { char *y; const char *err; } t[] = {
		{ xasprintf("agent:\n  name: .hidden\n"),
		  "F:2:9: agent.name must be 1 to 64 characters of A-Z a-z 0-9 "
		  ". _ - not starting with . or -" },
		{ xasprintf("agent:\n  name: a/b\n"),
		  "F:2:9: agent.name must be 1 to 64 characters of A-Z a-z 0-9 "
		  ". _ - not starting with . or -" },
		{ xasprintf("agent:\n  data_dir: x\n"),
		  "F:2:3: missing required key 'name' in agent" },
		{ xasprintf("# c\n\nagent:\n  name: a\nserver:\n  endpoint: "
		  "tcp://h:1\nkeys:\n  public: x\n"),
		  "F:6:3: missing required key 'public_key' in server" },
		{ xasprintf("agent:\n  name: a\n"),
		  "F:1:1: missing required key 'server' in the top level" },
		{ xasprintf("follow: [a]\n"),
		  "F:1:1: missing required key 'agent' in the top level" },
		{ xasprintf("%s", ""),
		  "F:1:1: missing required key 'agent' in the top level" },
		{ xasprintf("agent:\n  name: a\n  nmae: b\n"),
		  "F:3:3: unknown key 'nmae' in agent (known: name, data_dir, "
		  "host)" },
		{ xasprintf("agent:\n  name: a\nspool: {max: 1}\n"),
		  "F:3:9: unknown key 'max' in spool (known: max_size)" },
		{ xasprintf("agents:\n  name: a\n"),
		  "F:1:1: unknown key 'agents' in the top level (known: agent, "
		  "server, keys, follow, from_start, batch, spool, heartbeat, journal, "
		  "eventlog)" },
		{ xasprintf("agent:\n  name: a\nserver:\n  endpoint: "
		  "http://h\n  public_key: \"%s\"\nkeys:\n  public: \"%s\"\n"
		  "  secret: \"%s\"\n", spub, apub, asec),
		  "F:4:13: server.endpoint must be a ZeroMQ endpoint "
		  "tcp://HOST:PORT or ipc://PATH" },
		{ xasprintf("agent:\n  name: a\nserver:\n  endpoint: "
		  "tcp://h:1\n  public_key: \"%s\"\nkeys:\n  public: \"%s\"\n"
		  "  secret: \"%s\"\n", "short", apub, asec),
		  "F:5:15: server.public_key must be a CURVE key of 40 Z85 "
		  "characters" },
		{ xasprintf("agent:\n  name: a\nserver:\n  endpoint: "
		  "tcp://h:1\n  public_key: \"%s\"\nkeys:\n  public: \"%s\"\n"
		  "  secret: \"%s\"\n", spub, badkey, asec),
		  "F:7:11: keys.public must be a CURVE key of 40 Z85 "
		  "characters" },
		{ xasprintf("agent:\n  name: a\nserver:\n  endpoint: "
		  "tcp://h:1\n  public_key: \"%s\"\nkeys:\n  public: \"%s\"\n",
		  spub, apub),
		  "F:7:3: missing required key 'secret' in keys" },
		{ xasprintf("agent:\n  name: a\nserver:\n  endpoint: "
		  "tcp://h:1\n  public_key: \"%s\"\nkeys:\n  public: \"%s\"\n"
		  "  secret: \"%s\"\n", spub, spub, asec),
		  "F:7:11: keys.public does not match keys.secret" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct agent_config a;
		char err[512], want[512];
		char *p;
		int rc;

		assert_non_null(t[i].y);
		p = put("bad.yml", t[i].y);
		rc = agent_config_load(p, &a, err, sizeof(err));
		snprintf(want, sizeof(want), "%s%s", p, t[i].err + 1);
		if (rc != TS_EPARSE || strcmp(err, want) != 0)
			fail_msg("case %zu: rc %d\n got: %s\nwant: %s", i, rc, err,
			    want);
		assert_null(a.name);
		free(p);
		free(t[i].y);
	}
}

/* Errors in the optional parts of an otherwise valid agent file. */
/* eventlog: the default channels of a Windows agent, add:, channels:
 * (replacing them), filters: (an XPath per channel). */
static void test_agent_eventlog(void **state)
{
	struct agent_config a;
	char err[512], *t, *p;

	(void)state;
	t = agent_text("eventlog:\n");
	p = put("e.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.eventlog, 1);
	assert_int_equal(a.nevt_channels, 6);
	assert_string_equal(a.evt_channels[0], "Security");
	assert_string_equal(a.evt_channels[5],
	    "Microsoft-Windows-PowerShell/Operational");
	assert_null(a.evt_queries[0]);
	agent_config_free(&a);
	free(t);
	free(p);

	t = agent_text("eventlog:\n  add: [\"Microsoft-Windows-TaskScheduler/"
	    "Operational\", Security]\n  filters:\n    Security: \"*[System["
	    "(EventID=4624)]]\"\n");
	p = put("e.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.nevt_channels, 7);	/* Security not twice */
	assert_string_equal(a.evt_channels[6],
	    "Microsoft-Windows-TaskScheduler/Operational");
	assert_string_equal(a.evt_queries[0], "*[System[(EventID=4624)]]");
	assert_null(a.evt_queries[6]);
	agent_config_free(&a);
	free(t);
	free(p);

	t = agent_text("eventlog:\n  channels: [Application]\n");
	p = put("e.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.nevt_channels, 1);
	assert_string_equal(a.evt_channels[0], "Application");
	agent_config_free(&a);
	free(t);
	free(p);

	/* no eventlog: key, no channels */
	t = agent_text("");
	p = put("e.yml", t);
	assert_int_equal(agent_config_load(p, &a, err, sizeof(err)), 0);
	assert_int_equal(a.eventlog, 0);
	assert_int_equal(a.nevt_channels, 0);
	agent_config_free(&a);
	free(t);
	free(p);
}

static void test_agent_value_errors(void **state)
{
	static const struct { const char *extra; const char *err; } t[] = {
		{ "batch:\n  max_events: 0\n",
		  ":11:15: max_events must be an integer from 1 to 1024" },
		{ "batch:\n  max_events: 1025\n",
		  ":11:15: max_events must be an integer from 1 to 1024" },
		{ "batch:\n  max_wait: 2h\n",
		  ":11:13: batch.max_wait must be at most 1h" },
		{ "batch:\n  max_wait: 5x\n",
		  ":11:13: max_wait must be a duration such as 250ms, 30s, 15m, "
		  "2h, 7d or 1w" },
		{ "heartbeat: 0s\n",
		  ":10:12: heartbeat must be from 100ms to 1h" },
		{ "from_start: maybe\n",
		  ":10:13: from_start must be true or false" },
		{ "follow:\n  - [a]\n",
		  ":11:5: follow: each item must be a string" },
		{ "spool:\n  max_size: 1k\n",
		  ":11:13: spool.max_size must be at least 64k" },
		{ "spool:\n  max_size: many\n",
		  ":11:13: max_size must be a size such as 512, 64k, 256M or 2G" },
		{ "journal:\n  units: [\"a=b\"]\n",
		  ":11:10: journal.units unit names must be 1 to 256 bytes "
		  "without '=' or blanks" },
		{ "journal:\n  unit: [ssh.service]\n",
		  ":11:3: unknown key 'unit' in journal (known: units, "
		  "directory)" },
		{ "eventlog:\n  channel: [Security]\n",
		  ":11:3: unknown key 'channel' in eventlog (known: channels, "
		  "add, filters)" },
		{ "eventlog:\n  filters:\n    Nosuch: \"*\"\n",
		  ":12:5: eventlog.filters: channel 'Nosuch' is not read (add "
		  "it to eventlog.add)" },
		{ "eventlog:\n  filters: [a]\n",
		  ":11:12: eventlog.filters must map channel names to XPath "
		  "queries" },
		{ "eventlog:\n  filters:\n    System: \"\"\n",
		  ":12:13: eventlog.filters: the query of 'System' must be an "
		  "XPath of 1 to 4096 bytes" },
		{ "eventlog:\n  add: [\"a\\tb\"]\n",
		  ":11:8: eventlog.add channel names must be 1 to 256 bytes "
		  "without control characters" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct agent_config a;
		char err[512], want[512];
		char *text = agent_text(t[i].extra);
		char *p = put("v.yml", text);
		int rc = agent_config_load(p, &a, err, sizeof(err));
		snprintf(want, sizeof(want), "%s%s", p, t[i].err);
		if (rc != TS_EPARSE || strcmp(err, want) != 0)
			fail_msg("case %zu: rc %d\n got: %s\nwant: %s", i, rc, err,
			    want);
		free(text);
		free(p);
	}
}

/* config_locate: -c, then the environment variable, then (installed
 * builds only) SYSCONFDIR/tocsin/NAME, then the embedded default. */
static void test_locate(void **state)
{
	char buf[64], longp[200];
	const char *out, *why;
	(void)state;

	unsetenv("TOCSIN_TEST_CONFIG");
	assert_int_equal(config_locate("a.yml", "TOCSIN_TEST_CONFIG",
	    "tocsind.yml", buf, sizeof(buf), &out, &why), 0);
	assert_string_equal(out, "a.yml");
	assert_string_equal(why, "-c");

	setenv("TOCSIN_TEST_CONFIG", "/srv/b.yml", 1);
	assert_int_equal(config_locate("a.yml", "TOCSIN_TEST_CONFIG",
	    "tocsind.yml", buf, sizeof(buf), &out, &why), 0);
	assert_string_equal(out, "a.yml");	/* -c wins over the variable */
	assert_int_equal(config_locate(NULL, "TOCSIN_TEST_CONFIG",
	    "tocsind.yml", buf, sizeof(buf), &out, &why), 0);
	assert_string_equal(out, "/srv/b.yml");
	assert_string_equal(why, "TOCSIN_TEST_CONFIG");

	/* an empty variable is as good as none */
	setenv("TOCSIN_TEST_CONFIG", "", 1);
	assert_int_equal(config_locate(NULL, "TOCSIN_TEST_CONFIG",
	    "tocsind.yml", buf, sizeof(buf), &out, &why), 0);
	if (config_sysconfdir()[0] == '\0') {
		/* a source-tree build never looks in /etc */
		assert_null(out);
		assert_string_equal(why, "embedded default");
		assert_string_equal(config_statedir(), "var/tocsind");
		assert_null(config_agent_statedir());
	}
	unsetenv("TOCSIN_TEST_CONFIG");

	/* a path that does not fit is refused, not cut */
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(config_locate(longp, NULL, "tocsind.yml", buf,
	    sizeof(buf), &out, &why), TS_EINVAL);
	assert_null(out);
}

/* Group files: what they set, what they leave to the agent, and errors
 * at file:line:col. */
static void test_group(void **state)
{
	static const struct { const char *text; const char *err; } bad[] = {
		{ "follow:\n  - /a\nfolow: x\n",
		  "g.yml:3:1: unknown key 'folow' in the top level" },
		{ "agent:\n  name: x\n", "g.yml:1:1: unknown key 'agent'" },
		{ "follow: [\n", "g.yml:" },
		{ "follow:\n  - [a]\n", "g.yml:2:5: follow: each item must be "
		  "a string" },
		{ "spool:\n  max_size: 1k\n",
		  "g.yml:2:13: spool.max_size must be at least 64k" },
		{ "spool:\n  cap: 1M\n", "g.yml:2:3: unknown key 'cap'" },
		{ "journal:\n  units: ['a b']\n", "g.yml:2:10: journal.units "
		  "unit names must be" },
		{ "- a\n", "g.yml:1:1: the configuration must be a mapping" },
	};
	struct group_config g;
	struct agent_config base, eff;
	char err[512], *follow[] = { "/local.log" };
	static const char good[] = "follow:\n  - /a.log\n  - /b.log\n"
	    "journal:\n  units: [ssh.service]\nspool:\n  max_size: 8M\n";
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(group_config_parse("g.yml", bad[i].text,
		    strlen(bad[i].text), &g, err, sizeof(err)), TS_EPARSE);
		if (strstr(err, bad[i].err) != err)
			fail_msg("case %zu: got '%s', want '%s...'", i, err,
			    bad[i].err);
		assert_null(g.follow);
	}

	memset(&base, 0, sizeof(base));
	base.follow = follow;
	base.nfollow = 1;
	base.spool_max_bytes = 1 << 30;
	assert_int_equal(group_config_parse("g.yml", good, strlen(good), &g,
	    err, sizeof(err)), 0);
	group_config_apply(&base, &g, &eff);
	assert_int_equal(eff.nfollow, 2);
	assert_string_equal(eff.follow[1], "/b.log");
	assert_int_equal(eff.journal, 1);
	assert_int_equal(eff.njournal_units, 1);
	assert_string_equal(eff.journal_units[0], "ssh.service");
	assert_true(eff.spool_max_bytes == 8ULL << 20);
	group_config_free(&g);

	/* an empty file, and one that sets only the spool: the rest stays
	 * the agent's own */
	assert_int_equal(group_config_parse("g.yml", "", 0, &g, err,
	    sizeof(err)), 0);
	group_config_apply(&base, &g, &eff);
	assert_ptr_equal(eff.follow, follow);
	assert_int_equal(eff.journal, 0);
	assert_true(eff.spool_max_bytes == 1ULL << 30);
	group_config_free(&g);
	assert_int_equal(group_config_parse("g.yml", "follow: []\n", 11, &g,
	    err, sizeof(err)), 0);
	group_config_apply(&base, &g, &eff);
	assert_int_equal(eff.nfollow, 0);	/* an empty list is a setting */
	group_config_free(&g);
}

/* collector.groups: given, or beside the configuration file. */
static void test_groups_dir(void **state)
{
	struct server_config c;
	char err[512], *p;
	(void)state;

	p = put("srv.yml", "data_dir: /tmp/x\n");
	assert_int_equal(server_config_load(p, &c, err, sizeof(err)), 0);
	assert_non_null(strstr(c.groups_dir, "/groups"));
	assert_int_equal(strncmp(c.groups_dir, p, strlen(p) - strlen("srv.yml")),
	    0);
	server_config_free(&c);
	free(p);
	p = put("srv2.yml", "collector:\n  groups: /srv/g\n");
	assert_int_equal(server_config_load(p, &c, err, sizeof(err)), 0);
	assert_string_equal(c.groups_dir, "/srv/g");
	server_config_free(&c);
	free(p);
	p = put("srv3.yml", "collector:\n  groups: ''\n");
	assert_int_equal(server_config_load(p, &c, err, sizeof(err)),
	    TS_EPARSE);
	assert_non_null(strstr(err, "srv3.yml:2:11: collector.groups must not "
	    "be empty"));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_default),
		cmocka_unit_test(test_locate),
		cmocka_unit_test(test_server_file),
		cmocka_unit_test(test_server_errors),
		cmocka_unit_test(test_timezones),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_agent_ok),
		cmocka_unit_test(test_agent_errors),
		cmocka_unit_test(test_agent_value_errors),
		cmocka_unit_test(test_agent_eventlog),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_groups_dir),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
