/*
 * test_winevt.c - the Windows event decoder: one event in its four forms
 * (Event XML, evtx-tool JSON, Winlogbeat, NXLog) gives the same fields;
 * unnamed data by position; UserData; a table of malformed and hostile
 * inputs (truncated XML, DTDs, depth, thousands of items, huge values);
 * and through rules_eval, host = Computer and time = TimeCreated.
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

#include "common/err.h"
#include "common/limits.h"
#include "rules/rules.h"
#include "rules/rules_int.h"

#define MAX_GOT	600

struct got {
	char	name[MAX_GOT][160];
	char	val[MAX_GOT][128];
	size_t	n;
};

static int
collect_cb(void *arg, const char *name, size_t nl, const char *val,
    size_t vl)
{
	struct got *g = arg;

	if (g->n >= MAX_GOT)
		return -1;
	snprintf(g->name[g->n], sizeof(g->name[0]), "%.*s", (int)nl, name);
	snprintf(g->val[g->n], sizeof(g->val[0]), "%.*s", (int)vl, val);
	g->n++;
	return 0;
}

static const char *
got_val(const struct got *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->name[i], name) == 0)
			return g->val[i];
	return NULL;
}

static char arena_buf[FIELD_ARENA_BYTES];

static int
decode(const char *s, size_t len, struct got *g, struct winevt_info *wi)
{
	struct winevt *w = NULL;
	struct field_arena a = { arena_buf, 0, sizeof(arena_buf) };
	int rc;

	memset(g, 0, sizeof(*g));
	assert_int_equal(winevt_new(&w), 0);
	rc = winevt_decode(w, s, len, &a, collect_cb, g, wi);
	winevt_free(&w);
	assert_null(w);
	return rc;
}

/* The same 4625 event as each form writes it. */
static const char *const forms[] = {
	"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
	"<System><Provider Name='Microsoft-Windows-Security-Auditing' "
	"Guid='{54849625-5478-4994-A5BA-3E3B0328C30D}'/><EventID>4625</EventID>"
	"<Version>0</Version><Level>0</Level><Task>12544</Task>"
	"<Keywords>0x8010000000000000</Keywords>"
	"<TimeCreated SystemTime='2024-03-01T10:00:00.1234567Z'/>"
	"<EventRecordID>77</EventRecordID><Execution ProcessID='636' "
	"ThreadID='700'/><Channel>Security</Channel>"
	"<Computer>dc01.corp.local</Computer><Security UserID='S-1-5-18'/>"
	"</System><EventData><Data Name='TargetUserName'>alice</Data>"
	"<Data Name='LogonType'>3</Data><Data Name='IpAddress'>10.0.0.5</Data>"
	"</EventData></Event>",

	"{\"Event\":{\"#attributes\":{\"xmlns\":\"http://schemas.microsoft.com/"
	"win/2004/08/events/event\"},\"System\":{\"Provider\":{\"#attributes\":"
	"{\"Name\":\"Microsoft-Windows-Security-Auditing\",\"Guid\":"
	"\"{54849625-5478-4994-A5BA-3E3B0328C30D}\"}},\"EventID\":4625,"
	"\"Version\":0,\"Level\":0,\"Task\":12544,\"Keywords\":"
	"\"0x8010000000000000\",\"TimeCreated\":{\"#attributes\":{"
	"\"SystemTime\":\"2024-03-01T10:00:00.1234567Z\"}},\"EventRecordID\":77,"
	"\"Correlation\":null,\"Execution\":{\"#attributes\":{\"ProcessID\":636,"
	"\"ThreadID\":700}},\"Channel\":\"Security\",\"Computer\":"
	"\"dc01.corp.local\",\"Security\":{\"#attributes\":{\"UserID\":"
	"\"S-1-5-18\"}}},\"EventData\":{\"TargetUserName\":\"alice\","
	"\"LogonType\":3,\"IpAddress\":\"10.0.0.5\"}}}",

	"{\"@timestamp\":\"2024-03-01T10:00:00.1234567Z\",\"winlog\":{"
	"\"event_id\":4625,\"channel\":\"Security\",\"computer_name\":"
	"\"dc01.corp.local\",\"provider_name\":"
	"\"Microsoft-Windows-Security-Auditing\",\"provider_guid\":"
	"\"{54849625-5478-4994-A5BA-3E3B0328C30D}\",\"record_id\":77,"
	"\"task\":12544,\"process\":{\"pid\":636,\"thread\":{\"id\":700}},"
	"\"user\":{\"identifier\":\"S-1-5-18\"},\"event_data\":{"
	"\"TargetUserName\":\"alice\",\"LogonType\":\"3\",\"IpAddress\":"
	"\"10.0.0.5\"}}}",

	"{\"EventTime\":\"2024-03-01 11:00:00\",\"Hostname\":"
	"\"dc01.corp.local\",\"EventID\":4625,\"SourceName\":"
	"\"Microsoft-Windows-Security-Auditing\",\"ProviderGuid\":"
	"\"{54849625-5478-4994-A5BA-3E3B0328C30D}\",\"RecordNumber\":77,"
	"\"Task\":12544,\"ProcessID\":636,\"ThreadID\":700,\"UserID\":"
	"\"S-1-5-18\",\"Channel\":\"Security\",\"TargetUserName\":\"alice\","
	"\"LogonType\":\"3\",\"IpAddress\":\"10.0.0.5\",\"Severity\":\"INFO\"}",
};

static void
test_four_forms_one_model(void **state)
{
	static const char *const want[][2] = {
		{ "EventID", "4625" }, { "Channel", "Security" },
		{ "Computer", "dc01.corp.local" },
		{ "Provider_Name", "Microsoft-Windows-Security-Auditing" },
		{ "Provider", "Microsoft-Windows-Security-Auditing" },
		{ "Provider_Guid", "{54849625-5478-4994-A5BA-3E3B0328C30D}" },
		{ "EventRecordID", "77" }, { "Task", "12544" },
		{ "Execution.ProcessID", "636" },
		{ "Execution.ThreadID", "700" },
		{ "Security.UserID", "S-1-5-18" },
		{ "TargetUserName", "alice" }, { "LogonType", "3" },
		{ "IpAddress", "10.0.0.5" },
	};
	struct got *g = malloc(sizeof(*g));
	struct winevt_info wi;

	(void)state;
	assert_non_null(g);
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		assert_int_equal(decode(forms[f], strlen(forms[f]), g, &wi), 0);
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			const char *v = got_val(g, want[k][0]);

			if (v == NULL || strcmp(v, want[k][1]) != 0)
				fail_msg("form %zu: %s = %s, want %s", f,
				    want[k][0], v ? v : "(none)", want[k][1]);
		}
		assert_non_null(wi.computer);
		assert_memory_equal(wi.computer, "dc01.corp.local", 15);
		assert_null(got_val(g, "Severity"));	/* NXLog's own */
		assert_null(got_val(g, "EventTime"));
		/* every form gives the time; NXLog's default EventTime has no
		 * zone (the sender's wall clock), which the caller is told */
		assert_true(wi.has_time);
		if (f < 3) {
			assert_int_equal(wi.time_us, 1709287200123456ULL);
			assert_false(wi.time_local);
		} else {
			assert_int_equal(wi.time_us, 1709290800000000ULL);
			assert_true(wi.time_local);
		}
	}
	free(g);
}

static void
test_unnamed_data_userdata(void **state)
{
	const char *x = "<?xml version='1.0'?>\n<Event xmlns='http://schemas."
	    "microsoft.com/win/2004/08/events/event'>\n <System>\n  "
	    "<Provider Name='Service Control Manager'/>\n  <EventID "
	    "Qualifiers='16384'>7036</EventID>\n  <Channel>System</Channel>\n"
	    " </System>\n <EventData>\n  <Data>Windows Update</Data>\n  "
	    "<Data>running</Data>\n  <Binary>7700</Binary>\n </EventData>\n"
	    "</Event>\n";
	const char *u = "<Event><System><EventID>1102</EventID><Channel>"
	    "Security</Channel></System><UserData><LogFileCleared xmlns="
	    "'http://manifests.microsoft.com/win/2004/08/windows/eventlog'>"
	    "<SubjectUserSid>S-1-5-21-1</SubjectUserSid><SubjectUserName>"
	    "bob</SubjectUserName></LogFileCleared></UserData></Event>";
	const char *j = "{\"Event\":{\"System\":{\"EventID\":{\"#attributes\":"
	    "{\"Qualifiers\":16384},\"#text\":7045},\"Channel\":\"System\"},"
	    "\"EventData\":{\"Data\":{\"#text\":[\"svc\",\"C:\\\\x.exe\"]}}}}";
	struct got *g = malloc(sizeof(*g));
	struct winevt_info wi;

	(void)state;
	assert_non_null(g);
	assert_int_equal(decode(x, strlen(x), g, &wi), 0);
	assert_string_equal(got_val(g, "EventID"), "7036");
	assert_string_equal(got_val(g, "EventID.Qualifiers"), "16384");
	assert_string_equal(got_val(g, "param1"), "Windows Update");
	assert_string_equal(got_val(g, "param2"), "running");
	assert_string_equal(got_val(g, "Binary"), "7700");
	assert_string_equal(got_val(g, "Data"), "Windows Update running 7700");
	assert_int_equal(decode(u, strlen(u), g, &wi), 0);
	assert_string_equal(got_val(g, "SubjectUserName"), "bob");
	assert_string_equal(got_val(g, "SubjectUserSid"), "S-1-5-21-1");
	assert_int_equal(decode(j, strlen(j), g, &wi), 0);
	assert_string_equal(got_val(g, "EventID"), "7045");
	assert_string_equal(got_val(g, "param1"), "svc");
	assert_string_equal(got_val(g, "param2"), "C:\\x.exe");
	free(g);
}

static void
test_not_windows(void **state)
{
	static const char *const lines[] = {
		"", "plain text", "<html><body>x</body></html>",
		"{\"a\": 1}", "{\"EventID\": 4625}", "[1,2]",
		"<13>Jan  1 00:00:00 h sshd[1]: Failed password",
	};
	struct got *g = malloc(sizeof(*g));
	struct winevt_info wi;

	(void)state;
	assert_non_null(g);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		assert_int_equal(decode(lines[i], strlen(lines[i]), g, &wi), 1);
		assert_int_equal(g->n, 0);
	}
	free(g);
}

static void
test_malformed(void **state)
{
	static const struct { const char *s; int refused; } cases[] = {
		{ "<Event><System><EventID>1</EventID>", 0 },
		{ "<Event><System></Event>", 0 },
		{ "<Event><System><EventID>1</EventID></System>&bogus;</Event>",
		  0 },
		{ "<Event>\x01</Event>", 0 },
		{ "{\"Event\":{\"System\":{\"EventID\":1}", 0 },
		{ "<!DOCTYPE Event [<!ENTITY a \"aaaa\">]><Event><System>"
		  "<EventID>&a;</EventID></System></Event>", 1 },
		{ "<!DOCTYPE Event SYSTEM \"http://example.com/x.dtd\">"
		  "<Event/>", 1 },
		{ "<Event><System><EventID>1</EventID></System><EventData>"
		  "<Data Name='a'><a><b><c><d><e><f><g><h><i><j><k><l><m><n>"
		  "<o>x</o></n></m></l></k></j></i></h></g></f></e></d></c></b>"
		  "</a></Data></EventData></Event>", 1 },
	};
	struct got *g = malloc(sizeof(*g));
	struct winevt_info wi;

	(void)state;
	assert_non_null(g);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = decode(cases[i].s, strlen(cases[i].s), g, &wi);

		if (rc != TS_EINVAL || wi.refused != cases[i].refused)
			fail_msg("case %zu: rc %d refused %d", i, rc,
			    wi.refused);
	}
	free(g);
}

/* Two thousand data items: the first MAX_WINEVT_ITEMS count, the rest are
 * refused and counted; a huge value is cut and counted. */
static void
test_bounds(void **state)
{
	size_t cap = 2000 * 40 + 256, off = 0;
	char *buf = malloc(cap), *big;
	struct got *g = malloc(sizeof(*g));
	struct winevt_info wi;

	(void)state;
	assert_non_null(buf);
	assert_non_null(g);
	off += (size_t)snprintf(buf + off, cap - off, "<Event><System>"
	    "<EventID>4688</EventID></System><EventData>");
	for (int i = 0; i < 2000; i++)
		off += (size_t)snprintf(buf + off, cap - off,
		    "<Data Name='f%d'>v</Data>", i);
	off += (size_t)snprintf(buf + off, cap - off, "</EventData></Event>");
	assert_int_equal(decode(buf, off, g, &wi), TS_EINVAL);
	assert_true(wi.refused);
	assert_true(g->n <= MAX_WINEVT_ITEMS);
	assert_true(wi.dropped > 0);

	big = malloc(MAX_WINEVT_VALUE_BYTES * 2 + 200);
	assert_non_null(big);
	off = (size_t)sprintf(big, "<Event><System><EventID>1</EventID>"
	    "</System><EventData><Data Name='CommandLine'>");
	memset(big + off, 'A', MAX_WINEVT_VALUE_BYTES * 2);
	off += MAX_WINEVT_VALUE_BYTES * 2;
	off += (size_t)sprintf(big + off, "</Data></EventData></Event>");
	assert_int_equal(decode(big, off, g, &wi), 0);
	assert_true(wi.truncated > 0);
	assert_non_null(got_val(g, "CommandLine"));
	free(big);
	free(buf);
	free(g);
}

/* Through the rule engine: the event's host is its Computer (not the
 * forwarder's), its time TimeCreated; malformed input is counted. */
static void
test_rules_eval_host_time(void **state)
{
	static const char yml[] =
	    "decoders:\n  - name: windows\n    type: windows\n"
	    "rules:\n  - id: w.fail\n    title: failed logon\n    level: 5\n"
	    "    fields:\n      EventID: '4625'\n      LogonType: '3'\n";
	const char *t = getenv("TMPDIR");
	char path[512];
	const char *paths[1] = { path };
	struct rules_diags dl = { 0 };
	struct rules_counters c;
	struct rules_result res;
	struct rules_event ev = { 0 };
	ruleset_t *rs = NULL;
	rules_ctx_t *ctx;
	char line[4096];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/test_winevt.%d.yml",
	    t != NULL && *t != '\0' ? t : "/tmp", (int)getpid());
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(yml, 1, sizeof(yml) - 1, f), sizeof(yml) - 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(ruleset_load(paths, 1, &rs, &dl), 0);
	assert_non_null(ctx = rules_ctx_new(rs));
	ev.host = "collector";
	ev.host_len = 9;
	ev.time_us = 1;
	for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		snprintf(line, sizeof(line), "<14>Mar  1 10:00:05 collector "
		    "fwd: %s", forms[k]);
		ev.raw = line;
		ev.raw_len = strlen(line);
		assert_int_equal(rules_eval(ctx, &ev, &res), 0);
		assert_string_equal(res.decoder, "windows");
		assert_int_equal(res.nalerts, 1);
		assert_memory_equal(rules_result_field(&res, "host")->val,
		    "dc01.corp.local", 15);
		if (k < 3)
			assert_int_equal(res.time_us, 1709287200123456ULL);
	}
	ev.raw = "<Event><System><EventID>4625</EventID>";
	ev.raw_len = strlen(ev.raw);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_null(res.decoder);
	assert_int_equal(res.nalerts, 0);
	ev.raw = "<!DOCTYPE x><Event/>";
	ev.raw_len = strlen(ev.raw);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	rules_ctx_counters(ctx, &c);
	assert_int_equal(c.winevt_malformed, 1);
	assert_int_equal(c.winevt_refused, 1);
	rules_ctx_free(&ctx);
	ruleset_free(&rs);
	rules_diags_free(&dl);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_forms_one_model),
		cmocka_unit_test(test_unnamed_data_userdata),
		cmocka_unit_test(test_not_windows),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_rules_eval_host_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
