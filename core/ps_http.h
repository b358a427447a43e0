/*
 * The http port: one request, no automatic redirects, TLS always verified.
 *
 * Same rules as the store port (ps_store.h): a backend embeds `ps_http`
 * first and fills `ops`; the core reaches it only through core/http.c.
 * Policy (which URLs may be asked, when credentials may be sent, how many
 * hops) lives in the core (core/adclient.c), not in the backends: a backend
 * does exactly the one request it is given.
 *
 * Backends: libcurl on Linux (platform/posix/posix_http.c), WinHTTP on
 * Windows.  Both must:
 *   - never follow a redirect (a 3xx is returned as a response);
 *   - always verify the TLS chain and host name; a CA file given at
 *     construction (--ca-file / AutodiscoverCAFile) is trusted in addition
 *     to the system store, never instead of verification;
 *   - refuse a URL that is not http:// or https:// (PS_EFORMAT);
 *   - send credentials only when the request says so (send_credentials),
 *     never over plain http, and never log them; that includes the
 *     Windows logon (automatic logon, a 401 answered with it) and the
 *     configured account answering a challenge.
 */
#ifndef PS_HTTP_H
#define PS_HTTP_H

#include <stddef.h>

typedef struct ps_http ps_http;

#define PS_HTTP_OPS_VERSION 3

typedef struct ps_http_request {
	const char *method;          /* "POST" or "GET" */
	const char *url;             /* absolute http:// or https:// URL */
	const char *const *headers;  /* "Name: value" lines, NULL-terminated;
	                                may be NULL */
	const char *body;            /* POST body (may be NULL for GET) */
	size_t body_len;
	unsigned timeout_ms;         /* whole request (resolving, connecting,
	                                TLS, sending, the whole answer); 0 =
	                                backend default (30 s) */
	size_t max_body;             /* response bodies longer than this are
	                                an error (PS_ELIMIT) */
	int send_credentials;        /* the user's credentials may be used
	                                for this request (https only): the
	                                configured account, and on Windows
	                                the logged-on user's Negotiate/NTLM
	                                logon; without it neither, nor a
	                                challenge answered */
} ps_http_request;

typedef struct ps_http_response {
	int status;                  /* HTTP status code */
	char *location;              /* Location header, or NULL */
	char *content_type;          /* Content-Type header, or NULL */
	char *body;                  /* NUL-terminated (extra byte); never NULL
	                                on success */
	size_t body_len;
} ps_http_response;

typedef struct ps_http_ops {
	int version;
	/* Do one request.  0 when an HTTP response arrived, whatever its
	 * status; otherwise a negative code with the message set and *rs
	 * untouched:
	 *   PS_EIO      cannot connect / resolve / connection dropped /
	 *               timeout / TLS handshake or verification failure
	 *               (the message says which, e.g. "TLS: certificate
	 *               verify failed for host x")
	 *   PS_ELIMIT   response body larger than max_body
	 *   PS_EFORMAT  unsupported URL scheme or malformed URL
	 *   PS_ENOMEM */
	int (*perform)(ps_http *h, const ps_http_request *rq,
		       ps_http_response *rs);
	void (*free)(ps_http *h);
	/* ---- version 2 ---- */
	/* Optional: the best DNS SRV record of `name`
	 * ("_autodiscover._tcp.contoso.com"): target host (caller frees) and
	 * port.  PS_ENOTFOUND when there is none or DNS is not available. */
	int (*resolve_srv)(ps_http *h, const char *name, char **host,
			   unsigned *port);
	/* ---- version 3 ---- */
	/* Optional: milliseconds on a monotonic clock (any origin), the one
	 * the request timeouts run on.  The discovery measures its time
	 * budget with it (core/adclient.c); without it, each request is
	 * charged its whole timeout. */
	long long (*now_ms)(ps_http *h);
} ps_http_ops;

struct ps_http {
	const ps_http_ops *ops;
};

int ps_http_perform(ps_http *h, const ps_http_request *rq,
		    ps_http_response *rs);
void ps_http_response_free(ps_http_response *rs);
void ps_http_free(ps_http *h);
/* PS_ENOTFOUND when the backend has no SRV lookup. */
int ps_http_resolve_srv(ps_http *h, const char *name, char **host,
			unsigned *port);
/* The backend's monotonic milliseconds, or -1 when it has no clock. */
long long ps_http_now_ms(ps_http *h);

#endif
