/*
 * wevtapi_stub.c - a stand-in wevtapi.dll for testing tocsin-agent.exe's
 * event-log reader under Wine, whose own wevtapi is a stub.  It serves the
 * calls the agent makes (EvtSubscribe, EvtNext, EvtRender, EvtCreateBookmark,
 * EvtUpdateBookmark, EvtClose) from files: channel C is the file
 * %TOCSIN_EVT_DIR%\C.xml ('/' in C written as '%'), one Event XML a line
 * in UTF-8 (real events, converted from .evtx files with
 * `tocsin record --from-evtx`); an event's record id is its line number.
 *
 * What it checks like Windows does: a channel with no file does not exist
 * (ERROR_EVT_CHANNEL_NOT_FOUND, also from EvtNext once the file is gone); a
 * query must start with '*' or '<' and have balanced brackets
 * (ERROR_EVT_INVALID_QUERY); "EventID=N" terms in a query filter on the
 * event's EventID.  Bookmarks are rendered as Windows writes them:
 *   <BookmarkList><Bookmark Channel='C' RecordId='N' IsCurrent='true'/>
 *   </BookmarkList>
 * Only what the agent uses is here; it is a test double, not wevtapi.
 */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define EXPORT	__declspec(dllexport)
#define STUB_MAX_LINE	(1 << 20)
#define STUB_MAX_IDS	16

typedef HANDLE EVT_HANDLE;

enum { H_SUB = 1, H_EVT, H_BM };

struct h {
	int	 type;
	wchar_t	 chan[256];
	long	 rec;		/* EVT: its record; BM: the last one; SUB: the
				   last one handed out */
	char	*xml;		/* EVT: the event */
	long	 ids[STUB_MAX_IDS];	/* SUB: EventID filter */
	int	 nids;
};

static struct h *h_new(int type)
{
	struct h *h = calloc(1, sizeof(*h));

	if (h != NULL)
		h->type = type;
	return h;
}

/* The file of channel c, NULL if TOCSIN_EVT_DIR is unset. */
static FILE *chan_open(const wchar_t *c)
{
	wchar_t path[1024], dir[512];
	size_t n;

	if (GetEnvironmentVariableW(L"TOCSIN_EVT_DIR", dir, 512) == 0)
		return NULL;
	_snwprintf(path, 1024, L"%ls\\%ls.xml", dir, c);
	path[1023] = 0;
	n = wcslen(dir) + 1;
	for (wchar_t *p = path + n; *p; p++)
		if (*p == L'/')
			*p = L'%';
	return _wfopen(path, L"rb");
}

static long event_id(const char *xml)
{
	const char *p = strstr(xml, "<EventID");

	if (p == NULL || (p = strchr(p, '>')) == NULL)
		return -1;
	return strtol(p + 1, NULL, 10);
}

static int query_ok(const wchar_t *q, struct h *s)
{
	int depth = 0;

	if (q == NULL)
		return 1;
	if (q[0] != L'*' && q[0] != L'<')
		return 0;
	for (const wchar_t *p = q; *p; p++) {
		if (*p == L'[')
			depth++;
		else if (*p == L']' && --depth < 0)
			return 0;
	}
	if (depth != 0)
		return 0;
	for (const wchar_t *p = q; (p = wcsstr(p, L"EventID=")) != NULL;) {
		p += 8;
		if (s->nids < STUB_MAX_IDS)
			s->ids[s->nids++] = wcstol(p, NULL, 10);
	}
	return 1;
}

EXPORT EVT_HANDLE WINAPI EvtCreateBookmark(const wchar_t *xml)
{
	struct h *b = h_new(H_BM);
	const wchar_t *p;

	if (b == NULL || xml == NULL)
		return b;
	if ((p = wcsstr(xml, L"Channel='")) == NULL) {
		free(b);
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	p += 9;
	for (size_t i = 0; i < 255 && *p && *p != L'\''; i++, p++)
		b->chan[i] = *p;
	if ((p = wcsstr(xml, L"RecordId='")) == NULL) {
		free(b);
		SetLastError(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	b->rec = wcstol(p + 10, NULL, 10);
	return b;
}

EXPORT EVT_HANDLE WINAPI EvtSubscribe(EVT_HANDLE session, HANDLE signal,
    const wchar_t *path, const wchar_t *query, EVT_HANDLE bookmark,
    void *ctx, void *cb, DWORD flags)
{
	struct h *s = h_new(H_SUB), *bm = bookmark;
	char line[256];
	FILE *fp;

	(void)session; (void)ctx; (void)cb;
	if (s == NULL)
		return NULL;
	if (!query_ok(query, s)) {
		free(s);
		SetLastError(15001);	/* ERROR_EVT_INVALID_QUERY */
		return NULL;
	}
	if ((fp = chan_open(path)) == NULL) {
		free(s);
		SetLastError(15007);	/* ERROR_EVT_CHANNEL_NOT_FOUND */
		return NULL;
	}
	wcsncpy(s->chan, path, 255);
	switch (flags & 0xffff) {
	case 3:		/* EvtSubscribeStartAfterBookmark */
		s->rec = bm ? bm->rec : 0;
		break;
	case 2:		/* EvtSubscribeStartAtOldestRecord */
		s->rec = 0;
		break;
	default:	/* EvtSubscribeToFutureEvents: after the last one */
		while (fgets(line, sizeof(line), fp) != NULL)
			if (strchr(line, '\n'))
				s->rec++;
		break;
	}
	fclose(fp);
	if (signal != NULL)
		SetEvent(signal);
	return s;
}

EXPORT BOOL WINAPI EvtNext(EVT_HANDLE sub, DWORD n, EVT_HANDLE *out,
    DWORD timeout, DWORD flags, DWORD *got)
{
	struct h *s = sub;
	char *line;
	long rec = 0;
	FILE *fp;

	(void)timeout; (void)flags;
	*got = 0;
	if ((fp = chan_open(s->chan)) == NULL) {
		SetLastError(15007);
		return FALSE;
	}
	if ((line = malloc(STUB_MAX_LINE)) == NULL) {
		fclose(fp);
		SetLastError(ERROR_OUTOFMEMORY);
		return FALSE;
	}
	while (*got < n && fgets(line, STUB_MAX_LINE, fp) != NULL) {
		size_t len = strlen(line);
		struct h *e;
		int pass = s->nids == 0;

		if (len == 0 || line[len - 1] != '\n')
			break;		/* a line still being written */
		if (++rec <= s->rec)
			continue;
		line[--len] = '\0';
		s->rec = rec;
		for (int i = 0; i < s->nids; i++)
			pass |= event_id(line) == s->ids[i];
		if (!pass)
			continue;
		if ((e = h_new(H_EVT)) == NULL || (e->xml = strdup(line)) ==
		    NULL) {
			free(e);
			break;
		}
		wcsncpy(e->chan, s->chan, 255);
		e->rec = rec;
		out[(*got)++] = e;
	}
	free(line);
	fclose(fp);
	if (*got == 0) {
		SetLastError(ERROR_NO_MORE_ITEMS);
		return FALSE;
	}
	return TRUE;
}

EXPORT BOOL WINAPI EvtRender(EVT_HANDLE ctx, EVT_HANDLE h, DWORD flags,
    DWORD size, void *buf, DWORD *used, DWORD *props)
{
	struct h *x = h;
	char tmp[600];
	const char *utf8;
	int n;

	(void)ctx;
	*props = 0;
	if (flags == 2) {	/* EvtRenderBookmark */
		char chan[256];
		WideCharToMultiByte(CP_UTF8, 0, x->chan, -1, chan, sizeof(chan),
		    NULL, NULL);
		snprintf(tmp, sizeof(tmp), "<BookmarkList>\r\n  <Bookmark "
		    "Channel='%s' RecordId='%ld' IsCurrent='true'/>\r\n"
		    "</BookmarkList>", chan, x->rec);
		utf8 = tmp;
	} else {
		utf8 = x->xml;
	}
	n = MultiByteToWideChar(CP_UTF8, 0, utf8, -1, NULL, 0);
	*used = (DWORD)n * sizeof(wchar_t);
	if (buf == NULL || size < *used) {
		SetLastError(ERROR_INSUFFICIENT_BUFFER);
		return FALSE;
	}
	MultiByteToWideChar(CP_UTF8, 0, utf8, -1, buf, n);
	return TRUE;
}

EXPORT BOOL WINAPI EvtUpdateBookmark(EVT_HANDLE bm, EVT_HANDLE ev)
{
	struct h *b = bm, *e = ev;

	wcsncpy(b->chan, e->chan, 255);
	b->rec = e->rec;
	return TRUE;
}

EXPORT BOOL WINAPI EvtClose(EVT_HANDLE h)
{
	struct h *x = h;

	if (x != NULL) {
		free(x->xml);
		free(x);
	}
	return TRUE;
}
