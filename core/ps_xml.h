/*
 * The xml port (placeholder): a pull reader (libxml2's xmlTextReader on
 * Linux, XmlLite on Windows) with no network, no DTD, no entities.  It
 * arrives with the Autodiscover issue.
 */
#ifndef PS_XML_H
#define PS_XML_H

typedef struct ps_xml ps_xml;

#define PS_XML_OPS_VERSION 0

typedef struct ps_xml_ops {
	int version;
} ps_xml_ops;

struct ps_xml {
	const ps_xml_ops *ops;
};

#endif
