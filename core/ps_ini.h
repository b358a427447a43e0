/*
 * A small INI reader shared by the configuration and the scenario files.
 * `[Section]` lines, `key = value` lines, `;` or `#` comment lines, blank
 * lines.  Values are trimmed; one pair of surrounding double quotes is
 * removed.  UTF-8 (BOM allowed) or UTF-16LE with BOM.
 */
#ifndef PS_INI_H
#define PS_INI_H

#include <stddef.h>

#include "ps_buf.h"

/* Called once per key.  section is "" before the first [section] line.
 * A non-zero return stops parsing and is returned by ps_ini_parse (the
 * callback sets the message, conventionally "FILE:LINE: reason"). */
typedef int (*ps_ini_cb)(void *ctx, const char *section, const char *key,
			 const char *value, unsigned line);

/* PS_EFORMAT with "FILE:LINE: reason" for a malformed line. */
int ps_ini_parse(const char *filename, const char *data, size_t len,
		 ps_ini_cb cb, void *ctx);

/* Called for each `[section]` line (name trimmed), before its keys, so that
 * a reader can reject an unknown section on its own line even when it holds
 * no key.  A non-zero return stops parsing, as for ps_ini_cb. */
typedef int (*ps_ini_section_cb)(void *ctx, const char *section,
				 unsigned line);

/* ps_ini_parse with a section callback (scb may be NULL). */
int ps_ini_parse_ex(const char *filename, const char *data, size_t len,
		    ps_ini_section_cb scb, ps_ini_cb cb, void *ctx);

/*
 * The text of an INI or mapping file as UTF-8 without a BOM.  A UTF-8 BOM
 * is skipped (*text then points into data); UTF-16LE with a BOM (FF FE) is
 * converted into tmp and *text points into tmp->ptr (the caller frees tmp
 * either way).  PS_EFORMAT with "FILE: reason" for UTF-16 big-endian, an
 * odd byte count or an unpaired surrogate; *text and *textlen are then
 * untouched.
 */
int ps_ini_decode(ps_buf *tmp, const char **text, size_t *textlen,
		  const char *filename, const char *data, size_t len);

/* Longest line (bytes, without CR LF) that the INI and mapping readers
 * accept; a longer one is PS_ELIMIT with "FILE:LINE: reason". */
#define PS_INI_MAX_LINE 8192

#endif
