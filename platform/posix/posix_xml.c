/*
 * The xml port on Linux: libxml2's xmlTextReader over a document in
 * memory, with no network, no DTD and no entity substitution.  A DOCTYPE
 * or an entity reference ends the read with an error before anything of
 * it is used (XXE, entity expansion bombs).
 */
#include <libxml/xmlreader.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_posix.h"
#include "ps_str.h"
#include "ps_xml.h"

#define MAX_DEPTH 64

struct ps_xml_reader {
	xmlTextReaderPtr r;
	char *ns, *local, *text, *attr;
	char err[256];
};

static void on_error(void *arg, const char *msg,
		     xmlParserSeverities severity, xmlTextReaderLocatorPtr loc)
{
	struct ps_xml_reader *x = arg;
	size_t n;

	(void)severity;
	if (x->err[0])
		return;
	snprintf(x->err, sizeof(x->err), "line %d: %s",
		 xmlTextReaderLocatorLineNumber(loc), msg ? msg : "error");
	n = strlen(x->err);
	while (n && (x->err[n - 1] == '\n' || x->err[n - 1] == ' '))
		x->err[--n] = '\0';
}

static void clear_node(struct ps_xml_reader *x)
{
	free(x->ns);
	free(x->local);
	free(x->text);
	free(x->attr);
	x->ns = x->local = x->text = x->attr = NULL;
}

static char *dup_xml(const xmlChar *s)
{
	return ps_strdup(s ? (const char *)s : "");
}

static int x_open(ps_xml *x, const char *data, size_t len, size_t max_len,
		  ps_xml_reader **out)
{
	struct ps_xml_reader *r;

	(void)x;
	if (len > max_len)
		return ps_error_setc(PS_ELIMIT, "XML document of %zu bytes "
				     "is over the limit of %zu", len, max_len);
	if (len > (size_t)INT32_MAX)
		return ps_error_setc(PS_ELIMIT, "XML document too large");
	r = calloc(1, sizeof(*r));
	if (!r)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	r->r = xmlReaderForMemory(data, (int)len, NULL, NULL,
				  XML_PARSE_NONET | XML_PARSE_NOCDATA);
	if (!r->r) {
		free(r);
		return ps_error_setc(PS_EFORMAT, "not an XML document");
	}
	xmlTextReaderSetErrorHandler(r->r, on_error, r);
	*out = r;
	return 0;
}

static int fail(struct ps_xml_reader *r, const char *why)
{
	int line = xmlTextReaderGetParserLineNumber(r->r);

	if (r->err[0])
		return ps_error_setc(PS_EFORMAT, "%s", r->err);
	return ps_error_setc(PS_EFORMAT, "line %d: %s", line, why);
}

static int x_next(ps_xml *x, ps_xml_reader *r, ps_xml_node *node)
{
	(void)x;
	for (;;) {
		int rc = xmlTextReaderRead(r->r), type, depth;

		clear_node(r);
		if (rc == 0)
			return r->err[0] ? fail(r, "") : 0;
		if (rc < 0 || r->err[0])
			return fail(r, "not well-formed");
		type = xmlTextReaderNodeType(r->r);
		depth = xmlTextReaderDepth(r->r);
		if (depth > MAX_DEPTH)
			return fail(r, "elements nested too deeply");
		memset(node, 0, sizeof(*node));
		node->depth = depth;
		switch (type) {
		case XML_READER_TYPE_DOCUMENT_TYPE:
			return fail(r, "a DOCTYPE is not allowed");
		case XML_READER_TYPE_ENTITY_REFERENCE:
		case XML_READER_TYPE_ENTITY:
			return fail(r, "entity references are not allowed");
		case XML_READER_TYPE_ELEMENT:
			node->type = PS_XML_START;
			node->empty = xmlTextReaderIsEmptyElement(r->r) == 1;
			break;
		case XML_READER_TYPE_END_ELEMENT:
			node->type = PS_XML_END;
			break;
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
			node->type = PS_XML_TEXT;
			break;
		default:
			continue;   /* comments, PIs, whitespace */
		}
		if (node->type == PS_XML_TEXT) {
			xmlChar *v = xmlTextReaderValue(r->r);

			r->text = dup_xml(v);
			xmlFree(v);
			if (!r->text)
				return PS_ENOMEM;
			node->text = r->text;
			node->ns = node->local = "";
			return 1;
		}
		r->ns = dup_xml(xmlTextReaderConstNamespaceUri(r->r));
		r->local = dup_xml(xmlTextReaderConstLocalName(r->r));
		if (!r->ns || !r->local)
			return PS_ENOMEM;
		node->ns = r->ns;
		node->local = r->local;
		node->text = "";
		return 1;
	}
}

static const char *x_attr(ps_xml *x, ps_xml_reader *r, const char *local)
{
	xmlChar *v;

	(void)x;
	free(r->attr);
	r->attr = NULL;
	v = xmlTextReaderGetAttribute(r->r, (const xmlChar *)local);
	if (!v)
		return NULL;
	r->attr = ps_strdup((const char *)v);
	xmlFree(v);
	return r->attr;
}

static void x_close(ps_xml *x, ps_xml_reader *r)
{
	(void)x;
	clear_node(r);
	xmlFreeTextReader(r->r);
	free(r);
}

static void x_free(ps_xml *x)
{
	free(x);
}

static const ps_xml_ops posix_xml_ops = {
	PS_XML_OPS_VERSION,
	x_open,
	x_next,
	x_attr,
	x_close,
	x_free,
};

int ps_posix_xml_new(ps_xml **out)
{
	ps_xml *x = calloc(1, sizeof(*x));

	if (!x)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	xmlInitParser();
	x->ops = &posix_xml_ops;
	*out = x;
	return 0;
}
