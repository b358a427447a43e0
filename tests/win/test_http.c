/*
 * The WinHTTP http port (platform/win32/win32_http.c) against the native
 * mock Autodiscover server on loopback (tests/win/http_test.sh starts it
 * with tests/win/data/http and passes what it needs):
 *
 *   test_http HTTP_PORT HTTPS_PORT CA.pem OTHER_CA.pem LOG
 *
 * (Windows paths).  Plain http to 127.0.0.1; https with the test CA as
 * ca_file accepted, without it or with another CA refused, and nothing
 * of a refused request reaches the server; a redirect returned, not
 * followed; 401 and Basic credentials only over https; a dropped
 * connection, a cut body, a timeout, the size cap; PROFSWITCH_CONNECT_TO
 * keeps the name checked by TLS.  A cmocka test each, run in order: the
 * server's log is checked last.
 */
#include <windows.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ps_error.h"
#include "ps_http.h"
#include "ps_win32.h"

static unsigned http_port, https_port;
static const char *ca, *other_ca, *log_path;

static const char ad_body[] =
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
	"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/"
	"autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>"
	"alice@contoso.com</EMailAddress></Request></Autodiscover>\r\n";
static const char *const ad_headers[] = {
	"Content-Type: text/xml; charset=utf-8",
	"X-MapiHttpCapability: 1",
	"X-AnchorMailbox: alice@contoso.com",
	NULL
};

static int has(const char *s, const char *part)
{
	if (s && strstr(s, part))
		return 1;
	fprintf(stderr, "  expected \"%s\" in \"%s\"\n", part,
		s ? s : "(null)");
	return 0;
}

static ps_http *port(const char *ca_file)
{
	ps_http *h = NULL;
	int rc = ps_win32_http_new(ca_file, &h);

	if (rc != 0)
		fprintf(stderr, "ps_win32_http_new: %d %s\n", rc,
			ps_error_last());
	assert_int_equal(rc, 0);
	assert_non_null(h);
	return h;
}

/* Wine's ntdll has wine_get_version. */
static int under_wine(void)
{
	HMODULE nt = GetModuleHandleW(L"ntdll.dll");

	return nt && GetProcAddress(nt, "wine_get_version") != NULL;
}

/* One request; the code, and the response in *rs when it is 0. */
static int ask(ps_http *h, const char *method, const char *url,
	       unsigned timeout_ms, size_t max_body, int creds,
	       ps_http_response *rs)
{
	ps_http_request rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	memset(rs, 0, sizeof(*rs));
	rq.method = method;
	rq.url = url;
	rq.headers = ad_headers;
	if (strcmp(method, "POST") == 0) {
		rq.body = ad_body;
		rq.body_len = strlen(ad_body);
	}
	rq.timeout_ms = timeout_ms;
	rq.max_body = max_body;
	rq.send_credentials = creds;
	ps_error_clear();
	rc = ps_http_perform(h, &rq, rs);
	printf("  %s %s -> %d %s\n", method, url, rc,
	       rc == 0 ? "" : ps_error_last());
	return rc;
}

static char *url(int https, const char *host, const char *path)
{
	static char buf[4][256];
	static int next;
	char *u = buf[next++ % 4];

	(void)snprintf(u, 256, "%s://%s:%u%s", https ? "https" : "http", host,
		       https ? https_port : http_port, path);
	return u;
}

/* https goes to a name the test certificate has, mapped to the mock
 * (PROFSWITCH_CONNECT_TO, set in main): Wine's WinHTTP does not match
 * an address against a certificate's IP names. */
static char *tls_url(const char *path)
{
	static char buf[4][256];
	static int next;
	char *u = buf[next++ % 4];

	(void)snprintf(u, 256, "https://autodiscover.contoso.com%s", path);
	return u;
}

static char *tls_url_wrong(const char *path)
{
	static char buf[256];

	(void)snprintf(buf, sizeof(buf), "https://wrong.example%s", path);
	return buf;
}

static void map_names(void)
{
	char map[200];
	wchar_t wmap[200];

	(void)snprintf(map, sizeof(map),
		       "autodiscover.contoso.com:443:127.0.0.1:%u "
		       "wrong.example:443:127.0.0.1:%u", https_port,
		       https_port);
	MultiByteToWideChar(CP_UTF8, 0, map, -1, wmap, 200);
	SetEnvironmentVariableW(L"PROFSWITCH_CONNECT_TO", wmap);
}

static void test_plain_http(void **state)
{
	ps_http *h = port(NULL);
	ps_http_response rs;

	(void)state;
	assert_int_equal(
		ask(h, "POST", url(0, "127.0.0.1", "/ok"), 5000, 0, 0, &rs), 0);
	assert_int_equal(rs.status, 200);
	assert_true(has(rs.body, "<Action>settings</Action>"));
	assert_int_equal(rs.body_len, strlen(rs.body));
	assert_non_null(rs.content_type);
	assert_string_equal(rs.content_type, "text/xml; charset=utf-8");
	assert_true(rs.location == NULL);
	ps_http_response_free(&rs);
	/* an unknown path: a response, whatever its status */
	assert_int_equal(
		ask(h, "GET", url(0, "127.0.0.1", "/nothing"), 5000, 0, 0, &rs),
		0);
	assert_int_equal(rs.status, 404);
	assert_true(rs.body != NULL && rs.body_len == 0);
	ps_http_response_free(&rs);
	assert_int_equal(ask(h, "GET", "ftp://127.0.0.1/x", 5000, 0, 0, &rs),
			 PS_EFORMAT);
	assert_int_equal(ask(h, "GET", "http://", 5000, 0, 0, &rs), PS_EFORMAT);
	ps_http_free(h);
}

static void test_tls(void **state)
{
	ps_http *h = port(ca), *none = port(NULL), *other = port(other_ca);
	ps_http_response rs;
	ps_http *bad = NULL;

	(void)state;
	assert_int_equal(ask(h, "POST", tls_url("/ok"), 5000, 0, 0, &rs), 0);
	assert_int_equal(rs.status, 200);
	assert_true(has(rs.body, "settings"));
	ps_http_response_free(&rs);
	/* twice on the same port (a second connection, or the same one) */
	assert_int_equal(
		ask(h, "GET", url(1, "localhost", "/ok"), 5000, 0, 0, &rs), 0);
	assert_int_equal(rs.status, 200);
	ps_http_response_free(&rs);
	/* without the CA, or with another one: refused, nothing sent */
	assert_int_equal(ask(none, "GET", tls_url("/never"), 5000, 0, 0, &rs),
			 PS_EIO);
	assert_true(has(ps_error_last(), "TLS"));
	assert_int_equal(ask(other, "GET", tls_url("/never"), 5000, 0, 1, &rs),
			 PS_EIO);
	assert_true(has(ps_error_last(), "TLS"));
	assert_int_equal(ask(other, "POST", tls_url("/never"), 5000, 0, 1, &rs),
			 PS_EIO);
	assert_true(has(ps_error_last(), "certificate verify failed"));
	/* a name the certificate does not have: refused even with the CA */
	assert_int_equal(
		ask(h, "GET", tls_url_wrong("/never"), 5000, 0, 0, &rs),
		PS_EIO);
	ps_http_free(h);
	ps_http_free(none);
	ps_http_free(other);
	/* a CA file that is not there, or holds no certificate */
	assert_int_equal(ps_win32_http_new("Z:\\nonexistent\\ca.pem", &bad),
			 PS_ENOTFOUND);
	assert_int_equal(ps_win32_http_new(log_path, &bad) < 0, 1);
}

static void test_redirect_and_auth(void **state)
{
	ps_http *h = port(ca);
	ps_http_response rs;

	(void)state;
	assert_int_equal(ask(h, "POST", tls_url("/redirect"), 5000, 0, 0, &rs),
			 0);
	assert_int_equal(rs.status, 302);
	assert_non_null(rs.location);
	assert_string_equal(
		rs.location,
		"https://evil.example/autodiscover/autodiscover.xml");
	ps_http_response_free(&rs);
	assert_int_equal(ask(h, "GET", url(0, "127.0.0.1", "/redirect"), 5000,
			     0, 0, &rs),
			 0);
	assert_int_equal(rs.status, 302);
	ps_http_response_free(&rs);
	SetEnvironmentVariableW(L"PROFSWITCH_AD_USER", L"alice");
	SetEnvironmentVariableW(L"PROFSWITCH_AD_PASSWORD", L"Secret1");
	/* credentials allowed, over https: accepted */
	assert_int_equal(ask(h, "POST", tls_url("/auth"), 5000, 0, 1, &rs), 0);
	assert_int_equal(rs.status, 200);
	ps_http_response_free(&rs);
	/* not allowed for the request: 401 */
	assert_int_equal(ask(h, "POST", tls_url("/auth"), 5000, 0, 0, &rs), 0);
	assert_int_equal(rs.status, 401);
	ps_http_response_free(&rs);
	/* allowed, but plain http: never sent, 401 */
	assert_int_equal(
		ask(h, "POST", url(0, "127.0.0.1", "/auth"), 5000, 0, 1, &rs),
		0);
	assert_int_equal(rs.status, 401);
	ps_http_response_free(&rs);
	SetEnvironmentVariableW(L"PROFSWITCH_AD_PASSWORD", L"wrong");
	assert_int_equal(ask(h, "POST", tls_url("/auth"), 5000, 0, 1, &rs), 0);
	assert_int_equal(rs.status, 401);
	ps_http_response_free(&rs);
	SetEnvironmentVariableW(L"PROFSWITCH_AD_USER", NULL);
	SetEnvironmentVariableW(L"PROFSWITCH_AD_PASSWORD", NULL);
	ps_http_free(h);
}

static void test_faults(void **state)
{
	ps_http *h = port(ca);
	ps_http_response rs;
	ULONGLONG t0;

	(void)state;
	assert_int_equal(
		ask(h, "POST", url(0, "127.0.0.1", "/drop"), 5000, 0, 0, &rs),
		PS_EIO);
	assert_int_equal(ask(h, "POST", tls_url("/drop"), 5000, 0, 0, &rs),
			 PS_EIO);
	assert_int_equal(ask(h, "GET", url(0, "127.0.0.1", "/truncated"), 5000,
			     0, 0, &rs),
			 PS_EIO);
	t0 = GetTickCount64();
	assert_int_equal(
		ask(h, "POST", url(0, "127.0.0.1", "/slow"), 1000, 0, 0, &rs),
		PS_EIO);
	assert_true(has(ps_error_last(), "timed out"));
	/* Wine's WinHTTP does not end a request on its receive timeout:
	 * the answer (4 s late) comes first.  Windows' does; the time is
	 * only checked there. */
	if (!under_wine())
		assert_true(GetTickCount64() - t0 < 3500);
	else
		printf("  (under Wine: how long the timeout took is not "
		       "checked)\n");
	t0 = GetTickCount64();
	assert_int_equal(ask(h, "POST", tls_url("/slow"), 1000, 0, 0, &rs),
			 PS_EIO);
	if (!under_wine())
		assert_true(GetTickCount64() - t0 < 3500);
	/* the size cap: at the limit read, one byte below refused */
	assert_int_equal(
		ask(h, "GET", url(0, "127.0.0.1", "/big"), 5000, 0, 0, &rs), 0);
	assert_int_equal(rs.status, 200);
	if (rs.body) {
		size_t n = rs.body_len;

		ps_http_response_free(&rs);
		assert_int_equal(ask(h, "GET", url(0, "127.0.0.1", "/big"),
				     5000, n, 0, &rs),
				 0);
		ps_http_response_free(&rs);
		assert_int_equal(
			ask(h, "GET", tls_url("/big"), 5000, n - 1, 0, &rs),
			PS_ELIMIT);
		assert_true(has(ps_error_last(), "larger than"));
	}
	/* nobody listening */
	assert_int_equal(ask(h, "GET", "http://127.0.0.1:1/x", 5000, 0, 0, &rs),
			 PS_EIO);
	ps_http_free(h);
}

static void test_connect_to(void **state)
{
	char map[200];
	wchar_t wmap[200];
	ps_http *h, *none;
	ps_http_response rs;

	(void)state;
	(void)snprintf(map, sizeof(map),
		       "autodiscover.contoso.com:443:127.0.0.1:%u "
		       "wrong.example:443:127.0.0.1:%u "
		       "autodiscover.contoso.com:80:127.0.0.1:%u",
		       https_port, https_port, http_port);
	MultiByteToWideChar(CP_UTF8, 0, map, -1, wmap, 200);
	SetEnvironmentVariableW(L"PROFSWITCH_CONNECT_TO", wmap);
	h = port(ca);
	none = port(NULL);
	assert_int_equal(ask(h, "POST", "https://autodiscover.contoso.com/ok",
			     5000, 0, 0, &rs),
			 0);
	assert_int_equal(rs.status, 200);
	ps_http_response_free(&rs);
	assert_int_equal(ask(h, "GET", "http://autodiscover.contoso.com/ok",
			     5000, 0, 0, &rs),
			 0);
	assert_int_equal(rs.status, 200);
	ps_http_response_free(&rs);
	/* the name is still what TLS checks */
	assert_int_equal(
		ask(h, "GET", "https://wrong.example/never", 5000, 0, 0, &rs),
		PS_EIO);
	assert_true(has(ps_error_last(), "wrong.example"));
	assert_int_equal(ask(none, "GET",
			     "https://autodiscover.contoso.com/never", 5000, 0,
			     0, &rs),
			 PS_EIO);
	map_names();
	ps_http_free(h);
	ps_http_free(none);
}

/* The server's log: the Host headers sent, and no refused request. */
static void test_log(void **state)
{
	FILE *f = fopen(log_path, "rb");
	static char text[1 << 16];
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	/* a refused server may see the chain check's HEAD probe (no
	 * credentials, no body; win32_http.c probe_chain), nothing else */
	assert_true(strstr(text, "GET https autodiscover.contoso.com /never") ==
		    NULL);
	assert_true(
		strstr(text, "POST https autodiscover.contoso.com /never") ==
		NULL);
	assert_true(strstr(text, "GET https wrong.example /never") == NULL);
	assert_true(strstr(text, "Authorization") == NULL ||
		    strstr(text, "/never\nAuthorization") == NULL);
	assert_true(has(text, "POST https autodiscover.contoso.com /ok"));
	assert_true(has(text, "GET http autodiscover.contoso.com /ok"));
	assert_true(has(text, "X-AnchorMailbox: alice@contoso.com"));
	/* credentials only once per allowed https request (two of them) */
	{
		const char *p = text;
		int count = 0;

		while ((p = strstr(p, "Authorization: (present)")) != NULL) {
			count++;
			p++;
		}
		assert_int_equal(count, 2);
	}
}

static void test_srv(void **state)
{
	ps_http *h = port(NULL);
	char *host = NULL;
	unsigned p = 0;

	(void)state;
	SetEnvironmentVariableW(L"PROFSWITCH_NO_SRV", L"1");
	assert_int_equal(ps_http_resolve_srv(h,
					     "_autodiscover._tcp.contoso.com",
					     &host, &p),
			 PS_ENOTFOUND);
	assert_true(host == NULL);
	SetEnvironmentVariableW(L"PROFSWITCH_NO_SRV", NULL);
	ps_http_free(h);
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_http),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_redirect_and_auth),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_connect_to),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_srv),
	};

	if (argc != 6) {
		printf("skipped: run by tests/win/http_test.sh\n");
		return 77;
	}
	/* cmocka's messages (stderr) and ours in the order they happen */
	setvbuf(stdout, NULL, _IONBF, 0);
	http_port = (unsigned)atoi(argv[1]);
	https_port = (unsigned)atoi(argv[2]);
	ca = argv[3];
	other_ca = argv[4];
	log_path = argv[5];
	map_names();
	return cmocka_run_group_tests_name("wine.http (WinHTTP)", tests,
					   NULL, NULL);
}
