/*
 * POX Autodiscover bodies (MS-OXDSCLI): the request Outlook sends and the
 * response parser.
 *
 * The parser keeps one frame per open element with the element's role.
 * A child is known only when its parent's role expects it, with its local
 * name and namespace: the root Autodiscover in the responseschema/2006
 * namespace; Response in the outlook 2006a namespace (settings) or in the
 * 2006 namespace (the error answer of real servers); below Response every
 * element in Response's namespace.  Anything else is skipped with its
 * whole subtree, so a known name inside an unknown element (WEB's
 * <External><Protocol><ASUrl>...) never counts.  Leaf values are trimmed;
 * an empty value counts as absent; the first occurrence wins.
 */
#include "ps_autodiscover.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ps_buf.h"
#include "ps_error.h"
#include "ps_str.h"

#define MAX_PROTOCOLS 32
#define MAX_DEPTH 64

/* ---- the request ------------------------------------------------------- */

static void put_escaped(ps_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			ps_buf_puts(b, "&amp;");
			break;
		case '<':
			ps_buf_puts(b, "&lt;");
			break;
		case '>':
			ps_buf_puts(b, "&gt;");
			break;
		case '"':
			ps_buf_puts(b, "&quot;");
			break;
		case '\'':
			ps_buf_puts(b, "&apos;");
			break;
		default:
			ps_buf_putc(b, *s);
			break;
		}
	}
}

char *ps_ad_request_body(const char *address, int is_dn)
{
	const char *el = is_dn ? "LegacyDN" : "EMailAddress";
	ps_buf b = PS_BUF_INIT;

	ps_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
		    "<Autodiscover xmlns=\"" PS_AD_NS_REQUEST "\">\r\n"
		    "  <Request>\r\n");
	ps_buf_printf(&b, "    <%s>", el);
	put_escaped(&b, address);
	ps_buf_printf(&b, "</%s>\r\n", el);
	ps_buf_puts(&b, "    <AcceptableResponseSchema>" PS_AD_NS_OUTLOOK
		    "</AcceptableResponseSchema>\r\n"
		    "  </Request>\r\n"
		    "</Autodiscover>\r\n");
	if (ps_buf_check(&b) < 0) {
		ps_buf_free(&b);
		return NULL;
	}
	return ps_buf_detach(&b);
}

/* ---- the parser -------------------------------------------------------- */

enum role {
	R_SKIP,         /* unknown element or inside one */
	R_ROOT,         /* Autodiscover */
	R_RESPONSE,
	R_USER,
	R_ACCOUNT,
	R_ERROR,        /* under Response or Account */
	R_PROTOCOL,
	R_MAILSTORE,
	R_ADDRBOOK,
	R_FIELD         /* a leaf whose text is kept */
};

typedef struct frame {
	int role;
	char **slot;    /* R_FIELD: where the value goes */
} frame;

typedef struct adparse {
	ps_ad_response r;
	char *redirect_addr;
	char *redirect_url;
	size_t proto_cap;
	int resp_ns_outlook;    /* Response in 2006a (1) or 2006 (0) */
	int seen_root;
	int seen_response;
	int seen_error;
	frame stack[MAX_DEPTH + 2];
	int depth;              /* frames in stack */
	ps_buf text;            /* the open R_FIELD's text */
} adparse;

typedef struct field {
	const char *name;
	size_t off;     /* in adparse, or in ps_ad_protocol */
} field;

#define PF(n, m) { n, offsetof(adparse, m) }
#define QF(n, m) { n, offsetof(ps_ad_protocol, m) }

static const field user_fields[] = {
	PF("DisplayName", r.display_name),
	PF("LegacyDN", r.legacy_dn),
	PF("AutoDiscoverSMTPAddress", r.smtp),
	PF("DeploymentId", r.deployment_id),
	{ NULL, 0 }
};

static const field account_fields[] = {
	PF("AccountType", r.account_type),
	PF("Action", r.action),
	PF("RedirectAddr", redirect_addr),
	PF("RedirectUrl", redirect_url),
	PF("RedirectURL", redirect_url),
	PF("MicrosoftOnline", r.microsoft_online),
	{ NULL, 0 }
};

static const field error_fields[] = {
	PF("ErrorCode", r.error_code),
	PF("Message", r.error_message),
	PF("DebugData", r.debug_data),
	{ NULL, 0 }
};

static const field protocol_fields[] = {
	QF("Type", type),
	QF("Server", server),
	QF("ServerDN", server_dn),
	QF("ServerVersion", server_version),
	QF("MdbDN", mdb_dn),
	QF("AuthPackage", auth_package),
	QF("EwsUrl", ews_url),
	QF("OABUrl", oab_url),
	QF("ASUrl", as_url),
	QF("SSL", ssl),
	{ NULL, 0 }
};

static const field mailstore_fields[] = {
	QF("InternalUrl", mailstore_internal),
	QF("ExternalUrl", mailstore_external),
	{ NULL, 0 }
};

static const field addrbook_fields[] = {
	QF("InternalUrl", addressbook_internal),
	QF("ExternalUrl", addressbook_external),
	{ NULL, 0 }
};

/* The slot of a leaf named local in table f over base, or NULL. */
static char **find_slot(const field *f, void *base, const char *local)
{
	for (; f->name; f++)
		if (strcmp(f->name, local) == 0)
			return (char **)(void *)((char *)base + f->off);
	return NULL;
}

static ps_ad_protocol *cur_proto(adparse *p)
{
	return &p->r.protocols[p->r.nprotocols - 1];
}

/* A copy of s trimmed, or NULL (no error) when s is blank. */
static int set_value(char **slot, const char *s)
{
	size_t n;

	if (*slot)
		return 0;                       /* the first one wins */
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
		     s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	if (!n)
		return 0;
	*slot = ps_strndup(s, n);
	return *slot ? 0 : PS_ENOMEM;
}

static int add_protocol(adparse *p, ps_xml *x, ps_xml_reader *rd)
{
	ps_ad_response *r = &p->r;
	const char *a;
	int rc;

	if (r->nprotocols == MAX_PROTOCOLS)
		return ps_error_setc(PS_ELIMIT, "more than %d Protocol blocks "
				     "in the response", MAX_PROTOCOLS);
	if (r->nprotocols == p->proto_cap) {
		size_t cap = p->proto_cap ? p->proto_cap * 2 : 4;
		ps_ad_protocol *v = realloc(r->protocols, cap * sizeof(*v));

		if (!v)
			return ps_error_setc(PS_ENOMEM, "out of memory");
		r->protocols = v;
		p->proto_cap = cap;
	}
	memset(&r->protocols[r->nprotocols], 0, sizeof(ps_ad_protocol));
	r->nprotocols++;
	a = ps_xml_attr(x, rd, "Type");
	if (a && (rc = set_value(&cur_proto(p)->type, a)) < 0)
		return rc;
	a = ps_xml_attr(x, rd, "Version");
	if (a && (rc = set_value(&cur_proto(p)->version, a)) < 0)
		return rc;
	return 0;
}

/* A leaf of table f (over base) or R_SKIP. */
static int leaf(const field *f, void *base, const char *local, frame *fr)
{
	fr->slot = find_slot(f, base, local);
	return fr->slot ? R_FIELD : R_SKIP;
}

static int response_child(const char *local)
{
	if (strcmp(local, "User") == 0)
		return R_USER;
	if (strcmp(local, "Account") == 0)
		return R_ACCOUNT;
	if (strcmp(local, "Error") == 0)
		return R_ERROR;
	return R_SKIP;
}

static int account_child(adparse *p, ps_xml *x, ps_xml_reader *rd,
			 const char *local, frame *fr)
{
	int rc;

	if (strcmp(local, "Protocol") == 0) {
		rc = add_protocol(p, x, rd);
		return rc < 0 ? rc : R_PROTOCOL;
	}
	if (strcmp(local, "Error") == 0)
		return R_ERROR;
	return leaf(account_fields, p, local, fr);
}

static int protocol_child(adparse *p, const char *local, frame *fr)
{
	if (strcmp(local, "MailStore") == 0)
		return R_MAILSTORE;
	if (strcmp(local, "AddressBook") == 0)
		return R_ADDRBOOK;
	return leaf(protocol_fields, cur_proto(p), local, fr);
}

static int in_response_ns(const adparse *p, const char *ns)
{
	return strcmp(ns, p->resp_ns_outlook ? PS_AD_NS_OUTLOOK :
		      PS_AD_NS_RESPONSE) == 0;
}

static int root_child(adparse *p, const ps_xml_node *n)
{
	if (p->seen_response || strcmp(n->local, "Response") != 0)
		return R_SKIP;
	if (strcmp(n->ns, PS_AD_NS_OUTLOOK) == 0)
		p->resp_ns_outlook = 1;
	else if (strcmp(n->ns, PS_AD_NS_RESPONSE) != 0)
		return R_SKIP;
	p->seen_response = 1;
	return R_RESPONSE;
}

/* The role of a child of parent (a role or < 0 on error); fills fr->slot
 * for leaves. */
static int child_role(adparse *p, ps_xml *x, ps_xml_reader *rd,
		      int parent, const ps_xml_node *n, frame *fr)
{
	if (parent == R_ROOT)
		return root_child(p, n);
	if (parent == R_SKIP || parent == R_FIELD ||
	    !in_response_ns(p, n->ns))
		return R_SKIP;
	switch (parent) {
	case R_RESPONSE:
		return response_child(n->local);
	case R_USER:
		return leaf(user_fields, p, n->local, fr);
	case R_ACCOUNT:
		return account_child(p, x, rd, n->local, fr);
	case R_ERROR:
		return leaf(error_fields, p, n->local, fr);
	case R_PROTOCOL:
		return protocol_child(p, n->local, fr);
	case R_MAILSTORE:
		return leaf(mailstore_fields, cur_proto(p), n->local, fr);
	case R_ADDRBOOK:
		return leaf(addrbook_fields, cur_proto(p), n->local, fr);
	default:
		return R_SKIP;
	}
}

static int root_role(const ps_xml_node *n)
{
	if (strcmp(n->local, "Autodiscover") == 0 &&
	    strcmp(n->ns, PS_AD_NS_RESPONSE) == 0)
		return R_ROOT;
	if (!*n->ns)
		return ps_error_setc(PS_EFORMAT, "not an Autodiscover response "
				     "(root element %s)", n->local);
	return ps_error_setc(PS_EFORMAT, "not an Autodiscover response "
			     "(root element {%s}%s)", n->ns, n->local);
}

static int on_end(adparse *p)
{
	frame *fr = &p->stack[--p->depth];
	int rc = 0;

	if (fr->role == R_FIELD) {
		rc = set_value(fr->slot, p->text.ptr ? p->text.ptr : "");
		ps_buf_clear(&p->text);
	}
	return rc;
}

static int on_start(adparse *p, ps_xml *x, ps_xml_reader *rd,
		    const ps_xml_node *n)
{
	frame fr = { R_SKIP, NULL };
	int role;

	if (p->depth >= MAX_DEPTH + 1)
		return ps_error_setc(PS_EFORMAT, "elements nested deeper "
				     "than %d levels", MAX_DEPTH);
	if (p->depth == 0) {
		if (p->seen_root)
			return ps_error_setc(PS_EFORMAT, "more than one root "
					     "element");
		p->seen_root = 1;
		role = root_role(n);
	} else {
		role = child_role(p, x, rd, p->stack[p->depth - 1].role, n,
				  &fr);
	}
	if (role < 0)
		return role;
	if (role == R_ERROR)
		p->seen_error = 1;
	fr.role = role;
	p->stack[p->depth++] = fr;
	if (role == R_FIELD)
		ps_buf_clear(&p->text);
	return n->empty ? on_end(p) : 0;
}

static int on_node(adparse *p, ps_xml *x, ps_xml_reader *rd,
		   const ps_xml_node *n)
{
	switch (n->type) {
	case PS_XML_START:
		return on_start(p, x, rd, n);
	case PS_XML_END:
		return p->depth > 0 ? on_end(p) : 0;
	case PS_XML_TEXT:
		if (p->depth > 0 && p->stack[p->depth - 1].role == R_FIELD)
			return ps_buf_puts(&p->text, n->text);
		return 0;
	default:
		return 0;
	}
}

/* Decide the kind once the whole document was read. */
static int classify(adparse *p)
{
	ps_ad_response *r = &p->r;
	const char *action = r->action ? r->action : "";

	if (!p->seen_response)
		return ps_error_setc(PS_EFORMAT, "no Response element in the "
				     "Autodiscover response");
	if (p->seen_error) {
		r->kind = PS_AD_ERROR;
	} else if (ps_strcasecmp(action, "redirectAddr") == 0) {
		if (!p->redirect_addr)
			return ps_error_setc(PS_EFORMAT, "redirectAddr without "
					     "RedirectAddr");
		r->kind = PS_AD_REDIRECT_ADDR;
	} else if (ps_strcasecmp(action, "redirectUrl") == 0) {
		if (!p->redirect_url)
			return ps_error_setc(PS_EFORMAT, "redirectUrl without "
					     "RedirectUrl");
		r->kind = PS_AD_REDIRECT_URL;
	} else if (ps_strcasecmp(action, "settings") == 0 ||
		   r->nprotocols) {
		r->kind = PS_AD_SETTINGS;
	} else {
		return ps_error_setc(PS_EFORMAT, "no settings, redirect or "
				     "error in the response");
	}
	/* redirect: the one the Action asks for, else whichever came. */
	if (r->kind == PS_AD_REDIRECT_URL ||
	    (r->kind != PS_AD_REDIRECT_ADDR && !p->redirect_addr)) {
		r->redirect = p->redirect_url;
		p->redirect_url = NULL;
	} else {
		r->redirect = p->redirect_addr;
		p->redirect_addr = NULL;
	}
	return 0;
}

int ps_ad_parse(ps_xml *x, const char *body, size_t len,
		ps_ad_response *out)
{
	ps_xml_reader *rd = NULL;
	ps_xml_node n;
	adparse *p;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > PS_AD_MAX_BODY)
		return ps_error_setc(PS_ELIMIT, "Autodiscover response of %zu "
				     "bytes is larger than the limit of %u",
				     len, PS_AD_MAX_BODY);
	p = calloc(1, sizeof(*p));
	if (!p)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	rc = ps_xml_open(x, body, len, PS_AD_MAX_BODY, &rd);
	while (rc >= 0) {
		rc = ps_xml_next(x, rd, &n);
		if (rc <= 0)
			break;
		rc = on_node(p, x, rd, &n);
	}
	ps_xml_close(x, rd);
	if (rc == 0)
		rc = classify(p);
	if (rc == 0)
		*out = p->r;
	else
		ps_ad_response_free(&p->r);
	free(p->redirect_addr);
	free(p->redirect_url);
	ps_buf_free(&p->text);
	free(p);
	return rc;
}

static void protocol_free(ps_ad_protocol *p)
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
		protocol_free(&r->protocols[i]);
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

	if (!r || !type)
		return NULL;
	for (i = 0; i < r->nprotocols; i++)
		if (r->protocols[i].type &&
		    ps_strcasecmp(r->protocols[i].type, type) == 0)
			return &r->protocols[i];
	return NULL;
}
