/*
 * sdjournal.c - the systemd journal as a source of tocsin-agent, through
 * libsystemd's sd_journal.
 *
 * Debian 12 keeps no /var/log/auth.log by default: sshd, sudo, su and
 * cron log to the journal only.  Each entry becomes one syslog-like line,
 *
 *     2026-01-26T08:00:05.123456Z HOST IDENT[PID]: MESSAGE
 *
 * which the engine's syslog header parser reads (an RFC 3164 header with an
 * RFC 3339 time), so the same rules apply to journal entries and to log
 * files.  The journal's cursor after the last entry read is stored in the
 * spool in the same transaction as the entries (spool_cursor_put): after a
 * restart the agent goes on after it, like a file offset.  A cursor whose
 * entry was vacuumed meanwhile leads to the next entry that still exists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "agents/agent_int.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/util.h"
#include "common/wire.h"

#define SDJ_CURSOR_NAME		"journal"
/* Room for the header before the message: time, host, ident, pid. */
#define SDJ_HEADER_BYTES	(40 + MAX_HOST_BYTES + 2 * 256)

struct oslog {
	spool_t		*sp;
	sd_journal	*j;
	char		*line;		/* SDJ_HEADER_BYTES + MAX_LINE_BYTES */
	struct oslog_stats st;
	int		 logged_err;	/* a read error was logged */
};

/* The value of field in the current entry ("FIELD=value"), or NULL. */
static const char *sdj_field(oslog_t *s, const char *field, size_t *len)
{
	const void *d;
	size_t l, fl = strlen(field);

	if (sd_journal_get_data(s->j, field, &d, &l) < 0 || l <= fl ||
	    ((const char *)d)[fl] != '=')
		return NULL;
	*len = l - fl - 1;
	return (const char *)d + fl + 1;
}

/* Copy at most max bytes of p, blanks and control bytes as '_' (host and
 * ident are single words in a syslog header). */
static size_t sdj_word(char *dst, const char *p, size_t len, size_t max)
{
	size_t i;

	if (len > max)
		len = max;
	for (i = 0; i < len; i++)
		dst[i] = ((unsigned char)p[i] <= ' ' || p[i] == ':' ||
		    p[i] == '[' || p[i] == ']') ? '_' : p[i];
	return len;
}

/* Longest prefix of s[0..max) that does not end inside a UTF-8 sequence. */
static size_t sdj_utf8_cut(const char *s, size_t max)
{
	size_t cut = max;

	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}

/* 1 if p[0..len) is 1 to 10 digits. */
static int sdj_digits(const char *p, size_t len)
{
	if (len == 0 || len > 10)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* Build the line of the current entry in s->line; its length, or 0 for an
 * entry without MESSAGE. */
static size_t sdj_line(oslog_t *s, uint16_t *flags)
{
	const char *msg, *host, *ident, *pid;
	size_t mlen, hlen = 0, ilen = 0, plen = 0, off;
	uint64_t rt = 0;
	time_t secs;
	struct tm tm;

	*flags = 0;
	if ((msg = sdj_field(s, "MESSAGE", &mlen)) == NULL)
		return 0;
	if (sd_journal_get_realtime_usec(s->j, &rt) < 0)
		rt = now_us();
	secs = (time_t)(rt / 1000000);
	gmtime_r(&secs, &tm);
	off = strftime(s->line, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	off += (size_t)snprintf(s->line + off, 16, ".%06uZ ",
	    (unsigned)(rt % 1000000));
	if ((host = sdj_field(s, "_HOSTNAME", &hlen)) == NULL || hlen == 0) {
		host = "localhost";
		hlen = 9;
	}
	off += sdj_word(s->line + off, host, hlen, MAX_HOST_BYTES);
	s->line[off++] = ' ';
	if ((ident = sdj_field(s, "SYSLOG_IDENTIFIER", &ilen)) == NULL ||
	    ilen == 0)
		ident = sdj_field(s, "_COMM", &ilen);
	if (ident == NULL || ilen == 0) {
		ident = "journal";
		ilen = 7;
	}
	off += sdj_word(s->line + off, ident, ilen, 128);
	if (((pid = sdj_field(s, "SYSLOG_PID", &plen)) != NULL ||
	    (pid = sdj_field(s, "_PID", &plen)) != NULL) &&
	    sdj_digits(pid, plen)) {
		s->line[off++] = '[';
		memcpy(s->line + off, pid, plen);
		off += plen;
		s->line[off++] = ']';
	}
	s->line[off++] = ':';
	s->line[off++] = ' ';
	if (mlen > MAX_LINE_BYTES - off) {
		mlen = sdj_utf8_cut(msg, MAX_LINE_BYTES - off);
		*flags |= EV_TRUNCATED;
	}
	memcpy(s->line + off, msg, mlen);
	off += mlen;
	*flags |= follow_line_flags(s->line, off);
	return off;
}

/* Position the journal: after the stored cursor, else at the tail (only
 * new entries) or the head (from_start). */
static int sdj_seek(oslog_t *s, int from_start)
{
	char cur[MAX_CURSOR_BYTES + 1];
	int rc;

	rc = spool_cursor_get(s->sp, SDJ_CURSOR_NAME, cur, sizeof(cur));
	if (rc == 0) {
		if (sd_journal_seek_cursor(s->j, cur) < 0)
			return TS_EIO;
		/* on the entry itself when it still exists: it was shipped;
		 * else on the next one, which was not: step back before it */
		if (sd_journal_next(s->j) > 0 &&
		    sd_journal_test_cursor(s->j, cur) <= 0)
			(void)sd_journal_previous(s->j);
		log_info("journal: resuming after the stored cursor");
		return 0;
	}
	if (rc != TS_ENOTFOUND)
		return rc;
	if (from_start) {
		log_info("journal: no stored cursor; reading from the start");
		return sd_journal_seek_head(s->j) < 0 ? TS_EIO : 0;
	}
	if (sd_journal_seek_tail(s->j) < 0)
		return TS_EIO;
	/* on the last entry, so that next() returns only newer ones */
	(void)sd_journal_previous(s->j);
	log_info("journal: no stored cursor; only new entries");
	return 0;
}

int oslog_open(spool_t *sp, const struct agent_config *cfg,
    oslog_t **out)
{
	oslog_t *s;
	char m[MAX_UNIT_BYTES + 16];
	int r, rc = TS_EIO;

	*out = NULL;
	if (cfg->eventlog)
		log_warn("eventlog: names Windows Event Log channels; this "
		    "agent runs on Linux and ignores it");
	if (!cfg->journal)
		return 0;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->line = malloc(SDJ_HEADER_BYTES + MAX_LINE_BYTES)) == NULL) {
		if (s != NULL)
			free(s);
		return TS_ENOMEM;
	}
	s->sp = sp;
	if (cfg->journal_dir != NULL)
		r = sd_journal_open_directory(&s->j, cfg->journal_dir, 0);
	else
		r = sd_journal_open(&s->j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0) {
		log_err("journal: cannot open %s: %s", cfg->journal_dir ?
		    cfg->journal_dir : "the system journal", strerror(-r));
		goto fail;
	}
	/* matches on one field are OR'ed by sd_journal */
	for (size_t i = 0; i < cfg->njournal_units; i++) {
		snprintf(m, sizeof(m), "_SYSTEMD_UNIT=%s",
		    cfg->journal_units[i]);
		if ((r = sd_journal_add_match(s->j, m, 0)) < 0) {
			log_err("journal: unit %s: %s", cfg->journal_units[i],
			    strerror(-r));
			goto fail;
		}
	}
	/* inotify on the journal folders: new files (rotation) are seen
	 * by sd_journal_process at every poll */
	(void)sd_journal_get_fd(s->j);
	if ((rc = sdj_seek(s, cfg->from_start)) != 0) {
		log_err("journal: cannot position the journal: %s",
		    ts_strerror(rc));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	oslog_free(&s);
	return rc;
}

void oslog_free(oslog_t **sp)
{
	oslog_t *s = *sp;

	if (s == NULL)
		return;
	if (s->j != NULL)
		sd_journal_close(s->j);
	free(s->line);
	free(s);
	*sp = NULL;
}

int oslog_poll(oslog_t *s, size_t max, int *more)
{
	char *cur = NULL;
	size_t n = 0, len;
	uint16_t flags;
	int r, rc, full = 0;

	*more = 0;
	(void)sd_journal_process(s->j);
	if ((rc = spool_begin(s->sp)) != 0)
		return rc;
	while (n < max) {
		if ((r = sd_journal_next(s->j)) == 0)
			break;
		if (r < 0) {
			s->st.errors++;
			if (!s->logged_err)
				log_warn("journal: read error: %s "
				    "(counted in agent.journal_errors)",
				    strerror(-r));
			s->logged_err = 1;
			break;
		}
		n++;
		if ((len = sdj_line(s, &flags)) > 0) {
			rc = spool_append(s->sp, now_us(), flags,
			    SDJ_CURSOR_NAME, strlen(SDJ_CURSOR_NAME), s->line,
			    len, NULL);
			if (rc == TS_EFULL) {
				/* not taken: read it again later */
				(void)sd_journal_previous(s->j);
				s->st.spool_full++;
				full = 1;
				break;
			}
			if (rc != 0)
				goto fail;
			s->st.entries++;
			if (flags & EV_TRUNCATED)
				s->st.truncated++;
		}
		free(cur);
		cur = NULL;
		if (sd_journal_get_cursor(s->j, &cur) < 0) {
			rc = TS_EIO;
			goto fail;
		}
	}
	if (cur != NULL && (rc = spool_cursor_put(s->sp, SDJ_CURSOR_NAME, cur,
	    strlen(cur))) != 0)
		goto fail;
	free(cur);
	if ((r = spool_commit(s->sp)) != 0)
		return r;
	if (full)
		return TS_EFULL;
	*more = n == max;
	return 0;
fail:
	free(cur);
	spool_abort(s->sp);
	return rc == TS_EFULL ? TS_EFULL : TS_EDB;
}

void oslog_get_stats(const oslog_t *s, struct oslog_stats *out)
{
	if (s == NULL) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = s->st;
}
