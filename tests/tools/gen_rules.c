/*
 * gen_rules.c - write N generated rules of the shapes of the shipped set,
 * for measuring how evaluation cost grows with the number of rules.
 *
 *   gen_rules N > FILE.yml
 *
 * Every rule has its own literal (a user, program or message word with the
 * rule's number in it), so none matches the real logs by accident and the
 * alerts of a corpus stay those of the shipped set.  The mix (per 100
 * rules): 60 sshd rules on a message regex ("^Failed password for
 * genuserN from ", "Connection from genhostN"...), 15 rules of other
 * programs (cron, sudo, su, systemd, kernel, genprogN), 10 rules without a
 * program (every event is routed to them) on a message word, 8 sshd rules
 * testing a decoded field with a regex gate on the message, 5 level-0
 * ignore rules, 2 children of a generated parent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Rules written at most (the loader's own cap is MAX_RULES). */
#define MAX_GEN_RULES	20000

static const char *const progs[] = { "cron", "CRON", "sudo", "su",
	"systemd", "kernel" };

int
main(int argc, char **argv)
{
	uint64_t n;

	if (argc != 2 || parse_u64(argv[1], strlen(argv[1]), MAX_GEN_RULES,
	    &n) != 0) {
		fprintf(stderr, "usage: gen_rules N (1..%d) > FILE.yml\n",
		    MAX_GEN_RULES);
		return 2;
	}
	printf("# %llu generated rules (tests/tools/gen_rules.c)\nrules:\n",
	    (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		unsigned k = (unsigned)(i % 100);

		printf("  - id: gen.r%llu\n    title: generated rule %llu\n",
		    (unsigned long long)i, (unsigned long long)i);
		if (k < 60) {
			static const char *const pre[] = {
				"^Failed password for genuser",
				"^Accepted publickey for genuser",
				"^Invalid user genuser",
				"Connection from genhost",
				"^pam_unix\\(sshd:auth\\): gen",
				"^Disconnected from genuser",
			};
			static const char *const post[] = {
				" from ", " from ", " from ",
				"\\.example port ", " failure",
				" [0-9.]+ port",
			};

			printf("    level: %u\n    mitre: [T1110]\n"
			    "    groups: [authentication_failed]\n"
			    "    program: [sshd, sshd-session]\n"
			    "    match: '", 3 + k % 7);
			printf("%s%llu%s", pre[k % 6], (unsigned long long)i,
			    post[k % 6]);
			printf("'\n");
		} else if (k < 75) {
			printf("    level: 4\n    program: %s\n", k < 72 ?
			    progs[k % 6] : "genprog");
			printf("    match: 'genword%llu (?:started|stopped)'\n",
			    (unsigned long long)i);
		} else if (k < 85) {
			printf("    level: 5\n    match: 'genalarm%llu'\n",
			    (unsigned long long)i);
		} else if (k < 93) {
			printf("    level: 6\n    program: sshd\n"
			    "    match: '^Invalid user gen%llux '\n"
			    "    fields:\n      srcip: {cidr: [10.%llu.0.0/16]}\n",
			    (unsigned long long)i,
			    (unsigned long long)(i % 256));
		} else if (k < 98) {
			printf("    level: 0\n    program: sshd\n"
			    "    match: '^Received disconnect from 192\\.0\\.2\\."
			    "%llu port \\d+:11: genbye'\n",
			    (unsigned long long)(i % 256));
		} else if (k == 98) {
			printf("    level: 3\n    program: sshd\n"
			    "    match: '^genparent%llu '\n",
			    (unsigned long long)i);
		} else {
			printf("    level: 7\n    if_rule: gen.r%llu\n"
			    "    fields:\n      message: {contains: root}\n",
			    (unsigned long long)(i - 1));
		}
	}
	return ferror(stdout) ? 1 : 0;
}
