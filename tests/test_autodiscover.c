/*
 * POX Autodiscover bodies (core/autodiscover.c) over the libxml2 xml port
 * (platform/posix/posix_xml.c): the request text, settings, redirects and
 * errors as MS-OXDSCLI section 4 and real servers write them, namespace
 * matching, and hostile or broken documents (XXE, entity bombs, size,
 * depth, truncation).  The port itself is tested directly at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_autodiscover.h"
#include "ps_buf.h"
#include "ps_error.h"
#include "ps_posix.h"
#include "ps_utf.h"
#include "ps_xml.h"

#define NS_R PS_AD_NS_RESPONSE
#define NS_O PS_AD_NS_OUTLOOK
#define XMLDECL "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
#define HEAD XMLDECL "<Autodiscover xmlns=\"" NS_R "\">\r\n" \
	"  <Response xmlns=\"" NS_O "\">\r\n"
#define TAIL "  </Response>\r\n</Autodiscover>\r\n"

#define DN_ALICE "/o=Fabrikam/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Recipients/cn=alice"
#define DN_SERVER "/o=Fabrikam/ou=Exchange Administrative Group " \
	"(FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=EXCH01"

/* ---- helpers ------------------------------------------------------------ */

static int parse_n(const char *body, size_t len, ps_ad_response *r)
{
	static const ps_ad_response zero;
	ps_xml *x = NULL;
	int rc;

	assert_int_equal(ps_posix_xml_new(&x), 0);
	memset(r, 0xA5, sizeof(*r));
	ps_error_clear();
	rc = ps_ad_parse(x, body, len, r);
	ps_xml_free(x);
	if (rc < 0)  /* on error *out is left zeroed */
		assert_memory_equal(r, &zero, sizeof(zero));
	return rc;
}

static int parse(const char *body, ps_ad_response *r)
{
	return parse_n(body, strlen(body), r);
}

/* body must be refused with code and a message containing want. */
static void expect_fail(const char *body, int code, const char *want)
{
	ps_ad_response r;

	assert_int_equal(parse(body, &r), code);
	if (!strstr(ps_error_last(), want))
		fail_msg("expected \"%s\" in \"%s\"", want, ps_error_last());
}

static void expect_prefix(const char *msg, const char *prefix)
{
	if (strncmp(msg, prefix, strlen(prefix)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", prefix, msg);
}

/* ---- the request -------------------------------------------------------- */

static void test_request_body_email(void **state)
{
	char *b = ps_ad_request_body("alice@contoso.com", 0);

	(void)state;
	assert_string_equal(b,
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
		"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/"
		"autodiscover/outlook/requestschema/2006\">\r\n"
		"  <Request>\r\n"
		"    <EMailAddress>alice@contoso.com</EMailAddress>\r\n"
		"    <AcceptableResponseSchema>http://schemas.microsoft.com/"
		"exchange/autodiscover/outlook/responseschema/2006a"
		"</AcceptableResponseSchema>\r\n"
		"  </Request>\r\n"
		"</Autodiscover>\r\n");
	free(b);
}

static void test_request_body_dn(void **state)
{
	char *b = ps_ad_request_body(DN_ALICE, 1);

	(void)state;
	assert_string_equal(b,
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
		"<Autodiscover xmlns=\"" PS_AD_NS_REQUEST "\">\r\n"
		"  <Request>\r\n"
		"    <LegacyDN>" DN_ALICE "</LegacyDN>\r\n"
		"    <AcceptableResponseSchema>" NS_O
		"</AcceptableResponseSchema>\r\n"
		"  </Request>\r\n"
		"</Autodiscover>\r\n");
	free(b);
}

static void test_request_body_escaped(void **state)
{
	char *b = ps_ad_request_body("a&b@x.com", 0);
	ps_xml *x = NULL;
	ps_xml_reader *rd = NULL;
	ps_xml_node n;
	int found = 0;

	(void)state;
	assert_non_null(strstr(b, "    <EMailAddress>a&amp;b@x.com"
			       "</EMailAddress>\r\n"));
	/* It is well-formed and reads back as the address. */
	assert_int_equal(ps_posix_xml_new(&x), 0);
	assert_int_equal(ps_xml_open(x, b, strlen(b), 4096, &rd), 0);
	while (ps_xml_next(x, rd, &n) == 1)
		if (n.type == PS_XML_TEXT && strcmp(n.text, "a&b@x.com") == 0)
			found = 1;
	assert_true(found);
	ps_xml_close(x, rd);
	ps_xml_free(x);
	free(b);
	b = ps_ad_request_body("<\"x'>@y.com", 0);
	assert_non_null(strstr(b, "<EMailAddress>&lt;&quot;x&apos;&gt;@y.com"
			       "</EMailAddress>"));
	free(b);
}

/* ---- settings ----------------------------------------------------------- */

/* An Exchange 2010 style answer: EXCH, EXPR and WEB (MS-OXDSCLI 4.2). */
static const char full_settings[] = HEAD
	"    <User>\r\n"
	"      <DisplayName>Alice Wong</DisplayName>\r\n"
	"      <LegacyDN>" DN_ALICE "</LegacyDN>\r\n"
	"      <AutoDiscoverSMTPAddress>alice@fabrikam.com"
	"</AutoDiscoverSMTPAddress>\r\n"
	"      <DeploymentId>5f3e0b0c-1d2e-4f50-8a9b-0c1d2e3f4a5b"
	"</DeploymentId>\r\n"
	"    </User>\r\n"
	"    <Account>\r\n"
	"      <AccountType>email</AccountType>\r\n"
	"      <Action>settings</Action>\r\n"
	"      <MicrosoftOnline>False</MicrosoftOnline>\r\n"
	"      <Protocol>\r\n"
	"        <Type>EXCH</Type>\r\n"
	"        <Server>exch01.fabrikam.local</Server>\r\n"
	"        <ServerDN>" DN_SERVER "</ServerDN>\r\n"
	"        <ServerVersion>738180DA</ServerVersion>\r\n"
	"        <MdbDN>" DN_SERVER "/cn=Microsoft Private MDB</MdbDN>\r\n"
	"        <PublicFolderServer>exch01.fabrikam.local"
	"</PublicFolderServer>\r\n"
	"        <AD>dc01.fabrikam.local</AD>\r\n"
	"        <ASUrl>https://mail.fabrikam.com/EWS/Exchange.asmx</ASUrl>\r\n"
	"        <EwsUrl>https://mail.fabrikam.com/EWS/Exchange.asmx"
	"</EwsUrl>\r\n"
	"        <OOFUrl>https://mail.fabrikam.com/EWS/Exchange.asmx"
	"</OOFUrl>\r\n"
	"        <OABUrl>https://mail.fabrikam.com/OAB/0a1b2c3d/</OABUrl>\r\n"
	"      </Protocol>\r\n"
	"      <Protocol>\r\n"
	"        <Type>EXPR</Type>\r\n"
	"        <Server>mail.fabrikam.com</Server>\r\n"
	"        <SSL>On</SSL>\r\n"
	"        <AuthPackage>Ntlm</AuthPackage>\r\n"
	"        <ServerExclusiveConnect>On</ServerExclusiveConnect>\r\n"
	"        <EwsUrl>https://mail.fabrikam.com/EWS/Exchange.asmx"
	"</EwsUrl>\r\n"
	"      </Protocol>\r\n"
	"      <Protocol>\r\n"
	"        <Type>WEB</Type>\r\n"
	"        <Internal>\r\n"
	"          <OWAUrl AuthenticationMethod=\"Basic, Fba\">"
	"https://exch01.fabrikam.local/owa/</OWAUrl>\r\n"
	"          <Protocol>\r\n"
	"            <Type>EXCH</Type>\r\n"
	"            <ASUrl>https://evil.example/EWS/Exchange.asmx</ASUrl>\r\n"
	"          </Protocol>\r\n"
	"        </Internal>\r\n"
	"      </Protocol>\r\n"
	"    </Account>\r\n"
	TAIL;

static void test_settings_exch_expr_web(void **state)
{
	ps_ad_response r;
	const ps_ad_protocol *p;

	(void)state;
	assert_int_equal(parse(full_settings, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_string_equal(r.display_name, "Alice Wong");
	assert_string_equal(r.legacy_dn, DN_ALICE);
	assert_string_equal(r.smtp, "alice@fabrikam.com");
	assert_string_equal(r.deployment_id,
			    "5f3e0b0c-1d2e-4f50-8a9b-0c1d2e3f4a5b");
	assert_string_equal(r.account_type, "email");
	assert_string_equal(r.action, "settings");
	assert_string_equal(r.microsoft_online, "False");
	assert_null(r.redirect);
	assert_null(r.error_code);
	/* The Protocol nested in WEB's <Internal> is not a block. */
	assert_int_equal(r.nprotocols, 3);

	p = ps_ad_protocol_find(&r, "exch");
	assert_ptr_equal(p, &r.protocols[0]);
	assert_string_equal(p->type, "EXCH");
	assert_null(p->version);
	assert_string_equal(p->server, "exch01.fabrikam.local");
	assert_string_equal(p->server_dn, DN_SERVER);
	assert_string_equal(p->server_version, "738180DA");
	assert_string_equal(p->mdb_dn, DN_SERVER "/cn=Microsoft Private MDB");
	assert_string_equal(p->as_url,
			    "https://mail.fabrikam.com/EWS/Exchange.asmx");
	assert_string_equal(p->ews_url,
			    "https://mail.fabrikam.com/EWS/Exchange.asmx");
	assert_string_equal(p->oab_url,
			    "https://mail.fabrikam.com/OAB/0a1b2c3d/");
	assert_null(p->ssl);
	assert_null(p->mailstore_internal);

	p = ps_ad_protocol_find(&r, "EXPR");
	assert_ptr_equal(p, &r.protocols[1]);
	assert_string_equal(p->server, "mail.fabrikam.com");
	assert_string_equal(p->ssl, "On");
	assert_string_equal(p->auth_package, "Ntlm");
	assert_null(p->server_dn);

	p = ps_ad_protocol_find(&r, "Web");
	assert_ptr_equal(p, &r.protocols[2]);
	assert_null(p->as_url);
	assert_null(p->server);
	assert_null(ps_ad_protocol_find(&r, "mapiHttp"));
	ps_ad_response_free(&r);
	/* Freed responses are zeroed; freeing twice or NULL is harmless. */
	assert_null(r.protocols);
	ps_ad_response_free(&r);
	ps_ad_response_free(NULL);
	assert_null(ps_ad_protocol_find(NULL, "EXCH"));
}

/* MAPI over HTTP (MS-OXDSCLI 4.4), with WEB's External Protocol. */
static void test_settings_mapihttp(void **state)
{
	static const char body[] = HEAD
		"<User><DisplayName>Alice</DisplayName>"
		"<LegacyDN>" DN_ALICE "</LegacyDN>"
		"<AutoDiscoverSMTPAddress>alice@fabrikam.com"
		"</AutoDiscoverSMTPAddress></User>"
		"<Account><AccountType>email</AccountType>"
		"<Action>settings</Action>"
		"<Protocol Type=\"mapiHttp\" Version=\"1\">"
		"<MailStore>"
		"<InternalUrl>https://mail.fabrikam.com/mapi/emsmdb/"
		"?MailboxId=0f1e2d3c@fabrikam.com</InternalUrl>"
		"<ExternalUrl>https://ext.fabrikam.com/mapi/emsmdb/"
		"?MailboxId=0f1e2d3c@fabrikam.com</ExternalUrl>"
		"</MailStore>"
		"<AddressBook>"
		"<InternalUrl>https://mail.fabrikam.com/mapi/nspi/"
		"?MailboxId=0f1e2d3c@fabrikam.com</InternalUrl>"
		"<ExternalUrl>https://ext.fabrikam.com/mapi/nspi/"
		"?MailboxId=0f1e2d3c@fabrikam.com</ExternalUrl>"
		"</AddressBook>"
		"</Protocol>"
		"<Protocol><Type>WEB</Type><External>"
		"<OWAUrl AuthenticationMethod=\"Fba\">https://ext.fabrikam.com"
		"/owa</OWAUrl><Protocol><Type>EXPR</Type>"
		"<ASUrl>https://ext.fabrikam.com/ews/exchange.asmx</ASUrl>"
		"</Protocol></External></Protocol>"
		"</Account>" TAIL;
	ps_ad_response r;
	const ps_ad_protocol *p;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_int_equal(r.nprotocols, 2);
	p = ps_ad_protocol_find(&r, "MAPIHTTP");
	assert_non_null(p);
	assert_string_equal(p->type, "mapiHttp");
	assert_string_equal(p->version, "1");
	assert_string_equal(p->mailstore_internal, "https://mail.fabrikam.com"
			    "/mapi/emsmdb/?MailboxId=0f1e2d3c@fabrikam.com");
	assert_string_equal(p->mailstore_external, "https://ext.fabrikam.com"
			    "/mapi/emsmdb/?MailboxId=0f1e2d3c@fabrikam.com");
	assert_string_equal(p->addressbook_internal, "https://mail.fabrikam"
			    ".com/mapi/nspi/?MailboxId=0f1e2d3c@fabrikam.com");
	assert_string_equal(p->addressbook_external, "https://ext.fabrikam"
			    ".com/mapi/nspi/?MailboxId=0f1e2d3c@fabrikam.com");
	assert_null(p->server);
	/* EXPR only inside WEB/External: not a block of its own. */
	assert_null(ps_ad_protocol_find(&r, "EXPR"));
	assert_null(ps_ad_protocol_find(&r, "WEB")->as_url);
	ps_ad_response_free(&r);
}

/* Protocol blocks without an Action still count as settings; an
 * attribute Type wins over a Type element; an EXHTTP block. */
static void test_settings_without_action(void **state)
{
	static const char body[] = HEAD
		"<Account><Protocol Type=\"EXHTTP\"><Type>EXCH</Type>"
		"<Server>mail.fabrikam.com</Server><SSL>On</SSL>"
		"<AuthPackage>Negotiate</AuthPackage></Protocol></Account>"
		TAIL;
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_null(r.action);
	assert_int_equal(r.nprotocols, 1);
	assert_string_equal(r.protocols[0].type, "EXHTTP");
	assert_string_equal(r.protocols[0].auth_package, "Negotiate");
	assert_null(ps_ad_protocol_find(&r, "EXCH"));
	ps_ad_response_free(&r);
}

/* ---- redirects ---------------------------------------------------------- */

static void test_redirect_addr(void **state)
{
	static const char body[] = HEAD
		"<Account><Action>redirectAddr</Action>"
		"<RedirectAddr>alice@fabrikam.mail.onmicrosoft.com"
		"</RedirectAddr></Account>" TAIL;
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_REDIRECT_ADDR);
	assert_string_equal(r.redirect, "alice@fabrikam.mail.onmicrosoft.com");
	assert_int_equal(r.nprotocols, 0);
	ps_ad_response_free(&r);
}

static void test_redirect_url_both_spellings(void **state)
{
	static const char url[] =
		"https://autodiscover.fabrikam.net/autodiscover/"
		"autodiscover.xml";
	static const char *const bodies[] = {
		HEAD "<Account><Action>redirectUrl</Action>"
		"<RedirectUrl>https://autodiscover.fabrikam.net/autodiscover/"
		"autodiscover.xml</RedirectUrl></Account>" TAIL,
		HEAD "<Account><AccountType>email</AccountType>"
		"<Action>redirectUrl</Action>"
		"<RedirectURL>https://autodiscover.fabrikam.net/autodiscover/"
		"autodiscover.xml</RedirectURL></Account>" TAIL,
		/* Another address nearby does not take the URL's place. */
		HEAD "<Account><RedirectAddr>bob@x.com</RedirectAddr>"
		"<Action>redirectUrl</Action>"
		"<RedirectUrl>https://autodiscover.fabrikam.net/autodiscover/"
		"autodiscover.xml</RedirectUrl></Account>" TAIL,
	};
	ps_ad_response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(parse(bodies[i], &r), 0);
		assert_int_equal(r.kind, PS_AD_REDIRECT_URL);
		assert_string_equal(r.redirect, url);
		ps_ad_response_free(&r);
	}
}

static void test_redirect_missing_target(void **state)
{
	(void)state;
	expect_fail(HEAD "<Account><Action>redirectAddr</Action></Account>"
		    TAIL, PS_EFORMAT, "redirectAddr without RedirectAddr");
	expect_fail(HEAD "<Account><Action>redirectAddr</Action>"
		    "<RedirectAddr>  \r\n </RedirectAddr></Account>" TAIL,
		    PS_EFORMAT, "redirectAddr without RedirectAddr");
	/* A RedirectUrl is not a RedirectAddr. */
	expect_fail(HEAD "<Account><Action>redirectAddr</Action>"
		    "<RedirectUrl>https://x/</RedirectUrl></Account>" TAIL,
		    PS_EFORMAT, "redirectAddr without RedirectAddr");
	expect_fail(HEAD "<Account><Action>redirectUrl</Action>"
		    "<RedirectAddr>a@b.com</RedirectAddr></Account>" TAIL,
		    PS_EFORMAT, "redirectUrl without RedirectUrl");
}

/* ---- errors ------------------------------------------------------------- */

/* As Exchange and gromox send it: Response in the 2006 namespace. */
#define ERROR_BODY(code, msg) XMLDECL \
	"<Autodiscover xmlns=\"" NS_R "\"><Response>" \
	"<Error Time=\"10:21:07.1234567\" Id=\"2477164934\">" \
	"<ErrorCode>" code "</ErrorCode><Message>" msg "</Message>" \
	"<DebugData /></Error></Response></Autodiscover>"

static void test_error_under_response(void **state)
{
	static const struct {
		const char *body, *code, *msg;
	} cases[] = {
		{ ERROR_BODY("500", "The email address can't be found."),
		  "500", "The email address can't be found." },
		{ ERROR_BODY("600", "Invalid Request"), "600",
		  "Invalid Request" },
		{ ERROR_BODY("603", "Server Error"), "603", "Server Error" },
	};
	ps_ad_response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].body, &r), 0);
		assert_int_equal(r.kind, PS_AD_ERROR);
		assert_string_equal(r.error_code, cases[i].code);
		assert_string_equal(r.error_message, cases[i].msg);
		assert_null(r.debug_data);
		assert_null(r.legacy_dn);
		ps_ad_response_free(&r);
	}
	/* The same in the 2006a namespace, with debug data. */
	assert_int_equal(parse(HEAD "<Error><ErrorCode>501</ErrorCode>"
			       "<Message>Bad Address</Message><DebugData>"
			       "trace 42</DebugData></Error>" TAIL, &r), 0);
	assert_int_equal(r.kind, PS_AD_ERROR);
	assert_string_equal(r.error_code, "501");
	assert_string_equal(r.debug_data, "trace 42");
	ps_ad_response_free(&r);
}

static void test_error_under_account(void **state)
{
	static const char body[] = HEAD
		"<User><DisplayName>Alice</DisplayName></User>"
		"<Account><AccountType>email</AccountType>"
		"<Action>settings</Action>"
		"<Error Time=\"01:02:03\" Id=\"1\"><ErrorCode>602</ErrorCode>"
		"<Message>Provider is not available</Message></Error>"
		"<Protocol><Type>EXCH</Type><Server>s</Server></Protocol>"
		"</Account>" TAIL;
	ps_ad_response r;

	(void)state;
	/* An Error wins over the settings next to it. */
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_ERROR);
	assert_string_equal(r.error_code, "602");
	assert_string_equal(r.error_message, "Provider is not available");
	assert_string_equal(r.display_name, "Alice");
	ps_ad_response_free(&r);
}

/* ---- namespaces --------------------------------------------------------- */

static void test_prefixed_namespaces(void **state)
{
	static const char body[] = XMLDECL
		"<ad:Autodiscover xmlns:ad=\"" NS_R "\">"
		"<a:Response xmlns:a=\"" NS_O "\">"
		"<a:User><a:LegacyDN>" DN_ALICE "</a:LegacyDN></a:User>"
		"<a:Account><a:Action>settings</a:Action>"
		"<a:Protocol a:Type=\"WEB\" Type=\"mapiHttp\">"
		"<a:MailStore><a:ExternalUrl>https://m/x</a:ExternalUrl>"
		"</a:MailStore></a:Protocol>"
		"</a:Account></a:Response></ad:Autodiscover>";
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_string_equal(r.legacy_dn, DN_ALICE);
	assert_int_equal(r.nprotocols, 1);
	/* Only the attribute without a namespace counts. */
	assert_string_equal(r.protocols[0].type, "mapiHttp");
	assert_string_equal(r.protocols[0].mailstore_external, "https://m/x");
	ps_ad_response_free(&r);
}

static void test_wrong_namespace_ignored(void **state)
{
	static const char body[] = HEAD
		"<User>"
		"<LegacyDN xmlns=\"urn:evil\">/o=Evil/cn=mallory</LegacyDN>"
		"<LegacyDN>" DN_ALICE "</LegacyDN>"
		"<x:DisplayName xmlns:x=\"" NS_R "\">Wrong</x:DisplayName>"
		"</User>"
		"<Account xmlns=\"" NS_R "\"><Action>redirectAddr</Action>"
		"<RedirectAddr>mallory@evil.example</RedirectAddr></Account>"
		"<Account><Action>settings</Action>"
		"<Protocol><Type>EXCH</Type>"
		"<Server xmlns=\"urn:evil\">evil.example</Server>"
		"<Server>exch01</Server></Protocol></Account>" TAIL;
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_string_equal(r.legacy_dn, DN_ALICE);
	assert_null(r.display_name);
	assert_null(r.redirect);
	assert_string_equal(r.protocols[0].server, "exch01");
	ps_ad_response_free(&r);
	/* A Response in a foreign namespace is no Response. */
	expect_fail(XMLDECL "<Autodiscover xmlns=\"" NS_R "\">"
		    "<Response xmlns=\"urn:other\"><Account><Action>settings"
		    "</Action></Account></Response></Autodiscover>",
		    PS_EFORMAT, "no Response element");
}

static void test_wrong_root(void **state)
{
	(void)state;
	expect_fail("<html><body>Login</body></html>", PS_EFORMAT,
		    "not an Autodiscover response (root element html)");
	expect_fail("<Autodiscover xmlns=\"urn:x\"><Response/></Autodiscover>",
		    PS_EFORMAT, "not an Autodiscover response (root element "
		    "{urn:x}Autodiscover)");
	/* The request schema is not the response schema. */
	expect_fail("<Autodiscover xmlns=\"" PS_AD_NS_REQUEST "\"/>",
		    PS_EFORMAT, "not an Autodiscover response");
	expect_fail("<Autodiscover><Response/></Autodiscover>", PS_EFORMAT,
		    "(root element Autodiscover)");
}

/* ---- structure ---------------------------------------------------------- */

static void test_unknown_subtrees_do_not_overwrite(void **state)
{
	static const char body[] = HEAD
		"<Culture>en:us</Culture>"
		"<Extra><User><LegacyDN>/o=Evil</LegacyDN></User></Extra>"
		"<User><Mailbox><DisplayName>evil</DisplayName></Mailbox>"
		"<DisplayName>Alice</DisplayName></User>"
		"<Account>"
		"<Policy><Action>redirectAddr</Action>"
		"<RedirectAddr>mallory@evil.example</RedirectAddr></Policy>"
		"<Action>settings</Action>"
		"<Protocol><Type>EXCH</Type>"
		"<Internal><Server>evil.example</Server>"
		"<MailStore><InternalUrl>https://evil/</InternalUrl>"
		"</MailStore></Internal>"
		"<Server>exch01</Server>"
		"<Server>second</Server>"
		"<ServerVersion><b>bold</b>738180DA</ServerVersion>"
		"</Protocol></Account>" TAIL;
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_null(r.legacy_dn);
	assert_string_equal(r.display_name, "Alice");
	assert_null(r.redirect);
	assert_int_equal(r.nprotocols, 1);
	assert_string_equal(r.protocols[0].server, "exch01");   /* first */
	assert_null(r.protocols[0].mailstore_internal);
	/* Child elements of a value are skipped, not their siblings. */
	assert_string_equal(r.protocols[0].server_version, "738180DA");
	ps_ad_response_free(&r);
}

static void test_duplicates_first_wins(void **state)
{
	static const char body[] = XMLDECL
		"<Autodiscover xmlns=\"" NS_R "\">"
		"<Response xmlns=\"" NS_O "\"><User><LegacyDN>/o=A</LegacyDN>"
		"<LegacyDN>/o=B</LegacyDN></User><User><LegacyDN>/o=C"
		"</LegacyDN><DisplayName>D</DisplayName></User>"
		"<Account><Action>settings</Action><Action>redirectAddr"
		"</Action></Account></Response>"
		"<Response xmlns=\"" NS_O "\"><Error><ErrorCode>500"
		"</ErrorCode></Error></Response></Autodiscover>";
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);   /* 2nd Response skipped */
	assert_string_equal(r.legacy_dn, "/o=A");
	assert_string_equal(r.display_name, "D");
	assert_string_equal(r.action, "settings");
	assert_null(r.error_code);
	ps_ad_response_free(&r);
}

static void test_nothing_usable(void **state)
{
	(void)state;
	expect_fail(HEAD "<User><DisplayName>A</DisplayName></User>" TAIL,
		    PS_EFORMAT, "no settings, redirect or error in the "
		    "response");
	expect_fail(HEAD "<Account><Action>unknown</Action></Account>" TAIL,
		    PS_EFORMAT, "no settings, redirect or error");
	expect_fail(XMLDECL "<Autodiscover xmlns=\"" NS_R "\"/>", PS_EFORMAT,
		    "no Response element");
	expect_fail("", PS_EFORMAT, "line ");
}

/* ---- text --------------------------------------------------------------- */

static void test_whitespace_cdata_entities(void **state)
{
	static const char body[] = HEAD
		"<User>\r\n\t<DisplayName>\r\n   Alice  &amp; Bob\t\r\n"
		"</DisplayName>\r\n"
		"<LegacyDN><![CDATA[  /o=A&B<x>/cn=R ]]></LegacyDN>"
		"<AutoDiscoverSMTPAddress>al<!-- c -->ice@<![CDATA[x]]>."
		"&#x63;&#111;m</AutoDiscoverSMTPAddress>"
		"<DeploymentId>&lt;&gt;&quot;&apos;</DeploymentId>"
		"</User><Account><Action>\n settings \n</Action></Account>"
		"<?pi ignored?>" TAIL "<!-- trailing comment -->\r\n";
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.kind, PS_AD_SETTINGS);
	assert_string_equal(r.display_name, "Alice  & Bob");
	assert_string_equal(r.legacy_dn, "/o=A&B<x>/cn=R");
	assert_string_equal(r.smtp, "alice@x.com");
	assert_string_equal(r.deployment_id, "<>\"'");
	assert_string_equal(r.action, "settings");
	ps_ad_response_free(&r);
}

static void test_utf8_bom(void **state)
{
	static const char body[] = "\xEF\xBB\xBF" HEAD
		"<User><DisplayName>Zo\xC3\xAB \xE6\x9D\x8E</DisplayName>"
		"</User>"
		"<Account><Action>settings</Action></Account>" TAIL;
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(body, &r), 0);
	assert_string_equal(r.display_name, "Zo\xC3\xAB \xE6\x9D\x8E");
	ps_ad_response_free(&r);
}

static void test_utf16_body(void **state)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"utf-16\"?>\r\n"
		"<Autodiscover xmlns=\"" NS_R "\"><Response xmlns=\"" NS_O "\">"
		"<User><DisplayName>Zo\xC3\xAB \xF0\x9F\x93\xA7</DisplayName>"
		"</User><Account><Action>redirectAddr</Action><RedirectAddr>"
		"zo\xC3\xAB@fabrikam.com</RedirectAddr></Account>" TAIL;
	ps_buf le = PS_BUF_INIT, be = PS_BUF_INIT;
	ps_ad_response r;
	size_t i;

	(void)state;
	assert_int_equal(ps_buf_put(&le, "\xFF\xFE", 2), 0);
	assert_int_equal(ps_utf8_to_utf16le(&le, body, strlen(body)), 0);
	assert_int_equal(parse_n(le.ptr, le.len, &r), 0);
	assert_int_equal(r.kind, PS_AD_REDIRECT_ADDR);
	assert_string_equal(r.display_name, "Zo\xC3\xAB \xF0\x9F\x93\xA7");
	assert_string_equal(r.redirect, "zo\xC3\xAB@fabrikam.com");
	ps_ad_response_free(&r);
	/* Big-endian with its BOM. */
	for (i = 0; i + 1 < le.len; i += 2) {
		assert_int_equal(ps_buf_putc(&be, le.ptr[i + 1]), 0);
		assert_int_equal(ps_buf_putc(&be, le.ptr[i]), 0);
	}
	assert_int_equal(parse_n(be.ptr, be.len, &r), 0);
	assert_string_equal(r.redirect, "zo\xC3\xAB@fabrikam.com");
	ps_ad_response_free(&r);
	/* Cut in the middle, at an odd byte. */
	assert_int_equal(parse_n(le.ptr, (le.len / 2) | 1, &r), PS_EFORMAT);
	ps_buf_free(&le);
	ps_buf_free(&be);
}

/* ---- broken and hostile documents --------------------------------------- */

static void test_malformed(void **state)
{
	ps_ad_response r;
	size_t cut;

	(void)state;
	/* Truncated anywhere after the root opened: refused. */
	for (cut = 120; cut < sizeof(full_settings) - 4; cut += 97) {
		assert_int_equal(parse_n(full_settings, cut, &r), PS_EFORMAT);
		expect_prefix(ps_error_last(), "line ");
	}
	expect_fail(HEAD "<User><LegacyDN>x</User>" TAIL, PS_EFORMAT, "line ");
	expect_fail(HEAD "<User><LegacyDN>a & b</LegacyDN></User>" TAIL,
		    PS_EFORMAT, "line ");
	expect_fail(HEAD TAIL "<Autodiscover xmlns=\"" NS_R "\"/>",
		    PS_EFORMAT, "line ");
	expect_fail(HEAD "<q:User>x</q:User>" TAIL, PS_EFORMAT, "line 4: ");
	expect_fail("not xml at all", PS_EFORMAT, "line 1: ");
	/* A NUL byte inside the document. */
	assert_int_equal(parse_n(HEAD "<User>\0</User>" TAIL,
				 sizeof(HEAD "<User>\0</User>" TAIL) - 1, &r),
			 PS_EFORMAT);
}

/* libxml2 must not print anything itself. */
static void test_libxml2_is_silent(void **state)
{
	ps_ad_response r;
	FILE *tmp = tmpfile();
	int saved;

	(void)state;
	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(tmp), 2) >= 0);
	(void)parse(HEAD "<User><LegacyDN>x</User>" TAIL, &r);
	(void)parse(HEAD "<q:User/>" TAIL, &r);
	(void)parse("<a xmlns=\"not a uri\"><b>&nosuch;</b></a>", &r);
	(void)parse("<?xml version=\"1.0\" encoding=\"bogus-8\"?><a/>", &r);
	(void)parse("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>", &r);
	fflush(stderr);
	assert_true(dup2(saved, 2) >= 0);
	close(saved);
	assert_int_equal(ftell(tmp), 0);
	fclose(tmp);
}

static void test_xxe_refused(void **state)
{
	static const char *const bodies[] = {
		XMLDECL "<!DOCTYPE a [<!ENTITY x SYSTEM "
		"\"file:///etc/passwd\">]>"
		"<Autodiscover xmlns=\"" NS_R "\"><Response xmlns=\"" NS_O
		"\"><User><LegacyDN>&x;</LegacyDN></User><Account><Action>"
		"settings</Action></Account></Response></Autodiscover>",
		/* Only the DTD, external. */
		XMLDECL "<!DOCTYPE Autodiscover SYSTEM \"file:///etc/passwd\">"
		"<Autodiscover xmlns=\"" NS_R "\"/>",
		/* A parameter entity pulling an external subset. */
		XMLDECL "<!DOCTYPE a [<!ENTITY % p SYSTEM "
		"\"http://127.0.0.1:9/x.dtd\"> %p;]>"
		"<Autodiscover xmlns=\"" NS_R "\"/>",
		/* An external entity in an attribute value. */
		"<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>"
		"<Autodiscover xmlns=\"" NS_R "\"><Response xmlns=\"" NS_O
		"\"><Account><Protocol Type=\"&x;\"/></Account></Response>"
		"</Autodiscover>",
	};
	ps_buf u16 = PS_BUF_INIT;
	ps_xml *x = NULL;
	ps_xml_reader *rd = NULL;
	ps_xml_node n;
	ps_ad_response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(parse(bodies[i], &r), PS_EFORMAT);
		expect_prefix(ps_error_last(), i < 3 ? "line 2: a DOCTYPE is "
			      "not allowed" : "line 1: a DOCTYPE is not "
			      "allowed");
	}
	/* Behind comments and PIs in the prolog, on the line it is on. */
	expect_fail(XMLDECL "<!-- a\n b -->\n<?x y?>\n<!DOCTYPE a [\n"
		    "<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
		    PS_EFORMAT, "line 5: a DOCTYPE is not allowed");
	/* The same in UTF-16. */
	assert_int_equal(ps_buf_put(&u16, "\xFF\xFE", 2), 0);
	assert_int_equal(ps_utf8_to_utf16le(&u16, bodies[0],
					    strlen(bodies[0])), 0);
	assert_int_equal(parse_n(u16.ptr, u16.len, &r), PS_EFORMAT);
	expect_prefix(ps_error_last(), "line 2: a DOCTYPE is not allowed");
	ps_buf_free(&u16);
	/* Nothing is read: the very first node is already the refusal. */
	assert_int_equal(ps_posix_xml_new(&x), 0);
	assert_int_equal(ps_xml_open(x, bodies[0], strlen(bodies[0]), 65536,
				     &rd), 0);
	assert_int_equal(ps_xml_next(x, rd, &n), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "a DOCTYPE is not allowed"));
	ps_xml_close(x, rd);
	ps_xml_free(x);
}

static char *laughs(int in_attr)
{
	ps_buf b = PS_BUF_INIT;
	int i, j;

	ps_buf_puts(&b, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
		    "<!ENTITY lol \"lol\">\n");
	for (i = 1; i <= 9; i++) {
		ps_buf_printf(&b, "<!ENTITY lol%d \"", i);
		for (j = 0; j < 10; j++)
			ps_buf_printf(&b, "&lol%.0d;", i - 1);
		ps_buf_puts(&b, "\">\n");
	}
	ps_buf_puts(&b, "]>\n<Autodiscover xmlns=\"" NS_R "\"><Response "
		    "xmlns=\"" NS_O "\">");
	if (in_attr)
		ps_buf_puts(&b, "<Account><Protocol Type=\"&lol9;\"/>"
			    "</Account>");
	else
		ps_buf_puts(&b, "<User><DisplayName>&lol9;</DisplayName>"
			    "</User>");
	ps_buf_puts(&b, "</Response></Autodiscover>\n");
	assert_int_equal(ps_buf_check(&b), 0);
	return ps_buf_detach(&b);
}

static void test_billion_laughs(void **state)
{
	ps_ad_response r;
	clock_t t0 = clock();
	char *body;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		body = laughs(i);
		assert_int_equal(parse(body, &r), PS_EFORMAT);
		expect_prefix(ps_error_last(), "line 2: a DOCTYPE is not "
			      "allowed");
		free(body);
	}
	/* Refused long before any expansion could finish. */
	assert_true(clock() - t0 < CLOCKS_PER_SEC);
	/* An entity reference that was never declared. */
	expect_fail(HEAD "<User><LegacyDN>&lol;</LegacyDN></User>" TAIL,
		    PS_EFORMAT, "line ");
}

static void test_oversized(void **state)
{
	static const char start[] = HEAD "<User><LegacyDN>x</LegacyDN></User>"
		"<Account><Action>settings</Action></Account>" TAIL "<!--";
	ps_ad_response r;
	size_t max = PS_AD_MAX_BODY;
	char *big = malloc(max + 2);

	(void)state;
	assert_non_null(big);
	/* Exactly at the limit: read. */
	memset(big, 'x', max + 1);
	memcpy(big, start, sizeof(start) - 1);
	memcpy(big + max - 3, "-->", 3);
	big[max] = '\0';
	assert_int_equal(parse_n(big, max, &r), 0);
	assert_string_equal(r.legacy_dn, "x");
	ps_ad_response_free(&r);
	/* One byte more: refused before parsing. */
	memcpy(big + max - 2, "-->", 3);
	big[max + 1] = '\0';
	assert_int_equal(parse_n(big, max + 1, &r), PS_ELIMIT);
	assert_non_null(strstr(ps_error_last(), "larger than"));
	free(big);
}

static char *nested(int levels, int closed)
{
	ps_buf b = PS_BUF_INIT;
	int i;

	ps_buf_puts(&b, HEAD "<Account><Action>settings</Action>");
	for (i = 0; i < levels; i++)
		ps_buf_puts(&b, "<x>");
	if (closed) {
		for (i = 0; i < levels; i++)
			ps_buf_puts(&b, "</x>");
		ps_buf_puts(&b, "</Account>" TAIL);
	}
	assert_int_equal(ps_buf_check(&b), 0);
	return ps_buf_detach(&b);
}

static void test_deep_nesting(void **state)
{
	ps_ad_response r;
	char *body;

	(void)state;
	/* Autodiscover(0)/Response(1)/Account(2): 62 more reach depth 64. */
	body = nested(62, 1);
	assert_int_equal(parse(body, &r), 0);
	ps_ad_response_free(&r);
	free(body);
	body = nested(63, 1);
	assert_int_equal(parse(body, &r), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "deeper than 64"));
	free(body);
	body = nested(100, 1);
	assert_int_equal(parse(body, &r), PS_EFORMAT);
	expect_prefix(ps_error_last(), "line ");
	free(body);
	body = nested(100, 0);
	assert_int_equal(parse(body, &r), PS_EFORMAT);
	free(body);
}

static char *protocols(int n)
{
	ps_buf b = PS_BUF_INIT;
	int i;

	ps_buf_puts(&b, HEAD "<Account><Action>settings</Action>");
	for (i = 0; i < n; i++)
		ps_buf_printf(&b, "<Protocol><Type>EXCH</Type><Server>s%d"
			      "</Server><SSL>On</SSL></Protocol>", i);
	ps_buf_puts(&b, "</Account>" TAIL);
	assert_int_equal(ps_buf_check(&b), 0);
	return ps_buf_detach(&b);
}

static void test_protocol_cap(void **state)
{
	ps_ad_response r;
	char *body;

	(void)state;
	body = protocols(32);
	assert_int_equal(parse(body, &r), 0);
	assert_int_equal(r.nprotocols, 32);
	assert_string_equal(r.protocols[31].server, "s31");
	ps_ad_response_free(&r);
	free(body);
	body = protocols(33);
	assert_int_equal(parse(body, &r), PS_ELIMIT);
	assert_non_null(strstr(ps_error_last(), "more than 32 Protocol"));
	free(body);
}

/* ---- hostile sizes: time ------------------------------------------------ */

/* An answer with one element holding attributes (or namespace
 * declarations) up to about size bytes; in Protocol (where our parser
 * asks for attributes) or in an unknown element. */
static char *many_attrs(size_t size, int protocol, int xmlns)
{
	ps_buf b = PS_BUF_INIT;
	unsigned k = 0;

	ps_buf_puts(&b, HEAD "<Account><Action>settings</Action>\n");
	ps_buf_puts(&b, protocol ? "<Protocol\n" : "<X\n");
	while (b.len + 64 < size)
		ps_buf_printf(&b, xmlns ? " xmlns:p%u=\"u\"" : " a%u=\"\"",
			      k++);
	ps_buf_puts(&b, "/></Account>" TAIL);
	assert_int_equal(ps_buf_check(&b), 0);
	return ps_buf_detach(&b);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Issue 15 item 4: 1 MiB of attributes on one element took 20 s of CPU
 * (libxml2 appends each to a list by walking it); the adapter now counts
 * them first and refuses more than PS_XML_MAX_ATTRS at once. */
static void test_attribute_flood_refused_fast(void **state)
{
	static const int shapes[][2] = { { 1, 0 }, { 0, 0 }, { 0, 1 } };
	struct timespec t0;
	ps_ad_response r;
	size_t i;
	char *body;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		body = many_attrs(PS_AD_MAX_BODY, shapes[i][0], shapes[i][1]);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(parse(body, &r), PS_EFORMAT);
		if (seconds_since(&t0) > 0.5)
			fail_msg("shape %zu: %.2f s", i, seconds_since(&t0));
		expect_prefix(ps_error_last(), "line 5: an element has more "
			      "than 32 attributes");
		free(body);
	}
}

static char *n_attrs(unsigned n)
{
	ps_buf b = PS_BUF_INIT;
	unsigned k;

	ps_buf_puts(&b, HEAD "<Account><Action>settings</Action>"
		    "<Protocol Type=\"EXCH\" xmlns:q='u'");
	for (k = 2; k < n; k++)
		ps_buf_printf(&b, "\n a%u = '>' ", k);
	ps_buf_puts(&b, "><!-- <X a='1' b='1' c='1'> --><Server>s</Server>"
		    "<![CDATA[ <Y a=1 b=2> ]]></Protocol></Account>" TAIL);
	return ps_buf_detach(&b);
}

static void test_attribute_limit(void **state)
{
	ps_buf u16 = PS_BUF_INIT;
	ps_ad_response r;
	char *body;

	(void)state;
	body = n_attrs(PS_XML_MAX_ATTRS);
	assert_int_equal(parse(body, &r), 0);
	assert_string_equal(r.protocols[0].type, "EXCH");
	assert_string_equal(r.protocols[0].server, "s");
	ps_ad_response_free(&r);
	free(body);
	body = n_attrs(PS_XML_MAX_ATTRS + 1);
	expect_fail(body, PS_EFORMAT, "line 4: an element has more than 32 "
		    "attributes");
	/* the same in UTF-16 */
	assert_int_equal(ps_buf_put(&u16, "\xFF\xFE", 2), 0);
	assert_int_equal(ps_utf8_to_utf16le(&u16, body, strlen(body)), 0);
	assert_int_equal(parse_n(u16.ptr, u16.len, &r), PS_EFORMAT);
	expect_prefix(ps_error_last(), "line 4: an element has more");
	ps_buf_free(&u16);
	free(body);
}

/* A declared encoding is not followed: the document is parsed in the
 * encoding the adapter's checks read it in, so UTF-7 cannot hide markup
 * (here a whole answer) from them. */
static void test_declared_encoding_ignored(void **state)
{
	static const char utf7[] =
		"<?xml version=\"1.0\" encoding=\"UTF-7\"?>"
		"<Autodiscover xmlns=\"" NS_R "\">+ADw-Response xmlns=+ACI-"
		NS_O "+ACIAPgA8-Account+AD4APA-Action+AD4-settings+ADw-/Action"
		"+AD4APA-/Account+AD4APA-/Response+AD4-</Autodiscover>";
	ps_ad_response r;

	(void)state;
	assert_int_equal(parse(utf7, &r), PS_EFORMAT);
	assert_non_null(strstr(ps_error_last(), "no Response"));
}

/* ---- the xml port itself ------------------------------------------------ */

typedef struct port {
	ps_xml *x;
	ps_xml_reader *rd;
} port;

static void port_open(port *p, const char *doc, size_t max)
{
	assert_int_equal(ps_posix_xml_new(&p->x), 0);
	assert_int_equal(p->x->ops->version, PS_XML_OPS_VERSION);
	assert_int_equal(ps_xml_open(p->x, doc, strlen(doc), max, &p->rd), 0);
}

static void port_close(port *p)
{
	ps_xml_close(p->x, p->rd);
	ps_xml_free(p->x);
}

/* Every node as "S<depth>{ns}local[/]", "E<depth>local", "T<depth>text",
 * space-separated; then "." at the end or "!" on error. */
static char *port_dump(const char *doc)
{
	ps_buf b = PS_BUF_INIT;
	ps_xml_node n;
	port p;
	int rc;

	port_open(&p, doc, 65536);
	while ((rc = ps_xml_next(p.x, p.rd, &n)) == 1) {
		if (n.type == PS_XML_START)
			ps_buf_printf(&b, "S%d{%s}%s%s ", n.depth, n.ns,
				      n.local, n.empty ? "/" : "");
		else if (n.type == PS_XML_END)
			ps_buf_printf(&b, "E%d%s ", n.depth, n.local);
		else
			ps_buf_printf(&b, "T%d%s ", n.depth, n.text);
	}
	ps_buf_puts(&b, rc == 0 ? "." : "!");
	port_close(&p);
	return ps_buf_detach(&b);
}

static void test_port_nodes(void **state)
{
	char *s;

	(void)state;
	s = port_dump("<?xml version=\"1.0\"?>\n<!-- c -->\n"
		      "<r xmlns=\"urn:a\" xmlns:b=\"urn:b\">\n"
		      "  <b:x k=\"v\"/>\n  <y>hi &amp; <![CDATA[<yo>]]></y>\n"
		      "  <z>\n  </z><?pi x?>\n</r>\n<!-- end -->\n");
	assert_string_equal(s, "S0{urn:a}r S1{urn:b}x/ S1{urn:a}y T2hi &  "
			    "T2<yo> E1y S1{urn:a}z E1z E0r .");
	free(s);
	s = port_dump("<a>x<![CDATA[]]></a>");
	assert_string_equal(s, "S0{}a T1x E0a .");
	free(s);
	s = port_dump("");
	assert_string_equal(s, "!");
	free(s);
	s = port_dump("<!-- only a comment -->");
	assert_string_equal(s, "!");
	free(s);
}

static void test_port_attr(void **state)
{
	static const char doc[] =
		"<r xmlns:p=\"urn:p\" a=\"1 &amp; 2\" p:b=\"ns\" b=\"plain\">"
		"<c/>text</r>";
	const char *a, *b;
	ps_xml_node n;
	port p;

	(void)state;
	port_open(&p, doc, 4096);
	assert_int_equal(ps_xml_next(p.x, p.rd, &n), 1);
	assert_int_equal(n.type, PS_XML_START);
	assert_int_equal(n.empty, 0);
	a = ps_xml_attr(p.x, p.rd, "a");
	b = ps_xml_attr(p.x, p.rd, "b");
	/* Both stay valid until the next call to next. */
	assert_string_equal(a, "1 & 2");
	assert_string_equal(b, "plain");
	assert_null(ps_xml_attr(p.x, p.rd, "missing"));
	assert_null(ps_xml_attr(p.x, p.rd, "p:b"));
	assert_int_equal(ps_xml_next(p.x, p.rd, &n), 1);
	assert_string_equal(n.local, "c");
	assert_int_equal(n.empty, 1);
	assert_int_equal(n.depth, 1);
	assert_null(ps_xml_attr(p.x, p.rd, "a"));
	assert_int_equal(ps_xml_next(p.x, p.rd, &n), 1);
	assert_int_equal(n.type, PS_XML_TEXT);
	assert_null(ps_xml_attr(p.x, p.rd, "a"));
	assert_int_equal(ps_xml_next(p.x, p.rd, &n), 1);
	assert_int_equal(n.type, PS_XML_END);
	assert_int_equal(ps_xml_next(p.x, p.rd, &n), 0);
	assert_int_equal(ps_xml_next(p.x, p.rd, &n), 0);  /* stays at end */
	port_close(&p);
}

static void test_port_depth(void **state)
{
	ps_buf b = PS_BUF_INIT;
	ps_xml_node n;
	port p;
	int i, rc, max = -1;

	(void)state;
	for (i = 0; i < 65; i++)     /* depths 0..64 */
		ps_buf_puts(&b, "<d>");
	for (i = 0; i < 65; i++)
		ps_buf_puts(&b, "</d>");
	port_open(&p, b.ptr, 65536);
	while ((rc = ps_xml_next(p.x, p.rd, &n)) == 1)
		if (n.depth > max)
			max = n.depth;
	assert_int_equal(rc, 0);
	assert_int_equal(max, 64);
	port_close(&p);
	ps_buf_clear(&b);
	for (i = 0; i < 66; i++)
		ps_buf_puts(&b, "<d>\n");
	for (i = 0; i < 66; i++)
		ps_buf_puts(&b, "</d>");
	port_open(&p, b.ptr, 65536);
	while ((rc = ps_xml_next(p.x, p.rd, &n)) == 1)
		;
	assert_int_equal(rc, PS_EFORMAT);
	assert_string_equal(ps_error_last(), "line 66: elements nested "
			    "deeper than 64 levels");
	/* The error sticks. */
	ps_error_clear();
	assert_int_equal(ps_xml_next(p.x, p.rd, &n), PS_EFORMAT);
	expect_prefix(ps_error_last(), "line 66: ");
	port_close(&p);
	ps_buf_free(&b);
}

static void test_port_errors(void **state)
{
	ps_xml_node n;
	ps_xml_reader *rd = NULL;
	port p;
	int rc;

	(void)state;
	/* The line of a libxml2 error comes with its message. */
	port_open(&p, "<a>\n<b>\n</c>\n</a>", 4096);
	while ((rc = ps_xml_next(p.x, p.rd, &n)) == 1)
		;
	assert_int_equal(rc, PS_EFORMAT);
	expect_prefix(ps_error_last(), "line 3: ");
	port_close(&p);
	/* An entity reference node. */
	port_open(&p, "<a>\n&undefined;</a>", 4096);
	while ((rc = ps_xml_next(p.x, p.rd, &n)) == 1)
		;
	assert_int_equal(rc, PS_EFORMAT);
	expect_prefix(ps_error_last(), "line 2: ");
	port_close(&p);
	/* The size cap, before any parsing. */
	assert_int_equal(ps_posix_xml_new(&p.x), 0);
	assert_int_equal(ps_xml_open(p.x, "<a/>", 4, 3, &rd), PS_ELIMIT);
	assert_null(rd);
	assert_int_equal(ps_xml_open(p.x, "<a/>", 4, 4, &rd), 0);
	assert_int_equal(ps_xml_next(p.x, rd, &n), 1);
	assert_int_equal(n.empty, 1);
	assert_int_equal(ps_xml_next(p.x, rd, &n), 0);
	ps_xml_close(p.x, rd);
	ps_xml_close(p.x, NULL);
	ps_xml_free(p.x);
	ps_xml_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_body_email),
		cmocka_unit_test(test_request_body_dn),
		cmocka_unit_test(test_request_body_escaped),
		cmocka_unit_test(test_settings_exch_expr_web),
		cmocka_unit_test(test_settings_mapihttp),
		cmocka_unit_test(test_settings_without_action),
		cmocka_unit_test(test_redirect_addr),
		cmocka_unit_test(test_redirect_url_both_spellings),
		cmocka_unit_test(test_redirect_missing_target),
		cmocka_unit_test(test_error_under_response),
		cmocka_unit_test(test_error_under_account),
		cmocka_unit_test(test_prefixed_namespaces),
		cmocka_unit_test(test_wrong_namespace_ignored),
		cmocka_unit_test(test_wrong_root),
		cmocka_unit_test(test_unknown_subtrees_do_not_overwrite),
		cmocka_unit_test(test_duplicates_first_wins),
		cmocka_unit_test(test_nothing_usable),
		cmocka_unit_test(test_whitespace_cdata_entities),
		cmocka_unit_test(test_utf8_bom),
		cmocka_unit_test(test_utf16_body),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_libxml2_is_silent),
		cmocka_unit_test(test_xxe_refused),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_protocol_cap),
		cmocka_unit_test(test_attribute_flood_refused_fast),
		cmocka_unit_test(test_attribute_limit),
		cmocka_unit_test(test_declared_encoding_ignored),
		cmocka_unit_test(test_port_nodes),
		cmocka_unit_test(test_port_attr),
		cmocka_unit_test(test_port_depth),
		cmocka_unit_test(test_port_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
