/*
 * output_webhook.c - an HTTP POST of the record's JSON (Content-Type
 * application/json) per incident opened or escalated (or per alert, with
 * records: alerts).  A 2xx answer is a delivery; anything else (no answer
 * within the time-out, 4xx, 5xx) is a failure that outputs.c retries with
 * back-off, from the output's cursor.  Redirects are not followed.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "outputs/outputs_int.h"

/* The answer's body is read and thrown away, up to this much. */
#define WEBHOOK_MAX_ANSWER_BYTES	(64 * 1024)

struct webhook {
	CURL			*curl;
	struct curl_slist	*hdrs;
	size_t			 answer;
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	struct webhook *w = arg;

	(void)p;
	w->answer += size * n;
	if (w->answer > WEBHOOK_MAX_ANSWER_BYTES)
		return 0;	/* aborts the transfer */
	return size * n;
}

static void webhook_close(void **impl)
{
	struct webhook *w = *impl;

	if (w == NULL)
		return;
	if (w->curl != NULL)
		curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->hdrs);
	free(w);
	*impl = NULL;
}

static int webhook_open(const struct output_config *cfg, void **impl)
{
	struct webhook *w = calloc(1, sizeof(*w));
	long ms = (long)(cfg->timeout_us / 1000);

	if (w == NULL)
		return TS_ENOMEM;
	*impl = w;
	if ((w->curl = curl_easy_init()) == NULL ||
	    (w->hdrs = curl_slist_append(NULL,
	    "Content-Type: application/json")) == NULL) {
		webhook_close(impl);
		return TS_ENOMEM;
	}
	curl_easy_setopt(w->curl, CURLOPT_URL, cfg->url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->hdrs);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "tocsin");
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
	return 0;
}

static int webhook_send(void *impl, const struct output_config *cfg,
    int kind, json_t *rec)
{
	struct webhook *w = impl;
	char *s = NULL;
	size_t len;
	long code = 0;
	CURLcode cc;
	int rc;

	(void)kind;
	if ((rc = output_format_json(rec, &s, &len)) != 0)
		return rc;
	w->answer = 0;
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, s);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)len);
	cc = curl_easy_perform(w->curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, NULL);
	free(s);
	if (cc != CURLE_OK) {
		log_warn("output %s: POST: %s", cfg->name,
		    curl_easy_strerror(cc));
		return TS_EIO;
	}
	if (code < 200 || code > 299) {
		log_warn("output %s: POST: HTTP %ld", cfg->name,
		    code);
		return TS_EIO;
	}
	return 0;
}

static int webhook_flush(void *impl)
{
	(void)impl;
	return 0;
}

const struct output_ops output_webhook_ops = {
	webhook_open, webhook_send, webhook_flush, webhook_close
};
