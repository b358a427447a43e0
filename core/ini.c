/*
 * The INI reader (ps_ini.h) and the text decoding it shares with the
 * mapping reader.
 */
#include "ps_ini.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps_error.h"
#include "ps_str.h"
#include "ps_utf.h"

int ps_ini_decode(ps_buf *tmp, const char **text, size_t *textlen,
		  const char *filename, const char *data, size_t len)
{
	const uint8_t *u = (const uint8_t *)data;
	int rc;

	if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
		*text = data + 3;
		*textlen = len - 3;
		return 0;
	}
	if (len >= 2 && u[0] == 0xFE && u[1] == 0xFF)
		return ps_error_setc(PS_EFORMAT, "%s: UTF-16 big-endian text "
				     "is not supported: save the file as "
				     "UTF-8 or UTF-16LE (Unicode)", filename);
	if (len < 2 || u[0] != 0xFF || u[1] != 0xFE) {
		*text = data;
		*textlen = len;
		return 0;
	}
	if ((len - 2) % 2)
		return ps_error_setc(PS_EFORMAT, "%s: UTF-16LE text with an "
				     "odd number of bytes (truncated file?)",
				     filename);
	ps_buf_clear(tmp);
	rc = ps_utf16le_to_utf8(tmp, u + 2, len - 2);
	if (rc == PS_ENOMEM)
		return rc;
	if (rc < 0) {
		char why[256];

		/* The message buffer is also the destination: copy first. */
		(void)snprintf(why, sizeof(why), "%s", ps_error_last());
		return ps_error_setc(PS_EFORMAT, "%s: not valid UTF-16LE "
				     "text: %s", filename, why);
	}
	*text = tmp->ptr ? tmp->ptr : "";
	*textlen = tmp->len;
	return 0;
}

/* Strip one pair of surrounding double quotes, in place. */
static char *unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* One trimmed, non-blank, non-comment line (modified in place). */
static int ini_line(const char *filename, unsigned lineno, char *s,
		    ps_buf *section, ps_ini_section_cb scb, ps_ini_cb cb,
		    void *ctx)
{
	char *eq, *key, *value;
	size_t n = strlen(s);

	if (s[0] == '[') {
		if (s[n - 1] != ']')
			return ps_error_setc(PS_EFORMAT, "%s:%u: '[' without "
					     "a closing ']' at the end of "
					     "the line", filename, lineno);
		s[n - 1] = '\0';
		s = ps_trim(s + 1);
		if (!*s)
			return ps_error_setc(PS_EFORMAT, "%s:%u: empty "
					     "section name '[]'", filename,
					     lineno);
		ps_buf_clear(section);
		if (ps_buf_puts(section, s) < 0)
			return PS_ENOMEM;
		return scb ? scb(ctx, section->ptr, lineno) : 0;
	}
	eq = strchr(s, '=');
	if (!eq)
		return ps_error_setc(PS_EFORMAT, "%s:%u: expected key = value "
				     "or [section]", filename, lineno);
	*eq = '\0';
	key = ps_trim(s);
	if (!*key)
		return ps_error_setc(PS_EFORMAT, "%s:%u: missing key before "
				     "'='", filename, lineno);
	value = unquote(ps_trim(eq + 1));
	return cb(ctx, section->ptr ? section->ptr : "", key, value, lineno);
}

int ps_ini_parse_ex(const char *filename, const char *data, size_t len,
		    ps_ini_section_cb scb, ps_ini_cb cb, void *ctx)
{
	ps_buf utf8 = PS_BUF_INIT, section = PS_BUF_INIT;
	char *line = NULL;
	const char *text = NULL, *p, *end, *nl;
	size_t textlen = 0, n;
	unsigned lineno = 0;
	int rc;

	rc = ps_ini_decode(&utf8, &text, &textlen, filename, data, len);
	if (rc < 0)
		goto cleanup;
	line = malloc(PS_INI_MAX_LINE + 1);
	if (!line) {
		rc = ps_error_setc(PS_ENOMEM, "out of memory");
		goto cleanup;
	}
	p = text;
	end = text + textlen;
	while (p < end) {
		char *s;

		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n > PS_INI_MAX_LINE) {
			rc = ps_error_setc(PS_ELIMIT, "%s:%u: line longer "
					   "than %u bytes", filename, lineno,
					   (unsigned)PS_INI_MAX_LINE);
			goto cleanup;
		}
		if (memchr(p, '\0', n)) {
			rc = ps_error_setc(PS_EFORMAT, "%s:%u: NUL byte in "
					   "the line (UTF-16 text without a "
					   "BOM?)", filename, lineno);
			goto cleanup;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl ? nl + 1 : end;
		s = ps_trim(line);
		if (!*s || *s == ';' || *s == '#')
			continue;
		rc = ini_line(filename, lineno, s, &section, scb, cb, ctx);
		if (rc)
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(line);
	ps_buf_free(&section);
	ps_buf_free(&utf8);
	return rc;
}

int ps_ini_parse(const char *filename, const char *data, size_t len,
		 ps_ini_cb cb, void *ctx)
{
	return ps_ini_parse_ex(filename, data, len, NULL, cb, ctx);
}
