/*
 * Reading, writing and comparing `.reg` files (see ps_reg.h).
 *
 * Encodings.  A file that starts with FF FE is UTF-16LE (PS_REGENC_UTF16,
 * what `reg export` and regedit write); one that starts with EF BB BF is
 * UTF-8 (PS_REGENC_UTF8, e.g. an export re-saved by an editor).  Without
 * a BOM, a REGEDIT4 file is Windows-1252 (PS_REGENC_ANSI, regedit's
 * "Win9x/NT4" format); a version 5 file is UTF-8 (PS_REGENC_UTF8_NOBOM)
 * when all of it is valid UTF-8, else Windows-1252 (PS_REGENC_ANSI5, a
 * version 5 export saved as "ANSI" by Notepad).  Line ends may be CRLF or
 * LF.  The first line must be the header, "Windows Registry Editor
 * Version 5.00" or "REGEDIT4".  The header, not the encoding, decides what
 * hex(1), hex(2) and hex(7) bytes mean: raw UTF-16LE under the version 5
 * header, 8-bit text in the file's encoding under REGEDIT4 (converted to
 * UTF-16LE when read, as regedit does).  Writing uses the tree's
 * encoding, so a file keeps its header and encoding: ANSI with REGEDIT4,
 * every other kind with the version 5 header.  (A REGEDIT4 header in a
 * file with a BOM, which regedit never writes, is read, and written back
 * with the version 5 header: the same values, in its encoding.)  A
 * Windows 9x registry file (CREG, the binary SYSTEM.DAT and USER.DAT of
 * Windows 95 to Me) is refused by name, not read as text.
 *
 * Reading is strict where a cut or damaged file could otherwise load as
 * a smaller registry: every line must be a key line, a value line, a
 * ';' comment or blank; the file must end with a line end (after a key
 * or value line), so a file cut in the middle of a line is refused; a
 * file that ends inside a continued hex value is refused.  It is lenient
 * where regedit is: LF line ends, blank and ';' lines inside a continued
 * hex value, spaces around '=' and hex bytes, one- or two-digit hex
 * bytes, 1 to 8 digits after dword:, a ';' comment after a value, a
 * repeated value (the last one wins), [-key] and "v"=- for what is not
 * there (ignored).  A cut that falls exactly on a line end and outside a
 * continuation cannot be told from a complete file.
 *
 * Limits (PS_ELIMIT, "FILE:LINE: ..."): one value's data at most
 * PS_REG_MAX_DATA bytes (16 MiB, counted as stored, i.e. UTF-16LE for
 * strings); a key path at most PS_REG_MAX_PATH characters and
 * PS_REG_MAX_DEPTH key names.  The file size is the caller's business.
 *
 * Hex wrapping, as regedit and reg.exe write it (and as the expected
 * outputs of Wine's reg.exe conformance tests, which pass on Windows,
 * show): count the characters of the line so far, starting with the
 * escaped `"name"=` (or `@=`) and `hex:` / `hex(N):`.  After each byte
 * that is not the last, write `xx,` and add 3; when the count reaches 77
 * or more, end the line with `\` and start the next with two spaces
 * (count 2).  The last byte is written without a comma and never
 * followed by `\`.  So the first line of a value named "01023d0e" holds
 * 21 bytes (15 + 63 = 78 characters before the backslash), and each
 * continuation line 25 bytes (77 characters).  Characters are counted as
 * UTF-16 code units, whatever the file's encoding.
 */
#include "ps_reg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ps_error.h"
#include "../core/ps_str.h"
#include "../core/ps_utf.h"

#define HDR5 "Windows Registry Editor Version 5.00"
#define HDR4 "REGEDIT4"
#define WRAP_COLUMN 77
#define MAX_DIFFS 20

/* winnt.h REG_* types the reader and writer treat specially */
enum {
	REG_SZ_ = 1,
	REG_EXPAND_SZ_ = 2,
	REG_BINARY_ = 3,
	REG_DWORD_ = 4,
	REG_MULTI_SZ_ = 7
};

static const char *const hives[] = {
	"HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER", "HKEY_CLASSES_ROOT",
	"HKEY_USERS", "HKEY_CURRENT_CONFIG"
};

/* ------------------------------------------------------------------ */
/* Reading                                                             */

struct parser {
	const char *file;
	const uint8_t *data;   /* the text after any BOM */
	size_t len, pos;
	int enc;               /* PS_REGENC_* of the bytes */
	unsigned line;         /* 1-based number of the current line */
	int eol;               /* the current line ended with a line feed */
	ps_buf text;           /* the current line in UTF-8, no line end */
	ps_regtree tree;
	int v4;                /* REGEDIT4 header */
	ps_regkey *cur;        /* key of the last [key] line, or NULL */
	int deleted;           /* cur is NULL because of a [-key] line */
	int cont;              /* a hex value continues on the next line */
	unsigned vline;        /* line where that value started */
	char *vname;           /* its name */
	uint32_t vtype;        /* its type */
	ps_buf vdata;          /* its bytes so far */
	ps_buf tmp;
};

static int perr(const struct parser *p, int code, const char *fmt, ...)
	PS_PRINTF(3, 4);

static int perr(const struct parser *p, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ps_error_setc(code, "%s:%u: %s", p->file, p->line, msg);
}

/* Reads the next line into p->text.  1 when there was one, 0 at the end
 * of the data, < 0 on error. */
static int next_line(struct parser *p)
{
	const uint8_t *s = p->data + p->pos;
	size_t rest = p->len - p->pos, n, i;
	int rc;

	if (!rest)
		return 0;
	p->line++;
	ps_buf_clear(&p->text);
	if (p->enc == PS_REGENC_UTF16) {
		for (n = 0; n < rest; n += 2)
			if (s[n] == '\n' && !s[n + 1])
				break;
		p->eol = n < rest;
		p->pos += p->eol ? n + 2 : n;
		if (n >= 2 && s[n - 2] == '\r' && !s[n - 1])
			n -= 2;
		for (i = 0; i < n; i += 2)
			if (!s[i] && !s[i + 1])
				return perr(p, PS_EFORMAT, "NUL character");
		rc = ps_utf16le_to_utf8(&p->text, s, n);
		if (rc == PS_EFORMAT)
			return perr(p, rc, "invalid UTF-16 text (%s)",
				    ps_error_last());
		return rc < 0 ? rc : 1;
	}
	for (n = 0; n < rest && s[n] != '\n'; n++)
		;
	p->eol = n < rest;
	p->pos += p->eol ? n + 1 : n;
	if (n && s[n - 1] == '\r')
		n--;
	if (memchr(s, 0, n))
		return perr(p, PS_EFORMAT, "NUL character");
	if (p->enc == PS_REGENC_UTF8) {
		if (!ps_utf8_valid((const char *)s, n))
			return perr(p, PS_EFORMAT, "invalid UTF-8 text");
		rc = ps_buf_put(&p->text, s, n);
	} else {
		rc = ps_cp1252_to_utf8(&p->text, s, n);
	}
	if (!rc)
		rc = ps_buf_put(&p->text, "", 0);
	return rc < 0 ? rc : 1;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* True when only blanks and perhaps a ';' comment are left. */
static int at_end(const char *s)
{
	s = skip_ws(s);
	return !*s || *s == ';';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses up to max hex digits (at least one) into *v; NULL on failure,
 * else the text after them. */
static const char *hex_number(const char *s, int max, uint32_t *v)
{
	int n;

	*v = 0;
	for (n = 0; n < max && hexval((unsigned char)s[n]) >= 0; n++)
		*v = *v << 4 | (uint32_t)hexval((unsigned char)s[n]);
	if (!n || hexval((unsigned char)s[n]) >= 0)
		return NULL;
	return s + n;
}

/* *sp points at an opening quote: unescapes up to the closing quote into
 * out and leaves *sp after it. */
static int quoted(struct parser *p, const char **sp, ps_buf *out,
		  const char *what)
{
	const char *s = *sp + 1;

	ps_buf_clear(out);
	for (;;) {
		if (!*s)
			return perr(p, PS_EFORMAT, "unterminated %s "
				    "(no closing \")", what);
		if (*s == '"')
			break;
		if (*s == '\\') {
			s++;
			if (*s != '\\' && *s != '"') {
				if (!*s)
					continue;
				return perr(p, PS_EFORMAT,
					    "unknown escape \\%c in %s "
					    "(write \\\\ for a backslash)",
					    *s, what);
			}
		}
		ps_buf_putc(out, *s);
		s++;
	}
	if (ps_buf_put(out, "", 0) < 0)
		return PS_ENOMEM;
	*sp = s + 1;
	return 0;
}

static int is_hive(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(hives) / sizeof(hives[0]); i++)
		if (strlen(hives[i]) == n && !ps_strncasecmp(hives[i], s, n))
			return 1;
	return 0;
}

/* Checks a full key path from a key line. */
static int check_key_path(struct parser *p, const char *path, size_t len)
{
	size_t i, start = 0, depth = 0, chars = 0;

	if (!len)
		return perr(p, PS_EFORMAT, "empty key path");
	for (i = 0; i <= len; i++) {
		if (i < len && path[i] != '\\') {
			if (((unsigned char)path[i] & 0xC0) != 0x80)
				chars++;
			continue;
		}
		if (i == start)
			return perr(p, PS_EFORMAT, "empty key name in the "
				    "path (doubled or trailing backslash)");
		if (!depth && !is_hive(path, i))
			return perr(p, PS_EFORMAT, "unknown root key \"%.*s\" "
				    "(expected HKEY_CURRENT_USER or another "
				    "full HKEY_ name)", (int)i, path);
		depth++;
		start = i + 1;
	}
	chars += depth - 1;
	if (depth > PS_REG_MAX_DEPTH)
		return perr(p, PS_ELIMIT, "key path deeper than %d keys",
			    PS_REG_MAX_DEPTH);
	if (chars > PS_REG_MAX_PATH)
		return perr(p, PS_ELIMIT, "key path longer than %d characters",
			    PS_REG_MAX_PATH);
	return 0;
}

/*
 * Finds or creates the key of a [key] line.  A key the file brings in is
 * placed after its existing siblings, so that subkeys keep the order they
 * were read in (ps_regkey_create would sort them).  Keys above it that
 * did not exist are implied, as ps_regkey_create makes them.
 */
static int create_in_file_order(struct parser *p, char *path,
				ps_regkey **out)
{
	ps_regkey *k = p->tree.root, *next = NULL;
	char *name = path, *sep;
	int rc, last;

	for (;;) {
		sep = strchr(name, '\\');
		last = !sep;
		if (sep)
			*sep = '\0';
		/* (an empty name stays at k, as ps_regkey_find("") did) */
		next = *name ? ps_regkey_child(k, name) : k;
		if (!next) {
			rc = ps_regkey_create_last(k, name, &next);
			if (rc == PS_EFORMAT || rc == PS_ELIMIT)
				return perr(p, rc, "%s", ps_error_last());
			if (rc < 0)
				return rc;
		}
		if (sep)
			*sep = '\\';
		k = next;
		if (last)
			break;
		name = sep + 1;
	}
	k->implied = 0;
	*out = k;
	return 0;
}

static int key_line(struct parser *p, const char *s)
{
	const char *end = strrchr(s, ']');
	ps_regkey *k = NULL;
	char *path = NULL;
	int del = s[1] == '-';
	int rc;

	if (!end)
		return perr(p, PS_EFORMAT, "unterminated key line (no ])");
	if (!at_end(end + 1))
		return perr(p, PS_EFORMAT, "unexpected text after ]");
	s += 1 + del;
	rc = check_key_path(p, s, (size_t)(end - s));
	if (rc < 0)
		return rc;
	path = ps_strndup(s, (size_t)(end - s));
	if (!path)
		return PS_ENOMEM;
	p->cur = NULL;
	p->deleted = del;
	if (del) {
		k = ps_regkey_find(p->tree.root, path);
		if (k)
			rc = ps_regkey_delete(k->parent, k->name);
		goto done;
	}
	rc = create_in_file_order(p, path, &k);
	if (!rc)
		p->cur = k;
done:
	free(path);
	return rc;
}

static int check_size(struct parser *p, size_t len)
{
	if (len > PS_REG_MAX_DATA)
		return perr(p, PS_ELIMIT, "value \"%s\" has more than %u "
			    "bytes of data", p->vname ? p->vname : "",
			    PS_REG_MAX_DATA);
	return 0;
}

/* Stores the pending value, converting REGEDIT4 text types. */
static int finish_value(struct parser *p)
{
	const uint8_t *data = (const uint8_t *)p->vdata.ptr;
	size_t len = p->vdata.len;
	int rc;

	p->cont = 0;
	if (p->v4 && (p->vtype == REG_SZ_ || p->vtype == REG_EXPAND_SZ_ ||
		      p->vtype == REG_MULTI_SZ_)) {
		ps_buf utf8 = PS_BUF_INIT;

		ps_buf_clear(&p->tmp);
		if (p->enc == PS_REGENC_UTF8) {
			rc = ps_utf8_to_utf16le(&p->tmp, (const char *)data,
						len);
		} else {
			rc = ps_cp1252_to_utf8(&utf8, data, len);
			if (!rc)
				rc = ps_utf8_to_utf16le(&p->tmp, utf8.ptr,
							utf8.len);
		}
		ps_buf_free(&utf8);
		if (rc == PS_EFORMAT)
			return perr(p, rc, "value \"%s\": hex(%x) text is "
				    "not valid UTF-8", p->vname,
				    (unsigned)p->vtype);
		if (rc < 0)
			return rc;
		data = (const uint8_t *)p->tmp.ptr;
		len = p->tmp.len;
	}
	rc = check_size(p, len);
	if (rc < 0)
		return rc;
	rc = ps_regkey_set(p->cur, p->vname, p->vtype, data, len);
	free(p->vname);
	p->vname = NULL;
	return rc;
}

/* Hex bytes "xx,xx,..." up to the end of the line; a trailing "\" after
 * a comma (or right after the type) continues on the next line. */
static int hex_bytes(struct parser *p, const char *s)
{
	uint32_t v;
	const char *e;
	uint8_t b;

	for (;;) {
		s = skip_ws(s);
		if (!*s || *s == ';')
			return finish_value(p);
		if (*s == '\\') {
			if (!at_end(s + 1))
				return perr(p, PS_EFORMAT,
					    "unexpected text after the "
					    "continuation backslash");
			p->cont = 1;
			return 0;
		}
		e = hex_number(s, 2, &v);
		if (!e || isalnum((unsigned char)*e)) {
			for (e = s; isalnum((unsigned char)*e); e++)
				;
			if (e == s)
				e = s + 1;
			return perr(p, PS_EFORMAT, "bad hex byte \"%.*s\" "
				    "(expected two hex digits such as 0a)",
				    (int)(e - s > 16 ? 16 : e - s), s);
		}
		b = (uint8_t)v;
		if (ps_buf_put(&p->vdata, &b, 1) < 0)
			return PS_ENOMEM;
		if (check_size(p, p->vdata.len) < 0)
			return PS_ELIMIT;
		s = skip_ws(e);
		if (*s == ',') {
			s++;
			continue;
		}
		if (!*s || *s == ';')
			return finish_value(p);
		if (*s == '\\')
			return perr(p, PS_EFORMAT, "a continuation backslash "
				    "must follow a comma");
		return perr(p, PS_EFORMAT, "bad hex data at \"%.8s\" "
			    "(expected a comma)", s);
	}
}

static int string_value(struct parser *p, const char *s)
{
	int rc;

	rc = quoted(p, &s, &p->tmp, "string");
	if (rc < 0)
		return rc;
	if (!at_end(s))
		return perr(p, PS_EFORMAT, "unexpected text after the string");
	ps_buf_clear(&p->vdata);
	rc = ps_utf8_to_utf16le(&p->vdata, p->tmp.ptr, p->tmp.len);
	if (!rc)
		rc = ps_buf_put(&p->vdata, "\0", 2);
	if (rc < 0)
		return rc;
	p->vtype = REG_SZ_;
	rc = check_size(p, p->vdata.len);
	if (rc < 0)
		return rc;
	rc = ps_regkey_set(p->cur, p->vname, p->vtype, p->vdata.ptr,
			   p->vdata.len);
	free(p->vname);
	p->vname = NULL;
	return rc;
}

static int value_line(struct parser *p, const char *s)
{
	uint32_t v;
	const char *e;
	uint8_t le[4];
	int rc;

	if (!p->cur)
		return perr(p, PS_EFORMAT, p->deleted ?
			    "value line after a [-key] deletion line" :
			    "value line before any [key] line");
	if (*s == '@') {
		s++;
		rc = ps_buf_put(&p->tmp, "", 0);
		ps_buf_clear(&p->tmp);
	} else {
		rc = quoted(p, &s, &p->tmp, "value name");
	}
	if (rc < 0)
		return rc;
	p->vname = ps_strdup(p->tmp.ptr);
	if (!p->vname)
		return PS_ENOMEM;
	p->vline = p->line;
	s = skip_ws(s);
	if (*s != '=')
		return perr(p, PS_EFORMAT, "expected = after the value name");
	s = skip_ws(s + 1);
	if (*s == '-') {
		if (!at_end(s + 1))
			return perr(p, PS_EFORMAT, "unexpected text after =-");
		ps_regkey_unset(p->cur, p->vname);
		free(p->vname);
		p->vname = NULL;
		return 0;
	}
	if (*s == '"')
		return string_value(p, s);
	ps_buf_clear(&p->vdata);
	if (!ps_strncasecmp(s, "dword:", 6)) {
		e = hex_number(s + 6, 8, &v);
		if (!e || !at_end(e))
			return perr(p, PS_EFORMAT, "bad dword (expected 1 "
				    "to 8 hex digits, e.g. dword:0000001a)");
		le[0] = (uint8_t)v;
		le[1] = (uint8_t)(v >> 8);
		le[2] = (uint8_t)(v >> 16);
		le[3] = (uint8_t)(v >> 24);
		p->vtype = REG_DWORD_;
		if (ps_buf_put(&p->vdata, le, 4) < 0)
			return PS_ENOMEM;
		return finish_value(p);
	}
	if (!ps_strncasecmp(s, "hex:", 4)) {
		p->vtype = REG_BINARY_;
		return hex_bytes(p, s + 4);
	}
	if (!ps_strncasecmp(s, "hex(", 4)) {
		e = hex_number(s + 4, 8, &v);
		if (!e || e[0] != ')' || e[1] != ':')
			return perr(p, PS_EFORMAT, "bad hex(N): type "
				    "(expected 1 to 8 hex digits, e.g. "
				    "hex(7):)");
		p->vtype = v;
		return hex_bytes(p, e + 2);
	}
	return perr(p, PS_EFORMAT, "unrecognized value data (expected "
		    "\"string\", dword:, hex:, hex(N): or -)");
}

static int parse_line(struct parser *p)
{
	const char *s = skip_ws(p->text.ptr);

	if (p->cont) {
		if (!*s || *s == ';')
			return 0;
		return hex_bytes(p, s);
	}
	if (!*s || *s == ';')
		return 0;
	if (*s == '[')
		return key_line(p, s);
	if (*s == '"' || *s == '@')
		return value_line(p, s);
	return perr(p, PS_EFORMAT, "not a [key] line, a value line or a "
		    "; comment");
}

static int header(struct parser *p)
{
	char *s = p->text.ptr;
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == strlen(HDR5) && !memcmp(s, HDR5, n))
		return 0;
	if (n == strlen(HDR4) && !memcmp(s, HDR4, n)) {
		p->v4 = 1;
		return 0;
	}
	return perr(p, PS_EFORMAT, "missing header (the first line must be "
		    "\"" HDR5 "\" or \"" HDR4 "\")");
}

/* Number of the line holding the last byte of an odd-length UTF-16 file. */
static unsigned last_line_utf16(const uint8_t *s, size_t len)
{
	unsigned n = 1;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		if (s[i] == '\n' && !s[i + 1] && i + 2 < len)
			n++;
	return n;
}

int ps_reg_is_win9x(const uint8_t *data, size_t len)
{
	return len >= 4 && !memcmp(data, "CREG", 4);
}

int ps_regtree_parse(ps_regtree *out, const char *filename,
		     const uint8_t *data, size_t len)
{
	struct parser p;
	const char *s;
	int rc;

	memset(&p, 0, sizeof(p));
	p.file = filename ? filename : "(memory)";
	p.enc = PS_REGENC_ANSI;
	if (ps_reg_is_win9x(data, len))
		return ps_error_setc(PS_EFORMAT, "%s: Windows 9x registry "
				     "file: not supported (profswitch reads "
				     ".reg exports and Windows NT hives such "
				     "as NTUSER.DAT)", p.file);
	if (len >= 2 && data[0] == 0xFF && data[1] == 0xFE) {
		p.enc = PS_REGENC_UTF16;
		data += 2;
		len -= 2;
	} else if (len >= 2 && data[0] == 0xFE && data[1] == 0xFF) {
		p.line = 1;
		return perr(&p, PS_EFORMAT, "UTF-16 big-endian is not "
			    "supported (save as UTF-16LE)");
	} else if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
		p.enc = PS_REGENC_UTF8;
		data += 3;
		len -= 3;
	}
	if (p.enc == PS_REGENC_UTF16 && len % 2) {
		p.line = last_line_utf16(data, len);
		return perr(&p, PS_EFORMAT, "UTF-16 file with an odd number "
			    "of bytes (truncated file?)");
	}
	p.data = data;
	p.len = len;
	rc = ps_regtree_init(&p.tree, p.enc);
	if (rc < 0)
		return rc;
	rc = next_line(&p);
	if (!rc) {
		p.line = 1;
		rc = perr(&p, PS_EFORMAT, "empty file (missing header)");
	}
	if (rc < 0)
		goto cleanup;
	rc = header(&p);
	if (rc < 0)
		goto cleanup;
	/* Without a BOM the header is ASCII either way; what follows a
	 * version 5 header is UTF-8 when it all is. */
	if (p.enc == PS_REGENC_ANSI && !p.v4) {
		if (ps_utf8_valid((const char *)data, len)) {
			p.enc = PS_REGENC_UTF8;
			p.tree.encoding = PS_REGENC_UTF8_NOBOM;
		} else {
			p.tree.encoding = PS_REGENC_ANSI5;
		}
	}
	for (;;) {
		rc = next_line(&p);
		if (rc <= 0)
			break;
		/* reg export never writes a bare CR inside a line (strings
		 * holding one become hex): a name with one could not be
		 * written back. */
		if (p.text.ptr && strchr(p.text.ptr, '\r')) {
			rc = perr(&p, PS_EFORMAT, "a carriage return inside "
				  "the line");
			goto cleanup;
		}
		rc = parse_line(&p);
		if (rc < 0)
			goto cleanup;
		s = skip_ws(p.text.ptr);
		if (!p.eol && *s && *s != ';') {
			rc = perr(&p, PS_EFORMAT, "the last line has no line "
				  "end (truncated file?)");
			goto cleanup;
		}
	}
	if (rc < 0)
		goto cleanup;
	if (p.cont) {
		rc = perr(&p, PS_EFORMAT, "the file ends inside the hex data "
			  "of value \"%s\" begun on line %u (truncated "
			  "file?)", p.vname, p.vline);
		goto cleanup;
	}
	*out = p.tree;
	p.tree.root = NULL;
cleanup:
	ps_regtree_free(&p.tree);
	free(p.vname);
	ps_buf_free(&p.text);
	ps_buf_free(&p.vdata);
	ps_buf_free(&p.tmp);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */

struct writer {
	int enc;
	ps_buf txt;            /* the file as UTF-8 text */
	ps_buf tmp;
	ps_buf tmp2;
};

/* UTF-16 code units of a UTF-8 string. */
static size_t units(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c & 0xC0) != 0x80)
			n += c >= 0xF0 ? 2 : 1;
	}
	return n;
}

static const char *shown_name(const char *name)
{
	return *name ? name : "@";
}

/* 1 when the file's text is Windows-1252. */
static int is_cp1252(int enc)
{
	return enc == PS_REGENC_ANSI || enc == PS_REGENC_ANSI5;
}

/* Why a character outside Windows-1252 cannot be written, and what to do
 * (the file on disk is never replaced with part of the tree). */
static const char *cp1252_why(int enc)
{
	return enc == PS_REGENC_ANSI
	       ? "has characters that a REGEDIT4 export (Windows-1252) "
		 "cannot hold; nothing was written (export the registry "
		 "again in regedit's Unicode format, \"Registration "
		 "Files\")"
	       : "has characters that this export's Windows-1252 (\"ANSI\") "
		 "text cannot hold; nothing was written (save it as "
		 "Unicode or UTF-8, or export it again with regedit)";
}

/* Checks that a name or string can appear in the file as text. */
static int check_text(struct writer *w, const char *s, const char *what,
		      const char *path, const char *vname)
{
	const char *why = NULL;

	ps_buf_clear(&w->tmp2);
	if (!ps_utf8_valid(s, strlen(s)))
		why = "is not valid UTF-8";
	else if (strpbrk(s, "\r\n"))
		why = "contains a line break";
	else if (is_cp1252(w->enc) &&
		 ps_utf8_to_cp1252(&w->tmp2, s, strlen(s)) == PS_EFORMAT)
		why = cp1252_why(w->enc);
	if (!why)
		return ps_buf_check(&w->tmp2);
	if (vname)
		return ps_error_setc(PS_EFORMAT, "key %s, value \"%s\": %s %s",
				     path, shown_name(vname), what, why);
	return ps_error_setc(PS_EFORMAT, "key %s: %s %s", path, what, why);
}

static void put_escaped(ps_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			ps_buf_putc(b, '\\');
		ps_buf_putc(b, *s);
	}
}

/* 1 when REG_SZ data is one clean string: valid UTF-16LE, exactly one
 * NUL at the end, no line break.  Its text (without the NUL) is left in
 * w->tmp. */
static int plain_string(struct writer *w, const ps_regval *v)
{
	size_t i;

	if (v->type != REG_SZ_ || v->len < 2 || v->len % 2)
		return 0;
	if (v->data[v->len - 2] || v->data[v->len - 1])
		return 0;
	for (i = 0; i + 2 < v->len; i += 2) {
		if (v->data[i + 1])
			continue;
		if (!v->data[i] || v->data[i] == '\r' || v->data[i] == '\n')
			return 0;
	}
	ps_buf_clear(&w->tmp);
	if (ps_utf16le_to_utf8(&w->tmp, v->data, v->len - 2) < 0)
		return 0;
	return ps_buf_put(&w->tmp, "", 0) == 0;
}

static int put_hex(struct writer *w, const ps_regval *v, size_t col,
		   const char *path)
{
	const uint8_t *data = v->data;
	size_t len = v->len, i;
	char prefix[16];
	int rc;

	if (w->enc == PS_REGENC_ANSI && (v->type == REG_SZ_ ||
					 v->type == REG_EXPAND_SZ_ ||
					 v->type == REG_MULTI_SZ_)) {
		/* REGEDIT4 holds these types as 8-bit text. */
		ps_buf_clear(&w->tmp);
		ps_buf_clear(&w->tmp2);
		rc = ps_utf16le_to_utf8(&w->tmp, v->data, v->len);
		if (!rc)
			rc = ps_utf8_to_cp1252(&w->tmp2, w->tmp.ptr,
					       w->tmp.len);
		if (rc == PS_EFORMAT) {
			char why[256];

			snprintf(why, sizeof(why), "%s", ps_error_last());
			return ps_error_setc(rc, "key %s, value \"%s\": type "
					     "%u text %s [%s]", path,
					     shown_name(v->name),
					     (unsigned)v->type,
					     cp1252_why(w->enc), why);
		}
		if (rc < 0)
			return rc;
		data = (const uint8_t *)w->tmp2.ptr;
		len = w->tmp2.len;
	}
	if (v->type == REG_BINARY_)
		snprintf(prefix, sizeof(prefix), "hex:");
	else
		snprintf(prefix, sizeof(prefix), "hex(%x):",
			 (unsigned)v->type);
	ps_buf_puts(&w->txt, prefix);
	col += strlen(prefix);
	for (i = 0; i < len; i++) {
		ps_buf_printf(&w->txt, "%02x", data[i]);
		if (i + 1 == len)
			break;
		ps_buf_putc(&w->txt, ',');
		col += 3;
		if (col >= WRAP_COLUMN) {
			ps_buf_puts(&w->txt, "\\\r\n  ");
			col = 2;
		}
	}
	return 0;
}

static int put_value(struct writer *w, const ps_regval *v, const char *path)
{
	size_t start = w->txt.len;
	uint32_t d;
	int rc;

	if (*v->name) {
		rc = check_text(w, v->name, "the name", path, v->name);
		if (rc < 0)
			return rc;
		ps_buf_putc(&w->txt, '"');
		put_escaped(&w->txt, v->name);
		ps_buf_puts(&w->txt, "\"=");
	} else {
		ps_buf_puts(&w->txt, "@=");
	}
	if (plain_string(w, v)) {
		rc = check_text(w, w->tmp.ptr, "the string", path, v->name);
		if (rc < 0)
			return rc;
		ps_buf_putc(&w->txt, '"');
		put_escaped(&w->txt, w->tmp.ptr);
		ps_buf_putc(&w->txt, '"');
	} else if (v->type == REG_DWORD_ && v->len == 4) {
		d = (uint32_t)v->data[0] | (uint32_t)v->data[1] << 8 |
		    (uint32_t)v->data[2] << 16 | (uint32_t)v->data[3] << 24;
		ps_buf_printf(&w->txt, "dword:%08x", (unsigned)d);
	} else {
		rc = put_hex(w, v, units(w->txt.ptr + start,
					 w->txt.len - start), path);
		if (rc < 0)
			return rc;
	}
	ps_buf_puts(&w->txt, "\r\n");
	return ps_buf_check(&w->txt);
}

static int put_key(struct writer *w, const ps_regkey *k)
{
	char *path = NULL;
	size_t i;
	int rc = 0;

	if (k->parent && (!k->implied || k->nval || !k->nsub)) {
		path = ps_regkey_path(k);
		if (!path)
			return PS_ENOMEM;
		rc = check_text(w, path, "the key path", path, NULL);
		if (rc < 0)
			goto done;
		ps_buf_printf(&w->txt, "[%s]\r\n", path);
		for (i = 0; i < k->nval; i++) {
			rc = put_value(w, &k->vals[i], path);
			if (rc < 0)
				goto done;
		}
		ps_buf_puts(&w->txt, "\r\n");
	}
	for (i = 0; i < k->nsub; i++) {
		rc = put_key(w, k->sub[i]);
		if (rc < 0)
			goto done;
	}
	rc = ps_buf_check(&w->txt);
done:
	free(path);
	return rc;
}

int ps_regtree_write(const ps_regtree *t, ps_buf *out)
{
	struct writer w;
	ps_buf bytes = PS_BUF_INIT;
	int rc;

	memset(&w, 0, sizeof(w));
	w.enc = t->encoding;
	if (w.enc < PS_REGENC_UTF16 || w.enc > PS_REGENC_ANSI5)
		return ps_error_set("unknown .reg encoding %d", w.enc);
	ps_buf_puts(&w.txt, w.enc == PS_REGENC_ANSI ? HDR4 "\r\n\r\n" :
		    HDR5 "\r\n\r\n");
	rc = put_key(&w, t->root);
	if (rc < 0)
		goto cleanup;
	if (w.enc == PS_REGENC_UTF16) {
		ps_buf_put(&bytes, "\xFF\xFE", 2);
		rc = ps_utf8_to_utf16le(&bytes, w.txt.ptr, w.txt.len);
	} else if (w.enc == PS_REGENC_UTF8 || w.enc == PS_REGENC_UTF8_NOBOM) {
		if (w.enc == PS_REGENC_UTF8)
			ps_buf_put(&bytes, "\xEF\xBB\xBF", 3);
		rc = ps_buf_put(&bytes, w.txt.ptr, w.txt.len);
	} else {
		rc = ps_utf8_to_cp1252(&bytes, w.txt.ptr, w.txt.len);
	}
	if (!rc)
		rc = ps_buf_check(&bytes);
	if (!rc)
		rc = ps_buf_put(out, bytes.ptr, bytes.len);
cleanup:
	ps_buf_free(&w.txt);
	ps_buf_free(&w.tmp);
	ps_buf_free(&w.tmp2);
	ps_buf_free(&bytes);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Comparing                                                           */

struct cmp {
	ps_buf *diff;
	unsigned n;
};

static int note(struct cmp *c, const char *fmt, ...) PS_PRINTF(2, 3);

/* Records one difference; returns 1 when enough have been listed. */
static int note(struct cmp *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	c->n++;
	if (!c->diff)
		return 1;
	if (c->n <= MAX_DIFFS) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		ps_buf_puts(c->diff, line);
		ps_buf_putc(c->diff, '\n');
		return 0;
	}
	ps_buf_printf(c->diff, "(more differences not shown)\n");
	return 1;
}

/* Appends "type T len N (xx xx ...)" and, when the data looks like a
 * string, its text (at most 64 characters).  Looks like a string:
 * UTF-16LE that ends with a NUL unit and has at least two characters
 * before it, no control characters, mostly ASCII (so that numbers such
 * as 80 11 00 00 are not shown as Hangul); or printable ASCII ending in
 * one NUL (PT_STRING8). */
static void describe(ps_buf *b, const ps_regval *v)
{
	ps_buf text = PS_BUF_INIT;
	size_t i, n = v->len < 32 ? v->len : 32, end, shown, ascii = 0;
	int ok;

	ps_buf_printf(b, "type %u len %zu (", (unsigned)v->type, v->len);
	for (i = 0; i < n; i++)
		ps_buf_printf(b, i ? " %02x" : "%02x", v->data[i]);
	ps_buf_puts(b, v->len > n ? " ...)" : ")");
	ok = v->len >= 6 && !(v->len % 2) && !v->data[v->len - 1] &&
	     !v->data[v->len - 2];
	end = v->len;
	while (ok && end >= 2 && !v->data[end - 1] && !v->data[end - 2])
		end -= 2;
	for (i = 0; ok && i < end; i += 2) {
		if (!v->data[i + 1] && (v->data[i] < 0x20 ||
					(v->data[i] >= 0x7F &&
					 v->data[i] < 0xA0)))
			ok = 0;
		if (!v->data[i + 1])
			ascii++;
	}
	ok = ok && end >= 4 && ascii * 4 >= end;
	shown = end > 128 ? 128 : end;
	if (ok && !ps_utf16le_to_utf8(&text, v->data, shown)) {
		ps_buf_printf(b, " \"%s%s\"", text.ptr,
			      shown < end ? "..." : "");
		goto done;
	}
	ok = v->len >= 3 && !v->data[v->len - 1];
	for (i = 0; ok && i + 1 < v->len; i++)
		if (v->data[i] < 0x20 || v->data[i] > 0x7E)
			ok = 0;
	shown = v->len - 1 > 64 ? 64 : v->len - 1;
	if (ok)
		ps_buf_printf(b, " \"%.*s%s\"", (int)shown,
			      (const char *)v->data,
			      shown < v->len - 1 ? "..." : "");
done:
	ps_buf_free(&text);
}

static int value_diff(struct cmp *c, const char *path, const ps_regval *a,
		      const ps_regval *b)
{
	ps_buf da = PS_BUF_INIT, db = PS_BUF_INIT;
	int stop;

	if (a->type == b->type && a->len == b->len &&
	    (!a->len || !memcmp(a->data, b->data, a->len)))
		return 0;
	describe(&da, a);
	describe(&db, b);
	stop = note(c, "value %s %s%s%s: %s != %s", path,
		    *a->name ? "\"" : "", shown_name(a->name),
		    *a->name ? "\"" : "", da.ptr ? da.ptr : "?",
		    db.ptr ? db.ptr : "?");
	ps_buf_free(&da);
	ps_buf_free(&db);
	return stop;
}

static int subkey_by_name(const ps_regkey *k, const char *name,
			  const ps_regkey **out)
{
	*out = ps_regkey_child(k, name);
	return *out != NULL;
}

#define QNAME(v) (*(v)->name ? "\"" : ""), shown_name((v)->name), \
	(*(v)->name ? "\"" : "")

/* Compares two keys and what is below; returns 1 to stop listing. */
static int cmp_keys(struct cmp *c, const ps_regkey *a, const ps_regkey *b)
{
	char *pa = ps_regkey_path(a), *pb = ps_regkey_path(b);
	const char *sa = pa ? pa : "?", *sb = pb ? pb : "?";
	const ps_regkey *other;
	const ps_regval *v;
	size_t i;
	int stop = 0;

	for (i = 0; !stop && i < a->nval; i++) {
		v = ps_regkey_value(b, a->vals[i].name);
		if (!v)
			stop = note(c, "missing value %s %s%s%s", sa,
				    QNAME(&a->vals[i]));
		else
			stop = value_diff(c, sa, &a->vals[i], v);
	}
	for (i = 0; !stop && i < b->nval; i++)
		if (!ps_regkey_value(a, b->vals[i].name))
			stop = note(c, "extra value %s %s%s%s", sb,
				    QNAME(&b->vals[i]));
	for (i = 0; !stop && i < a->nsub; i++) {
		if (!subkey_by_name(b, a->sub[i]->name, &other))
			stop = note(c, "missing key %s%s%s", sa,
				    *sa ? "\\" : "", a->sub[i]->name);
		else
			stop = cmp_keys(c, a->sub[i], other);
	}
	for (i = 0; !stop && i < b->nsub; i++)
		if (!subkey_by_name(a, b->sub[i]->name, &other))
			stop = note(c, "extra key %s%s%s", sb,
				    *sb ? "\\" : "", b->sub[i]->name);
	free(pa);
	free(pb);
	return stop;
}

int ps_regkey_equal(const ps_regkey *a, const ps_regkey *b, ps_buf *diff)
{
	struct cmp c;

	c.diff = diff;
	c.n = 0;
	cmp_keys(&c, a, b);
	return c.n == 0;
}
