/*
 * follow.c - follow log files like `tail -F` and spool their lines.
 *
 * Polling only (the platform layer's path and file identity, positional
 * reads; see platform.h): it works the same on every file system,
 * and the agent's main loop calls follow_poll every FOLLOW_POLL_US or at
 * once while a file has unread data.
 *
 *  - A file is read from its stored offset; with no stored offset from its
 *    end (from_start: from its start).  A file that appears after start-up
 *    is read from its start.
 *  - Rotation by rename (the path now names another inode): the old file is
 *    read to its end; once it stayed FOLLOW_ROTATE_GRACE_US without growth,
 *    its last partial line (if any) is shipped and the new file is read from
 *    its start.  An agent that was down during a rotation finds the old file
 *    as PATH.1 (the usual logrotate name) when its inode matches.
 *  - Truncation / copy-truncate: a file shorter than the offset, or whose
 *    first FOLLOW_HEAD_BYTES changed, is read again from its start.
 *  - A partial last line is held until its newline arrives.
 *  - Lines longer than MAX_LINE_BYTES are capped and flagged EV_TRUNCATED;
 *    the rest of such a line is skipped up to its newline.
 *  - Control bytes and invalid UTF-8 are kept as bytes and flagged.
 *  - Encodings: UTF-8 (a byte-order mark at the start is skipped) and
 *    UTF-16 (little- or big-endian, told by its byte-order mark, or
 *    little-endian ASCII text without one, as Windows programs write it):
 *    UTF-16 lines are found by their U+000A and shipped converted to UTF-8
 *    (unpaired surrogates become U+FFFD and the line is flagged
 *    EV_BADUTF8).  Offsets stay byte offsets in the file.
 *  - The lines read from a file in one poll (several chunks, up to the
 *    line budget) are spooled together with the file's new offset in one
 *    spool transaction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agents/agent_int.h"
#include "agents/platform.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

/* Bytes read per chunk (one spool transaction each); holds a full capped
 * line plus its "\r\n" several times over. */
#define FOLLOW_BUF_BYTES	(4 * MAX_LINE_BYTES)
/* Longest run of bytes that can still be one line within the cap. */
#define FOLLOW_LINE_SPAN	(MAX_LINE_BYTES + 2)

struct ffile {
	char		*path;
	size_t		 path_len;
	plat_file_t	*fd;		/* open file or NULL */
	int		 have_st;	/* st holds a stored/committed offset */
	struct spool_offset st;		/* committed position in fd's file */
	int		 initial;	/* not yet opened since start-up */
	int		 rotated;	/* path names another file: drain fd */
	uint64_t	 idle_since;	/* rotated: mono time without growth */
	int		 dirty;		/* st changed without a commit */
	int		 missing_logged;
	int		 err_logged;
	int		 evtx_refused;	/* an .evtx file: to count once */
	int		 enc;		/* ENC_*, from the file's first bytes */
	size_t		 bom;		/* bytes of byte-order mark at 0 */
	int		 utf32;		/* UTF-32 byte-order mark: not decoded */
	int		 enc_warned;	/* bad-encoding warning logged */
};

enum { ENC_UTF8, ENC_UTF16LE, ENC_UTF16BE };

struct follower {
	spool_t		*sp;
	struct ffile	*files;
	size_t		 nfiles;
	size_t		 next_first;	/* file polled first next time */
	int		 from_start;
	char		*buf;
	char		*conv;		/* a UTF-16 line as UTF-8 (FOLLOW_CONV_BYTES) */
	struct follow_stats stats;
};

/* A UTF-16 line of up to FOLLOW_LINE_SPAN units as UTF-8: at most 3 bytes
 * a unit (a surrogate pair, 2 units, is 4 bytes). */
#define FOLLOW_CONV_BYTES	(3 * FOLLOW_LINE_SPAN + 4)


uint16_t follow_line_flags(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint16_t flags = 0;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		if (len - i >= 8) {
			/* Fast path: 8 printable ASCII bytes (no byte with
			 * the high bit, below 0x20 or equal to 0x7f). */
			uint64_t w, lo, del;
			memcpy(&w, p + i, 8);
			lo = (w - 0x2020202020202020ULL) & ~w &
			    0x8080808080808080ULL;
			del = ((w ^ 0x7f7f7f7f7f7f7f7fULL) -
			    0x0101010101010101ULL) &
			    ~(w ^ 0x7f7f7f7f7f7f7f7fULL) & 0x8080808080808080ULL;
			if (((w & 0x8080808080808080ULL) | lo | del) == 0) {
				i += 8;
				continue;
			}
		}
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				flags |= EV_CTRL;
			i++;
			continue;
		}
		size_t n;
		unsigned min;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; min = 0x80; }
		else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; min = 0x800; }
		else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; min = 0x10000; }
		else { flags |= EV_BADUTF8; i++; continue; }
		if (n > len - i - 1) {
			flags |= EV_BADUTF8;
			break;
		}
		size_t k;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (k <= n || cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			flags |= EV_BADUTF8;
			i++;
			continue;
		}
		if (cp >= 0x80 && cp < 0xa0)
			flags |= EV_CTRL;	/* C1 controls */
		i += n + 1;
	}
	return flags;
}

/* Where to cut a capped line so that it does not end inside a UTF-8
 * sequence (the cap alone would make a valid line look invalid). */
static size_t utf8_cut(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t j = len, need;

	while (j > 0 && len - j < 3 && (p[j - 1] & 0xc0) == 0x80)
		j--;
	if (j == 0 || p[j - 1] < 0xc0)
		return len;
	need = p[j - 1] >= 0xf0 ? 4 : p[j - 1] >= 0xe0 ? 3 : 2;
	return len - (j - 1) < need ? j - 1 : len;
}

static uint64_t hash_fnv1a(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Read exactly up to len bytes (fewer only at EOF).  Bytes read or -1. */
static ssize_t pread_full(plat_file_t *fd, char *buf, size_t len, uint64_t off)
{
	return (ssize_t)plat_file_pread(fd, buf, len, off);
}

/* Bytes of one code unit of ff's encoding. */
static size_t enc_unit(const struct ffile *ff)
{
	return ff->enc == ENC_UTF8 ? 1 : 2;
}

/* Tell ff's encoding from the first bytes of its file (logged when it is
 * not plain UTF-8). */
static void enc_detect(struct ffile *ff, plat_file_t *fd)
{
	unsigned char b[4];
	ssize_t r = pread_full(fd, (char *)b, sizeof(b), 0);
	int old = ff->enc;

	ff->enc = ENC_UTF8;
	ff->bom = 0;
	ff->utf32 = 0;
	if (r == 4 && ((b[0] == 0xff && b[1] == 0xfe && b[2] == 0 &&
	    b[3] == 0) || (b[0] == 0 && b[1] == 0 && b[2] == 0xfe &&
	    b[3] == 0xff))) {
		/* UTF-32 (little- or big-endian): not decoded, its lines
		 * are split at 0x0A bytes and shipped as they are */
		ff->utf32 = 1;
		if (!ff->enc_warned) {
			ff->enc_warned = 1;
			log_warn("follow: %s starts with a UTF-32 byte-order "
			    "mark; UTF-32 is not decoded: its lines are shipped "
			    "as raw bytes, flagged, and counted in "
			    "lines_bad_encoding", ff->path);
		}
	} else if (r >= 2 && b[0] == 0xff && b[1] == 0xfe) {
		ff->enc = ENC_UTF16LE;
		ff->bom = 2;
	} else if (r >= 2 && b[0] == 0xfe && b[1] == 0xff) {
		ff->enc = ENC_UTF16BE;
		ff->bom = 2;
	} else if (r >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) {
		ff->bom = 3;
	} else if (r == 4 && b[0] != 0 && b[0] < 0x80 && b[1] == 0 &&
	    b[2] != 0 && b[2] < 0x80 && b[3] == 0) {
		ff->enc = ENC_UTF16LE;	/* ASCII text in UTF-16LE, no BOM */
	}
	if (ff->enc != old && ff->enc != ENC_UTF8)
		log_info("follow: %s is UTF-16 (%s%s): its lines are shipped "
		    "as UTF-8", ff->path, ff->enc == ENC_UTF16LE ?
		    "little-endian" : "big-endian", ff->bom ? "" :
		    ", without byte-order mark");
}

/* Offset of the first line end in p[0..len) (a '\n' byte, or a U+000A
 * code unit at an even offset), or SIZE_MAX. */
static size_t find_nl(const struct ffile *ff, const char *p, size_t len)
{
	const char *nl;

	if (ff->enc == ENC_UTF8) {
		nl = memchr(p, '\n', len);
		return nl ? (size_t)(nl - p) : SIZE_MAX;
	}
	for (size_t i = 0; i + 1 < len; i += 2) {
		unsigned char lo = (unsigned char)p[i + (ff->enc == ENC_UTF16BE)];
		unsigned char hi = (unsigned char)p[i + (ff->enc == ENC_UTF16LE)];
		if (lo == '\n' && hi == 0)
			return i;
	}
	return SIZE_MAX;
}

/* Convert n bytes of UTF-16 (a whole number of units) into out (room for
 * FOLLOW_CONV_BYTES); *bad set if a surrogate was unpaired.  Bytes out. */
static size_t utf16_to_utf8(int be, const unsigned char *p, size_t n,
    char *out, int *bad)
{
	size_t o = 0;

	*bad = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t c = be ? ((uint32_t)p[i] << 8 | p[i + 1]) :
		    ((uint32_t)p[i + 1] << 8 | p[i]);

		if (c >= 0xd800 && c <= 0xdbff && i + 3 < n) {
			uint32_t d = be ? ((uint32_t)p[i + 2] << 8 | p[i + 3]) :
			    ((uint32_t)p[i + 3] << 8 | p[i + 2]);
			if (d >= 0xdc00 && d <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
				i += 2;
			}
		}
		if (c >= 0xd800 && c <= 0xdfff) {
			c = 0xfffd;
			*bad = 1;
		}
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | c >> 18);
			out[o++] = (char)(0x80 | ((c >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	return o;
}

/* Hash the first min(size, FOLLOW_HEAD_BYTES) bytes of fd into o. */
static int head_compute(plat_file_t *fd, uint64_t size, struct spool_offset *o)
{
	char b[FOLLOW_HEAD_BYTES];
	size_t want = size < FOLLOW_HEAD_BYTES ? (size_t)size : FOLLOW_HEAD_BYTES;
	ssize_t r = pread_full(fd, b, want, 0);

	if (r < 0)
		return TS_EIO;
	o->head_len = (uint32_t)r;
	o->head_hash = hash_fnv1a(b, (size_t)r);
	return 0;
}

/* 1 if the file still starts with the bytes o's head was computed from. */
static int head_matches(plat_file_t *fd, const struct spool_offset *o)
{
	char b[FOLLOW_HEAD_BYTES];
	ssize_t r;

	if (o->head_len == 0)
		return 1;
	if (o->head_len > FOLLOW_HEAD_BYTES)
		return 0;
	r = pread_full(fd, b, o->head_len, 0);
	return r == (ssize_t)o->head_len &&
	    hash_fnv1a(b, o->head_len) == o->head_hash;
}

/* Where to start a file read "from its end": just after its last newline
 * when that is near the end, so a line being written ships whole. */
static void start_at_end(follower_t *f, const struct ffile *ff,
    plat_file_t *fd, uint64_t size, struct spool_offset *o)
{
	size_t unit = enc_unit(ff), span = FOLLOW_LINE_SPAN * unit, win;
	uint64_t end;
	ssize_t r;

	o->offset = size;
	o->skip = 0;
	if (size <= ff->bom) {
		o->offset = 0;
		return;
	}
	/* the end of the last whole code unit */
	end = ff->bom + (size - ff->bom) / unit * unit;
	win = end - ff->bom < span ? (size_t)(end - ff->bom) : span;
	o->offset = end;
	if (win == 0)
		return;
	r = pread_full(fd, f->buf, win, end - win);
	if (r != (ssize_t)win)
		return;
	for (size_t i = win; i >= unit; i -= unit) {
		if (find_nl(ff, f->buf + i - unit, unit) == 0) {
			o->offset = end - win + i;
			return;
		}
	}
	if (end - win > ff->bom)
		o->skip = 1;	/* mid-way through an over-long line */
	else
		o->offset = 0;	/* the whole file is one line in progress */
}

/* An .evtx file starts with "ElfFile\0": binary records, never lines. */
static int is_evtx(plat_file_t *fd)
{
	char sig[8];

	return pread_full(fd, sig, sizeof(sig), 0) == (ssize_t)sizeof(sig) &&
	    memcmp(sig, "ElfFile\0", 8) == 0;
}

static int file_open_fd(struct ffile *ff, const char *path, plat_file_t **fdp,
    struct plat_file_info *sb)
{
	plat_file_t *fd;
	int rc = plat_file_open(path, &fd);

	if (rc == TS_ENOTFOUND || rc == TS_EIO || rc == TS_ENOMEM)
		return rc == TS_ENOMEM ? TS_EIO : rc;
	if (rc != 0 || plat_file_info(fd, sb) != 0) {
		if (!ff->err_logged)
			log_warn("follow: %s is not a regular file", ff->path);
		ff->err_logged = 1;
		plat_file_close(&fd);
		return TS_EINVAL;
	}
	if (is_evtx(fd)) {
		if (!ff->err_logged)
			ff->evtx_refused = 1;
		if (!ff->err_logged)
			log_warn("follow: %s is a Windows event log file (.evtx), "
			    "not a text log: it is not followed (convert a copy "
			    "with `tocsin record --from-evtx`, or test it with "
			    "`tocsin rules test`)", ff->path);
		ff->err_logged = 1;
		plat_file_close(&fd);
		return TS_EINVAL;
	}
	*fdp = fd;
	return 0;
}

/* 1 if fd (with stat sb) is the file o describes, at a valid offset. */
static int offset_fits(plat_file_t *fd, const struct plat_file_info *sb,
    const struct spool_offset *o)
{
	return o->dev == sb->dev && o->ino == sb->ino &&
	    sb->size >= o->offset && head_matches(fd, o);
}

/*
 * Open ff's path and decide where to start reading it.  Returns 0, or
 * TS_ENOTFOUND when the file does not exist (yet).
 */
static int file_open(follower_t *f, struct ffile *ff)
{
	struct plat_file_info sb, sb1;
	struct spool_offset o;
	plat_file_t *fd = NULL, *fd1 = NULL;
	int rc, initial = ff->initial;
	char *old = NULL;

	rc = file_open_fd(ff, ff->path, &fd, &sb);
	if (rc != 0) {
		if (rc == TS_ENOTFOUND && !ff->missing_logged) {
			log_info("follow: %s does not exist (yet); waiting for it",
			    ff->path);
			ff->missing_logged = 1;
		} else if (rc == TS_EINVAL && ff->evtx_refused) {
			ff->evtx_refused = 0;
			f->stats.read_errors++;	/* counted once */
		} else if (rc == TS_EIO && !ff->err_logged) {
			log_warn("follow: cannot open %s: %s", ff->path,
			    plat_error());
			ff->err_logged = 1;
			f->stats.read_errors++;
		}
		/* Appearing later means "new": read it from its start. */
		ff->initial = 0;
		return TS_ENOTFOUND;
	}
	ff->missing_logged = ff->err_logged = 0;
	ff->initial = 0;
	memset(&o, 0, sizeof(o));
	if (ff->have_st && offset_fits(fd, &sb, &ff->st)) {
		enc_detect(ff, fd);
		ff->fd = fd;
		log_info("follow: %s: resuming at offset %llu", ff->path,
		    (unsigned long long)ff->st.offset);
		return 0;
	}
	if (ff->have_st && initial &&
	    (old = xasprintf("%s.1", ff->path)) != NULL &&
	    file_open_fd(ff, old, &fd1, &sb1) == 0) {
		if (offset_fits(fd1, &sb1, &ff->st)) {
			/* Rotated while we were down: finish the old file. */
			log_info("follow: %s: rotated while stopped; finishing "
			    "%s from offset %llu", ff->path, old,
			    (unsigned long long)ff->st.offset);
			plat_file_close(&fd);
			enc_detect(ff, fd1);
			ff->fd = fd1;
			ff->rotated = 1;
			ff->idle_since = 0;
			f->stats.rotations++;
			free(old);
			return 0;
		}
		plat_file_close(&fd1);
	}
	free(old);
	enc_detect(ff, fd);
	o.dev = sb.dev;
	o.ino = sb.ino;
	if (head_compute(fd, sb.size, &o) != 0) {
		plat_file_close(&fd);
		f->stats.read_errors++;
		return TS_EIO;
	}
	if (initial && !ff->have_st && !f->from_start)
		start_at_end(f, ff, fd, sb.size, &o);
	if (ff->have_st)
		log_info("follow: %s is a new file; reading it from the start",
		    ff->path);
	else
		log_info("follow: %s: following from offset %llu", ff->path,
		    (unsigned long long)o.offset);
	ff->fd = fd;
	ff->st = o;
	ff->have_st = 1;
	ff->dirty = 1;
	return 0;
}

/* Count a line of ff that is not text in an encoding the follower knows
 * (invalid UTF-8 such as Latin-1, bad UTF-16, UTF-32, NUL bytes of binary
 * data); warn once per file. */
static void bad_encoding(follower_t *f, struct ffile *ff, int nul)
{
	f->stats.bad_encoding++;
	if (ff->enc_warned)
		return;
	ff->enc_warned = 1;
	log_warn("follow: %s: line not valid %s (%s); such lines are shipped "
	    "as they are, flagged, and counted in lines_bad_encoding "
	    "(warned once for this file)", ff->path,
	    ff->enc == ENC_UTF8 ? "UTF-8" : "UTF-16",
	    nul ? "NUL bytes: binary data, or text in UTF-16/UTF-32 that "
	    "was not recognised" : ff->enc == ENC_UTF8 ? "another "
	    "encoding, such as Latin-1 or Windows-1252?" : "unpaired "
	    "surrogates");
}

/* Spool one line of ff (bytes of its encoding; UTF-16 is converted);
 * counts it.  0 or TS_EFULL / TS_EDB. */
static int emit_line(follower_t *f, struct ffile *ff, uint64_t t,
    const char *p, size_t len, uint16_t flags)
{
	int rc, nul;

	if (ff->enc != ENC_UTF8) {
		int bad;

		if (len > FOLLOW_LINE_SPAN * 2)
			len = FOLLOW_LINE_SPAN * 2;
		len = utf16_to_utf8(ff->enc == ENC_UTF16BE,
		    (const unsigned char *)p, len & ~(size_t)1, f->conv, &bad);
		p = f->conv;
		if (bad)
			flags |= EV_BADUTF8;
	}

	if (len > 0 && p[len - 1] == '\r' && !(flags & EV_TRUNCATED))
		len--;
	if (len > MAX_LINE_BYTES) {
		len = MAX_LINE_BYTES;
		flags |= EV_TRUNCATED;
	}
	if (flags & EV_TRUNCATED)
		len = utf8_cut(p, len);
	flags |= follow_line_flags(p, len);
	nul = len > 0 && memchr(p, '\0', len) != NULL;
	rc = spool_append(f->sp, t, flags, ff->path, ff->path_len, p, len,
	    NULL);
	if (rc != 0)
		return rc;
	if (ff->utf32 || nul || (flags & EV_BADUTF8))
		bad_encoding(f, ff, nul);
	f->stats.lines++;
	f->stats.bytes += len;
	if (flags & EV_TRUNCATED)
		f->stats.truncated++;
	return 0;
}

/* Commit ff's offset alone (open, truncation, skipped bytes). */
static int file_save(follower_t *f, struct ffile *ff)
{
	int rc;

	if (!ff->dirty)
		return 0;
	if ((rc = spool_begin(f->sp)) != 0)
		return rc;
	if ((rc = spool_offset_put(f->sp, ff->path, &ff->st)) != 0) {
		spool_abort(f->sp);
		return rc;
	}
	if ((rc = spool_commit(f->sp)) != 0)
		return rc;
	ff->dirty = 0;
	return 0;
}

/*
 * Read ff from its offset: the complete lines of as many chunks as the
 * budget allows and the new offset go into one transaction.  At most
 * *budget lines (decremented).  *grew is set when bytes were consumed.
 * 0, TS_EFULL (spool cap: stop), TS_EDB, TS_EIO (what was read before the
 * error is committed).
 */
static int file_read(follower_t *f, struct ffile *ff, size_t *budget,
    int *grew, int *more)
{
	struct spool_offset o = ff->st;
	int rc, full = 0, in_txn = 0, consumed = 0, read_err = 0;
	size_t unit = enc_unit(ff), span = FOLLOW_LINE_SPAN * unit;

	for (;;) {
		ssize_t have;
		size_t pos = 0, end;
		uint64_t t;

		if (*budget == 0) {
			*more = 1;
			break;
		}
		have = pread_full(ff->fd, f->buf, FOLLOW_BUF_BYTES, o.offset);
		if (have < 0) {
			if (!ff->err_logged)
				log_warn("follow: read %s: %s", ff->path,
				    plat_error());
			ff->err_logged = 1;
			f->stats.read_errors++;
			read_err = 1;
			break;
		}
		if (have == 0)
			break;
		if (!in_txn) {
			if ((rc = spool_begin(f->sp)) != 0)
				return rc;
			in_txn = 1;
		}
		t = now_us();
		/* UTF-16: a half code unit at the end waits for its other
		 * byte; a byte-order mark at the start is no text */
		end = (size_t)have / unit * unit;
		if (o.offset == 0 && ff->bom > 0 && end >= ff->bom)
			pos = ff->bom;
		while (pos < end && *budget > 0) {
			size_t rem = end - pos, k;
			const char *p = f->buf + pos;

			if (o.skip) {
				k = find_nl(ff, p, rem);
				if (k == SIZE_MAX) {
					pos = end;
					break;
				}
				pos += k + unit;
				o.skip = 0;
				continue;
			}
			k = find_nl(ff, p, rem < span ? rem : span);
			if (k != SIZE_MAX) {
				rc = emit_line(f, ff, t, p, k, 0);
				if (rc == TS_EFULL) {
					full = 1;
					break;
				}
				if (rc != 0)
					goto fail;
				pos += k + unit;
				(*budget)--;
			} else if (rem >= span) {
				/* Over-long line: ship its start, skip the rest. */
				rc = emit_line(f, ff, t, p, MAX_LINE_BYTES * unit,
				    EV_TRUNCATED);
				if (rc == TS_EFULL) {
					full = 1;
					break;
				}
				if (rc != 0)
					goto fail;
				pos += MAX_LINE_BYTES * unit;
				o.skip = 1;
				(*budget)--;
			} else {
				break;	/* partial line: hold it */
			}
		}
		o.offset += pos;
		if (pos > 0)
			consumed = 1;
		if (full)
			break;
		if (*budget == 0) {
			*more = 1;
			break;
		}
		if (pos == 0 || (size_t)have < FOLLOW_BUF_BYTES)
			break;	/* EOF: at most a partial line is left */
	}
	if (!consumed) {
		if (in_txn)
			spool_abort(f->sp);
		if (full) {
			f->stats.spool_full++;
			return TS_EFULL;
		}
		if ((rc = file_save(f, ff)) != 0)
			return rc;
		return read_err ? TS_EIO : 0;
	}
	if (o.head_len < FOLLOW_HEAD_BYTES) {
		/* The head was short: extend it now that there is more. */
		struct plat_file_info sb;
		if (plat_file_info(ff->fd, &sb) == 0 &&
		    sb.size > o.head_len &&
		    head_compute(ff->fd, sb.size, &o) != 0)
			o.head_len = ff->st.head_len;
	}
	if ((rc = spool_offset_put(f->sp, ff->path, &o)) != 0)
		goto fail;
	if ((rc = spool_commit(f->sp)) != 0)
		return rc;
	ff->st = o;
	ff->dirty = 0;
	*grew = 1;
	if (full) {
		f->stats.spool_full++;
		return TS_EFULL;
	}
	return read_err ? TS_EIO : 0;
fail:
	spool_abort(f->sp);
	return rc;
}

/* The old file of a rotation is finished: ship its held partial line and
 * close it. */
static int file_finish(follower_t *f, struct ffile *ff)
{
	size_t unit = enc_unit(ff);
	ssize_t have;
	int rc = 0;

	have = pread_full(ff->fd, f->buf, FOLLOW_LINE_SPAN * unit,
	    ff->st.offset);
	if (have > 0 && !ff->st.skip) {
		if ((rc = spool_begin(f->sp)) != 0)
			return rc;
		rc = emit_line(f, ff, now_us(), f->buf, (size_t)have,
		    (size_t)have > MAX_LINE_BYTES * unit ? EV_TRUNCATED : 0);
		if (rc != 0) {
			spool_abort(f->sp);
			if (rc == TS_EFULL)
				f->stats.spool_full++;
			return rc;
		}
		/* The offset of the path is rewritten when the new file opens;
		 * until then it names the old file, fully read. */
		ff->st.offset += (uint64_t)have;
		if ((rc = spool_offset_put(f->sp, ff->path, &ff->st)) != 0) {
			spool_abort(f->sp);
			return rc;
		}
		if ((rc = spool_commit(f->sp)) != 0)
			return rc;
	}
	plat_file_close(&ff->fd);
	ff->rotated = 0;
	ff->have_st = 0;
	ff->initial = 0;
	return 0;
}

static int file_poll(follower_t *f, struct ffile *ff, size_t *budget,
    int *more)
{
	struct plat_file_info sb, fsb;
	int rc, grew = 0;

	if (ff->fd == NULL) {
		if (file_open(f, ff) != 0)
			return 0;	/* missing or unreadable: try again later */
	} else if (!ff->rotated) {
		/* Only a path that no longer exists or names another file
		 * means rotation; a transient error (EACCES, EIO) does not. */
		int gone = 0;

		rc = plat_path_info(ff->path, &sb);
		if (rc == TS_ENOTFOUND)
			gone = 1;
		else if (rc == 0 && (sb.ino != ff->st.ino ||
		    sb.dev != ff->st.dev))
			gone = 1;
		if (gone) {
			log_info("follow: %s was rotated or removed; finishing "
			    "the old file", ff->path);
			ff->rotated = 1;
			ff->idle_since = 0;
			f->stats.rotations++;
		}
	}
	if (plat_file_info(ff->fd, &fsb) != 0)
		return TS_EIO;
	if (fsb.size < ff->st.offset || !head_matches(ff->fd, &ff->st)) {
		log_warn("follow: %s was truncated or rewritten; reading it "
		    "again from the start", ff->path);
		f->stats.truncations++;
		ff->st.offset = 0;
		ff->st.skip = 0;
		enc_detect(ff, ff->fd);
		if (head_compute(ff->fd, fsb.size, &ff->st) != 0)
			return TS_EIO;
		ff->dirty = 1;
	}
	rc = file_read(f, ff, budget, &grew, more);
	if (rc != 0)
		return rc == TS_EIO ? 0 : rc;
	if (!ff->rotated)
		return 0;
	if (grew || *more) {
		ff->idle_since = 0;
		return 0;
	}
	if (ff->idle_since == 0) {
		ff->idle_since = mono_us();
		return 0;
	}
	if (mono_us() - ff->idle_since < FOLLOW_ROTATE_GRACE_US)
		return 0;
	if ((rc = file_finish(f, ff)) != 0)
		return rc;
	/* Now the new file at the path, from its start. */
	if (file_open(f, ff) != 0)
		return 0;
	rc = file_read(f, ff, budget, &grew, more);
	return rc == TS_EIO ? 0 : rc;
}

int follow_poll(follower_t *f, size_t max_lines, int *more)
{
	size_t budget = max_lines;
	int rc;

	*more = 0;
	if (spool_is_full(f->sp)) {
		f->stats.spool_full++;
		return TS_EFULL;
	}
	/* Start with a different file each poll so that one busy file
	 * cannot take the whole budget every time. */
	for (size_t k = 0; k < f->nfiles; k++) {
		size_t i = (f->next_first + k) % f->nfiles;
		if ((rc = file_poll(f, &f->files[i], &budget, more)) != 0)
			return rc;
	}
	if (f->nfiles > 0)
		f->next_first = (f->next_first + 1) % f->nfiles;
	return 0;
}

int follow_open(spool_t *sp, const char *const *paths, size_t n,
    int from_start, follower_t **out)
{
	follower_t *f;

	*out = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return TS_ENOMEM;
	f->sp = sp;
	f->from_start = from_start;
	if ((f->buf = malloc(FOLLOW_BUF_BYTES)) == NULL ||
	    (f->conv = malloc(FOLLOW_CONV_BYTES)) == NULL ||
	    (n > 0 && (f->files = calloc(n, sizeof(*f->files))) == NULL))
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		struct ffile *ff = &f->files[i];
		size_t len = strlen(paths[i]);
		int rc;

		ff->fd = NULL;
		ff->initial = 1;
		if (len == 0 || len > MAX_PATH_BYTES) {
			log_err("follow: path too long or empty");
			follow_free(&f);
			return TS_EINVAL;
		}
		if ((ff->path = strdup(paths[i])) == NULL)
			goto nomem;
		f->nfiles = i + 1;
		ff->path_len = len;
		rc = spool_offset_get(sp, ff->path, &ff->st);
		if (rc == 0)
			ff->have_st = 1;
		else if (rc != TS_ENOTFOUND) {
			follow_free(&f);
			return rc;
		}
	}
	f->nfiles = n;
	*out = f;
	return 0;
nomem:
	follow_free(&f);
	return TS_ENOMEM;
}

void follow_free(follower_t **fp)
{
	follower_t *f;

	if (fp == NULL || (f = *fp) == NULL)
		return;
	for (size_t i = 0; i < f->nfiles; i++) {
		plat_file_close(&f->files[i].fd);
		free(f->files[i].path);
	}
	free(f->files);
	free(f->buf);
	free(f->conv);
	free(f);
	*fp = NULL;
}

void follow_get_stats(const follower_t *f, struct follow_stats *out)
{
	*out = f->stats;
}
