/*
 * The mock's HTTP side: libmicrohttpd daemons (a thread pool each, epoll),
 * rule matching, the answers, delays and the request log.
 *
 * A delayed request is not slept on: its connection is suspended and a
 * timer thread resumes it when the delay is over, so that one slow answer
 * does not hold up the other connections of the same worker thread.
 */
#include "fad.h"

#include <arpa/inet.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ps_buf.h"
#include "ps_error.h"

/* How long fad_server_free waits for resumed requests to finish. */
#define FAD_DRAIN_MS 3000

typedef struct fad_req fad_req;

struct fad_listener {
	fad_server *srv;
	int scheme;
	struct MHD_Daemon *daemon;
};

struct fad_server {
	fad_scenario *sc;
	FILE *log;
	pthread_mutex_t log_lock;

	/* Requests wait here until the answers are built. */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	atomic_int gate;            /* 0 closed, 1 open, -1 refuse */

	struct fad_listener listeners[2];
	size_t nlisteners;

	struct MHD_Response *r401, *r401w, *r404, *r413;
	char *type2_b64;            /* the NTLM challenge (type 2), base64 */

	/* Delayed requests: parked sorted by deadline. */
	pthread_mutex_t delay_lock;
	pthread_cond_t delay_cond;  /* the timer thread waits on it */
	pthread_cond_t drain_cond;  /* fad_server_free waits on it */
	fad_req *parked;
	size_t nparked;             /* suspended and not yet answered */
	int stopping;
	int timer_quit;
	int timer_started;
	pthread_t timer;
};

enum { ST_READING, ST_PARKED, ST_ANSWER };

struct fad_req {
	ps_buf body;
	size_t received;            /* may exceed FAD_MAX_BODY */
	int state;
	int counted;                /* counted in nparked */
	const fad_rule *rule;
	int parsed;                 /* email and legacydn looked up */
	char *email;
	char *legacydn;
	struct MHD_Connection *conn;
	struct timespec deadline;
	fad_req *next;
};

/* MHD's own messages are useful while starting (port taken, bad key);
 * afterwards they are about clients and would only add noise. */
static atomic_int mhd_quiet;

static void mhd_logger(void *cls, const char *fmt, va_list ap)
	PS_PRINTF(2, 0);

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (atomic_load(&mhd_quiet))
		return;
	(void)fputs("fakeautodiscover: libmicrohttpd: ", stderr);
	(void)vfprintf(stderr, fmt, ap);
}

static void ts_add_ms(struct timespec *t, unsigned ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void req_free(fad_req *req)
{
	if (!req)
		return;
	ps_buf_free(&req->body);
	free(req->email);
	free(req->legacydn);
	free(req);
}

/* ---- the shape of an NTLM handshake ------------------------------- */

/*
 * RequireAuth = windows cannot check a password (the mock knows no
 * account and no domain controller): it checks that the client answers
 * the challenge with well-formed NTLMSSP messages, in order, on one
 * connection.  A Negotiate token is searched for the NTLMSSP message it
 * carries (raw, as Wine sends it, or inside SPNEGO); Kerberos is not
 * understood.  docs/mock-autodiscover.md.
 */

/* What a connection has been through (socket context). */
typedef struct fad_conn {
	int challenged;             /* got the type-2 challenge */
} fad_conn;

typedef struct ntlm_msg {
	int scheme;                 /* 1 NTLM, 2 Negotiate; 0 other */
	unsigned type;              /* 1, 2 or 3; 0: no NTLMSSP message */
	int well_formed;
	char user[80];              /* type 3: DOMAIN\user, printable */
} ntlm_msg;

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 (padding optional); -1 when malformed or too long. */
static long b64_decode(const char *s, unsigned char *out, size_t max)
{
	unsigned acc = 0, bits = 0;
	size_t n = 0, pad = 0;

	for (; *s && *s != ' ' && *s != '\t'; s++) {
		int v;

		if (*s == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64_value((unsigned char)*s)) < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == max)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return pad > 2 ? -1 : (long)n;
}

static char *b64_encode(const unsigned char *in, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc((len + 2) / 3 * 4 + 1), *o = s;
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < len; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		*o++ = abc[(v >> 18) & 63];
		*o++ = abc[(v >> 12) & 63];
		*o++ = i + 1 < len ? abc[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? abc[v & 63] : '=';
	}
	*o = '\0';
	return s;
}

static unsigned le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static unsigned long le32(const unsigned char *p)
{
	return (unsigned long)le16(p) | (unsigned long)le16(p + 2) << 16;
}

/* A security buffer (length, max, offset) at p inside a message of n
 * bytes: 0 when it points outside. */
static int secbuf_ok(const unsigned char *msg, size_t n, size_t at)
{
	unsigned len = le16(msg + at);
	unsigned long off = le32(msg + at + 4);

	return !len || (off <= n && len <= n - off);
}

/* The printable ASCII of a name field (UTF-16LE when unicode). */
static void field_text(char *out, size_t size, const unsigned char *msg,
		       size_t at, int unicode)
{
	unsigned len = le16(msg + at), i, step = unicode ? 2 : 1;
	const unsigned char *p = msg + le32(msg + at + 4);
	size_t o = strlen(out);

	for (i = 0; i + step <= len && o + 1 < size; i += step) {
		unsigned c = unicode ? le16(p + i) : p[i];

		out[o++] = c >= 0x20 && c < 0x7f && c != '\\' ? (char)c : '?';
	}
	out[o] = '\0';
}

/* Look at an Authorization header: scheme, NTLMSSP type and shape. */
static void ntlm_parse(const char *hdr, ntlm_msg *m)
{
	static const unsigned char sig[8] = "NTLMSSP";
	unsigned char tok[4096];
	const unsigned char *msg = NULL;
	long n;
	size_t len, i;

	memset(m, 0, sizeof(*m));
	if (!hdr)
		return;
	if (!ps_strncasecmp(hdr, "NTLM ", 5)) {
		m->scheme = 1;
		hdr += 5;
	} else if (!ps_strncasecmp(hdr, "Negotiate ", 10)) {
		m->scheme = 2;
		hdr += 10;
	} else {
		return;
	}
	while (*hdr == ' ')
		hdr++;
	n = b64_decode(hdr, tok, sizeof(tok));
	if (n < 12)
		return;
	for (i = 0; i + 12 <= (size_t)n; i++)
		if (!memcmp(tok + i, sig, 8)) {
			msg = tok + i;
			break;
		}
	if (!msg || (m->scheme == 1 && msg != tok))
		return;
	len = (size_t)n - (size_t)(msg - tok);
	m->type = (unsigned)le32(msg + 8);
	if (m->type == 1) {
		/* flags; then domain and workstation buffers, if sent */
		m->well_formed = len >= 16 &&
				 (len < 32 || (secbuf_ok(msg, len, 16) &&
					       secbuf_ok(msg, len, 24)));
	} else if (m->type == 3 && len >= 64) {
		int unicode = (le32(msg + 60) & 1u) != 0;

		/* LM, NT, domain, user, workstation, session key */
		m->well_formed = 1;
		for (i = 12; i < 60; i += 8)
			m->well_formed &= secbuf_ok(msg, len, i);
		m->well_formed &= le16(msg + 20) >= 24 && le16(msg + 36) > 0;
		if (m->well_formed) {
			field_text(m->user, sizeof(m->user), msg, 28,
				   unicode);
			(void)snprintf(m->user + strlen(m->user),
				       sizeof(m->user) - strlen(m->user),
				       "\\");
			field_text(m->user, sizeof(m->user), msg, 36,
				   unicode);
		}
	}
}

/* The type-2 message the mock sends: a fixed challenge, target MOCK. */
static char *make_type2(void)
{
	static const char target[] = "MOCK", host[] = "AUTODISCOVER";
	unsigned char m[256];
	size_t tlen = 2 * (sizeof(target) - 1), hlen, ilen, at = 56, i;
	unsigned long flags = 0x00000001ul | 0x00000004ul | 0x00000200ul |
			      0x00008000ul | 0x00010000ul | 0x00080000ul |
			      0x00800000ul | 0x02000000ul | 0x20000000ul |
			      0x80000000ul;

	hlen = 2 * (sizeof(host) - 1);
	ilen = 4 + tlen + 4 + hlen + 4;
	memset(m, 0, sizeof(m));
	memcpy(m, "NTLMSSP", 8);
	m[8] = 2;
	m[12] = m[14] = (unsigned char)tlen;
	m[16] = (unsigned char)at;
	for (i = 0; i < 4; i++)
		m[20 + i] = (unsigned char)(flags >> (8 * i));
	memcpy(m + 24, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
	m[40] = m[42] = (unsigned char)ilen;
	m[44] = (unsigned char)(at + tlen);
	memcpy(m + 48, "\x06\x01\xb1\x1d\x00\x00\x00\x0f", 8);
	for (i = 0; i < sizeof(target) - 1; i++)
		m[at + 2 * i] = (unsigned char)target[i];
	at += tlen;
	/* MsvAvNbDomainName, MsvAvNbComputerName, MsvAvEOL */
	m[at] = 2;
	m[at + 2] = (unsigned char)tlen;
	for (i = 0; i < sizeof(target) - 1; i++)
		m[at + 4 + 2 * i] = (unsigned char)target[i];
	at += 4 + tlen;
	m[at] = 1;
	m[at + 2] = (unsigned char)hlen;
	for (i = 0; i < sizeof(host) - 1; i++)
		m[at + 4 + 2 * i] = (unsigned char)host[i];
	at += 4 + hlen + 4;
	return b64_encode(m, at);
}

/* ---- the request log ------------------------------------------------ */

/* Host header, lowercase, without the port; NULL when absent. */
static char *request_host(struct MHD_Connection *conn)
{
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_HOST);
	size_t n, i;
	char *s;

	if (!h)
		return NULL;
	if (h[0] == '[') {
		const char *rb = strchr(h, ']');

		n = rb ? (size_t)(rb - h) + 1 : strlen(h);
	} else {
		n = strcspn(h, ":");
	}
	s = ps_strndup(h, n);
	if (s)
		for (i = 0; i < n; i++)
			s[i] = (char)ps_tolower((unsigned char)s[i]);
	return s;
}

/* One "?NAME=VALUE" line per query argument, in request order. */
static enum MHD_Result log_arg(void *cls, enum MHD_ValueKind kind,
			       const char *key, const char *value)
{
	(void)kind;
	(void)ps_buf_printf(cls, "?%s=%s\n", key, value ? value : "");
	return MHD_YES;
}

static void log_request(fad_server *srv, int scheme,
			struct MHD_Connection *conn, const char *method,
			const char *host, const char *url, const fad_req *req)
{
	static const char *const names[] = {
		"Content-Type", "X-MapiHttpCapability", "X-AnchorMailbox"
	};
	ps_buf b = PS_BUF_INIT;
	const char *auth;
	ntlm_msg m;
	size_t i;

	if (!srv->log)
		return;
	(void)ps_buf_printf(&b, "%s %s %s %s\n", method,
			    scheme == FAD_HTTPS ? "https" : "http",
			    host ? host : "-", url);
	(void)MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, log_arg,
					&b);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = MHD_lookup_connection_value(conn,
							    MHD_HEADER_KIND,
							    names[i]);

		if (v)
			(void)ps_buf_printf(&b, "%s: %s\n", names[i], v);
	}
	auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_AUTHORIZATION);
	ntlm_parse(auth, &m);
	if (m.type == 1 || m.type == 3)
		(void)ps_buf_printf(&b, "Authorization: %s NTLMSSP type %u"
				    "%s%s%s\n", m.scheme == 1 ? "NTLM"
				    : "Negotiate", m.type, m.well_formed ?
				    "" : " (malformed)", m.user[0] ?
				    " user " : "", m.user);
	else if (auth)
		(void)ps_buf_puts(&b, "Authorization: (present)\n");
	if (req->received > FAD_MAX_BODY) {
		(void)ps_buf_printf(&b, "(body not kept: %zu bytes, over the "
				    "%u-byte limit)\n", req->received,
				    FAD_MAX_BODY);
	} else if (req->body.len) {
		(void)ps_buf_put(&b, req->body.ptr, req->body.len);
		if (req->body.ptr[req->body.len - 1] != '\n')
			(void)ps_buf_putc(&b, '\n');
	}
	(void)ps_buf_puts(&b, ".\n");
	if (!ps_buf_check(&b)) {
		pthread_mutex_lock(&srv->log_lock);
		(void)fwrite(b.ptr, 1, b.len, srv->log);
		(void)fflush(srv->log);
		pthread_mutex_unlock(&srv->log_lock);
	}
	ps_buf_free(&b);
}

/* ---- matching ------------------------------------------------------- */

static int has_doctype(const char *p, size_t len)
{
	static const char dt[] = "<!DOCTYPE";
	const size_t n = sizeof(dt) - 1;
	const char *end = p + len;

	while ((size_t)(end - p) >= n) {
		const char *lt = memchr(p, '<', (size_t)(end - p) - n + 1);

		if (!lt)
			return 0;
		if (!memcmp(lt, dt, n))
			return 1;
		p = lt + 1;
	}
	return 0;
}

static char *element_text(xmlNode *node)
{
	xmlChar *c = xmlNodeGetContent(node);
	char *s = NULL;

	if (c) {
		s = ps_strdup(ps_trim((char *)c));
		xmlFree(c);
	}
	return s;
}

/* The request's EMailAddress and LegacyDN, namespaces ignored.  A body
 * that is not XML or carries a DOCTYPE has neither. */
static void parse_addresses(fad_req *req)
{
	xmlDoc *doc;
	xmlNode *n;

	if (req->parsed)
		return;
	req->parsed = 1;
	if (!req->body.len || req->received > FAD_MAX_BODY ||
	    has_doctype(req->body.ptr, req->body.len))
		return;
	doc = xmlReadMemory(req->body.ptr, (int)req->body.len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
			    XML_PARSE_NOWARNING);
	if (!doc)
		return;
	if (doc->intSubset || doc->extSubset)
		goto done;
	n = xmlDocGetRootElement(doc);
	while (n) {
		if (n->type == XML_ELEMENT_NODE) {
			const char *name = (const char *)n->name;

			if (!req->email && !strcmp(name, "EMailAddress"))
				req->email = element_text(n);
			else if (!req->legacydn && !strcmp(name, "LegacyDN"))
				req->legacydn = element_text(n);
			if (n->children) {
				n = n->children;
				continue;
			}
		}
		while (n && !n->next)
			n = n->parent;
		if (n && n->type == XML_DOCUMENT_NODE)
			break;
		if (n)
			n = n->next;
	}
done:
	xmlFreeDoc(doc);
}

static int rule_matches(const fad_rule *r, int scheme, const char *method,
			const char *host, const char *url, fad_req *req)
{
	if (r->method && ps_strcasecmp(r->method, method))
		return 0;
	if (r->scheme != FAD_ANY && r->scheme != scheme)
		return 0;
	if (r->host && (!host || strcmp(r->host, host)))
		return 0;
	if (r->path && ps_strcasecmp(r->path, url))
		return 0;
	if (r->email && !strcmp(method, MHD_HTTP_METHOD_GET)) {
		/* Autodiscover v2: the Email query argument */
		const char *e = MHD_lookup_connection_value(
			req->conn, MHD_GET_ARGUMENT_KIND, "Email");

		if (!e || ps_strcasecmp(e, r->email))
			return 0;
	} else if (r->email) {
		if (strcmp(method, MHD_HTTP_METHOD_POST))
			return 0;
		parse_addresses(req);
		if (!(req->email && !ps_strcasecmp(req->email, r->email)) &&
		    !(req->legacydn &&
		      !ps_strcasecmp(req->legacydn, r->email)))
			return 0;
	}
	return 1;
}

static const fad_rule *find_rule(const fad_scenario *sc, int scheme,
				 const char *method, const char *host,
				 const char *url, fad_req *req)
{
	size_t i;

	for (i = 0; i < sc->nrules; i++)
		if (rule_matches(&sc->rules[i], scheme, method, host, url,
				 req))
			return &sc->rules[i];
	return NULL;
}

/* ---- answers -------------------------------------------------------- */

static int auth_ok(const fad_scenario *sc, struct MHD_Connection *conn)
{
	char *pass = NULL, *user;
	size_t i, ulen;
	int ok = 0;

	user = MHD_basic_auth_get_username_password(conn, &pass);
	if (user && pass) {
		ulen = strlen(user);
		for (i = 0; i < sc->credentials.n && !ok; i++) {
			const char *c = sc->credentials.v[i];
			const char *colon = strchr(c, ':');

			ok = (size_t)(colon - c) == ulen &&
			     !memcmp(c, user, ulen) && !strcmp(colon + 1, pass);
		}
	}
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

static ssize_t truncated_body(void *cls, uint64_t pos, char *buf,
			      size_t max)
{
	const fad_rule *r = cls;
	uint64_t left;

	if (pos >= (uint64_t)r->truncate)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	left = (uint64_t)r->truncate - pos;
	if (left < max)
		max = (size_t)left;
	memcpy(buf, r->body + pos, max);
	return (ssize_t)max;
}

static int add_headers(struct MHD_Response *resp, const fad_rule *r)
{
	if (r->content_type &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    r->content_type) != MHD_YES)
		return -1;
	if (r->location &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
				    r->location) != MHD_YES)
		return -1;
	return 0;
}

/* A Truncate answer gets its own response each time: the callback
 * response keeps read state that connections should not share. */
static enum MHD_Result queue_truncated(struct MHD_Connection *conn,
				       const fad_rule *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_callback(r->body_len, 16384,
						 truncated_body, (void *)r,
						 NULL);
	if (!resp)
		return MHD_NO;
	if (add_headers(resp, r) < 0) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * RequireAuth = windows.  No NTLMSSP message: 401 offering Negotiate and
 * NTLM.  A well-formed type 1: 401 with the type-2 challenge in the
 * scheme the client used, and the connection remembers it.  A
 * well-formed type 3 on a connection that got the challenge: through
 * (0).  Anything else: the first 401 again.  -1 with *q: answered here.
 */
static int windows_auth(fad_server *srv, struct MHD_Connection *conn,
			enum MHD_Result *q)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	fad_conn *fc = ci ? (fad_conn *)ci->socket_context : NULL;
	struct MHD_Response *resp;
	ntlm_msg m;
	char hdr[1200];

	ntlm_parse(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_AUTHORIZATION),
		   &m);
	if (m.type == 3 && m.well_formed && fc && fc->challenged) {
		fc->challenged = 0;
		return 0;
	}
	if (m.type == 1 && m.well_formed && fc) {
		fc->challenged = 1;
		(void)snprintf(hdr, sizeof(hdr), "%s %s",
			       m.scheme == 1 ? "NTLM" : "Negotiate",
			       srv->type2_b64);
		resp = MHD_create_response_from_buffer(0, NULL,
						       MHD_RESPMEM_PERSISTENT);
		if (!resp || MHD_add_response_header(
			     resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, hdr) !=
			     MHD_YES) {
			if (resp)
				MHD_destroy_response(resp);
			*q = MHD_NO;
			return -1;
		}
		*q = MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, resp);
		MHD_destroy_response(resp);
		return -1;
	}
	if (fc)
		fc->challenged = 0;
	*q = MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, srv->r401w);
	return -1;
}

static enum MHD_Result answer(fad_server *srv, struct MHD_Connection *conn,
			      const fad_req *req)
{
	const fad_rule *r = req->rule;

	if (r->require_auth == FAD_AUTH_BASIC && !auth_ok(srv->sc, conn))
		return MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED,
					  srv->r401);
	if (r->require_auth == FAD_AUTH_WINDOWS) {
		enum MHD_Result q;

		if (windows_auth(srv, conn, &q) < 0)
			return q;
	}
	if (r->drop)
		return MHD_NO;
	if (r->truncate >= 0)
		return queue_truncated(conn, r);
	return MHD_queue_response(conn, (unsigned)r->status, r->resp);
}

/* ---- delays --------------------------------------------------------- */

/* Suspend the connection until the rule's delay is over (resume it at
 * once when the server is stopping). */
static void park(fad_server *srv, fad_req *req)
{
	fad_req **pp;
	int stopping;

	(void)clock_gettime(CLOCK_MONOTONIC, &req->deadline);
	ts_add_ms(&req->deadline, req->rule->delay_ms);
	/* Suspend before the timer can see it: a resume must come after. */
	MHD_suspend_connection(req->conn);
	pthread_mutex_lock(&srv->delay_lock);
	stopping = srv->stopping;
	req->state = ST_PARKED;
	req->counted = 1;
	srv->nparked++;
	if (!stopping) {
		pp = &srv->parked;
		while (*pp && !ts_before(&req->deadline, &(*pp)->deadline))
			pp = &(*pp)->next;
		req->next = *pp;
		*pp = req;
		pthread_cond_signal(&srv->delay_cond);
	}
	pthread_mutex_unlock(&srv->delay_lock);
	if (stopping)
		MHD_resume_connection(req->conn);
}

/* The request is back (resumed) or gone: it no longer counts. */
static void unpark(fad_server *srv, fad_req *req)
{
	fad_req **pp;

	pthread_mutex_lock(&srv->delay_lock);
	for (pp = &srv->parked; *pp; pp = &(*pp)->next)
		if (*pp == req) {
			*pp = req->next;
			break;
		}
	req->next = NULL;
	if (req->counted) {
		req->counted = 0;
		if (--srv->nparked == 0)
			pthread_cond_broadcast(&srv->drain_cond);
	}
	pthread_mutex_unlock(&srv->delay_lock);
}

static void *timer_main(void *arg)
{
	fad_server *srv = arg;
	struct timespec now;

	pthread_mutex_lock(&srv->delay_lock);
	while (!srv->timer_quit) {
		fad_req *req = srv->parked;
		struct MHD_Connection *conn;

		if (!req) {
			pthread_cond_wait(&srv->delay_cond, &srv->delay_lock);
			continue;
		}
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_before(&now, &req->deadline)) {
			struct timespec until = req->deadline;

			(void)pthread_cond_timedwait(&srv->delay_cond,
						     &srv->delay_lock,
						     &until);
			continue;
		}
		srv->parked = req->next;
		req->next = NULL;
		conn = req->conn;
		/* A suspended connection stays until resumed: conn and req
		 * are still valid once the lock is dropped. */
		pthread_mutex_unlock(&srv->delay_lock);
		MHD_resume_connection(conn);
		pthread_mutex_lock(&srv->delay_lock);
	}
	pthread_mutex_unlock(&srv->delay_lock);
	return NULL;
}

/* ---- libmicrohttpd callbacks ---------------------------------------- */

static int wait_gate(fad_server *srv)
{
	int g = atomic_load(&srv->gate);

	if (g == 0) {
		pthread_mutex_lock(&srv->gate_lock);
		for (;;) {
			g = atomic_load(&srv->gate);
			if (g)
				break;
			pthread_cond_wait(&srv->gate_cond, &srv->gate_lock);
		}
		pthread_mutex_unlock(&srv->gate_lock);
	}
	return g > 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version,
				  const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct fad_listener *l = cls;
	fad_server *srv = l->srv;
	fad_req *req = *req_cls;
	char *host;

	(void)version;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->conn = conn;
		*req_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		/* Keep reading past the limit (answer 413 at the end) so
		 * that the connection stays usable. */
		if (req->received + n <= FAD_MAX_BODY &&
		    ps_buf_put(&req->body, upload_data, n) < 0)
			return MHD_NO;
		req->received += n;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->state == ST_PARKED) {
		unpark(srv, req);
		req->state = ST_ANSWER;
	}
	if (req->state == ST_ANSWER)
		return answer(srv, conn, req);

	if (!wait_gate(srv))
		return MHD_NO;
	host = request_host(conn);
	log_request(srv, l->scheme, conn, method, host, url, req);
	if (req->received > FAD_MAX_BODY) {
		free(host);
		return MHD_queue_response(conn,
					  MHD_HTTP_CONTENT_TOO_LARGE,
					  srv->r413);
	}
	req->rule = find_rule(srv->sc, l->scheme, method, host, url, req);
	free(host);
	if (!req->rule)
		return MHD_queue_response(conn, MHD_HTTP_NOT_FOUND,
					  srv->r404);
	req->state = ST_ANSWER;
	if (req->rule->delay_ms) {
		park(srv, req);
		return MHD_YES;
	}
	return answer(srv, conn, req);
}

static void on_connection(void *cls, struct MHD_Connection *conn,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		*socket_context = calloc(1, sizeof(fad_conn));
	} else {
		free(*socket_context);
		*socket_context = NULL;
	}
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **req_cls, enum MHD_RequestTerminationCode toe)
{
	fad_server *srv = cls;
	fad_req *req = *req_cls;

	(void)conn;
	(void)toe;
	if (!req)
		return;
	if (req->counted)
		unpark(srv, req);
	req_free(req);
	*req_cls = NULL;
}

/* ---- life cycle ----------------------------------------------------- */

int fad_server_new(fad_server **out, fad_scenario *sc, FILE *log)
{
	pthread_condattr_t ca;
	fad_server *srv;
	int rc;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	srv->sc = sc;
	srv->log = log;
	atomic_init(&srv->gate, 0);
	pthread_mutex_init(&srv->log_lock, NULL);
	pthread_mutex_init(&srv->gate_lock, NULL);
	pthread_cond_init(&srv->gate_cond, NULL);
	pthread_mutex_init(&srv->delay_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->delay_cond, &ca);
	pthread_cond_init(&srv->drain_cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = pthread_create(&srv->timer, NULL, timer_main, srv);
	if (rc) {
		fad_server_free(srv);
		return ps_error_set("cannot start the timer thread: %s",
				    strerror(rc));
	}
	srv->timer_started = 1;
	*out = srv;
	return 0;
}

int fad_server_listen(fad_server *srv, int scheme, unsigned port,
		      const char *cert, const char *key, unsigned threads,
		      unsigned *bound)
{
	struct fad_listener *l;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	const char *name = scheme == FAD_HTTPS ? "https" : "http";

	if (srv->nlisteners == 2)
		return ps_error_set("at most two listeners");
	l = &srv->listeners[srv->nlisteners];
	l->srv = srv;
	l->scheme = scheme;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (scheme == FAD_HTTPS)
		l->daemon = MHD_start_daemon(
			flags | MHD_USE_TLS, (uint16_t)port, NULL, NULL,
			on_request, l,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			MHD_OPTION_THREAD_POOL_SIZE, threads,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			MHD_OPTION_HTTPS_MEM_KEY, key,
			MHD_OPTION_HTTPS_MEM_CERT, cert,
			MHD_OPTION_END);
	else
		l->daemon = MHD_start_daemon(
			flags, (uint16_t)port, NULL, NULL, on_request, l,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
			MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			MHD_OPTION_THREAD_POOL_SIZE, threads,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
			MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
			MHD_OPTION_END);
	if (!l->daemon)
		return ps_error_set("cannot serve %s on 127.0.0.1:%u (see "
				    "the message above: port in use%s?)",
				    name, port, scheme == FAD_HTTPS ?
				    ", or a bad --cert/--key" : "");
	srv->nlisteners++;
	info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		return ps_error_set("cannot tell which port the %s listener "
				    "got", name);
	*bound = info->port;
	return 0;
}

static struct MHD_Response *empty_response(void)
{
	return MHD_create_response_from_buffer(0, NULL,
					       MHD_RESPMEM_PERSISTENT);
}

static int build_answers(fad_server *srv)
{
	size_t i;

	srv->r404 = empty_response();
	srv->r413 = empty_response();
	srv->r401 = empty_response();
	srv->r401w = empty_response();
	srv->type2_b64 = make_type2();
	if (!srv->r404 || !srv->r413 || !srv->r401 || !srv->r401w ||
	    !srv->type2_b64 ||
	    MHD_add_response_header(srv->r401,
				    MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				    "Basic realm=\"autodiscover\"") != MHD_YES ||
	    MHD_add_response_header(srv->r401w,
				    MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				    "Negotiate") != MHD_YES ||
	    MHD_add_response_header(srv->r401w,
				    MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				    "NTLM") != MHD_YES)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	for (i = 0; i < srv->sc->nrules; i++) {
		fad_rule *r = &srv->sc->rules[i];

		if (r->truncate >= 0 || r->drop)
			continue;
		r->resp = MHD_create_response_from_buffer(
			r->body_len, r->body, MHD_RESPMEM_PERSISTENT);
		if (!r->resp || add_headers(r->resp, r) < 0)
			return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	return 0;
}

int fad_server_ready(fad_server *srv, int ok)
{
	int rc = 0;

	if (ok)
		rc = build_answers(srv);
	atomic_store(&mhd_quiet, 1);
	pthread_mutex_lock(&srv->gate_lock);
	atomic_store(&srv->gate, ok && !rc ? 1 : -1);
	pthread_cond_broadcast(&srv->gate_cond);
	pthread_mutex_unlock(&srv->gate_lock);
	return rc;
}

/* Resume every delayed request and wait (a while) until each has been
 * answered or closed: MHD_stop_daemon must not meet a suspended one. */
static void drain(fad_server *srv)
{
	fad_req *list, *req, *next;
	struct timespec until;

	pthread_mutex_lock(&srv->delay_lock);
	srv->stopping = 1;
	list = srv->parked;
	srv->parked = NULL;
	pthread_mutex_unlock(&srv->delay_lock);
	for (req = list; req; req = next) {
		/* req may be freed as soon as it is resumed. */
		next = req->next;
		MHD_resume_connection(req->conn);
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &until);
	ts_add_ms(&until, FAD_DRAIN_MS);
	pthread_mutex_lock(&srv->delay_lock);
	while (srv->nparked &&
	       !pthread_cond_timedwait(&srv->drain_cond, &srv->delay_lock,
				       &until))
		;
	pthread_mutex_unlock(&srv->delay_lock);
}

void fad_server_free(fad_server *srv)
{
	size_t i;

	if (!srv)
		return;
	/* Requests still at the gate are turned away. */
	if (atomic_load(&srv->gate) == 0)
		(void)fad_server_ready(srv, 0);
	drain(srv);
	for (i = 0; i < srv->nlisteners; i++)
		MHD_stop_daemon(srv->listeners[i].daemon);
	if (srv->timer_started) {
		pthread_mutex_lock(&srv->delay_lock);
		srv->timer_quit = 1;
		pthread_cond_signal(&srv->delay_cond);
		pthread_mutex_unlock(&srv->delay_lock);
		(void)pthread_join(srv->timer, NULL);
	}
	for (i = 0; i < srv->sc->nrules; i++) {
		if (srv->sc->rules[i].resp)
			MHD_destroy_response(srv->sc->rules[i].resp);
		srv->sc->rules[i].resp = NULL;
	}
	if (srv->r401)
		MHD_destroy_response(srv->r401);
	if (srv->r401w)
		MHD_destroy_response(srv->r401w);
	free(srv->type2_b64);
	if (srv->r404)
		MHD_destroy_response(srv->r404);
	if (srv->r413)
		MHD_destroy_response(srv->r413);
	pthread_cond_destroy(&srv->drain_cond);
	pthread_cond_destroy(&srv->delay_cond);
	pthread_mutex_destroy(&srv->delay_lock);
	pthread_cond_destroy(&srv->gate_cond);
	pthread_mutex_destroy(&srv->gate_lock);
	pthread_mutex_destroy(&srv->log_lock);
	free(srv);
}
