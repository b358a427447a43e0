/*
 * The xml port's wrapper: the only file that calls ps_xml_ops.
 */
#include "ps_xml.h"

#include <assert.h>

int ps_xml_open(ps_xml *x, const char *data, size_t len, size_t max_len,
		ps_xml_reader **out)
{
	assert(x && (data || !len) && out);
	return x->ops->open(x, data, len, max_len, out);
}

int ps_xml_next(ps_xml *x, ps_xml_reader *r, ps_xml_node *node)
{
	assert(x && r && node);
	return x->ops->next(x, r, node);
}

const char *ps_xml_attr(ps_xml *x, ps_xml_reader *r, const char *local)
{
	assert(x && r && local);
	return x->ops->attr(x, r, local);
}

void ps_xml_close(ps_xml *x, ps_xml_reader *r)
{
	if (x && r)
		x->ops->close(x, r);
}

void ps_xml_free(ps_xml *x)
{
	if (x)
		x->ops->free(x);
}
