/*
 * output_jsonl.c - records appended to a JSON Lines file, one object a
 * line, rotated by size.
 *
 * Rotation: when the next line would take the file past max_size, the file
 * is closed and renamed PATH -> PATH.1 (PATH.1 -> PATH.2, ... up to PATH.keep,
 * the oldest removed), then PATH is opened anew.  A reader following PATH
 * by name (tail -F) sees every line once; a line is never split between
 * two files.  keep 0: the full file is removed instead of renamed.
 *
 * fsync policy (outputs.fsync): "batch" (default) fsyncs once per batch,
 * BEFORE the output's cursor is committed, so a line the cursor counts as
 * delivered is on disk; a crash may repeat the lines of the last batch.
 * "always" fsyncs after every line; "never" leaves it to the kernel (a
 * crash of the machine may lose the last lines; the cursor does not know).
 *
 * A full disk: a write that fails part-way (ENOSPC, EFBIG, EIO) is
 * truncated back to the end of the last whole line before the error is
 * returned, so the retry appends the whole line and never leaves half of
 * one in the file.  A failed fsync may have dropped the written pages (on
 * Linux the error is reported once and the pages are marked clean), so the
 * file is truncated back to where the last successful fsync left it and
 * the error returned: the outputs process does not advance the cursor and
 * sends those records again.  A file that does not end with a newline when
 * it is opened (a crash in the middle of a line) is cut back to its last
 * whole line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "common/util.h"
#include "outputs/outputs_int.h"

struct jsonl {
	int		 fd;
	uint64_t	 size;		/* bytes of whole lines in the file */
	uint64_t	 synced;	/* size at the last successful fsync */
	int		 dirty;		/* written since the last fsync */
	const struct output_config *cfg;
};

/* Read back this much at a time looking for the last newline. */
#define JSONL_TAIL_CHUNK	4096

int (*output_jsonl_fsync)(int fd) = fsync;

/* Cut the file back to `size` bytes (the end of a whole line).  0 or
 * TS_EIO (logged). */
static int jsonl_cut(struct jsonl *j, uint64_t size)
{
	if (ftruncate(j->fd, (off_t)size) != 0) {
		log_err("output %s: cannot truncate %s back to %llu bytes: %s",
		    j->cfg->name, j->cfg->path, (unsigned long long)size,
		    strerror(errno));
		return TS_EIO;
	}
	j->size = size;
	if (j->synced > size)
		j->synced = size;
	return 0;
}

/* Size of the file up to and including its last newline (0 if none). */
static int jsonl_whole_lines(int fd, uint64_t size, uint64_t *out)
{
	char buf[JSONL_TAIL_CHUNK];
	uint64_t end = size;

	while (end > 0) {
		size_t n = end > sizeof(buf) ? sizeof(buf) : (size_t)end;
		ssize_t r = pread(fd, buf, n, (off_t)(end - n));

		if (r != (ssize_t)n)
			return TS_EIO;
		for (size_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n') {
				*out = end - n + i;
				return 0;
			}
		end -= n;
	}
	*out = 0;
	return 0;
}

static int jsonl_reopen(struct jsonl *j)
{
	struct stat st;
	char *dir, *slash;

	dir = strdup(j->cfg->path);
	if (dir == NULL)
		return TS_ENOMEM;
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir_p(dir, 0750);
	}
	free(dir);
	j->fd = open(j->cfg->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	if (j->fd < 0) {
		log_warn("output %s: cannot open %s: %s", j->cfg->name,
		    j->cfg->path, strerror(errno));
		return TS_EIO;
	}
	if (fstat(j->fd, &st) != 0) {
		close(j->fd);
		j->fd = -1;
		return TS_EIO;
	}
	j->size = (uint64_t)st.st_size;
	if (j->size > 0) {
		uint64_t whole;

		if (jsonl_whole_lines(j->fd, j->size, &whole) != 0)
			goto fail;
		if (whole != j->size) {
			log_warn("output %s: %s ends with %llu bytes of a "
			    "partial line; removed", j->cfg->name, j->cfg->path,
			    (unsigned long long)(j->size - whole));
			if (jsonl_cut(j, whole) != 0)
				goto fail;
		}
	}
	j->synced = j->size;
	return 0;
fail:
	close(j->fd);
	j->fd = -1;
	return TS_EIO;
}

/* fsync; on failure cut the file back to the last synced size (the pages
 * written since may be gone) and return TS_EIO. */
static int jsonl_sync(struct jsonl *j)
{
	if (output_jsonl_fsync(j->fd) != 0) {
		log_warn("output %s: fsync %s: %s; %llu bytes written again",
		    j->cfg->name, j->cfg->path, strerror(errno),
		    (unsigned long long)(j->size - j->synced));
		(void)jsonl_cut(j, j->synced);
		j->dirty = 0;
		return TS_EIO;
	}
	j->synced = j->size;
	j->dirty = 0;
	return 0;
}

/* PATH.n (caller frees), NULL when out of memory. */
static char *rotated(const char *path, uint32_t n)
{
	return xasprintf("%s.%u", path, n);
}

static int jsonl_rotate(struct jsonl *j)
{
	uint32_t n;
	char *from, *to;
	int rc = 0;

	if (j->dirty && (rc = jsonl_sync(j)) != 0)
		return rc;	/* not rotated: the lines are sent again first */
	close(j->fd);
	j->fd = -1;
	j->dirty = 0;
	if (j->cfg->keep == 0) {
		if (unlink(j->cfg->path) != 0 && errno != ENOENT)
			return TS_EIO;
		return jsonl_reopen(j);
	}
	for (n = j->cfg->keep; n >= 1; n--) {
		to = rotated(j->cfg->path, n);
		from = n == 1 ? strdup(j->cfg->path) :
		    rotated(j->cfg->path, n - 1);
		if (to == NULL || from == NULL) {
			free(to);
			free(from);
			return TS_ENOMEM;
		}
		if (rename(from, to) != 0 && errno != ENOENT) {
			log_warn("output %s: rename %s: %s", j->cfg->name, from,
			    strerror(errno));
			rc = TS_EIO;
		}
		free(to);
		free(from);
		if (rc != 0)
			return rc;
	}
	log_info("output %s: rotated %s", j->cfg->name, j->cfg->path);
	return jsonl_reopen(j);
}

static int jsonl_open(const struct output_config *cfg, void **impl)
{
	struct jsonl *j = calloc(1, sizeof(*j));
	int rc;

	if (j == NULL)
		return TS_ENOMEM;
	j->cfg = cfg;
	j->fd = -1;
	if ((rc = jsonl_reopen(j)) != 0) {
		free(j);
		return rc;
	}
	*impl = j;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return TS_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int jsonl_send(void *impl, const struct output_config *cfg, int kind,
    json_t *rec)
{
	struct jsonl *j = impl;
	char *s = NULL;
	size_t len;
	int rc;

	(void)kind;
	if ((rc = output_format_json(rec, &s, &len)) != 0)
		return rc;
	s[len] = '\n';	/* json_dumps left room: the NUL becomes the newline */
	if (j->size > 0 && j->size + len + 1 > cfg->max_bytes &&
	    (rc = jsonl_rotate(j)) != 0)
		goto out;
	if ((rc = write_all(j->fd, s, len + 1)) != 0) {
		log_warn("output %s: write %s: %s", cfg->name, cfg->path,
		    strerror(errno));
		/* Part of the line may be in the file: cut it off. */
		(void)jsonl_cut(j, j->size);
		goto out;
	}
	j->size += len + 1;
	j->dirty = 1;
	if (cfg->fsync == OUTPUT_FSYNC_ALWAYS)
		rc = jsonl_sync(j);
out:
	free(s);
	return rc;
}

static int jsonl_flush(void *impl)
{
	struct jsonl *j = impl;

	if (j->dirty && j->cfg->fsync == OUTPUT_FSYNC_BATCH)
		return jsonl_sync(j);
	j->dirty = 0;
	return 0;
}

static void jsonl_close(void **impl)
{
	struct jsonl *j = *impl;

	if (j == NULL)
		return;
	if (j->fd >= 0) {
		if (j->dirty && j->cfg->fsync != OUTPUT_FSYNC_NEVER)
			(void)jsonl_sync(j);
		close(j->fd);
	}
	free(j);
	*impl = NULL;
}

const struct output_ops output_jsonl_ops = {
	jsonl_open, jsonl_send, jsonl_flush, jsonl_close
};
