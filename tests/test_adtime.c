/*
 * Autodiscover against the mock server (fakeautodiscover, plain http on
 * loopback) through the whole program: the time budget bounds the whole
 * discovery (every hop, every request, every answer parsed), in update
 * (GlobalTimeoutSeconds) and in 'profswitch autodiscover' (--timeout),
 * and what the command prints from an answer is made safe.  Budgets are
 * 2 s so that the tests stay fast; each scenario would run far longer
 * without the bound.  Also the mock's own check of a Windows
 * authentication handshake (RequireAuth = windows), request by request.
 * Skipped when the mock server is not built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ps_autodiscover.h"
#include "ps_error.h"
#include "ps_http.h"
#include "ps_posix.h"
#include "testutil.h"

typedef struct mock {
	char dir[64];
	pid_t pid;
	unsigned port;
	char base[64];     /* http://127.0.0.1:PORT */
	ps_buf out, err;
} mock;

static mock M;

static void put(const char *rel, const char *text, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", M.dir, rel);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void puts_file(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

/* Start the mock on the scenario in M.dir/autodiscover (server.ini
 * written by the test); fills M.port and M.base. */
static void start_mock(void)
{
#ifdef PS_FAKEAD
	int fds[2];
	char line[128] = "", *h;
	ssize_t n;
	size_t got = 0;

	assert_int_equal(pipe(fds), 0);
	M.pid = fork();
	assert_true(M.pid >= 0);
	if (M.pid == 0) {
		char ad[96];

		snprintf(ad, sizeof(ad), "%s/autodiscover", M.dir);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(127);
		execl(PS_FAKEAD, PS_FAKEAD, "--scenario", ad, "--port", "0",
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	while (got + 1 < sizeof(line) && !strchr(line, '\n')) {
		n = read(fds[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
	}
	close(fds[0]);
	h = strstr(line, "http=");
	if (!h)
		fail_msg("the mock server did not start: '%s'", line);
	M.port = (unsigned)strtoul(h + 5, NULL, 10);
	assert_true(M.port > 0);
	snprintf(M.base, sizeof(M.base), "http://127.0.0.1:%u", M.port);
#else
	skip();
#endif
}

static void stop_mock(void)
{
	if (M.pid > 0) {
		kill(M.pid, SIGTERM);
		waitpid(M.pid, NULL, 0);
		M.pid = 0;
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&M, 0, sizeof(M));
	snprintf(M.dir, sizeof(M.dir), "/tmp/ps-adtime-XXXXXX");
	assert_non_null(mkdtemp(M.dir));
	{
		char ad[96];

		snprintf(ad, sizeof(ad), "%s/autodiscover", M.dir);
		assert_int_equal(mkdir(ad, 0700), 0);
	}
	setenv("PROFSWITCH_NO_SRV", "1", 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	stop_mock();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", M.dir);
	assert_int_equal(system(cmd), 0);
	ps_buf_free(&M.out);
	ps_buf_free(&M.err);
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* server.ini: /hN answers after delay_ms with a 302 to /h(N+1), for N in
 * 0..19: twenty slow redirects, far more than any budget here allows. */
static void slow_redirects(unsigned delay_ms)
{
	ps_buf b = PS_BUF_INIT;
	int i;

	for (i = 0; i < 20; i++)
		ps_buf_printf(&b, "[Rule h%d]\nPath = /h%d\nStatus = 302\n"
			      "Location = http://127.0.0.1:%%HTTP_PORT%%/h%d\n"
			      "DelayMs = %u\n\n", i, i, i + 1, delay_ms);
	puts_file("autodiscover/server.ini", b.ptr);
	ps_buf_free(&b);
}

static const char mapping[] =
	"SourceLegacyDN|TargetLegacyDN|TargetSMTP\n"
	TU_ALICE_SRC "|" TU_ALICE_TGT "|alice@contoso.com\n";

/* Issue 15 item 4: GlobalTimeoutSeconds = 2 bounds the whole
 * verification, not each of its requests (slow redirects ran 80 s on a
 * 10 s budget). */
static void test_update_budget_bounds_slow_redirects(void **state)
{
	char store[96], map[96], cfg[96], text[512];
	ps_regtree t;
	ps_buf b = PS_BUF_INIT;
	double t0, took;
	int status;

	(void)state;
	slow_redirects(700);
	start_mock();
	tu_fixture(&t);
	assert_int_equal(ps_regtree_write(&t, &b), 0);
	ps_regtree_free(&t);
	put("u.reg", b.ptr, b.len);
	put("m.puf", mapping, sizeof(mapping) - 1);
	snprintf(text, sizeof(text), "[Settings]\nVerifyAutodiscover=1\n"
		 "AutodiscoverTargetURL=%s/h0\nGlobalTimeoutSeconds=2\n",
		 M.base);
	puts_file("p.ini", text);
	snprintf(store, sizeof(store), "%s/u.reg", M.dir);
	snprintf(map, sizeof(map), "%s/m.puf", M.dir);
	snprintf(cfg, sizeof(cfg), "%s/p.ini", M.dir);
	t0 = now_s();
	status = tu_run(&M.out, &M.err, "update", "--store", store,
			"--mapping", map, "--config", cfg, "--dry-run", NULL);
	took = now_s() - t0;
	if (took > 4.5)
		fail_msg("a 2 s budget took %.1f s", took);
	assert_true(status & 8);
	assert_non_null(strstr(M.out.ptr, "failed"));
	assert_non_null(strstr(M.out.ptr, "time budget"));
	ps_buf_free(&b);
}

/* profswitch autodiscover --timeout 2: the same chain ends in time, and
 * a single answer slower than the budget is cut at the budget. */
static void test_command_timeout(void **state)
{
	char url[128];
	double t0, took;

	(void)state;
	slow_redirects(700);
	start_mock();
	snprintf(url, sizeof(url), "%s/h0", M.base);
	t0 = now_s();
	assert_int_equal(tu_run(&M.out, &M.err, "autodiscover",
				"alice@contoso.com", "--url", url,
				"--timeout", "2", NULL), 8);
	took = now_s() - t0;
	if (took > 4.5)
		fail_msg("--timeout 2 took %.1f s", took);
	assert_non_null(strstr(M.err.ptr, "time budget of 2 s"));
	assert_non_null(strstr(M.out.ptr, "/h1"));
	assert_null(strstr(M.out.ptr, "/h9"));
	/* A bad value is a usage error. */
	assert_int_equal(tu_run(&M.out, &M.err, "autodiscover",
				"alice@contoso.com", "--timeout", "soon",
				NULL), 64);
	assert_non_null(strstr(M.err.ptr, "--timeout"));
}

static void test_command_one_slow_answer(void **state)
{
	char url[128];
	double t0, took;

	(void)state;
	puts_file("autodiscover/server.ini", "[Rule slow]\nPath = /slow\n"
		  "DelayMs = 30000\n");
	start_mock();
	snprintf(url, sizeof(url), "%s/slow", M.base);
	t0 = now_s();
	assert_int_equal(tu_run(&M.out, &M.err, "autodiscover",
				"alice@contoso.com", "--url", url,
				"--timeout", "2", NULL), 8);
	took = now_s() - t0;
	if (took > 4.5)
		fail_msg("--timeout 2 took %.1f s", took);
	assert_non_null(strstr(M.err.ptr, "timed out"));
}

/* 1 MiB answers that took about 20 s each to parse (one element with
 * 100,000 attributes), behind redirectUrl answers: refused at once. */
static void test_command_big_answers(void **state)
{
	ps_buf b = PS_BUF_INIT, ini = PS_BUF_INIT;
	char url[128];
	double t0, took;
	unsigned k = 0;
	int i;

	(void)state;
	ps_buf_puts(&b, "<Autodiscover xmlns=\"" PS_AD_NS_RESPONSE "\">"
		    "<Response xmlns=\"" PS_AD_NS_OUTLOOK "\"><Account>"
		    "<Action>settings</Action><Protocol");
	while (b.len + 100 < PS_AD_MAX_BODY)
		ps_buf_printf(&b, " a%u=\"\"", k++);
	ps_buf_puts(&b, "/></Account></Response></Autodiscover>");
	put("autodiscover/big.xml", b.ptr, b.len);
	for (i = 0; i < 3; i++)
		ps_buf_printf(&ini, "[Rule b%d]\nPath = /b%d\nBody = big.xml\n"
			      "\n", i, i);
	puts_file("autodiscover/server.ini", ini.ptr);
	start_mock();
	snprintf(url, sizeof(url), "%s/b0", M.base);
	t0 = now_s();
	assert_int_equal(tu_run(&M.out, &M.err, "autodiscover",
				"alice@contoso.com", "--url", url,
				"--timeout", "2", NULL), 8);
	took = now_s() - t0;
	if (took > 2.5)
		fail_msg("a 1 MiB answer took %.1f s", took);
	assert_non_null(strstr(M.err.ptr, "more than 32 attributes"));
	ps_buf_free(&b);
	ps_buf_free(&ini);
}

/* Issue 15 item 13: server text printed by the command is made safe
 * (here C1 controls, which XML allows; ESC and BEL it does not). */
static void test_command_output_sanitised(void **state)
{
	static const char body[] =
		"<Autodiscover xmlns=\"" PS_AD_NS_RESPONSE "\">"
		"<Response xmlns=\"" PS_AD_NS_OUTLOOK "\"><User>"
		"<DisplayName>Al&#x9b;31mice&#x85;x</DisplayName>"
		"<LegacyDN>/o=T/cn=alice\xC2\x9B" "2J</LegacyDN></User>"
		"<Account><Action>settings</Action><Protocol><Type>EXCH&#x9b;"
		"</Type><Server>exch01</Server></Protocol></Account>"
		"</Response></Autodiscover>";
	char url[128];
	size_t i;

	(void)state;
	puts_file("autodiscover/ok.xml", body);
	puts_file("autodiscover/server.ini", "[Rule ok]\nPath = /ok\n"
		  "Body = ok.xml\n");
	start_mock();
	snprintf(url, sizeof(url), "%s/ok", M.base);
	assert_int_equal(tu_run(&M.out, &M.err, "autodiscover",
				"alice@contoso.com", "--url", url, NULL), 0);
	assert_non_null(strstr(M.out.ptr, "Al?31mice?x"));
	assert_non_null(strstr(M.out.ptr, "/o=T/cn=alice?2J"));
	assert_non_null(strstr(M.out.ptr, "protocol EXCH?"));
	for (i = 0; i < M.out.len; i++) {
		unsigned char c = (unsigned char)M.out.ptr[i];

		assert_true(c >= 0x20 || c == '\n');
		assert_false(c == 0xC2 && i + 1 < M.out.len &&
			     (unsigned char)M.out.ptr[i + 1] <= 0x9F);
	}
}

/* base64 of n bytes into out (big enough). */
static void b64(const unsigned char *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 |
			     (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);

		*out++ = abc[v >> 18 & 63];
		*out++ = abc[v >> 12 & 63];
		*out++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*out++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*out = '\0';
}

/* A security buffer at msg + at: length and offset (max = length). */
static void secbuf(unsigned char *msg, size_t at, unsigned len,
		   unsigned off)
{
	msg[at] = msg[at + 2] = (unsigned char)len;
	msg[at + 4] = (unsigned char)off;
}

/* "Authorization: SCHEME BASE64" of an NTLMSSP message of `type`: 1, or
 * 3 with an NT response of nt_len bytes and the OEM user "alice". */
static void ntlm_header(char *out, const char *scheme, unsigned type,
			unsigned nt_len, size_t cut)
{
	unsigned char m[160];
	size_t n;
	char enc[256];

	memset(m, 0, sizeof(m));
	memcpy(m, "NTLMSSP", 8);
	m[8] = (unsigned char)type;
	if (type == 1) {
		m[12] = 0x07;   /* unicode, OEM, request target */
		m[13] = 0x82;   /* NTLM, always sign */
		n = 32;
	} else {
		/* LM 24, NT nt_len, domain "CONTOSO", user "alice" */
		secbuf(m, 12, 24, 64);
		secbuf(m, 20, nt_len, 88);
		secbuf(m, 28, 7, 88 + nt_len);
		secbuf(m, 36, 5, 95 + nt_len);
		secbuf(m, 44, 0, 100 + nt_len);
		secbuf(m, 52, 0, 100 + nt_len);
		m[61] = 0x82;
		memcpy(m + 88 + nt_len, "CONTOSOalice", 12);
		n = 100 + nt_len;
	}
	if (cut)
		n = cut;
	b64(m, n, enc);
	sprintf(out, "Authorization: %s %s", scheme, enc);
}

/* POST to the mock with one extra header (or none): the status. */
static int post_status(ps_http *h, const char *url, const char *extra)
{
	const char *headers[2] = { extra, NULL };
	ps_http_request rq;
	ps_http_response rs;
	int status;

	memset(&rq, 0, sizeof(rq));
	memset(&rs, 0, sizeof(rs));
	rq.method = "POST";
	rq.url = url;
	rq.headers = extra ? headers : NULL;
	rq.body = "<x/>";
	rq.body_len = 4;
	rq.timeout_ms = 5000;
	assert_int_equal(ps_http_perform(h, &rq, &rs), 0);
	status = rs.status;
	ps_http_response_free(&rs);
	return status;
}

/* RequireAuth = windows checks the handshake's shape: a type 1 gets the
 * challenge, a well-formed type 3 passes only on the connection that got
 * it; Basic, a type 3 out of turn, a cut or malformed one: 401. */
static void test_mock_windows_auth_shape(void **state)
{
	ps_http *h = NULL, *h2 = NULL;
	char url[128], hdr[400];

	(void)state;
	puts_file("autodiscover/ok.xml", "<ok/>\n");
	puts_file("autodiscover/server.ini", "[Rule auth]\n"
		  "RequireAuth = windows\nBody = ok.xml\n");
	start_mock();
	snprintf(url, sizeof(url), "%s/autodiscover/autodiscover.xml",
		 M.base);
	assert_int_equal(ps_posix_http_new(NULL, &h), 0);
	assert_int_equal(ps_posix_http_new(NULL, &h2), 0);

	assert_int_equal(post_status(h, url, NULL), 401);
	assert_int_equal(post_status(h, url, "Authorization: Basic "
				     "YWxpY2U6U2VjcmV0MQ=="), 401);
	/* type 3 before any challenge */
	ntlm_header(hdr, "NTLM", 3, 24, 0);
	assert_int_equal(post_status(h, url, hdr), 401);
	/* the handshake, NTLM */
	ntlm_header(hdr, "NTLM", 1, 0, 0);
	assert_int_equal(post_status(h, url, hdr), 401);
	ntlm_header(hdr, "NTLM", 3, 24, 0);
	assert_int_equal(post_status(h, url, hdr), 200);
	/* the challenge is used up */
	assert_int_equal(post_status(h, url, hdr), 401);
	/* Negotiate carrying NTLM; NTLMv2-sized response */
	ntlm_header(hdr, "Negotiate", 1, 0, 0);
	assert_int_equal(post_status(h, url, hdr), 401);
	ntlm_header(hdr, "Negotiate", 3, 48, 0);
	assert_int_equal(post_status(h, url, hdr), 200);
	/* challenged on one connection, type 3 on another */
	ntlm_header(hdr, "NTLM", 1, 0, 0);
	assert_int_equal(post_status(h, url, hdr), 401);
	ntlm_header(hdr, "NTLM", 3, 24, 0);
	assert_int_equal(post_status(h2, url, hdr), 401);
	/* malformed type 3s after a challenge: cut, short NT response */
	ntlm_header(hdr, "NTLM", 1, 0, 0);
	assert_int_equal(post_status(h, url, hdr), 401);
	ntlm_header(hdr, "NTLM", 3, 24, 90);
	assert_int_equal(post_status(h, url, hdr), 401);
	ntlm_header(hdr, "NTLM", 1, 0, 0);
	assert_int_equal(post_status(h, url, hdr), 401);
	ntlm_header(hdr, "NTLM", 3, 16, 0);
	assert_int_equal(post_status(h, url, hdr), 401);
	ps_http_free(h);
	ps_http_free(h2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_update_budget_bounds_slow_redirects),
		T(test_command_timeout),
		T(test_command_one_slow_answer),
		T(test_command_big_answers),
		T(test_command_output_sanitised),
		T(test_mock_windows_auth_shape),
	};
#undef T

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
