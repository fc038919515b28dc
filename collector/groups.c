/*
 * groups.c - the groups' central configuration: DIR/NAME.yml per group,
 * parsed (common/config.h group_config_parse) and kept as text with its
 * version, re-read when the file changes.  See collector_int.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "collector/collector_int.h"
#include "common/config.h"
#include "common/err.h"
#include "common/names.h"
#include "common/util.h"

struct gentry {
	char		 name[MAX_NAME_BYTES + 1];
	/* the file as last seen (all 0: absent) */
	uint64_t	 dev, ino, size;
	int64_t		 mtime_s, mtime_ns;
	int		 seen;
	char		 version[MAX_CONFIG_VERSION_BYTES + 1];
	char		 error[512];
	char		*text;
	size_t		 len;
	uint64_t	 gen;
};

struct groupconf {
	char		*dir;
	struct gentry	*e;
	size_t		 n, cap;
};

groupconf_t *groupconf_open(const char *dir)
{
	groupconf_t *g = calloc(1, sizeof(*g));

	if (g == NULL || (g->dir = strdup(dir)) == NULL) {
		free(g);
		return NULL;
	}
	return g;
}

void groupconf_free(groupconf_t **gp)
{
	groupconf_t *g = gp ? *gp : NULL;

	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->e[i].text);
	free(g->e);
	free(g->dir);
	free(g);
	*gp = NULL;
}

/* Version of a text: 16 hex digits of its BLAKE2b hash. */
static void text_version(const char *text, size_t len, char *out)
{
	unsigned char h[8];

	crypto_generichash(h, sizeof(h), (const unsigned char *)text, len,
	    NULL, 0);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* Look at the file of e again; re-read it when it changed.  1 when what
 * the group sends changed. */
static int entry_refresh(groupconf_t *g, struct gentry *e, uint64_t *loaded,
    uint64_t *refused)
{
	struct stat st;
	char *path, *text = NULL, err[sizeof(e->error)];
	char ver[MAX_CONFIG_VERSION_BYTES + 1];
	struct group_config gc;
	size_t len = 0;
	int rc;

	if ((path = xasprintf("%s/%s.yml", g->dir, e->name)) == NULL)
		return 0;
	if (stat(path, &st) != 0) {
		int was = e->seen;

		if (!was) {
			free(path);
			return 0;
		}
		/* removed: the group has no central configuration now (its
		 * agents keep what they run) */
		e->seen = 0;
		e->dev = e->ino = e->size = 0;
		e->mtime_s = e->mtime_ns = 0;
		if (e->version[0] != '\0' || e->error[0] != '\0')
			log_info("collector: group %s: %s removed (its agents "
			    "keep what they run)", e->name, path);
		free(path);
		return 0;
	}
	if (e->seen && e->dev == (uint64_t)st.st_dev &&
	    e->ino == (uint64_t)st.st_ino &&
	    e->size == (uint64_t)st.st_size &&
	    e->mtime_s == (int64_t)st.st_mtim.tv_sec &&
	    e->mtime_ns == (int64_t)st.st_mtim.tv_nsec) {
		free(path);
		return 0;
	}
	e->seen = 1;
	e->dev = (uint64_t)st.st_dev;
	e->ino = (uint64_t)st.st_ino;
	e->size = (uint64_t)st.st_size;
	e->mtime_s = (int64_t)st.st_mtim.tv_sec;
	e->mtime_ns = (int64_t)st.st_mtim.tv_nsec;
	rc = read_file(path, MAX_GROUP_BYTES, &text, &len);
	if (rc == 0)
		rc = group_config_parse(path, text, len, &gc, err,
		    sizeof(err));
	else
		snprintf(err, sizeof(err), "%s:1:1: cannot read (%s; at most "
		    "%d bytes)", path, ts_strerror(rc), MAX_GROUP_BYTES);
	if (rc != 0) {
		(*refused)++;
		log_err("collector: group %s: %s; refused as a whole, its "
		    "agents keep %s%s", e->name, err, e->version[0] ?
		    "version " : "their own configuration", e->version);
		free(text);
		free(path);
		if (strcmp(err, e->error) == 0)
			return 0;
		snprintf(e->error, sizeof(e->error), "%s", err);
		e->gen++;
		return 1;
	}
	group_config_free(&gc);
	(*loaded)++;
	text_version(text, len, ver);
	free(path);
	if (e->error[0] == '\0' && strcmp(ver, e->version) == 0) {
		free(text);
		return 0;
	}
	log_info("collector: group %s: configuration version %s loaded",
	    e->name, ver);
	free(e->text);
	e->text = text;
	e->len = len;
	snprintf(e->version, sizeof(e->version), "%s", ver);
	e->error[0] = '\0';
	e->gen++;
	return 1;
}

int groupconf_get(groupconf_t *g, const char *group,
    struct groupconf_view *out)
{
	struct gentry *e = NULL;
	uint64_t l = 0, r = 0;

	if (!name_valid_str(NAME_AGENT, group))
		return TS_EINVAL;
	for (size_t i = 0; i < g->n && e == NULL; i++)
		if (strcmp(g->e[i].name, group) == 0)
			e = &g->e[i];
	if (e == NULL) {
		if (g->n == MAX_GROUPS)
			return TS_EFULL;
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 16;
			struct gentry *ne = realloc(g->e, cap * sizeof(*ne));

			if (ne == NULL)
				return TS_ENOMEM;
			g->e = ne;
			g->cap = cap;
		}
		e = &g->e[g->n++];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", group);
		e->gen = 1;
		(void)entry_refresh(g, e, &l, &r);
	}
	out->version = e->version;
	out->error = e->error;
	out->text = e->text;
	out->len = e->len;
	out->gen = e->gen;
	return 0;
}

size_t groupconf_tick(groupconf_t *g, uint64_t *loaded, uint64_t *refused)
{
	size_t changed = 0;

	for (size_t i = 0; i < g->n; i++)
		changed += (size_t)entry_refresh(g, &g->e[i], loaded, refused);
	return changed;
}
