/*
 * api_fill.c - fill a state with N synthetic alerts fast, through the
 * state's own write API (engine/state.h: state_txn_add_alert keeps the
 * indexes by time, level, host and rule), for the API benchmark
 * (tests/bench/api.sh).  Alerts spread over 500 hosts, 200 rules, levels
 * 3..12 and the last 30 days; 20,000 per transaction, not synced.
 *
 *   api_fill STATEDIR N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "engine/state.h"

#define PER_TXN		20000
#define NHOSTS		500
#define NRULES		200

int
main(int argc, char **argv)
{
	state_t		*s = NULL;
	state_txn_t	*t = NULL;
	uint64_t	 n, now = now_us(), span = 30ULL * 86400 * 1000000;
	char		 json[1024], host[32], rule[48], tb[40];
	int		 rc;

	if (argc != 3 || parse_u64(argv[2], strlen(argv[2]), 100000000,
	    &n) != 0) {
		fprintf(stderr, "usage: api_fill STATEDIR N\n");
		return 2;
	}
	if ((rc = state_open(argv[1], STATE_NOSYNC, 8ULL << 30, &s)) != 0) {
		fprintf(stderr, "api_fill: %s: %s\n", argv[1], ts_strerror(rc));
		return 1;
	}
	for (uint64_t i = 0; i < n; i++) {
		/* oldest first, as the engine writes them */
		uint64_t tus = now - span + span / n * i;
		int level = 3 + (int)(i * 7 % 10);
		int len;

		if (t == NULL && (rc = state_begin(s, &t)) != 0)
			goto fail;
		snprintf(host, sizeof(host), "pc-%03llu",
		    (unsigned long long)(i * 2654435761ULL % NHOSTS));
		snprintf(rule, sizeof(rule), "bench.rule_%03llu",
		    (unsigned long long)(i * 40503ULL % NRULES));
		format_rfc3339(tus, tb, sizeof(tb));
		len = snprintf(json, sizeof(json), "{\"time\":\"%s\","
		    "\"time_us\":%llu,\"level\":%d,\"rule\":{\"id\":\"%s\","
		    "\"title\":\"bench rule\",\"mitre\":[\"T1110\"],"
		    "\"groups\":[\"bench\"]},\"agent\":\"%s\",\"host\":\"%s\","
		    "\"message\":\"<38>Jan  1 10:00:00 %s sshd[101]: Failed "
		    "password for root from 203.0.113.%llu port 40022 ssh2\","
		    "\"fields\":{\"program\":\"sshd\",\"srcip\":\"203.0.113.%llu\","
		    "\"user\":\"root\"},\"event\":{\"jseq\":%llu,\"source\":"
		    "\"agent\"},\"detected\":\"%s\"}", tb,
		    (unsigned long long)tus, level, rule, host, host, host,
		    (unsigned long long)(i % 250),
		    (unsigned long long)(i % 250), (unsigned long long)(i + 1),
		    tb);
		if ((rc = state_txn_add_alert(t, tus, level, host, rule, json,
		    (size_t)len, NULL)) != 0)
			goto fail;
		if ((i + 1) % PER_TXN == 0 || i + 1 == n) {
			if ((rc = state_commit(&t)) != 0)
				goto fail;
		}
	}
	state_close(&s);
	return 0;
fail:
	fprintf(stderr, "api_fill: %s\n", ts_strerror(rc));
	if (t != NULL)
		state_abort(&t);
	state_close(&s);
	return 1;
}
