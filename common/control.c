/*
 * control.c - the CLI -> engine request queue (see control.h): a maildir of
 * JSON requests under DATADIR/control, answered by the engine in done/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/err.h"
#include "common/util.h"
#include "common/control.h"

/* Largest request or answer read (a drill scorecard is the big one). */
#define CONTROL_MAX_BYTES	(1024 * 1024)
/* Requests looked at per control_take call at most (max 0). */
#define CONTROL_MAX_TAKE	1024
/* Poll period of control_wait. */
#define CONTROL_POLL_US		20000

static unsigned control_counter;

/* Make DATADIR/control/{tmp,new,done}.  0 or TS_EIO. */
static int
control_dirs(const char *datadir)
{
	static const char *const sub[] = { "tmp", "new", "done" };
	int ret = 0;

	for (size_t i = 0; i < 3 && ret == 0; i++) {
		char *p = xasprintf("%s/control/%s", datadir, sub[i]);

		if (p == NULL)
			return TS_ENOMEM;
		ret = mkdir_p(p, 0700);
		free(p);
	}
	return ret;
}

/* A request ID is 16 hex digits, '-', digits, '-', digits. */
static int
control_id_ok(const char *id)
{
	size_t n = strlen(id), i;

	if (n < 20 || n >= CONTROL_ID_BYTES)
		return 0;
	for (i = 0; i < 16; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	if (id[16] != '-')
		return 0;
	for (i = 17; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return 0;
	return 1;
}

int
control_submit(const char *datadir, const char *json, size_t len,
    char id[CONTROL_ID_BYTES])
{
	char	*tmp = NULL, *dst = NULL;
	int	 fd = -1, ret;

	id[0] = '\0';
	if ((ret = control_dirs(datadir)) != 0)
		return ret;
	snprintf(id, CONTROL_ID_BYTES, "%016llx-%ld-%u",
	    (unsigned long long)now_us(), (long)getpid(), control_counter++);
	tmp = xasprintf("%s/control/tmp/%s", datadir, id);
	dst = xasprintf("%s/control/new/%s", datadir, id);
	if (tmp == NULL || dst == NULL) {
		ret = TS_ENOMEM;
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0) {
		ret = TS_EIO;
		goto out;
	}
	for (size_t off = 0; off < len; ) {
		ssize_t w = write(fd, json + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = TS_EIO;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		ret = TS_EIO;
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) != 0) {
		ret = TS_EIO;
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dst);
	return ret;
}

int
control_wait(const char *datadir, const char *id, uint64_t timeout_us,
    char **answer)
{
	char		*path;
	size_t		 len;
	uint64_t	 t0 = mono_us();
	int		 ret;

	*answer = NULL;
	if (!control_id_ok(id))
		return TS_EINVAL;
	if ((path = xasprintf("%s/control/done/%s", datadir, id)) == NULL)
		return TS_ENOMEM;
	for (;;) {
		ret = read_file(path, CONTROL_MAX_BYTES, answer, &len);
		if (ret == 0) {
			unlink(path);	/* the answer is read once */
			break;
		}
		if (access(path, F_OK) == 0 && ret != TS_ENOTFOUND) {
			ret = TS_EIO;
			break;
		}
		if (mono_us() - t0 >= timeout_us) {
			ret = TS_EAGAIN;
			break;
		}
		{
			struct timespec ts = { 0, CONTROL_POLL_US * 1000 };

			(void)nanosleep(&ts, NULL);
		}
	}
	free(path);
	return ret;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An error answer for a request that cannot be applied. */
static void
control_refuse(const char *datadir, const char *id, const char *why)
{
	json_t	*a = json_pack("{s:s, s:b, s:s}", "id", id, "ok", 0, "error",
	    why);
	char	*txt = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;

	if (txt != NULL)
		(void)control_done(datadir, id, txt, strlen(txt));
	free(txt);
	json_decref(a);
}

int
control_take(const char *datadir, size_t max,
    int (*cb)(const char *id, const char *json, size_t len, void *arg),
    void *arg)
{
	char		*dir;
	DIR		*dp;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 n = 0, cap = 0;
	int		 ret = 0;

	if ((dir = xasprintf("%s/control/new", datadir)) == NULL)
		return TS_ENOMEM;
	if ((dp = opendir(dir)) == NULL) {
		free(dir);
		return errno == ENOENT ? 0 : TS_EIO;
	}
	while ((de = readdir(dp)) != NULL && n < CONTROL_MAX_TAKE) {
		char *s;

		if (!control_id_ok(de->d_name))
			continue;
		if (n == cap) {
			size_t	 ncap = cap ? cap * 2 : 16;
			char	**nn = realloc(names, ncap * sizeof(*nn));

			if (nn == NULL) {
				ret = TS_ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		if ((s = strdup(de->d_name)) == NULL) {
			ret = TS_ENOMEM;
			break;
		}
		names[n++] = s;
	}
	closedir(dp);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n && ret == 0 && (max == 0 || i < max); i++) {
		char	*path = xasprintf("%s/%s", dir, names[i]), *buf = NULL;
		size_t	 len = 0;
		json_t	*root;
		int	 rc;

		if (path == NULL) {
			ret = TS_ENOMEM;
			break;
		}
		rc = read_file(path, CONTROL_MAX_BYTES, &buf, &len);
		free(path);
		if (rc == TS_ENOTFOUND)
			continue;
		root = rc == 0 ? json_loadb(buf, len, 0, NULL) : NULL;
		if (root == NULL || !json_is_object(root) ||
		    !json_is_string(json_object_get(root, "op"))) {
			control_refuse(datadir, names[i], rc == TS_ETOOBIG ?
			    "request too large" : "request is not a JSON "
			    "object with an \"op\"");
			json_decref(root);
			free(buf);
			continue;
		}
		json_decref(root);
		ret = cb(names[i], buf, len, arg);
		free(buf);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return ret;
}

int
control_done(const char *datadir, const char *id, const char *answer,
    size_t len)
{
	char	*done, *req;
	int	 ret;

	if (!control_id_ok(id))
		return TS_EINVAL;
	if ((ret = control_dirs(datadir)) != 0)
		return ret;
	done = xasprintf("%s/control/done/%s", datadir, id);
	req = xasprintf("%s/control/new/%s", datadir, id);
	if (done == NULL || req == NULL)
		ret = TS_ENOMEM;
	else if ((ret = write_file_atomic(done, answer, len, 0600)) == 0 &&
	    unlink(req) != 0 && errno != ENOENT)
		ret = TS_EIO;
	free(done);
	free(req);
	return ret;
}
