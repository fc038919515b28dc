/*
 * test_outputs.c - the outputs: the `outputs:` configuration section and
 * its errors (file:line:col), CEF / JSON / syslog formatting, the filters
 * (min_level, drills, webhook pages), and JSON Lines rotation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "outputs/outputs_int.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tocsin-test-outputs.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* Write a server configuration DIR/name holding text; load it. */
static int load(const char *name, const char *text, struct server_config *c,
    char *err, size_t errlen)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	int rc;

	assert_non_null(p);
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0600), 0);
	rc = server_config_load(p, c, err, errlen);
	free(p);
	return rc;
}

static void test_config_ok(void **state)
{
	struct server_config c;
	char err[512];
	(void)state;

	assert_int_equal(load("ok.yml",
	    "outputs:\n"
	    "  - name: file\n"
	    "    type: jsonl\n"
	    "    path: var/alerts.jsonl\n"
	    "    max_size: 10M\n"
	    "    keep: 3\n"
	    "    fsync: always\n"
	    "  - name: live\n"
	    "    type: live\n"
	    "    endpoint: tcp://127.0.0.1:7516\n"
	    "    drills: include\n"
	    "  - name: soc\n"
	    "    type: forward\n"
	    "    address: 127.0.0.1:6514\n"
	    "    protocol: udp\n"
	    "    format: json\n"
	    "    min_level: 10\n"
	    "    drills: label\n"
	    "  - name: oncall\n"
	    "    type: webhook\n"
	    "    url: https://hooks.example/x\n"
	    "    timeout: 3s\n"
	    "    retry_max: 2m\n"
	    "    enabled: false\n",
	    &c, err, sizeof(err)), 0);
	assert_int_equal(c.noutputs, 4);
	assert_string_equal(c.outputs[0].name, "file");
	assert_int_equal(c.outputs[0].type, OUTPUT_JSONL);
	assert_int_equal(c.outputs[0].max_bytes, 10ULL << 20);
	assert_int_equal(c.outputs[0].keep, 3);
	assert_int_equal(c.outputs[0].fsync, OUTPUT_FSYNC_ALWAYS);
	assert_int_equal(c.outputs[0].drills, OUTPUT_DRILLS_EXCLUDE);
	assert_int_equal(c.outputs[0].records,
	    OUTPUT_REC_ALERTS | OUTPUT_REC_INCIDENTS);
	assert_int_equal(c.outputs[1].type, OUTPUT_LIVE);
	assert_int_equal(c.outputs[1].drills, OUTPUT_DRILLS_INCLUDE);
	assert_int_equal(c.outputs[2].proto, OUTPUT_PROTO_UDP);
	assert_int_equal(c.outputs[2].format, OUTPUT_FORMAT_JSON);
	assert_int_equal(c.outputs[2].min_level, 10);
	assert_int_equal(c.outputs[2].drills, OUTPUT_DRILLS_LABEL);
	assert_int_equal(c.outputs[2].records, OUTPUT_REC_ALERTS);
	assert_int_equal(c.outputs[3].records, OUTPUT_REC_INCIDENTS);
	assert_int_equal(c.outputs[3].timeout_us, 3000000);
	assert_int_equal(c.outputs[3].retry_max_us, 120000000);
	assert_int_equal(c.outputs[3].enabled, 0);
	server_config_free(&c);

	/* the embedded default still loads */
	assert_int_equal(server_config_load(NULL, &c, err, sizeof(err)), 0);
	server_config_free(&c);
}

static void test_config_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "outputs: 3\n", ":1:10: outputs must be a list" },
		{ "outputs:\n  - 3\n", ":2:5: each item of outputs must be a "
		    "mapping" },
		{ "outputs:\n  - name: a\n", ":2:5: missing required key "
		    "'type'" },
		{ "outputs:\n  - name: a\n    type: kafka\n",
		    ":3:11: outputs.type must be one of jsonl, live, forward, "
		    "webhook" },
		{ "outputs:\n  - type: jsonl\n    path: x\n",
		    ":2:5: missing required key 'name' in outputs" },
		{ "outputs:\n  - name: a b\n    type: jsonl\n    path: x\n",
		    ":2:11: outputs.name must be 1 to 64 characters" },
		{ "outputs:\n  - name: a\n    type: jsonl\n",
		    ":2:5: missing required key 'path' in a jsonl output" },
		{ "outputs:\n  - name: a\n    type: jsonl\n    path: x\n"
		    "    endpoint: tcp://127.0.0.1:1\n",
		    ":5:5: unknown key 'endpoint' in a jsonl output" },
		{ "outputs:\n  - name: a\n    type: live\n    endpoint: x\n",
		    ":4:15: outputs.endpoint must be a ZeroMQ endpoint" },
		{ "outputs:\n  - name: a\n    type: forward\n"
		    "    address: nohost\n",
		    ":4:14: outputs.address must be \"host:port\"" },
		{ "outputs:\n  - name: a\n    type: forward\n"
		    "    address: h:1\n    format: leef\n",
		    ":5:13: outputs.format must be one of json, cef" },
		{ "outputs:\n  - name: a\n    type: forward\n"
		    "    address: h:1\n    protocol: sctp\n",
		    ":5:15: outputs.protocol must be one of tcp, udp" },
		{ "outputs:\n  - name: a\n    type: webhook\n"
		    "    url: ftp://x\n",
		    ":4:10: outputs.url must be an http:// or https:// URL" },
		{ "outputs:\n  - name: a\n    type: webhook\n"
		    "    url: http://x\n    timeout: 1h\n",
		    ":5:14: outputs.timeout must be from 100ms to 5m" },
		{ "outputs:\n  - name: a\n    type: webhook\n"
		    "    url: http://x\n    min_level: 16\n", ":5:16:" },
		{ "outputs:\n  - name: a\n    type: webhook\n"
		    "    url: http://x\n    drills: maybe\n",
		    ":5:13: outputs.drills must be one of exclude, label, "
		    "include" },
		{ "outputs:\n  - name: a\n    type: jsonl\n    path: x\n"
		    "  - name: a\n    type: jsonl\n    path: y\n",
		    ":5:11: outputs.name is used by two outputs" },
		{ "outputs:\n  - name: a\n    type: jsonl\n    path: x\n"
		    "    max_size: 10\n", ":5:15: outputs.max_size must be at "
		    "least 1k" },
	};
	struct server_config c;
	char err[512];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = load("bad.yml", cases[i].text, &c, err, sizeof(err));
		if (rc != TS_EPARSE || strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: rc %d, err '%s', want '%s'", i, rc,
			    err, cases[i].want);
		assert_int_equal(c.noutputs, 0);
	}
}

static const char alert_text[] =
    "{\"id\":7,\"time\":\"2026-01-26T00:00:05.000Z\","
    "\"time_us\":1769385605000000,\"level\":10,"
    "\"rule\":{\"id\":\"sshd.brute|force\",\"title\":\"Brute force\","
    "\"mitre\":[\"T1110\",\"T1021\"],\"groups\":[]},"
    "\"agent\":\"web01\",\"host\":\"web01\","
    "\"message\":\"a=b\\\\c\\nnext\","
    "\"fields\":{\"srcip\":\"10.0.0.1\",\"user\":\"root\"},"
    "\"event\":{\"jseq\":3,\"file\":\"/var/log/auth.log\","
    "\"source\":\"agent\"}}";

static json_t *alert(void)
{
	json_t *j = json_loads(alert_text, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_format_cef(void **state)
{
	json_t *a = alert();
	char *s = NULL;
	size_t len;
	(void)state;

	assert_int_equal(output_format_cef(OUT_KIND_ALERT, a, &s, &len), 0);
	assert_int_equal(strlen(s), len);
	/* level 10 of 15 is CEF severity 7; | escaped in the header; = \ and
	 * the line break escaped in extension values */
	assert_non_null(strstr(s, "CEF:0|tocsin|tocsin|1|sshd.brute\\|force|"
	    "Brute force|7|rt=1769385605000 externalId=7 dvchost=web01 "
	    "src=10.0.0.1 suser=root cs2Label=agent cs2=web01 "
	    "cs3Label=mitre cs3=T1110,T1021 cn1Label=level cn1=10 "));
	assert_non_null(strstr(s, " msg=a\\=b\\\\c\\nnext"));
	assert_null(strstr(s, "cs1Label=drill"));
	assert_null(strchr(s, '\n'));
	free(s);

	/* every control character escaped: C0 (ESC, TAB, NUL cannot be
	 * in a C string), DEL, C1 (U+0085 NEL, U+009B CSI), in the header
	 * and in extension values; other UTF-8 kept */
	json_object_set_new(json_object_get(a, "rule"), "id",
	    json_string("x\x1b[2Jy\x7f\xc2\x9bz"));
	json_object_set_new(a, "message", json_string(
	    "a\tb\x1b]0;t\x07" "c\x7f" "d\xc2\x85" "e\xc3\xa9"));
	assert_int_equal(output_format_cef(OUT_KIND_ALERT, a, &s, &len), 0);
	assert_non_null(strstr(s, "|x\\x1b[2Jy\\x7f\\x9bz|"));
	assert_non_null(strstr(s, " msg=a\\x09b\\x1b]0;t\\x07c\\x7fd\\x85e\xc3\xa9"));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		assert_false(c < 0x20 || c == 0x7f);
		if (c == 0xc2 && i + 1 < len)
			assert_false((unsigned char)s[i + 1] >= 0x80 &&
			    (unsigned char)s[i + 1] <= 0x9f);
	}
	free(s);

	/* a drill's record says so */
	json_object_set_new(a, "drill", json_string("tuesday"));
	assert_int_equal(output_format_cef(OUT_KIND_ALERT, a, &s, &len), 0);
	assert_non_null(strstr(s, " cs1Label=drill cs1=tuesday"));
	free(s);
	json_decref(a);
}

static void test_format_syslog(void **state)
{
	json_t *a = alert(), *back;
	char *s = NULL, *body;
	size_t len, n;
	(void)state;

	/* octet counting: "LEN SP" then exactly LEN bytes */
	assert_int_equal(output_format_syslog(OUT_KIND_ALERT, a,
	    OUTPUT_FORMAT_JSON, 1, &s, &len), 0);
	n = strtoul(s, &body, 10);
	assert_int_equal(*body, ' ');
	body++;
	assert_int_equal(n, len - (size_t)(body - s));
	/* level 10: local4.err = <163>, RFC 5424 version 1 */
	assert_memory_equal(body, "<163>1 ", 7);
	assert_non_null(strstr(body, " tocsin - alert - {\"id\":7,"));
	back = json_loads(strchr(body, '{'), 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, a));
	json_decref(back);
	free(s);

	/* UDP: no frame; CEF body */
	assert_int_equal(output_format_syslog(OUT_KIND_ALERT, a,
	    OUTPUT_FORMAT_CEF, 0, &s, &len), 0);
	assert_memory_equal(s, "<163>1 ", 7);
	assert_non_null(strstr(s, " tocsin - alert - CEF:0|tocsin|"));
	free(s);
	json_decref(a);
}

static void test_filters(void **state)
{
	struct output_config oc;
	json_t *a = alert(), *inc;
	(void)state;

	memset(&oc, 0, sizeof(oc));
	oc.type = OUTPUT_FORWARD;
	oc.min_level = 10;
	assert_int_equal(output_wants(&oc, OUT_KIND_ALERT, a), 1);
	oc.min_level = 11;
	assert_int_equal(output_wants(&oc, OUT_KIND_ALERT, a), 0);
	oc.min_level = 0;

	/* drills: exclude (default) drops, include keeps as is, label marks */
	json_object_set_new(a, "drill", json_string("tuesday"));
	oc.drills = OUTPUT_DRILLS_EXCLUDE;
	assert_int_equal(output_wants(&oc, OUT_KIND_ALERT, a), 0);
	oc.drills = OUTPUT_DRILLS_INCLUDE;
	assert_int_equal(output_wants(&oc, OUT_KIND_ALERT, a), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(a, "rule"), "title")), "Brute force");
	oc.drills = OUTPUT_DRILLS_LABEL;
	assert_int_equal(output_wants(&oc, OUT_KIND_ALERT, a), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(a, "rule"), "title")),
	    "[DRILL tuesday] Brute force");
	assert_string_equal(json_string_value(json_object_get(a,
	    "drill_label")), "DRILL tuesday");
	json_decref(a);

	/* incident changes: severity from the snapshot; the webhook pages on
	 * openings and escalations only */
	inc = json_loads("{\"seq\":3,\"incident\":2,\"change\":\"opened\","
	    "\"by\":\"engine\",\"snapshot\":{\"id\":2,\"title\":\"SSH\","
	    "\"severity\":9,\"state\":\"open\"}}", 0, NULL);
	assert_non_null(inc);
	oc.type = OUTPUT_WEBHOOK;
	oc.drills = OUTPUT_DRILLS_EXCLUDE;
	oc.min_level = 9;
	assert_int_equal(output_record_level(OUT_KIND_INCIDENT, inc), 9);
	assert_int_equal(output_wants(&oc, OUT_KIND_INCIDENT, inc), 1);
	json_object_set_new(inc, "change", json_string("escalated"));
	assert_int_equal(output_wants(&oc, OUT_KIND_INCIDENT, inc), 1);
	json_object_set_new(inc, "change", json_string("acknowledged"));
	assert_int_equal(output_wants(&oc, OUT_KIND_INCIDENT, inc), 0);
	oc.type = OUTPUT_JSONL;	/* a file takes every change */
	assert_int_equal(output_wants(&oc, OUT_KIND_INCIDENT, inc), 1);
	/* a drill incident (drill in the snapshot) */
	json_object_set_new(json_object_get(inc, "snapshot"), "drill",
	    json_string("d1"));
	assert_int_equal(output_wants(&oc, OUT_KIND_INCIDENT, inc), 0);
	{
		char *s;
		size_t len;
		assert_int_equal(output_format_cef(OUT_KIND_INCIDENT, inc, &s,
		    &len), 0);
		assert_non_null(strstr(s, "CEF:0|tocsin|tocsin|1|"
		    "incident-acknowledged|SSH|6|externalId=3 "));
		assert_non_null(strstr(s, "cs4=open"));
		free(s);
	}
	json_decref(inc);
}

/* Lines in a file (0 if absent). */
static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int ch;

	if (f == NULL)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void test_jsonl_rotation(void **state)
{
	struct output_config oc;
	void *impl = NULL;
	json_t *a = alert();
	char *path = xasprintf("%s/out/alerts.jsonl", tmpdir), *p;
	size_t total = 0, len;
	char *line;
	struct stat st;
	uint32_t k;
	(void)state;

	assert_int_equal(output_format_json(a, &line, &len), 0);
	free(line);
	memset(&oc, 0, sizeof(oc));
	oc.name = "file";
	oc.type = OUTPUT_JSONL;
	oc.path = path;
	oc.max_bytes = 3 * (len + 1) + 10;	/* three lines per file */
	oc.keep = 2;
	oc.fsync = OUTPUT_FSYNC_BATCH;
	assert_int_equal(output_jsonl_ops.open(&oc, &impl), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(output_jsonl_ops.send(impl, &oc,
		    OUT_KIND_ALERT, a), 0);
	assert_int_equal(output_jsonl_ops.flush(impl), 0);
	output_jsonl_ops.close(&impl);
	assert_null(impl);
	/* 10 lines, 3 a file: 1 in the live file, 3 in .1, 3 in .2; the
	 * oldest 3 went past keep */
	assert_int_equal(count_lines(path), 1);
	for (k = 1; k <= 3; k++) {
		p = xasprintf("%s.%u", path, k);
		if (k <= 2) {
			assert_int_equal(count_lines(p), 3);
			assert_int_equal(stat(p, &st), 0);
			assert_true((uint64_t)st.st_size <= oc.max_bytes);
			total += 3;
		} else
			assert_int_not_equal(stat(p, &st), 0);
		free(p);
	}
	assert_int_equal(total + 1, 7);

	/* reopening appends to the live file */
	assert_int_equal(output_jsonl_ops.open(&oc, &impl), 0);
	assert_int_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT, a),
	    0);
	output_jsonl_ops.close(&impl);
	assert_int_equal(count_lines(path), 2);
	{
		/* every line is the alert, whole */
		char *text = NULL;
		size_t tlen;
		json_t *back;
		assert_int_equal(read_file(path, 1 << 20, &text, &tlen), 0);
		*strchr(text, '\n') = '\0';
		back = json_loads(text, 0, NULL);
		assert_non_null(back);
		assert_true(json_equal(back, a));
		json_decref(back);
		free(text);
	}
	json_decref(a);
	free(path);
}

/* Every line of path is the alert a, whole; their number. */
static size_t whole_alert_lines(const char *path, json_t *a)
{
	char *text = NULL, *p, *nl;
	size_t tlen, n = 0;

	assert_int_equal(read_file(path, 1 << 20, &text, &tlen), 0);
	if (tlen > 0)
		assert_true(text[tlen - 1] == '\n');
	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		json_t *back;

		*nl = '\0';
		back = json_loads(p, 0, NULL);
		assert_non_null(back);
		assert_true(json_equal(back, a));
		json_decref(back);
		n++;
	}
	free(text);
	return n;
}

static int fsync_fails(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

/* A full disk: a write cut short (RLIMIT_FSIZE gives a real partial write
 * then EFBIG) leaves no half line; a failed fsync cuts the file back to
 * what was synced and fails the flush, so the outputs process keeps its
 * cursor and the lines are written again, once. */
static void test_jsonl_full_disk(void **state)
{
	struct output_config oc;
	struct rlimit old, lim;
	void (*oldsig)(int);
	void *impl = NULL;
	json_t *a = alert();
	char *path = xasprintf("%s/full/alerts.jsonl", tmpdir), *line;
	uint64_t one, size3;
	size_t len;
	FILE *f;
	(void)state;

	assert_int_equal(output_format_json(a, &line, &len), 0);
	free(line);
	one = len + 1;
	memset(&oc, 0, sizeof(oc));
	oc.name = "file";
	oc.type = OUTPUT_JSONL;
	oc.path = path;
	oc.max_bytes = 1 << 20;
	oc.keep = 2;
	oc.fsync = OUTPUT_FSYNC_BATCH;
	assert_int_equal(output_jsonl_ops.open(&oc, &impl), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(output_jsonl_ops.send(impl, &oc,
		    OUT_KIND_ALERT, a), 0);
	assert_int_equal(output_jsonl_ops.flush(impl), 0);
	size3 = file_size(path);
	assert_true(size3 == 3 * one);

	/* Room for half a line only. */
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)(size3 + one / 2);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_not_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT,
	    a), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_true(file_size(path) == size3);	/* the half line is gone */
	assert_int_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT, a),
	    0);
	assert_int_equal(output_jsonl_ops.flush(impl), 0);
	assert_int_equal(whole_alert_lines(path, a), 4);

	/* fsync fails: the flush fails and the unsynced lines are cut. */
	output_jsonl_fsync = fsync_fails;
	assert_int_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT, a),
	    0);
	assert_int_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT, a),
	    0);
	assert_int_not_equal(output_jsonl_ops.flush(impl), 0);
	output_jsonl_fsync = fsync;
	assert_int_equal(whole_alert_lines(path, a), 4);
	/* sent again after the failure: each line once */
	assert_int_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT, a),
	    0);
	assert_int_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT, a),
	    0);
	assert_int_equal(output_jsonl_ops.flush(impl), 0);
	output_jsonl_ops.close(&impl);
	assert_int_equal(whole_alert_lines(path, a), 6);

	/* fsync "always": a failed fsync fails the send itself. */
	oc.fsync = OUTPUT_FSYNC_ALWAYS;
	assert_int_equal(output_jsonl_ops.open(&oc, &impl), 0);
	output_jsonl_fsync = fsync_fails;
	assert_int_not_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT,
	    a), 0);
	output_jsonl_fsync = fsync;
	output_jsonl_ops.close(&impl);
	assert_int_equal(whole_alert_lines(path, a), 6);

	/* A crash mid-line: the partial line is removed at open. */
	assert_non_null(f = fopen(path, "a"));
	fputs("{\"id\":7,\"partial", f);
	fclose(f);
	oc.fsync = OUTPUT_FSYNC_BATCH;
	assert_int_equal(output_jsonl_ops.open(&oc, &impl), 0);
	assert_int_equal(output_jsonl_ops.send(impl, &oc, OUT_KIND_ALERT, a),
	    0);
	assert_int_equal(output_jsonl_ops.flush(impl), 0);
	output_jsonl_ops.close(&impl);
	assert_int_equal(whole_alert_lines(path, a), 7);
	json_decref(a);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_ok),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_format_cef),
		cmocka_unit_test(test_format_syslog),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_jsonl_rotation),
		cmocka_unit_test(test_jsonl_full_disk),
	};
	log_init("test_outputs", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
