/*
 * enroll.c - `tocsin-agent enroll`: a PC enrols itself with a token.
 *
 * The agent's key pair is generated here and its secret never leaves the
 * PC.  The request goes over CURVE to the server's enrolment endpoint
 * (tocsind.yml: collector.enroll_listen) with the server's public key
 * given as --fingerprint: CurveZMQ authenticates the server by that key,
 * so a server that does not hold its secret cannot complete the handshake,
 * and the agent says so instead of enrolling anywhere.  The handshake also
 * proves to the server that the PC holds the secret of the key it enrols.
 * On success the agent's complete configuration is written (mode 0600,
 * never over an existing file).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "agents/agent_int.h"
#include "agents/platform.h"
#include "common/config.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/tokens.h"
#include "common/util.h"
#include "common/yamltree.h"

#define ENROLL_DEFAULT_PORT	"7515"
#define ENROLL_MONITOR_EP	"inproc://tocsin-enroll-monitor"
#define ENROLL_MAX_REPLY_BYTES	4096

/* "HOST[:PORT]" or "[V6][:PORT]" into host and port (malloc'd).  0 or -1. */
static int split_server(const char *s, char **host, char **port)
{
	const char *colon;

	*host = *port = NULL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end == s + 1)
			return -1;
		*host = strndup(s, (size_t)(end - s + 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			goto bad;
	} else {
		colon = strrchr(s, ':');
		if (colon == s)
			return -1;
		*host = colon ? strndup(s, (size_t)(colon - s)) : strdup(s);
	}
	*port = strdup(colon ? colon + 1 : ENROLL_DEFAULT_PORT);
	if (*host == NULL || *port == NULL || (*port)[0] == '\0' ||
	    strspn(*port, "0123456789") != strlen(*port) || strlen(*port) > 5 ||
	    atoi(*port) < 1 || atoi(*port) > 65535)
		goto bad;
	return 0;
bad:
	free(*host);
	free(*port);
	*host = *port = NULL;
	return -1;
}

/* The agent endpoint: the host the PC reached the server by, and the port
 * of the server's collector.listen. */
static char *agent_endpoint(const char *host, const char *listen)
{
	const char *colon;

	if (strncmp(listen, "tcp://", 6) != 0 ||
	    (colon = strrchr(listen + 6, ':')) == NULL)
		return strdup(listen);
	return xasprintf("tcp://%s:%s", host, colon + 1);
}

static int write_config(int fd, const struct enroll_opts *o,
    const char *name, const char *endpoint, const char *pub,
    const char *sec)
{
	FILE *fp;
	int dfd, rc = 0;

	/* stdio on a copy of fd, so that fd stays the caller's to close */
	if ((dfd = dup(fd)) < 0)
		return TS_EIO;
	if ((fp = fdopen(dfd, "wb")) == NULL) {
		close(dfd);
		return TS_EIO;
	}
	fprintf(fp, "# tocsin-agent configuration of agent \"%s\" (it holds "
	    "its secret key: mode 0600)\n# Written by `tocsin-agent enroll`; "
	    "the key pair was generated on this machine.\n# Revoke the agent "
	    "on the server with `tocsin agents remove %s`.\nagent:\n"
	    "  name: %s\n", name, name, name);
	if (o->data_dir != NULL) {
		fputs("  data_dir: ", fp);
		yt_write_quoted(fp, o->data_dir);
		fputc('\n', fp);
	}
	fputs("server:\n  endpoint: ", fp);
	yt_write_quoted(fp, endpoint);
	fprintf(fp, "\n  public_key: \"%s\"\nkeys:\n  public: \"%s\"\n"
	    "  secret: \"%s\"\n", o->fingerprint, pub, sec);
	if (o->nfollow > 0) {
		fputs("follow:\n", fp);
		for (size_t i = 0; i < o->nfollow; i++) {
			fputs("  - ", fp);
			yt_write_quoted(fp, o->follow[i]);
			fputc('\n', fp);
		}
	}
	if (o->journal || o->nfollow == 0)
		plat_oslog_config(fp, o->journal_dir);
	if (o->from_start)
		fputs("from_start: true\n", fp);
	if (fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) != 0)
		rc = TS_EIO;
	if (fclose(fp) != 0)
		rc = TS_EIO;
	return rc;
}

/* A monitor event: 0 none, 1 handshake succeeded, -1 failed or dropped
 * before it succeeded. */
static int monitor_event(void *mon, int *succeeded)
{
	zmq_msg_t m;
	uint16_t ev = 0;
	int more, r = 0;

	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return 0;
	}
	if (zmq_msg_size(&m) >= 2)
		memcpy(&ev, zmq_msg_data(&m), 2);
	more = zmq_msg_more(&m);
	while (more) {
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, mon, 0) < 0)
			break;
		more = zmq_msg_more(&m);
	}
	zmq_msg_close(&m);
	if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
		*succeeded = 1;
		r = 1;
	} else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
	    ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
	    ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
	    (ev == ZMQ_EVENT_DISCONNECTED && !*succeeded)) {
		r = -1;
	}
	return r;
}

int agent_enroll(const struct enroll_opts *o)
{
	char pub[KEY_Z85_BYTES], sec[KEY_Z85_BYTES], hn[MAX_HOST_BYTES + 1];
	char *host = NULL, *port = NULL, *ep = NULL, *req = NULL;
	char *agent_ep = NULL, buf[ENROLL_MAX_REPLY_BYTES + 1];
	const char *name = o->name;
	void *ctx = NULL, *sock = NULL, *mon = NULL;
	uint8_t fpbin[32];
	uint64_t deadline;
	json_t *ans = NULL;
	int fd = -1, status = 2, zero = 0, succeeded = 0, n;

	if (o->fingerprint == NULL || strlen(o->fingerprint) !=
	    KEY_Z85_BYTES - 1 || zmq_z85_decode(fpbin, o->fingerprint) == NULL) {
		fprintf(stderr, "tocsin-agent enroll: --fingerprint must be the "
		    "server's public key, 40 Z85 characters (`tocsin agents "
		    "token create` prints it)\n");
		return 2;
	}
	if (o->token == NULL || strlen(o->token) != TOKEN_BYTES - 1) {
		fprintf(stderr, "tocsin-agent enroll: --token must be the %d "
		    "characters `tocsin agents token create` printed\n",
		    TOKEN_BYTES - 1);
		return 2;
	}
	if (o->server == NULL || split_server(o->server, &host, &port) != 0) {
		fprintf(stderr, "tocsin-agent enroll: --server must be "
		    "HOST[:PORT] (port 1-65535, default %s)\n",
		    ENROLL_DEFAULT_PORT);
		return 2;
	}
	if (gethostname(hn, sizeof(hn) - 1) != 0)
		hn[0] = '\0';
	hn[sizeof(hn) - 1] = '\0';
	if (name == NULL)
		name = hn;
	if (!name_valid_str(NAME_AGENT, name)) {
		fprintf(stderr, "tocsin-agent enroll: agent name '%s' is not "
		    "valid: 1 to 64 characters of A-Z a-z 0-9 . _ - not "
		    "starting with . or - (give --name)\n", name);
		goto out;
	}
	/* open the output first: nothing is enrolled when it cannot be
	 * written, and an enrolled PC is not enrolled twice by mistake */
	if ((fd = open(o->output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "tocsin-agent enroll: %s exists: this "
			    "machine is enrolled already (remove the file to "
			    "enrol it again)\n", o->output);
		else
			fprintf(stderr, "tocsin-agent enroll: cannot create "
			    "%s: %s\n", o->output, strerror(errno));
		status = 1;
		goto out;
	}
	/* private before anything secret goes in */
	if (plat_private_file(o->output) != 0) {
		status = 1;
		goto out;
	}
	status = 1;
	if (keys_generate(pub, sec) != 0)
		goto out;
	ep = xasprintf("tcp://%s:%s", host, port);
	{
		json_t *r = json_pack("{s:i, s:s, s:s, s:s}", "v", 1, "token",
		    o->token, "name", name, "host", hn[0] ? hn : name);
		req = r ? json_dumps(r, JSON_COMPACT) : NULL;
		json_decref(r);
	}
	if (ep == NULL || req == NULL)
		goto out;
	if ((ctx = zmq_ctx_new()) == NULL ||
	    (sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, o->fingerprint, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40) ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_socket_monitor(sock, ENROLL_MONITOR_EP,
	    ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_DISCONNECTED) != 0 ||
	    (mon = zmq_socket(ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_connect(mon, ENROLL_MONITOR_EP) != 0 ||
	    zmq_connect(sock, ep) != 0) {
		fprintf(stderr, "tocsin-agent enroll: %s: %s\n", ep,
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	if (zmq_send(sock, req, strlen(req), 0) < 0) {
		fprintf(stderr, "tocsin-agent enroll: send: %s\n",
		    zmq_strerror(zmq_errno()));
		goto out;
	}
	deadline = mono_us() + o->timeout_us;
	for (;;) {
		zmq_pollitem_t it[2] = { { sock, 0, ZMQ_POLLIN, 0 },
		    { mon, 0, ZMQ_POLLIN, 0 } };
		uint64_t now = mono_us();

		if (now >= deadline) {
			fprintf(stderr, "tocsin-agent enroll: no answer from "
			    "%s within %llus (%s): is collector.enroll_listen "
			    "set on the server, and reachable?\n", ep,
			    (unsigned long long)(o->timeout_us / 1000000),
			    succeeded ? "connected" : "no connection");
			goto out;
		}
		if (zmq_poll(it, 2, (long)((deadline - now) / 1000) + 1) < 0 &&
		    zmq_errno() != EINTR)
			goto out;
		if (it[1].revents & ZMQ_POLLIN) {
			while ((n = monitor_event(mon, &succeeded)) != 0)
				if (n < 0) {
					fprintf(stderr, "tocsin-agent enroll: "
					    "the CURVE handshake with %s "
					    "failed: the server does not hold "
					    "the key of --fingerprint %s "
					    "(wrong fingerprint, or not a "
					    "tocsin enrolment endpoint); "
					    "nothing was sent\n", ep,
					    o->fingerprint);
					goto out;
				}
		}
		if (it[0].revents & ZMQ_POLLIN)
			break;
	}
	if ((n = zmq_recv(sock, buf, ENROLL_MAX_REPLY_BYTES, 0)) < 0 ||
	    n > ENROLL_MAX_REPLY_BYTES) {
		fprintf(stderr, "tocsin-agent enroll: bad answer from %s\n",
		    ep);
		goto out;
	}
	ans = json_loadb(buf, (size_t)n, 0, NULL);
	if (!json_is_object(ans)) {
		fprintf(stderr, "tocsin-agent enroll: bad answer from %s\n",
		    ep);
		goto out;
	}
	if (!json_is_true(json_object_get(ans, "ok"))) {
		const char *e = json_string_value(json_object_get(ans,
		    "error"));

		fprintf(stderr, "tocsin-agent enroll: the server refused: "
		    "%s\n", e ? e : "(no reason given)");
		goto out;
	}
	if (json_string_value(json_object_get(ans, "listen")) == NULL ||
	    (agent_ep = agent_endpoint(host, json_string_value(
	    json_object_get(ans, "listen")))) == NULL)
		goto out;
	if (write_config(fd, o, name, agent_ep, pub, sec) != 0) {
		fprintf(stderr, "tocsin-agent enroll: enrolled as %s, but "
		    "cannot write %s: %s; revoke the agent on the server and "
		    "enrol again\n", name, o->output, strerror(errno));
		goto out;
	}
	printf("tocsin-agent: enrolled as agent %s; configuration (with the "
	    "secret key) in %s; agents connect to %s\n"
	    "start it: systemctl start tocsin-agent  (or tocsin-agent -c %s;\n"
	    "or enrol with --start)\n",
	    name, o->output, agent_ep, o->output);
	status = 0;
out:
	if (fd >= 0) {
		close(fd);
		if (status != 0)
			unlink(o->output);
	}
	explicit_bzero(sec, sizeof(sec));
	json_decref(ans);
	if (mon != NULL)
		zmq_close(mon);
	if (sock != NULL) {
		zmq_socket_monitor(sock, NULL, 0);
		zmq_close(sock);
	}
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	free(agent_ep);
	free(req);
	free(ep);
	free(host);
	free(port);
	return status;
}
