/*
 * test_xmlscan.c - the Event XML fast path (rules/xmlscan.c) against
 * expat: a table of documents, usual and unusual, and 30,000 random
 * mutations of real-shaped events (special bytes replaced, inserted,
 * deleted, spans repeated), each decoded by the Windows event decoder
 * with the fast path and with expat alone (TOCSIN_XML_FASTPATH=0); the
 * two must agree on everything the decoder reports: return code, fields
 * in order, host, time, refusal, error offset, counts.  The fast path must
 * take the usual documents itself and leave the unusual ones to expat.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "rules/rules_int.h"
#include "rules/xmlscan.h"

struct out {
	char	 b[1 << 17];
	size_t	 n;
};

static char arena_buf[FIELD_ARENA_BYTES];
static struct winevt *fast, *slow;
static struct out o1, o2;

static void
out_add(struct out *x, const char *s, size_t n)
{
	if (n > sizeof(x->b) - x->n)
		n = sizeof(x->b) - x->n;
	memcpy(x->b + x->n, s, n);
	x->n += n;
}

static int
field_cb(void *arg, const char *name, size_t nl, const char *val, size_t vl)
{
	struct out *x = arg;

	out_add(x, name, nl);
	out_add(x, "=", 1);
	out_add(x, val, vl);
	out_add(x, "\n", 1);
	return 0;
}

static int
run(struct winevt *w, struct out *x, const char *doc, size_t len)
{
	struct field_arena a = { arena_buf, 0, sizeof(arena_buf) };
	struct winevt_info wi;
	char head[256];
	int rc, n;

	x->n = 0;
	rc = winevt_decode(w, doc, len, &a, field_cb, x, &wi);
	n = snprintf(head, sizeof(head), "rc %d refused %d off %llu dropped "
	    "%zu truncated %zu time %d %llu host %.*s\n", rc, wi.refused,
	    (unsigned long long)wi.error_offset, wi.dropped, wi.truncated,
	    wi.has_time, (unsigned long long)wi.time_us,
	    wi.computer ? (int)wi.computer_len : 0,
	    wi.computer ? wi.computer : "");
	out_add(x, head, (size_t)n);
	return rc;
}

/* Decode doc both ways; fail with both outputs when they differ.  The
 * fast path's return code. */
static int
same(const char *doc, size_t len)
{
	int rc = run(fast, &o1, doc, len);

	(void)run(slow, &o2, doc, len);
	if (o1.n != o2.n || memcmp(o1.b, o2.b, o1.n) != 0)
		fail_msg("fast path and expat differ on '%.*s':\n%.*s\n--\n%.*s",
		    (int)(len < 400 ? len : 400), doc, (int)o1.n, o1.b,
		    (int)o2.n, o2.b);
	return rc;
}

static void start_cb(void *u, const char *n, const char **a)
{ (void)u; (void)n; (void)a; }
static void end_cb(void *u, const char *n) { (void)u; (void)n; }
static void text_cb(void *u, const char *s, int l) { (void)u; (void)s; (void)l; }
static int halted_cb(void *u) { (void)u; return 0; }
static const struct xmlscan_cb nop = { start_cb, end_cb, text_cb, halted_cb };

/* Whether the fast path takes doc itself (0) or leaves it to expat (1). */
static int
takes(struct xmlscan *xs, const char *doc, size_t len)
{
	int rc = xmlscan_run(xs, doc, len, MAX_WINEVT_VALUE_BYTES, &nop, NULL);

	assert_true(rc == 0 || rc == 1);
	return rc == 0;
}

static const char *const usual[] = {
	"<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">"
	"<System><Provider Name=\"Microsoft-Windows-Security-Auditing\" "
	"Guid=\"{54849625-5478-4994-A5BA-3E3B0328C30D}\"/><EventID>4625"
	"</EventID><Version>0</Version><Level>0</Level><Task>12544</Task>"
	"<Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime="
	"\"2024-03-01T10:00:00.123456Z\"/><EventRecordID>77</EventRecordID>"
	"<Correlation/><Execution ProcessID=\"636\" ThreadID=\"700\"/>"
	"<Channel>Security</Channel><Computer>dc01.corp.local</Computer>"
	"<Security UserID=\"S-1-5-18\"/></System><EventData>"
	"<Data Name=\"TargetUserName\">alice</Data><Data Name=\"LogonType\">3"
	"</Data><Data Name=\"IpAddress\">10.0.0.5</Data></EventData></Event>",
	"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
	"<System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1"
	"</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel>"
	"<Computer>ws7</Computer></System><EventData><Data Name='CommandLine'>"
	"cmd.exe /c &quot;echo &lt;a&gt; &amp; del x&quot; &#x263A; &#233;t"
	"&#233; caf\xc3\xa9 \xf0\x9f\x98\x80 a]b]>c</Data><Data Name=\"Image\" >"
	"C:\\Windows\\System32\\cmd.exe</Data><Data>unnamed</Data><Data/>"
	"<Binary>00FF</Binary></EventData></Event>",
	"  <e:Event xmlns:e=\"urn:x\"><e:System><e:EventID>5</e:EventID>"
	"<e:Computer>h&#x41;</e:Computer></e:System></e:Event>\n ",
	"<Event><System><EventID>4720</EventID><Channel>Security</Channel>"
	"</System><UserData><Info xmlns=\"u\"><User>bob</User><Group>"
	"<Name>Admins</Name></Group>mixed</Info></UserData></Event>",
	"<Other><System><EventID>1</EventID></System></Other>",
	"<Event><System><EventID a = \"&#10;x&#9;\">1</EventID></System>"
	"</Event>",
};

static const char *const unusual[] = {
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Event><System><EventID>1"
	"</EventID></System></Event>",
	"<Event><!-- c --><System/></Event>",
	"<Event><System><EventID><![CDATA[<1>]]></EventID></System></Event>",
	"<!DOCTYPE Event [<!ENTITY a \"b\">]><Event>&a;</Event>",
	"<Event>\r\n<System/></Event>",
	"<Event><System Name=\"a\tb\"/></Event>",
	"<Event><System><EventID>1</EventID></Sys",
	"<Event><System><EventID>1</Channel></System></Event>",
	"<Event a=\"1\" a=\"2\"><System/></Event>",
	"<Event><System>&foo;</System></Event>",
	"<Event><System>&#0;</System></Event>",
	"<Event><System>&#xD800;</System></Event>",
	"<Event><System>a]]>b</System></Event>",
	"<Event><System>\xc0\xaf</System></Event>",
	"<Event><System>\xed\xa0\x80</System></Event>",
	"<Event><System>\xef\xbf\xbe</System></Event>",
	"<Event><System>a\x01</System></Event>",
	"<Event><System/></Event><Event/>",
	"<Event><System/></Event>x",
	"<Event><System a=\"<\"/></Event>",
	"<Event><\xc3\xa9/></Event>",
	"<Event><System><?pi x?></System></Event>",
};

static void
test_table(void **state)
{
	struct xmlscan *xs = NULL;

	(void)state;
	assert_int_equal(xmlscan_new(&xs), 0);
	for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++) {
		if (!takes(xs, usual[i], strlen(usual[i])))
			fail_msg("the fast path leaves usual document %zu to "
			    "expat", i);
		(void)same(usual[i], strlen(usual[i]));
	}
	/* the decoder's answers on the first: the fields, host and time */
	assert_int_equal(same(usual[0], strlen(usual[0])), 0);
	assert_non_null(strstr(o1.b, "\nTargetUserName=alice\n"));
	assert_non_null(strstr(o1.b, "host dc01.corp.local"));
	assert_non_null(strstr(o1.b, "time 1 1709287200123456"));
	/* references decoded as expat decodes them */
	assert_int_equal(same(usual[1], strlen(usual[1])), 0);
	assert_non_null(strstr(o1.b, "CommandLine=cmd.exe /c \"echo <a> & "
	    "del x\" \xe2\x98\xba \xc3\xa9t\xc3\xa9 caf\xc3\xa9 "
	    "\xf0\x9f\x98\x80 a]b]>c\n"));
	/* not an Event: well-formed, taken, and not Windows (1) */
	assert_int_equal(same(usual[4], strlen(usual[4])), 1);
	for (size_t i = 0; i < sizeof(unusual) / sizeof(unusual[0]); i++) {
		if (takes(xs, unusual[i], strlen(unusual[i])))
			fail_msg("the fast path takes unusual document %zu: %s",
			    i, unusual[i]);
		(void)same(unusual[i], strlen(unusual[i]));
	}
	/* a value past the bound goes to expat, which counts the cut */
	{
		size_t n = MAX_WINEVT_VALUE_BYTES + 100, k = 0;
		char *big = malloc(n + 64);

		assert_non_null(big);
		k += (size_t)sprintf(big, "<Event><EventData><Data>");
		memset(big + k, 'x', MAX_WINEVT_VALUE_BYTES + 1);
		k += MAX_WINEVT_VALUE_BYTES + 1;
		k += (size_t)sprintf(big + k, "</Data></EventData></Event>");
		assert_false(takes(xs, big, k));
		assert_int_equal(same(big, k), 0);
		assert_non_null(strstr(o1.b, "truncated 1"));
		free(big);
	}
	xmlscan_free(&xs);
	assert_null(xs);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void
test_mutations(void **state)
{
	static const char special[] = "<>&;#x/='\" \t\r\n]!?:-.aZ09";
	static const unsigned char high[] = { 0xc3, 0xa9, 0xff, 0xed, 0x80,
	    0xef, 0xbf, 0xf0, 0x9f, 0x00 };
	struct xmlscan *xs = NULL;
	char buf[4096];
	size_t taken = 0, left = 0;

	(void)state;
	assert_int_equal(xmlscan_new(&xs), 0);
	for (int it = 0; it < 30000; it++) {
		const char *base = usual[rnd(sizeof(usual) / sizeof(usual[0]))];
		size_t n = strlen(base);
		int muts = 1 + (int)rnd(3);

		memcpy(buf, base, n);
		for (int m = 0; m < muts && n > 2; m++) {
			size_t at = rnd((uint32_t)n);
			char c = rnd(4) == 0 ? (char)high[rnd(sizeof(high))] :
			    special[rnd(sizeof(special) - 1)];

			switch (rnd(4)) {
			case 0:		/* replace */
				buf[at] = c;
				break;
			case 1:		/* insert */
				if (n + 1 >= sizeof(buf))
					break;
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = c;
				n++;
				break;
			case 2:		/* delete */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			default: {	/* repeat a span */
				size_t l = 1 + rnd(12);

				if (at + l > n || n + l >= sizeof(buf))
					break;
				memmove(buf + at + l, buf + at, n - at);
				n += l;
				break;
			}
			}
		}
		if (takes(xs, buf, n))
			taken++;
		else
			left++;
		(void)same(buf, n);
	}
	print_message("# mutations: %zu taken by the fast path, %zu left to "
	    "expat\n", taken, left);
	assert_true(taken > 1000);
	assert_true(left > 1000);
	xmlscan_free(&xs);
}

static int
setup(void **state)
{
	(void)state;
	if (setenv("TOCSIN_XML_FASTPATH", "0", 1) != 0 ||
	    winevt_new(&slow) != 0 || unsetenv("TOCSIN_XML_FASTPATH") != 0 ||
	    winevt_new(&fast) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	winevt_free(&fast);
	winevt_free(&slow);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
