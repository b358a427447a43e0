/*
 * POX Autodiscover bodies (MS-OXDSCLI): the request Outlook sends and the
 * response parser.  Elements are matched by namespace and local name
 * along their path below <Response>; anything else is skipped, subtree
 * and all, so a known name inside an unknown element never counts.
 */
#include "ps_autodiscover.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_error.h"

#define MAX_PROTOCOLS 32
#define MAX_PATH 64

static void escape(ps_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': ps_buf_puts(b, "&amp;"); break;
		case '<': ps_buf_puts(b, "&lt;"); break;
		case '>': ps_buf_puts(b, "&gt;"); break;
		case '"': ps_buf_puts(b, "&quot;"); break;
		case '\'': ps_buf_puts(b, "&apos;"); break;
		default: ps_buf_putc(b, *s); break;
		}
	}
}

char *ps_ad_request_body(const char *address, int is_dn)
{
	ps_buf b = PS_BUF_INIT;
	const char *el = is_dn ? "LegacyDN" : "EMailAddress";

	ps_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
		    "<Autodiscover xmlns=\"" PS_AD_NS_REQUEST "\">\r\n"
		    "  <Request>\r\n    <");
	ps_buf_puts(&b, el);
	ps_buf_putc(&b, '>');
	escape(&b, address);
	ps_buf_printf(&b, "</%s>\r\n", el);
	ps_buf_puts(&b, "    <AcceptableResponseSchema>" PS_AD_NS_OUTLOOK
		    "</AcceptableResponseSchema>\r\n"
		    "  </Request>\r\n</Autodiscover>\r\n");
	if (ps_buf_check(&b) < 0) {
		ps_buf_free(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

/* ---- the parser --------------------------------------------------------- */

typedef struct parser {
	ps_ad_response *out;
	char path[MAX_PATH][48];      /* local names; "" = foreign element */
	int depth;                    /* entries in path */
	ps_buf text;
	ps_ad_protocol *proto;        /* current <Protocol>, or NULL */
	int have_response;
} parser;

static int known_ns(const char *ns)
{
	return !strcmp(ns, PS_AD_NS_OUTLOOK) || !strcmp(ns, PS_AD_NS_RESPONSE);
}

/* Path below Response equals the given names. */
static int at(const parser *p, int n, ...)
{
	va_list ap;
	int i, ok = p->depth == n + 2;

	va_start(ap, n);
	for (i = 0; i < n && ok; i++)
		ok = !strcmp(p->path[i + 2], va_arg(ap, const char *));
	va_end(ap);
	return ok;
}

static int set(char **field, const char *v)
{
	if (*field)
		return 0;     /* the first one wins */
	*field = ps_strdup(v);
	return *field ? 0 : PS_ENOMEM;
}

static char **proto_field(ps_ad_protocol *pr, const parser *p)
{
	static const struct {
		const char *name;
		size_t off;
	} f[] = {
		{ "Type", offsetof(ps_ad_protocol, type) },
		{ "Server", offsetof(ps_ad_protocol, server) },
		{ "ServerDN", offsetof(ps_ad_protocol, server_dn) },
		{ "ServerVersion", offsetof(ps_ad_protocol, server_version) },
		{ "MdbDN", offsetof(ps_ad_protocol, mdb_dn) },
		{ "AuthPackage", offsetof(ps_ad_protocol, auth_package) },
		{ "EwsUrl", offsetof(ps_ad_protocol, ews_url) },
		{ "OABUrl", offsetof(ps_ad_protocol, oab_url) },
		{ "ASUrl", offsetof(ps_ad_protocol, as_url) },
		{ "SSL", offsetof(ps_ad_protocol, ssl) },
	};
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (at(p, 3, "Account", "Protocol", f[i].name))
			return (char **)((char *)pr + f[i].off);
	if (at(p, 4, "Account", "Protocol", "MailStore", "InternalUrl"))
		return &pr->mailstore_internal;
	if (at(p, 4, "Account", "Protocol", "MailStore", "ExternalUrl"))
		return &pr->mailstore_external;
	if (at(p, 4, "Account", "Protocol", "AddressBook", "InternalUrl"))
		return &pr->addressbook_internal;
	if (at(p, 4, "Account", "Protocol", "AddressBook", "ExternalUrl"))
		return &pr->addressbook_external;
	return NULL;
}

static char **field_for(parser *p)
{
	ps_ad_response *r = p->out;

	if (p->depth < 3 || strcmp(p->path[1], "Response"))
		return NULL;
	if (at(p, 2, "User", "DisplayName"))
		return &r->display_name;
	if (at(p, 2, "User", "LegacyDN"))
		return &r->legacy_dn;
	if (at(p, 2, "User", "AutoDiscoverSMTPAddress"))
		return &r->smtp;
	if (at(p, 2, "User", "DeploymentId"))
		return &r->deployment_id;
	if (at(p, 2, "Account", "AccountType"))
		return &r->account_type;
	if (at(p, 2, "Account", "Action"))
		return &r->action;
	if (at(p, 2, "Account", "RedirectAddr") ||
	    at(p, 2, "Account", "RedirectUrl") ||
	    at(p, 2, "Account", "RedirectURL"))
		return &r->redirect;
	if (at(p, 2, "Account", "MicrosoftOnline"))
		return &r->microsoft_online;
	if (at(p, 2, "Error", "ErrorCode") ||
	    at(p, 3, "Account", "Error", "ErrorCode"))
		return &r->error_code;
	if (at(p, 2, "Error", "Message") ||
	    at(p, 3, "Account", "Error", "Message"))
		return &r->error_message;
	if (at(p, 2, "Error", "DebugData") ||
	    at(p, 3, "Account", "Error", "DebugData"))
		return &r->debug_data;
	if (p->proto)
		return proto_field(p->proto, p);
	return NULL;
}

static char *trimmed(ps_buf *b)
{
	char *s = b->ptr ? b->ptr : "";
	size_t n;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
		     s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static int on_start(parser *p, ps_xml *x, ps_xml_reader *rd,
		    const ps_xml_node *n)
{
	ps_ad_response *r = p->out;

	if (p->depth == 0) {
		if (strcmp(n->local, "Autodiscover") ||
		    strcmp(n->ns, PS_AD_NS_RESPONSE))
			return ps_error_setc(PS_EFORMAT, "not an Autodiscover "
				"response (root element %s%s%s)",
				*n->ns ? n->ns : "", *n->ns ? ":" : "",
				n->local);
		strcpy(p->path[p->depth++], "Autodiscover");
		return 0;
	}
	if (p->depth >= MAX_PATH)
		return ps_error_setc(PS_EFORMAT, "elements nested too deeply");
	if (known_ns(n->ns) && *p->path[p->depth - 1] &&
	    strlen(n->local) < sizeof(p->path[0]))
		strcpy(p->path[p->depth], n->local);
	else
		p->path[p->depth][0] = '\0';
	p->depth++;
	ps_buf_clear(&p->text);
	if (p->depth == 2 && !strcmp(p->path[1], "Response"))
		p->have_response = 1;
	if (p->depth == 4 && !strcmp(p->path[1], "Response") &&
	    at(p, 2, "Account", "Protocol")) {
		ps_ad_protocol *v;
		const char *a;

		if (r->nprotocols >= MAX_PROTOCOLS)
			return ps_error_setc(PS_ELIMIT, "more than %d Protocol "
					     "blocks", MAX_PROTOCOLS);
		v = realloc(r->protocols,
			    (r->nprotocols + 1) * sizeof(*v));
		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		r->protocols = v;
		p->proto = &v[r->nprotocols++];
		memset(p->proto, 0, sizeof(*p->proto));
		if ((a = ps_xml_attr(x, rd, "Type")) != NULL &&
		    set(&p->proto->type, a) < 0)
			return PS_ENOMEM;
		if ((a = ps_xml_attr(x, rd, "Version")) != NULL &&
		    set(&p->proto->version, a) < 0)
			return PS_ENOMEM;
	}
	if (p->depth == 3 && !strcmp(p->path[1], "Response") &&
	    (at(p, 1, "Error")))
		r->kind = PS_AD_ERROR;
	if (p->depth == 4 && !strcmp(p->path[1], "Response") &&
	    at(p, 2, "Account", "Error"))
		r->kind = PS_AD_ERROR;
	if (n->empty)
		return PS_XML_END;   /* caller treats as an end */
	return 0;
}

static int on_end(parser *p)
{
	char **f;
	int error = 0;

	if (p->depth > 2 && (f = field_for(p)) != NULL)
		error = set(f, trimmed(&p->text));
	if (p->depth == 4 && at(p, 2, "Account", "Protocol"))
		p->proto = NULL;
	ps_buf_clear(&p->text);
	p->depth--;
	return error;
}

static int classify(ps_ad_response *r)
{
	if (r->kind == PS_AD_ERROR)
		return 0;
	if (r->action && !ps_strcasecmp(r->action, "redirectAddr")) {
		if (!r->redirect || !*r->redirect)
			return ps_error_setc(PS_EFORMAT,
					     "redirectAddr without RedirectAddr");
		r->kind = PS_AD_REDIRECT_ADDR;
		return 0;
	}
	if (r->action && !ps_strcasecmp(r->action, "redirectUrl")) {
		if (!r->redirect || !*r->redirect)
			return ps_error_setc(PS_EFORMAT,
					     "redirectUrl without RedirectUrl");
		r->kind = PS_AD_REDIRECT_URL;
		return 0;
	}
	if ((r->action && !ps_strcasecmp(r->action, "settings")) ||
	    r->nprotocols) {
		r->kind = PS_AD_SETTINGS;
		return 0;
	}
	return ps_error_setc(PS_EFORMAT, "no settings, redirect or error in "
			     "the response");
}

int ps_ad_parse(ps_xml *x, const char *body, size_t len,
		ps_ad_response *out)
{
	parser p;
	ps_xml_reader *rd = NULL;
	ps_xml_node n;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.out = out;
	if (len > PS_AD_MAX_BODY)
		return ps_error_setc(PS_ELIMIT, "answer of %zu bytes is over "
				     "the limit of %u", len, PS_AD_MAX_BODY);
	rc = ps_xml_open(x, body, len, PS_AD_MAX_BODY, &rd);
	while (rc >= 0 && (rc = ps_xml_next(x, rd, &n)) == 1) {
		if (n.type == PS_XML_START) {
			rc = on_start(&p, x, rd, &n);
			if (rc == PS_XML_END)
				rc = on_end(&p);
		} else if (n.type == PS_XML_END) {
			rc = p.depth > 0 ? on_end(&p) : 0;
		} else if (p.depth > 2) {
			rc = ps_buf_puts(&p.text, n.text) < 0 ? PS_ENOMEM : 0;
		}
	}
	ps_xml_close(x, rd);
	ps_buf_free(&p.text);
	if (rc == 0 && !p.have_response)
		rc = ps_error_setc(PS_EFORMAT, "no Response element");
	if (rc == 0)
		rc = classify(out);
	if (rc < 0) {
		ps_ad_response_free(out);
		return rc;
	}
	return 0;
}

static void free_protocol(ps_ad_protocol *p)
{
	free(p->type);
	free(p->version);
	free(p->server);
	free(p->server_dn);
	free(p->server_version);
	free(p->mdb_dn);
	free(p->auth_package);
	free(p->ews_url);
	free(p->oab_url);
	free(p->as_url);
	free(p->ssl);
	free(p->mailstore_internal);
	free(p->mailstore_external);
	free(p->addressbook_internal);
	free(p->addressbook_external);
}

void ps_ad_response_free(ps_ad_response *r)
{
	size_t i;

	if (!r)
		return;
	free(r->display_name);
	free(r->legacy_dn);
	free(r->smtp);
	free(r->deployment_id);
	free(r->account_type);
	free(r->action);
	free(r->redirect);
	free(r->microsoft_online);
	for (i = 0; i < r->nprotocols; i++)
		free_protocol(&r->protocols[i]);
	free(r->protocols);
	free(r->error_code);
	free(r->error_message);
	free(r->debug_data);
	memset(r, 0, sizeof(*r));
}

const ps_ad_protocol *ps_ad_protocol_find(const ps_ad_response *r,
					  const char *type)
{
	size_t i;

	for (i = 0; i < r->nprotocols; i++)
		if (r->protocols[i].type &&
		    !ps_strcasecmp(r->protocols[i].type, type))
			return &r->protocols[i];
	return NULL;
}
