/*
 * api_load.c - a load generator for the HTTP API (tests/bench/api.sh):
 * THREADS threads, each with one libcurl handle (one kept-alive
 * connection), send GET URL with a bearer token for SECONDS seconds and
 * record each request's latency.  Prints one line:
 *
 *   requests N errors E rps R p50_ms A p99_ms B
 *
 * A request counts as an error unless it answers 200.  Exit 1 when any
 * did not.
 *
 *   api_load URL TOKEN THREADS SECONDS
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/util.h"

#define MAX_THREADS	64
#define MAX_SAMPLES	(4 * 1024 * 1024)

struct worker {
	pthread_t	 w_thread;
	const char	*w_url;
	const char	*w_auth;
	uint64_t	 w_end_us;
	uint64_t	*w_lat;		/* microseconds */
	size_t		 w_n, w_cap;
	uint64_t	 w_errors;
};

static size_t
sink_cb(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	CURL			*c = curl_easy_init();
	struct curl_slist	*h = curl_slist_append(NULL, w->w_auth);

	curl_easy_setopt(c, CURLOPT_URL, w->w_url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_cb);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	while (mono_us() < w->w_end_us && w->w_n < w->w_cap) {
		uint64_t t0 = mono_us();
		long code = 0;

		if (curl_easy_perform(c) != CURLE_OK ||
		    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) !=
		    CURLE_OK || code != 200)
			w->w_errors++;
		w->w_lat[w->w_n++] = mono_us() - t0;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct worker	 w[MAX_THREADS];
	uint64_t	 nthreads, secs, start, elapsed, total = 0, errors = 0;
	uint64_t	*all;
	char		 auth[256];
	size_t		 k = 0;

	if (argc != 5 || parse_u64(argv[3], strlen(argv[3]), MAX_THREADS,
	    &nthreads) != 0 || nthreads == 0 || parse_u64(argv[4],
	    strlen(argv[4]), 3600, &secs) != 0 || secs == 0) {
		fprintf(stderr, "usage: api_load URL TOKEN THREADS SECONDS\n");
		return 2;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", argv[2]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	start = mono_us();
	for (uint64_t i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].w_url = argv[1];
		w[i].w_auth = auth;
		w[i].w_end_us = start + secs * 1000000;
		w[i].w_cap = MAX_SAMPLES / nthreads;
		if ((w[i].w_lat = malloc(w[i].w_cap * sizeof(uint64_t))) ==
		    NULL)
			return 1;
		pthread_create(&w[i].w_thread, NULL, worker_main, &w[i]);
	}
	for (uint64_t i = 0; i < nthreads; i++) {
		pthread_join(w[i].w_thread, NULL);
		total += w[i].w_n;
		errors += w[i].w_errors;
	}
	elapsed = mono_us() - start;
	if ((all = malloc((total + 1) * sizeof(uint64_t))) == NULL)
		return 1;
	for (uint64_t i = 0; i < nthreads; i++) {
		memcpy(all + k, w[i].w_lat, w[i].w_n * sizeof(uint64_t));
		k += w[i].w_n;
		free(w[i].w_lat);
	}
	qsort(all, total, sizeof(uint64_t), u64_cmp);
	printf("requests %llu errors %llu rps %.1f p50_ms %.2f p99_ms %.2f\n",
	    (unsigned long long)total, (unsigned long long)errors,
	    total * 1e6 / (double)elapsed,
	    total ? all[total / 2] / 1000.0 : 0.0,
	    total ? all[total * 99 / 100] / 1000.0 : 0.0);
	free(all);
	curl_global_cleanup();
	return errors > 0;
}
