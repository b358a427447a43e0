/*
 * The http port on Windows: WinHTTP, one session per port, one request
 * handle per request (docs/autodiscover.md "The Windows http port").
 *
 * - Redirects are never followed: WINHTTP_OPTION_REDIRECT_POLICY_NEVER on
 *   the session and WINHTTP_DISABLE_REDIRECTS on every request; a 3xx is
 *   returned as a response with its Location.
 * - The system proxy: WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY (Windows 8.1
 *   and later); where WinHttpOpen refuses it, the user's Internet
 *   settings (WinHttpGetIEProxyConfigForCurrentUser, then
 *   WinHttpGetProxyForUrl for WPAD or a PAC file) for each request.
 *   Never for this machine's addresses or a PROFSWITCH_CONNECT_TO host.
 *   No cookies.
 * - The logged-on user's Windows credentials (Negotiate, NTLM) only when
 *   the request allows credentials (the core's choice: https to a trusted
 *   host): automatic logon policy LOW for such a request, HIGH (never)
 *   for every other; a 401 that offers Negotiate or NTLM is answered with
 *   WinHttpSetCredentials(NULL, NULL) and the request sent again
 *   (docs/autodiscover.md "Windows credentials").  With
 *   PROFSWITCH_AD_USER / PROFSWITCH_AD_PASSWORD set, that account is used
 *   instead: Basic up front, and for a Negotiate/NTLM challenge.  A proxy
 *   challenge (407) of an https request is answered with the user's
 *   credentials for the proxy only.  Secrets are wiped after use.
 * - TLS is always verified by WinHTTP against the system store.  With a
 *   CA file (--ca-file), a request that WinHTTP refuses *only* because the
 *   chain ends in an unknown root is made again with
 *   SECURITY_FLAG_IGNORE_UNKNOWN_CA; before it (and before any request
 *   whose checks were relaxed) a HEAD probe without credentials or body
 *   lets check_chain() verify the server's chain: to a system root with
 *   no error bit, or to a certificate of the CA file with "untrusted root"
 *   the only error, and the SSL policy for the name.  A refused chain
 *   means the real request is never sent (docs/autodiscover.md).
 * - PROFSWITCH_CONNECT_TO "HOST:PORT:ADDR:PORT ..." (tests, lab
 *   rehearsal): the TCP connection goes to ADDR:PORT while the Host
 *   header stays HOST[:PORT]; as WinHTTP would then check the name ADDR,
 *   its name check is switched off for such a request and the name HOST
 *   is checked here in the same callback (SNI carries ADDR).
 * - Timeouts: WinHTTP has only per-phase timeouts (resolve, connect,
 *   send, receive); each is set to the request's timeout and the whole
 *   request is also bounded by a deadline checked between reads.
 * - resolve_srv: DnsQuery_A from dnsapi.dll (loaded from System32 when
 *   first needed); PROFSWITCH_NO_SRV turns it off.
 */
#include <windows.h>
#include <wincrypt.h>
#include <windns.h>
#include <winhttp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_http.h"
#include "ps_str.h"
#include "ps_win32.h"

#define MAX_CA_FILE (4u * 1024u * 1024u)
#define DEFAULT_MAX_BODY (1024u * 1024u)
#define DEFAULT_TIMEOUT_MS 30000u
#define MAX_MAPS 16
/* Rounds of a 401/407 answered with credentials, per request. */
#define MAX_AUTH_ROUNDS 3

#ifndef WINHTTP_AUTOLOGON_SECURITY_LEVEL_PROXY_ONLY
#define WINHTTP_AUTOLOGON_SECURITY_LEVEL_PROXY_ONLY 3
#endif

typedef struct host_map {
	char *host;             /* lowercase */
	unsigned port;
	wchar_t *addr;
	unsigned addr_port;
} host_map;

typedef struct win_http {
	ps_http base;
	HINTERNET session;
	int auto_proxy;                 /* WinHTTP finds the proxy itself */
	HCERTSTORE ca_store;            /* the CA file, or NULL */
	HCERTCHAINENGINE ca_engine;     /* its only root: ca_store */
	host_map maps[MAX_MAPS];
	size_t nmaps;
} win_http;

/* What the status callback of one request knows and found. */
typedef struct req_ctx {
	win_http *p;
	const char *host;               /* the name TLS must be valid for */
	int must_verify;                /* some WinHTTP check was relaxed */
	int verified;                   /* the callback checked the chain */
	int refused;                    /* ... and refused it */
	int closed;                     /* the callback closed the handle */
	DWORD secure_flags;             /* WINHTTP_CALLBACK_STATUS_FLAG_* */
	char why[160];
} req_ctx;

/* ---- strings ------------------------------------------------------------ */

static char *to_utf8(const wchar_t *w, int wlen)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, wlen, NULL, 0, NULL,
				    NULL);
	char *s;

	if (n < 0)
		n = 0;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	if (n)
		WideCharToMultiByte(CP_UTF8, 0, w, wlen, s, n, NULL, NULL);
	s[n] = '\0';
	return s;
}

/* The Windows message of code, without its line end. */
static void win_message(DWORD code, char *buf, size_t size)
{
	HMODULE mod = NULL;
	DWORD flags = FORMAT_MESSAGE_FROM_SYSTEM |
		      FORMAT_MESSAGE_IGNORE_INSERTS;
	wchar_t w[256];
	DWORD n;
	char *s;
	size_t len;

	if (code >= WINHTTP_ERROR_BASE && code <= WINHTTP_ERROR_LAST) {
		mod = GetModuleHandleW(L"winhttp.dll");
		if (mod)
			flags |= FORMAT_MESSAGE_FROM_HMODULE;
	}
	n = FormatMessageW(flags, mod, code, 0, w, 256, NULL);
	s = n ? to_utf8(w, (int)n) : NULL;
	if (s) {
		(void)snprintf(buf, size, "%s", s);
		free(s);
	} else {
		(void)snprintf(buf, size, "error %lu", (unsigned long)code);
	}
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' ' || buf[len - 1] == '.'))
		buf[--len] = '\0';
}

static int getenv_utf8(const wchar_t *name, char **out)
{
	wchar_t buf[1024];
	DWORD n = GetEnvironmentVariableW(name, buf, 1024);

	*out = NULL;
	if (n == 0 || n >= 1024)
		return 0;
	*out = to_utf8(buf, (int)n);
	SecureZeroMemory(buf, sizeof(buf));
	return *out ? 1 : PS_ENOMEM;
}

static int env_set(const wchar_t *name)
{
	wchar_t buf[8];
	DWORD n = GetEnvironmentVariableW(name, buf, 8);

	return n > 0 || GetLastError() != ERROR_ENVVAR_NOT_FOUND;
}

/* PROFSWITCH_AD_USER and PROFSWITCH_AD_PASSWORD both set, not empty: the
 * configured account (basic_header, set_auth). */
static int have_account(void)
{
	wchar_t buf[2];

	return GetEnvironmentVariableW(L"PROFSWITCH_AD_USER", buf, 2) > 0 &&
	       GetEnvironmentVariableW(L"PROFSWITCH_AD_PASSWORD", buf, 2) > 0;
}

/* ---- the CA file -------------------------------------------------------- */

static int read_file(const char *path, ps_buf *out)
{
	wchar_t *w = ps_win32_wide(path);
	HANDLE f;
	char chunk[8192];
	DWORD got;

	if (!w)
		return PS_EFORMAT;
	f = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ, NULL,
			OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
	free(w);
	if (f == INVALID_HANDLE_VALUE)
		return ps_error_setc(PS_ENOTFOUND, "%s: cannot read CA file",
				     path);
	for (;;) {
		if (!ReadFile(f, chunk, sizeof(chunk), &got, NULL)) {
			CloseHandle(f);
			return ps_error_setc(PS_EIO, "%s: read error", path);
		}
		if (!got)
			break;
		if (out->len + got > MAX_CA_FILE) {
			CloseHandle(f);
			return ps_error_setc(PS_ELIMIT,
					     "%s: CA file larger than %u bytes",
					     path, MAX_CA_FILE);
		}
		if (ps_buf_put(out, chunk, got) < 0) {
			CloseHandle(f);
			return PS_ENOMEM;
		}
	}
	CloseHandle(f);
	return 0;
}

/* Every "-----BEGIN CERTIFICATE-----" block of the file into an
 * in-memory store; then the chain engine that trusts only that store. */
static int load_ca(win_http *p, const char *path)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	CERT_CHAIN_ENGINE_CONFIG cfg;
	ps_buf b = PS_BUF_INIT;
	const char *at;
	int rc, count = 0;

	if ((rc = read_file(path, &b)) < 0 || (rc = ps_buf_putc(&b, 0)) < 0) {
		ps_buf_free(&b);
		return rc;
	}
	p->ca_store = CertOpenStore(CERT_STORE_PROV_MEMORY, 0, 0,
				    CERT_STORE_CREATE_NEW_FLAG, NULL);
	if (!p->ca_store) {
		ps_buf_free(&b);
		return ps_error_setc(PS_ERROR, "cannot open a certificate "
				     "store");
	}
	for (at = strstr(b.ptr, begin); at; at = strstr(at, begin)) {
		const char *stop = strstr(at, end);
		BYTE *der;
		DWORD n = 0;

		if (!stop)
			break;
		stop += sizeof(end) - 1;
		if (!CryptStringToBinaryA(at, (DWORD)(stop - at),
					  CRYPT_STRING_BASE64HEADER, NULL, &n,
					  NULL, NULL) || !n) {
			at = stop;
			continue;
		}
		der = malloc(n);
		if (!der) {
			ps_buf_free(&b);
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		if (CryptStringToBinaryA(at, (DWORD)(stop - at),
					 CRYPT_STRING_BASE64HEADER, der, &n,
					 NULL, NULL) &&
		    CertAddEncodedCertificateToStore(p->ca_store,
						     X509_ASN_ENCODING, der, n,
						     CERT_STORE_ADD_USE_EXISTING,
						     NULL))
			count++;
		free(der);
		at = stop;
	}
	ps_buf_free(&b);
	if (!count)
		return ps_error_setc(PS_EFORMAT, "%s: no PEM certificate in "
				     "the CA file", path);
	memset(&cfg, 0, sizeof(cfg));
	cfg.cbSize = sizeof(cfg);
	cfg.hExclusiveRoot = p->ca_store;
	if (!CertCreateCertificateChainEngine(&cfg, &p->ca_engine)) {
		char msg[200];

		win_message(GetLastError(), msg, sizeof(msg));
		p->ca_engine = NULL;
		return ps_error_setc(PS_ERROR, "%s: cannot make a chain engine "
				     "for the CA file: %s", path, msg);
	}
	return 0;
}

/* ---- checking the server's chain ourselves ------------------------------ */

/* 0 when the chain of cert, built by engine, is valid for an SSL server
 * of that host name; otherwise a negative code with why set. */
/*
 * The server's certificate `cert` for `host`.  ca_store NULL: against the
 * system's roots.  Otherwise against the CA file: the chain is built with
 * the CA file as an extra store and must end at one of its certificates;
 * the only error allowed is that this root is not a system root.  Every
 * other error bit counts (time, signature, usage, a partial chain: Wine's
 * SSL policy passes a chain whose issuer was never found, so the bits are
 * checked here and not left to the policy), and the SSL policy checks the
 * name.  0 when trusted; -1 with the reason in why.
 */
static int check_chain(HCERTSTORE ca_store, PCCERT_CONTEXT cert,
		       const char *host, char *why, size_t size)
{
	static LPSTR usages[] = { (LPSTR)szOID_PKIX_KP_SERVER_AUTH };
	CERT_CHAIN_PARA para;
	PCCERT_CHAIN_CONTEXT chain = NULL;
	HTTPSPolicyCallbackData ssl;
	CERT_CHAIN_POLICY_PARA pp;
	CERT_CHAIN_POLICY_STATUS ps;
	HCERTSTORE extra = NULL;
	DWORD allowed = ca_store ? CERT_TRUST_IS_UNTRUSTED_ROOT : 0;
	wchar_t *whost = ps_win32_wide(host);
	char msg[200];
	int rc = -1;

	if (!whost) {
		(void)snprintf(why, size, "bad host name");
		return -1;
	}
	if (ca_store) {
		/* What the server sent, and the CA file. */
		extra = CertOpenStore(CERT_STORE_PROV_COLLECTION, 0, 0, 0,
				      NULL);
		if (!extra || !CertAddStoreToCollection(extra,
							cert->hCertStore,
							0, 0) ||
		    !CertAddStoreToCollection(extra, ca_store, 0, 0)) {
			(void)snprintf(why, size, "cannot combine the "
				       "certificate stores");
			goto out;
		}
	}
	memset(&para, 0, sizeof(para));
	para.cbSize = sizeof(para);
	para.RequestedUsage.dwType = USAGE_MATCH_TYPE_AND;
	para.RequestedUsage.Usage.cUsageIdentifier = 1;
	para.RequestedUsage.Usage.rgpszUsageIdentifier = usages;
	if (!CertGetCertificateChain(NULL, cert, NULL,
				     extra ? extra : cert->hCertStore,
				     &para, 0, NULL, &chain)) {
		win_message(GetLastError(), msg, sizeof(msg));
		(void)snprintf(why, size, "cannot build the chain: %s", msg);
		goto out;
	}
	if (chain->TrustStatus.dwErrorStatus & ~allowed) {
		(void)snprintf(why, size, "the chain is not valid (trust "
			       "status 0x%08lx%s)",
			       (unsigned long)chain->TrustStatus.dwErrorStatus,
			       chain->TrustStatus.dwErrorStatus &
			       CERT_TRUST_IS_PARTIAL_CHAIN
			       ? ": its issuer is unknown" : "");
		goto out;
	}
	if (ca_store) {
		const CERT_SIMPLE_CHAIN *sc = chain->cChain ? chain->rgpChain[0]
							     : NULL;
		PCCERT_CONTEXT root = sc && sc->cElement
			? sc->rgpElement[sc->cElement - 1]->pCertContext : NULL;
		PCCERT_CONTEXT mine = root ? CertFindCertificateInStore(
			ca_store, X509_ASN_ENCODING | PKCS_7_ASN_ENCODING, 0,
			CERT_FIND_EXISTING, root, NULL) : NULL;

		if (!mine) {
			(void)snprintf(why, size, "the chain does not end at "
				       "a certificate of the CA file");
			goto out;
		}
		CertFreeCertificateContext(mine);
	}
	memset(&ssl, 0, sizeof(ssl));
	ssl.cbStruct = sizeof(ssl);
	ssl.dwAuthType = AUTHTYPE_SERVER;
	/* The CA file's root is not a system root: that one check is the
	 * CA file's own, done above; the name is the policy's. */
	ssl.fdwChecks = ca_store ? SECURITY_FLAG_IGNORE_UNKNOWN_CA : 0;
	ssl.pwszServerName = whost;
	memset(&pp, 0, sizeof(pp));
	pp.cbSize = sizeof(pp);
	pp.pvExtraPolicyPara = &ssl;
	memset(&ps, 0, sizeof(ps));
	ps.cbSize = sizeof(ps);
	if (!CertVerifyCertificateChainPolicy(CERT_CHAIN_POLICY_SSL, chain,
					      &pp, &ps)) {
		win_message(GetLastError(), msg, sizeof(msg));
		(void)snprintf(why, size, "chain policy failed: %s", msg);
		goto out;
	}
	if (ps.dwError) {
		win_message(ps.dwError, msg, sizeof(msg));
		(void)snprintf(why, size, "%s (0x%08lx)", msg,
			       (unsigned long)ps.dwError);
		goto out;
	}
	rc = 0;
out:
	if (chain)
		CertFreeCertificateChain(chain);
	if (extra)
		CertCloseStore(extra, 0);
	free(whost);
	return rc;
}

/* The server's certificate of request r against the system store, then,
 * when it ends in an unknown root, against the CA file alone. */
static void verify_server(req_ctx *c, HINTERNET r)
{
	PCCERT_CONTEXT cert = NULL;
	DWORD len = sizeof(cert);
	char sys_why[200];

	c->verified = 1;
	if (!WinHttpQueryOption(r, WINHTTP_OPTION_SERVER_CERT_CONTEXT, &cert,
				&len) || !cert) {
		c->refused = 1;
		(void)snprintf(c->why, sizeof(c->why), "the server's "
			       "certificate cannot be read");
		return;
	}
	if (check_chain(NULL, cert, c->host, sys_why, sizeof(sys_why)) == 0)
		goto ok;
	if (c->p->ca_store &&
	    check_chain(c->p->ca_store, cert, c->host, c->why,
			sizeof(c->why)) == 0)
		goto ok;
	if (!c->p->ca_engine)
		(void)snprintf(c->why, sizeof(c->why), "%s", sys_why);
	c->refused = 1;
ok:
	CertFreeCertificateContext(cert);
}

static void CALLBACK on_status(HINTERNET h, DWORD_PTR ctx, DWORD status,
			       LPVOID info, DWORD info_len)
{
	req_ctx *c = (req_ctx *)ctx;

	if (!c)
		return;
	if (status == WINHTTP_CALLBACK_STATUS_SECURE_FAILURE && info &&
	    info_len >= sizeof(DWORD)) {
		c->secure_flags |= *(DWORD *)info;
	} else if (status == WINHTTP_CALLBACK_STATUS_SENDING_REQUEST &&
		   c->must_verify && !c->verified) {
		verify_server(c, h);
		if (c->refused) {
			c->closed = 1;
			WinHttpCloseHandle(h);  /* cancels the request */
		}
	}
}

/* ---- one request -------------------------------------------------------- */

static int is_https(const char *url)
{
	return ps_strncasecmp(url, "https://", 8) == 0;
}

static const host_map *find_map(const win_http *p, const char *host,
				unsigned port)
{
	size_t i;

	for (i = 0; i < p->nmaps; i++)
		if (p->maps[i].port == port &&
		    ps_strcasecmp(p->maps[i].host, host) == 0)
			return &p->maps[i];
	return NULL;
}

/* "Authorization: Basic base64(user:password)" as UTF-16, or NULL. */
static int basic_header(wchar_t **out)
{
	char *user = NULL, *pass = NULL, *pair = NULL, *b64 = NULL;
	DWORD n = 0;
	size_t plen;
	int rc;

	*out = NULL;
	if ((rc = getenv_utf8(L"PROFSWITCH_AD_USER", &user)) <= 0 ||
	    (rc = getenv_utf8(L"PROFSWITCH_AD_PASSWORD", &pass)) <= 0)
		goto out;
	rc = PS_ENOMEM;
	plen = strlen(user) + 1 + strlen(pass);
	pair = malloc(plen + 1);
	if (!pair)
		goto out;
	(void)snprintf(pair, plen + 1, "%s:%s", user, pass);
	if (!CryptBinaryToStringA((const BYTE *)pair, (DWORD)plen,
				  CRYPT_STRING_BASE64 | CRYPT_STRING_NOCRLF,
				  NULL, &n))
		goto out;
	b64 = malloc((size_t)n + 32);
	if (!b64)
		goto out;
	memcpy(b64, "Authorization: Basic ", 21);
	if (!CryptBinaryToStringA((const BYTE *)pair, (DWORD)plen,
				  CRYPT_STRING_BASE64 | CRYPT_STRING_NOCRLF,
				  b64 + 21, &n))
		goto out;
	*out = ps_win32_wide(b64);
	rc = *out ? 0 : PS_ENOMEM;
out:
	if (user)
		SecureZeroMemory(user, strlen(user));
	if (pass)
		SecureZeroMemory(pass, strlen(pass));
	if (pair)
		SecureZeroMemory(pair, strlen(pair));
	if (b64)
		SecureZeroMemory(b64, strlen(b64));
	free(user);
	free(pass);
	free(pair);
	free(b64);
	if (rc < 0 && rc != PS_ENOMEM)
		rc = 0;
	if (rc == PS_ENOMEM)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	return 0;
}

static void free_wide_secret(wchar_t *w)
{
	if (w) {
		SecureZeroMemory(w, wcslen(w) * sizeof(*w));
		free(w);
	}
}

/* 127.x.y.z, ::1 or localhost: never through a proxy. */
static int is_local(const char *host)
{
	if (!ps_strcasecmp(host, "localhost") || !strcmp(host, "::1") ||
	    !strcmp(host, "[::1]"))
		return 1;
	return !strncmp(host, "127.", 4) &&
	       strspn(host, "0123456789.") == strlen(host);
}

static void free_proxy_info(WINHTTP_PROXY_INFO *pi)
{
	if (pi->lpszProxy)
		GlobalFree(pi->lpszProxy);
	if (pi->lpszProxyBypass)
		GlobalFree(pi->lpszProxyBypass);
	pi->lpszProxy = pi->lpszProxyBypass = NULL;
}

/*
 * The proxy of one request.  A session opened with AUTOMATIC_PROXY needs
 * nothing here; otherwise (before Windows 8.1) the user's Internet
 * settings: WPAD or a PAC file through WinHttpGetProxyForUrl, else the
 * fixed proxy and its bypass list.  This machine and the mapped hosts
 * go direct.  A proxy that cannot be found is no error: direct.
 */
static void set_proxy(win_http *p, HINTERNET r, const char *url,
		      const char *host, int mapped)
{
	WINHTTP_CURRENT_USER_IE_PROXY_CONFIG ie;
	WINHTTP_AUTOPROXY_OPTIONS ao;
	WINHTTP_PROXY_INFO pi;
	wchar_t *wurl;

	memset(&pi, 0, sizeof(pi));
	if (mapped || is_local(host)) {
		pi.dwAccessType = WINHTTP_ACCESS_TYPE_NO_PROXY;
		(void)WinHttpSetOption(r, WINHTTP_OPTION_PROXY, &pi,
				       sizeof(pi));
		return;
	}
	if (p->auto_proxy)
		return;
	memset(&ie, 0, sizeof(ie));
	if (!WinHttpGetIEProxyConfigForCurrentUser(&ie))
		return;
	memset(&ao, 0, sizeof(ao));
	if (ie.lpszAutoConfigUrl) {
		ao.dwFlags = WINHTTP_AUTOPROXY_CONFIG_URL;
		ao.lpszAutoConfigUrl = ie.lpszAutoConfigUrl;
	} else if (ie.fAutoDetect) {
		ao.dwFlags = WINHTTP_AUTOPROXY_AUTO_DETECT;
		ao.dwAutoDetectFlags = WINHTTP_AUTO_DETECT_TYPE_DHCP |
				       WINHTTP_AUTO_DETECT_TYPE_DNS_A;
	}
	wurl = ao.dwFlags ? ps_win32_wide(url) : NULL;
	if (wurl && WinHttpGetProxyForUrl(p->session, wurl, &ao, &pi)) {
		(void)WinHttpSetOption(r, WINHTTP_OPTION_PROXY, &pi,
				       sizeof(pi));
		free_proxy_info(&pi);
	} else if (ie.lpszProxy) {
		pi.dwAccessType = WINHTTP_ACCESS_TYPE_NAMED_PROXY;
		pi.lpszProxy = ie.lpszProxy;
		pi.lpszProxyBypass = ie.lpszProxyBypass;
		(void)WinHttpSetOption(r, WINHTTP_OPTION_PROXY, &pi,
				       sizeof(pi));
	}
	free(wurl);
	if (ie.lpszAutoConfigUrl)
		GlobalFree(ie.lpszAutoConfigUrl);
	if (ie.lpszProxy)
		GlobalFree(ie.lpszProxy);
	if (ie.lpszProxyBypass)
		GlobalFree(ie.lpszProxyBypass);
}

/*
 * A 401 (server) or 407 (proxy) that asks for Negotiate or NTLM: set the
 * credentials WinHTTP answers it with, once per request and target.
 * 1: set, send the request again; 0: leave the answer as it is.
 *   - the server only when the request allows credentials (https to a
 *     trusted host: the core decided), with PROFSWITCH_AD_USER /
 *     PROFSWITCH_AD_PASSWORD when set, else the logged-on user (NULL,
 *     NULL; the automatic logon policy of the request is already LOW);
 *   - the proxy only for an https request (the Autodiscover request then
 *     goes through the tunnel) and only with the logged-on user,
 *     automatic logon allowed for the proxy alone.
 * Never Basic or Digest here: Basic goes up front with the configured
 * account (basic_header) or not at all.
 */
static int set_auth(HINTERNET r, DWORD status, const ps_http_request *rq,
		    int https, int *answered)
{
	DWORD schemes = 0, first = 0, target = 0, scheme, want;
	DWORD level = WINHTTP_AUTOLOGON_SECURITY_LEVEL_LOW;
	char *user = NULL, *pass = NULL;
	wchar_t *wu = NULL, *wp = NULL;
	int bit, ok = 0;

	if (status == 401 && rq->send_credentials && https) {
		want = WINHTTP_AUTH_TARGET_SERVER;
		bit = 1;
	} else if (status == 407 && https) {
		want = WINHTTP_AUTH_TARGET_PROXY;
		bit = 2;
	} else {
		return 0;
	}
	if (*answered & bit)
		return 0;
	*answered |= bit;
	if (!WinHttpQueryAuthSchemes(r, &schemes, &first, &target) ||
	    target != want)
		return 0;
	if (schemes & WINHTTP_AUTH_SCHEME_NEGOTIATE)
		scheme = WINHTTP_AUTH_SCHEME_NEGOTIATE;
	else if (schemes & WINHTTP_AUTH_SCHEME_NTLM)
		scheme = WINHTTP_AUTH_SCHEME_NTLM;
	else
		return 0;
	if (want == WINHTTP_AUTH_TARGET_SERVER) {
		/* the configured account, else the logged-on user */
		if (have_account() &&
		    (getenv_utf8(L"PROFSWITCH_AD_USER", &user) <= 0 ||
		     getenv_utf8(L"PROFSWITCH_AD_PASSWORD", &pass) <= 0 ||
		     !(wu = ps_win32_wide(user)) ||
		     !(wp = ps_win32_wide(pass))))
			goto out;
	} else if (!rq->send_credentials || have_account()) {
		/* the logon for the proxy alone (the request's policy is
		 * HIGH); where Windows does not know this level, the 407
		 * stands */
		level = WINHTTP_AUTOLOGON_SECURITY_LEVEL_PROXY_ONLY;
		if (!WinHttpSetOption(r, WINHTTP_OPTION_AUTOLOGON_POLICY,
				      &level, sizeof(level)))
			goto out;
	}
	ok = WinHttpSetCredentials(r, want, scheme, wu, wp, NULL) ? 1 : 0;
out:
	if (user)
		SecureZeroMemory(user, strlen(user));
	if (pass)
		SecureZeroMemory(pass, strlen(pass));
	free(user);
	free(pass);
	free(wu);
	free_wide_secret(wp);
	return ok;
}

/* A header as UTF-8, or NULL when it is not there. */
static char *query_header(HINTERNET r, DWORD which)
{
	DWORD len = 0;
	wchar_t *w;
	char *s;

	if (WinHttpQueryHeaders(r, which, WINHTTP_HEADER_NAME_BY_INDEX, NULL,
				&len, WINHTTP_NO_HEADER_INDEX) ||
	    GetLastError() != ERROR_INSUFFICIENT_BUFFER || !len)
		return NULL;
	w = malloc(len + sizeof(wchar_t));
	if (!w)
		return NULL;
	if (!WinHttpQueryHeaders(r, which, WINHTTP_HEADER_NAME_BY_INDEX, w,
				 &len, WINHTTP_NO_HEADER_INDEX)) {
		free(w);
		return NULL;
	}
	s = to_utf8(w, (int)(len / sizeof(wchar_t)));
	free(w);
	return s;
}

/* The port's error for a WinHTTP failure. */
static int http_fail(DWORD err, const char *url, const req_ctx *c)
{
	char msg[200];

	if (c->refused)
		return ps_error_setc(PS_EIO, "%s: TLS failure: certificate "
				     "verify failed for host %s: %s", url,
				     c->host, c->why);
	win_message(err, msg, sizeof(msg));
	switch (err) {
	case ERROR_WINHTTP_SECURE_FAILURE:
	case ERROR_WINHTTP_SECURE_INVALID_CA:
	case ERROR_WINHTTP_SECURE_CERT_CN_INVALID:
	case ERROR_WINHTTP_SECURE_CERT_DATE_INVALID:
	case ERROR_WINHTTP_SECURE_INVALID_CERT:
	case ERROR_WINHTTP_SECURE_CERT_REVOKED:
	case ERROR_WINHTTP_SECURE_CHANNEL_ERROR:
	case ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED:
		return ps_error_setc(PS_EIO, "%s: TLS failure: certificate "
				     "verify failed for host %s (flags "
				     "0x%lx): %s", url, c->host,
				     (unsigned long)c->secure_flags, msg);
	case ERROR_WINHTTP_NAME_NOT_RESOLVED:
		return ps_error_setc(PS_EIO, "%s: host not found: %s", url,
				     msg);
	case ERROR_WINHTTP_CANNOT_CONNECT:
		return ps_error_setc(PS_EIO, "%s: unreachable: %s", url, msg);
	case ERROR_WINHTTP_TIMEOUT:
		return ps_error_setc(PS_EIO, "%s: timed out: %s", url, msg);
	case ERROR_WINHTTP_CONNECTION_ERROR:
	case ERROR_WINHTTP_INVALID_SERVER_RESPONSE:
	case ERROR_WINHTTP_OPERATION_CANCELLED:
		return ps_error_setc(PS_EIO, "%s: connection dropped: %s",
				     url, msg);
	case ERROR_WINHTTP_INVALID_URL:
	case ERROR_WINHTTP_UNRECOGNIZED_SCHEME:
		return ps_error_setc(PS_EFORMAT, "%s: unsupported URL (%s)",
				     url, msg);
	case ERROR_NOT_ENOUGH_MEMORY:
		return ps_error_setc(PS_ENOMEM, "out of memory");
	default:
		return ps_error_setc(PS_EIO, "%s: %s", url, msg);
	}
}

typedef struct target {
	int https;
	char *host;             /* UTF-8, from the URL */
	unsigned port;
	wchar_t *whost;
	wchar_t *path;          /* path and query */
} target;

static void target_free(target *t)
{
	free(t->host);
	free(t->whost);
	free(t->path);
}

static int crack(const char *url, target *t)
{
	URL_COMPONENTS uc;
	wchar_t *w = ps_win32_wide(url);
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (!w)
		return ps_error_setc(PS_EFORMAT, "%s: malformed URL", url);
	memset(&uc, 0, sizeof(uc));
	uc.dwStructSize = sizeof(uc);
	uc.dwHostNameLength = (DWORD)-1;
	uc.dwUrlPathLength = (DWORD)-1;
	uc.dwExtraInfoLength = (DWORD)-1;
	uc.dwSchemeLength = (DWORD)-1;
	if (!WinHttpCrackUrl(w, 0, 0, &uc) || !uc.dwHostNameLength ||
	    (uc.nScheme != INTERNET_SCHEME_HTTP &&
	     uc.nScheme != INTERNET_SCHEME_HTTPS)) {
		rc = ps_error_setc(PS_EFORMAT, "%s: malformed URL", url);
		goto out;
	}
	t->https = uc.nScheme == INTERNET_SCHEME_HTTPS;
	t->port = uc.nPort;
	t->whost = malloc(((size_t)uc.dwHostNameLength + 1) * sizeof(wchar_t));
	t->path = malloc(((size_t)uc.dwUrlPathLength + uc.dwExtraInfoLength +
			  2) * sizeof(wchar_t));
	t->host = to_utf8(uc.lpszHostName, (int)uc.dwHostNameLength);
	if (!t->whost || !t->path || !t->host) {
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(t->whost, uc.lpszHostName,
	       uc.dwHostNameLength * sizeof(wchar_t));
	t->whost[uc.dwHostNameLength] = 0;
	if (uc.dwUrlPathLength) {
		memcpy(t->path, uc.lpszUrlPath,
		       uc.dwUrlPathLength * sizeof(wchar_t));
	} else {
		t->path[0] = L'/';
		uc.dwUrlPathLength = 1;
	}
	memcpy(t->path + uc.dwUrlPathLength, uc.lpszExtraInfo,
	       uc.dwExtraInfoLength * sizeof(wchar_t));
	t->path[uc.dwUrlPathLength + uc.dwExtraInfoLength] = 0;
out:
	free(w);
	if (rc < 0)
		target_free(t);
	return rc;
}

static int add_header(HINTERNET r, const wchar_t *h, DWORD flags)
{
	return WinHttpAddRequestHeaders(r, h, (DWORD)-1L,
					WINHTTP_ADDREQ_FLAG_ADD | flags) ? 0
									 : -1;
}

/* One try of the request: 0 with *r ready to read, or a WinHTTP error
 * code (never 0) in *err. */
/*
 * Before a request whose TLS checks WinHTTP was told to relax goes out,
 * a probe: HEAD of the same path with no credentials, no body and no
 * header of the caller's, on the same connection, with the same relaxed
 * flags.  The callback checks the server's chain (verify_server) when
 * the probe is about to be sent; a refused chain means the real request
 * is never sent.  (Closing the handle in the callback does not stop
 * Wine's WinHTTP from sending, so that alone cannot keep credentials
 * from an untrusted server; the real request is still checked the same
 * way.)  0: checked and trusted; -1 with c->why: refused.
 */
static int probe_chain(HINTERNET conn, const char *url, const target *t,
		       const host_map *map, DWORD sec_flags, req_ctx *c)
{
	DWORD feature = WINHTTP_DISABLE_REDIRECTS | WINHTTP_DISABLE_COOKIES;
	DWORD autologon = WINHTTP_AUTOLOGON_SECURITY_LEVEL_HIGH;
	HINTERNET r;
	wchar_t *h = NULL;
	char hosthdr[600];

	r = WinHttpOpenRequest(conn, L"HEAD", t->path, NULL,
			       WINHTTP_NO_REFERER,
			       WINHTTP_DEFAULT_ACCEPT_TYPES,
			       WINHTTP_FLAG_SECURE);
	if (!r)
		goto fail;
	(void)WinHttpSetOption(r, WINHTTP_OPTION_DISABLE_FEATURE, &feature,
			       sizeof(feature));
	if (!WinHttpSetOption(r, WINHTTP_OPTION_AUTOLOGON_POLICY, &autologon,
			      sizeof(autologon)))
		goto fail;
	set_proxy(c->p, r, url, t->host, map != NULL);
	(void)WinHttpSetTimeouts(r, DEFAULT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS,
				 DEFAULT_TIMEOUT_MS, DEFAULT_TIMEOUT_MS);
	if (!WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &sec_flags,
			      sizeof(sec_flags)))
		goto fail;
	c->must_verify = 1;
	if (WinHttpSetStatusCallback(r, on_status,
				     WINHTTP_CALLBACK_FLAG_SEND_REQUEST, 0) ==
	    WINHTTP_INVALID_STATUS_CALLBACK)
		goto fail;
	if (map) {
		if (t->port == 443u)
			(void)snprintf(hosthdr, sizeof(hosthdr), "Host: %s",
				       t->host);
		else
			(void)snprintf(hosthdr, sizeof(hosthdr), "Host: %s:%u",
				       t->host, t->port);
		h = ps_win32_wide(hosthdr);
		if (!h || add_header(r, h, WINHTTP_ADDREQ_FLAG_REPLACE) < 0)
			goto fail;
		free(h);
		h = NULL;
	}
	if (WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0,
			       WINHTTP_NO_REQUEST_DATA, 0, 0, (DWORD_PTR)c) &&
	    !c->closed)
		(void)WinHttpReceiveResponse(r, NULL);
	if (!c->closed)
		WinHttpCloseHandle(r);
	if (!c->verified && !c->refused) {
		c->refused = 1;
		(void)snprintf(c->why, sizeof(c->why), "the server's "
			       "certificate could not be checked");
	}
	return c->refused ? -1 : 0;
fail:
	free(h);
	if (r && !c->closed)
		WinHttpCloseHandle(r);
	c->refused = 1;
	(void)snprintf(c->why, sizeof(c->why), "cannot check the server's "
		       "certificate (error %lu)", (unsigned long)GetLastError());
	return -1;
}

static int try_send(HINTERNET conn, const ps_http_request *rq,
		    const target *t, const host_map *map, DWORD sec_flags,
		    const wchar_t *auth, req_ctx *c, HINTERNET *out, DWORD *err)
{
	DWORD feature = WINHTTP_DISABLE_REDIRECTS | WINHTTP_DISABLE_COOKIES;
	DWORD tmo = rq->timeout_ms ? rq->timeout_ms : DEFAULT_TIMEOUT_MS;
	/* The user's Windows logon only where the core allows credentials
	 * (https to a trusted host, docs/security.md), and not when an
	 * account is configured: that account is used instead. */
	DWORD autologon = rq->send_credentials && t->https &&
			  !have_account()
			  ? WINHTTP_AUTOLOGON_SECURITY_LEVEL_LOW
			  : WINHTTP_AUTOLOGON_SECURITY_LEVEL_HIGH;
	DWORD body_len = (DWORD)rq->body_len, wrote;
	wchar_t *method = ps_win32_wide(rq->method), *h;
	HINTERNET r;
	size_t i;

	*out = NULL;
	*err = 0;
	if (!method) {
		*err = ERROR_NOT_ENOUGH_MEMORY;
		return -1;
	}
	r = WinHttpOpenRequest(conn, method, t->path, NULL,
			       WINHTTP_NO_REFERER,
			       WINHTTP_DEFAULT_ACCEPT_TYPES,
			       t->https ? WINHTTP_FLAG_SECURE : 0);
	free(method);
	if (!r)
		goto fail;
	if (!WinHttpSetOption(r, WINHTTP_OPTION_DISABLE_FEATURE, &feature,
			      sizeof(feature)) ||
	    !WinHttpSetTimeouts(r, (int)tmo, (int)tmo, (int)tmo, (int)tmo))
		goto fail;
	if (!WinHttpSetOption(r, WINHTTP_OPTION_AUTOLOGON_POLICY, &autologon,
			      sizeof(autologon)) &&
	    autologon != WINHTTP_AUTOLOGON_SECURITY_LEVEL_LOW)
		goto fail;
	set_proxy(c->p, r, rq->url, t->host, map != NULL);
	if (sec_flags &&
	    !WinHttpSetOption(r, WINHTTP_OPTION_SECURITY_FLAGS, &sec_flags,
			      sizeof(sec_flags)))
		goto fail;
	c->must_verify = sec_flags != 0;
	if (WinHttpSetStatusCallback(r, on_status,
				     WINHTTP_CALLBACK_FLAG_SECURE_FAILURE |
				     WINHTTP_CALLBACK_FLAG_SEND_REQUEST, 0) ==
	    WINHTTP_INVALID_STATUS_CALLBACK)
		goto fail;
	for (i = 0; rq->headers && rq->headers[i]; i++) {
		if (!(h = ps_win32_wide(rq->headers[i]))) {
			*err = ERROR_INVALID_PARAMETER;
			WinHttpCloseHandle(r);
			return -1;
		}
		if (add_header(r, h, WINHTTP_ADDREQ_FLAG_REPLACE) < 0) {
			free(h);
			goto fail;
		}
		free(h);
	}
	if (map) {
		/* the name (and port) the URL has, not the address used */
		char hosthdr[600];

		if (t->port == (t->https ? 443u : 80u))
			(void)snprintf(hosthdr, sizeof(hosthdr), "Host: %s",
				       t->host);
		else
			(void)snprintf(hosthdr, sizeof(hosthdr), "Host: %s:%u",
				       t->host, t->port);
		if (!(h = ps_win32_wide(hosthdr))) {
			*err = ERROR_INVALID_PARAMETER;
			WinHttpCloseHandle(r);
			return -1;
		}
		i = (size_t)add_header(r, h, WINHTTP_ADDREQ_FLAG_REPLACE);
		free(h);
		if (i)
			goto fail;
	}
	if (auth && add_header(r, auth, WINHTTP_ADDREQ_FLAG_REPLACE) < 0)
		goto fail;
	/* The body goes out only after the chain was checked (when it had
	 * to be): headers here, the body with WinHttpWriteData below. */
	if (!WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0,
				WINHTTP_NO_REQUEST_DATA, 0, body_len,
				(DWORD_PTR)c)) {
		*err = GetLastError();
		if (!c->closed)
			WinHttpCloseHandle(r);
		return -1;
	}
	if (c->must_verify && !c->verified) {
		/* no SENDING_REQUEST callback: check now, before the body */
		verify_server(c, r);
	}
	if (c->refused) {
		if (!c->closed)
			WinHttpCloseHandle(r);
		*err = ERROR_WINHTTP_SECURE_FAILURE;
		return -1;
	}
	if (body_len && (!WinHttpWriteData(r, rq->body, body_len, &wrote) ||
			 wrote != body_len))
		goto fail;
	if (!WinHttpReceiveResponse(r, NULL))
		goto fail;
	*out = r;
	return 0;
fail:
	*err = GetLastError();
	if (!*err)
		*err = ERROR_WINHTTP_INTERNAL_ERROR;
	if (r)
		WinHttpCloseHandle(r);
	return -1;
}

/*
 * The same request again on r, after set_auth: the last answer read away,
 * the Basic header of ours off (WinHTTP now answers the challenge
 * itself), the server's chain checked again before anything is sent when
 * WinHTTP's own checks were relaxed, and the body handed to
 * WinHttpSendRequest this time so that WinHTTP can send it again with
 * each leg of the handshake.  0 with the new answer ready; -1 with *err.
 */
static int resend(HINTERNET r, const ps_http_request *rq, req_ctx *c,
		  DWORD *err)
{
	DWORD body_len = (DWORD)rq->body_len, got;
	char chunk[4096];
	size_t drained = 0;

	*err = 0;
	do {
		got = 0;
		if (!WinHttpReadData(r, chunk, sizeof(chunk), &got))
			break;
		drained += got;
	} while (got && drained <= DEFAULT_MAX_BODY);
	(void)WinHttpAddRequestHeaders(r, L"Authorization:", (DWORD)-1L,
				       WINHTTP_ADDREQ_FLAG_REPLACE);
	if (c->must_verify)
		c->verified = 0;
	if (!WinHttpSendRequest(r, WINHTTP_NO_ADDITIONAL_HEADERS, 0,
				body_len ? (LPVOID)rq->body
					 : WINHTTP_NO_REQUEST_DATA,
				body_len, body_len, (DWORD_PTR)c)) {
		*err = c->refused ? ERROR_WINHTTP_SECURE_FAILURE
				  : GetLastError();
		return -1;
	}
	if (c->must_verify && !c->verified && !c->closed)
		verify_server(c, r);
	if (c->refused) {
		*err = ERROR_WINHTTP_SECURE_FAILURE;
		return -1;
	}
	if (!WinHttpReceiveResponse(r, NULL)) {
		*err = GetLastError();
		return -1;
	}
	return 0;
}

static int http_perform(ps_http *h, const ps_http_request *rq,
			ps_http_response *rs)
{
	win_http *p = (win_http *)h;
	size_t max = rq->max_body ? rq->max_body : DEFAULT_MAX_BODY;
	DWORD tmo = rq->timeout_ms ? rq->timeout_ms : DEFAULT_TIMEOUT_MS;
	ULONGLONG deadline = GetTickCount64() + tmo;
	const host_map *map = NULL;
	HINTERNET conn = NULL, r = NULL;
	wchar_t *auth = NULL;
	DWORD err = 0, sec = 0, status = 0, len, clen = 0;
	ps_buf body = PS_BUF_INIT;
	char *location = NULL, *ctype = NULL, *cl;
	req_ctx c;
	target t;
	int ret, round, answered = 0;

	if (ps_strncasecmp(rq->url, "http://", 7) != 0 && !is_https(rq->url))
		return ps_error_setc(PS_EFORMAT,
				     "%s: only http:// and https:// URLs",
				     rq->url);
	if (strcmp(rq->method, "POST") != 0 && strcmp(rq->method, "GET") != 0)
		return ps_error_setc(PS_EFORMAT, "unsupported method %s",
				     rq->method);
	if (rq->body_len > 0xFFFFFFFFu)
		return ps_error_setc(PS_ELIMIT, "request body too large");
	if ((ret = crack(rq->url, &t)) < 0)
		return ret;
	memset(&c, 0, sizeof(c));
	c.p = p;
	c.host = t.host;
	map = find_map(p, t.host, t.port);
	if (rq->send_credentials && t.https && (ret = basic_header(&auth)) < 0)
		goto out;
	conn = WinHttpConnect(p->session, map ? map->addr : t.whost,
			      (INTERNET_PORT)(map ? map->addr_port : t.port),
			      0);
	if (!conn) {
		ret = http_fail(GetLastError(), rq->url, &c);
		goto out;
	}
	if (map && t.https) {
		sec = SECURITY_FLAG_IGNORE_CERT_CN_INVALID |
		      (p->ca_engine ? SECURITY_FLAG_IGNORE_UNKNOWN_CA : 0);
		if (probe_chain(conn, rq->url, &t, map, sec, &c) < 0) {
			ret = http_fail(ERROR_WINHTTP_SECURE_FAILURE, rq->url,
					&c);
			goto out;
		}
		memset(&c, 0, sizeof(c));
		c.p = p;
		c.host = t.host;
	}
	if (try_send(conn, rq, &t, map, sec, auth, &c, &r, &err) < 0) {
		/* Refused only for its unknown root (or for reasons WinHTTP
		 * did not say): try the chain against the CA file. */
		DWORD other = c.secure_flags &
			      ~(DWORD)WINHTTP_CALLBACK_STATUS_FLAG_INVALID_CA;

		/* Wine's WinHTTP says SECURE_CHANNEL_ERROR, with no
		 * flags, for a root it does not know; the retry relaxes
		 * only the unknown root and the chain is then checked
		 * against the CA file (and the host name) before a byte is
		 * sent, so a channel that is bad for another reason fails
		 * there. */
		if ((err != ERROR_WINHTTP_SECURE_FAILURE &&
		     err != ERROR_WINHTTP_SECURE_CHANNEL_ERROR) || !t.https ||
		    !p->ca_engine || c.refused || other) {
			ret = http_fail(err, rq->url, &c);
			goto out;
		}
		memset(&c, 0, sizeof(c));
		c.p = p;
		c.host = t.host;
		sec |= SECURITY_FLAG_IGNORE_UNKNOWN_CA;
		if (probe_chain(conn, rq->url, &t, map, sec, &c) < 0) {
			ret = http_fail(ERROR_WINHTTP_SECURE_FAILURE, rq->url,
					&c);
			goto out;
		}
		memset(&c, 0, sizeof(c));
		c.p = p;
		c.host = t.host;
		if (try_send(conn, rq, &t, map, sec, auth, &c, &r, &err) < 0) {
			ret = http_fail(err, rq->url, &c);
			goto out;
		}
	}
	for (round = 0;; round++) {
		len = sizeof(status);
		if (!WinHttpQueryHeaders(r, WINHTTP_QUERY_STATUS_CODE |
					 WINHTTP_QUERY_FLAG_NUMBER,
					 WINHTTP_HEADER_NAME_BY_INDEX, &status,
					 &len, WINHTTP_NO_HEADER_INDEX)) {
			ret = http_fail(GetLastError(), rq->url, &c);
			goto out;
		}
		/* A challenge for Windows credentials, where allowed:
		 * once per target (server, proxy). */
		if ((status != 401 && status != 407) ||
		    round >= MAX_AUTH_ROUNDS ||
		    !set_auth(r, status, rq, t.https, &answered))
			break;
		if (GetTickCount64() > deadline) {
			ret = ps_error_setc(PS_EIO, "%s: timed out: the whole "
					    "request took longer than %lu ms",
					    rq->url, (unsigned long)tmo);
			goto out;
		}
		if (resend(r, rq, &c, &err) < 0) {
			ret = http_fail(err, rq->url, &c);
			goto out;
		}
	}
	location = query_header(r, WINHTTP_QUERY_LOCATION);
	ctype = query_header(r, WINHTTP_QUERY_CONTENT_TYPE);
	cl = query_header(r, WINHTTP_QUERY_CONTENT_LENGTH);
	if (cl) {
		clen = (DWORD)strtoul(cl, NULL, 10);
		free(cl);
		if (clen > max) {
			ret = ps_error_setc(PS_ELIMIT, "%s: answer larger than "
					    "%zu bytes", rq->url, max);
			goto out;
		}
	}
	for (;;) {
		char chunk[16384];
		DWORD got = 0;

		if (GetTickCount64() > deadline) {
			ret = ps_error_setc(PS_EIO, "%s: timed out: the whole "
					    "request took longer than %lu ms",
					    rq->url, (unsigned long)tmo);
			goto out;
		}
		if (!WinHttpReadData(r, chunk, sizeof(chunk), &got)) {
			ret = http_fail(GetLastError(), rq->url, &c);
			goto out;
		}
		if (!got)
			break;
		if (body.len + got > max) {
			ret = ps_error_setc(PS_ELIMIT, "%s: answer larger than "
					    "%zu bytes", rq->url, max);
			goto out;
		}
		if (ps_buf_put(&body, chunk, got) < 0) {
			ret = ps_error_setc(PS_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (clen && body.len < clen) {
		ret = ps_error_setc(PS_EIO, "%s: connection dropped: %zu of "
				    "%lu bytes received", rq->url, body.len,
				    (unsigned long)clen);
		goto out;
	}
	if (ps_buf_putc(&body, 0) < 0) {
		ret = ps_error_setc(PS_ENOMEM, "out of memory");
		goto out;
	}
	rs->status = (int)status;
	rs->body_len = body.len - 1;
	rs->body = ps_buf_detach(&body);
	rs->location = location;
	rs->content_type = ctype;
	location = ctype = NULL;
	ret = 0;
out:
	if (r && !c.closed)
		WinHttpCloseHandle(r);
	if (conn)
		WinHttpCloseHandle(conn);
	free_wide_secret(auth);
	ps_buf_free(&body);
	free(location);
	free(ctype);
	target_free(&t);
	return ret;
}

/* ---- DNS SRV ------------------------------------------------------------ */

typedef DNS_STATUS(WINAPI *dns_query_fn)(PCSTR, WORD, DWORD, PIP4_ARRAY,
					  PDNS_RECORDA *, PVOID *);
typedef VOID(WINAPI *dns_free_fn)(PVOID, DNS_FREE_TYPE);

static int http_resolve_srv(ps_http *h, const char *name, char **host,
			    unsigned *port)
{
	static HMODULE dll;
	dns_query_fn query;
	dns_free_fn dns_free;
	PDNS_RECORDA list = NULL, rec;
	int best_pri = 0x10000, best_w = -1;

	(void)h;
	*host = NULL;
	if (env_set(L"PROFSWITCH_NO_SRV"))
		return PS_ENOTFOUND;
	if (!dll)
		dll = LoadLibraryExW(L"dnsapi.dll", NULL,
				     LOAD_LIBRARY_SEARCH_SYSTEM32);
	if (!dll)
		return PS_ENOTFOUND;
	query = (dns_query_fn)(void (*)(void))GetProcAddress(dll,
							     "DnsQuery_A");
	dns_free = (dns_free_fn)(void (*)(void))GetProcAddress(dll,
								"DnsFree");
	if (!query || !dns_free)
		return PS_ENOTFOUND;
	if (query(name, DNS_TYPE_SRV, DNS_QUERY_STANDARD, NULL, &list,
		  NULL) != 0 || !list)
		return PS_ENOTFOUND;
	for (rec = list; rec; rec = rec->pNext) {
		int pri, w;

		if (rec->wType != DNS_TYPE_SRV ||
		    !rec->Data.SRV.pNameTarget)
			continue;
		pri = rec->Data.SRV.wPriority;
		w = rec->Data.SRV.wWeight;
		if (pri > best_pri || (pri == best_pri && w <= best_w))
			continue;
		free(*host);
		*host = ps_strdup(rec->Data.SRV.pNameTarget);
		if (!*host) {
			dns_free(list, DnsFreeRecordList);
			return PS_ENOMEM;
		}
		*port = rec->Data.SRV.wPort;
		best_pri = pri;
		best_w = w;
	}
	dns_free(list, DnsFreeRecordList);
	return *host ? 0 : PS_ENOTFOUND;
}

/* ---- the port ----------------------------------------------------------- */

static void http_free(ps_http *h)
{
	win_http *p = (win_http *)h;
	size_t i;

	if (!p)
		return;
	if (p->session)
		WinHttpCloseHandle(p->session);
	if (p->ca_engine)
		CertFreeCertificateChainEngine(p->ca_engine);
	if (p->ca_store)
		CertCloseStore(p->ca_store, 0);
	for (i = 0; i < p->nmaps; i++) {
		free(p->maps[i].host);
		free(p->maps[i].addr);
	}
	free(p);
}

/* The clock the request deadlines run on, for the discovery's budget. */
static long long http_now_ms(ps_http *h)
{
	(void)h;
	return (long long)GetTickCount64();
}

static const ps_http_ops win_http_ops = {
	PS_HTTP_OPS_VERSION,
	http_perform,
	http_free,
	http_resolve_srv,
	http_now_ms,
};

/* "HOST:PORT:ADDR:PORT" (ADDR may be "[v6]"); entries separated by
 * spaces, commas or semicolons. */
static int parse_connect_to(win_http *p, const char *spec)
{
	const char *s = spec;

	while (*s) {
		char tok[300], host[256], addr[256];
		unsigned port, aport;
		size_t n = strcspn(s, " ,;");
		char *c1, *c2, *c3;

		if (n == 0) {
			s++;
			continue;
		}
		if (n >= sizeof(tok) || p->nmaps == MAX_MAPS)
			return ps_error_setc(PS_EFORMAT, "PROFSWITCH_CONNECT_TO:"
					     " too long or too many entries");
		memcpy(tok, s, n);
		tok[n] = '\0';
		s += n;
		c1 = strchr(tok, ':');
		c3 = strrchr(tok, ':');
		if (!c1 || c3 == c1)
			goto bad;
		c2 = strchr(c1 + 1, ':');
		if (!c2 || c2 == c3 || (size_t)(c1 - tok) >= sizeof(host) ||
		    (size_t)(c3 - c2 - 1) >= sizeof(addr))
			goto bad;
		memcpy(host, tok, (size_t)(c1 - tok));
		host[c1 - tok] = '\0';
		port = (unsigned)strtoul(c1 + 1, NULL, 10);
		memcpy(addr, c2 + 1, (size_t)(c3 - c2 - 1));
		addr[c3 - c2 - 1] = '\0';
		aport = (unsigned)strtoul(c3 + 1, NULL, 10);
		if (!host[0] || !addr[0] || !port || port > 65535 ||
		    !aport || aport > 65535)
			goto bad;
		if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
			memmove(addr, addr + 1, strlen(addr));
			addr[strlen(addr) - 1] = '\0';
		}
		p->maps[p->nmaps].host = ps_strdup(host);
		p->maps[p->nmaps].addr = ps_win32_wide(addr);
		p->maps[p->nmaps].port = port;
		p->maps[p->nmaps].addr_port = aport;
		p->nmaps++;
		if (!p->maps[p->nmaps - 1].host ||
		    !p->maps[p->nmaps - 1].addr)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		continue;
bad:
		return ps_error_setc(PS_EFORMAT, "PROFSWITCH_CONNECT_TO: bad "
				     "entry \"%s\" (HOST:PORT:ADDR:PORT)",
				     tok);
	}
	return 0;
}

int ps_win32_http_new(const char *ca_file, ps_http **out)
{
	DWORD policy = WINHTTP_OPTION_REDIRECT_POLICY_NEVER;
	char *ct = NULL;
	win_http *p;
	int rc;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	p->base.ops = &win_http_ops;
	/* The system's proxy settings (Windows 8.1 and later); older
	 * versions refuse the access type: the user's Internet settings
	 * per request then (set_proxy). */
	p->session = WinHttpOpen(L"profswitch",
				 WINHTTP_ACCESS_TYPE_AUTOMATIC_PROXY,
				 WINHTTP_NO_PROXY_NAME,
				 WINHTTP_NO_PROXY_BYPASS, 0);
	p->auto_proxy = p->session != NULL;
	if (!p->session)
		p->session = WinHttpOpen(L"profswitch",
					 WINHTTP_ACCESS_TYPE_DEFAULT_PROXY,
					 WINHTTP_NO_PROXY_NAME,
					 WINHTTP_NO_PROXY_BYPASS, 0);
	if (!p->session) {
		char msg[200];

		win_message(GetLastError(), msg, sizeof(msg));
		http_free(&p->base);
		return ps_error_setc(PS_ERROR, "WinHTTP cannot start: %s",
				     msg);
	}
	if (!WinHttpSetOption(p->session, WINHTTP_OPTION_REDIRECT_POLICY,
			      &policy, sizeof(policy))) {
		http_free(&p->base);
		return ps_error_setc(PS_ERROR, "WinHTTP: cannot switch "
				     "redirects off");
	}
	if (ca_file && *ca_file && (rc = load_ca(p, ca_file)) < 0) {
		http_free(&p->base);
		return rc;
	}
	if ((rc = getenv_utf8(L"PROFSWITCH_CONNECT_TO", &ct)) < 0 ||
	    (ct && *ct && (rc = parse_connect_to(p, ct)) < 0)) {
		free(ct);
		http_free(&p->base);
		return rc < 0 ? rc : ps_error_setc(PS_ENOMEM, "out of memory");
	}
	free(ct);
	*out = &p->base;
	return 0;
}
