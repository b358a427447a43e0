/*
 * The Autodiscover client and what update does with it, over an
 * in-process http port that answers from a table (no network): candidate
 * order, redirects, loops, hop limit, refusals, credentials, hostile XML,
 * and VerifyAutodiscover / SameSmtpDomain / poisoned profiles in the
 * engine (docs/autodiscover.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_autodiscover.h"
#include "ps_backup.h"
#include "ps_config.h"
#include "ps_engine.h"
#include "ps_error.h"
#include "ps_posix.h"
#include "ps_prop.h"
#include "ps_report.h"
#include "ps_utf.h"
#include "testutil.h"

/* ---- a table-driven http port ------------------------------------------ */

typedef struct answer {
	const char *method;
	const char *url;
	int status;             /* 0: transport error */
	const char *location;
	const char *body;
} answer;

typedef struct fake_http {
	ps_http base;
	const answer *table;
	char log[64][300];      /* "METHOD URL [cred]" */
	unsigned tmo[64];       /* each request's timeout_ms */
	int n;
	long long now;          /* the fake clock, ms */
	unsigned delay_ms;      /* every answer's, on the fake clock */
} fake_http;

static int fh_perform(ps_http *h, const ps_http_request *rq,
		      ps_http_response *rs)
{
	fake_http *f = (fake_http *)h;
	const answer *a;

	if (f->n < 64) {
		f->tmo[f->n] = rq->timeout_ms;
		snprintf(f->log[f->n++], sizeof(f->log[0]), "%s %s%s",
			 rq->method, rq->url,
			 rq->send_credentials ? " cred" : "");
	}
	for (a = f->table; a->url; a++) {
		if (strcmp(a->url, rq->url) || strcmp(a->method, rq->method))
			continue;
		if (f->delay_ms > rq->timeout_ms) {
			f->now += rq->timeout_ms;
			return ps_error_setc(PS_EIO, "%s: timed out after %u "
					     "ms", rq->url, rq->timeout_ms);
		}
		f->now += f->delay_ms;
		if (!a->status)
			return ps_error_setc(PS_EIO, "%s: unreachable",
					     rq->url);
		memset(rs, 0, sizeof(*rs));
		rs->status = a->status;
		rs->location = a->location ? strdup(a->location) : NULL;
		rs->body = strdup(a->body ? a->body : "");
		rs->body_len = strlen(rs->body);
		return 0;
	}
	return ps_error_setc(PS_EIO, "%s: host not found", rq->url);
}

static void fh_free(ps_http *h)
{
	(void)h;
}

/* SRV records: "_autodiscover._tcp.DOMAIN" -> the table's "SRV" row. */
static int fh_srv(ps_http *h, const char *name, char **host, unsigned *port)
{
	fake_http *f = (fake_http *)h;
	const answer *a;

	if (f->n < 64)
		snprintf(f->log[f->n++], sizeof(f->log[0]), "SRV %s", name);
	for (a = f->table; a->url; a++)
		if (!strcmp(a->method, "SRV") && !strcmp(a->url, name)) {
			*host = strdup(a->location);
			*port = (unsigned)a->status;
			return 0;
		}
	return PS_ENOTFOUND;
}

static long long fh_now(ps_http *h)
{
	return ((fake_http *)h)->now;
}

static const ps_http_ops fh_ops = { PS_HTTP_OPS_VERSION, fh_perform,
				    fh_free, fh_srv, NULL };
/* The same with the fake clock. */
static const ps_http_ops fh_clocked_ops = { PS_HTTP_OPS_VERSION,
					    fh_perform, fh_free, fh_srv,
					    fh_now };

static void fh_init(fake_http *f, const answer *table)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &fh_ops;
	f->table = table;
}

#define RS "<Autodiscover xmlns=\"" PS_AD_NS_RESPONSE "\">" \
	"<Response xmlns=\"" PS_AD_NS_OUTLOOK "\">"
#define RE "</Response></Autodiscover>"

#define SETTINGS(dn) RS "<User><DisplayName>Alice</DisplayName>" \
	"<LegacyDN>" dn "</LegacyDN>" \
	"<AutoDiscoverSMTPAddress>alice@contoso.com</AutoDiscoverSMTPAddress>" \
	"</User><Account><AccountType>email</AccountType>" \
	"<Action>settings</Action><Protocol><Type>EXCH</Type>" \
	"<Server>6c1d2e3f@contoso.com</Server>" \
	"<ServerDN>/o=ExchangeLabs/cn=Servers/cn=x</ServerDN></Protocol>" \
	"<Protocol Type=\"mapiHttp\" Version=\"1\"><MailStore>" \
	"<InternalUrl>https://outlook.office365.com/mapi/emsmdb/?a</InternalUrl>" \
	"<ExternalUrl>https://outlook.office365.com/mapi/emsmdb/?b</ExternalUrl>" \
	"</MailStore><AddressBook>" \
	"<InternalUrl>https://outlook.office365.com/mapi/nspi/?c</InternalUrl>" \
	"<ExternalUrl>https://outlook.office365.com/mapi/nspi/?d</ExternalUrl>" \
	"</AddressBook></Protocol></Account>" RE

#define U_ROOT "https://contoso.com/autodiscover/autodiscover.xml"
#define U_AUTOD "https://autodiscover.contoso.com/autodiscover/autodiscover.xml"
#define U_PROBE "http://autodiscover.contoso.com/autodiscover/autodiscover.xml"
#define U_EXO "https://autodiscover-s.outlook.com/autodiscover/autodiscover.xml"

typedef struct client {
	fake_http http;
	ps_xml *xml;
	ps_ad_result res;
} client;

static int discover(client *c, const answer *table, const char *email,
		    const char *url)
{
	ps_ad_opts o;

	fh_init(&c->http, table);
	assert_int_equal(ps_posix_xml_new(&c->xml), 0);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.send_credentials = 1;
	return ps_ad_discover(&c->http.base, c->xml, email, &o, &c->res);
}

static void client_done(client *c)
{
	ps_ad_result_free(&c->res);
	ps_xml_free(c->xml);
}

static void test_candidates_in_order(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 0, NULL, NULL },
		{ "POST", U_AUTOD, 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_string_equal(c.res.settings.legacy_dn, "/o=T/cn=alice");
	assert_string_equal(c.res.url, U_AUTOD);
	assert_int_equal(c.http.n, 2);
	assert_string_equal(c.http.log[0], "POST " U_ROOT " cred");
	assert_string_equal(c.http.log[1], "POST " U_AUTOD " cred");
	assert_non_null(ps_ad_protocol_find(&c.res.settings, "mapiHttp"));
	assert_string_equal(ps_ad_protocol_find(&c.res.settings, "MAPIHTTP")
			    ->addressbook_external,
			    "https://outlook.office365.com/mapi/nspi/?d");
	client_done(&c);
}

static void test_configured_url_is_the_only_candidate(void **state)
{
	static const answer t[] = {
		{ "POST", U_EXO, 401, NULL, "" },
		{ "POST", U_ROOT, 200, NULL, SETTINGS("/o=S/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", U_EXO), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 1);
	assert_non_null(strstr(c.res.reason, "HTTP 401"));
	client_done(&c);
}

static void test_redirect_addr_restarts_for_new_domain(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 200, NULL, RS "<Account><Action>redirectAddr"
		  "</Action><RedirectAddr>alice@contoso.mail.onmicrosoft.com"
		  "</RedirectAddr></Account>" RE },
		{ "POST", "https://contoso.mail.onmicrosoft.com/autodiscover/"
		  "autodiscover.xml", 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_string_equal(c.res.email, "alice@contoso.mail.onmicrosoft.com");
	client_done(&c);
}

static void test_redirect_url_and_credentials_dropped(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 200, NULL, RS "<Account><Action>redirectUrl"
		  "</Action><RedirectURL>" U_EXO "</RedirectURL></Account>"
		  RE },
		{ "POST", U_EXO, 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	/* another host: no credentials there */
	assert_string_equal(c.http.log[1], "POST " U_EXO);
	client_done(&c);
}

static void test_redirect_loop(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 302, U_AUTOD, "" },
		{ "POST", U_AUTOD, 302, U_ROOT, "" },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_non_null(strstr(c.res.reason, "redirect loop"));
	assert_true(c.http.n <= 10);
	client_done(&c);
}

static void test_hop_limit(void **state)
{
	static answer t[16];
	static char urls[16][80];
	client c;
	int i;

	(void)state;
	for (i = 0; i < 14; i++) {
		snprintf(urls[i], sizeof(urls[i]),
			 "https://h%d.contoso.com/autodiscover/autodiscover.xml",
			 i);
	}
	for (i = 0; i < 13; i++) {
		t[i].method = "POST";
		t[i].url = urls[i];
		t[i].status = 302;
		t[i].location = urls[i + 1];
	}
	assert_int_equal(discover(&c, t, "alice@contoso.com", urls[0]), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 10);
	assert_non_null(strstr(c.res.reason, "more than 10 hops"));
	client_done(&c);
	/* At the limit: the 10th address answers, and that is used. */
	memset(t, 0, sizeof(t));
	for (i = 0; i < 9; i++) {
		t[i].method = "POST";
		t[i].url = urls[i];
		t[i].status = 302;
		t[i].location = urls[i + 1];
	}
	t[9].method = "POST";
	t[9].url = urls[9];
	t[9].status = 200;
	t[9].body = SETTINGS("/o=T/cn=alice");
	assert_int_equal(discover(&c, t, "alice@contoso.com", urls[0]), 0);
	assert_true(c.res.found);
	assert_int_equal(c.http.n, 10);
	client_done(&c);
}

static void test_plain_http_elsewhere_refused(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 302, NULL, NULL },
		{ "POST", U_AUTOD, 302,
		  "http://evil.example/autodiscover/autodiscover.xml", "" },
		{ "GET", U_PROBE, 302,
		  "https://autodiscover.evil.example/autodiscover/"
		  "autodiscover.xml", "" },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;
	int i;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_non_null(strstr(c.res.reason, "refused plain HTTP"));
	assert_non_null(strstr(c.res.reason, "not in the user's domain"));
	for (i = 0; i < c.http.n; i++)
		assert_null(strstr(c.http.log[i], "evil"));
	client_done(&c);
}

static void test_probe_redirect_followed_in_domain(void **state)
{
	static const answer t[] = {
		{ "GET", U_PROBE, 302, "https://mail.contoso.com/autodiscover/"
		  "autodiscover.xml", "" },
		{ "POST", "https://mail.contoso.com/autodiscover/"
		  "autodiscover.xml", 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_string_equal(c.http.log[2], "GET " U_PROBE);
	client_done(&c);
}

/* SRV comes last and is untrusted: its target outside the domain gets
 * the request without credentials. */
static void test_srv_last_and_untrusted(void **state)
{
	static const answer t[] = {
		{ "SRV", "_autodiscover._tcp.contoso.com", 8443,
		  "mail.hoster.example", NULL },
		{ "POST", "https://mail.hoster.example:8443/autodiscover/"
		  "autodiscover.xml", 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_int_equal(c.http.n, 5);
	assert_string_equal(c.http.log[3], "SRV _autodiscover._tcp.contoso.com");
	assert_string_equal(c.http.log[4], "POST https://mail.hoster.example:"
			    "8443/autodiscover/autodiscover.xml");
	client_done(&c);
}

/* An untrusted server (reached by SRV) cannot move credentials to a
 * domain of its choosing with redirectAddr. */
static void test_untrusted_redirect_addr_gets_no_credentials(void **state)
{
	static const answer t[] = {
		{ "SRV", "_autodiscover._tcp.contoso.com", 443,
		  "mail.hoster.example", NULL },
		{ "POST", "https://mail.hoster.example/autodiscover/"
		  "autodiscover.xml", 200, NULL, RS "<Account><Action>"
		  "redirectAddr</Action><RedirectAddr>alice@evil.example"
		  "</RedirectAddr></Account>" RE },
		{ "POST", "https://evil.example/autodiscover/autodiscover.xml",
		  200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;
	int i;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_false(c.res.trusted);
	for (i = 0; i < c.http.n; i++)
		if (strstr(c.http.log[i], "evil.example"))
			assert_null(strstr(c.http.log[i], "cred"));
	client_done(&c);
}

/* A trusted server's redirectAddr extends trust to the new domain; and
 * an address that leads nowhere gives the original one back. */
static void test_redirect_addr_trust_and_fallback(void **state)
{
	static const answer t1[] = {
		{ "POST", U_ROOT, 200, NULL, RS "<Account><Action>redirectAddr"
		  "</Action><RedirectAddr>alice@contoso.mail.onmicrosoft.com"
		  "</RedirectAddr></Account>" RE },
		{ "POST", "https://contoso.mail.onmicrosoft.com/autodiscover/"
		  "autodiscover.xml", 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer t2[] = {
		{ "POST", U_ROOT, 200, NULL, RS "<Account><Action>redirectAddr"
		  "</Action><RedirectAddr>bob@fabrikam.com</RedirectAddr>"
		  "</Account>" RE },
		{ "POST", U_AUTOD, 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t1, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_true(c.res.trusted);
	assert_string_equal(c.http.log[1], "POST https://contoso.mail."
			    "onmicrosoft.com/autodiscover/autodiscover.xml "
			    "cred");
	client_done(&c);
	assert_int_equal(discover(&c, t2, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_string_equal(c.res.email, "alice@contoso.com");
	assert_string_equal(c.res.url, U_AUTOD);
	client_done(&c);
}

/* "127." as a name prefix is not this machine; and plain http even to
 * this machine only when the configured URL is local. */
static void test_loopback_is_parsed(void **state)
{
	static const answer t[] = {
		{ "POST", U_AUTOD, 302, "http://127.evil.example/autodiscover/"
		  "autodiscover.xml", "" },
		{ "POST", U_ROOT, 302, "http://127.0.0.1:8080/x", "" },
		{ "POST", "http://127.0.0.1:9/a", 302, "http://127.0.0.2/b",
		  "" },
		{ "POST", "http://127.0.0.2/b", 200, NULL,
		  SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;
	int i;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	for (i = 0; i < c.http.n; i++)
		assert_null(strstr(c.http.log[i], "POST http://"));
	client_done(&c);
	assert_int_equal(discover(&c, t, "alice@contoso.com",
				  "http://127.0.0.1:9/a"), 0);
	assert_true(c.res.found);
	client_done(&c);
}

static void test_never_a_stripped_domain(void **state)
{
	static const answer t[] = { { NULL, NULL, 0, NULL, NULL } };
	client c;
	int i;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@eu.contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 4);
	assert_string_equal(c.http.log[3], "SRV _autodiscover._tcp."
			    "eu.contoso.com");
	for (i = 0; i < 3; i++) {
		assert_non_null(strstr(c.http.log[i], "eu.contoso.com/"));
		assert_null(strstr(c.http.log[i], "autodiscover.contoso.com"));
	}
	client_done(&c);
}

static void test_error_and_hostile_answers(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 200, NULL, "<Autodiscover xmlns=\""
		  PS_AD_NS_RESPONSE "\"><Response><Error><ErrorCode>500"
		  "</ErrorCode><Message>The email address can't be found."
		  "</Message></Error></Response></Autodiscover>" },
		{ "POST", U_AUTOD, 200, NULL, "<?xml version=\"1.0\"?>"
		  "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		  RS "<User><LegacyDN>&x;</LegacyDN></User>" RE },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_non_null(strstr(c.res.reason, "Autodiscover error 500: The "
				"email address can't be found."));
	assert_non_null(strstr(c.res.reason, "DOCTYPE"));
	client_done(&c);
}

/* Server text in hop lines and reasons: no C0, DEL or C1 control and
 * no invalid UTF-8 reaches a terminal or a log. */
static int clean_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f ||
		    (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			return 0;
	return ps_utf8_valid(s, strlen(s));
}

static void test_hop_lines_sanitised(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 302, "https://contoso.com/a\xC2\x9B" "2J"
		  "\x1b]0;x\a\xFF", "" },
		{ "POST", U_AUTOD, 200, NULL, "<Autodiscover xmlns=\""
		  PS_AD_NS_RESPONSE "\"><Response><Error><ErrorCode>5"
		  "</ErrorCode><Message>bad\xC2\x85line&#x9b;[31m"
		  "</Message></Error></Response></Autodiscover>" },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;
	size_t i;

	(void)state;
	assert_int_equal(discover(&c, t, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	for (i = 0; i < c.res.hops.n; i++)
		if (!clean_text(c.res.hops.v[i]))
			fail_msg("hop line %zu not clean: %s", i,
				 c.res.hops.v[i]);
	assert_true(clean_text(c.res.reason));
	assert_non_null(strstr(c.res.reason, "https://contoso.com/a?2J?]0;"
				"x??"));
	assert_non_null(strstr(c.res.reason, "bad?line?[31m"));
	client_done(&c);
}

#define HOSTS(server, url) RS "<User><LegacyDN>/o=T/cn=alice</LegacyDN>" \
	"</User><Account><Action>settings</Action><Protocol>" \
	"<Type>EXCH</Type>" \
	"<Server>" server "</Server></Protocol><Protocol Type=\"mapiHttp\">" \
	"<MailStore><ExternalUrl>" url "</ExternalUrl></MailStore>" \
	"</Protocol></Account>" RE

/* Issue 15 item 15: host names taken from a (trusted) answer go into
 * the profile: letters, digits, '-', '.', or GUID@domain; anything else
 * refuses the whole answer with the reason. */
static void test_answer_host_names_checked(void **state)
{
	static const struct {
		const char *body;
		const char *why;       /* NULL: accepted */
	} cases[] = {
		{ HOSTS("6c1d2e3f-aa01-4b2c-9d3e-0123456789ab@contoso.com",
			"https://outlook.office365.com/mapi/emsmdb/?a=b"),
		  NULL },
		{ HOSTS("EXCH01", "https://exch01.contoso.local:444/mapi/"),
		  NULL },
		{ HOSTS("exch\n01.contoso.com", "https://x.contoso.com/"),
		  "Server of protocol EXCH" },
		{ HOSTS("exch01\t.contoso.com", "https://x.contoso.com/"),
		  "Server of protocol EXCH" },
		{ HOSTS("a@b@contoso.com", "https://x.contoso.com/"),
		  "Server of protocol EXCH" },
		{ HOSTS("@contoso.com", "https://x.contoso.com/"),
		  "Server of protocol EXCH" },
		{ HOSTS("g_u_i_d@contoso.com", "https://x.contoso.com/"),
		  "Server of protocol EXCH" },
		{ HOSTS("exch01", "https://evil\n.com/mapi/"),
		  "MailStore ExternalUrl of protocol mapiHttp" },
		{ HOSTS("exch01", "https://x.contoso.com/mapi/\tx"),
		  "MailStore ExternalUrl of protocol mapiHttp" },
		{ HOSTS("exch01", "https://user@x.contoso.com/"),
		  "MailStore ExternalUrl of protocol mapiHttp" },
		{ HOSTS("exch01", "https://x_y.contoso.com/"),
		  "MailStore ExternalUrl of protocol mapiHttp" },
	};
	answer t[] = {
		{ "POST", U_EXO, 200, NULL, NULL },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t[0].body = cases[i].body;
		assert_int_equal(discover(&c, t, "alice@contoso.com", U_EXO),
				 0);
		if (!cases[i].why) {
			if (!c.res.found)
				fail_msg("case %zu refused: %s", i,
					 c.res.reason);
		} else {
			if (c.res.found)
				fail_msg("case %zu accepted", i);
			assert_non_null(strstr(c.res.reason,
					       "answer refused"));
			if (!strstr(c.res.reason, cases[i].why))
				fail_msg("case %zu: %s", i, c.res.reason);
		}
		client_done(&c);
	}
}

/* Issue 15 item 4: the budget bounds the whole discovery.  On the
 * port's clock each request gets at most what is left, and none starts
 * once it is spent; a port without a clock is charged each request's
 * whole timeout. */
static void test_budget_bounds_discovery(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 302, U_AUTOD, "" },
		{ "POST", U_AUTOD, 302, U_EXO, "" },
		{ "POST", U_EXO, 200, NULL, SETTINGS("/o=T/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	ps_ad_opts o;
	client c;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.budget_ms = 10000;
	fh_init(&c.http, t);
	c.http.base.ops = &fh_clocked_ops;
	c.http.delay_ms = 4000;
	c.http.now = 5000000;
	assert_int_equal(ps_posix_xml_new(&c.xml), 0);
	assert_int_equal(ps_ad_discover(&c.http.base, c.xml,
					"alice@contoso.com", &o, &c.res), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 3);
	assert_int_equal(c.http.tmo[0], 10000);
	assert_int_equal(c.http.tmo[1], 6000);
	assert_int_equal(c.http.tmo[2], 2000);
	assert_int_equal(c.http.now, 5000000 + 10000);
	assert_non_null(strstr(c.res.reason, "timed out after 2000 ms"));
	assert_non_null(strstr(c.res.reason, "time budget of 10 s used up"));
	client_done(&c);
	/* The same with enough time: found. */
	o.budget_ms = 12500;
	fh_init(&c.http, t);
	c.http.base.ops = &fh_clocked_ops;
	c.http.delay_ms = 4000;
	assert_int_equal(ps_posix_xml_new(&c.xml), 0);
	assert_int_equal(ps_ad_discover(&c.http.base, c.xml,
					"alice@contoso.com", &o, &c.res), 0);
	assert_true(c.res.found);
	assert_int_equal(c.http.tmo[2], 4500);
	client_done(&c);
	/* No clock: 45 s are one whole request (30 s) and 15 s, then
	 * nothing; the SRV lookup is not asked either. */
	o.budget_ms = 45000;
	fh_init(&c.http, t + 1);
	assert_int_equal(ps_posix_xml_new(&c.xml), 0);
	assert_int_equal(ps_ad_discover(&c.http.base, c.xml,
					"alice@fabrikam.com", &o, &c.res), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 2);
	assert_int_equal(c.http.tmo[0], 30000);
	assert_int_equal(c.http.tmo[1], 15000);
	assert_non_null(strstr(c.res.reason, "time budget of 45 s used up"));
	client_done(&c);
	/* The SRV lookup, which cannot be cut short, is asked only when
	 * its 2 s are left: here 1.5 s after the probe. */
	o.budget_ms = 91500;
	fh_init(&c.http, t + 3);
	assert_int_equal(ps_posix_xml_new(&c.xml), 0);
	assert_int_equal(ps_ad_discover(&c.http.base, c.xml,
					"alice@fabrikam.com", &o, &c.res), 0);
	assert_int_equal(c.http.n, 3);
	assert_non_null(strstr(c.http.log[2], "GET"));
	assert_int_equal(c.http.tmo[2], 30000);
	assert_non_null(strstr(c.res.hops.v[c.res.hops.n - 1], "SRV "
			       "_autodiscover._tcp.fabrikam.com: not asked"));
	client_done(&c);
}

static void test_bad_address(void **state)
{
	static const answer t[] = { { NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(discover(&c, t, "alice", NULL), PS_EFORMAT);
	ps_xml_free(c.xml);
	assert_int_equal(discover(&c, t, "a@b@c", NULL), PS_EFORMAT);
	ps_xml_free(c.xml);
	assert_int_equal(discover(&c, t, "a@-x.com", NULL), PS_EFORMAT);
	ps_xml_free(c.xml);
	assert_int_equal(c.http.n, 0);
}

/* ---- parser ------------------------------------------------------------- */

static int parse(const char *body, ps_ad_response *r)
{
	ps_xml *x;
	int rc;

	assert_int_equal(ps_posix_xml_new(&x), 0);
	rc = ps_ad_parse(x, body, strlen(body), r);
	ps_xml_free(x);
	return rc;
}

static void test_parse_prefixes_and_foreign_namespaces(void **state)
{
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse("<a:Autodiscover xmlns:a=\"" PS_AD_NS_RESPONSE
		"\"><b:Response xmlns:b=\"" PS_AD_NS_OUTLOOK "\"><b:User>"
		"<b:LegacyDN> /o=T/cn=x </b:LegacyDN>"
		"<z:DisplayName xmlns:z=\"urn:other\">evil</z:DisplayName>"
		"</b:User><b:Account><b:Action>settings</b:Action>"
		"<b:Protocol><b:Type>WEB</b:Type><b:Internal><b:Server>no"
		"</b:Server></b:Internal></b:Protocol>"
		"</b:Account></b:Response></a:Autodiscover>", &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_string_equal(r.legacy_dn, "/o=T/cn=x");
	assert_null(r.display_name);
	assert_int_equal(r.nprotocols, 1);
	assert_null(r.protocols[0].server);
	ps_ad_response_free(&r);
}

static void test_parse_error_under_account(void **state)
{
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(RS "<Account><Error><ErrorCode>603</ErrorCode>"
			       "<Message>no</Message></Error></Account>" RE,
			       &r), 0);
	assert_int_equal(r.kind, PS_AD_ERROR);
	assert_string_equal(r.error_code, "603");
	ps_ad_response_free(&r);
}

static void test_parse_refusals(void **state)
{
	ps_ad_response r;
	char *big, *deep;
	size_t i;

	(void)state;
	assert_int_equal(parse("<?xml version=\"1.0\"?><!DOCTYPE lolz ["
		"<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">"
		"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;\">]>" RS
		"<User><LegacyDN>&lol3;</LegacyDN></User>" RE, &r),
		PS_EFORMAT);
	assert_null(r.legacy_dn);
	assert_int_equal(parse(RS "<Account><Action>redirectAddr</Action>"
			       "</Account>" RE, &r), PS_EFORMAT);
	assert_int_equal(parse(RS "<User><LegacyDN>x</LegacyDN>", &r),
			 PS_EFORMAT);
	assert_int_equal(parse("<Autodiscover><Response/></Autodiscover>",
			       &r), PS_EFORMAT);
	big = malloc(PS_AD_MAX_BODY + 100);
	memset(big, ' ', PS_AD_MAX_BODY + 99);
	big[PS_AD_MAX_BODY + 99] = '\0';
	assert_int_equal(parse(big, &r), PS_ELIMIT);
	free(big);
	deep = malloc(100 * 7 + 200);
	strcpy(deep, RS "<Account>");
	for (i = 0; i < 100; i++)
		strcat(deep, "<x>");
	assert_int_equal(parse(deep, &r), PS_EFORMAT);
	free(deep);
	big = malloc(40 * 60 + 400);
	strcpy(big, RS "<Account><Action>settings</Action>");
	for (i = 0; i < 33; i++)
		strcat(big, "<Protocol><Type>EXCH</Type></Protocol>");
	strcat(big, "</Account>" RE);
	assert_int_equal(parse(big, &r), PS_ELIMIT);
	free(big);
}

static void test_request_body(void **state)
{
	char *b = ps_ad_request_body("a&b@x.com", 0);

	(void)state;
	assert_non_null(strstr(b, "<EMailAddress>a&amp;b@x.com</EMailAddress>"));
	assert_non_null(strstr(b, "<AcceptableResponseSchema>" PS_AD_NS_OUTLOOK
			       "</AcceptableResponseSchema>"));
	free(b);
	b = ps_ad_request_body("/o=T/cn=x", 1);
	assert_non_null(strstr(b, "<LegacyDN>/o=T/cn=x</LegacyDN>"));
	free(b);
}

/* ---- the engine --------------------------------------------------------- */

#define MAP_AD "SourceLegacyDN|TargetLegacyDN|TargetSMTP|SourceSMTP\n" \
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com|alice@fabrikam.com\n"
#define U_CFG "https://autodiscover.contoso.com/autodiscover/autodiscover.xml"

typedef struct ectx {
	ps_store *store;
	ps_system *sys;
	ps_config cfg;
	ps_mapping *map;
	ps_report report;
	fake_http http;
	ps_xml *xml;
	ps_regtree original;
	char drive[256];
} ectx;

static void ectx_open(ectx *c, const answer *table)
{
	ps_regtree t;

	memset(c, 0, sizeof(*c));
	tu_fixture(&t);
	tu_tree_copy(&c->original, &t);
	assert_int_equal(ps_fakestore_from_tree(&c->store, &t, NULL, NULL),
			 0);
	assert_int_equal(ps_config_init(&c->cfg), 0);
	c->map = tu_mapping(MAP_AD);
	fh_init(&c->http, table);
	assert_int_equal(ps_posix_xml_new(&c->xml), 0);
	assert_int_equal(ps_posix_system_new(&c->sys), 0);
	snprintf(c->drive, sizeof(c->drive), "/tmp/ps-adtest-%d",
		 (int)getpid());
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", c->drive);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(mkdir(c->drive, 0700), 0);
	setenv("PROFSWITCH_DRIVE_C", c->drive, 1);
	setenv("LOCALAPPDATA", "C:\\Users\\alice\\AppData\\Local", 1);
}

static void ectx_close(ectx *c)
{
	char cmd[300];

	ps_store_free(c->store);
	ps_sys_free(c->sys);
	ps_config_free(&c->cfg);
	ps_mapping_free(c->map);
	ps_report_free(&c->report);
	ps_regtree_free(&c->original);
	ps_xml_free(c->xml);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->drive);
	assert_int_equal(system(cmd), 0);
}

static void ectx_engine(ectx *c, ps_engine *e)
{
	memset(e, 0, sizeof(*e));
	e->store = c->store;
	e->sys = c->sys;
	e->cfg = &c->cfg;
	e->map = c->map;
	e->report = &c->report;
	e->http = &c->http.base;
	e->xml = c->xml;
}

/* SameSmtpDomain=1 with the target URL U_CFG. */
static void same_domain(ectx *c)
{
	c->cfg.same_smtp_domain = 1;
	c->cfg.autodiscover_target_url = strdup(U_CFG);
}

typedef enum { UPDATE, ROLLBACK, CLEANUP } op;

static int erun(ectx *c, op what)
{
	ps_engine e;
	ps_strlist profiles = PS_STRLIST_INIT;
	int error, nothing;

	ectx_engine(c, &e);
	ps_report_free(&c->report);
	error = ps_engine_profiles(&e, NULL, 0, &profiles);
	if (!error && what == UPDATE)
		error = ps_engine_update(&e, &profiles);
	else if (!error && what == ROLLBACK)
		error = ps_engine_rollback(&e, &profiles, &nothing);
	else if (!error)
		error = ps_engine_cleanup(&e, &profiles, &nothing);
	ps_engine_free(&e);
	ps_strlist_free(&profiles);
	return error;
}

static const ps_row *row_of(ectx *c, const char *account)
{
	size_t i;

	for (i = 0; i < c->report.n; i++)
		if (!strcmp(c->report.v[i].account, account))
			return &c->report.v[i];
	fail_msg("no row for %s", account);
	return NULL;
}

static void test_verify_wrong_legacydn_fails(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 200, NULL, SETTINGS("/o=Other/cn=alice") },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	ectx_open(&c, t);
	c.cfg.verify_autodiscover = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_FAILED);
	assert_true(r->ad_failed);
	assert_non_null(strstr(r->detail, "points to wrong Exchange server"));
	assert_int_equal(ps_report_exit_bits(&c.report) & 9, 9);
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
}

static void test_verify_writes_returned_urls(void **state)
{
	static const answer t[] = {
		{ "POST", U_ROOT, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	char *v;

	(void)state;
	ectx_open(&c, t);
	c.cfg.verify_autodiscover = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(row_of(&c, "alice@fabrikam.com")->status,
			 PS_ST_UPDATED);
	v = tu_get_string(ps_fakestore_tree(c.store), "Outlook", TU_EMS_A,
			  0x6655001F);
	assert_string_equal(v, "https://outlook.office365.com/mapi/nspi/?d");
	free(v);
	v = tu_get_string(ps_fakestore_tree(c.store), "Outlook", TU_EMS_A,
			  0x6602001E);
	/* R3 without TargetServer: the answer's EXCH server */
	assert_non_null(v);
	assert_string_equal(v, "6c1d2e3f@contoso.com");
	free(v);
	ectx_close(&c);
}

static int file_exists(ectx *c, const char *rel)
{
	char p[600];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", c->drive, rel);
	return stat(p, &st) == 0;
}

#define LOCAL_XML "Users/alice/AppData/Local/Microsoft/Outlook/" \
	"profswitch-contoso.com.xml"

static void test_same_smtp_domain_pins_and_rolls_back(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	uint32_t type;
	uint8_t *data;
	size_t len;

	(void)state;
	ectx_open(&c, t);
	same_domain(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(row_of(&c, "alice@fabrikam.com")->status,
			 PS_ST_UPDATED);
	assert_true(file_exists(&c, LOCAL_XML));
	assert_int_equal(ps_store_get_value(c.store, "AutoDiscover",
					    "PreferLocalXML", &type, &data,
					    &len), 0);
	assert_int_equal(type, PS_REG_DWORD);
	assert_int_equal(data[0], 1);
	free(data);
	assert_int_equal(ps_store_get_value(c.store, "AutoDiscover",
					    "contoso.com", &type, &data,
					    &len), 0);
	assert_int_equal(type, PS_REG_SZ);
	free(data);
	/* only the one verification request was made */
	assert_int_equal(c.http.n, 1);
	assert_int_equal(erun(&c, ROLLBACK), 0);
	assert_false(file_exists(&c, LOCAL_XML));
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
}

static void test_same_smtp_domain_cleanup_removes_pins(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	uint32_t type;
	uint8_t *data;
	size_t len;

	(void)state;
	ectx_open(&c, t);
	same_domain(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(erun(&c, CLEANUP), 0);
	assert_false(file_exists(&c, LOCAL_XML));
	assert_int_equal(ps_store_get_value(c.store, "AutoDiscover",
					    "PreferLocalXML", &type, &data,
					    &len), PS_ENOTFOUND);
	/* the profile stays updated */
	data = (uint8_t *)tu_get_string(ps_fakestore_tree(c.store), "Outlook",
					TU_EMS_A, 0x6603001E);
	assert_string_equal((char *)data, TU_ALICE_TGT);
	free(data);
	ectx_close(&c);
}

/* The store cannot be written at the end: the local XML goes too. */
static void test_same_smtp_domain_flush_failure_takes_file_back(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	ps_engine e;
	ps_strlist profiles = PS_STRLIST_INIT;
	ps_store *inner;

	(void)state;
	ectx_open(&c, t);
	inner = c.store;
	assert_int_equal(ps_faultstore_wrap(&c.store, inner), 0);
	/* The first flush puts the pending backup on disk before the
	 * local XML is written; the second, at the end, fails. */
	ps_faultstore_arm(c.store, PS_FAULT_FLUSH, 2, 1);
	same_domain(&c);
	ectx_engine(&c, &e);
	assert_int_equal(ps_engine_profiles(&e, NULL, 0, &profiles), 0);
	assert_int_equal(ps_engine_update(&e, &profiles), 0);
	assert_true(file_exists(&c, LOCAL_XML));
	assert_int_equal(ps_engine_commit(&e), PS_EIO);
	assert_false(file_exists(&c, LOCAL_XML));
	assert_int_equal(row_of(&c, "alice@fabrikam.com")->status,
			 PS_ST_FAILED);
	ps_engine_free(&e);
	ps_strlist_free(&profiles);
	ectx_close(&c);
}

/* Two accounts verified in one profile, each at its own URL: both
 * results stay valid while the cache grows. */
static void test_verify_two_accounts(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ "POST", U_EXO, 200, NULL, SETTINGS(TU_SALES_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	char *v;

	(void)state;
	ectx_open(&c, t);
	ps_mapping_free(c.map);
	c.map = tu_mapping("SourceLegacyDN|TargetLegacyDN|TargetSMTP|"
			   "TargetAutodiscoverURL\n"
			   TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com|"
			   U_CFG "\n"
			   TU_SALES_SRC "|" TU_SALES_TGT "|sales@contoso.com|"
			   U_EXO "\n");
	c.cfg.verify_autodiscover = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(ps_report_exit_bits(&c.report), 0);
	assert_int_equal(c.http.n, 2);
	v = tu_get_string(ps_fakestore_tree(c.store), "Outlook", TU_EMS_A,
			  0x6652001F);
	assert_string_equal(v, "https://outlook.office365.com/mapi/emsmdb/?a");
	free(v);
	v = tu_get_string(ps_fakestore_tree(c.store), "Outlook", TU_EMS_S,
			  0x6655001F);
	assert_string_equal(v, "https://outlook.office365.com/mapi/nspi/?d");
	free(v);
	ectx_close(&c);
}

/* Without a LocalAppData folder the pins cannot be written: the unit
 * fails before anything of it changes. */
static void test_same_smtp_domain_needs_local_appdata(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	ectx_open(&c, t);
	unsetenv("LOCALAPPDATA");
	same_domain(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_FAILED);
	assert_non_null(strstr(r->detail, "LocalAppData"));
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
}

/* A local XML already as wanted (another profile of the user wrote it)
 * is neither rewritten nor recorded: rolling this profile back keeps it. */
static void test_same_smtp_domain_shared_file_kept(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	char path[600], *copy;
	FILE *f;
	long n;

	(void)state;
	ectx_open(&c, t);
	same_domain(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	snprintf(path, sizeof(path), "%s/%s", c.drive, LOCAL_XML);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	copy = malloc((size_t)n);
	assert_int_equal(fread(copy, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_int_equal(erun(&c, ROLLBACK), 0);
	assert_false(file_exists(&c, LOCAL_XML));
	/* the same file, written by "another profile" */
	f = fopen(path, "wb");
	assert_int_equal(fwrite(copy, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	free(copy);
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(erun(&c, ROLLBACK), 0);
	assert_true(file_exists(&c, LOCAL_XML));
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
}

/* cleanup removes the local XML; a store that cannot be written at the
 * end brings it back. */
static void test_cleanup_flush_failure_takes_file_back(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	ps_engine e;
	ps_strlist profiles = PS_STRLIST_INIT;
	int nothing;

	(void)state;
	ectx_open(&c, t);
	same_domain(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_true(file_exists(&c, LOCAL_XML));
	{
		ps_store *inner = c.store;

		assert_int_equal(ps_faultstore_wrap(&c.store, inner), 0);
	}
	ps_faultstore_arm(c.store, PS_FAULT_FLUSH, 1, 1);
	ectx_engine(&c, &e);
	e.http = NULL;
	e.xml = NULL;
	ps_report_free(&c.report);
	assert_int_equal(ps_engine_profiles(&e, NULL, 0, &profiles), 0);
	assert_int_equal(ps_engine_cleanup(&e, &profiles, &nothing), 0);
	assert_false(file_exists(&c, LOCAL_XML));
	assert_int_equal(ps_engine_commit(&e), PS_EIO);
	assert_true(file_exists(&c, LOCAL_XML));
	ps_engine_free(&e);
	ps_strlist_free(&profiles);
	ectx_close(&c);
}

static void test_same_smtp_domain_needs_url(void **state)
{
	static const answer t[] = { { NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	ectx_open(&c, t);
	c.cfg.same_smtp_domain = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_FAILED);
	assert_non_null(strstr(r->detail, "needs AutodiscoverTargetURL"));
	assert_int_equal(c.http.n, 0);
	ectx_close(&c);
}

/* Autodiscover ran after the move: alice's profile is on the source DN
 * but her MAPI/HTTP URL points at the target. */
static void poison(ectx *c)
{
	ps_regtree *t = ps_fakestore_tree(c->store);

	tu_set_uni(t, "Outlook", TU_EMS_A, 0x6652,
		   "https://outlook.office365.com/mapi/emsmdb/?x");
	tu_set_uni(t, "Outlook", TU_EMS_A, 0x664A,
		   "https://autodiscover-s.outlook.com/autodiscover/"
		   "autodiscover.xml");
	ps_regtree_free(&c->original);
	tu_tree_copy(&c->original, t);
}

static void test_poisoned_detected_and_blocked(void **state)
{
	static const answer t[] = { { NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	ectx_open(&c, t);
	c.cfg.autodiscover_target_url = strdup(U_EXO);
	ps_mapping_free(c.map);
	c.map = tu_mapping("SourceLegacyDN|TargetLegacyDN|TargetSMTP|"
			   "TargetServer\n" TU_ALICE_SRC "|" TU_ALICE_TGT
			   "|alice@contoso.com|outlook.office365.com\n");
	poison(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_BLOCKED_POISONED);
	assert_non_null(strstr(r->detail, "001f6652"));
	assert_non_null(strstr(r->detail, "points to the target"));
	assert_int_equal(ps_report_exit_bits(&c.report) & 4, 4);
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
}

/* A cached Autodiscover file is evidence up to PS_AD_MAX_BODY bytes
 * (docs/security.md "Limits"): at the limit it is read and counts; one
 * byte past it is left out (and logged), never a failure of the run. */
static void cached_file(ectx *c, size_t size)
{
	char path[512], src[512];
	FILE *in, *out;
	size_t n = 0;
	int ch;

	snprintf(path, sizeof(path), "mkdir -p '%s/Users/alice/AppData/Local/"
		 "Microsoft/Outlook'", c->drive);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/Users/alice/AppData/Local/Microsoft/"
		 "Outlook/3d5c1f8e0b7a4e2c - Autodiscover.xml", c->drive);
	snprintf(src, sizeof(src), "%s/scenarios/autodiscover-poisoned-detect/"
		 "files/Users/alice/AppData/Local/Microsoft/Outlook/"
		 "3d5c1f8e0b7a4e2c - Autodiscover.xml", PS_SOURCE_DIR);
	in = fopen(src, "rb");
	out = fopen(path, "wb");
	assert_non_null(in);
	assert_non_null(out);
	while ((ch = fgetc(in)) != EOF && n < size) {
		fputc(ch, out);
		n++;
	}
	/* XML allows white space after the root element. */
	for (; n < size; n++)
		fputc(' ', out);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static void test_cached_file_size_limit(void **state)
{
	static const answer t[] = { { NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	ectx_open(&c, t);
	c.cfg.autodiscover_target_url = strdup(U_EXO);
	ps_mapping_free(c.map);
	c.map = tu_mapping("SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
			   TU_ALICE_SRC "|/o=ExchangeLabs/ou=Exchange "
			   "Administrative Group (FYDIBOHF23SPDLT)/cn="
			   "Recipients/cn=1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6-alice"
			   "|alice@contoso.com\n");
	cached_file(&c, PS_AD_MAX_BODY);
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_BLOCKED_POISONED);
	assert_non_null(strstr(r->detail, "Autodiscover.xml"));
	ectx_close(&c);

	ectx_open(&c, t);
	c.cfg.autodiscover_target_url = strdup(U_EXO);
	ps_mapping_free(c.map);
	c.map = tu_mapping("SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
			   TU_ALICE_SRC "|/o=ExchangeLabs/ou=Exchange "
			   "Administrative Group (FYDIBOHF23SPDLT)/cn="
			   "Recipients/cn=1a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6-alice"
			   "|alice@contoso.com\n");
	cached_file(&c, PS_AD_MAX_BODY + 1);
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_not_equal(r->status, PS_ST_BLOCKED_POISONED);
	assert_null(strstr(r->detail, "Autodiscover.xml"));
	ectx_close(&c);
}

static void test_poisoned_repaired_and_refused(void **state)
{
	static const answer ok[] = {
		{ "POST", U_EXO, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer bad[] = {
		{ "POST", U_EXO, 200, NULL, SETTINGS("/o=Other/cn=x") },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;
	char *v;

	(void)state;
	ectx_open(&c, bad);
	c.cfg.autodiscover_target_url = strdup(U_EXO);
	c.cfg.repair_poisoned = 1;
	poison(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_BLOCKED_POISONED);
	assert_non_null(strstr(r->detail, "repair refused"));
	assert_int_equal(ps_report_exit_bits(&c.report) & 12, 12);
	ectx_close(&c);

	ectx_open(&c, ok);
	c.cfg.autodiscover_target_url = strdup(U_EXO);
	c.cfg.repair_poisoned = 1;
	poison(&c);
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_REPAIRED_POISONED);
	v = tu_get_string(ps_fakestore_tree(c.store), "Outlook", TU_EMS_A,
			  0x6652001F);
	assert_string_equal(v, "https://outlook.office365.com/mapi/emsmdb/?a");
	free(v);
	assert_false(tu_has(ps_fakestore_tree(c.store), "Outlook", TU_EMS_A,
			    0x664A001F));
	ectx_close(&c);
}

/* Already on the target DN, but Autodiscover pointed the MAPI/HTTP URL
 * back at the source: detected, repaired, and rolled back exactly. */
static void test_poisoned_target_dn_repair_and_rollback(void **state)
{
	static const answer t[] = {
		{ "POST", U_EXO, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	ps_regtree poisoned;
	char *v;

	(void)state;
	ectx_open(&c, t);
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(row_of(&c, "alice@fabrikam.com")->status,
			 PS_ST_UPDATED);
	assert_int_equal(erun(&c, CLEANUP), 0);
	tu_set_uni(ps_fakestore_tree(c.store), "Outlook", TU_EMS_A, 0x6652,
		   "https://mail.fabrikam.com/mapi/emsmdb/?x");
	tu_tree_copy(&poisoned, ps_fakestore_tree(c.store));
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(row_of(&c, "alice@contoso.com")->status,
			 PS_ST_BLOCKED_POISONED);
	c.cfg.repair_poisoned = 1;
	c.cfg.autodiscover_target_url = strdup(U_EXO);
	assert_int_equal(erun(&c, UPDATE), 0);
	assert_int_equal(row_of(&c, "alice@contoso.com")->status,
			 PS_ST_REPAIRED_POISONED);
	v = tu_get_string(ps_fakestore_tree(c.store), "Outlook", TU_EMS_A,
			  0x6652001F);
	assert_string_equal(v, "https://outlook.office365.com/mapi/emsmdb/?a");
	free(v);
	assert_int_equal(erun(&c, ROLLBACK), 0);
	assert_true(ps_regkey_equal(poisoned.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ps_regtree_free(&poisoned);
	ectx_close(&c);
}

/* ---- a run killed at any point (issue: crash consistency) ---------------
 * The system port is wrapped so that the child process dies (_exit) just
 * before or just after its Nth file change (store write, local XML,
 * delete).  Whatever it leaves, no file outside the store may be changed
 * without a pending generation on disk that records it, and the next run
 * must end in the fully updated state. */

typedef struct crash_sys {
	ps_system base;
	ps_system *inner;
	int calls, kill_before, kill_after;
} crash_sys;

static int crash_point(crash_sys *c, int before)
{
	if (before) {
		c->calls++;
		if (c->calls == c->kill_before)
			_exit(99);
	} else if (c->calls == c->kill_after) {
		_exit(99);
	}
	return 0;
}

static int crash_write(ps_system *s, const char *path, const void *data,
		       size_t len)
{
	crash_sys *c = (crash_sys *)s;
	int rc;

	crash_point(c, 1);
	rc = c->inner->ops->write_file(c->inner, path, data, len);
	crash_point(c, 0);
	return rc;
}

static int crash_delete(ps_system *s, const char *path)
{
	crash_sys *c = (crash_sys *)s;
	int rc;

	crash_point(c, 1);
	rc = c->inner->ops->delete_file(c->inner, path);
	crash_point(c, 0);
	return rc;
}

/* Every other method goes to the real port with the real port's
 * handle (a backend reads its own state behind the base). */
#define INNER(s) (((crash_sys *)(s))->inner)
#define FWD(ret, name, params, args) \
	static ret crash_##name params \
	{ \
		return INNER(s)->ops->name args; \
	}
FWD(int, read_file, (ps_system *s, const char *p, size_t max, uint8_t **d,
		     size_t *l), (INNER(s), p, max, d, l))
FWD(int, append_file, (ps_system *s, const char *p, const void *d,
		       size_t l), (INNER(s), p, d, l))
FWD(int64_t, now, (ps_system *s), (INNER(s)))
FWD(int, get_env, (ps_system *s, const char *n, char **o), (INNER(s), n, o))
FWD(int, host_name, (ps_system *s, char **o), (INNER(s), o))
FWD(int, user_name, (ps_system *s, char **o), (INNER(s), o))
FWD(int, list_processes, (ps_system *s, ps_strlist *o), (INNER(s), o))
FWD(int, get_policy, (ps_system *s, const char *k, const char *v,
		      uint32_t *t, uint8_t **d, size_t *l),
    (INNER(s), k, v, t, d, l))
FWD(int, close_process, (ps_system *s, const char *n), (INNER(s), n))
FWD(int, lock, (ps_system *s, const char *k, void **t), (INNER(s), k, t))
FWD(int, start_process, (ps_system *s, const char *c, char **h),
    (INNER(s), c, h))
FWD(int, local_log_dir, (ps_system *s, char **o), (INNER(s), o))
FWD(int, known_folder, (ps_system *s, const char *n, char **o),
    (INNER(s), n, o))
FWD(int, list_dir, (ps_system *s, const char *p, ps_strlist *o),
    (INNER(s), p, o))
FWD(int, sha256, (ps_system *s, const void *d, size_t l, uint8_t o[32]),
    (INNER(s), d, l, o))
FWD(int, open_read, (ps_system *s, const char *p, void **h, uint64_t *z),
    (INNER(s), p, h, z))
FWD(int, read_at, (ps_system *s, void *h, uint64_t o, void *b, size_t l),
    (INNER(s), h, o, b, l))

static void crash_sleep(ps_system *s, unsigned sec)
{
	INNER(s)->ops->sleep(INNER(s), sec);
}

static void crash_unlock(ps_system *s, void *t)
{
	INNER(s)->ops->unlock(INNER(s), t);
}

static void crash_close_read(ps_system *s, void *h)
{
	INNER(s)->ops->close_read(INNER(s), h);
}

static const ps_system_ops crash_ops = {
	PS_SYSTEM_OPS_VERSION, crash_read_file, crash_write,
	crash_append_file, crash_now, crash_get_env, crash_host_name,
	crash_user_name, crash_list_processes, crash_get_policy, NULL,
	crash_sleep, crash_close_process, crash_lock, crash_unlock,
	crash_start_process, crash_local_log_dir, crash_known_folder,
	crash_list_dir, crash_delete, crash_sha256, crash_open_read,
	crash_read_at, crash_close_read, NULL, NULL, NULL
};

static void crash_wrap(crash_sys *c, ps_system *inner)
{
	memset(c, 0, sizeof(*c));
	c->inner = inner;
	c->base.ops = &crash_ops;
}

/* Run an update over the store file with the crash port; the child's
 * exit status: 0 finished, 99 killed. */
static int crash_run(ectx *c, const char *path, int kill_before,
		     int kill_after, int *calls)
{
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (!pid) {
		crash_sys cs;
		ps_store *store = NULL;
		ps_engine e;
		ps_strlist profiles = PS_STRLIST_INIT;

		crash_wrap(&cs, c->sys);
		cs.kill_before = kill_before;
		cs.kill_after = kill_after;
		if (ps_fakestore_open(&store, &cs.base, path) < 0)
			_exit(2);
		ectx_engine(c, &e);
		e.store = store;
		e.sys = &cs.base;
		if (ps_engine_profiles(&e, NULL, 0, &profiles) < 0 ||
		    ps_engine_update(&e, &profiles) < 0 ||
		    ps_engine_commit(&e) < 0)
			_exit(3);
		/* how many file changes a whole run makes */
		_exit(10 + cs.calls);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) >= 10) {
		*calls = WEXITSTATUS(status) - 10;
		return 0;
	}
	return WEXITSTATUS(status);
}

/* State of the store file: *updated (alice's DN is the target), *pending
 * (a pending generation is on disk). */
static void store_state(ectx *c, const char *path, int *updated,
			int *pending)
{
	ps_store *s = NULL;
	ps_generation *gens = NULL;
	size_t n = 0, i;
	char *dn;

	assert_int_equal(ps_fakestore_open(&s, c->sys, path), 0);
	dn = tu_get_string(ps_fakestore_tree(s), "Outlook", TU_EMS_A,
			   0x6603001E);
	*updated = dn && !strcmp(dn, TU_ALICE_TGT);
	free(dn);
	*pending = 0;
	assert_int_equal(ps_backup_list(s, "Outlook", &gens, &n), 0);
	for (i = 0; i < n; i++)
		*pending |= gens[i].state == PS_GEN_PENDING;
	ps_gens_free(gens, n);
	ps_store_free(s);
}

static void test_killed_update_leaves_no_orphan(void **state)
{
	static const answer t[] = {
		{ "POST", U_CFG, 200, NULL, SETTINGS(TU_ALICE_TGT) },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	ps_regtree tree;
	ps_buf reg = PS_BUF_INIT;
	char path[300];
	int calls = 0, k, rc, updated, pending, total;
	FILE *f;

	(void)state;
	ectx_open(&c, t);
	same_domain(&c);
	snprintf(path, sizeof(path), "%s/u.reg", c.drive);
	tu_fixture(&tree);
	assert_int_equal(ps_regtree_write(&tree, &reg), 0);
	ps_regtree_free(&tree);
	/* A whole run first: how many file changes it makes. */
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(reg.ptr, 1, reg.len, f);
	fclose(f);
	assert_int_equal(crash_run(&c, path, 0, 0, &calls), 0);
	assert_true(calls >= 2);
	total = calls;
	for (k = 0; k < 2 * total; k++) {
		int before = k % 2 == 0, n = k / 2 + 1;

		f = fopen(path, "wb");
		fwrite(reg.ptr, 1, reg.len, f);
		fclose(f);
		{
			char cmd[400];

			snprintf(cmd, sizeof(cmd), "rm -f %s/" LOCAL_XML,
				 c.drive);
			assert_int_equal(system(cmd), 0);
		}
		rc = crash_run(&c, path, before ? n : 0, before ? 0 : n,
			       &calls);
		assert_true(rc == 99 || rc == 0);
		store_state(&c, path, &updated, &pending);
		/* No outside change that the store on disk does not know. */
		if (file_exists(&c, LOCAL_XML) && !updated && !pending)
			fail_msg("killed %s file change %d of %d: the local "
				 "XML is written but the store on disk has "
				 "neither the update nor a pending backup",
				 before ? "before" : "after", n, total);
		/* The next run finishes: updated, XML in place. */
		assert_int_equal(crash_run(&c, path, 0, 0, &calls), 0);
		store_state(&c, path, &updated, &pending);
		if (!updated || pending || !file_exists(&c, LOCAL_XML))
			fail_msg("after a kill %s change %d the next run did "
				 "not converge (updated %d, pending %d)",
				 before ? "before" : "after", n, updated,
				 pending);
	}
	ps_buf_free(&reg);
	ectx_close(&c);
}

/* ---- RequireTargetReady: Autodiscover v2 and readiness ----------------- */

#define V2_Q "/autodiscover/autodiscover.json?Email=alice@contoso.com" \
	"&Protocol=AutodiscoverV1"
#define V2_EXO "https://autodiscover-s.outlook.com" V2_Q
#define V2_READY "{\"Protocol\":\"AutodiscoverV1\",\"Url\":" \
	"\"https://outlook.office365.com/autodiscover/autodiscover.xml\"}"

static int v2(client *c, const answer *table, const char *email,
	      const char *url)
{
	ps_ad_opts o;

	fh_init(&c->http, table);
	c->xml = NULL;
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.send_credentials = 1;  /* never used by v2 */
	return ps_ad_v2_discover(&c->http.base, email, &o, &c->res);
}

static void test_v2_ready_at_exchange_online(void **state)
{
	static const answer t[] = {
		{ "GET", V2_EXO, 200, NULL, V2_READY },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(v2(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_true(c.res.answered);
	assert_string_equal(c.res.v2_url, "https://outlook.office365.com/"
			    "autodiscover/autodiscover.xml");
	assert_string_equal(c.res.url, V2_EXO);
	assert_int_equal(c.http.n, 1);
	assert_string_equal(c.http.log[0], "GET " V2_EXO);  /* no cred */
	client_done(&c);
	/* a configured URL gives the host (and port); the path is v2's */
	{
		static const answer t2[] = {
			{ "GET", "https://mail.contoso.com:8443" V2_Q, 200,
			  NULL, V2_READY },
			{ NULL, NULL, 0, NULL, NULL } };

		assert_int_equal(v2(&c, t2, "alice@contoso.com",
				    "https://mail.contoso.com:8443/"
				    "autodiscover/autodiscover.xml"), 0);
		assert_true(c.res.found);
		client_done(&c);
	}
	/* the address is percent-encoded in the query */
	{
		static const answer t3[] = {
			{ "GET", "https://autodiscover-s.outlook.com/"
			  "autodiscover/autodiscover.json?Email=a%2Bb%3Dc"
			  "@contoso.com&Protocol=AutodiscoverV1", 200, NULL,
			  V2_READY },
			{ NULL, NULL, 0, NULL, NULL } };

		assert_int_equal(v2(&c, t3, "a+b=c@contoso.com", NULL), 0);
		assert_true(c.res.found);
		client_done(&c);
	}
}

static void test_v2_redirects(void **state)
{
	static const answer t[] = {
		{ "GET", V2_EXO, 302, "https://outlook.office365.com" V2_Q,
		  "" },
		{ "GET", "https://outlook.office365.com" V2_Q, 200, NULL,
		  V2_READY },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer plain[] = {
		{ "GET", V2_EXO, 302, "http://evil.example" V2_Q, "" },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer relative[] = {
		{ "GET", V2_EXO, 301, "/elsewhere", "" },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer badhost[] = {
		{ "GET", V2_EXO, 307, "https://ev\til.example/", "" },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer loop[] = {
		{ "GET", V2_EXO, 302, "https://a.example/x", "" },
		{ "GET", "https://a.example/x", 302, V2_EXO, "" },
		{ NULL, NULL, 0, NULL, NULL } };
	client c;

	(void)state;
	assert_int_equal(v2(&c, t, "alice@contoso.com", NULL), 0);
	assert_true(c.res.found);
	assert_int_equal(c.http.n, 2);
	assert_string_equal(c.res.url, "https://outlook.office365.com" V2_Q);
	client_done(&c);
	assert_int_equal(v2(&c, plain, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 1);
	assert_non_null(strstr(c.res.reason, "refused plain HTTP"));
	client_done(&c);
	assert_int_equal(v2(&c, relative, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 1);
	assert_non_null(strstr(c.res.reason, "not an absolute"));
	client_done(&c);
	assert_int_equal(v2(&c, badhost, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 1);
	/* the TAB is sanitised in the reason */
	assert_null(strchr(c.res.reason, '\t'));
	client_done(&c);
	assert_int_equal(v2(&c, loop, "alice@contoso.com", NULL), 0);
	assert_false(c.res.found);
	assert_int_equal(c.http.n, 2);
	assert_non_null(strstr(c.res.reason, "redirect loop"));
	client_done(&c);
}

static void test_v2_not_ready_answers(void **state)
{
	static const struct {
		int status;
		const char *body;
		const char *why;
		int unknown;
	} cases[] = {
		{ 404, "{\"ErrorCode\":\"InvalidUser\",\"ErrorMessage\":"
		  "\"The email address can't be found.\"}",
		  "HTTP 404, ErrorCode InvalidUser: The email address can't "
		  "be found.", 1 },
		{ 200, "{\"ErrorCode\":\"X\"}", "ErrorCode X", 1 },
		{ 500, "<html>oops</html>", "HTTP 500", 0 },
		{ 200, "{\"Protocol\":\"Rest\",\"Url\":\"https://a.b/\"}",
		  "no Protocol AutodiscoverV1", 0 },
		{ 200, "{\"Protocol\":\"AutodiscoverV1\",\"Url\":"
		  "\"http://a.b/\"}", "not an https URL", 0 },
		{ 200, "{\"Protocol\":\"AutodiscoverV1\",\"Url\":"
		  "\"https://a b/\"}", "not an https URL", 0 },
		{ 200, "{\"Protocol\":\"AutodiscoverV1\",\"Url\":{}}",
		  "nested", 0 },
		{ 200, "", "empty answer", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		answer t[] = {
			{ "GET", V2_EXO, cases[i].status, NULL,
			  cases[i].body },
			{ NULL, NULL, 0, NULL, NULL } };
		client c;

		assert_int_equal(v2(&c, t, "alice@contoso.com", NULL), 0);
		assert_false(c.res.found);
		assert_true(c.res.answered);
		if (!strstr(c.res.reason, cases[i].why))
			fail_msg("case %zu: '%s'", i, c.res.reason);
		assert_int_equal(c.res.unknown_mailbox, cases[i].unknown);
		client_done(&c);
	}
	/* nothing answered at all */
	{
		static const answer none[] = {
			{ "GET", V2_EXO, 0, NULL, NULL },
			{ NULL, NULL, 0, NULL, NULL } };
		client c;

		assert_int_equal(v2(&c, none, "alice@contoso.com", NULL), 0);
		assert_false(c.res.found);
		assert_false(c.res.answered);
		assert_non_null(strstr(c.res.reason, "unreachable"));
		client_done(&c);
	}
	/* a bad address or URL is the caller's error */
	{
		client c;

		assert_int_equal(v2(&c, NULL, "not-an-address", NULL),
				 PS_EFORMAT);
		assert_int_equal(v2(&c, NULL, "alice@contoso.com",
				    "mailto:x"), PS_EFORMAT);
	}
}

static void test_ready_v2_in_update(void **state)
{
	static const answer ready[] = {
		{ "GET", V2_EXO, 200, NULL, V2_READY },
		{ NULL, NULL, 0, NULL, NULL } };
	/* the answer still points at the source's Autodiscover */
	static const answer source[] = {
		{ "GET", V2_EXO, 200, NULL, "{\"Protocol\":\"AutodiscoverV1\","
		  "\"Url\":\"https://autodiscover.fabrikam.com/autodiscover/"
		  "autodiscover.xml\"}" },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer down[] = {
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	ectx_open(&c, ready);
	c.cfg.require_target_ready = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_UPDATED);
	assert_int_equal(c.http.n, 1);
	assert_string_equal(c.http.log[0], "GET " V2_EXO);
	assert_false(ps_regkey_equal(c.original.root,
				     ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);

	ectx_open(&c, source);
	c.cfg.require_target_ready = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_DEFERRED_NOT_READY);
	assert_non_null(strstr(r->detail, "still points to the source"));
	assert_false(r->ad_failed);
	assert_int_equal(ps_report_exit_bits(&c.report), 2);
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);

	ectx_open(&c, down);
	c.cfg.require_target_ready = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_DEFERRED_NOT_READY);
	assert_non_null(strstr(r->detail, "target not ready: Autodiscover "
			       "v2 for alice@contoso.com:"));
	assert_non_null(strstr(r->detail, "host not found"));
	assert_int_equal(ps_report_exit_bits(&c.report), 2);
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
}

static void test_ready_through_verification(void **state)
{
	static const answer source_dn[] = {
		{ "POST", U_ROOT, 200, NULL, SETTINGS(TU_ALICE_SRC) },
		{ NULL, NULL, 0, NULL, NULL } };
	static const answer unauthorized[] = {
		{ "POST", U_ROOT, 401, NULL, "" },
		{ "POST", U_AUTOD, 401, NULL, "" },
		{ "GET", U_PROBE, 404, NULL, "" },
		{ NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	/* Autodiscover still answers with the source mailbox: not ready */
	ectx_open(&c, source_dn);
	c.cfg.require_target_ready = 1;
	c.cfg.verify_autodiscover = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_DEFERRED_NOT_READY);
	assert_non_null(strstr(r->detail, "with the source LegacyDN"));
	assert_int_equal(ps_report_exit_bits(&c.report), 2);
	/* POX only: no v2 request */
	assert_string_equal(c.http.log[0], "POST " U_ROOT " cred");
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
	/* servers that answer but refuse: a verification failure, not
	 * "not ready" */
	ectx_open(&c, unauthorized);
	c.cfg.require_target_ready = 1;
	c.cfg.verify_autodiscover = 1;
	assert_int_equal(erun(&c, UPDATE), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_FAILED);
	assert_true(r->ad_failed);
	ectx_close(&c);
}

static void test_ready_without_client_and_in_rehearsal(void **state)
{
	static const answer none[] = { { NULL, NULL, 0, NULL, NULL } };
	ps_engine e;
	ps_strlist profiles = PS_STRLIST_INIT;
	ectx c;
	const ps_row *r;

	(void)state;
	/* update with no http client: cannot be asked, so not ready */
	ectx_open(&c, none);
	c.cfg.require_target_ready = 1;
	ectx_engine(&c, &e);
	e.http = NULL;
	assert_int_equal(ps_engine_profiles(&e, NULL, 0, &profiles), 0);
	assert_int_equal(ps_engine_update(&e, &profiles), 0);
	ps_engine_free(&e);
	ps_strlist_free(&profiles);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_DEFERRED_NOT_READY);
	assert_non_null(strstr(r->detail, "no Autodiscover client"));
	ectx_close(&c);
	/* a rehearsal asks nothing and says so */
	ectx_open(&c, none);
	c.cfg.require_target_ready = 1;
	ectx_engine(&c, &e);
	e.http = NULL;
	e.dry_run = 1;
	e.rehearsal = 1;
	assert_int_equal(ps_engine_profiles(&e, NULL, 0, &profiles), 0);
	assert_int_equal(ps_engine_update(&e, &profiles), 0);
	ps_engine_free(&e);
	ps_strlist_free(&profiles);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_WOULD_UPDATE);
	assert_non_null(strstr(r->detail, "readiness not checked in a "
			       "rehearsal"));
	assert_int_equal(c.http.n, 0);
	ectx_close(&c);
}

/* A rehearsal with the keys that make update ask Autodiscover (the
 * production configuration, rehearsed as it is): nothing is asked, the
 * accounts are planned as if the target confirmed them (would-update,
 * not failed), and the detail says what was not checked. */
static int rehearse_ad(ectx *c)
{
	ps_engine e;
	ps_strlist profiles = PS_STRLIST_INIT;
	int error;

	ectx_engine(c, &e);
	e.http = NULL;
	e.xml = NULL;
	e.dry_run = 1;
	e.rehearsal = 1;
	error = ps_engine_profiles(&e, NULL, 0, &profiles);
	if (!error)
		error = ps_engine_update(&e, &profiles);
	ps_engine_free(&e);
	ps_strlist_free(&profiles);
	return error;
}

static void test_verification_in_rehearsal(void **state)
{
	static const answer none[] = { { NULL, NULL, 0, NULL, NULL } };
	ectx c;
	const ps_row *r;

	(void)state;
	ectx_open(&c, none);
	c.cfg.verify_autodiscover = 1;
	c.cfg.require_target_ready = 1;
	assert_int_equal(rehearse_ad(&c), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_WOULD_UPDATE);
	assert_false(r->ad_failed);
	assert_non_null(strstr(r->detail, "; Autodiscover not verified in a "
			       "rehearsal; readiness not checked in a "
			       "rehearsal"));
	assert_int_equal(c.http.n, 0);
	assert_true(ps_regkey_equal(c.original.root,
				    ps_fakestore_tree(c.store)->root, NULL));
	ectx_close(&c);
	/* SameSmtpDomain: a rehearsal knows no user's LocalAppData, and
	 * needs none (the local XML is planned on the day). */
	ectx_open(&c, none);
	unsetenv("LOCALAPPDATA");
	same_domain(&c);
	assert_int_equal(rehearse_ad(&c), 0);
	r = row_of(&c, "alice@fabrikam.com");
	assert_int_equal(r->status, PS_ST_WOULD_UPDATE);
	assert_non_null(strstr(r->detail, "Autodiscover not verified in a "
			       "rehearsal"));
	assert_null(strstr(r->detail, "readiness"));
	assert_int_equal(c.http.n, 0);
	ectx_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates_in_order),
		cmocka_unit_test(test_configured_url_is_the_only_candidate),
		cmocka_unit_test(test_redirect_addr_restarts_for_new_domain),
		cmocka_unit_test(test_redirect_url_and_credentials_dropped),
		cmocka_unit_test(test_redirect_loop),
		cmocka_unit_test(test_hop_limit),
		cmocka_unit_test(test_plain_http_elsewhere_refused),
		cmocka_unit_test(test_probe_redirect_followed_in_domain),
		cmocka_unit_test(test_never_a_stripped_domain),
		cmocka_unit_test(
			test_untrusted_redirect_addr_gets_no_credentials),
		cmocka_unit_test(test_redirect_addr_trust_and_fallback),
		cmocka_unit_test(test_loopback_is_parsed),
		cmocka_unit_test(test_srv_last_and_untrusted),
		cmocka_unit_test(test_error_and_hostile_answers),
		cmocka_unit_test(test_hop_lines_sanitised),
		cmocka_unit_test(test_answer_host_names_checked),
		cmocka_unit_test(test_budget_bounds_discovery),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_parse_prefixes_and_foreign_namespaces),
		cmocka_unit_test(test_parse_error_under_account),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_request_body),
		cmocka_unit_test(test_verify_wrong_legacydn_fails),
		cmocka_unit_test(test_verify_writes_returned_urls),
		cmocka_unit_test(test_same_smtp_domain_pins_and_rolls_back),
		cmocka_unit_test(test_same_smtp_domain_cleanup_removes_pins),
		cmocka_unit_test(test_same_smtp_domain_needs_url),
		cmocka_unit_test(test_same_smtp_domain_shared_file_kept),
		cmocka_unit_test(test_cleanup_flush_failure_takes_file_back),
		cmocka_unit_test(test_verify_two_accounts),
		cmocka_unit_test(test_same_smtp_domain_needs_local_appdata),
		cmocka_unit_test(
			test_same_smtp_domain_flush_failure_takes_file_back),
		cmocka_unit_test(test_poisoned_detected_and_blocked),
		cmocka_unit_test(test_cached_file_size_limit),
		cmocka_unit_test(test_poisoned_repaired_and_refused),
		cmocka_unit_test(test_poisoned_target_dn_repair_and_rollback),
		cmocka_unit_test(test_killed_update_leaves_no_orphan),
		cmocka_unit_test(test_v2_ready_at_exchange_online),
		cmocka_unit_test(test_v2_redirects),
		cmocka_unit_test(test_v2_not_ready_answers),
		cmocka_unit_test(test_ready_v2_in_update),
		cmocka_unit_test(test_ready_through_verification),
		cmocka_unit_test(test_ready_without_client_and_in_rehearsal),
		cmocka_unit_test(test_verification_in_rehearsal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
