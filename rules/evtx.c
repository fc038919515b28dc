/*
 * evtx.c - Windows XML Event Log (.evtx) files as a stream of Event XML,
 * through libevtx (the Debian library that parses the binary XML of the
 * format; we only walk its records).
 *
 * A damaged file is read as far as it can be: libevtx skips chunks it
 * cannot parse; this file checks the layout it can see for itself (the
 * header's chunk count against the file size, each chunk's signature) so
 * that what was skipped is reported with its offset, and a record libevtx
 * cannot render is reported with its index and offset.  A chunk whose
 * signature is intact but whose contents libevtx cannot parse is found by
 * what its header declares (the identifiers of its first and last record)
 * against the records read from it, and reported with its offset.
 */
#include <errno.h>
#include <libevtx.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "rules/rules.h"

/* Layout of the format (libevtx's documentation of it): a 4 KiB file
 * header, then 64 KiB chunks, each starting with "ElfChnk\0". */
#define EVTX_HEADER_BYTES	4096
#define EVTX_CHUNK_BYTES	65536
#define EVTX_NCHUNKS_AT		42	/* u16 LE: chunks the header counts */
#define EVTX_CHUNK_FIRST_ID_AT	24	/* u64 LE: first record identifier */
#define EVTX_CHUNK_LAST_ID_AT	32	/* u64 LE: last record identifier */

/* What one chunk's header declares, and what was read from it. */
struct chunk_tally {
	uint64_t	declared;	/* records the header says it holds */
	uint64_t	first_id;
	uint64_t	read;		/* records rendered from it */
};

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
problem(const struct evtx_sink *s, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(const struct evtx_sink *s, uint64_t offset, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->problem != NULL)
		s->problem(s->arg, offset, msg);
}

/* The last line of a libevtx error (the most specific one). */
static void
error_text(libevtx_error_t *e, char *buf, size_t cap)
{
	char all[2048];
	char *nl;
	size_t n;

	buf[0] = '\0';
	if (e == NULL || libevtx_error_backtrace_sprint(e, all,
	    sizeof(all)) <= 0)
		return;
	all[sizeof(all) - 1] = '\0';
	while ((nl = strrchr(all, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	nl = strrchr(all, '\n');
	nl = nl != NULL ? nl + 1 : all;
	n = strlen(nl);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, nl, n);
	buf[n] = '\0';
}

/* libevtx indents its rendering ("\n  <Data ..."); EvtRender and the
 * agent write none.  Drop whitespace that holds a newline and lies between
 * two tags, so that one record is one line.  Returns the new length. */
static size_t
xml_compact(char *x, size_t len)
{
	size_t o = 0, i = 0;

	while (i < len) {
		if (x[i] == '\n' && o > 0 && x[o - 1] == '>') {
			size_t j = i;

			while (j < len && (x[j] == '\n' || x[j] == '\r' ||
			    x[j] == ' ' || x[j] == '\t'))
				j++;
			if (j == len || x[j] == '<') {
				i = j;
				continue;
			}
		}
		x[o++] = x[i++];
	}
	return o;
}

int
evtx_is_file(const void *head, size_t len)
{
	return len >= 8 && memcmp(head, "ElfFile\0", 8) == 0;
}

/* Offset of the chunk whose header declares record id, 0 if none does
 * (libevtx gives no offset for the records of a usual file). */
static uint64_t
chunk_offset_of(const struct chunk_tally *t, uint64_t n, uint64_t id)
{
	for (uint64_t k = 0; k < n; k++)
		if (id >= t[k].first_id && id - t[k].first_id < t[k].declared)
			return EVTX_HEADER_BYTES + k * EVTX_CHUNK_BYTES;
	return 0;
}

/* What the file's own layout says: a truncated file, chunks without
 * their signature.  Reported, never fatal.  Fills *tally (one per whole
 * chunk with its signature, *ntally of them; the caller frees it). */
static void
check_layout(const char *path, const struct evtx_sink *s,
    struct evtx_stats *st, struct chunk_tally **tally, uint64_t *ntally)
{
	unsigned char hdr[EVTX_NCHUNKS_AT + 2], sig[EVTX_CHUNK_LAST_ID_AT + 8];
	struct stat sb;
	uint64_t size, want, have;
	unsigned nchunks;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return;
	if (fstat(fileno(f), &sb) != 0 ||
	    fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr))
		goto out;
	size = (uint64_t)sb.st_size;
	nchunks = (unsigned)hdr[EVTX_NCHUNKS_AT] |
	    ((unsigned)hdr[EVTX_NCHUNKS_AT + 1] << 8);
	want = EVTX_HEADER_BYTES + (uint64_t)nchunks * EVTX_CHUNK_BYTES;
	if (size < want) {
		st->damaged = 1;
		problem(s, size, "file truncated at offset %llu: the header "
		    "counts %u chunk%s (%llu bytes); records past the end are "
		    "lost", (unsigned long long)size, nchunks,
		    nchunks == 1 ? "" : "s", (unsigned long long)want);
	}
	have = size > EVTX_HEADER_BYTES ?
	    (size - EVTX_HEADER_BYTES) / EVTX_CHUNK_BYTES : 0;
	if (have > nchunks)
		have = nchunks;
	if (have > 0 && (*tally = calloc(have, sizeof(**tally))) != NULL)
		*ntally = have;
	for (uint64_t i = 0; i < have; i++) {
		uint64_t off = EVTX_HEADER_BYTES + i * EVTX_CHUNK_BYTES;

		if (fseeko(f, (off_t)off, SEEK_SET) != 0 ||
		    fread(sig, 1, sizeof(sig), f) != sizeof(sig))
			break;
		if (memcmp(sig, "ElfChnk\0", 8) != 0) {
			st->damaged = 1;
			problem(s, off, "chunk %llu at offset %llu has no "
			    "chunk signature: its records are skipped",
			    (unsigned long long)i, (unsigned long long)off);
		} else if (*tally != NULL) {
			uint64_t a = le64(sig + EVTX_CHUNK_FIRST_ID_AT),
			    b = le64(sig + EVTX_CHUNK_LAST_ID_AT);

			(*tally)[i].first_id = a;
			(*tally)[i].declared = b >= a && b - a < 65536 ?
			    b - a + 1 : 0;
		}
	}
out:
	fclose(f);
}

int
evtx_read(const char *path, const struct evtx_sink *s,
    struct evtx_stats *st)
{
	libevtx_file_t *f = NULL;
	libevtx_error_t *e = NULL;
	char etext[512];
	uint8_t *xml = NULL;
	size_t xcap = 0;
	struct chunk_tally *tally = NULL;
	uint64_t ntally = 0, ci = 0;
	int n = 0, rc = 0;

	memset(st, 0, sizeof(*st));
	if (libevtx_file_initialize(&f, &e) != 1) {
		libevtx_error_free(&e);
		return TS_ENOMEM;
	}
	if (libevtx_file_open(f, path, LIBEVTX_OPEN_READ, &e) != 1) {
		error_text(e, etext, sizeof(etext));
		problem(s, 0, "not a readable .evtx file: %s", etext);
		rc = TS_EINVAL;
		goto out;
	}
	check_layout(path, s, st, &tally, &ntally);
	if (libevtx_file_is_corrupted(f, NULL) == 1)
		st->damaged = 1;
	if (libevtx_file_get_number_of_records(f, &n, &e) != 1) {
		error_text(e, etext, sizeof(etext));
		problem(s, 0, "cannot count records: %s", etext);
		rc = TS_EINVAL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		libevtx_record_t *r = NULL;
		off64_t off = -1;
		uint64_t id = 0, where;
		size_t sz = 0;

		libevtx_error_free(&e);
		if (libevtx_file_get_record_by_index(f, i, &r, &e) != 1) {
			error_text(e, etext, sizeof(etext));
			problem(s, 0, "record %d: unreadable: %s", i, etext);
			st->failed++;
			continue;
		}
		(void)libevtx_record_get_offset(r, &off, NULL);
		(void)libevtx_record_get_identifier(r, &id, NULL);
		if (libevtx_record_get_utf8_xml_string_size(r, &sz, &e) != 1 ||
		    sz == 0 || sz > EVTX_MAX_XML_BYTES) {
			error_text(e, etext, sizeof(etext));
			where = off > 0 ? (uint64_t)off :
			    chunk_offset_of(tally, ntally, id);
			problem(s, where, "record %d (id %llu) %s offset %llu: "
			    "%s", i, (unsigned long long)id, off > 0 ? "at" :
			    "in the chunk at", (unsigned long long)where,
			    sz > EVTX_MAX_XML_BYTES ? "rendered XML larger than "
			    "the limit" : etext[0] ? etext : "no XML");
			st->failed++;
			libevtx_record_free(&r, NULL);
			continue;
		}
		if (sz > xcap) {
			uint8_t *nx = realloc(xml, sz);

			if (nx == NULL) {
				libevtx_record_free(&r, NULL);
				rc = TS_ENOMEM;
				goto out;
			}
			xml = nx;
			xcap = sz;
		}
		if (libevtx_record_get_utf8_xml_string(r, xml, sz, &e) != 1) {
			error_text(e, etext, sizeof(etext));
			where = off > 0 ? (uint64_t)off :
			    chunk_offset_of(tally, ntally, id);
			problem(s, where, "record %d (id %llu) %s offset %llu: "
			    "%s", i, (unsigned long long)id, off > 0 ? "at" :
			    "in the chunk at", (unsigned long long)where, etext);
			st->failed++;
			libevtx_record_free(&r, NULL);
			continue;
		}
		libevtx_record_free(&r, NULL);
		st->records++;
		/* the chunk whose declared identifiers hold id (records come
		 * in file order: the current chunk or a later one) */
		for (uint64_t k = 0; k < ntally; k++) {
			uint64_t c = (ci + k) % ntally;

			if (id >= tally[c].first_id && id - tally[c].first_id <
			    tally[c].declared) {
				tally[c].read++;
				ci = c;
				break;
			}
		}
		/* sz counts the NUL */
		if (s->event != NULL && (rc = s->event(s->arg, id,
		    off >= 0 ? (uint64_t)off : 0, (const char *)xml,
		    xml_compact((char *)xml, strnlen((const char *)xml,
		    sz)))) != 0)
			goto out;
	}
	/* a chunk that gave fewer records than its header declares */
	for (uint64_t i = 0; i < ntally; i++) {
		uint64_t off = EVTX_HEADER_BYTES + i * EVTX_CHUNK_BYTES;

		if (tally[i].read >= tally[i].declared)
			continue;
		st->damaged = 1;
		st->failed += tally[i].declared - tally[i].read;
		problem(s, off, "chunk %llu at offset %llu: %llu of its %llu "
		    "records (ids %llu-%llu) could not be read: the chunk is "
		    "damaged", (unsigned long long)i, (unsigned long long)off,
		    (unsigned long long)(tally[i].declared - tally[i].read),
		    (unsigned long long)tally[i].declared,
		    (unsigned long long)tally[i].first_id,
		    (unsigned long long)(tally[i].first_id +
		    tally[i].declared - 1));
	}
	if (libevtx_file_get_number_of_recovered_records(f, &n, NULL) == 1)
		st->recovered = (uint64_t)n;
out:
	free(tally);
	libevtx_error_free(&e);
	if (f != NULL) {
		(void)libevtx_file_close(f, NULL);
		libevtx_file_free(&f, NULL);
	}
	free(xml);
	return rc;
}
