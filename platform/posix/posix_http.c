/*
 * The http port on Linux: libcurl, one easy handle per port (connections
 * are reused between requests of one run).
 *
 * Trust: the system CA bundle plus, when given, one more CA file
 * (--ca-file / AutodiscoverCAFile), handed to libcurl as one in-memory
 * bundle, so verification is never switched off.  Redirects are never
 * followed.  Proxies are not used.
 *
 * Two environment variables are for rehearsal in a lab and for tests:
 *   PROFSWITCH_CONNECT_TO   "HOST:PORT:ADDR:PORT ..." (libcurl's
 *                           CURLOPT_CONNECT_TO): connect somewhere else
 *                           while TLS still checks the name HOST;
 *   PROFSWITCH_AD_USER / PROFSWITCH_AD_PASSWORD  Basic credentials, sent
 *                           only over https and only when the core allows
 *                           credentials for the request;
 *   PROFSWITCH_NO_SRV       set: no DNS SRV lookups (a lab without DNS; the
 *                           scenario runner sets it).
 */
#include <arpa/nameser.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_http.h"
#include "ps_posix.h"
#include "ps_str.h"

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define MAX_CA_FILE (4u * 1024u * 1024u)
#define DEFAULT_MAX_BODY (1024u * 1024u)

typedef struct posix_http {
	ps_http base;
	CURL *curl;
	char *bundle;          /* system bundle + extra CA, or NULL */
	size_t bundle_len;
	struct curl_slist *connect_to;
} posix_http;

typedef struct xfer {
	ps_buf body;
	size_t max;
	int over;
	char *location;
	char *content_type;
	int oom;
} xfer;

/* A CA bundle: a regular file only.  O_NONBLOCK: a FIFO given as
 * --ca-file is refused at once instead of waiting for a writer forever
 * (update reads it while holding the store lock); reads of a regular
 * file ignore the flag. */
static int read_whole(const char *path, ps_buf *out, int must)
{
	struct stat st;
	char chunk[8192];
	size_t start = out->len;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), error = 0;

	if (fd < 0) {
		if (!must)
			return 0;
		return ps_error_setc(PS_ENOTFOUND, "%s: cannot read CA file: "
				     "%s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		if (!must)
			return 0;
		return ps_error_setc(PS_EIO, "%s: not a regular file (CA "
				     "file)", path);
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error = ps_error_setc(PS_EIO, "%s: read error: %s",
					      path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		/* The limit is this file's: out may hold the system
		 * bundle already. */
		if (out->len - start + (size_t)n > MAX_CA_FILE) {
			error = ps_error_setc(PS_ELIMIT, "%s: CA file larger "
					      "than %u bytes", path,
					      MAX_CA_FILE);
			break;
		}
		if (ps_buf_put(out, chunk, (size_t)n) < 0) {
			error = PS_ENOMEM;
			break;
		}
	}
	close(fd);
	return error;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;

	if (x->body.len + n > x->max) {
		x->over = 1;
		return 0;
	}
	if (ps_buf_put(&x->body, ptr, n) < 0) {
		x->oom = 1;
		return 0;
	}
	return n;
}

/* "Name: value\r\n" → value when the name matches. */
static char *header_value(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	const char *v, *end = line + n;

	if (n <= k || line[k] != ':' || ps_strncasecmp(line, name, k) != 0)
		return NULL;
	v = line + k + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
			   end[-1] == ' '))
		end--;
	return ps_strndup(v, (size_t)(end - v));
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;
	char *v;

	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): forget headers */
		free(x->location);
		free(x->content_type);
		x->location = x->content_type = NULL;
		return n;
	}
	if ((v = header_value(ptr, n, "Location")) != NULL) {
		free(x->location);
		x->location = v;
	} else if ((v = header_value(ptr, n, "Content-Type")) != NULL) {
		free(x->content_type);
		x->content_type = v;
	}
	return n;
}

static int is_https(const char *url)
{
	return ps_strncasecmp(url, "https://", 8) == 0;
}

static int curl_fail(CURLcode rc, const char *url, const char *errbuf,
		     const xfer *x)
{
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

	if (x->over)
		return ps_error_setc(PS_ELIMIT,
				     "%s: answer larger than %zu bytes", url,
				     x->max);
	if (x->oom)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return ps_error_setc(PS_EFORMAT, "%s: unsupported URL (%s)",
				     url, why);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return ps_error_setc(PS_EIO, "%s: TLS failure: %s", url, why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return ps_error_setc(PS_EIO, "%s: host not found: %s", url,
				     why);
	case CURLE_COULDNT_CONNECT:
		return ps_error_setc(PS_EIO, "%s: unreachable: %s", url, why);
	case CURLE_OPERATION_TIMEDOUT:
		return ps_error_setc(PS_EIO, "%s: timed out: %s", url, why);
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_ERROR:
		return ps_error_setc(PS_EIO, "%s: connection dropped: %s",
				     url, why);
	default:
		return ps_error_setc(PS_EIO, "%s: %s", url, why);
	}
}

static int add_header(struct curl_slist **l, const char *h)
{
	struct curl_slist *n = curl_slist_append(*l, h);

	if (!n)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	*l = n;
	return 0;
}

static long long http_now_ms(ps_http *h);

static int http_perform(ps_http *h, const ps_http_request *rq,
			ps_http_response *rs)
{
	posix_http *p = (posix_http *)h;
	CURL *c = p->curl;
	struct curl_slist *hdr = NULL;
	char errbuf[CURL_ERROR_SIZE];
	const char *user = getenv("PROFSWITCH_AD_USER");
	const char *pass = getenv("PROFSWITCH_AD_PASSWORD");
	xfer x;
	CURLcode rc;
	long status = 0;
	long long start;
	int ret = 0, creds;
	size_t i;

	memset(&x, 0, sizeof(x));
	x.max = rq->max_body ? rq->max_body : DEFAULT_MAX_BODY;
	errbuf[0] = '\0';
	if (ps_strncasecmp(rq->url, "http://", 7) != 0 && !is_https(rq->url))
		return ps_error_setc(PS_EFORMAT,
				     "%s: only http:// and https:// URLs",
				     rq->url);
	curl_easy_reset(c);
	for (i = 0; rq->headers && rq->headers[i]; i++)
		if ((ret = add_header(&hdr, rq->headers[i])) < 0)
			goto out;
	if ((ret = add_header(&hdr, "Expect:")) < 0)
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 (long)(rq->timeout_ms ? rq->timeout_ms : 30000u));
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	if (p->bundle) {
		struct curl_blob blob;

		blob.data = p->bundle;
		blob.len = p->bundle_len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (p->connect_to)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, p->connect_to);
	if (strcmp(rq->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				 rq->body ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE,
				 (long)rq->body_len);
	} else if (strcmp(rq->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		ret = ps_error_setc(PS_EFORMAT, "unsupported method %s",
				    rq->method);
		goto out;
	}
	creds = rq->send_credentials && is_https(rq->url) && user && pass;
	if (creds) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
	}
	start = http_now_ms(h);
	rc = curl_easy_perform(c);
	/* A server that wants NTLM (Windows authentication) gets the same
	 * configured account through libcurl's NTLM handshake, within what
	 * is left of the request's time.  Not the Windows port's automatic
	 * logon: there is no logged-on Windows user here
	 * (docs/autodiscover.md "Windows credentials"). */
	if (rc == CURLE_OK && creds) {
		long avail = 0, left;

		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_HTTPAUTH_AVAIL, &avail);
		left = (long)(rq->timeout_ms ? rq->timeout_ms : 30000u) -
		       (long)(http_now_ms(h) - start);
		if (status == 401 && (avail & CURLAUTH_NTLM) && left > 0 &&
		    !x.oom && !x.over) {
			ps_buf_free(&x.body);
			free(x.location);
			free(x.content_type);
			x.location = x.content_type = NULL;
			curl_easy_setopt(c, CURLOPT_HTTPAUTH,
					 (long)CURLAUTH_NTLM);
			curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left);
			rc = curl_easy_perform(c);
		}
	}
	if (rc != CURLE_OK) {
		ret = curl_fail(rc, rq->url, errbuf, &x);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	rs->status = (int)status;
	rs->body_len = x.body.len;
	rs->body = ps_buf_detach(&x.body);
	rs->location = x.location;
	rs->content_type = x.content_type;
	x.location = x.content_type = NULL;
out:
	curl_slist_free_all(hdr);
	ps_buf_free(&x.body);
	free(x.location);
	free(x.content_type);
	/* the handle keeps pointers to our lists: drop them */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	return ret;
}

static void http_free(ps_http *h)
{
	posix_http *p = (posix_http *)h;

	curl_easy_cleanup(p->curl);
	curl_slist_free_all(p->connect_to);
	free(p->bundle);
	free(p);
}

/* The best SRV record: lowest priority, then highest weight.  One short
 * try (2 s), as a logon must not wait on DNS. */
static int http_resolve_srv(ps_http *h, const char *name, char **host,
			    unsigned *port)
{
	struct __res_state st;
	unsigned char ans[4096];
	char target[NS_MAXDNAME];
	ns_msg msg;
	ns_rr rr;
	int len, i, n, best_pri = 0x10000, best_w = -1;

	(void)h;
	*host = NULL;
	if (getenv("PROFSWITCH_NO_SRV"))
		return PS_ENOTFOUND;
	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) < 0)
		return PS_ENOTFOUND;
	/* One query to the first name server, 2 s at most
	 * (PS_AD_SRV_MS): the discovery's time budget counts on it. */
	st.retrans = 2;
	st.retry = 1;
	if (st.nscount > 1)
		st.nscount = 1;
	len = res_nquery(&st, name, ns_c_in, ns_t_srv, ans, sizeof(ans));
	res_nclose(&st);
	if (len < 0 || ns_initparse(ans, len, &msg) < 0)
		return PS_ENOTFOUND;
	n = ns_msg_count(msg, ns_s_an);
	for (i = 0; i < n; i++) {
		const unsigned char *d;
		int pri, w;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 ||
		    ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7)
			continue;
		d = ns_rr_rdata(rr);
		pri = d[0] << 8 | d[1];
		w = d[2] << 8 | d[3];
		if (pri > best_pri || (pri == best_pri && w <= best_w))
			continue;
		if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg),
				       d + 6, target, sizeof(target)) < 0)
			continue;
		free(*host);
		*host = ps_strdup(target);
		if (!*host)
			return PS_ENOMEM;
		*port = (unsigned)(d[4] << 8 | d[5]);
		best_pri = pri;
		best_w = w;
	}
	return *host ? 0 : PS_ENOTFOUND;
}

/* The clock libcurl's timeouts run on, for the discovery's budget. */
static long long http_now_ms(ps_http *h)
{
	struct timespec ts;

	(void)h;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const ps_http_ops posix_http_ops = {
	PS_HTTP_OPS_VERSION,
	http_perform,
	http_free,
	http_resolve_srv,
	http_now_ms,
};

static int parse_connect_to(posix_http *p, const char *spec)
{
	char *copy = ps_strdup(spec), *tok, *save = NULL;

	if (!copy)
		return PS_ENOMEM;
	for (tok = strtok_r(copy, " ,;", &save); tok;
	     tok = strtok_r(NULL, " ,;", &save)) {
		struct curl_slist *n = curl_slist_append(p->connect_to, tok);

		if (!n) {
			free(copy);
			return ps_error_setc(PS_ENOMEM, "out of memory");
		}
		p->connect_to = n;
	}
	free(copy);
	return 0;
}

int ps_posix_http_new(const char *ca_file, ps_http **out)
{
	static int inited;
	posix_http *p;
	const char *ct = getenv("PROFSWITCH_CONNECT_TO");
	int rc;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return ps_error_setc(PS_ERROR,
					     "libcurl cannot start");
		inited = 1;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	p->base.ops = &posix_http_ops;
	p->curl = curl_easy_init();
	if (!p->curl) {
		free(p);
		return ps_error_setc(PS_ERROR, "libcurl cannot start");
	}
	if (ca_file && *ca_file) {
		ps_buf b = { 0 };

		size_t mine;

		if ((rc = read_whole(SYSTEM_BUNDLE, &b, 0)) < 0 ||
		    (rc = ps_buf_putc(&b, '\n')) < 0) {
			ps_buf_free(&b);
			http_free(&p->base);
			return rc;
		}
		mine = b.len;
		if ((rc = read_whole(ca_file, &b, 1)) < 0 ||
		    (rc = ps_buf_putc(&b, '\0')) < 0) {
			ps_buf_free(&b);
			http_free(&p->base);
			return rc;
		}
		b.len--;
		/* As the Windows build: a CA file must hold a certificate
		 * (a file of something else would be silently useless). */
		if (!strstr(b.ptr + mine, "-----BEGIN CERTIFICATE-----")) {
			ps_buf_free(&b);
			http_free(&p->base);
			return ps_error_setc(PS_EFORMAT, "%s: no certificate "
					     "(PEM, BEGIN CERTIFICATE) in the "
					     "CA file", ca_file);
		}
		p->bundle_len = b.len;
		p->bundle = ps_buf_detach(&b);
	}
	if (ct && *ct && (rc = parse_connect_to(p, ct)) < 0) {
		http_free(&p->base);
		return rc;
	}
	*out = &p->base;
	return 0;
}
