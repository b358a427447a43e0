/*
 * The Autodiscover discovery client: which URLs to ask, in which order,
 * which redirects to follow, and when credentials may go along.
 *
 * The rules (docs/autodiscover.md), from MS-OXDSCLI and from the 2021
 * "Autodiscovering the Great Leak" lesson:
 *   - a configured URL is asked first and alone (then its redirects);
 *     otherwise https://DOMAIN/..., https://autodiscover.DOMAIN/..., then
 *     the unauthenticated GET on http://autodiscover.DOMAIN/... whose
 *     Location must be https in the user's domain or an allowed host;
 *   - never a shortened domain;
 *   - at most PS_AD_MAX_HOPS requests, no URL asked twice for the same
 *     address;
 *   - plain http only to loopback hosts (and the GET probe above);
 *   - credentials only over https to the user's own domain, the configured
 *     URL's host or an allowed host, decided anew at every hop, so they are
 *     dropped when a redirect changes the host;
 *   - the whole discovery within opts->budget_ms: every request is cut to
 *     what is left, and none starts once it is spent.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ps_autodiscover.h"
#include "ps_buf.h"
#include "ps_error.h"
#include "ps_json.h"
#include "ps_utf.h"

#define AD_PATH "/autodiscover/autodiscover.xml"

typedef struct adrun {
	ps_http *http;
	ps_xml *xml;
	const ps_ad_opts *o;
	ps_ad_result *out;
	char *email;          /* address being asked */
	char *domain;         /* its domain, lowercase */
	char *config_host;    /* host of the configured URL, or NULL */
	ps_strlist trusted;   /* domains credentials may go to: the user's,
	                         and a redirectAddr's from a trusted hop */
	int chain;            /* every hop so far https to a trusted host */
	ps_strlist visited;   /* "email url" pairs, lowercase */
	ps_strlist reasons;
	unsigned hops;
	long long start;      /* the http port's clock at the start, or -1 */
	unsigned long long charged; /* no clock: each request's timeout */
	int out_of_time;      /* the budget is spent: nothing more asked */
} adrun;

/* Host of an http(s) URL, lowercase, without port or brackets. */
static char *url_host(const char *url)
{
	const char *p = strstr(url, "://"), *end;
	char *h;
	size_t i;

	if (!p)
		return NULL;
	p += 3;
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)))
		return NULL;  /* user info in a URL: refused */
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb)
			return NULL;
		h = ps_strndup(p + 1, (size_t)(rb - p - 1));
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		h = ps_strndup(p, (size_t)((colon ? colon : end) - p));
	}
	if (!h)
		return NULL;
	for (i = 0; h[i]; i++)
		h[i] = (char)ps_tolower((unsigned char)h[i]);
	return h;
}

static int is_https(const char *url)
{
	return ps_strncasecmp(url, "https://", 8) == 0;
}

static int is_http(const char *url)
{
	return ps_strncasecmp(url, "http://", 7) == 0;
}

/* localhost, ::1 or a dotted-quad 127.x.y.z (never a name that merely
 * starts with "127."). */
static int is_loopback(const char *host)
{
	unsigned part, parts = 0, digits = 0;
	const char *p;

	if (!strcmp(host, "localhost") || !strcmp(host, "::1"))
		return 1;
	if (strncmp(host, "127.", 4))
		return 0;
	for (p = host, part = 0; ; p++) {
		if (*p >= '0' && *p <= '9') {
			part = part * 10 + (unsigned)(*p - '0');
			if (++digits > 3 || part > 255)
				return 0;
		} else if (*p == '.' || !*p) {
			if (!digits)
				return 0;
			parts++;
			digits = 0;
			part = 0;
			if (!*p)
				break;
		} else {
			return 0;
		}
	}
	return parts == 4;
}

/* host is the domain itself or below it. */
static int in_domain(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (h == d)
		return strcmp(host, domain) == 0;
	return h > d && host[h - d - 1] == '.' &&
	       strcmp(host + h - d, domain) == 0;
}

static int trusted_host(adrun *r, const char *host)
{
	size_t i;

	for (i = 0; i < r->trusted.n; i++)
		if (in_domain(host, r->trusted.v[i]))
			return 1;
	return
	       (r->config_host && strcmp(host, r->config_host) == 0) ||
	       (r->o->allow_hosts &&
		ps_strlist_contains_nocase(r->o->allow_hosts, host));
}

static int valid_hostname(const char *d)
{
	size_t i, n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-' ||
	    d[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (!(c == '.' || c == '-' || (c >= '0' && c <= '9') ||
		      (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return 0;
		if (c == '.' && d[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* ---- host names in answers (docs/security.md) -------------------------
 * A trusted answer's server names and URLs are written into the profile,
 * so a name holding LF, TAB or anything else than a host name could is
 * refused with the whole answer.  A server is a host name or, as Exchange
 * Online names mailboxes' servers, GUID@DOMAIN (one '@', letters, digits
 * and '-' before it).  A URL has no control character or space, no user
 * part, and a host that is a host name or a bracketed IPv6 address. */
static int valid_server(const char *s)
{
	const char *at = strchr(s, '@'), *p;

	if (!at)
		return valid_hostname(s);
	if (at == s || strchr(at + 1, '@'))
		return 0;
	for (p = s; p < at; p++)
		if (!(*p == '-' || (*p >= '0' && *p <= '9') ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return 0;
	return valid_hostname(at + 1);
}

static int valid_url(const char *url)
{
	const unsigned char *p = (const unsigned char *)url;
	char *host;
	int ok;

	for (; *p; p++)
		if (*p <= 0x20 || *p >= 0x7F)
			return 0;
	if (!is_https(url) && !is_http(url))
		return 0;
	host = url_host(url);
	if (!host)
		return 0;
	if (strchr(host, ':')) {
		/* url_host took it from brackets: an IPv6 address */
		ok = *host && strspn(host, "0123456789abcdef:.") ==
			      strlen(host);
	} else {
		ok = valid_hostname(host);
	}
	free(host);
	return ok;
}

/* 0, or PS_EFORMAT with the first bad value named. */
static int check_answer_hosts(const ps_ad_response *ad)
{
	static const struct {
		const char *name;
		size_t off;
	} urls[] = {
		{ "EwsUrl", offsetof(ps_ad_protocol, ews_url) },
		{ "OABUrl", offsetof(ps_ad_protocol, oab_url) },
		{ "ASUrl", offsetof(ps_ad_protocol, as_url) },
		{ "MailStore InternalUrl",
		  offsetof(ps_ad_protocol, mailstore_internal) },
		{ "MailStore ExternalUrl",
		  offsetof(ps_ad_protocol, mailstore_external) },
		{ "AddressBook InternalUrl",
		  offsetof(ps_ad_protocol, addressbook_internal) },
		{ "AddressBook ExternalUrl",
		  offsetof(ps_ad_protocol, addressbook_external) },
	};
	size_t i, k;

	for (i = 0; i < ad->nprotocols; i++) {
		const ps_ad_protocol *p = &ad->protocols[i];
		const char *type = p->type ? p->type : "(no Type)";

		if (p->server && !valid_server(p->server))
			return ps_error_setc(PS_EFORMAT, "Server of protocol "
				"%s is not a host name (letters, digits, '-', "
				"'.', or GUID@domain): '%s'", type, p->server);
		for (k = 0; k < sizeof(urls) / sizeof(urls[0]); k++) {
			const char *u = *(char *const *)(const void *)
				((const char *)p + urls[k].off);

			if (u && !valid_url(u))
				return ps_error_setc(PS_EFORMAT, "%s of "
					"protocol %s is not an http(s) URL "
					"with a host name: '%s'",
					urls[k].name, type, u);
		}
	}
	return 0;
}

static int set_email(adrun *r, const char *email)
{
	const char *at = strchr(email, '@');
	char *e, *d;
	size_t i;

	if (!at || at == email || strchr(at + 1, '@') ||
	    !valid_hostname(at + 1) || strlen(email) > 320 ||
	    strpbrk(email, " \t\r\n<>\"&'"))
		return ps_error_setc(PS_EFORMAT,
				     "'%s' is not an SMTP address (user@domain)",
				     email);
	e = ps_strdup(email);
	d = ps_strdup(at + 1);
	if (!e || !d) {
		free(e);
		free(d);
		return PS_ENOMEM;
	}
	for (i = 0; d[i]; i++)
		d[i] = (char)ps_tolower((unsigned char)d[i]);
	free(r->email);
	free(r->domain);
	r->email = e;
	r->domain = d;
	return 0;
}

/* Server-chosen text (URLs, messages) reaches terminals and logs: made
 * safe with the one sanitiser (no C0, DEL or C1 control, valid UTF-8). */
static int vline(ps_buf *out, const char *fmt, va_list ap)
	PS_PRINTF(2, 0);
static int vline(ps_buf *out, const char *fmt, va_list ap)
{
	char line[2048];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	return ps_utf8_sanitize(out, line, (size_t)n);
}

static int add_hop(adrun *r, const char *line)
{
	if (r->o->trace)
		r->o->trace(r->o->trace_ctx, line);
	return ps_strlist_add(&r->out->hops, line) < 0 ? PS_ENOMEM : 0;
}

static int hop(adrun *r, const char *fmt, ...) PS_PRINTF(2, 3);
static int hop(adrun *r, const char *fmt, ...)
{
	ps_buf line = PS_BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vline(&line, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = add_hop(r, line.ptr);
	ps_buf_free(&line);
	return rc;
}

static int reason(adrun *r, const char *fmt, ...) PS_PRINTF(2, 3);
static int reason(adrun *r, const char *fmt, ...)
{
	ps_buf line = PS_BUF_INIT;
	va_list ap;
	int rc;

	ps_buf_puts(&line, "  failed: ");
	va_start(ap, fmt);
	rc = vline(&line, fmt, ap);
	va_end(ap);
	if (rc == 0 && ps_strlist_add(&r->reasons, line.ptr + 10) < 0)
		rc = PS_ENOMEM;
	if (rc == 0)
		rc = add_hop(r, line.ptr);
	ps_buf_free(&line);
	return rc;
}

/* ---- the time budget (opts->budget_ms) -------------------------------- */

static long long budget_used(adrun *r)
{
	long long now;

	if (r->start < 0 || (now = ps_http_now_ms(r->http)) < 0)
		return (long long)r->charged;
	return now > r->start ? now - r->start : 0;
}

/* What is left of the budget in ms, or 0 once it is spent (said once in
 * the reasons); UINT_MAX-ish "a lot" when there is no budget. */
static unsigned long long budget_left(adrun *r)
{
	unsigned budget = r->o->budget_ms;
	long long left;

	if (!budget)
		return ~0ull;
	if (r->out_of_time)
		return 0;
	left = (long long)budget - budget_used(r);
	if (left > 0)
		return (unsigned long long)left;
	r->out_of_time = 1;
	if (budget % 1000)
		reason(r, "time budget of %u.%03u s used up; nothing more "
		       "asked", budget / 1000, budget % 1000);
	else
		reason(r, "time budget of %u s used up; nothing more asked",
		       budget / 1000);
	return 0;
}

/* The timeout of the next request: its own, cut to what is left of the
 * budget; 0 when nothing may be asked any more. */
static unsigned next_timeout(adrun *r)
{
	unsigned per = r->o->timeout_ms ? r->o->timeout_ms
					: PS_AD_TIMEOUT_MS;
	unsigned long long left = budget_left(r);

	return left < per ? (unsigned)left : per;
}

/* After a request: without a clock, it is charged its whole timeout. */
static void charge(adrun *r, unsigned ms)
{
	if (r->start < 0)
		r->charged += ms;
}

/* Mark (email, url) visited; 1 when it was already. */
static int visit(adrun *r, const char *url)
{
	ps_buf key = PS_BUF_INIT;
	size_t i;
	int rc;

	ps_buf_printf(&key, "%s %s", r->email, url);
	if ((rc = ps_buf_check(&key)) < 0) {
		ps_buf_free(&key);
		return rc;
	}
	for (i = 0; i < key.len; i++)
		key.ptr[i] = (char)ps_tolower((unsigned char)key.ptr[i]);
	if (ps_strlist_contains_nocase(&r->visited, key.ptr)) {
		ps_buf_free(&key);
		return 1;
	}
	rc = ps_strlist_take(&r->visited, ps_buf_detach(&key));
	return rc < 0 ? PS_ENOMEM : 0;
}

/*
 * Whether a URL may be asked with POST: https anywhere (credentials
 * decided separately), http only to loopback.  Sets a reason when not.
 */
static int post_allowed(adrun *r, const char *url, const char *why)
{
	char *host;
	int ok;

	if (!is_https(url) && !is_http(url)) {
		reason(r, "%s: not an http(s) URL (%s)", url, why);
		return 0;
	}
	host = url_host(url);
	if (!host || !*host) {
		free(host);
		reason(r, "%s: no host in URL (%s)", url, why);
		return 0;
	}
	/* Plain http only to this machine, and only when the configured
	 * URL itself is on this machine (tests): never an SSRF by redirect. */
	ok = is_https(url) || (is_loopback(host) && r->config_host &&
			       is_loopback(r->config_host));
	free(host);
	if (!ok)
		reason(r, "refused plain HTTP to %s (%s): only https, or "
		       "http to this machine when configured so", url, why);
	return ok;
}

enum { NEXT = 0, DONE = 1 };

static int post(adrun *r, const char *url, int depth);

/* Follow a redirect URL from a 3xx or redirectUrl. */
static int follow(adrun *r, const char *url, const char *why, int depth)
{
	if (!post_allowed(r, url, why))
		return NEXT;
	return post(r, url, depth + 1);
}

static int count_hop(adrun *r)
{
	if (r->hops >= PS_AD_MAX_HOPS) {
		if (r->reasons.n == 0 ||
		    !strstr(r->reasons.v[r->reasons.n - 1], "hops"))
			reason(r, "more than %d hops", PS_AD_MAX_HOPS);
		return 0;
	}
	r->hops++;
	return 1;
}

static int restart_with(adrun *r, const char *addr, int depth);

static int on_answer(adrun *r, const char *url, ps_http_response *rs,
		     int depth)
{
	ps_ad_response ad;
	char code[16];
	int rc;

	if (rs->status >= 300 && rs->status < 400) {
		snprintf(code, sizeof(code), "%d", rs->status);
		if (!rs->location) {
			reason(r, "%s: HTTP %s redirect without Location",
			       url, code);
			return NEXT;
		}
		hop(r, "  -> HTTP redirect to %s", rs->location);
		return follow(r, rs->location, "HTTP redirect", depth);
	}
	if (rs->status != 200) {
		snprintf(code, sizeof(code), "%d", rs->status);
		reason(r, "%s: HTTP %s", url, code);
		return NEXT;
	}
	memset(&ad, 0, sizeof(ad));
	rc = ps_ad_parse(r->xml, rs->body, rs->body_len, &ad);
	if (rc == PS_ENOMEM)
		return rc;
	if (rc < 0) {
		reason(r, "%s: unusable answer: %s", url, ps_error_last());
		return NEXT;
	}
	switch (ad.kind) {
	case PS_AD_SETTINGS:
		if (check_answer_hosts(&ad) < 0) {
			rc = reason(r, "%s: answer refused: %s", url,
				    ps_error_last());
			ps_ad_response_free(&ad);
			return rc < 0 ? rc : NEXT;
		}
		hop(r, "  -> settings for %s",
		    ad.legacy_dn ? ad.legacy_dn : "(no LegacyDN)");
		r->out->found = 1;
		r->out->trusted = r->chain;
		r->out->settings = ad;
		r->out->url = ps_strdup(url);
		r->out->email = ps_strdup(r->email);
		if (!r->out->url || !r->out->email)
			return PS_ENOMEM;
		return DONE;
	case PS_AD_REDIRECT_ADDR:
		hop(r, "  -> redirectAddr %s%s", ad.redirect, r->chain ? ""
		    : " (from an untrusted server: no credentials there)");
		rc = restart_with(r, ad.redirect, depth);
		ps_ad_response_free(&ad);
		return rc;
	case PS_AD_REDIRECT_URL:
		hop(r, "  -> redirectUrl %s", ad.redirect);
		rc = follow(r, ad.redirect, "redirectUrl", depth);
		ps_ad_response_free(&ad);
		return rc;
	default: {
		ps_buf m = PS_BUF_INIT;

		/* "The email address can't be found." (readiness) */
		if (ad.error_code && !strcmp(ad.error_code, "500"))
			r->out->unknown_mailbox = 1;
		ps_buf_printf(&m, "Autodiscover error %s%s%s",
			      ad.error_code ? ad.error_code : "(no code)",
			      ad.error_message ? ": " : "",
			      ad.error_message ? ad.error_message : "");
		rc = ps_buf_check(&m);
		if (rc == 0)
			reason(r, "%s: %s", url, m.ptr);
		ps_buf_free(&m);
		ps_ad_response_free(&ad);
		return rc < 0 ? rc : NEXT;
	}
	}
}

static int post(adrun *r, const char *url, int depth)
{
	ps_http_request rq;
	ps_http_response rs;
	const char *headers[4];
	char anchor[400];
	char *body, *host;
	int rc, hop_trusted, outer = r->chain;
	unsigned tmo = next_timeout(r);

	if (!tmo)
		return NEXT;
	if ((rc = visit(r, url)) != 0) {
		if (rc < 0)
			return rc;
		reason(r, "redirect loop: %s asked again", url);
		return NEXT;
	}
	if (!count_hop(r))
		return NEXT;
	host = url_host(url);
	body = ps_ad_request_body(r->email, 0);
	if (!host || !body) {
		free(host);
		free(body);
		return PS_ENOMEM;
	}
	snprintf(anchor, sizeof(anchor), "X-AnchorMailbox: %s", r->email);
	headers[0] = "Content-Type: text/xml; charset=utf-8";
	headers[1] = "X-MapiHttpCapability: 1";
	headers[2] = anchor;
	headers[3] = NULL;
	memset(&rq, 0, sizeof(rq));
	memset(&rs, 0, sizeof(rs));
	rq.method = "POST";
	rq.url = url;
	rq.headers = headers;
	rq.body = body;
	rq.body_len = strlen(body);
	rq.timeout_ms = tmo;
	rq.max_body = PS_AD_MAX_BODY;
	/* post_allowed let plain http through only to this machine with a
	 * configured URL on this machine (tests): trusted, but credentials
	 * still go only over https. */
	hop_trusted = r->chain && trusted_host(r, host) &&
		      (is_https(url) || is_loopback(host));
	rq.send_credentials = r->o->send_credentials && hop_trusted &&
			      is_https(url);
	hop(r, rq.send_credentials ? "POST %s (credentials allowed)"
				   : "POST %s", url);
	rc = ps_http_perform(r->http, &rq, &rs);
	charge(r, tmo);
	free(body);
	free(host);
	if (rc == PS_ENOMEM)
		return rc;
	if (rc < 0) {
		reason(r, "%s", ps_error_last());
		return NEXT;
	}
	r->out->answered = 1;
	/* What this server says is only as trusted as the way to it. */
	r->chain = hop_trusted;
	rc = on_answer(r, url, &rs, depth);
	r->chain = outer;
	ps_http_response_free(&rs);
	return rc;
}

/* The unauthenticated GET on http://autodiscover.DOMAIN/. */
static int probe(adrun *r, int depth)
{
	ps_http_request rq;
	ps_http_response rs;
	ps_buf url = PS_BUF_INIT;
	char *host = NULL;
	unsigned tmo = next_timeout(r);
	int rc;

	if (!tmo)
		return NEXT;
	ps_buf_printf(&url, "http://autodiscover.%s" AD_PATH, r->domain);
	if ((rc = ps_buf_check(&url)) < 0)
		goto out;
	if ((rc = visit(r, url.ptr)) != 0) {
		rc = rc < 0 ? rc : NEXT;
		goto out;
	}
	if (!count_hop(r)) {
		rc = NEXT;
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	memset(&rs, 0, sizeof(rs));
	rq.method = "GET";
	rq.url = url.ptr;
	rq.timeout_ms = tmo;
	rq.max_body = PS_AD_MAX_BODY;
	hop(r, "GET %s (redirect probe)", url.ptr);
	rc = ps_http_perform(r->http, &rq, &rs);
	charge(r, tmo);
	if (rc == PS_ENOMEM)
		goto out;
	if (rc < 0) {
		reason(r, "%s", ps_error_last());
		rc = NEXT;
		goto out;
	}
	rc = NEXT;
	if ((rs.status != 301 && rs.status != 302 && rs.status != 307 &&
	     rs.status != 308) || !rs.location) {
		char code[16];

		snprintf(code, sizeof(code), "%d", rs.status);
		reason(r, "%s: HTTP %s, not a redirect", url.ptr, code);
	} else if (!is_https(rs.location)) {
		reason(r, "refused redirect to %s: not https", rs.location);
	} else if (!(host = url_host(rs.location)) ||
		   !trusted_host(r, host)) {
		reason(r, "refused redirect to %s: host not in the user's "
		       "domain and not allowed", rs.location);
	} else {
		hop(r, "  -> redirect to %s", rs.location);
		rc = post(r, rs.location, depth + 1);
	}
	ps_http_response_free(&rs);
out:
	free(host);
	ps_buf_free(&url);
	return rc;
}

/* DNS SRV _autodiscover._tcp.DOMAIN: an untrusted hint (credentials only
 * when its target is in the user's domain or allowed). */
static int srv(adrun *r, int depth)
{
	char name[300], *host = NULL, url[400];
	unsigned long long left;
	unsigned port = 0;
	int rc;

	snprintf(name, sizeof(name), "_autodiscover._tcp.%s", r->domain);
	/* The lookup cannot be cut short: it is asked only when it fits. */
	left = budget_left(r);
	if (!left)
		return NEXT;
	if (left < PS_AD_SRV_MS) {
		hop(r, "SRV %s: not asked, less than %u ms of the time budget "
		    "left", name, PS_AD_SRV_MS);
		return NEXT;
	}
	rc = ps_http_resolve_srv(r->http, name, &host, &port);
	charge(r, PS_AD_SRV_MS);
	if (rc == PS_ENOMEM)
		return rc;
	if (rc < 0) {
		hop(r, "SRV %s: no record", name);
		return NEXT;
	}
	if (!valid_hostname(host) || port == 0 || port > 65535) {
		reason(r, "SRV %s: unusable target", name);
		free(host);
		return NEXT;
	}
	if (port == 443)
		snprintf(url, sizeof(url), "https://%s" AD_PATH, host);
	else
		snprintf(url, sizeof(url), "https://%s:%u" AD_PATH, host, port);
	hop(r, "SRV %s -> %s", name, url);
	free(host);
	return post(r, url, depth + 1);
}

/* Ask every candidate for the current address until one answers;
 * `chain` says whether the way here was trusted. */
static int run_candidates(adrun *r, int depth, int chain)
{
	ps_buf u = PS_BUF_INIT;
	int rc;

	if (depth > (int)PS_AD_MAX_HOPS)
		return NEXT;
	r->chain = chain;
	if (r->o->url && *r->o->url) {
		if (!post_allowed(r, r->o->url, "configured URL"))
			return NEXT;
		return post(r, r->o->url, depth);
	}
	ps_buf_printf(&u, "https://%s" AD_PATH, r->domain);
	if ((rc = ps_buf_check(&u)) < 0)
		goto out;
	if ((rc = post(r, u.ptr, depth)) != NEXT)
		goto out;
	ps_buf_clear(&u);
	ps_buf_printf(&u, "https://autodiscover.%s" AD_PATH, r->domain);
	if ((rc = ps_buf_check(&u)) < 0)
		goto out;
	if ((rc = post(r, u.ptr, depth)) != NEXT)
		goto out;
	if ((rc = probe(r, depth)) != NEXT)
		goto out;
	rc = srv(r, depth);
out:
	ps_buf_free(&u);
	return rc;
}

static int restart_with(adrun *r, const char *addr, int depth)
{
	char *email, *domain;
	int rc, chain = r->chain, added = 0;

	if (ps_strcasecmp(addr, r->email) == 0) {
		reason(r, "redirect loop: redirectAddr to the same address %s",
		       addr);
		return NEXT;
	}
	email = r->email;
	domain = r->domain;
	r->email = r->domain = NULL;
	if ((rc = set_email(r, addr)) < 0) {
		r->email = email;
		r->domain = domain;
		if (rc == PS_ENOMEM)
			return rc;
		reason(r, "redirectAddr: %s", ps_error_last());
		return NEXT;
	}
	/* A trusted server may hand the address to another domain; an
	 * untrusted one may not extend where credentials go. */
	if (chain && !ps_strlist_contains_nocase(&r->trusted, r->domain)) {
		if (ps_strlist_add(&r->trusted, r->domain) < 0)
			rc = PS_ENOMEM;
		added = 1;
	}
	if (rc == 0)
		rc = run_candidates(r, depth + 1, chain);
	if (rc == NEXT) {
		/* Nothing there: go on with the original address. */
		if (added) {
			free(r->trusted.v[--r->trusted.n]);
			r->trusted.v[r->trusted.n] = NULL;
		}
		free(r->email);
		free(r->domain);
		r->email = email;
		r->domain = domain;
	} else {
		free(email);
		free(domain);
	}
	r->chain = chain;
	return rc;
}

/* The end of a discovery: the reasons joined when nothing was found,
 * everything of the run freed. */
static int finish(adrun *r, int rc)
{
	ps_ad_result *out = r->out;
	size_t i;

	/* A request the budget cut short: say that it was the budget. */
	if (rc >= 0 && !out->found)
		(void)budget_left(r);
	if (r->out_of_time)
		out->answered = 0;
	if (rc >= 0 && !out->found) {
		ps_buf m = PS_BUF_INIT;

		for (i = 0; i < r->reasons.n; i++)
			ps_buf_printf(&m, "%s%s", i ? "; " : "",
				      r->reasons.v[i]);
		if (r->reasons.n == 0)
			ps_buf_puts(&m, "no Autodiscover server answered");
		if ((rc = ps_buf_check(&m)) == 0)
			out->reason = ps_buf_detach(&m);
		ps_buf_free(&m);
	}
	free(r->email);
	free(r->domain);
	free(r->config_host);
	ps_strlist_free(&r->visited);
	ps_strlist_free(&r->trusted);
	ps_strlist_free(&r->reasons);
	if (rc < 0) {
		ps_ad_result_free(out);
		return rc;
	}
	return 0;
}

int ps_ad_discover(ps_http *http, ps_xml *xml, const char *email,
		   const ps_ad_opts *opts, ps_ad_result *out)
{
	static const ps_ad_opts none;
	adrun r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.http = http;
	r.xml = xml;
	r.o = opts ? opts : &none;
	r.out = out;
	r.start = ps_http_now_ms(http);
	if ((rc = set_email(&r, email)) < 0)
		return rc;
	if (r.o->url && *r.o->url && !(r.config_host = url_host(r.o->url))) {
		free(r.email);
		free(r.domain);
		return ps_error_setc(PS_EFORMAT, "'%s' is not a URL",
				     r.o->url);
	}
	rc = ps_strlist_add(&r.trusted, r.domain) < 0 ? PS_ENOMEM
		: run_candidates(&r, 0, 1);
	return finish(&r, rc);
}

/* ---- Autodiscover v2 (JSON): the readiness check ---------------------- */

static int v2_get(adrun *r, const char *url, int depth);

static int is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 ||
	       status == 307 || status == 308;
}

static int v2_on_answer(adrun *r, const char *url, ps_http_response *rs,
			int depth)
{
	ps_json_obj j;
	const char *proto, *u, *code, *msg;
	char st[16];
	int rc;

	snprintf(st, sizeof(st), "%d", rs->status);
	if (is_redirect(rs->status)) {
		if (!rs->location) {
			reason(r, "%s: HTTP %s redirect without Location",
			       url, st);
			return NEXT;
		}
		hop(r, "  -> HTTP redirect to %s", rs->location);
		if (!valid_url(rs->location)) {
			reason(r, "refused redirect to %s: not an absolute "
			       "http(s) URL with a host name", rs->location);
			return NEXT;
		}
		if (!post_allowed(r, rs->location, "HTTP redirect"))
			return NEXT;
		return v2_get(r, rs->location, depth + 1);
	}
	memset(&j, 0, sizeof(j));
	rc = ps_json_parse_flat(rs->body ? rs->body : "", rs->body_len, &j);
	if (rc == PS_ENOMEM)
		return rc;
	if (rc < 0) {
		if (rs->status != 200)
			reason(r, "%s: HTTP %s", url, st);
		else
			reason(r, "%s: unusable answer: %s", url,
			       ps_error_last());
		return NEXT;
	}
	code = ps_json_get(&j, "ErrorCode");
	msg = ps_json_get(&j, "ErrorMessage");
	proto = ps_json_get(&j, "Protocol");
	u = ps_json_get(&j, "Url");
	rc = NEXT;
	if (code || rs->status != 200) {
		if (code)
			r->out->unknown_mailbox = 1;
		reason(r, "%s: HTTP %s%s%s%s%s", url, st,
		       code ? ", ErrorCode " : "", code ? code : "",
		       msg ? ": " : "", msg ? msg : "");
	} else if (!proto || !u || ps_strcasecmp(proto, "AutodiscoverV1")) {
		reason(r, "%s: unusable answer: no Protocol AutodiscoverV1 "
		       "with a Url", url);
	} else if (!is_https(u) || !valid_url(u)) {
		reason(r, "%s: answer refused: Url is not an https URL with "
		       "a host name: '%s'", url, u);
	} else {
		hop(r, "  -> AutodiscoverV1 %s", u);
		r->out->found = 1;
		r->out->url = ps_strdup(url);
		r->out->v2_url = ps_strdup(u);
		r->out->email = ps_strdup(r->email);
		rc = r->out->url && r->out->v2_url && r->out->email
		     ? DONE : PS_ENOMEM;
	}
	ps_json_free(&j);
	return rc;
}

static int v2_get(adrun *r, const char *url, int depth)
{
	static const char *const headers[] = {
		"Accept: application/json", NULL
	};
	ps_http_request rq;
	ps_http_response rs;
	unsigned tmo = next_timeout(r);
	int rc;

	if (!tmo || depth > (int)PS_AD_MAX_HOPS)
		return NEXT;
	if ((rc = visit(r, url)) != 0) {
		if (rc < 0)
			return rc;
		reason(r, "redirect loop: %s asked again", url);
		return NEXT;
	}
	if (!count_hop(r))
		return NEXT;
	memset(&rq, 0, sizeof(rq));
	memset(&rs, 0, sizeof(rs));
	rq.method = "GET";
	rq.url = url;
	rq.headers = headers;
	rq.timeout_ms = tmo;
	rq.max_body = PS_AD_V2_MAX_BODY;
	rq.send_credentials = 0;
	hop(r, "GET %s", url);
	rc = ps_http_perform(r->http, &rq, &rs);
	charge(r, tmo);
	if (rc == PS_ENOMEM)
		return rc;
	if (rc < 0) {
		reason(r, "%s", ps_error_last());
		return NEXT;
	}
	r->out->answered = 1;
	rc = v2_on_answer(r, url, &rs, depth);
	ps_http_response_free(&rs);
	return rc;
}

/* The query value: unreserved characters and '@' as they are, the rest
 * percent-encoded. */
static void query_escape(ps_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == '@')
			ps_buf_putc(b, c);
		else
			ps_buf_printf(b, "%%%02X", c);
	}
}

int ps_ad_v2_discover(ps_http *http, const char *email,
		      const ps_ad_opts *opts, ps_ad_result *out)
{
	static const ps_ad_opts none;
	ps_buf url = PS_BUF_INIT;
	adrun r;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.http = http;
	r.o = opts ? opts : &none;
	r.out = out;
	r.start = ps_http_now_ms(http);
	r.chain = 1;
	if ((rc = set_email(&r, email)) < 0)
		return rc;
	if (r.o->url && *r.o->url) {
		const char *p = strstr(r.o->url, "://");

		if (!p || !valid_url(r.o->url) ||
		    !(r.config_host = url_host(r.o->url))) {
			free(r.email);
			free(r.domain);
			return ps_error_setc(PS_EFORMAT, "'%s' is not a URL",
					     r.o->url);
		}
		p += 3;
		ps_buf_put(&url, r.o->url,
			   (size_t)(p + strcspn(p, "/?#") - r.o->url));
	} else {
		ps_buf_puts(&url, PS_AD_V2_EXO);
	}
	ps_buf_puts(&url, PS_AD_V2_PATH "?Email=");
	query_escape(&url, r.email);
	ps_buf_puts(&url, "&Protocol=AutodiscoverV1");
	if ((rc = ps_buf_check(&url)) == 0 &&
	    post_allowed(&r, url.ptr, r.o->url ? "configured URL"
						 : "Exchange Online"))
		rc = v2_get(&r, url.ptr, 0);
	ps_buf_free(&url);
	return finish(&r, rc);
}

void ps_ad_result_free(ps_ad_result *r)
{
	if (!r)
		return;
	ps_ad_response_free(&r->settings);
	free(r->url);
	free(r->email);
	free(r->reason);
	free(r->v2_url);
	ps_strlist_free(&r->hops);
	memset(r, 0, sizeof(*r));
}
