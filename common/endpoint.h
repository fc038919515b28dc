/*
 * endpoint.h - ZeroMQ endpoints and host:port addresses, checked and
 * rewritten in one place: the configuration's checks, `tocsin agents add`
 * (the endpoint written into an agent's configuration), `tocsin replay`
 * (the collector it sends to) and `tocsin alerts --follow` (the live feed
 * it subscribes to) all go through here.
 */
#ifndef TOCSIN_ENDPOINT_H
#define TOCSIN_ENDPOINT_H

/* 1 if s is an endpoint tocsin binds or connects: "tcp://ADDRESS" or
 * "ipc://PATH" with something after the scheme, at most MAX_PATH_BYTES;
 * else 0 (NULL too). */
int endpoint_valid(const char *s);

/* 1 if s is "host:port" or "[v6]:port" with a port 1..65535, else 0. */
int endpoint_hostport_valid(const char *s);

/*
 * The endpoint a client on this machine connects to for an endpoint a
 * server binds: a wildcard host (0.0.0.0, *, [::]) becomes loopback
 * (127.0.0.1, [::1]); anything else is kept.  *replaced (may be NULL) says
 * whether the host was replaced.  malloc'd (caller frees), NULL when out
 * of memory.
 */
char *endpoint_local_connect(const char *bind, int *replaced);

/* 1 if only a client on this machine can connect to endpoint ep: ipc://,
 * or tcp:// to a loopback host (127.x.y.z, localhost, [::1]); else 0. */
int endpoint_local_only(const char *ep);

#endif /* TOCSIN_ENDPOINT_H */
