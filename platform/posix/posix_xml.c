/*
 * The xml port on Linux: libxml2's xmlTextReader over a document in
 * memory (the caller keeps the bytes alive until close).
 *
 * Safety: the reader runs with XML_PARSE_NONET (and IGNORE_ENC) only: no
 * entity substitution (NOENT), no DTD loading (DTDLOAD, DTDATTR,
 * DTDVALID), no XML_PARSE_HUGE.  The size is checked, the prolog is
 * searched for a DOCTYPE and every start tag's attributes are counted (at
 * most PS_XML_MAX_ATTRS) before libxml2 sees a byte, so that an internal
 * subset is never parsed and no element costs quadratic time; the
 * document is read in the encoding those checks read it in.  A DOCTYPE
 * node, an entity reference node or an entity declaration that still
 * surfaces is refused, and so are elements deeper
 * than MAX_DEPTH.  Once per process an external entity loader that loads
 * nothing is installed, so that no file:// or other URL is ever opened
 * even if a future option slips through.
 *
 * libxml2 prints nothing: its errors go to a structured handler per
 * reader and become our "line L: reason" message.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlversion.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_posix.h"
#include "ps_xml.h"

#define MAX_DEPTH 64
/* IGNORE_ENC: the document is read in the encoding the checks below read
 * it in (ps_xml_scan_encoding), never in one it declares. */
#define READ_OPTIONS (XML_PARSE_NONET | XML_PARSE_IGNORE_ENC)
#define DOCTYPE_REFUSED PS_XML_DOCTYPE_REFUSED

#if LIBXML_VERSION >= 21200
typedef const xmlError *ps_xml_errp;
#else
typedef xmlErrorPtr ps_xml_errp;
#endif

struct ps_xml_reader {
	xmlTextReaderPtr tr;
	int state;              /* 1 reading, 0 at the end, < 0 failed */
	int seen_root;
	xmlChar *text;          /* TEXT value handed out last */
	xmlChar **attrs;        /* attribute copies handed out since next */
	size_t nattrs;
	size_t cap;
	int err_line;           /* first libxml2 error */
	char err[256];
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Every external entity, DTD or XInclude is refused. */
static xmlParserInputPtr no_loader(const char *url, const char *id,
				   xmlParserCtxtPtr ctxt)
{
	(void)url;
	(void)id;
	(void)ctxt;
	return NULL;
}

static void init_libxml2(void)
{
	xmlInitParser();
	xmlSetExternalEntityLoader(no_loader);
}

/* libxml2's structured error callback: keep the first error. */
static void on_error(void *arg, ps_xml_errp e)
{
	ps_xml_reader *r = arg;
	size_t n;

	if (!e || e->level < XML_ERR_ERROR || r->err[0])
		return;
	(void)snprintf(r->err, sizeof(r->err), "%s",
		       e->message ? e->message : "not well-formed XML");
	n = strlen(r->err);
	while (n && (r->err[n - 1] == '\n' || r->err[n - 1] == ' ' ||
		     r->err[n - 1] == '\r'))
		r->err[--n] = '\0';
	if (!n)
		(void)snprintf(r->err, sizeof(r->err), "not well-formed XML");
	r->err_line = e->line;
}

/* Forget the strings handed out by the previous call. */
static void release(ps_xml_reader *r)
{
	size_t i;

	xmlFree(r->text);
	r->text = NULL;
	for (i = 0; i < r->nattrs; i++)
		xmlFree(r->attrs[i]);
	r->nattrs = 0;
}

/* The line of the current node, else where the parser is. */
static int cur_line(ps_xml_reader *r)
{
	xmlNodePtr n = xmlTextReaderCurrentNode(r->tr);
	long line = n ? xmlGetLineNo(n) : -1;

	if (line <= 0 || line > INT_MAX)
		line = xmlTextReaderGetParserLineNumber(r->tr);
	return line > 0 ? (int)line : 1;
}

/* Stop reading for good with "line L: why". */
static int fail(ps_xml_reader *r, int line, const char *why)
{
	if (why != r->err)
		(void)snprintf(r->err, sizeof(r->err), "%s", why);
	r->err_line = line;
	r->state = PS_EFORMAT;
	return ps_error_setc(PS_EFORMAT, "line %d: %s", line, r->err);
}

/* ---- the port ---------------------------------------------------------- */

static int xr_open(ps_xml *x, const char *data, size_t len, size_t max_len,
		   ps_xml_reader **out)
{
	ps_xml_reader *r;
	int line;

	(void)x;
	*out = NULL;
	if (len > max_len || len > (size_t)INT_MAX)
		return ps_error_setc(PS_ELIMIT, "XML document of %zu bytes is "
				     "larger than the limit of %zu bytes",
				     len, max_len);
	(void)pthread_once(&init_once, init_libxml2);
	r = calloc(1, sizeof(*r));
	if (!r)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	r->state = 1;
	r->tr = xmlReaderForMemory(len ? data : "", (int)len, NULL,
				   ps_xml_scan_encoding(data, len),
				   READ_OPTIONS);
	if (!r->tr) {
		free(r);
		return ps_error_setc(PS_ENOMEM, "out of memory (XML reader)");
	}
	xmlTextReaderSetStructuredErrorHandler(r->tr, on_error, r);
	line = ps_xml_prolog_doctype(data, len);
	if (line > 0) {
		/* The first call to next reports it; nothing is parsed. */
		(void)snprintf(r->err, sizeof(r->err), "%s", DOCTYPE_REFUSED);
		r->err_line = line;
		r->state = PS_EFORMAT;
	} else if ((line = ps_xml_attr_overflow(data, len)) > 0) {
		/* The same: libxml2 would take quadratic time over it. */
		(void)snprintf(r->err, sizeof(r->err), "%s",
			       PS_XML_ATTRS_REFUSED);
		r->err_line = line;
		r->state = PS_EFORMAT;
	}
	*out = r;
	return 0;
}

static const char *cstr(const xmlChar *s)
{
	return s ? (const char *)s : "";
}

static int on_element(ps_xml_reader *r, int depth, ps_xml_node *node)
{
	if (depth > MAX_DEPTH) {
		char why[64];

		(void)snprintf(why, sizeof(why), "elements nested deeper "
			       "than %d levels", MAX_DEPTH);
		return fail(r, cur_line(r), why);
	}
	r->seen_root = 1;
	node->type = PS_XML_START;
	node->empty = xmlTextReaderIsEmptyElement(r->tr) == 1;
	return 1;
}

static int on_text(ps_xml_reader *r, ps_xml_node *node)
{
	const xmlChar *p;

	r->text = xmlTextReaderValue(r->tr);
	if (!r->text)
		return 0;               /* an empty CDATA section */
	for (p = r->text; *p; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			break;
	if (!*p) {
		release(r);
		return 0;               /* white space only: skipped */
	}
	node->type = PS_XML_TEXT;
	node->local = "";
	node->text = (const char *)r->text;
	return 1;
}

static int on_entity(ps_xml_reader *r)
{
	char why[128];

	(void)snprintf(why, sizeof(why), "entity reference &%s; is not "
		       "allowed (only &lt; &gt; &amp; &quot; &apos; and "
		       "character references)",
		       cstr(xmlTextReaderConstName(r->tr)));
	return fail(r, cur_line(r), why);
}

/* 1 with *node filled, 0 for a node that is skipped, < 0 on error. */
static int map_node(ps_xml_reader *r, ps_xml_node *node)
{
	int type = xmlTextReaderNodeType(r->tr);
	int depth = xmlTextReaderDepth(r->tr);

	node->depth = depth < 0 ? 0 : depth;
	node->ns = cstr(xmlTextReaderConstNamespaceUri(r->tr));
	node->local = cstr(xmlTextReaderConstLocalName(r->tr));
	switch (type) {
	case XML_READER_TYPE_ELEMENT:
		return on_element(r, depth, node);
	case XML_READER_TYPE_END_ELEMENT:
		node->type = PS_XML_END;
		return 1;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
		node->ns = "";
		return on_text(r, node);
	case XML_READER_TYPE_DOCUMENT_TYPE:
		return fail(r, cur_line(r), DOCTYPE_REFUSED);
	case XML_READER_TYPE_ENTITY_REFERENCE:
		return on_entity(r);
	case XML_READER_TYPE_ENTITY:
	case XML_READER_TYPE_END_ENTITY:
	case XML_READER_TYPE_NOTATION:
		return fail(r, cur_line(r), "entity and notation "
			    "declarations are not allowed");
	default:
		return 0;   /* comment, PI, white space, XML declaration */
	}
}

static int xr_next(ps_xml *x, ps_xml_reader *r, ps_xml_node *node)
{
	int rc;

	(void)x;
	release(r);
	memset(node, 0, sizeof(*node));
	node->ns = node->local = "";
	if (r->state < 0)
		return ps_error_setc(r->state, "line %d: %s", r->err_line,
				     r->err);
	if (r->state == 0)
		return 0;
	for (;;) {
		rc = xmlTextReaderRead(r->tr);
		if (r->err[0])
			return fail(r, r->err_line > 0 ? r->err_line : 1,
				    r->err);
		if (rc < 0)
			return fail(r, cur_line(r), "not well-formed XML");
		if (rc == 0)
			break;
		rc = map_node(r, node);
		if (rc != 0)
			return rc;
	}
	if (!r->seen_root)
		return fail(r, cur_line(r), "no root element (empty "
			    "document?)");
	r->state = 0;
	return 0;
}

static const char *xr_attr(ps_xml *x, ps_xml_reader *r, const char *local)
{
	xmlChar *v, **grown;

	(void)x;
	if (strchr(local, ':') || r->state != 1 ||
	    xmlTextReaderNodeType(r->tr) != XML_READER_TYPE_ELEMENT)
		return NULL;
	if (r->nattrs == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;

		grown = realloc(r->attrs, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		r->attrs = grown;
		r->cap = cap;
	}
	v = xmlTextReaderGetAttribute(r->tr, (const xmlChar *)local);
	if (!v)
		return NULL;
	r->attrs[r->nattrs++] = v;
	return (const char *)v;
}

static void xr_close(ps_xml *x, ps_xml_reader *r)
{
	(void)x;
	if (!r)
		return;
	release(r);
	free(r->attrs);
	xmlFreeTextReader(r->tr);
	free(r);
}

static void xr_free(ps_xml *x)
{
	free(x);
}

static const ps_xml_ops posix_xml_ops = {
	PS_XML_OPS_VERSION,
	xr_open,
	xr_next,
	xr_attr,
	xr_close,
	xr_free
};

int ps_posix_xml_new(ps_xml **out)
{
	ps_xml *x;

	*out = NULL;
	(void)pthread_once(&init_once, init_libxml2);
	x = calloc(1, sizeof(*x));
	if (!x)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	x->ops = &posix_xml_ops;
	*out = x;
	return 0;
}
