/*
 * enroll.c - the enrolment endpoint: a PC presents a token and the public
 * key it generated, and leaves enrolled, with no secret carried to it.
 *
 * The socket is a CURVE server with the server's key, so the PC, which pins
 * the server's public key (`tocsin-agent enroll --fingerprint`), talks to
 * this server only; ZAP admits any client key in the enrolment domain, and
 * the CURVE handshake proves that the client holds the secret of the key it
 * asks to enrol (ZAP hands it to every message, zmq_msg_gets).  Each
 * request is checked in this order: a well-formed request, a valid agent
 * name, a token known, not expired and not used up (tokens.h), the name not
 * enrolled already; then the key is admitted (keys_agent_enroll, which the
 * agent socket's keyring sees at once) and one use of the token spent.
 * Every enrolment and every refusal is one of tocsin's own events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zmq.h>

#include "collector/collector_int.h"
#include "common/config.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/tokens.h"
#include "common/util.h"

/* Largest request accepted (a token, a name and a host fit in far less). */
#define ENROLL_MAX_REQUEST_BYTES	4096
/* Requests answered per poll, so that agents' traffic gets its turn. */
#define ENROLL_MAX_PER_POLL		64

struct enroll {
	void		*sock;
	const struct server_config *cfg;
	enroll_say_fn	 say;
	void		*say_arg;
};

enroll_t *enroll_open(void *ctx, const struct server_config *cfg,
    const char *sec, enroll_say_fn say, void *say_arg)
{
	enroll_t *e;
	int one = 1, zero = 0;
	int64_t maxmsg = ENROLL_MAX_REQUEST_BYTES;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->cfg = cfg;
	e->say = say;
	e->say_arg = say_arg;
	if ((e->sock = zmq_socket(ctx, ZMQ_ROUTER)) == NULL ||
	    zmq_setsockopt(e->sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(e->sock, ZMQ_CURVE_SECRETKEY, sec, 40) ||
	    zmq_setsockopt(e->sock, ZMQ_ZAP_DOMAIN, ENROLL_ZAP_DOMAIN,
	    strlen(ENROLL_ZAP_DOMAIN)) ||
	    zmq_setsockopt(e->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) ||
	    zmq_setsockopt(e->sock, ZMQ_LINGER, &zero, sizeof(zero))) {
		log_err("collector: enrolment socket: %s",
		    zmq_strerror(zmq_errno()));
		goto fail;
	}
	if (zmq_bind(e->sock, cfg->enroll_listen) != 0) {
		log_err("collector: cannot listen for enrolments on %s: %s",
		    cfg->enroll_listen, zmq_strerror(zmq_errno()));
		goto fail;
	}
	log_info("collector: enrolments on %s", cfg->enroll_listen);
	return e;
fail:
	enroll_free(&e);
	return NULL;
}

void enroll_free(enroll_t **ep)
{
	enroll_t *e = *ep;

	if (e == NULL)
		return;
	if (e->sock != NULL)
		zmq_close(e->sock);
	free(e);
	*ep = NULL;
}

void *enroll_socket(enroll_t *e)
{
	return e->sock;
}

static void enroll_reply(enroll_t *e, zmq_msg_t *id, json_t *ans)
{
	char *text = json_dumps(ans, JSON_COMPACT);

	if (text == NULL)
		return;
	if (zmq_send(e->sock, zmq_msg_data(id), zmq_msg_size(id),
	    ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
		(void)zmq_send(e->sock, text, strlen(text), ZMQ_DONTWAIT);
	free(text);
}

/* A string member of at most max bytes, or NULL. */
static const char *req_str(json_t *req, const char *key, size_t max)
{
	json_t *v = json_object_get(req, key);
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	return strlen(s) <= max ? s : NULL;
}

/* Check and carry out one request; NULL on success, else why it was
 * refused.  *tok_id gets the token's id when the token was known. */
static const char *enroll_do(enroll_t *e, json_t *req, const char *key,
    char tok_id[TOKEN_ID_HEX + 1], const char **name_out)
{
	const char *token, *name, *dd = e->cfg->data_dir;
	enum token_verdict v;
	struct token_info ti;
	int rc;

	*name_out = NULL;
	if (key == NULL || strlen(key) != KEY_Z85_BYTES - 1)
		return "no client key (not a CURVE connection)";
	token = req_str(req, "token", TOKEN_BYTES);
	name = req_str(req, "name", MAX_NAME_BYTES);
	if (token == NULL || name == NULL)
		return "malformed request (token and name are required)";
	*name_out = name;
	if (!name_valid_str(NAME_AGENT, name) ||
	    strcmp(name, KEYS_REPLAY_AGENT) == 0)
		return "bad agent name: 1 to 64 characters of A-Z a-z 0-9 . "
		    "_ - not starting with . or -";
	if (token_check(dd, token, now_us(), &v, &ti) != 0)
		return "the server cannot read its tokens";
	if (v != TOKEN_UNKNOWN)
		snprintf(tok_id, TOKEN_ID_HEX + 1, "%s", ti.id);
	if (v != TOKEN_OK)
		return token_verdict_text(v);
	rc = keys_agent_enroll(dd, name, key);
	if (rc == TS_EEXIST)
		return "an agent of this name is enrolled already (revoke it "
		    "with `tocsin agents remove NAME`, or choose another "
		    "name)";
	if (rc != 0)
		return "the key could not be admitted";
	if (keys_agent_group_set(dd, name, ti.group) != 0) {
		(void)keys_agent_revoke(dd, name);
		return "the agent's group could not be recorded";
	}
	if (token_spend(dd, ti.id) != 0) {
		(void)keys_agent_revoke(dd, name);
		return "the token could not be spent";
	}
	return NULL;
}

/* One request: identity frame, then one JSON frame.  0 if none waited. */
static int enroll_one(enroll_t *e, uint64_t *admitted, uint64_t *refused)
{
	zmq_msg_t id, body;
	json_t *req = NULL, *ans;
	json_error_t jerr;
	const char *why, *name = NULL, *host = NULL, *key;
	char tok_id[TOKEN_ID_HEX + 1] = "-", hb[MAX_HOST_BYTES * 4 + 1];
	char nb[MAX_NAME_BYTES * 4 + 1], msg[sizeof(hb) + sizeof(nb) + 512];
	int more;

	zmq_msg_init(&id);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&id, e->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&id);
		zmq_msg_close(&body);
		return 0;
	}
	if (!zmq_msg_more(&id) || zmq_msg_recv(&body, e->sock, 0) < 0) {
		zmq_msg_close(&id);
		zmq_msg_close(&body);
		return 1;
	}
	more = zmq_msg_more(&body);
	while (more) {	/* a request is one frame: drop the rest */
		zmq_msg_t extra;

		zmq_msg_init(&extra);
		if (zmq_msg_recv(&extra, e->sock, 0) < 0)
			more = 0;
		else
			more = zmq_msg_more(&extra);
		zmq_msg_close(&extra);
	}
	key = zmq_msg_gets(&body, ZAP_KEY_PROPERTY);
	req = json_loadb(zmq_msg_data(&body), zmq_msg_size(&body), 0, &jerr);
	if (!json_is_object(req))
		why = "malformed request (not a JSON object)";
	else {
		why = enroll_do(e, req, key, tok_id, &name);
		host = req_str(req, "host", MAX_HOST_BYTES);
	}
	escape_text(name ? name : "-", name ? strlen(name) : 1, nb,
	    sizeof(nb));
	escape_text(host ? host : "-", host ? strlen(host) : 1, hb,
	    sizeof(hb));
	if (why == NULL) {
		(*admitted)++;
		ans = json_pack("{s:b, s:s, s:s}", "ok", 1, "name", name,
		    "listen", e->cfg->listen);
		snprintf(msg, sizeof(msg), "enrolment: agent %s enrolled "
		    "(host %s, token %s)", nb, hb, tok_id);
	} else {
		(*refused)++;
		ans = json_pack("{s:b, s:s}", "ok", 0, "error", why);
		snprintf(msg, sizeof(msg), "enrolment refused: %s (agent %s, "
		    "host %s, token %s)", why, nb, hb, tok_id);
	}
	e->say(e->say_arg, msg);
	if (ans != NULL)
		enroll_reply(e, &id, ans);
	json_decref(ans);
	json_decref(req);
	zmq_msg_close(&id);
	zmq_msg_close(&body);
	return 1;
}

void enroll_handle(enroll_t *e, uint64_t *admitted, uint64_t *refused)
{
	for (int i = 0; i < ENROLL_MAX_PER_POLL; i++)
		if (!enroll_one(e, admitted, refused))
			break;
}
