/*
 * The xml port's wrapper: the only file that calls ps_xml_ops.
 */
#include "ps_xml.h"

#include <string.h>

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

/* ---- the prolog check (both xml adapters, ps_xml.h) ----------------------
 * A DOCTYPE can only stand in the prolog, before the root element.  The
 * adapters look for it there before their parser sees the document, so
 * that an internal subset (entity bombs, external entities) is never
 * parsed at all.  The
 * document is read as code units of 1 byte (UTF-8 and other ASCII-based
 * encodings) or 2 bytes (UTF-16, with a BOM or starting with "<?").  A
 * DOCTYPE node that still surfaces (another encoding) is refused by the
 * adapter's next.
 */
typedef struct units {
	const unsigned char *d;
	size_t n;               /* code units */
	int width;              /* 1 or 2 */
	int big_endian;
} units;

static void units_init(units *u, const unsigned char *d, size_t len)
{
	size_t off = 0;

	u->width = 1;
	u->big_endian = 0;
	if (len >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF) {
		off = 3;
	} else if (len >= 2 && ((d[0] == 0xFF && d[1] == 0xFE) ||
				(d[0] == 0xFE && d[1] == 0xFF))) {
		u->width = 2;
		u->big_endian = d[0] == 0xFE;
		off = 2;
	} else if (len >= 4 && d[0] == '<' && !d[1] && d[2] == '?' && !d[3]) {
		u->width = 2;
	} else if (len >= 4 && !d[0] && d[1] == '<' && !d[2] && d[3] == '?') {
		u->width = 2;
		u->big_endian = 1;
	}
	u->d = d + off;
	u->n = (len - off) / (size_t)u->width;
}

static unsigned unit_at(const units *u, size_t i)
{
	const unsigned char *p = u->d + i * (size_t)u->width;

	if (u->width == 1)
		return p[0];
	return u->big_endian ? (unsigned)(p[0] << 8 | p[1]) :
			       (unsigned)(p[1] << 8 | p[0]);
}

static int units_match(const units *u, size_t i, const char *s)
{
	for (; *s; s++, i++)
		if (i >= u->n || unit_at(u, i) != (unsigned char)*s)
			return 0;
	return 1;
}

/* Past the next occurrence of end (counting lines), or u->n. */
static size_t skip_past(const units *u, size_t i, const char *end,
			int *line)
{
	for (; i < u->n; i++) {
		if (units_match(u, i, end))
			return i + strlen(end);
		if (unit_at(u, i) == '\n')
			(*line)++;
	}
	return u->n;
}

int ps_xml_prolog_doctype(const char *data, size_t len)
{
	units u;
	size_t i = 0;
	int line = 1;
	unsigned c;

	if (!len)
		return 0;
	units_init(&u, (const unsigned char *)data, len);
	while (i < u.n) {
		c = unit_at(&u, i);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			line += c == '\n';
			i++;
		} else if (units_match(&u, i, "<?")) {
			i = skip_past(&u, i + 2, "?>", &line);
		} else if (units_match(&u, i, "<!--")) {
			i = skip_past(&u, i + 4, "-->", &line);
		} else {
			return units_match(&u, i, "<!DOCTYPE") ? line : 0;
		}
	}
	return 0;
}

/* ---- the attribute count (both xml adapters, ps_xml.h) ------------------ */

static int is_blank(unsigned c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skip blanks from *i, counting lines. */
static void skip_blanks(const units *u, size_t *i, int *line)
{
	unsigned c;

	while (*i < u->n && is_blank(c = unit_at(u, *i))) {
		*line += c == '\n';
		(*i)++;
	}
}

/* Inside a start tag, just after its '<': the attributes counted up to
 * the tag's end.  Returns 1 when the tag has too many, 0 when it ended
 * (*i past it), -1 when it is not well-formed or cut (the scan stops). */
static int scan_start_tag(const units *u, size_t *i, int *line)
{
	unsigned c, q, count = 0;
	size_t start;

	while (*i < u->n && !is_blank(c = unit_at(u, *i)) && c != '>' &&
	       c != '/' && c != '<')
		(*i)++;
	for (;;) {
		skip_blanks(u, i, line);
		if (*i >= u->n)
			return -1;
		c = unit_at(u, *i);
		if (c == '>' || c == '/') {
			(*i)++;
			return 0;
		}
		start = *i;
		while (*i < u->n && !is_blank(c = unit_at(u, *i)) &&
		       c != '=' && c != '>' && c != '/' && c != '<' &&
		       c != '"' && c != '\'')
			(*i)++;
		if (*i == start)
			return -1;
		if (++count > PS_XML_MAX_ATTRS)
			return 1;
		skip_blanks(u, i, line);
		if (*i >= u->n || unit_at(u, *i) != '=')
			return -1;
		(*i)++;
		skip_blanks(u, i, line);
		if (*i >= u->n)
			return -1;
		q = unit_at(u, *i);
		if (q != '"' && q != '\'')
			return -1;
		for ((*i)++; *i < u->n && (c = unit_at(u, *i)) != q; (*i)++)
			*line += c == '\n';
		if (*i >= u->n)
			return -1;
		(*i)++;
	}
}

int ps_xml_attr_overflow(const char *data, size_t len)
{
	units u;
	size_t i = 0;
	int line = 1, tagline, rc;
	unsigned c;

	if (!len)
		return 0;
	units_init(&u, (const unsigned char *)data, len);
	while (i < u.n) {
		c = unit_at(&u, i);
		if (c != '<') {
			line += c == '\n';
			i++;
		} else if (units_match(&u, i, "<!--")) {
			i = skip_past(&u, i + 4, "-->", &line);
		} else if (units_match(&u, i, "<![CDATA[")) {
			i = skip_past(&u, i + 9, "]]>", &line);
		} else if (units_match(&u, i, "<?")) {
			i = skip_past(&u, i + 2, "?>", &line);
		} else if (units_match(&u, i, "<!") ||
			   units_match(&u, i, "</")) {
			i = skip_past(&u, i + 2, ">", &line);
		} else {
			tagline = line;
			i++;
			rc = scan_start_tag(&u, &i, &line);
			if (rc > 0)
				return tagline;
			if (rc < 0)
				return 0;
		}
	}
	return 0;
}

const char *ps_xml_scan_encoding(const char *data, size_t len)
{
	units u;

	units_init(&u, (const unsigned char *)data, len);
	if (u.width == 1)
		return "UTF-8";
	return u.big_endian ? "UTF-16BE" : "UTF-16LE";
}
