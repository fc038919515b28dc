/*
 * zap.c - the ZeroMQ Authentication Protocol (RFC 27) handler.
 *
 * A REP socket bound to inproc://zeromq.zap.01 in the collector's context.
 * libzmq asks it about every CURVE handshake; it admits a client only if
 * the domain is ours and its public key is enrolled (keyring_lookup), and
 * answers with the agent's name as User-Id and its public key (Z85) as the
 * metadata property ZAP_KEY_PROPERTY, which the collector then reads from
 * every message (zmq_msg_gets) and checks against the keyring again: a key
 * revoked after the handshake, or a name re-enrolled with another key, is
 * refused on the next frame of a session opened before.  Polled in the
 * collector's
 * loop: no thread.  Anything else, including a malformed request, gets
 * "400" (or "500"), never silence: libzmq would hold the handshake.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "collector/collector_int.h"

/* Frames in a ZAP request: version, request id, domain, address, identity,
 * mechanism, then credentials (one for CURVE). */
#define ZAP_FRAMES		7
/* Extra frames read and dropped from a malformed request. */
#define MAX_ZAP_FRAMES		16
/* Requests answered per poll wake-up. */
#define MAX_ZAP_PER_POLL	64
/* Refusals are logged at most once per this interval (a refused client
 * reconnects every few hundred milliseconds); the rest are summed. */
#define ZAP_LOG_INTERVAL_US	(10 * 1000 * 1000)

struct zap {
	void		*sock;
	keyring_t	*kr;
	uint64_t	 last_log_us;	/* mono time of the last refusal logged */
	uint64_t	 unlogged;	/* refusals since then, not logged */
};

zap_t *
zap_open(void *ctx, keyring_t *kr)
{
	zap_t *z;
	int zero = 0;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	z->kr = kr;
	if ((z->sock = zmq_socket(ctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
		log_err("collector: ZAP handler: %s", zmq_strerror(zmq_errno()));
		zap_free(&z);
		return NULL;
	}
	return z;
}

void
zap_free(zap_t **zp)
{
	if (zp == NULL || *zp == NULL)
		return;
	if ((*zp)->sock)
		zmq_close((*zp)->sock);
	free(*zp);
	*zp = NULL;
}

void *
zap_socket(zap_t *z)
{
	return z->sock;
}

static int
frame_is(zmq_msg_t *m, const char *s)
{
	size_t n = strlen(s);

	return zmq_msg_size(m) == n && memcmp(zmq_msg_data(m), s, n) == 0;
}

static void
send_str(void *sock, const void *p, size_t n, int more)
{
	(void)zmq_send(sock, p, n, more ? ZMQ_SNDMORE : 0);
}

/* Read one request (all its frames) and answer it.  Returns 1 if one was
 * handled, 0 if none was waiting. */
static int
zap_one(zap_t *z, uint64_t *admitted, uint64_t *refused)
{
	zmq_msg_t f[ZAP_FRAMES];
	int nf = 0, more = 1, total = 0, ok = 0;
	const char *name = NULL, *status = "400", *text = "not enrolled";
	char addr[64];

	for (int i = 0; i < ZAP_FRAMES; i++)
		zmq_msg_init(&f[i]);
	while (more && total < MAX_ZAP_FRAMES) {
		zmq_msg_t tmp, *m = nf < ZAP_FRAMES ? &f[nf] : &tmp;

		if (m == &tmp)
			zmq_msg_init(&tmp);
		if (zmq_msg_recv(m, z->sock, total == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			if (m == &tmp)
				zmq_msg_close(&tmp);
			if (total == 0)
				goto none;
			break;
		}
		more = zmq_msg_more(m);
		total++;
		if (m == &tmp)
			zmq_msg_close(&tmp);
		else
			nf++;
	}
	/* Drain anything past the bound (a REP must read the whole request). */
	while (more) {
		zmq_msg_t tmp;

		zmq_msg_init(&tmp);
		if (zmq_msg_recv(&tmp, z->sock, 0) < 0) {
			zmq_msg_close(&tmp);
			break;
		}
		more = zmq_msg_more(&tmp);
		zmq_msg_close(&tmp);
		total++;
	}
	if (total != ZAP_FRAMES || nf != ZAP_FRAMES || !frame_is(&f[0], "1.0")) {
		status = "500";
		text = "malformed ZAP request";
	} else if (frame_is(&f[2], ENROLL_ZAP_DOMAIN) &&
	    frame_is(&f[5], "CURVE") && zmq_msg_size(&f[6]) == 32) {
		/* the enrolment endpoint: any key (the token decides) */
		ok = 1;
		name = "(enrolling)";
		status = "200";
		text = "OK";
	} else if (!frame_is(&f[2], ZAP_DOMAIN) || !frame_is(&f[5], "CURVE") ||
	    zmq_msg_size(&f[6]) != 32) {
		text = "not a tocsin CURVE client";
	} else if ((name = keyring_lookup(z->kr, zmq_msg_data(&f[6]))) != NULL) {
		ok = 1;
		status = "200";
		text = "OK";
	}
	if (nf > 3)
		escape_text(zmq_msg_data(&f[3]), zmq_msg_size(&f[3]), addr,
		    sizeof(addr));
	else
		snprintf(addr, sizeof(addr), "?");
	if (ok) {
		(*admitted)++;
		log_debug("collector: admitted agent %s from %s", name, addr);
	} else {
		uint64_t now = mono_us();

		(*refused)++;
		if (z->last_log_us == 0 ||
		    now - z->last_log_us >= ZAP_LOG_INTERVAL_US) {
			log_info("collector: refused connection from %s: %s "
			    "(%llu more refusals not logged)", addr, text,
			    (unsigned long long)z->unlogged);
			z->last_log_us = now;
			z->unlogged = 0;
		} else {
			z->unlogged++;
		}
	}
	/* Reply: version, request id, status, text, user id, metadata. */
	send_str(z->sock, "1.0", 3, 1);
	if (nf > 1)
		send_str(z->sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), 1);
	else
		send_str(z->sock, "", 0, 1);
	send_str(z->sock, status, 3, 1);
	send_str(z->sock, text, strlen(text), 1);
	send_str(z->sock, ok ? name : "", ok ? strlen(name) : 0, 1);
	if (ok) {
		/* Metadata, ZMTP property form: u8 name length, name, u32
		 * value length (big-endian), value. */
		unsigned char md[1 + sizeof(ZAP_KEY_PROPERTY) + 4 +
		    KEY_Z85_BYTES];
		size_t nl = strlen(ZAP_KEY_PROPERTY), off = 0;
		char z85[KEY_Z85_BYTES];

		if (zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32) == NULL) {
			send_str(z->sock, "", 0, 0);
			goto done;
		}
		md[off++] = (unsigned char)nl;
		memcpy(md + off, ZAP_KEY_PROPERTY, nl);
		off += nl;
		md[off++] = 0;
		md[off++] = 0;
		md[off++] = 0;
		md[off++] = KEY_Z85_BYTES - 1;
		memcpy(md + off, z85, KEY_Z85_BYTES - 1);
		off += KEY_Z85_BYTES - 1;
		send_str(z->sock, md, off, 0);
	} else {
		send_str(z->sock, "", 0, 0);
	}
done:
	for (int i = 0; i < ZAP_FRAMES; i++)
		zmq_msg_close(&f[i]);
	return 1;
none:
	for (int i = 0; i < ZAP_FRAMES; i++)
		zmq_msg_close(&f[i]);
	return 0;
}

void
zap_handle(zap_t *z, uint64_t *admitted, uint64_t *refused)
{
	for (int i = 0; i < MAX_ZAP_PER_POLL; i++)
		if (!zap_one(z, admitted, refused))
			break;
}
