/*
 * output_live.c - the live feed: a ZeroMQ PUB socket that publishes each
 * record as one frame "alert {json}" or "incident {json}", so subscribers
 * filter by topic prefix ("alert ", "incident ").
 *
 * A live feed does not wait for anyone: a record published while no one is
 * subscribed is gone for that subscriber (its cursor advances); a slow
 * subscriber loses what passes its high-water mark (ZeroMQ's policy).  Use
 * jsonl or forward when every record must arrive.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "outputs/outputs_int.h"

/* Records queued per subscriber before ZeroMQ drops for it. */
#define LIVE_SNDHWM	100000

struct live {
	void	*ctx;
	void	*sock;
};

static void live_close(void **impl)
{
	struct live *l = *impl;

	if (l == NULL)
		return;
	if (l->sock != NULL)
		zmq_close(l->sock);
	if (l->ctx != NULL)
		zmq_ctx_term(l->ctx);
	free(l);
	*impl = NULL;
}

static int live_open(const struct output_config *cfg, void **impl)
{
	struct live *l = calloc(1, sizeof(*l));
	int hwm = LIVE_SNDHWM, linger = 0;

	if (l == NULL)
		return TS_ENOMEM;
	*impl = l;
	if ((l->ctx = zmq_ctx_new()) == NULL ||
	    (l->sock = zmq_socket(l->ctx, ZMQ_PUB)) == NULL)
		goto fail;
	(void)zmq_setsockopt(l->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	(void)zmq_setsockopt(l->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(l->sock, cfg->endpoint) != 0) {
		log_warn("output %s: cannot bind %s: %s", cfg->name,
		    cfg->endpoint, zmq_strerror(errno));
		goto fail;
	}
	log_info("output %s: live feed on %s", cfg->name, cfg->endpoint);
	return 0;
fail:
	live_close(impl);
	return TS_EIO;
}

static int live_send(void *impl, const struct output_config *cfg, int kind,
    json_t *rec)
{
	struct live *l = impl;
	const char *topic = kind == OUT_KIND_ALERT ? "alert " : "incident ";
	size_t tlen = strlen(topic), len;
	char *s = NULL, *frame;
	int rc;

	(void)cfg;
	if ((rc = output_format_json(rec, &s, &len)) != 0)
		return rc;
	if ((frame = malloc(tlen + len)) == NULL) {
		free(s);
		return TS_ENOMEM;
	}
	memcpy(frame, topic, tlen);
	memcpy(frame + tlen, s, len);
	free(s);
	rc = zmq_send(l->sock, frame, tlen + len, ZMQ_DONTWAIT) < 0 &&
	    errno != EAGAIN ? TS_EIO : 0;
	free(frame);
	return rc;
}

static int live_flush(void *impl)
{
	(void)impl;
	return 0;
}

const struct output_ops output_live_ops = {
	live_open, live_send, live_flush, live_close
};
