/*
 * test_rules.c - the rule language: load errors with their exact
 * file:line:col, parent/child and ignore semantics, field matchers, routing
 * by program, counters, literal extraction, and every line of the shipped
 * .test files of rules/default (the repository root is $TOCSIN_TOP, default
 * ".").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/limits.h"
#include "rules/rules.h"
#include "rules/rules_int.h"
#include "rules/correlate.h"
#include "common/util.h"

/* 2026-01-30T12:00:00Z, the "now" of every test event */
#define REF_US	1769774400000000ULL

static char tmpdir[256];

static int
setup_tmp(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_rules.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
	DIR *d;
	struct dirent *de;

	(void)state;
	if ((d = opendir(tmpdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char p[512];

			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
			if (unlink(p) != 0) {	/* a sub-folder of a test */
				DIR *s = opendir(p);
				struct dirent *se;

				while (s != NULL && (se = readdir(s)) != NULL) {
					char q[768];

					snprintf(q, sizeof(q), "%s/%s", p,
					    se->d_name);
					if (se->d_name[0] != '.')
						unlink(q);
				}
				if (s != NULL)
					closedir(s);
				rmdir(p);
			}
		}
		closedir(d);
	}
	rmdir(tmpdir);
	return 0;
}

/* Write a file under tmpdir; returns its path (static buffer rotation). */
static const char *
write_tmp(const char *name, const char *text)
{
	static char paths[4][512];
	static int k;
	char *p = paths[k++ % 4];
	FILE *f;

	snprintf(p, 512, "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return p;
}

static ruleset_t *
load_text(const char *text, struct rules_diags *dl)
{
	const char *p = write_tmp("rules.yml", text);
	ruleset_t *rs = NULL;
	int rc;

	rc = ruleset_load(&p, 1, &rs, dl);
	if (rc != 0) {
		rules_diags_print(dl, stderr);
		fail_msg("load failed: %s", ts_strerror(rc));
	}
	return rs;
}

/* ---- load errors ----------------------------------------------------------- */

struct bad_case {
	const char	*yaml;
	int		 line, col;	/* of the expected error */
	const char	*msg;		/* substring of its message */
};

#define R(extra) "rules:\n  - id: r1\n    title: t\n    level: 3\n" extra

static const struct bad_case bad_cases[] = {
	{ R("    levle: 4\n"), 5, 5, "unknown key 'levle' in rule" },
	{ "rules:\n  - title: t\n    level: 3\n", 2, 5, "rule without an id" },
	{ "rules:\n  - id: a\n    level: 3\n", 2, 5, "rule without a title" },
	{ "rules:\n  - id: a\n    title: t\n", 2, 5, "rule without a level" },
	{ "rules:\n  - id: a\n    title: t\n    level: 16\n", 4, 12,
	  "level 16 out of range 0..15" },
	{ "rules:\n  - id: a\n    title: t\n    level: high\n", 4, 12,
	  "level must be a number" },
	{ "rules:\n  - id: a\n    title: t\n    level: -1\n", 4, 12,
	  "level must be a number" },
	{ "rules:\n  - id: 'a b'\n    title: t\n    level: 1\n", 2, 9,
	  "bad rule id" },
	{ R("    match: 'foo('\n"), 5, 12,
	  "regex error at offset 4: missing closing parenthesis" },
	{ R("    match: 'a{2,1}'\n"), 5, 12, "regex error at offset" },
	{ R("    fields:\n      program: {regex: '[z-a]'}\n"), 6, 24,
	  "regex error at offset 3: range out of order" },
	{ R("    if_rule: nope\n"), 5, 14, "if_rule 'nope': no rule has this id" },
	{ R("    if_rule: r1\n"), 5, 14, "cannot be its own parent" },
	{ R("    mitre: [T1110, X1]\n"), 5, 20, "bad MITRE ATT&CK id 'X1'" },
	{ R("    fields:\n      host: {cidr: 10.0.0.0/33}\n"), 6, 20,
	  "bad CIDR '10.0.0.0/33'" },
	{ R("    fields:\n      host: {cidr: [10.0.0.0/8, 'nope']}\n"), 6, 33,
	  "bad CIDR 'nope'" },
	{ R("    fields:\n      host: {equal: x}\n"), 6, 14,
	  "unknown key 'equal' in field test" },
	{ R("    fields:\n      host: {}\n"), 6, 13, "empty field test" },
	{ R("    fields:\n      host: {equals: [a, b]}\n"), 6, 22,
	  "equals takes one string" },
	{ R("    fields:\n      ' bad': x\n"), 6, 7, "bad field name" },
	{ R("    fields: [a]\n"), 5, 13, "fields must be a mapping" },
	{ R("    literal: foo\n"), 5, 14, "literal needs a match" },
	{ R("    program: []\n"), 5, 14, "program must not be an empty list" },
	{ R("    fields:\n      user: alice\n"), 6, 7,
	  "field 'user' is not produced by any decoder" },
	{ "decoders:\n  - name: d\n    program: sshd\n"
	  "    match: '^(?<user>\\S+)'\n"
	  "rules:\n  - id: a\n    title: t\n    level: 3\n    program: sshd\n"
	  "    fields:\n      srcip: 1.2.3.4\n", 11, 7,
	  "field 'srcip' is not produced by any decoder for program 'sshd'" },
	{ "decoders:\n  - name: d\n    program: sshd\n", 2, 5,
	  "decoder without match" },
	{ "decoders:\n  - program: sshd\n    match: x\n", 2, 5,
	  "decoder without a name" },
	{ "decoders:\n  - name: d\n    match: '(?<x>a'\n", 3, 12,
	  "regex error at offset 6" },
	{ "decoders:\n  - name: d\n    match: '(?<program>a)'\n", 3, 12,
	  "is set by the syslog header" },
	{ "decoders:\n  - name: d\n    match: '(?<x>a)'\n    prog: sshd\n", 4,
	  5, "unknown key 'prog' in decoder" },
	{ "rulez: []\n", 1, 1, "unknown key 'rulez' in rule file" },
	{ "- a\n- b\n", 1, 1, "a rule file is a mapping" },
	{ "rules: {a: 1}\n", 1, 8, "rules must be a list" },
	{ "rules:\n  - just a string\n", 2, 5, "a rule must be a mapping" },
	{ "rules:\n  - id: a\n    title: [t]\n    level: 1\n", 3, 12,
	  "title must be a string" },
	{ "rules:\n  - id: a\n\ttitle: t\n", 3, 1, "" },	/* YAML syntax */
};

static int
has_diag(const struct rules_diags *dl, const char *file, int line, int col,
    const char *msg)
{
	for (size_t i = 0; i < dl->n; i++) {
		const struct rules_diag *d = &dl->d[i];

		if (!d->warning && d->line == line && d->col == col &&
		    strcmp(d->file, file) == 0 && strstr(d->msg, msg) != NULL)
			return 1;
	}
	return 0;
}

static void
test_load_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		const char *p = write_tmp("bad.yml", c->yaml);
		struct rules_diags dl = { 0 };
		ruleset_t *rs = (ruleset_t *)&dl;	/* must become NULL */
		int rc = ruleset_load(&p, 1, &rs, &dl);

		if (rc != TS_EPARSE || rs != NULL || dl.errors == 0 ||
		    !has_diag(&dl, p, c->line, c->col, c->msg)) {
			fprintf(stderr, "case %zu: rc %d, want %s:%d:%d: %s; "
			    "got:\n", i, rc, p, c->line, c->col, c->msg);
			rules_diags_print(&dl, stderr);
			rules_diags_free(&dl);
			fail_msg("bad case %zu", i);
		}
		rules_diags_free(&dl);
	}
}

/* Every error of a file is reported, not only the first. */
static void
test_load_all_errors(void **state)
{
	const char *p = write_tmp("many.yml",
	    "rules:\n"
	    "  - id: a\n    title: t\n    level: 99\n"
	    "  - id: b\n    title: t\n    level: 1\n    match: '('\n"
	    "  - id: c\n    title: t\n    level: 1\n    colour: red\n"
	    "  - id: a\n    title: dup\n    level: 1\n");
	struct rules_diags dl = { 0 };
	ruleset_t *rs = NULL;

	(void)state;
	assert_int_equal(ruleset_load(&p, 1, &rs, &dl), TS_EPARSE);
	assert_null(rs);
	assert_int_equal(dl.errors, 4);
	assert_true(has_diag(&dl, p, 4, 12, "out of range"));
	assert_true(has_diag(&dl, p, 8, 12, "regex error at offset 1"));
	assert_true(has_diag(&dl, p, 12, 5, "unknown key 'colour'"));
	assert_true(has_diag(&dl, p, 13, 5, "duplicate rule id 'a'"));
	rules_diags_free(&dl);
}

static void
test_duplicate_across_files(void **state)
{
	char d[512], f1[600], f2[600];
	const char *paths[1];
	struct rules_diags dl = { 0 };
	ruleset_t *rs = NULL;
	FILE *f;
	char want[700];

	(void)state;
	snprintf(d, sizeof(d), "%s/dup", tmpdir);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(f1, sizeof(f1), "%s/a.yml", d);
	snprintf(f2, sizeof(f2), "%s/b.yaml", d);
	assert_non_null(f = fopen(f1, "w"));
	fputs("rules:\n  - id: same\n    title: t\n    level: 1\n", f);
	fclose(f);
	assert_non_null(f = fopen(f2, "w"));
	fputs("# second\nrules:\n  - id: same\n    title: t\n    level: 2\n", f);
	fclose(f);
	paths[0] = d;
	assert_int_equal(ruleset_load(paths, 1, &rs, &dl), TS_EPARSE);
	snprintf(want, sizeof(want), "duplicate rule id 'same' (first defined "
	    "at %s:2)", f1);
	assert_true(has_diag(&dl, f2, 3, 5, want));
	rules_diags_free(&dl);
	unlink(f1);
	unlink(f2);
	rmdir(d);
}

static void
test_parent_cycle(void **state)
{
	const char *p = write_tmp("cycle.yml",
	    "rules:\n"
	    "  - id: a\n    title: t\n    level: 1\n    if_rule: b\n"
	    "  - id: b\n    title: t\n    level: 1\n    if_rule: a\n"
	    "  - id: c\n    title: t\n    level: 1\n");
	struct rules_diags dl = { 0 };
	ruleset_t *rs = NULL;

	(void)state;
	assert_int_equal(ruleset_load(&p, 1, &rs, &dl), TS_EPARSE);
	assert_true(has_diag(&dl, p, 5, 14, "parent cycle"));
	assert_true(has_diag(&dl, p, 9, 14, "parent cycle"));
	assert_int_equal(dl.errors, 2);
	rules_diags_free(&dl);
}

static void
test_paths(void **state)
{
	char d[512], missing[600];
	const char *paths[1];
	struct rules_diags dl = { 0 };
	ruleset_t *rs = NULL;

	(void)state;
	snprintf(d, sizeof(d), "%s/empty", tmpdir);
	assert_int_equal(mkdir(d, 0700), 0);
	paths[0] = d;
	assert_int_equal(ruleset_load(paths, 1, &rs, &dl), TS_EPARSE);
	assert_int_equal(dl.errors, 1);
	assert_string_equal(dl.d[0].file, d);
	assert_non_null(strstr(dl.d[0].msg, "no rule files"));
	rules_diags_free(&dl);
	rmdir(d);

	snprintf(missing, sizeof(missing), "%s/nope.yml", tmpdir);
	paths[0] = missing;
	assert_int_equal(ruleset_load(paths, 1, &rs, &dl), TS_EPARSE);
	assert_int_equal(dl.errors, 1);
	assert_non_null(strstr(dl.d[0].msg, "cannot open"));
	rules_diags_free(&dl);
}

/* A field of a program no decoder knows is a warning, not an error. */
static void
test_unknown_program_field_warns(void **state)
{
	struct rules_diags dl = { 0 };
	ruleset_t *rs = load_text(
	    "decoders:\n  - name: d\n    program: sshd\n"
	    "    match: '^(?<user>\\S+)'\n"
	    "rules:\n  - id: a\n    title: t\n    level: 3\n"
	    "    program: mystery\n    fields:\n      user: x\n", &dl);

	(void)state;
	assert_non_null(rs);
	assert_int_equal(dl.errors, 0);
	assert_int_equal(dl.n, 1);
	assert_int_equal(dl.d[0].warning, 1);
	assert_int_equal(dl.d[0].line, 11);
	assert_non_null(strstr(dl.d[0].msg, "no decoder for program 'mystery'"));
	ruleset_free(&rs);
	assert_null(rs);
	rules_diags_free(&dl);
}

/* ---- matching -------------------------------------------------------------- */

static const char *rules_text =
    "decoders:\n"
    "  - name: app.login\n"
    "    program: app\n"
    "    match: '^login user=(?<user>\\S+) ip=(?<srcip>\\S+)'\n"
    "  - name: app.extra\n"
    "    program: app\n"
    "    match: 'user=(?<dstuser>\\S+)(?: ip=(?<srcip>\\S+))?'\n"
    "  - name: any.kv\n"
    "    match: 'tag=(?<tag>\\w+)'\n"
    "rules:\n"
    "  - id: ign.healthcheck\n"
    "    title: health checks are noise\n"
    "    level: 0\n"
    "    program: app\n"
    "    fields:\n"
    "      user: healthcheck\n"
    "  - id: login\n"
    "    title: login\n"
    "    level: 3\n"
    "    program: app\n"
    "    match: '^login '\n"
    "  - id: login.root\n"
    "    title: root login\n"
    "    level: 8\n"
    "    if_rule: login\n"
    "    fields:\n"
    "      user: root\n"
    "  - id: login.root.internal\n"
    "    title: root login from the LAN\n"
    "    level: 6\n"
    "    if_rule: login.root\n"
    "    fields:\n"
    "      srcip: {cidr: [10.0.0.0/8, 'fd00::/8']}\n"
    "  - id: login.quiet\n"
    "    title: logins of the backup account are expected\n"
    "    level: 0\n"
    "    if_rule: login\n"
    "    fields:\n"
    "      user: {in: [backup, backup2]}\n"
    "  - id: login.admins\n"
    "    title: admin login\n"
    "    level: 5\n"
    "    if_rule: login\n"
    "    fields:\n"
    "      user: {regex: '^adm-[a-z]+$'}\n"
    "  - id: login.ops\n"
    "    title: ops login\n"
    "    level: 4\n"
    "    if_rule: login\n"
    "    fields:\n"
    "      user: {startswith: OPS-, nocase: true}\n"
    "  - id: group.any\n"
    "    title: grouping rule, silent\n"
    "    level: 0\n"
    "    match: 'tag='\n"
    "  - id: group.any.red\n"
    "    title: red tag, any program\n"
    "    level: 2\n"
    "    if_rule: group.any\n"
    "    fields:\n"
    "      tag: {equals: red}\n"
    "  - id: other.prog\n"
    "    title: only for program other\n"
    "    level: 4\n"
    "    program: [other, third]\n"
    "    fields:\n"
    "      message: {contains: danger}\n"
    "  - id: ends\n"
    "    title: endswith\n"
    "    level: 1\n"
    "    program: third\n"
    "    fields:\n"
    "      message: {endswith: '!!'}\n"
    "  - id: v6\n"
    "    title: v6 source\n"
    "    level: 2\n"
    "    program: app\n"
    "    match: '^conn '\n"
    "    fields:\n"
    "      srcip: {cidr: '2001:db8::/32'}\n"
    "  - id: v4host\n"
    "    title: exact v4 address, also written v4-mapped\n"
    "    level: 2\n"
    "    program: app\n"
    "    match: '^conn '\n"
    "    fields:\n"
    "      srcip: {cidr: 192.0.2.1}\n"
    "  - id: catastrophic\n"
    "    title: backtracking bomb\n"
    "    level: 1\n"
    "    program: bomb\n"
    "    match: '^(a|aa)+$'\n";

struct mcase {
	const char	*line;
	const char	*alerts;	/* comma-separated, "" for none */
	const char	*matched;	/* comma-separated, NULL: not checked */
};

static const struct mcase mcases[] = {
	{ "Jan 26 00:00:05 h app[1]: login user=alice ip=10.1.1.1", "login",
	  "login" },
	{ "Jan 26 00:00:05 h app[1]: login user=root ip=192.0.2.9",
	  "login.root", "login,login.root" },
	{ "Jan 26 00:00:05 h app[1]: login user=root ip=10.9.9.9",
	  "login.root.internal", "login,login.root,login.root.internal" },
	{ "Jan 26 00:00:05 h app[1]: login user=root ip=fd12::1",
	  "login.root.internal", NULL },
	{ "Jan 26 00:00:05 h app[1]: login user=root ip=fe80::1",
	  "login.root", NULL },
	{ "Jan 26 00:00:05 h app[1]: login user=backup ip=10.1.1.1", "",
	  "login,login.quiet" },
	{ "Jan 26 00:00:05 h app[1]: login user=backup2 ip=10.1.1.1", "", NULL },
	{ "Jan 26 00:00:05 h app[1]: login user=backup3 ip=10.1.1.1", "login",
	  NULL },
	{ "Jan 26 00:00:05 h app[1]: login user=healthcheck ip=10.1.1.1", "",
	  "ign.healthcheck" },
	{ "Jan 26 00:00:05 h app[1]: login user=adm-bob ip=1.2.3.4",
	  "login.admins", NULL },
	{ "Jan 26 00:00:05 h app[1]: login user=adm-bob2 ip=1.2.3.4", "login",
	  NULL },
	{ "Jan 26 00:00:05 h app[1]: login user=ops-eve ip=1.2.3.4",
	  "login.ops", NULL },
	{ "Jan 26 00:00:05 h app[1]: login user=xops-eve ip=1.2.3.4", "login",
	  NULL },
	/* grouping rule (level 0 with children) silences nothing */
	{ "Jan 26 00:00:05 h app[1]: login user=alice ip=1.2.3.4 tag=red",
	  "login,group.any.red", "login,group.any,group.any.red" },
	{ "Jan 26 00:00:05 h zzz: tag=red", "group.any.red", NULL },
	{ "Jan 26 00:00:05 h zzz: tag=blue", "", "group.any" },
	{ "no header at all tag=red", "group.any.red", NULL },
	/* routing */
	{ "Jan 26 00:00:05 h other: danger ahead", "other.prog", NULL },
	{ "Jan 26 00:00:05 h third: danger!!", "other.prog,ends", NULL },
	{ "Jan 26 00:00:05 h app: danger!!", "", "" },
	{ "Jan 26 00:00:05 h apps: login user=root ip=10.9.9.9", "", "" },
	/* CIDR v6, exact v4, v4-mapped v6 */
	{ "Jan 26 00:00:05 h app: conn user=x ip=2001:db8:1::5", "v6", NULL },
	{ "Jan 26 00:00:05 h app: conn user=x ip=2001:db9::5", "", NULL },
	{ "Jan 26 00:00:05 h app: conn user=x ip=192.0.2.1", "v4host", NULL },
	{ "Jan 26 00:00:05 h app: conn user=x ip=::ffff:192.0.2.1", "v4host",
	  NULL },
	{ "Jan 26 00:00:05 h app: conn user=x ip=192.0.2.10", "", NULL },
	{ "Jan 26 00:00:05 h app: conn user=x ip=not-an-ip", "", NULL },
};

/* Whether list (comma-separated ids) is exactly the set v[0..n). */
static int
same_set(const char *list, const struct rule_info *const *v, size_t n)
{
	size_t cnt = 0;
	const char *p = list;

	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		size_t i;

		for (i = 0; i < n; i++)
			if (strlen(v[i]->id) == len &&
			    memcmp(v[i]->id, p, len) == 0)
				break;
		if (i == n)
			return 0;
		cnt++;
		p += len + (e != NULL);
	}
	return cnt == n;
}

static void
test_semantics(void **state)
{
	struct rules_diags dl = { 0 };
	ruleset_t *rs = load_text(rules_text, &dl);
	rules_ctx_t *ctx;

	(void)state;
	assert_int_equal(dl.errors, 0);
	assert_int_equal(ruleset_rule_count(rs), 14);
	assert_non_null(ctx = rules_ctx_new(rs));
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		const struct mcase *c = &mcases[i];
		struct rules_event ev = { .raw = c->line,
		    .raw_len = strlen(c->line), .host = "agent-host",
		    .host_len = 10, .time_us = REF_US };
		struct rules_result res;

		assert_int_equal(rules_eval(ctx, &ev, &res), 0);
		if (!same_set(c->alerts, res.alerts, res.nalerts) ||
		    (c->matched != NULL &&
		    !same_set(c->matched, res.matched, res.nmatched))) {
			for (size_t k = 0; k < res.nalerts; k++)
				fprintf(stderr, "  alert %s\n", res.alerts[k]->id);
			for (size_t k = 0; k < res.nmatched; k++)
				fprintf(stderr, "  matched %s\n",
				    res.matched[k]->id);
			fail_msg("case %zu (%s): want alerts '%s' matched '%s'",
			    i, c->line, c->alerts, c->matched ? c->matched : "*");
		}
	}
	rules_ctx_free(&ctx);
	assert_null(ctx);
	ruleset_free(&rs);
	rules_diags_free(&dl);
}

static void
expect_field(const struct rules_result *res, const char *name,
    const char *want)
{
	const struct rules_field *f = rules_result_field(res, name);

	if (want == NULL) {
		if (f != NULL)
			fail_msg("field %s: want none, got '%.*s'", name,
			    (int)f->len, f->val);
		return;
	}
	if (f == NULL)
		fail_msg("field %s: missing, want '%s'", name, want);
	if (f->len != strlen(want) || memcmp(f->val, want, f->len) != 0)
		fail_msg("field %s: '%.*s', want '%s'", name, (int)f->len,
		    f->val, want);
}

static void
test_fields_and_decoders(void **state)
{
	struct rules_diags dl = { 0 };
	ruleset_t *rs = load_text(rules_text, &dl);
	rules_ctx_t *ctx = rules_ctx_new(rs);
	static const char line[] =
	    "<38>Jan 26 00:00:05 web01 app[77]: login user=root ip=10.9.9.9";
	struct rules_event ev = { .raw = line, .raw_len = sizeof(line) - 1,
	    .host = "agent-host", .host_len = 10, .agent = "ag1",
	    .agent_len = 3, .time_us = REF_US };
	struct rules_result res;
	uint64_t t;

	(void)state;
	assert_non_null(ctx);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_string_equal(res.decoder, "app.login");
	expect_field(&res, "host", "web01");
	expect_field(&res, "program", "app");
	expect_field(&res, "pid", "77");
	expect_field(&res, "message", "login user=root ip=10.9.9.9");
	expect_field(&res, "agent", "ag1");
	expect_field(&res, "user", "root");
	expect_field(&res, "srcip", "10.9.9.9");	/* first decoder wins */
	expect_field(&res, "dstuser", "root");	/* second one adds */
	expect_field(&res, "tag", NULL);
	assert_int_equal(parse_rfc3339("2026-01-26T00:00:05Z", 20, &t), 0);
	assert_true(res.time_us == t);

	/* a header without a zone takes the source's zone (the event's),
	 * else the ctx's; one with an offset keeps its own */
	{
		struct syslog_tz *plus2 = NULL, *minus5 = NULL;
		char err[128];
		static const char zl[] =
		    "2026-01-26T00:00:05+01:00 web01 app[77]: x";

		assert_int_equal(syslog_tz_new("+02:00", &plus2, err,
		    sizeof(err)), 0);
		assert_int_equal(syslog_tz_new("-05:00", &minus5, err,
		    sizeof(err)), 0);
		rules_ctx_set_tz(ctx, minus5);
		assert_int_equal(rules_eval(ctx, &ev, &res), 0);
		assert_true(res.time_us == t + 5 * 3600000000ULL);
		ev.tz = plus2;
		assert_int_equal(rules_eval(ctx, &ev, &res), 0);
		assert_true(res.time_us == t - 2 * 3600000000ULL);
		ev.raw = zl;
		ev.raw_len = sizeof(zl) - 1;
		assert_int_equal(rules_eval(ctx, &ev, &res), 0);
		assert_true(res.time_us == t - 3600000000ULL);
		ev.tz = NULL;
		rules_ctx_set_tz(ctx, NULL);
		syslog_tz_free(&plus2);
		syslog_tz_free(&minus5);
	}

	/* no header: host from the event, time from the event */
	ev.raw = "free text";
	ev.raw_len = 9;
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_null(res.decoder);
	expect_field(&res, "host", "agent-host");
	expect_field(&res, "program", NULL);
	expect_field(&res, "message", "free text");
	expect_field(&res, "user", NULL);	/* nothing left over */
	assert_true(res.time_us == REF_US);
	assert_int_equal(res.nalerts, 0);
	rules_ctx_free(&ctx);
	ruleset_free(&rs);
	rules_diags_free(&dl);
}

static void
test_counters(void **state)
{
	struct rules_diags dl = { 0 };
	ruleset_t *rs = load_text(rules_text, &dl);
	rules_ctx_t *ctx = rules_ctx_new(rs);
	struct rules_counters c;
	struct rules_result res;
	struct rules_event ev = { .time_us = REF_US };
	char *big;
	size_t n = MAX_LINE_BYTES + 100;

	(void)state;
	assert_non_null(ctx);
	assert_non_null(big = malloc(n));
	/* a backtracking bomb hits the match limit and does not match */
	memcpy(big, "Jan 26 00:00:05 h bomb: ", 24);
	memset(big + 24, 'a', 40);
	big[64] = 'b';
	ev.raw = big;
	ev.raw_len = 65;
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_int_equal(res.nalerts, 0);
	rules_ctx_counters(ctx, &c);
	assert_int_equal(c.events, 1);
	assert_int_equal(c.regex_limit_hits, 1);
	assert_int_equal(c.truncated, 0);
	ev.raw_len = 64;	/* all a's: matches */
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_int_equal(res.nalerts, 1);

	/* a message longer than MAX_MATCH_BYTES is capped and counted; a line
	 * longer than MAX_LINE_BYTES too */
	memset(big + 24, 'x', n - 24);
	ev.raw_len = 24 + MAX_MATCH_BYTES + 1;
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	expect_field(&res, "program", "bomb");
	assert_int_equal(rules_result_field(&res, "message")->len,
	    MAX_MATCH_BYTES);
	ev.raw_len = n;
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	rules_ctx_counters(ctx, &c);
	assert_int_equal(c.events, 4);
	assert_int_equal(c.truncated, 3);
	free(big);
	rules_ctx_free(&ctx);
	ruleset_free(&rs);
	rules_diags_free(&dl);
}

static void
test_extract_literal(void **state)
{
	static const struct { const char *pat, *lit, *pre; } t[] = {
		{ "^Failed password for ", "Failed password for ",
		  "Failed password for " },
		{ "^Invalid user (?<u>.*) from (?<ip>\\S+) port", "Invalid user ",
		  "Invalid user " },
		{ "abc|def", NULL, NULL },
		{ "^(?:a|b)xyz", "xyz", NULL },
		{ "(?i)secret", NULL, NULL },
		{ "ab*cd", "cd", NULL },
		{ "abc?d", "ab", NULL },
		{ "^abc?d", "ab", "ab" },
		{ "ab+cd", "ab", NULL },
		{ "^ab+cd", "ab", "ab" },
		{ "x{2,3}yz", "yz", NULL },
		{ "foo\\.bar\\d", "foo.bar", NULL },
		{ "[abc]defg", "defg", NULL },
		{ "\\[preauth\\]$", "[preauth]", NULL },
		{ "a.b", NULL, NULL },
		{ "\\Qa.b\\E", NULL, NULL },
		{ "(*UTF)abc", NULL, NULL },
		{ "a{x", NULL, NULL },
		{ "^a|^b", NULL, NULL },
		{ "POSSIBLE BREAK-IN", "POSSIBLE BREAK-IN", NULL },
		{ "ab+?cd", "ab", NULL },
		{ "ab*+cd", "cd", NULL },
		{ "\\x41bc", "bc", NULL },
		{ "\\x{41}bc", "bc", NULL },
		{ "x\\cAcd", "cd", NULL },
		{ "\\012ab", "ab", NULL },
		{ "\\p{Lu}ab\\pLcde", "cde", NULL },
		{ "(a)\\g{-1}xy", "xy", NULL },
		{ "(?<n>a)\\k<n>xy", "xy", NULL },
		{ "ab\\x{41", NULL, NULL },
		{ "^\\x41bc", "bc", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *lit, *pre;
		size_t ll, pl;

		assert_int_equal(rules_extract_literal(t[i].pat, &lit, &ll), 0);
		assert_int_equal(rules_extract_prefix(t[i].pat, &pre, &pl), 0);
		if ((t[i].lit == NULL) != (lit == NULL) ||
		    (lit != NULL && strcmp(lit, t[i].lit) != 0) ||
		    (t[i].pre == NULL) != (pre == NULL) ||
		    (pre != NULL && strcmp(pre, t[i].pre) != 0))
			fail_msg("'%s': literal '%s' prefix '%s', want '%s' "
			    "'%s'", t[i].pat, lit ? lit : "(none)",
			    pre ? pre : "(none)", t[i].lit ? t[i].lit :
			    "(none)", t[i].pre ? t[i].pre : "(none)");
		free(lit);
		free(pre);
	}
}

/* ---- JSON and CEF decoders through rules_eval ----------------------------- */

static const char structured_text[] =
"decoders:\n"
"  - name: winlogbeat\n"
"    type: json\n"
"    fields:\n"
"      EventID: [winlog.event_id, EventID]\n"
"      Computer: json.host.name\n"
"  - name: kaspersky.cef\n"
"    type: cef\n"
"    fields: {threat: cs1}\n"
"rules:\n"
"  - id: defender.threat\n"
"    title: Defender detected a threat\n"
"    level: 10\n"
"    fields:\n"
"      EventID: ['1116', '1117']\n"
"      'winlog.event_data.Threat Name': {contains: EICAR}\n"
"  - id: ksc.virus\n"
"    title: Kaspersky virus found\n"
"    level: 9\n"
"    fields:\n"
"      cef.vendor: KasperskyLab\n"
"      cef.signature_id: GNRL_EV_VIRUS_FOUND\n"
"      threat: {regex: '^Trojan'}\n"
"  - id: ksc.any\n"
"    title: CEF record with host\n"
"    level: 1\n"
"    fields:\n"
"      cef.host: {regex: '.'}\n";

static void
test_json_cef_decoders(void **state)
{
	struct rules_diags dl = { 0 };
	ruleset_t *rs = load_text(structured_text, &dl);
	rules_ctx_t *ctx = rules_ctx_new(rs);
	struct rules_result res;
	struct rules_counters c;
	static const char *const json_lines[] = {
		/* bare JSON line (no header) */
		"{\"winlog\":{\"event_id\":1116,\"event_data\":{\"Threat Name\":"
		"\"Virus:DOS/EICAR_Test_File\"}},\"host\":{\"name\":\"WS1\"}}",
		/* after a syslog header, the other id spelling */
		"Jan 26 00:00:05 gw winlogbeat: {\"EventID\":\"1117\","
		"\"winlog\":{\"event_data\":{\"Threat Name\":\"EICAR\"}}}",
	};
	struct rules_event ev = { .host = "agent-host", .host_len = 10,
	    .time_us = REF_US };

	(void)state;
	assert_int_equal(dl.errors, 0);
	assert_non_null(ctx);
	for (size_t i = 0; i < 2; i++) {
		ev.raw = json_lines[i];
		ev.raw_len = strlen(json_lines[i]);
		assert_int_equal(rules_eval(ctx, &ev, &res), 0);
		assert_string_equal(res.decoder, "winlogbeat");
		assert_int_equal(res.nalerts, 1);
		assert_string_equal(res.alerts[0]->id, "defender.threat");
	}
	expect_field(&res, "EventID", "1117");
	ev.raw = json_lines[0];
	ev.raw_len = strlen(json_lines[0]);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	expect_field(&res, "EventID", "1116");
	expect_field(&res, "Computer", "WS1");
	expect_field(&res, "host", "agent-host");	/* not the JSON's */
	expect_field(&res, "json.host.name", "WS1");
	/* a near miss: other event id */
	ev.raw = "{\"winlog\":{\"event_id\":5001,\"event_data\":"
	    "{\"Threat Name\":\"EICAR\"}}}";
	ev.raw_len = strlen(ev.raw);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_int_equal(res.nalerts, 0);
	/* malformed JSON: no decoder, counted */
	ev.raw = "{\"winlog\":";
	ev.raw_len = strlen(ev.raw);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_null(res.decoder);
	rules_ctx_counters(ctx, &c);
	assert_int_equal(c.json_malformed, 1);

	/* CEF with a syslog header whose tag parser took "CEF" for a program */
	ev.raw = "<134>Jan 26 00:00:05 ksc01 CEF:0|KasperskyLab|SecurityCenter|"
	    "13.2|GNRL_EV_VIRUS_FOUND|Virus found|4|cs1=Trojan.Win32.X "
	    "host=WS-7 act=Deleted";
	ev.raw_len = strlen(ev.raw);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_string_equal(res.decoder, "kaspersky.cef");
	expect_field(&res, "threat", "Trojan.Win32.X");
	expect_field(&res, "cef.host", "WS-7");
	expect_field(&res, "host", "ksc01");
	expect_field(&res, "act", "Deleted");
	assert_int_equal(res.nalerts, 2);
	/* CEF after a program tag */
	ev.raw = "Jan 26 00:00:05 ksc01 KES: CEF:0|KasperskyLab|SecurityCenter|"
	    "13.2|GNRL_EV_VIRUS_FOUND|Virus found|4|cs1=Adware.Y";
	ev.raw_len = strlen(ev.raw);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_string_equal(res.decoder, "kaspersky.cef");
	assert_int_equal(res.nalerts, 0);	/* not a Trojan */
	/* broken CEF: counted, no fields */
	ev.raw = "CEF:0|KasperskyLab|only three";
	ev.raw_len = strlen(ev.raw);
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	assert_null(res.decoder);
	rules_ctx_counters(ctx, &c);
	assert_int_equal(c.cef_malformed, 1);
	rules_ctx_free(&ctx);
	ruleset_free(&rs);
	rules_diags_free(&dl);
}

static void
test_structured_decoder_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "decoders:\n  - name: d\n    type: xml\n", 3, 11,
		  "unknown decoder type" },
		{ "decoders:\n  - name: d\n    type: json\n    match: 'x'\n", 4,
		  12, "a json decoder takes no match" },
		{ "decoders:\n  - name: d\n    type: cef\n    fields: [a]\n", 4,
		  13, "decoder fields must be a mapping" },
		{ "decoders:\n  - name: d\n    type: cef\n    fields: {host: a}\n",
		  4, 14, "not a header field" },
		{ "decoders:\n  - name: d\n", 2, 5, "decoder without match" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = write_tmp("bad.yml", cases[i].yaml);
		struct rules_diags dl = { 0 };
		ruleset_t *rs = NULL;
		int found = 0;

		assert_int_equal(ruleset_load(&p, 1, &rs, &dl), TS_EPARSE);
		for (size_t k = 0; k < dl.n; k++)
			if (!dl.d[k].warning && dl.d[k].line == cases[i].line &&
			    dl.d[k].col == cases[i].col &&
			    strstr(dl.d[k].msg, cases[i].msg) != NULL)
				found = 1;
		if (!found) {
			rules_diags_print(&dl, stderr);
			fail_msg("case %zu: want %d:%d: %s", i, cases[i].line,
			    cases[i].col, cases[i].msg);
		}
		rules_diags_free(&dl);
	}
}

/* ---- the shipped test files -------------------------------------------------- */

static const char *
top_dir(void)
{
	const char *t = getenv("TOCSIN_TOP");

	return t != NULL && *t != '\0' ? t : ".";
}

/* Run one .test file (format: docs/rules.md); returns the failures.  The
 * alerts of rules that only feed a correlation (generate: false) are not
 * raised, as in the engine; the file is the events' source. */
static int
run_test_file(const ruleset_t *rs, rules_ctx_t *ctx, const char *path,
    int *ntests)
{
	const struct rule_info *raised[64];
	size_t nraised;
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, failures = 0, have = 0;
	struct rules_result res;
	static char cur[MAX_LINE_BYTES];
	char source[MAX_SOURCE_NAME_BYTES + 1] = "";	/* @source */

	if (f == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		return 1;
	}
	while ((n = getline(&line, &cap, f)) > 0 && lineno < 1000000) {
		char *p = line, *sp;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strncmp(line, "@source", 7) == 0 &&
		    (line[7] == '\0' || line[7] == ' ')) {
			snprintf(source, sizeof(source), "%s",
			    line[7] ? line + 8 : "");
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t') {	/* field check */
			char *eq;
			const struct rules_field *fl;

			while (*p == ' ' || *p == '\t')
				p++;
			if (!have || (eq = strchr(p, '=')) == NULL) {
				fprintf(stderr, "%s:%d: stray field check\n",
				    path, lineno);
				failures++;
				continue;
			}
			*eq = '\0';
			fl = rules_result_field(&res, p);
			if (fl == NULL || fl->len != strlen(eq + 1) ||
			    memcmp(fl->val, eq + 1, fl->len) != 0) {
				fprintf(stderr, "%s:%d: field %s: got '%.*s', "
				    "want '%s'\n", path, lineno, p,
				    fl ? (int)fl->len : 6, fl ? fl->val :
				    "(none)", eq + 1);
				failures++;
			}
			continue;
		}
		if ((sp = strchr(p, ' ')) == NULL) {
			fprintf(stderr, "%s:%d: want 'EXPECT LINE'\n", path,
			    lineno);
			failures++;
			have = 0;
			continue;
		}
		*sp++ = '\0';
		while (*sp == ' ')
			sp++;
		snprintf(cur, sizeof(cur), "%s", sp);
		{
			struct rules_event ev = { .raw = cur,
			    .raw_len = strlen(cur), .host = "test",
			    .host_len = 4, .time_us = REF_US,
			    .file = path, .file_len = strlen(path),
			    .source = source[0] ? source : NULL,
			    .source_len = strlen(source) };

			assert_int_equal(rules_eval(ctx, &ev, &res), 0);
		}
		have = 1;
		(*ntests)++;
		nraised = 0;
		for (size_t k = 0; k < res.nalerts && nraised < 64; k++)
			if (!corr_set_silences(ruleset_corr(rs),
			    res.alerts[k]->id))
				raised[nraised++] = res.alerts[k];
		if (!same_set(strcmp(p, "none") == 0 ? "" : p, raised,
		    nraised)) {
			fprintf(stderr, "%s:%d: want %s, got", path, lineno, p);
			for (size_t k = 0; k < nraised; k++)
				fprintf(stderr, " %s", raised[k]->id);
			fprintf(stderr, "%s\n", nraised ? "" : " none");
			failures++;
		}
	}
	free(line);
	fclose(f);
	return failures;
}

static void
test_default_rule_tests(void **state)
{
	char dir[1024];
	const char *paths[1];
	struct rules_diags dl = { 0 };
	ruleset_t *rs = NULL;
	rules_ctx_t *ctx;
	DIR *d;
	struct dirent *de;
	int failures = 0, files = 0, ntests = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/rules/default", top_dir());
	paths[0] = dir;
	if (ruleset_load(paths, 1, &rs, &dl) != 0) {
		rules_diags_print(&dl, stderr);
		fail_msg("%s does not load", dir);
	}
	for (size_t i = 0; i < dl.n; i++)	/* shipped rules: no warnings */
		assert_int_equal(dl.d[i].warning, 0);
	assert_non_null(ctx = rules_ctx_new(rs));
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char p[1300];

		if (n < 6 || strcmp(de->d_name + n - 5, ".test") != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		failures += run_test_file(rs, ctx, p, &ntests);
		files++;
	}
	closedir(d);
	assert_true(files >= 1);
	assert_true(ntests >= 20);
	assert_int_equal(failures, 0);
	rules_ctx_free(&ctx);
	ruleset_free(&rs);
	rules_diags_free(&dl);
}

/* ---- prefilter: identical results with and without it ---------------------- */

/* Rules of many shapes: message regexes with literals, OR lists, contains /
 * startswith lists (some hitting real lines), caseless (no literal: always
 * tried), NOT, ignore rules, field tests ANDed with a message gate. */
static char *
gen_prefilter_rules(size_t n)
{
	size_t cap = n * 200 + 64, len = 0;
	char *y = malloc(cap);

	assert_non_null(y);
	len += (size_t)snprintf(y + len, cap - len, "rules:\n");
	for (size_t i = 0; i < n; i++) {
		const char *body;
		char b[160];

		switch (i % 8) {
		case 0:
			snprintf(b, sizeof(b), "    program: sshd\n    match: "
			    "'^Failed password for genuser%zu from '\n", i);
			break;
		case 1:
			snprintf(b, sizeof(b), "    program: sshd\n    fields:\n"
			    "      message: {contains: [genword%zu, 'port 22%zu"
			    "']}\n", i, i % 10);
			break;
		case 2:
			snprintf(b, sizeof(b), "    program: sshd\n    match: "
			    "['^Invalid user gen%zu', ' port 4%zu$']\n", i,
			    i % 10);
			break;
		case 3:
			snprintf(b, sizeof(b), "    program: sshd\n    match: "
			    "'(?i)GENX%zu'\n", i);
			break;
		case 4:
			snprintf(b, sizeof(b), "    fields:\n      message: "
			    "{startswith: 'Connection closed by %zu'}\n", i % 10);
			break;
		case 5:
			snprintf(b, sizeof(b), "    level: 0\n    program: sshd\n"
			    "    match: '^Received disconnect from %zu\\.'\n",
			    i % 200);
			break;
		case 6:
			snprintf(b, sizeof(b), "    program: sshd\n    match: "
			    "'Failed'\n    fields:\n      user: {regex: "
			    "'^r%zu'}\n", i % 3);
			break;
		default:
			snprintf(b, sizeof(b), "    program: sshd\n    match: "
			    "'from 1%zu'\n    fields:\n      message: {contains:"
			    " 'a', nocase: true}\n", i % 100);
			break;
		}
		body = b;
		len += (size_t)snprintf(y + len, cap - len, "  - id: pf.r%zu\n"
		    "    title: t\n%s%s", i, i % 8 == 5 ? "" : "    level: 4\n",
		    body);
		assert_true(len < cap);
	}
	return y;
}

/* Compare two results field by field. */
static void
same_result(const struct rules_result *a, const struct rules_result *b,
    const char *line)
{
	int same = (a->decoder == NULL) == (b->decoder == NULL) &&
	    (a->decoder == NULL || strcmp(a->decoder, b->decoder) == 0) &&
	    a->nfields == b->nfields && a->nmatched == b->nmatched &&
	    a->nalerts == b->nalerts && a->time_us == b->time_us;

	for (size_t i = 0; same && i < a->nfields; i++)
		same = strcmp(a->fields[i].name, b->fields[i].name) == 0 &&
		    a->fields[i].len == b->fields[i].len &&
		    memcmp(a->fields[i].val, b->fields[i].val,
		    a->fields[i].len) == 0;
	for (size_t i = 0; same && i < a->nmatched; i++)
		same = strcmp(a->matched[i]->id, b->matched[i]->id) == 0;
	for (size_t i = 0; same && i < a->nalerts; i++)
		same = strcmp(a->alerts[i]->id, b->alerts[i]->id) == 0;
	if (!same)
		fail_msg("prefilter changes the result of: %s", line);
}

static void
test_prefilter_equivalence(void **state)
{
	char dir[1024], corpus[1200];
	const char *paths[2];
	struct rules_diags dl = { 0 };
	ruleset_t *with = NULL, *without = NULL;
	rules_ctx_t *cw, *co;
	char *y = gen_prefilter_rules(400), *line = NULL;
	size_t cap = 0, lines = 0, alerts = 0;
	ssize_t n;
	int has_pf = 0;
	FILE *f;
	static const char *const extra[] = {
		"Jan 26 00:00:05 h sshd[1]: Failed password for genuser0 from "
		"1.2.3.4 port 22 ssh2",
		"Jan 26 00:00:05 h sshd[1]: Invalid user gen2 from 1.2.3.4 port 42",
		"Jan 26 00:00:05 h sshd[1]: genX3 and GENX11 here",
		"Jan 26 00:00:05 h sshd[1]: Received disconnect from 5.6.7.8 port "
		"1:11: bye",
		"Jan 26 00:00:05 h sshd[1]: Connection closed by 4 port 5",
		"Jan 26 00:00:05 h cron[1]: Connection closed by 4 genword1",
		"{\"a\":1}",
		"",
	};

	(void)state;
	snprintf(dir, sizeof(dir), "%s/rules/default", top_dir());
	paths[0] = dir;
	paths[1] = write_tmp("gen.yml", y);
	free(y);
	if (ruleset_load(paths, 2, &with, &dl) != 0 ||
	    ruleset_load(paths, 2, &without, &dl) != 0) {
		rules_diags_print(&dl, stderr);
		fail_msg("does not load");
	}
	prefilter_free(without);
	for (size_t i = 0; i < with->nroutes; i++)
		has_pf |= with->routes[i].pf != NULL;
	assert_true(has_pf);	/* the sshd route has a database */
	assert_non_null(cw = rules_ctx_new(with));
	assert_non_null(co = rules_ctx_new(without));

	/* the real corpus when present, the .test lines, and some more */
	snprintf(corpus, sizeof(corpus),
	    "%s/../shared/corpus/rootly/openssh.log", top_dir());
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 0)
			f = fopen(corpus, "r");
		else if (pass == 1) {
			char p[1300];

			snprintf(p, sizeof(p), "%s/sshd.test", dir);
			f = fopen(p, "r");
		} else
			f = NULL;
		while (f != NULL && (n = getline(&line, &cap, f)) > 0 &&
		    lines < 200000) {
			struct rules_event ev = { .raw = line,
			    .raw_len = (size_t)n, .host = "h", .host_len = 1,
			    .time_us = REF_US };
			struct rules_result a, b;
			char *sp;

			if (pass == 1 && (line[0] == '#' || line[0] == ' ' ||
			    (sp = strchr(line, ' ')) == NULL))
				continue;
			if (pass == 1) {
				ev.raw = sp + 1;
				ev.raw_len = strlen(sp + 1);
			}
			assert_int_equal(rules_eval(cw, &ev, &a), 0);
			assert_int_equal(rules_eval(co, &ev, &b), 0);
			same_result(&a, &b, ev.raw);
			alerts += a.nalerts;
			lines++;
		}
		if (f != NULL)
			fclose(f);
	}
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		struct rules_event ev = { .raw = extra[i],
		    .raw_len = strlen(extra[i]), .time_us = REF_US };
		struct rules_result a, b;

		assert_int_equal(rules_eval(cw, &ev, &a), 0);
		assert_int_equal(rules_eval(co, &ev, &b), 0);
		same_result(&a, &b, extra[i]);
		alerts += a.nalerts;
	}
	print_message("prefilter: %zu lines, %zu alerts, identical\n", lines,
	    alerts);
	assert_true(alerts > 0);
	free(line);
	rules_ctx_free(&cw);
	rules_ctx_free(&co);
	ruleset_free(&with);
	ruleset_free(&without);
	rules_diags_free(&dl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_all_errors),
		cmocka_unit_test(test_duplicate_across_files),
		cmocka_unit_test(test_parent_cycle),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_unknown_program_field_warns),
		cmocka_unit_test(test_semantics),
		cmocka_unit_test(test_fields_and_decoders),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_extract_literal),
		cmocka_unit_test(test_json_cef_decoders),
		cmocka_unit_test(test_structured_decoder_errors),
		cmocka_unit_test(test_default_rule_tests),
		cmocka_unit_test(test_prefilter_equivalence),
	};
	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
