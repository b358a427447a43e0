/*
 * The xml port: a pull reader over a document in memory.
 *
 * Backends: libxml2's xmlTextReader on Linux (platform/posix/posix_xml.c),
 * XmlLite on Windows.  Both must read with no network access, no DTD
 * (a document with a DOCTYPE is refused), no entity substitution (an
 * entity reference other than the five predefined ones and character
 * references is refused) and a size cap (max_len given to open).
 * The core reaches the port only through core/xml.c.
 */
#ifndef PS_XML_H
#define PS_XML_H

#include <stddef.h>

typedef struct ps_xml ps_xml;
typedef struct ps_xml_reader ps_xml_reader; /* backend-defined */

#define PS_XML_OPS_VERSION 1

enum {
	PS_XML_START = 1,  /* start tag (also for an empty element <a/>,
	                      which then has empty = 1 and no PS_XML_END) */
	PS_XML_END = 2,    /* end tag */
	PS_XML_TEXT = 3    /* text or CDATA content (whitespace-only text
	                      between elements may be skipped) */
};

typedef struct ps_xml_node {
	int type;          /* PS_XML_* */
	int depth;         /* root element = 0 */
	int empty;         /* PS_XML_START of <a/> */
	const char *ns;    /* namespace URI ("" when none); START/END */
	const char *local; /* local name; START/END ("" for TEXT) */
	const char *text;  /* TEXT: the content, UTF-8, entities decoded */
} ps_xml_node;

typedef struct ps_xml_ops {
	int version;
	/* Start reading a UTF-8 (or BOM-marked UTF-16) document.
	 * PS_ELIMIT when len > max_len. */
	int (*open)(ps_xml *x, const char *data, size_t len, size_t max_len,
		    ps_xml_reader **out);
	/* Next node: 1 and *node filled (pointers valid until the next call),
	 * 0 at the end of a well-formed document, or PS_EFORMAT with the
	 * message "line L: reason" (not well-formed, DOCTYPE, entity
	 * reference, depth over 64...). */
	int (*next)(ps_xml *x, ps_xml_reader *r, ps_xml_node *node);
	/* The value of an attribute (no namespace) of the current START
	 * node, or NULL.  Valid until the next call to next. */
	const char *(*attr)(ps_xml *x, ps_xml_reader *r, const char *local);
	void (*close)(ps_xml *x, ps_xml_reader *r);
	void (*free)(ps_xml *x);
} ps_xml_ops;

struct ps_xml {
	const ps_xml_ops *ops;
};

int ps_xml_open(ps_xml *x, const char *data, size_t len, size_t max_len,
		ps_xml_reader **out);
int ps_xml_next(ps_xml *x, ps_xml_reader *r, ps_xml_node *node);
const char *ps_xml_attr(ps_xml *x, ps_xml_reader *r, const char *local);
void ps_xml_close(ps_xml *x, ps_xml_reader *r);
void ps_xml_free(ps_xml *x);

/* For the adapters: the line of a DOCTYPE in the document's prolog
 * (UTF-8, or UTF-16 with a BOM or starting with "<?"), or 0 when there
 * is none.  An adapter refuses such a document with this message before
 * its parser sees a byte. */
#define PS_XML_DOCTYPE_REFUSED "a DOCTYPE is not allowed (no DTD or " \
	"entity declarations are accepted)"
int ps_xml_prolog_doctype(const char *data, size_t len);

/* For the adapters: the line of the first start tag with more than
 * PS_XML_MAX_ATTRS attributes (namespace declarations count), or 0 when
 * there is none.  Read like ps_xml_prolog_doctype; the scan stops, with 0,
 * where the markup stops being well-formed, since the parser stops there
 * too.  An adapter refuses such a document before its parser sees a byte:
 * libxml2 appends each attribute by walking the element's list and checks
 * duplicates pairwise, so one element with 100,000 attributes (1 MiB)
 * took 20 s of CPU.  Autodiscover elements have at most a handful. */
#define PS_XML_MAX_ATTRS 32
#define PS_XML_ATTRS_REFUSED "an element has more than 32 attributes " \
	"(namespace declarations included)"
int ps_xml_attr_overflow(const char *data, size_t len);
/* The encoding ps_xml_prolog_doctype and ps_xml_attr_overflow read the
 * document in: "UTF-16LE", "UTF-16BE" (a BOM, or starting with "<?"),
 * else "UTF-8".  An adapter makes its parser read the document in this
 * one and ignore a declared encoding, so that what was checked is what is
 * parsed (a declared UTF-7 could otherwise hide a DOCTYPE or tags). */
const char *ps_xml_scan_encoding(const char *data, size_t len);

#endif
