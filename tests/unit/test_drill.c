/*
 * test_drill.c - engine/drill.h without a running server: scenario files
 * (a valid one, the errors with file:line:col), the scenario list of a
 * folder (a broken file listed with its error), and the stored scorecards
 * kept as DATADIR/drills/NAME.json: listed oldest first, read by a drill's
 * name or by a scenario's name (its latest run), unknown names refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "engine/drill.h"

static struct drill_scenario scn;	/* large: not on the stack */

static char *tmpdir(void)
{
	char *d = strdup("/tmp/tocsin-test-drill.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void put(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);

	assert_non_null(p);
	assert_int_equal(write_file_atomic(p, text, strlen(text), 0644), 0);
	free(p);
}

static void rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_non_null(cmd);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static const char good[] =
    "name: probe\n"
    "description: a scan, then a login\n"
    "recordings:\n"
    "  - probe.jsonl\n"
    "speed: 5\n"
    "max_time_to_detect: 2m\n"
    "expect:\n"
    "  alerts:\n"
    "    - rule: sshd.invalid_user\n"
    "      min_count: 3\n"
    "  incidents:\n"
    "    - min_severity: 10\n"
    "      max_time_to_detect: 30s\n"
    "  must_not_fire:\n"
    "    - mitre: T1078\n";

static void test_scenario_load(void **state)
{
	char err[512], *d = tmpdir(), *p;

	(void)state;
	put(d, "probe.yml", good);
	p = xasprintf("%s/probe.yml", d);
	assert_int_equal(drill_scenario_load(p, &scn, err, sizeof(err)), 0);
	assert_string_equal(scn.s_name, "probe");
	assert_int_equal(scn.s_nrec, 1);
	assert_true(strstr(scn.s_recordings[0], "/probe.jsonl") != NULL);
	assert_int_equal(scn.s_speed, 5);
	assert_int_equal(scn.s_nex, 3);
	assert_int_equal(scn.s_ex[0].x_kind, DRILL_EX_ALERT);
	assert_int_equal(scn.s_ex[0].x_min_count, 3);
	/* the scenario's limit applies where the expectation has none */
	assert_int_equal(scn.s_ex[0].x_max_ttd_us, 120ULL * 1000000);
	assert_int_equal(scn.s_ex[1].x_kind, DRILL_EX_INCIDENT);
	assert_int_equal(scn.s_ex[1].x_min_severity, 10);
	assert_int_equal(scn.s_ex[1].x_max_ttd_us, 30ULL * 1000000);
	assert_int_equal(scn.s_ex[2].x_kind, DRILL_EX_ABSENT);
	assert_string_equal(scn.s_ex[2].x_mitre, "T1078");
	drill_scenario_free(&scn);
	free(p);

	/* errors: file:line:col and what is wrong */
	put(d, "bad.yml", "name: probe\ndescription: x\nrecordings: [a]\n"
	    "expect:\n  alerts:\n    - rule: r\n      min_cont: 3\n");
	p = xasprintf("%s/bad.yml", d);
	assert_int_equal(drill_scenario_load(p, &scn, err, sizeof(err)),
	    TS_EPARSE);
	assert_true(strstr(err, "bad.yml:7:") != NULL);
	assert_true(strstr(err, "min_cont") != NULL);
	drill_scenario_free(&scn);
	free(p);
	put(d, "noexp.yml", "name: probe\ndescription: x\nrecordings: [a]\n"
	    "expect:\n  alerts:\n    - min_count: 2\n");
	p = xasprintf("%s/noexp.yml", d);
	assert_int_equal(drill_scenario_load(p, &scn, err, sizeof(err)),
	    TS_EPARSE);
	assert_true(strstr(err, "needs rule: or mitre:") != NULL);
	drill_scenario_free(&scn);
	free(p);
	rm_rf(d);
	free(d);
}

static void test_scenarios_list(void **state)
{
	char *d = tmpdir();
	json_t *arr = NULL;

	(void)state;
	put(d, "b_probe.yml", good);
	put(d, "a_broken.yml", "name: [x\n");
	put(d, "notes.txt", "not a scenario");
	assert_int_equal(drill_scenarios_list(d, &arr), 0);
	assert_int_equal(json_array_size(arr), 2);
	/* sorted by file name; the broken one listed with its error */
	assert_non_null(json_object_get(json_array_get(arr, 0), "error"));
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(arr, 1), "name")), "probe");
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(arr, 1), "expectations")), 3);
	json_decref(arr);
	assert_int_equal(drill_scenarios_list("/nonexistent/tocsin", &arr),
	    TS_ENOTFOUND);
	rm_rf(d);
	free(d);
}

static void card(const char *dd, const char *drill, const char *scenario,
    const char *started, int passed)
{
	char *t = xasprintf("{\"drill\":\"%s\",\"scenario\":\"%s\","
	    "\"started\":\"%s\",\"passed\":%s,\"met\":1,\"missed\":%d,"
	    "\"alerts\":4,\"incidents\":1,\"expectations\":[]}", drill,
	    scenario, started, passed ? "true" : "false", passed ? 0 : 1);
	char *n = xasprintf("%s.json", drill), *dir = xasprintf("%s/drills", dd);

	assert_non_null(t);
	assert_int_equal(mkdir_p(dir, 0750), 0);
	put(dir, n, t);
	free(t);
	free(n);
	free(dir);
}

static void test_stored_scorecards(void **state)
{
	char *dd = tmpdir(), *drill = NULL;
	json_t *list = NULL, *sc = NULL;

	(void)state;
	/* no state, no scorecard yet: an empty list */
	assert_int_equal(drill_list(dd, &list), 0);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);

	card(dd, "probe-2", "probe", "2026-12-07T05:00:00.000Z", 0);
	card(dd, "probe-1", "probe", "2026-12-06T05:00:00.000Z", 1);
	card(dd, "other-1", "other", "2026-12-06T06:00:00.000Z", 1);
	assert_int_equal(drill_list(dd, &list), 0);
	assert_int_equal(json_array_size(list), 3);
	/* oldest first, whatever the order of the files */
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(list, 0), "drill")), "probe-1");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(list, 2), "drill")), "probe-2");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(list, 2), "stored")), "file");
	json_decref(list);

	/* a drill's own name */
	assert_int_equal(drill_scorecard_get(dd, "probe-1", &sc, &drill), 0);
	assert_string_equal(drill, "probe-1");
	assert_true(json_is_true(json_object_get(sc, "passed")));
	json_decref(sc);
	free(drill);
	/* a scenario's name: its latest run */
	assert_int_equal(drill_scorecard_get(dd, "probe", &sc, &drill), 0);
	assert_string_equal(drill, "probe-2");
	assert_true(json_is_false(json_object_get(sc, "passed")));
	json_decref(sc);
	free(drill);
	/* unknown, and not a name at all */
	assert_int_equal(drill_scorecard_get(dd, "nothing", &sc, &drill),
	    TS_ENOTFOUND);
	assert_null(sc);
	assert_null(drill);
	assert_int_equal(drill_scorecard_get(dd, "../etc/passwd", &sc, NULL),
	    TS_ENOTFOUND);
	rm_rf(dd);
	free(dd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario_load),
		cmocka_unit_test(test_scenarios_list),
		cmocka_unit_test(test_stored_scorecards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
