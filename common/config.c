/*
 * config.c - server and agent configuration files, read through yamltree
 * with a table of known keys per mapping.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/config.h"
#include "common/endpoint.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/names.h"
#include "common/util.h"
#include "common/yamltree.h"
#include "build/gen/paths.h"

/* Smallest LMDB map we accept: a few pages. */
#define MIN_MAP_BYTES		(64ULL * 1024)
#define MAX_CREDIT_EVENTS	1000000ULL
#define MAX_ENGINE_BATCH	65536ULL
#define DEFAULT_AGENT_BATCH	512
#define DEFAULT_AGENT_WAIT_US	(200ULL * 1000)
#define DEFAULT_SPOOL_MAX_BYTES	(1ULL << 30)
#define DEFAULT_HEARTBEAT_US	(5ULL * 1000000)
#define DEFAULT_SILENT_US	(10ULL * 60 * 1000000)
#define DEFAULT_JOURNAL_MAX_BYTES (64ULL << 30)

static const char embedded_name[] = "(embedded default)";

/* build/gen/paths.h (make SYSCONFDIR=... LOCALSTATEDIR=... PREFIX=...)
 * defines these; empty strings mean a source-tree build. */
const char *config_sysconfdir(void)
{
	return TOCSIN_SYSCONFDIR;
}

const char *config_statedir(void)
{
	return TOCSIN_STATEDIR[0] != '\0' ? TOCSIN_STATEDIR : "var/tocsind";
}

const char *config_pkgdatadir(void)
{
	return TOCSIN_PKGDATADIR;
}

const char *config_agent_statedir(void)
{
	return TOCSIN_AGENT_STATEDIR[0] != '\0' ? TOCSIN_AGENT_STATEDIR : NULL;
}

int config_locate(const char *explicit, const char *env, const char *name,
    char *buf, size_t buflen, const char **out, const char **why)
{
	const char *p = NULL, *w = "embedded default";
	int n;

	*out = NULL;
	if (explicit != NULL) {
		p = explicit;
		w = "-c";
	} else if (env != NULL && (p = getenv(env)) != NULL && p[0] != '\0') {
		w = env;
	} else {
		p = NULL;
		if (TOCSIN_SYSCONFDIR[0] != '\0') {
			n = snprintf(buf, buflen, "%s/%s", TOCSIN_SYSCONFDIR,
			    name);
			if (n < 0 || (size_t)n >= buflen)
				return TS_EINVAL;
			if (access(buf, F_OK) == 0) {
				*out = buf;
				if (why != NULL)
					*why = buf;
				return 0;
			}
		}
	}
	if (p != NULL) {
		n = snprintf(buf, buflen, "%s", p);
		if (n < 0 || (size_t)n >= buflen)
			return TS_EINVAL;
		*out = buf;
	}
	if (why != NULL)
		*why = w;
	return 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Load the single document of a config file (path, or buf when path is
 * NULL) and return its root mapping.  An empty file is an empty mapping
 * (*root NULL).  Caller frees *docs.
 */
static int load_doc(const char *name, const char *path, const char *buf,
    size_t len, yt_doc ***docs, size_t *ndocs, const yt_node **root,
    char *err, size_t errlen)
{
	int rc;

	*root = NULL;
	if (path != NULL)
		rc = yt_load_file(path, docs, ndocs, err, errlen);
	else
		rc = yt_load_buf(name, buf, len, docs, ndocs, err, errlen);
	if (rc != 0)
		return rc;
	if (*ndocs > 1) {
		const yt_node *r = (*docs)[1]->root;
		set_err(err, errlen, "%s:%d:%d: a configuration file holds one "
		    "YAML document", name, r ? r->line : 1, r ? r->col : 1);
		return TS_EPARSE;
	}
	if (*ndocs == 1 && (*docs)[0]->root != NULL &&
	    !yt_is_null((*docs)[0]->root)) {
		*root = (*docs)[0]->root;
		if ((*root)->kind != YT_MAP) {
			set_err(err, errlen, "%s:%d:%d: the configuration must be "
			    "a mapping", name, (*root)->line, (*root)->col);
			return TS_EPARSE;
		}
	}
	return 0;
}

/*
 * A section (sub-mapping) of m: NULL when missing or null; TS_EPARSE when it
 * is not a mapping or holds an unknown key.
 */
static int section(const yt_node *m, const char *key, const char *const *known,
    const char *file, const yt_node **out, char *err, size_t errlen)
{
	const yt_node *s = yt_map_get(m, key);

	*out = NULL;
	if (s == NULL || yt_is_null(s))
		return 0;
	if (yt_check_keys(s, known, file, key, err, errlen) != 0)
		return TS_EPARSE;
	*out = s;
	return 0;
}

/* Keys one top level may have (a bound on struct top_key tables). */
#define MAX_TOP_KEYS	16

/* One key of a configuration's top level: the one table that says which
 * keys the top level takes and, for a section (a mapping), its known keys
 * and where its node goes. */
struct top_key {
	const char		*tk_name;
	const char *const	*tk_keys;	/* a section's known keys;
						 * NULL: a value */
	const yt_node		**tk_node;	/* the section, NULL when absent
						 * or null */
};

/* Check root against the table tk[0..n) (an unknown key is an error at
 * its line and column) and each section against its keys.  0 or
 * TS_EPARSE with the message in err. */
static int top_check(const yt_node *root, const struct top_key *tk, size_t n,
    const char *file, char *err, size_t errlen)
{
	const char *names[MAX_TOP_KEYS + 1];
	size_t i;

	if (n > MAX_TOP_KEYS)
		fatal("config: a top level of %zu keys", n);
	for (i = 0; i < n; i++)
		names[i] = tk[i].tk_name;
	names[n] = NULL;
	if (root != NULL && yt_check_keys(root, names, file, "the top level",
	    err, errlen) != 0)
		return TS_EPARSE;
	for (i = 0; i < n; i++)
		if (tk[i].tk_keys != NULL && section(root, tk[i].tk_name,
		    tk[i].tk_keys, file, tk[i].tk_node, err, errlen) != 0)
			return TS_EPARSE;
	return 0;
}

/* Position of a node for a diagnostic (1:1 when there is none). */
static int node_line(const yt_node *n) { return n ? n->line : 1; }
static int node_col(const yt_node *n) { return n ? n->col : 1; }

/* Error at the node holding key in map. */
static void key_err(char *err, size_t errlen, const char *file,
    const yt_node *map, const char *key, const char *what, const char *msg)
{
	const yt_node *v = yt_map_get(map, key);
	set_err(err, errlen, "%s:%d:%d: %s%s%s %s", file, node_line(v),
	    node_col(v), what ? what : "", what ? "." : "", key, msg);
}

/* ---- outputs --------------------------------------------------------------- */

#define DEFAULT_OUTPUT_RETRY_MAX_US	(60ULL * 1000000)
#define DEFAULT_OUTPUT_TIMEOUT_US	(10ULL * 1000000)
#define DEFAULT_JSONL_MAX_BYTES		(100ULL << 20)
#define DEFAULT_JSONL_KEEP		5
#define MAX_JSONL_KEEP			1000ULL
#define MAX_OUTPUT_TIMEOUT_US		(300ULL * 1000000)

const char *output_type_name(int type)
{
	switch (type) {
	case OUTPUT_JSONL:	return "jsonl";
	case OUTPUT_LIVE:	return "live";
	case OUTPUT_FORWARD:	return "forward";
	case OUTPUT_WEBHOOK:	return "webhook";
	default:		return "?";
	}
}

static void output_config_free(struct output_config *o)
{
	free(o->name);
	free(o->path);
	free(o->endpoint);
	free(o->address);
	free(o->tls_ca);
	free(o->tls_server_name);
	free(o->url);
	memset(o, 0, sizeof(*o));
}

/* Map an optional scalar to one of words[] (index into *out).  Missing: 0
 * with *out unchanged. */
static int get_word(const yt_node *m, const char *key, const char *file,
    const char *const *words, int *out, char *err, size_t errlen)
{
	char *s = NULL;
	int rc, i;

	if ((rc = yt_get_str(m, key, file, &s, err, errlen)) != 0)
		return rc;
	if (s == NULL)
		return 0;
	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(s, words[i]) == 0) {
			*out = i;
			free(s);
			return 0;
		}
	}
	free(s);
	{
		char list[160] = "";
		for (i = 0; words[i] != NULL; i++) {
			if (words[i][0] == '\0')
				continue;
			if (list[0] != '\0')
				strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			strncat(list, words[i], sizeof(list) - strlen(list) - 1);
		}
		const yt_node *v = yt_map_get(m, key);
		set_err(err, errlen, "%s:%d:%d: outputs.%s must be one of %s",
		    file, node_line(v), node_col(v), key, list);
	}
	return TS_EPARSE;
}

static int get_required(const yt_node *m, const yt_node *where,
    const char *what, const char *key, const char *file, char **out,
    char *err, size_t errlen);

/* Keys every output takes, and those of each type. */
static const char *const out_keys_jsonl[] = { "name", "type", "enabled",
    "min_level", "drills", "records", "retry_max", "path", "max_size",
    "keep", "fsync", NULL };
static const char *const out_keys_live[] = { "name", "type", "enabled",
    "min_level", "drills", "records", "retry_max", "endpoint", NULL };
static const char *const out_keys_forward[] = { "name", "type", "enabled",
    "min_level", "drills", "records", "retry_max", "address", "protocol",
    "format", "timeout", "tls_ca", "tls_verify", "tls_server_name", NULL };
static const char *const out_keys_webhook[] = { "name", "type", "enabled",
    "min_level", "drills", "records", "retry_max", "url", "timeout", NULL };

/* One item of the outputs: list into *o (zeroed by the caller). */
static int parse_output(const yt_node *m, const char *file,
    struct output_config *o, char *err, size_t errlen)
{
	static const char *const types[] = { "", "jsonl", "live", "forward",
	    "webhook", NULL };
	static const char *const drills[] = { "exclude", "label", "include",
	    NULL };
	static const char *const records[] = { "", "alerts", "incidents",
	    "all", NULL };
	static const char *const fsyncs[] = { "batch", "always", "never",
	    NULL };
	static const char *const protos[] = { "tcp", "udp", "tls", NULL };
	static const char *const formats[] = { "json", "cef", NULL };
	const char *const *known;
	unsigned long long v;

	if (m->kind != YT_MAP) {
		set_err(err, errlen, "%s:%d:%d: each item of outputs must be a "
		    "mapping (name, type, ...)", file, m->line, m->col);
		return TS_EPARSE;
	}
	o->type = 0;
	if (get_word(m, "type", file, types, &o->type, err, errlen))
		return TS_EPARSE;
	if (o->type == 0) {
		set_err(err, errlen, "%s:%d:%d: missing required key 'type' in "
		    "outputs (jsonl, live, forward or webhook)", file, m->line,
		    m->col);
		return TS_EPARSE;
	}
	known = o->type == OUTPUT_JSONL ? out_keys_jsonl :
	    o->type == OUTPUT_LIVE ? out_keys_live :
	    o->type == OUTPUT_FORWARD ? out_keys_forward : out_keys_webhook;
	{
		char what[64];
		snprintf(what, sizeof(what), "a %s output",
		    output_type_name(o->type));
		if (yt_check_keys(m, known, file, what, err, errlen) != 0)
			return TS_EPARSE;
	}
	if (get_required(m, m, "outputs", "name", file, &o->name, err,
	    errlen))
		return TS_EPARSE;
	if (!name_valid_str(NAME_OUTPUT, o->name)) {
		key_err(err, errlen, file, m, "name", "outputs",
		    "must be 1 to 64 characters of A-Z a-z 0-9 . _ -");
		return TS_EPARSE;
	}
	o->enabled = 1;
	if (yt_get_bool(m, "enabled", file, &o->enabled, err, errlen))
		return TS_EPARSE;
	v = 0;
	if (yt_get_u64(m, "min_level", file, 0, 15, &v, err, errlen))
		return TS_EPARSE;
	o->min_level = (int)v;
	o->drills = OUTPUT_DRILLS_EXCLUDE;
	if (get_word(m, "drills", file, drills, &o->drills, err, errlen))
		return TS_EPARSE;
	/* jsonl and live carry everything; forward alerts; webhook incidents */
	o->records = o->type == OUTPUT_FORWARD ? OUTPUT_REC_ALERTS :
	    o->type == OUTPUT_WEBHOOK ? OUTPUT_REC_INCIDENTS :
	    OUTPUT_REC_ALERTS | OUTPUT_REC_INCIDENTS;
	if (get_word(m, "records", file, records, &o->records, err, errlen))
		return TS_EPARSE;
	if (o->records == 0) {
		key_err(err, errlen, file, m, "records", "outputs",
		    "must be one of alerts, incidents, all");
		return TS_EPARSE;
	}
	v = DEFAULT_OUTPUT_RETRY_MAX_US;
	if (yt_get_duration(m, "retry_max", file, &v, err, errlen))
		return TS_EPARSE;
	if (v < 100000 || v > 3600ULL * 1000000) {
		key_err(err, errlen, file, m, "retry_max", "outputs",
		    "must be from 100ms to 1h");
		return TS_EPARSE;
	}
	o->retry_max_us = v;
	v = DEFAULT_OUTPUT_TIMEOUT_US;
	if (yt_get_duration(m, "timeout", file, &v, err, errlen))
		return TS_EPARSE;
	if (v < 100000 || v > MAX_OUTPUT_TIMEOUT_US) {
		key_err(err, errlen, file, m, "timeout", "outputs",
		    "must be from 100ms to 5m");
		return TS_EPARSE;
	}
	o->timeout_us = v;

	switch (o->type) {
	case OUTPUT_JSONL:
		if (get_required(m, m, "a jsonl output", "path", file,
		    &o->path, err, errlen))
			return TS_EPARSE;
		if (o->path[0] == '\0' || strlen(o->path) > MAX_PATH_BYTES) {
			key_err(err, errlen, file, m, "path", "outputs",
			    "must be 1 to 1024 bytes");
			return TS_EPARSE;
		}
		v = DEFAULT_JSONL_MAX_BYTES;
		if (yt_get_size(m, "max_size", file, &v, err, errlen))
			return TS_EPARSE;
		if (v < 1024) {
			key_err(err, errlen, file, m, "max_size", "outputs",
			    "must be at least 1k");
			return TS_EPARSE;
		}
		o->max_bytes = v;
		v = DEFAULT_JSONL_KEEP;
		if (yt_get_u64(m, "keep", file, 0, MAX_JSONL_KEEP, &v, err,
		    errlen))
			return TS_EPARSE;
		o->keep = (uint32_t)v;
		o->fsync = OUTPUT_FSYNC_BATCH;
		if (get_word(m, "fsync", file, fsyncs, &o->fsync, err, errlen))
			return TS_EPARSE;
		break;
	case OUTPUT_LIVE:
		if (get_required(m, m, "a live output", "endpoint", file,
		    &o->endpoint, err, errlen))
			return TS_EPARSE;
		if (!endpoint_valid(o->endpoint)) {
			key_err(err, errlen, file, m, "endpoint", "outputs",
			    "must be a ZeroMQ endpoint tcp://HOST:PORT or "
			    "ipc://PATH");
			return TS_EPARSE;
		}
		break;
	case OUTPUT_FORWARD:
		if (get_required(m, m, "a forward output", "address", file,
		    &o->address, err, errlen))
			return TS_EPARSE;
		if (!endpoint_hostport_valid(o->address)) {
			key_err(err, errlen, file, m, "address", "outputs",
			    "must be \"host:port\"");
			return TS_EPARSE;
		}
		o->proto = OUTPUT_PROTO_TCP;
		o->format = OUTPUT_FORMAT_CEF;
		if (get_word(m, "protocol", file, protos, &o->proto, err,
		    errlen) || get_word(m, "format", file, formats, &o->format,
		    err, errlen))
			return TS_EPARSE;
		o->tls_verify = 1;
		if (yt_get_str(m, "tls_ca", file, &o->tls_ca, err, errlen) ||
		    yt_get_str(m, "tls_server_name", file, &o->tls_server_name,
		    err, errlen) ||
		    yt_get_bool(m, "tls_verify", file, &o->tls_verify, err,
		    errlen))
			return TS_EPARSE;
		if (o->proto != OUTPUT_PROTO_TLS) {
			const char *k = o->tls_ca ? "tls_ca" :
			    o->tls_server_name ? "tls_server_name" :
			    yt_map_get(m, "tls_verify") ? "tls_verify" : NULL;

			if (k != NULL) {
				key_err(err, errlen, file, m, k, "outputs",
				    "needs protocol: tls");
				return TS_EPARSE;
			}
		}
		if ((o->tls_ca != NULL && (o->tls_ca[0] == '\0' ||
		    strlen(o->tls_ca) > MAX_PATH_BYTES)) ||
		    (o->tls_server_name != NULL &&
		    !name_valid_str(NAME_HOST, o->tls_server_name))) {
			key_err(err, errlen, file, m, o->tls_server_name &&
			    !name_valid_str(NAME_HOST, o->tls_server_name) ?
			    "tls_server_name" : "tls_ca", "outputs",
			    "must not be empty (a file, or a host name)");
			return TS_EPARSE;
		}
		break;
	case OUTPUT_WEBHOOK:
		if (get_required(m, m, "a webhook output", "url", file,
		    &o->url, err, errlen))
			return TS_EPARSE;
		if ((strncmp(o->url, "http://", 7) != 0 || o->url[7] == '\0') &&
		    (strncmp(o->url, "https://", 8) != 0 || o->url[8] == '\0')) {
			key_err(err, errlen, file, m, "url", "outputs",
			    "must be an http:// or https:// URL");
			return TS_EPARSE;
		}
		break;
	}
	return 0;
}

/* The outputs: list (missing or null: none). */
static int parse_outputs(const yt_node *root, const char *file,
    struct server_config *cfg, char *err, size_t errlen)
{
	const yt_node *l = yt_map_get(root, "outputs");
	size_t i, j;

	if (l == NULL || yt_is_null(l))
		return 0;
	if (l->kind != YT_SEQ) {
		set_err(err, errlen, "%s:%d:%d: outputs must be a list of "
		    "outputs (- name: ..., type: ...)", file, l->line, l->col);
		return TS_EPARSE;
	}
	if (l->n > MAX_OUTPUTS) {
		set_err(err, errlen, "%s:%d:%d: at most %d outputs", file,
		    l->line, l->col, MAX_OUTPUTS);
		return TS_EPARSE;
	}
	if (l->n == 0)
		return 0;
	if ((cfg->outputs = calloc(l->n, sizeof(*cfg->outputs))) == NULL) {
		set_err(err, errlen, "%s: out of memory", file);
		return TS_ENOMEM;
	}
	for (i = 0; i < l->n; i++) {
		cfg->noutputs = i + 1;
		if (parse_output(l->items[i], file, &cfg->outputs[i], err,
		    errlen) != 0)
			return TS_EPARSE;
		for (j = 0; j < i; j++) {
			if (strcmp(cfg->outputs[j].name,
			    cfg->outputs[i].name) == 0) {
				key_err(err, errlen, file, l->items[i], "name",
				    "outputs", "is used by two outputs");
				return TS_EPARSE;
			}
		}
	}
	return 0;
}

void server_config_free(struct server_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->noutputs; i++)
		output_config_free(&cfg->outputs[i]);
	free(cfg->outputs);
	free(cfg->source);
	free(cfg->data_dir);
	free(cfg->listen);
	free(cfg->enroll_listen);
	free(cfg->syslog_udp);
	free(cfg->syslog_tcp);
	free(cfg->groups_dir);
	free(cfg->api_listen);
	free(cfg->api_tls_cert);
	free(cfg->api_tls_key);
	free(cfg->timezone);
	for (size_t i = 0; i < cfg->ntz_sources; i++) {
		free(cfg->tz_sources[i]);
		free(cfg->tz_zones[i]);
	}
	free(cfg->tz_sources);
	free(cfg->tz_zones);
	yt_strv_free(&cfg->rule_paths, cfg->nrule_paths);
	memset(cfg, 0, sizeof(*cfg));
}

/* Optional "ip:port" listener: empty or null means disabled. */
static int get_listener(const yt_node *m, const char *key, const char *file,
    char **out, char *err, size_t errlen)
{
	const yt_node *v = yt_map_get(m, key);
	int rc;

	if (v == NULL)
		return 0;
	if (yt_is_null(v) || (v->kind == YT_SCALAR && v->len == 0)) {
		free(*out);
		*out = NULL;
		return 0;
	}
	rc = yt_get_str(m, key, file, out, err, errlen);
	if (rc != 0)
		return rc;
	if (!endpoint_hostport_valid(*out)) {
		key_err(err, errlen, file, m, key, "collector",
		    "must be \"ip:port\" (or empty to disable)");
		return TS_EPARSE;
	}
	return 0;
}

/* The api: section (NULL: defaults).  0 or TS_EPARSE. */
static int parse_api(const yt_node *api, const char *file,
    struct server_config *cfg, char *err, size_t errlen)
{
	unsigned long long v;
	const yt_node *n = yt_map_get(api, "listen");

	if (n != NULL && (yt_is_null(n) || (n->kind == YT_SCALAR &&
	    n->len == 0))) {
		free(cfg->api_listen);		/* empty: no API process */
		cfg->api_listen = NULL;
	} else {
		if (yt_get_str(api, "listen", file, &cfg->api_listen, err,
		    errlen))
			return TS_EPARSE;
		if (cfg->api_listen != NULL &&
		    !endpoint_hostport_valid(cfg->api_listen)) {
			key_err(err, errlen, file, api, "listen", "api",
			    "must be \"ip:port\" (or empty to disable)");
			return TS_EPARSE;
		}
	}
	if (yt_get_str(api, "tls_cert", file, &cfg->api_tls_cert, err,
	    errlen) || yt_get_str(api, "tls_key", file, &cfg->api_tls_key,
	    err, errlen))
		return TS_EPARSE;
	if ((cfg->api_tls_cert == NULL) != (cfg->api_tls_key == NULL)) {
		key_err(err, errlen, file, api, cfg->api_tls_cert == NULL ?
		    "tls_key" : "tls_cert", "api", "needs both tls_cert and "
		    "tls_key");
		return TS_EPARSE;
	}
	v = cfg->api_rate;
	if (yt_get_u64(api, "rate", file, 1, 100000, &v, err, errlen))
		return TS_EPARSE;
	cfg->api_rate = (uint32_t)v;
	v = cfg->api_burst;
	if (yt_get_u64(api, "burst", file, 1, 1000000, &v, err, errlen))
		return TS_EPARSE;
	cfg->api_burst = (uint32_t)v;
	v = cfg->api_max_page;
	if (yt_get_u64(api, "max_page", file, 1, MAX_API_PAGE, &v, err,
	    errlen))
		return TS_EPARSE;
	cfg->api_max_page = (uint32_t)v;
	v = cfg->api_max_body;
	if (yt_get_size(api, "max_body", file, &v, err, errlen))
		return TS_EPARSE;
	if (v < 1024 || v > MAX_API_BODY) {
		key_err(err, errlen, file, api, "max_body", "api",
		    "must be from 1k to 16M");
		return TS_EPARSE;
	}
	cfg->api_max_body = v;
	return 0;
}

int server_config_load(const char *path, struct server_config *cfg,
    char *err, size_t errlen)
{
	static const char *const coll_keys[] = { "listen", "syslog_udp",
	    "syslog_tcp", "journal_map_size", "journal_max_size", "retention",
	    "credit", "max_frame_size", "enroll_listen", "groups", NULL };
	static const char *const eng_keys[] = { "rules", "state_map_size",
	    "batch", "agent_silent_after", "alert_retention",
	    "incident_retention", "timezone", "source_timezones", NULL };
	static const char *const inc_keys[] = { "min_level", "window", NULL };
	static const char *const api_keys[] = { "listen", "tls_cert",
	    "tls_key", "rate", "burst", "max_page", "max_body", NULL };
	const char *file = path ? path : embedded_name;
	yt_doc **docs = NULL;
	size_t ndocs = 0;
	const yt_node *root, *coll = NULL, *eng = NULL, *inc = NULL, *v0;
	const yt_node *api = NULL;
	const struct top_key top[] = {
		{ "data_dir", NULL, NULL },
		{ "log_level", NULL, NULL },
		{ "collector", coll_keys, &coll },
		{ "engine", eng_keys, &eng },
		{ "incidents", inc_keys, &inc },
		{ "api", api_keys, &api },
		{ "outputs", NULL, NULL },	/* a list: outputs_load */
	};
	unsigned long long v;
	char *lvl = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	cfg->source = strdup(file);
	cfg->data_dir = strdup(config_statedir());
	cfg->log_level = LOG_LVL_INFO;
	cfg->listen = strdup("tcp://127.0.0.1:7514");
	cfg->journal_map_bytes = DEFAULT_JOURNAL_MAP_BYTES;
	cfg->journal_max_bytes = DEFAULT_JOURNAL_MAX_BYTES;
	cfg->retention_us = 0;
	cfg->credit_events = DEFAULT_CREDIT_EVENTS;
	cfg->max_frame_bytes = MAX_FRAME_BYTES;
	cfg->state_map_bytes = DEFAULT_STATE_MAP_BYTES;
	cfg->batch_events = ENGINE_BATCH_EVENTS;
	cfg->agent_silent_us = DEFAULT_SILENT_US;
	cfg->incident_min_level = DEFAULT_INCIDENT_MIN_LEVEL;
	cfg->incident_window_us = DEFAULT_INCIDENT_WINDOW_US;
	cfg->api_rate = DEFAULT_API_RATE;
	cfg->api_burst = DEFAULT_API_BURST;
	cfg->api_max_page = DEFAULT_API_MAX_PAGE;
	cfg->api_max_body = DEFAULT_API_MAX_BODY;
	cfg->rule_paths = calloc(2, sizeof(char *));
	if (cfg->rule_paths != NULL) {
		cfg->rule_paths[0] = TOCSIN_PKGDATADIR[0] != '\0' ?
		    xasprintf("%s/rules/default", TOCSIN_PKGDATADIR) :
		    strdup("rules/default");
		cfg->nrule_paths = 1;
	}
	if (cfg->source == NULL || cfg->data_dir == NULL ||
	    cfg->listen == NULL || cfg->rule_paths == NULL ||
	    cfg->rule_paths[0] == NULL) {
		set_err(err, errlen, "%s: out of memory", file);
		rc = TS_ENOMEM;
		goto fail;
	}

	rc = load_doc(file, path, config_default_server,
	    config_default_server_len, &docs, &ndocs, &root, err, errlen);
	if (rc != 0)
		goto fail;
	rc = TS_EPARSE;
	if (top_check(root, top, sizeof(top) / sizeof(top[0]), file, err,
	    errlen) != 0)
		goto fail;

	if (yt_get_str(root, "data_dir", file, &cfg->data_dir, err, errlen))
		goto fail;
	if (cfg->data_dir[0] == '\0') {
		key_err(err, errlen, file, root, "data_dir", NULL,
		    "must not be empty");
		goto fail;
	}
	if (yt_get_str(root, "log_level", file, &lvl, err, errlen))
		goto fail;
	if (lvl != NULL) {
		cfg->log_level = log_level_parse(lvl);
		if (cfg->log_level < 0) {
			key_err(err, errlen, file, root, "log_level", NULL,
			    "must be one of error, warn, info, debug");
			goto fail;
		}
	}

	/* collector */
	if (yt_get_str(coll, "listen", file, &cfg->listen, err, errlen))
		goto fail;
	if (!endpoint_valid(cfg->listen)) {
		key_err(err, errlen, file, coll, "listen", "collector",
		    "must be a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH");
		goto fail;
	}
	/* enrolment endpoint: optional (empty or absent: off) */
	if (yt_get_str(coll, "enroll_listen", file, &cfg->enroll_listen, err,
	    errlen))
		goto fail;
	if (cfg->enroll_listen != NULL && cfg->enroll_listen[0] == '\0') {
		free(cfg->enroll_listen);
		cfg->enroll_listen = NULL;
	}
	if (cfg->enroll_listen != NULL && !endpoint_valid(cfg->enroll_listen)) {
		key_err(err, errlen, file, coll, "enroll_listen", "collector",
		    "must be a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH");
		goto fail;
	}
	if (get_listener(coll, "syslog_udp", file, &cfg->syslog_udp, err,
	    errlen) || get_listener(coll, "syslog_tcp", file, &cfg->syslog_tcp,
	    err, errlen))
		goto fail;
	v = cfg->journal_map_bytes;
	if (yt_get_size(coll, "journal_map_size", file, &v, err, errlen))
		goto fail;
	cfg->journal_map_bytes = v;
	v = cfg->journal_max_bytes;
	if (yt_get_size(coll, "journal_max_size", file, &v, err, errlen))
		goto fail;
	cfg->journal_max_bytes = v;
	if (cfg->journal_map_bytes < MIN_MAP_BYTES) {
		key_err(err, errlen, file, coll, "journal_map_size",
		    "collector", "must be at least 64k");
		goto fail;
	}
	if (cfg->journal_max_bytes < cfg->journal_map_bytes) {
		key_err(err, errlen, file, coll, "journal_max_size",
		    "collector", "must not be smaller than journal_map_size");
		goto fail;
	}
	v = cfg->retention_us;
	if (yt_get_duration(coll, "retention", file, &v, err, errlen))
		goto fail;
	cfg->retention_us = v;
	v = cfg->credit_events;
	if (yt_get_u64(coll, "credit", file, 1, MAX_CREDIT_EVENTS, &v, err,
	    errlen))
		goto fail;
	cfg->credit_events = (uint32_t)v;
	v = cfg->max_frame_bytes;
	if (yt_get_size(coll, "max_frame_size", file, &v, err, errlen))
		goto fail;
	if (v < 1024 || v > (1ULL << 30)) {
		key_err(err, errlen, file, coll, "max_frame_size", "collector",
		    "must be from 1k to 1G");
		goto fail;
	}
	cfg->max_frame_bytes = v;
	if (yt_get_str(coll, "groups", file, &cfg->groups_dir, err, errlen))
		goto fail;
	if (cfg->groups_dir != NULL && cfg->groups_dir[0] == '\0') {
		key_err(err, errlen, file, coll, "groups", "collector",
		    "must not be empty");
		goto fail;
	}
	if (cfg->groups_dir == NULL) {
		/* beside the configuration file; for the embedded default,
		 * the installed folder or the source tree's etc/ */
		const char *slash = path ? strrchr(path, '/') : NULL;

		if (path != NULL)
			cfg->groups_dir = slash == NULL ? strdup("groups") :
			    xasprintf("%.*s/groups", (int)(slash - path), path);
		else
			cfg->groups_dir = config_sysconfdir()[0] != '\0' ?
			    xasprintf("%s/tocsin/groups",
			    config_sysconfdir()) : strdup("etc/groups");
		if (cfg->groups_dir == NULL) {
			set_err(err, errlen, "%s: out of memory", file);
			rc = TS_ENOMEM;
			goto fail;
		}
	}

	/* engine */
	if (yt_get_strv(eng, "rules", file, &cfg->rule_paths,
	    &cfg->nrule_paths, err, errlen))
		goto fail;
	for (size_t i = 0; i < cfg->nrule_paths; i++) {
		if (cfg->rule_paths[i][0] == '\0') {
			key_err(err, errlen, file, eng, "rules", "engine",
			    "must not hold an empty path");
			goto fail;
		}
	}
	v = cfg->state_map_bytes;
	if (yt_get_size(eng, "state_map_size", file, &v, err, errlen))
		goto fail;
	if (v < MIN_MAP_BYTES) {
		key_err(err, errlen, file, eng, "state_map_size", "engine",
		    "must be at least 64k");
		goto fail;
	}
	cfg->state_map_bytes = v;
	v = cfg->batch_events;
	if (yt_get_u64(eng, "batch", file, 1, MAX_ENGINE_BATCH, &v, err,
	    errlen))
		goto fail;
	cfg->batch_events = (uint32_t)v;
	v = cfg->agent_silent_us;
	if (yt_get_duration(eng, "agent_silent_after", file, &v, err, errlen))
		goto fail;
	cfg->agent_silent_us = v;
	v = cfg->alert_retention_us;
	if (yt_get_duration(eng, "alert_retention", file, &v, err, errlen))
		goto fail;
	cfg->alert_retention_us = v;
	v = cfg->incident_retention_us;
	if (yt_get_duration(eng, "incident_retention", file, &v, err, errlen))
		goto fail;
	cfg->incident_retention_us = v;
	if (yt_get_str(eng, "timezone", file, &cfg->timezone, err, errlen))
		goto fail;
	if (eng != NULL && (v0 = yt_map_get(eng, "source_timezones")) != NULL) {
		if (v0->kind != YT_MAP) {
			key_err(err, errlen, file, eng, "source_timezones",
			    "engine", "must be a mapping of agent or host "
			    "names to time zones");
			goto fail;
		}
		cfg->tz_sources = calloc(v0->n + 1, sizeof(char *));
		cfg->tz_zones = calloc(v0->n + 1, sizeof(char *));
		if (cfg->tz_sources == NULL || cfg->tz_zones == NULL) {
			set_err(err, errlen, "%s: out of memory", file);
			rc = TS_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < v0->n; i++) {
			if (v0->items[i]->kind != YT_SCALAR ||
			    v0->items[i]->len == 0) {
				set_err(err, errlen, "%s:%d:%d: engine."
				    "source_timezones: the zone of '%s' must "
				    "be a string", file, v0->items[i]->line,
				    v0->items[i]->col, v0->keys[i]->str);
				goto fail;
			}
			cfg->tz_sources[i] = strdup(v0->keys[i]->str);
			cfg->tz_zones[i] = strdup(v0->items[i]->str);
			cfg->ntz_sources = i + 1;
			if (cfg->tz_sources[i] == NULL ||
			    cfg->tz_zones[i] == NULL) {
				set_err(err, errlen, "%s: out of memory", file);
				rc = TS_ENOMEM;
				goto fail;
			}
		}
	}

	/* incidents */
	v = (unsigned long long)cfg->incident_min_level;
	if (yt_get_u64(inc, "min_level", file, 1, 15, &v, err, errlen))
		goto fail;
	cfg->incident_min_level = (int)v;
	v = cfg->incident_window_us;
	if (yt_get_duration(inc, "window", file, &v, err, errlen))
		goto fail;
	if (v == 0) {
		key_err(err, errlen, file, inc, "window", "incidents",
		    "must be longer than 0s");
		goto fail;
	}
	cfg->incident_window_us = v;

	/* api */
	if ((rc = parse_api(api, file, cfg, err, errlen)) != 0)
		goto fail;
	rc = TS_EPARSE;

	/* outputs */
	if ((rc = parse_outputs(root, file, cfg, err, errlen)) != 0)
		goto fail;

	free(lvl);
	yt_docs_free(&docs, ndocs);
	return 0;
fail:
	free(lvl);
	yt_docs_free(&docs, ndocs);
	server_config_free(cfg);
	return rc;
}

/* ---- agent ---------------------------------------------------------------- */

void agent_config_free(struct agent_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->source);
	free(cfg->name);
	free(cfg->host);
	free(cfg->data_dir);
	free(cfg->server_endpoint);
	explicit_bzero(cfg->sec, sizeof(cfg->sec));
	yt_strv_free(&cfg->follow, cfg->nfollow);
	yt_strv_free(&cfg->journal_units, cfg->njournal_units);
	free(cfg->journal_dir);
	yt_strv_free(&cfg->evt_channels, cfg->nevt_channels);
	for (size_t i = 0; cfg->evt_queries != NULL && i < cfg->nevt_channels;
	    i++)
		free(cfg->evt_queries[i]);
	free(cfg->evt_queries);
	memset(cfg, 0, sizeof(*cfg));
}

/* The channels a Windows agent reads when eventlog: names none. */
static const char *const evt_default_channels[] = {
	"Security", "System", "Application",
	"Microsoft-Windows-Windows Defender/Operational",
	"Microsoft-Windows-Sysmon/Operational",
	"Microsoft-Windows-PowerShell/Operational",
};

/* A channel name: 1 to MAX_UNIT_BYTES bytes, no control bytes. */
static int evt_channel_ok(const char *s)
{
	size_t l = strlen(s);

	if (l == 0 || l > MAX_UNIT_BYTES)
		return 0;
	for (size_t i = 0; i < l; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* eventlog: {channels: [...], add: [...], filters: {CHANNEL: XPATH}}. */
static int evt_config_load(const yt_node *ev, const char *path,
    struct agent_config *cfg, char *err, size_t errlen)
{
	char **chan = NULL, **add = NULL;
	size_t nchan = 0, nadd = 0, n = 0;
	const yt_node *flt = ev ? yt_map_get(ev, "filters") : NULL;
	int rc = TS_EPARSE;

	if (ev != NULL && (yt_get_strv(ev, "channels", path, &chan, &nchan,
	    err, errlen) || yt_get_strv(ev, "add", path, &add, &nadd, err,
	    errlen)))
		goto out;
	if (chan == NULL)
		nchan = sizeof(evt_default_channels) /
		    sizeof(evt_default_channels[0]);
	cfg->evt_channels = calloc(nchan + nadd + 1, sizeof(char *));
	cfg->evt_queries = calloc(nchan + nadd + 1, sizeof(char *));
	if (cfg->evt_channels == NULL || cfg->evt_queries == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		rc = TS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nchan + nadd; i++) {
		const char *c = i < nchan ? (chan ? chan[i] :
		    evt_default_channels[i]) : add[i - nchan];
		int dup = 0;

		if (!evt_channel_ok(c)) {
			key_err(err, errlen, path, ev, i < nchan ? "channels" :
			    "add", "eventlog", "channel names must be 1 to 256 "
			    "bytes without control characters");
			goto out;
		}
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(cfg->evt_channels[k], c) == 0;
		if (dup)
			continue;
		if ((cfg->evt_channels[n] = strdup(c)) == NULL) {
			set_err(err, errlen, "%s: out of memory", path);
			rc = TS_ENOMEM;
			goto out;
		}
		cfg->nevt_channels = ++n;
	}
	if (flt != NULL && flt->kind != YT_MAP) {
		key_err(err, errlen, path, ev, "filters", "eventlog",
		    "must map channel names to XPath queries");
		goto out;
	}
	for (size_t i = 0; flt != NULL && i < flt->n; i++) {
		const yt_node *k = flt->keys[i], *q = flt->items[i];
		size_t c;

		for (c = 0; c < n; c++)
			if (strcmp(cfg->evt_channels[c], k->str) == 0)
				break;
		if (c == n) {
			set_err(err, errlen, "%s:%d:%d: eventlog.filters: "
			    "channel '%s' is not read (add it to eventlog.add)",
			    path, k->line, k->col, k->str);
			goto out;
		}
		if (q->kind != YT_SCALAR || q->len == 0 ||
		    q->len > MAX_EVT_QUERY_BYTES || memchr(q->str, 0, q->len)) {
			set_err(err, errlen, "%s:%d:%d: eventlog.filters: the "
			    "query of '%s' must be an XPath of 1 to %d bytes",
			    path, q->line, q->col, k->str, MAX_EVT_QUERY_BYTES);
			goto out;
		}
		free(cfg->evt_queries[c]);
		if ((cfg->evt_queries[c] = strdup(q->str)) == NULL) {
			set_err(err, errlen, "%s: out of memory", path);
			rc = TS_ENOMEM;
			goto out;
		}
	}
	rc = 0;
out:
	yt_strv_free(&chan, nchan);
	yt_strv_free(&add, nadd);
	return rc;
}

/* Required scalar: error at the mapping that lacks it. */
static int get_required(const yt_node *m, const yt_node *where,
    const char *what, const char *key, const char *file, char **out,
    char *err, size_t errlen)
{
	int rc = yt_get_str(m, key, file, out, err, errlen);

	if (rc != 0)
		return rc;
	if (*out == NULL) {
		set_err(err, errlen, "%s:%d:%d: missing required key '%s' in %s",
		    file, node_line(where), node_col(where), key, what);
		return TS_EPARSE;
	}
	return 0;
}

/* A Z85 CURVE key: exactly 40 characters that decode to 32 bytes. */
static int get_key(const yt_node *m, const yt_node *where, const char *what,
    const char *key, const char *file, char out[KEY_Z85_BYTES], char *err,
    size_t errlen)
{
	char *s = NULL;
	uint8_t bin[32];
	int rc;

	rc = get_required(m, where, what, key, file, &s, err, errlen);
	if (rc != 0)
		return rc;
	if (strlen(s) != KEY_Z85_BYTES - 1 || zmq_z85_decode(bin, s) == NULL) {
		key_err(err, errlen, file, m, key, what,
		    "must be a CURVE key of 40 Z85 characters");
		explicit_bzero(s, strlen(s));
		free(s);
		return TS_EPARSE;
	}
	memcpy(out, s, KEY_Z85_BYTES);
	explicit_bzero(s, strlen(s));
	explicit_bzero(bin, sizeof(bin));
	free(s);
	return 0;
}

/* A required section is missing (or null): error at the top mapping, or at
 * the null value. */
static void missing_section(const yt_node *root, const char *key,
    const char *file, char *err, size_t errlen)
{
	const yt_node *at = yt_map_get(root, key);

	if (at == NULL)
		at = root;
	set_err(err, errlen, "%s:%d:%d: missing required key '%s' in the top "
	    "level", file, at->line, at->col, key);
}

int agent_config_load(const char *path, struct agent_config *cfg,
    char *err, size_t errlen)
{
	static const char *const journal_keys[] = { "units", "directory",
	    NULL };
	static const char *const eventlog_keys[] = { "channels", "add",
	    "filters", NULL };
	static const char *const agent_keys[] = { "name", "data_dir", "host",
	    NULL };
	static const char *const server_keys[] = { "endpoint", "public_key",
	    NULL };
	static const char *const keys_keys[] = { "public", "secret", NULL };
	static const char *const batch_keys[] = { "max_events", "max_wait",
	    NULL };
	static const char *const spool_keys[] = { "max_size", NULL };
	const yt_node *root, *ag = NULL, *srv = NULL, *ks = NULL, *bt = NULL;
	const yt_node *sp = NULL, *jn = NULL, *ev = NULL;
	const struct top_key top[] = {
		{ "agent", agent_keys, &ag },
		{ "server", server_keys, &srv },
		{ "keys", keys_keys, &ks },
		{ "follow", NULL, NULL },
		{ "from_start", NULL, NULL },
		{ "batch", batch_keys, &bt },
		{ "spool", spool_keys, &sp },
		{ "heartbeat", NULL, NULL },
		{ "journal", journal_keys, &jn },
		{ "eventlog", eventlog_keys, &ev },
	};
	yt_doc **docs = NULL;
	size_t ndocs = 0;
	unsigned long long v;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL) {
		set_err(err, errlen, "no agent configuration file given");
		return TS_EINVAL;
	}
	cfg->source = strdup(path);
	if (cfg->source == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		return TS_ENOMEM;
	}
	cfg->batch_max = DEFAULT_AGENT_BATCH;
	cfg->batch_wait_us = DEFAULT_AGENT_WAIT_US;
	cfg->spool_max_bytes = DEFAULT_SPOOL_MAX_BYTES;
	cfg->heartbeat_us = DEFAULT_HEARTBEAT_US;

	rc = load_doc(path, path, NULL, 0, &docs, &ndocs, &root, err, errlen);
	if (rc != 0)
		goto fail;
	rc = TS_EPARSE;
	if (root == NULL) {
		set_err(err, errlen, "%s:1:1: missing required key 'agent' in "
		    "the top level", path);
		goto fail;
	}
	if (top_check(root, top, sizeof(top) / sizeof(top[0]), path, err,
	    errlen) != 0)
		goto fail;
	if (ag == NULL) {
		missing_section(root, "agent", path, err, errlen);
		goto fail;
	}
	/* agent */
	if (get_required(ag, ag, "agent", "name", path, &cfg->name, err,
	    errlen))
		goto fail;
	if (!name_valid_str(NAME_AGENT, cfg->name)) {
		key_err(err, errlen, path, ag, "name", "agent",
		    "must be 1 to 64 characters of A-Z a-z 0-9 . _ - not "
		    "starting with . or -");
		goto fail;
	}
	if (yt_get_str(ag, "data_dir", path, &cfg->data_dir, err, errlen))
		goto fail;
	if (cfg->data_dir == NULL)
		cfg->data_dir = config_agent_statedir() != NULL ?
		    strdup(config_agent_statedir()) :
		    xasprintf("var/agent-%s", cfg->name);
	else if (cfg->data_dir[0] == '\0') {
		key_err(err, errlen, path, ag, "data_dir", "agent",
		    "must not be empty");
		goto fail;
	}
	if (yt_get_str(ag, "host", path, &cfg->host, err, errlen))
		goto fail;
	if (cfg->host == NULL) {
		char hn[MAX_HOST_BYTES + 1];
		if (gethostname(hn, sizeof(hn)) != 0)
			snprintf(hn, sizeof(hn), "localhost");
		hn[MAX_HOST_BYTES] = '\0';
		if (!name_valid_str(NAME_HOST, hn)) {
			/* the collector would refuse every HELLO */
			set_err(err, errlen, "%s: this machine's host name is "
			    "not usable (must be %s): set agent.host", path,
			    name_expect(NAME_HOST));
			goto fail;
		}
		cfg->host = strdup(hn);
	} else if (!name_valid_str(NAME_HOST, cfg->host)) {
		/* the collector refuses any other HELLO host */
		char m[160];

		snprintf(m, sizeof(m), "must be %s", name_expect(NAME_HOST));
		key_err(err, errlen, path, ag, "host", "agent", m);
		goto fail;
	}
	if (cfg->data_dir == NULL || cfg->host == NULL) {
		set_err(err, errlen, "%s: out of memory", path);
		rc = TS_ENOMEM;
		goto fail;
	}

	/* server */
	if (srv == NULL) {
		missing_section(root, "server", path, err, errlen);
		goto fail;
	}
	if (get_required(srv, srv, "server", "endpoint", path,
	    &cfg->server_endpoint, err, errlen))
		goto fail;
	if (!endpoint_valid(cfg->server_endpoint)) {
		key_err(err, errlen, path, srv, "endpoint", "server",
		    "must be a ZeroMQ endpoint tcp://HOST:PORT or ipc://PATH");
		goto fail;
	}
	if (get_key(srv, srv, "server", "public_key", path, cfg->server_pub,
	    err, errlen))
		goto fail;

	/* keys */
	if (ks == NULL) {
		missing_section(root, "keys", path, err, errlen);
		goto fail;
	}
	if (get_key(ks, ks, "keys", "public", path, cfg->pub, err, errlen) ||
	    get_key(ks, ks, "keys", "secret", path, cfg->sec, err, errlen))
		goto fail;
	{
		char derived[KEY_Z85_BYTES];
		if (zmq_curve_public(derived, cfg->sec) == 0 &&
		    strcmp(derived, cfg->pub) != 0) {
			key_err(err, errlen, path, ks, "public", "keys",
			    "does not match keys.secret");
			goto fail;
		}
	}

	/* files */
	if (yt_get_strv(root, "follow", path, &cfg->follow, &cfg->nfollow, err,
	    errlen))
		goto fail;
	for (size_t i = 0; i < cfg->nfollow; i++) {
		size_t l = strlen(cfg->follow[i]);
		if (l == 0 || l > MAX_PATH_BYTES) {
			key_err(err, errlen, path, root, "follow", NULL,
			    "paths must be 1 to 1024 bytes");
			goto fail;
		}
	}
	if (yt_get_bool(root, "from_start", path, &cfg->from_start, err,
	    errlen))
		goto fail;

	/* journal: present (even empty) = read the systemd journal */
	cfg->journal = yt_map_get(root, "journal") != NULL;
	if (jn != NULL) {
		if (yt_get_strv(jn, "units", path, &cfg->journal_units,
		    &cfg->njournal_units, err, errlen) ||
		    yt_get_str(jn, "directory", path, &cfg->journal_dir, err,
		    errlen))
			goto fail;
		for (size_t i = 0; i < cfg->njournal_units; i++) {
			size_t l = strlen(cfg->journal_units[i]);
			if (l == 0 || l > MAX_UNIT_BYTES ||
			    strpbrk(cfg->journal_units[i], "= \t\n") != NULL) {
				key_err(err, errlen, path, jn, "units",
				    "journal", "unit names must be 1 to 256 "
				    "bytes without '=' or blanks");
				goto fail;
			}
		}
		if (cfg->journal_dir != NULL && (cfg->journal_dir[0] == '\0' ||
		    strlen(cfg->journal_dir) > MAX_PATH_BYTES)) {
			key_err(err, errlen, path, jn, "directory", "journal",
			    "must be 1 to 1024 bytes");
			goto fail;
		}
	}

	/* eventlog: present (even empty) = read the Windows Event Log */
	cfg->eventlog = yt_map_get(root, "eventlog") != NULL;
	if (cfg->eventlog && evt_config_load(ev, path, cfg, err, errlen) != 0)
		goto fail;

	/* batch, spool, heartbeat */
	v = cfg->batch_max;
	if (yt_get_u64(bt, "max_events", path, 1, MAX_BATCH_EVENTS, &v, err,
	    errlen))
		goto fail;
	cfg->batch_max = (uint32_t)v;
	v = cfg->batch_wait_us;
	if (yt_get_duration(bt, "max_wait", path, &v, err, errlen))
		goto fail;
	if (v > 3600ULL * 1000000) {
		key_err(err, errlen, path, bt, "max_wait", "batch",
		    "must be at most 1h");
		goto fail;
	}
	cfg->batch_wait_us = v;
	v = cfg->spool_max_bytes;
	if (yt_get_size(sp, "max_size", path, &v, err, errlen))
		goto fail;
	if (v < MIN_MAP_BYTES) {
		key_err(err, errlen, path, sp, "max_size", "spool",
		    "must be at least 64k");
		goto fail;
	}
	cfg->spool_max_bytes = v;
	v = cfg->heartbeat_us;
	if (yt_get_duration(root, "heartbeat", path, &v, err, errlen))
		goto fail;
	if (v < 100000 || v > 3600ULL * 1000000) {
		key_err(err, errlen, path, root, "heartbeat", NULL,
		    "must be from 100ms to 1h");
		goto fail;
	}
	cfg->heartbeat_us = v;

	yt_docs_free(&docs, ndocs);
	return 0;
fail:
	yt_docs_free(&docs, ndocs);
	agent_config_free(cfg);
	return rc;
}

/* ---- group configuration ---------------------------------------------------- */

void group_config_free(struct group_config *g)
{
	if (g == NULL)
		return;
	yt_strv_free(&g->follow, g->nfollow);
	yt_strv_free(&g->journal_units, g->njournal_units);
	memset(g, 0, sizeof(*g));
}

int group_config_parse(const char *name, const char *buf, size_t len,
    struct group_config *g, char *err, size_t errlen)
{
	static const char *const journal_keys[] = { "units", NULL };
	static const char *const spool_keys[] = { "max_size", NULL };
	const yt_node *root, *sp = NULL, *jn = NULL;
	const struct top_key top[] = {
		{ "follow", NULL, NULL },
		{ "journal", journal_keys, &jn },
		{ "spool", spool_keys, &sp },
	};
	yt_doc **docs = NULL;
	size_t ndocs = 0;
	unsigned long long v;
	int rc;

	memset(g, 0, sizeof(*g));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > MAX_GROUP_BYTES) {
		set_err(err, errlen, "%s:1:1: larger than %d bytes", name,
		    MAX_GROUP_BYTES);
		return TS_EPARSE;
	}
	rc = load_doc(name, NULL, buf, len, &docs, &ndocs, &root, err, errlen);
	if (rc != 0)
		goto fail;
	rc = TS_EPARSE;
	if (top_check(root, top, sizeof(top) / sizeof(top[0]), name, err,
	    errlen) != 0)
		goto fail;
	if (root == NULL)
		goto done;
	g->has_follow = yt_map_get(root, "follow") != NULL;
	if (yt_get_strv(root, "follow", name, &g->follow, &g->nfollow, err,
	    errlen))
		goto fail;
	for (size_t i = 0; i < g->nfollow; i++) {
		size_t l = strlen(g->follow[i]);
		if (l == 0 || l > MAX_PATH_BYTES) {
			key_err(err, errlen, name, root, "follow", NULL,
			    "paths must be 1 to 1024 bytes");
			goto fail;
		}
	}
	g->journal = yt_map_get(root, "journal") != NULL;
	if (jn != NULL) {
		if (yt_get_strv(jn, "units", name, &g->journal_units,
		    &g->njournal_units, err, errlen))
			goto fail;
		for (size_t i = 0; i < g->njournal_units; i++) {
			size_t l = strlen(g->journal_units[i]);
			if (l == 0 || l > MAX_UNIT_BYTES ||
			    strpbrk(g->journal_units[i], "= \t\n") != NULL) {
				key_err(err, errlen, name, jn, "units",
				    "journal", "unit names must be 1 to 256 "
				    "bytes without '=' or blanks");
				goto fail;
			}
		}
	}
	if (sp != NULL) {
		v = 0;
		if (yt_get_size(sp, "max_size", name, &v, err, errlen))
			goto fail;
		if (v != 0 && v < MIN_MAP_BYTES) {
			key_err(err, errlen, name, sp, "max_size", "spool",
			    "must be at least 64k");
			goto fail;
		}
		g->spool_max_bytes = v;
	}
done:
	yt_docs_free(&docs, ndocs);
	return 0;
fail:
	yt_docs_free(&docs, ndocs);
	group_config_free(g);
	return rc;
}

void group_config_apply(const struct agent_config *base,
    const struct group_config *g, struct agent_config *out)
{
	*out = *base;
	if (g == NULL)
		return;
	if (g->has_follow) {
		out->follow = g->follow;
		out->nfollow = g->nfollow;
	}
	if (g->journal) {
		out->journal = 1;
		out->journal_units = g->journal_units;
		out->njournal_units = g->njournal_units;
	}
	if (g->spool_max_bytes != 0)
		out->spool_max_bytes = g->spool_max_bytes;
}
