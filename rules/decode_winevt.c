/*
 * decode_winevt.c - the Windows event decoder: one field model for a
 * Windows event however it arrived.
 *
 *   Event XML, as EvtRender writes it (what the Windows agent ships, and
 *     what libevtx renders from an .evtx file);
 *   the JSON evtx tools write: {"Event": {"System": ..., "EventData": ...}}
 *     with XML attributes under "#attributes" and element text under
 *     "#text";
 *   Winlogbeat JSON (winlog.event_id, winlog.event_data.*, ...);
 *   NXLog im_msvistalog + to_json (flat EventID, Channel, Hostname, ...).
 *
 * The fields (docs/rules.md, "Windows events"):
 *   System: EventID, Version, Level, Task, Opcode, Keywords, EventRecordID,
 *     Channel, Computer, TimeCreated, Provider_Name (also Provider),
 *     Provider_Guid, Execution.ProcessID, Execution.ThreadID,
 *     Security.UserID, Correlation.ActivityID; any other System element X
 *     as X, its attributes as X.ATTR.
 *   EventData: each named <Data Name="N"> as N; unnamed ones by position
 *     as param1, param2, ... (Winlogbeat's names); Binary as Binary; and
 *     Data, every data value joined by a space (Sigma's "Data" is the
 *     event data as a whole).
 *   UserData: each leaf element by its name.
 * A name equal to a header field (host, program, ...) is "win.NAME".
 *
 * XML goes through expat (streaming: no tree per event, and every bound is
 * checked in the callbacks where the parser can be stopped at once): no
 * DOCTYPE or entity declaration is accepted, nesting, items and value
 * sizes are bounded (limits in rules_int.h).  JSON goes through jansson.
 */
#include <expat.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"
#include "rules/xmlscan.h"

/* What the XML walk is inside of (the element at depth 2 under Event). */
enum part { P_NONE = 0, P_SYSTEM, P_EVENTDATA, P_USERDATA, P_OTHER };

struct winevt {
	XML_Parser		 xp;
	struct xmlscan		*xs;		/* fast path, or NULL: expat
						 * only (TOCSIN_XML_FASTPATH=0) */
	int			 fast;		/* xs is running the callbacks */
	int			 halted;	/* a callback stopped the walk */
	/* per event */
	struct field_arena	*a;
	field_emit_fn		 emit;
	void			*arg;
	struct winevt_info	*info;
	int			 depth;
	enum part		 part;
	int			 stop;		/* emit asked to stop */
	int			 refused;	/* a bound or a DTD stopped it */
	int			 root_ok;	/* root element is Event */
	size_t			 nitems;	/* data items and System fields */
	size_t			 nparam;	/* unnamed Data seen */
	/* the element whose text is being collected (depth of it, 0: none) */
	int			 tdepth;
	char			 tname[MAX_WINEVT_NAME_BYTES + 8];
	size_t			 tname_len;
	char			*text;		/* MAX_WINEVT_VALUE_BYTES */
	size_t			 text_len;
	char			*all;		/* "Data": values joined */
	size_t			 all_len;
};

/* Emit one field (name, value copied into the arena); a header name gets
 * "win.".  Counts the item; past MAX_WINEVT_ITEMS it is refused. */
static void
put(struct winevt *w, const char *name, size_t nl, const char *val,
    size_t vl)
{
	char buf[MAX_WINEVT_NAME_BYTES + 8];
	const char *nm = name;
	char *n, *v;

	if (w->stop)
		return;
	if (nl == 0 || nl > MAX_WINEVT_NAME_BYTES ||
	    memchr(name, '\0', nl) != NULL) {
		w->info->dropped++;
		return;
	}
	if (++w->nitems > MAX_WINEVT_ITEMS) {
		w->info->dropped++;
		w->refused = 1;
		return;
	}
	if (vl > MAX_WINEVT_VALUE_BYTES) {
		vl = MAX_WINEVT_VALUE_BYTES;
		w->info->truncated++;
	}
	if (rules_builtin_name(name, nl)) {
		memcpy(buf, "win.", 4);
		memcpy(buf + 4, name, nl);
		nm = buf;
		nl += 4;
	}
	if ((n = field_arena_dup(w->a, nm, nl)) == NULL ||
	    (v = field_arena_dup(w->a, val, vl)) == NULL) {
		w->info->dropped++;
		w->stop = 1;
		return;
	}
	if (nl == 8 && strcmp(n, "Computer") == 0) {
		w->info->computer = v;
		w->info->computer_len = vl;
	} else if (nl == 11 && strcmp(n, "TimeCreated") == 0) {
		uint64_t t;

		if (rules_parse_time(v, vl, &t) == 0) {
			w->info->time_us = t;
			w->info->has_time = 1;
		}
	}
	if (w->emit(w->arg, n, nl, v, vl))
		w->stop = 1;
}

/* put() with a name of two parts "a.b" (a "" or b NULL: just a).  Made
 * for every attribute of every System element: no snprintf. */
static void
put2(struct winevt *w, const char *a, const char *b, const char *val,
    size_t vl)
{
	char buf[2 * MAX_WINEVT_NAME_BYTES + 2];
	size_t al = strlen(a), bl = b != NULL ? strlen(b) : 0;
	size_t n = al + (b != NULL ? 1 + bl : 0);

	if (n == 0 || n >= sizeof(buf)) {
		w->info->dropped++;
		return;
	}
	memcpy(buf, a, al);
	if (b != NULL) {
		buf[al] = '.';
		memcpy(buf + al + 1, b, bl);
	}
	buf[n] = '\0';
	put(w, buf, n, val, vl);
}

/* The System attribute a.b under Sigma's and the names. */
static void
put_sysattr(struct winevt *w, const char *el, const char *at,
    const char *val, size_t vl)
{
	if (strcmp(el, "TimeCreated") == 0 && strcmp(at, "SystemTime") == 0) {
		put(w, "TimeCreated", 11, val, vl);
	} else if (strcmp(el, "Provider") == 0 && strcmp(at, "Name") == 0) {
		put(w, "Provider_Name", 13, val, vl);
		put(w, "Provider", 8, val, vl);
	} else if (strcmp(el, "Provider") == 0 && strcmp(at, "Guid") == 0) {
		put(w, "Provider_Guid", 13, val, vl);
	} else if (strcmp(el, "Provider") == 0 &&
	    strcmp(at, "EventSourceName") == 0) {
		put(w, "Provider_EventSourceName", 24, val, vl);
	} else {
		put2(w, el, at, val, vl);
	}
}

/* Append a value to the "Data" whole. */
static void
all_add(struct winevt *w, const char *v, size_t vl)
{
	size_t room = MAX_WINEVT_VALUE_BYTES - w->all_len;

	if (vl == 0)
		return;
	if (w->all_len > 0 && room > 0) {
		w->all[w->all_len++] = ' ';
		room--;
	}
	if (vl > room) {
		vl = room;
		w->info->truncated++;
	}
	memcpy(w->all + w->all_len, v, vl);
	w->all_len += vl;
}

static void
all_flush(struct winevt *w)
{
	if (w->all_len > 0)
		put(w, "Data", 4, w->all, w->all_len);
	w->all_len = 0;
}

/* Local part of an XML name ("ns:Name" -> "Name"). */
static const char *
local_name(const char *n)
{
	const char *c = strrchr(n, ':');

	return c != NULL ? c + 1 : n;
}

/* ---- XML (expat) ----------------------------------------------------------- */

/* Stop the walk, whichever of the fast path and expat runs it. */
static void
xml_halt(struct winevt *w)
{
	w->halted = 1;
	if (!w->fast)
		XML_StopParser(w->xp, XML_FALSE);
}

static void
xml_refuse(struct winevt *w)
{
	w->refused = 1;
	xml_halt(w);
}

static void
text_begin(struct winevt *w, const char *name)
{
	size_t n = strlen(name);

	if (n > MAX_WINEVT_NAME_BYTES)
		n = MAX_WINEVT_NAME_BYTES;
	memcpy(w->tname, name, n);
	w->tname[n] = '\0';
	w->tname_len = n;
	w->tdepth = w->depth;
	w->text_len = 0;
}

static void XMLCALL
xml_start_cb(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct winevt *w = ud;
	const char *ln = local_name(name);

	if (w->stop || w->refused)
		return;
	w->depth++;
	if (w->depth > MAX_WINEVT_DEPTH) {
		xml_refuse(w);
		return;
	}
	w->tdepth = 0;		/* mixed content: only leaves have text */
	if (w->depth == 1) {
		if (strcmp(ln, "Event") != 0) {
			xml_halt(w);
			return;
		}
		w->root_ok = 1;
		return;
	}
	if (w->depth == 2) {
		w->part = strcmp(ln, "System") == 0 ? P_SYSTEM :
		    strcmp(ln, "EventData") == 0 ? P_EVENTDATA :
		    strcmp(ln, "UserData") == 0 ? P_USERDATA : P_OTHER;
		return;
	}
	switch (w->part) {
	case P_SYSTEM:
		if (w->depth != 3)
			return;
		for (size_t i = 0; atts[i] != NULL && atts[i + 1] != NULL;
		    i += 2)
			put_sysattr(w, ln, local_name(atts[i]), atts[i + 1],
			    strlen(atts[i + 1]));
		text_begin(w, ln);
		return;
	case P_EVENTDATA:
		if (w->depth != 3)
			return;
		if (strcmp(ln, "Data") == 0) {
			const char *dn = NULL;
			char pn[32];

			for (size_t i = 0; atts[i] != NULL &&
			    atts[i + 1] != NULL; i += 2)
				if (strcmp(local_name(atts[i]), "Name") == 0)
					dn = atts[i + 1];
			if (dn == NULL || dn[0] == '\0') {
				snprintf(pn, sizeof(pn), "param%zu",
				    ++w->nparam);
				dn = pn;
			}
			text_begin(w, dn);
		} else {
			text_begin(w, ln);	/* Binary, ComplexData */
		}
		return;
	case P_USERDATA:
		if (w->depth >= 4)
			text_begin(w, ln);
		return;
	default:
		return;
	}
}

static void XMLCALL
xml_end_cb(void *ud, const XML_Char *name)
{
	struct winevt *w = ud;

	(void)name;
	if (w->stop || w->refused)
		return;
	if (w->tdepth == w->depth && w->tdepth > 0) {
		/* a leaf: its text is the value (System elements with only
		 * attributes have none) */
		if (w->part != P_SYSTEM || w->text_len > 0)
			put(w, w->tname, w->tname_len, w->text, w->text_len);
		if (w->part == P_EVENTDATA || w->part == P_USERDATA)
			all_add(w, w->text, w->text_len);
		w->tdepth = 0;
	}
	if (w->depth == 2 && (w->part == P_EVENTDATA ||
	    w->part == P_USERDATA))
		all_flush(w);
	if (w->depth == 2)
		w->part = P_NONE;
	w->depth--;
}

static void XMLCALL
xml_text_cb(void *ud, const XML_Char *s, int len)
{
	struct winevt *w = ud;
	size_t n = len > 0 ? (size_t)len : 0;

	if (w->tdepth == 0 || w->tdepth != w->depth || w->stop || w->refused)
		return;
	if (n > MAX_WINEVT_VALUE_BYTES - w->text_len) {
		n = MAX_WINEVT_VALUE_BYTES - w->text_len;
		w->info->truncated++;
	}
	memcpy(w->text + w->text_len, s, n);
	w->text_len += n;
}

/* A DTD could declare entities (billion laughs) or reach outside: refuse
 * any event that has one; EvtRender never writes one. */
static void XMLCALL
xml_doctype_cb(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal;
	xml_refuse(ud);
}

static void XMLCALL
xml_entity_cb(void *ud, const XML_Char *name, int pe, const XML_Char *v,
    int vlen, const XML_Char *base, const XML_Char *sysid,
    const XML_Char *pubid, const XML_Char *notation)
{
	(void)name; (void)pe; (void)v; (void)vlen; (void)base;
	(void)sysid; (void)pubid; (void)notation;
	xml_refuse(ud);
}

static int
xml_setup(struct winevt *w)
{
	if (w->xp == NULL) {
		if ((w->xp = XML_ParserCreate("UTF-8")) == NULL)
			return TS_ENOMEM;
	} else if (XML_ParserReset(w->xp, "UTF-8") != XML_TRUE) {
		return TS_ENOMEM;
	}
	XML_SetUserData(w->xp, w);
	XML_SetElementHandler(w->xp, xml_start_cb, xml_end_cb);
	XML_SetCharacterDataHandler(w->xp, xml_text_cb);
	XML_SetStartDoctypeDeclHandler(w->xp, xml_doctype_cb);
	XML_SetEntityDeclHandler(w->xp, xml_entity_cb);
	return 0;
}

static int
xs_halted_cb(void *ud)
{
	return ((struct winevt *)ud)->halted;
}

static const struct xmlscan_cb xs_cbs = {
	xml_start_cb, xml_end_cb, xml_text_cb, xs_halted_cb
};

static int
decode_xml(struct winevt *w, const char *buf, size_t len)
{
	enum XML_Status st;
	int rc;

	w->halted = 0;
	if (w->xs != NULL) {
		/* the usual event without expat; anything unusual (and every
		 * error) goes to expat below, no callback having run */
		w->fast = 1;
		rc = xmlscan_run(w->xs, buf, len, MAX_WINEVT_VALUE_BYTES,
		    &xs_cbs, w);
		w->fast = 0;
		if (rc == TS_ENOMEM)
			return rc;
		if (rc == 0) {
			if (w->refused) {
				w->info->refused = 1;
				return TS_EINVAL;
			}
			return w->root_ok ? 0 : 1;
		}
	}
	if ((rc = xml_setup(w)) != 0)
		return rc;
	st = XML_Parse(w->xp, buf, (int)len, XML_TRUE);
	if (w->refused) {
		w->info->refused = 1;
		return TS_EINVAL;
	}
	if (!w->root_ok)
		return 1;
	if (st != XML_STATUS_OK && !w->stop) {
		w->info->error_offset = (uint64_t)XML_GetCurrentByteIndex(w->xp);
		return TS_EINVAL;
	}
	return 0;
}

/* ---- JSON (jansson) ---------------------------------------------------------- */

/* Text of a JSON scalar into buf (strings point into the tree); NULL for
 * null, objects and arrays. */
static const char *
json_text(const json_t *v, char *buf, size_t cap, size_t *len)
{
	int n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		*len = json_string_length(v);
		return json_string_value(v);
	case JSON_INTEGER:
		n = snprintf(buf, cap, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		break;
	case JSON_REAL:
		n = snprintf(buf, cap, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		n = snprintf(buf, cap, "true");
		break;
	case JSON_FALSE:
		n = snprintf(buf, cap, "false");
		break;
	default:
		return NULL;
	}
	if (n <= 0 || (size_t)n >= cap)
		return NULL;
	*len = (size_t)n;
	return buf;
}

static void
jput(struct winevt *w, const char *name, const json_t *v)
{
	char num[64];
	const char *s;
	size_t n = 0;

	if (v != NULL && (s = json_text(v, num, sizeof(num), &n)) != NULL)
		put(w, name, strlen(name), s, n);
}

/* An element of the evtx-tool form: {"#attributes": {...}, "#text": v} or
 * a scalar. */
static void
evtx_sys_elem(struct winevt *w, const char *key, const json_t *v)
{
	const json_t *at, *tx, *av;
	const char *an;

	if (!json_is_object(v)) {
		jput(w, key, v);
		return;
	}
	if ((at = json_object_get(v, "#attributes")) != NULL &&
	    json_is_object(at)) {
		json_object_foreach((json_t *)at, an, av) {
			char num[64];
			const char *s;
			size_t n = 0;

			if ((s = json_text(av, num, sizeof(num), &n)) != NULL)
				put_sysattr(w, key, an, s, n);
		}
	}
	if ((tx = json_object_get(v, "#text")) != NULL)
		jput(w, key, tx);
}

/* Data values of the evtx-tool form: named keys, or "Data" holding the
 * unnamed ones ({"#text": [..]}, a list, or one value). */
static void
evtx_data_value(struct winevt *w, const char *key, const json_t *v,
    int depth)
{
	char num[64], pn[32];
	const char *s, *k;
	const json_t *kid;
	size_t n = 0, i;

	if (depth > MAX_WINEVT_DEPTH) {
		w->refused = 1;
		return;
	}
	if (json_is_object(v)) {
		const json_t *tx = json_object_get(v, "#text");
		const json_t *nm = json_object_get(json_object_get(v,
		    "#attributes"), "Name");

		if (tx != NULL) {
			/* {"#attributes": {"Name": N}, "#text": v}: a named
			 * Data item written as an element */
			evtx_data_value(w, json_is_string(nm) &&
			    json_string_length(nm) > 0 ?
			    json_string_value(nm) : key, tx, depth + 1);
			return;
		}
		json_object_foreach((json_t *)v, k, kid) {
			if (k[0] == '#')
				continue;
			evtx_data_value(w, k, kid, depth + 1);
		}
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, kid) {
			if (strcmp(key, "Data") == 0) {
				snprintf(pn, sizeof(pn), "param%zu",
				    ++w->nparam);
				evtx_data_value(w, pn, kid, depth + 1);
			} else {
				evtx_data_value(w, key, kid, depth + 1);
			}
		}
		return;
	}
	if ((s = json_text(v, num, sizeof(num), &n)) == NULL)
		return;
	if (strcmp(key, "Data") == 0) {
		snprintf(pn, sizeof(pn), "param%zu", ++w->nparam);
		put(w, pn, strlen(pn), s, n);
	} else {
		put(w, key, strlen(key), s, n);
	}
	all_add(w, s, n);
}

static void
decode_evtx_json(struct winevt *w, const json_t *ev)
{
	const json_t *sys = json_object_get(ev, "System"), *v;
	const char *k;

	json_object_foreach((json_t *)sys, k, v)
		evtx_sys_elem(w, k, v);
	if ((v = json_object_get(ev, "EventData")) != NULL)
		evtx_data_value(w, "EventData", v, 0);
	if ((v = json_object_get(ev, "UserData")) != NULL)
		evtx_data_value(w, "UserData", v, 0);
	all_flush(w);
}

/* Winlogbeat's log.level names as the Windows Level numbers. */
static const char *
level_number(const char *s)
{
	static const char *const names[] = { "critical", "error", "warning",
	    "information", "verbose" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (const char *[]){ "1", "2", "3", "4", "5" }[i];
	return NULL;
}

static void
decode_winlogbeat(struct winevt *w, const json_t *root, const json_t *wl)
{
	static const struct { const char *src, *dst; } map[] = {
		{ "event_id", "EventID" }, { "channel", "Channel" },
		{ "computer_name", "Computer" },
		{ "provider_name", "Provider_Name" },
		{ "provider_guid", "Provider_Guid" },
		{ "record_id", "EventRecordID" }, { "task", "Task" },
		{ "opcode", "Opcode" }, { "version", "Version" },
	};
	const json_t *v, *kid;
	const char *k, *s;
	char kw[MAX_WINEVT_NAME_BYTES];
	size_t i, off = 0;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		jput(w, map[i].dst, json_object_get(wl, map[i].src));
	if ((v = json_object_get(wl, "provider_name")) != NULL)
		jput(w, "Provider", v);
	/* the time the event was made: @timestamp (Winlogbeat sets it from
	 * the record's TimeCreated); event.created (when Winlogbeat read it)
	 * only when @timestamp is absent */
	if ((v = json_object_get(root, "@timestamp")) == NULL)
		v = json_object_get(json_object_get(root, "event"), "created");
	if (v != NULL)
		jput(w, "TimeCreated", v);
	v = json_object_get(json_object_get(root, "log"), "level");
	if (json_is_string(v) && (s = level_number(json_string_value(v))) !=
	    NULL)
		put(w, "Level", 5, s, 1);
	jput(w, "Execution.ProcessID",
	    json_object_get(json_object_get(wl, "process"), "pid"));
	jput(w, "Execution.ThreadID", json_object_get(json_object_get(
	    json_object_get(wl, "process"), "thread"), "id"));
	jput(w, "Security.UserID",
	    json_object_get(json_object_get(wl, "user"), "identifier"));
	if (json_is_array(v = json_object_get(wl, "keywords"))) {
		json_array_foreach(v, i, kid) {
			if (!json_is_string(kid))
				continue;
			off += (size_t)snprintf(kw + off, sizeof(kw) - off,
			    "%s%s", off ? ", " : "", json_string_value(kid));
			if (off >= sizeof(kw))
				off = sizeof(kw) - 1;
		}
		if (off > 0)
			put(w, "Keywords", 8, kw, off);
	}
	if ((v = json_object_get(wl, "event_data")) != NULL &&
	    json_is_object(v))
		json_object_foreach((json_t *)v, k, kid)
			evtx_data_value(w, k, kid, 1);
	if ((v = json_object_get(wl, "user_data")) != NULL &&
	    json_is_object(v))
		json_object_foreach((json_t *)v, k, kid)
			evtx_data_value(w, k, kid, 1);
	all_flush(w);
}

/* NXLog im_msvistalog keys that are not event data. */
static const struct { const char *src, *dst; } nxlog_meta[] = {
	{ "EventID", "EventID" }, { "Channel", "Channel" },
	{ "Hostname", "Computer" }, { "SourceName", "Provider_Name" },
	{ "ProviderGuid", "Provider_Guid" }, { "RecordNumber", "EventRecordID" },
	{ "Task", "Task" }, { "OpcodeValue", "Opcode" },
	{ "Version", "Version" }, { "Keywords", "Keywords" },
	{ "ProcessID", "Execution.ProcessID" },
	{ "ThreadID", "Execution.ThreadID" }, { "UserID", "Security.UserID" },
	{ "ActivityID", "Correlation.ActivityID" },
	{ "RelatedActivityID", "Correlation.RelatedActivityID" },
	{ "Message", "Message" }, { "Level", "Level" },
	{ "EventTime", NULL }, { "EventReceivedTime", NULL },
	{ "SourceModuleName", NULL }, { "SourceModuleType", NULL },
	{ "EventType", NULL }, { "SeverityValue", NULL }, { "Severity", NULL },
	{ "Opcode", NULL }, { "Category", NULL }, { "Domain", NULL },
	{ "AccountName", NULL }, { "AccountType", NULL },
	{ "ERRORLEVEL", NULL },
};

/*
 * NXLog's EventTime as the event's TimeCreated (NXLog has no TimeCreated
 * key).  NXLog writes "YYYY-MM-DD hh:mm:ss" (its default: the sending
 * machine's wall clock, no zone; time_local tells the caller, which reads
 * it in the zone of unzoned times, as for syslog headers) or ISO 8601 with
 * a zone, depending on its DateFormat; a value that is neither is kept
 * out of the time, which then stays the time the event was received.
 */
static void
nxlog_time(struct winevt *w, const json_t *v)
{
	char buf[64];
	size_t n;

	if (w->info->has_time || !json_is_string(v) ||
	    (n = json_string_length(v)) < 19 ||
	    n >= sizeof(buf))
		return;
	memcpy(buf, json_string_value(v), n);
	if (buf[10] == ' ')
		buf[10] = 'T';
	put(w, "TimeCreated", 11, buf, n);
	/* no zone: nothing after the seconds and their fraction */
	if (w->info->has_time) {
		size_t i = 19;

		if (i < n && buf[i] == '.')
			while (++i < n && buf[i] >= '0' && buf[i] <= '9')
				;
		w->info->time_local = i == n;
	}
}

static void
decode_nxlog(struct winevt *w, const json_t *root)
{
	const json_t *v;
	const char *k;
	size_t i;

	for (i = 0; i < sizeof(nxlog_meta) / sizeof(nxlog_meta[0]); i++) {
		if (nxlog_meta[i].dst == NULL)
			continue;
		if ((v = json_object_get(root, nxlog_meta[i].src)) != NULL)
			jput(w, nxlog_meta[i].dst, v);
		if (strcmp(nxlog_meta[i].src, "SourceName") == 0 && v != NULL)
			jput(w, "Provider", v);
	}
	json_object_foreach((json_t *)root, k, v) {
		for (i = 0; i < sizeof(nxlog_meta) / sizeof(nxlog_meta[0]); i++)
			if (strcmp(k, nxlog_meta[i].src) == 0)
				break;
		if (i < sizeof(nxlog_meta) / sizeof(nxlog_meta[0]))
			continue;
		evtx_data_value(w, k, v, 1);
	}
	nxlog_time(w, json_object_get(root, "EventTime"));
	all_flush(w);
}

static int
decode_json(struct winevt *w, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *root, *ev, *wl;
	int rc = 0;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		w->info->error_offset = (uint64_t)jerr.position;
		w->info->json = 1;
		return TS_EINVAL;
	}
	if (!json_is_object(root)) {
		rc = 1;
	} else if (json_is_object(ev = json_object_get(root, "Event")) &&
	    json_is_object(json_object_get(ev, "System"))) {
		decode_evtx_json(w, ev);
	} else if (json_is_object(wl = json_object_get(root, "winlog"))) {
		decode_winlogbeat(w, root, wl);
	} else if (json_object_get(root, "EventID") != NULL &&
	    (json_object_get(root, "Channel") != NULL ||
	    json_object_get(root, "SourceName") != NULL)) {
		decode_nxlog(w, root);
	} else {
		rc = 1;
	}
	json_decref(root);
	if (rc == 0 && w->refused) {
		w->info->refused = 1;
		return TS_EINVAL;
	}
	return rc;
}

/* ---- API --------------------------------------------------------------------- */

int
winevt_new(struct winevt **out)
{
	struct winevt *w;
	const char *fp = getenv("TOCSIN_XML_FASTPATH");

	*out = NULL;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->text = malloc(MAX_WINEVT_VALUE_BYTES)) == NULL ||
	    (w->all = malloc(MAX_WINEVT_VALUE_BYTES)) == NULL ||
	    ((fp == NULL || strcmp(fp, "0") != 0) &&
	    xmlscan_new(&w->xs) != 0)) {
		winevt_free(&w);
		return TS_ENOMEM;
	}
	*out = w;
	return 0;
}

void
winevt_free(struct winevt **wp)
{
	struct winevt *w;

	if (wp == NULL || (w = *wp) == NULL)
		return;
	if (w->xp != NULL)
		XML_ParserFree(w->xp);
	xmlscan_free(&w->xs);
	free(w->text);
	free(w->all);
	free(w);
	*wp = NULL;
}

int
winevt_decode(struct winevt *w, const char *buf, size_t len,
    struct field_arena *a, field_emit_fn emit, void *arg,
    struct winevt_info *info)
{
	size_t i = 0;

	memset(info, 0, sizeof(*info));
	w->a = a;
	w->emit = emit;
	w->arg = arg;
	w->info = info;
	w->depth = w->tdepth = 0;
	w->part = P_NONE;
	w->stop = w->refused = w->root_ok = 0;
	w->nitems = w->nparam = 0;
	w->text_len = w->all_len = 0;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
	    buf[i] == '\n'))
		i++;
	if (i >= len || len - i > MAX_LINE_BYTES)
		return 1;
	if (buf[i] == '<') {
		/* cheap test before a parser is set up: an Event element must
		 * be named in the first bytes (after an optional <?xml?>) */
		size_t look = len - i < 256 ? len - i : 256;
		const char *e = buf + i;
		int seen = 0;

		for (size_t k = 0; k + 6 <= look && !seen; k++)
			if (memcmp(e + k, "<Event", 6) == 0 ||
			    memcmp(e + k, ":Event", 6) == 0)
				seen = 1;
		if (!seen)
			return 1;
		return decode_xml(w, buf + i, len - i);
	}
	if (buf[i] == '{')
		return decode_json(w, buf + i, len - i);
	return 1;
}
