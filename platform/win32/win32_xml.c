/*
 * The xml port on Windows: XmlLite's IXmlReader over a copy of the
 * document in an HGLOBAL stream (CreateStreamOnHGlobal).  xmllite.dll is
 * loaded from System32 at the first open (no import library in mingw-w64).
 *
 * Safety, as the libxml2 port (platform/posix/posix_xml.c):
 *   - the size is checked before anything is read;
 *   - the prolog is searched for a DOCTYPE before XmlLite sees a byte, and
 *     refused with the same message and line;
 *   - XmlReaderProperty_DtdProcessing = DtdProcessing_Prohibit (XmlLite
 *     itself refuses any DTD), no XmlResolver (nothing external is ever
 *     opened), MaxEntityExpansion 0, MaxElementDepth as a backstop;
 *   - an entity reference other than the predefined ones is an XmlLite
 *     error (undeclared entity), reported as "line L: entity reference
 *     ... is not allowed";
 *   - elements deeper than MAX_DEPTH (root = 0) are refused here with the
 *     same message as the libxml2 port.
 * XmlLite's own error texts are not available (FormatMessage does not know
 * its HRESULTs), so errors read "line L: not well-formed XML (XmlLite
 * error 0xC00CEExx)" with a short reason for the common ones.
 */
#define COBJMACROS
#include <windows.h>
#include <objbase.h>
#include <ole2.h>
#include <xmllite.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_win32.h"
#include "ps_xml.h"

#define MAX_DEPTH 64
#define DOCTYPE_REFUSED PS_XML_DOCTYPE_REFUSED

struct ps_xml_reader {
	IXmlReader *rd;
	IStream *stream;
	int state;              /* 1 reading, 0 at the end, < 0 failed */
	int seen_root;
	int at_element;         /* the current node is a start tag */
	int open;               /* elements open (XmlLite's own depth of an
	                           end tag differs between versions) */
	char *ns, *local, *text;        /* handed out by the last next */
	char **attrs;           /* attribute copies handed out since next */
	size_t nattrs, cap;
	int err_line;
	char err[256];
	/* the last node Read gave: a reader that gives the same node at the
	 * same place again makes no progress (Wine 8's XmlLite, at the end
	 * of a document cut inside an element, gives white space forever) */
	XmlNodeType last_type;
	UINT last_line, last_pos;
	int have_last;
	/* Reads left: every node a conforming reader gives starts at a
	 * character of its own, so more Reads than the document has bytes
	 * (+ slack) is a reader that stopped moving some other way */
	size_t reads_left;
};

/* ---- strings ------------------------------------------------------------ */

static char *utf8_of(const WCHAR *w, UINT len)
{
	int n = len ? WideCharToMultiByte(CP_UTF8, 0, w, (int)len, NULL, 0,
					  NULL, NULL) : 0;
	char *s;

	if (n < 0)
		n = 0;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	if (n)
		WideCharToMultiByte(CP_UTF8, 0, w, (int)len, s, n, NULL, NULL);
	s[n] = '\0';
	return s;
}

static WCHAR *wide_of(const char *s)
{
	int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1,
				    NULL, 0);
	WCHAR *w;

	if (n <= 0)
		return NULL;
	w = malloc((size_t)n * sizeof(*w));
	if (w)
		MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w,
				    n);
	return w;
}

static void release(ps_xml_reader *r)
{
	size_t i;

	free(r->ns);
	free(r->local);
	free(r->text);
	r->ns = r->local = r->text = NULL;
	for (i = 0; i < r->nattrs; i++)
		free(r->attrs[i]);
	r->nattrs = 0;
}

static int cur_line(ps_xml_reader *r)
{
	UINT line = 0;

	if (FAILED(IXmlReader_GetLineNumber(r->rd, &line)) || !line ||
	    line > INT_MAX)
		return 1;
	return (int)line;
}

static int fail(ps_xml_reader *r, int line, const char *why)
{
	if (why != r->err)
		(void)snprintf(r->err, sizeof(r->err), "%s", why);
	r->err_line = line;
	r->state = PS_EFORMAT;
	r->at_element = 0;
	return ps_error_setc(PS_EFORMAT, "line %d: %s", line, r->err);
}

static int fail_hr(ps_xml_reader *r, HRESULT hr)
{
	const char *why;
	char buf[128];

	switch ((unsigned long)hr) {
	case WC_E_UNDECLAREDENTITY:
		why = "entity reference is not allowed (only &lt; &gt; &amp; "
		      "&quot; &apos; and character references)";
		break;
	case WC_E_DTDPROHIBITED:
		why = DOCTYPE_REFUSED;
		break;
	case MX_E_INPUTEND:
		why = "premature end of the document";
		break;
	case WC_E_ELEMENTMATCH:
		why = "end tag does not match its start tag";
		break;
	default:
		why = NULL;
	}
	if (why)
		(void)snprintf(buf, sizeof(buf), "%s (XmlLite error 0x%08lX)",
			       why, (unsigned long)hr);
	else
		(void)snprintf(buf, sizeof(buf), "not well-formed XML (XmlLite "
			       "error 0x%08lX)", (unsigned long)hr);
	return fail(r, cur_line(r), buf);
}

/* ---- the port ----------------------------------------------------------- */

/* Debian's mingw-w64 has no import library for xmllite.dll: its one entry
 * point is looked up in System32's copy, once. */
static const IID iid_reader = {       /* IID_IXmlReader */
	0x7279FC81, 0x709D, 0x4095,
	{ 0xB6, 0x3D, 0x69, 0xFE, 0x4B, 0x0D, 0x90, 0x30 }
};

typedef HRESULT(WINAPI *create_reader_fn)(REFIID, void **, IMalloc *);

static create_reader_fn create_reader(void)
{
	static create_reader_fn fn;
	HMODULE dll;

	if (fn)
		return fn;
	dll = LoadLibraryExW(L"xmllite.dll", NULL,
			     LOAD_LIBRARY_SEARCH_SYSTEM32);
	if (dll)
		fn = (create_reader_fn)(void (*)(void))GetProcAddress(
			dll, "CreateXmlReader");
	return fn;
}

static void xr_close(ps_xml *x, ps_xml_reader *r);

static int xr_open(ps_xml *x, const char *data, size_t len, size_t max_len,
		   ps_xml_reader **out)
{
	ps_xml_reader *r;
	HGLOBAL mem;
	HRESULT hr;
	int line;

	*out = NULL;
	if (len > max_len || len > (size_t)INT_MAX)
		return ps_error_setc(PS_ELIMIT, "XML document of %zu bytes is "
				     "larger than the limit of %zu bytes",
				     len, max_len);
	r = calloc(1, sizeof(*r));
	if (!r)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	r->state = 1;
	r->reads_left = len + 64;
	line = ps_xml_prolog_doctype(data, len);
	if (line <= 0 && (line = ps_xml_attr_overflow(data, len)) > 0)
		(void)snprintf(r->err, sizeof(r->err), "%s",
			       PS_XML_ATTRS_REFUSED);
	else if (line > 0)
		(void)snprintf(r->err, sizeof(r->err), "%s", DOCTYPE_REFUSED);
	if (line > 0) {
		/* reported by the first next; XmlLite never sees it */
		r->err_line = line;
		r->state = PS_EFORMAT;
		*out = r;
		return 0;
	}
	mem = GlobalAlloc(GMEM_MOVEABLE, len ? len : 1);
	if (!mem) {
		free(r);
		return ps_error_setc(PS_ENOMEM, "out of memory");
	}
	if (len) {
		unsigned char *p = GlobalLock(mem);
		const unsigned char *d = (const unsigned char *)data;
		size_t i;

		memcpy(p, data, len);
		/* UTF-16BE (a BOM, or "<?"): handed over as UTF-16LE, which
		 * every XmlLite reads (Wine's reads no big-endian) */
		if (len >= 2 && ((d[0] == 0xFE && d[1] == 0xFF) ||
				 (len >= 4 && !d[0] && d[1] == '<' && !d[2] &&
				  d[3] == '?')))
			for (i = 0; i + 1 < len; i += 2) {
				p[i] = d[i + 1];
				p[i + 1] = d[i];
			}
		GlobalUnlock(mem);
	}
	hr = CreateStreamOnHGlobal(mem, TRUE, &r->stream);
	if (FAILED(hr)) {
		GlobalFree(mem);
		free(r);
		return ps_error_setc(PS_ENOMEM, "out of memory (stream)");
	}
	{
		ULARGE_INTEGER size;

		size.QuadPart = len;    /* the HGLOBAL may be rounded up */
		(void)IStream_SetSize(r->stream, size);
	}
	hr = create_reader() ? create_reader()(&iid_reader,
					       (void **)&r->rd, NULL)
			     : HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND);
	if (FAILED(hr) ||
	    FAILED(IXmlReader_SetProperty(r->rd,
					  XmlReaderProperty_DtdProcessing,
					  DtdProcessing_Prohibit)) ||
	    FAILED(IXmlReader_SetProperty(r->rd,
					  XmlReaderProperty_XmlResolver, 0)) ||
	    FAILED(IXmlReader_SetProperty(r->rd,
					  XmlReaderProperty_MaxElementDepth,
					  MAX_DEPTH + 2)) ||
	    FAILED(IXmlReader_SetInput(r->rd, (IUnknown *)r->stream))) {
		xr_close(x, r);
		return ps_error_setc(PS_ERROR, "XmlLite cannot start (0x%08lX)",
				     (unsigned long)hr);
	}
	(void)IXmlReader_SetProperty(r->rd, XmlReaderProperty_MaxEntityExpansion,
				     0);
	*out = r;
	return 0;
}

static int whitespace_only(const WCHAR *w, UINT n)
{
	UINT i;

	for (i = 0; i < n; i++)
		if (w[i] != ' ' && w[i] != '\t' && w[i] != '\r' &&
		    w[i] != '\n')
			return 0;
	return 1;
}

/* 1 with *node filled, 0 for a node that is skipped, < 0 on error. */
static int map_node(ps_xml_reader *r, XmlNodeType type, ps_xml_node *node)
{
	const WCHAR *w = NULL;
	UINT n = 0;

	node->depth = r->open;
	switch (type) {
	case XmlNodeType_Element:
		if (r->open > MAX_DEPTH) {
			char why[64];

			(void)snprintf(why, sizeof(why), "elements nested "
				       "deeper than %d levels", MAX_DEPTH);
			return fail(r, cur_line(r), why);
		}
		/* fall through */
	case XmlNodeType_EndElement:
		if (FAILED(IXmlReader_GetNamespaceUri(r->rd, &w, &n)) ||
		    !(r->ns = utf8_of(w, n)) ||
		    FAILED(IXmlReader_GetLocalName(r->rd, &w, &n)) ||
		    !(r->local = utf8_of(w, n)))
			return ps_error_setc(PS_ENOMEM, "out of memory");
		node->ns = r->ns;
		node->local = r->local;
		if (type == XmlNodeType_EndElement) {
			if (r->open > 0)
				r->open--;
			node->depth = r->open;
			node->type = PS_XML_END;
			return 1;
		}
		r->seen_root = 1;
		r->at_element = 1;
		node->type = PS_XML_START;
		node->empty = IXmlReader_IsEmptyElement(r->rd) ? 1 : 0;
		if (!node->empty)
			r->open++;
		return 1;
	case XmlNodeType_Text:
	case XmlNodeType_CDATA:
		if (FAILED(IXmlReader_GetValue(r->rd, &w, &n)))
			return fail(r, cur_line(r), "cannot read text");
		if (!n || whitespace_only(w, n))
			return 0;
		if (!(r->text = utf8_of(w, n)))
			return ps_error_setc(PS_ENOMEM, "out of memory");
		node->type = PS_XML_TEXT;
		node->text = r->text;
		return 1;
	case XmlNodeType_DocumentType:
		return fail(r, cur_line(r), DOCTYPE_REFUSED);
	default:
		return 0;   /* declaration, comment, PI, white space */
	}
}

/* 1 when Read gave the node it gave last time, at the same place, or
 * more nodes than the document has bytes. */
static int no_progress(ps_xml_reader *r, XmlNodeType type)
{
	UINT line = 0, pos = 0;
	int same, known;

	if (!r->reads_left--)
		return 1;
	known = SUCCEEDED(IXmlReader_GetLineNumber(r->rd, &line)) &&
		SUCCEEDED(IXmlReader_GetLinePosition(r->rd, &pos));
	same = known && r->have_last && type == r->last_type &&
	       line == r->last_line && pos == r->last_pos;
	r->last_type = type;
	r->last_line = line;
	r->last_pos = pos;
	r->have_last = known;
	return same;
}

static int xr_next(ps_xml *x, ps_xml_reader *r, ps_xml_node *node)
{
	XmlNodeType type;
	HRESULT hr;
	int rc;

	(void)x;
	release(r);
	r->at_element = 0;
	memset(node, 0, sizeof(*node));
	node->ns = node->local = "";
	if (r->state < 0)
		return ps_error_setc(r->state, "line %d: %s", r->err_line,
				     r->err);
	if (r->state == 0)
		return 0;
	for (;;) {
		hr = IXmlReader_Read(r->rd, &type);
		if (FAILED(hr))
			return fail_hr(r, hr);
		if (hr != S_OK)
			break;
		if (type == XmlNodeType_None)   /* input ended inside */
			return fail(r, cur_line(r), "premature end of the "
				    "document");
		if (no_progress(r, type))
			return fail(r, cur_line(r), "premature end of the "
				    "document (the reader stopped moving)");
		rc = map_node(r, type, node);
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
	const WCHAR *w;
	WCHAR *wl;
	UINT n = 0;
	char *v, **grown;
	HRESULT hr;

	(void)x;
	if (strchr(local, ':') || r->state != 1 || !r->at_element)
		return NULL;
	if (r->nattrs == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;

		grown = realloc(r->attrs, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		r->attrs = grown;
		r->cap = cap;
	}
	wl = wide_of(local);
	if (!wl)
		return NULL;
	hr = IXmlReader_MoveToAttributeByName(r->rd, wl, L"");
	free(wl);
	if (hr != S_OK)
		return NULL;
	v = SUCCEEDED(IXmlReader_GetValue(r->rd, &w, &n)) ? utf8_of(w, n)
							  : NULL;
	(void)IXmlReader_MoveToElement(r->rd);
	if (!v)
		return NULL;
	r->attrs[r->nattrs++] = v;
	return v;
}

static void xr_close(ps_xml *x, ps_xml_reader *r)
{
	(void)x;
	if (!r)
		return;
	release(r);
	free(r->attrs);
	if (r->rd)
		IXmlReader_Release(r->rd);
	if (r->stream)
		IStream_Release(r->stream);
	free(r);
}

static void xr_free(ps_xml *x)
{
	free(x);
}

static const ps_xml_ops win_xml_ops = {
	PS_XML_OPS_VERSION,
	xr_open,
	xr_next,
	xr_attr,
	xr_close,
	xr_free
};

int ps_win32_xml_new(ps_xml **out)
{
	ps_xml *x;

	*out = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return ps_error_setc(PS_ENOMEM, "out of memory");
	x->ops = &win_xml_ops;
	*out = x;
	return 0;
}
